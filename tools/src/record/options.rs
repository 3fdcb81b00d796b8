//! What `premap record` is asked to do: the target, the call-graph mode, the output and its
//! rotation, and every option, as the command line gave them.

use crate::events::EventSpec;
use std::path::PathBuf;
use std::time::Duration;

/// What to record.
#[derive(Clone, Debug)]
pub enum Target {
    /// Run this command and record it (and its children, unless `--no-inherit`).
    Command(Vec<String>),
    /// Record existing processes (all their threads at the time recording starts).
    Pids(Vec<i32>),
    /// Record existing threads.
    Tids(Vec<i32>),
    /// Record every CPU (or those of `-C`), until Ctrl-C or, with a command, until the command exits.
    AllCpus(Option<Vec<String>>),
}

/// Call graphs (`-g`, `--call-graph`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallGraph {
    /// None.
    None,
    /// Frame pointers: the kernel walks the stack (`PERF_SAMPLE_CALLCHAIN`).
    Fp,
    /// DWARF: user registers and this many bytes of user stack per sample, unwound by perf report.
    Dwarf(u32),
}

/// Where the recording goes.
#[derive(Clone, Debug)]
pub enum Output {
    /// A perf.data file (file mode; an existing one is kept as FILE.old).
    File(PathBuf),
    /// Standard output, pipe mode (`-o -`).
    Stdout,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::File(p) => write!(f, "{}", p.display()),
            Output::Stdout => f.write_str("standard output"),
        }
    }
}

/// Options of `premap record`.
#[derive(Clone, Debug)]
pub struct Options {
    /// The events, parsed.
    pub events: Vec<EventSpec>,
    /// `-c`: sample period.
    pub period: Option<u64>,
    /// `-F`: sample frequency.
    pub freq: Option<u64>,
    /// `--sample-cpu`: PERF_SAMPLE_CPU in every sample.
    pub sample_cpu: bool,
    /// `-W`: the sample weight.
    pub weight: bool,
    /// `-b` / `-j`: PERF_SAMPLE_BRANCH_STACK with this `branch_sample_type`.
    pub branch: Option<u64>,
    /// `-G NAME`: the cgroup directory whose tasks are recorded (system-wide mode only).
    pub cgroup: Option<std::path::PathBuf>,
    /// `-P`: PERF_SAMPLE_PERIOD also with a fixed period.
    pub sample_period: bool,
    /// `--all-user`: exclude_kernel on every event.
    pub all_user: bool,
    /// `--all-kernel`: exclude_user on every event.
    pub all_kernel: bool,
    /// `-k`: use_clockid with this clock.
    pub clockid: Option<i32>,
    /// `--user-callchain`: exclude_callchain_kernel.
    pub user_callchain: bool,
    /// `-m`: data pages per ring (a power of two).
    pub pages: usize,
    /// `--max-size`: stop once this many bytes of data are written.
    pub max_size: Option<u64>,
    /// `--overwrite`: flight-recorder mode, read once at the end.
    pub overwrite: bool,
    /// What to record.
    pub target: Target,
    /// With `-p`/`-t`: a command that sets how long to record (it is run, not recorded), as perf
    /// takes `perf record -p PID -- sleep 2`.
    pub duration: Option<Vec<String>>,
    /// `-C`: only these CPUs.
    pub cpus: Option<Vec<i32>>,
    /// Output.
    pub output: Output,
    /// The command line, for the CMDLINE feature.
    pub cmdline: Vec<String>,
    /// `-g` / `--call-graph`.
    pub callgraph: CallGraph,
    /// `--user-regs`: a register mask to sample in user space.
    pub user_regs: Option<u64>,
    /// `-d`: sample data addresses.
    pub data_addr: bool,
    /// `-s`: per-thread counts (`inherit_stat`).
    pub inherit_stat: bool,
    /// `--no-inherit` turns this off: children of the workload are recorded.
    pub inherit: bool,
    /// `-D`: start recording this many ms after the workload starts.
    pub delay_ms: Option<u64>,
    /// `--filter`: a filter for the tracepoint events.
    pub filter: Option<String>,
    /// `-q`: no messages but errors.
    pub quiet: bool,
    /// `-z`: compress the data with zstd at this level (perf's COMPRESSED records).
    pub compress: Option<u32>,
    /// `--switch-output`: when to close the current file as FILE.TIMESTAMP and start a new one.
    pub switch_output: Option<Switch>,
    /// `-B`: skip the pass over the data at the end (no BUILD_ID, no SAMPLE_TIME), as perf's -B.
    pub no_buildid: bool,
}

/// When `--switch-output` starts a new file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// On SIGUSR2 (perf's default).
    Signal,
    /// When the file holds this many bytes of data.
    Size(u64),
    /// Every so long.
    Time(Duration),
}

impl std::str::FromStr for Switch {
    type Err = String;

    /// `signal`, a size (`100M`, `1G`, `4096`) or a time (`30s`, `5m`, `1h`).
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "signal" {
            return Ok(Switch::Signal);
        }
        let bad =
            || format!("--switch-output={s}: use signal, a size (10M, 1G) or a time (30s, 5m, 1h)");
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u64 = num.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        let size = |shift: u32| {
            Ok(Switch::Size(
                n.checked_shl(shift)
                    .filter(|v| v >> shift == n)
                    .ok_or_else(bad)?,
            ))
        };
        match unit {
            "" | "B" | "b" => size(0),
            "K" | "k" => size(10),
            "M" => size(20),
            "G" | "g" => size(30),
            "s" => Ok(Switch::Time(Duration::from_secs(n))),
            "m" => Ok(Switch::Time(Duration::from_secs(n.saturating_mul(60)))),
            "h" => Ok(Switch::Time(Duration::from_secs(n.saturating_mul(3600)))),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod switch_tests {
    use super::*;

    #[test]
    fn switch_output_takes_perfs_forms() {
        assert_eq!("signal".parse::<Switch>(), Ok(Switch::Signal));
        assert_eq!("10M".parse::<Switch>(), Ok(Switch::Size(10 << 20)));
        assert_eq!("4096".parse::<Switch>(), Ok(Switch::Size(4096)));
        assert_eq!(
            "30s".parse::<Switch>(),
            Ok(Switch::Time(Duration::from_secs(30)))
        );
        assert_eq!(
            "5m".parse::<Switch>(),
            Ok(Switch::Time(Duration::from_secs(300)))
        );
        for bad in ["", "0", "10x", "M", "99999999999999999999G"] {
            assert!(bad.parse::<Switch>().is_err(), "{bad:?}");
        }
    }
}
