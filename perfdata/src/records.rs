//! The records of a data section, one [`FileRecord`] at a time, each checked against the section's
//! end before it is handed out.

use crate::error::{corrupt, truncated, ReadError};
use premap_abi::header::*;
use premap_abi::raw::{Cursor, RawData};
use premap_abi::records::ParsedRecord;
use premap_abi::sample::SampleFormat;
use premap_abi::{EventHeader, ParseError};

/// One record of the data section.
#[derive(Clone, Copy, Debug)]
pub struct FileRecord<'a> {
    /// File offset of the record.
    pub offset: u64,
    /// Its header.
    pub header: EventHeader,
    /// The body after the header.
    pub body: &'a [u8],
    /// Bytes that follow the record as its payload (AUXTRACE data, TRACING_DATA).
    pub payload: &'a [u8],
}

/// Reads a feature-section string (u32 length, bytes, NUL padding).
pub fn read_string(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    let len = c.read_u32("string.len")?;
    let s = c.take_array(u64::from(len), 1, "string")?;
    let bytes: Vec<u8> = s.until_nul().bytes().collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Iterator over a data section's records.
#[derive(Debug)]
pub struct Records<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) end: usize,
    pub(crate) cut_is_end: bool,
    pub(crate) failed: bool,
}

impl<'a> Records<'a> {
    /// A record cut by the end of the data: the end of the stream, or damage (see `cut_is_end`).
    fn cut(&self, offset: u64, what: String) -> ReadError {
        if self.cut_is_end {
            truncated(offset, what)
        } else {
            corrupt(
                offset,
                format!("{what}: it runs past the end of the data section"),
            )
        }
    }

    fn next_record(&mut self) -> Result<Option<FileRecord<'a>>, ReadError> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let offset = self.pos as u64;
        let left = self.end - self.pos;
        let h: [u8; 8] = self
            .bytes
            .get(self.pos..self.pos + 8)
            .filter(|_| left >= 8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| self.cut(offset, format!("{left} bytes of a record header")))?;
        let header = EventHeader::from_bytes(h);
        // The kernel's records are 8-byte aligned; some of the perf tool's (EVENT_UPDATE, FEATURE in
        // pipe mode) are not, and perf reads them as they are.
        let size = match header.check_size() {
            Err(ParseError::SizeUnaligned { size }) if header.r#type >= RECORD_USER_TYPE_START => {
                usize::from(size)
            }
            other => other.map_err(|e| corrupt(offset, e))?,
        };
        if size > left {
            return Err(self.cut(offset, format!("a record of {size} bytes with {left} left")));
        }
        let body = &self.bytes[self.pos + 8..self.pos + size];
        // Two perf-tool records carry payload after themselves.
        let extra = match header.r#type {
            RECORD_AUXTRACE => word_at_byte(body, 0).unwrap_or(0),
            RECORD_HEADER_TRACING_DATA => u64::from(u32::from_ne_bytes(
                body.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 4]),
            )),
            _ => 0,
        };
        // simpleperf's TRACING_DATA carries its data inside the record (the header's size counts it:
        // u32 size, then the data), where perf's is followed by it; linux-perf-data reads both.
        if header.r#type == RECORD_HEADER_TRACING_DATA
            && extra > 0
            && (body.len() as u64) >= 4 + extra
            && body.len() > 8
        {
            self.pos += size;
            return Ok(Some(FileRecord {
                offset,
                header,
                body,
                payload: &body[4..4 + extra as usize],
            }));
        }
        let after = self.pos + size;
        if extra > (self.end - after) as u64 {
            return Err(self.cut(
                offset,
                format!(
                    "a record payload of {extra} bytes with {} left",
                    self.end - after
                ),
            ));
        }
        let payload = &self.bytes[after..after + extra as usize];
        self.pos = after + extra as usize;
        Ok(Some(FileRecord {
            offset,
            header,
            body,
            payload,
        }))
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<FileRecord<'a>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_record() {
            Ok(r) => r.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl<'a> FileRecord<'a> {
    /// Parses the record with the format of its event ([`ParsedRecord::parse`]); an error names the
    /// record's file offset.
    pub fn parse(&self, format: &SampleFormat) -> Result<ParsedRecord<'a>, ReadError> {
        ParsedRecord::parse(self.header, RawData::Single(self.body), format)
            .map_err(|e| corrupt(self.offset, e))
    }
}

pub(crate) fn word_at(body: &[u8], idx: usize) -> Option<u64> {
    word_at_byte(body, idx.checked_mul(8)?)
}

pub(crate) fn word_at_byte(body: &[u8], off: usize) -> Option<u64> {
    let b = body.get(off..off.checked_add(8)?)?;
    Some(u64::from_ne_bytes(b.try_into().ok()?))
}
