//! A tracepoint's format file (fields and `print fmt`, as perf stores them in TRACING_DATA) and a
//! sample's raw data, both hostile: compiling the format and printing the data must not panic, hang or
//! allocate without bound. Input: the format text, a NUL, then the raw data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use premap_perfdata::tracing::{self, parse_format};

fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let text = String::from_utf8_lossy(&data[..cut]);
    let raw = data.get(cut + 1..).unwrap_or_default();
    for long_size in [4, 8] {
        if let Some(ev) = parse_format("fuzz", &text, long_size) {
            let line = tracing::text(&ev, raw);
            // The printed line is bounded by the format and the data, not by what a count claims.
            assert!(line.len() <= 64 * (text.len() + raw.len()) + 4096);
            let _ = tracing::fields(&ev, raw);
            let _ = premap_perfdata::render::Trace::new(&ev, raw);
        }
    }
});
