//! Shared helpers of premap's benchmarks (see benches/ and BENCHMARKS.md).
