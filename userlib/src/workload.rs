//! [`Workload`]: a command started under events that count it from its first instruction, as
//! `perf record CMD` and `perf stat CMD` start theirs (perf's `evlist__prepare_workload`).
//!
//! The command is forked and held before `exec` until [`Workload::start`]: open the events on its pid
//! (or per CPU with `inherit`) with [`crate::EventBuilder::enable_on_exec`], map their rings, then start
//! it; the events switch on when it execs, so nothing of the parent's or of the fork is counted.
//! (`std::process::Command` cannot do this: `spawn` returns only after the child has exec'd, so a
//! `pre_exec` hook that waits for the parent deadlocks.)
//!
//! ```no_run
//! use premap::{Event, EventBuilder, Workload};
//!
//! let mut child = Workload::spawn(["ls", "-l", "/"])?;
//! let ev = EventBuilder::new(Event::PAGE_FAULTS)
//!     .pid(child.pid())
//!     .sample_period(1)
//!     .exclude_kernel(true)
//!     .enable_on_exec(true)
//!     .open()?;
//! let mut ring = ev.ring(8)?;
//! child.start()?; // exec: the event counts from here
//! let status = child.wait()?;
//! let faults = ring.drain(|_record| {})?;
//! println!("{faults} records; ls exited with {status}");
//! # Ok::<(), premap::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::sys;
use std::ffi::{CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// A command forked and held before `exec` (see the [module](self) documentation).
///
/// Dropping a workload that was never started makes the held child exit without running anything
/// (and reaps it); dropping a started one leaves it running, as dropping a `std::process::Child`
/// does.
#[derive(Debug)]
pub struct Workload {
    pid: i32,
    /// `argv[0]`, for errors.
    program: String,
    /// The parent's end of the pipe the child waits on; `None` once started.
    go: Option<OwnedFd>,
    /// The parent's end of the pipe the child reports a failed exec on.
    err: Option<OwnedFd>,
    /// Set once the child has been reaped.
    status: Option<ExitStatus>,
}

fn sys_err(call: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Sys { call, source }
}

impl Workload {
    /// Forks `argv[0]` (found in `$PATH` as `execvp` finds it) with `argv`, held before exec. An
    /// empty `argv` or an argument with a NUL byte is [`Error::Exec`] with `InvalidInput`; a program
    /// that cannot be run is reported by [`Workload::start`].
    pub fn spawn<I, S>(argv: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<CString> = argv
            .into_iter()
            .map(|a| CString::new(a.as_ref().as_bytes()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Exec {
                program: String::new(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "an argument contains a NUL byte",
                ),
            })?;
        let Some(program) = args.first() else {
            return Err(Error::Exec {
                program: String::new(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command given"),
            });
        };
        let program = program.to_string_lossy().into_owned();
        let (go_r, go_w) = sys::pipe_cloexec().map_err(sys_err("pipe2"))?;
        let (err_r, err_w) = sys::pipe_cloexec().map_err(sys_err("pipe2"))?;
        let pid = sys::fork_held(&args, &go_r, &go_w, &err_r, &err_w).map_err(sys_err("fork"))?;
        // The child's ends close here, in the parent: the child holds its own copies.
        drop((go_r, err_w));
        Ok(Self {
            pid,
            program,
            go: Some(go_w),
            err: Some(err_r),
            status: None,
        })
    }

    /// The child's pid: open events on it before [`Workload::start`].
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lets the child exec. When exec fails (no such program, not executable) the child is reaped and
    /// the error is [`Error::Exec`]. Starting twice does nothing the second time.
    pub fn start(&mut self) -> Result<()> {
        let Some(go) = self.go.take() else {
            return Ok(());
        };
        let wrote = sys::write_all(&go, b"g").map_err(sys_err("write(workload start)"));
        drop(go);
        if let Err(e) = wrote {
            // The start pipe is closed unwritten: the held child exits without running anything.
            // Reap it here, since Drop only reaps a workload whose pipe is still held.
            let _ = self.wait();
            return Err(e);
        }
        let Some(err) = self.err.take() else {
            return Ok(());
        };
        let mut b = [0u8; 4];
        // EOF (0 bytes): the pipe closed at exec, which succeeded.
        let n = sys::read_full(&err, &mut b).map_err(sys_err("read(workload exec status)"))?;
        if n == b.len() {
            let source = std::io::Error::from_raw_os_error(i32::from_ne_bytes(b));
            let _ = self.wait();
            return Err(Error::Exec {
                program: self.program.clone(),
                source,
            });
        }
        Ok(())
    }

    /// The exit status, if the child has ended (reaped); `None` while it runs.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            let s = sys::waitpid(self.pid, true).map_err(sys_err("waitpid"))?;
            self.status = s.map(ExitStatus::from_raw);
        }
        Ok(self.status)
    }

    /// Waits for the child to end. A child never started ends without running anything (status
    /// 127).
    pub fn wait(&mut self) -> Result<ExitStatus> {
        // Closing the start pipe unstarted makes the held child exit.
        self.go = None;
        if let Some(s) = self.status {
            return Ok(s);
        }
        let s = sys::waitpid(self.pid, false).map_err(sys_err("waitpid"))?;
        let s = ExitStatus::from_raw(s.unwrap_or(0));
        self.status = Some(s);
        Ok(s)
    }

    /// Ends the child with SIGTERM (as perf does with a workload still running when recording stops)
    /// and waits for it.
    pub fn terminate(&mut self) -> Result<ExitStatus> {
        if self.try_wait()?.is_none() {
            // ESRCH: it ended meanwhile; the wait below reaps it.
            let _ = sys::kill(self.pid, libc::SIGTERM);
        }
        self.wait()
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        if self.go.is_some() && self.status.is_none() {
            let _ = self.wait();
        }
    }
}
