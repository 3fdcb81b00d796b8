//! Mapping a ring: the time of mmap alone, of mmap plus the first read of every page, and of the
//! munmap that follows, against the ring's size, for the premap driver's two strategies (one
//! `remap_pfn_range` per page, and the typed batched `vm_insert_pages_prot`) and for the running
//! kernel's own perf ring, as ratios in one run.
//!
//! It needs `/dev/premap` (the driver on a kernel with premap's typed-page series), so it runs in the
//! guest: `driver/vmtest --kernel mainline --bench` builds it static and runs it there (BENCHMARKS.md
//! has the figures). Where the device is missing, only the perf ring is measured. Sizes: 1 to 2^16
//! pages (`PREMAP_MAP_BENCH_MAX_PAGES` lowers the top).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use premap::{Event, EventBuilder};
use premap_abi::uapi::{CreateParams, CREATE_TYPED_PAGES};
use std::hint::black_box;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// A ring source to map: a driver buffer or a perf event.
enum Subject {
    PfnMap,
    Typed,
    Perf,
}

impl Subject {
    fn name(&self) -> &'static str {
        match self {
            Subject::PfnMap => "premap pfnmap",
            Subject::Typed => "premap typed",
            Subject::Perf => "kernel perf ring",
        }
    }

    /// A fresh buffer of `data_pages` data pages; `None` when this subject is not available here.
    fn open(&self, data_pages: u32) -> Option<OwnedFd> {
        match self {
            Subject::Perf => {
                let ev = EventBuilder::new(Event::PAGE_FAULTS)
                    .disabled(true)
                    .open()
                    .ok()?;
                ev.as_fd().try_clone_to_owned().ok()
            }
            Subject::PfnMap | Subject::Typed => {
                let dev = premap::Device::open().ok()?;
                dev.create(&CreateParams {
                    size: 32,
                    flags: if matches!(self, Subject::Typed) {
                        CREATE_TYPED_PAGES
                    } else {
                        0
                    },
                    data_pages,
                    ..Default::default()
                })
                .ok()?;
                dev.as_fd().try_clone_to_owned().ok()
            }
        }
    }
}

/// A fresh shared read-write mapping of `len` bytes of `fd`; the caller unmaps it.
fn mmap_rw(fd: BorrowedFd<'_>, len: usize) -> Option<*mut libc::c_void> {
    // SAFETY: a fresh shared mapping of the buffer; nothing else refers to it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p)
}

/// The times of one mapping's life.
#[derive(Clone, Copy, Default)]
struct Times {
    /// The mmap call.
    mmap: Duration,
    /// The mmap call and the first read of one byte of every page.
    first_read: Duration,
    /// The munmap of the mapping after the reads (every entry present).
    munmap: Duration,
}

/// Which of the [`Times`] a benchmark group reports.
type Pick = fn(&Times) -> Duration;

/// One mapping of `pages` pages of `fd`, timed.
fn map_once(fd: BorrowedFd<'_>, pages: usize) -> Option<Times> {
    let len = pages * 4096;
    let t0 = Instant::now();
    let p = mmap_rw(fd, len)?;
    let t1 = Instant::now();
    let mut sum = 0u64;
    for i in 0..pages {
        // SAFETY: page `i` lies inside the live readable mapping.
        sum = sum.wrapping_add(u64::from(unsafe {
            (p as *const u8).add(i * 4096).read_volatile()
        }));
    }
    let t2 = Instant::now();
    black_box(sum);
    // SAFETY: our own mapping, not used after this.
    unsafe { libc::munmap(p, len) };
    let t3 = Instant::now();
    Some(Times {
        mmap: t1 - t0,
        first_read: t2 - t0,
        munmap: t3 - t2,
    })
}

/// A mapping held while the others are timed.
struct Keep(*mut libc::c_void, usize);

impl Keep {
    fn map(fd: BorrowedFd<'_>, pages: usize) -> Option<Keep> {
        let len = pages * 4096;
        mmap_rw(fd, len).map(|p| Keep(p, len))
    }
}

impl Drop for Keep {
    fn drop(&mut self) {
        // SAFETY: our own mapping, not used after this.
        unsafe { libc::munmap(self.0, self.1) };
    }
}

fn map(c: &mut Criterion) {
    let max: u32 = std::env::var("PREMAP_MAP_BENCH_MAX_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 16);
    let sizes: Vec<u32> = (0..=16)
        .step_by(2)
        .map(|s| 1u32 << s)
        .filter(|&n| n <= max)
        .collect();
    let groups: [(&str, Pick); 3] = [
        ("mmap", |t| t.mmap),
        ("mmap+first read", |t| t.first_read),
        ("munmap", |t| t.munmap),
    ];
    for (what, pick) in groups {
        let mut g = c.benchmark_group(what);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1));
        for &data_pages in &sizes {
            for subject in [Subject::PfnMap, Subject::Typed, Subject::Perf] {
                let Some(fd) = subject.open(data_pages) else {
                    eprintln!(
                        "map bench: {} with {data_pages} data pages is not available here",
                        subject.name()
                    );
                    continue;
                };
                let pages = 1 + data_pages as usize;
                // One mapping held for the whole measurement: perf allocates its ring at the first mmap
                // and frees it (after an RCU grace period) at the last munmap, which would otherwise
                // be timed too; the driver's pages exist from create on.
                let Some(_keep) = Keep::map(fd.as_fd(), pages) else {
                    eprintln!(
                        "map bench: mmap of {pages} pages of {} failed",
                        subject.name()
                    );
                    continue;
                };
                g.bench_with_input(
                    BenchmarkId::new(subject.name(), pages),
                    &pages,
                    |b, &pages| {
                        b.iter_custom(|iters| {
                            let mut total = Duration::ZERO;
                            for _ in 0..iters {
                                let t = map_once(fd.as_fd(), pages).unwrap_or_default();
                                total += pick(&t);
                            }
                            total
                        })
                    },
                );
            }
        }
        g.finish();
    }
}

criterion_group!(benches, map);
criterion_main!(benches);
