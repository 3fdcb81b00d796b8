//! perf.data files, read and written as Linux `perf` reads and writes them.
//!
//! - [`PerfFile`] reads a whole file, file mode or pipe mode (`perf record -o -`), including
//!   `perf record -z` data, whose compressed records are inflated in place. Every offset and size is
//!   checked before use: a damaged file gives the records before the damage, then a [`ReadError`]
//!   naming the offset; a stream cut mid-record is [`ReadError::Truncated`], which perf treats as
//!   the end of the data.
//! - [`Writer`] writes a file-mode perf.data file as `perf record` does: attrs, ids, the data
//!   section, and the [`features`] sections.
//! - [`tool_records`] decodes the records the perf tool itself writes (`PERF_RECORD_HEADER_*`,
//!   `THREAD_MAP`, `CPU_MAP`, `EVENT_UPDATE`, ...); [`tracing`] reads tracepoint formats and prints
//!   tracepoint samples as `perf script` does; [`render`] turns any record into a text or JSON line.
//!
//! The records themselves (`PERF_RECORD_*` layouts and samples) are parsed by `premap-abi`, the same
//! code that reads a live ring.
//!
//! ```no_run
//! use premap_perfdata::PerfFile;
//!
//! # fn main() -> Result<(), premap_perfdata::ReadError> {
//! let file = PerfFile::open("perf.data".as_ref())?;
//! for rec in file.records() {
//!     let rec = rec?; // a damaged record ends the walk with its offset
//!     let Some(event) = file.attrs.event_of(&rec.header, rec.body) else { continue };
//!     let parsed = rec.parse(&event.attr.sample_format())?;
//!     println!("{:#x} {} {:?}", rec.offset, event.name, parsed.body);
//! }
//! # Ok(())
//! # }
//! ```

// The guide's examples (docs/perfdata.md) compile as doctests (only under `cargo test`: the published
// crate does not carry that file).
#[cfg(doctest)]
#[doc = include_str!("../../docs/perfdata.md")]
struct GuideExamples;

pub mod attrs;
mod compressed;
pub mod error;
pub mod features;
pub mod reader;
pub mod records;
pub mod render;
pub mod swap;
pub mod tool_records;
pub mod tracing;
pub mod writer;

pub use attrs::{default_name, Attrs, EventAttr};
pub use error::ReadError;
pub use reader::PerfFile;
pub use records::{FileRecord, Records};
pub use writer::Writer;
