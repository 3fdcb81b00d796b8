//! Reading a mapped ring: [`Batch`] (consume mode), [`NewestBatch`] (overwrite mode) and the
//! [`Record`]s they hand out, with the drain loop's fast path and the checked path beside it.

use super::{Overwrite, Ring, RingStats, View};
use crate::error::Result;
use premap_abi::header::{
    EventHeader, EVENT_HEADER_SIZE, RECORD_LOST, RECORD_LOST_SAMPLES, RECORD_SAMPLE,
};
use premap_abi::raw::{Cursor, RawData};
use premap_abi::records::ParsedRecord;
use premap_abi::sample::SampleFormat;
use premap_abi::ParseError;

/// One record handed out by a batch: a zero-copy slice of the ring when contiguous, a slice of the
/// ring's bounce buffer when it straddled the end of the data area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The header.
    pub header: EventHeader,
    /// The whole record, header included (`header.size` bytes).
    pub bytes: &'a [u8],
    /// The record's free-running ring position.
    pub position: u64,
}

impl<'a> Record<'a> {
    /// The body after the header.
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        self.bytes.get(EVENT_HEADER_SIZE..).unwrap_or(&[])
    }

    /// Parses the record according to `format` (its event's sample format):
    /// [`ParsedRecord::parse`].
    #[inline(always)]
    pub fn parse(&self, format: &SampleFormat) -> Result<ParsedRecord<'a>, ParseError> {
        ParsedRecord::parse(self.header, RawData::Single(self.body()), format)
    }
}

/// The fast path's header check: the first record of `bytes` when its header is well formed and the
/// whole record lies in `bytes`, as `(header, record, rest)`; `None` when `bytes` is shorter than a
/// header, or the record is malformed or cut (the checked path then decides).
#[inline(always)]
fn split_record(bytes: &[u8]) -> Option<(EventHeader, &[u8], &[u8])> {
    let (h, _) = bytes.split_first_chunk::<EVENT_HEADER_SIZE>()?;
    let header = EventHeader::from_bytes(*h);
    let len = usize::from(header.size);
    // A record is a non-zero multiple of 8 bytes (so at least a header) that fits. (This order of
    // the tests compiles to the fewest instructions: bench/instructions.sh.)
    if len > bytes.len() || len % 8 != 0 || len == 0 {
        return None;
    }
    let (record, rest) = bytes.split_at(len);
    Some((header, record, rest))
}

/// Adds a `PERF_RECORD_LOST`/`LOST_SAMPLES` record's count to `stats` (other types are ignored).
/// `record` is the whole record, header included. Kept out of line: the drain loop's fast path only
/// tests the type.
#[cold]
#[inline(never)]
fn count_loss(stats: &mut RingStats, r#type: u32, record: &[u8]) {
    let body = record.get(EVENT_HEADER_SIZE..).unwrap_or(&[]);
    match r#type {
        RECORD_LOST => {
            stats.lost_records += 1;
            let mut c = Cursor::new(RawData::Single(body));
            let _id = c.read_u64("lost.id");
            stats.lost += c.read_u64("lost.lost").unwrap_or(0);
        }
        RECORD_LOST_SAMPLES => {
            let mut c = Cursor::new(RawData::Single(body));
            stats.lost_samples += c.read_u64("lost_samples.lost").unwrap_or(0);
        }
        _ => {}
    }
}

/// A consume-mode batch: the records in `[tail, head)` as `data_head` was when the batch began.
///
/// Records borrow the batch, so none can be held past the point where the tail is published (when the
/// batch is dropped, or at [`Batch::commit`]).
#[derive(Debug)]
pub struct Batch<'r> {
    pub(super) ring: &'r mut Ring,
    pub(super) head: u64,
    pub(super) pos: u64,
}

/// The records of one contiguous run that [`Batch::for_each`] has handed out: applied to the batch's
/// position and the ring's count when the run ends, or when `f` unwinds (a record handed out is
/// consumed: it is not handed out again, and its loss is counted once).
struct Run<'a> {
    pos: &'a mut u64,
    stats: &'a mut RingStats,
    start: u64,
    at: usize,
    n: u64,
}

impl Drop for Run<'_> {
    #[inline]
    fn drop(&mut self) {
        *self.pos = self.start.wrapping_add(self.at as u64);
        self.stats.records += self.n;
    }
}

impl Ring {
    /// Convenience for simple readers: drains everything readable now, calling `f` for each record, and
    /// publishes the tail. Returns the number of records, or the first corrupt record's error (the
    /// records before it are consumed). If `f` panics, the records handed out before the panic (the
    /// one it panicked on included) are consumed and counted once.
    #[inline]
    pub fn drain(&mut self, f: impl FnMut(Record<'_>)) -> Result<u64> {
        Ok(self.batch()?.for_each(f)?)
    }
}

impl Batch<'_> {
    /// The next record, `None` at `head`, or an error for a corrupt record (after which the batch
    /// yields nothing more; [`Ring::discard`] skips the rest).
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> Option<Result<Record<'_>, ParseError>> {
        let Ring {
            view,
            bounce,
            stats,
            ..
        } = &mut *self.ring;
        next_record(view, bounce, stats, &mut self.pos, &mut self.head)
    }

    /// Bytes left in this batch.
    pub fn remaining(&self) -> u64 {
        self.head.wrapping_sub(self.pos)
    }

    /// Publishes the tail for every record handed out so far, letting the producer reuse that space
    /// while the batch goes on.
    pub fn commit(&mut self) {
        self.ring.publish_tail(self.pos);
    }

    /// Ends the batch without consuming anything: the tail stays where it was when the batch began (or
    /// at the last [`commit`](Self::commit)), and the records will be handed out again.
    pub fn rollback(mut self) {
        self.pos = self.ring.tail;
    }

    /// Visits every remaining record with `f`, stopping at the first corrupt one; returns how many were
    /// visited. This is the fast path: it walks each contiguous run of the window with one slice and a
    /// tight loop, and only a record that straddles the end of the data area goes through the bounce
    /// buffer.
    pub fn for_each(&mut self, mut f: impl FnMut(Record<'_>)) -> Result<u64, ParseError> {
        let mut visited = 0u64;
        while self.pos != self.head {
            let Ring { view, stats, .. } = &mut *self.ring;
            let start = self.pos;
            let slice = view.run(start, self.head);
            let mut run = Run {
                pos: &mut self.pos,
                stats,
                start,
                at: 0,
                n: 0,
            };
            while let Some((h, _)) = slice
                .get(run.at..)
                .and_then(|s| s.split_first_chunk::<EVENT_HEADER_SIZE>())
            {
                let header = EventHeader::from_bytes(*h);
                let len = usize::from(header.size);
                let at = run.at;
                if len < EVENT_HEADER_SIZE || len % 8 != 0 || at + len > slice.len() {
                    break;
                }
                let bytes = &slice[at..at + len];
                // Counted and consumed before `f` sees it, so that a panic in `f` keeps both.
                run.at = at + len;
                run.n += 1;
                if header.r#type != RECORD_SAMPLE {
                    count_loss(run.stats, header.r#type, bytes);
                }
                f(Record {
                    header,
                    bytes,
                    position: start.wrapping_add(at as u64),
                });
            }
            visited += run.n;
            drop(run);
            if self.pos == self.head {
                break;
            }
            // The next record straddles the end, or is malformed: `next_record` decides.
            let Ring {
                view,
                bounce,
                stats,
                ..
            } = &mut *self.ring;
            match next_record_out_of_line(view, bounce, stats, &mut self.pos, &mut self.head) {
                Some(Ok(rec)) => {
                    visited += 1;
                    f(rec);
                }
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok(visited)
    }
}

impl Drop for Batch<'_> {
    #[inline]
    fn drop(&mut self) {
        self.ring.publish_tail(self.pos);
    }
}

/// An overwrite-mode batch: the records written since the previous read, newest first, copied out of
/// the ring by [`Ring::newest`] (the producer is already running again: nothing here borrows the
/// mapping).
#[derive(Debug)]
pub struct NewestBatch<'r> {
    pub(super) ring: &'r mut Ring<Overwrite>,
    /// `data_head` when the copy was made: the ring position of the copy's first byte.
    pub(super) head: u64,
    /// Offsets into the ring's snapshot.
    pub(super) pos: usize,
    pub(super) end: usize,
}

impl NewestBatch<'_> {
    /// The next (older) record, or `None` at the end of the new data; a malformed record is an error,
    /// after which the batch yields nothing more.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Record<'_>, ParseError>> {
        let Ring {
            snapshot, stats, ..
        } = &mut *self.ring;
        let rest = snapshot.get(self.pos..self.end)?;
        if rest.is_empty() {
            return None;
        }
        let (header, bytes) = match checked_record(rest) {
            Ok(r) => r,
            Err(e) => {
                self.end = self.pos;
                return Some(Err(e));
            }
        };
        let position = self.head.wrapping_add(self.pos as u64);
        self.pos += bytes.len();
        Some(Ok(hand_out(stats, header, bytes, position)))
    }

    /// Bytes left in this batch.
    pub fn remaining(&self) -> u64 {
        (self.end - self.pos) as u64
    }
}

/// The first record of `bytes`, checked: a whole header, a valid size, the record within `bytes`.
fn checked_record(bytes: &[u8]) -> Result<(EventHeader, &[u8]), ParseError> {
    let avail = bytes.len() as u64;
    let (h, _) = bytes
        .split_first_chunk::<EVENT_HEADER_SIZE>()
        .ok_or(ParseError::TruncatedHeader { available: avail })?;
    let header = EventHeader::from_bytes(*h);
    let size = header.check_size()?;
    let record = bytes.get(..size).ok_or(ParseError::PastEnd {
        size: size as u64,
        available: avail,
    })?;
    Ok((header, record))
}

/// The record at `*pos` (before `*end`), counting it; advances `*pos`, or on a corrupt record sets
/// `*end = *pos` so that nothing more is handed out. Every reader path goes through here.
///
/// Fast path: a well-formed record before the end of the data area ([`split_record`]); otherwise
/// (a record that straddles the end, or a corrupt one) [`View::record_at`]. Both paths meet as
/// values, so that the record is built once (built on each path, it went through memory, its header
/// stored in halves and reloaded whole: a store-forwarding stall per record).
#[inline]
fn next_record<'a>(
    view: &'a View,
    bounce: &'a mut Vec<u8>,
    stats: &mut RingStats,
    pos: &mut u64,
    end: &mut u64,
) -> Option<Result<Record<'a>, ParseError>> {
    if *pos == *end {
        return None;
    }
    let (header, bytes) = match split_record(view.run(*pos, *end)) {
        Some((header, bytes, _)) => (header, bytes),
        None => match view.record_at(bounce, *pos, *end) {
            Ok(r) => (r.header, r.bytes),
            Err(e) => {
                *end = *pos;
                return Some(Err(e));
            }
        },
    };
    let position = *pos;
    *pos = position.wrapping_add(bytes.len() as u64);
    Some(Ok(hand_out(stats, header, bytes, position)))
}

/// Counts a record handed out one at a time (and its loss, for LOST/LOST_SAMPLES) and builds it.
#[inline(always)]
fn hand_out<'a>(
    stats: &mut RingStats,
    header: EventHeader,
    bytes: &'a [u8],
    position: u64,
) -> Record<'a> {
    stats.records += 1;
    if header.r#type != RECORD_SAMPLE {
        count_loss(stats, header.r#type, bytes);
    }
    Record {
        header,
        bytes,
        position,
    }
}

/// [`next_record`] out of line, for the drain loop's rare exits (a record that straddles the end of the
/// data area, a corrupt one, the end of the batch): inlined there, it costs the hot loop registers.
#[inline(never)]
fn next_record_out_of_line<'a>(
    view: &'a View,
    bounce: &'a mut Vec<u8>,
    stats: &mut RingStats,
    pos: &mut u64,
    end: &mut u64,
) -> Option<Result<Record<'a>, ParseError>> {
    next_record(view, bounce, stats, pos, end)
}
