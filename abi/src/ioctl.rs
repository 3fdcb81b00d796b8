//! The `_IOC` request encoding, perf's ioctls, and the premap driver's user ABI: device name, request
//! numbers and the structures they carry.
//!
//! Request numbers are literals (so that cbindgen can emit them for C) and each is asserted, at compile
//! time, to equal the `_IOC` encoding computed by the const fns below.

use crate::attr::{SAMPLE_IDENTIFIER, SAMPLE_PERIOD, SAMPLE_TID, SAMPLE_TIME};
use core::mem::size_of;

/// `_IOC_NRBITS`.
pub const IOC_NRBITS: u32 = 8;
/// `_IOC_TYPEBITS`.
pub const IOC_TYPEBITS: u32 = 8;
/// `_IOC_SIZEBITS` (asm-generic and x86).
pub const IOC_SIZEBITS: u32 = 14;
/// `_IOC_NRSHIFT`.
pub const IOC_NRSHIFT: u32 = 0;
/// `_IOC_TYPESHIFT`.
pub const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
/// `_IOC_SIZESHIFT`.
pub const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
/// `_IOC_DIRSHIFT`.
pub const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
/// `_IOC_NONE`.
pub const IOC_NONE: u32 = 0;
/// `_IOC_WRITE`: user space writes the argument.
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: user space reads the argument.
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`. Sizes that do not fit in 14 bits yield 0 (never a valid request), so a
/// mistake shows up as a failed assertion rather than a silently wrong number.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    if size >= 1 << IOC_SIZEBITS {
        return 0;
    }
    (dir << IOC_DIRSHIFT)
        | ((ty as u32) << IOC_TYPESHIFT)
        | ((nr as u32) << IOC_NRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
}

/// `_IO(type, nr)`.
pub const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(type, nr, T)`, with `size` = `sizeof(T)`.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOW(type, nr, T)`.
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `_IOWR(type, nr, T)`.
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// `_IOC_NR(req)`.
pub const fn ioc_nr(req: u32) -> u8 {
    (req >> IOC_NRSHIFT) as u8
}

/// `_IOC_TYPE(req)`.
pub const fn ioc_type(req: u32) -> u8 {
    (req >> IOC_TYPESHIFT) as u8
}

/// `_IOC_SIZE(req)`.
pub const fn ioc_size(req: u32) -> usize {
    ((req >> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1)) as usize
}

/// `_IOC_DIR(req)`.
pub const fn ioc_dir(req: u32) -> u32 {
    req >> IOC_DIRSHIFT
}

/// The ioctl type byte of perf events, `'$'`.
pub const PERF_IOC_MAGIC: u8 = b'$';
/// `PERF_EVENT_IOC_ENABLE`.
pub const PERF_EVENT_IOC_ENABLE: u32 = 0x2400;
/// `PERF_EVENT_IOC_DISABLE`.
pub const PERF_EVENT_IOC_DISABLE: u32 = 0x2401;
/// `PERF_EVENT_IOC_REFRESH`.
pub const PERF_EVENT_IOC_REFRESH: u32 = 0x2402;
/// `PERF_EVENT_IOC_RESET`.
pub const PERF_EVENT_IOC_RESET: u32 = 0x2403;
/// `PERF_EVENT_IOC_PERIOD`: `_IOW('$', 4, __u64)`.
pub const PERF_EVENT_IOC_PERIOD: u32 = 0x4008_2404;
/// `PERF_EVENT_IOC_SET_OUTPUT`: `_IO('$', 5)`.
pub const PERF_EVENT_IOC_SET_OUTPUT: u32 = 0x2405;
/// `PERF_EVENT_IOC_SET_FILTER`: `_IOW('$', 6, char *)`.
pub const PERF_EVENT_IOC_SET_FILTER: u32 = 0x4008_2406;
/// `PERF_EVENT_IOC_ID`: `_IOR('$', 7, __u64 *)`.
pub const PERF_EVENT_IOC_ID: u32 = 0x8008_2407;
/// `PERF_EVENT_IOC_SET_BPF`: `_IOW('$', 8, __u32)`.
pub const PERF_EVENT_IOC_SET_BPF: u32 = 0x4004_2408;
/// `PERF_EVENT_IOC_PAUSE_OUTPUT`: `_IOW('$', 9, __u32)`. The premap driver accepts it too.
pub const PERF_EVENT_IOC_PAUSE_OUTPUT: u32 = 0x4004_2409;
/// `PERF_EVENT_IOC_QUERY_BPF`: `_IOWR('$', 10, struct perf_event_query_bpf *)`.
pub const PERF_EVENT_IOC_QUERY_BPF: u32 = 0xc008_240a;
/// `PERF_EVENT_IOC_MODIFY_ATTRIBUTES`: `_IOW('$', 11, struct perf_event_attr *)`.
pub const PERF_EVENT_IOC_MODIFY_ATTRIBUTES: u32 = 0x4008_240b;
/// `PERF_IOC_FLAG_GROUP`: apply ENABLE/DISABLE/RESET/REFRESH to the whole group.
pub const PERF_IOC_FLAG_GROUP: u32 = 1;

const PTR: usize = size_of::<u64>();
const _: () = assert!(PERF_EVENT_IOC_ENABLE == io(PERF_IOC_MAGIC, 0));
const _: () = assert!(PERF_EVENT_IOC_DISABLE == io(PERF_IOC_MAGIC, 1));
const _: () = assert!(PERF_EVENT_IOC_REFRESH == io(PERF_IOC_MAGIC, 2));
const _: () = assert!(PERF_EVENT_IOC_RESET == io(PERF_IOC_MAGIC, 3));
const _: () = assert!(PERF_EVENT_IOC_PERIOD == iow(PERF_IOC_MAGIC, 4, size_of::<u64>()));
const _: () = assert!(PERF_EVENT_IOC_SET_OUTPUT == io(PERF_IOC_MAGIC, 5));
const _: () = assert!(PERF_EVENT_IOC_SET_FILTER == iow(PERF_IOC_MAGIC, 6, PTR));
const _: () = assert!(PERF_EVENT_IOC_ID == ior(PERF_IOC_MAGIC, 7, PTR));
const _: () = assert!(PERF_EVENT_IOC_SET_BPF == iow(PERF_IOC_MAGIC, 8, size_of::<u32>()));
const _: () = assert!(PERF_EVENT_IOC_PAUSE_OUTPUT == iow(PERF_IOC_MAGIC, 9, size_of::<u32>()));
const _: () = assert!(PERF_EVENT_IOC_QUERY_BPF == iowr(PERF_IOC_MAGIC, 10, PTR));
const _: () = assert!(PERF_EVENT_IOC_MODIFY_ATTRIBUTES == iow(PERF_IOC_MAGIC, 11, PTR));

// The driver's UAPI (its structures, flags, limits and request numbers) is defined in uapi.rs, which
// generates the C UAPI header on its own; this module checks the numbers and validates the structures.
use crate::uapi::*;

/// The `sample_type` of the samples the in-kernel generator produces.
pub const GENERATED_SAMPLE_TYPE: u64 = SAMPLE_IDENTIFIER | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD;

const _: () = assert!(size_of::<CreateParams>() == 32);
const _: () = assert!(size_of::<BufferInfo>() == 32);
const _: () = assert!(size_of::<BufferStats>() == 48);
const _: () = assert!(size_of::<GenerateParams>() == 24);
const _: () = assert!(size_of::<PageInfo>() == 16);
const _: () = assert!(IOC_CREATE == iow(IOC_MAGIC, 1, size_of::<CreateParams>()));
const _: () = assert!(IOC_INFO == ior(IOC_MAGIC, 2, size_of::<BufferInfo>()));
const _: () = assert!(IOC_STATS == ior(IOC_MAGIC, 3, size_of::<BufferStats>()));
const _: () = assert!(IOC_GENERATE == iow(IOC_MAGIC, 4, size_of::<GenerateParams>()));
const _: () = assert!(IOC_PAGE_INFO == iowr(IOC_MAGIC, 5, size_of::<PageInfo>()));

#[cfg(feature = "zerocopy")]
static_assertions::assert_impl_all!(
    CreateParams: zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable
);

/// Why a [`CreateParams`] is refused (the driver answers EINVAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateError {
    /// `size` is smaller than the fields this version needs.
    TooSmall,
    /// A flag this ABI version does not define.
    UnknownFlags,
    /// `data_pages` is not 0 or a power of two up to [`MAX_AREA_PAGES`].
    BadDataPages,
    /// `aux_pages` is not 0 or a power of two up to [`MAX_AREA_PAGES`].
    BadAuxPages,
    /// A reserved field is not zero.
    Reserved,
    /// The watermark exceeds the data area.
    BadWatermark,
}

impl core::fmt::Display for CreateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::TooSmall => "size is smaller than struct premap_create",
            Self::UnknownFlags => "unknown create flags",
            Self::BadDataPages => "data_pages is not 0 or a power of two up to MAX_AREA_PAGES",
            Self::BadAuxPages => "aux_pages is not 0 or a power of two up to MAX_AREA_PAGES",
            Self::Reserved => "a reserved field is not zero",
            Self::BadWatermark => "wakeup_watermark exceeds the data area",
        })
    }
}

/// Why a [`GenerateParams`] is refused (the driver answers EINVAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerateError {
    /// `sample_size` is not a multiple of 8 from 40 to 65528.
    BadSampleSize,
    /// `batch` is 0 or above [`MAX_GENERATE_BATCH`].
    BadBatch,
    /// `period_ns` is above [`MAX_GENERATE_PERIOD_NS`].
    BadPeriod,
}

impl core::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BadSampleSize => "sample_size is not a multiple of 8 from 40 to 65528",
            Self::BadBatch => "batch is not from 1 to MAX_GENERATE_BATCH",
            Self::BadPeriod => "period_ns is above MAX_GENERATE_PERIOD_NS",
        })
    }
}

const fn area_ok(pages: u32) -> bool {
    pages == 0 || (pages.is_power_of_two() && pages <= MAX_AREA_PAGES)
}

fn ne_u32(b: &[u8], i: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(i..i + 4) {
        a.copy_from_slice(s);
    }
    u32::from_ne_bytes(a)
}

fn ne_u64(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(i..i + 8) {
        a.copy_from_slice(s);
    }
    u64::from_ne_bytes(a)
}

impl CreateParams {
    /// Decodes the struct from the bytes user space passed.
    pub fn from_bytes(b: &[u8; 32]) -> Self {
        Self {
            size: ne_u32(b, 0),
            flags: ne_u32(b, 4),
            data_pages: ne_u32(b, 8),
            aux_pages: ne_u32(b, 12),
            wakeup_watermark: ne_u32(b, 16),
            reserved1: ne_u32(b, 20),
            reserved2: ne_u64(b, 24),
        }
    }

    /// The struct's bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut w = crate::raw::Writer::new(&mut out);
        for v in [
            self.size,
            self.flags,
            self.data_pages,
            self.aux_pages,
            self.wakeup_watermark,
            self.reserved1,
        ] {
            w.u32(v);
        }
        w.u64(self.reserved2);
        out
    }

    /// Checks the request and returns the buffer's page layout and its wakeup watermark in bytes.
    pub fn validate(
        &self,
        page_size: u64,
    ) -> Result<(crate::memdesc::BufferLayout, u64), CreateError> {
        if (self.size as usize) < core::mem::size_of::<Self>() {
            return Err(CreateError::TooSmall);
        }
        if self.flags & !CREATE_ALL_FLAGS != 0 {
            return Err(CreateError::UnknownFlags);
        }
        if !area_ok(self.data_pages) {
            return Err(CreateError::BadDataPages);
        }
        if !area_ok(self.aux_pages) {
            return Err(CreateError::BadAuxPages);
        }
        if self.reserved1 != 0 || self.reserved2 != 0 {
            return Err(CreateError::Reserved);
        }
        let data_size = u64::from(self.data_pages) * page_size;
        let watermark = match self.wakeup_watermark {
            0 => (data_size / 2).max(1),
            w if u64::from(w) <= data_size => u64::from(w),
            _ => return Err(CreateError::BadWatermark),
        };
        let layout = crate::memdesc::BufferLayout {
            data_pages: self.data_pages,
            aux_pages: self.aux_pages,
            overwrite: self.flags & CREATE_OVERWRITE != 0,
        };
        Ok((layout, watermark))
    }
}

impl BufferInfo {
    /// The struct's bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut w = crate::raw::Writer::new(&mut out);
        for v in [self.flags, self.page_size, self.data_pages, self.aux_pages] {
            w.u32(v);
        }
        w.u64(self.mmap_len);
        w.u64(self.aux_offset);
        out
    }
}

impl PageInfo {
    /// Decodes the struct from the bytes user space passed.
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        Self {
            pgoff: ne_u32(b, 0),
            page_type: ne_u32(b, 4),
            refcount: ne_u32(b, 8) as i32,
            reserved: ne_u32(b, 12),
        }
    }

    /// The struct's bytes.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let mut w = crate::raw::Writer::new(&mut out);
        for v in [
            self.pgoff,
            self.page_type,
            self.refcount as u32,
            self.reserved,
        ] {
            w.u32(v);
        }
        out
    }
}

impl BufferStats {
    /// The struct's bytes.
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut out = [0u8; 48];
        let mut w = crate::raw::Writer::new(&mut out);
        for v in [
            self.records,
            self.bytes,
            self.lost,
            self.lost_records,
            self.wakeups,
            self.mappings,
        ] {
            w.u64(v);
        }
        out
    }
}

impl GenerateParams {
    /// Decodes the struct from the bytes user space passed.
    pub fn from_bytes(b: &[u8; 24]) -> Self {
        Self {
            count: ne_u64(b, 0),
            period_ns: ne_u64(b, 8),
            batch: ne_u32(b, 16),
            sample_size: ne_u32(b, 20),
        }
    }

    /// Checks the sample size (a multiple of 8 from 40 to 65528 bytes), the batch (1 to
    /// [`MAX_GENERATE_BATCH`]) and the period (at most [`MAX_GENERATE_PERIOD_NS`]).
    pub fn validate(&self) -> Result<(), GenerateError> {
        if self.sample_size < 40 || self.sample_size > 65528 || self.sample_size % 8 != 0 {
            return Err(GenerateError::BadSampleSize);
        }
        if self.batch == 0 || self.batch > MAX_GENERATE_BATCH {
            return Err(GenerateError::BadBatch);
        }
        if self.period_ns > MAX_GENERATE_PERIOD_NS {
            return Err(GenerateError::BadPeriod);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_info_bytes_round_trip_and_match_the_struct_layout() {
        let info = PageInfo {
            pgoff: 3,
            page_type: 0xf980_0002,
            refcount: -1,
            reserved: 7,
        };
        let b = info.to_bytes();
        assert_eq!(PageInfo::from_bytes(&b), info);
        #[cfg(feature = "zerocopy")]
        assert_eq!(&b[..], zerocopy::IntoBytes::as_bytes(&info));
    }

    #[test]
    fn create_params_are_validated() {
        let ok = CreateParams {
            size: 32,
            data_pages: 8,
            ..Default::default()
        };
        let (layout, wm) = ok.validate(4096).unwrap();
        assert_eq!(
            (layout.data_pages, layout.aux_pages, layout.overwrite, wm),
            (8, 0, false, 4 * 4096)
        );
        assert_eq!(CreateParams::from_bytes(&ok.to_bytes()), ok);
        let bad = |f: fn(&mut CreateParams)| {
            let mut p = ok;
            f(&mut p);
            p.validate(4096).unwrap_err()
        };
        assert_eq!(bad(|p| p.size = 8), CreateError::TooSmall);
        assert_eq!(bad(|p| p.flags = 1 << 7), CreateError::UnknownFlags);
        assert_eq!(bad(|p| p.data_pages = 3), CreateError::BadDataPages);
        assert_eq!(
            bad(|p| p.data_pages = MAX_AREA_PAGES * 2),
            CreateError::BadDataPages
        );
        assert_eq!(bad(|p| p.aux_pages = 6), CreateError::BadAuxPages);
        assert_eq!(bad(|p| p.reserved2 = 1), CreateError::Reserved);
        assert_eq!(bad(|p| p.reserved1 = 1), CreateError::Reserved);
        assert_eq!(
            bad(|p| p.wakeup_watermark = 8 * 4096 + 1),
            CreateError::BadWatermark
        );
        let zero = CreateParams {
            size: 32,
            ..Default::default()
        };
        assert!(zero.validate(4096).is_ok(), "a control-page-only buffer");
    }

    #[test]
    fn generate_params_are_validated() {
        let g = GenerateParams {
            count: 10,
            period_ns: 0,
            batch: 1,
            sample_size: 40,
        };
        assert_eq!(g.validate(), Ok(()));
        let bad = |g: GenerateParams| g.validate().unwrap_err();
        assert_eq!(
            bad(GenerateParams {
                sample_size: 44,
                ..g
            }),
            GenerateError::BadSampleSize
        );
        assert_eq!(
            bad(GenerateParams {
                sample_size: 32,
                ..g
            }),
            GenerateError::BadSampleSize
        );
        assert_eq!(
            bad(GenerateParams {
                sample_size: 65536,
                ..g
            }),
            GenerateError::BadSampleSize
        );
        assert_eq!(
            bad(GenerateParams { batch: 0, ..g }),
            GenerateError::BadBatch
        );
        assert_eq!(
            bad(GenerateParams {
                batch: u32::MAX,
                ..g
            }),
            GenerateError::BadBatch
        );
        assert_eq!(
            bad(GenerateParams {
                period_ns: u64::MAX,
                ..g
            }),
            GenerateError::BadPeriod
        );
        let max = GenerateParams {
            batch: MAX_GENERATE_BATCH,
            period_ns: MAX_GENERATE_PERIOD_NS,
            ..g
        };
        assert_eq!(max.validate(), Ok(()));
    }
}
