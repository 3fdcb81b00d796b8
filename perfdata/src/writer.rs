//! Writing a perf.data file (file mode) the way `perf record` lays it out:
//!
//! ```text
//! header (104) | ids of each event | attrs section | data section ... | feature table | features
//! ```
//!
//! The header is written last, when the data size and features are known; until then the file starts
//! with a zeroed header, so a crash leaves a file perf recognises as incomplete rather than a wrong one.
//! The file is created mode 0600, as perf's.
//!
//! Pipe mode (`-o -`, perf's `perf record -o -`): a 16-byte header, the attrs as HEADER_ATTR records,
//! the machine's features as HEADER_FEATURE records, FINISHED_INIT, then the data records.

use crate::features::{EventDesc, Facts};
use premap_abi::perf_file::*;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// A perf.data file being written.
#[derive(Debug)]
pub struct Writer {
    file: File,
    pipe: bool,
    events: Vec<EventDesc>,
    attrs: FileSection,
    data_offset: u64,
    data_size: u64,
}

fn write_at_end(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)
}

impl Writer {
    /// Creates `path` and writes everything that precedes the data section.
    pub fn create(path: &Path, events: Vec<EventDesc>) -> io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        write_at_end(&mut file, &[0u8; FILE_HEADER_SIZE as usize])?;
        let mut pos = FILE_HEADER_SIZE;
        let mut id_sections = Vec::new();
        for e in &events {
            let bytes: Vec<u8> = e.ids.iter().flat_map(|id| id.to_ne_bytes()).collect();
            id_sections.push(FileSection {
                offset: pos,
                size: bytes.len() as u64,
            });
            write_at_end(&mut file, &bytes)?;
            pos += bytes.len() as u64;
        }
        let attr_size = u64::from(WRITE_ATTR_SIZE) + 16;
        let attrs = FileSection {
            offset: pos,
            size: attr_size * events.len() as u64,
        };
        for (e, ids) in events.iter().zip(&id_sections) {
            let mut attr = e.attr;
            attr.size = WRITE_ATTR_SIZE;
            let mut entry = attr.to_bytes()[..WRITE_ATTR_SIZE as usize].to_vec();
            entry.extend_from_slice(&ids.offset.to_ne_bytes());
            entry.extend_from_slice(&ids.size.to_ne_bytes());
            write_at_end(&mut file, &entry)?;
        }
        let data_offset = attrs.offset + attrs.size;
        Ok(Self {
            file,
            pipe: false,
            events,
            attrs,
            data_offset,
            data_size: 0,
        })
    }

    /// Starts a pipe-mode stream on `out` (standard output for `-o -`): header, attrs, the features
    /// known before recording (`facts`), FINISHED_INIT.
    pub fn create_pipe(out: File, events: Vec<EventDesc>, facts: &Facts) -> io::Result<Self> {
        use premap_abi::header::*;
        let mut w = Self {
            file: out,
            pipe: true,
            events,
            attrs: FileSection::default(),
            data_offset: 0,
            data_size: 0,
        };
        let mut b = Vec::new();
        b.extend_from_slice(&PERF_MAGIC2.to_ne_bytes());
        b.extend_from_slice(&PIPE_HEADER_SIZE.to_ne_bytes());
        let rec = |b: &mut Vec<u8>, ty: u32, body: &[u8]| -> io::Result<()> {
            let size = u16::try_from(8 + body.len()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a pipe-mode record over 64 KiB",
                )
            })?;
            b.extend_from_slice(
                &EventHeader {
                    r#type: ty,
                    misc: 0,
                    size,
                }
                .to_bytes(),
            );
            b.extend_from_slice(body);
            Ok(())
        };
        for e in &w.events {
            let mut attr = e.attr;
            attr.size = WRITE_ATTR_SIZE;
            let mut body = attr.to_bytes()[..WRITE_ATTR_SIZE as usize].to_vec();
            for id in &e.ids {
                body.extend_from_slice(&id.to_ne_bytes());
            }
            rec(&mut b, RECORD_HEADER_ATTR, &body)?;
        }
        // Each event's name as an EVENT_UPDATE (perf's pipe mode writes these too): readers that
        // skip the pipe's feature records, as perf does for a stream of the other byte order, still
        // name the events.
        for e in w.events.iter().filter(|e| !e.name.is_empty()) {
            let Some(id) = e.ids.first() else { continue };
            // type (PERF_EVENT_UPDATE__NAME), id, then the name NUL-padded to 8 bytes.
            let mut body = 2u64.to_ne_bytes().to_vec();
            body.extend_from_slice(&id.to_ne_bytes());
            body.extend_from_slice(e.name.as_bytes());
            body.resize((body.len() + 1).next_multiple_of(8), 0);
            rec(&mut b, RECORD_EVENT_UPDATE, &body)?;
        }
        for (bit, bytes) in facts.sections(&w.events, WRITE_ATTR_SIZE) {
            if bytes.len() > 60_000 {
                continue; // an oversized section cannot be one record
            }
            let mut body = u64::from(bit).to_ne_bytes().to_vec();
            body.extend_from_slice(&bytes);
            rec(&mut b, RECORD_HEADER_FEATURE, &body)?;
        }
        rec(&mut b, RECORD_FINISHED_INIT, &[])?;
        w.file.write_all(&b)?;
        Ok(w)
    }

    /// Whether this is a pipe-mode stream.
    pub fn is_pipe(&self) -> bool {
        self.pipe
    }

    /// Reads back the data written so far (file mode), for the passes perf makes at the end (build
    /// ids, sample times). `None` in pipe mode.
    pub fn read_data(&self) -> Option<io::Result<Vec<u8>>> {
        use std::os::unix::fs::FileExt;
        if self.pipe {
            return None;
        }
        let mut buf = vec![0u8; usize::try_from(self.data_size).ok()?];
        Some(
            self.file
                .read_exact_at(&mut buf, self.data_offset)
                .map(|_| buf),
        )
    }

    /// The descriptor that ring data is written to (with `Ring::write_to`); report what was written
    /// with [`Writer::wrote`].
    pub fn data_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Accounts for `n` bytes written to [`Writer::data_fd`].
    pub fn wrote(&mut self, n: u64) {
        self.data_size += n;
    }

    /// Appends records built in memory (synthesized events, FINISHED_ROUND).
    pub fn write_records(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.data_size += bytes.len() as u64;
        Ok(())
    }

    /// Bytes of data written so far.
    pub fn data_size(&self) -> u64 {
        self.data_size
    }

    /// Writes the feature sections and the final header (pipe mode: flushes). Like perf, it does not
    /// fsync: `--switch-output` closes files while the rings fill.
    pub fn finish(mut self, facts: &Facts) -> io::Result<u64> {
        if self.pipe {
            self.file.flush()?;
            return Ok(self.data_size);
        }
        let end = self.data_offset + self.data_size;
        self.file.seek(SeekFrom::Start(end))?;
        let sections = facts.sections(&self.events, WRITE_ATTR_SIZE);
        let mut header = FileHeader {
            magic: PERF_MAGIC2,
            size: FILE_HEADER_SIZE,
            attr_size: u64::from(WRITE_ATTR_SIZE) + 16,
            attrs: self.attrs,
            data: FileSection {
                offset: self.data_offset,
                size: self.data_size,
            },
            event_types: FileSection::default(),
            adds_features: [0; 4],
        };
        let table_len = 16 * sections.len() as u64;
        let mut table = Vec::new();
        let mut body = Vec::new();
        let mut at = end + table_len;
        for (bit, bytes) in &sections {
            header.set_feature(*bit);
            table.extend_from_slice(&at.to_ne_bytes());
            table.extend_from_slice(&(bytes.len() as u64).to_ne_bytes());
            body.extend_from_slice(bytes);
            at += bytes.len() as u64;
        }
        self.file.write_all(&table)?;
        self.file.write_all(&body)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&header.to_bytes())?;
        Ok(at)
    }
}
