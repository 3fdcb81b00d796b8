//! The producer side of the ring protocol (kernel/events/ring_buffer.c), as plain Rust over a
//! [`DataArea`]: the premap driver runs it over its pages, premap's synthetic ring over an anonymous
//! mapping, and the tests over a byte vector.
//!
//! Consume mode: load `data_tail` (Acquire), drop and count a record that does not fit, report earlier
//! drops with `PERF_RECORD_LOST` as soon as there is room, write the bytes, then publish `data_head`
//! (Release: the `smp_wmb()` before the store). Overwrite mode: move `data_head` backward by the
//! record's size and write there, ignoring `data_tail` (`write_backward`).

use crate::control::ControlMut;
use crate::header::{EventHeader, EVENT_HEADER_SIZE, RECORD_LOST, RECORD_USER_TYPE_START};
use crate::ring::RingGeometry;
use crate::ParseError;

/// Somewhere the producer can write the data area's bytes.
pub trait DataArea {
    /// Writes `bytes` at `offset` in the data area. The producer never asks for a range that crosses the
    /// end of the area; it splits such writes in two.
    fn write_at(&mut self, offset: usize, bytes: &[u8]);
}

impl DataArea for [u8] {
    fn write_at(&mut self, offset: usize, bytes: &[u8]) {
        if let Some(dst) = self.get_mut(offset..offset + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    }
}

/// Counters the producer keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Records published.
    pub records: u64,
    /// Bytes published (LOST records included).
    pub bytes: u64,
    /// Records dropped.
    pub lost: u64,
    /// LOST records written.
    pub lost_records: u64,
}

/// The producer's own state: its position and what it has dropped.
#[derive(Clone, Debug)]
pub struct Producer {
    geom: RingGeometry,
    overwrite: bool,
    head: u64,
    pending_lost: u64,
    lost_id: u64,
    paused: bool,
    stats: ProducerStats,
}

/// Size of the LOST record the producer emits: header, id, count (no sample_id trailer).
pub const LOST_RECORD_SIZE: usize = 24;

impl Producer {
    /// A producer for a ring of geometry `geom` whose head starts at `head`.
    pub const fn new(geom: RingGeometry, overwrite: bool, head: u64) -> Self {
        Self {
            geom,
            overwrite,
            head,
            pending_lost: 0,
            lost_id: 0,
            paused: false,
            stats: ProducerStats {
                records: 0,
                bytes: 0,
                lost: 0,
                lost_records: 0,
            },
        }
    }

    /// The counters.
    pub const fn stats(&self) -> ProducerStats {
        self.stats
    }

    /// Records dropped and not yet reported with a LOST record.
    pub const fn pending_lost(&self) -> u64 {
        self.pending_lost
    }

    /// Forgets dropped records instead of reporting them (for callers that retry them).
    pub fn forget_lost(&mut self) {
        self.pending_lost = 0;
    }

    /// Sets the id written into LOST records.
    pub fn set_lost_id(&mut self, id: u64) {
        self.lost_id = id;
    }

    /// Pauses (records are dropped and counted) or resumes output, as `PERF_EVENT_IOC_PAUSE_OUTPUT`.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Whether output is paused.
    pub const fn paused(&self) -> bool {
        self.paused
    }

    /// The current head (what was last published).
    pub const fn head(&self) -> u64 {
        self.head
    }

    fn copy_in(&self, area: &mut (impl DataArea + ?Sized), pos: u64, bytes: &[u8]) {
        let size = self.geom.data_size() as usize;
        let off = self.geom.offset(pos);
        let first = bytes.len().min(size - off);
        let (a, b) = bytes.split_at(first);
        area.write_at(off, a);
        if !b.is_empty() {
            area.write_at(0, b);
        }
    }

    fn drop_one(&mut self) -> bool {
        self.pending_lost += 1;
        self.stats.lost += 1;
        false
    }

    /// Writes one whole record (`record` starts with its header and `header.size == record.len()`; the
    /// caller validated it) and publishes it. Returns whether it was written.
    pub fn emit(
        &mut self,
        area: &mut (impl DataArea + ?Sized),
        ctl: &ControlMut,
        record: &[u8],
    ) -> bool {
        let len = record.len() as u64;
        if len == 0 || len > self.geom.data_size() || self.paused {
            return self.drop_one();
        }
        if self.overwrite {
            self.head = self.head.wrapping_sub(len);
            self.copy_in(area, self.head, record);
        } else {
            let tail = ctl.load_data_tail();
            let Ok(mut free) = self.geom.free_space(self.head, tail) else {
                // The consumer published an impossible tail: treat the ring as full.
                return self.drop_one();
            };
            if self.pending_lost > 0 {
                if free < LOST_RECORD_SIZE as u64 + len {
                    return self.drop_one();
                }
                let mut lost = [0u8; LOST_RECORD_SIZE];
                let h = EventHeader {
                    r#type: RECORD_LOST,
                    misc: 0,
                    size: LOST_RECORD_SIZE as u16,
                };
                let (hdr, rest) = lost.split_at_mut(EVENT_HEADER_SIZE);
                hdr.copy_from_slice(&h.to_bytes());
                let (id, count) = rest.split_at_mut(8);
                id.copy_from_slice(&self.lost_id.to_ne_bytes());
                count.copy_from_slice(&self.pending_lost.to_ne_bytes());
                self.copy_in(area, self.head, &lost);
                self.head = self.head.wrapping_add(LOST_RECORD_SIZE as u64);
                self.stats.lost_records += 1;
                self.stats.bytes += LOST_RECORD_SIZE as u64;
                self.pending_lost = 0;
                free -= LOST_RECORD_SIZE as u64;
            }
            if free < len {
                return self.drop_one();
            }
            self.copy_in(area, self.head, record);
            self.head = self.head.wrapping_add(len);
        }
        self.stats.records += 1;
        self.stats.bytes += len;
        // smp_wmb(); then the new head: Release orders the data before it.
        ctl.store_data_head(self.head);
        true
    }
}

/// Checks a buffer of records that user space asks to publish (`write()` on the driver): every header
/// valid (size not 0, at least 8, a multiple of 8, within the buffer), the records exactly filling the
/// buffer, each at most `max_record` bytes, no record of the perf tool's own types (64 and up), which
/// never appear in a ring, and no `PERF_RECORD_LOST`, which only the producer writes (a forged one would
/// corrupt every reader's loss accounting). Returns the number of records. Nothing is published unless
/// all pass.
pub fn validate_records(bytes: &[u8], max_record: usize) -> Result<usize, ParseError> {
    let mut it = crate::ring::RecordIter::new(crate::RawData::Single(bytes));
    let mut n = 0;
    for rec in it.by_ref() {
        let rec = rec?;
        let size = rec.header.size as usize;
        if size > max_record {
            return Err(ParseError::PastEnd {
                size: size as u64,
                available: max_record as u64,
            });
        }
        let ty = rec.header.r#type;
        if ty >= RECORD_USER_TYPE_START || ty == 0 || ty == RECORD_LOST {
            return Err(ParseError::ForbiddenType { r#type: ty });
        }
        n += 1;
    }
    if n == 0 {
        return Err(ParseError::TruncatedHeader { available: 0 });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::ControlPage;
    use crate::header::RECORD_SAMPLE;
    use core::ptr::NonNull;

    fn rec(size: u16, fill: u8) -> [u8; 64] {
        let mut r = [fill; 64];
        r[..8].copy_from_slice(
            &EventHeader {
                r#type: RECORD_SAMPLE,
                misc: 0,
                size,
            }
            .to_bytes(),
        );
        r
    }

    #[test]
    fn consume_mode_drops_when_full_and_reports_lost_when_room_returns() {
        let geom = RingGeometry::new(4096, 256, 8, None).unwrap();
        let mut page = ControlPage::ZEROED;
        // SAFETY: `page` is a live, aligned, writable control page (a local) for the whole test.
        let ctl = unsafe { ControlMut::new(NonNull::from(&mut page)) };
        let mut data = [0u8; 256];
        let mut p = Producer::new(geom, false, 0);
        let r = rec(64, 1);
        for _ in 0..4 {
            assert!(p.emit(&mut data[..], &ctl, &r));
        }
        assert!(!p.emit(&mut data[..], &ctl, &r), "full");
        assert!(!p.emit(&mut data[..], &ctl, &r), "still full");
        assert_eq!((p.pending_lost(), ctl.load_data_head()), (2, 256));
        ctl.store_data_tail(128);
        assert!(p.emit(&mut data[..], &ctl, &r));
        // LOST {id 0, lost 2} then the record, wrapped to offset 0.
        assert_eq!(
            &data[..8],
            &EventHeader {
                r#type: RECORD_LOST,
                misc: 0,
                size: 24
            }
            .to_bytes()
        );
        assert_eq!(u64::from_ne_bytes(data[16..24].try_into().unwrap()), 2);
        assert_eq!(ctl.load_data_head(), 256 + 24 + 64);
        assert_eq!(
            p.stats(),
            ProducerStats {
                records: 5,
                bytes: 5 * 64 + 24,
                lost: 2,
                lost_records: 1
            }
        );
    }

    #[test]
    fn overwrite_mode_writes_backward_and_ignores_the_tail() {
        let geom = RingGeometry::new(4096, 128, 8, None).unwrap();
        let mut page = ControlPage::ZEROED;
        // SAFETY: as above.
        let ctl = unsafe { ControlMut::new(NonNull::from(&mut page)) };
        let mut data = [0u8; 128];
        let mut p = Producer::new(geom, true, 0);
        for i in 0..5u8 {
            assert!(p.emit(&mut data[..], &ctl, &rec(48, i)[..48]));
        }
        assert_eq!(ctl.load_data_head(), 0u64.wrapping_sub(5 * 48));
        // The newest record (fill 4) starts at the head.
        let off = geom.offset(ctl.load_data_head());
        assert_eq!(data[off + 8], 4);
    }

    #[test]
    fn user_records_are_validated_before_anything_is_published() {
        let good = rec(64, 0);
        assert_eq!(validate_records(&good, 4096), Ok(1));
        assert_eq!(
            validate_records(&[], 4096),
            Err(ParseError::TruncatedHeader { available: 0 })
        );
        assert_eq!(
            validate_records(&good[..32], 4096).unwrap_err(),
            ParseError::PastEnd {
                size: 64,
                available: 32
            }
        );
        assert_eq!(
            validate_records(&rec(0, 0), 4096).unwrap_err(),
            ParseError::SizeZero
        );
        assert!(validate_records(&good, 32).is_err(), "larger than the ring");
        let mut user = good;
        user[..4].copy_from_slice(&68u32.to_ne_bytes());
        assert!(
            validate_records(&user, 4096).is_err(),
            "perf-tool types are not ring records"
        );
    }
}
