// SPDX-License-Identifier: GPL-2.0

//! VMAs: what mmap needs of the VMA it sets up beyond the kernel's `VmaNew` (the PTE protections, the
//! PFN map and the typed insert), and mapping a typed page again at a fault.

use super::*;
use kernel::mm::virt::{fault, VmFault, VmFaultResult, VmaNew};

/// What premap needs of the VMA being set up in `f_op->mmap` beyond what the kernel's [`VmaNew`] offers
/// (the PTE protections and the two ways of mapping pages), each proved over the raw `vm_area_struct`
/// where it is implemented.
pub(crate) trait VmaNewExt {
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
}

impl VmaNewExt for VmaNew {
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

/// Maps `page` at the faulting address of `vmf` with `vm_insert_pages_prot` again (after MADV_DONTNEED
/// zapped it, say), writable if `writable` (and the VMA is), and returns the fault's result: NOPAGE when
/// the page is mapped (by this call or by a concurrent fault), OOM when a page table could not be
/// allocated, SIGBUS otherwise.
///
/// # Safety
///
/// `page` is a driver-ring page the caller keeps alive for as long as the VMA or any copy of it exists.
pub(crate) unsafe fn insert_at_fault(
    vmf: &VmFault,
    page: &PagePtr,
    writable: bool,
) -> VmFaultResult {
    let vma = vmf.vma();
    let prot = page_prot(vma.flags() as c_ulong, writable);
    let mut one = [page.as_ptr()];
    // SAFETY: the VMA is ours and read-locked for the fault (`VmFault`'s invariant), and already
    // VM_MIXEDMAP (set by the insert at mmap), so vm_insert_pages_prot changes no VMA flag; the address
    // is the page-aligned faulting address inside it; the page's lifetime is the caller's promise.
    let r = unsafe {
        bindings::vm_insert_pages_prot(vma.as_ptr(), vmf.address(), one.as_mut_ptr(), 1, prot)
    };
    match r {
        0 => fault::NOPAGE,
        r if r == EBUSY.to_errno() => fault::NOPAGE,
        r if r == ENOMEM.to_errno() => fault::OOM,
        _ => fault::SIGBUS,
    }
}
