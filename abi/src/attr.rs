//! `struct perf_event_attr`, its size versions, the `PERF_SAMPLE_*` and `PERF_FORMAT_*` bits, the flag
//! bits of its bitfield word, and the event type and config numbers.

use crate::ParseError;

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER8` (136 bytes).
///
/// The C bitfield word is [`PerfEventAttr::flags`]; use the `ATTR_FLAG_*` constants or the helper
/// methods. Unions are represented by their first member; the doc of each field names the others.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "zerocopy",
    derive(
        zerocopy::FromBytes,
        zerocopy::IntoBytes,
        zerocopy::KnownLayout,
        zerocopy::Immutable
    )
)]
pub struct PerfEventAttr {
    /// Major type: `TYPE_HARDWARE`, `TYPE_SOFTWARE`, ...
    pub r#type: u32,
    /// Size of this structure as the writer knew it (`ATTR_SIZE_VER*`).
    pub size: u32,
    /// Type-specific configuration (event id).
    pub config: u64,
    /// `sample_period`, or `sample_freq` when `ATTR_FLAG_FREQ` is set.
    pub sample_period: u64,
    /// `SAMPLE_*` bits.
    pub sample_type: u64,
    /// `FORMAT_*` bits.
    pub read_format: u64,
    /// The bitfield word (`disabled`, `inherit`, ...): `ATTR_FLAG_*` bits.
    pub flags: u64,
    /// `wakeup_events`, or `wakeup_watermark` when `ATTR_FLAG_WATERMARK` is set.
    pub wakeup_events: u32,
    /// Breakpoint type.
    pub bp_type: u32,
    /// `bp_addr` / `kprobe_func` / `uprobe_path` / `config1`.
    pub config1: u64,
    /// `bp_len` / `kprobe_addr` / `probe_offset` / `config2`.
    pub config2: u64,
    /// `PERF_SAMPLE_BRANCH_*` bits.
    pub branch_sample_type: u64,
    /// Register mask for `SAMPLE_REGS_USER`.
    pub sample_regs_user: u64,
    /// Bytes of user stack to dump with `SAMPLE_STACK_USER`.
    pub sample_stack_user: u32,
    /// Clock for time fields when `ATTR_FLAG_USE_CLOCKID` is set.
    pub clockid: i32,
    /// Register mask for `SAMPLE_REGS_INTR`.
    pub sample_regs_intr: u64,
    /// Wakeup watermark for the AUX area.
    pub aux_watermark: u32,
    /// Maximum callchain depth.
    pub sample_max_stack: u16,
    /// Reserved (UAPI `__reserved_2`).
    pub __reserved_2: u16,
    /// Bytes of AUX data to put in samples.
    pub aux_sample_size: u32,
    /// `aux_action` bits (6.13+) / reserved.
    pub aux_action: u32,
    /// User data for `sigtrap`.
    pub sig_data: u64,
    /// Extension of `config2` (VER8).
    pub config3: u64,
}

/// `PERF_ATTR_SIZE_VER0`: first published struct.
pub const ATTR_SIZE_VER0: u32 = 64;
/// `PERF_ATTR_SIZE_VER1`: adds config2.
pub const ATTR_SIZE_VER1: u32 = 72;
/// `PERF_ATTR_SIZE_VER2`: adds branch_sample_type.
pub const ATTR_SIZE_VER2: u32 = 80;
/// `PERF_ATTR_SIZE_VER3`: adds sample_regs_user, sample_stack_user.
pub const ATTR_SIZE_VER3: u32 = 96;
/// `PERF_ATTR_SIZE_VER4`: adds sample_regs_intr.
pub const ATTR_SIZE_VER4: u32 = 104;
/// `PERF_ATTR_SIZE_VER5`: adds aux_watermark.
pub const ATTR_SIZE_VER5: u32 = 112;
/// `PERF_ATTR_SIZE_VER6`: adds aux_sample_size.
pub const ATTR_SIZE_VER6: u32 = 120;
/// `PERF_ATTR_SIZE_VER7`: adds sig_data. The largest size perf 6.1 accepts in a perf.data file.
pub const ATTR_SIZE_VER7: u32 = 128;
/// `PERF_ATTR_SIZE_VER8`: adds config3.
pub const ATTR_SIZE_VER8: u32 = 136;

const _: () = assert!(core::mem::size_of::<PerfEventAttr>() == ATTR_SIZE_VER8 as usize);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, config) == 8);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, sample_period) == 16);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, sample_type) == 24);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, read_format) == 32);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, flags) == 40);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, wakeup_events) == 48);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, bp_type) == 52);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, config1) == 56);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, config2) == ATTR_SIZE_VER0 as usize);
const _: () =
    assert!(core::mem::offset_of!(PerfEventAttr, branch_sample_type) == ATTR_SIZE_VER1 as usize);
const _: () =
    assert!(core::mem::offset_of!(PerfEventAttr, sample_regs_user) == ATTR_SIZE_VER2 as usize);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, sample_stack_user) == 88);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, clockid) == 92);
const _: () =
    assert!(core::mem::offset_of!(PerfEventAttr, sample_regs_intr) == ATTR_SIZE_VER3 as usize);
const _: () =
    assert!(core::mem::offset_of!(PerfEventAttr, aux_watermark) == ATTR_SIZE_VER4 as usize);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, sample_max_stack) == 108);
const _: () =
    assert!(core::mem::offset_of!(PerfEventAttr, aux_sample_size) == ATTR_SIZE_VER5 as usize);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, aux_action) == 116);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, sig_data) == ATTR_SIZE_VER6 as usize);
const _: () = assert!(core::mem::offset_of!(PerfEventAttr, config3) == ATTR_SIZE_VER7 as usize);

#[cfg(feature = "zerocopy")]
static_assertions::assert_impl_all!(
    PerfEventAttr: zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::KnownLayout,
    zerocopy::Immutable
);

/// Whether `size` is one of the published `ATTR_SIZE_VER*` values.
pub const fn is_known_attr_size(size: u32) -> bool {
    matches!(
        size,
        ATTR_SIZE_VER0
            | ATTR_SIZE_VER1
            | ATTR_SIZE_VER2
            | ATTR_SIZE_VER3
            | ATTR_SIZE_VER4
            | ATTR_SIZE_VER5
            | ATTR_SIZE_VER6
            | ATTR_SIZE_VER7
            | ATTR_SIZE_VER8
    )
}

impl PerfEventAttr {
    /// Decodes an attr from `bytes` as the kernel does: `bytes` may be any size from
    /// [`ATTR_SIZE_VER0`] up (a newer writer's larger struct); fields past `bytes.len()` are zero and
    /// bytes past this struct are ignored. `size` must be a multiple of 8 and at least VER0.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let len = bytes.len();
        if len < ATTR_SIZE_VER0 as usize || len % 8 != 0 {
            return Err(ParseError::BadAttrSize {
                size: u32::try_from(len).unwrap_or(u32::MAX),
            });
        }
        let mut buf = [0u8; ATTR_SIZE_VER8 as usize];
        let n = if len < buf.len() { len } else { buf.len() };
        let (dst, _) = buf.split_at_mut(n);
        let (src, _) = bytes.split_at(n);
        dst.copy_from_slice(src);
        Ok(Self::from_array(&buf))
    }

    fn from_array(b: &[u8; ATTR_SIZE_VER8 as usize]) -> Self {
        // The array is exactly the struct's size, so decoding cannot fail; the fallback keeps this
        // panic-free regardless.
        Self::decode(&mut crate::raw::Cursor::new(crate::RawData::Single(b))).unwrap_or_default()
    }

    fn decode(c: &mut crate::raw::Cursor<'_>) -> Result<Self, ParseError> {
        const F: &str = "perf_event_attr";
        Ok(Self {
            r#type: c.read_u32(F)?,
            size: c.read_u32(F)?,
            config: c.read_u64(F)?,
            sample_period: c.read_u64(F)?,
            sample_type: c.read_u64(F)?,
            read_format: c.read_u64(F)?,
            flags: c.read_u64(F)?,
            wakeup_events: c.read_u32(F)?,
            bp_type: c.read_u32(F)?,
            config1: c.read_u64(F)?,
            config2: c.read_u64(F)?,
            branch_sample_type: c.read_u64(F)?,
            sample_regs_user: c.read_u64(F)?,
            sample_stack_user: c.read_u32(F)?,
            clockid: c.read_u32(F)? as i32,
            sample_regs_intr: c.read_u64(F)?,
            aux_watermark: c.read_u32(F)?,
            sample_max_stack: c.read_u16(F)?,
            __reserved_2: c.read_u16(F)?,
            aux_sample_size: c.read_u32(F)?,
            aux_action: c.read_u32(F)?,
            sig_data: c.read_u64(F)?,
            config3: c.read_u64(F)?,
        })
    }

    /// The struct's bytes in native byte order (all [`ATTR_SIZE_VER8`] of them; write a prefix of
    /// `size` bytes for an older reader).
    pub fn to_bytes(&self) -> [u8; ATTR_SIZE_VER8 as usize] {
        let mut out = [0u8; ATTR_SIZE_VER8 as usize];
        let mut w = crate::raw::Writer::new(&mut out);
        w.u32(self.r#type);
        w.u32(self.size);
        w.u64(self.config);
        w.u64(self.sample_period);
        w.u64(self.sample_type);
        w.u64(self.read_format);
        w.u64(self.flags);
        w.u32(self.wakeup_events);
        w.u32(self.bp_type);
        w.u64(self.config1);
        w.u64(self.config2);
        w.u64(self.branch_sample_type);
        w.u64(self.sample_regs_user);
        w.u32(self.sample_stack_user);
        w.u32(self.clockid as u32);
        w.u64(self.sample_regs_intr);
        w.u32(self.aux_watermark);
        w.u16(self.sample_max_stack);
        w.u16(self.__reserved_2);
        w.u32(self.aux_sample_size);
        w.u32(self.aux_action);
        w.u64(self.sig_data);
        w.u64(self.config3);
        out
    }

    /// Whether flag bit(s) `flag` (`ATTR_FLAG_*`) are all set.
    pub const fn has_flag(&self, flag: u64) -> bool {
        self.flags & flag == flag
    }

    /// Sets or clears flag bit(s) `flag`.
    pub fn set_flag(&mut self, flag: u64, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }
}

/// `PERF_TYPE_HARDWARE`.
pub const TYPE_HARDWARE: u32 = 0;
/// `PERF_TYPE_SOFTWARE`.
pub const TYPE_SOFTWARE: u32 = 1;
/// `PERF_TYPE_TRACEPOINT`.
pub const TYPE_TRACEPOINT: u32 = 2;
/// `PERF_TYPE_HW_CACHE`.
pub const TYPE_HW_CACHE: u32 = 3;
/// `PERF_TYPE_RAW`.
pub const TYPE_RAW: u32 = 4;
/// `PERF_TYPE_BREAKPOINT`.
pub const TYPE_BREAKPOINT: u32 = 5;

/// `PERF_COUNT_HW_CPU_CYCLES`.
pub const COUNT_HW_CPU_CYCLES: u64 = 0;
/// `PERF_COUNT_HW_INSTRUCTIONS`.
pub const COUNT_HW_INSTRUCTIONS: u64 = 1;
/// `PERF_COUNT_HW_CACHE_REFERENCES`.
pub const COUNT_HW_CACHE_REFERENCES: u64 = 2;
/// `PERF_COUNT_HW_CACHE_MISSES`.
pub const COUNT_HW_CACHE_MISSES: u64 = 3;
/// `PERF_COUNT_HW_BRANCH_INSTRUCTIONS`.
pub const COUNT_HW_BRANCH_INSTRUCTIONS: u64 = 4;
/// `PERF_COUNT_HW_BRANCH_MISSES`.
pub const COUNT_HW_BRANCH_MISSES: u64 = 5;
/// `PERF_COUNT_HW_BUS_CYCLES`.
pub const COUNT_HW_BUS_CYCLES: u64 = 6;
/// `PERF_COUNT_HW_STALLED_CYCLES_FRONTEND`.
pub const COUNT_HW_STALLED_CYCLES_FRONTEND: u64 = 7;
/// `PERF_COUNT_HW_STALLED_CYCLES_BACKEND`.
pub const COUNT_HW_STALLED_CYCLES_BACKEND: u64 = 8;
/// `PERF_COUNT_HW_REF_CPU_CYCLES`.
pub const COUNT_HW_REF_CPU_CYCLES: u64 = 9;

/// `PERF_COUNT_SW_CPU_CLOCK`.
pub const COUNT_SW_CPU_CLOCK: u64 = 0;
/// `PERF_COUNT_SW_TASK_CLOCK`.
pub const COUNT_SW_TASK_CLOCK: u64 = 1;
/// `PERF_COUNT_SW_PAGE_FAULTS`.
pub const COUNT_SW_PAGE_FAULTS: u64 = 2;
/// `PERF_COUNT_SW_CONTEXT_SWITCHES`.
pub const COUNT_SW_CONTEXT_SWITCHES: u64 = 3;
/// `PERF_COUNT_SW_CPU_MIGRATIONS`.
pub const COUNT_SW_CPU_MIGRATIONS: u64 = 4;
/// `PERF_COUNT_SW_PAGE_FAULTS_MIN`.
pub const COUNT_SW_PAGE_FAULTS_MIN: u64 = 5;
/// `PERF_COUNT_SW_PAGE_FAULTS_MAJ`.
pub const COUNT_SW_PAGE_FAULTS_MAJ: u64 = 6;
/// `PERF_COUNT_SW_ALIGNMENT_FAULTS`.
pub const COUNT_SW_ALIGNMENT_FAULTS: u64 = 7;
/// `PERF_COUNT_SW_EMULATION_FAULTS`.
pub const COUNT_SW_EMULATION_FAULTS: u64 = 8;
/// `PERF_COUNT_SW_DUMMY`.
pub const COUNT_SW_DUMMY: u64 = 9;
/// `PERF_COUNT_SW_BPF_OUTPUT`.
pub const COUNT_SW_BPF_OUTPUT: u64 = 10;
/// `PERF_COUNT_SW_CGROUP_SWITCHES`.
pub const COUNT_SW_CGROUP_SWITCHES: u64 = 11;

/// `PERF_SAMPLE_IP`.
pub const SAMPLE_IP: u64 = 1u64 << 0;
/// `PERF_SAMPLE_TID`.
pub const SAMPLE_TID: u64 = 1u64 << 1;
/// `PERF_SAMPLE_TIME`.
pub const SAMPLE_TIME: u64 = 1u64 << 2;
/// `PERF_SAMPLE_ADDR`.
pub const SAMPLE_ADDR: u64 = 1u64 << 3;
/// `PERF_SAMPLE_READ`.
pub const SAMPLE_READ: u64 = 1u64 << 4;
/// `PERF_SAMPLE_CALLCHAIN`.
pub const SAMPLE_CALLCHAIN: u64 = 1u64 << 5;
/// `PERF_SAMPLE_ID`.
pub const SAMPLE_ID: u64 = 1u64 << 6;
/// `PERF_SAMPLE_CPU`.
pub const SAMPLE_CPU: u64 = 1u64 << 7;
/// `PERF_SAMPLE_PERIOD`.
pub const SAMPLE_PERIOD: u64 = 1u64 << 8;
/// `PERF_SAMPLE_STREAM_ID`.
pub const SAMPLE_STREAM_ID: u64 = 1u64 << 9;
/// `PERF_SAMPLE_RAW`.
pub const SAMPLE_RAW: u64 = 1u64 << 10;
/// `PERF_SAMPLE_BRANCH_STACK`.
pub const SAMPLE_BRANCH_STACK: u64 = 1u64 << 11;
/// `PERF_SAMPLE_REGS_USER`.
pub const SAMPLE_REGS_USER: u64 = 1u64 << 12;
/// `PERF_SAMPLE_STACK_USER`.
pub const SAMPLE_STACK_USER: u64 = 1u64 << 13;
/// `PERF_SAMPLE_WEIGHT`.
pub const SAMPLE_WEIGHT: u64 = 1u64 << 14;
/// `PERF_SAMPLE_DATA_SRC`.
pub const SAMPLE_DATA_SRC: u64 = 1u64 << 15;
/// `PERF_SAMPLE_IDENTIFIER`.
pub const SAMPLE_IDENTIFIER: u64 = 1u64 << 16;
/// `PERF_SAMPLE_TRANSACTION`.
pub const SAMPLE_TRANSACTION: u64 = 1u64 << 17;
/// `PERF_SAMPLE_REGS_INTR`.
pub const SAMPLE_REGS_INTR: u64 = 1u64 << 18;
/// `PERF_SAMPLE_PHYS_ADDR`.
pub const SAMPLE_PHYS_ADDR: u64 = 1u64 << 19;
/// `PERF_SAMPLE_AUX`.
pub const SAMPLE_AUX: u64 = 1u64 << 20;
/// `PERF_SAMPLE_CGROUP`.
pub const SAMPLE_CGROUP: u64 = 1u64 << 21;
/// `PERF_SAMPLE_DATA_PAGE_SIZE`.
pub const SAMPLE_DATA_PAGE_SIZE: u64 = 1u64 << 22;
/// `PERF_SAMPLE_CODE_PAGE_SIZE`.
pub const SAMPLE_CODE_PAGE_SIZE: u64 = 1u64 << 23;
/// `PERF_SAMPLE_WEIGHT_STRUCT`.
pub const SAMPLE_WEIGHT_STRUCT: u64 = 1u64 << 24;
/// `PERF_SAMPLE_MAX` (not ABI: the first bit no kernel defines yet).
pub const SAMPLE_MAX: u64 = 1u64 << 25;
/// `PERF_SAMPLE_WEIGHT_TYPE`.
pub const SAMPLE_WEIGHT_TYPE: u64 = SAMPLE_WEIGHT | SAMPLE_WEIGHT_STRUCT;

/// `PERF_FORMAT_TOTAL_TIME_ENABLED`.
pub const FORMAT_TOTAL_TIME_ENABLED: u64 = 1u64 << 0;
/// `PERF_FORMAT_TOTAL_TIME_RUNNING`.
pub const FORMAT_TOTAL_TIME_RUNNING: u64 = 1u64 << 1;
/// `PERF_FORMAT_ID`.
pub const FORMAT_ID: u64 = 1u64 << 2;
/// `PERF_FORMAT_GROUP`.
pub const FORMAT_GROUP: u64 = 1u64 << 3;
/// `PERF_FORMAT_LOST`.
pub const FORMAT_LOST: u64 = 1u64 << 4;
/// `PERF_FORMAT_MAX` (not ABI).
pub const FORMAT_MAX: u64 = 1u64 << 5;

/// `PERF_SAMPLE_BRANCH_HW_INDEX` in `branch_sample_type`: branch stacks carry `hw_idx`.
pub const SAMPLE_BRANCH_HW_INDEX: u64 = 1u64 << 17;
/// `PERF_SAMPLE_BRANCH_COUNTERS` in `branch_sample_type` (6.8+): a counter word per branch entry.
pub const SAMPLE_BRANCH_COUNTERS: u64 = 1u64 << 19;

/// Attr flag `disabled`.
pub const ATTR_FLAG_DISABLED: u64 = 1u64 << 0;
/// Attr flag `inherit`.
pub const ATTR_FLAG_INHERIT: u64 = 1u64 << 1;
/// Attr flag `pinned`.
pub const ATTR_FLAG_PINNED: u64 = 1u64 << 2;
/// Attr flag `exclusive`.
pub const ATTR_FLAG_EXCLUSIVE: u64 = 1u64 << 3;
/// Attr flag `exclude_user`.
pub const ATTR_FLAG_EXCLUDE_USER: u64 = 1u64 << 4;
/// Attr flag `exclude_kernel`.
pub const ATTR_FLAG_EXCLUDE_KERNEL: u64 = 1u64 << 5;
/// Attr flag `exclude_hv`.
pub const ATTR_FLAG_EXCLUDE_HV: u64 = 1u64 << 6;
/// Attr flag `exclude_idle`.
pub const ATTR_FLAG_EXCLUDE_IDLE: u64 = 1u64 << 7;
/// Attr flag `mmap`.
pub const ATTR_FLAG_MMAP: u64 = 1u64 << 8;
/// Attr flag `comm`.
pub const ATTR_FLAG_COMM: u64 = 1u64 << 9;
/// Attr flag `freq`.
pub const ATTR_FLAG_FREQ: u64 = 1u64 << 10;
/// Attr flag `inherit_stat`.
pub const ATTR_FLAG_INHERIT_STAT: u64 = 1u64 << 11;
/// Attr flag `enable_on_exec`.
pub const ATTR_FLAG_ENABLE_ON_EXEC: u64 = 1u64 << 12;
/// Attr flag `task`.
pub const ATTR_FLAG_TASK: u64 = 1u64 << 13;
/// Attr flag `watermark`.
pub const ATTR_FLAG_WATERMARK: u64 = 1u64 << 14;
/// Shift of the 2-bit `precise_ip` field.
pub const ATTR_PRECISE_IP_SHIFT: u32 = 15;
/// Mask of the 2-bit `precise_ip` field.
pub const ATTR_PRECISE_IP_MASK: u64 = 3u64 << 15;
/// Attr flag `mmap_data`.
pub const ATTR_FLAG_MMAP_DATA: u64 = 1u64 << 17;
/// Attr flag `sample_id_all`.
pub const ATTR_FLAG_SAMPLE_ID_ALL: u64 = 1u64 << 18;
/// Attr flag `exclude_host`.
pub const ATTR_FLAG_EXCLUDE_HOST: u64 = 1u64 << 19;
/// Attr flag `exclude_guest`.
pub const ATTR_FLAG_EXCLUDE_GUEST: u64 = 1u64 << 20;
/// Attr flag `exclude_callchain_kernel`.
pub const ATTR_FLAG_EXCLUDE_CALLCHAIN_KERNEL: u64 = 1u64 << 21;
/// Attr flag `exclude_callchain_user`.
pub const ATTR_FLAG_EXCLUDE_CALLCHAIN_USER: u64 = 1u64 << 22;
/// Attr flag `mmap2`.
pub const ATTR_FLAG_MMAP2: u64 = 1u64 << 23;
/// Attr flag `comm_exec`.
pub const ATTR_FLAG_COMM_EXEC: u64 = 1u64 << 24;
/// Attr flag `use_clockid`.
pub const ATTR_FLAG_USE_CLOCKID: u64 = 1u64 << 25;
/// Attr flag `context_switch`.
pub const ATTR_FLAG_CONTEXT_SWITCH: u64 = 1u64 << 26;
/// Attr flag `write_backward`.
pub const ATTR_FLAG_WRITE_BACKWARD: u64 = 1u64 << 27;
/// Attr flag `namespaces`.
pub const ATTR_FLAG_NAMESPACES: u64 = 1u64 << 28;
/// Attr flag `ksymbol`.
pub const ATTR_FLAG_KSYMBOL: u64 = 1u64 << 29;
/// Attr flag `bpf_event`.
pub const ATTR_FLAG_BPF_EVENT: u64 = 1u64 << 30;
/// Attr flag `aux_output`.
pub const ATTR_FLAG_AUX_OUTPUT: u64 = 1u64 << 31;
/// Attr flag `cgroup`.
pub const ATTR_FLAG_CGROUP: u64 = 1u64 << 32;
/// Attr flag `text_poke`.
pub const ATTR_FLAG_TEXT_POKE: u64 = 1u64 << 33;
/// Attr flag `build_id`.
pub const ATTR_FLAG_BUILD_ID: u64 = 1u64 << 34;
/// Attr flag `inherit_thread`.
pub const ATTR_FLAG_INHERIT_THREAD: u64 = 1u64 << 35;
/// Attr flag `remove_on_exec`.
pub const ATTR_FLAG_REMOVE_ON_EXEC: u64 = 1u64 << 36;
/// Attr flag `sigtrap`.
pub const ATTR_FLAG_SIGTRAP: u64 = 1u64 << 37;
