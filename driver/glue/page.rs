// SPDX-License-Identifier: GPL-2.0

//! Driver-owned pages: allocation with accounting, the page type, and the count of live pages.

use super::ffi::{c_ulong, PAGE_SIZE, PGTY_USER_RING};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{code::ENOMEM, Result};

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

    /// Makes the page a `PGTY_user_ring` page (`__SetPageUserRing`) whose owner bits are those of
    /// `word` (premap's memdesc: type byte [`PGTY_USER_RING`] and the owner bits). A word with another
    /// type byte is ignored. `&mut self`: only the owner types the page, before it is shared or mapped.
    pub(crate) fn set_type(&mut self, word: u32) {
        if word >> 24 != PGTY_USER_RING {
            return;
        }
        let page = self.page.as_ptr();
        // SAFETY: we own the page exclusively (type invariant, `&mut self`), it is untyped or already a
        // user-ring page, and it is not mapped yet: nothing else reads its `_mapcount`/`page_type`.
        unsafe { bindings::__SetPageUserRing(page) };
        // SAFETY: as above; the kernel leaves the low 24 bits of a typed page to its owner, and the type
        // byte written is the one __SetPageUserRing just set.
        unsafe { (*page).__bindgen_anon_2.page_type = word };
    }

    /// Reads the page's `page_type` word.
    pub(crate) fn page_type(&self) -> u32 {
        // SAFETY: the page is valid (type invariant); a u32 read of the union is always initialised.
        unsafe { (*self.page.as_ptr()).__bindgen_anon_2.page_type }
    }

    /// Whether the page is a `PGTY_user_ring` page (`PageUserRing`).
    pub(crate) fn is_user_ring(&self) -> bool {
        // SAFETY: the page is valid (type invariant); the test reads the type byte only.
        unsafe { bindings::PageUserRing(self.page.as_ptr()) != 0 }
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

    /// The pointers as the `struct page *` array the mm takes.
    pub(crate) fn slice(ptrs: &[PagePtr]) -> &[NonNull<bindings::page>] {
        // SAFETY: `PagePtr` is `repr(transparent)` over `NonNull<page>`; the length and lifetime are the
        // input's.
        unsafe {
            core::slice::from_raw_parts(ptrs.as_ptr().cast::<NonNull<bindings::page>>(), ptrs.len())
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
        if self.is_user_ring() {
            // SAFETY: we own the page and it is a user-ring page (checked); no mapping refers to it
            // any more, so nothing reads its type concurrently.
            unsafe { bindings::__ClearPageUserRing(self.page.as_ptr()) };
        }
        // SAFETY: we own the page (type invariant) and no mapping refers to it any more: mappings hold a
        // reference to the buffer that owns this page.
        unsafe { bindings::__free_pages(self.page.as_ptr(), 0) };
        LIVE_PAGES.fetch_sub(1, core::sync::atomic::Ordering::Relaxed);
    }
}
