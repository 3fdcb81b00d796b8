//! [`Mode`]: how a ring's producer treats it when it is full (its own module, so that the ring and
//! the error type both name it without importing each other).

/// How the producer treats the ring when it is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The reader publishes `data_tail`; the producer drops (and counts) records when full.
    /// The mapping is `PROT_READ | PROT_WRITE`.
    Consume,
    /// The producer overwrites the oldest data, writing backward (`attr.write_backward`); the mapping is
    /// `PROT_READ` and the reader copies the newest records out while output is paused.
    Overwrite,
}
