//! Reading the TRACING_DATA section (a feature in file mode, a HEADER_TRACING_DATA record's payload in
//! pipe mode): the tracefs format files perf stores beside tracepoint samples, as perf's
//! trace-event-info.c writes them and trace-event-read.c reads them.
//!
//! ```text
//! "\x17\x08Dtracing" version "\0" endian:u8 long_size:u8 page_size:u32
//! "header_page\0" size:u64 bytes   "header_event\0" size:u64 bytes
//! ftrace formats:  count:u32 { size:u64 bytes }
//! event formats:   systems:u32 { name "\0" count:u32 { size:u64 bytes } }
//! kallsyms size:u32 bytes, printk size:u32 bytes, (0.6+) saved_cmdlines size:u64 bytes
//! ```
//!
//! Only the format files are kept; everything is bounds-checked and the counts are capped, so a
//! section that lies about its sizes gives an error, never a panic or a long loop.

use super::field::{Field, FieldKind};
use super::print::Print;
use premap_abi::raw::{Cursor, RawData};
use std::collections::HashMap;
use std::fmt;

/// The most format files read from one section (tracefs has a few thousand events).
pub const MAX_FORMATS: usize = 1 << 16;
/// The most fields read from one format file.
pub const MAX_FIELDS: usize = 1024;

/// Why a TRACING_DATA section could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TracingError {
    /// The section does not start with perf's magic.
    BadMagic,
    /// A size or count runs past the end of the section (at this byte offset).
    Truncated(usize),
    /// More format files than [`MAX_FORMATS`].
    TooMany(u64),
    /// The data was written on a machine of the other byte order.
    ForeignEndian,
}

impl fmt::Display for TracingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TracingError::BadMagic => write!(f, "tracing data does not start with perf's magic"),
            TracingError::Truncated(at) => {
                write!(
                    f,
                    "tracing data ends inside a part that starts at byte {at}"
                )
            }
            TracingError::TooMany(n) => write!(f, "tracing data claims {n} format files"),
            TracingError::ForeignEndian => {
                write!(f, "tracing data of the other byte order is not decoded")
            }
        }
    }
}

impl std::error::Error for TracingError {}

/// One tracepoint's format file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFormat {
    /// Its subsystem (`sched`).
    pub system: String,
    /// Its name (`sched_switch`).
    pub name: String,
    /// Its id (the sample's `common_type`).
    pub id: u64,
    /// Its fields, common ones first.
    pub fields: Vec<Field>,
    /// The `print fmt:` line: the format string and its arguments as written.
    pub print_fmt: Option<String>,
    /// The print format compiled against the fields, when every argument is one perf's printer
    /// would print plainly (`REC->field`, `__get_str(field)`, casts of them).
    pub print: Option<Print>,
}

/// The format files of a TRACING_DATA section, by tracepoint id.
#[derive(Clone, Debug, Default)]
pub struct TraceFormats {
    /// Every format read, by id.
    pub events: HashMap<u64, EventFormat>,
    /// The section's version string (`0.6`).
    pub version: String,
    /// The size of `long` where it was written.
    pub long_size: u8,
}

/// abi's bounds-checked [`Cursor`] over the section, with the offset each error names.
struct Reader<'a> {
    c: Cursor<'a>,
    len: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader {
            c: Cursor::new(RawData::Single(b)),
            len: b.len(),
        }
    }
    fn pos(&self) -> usize {
        self.len - self.c.remaining()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], TracingError> {
        let at = self.pos();
        let s = self
            .c
            .take(n, "tracing data")
            .ok()
            .and_then(|d| d.as_single());
        s.ok_or(TracingError::Truncated(at))
    }
    fn u8(&mut self) -> Result<u8, TracingError> {
        let at = self.pos();
        self.c
            .read_u8("tracing data")
            .map_err(|_| TracingError::Truncated(at))
    }
    fn u32(&mut self) -> Result<u32, TracingError> {
        let at = self.pos();
        self.c
            .read_u32("tracing data")
            .map_err(|_| TracingError::Truncated(at))
    }
    fn u64(&mut self) -> Result<u64, TracingError> {
        let at = self.pos();
        self.c
            .read_u64("tracing data")
            .map_err(|_| TracingError::Truncated(at))
    }
    /// A NUL-terminated string (the NUL consumed, not returned).
    fn cstr(&mut self) -> Result<&'a [u8], TracingError> {
        let at = self.pos();
        let rest = self.c.rest().as_single().unwrap_or_default();
        let n = rest
            .iter()
            .position(|&c| c == 0)
            .ok_or(TracingError::Truncated(at))?;
        let s = self.take(n)?;
        self.take(1)?;
        Ok(s)
    }
    /// A part with a u64 size.
    fn file64(&mut self) -> Result<&'a [u8], TracingError> {
        let at = self.pos();
        let n = self.u64()?;
        let n = usize::try_from(n).map_err(|_| TracingError::Truncated(at))?;
        self.take(n).map_err(|_| TracingError::Truncated(at))
    }
}

impl TraceFormats {
    /// Reads a TRACING_DATA section.
    pub fn parse(bytes: &[u8]) -> Result<Self, TracingError> {
        let mut r = Reader::new(bytes);
        if r.take(10).ok() != Some(b"\x17\x08Dtracing".as_slice()) {
            return Err(TracingError::BadMagic);
        }
        let version = String::from_utf8_lossy(r.cstr()?).into_owned();
        let big_endian = r.u8()? != 0;
        if big_endian != cfg!(target_endian = "big") {
            return Err(TracingError::ForeignEndian);
        }
        let long_size = r.u8()?;
        let _page_size = r.u32()?;
        for name in [b"header_page".as_slice(), b"header_event"] {
            let at = r.pos();
            if r.cstr()? != name {
                return Err(TracingError::Truncated(at));
            }
            r.file64()?;
        }
        let mut out = TraceFormats {
            events: HashMap::new(),
            version,
            long_size,
        };
        let mut budget = MAX_FORMATS as u64;
        let mut count = |n: u32| {
            budget = budget
                .checked_sub(n.into())
                .ok_or(TracingError::TooMany(n.into()))?;
            Ok::<u32, TracingError>(n)
        };
        let ftrace = count(r.u32()?)?;
        for _ in 0..ftrace {
            out.add("ftrace", r.file64()?, long_size);
        }
        let systems = count(r.u32()?)?;
        for _ in 0..systems {
            let system = String::from_utf8_lossy(r.cstr()?).into_owned();
            let n = count(r.u32()?)?;
            for _ in 0..n {
                out.add(&system, r.file64()?, long_size);
            }
        }
        // kallsyms, printk formats and saved cmdlines follow; nothing here needs them.
        Ok(out)
    }

    fn add(&mut self, system: &str, file: &[u8], long_size: u8) {
        if let Some(ev) = parse_format(system, &String::from_utf8_lossy(file), long_size) {
            self.events.insert(ev.id, ev);
        }
    }

    /// The format of the tracepoint whose raw data this is (its `common_type`, the first u16).
    pub fn of_raw(&self, raw: &[u8]) -> Option<&EventFormat> {
        let ty = raw.get(..2)?;
        self.events
            .get(&u64::from(u16::from_ne_bytes([ty[0], ty[1]])))
    }
}

/// Parses one format file; `None` when it has no name or id.
pub fn parse_format(system: &str, text: &str, long_size: u8) -> Option<EventFormat> {
    let mut name = None;
    let mut id = None;
    let mut fields = Vec::new();
    let mut print_fmt = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("name:") {
            name = Some(v.trim().to_string());
        } else if let Some(v) = t.strip_prefix("ID:") {
            id = v.trim().parse::<u64>().ok();
        } else if let Some(v) = t.strip_prefix("print fmt:") {
            print_fmt = Some(v.trim().to_string());
        } else if t.starts_with("field:") && fields.len() < MAX_FIELDS {
            if let Some(f) = parse_field(t, long_size) {
                fields.push(f);
            }
        }
    }
    let print = print_fmt
        .as_deref()
        .and_then(|p| Print::compile(p, &fields));
    Some(EventFormat {
        system: system.to_string(),
        name: name?,
        id: id?,
        fields,
        print_fmt,
        print,
    })
}

/// `field:TYPE NAME[N];\toffset:O;\tsize:S;\tsigned:0|1;`
fn parse_field(line: &str, long_size: u8) -> Option<Field> {
    let mut decl = None;
    let (mut offset, mut size, mut signed) = (None, None, false);
    for part in line.split(';') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("field:") {
            decl = Some(v.trim());
        } else if let Some(v) = part.strip_prefix("offset:") {
            offset = v.trim().parse::<usize>().ok();
        } else if let Some(v) = part.strip_prefix("size:") {
            size = v.trim().parse::<usize>().ok();
        } else if let Some(v) = part.strip_prefix("signed:") {
            signed = v.trim() == "1";
        }
    }
    let decl = decl?;
    let (offset, size) = (offset?, size?);
    // The name is the last identifier, before any `[N]`.
    let (head, array) = match decl.find('[') {
        Some(i) if decl.ends_with(']') => (&decl[..i], Some(&decl[i + 1..decl.len() - 1])),
        _ => (decl, None),
    };
    let head = head.trim_end();
    let split = head.rfind(|c: char| c.is_whitespace() || c == '*')?;
    let name = head[split + 1..].to_string();
    let base = head[..=split].trim().to_string();
    if name.is_empty() {
        return None;
    }
    let c_type = match array {
        Some(n) => format!("{base}[{n}]"),
        None => base.clone(),
    };
    let loc = |prefix: &str| {
        base.strip_prefix(prefix)
            .map(|t| t.trim_start().starts_with("char"))
    };
    let kind = if let Some(string) = loc("__data_loc") {
        FieldKind::DataLoc {
            string,
            relative: false,
        }
    } else if let Some(string) = loc("__rel_loc") {
        FieldKind::DataLoc {
            string,
            relative: true,
        }
    } else if let Some(n) = array {
        if matches!(base.as_str(), "char" | "const char" | "signed char") {
            FieldKind::CharArray
        } else {
            let count = n.trim().parse::<usize>().ok().filter(|&c| c > 0)?;
            FieldKind::Array { count }
        }
    } else if base.ends_with('*')
        || (size == usize::from(long_size) && !signed && base.contains("long"))
    {
        FieldKind::Hex
    } else {
        FieldKind::Int
    };
    Some(Field {
        name,
        c_type,
        offset,
        size,
        signed,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SWITCH: &str = "name: sched_switch\nID: 372\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:__data_loc char[] filename;\toffset:28;\tsize:4;\tsigned:0;\n\tfield:const char * p;\toffset:32;\tsize:8;\tsigned:0;\n\tfield:unsigned long args[6];\toffset:40;\tsize:48;\tsigned:0;\n\nprint fmt: \"prev_comm=%s\", REC->prev_comm\n";

    /// A section as perf writes it, around the given format files of system `sched`.
    pub(crate) fn section(formats: &[&str]) -> Vec<u8> {
        let mut s = b"\x17\x08Dtracing0.6\0".to_vec();
        s.push(u8::from(cfg!(target_endian = "big")));
        s.push(8);
        s.extend_from_slice(&4096u32.to_ne_bytes());
        for name in ["header_page", "header_event"] {
            s.extend_from_slice(name.as_bytes());
            s.push(0);
            s.extend_from_slice(&3u64.to_ne_bytes());
            s.extend_from_slice(b"abc");
        }
        s.extend_from_slice(&0u32.to_ne_bytes());
        s.extend_from_slice(&1u32.to_ne_bytes());
        s.extend_from_slice(b"sched\0");
        s.extend_from_slice(&(formats.len() as u32).to_ne_bytes());
        for f in formats {
            s.extend_from_slice(&(f.len() as u64).to_ne_bytes());
            s.extend_from_slice(f.as_bytes());
        }
        s.extend_from_slice(&0u32.to_ne_bytes());
        s.extend_from_slice(&0u32.to_ne_bytes());
        s.extend_from_slice(&0u64.to_ne_bytes());
        s
    }

    #[test]
    fn a_section_gives_each_format_by_id_with_its_fields_kinds() {
        let t = TraceFormats::parse(&section(&[SWITCH])).unwrap();
        let ev = &t.events[&372];
        assert_eq!(
            (ev.system.as_str(), ev.name.as_str()),
            ("sched", "sched_switch")
        );
        let kinds: Vec<_> = ev
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("common_type", FieldKind::Int),
                ("prev_comm", FieldKind::CharArray),
                ("prev_pid", FieldKind::Int),
                (
                    "filename",
                    FieldKind::DataLoc {
                        string: true,
                        relative: false
                    }
                ),
                ("p", FieldKind::Hex),
                ("args", FieldKind::Array { count: 6 }),
            ]
        );
        assert_eq!(ev.fields[1].c_type, "char[16]");
        assert!(ev.fields[2].signed);
        assert_eq!(
            ev.print_fmt.as_deref(),
            Some("\"prev_comm=%s\", REC->prev_comm")
        );
        let mut raw = 372u16.to_ne_bytes().to_vec();
        raw.resize(96, 0);
        assert_eq!(t.of_raw(&raw).map(|e| e.id), Some(372));
    }

    #[test]
    fn every_cut_of_a_section_is_an_error_or_fewer_formats_never_a_panic() {
        let s = section(&[SWITCH, SWITCH]);
        for cut in 0..s.len() {
            let _ = TraceFormats::parse(&s[..cut]);
        }
        assert_eq!(
            TraceFormats::parse(&s[..5]).unwrap_err(),
            TracingError::BadMagic
        );
        assert!(matches!(
            TraceFormats::parse(&s[..s.len() - 30]),
            Err(TracingError::Truncated(_))
        ));
    }

    #[test]
    fn sizes_and_counts_that_lie_are_errors() {
        let mut s = section(&[SWITCH]);
        // The system's format count claims 4 billion.
        let at = s.windows(6).position(|w| w == b"sched\0").unwrap() + 6;
        s[at..at + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(matches!(
            TraceFormats::parse(&s),
            Err(TracingError::TooMany(_))
        ));
        // A format's size claims more than the section holds.
        let mut s = section(&[SWITCH]);
        s[at + 4..at + 12].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert!(matches!(
            TraceFormats::parse(&s),
            Err(TracingError::Truncated(_))
        ));
    }
}
