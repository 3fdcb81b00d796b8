//! Typed, borrowed views of every record body and of the `sample_id` trailer.
//!
//! [`Record::parse`] turns a header and its body (a [`RawData`], possibly split at the ring's end) into a
//! [`Record`]. Types this crate does not know are kept as [`Record::Raw`], never rejected.

use crate::attr::*;
use crate::header::*;
use crate::raw::{Cursor, RawData, U64Array};
use crate::sample::{ReadValues, Sample, SampleFormat};
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

/// `PERF_RECORD_MMAP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRecord<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Start address.
    pub addr: u64,
    /// Length.
    pub len: u64,
    /// File offset.
    pub pgoff: u64,
    /// The file name, NUL padding removed.
    pub filename: RawData<'a>,
}

/// The identity of an MMAP2 mapping's file: device and inode, or a build id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mmap2FileId {
    /// `maj`, `min`, `ino`, `ino_generation`.
    Inode {
        /// Device major.
        maj: u32,
        /// Device minor.
        min: u32,
        /// Inode number.
        ino: u64,
        /// Inode generation.
        ino_generation: u64,
    },
    /// `RECORD_MISC_MMAP_BUILD_ID`: `build_id_size` bytes of `build_id[20]`.
    BuildId {
        /// Valid bytes in `build_id`.
        size: u8,
        /// The build id, zero padded.
        build_id: [u8; 20],
    },
}

/// `PERF_RECORD_MMAP2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mmap2Record<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Start address.
    pub addr: u64,
    /// Length.
    pub len: u64,
    /// File offset.
    pub pgoff: u64,
    /// Device/inode or build id.
    pub file_id: Mmap2FileId,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_*` bits.
    pub flags: u32,
    /// The file name, NUL padding removed.
    pub filename: RawData<'a>,
}

/// `PERF_RECORD_COMM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommRecord<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The command name, NUL padding removed.
    pub comm: RawData<'a>,
}

/// `PERF_RECORD_FORK` and `PERF_RECORD_EXIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent thread id.
    pub ptid: u32,
    /// Timestamp.
    pub time: u64,
}

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

/// `PERF_RECORD_NAMESPACES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamespacesRecord<'a> {
    /// Process id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// `nr_namespaces` pairs of `{dev, inode}` words.
    pub link_info: U64Array<'a>,
}

/// `PERF_RECORD_KSYMBOL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KsymbolRecord<'a> {
    /// Symbol address.
    pub addr: u64,
    /// Symbol length.
    pub len: u32,
    /// `PERF_RECORD_KSYMBOL_TYPE_*`.
    pub ksym_type: u16,
    /// `PERF_RECORD_KSYMBOL_FLAGS_*`.
    pub flags: u16,
    /// Symbol name, NUL padding removed.
    pub name: RawData<'a>,
}

/// `PERF_RECORD_BPF_EVENT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpfEventRecord {
    /// `PERF_BPF_EVENT_*`.
    pub r#type: u16,
    /// Flags.
    pub flags: u16,
    /// Program id.
    pub id: u32,
    /// Program tag.
    pub tag: [u8; 8],
}

/// `PERF_RECORD_CGROUP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupRecord<'a> {
    /// Cgroup id.
    pub id: u64,
    /// Cgroup path, NUL padding removed.
    pub path: RawData<'a>,
}

/// `PERF_RECORD_TEXT_POKE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextPokeRecord<'a> {
    /// Address of the change.
    pub addr: u64,
    /// The old bytes.
    pub old_bytes: RawData<'a>,
    /// The new bytes.
    pub new_bytes: RawData<'a>,
}

/// `PERF_RECORD_CALLCHAIN_DEFERRED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallchainDeferredRecord<'a> {
    /// Cookie matching the sample that deferred it.
    pub cookie: u64,
    /// The instruction pointers.
    pub ips: U64Array<'a>,
}

/// `PERF_RECORD_HEADER_ATTR` (perf tool, pipe mode): an attr and the ids of its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderAttrRecord<'a> {
    /// The attr, decoded from `attr.size` bytes.
    pub attr: PerfEventAttr,
    /// The event ids.
    pub ids: U64Array<'a>,
}

/// A parsed record body.
///
/// `Sample` is much larger than the other variants; the enum is a short-lived borrowed view built on the
/// stack, and boxing would need an allocator this crate does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum Record<'a> {
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
    pub record: Record<'a>,
    /// The trailer, when the format has one and the record type carries it.
    pub sample_id: Option<SampleId>,
}

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

impl<'a> Record<'a> {
    /// Parses a record body (the bytes after `header`) according to `format`.
    ///
    /// Returns the record and the trailer. Unknown types become [`Record::Raw`]; a body too short for its
    /// type is a [`ParseError::Truncated`].
    #[inline(always)]
    pub fn parse(
        header: EventHeader,
        body: RawData<'a>,
        format: &SampleFormat,
    ) -> Result<ParsedRecord<'a>, ParseError> {
        let ty = header.r#type;
        if ty == RECORD_SAMPLE {
            // The common case first, on its own path: samples carry no trailer.
            return Ok(ParsedRecord {
                header,
                record: Self::Sample(Sample::parse(body, format)?),
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
        let record = Self::parse_body(header, body, format)?;
        Ok(ParsedRecord {
            header,
            record,
            sample_id,
        })
    }

    #[inline(always)]
    fn parse_body(
        header: EventHeader,
        body: RawData<'a>,
        format: &SampleFormat,
    ) -> Result<Self, ParseError> {
        let c = &mut Cursor::new(body);
        Ok(match header.r#type {
            RECORD_MMAP => Self::Mmap(MmapRecord {
                pid: c.read_u32("mmap.pid")?,
                tid: c.read_u32("mmap.tid")?,
                addr: c.read_u64("mmap.addr")?,
                len: c.read_u64("mmap.len")?,
                pgoff: c.read_u64("mmap.pgoff")?,
                filename: fixed_cstr(c),
            }),
            RECORD_LOST => Self::Lost(LostRecord {
                id: c.read_u64("lost.id")?,
                lost: c.read_u64("lost.lost")?,
            }),
            RECORD_COMM => Self::Comm(CommRecord {
                pid: c.read_u32("comm.pid")?,
                tid: c.read_u32("comm.tid")?,
                comm: fixed_cstr(c),
            }),
            RECORD_EXIT | RECORD_FORK => {
                let t = TaskRecord {
                    pid: c.read_u32("task.pid")?,
                    ppid: c.read_u32("task.ppid")?,
                    tid: c.read_u32("task.tid")?,
                    ptid: c.read_u32("task.ptid")?,
                    time: c.read_u64("task.time")?,
                };
                if header.r#type == RECORD_EXIT {
                    Self::Exit(t)
                } else {
                    Self::Fork(t)
                }
            }
            RECORD_THROTTLE | RECORD_UNTHROTTLE => {
                let t = ThrottleRecord {
                    time: c.read_u64("throttle.time")?,
                    id: c.read_u64("throttle.id")?,
                    stream_id: c.read_u64("throttle.stream_id")?,
                };
                if header.r#type == RECORD_THROTTLE {
                    Self::Throttle(t)
                } else {
                    Self::Unthrottle(t)
                }
            }
            RECORD_READ => Self::Read(ReadRecord {
                pid: c.read_u32("read.pid")?,
                tid: c.read_u32("read.tid")?,
                values: ReadValues::parse(c, format.read_format)?,
            }),
            RECORD_SAMPLE => Self::Sample(Sample::parse(body, format)?),
            RECORD_MMAP2 => {
                let pid = c.read_u32("mmap2.pid")?;
                let tid = c.read_u32("mmap2.tid")?;
                let addr = c.read_u64("mmap2.addr")?;
                let len = c.read_u64("mmap2.len")?;
                let pgoff = c.read_u64("mmap2.pgoff")?;
                let file_id = if header.misc & RECORD_MISC_MMAP_BUILD_ID != 0 {
                    let size = c.read_u8("mmap2.build_id_size")?;
                    c.skip(3, "mmap2.reserved")?;
                    let mut build_id = [0u8; 20];
                    c.take(20, "mmap2.build_id")?
                        .copy_prefix_to(&mut build_id)
                        .ok_or(ParseError::Truncated {
                            field: "mmap2.build_id",
                            needed: 20,
                            available: 0,
                        })?;
                    Mmap2FileId::BuildId { size, build_id }
                } else {
                    Mmap2FileId::Inode {
                        maj: c.read_u32("mmap2.maj")?,
                        min: c.read_u32("mmap2.min")?,
                        ino: c.read_u64("mmap2.ino")?,
                        ino_generation: c.read_u64("mmap2.ino_generation")?,
                    }
                };
                Self::Mmap2(Mmap2Record {
                    pid,
                    tid,
                    addr,
                    len,
                    pgoff,
                    file_id,
                    prot: c.read_u32("mmap2.prot")?,
                    flags: c.read_u32("mmap2.flags")?,
                    filename: fixed_cstr(c),
                })
            }
            RECORD_AUX => Self::Aux(AuxRecord {
                aux_offset: c.read_u64("aux.aux_offset")?,
                aux_size: c.read_u64("aux.aux_size")?,
                flags: c.read_u64("aux.flags")?,
            }),
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
            RECORD_NAMESPACES => {
                let pid = c.read_u32("namespaces.pid")?;
                let tid = c.read_u32("namespaces.tid")?;
                let nr = c.read_u64("namespaces.nr_namespaces")?;
                let link_info = U64Array::new(c.take_array(nr, 16, "namespaces.nr_namespaces")?);
                Self::Namespaces(NamespacesRecord {
                    pid,
                    tid,
                    link_info,
                })
            }
            RECORD_KSYMBOL => Self::Ksymbol(KsymbolRecord {
                addr: c.read_u64("ksymbol.addr")?,
                len: c.read_u32("ksymbol.len")?,
                ksym_type: c.read_u16("ksymbol.ksym_type")?,
                flags: c.read_u16("ksymbol.flags")?,
                name: fixed_cstr(c),
            }),
            RECORD_BPF_EVENT => {
                let r#type = c.read_u16("bpf_event.type")?;
                let flags = c.read_u16("bpf_event.flags")?;
                let id = c.read_u32("bpf_event.id")?;
                let tag = c.read_u64("bpf_event.tag")?.to_ne_bytes();
                Self::BpfEvent(BpfEventRecord {
                    r#type,
                    flags,
                    id,
                    tag,
                })
            }
            RECORD_CGROUP => Self::Cgroup(CgroupRecord {
                id: c.read_u64("cgroup.id")?,
                path: fixed_cstr(c),
            }),
            RECORD_TEXT_POKE => {
                let addr = c.read_u64("text_poke.addr")?;
                let old_len = c.read_u16("text_poke.old_len")?;
                let new_len = c.read_u16("text_poke.new_len")?;
                let old_bytes = c.take(usize::from(old_len), "text_poke.old_len")?;
                let new_bytes = c.take(usize::from(new_len), "text_poke.new_len")?;
                Self::TextPoke(TextPokeRecord {
                    addr,
                    old_bytes,
                    new_bytes,
                })
            }
            RECORD_AUX_OUTPUT_HW_ID => Self::AuxOutputHwId {
                hw_id: c.read_u64("aux_output_hw_id.hw_id")?,
            },
            RECORD_CALLCHAIN_DEFERRED => {
                let cookie = c.read_u64("callchain_deferred.cookie")?;
                let nr = c.read_u64("callchain_deferred.nr")?;
                let ips = U64Array::new(c.take_array(nr, 8, "callchain_deferred.nr")?);
                Self::CallchainDeferred(CallchainDeferredRecord { cookie, ips })
            }
            RECORD_HEADER_ATTR => {
                let size = {
                    let mut peek = *c;
                    peek.skip(4, "attr.type")?;
                    peek.read_u32("attr.size")?
                };
                // perf writes VER0-sized attrs with size 0.
                let size = if size == 0 { ATTR_SIZE_VER0 } else { size };
                if size < ATTR_SIZE_VER0 || size % 8 != 0 {
                    return Err(ParseError::BadAttrSize { size });
                }
                let attr_bytes = c.take(size as usize, "attr")?;
                let mut buf = [0u8; ATTR_SIZE_VER8 as usize];
                let n = attr_bytes.len().min(buf.len());
                let prefix = buf.get_mut(..n).ok_or(ParseError::BadAttrSize { size })?;
                attr_bytes
                    .copy_prefix_to(prefix)
                    .ok_or(ParseError::BadAttrSize { size })?;
                let attr = PerfEventAttr::from_bytes(prefix)?;
                let ids = U64Array::new(c.rest());
                Self::HeaderAttr(HeaderAttrRecord { attr, ids })
            }
            RECORD_FINISHED_ROUND => Self::FinishedRound,
            RECORD_FINISHED_INIT => Self::FinishedInit,
            r#type => Self::Raw { r#type, body },
        })
    }
}
