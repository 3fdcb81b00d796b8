//! Samples every page fault of a child command (and its children) on every CPU, as `perf record`
//! does, and prints the code pages that faulted most.
//!
//! `cargo run -p premap --example child_page_faults -- ls -l /`

use premap::abi::attr::{SAMPLE_IP, SAMPLE_TID};
use premap::abi::header::RECORD_SAMPLE;
use premap::abi::sample::SampleLayout;
use premap::{CpuRings, Event, EventBuilder, Workload};
use std::collections::BTreeMap;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return Err("usage: child_page_faults COMMAND [ARGS...]".into());
    }
    // The command, forked and held before exec (perf's workload).
    let mut child = Workload::spawn(&args)?;
    // One event per CPU on the child, inherited by its children and enabled when it execs. An
    // inherited per-task event cannot be mapped; per-CPU ones can, and children write into them.
    let b = EventBuilder::new(Event::PAGE_FAULTS)
        .pid(child.pid())
        .sample_period(1)
        .sample_type(SAMPLE_IP | SAMPLE_TID)
        .exclude_kernel(true)
        .inherit(true)
        .enable_on_exec(true);
    let mut rings = CpuRings::open(&b, 64)?;
    child.start()?;
    let layout = SampleLayout::new(b.attr().sample_type);
    let mut by_page: BTreeMap<u64, u64> = BTreeMap::new();
    let mut count = |_cpu: i32, r: premap::Record<'_>| {
        if r.header.r#type == RECORD_SAMPLE {
            if let Some(ip) = layout.ip(r.body()) {
                *by_page.entry(ip & !0xfff).or_default() += 1;
            }
        }
    };
    while child.try_wait()?.is_none() {
        rings.read(Some(Duration::from_millis(50)), &mut count)?;
    }
    rings.drain(&mut count)?;
    let total: u64 = by_page.values().sum();
    let lost: u64 = rings.lost().iter().map(|l| l.lost).sum();
    println!("{total} page faults sampled, {lost} lost");
    let mut top: Vec<_> = by_page.into_iter().collect();
    top.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    for (page, n) in top.into_iter().take(10) {
        println!("{n:8}  code page {page:#x}");
    }
    Ok(())
}
