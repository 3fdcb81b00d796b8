//! premap-tools as a library: the perf.data reader and writer and the record renderer behind the
//! `premap` binary, exposed so that fuzz targets and tests drive the same code.

pub mod dump;
pub mod features;
pub mod perfdata;
pub mod perfmem;
pub mod render;
pub mod tracefmt;
