// SPDX-License-Identifier: GPL-2.0

//! Tasks and time: the generator's kthread, interruptible sleeps, signals, rescheduling, the
//! current task's limits, capabilities and user.

use super::device::cond_resched;
use super::ffi::{c_long, c_ulong, PAGE_SIZE};
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::{code::ENOMEM, Result};
// Mainline's `CStrExt` (`as_char_ptr`) comes with the prelude; 6.12's `CStr` has it inherently.
#[allow(unused_imports)]
use kernel::prelude::*;

/// A kernel thread, stopped and joined on drop.
///
/// # Invariants
///
/// `task` is a kthread created by `kthread_create_on_node`, woken, and not yet stopped.
pub(crate) struct Kthread {
    task: NonNull<bindings::task_struct>,
}

// SAFETY: a task pointer may be used to stop the thread from any thread.
unsafe impl Send for Kthread {}

impl Kthread {
    /// Starts `f(data)` in a kernel thread named "premap-gen".
    ///
    /// # Safety
    ///
    /// `data` must stay valid until the returned value is dropped (which stops the thread and waits for
    /// `f` to return).
    pub(crate) unsafe fn spawn(
        f: unsafe extern "C" fn(*mut c_void) -> c_int,
        data: *mut c_void,
    ) -> Result<Self> {
        // SAFETY: `f` is a valid thread function, `data` outlives it (caller), the name is a static C
        // format string without conversions.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(f),
                data,
                bindings::NUMA_NO_NODE,
                kernel::c_str!("premap-gen").as_char_ptr(),
            )
        };
        if kernel::error::from_err_ptr(task).is_err() {
            return Err(ENOMEM);
        }
        let task = NonNull::new(task).ok_or(ENOMEM)?;
        // SAFETY: a freshly created kthread waits to be woken.
        unsafe { bindings::wake_up_process(task.as_ptr()) };
        // INVARIANT: created and woken.
        Ok(Self { task })
    }
}

impl Drop for Kthread {
    fn drop(&mut self) {
        // SAFETY: the thread was created and not yet stopped (type invariant). Our thread functions loop
        // until kthread_should_stop(), so the task is alive until this call returns.
        unsafe { bindings::kthread_stop(self.task.as_ptr()) };
    }
}

/// Whether the current kthread was asked to stop.
///
/// # Safety
///
/// The current task is a kthread (`kthread_should_stop` reads the kthread's own data).
pub(crate) unsafe fn kthread_should_stop() -> bool {
    // SAFETY: the caller runs in a kthread.
    unsafe { bindings::kthread_should_stop() }
}

/// The longest single sleep of [`sleep_interruptible_ns`]: 1 s.
pub(crate) const MAX_SLEEP_NS: u64 = 1_000_000_000;

/// Sleeps interruptibly for about `ns` nanoseconds (at most [`MAX_SLEEP_NS`]): a `wake_up_process`
/// (which `kthread_stop` does) ends a sleep of a jiffy or more at once; shorter sleeps (hrtimer) finish
/// on their own within a jiffy.
pub(crate) fn sleep_interruptible_ns(ns: u64) {
    let ns = ns.min(MAX_SLEEP_NS);
    // SAFETY: nsecs_to_jiffies is a pure conversion.
    let jiffies = unsafe { bindings::nsecs_to_jiffies(ns) };
    if jiffies >= 2 {
        // SAFETY: sleeping is allowed in process context (the generator kthread); the timeout is bounded.
        unsafe { bindings::schedule_timeout_interruptible(jiffies as c_long) };
    } else if ns >= 1000 {
        let us = (ns / 1000) as c_ulong;
        // SAFETY: as above; `us` is below two jiffies, so the sum cannot overflow.
        unsafe { bindings::usleep_range_state(us, us + us / 8 + 1, bindings::TASK_INTERRUPTIBLE) };
    } else {
        cond_resched();
    }
}

/// Whether the current task has a fatal signal pending (a long loop in a syscall stops with EINTR).
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: `get_current` returns the running task, valid while it runs this code.
    unsafe { bindings::fatal_signal_pending(bindings::get_current()) != 0 }
}

/// Pages of RAM the kernel manages.
pub(crate) fn totalram_pages() -> u64 {
    // SAFETY: totalram_pages reads an atomic counter.
    unsafe { bindings::totalram_pages() as u64 }
}

/// The current task's `RLIMIT_MEMLOCK` in pages (saturating: RLIM_INFINITY is huge).
pub(crate) fn memlock_limit_pages() -> u64 {
    // SAFETY: rlimit reads the current task's signal struct, valid while it runs.
    let bytes = unsafe { bindings::rlimit(bindings::RLIMIT_MEMLOCK) };
    bytes as u64 / PAGE_SIZE as u64
}

/// Whether the current task has `CAP_IPC_LOCK` (checked only when needed: `capable` audits).
pub(crate) fn capable_ipc_lock() -> bool {
    // SAFETY: capable() checks the current task's credentials.
    unsafe { bindings::capable(bindings::CAP_IPC_LOCK as c_int) }
}

/// The current task's real user id (the user that owns what it creates, as perf's `current_user()`).
pub(crate) fn current_uid() -> u32 {
    // SAFETY: get_current_user returns a counted reference to the current credentials' user_struct.
    let user = unsafe { bindings::get_current_user() };
    // SAFETY: `user` is valid while we hold the reference; the reference is given back at once.
    unsafe {
        let uid = (*user).uid.val;
        bindings::free_uid(user);
        uid
    }
}
