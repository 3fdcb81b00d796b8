//! perf's event syntax, as `perf record -e` takes it (tools/perf/util/parse-events.y): names and
//! aliases as `perf list` shows them, hardware cache events (`L1-dcache-load-misses`), raw `rNNNN`,
//! `pmu/term=value,.../`, tracepoints `subsystem:name`, modifiers (`:u :k :h :p :pp :P :S :I :D :G :H`),
//! comma-separated lists and `{a,b}` groups.
//!
//! Parsing is plain Rust over strings; what a name means on this machine (a PMU's type and format, a
//! tracepoint's id) comes through a [`Sysfs`] view, which tests replace with a table.

use premap::abi::attr::{
    PerfEventAttr, TYPE_HARDWARE, TYPE_HW_CACHE, TYPE_SOFTWARE, TYPE_TRACEPOINT,
};
use premap::Event;

/// `PERF_TYPE_RAW`.
const TYPE_RAW: u32 = 4;

/// One event of a `-e` list, resolved to its attr fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// The name perf would show (the spec as written, modifiers included).
    pub name: String,
    /// `attr.type`.
    pub r#type: u32,
    /// `attr.config`.
    pub config: u64,
    /// `attr.config1`.
    pub config1: u64,
    /// `attr.config2`.
    pub config2: u64,
    /// The modifiers.
    pub mods: Modifiers,
    /// A sample period or frequency given as a term (`period=`, `freq=`).
    pub period: Option<u64>,
    /// `freq=` term.
    pub freq: Option<u64>,
    /// Index of the group this event belongs to (events outside `{}` are their own group).
    pub group: usize,
    /// Whether this event leads its group.
    pub leader: bool,
}

/// Event modifiers (`:ukhGHpPSID`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// Exclude user space.
    pub exclude_user: bool,
    /// Exclude the kernel.
    pub exclude_kernel: bool,
    /// Exclude the hypervisor.
    pub exclude_hv: bool,
    /// Exclude guests.
    pub exclude_guest: bool,
    /// Exclude the host.
    pub exclude_host: bool,
    /// Exclude idle.
    pub exclude_idle: bool,
    /// `precise_ip` (0..=3).
    pub precise: u8,
    /// `P`: the maximum precision the PMU offers.
    pub precise_max: bool,
    /// `S`: read the group's counters in each sample (group leader sampling).
    pub sample_read: bool,
    /// `D`: pinned.
    pub pinned: bool,
    /// `e`: exclusive.
    pub exclusive: bool,
}

impl Modifiers {
    /// Parses a modifier string; `None` when it holds a letter perf does not know (then `a:b` is a
    /// tracepoint, not an event with modifiers).
    pub fn parse(s: &str) -> Option<Self> {
        let mut m = Modifiers::default();
        let (mut u, mut k, mut h) = (false, false, false);
        for c in s.chars() {
            match c {
                'u' => u = true,
                'k' => k = true,
                'h' => h = true,
                'G' => m.exclude_host = true,
                'H' => m.exclude_guest = true,
                'I' => m.exclude_idle = true,
                'p' => m.precise = (m.precise + 1).min(3),
                'P' => m.precise_max = true,
                'S' => m.sample_read = true,
                'D' => m.pinned = true,
                'e' => m.exclusive = true,
                'W' | 'b' => {}
                _ => return None,
            }
        }
        if s.is_empty() {
            return None;
        }
        // perf: naming any of u/k/h excludes the ones not named.
        if u || k || h {
            m.exclude_user = !u;
            m.exclude_kernel = !k;
            m.exclude_hv = !h;
        }
        Some(m)
    }

    /// Writes the modifiers into an attr.
    pub fn apply(&self, a: &mut PerfEventAttr) {
        use premap::abi::attr::*;
        let set = |a: &mut PerfEventAttr, bit: u64, on: bool| {
            if on {
                a.flags |= bit;
            }
        };
        set(a, ATTR_FLAG_EXCLUDE_USER, self.exclude_user);
        set(a, ATTR_FLAG_EXCLUDE_KERNEL, self.exclude_kernel);
        set(a, ATTR_FLAG_EXCLUDE_HV, self.exclude_hv);
        set(a, ATTR_FLAG_EXCLUDE_GUEST, self.exclude_guest);
        set(a, ATTR_FLAG_EXCLUDE_HOST, self.exclude_host);
        set(a, ATTR_FLAG_EXCLUDE_IDLE, self.exclude_idle);
        set(a, ATTR_FLAG_PINNED, self.pinned);
        set(a, ATTR_FLAG_EXCLUSIVE, self.exclusive);
        // `P` (the most the PMU offers) is left to the kernel's default: asking 3 of a PMU that offers
        // less fails the open.
        a.flags =
            (a.flags & !ATTR_PRECISE_IP_MASK) | (u64::from(self.precise) << ATTR_PRECISE_IP_SHIFT);
    }
}

/// What the machine knows about PMUs and tracepoints.
pub trait Sysfs {
    /// The type number of PMU `pmu` (`/sys/bus/event_source/devices/PMU/type`).
    fn pmu_type(&self, pmu: &str) -> Option<u32>;
    /// The format of term `term` of `pmu` (`.../format/TERM`, e.g. `config:0-7`).
    fn pmu_format(&self, pmu: &str, term: &str) -> Option<String>;
    /// A named event of `pmu` (`.../events/NAME`, e.g. `event=0x3c`).
    fn pmu_event(&self, pmu: &str, name: &str) -> Option<String>;
    /// The id of tracepoint `sys:name` (tracefs `events/SYS/NAME/id`).
    fn tracepoint_id(&self, sys: &str, name: &str) -> Option<u64>;
    /// Where a tracepoint without an id was looked for, when the reason is that this user may not
    /// read it (tracefs mounted mode 0700, say): perf's "No permissions to read PATH".
    fn tracepoint_forbidden(&self, _sys: &str, _name: &str) -> Option<String> {
        None
    }
}

/// The running machine's sysfs and tracefs.
pub struct MachineSysfs;

const PMU_DIR: &str = "/sys/bus/event_source/devices";
/// Where tracefs is usually mounted.
pub use premap::event::{tracefs, TRACEFS_ROOTS as TRACEFS};

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

impl Sysfs for MachineSysfs {
    fn pmu_type(&self, pmu: &str) -> Option<u32> {
        read_trim(&format!("{PMU_DIR}/{pmu}/type"))?.parse().ok()
    }
    fn pmu_format(&self, pmu: &str, term: &str) -> Option<String> {
        read_trim(&format!("{PMU_DIR}/{pmu}/format/{term}"))
    }
    fn pmu_event(&self, pmu: &str, name: &str) -> Option<String> {
        read_trim(&format!("{PMU_DIR}/{pmu}/events/{name}"))
    }
    fn tracepoint_id(&self, sys: &str, name: &str) -> Option<u64> {
        // Mounted here if it is not yet (as perf does); the id read as the library reads it.
        tracefs()?;
        match premap::Event::tracepoint(sys, name).ok()? {
            premap::Event::Raw { config, .. } => Some(config),
            _ => None,
        }
    }

    fn tracepoint_forbidden(&self, sys: &str, name: &str) -> Option<String> {
        let root = TRACEFS
            .into_iter()
            .find(|t| std::path::Path::new(t).exists())?;
        let path = format!("{root}/events/{sys}/{name}");
        let denied = |p: &str| {
            std::fs::read_dir(p)
                .err()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
        };
        (denied(root) || denied(&path)).then_some(path)
    }
}

/// Why a `-e` spec was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError(pub String);

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The hardware cache events: (name, id).
const CACHES: [(&str, u64); 7] = [
    ("L1-dcache", 0),
    ("L1-icache", 1),
    ("LLC", 2),
    ("dTLB", 3),
    ("iTLB", 4),
    ("branch", 5),
    ("node", 6),
];
const CACHE_OPS: [(&str, u64); 6] = [
    ("load", 0),
    ("loads", 0),
    ("store", 1),
    ("stores", 1),
    ("prefetch", 2),
    ("prefetches", 2),
];

/// `L1-dcache-load-misses` and friends: `(type, config)`.
pub fn cache_event(name: &str) -> Option<u64> {
    let (cache, id) = CACHES
        .iter()
        .find(|(c, _)| name.starts_with(c) && name[c.len()..].starts_with('-'))?;
    let rest = &name[cache.len() + 1..];
    let (op, result) = match rest.rsplit_once('-') {
        Some((op, "misses" | "miss")) => (op, 1),
        Some((op, "refs" | "access" | "accesses")) => (op, 0),
        _ => (rest, 0),
    };
    let op = CACHE_OPS.iter().find(|(o, _)| *o == op)?.1;
    Some(id | op << 8 | result << 16)
}

/// Every cache event name perf lists (for `premap list`).
pub fn cache_event_names() -> Vec<String> {
    let mut v = Vec::new();
    for (c, _) in CACHES {
        for op in ["load", "store", "prefetch"] {
            v.push(format!("{c}-{op}s"));
            v.push(format!("{c}-{op}-misses"));
        }
    }
    v
}

/// Places `value` in the bits a format string names (`config:0-7,21-23` or `config1:0-63`).
fn place(format: &str, value: u64, spec: &mut EventSpec) -> Result<(), EventError> {
    let (field, bits) = format
        .split_once(':')
        .ok_or_else(|| EventError(format!("bad PMU format {format:?}")))?;
    let mut v = value;
    let mut out = 0u64;
    for range in bits.split(',') {
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (a.parse::<u32>(), b.parse::<u32>()),
            None => (range.parse::<u32>(), range.parse::<u32>()),
        };
        let (Ok(lo), Ok(hi)) = (lo, hi) else {
            return Err(EventError(format!("bad PMU format {format:?}")));
        };
        if lo > hi || hi > 63 {
            return Err(EventError(format!("bad PMU format {format:?}")));
        }
        let width = hi - lo + 1;
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        out |= (v & mask) << lo;
        v = if width == 64 { 0 } else { v >> width };
    }
    if v != 0 {
        return Err(EventError(format!(
            "value {value:#x} does not fit {format}"
        )));
    }
    match field {
        "config" => spec.config |= out,
        "config1" => spec.config1 |= out,
        "config2" => spec.config2 |= out,
        _ => return Err(EventError(format!("unsupported PMU field {field}"))),
    }
    Ok(())
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn blank(name: &str, r#type: u32, config: u64) -> EventSpec {
    EventSpec {
        name: name.to_string(),
        r#type,
        config,
        config1: 0,
        config2: 0,
        mods: Modifiers::default(),
        period: None,
        freq: None,
        group: 0,
        leader: true,
    }
}

/// Applies `term=value` terms (or a named event's terms) of a PMU.
fn pmu_terms(
    pmu: &str,
    terms: &str,
    sys: &dyn Sysfs,
    spec: &mut EventSpec,
    depth: u8,
) -> Result<(), EventError> {
    for term in terms.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (key, value) = match term.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (term, None),
        };
        let num = || {
            value
                .map_or(Some(1), parse_num)
                .ok_or_else(|| EventError(format!("{pmu}/{term}/: not a number")))
        };
        match key {
            "config" => spec.config |= num()?,
            "config1" => spec.config1 |= num()?,
            "config2" => spec.config2 |= num()?,
            "period" => spec.period = Some(num()?),
            "freq" => spec.freq = Some(num()?),
            "name" => spec.name = value.unwrap_or_default().to_string(),
            _ => {
                if let Some(format) = sys.pmu_format(pmu, key) {
                    place(&format, num()?, spec)?;
                } else if let (None, Some(def), true) = (value, sys.pmu_event(pmu, key), depth == 0)
                {
                    pmu_terms(pmu, &def, sys, spec, depth + 1)?;
                } else {
                    return Err(EventError(format!(
                        "{pmu}/{term}/: PMU {pmu} has no term or event {key:?}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A symbolic event's `(type, config)`: a hardware or software name, or a cache event.
fn symbolic(name: &str) -> Option<(u32, u64)> {
    match Event::from_name(name) {
        Some(Event::Software(c)) => Some((TYPE_SOFTWARE, c)),
        Some(Event::Hardware(c)) => Some((TYPE_HARDWARE, c)),
        Some(Event::Raw { r#type, config }) => Some((r#type, config)),
        None => cache_event(name).map(|c| (TYPE_HW_CACHE, c)),
    }
}

/// Parses one event (no list, no group): `name[:mods]`, `rNNNN[:mods]`, `pmu/terms/[mods]`,
/// `sys:tracepoint`.
pub fn parse_one(s: &str, sys: &dyn Sysfs) -> Result<EventSpec, EventError> {
    let unknown = || {
        EventError(format!(
            "unknown event {s:?} (premap list shows the events of this machine)"
        ))
    };
    if let Some((pmu, rest)) = s.split_once('/') {
        let (terms, mods) = rest
            .rsplit_once('/')
            .ok_or_else(|| EventError(format!("{s:?}: a PMU event is pmu/terms/")))?;
        let mut spec = match (sys.pmu_type(pmu), symbolic(pmu)) {
            (Some(ty), _) => blank(s, ty, 0),
            // perf's `page-faults/period=1/`: a symbolic event with terms.
            (None, Some((ty, config))) => blank(s, ty, config),
            (None, None) => return Err(EventError(format!("{s:?}: no PMU named {pmu:?}"))),
        };
        pmu_terms(pmu, terms, sys, &mut spec, 0)?;
        let mods = mods.trim_start_matches(':');
        if !mods.is_empty() {
            spec.mods = Modifiers::parse(mods)
                .ok_or_else(|| EventError(format!("{s:?}: bad modifiers {mods:?}")))?;
        }
        return Ok(spec);
    }
    let (base, mods) = match s.rsplit_once(':') {
        Some((b, m)) if Modifiers::parse(m).is_some() && !b.is_empty() => (b, Modifiers::parse(m)),
        _ => (s, None),
    };
    let mut spec = if let Some(e) = Event::from_name(base) {
        let (ty, config) = match e {
            Event::Software(c) => (TYPE_SOFTWARE, c),
            Event::Hardware(c) => (TYPE_HARDWARE, c),
            Event::Raw { r#type, config } => (r#type, config),
        };
        blank(s, ty, config)
    } else if let Some(config) = cache_event(base) {
        blank(s, TYPE_HW_CACHE, config)
    } else if let Some(hex) = base
        .strip_prefix('r')
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
    {
        blank(
            s,
            TYPE_RAW,
            u64::from_str_radix(hex, 16).map_err(|_| unknown())?,
        )
    } else if let Some((tsys, tname)) = base.split_once(':') {
        // `cpu-clock:zz`: a known event with modifiers that are not modifiers, not a tracepoint.
        let known = Event::from_name(tsys).is_some()
            || cache_event(tsys).is_some()
            || tsys
                .strip_prefix('r')
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()));
        if known {
            return Err(EventError(format!(
                "event syntax error: '{s}': bad modifiers {tname:?} (perf's modifiers: u k h G H p P S D I W e)"
            )));
        }
        let id = sys.tracepoint_id(tsys, tname).ok_or_else(|| {
            match sys.tracepoint_forbidden(tsys, tname) {
                // perf's words.
                Some(path) => EventError(format!(
                    "event syntax error: '{s}': can't access trace events\n\
                     Error:\tNo permissions to read {path}\n\
                     Hint:\tTry 'sudo mount -o remount,mode=755 {}/'",
                    path.split("/events/")
                        .next()
                        .unwrap_or("/sys/kernel/tracing")
                )),
                None => EventError(format!(
                    "unknown tracepoint {base:?} (is tracefs mounted and readable?)"
                )),
            }
        })?;
        blank(s, TYPE_TRACEPOINT, id)
    } else {
        return Err(unknown());
    };
    if let Some(m) = mods {
        spec.mods = m;
    }
    Ok(spec)
}

/// Splits at top-level commas (not inside `/.../` or `{...}`).
fn split_top(s: &str) -> Result<Vec<&str>, EventError> {
    let (mut depth, mut in_pmu, mut start) = (0i32, false, 0);
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '{' if !in_pmu => depth += 1,
            '}' if !in_pmu => {
                depth -= 1;
                if depth < 0 {
                    return Err(EventError(format!("{s:?}: unbalanced }}")));
                }
            }
            '/' => in_pmu = !in_pmu,
            ',' if depth == 0 && !in_pmu => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || in_pmu {
        return Err(EventError(format!("{s:?}: unbalanced {{ or /")));
    }
    out.push(&s[start..]);
    Ok(out)
}

/// Parses every `-e` argument into events, groups numbered in order.
pub fn parse_list(args: &[String], sys: &dyn Sysfs) -> Result<Vec<EventSpec>, EventError> {
    let mut out = Vec::new();
    let mut group = 0;
    for arg in args {
        for item in split_top(arg)? {
            let item = item.trim();
            if item.is_empty() {
                return Err(EventError(format!("{arg:?}: an empty event")));
            }
            if let Some(rest) = item.strip_prefix('{') {
                let (inner, mods) = rest
                    .rsplit_once('}')
                    .ok_or_else(|| EventError(format!("{item:?}: unbalanced {{")))?;
                let gmods = mods.strip_prefix(':').unwrap_or(mods);
                let gm =
                    if gmods.is_empty() {
                        None
                    } else {
                        Some(Modifiers::parse(gmods).ok_or_else(|| {
                            EventError(format!("{item:?}: bad modifiers {gmods:?}"))
                        })?)
                    };
                for (i, member) in split_top(inner)?.into_iter().enumerate() {
                    let mut e = parse_one(member.trim(), sys)?;
                    if let Some(m) = gm {
                        let own = e.mods;
                        e.mods = Modifiers {
                            precise: own.precise.max(m.precise),
                            pinned: own.pinned || (m.pinned && i == 0),
                            sample_read: m.sample_read,
                            ..m
                        };
                        if own != Modifiers::default() {
                            e.mods.exclude_user |= own.exclude_user;
                            e.mods.exclude_kernel |= own.exclude_kernel;
                        }
                    }
                    e.group = group;
                    e.leader = i == 0;
                    out.push(e);
                }
            } else {
                let mut e = parse_one(item, sys)?;
                e.group = group;
                out.push(e);
            }
            group += 1;
        }
    }
    if out.is_empty() {
        return Err(EventError("no event given".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl Sysfs for Fake {
        fn pmu_type(&self, pmu: &str) -> Option<u32> {
            (pmu == "cpu").then_some(4)
        }
        fn pmu_format(&self, _: &str, term: &str) -> Option<String> {
            match term {
                "event" => Some("config:0-7".into()),
                "umask" => Some("config:8-15".into()),
                "cmask" => Some("config:24-31".into()),
                "inv" => Some("config:23".into()),
                _ => None,
            }
        }
        fn pmu_event(&self, _: &str, name: &str) -> Option<String> {
            (name == "cycles").then(|| "event=0x3c".into())
        }
        fn tracepoint_id(&self, sys: &str, name: &str) -> Option<u64> {
            (sys == "sched" && name == "sched_switch").then_some(316)
        }
    }

    fn one(s: &str) -> EventSpec {
        parse_one(s, &Fake).unwrap()
    }

    #[test]
    fn names_modifiers_raw_cache_pmu_and_tracepoints() {
        let e = one("cpu-clock:u");
        assert_eq!((e.r#type, e.config), (TYPE_SOFTWARE, 0));
        assert!(e.mods.exclude_kernel && e.mods.exclude_hv && !e.mods.exclude_user);
        let e = one("cycles:k");
        assert_eq!((e.r#type, e.config), (TYPE_HARDWARE, 0));
        assert!(e.mods.exclude_user && !e.mods.exclude_kernel);
        assert_eq!(one("cycles:ppp").mods.precise, 3);
        let e = one("r003c");
        assert_eq!((e.r#type, e.config), (TYPE_RAW, 0x3c));
        let e = one("L1-dcache-load-misses");
        assert_eq!((e.r#type, e.config), (TYPE_HW_CACHE, 0x10000));
        assert_eq!(one("LLC-stores").config, 2 | 1 << 8);
        assert_eq!(one("dTLB-load-misses").config, 3 | 1 << 16);
        let e = one("sched:sched_switch");
        assert_eq!((e.r#type, e.config), (TYPE_TRACEPOINT, 316));
        let e = one("cpu/event=0x3c,umask=0x1,inv/u");
        assert_eq!((e.r#type, e.config), (4, 0x3c | 0x100 | 1 << 23));
        assert!(e.mods.exclude_kernel);
        assert_eq!(one("cpu/cycles/").config, 0x3c);
        assert_eq!(one("cpu/config=0x1234,period=1000/").period, Some(1000));
    }

    #[test]
    fn a_known_event_with_bad_modifiers_is_a_syntax_error_not_an_unknown_tracepoint() {
        for bad in ["cpu-clock:zz", "cycles:q", "LLC-stores:x", "r003c:zz"] {
            let e = parse_one(bad, &Fake).unwrap_err().0;
            assert!(
                e.contains("event syntax error") && e.contains("bad modifiers"),
                "{bad}: {e}"
            );
        }
        // A tracepoint is still one.
        assert!(parse_one("nosys:nothing", &Fake)
            .unwrap_err()
            .0
            .contains("unknown tracepoint"));
    }

    #[test]
    fn lists_and_groups() {
        let l = parse_list(
            &[
                "cycles,page-faults".into(),
                "{cpu-clock,cpu/cycles/}:S".into(),
            ],
            &Fake,
        )
        .unwrap();
        assert_eq!(l.len(), 4);
        assert_eq!(l.iter().map(|e| e.group).collect::<Vec<_>>(), [0, 1, 2, 2]);
        assert!(l[2].leader && !l[3].leader);
        assert!(l[2].mods.sample_read && l[3].mods.sample_read);
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for bad in [
            "nosuch",
            "cpu-clock:q",
            "nosys:nothing",
            "cpu/nosuch=1/",
            "gpu/x/",
            "{cycles",
            "cpu/event=0x3c",
            "",
            "cpu/event=0x1ff/",
        ] {
            let r = parse_list(&[bad.to_string()], &Fake);
            assert!(r.is_err(), "{bad:?} was accepted: {r:?}");
        }
    }
}
