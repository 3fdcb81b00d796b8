//! premap-tools: the `premap` command line (record, dump, check, list) as a library, so that tests
//! and fuzz targets drive the same code. perf.data reading and writing is the `premap-perfdata`
//! crate; this crate is the commands around it.

pub mod check;
pub mod cli;
pub mod dump;
pub mod events;
pub mod list;
pub mod record;
mod synth;
