//! Samples the CPU clock on every CPU for every task (system-wide, as `perf record -a`) for a while
//! and prints which commands ran most, per CPU and in total, with what each ring lost.
//!
//! `sudo cargo run -p premap --example system_wide -- 2` (seconds; system-wide sampling needs
//! CAP_PERFMON or `perf_event_paranoid` <= 0)

use premap::abi::attr::{SAMPLE_TID, SAMPLE_TIME};
use premap::abi::header::{RECORD_COMM, RECORD_SAMPLE};
use premap::abi::sample::SampleLayout;
use premap::{CpuRings, Event, EventBuilder};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::args().nth(1).map_or(Ok(1), |s| s.parse())?;
    // Every task (pid -1) on each CPU; the COMM records name the tasks that exec or rename meanwhile.
    let b = EventBuilder::new(Event::CPU_CLOCK)
        .pid(-1)
        .sample_freq(999)
        .sample_type(SAMPLE_TID | SAMPLE_TIME)
        .comm(true)
        .disabled(true);
    let mut rings = CpuRings::open(&b, 64)?;
    let layout = SampleLayout::new(b.attr().sample_type);
    let mut names: HashMap<u32, String> = std::fs::read_dir("/proc")?
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            Some((pid, comm.trim_end().to_string()))
        })
        .collect();
    names.insert(0, "[idle]".to_string());
    let mut per_cpu: BTreeMap<i32, u64> = BTreeMap::new();
    let mut by_pid: HashMap<u32, u64> = HashMap::new();
    let mut count = |cpu: i32, r: premap::Record<'_>| match r.header.r#type {
        RECORD_SAMPLE => {
            *per_cpu.entry(cpu).or_default() += 1;
            if let Some((pid, _)) = layout.pid_tid(r.body()) {
                *by_pid.entry(pid).or_default() += 1;
            }
        }
        RECORD_COMM => {
            // pid, tid, then the NUL-terminated name.
            let body = r.body();
            if let (Some(pid), Some(name)) = (body.get(..4), body.get(8..)) {
                let pid = u32::from_ne_bytes([pid[0], pid[1], pid[2], pid[3]]);
                let name = name.split(|&b| b == 0).next().unwrap_or_default();
                names.insert(pid, String::from_utf8_lossy(name).into_owned());
            }
        }
        _ => {}
    };
    rings.enable()?;
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        rings.read(Some(Duration::from_millis(100)), &mut count)?;
    }
    rings.disable()?;
    rings.drain(&mut count)?;
    let lost: BTreeMap<i32, u64> = rings.lost().iter().map(|l| (l.cpu, l.lost)).collect();
    for (cpu, n) in &per_cpu {
        println!(
            "cpu {cpu}: {n} samples, {} lost",
            lost.get(cpu).copied().unwrap_or(0)
        );
    }
    let mut top: Vec<_> = by_pid.into_iter().collect();
    top.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    for (pid, n) in top.into_iter().take(10) {
        let name = names.get(&pid).map_or("?", String::as_str);
        println!("{n:8}  {pid:>7} {name}");
    }
    Ok(())
}
