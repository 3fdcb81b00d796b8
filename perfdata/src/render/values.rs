//! The compound sample values (read-format blocks, registers, user stacks, branch stacks) written
//! as text or JSON.

use super::scalar::{put_hex, put_u64};
use premap_abi::regs::RegArch;
use premap_abi::sample::{ReadValues, Regs, UserStack};
use std::io::Write;

/// `key=` (text) or `"key":` (JSON), after a comma unless `first`.
fn put_key(out: &mut Vec<u8>, first: bool, k: &str, json: bool) {
    if !first {
        out.push(b',');
    }
    if json {
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
    } else {
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
    }
}

/// A hex value: bare in text, a string in JSON.
fn put_hex_value(out: &mut Vec<u8>, v: u64, json: bool) {
    if json {
        out.push(b'"');
    }
    put_hex(out, v);
    if json {
        out.push(b'"');
    }
}

/// Sampled registers: `{abi=2,AX=0x..,...}` by name (a bit without a name as `r<bit>`), or
/// `{abi=2,mask=0x..,regs=[...]}` when the architecture is not known; JSON alike, values as hex
/// strings.
pub(super) fn put_regs(out: &mut Vec<u8>, r: &Regs<'_>, arch: Option<RegArch>, json: bool) {
    out.push(b'{');
    put_key(out, true, "abi", json);
    put_u64(out, r.abi);
    match arch {
        Some(arch) => {
            let mut bits = (0..64u32).filter(|b| r.mask & (1u64 << b) != 0);
            for (name, v) in arch.named(r.mask, r.regs.iter()) {
                let bit = bits.next().unwrap_or(0);
                match name {
                    Some(n) => put_key(out, false, n, json),
                    None => put_key(out, false, &format!("r{bit}"), json),
                }
                put_hex_value(out, v, json);
            }
        }
        None => {
            put_key(out, false, "mask", json);
            put_hex_value(out, r.mask, json);
            put_key(out, false, "regs", json);
            out.push(b'[');
            for (i, v) in r.regs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                put_hex_value(out, v, json);
            }
            out.push(b']');
        }
    }
    out.push(b'}');
}

/// A user stack dump: `{size=N,dyn_size=M}` (the bytes themselves are not printed).
pub(super) fn put_stack(out: &mut Vec<u8>, st: &UserStack<'_>, json: bool) {
    out.push(b'{');
    put_key(out, true, "size", json);
    put_u64(out, st.data.len() as u64);
    if let Some(d) = st.dyn_size {
        put_key(out, false, "dyn_size", json);
        put_u64(out, d);
    }
    out.push(b'}');
}

/// A read-format block: text `{enabled=E,running=R,values=[{value=V,id=I,lost=L},...]}`, JSON
/// `{"time_enabled":E,"time_running":R,"values":[{"value":V,"id":I,"lost":L},...]}`, each field only
/// when `read_format` has it.
pub(super) fn put_read(out: &mut Vec<u8>, r: &ReadValues<'_>, json: bool) {
    let key = |out: &mut Vec<u8>, first: bool, k: &str| put_key(out, first, k, json);
    out.push(b'{');
    let mut first = true;
    for (k, v) in [
        (
            if json { "time_enabled" } else { "enabled" },
            r.time_enabled,
        ),
        (
            if json { "time_running" } else { "running" },
            r.time_running,
        ),
    ] {
        if let Some(v) = v {
            key(out, first, k);
            put_u64(out, v);
            first = false;
        }
    }
    key(out, first, "values");
    out.push(b'[');
    for (i, v) in r.values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        key(out, true, "value");
        put_u64(out, v.value);
        for (k, x) in [("id", v.id), ("lost", v.lost)] {
            if let Some(x) = x {
                key(out, false, k);
                put_u64(out, x);
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// A branch stack: text `[0xFROM/0xTO/M|P|-/X|-/A|-/CYCLES/TYPE,...]` (perf script's brstack
/// form with the type), JSON `[{"from":"0x..","to":"0x..","mispred":b,"predicted":b,"in_tx":b,
/// "abort":b,"cycles":n,"type":"COND","spec":n,"priv":n},...]`.
pub(super) fn put_branches(out: &mut Vec<u8>, b: &premap_abi::branch::BranchStack<'_>, json: bool) {
    use premap_abi::branch::{branch_new_type_name, branch_type_name, BRANCH_EXTEND_ABI};
    out.push(b'[');
    for (i, e) in b.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let ty = if e.branch_type() == BRANCH_EXTEND_ABI {
            branch_new_type_name(e.new_type())
        } else {
            branch_type_name(e.branch_type())
        };
        if json {
            out.extend_from_slice(b"{\"from\":\"");
            put_hex(out, e.from);
            out.extend_from_slice(b"\",\"to\":\"");
            put_hex(out, e.to);
            write!(
                out,
                "\",\"mispred\":{},\"predicted\":{},\"in_tx\":{},\"abort\":{},\"cycles\":{},\"type\":\"{ty}\",\"spec\":{},\"priv\":{}}}",
                e.mispred(),
                e.predicted(),
                e.in_tx(),
                e.abort(),
                e.cycles(),
                e.spec(),
                e.privilege()
            )
            .ok();
        } else {
            put_hex(out, e.from);
            out.push(b'/');
            put_hex(out, e.to);
            let p = if e.mispred() {
                'M'
            } else if e.predicted() {
                'P'
            } else {
                '-'
            };
            let x = if e.in_tx() { 'X' } else { '-' };
            let a = if e.abort() { 'A' } else { '-' };
            write!(out, "/{p}/{x}/{a}/{}/{ty}", e.cycles()).ok();
        }
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use premap_abi::branch::BranchStack;
    use premap_abi::raw::RawData;

    #[test]
    fn branch_entries_show_addresses_flags_cycles_and_type() {
        let mut b = Vec::new();
        // A predicted conditional branch of 7 cycles, then a mispredicted return in a transaction
        // that aborted, then an extended-ABI fault.
        for (from, to, flags) in [
            (0x1000u64, 0x2000u64, 0b10 | (7 << 4) | (1 << 20)),
            (0x3000, 0x4000, 0b1101 | (6 << 20) | (1 << 30)),
            (0x5000, 0x6000, (15 << 20) | (2 << 26)),
        ] {
            for w in [from, to, flags] {
                b.extend_from_slice(&w.to_ne_bytes());
            }
        }
        let s = BranchStack {
            hw_idx: None,
            entries: RawData::Single(&b),
            counters: None,
        };
        let mut out = Vec::new();
        put_branches(&mut out, &s, false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[0x1000/0x2000/P/-/-/7/COND,0x3000/0x4000/M/X/A/0/RET,0x5000/0x6000/-/-/-/0/FAULT_INST]"
        );
        let mut out = Vec::new();
        put_branches(&mut out, &s, true);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[1]["mispred"], true);
        assert_eq!(v[1]["priv"], 1);
        assert_eq!(v[0]["cycles"], 7);
        assert_eq!(v[2]["type"], "FAULT_INST");
        assert_eq!(v[0]["from"], "0x1000");
    }
}
