//! A tracepoint field as its format file describes it, and its value decoded from a sample's raw
//! data.

/// How a field's bytes are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// An integer of the field's size (1, 2, 4 or 8 bytes).
    Int,
    /// A pointer-sized integer shown in hex (`void *`, `unsigned long`).
    Hex,
    /// A fixed `char name[N]` array: a NUL-terminated string.
    CharArray,
    /// Another fixed array of `count` elements of `size / count` bytes.
    Array {
        /// Number of elements.
        count: usize,
    },
    /// `__data_loc`: a u32 with the offset (low 16 bits) and length (high 16) of dynamic data;
    /// `string` when the element type is `char`.
    DataLoc {
        /// Whether the data is a string.
        string: bool,
        /// `__rel_loc`: the offset counts from the end of this field.
        relative: bool,
    },
}

/// One field of a tracepoint's format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// Its C type as the format file spells it (`char[16]`, `pid_t`, `__data_loc char[]`).
    pub c_type: String,
    /// Offset in the raw data.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// Whether it is signed.
    pub signed: bool,
    /// How its bytes are laid out.
    pub kind: FieldKind,
}

impl Field {
    /// Whether this is one of the `common_*` fields every tracepoint starts with.
    pub fn is_common(&self) -> bool {
        self.name.starts_with("common_")
    }
}

/// A field's value in a sample's raw data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceValue<'a> {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A pointer or `unsigned long`, shown in hex.
    Hex(u64),
    /// A string (up to its NUL).
    Str(&'a [u8]),
    /// A fixed or dynamic array of integers.
    Array(Vec<u64>),
    /// Dynamic data that is not a string, or an array whose elements are not 1, 2, 4 or 8 bytes.
    Bytes(&'a [u8]),
}

impl std::fmt::Display for TraceValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceValue::Int(v) => write!(f, "{v}"),
            TraceValue::UInt(v) => write!(f, "{v}"),
            TraceValue::Hex(v) => write!(f, "{v:#x}"),
            TraceValue::Str(s) => f.write_str(&String::from_utf8_lossy(s)),
            TraceValue::Array(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    write!(f, "{}{x:#x}", if i > 0 { "," } else { "" })?;
                }
                f.write_str("]")
            }
            TraceValue::Bytes(b) => {
                for x in *b {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

fn uint(b: &[u8]) -> Option<u64> {
    Some(match *b {
        [a] => a.into(),
        [a, b] => u16::from_ne_bytes([a, b]).into(),
        [a, b, c, d] => u32::from_ne_bytes([a, b, c, d]).into(),
        [a, b, c, d, e, f, g, h] => u64::from_ne_bytes([a, b, c, d, e, f, g, h]),
        _ => return None,
    })
}

/// `v`, `size` bytes wide, sign-extended to 64 bits.
pub(crate) fn sign_extend(v: u64, size: usize) -> i64 {
    let shift = 64 - 8 * size.clamp(1, 8) as u32;
    ((v << shift) as i64) >> shift
}

fn until_nul(b: &[u8]) -> &[u8] {
    b.split(|&c| c == 0).next().unwrap_or_default()
}

/// The value of `field` in `raw`; `None` when the raw data is too short for it.
pub fn field_value<'a>(field: &Field, raw: &'a [u8]) -> Option<TraceValue<'a>> {
    let bytes = raw.get(field.offset..field.offset.checked_add(field.size)?)?;
    Some(match field.kind {
        FieldKind::Int => {
            let v = uint(bytes)?;
            if field.signed {
                TraceValue::Int(sign_extend(v, field.size))
            } else {
                TraceValue::UInt(v)
            }
        }
        FieldKind::Hex => TraceValue::Hex(uint(bytes)?),
        FieldKind::CharArray => TraceValue::Str(until_nul(bytes)),
        FieldKind::Array { count } => {
            let each = field.size / count;
            match bytes.chunks_exact(each.max(1)).map(uint).collect() {
                Some(v) if each > 0 => TraceValue::Array(v),
                _ => TraceValue::Bytes(bytes),
            }
        }
        FieldKind::DataLoc { string, relative } => {
            let loc = u32::try_from(uint(bytes)?).ok()?;
            let (off, len) = ((loc & 0xffff) as usize, (loc >> 16) as usize);
            let base = if relative {
                field.offset + field.size
            } else {
                0
            };
            let data = raw.get(base + off..base + off + len)?;
            if string {
                TraceValue::Str(until_nul(data))
            } else {
                TraceValue::Bytes(data)
            }
        }
    })
}
