//! Draining the rings into the file: every ring's bytes written straight from the mapping, a
//! FINISHED_ROUND at the end of each burst; overwrite mode reads the newest records once at the end.

use super::{write_error, Output, RecordError, Totals};
use premap::abi::header::{EventHeader, RECORD_FINISHED_ROUND};
use premap::{Error, Overwrite, Ring};
use premap_perfdata::writer::Writer;
use std::os::fd::BorrowedFd;

/// One slot's ring, in the mode the recording chose (`--overwrite`): the type of each says which reads
/// it has.
#[derive(Debug)]
pub enum SlotRing {
    /// Consume mode: drained while recording.
    Consume(Ring),
    /// Overwrite mode: the newest records, read once at the end.
    Overwrite(Ring<Overwrite>),
}

impl SlotRing {
    /// The descriptor to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            SlotRing::Consume(r) => r.fd(),
            SlotRing::Overwrite(r) => r.fd(),
        }
    }

    fn consume(&mut self) -> Option<&mut Ring> {
        match self {
            SlotRing::Consume(r) => Some(r),
            SlotRing::Overwrite(_) => None,
        }
    }

    fn overwrite(&mut self) -> Option<&mut Ring<Overwrite>> {
        match self {
            SlotRing::Consume(_) => None,
            SlotRing::Overwrite(r) => Some(r),
        }
    }
}

/// `-z`: the compressor, and the scan for build ids and sample times that the data, compressed, can
/// no longer be read back for.
pub struct Zstd<'m> {
    /// The zstd stream.
    pub comp: super::compress::Compressor,
    /// What the samples hit.
    pub scan: super::buildid::Scanner<'m>,
    records: Vec<u8>,
    out: Vec<u8>,
}

impl<'m> Zstd<'m> {
    /// Compression with `comp`, scanning with `scan`.
    pub fn new(comp: super::compress::Compressor, scan: super::buildid::Scanner<'m>) -> Self {
        Self {
            comp,
            scan,
            records: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Ends the stream of one file: its COMPRESSED feature and what its samples hit.
    pub fn close(self, opts: &super::Options, mmap_len: usize) -> (Vec<u8>, super::buildid::Hits) {
        let feature = self
            .comp
            .feature(opts.compress.unwrap_or(1), mmap_len as u32);
        (feature, self.scan.finish())
    }

    /// Copies a ring's records out (it cannot be written from the mapping: it is compressed first),
    /// compresses them and writes COMPRESSED records. Returns the ring bytes taken.
    fn drain_ring(
        &mut self,
        ring: &mut Ring,
        writer: &mut Writer,
        totals: &mut Totals,
        path: &Output,
    ) -> Result<u64, RecordError> {
        self.records.clear();
        let records = &mut self.records;
        let r = ring.drain(|r| {
            records.extend_from_slice(r.bytes);
            totals.records += 1;
            match r.header.r#type {
                premap::abi::header::RECORD_SAMPLE => totals.samples += 1,
                premap::abi::header::RECORD_LOST => {
                    totals.lost += r
                        .bytes
                        .get(16..24)
                        .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
                }
                _ => {}
            }
        });
        if let Err(e) = r {
            let skipped = ring.discard().unwrap_or(0);
            eprintln!("premap record: corrupt ring data skipped ({skipped} bytes): {e}");
        }
        self.compress_out(writer, path)
    }

    fn compress_out(&mut self, writer: &mut Writer, path: &Output) -> Result<u64, RecordError> {
        if self.records.is_empty() {
            return Ok(0);
        }
        self.scan.feed(&self.records);
        self.out.clear();
        self.comp
            .compress(&self.records, &mut self.out)
            .map_err(RecordError::Compress)?;
        writer
            .write_records(&self.out)
            .map_err(|e| write_error(path, e))?;
        Ok(self.records.len() as u64)
    }
}

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
    rings: &mut [SlotRing],
    writer: &mut Writer,
    totals: &mut Totals,
    path: &Output,
    burst_min: u64,
    mut z: Option<&mut Zstd<'_>>,
) -> Result<u64, RecordError> {
    let mut most = 0u64;
    let mut written = 0u64;
    for ring in rings.iter_mut().filter_map(SlotRing::consume) {
        if let Some(z) = z.as_deref_mut() {
            let n = z.drain_ring(ring, writer, totals, path)?;
            written += n;
            most = most.max(n);
            continue;
        }
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

/// Everything the rings still hold, at the end of a file: until they are empty (consume mode), or the
/// newest records (overwrite mode).
pub fn drain_rest(
    rings: &mut [SlotRing],
    writer: &mut Writer,
    totals: &mut Totals,
    opts: &super::Options,
    mut z: Option<&mut Zstd<'_>>,
) -> Result<(), RecordError> {
    if opts.overwrite {
        return read_newest(rings, writer, totals, &opts.output, z);
    }
    while drain_all(rings, writer, totals, &opts.output, 1, z.as_deref_mut())? > 0 {}
    Ok(())
}

/// Overwrite mode: the newest records of every ring, read once at the end.
pub fn read_newest(
    rings: &mut [SlotRing],
    writer: &mut Writer,
    totals: &mut Totals,
    path: &Output,
    z: Option<&mut Zstd<'_>>,
) -> Result<(), RecordError> {
    let mut buf = Vec::new();
    for ring in rings.iter_mut().filter_map(SlotRing::overwrite) {
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
    if let Some(z) = z {
        z.records = buf;
        z.compress_out(writer, path)?;
        buf = Vec::new();
    }
    buf.extend_from_slice(&finished_round());
    totals.records += 1;
    writer.write_records(&buf).map_err(|e| write_error(path, e))
}
