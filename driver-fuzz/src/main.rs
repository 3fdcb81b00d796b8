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
use premap_abi::uapi::*;
use premap_driver_fuzz::fault::FailNth;
use premap_driver_fuzz::{Op, Rng};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod ops;
use ops::run_op;

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
