//! Records about the event's own stream: `LOST`, `THROTTLE`/`UNTHROTTLE`, `READ`, `AUX`.

use crate::raw::Cursor;
use crate::sample::ReadValues;
use crate::ParseError;

/// `PERF_RECORD_LOST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LostRecord {
    /// Id of the event whose records were lost.
    pub id: u64,
    /// Number of records lost.
    pub lost: u64,
}

/// `PERF_RECORD_THROTTLE` and `PERF_RECORD_UNTHROTTLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleRecord {
    /// Timestamp.
    pub time: u64,
    /// Event id.
    pub id: u64,
    /// Stream id.
    pub stream_id: u64,
}

/// `PERF_RECORD_READ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRecord<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The values, as `read_format` lays them out.
    pub values: ReadValues<'a>,
}

/// `PERF_RECORD_AUX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuxRecord {
    /// Offset of the new data in the AUX area.
    pub aux_offset: u64,
    /// Size of the new data.
    pub aux_size: u64,
    /// `PERF_AUX_FLAG_*`.
    pub flags: u64,
}

impl LostRecord {
    pub(super) fn parse(c: &mut Cursor<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            id: c.read_u64("lost.id")?,
            lost: c.read_u64("lost.lost")?,
        })
    }
}

impl ThrottleRecord {
    pub(super) fn parse(c: &mut Cursor<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            time: c.read_u64("throttle.time")?,
            id: c.read_u64("throttle.id")?,
            stream_id: c.read_u64("throttle.stream_id")?,
        })
    }
}

impl<'a> ReadRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>, read_format: u64) -> Result<Self, ParseError> {
        Ok(Self {
            pid: c.read_u32("read.pid")?,
            tid: c.read_u32("read.tid")?,
            values: ReadValues::parse(c, read_format)?,
        })
    }
}

impl AuxRecord {
    pub(super) fn parse(c: &mut Cursor<'_>) -> Result<Self, ParseError> {
        Ok(Self {
            aux_offset: c.read_u64("aux.aux_offset")?,
            aux_size: c.read_u64("aux.aux_size")?,
            flags: c.read_u64("aux.flags")?,
        })
    }
}
