//! `premap record`'s options as clap declares them (record/argv.rs puts perf's grammar in front),
//! turned into the [`record::Options`] a recording runs with.

use crate::{events, record};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// `premap record`'s options and workload.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Event to record, in perf's syntax: names and aliases (`premap list`), modifiers (`cycles:u`),
    /// raw `rNNNN`, `pmu/term=value,.../`, tracepoints `sys:name`, lists `a,b` and groups `{a,b}`;
    /// repeatable.
    #[arg(short = 'e', long = "event", default_value = "cpu-clock")]
    events: Vec<String>,
    /// Sample every PERIOD events.
    #[arg(short = 'c', long = "count", conflicts_with = "freq")]
    period: Option<u64>,
    /// Sample FREQ times a second (default 4000 when no -c); `max`: the kernel's limit
    /// (perf_event_max_sample_rate).
    #[arg(short = 'F', long = "freq")]
    freq: Option<String>,
    /// Record the sample's CPU (PERF_SAMPLE_CPU) even when not recording CPU-wide.
    #[arg(long = "sample-cpu")]
    sample_cpu: bool,
    /// Sample the weight (PERF_SAMPLE_WEIGHT_STRUCT, as perf 6.1 on x86).
    #[arg(short = 'W', long = "weight")]
    weight: bool,
    /// Sample any taken branch (a branch stack in every sample: -j any).
    #[arg(short = 'b', long = "branch-any")]
    branch_any: bool,
    /// Sample the branches of these kinds: a comma list of any, any_call, any_ret, ind_call,
    /// ind_jmp, call, cond, abort_tx, in_tx, no_tx, call_stack, save_type, no_flags, no_cycles,
    /// hw_index, priv, and the privilege levels u, k, hv.
    #[arg(short = 'j', long = "branch-filter")]
    branch_filter: Option<String>,
    /// Record only the tasks of cgroup NAME (relative to the perf_event cgroup mount, or the cgroup2
    /// one); system-wide mode only (-a or -C).
    #[arg(short = 'G', long = "cgroup")]
    cgroup: Option<String>,
    /// Record the sample period (PERF_SAMPLE_PERIOD) also with -c.
    #[arg(short = 'P', long = "period")]
    sample_period: bool,
    /// Every event counts user space only (exclude_kernel, as perf's --all-user).
    #[arg(long = "all-user", conflicts_with = "all_kernel")]
    all_user: bool,
    /// Every event counts the kernel only (exclude_user, as perf's --all-kernel).
    #[arg(long = "all-kernel")]
    all_kernel: bool,
    /// Timestamps from this clock: monotonic (mono), monotonic_raw (raw), realtime, boottime, tai,
    /// or a clockid number (use_clockid).
    #[arg(short = 'k', long = "clockid")]
    clockid: Option<String>,
    /// With -g: user-space callchains only (exclude_callchain_kernel; `--user-callchain` works too).
    #[arg(long = "user-callchains")]
    user_callchain: bool,
    /// Accepted for perf's command lines: premap records no BPF events in any case.
    #[arg(long = "no-bpf-event")]
    no_bpf_event: bool,
    /// Accepted for perf's command lines (perf: overwrite a file another user owns); premap keeps
    /// the old file as FILE.old and writes the new one in any case.
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Data pages per ring (a power of two).
    /// Data pages per ring, rounded up to a power of two; `N,M` as perf (M, the AUX area's pages,
    /// has no use here: premap records no AUX events).
    #[arg(short = 'm', long = "mmap-pages", default_value = "128")]
    pages: String,
    /// Stop recording once the data written reaches SIZE (`100M`, `1G`, bytes), as perf.
    #[arg(long = "max-size")]
    max_size: Option<String>,
    /// Flight-recorder mode: the kernel overwrites old data; the newest is written at the end.
    #[arg(long)]
    overwrite: bool,
    /// Record every CPU (system-wide) until Ctrl-C, or until the command given exits. Also the
    /// default when no command, -p or -t is given.
    #[arg(short = 'a', long = "all-cpus", conflicts_with_all = ["pid", "tid"])]
    all_cpus: bool,
    /// Only these CPUs (a list: 0-3,7).
    #[arg(short = 'C', long = "cpu")]
    cpu: Option<String>,
    /// Record existing processes (comma-separated pids) until they exit or Ctrl-C.
    #[arg(short = 'p', long = "pid", conflicts_with = "tid")]
    pid: Option<String>,
    /// Record the processes a user owns (a name or a uid), as they are when recording starts.
    #[arg(short = 'u', long = "uid", conflicts_with_all = ["pid", "tid"])]
    uid: Option<String>,
    /// Record existing threads (comma-separated tids).
    #[arg(short = 't', long = "tid")]
    tid: Option<String>,
    /// Output file; `-` writes perf's pipe format to standard output. An existing file is kept as
    /// FILE.old.
    #[arg(short = 'o', long = "output", default_value = "perf.data")]
    output: PathBuf,
    /// Frame-pointer call graphs (as --call-graph fp).
    #[arg(short = 'g')]
    g: bool,
    /// Call graphs: fp, or dwarf,SIZE or dwarf (user registers and SIZE bytes of stack, default 8192).
    #[arg(long = "call-graph")]
    call_graph: Option<String>,
    /// Sample these user registers (ax,bx,...,r15).
    #[arg(long = "user-regs")]
    user_regs: Option<String>,
    /// Sample data addresses.
    #[arg(short = 'd', long = "data")]
    data: bool,
    /// Sample times (always on; accepted for perf's command lines).
    #[arg(short = 'T', long = "timestamp")]
    timestamp: bool,
    /// Per-thread counts (inherit_stat).
    #[arg(short = 's', long = "stat")]
    stat: bool,
    /// Do not record the workload's children.
    #[arg(short = 'i', long = "no-inherit")]
    no_inherit: bool,
    /// Start recording MSECS after the workload starts.
    #[arg(short = 'D', long = "delay")]
    delay: Option<u64>,
    /// A filter for the tracepoint events (the kernel's filter syntax).
    #[arg(long = "filter")]
    filter: Option<String>,
    /// No messages but errors.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Close the file as FILE.TIMESTAMP and start a new one: on SIGUSR2 (`signal`, the default), at a
    /// size (`100M`) or every so long (`30s`, `5m`).
    #[arg(long = "switch-output", num_args = 0..=1, default_missing_value = "signal", require_equals = true)]
    switch_output: Option<String>,
    /// No pass over the data at the end: no BUILD_ID (perf buildid-list) and no SAMPLE_TIME, less CPU.
    #[arg(short = 'B', long = "no-buildid")]
    no_buildid: bool,
    /// Compress the data with zstd (perf's COMPRESSED records; perf 6.1 reads them).
    #[arg(short = 'z', long = "compression-level", num_args = 0..=1, default_missing_value = "1")]
    compress: Option<u32>,
    /// The command to run and record (`premap record CMD ARGS` or `premap record -- CMD ARGS`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

fn id_list(s: &str, what: &str) -> Result<Vec<i32>, String> {
    s.split(',')
        .map(|p| {
            p.trim()
                .parse::<i32>()
                .map_err(|_| format!("{what} {p:?} is not a number"))
        })
        .collect()
}

/// `-F`: a number, or `max` (the kernel's perf_event_max_sample_rate), as perf.
fn parse_freq(s: &str) -> Result<u64, String> {
    if s == "max" {
        let path = "/proc/sys/kernel/perf_event_max_sample_rate";
        return std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| format!("-F max: cannot read {path}"));
    }
    s.parse()
        .map_err(|_| format!("-F {s}: a frequency is a number or max"))
}

/// `-k`: perf's clock names (and their short forms) or a number.
/// Where cgroups are, as perf's `cgroupfs_find_mountpoint` finds them: the first mount of a cgroup v1
/// hierarchy with the `perf_event` controller, else the first cgroup2 mount (from
/// `/proc/self/mountinfo`: field 5 the mount point, after ` - ` the type and the super options).
pub fn cgroup_mount(mountinfo: &str) -> Option<std::path::PathBuf> {
    let mounts: Vec<(&str, &str, &str)> = mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let point = left.split_whitespace().nth(4)?;
            let mut r = right.split_whitespace();
            let fstype = r.next()?;
            let opts = r.nth(1).unwrap_or("");
            Some((point, fstype, opts))
        })
        .collect();
    let v1 = mounts
        .iter()
        .find(|(_, t, o)| *t == "cgroup" && o.split(',').any(|x| x == "perf_event"));
    let v2 = mounts.iter().find(|(_, t, _)| *t == "cgroup2");
    v1.or(v2).map(|(p, _, _)| std::path::PathBuf::from(p))
}

/// `-G NAME`: the cgroup's directory under the mount perf would use.
fn cgroup_dir(name: &str) -> Result<std::path::PathBuf, String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let root = cgroup_mount(&mountinfo).ok_or_else(|| {
        format!("-G {name}: no perf_event or cgroup2 cgroup hierarchy is mounted")
    })?;
    let dir = root.join(name.trim_start_matches('/'));
    if !dir.is_dir() {
        return Err(format!("-G {name}: cannot open cgroup {}", dir.display()));
    }
    Ok(dir)
}

/// `-u USER`: the uid of a name (from /etc/passwd) or a number.
fn uid_of(user: &str) -> Result<u32, String> {
    if let Ok(uid) = user.parse() {
        return Ok(uid);
    }
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == user).then(|| f.nth(1)?.parse().ok())?
        })
        .ok_or_else(|| format!("-u {user}: no such user"))
}

/// The processes whose real uid is `user`'s (the first uid of `/proc/PID/status`), as perf's
/// `thread_map__new_by_uid` finds them.
fn pids_of_user(user: &str) -> Result<Vec<i32>, String> {
    let uid = uid_of(user)?;
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .map_err(|e| format!("-u {user}: /proc: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|pid: &i32| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|st| {
                    st.lines()
                        .find_map(|l| l.strip_prefix("Uid:"))?
                        .split_whitespace()
                        .next()?
                        .parse::<u32>()
                        .ok()
                })
                == Some(uid)
        })
        .collect();
    if pids.is_empty() {
        return Err(format!("-u {user}: the user has no processes"));
    }
    pids.sort_unstable();
    Ok(pids)
}

/// `PERF_SAMPLE_BRANCH_ANY`.
const BRANCH_ANY: u64 = 1 << 3;

/// `-j`'s names (perf's branch_modes in util/parse-branch-options.c) and their
/// `PERF_SAMPLE_BRANCH_*` bits.
const BRANCH_MODES: [(&str, u64); 19] = [
    ("u", 1 << 0),
    ("k", 1 << 1),
    ("hv", 1 << 2),
    ("any", BRANCH_ANY),
    ("any_call", 1 << 4),
    ("any_ret", 1 << 5),
    ("ind_call", 1 << 6),
    ("abort_tx", 1 << 7),
    ("in_tx", 1 << 8),
    ("no_tx", 1 << 9),
    ("cond", 1 << 10),
    ("call_stack", 1 << 11),
    ("ind_jmp", 1 << 12),
    ("call", 1 << 13),
    ("no_flags", 1 << 14),
    ("no_cycles", 1 << 15),
    ("save_type", 1 << 16),
    ("hw_index", 1 << 17),
    ("priv", 1 << 18),
];

/// `-j LIST`: perf's rule: the privilege levels alone (or nothing) mean `any` at those levels.
fn parse_branch_filter(list: &str) -> Result<u64, String> {
    let mut bits = 0;
    for name in list.split(',').map(str::trim) {
        let bit = BRANCH_MODES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
            .ok_or_else(|| format!("-j {list}: unknown branch filter {name:?}"))?;
        bits |= bit;
    }
    if bits & !0b111 == 0 {
        bits |= BRANCH_ANY;
    }
    Ok(bits)
}

fn parse_clockid(s: &str) -> Result<i32, String> {
    let named = [
        ("monotonic", 1),
        ("mono", 1),
        ("monotonic_raw", 4),
        ("raw", 4),
        ("realtime", 0),
        ("real", 0),
        ("boottime", 7),
        ("boot", 7),
        ("tai", 11),
        ("CLOCK_MONOTONIC", 1),
        ("CLOCK_MONOTONIC_RAW", 4),
        ("CLOCK_REALTIME", 0),
        ("CLOCK_BOOTTIME", 7),
        ("CLOCK_TAI", 11),
    ];
    named
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, id)| *id)
        .or_else(|| s.parse().ok())
        .ok_or_else(|| format!("-k {s}: unknown clock (monotonic, monotonic_raw, realtime, boottime, tai or a number)"))
}

/// The options `a` asks for, checked.
pub fn options(a: RecordArgs) -> Result<record::Options, String> {
    let command = a.command.clone();
    // As perf: with -p/-t the command only sets the duration; with -a or -C the command's run sets
    // how long every task on those CPUs is recorded; otherwise the command is what is recorded.
    let mut duration = None;
    let target = if let Some(p) = &a.pid {
        duration = (!command.is_empty()).then_some(command);
        record::Target::Pids(id_list(p, "pid")?)
    } else if let Some(t) = &a.tid {
        duration = (!command.is_empty()).then_some(command);
        record::Target::Tids(id_list(t, "tid")?)
    } else if let Some(u) = &a.uid {
        duration = (!command.is_empty()).then_some(command);
        record::Target::Pids(pids_of_user(u)?)
    } else if a.all_cpus || a.cpu.is_some() || command.is_empty() {
        record::Target::AllCpus((!command.is_empty()).then_some(command))
    } else {
        record::Target::Command(command)
    };
    let callgraph = match (a.g, a.call_graph.as_deref()) {
        (_, Some("fp")) | (true, None) => record::CallGraph::Fp,
        (_, Some(cg)) if cg == "dwarf" || cg.starts_with("dwarf,") => {
            let size = match cg.strip_prefix("dwarf,") {
                None => 8192,
                Some(n) => n
                    .parse::<u32>()
                    .map_err(|_| format!("--call-graph {cg}: bad stack size"))?,
            };
            if size == 0 || size % 8 != 0 || size > 65528 {
                return Err(format!(
                    "--call-graph {cg}: the stack size must be a multiple of 8 from 8 to 65528"
                ));
            }
            record::CallGraph::Dwarf(size)
        }
        (_, Some(other)) => return Err(format!("--call-graph {other}: use fp or dwarf[,SIZE]")),
        (false, None) => record::CallGraph::None,
    };
    let cpus = match &a.cpu {
        Some(c) => Some(
            premap::event::parse_cpu_list(c).ok_or_else(|| format!("-C {c}: not a CPU list"))?,
        ),
        None => None,
    };
    let events = events::parse_list(&a.events, &events::MachineSysfs).map_err(|e| e.to_string())?;
    let _ = (a.timestamp, a.no_bpf_event, a.force);
    Ok(record::Options {
        events,
        period: a.period,
        freq: a.freq.as_deref().map(parse_freq).transpose()?,
        sample_cpu: a.sample_cpu,
        weight: a.weight,
        cgroup: match a.cgroup.as_deref() {
            None => None,
            Some(_) if !(a.all_cpus || a.cpu.is_some()) => {
                // perf's words (builtin-record.c).
                return Err("cgroup monitoring only available in system-wide mode".into());
            }
            Some(name) => Some(cgroup_dir(name)?),
        },
        branch: match (a.branch_any, a.branch_filter.as_deref()) {
            (_, Some(f)) => Some(parse_branch_filter(f)?),
            (true, None) => Some(BRANCH_ANY),
            (false, None) => None,
        },
        sample_period: a.sample_period,
        all_user: a.all_user,
        all_kernel: a.all_kernel,
        clockid: a.clockid.as_deref().map(parse_clockid).transpose()?,
        user_callchain: a.user_callchain,
        pages: {
            let n = a.pages.split(',').next().unwrap_or("");
            n.parse()
                .map_err(|_| format!("-m {}: a number of pages (N or N,M)", a.pages))?
        },
        max_size: match a.max_size.as_deref().map(str::parse::<record::Switch>) {
            None => None,
            Some(Ok(record::Switch::Size(n))) => Some(n),
            Some(_) => {
                return Err("--max-size: a size such as 100M, 1G or a number of bytes".into())
            }
        },
        overwrite: a.overwrite,
        target,
        duration,
        cpus,
        output: if a.output.as_os_str() == "-" {
            record::Output::Stdout
        } else {
            record::Output::File(a.output)
        },
        cmdline: std::env::args().collect(),
        callgraph,
        user_regs: a.user_regs.as_deref().map(record::parse_regs).transpose()?,
        data_addr: a.data,
        inherit_stat: a.stat,
        inherit: !a.no_inherit,
        delay_ms: a.delay,
        filter: a.filter,
        quiet: a.quiet,
        compress: a.compress,
        no_buildid: a.no_buildid,
        switch_output: a.switch_output.as_deref().map(str::parse).transpose()?,
    })
}

/// Runs `premap record` and reports how it went: the workload's exit status (or the signal that
/// stopped the recording, raised again), 2 for a bad command line, 1 for a failed recording.
pub fn run(a: RecordArgs) -> ExitCode {
    let opts = match options(a) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("premap record: {e}");
            return ExitCode::from(2);
        }
    };
    match record::record(&opts) {
        Ok(out) => {
            let t = out.totals;
            if !opts.quiet {
                eprintln!(
                    "[ premap record: wrote {} records ({} samples), {:.3} MB to {}; {} lost ]",
                    t.records,
                    t.samples,
                    t.bytes as f64 / 1e6,
                    opts.output,
                    t.lost
                );
            }
            if let Some(sig) = out.signal {
                // As perf: the file is complete; then die of the signal that stopped us (130 for ^C).
                // SAFETY: restoring the default action and raising a signal at ourselves.
                unsafe {
                    libc::signal(sig, libc::SIG_DFL);
                    libc::raise(sig);
                }
            }
            ExitCode::from(out.workload.map_or(0, |s| s.code()))
        }
        Err(e) => {
            eprintln!("premap record: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_are_found_where_perf_finds_them() {
        let v1_and_v2 = "\
24 30 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw
25 24 0:23 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
26 24 0:24 / /sys/fs/cgroup/perf_event rw - cgroup cgroup rw,perf_event
27 30 0:25 / /mnt/unified rw - cgroup2 cgroup2 rw,nsdelegate
";
        assert_eq!(
            cgroup_mount(v1_and_v2),
            Some("/sys/fs/cgroup/perf_event".into())
        );
        let v2 = "35 30 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(cgroup_mount(v2), Some("/sys/fs/cgroup".into()));
        assert_eq!(
            cgroup_mount("24 30 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"),
            None
        );
    }

    #[test]
    fn users_by_name_or_number() {
        assert_eq!(uid_of("root"), Ok(0));
        assert_eq!(uid_of("65534"), Ok(65534));
        assert!(uid_of("premap-no-such-user").is_err());
        let mine = pids_of_user("root").unwrap();
        assert!(
            mine.contains(&(std::process::id() as i32)),
            "the tests run as root"
        );
    }

    #[test]
    fn branch_filters_follow_perf() {
        assert_eq!(parse_branch_filter("any"), Ok(1 << 3));
        // Privilege levels alone mean any branch at those levels.
        assert_eq!(parse_branch_filter("u"), Ok(1 | 1 << 3));
        assert_eq!(parse_branch_filter("u,k"), Ok(1 | 2 | 1 << 3));
        assert_eq!(parse_branch_filter("any_call,u"), Ok(1 << 4 | 1));
        assert_eq!(
            parse_branch_filter("call,cond,hw_index"),
            Ok(1 << 13 | 1 << 10 | 1 << 17)
        );
        assert!(parse_branch_filter("any,bogus").is_err());
    }
}
