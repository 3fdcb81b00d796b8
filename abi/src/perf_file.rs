//! The perf.data file format (tools/perf/util/header.h): the file header, sections, the per-event attr
//! table, feature ids and the pipe-mode header, with validation that never trusts an offset or size.

use crate::attr::{PerfEventAttr, ATTR_SIZE_VER0};
use crate::ParseError;

/// `PERFILE2` as a native-endian u64 (the file's first 8 bytes).
pub const PERF_MAGIC2: u64 = u64::from_le_bytes(*b"PERFILE2");
/// The magic as written by a machine of the other byte order.
pub const PERF_MAGIC2_SWAPPED: u64 = u64::from_be_bytes(*b"PERFILE2");
/// Size of the file-mode header.
pub const FILE_HEADER_SIZE: u64 = 104;
/// The legacy magic `PERFFILE` (perf's header version 1), which perf still reads.
pub const PERF_MAGIC1: u64 = u64::from_le_bytes(*b"PERFFILE");
/// The size of a file header from before the feature bitmap (`offsetof(adds_features)`): perf reads
/// such a header as one without features.
pub const FILE_HEADER_SIZE_NO_FEATURES: u64 = 72;
/// Size of the pipe-mode header (`{magic, size}`).
pub const PIPE_HEADER_SIZE: u64 = 16;
/// Number of feature bits in the header's bitmap.
pub const HEADER_FEAT_BITS: usize = 256;
/// The largest attr size premap writes (VER7) so that perf 6.1 reads the file.
pub const WRITE_ATTR_SIZE: u32 = crate::attr::ATTR_SIZE_VER7;
/// Strings in feature sections are padded to this alignment (`NAME_ALIGN`).
pub const NAME_ALIGN: usize = 64;

/// `struct perf_file_section`: an `{offset, size}` pair in the file.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(
        zerocopy::FromBytes,
        zerocopy::IntoBytes,
        zerocopy::KnownLayout,
        zerocopy::Immutable
    )
)]
pub struct FileSection {
    /// Offset from the start of the file.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl FileSection {
    /// The end offset, or an error when it overflows or passes `file_len`.
    pub fn checked_end(&self, file_len: u64, what: &'static str) -> Result<u64, ParseError> {
        match self.offset.checked_add(self.size) {
            Some(end) if end <= file_len => Ok(end),
            _ => Err(ParseError::BadFile(what)),
        }
    }
}

/// `struct perf_file_header`, 104 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(
        zerocopy::FromBytes,
        zerocopy::IntoBytes,
        zerocopy::KnownLayout,
        zerocopy::Immutable
    )
)]
pub struct FileHeader {
    /// [`PERF_MAGIC2`].
    pub magic: u64,
    /// [`FILE_HEADER_SIZE`].
    pub size: u64,
    /// Size of one entry of the attrs section: `attr.size + 16`.
    pub attr_size: u64,
    /// The attrs section: `{attr, ids section}` per event.
    pub attrs: FileSection,
    /// The data section: the records.
    pub data: FileSection,
    /// Unused (`event_types`).
    pub event_types: FileSection,
    /// Feature bits (`HEADER_*`); their sections follow the data section, in bit order.
    pub adds_features: [u64; 4],
}

const _: () = assert!(core::mem::size_of::<FileHeader>() == FILE_HEADER_SIZE as usize);
const _: () = assert!(core::mem::size_of::<FileSection>() == 16);

/// `HEADER_TRACING_DATA`.
pub const HEADER_TRACING_DATA: u32 = 1;
/// `HEADER_BUILD_ID`.
pub const HEADER_BUILD_ID: u32 = 2;
/// `HEADER_HOSTNAME`.
pub const HEADER_HOSTNAME: u32 = 3;
/// `HEADER_OSRELEASE`.
pub const HEADER_OSRELEASE: u32 = 4;
/// `HEADER_VERSION`.
pub const HEADER_VERSION: u32 = 5;
/// `HEADER_ARCH`.
pub const HEADER_ARCH: u32 = 6;
/// `HEADER_NRCPUS`.
pub const HEADER_NRCPUS: u32 = 7;
/// `HEADER_CPUDESC`.
pub const HEADER_CPUDESC: u32 = 8;
/// `HEADER_CPUID`.
pub const HEADER_CPUID: u32 = 9;
/// `HEADER_TOTAL_MEM`.
pub const HEADER_TOTAL_MEM: u32 = 10;
/// `HEADER_CMDLINE`.
pub const HEADER_CMDLINE: u32 = 11;
/// `HEADER_EVENT_DESC`.
pub const HEADER_EVENT_DESC: u32 = 12;
/// `HEADER_CPU_TOPOLOGY`.
pub const HEADER_CPU_TOPOLOGY: u32 = 13;
/// `HEADER_NUMA_TOPOLOGY`.
pub const HEADER_NUMA_TOPOLOGY: u32 = 14;
/// `HEADER_BRANCH_STACK`.
pub const HEADER_BRANCH_STACK: u32 = 15;
/// `HEADER_PMU_MAPPINGS`.
pub const HEADER_PMU_MAPPINGS: u32 = 16;
/// `HEADER_GROUP_DESC`.
pub const HEADER_GROUP_DESC: u32 = 17;
/// `HEADER_AUXTRACE`.
pub const HEADER_AUXTRACE: u32 = 18;
/// `HEADER_STAT`.
pub const HEADER_STAT: u32 = 19;
/// `HEADER_CACHE`.
pub const HEADER_CACHE: u32 = 20;
/// `HEADER_SAMPLE_TIME`: first and last sample time (u64 ns each).
pub const HEADER_SAMPLE_TIME: u32 = 21;
/// `HEADER_MEM_TOPOLOGY`.
pub const HEADER_MEM_TOPOLOGY: u32 = 22;
/// `HEADER_CLOCKID`: the clock's resolution in ns (u64).
pub const HEADER_CLOCKID: u32 = 23;
/// `HEADER_DIR_FORMAT`.
pub const HEADER_DIR_FORMAT: u32 = 24;
/// `HEADER_COMPRESSED`: u32 version, type, level, ratio, mmap_len.
pub const HEADER_COMPRESSED: u32 = 27;
/// `HEADER_BPF_PROG_INFO`: u32 count, then `struct perf_bpil` blobs.
pub const HEADER_BPF_PROG_INFO: u32 = 25;
/// `HEADER_BPF_BTF`: u32 count, then {u32 id, u32 size, data} entries.
pub const HEADER_BPF_BTF: u32 = 26;
/// `HEADER_CPU_PMU_CAPS`: u32 count, then name and value strings.
pub const HEADER_CPU_PMU_CAPS: u32 = 28;
/// `HEADER_CLOCK_DATA`.
pub const HEADER_CLOCK_DATA: u32 = 29;
/// `HEADER_HYBRID_TOPOLOGY`: u32 count, then PMU name and CPU list strings.
pub const HEADER_HYBRID_TOPOLOGY: u32 = 30;
/// `HEADER_PMU_CAPS`: u32 PMU count, then per PMU a u32 count, name/value strings and its name.
pub const HEADER_PMU_CAPS: u32 = 31;

/// The name perf gives a feature bit.
pub const fn feature_name(bit: u32) -> &'static str {
    match bit {
        1 => "TRACING_DATA",
        2 => "BUILD_ID",
        3 => "HOSTNAME",
        4 => "OSRELEASE",
        5 => "VERSION",
        6 => "ARCH",
        7 => "NRCPUS",
        8 => "CPUDESC",
        9 => "CPUID",
        10 => "TOTAL_MEM",
        11 => "CMDLINE",
        12 => "EVENT_DESC",
        13 => "CPU_TOPOLOGY",
        14 => "NUMA_TOPOLOGY",
        15 => "BRANCH_STACK",
        16 => "PMU_MAPPINGS",
        17 => "GROUP_DESC",
        18 => "AUXTRACE",
        19 => "STAT",
        20 => "CACHE",
        21 => "SAMPLE_TIME",
        22 => "MEM_TOPOLOGY",
        23 => "CLOCKID",
        24 => "DIR_FORMAT",
        25 => "BPF_PROG_INFO",
        26 => "BPF_BTF",
        27 => "COMPRESSED",
        28 => "CPU_PMU_CAPS",
        29 => "CLOCK_DATA",
        30 => "HYBRID_TOPOLOGY",
        31 => "PMU_CAPS",
        _ => "UNKNOWN",
    }
}

/// How a file begins: file mode (a full header) or pipe mode (records only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `perf record -o file`: header, attrs, data, features.
    File(FileHeader),
    /// `perf record -o -`: a 16-byte header, then records (attrs as `PERF_RECORD_HEADER_ATTR`).
    Pipe,
}

fn u64_at(bytes: &[u8], off: usize) -> Option<u64> {
    let b = bytes.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_ne_bytes(a))
}

/// Decodes and validates the start of a perf.data file. `file_len` is the whole file's length.
pub fn parse_file_start(start: &[u8], file_len: u64) -> Result<FileKind, ParseError> {
    let magic = u64_at(start, 0).ok_or(ParseError::BadFile("file shorter than its magic"))?;
    if magic == PERF_MAGIC2_SWAPPED && magic != PERF_MAGIC2 {
        return Err(ParseError::BadFile(
            "file is from a machine of the other byte order",
        ));
    }
    // Version 1 (`PERFFILE`, perf before 2.6.37) is read as perf reads it: the same layout, in this
    // machine's byte order.
    if magic != PERF_MAGIC2 && magic != PERF_MAGIC1 {
        return Err(ParseError::BadFile("no PERFILE2 (or PERFFILE) magic"));
    }
    let size = u64_at(start, 8).ok_or(ParseError::BadFile("truncated header"))?;
    if size == PIPE_HEADER_SIZE && magic == PERF_MAGIC2 {
        return Ok(FileKind::Pipe);
    }
    if size != FILE_HEADER_SIZE && size != FILE_HEADER_SIZE_NO_FEATURES {
        return Err(ParseError::BadFile(
            "header size is neither 104 (file), 72 (file without features) nor 16 (pipe)",
        ));
    }
    let w = |i: usize| u64_at(start, i * 8).ok_or(ParseError::BadFile("truncated header"));
    // A header without the feature bitmap has no features (perf_file_header__read).
    let feat = |i: usize| {
        if size == FILE_HEADER_SIZE {
            w(i)
        } else {
            Ok(0)
        }
    };
    let h = FileHeader {
        magic,
        size,
        attr_size: w(2)?,
        attrs: FileSection {
            offset: w(3)?,
            size: w(4)?,
        },
        data: FileSection {
            offset: w(5)?,
            size: w(6)?,
        },
        event_types: FileSection {
            offset: w(7)?,
            size: w(8)?,
        },
        adds_features: [feat(9)?, feat(10)?, feat(11)?, feat(12)?],
    };
    if h.attr_size < u64::from(ATTR_SIZE_VER0) + 16
        || h.attr_size > 4096 + 16
        || h.attr_size % 8 != 0
    {
        return Err(ParseError::BadAttrSize {
            size: h.attr_size.min(u64::from(u32::MAX)) as u32,
        });
    }
    h.attrs
        .checked_end(file_len, "attrs section runs past the end of the file")?;
    h.data
        .checked_end(file_len, "data section runs past the end of the file")?;
    if h.attrs.size % h.attr_size != 0 {
        return Err(ParseError::BadFile(
            "attrs section is not a whole number of attrs",
        ));
    }
    Ok(FileKind::File(h))
}

impl FileHeader {
    /// Whether feature `bit` is set.
    pub fn has_feature(&self, bit: u32) -> bool {
        let (w, b) = ((bit / 64) as usize, bit % 64);
        self.adds_features
            .get(w)
            .is_some_and(|word| word & (1u64 << b) != 0)
    }

    /// Sets feature `bit`.
    pub fn set_feature(&mut self, bit: u32) {
        if let Some(word) = self.adds_features.get_mut((bit / 64) as usize) {
            *word |= 1u64 << (bit % 64);
        }
    }

    /// The set feature bits in order.
    pub fn features(&self) -> impl Iterator<Item = u32> + '_ {
        (0..HEADER_FEAT_BITS as u32).filter(|b| self.has_feature(*b))
    }

    /// Number of attrs in the attrs section.
    pub fn attr_count(&self) -> u64 {
        self.attrs.size.checked_div(self.attr_size).unwrap_or(0)
    }

    /// The header's 104 bytes.
    pub fn to_bytes(&self) -> [u8; FILE_HEADER_SIZE as usize] {
        let mut out = [0u8; FILE_HEADER_SIZE as usize];
        let mut w = crate::raw::Writer::new(&mut out);
        for v in [
            self.magic,
            self.size,
            self.attr_size,
            self.attrs.offset,
            self.attrs.size,
            self.data.offset,
            self.data.size,
            self.event_types.offset,
            self.event_types.size,
        ] {
            w.u64(v);
        }
        for v in self.adds_features {
            w.u64(v);
        }
        out
    }
}

/// One entry of the attrs section: the attr and where its ids are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileAttr {
    /// The attr (decoded from `attr_size - 16` bytes).
    pub attr: PerfEventAttr,
    /// The section holding the event's u64 ids.
    pub ids: FileSection,
}

/// Decodes one attrs-section entry of `attr_size` bytes.
pub fn parse_file_attr(entry: &[u8]) -> Result<FileAttr, ParseError> {
    let n = entry.len();
    let attr_len = n
        .checked_sub(16)
        .ok_or(ParseError::BadAttrSize { size: n as u32 })?;
    let (attr_bytes, ids) = entry.split_at(attr_len);
    let attr = PerfEventAttr::from_bytes(attr_bytes)?;
    // The attr's own size: 0 (perf's VER0), or a multiple of 8 from VER0 up to the entry's attr part.
    let size = attr.size;
    if size != 0 && (size < ATTR_SIZE_VER0 || size % 8 != 0 || size as usize > attr_len) {
        return Err(ParseError::BadAttrSize { size });
    }
    let ids = FileSection {
        offset: u64_at(ids, 0).ok_or(ParseError::BadAttrSize { size: n as u32 })?,
        size: u64_at(ids, 8).ok_or(ParseError::BadAttrSize { size: n as u32 })?,
    };
    Ok(FileAttr { attr, ids })
}

/// Length of a feature-section string as perf writes it: a u32 length (the string, its NUL and padding
/// to [`NAME_ALIGN`]) followed by that many bytes.
pub const fn padded_string_len(s_len: usize) -> usize {
    (s_len + 1).div_ceil(NAME_ALIGN) * NAME_ALIGN
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file header with `magic`, header `size`, one 136-byte attr (+ ids) at 104 and data after it.
    fn header_bytes(magic: u64, size: u64) -> [u8; 104] {
        let words = [magic, size, 152, 104, 152, 256, 0, 0, 0, 0b100, 0, 0, 0];
        let mut b = [0u8; 104];
        for (i, w) in words.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
        }
        b
    }

    #[test]
    fn version_1_and_featureless_headers_are_read_as_perf_reads_them() {
        let v2 = parse_file_start(&header_bytes(PERF_MAGIC2, 104), 256).unwrap();
        let FileKind::File(v2) = v2 else { panic!() };
        assert!(v2.has_feature(2));
        // PERFFILE, perf's version 1: the same layout.
        let v1 = parse_file_start(&header_bytes(PERF_MAGIC1, 104), 256).unwrap();
        assert!(matches!(v1, FileKind::File(h) if h.has_feature(2) && h.attrs == v2.attrs));
        // A 72-byte header has no feature bitmap: whatever follows it is not features.
        for magic in [PERF_MAGIC1, PERF_MAGIC2] {
            let h = parse_file_start(&header_bytes(magic, 72), 256).unwrap();
            assert!(matches!(h, FileKind::File(h) if !h.has_feature(2) && h.data == v2.data));
        }
        // Neither magic: refused; PERFFILE in pipe mode does not exist.
        assert!(
            parse_file_start(&header_bytes(u64::from_le_bytes(*b"PERFILE3"), 104), 256).is_err()
        );
        assert!(parse_file_start(&header_bytes(PERF_MAGIC1, 16), 256).is_err());
    }

    #[test]
    fn a_header_without_attr_size_counts_no_attrs() {
        assert_eq!(FileHeader::default().attr_count(), 0);
    }
}
