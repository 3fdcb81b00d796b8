//! [`Ring`]: a mapped perf-style ring (a perf event's, the premap driver's, or a synthetic one) and the
//! ways to read it: [`Batch`] (consume mode), [`NewestBatch`] (overwrite mode) and [`Ring::write_to`].
//!
//! The reader follows the kernel's protocol (tools/include/linux/ring_buffer.h): Acquire-load
//! `data_head`, read `[tail, head)`, Release-store `data_tail` once per batch. Rust slices are formed only
//! over `[tail, head)`, which the producer does not write until the tail is published (consume mode) or
//! while output is paused (overwrite mode); everything else in the mapping is reached through
//! [`ControlPtr`]'s atomics.

use crate::error::{Error, Result};
use crate::sys::{self, Mapping};
use premap_abi::control::{ControlPage, ControlPtr};
use premap_abi::header::{EventHeader, EVENT_HEADER_SIZE};
use premap_abi::raw::RawData;
use premap_abi::ring::{backward_whole_records, RingGeometry, MAX_RECORD_SIZE};
use premap_abi::ParseError;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;

mod batch;
mod control;
pub use batch::{Batch, NewestBatch, Record};
pub use control::Control;

/// How the producer treats the ring when it is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The reader publishes `data_tail`; the producer drops (and counts) records when full.
    /// The mapping is `PROT_READ | PROT_WRITE`.
    Consume,
    /// The producer overwrites the oldest data, writing backward (`attr.write_backward`); the mapping is
    /// `PROT_READ` and the reader pauses output while it reads.
    Overwrite,
}

/// Counters a ring keeps about what it has read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Records handed out.
    pub records: u64,
    /// Bytes consumed (records handed out, skipped, or written with `write_to`).
    pub bytes: u64,
    /// `PERF_RECORD_LOST` records seen.
    pub lost_records: u64,
    /// Records the producer dropped, summed over `PERF_RECORD_LOST` records.
    pub lost: u64,
    /// Samples lost, summed over `PERF_RECORD_LOST_SAMPLES` records.
    pub lost_samples: u64,
    /// Overwrite mode: reads that found more new data than the ring holds (the oldest was overwritten).
    pub overruns: u64,
}

/// The mapping, its control page and its validated geometry.
///
/// # Invariants
///
/// `ctl` points at the start of `map`; `geom` was validated against `map.len()`, so every offset it
/// yields lies inside the mapping.
#[derive(Debug)]
struct View {
    map: Arc<Mapping>,
    ctl: ControlPtr,
    geom: RingGeometry,
}

/// What one [`Ring::write_to`] call wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Bytes written.
    pub bytes: u64,
    /// Records written.
    pub records: u64,
    /// `PERF_RECORD_SAMPLE` records among them.
    pub samples: u64,
    /// Records the producer reported lost (LOST and LOST_SAMPLES counts).
    pub lost: u64,
    /// The corrupt record the walk stopped at, if any: the records before it were written, it and
    /// what follows stay in the ring (skip them with [`Ring::discard`]).
    pub corrupt: Option<ParseError>,
}

/// A mapped ring: one control page and `2^n` data pages.
///
/// `tail` is the consumer position last published (consume mode); `prev_head` the head at the previous
/// overwrite-mode read.
#[derive(Debug)]
pub struct Ring {
    view: View,
    mode: Mode,
    fd: Option<OwnedFd>,
    /// Set while this ring is its buffer's one consumer (released on drop); `None` for a ring mapped
    /// with [`Ring::map`], whose caller promised it.
    consumer: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The overwrite-mode pause shared with a synthetic producer (a real ring pauses with the fd).
    pause: Option<Arc<crate::synthetic::Pause>>,
    tail: u64,
    prev_head: u64,
    bounce: Vec<u8>,
    stats: RingStats,
}

impl Ring {
    /// Maps `1 + data_pages` pages of `fd` (a perf event or the premap driver's device) in `mode` and
    /// validates the geometry the control page publishes. `data_pages` must be a power of two.
    ///
    /// The ring keeps its own duplicate of `fd` (for `PERF_EVENT_IOC_PAUSE_OUTPUT` and polling). The
    /// safe ways in are [`crate::PerfEvent::ring`] and [`crate::Device::ring`], which guarantee what
    /// follows.
    ///
    /// # Safety
    ///
    /// `fd` is a perf event or a `/dev/premap` file with a buffer (not, for example, a regular file that
    /// could be truncated under the mapping), and the returned ring is the only consumer of its buffer
    /// while it lives: no other `Ring` (in this process or another) reads it and nothing else stores its
    /// `data_tail`. A second consumer would let the producer overwrite records this ring is reading.
    pub unsafe fn map(fd: BorrowedFd<'_>, data_pages: usize, mode: Mode) -> Result<Self> {
        if data_pages == 0 || !data_pages.is_power_of_two() {
            return Err(Error::BadRingSize(format!(
                "{data_pages} data pages: must be a power of two (1, 2, 4, ...)"
            )));
        }
        let page = sys::page_size();
        let len = data_pages
            .checked_add(1)
            .and_then(|n| n.checked_mul(page))
            .ok_or_else(|| Error::BadRingSize(format!("{data_pages} pages overflow")))?;
        let map = Mapping::map_fd(fd, len, mode == Mode::Consume, 0)?;
        let own = fd.try_clone_to_owned().map_err(|source| Error::Sys {
            call: "dup",
            source,
        })?;
        Self::from_mapping(Arc::new(map), mode, Some(own))
    }

    /// A ring over an existing mapping whose first page is a control page (used by the synthetic ring).
    pub(crate) fn from_mapping(map: Arc<Mapping>, mode: Mode, fd: Option<OwnedFd>) -> Result<Self> {
        let page = sys::page_size();
        if map.len() < page {
            return Err(Error::BadRingSize("mapping smaller than a page".into()));
        }
        let base = NonNull::new(map.as_ptr().cast::<ControlPage>())
            .ok_or_else(|| Error::BadRingSize("null mapping".into()))?;
        // SAFETY: the mapping is page-aligned, at least one page (>= 1088 bytes) long, and kept alive by
        // the `Arc` this ring holds for as long as `ctl` is used.
        let ctl = unsafe { ControlPtr::new(base) };
        let geom = RingGeometry::new(
            ctl.data_offset(),
            ctl.data_size(),
            page as u64,
            Some(map.len() as u64),
        )?;
        let tail = ctl.load_data_tail();
        let prev_head = ctl.load_data_head();
        // INVARIANT: geometry validated against the mapping length just above.
        Ok(Self {
            view: View { map, ctl, geom },
            mode,
            fd,
            consumer: None,
            pause: None,
            tail,
            prev_head: if mode == Mode::Overwrite {
                prev_head
            } else {
                0
            },
            bounce: Vec::new(),
            stats: RingStats::default(),
        })
    }

    /// The validated geometry.
    pub fn geometry(&self) -> RingGeometry {
        self.view.geom
    }

    /// The mode the ring was mapped in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What the ring has read so far.
    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// The control page, for reading its fields (its lifetime is the ring's; it cannot store the tail,
    /// which only the ring's batches publish).
    pub fn control(&self) -> Control<'_> {
        Control {
            ctl: self.view.ctl,
            read_only: self.mode == Mode::Overwrite,
            _ring: std::marker::PhantomData,
        }
    }

    /// Marks this ring as its buffer's one consumer; `flag` is released when the ring is dropped.
    pub(crate) fn set_consumer(&mut self, flag: Arc<std::sync::atomic::AtomicBool>) {
        self.consumer = Some(flag);
    }

    /// Maps `fd`'s ring as the one consumer that `taken` stands for: [`Error::AlreadyMapped`] while
    /// another ring holds the flag, which the returned ring releases when dropped.
    ///
    /// # Safety
    ///
    /// As [`Ring::map`], except that the single consumer is the flag's business: every consumer of
    /// the buffer is mapped through this function with the same flag.
    pub(crate) unsafe fn map_once(
        fd: BorrowedFd<'_>,
        data_pages: usize,
        mode: Mode,
        taken: &Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<Self> {
        use std::sync::atomic::Ordering;
        if taken.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyMapped);
        }
        // SAFETY: the caller's promise about `fd`; the flag just taken makes this the one consumer.
        match unsafe { Ring::map(fd, data_pages, mode) } {
            Ok(mut r) => {
                r.set_consumer(taken.clone());
                Ok(r)
            }
            Err(e) => {
                taken.store(false, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Shares a synthetic producer's overwrite-mode pause.
    pub(crate) fn set_pause(&mut self, pause: Arc<crate::synthetic::Pause>) {
        self.pause = Some(pause);
    }

    /// `data_head`, loaded as the mapping allows: Acquire on a writable (consume-mode) mapping, a
    /// Relaxed load and an Acquire fence on a read-only one.
    #[inline]
    fn load_head(&self) -> u64 {
        match self.mode {
            Mode::Consume => self.view.ctl.load_data_head(),
            Mode::Overwrite => self.view.ctl.load_data_head_readonly(),
        }
    }

    /// The descriptor the ring was mapped from, if any (for polling).
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }

    /// Bytes readable now (`data_head - tail`), checked.
    pub fn readable(&self) -> Result<u64> {
        Ok(self.view.geom.readable(self.load_head(), self.tail)?)
    }

    /// Starts a consume-mode batch: loads `data_head` once (Acquire) and hands out the records up to it.
    /// The tail is published (Release) when the batch is dropped, so records cannot outlive it.
    #[inline]
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        if self.mode != Mode::Consume {
            return Err(Error::BadRingSize(
                "batch() reads a consume-mode ring; use newest() in overwrite mode".into(),
            ));
        }
        let head = self.view.ctl.load_data_head();
        if let Err(e) = self.view.geom.readable(head, self.tail) {
            // An impossible head (behind the tail, or more than a ring ahead): reported once, then the
            // ring resynchronises to it (what lay between is lost), so a producer's glitch does not
            // wedge the reader for good.
            self.tail = head;
            self.view.ctl.store_data_tail(head);
            return Err(e.into());
        }
        let pos = self.tail;
        Ok(Batch {
            ring: self,
            head,
            pos,
        })
    }

    #[inline]
    fn publish_tail(&mut self, pos: u64) {
        if pos != self.tail {
            self.stats.bytes += pos.wrapping_sub(self.tail);
            self.tail = pos;
            self.view.ctl.store_data_tail(pos);
        }
    }

    /// Drops everything currently readable without reading it (for example after a corrupt record).
    /// Consume mode only: an overwrite-mode mapping is read-only.
    pub fn discard(&mut self) -> Result<u64> {
        if self.mode != Mode::Consume {
            return Err(Error::BadRingSize(
                "discard() needs a consume-mode ring (overwrite mappings are read-only)".into(),
            ));
        }
        let head = self.view.ctl.load_data_head();
        let n = self.view.geom.readable(head, self.tail)?;
        self.publish_tail(head);
        Ok(n)
    }

    /// Writes `[tail, head)` straight from the mapping to `out` with `writev` (at most two iovecs, no
    /// copy in user space), retrying short writes and EINTR, then publishes the tail.
    ///
    /// Before writing, it walks the record headers of the window (8 bytes each) to count records,
    /// samples and losses, and to stop at a corrupt record: only whole, well-formed records are written.
    /// A corrupt record is reported in [`WriteSummary::corrupt`], with the counts of the records before
    /// it, which were written; it stays in the ring until [`Ring::discard`]. On a write error the tail
    /// is published up to what was written, so nothing is written twice, and [`Error::Write`] reports
    /// that count. Impossible ring positions are [`Error::Corrupt`], with nothing written.
    pub fn write_to(&mut self, out: BorrowedFd<'_>) -> Result<WriteSummary> {
        if self.mode != Mode::Consume {
            return Err(Error::BadRingSize(
                "write_to() needs a consume-mode ring".into(),
            ));
        }
        // Walk the headers with the drain loop's fast path (this also reads the data into the cache
        // for the copy that writev makes), without publishing the tail yet.
        let start = self.tail;
        let before = self.stats;
        let mut summary = WriteSummary::default();
        let (walked, whole) = {
            let mut batch = self.batch()?;
            let walked = batch.for_each(|r| {
                summary.samples += u64::from(r.header.r#type == premap_abi::header::RECORD_SAMPLE);
            });
            let whole = batch.pos.wrapping_sub(start);
            // Nothing is consumed until it is written.
            batch.pos = start;
            (walked, whole)
        };
        summary.records = self.stats.records - before.records;
        summary.lost =
            (self.stats.lost - before.lost) + (self.stats.lost_samples - before.lost_samples);
        summary.corrupt = walked.err();
        let mut done = 0u64;
        while done < whole {
            let (a, b) = {
                let w = self
                    .view
                    .window(self.tail.wrapping_add(done), whole - done)?;
                let (a, b) = w.parts();
                ((a.as_ptr(), a.len()), (b.as_ptr(), b.len()))
            };
            // SAFETY: both ranges were just formed over the stable window of the live mapping.
            let r = unsafe { sys::writev_raw(out, [a, b]) };
            let source = match r {
                Ok(0) => std::io::Error::from(std::io::ErrorKind::WriteZero),
                Ok(n) => {
                    done += n as u64;
                    continue;
                }
                Err(source) => source,
            };
            self.publish_tail(self.tail.wrapping_add(done));
            return Err(Error::Write {
                written: done,
                source,
            });
        }
        self.publish_tail(self.tail.wrapping_add(whole));
        summary.bytes = whole;
        Ok(summary)
    }

    /// Overwrite mode: pauses the producer (`PERF_EVENT_IOC_PAUSE_OUTPUT`), and hands out the records
    /// written since the previous call, newest first, as perf's `perf_mmap__read_init` does for a
    /// `write_backward` ring. When more was written than the ring holds, only the whole records within
    /// one ring's worth from `data_head` are returned and [`RingStats::overruns`] counts it. Output
    /// resumes when the batch is dropped.
    pub fn newest(&mut self) -> Result<NewestBatch<'_>> {
        if self.mode != Mode::Overwrite {
            return Err(Error::BadRingSize(
                "newest() reads an overwrite-mode ring".into(),
            ));
        }
        if let Some(fd) = &self.fd {
            // SAFETY: PAUSE_OUTPUT takes an integer argument; `fd` is the ring's perf event or device.
            unsafe {
                sys::ioctl_int(
                    fd.as_fd(),
                    premap_abi::ioctl::PERF_EVENT_IOC_PAUSE_OUTPUT,
                    1,
                )
            }
            .map_err(|source| Error::Sys {
                call: "ioctl(PAUSE_OUTPUT)",
                source,
            })?;
        }
        if let Some(p) = &self.pause {
            p.pause();
        }
        let head = self.load_head();
        let size = self.view.geom.data_size();
        let mut len = self.prev_head.wrapping_sub(head);
        if len > size {
            self.stats.overruns += 1;
            len = backward_whole_records(self.view.window(head, size)?);
        }
        Ok(NewestBatch {
            ring: self,
            head,
            pos: head,
            end: head.wrapping_add(len),
        })
    }
}

impl View {
    /// The bytes of `[from, from + len)` in the data area as at most two slices.
    ///
    /// Callers pass only ranges inside the current stable window.
    fn window(&self, from: u64, len: u64) -> Result<RawData<'_>, ParseError> {
        let (a, b) = self.geom.window(from.wrapping_add(len), from)?;
        let base = self.map.as_ptr().cast_const();
        let data_offset = self.geom.data_offset() as usize;
        let slice = |r: std::ops::Range<usize>| -> &[u8] {
            // SAFETY: `r` lies within the data area (RingGeometry::window yields offsets below
            // data_size), which lies within the mapping (type invariant); the mapping lives as long as
            // `self`. The bytes are in the stable window: the producer does not write them until the
            // tail moves past them (consume mode) or while output is paused (overwrite mode), so no
            // concurrent write aliases this shared borrow.
            unsafe { std::slice::from_raw_parts(base.add(data_offset + r.start), r.len()) }
        };
        Ok(RawData::from_parts(slice(a), slice(b)))
    }

    /// The contiguous bytes from `pos` up to `end` or the end of the data area, whichever comes first.
    ///
    /// Callers pass `[pos, end)` inside the current stable window (so `end - pos <= data_size`).
    #[inline]
    fn run(&self, pos: u64, end: u64) -> &[u8] {
        let size = self.geom.data_size();
        let off = self.geom.offset(pos);
        let run = end.wrapping_sub(pos).min(size - off as u64) as usize;
        // SAFETY: `[off, off + run)` lies inside the data area (`off < size`, `run <= size - off`),
        // which lies inside the mapping (type invariant); the mapping lives as long as `self`. The
        // bytes are in the stable window (`run <= end - pos`), which the producer does not write while
        // a batch holds it (consume mode: until the tail moves past them; overwrite mode: output is
        // paused), so no concurrent write aliases this shared borrow.
        unsafe {
            std::slice::from_raw_parts(
                self.map
                    .as_ptr()
                    .cast_const()
                    .add(self.geom.data_offset() as usize + off),
                run,
            )
        }
    }

    /// Reads the record at `pos` (bounded by `end`) through the checked path: a slice of the mapping
    /// when contiguous, a copy in `bounce` when it straddles the end of the data area. Out of line:
    /// `batch::split_record` handles every record but the one that straddles the end and corrupt ones.
    #[inline(never)]
    fn record_at<'a>(
        &'a self,
        bounce: &'a mut Vec<u8>,
        pos: u64,
        end: u64,
    ) -> Result<Record<'a>, ParseError> {
        let avail = end.wrapping_sub(pos);
        if avail < EVENT_HEADER_SIZE as u64 {
            return Err(ParseError::TruncatedHeader { available: avail });
        }
        let mut h = [0u8; EVENT_HEADER_SIZE];
        self.window(pos, EVENT_HEADER_SIZE as u64)?
            .copy_prefix_to(&mut h)
            .ok_or(ParseError::TruncatedHeader { available: avail })?;
        let header = EventHeader::from_bytes(h);
        let size = header.check_size()? as u64;
        if size > avail {
            return Err(ParseError::PastEnd {
                size,
                available: avail,
            });
        }
        let bytes = match self.window(pos, size)? {
            RawData::Single(s) => s,
            split => {
                let n = split.len();
                if bounce.len() < MAX_RECORD_SIZE {
                    bounce.resize(MAX_RECORD_SIZE, 0);
                }
                let dst = bounce
                    .get_mut(..n)
                    .ok_or(ParseError::BadGeometry("record too large"))?;
                split
                    .copy_prefix_to(dst)
                    .ok_or(ParseError::BadGeometry("window"))?;
                &bounce[..n]
            }
        };
        Ok(Record {
            header,
            bytes,
            position: pos,
        })
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if let Some(c) = &self.consumer {
            c.store(false, std::sync::atomic::Ordering::Release);
        }
    }
}
