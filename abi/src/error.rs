//! Typed errors for everything that parses bytes another party wrote.

use core::fmt;

/// Why a record, a ring or a body could not be parsed.
///
/// Every parser in this crate returns one of these instead of panicking; the offsets and sizes in it
/// describe the offending input so that a caller can report where the input went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// A record header declared a size of 0, which would make a reader loop forever.
    SizeZero,
    /// A record header declared a size smaller than the 8-byte header itself.
    SizeTooSmall {
        /// The declared size.
        size: u16,
    },
    /// A record header declared a size that is not a multiple of 8 (records are 8-byte aligned).
    SizeUnaligned {
        /// The declared size.
        size: u16,
    },
    /// A record extends past the end of the data that is available (past `data_head`, or past the end of a
    /// buffer or file section).
    PastEnd {
        /// The declared size of the record.
        size: u64,
        /// How many bytes were available from the record's start.
        available: u64,
    },
    /// Fewer bytes than a header needs are left.
    TruncatedHeader {
        /// How many bytes were left.
        available: u64,
    },
    /// A record body is shorter than its type (and `sample_type`/`read_format`) demands.
    Truncated {
        /// Which field could not be read.
        field: &'static str,
        /// Bytes that field needs.
        needed: u64,
        /// Bytes that were left in the body.
        available: u64,
    },
    /// A count inside a body (callchain length, group size, ...) is larger than the body could hold.
    CountTooLarge {
        /// Which count.
        field: &'static str,
        /// The count read from the input.
        count: u64,
    },
    /// The positions of a ring are impossible: more data than the ring holds (`head - tail > size`).
    RingOverrun {
        /// `data_head` as read.
        head: u64,
        /// `data_tail` as read.
        tail: u64,
        /// `data_size` of the ring.
        size: u64,
    },
    /// The geometry of a ring is invalid (see the message).
    BadGeometry(&'static str),
    /// A perf.data file's header is not one perf writes: no magic, the other byte order, sizes or
    /// sections outside the file (see the message).
    BadFile(&'static str),
    /// A record type that may not appear where it was found (a perf-tool type, type 0, or a LOST record
    /// written by someone other than the producer).
    ForbiddenType {
        /// The record type.
        r#type: u32,
    },
    /// An attribute's `size` field is not one the ABI defines.
    BadAttrSize {
        /// The declared size.
        size: u32,
    },
    /// Bytes left over after a block that should fill its buffer exactly (a counter read that does
    /// not match its `read_format`).
    TrailingBytes {
        /// The block.
        field: &'static str,
        /// Bytes left over.
        extra: u64,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SizeZero => f.write_str("record header has size 0"),
            Self::SizeTooSmall { size } => {
                write!(f, "record size {size} is smaller than the 8-byte header")
            }
            Self::SizeUnaligned { size } => {
                write!(f, "record size {size} is not a multiple of 8")
            }
            Self::PastEnd { size, available } => write!(
                f,
                "record of {size} bytes runs past the end of the data ({available} bytes available)"
            ),
            Self::TruncatedHeader { available } => write!(
                f,
                "only {available} bytes left where an 8-byte record header was expected"
            ),
            Self::Truncated {
                field,
                needed,
                available,
            } => write!(
                f,
                "record body truncated at {field}: needs {needed} bytes, {available} left"
            ),
            Self::CountTooLarge { field, count } => {
                write!(f, "{field} count {count} does not fit in the record")
            }
            Self::RingOverrun { head, tail, size } => write!(
                f,
                "ring positions are impossible: head {head:#x} - tail {tail:#x} exceeds size {size:#x}"
            ),
            Self::BadGeometry(why) => write!(f, "invalid ring geometry: {why}"),
            Self::BadFile(why) => write!(f, "not a valid perf.data file: {why}"),
            Self::BadAttrSize { size } => write!(f, "perf_event_attr size {size} is not valid"),
            Self::TrailingBytes { field, extra } => {
                write!(f, "{extra} bytes left over after {field}")
            }
            Self::ForbiddenType { r#type } => {
                write!(f, "record type {type} may not be written into a ring", type = r#type)
            }
        }
    }
}

impl core::error::Error for ParseError {}
