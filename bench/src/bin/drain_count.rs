//! Instructions per drained record, counted by callgrind (repeatable on a loaded machine):
//!
//! ```sh
//! cargo build --release -p premap-bench --bin drain_count
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/drain_count fill
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/drain_count for_each
//! ```
//!
//! Modes: `fill` fills the ring and discards (the baseline); `for_each` drains with `Ring::drain`
//! (`Batch::for_each`) reading each sample's IP through a `SampleLayout`; `next` does the same with
//! `Batch::next`; `parse` uses `Batch::next` and the full `ParsedRecord::parse`. (mode - fill) / records is
//! the cost of that reader; bench/instructions.sh does the arithmetic.

use premap::synthetic::{sample_record, synthetic_ring};
use premap::{Consume, Ring};
use premap_abi::attr::SAMPLE_IP;
use premap_abi::records::RecordBody;
use premap_abi::sample::{SampleFormat, SampleLayout};

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let reader: fn(&mut Ring, &mut u64) -> u64 = match mode.as_str() {
        "fill" => |ring, _| ring.discard().expect("discard") / 48,
        "for_each" => for_each,
        "next" => next,
        "parse" => parse,
        _ => {
            eprintln!("usage: drain_count fill|for_each|next|parse");
            std::process::exit(2);
        }
    };
    let (mut producer, mut ring) = synthetic_ring::<Consume>(64, 0).expect("synthetic ring");
    // 48-byte samples whose sample_type is IP only (the rest of the body is padding).
    let record = sample_record(48, 7);
    let per_fill = 64 * 4096 / 48;
    let (mut sum, mut records) = (0u64, 0u64);
    for _ in 0..100 {
        for _ in 0..per_fill {
            producer.write(&record);
        }
        records += reader(&mut ring, &mut sum);
    }
    println!("records {records} sum {sum}");
}

const LAYOUT: SampleLayout = SampleLayout::new(SAMPLE_IP);
const FORMAT: SampleFormat = SampleFormat::new(SAMPLE_IP);

/// The fast path, as a user would write it: drain the ring, summing each sample's IP.
#[inline(never)]
fn for_each(ring: &mut Ring, sum: &mut u64) -> u64 {
    let mut s = *sum;
    let n = ring
        .drain(|r| s = s.wrapping_add(LAYOUT.ip(r.body()).unwrap_or(0)))
        .expect("drain");
    *sum = s;
    n
}

/// Record at a time through `Batch::next`.
#[inline(never)]
fn next(ring: &mut Ring, sum: &mut u64) -> u64 {
    let (mut s, mut n) = (*sum, 0);
    let mut batch = ring.batch().expect("batch");
    while let Some(r) = batch.next() {
        s = s.wrapping_add(LAYOUT.ip(r.expect("record").body()).unwrap_or(0));
        n += 1;
    }
    *sum = s;
    n
}

/// Record at a time with the full parse.
#[inline(never)]
fn parse(ring: &mut Ring, sum: &mut u64) -> u64 {
    let (mut s, mut n) = (*sum, 0);
    let mut batch = ring.batch().expect("batch");
    while let Some(r) = batch.next() {
        if let Ok(p) = r.expect("record").parse(&FORMAT) {
            if let RecordBody::Sample(sample) = p.body {
                s = s.wrapping_add(sample.ip.unwrap_or(0));
            }
        }
        n += 1;
    }
    *sum = s;
    n
}
