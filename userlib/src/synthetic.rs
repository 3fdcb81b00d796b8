//! A synthetic in-memory ring with a producer that follows the kernel's protocol
//! (kernel/events/ring_buffer.c), so tests, property tests and benchmarks drive the very reader code
//! that reads real perf rings, at any start position and record size.
//!
//! The memory is an anonymous shared mapping laid out like a perf mapping: a control page, then `2^n`
//! data pages. The producer writes only through raw pointers and [`ControlMut`]'s atomics.

use crate::error::{Error, Result};
use crate::ring::{Consume, Mode, Pause, Pauser, Ring, RingMode};
use crate::sys::{self, Mapping};
use premap_abi::control::{ControlMut, ControlPage};
use premap_abi::header::EventHeader;
use premap_abi::produce::DataArea;
use premap_abi::ring::RingGeometry;
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The producer side of a synthetic ring: premap-abi's [`premap_abi::produce::Producer`] (the same
/// code the premap driver runs) over the mapping's data area.
///
/// # Invariants
///
/// `ctl` points at the start of `map` (writable), whose data area is described by `geom`.
#[derive(Debug)]
pub struct Producer<M: RingMode = Consume> {
    map: Arc<Mapping>,
    ctl: ControlMut,
    geom: RingGeometry,
    mode: PhantomData<M>,
    inner: premap_abi::produce::Producer,
    /// Set while a live [`Ring`] reads this producer's memory (one consumer).
    reader: Arc<AtomicBool>,
    /// The overwrite-mode pause shared with the reader (the ring module's stand-in for the kernel's
    /// `PERF_EVENT_IOC_PAUSE_OUTPUT`): while the reader copies, records are dropped and counted lost.
    pause: Arc<Pause>,
    /// The eventfd a reader polls (its ring's descriptor is a duplicate), signalled at each record
    /// written, as the kernel wakes a perf event's pollers.
    wake: OwnedFd,
}

/// The data area of a synthetic ring, written through raw pointers.
struct MappedArea<'a> {
    map: &'a Mapping,
    geom: RingGeometry,
}

impl DataArea for MappedArea<'_> {
    fn write_at(&mut self, offset: usize, bytes: &[u8]) {
        let size = self.geom.data_size() as usize;
        match offset.checked_add(bytes.len()) {
            Some(end) if end <= size => {}
            _ => return,
        }
        // SAFETY: `[offset, offset + len)` lies inside the data area (checked above), which lies inside
        // the live mapping (`geom` was built for it). The reader does not read this range until the
        // producer publishes a head past it (consume mode), and not while the producer writes
        // (overwrite mode: the reader copies only while it holds `Pause`, which a write excludes), so
        // the write races with nothing.
        unsafe {
            let dst = self
                .map
                .as_ptr()
                .add(self.geom.data_offset() as usize + offset);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        }
    }
}

/// Creates a synthetic ring of `data_pages` pages (a power of two) in mode `M` ([`Consume`] or
/// [`crate::ring::Overwrite`]), with its head and tail both at `start` (a free-running position, so
/// tests can begin anywhere, including near `u64::MAX`).
///
/// ```
/// use premap::ring::Overwrite;
/// use premap::synthetic::{sample_record, synthetic_ring};
///
/// let (mut producer, mut ring) = synthetic_ring::<Overwrite>(1, 0)?;
/// producer.write(&sample_record(64, 1));
/// producer.write(&sample_record(64, 2));
/// let mut newest = ring.newest()?;
/// assert!(newest.next().is_some()); // the record of seq 2, then seq 1
/// # Ok::<(), premap::Error>(())
/// ```
pub fn synthetic_ring<M: RingMode>(
    data_pages: usize,
    start: u64,
) -> Result<(Producer<M>, Ring<M>)> {
    let page = sys::page_size();
    if data_pages == 0 || !data_pages.is_power_of_two() {
        return Err(Error::RingSize { data_pages });
    }
    let geom = RingGeometry::for_pages(data_pages as u64, page as u64)?;
    let map = Arc::new(Mapping::anonymous(geom.mmap_len() as usize)?);
    let base = NonNull::new(map.as_ptr().cast::<ControlPage>())
        .ok_or(Error::MappingTooSmall { len: 0 })?;
    // SAFETY: the anonymous mapping is page-aligned, larger than a control page, and kept alive by the
    // `Arc` shared by the producer and the ring.
    let ctl = unsafe { ControlMut::new(base) };
    let mut page0 = ControlPage::new_for_ring(geom.data_offset(), geom.data_size());
    page0.data_head = start;
    page0.data_tail = start;
    // SAFETY: nobody else can see the fresh mapping yet.
    unsafe { ctl.init(&page0) };
    let producer = Producer {
        map: Arc::clone(&map),
        ctl,
        geom,
        mode: PhantomData,
        inner: premap_abi::produce::Producer::new(geom, M::MODE == Mode::Overwrite, start),
        reader: Arc::new(AtomicBool::new(false)),
        pause: Arc::default(),
        wake: sys::eventfd().map_err(|source| Error::Sys {
            call: "eventfd",
            source,
        })?,
    };
    let ring = producer.new_reader()?;
    Ok((producer, ring))
}

impl<M: RingMode> Producer<M> {
    /// The control page, as the producer (the kernel's side) sees it: tests use it to corrupt positions
    /// on purpose.
    ///
    /// # Safety
    ///
    /// The pointer is valid while this producer lives (copies must not outlive it). Storing `data_tail`
    /// (the reader's word) while the ring's reader holds records lets this producer overwrite them under
    /// the reader: do it only between batches, as a hostile consumer would, and expect the reader to
    /// report corruption. Storing `data_head` makes the reader see what the producer did not publish.
    pub unsafe fn control(&self) -> ControlMut {
        self.ctl
    }

    /// A new reader over the same memory, which takes its tail from the control page as it is now (as a
    /// fresh mapping of a perf event would). A ring has one consumer: [`Error::AlreadyMapped`] while the
    /// previous reader lives.
    pub fn new_reader(&self) -> Result<Ring<M>> {
        if self.reader.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyMapped);
        }
        let pauser = Pauser::Shared(self.pause.clone());
        let fd = match self.wake.try_clone() {
            Ok(fd) => fd,
            Err(source) => {
                self.reader.store(false, Ordering::Release);
                return Err(Error::Sys {
                    call: "dup",
                    source,
                });
            }
        };
        // SAFETY: the anonymous mapping is readable and writable whatever the mode.
        match unsafe { Ring::from_mapping(Arc::clone(&self.map), fd, pauser) } {
            Ok(mut r) => {
                r.set_consumer(self.reader.clone());
                Ok(r)
            }
            Err(e) => {
                self.reader.store(false, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Records dropped so far and not yet reported with a LOST record.
    pub fn pending_lost(&self) -> u64 {
        self.inner.pending_lost()
    }

    /// Forgets dropped records instead of reporting them with a LOST record (for producers that retry).
    pub fn forget_lost(&mut self) {
        self.inner.forget_lost();
    }

    /// Sets the event id written into LOST records.
    pub fn set_lost_id(&mut self, id: u64) {
        self.inner.set_lost_id(id);
    }

    /// Writes one record (`bytes` must start with its header, `header.size == bytes.len()`), as the kernel
    /// does: in consume mode it honours `data_tail` and drops the record (counting it) when full, first
    /// emitting `PERF_RECORD_LOST` for earlier drops when there is room; in overwrite mode it writes
    /// backward over the oldest data. Returns whether the record was written.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        let written = self.emit(bytes);
        if written {
            sys::eventfd_signal(self.wake.as_fd());
        }
        written
    }

    fn emit(&mut self, bytes: &[u8]) -> bool {
        let mut area = MappedArea {
            map: &self.map,
            geom: self.geom,
        };
        if M::MODE == Mode::Overwrite {
            // Paused by a reader of the newest records: dropped and counted, as the kernel does.
            if !self.pause.begin_write() {
                self.inner.set_paused(true);
                let r = self.inner.emit(&mut area, &self.ctl, bytes);
                self.inner.set_paused(false);
                return r;
            }
            let r = self.inner.emit(&mut area, &self.ctl, bytes);
            self.pause.end_write();
            return r;
        }
        self.inner.emit(&mut area, &self.ctl, bytes)
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
