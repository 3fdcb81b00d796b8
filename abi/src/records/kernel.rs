//! The kernel's own changes: `KSYMBOL`, `BPF_EVENT`, `TEXT_POKE`, `CALLCHAIN_DEFERRED`.

use super::fixed_cstr;
use crate::raw::{Cursor, RawData, U64Array};
use crate::ParseError;

/// `PERF_RECORD_KSYMBOL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KsymbolRecord<'a> {
    /// Symbol address.
    pub addr: u64,
    /// Symbol length.
    pub len: u32,
    /// `PERF_RECORD_KSYMBOL_TYPE_*`.
    pub ksym_type: u16,
    /// `PERF_RECORD_KSYMBOL_FLAGS_*`.
    pub flags: u16,
    /// Symbol name, NUL padding removed.
    pub name: RawData<'a>,
}

/// `PERF_RECORD_BPF_EVENT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpfEventRecord {
    /// `PERF_BPF_EVENT_*`.
    pub r#type: u16,
    /// Flags.
    pub flags: u16,
    /// Program id.
    pub id: u32,
    /// Program tag.
    pub tag: [u8; 8],
}

/// `PERF_RECORD_TEXT_POKE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextPokeRecord<'a> {
    /// Address of the change.
    pub addr: u64,
    /// The old bytes.
    pub old_bytes: RawData<'a>,
    /// The new bytes.
    pub new_bytes: RawData<'a>,
}

/// `PERF_RECORD_CALLCHAIN_DEFERRED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallchainDeferredRecord<'a> {
    /// Cookie matching the sample that deferred it.
    pub cookie: u64,
    /// The instruction pointers.
    pub ips: U64Array<'a>,
}

impl<'a> KsymbolRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        Ok(Self {
            addr: c.read_u64("ksymbol.addr")?,
            len: c.read_u32("ksymbol.len")?,
            ksym_type: c.read_u16("ksymbol.ksym_type")?,
            flags: c.read_u16("ksymbol.flags")?,
            name: fixed_cstr(c),
        })
    }
}

impl BpfEventRecord {
    pub(super) fn parse(c: &mut Cursor<'_>) -> Result<Self, ParseError> {
        let r#type = c.read_u16("bpf_event.type")?;
        let flags = c.read_u16("bpf_event.flags")?;
        let id = c.read_u32("bpf_event.id")?;
        let tag = c.read_u64("bpf_event.tag")?.to_ne_bytes();
        Ok(Self {
            r#type,
            flags,
            id,
            tag,
        })
    }
}

impl<'a> TextPokeRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        let addr = c.read_u64("text_poke.addr")?;
        let old_len = c.read_u16("text_poke.old_len")?;
        let new_len = c.read_u16("text_poke.new_len")?;
        let old_bytes = c.take(usize::from(old_len), "text_poke.old_len")?;
        let new_bytes = c.take(usize::from(new_len), "text_poke.new_len")?;
        Ok(Self {
            addr,
            old_bytes,
            new_bytes,
        })
    }
}

impl<'a> CallchainDeferredRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        let cookie = c.read_u64("callchain_deferred.cookie")?;
        let nr = c.read_u64("callchain_deferred.nr")?;
        let ips = U64Array::new(c.take_array(nr, 8, "callchain_deferred.nr")?);
        Ok(Self { cookie, ips })
    }
}
