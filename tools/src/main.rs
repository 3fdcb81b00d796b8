//! `premap`: record perf events into a perf.data file that Linux `perf` reads, dump perf.data files,
//! and check a ring implementation (the premap driver's or the kernel's perf rings) against the
//! conformance list.

mod check;
mod record;
mod synth;

use premap_tools::dump;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "premap",
    version,
    about = "Record and inspect perf-style ring buffers"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Record events into a perf.data file (perf's file format; read it with `perf script`).
    Record(RecordArgs),
    /// Run the ring conformance list against the premap driver or the kernel's perf rings.
    Check {
        /// The premap driver's device node.
        #[arg(long, default_value = "/dev/premap", conflicts_with = "perf")]
        device: PathBuf,
        /// Check the running kernel's perf_event_open rings instead.
        #[arg(long)]
        perf: bool,
    },
    /// Print every record of a perf.data file (file or pipe mode; `-` reads standard input).
    Dump {
        /// The file.
        file: PathBuf,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
struct RecordArgs {
    /// Event to record (perf names: page-faults, cpu-clock, task-clock, cycles, ...); repeatable.
    #[arg(short = 'e', long = "event", default_value = "cpu-clock")]
    events: Vec<String>,
    /// Sample every PERIOD events.
    #[arg(short = 'c', long = "count", conflicts_with = "freq")]
    period: Option<u64>,
    /// Sample FREQ times a second (default 4000 when no -c).
    #[arg(short = 'F', long = "freq")]
    freq: Option<u64>,
    /// Data pages per ring (a power of two).
    #[arg(short = 'm', long = "mmap-pages", default_value_t = 128)]
    pages: usize,
    /// Flight-recorder mode: the kernel overwrites old data; the newest is written at the end.
    #[arg(long)]
    overwrite: bool,
    /// Record every CPU (system-wide) until Ctrl-C, or until the command given exits.
    #[arg(short = 'a', long = "all-cpus", conflicts_with = "pid")]
    all_cpus: bool,
    /// Record an existing process until it exits or Ctrl-C.
    #[arg(short = 'p', long = "pid", conflicts_with = "command")]
    pid: Option<i32>,
    /// Output file.
    #[arg(short = 'o', long = "output", default_value = "perf.data")]
    output: PathBuf,
    /// The command to run and record.
    #[arg(last = true)]
    command: Vec<String>,
}

fn run_record(a: RecordArgs) -> ExitCode {
    let target = if a.all_cpus {
        record::Target::AllCpus((!a.command.is_empty()).then(|| a.command.clone()))
    } else if let Some(p) = a.pid {
        record::Target::Pid(p)
    } else if !a.command.is_empty() {
        record::Target::Command(a.command.clone())
    } else {
        eprintln!("premap record: say what to record: -- COMMAND, -p PID or -a");
        return ExitCode::from(2);
    };
    let opts = record::Options {
        events: a.events,
        period: a.period,
        freq: a.freq,
        pages: a.pages,
        overwrite: a.overwrite,
        target,
        output: a.output.clone(),
        cmdline: std::env::args().collect(),
    };
    match record::record(&opts) {
        Ok(t) => {
            eprintln!(
                "[ premap record: wrote {} records ({} samples), {:.3} MB to {}; {} lost ]",
                t.records,
                t.samples,
                t.bytes as f64 / 1e6,
                a.output.display(),
                t.lost
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("premap record: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Record(a) => run_record(a),
        Cmd::Check { device, perf } => {
            let subject = if perf {
                check::Subject::Perf
            } else {
                check::Subject::Device(device)
            };
            if check::run(&subject, &mut std::io::stdout().lock()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Cmd::Dump { file, json } => {
            let format = if json {
                dump::Format::Json
            } else {
                dump::Format::Text
            };
            let mut out = std::io::stdout().lock();
            match dump::dump(&file, format, &mut out) {
                Ok(_) => ExitCode::SUCCESS,
                Err(dump::DumpError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("premap dump: {}: {e}", file.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}
