//! Feature sections of a perf.data file decoded for people: what `perf report --header-only -I`
//! shows, one line per section. Every reader is bounds-checked; a section that does not parse is
//! shown by size only (the caller gets `None`).

use crate::records::read_string;
use premap_abi::perf_file::*;
use premap_abi::raw::{Cursor, RawData};

/// Caps the entries a count read from the file may ask for (a hostile count must not make us spin).
const MAX_ENTRIES: u32 = 65_536;

/// The readable text of feature `bit`'s section, or `None` when it is not decoded (or does not parse).
pub fn feature_text(bit: u32, bytes: &[u8]) -> Option<String> {
    let mut c = Cursor::new(RawData::Single(bytes));
    match bit {
        HEADER_HOSTNAME | HEADER_OSRELEASE | HEADER_VERSION | HEADER_ARCH | HEADER_CPUDESC
        | HEADER_CPUID => read_string(&mut c).ok(),
        HEADER_NRCPUS => {
            let avail = c.read_u32("nr_cpus_avail").ok()?;
            let online = c.read_u32("nr_cpus_online").ok()?;
            Some(format!("{online} online, {avail} available"))
        }
        HEADER_TOTAL_MEM => c.read_u64("total_mem").ok().map(|k| format!("{k} kB")),
        HEADER_BUILD_ID => build_ids_text(bytes),
        HEADER_TRACING_DATA => Some(tracing_text(bytes)),
        HEADER_EVENT_DESC => event_desc(&mut c),
        HEADER_BRANCH_STACK | HEADER_STAT => Some("present".into()),
        HEADER_DIR_FORMAT => c
            .read_u64("dir_format.version")
            .ok()
            .map(|v| format!("version {v}")),
        HEADER_AUXTRACE => {
            let n = c.read_u64("auxtrace.nr").ok()?;
            Some(format!("{n} index entries"))
        }
        HEADER_BPF_PROG_INFO => Some(format!("{} programs", c.read_u32("bpf.count").ok()?)),
        HEADER_BPF_BTF => Some(format!("{} BTF entries", c.read_u32("btf.count").ok()?)),
        HEADER_CPU_PMU_CAPS => pmu_caps(&mut c).map(|caps| {
            if caps.is_empty() {
                "none".into()
            } else {
                caps.join(", ")
            }
        }),
        HEADER_HYBRID_TOPOLOGY => {
            let n = c.read_u32("hybrid.nr").ok()?;
            let mut pmus = Vec::new();
            for _ in 0..n.min(MAX_ENTRIES) {
                let name = read_string(&mut c).ok()?;
                let cpus = read_string(&mut c).ok()?;
                pmus.push(format!("{name}: {cpus}"));
            }
            Some(pmus.join("; "))
        }
        HEADER_PMU_CAPS => {
            let n = c.read_u32("pmu_caps.nr_pmu").ok()?;
            let mut pmus = Vec::new();
            for _ in 0..n.min(MAX_ENTRIES) {
                let caps = pmu_caps(&mut c)?;
                let name = read_string(&mut c).ok()?;
                pmus.push(format!("{name}: {}", caps.join(", ")));
            }
            Some(if pmus.is_empty() {
                "none".into()
            } else {
                pmus.join("; ")
            })
        }
        HEADER_CMDLINE => strings(&mut c).map(|a| a.join(" ")),
        HEADER_CPU_TOPOLOGY => cpu_topology(&mut c),
        HEADER_NUMA_TOPOLOGY => numa_topology(&mut c),
        HEADER_PMU_MAPPINGS => pmu_mappings(&mut c),
        HEADER_GROUP_DESC => group_desc(&mut c),
        HEADER_CACHE => cache(&mut c),
        HEADER_SAMPLE_TIME => {
            let first = c.read_u64("first_sample_time").ok()?;
            let last = c.read_u64("last_sample_time").ok()?;
            Some(format!(
                "first {}, last {}, duration {:.3} ms",
                secs(first),
                secs(last),
                last.saturating_sub(first) as f64 / 1e6
            ))
        }
        HEADER_MEM_TOPOLOGY => {
            let _version = c.read_u64("mem_topology.version").ok()?;
            let block = c.read_u64("mem_topology.block_size").ok()?;
            let nr = c.read_u64("mem_topology.nr").ok()?;
            Some(format!("{nr} nodes, block size {block:#x}"))
        }
        HEADER_CLOCKID => c
            .read_u64("clockid_res_ns")
            .ok()
            .map(|ns| format!("clockid resolution {ns} ns")),
        HEADER_CLOCK_DATA => {
            let version = c.read_u32("clock_data.version").ok()?;
            let clockid = c.read_u32("clock_data.clockid").ok()?;
            let tod = c.read_u64("clock_data.tod_ns").ok()?;
            let clock = c.read_u64("clock_data.clockid_ns").ok()?;
            Some(format!(
                "version {version}, clockid {clockid}, time of day {} at clock {}",
                secs(tod),
                secs(clock)
            ))
        }
        HEADER_COMPRESSED => {
            let _version = c.read_u32("comp.version").ok()?;
            let kind = c.read_u32("comp.type").ok()?;
            let level = c.read_u32("comp.level").ok()?;
            let ratio = c.read_u32("comp.ratio").ok()?;
            let mmap_len = c.read_u32("comp.mmap_len").ok()?;
            let kind = if kind == 1 {
                "zstd".to_string()
            } else {
                format!("type {kind}")
            };
            Some(format!(
                "{kind}, level {level}, ratio {ratio}, mmap_len {mmap_len}"
            ))
        }
        _ => None,
    }
}

/// Nanoseconds as perf prints sample times: seconds with six decimals.
fn secs(ns: u64) -> String {
    format!("{}.{:06}", ns / 1_000_000_000, ns % 1_000_000_000 / 1000)
}

/// A count, then that many `name`, `value` string pairs, as `name=value` (perf's
/// `__write_pmu_caps`).
fn pmu_caps(c: &mut Cursor<'_>) -> Option<Vec<String>> {
    let n = c.read_u32("caps.nr").ok()?;
    (0..n.min(MAX_ENTRIES))
        .map(|_| {
            let name = read_string(c).ok()?;
            let value = read_string(c).ok()?;
            Some(format!("{name}={value}"))
        })
        .collect()
}

/// EVENT_DESC: per event its name and sample ids (u32 count, u32 attr size, then per event the attr,
/// u32 id count, the name and the ids).
fn event_desc(c: &mut Cursor<'_>) -> Option<String> {
    let n = c.read_u32("event_desc.nr").ok()?;
    let attr_size = c.read_u32("event_desc.attr_size").ok()?;
    let mut events = Vec::new();
    for _ in 0..n.min(MAX_ENTRIES) {
        c.skip(attr_size as usize, "event_desc.attr").ok()?;
        let nr_ids = c.read_u32("event_desc.nr_ids").ok()?;
        let name = read_string(c).ok()?;
        let ids: Option<Vec<String>> = (0..nr_ids.min(MAX_ENTRIES))
            .map(|_| c.read_u64("event_desc.id").ok().map(|i| i.to_string()))
            .collect();
        events.push(format!("{name} (ids {})", ids?.join(", ")));
    }
    Some(events.join("; "))
}

/// A count, then that many strings.
fn strings(c: &mut Cursor<'_>) -> Option<Vec<String>> {
    let n = c.read_u32("strings.nr").ok()?;
    (0..n.min(MAX_ENTRIES))
        .map(|_| read_string(c).ok())
        .collect()
}

/// CPU_TOPOLOGY: the sibling lists of sockets (core_siblings) and of threads (thread_siblings); the
/// per-CPU core/socket ids and the die lists that may follow are not shown.
fn cpu_topology(c: &mut Cursor<'_>) -> Option<String> {
    let sockets = strings(c)?;
    let threads = strings(c)?;
    Some(format!(
        "sibling sockets {}; sibling threads {}",
        sockets.join(", "),
        threads.join(", ")
    ))
}

/// NUMA_TOPOLOGY: per node its memory (total, free) and its CPU list.
fn numa_topology(c: &mut Cursor<'_>) -> Option<String> {
    let n = c.read_u32("numa.nr").ok()?;
    let mut nodes = Vec::new();
    for _ in 0..n.min(MAX_ENTRIES) {
        let node = c.read_u32("numa.node").ok()?;
        let total = c.read_u64("numa.mem_total").ok()?;
        let free = c.read_u64("numa.mem_free").ok()?;
        let cpus = read_string(c).ok()?;
        nodes.push(format!(
            "node{node} total {total} kB, free {free} kB, cpus {cpus}"
        ));
    }
    Some(nodes.join("; "))
}

/// PMU_MAPPINGS: `name = type` per PMU, as perf prints them.
fn pmu_mappings(c: &mut Cursor<'_>) -> Option<String> {
    let n = c.read_u32("pmu_mappings.nr").ok()?;
    let mut pmus = Vec::new();
    for _ in 0..n.min(MAX_ENTRIES) {
        let ty = c.read_u32("pmu.type").ok()?;
        let name = read_string(c).ok()?;
        pmus.push(format!("{name} = {ty}"));
    }
    Some(pmus.join(", "))
}

/// GROUP_DESC: each group's name, leader index and member count.
fn group_desc(c: &mut Cursor<'_>) -> Option<String> {
    let n = c.read_u32("group_desc.nr").ok()?;
    let mut groups = Vec::new();
    for _ in 0..n.min(MAX_ENTRIES) {
        let name = read_string(c).ok()?;
        let leader = c.read_u32("group.leader_idx").ok()?;
        let members = c.read_u32("group.nr_members").ok()?;
        groups.push(format!("{name} (leader {leader}, {members} members)"));
    }
    Some(groups.join("; "))
}

/// CACHE: `L<level> <type> <size> [<cpus>]` per cache, as perf prints them.
fn cache(c: &mut Cursor<'_>) -> Option<String> {
    let _version = c.read_u32("cache.version").ok()?;
    let n = c.read_u32("cache.cnt").ok()?;
    let mut caches = Vec::new();
    for _ in 0..n.min(MAX_ENTRIES) {
        let level = c.read_u32("cache.level").ok()?;
        let _line = c.read_u32("cache.line_size").ok()?;
        let _sets = c.read_u32("cache.sets").ok()?;
        let _ways = c.read_u32("cache.ways").ok()?;
        let ty = read_string(c).ok()?;
        let size = read_string(c).ok()?;
        let map = read_string(c).ok()?;
        caches.push(format!("L{level} {ty} {size} [{map}]"));
    }
    Some(caches.join(", "))
}

/// The BUILD_ID feature: `perf_record_header_build_id` entries (header, pid, 24 id bytes of which
/// the first 20, or `size` when misc has PERF_RECORD_MISC_BUILD_ID_SIZE, then the NUL-padded file
/// name), as `N: <hex> <file>, ...`.
fn build_ids_text(bytes: &[u8]) -> Option<String> {
    const MISC_BUILD_ID_SIZE: u16 = 1 << 15;
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (h, _) = rest.split_first_chunk::<8>()?;
        let header = premap_abi::EventHeader::from_bytes(*h);
        let size = usize::from(header.size);
        let entry = rest.get(..size).filter(|_| size >= 36)?;
        let id = &entry[12..36];
        let len = if header.misc & MISC_BUILD_ID_SIZE != 0 {
            usize::from(id[20]).min(20)
        } else {
            20
        };
        let name = &entry[36..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        let hex: String = id[..len].iter().map(|b| format!("{b:02x}")).collect();
        out.push(format!("{hex} {}", String::from_utf8_lossy(name)));
        rest = &rest[size..];
    }
    Some(format!("{} entries: {}", out.len(), out.join(", ")))
}

/// TRACING_DATA: its version and the tracepoints whose formats it holds (or why it cannot be read).
fn tracing_text(bytes: &[u8]) -> String {
    match crate::tracing::TraceFormats::parse(bytes) {
        Ok(t) => {
            let mut names: Vec<_> = t
                .events
                .values()
                .map(|e| format!("{}:{} ({})", e.system, e.name, e.id))
                .collect();
            names.sort();
            format!(
                "version {}, {} bytes, {} event formats: {}",
                t.version,
                bytes.len(),
                names.len(),
                names.join(", ")
            )
        }
        Err(e) => format!("{} bytes, not decoded: {e}", bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Vec<u8> {
        let mut b = s.as_bytes().to_vec();
        b.resize(s.len().next_multiple_of(8) + 8, 0);
        let mut out = (b.len() as u32).to_ne_bytes().to_vec();
        out.extend(b);
        out
    }

    #[test]
    fn pmu_mappings_and_numa_nodes_read_as_perf_prints_them() {
        let mut b = 2u32.to_ne_bytes().to_vec();
        b.extend(4u32.to_ne_bytes());
        b.extend(string("cpu"));
        b.extend(1u32.to_ne_bytes());
        b.extend(string("software"));
        assert_eq!(
            feature_text(HEADER_PMU_MAPPINGS, &b).as_deref(),
            Some("cpu = 4, software = 1")
        );
        let mut n = 1u32.to_ne_bytes().to_vec();
        n.extend(0u32.to_ne_bytes());
        n.extend(100u64.to_ne_bytes());
        n.extend(40u64.to_ne_bytes());
        n.extend(string("0-3"));
        assert_eq!(
            feature_text(HEADER_NUMA_TOPOLOGY, &n).as_deref(),
            Some("node0 total 100 kB, free 40 kB, cpus 0-3")
        );
    }

    #[test]
    fn pmu_capabilities_and_hybrid_topology_read_as_perf_prints_them() {
        let mut b = 2u32.to_ne_bytes().to_vec();
        for s in ["branches", "32", "pmu_name", "skylake"] {
            b.extend(string(s));
        }
        assert_eq!(
            feature_text(HEADER_CPU_PMU_CAPS, &b).as_deref(),
            Some("branches=32, pmu_name=skylake")
        );
        let mut p = 1u32.to_ne_bytes().to_vec();
        p.extend(b);
        p.extend(string("cpu"));
        assert_eq!(
            feature_text(HEADER_PMU_CAPS, &p).as_deref(),
            Some("cpu: branches=32, pmu_name=skylake")
        );
        let mut h = 2u32.to_ne_bytes().to_vec();
        for s in ["cpu_core", "0-7", "cpu_atom", "8-15"] {
            h.extend(string(s));
        }
        assert_eq!(
            feature_text(HEADER_HYBRID_TOPOLOGY, &h).as_deref(),
            Some("cpu_core: 0-7; cpu_atom: 8-15")
        );
    }

    #[test]
    fn hostile_counts_and_cut_sections_give_nothing_rather_than_a_panic_or_a_spin() {
        for bit in [
            HEADER_CMDLINE,
            HEADER_CPU_TOPOLOGY,
            HEADER_NUMA_TOPOLOGY,
            HEADER_PMU_MAPPINGS,
            HEADER_GROUP_DESC,
            HEADER_CACHE,
            HEADER_EVENT_DESC,
            HEADER_CPU_PMU_CAPS,
            HEADER_HYBRID_TOPOLOGY,
            HEADER_PMU_CAPS,
        ] {
            // A count of 2^32 - 1 with nothing behind it, and every cut of a valid-looking start.
            let mut b = u32::MAX.to_ne_bytes().to_vec();
            b.extend(u32::MAX.to_ne_bytes());
            b.extend(string("x"));
            for cut in 0..=b.len() {
                assert_eq!(
                    feature_text(bit, &b[..cut]),
                    None,
                    "feature {bit} cut at {cut}"
                );
            }
        }
        for bit in [
            HEADER_SAMPLE_TIME,
            HEADER_CLOCK_DATA,
            HEADER_COMPRESSED,
            HEADER_MEM_TOPOLOGY,
        ] {
            assert_eq!(feature_text(bit, &[0; 7]), None);
        }
        assert_eq!(
            feature_text(HEADER_SAMPLE_TIME, &[0xff; 16]).map(|t| t.starts_with("first ")),
            Some(true)
        );
    }
}
