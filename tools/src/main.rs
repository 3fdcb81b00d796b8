//! `premap`: record perf events into a perf.data file that Linux `perf` reads, dump perf.data files,
//! and check a ring implementation (the premap driver's or the kernel's perf rings) against the
//! conformance list. The command line is [`premap_tools::cli`].

fn main() -> std::process::ExitCode {
    premap_tools::cli::run()
}
