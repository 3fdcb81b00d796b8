//! Helpers shared by the tools tests: the premap binary, the C workload, perf.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The premap binary under test.
pub fn premap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_premap"))
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("premap-tools-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The touch-N-pages workload, compiled once with the system C compiler.
pub fn touch_workload() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("premap-touch-{}", std::process::id()));
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/touch.c");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = Command::new(cc)
            .args(["-O1", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("run cc");
        assert!(st.success(), "compiling the workload failed");
        out
    })
}

/// Runs a command with a 120 s limit, returning its output; panics if it cannot start or hangs
/// (after killing it), so a hang is a failure, never a stuck test run.
pub fn run(cmd: &mut Command) -> Output {
    run_for(cmd, std::time::Duration::from_secs(120))
}

/// Runs a command with a time limit.
pub fn run_for(cmd: &mut Command, limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if rx.recv_timeout(limit).is_err() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    let hung = tx.send(()).is_err();
    assert!(
        !hung,
        "{cmd:?} did not finish within {limit:?} and was killed"
    );
    out
}

/// Linux perf, the judge of perf.data files.
pub fn perf() -> Command {
    Command::new("perf")
}

/// `perf report --stats`: the SAMPLE count of the file, with perf's stderr.
pub fn perf_sample_count(file: &Path) -> (u64, String) {
    let out = run(perf().args(["report", "--stats", "-i"]).arg(file));
    assert!(
        out.status.success(),
        "perf report --stats failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let n = text
        .lines()
        .find(|l| l.trim_start().starts_with("SAMPLE events:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (n, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The "N samples" premap record reported on stderr.
pub fn premap_reported_samples(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("[ premap record:"))
        .expect("summary line");
    let i = line.find(" samples)").expect("samples in summary");
    line[..i]
        .rsplit('(')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The judgement every recording gets: premap succeeded, `perf report --stats` reads the file without a
/// word on stderr, and perf counts exactly the samples premap said it wrote. Returns that count.
pub fn judged_by_perf(out: &Output, file: &Path) -> u64 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "premap record failed: {stderr}");
    let written = premap_reported_samples(&stderr);
    let (counted, perf_err) = perf_sample_count(file);
    assert_eq!(perf_err.trim(), "", "perf report complained");
    assert_eq!(counted, written, "perf counts what premap wrote");
    written
}

/// `TOOL record ARGS -o OUT <touch workload> PAGES` (TOOL premap or perf), run with the time limit.
pub fn record_touch(mut tool: Command, args: &[&str], out: &Path, pages: &str) -> Output {
    run(tool
        .arg("record")
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(touch_workload())
        .arg(pages))
}
