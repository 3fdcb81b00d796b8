//! [`Control`]: a ring's control page, borrowed from the ring.

use premap_abi::control::{ControlPage, ControlPtr};

/// A ring's control page, borrowed from the ring: its fields can be read for as long as the ring lives
/// (and no longer), and the tail cannot be stored behind the ring's back.
///
/// ```compile_fail,E0505
/// // The control page cannot outlive its ring (it would read unmapped memory).
/// let (_p, ring) = premap::synthetic::synthetic_ring::<Consume>(1, 0).unwrap();
/// let ctl = ring.control();
/// drop(ring);
/// ctl.data_head();
/// ```
///
/// ```compile_fail,E0502
/// // Nor be held across a batch, whose records it could otherwise let the producer overwrite.
/// let (_p, mut ring) = premap::synthetic::synthetic_ring::<Consume>(1, 0).unwrap();
/// let ctl = ring.control();
/// let batch = ring.batch().unwrap();
/// ctl.data_head();
/// drop(batch);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Control<'r> {
    pub(super) ctl: ControlPtr,
    pub(super) _ring: std::marker::PhantomData<&'r ()>,
}

impl Control<'_> {
    /// `data_head` (a Relaxed load and an Acquire fence, which read-only mappings allow).
    pub fn data_head(&self) -> u64 {
        self.ctl.load_data_head()
    }

    /// `data_tail` as published (Relaxed: it is this process's own store, or the kernel's initial value).
    pub fn data_tail(&self) -> u64 {
        self.ctl.snapshot().data_tail
    }

    /// `data_offset`.
    pub fn data_offset(&self) -> u64 {
        self.ctl.data_offset()
    }

    /// `data_size`.
    pub fn data_size(&self) -> u64 {
        self.ctl.data_size()
    }

    /// A copy of the whole page (positions read atomically).
    pub fn snapshot(&self) -> ControlPage {
        self.ctl.snapshot()
    }

    /// The page's address, for callers that poke at it on purpose (tests of hostile readers); writing
    /// through it is `unsafe` and the caller's business.
    pub fn as_ptr(&self) -> *mut ControlPage {
        self.ctl.as_ptr()
    }
}
