//! The events of a file: their attrs, ids and names, and the names perf builds from an attr when the
//! file does not name its events.

use crate::error::ReadError;
use crate::records::{word_at, word_at_byte, FileRecord};
use premap::event::Event;
use premap_abi::attr::*;
use premap_abi::header::*;
use premap_abi::records::RecordBody;
use premap_abi::sample::SampleFormat;
use premap_abi::EventHeader;
use std::collections::HashMap;

/// One event of the file: its attr, ids and name.
#[derive(Clone, Debug)]
pub struct EventAttr {
    /// The attr.
    pub attr: PerfEventAttr,
    /// Its ids.
    pub ids: Vec<u64>,
    /// Its name (from EVENT_DESC, else derived from the attr).
    pub name: String,
}

/// The events of a file and the mapping from event id to event.
#[derive(Clone, Debug, Default)]
pub struct Attrs {
    /// The events in file order.
    pub events: Vec<EventAttr>,
    by_id: HashMap<u64, usize>,
}

/// perf's names for `PERF_COUNT_HW_*` (tools/perf/util/evsel.c, `evsel__hw_names`).
const HW_NAMES: [&str; 10] = [
    "cycles",
    "instructions",
    "cache-references",
    "cache-misses",
    "branches",
    "branch-misses",
    "bus-cycles",
    "stalled-cycles-frontend",
    "stalled-cycles-backend",
    "ref-cycles",
];

/// perf's names for `PERF_COUNT_SW_*` (`evsel__sw_names`).
const SW_NAMES: [&str; 12] = [
    "cpu-clock",
    "task-clock",
    "page-faults",
    "context-switches",
    "cpu-migrations",
    "minor-faults",
    "major-faults",
    "alignment-faults",
    "emulation-faults",
    "dummy",
    "bpf-output",
    "cgroup-switches",
];

/// The modifiers perf appends to a name it builds from the attr (`evsel__add_modifiers`): `k`/`u`/`h`
/// for the contexts counted when any is excluded, `p`s for precise_ip, and `H`/`G` for host/guest
/// when exclude_host is set or exclude_guest differs from what perf would default to.
fn perf_modifiers(attr: &PerfEventAttr) -> String {
    let mut m = String::new();
    let excl = |f| attr.has_flag(f);
    let mut guest_default = false;
    if excl(ATTR_FLAG_EXCLUDE_KERNEL) || excl(ATTR_FLAG_EXCLUDE_USER) || excl(ATTR_FLAG_EXCLUDE_HV)
    {
        for (f, c) in [
            (ATTR_FLAG_EXCLUDE_KERNEL, 'k'),
            (ATTR_FLAG_EXCLUDE_USER, 'u'),
            (ATTR_FLAG_EXCLUDE_HV, 'h'),
        ] {
            if !excl(f) {
                m.push(c);
            }
        }
        guest_default = true;
    }
    let precise = ((attr.flags & ATTR_PRECISE_IP_MASK) >> ATTR_PRECISE_IP_SHIFT) as usize;
    if precise > 0 {
        m.push_str(&"ppp"[..precise]);
        guest_default = true;
    }
    if excl(ATTR_FLAG_EXCLUDE_HOST) || excl(ATTR_FLAG_EXCLUDE_GUEST) == guest_default {
        for (f, c) in [
            (ATTR_FLAG_EXCLUDE_HOST, 'H'),
            (ATTR_FLAG_EXCLUDE_GUEST, 'G'),
        ] {
            if !excl(f) {
                m.push(c);
            }
        }
    }
    if m.is_empty() {
        m
    } else {
        format!(":{m}")
    }
}

/// An event's name as perf builds it from the attr when the file does not name it (no EVENT_DESC, as
/// in pipe mode before EVENT_UPDATE, or another tool's file): `evsel__name`'s rules for hardware,
/// software, raw and breakpoint events, with their modifiers.
pub fn default_name(attr: &PerfEventAttr) -> String {
    let known = |names: &[&str]| names.get(attr.config as usize).map(|n| n.to_string());
    let base = match attr.r#type {
        TYPE_HARDWARE => known(&HW_NAMES),
        TYPE_SOFTWARE => known(&SW_NAMES),
        TYPE_RAW => Some(format!("raw {:#x}", attr.config)),
        _ => None,
    };
    match base {
        Some(b) => b + &perf_modifiers(attr),
        None => {
            let ev = Event::Raw {
                r#type: attr.r#type,
                config: attr.config,
            };
            ev.name().map_or_else(
                || format!("type{}:config{:#x}", attr.r#type, attr.config),
                str::to_string,
            )
        }
    }
}

impl Attrs {
    /// Adds an event.
    pub fn push(&mut self, attr: PerfEventAttr, ids: Vec<u64>) {
        let idx = self.events.len();
        for id in &ids {
            self.by_id.insert(*id, idx);
        }
        let name = default_name(&attr);
        self.events.push(EventAttr { attr, ids, name });
    }

    /// Names the event with sample id `id` (pipe mode's EVENT_UPDATE records); names are cut at
    /// 256 bytes.
    pub fn set_name(&mut self, id: u64, mut name: String) {
        if let Some(&i) = self.by_id.get(&id) {
            if name.len() > 256 {
                let mut end = 256;
                while !name.is_char_boundary(end) {
                    end -= 1;
                }
                name.truncate(end);
            }
            self.events[i].name = name;
        }
    }

    /// Takes what a record says about the events: pipe mode's HEADER_ATTR records add one, its
    /// EVENT_UPDATE records name one. Other records are ignored.
    pub fn observe(&mut self, rec: &FileRecord<'_>) -> Result<(), ReadError> {
        match rec.header.r#type {
            RECORD_HEADER_ATTR => {
                // A perf-tool record: no sample_id trailer, so no format is needed to parse it.
                if let RecordBody::HeaderAttr(a) = rec.parse(&SampleFormat::default())?.body {
                    self.push(a.attr, a.ids.iter().collect());
                }
            }
            RECORD_EVENT_UPDATE => {
                if let Some((id, name)) = crate::tool_records::event_update_name(rec.body) {
                    self.set_name(id, name);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The position (in [`Attrs::events`]) of the event with sample id `id`.
    pub fn index_of_id(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The event a record belongs to: by its id when several events exist, else the only one.
    pub fn event_of(&self, header: &EventHeader, body: &[u8]) -> Option<&EventAttr> {
        let first = self.events.first()?;
        if self.events.len() == 1 {
            return Some(first);
        }
        let f = first.attr.sample_format();
        let id = if header.r#type == RECORD_SAMPLE {
            f.id_pos().and_then(|p| word_at(body, p))
        } else if premap_abi::records::has_sample_id(header.r#type) {
            f.is_pos()
                .and_then(|p| body.len().checked_sub(p * 8))
                .and_then(|off| word_at_byte(body, off))
        } else {
            None
        };
        match id.and_then(|id| self.by_id.get(&id)) {
            Some(&i) => self.events.get(i),
            None => Some(first),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(r#type: u32, config: u64, flags: &[u64], precise: u64) -> PerfEventAttr {
        let mut a = PerfEventAttr {
            r#type,
            config,
            ..Default::default()
        };
        for f in flags {
            a.set_flag(*f, true);
        }
        a.flags |= precise << ATTR_PRECISE_IP_SHIFT;
        a
    }

    /// The names perf 6.1 prints (`perf report --stats`, `perf evlist`) for attrs as perf record
    /// sets them, with no EVENT_DESC to name them: from the corpus and `perf record -e` here.
    #[test]
    fn names_built_from_the_attr_follow_perf() {
        use premap_abi::attr::{
            ATTR_FLAG_EXCLUDE_GUEST as G, ATTR_FLAG_EXCLUDE_HOST as H, ATTR_FLAG_EXCLUDE_HV as HV,
            ATTR_FLAG_EXCLUDE_KERNEL as K, ATTR_FLAG_EXCLUDE_USER as U,
        };
        let cases: &[(PerfEventAttr, &str)] = &[
            // `-e cycles`: exclude_guest is perf's default, so no modifier.
            (attr(TYPE_HARDWARE, 0, &[G], 0), "cycles"),
            // `-e cycles:pp`
            (attr(TYPE_HARDWARE, 0, &[G], 2), "cycles:ppH"),
            (attr(TYPE_HARDWARE, 1, &[G], 2), "instructions:ppH"),
            // `-e cycles:u`
            (attr(TYPE_HARDWARE, 0, &[K, HV, G], 0), "cycles:uH"),
            // `-e cycles:k`
            (attr(TYPE_HARDWARE, 0, &[U, HV, G], 0), "cycles:kH"),
            // exclude_guest clear: host and guest both counted.
            (attr(TYPE_HARDWARE, 0, &[], 0), "cycles:HG"),
            // `-e cycles:G` / `:H`
            (attr(TYPE_HARDWARE, 0, &[H], 0), "cycles:G"),
            (attr(TYPE_HARDWARE, 4, &[G], 0), "branches"),
            (attr(TYPE_HARDWARE, 9, &[G], 0), "ref-cycles"),
            (attr(TYPE_SOFTWARE, 0, &[G], 0), "cpu-clock"),
            (attr(TYPE_SOFTWARE, 2, &[K, HV, G], 0), "page-faults:uH"),
            (attr(TYPE_SOFTWARE, 9, &[G], 0), "dummy"),
            (attr(TYPE_RAW, 0x1c2, &[G], 0), "raw 0x1c2"),
            (attr(TYPE_RAW, 0x1c2, &[K, HV, G], 1), "raw 0x1c2:upH"),
        ];
        for (a, want) in cases {
            assert_eq!(default_name(a), *want, "{a:?}");
        }
    }
}
