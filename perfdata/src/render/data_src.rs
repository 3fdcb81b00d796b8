//! A sample's memory source (`data_src`) as perf script prints it
//! (`perf_script__meminfo_scnprintf` in tools/perf/util/mem-events.c):
//! `|OP LOAD|LVL L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A`.

use premap_abi::data_src::*;

const LVL: [&str; 14] = [
    "N/A",
    "HIT",
    "MISS",
    "L1",
    "LFB/MAB",
    "L2",
    "L3",
    "Local RAM",
    "Remote RAM (1 hop)",
    "Remote RAM (2 hops)",
    "Remote Cache (1 hop)",
    "Remote Cache (2 hops)",
    "I/O",
    "Uncached",
];
const SNOOP: [&str; 5] = ["N/A", "None", "Hit", "Miss", "HitM"];
const SNOOPX: [&str; 2] = ["Fwd", "Peer"];
const TLB: [&str; 7] = ["N/A", "HIT", "MISS", "L1", "L2", "Walker", "Fault"];
const HOPS: [&str; 5] = [
    "",
    "core, same node",
    "node, same socket",
    "socket, same board",
    "board",
];

fn lvl_num_name(n: u64) -> String {
    match n {
        0x09 => "CXL".into(),
        0x0a => "I/O".into(),
        0x0b => "Any cache".into(),
        0x0c => "LFB/MAB".into(),
        0x0d => "RAM".into(),
        0x0e => "PMEM".into(),
        0x0f => "N/A".into(),
        n => format!("L{n}"),
    }
}

/// The names of the set bits of `m`, lowest first, joined with " or ".
fn bit_names(out: &mut String, mut m: u64, names: &[&str]) {
    for name in names {
        if m == 0 {
            break;
        }
        if m & 1 != 0 {
            if !out.is_empty() {
                out.push_str(" or ");
            }
            out.push_str(name);
        }
        m >>= 1;
    }
}

fn op(d: DataSrc) -> &'static str {
    let op = d.op();
    if op & MEM_OP_NA != 0 {
        "N/A"
    } else if op & MEM_OP_LOAD != 0 {
        "LOAD"
    } else if op & MEM_OP_STORE != 0 {
        "STORE"
    } else if op & MEM_OP_PFETCH != 0 {
        "PFETCH"
    } else if op & MEM_OP_EXEC != 0 {
        "EXEC"
    } else {
        "No"
    }
}

fn lvl(d: DataSrc) -> String {
    let m = d.lvl();
    let (hit, miss) = (m & MEM_LVL_HIT != 0, m & MEM_LVL_MISS != 0);
    let m = m & !(MEM_LVL_HIT | MEM_LVL_MISS);
    let mut out = String::new();
    let mut names = String::new();
    if d.remote() {
        out.push_str("Remote ");
    }
    if d.hops() != 0 {
        out.push_str(HOPS.get(d.hops() as usize).copied().unwrap_or("N/A"));
        out.push(' ');
    } else {
        bit_names(&mut names, m, &LVL);
    }
    if d.lvl_num() != 0 {
        if !names.is_empty() {
            names.push_str(" or ");
        }
        names.push_str(&lvl_num_name(d.lvl_num()));
    }
    out.push_str(&names);
    if out.is_empty() {
        out.push_str("N/A");
    }
    if hit {
        out.push_str(" hit");
    }
    if miss {
        out.push_str(" miss");
    }
    out
}

fn snoop(d: DataSrc) -> String {
    let mut out = String::new();
    bit_names(&mut out, d.snoop(), &SNOOP);
    bit_names(&mut out, d.snoopx(), &SNOOPX);
    if out.is_empty() {
        out.push_str("N/A");
    }
    out
}

fn tlb(d: DataSrc) -> String {
    let m = d.dtlb();
    let mut out = String::new();
    bit_names(&mut out, m & !(MEM_TLB_HIT | MEM_TLB_MISS), &TLB);
    if out.is_empty() {
        out.push_str("N/A");
    }
    if m & MEM_TLB_HIT != 0 {
        out.push_str(" hit");
    }
    if m & MEM_TLB_MISS != 0 {
        out.push_str(" miss");
    }
    out
}

fn lock(d: DataSrc) -> &'static str {
    if d.lock() & MEM_LOCK_NA != 0 {
        "N/A"
    } else if d.lock() & MEM_LOCK_LOCKED != 0 {
        "Yes"
    } else {
        "No"
    }
}

fn blk(d: DataSrc) -> String {
    let m = d.blk();
    if m == 0 || m & MEM_BLK_NA != 0 {
        return " N/A".into();
    }
    let mut out = String::new();
    if m & MEM_BLK_DATA != 0 {
        out.push_str(" Data");
    }
    if m & MEM_BLK_ADDR != 0 {
        out.push_str(" Addr");
    }
    out
}

/// `data_src` as perf script prints it after the hex value.
pub fn data_src_text(v: u64) -> String {
    let d = DataSrc(v);
    format!(
        "|OP {}|LVL {}|SNP {}|TLB {}|LCK {}|BLK {}",
        op(d),
        lvl(d),
        snoop(d),
        tlb(d),
        lock(d),
        blk(d)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sources_read_as_perf_script_prints_them() {
        // A software event's (every field N/A), as perf 6.1 printed it for a page-faults file here.
        assert_eq!(
            data_src_text(0x1e05080021),
            "|OP N/A|LVL N/A or N/A|SNP N/A|TLB N/A|LCK N/A|BLK  N/A"
        );
        // A load that hit L1, no snoop, TLB L1 or L2 hit, unlocked, level number 1.
        let v = 0x02 | (0x0a << 5) | (0x02 << 19) | (0x1a << 26) | (1 << 33);
        assert_eq!(
            data_src_text(v),
            "|OP LOAD|LVL L1 or L1 hit|SNP None|TLB L1 or L2 hit|LCK No|BLK  N/A"
        );
        // A remote store with hops, HitM with forwarding, locked, blocked on data and address.
        let v =
            0x04 | (0x10 << 19) | (1 << 38) | (0x02 << 24) | (0x06 << 40) | (2 << 43) | (1 << 37);
        assert_eq!(
            data_src_text(v),
            "|OP STORE|LVL Remote node, same socket |SNP HitM or Fwd|TLB N/A|LCK Yes|BLK  Data Addr"
        );
    }
}
