//! Draining the rings into the file: every ring's bytes written straight from the mapping, a
//! FINISHED_ROUND at the end of each burst; overwrite mode reads the newest records once at the end.

use super::{write_error, Output, RecordError, Totals};
use premap::abi::header::{EventHeader, RECORD_FINISHED_ROUND};
use premap::{Error, Ring};
use premap_tools::perfdata::writer::Writer;

/// The FINISHED_ROUND record.
pub fn finished_round() -> [u8; 8] {
    EventHeader {
        r#type: RECORD_FINISHED_ROUND,
        misc: 0,
        size: 8,
    }
    .to_bytes()
}

/// One pass over every ring: writes what each holds straight from the mapping, then FINISHED_ROUND
/// at the end of a burst. Returns the most bytes one ring held.
pub fn drain_all(
    rings: &mut [Ring],
    writer: &mut Writer,
    totals: &mut Totals,
    path: &Output,
    burst_min: u64,
) -> Result<u64, RecordError> {
    let mut most = 0u64;
    let mut written = 0u64;
    for ring in rings.iter_mut() {
        match ring.write_to(writer.data_fd()) {
            Ok(s) => {
                writer.wrote(s.bytes);
                written += s.bytes;
                totals.records += s.records;
                totals.samples += s.samples;
                totals.lost += s.lost;
                most = most.max(s.bytes);
                if let Some(e) = s.corrupt {
                    let skipped = ring.discard().unwrap_or(0);
                    eprintln!("premap record: corrupt ring data skipped ({skipped} bytes): {e}");
                }
            }
            Err(Error::Write { written, source }) => {
                writer.wrote(written);
                return Err(write_error(path, source));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // A round marker at the end of a burst (no ring held `burst_min` bytes) or every 256 KiB: perf's
    // ordered-events queue is flushed at each; more markers would only cost write() calls.
    totals.since_round += written;
    if totals.since_round > 0 && (most < burst_min || totals.since_round >= 256 * 1024) {
        writer
            .write_records(&finished_round())
            .map_err(|e| write_error(path, e))?;
        totals.records += 1;
        totals.since_round = 0;
    }
    Ok(most)
}

/// Overwrite mode: the newest records of every ring, read once at the end.
pub fn read_newest(
    rings: &mut [Ring],
    writer: &mut Writer,
    totals: &mut Totals,
    path: &Output,
) -> Result<(), RecordError> {
    let mut buf = Vec::new();
    for ring in rings.iter_mut() {
        let mut batch = ring.newest()?;
        while let Some(r) = batch.next() {
            let Ok(r) = r else { break };
            totals.records += 1;
            if r.header.r#type == premap::abi::header::RECORD_SAMPLE {
                totals.samples += 1;
            }
            buf.extend_from_slice(r.bytes);
        }
    }
    buf.extend_from_slice(&finished_round());
    totals.records += 1;
    writer.write_records(&buf).map_err(|e| write_error(path, e))
}
