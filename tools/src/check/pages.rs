//! Behaviours of the pages under a mapping: their page-type memdesc, their reference counts, the VMA's
//! flags and what the kernel reports about them.

use super::probe;
use super::source::{Source, PAGE};
use super::{ensure, errname, fail, na, ok, tryv, Notes, Strategy, Target, Verdict};
use premap::abi::memdesc::{BufferLayout, KPF_DRIVER_RING};

pub(super) fn memdesc(s: &Target, _: &mut Notes) -> Verdict {
    if s.is_perf() {
        return na("perf's pages carry no premap memdesc");
    }
    let src = tryv!(Source::open(s, 8, false));
    let layout = BufferLayout {
        data_pages: 8,
        aux_pages: 0,
        overwrite: false,
    };
    for pgoff in 0..layout.total_pages() {
        let info = tryv!(src.page_info(pgoff as u32));
        let want = layout.page_desc(pgoff).and_then(|d| d.encode());
        ensure!(
            Some(info.page_type) == want,
            "page {pgoff}: page_type {:#x}, memdesc says {want:x?}",
            info.page_type
        );
    }
    ok("every page's page_type word is its memdesc (PGTY_driver_ring, control writable, data read-only)")
}

/// Every page's reference count is the driver's one before mmap, while mapped and touched, and after
/// munmap: neither strategy's PTEs take a reference.
pub(super) fn refcounts(s: &Target, _: &mut Notes) -> Verdict {
    if s.is_perf() {
        return na("perf does not report its pages' reference counts");
    }
    let src = tryv!(Source::open(s, 8, false));
    tryv!(src.refcounts_one(9, "before mmap"));
    let a = tryv!(src.map(9, true).map_err(errname));
    let b = tryv!(src.map(9, true).map_err(errname));
    let mut sum = 0u64;
    for off in (0..9 * PAGE).step_by(PAGE) {
        sum += u64::from(a.read(off)) + u64::from(b.read(off));
    }
    std::hint::black_box(sum);
    tryv!(src.refcounts_one(9, "with two mappings, every page touched"));
    drop(a);
    drop(b);
    tryv!(src.refcounts_one(9, "after munmap"));
    ok("refcount 1 (the driver's) for every page before mmap, with two mappings touched, after munmap")
}

/// The VMA carries the strategy's flags: VM_IO | VM_PFNMAP for the PFN map; VM_MIXEDMAP and neither
/// VM_IO nor VM_PFNMAP for the typed insert (so GUP is refused by the page type, not by the VMA); both
/// VM_DONTEXPAND | VM_DONTDUMP, never exec.
pub(super) fn vma_flags(s: &Target, _: &mut Notes) -> Verdict {
    let Some(strategy) = s.strategy() else {
        return na("perf's VMA flags are the kernel's business (VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP since 6.14)");
    };
    let (_src, m) = tryv!(Source::open_mapped(s, 4));
    let Some(flags) = probe::vm_flags(m.ptr as usize) else {
        return fail("the mapping is not in /proc/self/smaps");
    };
    let has = |f: &str| flags.iter().any(|x| x == f);
    let list = flags.join(" ");
    ensure!(
        has("de") && has("dd"),
        "VmFlags {list}: not VM_DONTEXPAND | VM_DONTDUMP"
    );
    ensure!(
        !has("ex") && !has("me"),
        "VmFlags {list}: executable or may become so"
    );
    match strategy {
        Strategy::PfnMap => {
            ensure!(
                has("io") && has("pf"),
                "VmFlags {list}: a PFN map must be VM_IO | VM_PFNMAP"
            );
            ok(format!(
                "VmFlags {list}: VM_IO | VM_PFNMAP (GUP is refused by check_vma_flags)"
            ))
        }
        Strategy::Typed => {
            ensure!(
                has("mm"),
                "VmFlags {list}: the typed insert must be VM_MIXEDMAP"
            );
            ensure!(
                !has("io") && !has("pf"),
                "VmFlags {list}: the typed insert must be neither VM_IO nor VM_PFNMAP"
            );
            ok(format!(
                "VmFlags {list}: VM_MIXEDMAP without VM_IO/VM_PFNMAP (GUP is refused by the page type)"
            ))
        }
    }
}

/// Where the kernel reports page types (/proc/kpageflags), every ring page is `KPF_DRIVER_RING`, not
/// `KPF_MMAP` and with no mapcount in /proc/kpagecount, although it is mapped (needs CAP_SYS_ADMIN for
/// the PFNs).
pub(super) fn kpageflags(s: &Target, _: &mut Notes) -> Verdict {
    if s.is_perf() {
        return na("perf's ring pages have no page type");
    }
    if s.strategy() == Some(Strategy::PfnMap) {
        // walk_page_test() treats a VM_PFNMAP VMA as a hole, so pagemap gives no PFN to look up; the
        // pages carry the same type (behaviour M shows it through the driver).
        return na("/proc/self/pagemap reports a VM_PFNMAP VMA as a hole: no PFN to look up");
    }
    let (_src, m) = tryv!(Source::open_mapped(s, 4));
    let mut pfns = Vec::new();
    for i in 0..5 {
        match probe::pfn_of(m.ptr as usize + i * PAGE) {
            Ok(Some(pfn)) => pfns.push(pfn),
            Ok(None) => return na("/proc/self/pagemap hides PFNs (not CAP_SYS_ADMIN)"),
            Err(e) => return na(format!("/proc/self/pagemap: {}", errname(e))),
        }
    }
    for (i, &pfn) in pfns.iter().enumerate() {
        let flags = match probe::kpageflags(pfn) {
            Ok(f) => f,
            Err(e) => return na(format!("/proc/kpageflags: {}", errname(e))),
        };
        ensure!(
            flags >> KPF_DRIVER_RING & 1 == 1,
            "page {i} (pfn {pfn:#x}): kpageflags {flags:#x} lack KPF_DRIVER_RING (bit {KPF_DRIVER_RING})"
        );
        const KPF_MMAP: u32 = 11;
        const KPF_ANON: u32 = 12;
        ensure!(
            flags >> KPF_MMAP & 1 == 0 && flags >> KPF_ANON & 1 == 0,
            "page {i} (pfn {pfn:#x}): kpageflags {flags:#x} say MMAP or ANON: the mm counts the mapping"
        );
        let count = tryv!(probe::kpagecount(pfn).map_err(errname));
        ensure!(
            count == 0,
            "page {i} (pfn {pfn:#x}): kpagecount {count}, want 0 (no mapcount)"
        );
    }
    ok(format!(
        "every mapped page is KPF_DRIVER_RING, neither MMAP nor ANON, kpagecount 0 (pfns {:#x}..)",
        pfns[0]
    ))
}
