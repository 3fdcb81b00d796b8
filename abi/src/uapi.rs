//! The premap driver's user ABI, `/dev/premap`: its device name, ioctl numbers and the structures they
//! carry, the create flags and the limits. This file alone generates the C UAPI header
//! `abi/include/premap_uapi.h` (cbindgen; the `_IOW`/`_IOR` macros there are checked against the
//! numbers below by abi/tests/c_header.rs). Validation and encoding of these structures live in
//! [`crate::ioctl`], which re-exports everything here.

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
/// Create flag: map the buffer with the typed-page strategy: every page is a `PGTY_user_ring` page
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
