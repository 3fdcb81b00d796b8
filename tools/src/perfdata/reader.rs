//! Reading perf.data files in file mode and pipe mode. Every offset and size in the file is checked
//! before use; a bad one becomes a [`ReadError::Corrupt`] naming the file offset.

use premap::event::Event;
use premap_abi::attr::*;
use premap_abi::header::*;
use premap_abi::perf_file::*;
use premap_abi::raw::{Cursor, RawData};
use premap_abi::records::{ParsedRecord, Record};
use premap_abi::sample::SampleFormat;
use premap_abi::{EventHeader, ParseError};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be read at all.
    Io(std::io::Error),
    /// The file's contents are invalid at `offset`.
    Corrupt {
        /// File offset of the problem.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The stream ends inside a record (a recording that was killed, a file cut short): perf's
    /// "unexpected end of event stream", which it treats as the end of the data.
    Truncated {
        /// File offset of the record that was cut.
        offset: u64,
        /// What is missing.
        what: String,
    },
}

impl ReadError {
    /// Whether this is a stream cut at its end, which perf reads as a clean end (everything before it
    /// is whole).
    pub fn is_truncation(&self) -> bool {
        matches!(self, ReadError::Truncated { .. })
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Corrupt { offset, what } => {
                write!(f, "corrupt perf.data at offset {offset:#x}: {what}")
            }
            ReadError::Truncated { offset, what } => {
                write!(
                    f,
                    "unexpected end of event stream at offset {offset:#x}: {what}"
                )
            }
        }
    }
}

impl std::error::Error for ReadError {}

fn truncated(offset: u64, what: impl fmt::Display) -> ReadError {
    ReadError::Truncated {
        offset,
        what: what.to_string(),
    }
}

fn corrupt(offset: u64, what: impl fmt::Display) -> ReadError {
    ReadError::Corrupt {
        offset,
        what: what.to_string(),
    }
}

/// One event of the file: its attr, ids and name.
#[derive(Clone, Debug)]
pub struct EventAttr {
    /// The attr.
    pub attr: PerfEventAttr,
    /// Its ids.
    pub ids: Vec<u64>,
    /// Its name (from EVENT_DESC, else derived from the attr).
    pub name: String,
}

/// The events of a file and the mapping from event id to event.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    /// The events in file order.
    pub events: Vec<EventAttr>,
    by_id: HashMap<u64, usize>,
}

/// perf's names for `PERF_COUNT_HW_*` (tools/perf/util/evsel.c, `evsel__hw_names`).
const HW_NAMES: [&str; 10] = [
    "cycles",
    "instructions",
    "cache-references",
    "cache-misses",
    "branches",
    "branch-misses",
    "bus-cycles",
    "stalled-cycles-frontend",
    "stalled-cycles-backend",
    "ref-cycles",
];

/// perf's names for `PERF_COUNT_SW_*` (`evsel__sw_names`).
const SW_NAMES: [&str; 12] = [
    "cpu-clock",
    "task-clock",
    "page-faults",
    "context-switches",
    "cpu-migrations",
    "minor-faults",
    "major-faults",
    "alignment-faults",
    "emulation-faults",
    "dummy",
    "bpf-output",
    "cgroup-switches",
];

/// The modifiers perf appends to a name it builds from the attr (`evsel__add_modifiers`): `k`/`u`/`h`
/// for the contexts counted when any is excluded, `p`s for precise_ip, and `H`/`G` for host/guest
/// when exclude_host is set or exclude_guest differs from what perf would default to.
fn perf_modifiers(attr: &PerfEventAttr) -> String {
    let mut m = String::new();
    let excl = |f| attr.has_flag(f);
    let mut guest_default = false;
    if excl(ATTR_FLAG_EXCLUDE_KERNEL) || excl(ATTR_FLAG_EXCLUDE_USER) || excl(ATTR_FLAG_EXCLUDE_HV)
    {
        for (f, c) in [
            (ATTR_FLAG_EXCLUDE_KERNEL, 'k'),
            (ATTR_FLAG_EXCLUDE_USER, 'u'),
            (ATTR_FLAG_EXCLUDE_HV, 'h'),
        ] {
            if !excl(f) {
                m.push(c);
            }
        }
        guest_default = true;
    }
    let precise = ((attr.flags & ATTR_PRECISE_IP_MASK) >> ATTR_PRECISE_IP_SHIFT) as usize;
    if precise > 0 {
        m.push_str(&"ppp"[..precise]);
        guest_default = true;
    }
    if excl(ATTR_FLAG_EXCLUDE_HOST) || excl(ATTR_FLAG_EXCLUDE_GUEST) == guest_default {
        for (f, c) in [
            (ATTR_FLAG_EXCLUDE_HOST, 'H'),
            (ATTR_FLAG_EXCLUDE_GUEST, 'G'),
        ] {
            if !excl(f) {
                m.push(c);
            }
        }
    }
    if m.is_empty() {
        m
    } else {
        format!(":{m}")
    }
}

/// An event's name as perf builds it from the attr when the file does not name it (no EVENT_DESC, as
/// in pipe mode before EVENT_UPDATE, or another tool's file): `evsel__name`'s rules for hardware,
/// software, raw and breakpoint events, with their modifiers.
pub fn default_name(attr: &PerfEventAttr) -> String {
    let known = |names: &[&str]| names.get(attr.config as usize).map(|n| n.to_string());
    let base = match attr.r#type {
        TYPE_HARDWARE => known(&HW_NAMES),
        TYPE_SOFTWARE => known(&SW_NAMES),
        TYPE_RAW => Some(format!("raw {:#x}", attr.config)),
        _ => None,
    };
    match base {
        Some(b) => b + &perf_modifiers(attr),
        None => {
            let ev = Event::Raw {
                r#type: attr.r#type,
                config: attr.config,
            };
            ev.name().map_or_else(
                || format!("type{}:config{:#x}", attr.r#type, attr.config),
                str::to_string,
            )
        }
    }
}

impl Attrs {
    /// Adds an event.
    pub fn push(&mut self, attr: PerfEventAttr, ids: Vec<u64>) {
        let idx = self.events.len();
        for id in &ids {
            self.by_id.insert(*id, idx);
        }
        let name = default_name(&attr);
        self.events.push(EventAttr { attr, ids, name });
    }

    /// Names the event with sample id `id` (pipe mode's EVENT_UPDATE records); names are cut at
    /// 256 bytes.
    pub fn set_name(&mut self, id: u64, mut name: String) {
        if let Some(&i) = self.by_id.get(&id) {
            if name.len() > 256 {
                let mut end = 256;
                while !name.is_char_boundary(end) {
                    end -= 1;
                }
                name.truncate(end);
            }
            self.events[i].name = name;
        }
    }

    /// Takes what a record says about the events: pipe mode's HEADER_ATTR records add one, its
    /// EVENT_UPDATE records name one. Other records are ignored.
    pub fn observe(&mut self, rec: &FileRecord<'_>) -> Result<(), ReadError> {
        match rec.header.r#type {
            RECORD_HEADER_ATTR => {
                // A perf-tool record: no sample_id trailer, so no format is needed to parse it.
                if let Record::HeaderAttr(a) = rec.parse(&SampleFormat::default())?.record {
                    self.push(a.attr, a.ids.iter().collect());
                }
            }
            RECORD_EVENT_UPDATE => {
                if let Some((id, name)) = super::tool_records::event_update_name(rec.body) {
                    self.set_name(id, name);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The position (in [`Attrs::events`]) of the event with sample id `id`.
    pub fn index_of_id(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The event a record belongs to: by its id when several events exist, else the only one.
    pub fn event_of(&self, header: &EventHeader, body: &[u8]) -> Option<&EventAttr> {
        let first = self.events.first()?;
        if self.events.len() == 1 {
            return Some(first);
        }
        let f = first.attr.sample_format();
        let id = if header.r#type == RECORD_SAMPLE {
            f.id_pos().and_then(|p| word_at(body, p))
        } else if has_record_sample_id(header.r#type) {
            f.is_pos()
                .and_then(|p| body.len().checked_sub(p * 8))
                .and_then(|off| word_at_byte(body, off))
        } else {
            None
        };
        match id.and_then(|id| self.by_id.get(&id)) {
            Some(&i) => self.events.get(i),
            None => Some(first),
        }
    }
}

fn has_record_sample_id(ty: u32) -> bool {
    premap_abi::records::has_sample_id(ty)
}

fn word_at(body: &[u8], idx: usize) -> Option<u64> {
    word_at_byte(body, idx.checked_mul(8)?)
}

fn word_at_byte(body: &[u8], off: usize) -> Option<u64> {
    let b = body.get(off..off.checked_add(8)?)?;
    Some(u64::from_ne_bytes(b.try_into().ok()?))
}

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
    data: (usize, usize),
}

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
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ReadError> {
        let len = bytes.len() as u64;
        let mut warnings = Vec::new();
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
                data: (start, n),
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
        if let Some(data) = super::compressed::inflate(self.records(), &self.bytes)? {
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
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    cut_is_end: bool,
    failed: bool,
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
    /// Parses the record with the format of its event.
    pub fn parse(&self, format: &SampleFormat) -> Result<ParsedRecord<'a>, ReadError> {
        Record::parse(self.header, RawData::Single(self.body), format)
            .map_err(|e| corrupt(self.offset, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(r#type: u32, config: u64, flags: &[u64], precise: u64) -> PerfEventAttr {
        let mut a = PerfEventAttr {
            r#type,
            config,
            ..Default::default()
        };
        for f in flags {
            a.set_flag(*f, true);
        }
        a.flags |= precise << ATTR_PRECISE_IP_SHIFT;
        a
    }

    /// The names perf 6.1 prints (`perf report --stats`, `perf evlist`) for attrs as perf record
    /// sets them, with no EVENT_DESC to name them: from the corpus and `perf record -e` here.
    #[test]
    fn names_built_from_the_attr_follow_perf() {
        use premap_abi::attr::{
            ATTR_FLAG_EXCLUDE_GUEST as G, ATTR_FLAG_EXCLUDE_HOST as H, ATTR_FLAG_EXCLUDE_HV as HV,
            ATTR_FLAG_EXCLUDE_KERNEL as K, ATTR_FLAG_EXCLUDE_USER as U,
        };
        let cases: &[(PerfEventAttr, &str)] = &[
            // `-e cycles`: exclude_guest is perf's default, so no modifier.
            (attr(TYPE_HARDWARE, 0, &[G], 0), "cycles"),
            // `-e cycles:pp`
            (attr(TYPE_HARDWARE, 0, &[G], 2), "cycles:ppH"),
            (attr(TYPE_HARDWARE, 1, &[G], 2), "instructions:ppH"),
            // `-e cycles:u`
            (attr(TYPE_HARDWARE, 0, &[K, HV, G], 0), "cycles:uH"),
            // `-e cycles:k`
            (attr(TYPE_HARDWARE, 0, &[U, HV, G], 0), "cycles:kH"),
            // exclude_guest clear: host and guest both counted.
            (attr(TYPE_HARDWARE, 0, &[], 0), "cycles:HG"),
            // `-e cycles:G` / `:H`
            (attr(TYPE_HARDWARE, 0, &[H], 0), "cycles:G"),
            (attr(TYPE_HARDWARE, 4, &[G], 0), "branches"),
            (attr(TYPE_HARDWARE, 9, &[G], 0), "ref-cycles"),
            (attr(TYPE_SOFTWARE, 0, &[G], 0), "cpu-clock"),
            (attr(TYPE_SOFTWARE, 2, &[K, HV, G], 0), "page-faults:uH"),
            (attr(TYPE_SOFTWARE, 9, &[G], 0), "dummy"),
            (attr(TYPE_RAW, 0x1c2, &[G], 0), "raw 0x1c2"),
            (attr(TYPE_RAW, 0x1c2, &[K, HV, G], 1), "raw 0x1c2:upH"),
        ];
        for (a, want) in cases {
            assert_eq!(default_name(a), *want, "{a:?}");
        }
    }
}
