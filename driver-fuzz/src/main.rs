//! premap-driver-fuzz: random but reproducible syscall sequences against `/dev/premap`, from several
//! processes (half of them as uid 65534) and threads, with the kernel's fail-nth fault injection.
//!
//! Usage: `premap-driver-fuzz [--seed N] [--secs S] [--ops N] [--procs P] [--threads T]`
//! Prints `driver-fuzz: N ops in S s, seed X`. It fails (exit 1) when the driver breaks one of its
//! promises that user space can see (a successful mmap whose control page is wrong, a process that
//! dies of an unexpected signal, a syscall that does not return); kernel splats are found by the
//! console scan of driver/vmtest. A replay: the same `--seed`, `--procs` and `--threads`.

use premap_abi::header::{EventHeader, RECORD_SAMPLE};
use premap_abi::ioctl::*;
use premap_driver_fuzz::fault::FailNth;
use premap_driver_fuzz::{Op, Rng};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PAGE: usize = 4096;

struct Args {
    seed: u64,
    secs: u64,
    ops: u64,
    procs: u64,
    threads: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        secs: 30,
        ops: u64::MAX,
        procs: 2,
        threads: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or(format!("{k} needs a value"))?;
        let n: u64 = v.parse().map_err(|_| format!("{k}: not a number: {v}"))?;
        match k.as_str() {
            "--seed" => a.seed = n,
            "--secs" => a.secs = n,
            "--ops" => a.ops = n,
            "--procs" => a.procs = n.clamp(1, 16),
            "--threads" => a.threads = n.clamp(1, 16),
            _ => return Err(format!("unknown option {k}")),
        }
    }
    Ok(a)
}

/// A mapping one worker made; unmapped by the worker (never by another thread).
struct Map {
    ptr: usize,
    len: usize,
    prot: i32,
}

/// What the threads of one process share: open descriptors of the device (closed when the last user
/// drops them, so a number is never reused under another thread).
struct Shared {
    fds: Mutex<Vec<Arc<OwnedFd>>>,
    fail_nth: bool,
    ops: AtomicU64,
    stop: AtomicBool,
}

fn fd_at(sh: &Shared, i: u32) -> Option<Arc<OwnedFd>> {
    let fds = sh.fds.lock().ok()?;
    if fds.is_empty() {
        return None;
    }
    fds.get(i as usize % fds.len()).cloned()
}

fn ioctl<T>(fd: &OwnedFd, req: u32, arg: *mut T) -> i32 {
    // SAFETY: every caller passes either a pointer to a live local of the size `req` encodes, or a
    // deliberately bad address (a kernel-checked user pointer: the kernel answers EFAULT).
    unsafe { libc::ioctl(fd.as_raw_fd(), req as libc::Ioctl, arg) }
}

/// A valid record of `size` bytes (a SAMPLE, or another user-publishable type).
fn record(size: usize, seq: u64, ty: u32) -> Vec<u8> {
    let mut r = vec![0u8; size];
    r[..8].copy_from_slice(
        &EventHeader {
            r#type: ty,
            misc: 2,
            size: size as u16,
        }
        .to_bytes(),
    );
    if size >= 40 {
        r[32..40].copy_from_slice(&seq.to_ne_bytes());
    }
    r
}

fn check_control(m: &Map) -> Result<(), String> {
    if m.prot & libc::PROT_READ == 0 {
        return Ok(());
    }
    // SAFETY: the mapping is live (this worker owns it) and readable; data_offset and data_size are at
    // 1040 and 1048 of the control page, read volatile (the kernel owns them).
    let (off, size) = unsafe {
        let p = m.ptr as *const u8;
        (
            p.add(1040).cast::<u64>().read_volatile(),
            p.add(1048).cast::<u64>().read_volatile(),
        )
    };
    if off != PAGE as u64 || size != (m.len - PAGE) as u64 {
        return Err(format!(
            "control page of a {}-byte mapping says data_offset {off}, data_size {size}",
            m.len
        ));
    }
    Ok(())
}

fn worker(sh: &Shared, seed: u64, index: u64, ops_limit: u64) -> Result<(), String> {
    let mut r = Rng::new(seed, index);
    let mut maps: Vec<Map> = Vec::new();
    let mut pipe = [0i32; 2];
    // SAFETY: pipe2 fills the two descriptors of a fresh pipe.
    if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err("pipe2 failed".into());
    }
    // SAFETY: the pipe's descriptors are ours alone from here on.
    let (pr, pw) = unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
    // SAFETY: epoll_create1 has no memory arguments.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err("epoll_create1 failed".into());
    }
    // SAFETY: a fresh descriptor we own.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    // Each thread arms its own fail-nth.
    let fault = if sh.fail_nth {
        FailNth::open().ok()
    } else {
        None
    };
    let mut done = 0u64;
    while !sh.stop.load(Ordering::Relaxed) && done < ops_limit {
        let op = Op::random(&mut r);
        run_op(sh, &mut r, op, &mut maps, &pr, &pw, &ep, fault.as_ref())?;
        done += 1;
        sh.ops.fetch_add(1, Ordering::Relaxed);
    }
    for m in maps.drain(..) {
        // SAFETY: our own mapping.
        unsafe { libc::munmap(m.ptr as *mut _, m.len) };
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_op(
    sh: &Shared,
    r: &mut Rng,
    op: Op,
    maps: &mut Vec<Map>,
    pr: &OwnedFd,
    pw: &OwnedFd,
    ep: &OwnedFd,
    fault: Option<&FailNth>,
) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
    match op {
        Op::Open => {
            let mut fds = sh.fds.lock().map_err(|_| "poisoned")?;
            if fds.len() < 8 {
                if let Ok(f) = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(DEVICE_PATH)
                {
                    fds.push(Arc::new(OwnedFd::from(f)));
                }
            }
        }
        Op::Close { fd } => {
            let mut fds = sh.fds.lock().map_err(|_| "poisoned")?;
            if !fds.is_empty() {
                let i = fd as usize % fds.len();
                fds.swap_remove(i);
            }
        }
        Op::Create {
            fd,
            size,
            flags,
            data_pages,
            aux_pages,
            watermark,
            reserved,
        } => {
            if let Some(f) = fd_at(sh, fd) {
                let mut p = CreateParams {
                    size,
                    flags,
                    data_pages,
                    aux_pages,
                    wakeup_watermark: watermark,
                    reserved1: 0,
                    reserved2: reserved,
                };
                ioctl(&f, IOC_CREATE, &mut p);
            }
        }
        Op::Generate {
            fd,
            count,
            period_ns,
            batch,
            sample_size,
        } => {
            if let Some(f) = fd_at(sh, fd) {
                // Bounded so that a run's generators do not starve its own workers on 2 vCPUs.
                let count = count.min(1 << 20);
                let mut g = GenerateParams {
                    count,
                    period_ns,
                    batch,
                    sample_size,
                };
                ioctl(&f, IOC_GENERATE, &mut g);
            }
        }
        Op::Ioctl {
            fd,
            which,
            arg_kind,
            pgoff,
        } => {
            if let Some(f) = fd_at(sh, fd) {
                let mut buf = [u64::from(pgoff), 0, 0, 0, 0, 0, 0, 0];
                let ptr: *mut u64 = match arg_kind {
                    0 => std::ptr::null_mut(),
                    1 => 8 as *mut u64,
                    2 => maps.first().map_or(buf.as_mut_ptr(), |m| m.ptr as *mut u64),
                    _ => buf.as_mut_ptr(),
                };
                let req = match which {
                    0 => IOC_INFO,
                    1 => IOC_STATS,
                    2 => IOC_PAGE_INFO,
                    3 => IOC_CREATE,
                    4 => IOC_GENERATE,
                    _ => r.next_u64() as u32,
                };
                ioctl(&f, req, ptr);
            }
        }
        Op::Pause { fd, on } => {
            if let Some(f) = fd_at(sh, fd) {
                // SAFETY: PAUSE_OUTPUT takes an integer.
                unsafe {
                    libc::ioctl(
                        f.as_raw_fd(),
                        PERF_EVENT_IOC_PAUSE_OUTPUT as libc::Ioctl,
                        u64::from(on),
                    )
                };
            }
        }
        Op::Write {
            fd,
            kind,
            records,
            len,
            seed,
        } => {
            if let Some(f) = fd_at(sh, fd) {
                let bytes: Vec<u8> = match kind {
                    0 => (0..records)
                        .flat_map(|i| {
                            record(
                                8 * (1 + (seed as usize + i as usize) % 32),
                                u64::from(i),
                                RECORD_SAMPLE,
                            )
                        })
                        .collect(),
                    1 => {
                        let mut rr = Rng::new(seed, 0);
                        (0..(len as usize % 70_000))
                            .map(|_| rr.next_u64() as u8)
                            .collect()
                    }
                    2 => record(8, 0, premap_abi::header::RECORD_LOST),
                    _ => Vec::new(),
                };
                let (ptr, n) = match (kind, map_at(maps, len)) {
                    (3, Some(i)) if maps[i].prot & libc::PROT_READ != 0 => {
                        (maps[i].ptr as *const u8, maps[i].len.min(len as usize))
                    }
                    _ => (bytes.as_ptr(), bytes.len()),
                };
                // SAFETY: `ptr..ptr + n` is our vector or inside a live readable mapping of ours.
                unsafe { libc::write(f.as_raw_fd(), ptr.cast(), n) };
            }
        }
        Op::Poll { fd, epoll } => {
            if let Some(f) = fd_at(sh, fd) {
                if epoll {
                    let mut ev = libc::epoll_event {
                        events: (libc::EPOLLIN | libc::EPOLLET) as u32,
                        u64: 0,
                    };
                    // SAFETY: valid descriptors and event struct.
                    unsafe {
                        libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, f.as_raw_fd(), &mut ev)
                    };
                    let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
                    // SAFETY: `out` has room for 4 events.
                    unsafe { libc::epoll_wait(ep.as_raw_fd(), out.as_mut_ptr(), 4, 0) };
                    // SAFETY: as above.
                    unsafe {
                        libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_DEL, f.as_raw_fd(), &mut ev)
                    };
                } else {
                    let mut p = libc::pollfd {
                        fd: f.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    unsafe { libc::poll(&mut p, 1, 0) };
                }
            }
        }
        Op::Mmap {
            fd,
            pages,
            pgoff,
            prot,
            shared,
        } => {
            if maps.len() >= 8 {
                return Ok(());
            }
            if let Some(f) = fd_at(sh, fd) {
                let len = pages as usize * PAGE;
                let prot = prot as i32 & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
                let flags = if shared {
                    libc::MAP_SHARED
                } else {
                    libc::MAP_PRIVATE
                };
                // SAFETY: a fresh mapping chosen by the kernel; checked.
                let p = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len,
                        prot,
                        flags,
                        f.as_raw_fd(),
                        (pgoff as i64) * PAGE as i64,
                    )
                };
                if p != libc::MAP_FAILED {
                    let m = Map {
                        ptr: p as usize,
                        len,
                        prot,
                    };
                    if pgoff == 0 {
                        check_control(&m)?;
                    }
                    maps.push(m);
                }
            }
        }
        Op::Munmap { map, part } => {
            if let Some(i) = map_at(maps, map) {
                let m = &maps[i];
                if part && m.len > PAGE {
                    // SAFETY: part of our own mapping; the driver refuses the split, and if it did not,
                    // the part is never touched again (we forget the whole mapping below).
                    let rc = unsafe { libc::munmap((m.ptr + PAGE) as *mut _, PAGE) };
                    if rc == 0 {
                        return Err(format!(
                            "a partial munmap of a {}-byte mapping succeeded",
                            m.len
                        ));
                    }
                } else {
                    let m = maps.swap_remove(i);
                    // SAFETY: our own whole mapping, forgotten here.
                    unsafe { libc::munmap(m.ptr as *mut _, m.len) };
                }
            }
        }
        Op::Mremap { map, pages } => {
            if let Some(i) = map_at(maps, map) {
                let m = &mut maps[i];
                let new = pages as usize * PAGE;
                // SAFETY: remapping our own mapping; on success we take the new address and size.
                let p = unsafe { libc::mremap(m.ptr as *mut _, m.len, new, libc::MREMAP_MAYMOVE) };
                if p != libc::MAP_FAILED {
                    if new != m.len {
                        return Err(format!(
                            "mremap of a ring mapping from {} to {new} bytes succeeded",
                            m.len
                        ));
                    }
                    m.ptr = p as usize;
                }
            }
        }
        Op::Mprotect { map, prot } => {
            if let Some(i) = map_at(maps, map) {
                let m = &mut maps[i];
                let prot = prot as i32 & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
                // SAFETY: our own mapping.
                if unsafe { libc::mprotect(m.ptr as *mut _, m.len, prot) } == 0 {
                    if prot & libc::PROT_EXEC != 0 {
                        return Err("mprotect(PROT_EXEC) of a ring mapping succeeded".into());
                    }
                    m.prot = prot;
                }
            }
        }
        Op::Madvise { map, advice } => {
            if let Some(i) = map_at(maps, map) {
                let m = &maps[i];
                // SAFETY: our own mapping; the driver's pages are not anonymous memory.
                unsafe { libc::madvise(m.ptr as *mut _, m.len, advice) };
                check_control(m)?;
            }
        }
        Op::Touch { map, seed } => {
            if let Some(i) = map_at(maps, map) {
                let m = &maps[i];
                if m.prot & libc::PROT_READ != 0 {
                    check_control(m)?;
                    let mut rr = Rng::new(seed, 1);
                    for _ in 0..16 {
                        let off = rr.below(m.len as u64) as usize;
                        // SAFETY: inside our live readable mapping.
                        std::hint::black_box(unsafe {
                            ((m.ptr + off) as *const u8).read_volatile()
                        });
                    }
                }
            }
        }
        Op::ChildWrite { fd, page } => {
            if let Some(f) = fd_at(sh, fd) {
                let raw = f.as_raw_fd();
                // SAFETY: fork; the child makes only syscalls (no allocation: another thread may have
                // held the allocator's lock at the fork), may be killed by SIGBUS/SIGSEGV (the data pages
                // are read-only) and leaves with _exit.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: a stack struct for IOC_INFO; the mapping is the child's own; _exit.
                    unsafe {
                        let mut info = BufferInfo::default();
                        if libc::ioctl(raw, IOC_INFO as libc::Ioctl, &mut info) != 0 {
                            libc::_exit(0);
                        }
                        let len = info.mmap_len as usize;
                        let rw = libc::PROT_READ | libc::PROT_WRITE;
                        let p = libc::mmap(std::ptr::null_mut(), len, rw, libc::MAP_SHARED, raw, 0);
                        if p == libc::MAP_FAILED {
                            libc::_exit(0);
                        }
                        let off = (page as usize * PAGE).min(len - 8);
                        (p.cast::<u8>().add(off).cast::<u64>()).write_volatile(0);
                        libc::_exit(0);
                    }
                }
                reap(pid, true)?;
            }
        }
        Op::Fork => {
            // SAFETY: fork; the child only exits (mappings are VM_DONTCOPY).
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: leave at once.
                unsafe { libc::_exit(0) };
            }
            reap(pid, false)?;
        }
        Op::Vmsplice { map } => {
            if let Some(i) = map_at(maps, map) {
                let m = &maps[i];
                let iov = libc::iovec {
                    iov_base: m.ptr as *mut _,
                    iov_len: m.len.min(16 * PAGE),
                };
                // SAFETY: a valid iovec over our mapping; the kernel decides whether it may pin it.
                unsafe { libc::vmsplice(pw.as_raw_fd(), &iov, 1, libc::SPLICE_F_NONBLOCK) };
                let mut sink = [0u8; 4096];
                // SAFETY: draining the pipe into a local buffer.
                while unsafe { libc::read(pr.as_raw_fd(), sink.as_mut_ptr().cast(), sink.len()) }
                    > 0
                {}
            }
        }
        Op::ProcessVmReadv { map } => {
            if let Some(i) = map_at(maps, map) {
                let m = &maps[i];
                let mut buf = vec![0u8; m.len.min(8 * PAGE)];
                let local = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: buf.len(),
                };
                let remote = libc::iovec {
                    iov_base: m.ptr as *mut _,
                    iov_len: buf.len(),
                };
                // SAFETY: valid iovecs; the remote one is our own mapping, read through GUP.
                unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
            }
        }
        Op::FailNth { n } => {
            let next = Op::random(r);
            if let (Some(f), true) = (fault, next.fail_nth_safe()) {
                let _ = f.arm(n);
                let res = run_op(sh, r, next, maps, pr, pw, ep, fault);
                f.disarm();
                res?;
            }
        }
    }
    Ok(())
}

/// Waits for a child; a child killed by SIGSEGV/SIGBUS is expected only where it wrote to a ring.
fn reap(pid: i32, may_fault: bool) -> Result<(), String> {
    if pid < 0 {
        return Ok(()); // fork refused (memory, limits): not the driver's business
    }
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        if !(may_fault && (sig == libc::SIGSEGV || sig == libc::SIGBUS)) {
            return Err(format!("a child died of signal {sig}"));
        }
    }
    Ok(())
}

/// One process: `threads` workers over shared descriptors until the deadline.
fn process(seed: u64, index: u64, args: &Args, fail_nth: bool) -> Result<u64, String> {
    let sh = Arc::new(Shared {
        fds: Mutex::new(Vec::new()),
        fail_nth,
        ops: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let per_thread = args.ops / (args.procs * args.threads).max(1);
    let handles: Vec<_> = (0..args.threads)
        .map(|t| {
            let sh = sh.clone();
            std::thread::spawn(move || worker(&sh, seed, index * 16 + t, per_thread))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(args.secs);
    while Instant::now() < deadline && !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(50));
    }
    sh.stop.store(true, Ordering::Relaxed);
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => first_err = first_err.or(Some(e)),
            Err(_) => first_err = first_err.or(Some("a worker panicked".to_string())),
        }
    }
    // Stop any generator before the descriptors go (close does it too; this is the explicit path).
    if let Ok(fds) = sh.fds.lock() {
        for f in fds.iter() {
            let mut g = GenerateParams::default();
            ioctl(f, IOC_GENERATE, &mut g);
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(sh.ops.load(Ordering::Relaxed)),
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("premap-driver-fuzz: {e}");
            std::process::exit(2);
        }
    };
    let fail_nth = FailNth::open().is_ok();
    println!(
        "driver-fuzz: seed {} ({} processes x {} threads, {} s, fault injection {})",
        args.seed,
        args.procs,
        args.threads,
        args.secs,
        if fail_nth { "on" } else { "off" }
    );
    let start = Instant::now();
    let mut children = Vec::new();
    for p in 0..args.procs {
        // Results come back through a pipe: the op count, or an error line.
        let mut fds = [0i32; 2];
        // SAFETY: pipe fills two fresh descriptors.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            eprintln!("driver-fuzz: pipe failed");
            std::process::exit(1);
        }
        // SAFETY: fork before any thread exists in this process (the workers start in the child).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: the child's end of the pipe; dropping privileges for odd processes.
            unsafe {
                libc::close(fds[0]);
                if p % 2 == 1 && (libc::setgid(65534) != 0 || libc::setuid(65534) != 0) {
                    libc::_exit(3);
                }
            }
            let out = match process(args.seed, p, &args, fail_nth) {
                Ok(n) => format!("ok {n}\n"),
                Err(e) => format!(
                    "error (process {p}, {}): {e}\n",
                    if p % 2 == 1 { "uid 65534" } else { "root" }
                ),
            };
            // SAFETY: writing our message to the pipe, then leaving.
            unsafe {
                libc::write(fds[1], out.as_ptr().cast(), out.len());
                libc::_exit(0);
            }
        }
        // SAFETY: the parent's copy of the write end is not needed.
        unsafe { libc::close(fds[1]) };
        // SAFETY: the read end is ours.
        children.push((pid, unsafe { OwnedFd::from_raw_fd(fds[0]) }));
    }
    let (mut ops, mut failed) = (0u64, false);
    for (pid, rd) in children {
        let mut msg = String::new();
        let _ = std::io::Read::read_to_string(&mut std::fs::File::from(rd), &mut msg);
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        match msg
            .trim()
            .strip_prefix("ok ")
            .and_then(|n| n.parse::<u64>().ok())
        {
            Some(n) => ops += n,
            None => {
                failed = true;
                eprintln!("driver-fuzz: {} (status {status:#x})", msg.trim());
            }
        }
    }
    println!(
        "driver-fuzz: {ops} ops in {} s, seed {}",
        start.elapsed().as_secs(),
        args.seed
    );
    std::process::exit(i32::from(failed));
}
