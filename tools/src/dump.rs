//! `premap dump`: every record of a perf.data file (file or pipe mode) as text or JSON lines.

use premap_abi::attr::SAMPLE_READ;
use premap_abi::header::{
    RECORD_HEADER_FEATURE, RECORD_HEADER_TRACING_DATA, RECORD_LOST_SAMPLES, RECORD_SAMPLE,
};
use premap_abi::perf_file::*;
use premap_abi::raw::{Cursor, RawData};
use premap_abi::records::RecordBody;
use premap_abi::regs::RegArch;
use premap_perfdata::features::feature_text;
use premap_perfdata::records::read_string;
use premap_perfdata::render::{self, Fields};
use premap_perfdata::tracing::TraceFormats;
use premap_perfdata::{Attrs, FileRecord, PerfFile, ReadError};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::Path;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One readable line per record.
    Text,
    /// One JSON object per line.
    Json,
}

/// What a dump counted.
#[derive(Debug, Default)]
pub struct Summary {
    /// Records per type name.
    pub by_type: BTreeMap<String, u64>,
    /// Total records.
    pub records: u64,
    /// SAMPLE records.
    pub samples: u64,
    /// What perf would warn about (a file cut short, a data size of 0, a stream that ends inside a
    /// record): the records before it were all read and counted.
    pub warnings: Vec<String>,
}

/// JSON lines for the file itself: `{"file":..}`, one `{"feature":..}` per feature section and one
/// `{"attr":..}` per event, before the records (what text mode prints as `#` lines).
fn json_header_lines(file: &PerfFile, out: &mut Vec<u8>) {
    let mode = if file.is_pipe() { "pipe" } else { "file" };
    writeln!(
        out,
        "{{\"file\":{{\"mode\":\"{mode}\",\"features\":{},\"events\":{}}}}}",
        file.features.len(),
        file.attrs.events.len()
    )
    .ok();
    for (bit, off, bytes) in &file.features {
        write!(
            out,
            "{{\"feature\":{{\"id\":{bit},\"name\":\"{}\",\"offset\":{off},\"size\":{}",
            feature_name(*bit),
            bytes.len()
        )
        .ok();
        if let Some(t) = feature_text(*bit, bytes) {
            out.extend_from_slice(b",\"value\":");
            render::json_string(out, &t);
        }
        out.extend_from_slice(b"}}\n");
    }
    for e in &file.attrs.events {
        out.extend_from_slice(b"{\"attr\":{\"name\":");
        render::json_string(out, &e.name);
        write!(
            out,
            ",\"type\":{},\"config\":\"{:#x}\",\"sample_type\":\"{:#x}\",\"read_format\":\"{:#x}\",\"sample_id_all\":{},\"ids\":{:?}}}}}",
            e.attr.r#type,
            e.attr.config,
            e.attr.sample_type,
            e.attr.read_format,
            e.attr.sample_format().sample_id_all,
            e.ids
        )
        .ok();
        out.push(b'\n');
    }
}

/// The register architecture named by an ARCH feature's string.
fn arch_of(bytes: &[u8]) -> Option<RegArch> {
    let name = read_string(&mut Cursor::new(RawData::Single(bytes))).ok()?;
    RegArch::from_machine(&name)
}

/// Pipe mode carries features as records: `{u64 feat_id; data}`.
fn feature_record_fields(body: &[u8], fields: &mut Fields<'_>) {
    let Some((id, data)) = body.split_first_chunk::<8>() else {
        return;
    };
    let bit = u64::from_ne_bytes(*id);
    let bit = u32::try_from(bit).unwrap_or(u32::MAX);
    fields.push((
        "feature",
        render::Value::Text(feature_name(bit).to_string()),
    ));
    if let Some(t) = feature_text(bit, data) {
        fields.push(("value", render::Value::Text(t)));
    }
}

fn header_lines(file: &PerfFile, path: &Path, out: &mut Vec<u8>) {
    let mode = if file.is_pipe() {
        "pipe mode"
    } else {
        "file mode"
    };
    writeln!(out, "# premap dump of {} ({mode})", path.display()).ok();
    for (bit, off, bytes) in &file.features {
        match feature_text(*bit, bytes) {
            Some(t) => writeln!(out, "# {}: {t}", feature_name(*bit)).ok(),
            None => writeln!(
                out,
                "# {} ({bit}): {} bytes at {off:#x}",
                feature_name(*bit),
                bytes.len()
            )
            .ok(),
        };
    }
    for e in &file.attrs.events {
        writeln!(
            out,
            "# event {}: type={} config={:#x} sample_type={:#x} read_format={:#x} sample_id_all={} ids={:?}",
            e.name,
            e.attr.r#type,
            e.attr.config,
            e.attr.sample_type,
            e.attr.read_format,
            e.attr.sample_format().sample_id_all,
            e.ids
        )
        .ok();
    }
}

/// What the walk over a file's records carries from one record to the next: the events (pipe mode
/// adds and names them as records), the architecture and tracepoint formats (a section in file mode, a
/// record in pipe mode), and the count of each record type.
struct Walk {
    attrs: Attrs,
    arch: Option<RegArch>,
    formats: Option<TraceFormats>,
    counts: [u64; 128],
    other: BTreeMap<u32, u64>,
}

impl Walk {
    fn new(file: &PerfFile) -> Self {
        let section = |want| {
            file.features
                .iter()
                .find(|(bit, ..)| *bit == want)
                .map(|(_, _, bytes)| bytes.as_slice())
        };
        Walk {
            attrs: file.attrs.clone(),
            // The architecture names sampled registers.
            arch: section(HEADER_ARCH).and_then(arch_of),
            formats: section(HEADER_TRACING_DATA).and_then(|b| TraceFormats::parse(b).ok()),
            counts: [0; 128],
            other: BTreeMap::new(),
        }
    }

    /// Counts `rec`, writes its line to `out`, and takes what it says about the file.
    fn record<'a>(
        &mut self,
        rec: &FileRecord<'a>,
        fields: &mut Fields<'a>,
        format: Format,
        out: &mut Vec<u8>,
    ) -> Result<(), DumpError> {
        let ty = rec.header.r#type;
        match self.counts.get_mut(ty as usize) {
            Some(c) => *c += 1,
            None => *self.other.entry(ty).or_default() += 1,
        }
        let event = self.attrs.event_of(&rec.header, rec.body);
        let sample_format = event.map(|e| e.attr.sample_format()).unwrap_or_default();
        fields.clear();
        // Plain samples (the common case) are read field by field without the full parse.
        let fast = ty == RECORD_SAMPLE
            && render::layout_sample_fields(sample_format.sample_type, rec.body, fields);
        if !fast {
            let p = rec.parse(&sample_format)?;
            render::fields_for(&p, self.arch, sample_format.sample_type, fields);
            if let (RecordBody::Sample(s), Some(formats)) = (&p.body, &self.formats) {
                // A file's records are contiguous: the raw data is one slice.
                let raw = s.raw.and_then(|r| r.as_single());
                if let Some((ev, raw)) = raw.and_then(|r| Some((formats.of_raw(r)?, r))) {
                    let trace = render::Trace::new(ev, raw);
                    fields.push(("trace", render::Value::Trace(Box::new(trace))));
                }
            }
        }
        if ty == RECORD_HEADER_TRACING_DATA {
            match TraceFormats::parse(rec.payload) {
                Ok(t) => self.formats = Some(t),
                Err(e) => fields.push((
                    "tracing_data",
                    render::Value::Text(format!("not decoded: {e}")),
                )),
            }
        }
        if ty == RECORD_HEADER_FEATURE {
            feature_record_fields(rec.body, fields);
            if let Some((id, data)) = rec.body.split_first_chunk::<8>() {
                if u64::from_ne_bytes(*id) == u64::from(HEADER_ARCH) {
                    self.arch = arch_of(data).or(self.arch);
                }
            }
        }
        if !rec.payload.is_empty() {
            fields.push(("payload_size", render::Value::U(rec.payload.len() as u64)));
        }
        let name = event
            .filter(|_| ty == RECORD_SAMPLE)
            .map(|e| e.name.as_str());
        match format {
            Format::Text => render::text_line(out, rec.offset, &rec.header, name, fields),
            Format::Json => render::json_line(out, rec.offset, &rec.header, name, fields),
        }
        // Pipe mode: the events arrive (and get their names) as records.
        self.attrs.observe(rec)?;
        Ok(())
    }

    /// The records counted by type name, with the COMPRESSED containers whose records were inflated
    /// in their place (counted as perf report --stats counts them).
    fn by_type(&self, containers: &BTreeMap<u32, u64>) -> BTreeMap<String, u64> {
        let mut by_type = BTreeMap::new();
        let counted = self.counts.iter().enumerate().map(|(t, n)| (t as u32, *n));
        for (ty, n) in counted.chain(self.other.iter().map(|(t, n)| (*t, *n))) {
            if n > 0 {
                by_type.insert(render::type_name(ty).into_owned(), n);
            }
        }
        for (&ty, &n) in containers {
            *by_type
                .entry(render::type_name(ty).into_owned())
                .or_default() += n;
        }
        by_type
    }
}

/// The summary after the records: `# records: N` and one line per type, or one JSON object.
fn summary_lines(summary: &Summary, format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Text => {
            writeln!(out, "# records: {}", summary.records).ok();
            for (t, n) in &summary.by_type {
                writeln!(out, "# {t}: {n}").ok();
            }
        }
        Format::Json => {
            write!(out, "{{\"summary\":{{\"records\":{}", summary.records).ok();
            for (t, n) in &summary.by_type {
                write!(out, ",\"{t}\":{n}").ok();
            }
            out.extend_from_slice(b"}}\n");
        }
    }
}

/// Dumps `path` to `w`. On a corrupt file, everything before the bad record has been written when the
/// error is returned.
///
/// Output streams: every record read is printed before an error is returned. A stream that ends
/// inside a record is perf's clean end (a warning in [`Summary::warnings`], the summary printed);
/// a record that cannot be (size 0, an impossible size) is an error after the records before it.
pub fn dump(path: &Path, format: Format, w: &mut impl Write) -> Result<Summary, DumpError> {
    let mut file = PerfFile::open(path)?;
    let damage = file.damage.take();
    let mut out = Vec::with_capacity(1 << 16);
    match format {
        Format::Text => header_lines(&file, path, &mut out),
        Format::Json => json_header_lines(&file, &mut out),
    }
    let mut walk = Walk::new(&file);
    let mut fields: Fields<'_> = Vec::with_capacity(32);
    let mut walked = Ok(());
    for rec in file.records() {
        walked = rec
            .map_err(DumpError::from)
            .and_then(|rec| walk.record(&rec, &mut fields, format, &mut out))
            .and_then(|()| Ok(render::flush_if_full(w, &mut out, 1 << 16)?));
        if walked.is_err() {
            break;
        }
    }
    let mut summary = Summary {
        warnings: file.warnings.clone(),
        ..Summary::default()
    };
    let result = match walked {
        Err(DumpError::Read(e)) if e.is_truncation() => {
            summary.warnings.push(e.to_string());
            Ok(())
        }
        other => other,
    }
    .and_then(|()| damage.map_or(Ok(()), |e| Err(e.into())));
    summary.by_type = walk.by_type(&file.containers);
    summary.records = summary.by_type.values().sum();
    summary.samples = summary.by_type.get("SAMPLE").copied().unwrap_or(0);
    if result.is_ok() {
        summary_lines(&summary, format, &mut out);
    }
    w.write_all(&out)?;
    w.flush()?;
    result.map(|()| summary)
}

/// What `premap dump --stats` counts: `perf report --stats`'s table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records by type, the compressed containers included (as perf counts them).
    pub by_type: BTreeMap<u32, u64>,
    /// Per event (file order): its name, its SAMPLE records and its LOST_SAMPLES records.
    pub by_event: Vec<(String, u64, u64)>,
    /// What perf would warn about (see [`Summary::warnings`]).
    pub warnings: Vec<String>,
    /// The file holds AUX area data (an AUXTRACE_INFO record): perf's table then says that it
    /// leaves out the events decoding the AUX area would synthesize.
    pub aux: bool,
}

impl Stats {
    /// All records.
    pub fn total(&self) -> u64 {
        self.by_type.values().sum()
    }

    /// Writes the table as `perf report --stats` prints it (perf's `events_stats__fprintf` layout:
    /// types by number, empty ones left out, then each event that has samples).
    pub fn write(&self, w: &mut impl Write) -> io::Result<()> {
        let total = self.total();
        let aux = if self.aux {
            " (excludes AUX area (e.g. instruction trace) decoded / synthesized events)"
        } else {
            ""
        };
        writeln!(w, "\nAggregated stats:{aux}")?;
        writeln!(w, "{:>16} events: {total:>10}", "TOTAL")?;
        for (&ty, &n) in &self.by_type {
            let name = render::type_name(ty);
            if total > 0 {
                let pct = 100.0 * n as f64 / total as f64;
                writeln!(w, "{name:>16} events: {n:>10}  ({pct:4.1}%)")?;
            } else {
                writeln!(w, "{name:>16} events: {n:>10}")?;
            }
        }
        for (name, samples, lost) in &self.by_event {
            if *samples == 0 && *lost == 0 {
                continue;
            }
            writeln!(w, "{name} stats:")?;
            if *samples > 0 {
                writeln!(w, "{:>16} events: {samples:>10}", "SAMPLE")?;
            }
            if *lost > 0 {
                writeln!(w, "{:>16} events: {lost:>10}", "LOST_SAMPLES")?;
            }
        }
        Ok(())
    }
}

/// Counts the records of `path` by type and the samples of each event (`premap dump --stats`), as
/// `perf report --stats` does. A stream cut inside a record ends the count with a warning; a damaged
/// record ends it with the error, returned beside the counts of everything before it.
pub fn stats(path: &Path) -> Result<(Stats, Option<DumpError>), DumpError> {
    let mut file = PerfFile::open(path)?;
    let outside = file.damage.take();
    let mut attrs = file.attrs.clone();
    let mut st = Stats {
        by_type: file.containers.clone(),
        by_event: Vec::new(),
        warnings: file.warnings.clone(),
        aux: false,
    };
    let mut per_event: Vec<(u64, u64)> = Vec::new();
    // Per event: samples, and the samples LOST_SAMPLES records say were lost (their `lost` counts
    // summed, as perf report's count_lost_samples_event does).
    let mut count = |i: usize, samples: u64, lost: u64| {
        if per_event.len() <= i {
            per_event.resize(i + 1, (0, 0));
        }
        per_event[i].0 += samples;
        per_event[i].1 = per_event[i].1.saturating_add(lost);
    };
    // PERF_SAMPLE_READ: perf delivers one sample per read value whose counter moved since that id's
    // previous value (session.c's deliver_sample_value), to the event owning the id.
    let mut last_value: HashMap<u64, u64> = HashMap::new();
    let mut damage = None;
    for rec in file.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) if e.is_truncation() => {
                st.warnings.push(e.to_string());
                break;
            }
            Err(e) => {
                damage = Some(e.into());
                break;
            }
        };
        let ty = rec.header.r#type;
        *st.by_type.entry(ty).or_default() += 1;
        st.aux |= ty == premap_abi::header::RECORD_AUXTRACE_INFO;
        if ty == RECORD_SAMPLE || ty == RECORD_LOST_SAMPLES {
            let Some(ev) = attrs.event_of(&rec.header, rec.body) else {
                continue;
            };
            let format = ev.attr.sample_format();
            if ty == RECORD_SAMPLE && format.sample_type & SAMPLE_READ != 0 {
                let parsed = match rec.parse(&format) {
                    Ok(p) => p,
                    Err(e) => {
                        damage = Some(e.into());
                        break;
                    }
                };
                if let RecordBody::Sample(s) = parsed.body {
                    for v in s.read.iter().flat_map(|r| r.values.iter()) {
                        let Some(i) = v.id.and_then(|id| attrs.index_of_id(id)) else {
                            continue;
                        };
                        let prev = last_value.insert(v.id.unwrap_or(0), v.value).unwrap_or(0);
                        if v.value != prev {
                            count(i, 1, 0);
                        }
                    }
                }
                continue;
            }
            if let Some(i) = attrs.events.iter().position(|x| std::ptr::eq(x, ev)) {
                if ty == RECORD_SAMPLE {
                    count(i, 1, 0);
                } else {
                    let lost = rec
                        .body
                        .first_chunk::<8>()
                        .map_or(0, |b| u64::from_ne_bytes(*b));
                    count(i, 0, lost);
                }
            }
        } else if let Err(e) = attrs.observe(&rec) {
            // Pipe mode: the events arrive (and get their names) as records.
            damage = Some(e.into());
            break;
        }
    }
    // A pipe's events are named as perf report --stats names them: from the attr (perf's rules),
    // whatever name an EVENT_UPDATE or EVENT_DESC gives (perf 6.1: `perf record -e page-faults:u -o
    // -` reports `page-faults:uH stats:`, where perf script prints `page-faults:u`).
    let pipe = file.header.is_none();
    st.by_event = attrs
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (s, l) = per_event.get(i).copied().unwrap_or((0, 0));
            let name = if pipe {
                premap_perfdata::default_name(&e.attr)
            } else {
                e.name.clone()
            };
            (name, s, l)
        })
        .collect();
    Ok((st, damage.or_else(|| outside.map(DumpError::Read))))
}

/// Why a dump failed.
#[derive(Debug)]
pub enum DumpError {
    /// The file is unreadable or corrupt.
    Read(ReadError),
    /// Writing the output failed.
    Output(io::Error),
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::Read(e) => write!(f, "{e}"),
            DumpError::Output(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl From<ReadError> for DumpError {
    fn from(e: ReadError) -> Self {
        DumpError::Read(e)
    }
}

impl From<io::Error> for DumpError {
    fn from(e: io::Error) -> Self {
        DumpError::Output(e)
    }
}
