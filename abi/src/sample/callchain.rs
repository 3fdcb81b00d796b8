//! The `PERF_CONTEXT_*` markers of callchains, and perf's names for them.

/// `PERF_CONTEXT_HV`: the callchain entries that follow are hypervisor addresses. The `CONTEXT_*`
/// markers are callchain entries, not addresses: each says in which context the next entries are.
pub const CONTEXT_HV: u64 = (-32i64) as u64;
/// `PERF_CONTEXT_KERNEL`: kernel addresses follow.
pub const CONTEXT_KERNEL: u64 = (-128i64) as u64;
/// `PERF_CONTEXT_USER`: user addresses follow.
pub const CONTEXT_USER: u64 = (-512i64) as u64;
/// `PERF_CONTEXT_USER_DEFERRED`: the user part of this callchain comes later, in a
/// `CALLCHAIN_DEFERRED` record (Linux 6.17+).
pub const CONTEXT_USER_DEFERRED: u64 = (-640i64) as u64;
/// `PERF_CONTEXT_GUEST`: guest addresses follow.
pub const CONTEXT_GUEST: u64 = (-2048i64) as u64;
/// `PERF_CONTEXT_GUEST_KERNEL`: guest kernel addresses follow.
pub const CONTEXT_GUEST_KERNEL: u64 = (-2176i64) as u64;
/// `PERF_CONTEXT_GUEST_USER`: guest user addresses follow.
pub const CONTEXT_GUEST_USER: u64 = (-2560i64) as u64;
/// `PERF_CONTEXT_MAX`: callchain entries at or above this value are markers, not addresses.
pub const CONTEXT_MAX: u64 = (-4095i64) as u64;

/// The name of a callchain marker (`"kernel"`, `"user"`, ... as perf script prints them), or `None`
/// for an address.
pub const fn context_name(entry: u64) -> Option<&'static str> {
    Some(match entry {
        CONTEXT_HV => "hv",
        CONTEXT_KERNEL => "kernel",
        CONTEXT_USER => "user",
        CONTEXT_USER_DEFERRED => "user_deferred",
        CONTEXT_GUEST => "guest",
        CONTEXT_GUEST_KERNEL => "guest_kernel",
        CONTEXT_GUEST_USER => "guest_user",
        e if e >= CONTEXT_MAX => "unknown_context",
        _ => return None,
    })
}
