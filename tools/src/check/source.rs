//! The two ring sources the checks drive: a premap device buffer (either mapping strategy) and a
//! perf_event_open ring of the running kernel.

use super::probe::{self, Map};
use super::{PerfMapping, Target};
use nix::errno::Errno;
use premap::abi::attr::*;
use premap::abi::control::ControlPage;
use premap::abi::header::{EventHeader, RECORD_SAMPLE};
use premap::abi::uapi::*;
use premap::{Event, EventBuilder};
use std::os::fd::{AsFd, BorrowedFd};

/// The page size the checks assume (x86-64, arm64 with 4 KiB pages).
pub(super) const PAGE: usize = 4096;

/// Byte offsets of the control-page fields the checks read and write (abi's `ControlPage`).
pub(super) const DATA_HEAD: usize = std::mem::offset_of!(ControlPage, data_head);
/// `data_tail`: the consumer's own field.
pub(super) const DATA_TAIL: usize = std::mem::offset_of!(ControlPage, data_tail);
/// `data_offset`.
pub(super) const DATA_OFFSET: usize = std::mem::offset_of!(ControlPage, data_offset);
/// `data_size`.
pub(super) const DATA_SIZE: usize = std::mem::offset_of!(ControlPage, data_size);
/// `size`.
pub(super) const SIZE: usize = std::mem::offset_of!(ControlPage, size);
/// `capabilities`.
pub(super) const CAPABILITIES: usize = std::mem::offset_of!(ControlPage, capabilities);

/// Where the checks' samples carry their sequence number: the PERIOD field, after the header and
/// IDENTIFIER, TID and TIME (see [`sample`]).
pub(super) const SEQ_AT: usize = 32;
/// Where a LOST record carries its count: after the header and the id (`LostRecord::lost`).
pub(super) const LOST_AT: usize = 16;

/// How this kernel maps perf rings (looked up once: a perf event with a 1+1-page ring, its VMA's
/// flags); an error when no perf ring can be mapped or its VMA is not in /proc/self/smaps.
pub(super) fn perf_mapping() -> Result<PerfMapping, String> {
    static MAPPING: std::sync::OnceLock<Result<PerfMapping, String>> = std::sync::OnceLock::new();
    MAPPING
        .get_or_init(|| {
            let src = Source::open(&Target::Perf, 1, false).map_err(|e| e.to_string())?;
            let m = src
                .map(2, true)
                .map_err(|e| format!("mmap of a perf ring: {e}"))?;
            let flags = probe::vm_flags(m.ptr as usize)
                .ok_or_else(|| "the perf ring is not in /proc/self/smaps".to_string())?;
            let has = |f: &str| flags.iter().any(|x| x == f);
            Ok(match (has("mm"), has("pf")) {
                (true, false) => PerfMapping::Typed,
                (false, true) => PerfMapping::PfnMap,
                (false, false) => PerfMapping::Faulted,
                (true, true) => {
                    return Err(format!(
                        "VmFlags {}: both VM_MIXEDMAP and VM_PFNMAP",
                        flags.join(" ")
                    ))
                }
            })
        })
        .clone()
}

/// The u64 at `at` in a record's bytes (0 when the record is too short).
pub(super) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

/// Why a source could not be set up or inspected. The checks report it (as a failure or "not
/// applicable"); its text names what was asked.
#[derive(Debug, thiserror::Error)]
pub(super) enum SourceError {
    /// The device could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The device path.
        path: String,
        /// What the library said.
        source: premap::Error,
    },
    /// Creating the buffer, or opening the perf event, failed.
    #[error("{0}")]
    Create(#[source] premap::Error),
    /// A perf event has no `PREMAP_IOC_PAGE_INFO`.
    #[error("perf events have no page info")]
    NoPageInfo,
    /// `PREMAP_IOC_PAGE_INFO` failed for a page.
    #[error("page {pgoff}: {source}")]
    PageInfo {
        /// The page asked about.
        pgoff: u32,
        /// What the library said.
        source: premap::Error,
    },
    /// The mapping failed.
    #[error("{}", super::errname(*.0))]
    Map(Errno),
    /// A page has a reference besides the driver's.
    #[error("page {pgoff} has refcount {refcount} {when} (want 1)")]
    Refcount {
        /// The page.
        pgoff: u32,
        /// Its reference count.
        refcount: i32,
        /// When it was looked at.
        when: String,
    },
}

/// An open ring source.
pub(super) struct Source {
    kind: Kind,
    pub(super) perf: bool,
}

enum Kind {
    /// A buffer of the driver, through premap's typed device API.
    Device(premap::Device),
    /// A perf event; the checks map and drive its descriptor raw.
    Perf(premap::PerfEvent),
}

impl Source {
    /// A fresh buffer (device, in the target's strategy) or perf event with `data_pages` data pages.
    pub(super) fn open(
        target: &Target,
        data_pages: u32,
        overwrite: bool,
    ) -> Result<Source, SourceError> {
        match target {
            Target::Device(path, strategy) => {
                let dev = premap::Device::open_path(path).map_err(|source| SourceError::Open {
                    path: path.display().to_string(),
                    source,
                })?;
                dev.create(&CreateParams {
                    size: 32,
                    flags: strategy.create_flags(overwrite),
                    data_pages,
                    ..Default::default()
                })
                .map_err(SourceError::Create)?;
                Ok(Source {
                    kind: Kind::Device(dev),
                    perf: false,
                })
            }
            Target::Perf => {
                // Disabled except while `produce` runs, so that the checks' own page faults (a kernel that
                // faults ring pages in) do not produce records behind their back.
                let ev = EventBuilder::new(Event::PAGE_FAULTS)
                    .sample_period(1)
                    .sample_type(SAMPLE_IP | SAMPLE_TID | SAMPLE_TIME | SAMPLE_PERIOD)
                    .disabled(true)
                    .write_backward(overwrite)
                    .open()
                    .map_err(SourceError::Create)?;
                Ok(Source {
                    kind: Kind::Perf(ev),
                    perf: true,
                })
            }
        }
    }

    /// The descriptor: the device file or the perf event.
    pub(super) fn fd(&self) -> BorrowedFd<'_> {
        match &self.kind {
            Kind::Device(d) => d.as_fd(),
            Kind::Perf(fd) => fd.as_fd(),
        }
    }

    /// Whether this is a perf event (no page info, no generator).
    pub(super) fn is_perf(&self) -> bool {
        self.perf
    }

    /// The driver's typed device; `None` for perf.
    pub(super) fn device(&self) -> Option<&premap::Device> {
        match &self.kind {
            Kind::Device(d) => Some(d),
            Kind::Perf(_) => None,
        }
    }

    /// Makes the producer write about `n` SAMPLE records (64 bytes each for the driver).
    pub(super) fn produce(&self, n: usize, seq0: u64) {
        if let Kind::Perf(ev) = &self.kind {
            let _ = ev.enable();
            probe::touch_fresh_pages(n);
            let _ = ev.disable();
        } else {
            for i in 0..n as u64 {
                let _ = probe::write_from(self.fd(), sample(seq0 + i).as_ptr(), 64);
            }
        }
    }

    /// The driver's counters; `None` for perf.
    pub(super) fn stats(&self) -> Option<BufferStats> {
        self.device()?.stats().ok()
    }

    /// The driver's `PREMAP_IOC_PAGE_INFO` for page `pgoff` (memdesc word and reference count).
    pub(super) fn page_info(&self, pgoff: u32) -> Result<PageInfo, SourceError> {
        let dev = self.device().ok_or(SourceError::NoPageInfo)?;
        dev.page_info(pgoff)
            .map_err(|source| SourceError::PageInfo { pgoff, source })
    }

    /// A fresh consume-mode source with `data_pages` data pages and a writable mapping of all of it.
    pub(super) fn open_mapped(
        target: &Target,
        data_pages: u32,
    ) -> Result<(Source, Map), SourceError> {
        let src = Source::open(target, data_pages, false)?;
        let m = src
            .map(1 + data_pages as usize, true)
            .map_err(SourceError::Map)?;
        Ok((src, m))
    }

    /// Checks that each of the first `pages` pages has only the driver's reference (refcount 1); the
    /// error names the page and `when`.
    pub(super) fn refcounts_one(&self, pages: u32, when: &str) -> Result<(), SourceError> {
        for pgoff in 0..pages {
            let info = self.page_info(pgoff)?;
            if info.refcount != 1 {
                return Err(SourceError::Refcount {
                    pgoff,
                    refcount: info.refcount,
                    when: when.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// A shared mapping of the first `pages` pages.
    pub(super) fn map(&self, pages: usize, writable: bool) -> Result<Map, Errno> {
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        probe::map(self.fd(), pages * PAGE, prot, libc::MAP_SHARED, 0)
    }
}

/// A 64-byte SAMPLE record: IDENTIFIER, TID, TIME, PERIOD(=seq), then padding.
pub(super) fn sample(seq: u64) -> [u8; 64] {
    let mut r = [0u8; 64];
    r[..8].copy_from_slice(
        &EventHeader {
            r#type: RECORD_SAMPLE,
            misc: 2,
            size: 64,
        }
        .to_bytes(),
    );
    r[8..16].copy_from_slice(&1u64.to_ne_bytes());
    r[SEQ_AT..SEQ_AT + 8].copy_from_slice(&seq.to_ne_bytes());
    r
}
