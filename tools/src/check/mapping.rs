//! Behaviours of the mapping itself: sizes, offsets, sharing, faults, protection, one VMA, fork and
//! madvise, GUP, lifetime, failure part-way.

use super::probe::{self, Map};
use super::source::{Source, DATA_HEAD, DATA_TAIL, PAGE};
use super::{ensure, errname, fail, na, ok, tryv, Notes, Target, Verdict};
use nix::errno::Errno;
use premap_driver_fuzz::fault::FailNth;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

pub(super) fn sizes(s: &Target, _: &mut Notes) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    for pages in [4usize, 6, 10] {
        match src.map(pages, true) {
            Ok(_) => return fail(format!("a {pages}-page mmap (not 1+2^n) was accepted")),
            Err(e) => ensure!(
                e == Errno::EINVAL,
                "{pages}-page mmap failed with {} instead of EINVAL",
                errname(e)
            ),
        }
    }
    let whole = tryv!(src.map(5, true).map_err(errname));
    match src.map(1, true) {
        Ok(_) => return fail("a 1-page mmap of a 4-page buffer was accepted"),
        Err(e) => ensure!(
            e == Errno::EINVAL,
            "a 1-page mmap of a 4-page buffer failed with {} instead of EINVAL",
            errname(e)
        ),
    }
    drop(whole);
    let fresh = tryv!(Source::open(s, 0, false));
    let m = match fresh.map(1, true) {
        Ok(m) => m,
        Err(e) => {
            return fail(format!(
                "a 1-page (control only) mmap failed: {}",
                errname(e)
            ))
        }
    };
    let _ = m.read(0);
    ok("4, 6 and 10 pages, and 1 page of a 4-page ring, refused with EINVAL; a control-page-only mapping works")
}

pub(super) fn private_and_offset(s: &Target, _: &mut Notes) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    ensure!(
        probe::map(src.fd(), 5 * PAGE, rw, libc::MAP_PRIVATE, 0).is_err(),
        "MAP_PRIVATE mmap accepted"
    );
    ensure!(
        probe::map(src.fd(), 5 * PAGE, rw, libc::MAP_SHARED, PAGE as i64).is_err(),
        "mmap at offset 1 page accepted"
    );
    ok("MAP_PRIVATE and a wrong offset are refused")
}

pub(super) fn second_mapping(s: &Target, _: &mut Notes) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let a = tryv!(src.map(5, true).map_err(errname));
    let b = tryv!(src.map(5, true).map_err(errname));
    a.write_u64(DATA_TAIL, 0);
    src.produce(8, 0);
    let head_a = a.read_u64(DATA_HEAD);
    ensure!(head_a > 0, "nothing was produced");
    ensure!(
        b.read_u64(DATA_HEAD) == head_a,
        "the second mapping sees another data_head"
    );
    ensure!(
        a.read(PAGE) == b.read(PAGE),
        "data pages differ between mappings"
    );
    ensure!(
        src.map(9, true).is_err(),
        "a second mapping of a different size was accepted"
    );
    ok("two mappings share every page; another size is refused")
}

pub(super) fn no_faults(s: &Target, notes: &mut Notes) -> Verdict {
    let src = tryv!(Source::open(s, 16, false));
    // Warm up the code and stack the count uses (the touch loop runs once over memory already present:
    // its own text page may not be yet), then count faults over the first touch of every page of a
    // fresh mapping. ru_minflt counts the whole process, so a stray fault elsewhere (a code page of
    // this program, seen once on 6.12) can add one: the least of three fresh mappings is the ring's.
    // A ring that faults pages in shows 17 every time.
    let warm = vec![1u8; 17 * PAGE];
    // SAFETY: `warm` holds 17 pages.
    std::hint::black_box(unsafe { probe::touch_pages(warm.as_ptr(), 17) });
    let mut faults = i64::MAX;
    for _ in 0..3 {
        let m = tryv!(src.map(17, true).map_err(errname));
        let _ = probe::minflt();
        let before = probe::minflt();
        // SAFETY: `m` is a live readable mapping of 17 pages.
        let sum = unsafe { probe::touch_pages(m.ptr, 17) };
        faults = faults.min(probe::minflt() - before);
        std::hint::black_box(sum);
        drop(m);
    }
    notes.first_touch_faults = Some(faults);
    if faults == 0 {
        ok("0 page faults on the first touch of 17 pages")
    } else {
        fail(format!("{faults} page faults on the first touch of 17 pages (pages are faulted in, not mapped in advance)"))
    }
}

pub(super) fn write_protection(s: &Target, _: &mut Notes) -> Verdict {
    let (src, m) = tryv!(Source::open_mapped(s, 4));
    m.write_u64(DATA_TAIL, 0);
    let fd = src.fd().as_raw_fd();
    // The child maps the ring itself (VM_DONTCOPY: fork does not hand it the parent's mapping).
    let st = probe::in_child(|| {
        // SAFETY: `fd` is still open in the child.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        if let Ok(c) = probe::map(
            fd,
            5 * PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            0,
        ) {
            c.write_u64(PAGE + 8, 0xdead);
            c.forget();
        }
    });
    ensure!(
        probe::killed_by(st, libc::SIGBUS),
        "a write to a data page did not raise SIGBUS (wait status {st:#x})"
    );
    ok("data_tail is writable; a write to a data page raises SIGBUS")
}

pub(super) fn read_only_is_overwrite(s: &Target, _: &mut Notes) -> Verdict {
    let src = tryv!(Source::open(s, 1, true));
    let m = tryv!(src.map(2, false).map_err(errname));
    if !src.perf {
        ensure!(
            src.map(2, true).is_err(),
            "a writable mapping of an overwrite buffer was accepted"
        );
        ensure!(
            m.mprotect(0, 2 * PAGE, libc::PROT_READ | libc::PROT_WRITE)
                .is_err(),
            "mprotect(PROT_WRITE) of an overwrite mapping worked"
        );
    }
    src.produce(400, 0);
    let head = m.read_u64(DATA_HEAD);
    let moved = head.wrapping_neg().min(head);
    ensure!(
        moved > PAGE as u64,
        "the producer stopped at a full ring (head moved {moved} bytes): not overwrite mode"
    );
    ok(format!(
        "a PROT_READ mapping is overwritten (head moved {moved} bytes through a {PAGE}-byte ring)"
    ))
}

pub(super) fn one_vma(s: &Target, _: &mut Notes) -> Verdict {
    let (src, m) = tryv!(Source::open_mapped(s, 4));
    ensure!(
        m.munmap_part(PAGE, PAGE).is_err(),
        "a partial munmap succeeded"
    );
    ensure!(
        m.mprotect(PAGE, PAGE, libc::PROT_READ).is_err(),
        "a partial mprotect succeeded"
    );
    ensure!(
        m.map_fixed_over(2 * PAGE, PAGE).is_err(),
        "MAP_FIXED over part of the ring succeeded"
    );
    let mut m = m;
    ensure!(
        m.mremap(PAGE, 2 * PAGE).is_err(),
        "a partial mremap succeeded"
    );
    ensure!(
        m.mremap(5 * PAGE, 9 * PAGE).is_err(),
        "mremap expanded the mapping"
    );
    let head_before = m.read_u64(DATA_HEAD);
    match m.mremap(5 * PAGE, 5 * PAGE) {
        Ok(()) => {}
        Err(e) => {
            return fail(format!(
                "mremap of the whole mapping failed: {}",
                errname(e)
            ))
        }
    }
    ensure!(
        m.read_u64(DATA_HEAD) == head_before,
        "the moved mapping shows another control page"
    );
    ensure!(
        m.munmap_part(0, 5 * PAGE).is_ok(),
        "munmap of the whole (moved) mapping failed"
    );
    m.forget();
    if let Some(st) = src.stats() {
        ensure!(
            st.mappings == 0,
            "{} mappings still counted after mremap+munmap",
            st.mappings
        );
    }
    ok("partial munmap/mprotect/MAP_FIXED/mremap and expansion refused; whole move and munmap work")
}

pub(super) fn fork_and_madvise(s: &Target, _: &mut Notes) -> Verdict {
    let (src, m) = tryv!(Source::open_mapped(s, 4));
    let addr = m.ptr as usize;
    let st = probe::in_child(|| {
        // SAFETY: reading the parent's ring address in the child: VM_DONTCOPY means nothing is mapped
        // there, so this must fault (SIGSEGV).
        unsafe { std::ptr::read_volatile(addr as *const u8) };
    });
    ensure!(
        probe::killed_by(st, libc::SIGSEGV),
        "the forked child could read the ring (not VM_DONTCOPY)"
    );
    if m.madvise(libc::MADV_NORMAL) == Err(Errno::ENOSYS) {
        return na("madvise(2) is not built into this kernel (CONFIG_ADVISE_SYSCALLS)");
    }
    if s.typed() {
        return madvise_harmless(&src, m);
    }
    let mut refused = Vec::new();
    for (name, adv) in ADVICES {
        ensure!(m.madvise(adv).is_err(), "{name} succeeded");
        refused.push(name);
    }
    ok(format!(
        "not inherited by fork; {} refused",
        refused.join(", ")
    ))
}

/// The advices behaviour 8 tries on a whole ring mapping.
const ADVICES: [(&str, i32); 8] = [
    ("MADV_DOFORK", libc::MADV_DOFORK),
    ("MADV_DONTNEED", libc::MADV_DONTNEED),
    ("MADV_FREE", libc::MADV_FREE),
    ("MADV_PAGEOUT", 21),
    ("MADV_COLD", 20),
    ("MADV_WIPEONFORK", libc::MADV_WIPEONFORK),
    ("MADV_POPULATE_READ", 22),
    ("MADV_POPULATE_WRITE", 23),
];

/// The typed strategy: the VMA is VM_MIXEDMAP, not VM_IO | VM_PFNMAP, so the mm accepts more advice
/// than for a PFN map. Each one must be refused or harmless: afterwards the mapping shows the same
/// bytes, the control page is still writable, every page still has only the driver's reference, and
/// a fork after MADV_DOFORK shares the ring and gives its reference back.
fn madvise_harmless(src: &Source, m: Map) -> Verdict {
    src.produce(8, 0);
    let snapshot = |m: &Map| {
        (0..m.len)
            .step_by(8)
            .map(|o| m.read_u64(o))
            .collect::<Vec<u64>>()
    };
    let before = snapshot(&m);
    let (mut refused, mut accepted) = (Vec::new(), Vec::new());
    for (name, adv) in ADVICES {
        match m.madvise(adv) {
            Err(e) => refused.push(format!("{name} ({})", errname(e))),
            Ok(()) => accepted.push(name),
        }
        ensure!(
            snapshot(&m) == before,
            "after {name} the ring shows other bytes (a page was lost or replaced)"
        );
        m.write_u64(DATA_TAIL, 0);
        if !src.is_perf() {
            tryv!(src.refcounts_one(5, &format!("after {name}")));
        }
    }
    // MADV_DOFORK is accepted for a VM_MIXEDMAP VMA: the child then shares the ring, counted as a
    // mapping by vm_ops->open and given back at its exit.
    let mut fork_note = "MADV_DOFORK refused";
    if accepted.contains(&"MADV_DOFORK") {
        let addr = m.ptr as usize;
        let head = m.read_u64(DATA_HEAD);
        let st = probe::in_child(|| {
            // SAFETY: after MADV_DOFORK the child inherits the mapping at the same address.
            let h = unsafe { std::ptr::read_volatile((addr + DATA_HEAD) as *const u64) };
            // SAFETY: _exit in the child.
            unsafe { libc::_exit(i32::from(h != head)) };
        });
        ensure!(
            st == 0,
            "a child forked after MADV_DOFORK did not see the ring (wait status {st:#x})"
        );
        if let Some(stats) = src.stats() {
            ensure!(
                stats.mappings == 1,
                "{} mappings counted after the child exited (want 1)",
                stats.mappings
            );
        }
        fork_note = "after MADV_DOFORK a child shares the ring and gives its mapping back";
    }
    ok(format!(
        "not inherited by fork by default; refused: {}; accepted and harmless (same bytes, control page writable, refcounts 1): {}; {fork_note}",
        refused.join(", "),
        accepted.join(", ")
    ))
}

pub(super) fn gup(s: &Target, _: &mut Notes) -> Verdict {
    let (src, m) = tryv!(Source::open_mapped(s, 4));
    src.produce(8, 0);
    let data = m.ptr.wrapping_add(PAGE);
    // Which errno GUP gives: check_vma_flags() refuses a VM_IO | VM_PFNMAP VMA with EFAULT; for typed
    // pages the VMA is acceptable and the refusal comes from vm_normal_page() and follow_page_pte(),
    // which say EFAULT too (the series' "mm/gup: fail to pin a user ring page with -EFAULT"): user
    // space sees the same errno for both strategies.
    let refused = |e: Errno| e == Errno::EFAULT;
    let vms = match probe::vmsplice_from(data, PAGE) {
        Ok(n) => return fail(format!("vmsplice pinned {n} bytes of the ring")),
        Err(e) => {
            ensure!(
                refused(e),
                "vmsplice failed with {}, not a GUP refusal",
                errname(e)
            );
            format!("vmsplice gets {}", errname(e))
        }
    };
    let pvr = match probe::process_vm_read(data, PAGE) {
        Ok(n) => {
            return fail(format!(
                "process_vm_readv read {n} bytes of the ring through GUP"
            ))
        }
        Err(Errno::ENOSYS) => "process_vm_readv is not built into this kernel".to_string(),
        Err(e) if refused(e) => format!("process_vm_readv gets {}", errname(e)),
        Err(e) => {
            return fail(format!(
                "process_vm_readv failed with {}, not a GUP refusal",
                errname(e)
            ))
        }
    };
    if !s.is_perf() {
        tryv!(src.refcounts_one(5, "after GUP was tried"));
    }
    // write() from the mapping is a uaccess copy: it must work, to a pipe and to a file.
    let mut p = [0i32; 2];
    // SAFETY: `p` holds two descriptors.
    ensure!(unsafe { libc::pipe(p.as_mut_ptr()) } == 0, "pipe failed");
    // SAFETY: the pipe's descriptors are ours.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    ensure!(
        probe::write_from(w.as_fd(), data, PAGE) == Ok(PAGE),
        "write() from the ring to a pipe failed"
    );
    drop(r);
    let path = std::env::temp_dir().join(format!("premap-check-{}", std::process::id()));
    let f = tryv!(std::fs::File::create(&path));
    let wrote = probe::write_from(f.as_fd(), data, PAGE);
    let _ = std::fs::remove_file(&path);
    ensure!(
        wrote == Ok(PAGE),
        "write() from the ring to a file failed: {wrote:?}"
    );
    ok(format!(
        "{vms}; {pvr}; write() from the ring to a pipe and a file works"
    ))
}

pub(super) fn close_while_mapped(s: &Target, _: &mut Notes) -> Verdict {
    let (src, m) = tryv!(Source::open_mapped(s, 4));
    src.produce(8, 0);
    let head = m.read_u64(DATA_HEAD);
    drop(src);
    // The pages must still be there: read every byte.
    let mut sum = 0u64;
    for off in (0..5 * PAGE).step_by(64) {
        sum = sum.wrapping_add(u64::from(m.read(off)));
    }
    std::hint::black_box(sum);
    ensure!(
        m.read_u64(DATA_HEAD) == head,
        "the control page changed after close"
    );
    drop(m);
    ok("after close(fd) every page stays readable until munmap")
}

pub(super) fn partial_failure(s: &Target, _: &mut Notes) -> Verdict {
    let fault = match FailNth::open() {
        Ok(f) => f,
        Err(e) => {
            return na(format!(
                "needs the kernel's fault injection (CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAILSLAB, debugfs): {e}"
            ))
        }
    };
    // 2049 pages span several page tables, so allocations happen all along the mapping loop.
    const DATA: u32 = 2048;
    let src = tryv!(Source::open(s, DATA, false));
    let (mut fired, mut failed, mut points) = (0u32, 0u32, Vec::new());
    for n in 1..=400u32 {
        tryv!(fault.arm(n));
        let r = src.map(DATA as usize + 1, true);
        let hit = fault.disarm();
        match r {
            Ok(m) if !hit => {
                drop(m);
                break; // the mmap makes fewer than n allocations: every point was tried
            }
            Ok(m) => drop(m), // an allocation whose failure the kernel tolerates
            Err(e) => {
                ensure!(
                    e == Errno::ENOMEM,
                    "mmap with allocation {n} failed failed with {} instead of ENOMEM",
                    errname(e)
                );
                failed += 1;
                points.push(n);
                let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
                ensure!(
                    !maps
                        .lines()
                        .any(|l| l.ends_with("/dev/premap") || l.ends_with("[perf_event]")),
                    "a mapping of the ring is left after allocation {n} failed"
                );
                if src.is_perf() {
                    // A buffer left attached by the failed mmap would make a mapping of another size
                    // fail (EINVAL): perf keeps one buffer per event while any mapping counts it.
                    ensure!(
                        src.map(2, true).is_ok(),
                        "after allocation {n} failed, the event still holds a buffer (a 1+1-page mmap fails)"
                    );
                } else {
                    let st = src.stats();
                    ensure!(
                        st.is_some_and(|s| s.mappings == 0),
                        "mappings counted after allocation {n} failed: {st:?}"
                    );
                }
            }
        }
        fired += u32::from(hit);
    }
    ensure!(
        failed >= 2,
        "only {failed} injected allocation failures made mmap fail ({fired} fired)"
    );
    ensure!(
        src.map(DATA as usize + 1, true).is_ok(),
        "a normal mmap after the failures did not work"
    );
    ok(format!(
        "allocation failures injected into mmap of {} pages at {} points ({:?}) each failed it with ENOMEM and left nothing mapped",
        DATA + 1,
        failed,
        points
    ))
}
