//! Reads a perf ring from async code: this thread's page faults while it allocates, with a
//! tokio `AsyncFd` wait between batches.
//!
//! `cargo run -p premap --features tokio --example async_reader`

use premap::abi::attr::{SAMPLE_IP, SAMPLE_TID};
use premap::abi::header::RECORD_SAMPLE;
use premap::{AsyncRing, Event, EventBuilder};
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), premap::Error> {
    let ev = EventBuilder::new(Event::PAGE_FAULTS)
        .sample_period(1)
        .sample_type(SAMPLE_IP | SAMPLE_TID)
        .exclude_kernel(true)
        .wakeup_events(256) // wake the reader every 256 samples
        .open()?;
    let mut ring = AsyncRing::new(ev.ring(64)?)?;
    ev.enable()?;
    let mut samples = 0u64;
    let mut held = Vec::new();
    for round in 0..8 {
        // Fault in 512 fresh pages, then wait (without blocking the runtime) for the ring.
        let mut v = vec![0u8; 512 * 4096];
        for page in v.chunks_mut(4096) {
            page[0] = 1;
        }
        held.push(v);
        let n = tokio::time::timeout(
            Duration::from_secs(1),
            ring.drain(|r| samples += u64::from(r.header.r#type == RECORD_SAMPLE)),
        )
        .await
        .unwrap_or(Ok(0))?;
        println!("round {round}: {n} records");
    }
    ev.disable()?;
    println!(
        "{samples} page-fault samples, {} lost",
        ring.ring().stats().lost
    );
    Ok(())
}
