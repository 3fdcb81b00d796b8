//! premap-abi: the one definition of every byte that the premap driver, the kernel's perf rings and
//! user space share.
//!
//! The crate is `#![no_std]` and allocation-free. With default features off it uses no external crate at
//! all, because the kernel module compiles these very source files with kbuild; with the default
//! `zerocopy` feature every wire type also derives zerocopy 0.8's `FromBytes`, `IntoBytes`, `KnownLayout`
//! and `Immutable`. Every layout is pinned by `const` assertions that run in every build, the kernel's
//! included.
//!
//! | module | holds |
//! |---|---|
//! | [`control`] | `perf_event_mmap_page` (the control page) and atomic access to the positions in it |
//! | [`header`] | `perf_event_header`, the record type numbers and the `misc` bits |
//! | [`attr`] | `perf_event_attr`, its size versions, sample and read-format bits |
//! | [`raw`] | [`raw::RawData`], a byte view that may be split at the ring's end, and its cursor |
//! | [`records`] | typed, borrowed views of every record body and the `sample_id` trailer |
//! | [`sample`] | the `PERF_RECORD_SAMPLE` parser, in the order of perf's `evsel__parse_sample` |
//! | [`regs`] | the register bits of sampled registers and their names, per architecture |
//! | [`produce`] | the producer side of the protocol, over any data area, and validation of user records |
//! | [`ring`] | ring geometry, free-running positions and record iteration across the wrap |
//! | [`memdesc`] | the page-type memdesc of every page of a mapping |
//! | [`perf_file`] | the perf.data file header, sections and feature ids |
//! | [`ioctl`] | the `_IOC` encoding, perf's ioctls and the premap driver's user ABI |
//! | [`error`] | the typed errors every parser returns |
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod attr;
pub mod branch;
pub mod control;
pub mod data_src;
pub mod error;
pub mod header;
pub mod ioctl;
pub mod memdesc;
pub mod perf_file;
pub mod produce;
pub mod raw;
pub mod records;
pub mod regs;
pub mod ring;
pub mod sample;
pub mod uapi;

pub use error::ParseError;
pub use header::EventHeader;
pub use raw::RawData;

#[cfg(test)]
extern crate std;
