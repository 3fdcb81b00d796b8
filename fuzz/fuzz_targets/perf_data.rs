//! The perf.data reader behind `premap dump`: any bytes, file mode or pipe mode. It must return records
//! or an error (damage, or a stream cut inside a record) naming an offset inside the file, and rendering every record and decoding every feature
//! section must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use premap_perfdata::{PerfFile, ReadError};
use premap_perfdata::tracing::TraceFormats;
use premap_perfdata::render;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let file = match PerfFile::from_bytes(data.to_vec()) {
        Ok(f) => f,
        Err(ReadError::Corrupt { offset, .. } | ReadError::Truncated { offset, .. }) => {
            assert!(offset <= len);
            return;
        }
        Err(e) => panic!("unexpected error {e}"),
    };
    // Every feature section decodes to text or to nothing, whatever its counts say.
    let mut formats = None;
    for (bit, _, bytes) in &file.features {
        let _ = premap_perfdata::features::feature_text(*bit, bytes);
        if *bit == premap_abi::perf_file::HEADER_TRACING_DATA {
            formats = TraceFormats::parse(bytes).ok();
        }
    }
    // Records of a -z file live in the inflated data appended after the file's bytes.
    let len = file.buffer_len();
    assert!(len >= data.len() as u64);
    let attrs = file.attrs.clone();
    let mut fields = Vec::new();
    let mut out = Vec::new();
    let mut last = None;
    for rec in file.records() {
        let rec = match rec {
            Ok(r) => r,
            // Damage, or a stream cut inside a record (perf's clean end): the offset is in the file.
            Err(ReadError::Corrupt { offset, .. } | ReadError::Truncated { offset, .. }) => {
                assert!(offset <= len);
                break;
            }
            Err(e) => panic!("unexpected error {e}"),
        };
        assert!(rec.offset + u64::from(rec.header.size) <= len);
        if let Some(l) = last {
            assert!(rec.offset > l);
        }
        last = Some(rec.offset);
        let format = attrs.event_of(&rec.header, rec.body).map(|e| e.attr.sample_format()).unwrap_or_default();
        if let Ok(p) = rec.parse(&format) {
            fields.clear();
            render::fields(&p, &mut fields);
            // Tracepoint samples decode with the file's formats (a pipe's come in a record).
            if rec.header.r#type == premap_abi::header::RECORD_HEADER_TRACING_DATA {
                formats = TraceFormats::parse(rec.payload).ok().or(formats.take());
            }
            if let (premap_abi::records::RecordBody::Sample(s), Some(f)) = (&p.body, &formats) {
                if let Some(raw) = s.raw.and_then(|r| r.as_single()) {
                    if let Some(ev) = f.of_raw(raw) {
                        let _ = render::Trace::new(ev, raw);
                    }
                }
            }
            out.clear();
            render::text_line(&mut out, rec.offset, &rec.header, None, &fields);
            render::json_line(&mut out, rec.offset, &rec.header, None, &fields);
            // The fast sample path must agree with the full parse whenever it applies.
            if rec.header.r#type == premap_abi::header::RECORD_SAMPLE {
                let mut fast = Vec::new();
                if render::layout_sample_fields(format.sample_type, rec.body, &mut fast) {
                    assert_eq!(format!("{fast:?}"), format!("{fields:?}"));
                }
            }
        }
    }
});
