//! Reading a ring from async code (feature `tokio`): [`AsyncRing`] waits for the ring's descriptor
//! with tokio's `AsyncFd` (epoll, as [`crate::Poller`] does) and drains without blocking a thread.

use crate::error::{Error, Result};
use crate::ring::{Record, Ring};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The ring's descriptor, duplicated, as tokio's reactor watches it.
#[derive(Debug)]
struct RingFd(OwnedFd);

impl AsRawFd for RingFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// A consume-mode [`Ring`] read from async code.
///
/// ```no_run
/// # async fn f() -> Result<(), premap::Error> {
/// use premap::{AsyncRing, Event, EventBuilder};
/// let ev = EventBuilder::new(Event::PAGE_FAULTS).sample_period(1).wakeup_events(1).open()?;
/// let mut ring = AsyncRing::new(ev.ring(8)?)?;
/// ev.enable()?;
/// loop {
///     let n = ring.drain(|rec| println!("type {}", rec.header.r#type)).await?;
///     if n == 0 { break; }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AsyncRing {
    ring: Ring,
    fd: AsyncFd<RingFd>,
}

impl AsyncRing {
    /// Wraps a ring that was mapped from a descriptor (a perf event's or `/dev/premap`'s).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled (as tokio's `AsyncFd` does).
    pub fn new(ring: Ring) -> Result<Self> {
        let fd = ring
            .fd()
            .ok_or_else(|| Error::BadRingSize("this ring has no descriptor to wait on".into()))?
            .try_clone_to_owned()
            .map_err(|source| Error::Sys {
                call: "dup",
                source,
            })?;
        // SAFETY: `RingFd` owns the descriptor, so it stays open and the same for as long as the
        // `AsyncFd` that owns the `RingFd` lives, and `as_raw_fd` always returns it.
        let fd = unsafe { AsyncFd::register_with_interest(RingFd(fd), Interest::READABLE) }
            .map_err(|e| Error::Sys {
                call: "register with the tokio reactor",
                source: e.into_parts().1,
            })?;
        Ok(Self { ring, fd })
    }

    /// The ring (to read its stats, or drain it without waiting).
    pub fn ring(&mut self) -> &mut Ring {
        &mut self.ring
    }

    /// Waits until the ring holds data (the kernel wakes the descriptor at the watermark set by
    /// `wakeup_events`/`wakeup_watermark`) or its event is gone (the task exited: `EPOLLHUP`).
    pub async fn readable(&mut self) -> Result<()> {
        loop {
            if self.ring.readable()? > 0 {
                return Ok(());
            }
            let mut guard = self.fd.readable().await.map_err(|source| Error::Sys {
                call: "wait for the ring",
                source,
            })?;
            if self.ring.readable()? > 0 {
                return Ok(());
            }
            // Woken with nothing to read: a hangup (the event's task exited) ends the wait too, or
            // the readiness was stale; look at the descriptor once more before sleeping again.
            if hung_up(guard.get_inner().as_raw_fd()) {
                return Ok(());
            }
            guard.clear_ready();
        }
    }

    /// Waits for data as [`AsyncRing::readable`], then drains what is there, handing each record to
    /// `f`. Returns the number of records: 0 only when the event is gone and the ring empty.
    pub async fn drain(&mut self, f: impl FnMut(Record<'_>)) -> Result<u64> {
        self.readable().await?;
        self.ring.drain(f)
    }
}

/// Whether `fd` reports a hangup or an error now (a zero-timeout poll).
fn hung_up(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLHUP | libc::POLLERR) != 0
}
