//! What `perf record` does after the data is written (record__finish_output): find the DSOs that
//! samples hit and their build ids (the BUILD_ID feature `perf buildid-list` reads), and the first and
//! last sample times (SAMPLE_TIME, for `perf script --time`).

use premap::abi::header::*;
use premap::abi::sample::SampleLayout;
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::FileExt;

/// `NT_GNU_BUILD_ID`.
const NT_GNU_BUILD_ID: u32 = 3;

/// The GNU build id in a block of ELF notes (namesz, descsz, type, name, desc; 4-aligned).
pub fn build_id_in_notes(notes: &[u8]) -> Option<Vec<u8>> {
    let u32_at = |o: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(notes.get(o..o + 4)?.try_into().ok()?))
    };
    let mut off = 0usize;
    while off + 12 <= notes.len() {
        let namesz = u32_at(off)? as usize;
        let descsz = u32_at(off + 4)? as usize;
        let ty = u32_at(off + 8)?;
        let name_at = off + 12;
        let desc_at = name_at.checked_add(namesz.div_ceil(4) * 4)?;
        let end = desc_at.checked_add(descsz.div_ceil(4) * 4)?;
        if ty == NT_GNU_BUILD_ID && notes.get(name_at..name_at + namesz)? == b"GNU\0" {
            let id = notes.get(desc_at..desc_at + descsz)?;
            return (1..=20).contains(&id.len()).then(|| id.to_vec());
        }
        off = end;
    }
    None
}

/// The build id of an ELF file (64-bit little-endian, the note segments), without reading it whole.
pub fn build_id_of_file(path: &str) -> Option<Vec<u8>> {
    let f = std::fs::File::open(path).ok()?;
    build_id_of_elf(|buf, off| f.read_exact_at(buf, off))
}

/// The build id of the vDSO, the `[vdso]` of every 64-bit process on this kernel: this process's own
/// image, read through /proc/self/mem where /proc/self/maps shows it (perf records it the same way).
pub fn build_id_of_vdso() -> Option<Vec<u8>> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.trim_end().ends_with("[vdso]"))?;
    let start = u64::from_str_radix(line.split('-').next()?, 16).ok()?;
    let mem = std::fs::File::open("/proc/self/mem").ok()?;
    build_id_of_elf(|buf, off| {
        let at = start
            .checked_add(off)
            .ok_or(std::io::ErrorKind::InvalidInput)?;
        mem.read_exact_at(buf, at)
    })
}

/// The build id of a 64-bit little-endian ELF image that `read_at(buf, offset)` reads from.
fn build_id_of_elf(read_at: impl Fn(&mut [u8], u64) -> std::io::Result<()>) -> Option<Vec<u8>> {
    let mut eh = [0u8; 64];
    read_at(&mut eh, 0).ok()?;
    if &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    let phoff = u64_at(&eh, 32);
    let phentsize = u16_at(&eh, 54) as u64;
    let phnum = u16_at(&eh, 56) as u64;
    if phentsize < 56 || phnum > 256 {
        return None;
    }
    let mut ph = vec![0u8; (phentsize * phnum) as usize];
    read_at(&mut ph, phoff).ok()?;
    for i in 0..phnum as usize {
        let p = &ph[i * phentsize as usize..];
        if u32_at(p, 0) != 4 {
            continue; // not PT_NOTE
        }
        let (off, size) = (u64_at(p, 8), u64_at(p, 32));
        if size > 1 << 20 {
            continue;
        }
        let mut notes = vec![0u8; size as usize];
        if read_at(&mut notes, off).is_ok() {
            if let Some(id) = build_id_in_notes(&notes) {
                return Some(id);
            }
        }
    }
    None
}

/// What the samples of a recording touched.
#[derive(Debug, Default)]
pub struct Hits {
    /// The first and last sample times.
    pub time_range: Option<(u64, u64)>,
    /// Whether a sample hit the kernel.
    pub kernel: bool,
    /// User-space DSOs (paths) with samples.
    pub dsos: BTreeSet<String>,
    /// Kernel modules (names) with samples.
    pub modules: BTreeSet<String>,
}

/// A kernel module's address range, as synthesized.
#[derive(Clone, Debug)]
pub struct ModuleRange {
    /// Its name.
    pub name: String,
    /// First address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Walks the data: MMAP/MMAP2 records give each process its mappings; each sample marks the DSO its
/// IP falls in (user space by its process's mappings, kernel space the kernel or a module). Fed in
/// pieces of whole records (the recorder's chunks with `-z`, the data read back otherwise).
pub struct Scanner<'m> {
    layout: SampleLayout,
    modules: &'m [ModuleRange],
    maps: HashMap<u32, Vec<(u64, u64, String)>>,
    hits: Hits,
    /// The last user mapping a sample hit (pid, start, end): most samples hit the same one again.
    last: Option<(u32, u64, u64)>,
}

impl<'m> Scanner<'m> {
    /// A scanner for samples of `sample_type`, kernel modules at `modules`.
    pub fn new(sample_type: u64, modules: &'m [ModuleRange]) -> Self {
        Self {
            layout: SampleLayout::new(sample_type),
            modules,
            maps: HashMap::new(),
            hits: Hits::default(),
            last: None,
        }
    }

    /// What the samples hit.
    pub fn finish(self) -> Hits {
        self.hits
    }

    /// Scans whole records, with the ring's record walker (the one header check); it stops at the
    /// first malformed record.
    pub fn feed(&mut self, data: &[u8]) {
        for r in premap::abi::ring::RecordIter::new(premap::abi::RawData::Single(data)) {
            let Ok(r) = r else { break };
            let Some(body) = r.body.as_single() else {
                continue;
            };
            match r.header.r#type {
                RECORD_SAMPLE => self.sample(r.header, body),
                RECORD_MMAP | RECORD_MMAP2 => self.mapping(r.header, body),
                _ => {}
            }
        }
    }

    fn mapping(&mut self, header: EventHeader, body: &[u8]) {
        let name_at = if header.r#type == RECORD_MMAP { 32 } else { 64 };
        let word = |o: usize| {
            body.get(o..o + 8)
                .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
        };
        let (Some(pid), Some(start), Some(len)) = (
            body.get(0..4)
                .map(|b| u32::from_ne_bytes(b.try_into().unwrap_or([0; 4]))),
            word(8),
            word(16),
        ) else {
            return;
        };
        let name = body.get(name_at..).unwrap_or(&[]);
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        if header.misc & 7 == RECORD_MISC_USER && (name.first() == Some(&b'/') || name == b"[vdso]")
        {
            self.last = None;
            self.maps.entry(pid).or_default().push((
                start,
                start.saturating_add(len),
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
    }

    fn sample(&mut self, header: EventHeader, body: &[u8]) {
        let hits = &mut self.hits;
        if let Some(t) = self.layout.time(body) {
            let (a, b) = hits.time_range.unwrap_or((t, t));
            hits.time_range = Some((a.min(t), b.max(t)));
        }
        let Some(ip) = self.layout.ip(body) else {
            return;
        };
        if header.misc & 7 == RECORD_MISC_KERNEL {
            match self
                .modules
                .iter()
                .find(|m| ip >= m.start && ip - m.start < m.len)
            {
                Some(m) => {
                    hits.modules.insert(m.name.clone());
                }
                None => hits.kernel = true,
            }
        } else if let Some((pid, _)) = self.layout.pid_tid(body) {
            if matches!(self.last, Some((p, s, e)) if p == pid && ip >= s && ip < e) {
                return;
            }
            let found = self
                .maps
                .get(&pid)
                .and_then(|v| v.iter().rev().find(|(s, e, _)| ip >= *s && ip < *e));
            if let Some((s, e, path)) = found {
                self.last = Some((pid, *s, *e));
                if !hits.dsos.contains(path) {
                    hits.dsos.insert(path.clone());
                }
            }
        }
    }
}

/// Appends one build-id entry as perf's write_buildid does: header (misc: cpumode and
/// BUILD_ID_SIZE), pid, 24 bytes (id, size), the name padded to 64.
fn push_entry(out: &mut Vec<u8>, kernel: bool, id: &[u8], name: &str) {
    let name_len = premap::abi::perf_file::padded_string_len(name.len());
    let size = 8 + 4 + 24 + name_len;
    let cpumode = if kernel {
        RECORD_MISC_KERNEL
    } else {
        RECORD_MISC_USER
    };
    let misc = cpumode | (1 << 15); // PERF_RECORD_MISC_BUILD_ID_SIZE
    out.extend_from_slice(
        &EventHeader {
            r#type: 0,
            misc,
            size: size as u16,
        }
        .to_bytes(),
    );
    out.extend_from_slice(&(-1i32).to_ne_bytes());
    let mut b = [0u8; 24];
    b[..id.len()].copy_from_slice(id);
    b[20] = id.len() as u8;
    out.extend_from_slice(&b);
    out.extend_from_slice(name.as_bytes());
    out.resize(out.len() + name_len - name.len(), 0);
}

/// The BUILD_ID feature for what the samples hit (entries whose build id cannot be read are left out,
/// as perf does).
pub fn feature(hits: &Hits) -> Vec<u8> {
    let mut out = Vec::new();
    if hits.kernel {
        if let Some(id) = std::fs::read("/sys/kernel/notes")
            .ok()
            .and_then(|n| build_id_in_notes(&n))
        {
            push_entry(&mut out, true, &id, "[kernel.kallsyms]");
        }
    }
    for m in &hits.modules {
        let notes = std::fs::read(format!("/sys/module/{m}/notes/.note.gnu.build-id")).ok();
        if let Some(id) = notes.and_then(|n| build_id_in_notes(&n)) {
            push_entry(&mut out, true, &id, &format!("[{m}]"));
        }
    }
    for d in &hits.dsos {
        let id = if d == "[vdso]" {
            build_id_of_vdso()
        } else {
            build_id_of_file(d)
        };
        if let Some(id) = id {
            push_entry(&mut out, false, &id, d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_id_of_this_test_binary_and_of_the_running_kernel() {
        let exe = std::env::current_exe().unwrap();
        // Rust binaries carry a GNU build id when linked by the system's gcc/ld (the default here).
        let id = build_id_of_file(exe.to_str().unwrap());
        let file_out = std::process::Command::new("file").arg(&exe).output();
        if let Ok(o) = file_out {
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            if let Some(hex) = text.split("BuildID[sha1]=").nth(1) {
                let hex: String = hex.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
                let mine: String = id
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(mine, hex);
            }
        }
        assert!(build_id_of_file("/etc/hostname").is_none());
        // The vDSO has one (the kernel builds it with --build-id).
        assert_eq!(build_id_of_vdso().map(|id| id.len()), Some(20));
        assert!(build_id_in_notes(&[1, 2, 3]).is_none());
        let notes = std::fs::read("/sys/kernel/notes").unwrap();
        assert!(
            build_id_in_notes(&notes).is_some(),
            "the running kernel has a build id"
        );
    }
}
