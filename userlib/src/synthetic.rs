//! A synthetic in-memory ring with a producer that follows the kernel's protocol
//! (kernel/events/ring_buffer.c), so tests, property tests and benchmarks drive the very reader code
//! that reads real perf rings, at any start position and record size.
//!
//! The memory is an anonymous shared mapping laid out like a perf mapping: a control page, then `2^n`
//! data pages. The producer writes only through raw pointers and [`ControlPtr`]'s atomics.

use crate::error::{Error, Result};
use crate::ring::{Mode, Ring};
use crate::sys::{self, Mapping};
use premap_abi::control::{ControlPage, ControlPtr};
use premap_abi::header::{EventHeader, RECORD_LOST};
use premap_abi::ring::RingGeometry;
use std::ptr::NonNull;
use std::sync::Arc;

/// The producer side of a synthetic ring.
///
/// # Invariants
///
/// `ctl` points at the start of `map`, whose data area is described by `geom`.
#[derive(Debug)]
pub struct Producer {
    map: Arc<Mapping>,
    ctl: ControlPtr,
    geom: RingGeometry,
    mode: Mode,
    head: u64,
    lost: u64,
    lost_id: u64,
}

/// Creates a synthetic ring of `data_pages` pages (a power of two), with its head and tail both at
/// `start` (a free-running position, so tests can begin anywhere, including near `u64::MAX`).
pub fn synthetic_ring(data_pages: usize, mode: Mode, start: u64) -> Result<(Producer, Ring)> {
    let page = sys::page_size();
    if data_pages == 0 || !data_pages.is_power_of_two() {
        return Err(Error::BadRingSize(format!("{data_pages} data pages")));
    }
    let geom = RingGeometry::for_pages(data_pages as u64, page as u64)?;
    let map = Arc::new(Mapping::anonymous(geom.mmap_len() as usize)?);
    let base = NonNull::new(map.as_ptr().cast::<ControlPage>())
        .ok_or_else(|| Error::BadRingSize("null mapping".into()))?;
    // SAFETY: the anonymous mapping is page-aligned, larger than a control page, and kept alive by the
    // `Arc` shared by the producer and the ring.
    let ctl = unsafe { ControlPtr::new(base) };
    let mut page0 = ControlPage::new_for_ring(geom.data_offset(), geom.data_size());
    page0.data_head = start;
    page0.data_tail = start;
    // SAFETY: nobody else can see the fresh mapping yet.
    unsafe { ctl.init(&page0) };
    let producer = Producer {
        map: Arc::clone(&map),
        ctl,
        geom,
        mode,
        head: start,
        lost: 0,
        lost_id: 0,
    };
    let ring = Ring::from_mapping(map, mode, None)?;
    Ok((producer, ring))
}

impl Producer {
    /// The control page (tests use it to corrupt positions on purpose).
    pub fn control(&self) -> ControlPtr {
        self.ctl
    }

    /// Records dropped so far and not yet reported with a LOST record.
    pub fn pending_lost(&self) -> u64 {
        self.lost
    }

    /// A new reader over the same memory, which takes its tail from the control page as it is now (as a
    /// fresh mapping of a perf event would).
    pub fn new_reader(&self) -> Result<Ring> {
        Ring::from_mapping(Arc::clone(&self.map), self.mode, None)
    }

    /// Forgets dropped records instead of reporting them with a LOST record (for producers that retry).
    pub fn forget_lost(&mut self) {
        self.lost = 0;
    }

    /// Sets the event id written into LOST records.
    pub fn set_lost_id(&mut self, id: u64) {
        self.lost_id = id;
    }

    fn copy_in(&self, pos: u64, bytes: &[u8]) {
        let size = self.geom.data_size() as usize;
        let off = self.geom.offset(pos);
        let first = bytes.len().min(size - off);
        let data = self.geom.data_offset() as usize;
        // SAFETY: `off + first <= size` and the rest wraps to offset 0 with `bytes.len() - first <= size`
        // bytes (callers never write more than the ring), all inside the data area of the live mapping.
        // The reader does not read [head, head + len) until the new head is published, so this write
        // races with nothing.
        unsafe {
            let base = self.map.as_ptr().add(data);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(off), first);
            std::ptr::copy_nonoverlapping(bytes.as_ptr().add(first), base, bytes.len() - first);
        }
    }

    /// Writes one record (`bytes` must start with its header, `header.size == bytes.len()`), as the kernel
    /// does: in consume mode it honours `data_tail` and drops the record (counting it) when full, first
    /// emitting `PERF_RECORD_LOST` for earlier drops when there is room; in overwrite mode it writes
    /// backward over the oldest data. Returns whether the record was written.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        let len = bytes.len() as u64;
        if len == 0 || len > self.geom.data_size() {
            return false;
        }
        match self.mode {
            Mode::Consume => {
                let tail = self.ctl.load_data_tail();
                let Ok(mut free) = self.geom.free_space(self.head, tail) else {
                    self.lost += 1;
                    return false;
                };
                if self.lost > 0 {
                    if free < 24 + len {
                        self.lost += 1;
                        return false;
                    }
                    let mut lost = [0u8; 24];
                    lost[..8].copy_from_slice(
                        &EventHeader {
                            r#type: RECORD_LOST,
                            misc: 0,
                            size: 24,
                        }
                        .to_bytes(),
                    );
                    lost[8..16].copy_from_slice(&self.lost_id.to_ne_bytes());
                    lost[16..].copy_from_slice(&self.lost.to_ne_bytes());
                    self.copy_in(self.head, &lost);
                    self.head = self.head.wrapping_add(24);
                    self.lost = 0;
                    free -= 24;
                }
                if free < len {
                    self.lost += 1;
                    return false;
                }
                self.copy_in(self.head, bytes);
                self.head = self.head.wrapping_add(len);
            }
            Mode::Overwrite => {
                self.head = self.head.wrapping_sub(len);
                self.copy_in(self.head, bytes);
            }
        }
        // smp_wmb() then publish: Release orders the data before the new head.
        self.ctl.store_data_head(self.head);
        true
    }

    /// Writes each record in turn; returns how many were written (the rest were dropped).
    pub fn write_all<'a>(&mut self, records: impl IntoIterator<Item = &'a [u8]>) -> usize {
        records.into_iter().filter(|r| self.write(r)).count()
    }
}

/// Builds a `PERF_RECORD_SAMPLE` of `size` bytes (a multiple of 8, at least 16) whose first body word
/// is `seq` and the rest a pattern derived from it: what the synthetic tests and benchmarks produce.
pub fn sample_record(size: u16, seq: u64) -> Vec<u8> {
    let size = size.max(16) & !7;
    let mut v = Vec::with_capacity(usize::from(size));
    v.extend_from_slice(
        &EventHeader {
            r#type: premap_abi::header::RECORD_SAMPLE,
            misc: premap_abi::header::RECORD_MISC_USER,
            size,
        }
        .to_bytes(),
    );
    v.extend_from_slice(&seq.to_ne_bytes());
    let mut x = seq;
    while v.len() < usize::from(size) {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.push((x >> 56) as u8);
    }
    v
}
