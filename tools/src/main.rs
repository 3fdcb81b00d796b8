//! `premap`: record, dump and check perf-style rings.
fn main() {}
