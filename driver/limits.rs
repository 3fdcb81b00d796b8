// SPDX-License-Identifier: GPL-2.0

//! Limits and accounting: what each user (by real uid) holds (pinned pages, running generators),
//! charged against RLIMIT_MEMLOCK plus `mlock_kb` as perf charges its rings.

use crate::glue::{self, KernelParam, ParamUlong, PAGE_SIZE};
use crate::premap_abi::uapi::MAX_GENERATORS_PER_USER;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Mutex;

/// The per-user allowance of pinned memory, in KiB, on top of RLIMIT_MEMLOCK (perf's
/// `perf_event_mlock_kb`): `insmod premap.ko mlock_kb=N` or /sys/module/premap/parameters/mlock_kb.
pub(crate) static MLOCK_KB: ParamUlong = ParamUlong::new(8192);

#[link_section = "__param"]
#[used]
static MLOCK_KB_PARAM: KernelParam = KernelParam::ulong(c"mlock_kb", &MLOCK_KB);

/// What the driver charges to one user (by real uid): pinned pages and running generators.
pub(crate) struct Usage {
    pub(crate) uid: u32,
    pub(crate) pages: u64,
    pub(crate) generators: u32,
}

impl Usage {
    /// Whether the entry charges nothing (and may be reused for another user).
    pub(crate) fn is_free(&self) -> bool {
        self.pages == 0 && self.generators == 0
    }
}

/// Every user's [`Usage`], under one mutex (module-global, owned by [`PremapModule`]).
#[pin_data]
pub(crate) struct Users {
    #[pin]
    pub(crate) table: Mutex<KVec<Usage>>,
}

/// The module's [`Users`], set in `init` before the device exists and cleared in `drop` after it is
/// gone. Every caller runs in a file or VMA operation, which holds a reference to the module.
pub(crate) static USERS: core::sync::atomic::AtomicPtr<Users> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

pub(crate) fn users() -> Result<&'static Users> {
    let p = USERS.load(Ordering::Acquire);
    // SAFETY: non-null only between init and exit, during which the `Users` it points to is alive and
    // pinned; callers are file/VMA operations, which keep the module (and so this) alive.
    unsafe { p.as_ref() }.ok_or(ENODEV)
}

impl Users {
    /// Changes `uid`'s usage with `f` (which sees the entry, created empty if missing). An entry whose
    /// usage drops to nothing is free for the next new user, so the table never holds more entries
    /// than the most users that held something at once.
    pub(crate) fn update(&self, uid: u32, f: impl FnOnce(&mut Usage) -> Result) -> Result {
        let mut t = self.table.lock();
        let i = match t.iter().position(|u| u.uid == uid) {
            Some(i) => i,
            None => match t.iter().position(Usage::is_free) {
                Some(i) => {
                    t[i].uid = uid;
                    i
                }
                None => {
                    t.push(
                        Usage {
                            uid,
                            pages: 0,
                            generators: 0,
                        },
                        GFP_KERNEL,
                    )?;
                    t.len() - 1
                }
            },
        };
        f(&mut t[i])
    }
}

/// Pages charged to a user, uncharged on drop.
pub(crate) struct PageCharge {
    pub(crate) uid: u32,
    pub(crate) pages: u64,
}

impl PageCharge {
    /// Charges `pages` to the current user, as perf does: within the per-user allowance and
    /// RLIMIT_MEMLOCK, or anything with CAP_IPC_LOCK (asked only when over the limit: capable() audits).
    pub(crate) fn new(pages: u64) -> Result<Self> {
        let uid = glue::current_uid();
        let allowance = (MLOCK_KB.get() as u64).saturating_mul(1024) / PAGE_SIZE as u64;
        let limit = allowance.saturating_add(glue::memlock_limit_pages());
        users()?.update(uid, |u| {
            let total = u.pages.checked_add(pages).ok_or(EPERM)?;
            if total > limit && !glue::capable_ipc_lock() {
                return Err(EPERM);
            }
            u.pages = total;
            Ok(())
        })?;
        Ok(Self { uid, pages })
    }
}

impl Drop for PageCharge {
    fn drop(&mut self) {
        if let Ok(users) = users() {
            let pages = self.pages;
            let _ = users.update(self.uid, |u| {
                u.pages = u.pages.saturating_sub(pages);
                Ok(())
            });
        }
    }
}

/// A running generator counted against its user, given back on drop.
pub(crate) struct GeneratorSlot {
    pub(crate) uid: u32,
}

impl GeneratorSlot {
    pub(crate) fn new() -> Result<Self> {
        let uid = glue::current_uid();
        users()?.update(uid, |u| {
            if u.generators >= MAX_GENERATORS_PER_USER {
                return Err(EAGAIN);
            }
            u.generators += 1;
            Ok(())
        })?;
        Ok(Self { uid })
    }
}

impl Drop for GeneratorSlot {
    fn drop(&mut self) {
        if let Ok(users) = users() {
            let _ = users.update(self.uid, |u| {
                u.generators = u.generators.saturating_sub(1);
                Ok(())
            });
        }
    }
}
