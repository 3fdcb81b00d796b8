//! `struct perf_event_header`, the `PERF_RECORD_*` type numbers (kernel 1..22 and the perf tool's 64..),
//! and the `PERF_RECORD_MISC_*` bits.

use crate::ParseError;

/// `struct perf_event_header`: the 8 bytes in front of every record.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "zerocopy",
    derive(
        zerocopy::FromBytes,
        zerocopy::IntoBytes,
        zerocopy::KnownLayout,
        zerocopy::Immutable
    )
)]
pub struct EventHeader {
    /// One of the `RECORD_*` constants (kept as raw `u32`: unknown types are legal input).
    pub r#type: u32,
    /// `RECORD_MISC_*` bits.
    pub misc: u16,
    /// Size of the whole record, header included, in bytes.
    pub size: u16,
}

/// Size of [`EventHeader`].
pub const EVENT_HEADER_SIZE: usize = 8;
const _: () = assert!(core::mem::size_of::<EventHeader>() == EVENT_HEADER_SIZE);
const _: () = assert!(core::mem::offset_of!(EventHeader, r#type) == 0);
const _: () = assert!(core::mem::offset_of!(EventHeader, misc) == 4);
const _: () = assert!(core::mem::offset_of!(EventHeader, size) == 6);

impl EventHeader {
    /// Decodes a header from its 8 native-endian bytes.
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        Self {
            r#type: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            misc: u16::from_ne_bytes([b[4], b[5]]),
            size: u16::from_ne_bytes([b[6], b[7]]),
        }
    }

    /// Encodes the header as its 8 native-endian bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        let t = self.r#type.to_ne_bytes();
        let m = self.misc.to_ne_bytes();
        let s = self.size.to_ne_bytes();
        [t[0], t[1], t[2], t[3], m[0], m[1], s[0], s[1]]
    }

    /// Checks the declared size: not 0, at least the header, a multiple of 8.
    pub const fn check_size(&self) -> Result<usize, ParseError> {
        let size = self.size;
        if size == 0 {
            Err(ParseError::SizeZero)
        } else if (size as usize) < EVENT_HEADER_SIZE {
            Err(ParseError::SizeTooSmall { size })
        } else if size % 8 != 0 {
            Err(ParseError::SizeUnaligned { size })
        } else {
            Ok(size as usize)
        }
    }

    /// The CPU mode bits of `misc` (`misc & RECORD_MISC_CPUMODE_MASK`).
    pub const fn cpumode(&self) -> u16 {
        self.misc & RECORD_MISC_CPUMODE_MASK
    }
}

/// `PERF_RECORD_MMAP`.
pub const RECORD_MMAP: u32 = 1;
/// `PERF_RECORD_LOST`.
pub const RECORD_LOST: u32 = 2;
/// `PERF_RECORD_COMM`.
pub const RECORD_COMM: u32 = 3;
/// `PERF_RECORD_EXIT`.
pub const RECORD_EXIT: u32 = 4;
/// `PERF_RECORD_THROTTLE`.
pub const RECORD_THROTTLE: u32 = 5;
/// `PERF_RECORD_UNTHROTTLE`.
pub const RECORD_UNTHROTTLE: u32 = 6;
/// `PERF_RECORD_FORK`.
pub const RECORD_FORK: u32 = 7;
/// `PERF_RECORD_READ`.
pub const RECORD_READ: u32 = 8;
/// `PERF_RECORD_SAMPLE`.
pub const RECORD_SAMPLE: u32 = 9;
/// `PERF_RECORD_MMAP2`.
pub const RECORD_MMAP2: u32 = 10;
/// `PERF_RECORD_AUX`.
pub const RECORD_AUX: u32 = 11;
/// `PERF_RECORD_ITRACE_START`.
pub const RECORD_ITRACE_START: u32 = 12;
/// `PERF_RECORD_LOST_SAMPLES`.
pub const RECORD_LOST_SAMPLES: u32 = 13;
/// `PERF_RECORD_SWITCH`.
pub const RECORD_SWITCH: u32 = 14;
/// `PERF_RECORD_SWITCH_CPU_WIDE`.
pub const RECORD_SWITCH_CPU_WIDE: u32 = 15;
/// `PERF_RECORD_NAMESPACES`.
pub const RECORD_NAMESPACES: u32 = 16;
/// `PERF_RECORD_KSYMBOL`.
pub const RECORD_KSYMBOL: u32 = 17;
/// `PERF_RECORD_BPF_EVENT`.
pub const RECORD_BPF_EVENT: u32 = 18;
/// `PERF_RECORD_CGROUP`.
pub const RECORD_CGROUP: u32 = 19;
/// `PERF_RECORD_TEXT_POKE`.
pub const RECORD_TEXT_POKE: u32 = 20;
/// `PERF_RECORD_AUX_OUTPUT_HW_ID`.
pub const RECORD_AUX_OUTPUT_HW_ID: u32 = 21;
/// `PERF_RECORD_CALLCHAIN_DEFERRED` (Linux 6.17+).
pub const RECORD_CALLCHAIN_DEFERRED: u32 = 22;

/// First type number the perf tool uses for its own (user) records.
pub const RECORD_USER_TYPE_START: u32 = 64;
/// `PERF_RECORD_HEADER_ATTR`.
pub const RECORD_HEADER_ATTR: u32 = 64;
/// `PERF_RECORD_HEADER_EVENT_TYPE` (deprecated).
pub const RECORD_HEADER_EVENT_TYPE: u32 = 65;
/// `PERF_RECORD_HEADER_TRACING_DATA`.
pub const RECORD_HEADER_TRACING_DATA: u32 = 66;
/// `PERF_RECORD_HEADER_BUILD_ID`.
pub const RECORD_HEADER_BUILD_ID: u32 = 67;
/// `PERF_RECORD_FINISHED_ROUND`: a bare header after each pass over all rings.
pub const RECORD_FINISHED_ROUND: u32 = 68;
/// `PERF_RECORD_ID_INDEX`.
pub const RECORD_ID_INDEX: u32 = 69;
/// `PERF_RECORD_AUXTRACE_INFO`.
pub const RECORD_AUXTRACE_INFO: u32 = 70;
/// `PERF_RECORD_AUXTRACE`.
pub const RECORD_AUXTRACE: u32 = 71;
/// `PERF_RECORD_AUXTRACE_ERROR`.
pub const RECORD_AUXTRACE_ERROR: u32 = 72;
/// `PERF_RECORD_THREAD_MAP`.
pub const RECORD_THREAD_MAP: u32 = 73;
/// `PERF_RECORD_CPU_MAP`.
pub const RECORD_CPU_MAP: u32 = 74;
/// `PERF_RECORD_STAT_CONFIG`.
pub const RECORD_STAT_CONFIG: u32 = 75;
/// `PERF_RECORD_STAT`.
pub const RECORD_STAT: u32 = 76;
/// `PERF_RECORD_STAT_ROUND`.
pub const RECORD_STAT_ROUND: u32 = 77;
/// `PERF_RECORD_EVENT_UPDATE`.
pub const RECORD_EVENT_UPDATE: u32 = 78;
/// `PERF_RECORD_TIME_CONV`.
pub const RECORD_TIME_CONV: u32 = 79;
/// `PERF_RECORD_HEADER_FEATURE`.
pub const RECORD_HEADER_FEATURE: u32 = 80;
/// `PERF_RECORD_COMPRESSED` (zstd, deprecated by COMPRESSED2).
pub const RECORD_COMPRESSED: u32 = 81;
/// `PERF_RECORD_FINISHED_INIT`.
pub const RECORD_FINISHED_INIT: u32 = 82;
/// `PERF_RECORD_COMPRESSED2`.
pub const RECORD_COMPRESSED2: u32 = 83;

/// The name perf uses for a record type (`PERF_RECORD_` dropped), or `None` for an unknown type.
pub const fn record_type_name(ty: u32) -> Option<&'static str> {
    Some(match ty {
        RECORD_MMAP => "MMAP",
        RECORD_LOST => "LOST",
        RECORD_COMM => "COMM",
        RECORD_EXIT => "EXIT",
        RECORD_THROTTLE => "THROTTLE",
        RECORD_UNTHROTTLE => "UNTHROTTLE",
        RECORD_FORK => "FORK",
        RECORD_READ => "READ",
        RECORD_SAMPLE => "SAMPLE",
        RECORD_MMAP2 => "MMAP2",
        RECORD_AUX => "AUX",
        RECORD_ITRACE_START => "ITRACE_START",
        RECORD_LOST_SAMPLES => "LOST_SAMPLES",
        RECORD_SWITCH => "SWITCH",
        RECORD_SWITCH_CPU_WIDE => "SWITCH_CPU_WIDE",
        RECORD_NAMESPACES => "NAMESPACES",
        RECORD_KSYMBOL => "KSYMBOL",
        RECORD_BPF_EVENT => "BPF_EVENT",
        RECORD_CGROUP => "CGROUP",
        RECORD_TEXT_POKE => "TEXT_POKE",
        RECORD_AUX_OUTPUT_HW_ID => "AUX_OUTPUT_HW_ID",
        RECORD_CALLCHAIN_DEFERRED => "CALLCHAIN_DEFERRED",
        RECORD_HEADER_ATTR => "ATTR",
        RECORD_HEADER_EVENT_TYPE => "EVENT_TYPE",
        RECORD_HEADER_TRACING_DATA => "TRACING_DATA",
        RECORD_HEADER_BUILD_ID => "BUILD_ID",
        RECORD_FINISHED_ROUND => "FINISHED_ROUND",
        RECORD_ID_INDEX => "ID_INDEX",
        RECORD_AUXTRACE_INFO => "AUXTRACE_INFO",
        RECORD_AUXTRACE => "AUXTRACE",
        RECORD_AUXTRACE_ERROR => "AUXTRACE_ERROR",
        RECORD_THREAD_MAP => "THREAD_MAP",
        RECORD_CPU_MAP => "CPU_MAP",
        RECORD_STAT_CONFIG => "STAT_CONFIG",
        RECORD_STAT => "STAT",
        RECORD_STAT_ROUND => "STAT_ROUND",
        RECORD_EVENT_UPDATE => "EVENT_UPDATE",
        RECORD_TIME_CONV => "TIME_CONV",
        RECORD_HEADER_FEATURE => "FEATURE",
        RECORD_COMPRESSED => "COMPRESSED",
        RECORD_FINISHED_INIT => "FINISHED_INIT",
        RECORD_COMPRESSED2 => "COMPRESSED2",
        _ => return None,
    })
}

/// `PERF_RECORD_MISC_CPUMODE_MASK`.
pub const RECORD_MISC_CPUMODE_MASK: u16 = 7;
/// `PERF_RECORD_MISC_CPUMODE_UNKNOWN`.
pub const RECORD_MISC_CPUMODE_UNKNOWN: u16 = 0;
/// `PERF_RECORD_MISC_KERNEL`.
pub const RECORD_MISC_KERNEL: u16 = 1;
/// `PERF_RECORD_MISC_USER`.
pub const RECORD_MISC_USER: u16 = 2;
/// `PERF_RECORD_MISC_HYPERVISOR`.
pub const RECORD_MISC_HYPERVISOR: u16 = 3;
/// `PERF_RECORD_MISC_GUEST_KERNEL`.
pub const RECORD_MISC_GUEST_KERNEL: u16 = 4;
/// `PERF_RECORD_MISC_GUEST_USER`.
pub const RECORD_MISC_GUEST_USER: u16 = 5;
/// `PERF_RECORD_MISC_PROC_MAP_PARSE_TIMEOUT` (perf tool).
pub const RECORD_MISC_PROC_MAP_PARSE_TIMEOUT: u16 = 1 << 12;
/// `PERF_RECORD_MISC_MMAP_DATA`: a non-executable mapping (MMAP, MMAP2).
pub const RECORD_MISC_MMAP_DATA: u16 = 1 << 13;
/// `PERF_RECORD_MISC_COMM_EXEC`: the COMM change came from exec.
pub const RECORD_MISC_COMM_EXEC: u16 = 1 << 13;
/// `PERF_RECORD_MISC_FORK_EXEC` (perf tool).
pub const RECORD_MISC_FORK_EXEC: u16 = 1 << 13;
/// `PERF_RECORD_MISC_SWITCH_OUT`: the SWITCH record is a switch-out.
pub const RECORD_MISC_SWITCH_OUT: u16 = 1 << 13;
/// `PERF_RECORD_MISC_EXACT_IP`: the sample's IP is exact (precise events).
pub const RECORD_MISC_EXACT_IP: u16 = 1 << 14;
/// `PERF_RECORD_MISC_SWITCH_OUT_PREEMPT`: the task was preempted.
pub const RECORD_MISC_SWITCH_OUT_PREEMPT: u16 = 1 << 14;
/// `PERF_RECORD_MISC_MMAP_BUILD_ID`: the MMAP2 record carries a build id instead of maj/min/ino.
pub const RECORD_MISC_MMAP_BUILD_ID: u16 = 1 << 14;
/// `PERF_RECORD_MISC_EXT_RESERVED`.
pub const RECORD_MISC_EXT_RESERVED: u16 = 1 << 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        for b in [
            [0u8; 8],
            [9, 0, 0, 0, 2, 0, 48, 0],
            [1, 2, 3, 4, 5, 6, 7, 8],
            [0xff; 8],
            [0x44, 0x33, 0x22, 0x11, 0xbb, 0xaa, 0xf8, 0xff],
        ] {
            assert_eq!(EventHeader::from_bytes(b).to_bytes(), b);
        }
    }
}
