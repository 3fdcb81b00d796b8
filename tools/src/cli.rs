//! The `premap` command line: its subcommands as clap declares them, and each one run.

use crate::record::args::RecordArgs;
use crate::{check, dump, list, record};
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// `premap`'s command line.
#[derive(Parser, Debug)]
#[command(
    name = "premap",
    version,
    about = "Record and inspect perf-style ring buffers"
)]
pub struct Cli {
    #[command(subcommand)]
    /// The subcommand.
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
/// `premap`'s subcommands.
pub enum Cmd {
    /// Record events into a perf.data file (perf's file format; read it with `perf script`).
    /// Options follow perf's grammar (record/argv.rs): the last of a repeated option wins.
    #[command(args_override_self = true)]
    Record(Box<RecordArgs>),
    /// Run the ring conformance list against the premap driver or the kernel's perf rings.
    Check {
        /// The premap driver's device node.
        #[arg(long, default_value = "/dev/premap", conflicts_with = "perf")]
        device: PathBuf,
        /// Check the running kernel's perf_event_open rings instead.
        #[arg(long)]
        perf: bool,
    },
    /// List the events this machine offers (perf's names, cache events, PMU events, tracepoints).
    List,
    /// Print every record of a perf.data file (file or pipe mode; `-` reads standard input).
    Dump {
        /// The file.
        file: PathBuf,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Only the count of records per type and of samples per event, as `perf report --stats`.
        #[arg(long, conflicts_with = "json")]
        stats: bool,
    },
}

/// Runs `premap` with this process's arguments: the process's exit status.
pub fn run() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("record") {
        let cli = Cli::command();
        let Some(rec) = cli.find_subcommand("record") else {
            return ExitCode::FAILURE;
        };
        match record::argv::canonical(rec, &argv[2..]) {
            Ok(c) => {
                argv.truncate(2);
                argv.extend(c);
            }
            Err(e) => {
                // perf's report of a bad option: the error, then the usage; exit 129.
                eprintln!("  Error: {}\n\n{}\n", e.0, record::argv::USAGE);
                return ExitCode::from(129);
            }
        }
    }
    let cli = Cli::parse_from(argv);
    match cli.cmd {
        Cmd::Record(a) => record::args::run(*a),
        Cmd::List => list::run(),
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
        Cmd::Dump {
            file, stats: true, ..
        } => {
            let mut out = std::io::stdout().lock();
            let (st, damage) = match dump::stats(&file) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("premap dump: {}: {e}", file.display());
                    return ExitCode::FAILURE;
                }
            };
            for w in &st.warnings {
                eprintln!("premap dump: {}: warning: {w}", file.display());
            }
            match st.write(&mut out) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("premap dump: writing output: {e}");
                    return ExitCode::FAILURE;
                }
            }
            match damage {
                None => ExitCode::SUCCESS,
                Some(e) => {
                    eprintln!("premap dump: {}: {e}", file.display());
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Dump { file, json, .. } => {
            let format = if json {
                dump::Format::Json
            } else {
                dump::Format::Text
            };
            let mut out = std::io::stdout().lock();
            match dump::dump(&file, format, &mut out) {
                Ok(summary) => {
                    for w in &summary.warnings {
                        eprintln!("premap dump: {}: warning: {w}", file.display());
                    }
                    ExitCode::SUCCESS
                }
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
