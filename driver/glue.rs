// SPDX-License-Identifier: GPL-2.0

//! Every call into the kernel's C API that premap makes where the kernel crate has no abstraction
//! yet, each behind a small safe wrapper with its `// SAFETY:` proof. The device itself (open,
//! release, ioctl, write, poll, mmap) goes through the kernel crate's `MiscDevice`, `File`,
//! `Kiocb`/`IovIterSource`, `PollTable`/`PollCondVar`, `VmaNew`, `VmOperations` and the mapping calls
//! (`remap_pfn_range`, `insert_user_ring_pages`): mainline's own, plus patches adding `poll` and the
//! node's mode to `MiscDevice`, and `VmOperations`, `PgProt` and the mapping calls to `mm::virt`
//! (driver/kernel/mainline/), and on 6.12 a backport of that same surface (driver/kernel/6.12/), so
//! this one source builds on both. What remains here uses `kernel::bindings` as mainline names them.
//!
//! Grouped by kind in glue/: page.rs (driver-owned pages and their type), task.rs (the kthread,
//! sleeps, signals, limits of the current task), device.rs (the module parameter, scheduler calls).
//!
//! Lock order: `FileState::inner` (a file's mutex) before `Buffer::state` (the producer's mutex); the
//! poll wait queue's spinlock is taken inside both by `notify_all`.

use core::ffi::{c_int, c_void};

/// The kernel's `unsigned long` and `long` (the `ffi` crate maps them to `usize`/`isize`).
#[allow(non_camel_case_types)]
type c_ulong = usize;
#[allow(non_camel_case_types)]
type c_long = isize;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{code::*, Result};
// Mainline's `CStrExt` (`as_char_ptr`) comes with the prelude; 6.12's `CStr` has it inherently.
#[allow(unused_imports)]
use kernel::prelude::*;

/// The page size of this kernel.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// The kernel's `PGTY_user_ring` type byte (premap's kernel series).
pub(crate) const PGTY_USER_RING: u32 = bindings::pagetype_PGTY_user_ring;

mod device;
mod page;
mod task;

pub(crate) use device::*;
pub(crate) use page::*;
pub(crate) use task::*;
