//! `premap check`: the conformance list of ../shared/reference/perf-ring-abi.md ("behaviours a correct
//! implementation shows"), run against the premap driver (`--device /dev/premap`) or the kernel's own
//! perf rings (`--perf`), one PASS/FAIL/N/A line per behaviour.
//!
//! The probes are deliberately raw (mmap, mprotect, mremap, madvise, fork, vmsplice,
//! process_vm_readv...): they poke at a mapping the way a hostile or careless program would. All of
//! them live in [`probe`]; the checks themselves are plain Rust over its results.

use premap::abi::attr::*;
use premap::abi::control::ControlPage;
use premap::abi::header::{EventHeader, RECORD_LOST, RECORD_SAMPLE};
use premap::abi::ioctl::*;
use premap::abi::memdesc::BufferLayout;
use premap::{Event, EventBuilder, Mode, Ring};
use premap_driver_fuzz::fault::FailNth;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to check.
#[derive(Clone, Debug)]
pub enum Subject {
    /// The premap driver's device node.
    Device(PathBuf),
    /// The kernel's perf_event_open rings.
    Perf,
}

/// The result of one behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Behaves as required.
    Pass(String),
    /// Does not.
    Fail(String),
    /// Does not apply to this subject (with the reason).
    NotApplicable(String),
}

mod probe {
    //! Raw probes of a mapping. Each returns what the kernel answered; none panics.

    use std::os::fd::{AsRawFd, BorrowedFd};

    /// The last errno.
    pub fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    /// A mapping made by a probe; unmapped on drop unless `forget` was called.
    pub struct Map {
        pub ptr: *mut u8,
        pub len: usize,
    }

    impl Map {
        /// Reads byte `off` with a volatile load.
        pub fn read(&self, off: usize) -> u8 {
            assert!(off < self.len);
            // SAFETY: `off` is inside the live mapping, which is readable (every probe maps PROT_READ).
            unsafe { self.ptr.add(off).read_volatile() }
        }

        /// Reads the u64 at `off` (8-aligned) with a volatile load.
        pub fn read_u64(&self, off: usize) -> u64 {
            assert!(off + 8 <= self.len && off % 8 == 0);
            // SAFETY: as above, and aligned.
            unsafe { self.ptr.add(off).cast::<u64>().read_volatile() }
        }

        /// Writes the u64 at `off` (must be a writable part of the mapping, or the caller expects a
        /// signal in a forked child).
        pub fn write_u64(&self, off: usize, v: u64) {
            assert!(off + 8 <= self.len && off % 8 == 0);
            // SAFETY: inside the mapping; the caller knows whether this page is writable.
            unsafe { self.ptr.add(off).cast::<u64>().write_volatile(v) }
        }

        /// munmap of `[off, off + len)` of this mapping.
        pub fn munmap_part(&self, off: usize, len: usize) -> Result<(), i32> {
            // SAFETY: the range is inside our own mapping; nothing borrows it.
            let r = unsafe { libc::munmap(self.ptr.add(off).cast(), len) };
            if r == 0 {
                Ok(())
            } else {
                Err(errno())
            }
        }

        /// mprotect of `[off, off + len)`.
        pub fn mprotect(&self, off: usize, len: usize, prot: i32) -> Result<(), i32> {
            // SAFETY: as above.
            let r = unsafe { libc::mprotect(self.ptr.add(off).cast(), len, prot) };
            if r == 0 {
                Ok(())
            } else {
                Err(errno())
            }
        }

        /// madvise of the whole mapping.
        pub fn madvise(&self, advice: i32) -> Result<(), i32> {
            // SAFETY: as above.
            let r = unsafe { libc::madvise(self.ptr.cast(), self.len, advice) };
            if r == 0 {
                Ok(())
            } else {
                Err(errno())
            }
        }

        /// mremap of `[0, old)` to `new` bytes (MREMAP_MAYMOVE); on success the mapping moves.
        pub fn mremap(&mut self, old: usize, new: usize) -> Result<(), i32> {
            // SAFETY: remapping our own mapping; on success we take the new address.
            let p = unsafe { libc::mremap(self.ptr.cast(), old, new, libc::MREMAP_MAYMOVE) };
            if p == libc::MAP_FAILED {
                return Err(errno());
            }
            if old == self.len {
                self.ptr = p.cast();
                self.len = new;
            }
            Ok(())
        }

        /// mmap(MAP_FIXED | MAP_ANONYMOUS) over `[off, off + len)`.
        pub fn map_fixed_over(&self, off: usize, len: usize) -> Result<(), i32> {
            // SAFETY: MAP_FIXED over our own mapping: if it succeeded it would replace part of the ring,
            // which is what the check expects to be refused; the probe's caller then drops this map.
            let p = unsafe {
                libc::mmap(
                    self.ptr.add(off).cast(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                Err(errno())
            } else {
                Ok(())
            }
        }

        /// Forgets the mapping (it was unmapped by other means).
        pub fn forget(mut self) {
            self.len = 0;
        }
    }

    impl Drop for Map {
        fn drop(&mut self) {
            if self.len > 0 {
                // SAFETY: our own mapping, unmapped once.
                unsafe { libc::munmap(self.ptr.cast(), self.len) };
            }
        }
    }

    /// mmap(NULL, len, prot, flags, fd, off).
    pub fn map(
        fd: BorrowedFd<'_>,
        len: usize,
        prot: i32,
        flags: i32,
        off: i64,
    ) -> Result<Map, i32> {
        // SAFETY: a new mapping at an address the kernel chooses aliases nothing.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd.as_raw_fd(), off) };
        if p == libc::MAP_FAILED {
            Err(errno())
        } else {
            Ok(Map { ptr: p.cast(), len })
        }
    }

    /// Minor faults of this process so far.
    /// Reads one byte of each of `pages` pages from `ptr` (volatile), out of line so that a warm-up call
    /// brings its code in.
    ///
    /// # Safety
    ///
    /// `ptr` points to a readable region of at least `pages` 4 KiB pages.
    #[inline(never)]
    pub unsafe fn touch_pages(ptr: *const u8, pages: usize) -> u32 {
        let mut sum = 0u32;
        for p in 0..pages {
            // SAFETY: inside the region (the caller's contract).
            sum = sum.wrapping_add(u32::from(unsafe { ptr.add(p * 4096 + 8).read_volatile() }));
        }
        sum
    }

    /// Minor page faults of this process so far.
    pub fn minflt() -> i64 {
        // SAFETY: getrusage fills the struct we pass.
        unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut ru);
            ru.ru_minflt
        }
    }

    /// Forks; the child runs `f` and exits 0; returns the child's wait status.
    pub fn in_child(f: impl FnOnce()) -> i32 {
        // SAFETY: the child runs only `f` (memory accesses and syscalls) and then _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            f();
            // SAFETY: leave the child without running destructors.
            unsafe { libc::_exit(0) };
        }
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        st
    }

    /// Whether a wait status is death by `sig`.
    pub fn killed_by(status: i32, sig: i32) -> bool {
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == sig
    }

    /// vmsplice of `[ptr, ptr + len)` into a fresh pipe.
    pub fn vmsplice_from(ptr: *const u8, len: usize) -> Result<usize, i32> {
        let mut p = [0i32; 2];
        // SAFETY: `p` holds two descriptors.
        if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
            return Err(errno());
        }
        let iov = libc::iovec {
            iov_base: ptr as *mut libc::c_void,
            iov_len: len,
        };
        // SAFETY: the iovec describes memory in our mapping; vmsplice only reads (pins) it.
        let r = unsafe { libc::vmsplice(p[1], &iov, 1, 0) };
        let e = errno();
        // SAFETY: closing the pipe we made.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
        if r < 0 {
            Err(e)
        } else {
            Ok(r as usize)
        }
    }

    /// process_vm_readv from our own `[ptr, ptr + len)` into a local buffer.
    pub fn process_vm_read(ptr: *const u8, len: usize) -> Result<usize, i32> {
        let mut buf = vec![0u8; len];
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: len,
        };
        let remote = libc::iovec {
            iov_base: ptr as *mut libc::c_void,
            iov_len: len,
        };
        // SAFETY: `local` is our buffer; `remote` names memory of our own process, read by the kernel.
        let r = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
        if r < 0 {
            Err(errno())
        } else {
            Ok(r as usize)
        }
    }

    /// write() of `[ptr, ptr + len)` to `fd`.
    pub fn write_from(fd: BorrowedFd<'_>, ptr: *const u8, len: usize) -> Result<usize, i32> {
        // SAFETY: reads `len` bytes of our mapping (a uaccess copy).
        let r = unsafe { libc::write(fd.as_raw_fd(), ptr.cast(), len) };
        if r < 0 {
            Err(errno())
        } else {
            Ok(r as usize)
        }
    }

    /// Touches `n` fresh anonymous pages (page faults for the perf subject's producer).
    pub fn touch_fresh_pages(n: usize) {
        let page = 4096;
        // SAFETY: a private anonymous mapping we own; each page is written once, then unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                n * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return;
            }
            for i in 0..n {
                (p as *mut u8).add(i * page).write_volatile(1);
            }
            libc::munmap(p, n * page);
        }
    }
}

use probe::Map;

const PAGE: usize = 4096;

/// An open ring source.
struct Source {
    fd: OwnedFd,
    perf: bool,
}

impl Source {
    fn open(subject: &Subject, data_pages: u32, overwrite: bool) -> Result<Source, String> {
        match subject {
            Subject::Device(path) => {
                let f = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(|e| format!("open {}: {e}", path.display()))?;
                let fd = OwnedFd::from(f);
                let mut p = CreateParams {
                    size: 32,
                    flags: if overwrite { CREATE_OVERWRITE } else { 0 },
                    data_pages,
                    ..Default::default()
                };
                // SAFETY: IOC_CREATE reads one `struct premap_create` (its size is in the request).
                unsafe { premap::sys::ioctl_ptr(fd.as_fd(), IOC_CREATE, &mut p) }
                    .map_err(|e| format!("IOC_CREATE: {e}"))?;
                Ok(Source { fd, perf: false })
            }
            Subject::Perf => {
                // Disabled except while `produce` runs, so that the checks' own page faults (a kernel that
                // faults ring pages in) do not produce records behind their back.
                let ev = EventBuilder::new(Event::PAGE_FAULTS)
                    .sample_period(1)
                    .sample_type(SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD)
                    .disabled(true)
                    .write_backward(overwrite)
                    .open()
                    .map_err(|e| e.to_string())?;
                // Keep only the descriptor: the checks drive it raw.
                let fd = ev.as_fd().try_clone_to_owned().map_err(|e| e.to_string())?;
                Ok(Source { fd, perf: true })
            }
        }
    }

    /// Makes the producer write about `n` SAMPLE records (64 bytes each for the driver).
    fn produce(&self, n: usize, seq0: u64) {
        if self.perf {
            // SAFETY: ENABLE and DISABLE take an integer argument; the fd is a perf event.
            let _ = unsafe { premap::sys::ioctl_int(self.fd.as_fd(), PERF_EVENT_IOC_ENABLE, 0) };
            probe::touch_fresh_pages(n);
            // SAFETY: as above.
            let _ = unsafe { premap::sys::ioctl_int(self.fd.as_fd(), PERF_EVENT_IOC_DISABLE, 0) };
        } else {
            for i in 0..n as u64 {
                let _ = probe::write_from(self.fd.as_fd(), sample(seq0 + i).as_ptr(), 64);
            }
        }
    }

    fn stats(&self) -> Option<BufferStats> {
        if self.perf {
            return None;
        }
        let mut s = BufferStats::default();
        // SAFETY: IOC_STATS writes one `struct premap_stats` (its size is in the request).
        unsafe { premap::sys::ioctl_ptr(self.fd.as_fd(), IOC_STATS, &mut s) }.ok()?;
        Some(s)
    }

    fn map(&self, pages: usize, writable: bool) -> Result<Map, i32> {
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        probe::map(self.fd.as_fd(), pages * PAGE, prot, libc::MAP_SHARED, 0)
    }
}

/// A 64-byte SAMPLE record: IDENTIFIER, TID, TIME, PERIOD(=seq), then padding.
fn sample(seq: u64) -> [u8; 64] {
    let mut r = [0u8; 64];
    r[..8].copy_from_slice(
        &EventHeader {
            r#type: RECORD_SAMPLE,
            misc: 2,
            size: 64,
        }
        .to_bytes(),
    );
    r[8..16].copy_from_slice(&1u64.to_ne_bytes());
    r[32..40].copy_from_slice(&seq.to_ne_bytes());
    r
}

fn ok(msg: impl Into<String>) -> Verdict {
    Verdict::Pass(msg.into())
}

fn fail(msg: impl Into<String>) -> Verdict {
    Verdict::Fail(msg.into())
}

fn na(msg: impl Into<String>) -> Verdict {
    Verdict::NotApplicable(msg.into())
}

fn errname(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

macro_rules! expect {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return fail(format!($($msg)*));
        }
    };
}

macro_rules! tryv {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return fail(e.to_string()),
        }
    };
}

fn b1_sizes(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    for pages in [4usize, 6, 10] {
        match src.map(pages, true) {
            Ok(_) => return fail(format!("a {pages}-page mmap (not 1+2^n) was accepted")),
            Err(e) => expect!(
                e == libc::EINVAL,
                "{pages}-page mmap failed with {} instead of EINVAL",
                errname(e)
            ),
        }
    }
    let whole = tryv!(src.map(5, true).map_err(errname));
    match src.map(1, true) {
        Ok(_) => return fail("a 1-page mmap of a 4-page buffer was accepted"),
        Err(e) => expect!(
            e == libc::EINVAL,
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

fn b2_private_and_offset(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    expect!(
        probe::map(src.fd.as_fd(), 5 * PAGE, rw, libc::MAP_PRIVATE, 0).is_err(),
        "MAP_PRIVATE mmap accepted"
    );
    expect!(
        probe::map(src.fd.as_fd(), 5 * PAGE, rw, libc::MAP_SHARED, PAGE as i64).is_err(),
        "mmap at offset 1 page accepted"
    );
    ok("MAP_PRIVATE and a wrong offset are refused")
}

fn b3_second_mapping(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let a = tryv!(src.map(5, true).map_err(errname));
    let b = tryv!(src.map(5, true).map_err(errname));
    a.write_u64(1032, 0); // data_tail (the consumer's own field)
    src.produce(8, 0);
    let head_a = a.read_u64(1024);
    expect!(head_a > 0, "nothing was produced");
    expect!(
        b.read_u64(1024) == head_a,
        "the second mapping sees another data_head"
    );
    expect!(
        a.read(PAGE) == b.read(PAGE),
        "data pages differ between mappings"
    );
    expect!(
        src.map(9, true).is_err(),
        "a second mapping of a different size was accepted"
    );
    ok("two mappings share every page; another size is refused")
}

fn b4_no_faults(s: &Subject) -> (Verdict, i64) {
    let src = match Source::open(s, 16, false) {
        Ok(v) => v,
        Err(e) => return (fail(e), -1),
    };
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
        let m = match src.map(17, true) {
            Ok(m) => m,
            Err(e) => return (fail(errname(e)), -1),
        };
        let _ = probe::minflt();
        let before = probe::minflt();
        // SAFETY: `m` is a live readable mapping of 17 pages.
        let sum = unsafe { probe::touch_pages(m.ptr, 17) };
        faults = faults.min(probe::minflt() - before);
        std::hint::black_box(sum);
        drop(m);
    }
    let v = if faults == 0 {
        ok("0 page faults on the first touch of 17 pages")
    } else {
        fail(format!("{faults} page faults on the first touch of 17 pages (pages are faulted in, not mapped in advance)"))
    };
    (v, faults)
}

fn b5_write_protection(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let m = tryv!(src.map(5, true).map_err(errname));
    m.write_u64(1032, 0);
    let fd = src.fd.as_raw_fd();
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
    expect!(
        probe::killed_by(st, libc::SIGBUS),
        "a write to a data page did not raise SIGBUS (wait status {st:#x})"
    );
    ok("data_tail is writable; a write to a data page raises SIGBUS")
}

fn b6_read_only_is_overwrite(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 1, true));
    let m = tryv!(src.map(2, false).map_err(errname));
    if !src.perf {
        expect!(
            src.map(2, true).is_err(),
            "a writable mapping of an overwrite buffer was accepted"
        );
        expect!(
            m.mprotect(0, 2 * PAGE, libc::PROT_READ | libc::PROT_WRITE)
                .is_err(),
            "mprotect(PROT_WRITE) of an overwrite mapping worked"
        );
    }
    src.produce(400, 0);
    let head = m.read_u64(1024);
    let moved = head.wrapping_neg().min(head);
    expect!(
        moved > PAGE as u64,
        "the producer stopped at a full ring (head moved {moved} bytes): not overwrite mode"
    );
    ok(format!(
        "a PROT_READ mapping is overwritten (head moved {moved} bytes through a {PAGE}-byte ring)"
    ))
}

fn b7_one_vma(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let m = tryv!(src.map(5, true).map_err(errname));
    expect!(
        m.munmap_part(PAGE, PAGE).is_err(),
        "a partial munmap succeeded"
    );
    expect!(
        m.mprotect(PAGE, PAGE, libc::PROT_READ).is_err(),
        "a partial mprotect succeeded"
    );
    expect!(
        m.map_fixed_over(2 * PAGE, PAGE).is_err(),
        "MAP_FIXED over part of the ring succeeded"
    );
    let mut m = m;
    expect!(
        m.mremap(PAGE, 2 * PAGE).is_err(),
        "a partial mremap succeeded"
    );
    expect!(
        m.mremap(5 * PAGE, 9 * PAGE).is_err(),
        "mremap expanded the mapping"
    );
    let head_before = m.read_u64(1024);
    match m.mremap(5 * PAGE, 5 * PAGE) {
        Ok(()) => {}
        Err(e) => {
            return fail(format!(
                "mremap of the whole mapping failed: {}",
                errname(e)
            ))
        }
    }
    expect!(
        m.read_u64(1024) == head_before,
        "the moved mapping shows another control page"
    );
    expect!(
        m.munmap_part(0, 5 * PAGE).is_ok(),
        "munmap of the whole (moved) mapping failed"
    );
    m.forget();
    if let Some(st) = src.stats() {
        expect!(
            st.mappings == 0,
            "{} mappings still counted after mremap+munmap",
            st.mappings
        );
    }
    ok("partial munmap/mprotect/MAP_FIXED/mremap and expansion refused; whole move and munmap work")
}

fn b8_fork_and_madvise(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let m = tryv!(src.map(5, true).map_err(errname));
    let addr = m.ptr as usize;
    let st = probe::in_child(|| {
        // SAFETY: reading the parent's ring address in the child: VM_DONTCOPY means nothing is mapped
        // there, so this must fault (SIGSEGV).
        unsafe { std::ptr::read_volatile(addr as *const u8) };
    });
    expect!(
        probe::killed_by(st, libc::SIGSEGV),
        "the forked child could read the ring (not VM_DONTCOPY)"
    );
    let mut refused = Vec::new();
    for (name, adv) in [
        ("MADV_DOFORK", libc::MADV_DOFORK),
        ("MADV_DONTNEED", libc::MADV_DONTNEED),
        ("MADV_FREE", libc::MADV_FREE),
        ("MADV_PAGEOUT", 21),
        ("MADV_COLD", 20),
        ("MADV_WIPEONFORK", libc::MADV_WIPEONFORK),
        ("MADV_POPULATE_READ", 22),
        ("MADV_POPULATE_WRITE", 23),
    ] {
        expect!(m.madvise(adv).is_err(), "{name} succeeded");
        refused.push(name);
    }
    ok(format!(
        "not inherited by fork; {} refused",
        refused.join(", ")
    ))
}

fn b9_gup(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let m = tryv!(src.map(5, true).map_err(errname));
    src.produce(8, 0);
    let data = m.ptr.wrapping_add(PAGE);
    match probe::vmsplice_from(data, PAGE) {
        Ok(n) => return fail(format!("vmsplice pinned {n} bytes of the ring")),
        Err(e) => expect!(
            e == libc::EFAULT,
            "vmsplice failed with {} instead of EFAULT",
            errname(e)
        ),
    }
    let pvr = match probe::process_vm_read(data, PAGE) {
        Ok(n) => {
            return fail(format!(
                "process_vm_readv read {n} bytes of the ring through GUP"
            ))
        }
        Err(libc::ENOSYS) => "process_vm_readv is not built into this kernel",
        Err(e) if e == libc::EFAULT => "process_vm_readv gets EFAULT",
        Err(e) => {
            return fail(format!(
                "process_vm_readv failed with {} instead of EFAULT",
                errname(e)
            ))
        }
    };
    // write() from the mapping is a uaccess copy: it must work, to a pipe and to a file.
    let mut p = [0i32; 2];
    // SAFETY: `p` holds two descriptors.
    expect!(unsafe { libc::pipe(p.as_mut_ptr()) } == 0, "pipe failed");
    // SAFETY: the pipe's descriptors are ours.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    expect!(
        probe::write_from(w.as_fd(), data, PAGE) == Ok(PAGE),
        "write() from the ring to a pipe failed"
    );
    drop(r);
    let path = std::env::temp_dir().join(format!("premap-check-{}", std::process::id()));
    let f = tryv!(std::fs::File::create(&path));
    let wrote = probe::write_from(f.as_fd(), data, PAGE);
    let _ = std::fs::remove_file(&path);
    expect!(
        wrote == Ok(PAGE),
        "write() from the ring to a file failed: {wrote:?}"
    );
    ok(format!(
        "vmsplice gets EFAULT; {pvr}; write() from the ring to a pipe and a file works"
    ))
}

fn b10_close_while_mapped(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 4, false));
    let m = tryv!(src.map(5, true).map_err(errname));
    src.produce(8, 0);
    let head = m.read_u64(1024);
    drop(src);
    // The pages must still be there: read every byte.
    let mut sum = 0u64;
    for off in (0..5 * PAGE).step_by(64) {
        sum = sum.wrapping_add(u64::from(m.read(off)));
    }
    std::hint::black_box(sum);
    expect!(
        m.read_u64(1024) == head,
        "the control page changed after close"
    );
    drop(m);
    ok("after close(fd) every page stays readable until munmap")
}

fn b11_partial_failure(s: &Subject) -> Verdict {
    if matches!(s, Subject::Perf) {
        return na("injects allocation failures into the driver's mmap; not run against perf");
    }
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
                expect!(
                    e == libc::ENOMEM,
                    "mmap with allocation {n} failed failed with {} instead of ENOMEM",
                    errname(e)
                );
                failed += 1;
                points.push(n);
                let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
                expect!(
                    !maps.lines().any(|l| l.ends_with("/dev/premap")),
                    "a mapping of the device is left after allocation {n} failed"
                );
                let st = src.stats();
                expect!(
                    st.is_some_and(|s| s.mappings == 0),
                    "mappings counted after allocation {n} failed: {st:?}"
                );
            }
        }
        fired += u32::from(hit);
    }
    expect!(
        failed >= 2,
        "only {failed} injected allocation failures made mmap fail ({fired} fired)"
    );
    expect!(
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

fn b12_producer(s: &Subject) -> Verdict {
    // Full ring: drops are reported by a LOST record with the right count once there is room.
    let src = tryv!(Source::open(s, 1, false));
    // SAFETY: the source's fd is a fresh perf event or device buffer, and this ring is its only reader.
    let mut ring = tryv!(unsafe { Ring::map(src.fd.as_fd(), 1, Mode::Consume) });
    src.produce(if src.perf { 2000 } else { 100 }, 0);
    let mut samples = 0u64;
    let mut lost = 0u64;
    let mut last_seq = None;
    let mut in_order = true;
    let mut count = |r: premap::Record<'_>| match r.header.r#type {
        RECORD_SAMPLE => {
            samples += 1;
            if !src.perf {
                let seq = u64::from_ne_bytes(r.bytes[32..40].try_into().unwrap_or([0; 8]));
                in_order &= last_seq.map_or(true, |l: u64| seq > l);
                last_seq = Some(seq);
            }
        }
        RECORD_LOST => lost += u64::from_ne_bytes(r.bytes[16..24].try_into().unwrap_or([0; 8])),
        _ => {}
    };
    tryv!(ring.drain(&mut count));
    src.produce(4, 1000);
    tryv!(ring.drain(&mut count));
    expect!(in_order, "samples out of order");
    expect!(lost > 0, "a full ring reported no LOST record");
    if let Some(st) = src.stats() {
        expect!(
            st.lost == lost,
            "LOST records report {lost}, the producer dropped {}",
            st.lost
        );
        expect!(
            samples + lost == 104,
            "{samples} samples + {lost} lost != 104 written"
        );
    }
    // Overwrite: pause, read from data_head, resume.
    let src = tryv!(Source::open(s, 1, true));
    // SAFETY: the source's fd is a fresh perf event or device buffer, and this ring is its only reader.
    let mut ring = tryv!(unsafe { Ring::map(src.fd.as_fd(), 1, Mode::Overwrite) });
    src.produce(if src.perf { 2000 } else { 200 }, 0);
    let mut seqs = Vec::new();
    {
        let mut b = tryv!(ring.newest());
        while let Some(r) = b.next() {
            let r = tryv!(r);
            if r.header.r#type == RECORD_SAMPLE {
                seqs.push(u64::from_ne_bytes(
                    r.bytes[32..40].try_into().unwrap_or([0; 8]),
                ));
            }
        }
    }
    expect!(
        !seqs.is_empty(),
        "overwrite mode: nothing readable from data_head"
    );
    if !src.perf {
        expect!(
            seqs.first() == Some(&199),
            "overwrite mode: newest record is {:?}, not 199",
            seqs.first()
        );
        expect!(
            seqs.windows(2).all(|w| w[0] == w[1] + 1),
            "overwrite mode: records torn or out of order"
        );
    }
    ok(format!(
        "full ring: {samples} records + LOST({lost}); overwrite: {} newest records from data_head",
        seqs.len()
    ))
}

fn b12b_concurrent(s: &Subject) -> Verdict {
    if matches!(s, Subject::Perf) {
        return na("the in-kernel generator is the driver's");
    }
    let src = tryv!(Source::open(s, 8, false));
    // SAFETY: the source's fd is a fresh perf event or device buffer, and this ring is its only reader.
    let mut ring = tryv!(unsafe { Ring::map(src.fd.as_fd(), 8, Mode::Consume) });
    const N: u64 = 200_000;
    let mut g = GenerateParams {
        count: N,
        period_ns: 0,
        batch: 64,
        sample_size: 48,
    };
    // SAFETY: IOC_GENERATE reads one `struct premap_generate` (its size is in the request).
    tryv!(unsafe { premap::sys::ioctl_ptr(src.fd.as_fd(), IOC_GENERATE, &mut g) });
    let (mut got, mut lost, mut next) = (0u64, 0u64, 0u64);
    let mut torn = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while got + lost < N && Instant::now() < deadline {
        let r = ring.drain(|r| match r.header.r#type {
            RECORD_SAMPLE => {
                let seq = u64::from_ne_bytes(r.bytes[32..40].try_into().unwrap_or([0; 8]));
                if seq < next && torn.is_none() {
                    torn = Some(seq);
                }
                next = seq + 1;
                got += 1;
            }
            RECORD_LOST => lost += u64::from_ne_bytes(r.bytes[16..24].try_into().unwrap_or([0; 8])),
            _ => {}
        });
        if let Err(e) = r {
            return fail(format!("corrupt record while the generator ran: {e}"));
        }
        std::thread::yield_now();
    }
    if got + lost < N {
        // The last drops are reported only with a later record: read the producer's count.
        lost = src.stats().map_or(lost, |s| s.lost);
    }
    expect!(torn.is_none(), "sequence went backwards at {torn:?}");
    expect!(
        got + lost == N,
        "{got} received + {lost} lost != {N} generated"
    );
    ok(format!(
        "generator at full speed: {got} records read intact, {lost} dropped and accounted"
    ))
}

fn b13_control_page(s: &Subject) -> Verdict {
    let src = tryv!(Source::open(s, 8, false));
    let m = tryv!(src.map(9, true).map_err(errname));
    let mut page = [0u8; 1088];
    for (i, b) in page.iter_mut().enumerate() {
        *b = m.read(i);
    }
    let size = u32::from_ne_bytes(page[72..76].try_into().unwrap_or([0; 4]));
    let caps = u64::from_ne_bytes(page[40..48].try_into().unwrap_or([0; 8]));
    let data_offset = u64::from_ne_bytes(page[1040..1048].try_into().unwrap_or([0; 8]));
    let data_size = u64::from_ne_bytes(page[1048..1056].try_into().unwrap_or([0; 8]));
    let cp = ControlPage {
        capabilities: caps,
        ..ControlPage::ZEROED
    };
    expect!(
        cp.cap_bit0_is_deprecated(),
        "cap_bit0_is_deprecated is not set"
    );
    expect!(
        caps & premap::abi::control::CAP_BIT0 == 0,
        "deprecated cap_bit0 is set"
    );
    expect!(data_offset == PAGE as u64, "data_offset is {data_offset}");
    expect!(
        data_size == 8 * PAGE as u64,
        "data_size is {data_size} for 8 pages"
    );
    expect!(size >= 96, "size is {size}");
    ok(format!(
        "size {size}, data_offset {data_offset}, data_size {data_size}, cap_bit0_is_deprecated"
    ))
}

fn bm_memdesc(s: &Subject) -> Verdict {
    if matches!(s, Subject::Perf) {
        return na("perf's pages carry no premap memdesc");
    }
    let src = tryv!(Source::open(s, 8, false));
    let layout = BufferLayout {
        data_pages: 8,
        aux_pages: 0,
        overwrite: false,
    };
    for pgoff in 0..layout.total_pages() {
        let mut info = PageInfo {
            pgoff: pgoff as u32,
            page_type: 0,
        };
        // SAFETY: IOC_PAGE_INFO reads and writes one `struct premap_page_info`.
        tryv!(unsafe { premap::sys::ioctl_ptr(src.fd.as_fd(), IOC_PAGE_INFO, &mut info) });
        let want = layout.page_desc(pgoff).and_then(|d| d.encode());
        expect!(
            Some(info.page_type) == want,
            "page {pgoff}: page_type {:#x}, memdesc says {want:x?}",
            info.page_type
        );
    }
    ok("every page's page_type word is its memdesc (control writable, data read-only)")
}

fn bw_write_validation(s: &Subject) -> Verdict {
    if matches!(s, Subject::Perf) {
        return na("perf events take no records from write()");
    }
    let src = tryv!(Source::open(s, 1, false));
    let m = tryv!(src.map(2, true).map_err(errname));
    let mut bad = sample(0);
    bad[6..8].copy_from_slice(&0u16.to_ne_bytes());
    let mut two = [0u8; 128];
    two[..64].copy_from_slice(&sample(1));
    two[64..].copy_from_slice(&bad);
    for (what, bytes) in [
        ("size 0", &bad[..]),
        ("a bad second record", &two[..]),
        ("a cut record", &sample(2)[..40]),
    ] {
        let r = probe::write_from(src.fd.as_fd(), bytes.as_ptr(), bytes.len());
        expect!(
            r == Err(libc::EINVAL),
            "write() of {what}: {r:?}, not EINVAL"
        );
    }
    expect!(m.read_u64(1024) == 0, "a rejected write() published data");
    expect!(
        probe::write_from(src.fd.as_fd(), two.as_ptr(), 64) == Ok(64),
        "a good record was refused"
    );
    expect!(m.read_u64(1024) == 64, "a good record was not published");
    ok("malformed records are refused with EINVAL and nothing is published")
}

/// Runs every behaviour and prints one line each; returns whether none failed.
pub fn run(subject: &Subject, out: &mut impl std::io::Write) -> bool {
    let name = match subject {
        Subject::Device(p) => format!("the premap driver ({})", p.display()),
        Subject::Perf => "perf_event_open rings of the running kernel".to_string(),
    };
    let _ = writeln!(out, "# premap check: {name}");
    if let Subject::Device(p) = subject {
        if !p.exists() {
            let _ = writeln!(
                out,
                "# {} does not exist: load the driver first (insmod premap.ko; driver/vmtest builds it and runs this check in a guest)",
                p.display()
            );
            return false;
        }
    }
    let (v4, faults) = b4_no_faults(subject);
    let checks: Vec<(&str, Verdict)> = vec![
        ("1 mmap size must be 1+2^n pages", b1_sizes(subject)),
        (
            "2 MAP_PRIVATE and wrong offsets fail",
            b2_private_and_offset(subject),
        ),
        (
            "3 a second mmap shares the pages",
            b3_second_mapping(subject),
        ),
        ("4 all pages present after mmap", v4),
        ("5 data pages are read-only", b5_write_protection(subject)),
        (
            "6 PROT_READ mapping is overwrite mode",
            b6_read_only_is_overwrite(subject),
        ),
        ("7 one VMA: no split, no expansion", b7_one_vma(subject)),
        (
            "8 no fork inheritance, madvise refused",
            b8_fork_and_madvise(subject),
        ),
        (
            "9 GUP refused, write() from the ring works",
            b9_gup(subject),
        ),
        (
            "10 pages live until the last munmap",
            b10_close_while_mapped(subject),
        ),
        (
            "11 mmap failure leaves nothing mapped",
            b11_partial_failure(subject),
        ),
        (
            "12 producer protocol: LOST counts, overwrite",
            b12_producer(subject),
        ),
        (
            "12b producer at full speed, reader draining",
            b12b_concurrent(subject),
        ),
        ("13 control page fields", b13_control_page(subject)),
        ("M page-type memdesc of every page", bm_memdesc(subject)),
        ("W write() validates records", bw_write_validation(subject)),
    ];
    let mut failed = 0;
    for (what, v) in &checks {
        let line = match v {
            Verdict::Pass(m) => format!("PASS {what}: {m}"),
            Verdict::Fail(m) => {
                failed += 1;
                format!("FAIL {what}: {m}")
            }
            Verdict::NotApplicable(m) => format!("N/A  {what}: {m}"),
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "# first-touch page faults after mmap of 17 pages: {faults}"
    );
    let _ = writeln!(
        out,
        "# {} passed, {failed} failed",
        checks
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Pass(_)))
            .count()
    );
    failed == 0
}
