// SPDX-License-Identifier: GPL-2.0

//! The device: the misc device registration, each file's private data, the poll wait queue and
//! the module parameter.

use super::*;

/// The lockdep class of every buffer's wait queue (static, as lockdep requires).
struct StaticKey(Opaque<bindings::lock_class_key>);
// SAFETY: lockdep only uses the key's address; the memory is never accessed from Rust.
unsafe impl Sync for StaticKey {}
static WQ_KEY: StaticKey = StaticKey(Opaque::uninit());

/// A wait queue head for poll, initialised in place (pin-init, as `kernel::sync::CondVar`).
///
/// # Invariants
///
/// `wq` is an initialised `wait_queue_head` that never moves.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    wq: Opaque<bindings::wait_queue_head>,
}

// SAFETY: a wait queue head is designed for concurrent use from any thread (it has its own spinlock).
unsafe impl Send for WaitQueue {}
// SAFETY: as above.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// An initialiser for a wait queue at its final (pinned) address.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid, pinned memory for a wait_queue_head that nobody uses yet; the name
            // is a static C string and the lockdep key is a static that lives forever.
            wq <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, kernel::c_str!("premap").as_char_ptr(), WQ_KEY.0.get())
            }),
        })
    }

    /// Wakes every waiter (poll/epoll).
    pub(crate) fn wake_all(&self) {
        // SAFETY: the wait queue is initialised (type invariant); TASK_NORMAL wakes interruptible and
        // uninterruptible sleepers; a null key wakes all.
        unsafe {
            bindings::__wake_up(
                self.wq.get(),
                bindings::TASK_NORMAL,
                0,
                core::ptr::null_mut(),
            )
        };
    }

    /// Registers the wait queue with a poll table.
    ///
    /// # Safety
    ///
    /// `file` and `pt` are the arguments the VFS passed to `f_op->poll`, and the wait queue outlives the
    /// file's poll registration (the file holds a reference to its owner).
    pub(crate) unsafe fn poll_wait(
        &self,
        file: *mut bindings::file,
        pt: *mut bindings::poll_table_struct,
    ) {
        // SAFETY: the caller passes the VFS's own arguments and keeps the wait queue alive; it is
        // initialised (type invariant).
        unsafe { bindings::poll_wait(file, self.wq.get(), pt) };
    }
}

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

/// The registration of a misc device; deregistered on drop.
///
/// # Invariants
///
/// `dev` was registered with `misc_register` and is pinned (it lives in a `KBox` never moved out).
pub(crate) struct MiscRegistration {
    dev: Opaque<bindings::miscdevice>,
    fops: Opaque<bindings::file_operations>,
}

// SAFETY: the registration is only touched at module init and exit.
unsafe impl Send for MiscRegistration {}
// SAFETY: as above.
unsafe impl Sync for MiscRegistration {}

impl MiscRegistration {
    /// Registers `/dev/NAME` with `fops` (copied into the pinned registration).
    pub(crate) fn register(
        name: &'static CStr,
        fops: bindings::file_operations,
    ) -> Result<core::pin::Pin<kernel::alloc::KBox<Self>>> {
        let reg = kernel::alloc::KBox::pin(
            Self {
                dev: Opaque::uninit(),
                fops: Opaque::new(fops),
            },
            kernel::alloc::flags::GFP_KERNEL,
        )?;
        // SAFETY: `dev` is ours and not yet registered; all-zero is a valid miscdevice before its fields
        // are set; the name is static; `fops` lives in the same pinned allocation as `dev`.
        let r = unsafe {
            let dev = reg.dev.get();
            core::ptr::write_bytes(dev, 0, 1);
            (*dev).minor = bindings::MISC_DYNAMIC_MINOR as c_int;
            (*dev).name = name.as_char_ptr();
            (*dev).fops = reg.fops.get();
            (*dev).mode = 0o666;
            bindings::misc_register(dev)
        };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        // INVARIANT: registered above; the KBox is pinned.
        Ok(reg)
    }
}

impl Drop for MiscRegistration {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); deregistration waits for no opener, but every open file
        // holds a module reference through fops.owner, so the module (and this) outlive them.
        unsafe { bindings::misc_deregister(self.dev.get()) };
    }
}

/// The `private_data` of an open file.
///
/// # Safety
///
/// `file` must be a file of our device, passed by the VFS to one of our `file_operations`.
pub(crate) unsafe fn file_private(file: *mut bindings::file) -> *mut c_void {
    // SAFETY: the caller guarantees a valid file.
    unsafe { (*file).private_data }
}

/// Sets the `private_data` of an open file.
///
/// # Safety
///
/// As [`file_private`], from `open`.
pub(crate) unsafe fn set_file_private(file: *mut bindings::file, data: *mut c_void) {
    // SAFETY: the caller guarantees a valid file that no one else uses yet (open).
    unsafe { (*file).private_data = data };
}
