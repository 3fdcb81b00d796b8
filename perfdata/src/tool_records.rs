//! The perf tool's own record types (64 and up, never written by the kernel), decoded for `premap
//! dump` as tools/lib/perf/include/perf/event.h lays them out: ID_INDEX, THREAD_MAP, CPU_MAP,
//! EVENT_UPDATE, TIME_CONV, STAT_CONFIG, STAT, STAT_ROUND, HEADER_BUILD_ID, AUXTRACE_INFO, AUXTRACE,
//! AUXTRACE_ERROR. Every read is bounds-checked; lists are cut at [`MAX_LISTED`] entries with a count.

use crate::render::value::{Fields, Value};
use premap_abi::header::*;
use premap_abi::raw::{Cursor, RawData};
use std::fmt::Write as _;

/// The most entries of a list written out in full.
pub const MAX_LISTED: usize = 64;

/// A cursor over a record body (abi's bounds-checked reader); every read is `None` past the end.
struct Body<'a>(Cursor<'a>);

impl<'a> Body<'a> {
    fn new(b: &'a [u8]) -> Self {
        Body(Cursor::new(RawData::Single(b)))
    }
    fn u8(&mut self) -> Option<u8> {
        self.0.read_u8("tool record").ok()
    }
    fn u16(&mut self) -> Option<u16> {
        self.0.read_u16("tool record").ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.0.read_u32("tool record").ok()
    }
    fn u64(&mut self) -> Option<u64> {
        self.0.read_u64("tool record").ok()
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        self.0.take(n, "tool record").ok()?.as_single()
    }
    /// What is left.
    fn rest(&self) -> &'a [u8] {
        self.0.rest().as_single().unwrap_or_default()
    }
}

fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or_default()).into_owned()
}

/// `n` entries listed with `each`, cut after [`MAX_LISTED`].
fn list(n: usize, mut each: impl FnMut(usize, &mut String) -> Option<()>) -> String {
    let mut s = String::new();
    for i in 0..n.min(MAX_LISTED) {
        if i > 0 {
            s.push(' ');
        }
        if each(i, &mut s).is_none() {
            s.push_str("(cut)");
            return s;
        }
    }
    if n > MAX_LISTED {
        let _ = write!(s, " ... ({n} in all)");
    }
    s
}

/// A CPU list in perf's short form (`0-3,8`).
fn cpu_list(cpus: impl Iterator<Item = u32>) -> String {
    let mut out = String::new();
    let mut run: Option<(u32, u32)> = None;
    let flush = |out: &mut String, (a, b): (u32, u32)| {
        if !out.is_empty() {
            out.push(',');
        }
        if a == b {
            let _ = write!(out, "{a}");
        } else {
            let _ = write!(out, "{a}-{b}");
        }
    };
    for c in cpus {
        run = match run {
            Some((a, b)) if c == b + 1 => Some((a, c)),
            Some(r) => {
                flush(&mut out, r);
                Some((c, c))
            }
            None => Some((c, c)),
        };
    }
    if let Some(r) = run {
        flush(&mut out, r);
    }
    out
}

/// `struct perf_record_cpu_map_data`: CPUS (a u16 list), MASK (32- or 64-bit words) or RANGE.
pub fn cpu_map(d: &[u8]) -> Option<String> {
    let mut c = Body::new(d);
    match c.u16()? {
        0 => {
            let nr = c.u16()?;
            let cpus: Option<Vec<u32>> = (0..nr).map(|_| c.u16().map(u32::from)).collect();
            let cpus = cpus?;
            // (u16)-1 is perf's "any CPU".
            if cpus == [0xffff] {
                return Some("any".into());
            }
            Some(cpu_list(cpus.into_iter()))
        }
        1 => {
            let nr = usize::from(c.u16()?);
            let long = c.u16()?;
            match long {
                4 => {}
                // perf_record_mask_cpu_map64 pads its words to 8 bytes.
                8 => c.bytes(4).map(|_| ())?,
                _ => return None,
            }
            let mut cpus = Vec::new();
            for i in 0..nr.min(1024) {
                let word = if long == 4 {
                    u64::from(c.u32()?)
                } else {
                    c.u64()?
                };
                let bits = u32::from(long) * 8;
                let base = i as u32 * bits;
                cpus.extend((0..bits).filter(|b| word >> b & 1 == 1).map(|b| base + b));
            }
            Some(cpu_list(cpus.into_iter()))
        }
        2 => {
            let any = c.u8()? != 0;
            c.u8()?;
            let (a, b) = (c.u16()?, c.u16()?);
            Some(format!("{a}-{b}{}", if any { " and any" } else { "" }))
        }
        t => Some(format!("type {t}")),
    }
}

/// The name an EVENT_UPDATE record of type NAME (2) gives to the event with sample id `id` (pipe mode names its
/// events this way).
pub fn event_update_name(body: &[u8]) -> Option<(u64, String)> {
    let mut c = Body::new(body);
    let (kind, id) = (c.u64()?, c.u64()?);
    (kind == 2).then(|| (id, cstr(c.rest())))
}

fn text(f: &mut Fields<'_>, name: &'static str, s: String) {
    f.push((name, Value::Text(s)));
}

/// Appends the fields of a perf-tool record; `false` for a type this module does not decode.
pub fn fields(ty: u32, misc: u16, b: &[u8], f: &mut Fields<'_>) -> bool {
    decode(ty, misc, b, f).is_some()
}

fn decode(ty: u32, misc: u16, b: &[u8], f: &mut Fields<'_>) -> Option<()> {
    use Value::{U, X};
    let c = &mut Body::new(b);
    match ty {
        RECORD_ID_INDEX => {
            let nr = usize::try_from(c.u64()?).ok()?;
            f.push(("nr", U(nr as u64)));
            let s = list(nr, |_, s| {
                let (id, idx, cpu, tid) = (c.u64()?, c.u64()?, c.u64()?, c.u64()?);
                let _ = write!(s, "{id}:idx{idx}/cpu{}/tid{}", cpu as i64, tid as i64);
                Some(())
            });
            text(f, "entries", s);
        }
        RECORD_THREAD_MAP => {
            let nr = usize::try_from(c.u64()?).ok()?;
            f.push(("nr", U(nr as u64)));
            let s = list(nr, |_, s| {
                let pid = c.u64()? as i64;
                let _ = write!(s, "{pid}:{}", cstr(c.bytes(16)?));
                Some(())
            });
            text(f, "threads", s);
        }
        RECORD_CPU_MAP => text(f, "cpus", cpu_map(b)?),
        RECORD_EVENT_UPDATE => {
            let (kind, id) = (c.u64()?, c.u64()?);
            f.push(("id", U(id)));
            match kind {
                0 => text(f, "unit", cstr(c.rest())),
                1 => text(f, "scale", f64::from_bits(c.u64()?).to_string()),
                2 => text(f, "name", cstr(c.rest())),
                3 => text(f, "cpus", cpu_map(c.rest())?),
                k => f.push(("update_type", U(k))),
            }
        }
        RECORD_TIME_CONV => {
            f.extend([
                ("time_shift", U(c.u64()?)),
                ("time_mult", U(c.u64()?)),
                ("time_zero", U(c.u64()?)),
            ]);
            // Newer perf adds the cycle fields and the capability bytes.
            if let (Some(cycles), Some(mask)) = (c.u64(), c.u64()) {
                f.extend([("time_cycles", U(cycles)), ("time_mask", X(mask))]);
                f.extend([
                    ("cap_user_time_zero", U(c.u8()?.into())),
                    ("cap_user_time_short", U(c.u8()?.into())),
                ]);
            }
        }
        RECORD_STAT_CONFIG => {
            let nr = usize::try_from(c.u64()?).ok()?;
            let s = list(nr, |_, s| {
                let (tag, val) = (c.u64()?, c.u64()?);
                let name = match tag {
                    0 => "aggr_mode",
                    1 => "interval",
                    2 => "scale",
                    3 => "aggr_level",
                    _ => "tag",
                };
                let _ = write!(s, "{name}={val}");
                Some(())
            });
            text(f, "config", s);
        }
        RECORD_STAT => f.extend([
            ("id", U(c.u64()?)),
            ("cpu", U(c.u32()?.into())),
            ("thread", U(c.u32()?.into())),
            ("val", U(c.u64()?)),
            ("ena", U(c.u64()?)),
            ("run", U(c.u64()?)),
        ]),
        RECORD_STAT_ROUND => {
            let name = if c.u64()? == 0 { "interval" } else { "final" };
            text(f, "round", name.into());
            f.push(("time", U(c.u64()?)));
        }
        RECORD_HEADER_BUILD_ID => {
            text(f, "pid", (c.u32()? as i32).to_string());
            let raw = c.bytes(24)?;
            // PERF_RECORD_MISC_BUILD_ID_SIZE: the size byte after 20 bytes of id is valid.
            let len = if misc & (1 << 15) != 0 {
                usize::from(raw[20]).min(20)
            } else {
                20
            };
            let mut id = String::new();
            for x in &raw[..len] {
                let _ = write!(id, "{x:02x}");
            }
            text(f, "build_id", id);
            text(f, "filename", cstr(c.rest()));
        }
        RECORD_AUXTRACE_INFO => {
            f.push(("auxtrace_type", U(c.u32()?.into())));
            f.push(("priv_words", U((b.len().saturating_sub(8) / 8) as u64)));
        }
        RECORD_AUXTRACE => f.extend([
            ("size", U(c.u64()?)),
            ("offset", X(c.u64()?)),
            ("reference", X(c.u64()?)),
            ("idx", U(c.u32()?.into())),
            ("tid", U(c.u32()?.into())),
            ("cpu", U(c.u32()?.into())),
        ]),
        RECORD_AUXTRACE_ERROR => {
            f.extend([
                ("error_type", U(c.u32()?.into())),
                ("code", U(c.u32()?.into())),
                ("cpu", U(c.u32()?.into())),
                ("pid", U(c.u32()?.into())),
                ("tid", U(c.u32()?.into())),
            ]);
            c.u32()?; // fmt
            f.push(("ip", X(c.u64()?)));
            text(f, "msg", cstr(c.bytes(64)?));
        }
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[u64]) -> Vec<u8> {
        w.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    fn shown(ty: u32, b: &[u8]) -> String {
        let mut f = Fields::new();
        assert!(fields(ty, 0, b, &mut f), "type {ty} not decoded");
        let mut out = Vec::new();
        crate::render::text_line(
            &mut out,
            0,
            &premap_abi::EventHeader {
                r#type: ty,
                misc: 0,
                size: 8,
            },
            None,
            &f,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn id_index_thread_and_cpu_maps_list_their_entries() {
        let b = words(&[2, 10, 0, 0, u64::MAX, 11, 0, 1, u64::MAX]);
        assert!(shown(RECORD_ID_INDEX, &b)
            .contains("nr=2 entries=10:idx0/cpu0/tid-1 11:idx0/cpu1/tid-1"));
        let mut b = words(&[1, 4242]);
        b.extend_from_slice(b"sh\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert!(shown(RECORD_THREAD_MAP, &b).contains("threads=4242:sh"));
        let mut b = vec![0, 0, 3, 0];
        for c in [0u16, 1, 3] {
            b.extend_from_slice(&c.to_ne_bytes());
        }
        assert_eq!(cpu_map(&b).unwrap(), "0-1,3");
        // A 64-bit mask with CPUs 0, 2 and 64.
        let mut m = vec![1u8, 0, 2, 0, 8, 0, 0, 0, 0, 0];
        m.extend_from_slice(&5u64.to_ne_bytes());
        m.extend_from_slice(&1u64.to_ne_bytes());
        assert_eq!(cpu_map(&m).unwrap(), "0,2,64");
        assert_eq!(cpu_map(&[2, 0, 0, 0, 4, 0, 7, 0]).unwrap(), "4-7");
    }

    #[test]
    fn an_event_update_names_an_event() {
        // PERF_EVENT_UPDATE__NAME is 2, __SCALE 1 (perf's enum perf_event_update_type).
        let mut b = words(&[2, 77]);
        b.extend_from_slice(b"sched:sched_switch\0\0\0\0\0\0");
        assert_eq!(
            event_update_name(&b),
            Some((77, "sched:sched_switch".into()))
        );
        assert!(shown(RECORD_EVENT_UPDATE, &b).contains("id=77 name=sched:sched_switch"));
        let b = words(&[1, 77, 0.5f64.to_bits()]);
        assert!(shown(RECORD_EVENT_UPDATE, &b).contains("scale=0.5"));
    }

    #[test]
    fn every_cut_and_hostile_count_is_refused_without_panicking() {
        let full = [
            (RECORD_ID_INDEX, words(&[u64::MAX, 1, 2, 3, 4])),
            (RECORD_THREAD_MAP, words(&[u64::MAX, 1, 2, 3])),
            (
                RECORD_CPU_MAP,
                vec![1, 0, 0xff, 0xff, 8, 0, 0, 0, 0, 0, 1, 2],
            ),
            (RECORD_EVENT_UPDATE, words(&[3, 1, 0x0000_ffff_0000])),
            (RECORD_TIME_CONV, words(&[1, 2, 3, 4, 5, 6])),
            (RECORD_STAT_CONFIG, words(&[1 << 40, 0, 1])),
            (RECORD_STAT, words(&[1, 2, 3, 4, 5])),
            (RECORD_STAT_ROUND, words(&[1, 2])),
            (RECORD_HEADER_BUILD_ID, vec![0xab; 40]),
            (RECORD_AUXTRACE_INFO, words(&[1, 2])),
            (RECORD_AUXTRACE, words(&[1, 2, 3, 4, 5])),
            (RECORD_AUXTRACE_ERROR, vec![0x41; 100]),
        ];
        for (ty, b) in full {
            for cut in 0..=b.len() {
                let mut f = Fields::new();
                let _ = fields(ty, 0, &b[..cut], &mut f);
            }
        }
    }
}
