//! The `sample_id` trailer of non-sample records (`attr.sample_id_all`).

use crate::attr::*;
use crate::raw::{Cursor, RawData};
use crate::sample::SampleFormat;
use crate::ParseError;

/// The `sample_id` trailer of non-sample records (`attr.sample_id_all`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleId {
    /// `SAMPLE_TID`: pid.
    pub pid: Option<u32>,
    /// `SAMPLE_TID`: tid.
    pub tid: Option<u32>,
    /// `SAMPLE_TIME`.
    pub time: Option<u64>,
    /// `SAMPLE_ID`.
    pub id: Option<u64>,
    /// `SAMPLE_STREAM_ID`.
    pub stream_id: Option<u64>,
    /// `SAMPLE_CPU`: cpu.
    pub cpu: Option<u32>,
    /// `SAMPLE_IDENTIFIER`.
    pub identifier: Option<u64>,
}

impl SampleId {
    /// Parses a trailer of exactly `format.sample_id_size()` bytes.
    pub fn parse(data: RawData<'_>, format: &SampleFormat) -> Result<Self, ParseError> {
        let c = &mut Cursor::new(data);
        let st = format.sample_type;
        let mut s = SampleId::default();
        if st & SAMPLE_TID != 0 {
            s.pid = Some(c.read_u32("sample_id.pid")?);
            s.tid = Some(c.read_u32("sample_id.tid")?);
        }
        if st & SAMPLE_TIME != 0 {
            s.time = Some(c.read_u64("sample_id.time")?);
        }
        if st & SAMPLE_ID != 0 {
            s.id = Some(c.read_u64("sample_id.id")?);
        }
        if st & SAMPLE_STREAM_ID != 0 {
            s.stream_id = Some(c.read_u64("sample_id.stream_id")?);
        }
        if st & SAMPLE_CPU != 0 {
            s.cpu = Some(c.read_u32("sample_id.cpu")?);
            c.read_u32("sample_id.res")?;
        }
        if st & SAMPLE_IDENTIFIER != 0 {
            s.identifier = Some(c.read_u64("sample_id.identifier")?);
        }
        Ok(s)
    }
}
