//! `premap list`: the events this machine offers, as `perf list` shows them.

use crate::events;
use std::io::Write;
use std::process::ExitCode;

/// Prints the list to standard output.
pub fn run() -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut w = |s: String| writeln!(out, "{s}").is_ok();
    // As perf list: only what this machine can open. Each hardware and cache event is tried as a
    // user-space counter (allowed at perf_event_paranoid 2); a VM without a PMU lists none.
    let opens = |ev: premap::Event| {
        premap::EventBuilder::new(ev)
            .exclude_kernel(true)
            .exclude_hv(true)
            .open()
            .is_ok()
    };
    for (name, ev) in premap::Event::names() {
        let kind = match ev {
            premap::Event::Hardware(_) if !opens(*ev) => continue,
            premap::Event::Hardware(_) => "Hardware event",
            premap::Event::Software(_) => "Software event",
            premap::Event::Raw { .. } => "Raw event",
        };
        w(format!("  {name:<40} [{kind}]"));
    }
    for name in events::cache_event_names() {
        let config = events::cache_event(&name);
        let ev = config.map(|config| premap::Event::Raw {
            r#type: premap::abi::attr::TYPE_HW_CACHE,
            config,
        });
        if ev.is_some_and(opens) {
            w(format!("  {name:<40} [Hardware cache event]"));
        }
    }
    w(format!("  {:<40} [Raw hardware event descriptor]", "rNNN"));
    w(format!(
        "  {:<40} [Raw hardware event descriptor]",
        "pmu/config=0x...,term=value/"
    ));
    if let Ok(pmus) = std::fs::read_dir("/sys/bus/event_source/devices") {
        let mut names: Vec<String> = Vec::new();
        for pmu in pmus.flatten() {
            let p = pmu.file_name().to_string_lossy().into_owned();
            if let Ok(evs) = std::fs::read_dir(pmu.path().join("events")) {
                for e in evs.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if !n.contains('.') {
                        names.push(format!("{p}/{n}/"));
                    }
                }
            }
        }
        names.sort();
        for n in names {
            w(format!("  {n:<40} [Kernel PMU event]"));
        }
    }
    if let Some(t) = events::tracefs() {
        let Ok(systems) = std::fs::read_dir(format!("{t}/events")) else {
            return ExitCode::SUCCESS;
        };
        let mut names = Vec::new();
        for sys in systems.flatten().filter(|e| e.path().is_dir()) {
            let Ok(evs) = std::fs::read_dir(sys.path()) else {
                continue;
            };
            for e in evs.flatten().filter(|e| e.path().join("id").exists()) {
                names.push(format!(
                    "{}:{}",
                    sys.file_name().to_string_lossy(),
                    e.file_name().to_string_lossy()
                ));
            }
        }
        names.sort();
        for n in names {
            w(format!("  {n:<40} [Tracepoint event]"));
        }
    }
    ExitCode::SUCCESS
}
