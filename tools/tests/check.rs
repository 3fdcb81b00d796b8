//! `premap check --perf` against this machine's kernel, which maps perf rings in advance (6.14+): every
//! behaviour of the conformance list that applies to perf must pass.

mod common;
use common::*;

#[test]
fn the_host_kernel_perf_rings_pass_the_conformance_list() {
    let out = run(premap().args(["check", "--perf"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "premap check --perf failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().filter(|l| l.starts_with("PASS")).count() >= 12,
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("FAIL")));
    assert!(text.contains("# first-touch page faults after mmap of 17 pages: 0"));
}

#[test]
fn check_on_a_missing_device_says_the_device_is_absent_and_fails() {
    let out = run(premap().args(["check", "--device", "/nonexistent/premap"]));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("/nonexistent/premap does not exist: load the driver first"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("FAIL")), "{text}");
    assert!(!text.contains("page faults: -1"), "{text}");
}
