//! The workload of `premap record CMD`: forked and held before exec until the events are set up (as
//! perf's evlist__prepare_workload), then started; its exit status becomes premap's.

use super::RecordError;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

/// A workload forked and held before exec until recording is set up.
pub struct Workload {
    /// Its pid.
    pub pid: i32,
    go: OwnedFd,
    err: OwnedFd,
}

/// How the workload ended, as a shell reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

impl Status {
    /// The exit code a shell shows for it: the code, or 128 + the signal.
    pub fn code(self) -> u8 {
        match self {
            Status::Exited(c) => c as u8,
            Status::Signaled(s) => (128 + s) as u8,
        }
    }

    fn of(ws: nix::sys::wait::WaitStatus) -> Option<Self> {
        match ws {
            nix::sys::wait::WaitStatus::Exited(_, c) => Some(Status::Exited(c)),
            nix::sys::wait::WaitStatus::Signaled(_, s, _) => Some(Status::Signaled(s as i32)),
            _ => None,
        }
    }
}

/// Finds `prog` as execvp would (a name with a slash as is, else in $PATH), to refuse a command that
/// cannot run before anything is opened or created.
pub fn resolve(prog: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if prog.contains('/') {
        let p = std::path::PathBuf::from(prog);
        return runnable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| runnable(p))
}

impl Workload {
    /// Forks the workload; it waits for [`Workload::start`] before exec.
    pub fn spawn(argv: &[String]) -> Result<Self, RecordError> {
        let args: Vec<CString> = argv
            .iter()
            .map(|a| {
                CString::new(a.as_bytes())
                    .map_err(|_| RecordError::Workload(format!("argument {a:?} contains NUL")))
            })
            .collect::<Result<_, _>>()?;
        let prog = args
            .first()
            .cloned()
            .ok_or_else(|| RecordError::Workload("no command given".into()))?;
        let (go_r, go_w) = nix::unistd::pipe().map_err(|source| RecordError::Sys {
            call: "pipe",
            source,
        })?;
        let (err_r, err_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|source| {
                RecordError::Sys {
                    call: "pipe",
                    source,
                }
            })?;
        // SAFETY: the child calls only async-signal-safe functions (read, execvp, write, _exit) on data
        // prepared before the fork.
        match unsafe { nix::unistd::fork() }.map_err(|source| RecordError::Sys {
            call: "fork",
            source,
        })? {
            nix::unistd::ForkResult::Child => {
                drop(go_w);
                drop(err_r);
                let mut b = [0u8; 1];
                let _ = nix::unistd::read(go_r.as_raw_fd(), &mut b);
                if b[0] == b'g' {
                    let e = nix::unistd::execvp(&prog, &args)
                        .err()
                        .map_or(0, |e| e as i32);
                    let _ = nix::unistd::write(&err_w, &e.to_ne_bytes());
                }
                // SAFETY: leaving the child without running the parent's destructors.
                unsafe { libc::_exit(127) };
            }
            nix::unistd::ForkResult::Parent { child } => Ok(Workload {
                pid: child.as_raw(),
                go: go_w,
                err: err_r,
            }),
        }
    }

    /// Lets the workload exec; fails (reaping it) when exec failed.
    pub fn start(self) -> Result<i32, RecordError> {
        let Workload { pid, go, err } = self;
        nix::unistd::write(&go, b"g").map_err(|source| RecordError::Sys {
            call: "starting workload",
            source,
        })?;
        drop(go);
        let mut b = [0u8; 4];
        match nix::unistd::read(err.as_raw_fd(), &mut b) {
            Ok(4) => {
                let errno = i32::from_ne_bytes(b);
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                Err(RecordError::Workload(format!(
                    "cannot run the workload: {}",
                    std::io::Error::from_raw_os_error(errno)
                )))
            }
            _ => Ok(pid),
        }
    }

    /// Makes the held child exit without running anything.
    pub fn abort(self) {
        // Closing `go` without writing makes the child exit.
        let pid = self.pid;
        drop(self);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    }
}

/// Whether the started workload `pid` has ended; its status when it has (reaped).
pub fn poll_exit(pid: i32) -> Option<Status> {
    match nix::sys::wait::waitpid(
        nix::unistd::Pid::from_raw(pid),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    ) {
        Ok(nix::sys::wait::WaitStatus::StillAlive) => None,
        Ok(ws) => Status::of(ws).or(Some(Status::Exited(0))),
        Err(_) => Some(Status::Exited(0)),
    }
}

/// Ends a workload still running when recording stops (SIGTERM, as perf does) and returns its status.
pub fn terminate(pid: i32) -> Option<Status> {
    let p = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGTERM);
    nix::sys::wait::waitpid(p, None).ok().and_then(Status::of)
}
