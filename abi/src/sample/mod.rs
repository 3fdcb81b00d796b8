//! `PERF_RECORD_SAMPLE` bodies, parsed in the order of perf's `evsel__parse_sample`, and the read-format
//! values shared with `PERF_RECORD_READ`.

use crate::attr::*;
use crate::branch::BranchStack;
use crate::raw::{Cursor, RawData, U64Array};
use crate::ParseError;

mod callchain;
mod layout;
// The kernel build (driver/) compiles this crate as a private module and uses part of these.
#[allow(unused_imports)]
pub use callchain::*;
#[allow(unused_imports)]
pub use layout::SampleLayout;

/// Everything about an event's attr that decides how its records are laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleFormat {
    /// `attr.sample_type`.
    pub sample_type: u64,
    /// `attr.read_format`.
    pub read_format: u64,
    /// `attr.sample_id_all`: non-sample records carry the `sample_id` trailer.
    pub sample_id_all: bool,
    /// `attr.sample_regs_user`: one word per set bit when `SAMPLE_REGS_USER`.
    pub sample_regs_user: u64,
    /// `attr.sample_regs_intr`: one word per set bit when `SAMPLE_REGS_INTR`.
    pub sample_regs_intr: u64,
    /// `attr.branch_sample_type`: decides `hw_idx` and branch counters.
    pub branch_sample_type: u64,
}

impl PerfEventAttr {
    /// The [`SampleFormat`] that governs how this event's records are laid out.
    pub const fn sample_format(&self) -> SampleFormat {
        SampleFormat {
            sample_type: self.sample_type,
            read_format: self.read_format,
            sample_id_all: self.has_flag(ATTR_FLAG_SAMPLE_ID_ALL),
            sample_regs_user: self.sample_regs_user,
            sample_regs_intr: self.sample_regs_intr,
            branch_sample_type: self.branch_sample_type,
        }
    }
}

impl SampleFormat {
    /// A format with the given `sample_type`, no read format and no `sample_id_all`.
    pub const fn new(sample_type: u64) -> Self {
        Self {
            sample_type,
            read_format: 0,
            sample_id_all: false,
            sample_regs_user: 0,
            sample_regs_intr: 0,
            branch_sample_type: 0,
        }
    }

    /// Whether `sample_type` has all of the bits in `bits`.
    pub const fn has(&self, bits: u64) -> bool {
        self.sample_type & bits == bits
    }

    /// Size in bytes of the `sample_id` trailer that non-sample records carry (0 without
    /// `sample_id_all`).
    pub const fn sample_id_size(&self) -> usize {
        if !self.sample_id_all {
            return 0;
        }
        let bits = SAMPLE_TID
            | SAMPLE_TIME
            | SAMPLE_ID
            | SAMPLE_STREAM_ID
            | SAMPLE_CPU
            | SAMPLE_IDENTIFIER;
        8 * (self.sample_type & bits).count_ones() as usize
    }

    /// Where the event id sits in a SAMPLE body, counted in u64 words from the start, as perf's
    /// `evsel__calc_id_pos`; `None` when the sample carries no id.
    pub const fn id_pos(&self) -> Option<usize> {
        if self.has(SAMPLE_IDENTIFIER) {
            return Some(0);
        }
        if !self.has(SAMPLE_ID) {
            return None;
        }
        let before = SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_ADDR;
        Some((self.sample_type & before).count_ones() as usize)
    }

    /// Where the event id sits in a non-sample record's trailer, counted in u64 words back from the
    /// record's end, as perf's `evsel__calc_is_pos`; `None` without an id.
    pub const fn is_pos(&self) -> Option<usize> {
        if !self.sample_id_all {
            return None;
        }
        if self.has(SAMPLE_IDENTIFIER) {
            return Some(1);
        }
        if !self.has(SAMPLE_ID) {
            return None;
        }
        let after = SAMPLE_STREAM_ID | SAMPLE_CPU;
        Some(1 + (self.sample_type & after).count_ones() as usize)
    }
}

/// One counter value of a read-format block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReadValue {
    /// The counter value.
    pub value: u64,
    /// The event id (`FORMAT_ID`).
    pub id: Option<u64>,
    /// Lost samples of this event (`FORMAT_LOST`).
    pub lost: Option<u64>,
}

/// A read-format block (`PERF_SAMPLE_READ` or `PERF_RECORD_READ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadValues<'a> {
    /// `FORMAT_TOTAL_TIME_ENABLED`.
    pub time_enabled: Option<u64>,
    /// `FORMAT_TOTAL_TIME_RUNNING`.
    pub time_running: Option<u64>,
    /// The counter values: one for a single event, `nr` for a group (`FORMAT_GROUP`).
    pub values: ReadValueList<'a>,
}

/// The counter values of a read-format block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadValueList<'a> {
    /// A single event's value.
    Single(ReadValue),
    /// A group's values, still in wire form: `nr` entries of `{value, id?, lost?}`.
    Group {
        /// The `read_format` that decides each entry's size.
        read_format: u64,
        /// The entries.
        entries: RawData<'a>,
    },
}

impl<'a> ReadValueList<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Self::Single(_) => 1,
            Self::Group {
                read_format,
                entries,
            } => entries.len() / read_entry_size(*read_format),
        }
    }

    /// Whether there are no values (an empty group).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the values.
    pub fn iter(&self) -> impl Iterator<Item = ReadValue> + 'a {
        let (single, read_format, entries) = match *self {
            Self::Single(v) => (Some(v), 0, RawData::EMPTY),
            Self::Group {
                read_format,
                entries,
            } => (None, read_format, entries),
        };
        let mut c = Cursor::new(entries);
        let group = core::iter::from_fn(move || {
            let value = c.read_u64("read.value").ok()?;
            let id = word(&mut c, read_format, FORMAT_ID, "read.id").ok()?;
            let lost = word(&mut c, read_format, FORMAT_LOST, "read.lost").ok()?;
            Some(ReadValue { value, id, lost })
        });
        Iterator::chain(single.into_iter(), group)
    }
}

const fn read_entry_size(read_format: u64) -> usize {
    8 * (1 + (read_format & FORMAT_ID != 0) as usize + (read_format & FORMAT_LOST != 0) as usize)
}

#[inline(always)]
fn word(
    c: &mut Cursor<'_>,
    flags: u64,
    bit: u64,
    field: &'static str,
) -> Result<Option<u64>, ParseError> {
    if flags & bit != 0 {
        c.read_u64(field).map(Some)
    } else {
        Ok(None)
    }
}

impl<'a> ReadValues<'a> {
    /// Parses a read-format block from `c` according to `read_format`.
    pub fn parse(c: &mut Cursor<'a>, read_format: u64) -> Result<Self, ParseError> {
        let rf = read_format;
        if rf & FORMAT_GROUP != 0 {
            let nr = c.read_u64("read.nr")?;
            let time_enabled = word(c, rf, FORMAT_TOTAL_TIME_ENABLED, "read.time_enabled")?;
            let time_running = word(c, rf, FORMAT_TOTAL_TIME_RUNNING, "read.time_running")?;
            let entries = c.take_array(nr, read_entry_size(rf), "read.nr")?;
            Ok(Self {
                time_enabled,
                time_running,
                values: ReadValueList::Group {
                    read_format: rf,
                    entries,
                },
            })
        } else {
            let value = c.read_u64("read.value")?;
            let time_enabled = word(c, rf, FORMAT_TOTAL_TIME_ENABLED, "read.time_enabled")?;
            let time_running = word(c, rf, FORMAT_TOTAL_TIME_RUNNING, "read.time_running")?;
            let id = word(c, rf, FORMAT_ID, "read.id")?;
            let lost = word(c, rf, FORMAT_LOST, "read.lost")?;
            Ok(Self {
                time_enabled,
                time_running,
                values: ReadValueList::Single(ReadValue { value, id, lost }),
            })
        }
    }
}

/// A register dump (`PERF_SAMPLE_REGS_USER` / `PERF_SAMPLE_REGS_INTR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Regs<'a> {
    /// `PERF_SAMPLE_REGS_ABI_*` (0 = none, 1 = 32-bit, 2 = 64-bit).
    pub abi: u64,
    /// The register mask from the attr.
    pub mask: u64,
    /// One word per set bit of `mask` (empty when `abi` is 0).
    pub regs: U64Array<'a>,
}

/// A user stack dump (`PERF_SAMPLE_STACK_USER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserStack<'a> {
    /// The dumped bytes (`size` of them; only the first `dyn_size` are meaningful).
    pub data: RawData<'a>,
    /// `dyn_size`: the bytes actually copied (absent when `size` is 0).
    pub dyn_size: Option<u64>,
}

/// A `PERF_RECORD_SAMPLE` body. Every field is `None` unless its `SAMPLE_*` bit is set.
///
/// `Debug` prints only the fields that are present.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample<'a> {
    /// `SAMPLE_IDENTIFIER`.
    pub identifier: Option<u64>,
    /// `SAMPLE_IP`.
    pub ip: Option<u64>,
    /// `SAMPLE_TID`: process id.
    pub pid: Option<u32>,
    /// `SAMPLE_TID`: thread id.
    pub tid: Option<u32>,
    /// `SAMPLE_TIME`.
    pub time: Option<u64>,
    /// `SAMPLE_ADDR`.
    pub addr: Option<u64>,
    /// `SAMPLE_ID`.
    pub id: Option<u64>,
    /// `SAMPLE_STREAM_ID`.
    pub stream_id: Option<u64>,
    /// `SAMPLE_CPU`: the cpu.
    pub cpu: Option<u32>,
    /// `SAMPLE_CPU`: the reserved word after it.
    pub cpu_res: Option<u32>,
    /// `SAMPLE_PERIOD`.
    pub period: Option<u64>,
    /// `SAMPLE_READ`.
    pub read: Option<ReadValues<'a>>,
    /// `SAMPLE_CALLCHAIN`: the instruction pointers, `PERF_CONTEXT_*` markers included.
    pub callchain: Option<U64Array<'a>>,
    /// `SAMPLE_RAW`: the raw bytes (without the u32 size in front).
    pub raw: Option<RawData<'a>>,
    /// `SAMPLE_BRANCH_STACK`.
    pub branch_stack: Option<BranchStack<'a>>,
    /// `SAMPLE_REGS_USER`.
    pub regs_user: Option<Regs<'a>>,
    /// `SAMPLE_STACK_USER`.
    pub stack_user: Option<UserStack<'a>>,
    /// `SAMPLE_WEIGHT` or `SAMPLE_WEIGHT_STRUCT` (the raw u64; for the struct form the low 32 bits are
    /// `var1_dw`, then `var2_w`, `var3_w`).
    pub weight: Option<u64>,
    /// `SAMPLE_DATA_SRC`.
    pub data_src: Option<u64>,
    /// `SAMPLE_TRANSACTION`.
    pub transaction: Option<u64>,
    /// `SAMPLE_REGS_INTR`.
    pub regs_intr: Option<Regs<'a>>,
    /// `SAMPLE_PHYS_ADDR`.
    pub phys_addr: Option<u64>,
    /// `SAMPLE_CGROUP`.
    pub cgroup: Option<u64>,
    /// `SAMPLE_DATA_PAGE_SIZE`.
    pub data_page_size: Option<u64>,
    /// `SAMPLE_CODE_PAGE_SIZE`.
    pub code_page_size: Option<u64>,
    /// `SAMPLE_AUX`: the AUX snapshot bytes.
    pub aux: Option<RawData<'a>>,
}

fn regs<'a>(c: &mut Cursor<'a>, mask: u64, field: &'static str) -> Result<Regs<'a>, ParseError> {
    let abi = c.read_u64(field)?;
    let n = if abi == 0 {
        0
    } else {
        u64::from(mask.count_ones())
    };
    let regs = U64Array::new(c.take_array(n, 8, field)?);
    Ok(Regs { abi, mask, regs })
}

impl<'a> Sample<'a> {
    /// Parses a SAMPLE body (the bytes after the 8-byte header) according to `format`, field by field in
    /// `evsel__parse_sample` order. Bytes left after the last field are ignored, as perf does; a body
    /// that ends early is [`ParseError::Truncated`] naming the field.
    #[inline(always)]
    pub fn parse(body: RawData<'a>, format: &SampleFormat) -> Result<Self, ParseError> {
        let st = format.sample_type;
        let c = &mut Cursor::new(body);
        let mut s = Sample {
            identifier: word(c, st, SAMPLE_IDENTIFIER, "identifier")?,
            ip: word(c, st, SAMPLE_IP, "ip")?,
            ..Sample::default()
        };
        if st & SAMPLE_TID != 0 {
            s.pid = Some(c.read_u32("pid")?);
            s.tid = Some(c.read_u32("tid")?);
        }
        s.time = word(c, st, SAMPLE_TIME, "time")?;
        s.addr = word(c, st, SAMPLE_ADDR, "addr")?;
        s.id = word(c, st, SAMPLE_ID, "id")?;
        s.stream_id = word(c, st, SAMPLE_STREAM_ID, "stream_id")?;
        if st & SAMPLE_CPU != 0 {
            s.cpu = Some(c.read_u32("cpu")?);
            s.cpu_res = Some(c.read_u32("cpu.res")?);
        }
        s.period = word(c, st, SAMPLE_PERIOD, "period")?;
        if st & SAMPLE_READ != 0 {
            s.read = Some(ReadValues::parse(c, format.read_format)?);
        }
        if st & SAMPLE_CALLCHAIN != 0 {
            let nr = c.read_u64("callchain.nr")?;
            s.callchain = Some(U64Array::new(c.take_array(nr, 8, "callchain.nr")?));
        }
        if st & SAMPLE_RAW != 0 {
            let size = c.read_u32("raw.size")?;
            s.raw = Some(c.take_array(u64::from(size), 1, "raw.size")?);
        }
        if st & SAMPLE_BRANCH_STACK != 0 {
            let nr = c.read_u64("branch_stack.nr")?;
            let hw_idx = word(
                c,
                format.branch_sample_type,
                SAMPLE_BRANCH_HW_INDEX,
                "branch_stack.hw_idx",
            )?;
            let entries = c.take_array(nr, 24, "branch_stack.nr")?;
            let counters = if format.branch_sample_type & SAMPLE_BRANCH_COUNTERS != 0 {
                Some(U64Array::new(c.take_array(
                    nr,
                    8,
                    "branch_stack.counters",
                )?))
            } else {
                None
            };
            s.branch_stack = Some(BranchStack {
                hw_idx,
                entries,
                counters,
            });
        }
        if st & SAMPLE_REGS_USER != 0 {
            s.regs_user = Some(regs(c, format.sample_regs_user, "regs_user")?);
        }
        if st & SAMPLE_STACK_USER != 0 {
            let size = c.read_u64("stack_user.size")?;
            let data = c.take_array(size, 1, "stack_user.size")?;
            let dyn_size = if size != 0 {
                Some(c.read_u64("stack_user.dyn_size")?)
            } else {
                None
            };
            s.stack_user = Some(UserStack { data, dyn_size });
        }
        if st & SAMPLE_WEIGHT_TYPE != 0 {
            s.weight = Some(c.read_u64("weight")?);
        }
        s.data_src = word(c, st, SAMPLE_DATA_SRC, "data_src")?;
        s.transaction = word(c, st, SAMPLE_TRANSACTION, "transaction")?;
        if st & SAMPLE_REGS_INTR != 0 {
            s.regs_intr = Some(regs(c, format.sample_regs_intr, "regs_intr")?);
        }
        s.phys_addr = word(c, st, SAMPLE_PHYS_ADDR, "phys_addr")?;
        s.cgroup = word(c, st, SAMPLE_CGROUP, "cgroup")?;
        s.data_page_size = word(c, st, SAMPLE_DATA_PAGE_SIZE, "data_page_size")?;
        s.code_page_size = word(c, st, SAMPLE_CODE_PAGE_SIZE, "code_page_size")?;
        if st & SAMPLE_AUX != 0 {
            let size = c.read_u64("aux.size")?;
            s.aux = Some(c.take_array(size, 1, "aux.size")?);
        }
        Ok(s)
    }
}

impl core::fmt::Debug for Sample<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use crate::raw::Hex;
        let mut d = f.debug_struct("Sample");
        let hex = |d: &mut core::fmt::DebugStruct<'_, '_>, name, v: Option<u64>| {
            if let Some(v) = v {
                d.field(name, &Hex(v));
            }
        };
        hex(&mut d, "identifier", self.identifier);
        hex(&mut d, "ip", self.ip);
        if let (Some(pid), Some(tid)) = (self.pid, self.tid) {
            d.field("pid", &pid).field("tid", &tid);
        }
        if let Some(t) = self.time {
            d.field("time", &t);
        }
        hex(&mut d, "addr", self.addr);
        hex(&mut d, "id", self.id);
        hex(&mut d, "stream_id", self.stream_id);
        if let Some(cpu) = self.cpu {
            d.field("cpu", &cpu);
        }
        if let Some(p) = self.period {
            d.field("period", &p);
        }
        if let Some(r) = &self.read {
            d.field("read", r);
        }
        if let Some(c) = &self.callchain {
            d.field("callchain", c);
        }
        if let Some(r) = &self.raw {
            d.field("raw", r);
        }
        if let Some(b) = &self.branch_stack {
            d.field("branch_stack", b);
        }
        if let Some(r) = &self.regs_user {
            d.field("regs_user", r);
        }
        if let Some(s) = &self.stack_user {
            d.field("stack_user", s);
        }
        hex(&mut d, "weight", self.weight);
        hex(&mut d, "data_src", self.data_src);
        hex(&mut d, "transaction", self.transaction);
        if let Some(r) = &self.regs_intr {
            d.field("regs_intr", r);
        }
        hex(&mut d, "phys_addr", self.phys_addr);
        hex(&mut d, "cgroup", self.cgroup);
        hex(&mut d, "data_page_size", self.data_page_size);
        hex(&mut d, "code_page_size", self.code_page_size);
        if let Some(a) = &self.aux {
            d.field("aux", a);
        }
        d.finish()
    }
}
