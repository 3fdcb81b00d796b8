//! `premap dump` against files written by Linux perf (file and pipe mode) and by premap, snapshots of
//! its text and JSON output, and corrupt, truncated and hostile files.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn dump(args: &[&str], file: &Path) -> (bool, Option<i32>, String, String) {
    let out = run(premap().arg("dump").args(args).arg(file));
    (
        out.status.success(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dumped_samples(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("# SAMPLE: "))
        .map_or(0, |n| n.parse().unwrap())
}

/// Runs `tool record ARGS -o FILE -- WORKLOAD` (`-o -` in pipe mode, whose standard output then
/// becomes `file`) and asserts that it succeeded.
fn record_into(mut tool: Command, args: &[&str], file: &Path, pipe: bool, workload: &[&str]) {
    tool.arg("record").args(args).arg("-o");
    if pipe {
        tool.arg("-");
    } else {
        tool.arg(file);
    }
    let out = run(tool.arg("--").args(workload));
    assert!(
        out.status.success(),
        "record {args:?} (pipe {pipe}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if pipe {
        std::fs::write(file, &out.stdout).unwrap();
    }
}

#[test]
fn dump_of_a_perf_record_file_counts_the_samples_perf_counts() {
    let dir = scratch("dump-perf");
    // perf record -z: the COMPRESSED records are inflated, and their samples counted as perf does.
    // (perf 6.1 cannot record -z in pipe mode: "perf record -z -o -" fails.)
    for (pipe, z) in [(false, false), (true, false), (false, true)] {
        let file = dir.join(format!(
            "{}{}.data",
            if pipe { "pipe" } else { "file" },
            if z { "-z" } else { "" }
        ));
        let mut args = vec!["-q", "-e", "page-faults", "-c", "1"];
        if z {
            args.push("-z");
        }
        let touch = touch_workload().to_str().unwrap();
        record_into(perf(), &args, &file, pipe, &[touch, "2000"]);
        let (counted, _) = perf_sample_count(&file);
        let (ok, _, text, err) = dump(&[], &file);
        assert!(ok, "{err}");
        assert!(counted >= 2000);
        assert_eq!(dumped_samples(&text), counted, "pipe={pipe} z={z}");
        // JSON mode counts the same, and every line is an object.
        let (ok, _, json, _) = dump(&["--json"], &file);
        assert!(ok);
        let samples = json
            .lines()
            .filter(|l| l.contains("\"type\":\"SAMPLE\""))
            .count() as u64;
        assert_eq!(samples, counted);
        assert!(json.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
    }
}

fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                for key in [
                    "time=",
                    "sample_time=",
                    "pid=",
                    "tid=",
                    "sample_pid=",
                    "sample_tid=",
                    "ppid=",
                    "ptid=",
                ] {
                    if let Some(v) = w.strip_prefix(key) {
                        if v.chars().all(|c| c.is_ascii_digit()) {
                            return format!("{key}[{}]", key.trim_end_matches('='));
                        }
                    }
                }
                w.to_string()
            })
            .collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

fn redact_json(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut l = line.to_string();
        for key in [
            "\"time\":",
            "\"sample_time\":",
            "\"pid\":",
            "\"tid\":",
            "\"sample_pid\":",
            "\"sample_tid\":",
            "\"ppid\":",
            "\"ptid\":",
        ] {
            let mut from = 0;
            while let Some(i) = l[from..].find(key) {
                let start = from + i + key.len();
                let end = l[start..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(l.len(), |e| start + e);
                l.replace_range(start..end, "0");
                from = start;
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn dump_text_and_json_of_checked_in_files_match_snapshots() {
    for name in [
        "premap-touch8.data",
        "perf-touch8.data",
        "perf-pipe-touch8.data",
    ] {
        let (ok, _, text, err) = dump(&[], &fixture(name));
        assert!(ok, "{name}: {err}");
        // The first line names the path, which differs between checkouts.
        let text: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        insta::assert_snapshot!(format!("{name}.txt"), redact(&text));
        let (ok, _, json, _) = dump(&["--json"], &fixture(name));
        assert!(ok);
        insta::assert_snapshot!(format!("{name}.json"), redact_json(&json));
    }
}

/// A corrupt file must fail with exit code 1 (not a panic's 101), a message naming an offset, and in
/// bounded time (`run` kills a hung dump and fails).
fn assert_clean_failure(file: &Path, what: &str) {
    let (ok, code, _, err) = dump(&[], file);
    assert!(!ok, "{what}: accepted");
    assert_eq!(code, Some(1), "{what}: exit code {code:?}, stderr {err}");
    assert!(
        err.contains("offset 0x"),
        "{what}: error does not name an offset: {err}"
    );
    let (ok, code, _, _) = dump(&["--json"], file);
    assert!(!ok && code == Some(1), "{what} (json)");
}

/// perf's reading rules for a file cut short: a cut inside the file header or the attrs is an error
/// naming an offset; a cut inside the data (or a pipe stream cut anywhere after its header) prints
/// every record before the cut, warns "unexpected end of event stream" and exits 0, as perf treats
/// it as the end of the data; a cut inside the feature sections prints every record, then the error
/// (exit 1).
#[test]
fn truncated_files_print_every_record_before_the_cut() {
    let dir = scratch("truncated");
    for name in [
        "premap-touch8.data",
        "perf-touch8.data",
        "perf-pipe-touch8.data",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let pipe = name.contains("pipe");
        let (data, size) = if pipe {
            (16, bytes.len() - 16)
        } else {
            data_section(&bytes)
        };
        // Record starts in the data section, to count what lies before each cut.
        let mut starts = vec![];
        let mut off = data;
        while off + 8 <= data + size {
            starts.push(off);
            let sz = u16::from_ne_bytes(bytes[off + 6..off + 8].try_into().unwrap()) as usize;
            let ty = u32::from_ne_bytes(bytes[off..off + 4].try_into().unwrap());
            // A TRACING_DATA/AUXTRACE payload does not occur in these fixtures.
            assert!(ty != 66 && ty != 71);
            off += sz;
        }
        // Every cut inside the header and a spread of cuts through the rest.
        let cuts: Vec<usize> = (1..120).chain((120..bytes.len()).step_by(97)).collect();
        for cut in cuts {
            let f = dir.join(format!("{name}.{cut}"));
            std::fs::write(&f, &bytes[..cut]).unwrap();
            let what = format!("{name} cut at {cut}");
            if cut < data {
                assert_clean_failure(&f, &what);
            } else if cut < data + size {
                let whole = starts
                    .iter()
                    .zip(starts.iter().skip(1).chain([&(data + size)]))
                    .filter(|(_, &end)| end <= cut)
                    .count();
                let (ok, code, out, err) = dump(&[], &f);
                assert!(ok, "{what}: exit {code:?}: {err}");
                let printed = out.lines().filter(|l| l.starts_with("0x")).count();
                assert_eq!(
                    printed, whole,
                    "{what}: every record before the cut printed"
                );
                let at_boundary = starts.contains(&cut);
                assert_eq!(
                    err.contains("unexpected end of event stream"),
                    !at_boundary,
                    "{what}: {err}"
                );
            } else {
                // The feature sections are cut: the records are all printed, then the error.
                let (ok, code, out, err) = dump(&[], &f);
                assert!(!ok && code == Some(1), "{what}: {err}");
                assert!(err.contains("offset 0x"), "{what}: {err}");
                let printed = out.lines().filter(|l| l.starts_with("0x")).count();
                assert_eq!(printed, starts.len(), "{what}");
            }
            std::fs::remove_file(&f).unwrap();
        }
    }
}

/// A record of size 0 or of an impossible size: everything before it printed (text and JSON, and
/// counted by --stats), then the error naming its offset, exit 1. A zeroed data size (a recording
/// killed before perf record rewrote its header): perf's warning, and the data read to the end.
#[test]
fn damage_prints_what_came_before_and_a_killed_recording_is_read_to_the_end() {
    let dir = scratch("damage");
    let good = std::fs::read(fixture("perf-touch8.data")).unwrap();
    let (data, size) = data_section(&good);
    let mut off = data;
    for _ in 0..5 {
        off += u16::from_ne_bytes(good[off + 6..off + 8].try_into().unwrap()) as usize;
    }
    for bad_size in [0u16, 4, 0xfff0] {
        let mut b = good.clone();
        b[off + 6..off + 8].copy_from_slice(&bad_size.to_ne_bytes());
        let f = dir.join("bad.data");
        std::fs::write(&f, &b).unwrap();
        let (ok, code, out, err) = dump(&[], &f);
        assert!(!ok && code == Some(1), "size {bad_size}: {err}");
        assert!(err.contains(&format!("offset {off:#x}")), "{err}");
        assert_eq!(out.lines().filter(|l| l.starts_with("0x")).count(), 5);
        let (ok, _, json, _) = dump(&["--json"], &f);
        assert!(!ok);
        assert_eq!(
            json.lines()
                .filter(|l| l.starts_with("{\"offset\""))
                .count(),
            5
        );
        let (ok, code, stats, _) = dump(&["--stats"], &f);
        assert!(!ok && code == Some(1));
        assert!(stats.contains("TOTAL events:          5"), "{stats}");
    }
    // Killed: the header's data size is 0 and no feature bits are set.
    let mut b = good[..data + size].to_vec();
    b[48..56].copy_from_slice(&0u64.to_ne_bytes());
    b[72..104].copy_from_slice(&[0; 32]);
    let f = dir.join("killed.data");
    std::fs::write(&f, &b).unwrap();
    let (ok, _, out, err) = dump(&["--stats"], &f);
    assert!(ok, "{err}");
    assert!(err.contains("properly terminated"), "{err}");
    let (_, _, whole, _) = dump(&["--stats"], &fixture("perf-touch8.data"));
    let total = |s: &str| {
        s.lines()
            .find(|l| l.contains("TOTAL events:"))
            .map(str::to_string)
    };
    assert_eq!(total(&out), total(&whole), "every record of the data read");
}

fn data_section(bytes: &[u8]) -> (usize, usize) {
    let w = |i: usize| u64::from_ne_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap()) as usize;
    (w(5), w(6))
}

#[test]
fn malformed_records_and_headers_are_errors_naming_the_offset() {
    let dir = scratch("malformed");
    let good = std::fs::read(fixture("premap-touch8.data")).unwrap();
    let (data, _) = data_section(&good);
    type Corruption = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Corruption)> = vec![
        (
            "record size 0",
            Box::new(move |b: &mut Vec<u8>| {
                b[data + 6..data + 8].copy_from_slice(&0u16.to_ne_bytes())
            }),
        ),
        (
            "record size 4",
            Box::new(move |b: &mut Vec<u8>| {
                b[data + 6..data + 8].copy_from_slice(&4u16.to_ne_bytes())
            }),
        ),
        (
            "record past the end",
            Box::new(move |b: &mut Vec<u8>| {
                b[data + 6..data + 8].copy_from_slice(&0xfff8u16.to_ne_bytes())
            }),
        ),
        (
            "attr_size too small",
            Box::new(|b: &mut Vec<u8>| b[16..24].copy_from_slice(&8u64.to_ne_bytes())),
        ),
        (
            "attr_size huge",
            Box::new(|b: &mut Vec<u8>| b[16..24].copy_from_slice(&(1u64 << 40).to_ne_bytes())),
        ),
        (
            "data section past the end",
            Box::new(|b: &mut Vec<u8>| b[48..56].copy_from_slice(&(1u64 << 40).to_ne_bytes())),
        ),
        (
            "data offset overflow",
            Box::new(|b: &mut Vec<u8>| b[40..48].copy_from_slice(&u64::MAX.to_ne_bytes())),
        ),
        ("bad magic", Box::new(|b: &mut Vec<u8>| b[0] = b'X')),
        (
            "header size",
            Box::new(|b: &mut Vec<u8>| b[8..16].copy_from_slice(&200u64.to_ne_bytes())),
        ),
        (
            "attr size field",
            Box::new(|b: &mut Vec<u8>| {
                let attrs = u64::from_ne_bytes(b[24..32].try_into().unwrap()) as usize;
                b[attrs + 4..attrs + 8].copy_from_slice(&12u32.to_ne_bytes());
            }),
        ),
        (
            "ids past the end",
            Box::new(|b: &mut Vec<u8>| {
                let attrs = u64::from_ne_bytes(b[24..32].try_into().unwrap()) as usize;
                b[attrs + 128..attrs + 136].copy_from_slice(&u64::MAX.to_ne_bytes());
            }),
        ),
        (
            "sample body truncated",
            Box::new(move |b: &mut Vec<u8>| {
                // Shrink the first SAMPLE's declared size by 8: the next header lands inside it.
                let mut off = data;
                loop {
                    let ty = u32::from_ne_bytes(b[off..off + 4].try_into().unwrap());
                    let size = u16::from_ne_bytes(b[off + 6..off + 8].try_into().unwrap());
                    if ty == 9 {
                        b[off + 6..off + 8].copy_from_slice(&16u16.to_ne_bytes());
                        break;
                    }
                    off += size as usize;
                }
            }),
        ),
        (
            "feature table past the end",
            Box::new(|b: &mut Vec<u8>| b[72..80].copy_from_slice(&u64::MAX.to_ne_bytes())),
        ),
    ];
    for (what, corrupt) in cases {
        let mut b = good.clone();
        corrupt(&mut b);
        let f = dir.join("bad.data");
        std::fs::write(&f, &b).unwrap();
        assert_clean_failure(&f, what);
    }
}

#[test]
fn unknown_feature_bits_are_shown_not_fatal() {
    let dir = scratch("features");
    let mut b = std::fs::read(fixture("premap-touch8.data")).unwrap();
    // Bit 200 has no meaning; its table entry would be read past the real table.
    let word = 72 + 8 * (200 / 64);
    let mut v = u64::from_ne_bytes(b[word..word + 8].try_into().unwrap());
    v |= 1 << (200 % 64);
    b[word..word + 8].copy_from_slice(&v.to_ne_bytes());
    let f = dir.join("unknown-feature.data");
    std::fs::write(&f, &b).unwrap();
    let (ok, _, text, err) = dump(&[], &f);
    assert!(ok, "{err}");
    assert!(dumped_samples(&text) > 0);
}

#[test]
fn a_missing_file_or_a_non_perf_file_is_an_error() {
    let (ok, code, _, err) = dump(&[], Path::new("/nonexistent/perf.data"));
    assert!(!ok && code == Some(1), "{err}");
    let (ok, code, _, err) = dump(&[], Path::new("/etc/hostname"));
    assert!(
        !ok && code == Some(1) && err.contains("offset 0x0"),
        "{err}"
    );
    // Random bytes and a bare magic say what is wrong with the file (not "ring geometry").
    let dir = scratch("dump-notperf");
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (name, bytes) in [("random", random), ("magic", b"PERFILE2".to_vec())] {
        let f = dir.join(name);
        std::fs::write(&f, bytes).unwrap();
        let (ok, _, _, err) = dump(&[], &f);
        assert!(
            !ok && err.contains("not a valid perf.data file") && !err.contains("geometry"),
            "{name}: {err}"
        );
    }
}

/// `perf report --stats` on `file`, as it prints it.
fn perf_stats(file: &Path) -> String {
    let out = run(perf().args(["report", "--stats", "-i"]).arg(file));
    assert!(
        out.status.success(),
        "perf report --stats: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dump_stats_prints_the_table_perf_report_stats_prints() {
    let dir = scratch("dump-stats");
    let touch = touch_workload().to_str().unwrap();
    // Modes that change what is counted: pipe mode (header records), -z (COMPRESSED containers),
    // several events, a sample-read group (perf counts a member sample per moved counter), premap's
    // own files.
    let cases: &[(&str, &[&str])] = &[
        ("file", &["-e", "page-faults", "-c", "1"]),
        ("pipe", &["-e", "page-faults", "-c", "1"]),
        ("z", &["-z", "-e", "page-faults", "-c", "1"]),
        (
            "several",
            &["-e", "page-faults", "-e", "minor-faults", "-c", "7"],
        ),
        ("group", &["-e", "{cpu-clock,page-faults}:S", "-F", "2000"]),
        ("premap", &["-e", "page-faults", "-c", "1", "-g"]),
        ("callgraph", &["-e", "page-faults", "-c", "1", "-g"]),
        (
            "dwarf",
            &["-e", "page-faults", "-c", "3", "--call-graph", "dwarf,1024"],
        ),
        ("stat", &["-s", "-e", "page-faults", "-c", "1"]),
        // 4 KiB stack dumps through a 16 KiB ring: LOST and LOST_SAMPLES records, whose counts perf
        // sums per event.
        (
            "lossy",
            &[
                "-e",
                "page-faults",
                "-c",
                "1",
                "--call-graph",
                "dwarf,4096",
                "-m",
                "4",
            ],
        ),
        ("data", &["-d", "-W", "-e", "page-faults", "-c", "1"]),
        (
            "tracepoints",
            &["-e", "sched:sched_switch", "-e", "sched:sched_process_exec"],
        ),
    ];
    for (name, args) in cases {
        let file = dir.join(format!("{name}.data"));
        let tool = if *name == "premap" { premap() } else { perf() };
        let mut all = vec!["-q"];
        all.extend_from_slice(args);
        record_into(tool, &all, &file, *name == "pipe", &[touch, "3000"]);
        let (ok, _, ours, err) = dump(&["--stats"], &file);
        assert!(ok, "{name}: {err}");
        let theirs = perf_stats(&file);
        assert!(theirs.contains("SAMPLE events:"), "{name}: {theirs}");
        assert_eq!(
            ours, theirs,
            "{name}: premap dump --stats differs from perf report --stats"
        );
    }
    // perf inject -b (build ids injected as BUILD_ID records) and --switch-output (one file per
    // size-triggered switch, each a complete perf.data).
    let injected = dir.join("injected.data");
    let out = run(perf()
        .args(["inject", "-b", "-i"])
        .arg(dir.join("file.data"))
        .arg("-o")
        .arg(&injected));
    assert!(
        out.status.success(),
        "perf inject: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let switched = dir.join("switched");
    std::fs::create_dir_all(&switched).unwrap();
    let out = run(perf()
        .args([
            "record",
            "-q",
            "-e",
            "page-faults",
            "-c",
            "1",
            "--switch-output=64K",
            "-o",
        ])
        .arg(switched.join("sw.data"))
        .args(["--", touch, "6000"]));
    assert!(
        out.status.success(),
        "switch-output: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files = vec![injected];
    files.extend(
        std::fs::read_dir(&switched)
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    assert!(files.len() >= 3, "--switch-output wrote {files:?}");
    for file in &files {
        let (ok, _, ours, err) = dump(&["--stats"], file);
        assert!(ok, "{}: {err}", file.display());
        assert_eq!(ours, perf_stats(file), "{}", file.display());
    }
    // A file whose last feature section is cut (issue 27: what was read is never hidden): the table
    // of every record, which the data section holds whole, then the error naming the offset, exit 1.
    let bad = dir.join("bad.data");
    let mut bytes = std::fs::read(dir.join("file.data")).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 3);
    std::fs::write(&bad, bytes).unwrap();
    let (ok, code, out, err) = dump(&["--stats"], &bad);
    assert!(
        !ok && code == Some(1) && err.contains("offset 0x"),
        "{out} {err}"
    );
    assert_eq!(out, dump(&["--stats"], &dir.join("file.data")).2);
}

/// `perf script -D` of `file`: each SAMPLE's dump lines (those after its header line up to the next
/// record), by the sample's file offset (`TIME 0xOFFSET [0xSIZE]: PERF_RECORD_SAMPLE(...)`).
fn perf_script_dump_samples(file: &Path) -> std::collections::HashMap<u64, Vec<String>> {
    let raw = run(perf().args(["script", "-D", "-i"]).arg(file));
    assert!(raw.status.success());
    let mut out: std::collections::HashMap<u64, Vec<String>> = Default::default();
    let mut cur = None;
    for l in String::from_utf8_lossy(&raw.stdout).lines() {
        if l.contains("PERF_RECORD_") {
            cur = l
                .contains("PERF_RECORD_SAMPLE")
                .then(|| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix("0x"))
                        .and_then(|h| u64::from_str_radix(h, 16).ok())
                })
                .flatten();
            if let Some(o) = cur {
                out.entry(o).or_default();
            }
        } else if let Some(o) = cur {
            out.entry(o).or_default().push(l.to_string());
        }
    }
    out
}

/// One value of a read block: id, value, lost.
type ReadEntry = (u64, u64, u64);

#[test]
fn group_read_values_and_callchain_markers_are_decoded() {
    let dir = scratch("dump-decode");
    let file = dir.join("group.data");
    let args = [
        "-q",
        "-g",
        "-e",
        "{cpu-clock,page-faults}:S",
        "-c",
        "100000",
    ];
    let out = record_touch(perf(), &args, &file, "3000");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, _, text, err) = dump(&[], &file);
    assert!(ok, "{err}");
    // The ids of the two events, from the header lines.
    let ids: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("# event "))
        .filter_map(|l| l.split("ids=[").nth(1))
        .flat_map(|l| {
            l.trim_end_matches(']')
                .split(", ")
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(ids.len() >= 2, "{ids:?}");
    let (ok, _, json, _) = dump(&["--json"], &file);
    assert!(ok);
    let samples: Vec<&str> = json
        .lines()
        .filter(|l| l.contains("\"type\":\"SAMPLE\""))
        .collect();
    assert!(!samples.is_empty());
    for s in &samples {
        // A group read: both members' values, each with its id (read_format has ID).
        let read = s.split("\"read\":").nth(1).expect("a read block");
        let entries = read.matches("{\"value\":").count();
        assert_eq!(entries, 2, "{s}");
        let read_ids: Vec<&str> = read
            .split("\"id\":")
            .skip(1)
            .map(|x| x.split(|c: char| !c.is_ascii_digit()).next().unwrap())
            .collect();
        assert!(
            read_ids.iter().all(|id| ids.iter().any(|x| x == id)),
            "{s} {ids:?}"
        );
        // Callchains name their context markers and never show them as addresses.
        let chain = s.split("\"callchain\":[").nth(1).expect("a callchain");
        let chain = &chain[..chain.find(']').unwrap()];
        assert!(
            chain.starts_with("\"kernel\"") || chain.starts_with("\"user\""),
            "{chain}"
        );
        assert!(!chain.contains("0xfffffffffffffe00") && !chain.contains("0xffffffffffffff80"));
    }
    // Value by value, as `perf script -D` dumps each sample (found by its file offset): the callchain
    // entries (markers by their numbers) and the group's ids, values and lost counts.
    let mut theirs: std::collections::HashMap<u64, (Vec<u64>, Vec<ReadEntry>)> = Default::default();
    for (off, lines) in perf_script_dump_samples(&file) {
        let entry = theirs.entry(off).or_default();
        for e in lines.iter().filter_map(|l| l.strip_prefix(".....")) {
            let e = e.trim();
            if let Some(rest) = e.strip_prefix("id ") {
                // `id 00000000000045c6, value 000000000001c381, lost 0`
                let f: Vec<u64> = rest
                    .split(", ")
                    .map(|x| x.rsplit(' ').next().unwrap())
                    .map(|x| u64::from_str_radix(x, 16).unwrap())
                    .collect();
                entry.1.push((f[0], f[1], f[2]));
            } else if let Some((_, addr)) = e.split_once(": ") {
                // `  3: ffffffff816c3245`, a callchain entry
                entry.0.push(u64::from_str_radix(addr.trim(), 16).unwrap());
            }
        }
    }
    let marker = |name: &str| match name {
        "kernel" => premap::abi::sample::CONTEXT_KERNEL,
        "user" => premap::abi::sample::CONTEXT_USER,
        other => panic!("marker {other}"),
    };
    for s in &samples {
        let v: serde_json::Value = serde_json::from_str(s).unwrap();
        let off = v["offset"].as_u64().unwrap();
        let (chain, read) = theirs
            .get(&off)
            .unwrap_or_else(|| panic!("perf script -D has no sample at {off:#x}"));
        let ours_chain: Vec<u64> = v["callchain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let e = e.as_str().unwrap();
                match e.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).unwrap(),
                    None => marker(e),
                }
            })
            .collect();
        assert_eq!(&ours_chain, chain, "callchain at {off:#x}");
        let ours_read: Vec<ReadEntry> = v["read"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_u64().unwrap(),
                    r["value"].as_u64().unwrap(),
                    r["lost"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(&ours_read, read, "read values at {off:#x}");
    }
    // Text mode shows the same.
    let line = text.lines().find(|l| l.contains(" SAMPLE ")).unwrap();
    assert!(line.contains("read={values=[{value="), "{line}");
    assert!(
        line.contains("callchain=[kernel,") || line.contains("callchain=[user,"),
        "{line}"
    );
}

#[test]
fn dwarf_samples_show_registers_by_name_and_the_stack_sizes() {
    let dir = scratch("dump-dwarf");
    let touch = touch_workload().to_str().unwrap();
    for pipe in [false, true] {
        let file = dir.join(format!("dwarf-{pipe}.data"));
        record_into(
            perf(),
            &[
                "-q",
                "--call-graph",
                "dwarf,2048",
                "-e",
                "page-faults",
                "-c",
                "100",
            ],
            &file,
            pipe,
            &[touch, "2000"],
        );
        let (ok, _, text, err) = dump(&[], &file);
        assert!(ok, "{err}");
        let samples: Vec<&str> = text.lines().filter(|l| l.contains(" SAMPLE ")).collect();
        assert!(samples.len() >= 10, "pipe={pipe}");
        // The file's ARCH feature is this machine's: perf's register names for it.
        let (first, sp, ip) = if cfg!(target_arch = "aarch64") {
            ("x0", "sp", "pc")
        } else {
            ("AX", "SP", "IP")
        };
        for s in samples {
            assert!(
                s.contains(&format!("regs_user={{abi=2,{first}=0x")),
                "pipe={pipe}: {s}"
            );
            assert!(
                s.contains(&format!(",{sp}=0x")) && s.contains(&format!(",{ip}=0x")),
                "{s}"
            );
            let st = s.split("stack_user={size=").nth(1).expect("stack_user");
            assert!(st.starts_with("2048,dyn_size="), "{s}");
        }
        let (ok, _, json, _) = dump(&["--json"], &file);
        assert!(ok);
        let s = json
            .lines()
            .find(|l| l.contains("\"type\":\"SAMPLE\""))
            .unwrap();
        assert!(
            s.contains(&format!("\"regs_user\":{{\"abi\":2,\"{first}\":\"0x")),
            "{s}"
        );
        assert!(
            s.contains("\"stack_user\":{\"size\":2048,\"dyn_size\":"),
            "{s}"
        );
        if pipe {
            continue;
        }
        // Register by register, as `perf script -D` dumps each sample (found by its file offset).
        let mut theirs: std::collections::HashMap<u64, Vec<(String, u64)>> = Default::default();
        for (off, lines) in perf_script_dump_samples(&file) {
            // `.... AX    0x00007f59e6241000`
            for r in lines.iter().filter_map(|l| l.strip_prefix(".... ")) {
                let mut w = r.split_whitespace();
                if let (Some(name), Some(v)) =
                    (w.next(), w.next().and_then(|v| v.strip_prefix("0x")))
                {
                    let v = u64::from_str_radix(v, 16).unwrap();
                    theirs.entry(off).or_default().push((name.to_string(), v));
                }
            }
        }
        let mut compared = 0;
        for l in json.lines().filter(|l| l.contains("\"type\":\"SAMPLE\"")) {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let off = v["offset"].as_u64().unwrap();
            let regs = v["regs_user"].as_object().unwrap();
            let ours: Vec<(String, u64)> = regs
                .iter()
                .filter(|(k, _)| *k != "abi")
                .map(|(k, x)| {
                    let h = x.as_str().unwrap().trim_start_matches("0x");
                    (k.clone(), u64::from_str_radix(h, 16).unwrap())
                })
                .collect();
            let mut want = theirs.get(&off).cloned().unwrap_or_default();
            let mut got = ours;
            want.sort();
            got.sort();
            assert_eq!(got, want, "registers at {off:#x}");
            compared += 1;
        }
        assert!(compared >= 10);
    }
}

#[test]
fn fuzz_regression_an_empty_compressed_record_inflates_to_the_records_around_it() {
    // fuzz/regressions/perf_data/crash-acdfdacf: a perf file whose data section holds a COMPRESSED
    // record with no payload. The records around it are read from the inflated copy (offsets past
    // the file's end, within the reader's buffer); the fuzz target once asserted they were in the file.
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/perf_data/crash-acdfdacf77b0233911aeda7029338ef48f165000");
    let bytes = std::fs::read(&file).unwrap();
    let f = premap_perfdata::PerfFile::from_bytes(bytes.clone()).unwrap();
    assert!(f.buffer_len() > bytes.len() as u64);
    let mut n = 0;
    for r in f.records() {
        let r = r.unwrap();
        assert!(r.offset + u64::from(r.header.size) <= f.buffer_len());
        n += 1;
    }
    assert!(n > 0);
    let (ok, _, text, err) = dump(&[], &file);
    assert!(ok, "{err}");
    assert!(text.contains("# SAMPLE: "), "{text}");
}

/// A perf.data file Linux perf recorded: every page fault of the touch workload over 100 pages.
fn perf_recorded_page_faults(name: &str) -> PathBuf {
    let file = scratch(name).join("perf.data");
    let out = record_touch(
        perf(),
        &["-q", "-e", "page-faults", "-c", "1"],
        &file,
        "100",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

#[test]
fn the_build_id_feature_lists_what_perf_buildid_list_lists() {
    let file = perf_recorded_page_faults("dump-buildid");
    let listed = run(perf().args(["buildid-list", "-i"]).arg(&file));
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let (ok, _, text, err) = dump(&[], &file);
    assert!(ok, "{err}");
    let line = text
        .lines()
        .find(|l| l.starts_with("# BUILD_ID: "))
        .expect("the BUILD_ID feature decoded");
    let mut n = 0;
    for l in listed.lines().filter(|l| !l.trim().is_empty()) {
        assert!(line.contains(l.trim()), "{l} missing from {line}");
        n += 1;
    }
    assert!(n >= 2, "{listed}");
    assert!(
        line.contains(&format!("# BUILD_ID: {n} entries: ")),
        "{line}"
    );
}

#[test]
fn read_records_show_their_times_ids_and_values() {
    // perf record -s: a READ record per exiting child with the counter's times, id and lost count.
    let dir = scratch("dump-read");
    let file = dir.join("s.data");
    let touch = touch_workload().to_str().unwrap();
    let out = run(perf()
        .args(["record", "-q", "-s", "-e", "page-faults", "-c", "1", "-o"])
        .arg(&file)
        .args(["--", "sh", "-c", &format!("{touch} 50; true")]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, _, text, err) = dump(&[], &file);
    assert!(ok, "{err}");
    let reads: Vec<&str> = text.lines().filter(|l| l.contains(" READ ")).collect();
    assert!(!reads.is_empty(), "no READ record");
    for r in reads {
        assert!(r.contains(" read={enabled="), "{r}");
        assert!(
            r.contains(",running=") && r.contains(",id=") && r.contains(",lost="),
            "{r}"
        );
    }
}

#[test]
fn topology_pmu_cache_and_sample_time_features_read_as_perf_report_header_reads_them() {
    let file = perf_recorded_page_faults("dump-features");
    let header = run(perf()
        .args(["report", "--header-only", "-I", "-i"])
        .arg(&file));
    let header = String::from_utf8_lossy(&header.stdout).into_owned();
    let perf_says = |key: &str| -> Vec<String> {
        header
            .lines()
            .filter_map(|l| l.strip_prefix("# ")?.strip_prefix(key))
            .map(|v| v.trim_start_matches([' ', ':']).trim().to_string())
            .collect()
    };
    let (ok, _, text, err) = dump(&[], &file);
    assert!(ok, "{err}");
    let ours = |feature: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("# {feature}: ")))
            .unwrap_or_else(|| panic!("{feature} not decoded:\n{text}"))
            .to_string()
    };
    // "# pmu mappings: software = 1, ..." is printed as is.
    assert_eq!(ours("PMU_MAPPINGS"), perf_says("pmu mappings")[0]);
    // Sample times in seconds with six decimals.
    let times = ours("SAMPLE_TIME");
    assert!(
        times.contains(&format!("first {}", perf_says("time of first sample")[0])),
        "{times}"
    );
    assert!(
        times.contains(&format!("last {}", perf_says("time of last sample")[0])),
        "{times}"
    );
    // Sibling lists: sockets, then one entry per thread list.
    let topo = ours("CPU_TOPOLOGY");
    assert!(
        topo.contains(&format!(
            "sibling sockets {}",
            perf_says("sibling sockets").join(", ")
        )),
        "{topo}"
    );
    assert!(
        topo.contains(&format!(
            "sibling threads {}",
            perf_says("sibling threads").join(", ")
        )),
        "{topo}"
    );
    // NUMA: "node0 meminfo  : total = T kB, free = F kB" and "node0 cpu list : 0-1".
    let numa = ours("NUMA_TOPOLOGY");
    let mem = &perf_says("node0 meminfo")[0];
    let total = mem
        .split("total = ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap();
    assert!(
        numa.starts_with(&format!("node0 total {total} kB")),
        "{numa} vs {mem}"
    );
    assert!(
        numa.ends_with(&format!("cpus {}", perf_says("node0 cpu list")[0])),
        "{numa}"
    );
    // Caches: perf's "L1 Data   32K [0]" lines, whitespace squeezed.
    let caches: Vec<String> = header
        .lines()
        .skip_while(|l| !l.starts_with("# CPU cache info:"))
        .skip(1)
        .take_while(|l| l.starts_with("#  "))
        .map(|l| l[1..].split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(!caches.is_empty(), "{header}");
    assert_eq!(ours("CACHE"), caches.join(", "));
}

/// The tracepoint part of each line `perf script` prints (after `system:name: `), sorted.
fn perf_script_trace_lines(file: &Path) -> Vec<String> {
    let out = run(perf().args(["script", "-i"]).arg(file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // `comm pid [cpu] time: system:name: fields`
            let i = l.find(": ")? + 2;
            let rest = &l[i..];
            let j = rest.find(": ")? + 2;
            Some(rest[j..].trim_end().to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn tracepoint_samples_print_as_perf_script_prints_them_in_file_and_pipe_mode() {
    let dir = scratch("dump-tracepoints");
    // Events whose print formats use ternaries and __print_flags (sched_switch), dynamic strings
    // (sched_process_exec), zero-padded numbers (sched_wakeup) and casts (sys_enter_openat).
    let events = [
        "sched:sched_switch",
        "sched:sched_process_exec",
        "sched:sched_wakeup",
        "syscalls:sys_enter_openat",
    ];
    for pipe in [false, true] {
        let file = dir.join(if pipe { "pipe.data" } else { "file.data" });
        let mut args = vec!["-q"];
        for e in events {
            args.extend(["-e", e]);
        }
        let sh = "cat /proc/self/stat >/dev/null; sleep 0.01; ls / >/dev/null";
        record_into(perf(), &args, &file, pipe, &["sh", "-c", sh]);
        let want = perf_script_trace_lines(&file);
        assert!(want.len() >= 6, "perf script printed {want:?}");
        let (ok, _, text, err) = dump(&[], &file);
        assert!(ok, "{err}");
        let mut got: Vec<String> = text
            .lines()
            .filter(|l| l.contains(" SAMPLE "))
            .map(|l| match l.split_once(" trace: ") {
                Some((_, t)) => t.to_string(),
                None => format!("(not decoded) {l}"),
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "pipe={pipe}");
        for e in ["sched:sched_switch", "sched:sched_process_exec"] {
            assert!(
                text.contains(&format!("event={e} ")),
                "no {e} sample in the dump"
            );
        }
        // JSON carries the same line and each field with its type.
        let (ok, _, json, _) = dump(&["--json"], &file);
        assert!(ok);
        // The workload's shell runs ls last: its exec is in the file whichever others are (sh's own
        // exec may come before the events are enabled), with the fields typed.
        let execs: Vec<serde_json::Value> = json
            .lines()
            .filter(|l| l.contains("\"event\":\"sched:sched_process_exec\",\"print\""))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ls = execs
            .iter()
            .map(|v| &v["trace"]["fields"])
            .find(|f| f["filename"].as_str().is_some_and(|n| n.ends_with("/ls")))
            .unwrap_or_else(|| panic!("no exec of ls among {execs:?}"));
        assert!(ls["pid"].is_i64() && ls["old_pid"].is_i64(), "{ls}");
    }
}

#[test]
fn memory_source_weight_and_page_sizes_read_as_perf_script_reads_them() {
    // -d (ADDR), DATA_SRC, -W (WEIGHT_STRUCT), --phys-data, --data-page-size, --code-page-size on a
    // software event: the kernel fills data_src with its "not available" value, which perf decodes.
    let file = scratch("dump-mem").join("perf.data");
    let out = record_touch(
        perf(),
        &[
            "-q",
            "-e",
            "page-faults",
            "-c",
            "1",
            "-d",
            "-W",
            "--phys-data",
            "--data-page-size",
            "--code-page-size",
        ],
        &file,
        "50",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = run(perf()
        .args(["script", "-F", "addr,data_src,weight", "-i"])
        .arg(&file));
    assert!(script.status.success());
    // `ADDR DATA_SRC |OP ...|BLK ... WEIGHT`
    let mut want: Vec<String> = String::from_utf8_lossy(&script.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (addr, rest) = l.split_once(char::is_whitespace)?;
            let (src, rest) = rest.trim_start().split_once(' ')?;
            let (mem, weight) = rest.trim_end().rsplit_once(char::is_whitespace)?;
            Some(format!("{addr} {src} {} {weight}", mem.trim_end()))
        })
        .collect();
    let (ok, _, json, err) = dump(&["--json"], &file);
    assert!(ok, "{err}");
    let mut got: Vec<String> = json
        .lines()
        .filter(|l| l.contains("\"type\":\"SAMPLE\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let hex = |k: &str| v[k].as_str().unwrap().trim_start_matches("0x").to_string();
            assert!(v["ins_lat"].is_u64() && v["p_stage_cyc"].is_u64(), "{l}");
            assert!(
                v["data_page_size"].is_u64() && v["code_page_size"].is_u64(),
                "{l}"
            );
            format!(
                "{} {} {} {}",
                hex("addr"),
                hex("data_src"),
                v["mem"].as_str().unwrap(),
                v["weight"]
            )
        })
        .collect();
    want.sort();
    got.sort();
    assert!(got.len() >= 50, "{} samples", got.len());
    assert_eq!(got, want);
}

#[test]
fn tracing_data_that_lies_about_its_sizes_is_reported_and_the_samples_still_dump() {
    let dir = scratch("dump-bad-tracing");
    let file = dir.join("tp.data");
    record_into(
        perf(),
        &["-q", "-e", "sched:sched_process_exec"],
        &file,
        false,
        &["sh", "-c", "ls / >/dev/null; ls / >/dev/null"],
    );
    let mut bytes = std::fs::read(&file).unwrap();
    let magic = b"\x17\x08Dtracing";
    let at = bytes
        .windows(magic.len())
        .position(|w| w == magic)
        .expect("a TRACING_DATA section");
    // header_page's size claims more than the whole file.
    let hp = at
        + bytes[at..]
            .windows(12)
            .position(|w| w == b"header_page\0")
            .unwrap()
        + 12;
    bytes[hp..hp + 8].copy_from_slice(&u64::MAX.to_ne_bytes());
    let bad = dir.join("bad.data");
    std::fs::write(&bad, &bytes).unwrap();
    let (ok, _, text, err) = dump(&[], &bad);
    assert!(ok, "{err}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("# TRACING_DATA:") && l.contains("not decoded")),
        "{text}"
    );
    let samples: Vec<&str> = text.lines().filter(|l| l.contains(" SAMPLE ")).collect();
    assert!(!samples.is_empty());
    assert!(samples
        .iter()
        .all(|l| !l.contains(" trace: ") && l.contains(" raw=")));
    // JSON says the same.
    let (ok, _, json, _) = dump(&["--json"], &bad);
    assert!(ok && json.contains("\"name\":\"TRACING_DATA\"") && json.contains("not decoded"));
}

/// A version 1 file (`PERFFILE`, the attrs of perf before 2.6.37: PERF_ATTR_SIZE_VER3 here), made from
/// a perf 6.1 recording: perf 6.1 still reads it, and premap's table equals perf's.
#[test]
fn a_perffile_v1_header_is_read_as_perf_reads_it() {
    let dir = scratch("v1");
    let mut b = std::fs::read(fixture("perf-touch8.data")).unwrap();
    let w =
        |b: &[u8], i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap()) as usize;
    let (attr_size, attrs, attrs_size) = (w(&b, 2), w(&b, 3), w(&b, 4));
    let mut packed = Vec::new();
    for i in 0..attrs_size / attr_size {
        let e = &b[attrs + i * attr_size..attrs + (i + 1) * attr_size];
        let mut attr = e[..96].to_vec();
        attr[4..8].copy_from_slice(&96u32.to_le_bytes());
        packed.extend_from_slice(&attr);
        packed.extend_from_slice(&e[attr_size - 16..]);
    }
    b[attrs..attrs + packed.len()].copy_from_slice(&packed);
    b[16..24].copy_from_slice(&112u64.to_le_bytes());
    b[32..40].copy_from_slice(&(packed.len() as u64).to_le_bytes());
    b[0..8].copy_from_slice(b"PERFFILE");
    let f = dir.join("v1.data");
    std::fs::write(&f, &b).unwrap();
    let theirs = perf_stats(&f);
    assert!(
        theirs.contains("Aggregated stats"),
        "perf did not read it: {theirs}"
    );
    let (ok, _, ours, err) = dump(&["--stats"], &f);
    assert!(ok, "{err}");
    assert_eq!(ours, theirs);
}

/// simpleperf writes TRACING_DATA with its data inside the record (the header's size counts it);
/// perf writes the data after the record. A perf pipe stream rewritten in simpleperf's layout dumps
/// the same tracepoint lines.
#[test]
fn simpleperf_s_tracing_data_inside_its_record_decodes_the_tracepoints() {
    let dir = scratch("simpleperf-tracing");
    let perf_file = dir.join("perf.pipe");
    record_into(
        perf(),
        &["-q", "-e", "sched:sched_process_exec"],
        &perf_file,
        true,
        &["/bin/true"],
    );
    let b = std::fs::read(&perf_file).unwrap();
    let mut out = b[..16].to_vec();
    let mut off = 16;
    let mut rewritten = false;
    while off + 8 <= b.len() {
        let ty = u32::from_ne_bytes(b[off..off + 4].try_into().unwrap());
        let size = u16::from_ne_bytes(b[off + 6..off + 8].try_into().unwrap()) as usize;
        if ty == 66 {
            let n = u32::from_ne_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
            let data = &b[off + size..off + size + n];
            let padded = n.div_ceil(64) * 64;
            let rec_size = 8 + 4 + padded;
            out.extend_from_slice(&66u32.to_ne_bytes());
            out.extend_from_slice(&b[off + 4..off + 6]);
            out.extend_from_slice(&u16::try_from(rec_size).unwrap().to_ne_bytes());
            out.extend_from_slice(&(n as u32).to_ne_bytes());
            out.extend_from_slice(data);
            out.resize(out.len() + padded - n, 0);
            off += size + n;
            rewritten = true;
            continue;
        }
        out.extend_from_slice(&b[off..off + size]);
        off += size;
    }
    assert!(rewritten, "perf wrote no TRACING_DATA record");
    let simpleperf_file = dir.join("simpleperf-layout.pipe");
    std::fs::write(&simpleperf_file, &out).unwrap();
    let traces = |f: &Path| -> Vec<String> {
        let (ok, _, text, err) = dump(&[], f);
        assert!(ok, "{}: {err}", f.display());
        text.lines()
            .filter_map(|l| l.split_once(" trace: ").map(|(_, t)| t.to_string()))
            .collect()
    };
    let want = traces(&perf_file);
    assert!(
        !want.is_empty(),
        "no tracepoint sample decoded from perf's own stream"
    );
    assert_eq!(traces(&simpleperf_file), want);
}

/// Files of the other byte order (perf's `needs_swap`): perf's and premap's recordings, file and pipe
/// mode, written in the other order by `premap_perfdata::swap::to_other_order` (every field swapped
/// as a machine of that order writes it), are read by perf 6.1 exactly as the originals (`perf
/// script` and `perf report --header-only` print the same), which judges the swap; premap dump reads
/// them back swapped on reading, printing the same as for the originals.
#[test]
fn files_of_the_other_byte_order_read_as_the_originals() {
    let dir = scratch("other-order");
    let touch = touch_workload().to_str().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let args = [
        "-e",
        "page-faults/period=1/",
        "-e",
        "cpu-clock/period=200000/",
        "-g",
        "-d",
    ];
    let script = |f: &Path| {
        let out = run(perf()
            .args(["script", "-F", "event,comm,pid,tid,time,ip,sym,addr", "-i"])
            .arg(f));
        assert!(
            out.status.success(),
            "perf script {f:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    let header = |f: &Path| {
        let out = run(perf().args(["report", "--header-only", "-i"]).arg(f));
        text(&out.stdout)
            .lines()
            // The file's own name and the time perf read it.
            .filter(|l| !l.starts_with("# captured on"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for (name, tool) in [("perf", perf as fn() -> Command), ("premap", premap)] {
        for pipe in [false, true] {
            let native = dir.join(format!("{name}-{pipe}.data"));
            record_into(tool(), &args, &native, pipe, &[touch, "400"]);
            let mut bytes = std::fs::read(&native).unwrap();
            let left = premap_perfdata::swap::to_other_order(&mut bytes).unwrap();
            assert!(
                left.is_empty(),
                "{name} pipe {pipe}: left as written: {left:?}"
            );
            assert_eq!(
                &bytes[..8],
                b"2ELIFREP",
                "the magic as a big-endian machine writes it"
            );
            let other = dir.join(format!("{name}-{pipe}-other-order.data"));
            std::fs::write(&other, &bytes).unwrap();

            let theirs = script(&native);
            assert!(theirs.lines().count() >= 400, "{theirs}");
            assert_eq!(script(&other), theirs, "{name} pipe {pipe}: perf script");
            if !pipe {
                assert_eq!(header(&other), header(&native), "{name}: perf's header");
            }
            let (ok, _, ours, err) = dump(&[], &native);
            assert!(ok, "{err}");
            let (ok, _, swapped, err) = dump(&[], &other);
            assert!(ok, "{name} pipe {pipe}: {err}");
            assert!(!err.contains("left as written"), "{err}");
            // Line by line after the first (which names the file).
            let diff = ours
                .lines()
                .zip(swapped.lines())
                .skip(1)
                .find(|(a, b)| a != b);
            assert_eq!(diff, None, "{name} pipe {pipe}: premap dump");
            assert_eq!(ours.lines().count(), swapped.lines().count());
            assert!(dumped_samples(&swapped) >= 400, "{name} pipe {pipe}");
            assert_eq!(dump(&["--stats"], &other).2, dump(&["--stats"], &native).2);
        }
    }
}

/// Counts that claim more than the file holds (every u32 word of the first 16 bytes of each feature
/// section, and the first words of the first records' bodies, set to all ones in turn): dump ends
/// with exit 0 or 1, in bounded time, its data capped by the file's size (linux-perf-data
/// allocated 4 GiB for a 7.9 KB file of this kind).
#[test]
fn huge_counts_cost_no_more_memory_than_the_file_holds() {
    let dir = scratch("huge-counts");
    let base = std::fs::read(fixture("perf-touch8.data")).unwrap();
    let file = premap_perfdata::PerfFile::from_bytes(base.clone()).unwrap();
    let mut spots: Vec<(usize, usize)> = Vec::new();
    for (_, off, bytes) in &file.features {
        for at in (0..bytes.len().min(16)).step_by(4) {
            spots.push((*off as usize + at, 4));
        }
    }
    for rec in file.records().take(40) {
        let rec = rec.unwrap();
        for at in (0..rec.body.len().min(32)).step_by(8) {
            spots.push((rec.offset as usize + 8 + at, 8));
        }
    }
    assert!(spots.len() > 100, "{}", spots.len());
    let f = dir.join("huge.data");
    for (at, width) in spots {
        let mut b = base.clone();
        b[at..at + width].fill(0xff);
        std::fs::write(&f, &b).unwrap();
        let out = premap_test_support::run_for(
            premap().arg("dump").arg(&f),
            std::time::Duration::from_secs(30),
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "all ones at {at:#x}: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let cap = memory_bound(&f);
        let code = run_with_data_cap(premap().arg("dump").arg(&f), cap);
        assert!(
            matches!(code, Some(0 | 1)),
            "all ones at {at:#x}: exit {code:?} with its data capped at {} KiB",
            cap >> 10
        );
    }
}
