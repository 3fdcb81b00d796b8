//! The library's error type: what went wrong and, for errors from the kernel, what to do about it.

use crate::mode::Mode;
use premap_abi::ParseError;
use std::fmt;
use std::io;

/// Errors from opening events, mapping rings and reading them.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `perf_event_open` was refused for lack of privilege.
    PermissionDenied {
        /// `/proc/sys/kernel/perf_event_paranoid`, when readable.
        paranoid: Option<i32>,
        /// The errno (EACCES or EPERM).
        source: io::Error,
    },
    /// This machine has no such event (ENOENT/EOPNOTSUPP/ENODEV), e.g. hardware counters in a VM.
    EventNotSupported {
        /// Which event.
        event: String,
        /// The errno.
        source: io::Error,
    },
    /// The kernel rejected the attr (EINVAL/E2BIG): a combination this kernel does not support.
    InvalidConfig {
        /// What was being opened.
        what: String,
        /// The errno.
        source: io::Error,
    },
    /// The process to monitor does not exist (ESRCH).
    NoSuchProcess {
        /// The pid.
        pid: i32,
    },
    /// A [`crate::Workload`]'s command could not be run (exec failed, or the command line was empty or
    /// held a NUL byte).
    Exec {
        /// `argv[0]`.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// Any other system call failure.
    Sys {
        /// The call that failed.
        call: &'static str,
        /// The errno.
        source: io::Error,
    },
    /// The ring's shared memory holds something impossible (a corrupt or hostile producer).
    Corrupt(ParseError),
    /// A ring was asked for with a data area that is not a power of two pages (1, 2, 4, ...) or does
    /// not fit the address space.
    RingSize {
        /// The data pages asked for.
        data_pages: usize,
    },
    /// A mapping too small to hold a control page (or a file offset mmap cannot take).
    MappingTooSmall {
        /// Its length in bytes.
        len: usize,
    },
    /// The path given as the premap device is not a character device.
    NotADevice(std::path::PathBuf),
    /// A ring of one mode was asked for where the buffer has the other: `PerfEvent::ring` on an
    /// event opened with `write_backward` (use `overwrite_ring`), `Device::ring` on a buffer created
    /// with `CREATE_OVERWRITE` (and the reverse). The reads themselves are checked at compile time:
    /// `Ring<Consume>` has `batch`, `drain`, `discard` and `write_to`, `Ring<Overwrite>` has `newest`.
    WrongMode {
        /// The call refused.
        call: &'static str,
        /// The mode the buffer (or the event's attr) has.
        mode: Mode,
    },
    /// The event's output goes to another event's ring (`set_output`): that ring is the one to read.
    /// (Mapping this event would map the other buffer a second time on kernels before 6.19.)
    Redirected,
    /// The kernel refused `perf_event_attr.size` (E2BIG) and wrote back the size it knows.
    AttrSize {
        /// The size the builder sent.
        sent: u32,
        /// The size the kernel wrote back (`sizeof(struct perf_event_attr)` in that kernel).
        kernel: u32,
    },
    /// The kernel refuses to map this event's ring (perf_mmap's EINVAL), for the reason given.
    NotMappable(&'static str),
    /// The buffer already has a consumer (a live [`crate::Ring`]): a ring has exactly one, or the
    /// producer could overwrite records it is reading. Also: `set_output` on an event whose ring is
    /// mapped.
    AlreadyMapped,
    /// Writing a ring to a file failed after `written` bytes (which were written and consumed).
    Write {
        /// Bytes written and consumed before the failure.
        written: u64,
        /// The errno.
        source: io::Error,
    },
}

impl Error {
    pub(crate) fn sys(call: &'static str) -> Self {
        Error::Sys {
            call,
            source: io::Error::last_os_error(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::PermissionDenied { paranoid, source } => {
                write!(f, "perf_event_open refused ({source})")?;
                match paranoid {
                    Some(p) => write!(
                        f,
                        ": kernel.perf_event_paranoid is {p}; run as root, grant CAP_PERFMON, or lower it \
                         with `sysctl kernel.perf_event_paranoid=1` (2 allows user-space-only profiling of \
                         your own processes; add exclude_kernel)"
                    ),
                    None => write!(f, ": run as root or grant CAP_PERFMON"),
                }
            }
            Error::EventNotSupported { event, source } => write!(
                f,
                "event {event} is not available on this machine ({source}); hardware events are often \
                 missing in virtual machines: try a software event such as cpu-clock"
            ),
            Error::InvalidConfig { what, source } => write!(
                f,
                "the kernel rejected the configuration of {what} ({source}); drop options this kernel \
                 does not support"
            ),
            Error::NoSuchProcess { pid } => write!(f, "no process with pid {pid}"),
            Error::Exec { program, source } => {
                write!(f, "cannot run the command {program:?}: {source}")
            }
            Error::Sys { call, source } => write!(f, "{call} failed: {source}"),
            Error::Corrupt(e) => write!(f, "corrupt ring: {e}"),
            Error::RingSize { data_pages } => write!(
                f,
                "invalid ring size: {data_pages} data pages (a power of two: 1, 2, 4, ...)"
            ),
            Error::MappingTooSmall { len } => {
                write!(f, "a mapping of {len} bytes cannot hold a ring")
            }
            Error::NotADevice(path) => {
                write!(f, "{} is not a character device", path.display())
            }
            Error::WrongMode { call, mode } => {
                let hint = match mode {
                    Mode::Consume => "map it with ring(); overwrite_ring() needs write_backward",
                    Mode::Overwrite => "map it with overwrite_ring() and read it with newest()",
                };
                write!(f, "{call}: the buffer is in {mode:?} mode ({hint})")
            }
            Error::Redirected => write!(
                f,
                "this event's output was redirected with set_output: read the target event's ring"
            ),
            Error::AttrSize { sent, kernel } => write!(
                f,
                "the kernel refused perf_event_attr.size {sent} (E2BIG): it knows {kernel} bytes; \
                 set EventBuilder::attr_size({kernel}) or drop the fields it does not know"
            ),
            Error::NotMappable(why) => write!(f, "this event's ring cannot be mapped: {why}"),
            Error::AlreadyMapped => write!(
                f,
                "the buffer is already read by a live Ring: a ring has one consumer (drop it first)"
            ),
            Error::Write { written, source } => {
                write!(f, "write failed after {written} bytes: {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::PermissionDenied { source, .. }
            | Error::EventNotSupported { source, .. }
            | Error::InvalidConfig { source, .. }
            | Error::Sys { source, .. }
            | Error::Exec { source, .. }
            | Error::Write { source, .. } => Some(source),
            Error::Corrupt(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::Corrupt(e)
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
