// SPDX-License-Identifier: GPL-2.0

//! Every call into the kernel's C API that premap makes, each behind a small safe wrapper with its
//! `// SAFETY:` proof. Linux 6.12 has no Rust abstractions for miscdevice, VMAs, poll or kthreads, so
//! these wrappers use `kernel::bindings` directly (with the rust/bindings + rust/helpers backport in
//! driver/kernel/*.patch) in the shape later mainline's `miscdevice.rs` and `mm/virt.rs` took.
//!
//! Lock order: `FileState::inner` (a file's mutex) before `Buffer::state` (the producer's mutex); the
//! wait queue's spinlock is taken inside both by `wake_up`.

use core::ffi::{c_int, c_void};

/// The kernel's `unsigned long` (the `ffi` crate maps it to `usize`).
#[allow(non_camel_case_types)]
type c_ulong = usize;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{code::*, Error, Result};
use kernel::types::Opaque;

/// The page size of this kernel.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// Pages the driver holds now: incremented by [`OwnedPage::alloc`], decremented when one is freed. At
/// module exit every buffer is gone (open files and mappings pin the module through their file), so
/// anything but 0 is a leak; the module says so on the console and driver/vmtest fails.
pub(crate) static LIVE_PAGES: core::sync::atomic::AtomicI64 = core::sync::atomic::AtomicI64::new(0);

/// One order-0 page owned by the driver, with its kernel address, freed on drop.
///
/// # Invariants
///
/// `page` was returned by `alloc_pages(GFP_KERNEL | __GFP_ZERO, 0)`, is owned by this value, and
/// `addr` is its (lowmem) kernel address; its `page_type` is either UINT_MAX or premap's memdesc word.
pub(crate) struct OwnedPage {
    page: NonNull<bindings::page>,
    addr: NonNull<u8>,
}

// SAFETY: the page is plain memory owned by this value; moving ownership between threads is fine.
unsafe impl Send for OwnedPage {}
// SAFETY: `&OwnedPage` only gives out the address and pfn; writes to the memory go through raw pointers
// under the buffer's mutex.
unsafe impl Sync for OwnedPage {}

impl OwnedPage {
    /// Allocates a zeroed page.
    pub(crate) fn alloc() -> Result<Self> {
        // SAFETY: alloc_pages has no preconditions; order 0 with GFP_KERNEL may sleep, and every caller
        // runs in process context (ioctl).
        let page = unsafe { bindings::alloc_pages(bindings::GFP_KERNEL | bindings::__GFP_ZERO, 0) };
        let page = NonNull::new(page).ok_or(ENOMEM)?;
        // SAFETY: `page` is a valid lowmem page (GFP_KERNEL never returns highmem), so it has a kernel
        // address.
        let addr = unsafe { bindings::page_address(page.as_ptr()) }.cast::<u8>();
        let Some(addr) = NonNull::new(addr) else {
            // SAFETY: we own the page we just allocated.
            unsafe { bindings::__free_pages(page.as_ptr(), 0) };
            return Err(ENOMEM);
        };
        LIVE_PAGES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        // INVARIANT: freshly allocated, owned, untyped (page_type == UINT_MAX).
        Ok(Self { page, addr })
    }

    /// The page's kernel address.
    pub(crate) fn addr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// The page frame number.
    pub(crate) fn pfn(&self) -> c_ulong {
        // SAFETY: the page is valid (type invariant).
        unsafe { bindings::page_to_pfn(self.page.as_ptr()) }
    }

    /// Sets the page's `page_type` word (premap's memdesc). Only the owner writes it, before the page is
    /// mapped, and the mm never interprets it for a VM_PFNMAP mapping.
    pub(crate) fn set_type(&self, word: u32) {
        // SAFETY: we own the page (type invariant); `page_type` shares a union with `_mapcount`, which
        // nothing else uses for a page the driver owns and maps only with remap_pfn_range.
        unsafe { (*self.page.as_ptr()).__bindgen_anon_2.page_type = word };
    }

    /// Reads the page's `page_type` word.
    pub(crate) fn page_type(&self) -> u32 {
        // SAFETY: the page is valid (type invariant); a u32 read of the union is always initialised.
        unsafe { (*self.page.as_ptr()).__bindgen_anon_2.page_type }
    }

    /// Copies `bytes` to `offset` in the page (offset + len <= PAGE_SIZE, checked).
    pub(crate) fn write(&self, offset: usize, bytes: &[u8]) {
        if offset.checked_add(bytes.len()).map_or(true, |e| e > PAGE_SIZE) {
            return;
        }
        // SAFETY: the range lies inside the page (checked above), which we own; user space may read it
        // concurrently through its read-only mapping, which is the ring protocol's business (the bytes
        // are published only afterwards with a Release store of data_head).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.addr.as_ptr().add(offset), bytes.len()) };
    }
}

impl Drop for OwnedPage {
    fn drop(&mut self) {
        // The page must leave untyped: the allocator checks `_mapcount == -1` (page_type UINT_MAX).
        self.set_type(u32::MAX);
        // SAFETY: we own the page (type invariant) and no mapping refers to it any more: mappings hold a
        // reference to the buffer that owns this page.
        unsafe { bindings::__free_pages(self.page.as_ptr(), 0) };
        LIVE_PAGES.fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
    }
}

/// The lockdep class of every buffer's wait queue (static, as lockdep requires).
struct StaticKey(Opaque<bindings::lock_class_key>);
// SAFETY: lockdep only uses the key's address; the memory is never accessed from Rust.
unsafe impl Sync for StaticKey {}
static WQ_KEY: StaticKey = StaticKey(Opaque::uninit());

/// A wait queue head for poll.
///
/// # Invariants
///
/// `wq` was initialised by `init` before any other use, and does not move (it lives in an `Arc`).
pub(crate) struct WaitQueue {
    wq: Opaque<bindings::wait_queue_head>,
}

// SAFETY: a wait queue head is designed for concurrent use from any thread (it has its own spinlock).
unsafe impl Send for WaitQueue {}
// SAFETY: as above.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// An uninitialised wait queue; call [`WaitQueue::init`] once it is at its final address.
    pub(crate) fn uninit() -> Self {
        Self { wq: Opaque::uninit() }
    }

    /// Initialises the wait queue in place.
    pub(crate) fn init(&self) {
        // SAFETY: `wq` points to memory for a wait_queue_head that is not yet in use and will not move;
        // the name is a static C string and the lockdep key is a static that lives forever.
        unsafe { bindings::__init_waitqueue_head(self.wq.get(), c"premap".as_ptr().cast(), WQ_KEY.0.get()) };
    }

    /// Wakes every waiter (poll/epoll).
    pub(crate) fn wake_all(&self) {
        // SAFETY: the wait queue is initialised (type invariant); TASK_NORMAL wakes interruptible and
        // uninterruptible sleepers; a null key wakes all.
        unsafe { bindings::__wake_up(self.wq.get(), bindings::TASK_NORMAL, 0, core::ptr::null_mut()) };
    }

    /// Registers the wait queue with a poll table.
    ///
    /// # Safety
    ///
    /// `file` and `pt` are the arguments the VFS passed to `f_op->poll`.
    pub(crate) unsafe fn poll_wait(&self, file: *mut bindings::file, pt: *mut bindings::poll_table_struct) {
        // SAFETY: the caller passes the VFS's own arguments; the wait queue outlives the file's poll
        // registration because the file holds a reference to the buffer that owns it.
        unsafe { bindings::poll_wait(file, self.wq.get(), pt) };
    }
}

/// The VMA being set up in `f_op->mmap`, with the mmap lock held for writing.
pub(crate) struct NewVma(*mut bindings::vm_area_struct);

impl NewVma {
    /// Wraps the VMA passed to `f_op->mmap`.
    ///
    /// # Safety
    ///
    /// `vma` is the VMA the VFS passed to `f_op->mmap`, valid and write-locked for this call.
    pub(crate) unsafe fn from_raw(vma: *mut bindings::vm_area_struct) -> Self {
        Self(vma)
    }

    /// `vm_flags`.
    pub(crate) fn flags(&self) -> c_ulong {
        // SAFETY: the VMA is valid (from_raw's contract); reading the flags union as its const view.
        unsafe { (*self.0).__bindgen_anon_2.vm_flags as c_ulong }
    }

    /// `vm_pgoff`: where the mapping starts in the file, in pages.
    pub(crate) fn pgoff(&self) -> u64 {
        // SAFETY: as above.
        unsafe { (*self.0).vm_pgoff as u64 }
    }

    /// Start address.
    pub(crate) fn start(&self) -> c_ulong {
        // SAFETY: as above.
        unsafe { (*self.0).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// Number of pages.
    pub(crate) fn pages(&self) -> u64 {
        // SAFETY: as above.
        unsafe { bindings::vma_pages(self.0) as u64 }
    }

    /// `vm_flags_set`.
    pub(crate) fn set_flags(&self, flags: c_ulong) {
        // SAFETY: the mmap lock is held for writing during f_op->mmap (from_raw's contract).
        unsafe { bindings::vm_flags_set(self.0, flags as bindings::vm_flags_t) };
    }

    /// `vm_flags_clear`.
    pub(crate) fn clear_flags(&self, flags: c_ulong) {
        // SAFETY: as above.
        unsafe { bindings::vm_flags_clear(self.0, flags as bindings::vm_flags_t) };
    }

    /// The page protection for read-only PTEs in this VMA (perf's `vm_get_page_prot(flags & ~VM_SHARED)`):
    /// a write then faults into `pfn_mkwrite`.
    pub(crate) fn readonly_prot(&self) -> bindings::pgprot_t {
        // SAFETY: vm_get_page_prot is a pure table lookup.
        unsafe { bindings::vm_get_page_prot(self.flags() & !(bindings::VM_SHARED as c_ulong)) }
    }

    /// Maps one page at `addr` with `remap_pfn_range` (which makes the VMA VM_IO | VM_PFNMAP).
    pub(crate) fn remap_page(&self, addr: c_ulong, pfn: c_ulong, prot: bindings::pgprot_t) -> Result {
        // SAFETY: the VMA is write-locked and `addr..addr + PAGE_SIZE` lies inside it (the caller maps
        // exactly vma_pages() pages from vm_start); `pfn` is a page the buffer owns and keeps alive for as
        // long as any VMA refers to it.
        let r = unsafe { bindings::remap_pfn_range(self.0, addr, pfn, PAGE_SIZE as c_ulong, prot) };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(())
        }
    }

    /// Removes the PTEs of `[start, start + len)`, after a failure part-way (nothing stays half mapped).
    pub(crate) fn zap(&self, start: c_ulong, len: c_ulong) {
        if len > 0 {
            // SAFETY: the range lies inside the VMA, which is VM_PFNMAP once remap_pfn_range succeeded for
            // any page (zap_vma_ptes refuses anything else).
            unsafe { bindings::zap_vma_ptes(self.0, start, len) };
        }
    }

    /// Installs the VMA's operations and private data (an `Arc` turned into a raw pointer).
    pub(crate) fn install(&self, ops: &'static VmOps, private: *const c_void) {
        // SAFETY: the VMA is write-locked; `ops` is static.
        unsafe {
            (*self.0).vm_ops = &ops.0;
            (*self.0).vm_private_data = private.cast_mut();
        }
    }
}

/// A static `vm_operations_struct`.
#[repr(transparent)]
pub(crate) struct VmOps(pub(crate) bindings::vm_operations_struct);

// SAFETY: the table holds only function pointers and is never written after initialisation.
unsafe impl Sync for VmOps {}

/// The private data of a VMA (the raw `Arc` installed by [`NewVma::install`]).
///
/// # Safety
///
/// `vma` must be a VMA passed by the mm to one of our `vm_operations_struct` callbacks.
pub(crate) unsafe fn vma_private(vma: *mut bindings::vm_area_struct) -> *const c_void {
    // SAFETY: the caller guarantees a valid VMA.
    unsafe { (*vma).vm_private_data.cast_const() }
}

/// The page offset of a fault.
///
/// # Safety
///
/// `vmf` must be the `vm_fault` the mm passed to a fault callback.
pub(crate) unsafe fn fault_pgoff(vmf: *mut bindings::vm_fault) -> u64 {
    // SAFETY: the caller guarantees a valid vm_fault.
    unsafe { (*vmf).__bindgen_anon_1.pgoff as u64 }
}

/// `VM_FAULT_SIGBUS`.
pub(crate) const VM_FAULT_SIGBUS: bindings::vm_fault_t = bindings::vm_fault_reason_VM_FAULT_SIGBUS as _;

/// A kernel thread, stopped and joined on drop.
///
/// # Invariants
///
/// `task` is a kthread created by `kthread_create_on_node`, woken, and not yet stopped.
pub(crate) struct Kthread {
    task: NonNull<bindings::task_struct>,
}

// SAFETY: a task pointer may be used to stop the thread from any thread.
unsafe impl Send for Kthread {}

impl Kthread {
    /// Starts `f(data)` in a kernel thread named "premap-gen".
    ///
    /// # Safety
    ///
    /// `data` must stay valid until the returned value is dropped (which stops the thread and waits for
    /// `f` to return).
    pub(crate) unsafe fn spawn(f: unsafe extern "C" fn(*mut c_void) -> c_int, data: *mut c_void) -> Result<Self> {
        // SAFETY: `f` is a valid thread function, `data` outlives it (caller), the name is a static C
        // format string without conversions.
        let task = unsafe { bindings::kthread_create_on_node(Some(f), data, bindings::NUMA_NO_NODE, c"premap-gen".as_ptr().cast()) };
        if kernel::error::from_err_ptr(task).is_err() {
            return Err(ENOMEM);
        }
        let task = NonNull::new(task).ok_or(ENOMEM)?;
        // SAFETY: a freshly created kthread waits to be woken.
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        // INVARIANT: created and woken.
        Ok(Self { task })
    }
}

impl Drop for Kthread {
    fn drop(&mut self) {
        // SAFETY: the thread was created and not yet stopped (type invariant). Our thread functions loop
        // until kthread_should_stop(), so the task is alive until this call returns.
        unsafe { bindings::kthread_stop(self.task.as_ptr()) };
    }
}

/// Whether the current kthread was asked to stop.
pub(crate) fn kthread_should_stop() -> bool {
    // SAFETY: called only from our kthreads.
    unsafe { bindings::kthread_should_stop() }
}

/// Sleeps interruptibly for about `jiffies` (a kthread waiting for its stop).
pub(crate) fn sleep_jiffies(jiffies: i64) {
    // SAFETY: sleeping is allowed in the kthread's process context.
    unsafe { bindings::schedule_timeout_interruptible(jiffies as _) };
}

/// Sleeps for about `us` microseconds.
pub(crate) fn sleep_us(us: u64) {
    // SAFETY: sleeping is allowed in the kthread's process context.
    unsafe { bindings::usleep_range_state(us as c_ulong, (us + us / 8 + 1) as c_ulong, bindings::TASK_UNINTERRUPTIBLE) };
}

/// Yields the CPU if another task should run.
pub(crate) fn cond_resched() {
    // SAFETY: called from process context without spinlocks held.
    unsafe { bindings::cond_resched() };
}

/// Nanoseconds of the monotonic clock.
pub(crate) fn ktime_ns() -> u64 {
    // SAFETY: ktime_get has no preconditions.
    unsafe { bindings::ktime_get() as u64 }
}

/// The registration of a misc device; deregistered on drop.
///
/// # Invariants
///
/// `dev` was registered with `misc_register` and is pinned (it lives in a `KBox` never moved out).
pub(crate) struct MiscRegistration {
    dev: Opaque<bindings::miscdevice>,
    fops: Opaque<bindings::file_operations>,
}

// SAFETY: the registration is only touched at module init and exit.
unsafe impl Send for MiscRegistration {}
// SAFETY: as above.
unsafe impl Sync for MiscRegistration {}

impl MiscRegistration {
    /// Registers `/dev/NAME` with `fops` (copied into the pinned registration).
    pub(crate) fn register(
        name: &'static core::ffi::CStr,
        fops: bindings::file_operations,
    ) -> Result<core::pin::Pin<kernel::alloc::KBox<Self>>> {
        let reg = kernel::alloc::KBox::pin(
            Self { dev: Opaque::uninit(), fops: Opaque::new(fops) },
            kernel::alloc::flags::GFP_KERNEL,
        )?;
        // SAFETY: `dev` is ours and not yet registered; all-zero is a valid miscdevice before its fields
        // are set; the name is static; `fops` lives in the same pinned allocation as `dev`.
        let r = unsafe {
            let dev = reg.dev.get();
            core::ptr::write_bytes(dev, 0, 1);
            (*dev).minor = bindings::MISC_DYNAMIC_MINOR as c_int;
            (*dev).name = name.as_ptr().cast();
            (*dev).fops = reg.fops.get();
            (*dev).mode = 0o666;
            bindings::misc_register(dev)
        };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        // INVARIANT: registered above; the KBox is pinned.
        Ok(reg)
    }
}

impl Drop for MiscRegistration {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); deregistration waits for no opener, but every open file
        // holds a module reference through fops.owner, so the module (and this) outlive them.
        unsafe { bindings::misc_deregister(self.dev.get()) };
    }
}

/// The `private_data` of an open file.
///
/// # Safety
///
/// `file` must be a file of our device, passed by the VFS to one of our `file_operations`.
pub(crate) unsafe fn file_private(file: *mut bindings::file) -> *mut c_void {
    // SAFETY: the caller guarantees a valid file.
    unsafe { (*file).private_data }
}

/// Sets the `private_data` of an open file.
///
/// # Safety
///
/// As [`file_private`], from `open`.
pub(crate) unsafe fn set_file_private(file: *mut bindings::file, data: *mut c_void) {
    // SAFETY: the caller guarantees a valid file that no one else uses yet (open).
    unsafe { (*file).private_data = data };
}
