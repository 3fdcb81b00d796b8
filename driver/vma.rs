// SPDX-License-Identifier: GPL-2.0

//! The VMAs of mapped buffers, one `VmOperations` for both strategies. The kernel gives every VMA
//! (the one mmap sets up and each copy mremap, or fork of a typed mapping, makes) its own reference
//! to the buffer, so the pages live until the last mapping goes; `open`/`close` count the mappings,
//! `may_split` refuses partial unmaps, `pfn_mkwrite` lets writes through only on the control page,
//! and the typed strategy's `fault` maps a zapped page again.

use crate::buffer::Buffer;
use crate::glue;
use core::sync::atomic::Ordering;
use kernel::mm::virt::{fault, vm_flags_t, PgProt, VmFault, VmFaultResult, VmOperations, VmaRef};
use kernel::prelude::*;
use kernel::sync::ArcBorrow;

/// The VMAs of a buffer, either strategy: the PFN map (VM_IO | VM_PFNMAP) or the typed insert
/// (VM_MIXEDMAP, `PGTY_user_ring` pages).
pub(crate) struct RingVma;

#[vtable]
impl VmOperations for RingVma {
    type Data = Buffer;

    fn open(buf: ArcBorrow<'_, Buffer>, _vma: &VmaRef) {
        buf.mappings.fetch_add(1, Ordering::Relaxed);
    }

    fn close(buf: ArcBorrow<'_, Buffer>, _vma: &VmaRef) {
        buf.mappings.fetch_sub(1, Ordering::Relaxed);
    }

    /// One VMA for the buffer's whole life: partial munmap/mprotect/mremap fail.
    fn may_split(_buf: ArcBorrow<'_, Buffer>, _vma: &VmaRef, _addr: usize) -> Result {
        Err(EINVAL)
    }

    /// Only the control page (consume mode; overwrite mappings cannot be writable) may be written.
    fn pfn_mkwrite(_buf: ArcBorrow<'_, Buffer>, vmf: &VmFault) -> VmFaultResult {
        if vmf.pgoff() == 0 {
            0
        } else {
            fault::SIGBUS
        }
    }

    /// Typed strategy: maps the faulting page again after something (MADV_DONTNEED, say) zapped its
    /// PTE, so that a mapped ring never loses a page, with the protection mmap gave it (the control
    /// page of a writable mapping writable, every other page read-only). A PFN map never loses its
    /// PTEs (VM_IO refuses MADV_DONTNEED); a fault there is SIGBUS, as without this callback.
    fn fault(buf: ArcBorrow<'_, Buffer>, vmf: &VmFault) -> VmFaultResult {
        let pgoff = vmf.pgoff();
        let (Some(page), Some(vma)) = (buf.page_ptrs.get(pgoff), vmf.vma().as_mixedmap_vma())
        else {
            return fault::SIGBUS;
        };
        let prot = if pgoff == 0 && !buf.layout.overwrite {
            PgProt::for_vm_flags(vma.flags())
        } else {
            readonly_prot(vma.flags())
        };
        let one = glue::PagePtr::slice(core::slice::from_ref(page));
        // SAFETY: the page belongs to `buf`, which this VMA and every copy of it keep alive (each holds
        // a reference to it).
        match unsafe { vma.insert_user_ring_pages(vmf.address(), one, prot) } {
            Ok(()) => fault::NOPAGE,
            // EBUSY: the page is mapped there already (a concurrent fault mapped it first).
            Err(e) if e.to_errno() == EBUSY.to_errno() => fault::NOPAGE,
            Err(e) if e.to_errno() == ENOMEM.to_errno() => fault::OOM,
            // EEXIST (an entry that is not a page, a marker) and the rest: retrying would fault
            // again on the same entry forever.
            Err(_) => fault::SIGBUS,
        }
    }
}

/// The protection of a PTE user space may not write, in a VMA with `flags` (perf's
/// `vm_get_page_prot(flags & ~VM_SHARED)`): a write to it faults into `pfn_mkwrite`.
pub(crate) fn readonly_prot(flags: vm_flags_t) -> PgProt {
    PgProt::for_vm_flags(flags & !kernel::mm::virt::flags::SHARED)
}
