//! `premap record`: opens perf events, drains their rings straight into a perf.data file with
//! `write()` from the mapping, and finishes the file so that Linux `perf` reads it.
//!
//! The phases follow perf's builtin-record.c: `check_options` (record__parse_opts), `open_events`
//! (record__open, with perf's fallback to user space only where perf_event_paranoid forbids the
//! kernel), `synthesize` (kernel, module and process side-band), the drain loop
//! (`drain::drain_all`, record__mmap_read_all), and `Finish::write` (record__finish_output: the
//! build ids and sample times of what was recorded, then the header). The output side (creating the
//! writer, its header facts, rotation and switched-out files) is in `output.rs`, the options in
//! `options.rs`.

pub mod args;
pub mod argv;
pub mod buildid;
mod compress;
mod drain;
mod open;
mod options;
mod output;
use output::{create_output, machine_facts, rotate, timestamped, Finish};
mod tracing;
pub mod workload;
pub use options::{CallGraph, Options, Output, Switch, Target};

use crate::synth;
pub use open::parse_regs;
use open::{open_events, slots, watermark, Opened};
use premap::Workload;
use premap::{PerfEvent, Poller};
use premap_perfdata::features::{EventDesc, Facts};
use premap_perfdata::writer::Writer;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};
use workload::{spawn, Status};

/// Set by SIGUSR2 under `--switch-output`.
static SWITCH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_switch(_: libc::c_int) {
    SWITCH.store(true, Ordering::Relaxed);
}

/// `--switch-output` (signal): SIGUSR2 asks for a new file.
fn install_switch_handler() {
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(on_switch),
        nix::sys::signal::SaFlags::SA_RESTART,
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGUSR2, &action) };
}

/// What a recording wrote.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    /// Records written (ring records and synthesized ones).
    pub records: u64,
    /// Samples among them.
    pub samples: u64,
    /// Bytes of data.
    pub bytes: u64,
    /// Records the kernel reported lost.
    pub lost: u64,
    /// Ring bytes written since the last FINISHED_ROUND.
    pub since_round: u64,
}

/// How a recording ended.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// What was written.
    pub totals: Totals,
    /// The workload's end, when there was one.
    pub workload: Option<Status>,
    /// The signal (SIGINT, SIGTERM) that stopped the recording, if one did.
    pub signal: Option<i32>,
}

/// The signal that asked the recording to stop (0: none).
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    STOP.store(sig, Ordering::Relaxed);
}

fn install_signal_handlers() {
    for sig in [
        nix::sys::signal::Signal::SIGINT,
        nix::sys::signal::Signal::SIGTERM,
    ] {
        let action = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(on_signal),
            nix::sys::signal::SaFlags::empty(),
            nix::sys::signal::SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { nix::sys::signal::sigaction(sig, &action) };
    }
}

/// Why `premap record` failed; its `Display` is the message the command prints.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Options that cannot be recorded as given (the message says which and why).
    #[error("{0}")]
    Options(String),
    /// The workload cannot be run.
    #[error("{0}")]
    Workload(String),
    /// A system call of the recorder's own failed (pipe, fork).
    #[error("{call}: {source}")]
    Sys {
        /// The call.
        call: &'static str,
        /// Its error.
        #[source]
        source: nix::errno::Errno,
    },
    /// A process given with `-p` cannot be followed.
    #[error("process {pid}: {source}")]
    Process {
        /// Its pid.
        pid: i32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An event cannot be opened or its ring mapped.
    #[error("event {name:?}: {source}")]
    Event {
        /// The event as named on the command line.
        name: String,
        /// Why.
        #[source]
        source: premap::Error,
    },
    /// `-b`/`-j` on an event that cannot sample branch stacks.
    #[error("{name}: PMU Hardware or event type doesn't support branch stack sampling.")]
    BranchStack {
        /// The event as named on the command line.
        name: String,
    },
    /// Creating, renaming, writing or reading back the output failed.
    #[error("{action} {path}: {source}")]
    Output {
        /// What was done (`creating`, `renaming`, `writing`, `reading back`).
        action: &'static str,
        /// The output (`standard output` in pipe mode).
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The zstd compressor failed.
    #[error("zstd: {0}")]
    Compress(#[source] std::io::Error),
    /// The library failed (polling, enabling, reading a ring).
    #[error(transparent)]
    Premap(#[from] premap::Error),
}

fn write_error(out: &Output, e: std::io::Error) -> RecordError {
    output_error("writing", &out.to_string(), e)
}

/// A failure to do `action` to the output at `path`.
fn output_error(action: &'static str, path: &str, source: std::io::Error) -> RecordError {
    RecordError::Output {
        action,
        path: path.to_string(),
        source,
    }
}

/// The highest sampling frequency the kernel takes now.
fn max_sample_rate() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Checks the options perf checks before opening anything (record__parse_opts): a power-of-two ring,
/// no zero period or frequency, a frequency over the kernel's limit throttled with perf's explanation.
pub fn check_options(o: &mut Options) -> Result<(), RecordError> {
    if o.pages == 0 {
        return Err(RecordError::Options(
            "-m 0: the ring needs at least one data page".into(),
        ));
    }
    if !o.pages.is_power_of_two() {
        // As perf (evlist__parse_mmap_pages): rounded up, and said.
        let pages = o
            .pages
            .checked_next_power_of_two()
            .filter(|&p| p <= 1 << 20)
            .ok_or_else(|| RecordError::Options(format!("-m {}: too many pages", o.pages)))?;
        if !o.quiet {
            eprintln!(
                "rounding mmap pages size to {}K ({pages} pages)",
                pages * premap::page_size() / 1024
            );
        }
        o.pages = pages;
    }
    if o.period == Some(0) {
        return Err(RecordError::Options(
            "-c 0: the sample period must be at least 1".into(),
        ));
    }
    if o.switch_output.is_some() && matches!(o.output, Output::Stdout) {
        return Err(RecordError::Options(
            "--switch-output writes files: it cannot be combined with -o - (pipe mode)".into(),
        ));
    }
    if o.compress.is_some_and(|l| !(1..=22).contains(&l)) {
        return Err(RecordError::Options("-z: the zstd level is 1 to 22".into()));
    }
    if o.freq == Some(0) {
        return Err(RecordError::Options(
            "-F 0: frequency and count are zero, nothing would be sampled".into(),
        ));
    }
    if let (Some(f), Some(max)) = (o.freq, max_sample_rate()) {
        if f > max {
            if !o.quiet {
                eprintln!(
                    "premap record: warning: the maximum sampling frequency ({max} Hz) is exceeded; throttling from {f} Hz to {max} Hz.\n\
                     The limit is /proc/sys/kernel/perf_event_max_sample_rate, which the kernel lowers when sampling interrupts take too long."
                );
            }
            o.freq = Some(max);
        }
    }
    let command = match &o.target {
        Target::Command(argv) | Target::AllCpus(Some(argv)) => Some(argv),
        Target::Pids(_) | Target::Tids(_) => o.duration.as_ref(),
        Target::AllCpus(None) => None,
    };
    if let Some(argv) = command {
        let prog = argv
            .first()
            .ok_or_else(|| RecordError::Workload("no command given".into()))?;
        if workload::resolve(prog).is_none() {
            return Err(RecordError::Workload(format!("cannot run the workload {prog:?}: no such command (not found in $PATH or not executable)")));
        }
    }
    Ok(())
}

/// Side-band for what exists before recording: the kernel and its modules (always, as perf), and the
/// processes already running for `-p`/`-t`/`-a`. Returns the records and the modules' ranges.
fn synthesize(o: &Options, trailer: usize) -> (Vec<u8>, Vec<buildid::ModuleRange>) {
    let mut out = Vec::new();
    if let Ok(f) = std::fs::File::open("/proc/kallsyms") {
        synth::kernel(&mut out, std::io::BufReader::new(f), trailer);
    }
    let modules = synth::modules(
        &mut out,
        &std::fs::read_to_string("/proc/modules").unwrap_or_default(),
        trailer,
    );
    match &o.target {
        Target::Pids(pids) => pids
            .iter()
            .for_each(|&p| synth::process(&mut out, p as u32, trailer)),
        Target::Tids(tids) => tids
            .iter()
            .for_each(|&t| synth::process(&mut out, t as u32, trailer)),
        Target::AllCpus(_) => synth::all_pids()
            .into_iter()
            .for_each(|p| synth::process(&mut out, p, trailer)),
        Target::Command(_) => {}
    }
    (out, modules)
}

/// Records as `opts` says; returns what was written and how the workload ended.
pub fn record(opts: &Options) -> Result<Outcome, RecordError> {
    let mut opts = opts.clone();
    check_options(&mut opts)?;
    // Whether the output is (or will be) a regular file of ours: a device (-o /dev/full) or a FIFO is
    // written to, never removed.
    let regular = match &opts.output {
        Output::File(p) => std::fs::symlink_metadata(p).map_or(true, |m| m.is_file()),
        Output::Stdout => false,
    };
    let rotated = if regular { rotate(&opts) } else { None };
    let result = record_checked(&opts);
    if let (Err(_), Output::File(path), true) = (&result, &opts.output, regular) {
        // No half-written file: remove what was created and put the old one back.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(path);
        }
        if let Some((path, old)) = &rotated {
            let _ = std::fs::rename(old, path);
        }
    }
    result
}

fn record_checked(opts: &Options) -> Result<Outcome, RecordError> {
    STOP.store(0, Ordering::Relaxed);
    install_signal_handlers();
    // Before the output exists: a SIGUSR2 sent once it does must find the handler.
    if opts.switch_output == Some(Switch::Signal) {
        install_switch_handler();
    }
    // Phase 1: the workload forked and held, the events opened on it, the file started. An error
    // drops the held workload, which then exits without running anything.
    let mut child = match (&opts.target, &opts.duration) {
        (Target::Command(argv) | Target::AllCpus(Some(argv)), _) => Some(spawn(argv)?),
        // -p/-t with a command: it runs (unrecorded) for as long as the recording lasts.
        (Target::Pids(_) | Target::Tids(_), Some(argv)) => Some(spawn(argv)?),
        _ => None,
    };
    // A short time slice (EEVDF, Linux >= 6.12): woken by a ring, the recorder preempts the workload
    // it may share a CPU with (BENCHMARKS.md). Set after the fork, so the workload keeps the default.
    let _ = premap::set_time_slice(100_000);
    let Opened {
        descs,
        events,
        mut rings,
    } = slots(opts, child.as_ref().map(Workload::pid)).and_then(|s| open_events(opts, &s))?;
    let trailer = descs
        .first()
        .map_or(0, |d| d.attr.sample_format().sample_id_size());
    let (side, modules) = synthesize(opts, trailer);
    let mmap_len = (opts.pages + 1) * premap::page_size();
    let mut facts = machine_facts(opts);
    if let (Some(level), Output::Stdout) = (opts.compress, &opts.output) {
        // A compressed pipe (`-z -o -`): its header, and so the COMPRESSED feature, goes out first,
        // before any ratio is known (perf writes it the same way).
        facts.extra.push((
            premap::abi::perf_file::HEADER_COMPRESSED,
            compress::feature(level, 1, mmap_len as u32),
        ));
    }
    let parts = FileParts {
        trailer,
        first_sample_type: descs.first().map_or(0, |d| d.attr.sample_type),
        facts,
        descs,
        side,
        modules,
        mmap_len,
    };
    let mut writer = create_output(opts, parts.descs.clone(), &parts.facts)?;
    let mut out = Outcome::default();
    out.totals.records +=
        premap::abi::ring::RecordIter::new(premap::abi::RawData::Single(&parts.side)).count()
            as u64;
    writer
        .write_records(&parts.side)
        .map_err(|e| write_error(&opts.output, e))?;
    let mut poller = Poller::new()?;
    for (i, ring) in rings.iter().enumerate() {
        poller.add(ring.fd(), i as u64)?;
    }
    // Phase 2: the events enabled and the workload started.
    start(opts, &events, child.as_mut())?;
    // Phase 3: the drain loop, each --switch-output closing a file and opening the next.
    let mut zstd = parts.zstd(opts)?;
    let loop_result = loop {
        let r = run_loop(
            opts,
            &mut rings,
            &mut poller,
            &mut writer,
            &mut out,
            child.as_mut(),
            zstd.as_mut(),
        );
        let (Ok(true), Output::File(path)) = (&r, &opts.output) else {
            break r.map(|_| ());
        };
        // --switch-output: this file closed as FILE.TIMESTAMP, the next one started at FILE.
        let side = switch_file(
            opts,
            &parts,
            child.as_ref().map(Workload::pid),
            &mut rings,
            &mut poller,
            &mut writer,
            &mut out.totals,
            zstd.as_mut(),
        )?;
        let stamped = timestamped(path);
        let next = parts.next_file(opts, path, &stamped, &side)?;
        let old = std::mem::replace(&mut writer, next);
        let old_z = std::mem::replace(&mut zstd, parts.zstd(opts)?);
        // What came while the next file was made goes to it before the old one is finished (its
        // build ids read back, its header written).
        drain::drain_rest(
            &mut rings,
            &mut writer,
            &mut out.totals,
            opts,
            zstd.as_mut(),
        )?;
        parts.close(opts, old, old_z, &Output::File(stamped.clone()))?;
        if !opts.quiet {
            eprintln!("[ premap record: dump data: {} ]", stamped.display());
        }
    };
    // Phase 4: the events stopped, the workload ended, the rings emptied, the file finished.
    for e in events.iter().flatten() {
        let _ = e.disable();
    }
    if let (Some(w), None) = (child.as_mut(), out.workload) {
        out.workload = w.terminate().ok().map(Status::from);
    }
    loop_result?;
    drain::drain_rest(
        &mut rings,
        &mut writer,
        &mut out.totals,
        opts,
        zstd.as_mut(),
    )?;
    out.totals.bytes = writer.data_size();
    parts.close(opts, writer, zstd, &opts.output)?;
    if let (Some(_), Output::File(path)) = (opts.switch_output, &opts.output) {
        // As perf: with --switch-output the last file gets its timestamp too.
        let stamped = timestamped(path);
        if std::fs::rename(path, &stamped).is_ok() && !opts.quiet {
            eprintln!("[ premap record: dump data: {} ]", stamped.display());
        }
    }
    let sig = STOP.load(Ordering::Relaxed);
    out.signal = (sig != 0).then_some(sig);
    Ok(out)
}

/// Enables the events (a command's enable themselves at its exec, unless -D delays them) and starts
/// the workload.
fn start(
    opts: &Options,
    events: &[Vec<PerfEvent>],
    child: Option<&mut Workload>,
) -> Result<(), RecordError> {
    let enable_all = || -> Result<(), RecordError> {
        for e in events.iter().flatten() {
            e.enable()?;
        }
        Ok(())
    };
    if !matches!(opts.target, Target::Command(_)) {
        enable_all()?;
    }
    if let Some(w) = child {
        w.start()
            .map_err(|e| RecordError::Workload(format!("cannot run the workload: {e}")))?;
    }
    if let (Some(ms), Target::Command(_)) = (opts.delay_ms, &opts.target) {
        std::thread::sleep(Duration::from_millis(ms));
        enable_all()?;
        if !opts.quiet {
            eprintln!("premap record: events enabled after a {ms} ms delay");
        }
    }
    Ok(())
}

/// What every file of a session starts and ends with: the events, the side band synthesized at the
/// start (COMM, MMAP of every task and of the kernel), the header's facts.
struct FileParts {
    /// The `sample_id` trailer's size, for the side band synthesized at each new file.
    trailer: usize,
    descs: Vec<EventDesc>,
    side: Vec<u8>,
    modules: Vec<buildid::ModuleRange>,
    facts: Facts,
    first_sample_type: u64,
    mmap_len: usize,
}

impl FileParts {
    /// The zstd stream of a file (`-z`), or none.
    fn zstd(&self, opts: &Options) -> Result<Option<drain::Zstd<'_>>, RecordError> {
        opts.compress
            .map(|level| {
                Ok(drain::Zstd::new(
                    compress::Compressor::new(level as i32, self.mmap_len)
                        .map_err(RecordError::Compress)?,
                    buildid::Scanner::new(self.first_sample_type, &self.modules),
                ))
            })
            .transpose()
    }

    /// --switch-output: the side band as perf writes it at a switch: the kernel, the modules and
    /// every task recorded as they are now (the workload and its descendants included), so that each
    /// file stands alone. It reads /proc (a task's maps wait while the task holds its mmap lock), so
    /// it runs beside the drain: see [`switch_file`].
    fn side_band(&self, opts: &Options, workload: Option<i32>) -> Vec<u8> {
        let (mut side, _) = synthesize(opts, self.trailer);
        if let (Target::Command(_), Some(pid)) = (&opts.target, workload) {
            for p in synth::with_descendants(pid as u32) {
                synth::process(&mut side, p, self.trailer);
            }
        }
        side
    }

    /// --switch-output: moves the file at `path` aside as `stamped` (its writer still open) and
    /// starts the next one at `path` with the same events and the side band `side`.
    fn next_file(
        &self,
        opts: &Options,
        path: &Path,
        stamped: &Path,
        side: &[u8],
    ) -> Result<Writer, RecordError> {
        std::fs::rename(path, stamped)
            .map_err(|e| output_error("renaming", &path.display().to_string(), e))?;
        let mut next = Writer::create(path, self.descs.clone())
            .map_err(|e| output_error("creating", &path.display().to_string(), e))?;
        next.write_records(side)
            .map_err(|e| write_error(&opts.output, e))?;
        Ok(next)
    }

    /// Finishes the file `writer` writes, now at `output`: build ids and sample times of what was
    /// recorded, then the header.
    fn close(
        &self,
        opts: &Options,
        writer: Writer,
        zstd: Option<drain::Zstd<'_>>,
        output: &Output,
    ) -> Result<(), RecordError> {
        let done = Finish {
            facts: self.facts.clone(),
            sample_type: self.first_sample_type,
            modules: &self.modules,
            build_ids: !opts.no_buildid,
        };
        done.write(writer, output, zstd.map(|z| z.close(opts, self.mmap_len)))
    }
}

/// --switch-output: the next file's side band, read from /proc on a thread of its own while this
/// one keeps draining the rings into the file being closed: the read waits on the workload's mmap
/// lock (for milliseconds while it unmaps), which a small ring cannot hold, and a switch must not be
/// where samples are lost. The rings are emptied into that file once the side band is in.
#[allow(clippy::too_many_arguments)]
fn switch_file(
    opts: &Options,
    parts: &FileParts,
    workload: Option<i32>,
    rings: &mut [drain::SlotRing],
    poller: &mut Poller,
    writer: &mut Writer,
    totals: &mut Totals,
    mut zstd: Option<&mut drain::Zstd<'_>>,
) -> Result<Vec<u8>, RecordError> {
    std::thread::scope(|s| {
        let side = s.spawn(|| parts.side_band(opts, workload));
        while !side.is_finished() {
            if !opts.overwrite {
                drain::drain_all(rings, writer, totals, &opts.output, 1, zstd.as_deref_mut())?;
            }
            poller.wait(Some(Duration::from_millis(1)))?;
        }
        let side = side
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        drain::drain_rest(rings, writer, totals, opts, zstd)?;
        Ok(side)
    })
}

/// The drain loop: until the workload ends, the -p targets are gone, or a signal.
fn run_loop(
    opts: &Options,
    rings: &mut [drain::SlotRing],
    poller: &mut Poller,
    writer: &mut Writer,
    out: &mut Outcome,
    mut child: Option<&mut Workload>,
    mut zstd: Option<&mut drain::Zstd<'_>>,
) -> Result<bool, RecordError> {
    let file_started = Instant::now();
    // A live progress line only where nothing else writes to the terminal: no workload of ours (-a,
    // -p or -t until Ctrl-C); perf prints nothing while recording, and a command's output would be
    // garbled by it.
    let tty = std::io::stderr().is_terminal()
        && !opts.quiet
        && !matches!(opts.output, Output::Stdout)
        && child.is_none();
    let started = Instant::now();
    let mut last_status = Instant::now();
    let mut hung_up = 0;
    let mut busy = false;
    let busy_at = u64::from(watermark(opts));
    let result = loop {
        // Keep draining while passes find at least a watermark's worth in some ring; after a smaller
        // pass, sleep in epoll: the ring wakes us within a watermark.
        let ready = if busy {
            Vec::new()
        } else {
            poller.wait(Some(Duration::from_millis(100)))?
        };
        // A ring whose task is gone reports hangup forever: stop polling it (it is still drained).
        for r in ready.iter().filter(|r| r.hangup) {
            if let Some(fd) = rings.get(r.token as usize).map(|r| r.fd()) {
                poller.remove(fd)?;
                hung_up += 1;
            }
        }
        if !opts.overwrite {
            busy = drain::drain_all(
                rings,
                writer,
                &mut out.totals,
                &opts.output,
                busy_at,
                zstd.as_deref_mut(),
            )? >= busy_at;
        }
        if let (Some(w), None, false) = (child.as_deref_mut(), out.workload, busy) {
            out.workload = match w.try_wait() {
                Ok(s) => s.map(Status::from),
                // Not our child any more (cannot happen): treat it as ended.
                Err(_) => Some(Status::Exited(0)),
            };
        }
        let target_gone = match &opts.target {
            Target::Pids(p) | Target::Tids(p) => {
                !busy && (hung_up == rings.len() || !p.iter().any(|&p| process_alive(p)))
            }
            _ => false,
        };
        if STOP.load(Ordering::Relaxed) != 0 || out.workload.is_some() || target_gone {
            break Ok(false);
        }
        if let Some(max) = opts.max_size {
            if writer.data_size() >= max {
                if !opts.quiet {
                    eprintln!(
                        "[ premap record: perf size limit reached ({} KB), stopping session ]",
                        writer.data_size() / 1024
                    );
                }
                // As perf: the session ends here; a workload still running is terminated below.
                break Ok(false);
            }
        }
        let switch = match opts.switch_output {
            Some(Switch::Signal) => SWITCH.swap(false, Ordering::Relaxed),
            Some(Switch::Size(n)) => writer.data_size() >= n,
            Some(Switch::Time(t)) => file_started.elapsed() >= t,
            None => false,
        };
        if switch {
            break Ok(true);
        }
        if tty && last_status.elapsed() > Duration::from_millis(500) {
            status_line(
                &out.totals,
                writer.data_size(),
                started.elapsed().as_secs_f64(),
            );
            last_status = Instant::now();
        }
    };
    if tty {
        eprint!("\r{:70}\r", "");
    }
    result
}

/// The live line: records, their rate, the bytes of data written so far, what was lost.
fn status_line(t: &Totals, bytes: u64, elapsed: f64) {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[ premap record: {} records ({:.0}/s), {:.2} MB, {} lost ]   ",
        t.records,
        t.records as f64 / elapsed.max(0.001),
        bytes as f64 / 1e6,
        t.lost
    );
    let _ = err.flush();
}

/// Whether `pid` still runs (exists and is not a zombie waiting for its parent).
fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name, which may itself contain ") ".
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            !matches!(state, Some('Z' | 'X') | None)
        }
        Err(_) => false,
    }
}
