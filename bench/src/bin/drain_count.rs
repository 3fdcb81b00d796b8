//! Instructions per drained record, counted by callgrind (repeatable on a loaded machine):
//!
//! ```sh
//! cargo build --release -p premap-bench --bin drain_count
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/drain_count fill
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/drain_count drain
//! ```
//!
//! (drain - fill) / records is the cost of the drain loop (`Batch::for_each` reading each sample's IP
//! through a `SampleLayout`); bench/instructions.sh does the arithmetic.

use premap::synthetic::{sample_record, synthetic_ring};
use premap::Mode;
use premap_abi::sample::SampleLayout;

fn main() {
    let drain = std::env::args().nth(1).as_deref() == Some("drain");
    let (mut producer, mut ring) = synthetic_ring(64, Mode::Consume, 0).expect("synthetic ring");
    let record = sample_record(48, 7);
    let per_fill = 64 * 4096 / 48;
    let layout = SampleLayout::new(premap_abi::attr::SAMPLE_IP);
    let mut sum = 0u64;
    let mut records = 0u64;
    for _ in 0..100 {
        for _ in 0..per_fill {
            producer.write(&record);
        }
        if drain {
            records += ring
                .drain(|r| sum = sum.wrapping_add(layout.ip(r.body()).unwrap_or(0)))
                .expect("drain");
        } else {
            ring.discard().expect("discard");
            records += per_fill as u64;
        }
    }
    println!("records {records} sum {sum}");
}
