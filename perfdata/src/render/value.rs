//! What a record is rendered from: its fields, each a name and a [`Value`].

use super::scalar::{put_json_str, put_u64};
use crate::tracing::{self, EventFormat, TraceValue};
use premap_abi::raw::{RawData, U64Array};
use premap_abi::regs::RegArch;
use premap_abi::sample::{ReadValues, Regs, UserStack};

/// A field value.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// A decimal number.
    U(u64),
    /// A number shown in hex (addresses).
    X(u64),
    /// A string (file names, comms).
    S(RawData<'a>),
    /// Raw bytes shown in hex.
    B(RawData<'a>),
    /// A list of words shown in hex (registers).
    L(U64Array<'a>),
    /// A callchain: addresses in hex, `PERF_CONTEXT_*` markers by name (`kernel`, `user`, ...).
    Chain(U64Array<'a>),
    /// A read-format block: the times and every value with its id and lost count.
    Read(ReadValues<'a>),
    /// Sampled registers, by name when the file's architecture is known.
    Regs(Regs<'a>, Option<RegArch>),
    /// A user stack dump: its size and the part the kernel says is used (`dyn_size`).
    Stack(UserStack<'a>),
    /// A branch stack: each entry's source, target and flags.
    Branches(premap_abi::branch::BranchStack<'a>),
    /// Text made while rendering (decoded feature sections).
    Text(String),
    /// A tracepoint's data decoded with its format: text mode prints `trace: <as perf script>`,
    /// JSON an object with the printed line and each field.
    Trace(Box<Trace>),
}

/// A tracepoint sample's raw data, decoded (see [`crate::tracing`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// `system:name`.
    pub event: String,
    /// The line `perf script` prints for it.
    pub print: String,
    /// Each of the event's own fields: name, then its value as a JSON value.
    pub fields: Vec<(String, String)>,
}

impl Trace {
    /// Decodes `raw` with its format.
    pub fn new(ev: &EventFormat, raw: &[u8]) -> Self {
        let fields = tracing::fields(ev, raw)
            .into_iter()
            .map(|(name, v)| {
                let mut j = Vec::new();
                match v {
                    TraceValue::Int(x) => j.extend_from_slice(x.to_string().as_bytes()),
                    TraceValue::UInt(x) => put_u64(&mut j, x),
                    TraceValue::Str(t) => put_json_str(&mut j, t.iter().copied()),
                    other => put_json_str(&mut j, other.to_string().bytes()),
                }
                (name.to_string(), String::from_utf8_lossy(&j).into_owned())
            })
            .collect();
        Trace {
            event: format!("{}:{}", ev.system, ev.name),
            print: tracing::text(ev, raw),
            fields,
        }
    }
}

/// Fields of a record, reused across records to avoid allocating per record.
pub type Fields<'a> = Vec<(&'static str, Value<'a>)>;
