//! Feature sections: the machine facts `perf report --header` shows, encoded as perf writes them.

use premap_abi::attr::PerfEventAttr;
use premap_abi::perf_file::*;

/// Appends a feature string: u32 length (NUL and padding to 64 included), the bytes, NUL padding.
pub fn put_string(out: &mut Vec<u8>, s: &str) {
    let len = padded_string_len(s.len());
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(s.as_bytes());
    out.resize(out.len() + len - s.len(), 0);
}

/// GROUP_DESC's body as perf writes it (`write_group_desc`): the number of groups, then for each group
/// of more than one event its name (perf's `{anon_group}` for an unnamed one), its leader's index
/// among the file's events and its member count. `groups` is `(name, leader index, members)`.
pub fn group_desc(groups: &[(&str, u32, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(groups.len() as u32).to_ne_bytes());
    for (name, leader, members) in groups {
        put_string(&mut out, name);
        out.extend_from_slice(&leader.to_ne_bytes());
        out.extend_from_slice(&members.to_ne_bytes());
    }
    out
}

/// PMU_MAPPINGS as perf writes it (`write_pmu_mappings`): the number of PMUs, then each one's type
/// number (`/sys/bus/event_source/devices/NAME/type`) and name, by name. `None` without sysfs.
fn pmu_mappings() -> Option<Vec<u8>> {
    let mut pmus: Vec<(String, u32)> = std::fs::read_dir("/sys/bus/event_source/devices")
        .ok()?
        .flatten()
        .filter_map(|d| {
            let ty = std::fs::read_to_string(d.path().join("type")).ok()?;
            Some((
                d.file_name().to_string_lossy().into_owned(),
                ty.trim().parse().ok()?,
            ))
        })
        .collect();
    if pmus.is_empty() {
        return None;
    }
    pmus.sort();
    let mut out = Vec::new();
    out.extend_from_slice(&(pmus.len() as u32).to_ne_bytes());
    for (name, ty) in &pmus {
        out.extend_from_slice(&ty.to_ne_bytes());
        put_string(&mut out, name);
    }
    Some(out)
}

/// The most memory blocks one node may claim (a 1 TiB node of 128 MiB blocks has 8,192).
const MAX_MEMORY_BLOCKS: u64 = 1 << 24;

/// MEM_TOPOLOGY as perf writes it (`write_mem_topology`): version 1, the memory block size
/// (`/sys/devices/system/memory/block_size_bytes`, hex), the number of nodes, then for each node (by
/// number) its number, the size of its block bitmap (the highest `memoryN` under the node plus one)
/// and the bitmap (its size again, then u64 words). `None` without sysfs.
fn mem_topology() -> Option<Vec<u8>> {
    let block = u64::from_str_radix(
        sys_read("/sys/devices/system/memory/block_size_bytes")?.trim(),
        16,
    )
    .ok()?;
    let mut nodes: Vec<(u64, Vec<u64>)> = std::fs::read_dir("/sys/devices/system/node")
        .ok()?
        .flatten()
        .filter_map(|d| {
            let node = d.file_name().to_str()?.strip_prefix("node")?.parse().ok()?;
            let blocks = std::fs::read_dir(d.path())
                .ok()?
                .flatten()
                .filter_map(|m| m.file_name().to_str()?.strip_prefix("memory")?.parse().ok())
                .filter(|&b: &u64| b < MAX_MEMORY_BLOCKS)
                .collect();
            Some((node, blocks))
        })
        .collect();
    if nodes.is_empty() {
        return None;
    }
    nodes.sort();
    let mut out = Vec::new();
    for v in [1, block, nodes.len() as u64] {
        out.extend_from_slice(&v.to_ne_bytes());
    }
    for (node, blocks) in &nodes {
        let bits = blocks.iter().max().map_or(1, |m| m + 1);
        let mut words = vec![0u64; bits.div_ceil(64) as usize];
        for b in blocks {
            words[(b / 64) as usize] |= 1 << (b % 64);
        }
        // The node's size in blocks, then the bitmap as do_write_bitmap writes it: its size, its words.
        for v in [*node, bits, bits] {
            out.extend_from_slice(&v.to_ne_bytes());
        }
        for w in words {
            out.extend_from_slice(&w.to_ne_bytes());
        }
    }
    Some(out)
}

/// One event as EVENT_DESC describes it.
#[derive(Clone, Debug)]
pub struct EventDesc {
    /// The attr as written to the attrs section.
    pub attr: PerfEventAttr,
    /// perf's name for it (`page-faults`).
    pub name: String,
    /// The ids of its per-CPU or per-thread instances.
    pub ids: Vec<u64>,
}

/// The machine facts recorded in a file.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// `uname -n`.
    pub hostname: String,
    /// `uname -r`.
    pub osrelease: String,
    /// The writer's version string.
    pub version: String,
    /// `uname -m`.
    pub arch: String,
    /// CPUs available (possible).
    pub nr_cpus_avail: u32,
    /// CPUs online.
    pub nr_cpus_online: u32,
    /// The recording command line.
    pub cmdline: Vec<String>,
    /// `model name` of /proc/cpuinfo (CPUDESC).
    pub cpudesc: String,
    /// `vendor,family,model,stepping` (CPUID, x86's format).
    pub cpuid: String,
    /// MemTotal in kB (TOTAL_MEM).
    pub total_mem_kb: u64,
    /// CPU_TOPOLOGY's body (sibling lists and per-CPU core/socket ids), when sysfs tells.
    pub cpu_topology: Option<Vec<u8>>,
    /// NUMA_TOPOLOGY's body (each node's memory and CPUs), when sysfs tells.
    pub numa: Option<Vec<u8>>,
    /// CACHE's body (each distinct cache: level, line size, sets, ways, type, size, CPUs).
    pub caches: Option<Vec<u8>>,
    /// PMU_MAPPINGS's body (each PMU's type number and name), when sysfs tells.
    pub pmu_mappings: Option<Vec<u8>>,
    /// MEM_TOPOLOGY's body (each NUMA node's memory blocks), when sysfs tells.
    pub mem_topology: Option<Vec<u8>>,
    /// Sections computed from the recording itself (BUILD_ID, SAMPLE_TIME), in bit order with the rest.
    pub extra: Vec<(u32, Vec<u8>)>,
}

fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

fn sys_read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// NUMA_TOPOLOGY as perf writes it: node count, then per node its number, MemTotal and MemFree in
/// kB, and its CPU list.
fn numa_topology() -> Option<Vec<u8>> {
    let online = sys_read("/sys/devices/system/node/online")?;
    let nodes = premap::event::parse_cpu_list(&online)?;
    let mut out = (nodes.len() as u32).to_ne_bytes().to_vec();
    for n in nodes {
        let meminfo = sys_read(&format!("/sys/devices/system/node/node{n}/meminfo"))?;
        let kb = |key: &str| -> u64 {
            meminfo
                .lines()
                .find(|l| l.contains(key))
                .and_then(|l| l.split(':').nth(1)?.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        out.extend_from_slice(&(n as u32).to_ne_bytes());
        out.extend_from_slice(&kb("MemTotal").to_ne_bytes());
        out.extend_from_slice(&kb("MemFree").to_ne_bytes());
        put_string(
            &mut out,
            &sys_read(&format!("/sys/devices/system/node/node{n}/cpulist"))?,
        );
    }
    Some(out)
}

/// CACHE as perf writes it: version 1, then each distinct cache of the CPUs (by level, type and the
/// CPUs sharing it): level, line size, sets, ways, and the type, size and CPU list as strings.
fn caches(nr_cpus: u32) -> Option<Vec<u8>> {
    let mut seen: Vec<(u32, String, String)> = Vec::new();
    let mut entries: Vec<(u32, Vec<u8>)> = Vec::new();
    for cpu in 0..nr_cpus {
        for idx in 0..16 {
            let dir = format!("/sys/devices/system/cpu/cpu{cpu}/cache/index{idx}");
            let Some(level) = sys_read(&format!("{dir}/level")).and_then(|l| l.parse::<u32>().ok())
            else {
                break;
            };
            let ty = sys_read(&format!("{dir}/type")).unwrap_or_default();
            let map = sys_read(&format!("{dir}/shared_cpu_list")).unwrap_or_default();
            if seen
                .iter()
                .any(|(l, t, m)| *l == level && *t == ty && *m == map)
            {
                continue;
            }
            let num = |f: &str| {
                sys_read(&format!("{dir}/{f}"))
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            };
            let mut body = Vec::new();
            for v in [
                level,
                num("coherency_line_size"),
                num("number_of_sets"),
                num("ways_of_associativity"),
            ] {
                body.extend_from_slice(&v.to_ne_bytes());
            }
            put_string(&mut body, &ty);
            put_string(
                &mut body,
                &sys_read(&format!("{dir}/size")).unwrap_or_default(),
            );
            put_string(&mut body, &map);
            entries.push((level, body));
            seen.push((level, ty, map));
        }
    }
    if seen.is_empty() {
        return None;
    }
    // By level, CPUs in order within one, as perf lists them.
    entries.sort_by_key(|(level, _)| *level);
    let mut out = 1u32.to_ne_bytes().to_vec();
    out.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
    for (_, body) in entries {
        out.extend_from_slice(&body);
    }
    Some(out)
}

/// CPU_TOPOLOGY as perf writes it: the distinct package and core sibling lists, then each CPU's core
/// and socket id (`nr_avail` entries; offline CPUs get -1).
fn cpu_topology(nr_avail: u32) -> Option<Vec<u8>> {
    let base = "/sys/devices/system/cpu";
    let read = |cpu: u32, f: &str| {
        std::fs::read_to_string(format!("{base}/cpu{cpu}/topology/{f}"))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let (mut cores, mut threads, mut ids) =
        (Vec::<String>::new(), Vec::<String>::new(), Vec::new());
    for cpu in 0..nr_avail {
        if let Some(c) = read(cpu, "core_siblings_list") {
            if !cores.contains(&c) {
                cores.push(c);
            }
        }
        if let Some(t) = read(cpu, "thread_siblings_list") {
            if !threads.contains(&t) {
                threads.push(t);
            }
        }
        let id = |f| {
            read(cpu, f)
                .and_then(|s| s.parse::<i32>().ok())
                .unwrap_or(-1)
        };
        ids.push((id("core_id"), id("physical_package_id")));
    }
    if cores.is_empty() || threads.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for list in [&cores, &threads] {
        out.extend_from_slice(&(list.len() as u32).to_ne_bytes());
        for s in list.iter() {
            put_string(&mut out, s);
        }
    }
    for (core, socket) in ids {
        out.extend_from_slice(&core.to_ne_bytes());
        out.extend_from_slice(&socket.to_ne_bytes());
    }
    Some(out)
}

impl Facts {
    /// Facts of this machine and process.
    pub fn of_this_machine(cmdline: Vec<String>) -> Self {
        let uts = nix::sys::utsname::uname().ok();
        let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
            uts.as_ref()
                .map(|u| f(u).to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let online = premap::event::online_cpus()
            .map(|c| c.len() as u32)
            .unwrap_or(1);
        let possible = std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| premap::event::parse_cpu_list(s.trim()))
            .map(|c| c.len() as u32)
            .unwrap_or(online);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let total_mem_kb = cpuinfo_field(&meminfo, "MemTotal")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let cpuid = match (
            cpuinfo_field(&cpuinfo, "vendor_id"),
            cpuinfo_field(&cpuinfo, "cpu family"),
            cpuinfo_field(&cpuinfo, "model"),
            cpuinfo_field(&cpuinfo, "stepping"),
        ) {
            (Some(v), Some(f), Some(m), Some(s)) => format!("{v},{f},{m},{s}"),
            _ => String::new(),
        };
        Facts {
            cpudesc: cpuinfo_field(&cpuinfo, "model name").unwrap_or_default(),
            cpuid,
            total_mem_kb,
            cpu_topology: cpu_topology(possible),
            numa: numa_topology(),
            caches: caches(online),
            pmu_mappings: pmu_mappings(),
            mem_topology: mem_topology(),
            extra: Vec::new(),
            hostname: field(|u| u.nodename()),
            osrelease: field(|u| u.release()),
            version: concat!("premap ", env!("CARGO_PKG_VERSION")).to_string(),
            arch: field(|u| u.machine()),
            nr_cpus_avail: possible,
            nr_cpus_online: online,
            cmdline,
        }
    }

    /// The feature sections, as `(bit, bytes)` in bit order.
    pub fn sections(&self, events: &[EventDesc], attr_size: u32) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        for (bit, s) in [
            (HEADER_HOSTNAME, &self.hostname),
            (HEADER_OSRELEASE, &self.osrelease),
            (HEADER_VERSION, &self.version),
            (HEADER_ARCH, &self.arch),
        ] {
            let mut b = Vec::new();
            put_string(&mut b, s);
            out.push((bit, b));
        }
        let mut cpus = Vec::new();
        cpus.extend_from_slice(&self.nr_cpus_avail.to_ne_bytes());
        cpus.extend_from_slice(&self.nr_cpus_online.to_ne_bytes());
        out.push((HEADER_NRCPUS, cpus));
        for (bit, s) in [(HEADER_CPUDESC, &self.cpudesc), (HEADER_CPUID, &self.cpuid)] {
            if !s.is_empty() {
                let mut b = Vec::new();
                put_string(&mut b, s);
                out.push((bit, b));
            }
        }
        if self.total_mem_kb > 0 {
            out.push((HEADER_TOTAL_MEM, self.total_mem_kb.to_ne_bytes().to_vec()));
        }
        let mut cmd = Vec::new();
        cmd.extend_from_slice(&(self.cmdline.len() as u32).to_ne_bytes());
        for a in &self.cmdline {
            put_string(&mut cmd, a);
        }
        out.push((HEADER_CMDLINE, cmd));
        let mut desc = Vec::new();
        desc.extend_from_slice(&(events.len() as u32).to_ne_bytes());
        desc.extend_from_slice(&attr_size.to_ne_bytes());
        for e in events {
            desc.extend_from_slice(&e.attr.to_bytes()[..attr_size as usize]);
            desc.extend_from_slice(&(e.ids.len() as u32).to_ne_bytes());
            put_string(&mut desc, &e.name);
            for id in &e.ids {
                desc.extend_from_slice(&id.to_ne_bytes());
            }
        }
        out.push((HEADER_EVENT_DESC, desc));
        if let Some(t) = &self.cpu_topology {
            out.push((HEADER_CPU_TOPOLOGY, t.clone()));
        }
        if let Some(n) = &self.numa {
            out.push((HEADER_NUMA_TOPOLOGY, n.clone()));
        }
        if let Some(c) = &self.caches {
            out.push((HEADER_CACHE, c.clone()));
        }
        if let Some(p) = &self.pmu_mappings {
            out.push((HEADER_PMU_MAPPINGS, p.clone()));
        }
        if let Some(m) = &self.mem_topology {
            out.push((HEADER_MEM_TOPOLOGY, m.clone()));
        }
        out.extend(self.extra.iter().cloned());
        out.sort_by_key(|(bit, _)| *bit);
        out
    }
}
