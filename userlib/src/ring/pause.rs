//! Holding an overwrite ring's producer off while the reader copies the newest records: the kernel's
//! `PERF_EVENT_IOC_PAUSE_OUTPUT` for a perf event or the premap driver, a shared flag for the synthetic
//! producer (which honours it as the kernel does, dropping records while paused).
//!
//! The pause is held only inside [`super::Ring::newest`], never across user code: what a
//! [`super::NewestBatch`] hands out is a copy, so nothing a caller does (resuming output itself,
//! forgetting the batch) can let the producer write under a live borrow or leave the ring paused.

use crate::error::{Error, Result};
use crate::sys;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// The pause flag between a synthetic producer and its reader.
#[derive(Debug, Default)]
pub(crate) struct Pause(AtomicU8);

const IDLE: u8 = 0;
const WRITING: u8 = 1;
const PAUSED: u8 = 2;

impl Pause {
    /// Pauses the producer, waiting for a write in progress to finish (a write is bounded: one
    /// record's copy).
    pub(crate) fn pause(&self) {
        while self
            .0
            .compare_exchange(IDLE, PAUSED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
    }

    /// Resumes the producer.
    pub(crate) fn resume(&self) {
        self.0.store(IDLE, Ordering::Release);
    }

    /// The producer's side: begins a write, or returns `false` while the reader holds the pause.
    pub(crate) fn begin_write(&self) -> bool {
        self.0
            .compare_exchange(IDLE, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// The producer's side: ends a write begun with [`Pause::begin_write`].
    pub(crate) fn end_write(&self) {
        self.0.store(IDLE, Ordering::Release);
    }
}

/// How a ring pauses its producer.
#[derive(Debug)]
pub(crate) enum Pauser {
    /// `PERF_EVENT_IOC_PAUSE_OUTPUT` on the ring's descriptor (perf events and `/dev/premap`).
    Ioctl,
    /// The flag shared with a synthetic producer.
    Shared(Arc<Pause>),
    /// Nothing to pause (a consume-mode ring).
    None,
}

impl Pauser {
    /// Pauses (`true`) or resumes output. `fd` is the ring's descriptor.
    pub(crate) fn set(&self, fd: BorrowedFd<'_>, pause: bool) -> Result<()> {
        match self {
            Pauser::Ioctl => {
                // SAFETY: PAUSE_OUTPUT takes an integer argument; `fd` is the ring's perf event or
                // premap device (Ring::map's contract).
                unsafe {
                    sys::ioctl_int(
                        fd,
                        premap_abi::ioctl::PERF_EVENT_IOC_PAUSE_OUTPUT,
                        libc::c_ulong::from(pause),
                    )
                }
                .map(|_| ())
                .map_err(|source| Error::Sys {
                    call: "ioctl(PAUSE_OUTPUT)",
                    source,
                })
            }
            Pauser::Shared(p) => {
                if pause {
                    p.pause()
                } else {
                    p.resume()
                }
                Ok(())
            }
            Pauser::None => Ok(()),
        }
    }
}
