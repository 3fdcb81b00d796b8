//! Reader throughput, as ratios taken in one run: premap draining a ring (zero-copy batches, with and
//! without parsing each sample) next to a plain memcpy and a plain header walk of the same bytes (the
//! physical limit) and next to the Rust peers parsing the same bytes (linux-perf-event-reader,
//! perf-event-data); then `write_to` from the ring into a tmpfs file next to copy-then-write.
//!
//! Run: `cargo bench -p premap-bench --bench reader` (BENCHMARKS.md has the figures).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use premap::synthetic::{synthetic_ring, Producer};
use premap::{Consume, Ring};
use premap_abi::attr::*;
use premap_abi::header::{EventHeader, RECORD_MISC_USER, RECORD_SAMPLE};
use premap_abi::raw::RawData;
use premap_abi::records::RecordBody;
use premap_abi::ring::RecordIter;
use std::hint::black_box;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

const RING_PAGES: usize = 256;
const SAMPLE_TYPE: u64 = SAMPLE_IDENTIFIER | SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD;

/// A SAMPLE of `size` bytes: IDENTIFIER, IP, TID, TIME, PERIOD, then (for large ones) a RAW payload.
fn sample(size: usize, seq: u64) -> Vec<u8> {
    let mut r = Vec::with_capacity(size);
    r.extend_from_slice(
        &EventHeader {
            r#type: RECORD_SAMPLE,
            misc: RECORD_MISC_USER,
            size: size as u16,
        }
        .to_bytes(),
    );
    for w in [
        7u64,
        0x40_1000 + seq,
        0x0000_0064_0000_0064,
        1_000_000 + seq,
        1,
    ] {
        r.extend_from_slice(&w.to_ne_bytes());
    }
    r.resize(size, 0xab);
    r
}

fn attr(raw: bool) -> PerfEventAttr {
    PerfEventAttr {
        r#type: TYPE_SOFTWARE,
        size: ATTR_SIZE_VER7,
        config: COUNT_SW_PAGE_FAULTS,
        sample_period: 1,
        sample_type: SAMPLE_TYPE | if raw { SAMPLE_RAW } else { 0 },
        ..Default::default()
    }
}

/// A RAW-carrying sample keeps the parsers honest for large records: `u32 size` then the payload.
fn large_sample(size: usize, seq: u64) -> Vec<u8> {
    let mut r = sample(48, seq);
    r[6..8].copy_from_slice(&(size as u16).to_ne_bytes());
    let raw = size - 48 - 4;
    r.extend_from_slice(&(raw as u32).to_ne_bytes());
    r.resize(size, 0xcd);
    r
}

struct Fixture {
    producer: Producer,
    ring: Ring,
    records: Vec<Vec<u8>>,
    bytes: Vec<u8>,
}

fn fixture(size: usize) -> Fixture {
    let (producer, ring) = synthetic_ring::<Consume>(RING_PAGES, 0).unwrap();
    let n = RING_PAGES * 4096 / size;
    let records: Vec<Vec<u8>> = (0..n as u64)
        .map(|i| {
            if size > 48 {
                large_sample(size, i)
            } else {
                sample(size, i)
            }
        })
        .collect();
    let bytes = records.concat();
    Fixture {
        producer,
        ring,
        records,
        bytes,
    }
}

impl Fixture {
    fn refill(&mut self) {
        for r in &self.records {
            assert!(self.producer.write(r));
        }
    }
}

/// `iters` times: refill the ring (untimed), then time `drain` over it.
fn timed(f: &mut Fixture, iters: u64, mut drain: impl FnMut(&mut Ring) -> u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        f.refill();
        let t = Instant::now();
        black_box(drain(&mut f.ring));
        total += t.elapsed();
    }
    total
}

fn ip_of(body: &[u8]) -> u64 {
    u64::from_ne_bytes(body[8..16].try_into().unwrap())
}

fn bench_drain(c: &mut Criterion) {
    for size in [48usize, 4096] {
        let raw = size > 48;
        let mut f = fixture(size);
        let n = f.records.len() as u64;
        let format = attr(raw).sample_format();
        let mut g = c.benchmark_group(format!("drain_{size}B"));
        g.throughput(Throughput::Bytes(f.bytes.len() as u64));
        g.measurement_time(Duration::from_secs(4));

        g.bench_function("memcpy", |b| {
            let mut dst = vec![0u8; f.bytes.len()];
            b.iter(|| {
                dst.copy_from_slice(black_box(&f.bytes));
                black_box(&dst);
            })
        });
        g.bench_function("plain_walk", |b| {
            b.iter(|| {
                let bytes = black_box(&f.bytes[..]);
                let (mut off, mut sum) = (0usize, 0u64);
                while off + 8 <= bytes.len() {
                    let size = u16::from_ne_bytes([bytes[off + 6], bytes[off + 7]]) as usize;
                    sum = sum.wrapping_add(u64::from_ne_bytes(
                        bytes[off + 16..off + 24].try_into().unwrap(),
                    ));
                    off += size;
                }
                black_box(sum)
            })
        });
        g.bench_function("premap_drain", |b| {
            b.iter_custom(|iters| {
                timed(&mut f, iters, |ring| {
                    let mut sum = 0u64;
                    let mut batch = ring.batch().unwrap();
                    while let Some(r) = batch.next() {
                        sum = sum.wrapping_add(ip_of(r.unwrap().body()));
                    }
                    sum
                })
            })
        });
        let layout = premap_abi::sample::SampleLayout::new(format.sample_type);
        g.bench_function("premap_for_each_layout", |b| {
            b.iter_custom(|iters| {
                timed(&mut f, iters, |ring| {
                    let mut sum = 0u64;
                    ring.drain(|r| {
                        if r.header.r#type == RECORD_SAMPLE {
                            sum = sum.wrapping_add(layout.ip(r.body()).unwrap_or(0));
                        }
                    })
                    .unwrap();
                    sum
                })
            })
        });
        g.bench_function("premap_drain_layout", |b| {
            b.iter_custom(|iters| {
                timed(&mut f, iters, |ring| {
                    let mut sum = 0u64;
                    let mut batch = ring.batch().unwrap();
                    while let Some(r) = batch.next() {
                        let r = r.unwrap();
                        if r.header.r#type == RECORD_SAMPLE {
                            sum = sum.wrapping_add(layout.ip(r.body()).unwrap_or(0));
                        }
                    }
                    sum
                })
            })
        });
        g.bench_function("premap_drain_parse", |b| {
            b.iter_custom(|iters| {
                timed(&mut f, iters, |ring| {
                    let mut sum = 0u64;
                    let mut batch = ring.batch().unwrap();
                    while let Some(r) = batch.next() {
                        if let Ok(p) = r.unwrap().parse(&format) {
                            if let RecordBody::Sample(s) = p.body {
                                sum = sum.wrapping_add(s.ip.unwrap_or(0));
                            }
                        }
                    }
                    sum
                })
            })
        });
        let attr_bytes = attr(raw).to_bytes();
        let lper_attr =
            linux_perf_event_reader::PerfEventAttr::parse::<_, byteorder::LittleEndian>(
                &attr_bytes[..ATTR_SIZE_VER7 as usize],
            )
            .unwrap()
            .0;
        let info = linux_perf_event_reader::RecordParseInfo::new(
            &lper_attr,
            linux_perf_event_reader::Endianness::LittleEndian,
        );
        g.bench_function("linux_perf_event_reader", |b| {
            b.iter(|| {
                let mut sum = 0u64;
                for rec in RecordIter::new(RawData::Single(black_box(&f.bytes))) {
                    let rec = rec.unwrap();
                    let body = rec.body.as_single().unwrap();
                    let raw = linux_perf_event_reader::RawEventRecord::new(
                        linux_perf_event_reader::RecordType(rec.header.r#type),
                        rec.header.misc,
                        linux_perf_event_reader::RawData::Single(body),
                        info,
                    );
                    if let Ok(linux_perf_event_reader::EventRecord::Sample(s)) = raw.parse() {
                        sum = sum.wrapping_add(s.ip.unwrap_or(0));
                    }
                }
                black_box(sum)
            })
        });
        let mut sys_attr = perf_event_open_sys::bindings::perf_event_attr::default();
        sys_attr.sample_type = attr(raw).sample_type;
        let config: perf_event_data::parse::ParseConfig<perf_event_data::endian::Native> =
            sys_attr.into();
        g.bench_function("perf_event_data", |b| {
            b.iter(|| {
                let mut sum = 0u64;
                let mut parser =
                    perf_event_data::parse::Parser::new(black_box(&f.bytes[..]), config.clone());
                for _ in 0..n {
                    if let Ok(perf_event_data::Record::Sample(s)) =
                        parser.parse::<perf_event_data::Record>()
                    {
                        sum = sum.wrapping_add(s.ip().unwrap_or(0));
                    }
                }
                black_box(sum)
            })
        });
        g.finish();
    }
}

fn bench_write_to(c: &mut Criterion) {
    let mut f = fixture(48);
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    };
    let path = format!("{dir}/premap-bench-write-to-{}", std::process::id());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let mut g = c.benchmark_group("write_to_tmpfs");
    g.throughput(Throughput::Bytes(f.bytes.len() as u64));
    g.measurement_time(Duration::from_secs(4));
    let rewind = |file: &std::fs::File| {
        use std::io::Seek;
        let mut f = file;
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
    };
    g.bench_function(BenchmarkId::new("premap_write_to", "1MiB"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                f.refill();
                rewind(&file);
                let t = Instant::now();
                black_box(f.ring.write_to(file.as_fd()).unwrap());
                total += t.elapsed();
            }
            total
        })
    });
    g.bench_function(BenchmarkId::new("copy_then_write", "1MiB"), |b| {
        let mut buf = Vec::with_capacity(f.bytes.len());
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                f.refill();
                rewind(&file);
                let t = Instant::now();
                buf.clear();
                let mut batch = f.ring.batch().unwrap();
                while let Some(r) = batch.next() {
                    buf.extend_from_slice(r.unwrap().bytes);
                }
                drop(batch);
                use std::io::Write;
                (&file).write_all(&buf).unwrap();
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench_drain, bench_write_to);
criterion_main!(benches);
