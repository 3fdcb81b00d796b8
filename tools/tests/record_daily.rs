//! `premap record` as a perf user uses it every day, judged by the system's perf: kernel symbols, call
//! graphs, build ids, time slices, perf's event syntax, exit statuses, pipe mode, perf's CLI habits,
//! non-root use.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::Path;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What `perf evlist [-v]` prints for the events of `file`.
fn perf_evlist(file: &Path, verbose: bool) -> String {
    let v: &[&str] = if verbose { &["-v"] } else { &[] };
    text(&run(perf().arg("evlist").args(v).arg("-i").arg(file)).stdout)
}

/// `perf report --stdio --sort dso,sym` restricted to one comm: the (dso, symbol) pairs with at least
/// `min` percent.
fn symbols(file: &Path, comm: &str, min: f64) -> BTreeSet<String> {
    let out = run(perf()
        .args([
            "report", "--stdio", "-q", "--sort", "dso,sym", "--comms", comm, "-i",
        ])
        .arg(file));
    assert!(out.status.success(), "perf report: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let pct: f64 = l.split('%').next()?.trim().parse().ok()?;
            (pct >= min).then(|| {
                l.split_once('%')
                    .map(|(_, r)| r.split_whitespace().collect::<Vec<_>>().join(" "))
            })?
        })
        .collect()
}

fn workload_comm() -> String {
    touch_workload()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .take(15)
        .collect()
}

#[test]
fn kernel_samples_resolve_to_the_same_symbols_as_in_perfs_own_recording() {
    let dir = scratch("ksyms");
    let (mine, theirs) = (dir.join("premap.data"), dir.join("perf.data"));
    let out = record_touch(
        premap(),
        &["-q", "-e", "page-faults", "-c", "1"],
        &mine,
        "2000",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = record_touch(
        perf(),
        &["-q", "-e", "page-faults", "-c", "1"],
        &theirs,
        "2000",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // One sample per page fault: both runs fault in the same code, up to page-cache and address-layout
    // noise (which functions share a page differs between runs): the kernel's symbols resolve, and the
    // symbols above 5% match.
    let comm = workload_comm();
    let (a, b) = (symbols(&mine, &comm, 0.0), symbols(&theirs, &comm, 0.0));
    assert!(
        a.iter().any(|s| s.starts_with("[kernel.kallsyms]")),
        "no kernel symbol resolved: {a:?}"
    );
    assert!(
        b.iter().any(|s| s.starts_with("[kernel.kallsyms]")),
        "perf's own: {b:?}"
    );
    assert!(
        !a.iter().any(|s| s.contains("[unknown]")),
        "unresolved: {a:?}"
    );
    assert_eq!(
        symbols(&mine, &comm, 5.0),
        symbols(&theirs, &comm, 5.0),
        "the symbols above 5% differ"
    );
}

#[test]
fn frame_pointer_and_dwarf_call_graphs_show_in_perf_script_as_in_perfs_recording() {
    let dir = scratch("callgraph");
    for (mode, min_frames) in [("fp", 3.0), ("dwarf", 3.0)] {
        let f = dir.join(format!("{mode}.data"));
        let mut cmd = premap();
        cmd.args(["record", "-q", "-F", "2000", "--call-graph", mode, "-o"])
            .arg(&f)
            .args(["ls", "-lR", "/usr/share/doc"]);
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let script = run(perf().args(["script", "-i"]).arg(&f));
        assert!(script.status.success());
        let s = text(&script.stdout);
        let samples = s
            .lines()
            .filter(|l| !l.starts_with(['\t', ' ']) || l.contains("cpu-clock"))
            .filter(|l| l.contains("cpu-clock"))
            .count();
        let frames = s.lines().filter(|l| l.starts_with('\t')).count();
        assert!(samples > 10, "{mode}: {samples} samples");
        let per = frames as f64 / samples as f64;
        assert!(per >= min_frames, "{mode}: {per:.1} frames per sample");
        if mode == "dwarf" {
            let user = s
                .lines()
                .filter(|l| l.starts_with('\t') && l.contains("(/usr/"))
                .count() as f64
                / samples as f64;
            assert!(
                user >= 2.0,
                "dwarf: {user:.1} user frames per sample (perf unwinds the user stack)"
            );
        }
        let report = run(perf().args(["report", "--stdio", "-g", "-i"]).arg(&f));
        assert!(report.status.success());
        assert!(
            text(&report.stdout).contains("---"),
            "perf report -g shows no call graph"
        );
    }
}

#[test]
fn build_ids_sample_times_and_machine_facts_are_in_the_header() {
    let dir = scratch("header");
    let f = dir.join("perf.data");
    let out = record_touch(premap(), &["-q", "-e", "page-faults", "-c", "1"], &f, "500");
    assert!(out.status.success());
    let ids = run(perf().args(["buildid-list", "-i"]).arg(&f));
    let ids = text(&ids.stdout);
    assert!(ids.contains("[kernel.kallsyms]"), "{ids}");
    assert!(
        ids.contains("/ld-linux") || ids.contains("libc.so"),
        "no user DSO: {ids}"
    );
    // -B skips that pass, as perf's: no build ids.
    let nb = dir.join("no-buildid.data");
    let out = record_touch(
        premap(),
        &["-q", "-B", "-e", "page-faults", "-c", "1"],
        &nb,
        "100",
    );
    assert!(out.status.success());
    let none = text(&run(perf().args(["buildid-list", "-i"]).arg(&nb)).stdout);
    // (perf lists the DSOs it finds itself, with blank ids.)
    assert!(
        !none.lines().any(|l| l
            .split_whitespace()
            .next()
            .is_some_and(|w| w.len() == 40 && w.bytes().all(|b| b.is_ascii_hexdigit()))),
        "-B wrote build ids: {none}"
    );
    let sliced = run(perf().args(["script", "--time", "10%/1", "-i"]).arg(&f));
    assert!(sliced.status.success(), "{}", text(&sliced.stderr));
    let n = text(&sliced.stdout).lines().count();
    assert!(n > 0, "perf script --time 10%/1 printed nothing");
    let hdr = run(perf().args(["report", "--header-only", "-I", "-i"]).arg(&f));
    let h = text(&hdr.stdout);
    for want in [
        "# cpudesc :",
        "# total memory :",
        "# time of first sample :",
        "# sibling sockets",
        "# CPU cache info:",
        "cpu list :",
        "# cmdline :",
        "# pmu mappings: ",
        "# memory nodes (nr ",
    ] {
        assert!(
            h.contains(want),
            "perf report --header lacks {want:?}:\n{h}"
        );
    }
    // The memory topology as perf's own recording on this machine describes it.
    let theirs = dir.join("perf-own.data");
    assert!(run(perf()
        .args(["record", "-q", "-e", "cpu-clock", "-o"])
        .arg(&theirs)
        .arg("true"))
    .status
    .success());
    let their_h = text(
        &run(perf()
            .args(["report", "--header-only", "-I", "-i"])
            .arg(&theirs))
        .stdout,
    );
    let nodes = |h: &str| -> Vec<String> {
        h.lines()
            .skip_while(|l| !l.starts_with("# memory nodes"))
            .take_while(|l| l.starts_with("# memory nodes") || l.starts_with("#    "))
            .map(str::to_string)
            .collect()
    };
    assert!(!nodes(&their_h).is_empty(), "{their_h}");
    assert_eq!(nodes(h.as_str()), nodes(&their_h));
    // Every PMU this machine has, with its type, as perf lists them.
    let pmus = h
        .lines()
        .find_map(|l| l.strip_prefix("# pmu mappings: "))
        .unwrap_or_default();
    for d in std::fs::read_dir("/sys/bus/event_source/devices")
        .unwrap()
        .flatten()
    {
        let ty = std::fs::read_to_string(d.path().join("type")).unwrap();
        let want = format!("{} = {}", d.file_name().to_string_lossy(), ty.trim());
        assert!(pmus.split(", ").any(|p| p == want), "{want} not in {pmus}");
    }
}

#[test]
fn perfs_event_syntax() {
    let dir = scratch("events");
    let f = dir.join("perf.data");
    // :u records user space only.
    let out = record_touch(
        premap(),
        &["-q", "-e", "page-faults:u", "-c", "1"],
        &f,
        "200",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&run(perf().args(["script", "-F", "ip,sym,dso", "-i"]).arg(&f)).stdout);
    assert!(s.lines().count() >= 200);
    assert!(
        !s.contains("kernel.kallsyms"),
        "a :u event sampled the kernel"
    );
    // Lists and groups: two events perf tells apart.
    for spec in ["page-faults,cpu-clock", "{cpu-clock,page-faults}"] {
        let out = record_touch(premap(), &["-q", "-e", spec], &f, "300");
        assert!(out.status.success(), "{spec}: {}", text(&out.stderr));
        let ev = perf_evlist(&f, false);
        assert!(
            ev.contains("page-faults") && ev.contains("cpu-clock"),
            "{spec}: {ev}"
        );
    }
    // A group is one in perf's eyes (GROUP_DESC): perf evlist -g prints it in braces, perf report
    // reports the group, and events outside it stay apart.
    let out = record_touch(
        premap(),
        &["-q", "-e", "{cpu-clock,page-faults}", "-e", "task-clock"],
        &f,
        "300",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ev = text(&run(perf().args(["evlist", "-g", "-i"]).arg(&f)).stdout);
    assert_eq!(
        ev.lines().collect::<Vec<_>>(),
        ["{cpu-clock,page-faults}", "task-clock"],
        "{ev}"
    );
    let header = text(&run(perf().args(["report", "--header-only", "-i"]).arg(&f)).stdout);
    assert!(
        header.contains("# group: {cpu-clock,page-faults}"),
        "{header}"
    );
    // Tracepoints, decoded by perf script from the file's TRACING_DATA.
    let out = record_touch(
        premap(),
        &["-q", "-e", "sched:sched_process_exec"],
        &f,
        "10",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&run(perf().args(["script", "-i"]).arg(&f)).stdout);
    assert!(
        s.contains("sched:sched_process_exec") && s.contains("filename="),
        "{s}"
    );
    // Unknown events and bad modifiers are named.
    for bad in [
        "no-such-event",
        "cpu-clock:q",
        "nosys:noevent",
        "nopmu/x=1/",
    ] {
        let out = run(premap()
            .args(["record", "-e", bad, "-o"])
            .arg(&f)
            .arg("true"));
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            text(&out.stderr).contains(bad.split(['/', ':']).next().unwrap()),
            "{bad}: {}",
            text(&out.stderr)
        );
    }
    let list = text(&run(premap().arg("list")).stdout);
    // (Cache events such as L1-dcache-load-misses are listed where the machine has them, as perf
    // lists them: list_shows_what_this_machine_can_open.)
    for want in ["cpu-clock", "page-faults", "sched:sched_switch"] {
        assert!(list.contains(want), "premap list lacks {want}");
    }
}

#[test]
fn the_workloads_exit_status_is_premaps() {
    let dir = scratch("status");
    let f = dir.join("perf.data");
    let code = |args: &[&str]| run(premap().args(["record", "-q", "-o"]).arg(&f).args(args)).status;
    assert_eq!(code(&["sh", "-c", "exit 3"]).code(), Some(3));
    assert_eq!(code(&["sh", "-c", "kill -SEGV $$"]).code(), Some(139));
    assert_eq!(code(&["true"]).code(), Some(0));
}

#[test]
fn perfs_cli_habits() {
    let dir = scratch("habits");
    let f = dir.join("perf.data");
    // No `--`; mode 0600; an existing file is kept as perf.data.old.
    let out = run(premap()
        .args(["record", "-q", "-e", "page-faults", "-o"])
        .arg(&f)
        .arg("ls")
        .arg("-l")
        .arg("/"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let first = std::fs::read(&f).unwrap();
    let out = run(premap()
        .args(["record", "-q", "-e", "page-faults", "-o"])
        .arg(&f)
        .arg("true"));
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(dir.join("perf.data.old")).unwrap(),
        first,
        "perf.data.old is the previous file"
    );
    // Refusals: zero period or frequency, a command that does not exist; nothing is left behind.
    let g = dir.join("refused.data");
    for args in [
        &["-c", "0", "true"][..],
        &["-F", "0", "true"],
        &["no-such-command-xyz"],
    ] {
        let out = run(premap().args(["record", "-o"]).arg(&g).args(args));
        assert!(!out.status.success(), "{args:?} accepted");
        let e = text(&out.stderr);
        assert!(
            e.contains("-c 0") || e.contains("-F 0") || e.contains("no-such-command-xyz"),
            "{args:?}: {e}"
        );
        assert!(!g.exists(), "{args:?} left a file behind");
    }
    // Over the kernel's rate: throttled and explained, not refused.
    let out = run(premap()
        .args(["record", "-F", "100000000", "-o"])
        .arg(&g)
        .arg("true"));
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("perf_event_max_sample_rate"));
}

#[test]
fn pipe_mode_output_is_read_by_perf_and_by_premap_dump() {
    let dir = scratch("pipe");
    let f = dir.join("pipe.data");
    let out = run(premap()
        .args(["record", "-q", "-e", "page-faults", "-c", "1", "-o", "-"])
        .arg(touch_workload())
        .arg("300"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(&f, &out.stdout).unwrap();
    let report = run(perf().args(["report", "--stats", "-i"]).arg(&f));
    assert!(report.status.success(), "{}", text(&report.stderr));
    let r = text(&report.stdout);
    let samples: u64 = r
        .lines()
        .find(|l| l.trim_start().starts_with("SAMPLE events:"))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(0);
    assert!(samples >= 300, "{r}");
    let dump = run(premap().args(["dump"]).arg(&f));
    assert!(text(&dump.stdout).contains(&format!("# SAMPLE: {samples}")));
}

#[test]
fn system_wide_when_no_target_is_given_until_ctrl_c() {
    let dir = scratch("no-target");
    let f = dir.join("perf.data");
    let child = premap()
        .args(["record", "-q", "-e", "cpu-clock", "-F", "500", "-o"])
        .arg(&f)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once it records (the output exists, then a moment for the events to open), some activity of
    // another process: a shell burning CPU for a few hundred ms, which 500 Hz on every CPU cannot
    // miss (a page-touching run of a few ms could fall between two samples).
    let t = std::time::Instant::now();
    while !f.exists() && t.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = std::process::Command::new("sh")
        .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
        .status();
    let _ = std::process::Command::new(touch_workload())
        .arg("2000")
        .status();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGINT));
    let s = text(&run(perf().args(["script", "-F", "pid", "-i"]).arg(&f)).stdout);
    let pids: BTreeSet<&str> = s.lines().map(str::trim).collect();
    assert!(pids.len() >= 2, "system-wide saw {} processes", pids.len());
}

#[test]
fn an_unprivileged_user_records_user_space_as_perf_allows() {
    use std::os::unix::process::CommandExt;
    let paranoid: i32 = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dir = scratch("nonroot");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = dir.join("premap");
    std::fs::copy(env!("CARGO_BIN_EXE_premap"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    // `premap record ARGS` as uid 65534, in the scratch folder.
    let as_nobody = |args: &[&std::ffi::OsStr]| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.arg("record").args(args).current_dir(&dir);
        // SAFETY: setgid/setuid in the child before exec; async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        run(&mut cmd)
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    let f = dir.join("nobody.data");
    let out = as_nobody(&[
        os("-e"),
        os("cpu-clock"),
        os("-o"),
        f.as_os_str(),
        os("ls"),
        os("-lR"),
        os("/usr/share/doc"),
    ]);
    assert!(
        out.status.success(),
        "as uid 65534 at paranoid {paranoid}: {}",
        text(&out.stderr)
    );
    if paranoid >= 2 {
        assert!(
            text(&out.stderr).contains("recording user space only"),
            "{}",
            text(&out.stderr)
        );
        let s = text(&run(perf().args(["script", "-f", "-F", "ip,dso", "-i"]).arg(&f)).stdout);
        assert!(!s.contains("kernel.kallsyms"));
    }
    let (n, err) = {
        let o = run(perf().args(["report", "-f", "--stats", "-i"]).arg(&f));
        (text(&o.stdout), text(&o.stderr))
    };
    assert!(n.contains("SAMPLE events"), "{n}{err}");
    if paranoid >= 2 {
        // The kernel alone (`:k`) is not turned into user space (which would record nothing): it is
        // refused with the paranoid explanation, as perf refuses it.
        let k = dir.join("nobody-k.data");
        let out = as_nobody(&[
            os("-e"),
            os("page-faults:k"),
            os("-o"),
            k.as_os_str(),
            os("true"),
        ]);
        assert!(
            !out.status.success(),
            "page-faults:k as nobody at paranoid {paranoid} was accepted"
        );
        assert!(
            text(&out.stderr).contains("perf_event_paranoid"),
            "{}",
            text(&out.stderr)
        );
    }
    // A tracepoint this user may not read (tracefs mounted 0700, as here): perf's "No permissions
    // to read", not "unknown tracepoint".
    use std::os::unix::fs::MetadataExt;
    let closed = std::fs::metadata("/sys/kernel/tracing").is_ok_and(|m| m.mode() & 0o005 == 0);
    if closed {
        let t = dir.join("nobody-t.data");
        let out = as_nobody(&[
            os("-e"),
            os("sched:sched_switch"),
            os("-o"),
            t.as_os_str(),
            os("true"),
        ]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.contains("No permissions to read /sys/kernel/tracing/events/sched/sched_switch"),
            "{err}"
        );
    } else {
        eprintln!("(tracefs is readable by every user here: the permission message was not tried)");
    }
}

#[test]
fn compressed_recordings_are_read_by_perf_with_every_sample() {
    let dir = scratch("zstd");
    let (z, plain) = (dir.join("z.data"), dir.join("plain.data"));
    let out = record_touch(
        premap(),
        &["-z", "-e", "page-faults", "-c", "1"],
        &z,
        "20000",
    );
    let written = judged_by_perf(&out, &z);
    assert!(written >= 20000, "{written}");
    let out = record_touch(premap(), &["-e", "page-faults", "-c", "1"], &plain, "20000");
    assert!(out.status.success());
    let (zs, ps) = (
        std::fs::metadata(&z).unwrap().len(),
        std::fs::metadata(&plain).unwrap().len(),
    );
    assert!(zs * 4 < ps, "compressed {zs} bytes, plain {ps}");
    let stats = text(&run(perf().args(["report", "--stats", "-i"]).arg(&z)).stdout);
    assert!(stats.contains("COMPRESSED events"), "{stats}");
    let hdr = text(&run(perf().args(["report", "--header-only", "-i"]).arg(&z)).stdout);
    assert!(hdr.contains("# compressed : Zstd"), "{hdr}");
    let ids = text(&run(perf().args(["buildid-list", "-i"]).arg(&z)).stdout);
    assert!(ids.contains("[kernel.kallsyms]"), "{ids}");
    // A compressed pipe (`-z -o -`, as perf 6.1 writes them): perf script reads every sample of it
    // from standard input, and premap dump counts the COMPRESSED records perf counts.
    let out = record_touch(
        premap(),
        &["-q", "-z", "-e", "page-faults", "-c", "1"],
        Path::new("-"),
        "3000",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pipe = dir.join("pipe.data");
    std::fs::write(&pipe, &out.stdout).unwrap();
    let script = run(perf()
        .args(["script", "-F", "event", "-i", "-"])
        .stdin(std::fs::File::open(&pipe).unwrap()));
    let samples = text(&script.stdout)
        .lines()
        .filter(|l| l.contains("page-faults"))
        .count();
    assert!(
        samples >= 3000,
        "perf script read {samples} samples: {}",
        text(&script.stderr)
    );
    let stats = text(&run(premap().args(["dump", "--stats"]).arg(&pipe)).stdout);
    assert!(stats.contains("COMPRESSED events"), "{stats}");
    assert!(
        stats
            .lines()
            .any(|l| l.trim_start().starts_with("SAMPLE events:")),
        "{stats}"
    );
}

#[test]
fn switch_output_closes_timestamped_files_perf_reads() {
    let dir = scratch("switch");
    let f = dir.join("perf.data");
    // By size: several files, each complete, together holding every sample.
    let out = run(premap()
        .args([
            "record",
            "-e",
            "page-faults",
            "-c",
            "1",
            "-m",
            "16",
            "--switch-output=64K",
            "-o",
        ])
        .arg(&f)
        .arg(touch_workload())
        .arg("20000"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Records the kernel dropped while a file was being switched are counted as lost (the side band
    // is read beside the drain, so on an idle machine a switch loses none).
    let summary = text(&out.stderr);
    let lost: u64 = summary
        .lines()
        .find(|l| l.starts_with("[ premap record: wrote"))
        .and_then(|l| {
            l.rsplit_once("; ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .expect("summary line");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("perf.data.")
        })
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    assert!(!f.exists(), "the last file is timestamped too");
    let mut total = 0;
    for p in &files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        // perf's fetch_current_timestamp: seconds, then centiseconds (16 digits).
        assert_eq!(
            name.len(),
            "perf.data.".len() + 16,
            "perf.data.YYYYmmddHHMMSScc: {name}"
        );
        let (n, err) = perf_sample_count(p);
        assert_eq!(err.trim(), "", "{name}: perf complained");
        total += n;
        // Each file stands alone: the workload's COMM and MMAPs are written again at its head (as
        // perf does at a switch), so no sample's command is perf's `:PID` for an unknown task.
        let comms = text(&run(perf().args(["script", "-F", "comm", "-i"]).arg(p)).stdout);
        let unknown = comms
            .lines()
            .filter(|l| l.trim_start().starts_with(':'))
            .count();
        assert_eq!(unknown, 0, "{name}: {unknown} samples of unknown tasks");
    }
    assert!(
        total + lost >= 20000,
        "{total} samples ({lost} lost) over {} files",
        files.len()
    );
    assert!(lost < 5000, "{lost} lost at switches");
    // By signal (SIGUSR2), as perf's default.
    let g = dir.join("sig.data");
    let child = premap()
        .args([
            "record",
            "-q",
            "-e",
            "page-faults",
            "-c",
            "1",
            "--switch-output",
            "-o",
        ])
        .arg(&g)
        .args(["sh", "-c"])
        .arg(format!(
            "{0} 2000; sleep 1; {0} 2000",
            touch_workload().display()
        ))
        .spawn()
        .unwrap();
    // Once the output exists, premap handles SIGUSR2 (installed before it creates the file).
    let t = std::time::Instant::now();
    while !g.exists() && t.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGUSR2) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let n = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("sig.data."))
        .count();
    assert_eq!(n, 2, "one file before SIGUSR2, one after");
}

/// perf's option grammar (issue 28): attached values, `-X=value`, bundles (`-zg` is `-z -g`), the last
/// of a repeated option wins while `-e` accumulates, and an unknown option is perf's error with the
/// usage (exit 129). perf reads the file and its attrs say what was asked.
#[test]
fn record_takes_perf_s_option_grammar() {
    let dir = scratch("grammar");
    let f = dir.join("g.data");
    let out = run(premap()
        .args([
            "record",
            "-F99",
            "-F=200",
            "-ecpu-clock",
            "-e",
            "page-faults",
            "-m8",
            "-zg",
            "-o",
        ])
        .arg(&f)
        .arg("true"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = perf_evlist(&f, true);
    assert_eq!(ev.lines().count(), 2, "{ev}");
    for line in ev.lines() {
        assert!(line.contains("sample_freq }: 200"), "last -F wins: {line}");
        assert!(line.contains("CALLCHAIN"), "-zg includes -g: {line}");
    }
    assert!(
        ev.starts_with("cpu-clock") && ev.contains("\npage-faults"),
        "{ev}"
    );
    let header = run(perf().args(["report", "--header-only", "-i"]).arg(&f));
    assert!(String::from_utf8_lossy(&header.stdout).contains("compressed : Zstd"));
    // The command's own options stay the command's.
    let out = run(premap()
        .args(["record", "-q", "-o"])
        .arg(&f)
        .args(["sh", "-c", "exit 3", "-F99"]));
    assert_eq!(out.status.code(), Some(3));
    // An unknown option: perf's words and usage.
    let out = run(premap().args(["record", "--bogus-opt", "true"]));
    assert_eq!(out.status.code(), Some(129));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Error: unknown option `bogus-opt'") && err.contains("Usage: premap record"),
        "{err}"
    );
}

/// `-p PID -- CMD`: the command sets the duration (it is run, not recorded), as perf; `-C 0 -- CMD`:
/// every task on CPU 0 is recorded while the command runs (perf: system-wide on those CPUs).
#[test]
fn a_command_with_p_or_c_sets_the_duration() {
    let dir = scratch("duration");
    let mut busy = std::process::Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let f = dir.join("p.data");
    let t = std::time::Instant::now();
    let out = run(premap()
        .args(["record", "-q", "-p", &busy.id().to_string(), "-o"])
        .arg(&f)
        .args(["--", "sleep", "1"]));
    let took = t.elapsed();
    let _ = busy.kill();
    let _ = busy.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took >= std::time::Duration::from_millis(900), "{took:?}");
    let (samples, _) = perf_sample_count(&f);
    assert!(samples > 100, "{samples} samples of a busy loop in 1 s");
    let comms = run(perf()
        .args(["report", "--stdio", "--sort", "comm", "-i"])
        .arg(&f));
    let comms = String::from_utf8_lossy(&comms.stdout);
    assert!(
        !comms.contains("sleep"),
        "the duration command was recorded: {comms}"
    );
    let f = dir.join("c.data");
    let out = run(premap()
        .args(["record", "-q", "-C", "0", "-o"])
        .arg(&f)
        .args(["--", "sleep", "1"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (samples, _) = perf_sample_count(&f);
    assert!(samples > 1000, "all of CPU 0 for 1 s at 4 kHz: {samples}");
    let cpus = run(perf()
        .args(["report", "--stdio", "--sort", "cpu", "-i"])
        .arg(&f));
    let cpus = String::from_utf8_lossy(&cpus.stdout);
    let rows: Vec<&str> = cpus.lines().filter(|l| l.contains('%')).collect();
    assert!(
        rows.len() == 1 && rows[0].trim_end().ends_with("000"),
        "{cpus}"
    );
}

/// `-e cycles` where the machine has no cycles counter (a VM without a PMU) falls back to cpu-clock,
/// says so once, and names the event as perf names it; where it has one, cycles is recorded. Either
/// way `perf evlist` shows what it shows for perf's own recording of the same command.
#[test]
fn cycles_falls_back_to_cpu_clock_as_perf_does() {
    let dir = scratch("cycles");
    for ev in ["cycles", "cycles:u"] {
        let ours = dir.join("ours.data");
        let theirs = dir.join("theirs.data");
        let out = run(premap()
            .args(["record", "-e", ev, "-o"])
            .arg(&ours)
            .arg("true"));
        assert!(
            out.status.success(),
            "{ev}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let warned = String::from_utf8_lossy(&out.stderr)
            .matches("The cycles event is not supported, trying to fall back to cpu-clock")
            .count();
        let p = run(perf()
            .args(["record", "-q", "-e", ev, "-o"])
            .arg(&theirs)
            .arg("true"));
        assert!(p.status.success(), "perf record -e {ev}");
        let (o, t) = (perf_evlist(&ours, false), perf_evlist(&theirs, false));
        assert_eq!(o, t, "-e {ev}");
        assert_eq!(
            warned,
            usize::from(t.starts_with("cpu-clock")),
            "{ev}: said once when it falls back"
        );
    }
}

/// `-m 3` is rounded up to a power of two with perf's message; `-p` of a process that does not exist
/// says "No such process", as perf.
#[test]
fn ring_sizes_round_up_and_a_missing_process_is_named_as_perf_names_it() {
    let dir = scratch("m3");
    let f = dir.join("m3.data");
    let out = run(premap()
        .args(["record", "-m", "3", "-o"])
        .arg(&f)
        .arg("true"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rounding mmap pages size to 16K (4 pages)"),
        "{err}"
    );
    let (_, perf_err) = perf_sample_count(&f);
    assert!(!perf_err.contains("rror"), "{perf_err}");
    let out = run(premap()
        .args(["record", "-p", "999999999", "-o"])
        .arg(dir.join("p.data")));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No such process"), "{err}");
}

/// The live progress line (stderr a terminal, here a pseudo-terminal from `script`): never while a
/// workload of ours runs (its output would be garbled; perf prints nothing while recording), shown
/// for a recording until Ctrl-C, with the data written so far (it said 0.00 MB before).
#[test]
fn the_progress_line_stays_out_of_the_workload_s_terminal_and_tells_the_truth() {
    let dir = scratch("progress");
    let bin = env!("CARGO_BIN_EXE_premap");
    let in_tty = |cmd: String| -> String {
        let out = run(std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]));
        String::from_utf8_lossy(&out.stdout).replace('\r', "\n")
    };
    let f = dir.join("w.data");
    let text = in_tty(format!(
        "{bin} record -o {} -- sh -c 'sleep 1.2; echo workload-output'",
        f.display()
    ));
    assert!(text.contains("workload-output"), "{text}");
    assert!(
        !text.contains("/s), "),
        "a live line while the workload ran: {text}"
    );
    let f = dir.join("a.data");
    let text = in_tty(format!(
        "timeout -s INT 1.7 {bin} record -a -o {}",
        f.display()
    ));
    let live: Vec<&str> = text.lines().filter(|l| l.contains("/s), ")).collect();
    assert!(
        !live.is_empty(),
        "no live line for a recording until Ctrl-C: {text}"
    );
    let last = live.last().unwrap();
    let mb: f64 = last
        .split(", ")
        .find_map(|p| p.strip_suffix(" MB"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    assert!(mb > 0.0, "the live line's MB figure: {last}");
}

/// Options a daily perf user reaches for, each recorded by premap and by perf 6.1 with the same
/// command: the attr fields the option sets are the same in `perf evlist -v` of both files.
/// `-b` and `-j` ask for branch stacks as perf does; an event that cannot sample them (a software
/// event; this machine has no branch-record hardware) is refused in perf's words, as perf refuses it.
#[test]
fn branch_stacks_are_asked_for_and_refused_as_perf_refuses_them() {
    let dir = scratch("branch");
    let f = dir.join("b.data");
    for args in [&["-b"][..], &["-j", "any_call,u"], &["-j", "u"]] {
        let out = run(premap()
            .arg("record")
            .args(args)
            .args(["-e", "cpu-clock", "-o"])
            .arg(&f)
            .arg("true"));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(
                "cpu-clock: PMU Hardware or event type doesn't support branch stack sampling."
            ),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let perf_out = run(perf()
            .arg("record")
            .args(args)
            .args(["-e", "cpu-clock", "-o"])
            .arg(dir.join("p.data"))
            .arg("true"));
        assert!(
            !perf_out.status.success(),
            "perf took {args:?} on cpu-clock"
        );
    }
    let out = run(premap()
        .args(["record", "-j", "sideways", "-o"])
        .arg(&f)
        .arg("true"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown branch filter \"sideways\""),
        "{}",
        text(&out.stderr)
    );
}

/// `-u USER` records the processes the user owns (by name or uid) while the command runs, and no
/// other.
#[test]
fn u_records_a_user_s_processes() {
    use std::os::unix::process::CommandExt;
    let dir = scratch("uid");
    let f = dir.join("u.data");
    // Two busy shells as nobody (uid 65534), running for the whole recording.
    let busy = || {
        std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done"])
            .uid(65534)
            .gid(65534)
            .spawn()
            .unwrap()
    };
    let mut shells = [busy(), busy()];
    let pids: Vec<String> = shells.iter().map(|c| c.id().to_string()).collect();
    for user in ["nobody", "65534"] {
        let out = run(premap()
            .args(["record", "-q", "-u", user, "-e", "cpu-clock", "-o"])
            .arg(&f)
            .args(["sleep", "0.5"]));
        assert!(out.status.success(), "{user}: {}", text(&out.stderr));
        let seen = text(&run(perf().args(["script", "-F", "pid", "-i"]).arg(&f)).stdout);
        let seen: BTreeSet<&str> = seen.split_whitespace().collect();
        assert!(
            pids.iter().any(|p| seen.contains(p.as_str())),
            "-u {user}: no sample of the busy shells {pids:?}: {seen:?}"
        );
        // Any other pid sampled is nobody's too (a daemon of this machine), never root's.
        for p in seen.iter().filter(|p| !pids.iter().any(|q| q == *p)) {
            if let Ok(st) = std::fs::read_to_string(format!("/proc/{p}/status")) {
                let uid = st
                    .lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .unwrap_or("");
                assert_eq!(
                    uid.split_whitespace().next(),
                    Some("65534"),
                    "-u {user}: pid {p}"
                );
            }
        }
    }
    for c in &mut shells {
        let _ = c.kill();
        let _ = c.wait();
    }
    let out = run(premap()
        .args(["record", "-u", "premap-no-such-user", "-o"])
        .arg(&f)
        .arg("true"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no such user"),
        "{}",
        text(&out.stderr)
    );
}

/// Samples in the vDSO put `[vdso]` in the BUILD_ID feature with the id perf records for it.
#[test]
fn the_vdso_s_build_id_is_recorded_as_perf_records_it() {
    let dir = scratch("vdso");
    let src = dir.join("vd.c");
    std::fs::write(
        &src,
        "#include <time.h>\nint main(void){struct timespec t;for(long i=0;i<20000000;i++)\
         clock_gettime(CLOCK_MONOTONIC,&t);return 0;}\n",
    )
    .unwrap();
    let exe = dir.join("vd");
    assert!(run(std::process::Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&exe)
        .arg(&src))
    .status
    .success());
    let vdso = |tool: std::process::Command, f: &Path| -> Option<String> {
        let mut tool = tool;
        let out = run(tool
            .args(["record", "-q", "-e", "cpu-clock", "-o"])
            .arg(f)
            .arg(&exe));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let ids = text(&run(perf().args(["buildid-list", "-i"]).arg(f)).stdout);
        ids.lines()
            .find(|l| l.ends_with(" [vdso]"))
            .map(str::to_string)
    };
    let theirs = vdso(perf(), &dir.join("perf.data")).expect("perf records [vdso]");
    assert_eq!(vdso(premap(), &dir.join("premap.data")), Some(theirs));
}

/// `-a -G NAME` records only the tasks of cgroup NAME, as perf does; without -a or -C it is perf's
/// error. The cgroup is made for the test (a cgroup2 hierarchy mounted in its scratch folder when
/// none with perf_event is mounted), holding one busy shell.
#[test]
fn g_records_only_the_tasks_of_a_cgroup() {
    let dir = scratch("cgroup");
    let f = dir.join("cg.data");
    // Where perf and premap look: a v1 perf_event hierarchy, else cgroup2.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let existing = premap_tools::record::args::cgroup_mount(&mountinfo);
    let mounted = dir.join("mnt");
    let root = existing.unwrap_or_else(|| {
        std::fs::create_dir_all(&mounted).unwrap();
        let ok = run(std::process::Command::new("mount")
            .args(["-t", "cgroup2", "none"])
            .arg(&mounted))
        .status
        .success();
        assert!(ok, "mounting cgroup2 (the tests run as root)");
        mounted.clone()
    });
    let name = format!("premap-test-{}", std::process::id());
    let cg = root.join(&name);
    std::fs::create_dir(&cg).unwrap();
    let mut busy = std::process::Command::new("sh")
        .args(["-c", "i=0; while [ $i -lt 5000000 ]; do i=$((i+1)); done"])
        .spawn()
        .unwrap();
    let pid = busy.id().to_string();
    std::fs::write(cg.join("cgroup.procs"), &pid).unwrap();
    let sampled = |tool: std::process::Command, f: &Path| -> BTreeSet<String> {
        let mut tool = tool;
        let out = run(tool
            .args(["record", "-q", "-a", "-e", "cpu-clock", "-G", &name, "-o"])
            .arg(f)
            .args(["sleep", "0.5"]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let pids = text(&run(perf().args(["script", "-F", "pid", "-i"]).arg(f)).stdout);
        pids.split_whitespace().map(str::to_string).collect()
    };
    let theirs = sampled(perf(), &dir.join("perf.data"));
    let ours = sampled(premap(), &f);
    let _ = busy.kill();
    let _ = busy.wait();
    let _ = std::fs::remove_dir(&cg);
    if root == mounted {
        let _ = run(std::process::Command::new("umount").arg(&mounted));
    }
    assert_eq!(theirs, BTreeSet::from([pid.clone()]), "perf's own -G");
    assert_eq!(ours, theirs);
    let out = run(premap()
        .args(["record", "-G", &name, "-o"])
        .arg(&f)
        .arg("true"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cgroup monitoring only available in system-wide mode"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn everyday_options_set_the_attrs_perf_sets() {
    let dir = scratch("everyday");
    let fields = |f: &std::path::Path| -> Vec<String> {
        let line = perf_evlist(f, true)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let mut v: Vec<String> = line
            .split(", ")
            .filter(|kv| {
                [
                    "sample_type:",
                    "exclude_",
                    "use_clockid:",
                    "clockid:",
                    "sample_freq }:",
                    "sample_period:",
                ]
                .iter()
                .any(|k| kv.contains(k))
            })
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    for opts in [
        &["--sample-cpu"][..],
        &["-W"],
        &["-c", "10000", "-P"],
        &["--all-user"],
        &["--all-kernel"],
        &["-k", "mono"],
        &["-k", "monotonic_raw"],
        &["-g", "--user-callchains"],
        &["-F", "max"],
        &["--no-bpf-event"],
    ] {
        let (ours, theirs) = (dir.join("ours.data"), dir.join("theirs.data"));
        // The same recording by each tool, into its own file.
        for (name, mut tool, out) in [("perf", perf(), &theirs), ("premap", premap(), &ours)] {
            let _ = std::fs::remove_file(out);
            let o = run(tool
                .args(["record", "-q", "-e", "cpu-clock"])
                .args(opts)
                .arg("-o")
                .arg(out)
                .arg("true"));
            assert!(
                o.status.success(),
                "{name} record {opts:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let (a, b) = (fields(&ours), fields(&theirs));
        assert!(!b.is_empty(), "{opts:?}: perf evlist printed nothing");
        assert_eq!(a, b, "{opts:?}");
    }
}

/// `--max-size` ends the session once the data reaches the size, as perf (the command still running
/// is ended too), and the file is whole; `-m N,M` is taken (M is the AUX area's, unused here).
#[test]
fn max_size_ends_the_session_and_m_takes_perf_s_pair() {
    let dir = scratch("max-size");
    let f = dir.join("ms.data");
    let t = std::time::Instant::now();
    let out = run(premap()
        .args(["record", "--max-size=300K", "-F", "10000", "-a", "-o"])
        .arg(&f)
        .args(["--", "sleep", "20"]));
    assert!(
        t.elapsed() < std::time::Duration::from_secs(15),
        "the session did not stop"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("size limit reached"), "{err}");
    let (samples, perf_err) = perf_sample_count(&f);
    assert!(samples > 0 && !perf_err.contains("rror"), "{perf_err}");
    let len = std::fs::metadata(&f).unwrap().len();
    assert!((300 << 10..8 << 20).contains(&len), "{len} bytes");
    let f = dir.join("m.data");
    let out = run(premap()
        .args(["record", "-q", "-m", "8,16", "-o"])
        .arg(&f)
        .arg("true"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(perf_evlist(&f, true).contains("wakeup_watermark }: 16384"));
}

/// `premap list` lists the hardware and cache events this machine can open, as `perf list` does: in
/// a VM without a PMU none; where there are some, each named by perf too.
#[test]
fn list_shows_what_this_machine_can_open() {
    let ours = String::from_utf8_lossy(&run(premap().arg("list")).stdout).into_owned();
    let theirs =
        String::from_utf8_lossy(&run(perf().args(["list", "hw", "cache"])).stdout).into_owned();
    let hw: Vec<&str> = ours
        .lines()
        .filter(|l| l.contains("[Hardware event]") || l.contains("[Hardware cache event]"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let perf_has_hw =
        theirs.contains("[Hardware event]") || theirs.contains("[Hardware cache event]");
    assert_eq!(
        !hw.is_empty(),
        perf_has_hw,
        "premap: {hw:?}\nperf list hw cache:\n{theirs}"
    );
    for name in hw {
        assert!(theirs.contains(name), "{name} is not in perf list");
    }
    assert!(ours.contains("cpu-clock") && ours.contains("[Software event]"));
}
