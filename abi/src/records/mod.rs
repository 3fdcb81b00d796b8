//! Typed, borrowed views of every record body and of the `sample_id` trailer.
//!
//! One name per concept: a record as a stream, a ring or a file hands it out, unparsed, is
//! [`crate::ring::RawRecord`], `premap::Record` or `premap_perfdata::FileRecord`; their `parse` methods all
//! call [`ParsedRecord::parse`], the one parser, which turns a header and its body (a [`RawData`], possibly split at the ring's end) into a [`ParsedRecord`]: the
//! header, the [`RecordBody`] and the `sample_id` trailer. Types this crate does not know are kept as
//! [`RecordBody::Raw`], never rejected. Each record's
//! struct and its parser sit together: mmap.rs, task.rs, stream.rs, kernel.rs, tool.rs, sample_id.rs.

use crate::header::*;
use crate::raw::{Cursor, RawData};
use crate::sample::{Sample, SampleFormat};
use crate::ParseError;

mod kernel;
mod mmap;
mod sample_id;
mod stream;
mod task;
mod tool;

// The kernel build (driver/) compiles this crate as a private module and uses part of these.
#[allow(unused_imports)]
pub use kernel::{BpfEventRecord, CallchainDeferredRecord, KsymbolRecord, TextPokeRecord};
#[allow(unused_imports)]
pub use mmap::{Mmap2FileId, Mmap2Record, MmapRecord};
#[allow(unused_imports)]
pub use sample_id::SampleId;
#[allow(unused_imports)]
pub use stream::{AuxRecord, LostRecord, ReadRecord, ThrottleRecord};
#[allow(unused_imports)]
pub use task::{CgroupRecord, CommRecord, NamespacesRecord, TaskRecord};
#[allow(unused_imports)]
pub use tool::HeaderAttrRecord;

/// A parsed record body: one variant per record type.
///
/// `Sample` is much larger than the other variants; the enum is a short-lived borrowed view built on the
/// stack, and boxing would need an allocator this crate does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum RecordBody<'a> {
    /// `PERF_RECORD_MMAP`.
    Mmap(MmapRecord<'a>),
    /// `PERF_RECORD_LOST`.
    Lost(LostRecord),
    /// `PERF_RECORD_COMM`.
    Comm(CommRecord<'a>),
    /// `PERF_RECORD_EXIT`.
    Exit(TaskRecord),
    /// `PERF_RECORD_THROTTLE`.
    Throttle(ThrottleRecord),
    /// `PERF_RECORD_UNTHROTTLE`.
    Unthrottle(ThrottleRecord),
    /// `PERF_RECORD_FORK`.
    Fork(TaskRecord),
    /// `PERF_RECORD_READ`.
    Read(ReadRecord<'a>),
    /// `PERF_RECORD_SAMPLE`.
    Sample(Sample<'a>),
    /// `PERF_RECORD_MMAP2`.
    Mmap2(Mmap2Record<'a>),
    /// `PERF_RECORD_AUX`.
    Aux(AuxRecord),
    /// `PERF_RECORD_ITRACE_START`: pid, tid.
    ItraceStart {
        /// Process id.
        pid: u32,
        /// Thread id.
        tid: u32,
    },
    /// `PERF_RECORD_LOST_SAMPLES`: number of samples lost (for example by a PMU).
    LostSamples {
        /// Samples lost.
        lost: u64,
    },
    /// `PERF_RECORD_SWITCH` (direction in `misc`: `RECORD_MISC_SWITCH_OUT`).
    Switch,
    /// `PERF_RECORD_SWITCH_CPU_WIDE`.
    SwitchCpuWide {
        /// The pid switched to (in) or from (out).
        next_prev_pid: u32,
        /// The tid switched to or from.
        next_prev_tid: u32,
    },
    /// `PERF_RECORD_NAMESPACES`.
    Namespaces(NamespacesRecord<'a>),
    /// `PERF_RECORD_KSYMBOL`.
    Ksymbol(KsymbolRecord<'a>),
    /// `PERF_RECORD_BPF_EVENT`.
    BpfEvent(BpfEventRecord),
    /// `PERF_RECORD_CGROUP`.
    Cgroup(CgroupRecord<'a>),
    /// `PERF_RECORD_TEXT_POKE`.
    TextPoke(TextPokeRecord<'a>),
    /// `PERF_RECORD_AUX_OUTPUT_HW_ID`.
    AuxOutputHwId {
        /// The hardware id.
        hw_id: u64,
    },
    /// `PERF_RECORD_CALLCHAIN_DEFERRED`.
    CallchainDeferred(CallchainDeferredRecord<'a>),
    /// `PERF_RECORD_HEADER_ATTR`.
    HeaderAttr(HeaderAttrRecord<'a>),
    /// `PERF_RECORD_FINISHED_ROUND`.
    FinishedRound,
    /// `PERF_RECORD_FINISHED_INIT`.
    FinishedInit,
    /// Any other type (unknown, or a perf-tool type this crate keeps raw): the whole body.
    Raw {
        /// The record type.
        r#type: u32,
        /// The body after the header.
        body: RawData<'a>,
    },
}

/// A record: its header, its parsed body and the `sample_id` trailer (non-sample kernel records with
/// `sample_id_all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedRecord<'a> {
    /// The header.
    pub header: EventHeader,
    /// The body.
    pub body: RecordBody<'a>,
    /// The trailer, when the format has one and the record type carries it.
    pub sample_id: Option<SampleId>,
}

/// A NUL-padded string that runs to the end of the body (or to the trailer).
fn fixed_cstr<'a>(c: &mut Cursor<'a>) -> RawData<'a> {
    let rest = c.rest();
    // The string field runs to the trailer; it is consumed entirely.
    let _ = c.skip(rest.len(), "string");
    rest.until_nul()
}

/// Whether a record type carries the `sample_id` trailer when `sample_id_all` is set: every kernel type
/// except SAMPLE; none of the perf tool's.
pub const fn has_sample_id(ty: u32) -> bool {
    ty != RECORD_SAMPLE && ty < RECORD_USER_TYPE_START
}

impl<'a> ParsedRecord<'a> {
    /// Parses a record body (the bytes after `header`) according to `format`: the one parser, which the
    /// record handles' `parse` methods call.
    ///
    /// Unknown types become [`RecordBody::Raw`]; a body too short for its type is a
    /// [`ParseError::Truncated`].
    #[inline(always)]
    pub fn parse(
        header: EventHeader,
        body: RawData<'a>,
        format: &SampleFormat,
    ) -> Result<Self, ParseError> {
        let ty = header.r#type;
        if ty == RECORD_SAMPLE {
            // The common case first, on its own path: samples carry no trailer.
            return Ok(ParsedRecord {
                header,
                body: RecordBody::Sample(Sample::parse(body, format)?),
                sample_id: None,
            });
        }
        let (body, sample_id) = if format.sample_id_all && has_sample_id(ty) {
            let n = format.sample_id_size();
            let split = body.len().checked_sub(n).ok_or(ParseError::Truncated {
                field: "sample_id",
                needed: n as u64,
                available: body.len() as u64,
            })?;
            match body.split_at(split) {
                Some((b, t)) => (b, Some(SampleId::parse(t, format)?)),
                None => (body, None),
            }
        } else {
            (body, None)
        };
        Ok(ParsedRecord {
            header,
            body: RecordBody::parse_body(header, body, format)?,
            sample_id,
        })
    }
}

impl<'a> RecordBody<'a> {
    #[inline(always)]
    fn parse_body(
        header: EventHeader,
        body: RawData<'a>,
        format: &SampleFormat,
    ) -> Result<Self, ParseError> {
        let c = &mut Cursor::new(body);
        Ok(match header.r#type {
            RECORD_MMAP => Self::Mmap(MmapRecord::parse(c)?),
            RECORD_LOST => Self::Lost(LostRecord::parse(c)?),
            RECORD_COMM => Self::Comm(CommRecord::parse(c)?),
            RECORD_EXIT => Self::Exit(TaskRecord::parse(c)?),
            RECORD_FORK => Self::Fork(TaskRecord::parse(c)?),
            RECORD_THROTTLE => Self::Throttle(ThrottleRecord::parse(c)?),
            RECORD_UNTHROTTLE => Self::Unthrottle(ThrottleRecord::parse(c)?),
            RECORD_READ => Self::Read(ReadRecord::parse(c, format.read_format)?),
            RECORD_SAMPLE => Self::Sample(Sample::parse(body, format)?),
            RECORD_MMAP2 => Self::Mmap2(Mmap2Record::parse(c, header.misc)?),
            RECORD_AUX => Self::Aux(AuxRecord::parse(c)?),
            RECORD_ITRACE_START => Self::ItraceStart {
                pid: c.read_u32("itrace_start.pid")?,
                tid: c.read_u32("itrace_start.tid")?,
            },
            RECORD_LOST_SAMPLES => Self::LostSamples {
                lost: c.read_u64("lost_samples.lost")?,
            },
            RECORD_SWITCH => Self::Switch,
            RECORD_SWITCH_CPU_WIDE => Self::SwitchCpuWide {
                next_prev_pid: c.read_u32("switch.next_prev_pid")?,
                next_prev_tid: c.read_u32("switch.next_prev_tid")?,
            },
            RECORD_NAMESPACES => Self::Namespaces(NamespacesRecord::parse(c)?),
            RECORD_KSYMBOL => Self::Ksymbol(KsymbolRecord::parse(c)?),
            RECORD_BPF_EVENT => Self::BpfEvent(BpfEventRecord::parse(c)?),
            RECORD_CGROUP => Self::Cgroup(CgroupRecord::parse(c)?),
            RECORD_TEXT_POKE => Self::TextPoke(TextPokeRecord::parse(c)?),
            RECORD_AUX_OUTPUT_HW_ID => Self::AuxOutputHwId {
                hw_id: c.read_u64("aux_output_hw_id.hw_id")?,
            },
            RECORD_CALLCHAIN_DEFERRED => {
                Self::CallchainDeferred(CallchainDeferredRecord::parse(c)?)
            }
            RECORD_HEADER_ATTR => Self::HeaderAttr(HeaderAttrRecord::parse(c)?),
            RECORD_FINISHED_ROUND => Self::FinishedRound,
            RECORD_FINISHED_INIT => Self::FinishedInit,
            r#type => Self::Raw { r#type, body },
        })
    }
}
