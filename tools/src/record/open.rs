//! record__open: the events' attrs as perf sets them, one instance per (task, CPU) slot, every
//! instance's records sent into the slot's one ring, and perf's fallback to user space only where
//! perf_event_paranoid forbids the kernel.

use super::drain::SlotRing;
use super::{CallGraph, Options, RecordError, Target};
use crate::events::EventSpec;
use premap::abi::attr::*;
use premap::{Event, EventBuilder, PerfEvent};
use premap_perfdata::features::EventDesc;

/// x86_64's user registers as perf names them (`--user-regs`), bit = index.
pub const X86_64_REGS: [&str; 24] = [
    "ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip", "flags", "cs", "ss", "ds", "es", "fs",
    "gs", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
];

/// The registers perf samples for DWARF unwinding on x86_64 (PERF_REGS_MASK: all but ds/es/fs/gs).
pub const DWARF_REGS: u64 = 0xff_0fff;

/// Parses `--user-regs=ax,bx,...` (or `?` for the list) into a mask.
pub fn parse_regs(s: &str) -> Result<u64, String> {
    s.split(',')
        .map(|r| {
            X86_64_REGS
                .iter()
                .position(|n| n.eq_ignore_ascii_case(r.trim()))
                .map(|i| 1u64 << i)
                .ok_or_else(|| {
                    format!(
                        "unknown register {r:?}; available: {}",
                        X86_64_REGS.join(" ")
                    )
                })
        })
        .try_fold(0, |m, b| b.map(|b| m | b))
}

/// The sample layout, as perf chooses it: IP, TID and TIME always; PERIOD when the kernel varies it
/// (frequency mode); IDENTIFIER when several events share the file; CPU for CPU-wide recording;
/// ADDR with `-d`; the callchain, registers and stack with `-g`/`--call-graph`.
fn sample_type(o: &Options) -> u64 {
    let mut st = SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME;
    if o.period.is_none() {
        st |= SAMPLE_PERIOD;
    }
    if o.events.len() > 1 {
        st |= SAMPLE_IDENTIFIER;
    }
    if matches!(o.target, Target::AllCpus(_)) || o.cpus.is_some() {
        st |= SAMPLE_CPU;
    }
    if o.data_addr {
        st |= SAMPLE_ADDR;
    }
    match o.callgraph {
        CallGraph::None => {}
        CallGraph::Fp => st |= SAMPLE_CALLCHAIN,
        CallGraph::Dwarf(_) => st |= SAMPLE_CALLCHAIN | SAMPLE_REGS_USER | SAMPLE_STACK_USER,
    }
    if o.user_regs.is_some() {
        st |= SAMPLE_REGS_USER;
    }
    if o.sample_cpu {
        st |= SAMPLE_CPU;
    }
    if o.weight {
        st |= SAMPLE_WEIGHT_STRUCT;
    }
    if o.branch.is_some() {
        st |= SAMPLE_BRANCH_STACK;
    }
    if o.sample_period {
        st |= SAMPLE_PERIOD;
    }
    st
}

pub(super) fn watermark(o: &Options) -> u32 {
    // Half the ring, as the kernel's default for perf record (BENCHMARKS.md: a quarter doubles the
    // wakeups and loses no fewer).
    u32::try_from(o.pages * premap::page_size() / 2)
        .unwrap_or(u32::MAX)
        .max(64)
}

fn builder(o: &Options, spec: &EventSpec, tracking: bool, user_only: bool) -> EventBuilder {
    let mut b = EventBuilder::new(Event::Raw {
        r#type: spec.r#type,
        config: spec.config,
    })
    .sample_type(sample_type(o))
    .sample_id_all(true)
    .comm(tracking)
    .mmap(tracking)
    .task(tracking)
    .write_backward(o.overwrite);
    b = match (spec.period, spec.freq, o.period, o.freq) {
        (Some(c), _, _, _) | (None, None, Some(c), _) => b.sample_period(c),
        (None, Some(f), _, _) | (None, None, None, Some(f)) => b.sample_freq(f),
        (None, None, None, None) => b.sample_freq(4000),
    };
    b = b.wakeup_watermark(watermark(o));
    b = match o.target {
        Target::Command(_) if o.delay_ms.is_none() => b.inherit(o.inherit).enable_on_exec(true),
        Target::Command(_) => b.inherit(o.inherit).disabled(true),
        _ => b.disabled(true),
    };
    let a = b.attr_mut();
    a.branch_sample_type = o.branch.unwrap_or(0);
    a.config1 = spec.config1;
    a.config2 = spec.config2;
    spec.mods.apply(a);
    if !spec.mods.exclude_host {
        a.flags |= ATTR_FLAG_EXCLUDE_GUEST; // perf's default on a host (its event names omit :HG)
    }
    if user_only {
        a.flags |= ATTR_FLAG_EXCLUDE_KERNEL | ATTR_FLAG_EXCLUDE_HV;
    }
    // perf's --all-user / --all-kernel: exclude_kernel / exclude_user on every event, nothing else.
    if o.all_user {
        a.flags |= ATTR_FLAG_EXCLUDE_KERNEL;
    }
    if o.all_kernel {
        a.flags |= ATTR_FLAG_EXCLUDE_USER;
    }
    if let Some(id) = o.clockid {
        a.flags |= ATTR_FLAG_USE_CLOCKID;
        a.clockid = id;
    }
    if o.user_callchain && a.sample_type & SAMPLE_CALLCHAIN != 0 {
        a.flags |= ATTR_FLAG_EXCLUDE_CALLCHAIN_KERNEL;
    }
    if tracking {
        a.flags |= ATTR_FLAG_MMAP2 | ATTR_FLAG_COMM_EXEC;
    }
    if o.inherit_stat {
        a.flags |= ATTR_FLAG_INHERIT_STAT;
    }
    if spec.r#type == TYPE_TRACEPOINT {
        a.sample_type |= SAMPLE_RAW; // the tracepoint's fields, decoded with TRACING_DATA
    }
    if spec.mods.sample_read {
        a.sample_type |= SAMPLE_READ;
        a.read_format |= FORMAT_GROUP | FORMAT_ID;
    }
    if let CallGraph::Dwarf(size) = o.callgraph {
        // The unwinder reads the stack through the thread's maps: data mappings ([stack]) too.
        if tracking {
            a.flags |= ATTR_FLAG_MMAP_DATA;
        }
        a.sample_regs_user = DWARF_REGS;
        a.sample_stack_user = size;
        a.flags |= ATTR_FLAG_EXCLUDE_CALLCHAIN_USER;
    }
    if let Some(m) = o.user_regs {
        a.sample_regs_user |= m;
    }
    b
}

/// Where each event instance goes: (pid, cpu) pairs.
pub(super) fn slots(
    o: &Options,
    workload_pid: Option<i32>,
) -> Result<Vec<(i32, i32)>, RecordError> {
    let cpus = match &o.cpus {
        Some(c) => c.clone(),
        None => premap::event::online_cpus()?,
    };
    Ok(match &o.target {
        Target::Command(_) => cpus
            .into_iter()
            .map(|c| (workload_pid.unwrap_or(-1), c))
            .collect(),
        Target::AllCpus(_) => cpus.into_iter().map(|c| (-1, c)).collect(),
        Target::Pids(pids) => {
            let mut v = Vec::new();
            for pid in pids {
                let tids = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|source| {
                    RecordError::Process {
                        pid: *pid,
                        // /proc/PID missing is perf's "No such process".
                        source: if source.kind() == std::io::ErrorKind::NotFound {
                            std::io::Error::from_raw_os_error(libc::ESRCH)
                        } else {
                            source
                        },
                    }
                })?;
                v.extend(
                    tids.flatten()
                        .filter_map(|e| e.file_name().to_str()?.parse().ok())
                        .map(|t| (t, -1)),
                );
            }
            v
        }
        Target::Tids(tids) => tids.iter().map(|&t| (t, -1)).collect(),
    })
}

/// The open events: their descriptions for the file, the instances, one ring per slot.
pub(super) struct Opened {
    pub(super) descs: Vec<EventDesc>,
    pub(super) events: Vec<Vec<PerfEvent>>,
    pub(super) rings: Vec<super::drain::SlotRing>,
}

/// An open failure and the event (as written on the command line) it was for.
struct OpenError(premap::Error, String);

fn open_with(o: &Options, slots: &[(i32, i32)], user_only: bool) -> Result<Opened, OpenError> {
    let mut opened = Opened {
        descs: Vec::new(),
        events: Vec::new(),
        rings: Vec::new(),
    };
    for (i, spec) in o.events.iter().enumerate() {
        open_one(o, slots, user_only, i, spec, &mut opened)
            .map_err(|e| OpenError(e, spec.name.clone()))?;
    }
    Ok(opened)
}

fn open_one(
    o: &Options,
    slots: &[(i32, i32)],
    user_only: bool,
    i: usize,
    spec: &EventSpec,
    opened: &mut Opened,
) -> Result<(), premap::Error> {
    let Opened {
        descs,
        events,
        rings,
    } = opened;
    {
        let b = builder(o, spec, i == 0, user_only);
        let leader_index = (!spec.leader)
            .then(|| {
                o.events
                    .iter()
                    .position(|e| e.group == spec.group && e.leader)
            })
            .flatten();
        let mut ids = Vec::new();
        let mut evs = Vec::new();
        for (slot, &(pid, cpu)) in slots.iter().enumerate() {
            let leader = leader_index
                .and_then(|l| events.get(l))
                .and_then(|v| v.get(slot));
            let mut eb = b.clone().pid(pid).cpu(cpu);
            if let Some(dir) = &o.cgroup {
                eb = eb.cgroup(dir)?;
            }
            let e = eb.open_in_group(leader)?;
            ids.push(e.id()?);
            if i == 0 {
                // Consume or overwrite mode follows the event's write_backward (--overwrite).
                rings.push(if o.overwrite {
                    SlotRing::Overwrite(e.overwrite_ring(o.pages)?)
                } else {
                    SlotRing::Consume(e.ring(o.pages)?)
                });
            } else if let Some(first) = events.first().and_then(|v| v.get(slot)) {
                e.set_output(first)?;
            }
            if let (Some(f), TYPE_TRACEPOINT) = (&o.filter, spec.r#type) {
                let f = std::ffi::CString::new(f.as_bytes()).map_err(|_| {
                    premap::Error::InvalidConfig {
                        what: "the event filter (it contains a NUL byte)".into(),
                        source: std::io::ErrorKind::InvalidInput.into(),
                    }
                })?;
                e.set_filter(&f)?;
            }
            evs.push(e);
        }
        descs.push(EventDesc {
            attr: *b.attr(),
            name: spec.name.clone(),
            ids,
        });
        events.push(evs);
    }
    Ok(())
}

/// Whether `spec` is the hardware `cycles` event, which perf replaces with `cpu-clock` where the
/// machine has no such counter (evsel__fallback).
fn is_cycles(spec: &EventSpec) -> bool {
    spec.r#type == premap::abi::attr::TYPE_HARDWARE
        && spec.config == premap::abi::attr::COUNT_HW_CPU_CYCLES
}

/// Opens every event. Where the machine has no `cycles` counter (a VM without a PMU), `cycles` falls
/// back to `cpu-clock` with perf's warning, once; where perf_event_paranoid forbids the kernel to
/// this user, every event falls back to user space only (as perf does) and says so once.
pub(super) fn open_events(o: &Options, slots: &[(i32, i32)]) -> Result<Opened, RecordError> {
    match open_events_as_given(o, slots) {
        Err(RecordError::Event {
            source: premap::Error::EventNotSupported { .. },
            ..
        }) if o.events.iter().any(is_cycles) => {
            let mut fallback = o.clone();
            let fell: Vec<usize> = (0..o.events.len())
                .filter(|&i| is_cycles(&o.events[i]))
                .collect();
            for &i in &fell {
                fallback.events[i].r#type = premap::abi::attr::TYPE_SOFTWARE;
                fallback.events[i].config = premap::abi::attr::COUNT_SW_CPU_CLOCK;
            }
            if !o.quiet {
                eprintln!(
                    "Warning:\nThe cycles event is not supported, trying to fall back to cpu-clock"
                );
            }
            let mut opened = open_events_as_given(&fallback, slots)?;
            // perf names a fallen-back event from its attr (`cycles:u` becomes `cpu-clock:uH`).
            for i in fell {
                if let Some(d) = opened.descs.get_mut(i) {
                    d.name = premap_perfdata::default_name(&d.attr);
                }
            }
            Ok(opened)
        }
        other => other,
    }
}

fn open_events_as_given(o: &Options, slots: &[(i32, i32)]) -> Result<Opened, RecordError> {
    let named = |OpenError(source, name): OpenError| match source {
        // A branch stack the event cannot sample (a software event, or no LBR-like hardware): perf's
        // words.
        premap::Error::EventNotSupported { .. } if o.branch.is_some() => {
            RecordError::BranchStack { name }
        }
        source => RecordError::Event { name, source },
    };
    match open_with(o, slots, false) {
        Ok(v) => Ok(v),
        // Not for an event that asked for the kernel alone (`:k`): as perf (evsel__fallback), that
        // is refused with the paranoid explanation rather than turned into nothing.
        Err(OpenError(premap::Error::PermissionDenied { paranoid, .. }, _))
            if o.events.iter().any(|e| !e.mods.exclude_kernel)
                && !o.events.iter().any(|e| e.mods.exclude_user)
                && !o.all_kernel
                && !matches!(o.target, Target::AllCpus(_)) =>
        {
            let v = open_with(o, slots, true).map_err(named)?;
            if !o.quiet {
                eprintln!(
                    "premap record: kernel.perf_event_paranoid is {}: recording user space only (as the :u modifier); \
                     root, CAP_PERFMON or a paranoid level of 1 or less lets the kernel be recorded too",
                    paranoid.map_or("unknown".into(), |p| p.to_string())
                );
            }
            Ok(v)
        }
        Err(e) => Err(named(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_by_name() {
        assert_eq!(parse_regs("ax,bx").unwrap(), 0b11);
        assert_eq!(parse_regs("IP,sp").unwrap(), 1 << 8 | 1 << 7);
        assert!(parse_regs("ax,zz").unwrap_err().contains("zz"));
    }
}
