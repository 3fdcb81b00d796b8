//! Behaviours of the pages under a mapping: their page-type memdesc, their reference counts, the VMA's
//! flags and what the kernel reports about them.

use super::probe;
use super::source::{perf_mapping, Source, PAGE};
use super::{ensure, errname, fail, na, ok, tryv, Notes, PerfMapping, Strategy, Target, Verdict};
use premap::abi::memdesc::{BufferLayout, KPF_USER_RING};

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
    ok("every page's page_type word is its memdesc (PGTY_user_ring, control writable, data read-only)")
}

/// Every page's reference count is the driver's one before mmap, while mapped and touched, and after
/// munmap: neither strategy's PTEs take a reference. perf's typed rings: user space cannot read a
/// refcount, so the check is what the kernel reports with two mappings touched (no mapcount, the type
/// kept), which `vm_insert_pages_prot()` only gives pages it took no reference on.
pub(super) fn refcounts(s: &Target, _: &mut Notes) -> Verdict {
    if s.is_perf() {
        return perf_refcounts(s);
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

fn perf_refcounts(s: &Target) -> Verdict {
    if let Some(v) = unless_perf_typed() {
        return v;
    }
    let (src, a) = tryv!(Source::open_mapped(s, 4));
    let b = tryv!(src.map(5, true).map_err(errname));
    let mut sum = 0u64;
    for off in (0..5 * PAGE).step_by(PAGE) {
        sum += u64::from(a.read(off)) + u64::from(b.read(off));
    }
    std::hint::black_box(sum);
    let pfns = match typed_pages_reported(a.ptr as usize, 5) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let again = match typed_pages_reported(b.ptr as usize, 5) {
        Ok(p) => p,
        Err(v) => return v,
    };
    ensure!(
        pfns == again,
        "the two mappings show different pages ({pfns:x?} and {again:x?})"
    );
    ok(format!(
        "with two mappings touched every page is still {KPF_NAME} with kpagecount 0: the entries took neither a mapcount nor (vm_insert_pages_prot() takes none) a reference (pfns {:#x}..)",
        pfns[0]
    ))
}

/// `None` when this kernel maps its perf rings as typed pages; otherwise the verdict of a behaviour
/// that needs them (N/A, or a failure to find out).
fn unless_perf_typed() -> Option<Verdict> {
    match perf_mapping() {
        Ok(PerfMapping::Typed) => None,
        Ok(m) => Some(na(format!(
            "perf's rings on this kernel are not typed pages ({m:?})"
        ))),
        Err(e) => Some(fail(e)),
    }
}

/// The kpageflags name of the ring page type.
const KPF_NAME: &str = "KPF_USER_RING";

/// The VMA carries the strategy's flags: VM_IO | VM_PFNMAP for the PFN map; VM_MIXEDMAP and neither
/// VM_IO nor VM_PFNMAP for the typed insert (so GUP is refused by the page type, not by the VMA); both
/// VM_DONTEXPAND | VM_DONTDUMP, never exec. perf's rings show whichever way the kernel maps them.
pub(super) fn vma_flags(s: &Target, _: &mut Notes) -> Verdict {
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
    let typed = match s.strategy() {
        Some(Strategy::PfnMap) => false,
        Some(Strategy::Typed) => true,
        None => match tryv!(perf_mapping()) {
            PerfMapping::Typed => true,
            PerfMapping::PfnMap => false,
            PerfMapping::Faulted => {
                ensure!(
                    !has("io") && !has("pf") && !has("mm"),
                    "VmFlags {list}: a faulted-in perf ring is neither VM_IO, VM_PFNMAP nor VM_MIXEDMAP"
                );
                return ok(format!(
                    "VmFlags {list}: perf faults its pages in (before 6.14): neither VM_PFNMAP nor VM_MIXEDMAP"
                ));
            }
        },
    };
    if typed {
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
    } else {
        ensure!(
            has("io") && has("pf"),
            "VmFlags {list}: a PFN map must be VM_IO | VM_PFNMAP"
        );
        ok(format!(
            "VmFlags {list}: VM_IO | VM_PFNMAP (GUP is refused by check_vma_flags)"
        ))
    }
}

/// Where the kernel reports page types (/proc/kpageflags), every ring page is `KPF_USER_RING`, not
/// `KPF_MMAP` and with no mapcount in /proc/kpagecount, although it is mapped (needs CAP_SYS_ADMIN for
/// the PFNs).
pub(super) fn kpageflags(s: &Target, _: &mut Notes) -> Verdict {
    if s.strategy() == Some(Strategy::PfnMap) {
        // walk_page_test() treats a VM_PFNMAP VMA as a hole, so pagemap gives no PFN to look up; the
        // pages carry the same type (behaviour M shows it through the driver).
        return na("/proc/self/pagemap reports a VM_PFNMAP VMA as a hole: no PFN to look up");
    }
    if s.is_perf() {
        if let Some(v) = unless_perf_typed() {
            return v;
        }
    }
    let (_src, m) = tryv!(Source::open_mapped(s, 4));
    match typed_pages_reported(m.ptr as usize, 5) {
        Ok(pfns) => ok(format!(
            "every mapped page is {KPF_NAME}, neither MMAP nor ANON, kpagecount 0 (pfns {:#x}..)",
            pfns[0]
        )),
        Err(v) => v,
    }
}

/// The PFNs of the `pages` pages mapped at `addr`, each checked to be reported as a typed ring page:
/// `KPF_USER_RING`, neither MMAP nor ANON, kpagecount 0. The `Err` is the verdict (N/A where the
/// kernel hides PFNs).
fn typed_pages_reported(addr: usize, pages: usize) -> Result<Vec<u64>, Verdict> {
    let mut pfns = Vec::new();
    for i in 0..pages {
        match probe::pfn_of(addr + i * PAGE) {
            Ok(Some(pfn)) => pfns.push(pfn),
            Ok(None) => return Err(na("/proc/self/pagemap hides PFNs (not CAP_SYS_ADMIN)")),
            Err(e) => return Err(na(format!("/proc/self/pagemap: {}", errname(e)))),
        }
    }
    for (i, &pfn) in pfns.iter().enumerate() {
        let flags = match probe::kpageflags(pfn) {
            Ok(f) => f,
            Err(e) => return Err(na(format!("/proc/kpageflags: {}", errname(e)))),
        };
        if flags >> KPF_USER_RING & 1 != 1 {
            return Err(fail(format!(
                "page {i} (pfn {pfn:#x}): kpageflags {flags:#x} lack {KPF_NAME} (bit {KPF_USER_RING})"
            )));
        }
        const KPF_MMAP: u32 = 11;
        const KPF_ANON: u32 = 12;
        if flags >> KPF_MMAP & 1 != 0 || flags >> KPF_ANON & 1 != 0 {
            return Err(fail(format!(
                "page {i} (pfn {pfn:#x}): kpageflags {flags:#x} say MMAP or ANON: the mm counts the mapping"
            )));
        }
        let count = probe::kpagecount(pfn).map_err(|e| fail(errname(e)))?;
        if count != 0 {
            return Err(fail(format!(
                "page {i} (pfn {pfn:#x}): kpagecount {count}, want 0 (no mapcount)"
            )));
        }
    }
    Ok(pfns)
}
