// SPDX-License-Identifier: GPL-2.0

//! The VMAs of mapped buffers: `vm_operations_struct` for both strategies (open/close keep the buffer
//! alive, `may_split` refuses partial unmaps, `pfn_mkwrite` lets writes through only on the control
//! page, `fault` re-inserts a zapped typed page).

use super::*;

/// The PFN-map strategy's VMAs.
pub(crate) static VM_OPS: VmOps = VmOps(bindings::vm_operations_struct {
    open: Some(vma_open),
    close: Some(vma_close),
    may_split: Some(vma_may_split),
    pfn_mkwrite: Some(vma_pfn_mkwrite),
    // SAFETY: all-zero is a valid vm_operations_struct (every other callback absent).
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
});

/// The typed strategy's VMAs: the same callbacks plus `fault`, which maps a page again after something
/// (MADV_DONTNEED, say) zapped its PTE, so that a mapped ring never loses a page.
pub(crate) static VM_OPS_TYPED: VmOps = VmOps(bindings::vm_operations_struct {
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
pub(crate) unsafe extern "C" fn vma_fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
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
pub(crate) unsafe extern "C" fn vma_open(vma: *mut bindings::vm_area_struct) {
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
pub(crate) unsafe extern "C" fn vma_close(vma: *mut bindings::vm_area_struct) {
    // SAFETY: as in vma_open; this VMA's reference is given back.
    let arc = unsafe { Arc::from_raw(glue::vma_private(vma).cast::<Buffer>()) };
    arc.mappings.fetch_sub(1, Ordering::Relaxed);
    drop(arc);
}

/// # Safety
///
/// Called by the mm only (through [`VM_OPS`]); the arguments are not used.
pub(crate) unsafe extern "C" fn vma_may_split(
    _vma: *mut bindings::vm_area_struct,
    _addr: c_ulong,
) -> c_int {
    // One VMA for the buffer's whole life: partial munmap/mprotect/mremap fail.
    EINVAL.to_errno()
}

/// # Safety
///
/// Called by the mm only (through [`VM_OPS`]) with a valid `vm_fault` for one of our VMAs.
pub(crate) unsafe extern "C" fn vma_pfn_mkwrite(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: the mm passes a valid vm_fault for one of our VMAs.
    let pgoff = unsafe { glue::fault_pgoff(vmf) };
    // Only the control page (consume mode; overwrite mappings cannot be writable) may be written.
    if pgoff == 0 {
        0
    } else {
        glue::VM_FAULT_SIGBUS
    }
}
