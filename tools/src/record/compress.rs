//! `-z`: the data as perf's PERF_RECORD_COMPRESSED records (perf's zstd_compress_stream_to_records):
//! one zstd stream for the whole recording, flushed at the end of each chunk of whole records, cut into
//! records of at most 64 KiB; each chunk decompresses to at most half the size announced in the
//! COMPRESSED feature, so that perf's decompression buffer holds it with a partial record left over.

use premap::abi::header::{EventHeader, RECORD_COMPRESSED};
use zstd::stream::raw::{Encoder, InBuffer, Operation, OutBuffer};

/// The largest compressed payload one record carries (its size field is 16 bits). As perf writes
/// them, COMPRESSED records are not padded to 8 bytes: trailing zeros would be read as zstd data.
const MAX_PAYLOAD: usize = 65535 - 8;

/// A zstd stream turning chunks of records into COMPRESSED records.
pub struct Compressor {
    enc: Encoder<'static>,
    /// The most input bytes compressed between two flushes.
    chunk: usize,
    /// Bytes in and out, for the ratio in the feature.
    pub bytes_in: u64,
    /// Compressed bytes written.
    pub bytes_out: u64,
}

impl Compressor {
    /// A stream at zstd `level`, for a recording whose rings are `mmap_len` bytes.
    pub fn new(level: i32, mmap_len: usize) -> std::io::Result<Self> {
        Ok(Self {
            enc: Encoder::new(level)?,
            chunk: (mmap_len / 2).max(4096),
            bytes_in: 0,
            bytes_out: 0,
        })
    }

    /// COMPRESSED records for `data` (whole records), appended to `out`.
    pub fn compress(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        while !data.is_empty() {
            // A chunk ends on a record boundary (a record larger than the chunk goes whole).
            let mut take = 0usize;
            for r in premap::abi::ring::RecordIter::new(premap::abi::RawData::Single(data)) {
                let Ok(r) = r else { break };
                let size = usize::from(r.header.size);
                if take > 0 && take + size > self.chunk {
                    break;
                }
                take += size;
            }
            if take == 0 {
                take = data.len(); // not records (cannot happen for ring data): compress as is
            }
            let (now, rest) = data.split_at(take);
            self.chunk_records(now, out)?;
            data = rest;
        }
        Ok(())
    }

    fn chunk_records(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        let mut input = InBuffer::around(chunk);
        let mut buf = vec![0u8; MAX_PAYLOAD];
        loop {
            let mut output = OutBuffer::around(&mut buf[..]);
            while input.pos < chunk.len() && output.pos() < MAX_PAYLOAD {
                self.enc.run(&mut input, &mut output)?;
            }
            let remaining = if input.pos == chunk.len() {
                self.enc.flush(&mut output)?
            } else {
                1
            };
            let n = output.pos();
            if n > 0 {
                let size = 8 + n;
                out.extend_from_slice(
                    &EventHeader {
                        r#type: RECORD_COMPRESSED,
                        misc: 0,
                        size: size as u16,
                    }
                    .to_bytes(),
                );
                out.extend_from_slice(&buf[..n]);
                self.bytes_out += size as u64;
            }
            if input.pos == chunk.len() && remaining == 0 {
                break;
            }
        }
        self.bytes_in += chunk.len() as u64;
        Ok(())
    }

    /// The COMPRESSED feature with this stream's ratio.
    pub fn feature(&self, level: u32, mmap_len: u32) -> Vec<u8> {
        let ratio = (self.bytes_in / self.bytes_out.max(1)).clamp(1, u64::from(u32::MAX)) as u32;
        feature(level, ratio, mmap_len)
    }
}

/// The COMPRESSED feature: version 0, type 1 (zstd), level, ratio, mmap length.
pub fn feature(level: u32, ratio: u32, mmap_len: u32) -> Vec<u8> {
    [0u32, 1, level, ratio, mmap_len]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_records_decompress_to_the_input_in_one_stream() {
        let mut data = Vec::new();
        for i in 0..5000u64 {
            data.extend_from_slice(
                &EventHeader {
                    r#type: 9,
                    misc: 2,
                    size: 24,
                }
                .to_bytes(),
            );
            data.extend_from_slice(&i.to_ne_bytes());
            data.extend_from_slice(&(i * 7).to_ne_bytes());
        }
        let mut c = Compressor::new(1, 16384).unwrap();
        let mut out = Vec::new();
        c.compress(&data[..60_000], &mut out).unwrap();
        c.compress(&data[60_000..], &mut out).unwrap();
        let mut dec = zstd::stream::raw::Decoder::new().unwrap();
        let mut back = Vec::new();
        let mut n = 0;
        let mut at = 0;
        while at < out.len() {
            let h = EventHeader::from_bytes(out[at..at + 8].try_into().unwrap());
            assert_eq!(h.r#type, RECORD_COMPRESSED);
            let payload = &out[at + 8..at + usize::from(h.size)];
            at += usize::from(h.size);
            let mut buf = vec![0u8; 1 << 20];
            let mut input = InBuffer::around(payload);
            let mut output = OutBuffer::around(&mut buf[..]);
            while input.pos < payload.len() {
                zstd::stream::raw::Operation::run(&mut dec, &mut input, &mut output).unwrap();
            }
            let got = output.pos();
            assert!(got <= 16384, "a record decompressed to {got} bytes");
            back.extend_from_slice(&buf[..got]);
            n += 1;
        }
        assert!(n > 1);
        assert_eq!(back, data);
        assert!(
            c.bytes_out * 3 < c.bytes_in,
            "{} -> {}",
            c.bytes_in,
            c.bytes_out
        );
    }
}
