// SPDX-License-Identifier: GPL-2.0

//! premap: a perf-style ring buffer whose pages are all mapped at mmap time ("perf: map pages in
//! advance", LKML, November 2024), as a misc device `/dev/premap` for Linux 6.12 LTS and mainline.
//!
//! An open file is configured with `PREMAP_IOC_CREATE`; mmap then maps every page at once with
//! `remap_pfn_range` (VM_IO | VM_PFNMAP, read-only PTEs, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
//! `pfn_mkwrite` lets the first write through only on the control page; `may_split` refuses partial
//! munmap/mprotect/mremap; the mappings hold references to the buffer, so closing the fd keeps the pages
//! until the last munmap. Records come from `write()` (validated user records) or an in-kernel generator
//! thread, through premap-abi's producer (the kernel's protocol).
//!
//! Why `remap_pfn_range` and not `vm_insert_pages`: the thread's preferred future is a page type
//! (memdesc) for driver-owned ring pages that `vm_insert_pages` maps without touching refcount or
//! mapcount and that `vm_normal_page()`/GUP refuse. In 6.12 `validate_page_before_insert()` rejects any
//! page with a type, and untyped pages inserted with `vm_insert_pages` are refcounted and reachable by
//! GUP (O_DIRECT, vmsplice would pin ring pages), and need `page_mkwrite` plus a reverse map to make one
//! page writable. A PFN map is what perf itself chose (6.14): no fault handler, GUP refused by
//! `check_vma_flags()`, `write()` from the mapping still works (uaccess copy), and the lifetime is the
//! buffer's own refcount in `vm_ops->open/close`. Each page still carries premap's memdesc word in
//! `page->page_type` (the mm never interprets it for a PFN map), so the layout the thread proposes is
//! visible through `PREMAP_IOC_PAGE_INFO`; errors part-way zap what was mapped (79a61cc3fc04).
//!
//! The device is open to every local user, so everything a user asks for is bounded and accounted
//! (see `Limits` below and the UAPI comments in premap-abi's ioctl.rs): pinned pages are charged to
//! the creating user against RLIMIT_MEMLOCK plus the `mlock_kb` allowance (CAP_IPC_LOCK bypasses it, as
//! for perf), allocated with `__GFP_ACCOUNT | __GFP_NORETRY` (memcg sees them; the OOM killer is never
//! woken for them), and every long loop (allocation, mapping, freeing, generating) reschedules and
//! stops on a fatal signal or a stop request.
//!
//! The shared layouts come from premap-abi's source (`../abi/src`), compiled into this module.

use core::ffi::{c_int, c_uint, c_void};

/// The kernel's `unsigned long` and `long` (the `ffi` crate maps them to `usize`/`isize`).
#[allow(non_camel_case_types)]
type c_ulong = usize;
#[allow(non_camel_case_types)]
type c_long = isize;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::uaccess::{UserPtr, UserSlice};

#[allow(
    unused_attributes,
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::all
)]
#[path = "../abi/src/lib.rs"]
mod premap_abi;
// premap-abi's modules name each other through `crate::`; re-exporting them at this crate's root makes
// those paths resolve to the very same source here as in the cargo build.
#[allow(unused_imports)]
pub(crate) use premap_abi::*;

mod glue;

use glue::{KernelParam, Kthread, NewVma, OwnedPage, ParamUlong, VmOps, WaitQueue, PAGE_SIZE};
use premap_abi::control::{ControlPage, ControlPtr};
use premap_abi::ioctl as abi_ioctl;
use premap_abi::memdesc::BufferLayout;
use premap_abi::produce::{DataArea, Producer};
use premap_abi::ring::RingGeometry;

module! {
    type: PremapModule,
    name: "premap",
    description: "perf-style ring buffer with every page mapped in advance",
    license: "GPL",
}

/// The per-user allowance of pinned memory, in KiB, on top of RLIMIT_MEMLOCK (perf's
/// `perf_event_mlock_kb`): `insmod premap.ko mlock_kb=N` or /sys/module/premap/parameters/mlock_kb.
static MLOCK_KB: ParamUlong = ParamUlong::new(8192);

#[link_section = "__param"]
#[used]
static MLOCK_KB_PARAM: KernelParam = KernelParam::ulong(c"mlock_kb", &MLOCK_KB);

/// What the driver charges to one user (by real uid): pinned pages and running generators.
struct Usage {
    uid: u32,
    pages: u64,
    generators: u32,
}

impl Usage {
    /// Whether the entry charges nothing (and may be reused for another user).
    fn is_free(&self) -> bool {
        self.pages == 0 && self.generators == 0
    }
}

/// Every user's [`Usage`], under one mutex (module-global, owned by [`PremapModule`]).
#[pin_data]
struct Users {
    #[pin]
    table: Mutex<KVec<Usage>>,
}

/// The module's [`Users`], set in `init` before the device exists and cleared in `drop` after it is
/// gone. Every caller runs in a file or VMA operation, which holds a reference to the module.
static USERS: core::sync::atomic::AtomicPtr<Users> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

fn users() -> Result<&'static Users> {
    let p = USERS.load(Ordering::Acquire);
    // SAFETY: non-null only between init and exit, during which the `Users` it points to is alive and
    // pinned; callers are file/VMA operations, which keep the module (and so this) alive.
    unsafe { p.as_ref() }.ok_or(ENODEV)
}

impl Users {
    /// Changes `uid`'s usage with `f` (which sees the entry, created empty if missing). An entry whose
    /// usage drops to nothing is free for the next new user, so the table never holds more entries
    /// than the most users that held something at once.
    fn update(&self, uid: u32, f: impl FnOnce(&mut Usage) -> Result) -> Result {
        let mut t = self.table.lock();
        let i = match t.iter().position(|u| u.uid == uid) {
            Some(i) => i,
            None => match t.iter().position(Usage::is_free) {
                Some(i) => {
                    t[i].uid = uid;
                    i
                }
                None => {
                    t.push(
                        Usage {
                            uid,
                            pages: 0,
                            generators: 0,
                        },
                        GFP_KERNEL,
                    )?;
                    t.len() - 1
                }
            },
        };
        f(&mut t[i])
    }
}

/// Pages charged to a user, uncharged on drop.
struct PageCharge {
    uid: u32,
    pages: u64,
}

impl PageCharge {
    /// Charges `pages` to the current user, as perf does: within the per-user allowance and
    /// RLIMIT_MEMLOCK, or anything with CAP_IPC_LOCK (asked only when over the limit: capable() audits).
    fn new(pages: u64) -> Result<Self> {
        let uid = glue::current_uid();
        let allowance = (MLOCK_KB.get() as u64).saturating_mul(1024) / PAGE_SIZE as u64;
        let limit = allowance.saturating_add(glue::memlock_limit_pages());
        users()?.update(uid, |u| {
            let total = u.pages.checked_add(pages).ok_or(EPERM)?;
            if total > limit && !glue::capable_ipc_lock() {
                return Err(EPERM);
            }
            u.pages = total;
            Ok(())
        })?;
        Ok(Self { uid, pages })
    }
}

impl Drop for PageCharge {
    fn drop(&mut self) {
        if let Ok(users) = users() {
            let pages = self.pages;
            let _ = users.update(self.uid, |u| {
                u.pages = u.pages.saturating_sub(pages);
                Ok(())
            });
        }
    }
}

/// A running generator counted against its user, given back on drop.
struct GeneratorSlot {
    uid: u32,
}

impl GeneratorSlot {
    fn new() -> Result<Self> {
        let uid = glue::current_uid();
        users()?.update(uid, |u| {
            if u.generators >= abi_ioctl::MAX_GENERATORS_PER_USER {
                return Err(EAGAIN);
            }
            u.generators += 1;
            Ok(())
        })?;
        Ok(Self { uid })
    }
}

impl Drop for GeneratorSlot {
    fn drop(&mut self) {
        if let Ok(users) = users() {
            let _ = users.update(self.uid, |u| {
                u.generators = u.generators.saturating_sub(1);
                Ok(())
            });
        }
    }
}

/// The pages of a buffer; freed in batches with a reschedule between them (a buffer may hold 2^21).
struct Pages(KVVec<OwnedPage>);

impl Drop for Pages {
    fn drop(&mut self) {
        let pages = core::mem::take(&mut self.0);
        for (i, page) in pages.into_iter().enumerate() {
            drop(page);
            if i % 1024 == 1023 {
                glue::cond_resched();
            }
        }
    }
}

/// The producer's state, under `Buffer::state`.
struct State {
    producer: Producer,
    wakeups: u64,
    /// Overwrite mode: bytes published since poll last reported the buffer readable.
    unreported: u64,
}

/// One ring buffer: its pages, the producer and the poll wait queue. Mappings and the file each hold a
/// reference.
#[pin_data]
struct Buffer {
    #[pin]
    state: Mutex<State>,
    #[pin]
    wq: WaitQueue,
    pages: Pages,
    /// The typed strategy (`CREATE_TYPED_PAGES`): every page's `struct page` pointer, in file order, for
    /// `vm_insert_pages_prot`. Empty for the PFN map.
    page_ptrs: KVVec<glue::PagePtr>,
    layout: BufferLayout,
    geom: Option<RingGeometry>,
    flags: u32,
    watermark: u64,
    mappings: AtomicU64,
    _charge: PageCharge,
}

struct DataPages<'a>(&'a [OwnedPage]);

impl DataArea for DataPages<'_> {
    fn write_at(&mut self, mut offset: usize, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let Some(page) = self.0.get(offset / PAGE_SIZE) else {
                return;
            };
            let in_page = offset % PAGE_SIZE;
            let n = bytes.len().min(PAGE_SIZE - in_page);
            let (now, rest) = bytes.split_at(n);
            // SAFETY: `DataPages` is built only under the buffer's state mutex (`Buffer::produce`), the
            // one place that writes data pages.
            unsafe { page.write(in_page, now) };
            bytes = rest;
            offset += n;
        }
    }
}

impl Buffer {
    /// Whether the buffer is mapped with the typed-page strategy (`CREATE_TYPED_PAGES`).
    fn typed(&self) -> bool {
        self.flags & abi_ioctl::CREATE_TYPED_PAGES != 0
    }

    /// The control page.
    ///
    /// # Safety
    ///
    /// The pointer (and its copies) must not be used after `self` is dropped: it points into a page
    /// the buffer owns.
    unsafe fn control(&self) -> Option<ControlPtr> {
        let page = self.pages.0.first()?;
        let ptr = core::ptr::NonNull::new(page.addr().cast::<ControlPage>())?;
        // SAFETY: the control page is a whole, page-aligned page the buffer owns for its lifetime,
        // which bounds every use (the caller's contract).
        Some(unsafe { ControlPtr::new(ptr) })
    }

    fn data_pages(&self) -> &[OwnedPage] {
        let n = self.layout.data_pages as usize;
        self.pages.0.get(1..1 + n).unwrap_or(&[])
    }

    /// Publishes records (already validated), at most 1024 under one hold of the producer's lock, and
    /// wakes pollers: consume mode once the readable bytes reach the watermark, overwrite mode once
    /// the watermark's worth was written since poll last reported it.
    fn produce<'a>(&self, records: impl Iterator<Item = &'a [u8]>) -> usize {
        // SAFETY: `ctl` is used only within this call, while `self` lives.
        let (Some(ctl), Some(geom)) = (unsafe { self.control() }, self.geom) else {
            return 0;
        };
        let mut records = records.peekable();
        let mut written = 0;
        while records.peek().is_some() {
            let mut st = self.state.lock();
            let mut area = DataPages(self.data_pages());
            let before = st.producer.stats().bytes;
            let n = records
                .by_ref()
                .take(1024)
                .filter(|r| st.producer.emit(&mut area, &ctl, r))
                .count();
            let bytes = st.producer.stats().bytes - before;
            st.unreported = st.unreported.saturating_add(bytes);
            let wake = n > 0 && self.ready(&st, &ctl, geom);
            if wake {
                st.wakeups += 1;
            }
            drop(st);
            if wake {
                self.wq.wake_all();
            }
            written += n;
            if records.peek().is_some() {
                glue::cond_resched();
            }
        }
        written
    }

    /// Whether a reader should be told: from the producer's own state (its head, what it wrote since
    /// the last report), never from `data_head`, which user space can write. `data_tail` is the
    /// reader's by protocol; an impossible one counts as readable.
    fn ready(&self, st: &State, ctl: &ControlPtr, geom: RingGeometry) -> bool {
        let watermark = self.watermark.min(geom.data_size()).max(1);
        if self.layout.overwrite {
            return st.unreported >= watermark;
        }
        geom.readable(st.producer.head(), ctl.load_data_tail())
            .map_or(true, |n| n >= watermark)
    }

    /// poll's answer. Overwrite mode reports each watermark's worth once (as perf's ring), so an epoll
    /// loop does not spin on an old record.
    fn poll_readable(&self) -> bool {
        // SAFETY: `ctl` is used only within this call, while `self` lives.
        let (Some(ctl), Some(geom)) = (unsafe { self.control() }, self.geom) else {
            return false;
        };
        let mut st = self.state.lock();
        let ready = self.ready(&st, &ctl, geom);
        if ready && self.layout.overwrite {
            st.unreported = 0;
        }
        ready
    }

    /// Allocates a buffer, its pages charged to the current user.
    fn new(params: &abi_ioctl::CreateParams) -> Result<Arc<Self>> {
        let (layout, watermark) = params.validate(PAGE_SIZE as u64).map_err(|_| EINVAL)?;
        let total = layout.total_pages();
        // Never more than half of RAM, whoever asks: such a request could only end in the OOM killer.
        if total > glue::totalram_pages() / 2 {
            return Err(ENOMEM);
        }
        let charge = PageCharge::new(total)?;
        let total = usize::try_from(total).map_err(|_| ENOMEM)?;
        let mut pages = KVVec::with_capacity(total, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?;
        for pgoff in 0..total {
            if pgoff % 256 == 255 {
                if glue::fatal_signal_pending() {
                    return Err(EINTR);
                }
                glue::cond_resched();
            }
            let mut page = OwnedPage::alloc()?;
            if let Some(word) = layout.page_desc(pgoff as u64).and_then(|d| d.encode()) {
                page.set_type(word);
            }
            pages.push(page, GFP_KERNEL)?;
        }
        let pages = Pages(pages);
        let mut page_ptrs = KVVec::new();
        if params.flags & abi_ioctl::CREATE_TYPED_PAGES != 0 {
            page_ptrs = KVVec::with_capacity(total, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?;
            for p in pages.0.iter() {
                page_ptrs.push(glue::PagePtr::of(p), GFP_KERNEL)?;
            }
        }
        let geom = if layout.data_pages > 0 {
            Some(
                RingGeometry::for_pages(u64::from(layout.data_pages), PAGE_SIZE as u64)
                    .map_err(|_| EINVAL)?,
            )
        } else {
            None
        };
        let producer = Producer::new(
            geom.unwrap_or(RingGeometry::for_pages(1, PAGE_SIZE as u64).map_err(|_| EINVAL)?),
            layout.overwrite,
            0,
        );
        let buf = Arc::pin_init(
            pin_init!(Buffer {
                state <- kernel::new_mutex!(State { producer, wakeups: 0, unreported: 0 }, "premap_buffer"),
                wq <- WaitQueue::new(),
                pages,
                page_ptrs,
                layout,
                geom,
                flags: params.flags,
                watermark,
                mappings: AtomicU64::new(0),
                _charge: charge,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `ctl` is used only below, while `buf` lives.
        if let Some(ctl) = unsafe { buf.control() } {
            let data_size = geom.map_or(0, |g| g.data_size());
            let mut page0 = ControlPage::new_for_ring(PAGE_SIZE as u64, data_size);
            if layout.aux_pages > 0 {
                page0.aux_offset = (1 + u64::from(layout.data_pages)) * PAGE_SIZE as u64;
                page0.aux_size = u64::from(layout.aux_pages) * PAGE_SIZE as u64;
            }
            // SAFETY: the buffer is not yet visible to anyone else (no mapping, no other reference).
            unsafe { ctl.init(&page0) };
        }
        Ok(buf)
    }
}

/// Context of the generator thread, owned by the file until the thread is stopped.
struct GenCtx {
    buffer: Arc<Buffer>,
    params: abi_ioctl::GenerateParams,
    pid: u32,
}

struct Generator {
    // Field order matters: the thread is stopped (dropped) before its context is freed and before its
    // user's slot is given back.
    _thread: Kthread,
    _ctx: KBox<GenCtx>,
    _slot: GeneratorSlot,
}

/// The generator: `count` samples in batches of at most `MAX_GENERATE_BATCH`, yielding the CPU and
/// checking for its stop after every batch, sleeping interruptibly (at most 1 s) between batches.
///
/// # Safety
///
/// Runs only as the kthread [`Kthread::spawn`] starts, with `data` pointing to a [`GenCtx`] that outlives
/// the thread.
unsafe extern "C" fn generator_thread(data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `GenCtx` the file keeps alive until after kthread_stop returns.
    let ctx = unsafe { &*data.cast::<GenCtx>() };
    let should_stop = || {
        // SAFETY: this function runs only as a kthread (its contract).
        unsafe { glue::kthread_should_stop() }
    };
    let p = ctx.params;
    if let Ok(mut sample) = KVec::from_elem(0u8, p.sample_size as usize, GFP_KERNEL) {
        let h = premap_abi::EventHeader {
            r#type: premap_abi::header::RECORD_SAMPLE,
            misc: premap_abi::header::RECORD_MISC_KERNEL,
            size: p.sample_size as u16,
        };
        sample[..8].copy_from_slice(&h.to_bytes());
        sample[8..16].copy_from_slice(&1u64.to_ne_bytes()); // IDENTIFIER
        sample[16..20].copy_from_slice(&ctx.pid.to_ne_bytes());
        sample[20..24].copy_from_slice(&ctx.pid.to_ne_bytes());
        let batch = u64::from(p.batch.clamp(1, abi_ioctl::MAX_GENERATE_BATCH));
        let mut seq = 0u64;
        while seq < p.count && !should_stop() {
            let batch_end = seq.saturating_add(batch).min(p.count);
            while seq < batch_end {
                // Every 256 samples: a stop request ends even a long batch, and the CPU is offered
                // to whoever waits for it (a closing task, the other generators' stops), so that a
                // close never waits for whole batches on a slow (or emulated, or contended) CPU.
                if seq % 256 == 255 {
                    if should_stop() {
                        break;
                    }
                    glue::cond_resched();
                }
                sample[24..32].copy_from_slice(&glue::ktime_ns().to_ne_bytes());
                sample[32..40].copy_from_slice(&seq.to_ne_bytes());
                ctx.buffer.produce(core::iter::once(&sample[..]));
                seq += 1;
            }
            if p.period_ns > 0 {
                glue::sleep_interruptible_ns(p.period_ns);
            } else {
                glue::cond_resched();
            }
        }
    }
    // Stay until asked to stop, so kthread_stop always finds a live task.
    while !should_stop() {
        glue::sleep_interruptible_ns(10_000_000);
    }
    0
}

/// What an open file holds.
struct FileInner {
    buffer: Option<Arc<Buffer>>,
    generator: Option<Generator>,
}

#[pin_data]
struct FileState {
    #[pin]
    inner: Mutex<FileInner>,
}

static VM_OPS: VmOps = VmOps(bindings::vm_operations_struct {
    open: Some(vma_open),
    close: Some(vma_close),
    may_split: Some(vma_may_split),
    pfn_mkwrite: Some(vma_pfn_mkwrite),
    // SAFETY: all-zero is a valid vm_operations_struct (every other callback absent).
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
});

/// The typed strategy's VMAs: the same callbacks plus `fault`, which maps a page again after something
/// (MADV_DONTNEED, say) zapped its PTE, so that a mapped ring never loses a page.
static VM_OPS_TYPED: VmOps = VmOps(bindings::vm_operations_struct {
    open: Some(vma_open),
    close: Some(vma_close),
    may_split: Some(vma_may_split),
    pfn_mkwrite: Some(vma_pfn_mkwrite),
    fault: Some(vma_fault),
    // SAFETY: all-zero is a valid vm_operations_struct (every other callback absent).
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
});

/// Maps the faulting page of a typed buffer again, with the protection mmap gave it (the control page of
/// a writable mapping writable, every other page read-only).
///
/// # Safety
///
/// Called by the mm only (through [`VM_OPS_TYPED`]) with a valid `vm_fault` for one of our VMAs, whose
/// private data is a raw `Arc<Buffer>`.
unsafe extern "C" fn vma_fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: the mm passes a valid vm_fault for one of our VMAs, for this call only.
    let fault = unsafe { glue::Fault::from_raw(vmf) };
    // SAFETY: the VMA's private data is its `Arc<Buffer>` reference, alive while the VMA is (we only
    // borrow it here).
    let buf = unsafe { &*fault.private().cast::<Buffer>() };
    let pgoff = fault.pgoff();
    let Some(page) = usize::try_from(pgoff)
        .ok()
        .and_then(|i| buf.page_ptrs.get(i))
    else {
        return glue::VM_FAULT_SIGBUS;
    };
    let prot = fault.prot(pgoff == 0 && !buf.layout.overwrite);
    // SAFETY: the page belongs to `buf`, which this VMA (and every copy of it) keeps alive.
    unsafe { fault.insert(page.as_ptr(), prot) }
}

/// Takes another reference to the buffer behind a VMA: mremap's copy of a moved VMA, or (typed strategy
/// only, whose VMA is not VM_IO and so takes MADV_DOFORK) a fork's copy.
///
/// # Safety
///
/// Called by the mm only (through [`VM_OPS`]) with a valid VMA whose private data is a raw `Arc<Buffer>`.
unsafe extern "C" fn vma_open(vma: *mut bindings::vm_area_struct) {
    // SAFETY: the mm passes one of our VMAs, whose private data is an `Arc<Buffer>` raw pointer.
    let raw = unsafe { glue::vma_private(vma) }.cast::<Buffer>();
    // SAFETY: the VMA's reference keeps the Arc alive; we take one more for the new VMA.
    let arc = unsafe { Arc::from_raw(raw) };
    let extra = arc.clone();
    arc.mappings.fetch_add(1, Ordering::Relaxed);
    let _ = arc.into_raw();
    let _ = extra.into_raw();
}

/// # Safety
///
/// As [`vma_open`]; called once per VMA, which gives its reference back.
unsafe extern "C" fn vma_close(vma: *mut bindings::vm_area_struct) {
    // SAFETY: as in vma_open; this VMA's reference is given back.
    let arc = unsafe { Arc::from_raw(glue::vma_private(vma).cast::<Buffer>()) };
    arc.mappings.fetch_sub(1, Ordering::Relaxed);
    drop(arc);
}

/// # Safety
///
/// Called by the mm only (through [`VM_OPS`]); the arguments are not used.
unsafe extern "C" fn vma_may_split(_vma: *mut bindings::vm_area_struct, _addr: c_ulong) -> c_int {
    // One VMA for the buffer's whole life: partial munmap/mprotect/mremap fail.
    EINVAL.to_errno()
}

/// # Safety
///
/// Called by the mm only (through [`VM_OPS`]) with a valid `vm_fault` for one of our VMAs.
unsafe extern "C" fn vma_pfn_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: the mm passes a valid vm_fault for one of our VMAs.
    let pgoff = unsafe { glue::fault_pgoff(vmf) };
    // Only the control page (consume mode; overwrite mappings cannot be writable) may be written.
    if pgoff == 0 {
        0
    } else {
        glue::VM_FAULT_SIGBUS
    }
}

/// The state of one of our open files.
///
/// # Safety
///
/// `file` is a file of our device passed by the VFS to one of its operations other than `open` and
/// `release`, and the returned reference is used only during that operation (`release` frees it).
unsafe fn state_of<'a>(file: *mut bindings::file) -> &'a FileState {
    // SAFETY: private_data is the FileState we installed in open(), alive until release(), which the
    // VFS does not call while another operation of the file runs.
    unsafe { &*glue::file_private(file).cast::<FileState>() }
}

/// # Safety
///
/// Called by the VFS only (through our `file_operations`) with a fresh file of our device.
unsafe extern "C" fn premap_open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    let st = match Arc::pin_init(
        pin_init!(FileState { inner <- kernel::new_mutex!(FileInner { buffer: None, generator: None }, "premap_file") }),
        GFP_KERNEL,
    ) {
        Ok(s) => s,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: the VFS passes our fresh file; nobody else uses private_data yet.
    unsafe { glue::set_file_private(file, st.into_raw().cast_mut().cast()) };
    0
}

/// # Safety
///
/// Called by the VFS only, once per file, after every other operation of the file has returned.
unsafe extern "C" fn premap_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: private_data is our FileState; release is the last call for this file.
    let st = unsafe { Arc::from_raw(glue::file_private(file).cast::<FileState>()) };
    let generator = st.inner.lock().generator.take();
    drop(generator); // stops the thread before its context goes
    drop(st); // the buffer lives on while mappings hold it
    0
}

fn copy_in<const N: usize>(arg: c_ulong) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    UserSlice::new(UserPtr::from_addr(arg), N)
        .reader()
        .read_slice(&mut b)?;
    Ok(b)
}

fn copy_out(arg: c_ulong, bytes: &[u8]) -> Result {
    UserSlice::new(UserPtr::from_addr(arg), bytes.len())
        .writer()
        .write_slice(bytes)
}

fn ioctl(st: &FileState, cmd: u32, arg: c_ulong) -> Result<c_long> {
    match cmd {
        abi_ioctl::IOC_CREATE => {
            let params = abi_ioctl::CreateParams::from_bytes(&copy_in::<32>(arg)?);
            if st.inner.lock().buffer.is_some() {
                return Err(EBUSY);
            }
            // Allocated without the file's lock (it may take a while); a racing create loses.
            let buffer = Buffer::new(&params)?;
            let mut inner = st.inner.lock();
            if inner.buffer.is_some() {
                return Err(EBUSY);
            }
            inner.buffer = Some(buffer);
            Ok(0)
        }
        abi_ioctl::IOC_INFO => {
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            let info = abi_ioctl::BufferInfo {
                flags: buf.flags,
                page_size: PAGE_SIZE as u32,
                data_pages: buf.layout.data_pages,
                aux_pages: buf.layout.aux_pages,
                mmap_len: (1 + u64::from(buf.layout.data_pages)) * PAGE_SIZE as u64,
                aux_offset: if buf.layout.aux_pages > 0 {
                    (1 + u64::from(buf.layout.data_pages)) * PAGE_SIZE as u64
                } else {
                    0
                },
            };
            copy_out(arg, &info.to_bytes())?;
            Ok(0)
        }
        abi_ioctl::IOC_STATS => {
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            let s = buf.state.lock();
            let p = s.producer.stats();
            let stats = abi_ioctl::BufferStats {
                records: p.records,
                bytes: p.bytes,
                lost: p.lost,
                lost_records: p.lost_records,
                wakeups: s.wakeups,
                mappings: buf.mappings.load(Ordering::Relaxed),
            };
            drop(s);
            copy_out(arg, &stats.to_bytes())?;
            Ok(0)
        }
        abi_ioctl::IOC_GENERATE => {
            let params = abi_ioctl::GenerateParams::from_bytes(&copy_in::<24>(arg)?);
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            // Stop a running generator first, without holding the file's lock while it stops.
            let old = st.inner.lock().generator.take();
            drop(old);
            if params.count == 0 {
                return Ok(0);
            }
            params.validate().map_err(|_| EINVAL)?;
            if buf.geom.is_none() {
                return Err(EINVAL);
            }
            let slot = GeneratorSlot::new()?;
            let ctx = KBox::new(
                GenCtx {
                    buffer: buf,
                    params,
                    pid: kernel::current!().pid() as u32,
                },
                GFP_KERNEL,
            )?;
            let data = core::ptr::from_ref::<GenCtx>(&ctx)
                .cast_mut()
                .cast::<c_void>();
            // SAFETY: `ctx` is stored next to the thread in `Generator`, whose field order stops the thread
            // before the context is freed.
            let thread = unsafe { Kthread::spawn(generator_thread, data) }?;
            let gen = Generator {
                _thread: thread,
                _ctx: ctx,
                _slot: slot,
            };
            // A generator started meanwhile by another thread of this file is replaced (and stopped
            // after the lock is released).
            let replaced = st.inner.lock().generator.replace(gen);
            drop(replaced);
            Ok(0)
        }
        abi_ioctl::IOC_PAGE_INFO => {
            let req = abi_ioctl::PageInfo::from_bytes(&copy_in::<16>(arg)?);
            if req.reserved != 0 {
                return Err(EINVAL);
            }
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            let page = buf.pages.0.get(req.pgoff as usize).ok_or(EINVAL)?;
            let info = abi_ioctl::PageInfo {
                pgoff: req.pgoff,
                page_type: page.page_type(),
                refcount: page.refcount(),
                reserved: 0,
            };
            copy_out(arg, &info.to_bytes())?;
            Ok(0)
        }
        abi_ioctl::PERF_EVENT_IOC_PAUSE_OUTPUT => {
            let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
            buf.state.lock().producer.set_paused(arg != 0);
            Ok(0)
        }
        _ => Err(ENOTTY),
    }
}

/// # Safety
///
/// Called by the VFS only (`f_op->unlocked_ioctl`, and `compat_ptr_ioctl`) with one of our files.
unsafe extern "C" fn premap_ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: the VFS passes one of our files to f_op->unlocked_ioctl.
    let st = unsafe { state_of(file) };
    match ioctl(st, cmd, arg) {
        Ok(v) => v,
        Err(e) => e.to_errno() as c_long,
    }
}

/// # Safety
///
/// Called by the VFS only (`f_op->write`) with one of our files; `ubuf` is a user pointer (checked by
/// the uaccess copy, never dereferenced).
unsafe extern "C" fn premap_write(
    file: *mut bindings::file,
    ubuf: *const u8,
    count: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: the VFS passes one of our files to f_op->write.
    let st = unsafe { state_of(file) };
    let res = (|| -> Result<isize> {
        let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
        let geom = buf.geom.ok_or(EINVAL)?;
        if count == 0 {
            return Ok(0);
        }
        if count as u64 > geom.data_size() {
            return Err(EINVAL);
        }
        // Copy the user's bytes once (kvmalloc: a write may be as large as the ring, which was charged),
        // validate the copy, then publish: no record of a refused write is published.
        let mut bytes = KVVec::from_elem(0u8, count, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?;
        UserSlice::new(UserPtr::from_ptr(ubuf.cast_mut().cast()), count)
            .reader()
            .read_slice(&mut bytes)?;
        premap_abi::produce::validate_records(&bytes, geom.data_size() as usize)
            .map_err(|_| EINVAL)?;
        let records = premap_abi::ring::RecordIter::new(premap_abi::RawData::Single(&bytes))
            .filter_map(|r| r.ok())
            .filter_map(|r| r.bytes.as_single());
        buf.produce(records);
        Ok(count as isize)
    })();
    match res {
        Ok(n) => n,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the VFS only (`f_op->poll`) with one of our files and its poll table.
unsafe extern "C" fn premap_poll(
    file: *mut bindings::file,
    pt: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: the VFS passes one of our files to f_op->poll.
    let Some(buf) = (unsafe { state_of(file) }).inner.lock().buffer.clone() else {
        return 0;
    };
    // SAFETY: the VFS's own arguments; the file holds the buffer, which owns the wait queue, until
    // release, after which the VFS no longer polls it.
    unsafe { buf.wq.poll_wait(file, pt) };
    if buf.poll_readable() {
        bindings::EPOLLIN | bindings::EPOLLRDNORM
    } else {
        0
    }
}

/// Maps the whole buffer (control page and data area) or the whole AUX area, as perf: any other size or
/// offset is EINVAL, MAP_PRIVATE is EINVAL, PROT_EXEC is EPERM (and VM_MAYEXEC is dropped), a
/// consume-mode ring must be writable and an overwrite-mode ring must not be (EACCES).
fn mmap(st: &FileState, vma: &NewVma<'_>) -> Result {
    let buf = st.inner.lock().buffer.clone().ok_or(ENODEV)?;
    let flags = vma.flags();
    if flags & bindings::VM_SHARED as c_ulong == 0 {
        return Err(EINVAL); // MAP_PRIVATE
    }
    if flags & bindings::VM_EXEC as c_ulong != 0 {
        return Err(EPERM);
    }
    let nr = vma.pages();
    let data = u64::from(buf.layout.data_pages);
    let first = match vma.pgoff() {
        0 if nr == 1 + data => 0,
        p if buf.layout.aux_pages > 0 && p == 1 + data && nr == u64::from(buf.layout.aux_pages) => {
            p
        }
        _ => return Err(EINVAL),
    };
    let writable = flags & bindings::VM_WRITE as c_ulong != 0;
    if buf.layout.overwrite {
        // Overwrite mode is read-only, now and after any mprotect.
        if writable {
            return Err(EACCES);
        }
        vma.clear_flags(bindings::VM_MAYWRITE as c_ulong);
    } else if first == 0 && !writable {
        // Consume mode: the reader must be able to publish data_tail.
        return Err(EACCES);
    }
    vma.clear_flags(bindings::VM_MAYEXEC as c_ulong);
    vma.set_flags(
        (bindings::VM_DONTCOPY | bindings::VM_DONTEXPAND | bindings::VM_DONTDUMP) as c_ulong,
    );
    let start = vma.start();
    if !buf.typed() {
        map_pfn(&buf, vma, start, first, nr)?;
    } else {
        map_typed(&buf, vma, start, first, nr, writable)?;
    }
    buf.mappings.fetch_add(1, Ordering::Relaxed);
    let ops = if !buf.typed() { &VM_OPS } else { &VM_OPS_TYPED };
    vma.install(ops, buf);
    Ok(())
}

/// The PFN map: one `remap_pfn_range` per page (VM_IO | VM_PFNMAP), every PTE read-only (a write to
/// the control page goes through `pfn_mkwrite`). Nothing stays mapped on failure.
fn map_pfn(buf: &Buffer, vma: &NewVma<'_>, start: c_ulong, first: u64, nr: u64) -> Result {
    let prot = vma.readonly_prot();
    for i in 0..nr {
        let addr = start + (i as c_ulong) * PAGE_SIZE as c_ulong;
        let r = if i % 512 == 511 && glue::fatal_signal_pending() {
            Err(EINTR)
        } else {
            match buf.pages.0.get((first + i) as usize) {
                // SAFETY: the page belongs to `buf`, whose reference this VMA keeps (installed by the
                // caller, or the page is zapped on failure) and every copy of it takes (vma_open), so
                // the page lives as long as any PTE to it.
                Some(p) => unsafe { vma.remap_page(addr, p.pfn(), prot) },
                None => Err(EINVAL),
            }
        };
        if let Err(e) = r {
            // Nothing stays half mapped: remove what this call mapped so far.
            vma.zap(start, (i as c_ulong) * PAGE_SIZE as c_ulong);
            return Err(e);
        }
        if i % 512 == 511 {
            glue::cond_resched();
        }
    }
    Ok(())
}

/// The typed insert: `vm_insert_pages_prot` per 512 pages (a page table each), no reference and no
/// mapcount taken, VM_MIXEDMAP. The control page of a writable mapping is mapped writable at once (no
/// write fault later); every other page read-only. Nothing stays mapped on failure.
fn map_typed(
    buf: &Buffer,
    vma: &NewVma<'_>,
    start: c_ulong,
    first: u64,
    nr: u64,
    writable: bool,
) -> Result {
    const CHUNK: u64 = 512;
    let first = usize::try_from(first).map_err(|_| EINVAL)?;
    let nr = usize::try_from(nr).map_err(|_| EINVAL)?;
    let ptrs = first
        .checked_add(nr)
        .and_then(|end| buf.page_ptrs.get(first..end))
        .ok_or(EINVAL)?;
    let ro = vma.readonly_prot();
    let mut done = 0usize;
    let mut addr = start;
    let mut result = Ok(());
    while done < nr {
        if done > 0 {
            glue::cond_resched();
            if glue::fatal_signal_pending() {
                result = Err(EINTR);
                break;
            }
        }
        // The control page alone when it is writable, then up to a page table's worth at a time.
        let (n, prot) = if first + done == 0 && writable {
            (1, vma.own_prot())
        } else {
            ((nr - done).min(CHUNK as usize), ro)
        };
        let chunk = glue::PagePtr::slice(&ptrs[done..done + n]);
        // SAFETY: the pages belong to `buf`, whose reference this VMA keeps (installed by the caller, or
        // the pages are zapped on failure) and every copy of it takes (vma_open).
        if let Err(e) = unsafe { vma.insert_typed(addr, chunk, prot) } {
            result = Err(e);
            break;
        }
        done += n;
        addr += (n * PAGE_SIZE) as c_ulong;
    }
    if result.is_err() {
        // vm_insert_pages_prot unmapped its own part; remove the chunks mapped before it.
        vma.zap(start, (done * PAGE_SIZE) as c_ulong);
    }
    result
}

/// # Safety
///
/// Called by the VFS only (`f_op->mmap`) with one of our files and the VMA being created, write-locked.
unsafe extern "C" fn premap_mmap(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: the VFS passes the VMA being created, write-locked, for this call only.
    let vma = unsafe { NewVma::from_raw(vma) };
    // SAFETY: the VFS passes one of our files to f_op->mmap.
    let st = unsafe { state_of(file) };
    match mmap(st, &vma) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

struct PremapModule {
    // Field order: the device goes before the accounting table it uses.
    _reg: core::pin::Pin<KBox<glue::MiscRegistration>>,
    users: Arc<Users>,
}

impl kernel::Module for PremapModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let fops = bindings::file_operations {
            owner: module.as_ptr(),
            open: Some(premap_open),
            release: Some(premap_release),
            unlocked_ioctl: Some(premap_ioctl),
            // 32-bit callers: the pointer argument goes through compat_ptr() (None without
            // CONFIG_COMPAT).
            compat_ioctl: bindings::compat_ptr_ioctl,
            write: Some(premap_write),
            poll: Some(premap_poll),
            mmap: Some(premap_mmap),
            // SAFETY: all-zero is a valid file_operations (every other operation absent).
            ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
        };
        let users = Arc::pin_init(
            pin_init!(Users { table <- kernel::new_mutex!(KVec::new(), "premap_users") }),
            GFP_KERNEL,
        )?;
        USERS.store(
            core::ptr::from_ref::<Users>(&users).cast_mut(),
            Ordering::Release,
        );
        let reg = match glue::MiscRegistration::register(kernel::c_str!("premap"), fops) {
            Ok(r) => r,
            Err(e) => {
                USERS.store(core::ptr::null_mut(), Ordering::Release);
                return Err(e);
            }
        };
        pr_info!(
            "/dev/premap ready (page size {}, mlock_kb {})\n",
            PAGE_SIZE,
            MLOCK_KB.get()
        );
        Ok(Self { _reg: reg, users })
    }
}

impl Drop for PremapModule {
    fn drop(&mut self) {
        // Runs before the fields drop: no file is open (each pins the module), so nothing uses USERS.
        USERS.store(core::ptr::null_mut(), Ordering::Release);
        let held = self
            .users
            .table
            .lock()
            .iter()
            .filter(|u| !u.is_free())
            .count();
        if held != 0 {
            pr_err!("LEAK: {} users still charged at unload\n", held);
        }
        let live = glue::LIVE_PAGES.load(Ordering::Relaxed);
        if live == 0 {
            pr_info!("unloaded, 0 pages held\n");
        } else {
            pr_err!("LEAK: {} pages still held at unload\n", live);
        }
    }
}
