//! The perf tool's records that this crate parses: `HEADER_ATTR` (pipe mode's events).

use crate::attr::*;
use crate::raw::{Cursor, U64Array};
use crate::ParseError;

/// `PERF_RECORD_HEADER_ATTR` (perf tool, pipe mode): an attr and the ids of its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderAttrRecord<'a> {
    /// The attr, decoded from `attr.size` bytes.
    pub attr: PerfEventAttr,
    /// The event ids.
    pub ids: U64Array<'a>,
}

impl<'a> HeaderAttrRecord<'a> {
    pub(super) fn parse(c: &mut Cursor<'a>) -> Result<Self, ParseError> {
        let size = {
            let mut peek = *c;
            peek.skip(4, "attr.type")?;
            peek.read_u32("attr.size")?
        };
        // perf writes VER0-sized attrs with size 0.
        let size = if size == 0 { ATTR_SIZE_VER0 } else { size };
        if size < ATTR_SIZE_VER0 || size % 8 != 0 {
            return Err(ParseError::BadAttrSize { size });
        }
        let attr_bytes = c.take(size as usize, "attr")?;
        let mut buf = [0u8; ATTR_SIZE_VER8 as usize];
        let n = attr_bytes.len().min(buf.len());
        let prefix = buf.get_mut(..n).ok_or(ParseError::BadAttrSize { size })?;
        attr_bytes
            .copy_prefix_to(prefix)
            .ok_or(ParseError::BadAttrSize { size })?;
        let attr = PerfEventAttr::from_bytes(prefix)?;
        let ids = U64Array::new(c.rest());
        Ok(Self { attr, ids })
    }
}
