//! Reading perf.data files in file mode and pipe mode. Every offset and size in the file is checked
//! before use; a bad one becomes a [`ReadError::Corrupt`] naming the file offset.

use crate::attrs::Attrs;
use crate::error::{corrupt, ReadError};
use crate::records::{read_string, word_at_byte, Records};
use premap_abi::header::*;
use premap_abi::perf_file::*;
use premap_abi::raw::{Cursor, RawData};
use premap_abi::ParseError;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A whole perf.data file in memory.
#[derive(Debug)]
pub struct PerfFile {
    bytes: Vec<u8>,
    /// The file-mode header (`None` in pipe mode).
    pub header: Option<FileHeader>,
    /// The events (in pipe mode, filled while reading the records).
    pub attrs: Attrs,
    /// Feature sections found: `(bit, file offset, bytes)`.
    pub features: Vec<(u32, u64, Vec<u8>)>,
    /// The records that held others (COMPRESSED, COMPRESSED2) by type, counted before their contents
    /// took their place in [`PerfFile::records`].
    pub containers: BTreeMap<u32, u64>,
    /// What perf would warn about while opening the file (a data size of 0 left by a recording that
    /// was not finished, a data section cut by the end of the file), in perf's words where it has them.
    pub warnings: Vec<String>,
    /// Damage outside the data section (a feature table cut off or out of bounds): the records are
    /// read and printed, then this is the error.
    pub damage: Option<ReadError>,
    /// The file was written by a machine of the other byte order; it was swapped to this machine's
    /// order on reading (see the `swap` module), as perf swaps such files.
    pub byte_swapped: bool,
    data: (usize, usize),
    /// For a byte-swapped file: its events, to swap the contents of compressed records once inflated.
    swap_attrs: Option<Attrs>,
}

/// The reader's warning for the parts of a file of the other byte order left as they were written.
fn left_as_written(left: &[String]) -> Option<String> {
    (!left.is_empty()).then(|| {
        format!(
            "the file is of the other byte order; left as written (their layout is unknown here): {}",
            left.join(", ")
        )
    })
}

impl PerfFile {
    /// Reads a file (`-` for standard input).
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        let mut bytes = Vec::new();
        if path.as_os_str() == "-" {
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(ReadError::Io)?;
        } else {
            bytes = std::fs::read(path).map_err(ReadError::Io)?;
        }
        Self::from_bytes(bytes)
    }

    /// Parses a file held in memory.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Self, ReadError> {
        let len = bytes.len() as u64;
        let mut warnings = Vec::new();
        let mut swap_attrs = None;
        if crate::swap::is_other_order(&bytes) {
            let (attrs, left) = crate::swap::to_native(&mut bytes)?;
            warnings.extend(left_as_written(&left));
            swap_attrs = Some(attrs);
        }
        let byte_swapped = swap_attrs.is_some();
        let kind = match parse_file_start(&bytes, len) {
            Ok(k) => k,
            Err(e) => match parse_file_start(&bytes, u64::MAX) {
                // Only the sections' ends lie past the end of the file: a file cut short. What is
                // there is read, as perf reads a stream cut at its end.
                Ok(FileKind::File(h))
                    if h.data.offset <= len
                        && h.attrs
                            .offset
                            .checked_add(h.attrs.size)
                            .is_some_and(|e| e <= len) =>
                {
                    warnings.push(format!(
                        "the file is cut short: its data section ends at {:#x}, the file at {len:#x}; \
                         reading what is there",
                        h.data.offset.saturating_add(h.data.size)
                    ));
                    FileKind::File(h)
                }
                _ => return Err(corrupt(0, e)),
            },
        };
        let FileKind::File(header) = kind else {
            let start = PIPE_HEADER_SIZE as usize;
            let n = bytes.len();
            let mut file = Self {
                bytes,
                header: None,
                attrs: Attrs::default(),
                features: Vec::new(),
                containers: BTreeMap::new(),
                warnings,
                damage: None,
                byte_swapped,
                data: (start, n),
                swap_attrs,
            };
            file.inflate()?;
            return Ok(file);
        };
        let mut attrs = Attrs::default();
        let entry = header.attr_size as usize;
        for i in 0..header.attr_count() {
            let off = header.attrs.offset + i * header.attr_size;
            let e = bytes
                .get(off as usize..off as usize + entry)
                .ok_or_else(|| corrupt(off, "attr past end"))?;
            let fa = parse_file_attr(e).map_err(|err| corrupt(off, err))?;
            let end = fa
                .ids
                .checked_end(len, "ids section past the end of the file")
                .map_err(|err| corrupt(off, err))?;
            if fa.ids.size % 8 != 0 {
                return Err(corrupt(off, "ids section is not a whole number of ids"));
            }
            let ids = bytes
                .get(fa.ids.offset as usize..end as usize)
                .unwrap_or(&[])
                .chunks_exact(8)
                .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
                .collect();
            attrs.push(fa.attr, ids);
        }
        let mut data_end = header.data.offset.saturating_add(header.data.size);
        let mut features = Vec::new();
        let nfeat = header.features().count() as u64;
        let whole = warnings.is_empty();
        if header.data.size == 0 && len > header.data.offset {
            // perf record rewrites the header when it finishes; killed, it leaves a data size of 0.
            warnings.push(
                "the file's data size field is 0 which is unexpected; was the 'perf record' command \
                 properly terminated? Reading the data up to the end of the file"
                    .to_string(),
            );
            data_end = len;
        }
        let table_fits = data_end.checked_add(16 * nfeat).is_some_and(|e| e <= len);
        let mut damage = None;
        if !table_fits && whole && header.data.size != 0 {
            damage = Some(corrupt(
                data_end,
                format!("feature table of {nfeat} sections runs past the end of the file"),
            ));
        }
        let data_end = data_end.min(len);
        for (i, bit) in header.features().enumerate().filter(|_| table_fits) {
            let at = data_end + 16 * i as u64;
            let sec = FileSection {
                offset: word_at_byte(&bytes, at as usize).unwrap_or(0),
                size: word_at_byte(&bytes, at as usize + 8).unwrap_or(0),
            };
            match sec.checked_end(len, "feature section past the end of the file") {
                Ok(end) => features.push((
                    bit,
                    sec.offset,
                    bytes[sec.offset as usize..end as usize].to_vec(),
                )),
                // perf skips features it does not know; so does premap, whatever their section says.
                Err(_) if feature_name(bit) == "UNKNOWN" => {}
                Err(e) => {
                    // Read on without it; the records are printed, then this is the error.
                    damage.get_or_insert_with(|| {
                        corrupt(at, format!("{} ({})", e, feature_name(bit)))
                    });
                }
            }
        }
        let mut file = Self {
            data: (header.data.offset as usize, data_end as usize),
            bytes,
            header: Some(header),
            attrs,
            features,
            containers: BTreeMap::new(),
            warnings,
            damage,
            byte_swapped,
            swap_attrs,
        };
        file.apply_event_desc()?;
        file.inflate()?;
        Ok(file)
    }

    /// The bytes records and error offsets refer to: the file's, plus the inflated data of `perf
    /// record -z` files appended after them (whose records have offsets past the file's end).
    pub fn buffer_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// `perf record -z` data: the compressed records' contents take their place (appended after the
    /// file's bytes; the records' offsets are then positions in the inflated data, past the file's end).
    fn inflate(&mut self) -> Result<(), ReadError> {
        let mut containers = BTreeMap::new();
        // Up to the first damaged record: the reader reports it in its place, after the records
        // before it.
        for r in self.records().map_while(Result::ok) {
            let ty = r.header.r#type;
            if ty == RECORD_COMPRESSED || ty == RECORD_COMPRESSED2 {
                *containers.entry(ty).or_default() += 1;
            }
        }
        self.containers = containers;
        if self.containers.is_empty() {
            return Ok(());
        }
        if let Some(Err(e)) = self.records().find(Result::is_err) {
            // The inflated stream replaces the data section: say where the original one broke off.
            self.warnings
                .push(format!("the compressed data section breaks off: {e}"));
        }
        if let Some((mut data, runs)) = crate::compressed::inflate(self.records(), &self.bytes)? {
            if let Some(attrs) = self.swap_attrs.as_mut() {
                // The compressed records' contents are in the file's byte order still.
                for run in runs {
                    let left = crate::swap::swap_stream(&mut data[run], attrs);
                    self.warnings.extend(left_as_written(&left));
                }
            }
            let start = self.bytes.len();
            self.bytes.extend_from_slice(&data);
            self.data = (start, self.bytes.len());
        }
        Ok(())
    }

    /// Names events from the EVENT_DESC feature, when present.
    fn apply_event_desc(&mut self) -> Result<(), ReadError> {
        let Some((_, off, bytes)) = self.features.iter().find(|(b, ..)| *b == HEADER_EVENT_DESC)
        else {
            return Ok(());
        };
        let off = *off;
        let bad = |e: ParseError| corrupt(off, format!("EVENT_DESC: {e}"));
        let mut c = Cursor::new(RawData::Single(bytes));
        let nr = c.read_u32("event_desc.nr").map_err(bad)?;
        let attr_size = c.read_u32("event_desc.attr_size").map_err(bad)?;
        for i in 0..nr {
            c.skip(attr_size as usize, "event_desc.attr").map_err(bad)?;
            let nr_ids = c.read_u32("event_desc.nr_ids").map_err(bad)?;
            let name = read_string(&mut c).map_err(bad)?;
            c.take_array(u64::from(nr_ids), 8, "event_desc.ids")
                .map_err(bad)?;
            if let Some(e) = self.attrs.events.get_mut(i as usize) {
                e.name = name;
            }
        }
        Ok(())
    }

    /// Whether the file is in pipe mode.
    pub fn is_pipe(&self) -> bool {
        self.header.is_none()
    }

    /// The records of the data section, in file order.
    pub fn records(&self) -> Records<'_> {
        Records {
            bytes: &self.bytes,
            pos: self.data.0,
            end: self.data.1,
            // A record cut by the end of a stream (a pipe, or a data section that the end of the file
            // cuts) is perf's clean end; one cut by the end of a whole data section is damage.
            cut_is_end: self.header.is_none() || self.data.1 == self.bytes.len(),
            failed: false,
        }
    }
}
