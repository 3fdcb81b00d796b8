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

mod device;
mod ffi;
mod page;
mod task;

pub(crate) use device::{cond_resched, ktime_ns, KernelParam, ParamUlong};
pub(crate) use ffi::{c_ulong, PAGE_SIZE};
pub(crate) use page::{OwnedPage, PagePtr, LIVE_PAGES};
pub(crate) use task::{
    capable_ipc_lock, current_uid, fatal_signal_pending, kthread_should_stop, memlock_limit_pages,
    sleep_interruptible_ns, totalram_pages, Kthread,
};
