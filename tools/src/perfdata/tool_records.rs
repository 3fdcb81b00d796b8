//! The perf tool's own record types (64 and up, never written by the kernel), decoded for `premap
//! dump` as tools/lib/perf/include/perf/event.h lays them out: ID_INDEX, THREAD_MAP, CPU_MAP,
//! EVENT_UPDATE, TIME_CONV, STAT_CONFIG, STAT, STAT_ROUND, HEADER_BUILD_ID, AUXTRACE_INFO, AUXTRACE,
//! AUXTRACE_ERROR. Every read is bounds-checked; lists are cut at [`MAX_LISTED`] entries with a count.

use crate::render::{Fields, Value};
use premap_abi::header::*;
use std::fmt::Write as _;

/// The most entries of a list written out in full.
pub const MAX_LISTED: usize = 64;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
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
    match u16_at(d, 0)? {
        0 => {
            let nr = usize::from(u16_at(d, 2)?);
            let cpus: Option<Vec<u32>> = (0..nr)
                .map(|i| u16_at(d, 4 + 2 * i).map(u32::from))
                .collect();
            let cpus = cpus?;
            // (u16)-1 is perf's "any CPU".
            if cpus == [0xffff] {
                return Some("any".into());
            }
            Some(cpu_list(cpus.into_iter()))
        }
        1 => {
            let nr = usize::from(u16_at(d, 2)?);
            let long = u16_at(d, 4)?;
            let (start, step) = match long {
                4 => (6, 4),
                8 => (10, 8),
                _ => return None,
            };
            let mut cpus = Vec::new();
            for i in 0..nr.min(1024) {
                let at = start + step * i;
                let word = if step == 4 {
                    u64::from(u32_at(d, at)?)
                } else {
                    u64_at(d, at)?
                };
                let base = (i * step * 8) as u32;
                cpus.extend(
                    (0..step as u32 * 8)
                        .filter(|b| word >> b & 1 == 1)
                        .map(|b| base + b),
                );
            }
            Some(cpu_list(cpus.into_iter()))
        }
        2 => {
            let any = *d.get(2)? != 0;
            let (a, b) = (u16_at(d, 4)?, u16_at(d, 6)?);
            Some(format!("{a}-{b}{}", if any { " and any" } else { "" }))
        }
        t => Some(format!("type {t}")),
    }
}

/// The name an EVENT_UPDATE record of type NAME (2) gives to the event with sample id `id` (pipe mode names its
/// events this way).
pub fn event_update_name(body: &[u8]) -> Option<(u64, String)> {
    (u64_at(body, 0)? == 2).then(|| Some((u64_at(body, 8)?, cstr(body.get(16..)?))))?
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
    match ty {
        RECORD_ID_INDEX => {
            let nr = usize::try_from(u64_at(b, 0)?).ok()?;
            f.push(("nr", U(nr as u64)));
            let s = list(nr, |i, s| {
                let e = 8 + 32 * i;
                let (id, idx, cpu, tid) = (
                    u64_at(b, e)?,
                    u64_at(b, e + 8)?,
                    u64_at(b, e + 16)?,
                    u64_at(b, e + 24)?,
                );
                let _ = write!(s, "{id}:idx{idx}/cpu{}/tid{}", cpu as i64, tid as i64);
                Some(())
            });
            text(f, "entries", s);
        }
        RECORD_THREAD_MAP => {
            let nr = usize::try_from(u64_at(b, 0)?).ok()?;
            f.push(("nr", U(nr as u64)));
            let s = list(nr, |i, s| {
                let e = 8 + 24 * i;
                let pid = u64_at(b, e)? as i64;
                let _ = write!(s, "{pid}:{}", cstr(b.get(e + 8..e + 24)?));
                Some(())
            });
            text(f, "threads", s);
        }
        RECORD_CPU_MAP => text(f, "cpus", cpu_map(b)?),
        RECORD_EVENT_UPDATE => {
            let (kind, id) = (u64_at(b, 0)?, u64_at(b, 8)?);
            let d = b.get(16..)?;
            f.push(("id", U(id)));
            match kind {
                0 => text(f, "unit", cstr(d)),
                1 => text(f, "scale", f64::from_bits(u64_at(d, 0)?).to_string()),
                2 => text(f, "name", cstr(d)),
                3 => text(f, "cpus", cpu_map(d)?),
                k => f.push(("update_type", U(k))),
            }
        }
        RECORD_TIME_CONV => {
            f.extend([
                ("time_shift", U(u64_at(b, 0)?)),
                ("time_mult", U(u64_at(b, 8)?)),
                ("time_zero", U(u64_at(b, 16)?)),
            ]);
            if let (Some(cycles), Some(mask)) = (u64_at(b, 24), u64_at(b, 32)) {
                f.extend([("time_cycles", U(cycles)), ("time_mask", X(mask))]);
                f.extend([
                    ("cap_user_time_zero", U((*b.get(40)?).into())),
                    ("cap_user_time_short", U((*b.get(41)?).into())),
                ]);
            }
        }
        RECORD_STAT_CONFIG => {
            let nr = usize::try_from(u64_at(b, 0)?).ok()?;
            let s = list(nr, |i, s| {
                let (tag, val) = (u64_at(b, 8 + 16 * i)?, u64_at(b, 16 + 16 * i)?);
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
            ("id", U(u64_at(b, 0)?)),
            ("cpu", U(u32_at(b, 8)?.into())),
            ("thread", U(u32_at(b, 12)?.into())),
            ("val", U(u64_at(b, 16)?)),
            ("ena", U(u64_at(b, 24)?)),
            ("run", U(u64_at(b, 32)?)),
        ]),
        RECORD_STAT_ROUND => {
            let kind = u64_at(b, 0)?;
            let name = if kind == 0 { "interval" } else { "final" };
            text(f, "round", name.into());
            f.push(("time", U(u64_at(b, 8)?)));
        }
        RECORD_HEADER_BUILD_ID => {
            text(f, "pid", (u32_at(b, 0)? as i32).to_string());
            let raw = b.get(4..28)?;
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
            text(f, "filename", cstr(b.get(28..)?));
        }
        RECORD_AUXTRACE_INFO => {
            f.push(("auxtrace_type", U(u32_at(b, 0)?.into())));
            f.push(("priv_words", U((b.len().saturating_sub(8) / 8) as u64)));
        }
        RECORD_AUXTRACE => f.extend([
            ("size", U(u64_at(b, 0)?)),
            ("offset", X(u64_at(b, 8)?)),
            ("reference", X(u64_at(b, 16)?)),
            ("idx", U(u32_at(b, 24)?.into())),
            ("tid", U(u32_at(b, 28)?.into())),
            ("cpu", U(u32_at(b, 32)?.into())),
        ]),
        RECORD_AUXTRACE_ERROR => {
            f.extend([
                ("error_type", U(u32_at(b, 0)?.into())),
                ("code", U(u32_at(b, 4)?.into())),
                ("cpu", U(u32_at(b, 8)?.into())),
                ("pid", U(u32_at(b, 12)?.into())),
                ("tid", U(u32_at(b, 16)?.into())),
                ("ip", X(u64_at(b, 24)?)),
            ]);
            text(f, "msg", cstr(b.get(32..96)?));
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
