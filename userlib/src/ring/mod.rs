//! [`Ring`]: a mapped perf-style ring (a perf event's, the premap driver's, or a synthetic one) and the
//! ways to read it: [`Batch`] (consume mode), [`NewestBatch`] (overwrite mode) and [`Ring::write_to`].
//!
//! The reader follows the kernel's protocol (tools/include/linux/ring_buffer.h): load `data_head`
//! (Relaxed, then an Acquire fence), read `[tail, head)`, Release-store `data_tail` once per batch. Rust
//! slices of the mapping are formed only in consume mode and only over `[tail, head)`, which the
//! producer does not write until the tail is published. Overwrite mode has no such window (the kernel's
//! `PERF_EVENT_IOC_PAUSE_OUTPUT` only sets a flag: a writer already inside a record on another CPU
//! finishes it), so [`Ring::newest`] copies the new records out with atomic loads while output is
//! paused, re-reads `data_head` after the copy (a seqlock-style check) and hands out only what no writer
//! touched. Everything else in the mapping is reached through [`ControlPtr`]'s atomics.

use crate::error::{Error, Result};
use crate::sys::{self, Mapping};
use premap_abi::control::{ControlMut, ControlPage, ControlPtr};
use premap_abi::header::{EventHeader, EVENT_HEADER_SIZE};
use premap_abi::raw::RawData;
use premap_abi::ring::{backward_whole_records, RingGeometry, MAX_RECORD_SIZE};
use premap_abi::ParseError;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::Arc;

mod batch;
mod control;
mod pause;
pub use batch::{Batch, NewestBatch, Record};
pub use control::Control;
pub(crate) use pause::{Pause, Pauser};

pub use crate::mode::{Consume, Mode, Overwrite, RingMode};
use std::marker::PhantomData;

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

impl RingStats {
    /// Adds `other`'s counts to these.
    fn add(&mut self, other: &RingStats) {
        self.records += other.records;
        self.bytes += other.bytes;
        self.lost_records += other.lost_records;
        self.lost += other.lost;
        self.lost_samples += other.lost_samples;
        self.overruns += other.overruns;
    }
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

/// A mapped ring: one control page and `2^n` data pages, in mode `M`.
///
/// The mode is part of the type. `Ring<Consume>` (plain `Ring`) is read with [`Ring::batch`],
/// [`Ring::drain`], [`Ring::discard`] and [`Ring::write_to`], which publish `data_tail`;
/// `Ring<Overwrite>` (from [`crate::PerfEvent::overwrite_ring`] or [`crate::Device::overwrite_ring`])
/// with [`Ring::newest`] only, over a read-only mapping. Asking one for the other's reads does not
/// compile:
///
/// ```compile_fail
/// # use premap::{synthetic::synthetic_ring, Overwrite};
/// let (_producer, mut ring) = synthetic_ring::<Overwrite>(1, 0)?;
/// ring.discard()?; // an overwrite ring's mapping is read-only: there is no tail to store
/// # Ok::<(), premap::Error>(())
/// ```
///
/// ```compile_fail
/// # use premap::{synthetic::synthetic_ring, Consume};
/// let (_producer, mut ring) = synthetic_ring::<Consume>(1, 0)?;
/// let _ = ring.newest()?; // consume mode has no backward records to read
/// # Ok::<(), premap::Error>(())
/// ```
///
/// `tail` is the consumer position last published (consume mode); `prev_head` the head at the previous
/// overwrite-mode read.
///
/// # Invariants
///
/// `tail_ctl` is `Some` exactly in consume mode, and then points at the control page of a writable
/// mapping.
#[derive(Debug)]
pub struct Ring<M: RingMode = Consume> {
    view: View,
    tail_ctl: Option<ControlMut>,
    mode: PhantomData<M>,
    fd: OwnedFd,
    /// Set while this ring is its buffer's one consumer (released on drop); `None` for a ring mapped
    /// with [`Ring::map`], whose caller promised it.
    consumer: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// How overwrite mode holds the producer off while it copies.
    pauser: Pauser,
    tail: u64,
    /// `write_to`: bytes of the record at `tail` that a call which failed part-way already wrote to its
    /// output (the next call writes the rest first).
    written_ahead: u64,
    prev_head: u64,
    bounce: Vec<u8>,
    /// Overwrite mode: the newest records, copied out of the mapping, that a [`NewestBatch`] hands out.
    snapshot: Vec<u8>,
    stats: RingStats,
}

impl<M: RingMode> Ring<M> {
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
    pub unsafe fn map(fd: BorrowedFd<'_>, data_pages: usize) -> Result<Self> {
        if data_pages == 0 || !data_pages.is_power_of_two() {
            return Err(Error::RingSize { data_pages });
        }
        let page = sys::page_size();
        let len = data_pages
            .checked_add(1)
            .and_then(|n| n.checked_mul(page))
            .ok_or(Error::RingSize { data_pages })?;
        let map = Mapping::map_fd(fd, len, M::MODE == Mode::Consume, 0)?;
        let own = fd.try_clone_to_owned().map_err(|source| Error::Sys {
            call: "dup",
            source,
        })?;
        // SAFETY: a consume-mode ring was just mapped PROT_READ | PROT_WRITE.
        unsafe { Self::from_mapping(Arc::new(map), own, Pauser::Ioctl) }
    }

    /// A ring over an existing mapping whose first page is a control page (used by the synthetic ring).
    ///
    /// # Safety
    ///
    /// In [`Mode::Consume`], the mapping is writable.
    pub(crate) unsafe fn from_mapping(
        map: Arc<Mapping>,
        fd: OwnedFd,
        pauser: Pauser,
    ) -> Result<Self> {
        let page = sys::page_size();
        if map.len() < page {
            return Err(Error::MappingTooSmall { len: map.len() });
        }
        let base = NonNull::new(map.as_ptr().cast::<ControlPage>())
            .ok_or(Error::MappingTooSmall { len: 0 })?;
        // SAFETY: the mapping is page-aligned, at least one page (>= 1088 bytes) long, and kept alive by
        // the `Arc` this ring holds for as long as `ctl` is used.
        let ctl = unsafe { ControlPtr::new(base) };
        let tail_ctl = match M::MODE {
            // SAFETY: as above, and a consume-mode mapping is writable (the caller's promise).
            Mode::Consume => Some(unsafe { ControlMut::new(base) }),
            Mode::Overwrite => None,
        };
        let geom = RingGeometry::new(
            ctl.data_offset(),
            ctl.data_size(),
            page as u64,
            Some(map.len() as u64),
        )?;
        let tail = ctl.load_data_tail();
        let prev_head = ctl.load_data_head();
        // INVARIANT: geometry validated against the mapping length just above; `tail_ctl` is set in
        // consume mode only, over a writable mapping.
        Ok(Self {
            view: View { map, ctl, geom },
            tail_ctl,
            mode: PhantomData,
            fd,
            consumer: None,
            pauser: match M::MODE {
                Mode::Consume => Pauser::None,
                Mode::Overwrite => pauser,
            },
            tail,
            written_ahead: 0,
            prev_head: if M::MODE == Mode::Overwrite {
                prev_head
            } else {
                0
            },
            bounce: Vec::new(),
            snapshot: Vec::new(),
            stats: RingStats::default(),
        })
    }

    /// The validated geometry.
    pub fn geometry(&self) -> RingGeometry {
        self.view.geom
    }

    /// The mode the ring was mapped in.
    pub fn mode(&self) -> Mode {
        M::MODE
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
        taken: &Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<Self> {
        use std::sync::atomic::Ordering;
        if taken.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyMapped);
        }
        // SAFETY: the caller's promise about `fd`; the flag just taken makes this the one consumer.
        match unsafe { Self::map(fd, data_pages) } {
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

    /// `data_head` (Relaxed, then an Acquire fence: defined on read-only mappings too).
    #[inline]
    fn load_head(&self) -> u64 {
        self.view.ctl.load_data_head()
    }

    /// The descriptor to poll for this ring: the perf event or premap device it was mapped from (a
    /// duplicate), or a synthetic ring's eventfd, which its producer signals at each record.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Bytes readable now (`data_head - tail`), checked.
    pub fn readable(&self) -> Result<u64> {
        Ok(self.view.geom.readable(self.load_head(), self.tail)?)
    }
}

impl Ring<Consume> {
    /// Starts a consume-mode batch: loads `data_head` once (Acquire) and hands out the records up to it.
    /// The tail is published (Release) when the batch is dropped, so records cannot outlive it.
    #[inline]
    pub fn batch(&mut self) -> Result<Batch<'_>> {
        let head = self.load_head();
        if let Err(e) = self.view.geom.readable(head, self.tail) {
            // An impossible head (behind the tail, or more than a ring ahead): reported once, then the
            // ring resynchronises to it (what lay between is lost), so a producer's glitch does not
            // wedge the reader for good.
            self.tail = head;
            self.written_ahead = 0;
            if let Some(c) = &self.tail_ctl {
                c.store_data_tail(head);
            }
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
            self.written_ahead = 0;
            if let Some(c) = &self.tail_ctl {
                c.store_data_tail(pos);
            }
        }
    }

    /// Drops everything currently readable without reading it (for example after a corrupt record).
    /// (Consume mode: an overwrite-mode mapping is read-only.)
    pub fn discard(&mut self) -> Result<u64> {
        let head = self.load_head();
        let n = self.view.geom.readable(head, self.tail)?;
        self.publish_tail(head);
        Ok(n)
    }

    /// Walks the whole, well-formed records in `[from, to)` without publishing anything: returns the
    /// bytes they span, what reading them counts (records, losses), the samples among them, and the
    /// corrupt record the walk stopped at. `self.stats` is left as it was.
    fn walk(&mut self, from: u64, to: u64) -> (u64, RingStats, u64, Option<ParseError>) {
        let saved = std::mem::take(&mut self.stats);
        let mut samples = 0u64;
        let (whole, walked) = {
            let mut batch = Batch {
                ring: &mut *self,
                head: to,
                pos: from,
            };
            let walked = batch.for_each(|r| {
                samples += u64::from(r.header.r#type == premap_abi::header::RECORD_SAMPLE);
            });
            let whole = batch.pos.wrapping_sub(from);
            // Nothing is consumed here.
            batch.pos = batch.ring.tail;
            (whole, walked)
        };
        let counted = std::mem::replace(&mut self.stats, saved);
        (whole, counted, samples, walked.err())
    }

    /// Writes `[tail, head)` straight from the mapping to `out` with `writev` (at most two iovecs, no
    /// copy in user space), retrying short writes and EINTR, then publishes the tail.
    ///
    /// Before writing, it walks the record headers of the window (8 bytes each) to count records,
    /// samples and losses, and to stop at a corrupt record: only whole, well-formed records are written.
    /// A corrupt record is reported in [`WriteSummary::corrupt`], with the counts of the records before
    /// it, which were written; it stays in the ring until [`Ring::discard`].
    ///
    /// The tail only ever moves to a record boundary, and each record is counted once, when its last
    /// byte is written. On a write error (`/dev/full`, `EAGAIN` from a non-blocking pipe, ...)
    /// [`Error::Write`] reports the bytes this call wrote; the records they complete are consumed and
    /// counted, and a record the failure cut stays in the ring: the next `write_to` writes its remaining
    /// bytes first, so the output holds every record exactly once. Impossible ring positions are
    /// [`Error::Corrupt`], with nothing written..
    pub fn write_to(&mut self, out: BorrowedFd<'_>) -> Result<WriteSummary> {
        let start = self.tail;
        // The window as a batch sees it (an impossible head is reported and resynchronised there).
        let head = self.batch()?.head;
        let (whole, counted, samples, corrupt) = self.walk(start, head);
        let ahead = self.written_ahead.min(whole);
        let mut done = ahead;
        while done < whole {
            let (a, b) = {
                let w = self.view.window(start.wrapping_add(done), whole - done)?;
                let (a, b) = w.parts();
                ((a.as_ptr(), a.len()), (b.as_ptr(), b.len()))
            };
            // SAFETY: both ranges were just formed over `[tail, head)` of the live, consume-mode
            // mapping, which the producer does not write until the tail moves past them.
            let r = unsafe { sys::writev_raw(out, [a, b]) };
            let source = match r {
                Ok(0) => std::io::Error::from(std::io::ErrorKind::WriteZero),
                Ok(n) => {
                    done += n as u64;
                    continue;
                }
                Err(source) => source,
            };
            // Consume (and count) only the records written whole; remember the cut record's prefix.
            let (boundary, partial, _, _) = self.walk(start, start.wrapping_add(done));
            self.stats.add(&partial);
            self.publish_tail(start.wrapping_add(boundary));
            self.written_ahead = done - boundary;
            return Err(Error::Write {
                written: done - ahead,
                source,
            });
        }
        self.stats.add(&counted);
        self.publish_tail(start.wrapping_add(whole));
        Ok(WriteSummary {
            bytes: whole - ahead,
            records: counted.records,
            samples,
            lost: counted.lost + counted.lost_samples,
            corrupt,
        })
    }
}

impl Ring<Overwrite> {
    /// Hands out the records written since the previous call, newest first, as perf's
    /// `perf_mmap__read_init` does for a `write_backward` ring. When more was written than the ring
    /// holds, only the whole records within one ring's worth from `data_head` are returned and
    /// [`RingStats::overruns`] counts it.
    ///
    /// The records are copied out of the mapping while output is paused (`PERF_EVENT_IOC_PAUSE_OUTPUT`,
    /// resumed before this returns), with atomic loads; then `data_head` is read again, and bytes a
    /// writer may have rewritten meanwhile (a writer already inside a record when the pause came, as
    /// the kernel allows) are left out. The batch reads the copy: nothing the caller does while it
    /// lives, resuming output included, can change what it hands out, and dropping or forgetting it
    /// leaves the ring as ready as ever..
    ///
    /// One case no reader can see: a writer that passed the kernel's pause check before the pause and
    /// publishes after the second read of `data_head` can tear the oldest record of a read that spans
    /// the whole ring. Such a record is still a copy; at worst the batch reports it as corrupt.
    pub fn newest(&mut self) -> Result<NewestBatch<'_>> {
        self.pauser.set(self.fd.as_fd(), true)?;
        let copied = self.copy_newest();
        // Resumed whatever the copy gave; a failure to resume is reported and nothing is consumed.
        self.pauser.set(self.fd.as_fd(), false)?;
        let (head, len, overrun) = copied?;
        self.prev_head = head;
        self.stats.bytes += len;
        self.stats.overruns += u64::from(overrun);
        Ok(NewestBatch {
            ring: self,
            head,
            pos: 0,
            end: len as usize,
        })
    }

    /// Copies the records written since `prev_head` into `snapshot` (output paused by the caller).
    /// Returns `data_head`, the bytes of whole records the copy holds, and whether the producer wrote
    /// more than a ring's worth since the previous read.
    fn copy_newest(&mut self) -> Result<(u64, u64, bool)> {
        let head = self.load_head();
        let size = self.view.geom.data_size();
        let since = self.prev_head.wrapping_sub(head);
        let overrun = since > size;
        let want = since.min(size);
        let n = usize::try_from(want).map_err(|_| ParseError::BadGeometry("data_size"))?;
        self.snapshot.clear();
        self.snapshot.resize(n, 0);
        self.view.copy_out(head, &mut self.snapshot)?;
        // Seqlock-style: every load of the copy is ordered before the second read of the head.
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        let moved = head.wrapping_sub(self.load_head());
        // A backward writer that published `moved` bytes during the copy rewrote the ring positions
        // [head - moved, head), which are the last `moved` bytes of a window one ring long.
        let valid = if moved == 0 {
            want
        } else {
            want.min(size.saturating_sub(moved))
        };
        let len = if overrun || valid < want {
            backward_whole_records(RawData::Single(
                self.snapshot.get(..valid as usize).unwrap_or(&[]),
            ))
        } else {
            want
        };
        Ok((head, len, overrun))
    }
}

impl View {
    /// The bytes of `[from, from + len)` in the data area as at most two slices.
    ///
    /// Callers pass only ranges inside the current stable window: `[tail, head)` of a consume-mode
    /// ring (overwrite mode reads through [`View::copy_out`]).
    fn window(&self, from: u64, len: u64) -> Result<RawData<'_>, ParseError> {
        let (a, b) = self.geom.window(from.wrapping_add(len), from)?;
        let base = self.map.as_ptr().cast_const();
        let data_offset = self.geom.data_offset() as usize;
        let slice = |r: std::ops::Range<usize>| -> &[u8] {
            // SAFETY: `r` lies within the data area (RingGeometry::window yields offsets below
            // data_size), which lies within the mapping (type invariant); the mapping lives as long as
            // `self`. The bytes are in `[tail, head)` of a consume-mode ring (the callers' rule): the
            // producer does not write them until the tail is published past them, and the ring is the
            // buffer's one consumer (Ring::map's contract), so no concurrent write aliases this shared
            // borrow for as long as the batch or call that formed it holds the ring.
            unsafe { std::slice::from_raw_parts(base.add(data_offset + r.start), r.len()) }
        };
        Ok(RawData::from_parts(slice(a), slice(b)))
    }

    /// The contiguous bytes from `pos` up to `end` or the end of the data area, whichever comes first.
    ///
    /// Callers pass `[pos, end)` inside `[tail, head)` of a consume-mode ring (so `end - pos <=
    /// data_size`).
    #[inline]
    fn run(&self, pos: u64, end: u64) -> &[u8] {
        let size = self.geom.data_size();
        let off = self.geom.offset(pos);
        let run = end.wrapping_sub(pos).min(size - off as u64) as usize;
        // SAFETY: `[off, off + run)` lies inside the data area (`off < size`, `run <= size - off`),
        // which lies inside the mapping (type invariant); the mapping lives as long as `self`. The
        // bytes are in `[tail, head)` of a consume-mode ring (`run <= end - pos`, the callers' rule),
        // which the producer does not write until the tail is published past them, so no concurrent
        // write aliases this shared borrow while the batch that formed it holds the ring.
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

    /// Copies `dst.len()` bytes of the data area from ring position `from` (wrapping) into `dst` with
    /// atomic loads: for memory the producer may be writing (overwrite mode), where no slice may be
    /// formed. `dst.len()` is at most the data area's size.
    fn copy_out(&self, from: u64, dst: &mut [u8]) -> Result<(), ParseError> {
        let (a, b) = self
            .geom
            .window(from.wrapping_add(dst.len() as u64), from)?;
        let base = self.map.as_ptr().cast_const();
        let data_offset = self.geom.data_offset() as usize;
        let (first, second) = dst.split_at_mut(a.len().min(dst.len()));
        for (r, out) in [(a, first), (b, second)] {
            if r.len() != out.len() {
                return Err(ParseError::BadGeometry("window"));
            }
            // SAFETY: `r` lies within the data area (RingGeometry::window yields offsets below
            // data_size), which lies within the live mapping (type invariant), readable for `r.len()`
            // bytes; copy_shared reads it with atomic loads only and forms no reference to it.
            unsafe { sys::copy_shared(base.add(data_offset + r.start), out) };
        }
        Ok(())
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

impl<M: RingMode> Drop for Ring<M> {
    fn drop(&mut self) {
        if let Some(c) = &self.consumer {
            c.store(false, std::sync::atomic::Ordering::Release);
        }
    }
}

impl<M: RingMode> AsFd for Ring<M> {
    /// [`Ring::fd`].
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd()
    }
}
