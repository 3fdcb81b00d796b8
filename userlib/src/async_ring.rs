//! Reading rings from async code (feature `tokio`): [`AsyncRing`] waits for one ring's descriptor
//! and [`AsyncCpuRings`] for a per-CPU group's epoll set, with tokio's `AsyncFd`, and drain without
//! blocking a thread.

use crate::error::{Error, Result};
use crate::percpu::CpuRings;
use crate::ring::{Record, Ring};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;
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

/// Registers a duplicate of `fd` with tokio's reactor for readability.
fn register(fd: BorrowedFd<'_>) -> Result<AsyncFd<RingFd>> {
    let fd = fd.try_clone_to_owned().map_err(|source| Error::Sys {
        call: "dup",
        source,
    })?;
    // SAFETY: `RingFd` owns the descriptor, so it stays open and the same for as long as the
    // `AsyncFd` that owns the `RingFd` lives, and `as_raw_fd` always returns it.
    unsafe { AsyncFd::register_with_interest(RingFd(fd), Interest::READABLE) }.map_err(|e| {
        Error::Sys {
            call: "register with the tokio reactor",
            source: e.into_parts().1,
        }
    })
}

impl AsyncRing {
    /// Wraps a consume-mode ring: it waits on the ring's descriptor (a perf event's, `/dev/premap`'s,
    /// or a synthetic ring's eventfd).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled (as tokio's `AsyncFd` does).
    pub fn new(ring: Ring) -> Result<Self> {
        let fd = register(ring.fd())?;
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

/// A per-CPU group ([`CpuRings`]) read from async code: one wait covers every CPU's ring (tokio
/// watches the group's epoll descriptor, which is readable while any ring is).
///
/// ```no_run
/// # async fn f() -> Result<(), premap::Error> {
/// use premap::{AsyncCpuRings, CpuRings, Event, EventBuilder};
/// // Every context switch on the machine, woken every 64 per CPU.
/// let b = EventBuilder::new(Event::CONTEXT_SWITCHES).pid(-1).sample_period(1).wakeup_events(64);
/// let mut rings = AsyncCpuRings::new(CpuRings::open(&b, 8)?)?;
/// rings.rings().enable()?;
/// for _ in 0..10 {
///     rings.read(|cpu, rec| println!("cpu {cpu}: type {}", rec.header.r#type)).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AsyncCpuRings {
    rings: CpuRings,
    fd: AsyncFd<RingFd>,
}

impl AsyncCpuRings {
    /// Wraps a per-CPU group.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled (as tokio's `AsyncFd` does).
    pub fn new(mut rings: CpuRings) -> Result<Self> {
        let fd = register(rings.poller().as_fd())?;
        Ok(Self { rings, fd })
    }

    /// The group (to enable or disable it, read lost counts, drain it without waiting, or read in
    /// time order with [`CpuRings::drain_ordered`] after [`AsyncCpuRings::readable`]).
    pub fn rings(&mut self) -> &mut CpuRings {
        &mut self.rings
    }

    /// Gives the group back.
    pub fn into_inner(self) -> CpuRings {
        self.rings
    }

    /// Waits until some ring holds data, or every ring's event is gone (their tasks exited).
    pub async fn readable(&mut self) -> Result<()> {
        loop {
            if self.rings.readable()? > 0 {
                return Ok(());
            }
            let mut guard = self.fd.readable().await.map_err(|source| Error::Sys {
                call: "wait for the rings",
                source,
            })?;
            if self.rings.readable()? > 0 {
                return Ok(());
            }
            // Woken with nothing to read: look at what the set reports now. Hangups of every ring
            // end the wait (nothing more will come); otherwise the readiness was stale.
            let poller = self.rings.poller();
            let ready = poller.wait(Some(Duration::ZERO))?;
            if !poller.is_empty() && ready.iter().filter(|r| r.hangup).count() >= poller.len() {
                return Ok(());
            }
            guard.clear_ready();
        }
    }

    /// Waits as [`AsyncCpuRings::readable`], then drains every ring, handing each record to `f` with
    /// its CPU. Returns the number of records: 0 only when the events are gone and the rings empty.
    pub async fn read(&mut self, f: impl FnMut(i32, Record<'_>)) -> Result<u64> {
        self.readable().await?;
        self.rings.drain(f)
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
