//! Kernel addresses as symbols for `%pS`/`%ps` in tracepoint print formats, from this machine's
//! /proc/kallsyms, as `perf script` resolves them when the file was recorded here. Read once, on the
//! first use; without it (or with addresses hidden, `kptr_restrict`), addresses print in hex.

use std::sync::OnceLock;

/// The most symbols kept (a kernel with every module has a few hundred thousand).
const MAX_SYMBOLS: usize = 4 << 20;

fn table() -> &'static [(u64, Box<str>)] {
    static TABLE: OnceLock<Vec<(u64, Box<str>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        let mut v: Vec<(u64, Box<str>)> = text
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let addr = u64::from_str_radix(it.next()?, 16).ok()?;
                let _kind = it.next()?;
                let name = it.next()?;
                (addr != 0).then(|| (addr, name.into()))
            })
            .take(MAX_SYMBOLS)
            .collect();
        v.sort_by_key(|(a, _)| *a);
        v
    })
}

/// The symbol at or before `addr` and the offset into it; `None` below the first symbol or when
/// the table is empty.
pub fn symbol(addr: u64) -> Option<(&'static str, u64)> {
    let t = table();
    let i = t.partition_point(|(a, _)| *a <= addr).checked_sub(1)?;
    let (start, name) = t.get(i)?;
    Some((name, addr - start))
}
