//! perf.data files: writing them as `perf record` does (file mode) and reading both modes.

pub mod compressed;
pub mod features;
pub mod reader;
pub mod tool_records;
pub mod tracing;
pub mod writer;
