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

/// The driver's misc device name.
pub const DEVICE_NAME: &str = "premap";
/// The driver's device node.
pub const DEVICE_PATH: &str = "/dev/premap";

/// The premap driver's ioctl type byte. Documentation/userspace-api/ioctl/ioctl-number.rst lists no
/// user of 0xDA.
pub const IOC_MAGIC: u8 = 0xDA;

/// Create flag: overwrite mode. The producer ignores `data_tail` and overwrites the oldest data, writing
/// backward (`write_backward` semantics); the mapping must be `PROT_READ` only.
pub const CREATE_OVERWRITE: u32 = 1 << 0;
/// Create flag: map the buffer with the typed-page strategy: every page is a `PGTY_driver_ring` page
/// (see [`crate::memdesc`]) that mmap maps with `vm_insert_pages_prot()` (one call per up to 512 pages,
/// one page-table lock per page table), without a reference or a mapcount, in a `VM_MIXEDMAP` VMA (not
/// `VM_PFNMAP | VM_IO`) that GUP refuses because `vm_normal_page()` does. The control page of a
/// consume-mode mapping is mapped writable from the start. Without the flag the buffer is mapped with
/// one `remap_pfn_range()` per page (`VM_PFNMAP | VM_IO`, as perf since 6.14). The driver needs the
/// kernel's typed-page series (driver/kernel/) to build at all, so both are always available. What
/// differs between the two is listed in docs/typed-pages.md.
pub const CREATE_TYPED_PAGES: u32 = 1 << 1;
/// Every create flag this ABI version defines.
pub const CREATE_ALL_FLAGS: u32 = CREATE_OVERWRITE | CREATE_TYPED_PAGES;

/// The largest number of data (or AUX) pages one buffer may have: 2^20 pages (4 GiB with 4 KiB pages).
pub const MAX_AREA_PAGES: u32 = 1 << 20;

/// `struct premap_create`: argument of [`IOC_CREATE`]. Configures the buffer of one open file; a file
/// takes one create, before its first mmap.
///
/// Errors: `EINVAL` for a request [`CreateParams::validate`] refuses; `EBUSY` when the file already has
/// a buffer; `EPERM` when the buffer's pages would take what the calling user (real uid) has pinned in
/// the driver past its limit: the `mlock_kb` module parameter (default 8192 KiB per user, the
/// counterpart of perf's `perf_event_mlock_kb`) plus the caller's `RLIMIT_MEMLOCK`; `CAP_IPC_LOCK`
/// lifts the limit, as for perf. The pages stay charged to that user until the buffer is freed (its
/// last file and mapping gone). `ENOMEM` when the machine cannot give the pages: a buffer may take at
/// most half of RAM whoever asks, and its allocations fail rather than wake the OOM killer; the pages
/// are charged to the caller's memory cgroup. `EINTR` when a fatal signal arrives while the pages are
/// allocated.
///
/// mmap of the buffer: the whole buffer (`1 + data_pages` pages at offset 0) or the whole AUX area (at
/// `aux_offset`); any other length or offset, or `MAP_PRIVATE`, is `EINVAL`; `PROT_EXEC` is `EPERM` (and
/// `mprotect` cannot add it later); a consume-mode mapping without `PROT_WRITE`, or an overwrite-mode
/// one with it, is `EACCES`; allocation failure (page tables) is `ENOMEM` and leaves nothing mapped.
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
pub struct CreateParams {
    /// `sizeof(struct premap_create)` as the caller knows it (for extension); must be at least 32.
    pub size: u32,
    /// `CREATE_*` flags; unknown bits are rejected with EINVAL.
    pub flags: u32,
    /// Data pages: 0 (control page only) or a power of two up to [`MAX_AREA_PAGES`].
    pub data_pages: u32,
    /// AUX pages: 0 or a power of two up to [`MAX_AREA_PAGES`].
    pub aux_pages: u32,
    /// The poll watermark in bytes; 0 means half the data area. Consume mode: the file polls readable
    /// (EPOLLIN) while the bytes the producer has published past `data_tail` reach the watermark (level
    /// triggered; `data_head` in the control page is not believed, as user space can write it).
    /// Overwrite mode: readable once each time a watermark's worth of records has been written since
    /// poll last reported it (as perf's ring, so an epoll loop does not spin on an old record).
    pub wakeup_watermark: u32,
    /// Must be 0.
    pub reserved1: u32,
    /// Must be 0.
    pub reserved2: u64,
}

/// `struct premap_info`: filled by [`IOC_INFO`].
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
pub struct BufferInfo {
    /// The flags the buffer was created with.
    pub flags: u32,
    /// The kernel's page size.
    pub page_size: u32,
    /// Data pages.
    pub data_pages: u32,
    /// AUX pages.
    pub aux_pages: u32,
    /// Length to pass to mmap for the control page and the data area.
    pub mmap_len: u64,
    /// mmap offset of the AUX area (0 without one).
    pub aux_offset: u64,
}

/// `struct premap_stats`: filled by [`IOC_STATS`].
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
pub struct BufferStats {
    /// Records published.
    pub records: u64,
    /// Bytes published.
    pub bytes: u64,
    /// Records dropped because the ring was full (consume mode).
    pub lost: u64,
    /// PERF_RECORD_LOST records emitted.
    pub lost_records: u64,
    /// Times pollers were woken.
    pub wakeups: u64,
    /// Live mappings of the buffer.
    pub mappings: u64,
}

/// `struct premap_generate`: argument of [`IOC_GENERATE`], which starts the in-kernel producer.
///
/// A new request first stops the file's running generator (promptly: the generator sleeps interruptibly
/// and checks for its stop after every batch); `count == 0` only stops it. Errors: `EINVAL` for what
/// [`GenerateParams::validate`] refuses or a buffer without data pages, `ENODEV` before `IOC_CREATE`,
/// `EAGAIN` when the calling user already runs [`MAX_GENERATORS_PER_USER`] generators.
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
pub struct GenerateParams {
    /// Samples to produce; 0 stops a running generator.
    pub count: u64,
    /// Nanoseconds between batches, at most [`MAX_GENERATE_PERIOD_NS`]; 0 produces as fast as possible
    /// (the generator still yields the CPU after every batch).
    pub period_ns: u64,
    /// Samples per batch, 1 to [`MAX_GENERATE_BATCH`].
    pub batch: u32,
    /// Size of each SAMPLE record in bytes: a multiple of 8, at least 40
    /// (header + IDENTIFIER, TID, TIME, and a sequence number in PERIOD), at most 65528.
    pub sample_size: u32,
}

/// `struct premap_page_info`: argument of [`IOC_PAGE_INFO`]: user space fills `pgoff` (and zeroes the
/// rest), the driver returns the page's `page_type` word (see [`crate::memdesc`]) and its reference
/// count. Errors: `ENODEV` before create, `EINVAL` for a `pgoff` past the buffer or a non-zero
/// `reserved`, `EFAULT` for a bad pointer.
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
pub struct PageInfo {
    /// In: the page's offset in the file, in pages.
    pub pgoff: u32,
    /// Out: the `page_type` word of that page.
    pub page_type: u32,
    /// Out: the page's reference count (`page_ref_count()`): 1, the driver's own, whether the page is
    /// mapped or not, with either strategy (neither mapping takes a reference), unless something else
    /// (a GUP pin the strategy failed to refuse) holds the page.
    pub refcount: i32,
    /// In: must be 0. Out: 0.
    pub reserved: u32,
}

/// The longest pause between two generator batches: 1 s.
pub const MAX_GENERATE_PERIOD_NS: u64 = 1_000_000_000;
/// The most samples one generator batch writes before it yields the CPU.
pub const MAX_GENERATE_BATCH: u32 = 4096;
/// How many generators one user may run at once (one per open file at most).
pub const MAX_GENERATORS_PER_USER: u32 = 8;

/// The `sample_type` of the samples the in-kernel generator produces.
pub const GENERATED_SAMPLE_TYPE: u64 = SAMPLE_IDENTIFIER | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD;

/// `_IOW(IOC_MAGIC, 1, struct premap_create)`: configure the buffer.
pub const IOC_CREATE: u32 = 0x4020_DA01;
/// `_IOR(IOC_MAGIC, 2, struct premap_info)`: read the buffer's geometry.
pub const IOC_INFO: u32 = 0x8020_DA02;
/// `_IOR(IOC_MAGIC, 3, struct premap_stats)`: read the producer's counters.
pub const IOC_STATS: u32 = 0x8030_DA03;
/// `_IOW(IOC_MAGIC, 4, struct premap_generate)`: start (or stop) the in-kernel sample generator.
pub const IOC_GENERATE: u32 = 0x4018_DA04;
/// `_IOWR(IOC_MAGIC, 5, struct premap_page_info)`: read the memdesc of one page.
pub const IOC_PAGE_INFO: u32 = 0xC010_DA05;

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
