//! The control page: `struct perf_event_mmap_page` from `include/uapi/linux/perf_event.h`.
//!
//! Page 0 of every ring mapping holds this structure. The producer (the kernel or the premap driver)
//! writes `data_head` and `aux_head` while user space reads them; user space writes `data_tail` and
//! `aux_tail` in consume mode. Because the other side writes those fields concurrently, no API here hands
//! out a `&ControlPage` over live memory: [`ControlPtr`] wraps a raw pointer and reaches the positions
//! through atomics (Acquire loads, Release stores, as `tools/include/linux/ring_buffer.h` pairs them) and
//! every other field through volatile copies.

use core::ptr::{addr_of, addr_of_mut, NonNull};
use core::sync::atomic::{AtomicU64, Ordering};

/// `struct perf_event_mmap_page`, 1088 bytes, every field at its UAPI offset.
///
/// Field names equal the UAPI's so that the generated C header reads like `<linux/perf_event.h>`.
/// Use this type for copies (a snapshot read with [`ControlPtr::snapshot`], a page being initialised by
/// its owner); reach a live, shared page through [`ControlPtr`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "zerocopy",
    derive(
        zerocopy::FromBytes,
        zerocopy::IntoBytes,
        zerocopy::KnownLayout,
        zerocopy::Immutable
    )
)]
pub struct ControlPage {
    /// Version number of this structure.
    pub version: u32,
    /// Lowest version this is compatible with.
    pub compat_version: u32,
    /// Seqlock for the self-monitoring fields (`index` .. `time_mask`).
    pub lock: u32,
    /// Hardware counter index for `rdpmc` (0 = not available).
    pub index: u32,
    /// Value to add to the hardware counter.
    pub offset: i64,
    /// Time the event was enabled.
    pub time_enabled: u64,
    /// Time the event was running.
    pub time_running: u64,
    /// Capability bits; see the `CAP_*` constants.
    pub capabilities: u64,
    /// Width of the hardware counter in bits.
    pub pmc_width: u16,
    /// Shift for converting cycles to time.
    pub time_shift: u16,
    /// Multiplier for converting cycles to time.
    pub time_mult: u32,
    /// Offset for converting cycles to time.
    pub time_offset: u64,
    /// Zero point of `time_cycles` conversion.
    pub time_zero: u64,
    /// Header size up to `__reserved` fields.
    pub size: u32,
    /// Reserved (UAPI `__reserved_1`).
    pub __reserved_1: u32,
    /// Cycle counter value for short time conversion.
    pub time_cycles: u64,
    /// Mask for short time conversion.
    pub time_mask: u64,
    /// Reserved to pad the structure to 1 KiB before the positions (UAPI `__reserved[116*8]`).
    pub __reserved: [u8; 928],
    /// Producer position: free-running byte count written by the producer.
    pub data_head: u64,
    /// Consumer position: free-running byte count written by user space in consume mode.
    pub data_tail: u64,
    /// Offset of the data area from the start of the mapping.
    pub data_offset: u64,
    /// Size of the data area (a power-of-two number of pages).
    pub data_size: u64,
    /// AUX area producer position.
    pub aux_head: u64,
    /// AUX area consumer position.
    pub aux_tail: u64,
    /// Offset of the AUX area in the file (mmap offset of its own mapping).
    pub aux_offset: u64,
    /// Size of the AUX area.
    pub aux_size: u64,
}

/// Size of [`ControlPage`] in bytes (the UAPI's `sizeof(struct perf_event_mmap_page)`).
pub const CONTROL_PAGE_SIZE: usize = 1088;
/// The value the kernel stores in [`ControlPage::size`]: the bytes up to `__reserved`.
pub const CONTROL_PAGE_HEADER_SIZE: u32 = 96;

/// Capability bit 0: deprecated, always 0 in new kernels.
pub const CAP_BIT0: u64 = 1u64 << 0;
/// Capability bit 1: `cap_bit0_is_deprecated`; set by every kernel since 3.12.
pub const CAP_BIT0_IS_DEPRECATED: u64 = 1u64 << 1;
/// `cap_user_rdpmc`: user space may read the counter with `rdpmc`.
pub const CAP_USER_RDPMC: u64 = 1u64 << 2;
/// `cap_user_time`: `time_mult`/`time_shift`/`time_offset` are valid.
pub const CAP_USER_TIME: u64 = 1u64 << 3;
/// `cap_user_time_zero`: `time_zero` is valid.
pub const CAP_USER_TIME_ZERO: u64 = 1u64 << 4;
/// `cap_user_time_short`: `time_cycles`/`time_mask` are valid.
pub const CAP_USER_TIME_SHORT: u64 = 1u64 << 5;

const _: () = assert!(core::mem::size_of::<ControlPage>() == CONTROL_PAGE_SIZE);
const _: () = assert!(core::mem::align_of::<ControlPage>() == 8);
const _: () = assert!(core::mem::offset_of!(ControlPage, version) == 0);
const _: () = assert!(core::mem::offset_of!(ControlPage, compat_version) == 4);
const _: () = assert!(core::mem::offset_of!(ControlPage, lock) == 8);
const _: () = assert!(core::mem::offset_of!(ControlPage, index) == 12);
const _: () = assert!(core::mem::offset_of!(ControlPage, offset) == 16);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_enabled) == 24);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_running) == 32);
const _: () = assert!(core::mem::offset_of!(ControlPage, capabilities) == 40);
const _: () = assert!(core::mem::offset_of!(ControlPage, pmc_width) == 48);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_shift) == 50);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_mult) == 52);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_offset) == 56);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_zero) == 64);
const _: () = assert!(core::mem::offset_of!(ControlPage, size) == 72);
const _: () = assert!(core::mem::offset_of!(ControlPage, __reserved_1) == 76);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_cycles) == 80);
const _: () = assert!(core::mem::offset_of!(ControlPage, time_mask) == 88);
const _: () = assert!(core::mem::offset_of!(ControlPage, __reserved) == 96);
const _: () = assert!(core::mem::offset_of!(ControlPage, data_head) == 1024);
const _: () = assert!(core::mem::offset_of!(ControlPage, data_tail) == 1032);
const _: () = assert!(core::mem::offset_of!(ControlPage, data_offset) == 1040);
const _: () = assert!(core::mem::offset_of!(ControlPage, data_size) == 1048);
const _: () = assert!(core::mem::offset_of!(ControlPage, aux_head) == 1056);
const _: () = assert!(core::mem::offset_of!(ControlPage, aux_tail) == 1064);
const _: () = assert!(core::mem::offset_of!(ControlPage, aux_offset) == 1072);
const _: () = assert!(core::mem::offset_of!(ControlPage, aux_size) == 1080);

#[cfg(feature = "zerocopy")]
static_assertions::assert_impl_all!(
    ControlPage: zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::KnownLayout,
    zerocopy::Immutable
);

impl ControlPage {
    /// An all-zero control page.
    pub const ZEROED: Self = Self {
        version: 0,
        compat_version: 0,
        lock: 0,
        index: 0,
        offset: 0,
        time_enabled: 0,
        time_running: 0,
        capabilities: 0,
        pmc_width: 0,
        time_shift: 0,
        time_mult: 0,
        time_offset: 0,
        time_zero: 0,
        size: 0,
        __reserved_1: 0,
        time_cycles: 0,
        time_mask: 0,
        __reserved: [0; 928],
        data_head: 0,
        data_tail: 0,
        data_offset: 0,
        data_size: 0,
        aux_head: 0,
        aux_tail: 0,
        aux_offset: 0,
        aux_size: 0,
    };

    /// The control page a producer publishes for a data area of `data_size` bytes that starts
    /// `data_offset` bytes into the mapping: version 0, `size` 96, `cap_bit0_is_deprecated` set, as the
    /// kernel's `perf_mmap_alloc_page`/`ring_buffer_init` leave it.
    pub const fn new_for_ring(data_offset: u64, data_size: u64) -> Self {
        let mut page = Self::ZEROED;
        page.size = CONTROL_PAGE_HEADER_SIZE;
        page.capabilities = CAP_BIT0_IS_DEPRECATED;
        page.data_offset = data_offset;
        page.data_size = data_size;
        page
    }

    /// Whether `cap_bit0_is_deprecated` is set (every kernel since 3.12 sets it).
    pub const fn cap_bit0_is_deprecated(&self) -> bool {
        self.capabilities & CAP_BIT0_IS_DEPRECATED != 0
    }

    /// Whether `cap_user_rdpmc` is set.
    pub const fn cap_user_rdpmc(&self) -> bool {
        self.capabilities & CAP_USER_RDPMC != 0
    }

    /// Whether `cap_user_time` is set.
    pub const fn cap_user_time(&self) -> bool {
        self.capabilities & CAP_USER_TIME != 0
    }

    /// Whether `cap_user_time_zero` is set.
    pub const fn cap_user_time_zero(&self) -> bool {
        self.capabilities & CAP_USER_TIME_ZERO != 0
    }

    /// Whether `cap_user_time_short` is set.
    pub const fn cap_user_time_short(&self) -> bool {
        self.capabilities & CAP_USER_TIME_SHORT != 0
    }
}

/// A pointer to a live control page that another party writes concurrently: the reading side.
///
/// All access goes through atomics (for the four positions) or volatile copies (for everything else),
/// never through a Rust reference to the page. Every load is an atomic load with `Relaxed` ordering
/// followed, where the protocol needs it, by an `Acquire` fence: the only atomic loads Rust defines on
/// read-only memory (an overwrite-mode perf mapping is `PROT_READ`), and the same ordering as an
/// Acquire load. Storing a position needs a writable page: [`ControlMut`].
///
/// # Invariants
///
/// `ptr` points to a [`ControlPage`] that is 8-byte aligned and readable for as long as this value (and
/// every copy of it) exists.
#[derive(Clone, Copy, Debug)]
pub struct ControlPtr {
    ptr: NonNull<ControlPage>,
}

// SAFETY: `ControlPtr` only performs atomic and volatile reads through the pointer, which are sound
// from any thread; the pointee is shared memory by design.
unsafe impl Send for ControlPtr {}
// SAFETY: as above; `&ControlPtr` allows nothing but atomic and volatile reads.
unsafe impl Sync for ControlPtr {}

/// A [`ControlPtr`] whose page is writable: the producer stores `data_head`/`aux_head`, a consume-mode
/// reader stores `data_tail`/`aux_tail`. Every load of [`ControlPtr`] is reachable through `Deref`.
///
/// # Invariants
///
/// As [`ControlPtr`], and the page is writable (its four position words at least) for as long as this
/// value (and every copy of it) exists.
#[derive(Clone, Copy, Debug)]
pub struct ControlMut {
    ctl: ControlPtr,
}

impl core::ops::Deref for ControlMut {
    type Target = ControlPtr;

    fn deref(&self) -> &ControlPtr {
        &self.ctl
    }
}

// SAFETY: `ControlMut` only performs atomic and volatile accesses through the pointer, which are sound
// from any thread; the pointee is shared memory by design.
unsafe impl Send for ControlMut {}
// SAFETY: as above; `&ControlMut` allows nothing but atomic and volatile reads/writes.
unsafe impl Sync for ControlMut {}

impl ControlMut {
    /// Wraps a pointer to a live, writable control page.
    ///
    /// # Safety
    ///
    /// As [`ControlPtr::new`], and the page must stay writable (mapped with `PROT_WRITE`, or kernel
    /// memory the caller owns) for as long as the returned value or any copy of it is used.
    pub const unsafe fn new(ptr: NonNull<ControlPage>) -> Self {
        // SAFETY: the caller's promise covers ControlPtr's.
        let ctl = unsafe { ControlPtr::new(ptr) };
        // INVARIANT: the caller guarantees writability on top of ControlPtr's invariant.
        Self { ctl }
    }

    /// The reading side alone (for code that must not store).
    pub const fn reader(&self) -> ControlPtr {
        self.ctl
    }

    fn store(&self, field: *mut u64, value: u64) {
        // The field is writable (type invariant); a Release store orders every access before it.
        self.ctl.atomic(field).store(value, Ordering::Release)
    }

    /// Stores `data_head` with Release ordering: the data written before it becomes visible first
    /// (smp_wmb, (B)). Only the producer calls this.
    pub fn store_data_head(&self, head: u64) {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ctl.ptr.as_ptr()).data_head) };
        self.store(p, head)
    }

    /// Stores `data_tail` with Release ordering: every read of the data before it completes first
    /// (smp_mb, (D)). Only the consumer calls this.
    pub fn store_data_tail(&self, tail: u64) {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ctl.ptr.as_ptr()).data_tail) };
        self.store(p, tail)
    }

    /// Stores `aux_head` with Release ordering (producer side).
    pub fn store_aux_head(&self, head: u64) {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ctl.ptr.as_ptr()).aux_head) };
        self.store(p, head)
    }

    /// Stores `aux_tail` with Release ordering (consumer side).
    pub fn store_aux_tail(&self, tail: u64) {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ctl.ptr.as_ptr()).aux_tail) };
        self.store(p, tail)
    }

    /// Writes a whole page image with a volatile store. Only the owner of the page calls this, before any
    /// other party can see the page (for example while initialising a freshly allocated buffer).
    ///
    /// # Safety
    ///
    /// No other party may access the page concurrently and the whole page must be writable.
    pub unsafe fn init(&self, page: &ControlPage) {
        // SAFETY: the caller guarantees exclusive, writable access; the pointer is valid (type invariant).
        unsafe { self.ctl.ptr.as_ptr().write_volatile(*page) }
    }
}

impl ControlPtr {
    /// Wraps a pointer to a live control page.
    ///
    /// # Safety
    ///
    /// `ptr` must point to memory of at least [`CONTROL_PAGE_SIZE`] bytes, 8-byte aligned, that stays
    /// mapped and readable for as long as the returned value or any copy of it is used. (It need not be
    /// writable: nothing stores through a `ControlPtr`.)
    pub const unsafe fn new(ptr: NonNull<ControlPage>) -> Self {
        // INVARIANT: the caller guarantees alignment, size and lifetime.
        Self { ptr }
    }

    /// The raw pointer, for callers that own the page (for example to unmap it).
    pub const fn as_ptr(&self) -> *mut ControlPage {
        self.ptr.as_ptr()
    }

    /// A Relaxed load followed by an Acquire fence: orders every later access after the load, as an
    /// Acquire load would, and is defined on read-only memory (which an Acquire load is not).
    fn acquire(&self, field: *mut u64) -> u64 {
        let v = self.atomic(field).load(Ordering::Relaxed);
        core::sync::atomic::fence(Ordering::Acquire);
        v
    }

    fn atomic(&self, field: *mut u64) -> &AtomicU64 {
        // SAFETY: `field` points inside the control page, which by the type invariant is live, readable
        // and 8-byte aligned (so every u64 field is), and accessed concurrently only through atomics.
        // A shared reference to an `AtomicU64` is an interior-mutable view: it needs the memory readable
        // and aligned, not unchanging and not writable (`AtomicU64::from_ptr` would ask for writable
        // memory, which a read-only mapping is not). Loads through it are Relaxed (defined on read-only
        // memory); stores are made only by `ControlMut`, whose page is writable.
        unsafe { &*field.cast_const().cast::<AtomicU64>() }
    }

    /// Loads `data_head` (Relaxed, then an Acquire fence): data up to it is visible afterwards (smp_rmb, (C)).
    pub fn load_data_head(&self) -> u64 {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ptr.as_ptr()).data_head) };
        self.acquire(p)
    }

    /// Loads `data_tail` (Relaxed, then an Acquire fence), so that the producer sees the consumer's
    /// reads finished before it reuses the space (the kernel's (A) control dependency made explicit).
    pub fn load_data_tail(&self) -> u64 {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ptr.as_ptr()).data_tail) };
        self.acquire(p)
    }

    /// Loads `aux_head` (Relaxed, then an Acquire fence).
    pub fn load_aux_head(&self) -> u64 {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ptr.as_ptr()).aux_head) };
        self.acquire(p)
    }

    /// Loads `aux_tail` (Relaxed, then an Acquire fence).
    pub fn load_aux_tail(&self) -> u64 {
        // SAFETY: projecting a field of the live page; no reference to the page is formed.
        let p = unsafe { addr_of_mut!((*self.ptr.as_ptr()).aux_tail) };
        self.acquire(p)
    }

    /// `data_offset`, read with a volatile load (the producer writes it once, before the mapping exists).
    pub fn data_offset(&self) -> u64 {
        // SAFETY: the field lies inside the live, aligned page (type invariant); a volatile read copies it
        // without forming a reference.
        unsafe { addr_of!((*self.ptr.as_ptr()).data_offset).read_volatile() }
    }

    /// `data_size`, read with a volatile load.
    pub fn data_size(&self) -> u64 {
        // SAFETY: as in `data_offset`.
        unsafe { addr_of!((*self.ptr.as_ptr()).data_size).read_volatile() }
    }

    /// A copy of the whole page. The four positions (`data_head`, `data_tail`, `aux_head`, `aux_tail`),
    /// which the other party stores concurrently, are read with atomic loads (Relaxed: the copy orders
    /// nothing; use the loaders for that); every other word with a volatile read. Fields may be torn
    /// between each other.
    pub fn snapshot(&self) -> ControlPage {
        const WORDS: usize = CONTROL_PAGE_SIZE / 8;
        const POSITIONS: [usize; 4] = [1024 / 8, 1032 / 8, 1056 / 8, 1064 / 8];
        let mut words = [0u64; WORDS];
        let base = self.ptr.as_ptr().cast::<u64>();
        for (i, w) in words.iter_mut().enumerate() {
            // SAFETY: `i < WORDS`, so the word lies inside the live, 8-byte-aligned page (type
            // invariant); no reference to shared memory is formed.
            let p = unsafe { base.add(i) };
            *w = if POSITIONS.contains(&i) {
                self.atomic(p).load(Ordering::Relaxed)
            } else {
                // SAFETY: as above; the words other than the positions are written only by their
                // owner before the page is shared, or by the kernel (outside this program).
                unsafe { p.read_volatile() }
            };
        }
        // SAFETY: `ControlPage` is `repr(C)`, CONTROL_PAGE_SIZE bytes of integers without padding (the
        // layout asserts pin it), so every bit pattern of the words is a valid value.
        unsafe { core::mem::transmute::<[u64; WORDS], ControlPage>(words) }
    }
}
