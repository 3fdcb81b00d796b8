//! perf's compressed data (`perf record -z`): PERF_RECORD_COMPRESSED (payload: the rest of the
//! record, unpadded) and PERF_RECORD_COMPRESSED2 (a u64 data size, then the payload, padded to 8)
//! carry one zstd stream across the whole data section, each record flushed at a record boundary or
//! in the middle of one. [`inflate`] rebuilds the data section with the records they hold, so that
//! every reader sees plain records.

use crate::error::{corrupt, ReadError};
use crate::records::Records;
use premap_abi::header::{RECORD_COMPRESSED, RECORD_COMPRESSED2};
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

/// The most one compressed record may inflate to (perf's own records come from rings of at most a
/// few MiB); a larger claim is a corrupt or hostile file, not a reason to exhaust memory.
const MAX_RECORD_OUT: usize = 256 << 20;
/// The most a whole file may inflate to.
const MAX_TOTAL_OUT: usize = 4 << 30;

/// The data section with every compressed record replaced by the records it holds, and the ranges
/// of it that came out of compressed records (runs of whole records: perf flushes its compressor at
/// a record boundary before any plain record); `None` when the section has no compressed record. A
/// frame that does not decode is an error naming its record's offset, never silent zeros.
pub type Inflated = (Vec<u8>, Vec<std::ops::Range<usize>>);

/// See [`Inflated`].
pub fn inflate(records: Records<'_>, bytes: &[u8]) -> Result<Option<Inflated>, ReadError> {
    let mut out: Option<Vec<u8>> = None;
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    let mut dec: Option<Decoder<'static>> = None;
    let mut plain_from = None;
    let mut buf = vec![0u8; 1 << 20];
    // Up to the first damaged record (the caller reports it).
    for r in records.map_while(Result::ok) {
        let start = r.offset as usize;
        let end = start + 8 + r.body.len() + r.payload.len();
        let payload = match r.header.r#type {
            RECORD_COMPRESSED => r.body,
            RECORD_COMPRESSED2 => {
                let size = r
                    .body
                    .get(..8)
                    .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])));
                match size
                    .and_then(|n| r.body.get(8..8usize.checked_add(usize::try_from(n).ok()?)?))
                {
                    Some(p) => p,
                    None => {
                        return Err(corrupt(
                            r.offset,
                            "COMPRESSED2 data size runs past its record",
                        ))
                    }
                }
            }
            _ => {
                if let Some(o) = out.as_mut() {
                    o.extend_from_slice(&bytes[start..end]);
                } else if plain_from.is_none() {
                    plain_from = Some(start);
                }
                continue;
            }
        };
        let o = out.get_or_insert_with(|| {
            // The plain records before the first compressed one, as they were.
            plain_from.map_or_else(Vec::new, |from| bytes[from..start].to_vec())
        });
        let d = match dec.as_mut() {
            Some(d) => d,
            None => {
                dec.insert(Decoder::new().map_err(|e| corrupt(r.offset, format!("zstd: {e}")))?)
            }
        };
        let mut input = InBuffer::around(payload);
        let mut produced = 0usize;
        loop {
            let mut output = OutBuffer::around(&mut buf[..]);
            let hint = d
                .run(&mut input, &mut output)
                .map_err(|e| corrupt(r.offset, format!("compressed data does not decode: {e}")))?;
            let n = output.pos();
            produced += n;
            if produced > MAX_RECORD_OUT || o.len() + n > MAX_TOTAL_OUT {
                return Err(corrupt(
                    r.offset,
                    "compressed record inflates past any ring's size",
                ));
            }
            match runs.last_mut() {
                Some(r) if r.end == o.len() => r.end += n,
                _ => runs.push(o.len()..o.len() + n),
            }
            o.extend_from_slice(&buf[..n]);
            if input.pos == payload.len() && (n < buf.len() || hint == 0) {
                break;
            }
        }
    }
    Ok(out.map(|o| (o, runs)))
}
