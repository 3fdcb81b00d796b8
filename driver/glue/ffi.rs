// SPDX-License-Identifier: GPL-2.0

//! The C types and kernel constants the glue speaks in.

use kernel::bindings;

/// The kernel's `unsigned long` (the `ffi` crate maps it to `usize`): the one alias the driver uses.
#[allow(non_camel_case_types)]
pub(crate) type c_ulong = usize;
/// The kernel's `long`.
#[allow(non_camel_case_types)]
pub(crate) type c_long = isize;

/// The page size of this kernel.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// The kernel's `PGTY_user_ring` type byte (premap's kernel series).
pub(crate) const PGTY_USER_RING: u32 = bindings::pagetype_PGTY_user_ring;
