//! Opening perf events: a typed builder over `perf_event_open(2)`.

use crate::counts::Counts;
use crate::error::{Error, Result};
use crate::ring::{Consume, Mode, Overwrite, Ring, RingMode};
use crate::sample_flags::SampleFlags;
use crate::sys;
use premap_abi::attr::*;
use premap_abi::ioctl;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// The largest counter read [`PerfEvent::read_counts`] tries, in u64 words: a group of about 21,000
/// members (perf groups are limited by the PMU long before).
const MAX_READ_WORDS: usize = 1 << 16;

/// The events premap knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A software event (`PERF_TYPE_SOFTWARE`, `COUNT_SW_*`).
    Software(u64),
    /// A hardware event (`PERF_TYPE_HARDWARE`, `COUNT_HW_*`).
    Hardware(u64),
    /// Any `type`/`config` pair.
    Raw {
        /// `attr.type`.
        r#type: u32,
        /// `attr.config`.
        config: u64,
    },
}

/// Where tracefs is mounted, in the order perf looks (the debugfs path is the old one).
pub const TRACEFS_ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// Where tracefs is: the first of [`TRACEFS_ROOTS`] with an `events` folder, mounting tracefs on
/// /sys/kernel/tracing first when it is nowhere, as perf does (which needs root). `None` when it is
/// neither mounted nor mountable.
pub fn tracefs() -> Option<&'static str> {
    let found = || {
        TRACEFS_ROOTS
            .into_iter()
            .find(|r| std::path::Path::new(r).join("events").is_dir())
    };
    found().or_else(|| {
        // An error (no privilege, no tracefs in this kernel) leaves it unmounted: `None` below.
        let _ = crate::sys::mount_tracefs();
        found()
    })
}

impl Event {
    /// The tracepoint `system:name` (`PERF_TYPE_TRACEPOINT`, its id from tracefs:
    /// `events/<system>/<name>/id` under [`tracefs`], which mounts tracefs as perf does when it is
    /// nowhere).
    /// Its samples carry the tracepoint's fields with `SAMPLE_RAW`.
    ///
    /// A name with `/` or starting with `.`, or a tracepoint this kernel does not have, is
    /// [`Error::EventNotSupported`]; tracefs not mounted (and not mountable by this user), or not
    /// readable by this user (it is root's by default), is [`Error::Sys`] with the reason.
    ///
    /// ```no_run
    /// use premap::{Event, EventBuilder, SampleFlags};
    /// let switches = EventBuilder::new(Event::tracepoint("sched", "sched_switch")?)
    ///     .sample_period(1)
    ///     .sample_type(SampleFlags::TID | SampleFlags::TIME | SampleFlags::RAW)
    ///     .open()?;
    /// # Ok::<(), premap::Error>(())
    /// ```
    pub fn tracepoint(system: &str, name: &str) -> Result<Self> {
        let event = format!("{system}:{name}");
        let bad = |s: &str| s.is_empty() || s.contains('/') || s.starts_with('.');
        if bad(system) || bad(name) {
            return Err(Error::EventNotSupported {
                event,
                source: io::ErrorKind::InvalidInput.into(),
            });
        }
        let root = tracefs().ok_or_else(|| Error::Sys {
            call: "finding tracefs (mount -t tracefs nodev /sys/kernel/tracing)",
            source: io::ErrorKind::NotFound.into(),
        })?;
        let id = match std::fs::read_to_string(format!("{root}/events/{system}/{name}/id")) {
            Ok(text) => text.trim().parse::<u64>().map_err(|_| Error::Sys {
                call: "reading the tracepoint's id",
                source: io::ErrorKind::InvalidData.into(),
            })?,
            Err(source) if source.kind() == io::ErrorKind::NotFound => {
                return Err(Error::EventNotSupported { event, source })
            }
            Err(source) => {
                return Err(Error::Sys {
                    call: "reading the tracepoint's id in tracefs",
                    source,
                })
            }
        };
        Ok(Self::Raw {
            r#type: TYPE_TRACEPOINT,
            config: id,
        })
    }

    /// `cpu-clock`.
    pub const CPU_CLOCK: Self = Self::Software(COUNT_SW_CPU_CLOCK);
    /// `task-clock`.
    pub const TASK_CLOCK: Self = Self::Software(COUNT_SW_TASK_CLOCK);
    /// `page-faults`.
    pub const PAGE_FAULTS: Self = Self::Software(COUNT_SW_PAGE_FAULTS);
    /// `context-switches`.
    pub const CONTEXT_SWITCHES: Self = Self::Software(COUNT_SW_CONTEXT_SWITCHES);
    /// `cpu-migrations`.
    pub const CPU_MIGRATIONS: Self = Self::Software(COUNT_SW_CPU_MIGRATIONS);
    /// `minor-faults`.
    pub const MINOR_FAULTS: Self = Self::Software(COUNT_SW_PAGE_FAULTS_MIN);
    /// `major-faults`.
    pub const MAJOR_FAULTS: Self = Self::Software(COUNT_SW_PAGE_FAULTS_MAJ);
    /// `dummy`: no samples, only side-band records (COMM, MMAP, ...).
    pub const DUMMY: Self = Self::Software(COUNT_SW_DUMMY);
    /// `cycles`.
    pub const CYCLES: Self = Self::Hardware(COUNT_HW_CPU_CYCLES);
    /// `instructions`.
    pub const INSTRUCTIONS: Self = Self::Hardware(COUNT_HW_INSTRUCTIONS);

    const NAMES: [(&'static str, Event); 29] = [
        ("cpu-clock", Self::CPU_CLOCK),
        ("task-clock", Self::TASK_CLOCK),
        ("page-faults", Self::PAGE_FAULTS),
        ("faults", Self::PAGE_FAULTS),
        ("context-switches", Self::CONTEXT_SWITCHES),
        ("cs", Self::CONTEXT_SWITCHES),
        ("cpu-migrations", Self::CPU_MIGRATIONS),
        ("migrations", Self::CPU_MIGRATIONS),
        ("minor-faults", Self::MINOR_FAULTS),
        ("major-faults", Self::MAJOR_FAULTS),
        (
            "alignment-faults",
            Self::Software(COUNT_SW_ALIGNMENT_FAULTS),
        ),
        (
            "emulation-faults",
            Self::Software(COUNT_SW_EMULATION_FAULTS),
        ),
        ("dummy", Self::DUMMY),
        ("bpf-output", Self::Software(COUNT_SW_BPF_OUTPUT)),
        ("cgroup-switches", Self::Software(COUNT_SW_CGROUP_SWITCHES)),
        ("cycles", Self::CYCLES),
        ("cpu-cycles", Self::CYCLES),
        ("instructions", Self::INSTRUCTIONS),
        (
            "cache-references",
            Self::Hardware(COUNT_HW_CACHE_REFERENCES),
        ),
        ("cache-misses", Self::Hardware(COUNT_HW_CACHE_MISSES)),
        (
            "branch-instructions",
            Self::Hardware(COUNT_HW_BRANCH_INSTRUCTIONS),
        ),
        ("branches", Self::Hardware(COUNT_HW_BRANCH_INSTRUCTIONS)),
        ("branch-misses", Self::Hardware(COUNT_HW_BRANCH_MISSES)),
        ("bus-cycles", Self::Hardware(COUNT_HW_BUS_CYCLES)),
        (
            "stalled-cycles-frontend",
            Self::Hardware(COUNT_HW_STALLED_CYCLES_FRONTEND),
        ),
        (
            "idle-cycles-frontend",
            Self::Hardware(COUNT_HW_STALLED_CYCLES_FRONTEND),
        ),
        (
            "stalled-cycles-backend",
            Self::Hardware(COUNT_HW_STALLED_CYCLES_BACKEND),
        ),
        (
            "idle-cycles-backend",
            Self::Hardware(COUNT_HW_STALLED_CYCLES_BACKEND),
        ),
        ("ref-cycles", Self::Hardware(COUNT_HW_REF_CPU_CYCLES)),
    ];

    /// Every perf name this crate knows, with its event (aliases included), as `perf list` shows the
    /// hardware and software events.
    pub fn names() -> &'static [(&'static str, Event)] {
        &Self::NAMES
    }

    /// Looks an event up by its perf name (`page-faults`, `cpu-clock`, `cycles`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| *e)
    }

    /// The perf name of the event, when it has one.
    pub fn name(&self) -> Option<&'static str> {
        Self::NAMES.iter().find(|(_, e)| e == self).map(|(n, _)| *n)
    }

    /// The event's `(attr.type, attr.config)`.
    pub fn type_config(self) -> (u32, u64) {
        match self {
            Self::Software(c) => (TYPE_SOFTWARE, c),
            Self::Hardware(c) => (TYPE_HARDWARE, c),
            Self::Raw { r#type, config } => (r#type, config),
        }
    }
}

impl std::fmt::Display for Event {
    /// perf's name for the event (`cpu-clock`, `cycles`), whatever variant spells it; otherwise its
    /// type and config (`tracepoint 316`, `type 8, config 0x1c2`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ty, config) = self.type_config();
        match Self::NAMES
            .iter()
            .find(|(_, e)| e.type_config() == (ty, config))
        {
            Some((name, _)) => f.write_str(name),
            None if ty == TYPE_TRACEPOINT => write!(f, "tracepoint {config}"),
            None => write!(f, "type {ty}, config {config:#x}"),
        }
    }
}

/// A builder for one perf event. Defaults: disabled until [`PerfEvent::enable`] (or exec with
/// `enable_on_exec`), period 1, `sample_type` IP|TID|TIME|PERIOD.
#[derive(Clone, Debug)]
pub struct EventBuilder {
    event: Event,
    attr: PerfEventAttr,
    /// What `attr.size` says when the attr is passed (the builder's, not the caller's: the kernel
    /// reads that many bytes and writes its own size back there).
    size: u32,
    pid: i32,
    cpu: i32,
    /// The cgroup directory whose tasks are monitored ([`EventBuilder::cgroup`]).
    cgroup: Option<std::sync::Arc<OwnedFd>>,
}

impl EventBuilder {
    /// Starts a builder for `event`, monitoring the calling process on any CPU.
    pub fn new(event: Event) -> Self {
        let (r#type, config) = event.type_config();
        let mut attr = PerfEventAttr {
            r#type,
            size: ATTR_SIZE_VER7,
            config,
            sample_period: 1,
            sample_type: SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD,
            ..Default::default()
        };
        attr.set_flag(ATTR_FLAG_DISABLED, true);
        Self {
            event,
            attr,
            size: ATTR_SIZE_VER7,
            pid: 0,
            cpu: -1,
            cgroup: None,
        }
    }

    /// The `attr.size` to pass (default `ATTR_SIZE_VER7`, 128: every field up to `sig_data`). A kernel
    /// older than the fields in use refuses a larger size with E2BIG, reported as
    /// [`Error::AttrSize`] with the size it knows. Any value is safe to try: the attr is passed in a
    /// page-long buffer of the library's own.
    pub fn attr_size(mut self, size: u32) -> Self {
        self.size = size;
        self.attr.size = size;
        self
    }

    /// Monitors process (or thread) `pid` (0 = the caller, -1 = every process on `cpu`). Clears
    /// [`EventBuilder::cgroup`].
    pub fn pid(mut self, pid: i32) -> Self {
        self.pid = pid;
        self.cgroup = None;
        self
    }

    /// Monitors the tasks of the cgroup whose directory is `dir` (a cgroup2 directory, or one of a
    /// cgroup v1 `perf_event` hierarchy), on the CPU given with [`EventBuilder::cpu`], which the
    /// kernel requires (`perf record -a -G NAME`). The directory is opened here: an error names it.
    pub fn cgroup(mut self, dir: &std::path::Path) -> Result<Self> {
        let f = std::fs::File::open(dir).map_err(|source| Error::Sys {
            call: "opening the cgroup directory",
            source,
        })?;
        if !f.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::Sys {
                call: "opening the cgroup directory",
                source: io::Error::from_raw_os_error(libc::ENOTDIR),
            });
        }
        self.cgroup = Some(std::sync::Arc::new(OwnedFd::from(f)));
        Ok(self)
    }

    /// Monitors on `cpu` only (-1 = any CPU the task runs on).
    pub fn cpu(mut self, cpu: i32) -> Self {
        self.cpu = cpu;
        self
    }

    /// Samples every `period` events.
    pub fn sample_period(mut self, period: u64) -> Self {
        self.attr.sample_period = period;
        self.attr.set_flag(ATTR_FLAG_FREQ, false);
        self
    }

    /// Samples `freq` times a second (the kernel adjusts the period).
    pub fn sample_freq(mut self, freq: u64) -> Self {
        self.attr.sample_period = freq;
        self.attr.set_flag(ATTR_FLAG_FREQ, true);
        self
    }

    /// Sets `sample_type`: a [`SampleFlags`] set (`SampleFlags::IP | SampleFlags::TIME`), or the raw
    /// `SAMPLE_*` bits of `premap::abi::attr`.
    pub fn sample_type(mut self, flags: impl Into<SampleFlags>) -> Self {
        self.attr.sample_type = flags.into().bits();
        self
    }

    /// Sets `read_format` (`FORMAT_*` bits).
    pub fn read_format(mut self, bits: u64) -> Self {
        self.attr.read_format = bits;
        self
    }

    /// Wakes pollers after `n` records.
    pub fn wakeup_events(mut self, n: u32) -> Self {
        self.attr.wakeup_events = n;
        self.attr.set_flag(ATTR_FLAG_WATERMARK, false);
        self
    }

    /// Wakes pollers when `bytes` are readable.
    pub fn wakeup_watermark(mut self, bytes: u32) -> Self {
        self.attr.wakeup_events = bytes;
        self.attr.set_flag(ATTR_FLAG_WATERMARK, true);
        self
    }

    fn flag(mut self, flag: u64, on: bool) -> Self {
        self.attr.set_flag(flag, on);
        self
    }

    /// `sample_id_all`: non-sample records carry the `sample_id` trailer.
    pub fn sample_id_all(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_SAMPLE_ID_ALL, on)
    }

    /// `comm` (and `comm_exec`): COMM records, flagged when due to exec.
    pub fn comm(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_COMM | ATTR_FLAG_COMM_EXEC, on)
    }

    /// `mmap` and `mmap2`: MMAP2 records for executable mappings.
    pub fn mmap(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_MMAP | ATTR_FLAG_MMAP2, on)
    }

    /// `mmap_data`: MMAP2 records for data mappings too.
    pub fn mmap_data(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_MMAP_DATA, on)
    }

    /// `task`: FORK and EXIT records.
    pub fn task(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_TASK, on)
    }

    /// `inherit`: children created after opening are monitored too.
    pub fn inherit(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_INHERIT, on)
    }

    /// `enable_on_exec`: the event enables itself when the monitored task execs.
    pub fn enable_on_exec(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_ENABLE_ON_EXEC, on)
    }

    /// `disabled`: start disabled (the default).
    pub fn disabled(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_DISABLED, on)
    }

    /// `exclude_kernel`: count only user space (allowed at `perf_event_paranoid` 2).
    pub fn exclude_kernel(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_EXCLUDE_KERNEL, on)
    }

    /// `exclude_hv`.
    pub fn exclude_hv(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_EXCLUDE_HV, on)
    }

    /// `context_switch`: SWITCH records.
    pub fn context_switch(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_CONTEXT_SWITCH, on)
    }

    /// `write_backward`: the kernel writes the ring backward, for overwrite-mode reading.
    pub fn write_backward(self, on: bool) -> Self {
        self.flag(ATTR_FLAG_WRITE_BACKWARD, on)
    }

    /// Changes the attr directly, for anything the builder does not name. Its `size` field is the
    /// builder's: what is stored there is replaced by [`EventBuilder::attr_size`]'s value when the event
    /// opens.
    pub fn attr_mut(&mut self) -> &mut PerfEventAttr {
        &mut self.attr
    }

    /// The attr that [`open`](Self::open) will pass.
    pub fn attr(&self) -> &PerfEventAttr {
        &self.attr
    }

    /// Opens the event.
    pub fn open(&self) -> Result<PerfEvent> {
        self.open_in_group(None)
    }

    /// Opens the event as a member of `leader`'s group.
    pub fn open_in_group(&self, leader: Option<&PerfEvent>) -> Result<PerfEvent> {
        let group = leader.map_or(-1, |l| l.fd.as_raw_fd());
        let mut attr = self.attr;
        attr.size = self.size;
        let (pid, flags) = match &self.cgroup {
            Some(dir) => (dir.as_raw_fd(), sys::PERF_FLAG_PID_CGROUP),
            None => (self.pid, 0),
        };
        let fd = sys::perf_event_open(&attr, self.size, pid, self.cpu, group, flags).map_err(
            |e| match e.kernel_size {
                Some(kernel) => Error::AttrSize {
                    sent: self.size,
                    kernel,
                },
                None => self.explain(e.source),
            },
        )?;
        Ok(PerfEvent {
            fd,
            attr,
            cpu: self.cpu,
            ring_taken: Default::default(),
            redirected: Default::default(),
        })
    }

    fn explain(&self, source: io::Error) -> Error {
        let what = self.event.to_string();
        match source.raw_os_error() {
            Some(libc::EACCES | libc::EPERM) => Error::PermissionDenied {
                paranoid: std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                    .ok()
                    .and_then(|s| s.trim().parse().ok()),
                source,
            },
            Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV) => Error::EventNotSupported {
                event: what,
                source,
            },
            Some(libc::ESRCH) => Error::NoSuchProcess { pid: self.pid },
            Some(libc::EINVAL | libc::E2BIG) => Error::InvalidConfig { what, source },
            _ => Error::Sys {
                call: "perf_event_open",
                source,
            },
        }
    }
}

/// An open perf event.
#[derive(Debug)]
pub struct PerfEvent {
    fd: OwnedFd,
    attr: PerfEventAttr,
    /// The CPU it was opened on (-1: any).
    cpu: i32,
    /// Whether a live [`Ring`] reads this event's buffer (one consumer per ring); also held while
    /// `set_output` runs, so that the two exclude each other.
    ring_taken: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Set once `set_output` sent this event's records to another event's ring.
    redirected: std::sync::atomic::AtomicBool,
}

impl PerfEvent {
    /// The attr the event was opened with.
    pub fn attr(&self) -> &PerfEventAttr {
        &self.attr
    }

    /// # Safety
    ///
    /// `req` is a perf ioctl that takes an integer argument (ENABLE, DISABLE, RESET, REFRESH,
    /// SET_OUTPUT, PAUSE_OUTPUT).
    unsafe fn ioctl(&self, req: u32, arg: u64, call: &'static str) -> Result<()> {
        // SAFETY: the caller names an integer-argument request; `fd` is a perf event.
        unsafe { sys::ioctl_int(self.fd.as_fd(), req, arg as libc::c_ulong) }
            .map(|_| ())
            .map_err(|source| Error::Sys { call, source })
    }

    /// `PERF_EVENT_IOC_ENABLE`.
    pub fn enable(&self) -> Result<()> {
        // SAFETY: ENABLE takes an integer (flags) argument.
        unsafe { self.ioctl(ioctl::PERF_EVENT_IOC_ENABLE, 0, "ioctl(ENABLE)") }
    }

    /// `PERF_EVENT_IOC_DISABLE`.
    pub fn disable(&self) -> Result<()> {
        // SAFETY: DISABLE takes an integer (flags) argument.
        unsafe { self.ioctl(ioctl::PERF_EVENT_IOC_DISABLE, 0, "ioctl(DISABLE)") }
    }

    /// `PERF_EVENT_IOC_PAUSE_OUTPUT`: pauses (true) or resumes (false) writing to the ring. Harmless to
    /// any reader: [`Ring::newest`] pauses on its own while it copies, and hands out only the copy.
    pub fn pause_output(&self, pause: bool) -> Result<()> {
        // SAFETY: PAUSE_OUTPUT and SET_OUTPUT take integer arguments.
        unsafe {
            self.ioctl(
                ioctl::PERF_EVENT_IOC_PAUSE_OUTPUT,
                pause as u64,
                "ioctl(PAUSE_OUTPUT)",
            )
        }
    }

    /// `PERF_EVENT_IOC_ID`: the event's id (what `SAMPLE_IDENTIFIER`/`SAMPLE_ID` carry).
    pub fn id(&self) -> Result<u64> {
        let mut id = 0u64;
        // SAFETY: PERF_EVENT_IOC_ID writes one u64 at its argument.
        unsafe { sys::ioctl_ptr(self.fd.as_fd(), ioctl::PERF_EVENT_IOC_ID, &mut id) }.map_err(
            |source| Error::Sys {
                call: "ioctl(ID)",
                source,
            },
        )?;
        Ok(id)
    }

    /// `PERF_EVENT_IOC_SET_OUTPUT`: sends this event's records to `target`'s ring (same CPU or task).
    /// Refused with [`Error::AlreadyMapped`] while this event's own ring is mapped; afterwards
    /// [`PerfEvent::ring`] on this event is refused ([`Error::Redirected`]): its records are read from
    /// `target`'s ring, which has one consumer like any other.
    pub fn set_output(&self, target: &PerfEvent) -> Result<()> {
        use std::sync::atomic::Ordering;
        // Held for the call, so that ring() cannot map this event meanwhile.
        if self.ring_taken.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyMapped);
        }
        // SAFETY: SET_OUTPUT takes an integer argument (a descriptor).
        let r = unsafe {
            self.ioctl(
                ioctl::PERF_EVENT_IOC_SET_OUTPUT,
                target.fd.as_raw_fd() as u64,
                "ioctl(SET_OUTPUT)",
            )
        };
        if r.is_ok() {
            self.redirected.store(true, Ordering::Release);
        }
        self.ring_taken.store(false, Ordering::Release);
        r
    }

    /// `PERF_EVENT_IOC_SET_FILTER`: a tracepoint filter (`prev_pid > 0 && next_comm == "x"`), as
    /// `perf record --filter`.
    pub fn set_filter(&self, filter: &std::ffi::CStr) -> Result<()> {
        sys::ioctl_cstr(self.fd.as_fd(), ioctl::PERF_EVENT_IOC_SET_FILTER, filter).map_err(
            |source| Error::Sys {
                call: "ioctl(SET_FILTER)",
                source,
            },
        )?;
        Ok(())
    }

    /// Reads the counter value (`read(2)` of the fd, laid out by `read_format`) into `buf`; returns the
    /// bytes read.
    pub fn read_counter(&self, buf: &mut [u8]) -> Result<usize> {
        let mut f = std::fs::File::from(self.fd.try_clone().map_err(|source| Error::Sys {
            call: "dup",
            source,
        })?);
        io::Read::read(&mut f, buf).map_err(|source| Error::Sys {
            call: "read",
            source,
        })
    }

    /// Reads the counter (`read(2)`) and decodes it as the event's `read_format` says: the value (or,
    /// with `FORMAT_GROUP` on a group leader, every member's), with the enabled/running times, ids and
    /// lost counts the format asks for.
    ///
    /// ```no_run
    /// use premap::{Event, EventBuilder};
    /// use premap::abi::attr::{FORMAT_TOTAL_TIME_ENABLED, FORMAT_TOTAL_TIME_RUNNING};
    /// let ev = EventBuilder::new(Event::TASK_CLOCK)
    ///     .read_format(FORMAT_TOTAL_TIME_ENABLED | FORMAT_TOTAL_TIME_RUNNING)
    ///     .open()?;
    /// ev.enable()?;
    /// let counts = ev.read_counts()?;
    /// println!("{:?} ns of CPU, scaled {:?}", counts.value(), counts.scaled(0));
    /// # Ok::<(), premap::Error>(())
    /// ```
    pub fn read_counts(&self) -> Result<Counts> {
        let rf = self.attr.read_format;
        // A single event reads at most value, enabled, running, id, lost. A group reads nr, the two
        // times and nr entries: start with room for 16 members and grow while the kernel says ENOSPC.
        let mut words = if rf & FORMAT_GROUP != 0 {
            3 + 3 * 16
        } else {
            5
        };
        loop {
            let mut buf = vec![0u8; words * 8];
            match self.read_counter(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Counts::parse(&buf, rf);
                }
                Err(Error::Sys { source, .. })
                    if source.raw_os_error() == Some(libc::ENOSPC) && words < MAX_READ_WORDS =>
                {
                    words = (words * 4).min(MAX_READ_WORDS);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Maps a consume-mode ring of `data_pages` pages (a power of two). An event opened with
    /// `write_backward` has an overwrite-mode ring: [`Error::WrongMode`] here, map it with
    /// [`PerfEvent::overwrite_ring`]. A ring has one consumer: while the ring returned lives, another
    /// call fails with [`Error::AlreadyMapped`]; on an event redirected with [`PerfEvent::set_output`]
    /// it fails with [`Error::Redirected`] (older kernels would map the target's buffer a second time).
    pub fn ring(&self, data_pages: usize) -> Result<Ring<Consume>> {
        self.map_ring("PerfEvent::ring", data_pages)
    }

    /// Maps the overwrite-mode ring (read-only, newest records first through [`Ring::newest`]) of an
    /// event opened with [`EventBuilder::write_backward`]; otherwise [`Error::WrongMode`]. Otherwise as
    /// [`PerfEvent::ring`].
    pub fn overwrite_ring(&self, data_pages: usize) -> Result<Ring<Overwrite>> {
        self.map_ring("PerfEvent::overwrite_ring", data_pages)
    }

    fn map_ring<M: RingMode>(&self, call: &'static str, data_pages: usize) -> Result<Ring<M>> {
        use std::sync::atomic::Ordering;
        if self.redirected.load(Ordering::Acquire) {
            return Err(Error::Redirected);
        }
        if self.cpu == -1 && self.attr.has_flag(ATTR_FLAG_INHERIT) {
            // perf_mmap() refuses it: every child would write into the one buffer.
            return Err(Error::NotMappable(
                "an inherited per-task event (inherit with cpu -1) has no ring of its own; open \
                 one event per CPU (premap::CpuRings, as perf record does) or drop inherit",
            ));
        }
        let mode = if self.attr.has_flag(ATTR_FLAG_WRITE_BACKWARD) {
            Mode::Overwrite
        } else {
            Mode::Consume
        };
        if mode != M::MODE {
            return Err(Error::WrongMode { call, mode });
        }
        // SAFETY: `fd` is a perf event (this value's own descriptor; sharing it elsewhere is the caller's
        // unsafe act), and every ring of this value is mapped with its flag, which set_output holds too.
        let ring = unsafe { Ring::map_once(self.fd.as_fd(), data_pages, &self.ring_taken) }?;
        // Checked again with the flag held: a set_output that finished before we took it is seen.
        if self.redirected.load(Ordering::Acquire) {
            return Err(Error::Redirected);
        }
        Ok(ring)
    }
}

impl AsFd for PerfEvent {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The CPUs that are online now, from `/sys/devices/system/cpu/online` (ranges like `0-3,5`).
pub fn online_cpus() -> Result<Vec<i32>> {
    let text =
        std::fs::read_to_string("/sys/devices/system/cpu/online").map_err(|source| Error::Sys {
            call: "read /sys/devices/system/cpu/online",
            source,
        })?;
    parse_cpu_list(text.trim()).ok_or_else(|| Error::Sys {
        call: "parse /sys/devices/system/cpu/online",
        source: io::Error::from(io::ErrorKind::InvalidData),
    })
}

/// Parses a kernel CPU list (`0-3,5,7-8`).
pub fn parse_cpu_list(s: &str) -> Option<Vec<i32>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (i32, i32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 65536 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_print_perf_s_names_whatever_variant_spells_them() {
        assert_eq!(Event::CPU_CLOCK.to_string(), "cpu-clock");
        let raw = Event::Raw {
            r#type: TYPE_SOFTWARE,
            config: COUNT_SW_CPU_CLOCK,
        };
        assert_eq!(raw.to_string(), "cpu-clock");
        let tp = Event::Raw {
            r#type: TYPE_TRACEPOINT,
            config: 316,
        };
        assert_eq!(tp.to_string(), "tracepoint 316");
        let r = Event::Raw {
            r#type: TYPE_RAW,
            config: 0x1c2,
        };
        assert_eq!(r.to_string(), "type 4, config 0x1c2");
    }

    #[test]
    fn cpu_lists_parse_like_the_kernel_prints_them() {
        assert_eq!(parse_cpu_list("0-3,5,7-8"), Some(vec![0, 1, 2, 3, 5, 7, 8]));
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn event_names_round_trip() {
        for name in ["page-faults", "cpu-clock", "task-clock", "cycles", "dummy"] {
            assert!(
                Event::from_name(name).and_then(|e| e.name()).is_some(),
                "{name}"
            );
        }
        assert_eq!(Event::from_name("nonsense"), None);
    }
}
