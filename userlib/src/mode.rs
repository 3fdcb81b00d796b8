//! A ring's mode, as a value ([`Mode`]) and as a type ([`Consume`], [`Overwrite`]): a [`crate::Ring`]
//! carries its mode in its type, so a consume-mode read of an overwrite ring (or the reverse) does not
//! compile. Its own module, so that the ring and the error type both name it without importing each
//! other.

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

/// Consume mode as a type: `Ring<Consume>` (the default, [`crate::Ring`]) reads with `batch`, `drain`,
/// `discard` and `write_to`, and publishes `data_tail`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consume;

/// Overwrite mode as a type: `Ring<Overwrite>` reads the newest records with `newest`, over a read-only
/// mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overwrite;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Consume {}
    impl Sealed for super::Overwrite {}
}

/// A ring mode as a type parameter: [`Consume`] or [`Overwrite`] (sealed: there are no others).
pub trait RingMode: sealed::Sealed + Send + Sync + Unpin + std::fmt::Debug + 'static {
    /// The mode as a value.
    const MODE: Mode;
}

impl RingMode for Consume {
    const MODE: Mode = Mode::Consume;
}

impl RingMode for Overwrite {
    const MODE: Mode = Mode::Overwrite;
}
