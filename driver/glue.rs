// SPDX-License-Identifier: GPL-2.0

//! Every call into the kernel's C API that premap makes, each behind a small safe wrapper with its
//! `// SAFETY:` proof. The wrappers use `kernel::bindings` as mainline names them (the bindings and
//! helpers come from driver/kernel/mainline/*.patch on mainline and driver/kernel/6.12/*.patch, which
//! also backports mainline's `UserPtr` and renamed calls, on 6.12), so this one source builds on both.
//! Linux 6.12 has no Rust abstractions for miscdevice, VMAs or poll; mainline has `MiscDevice` and
//! `VmaNew` but no vm_ops, PFN map or poll for them, so these wrappers take the shape those
//! abstractions have until patches add the missing parts.
//!
//! Grouped by kind in glue/: page.rs (driver-owned pages and their type), vma.rs (mapping either
//! strategy, vm_operations, faults), task.rs (the kthread, sleeps, signals, limits of the current
//! task), device.rs (the misc device, file private data, the wait queue, the module parameter).
//!
//! Lock order: `FileState::inner` (a file's mutex) before `Buffer::state` (the producer's mutex); the
//! wait queue's spinlock is taken inside both by `wake_up`.

use core::ffi::{c_int, c_void};

/// The kernel's `unsigned long` and `long` (the `ffi` crate maps them to `usize`/`isize`).
#[allow(non_camel_case_types)]
type c_ulong = usize;
#[allow(non_camel_case_types)]
type c_long = isize;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{code::*, Error, Result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// The page size of this kernel.
pub(crate) const PAGE_SIZE: usize = bindings::PAGE_SIZE;

/// The kernel's `PGTY_driver_ring` type byte (premap's kernel series).
pub(crate) const PGTY_DRIVER_RING: u32 = bindings::pagetype_PGTY_driver_ring;

mod device;
mod page;
mod task;
mod vma;

pub(crate) use device::*;
pub(crate) use page::*;
pub(crate) use task::*;
pub(crate) use vma::*;
