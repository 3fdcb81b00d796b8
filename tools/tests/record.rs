//! `premap record` judged by the system's perf: perf script and perf report read its files with no
//! error or warning, and perf counts the samples premap says it wrote.

mod common;
use common::*;

#[test]
fn recording_a_workload_gives_a_file_perf_reads_with_every_sample() {
    let dir = scratch("record");
    let file = dir.join("perf.data");
    let out = run(premap()
        .args(["record", "-e", "page-faults", "-c", "1", "-o"])
        .arg(&file)
        .arg("--")
        .arg(touch_workload())
        .arg("3000"));
    let written = judged_by_perf(&out, &file);
    assert!(written >= 3000, "a sample per fault: {written}");

    // perf script reads every sample without a warning; at least 3000 are the workload's.
    let script = run(perf()
        .args(["script", "-F", "comm,pid,event", "-i"])
        .arg(&file));
    assert!(script.status.success());
    assert_eq!(
        String::from_utf8_lossy(&script.stderr).trim(),
        "",
        "perf script complained"
    );
    let text = String::from_utf8_lossy(&script.stdout);
    let name = touch_workload()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .take(15)
        .collect::<String>();
    let mine = text
        .lines()
        .filter(|l| l.trim_start().starts_with(&name))
        .count();
    assert!(mine >= 3000, "{mine} samples of the workload (comm {name})");
    assert_eq!(text.lines().count() as u64, written);

    // premap's own dump agrees.
    let dump = run(premap().arg("dump").arg(&file));
    assert!(dump.status.success());
    let d = String::from_utf8_lossy(&dump.stdout);
    assert!(
        d.lines().any(|l| l == format!("# SAMPLE: {written}")),
        "dump counts the same samples"
    );
}

#[test]
fn two_events_and_several_cpus_share_rings_and_perf_tells_them_apart() {
    let dir = scratch("two-events");
    let file = dir.join("perf.data");
    let out = run(premap()
        .args([
            "record",
            "-e",
            "page-faults",
            "-e",
            "task-clock",
            "-c",
            "1",
            "-m",
            "64",
            "-o",
        ])
        .arg(&file)
        .arg("--")
        .arg(touch_workload())
        .arg("500"));
    judged_by_perf(&out, &file);
    let script = run(perf().args(["script", "-F", "event", "-i"]).arg(&file));
    let text = String::from_utf8_lossy(&script.stdout);
    assert!(text.lines().filter(|l| l.contains("page-faults")).count() >= 500);
    assert!(text.lines().any(|l| l.contains("task-clock")));
}

#[test]
fn overwrite_mode_writes_the_newest_samples_perf_can_read() {
    let dir = scratch("overwrite");
    let file = dir.join("perf.data");
    let out = run(premap()
        .args([
            "record",
            "--overwrite",
            "-e",
            "page-faults",
            "-c",
            "1",
            "-m",
            "1",
            "-o",
        ])
        .arg(&file)
        .arg("--")
        .arg(touch_workload())
        .arg("5000"));
    let written = judged_by_perf(&out, &file);
    // One page per CPU, and a sample is at least 32 bytes (header, IP, TID, TIME): at most 128 a ring.
    let cpus = premap::event::online_cpus().unwrap().len() as u64;
    assert!(
        written > 0 && written <= cpus * 4096 / 32,
        "{written} samples from {cpus} one-page rings"
    );
}

#[test]
fn sigint_stops_recording_and_leaves_a_complete_file() {
    let dir = scratch("sigint");
    let file = dir.join("perf.data");
    let child = premap()
        .args(["record", "-e", "cpu-clock", "-F", "1000", "-o"])
        .arg(&file)
        .args(["--", "sh", "-c", "while :; do :; done"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    // As perf: the file is finished, then premap dies of the SIGINT (a shell shows 130).
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGINT), "{:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let written = premap_reported_samples(&stderr);
    let (counted, perf_err) = perf_sample_count(&file);
    assert_eq!(perf_err.trim(), "", "perf report complained");
    assert_eq!(counted, written);
    assert!(
        written > 50,
        "about 1000 samples a second for 0.8 s: {written}"
    );
}

#[test]
fn a_full_disk_is_an_error_not_a_truncated_file() {
    let out = run(premap()
        .args([
            "record",
            "-e",
            "page-faults",
            "-c",
            "1",
            "-o",
            "/dev/full",
            "--",
        ])
        .arg(touch_workload())
        .arg("100"));
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // A device given as output is never removed (an earlier version deleted /dev/full as root).
    assert!(
        std::path::Path::new("/dev/full").exists(),
        "/dev/full was removed"
    );
}

#[test]
fn a_command_that_cannot_run_is_reported() {
    let dir = scratch("nocmd");
    let out = run(premap()
        .args(["record", "-o"])
        .arg(dir.join("perf.data"))
        .args(["--", "/nonexistent/program"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot run the workload"));
}

#[test]
fn recording_an_existing_pid_synthesizes_its_comm_and_mmaps() {
    let dir = scratch("pid");
    let file = dir.join("perf.data");
    let mut sleeper = std::process::Command::new("sleep")
        .arg("1")
        .spawn()
        .unwrap();
    let out = run(premap()
        .args(["record", "-e", "task-clock", "-F", "100", "-p"])
        .arg(sleeper.id().to_string())
        .arg("-o")
        .arg(&file));
    sleeper.wait().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = run(premap().arg("dump").arg(&file));
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains(" COMM ") && l.contains("comm=sleep")),
        "{text}"
    );
    assert!(text
        .lines()
        .any(|l| l.contains(" MMAP2 ") && l.contains("/sleep")));
    let (_, perf_err) = perf_sample_count(&file);
    assert_eq!(perf_err.trim(), "");
}

#[test]
fn system_wide_recording_for_the_duration_of_a_command() {
    let dir = scratch("all-cpus");
    let file = dir.join("perf.data");
    let out = run(premap()
        .args(["record", "-a", "-e", "page-faults", "-c", "1", "-o"])
        .arg(&file)
        .arg("--")
        .arg(touch_workload())
        .arg("1000"));
    let written = judged_by_perf(&out, &file);
    assert!(written >= 1000, "{written}");
    // System-wide recording synthesizes the processes that were already running.
    let dump = run(premap().arg("dump").arg(&file));
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        text.lines().filter(|l| l.contains(" COMM ")).count() > 5,
        "synthesized COMMs"
    );
}
