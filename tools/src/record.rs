//! `premap record`: opens perf events, drains their rings straight into a perf.data file with
//! `write()` from the mapping, and finishes the file so that Linux `perf` reads it.

use crate::synth;
use premap::abi::attr::*;
use premap::abi::header::{EventHeader, RECORD_FINISHED_ROUND};
use premap::{Error, Event, EventBuilder, Mode, PerfEvent, Poller, Ring};
use premap_tools::perfdata::features::{EventDesc, Facts};
use premap_tools::perfdata::writer::Writer;
use std::ffi::CString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What to record.
#[derive(Clone, Debug)]
pub enum Target {
    /// Run this command and record it (and its children).
    Command(Vec<String>),
    /// Record an existing process (all its threads at the time recording starts).
    Pid(i32),
    /// Record every CPU, until Ctrl-C or, with a command, until the command exits.
    AllCpus(Option<Vec<String>>),
}

/// Options of `premap record`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Events by perf name.
    pub events: Vec<String>,
    /// `-c`: sample period.
    pub period: Option<u64>,
    /// `-F`: sample frequency.
    pub freq: Option<u64>,
    /// `-m`: data pages per ring (a power of two).
    pub pages: usize,
    /// `--overwrite`: flight-recorder mode, read once at the end.
    pub overwrite: bool,
    /// What to record.
    pub target: Target,
    /// Output file.
    pub output: PathBuf,
    /// The command line, for the CMDLINE feature.
    pub cmdline: Vec<String>,
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

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
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

/// A failure of `premap record`, with the message to print.
#[derive(Debug)]
pub struct RecordError(pub String);

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Error> for RecordError {
    fn from(e: Error) -> Self {
        RecordError(e.to_string())
    }
}

/// The sample layout, as perf chooses it: IP, TID and TIME always; PERIOD when the kernel varies it
/// (frequency mode); IDENTIFIER when several events share the file; CPU for system-wide recording.
fn sample_type(o: &Options) -> u64 {
    let mut st = SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME;
    if o.period.is_none() {
        st |= SAMPLE_PERIOD;
    }
    if o.events.len() > 1 {
        st |= SAMPLE_IDENTIFIER;
    }
    if matches!(o.target, Target::AllCpus(_)) {
        st |= SAMPLE_CPU;
    }
    st
}

/// A workload forked and held before exec until recording is set up.
struct Workload {
    pid: i32,
    go: std::os::fd::OwnedFd,
    err: std::os::fd::OwnedFd,
}

impl Workload {
    fn spawn(argv: &[String]) -> Result<Self, RecordError> {
        let args: Vec<CString> = argv
            .iter()
            .map(|a| {
                CString::new(a.as_bytes())
                    .map_err(|_| RecordError(format!("argument {a:?} contains NUL")))
            })
            .collect::<Result<_, _>>()?;
        let prog = args
            .first()
            .cloned()
            .ok_or_else(|| RecordError("no command given".into()))?;
        let (go_r, go_w) = nix::unistd::pipe().map_err(|e| RecordError(format!("pipe: {e}")))?;
        let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| RecordError(format!("pipe: {e}")))?;
        // SAFETY: the child calls only async-signal-safe functions (read, execvp, write, _exit) on data
        // prepared before the fork.
        match unsafe { nix::unistd::fork() }.map_err(|e| RecordError(format!("fork: {e}")))? {
            nix::unistd::ForkResult::Child => {
                drop(go_w);
                drop(err_r);
                let mut b = [0u8; 1];
                let _ = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&go_r), &mut b);
                if b[0] == b'g' {
                    let e = nix::unistd::execvp(&prog, &args)
                        .err()
                        .map_or(0, |e| e as i32);
                    let _ = nix::unistd::write(&err_w, &e.to_ne_bytes());
                }
                // SAFETY: leaving the child without running the parent's destructors.
                unsafe { libc::_exit(127) };
            }
            nix::unistd::ForkResult::Parent { child } => Ok(Workload {
                pid: child.as_raw(),
                go: go_w,
                err: err_r,
            }),
        }
    }

    fn start(self) -> Result<i32, RecordError> {
        let Workload { pid, go, err } = self;
        nix::unistd::write(&go, b"g")
            .map_err(|e| RecordError(format!("starting workload: {e}")))?;
        drop(go);
        let mut b = [0u8; 4];
        match nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&err), &mut b) {
            Ok(4) => {
                let errno = i32::from_ne_bytes(b);
                let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
                Err(RecordError(format!(
                    "cannot run the workload: {}",
                    std::io::Error::from_raw_os_error(errno)
                )))
            }
            _ => Ok(pid),
        }
    }

    fn abort(self) {
        // Closing `go` without writing makes the child exit.
        let pid = self.pid;
        drop(self);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    }
}

/// The rings wake the reader when half of the ring is full, as the kernel's default for perf record.
/// (A quarter leaves more room but doubles the wakeups, which the workload pays for too: at `-m 1`
/// that cost about 1 s more CPU, recorder and workload together, over 2 million samples, and lost no
/// fewer; BENCHMARKS.md.)
fn watermark(o: &Options) -> u32 {
    u32::try_from(o.pages * premap::sys::page_size() / 2)
        .unwrap_or(u32::MAX)
        .max(64)
}

fn builder(o: &Options, event: Event, tracking: bool) -> EventBuilder {
    let mut b = EventBuilder::new(event)
        .sample_type(sample_type(o))
        .sample_id_all(true)
        .comm(tracking)
        .mmap(tracking)
        .task(tracking)
        .write_backward(o.overwrite);
    b = match (o.period, o.freq) {
        (Some(c), _) => b.sample_period(c),
        (None, Some(f)) => b.sample_freq(f),
        (None, None) => b.sample_freq(4000),
    };
    b = b.wakeup_watermark(watermark(o));
    match o.target {
        Target::Command(_) => b.inherit(true).enable_on_exec(true),
        Target::Pid(_) | Target::AllCpus(_) => b.disabled(true),
    }
}

fn status_line(t: &Totals, elapsed: f64) {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[ premap record: {} records ({:.0}/s), {:.2} MB, {} lost ]   ",
        t.records,
        t.records as f64 / elapsed.max(0.001),
        t.bytes as f64 / 1e6,
        t.lost
    );
    let _ = err.flush();
}

fn finished_round() -> [u8; 8] {
    EventHeader {
        r#type: RECORD_FINISHED_ROUND,
        misc: 0,
        size: 8,
    }
    .to_bytes()
}

/// Records as `opts` says; returns what was written.
pub fn record(opts: &Options) -> Result<Totals, RecordError> {
    if opts.pages == 0 || !opts.pages.is_power_of_two() {
        return Err(RecordError(format!(
            "-m {}: the number of pages must be a power of two",
            opts.pages
        )));
    }
    let events: Vec<(String, Event)> = opts
        .events
        .iter()
        .map(|n| {
            Event::from_name(n)
                .map(|e| (n.clone(), e))
                .ok_or_else(|| RecordError(format!("unknown event {n:?}")))
        })
        .collect::<Result<_, _>>()?;
    STOP.store(false, Ordering::Relaxed);
    install_signal_handlers();

    let workload = match &opts.target {
        Target::Command(argv) | Target::AllCpus(Some(argv)) => Some(Workload::spawn(argv)?),
        _ => None,
    };
    // A short time slice (EEVDF, Linux >= 6.12): woken by a ring, the recorder preempts the workload
    // it may share a CPU with instead of waiting out the workload's slice (0.7 ms times 1 + log2 of the
    // CPU count, up to 2.8 ms, by default) while the ring fills. Set after the fork, so the workload
    // keeps the default. Older kernels: no effect.
    let _ = premap::sys::set_time_slice(100_000);
    // Where each event instance goes: (pid, cpu) pairs.
    let slots: Vec<(i32, i32)> = match &opts.target {
        Target::Command(_) => {
            let pid = workload.as_ref().map_or(-1, |w| w.pid);
            premap::event::online_cpus()?
                .into_iter()
                .map(|c| (pid, c))
                .collect()
        }
        Target::AllCpus(_) => premap::event::online_cpus()?
            .into_iter()
            .map(|c| (-1, c))
            .collect(),
        Target::Pid(pid) => {
            let tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
                .map_err(|e| RecordError(format!("process {pid}: {e}")))?
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect();
            tids.into_iter().map(|t| (t, -1)).collect()
        }
    };
    let opened = (|| -> Result<_, RecordError> {
        let mut descs = Vec::new();
        let mut perf_events: Vec<Vec<PerfEvent>> = Vec::new();
        let mut rings = Vec::new();
        for (i, (name, ev)) in events.iter().enumerate() {
            let b = builder(opts, *ev, i == 0);
            let mut ids = Vec::new();
            let mut evs = Vec::new();
            for (slot, &(pid, cpu)) in slots.iter().enumerate() {
                let e = b.clone().pid(pid).cpu(cpu).open()?;
                ids.push(e.id()?);
                if i == 0 {
                    let mode = if opts.overwrite {
                        Mode::Overwrite
                    } else {
                        Mode::Consume
                    };
                    let ring = Ring::map(std::os::fd::AsFd::as_fd(&e), opts.pages, mode)?;
                    rings.push(ring);
                } else if let Some(leader) = perf_events.first().and_then(|v| v.get(slot)) {
                    e.set_output(leader)?;
                }
                evs.push(e);
            }
            descs.push(EventDesc {
                attr: *b.attr(),
                name: name.clone(),
                ids,
            });
            perf_events.push(evs);
        }
        Ok((descs, perf_events, rings))
    })();
    let (descs, perf_events, mut rings) = match opened {
        Ok(v) => v,
        Err(e) => {
            if let Some(w) = workload {
                w.abort();
            }
            return Err(e);
        }
    };
    let trailer = descs
        .first()
        .map_or(0, |d| d.attr.sample_format().sample_id_size());
    let mut writer = Writer::create(&opts.output, descs)
        .map_err(|e| RecordError(format!("creating {}: {e}", opts.output.display())))?;
    let mut totals = Totals::default();

    // Side-band for what already runs.
    let mut synth_buf = Vec::new();
    match &opts.target {
        Target::Pid(pid) => synth::process(&mut synth_buf, *pid as u32, trailer),
        Target::AllCpus(_) => {
            for pid in synth::all_pids() {
                synth::process(&mut synth_buf, pid, trailer);
            }
        }
        Target::Command(_) => {}
    }
    totals.records +=
        premap::abi::ring::RecordIter::new(premap::abi::RawData::Single(&synth_buf)).count() as u64;
    writer
        .write_records(&synth_buf)
        .map_err(|e| write_error(&opts.output, e))?;

    let mut poller = Poller::new()?;
    for (i, ring) in rings.iter().enumerate() {
        if let Some(fd) = ring.fd() {
            poller.add(fd, i as u64)?;
        }
    }
    // A command's events enable themselves at exec; system-wide and -p events are enabled here.
    if !matches!(opts.target, Target::Command(_)) {
        for evs in &perf_events {
            for e in evs {
                e.enable()?;
            }
        }
    }
    let child = match workload {
        Some(w) => Some(w.start()?),
        None => None,
    };
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_status = Instant::now();
    let mut child_done = false;
    let mut hung_up = 0;
    let mut busy = false;
    let busy_at = u64::from(watermark(opts));
    let result = (|| -> Result<(), RecordError> {
        loop {
            // Keep draining while passes find at least a watermark's worth in some ring (a burst is
            // read at once, not one wakeup per watermark); after a smaller pass, sleep in epoll: the
            // ring wakes us within a watermark. (perf record sleeps only after an empty pass, which
            // with a small ring and a steady producer means spinning on a few records per writev.)
            let ready = if busy {
                Vec::new()
            } else {
                poller.wait(Some(Duration::from_millis(100)))?
            };
            // A ring whose task is gone reports hangup forever: stop polling it (it is still drained).
            for r in ready.iter().filter(|r| r.hangup) {
                if let Some(fd) = rings.get(r.token as usize).and_then(|r| r.fd()) {
                    poller.remove(fd)?;
                    hung_up += 1;
                }
            }
            if !opts.overwrite {
                busy = drain_all(&mut rings, &mut writer, &mut totals, &opts.output, busy_at)?
                    >= busy_at;
            }
            if let Some(pid) = child {
                // Checked between bursts: the drain loop above runs until the rings are empty.
                if !child_done && !busy {
                    match nix::sys::wait::waitpid(
                        nix::unistd::Pid::from_raw(pid),
                        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                    ) {
                        Ok(nix::sys::wait::WaitStatus::StillAlive) => {}
                        _ => child_done = true,
                    }
                }
            }
            let target_gone = match opts.target {
                Target::Pid(p) => !busy && (hung_up == rings.len() || !process_alive(p)),
                _ => false,
            };
            if STOP.load(Ordering::Relaxed) || child_done || target_gone {
                break;
            }
            if tty && last_status.elapsed() > Duration::from_millis(500) {
                status_line(&totals, started.elapsed().as_secs_f64());
                last_status = Instant::now();
            }
        }
        Ok(())
    })();
    for evs in &perf_events {
        for e in evs {
            let _ = e.disable();
        }
    }
    if let (Some(pid), false) = (child, child_done) {
        let p = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGTERM);
        let _ = nix::sys::wait::waitpid(p, None);
    }
    if tty {
        eprint!("\r{:70}\r", "");
    }
    result?;
    if opts.overwrite {
        read_newest(&mut rings, &mut writer, &mut totals, &opts.output)?;
    } else {
        while drain_all(&mut rings, &mut writer, &mut totals, &opts.output, 1)? > 0 {}
    }
    totals.bytes = writer.data_size();
    let facts = Facts::of_this_machine(opts.cmdline.clone());
    writer
        .finish(&facts)
        .map_err(|e| write_error(&opts.output, e))?;
    Ok(totals)
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

fn write_error(path: &std::path::Path, e: std::io::Error) -> RecordError {
    RecordError(format!("writing {} failed: {e}", path.display()))
}

/// One pass over every ring: writes what each holds straight from the mapping, then FINISHED_ROUND
/// at the end of a burst. Returns the most bytes one ring held.
fn drain_all(
    rings: &mut [Ring],
    writer: &mut Writer,
    totals: &mut Totals,
    path: &std::path::Path,
    burst_min: u64,
) -> Result<u64, RecordError> {
    let mut most = 0u64;
    let mut written = 0u64;
    for ring in rings.iter_mut() {
        match ring.write_to(writer.data_fd()) {
            Ok(s) => {
                writer.wrote(s.bytes);
                written += s.bytes;
                totals.records += s.records;
                totals.samples += s.samples;
                totals.lost += s.lost;
                most = most.max(s.bytes);
                if let Some(e) = s.corrupt {
                    let skipped = ring.discard().unwrap_or(0);
                    eprintln!("premap record: corrupt ring data skipped ({skipped} bytes): {e}");
                }
            }
            Err(Error::Write { written, source }) => {
                writer.wrote(written);
                return Err(write_error(path, source));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // A round marker at the end of a burst (no ring held `burst_min` bytes) or every 256 KiB: perf's
    // ordered-events queue is flushed at each; more markers would only cost write() calls.
    totals.since_round += written;
    if totals.since_round > 0 && (most < burst_min || totals.since_round >= 256 * 1024) {
        writer
            .write_records(&finished_round())
            .map_err(|e| write_error(path, e))?;
        totals.records += 1;
        totals.since_round = 0;
    }
    Ok(most)
}

/// Overwrite mode: the newest records of every ring, read once at the end.
fn read_newest(
    rings: &mut [Ring],
    writer: &mut Writer,
    totals: &mut Totals,
    path: &std::path::Path,
) -> Result<(), RecordError> {
    let mut buf = Vec::new();
    for ring in rings.iter_mut() {
        let mut batch = ring.newest()?;
        while let Some(r) = batch.next() {
            let Ok(r) = r else { break };
            totals.records += 1;
            if r.header.r#type == premap::abi::header::RECORD_SAMPLE {
                totals.samples += 1;
            }
            buf.extend_from_slice(r.bytes);
        }
    }
    buf.extend_from_slice(&finished_round());
    totals.records += 1;
    writer.write_records(&buf).map_err(|e| write_error(path, e))
}
