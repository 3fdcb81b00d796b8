//! [`SampleLayout`]: the fixed leading fields of a SAMPLE body, one load each.

use crate::attr::*;

/// Where the fixed-size leading fields of a SAMPLE body sit for one `sample_type`: computed once per
/// event, then each field is one bounds-checked load. This is the fast path for readers that need only
/// these fields (IDENTIFIER, IP, TID, TIME, ADDR, ID, STREAM_ID, CPU, PERIOD);
/// [`Sample::parse`](super::Sample::parse) gives every field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleLayout {
    slots: [u8; 9],
}

const NO_SLOT: u8 = u8::MAX;

impl SampleLayout {
    /// The `sample_type` bits a layout covers, in the order the kernel writes them: a sample whose
    /// `sample_type` has no other bit is read whole through a layout.
    pub const COVERED: u64 = {
        let mut all = 0;
        let mut i = 0;
        while i < Self::BITS.len() {
            all |= Self::BITS[i];
            i += 1;
        }
        all
    };

    const BITS: [u64; 9] = [
        SAMPLE_IDENTIFIER,
        SAMPLE_IP,
        SAMPLE_TID,
        SAMPLE_TIME,
        SAMPLE_ADDR,
        SAMPLE_ID,
        SAMPLE_STREAM_ID,
        SAMPLE_CPU,
        SAMPLE_PERIOD,
    ];

    /// The layout for `sample_type`.
    pub const fn new(sample_type: u64) -> Self {
        let mut slots = [NO_SLOT; 9];
        let mut word = 0u8;
        let mut i = 0;
        while i < Self::BITS.len() {
            if sample_type & Self::BITS[i] != 0 {
                slots[i] = word;
                word += 1;
            }
            i += 1;
        }
        Self { slots }
    }

    #[inline]
    fn word(&self, body: &[u8], i: usize) -> Option<u64> {
        let slot = *self.slots.get(i)?;
        if slot == NO_SLOT {
            return None;
        }
        let off = usize::from(slot) * 8;
        let b = body.get(off..off + 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_ne_bytes(a))
    }

    /// `SAMPLE_IDENTIFIER`.
    #[inline]
    pub fn identifier(&self, body: &[u8]) -> Option<u64> {
        self.word(body, 0)
    }

    /// `SAMPLE_IP`.
    #[inline]
    pub fn ip(&self, body: &[u8]) -> Option<u64> {
        self.word(body, 1)
    }

    /// `SAMPLE_TID` as `(pid, tid)`.
    #[inline]
    pub fn pid_tid(&self, body: &[u8]) -> Option<(u32, u32)> {
        let w = self.word(body, 2)?.to_ne_bytes();
        Some((
            u32::from_ne_bytes([w[0], w[1], w[2], w[3]]),
            u32::from_ne_bytes([w[4], w[5], w[6], w[7]]),
        ))
    }

    /// `SAMPLE_TIME`.
    #[inline]
    pub fn time(&self, body: &[u8]) -> Option<u64> {
        self.word(body, 3)
    }

    /// `SAMPLE_ADDR`.
    #[inline]
    pub fn addr(&self, body: &[u8]) -> Option<u64> {
        self.word(body, 4)
    }

    /// `SAMPLE_ID`.
    #[inline]
    pub fn id(&self, body: &[u8]) -> Option<u64> {
        self.word(body, 5)
    }

    /// `SAMPLE_STREAM_ID`.
    #[inline]
    pub fn stream_id(&self, body: &[u8]) -> Option<u64> {
        self.word(body, 6)
    }

    /// `SAMPLE_CPU` (the cpu; the reserved half is dropped).
    #[inline]
    pub fn cpu(&self, body: &[u8]) -> Option<u32> {
        let w = self.word(body, 7)?.to_ne_bytes();
        Some(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
    }

    /// `SAMPLE_PERIOD`.
    #[inline]
    pub fn period(&self, body: &[u8]) -> Option<u64> {
        self.word(body, 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawData;
    use crate::sample::*;
    use crate::sample::{Sample, SampleFormat};

    #[test]
    fn callchain_markers_are_perfs_negative_numbers() {
        let m = [
            (CONTEXT_HV, -32i64),
            (CONTEXT_KERNEL, -128),
            (CONTEXT_USER, -512),
            (CONTEXT_USER_DEFERRED, -640),
            (CONTEXT_GUEST, -2048),
            (CONTEXT_GUEST_KERNEL, -2176),
            (CONTEXT_GUEST_USER, -2560),
            (CONTEXT_MAX, -4095),
        ];
        for (c, n) in m {
            assert_eq!(c as i64, n);
        }
    }

    #[test]
    fn callchain_markers_are_named_and_addresses_are_not() {
        assert_eq!(context_name(CONTEXT_KERNEL), Some("kernel"));
        assert_eq!(context_name(CONTEXT_USER), Some("user"));
        assert_eq!(context_name(0xfffffffffffffe00), Some("user"));
        assert_eq!(context_name(u64::MAX), Some("unknown_context"));
        assert_eq!(context_name(CONTEXT_MAX - 1), None);
        assert_eq!(context_name(0xffffffff81000000), None);
        assert_eq!(context_name(0x401000), None);
    }

    #[test]
    fn layout_reads_what_the_full_parser_reads() {
        let st =
            SAMPLE_IDENTIFIER | SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_CPU | SAMPLE_PERIOD;
        let mut body = [0u8; 48];
        for (i, w) in [9u64, 0x401000, (7u64 << 32) | 5, 1234, 3, 1]
            .iter()
            .enumerate()
        {
            body[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
        }
        let full = Sample::parse(RawData::Single(&body), &SampleFormat::new(st)).unwrap();
        let l = SampleLayout::new(st);
        assert_eq!(l.identifier(&body), full.identifier);
        assert_eq!(l.ip(&body), full.ip);
        assert_eq!(
            l.pid_tid(&body),
            Some((full.pid.unwrap(), full.tid.unwrap()))
        );
        assert_eq!(l.time(&body), full.time);
        assert_eq!(l.cpu(&body), full.cpu);
        assert_eq!(l.period(&body), full.period);
        assert_eq!(l.addr(&body), None);
        assert_eq!(l.ip(&body[..12]), None, "a short body is None, not a panic");
    }
}
