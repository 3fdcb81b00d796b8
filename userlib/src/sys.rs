//! Every system call premap makes and the raw pointers it creates, in one place. The rest of the
//! library is plain Rust over what these wrappers return.

use crate::error::{Error, Result};
use premap_abi::attr::PerfEventAttr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// Why `perf_event_open` failed: the errno, and on E2BIG the `attr.size` the kernel wrote back.
#[derive(Debug)]
pub struct OpenError {
    /// The errno.
    pub source: io::Error,
    /// E2BIG: the size the kernel knows (it writes `sizeof(struct perf_event_attr)` into `attr.size`).
    pub kernel_size: Option<u32>,
}

/// `perf_event_open(attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC | flags)`, with `attr.size` set to
/// `size` (`flags`: [`PERF_FLAG_PID_CGROUP`] when `pid` is a cgroup directory's descriptor).
///
/// The kernel reads `size` bytes (it refuses more than a page) and, on E2BIG, writes its own size back
/// into `attr.size`. So the attr goes in a zeroed, writable buffer of this library's own, a page long
/// (at least 4096 bytes): whatever `size` says, the kernel reads only that buffer (the bytes past the
/// attr are zero, which it accepts as fields it knows and we do not) and writes only into it.
/// `PERF_FLAG_PID_CGROUP`: perf_event_open's `pid` is a cgroup directory's descriptor.
pub const PERF_FLAG_PID_CGROUP: libc::c_ulong = 4;

pub fn perf_event_open(
    attr: &PerfEventAttr,
    size: u32,
    pid: i32,
    cpu: i32,
    group_fd: i32,
    flags: libc::c_ulong,
) -> Result<OwnedFd, OpenError> {
    const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
    const SIZE_OFFSET: usize = 4;
    let bytes = attr.to_bytes();
    let mut buf = vec![0u64; page_size().max(4096) / 8];
    let words = buf.as_mut_slice();
    // The attr's bytes at the start of the buffer, then its size field set to `size`.
    for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        *w = u64::from_ne_bytes(b);
    }
    let mut first = words[0].to_ne_bytes();
    first[SIZE_OFFSET..SIZE_OFFSET + 4].copy_from_slice(&size.to_ne_bytes());
    words[0] = u64::from_ne_bytes(first);
    // SAFETY: the pointer is valid for reads and writes of the whole buffer (at least a page, 8-byte
    // aligned) for the duration of the call; the kernel reads at most `min(size, PAGE_SIZE)` bytes of
    // it and writes at most `attr.size` (4 bytes) into it; the other arguments are plain integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            words.as_mut_ptr(),
            pid,
            cpu,
            group_fd,
            PERF_FLAG_FD_CLOEXEC | flags,
        )
    };
    if fd < 0 {
        let source = io::Error::last_os_error();
        let kernel_size = (source.raw_os_error() == Some(libc::E2BIG)).then(|| {
            let first = words[0].to_ne_bytes();
            let mut b = [0u8; 4];
            b.copy_from_slice(&first[SIZE_OFFSET..SIZE_OFFSET + 4]);
            u32::from_ne_bytes(b)
        });
        return Err(OpenError {
            source,
            kernel_size,
        });
    }
    let fd = i32::try_from(fd).map_err(|_| OpenError {
        source: io::Error::from_raw_os_error(libc::EBADF),
        kernel_size: None,
    })?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `ioctl(fd, req, arg)` for requests whose argument is an integer.
///
/// # Safety
///
/// `req` must be a request that `fd`'s driver reads as an integer (or ignores): a request that takes a
/// pointer would make the kernel read or write memory at the address `arg`.
pub unsafe fn ioctl_int(fd: BorrowedFd<'_>, req: u32, arg: libc::c_ulong) -> io::Result<i32> {
    // SAFETY: the caller guarantees that the request takes an integer argument (or none).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as libc::Ioctl, arg) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `ioctl(fd, req, string)` for requests that read a NUL-terminated string (`PERF_EVENT_IOC_SET_FILTER`).
pub fn ioctl_cstr(fd: BorrowedFd<'_>, req: u32, s: &std::ffi::CStr) -> io::Result<i32> {
    if premap_abi::ioctl::ioc_dir(req) != premap_abi::ioctl::IOC_WRITE {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: the request only reads from its argument (checked: _IOW), and `s` is a valid
    // NUL-terminated string for the duration of the call.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as libc::Ioctl, s.as_ptr()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `ioctl(fd, req, &mut value)` for requests that read or write a plain-old-data struct.
///
/// # Safety
///
/// `fd`'s driver must access exactly the `size_of::<T>()` bytes that `req` encodes (checked) at the
/// argument and nothing it points to: a request whose argument is read as an integer, or holds
/// pointers to further memory, would let the kernel write where Rust does not expect it.
pub unsafe fn ioctl_ptr<T: zerocopy::IntoBytes + zerocopy::FromBytes>(
    fd: BorrowedFd<'_>,
    req: u32,
    value: &mut T,
) -> io::Result<i32> {
    if premap_abi::ioctl::ioc_size(req) != std::mem::size_of::<T>() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `value` is valid for reads and writes of size_of::<T>() bytes, which is exactly what the
    // request accesses (checked size, and the caller's promise); any bytes the kernel writes form a
    // valid `T` (FromBytes).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as libc::Ioctl, value as *mut T) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A shared memory mapping, unmapped on drop.
///
/// # Invariants
///
/// `ptr` is the start of a live mapping of `len` bytes created by `mmap` and owned by this value.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving the owner between threads is fine.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` only exposes the pointer value and length; every access through the pointer is made
// by code that states its own synchronisation (atomics on the control page, the ring protocol for data).
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `mmap(NULL, len, prot, MAP_SHARED, fd, offset)`.
    pub fn map_fd(fd: BorrowedFd<'_>, len: usize, writable: bool, offset: u64) -> Result<Self> {
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        let offset = libc::off_t::try_from(offset).map_err(|_| Error::MappingTooSmall { len })?;
        // SAFETY: a fresh mapping at an address the kernel chooses cannot alias any Rust object.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset,
            )
        };
        Self::from_mmap(p, len)
    }

    /// An anonymous shared, zero-filled mapping (the synthetic ring's memory).
    pub fn anonymous(len: usize) -> Result<Self> {
        // Miri has no shared anonymous mappings; within one process a private one behaves the same.
        #[cfg(miri)]
        const FLAGS: i32 = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        #[cfg(not(miri))]
        const FLAGS: i32 = libc::MAP_SHARED | libc::MAP_ANONYMOUS;
        // SAFETY: as above; anonymous memory is not backed by any file.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                FLAGS,
                -1,
                0,
            )
        };
        Self::from_mmap(p, len)
    }

    fn from_mmap(p: *mut libc::c_void, len: usize) -> Result<Self> {
        if p == libc::MAP_FAILED {
            return Err(Error::sys("mmap"));
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| Error::sys("mmap"))?;
        // INVARIANT: mmap succeeded and returned this pointer for `len` bytes.
        Ok(Self { ptr, len })
    }

    /// Start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own this live mapping; nothing borrows it past our lifetime
        // (every view of it borrows `self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// `writev(fd, iov)` over up to two byte ranges given as raw pointers into a mapping, retrying on EINTR.
/// Returns the number of bytes written (possibly short). Empty ranges are skipped.
///
/// # Safety
///
/// Each `(ptr, len)` must be valid for reads of `len` bytes for the duration of the call.
pub unsafe fn writev_raw(fd: BorrowedFd<'_>, parts: [(*const u8, usize); 2]) -> io::Result<usize> {
    let empty = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut iov = [empty, empty];
    let mut n = 0;
    for (p, l) in parts {
        if l > 0 {
            iov[n] = libc::iovec {
                iov_base: p as *mut libc::c_void,
                iov_len: l,
            };
            n += 1;
        }
    }
    if n == 0 {
        return Ok(0);
    }
    loop {
        // SAFETY: the caller guarantees every range is readable; the kernel only reads them (a uaccess
        // copy, not GUP, so it works on PFN-mapped rings too). `n <= 2` entries of `iov` are initialised.
        let r = unsafe { libc::writev(fd.as_raw_fd(), iov.as_ptr(), n as libc::c_int) };
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `struct sched_attr` (include/uapi/linux/sched/types.h, `SCHED_ATTR_SIZE_VER1`).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
    sched_util_min: u32,
    sched_util_max: u32,
}
const _: () = assert!(std::mem::size_of::<SchedAttr>() == 56);

/// Asks for a `slice_ns` time slice for the calling thread under `SCHED_OTHER`, keeping its nice
/// value: `sched_setattr(0, {policy SCHED_OTHER, nice, sched_runtime = slice_ns}, 0)`. Since Linux
/// 6.12 (EEVDF custom slices) a shorter slice gives an earlier deadline, so the thread preempts the
/// task it shares a CPU with when it wakes. Unprivileged; older kernels ignore `sched_runtime` for
/// `SCHED_OTHER` or refuse the call (the error is returned).
pub fn set_time_slice(slice_ns: u64) -> io::Result<()> {
    // SAFETY: getpriority has no memory-safety preconditions. (-1 is also a valid nice value, so
    // errno is cleared first and checked after.)
    let nice = unsafe {
        *libc::__errno_location() = 0;
        libc::getpriority(libc::PRIO_PROCESS, 0)
    };
    if nice == -1 && io::Error::last_os_error().raw_os_error() != Some(0) {
        return Err(io::Error::last_os_error());
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_nice: nice,
        sched_runtime: slice_ns,
        ..SchedAttr::default()
    };
    // SAFETY: the kernel reads `attr.size` (56) bytes from the pointer, all of `attr`, which lives for
    // the duration of the call; pid 0 is the calling thread, flags 0.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Copies `dst.len()` bytes from `src` with Relaxed atomic loads (machine words where aligned, bytes at
/// the edges): for memory another party may write at the same time (an overwrite-mode ring), where a
/// plain copy would be a data race. Relaxed loads of at most a machine word are defined on read-only
/// memory too (the std atomics documentation), so a `PROT_READ` mapping is fine. Bytes a concurrent
/// writer changes may be old or new, word by word: the caller checks for that afterwards.
///
/// # Safety
///
/// `src` is valid for reads of `dst.len()` bytes for the duration of the call, and every concurrent
/// write to that memory from this program is atomic (writes from the kernel or another process are
/// outside Rust's memory model and race with nothing here).
pub unsafe fn copy_shared(src: *const u8, dst: &mut [u8]) {
    use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
    const W: usize = std::mem::size_of::<usize>();
    let len = dst.len();
    let mut i = 0;
    while i < len && (src as usize).wrapping_add(i) % W != 0 {
        // SAFETY: `i < len`, inside the range the caller vouches for (readable; a shared reference to
        // an atomic, which has interior mutability, asserts nothing more); `AtomicU8` has alignment 1.
        dst[i] = unsafe { &*src.add(i).cast::<AtomicU8>() }.load(Ordering::Relaxed);
        i += 1;
    }
    while i + W <= len {
        // SAFETY: `[i, i + W)` is inside the readable range, and `src + i` is word-aligned (the loop
        // above).
        let w = unsafe { &*src.add(i).cast::<AtomicUsize>() }.load(Ordering::Relaxed);
        dst[i..i + W].copy_from_slice(&w.to_ne_bytes());
        i += W;
    }
    while i < len {
        // SAFETY: as in the first loop.
        dst[i] = unsafe { &*src.add(i).cast::<AtomicU8>() }.load(Ordering::Relaxed);
        i += 1;
    }
}

/// `pipe2(O_CLOEXEC)`: (read end, write end).
/// An eventfd (non-blocking, close-on-exec): the descriptor of a synthetic ring, which its producer
/// signals as the kernel wakes a perf event's pollers.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd(2) takes no pointers; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by eventfd and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds 1 to an eventfd's counter (a full counter, EAGAIN, is already readable: ignored).
pub fn eventfd_signal(fd: BorrowedFd<'_>) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes 8 bytes from a local array to a descriptor the caller borrows.
    let _ = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
}

/// mount(2) of tracefs on /sys/kernel/tracing, as perf mounts it when it is nowhere. Fails (and is
/// ignored) without privilege, where tracefs is not built in, or where it is already mounted.
pub fn mount_tracefs() -> io::Result<()> {
    let (src, target, fstype) = (c"nodev", c"/sys/kernel/tracing", c"tracefs");
    // SAFETY: mount(2) with valid NUL-terminated strings that outlive the call, no flags and no data.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both are fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Forks a child held before exec, as perf's `evlist__prepare_workload`: the child closes the parent's
/// ends (`go_w`, `err_r`), waits for the byte `g` on `go_r`, then `execvp(argv[0], argv)`; if exec
/// fails it writes its errno (4 bytes) to `err_w`, and without the byte (the parent closed `go_w`) it
/// does not exec. Either way it then `_exit(127)`s. Returns the child's pid.
///
/// All four descriptors are close-on-exec, so the program sees none of them, and the parent learns
/// that exec succeeded from EOF on `err_r`.
pub fn fork_held(
    argv: &[std::ffi::CString],
    go_r: &OwnedFd,
    go_w: &OwnedFd,
    err_r: &OwnedFd,
    err_w: &OwnedFd,
) -> io::Result<i32> {
    // Everything the child touches is prepared before the fork: after it, only async-signal-safe calls.
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let prog = ptrs[0];
    if prog.is_null() {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let (go_r, go_w, err_r, err_w) = (
        go_r.as_raw_fd(),
        go_w.as_raw_fd(),
        err_r.as_raw_fd(),
        err_w.as_raw_fd(),
    );
    // SAFETY: fork in a possibly multi-threaded process: the child calls only async-signal-safe
    // functions (close, read, execvp, write, _exit) on memory prepared before the fork (`ptrs` and
    // the strings it points to live until this function returns, in both processes).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: the child of the fork above: raw descriptors and pointers prepared before it, and
        // `_exit` so that no destructor of the parent's runs here.
        unsafe {
            libc::close(go_w);
            libc::close(err_r);
            let mut b = 0u8;
            let n = loop {
                let n = libc::read(go_r, std::ptr::addr_of_mut!(b).cast(), 1);
                if n >= 0 || *libc::__errno_location() != libc::EINTR {
                    break n;
                }
            };
            if n == 1 && b == b'g' {
                libc::execvp(prog, ptrs.as_ptr());
                let e = (*libc::__errno_location()).to_ne_bytes();
                libc::write(err_w, e.as_ptr().cast(), e.len());
            }
            libc::_exit(127);
        }
    }
    Ok(pid)
}

/// `waitpid(pid, &status, WNOHANG or 0)`, retried on EINTR: `Some(status)` once the child has ended
/// (reaped), `None` while it runs (`nohang`).
pub fn waitpid(pid: i32, nohang: bool) -> io::Result<Option<i32>> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid place for the status word.
        let r = unsafe { libc::waitpid(pid, &mut status, if nohang { libc::WNOHANG } else { 0 }) };
        match r {
            0 => return Ok(None),
            r if r > 0 => return Ok(Some(status)),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: a plain system call on integers.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes all of `buf` to `fd`, retrying short writes and EINTR.
pub fn write_all(fd: &OwnedFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a live slice of `buf.len()` readable bytes.
        let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = buf.get(n as usize..).unwrap_or_default();
    }
    Ok(())
}

/// Reads into `buf` until it is full or EOF, retrying EINTR; returns the bytes read.
pub fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a live slice of `rest.len()` writable bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) };
        match n {
            0 => break,
            n if n > 0 => done += n as usize,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(done)
}
