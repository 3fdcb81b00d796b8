//! Why a perf.data file could not be read, and where.

use std::fmt;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be read at all.
    Io(std::io::Error),
    /// The file's contents are invalid at `offset`.
    Corrupt {
        /// File offset of the problem.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The stream ends inside a record (a recording that was killed, a file cut short): perf's
    /// "unexpected end of event stream", which it treats as the end of the data.
    Truncated {
        /// File offset of the record that was cut.
        offset: u64,
        /// What is missing.
        what: String,
    },
}

impl ReadError {
    /// Whether this is a stream cut at its end, which perf reads as a clean end (everything before it
    /// is whole).
    pub fn is_truncation(&self) -> bool {
        matches!(self, ReadError::Truncated { .. })
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Corrupt { offset, what } => {
                write!(f, "corrupt perf.data at offset {offset:#x}: {what}")
            }
            ReadError::Truncated { offset, what } => {
                write!(
                    f,
                    "unexpected end of event stream at offset {offset:#x}: {what}"
                )
            }
        }
    }
}

impl std::error::Error for ReadError {}

pub(crate) fn truncated(offset: u64, what: impl fmt::Display) -> ReadError {
    ReadError::Truncated {
        offset,
        what: what.to_string(),
    }
}

pub(crate) fn corrupt(offset: u64, what: impl fmt::Display) -> ReadError {
    ReadError::Corrupt {
        offset,
        what: what.to_string(),
    }
}
