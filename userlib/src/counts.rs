//! [`Counts`]: a counter or group read, decoded as the event's `read_format` says.

use crate::error::{Error, Result};
use premap_abi::raw::{Cursor, RawData};
use premap_abi::sample::{ReadValue, ReadValues};
use premap_abi::ParseError;

/// A counter read, decoded as the event's `read_format` says ([`crate::PerfEvent::read_counts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Nanoseconds the event was enabled (`FORMAT_TOTAL_TIME_ENABLED`).
    pub time_enabled: Option<u64>,
    /// Nanoseconds the event was counting on a PMU (`FORMAT_TOTAL_TIME_RUNNING`); below
    /// `time_enabled` when the PMU was multiplexed.
    pub time_running: Option<u64>,
    /// One value for a single event; the leader's and then each member's for a group read
    /// (`FORMAT_GROUP`), with ids and lost counts as the format asks.
    pub values: Vec<ReadValue>,
}

impl Counts {
    /// Decodes the bytes `read(2)` returned for an event with `read_format`; every byte must be used.
    pub fn parse(bytes: &[u8], read_format: u64) -> Result<Self> {
        let mut c = Cursor::new(RawData::Single(bytes));
        let v = ReadValues::parse(&mut c, read_format).map_err(Error::Corrupt)?;
        if c.remaining() != 0 {
            return Err(Error::Corrupt(ParseError::TrailingBytes {
                field: "the read_format block",
                extra: c.remaining() as u64,
            }));
        }
        Ok(Self {
            time_enabled: v.time_enabled,
            time_running: v.time_running,
            values: v.values.iter().collect(),
        })
    }

    /// The first value: the single event's, or the group leader's.
    pub fn value(&self) -> Option<u64> {
        self.values.first().map(|v| v.value)
    }

    /// Value `i` scaled for multiplexing as `perf stat` does (`value * enabled / running`); `None`
    /// without both times, when the event never ran, or when `i` is out of range.
    pub fn scaled(&self, i: usize) -> Option<u64> {
        let v = self.values.get(i)?.value;
        let (enabled, running) = (self.time_enabled?, self.time_running?);
        if running == 0 {
            return None;
        }
        u64::try_from(u128::from(v) * u128::from(enabled) / u128::from(running)).ok()
    }

    /// The value of the event with `id` (needs `FORMAT_ID`).
    pub fn by_id(&self, id: u64) -> Option<&ReadValue> {
        self.values.iter().find(|v| v.id == Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use premap_abi::attr::*;

    fn words(w: &[u64]) -> Vec<u8> {
        w.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    #[test]
    fn counts_decode_single_and_group_reads() {
        let rf = FORMAT_TOTAL_TIME_ENABLED | FORMAT_TOTAL_TIME_RUNNING | FORMAT_ID;
        let c = Counts::parse(&words(&[300, 1000, 250, 7]), rf).unwrap();
        assert_eq!(c.value(), Some(300));
        assert_eq!(c.values[0].id, Some(7));
        // Multiplexed a quarter of the time: scaled up four times, as perf stat does.
        assert_eq!(c.scaled(0), Some(1200));
        let g = FORMAT_GROUP | FORMAT_ID | FORMAT_LOST;
        let c = Counts::parse(&words(&[2, 10, 1, 0, 20, 2, 5]), g).unwrap();
        assert_eq!(c.values.len(), 2);
        assert_eq!(c.by_id(2).map(|v| (v.value, v.lost)), Some((20, Some(5))));
        assert_eq!(c.scaled(0), None, "no times were read");
    }

    #[test]
    fn counts_refuse_short_and_long_reads_and_survive_huge_values() {
        let rf = FORMAT_TOTAL_TIME_ENABLED | FORMAT_TOTAL_TIME_RUNNING;
        assert!(matches!(
            Counts::parse(&words(&[1, 2]), rf),
            Err(Error::Corrupt(ParseError::Truncated { .. }))
        ));
        assert!(matches!(
            Counts::parse(&words(&[1, 2, 3, 4]), rf),
            Err(Error::Corrupt(ParseError::TrailingBytes { extra: 8, .. }))
        ));
        // A group whose nr is larger than the bytes.
        assert!(Counts::parse(&words(&[u64::MAX, 1]), FORMAT_GROUP).is_err());
        // Never ran, or a product past u64: None, not a panic.
        let c = Counts::parse(&words(&[5, 10, 0]), rf).unwrap();
        assert_eq!(c.scaled(0), None);
        let c = Counts::parse(&words(&[u64::MAX, u64::MAX, 1]), rf).unwrap();
        assert_eq!(c.scaled(0), None);
        assert_eq!(c.scaled(1), None);
    }
}
