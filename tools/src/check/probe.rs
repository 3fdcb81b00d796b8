//! The raw probes: every syscall `premap check` makes against a mapping (mmap, mprotect, mremap,
//! madvise, fork, vmsplice, process_vm_readv...), the way a hostile or careless program would. The
//! checks are plain Rust over their results.
//! Each returns what the kernel answered.

use nix::errno::Errno;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The last errno.
pub fn errno() -> Errno {
    Errno::last()
}

/// The errno of a failed file operation.
fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
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
    pub fn munmap_part(&self, off: usize, len: usize) -> Result<(), Errno> {
        // SAFETY: the range is inside our own mapping; nothing borrows it.
        let r = unsafe { libc::munmap(self.ptr.add(off).cast(), len) };
        if r == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }

    /// mprotect of `[off, off + len)`.
    pub fn mprotect(&self, off: usize, len: usize, prot: i32) -> Result<(), Errno> {
        // SAFETY: as above.
        let r = unsafe { libc::mprotect(self.ptr.add(off).cast(), len, prot) };
        if r == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }

    /// madvise of the whole mapping.
    pub fn madvise(&self, advice: i32) -> Result<(), Errno> {
        // SAFETY: as above.
        let r = unsafe { libc::madvise(self.ptr.cast(), self.len, advice) };
        if r == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }

    /// mremap of `[0, old)` to `new` bytes (MREMAP_MAYMOVE); on success the mapping moves.
    pub fn mremap(&mut self, old: usize, new: usize) -> Result<(), Errno> {
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
    pub fn map_fixed_over(&self, off: usize, len: usize) -> Result<(), Errno> {
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
pub fn map(fd: BorrowedFd<'_>, len: usize, prot: i32, flags: i32, off: i64) -> Result<Map, Errno> {
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
pub fn vmsplice_from(ptr: *const u8, len: usize) -> Result<usize, Errno> {
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
pub fn process_vm_read(ptr: *const u8, len: usize) -> Result<usize, Errno> {
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
pub fn write_from(fd: BorrowedFd<'_>, ptr: *const u8, len: usize) -> Result<usize, Errno> {
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

/// The `VmFlags` of the VMA that starts at `addr`, from /proc/self/smaps (two-letter codes).
pub fn vm_flags(addr: usize) -> Option<Vec<String>> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let start = format!("{addr:x}-");
    let mut in_vma = false;
    for line in smaps.lines() {
        if line.starts_with(&start) {
            in_vma = true;
        } else if in_vma {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                return Some(flags.split_whitespace().map(str::to_owned).collect());
            }
        }
    }
    None
}

/// The 8-byte entry for index `i` of a /proc file indexed by page (pagemap, kpageflags, kpagecount).
fn proc_u64(path: &str, i: u64) -> Result<u64, Errno> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path).map_err(io_errno)?;
    let mut b = [0u8; 8];
    let off = i.checked_mul(8).ok_or(Errno::EINVAL)?;
    f.read_exact_at(&mut b, off).map_err(io_errno)?;
    Ok(u64::from_ne_bytes(b))
}

/// The page frame number mapped at `addr` in this process (/proc/self/pagemap): `Ok(None)` when the
/// page is not present or the PFN is hidden (no CAP_SYS_ADMIN).
pub fn pfn_of(addr: usize) -> Result<Option<u64>, Errno> {
    let e = proc_u64("/proc/self/pagemap", addr as u64 / 4096)?;
    let present = e >> 63 & 1 == 1;
    let pfn = e & ((1 << 55) - 1);
    Ok((present && pfn != 0).then_some(pfn))
}

/// The page's `/proc/kpageflags` bits.
pub fn kpageflags(pfn: u64) -> Result<u64, Errno> {
    proc_u64("/proc/kpageflags", pfn)
}

/// The page's `/proc/kpagecount` (its mapcount as the kernel reports it).
pub fn kpagecount(pfn: u64) -> Result<u64, Errno> {
    proc_u64("/proc/kpagecount", pfn)
}
