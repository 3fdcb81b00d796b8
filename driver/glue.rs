// SPDX-License-Identifier: GPL-2.0

//! Every call into the kernel's C API that premap makes, each behind a small safe wrapper with its
//! `// SAFETY:` proof. The wrappers use `kernel::bindings` as mainline names them (the bindings and
//! helpers come from driver/kernel/mainline/*.patch on mainline and driver/kernel/6.12/*.patch, which
//! also backports mainline's `UserPtr` and renamed calls, on 6.12), so this one source builds on both.
//! Linux 6.12 has no Rust abstractions for miscdevice, VMAs or poll; mainline has `MiscDevice` and
//! `VmaNew` but no vm_ops, PFN map or poll for them, so these wrappers take the shape those
//! abstractions have until patches add the missing parts.
//!
//! Lock order: `FileState::inner` (a file's mutex) before `Buffer::state` (the producer's mutex); the
//! wait queue's spinlock is taken inside both by `wake_up`.

use core::ffi::{c_int, c_void};

/// The kernel's `unsigned long` and `long` (the `ffi` crate maps them to `usize`/`isize`).
#[allow(non_camel_case_types)]
type c_ulong = usize;
#[allow(non_camel_case_types)]
type c_long = isize;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{code::*, Error, Result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// The page size of this kernel.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// The kernel's `PGTY_driver_ring` type byte (premap's kernel series).
pub(crate) const PGTY_DRIVER_RING: u32 = bindings::pagetype_PGTY_driver_ring;

/// Pages the driver holds now: incremented by [`OwnedPage::alloc`], decremented when one is freed. At
/// module exit every buffer is gone (open files and mappings pin the module through their file), so
/// anything but 0 is a leak; the module says so on the console and driver/vmtest fails.
pub(crate) static LIVE_PAGES: core::sync::atomic::AtomicI64 = core::sync::atomic::AtomicI64::new(0);

/// One order-0 page owned by the driver, with its kernel address, freed on drop.
///
/// # Invariants
///
/// `page` was returned by `alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO | ..., 0)`, is owned by this value, and
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
    /// Allocates a zeroed page, charged to the current task's memory cgroup (`__GFP_ACCOUNT`). Under
    /// memory pressure it fails with ENOMEM instead of waking the OOM killer (`__GFP_NORETRY`), quietly
    /// (`__GFP_NOWARN`): the size comes from user space.
    pub(crate) fn alloc() -> Result<Self> {
        let gfp = bindings::GFP_KERNEL_ACCOUNT
            | bindings::__GFP_ZERO
            | bindings::__GFP_NORETRY
            | bindings::__GFP_NOWARN;
        // SAFETY: alloc_pages has no preconditions; order 0 with GFP_KERNEL may sleep, and every caller
        // runs in process context (ioctl).
        let page = unsafe { bindings::alloc_pages(gfp, 0) };
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

    /// Makes the page a `PGTY_driver_ring` page (`__SetPageDriverRing`) whose owner bits are those of
    /// `word` (premap's memdesc: type byte [`PGTY_DRIVER_RING`] and the owner bits). A word with another
    /// type byte is ignored. `&mut self`: only the owner types the page, before it is shared or mapped.
    pub(crate) fn set_type(&mut self, word: u32) {
        if word >> 24 != PGTY_DRIVER_RING {
            return;
        }
        let page = self.page.as_ptr();
        // SAFETY: we own the page exclusively (type invariant, `&mut self`), it is untyped or already a
        // driver-ring page, and it is not mapped yet: nothing else reads its `_mapcount`/`page_type`.
        unsafe { bindings::__SetPageDriverRing(page) };
        // SAFETY: as above; the kernel leaves the low 24 bits of a typed page to its owner, and the type
        // byte written is the one __SetPageDriverRing just set.
        unsafe { (*page).__bindgen_anon_2.page_type = word };
    }

    /// Reads the page's `page_type` word.
    pub(crate) fn page_type(&self) -> u32 {
        // SAFETY: the page is valid (type invariant); a u32 read of the union is always initialised.
        unsafe { (*self.page.as_ptr()).__bindgen_anon_2.page_type }
    }

    /// Whether the page is a `PGTY_driver_ring` page (`PageDriverRing`).
    pub(crate) fn is_driver_ring(&self) -> bool {
        // SAFETY: the page is valid (type invariant); the test reads the type byte only.
        unsafe { bindings::PageDriverRing(self.page.as_ptr()) != 0 }
    }

    /// The page's reference count (`page_ref_count`): 1 (ours) unless something else holds the page.
    pub(crate) fn refcount(&self) -> i32 {
        // SAFETY: the page is valid (type invariant); an atomic read.
        unsafe { bindings::page_ref_count(self.page.as_ptr()) }
    }

    /// Copies `bytes` to `offset` in the page (offset + len <= PAGE_SIZE, checked).
    ///
    /// # Safety
    ///
    /// No other kernel thread writes the page at the same time: the caller holds the lock that
    /// serialises the buffer's producer. (User space may read it concurrently through its read-only
    /// mapping; the ring protocol publishes the bytes only afterwards, with a Release store of
    /// `data_head`.)
    pub(crate) unsafe fn write(&self, offset: usize, bytes: &[u8]) {
        // (`Option::is_none_or` is newer than 6.12's minimum Rust; mainline's clippy refuses `map_or`.)
        if !matches!(offset.checked_add(bytes.len()), Some(e) if e <= PAGE_SIZE) {
            return;
        }
        // SAFETY: the range lies inside the page (checked above), which we own; no other kernel writer
        // (the caller's contract); user space only reads the page (read-only PTEs), which the ring
        // protocol orders with the later Release store of data_head.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.addr.as_ptr().add(offset),
                bytes.len(),
            )
        };
    }
}

/// The `struct page` pointer of a page a buffer owns (its [`OwnedPage`] lives as long as the buffer), laid
/// out as an element of the `struct page **` arrays the mm takes.
///
/// # Invariants
///
/// Points to a valid page for as long as the buffer that holds this value.
#[repr(transparent)]
pub(crate) struct PagePtr(NonNull<bindings::page>);

// SAFETY: a page address, only passed to the mm; the page is plain memory owned by the buffer.
unsafe impl Send for PagePtr {}
// SAFETY: as above; `&PagePtr` gives out the pointer only.
unsafe impl Sync for PagePtr {}

impl PagePtr {
    /// The pointer of `page`.
    pub(crate) fn of(page: &OwnedPage) -> Self {
        // INVARIANT: the buffer keeps `page` with this value.
        Self(page.page)
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.0.as_ptr()
    }

    /// The pointers as the `struct page *` array the mm takes.
    pub(crate) fn slice(ptrs: &[PagePtr]) -> &[*mut bindings::page] {
        // SAFETY: `PagePtr` is `repr(transparent)` over `NonNull<page>`, itself `repr(transparent)` over a
        // `*const page`, which has the layout of `*mut page`; the length and lifetime are the input's.
        unsafe {
            core::slice::from_raw_parts(ptrs.as_ptr().cast::<*mut bindings::page>(), ptrs.len())
        }
    }
}

impl Drop for OwnedPage {
    fn drop(&mut self) {
        // No mapping holds a reference (neither strategy takes one), so ours is the only one; anything
        // else means a reference the mm should have refused (a GUP pin). `__free_pages` only drops our
        // reference then, so the page stays valid for the other holder, but say so: driver/vmtest fails
        // on this line.
        let refs = self.refcount();
        if refs != 1 {
            kernel::pr_err!(
                "premap: REFCOUNT {} on a page being freed (expected 1)\n",
                refs
            );
        }
        // The page must leave untyped: the allocator checks `_mapcount == -1` (page_type UINT_MAX).
        if self.is_driver_ring() {
            // SAFETY: we own the page and it is a driver-ring page (checked); no mapping refers to it
            // any more, so nothing reads its type concurrently.
            unsafe { bindings::__ClearPageDriverRing(self.page.as_ptr()) };
        }
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

/// A wait queue head for poll, initialised in place (pin-init, as `kernel::sync::CondVar`).
///
/// # Invariants
///
/// `wq` is an initialised `wait_queue_head` that never moves.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    wq: Opaque<bindings::wait_queue_head>,
}

// SAFETY: a wait queue head is designed for concurrent use from any thread (it has its own spinlock).
unsafe impl Send for WaitQueue {}
// SAFETY: as above.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// An initialiser for a wait queue at its final (pinned) address.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid, pinned memory for a wait_queue_head that nobody uses yet; the name
            // is a static C string and the lockdep key is a static that lives forever.
            wq <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, kernel::c_str!("premap").as_char_ptr(), WQ_KEY.0.get())
            }),
        })
    }

    /// Wakes every waiter (poll/epoll).
    pub(crate) fn wake_all(&self) {
        // SAFETY: the wait queue is initialised (type invariant); TASK_NORMAL wakes interruptible and
        // uninterruptible sleepers; a null key wakes all.
        unsafe {
            bindings::__wake_up(
                self.wq.get(),
                bindings::TASK_NORMAL,
                0,
                core::ptr::null_mut(),
            )
        };
    }

    /// Registers the wait queue with a poll table.
    ///
    /// # Safety
    ///
    /// `file` and `pt` are the arguments the VFS passed to `f_op->poll`, and the wait queue outlives the
    /// file's poll registration (the file holds a reference to its owner).
    pub(crate) unsafe fn poll_wait(
        &self,
        file: *mut bindings::file,
        pt: *mut bindings::poll_table_struct,
    ) {
        // SAFETY: the caller passes the VFS's own arguments and keeps the wait queue alive; it is
        // initialised (type invariant).
        unsafe { bindings::poll_wait(file, self.wq.get(), pt) };
    }
}

/// The VMA being set up in `f_op->mmap`, with the mmap lock held for writing, for the duration of that
/// call (`'a`).
///
/// # Invariants
///
/// The pointer is the VMA passed to `f_op->mmap`, valid and write-locked for `'a`.
pub(crate) struct NewVma<'a>(
    *mut bindings::vm_area_struct,
    core::marker::PhantomData<&'a mut ()>,
);

impl NewVma<'_> {
    /// Wraps the VMA passed to `f_op->mmap`.
    ///
    /// # Safety
    ///
    /// `vma` is the VMA the VFS passed to `f_op->mmap`, valid and write-locked for the lifetime the
    /// caller picks (no longer than that call).
    pub(crate) unsafe fn from_raw(vma: *mut bindings::vm_area_struct) -> Self {
        // INVARIANT: the caller's contract.
        Self(vma, core::marker::PhantomData)
    }

    /// End address (exclusive).
    pub(crate) fn end(&self) -> c_ulong {
        // SAFETY: the VMA is valid (type invariant).
        unsafe { (*self.0).__bindgen_anon_1.__bindgen_anon_1.vm_end }
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
        page_prot(self.flags(), false)
    }

    /// The page protection of the VMA's own flags (`vm_get_page_prot(flags)`): shared and writable when
    /// the VMA is writable. Inside `f_op->mmap` `vm_page_prot` is not final yet, so it is computed here.
    pub(crate) fn own_prot(&self) -> bindings::pgprot_t {
        page_prot(self.flags(), true)
    }

    /// Maps `pages` at `addr` with `vm_insert_pages_prot`: all of them or none (the call unmaps what it
    /// mapped on failure). The pages must be `PGTY_driver_ring` pages (EINVAL otherwise); the PTEs take
    /// neither a reference nor a mapcount; the VMA becomes VM_MIXEDMAP.
    ///
    /// # Safety
    ///
    /// Every page is one the caller owns and keeps alive (and does not free or reuse) for as long as this
    /// VMA or any copy of it exists: the PTEs take no reference on them.
    pub(crate) unsafe fn insert_typed(
        &self,
        addr: c_ulong,
        pages: &[*mut bindings::page],
        prot: bindings::pgprot_t,
    ) -> Result {
        // SAFETY: the VMA is write-locked (type invariant); vm_insert_pages_prot checks that the range
        // lies inside it and that each page is a driver-ring page, and reads `pages.len()` pointers; the
        // pages' lifetime is the caller's promise.
        let r = unsafe {
            bindings::vm_insert_pages_prot(
                self.0,
                addr,
                pages.as_ptr().cast_mut(),
                pages.len() as c_ulong,
                prot,
            )
        };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(())
        }
    }

    /// Maps one page at `addr` (checked to lie inside the VMA) with `remap_pfn_range`, which makes the
    /// VMA VM_IO | VM_PFNMAP.
    ///
    /// # Safety
    ///
    /// `pfn` is a page the caller owns and keeps alive (and does not free or reuse) for as long as this
    /// VMA or any copy of it exists: the PTE takes no reference on it.
    pub(crate) unsafe fn remap_page(
        &self,
        addr: c_ulong,
        pfn: c_ulong,
        prot: bindings::pgprot_t,
    ) -> Result {
        if addr < self.start()
            || !matches!(addr.checked_add(PAGE_SIZE as c_ulong), Some(e) if e <= self.end())
        {
            return Err(EINVAL);
        }
        // SAFETY: the VMA is write-locked (type invariant) and `addr..addr + PAGE_SIZE` lies inside it
        // (checked above); the page's lifetime is the caller's promise.
        let r = unsafe { bindings::remap_pfn_range(self.0, addr, pfn, PAGE_SIZE as c_ulong, prot) };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(())
        }
    }

    /// Removes the PTEs of `[start, start + len)` (clamped to the VMA), after a failure part-way:
    /// nothing stays half mapped.
    pub(crate) fn zap(&self, start: c_ulong, len: c_ulong) {
        let start = start.max(self.start());
        let end = start.saturating_add(len).min(self.end());
        if end > start {
            let len = end - start;
            // SAFETY: the range lies inside the VMA (clamped above), which is write-locked (type
            // invariant); zap_special_vma_range refuses (does nothing for) a VMA that is not VM_PFNMAP.
            unsafe { bindings::zap_special_vma_range(self.0, start, len) };
        }
    }

    /// Installs the VMA's operations and its private data: `data`, whose reference the VMA keeps (the
    /// callbacks of `ops` read it back with `Arc::from_raw` and give it back in `close`).
    pub(crate) fn install<T: Send + Sync>(&self, ops: &'static VmOps, data: Arc<T>) {
        // SAFETY: the VMA is write-locked (type invariant); `ops` is static; the raw Arc is owned by the
        // VMA from now on.
        unsafe {
            (*self.0).vm_ops = &ops.0;
            (*self.0).vm_private_data = data.into_raw().cast_mut().cast();
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

/// The PTE protection for a VMA with `flags`: its own (`vm_get_page_prot(flags)`) for a page user space
/// may write, without VM_SHARED otherwise, so that a write faults into `pfn_mkwrite` (as perf does).
fn page_prot(flags: c_ulong, writable: bool) -> bindings::pgprot_t {
    let flags = if writable {
        flags
    } else {
        flags & !(bindings::VM_SHARED as c_ulong)
    };
    // SAFETY: vm_get_page_prot is a pure table lookup.
    unsafe { bindings::vm_get_page_prot(flags) }
}

/// A page fault in one of our VMAs, for the duration of the `vm_ops->fault` call.
///
/// # Invariants
///
/// The pointer is the `vm_fault` the mm passed to `vm_ops->fault`, valid for the call; its VMA is one of
/// ours and is locked (mmap lock or per-VMA lock) for reading.
pub(crate) struct Fault(*mut bindings::vm_fault);

impl Fault {
    /// Wraps the `vm_fault` of a `vm_ops->fault` call.
    ///
    /// # Safety
    ///
    /// `vmf` is the `vm_fault` the mm passed to `vm_ops->fault`; the value must not outlive the call.
    pub(crate) unsafe fn from_raw(vmf: *mut bindings::vm_fault) -> Self {
        // INVARIANT: the caller's contract.
        Self(vmf)
    }

    /// The faulting page's offset in the file, in pages.
    pub(crate) fn pgoff(&self) -> u64 {
        // SAFETY: valid vm_fault (type invariant).
        unsafe { (*self.0).__bindgen_anon_1.pgoff as u64 }
    }

    /// The VMA's private data (the raw `Arc` installed by [`NewVma::install`]).
    pub(crate) fn private(&self) -> *const c_void {
        // SAFETY: valid vm_fault whose VMA is one of ours (type invariant).
        unsafe { vma_private((*self.0).__bindgen_anon_1.vma) }
    }

    /// The VMA's page protection for a page user space may write (its own flags) or not.
    pub(crate) fn prot(&self, writable: bool) -> bindings::pgprot_t {
        // SAFETY: valid vm_fault (type invariant); the VMA's flags are stable under its read lock.
        let flags =
            unsafe { (*(*self.0).__bindgen_anon_1.vma).__bindgen_anon_2.vm_flags as c_ulong };
        page_prot(flags, writable)
    }

    /// Maps `page` at the faulting address with `vm_insert_pages_prot` again (after MADV_DONTNEED zapped
    /// it, say) and returns the fault's result: NOPAGE when the page is mapped (by this call or by a
    /// concurrent fault), OOM when a page table could not be allocated, SIGBUS otherwise.
    ///
    /// # Safety
    ///
    /// `page` is a driver-ring page the caller keeps alive for as long as the VMA or any copy of it
    /// exists.
    pub(crate) unsafe fn insert(
        &self,
        page: *mut bindings::page,
        prot: bindings::pgprot_t,
    ) -> bindings::vm_fault_t {
        // SAFETY: valid vm_fault (type invariant).
        let (vma, addr) = unsafe {
            (
                (*self.0).__bindgen_anon_1.vma,
                (*self.0).__bindgen_anon_1.address,
            )
        };
        let mut one = [page];
        // SAFETY: the VMA is ours and read-locked, and already VM_MIXEDMAP (set by the insert at mmap),
        // so vm_insert_pages_prot changes no VMA flag; `addr` is the page-aligned faulting address inside
        // it; the page's lifetime is the caller's promise.
        let r = unsafe { bindings::vm_insert_pages_prot(vma, addr, one.as_mut_ptr(), 1, prot) };
        match r {
            0 => VM_FAULT_NOPAGE,
            r if r == EBUSY.to_errno() => VM_FAULT_NOPAGE,
            r if r == ENOMEM.to_errno() => VM_FAULT_OOM,
            _ => VM_FAULT_SIGBUS,
        }
    }
}

/// `VM_FAULT_NOPAGE`: the handler installed the PTE itself.
pub(crate) const VM_FAULT_NOPAGE: bindings::vm_fault_t =
    bindings::vm_fault_reason_VM_FAULT_NOPAGE as bindings::vm_fault_t;
/// `VM_FAULT_OOM`.
pub(crate) const VM_FAULT_OOM: bindings::vm_fault_t =
    bindings::vm_fault_reason_VM_FAULT_OOM as bindings::vm_fault_t;

/// `VM_FAULT_SIGBUS`.
pub(crate) const VM_FAULT_SIGBUS: bindings::vm_fault_t =
    bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t;

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
    pub(crate) unsafe fn spawn(
        f: unsafe extern "C" fn(*mut c_void) -> c_int,
        data: *mut c_void,
    ) -> Result<Self> {
        // SAFETY: `f` is a valid thread function, `data` outlives it (caller), the name is a static C
        // format string without conversions.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(f),
                data,
                bindings::NUMA_NO_NODE,
                kernel::c_str!("premap-gen").as_char_ptr(),
            )
        };
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
///
/// # Safety
///
/// The current task is a kthread (`kthread_should_stop` reads the kthread's own data).
pub(crate) unsafe fn kthread_should_stop() -> bool {
    // SAFETY: the caller runs in a kthread.
    unsafe { bindings::kthread_should_stop() }
}

/// The longest single sleep of [`sleep_interruptible_ns`]: 1 s.
pub(crate) const MAX_SLEEP_NS: u64 = 1_000_000_000;

/// Sleeps interruptibly for about `ns` nanoseconds (at most [`MAX_SLEEP_NS`]): a `wake_up_process`
/// (which `kthread_stop` does) ends a sleep of a jiffy or more at once; shorter sleeps (hrtimer) finish
/// on their own within a jiffy.
pub(crate) fn sleep_interruptible_ns(ns: u64) {
    let ns = ns.min(MAX_SLEEP_NS);
    // SAFETY: nsecs_to_jiffies is a pure conversion.
    let jiffies = unsafe { bindings::nsecs_to_jiffies(ns) };
    if jiffies >= 2 {
        // SAFETY: sleeping is allowed in process context (the generator kthread); the timeout is bounded.
        unsafe { bindings::schedule_timeout_interruptible(jiffies as c_long) };
    } else if ns >= 1000 {
        let us = (ns / 1000) as c_ulong;
        // SAFETY: as above; `us` is below two jiffies, so the sum cannot overflow.
        unsafe { bindings::usleep_range_state(us, us + us / 8 + 1, bindings::TASK_INTERRUPTIBLE) };
    } else {
        cond_resched();
    }
}

/// Whether the current task has a fatal signal pending (a long loop in a syscall stops with EINTR).
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: `get_current` returns the running task, valid while it runs this code.
    unsafe { bindings::fatal_signal_pending(bindings::get_current()) != 0 }
}

/// Pages of RAM the kernel manages.
pub(crate) fn totalram_pages() -> u64 {
    // SAFETY: totalram_pages reads an atomic counter.
    unsafe { bindings::totalram_pages() as u64 }
}

/// The current task's `RLIMIT_MEMLOCK` in pages (saturating: RLIM_INFINITY is huge).
pub(crate) fn memlock_limit_pages() -> u64 {
    // SAFETY: rlimit reads the current task's signal struct, valid while it runs.
    let bytes = unsafe { bindings::rlimit(bindings::RLIMIT_MEMLOCK) };
    bytes as u64 / PAGE_SIZE as u64
}

/// Whether the current task has `CAP_IPC_LOCK` (checked only when needed: `capable` audits).
pub(crate) fn capable_ipc_lock() -> bool {
    // SAFETY: capable() checks the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_IPC_LOCK as c_int) }
}

/// The current task's real user id (the user that owns what it creates, as perf's `current_user()`).
pub(crate) fn current_uid() -> u32 {
    // SAFETY: get_current_user returns a counted reference to the current credentials' user_struct.
    let user = unsafe { bindings::get_current_user() };
    // SAFETY: `user` is valid while we hold the reference; the reference is given back at once.
    unsafe {
        let uid = (*user).uid.val;
        bindings::free_uid(user);
        uid
    }
}

/// An `unsigned long` module parameter (`module_param(NAME, ulong, 0644)`: `insmod premap.ko NAME=V`,
/// and /sys/module/premap/parameters/NAME for root at run time). Rust in Linux 6.12 has no module
/// parameters; this is the `kernel_param` entry the C macro emits into the `__param` section.
pub(crate) struct ParamUlong {
    value: core::sync::atomic::AtomicUsize,
}

impl ParamUlong {
    /// A parameter with its default value.
    pub(crate) const fn new(default: usize) -> Self {
        Self {
            value: core::sync::atomic::AtomicUsize::new(default),
        }
    }

    /// The current value (the kernel's param_set_ulong may store a new one at any time).
    pub(crate) fn get(&self) -> usize {
        self.value.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// The `kernel_param` entry of a [`ParamUlong`].
#[repr(transparent)]
pub(crate) struct KernelParam(bindings::kernel_param);

// SAFETY: the entry is read by the module loader and sysfs only; the value it points to is an atomic.
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// The entry for `param`, named `name`, mode 0644.
    pub(crate) const fn ulong(name: &'static core::ffi::CStr, param: &'static ParamUlong) -> Self {
        Self(bindings::kernel_param {
            // `CStr::as_char_ptr` is not a `const fn` on mainline (a trait method there); the pointer
            // goes to the C `const char *name` as is.
            #[allow(clippy::disallowed_methods)]
            name: name.as_ptr().cast(),
            // Only addresses are taken: the module's own `struct module`, the kernel's ulong ops.
            mod_: core::ptr::addr_of_mut!(bindings::__this_module),
            ops: core::ptr::addr_of!(bindings::param_ops_ulong),
            perm: 0o644,
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                arg: param.value.as_ptr().cast(),
            },
        })
    }
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
        name: &'static CStr,
        fops: bindings::file_operations,
    ) -> Result<core::pin::Pin<kernel::alloc::KBox<Self>>> {
        let reg = kernel::alloc::KBox::pin(
            Self {
                dev: Opaque::uninit(),
                fops: Opaque::new(fops),
            },
            kernel::alloc::flags::GFP_KERNEL,
        )?;
        // SAFETY: `dev` is ours and not yet registered; all-zero is a valid miscdevice before its fields
        // are set; the name is static; `fops` lives in the same pinned allocation as `dev`.
        let r = unsafe {
            let dev = reg.dev.get();
            core::ptr::write_bytes(dev, 0, 1);
            (*dev).minor = bindings::MISC_DYNAMIC_MINOR as c_int;
            (*dev).name = name.as_char_ptr();
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
