//! Reads the premap driver's ring: creates a buffer (the typed-page strategy with `--typed`), starts
//! the in-kernel sample generator and drains the ring as its records arrive, then prints what arrived,
//! what was lost and the driver's own counters.
//!
//! `cargo run -p premap --example read_device -- [--typed] [COUNT]` (needs /dev/premap: load
//! premap.ko, or let `driver/vmtest` run the driver in a guest)

use premap::abi::header::{RECORD_LOST, RECORD_SAMPLE};
use premap::abi::uapi::{CreateParams, GenerateParams, CREATE_TYPED_PAGES};
use premap::{Device, Poller};
use std::os::fd::AsFd;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let typed = std::env::args().any(|a| a == "--typed");
    let count: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map_or(Ok(100_000), |s| s.parse())?;
    let dev = Device::open()?;
    dev.create(&CreateParams {
        size: 32,
        flags: if typed { CREATE_TYPED_PAGES } else { 0 },
        data_pages: 16,
        ..Default::default()
    })?;
    let mut ring = dev.ring()?;
    let mut poller = Poller::new()?;
    poller.add(dev.as_fd(), 0)?;
    dev.generate(&GenerateParams {
        count,
        period_ns: 0,
        batch: 64,
        sample_size: 48,
    })?;
    let (mut samples, mut lost) = (0u64, 0u64);
    while samples + lost < count {
        let before = samples + lost;
        ring.drain(|r| match r.header.r#type {
            RECORD_SAMPLE => samples += 1,
            // PERF_RECORD_LOST: the event's id, then how many records were dropped.
            RECORD_LOST => {
                if let Some(n) = r.body().get(8..16).and_then(|b| b.try_into().ok()) {
                    lost += u64::from_ne_bytes(n);
                }
            }
            _ => {}
        })?;
        // The last drops show only in the producer's counters once it has stopped.
        if samples + lost == before && poller.wait(Some(Duration::from_secs(1)))?.is_empty() {
            lost = lost.max(dev.stats()?.lost);
            if samples + lost == before {
                break;
            }
        }
    }
    let stats = dev.stats()?;
    println!(
        "{} strategy: {samples} samples read, {lost} lost (driver: {} records, {} lost)",
        if typed { "typed" } else { "pfnmap" },
        stats.records,
        stats.lost
    );
    Ok(())
}
