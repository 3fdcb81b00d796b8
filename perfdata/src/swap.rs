//! Files of the other byte order (a perf.data written on a big-endian machine read on a little-endian
//! one, or the reverse): every field swapped in place to this machine's order before anything reads
//! it, as perf swaps them (its header's `needs_swap`, `perf_event__swap_ops`, `perf_event__attr_swap`),
//! so the rest of the crate only ever meets native files. The same walk writes a native file in the
//! other order ([`to_other_order`]), which is how the tests make such files for perf to judge.
//!
//! What is swapped: the file header, the attrs and their ids, every record (header, body and
//! `sample_id` trailer) by its type and, for samples, by its event's sample format, and the feature
//! sections whose layout is known. Bytes are never swapped: strings, build ids, the raw and AUX data of
//! samples, user stack dumps, AUX trace data, the tracing data (which states its own byte order) and
//! compressed payloads (swapped by the reader once inflated). A record or section
//! whose layout this walk does not know is left as it is and named in the notes.

use crate::attrs::Attrs;
use crate::error::{corrupt, ReadError};
use premap_abi::attr::*;
use premap_abi::header::*;
use premap_abi::perf_file::*;
use premap_abi::sample::SampleFormat;

/// Whether the bytes being swapped are in this machine's order (writing a file for the other order)
/// or in the other order (reading one). Counts and sizes are read in the input's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Native,
    Foreign,
}

/// The widths of `perf_event_attr`'s bitfield word, in declaration order (disabled ... sigtrap, then
/// the reserved rest).
const ATTR_FLAG_WIDTHS: &[u32] = &[
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 26,
];

/// The widths of `perf_branch_entry`'s flags word (mispred, predicted, in_tx, abort, cycles, type,
/// spec, new_type, priv, reserved).
const BRANCH_FLAG_WIDTHS: &[u32] = &[1, 1, 1, 1, 16, 4, 2, 4, 3, 31];

/// A buffer swapped field by field. Each accessor swaps the field in place and returns its value as
/// the input meant it; a field past the end is `None` and left alone.
struct Swapper<'b> {
    buf: &'b mut [u8],
    input: Input,
}

impl Swapper<'_> {
    /// A u32 as the input meant it, left as it is.
    fn peek_u32(&self, off: usize) -> Option<u32> {
        let raw = u32::from_ne_bytes(self.buf.get(off..off.checked_add(4)?)?.try_into().ok()?);
        Some(match self.input {
            Input::Native => raw,
            Input::Foreign => raw.swap_bytes(),
        })
    }

    /// Reverses the `N` bytes at `off`; returns them in this machine's order (as they were when the
    /// input is native, as they are now when it is foreign).
    fn field<const N: usize>(&mut self, off: usize) -> Option<[u8; N]> {
        let b = self.buf.get_mut(off..off.checked_add(N)?)?;
        let raw: [u8; N] = b.try_into().ok()?;
        let mut swapped = raw;
        swapped.reverse();
        b.copy_from_slice(&swapped);
        Some(match self.input {
            Input::Native => raw,
            Input::Foreign => swapped,
        })
    }

    fn u64(&mut self, off: usize) -> Option<u64> {
        self.field(off).map(u64::from_ne_bytes)
    }

    fn u32(&mut self, off: usize) -> Option<u32> {
        self.field(off).map(u32::from_ne_bytes)
    }

    fn u16(&mut self, off: usize) -> Option<u16> {
        self.field(off).map(u16::from_ne_bytes)
    }

    /// `n` u64s from `off` (as many as fit).
    fn u64s(&mut self, off: usize, n: u64) {
        let mut o = off;
        for _ in 0..n {
            if self.u64(o).is_none() {
                return;
            }
            o += 8;
        }
    }

    /// Every whole u64 in `[off, end)`.
    fn u64s_to(&mut self, off: usize, end: usize) {
        let end = end.min(self.buf.len());
        if end > off {
            self.u64s(off, ((end - off) / 8) as u64);
        }
    }

    /// Every whole u32 in `[off, end)`.
    fn u32s_to(&mut self, off: usize, end: usize) {
        let mut o = off;
        while o + 4 <= end.min(self.buf.len()) {
            self.u32(o);
            o += 4;
        }
    }

    /// A u64 of C bitfields: a little-endian machine allocates them from the least significant bit, a
    /// big-endian one from the most significant, so each field moves to the mirrored position as the
    /// word's bytes are swapped (perf swaps the bits of each byte, which is the same for one-bit
    /// fields).
    fn bitfield(&mut self, off: usize, widths: &[u32]) {
        let Some(b) = self.buf.get_mut(off..off + 8) else {
            return;
        };
        let raw = u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
        let value = match self.input {
            Input::Native => raw,
            Input::Foreign => raw.swap_bytes(),
        };
        // The input's convention: little-endian allocation when the input is little-endian.
        let input_lsb_first = (self.input == Input::Native) == cfg!(target_endian = "little");
        let mut out = 0u64;
        let mut at = 0u32;
        for &w in widths {
            let mask = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
            let mirrored = 64 - at - w;
            let (from, to) = if input_lsb_first {
                (at, mirrored)
            } else {
                (mirrored, at)
            };
            out |= ((value >> from) & mask) << to;
            at += w;
        }
        let stored = match self.input {
            // Writing for the other order: the output is that order's bytes.
            Input::Native => out.swap_bytes(),
            Input::Foreign => out,
        };
        b.copy_from_slice(&stored.to_ne_bytes());
    }

    /// A feature-section string (u32 length, then the bytes): the offset after it.
    fn string(&mut self, off: usize) -> Option<usize> {
        let len = self.u32(off)? as usize;
        off.checked_add(4)?.checked_add(len)
    }

    /// A list of strings (u32 count, then the strings): the offset after it.
    fn strings(&mut self, off: usize) -> Option<usize> {
        let n = self.u32(off)?;
        let mut o = off + 4;
        for _ in 0..n {
            o = self.string(o)?;
        }
        Some(o)
    }
}

/// Swaps a `perf_event_attr` of `len` bytes at `off` (the fields its own size says it has, within
/// `len`); returns its size field as the input meant it.
fn swap_attr(s: &mut Swapper<'_>, off: usize, len: usize) -> Option<u32> {
    s.u32(off)?;
    let size = s.u32(off + 4)?;
    let have = if size == 0 { ATTR_SIZE_VER0 } else { size } as usize;
    let end = off + have.min(len);
    let within = |at: usize, n: usize| off + at + n <= end;
    for at in [8, 16, 24, 32] {
        if within(at, 8) {
            s.u64(off + at);
        }
    }
    if within(40, 8) {
        s.bitfield(off + 40, ATTR_FLAG_WIDTHS);
    }
    for (at, width) in [
        (48, 4),
        (52, 4),
        (56, 8),
        (64, 8),
        (72, 8),
        (80, 8),
        (88, 4),
        (92, 4),
        (96, 8),
        (104, 4),
        (108, 2),
        (110, 2),
        (112, 4),
        (116, 4),
        (120, 8),
        (128, 8),
    ] {
        if !within(at, width) {
            break;
        }
        match width {
            8 => s.u64(off + at).map(drop),
            4 => s.u32(off + at).map(drop),
            _ => s.u16(off + at).map(drop),
        };
    }
    Some(size)
}

/// The attr at `off` (`len` bytes) decoded in this machine's order, whichever order `buf` is in now
/// (`native`).
fn attr_at(buf: &[u8], off: usize, len: usize, native: bool) -> Option<PerfEventAttr> {
    let bytes = buf.get(off..off.checked_add(len)?)?;
    if native {
        return PerfEventAttr::from_bytes(bytes).ok();
    }
    let mut copy = bytes.to_vec();
    let mut s = Swapper {
        buf: &mut copy,
        input: Input::Foreign,
    };
    swap_attr(&mut s, 0, len)?;
    PerfEventAttr::from_bytes(&copy).ok()
}

/// Swaps the attr of `len` bytes at `off` and decodes it in this machine's order (before the swap
/// when the input is native, after it when it is foreign).
fn swap_attr_and_read(s: &mut Swapper<'_>, off: usize, len: usize) -> Option<PerfEventAttr> {
    let before = match s.input {
        Input::Native => attr_at(s.buf, off, len, true),
        Input::Foreign => None,
    };
    swap_attr(s, off, len)?;
    match s.input {
        Input::Native => before,
        Input::Foreign => attr_at(s.buf, off, len, true),
    }
}

/// Swaps the `sample_id` trailer at `off` laid out by `f`.
fn swap_sample_id(s: &mut Swapper<'_>, mut off: usize, f: &SampleFormat) {
    let st = f.sample_type;
    if st & SAMPLE_TID != 0 {
        s.u32(off);
        s.u32(off + 4);
        off += 8;
    }
    for bit in [SAMPLE_TIME, SAMPLE_ID, SAMPLE_STREAM_ID] {
        if st & bit != 0 {
            s.u64(off);
            off += 8;
        }
    }
    if st & SAMPLE_CPU != 0 {
        s.u32(off);
        s.u32(off + 4);
        off += 8;
    }
    if st & SAMPLE_IDENTIFIER != 0 {
        s.u64(off);
    }
}

/// Swaps a read-format group or value at `off`: the offset after it.
fn swap_read(s: &mut Swapper<'_>, off: usize, read_format: u64) -> Option<usize> {
    let per =
        1 + u64::from(read_format & FORMAT_ID != 0) + u64::from(read_format & FORMAT_LOST != 0);
    let times = u64::from(read_format & FORMAT_TOTAL_TIME_ENABLED != 0)
        + u64::from(read_format & FORMAT_TOTAL_TIME_RUNNING != 0);
    if read_format & FORMAT_GROUP != 0 {
        let nr = s.u64(off)?;
        let words = times.checked_add(nr.checked_mul(per)?)?;
        s.u64s(off + 8, words);
        Some(off + 8 + usize::try_from(words).ok()?.checked_mul(8)?)
    } else {
        let words = per + times;
        s.u64s(off, words);
        Some(off + 8 * words as usize)
    }
}

/// A register dump (abi, then one word per bit of `mask` unless the abi is 0): the offset after it.
fn swap_regs(s: &mut Swapper<'_>, off: usize, mask: u64) -> Option<usize> {
    let abi = s.u64(off)?;
    let n = if abi == 0 {
        0
    } else {
        u64::from(mask.count_ones())
    };
    s.u64s(off + 8, n);
    Some(off + 8 + 8 * n as usize)
}

/// Swaps a SAMPLE body in `[off, end)` laid out by `f`, in the kernel's field order. Raw, stack and
/// AUX bytes stay as they are.
fn swap_sample(s: &mut Swapper<'_>, mut off: usize, end: usize, f: &SampleFormat) -> Option<()> {
    let st = f.sample_type;
    // A length that claims more than the record holds ends the walk (no offset past `end`, so the
    // fixed steps below cannot overflow).
    let fits = |o: usize| (o <= end).then_some(o);
    let word = |s: &mut Swapper<'_>, off: &mut usize, bit: u64| {
        if st & bit != 0 {
            s.u64(*off);
            *off += 8;
        }
    };
    let pair = |s: &mut Swapper<'_>, off: &mut usize, bit: u64| {
        if st & bit != 0 {
            s.u32(*off);
            s.u32(*off + 4);
            *off += 8;
        }
    };
    word(s, &mut off, SAMPLE_IDENTIFIER);
    word(s, &mut off, SAMPLE_IP);
    pair(s, &mut off, SAMPLE_TID);
    word(s, &mut off, SAMPLE_TIME);
    word(s, &mut off, SAMPLE_ADDR);
    word(s, &mut off, SAMPLE_ID);
    word(s, &mut off, SAMPLE_STREAM_ID);
    pair(s, &mut off, SAMPLE_CPU);
    word(s, &mut off, SAMPLE_PERIOD);
    if st & SAMPLE_READ != 0 {
        off = fits(swap_read(s, off, f.read_format)?)?;
    }
    if st & SAMPLE_CALLCHAIN != 0 {
        let nr = s.u64(off)?;
        s.u64s(off + 8, nr);
        off = fits(
            off.checked_add(8)?
                .checked_add(usize::try_from(nr).ok()?.checked_mul(8)?)?,
        )?;
    }
    if st & SAMPLE_RAW != 0 {
        let size = s.u32(off)?;
        off = fits(off.checked_add(4)?.checked_add(size as usize)?)?;
    }
    if st & SAMPLE_BRANCH_STACK != 0 {
        let nr = s.u64(off)?;
        off += 8;
        if f.branch_sample_type & SAMPLE_BRANCH_HW_INDEX != 0 {
            s.u64(off);
            off += 8;
        }
        for _ in 0..nr {
            if off + 24 > end {
                return None;
            }
            s.u64(off);
            s.u64(off + 8);
            s.bitfield(off + 16, BRANCH_FLAG_WIDTHS);
            off += 24;
        }
        if f.branch_sample_type & SAMPLE_BRANCH_COUNTERS != 0 {
            s.u64s(off, nr);
            off = fits(off.checked_add(usize::try_from(nr).ok()?.checked_mul(8)?)?)?;
        }
    }
    if st & SAMPLE_REGS_USER != 0 {
        off = fits(swap_regs(s, off, f.sample_regs_user)?)?;
    }
    if st & SAMPLE_STACK_USER != 0 {
        let size = s.u64(off)?;
        off = fits(
            off.checked_add(8)?
                .checked_add(usize::try_from(size).ok()?)?,
        )?;
        if size != 0 {
            s.u64(off);
            off += 8;
        }
    }
    if st & SAMPLE_WEIGHT_STRUCT != 0 {
        s.u32(off);
        s.u16(off + 4);
        s.u16(off + 6);
        off += 8;
    } else {
        word(s, &mut off, SAMPLE_WEIGHT);
    }
    word(s, &mut off, SAMPLE_DATA_SRC);
    word(s, &mut off, SAMPLE_TRANSACTION);
    if st & SAMPLE_REGS_INTR != 0 {
        off = fits(swap_regs(s, off, f.sample_regs_intr)?)?;
    }
    word(s, &mut off, SAMPLE_PHYS_ADDR);
    word(s, &mut off, SAMPLE_CGROUP);
    word(s, &mut off, SAMPLE_DATA_PAGE_SIZE);
    word(s, &mut off, SAMPLE_CODE_PAGE_SIZE);
    if st & SAMPLE_AUX != 0 {
        s.u64(off);
    }
    Some(())
}

/// What a swap walk met that it left as it was.
#[derive(Debug, Default)]
struct Notes {
    unknown: Vec<String>,
    /// NRCPUS's first count (cpus available), which lays out CPU_TOPOLOGY's per-cpu ids.
    nr_cpus: Option<u32>,
}

impl Notes {
    fn left(&mut self, what: String) {
        if !self.unknown.contains(&what) {
            self.unknown.push(what);
        }
    }
}

/// Swaps the records of `[start, end)`; pipe-mode HEADER_ATTRs join `attrs`. Stops at a record
/// whose header cannot be right (the reader then reports the damage where it is).
fn swap_records(
    buf: &mut [u8],
    start: usize,
    end: usize,
    input: Input,
    attrs: &mut Attrs,
    notes: &mut Notes,
) {
    let end = end.min(buf.len());
    let mut pos = start;
    while pos + 8 <= end {
        let mut s = Swapper {
            buf: &mut *buf,
            input,
        };
        let (Some(ty), Some(misc), Some(size)) = (s.u32(pos), s.u16(pos + 4), s.u16(pos + 6))
        else {
            return;
        };
        let size = usize::from(size);
        if size < 8 || pos + size > end {
            return;
        }
        let header = EventHeader {
            r#type: ty,
            misc,
            size: size as u16,
        };
        let mut after = pos + size;
        let body = pos + 8;
        swap_body(&mut s, &header, body, after, attrs, notes);
        // Payload after the record, as the reader takes it (simpleperf's TRACING_DATA holds its
        // data inside the record).
        let payload = match ty {
            RECORD_AUXTRACE => native_u64(s.buf, body, input),
            RECORD_HEADER_TRACING_DATA => {
                let n = u64::from(native_u32(s.buf, body, input).unwrap_or(0));
                (size - 8 < 4 + n as usize).then_some(n)
            }
            _ => None,
        };
        after = after.saturating_add(payload.unwrap_or(0) as usize);
        pos = after;
    }
}

/// A u64 already swapped to this machine's order when the input was foreign, still in it when it was
/// native: the value either way.
fn native_u64(buf: &[u8], off: usize, input: Input) -> Option<u64> {
    let raw = u64::from_ne_bytes(buf.get(off..off + 8)?.try_into().ok()?);
    Some(match input {
        Input::Foreign => raw,
        Input::Native => raw.swap_bytes(),
    })
}

fn native_u32(buf: &[u8], off: usize, input: Input) -> Option<u32> {
    let raw = u32::from_ne_bytes(buf.get(off..off + 4)?.try_into().ok()?);
    Some(match input {
        Input::Foreign => raw,
        Input::Native => raw.swap_bytes(),
    })
}

/// The sample format of the record whose body is `[body, end)`: its event found by id, read from a
/// copy in this machine's order (ids are u64s, so swapping every word finds them: perf's all64 swap).
fn format_of(
    buf: &[u8],
    header: &EventHeader,
    body: usize,
    end: usize,
    input: Input,
    attrs: &Attrs,
) -> Option<SampleFormat> {
    let bytes = buf.get(body..end)?;
    let copy: Vec<u8> = match input {
        Input::Native => bytes.to_vec(),
        Input::Foreign => bytes
            .chunks(8)
            .flat_map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_ne_bytes(w).swap_bytes().to_ne_bytes()
            })
            .take(bytes.len())
            .collect(),
    };
    attrs
        .event_of(header, &copy)
        .map(|e| e.attr.sample_format())
}

/// Swaps one record's body `[body, end)` by its type.
fn swap_body(
    s: &mut Swapper<'_>,
    h: &EventHeader,
    body: usize,
    end: usize,
    attrs: &mut Attrs,
    notes: &mut Notes,
) {
    // Nothing past the record's end is touched, whatever its counts say.
    let end = end.min(s.buf.len());
    let s = &mut Swapper {
        input: s.input,
        buf: &mut s.buf[..end],
    };
    let ty = h.r#type;
    let format = if ty < RECORD_USER_TYPE_START {
        format_of(s.buf, h, body, end, s.input, attrs)
    } else {
        None
    };
    let f = format.unwrap_or_default();
    // Kernel records other than SAMPLE carry the trailer at their end.
    let trailer = if ty < RECORD_USER_TYPE_START && ty != RECORD_SAMPLE && f.sample_id_all {
        f.sample_id_size()
    } else {
        0
    };
    let Some(fields_end) = end.checked_sub(trailer).filter(|e| *e >= body) else {
        return;
    };
    let b = body;
    match ty {
        RECORD_SAMPLE => {
            swap_sample(s, b, end, &f);
        }
        RECORD_MMAP => {
            s.u32(b);
            s.u32(b + 4);
            s.u64s(b + 8, 3);
        }
        RECORD_MMAP2 => {
            s.u32(b);
            s.u32(b + 4);
            s.u64s(b + 8, 3);
            if h.misc & RECORD_MISC_MMAP_BUILD_ID == 0 {
                s.u32(b + 32);
                s.u32(b + 36);
                s.u64s(b + 40, 2);
            }
            s.u32(b + 56);
            s.u32(b + 60);
        }
        RECORD_COMM | RECORD_ITRACE_START | RECORD_SWITCH_CPU_WIDE => {
            s.u32(b);
            s.u32(b + 4);
        }
        RECORD_EXIT | RECORD_FORK => {
            s.u32s_to(b, b + 16);
            s.u64(b + 16);
        }
        RECORD_LOST
        | RECORD_THROTTLE
        | RECORD_UNTHROTTLE
        | RECORD_AUX
        | RECORD_LOST_SAMPLES
        | RECORD_AUX_OUTPUT_HW_ID
        | RECORD_CALLCHAIN_DEFERRED => s.u64s_to(b, fields_end),
        RECORD_READ => {
            s.u32(b);
            s.u32(b + 4);
            swap_read(s, b + 8, f.read_format);
        }
        RECORD_SWITCH => {}
        RECORD_NAMESPACES => {
            s.u32(b);
            s.u32(b + 4);
            s.u64s_to(b + 8, fields_end);
        }
        RECORD_KSYMBOL => {
            s.u64(b);
            s.u32(b + 8);
            s.u16(b + 12);
            s.u16(b + 14);
        }
        RECORD_BPF_EVENT => {
            s.u16(b);
            s.u16(b + 2);
            s.u32(b + 4);
        }
        RECORD_CGROUP => {
            s.u64(b);
        }
        RECORD_TEXT_POKE => {
            s.u64(b);
            s.u16(b + 8);
            s.u16(b + 10);
        }
        RECORD_HEADER_ATTR => {
            let Some(size) = s.peek_u32(b + 4) else {
                return;
            };
            let have = if size == 0 { ATTR_SIZE_VER0 } else { size } as usize;
            let attr_len = have.min(fields_end - b);
            let attr = swap_attr_and_read(s, b, attr_len);
            let mut ids = Vec::new();
            let mut o = b + attr_len;
            while o + 8 <= fields_end {
                ids.extend(s.u64(o));
                o += 8;
            }
            if let Some(attr) = attr {
                attrs.push(attr, ids);
            }
        }
        RECORD_EVENT_UPDATE => {
            // type, id, then by type: 0 unit and 2 name (bytes), 1 scale (a double), 3 cpus (a map).
            let kind = s.u64(b);
            s.u64(b + 8);
            match kind {
                Some(1) => drop(s.u64(b + 16)),
                Some(3) => swap_cpu_map(s, b + 16, end, notes),
                Some(0) | Some(2) => {}
                _ => notes.left("EVENT_UPDATE of an unknown type".to_string()),
            }
        }
        RECORD_HEADER_EVENT_TYPE => {
            s.u64(b);
        }
        RECORD_HEADER_TRACING_DATA => {
            s.u32(b);
        }
        RECORD_HEADER_BUILD_ID => {
            s.u32(b);
        }
        RECORD_FINISHED_ROUND | RECORD_FINISHED_INIT => {}
        RECORD_COMPRESSED | RECORD_COMPRESSED2 => {
            if ty == RECORD_COMPRESSED2 {
                s.u64(b);
            }
            // Read: swapped once inflated (the reader's swap_stream). Written: this walk does not
            // compress again.
            if s.input == Input::Native {
                notes.left("the contents of compressed records".to_string());
            }
        }
        RECORD_ID_INDEX | RECORD_STAT_CONFIG | RECORD_STAT_ROUND | RECORD_TIME_CONV => {
            s.u64s_to(b, end)
        }
        RECORD_THREAD_MAP => {
            if let Some(nr) = s.u64(b) {
                for i in 0..nr.min(((end - b) / 24) as u64) {
                    s.u64(b + 8 + 24 * i as usize);
                }
            }
        }
        RECORD_CPU_MAP => swap_cpu_map(s, b, end, notes),
        RECORD_STAT => {
            s.u64(b);
            s.u32(b + 8);
            s.u32(b + 12);
            s.u64s_to(b + 16, end);
        }
        RECORD_AUXTRACE_INFO => {
            s.u32(b);
            s.u32(b + 4);
            s.u64s_to(b + 8, end);
        }
        RECORD_AUXTRACE => {
            s.u64s(b, 3);
            s.u32s_to(b + 24, b + 40);
        }
        RECORD_AUXTRACE_ERROR => {
            s.u32s_to(b, b + 24);
            s.u64s(b + 24, 2);
            s.u32s_to(b + 104, b + 112);
        }
        RECORD_HEADER_FEATURE => {
            if let Some(feat) = s.u64(b) {
                swap_feature(s, feat as u32, b + 8, end, notes);
            }
        }
        _ => notes.left(format!("records of type {ty}")),
    }
    if trailer > 0 {
        swap_sample_id(s, fields_end, &f);
    }
}

/// Swaps a feature section `[off, end)` (a file's, or a pipe's HEADER_FEATURE record's).
fn swap_feature(s: &mut Swapper<'_>, feat: u32, off: usize, end: usize, notes: &mut Notes) {
    // Nothing past the section's end is touched, whatever its counts say.
    let end = end.min(s.buf.len());
    let s = &mut Swapper {
        input: s.input,
        buf: &mut s.buf[..end],
    };
    let done = match feat {
        HEADER_TRACING_DATA | HEADER_BRANCH_STACK | HEADER_STAT => Some(()),
        HEADER_BUILD_ID => {
            let mut o = off;
            while o + 8 <= end {
                s.u32(o);
                s.u16(o + 4);
                let Some(size) = s.u16(o + 6) else { break };
                s.u32(o + 8);
                if size < 8 {
                    break;
                }
                o += usize::from(size);
            }
            Some(())
        }
        HEADER_HOSTNAME | HEADER_OSRELEASE | HEADER_VERSION | HEADER_ARCH | HEADER_CPUDESC
        | HEADER_CPUID => s.string(off).map(drop),
        HEADER_NRCPUS => {
            notes.nr_cpus = s.u32(off);
            s.u32(off + 4);
            Some(())
        }
        HEADER_TOTAL_MEM | HEADER_CLOCKID | HEADER_DIR_FORMAT | HEADER_SAMPLE_TIME
        | HEADER_AUXTRACE => {
            s.u64s_to(off, end);
            Some(())
        }
        HEADER_CMDLINE => s.strings(off).map(drop),
        HEADER_EVENT_DESC => swap_event_desc(s, off, end),
        HEADER_CPU_TOPOLOGY => swap_cpu_topology(s, off, end, notes.nr_cpus),
        HEADER_NUMA_TOPOLOGY => s.u32(off).and_then(|n| {
            let mut o = off + 4;
            for _ in 0..n {
                s.u32(o)?;
                s.u64(o + 4)?;
                s.u64(o + 12)?;
                o = s.string(o + 20)?;
            }
            Some(())
        }),
        HEADER_PMU_MAPPINGS => s.u32(off).and_then(|n| {
            let mut o = off + 4;
            for _ in 0..n {
                s.u32(o)?;
                o = s.string(o + 4)?;
            }
            Some(())
        }),
        HEADER_GROUP_DESC => s.u32(off).and_then(|n| {
            let mut o = off + 4;
            for _ in 0..n {
                o = s.string(o)?;
                s.u32(o)?;
                s.u32(o + 4)?;
                o += 8;
            }
            Some(())
        }),
        HEADER_CACHE => s.u32(off).and_then(|_version| {
            let n = s.u32(off + 4)?;
            let mut o = off + 8;
            for _ in 0..n {
                s.u32s_to(o, o + 16);
                o = s.string(o + 16)?;
                o = s.string(o)?;
                o = s.string(o)?;
            }
            Some(())
        }),
        HEADER_MEM_TOPOLOGY => s.u64(off).and_then(|_version| {
            s.u64(off + 8)?;
            let n = s.u64(off + 16)?;
            let mut o = off + 24;
            for _ in 0..n {
                // node, size, then the bitmap (perf's do_write_bitmap): its size in bits again, then
                // the u64 words.
                s.u64(o)?;
                s.u64(o + 8)?;
                let words = s.u64(o + 16)?.div_ceil(64);
                s.u64s(o + 24, words);
                o = o
                    .checked_add(24)?
                    .checked_add(usize::try_from(words).ok()?.checked_mul(8)?)?;
            }
            Some(())
        }),
        // Counts and sizes; the contents are left as written, as perf leaves them ("not yet
        // supported" for a file of the other order): bpf_prog_info is the kernel's struct, BTF states
        // its own byte order.
        HEADER_BPF_PROG_INFO => s.u32(off).and_then(|n| {
            let mut o = off + 4;
            for _ in 0..n {
                let info = s.u32(o)? as usize;
                let data = s.u32(o + 4)? as usize;
                o = o.checked_add(8)?.checked_add(info)?.checked_add(data)?;
            }
            Some(())
        }),
        HEADER_BPF_BTF => s.u32(off).and_then(|n| {
            let mut o = off + 4;
            for _ in 0..n {
                s.u32(o)?;
                let size = s.u32(o + 4)? as usize;
                o = o.checked_add(8)?.checked_add(size)?;
            }
            Some(())
        }),
        HEADER_COMPRESSED => {
            s.u32s_to(off, off + 20);
            Some(())
        }
        HEADER_CLOCK_DATA => {
            s.u32(off);
            s.u32(off + 4);
            s.u64s(off + 8, 2);
            Some(())
        }
        // A count, then pairs of strings (name and value; pmu and cpus).
        HEADER_CPU_PMU_CAPS | HEADER_HYBRID_TOPOLOGY => s.u32(off).and_then(|n| {
            let mut o = off + 4;
            for _ in 0..n {
                o = s.string(o)?;
                o = s.string(o)?;
            }
            Some(())
        }),
        HEADER_PMU_CAPS => s.u32(off).and_then(|n| {
            let mut o = off + 4;
            for _ in 0..n {
                let caps = s.u32(o)?;
                o += 4;
                for _ in 0..caps {
                    o = s.string(o)?;
                    o = s.string(o)?;
                }
                o = s.string(o)?;
            }
            Some(())
        }),
        // An empty body (perf's pipe-mode end marker, HEADER_LAST_FEATURE) has nothing to swap.
        _ if off >= end => Some(()),
        _ => {
            notes.left(format!("feature section {feat}"));
            Some(())
        }
    };
    if done.is_none() {
        notes.left(format!("feature section {feat} (cut short)"));
    }
}

/// A `perf_record_cpu_map_data` at `off`: u16 type, then a cpu list (u16 count, u16 cpus), a mask
/// (u16 count, u16 long size, then u32 words, or 4 bytes of padding and u64 words) or a range (two
/// bytes, u16 first and last cpu).
fn swap_cpu_map(s: &mut Swapper<'_>, off: usize, end: usize, notes: &mut Notes) {
    let within = |o: usize, n: usize| o + n <= end;
    match s.u16(off) {
        Some(0) => {
            if let Some(n) = s.u16(off + 2) {
                for i in 0..usize::from(n) {
                    if within(off + 4 + 2 * i, 2) {
                        s.u16(off + 4 + 2 * i);
                    }
                }
            }
        }
        Some(1) => {
            let n = s.u16(off + 2).map_or(0, usize::from);
            match s.u16(off + 4) {
                Some(4) => s.u32s_to(off + 6, (off + 6 + 4 * n).min(end)),
                Some(8) => s.u64s_to(off + 10, (off + 10 + 8 * n).min(end)),
                _ => notes.left("cpu map masks of an unknown word size".to_string()),
            }
        }
        Some(2) => {
            s.u16(off + 4);
            s.u16(off + 6);
        }
        _ => notes.left("cpu maps of an unknown type".to_string()),
    }
}

/// CPU_TOPOLOGY: core and thread sibling lists, then (when the section goes on) a core id and a
/// socket id per cpu, a die sibling list and a die id per cpu.
fn swap_cpu_topology(s: &mut Swapper<'_>, off: usize, end: usize, cpus: Option<u32>) -> Option<()> {
    let mut o = s.strings(off)?;
    o = s.strings(o)?;
    let cpus = cpus? as usize;
    if o.checked_add(8 * cpus)? > end {
        return Some(());
    }
    s.u32s_to(o, o + 8 * cpus);
    o += 8 * cpus;
    if o + 4 > end {
        return Some(());
    }
    o = s.strings(o)?;
    s.u32s_to(o, (o + 4 * cpus).min(end));
    Some(())
}

/// EVENT_DESC: u32 count, u32 attr size, then per event its attr, u32 id count, name, ids.
fn swap_event_desc(s: &mut Swapper<'_>, off: usize, end: usize) -> Option<()> {
    let n = s.u32(off)?;
    let attr_size = s.u32(off + 4)? as usize;
    let mut o = off + 8;
    for _ in 0..n {
        if o.checked_add(attr_size)? > end {
            return None;
        }
        swap_attr(s, o, attr_size)?;
        o += attr_size;
        let ids = s.u32(o)?;
        o = s.string(o + 4)?;
        s.u64s(o, u64::from(ids));
        o = o.checked_add(8 * ids as usize)?;
    }
    Some(())
}

/// Swaps a whole file (file or pipe mode) in place; `input` says which order it is in now. Returns
/// what was left as it was.
fn swap_file(buf: &mut [u8], input: Input) -> Result<(Attrs, Vec<String>), ReadError> {
    let mut notes = Notes::default();
    let mut attrs = Attrs::default();
    let mut s = Swapper {
        buf: &mut *buf,
        input,
    };
    s.u64(0)
        .ok_or_else(|| corrupt(0, "file shorter than its magic"))?;
    let size = s.u64(8).ok_or_else(|| corrupt(8, "truncated header"))?;
    if size == PIPE_HEADER_SIZE {
        let n = buf.len();
        swap_records(
            buf,
            PIPE_HEADER_SIZE as usize,
            n,
            input,
            &mut attrs,
            &mut notes,
        );
        return Ok((attrs, notes.unknown));
    }
    if size != FILE_HEADER_SIZE && size != FILE_HEADER_SIZE_NO_FEATURES {
        return Err(corrupt(8, "header size is neither 104, 72 nor 16"));
    }
    let words = size as usize / 8;
    let mut w = [0u64; 13];
    for (i, slot) in w.iter_mut().enumerate().take(words).skip(2) {
        *slot = s
            .u64(i * 8)
            .ok_or_else(|| corrupt(i as u64 * 8, "truncated header"))?;
    }
    let (attr_size, attrs_off, attrs_size) = (w[2] as usize, w[3] as usize, w[4] as usize);
    let (data_off, data_size) = (w[5] as usize, w[6] as usize);
    let features = [w[9], w[10], w[11], w[12]];
    if attr_size > 16 && attr_size <= 4096 + 16 {
        let mut o = attrs_off;
        let end = attrs_off.saturating_add(attrs_size).min(s.buf.len());
        while o + attr_size <= end {
            let len = attr_size - 16;
            let attr = swap_attr_and_read(&mut s, o, len);
            let ids_off = s.u64(o + len).unwrap_or(0) as usize;
            let ids_size = s.u64(o + len + 8).unwrap_or(0) as usize;
            let mut ids = Vec::new();
            let ids_end = ids_off.saturating_add(ids_size).min(s.buf.len());
            let mut i = ids_off;
            while i + 8 <= ids_end {
                if let Some(id) = s.u64(i) {
                    ids.push(id);
                }
                i += 8;
            }
            if let Some(attr) = attr {
                attrs.push(attr, ids);
            }
            o += attr_size;
        }
    }
    let n = buf.len();
    let data_end = if data_size == 0 {
        n
    } else {
        data_off.saturating_add(data_size).min(n)
    };
    swap_records(buf, data_off, data_end, input, &mut attrs, &mut notes);
    if size == FILE_HEADER_SIZE && data_size != 0 {
        let mut s = Swapper {
            buf: &mut *buf,
            input,
        };
        let mut table = data_end;
        for bit in 0..HEADER_FEAT_BITS as u32 {
            if features[bit as usize / 64] & (1u64 << (bit % 64)) == 0 {
                continue;
            }
            let (Some(off), Some(len)) = (s.u64(table), s.u64(table + 8)) else {
                break;
            };
            table += 16;
            let (off, len) = (off as usize, len as usize);
            if off.checked_add(len).is_some_and(|e| e <= n) {
                swap_feature(&mut s, bit, off, off + len, &mut notes);
            }
        }
    }
    Ok((attrs, notes.unknown))
}

/// Whether `bytes` start with perf's magic as a machine of the other byte order writes it.
pub fn is_other_order(bytes: &[u8]) -> bool {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes)
        .is_some_and(|m| m == PERF_MAGIC2_SWAPPED && m != PERF_MAGIC2)
}

/// Swaps a file of the other byte order (see [`is_other_order`]) to this machine's, in place, as
/// [`crate::PerfFile`] does on reading. Returns the events (whose ids find each record's format) and
/// what was left as it was (records or feature sections whose layout is unknown here).
pub fn to_native(bytes: &mut [u8]) -> Result<(Attrs, Vec<String>), ReadError> {
    swap_file(bytes, Input::Foreign)
}

/// The records of an inflated stream of a file of the other byte order, swapped in place.
pub(crate) fn swap_stream(stream: &mut [u8], attrs: &mut Attrs) -> Vec<String> {
    let mut notes = Notes::default();
    let n = stream.len();
    swap_records(stream, 0, n, Input::Foreign, attrs, &mut notes);
    notes.unknown
}

/// A native perf.data file (file or pipe mode, not compressed) written in the other byte order, as a
/// machine of that order would have written it. Returns what was left as it was (records or feature
/// sections whose layout is unknown here). Fails on a file that does not start with perf's native
/// magic.
pub fn to_other_order(bytes: &mut [u8]) -> Result<Vec<String>, ReadError> {
    let magic = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_ne_bytes);
    if magic != Some(PERF_MAGIC2) {
        return Err(corrupt(
            0,
            "not a native perf.data file (no PERFILE2 magic)",
        ));
    }
    swap_file(bytes, Input::Native).map(|(_, notes)| notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample whose user-stack size claims nearly the whole address space: the walk stops at the
    /// record's end instead of overflowing an offset (which panicked in a debug build).
    #[test]
    fn a_length_past_the_record_ends_the_sample_walk() {
        let f = SampleFormat::new(SAMPLE_STACK_USER | SAMPLE_PHYS_ADDR | SAMPLE_CGROUP);
        let mut body = (u64::MAX - 16).to_be_bytes().to_vec();
        body.resize(64, 0xff);
        let mut s = Swapper {
            buf: &mut body,
            input: Input::Foreign,
        };
        assert_eq!(swap_sample(&mut s, 0, 64, &f), None);
        let f = SampleFormat::new(SAMPLE_CALLCHAIN | SAMPLE_RAW);
        let mut body = (1u64 << 61).to_be_bytes().to_vec();
        body.resize(64, 0);
        let mut s = Swapper {
            buf: &mut body,
            input: Input::Foreign,
        };
        assert_eq!(swap_sample(&mut s, 0, 64, &f), None);
    }
}
