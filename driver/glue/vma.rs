// SPDX-License-Identifier: GPL-2.0

//! VMAs: the one being set up in `f_op->mmap` (both mapping strategies), the static
//! `vm_operations_struct`, and page faults in our VMAs.

use super::*;
use kernel::mm::virt::VmaNew;

/// What premap needs of the VMA being set up in `f_op->mmap` beyond what the kernel's [`VmaNew`] offers
/// (its file offset, the PTE protections, the two ways of mapping pages and the VMA's operations with
/// their private data), each proved over the raw `vm_area_struct` where it is implemented.
pub(crate) trait VmaNewExt {
    /// `vm_pgoff`: where the mapping starts in the file, in pages.
    fn pgoff(&self) -> u64;

    /// The page protection for read-only PTEs in this VMA (perf's `vm_get_page_prot(flags &
    /// ~VM_SHARED)`): a write then faults into `pfn_mkwrite`.
    fn readonly_prot(&self) -> bindings::pgprot_t;

    /// The page protection of the VMA's own flags (`vm_get_page_prot(flags)`): shared and writable when
    /// the VMA is writable. Inside `f_op->mmap` `vm_page_prot` is not final yet, so it is computed here.
    fn own_prot(&self) -> bindings::pgprot_t;

    /// Maps `pages` at `addr` with `vm_insert_pages_prot`: all of them or none (the call unmaps what it
    /// mapped on failure). The pages must be `PGTY_driver_ring` pages (EINVAL otherwise); the PTEs take
    /// neither a reference nor a mapcount; the VMA becomes VM_MIXEDMAP.
    ///
    /// # Safety
    ///
    /// Every page is one the caller owns and keeps alive (and does not free or reuse) for as long as this
    /// VMA or any copy of it exists: the PTEs take no reference on them.
    unsafe fn insert_typed(
        &self,
        addr: c_ulong,
        pages: &[*mut bindings::page],
        prot: bindings::pgprot_t,
    ) -> Result;

    /// Maps one page at `addr` (checked to lie inside the VMA) with `remap_pfn_range`, which makes the
    /// VMA VM_IO | VM_PFNMAP.
    ///
    /// # Safety
    ///
    /// `pfn` is a page the caller owns and keeps alive (and does not free or reuse) for as long as this
    /// VMA or any copy of it exists: the PTE takes no reference on it.
    unsafe fn remap_page(&self, addr: c_ulong, pfn: c_ulong, prot: bindings::pgprot_t) -> Result;

    /// Installs the VMA's operations and its private data: `data`, whose reference the VMA keeps (the
    /// callbacks of `ops` read it back with `Arc::from_raw` and give it back in `close`).
    fn install<T: Send + Sync>(&self, ops: &'static VmOps, data: Arc<T>);
}

impl VmaNewExt for VmaNew {
    fn pgoff(&self) -> u64 {
        // SAFETY: the VMA is valid and being set up by this `f_op->mmap` call (`VmaNew`'s invariant).
        unsafe { (*self.as_ptr()).vm_pgoff as u64 }
    }

    fn readonly_prot(&self) -> bindings::pgprot_t {
        page_prot(self.flags() as c_ulong, false)
    }

    fn own_prot(&self) -> bindings::pgprot_t {
        page_prot(self.flags() as c_ulong, true)
    }

    unsafe fn insert_typed(
        &self,
        addr: c_ulong,
        pages: &[*mut bindings::page],
        prot: bindings::pgprot_t,
    ) -> Result {
        // SAFETY: the VMA is being set up with the mmap lock held for writing (`VmaNew`'s invariant);
        // vm_insert_pages_prot checks that the range lies inside it and that each page is a driver-ring
        // page, and reads `pages.len()` pointers; the pages' lifetime is the caller's promise.
        let r = unsafe {
            bindings::vm_insert_pages_prot(
                self.as_ptr(),
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

    unsafe fn remap_page(&self, addr: c_ulong, pfn: c_ulong, prot: bindings::pgprot_t) -> Result {
        if addr < self.start()
            || !matches!(addr.checked_add(PAGE_SIZE as c_ulong), Some(e) if e <= self.end())
        {
            return Err(EINVAL);
        }
        // SAFETY: the VMA is being set up with the mmap lock held for writing (`VmaNew`'s invariant) and
        // `addr..addr + PAGE_SIZE` lies inside it (checked above); the page's lifetime is the caller's
        // promise.
        let r = unsafe {
            bindings::remap_pfn_range(self.as_ptr(), addr, pfn, PAGE_SIZE as c_ulong, prot)
        };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(())
        }
    }

    fn install<T: Send + Sync>(&self, ops: &'static VmOps, data: Arc<T>) {
        // SAFETY: the VMA is being set up with the mmap lock held for writing (`VmaNew`'s invariant);
        // `ops` is static; the raw Arc is owned by the VMA from now on.
        unsafe {
            (*self.as_ptr()).vm_ops = &ops.0;
            (*self.as_ptr()).vm_private_data = data.into_raw().cast_mut().cast();
        }
    }
}

/// A static `vm_operations_struct`.
#[repr(transparent)]
pub(crate) struct VmOps(pub(crate) bindings::vm_operations_struct);

// SAFETY: the table holds only function pointers and is never written after initialisation.
unsafe impl Sync for VmOps {}

/// The private data of a VMA (the raw `Arc` installed by [`VmaNewExt::install`]).
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

    /// The VMA's private data (the raw `Arc` installed by [`VmaNewExt::install`]).
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
