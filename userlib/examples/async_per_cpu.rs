//! An async per-CPU sampler: the CPU clock on every CPU for every task (as `perf record -a`), read
//! from tokio with one wait for all CPUs, records merged in time order across CPUs (perf's
//! FINISHED_ROUND rule), then a per-CPU summary with what each ring lost.
//!
//! `sudo cargo run -p premap --features tokio --example async_per_cpu -- 2` (seconds; system-wide
//! sampling needs CAP_PERFMON or `perf_event_paranoid` <= 0)

use premap::abi::attr::{SAMPLE_CPU, SAMPLE_TID, SAMPLE_TIME};
use premap::abi::header::RECORD_SAMPLE;
use premap::abi::sample::SampleLayout;
use premap::{AsyncCpuRings, CpuRings, Event, EventBuilder};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::args().nth(1).map_or(Ok(1), |s| s.parse())?;
    let b = EventBuilder::new(Event::CPU_CLOCK)
        .pid(-1)
        .sample_freq(999)
        .sample_type(SAMPLE_TID | SAMPLE_TIME | SAMPLE_CPU)
        .sample_id_all(true) // times on every record, so the merge orders them all
        .wakeup_events(32)
        .disabled(true);
    let layout = SampleLayout::new(b.attr().sample_type);
    let mut rings = AsyncCpuRings::new(CpuRings::open(&b, 64)?)?;
    rings.rings().enable()?;

    let mut per_cpu: BTreeMap<i32, u64> = BTreeMap::new();
    let (mut last_time, mut out_of_order) = (0u64, 0u64);
    let mut take = |cpu: i32, r: premap::Record<'_>| {
        if r.header.r#type == RECORD_SAMPLE {
            *per_cpu.entry(cpu).or_default() += 1;
            let t = layout.time(r.body()).unwrap_or(0);
            out_of_order += u64::from(t < last_time);
            last_time = last_time.max(t);
        }
    };
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        // One wait for every CPU; a timeout keeps the loop honest on an idle machine.
        let left = end.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, rings.readable()).await.is_err() {
            break;
        }
        rings.rings().drain_ordered(&mut take)?;
    }
    rings.rings().disable()?;
    rings.rings().drain_ordered(&mut take)?;
    rings.rings().finish_ordered(&mut take);

    for l in rings.rings().lost() {
        let n = per_cpu.get(&l.cpu).copied().unwrap_or(0);
        println!(
            "cpu {:>3}: {n:>7} samples, {} lost, {} lost samples",
            l.cpu, l.lost, l.lost_samples
        );
    }
    println!(
        "{} samples in time order across CPUs ({out_of_order} out of order)",
        per_cpu.values().sum::<u64>()
    );
    Ok(())
}
