// SPDX-License-Identifier: GPL-2.0

//! The in-kernel generator: a kthread that writes synthetic samples through the producer in bounded,
//! interruptible batches.

use crate::buffer::Buffer;
use crate::glue::{self, Kthread};
use crate::limits::GeneratorSlot;
use crate::premap_abi;
use crate::premap_abi::uapi::{GenerateParams, MAX_GENERATE_BATCH};
use core::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

/// Context of the generator thread, owned by the file until the thread is stopped.
pub(crate) struct GenCtx {
    pub(crate) buffer: Arc<Buffer>,
    pub(crate) params: GenerateParams,
    pub(crate) pid: u32,
}

pub(crate) struct Generator {
    // Field order matters: the thread is stopped (dropped) before its context is freed and before its
    // user's slot is given back.
    pub(crate) _thread: Kthread,
    pub(crate) _ctx: KBox<GenCtx>,
    pub(crate) _slot: GeneratorSlot,
}

/// The generator: `count` samples in batches of at most `MAX_GENERATE_BATCH`, yielding the CPU and
/// checking for its stop after every batch, sleeping interruptibly (at most 1 s) between batches.
///
/// # Safety
///
/// Runs only as the kthread [`Kthread::spawn`] starts, with `data` pointing to a [`GenCtx`] that outlives
/// the thread.
pub(crate) unsafe extern "C" fn generator_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `GenCtx` the file keeps alive until after kthread_stop returns.
    let ctx = unsafe { &*data.cast::<GenCtx>() };
    let should_stop = || {
        // SAFETY: this function runs only as a kthread (its contract).
        unsafe { glue::kthread_should_stop() }
    };
    let p = ctx.params;
    if let Ok(mut sample) = KVec::from_elem(0u8, p.sample_size as usize, GFP_KERNEL) {
        let h = premap_abi::EventHeader {
            r#type: premap_abi::header::RECORD_SAMPLE,
            misc: premap_abi::header::RECORD_MISC_KERNEL,
            size: p.sample_size as u16,
        };
        sample[..8].copy_from_slice(&h.to_bytes());
        sample[8..16].copy_from_slice(&1u64.to_ne_bytes()); // IDENTIFIER
        sample[16..20].copy_from_slice(&ctx.pid.to_ne_bytes());
        sample[20..24].copy_from_slice(&ctx.pid.to_ne_bytes());
        let batch = u64::from(p.batch.clamp(1, MAX_GENERATE_BATCH));
        let mut seq = 0u64;
        while seq < p.count && !should_stop() {
            let batch_end = seq.saturating_add(batch).min(p.count);
            while seq < batch_end {
                // Every 256 samples: a stop request ends even a long batch, and the CPU is offered
                // to whoever waits for it (a closing task, the other generators' stops), so that a
                // close never waits for whole batches on a slow (or emulated, or contended) CPU.
                if seq % 256 == 255 {
                    if should_stop() {
                        break;
                    }
                    glue::cond_resched();
                }
                sample[24..32].copy_from_slice(&glue::ktime_ns().to_ne_bytes());
                sample[32..40].copy_from_slice(&seq.to_ne_bytes());
                ctx.buffer.produce(core::iter::once(&sample[..]));
                seq += 1;
            }
            if p.period_ns > 0 {
                glue::sleep_interruptible_ns(p.period_ns);
            } else {
                glue::cond_resched();
            }
        }
    }
    // Stay until asked to stop, so kthread_stop always finds a live task.
    while !should_stop() {
        glue::sleep_interruptible_ns(10_000_000);
    }
    0
}
