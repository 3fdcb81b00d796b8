//! Rendering parsed records as text lines or JSON lines, from one description of their fields.

use premap_abi::header::record_type_name;
use premap_abi::records::{Mmap2FileId, Mmap2Record, ParsedRecord, RecordBody, SampleId};
use premap_abi::regs::RegArch;
use premap_abi::sample::{context_name, Sample};
use std::io::{self, Write};

pub mod data_src;
mod scalar;
pub(crate) mod value;
mod values;
pub use scalar::json_string;
use scalar::{put_hex, put_json_str, put_u64};
pub use value::{Fields, Trace, Value};
use values::{put_branches, put_read, put_regs, put_stack};

/// A transaction word as flag names and the abort code: `TRANSACTION|SYNC abort=0x3` (`none`).
fn txn_text(t: u64) -> String {
    use premap_abi::data_src::{TXN_ABORT_SHIFT, TXN_FLAGS};
    let mut names: Vec<&str> = TXN_FLAGS
        .iter()
        .filter(|(bit, _)| t & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        names.push("none");
    }
    let abort = t >> TXN_ABORT_SHIFT;
    if abort != 0 {
        format!("{} abort={abort:#x}", names.join("|"))
    } else {
        names.join("|")
    }
}

/// Appends `name = v` when there is a value.
fn opt<'a>(f: &mut Fields<'a>, name: &'static str, v: Option<Value<'a>>) {
    if let Some(v) = v {
        f.push((name, v));
    }
}

fn sample_fields<'a>(s: &Sample<'a>, arch: Option<RegArch>, sample_type: u64, f: &mut Fields<'a>) {
    opt(f, "pid", s.pid.map(|v| Value::U(v.into())));
    opt(f, "tid", s.tid.map(|v| Value::U(v.into())));
    opt(f, "time", s.time.map(Value::U));
    opt(f, "cpu", s.cpu.map(|v| Value::U(v.into())));
    opt(f, "ip", s.ip.map(Value::X));
    opt(f, "addr", s.addr.map(Value::X));
    opt(f, "period", s.period.map(Value::U));
    opt(f, "id", s.id.or(s.identifier).map(Value::U));
    opt(f, "stream_id", s.stream_id.map(Value::U));
    opt(f, "callchain", s.callchain.map(Value::Chain));
    opt(f, "raw", s.raw.map(Value::B));
    match s.weight {
        Some(w) if sample_type & premap_abi::attr::SAMPLE_WEIGHT_STRUCT != 0 => {
            // perf's names for the parts (x86: instruction latency; powerpc: stage cycles).
            let w = premap_abi::data_src::Weight::from_word(w);
            f.extend([
                ("weight", Value::U(w.var1_dw.into())),
                ("ins_lat", Value::U(w.var2_w.into())),
                ("p_stage_cyc", Value::U(w.var3_w.into())),
            ]);
        }
        w => opt(f, "weight", w.map(Value::U)),
    }
    if let Some(d) = s.data_src {
        f.push(("data_src", Value::X(d)));
        f.push(("mem", Value::Text(data_src::data_src_text(d))));
    }
    if let Some(t) = s.transaction {
        f.push(("transaction", Value::X(t)));
        f.push(("txn", Value::Text(txn_text(t))));
    }
    opt(f, "phys_addr", s.phys_addr.map(Value::X));
    opt(f, "cgroup", s.cgroup.map(Value::U));
    opt(f, "data_page_size", s.data_page_size.map(Value::U));
    opt(f, "code_page_size", s.code_page_size.map(Value::U));
    opt(f, "read", s.read.map(Value::Read));
    opt(f, "regs_user", s.regs_user.map(|r| Value::Regs(r, arch)));
    opt(f, "regs_intr", s.regs_intr.map(|r| Value::Regs(r, arch)));
    opt(f, "stack_user", s.stack_user.map(Value::Stack));
    if let Some(b) = s.branch_stack {
        opt(f, "branch_hw_idx", b.hw_idx.map(Value::U));
        f.push(("branches", Value::Branches(b)));
        opt(f, "branch_counters", b.counters.map(Value::L));
    }
    if let Some(a) = s.aux {
        opt(f, "aux_size", Some(Value::U(a.len() as u64)));
    }
}

/// Appends the fields of `rec` to `f` (registers by bit, as the architecture is not known).
pub fn fields<'a>(rec: &ParsedRecord<'a>, f: &mut Fields<'a>) {
    fields_for(rec, None, 0, f)
}

/// Appends the fields of `rec` to `f`, naming sampled registers as `arch` does.
/// `sample_type` is the event's (it says how to read a weight word); 0 when not known.
pub fn fields_for<'a>(
    rec: &ParsedRecord<'a>,
    arch: Option<RegArch>,
    sample_type: u64,
    f: &mut Fields<'a>,
) {
    use Value::*;
    match rec.body {
        RecordBody::Sample(ref s) => sample_fields(s, arch, sample_type, f),
        RecordBody::Mmap(m) => f.extend([
            ("pid", U(m.pid.into())),
            ("tid", U(m.tid.into())),
            ("addr", X(m.addr)),
            ("len", X(m.len)),
            ("pgoff", X(m.pgoff)),
            ("filename", S(m.filename)),
        ]),
        RecordBody::Mmap2(m) => mmap2_fields(&m, f),
        RecordBody::Comm(c) => f.extend([
            ("pid", U(c.pid.into())),
            ("tid", U(c.tid.into())),
            ("comm", S(c.comm)),
        ]),
        RecordBody::Exit(t) | RecordBody::Fork(t) => f.extend([
            ("pid", U(t.pid.into())),
            ("ppid", U(t.ppid.into())),
            ("tid", U(t.tid.into())),
            ("ptid", U(t.ptid.into())),
            ("time", U(t.time)),
        ]),
        RecordBody::Lost(l) => f.extend([("id", U(l.id)), ("lost", U(l.lost))]),
        RecordBody::LostSamples { lost } => f.push(("lost", U(lost))),
        RecordBody::Throttle(t) | RecordBody::Unthrottle(t) => f.extend([
            ("time", U(t.time)),
            ("id", U(t.id)),
            ("stream_id", U(t.stream_id)),
        ]),
        RecordBody::Read(r) => {
            f.extend([
                ("pid", U(r.pid.into())),
                ("tid", U(r.tid.into())),
                ("read", Read(r.values)),
            ]);
        }
        RecordBody::Aux(a) => f.extend([
            ("aux_offset", X(a.aux_offset)),
            ("aux_size", U(a.aux_size)),
            ("flags", X(a.flags)),
        ]),
        RecordBody::ItraceStart { pid, tid } => {
            f.extend([("pid", U(pid.into())), ("tid", U(tid.into()))])
        }
        RecordBody::Switch => f.push((
            "out",
            U(u64::from(
                rec.header.misc & premap_abi::header::RECORD_MISC_SWITCH_OUT != 0,
            )),
        )),
        RecordBody::SwitchCpuWide {
            next_prev_pid,
            next_prev_tid,
        } => f.extend([
            ("next_prev_pid", U(next_prev_pid.into())),
            ("next_prev_tid", U(next_prev_tid.into())),
        ]),
        RecordBody::Namespaces(n) => f.extend([
            ("pid", U(n.pid.into())),
            ("tid", U(n.tid.into())),
            ("namespaces", U(n.link_info.len() as u64 / 2)),
        ]),
        RecordBody::Ksymbol(k) => f.extend([
            ("addr", X(k.addr)),
            ("len", U(k.len.into())),
            ("ksym_type", U(k.ksym_type.into())),
            ("name", S(k.name)),
        ]),
        RecordBody::BpfEvent(b) => f.extend([
            ("bpf_type", U(b.r#type.into())),
            ("prog_id", U(b.id.into())),
        ]),
        RecordBody::Cgroup(c) => f.extend([("cgroup_id", U(c.id)), ("path", S(c.path))]),
        RecordBody::TextPoke(t) => f.extend([
            ("addr", X(t.addr)),
            ("old", B(t.old_bytes)),
            ("new", B(t.new_bytes)),
        ]),
        RecordBody::AuxOutputHwId { hw_id } => f.push(("hw_id", U(hw_id))),
        RecordBody::CallchainDeferred(c) => {
            f.extend([("cookie", U(c.cookie)), ("callchain", Chain(c.ips))])
        }
        RecordBody::HeaderAttr(a) => f.extend([
            ("attr_type", U(a.attr.r#type.into())),
            ("config", X(a.attr.config)),
            ("sample_type", X(a.attr.sample_type)),
            ("ids", L(a.ids)),
        ]),
        RecordBody::FinishedRound | RecordBody::FinishedInit => {}
        RecordBody::Raw { r#type, body } => {
            let decoded = body
                .as_single()
                .is_some_and(|b| crate::tool_records::fields(r#type, rec.header.misc, b, f));
            if !decoded {
                f.push(("body_size", U(body.len() as u64)));
            }
        }
        _ => {}
    }
    if let Some(id) = rec.sample_id {
        sample_id_fields(&id, f);
    }
}

fn mmap2_fields<'a>(m: &Mmap2Record<'a>, f: &mut Fields<'a>) {
    use Value::*;
    f.extend([
        ("pid", U(m.pid.into())),
        ("tid", U(m.tid.into())),
        ("addr", X(m.addr)),
        ("len", X(m.len)),
        ("pgoff", X(m.pgoff)),
    ]);
    match m.file_id {
        Mmap2FileId::Inode { maj, min, ino, .. } => f.extend([
            ("maj", U(maj.into())),
            ("min", U(min.into())),
            ("ino", U(ino)),
        ]),
        Mmap2FileId::BuildId { size, .. } => f.push(("build_id_size", U(size.into()))),
    }
    f.extend([
        ("prot", U(m.prot.into())),
        ("flags", X(m.flags.into())),
        ("filename", S(m.filename)),
    ]);
}

fn sample_id_fields(s: &SampleId, f: &mut Fields<'_>) {
    let mut opt = |name, v: Option<u64>| {
        if let Some(v) = v {
            f.push((name, Value::U(v)));
        }
    };
    opt("sample_pid", s.pid.map(u64::from));
    opt("sample_tid", s.tid.map(u64::from));
    opt("sample_time", s.time);
    opt("sample_cpu", s.cpu.map(u64::from));
    opt("sample_id", s.id.or(s.identifier));
}

/// The `sample_type` bits [`layout_sample_fields`] covers (abi's `SampleLayout::COVERED`): samples
/// with nothing else skip the full parse.
pub const LAYOUT_SAMPLE_BITS: u64 = premap_abi::sample::SampleLayout::COVERED;

/// The fields of a SAMPLE whose `sample_type` lies within [`LAYOUT_SAMPLE_BITS`], read through a
/// [`SampleLayout`](premap_abi::sample::SampleLayout) in the order and form of the full path; `false`
/// (and nothing appended) when the body is too short, so the caller falls back to the full parse.
pub fn layout_sample_fields(sample_type: u64, body: &[u8], f: &mut Fields<'_>) -> bool {
    use Value::*;
    if sample_type & !LAYOUT_SAMPLE_BITS != 0 || body.len() < 8 * sample_type.count_ones() as usize
    {
        return false;
    }
    let l = premap_abi::sample::SampleLayout::new(sample_type);
    if let Some((pid, tid)) = l.pid_tid(body) {
        f.extend([("pid", U(pid.into())), ("tid", U(tid.into()))]);
    }
    let mut opt = |name, v: Option<Value<'static>>| {
        if let Some(v) = v {
            f.push((name, v));
        }
    };
    opt("time", l.time(body).map(U));
    opt("cpu", l.cpu(body).map(|c| U(c.into())));
    opt("ip", l.ip(body).map(X));
    opt("addr", l.addr(body).map(X));
    opt("period", l.period(body).map(U));
    opt("id", l.id(body).or(l.identifier(body)).map(U));
    opt("stream_id", l.stream_id(body).map(U));
    true
}

/// The name shown for a record type.
pub fn type_name(ty: u32) -> std::borrow::Cow<'static, str> {
    match record_type_name(ty) {
        Some(n) => n.into(),
        None => format!("UNKNOWN({ty})").into(),
    }
}

/// Appends a text line: `OFFSET TYPE [size] misc=M event: key=value ...`.
pub fn text_line(
    out: &mut Vec<u8>,
    offset: u64,
    header: &premap_abi::EventHeader,
    event: Option<&str>,
    f: &Fields<'_>,
) {
    put_hex(out, offset);
    out.push(b' ');
    out.extend_from_slice(type_name(header.r#type).as_bytes());
    out.extend_from_slice(b" size=");
    put_u64(out, header.size.into());
    out.extend_from_slice(b" misc=");
    put_hex(out, header.misc.into());
    if let Some(e) = event {
        out.extend_from_slice(b" event=");
        out.extend_from_slice(e.as_bytes());
    }
    for (k, v) in f {
        if let Value::Trace(t) = v {
            out.extend_from_slice(b" trace: ");
            out.extend(t.print.bytes().map(|b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b
                } else {
                    b'?'
                }
            }));
            continue;
        }
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        match *v {
            Value::U(n) => put_u64(out, n),
            Value::X(n) => put_hex(out, n),
            Value::S(s) => out.extend(
                s.bytes()
                    .map(|b| if b.is_ascii_graphic() { b } else { b'?' }),
            ),
            Value::Text(ref t) => out.extend(t.bytes().map(|b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b
                } else {
                    b'?'
                }
            })),
            Value::B(b) => {
                for x in b.bytes() {
                    write!(out, "{x:02x}").ok();
                }
            }
            Value::L(l) => {
                out.push(b'[');
                for (i, w) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    put_hex(out, w);
                }
                out.push(b']');
            }
            Value::Chain(l) => {
                out.push(b'[');
                for (i, w) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match context_name(w) {
                        Some(name) => out.extend_from_slice(name.as_bytes()),
                        None => put_hex(out, w),
                    }
                }
                out.push(b']');
            }
            Value::Read(r) => put_read(out, &r, false),
            Value::Regs(r, arch) => put_regs(out, &r, arch, false),
            Value::Stack(st) => put_stack(out, &st, false),
            Value::Branches(b) => put_branches(out, &b, false),
            Value::Trace(_) => {} // written before the `key=` form
        }
    }
    out.push(b'\n');
}

/// Appends a JSON line: `{"offset":..,"type":"SAMPLE","misc":..,"size":..,"event":..,fields...}`.
/// Hex values are JSON strings (`"0x..."`), so 64-bit addresses survive parsers that use doubles.
pub fn json_line(
    out: &mut Vec<u8>,
    offset: u64,
    header: &premap_abi::EventHeader,
    event: Option<&str>,
    f: &Fields<'_>,
) {
    out.extend_from_slice(b"{\"offset\":");
    put_u64(out, offset);
    out.extend_from_slice(b",\"type\":");
    put_json_str(out, type_name(header.r#type).bytes());
    out.extend_from_slice(b",\"misc\":");
    put_u64(out, header.misc.into());
    out.extend_from_slice(b",\"size\":");
    put_u64(out, header.size.into());
    if let Some(e) = event {
        out.extend_from_slice(b",\"event\":");
        put_json_str(out, e.bytes());
    }
    for (k, v) in f {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        match *v {
            Value::U(n) => put_u64(out, n),
            Value::X(n) => {
                out.push(b'"');
                put_hex(out, n);
                out.push(b'"');
            }
            Value::S(s) => put_json_str(out, s.bytes()),
            Value::Text(ref t) => put_json_str(out, t.bytes()),
            Value::Trace(ref t) => {
                out.extend_from_slice(b"{\"event\":");
                put_json_str(out, t.event.bytes());
                out.extend_from_slice(b",\"print\":");
                put_json_str(out, t.print.bytes());
                out.extend_from_slice(b",\"fields\":{");
                for (i, (name, value)) in t.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    put_json_str(out, name.bytes());
                    out.push(b':');
                    out.extend_from_slice(value.as_bytes());
                }
                out.extend_from_slice(b"}}");
            }
            Value::B(b) => {
                out.push(b'"');
                for x in b.bytes() {
                    write!(out, "{x:02x}").ok();
                }
                out.push(b'"');
            }
            Value::L(l) => {
                out.push(b'[');
                for (i, w) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    put_hex(out, w);
                    out.push(b'"');
                }
                out.push(b']');
            }
            Value::Chain(l) => {
                out.push(b'[');
                for (i, w) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.push(b'"');
                    match context_name(w) {
                        Some(name) => out.extend_from_slice(name.as_bytes()),
                        None => put_hex(out, w),
                    }
                    out.push(b'"');
                }
                out.push(b']');
            }
            Value::Read(r) => put_read(out, &r, true),
            Value::Regs(r, arch) => put_regs(out, &r, arch, true),
            Value::Stack(st) => put_stack(out, &st, true),
            Value::Branches(b) => put_branches(out, &b, true),
        }
    }
    out.extend_from_slice(b"}\n");
}

/// Writes `buf` to `w` and clears it once it holds more than `threshold` bytes.
pub fn flush_if_full(w: &mut impl Write, buf: &mut Vec<u8>, threshold: usize) -> io::Result<()> {
    if buf.len() >= threshold {
        w.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn transaction_words_name_their_flags_and_abort_code() {
        assert_eq!(super::txn_text(0), "none");
        assert_eq!(
            super::txn_text(0b110 | (3 << 32)),
            "TRANSACTION|SYNC abort=0x3"
        );
    }

    use super::*;

    fn json(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        put_json_str(&mut out, bytes.iter().copied());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_strings_are_escaped_and_always_valid_utf8() {
        assert_eq!(json(b"/usr/bin/ls"), "\"/usr/bin/ls\"");
        assert_eq!(json(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(json(b"tab\there\n\x01"), "\"tab\\there\\n\\u0001\"");
        assert_eq!(json(b"caf\xc3\xa9"), "\"caf\u{e9}\"");
        assert_eq!(json(b"bad\xff"), "\"bad\u{fffd}\"");
    }

    #[test]
    fn hex_matches_the_formatter() {
        for v in [0u64, 1, 0xf, 0x10, 0xdead_beef, u64::MAX] {
            let mut out = Vec::new();
            put_hex(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v:#x}"));
        }
    }
}
