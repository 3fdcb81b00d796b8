//! Ring geometry, free-running positions, and record iteration over the `[tail, head)` window, which is
//! at most two slices of the data area.
//!
//! Positions (`data_head`, `data_tail`) are free-running `u64` byte counters; the offset in the data area
//! is `pos & (data_size - 1)`. Only `[tail, head)` is stable, and only until the consumer publishes a new
//! tail. Nothing here touches shared memory: callers pass the positions they loaded and the slices they
//! formed over the stable window.

use crate::header::{EventHeader, EVENT_HEADER_SIZE};
use crate::raw::RawData;
use crate::records::ParsedRecord;
use crate::sample::SampleFormat;
use crate::ParseError;
use core::ops::Range;

/// The largest record: `header.size` is a `u16`, so a bounce buffer of this size always suffices.
pub const MAX_RECORD_SIZE: usize = 65535;

/// Validated layout of a ring mapping: one control page, then `data_size` bytes of data at `data_offset`.
///
/// # Invariants
///
/// `data_size` is a non-zero power of two and a multiple of `page_size`; `data_offset` is a non-zero
/// multiple of `page_size` (the control page comes first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingGeometry {
    data_offset: u64,
    data_size: u64,
    page_size: u64,
}

impl RingGeometry {
    /// Checks the values a control page publishes (`data_offset`, `data_size`) against the page size and,
    /// when known, the length of the mapping they must fit in.
    pub const fn new(
        data_offset: u64,
        data_size: u64,
        page_size: u64,
        mapping_len: Option<u64>,
    ) -> Result<Self, ParseError> {
        if page_size == 0 || !page_size.is_power_of_two() {
            return Err(ParseError::BadGeometry("page size is not a power of two"));
        }
        if data_size == 0 || !data_size.is_power_of_two() {
            return Err(ParseError::BadGeometry("data_size is not a power of two"));
        }
        if data_size % page_size != 0 {
            return Err(ParseError::BadGeometry(
                "data_size is not a multiple of the page size",
            ));
        }
        if data_offset == 0 || data_offset % page_size != 0 {
            return Err(ParseError::BadGeometry(
                "data_offset is not a non-zero page multiple",
            ));
        }
        let end = match data_offset.checked_add(data_size) {
            Some(e) => e,
            None => return Err(ParseError::BadGeometry("data area overflows")),
        };
        if let Some(len) = mapping_len {
            if end > len {
                return Err(ParseError::BadGeometry(
                    "data area extends past the mapping",
                ));
            }
        }
        // INVARIANT: every condition of the type invariant was checked above.
        Ok(Self {
            data_offset,
            data_size,
            page_size,
        })
    }

    /// The geometry of a perf-style ring of `data_pages` data pages (a power of two) after one control
    /// page.
    pub const fn for_pages(data_pages: u64, page_size: u64) -> Result<Self, ParseError> {
        let size = match data_pages.checked_mul(page_size) {
            Some(s) => s,
            None => return Err(ParseError::BadGeometry("data area overflows")),
        };
        Self::new(page_size, size, page_size, None)
    }

    /// Offset of the data area from the start of the mapping.
    pub const fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Size of the data area in bytes.
    pub const fn data_size(&self) -> u64 {
        self.data_size
    }

    /// Number of data pages.
    pub const fn data_pages(&self) -> u64 {
        self.data_size / self.page_size
    }

    /// Length of the mapping: the control page(s) and the data area.
    pub const fn mmap_len(&self) -> u64 {
        self.data_offset + self.data_size
    }

    /// `data_size - 1`.
    pub const fn mask(&self) -> u64 {
        self.data_size - 1
    }

    /// Offset in the data area of free-running position `pos`.
    pub const fn offset(&self, pos: u64) -> usize {
        (pos & self.mask()) as usize
    }

    /// Bytes readable in `[tail, head)`, or [`ParseError::RingOverrun`] when the positions are impossible
    /// (`head - tail > data_size`, which includes a head behind the tail).
    pub const fn readable(&self, head: u64, tail: u64) -> Result<u64, ParseError> {
        let n = head.wrapping_sub(tail);
        if n > self.data_size {
            Err(ParseError::RingOverrun {
                head,
                tail,
                size: self.data_size,
            })
        } else {
            Ok(n)
        }
    }

    /// The window `[tail, head)` as at most two ranges of offsets in the data area: the first runs to
    /// the end of the area (or to head), the second (possibly empty) continues at offset 0.
    pub const fn window(
        &self,
        head: u64,
        tail: u64,
    ) -> Result<(Range<usize>, Range<usize>), ParseError> {
        let n = match self.readable(head, tail) {
            Ok(n) => n as usize,
            Err(e) => return Err(e),
        };
        let start = self.offset(tail);
        let size = self.data_size as usize;
        if start + n <= size {
            Ok((start..start + n, 0..0))
        } else {
            Ok((start..size, 0..(start + n - size)))
        }
    }

    /// Space free for the producer in consume mode: `data_size - (head - tail)`, or an error when the
    /// positions are impossible.
    pub const fn free_space(&self, head: u64, tail: u64) -> Result<u64, ParseError> {
        match self.readable(head, tail) {
            Ok(n) => Ok(self.data_size - n),
            Err(e) => Err(e),
        }
    }
}

/// Number of data pages of a mapping of `len` bytes laid out as 1 + 2^n pages; `None` when `len` is not
/// such a size. A 1-page (control only) mapping has 0 data pages.
pub const fn data_pages_for_mmap_len(len: u64, page_size: u64) -> Option<u64> {
    if page_size == 0 || len == 0 || len % page_size != 0 {
        return None;
    }
    let data = len / page_size - 1;
    if data == 0 || data.is_power_of_two() {
        Some(data)
    } else {
        None
    }
}

/// One record in a byte stream: its header, its body, and where it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// The header.
    pub header: EventHeader,
    /// The body after the header (`header.size - 8` bytes), possibly split at the ring's end.
    pub body: RawData<'a>,
    /// The whole record, header included.
    pub bytes: RawData<'a>,
    /// Offset of the record from the start of the stream (add the tail to get its ring position).
    pub offset: u64,
}

impl<'a> RawRecord<'a> {
    /// Parses the record according to `format`: [`ParsedRecord::parse`].
    #[inline]
    pub fn parse(&self, format: &SampleFormat) -> Result<ParsedRecord<'a>, ParseError> {
        ParsedRecord::parse(self.header, self.body, format)
    }
}

/// Iterates over the records of a byte stream given as one or two slices (a ring window or a file's
/// data section), checking every header. After the first error it yields nothing more, so a corrupt
/// stream can never make a caller loop.
#[derive(Clone, Debug)]
pub struct RecordIter<'a> {
    rest: RawData<'a>,
    offset: u64,
    failed: bool,
}

impl<'a> RecordIter<'a> {
    /// Iterates over the records in `data`.
    pub fn new(data: RawData<'a>) -> Self {
        Self {
            rest: data,
            offset: 0,
            failed: false,
        }
    }

    /// Bytes consumed so far: the offset of the next record, which is also how far a consumer may advance
    /// its tail after the records it has handled.
    pub fn consumed(&self) -> u64 {
        self.offset
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Reads the next header without consuming anything.
    pub fn peek_header(&self) -> Result<Option<EventHeader>, ParseError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let mut h = [0u8; EVENT_HEADER_SIZE];
        self.rest
            .copy_prefix_to(&mut h)
            .ok_or(ParseError::TruncatedHeader {
                available: self.rest.len() as u64,
            })?;
        Ok(Some(EventHeader::from_bytes(h)))
    }

    #[inline]
    fn next_record(&mut self) -> Result<Option<RawRecord<'a>>, ParseError> {
        // Fast path: contiguous bytes and a well-formed header.
        if let RawData::Single(s) = self.rest {
            if let Some((h, _)) = s.split_first_chunk::<EVENT_HEADER_SIZE>() {
                let header = EventHeader::from_bytes(*h);
                let size = header.size as usize;
                if size >= EVENT_HEADER_SIZE && size % 8 == 0 && size <= s.len() {
                    let (bytes, rest) = s.split_at(size);
                    let rec = RawRecord {
                        header,
                        body: RawData::Single(&bytes[EVENT_HEADER_SIZE..]),
                        bytes: RawData::Single(bytes),
                        offset: self.offset,
                    };
                    self.rest = RawData::Single(rest);
                    self.offset += size as u64;
                    return Ok(Some(rec));
                }
            }
        }
        let Some(header) = self.peek_header()? else {
            return Ok(None);
        };
        let size = header.check_size()?;
        let (bytes, rest) = self.rest.split_at(size).ok_or(ParseError::PastEnd {
            size: size as u64,
            available: self.rest.len() as u64,
        })?;
        let body = match bytes.split_at(EVENT_HEADER_SIZE) {
            Some((_, body)) => body,
            None => RawData::EMPTY,
        };
        let rec = RawRecord {
            header,
            body,
            bytes,
            offset: self.offset,
        };
        self.rest = rest;
        self.offset += size as u64;
        Ok(Some(rec))
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RawRecord<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_record() {
            Ok(r) => r.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for RecordIter<'_> {}

/// Finds how much of an overwrite-mode (`write_backward`) window holds whole records, as perf's
/// `overwrite_rb_find_range` does: walks headers from `start` (the newest record, at `data_head`) for at
/// most `data_size` bytes and stops before the first record that is absent (size 0: never written),
/// malformed or cut by the window. Returns the number of bytes of whole records.
pub fn backward_whole_records(window: RawData<'_>) -> u64 {
    let mut it = RecordIter::new(window);
    while let Some(Ok(_)) = it.next() {}
    // `consumed` only counts whole records; a failure leaves it at the last good boundary.
    it.consumed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_rejects_bad_layouts() {
        assert!(RingGeometry::new(4096, 4096 * 8, 4096, Some(4096 * 9)).is_ok());
        assert!(RingGeometry::new(4096, 4096 * 3, 4096, None).is_err());
        assert!(RingGeometry::new(4096, 0, 4096, None).is_err());
        assert!(RingGeometry::new(0, 4096, 4096, None).is_err());
        assert!(RingGeometry::new(4096, 2048, 4096, None).is_err());
        assert!(RingGeometry::new(4096, 4096 * 8, 4096, Some(4096 * 8)).is_err());
        assert!(RingGeometry::new(u64::MAX - 4095, 4096, 4096, None).is_err());
        assert!(RingGeometry::new(4096, 4096, 3000, None).is_err());
    }

    #[test]
    fn mmap_len_must_be_one_plus_power_of_two_pages() {
        assert_eq!(data_pages_for_mmap_len(4096, 4096), Some(0));
        assert_eq!(data_pages_for_mmap_len(2 * 4096, 4096), Some(1));
        assert_eq!(data_pages_for_mmap_len(9 * 4096, 4096), Some(8));
        assert_eq!(data_pages_for_mmap_len(4 * 4096, 4096), None);
        assert_eq!(data_pages_for_mmap_len(4097, 4096), None);
        assert_eq!(data_pages_for_mmap_len(0, 4096), None);
    }

    #[test]
    fn window_splits_at_the_end_and_rejects_overruns() {
        let g = RingGeometry::for_pages(1, 4096).unwrap();
        assert_eq!(g.window(100, 0).unwrap(), (0..100, 0..0));
        assert_eq!(g.window(4096 + 8, 4000).unwrap(), (4000..4096, 0..8));
        assert_eq!(
            g.window(u64::MAX, u64::MAX - 16).unwrap(),
            (4079..4095, 0..0)
        );
        assert_eq!(g.window(7, u64::MAX - 8).unwrap(), (4087..4096, 0..7));
        assert!(matches!(
            g.window(5000, 0),
            Err(ParseError::RingOverrun { .. })
        ));
        assert!(matches!(
            g.window(0, 8),
            Err(ParseError::RingOverrun { .. })
        ));
    }

    fn rec(ty: u32, size: u16) -> [u8; 8] {
        EventHeader {
            r#type: ty,
            misc: 0,
            size,
        }
        .to_bytes()
    }

    #[test]
    fn iterator_reports_each_malformed_header_once_and_stops() {
        for (bytes, want) in [
            (rec(9, 0), ParseError::SizeZero),
            (rec(9, 4), ParseError::SizeTooSmall { size: 4 }),
            (rec(9, 12), ParseError::SizeUnaligned { size: 12 }),
            (
                rec(9, 16),
                ParseError::PastEnd {
                    size: 16,
                    available: 8,
                },
            ),
        ] {
            let mut it = RecordIter::new(RawData::Single(&bytes));
            assert_eq!(it.next(), Some(Err(want)));
            assert_eq!(it.next(), None);
            assert_eq!(it.consumed(), 0);
        }
        let short = [1u8, 2, 3];
        let mut it = RecordIter::new(RawData::Single(&short));
        assert_eq!(
            it.next(),
            Some(Err(ParseError::TruncatedHeader { available: 3 }))
        );
    }
}
