//! premap: read perf-style ring buffers.
