//! Test helpers shared by premap's crates (dev-only): scratch folders, commands run with a time limit
//! (a hang fails the test instead of stalling the run), the C workload in `workloads/`, and children
//! held on a pipe until the test lets them run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A fresh scratch directory `premap-<crate>-<pid>-<name>` under the temporary directory.
pub fn scratch(krate: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("premap-{krate}-{}-{name}", std::process::id()));
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

/// A forked child that waits for `go()` and then runs a workload made only of async-signal-safe calls.
pub struct HeldChild {
    /// The child's pid.
    pub pid: i32,
    go: i32,
    phase: i32,
}

/// The child's side of the phase handshake: tells the parent a phase is done and waits for its go.
pub struct Phase {
    done: i32,
    go: i32,
}

impl Phase {
    /// Reports the end of a phase to the parent, then waits for its next `go`.
    pub fn done_then_wait(&self) {
        let mut b = 0u8;
        // SAFETY: plain syscalls on valid one-byte buffers.
        unsafe {
            libc::write(self.done, b"d".as_ptr().cast(), 1);
            libc::read(self.go, (&mut b as *mut u8).cast(), 1);
        }
    }
}

impl HeldChild {
    /// Forks a child that runs `work` once the parent calls [`HeldChild::go`].
    pub fn spawn(work: fn()) -> HeldChild {
        Self::spawn_phased(move |_| work())
    }

    /// As [`HeldChild::spawn`], with `work` able to stop between phases ([`Phase::done_then_wait`]).
    pub fn spawn_phased(work: impl FnOnce(&Phase)) -> HeldChild {
        let mut fds = [0i32; 2];
        let mut back = [0i32; 2];
        // SAFETY: each array has room for two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: as above.
        assert_eq!(unsafe { libc::pipe(back.as_mut_ptr()) }, 0);
        // SAFETY: the child runs only read, mmap, memory writes, fork/exec/wait and _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let mut b = 0u8;
            // SAFETY: plain syscalls in the child.
            unsafe {
                libc::close(fds[1]);
                libc::read(fds[0], (&mut b as *mut u8).cast(), 1);
            }
            work(&Phase {
                done: back[1],
                go: fds[0],
            });
            // SAFETY: leaving the child without running the parent's destructors.
            unsafe { libc::_exit(0) };
        }
        // SAFETY: closing our copies of the child's ends.
        unsafe {
            libc::close(fds[0]);
            libc::close(back[1]);
        }
        HeldChild {
            pid,
            go: fds[1],
            phase: back[0],
        }
    }

    /// Waits until the child reports the end of a phase.
    pub fn wait_phase(&self) {
        let mut b = 0u8;
        // SAFETY: reads one byte into a valid buffer.
        let n = unsafe { libc::read(self.phase, (&mut b as *mut u8).cast(), 1) };
        assert_eq!(n, 1);
    }

    /// Lets the child run (its work, or its next phase).
    pub fn go(&self) {
        // SAFETY: writes one byte from a valid buffer.
        assert_eq!(unsafe { libc::write(self.go, b"g".as_ptr().cast(), 1) }, 1);
    }

    /// Reaps the child; panics unless it exited with 0.
    pub fn wait(&self) {
        let mut status = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child failed: {status}"
        );
    }
}

impl Drop for HeldChild {
    fn drop(&mut self) {
        // SAFETY: closing our pipe ends; reaping is done by wait().
        unsafe {
            libc::close(self.go);
            libc::close(self.phase);
        }
    }
}

/// Runs `f` in a forked child as uid/gid 65534 (nobody) and returns its exit status (`f`'s value).
pub fn as_nobody(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork; the child runs `f` (callers run one test thread at a time) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: dropping privileges in the child, then leaving without running the parent's handlers.
        unsafe {
            if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                libc::_exit(100);
            }
            libc::_exit(f());
        }
    }
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status),
        "the child died: status {status:#x}"
    );
    libc::WEXITSTATUS(status)
}
