// SPDX-License-Identifier: GPL-2.0

//! The module parameter (6.12 has no `module_param` for Rust) and two small scheduler calls.

use kernel::bindings;

/// An `unsigned long` module parameter (`module_param(NAME, ulong, 0644)`: `insmod premap.ko NAME=V`,
/// and /sys/module/premap/parameters/NAME for root at run time). Rust in Linux 6.12 has no module
/// parameters; this is the `kernel_param` entry the C macro emits into the `__param` section.
pub(crate) struct ParamUlong {
    value: core::sync::atomic::AtomicUsize,
}

impl ParamUlong {
    /// A parameter with its default value.
    pub(crate) const fn new(default: usize) -> Self {
        Self {
            value: core::sync::atomic::AtomicUsize::new(default),
        }
    }

    /// The current value (the kernel's param_set_ulong may store a new one at any time).
    pub(crate) fn get(&self) -> usize {
        self.value.load(core::sync::atomic::Ordering::Relaxed)
    }
}

/// The `kernel_param` entry of a [`ParamUlong`].
#[repr(transparent)]
pub(crate) struct KernelParam(bindings::kernel_param);

// SAFETY: the entry is read by the module loader and sysfs only; the value it points to is an atomic.
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// The entry for `param`, named `name`, mode 0644.
    pub(crate) const fn ulong(name: &'static core::ffi::CStr, param: &'static ParamUlong) -> Self {
        Self(bindings::kernel_param {
            // `CStr::as_char_ptr` is not a `const fn` on mainline (a trait method there); the pointer
            // goes to the C `const char *name` as is.
            #[allow(clippy::disallowed_methods)]
            name: name.as_ptr().cast(),
            // Only addresses are taken: the module's own `struct module`, the kernel's ulong ops.
            mod_: core::ptr::addr_of_mut!(bindings::__this_module),
            ops: core::ptr::addr_of!(bindings::param_ops_ulong),
            perm: 0o644,
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 {
                arg: param.value.as_ptr().cast(),
            },
        })
    }
}

/// Yields the CPU if another task should run.
pub(crate) fn cond_resched() {
    // SAFETY: called from process context without spinlocks held.
    unsafe { bindings::cond_resched() };
}

/// Nanoseconds of the monotonic clock.
pub(crate) fn ktime_ns() -> u64 {
    // SAFETY: ktime_get has no preconditions.
    unsafe { bindings::ktime_get() as u64 }
}
