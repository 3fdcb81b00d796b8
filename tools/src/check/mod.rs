//! `premap check`: the conformance list of docs/conformance.md, run against the premap driver
//! (`--device /dev/premap`, once per mapping strategy) or the kernel's own perf rings (`--perf`), one
//! PASS/FAIL/N/A line per behaviour.
//!
//! The layout: `probe` holds every raw syscall the checks make (mmap, mprotect, mremap, madvise, fork,
//! vmsplice, process_vm_readv...), poking at a mapping the way a hostile or careless program would;
//! `source` the two ring sources; `mapping`, `producer` and `pages` the behaviours, plain Rust
//! over the probes' results; `BEHAVIOURS` below is the table the runner walks.

mod mapping;
mod pages;
mod probe;
mod producer;
mod source;

use nix::errno::Errno;
use premap::abi::uapi::{CREATE_OVERWRITE, CREATE_TYPED_PAGES};
use std::path::PathBuf;

/// What to check.
#[derive(Clone, Debug)]
pub enum Subject {
    /// The premap driver's device node: every behaviour once per [`Strategy`].
    Device(PathBuf),
    /// The kernel's perf_event_open rings.
    Perf,
}

/// How the driver maps a buffer (`PREMAP_IOC_CREATE` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// One `remap_pfn_range` per page: `VM_PFNMAP | VM_IO`.
    PfnMap,
    /// `CREATE_TYPED_PAGES`: `PGTY_user_ring` pages mapped with `vm_insert_pages_prot`, `VM_MIXEDMAP`.
    Typed,
}

impl Strategy {
    /// Every strategy, in the order the check runs them.
    pub const ALL: [Strategy; 2] = [Strategy::PfnMap, Strategy::Typed];

    /// The name the check prints (`strategy: <name>`).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::PfnMap => "pfnmap",
            Strategy::Typed => "typed",
        }
    }

    /// The create flags of a buffer in this strategy and mode.
    pub fn create_flags(self, overwrite: bool) -> u32 {
        let typed = match self {
            Strategy::PfnMap => 0,
            Strategy::Typed => CREATE_TYPED_PAGES,
        };
        typed | if overwrite { CREATE_OVERWRITE } else { 0 }
    }
}

/// What one run of the behaviours drives: a device buffer in one strategy, or perf.
#[derive(Clone, Debug)]
enum Target {
    Device(PathBuf, Strategy),
    Perf,
}

impl Target {
    fn is_perf(&self) -> bool {
        matches!(self, Target::Perf)
    }

    /// The driver's strategy; `None` for perf.
    fn strategy(&self) -> Option<Strategy> {
        match self {
            Target::Device(_, s) => Some(*s),
            Target::Perf => None,
        }
    }

    /// Whether the ring's pages are typed pages in a VM_MIXEDMAP VMA: the driver's typed strategy,
    /// or perf's own rings on a kernel that maps them so (premap's kernel series).
    fn typed(&self) -> bool {
        match self {
            Target::Device(_, s) => *s == Strategy::Typed,
            Target::Perf => source::perf_mapping() == Ok(PerfMapping::Typed),
        }
    }
}

/// How the running kernel maps its perf rings, read from the VMA of a fresh one (/proc/self/smaps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PerfMapping {
    /// Typed ring pages in a VM_MIXEDMAP VMA, without VM_IO or VM_PFNMAP (premap's kernel series).
    Typed,
    /// One remap_pfn_range() per page: VM_IO | VM_PFNMAP (mainline since 6.14).
    PfnMap,
    /// Neither: pages faulted in and refcounted (perf_mmap_fault(), before 6.14).
    Faulted,
}

/// The result of one behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Behaves as required.
    Pass(String),
    /// Does not.
    Fail(String),
    /// Does not apply to this subject (with the reason).
    NotApplicable(String),
}

/// What a run measures besides the verdicts.
#[derive(Default)]
struct Notes {
    /// Page faults on the first touch of a fresh 17-page mapping (behaviour 4).
    first_touch_faults: Option<i64>,
}

/// One behaviour of the conformance list.
struct Behaviour {
    /// Its number in docs/conformance.md (letters for the driver's own).
    id: &'static str,
    /// What a correct implementation shows.
    title: &'static str,
    run: fn(&Target, &mut Notes) -> Verdict,
}

/// The conformance list, in docs/conformance.md's order.
#[rustfmt::skip]
const BEHAVIOURS: &[Behaviour] = &[
    Behaviour { id: "1", title: "mmap size must be 1+2^n pages", run: mapping::sizes },
    Behaviour { id: "2", title: "MAP_PRIVATE and wrong offsets fail", run: mapping::private_and_offset },
    Behaviour { id: "3", title: "a second mmap shares the pages", run: mapping::second_mapping },
    Behaviour { id: "4", title: "all pages present after mmap", run: mapping::no_faults },
    Behaviour { id: "5", title: "data pages are read-only", run: mapping::write_protection },
    Behaviour { id: "6", title: "PROT_READ mapping is overwrite mode", run: mapping::read_only_is_overwrite },
    Behaviour { id: "7", title: "one VMA: no split, no expansion", run: mapping::one_vma },
    Behaviour { id: "8", title: "fork and madvise cannot take pages from the ring", run: mapping::fork_and_madvise },
    Behaviour { id: "9", title: "GUP refused, write() from the ring works", run: mapping::gup },
    Behaviour { id: "10", title: "pages live until the last munmap", run: mapping::close_while_mapped },
    Behaviour { id: "11", title: "mmap failure leaves nothing mapped", run: mapping::partial_failure },
    Behaviour { id: "12", title: "producer protocol: LOST counts, overwrite", run: producer::protocol },
    Behaviour { id: "12b", title: "producer at full speed, reader draining", run: producer::concurrent },
    Behaviour { id: "13", title: "control page fields", run: producer::control_page },
    Behaviour { id: "M", title: "page-type memdesc of every page", run: pages::memdesc },
    Behaviour { id: "R", title: "mapping takes no page reference", run: pages::refcounts },
    Behaviour { id: "V", title: "VMA flags of the strategy", run: pages::vma_flags },
    Behaviour { id: "K", title: "the kernel reports the page type", run: pages::kpageflags },
    Behaviour { id: "W", title: "write() validates records", run: producer::write_validation },
];

fn ok(msg: impl Into<String>) -> Verdict {
    Verdict::Pass(msg.into())
}

fn fail(msg: impl Into<String>) -> Verdict {
    Verdict::Fail(msg.into())
}

fn na(msg: impl Into<String>) -> Verdict {
    Verdict::NotApplicable(msg.into())
}

fn errname(e: Errno) -> String {
    std::io::Error::from(e).to_string()
}

/// Fails the behaviour with a message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return $crate::check::fail(format!($($msg)*));
        }
    };
}
use ensure;

/// The value of a `Result`, or the behaviour fails with its error.
macro_rules! tryv {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $crate::check::fail(e.to_string()),
        }
    };
}
use tryv;

/// Runs every behaviour (for a device, once per strategy, each block after a `strategy: <name>` line)
/// and prints one line each; returns whether none failed.
pub fn run(subject: &Subject, out: &mut impl std::io::Write) -> bool {
    let name = match subject {
        Subject::Device(p) => format!("the premap driver ({})", p.display()),
        Subject::Perf => "perf_event_open rings of the running kernel".to_string(),
    };
    let _ = writeln!(
        out,
        "# premap check: {name} (behaviours: docs/conformance.md)"
    );
    match subject {
        Subject::Device(p) => {
            if !p.exists() {
                let _ = writeln!(
                    out,
                    "# {} does not exist: load the driver first (insmod premap.ko; driver/vmtest builds it and runs this check in a guest)",
                    p.display()
                );
                return false;
            }
            let mut all_ok = true;
            for s in Strategy::ALL {
                let _ = writeln!(out, "strategy: {}", s.name());
                all_ok &= run_target(&Target::Device(p.clone(), s), out);
            }
            all_ok
        }
        Subject::Perf => run_target(&Target::Perf, out),
    }
}

fn run_target(target: &Target, out: &mut impl std::io::Write) -> bool {
    let mut notes = Notes::default();
    let (mut passed, mut failed) = (0, 0);
    for b in BEHAVIOURS {
        let line = match (b.run)(target, &mut notes) {
            Verdict::Pass(m) => {
                passed += 1;
                format!("PASS {} {}: {m}", b.id, b.title)
            }
            Verdict::Fail(m) => {
                failed += 1;
                format!("FAIL {} {}: {m}", b.id, b.title)
            }
            Verdict::NotApplicable(m) => format!("N/A  {} {}: {m}", b.id, b.title),
        };
        let _ = writeln!(out, "{line}");
    }
    let faults = notes.first_touch_faults.unwrap_or(-1);
    let _ = writeln!(
        out,
        "# first-touch page faults after mmap of 17 pages: {faults}"
    );
    let _ = writeln!(out, "# {passed} passed, {failed} failed");
    failed == 0
}
