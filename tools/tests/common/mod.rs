//! Helpers shared by the tools tests: the premap binary, the C workload, perf.

#![allow(dead_code)]

#[allow(unused_imports)] // each test binary uses some of them
pub use premap_test_support::{run, touch_workload};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The premap binary under test.
pub fn premap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_premap"))
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    premap_test_support::scratch("tools", name)
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

/// Runs `cmd` (output discarded) with its data (heap and private memory: RLIMIT_DATA) capped at
/// `cap` bytes; returns its exit code, `None` when a signal ended it (an allocation over the cap
/// aborts). A cap is what can be asserted: the peak resident size a parent reads back (wait4) starts
/// from the parent's own size, since the child shares or copies it until exec.
pub fn run_with_data_cap(cmd: &mut std::process::Command, cap: u64) -> Option<i32> {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let lim = libc::rlimit {
        rlim_cur: cap,
        rlim_max: cap,
    };
    // SAFETY: the hook runs in the child between fork and exec and calls only setrlimit, which is
    // async-signal-safe, with a pointer to a copy of a local.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_DATA, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = premap_test_support::run_for(
        cmd.stdout(Stdio::null()).stderr(Stdio::null()),
        std::time::Duration::from_secs(60),
    );
    out.status.code()
}

/// What `premap dump` may hold for a file, in bytes: the process's own baseline plus a few times what
/// the file holds (its bytes, or its inflated data for `perf record -z` files).
pub fn memory_bound(file: &std::path::Path) -> u64 {
    let holds = premap_perfdata::PerfFile::open(file)
        .map(|p| p.buffer_len())
        .unwrap_or(0)
        .max(std::fs::metadata(file).map_or(0, |m| m.len()));
    (16 << 20) + 4 * holds
}
