//! The userlib reading rings of the premap driver (`/dev/premap`). These need the module loaded, so they
//! are `#[ignore]`d on the host (reported as ignored, never as passed) and run by `driver/vmtest` in
//! a guest kernel with `--ignored`.

use premap::abi::header::{RECORD_LOST, RECORD_SAMPLE};
use premap::abi::ioctl::*;
use premap::abi::uapi::*;
use premap::{Consume, Overwrite, Poller, Ring};
use premap_test_support::as_nobody;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `ioctl(fd, req, &mut v)` for the driver's requests, each of which reads and writes exactly the one
/// struct `T` its number encodes.
fn ioc<T: zerocopy::IntoBytes + zerocopy::FromBytes>(
    fd: std::os::fd::BorrowedFd<'_>,
    req: u32,
    v: &mut T,
) -> std::io::Result<i32> {
    assert_eq!(
        ioc_size(req),
        std::mem::size_of::<T>(),
        "request {req:#x} encodes another size"
    );
    // SAFETY: every request these tests pass is a premap ioctl whose argument is exactly one `T`
    // (its size, checked above, is encoded in the request), valid for reads and writes for the call;
    // any bytes the driver writes form a valid `T` (FromBytes).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req as libc::Ioctl, v as *mut T) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Maps the ring of a device file these tests created; each test maps each file's ring once.
fn map_ring<M: premap::RingMode>(
    fd: std::os::fd::BorrowedFd<'_>,
    pages: usize,
    _mode: M,
) -> premap::Result<Ring<M>> {
    // SAFETY: `fd` is a /dev/premap file with a buffer, and the tests read each buffer with one ring.
    unsafe { Ring::map(fd, pages) }
}

fn device(data_pages: u32, overwrite: bool) -> premap::Device {
    device_with(data_pages, if overwrite { CREATE_OVERWRITE } else { 0 })
}

/// A fresh buffer through premap's typed device API.
fn device_with(data_pages: u32, flags: u32) -> premap::Device {
    let dev = premap::Device::open().expect("open /dev/premap (is premap.ko loaded?)");
    dev.create(&CreateParams {
        size: 32,
        flags,
        data_pages,
        wakeup_watermark: 4096,
        ..Default::default()
    })
    .expect("IOC_CREATE");
    dev
}

/// A shared read-write mapping of `len` bytes of the device file (`MAP_FAILED` on failure, with errno).
fn map_rw(fd: std::os::fd::BorrowedFd<'_>, len: usize) -> *mut libc::c_void {
    // SAFETY: a fresh shared mapping of the device; the caller checks for failure and unmaps it.
    unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    }
}

fn generate(dev: &premap::Device, count: u64, sample_size: u32) {
    dev.generate(&GenerateParams {
        count,
        period_ns: 0,
        batch: 32,
        sample_size,
    })
    .expect("IOC_GENERATE");
}

fn seq(r: &premap::Record<'_>) -> u64 {
    u64::from_ne_bytes(r.bytes[32..40].try_into().unwrap())
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn poll_wakes_the_reader_and_every_generated_record_arrives_or_is_counted() {
    let fd = device(16, false);
    let mut ring = map_ring(fd.as_fd(), 16, Consume).unwrap();
    let mut poller = Poller::new().unwrap();
    poller.add(fd.as_fd(), 1).unwrap();
    const N: u64 = 100_000;
    generate(&fd, N, 64);
    let (mut got, mut lost, mut next) = (0u64, 0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(120);
    while got + lost < N && Instant::now() < deadline {
        poller.wait(Some(Duration::from_millis(50))).unwrap();
        ring.drain(|r| match r.header.r#type {
            RECORD_SAMPLE => {
                let s = seq(&r);
                assert!(s >= next, "sequence went backwards: {s} after {next}");
                assert_eq!(r.bytes.len(), 64);
                next = s + 1;
                got += 1;
            }
            RECORD_LOST => lost += u64::from_ne_bytes(r.bytes[16..24].try_into().unwrap()),
            t => panic!("unexpected record type {t}"),
        })
        .unwrap();
    }
    let stats = fd.stats().unwrap();
    assert_eq!(got + stats.lost, N, "{got} read + {} dropped", stats.lost);
    assert!(stats.wakeups > 0, "poll was never woken");
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn write_to_copies_the_driver_ring_into_a_file() {
    let fd = device(4, false);
    let mut ring = map_ring(fd.as_fd(), 4, Consume).unwrap();
    generate(&fd, 200, 48);
    std::thread::sleep(Duration::from_millis(200));
    let path = std::env::temp_dir().join("premap-driver-write-to");
    let f = std::fs::File::create(&path).unwrap();
    let s = ring.write_to(f.as_fd()).unwrap();
    drop(f);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(s.bytes as usize, bytes.len());
    assert_eq!(s.samples, 200);
    let recs: Vec<_> = premap::abi::ring::RecordIter::new(premap::abi::RawData::Single(&bytes))
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(recs.len(), 200);
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn overwrite_ring_newest_records_come_first() {
    let fd = device(1, true);
    let mut ring = map_ring(fd.as_fd(), 1, Overwrite).unwrap();
    generate(&fd, 500, 64);
    std::thread::sleep(Duration::from_millis(300));
    let mut seqs = Vec::new();
    {
        let mut b = ring.newest().unwrap();
        while let Some(r) = b.next() {
            seqs.push(seq(&r.unwrap()));
        }
    }
    assert_eq!(seqs.first(), Some(&499));
    assert_eq!(seqs.len(), 4096 / 64);
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1));
}

/// Races mmap, munmap, mremap, fork, close and reads against the generator at full speed. Any kernel
/// splat fails the VM test; here every mapping must read valid control data and every record parse.
#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn stress_mapping_races_while_the_producer_runs() {
    stress_mapping(0);
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn stress_typed_mapping_races_with_madvise_dontneed_while_the_producer_runs() {
    stress_mapping(CREATE_TYPED_PAGES);
}

/// A reader at full speed, two mappers (map, read, mremap, fork, unmap; some through fresh files that
/// close while mapped) and, for the typed strategy, a thread that zaps its own mapping with
/// MADV_DONTNEED and reads it back (the fault handler maps the same pages again), all while the
/// generator runs.
fn stress_mapping(flags: u32) {
    let stop = Arc::new(AtomicBool::new(false));
    let fd = Arc::new(device_with(8, flags));
    generate(&fd, u64::MAX / 2, 40);
    let mut threads = Vec::new();
    // A reader draining at full speed.
    {
        let (fd, stop) = (fd.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut ring = map_ring(fd.as_fd(), 8, Consume).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                ring.drain(|r| {
                    assert!(r.header.r#type == RECORD_SAMPLE || r.header.r#type == RECORD_LOST);
                    n += 1;
                })
                .unwrap();
            }
            assert!(n > 0);
        }));
    }
    // Mappers: map, read, maybe mremap, unmap; some through fresh files that close while mapped.
    for t in 0..2 {
        let (fd, stop) = (fd.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let own;
                let f = if i % 3 == 0 {
                    own = device_with(2, flags);
                    own.as_fd()
                } else {
                    fd.as_fd()
                };
                let pages = if i % 3 == 0 { 3 } else { 9 };
                let len = pages * 4096;
                let p = map_rw(f, len);
                assert_ne!(
                    p,
                    libc::MAP_FAILED,
                    "mmap: {}",
                    std::io::Error::last_os_error()
                );
                // SAFETY: reading data_size (offset 1048) of the live control page.
                let size = unsafe { (p as *const u8).add(1048).cast::<u64>().read_volatile() };
                assert_eq!(size, (pages as u64 - 1) * 4096);
                let mut p = p;
                if (i + t) % 4 == 1 {
                    // SAFETY: moving our whole mapping.
                    let q = unsafe { libc::mremap(p, len, len, libc::MREMAP_MAYMOVE) };
                    assert_ne!(q, libc::MAP_FAILED);
                    p = q;
                }
                if (i + t) % 5 == 2 {
                    // SAFETY: fork; the child only reads and exits.
                    let pid = unsafe { libc::fork() };
                    if pid == 0 {
                        // SAFETY: leave the child at once.
                        unsafe { libc::_exit(0) };
                    }
                    // SAFETY: reap the child.
                    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                }
                // SAFETY: unmapping our own mapping.
                assert_eq!(unsafe { libc::munmap(p, len) }, 0);
                i += 1;
            }
        }));
    }
    if flags & CREATE_TYPED_PAGES != 0 {
        let (fd, stop) = (fd.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let len = 9 * 4096;
            let p = map_rw(fd.as_fd(), len);
            assert_ne!(p, libc::MAP_FAILED);
            let mut zaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: our own mapping; for the typed strategy the driver maps zapped pages again.
                assert_eq!(unsafe { libc::madvise(p, len, libc::MADV_DONTNEED) }, 0);
                // SAFETY: data_size (offset 1048) of the live control page, faulted back in.
                let size = unsafe { (p as *const u8).add(1048).cast::<u64>().read_volatile() };
                assert_eq!(size, 8 * 4096, "the control page came back as another page");
                for page in 1..9 {
                    // SAFETY: inside the live readable mapping.
                    std::hint::black_box(unsafe {
                        (p as *const u8).add(page * 4096).read_volatile()
                    });
                }
                zaps += 1;
            }
            // SAFETY: unmapping our own mapping.
            assert_eq!(unsafe { libc::munmap(p, len) }, 0);
            assert!(zaps > 0);
        }));
    }
    std::thread::sleep(Duration::from_secs(8));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    fd.generate(&GenerateParams::default()).unwrap();
    let stats = fd.stats().unwrap();
    assert_eq!(stats.mappings, 0, "every mapping was torn down");
    assert!(stats.records > 1000);
}

// ---- a hostile local user: limits, accounting, a generator that cannot hang, poll, mmap rules ----------

fn open_device() -> OwnedFd {
    OwnedFd::from(
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(DEVICE_PATH)
            .expect("open /dev/premap"),
    )
}

fn create(fd: &OwnedFd, data_pages: u32, flags: u32, watermark: u32) -> std::io::Result<i32> {
    let mut p = CreateParams {
        size: 32,
        flags,
        data_pages,
        wakeup_watermark: watermark,
        ..Default::default()
    };
    ioc(fd.as_fd(), IOC_CREATE, &mut p)
}

fn errno(r: std::io::Result<i32>) -> i32 {
    r.err().and_then(|e| e.raw_os_error()).unwrap_or(0)
}

fn mlock_kb() -> u64 {
    std::fs::read_to_string("/sys/module/premap/parameters/mlock_kb")
        .expect("the mlock_kb module parameter")
        .trim()
        .parse()
        .unwrap()
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn an_unprivileged_user_pins_no_more_than_rlimit_memlock_plus_the_allowance() {
    // RLIMIT_MEMLOCK 4 MiB for the child; the allowance comes from the module parameter.
    let rlimit = 4u64 << 20;
    let limit_pages = mlock_kb() * 1024 / 4096 + rlimit / 4096;
    let per_buffer = 1024 + 1;
    let expected = (limit_pages / per_buffer) as i32;
    assert!((1..60).contains(&expected), "limit {limit_pages} pages");
    let got = as_nobody(|| {
        let lim = libc::rlimit {
            rlim_cur: rlimit,
            rlim_max: rlimit,
        };
        // SAFETY: setting our own limit from a valid struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) } != 0 {
            return 101;
        }
        let mut held = Vec::new();
        for _ in 0..64 {
            let fd = open_device();
            match create(&fd, 1024, 0, 0) {
                Ok(_) => held.push(fd),
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => break,
                Err(_) => return 102,
            }
        }
        let n = held.len() as i32;
        // Closing gives the pages back: the same amount can be pinned again.
        drop(held);
        let again: Vec<_> = (0..n).map(|_| open_device()).collect();
        if again.iter().any(|fd| create(fd, 1024, 0, 0).is_err()) {
            return 103;
        }
        n
    });
    assert_eq!(
        got, expected,
        "buffers of 1025 pages created before EPERM (limit {limit_pages} pages)"
    );
    // Root (CAP_IPC_LOCK) is not bound by the user limit.
    let fds: Vec<_> = (0..expected + 2).map(|_| open_device()).collect();
    for fd in &fds {
        create(fd, 1024, 0, 0).expect("root creates past the user limit");
    }
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn a_buffer_larger_than_half_of_ram_fails_with_enomem_even_for_root() {
    let fd = open_device();
    // 2^20 pages = 4 GiB in a 1 GiB guest.
    assert_eq!(errno(create(&fd, MAX_AREA_PAGES, 0, 0)), libc::ENOMEM);
    let mut p = CreateParams {
        size: 32,
        data_pages: 1 << 16,
        aux_pages: MAX_AREA_PAGES,
        ..Default::default()
    };
    assert_eq!(errno(ioc(fd.as_fd(), IOC_CREATE, &mut p)), libc::ENOMEM);
    // The file is still usable afterwards.
    create(&fd, 4, 0, 0).unwrap();
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn generator_parameters_are_bounded_and_close_stops_it_promptly() {
    let fd = device(4, false);
    let mut g = GenerateParams {
        count: u64::MAX,
        period_ns: u64::MAX,
        batch: 1,
        sample_size: 40,
    };
    assert_eq!(errno(ioc(fd.as_fd(), IOC_GENERATE, &mut g)), libc::EINVAL);
    g.period_ns = 0;
    g.batch = u32::MAX;
    assert_eq!(errno(ioc(fd.as_fd(), IOC_GENERATE, &mut g)), libc::EINVAL);
    // The longest period: stopping (a new GENERATE, then close) still returns at once.
    g.batch = MAX_GENERATE_BATCH;
    g.period_ns = MAX_GENERATE_PERIOD_NS;
    ioc(fd.as_fd(), IOC_GENERATE, &mut g).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    ioc(fd.as_fd(), IOC_GENERATE, &mut g).unwrap();
    let restart = t.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    drop(fd);
    let close = t.elapsed();
    assert!(
        restart < Duration::from_millis(500),
        "restarting the generator took {restart:?}"
    );
    assert!(close < Duration::from_millis(500), "close took {close:?}");
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn a_user_runs_a_bounded_number_of_generators() {
    let fds: Vec<_> = (0..=MAX_GENERATORS_PER_USER)
        .map(|_| device(1, false))
        .collect();
    let mut g = GenerateParams {
        count: u64::MAX,
        period_ns: 1_000_000,
        batch: 1,
        sample_size: 40,
    };
    for fd in &fds[..MAX_GENERATORS_PER_USER as usize] {
        ioc(fd.as_fd(), IOC_GENERATE, &mut g).unwrap();
    }
    let last = &fds[MAX_GENERATORS_PER_USER as usize];
    assert_eq!(errno(ioc(last.as_fd(), IOC_GENERATE, &mut g)), libc::EAGAIN);
    // Stopping one frees its slot.
    let mut stop = GenerateParams::default();
    ioc(fds[0].as_fd(), IOC_GENERATE, &mut stop).unwrap();
    ioc(last.as_fd(), IOC_GENERATE, &mut g).unwrap();
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn a_write_as_large_as_most_of_the_ring_is_published_whole() {
    let fd = device(2048, false); // 8 MiB
    let n = (5 << 20) / 64;
    let mut bytes = Vec::with_capacity(n * 64);
    for i in 0..n as u64 {
        bytes.extend_from_slice(&premap::synthetic::sample_record(64, i));
    }
    // SAFETY: writing our own buffer to our own descriptor.
    let w = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
    assert_eq!(
        w,
        bytes.len() as isize,
        "write: {}",
        std::io::Error::last_os_error()
    );
    let stats = fd.stats().unwrap();
    assert_eq!(stats.records, n as u64);
}

fn readable_now(fd: &OwnedFd) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    assert!(r >= 0);
    p.revents & libc::POLLIN != 0
}

fn write_samples(fd: &OwnedFd, n: usize) {
    for i in 0..n as u64 {
        let r = premap::synthetic::sample_record(64, i);
        // SAFETY: writing our own buffer.
        let w = unsafe { libc::write(fd.as_raw_fd(), r.as_ptr().cast(), 64) };
        assert_eq!(w, 64);
    }
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn poll_follows_the_watermark_in_both_modes() {
    // Overwrite: readable once per watermark's worth written, not forever after the first record.
    let fd = open_device();
    create(&fd, 4, CREATE_OVERWRITE, 1024).unwrap();
    let _ring = map_ring(fd.as_fd(), 4, Overwrite).unwrap();
    write_samples(&fd, 8); // 512 bytes
    assert!(
        !readable_now(&fd),
        "overwrite: readable below the watermark"
    );
    write_samples(&fd, 8); // 1024 bytes
    assert!(
        readable_now(&fd),
        "overwrite: not readable at the watermark"
    );
    assert!(
        !readable_now(&fd),
        "overwrite: still readable with nothing new"
    );
    write_samples(&fd, 16);
    assert!(
        readable_now(&fd),
        "overwrite: not readable after the next watermark"
    );

    // Consume: readable while the unread bytes reach the watermark; data_head (user-writable) is not
    // believed.
    let fd = open_device();
    create(&fd, 4, 0, 1024).unwrap();
    let ring = map_ring(fd.as_fd(), 4, Consume).unwrap();
    // Forging data_head through the writable control page, as a hostile reader would.
    // SAFETY: the control page is mapped writable and live while `ring` is; data_head is at offset
    // 1024, 8-aligned; a volatile store of a plain u64 that the driver only ever stores too.
    unsafe {
        ring.control()
            .as_ptr()
            .cast::<u8>()
            .add(1024)
            .cast::<u64>()
            .write_volatile(1 << 20)
    };
    assert!(
        !readable_now(&fd),
        "consume: a forged data_head made the ring readable"
    );
    write_samples(&fd, 16);
    assert!(readable_now(&fd), "consume: not readable at the watermark");
    assert!(readable_now(&fd), "consume: level-triggered until read");
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn mappings_are_never_executable() {
    let fd = device(4, false);
    let len = 5 * 4096;
    // SAFETY: an mmap attempt; checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    assert_eq!(p, libc::MAP_FAILED, "a PROT_EXEC mapping was accepted");
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EPERM)
    );
    let p = map_rw(fd.as_fd(), len);
    assert_ne!(p, libc::MAP_FAILED);
    // SAFETY: our own mapping.
    let r = unsafe { libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC) };
    assert_eq!(r, -1, "mprotect to PROT_EXEC was accepted");
    // SAFETY: our own mapping.
    unsafe { libc::munmap(p, len) };
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn allocation_failures_in_create_fail_cleanly() {
    // The kernel's fail-nth (set up by `premap check --device`, which runs first): every allocation of
    // IOC_CREATE in turn.
    let fault = premap_driver_fuzz::fault::FailNth::open().expect("fault injection");
    let mut failed = 0;
    for n in 1..=200u32 {
        let fd = open_device();
        fault.arm(n).unwrap();
        let r = create(&fd, 64, 0, 0);
        let fired = fault.disarm();
        match r {
            Ok(_) if !fired => break,
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOMEM), "allocation {n}");
                failed += 1;
                create(&fd, 64, 0, 0).expect("the file is usable after the failure");
            }
        }
    }
    assert!(
        failed >= 60,
        "only {failed} injected failures reached IOC_CREATE"
    );
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn the_typed_device_api_creates_maps_once_and_counts() {
    let dev = premap::Device::open().expect("open /dev/premap");
    dev.create(&CreateParams {
        size: 32,
        data_pages: 4,
        ..Default::default()
    })
    .unwrap();
    let info = dev.info().unwrap();
    assert_eq!((info.data_pages, info.mmap_len), (4, 5 * 4096));
    let mut ring = dev.ring().unwrap();
    assert!(matches!(dev.ring(), Err(premap::Error::AlreadyMapped)));
    dev.generate(&GenerateParams {
        count: 10,
        period_ns: 0,
        batch: 10,
        sample_size: 64,
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = 0;
    while got < 10 && Instant::now() < deadline {
        got += ring.drain(|_| {}).unwrap();
    }
    assert_eq!(got, 10);
    assert_eq!(dev.stats().unwrap().records, 10);
    assert_eq!(
        dev.page_type(0).unwrap() >> 24,
        u32::from(premap::abi::memdesc::PGTY_USER_RING),
        "the control page's memdesc type byte"
    );
    drop(ring);
    dev.ring().expect("a ring again once the first is gone");
    // A regular file is not the device.
    assert!(premap::Device::open_path(std::path::Path::new("/proc/self/stat")).is_err());
}
