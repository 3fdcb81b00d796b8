//! `premap::Workload` against the real kernel: the command is held before exec until started, events
//! opened on its pid with enable_on_exec count from its exec and nothing before, a command that
//! cannot run is a typed error, and no child is left behind.

use premap::{Error, Event, EventBuilder, Workload};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

/// Whether a process `pid` exists (a zombie counts).
fn exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn the_command_runs_only_once_started() {
    let dir = std::env::temp_dir().join(format!("premap-workload-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let script = format!("echo ran > {}", dir.display());
    let mut w = Workload::spawn(["sh", "-c", &script]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(!dir.exists(), "the command ran before start()");
    assert_eq!(w.try_wait().unwrap(), None, "the held child ended");
    w.start().unwrap();
    let status = w.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(std::fs::read_to_string(&dir).unwrap(), "ran\n");
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn exit_codes_and_signals_are_reported() {
    let mut w = Workload::spawn(["sh", "-c", "exit 3"]).unwrap();
    w.start().unwrap();
    assert_eq!(w.wait().unwrap().code(), Some(3));
    let mut w = Workload::spawn(["sleep", "30"]).unwrap();
    w.start().unwrap();
    let status = w.terminate().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
    // Waiting again gives the same status without another waitpid.
    assert_eq!(w.wait().unwrap(), status);
}

#[test]
fn a_command_that_cannot_run_is_a_typed_error() {
    let mut w = Workload::spawn(["/nonexistent/premap-no-such-program"]).unwrap();
    let pid = w.pid();
    match w.start() {
        Err(Error::Exec { program, source }) => {
            assert_eq!(program, "/nonexistent/premap-no-such-program");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{source}");
        }
        other => panic!("{other:?}"),
    }
    // Reaped by start().
    assert!(!exists(pid), "the failed child was left behind");
    let empty: [&str; 0] = [];
    assert!(matches!(Workload::spawn(empty), Err(Error::Exec { .. })));
    assert!(matches!(Workload::spawn(["a\0b"]), Err(Error::Exec { .. })));
}

#[test]
fn dropping_an_unstarted_workload_reaps_its_child() {
    let w = Workload::spawn(["true"]).unwrap();
    let pid = w.pid();
    assert!(exists(pid));
    drop(w);
    assert!(!exists(pid), "the held child outlived its Workload");
}

#[test]
fn events_with_enable_on_exec_count_from_the_exec() {
    let mut w = Workload::spawn(["true"]).unwrap();
    let ev = match EventBuilder::new(Event::TASK_CLOCK)
        .pid(w.pid())
        .enable_on_exec(true)
        .open()
    {
        Ok(ev) => ev,
        Err(e) => panic!("perf_event_open on the held child: {e}"),
    };
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        ev.read_counts().unwrap().value(),
        Some(0),
        "counted before exec"
    );
    w.start().unwrap();
    assert!(w.wait().unwrap().success());
    let ns = ev.read_counts().unwrap().value().unwrap();
    assert!(ns > 0, "task-clock of `true` after exec: {ns}");
}
