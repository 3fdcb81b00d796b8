//! The TRACING_DATA feature, as perf's trace-event-info.c writes it, so that `perf script` can decode
//! tracepoint samples: tracefs's header_page and header_event, the format file of every recorded
//! tracepoint grouped by subsystem, and the printk formats.

use crate::events::tracefs;

fn put_file(out: &mut Vec<u8>, bytes: &[u8], u64_size: bool) {
    if u64_size {
        out.extend_from_slice(&(bytes.len() as u64).to_ne_bytes());
    } else {
        out.extend_from_slice(&(bytes.len() as u32).to_ne_bytes());
    }
    out.extend_from_slice(bytes);
}

/// Reads a tracefs file whole. Its size reads as 0 and some of its files answer a small first read
/// and then end-of-file, so it is read with large buffers as perf does.
fn read_tracefs(path: &str) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let Ok(mut f) = std::fs::File::open(path) else {
        return out;
    };
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// The subsystem and name of the tracepoint with this id, found in tracefs.
fn tracepoint_of(root: &str, id: u64) -> Option<(String, String)> {
    for sys in std::fs::read_dir(format!("{root}/events")).ok()?.flatten() {
        let Ok(events) = std::fs::read_dir(sys.path()) else {
            continue;
        };
        for ev in events.flatten() {
            let found = std::fs::read_to_string(ev.path().join("id"))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                == Some(id);
            if found {
                return Some((
                    sys.file_name().to_string_lossy().into_owned(),
                    ev.file_name().to_string_lossy().into_owned(),
                ));
            }
        }
    }
    None
}

/// The TRACING_DATA section for the tracepoints with these ids; `None` without tracefs.
pub fn feature(ids: &[u64]) -> Option<Vec<u8>> {
    let root = tracefs()?;
    let read = |p: &str| read_tracefs(&format!("{root}/{p}"));
    let mut out = Vec::new();
    out.extend_from_slice(b"\x17\x08Dtracing0.6\0");
    out.push(u8::from(cfg!(target_endian = "big")));
    out.push(std::mem::size_of::<libc::c_long>() as u8);
    out.extend_from_slice(&(premap::page_size() as u32).to_ne_bytes());
    for name in ["header_page", "header_event"] {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        put_file(&mut out, &read(&format!("events/{name}")), true);
    }
    out.extend_from_slice(&0u32.to_ne_bytes()); // no ftrace-internal events
    let mut systems: Vec<(String, Vec<String>)> = Vec::new();
    for &id in ids {
        let Some((sys, name)) = tracepoint_of(root, id) else {
            continue;
        };
        match systems.iter_mut().find(|(s, _)| *s == sys) {
            Some((_, v)) if !v.contains(&name) => v.push(name),
            Some(_) => {}
            None => systems.push((sys, vec![name])),
        }
    }
    out.extend_from_slice(&(systems.len() as u32).to_ne_bytes());
    for (sys, names) in &systems {
        out.extend_from_slice(sys.as_bytes());
        out.push(0);
        out.extend_from_slice(&(names.len() as u32).to_ne_bytes());
        for n in names {
            put_file(&mut out, &read(&format!("events/{sys}/{n}/format")), true);
        }
    }
    put_file(&mut out, &[], false); // kallsyms: perf reads the running kernel's
    put_file(&mut out, &read("printk_formats"), false);
    put_file(&mut out, &[], true); // saved_cmdlines: COMM records name the tasks
    Some(out)
}
