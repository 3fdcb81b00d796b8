//! Waiting on many rings: an epoll set with timeouts that survives EINTR.

use crate::error::{Error, Result};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// What happened to a polled descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// The token given to [`Poller::add`].
    pub token: u64,
    /// Data is readable (the watermark was reached).
    pub readable: bool,
    /// The event's task exited or the device went away (`EPOLLHUP`/`EPOLLERR`).
    pub hangup: bool,
}

/// An epoll set.
#[derive(Debug)]
pub struct Poller {
    epfd: OwnedFd,
    /// The descriptors watched (numbers, as registered).
    fds: Vec<std::os::fd::RawFd>,
}

impl Poller {
    /// Creates an empty set.
    pub fn new() -> Result<Self> {
        // SAFETY: epoll_create1 takes no pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(Error::sys("epoll_create1"));
        }
        // SAFETY: the kernel just returned this descriptor; nothing else owns it.
        let epfd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self {
            epfd,
            fds: Vec::new(),
        })
    }

    /// Watches `fd` for readability, reporting it with `token`.
    pub fn add(&mut self, fd: BorrowedFd<'_>, token: u64) -> Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        let r = unsafe {
            libc::epoll_ctl(
                self.epfd.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut ev,
            )
        };
        if r < 0 {
            return Err(Error::sys("epoll_ctl"));
        }
        self.fds.push(fd.as_raw_fd());
        Ok(())
    }

    /// Stops watching `fd`.
    pub fn remove(&mut self, fd: BorrowedFd<'_>) -> Result<()> {
        // SAFETY: EPOLL_CTL_DEL ignores the event pointer; passing null is allowed since 2.6.9.
        let r = unsafe {
            libc::epoll_ctl(
                self.epfd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd.as_raw_fd(),
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(Error::sys("epoll_ctl"));
        }
        if let Some(i) = self.fds.iter().position(|&f| f == fd.as_raw_fd()) {
            self.fds.swap_remove(i);
        }
        Ok(())
    }

    /// Number of descriptors watched.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// Whether no descriptor is watched.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Waits until a descriptor is ready or `timeout` passes (`None` waits forever), retrying EINTR with
    /// the time that is left. Returns the ready descriptors (empty on timeout).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<Readiness>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let cap = self.fds.len().max(1);
        let mut out = vec![libc::epoll_event { events: 0, u64: 0 }; cap];
        loop {
            let ms = match deadline {
                None => -1,
                Some(d) => {
                    // Rounded up: a remainder under a millisecond still waits (a 0 would spin).
                    let left = d.saturating_duration_since(Instant::now());
                    i32::try_from(left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128))
                        .unwrap_or(i32::MAX)
                }
            };
            // SAFETY: `out` has room for `cap` events, and `cap` is what we tell the kernel.
            let n = unsafe {
                libc::epoll_wait(self.epfd.as_raw_fd(), out.as_mut_ptr(), cap as i32, ms)
            };
            if n >= 0 {
                let ready = out
                    .iter()
                    .take(n as usize)
                    .map(|e| {
                        let ev = e.events;
                        Readiness {
                            token: e.u64,
                            readable: ev & libc::EPOLLIN as u32 != 0,
                            hangup: ev & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0,
                        }
                    })
                    .collect();
                return Ok(ready);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::Sys {
                    call: "epoll_wait",
                    source: e,
                });
            }
        }
    }
}

/// The epoll descriptor itself: it is readable while any descriptor in the set is ready, so a set
/// can be waited on inside another event loop (an outer epoll, or tokio's `AsyncFd`).
impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epfd.as_fd()
    }
}
