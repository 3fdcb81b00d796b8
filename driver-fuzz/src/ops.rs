//! One fuzzing operation against the device: open/close, every ioctl, write, poll, mmap and what
//! a mapping can be asked (munmap, mremap, mprotect, madvise, reads), writes from a child, fork,
//! vmsplice, process_vm_readv, and arming fail-nth.

use super::*;

/// Runs one operation (each is a function below, named after it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_op(
    sh: &Shared,
    r: &mut Rng,
    op: Op,
    maps: &mut Vec<Map>,
    pr: &OwnedFd,
    pw: &OwnedFd,
    ep: &OwnedFd,
    fault: Option<&FailNth>,
) -> Result<(), String> {
    match op {
        Op::Open => op_open(sh),
        Op::Close { fd } => op_close(sh, fd),
        Op::Create {
            fd,
            size,
            flags,
            data_pages,
            aux_pages,
            watermark,
            reserved,
        } => op_create(
            sh, fd, size, flags, data_pages, aux_pages, watermark, reserved,
        ),
        Op::Generate {
            fd,
            count,
            period_ns,
            batch,
            sample_size,
        } => op_generate(sh, fd, count, period_ns, batch, sample_size),
        Op::Ioctl {
            fd,
            which,
            arg_kind,
            pgoff,
        } => op_ioctl(sh, r, maps, fd, which, arg_kind, pgoff),
        Op::Pause { fd, on } => op_pause(sh, fd, on),
        Op::Write {
            fd,
            kind,
            records,
            len,
            seed,
        } => op_write(sh, maps, fd, kind, records, len, seed),
        Op::Poll { fd, epoll } => op_poll(sh, ep, fd, epoll),
        Op::Mmap {
            fd,
            pages,
            pgoff,
            prot,
            shared,
        } => op_mmap(sh, maps, fd, pages, pgoff, prot, shared),
        Op::Munmap { map, part } => op_munmap(maps, map, part),
        Op::Mremap { map, pages } => op_mremap(maps, map, pages),
        Op::Mprotect { map, prot } => op_mprotect(maps, map, prot),
        Op::Madvise { map, advice } => op_madvise(maps, map, advice),
        Op::Touch { map, seed } => op_touch(maps, map, seed),
        Op::ChildWrite { fd, page } => op_child_write(sh, fd, page),
        Op::Fork => op_fork(),
        Op::Vmsplice { map } => op_vmsplice(maps, pr, pw, map),
        Op::ProcessVmReadv { map } => op_process_vm_readv(maps, map),
        Op::FailNth { n } => op_fail_nth(sh, r, maps, pr, pw, ep, fault, n),
    }
}

/// open(/dev/premap).
fn op_open(sh: &Shared) -> Result<(), String> {
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
    Ok(())
}

/// close a descriptor (the driver sees release when the last reference goes).
fn op_close(sh: &Shared, fd: u32) -> Result<(), String> {
    let mut fds = sh.fds.lock().map_err(|_| "poisoned")?;
    if !fds.is_empty() {
        let i = fd as usize % fds.len();
        fds.swap_remove(i);
    }
    Ok(())
}

/// IOC_CREATE with possibly hostile fields.
#[allow(clippy::too_many_arguments)]
fn op_create(
    sh: &Shared,
    fd: u32,
    size: u32,
    flags: u32,
    data_pages: u32,
    aux_pages: u32,
    watermark: u32,
    reserved: u64,
) -> Result<(), String> {
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
    Ok(())
}

/// IOC_GENERATE with possibly hostile fields (count 0 stops).
fn op_generate(
    sh: &Shared,
    fd: u32,
    count: u64,
    period_ns: u64,
    batch: u32,
    sample_size: u32,
) -> Result<(), String> {
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
    Ok(())
}

/// IOC_INFO / IOC_STATS / IOC_PAGE_INFO, or any request number, with a good or a bad pointer.
fn op_ioctl(
    sh: &Shared,
    r: &mut Rng,
    maps: &mut [Map],
    fd: u32,
    which: u32,
    arg_kind: u32,
    pgoff: u32,
) -> Result<(), String> {
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
    Ok(())
}

/// PERF_EVENT_IOC_PAUSE_OUTPUT.
fn op_pause(sh: &Shared, fd: u32, on: bool) -> Result<(), String> {
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
    Ok(())
}

/// write() of `records` valid 8..=256-byte records, or `len` random bytes, or from a mapping.
fn op_write(
    sh: &Shared,
    maps: &mut Vec<Map>,
    fd: u32,
    kind: u32,
    records: u32,
    len: u32,
    seed: u64,
) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
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
    Ok(())
}

/// poll() or epoll with a zero timeout.
fn op_poll(sh: &Shared, ep: &OwnedFd, fd: u32, epoll: bool) -> Result<(), String> {
    if let Some(f) = fd_at(sh, fd) {
        if epoll {
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLET) as u32,
                u64: 0,
            };
            // SAFETY: valid descriptors and event struct.
            unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, f.as_raw_fd(), &mut ev) };
            let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
            // SAFETY: `out` has room for 4 events.
            unsafe { libc::epoll_wait(ep.as_raw_fd(), out.as_mut_ptr(), 4, 0) };
            // SAFETY: as above.
            unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_DEL, f.as_raw_fd(), &mut ev) };
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
    Ok(())
}

/// mmap of `pages` pages at page offset `pgoff` with `prot` and `flags` bits.
fn op_mmap(
    sh: &Shared,
    maps: &mut Vec<Map>,
    fd: u32,
    pages: u32,
    pgoff: u32,
    prot: u32,
    shared: bool,
) -> Result<(), String> {
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
    Ok(())
}

/// munmap of a whole mapping, or of part of it.
fn op_munmap(maps: &mut Vec<Map>, map: u32, part: bool) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
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
    Ok(())
}

/// mremap of a mapping to `pages` (may move).
fn op_mremap(maps: &mut Vec<Map>, map: u32, pages: u32) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
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
    Ok(())
}

/// mprotect of a mapping.
fn op_mprotect(maps: &mut Vec<Map>, map: u32, prot: u32) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
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
    Ok(())
}

/// madvise of a mapping.
fn op_madvise(maps: &mut Vec<Map>, map: u32, advice: i32) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
    if let Some(i) = map_at(maps, map) {
        let m = &maps[i];
        // SAFETY: our own mapping; the driver's pages are not anonymous memory.
        unsafe { libc::madvise(m.ptr as *mut _, m.len, advice) };
        check_control(m)?;
    }
    Ok(())
}

/// Reads of the mapping: control page fields and data bytes.
fn op_touch(maps: &mut Vec<Map>, map: u32, seed: u64) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
    if let Some(i) = map_at(maps, map) {
        let m = &maps[i];
        if m.prot & libc::PROT_READ != 0 {
            check_control(m)?;
            let mut rr = Rng::new(seed, 1);
            for _ in 0..16 {
                let off = rr.below(m.len as u64) as usize;
                // SAFETY: inside our live readable mapping.
                std::hint::black_box(unsafe { ((m.ptr + off) as *const u8).read_volatile() });
            }
        }
    }
    Ok(())
}

/// page takes it; a data page answers SIGBUS).
fn op_child_write(sh: &Shared, fd: u32, page: u32) -> Result<(), String> {
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
    Ok(())
}

/// fork; the child touches the mappings and exits.
fn op_fork() -> Result<(), String> {
    // SAFETY: fork; the child only exits (mappings are VM_DONTCOPY).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: leave at once.
        unsafe { libc::_exit(0) };
    }
    reap(pid, false)?;
    Ok(())
}

/// vmsplice from a mapping into a pipe (GUP).
fn op_vmsplice(maps: &mut Vec<Map>, pr: &OwnedFd, pw: &OwnedFd, map: u32) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
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
        while unsafe { libc::read(pr.as_raw_fd(), sink.as_mut_ptr().cast(), sink.len()) } > 0 {}
    }
    Ok(())
}

/// process_vm_readv from a mapping of our own process (GUP of another mm's view).
fn op_process_vm_readv(maps: &mut Vec<Map>, map: u32) -> Result<(), String> {
    let map_at = |maps: &Vec<Map>, i: u32| (!maps.is_empty()).then(|| i as usize % maps.len());
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
    Ok(())
}

/// Arms the kernel's fail-nth for the next operation of this thread.
#[allow(clippy::too_many_arguments)]
fn op_fail_nth(
    sh: &Shared,
    r: &mut Rng,
    maps: &mut Vec<Map>,
    pr: &OwnedFd,
    pw: &OwnedFd,
    ep: &OwnedFd,
    fault: Option<&FailNth>,
    n: u32,
) -> Result<(), String> {
    let next = Op::random(r);
    if let (Some(f), true) = (fault, next.fail_nth_safe()) {
        let _ = f.arm(n);
        let res = run_op(sh, r, next, maps, pr, pw, ep, fault);
        f.disarm();
        res?;
    }
    Ok(())
}
