//! Writing a perf.data file (file mode) the way `perf record` lays it out:
//!
//! ```text
//! header (104) | ids of each event | attrs section | data section ... | feature table | features
//! ```
//!
//! The header is written last, when the data size and features are known; until then the file starts
//! with a zeroed header, so a crash leaves a file perf recognises as incomplete rather than a wrong one.

use super::features::{EventDesc, Facts};
use premap_abi::perf_file::*;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// A perf.data file being written.
#[derive(Debug)]
pub struct Writer {
    file: File,
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
        let mut file = File::create(path)?;
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
            events,
            attrs,
            data_offset,
            data_size: 0,
        })
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

    /// Writes the feature sections and the final header, and syncs the file.
    pub fn finish(mut self, facts: &Facts) -> io::Result<u64> {
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
        self.file.sync_all()?;
        Ok(at)
    }
}
