//! premap: read perf-style ring buffers (the kernel's perf rings and the premap driver's) with zero
//! copies, the kernel's memory ordering, overwrite mode, and `write()` straight from the mapping.
//!
//! | module | holds |
//! |---|---|
//! | [`event`] | [`EventBuilder`]: typed `perf_event_open` |
//! | [`counts`] | [`Counts`]: counter and group reads as `read_format` says |
//! | [`ring`] | [`Ring`], [`Batch`] (consume mode), [`NewestBatch`] (overwrite mode), `write_to` |
//! | [`poll`] | [`Poller`]: epoll over many rings |
//! | [`percpu`] | [`CpuRings`]: an event and a ring on every CPU, read together or in time order |
//! | [`device`] | [`Device`]: the typed API of `/dev/premap` |
//! | [`workload`] | [`Workload`]: a command held before exec until its events are set up (perf's workload) |
//! | `async_ring` (feature `tokio`) | `AsyncRing`, `AsyncCpuRings`: the same from async code |
//! | [`synthetic`] | an in-memory ring with a kernel-protocol producer, for tests and benchmarks |
//! | `sys` (private) | every system call and raw pointer the library makes |
//!
//! # Reading a ring
//!
//! ```
//! use premap::synthetic::{synthetic_ring, sample_record};
//! use premap::Consume;
//!
//! // A synthetic ring behaves like a perf event's; with a real event use
//! // `EventBuilder::new(Event::PAGE_FAULTS).open()?.ring(8)?`.
//! let (mut producer, mut ring) = synthetic_ring::<Consume>(1, 0)?;
//! for seq in 0..10 {
//!     producer.write(&sample_record(64, seq));
//! }
//! let mut batch = ring.batch()?;
//! let mut seen = 0;
//! while let Some(record) = batch.next() {
//!     let record = record?;
//!     assert_eq!(record.header.size, 64);
//!     seen += 1;
//! }
//! drop(batch); // publishes data_tail
//! assert_eq!(seen, 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The README's and the library guide's examples compile as doctests (only under `cargo test`: the
// published crate does not carry those files).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
#[cfg(doctest)]
#[doc = include_str!("../../docs/library.md")]
struct LibraryGuideExamples;

#[cfg(feature = "tokio")]
pub mod async_ring;
pub mod counts;
pub mod device;
pub mod error;
pub mod event;
mod mode;
pub mod percpu;
pub mod poll;
pub mod ring;
mod sample_flags;
pub mod synthetic;
mod sys;
pub mod workload;

#[cfg(feature = "tokio")]
pub use async_ring::{AsyncCpuRings, AsyncRing};
pub use counts::Counts;
pub use device::Device;
pub use error::{Error, Result};
pub use event::{Event, EventBuilder, PerfEvent};
pub use percpu::{CpuLost, CpuRings};
pub use poll::{Poller, Readiness};
/// The shared ABI (premap-abi): control page, records, samples, ring geometry, the driver's ioctls;
/// documented here with the crate.
#[doc(inline)]
pub use premap_abi as abi;
pub use ring::{
    Batch, Consume, Mode, NewestBatch, Overwrite, Record, Ring, RingMode, RingStats, WriteSummary,
};
pub use sample_flags::SampleFlags;
pub use sys::{page_size, set_time_slice};
pub use workload::Workload;
