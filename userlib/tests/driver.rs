//! The userlib reading rings of the premap driver (`/dev/premap`). These need the module loaded, so they
//! are `#[ignore]`d on the host (reported as ignored, never as passed) and run by `driver/vmtest` in
//! a guest kernel with `--ignored`.

use premap::abi::header::{RECORD_LOST, RECORD_SAMPLE};
use premap::abi::ioctl::*;
use premap::{Mode, Poller, Ring};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn device(data_pages: u32, overwrite: bool) -> OwnedFd {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(DEVICE_PATH)
        .expect("open /dev/premap (is premap.ko loaded?)");
    let fd = OwnedFd::from(f);
    let mut p = CreateParams {
        size: 32,
        flags: if overwrite { CREATE_OVERWRITE } else { 0 },
        data_pages,
        wakeup_watermark: 4096,
        ..Default::default()
    };
    premap::sys::ioctl_ptr(fd.as_fd(), IOC_CREATE, &mut p).expect("IOC_CREATE");
    fd
}

fn generate(fd: &OwnedFd, count: u64, sample_size: u32) {
    let mut g = GenerateParams {
        count,
        period_ns: 0,
        batch: 32,
        sample_size,
    };
    premap::sys::ioctl_ptr(fd.as_fd(), IOC_GENERATE, &mut g).expect("IOC_GENERATE");
}

fn seq(r: &premap::Record<'_>) -> u64 {
    u64::from_ne_bytes(r.bytes[32..40].try_into().unwrap())
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn poll_wakes_the_reader_and_every_generated_record_arrives_or_is_counted() {
    let fd = device(16, false);
    let mut ring = Ring::map(fd.as_fd(), 16, Mode::Consume).unwrap();
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
    let mut stats = BufferStats::default();
    premap::sys::ioctl_ptr(fd.as_fd(), IOC_STATS, &mut stats).unwrap();
    assert_eq!(got + stats.lost, N, "{got} read + {} dropped", stats.lost);
    assert!(stats.wakeups > 0, "poll was never woken");
}

#[test]
#[ignore = "needs /dev/premap: run by driver/vmtest in the guest"]
fn write_to_copies_the_driver_ring_into_a_file() {
    let fd = device(4, false);
    let mut ring = Ring::map(fd.as_fd(), 4, Mode::Consume).unwrap();
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
    let mut ring = Ring::map(fd.as_fd(), 1, Mode::Overwrite).unwrap();
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
    let stop = Arc::new(AtomicBool::new(false));
    let fd = Arc::new(device(8, false));
    generate(&fd, u64::MAX / 2, 40);
    let mut threads = Vec::new();
    // A reader draining at full speed.
    {
        let (fd, stop) = (fd.clone(), stop.clone());
        threads.push(std::thread::spawn(move || {
            let mut ring = Ring::map(fd.as_fd(), 8, Mode::Consume).unwrap();
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
                    own = device(2, false);
                    own.as_fd()
                } else {
                    fd.as_fd()
                };
                let pages = if i % 3 == 0 { 3 } else { 9 };
                let len = pages * 4096;
                // SAFETY: a fresh shared mapping of the device; checked for failure.
                let p = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_SHARED,
                        f.as_raw_fd(),
                        0,
                    )
                };
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
    std::thread::sleep(Duration::from_secs(8));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let mut g = GenerateParams::default();
    premap::sys::ioctl_ptr(fd.as_fd(), IOC_GENERATE, &mut g).unwrap();
    let mut stats = BufferStats::default();
    premap::sys::ioctl_ptr(fd.as_fd(), IOC_STATS, &mut stats).unwrap();
    assert_eq!(stats.mappings, 0, "every mapping was torn down");
    assert!(stats.records > 1000);
}
