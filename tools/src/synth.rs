//! Synthesized records for processes that were already running when recording began: COMM for each
//! thread and MMAP2 for each executable mapping, read from /proc as perf does
//! (perf_event__synthesize_threads). Each carries a zeroed `sample_id` trailer of the recording's size.

use premap_abi::header::*;
use std::path::Path;

fn push_header(out: &mut Vec<u8>, ty: u32, misc: u16, body_len: usize) -> Option<()> {
    let size = u16::try_from(8 + body_len).ok()?;
    out.extend_from_slice(
        &EventHeader {
            r#type: ty,
            misc,
            size,
        }
        .to_bytes(),
    );
    Some(())
}

fn pad_string(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v.resize(v.len().div_ceil(8) * 8, 0);
    v
}

/// Appends a COMM record.
pub fn comm(out: &mut Vec<u8>, pid: u32, tid: u32, name: &[u8], trailer: usize) {
    let name = pad_string(name);
    if push_header(out, RECORD_COMM, 0, 8 + name.len() + trailer).is_none() {
        return;
    }
    out.extend_from_slice(&pid.to_ne_bytes());
    out.extend_from_slice(&tid.to_ne_bytes());
    out.extend_from_slice(&name);
    out.resize(out.len() + trailer, 0);
}

/// One line of /proc/PID/maps.
#[derive(Debug, PartialEq, Eq)]
pub struct MapsLine {
    start: u64,
    end: u64,
    prot: u32,
    shared: bool,
    pgoff: u64,
    maj: u32,
    min: u32,
    ino: u64,
    path: String,
}

/// Parses one /proc/PID/maps line; `None` for a line that does not parse.
pub fn parse_maps_line(line: &str) -> Option<MapsLine> {
    let mut it = line.splitn(6, ' ');
    let (range, perms, off, dev, ino) =
        (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    let path = it.next().unwrap_or("").trim_start().to_string();
    let (s, e) = range.split_once('-')?;
    let (maj, min) = dev.split_once(':')?;
    let p = perms.as_bytes();
    let prot = (p.first() == Some(&b'r')) as u32
        | ((p.get(1) == Some(&b'w')) as u32) << 1
        | ((p.get(2) == Some(&b'x')) as u32) << 2;
    Some(MapsLine {
        start: u64::from_str_radix(s, 16).ok()?,
        end: u64::from_str_radix(e, 16).ok()?,
        prot,
        shared: p.get(3) == Some(&b's'),
        pgoff: u64::from_str_radix(off, 16).ok()?,
        maj: u32::from_str_radix(maj, 16).ok()?,
        min: u32::from_str_radix(min, 16).ok()?,
        ino: ino.parse().ok()?,
        path,
    })
}

/// Appends an MMAP2 record for an executable mapping.
pub fn mmap2(out: &mut Vec<u8>, pid: u32, m: &MapsLine, trailer: usize) {
    let name = pad_string(m.path.as_bytes());
    let body = 8 + 24 + 24 + 8 + name.len() + trailer;
    if push_header(out, RECORD_MMAP2, RECORD_MISC_USER, body).is_none() {
        return;
    }
    for w in [pid, pid] {
        out.extend_from_slice(&w.to_ne_bytes());
    }
    for w in [m.start, m.end.saturating_sub(m.start), m.pgoff] {
        out.extend_from_slice(&w.to_ne_bytes());
    }
    out.extend_from_slice(&m.maj.to_ne_bytes());
    out.extend_from_slice(&m.min.to_ne_bytes());
    out.extend_from_slice(&m.ino.to_ne_bytes());
    out.extend_from_slice(&0u64.to_ne_bytes());
    out.extend_from_slice(&m.prot.to_ne_bytes());
    let flags = if m.shared {
        libc::MAP_SHARED
    } else {
        libc::MAP_PRIVATE
    } as u32;
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&name);
    out.resize(out.len() + trailer, 0);
}

/// Synthesizes COMM for every thread of `pid` and MMAP2 for its executable mappings. A process that
/// vanished meanwhile is skipped.
pub fn process(out: &mut Vec<u8>, pid: u32, trailer: usize) {
    let base = Path::new("/proc").join(pid.to_string());
    let Ok(tasks) = std::fs::read_dir(base.join("task")) else {
        return;
    };
    for t in tasks.flatten() {
        let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(name) = std::fs::read(t.path().join("comm")) {
            comm(
                out,
                pid,
                tid,
                name.strip_suffix(b"\n").unwrap_or(&name),
                trailer,
            );
        }
    }
    if let Ok(maps) = std::fs::read_to_string(base.join("maps")) {
        for m in maps.lines().filter_map(parse_maps_line) {
            if m.prot & 4 != 0 {
                mmap2(out, pid, &m, trailer);
            }
        }
    }
}

/// Appends an MMAP record (the kernel's and the modules', pid -1 as perf's host machine).
fn mmap(out: &mut Vec<u8>, start: u64, len: u64, pgoff: u64, name: &str, trailer: usize) {
    let name = pad_string(name.as_bytes());
    if push_header(
        out,
        RECORD_MMAP,
        RECORD_MISC_KERNEL,
        8 + 24 + name.len() + trailer,
    )
    .is_none()
    {
        return;
    }
    out.extend_from_slice(&u32::MAX.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    for w in [start, len, pgoff] {
        out.extend_from_slice(&w.to_ne_bytes());
    }
    out.extend_from_slice(&name);
    out.resize(out.len() + trailer, 0);
}

/// `_text` (or `_stext`) from kallsyms text (`ADDR TYPE NAME [module]` lines), read only as far as
/// needed: both stand near the top, and the kernel generates /proc/kallsyms as it is read (the whole
/// of it costs tens of milliseconds of system time).
fn kernel_text(kallsyms: impl std::io::BufRead) -> Option<u64> {
    let mut stext = None;
    for line in kallsyms.lines().take(100_000) {
        let line = line.ok()?;
        let mut it = line.split_whitespace();
        let (Some(addr), Some(_ty), Some(sym), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        match sym {
            "_text" => return u64::from_str_radix(addr, 16).ok(),
            "_stext" => stext = u64::from_str_radix(addr, 16).ok(),
            _ if stext.is_some() => return stext, // `_text` comes with `_stext` when it exists
            _ => {}
        }
    }
    stext
}

/// The kernel's MMAP as perf synthesizes it (perf_event__synthesize_kernel_mmap): `[kernel.kallsyms]_text`
/// from `_text` to the top of the address space, pgoff the address of `_text`, so that `perf report`
/// resolves kernel samples against kallsyms (module maps, synthesized after it, split it). Nothing when
/// kallsyms hides addresses.
pub fn kernel(out: &mut Vec<u8>, kallsyms: impl std::io::BufRead, trailer: usize) {
    let Some(text) = kernel_text(kallsyms) else {
        return;
    };
    if text == 0 {
        return; // kptr_restrict: addresses read as 0
    }
    mmap(
        out,
        text,
        u64::MAX - text,
        text,
        "[kernel.kallsyms]_text",
        trailer,
    );
}

/// Appends an MMAP per loaded module (from /proc/modules: name, size, ..., address) and returns their
/// ranges (perf_event__synthesize_modules).
pub fn modules(
    out: &mut Vec<u8>,
    proc_modules: &str,
    trailer: usize,
) -> Vec<crate::record::buildid::ModuleRange> {
    let mut ranges = Vec::new();
    for l in proc_modules.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (Some(name), Some(size), Some(addr)) = (f.first(), f.get(1), f.get(5)) else {
            continue;
        };
        let (Ok(size), Some(Ok(start))) = (
            size.parse::<u64>(),
            addr.strip_prefix("0x").map(|a| u64::from_str_radix(a, 16)),
        ) else {
            continue;
        };
        if start == 0 || size == 0 {
            continue;
        }
        mmap(out, start, size, 0, &format!("[{name}]"), trailer);
        ranges.push(crate::record::buildid::ModuleRange {
            name: name.to_string(),
            start,
            len: size,
        });
    }
    ranges
}

/// Every process in /proc.
pub fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// `root` and every process that descends from it. Each thread's `/proc/PID/task/TID/children`
/// names the processes it forked, so the walk reads a file per thread of the family, not one per
/// process on the machine (it runs at every `--switch-output`, while the rings fill); a kernel
/// without CONFIG_PROC_CHILDREN has no such file, and the parents of all processes are read instead.
pub fn with_descendants(root: u32) -> Vec<u32> {
    if !Path::new(&format!("/proc/{root}/task/{root}/children")).exists() {
        return with_descendants_by_parent(root);
    }
    let mut out = vec![root];
    let mut i = 0;
    while let Some(&p) = out.get(i) {
        i += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let Ok(children) = std::fs::read_to_string(t.path().join("children")) else {
                continue;
            };
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// [`with_descendants`] from each process's parent in `/proc/PID/stat` (field 4, after the
/// parenthesised comm, which may itself hold spaces and parentheses).
fn with_descendants_by_parent(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = all_pids()
        .into_iter()
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 1..];
            Some((p, after.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    let mut out = vec![root];
    let mut i = 0;
    while let Some(&p) = out.get(i) {
        out.extend(parents.iter().filter(|&&(_, pp)| pp == p).map(|&(c, _)| c));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_are_found_through_proc() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let me = std::process::id();
        // Both walks: through each thread's children file, and through every process's parent.
        for family in [with_descendants(me), with_descendants_by_parent(me)] {
            assert_eq!(family[0], me);
            assert!(family.contains(&child.id()), "{family:?}");
            // The shell's own child (sleep) too.
            assert!(family.len() >= 3, "{family:?}");
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn maps_lines_parse_like_the_kernel_prints_them() {
        let m = parse_maps_line(
            "7f1c2a400000-7f1c2a428000 r-xp 00002000 fe:00 325843                     /usr/lib/x86_64-linux-gnu/ld.so",
        )
        .unwrap();
        assert_eq!(
            (m.start, m.end, m.prot, m.shared, m.pgoff),
            (0x7f1c2a400000, 0x7f1c2a428000, 5, false, 0x2000)
        );
        assert_eq!((m.maj, m.min, m.ino), (0xfe, 0, 325843));
        assert_eq!(m.path, "/usr/lib/x86_64-linux-gnu/ld.so");
        let anon = parse_maps_line("7ffd1000-7ffd2000 rw-s 00000000 00:00 0 ").unwrap();
        assert!(anon.shared && anon.path.is_empty());
        assert_eq!(parse_maps_line("garbage"), None);
    }

    #[test]
    fn the_kernel_and_module_maps_come_from_kallsyms_and_proc_modules() {
        let kallsyms = "0000000000000000 A fixed_percpu_data\nffffffff81000000 T _stext\nffffffff81000000 T _text\nffffffffc0000000 t foo\t[mod]\n";
        let mut out = Vec::new();
        kernel(&mut out, kallsyms.as_bytes(), 0);
        let mods = modules(
            &mut out,
            "kvm 1236992 1 kvm_intel, Live 0xffffffffc0a00000\nbad line\n",
            0,
        );
        assert_eq!(mods.len(), 1);
        assert_eq!((mods[0].start, mods[0].len), (0xffffffffc0a00000, 1236992));
        let recs: Vec<_> = premap_abi::ring::RecordIter::new(premap_abi::RawData::Single(&out))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(recs.len(), 2);
        let f = premap_abi::sample::SampleFormat::new(0);
        match recs[0].parse(&f).unwrap().body {
            premap_abi::records::RecordBody::Mmap(m) => {
                assert_eq!(
                    (m.pid, m.addr, m.len, m.pgoff),
                    (
                        u32::MAX,
                        0xffffffff81000000,
                        u64::MAX - 0xffffffff81000000,
                        0xffffffff81000000
                    )
                );
                assert!(m.filename.eq_bytes(b"[kernel.kallsyms]_text"));
            }
            other => panic!("{other:?}"),
        }
        let mut none = Vec::new();
        kernel(&mut none, "0000000000000000 T _text\n".as_bytes(), 0);
        assert!(none.is_empty(), "hidden addresses give no kernel map");
    }

    #[test]
    fn synthesized_records_are_aligned_and_carry_the_trailer() {
        let mut out = Vec::new();
        comm(&mut out, 1, 1, b"init", 24);
        let m = parse_maps_line("400000-401000 r-xp 00000000 08:01 42 /bin/x").unwrap();
        mmap2(&mut out, 1, &m, 24);
        let recs: Vec<_> = premap_abi::ring::RecordIter::new(premap_abi::RawData::Single(&out))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(recs.len(), 2);
        let f = premap_abi::sample::SampleFormat {
            sample_id_all: true,
            ..premap_abi::sample::SampleFormat::new(
                premap_abi::attr::SAMPLE_TID
                    | premap_abi::attr::SAMPLE_TIME
                    | premap_abi::attr::SAMPLE_IDENTIFIER,
            )
        };
        let p = recs[1].parse(&f).unwrap();
        match p.body {
            premap_abi::records::RecordBody::Mmap2(m) => assert!(m.filename.eq_bytes(b"/bin/x")),
            other => panic!("{other:?}"),
        }
    }
}
