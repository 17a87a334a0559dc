// SPDX-License-Identifier: GPL-2.0

//! Capability checks.
//!
//! C header: [`include/linux/capability.h`](srctree/include/linux/capability.h).
//!
//! Why this exists: the kernel crate (Linux 7.3) has `Credential` but no
//! wrapper for `capable()`. Upstream would want a typed `Capability` enum;
//! this driver needs one capability, so it wraps just that.

use kernel::bindings;

/// Whether the current task may perform administrative operations
/// (`capable(CAP_SYS_ADMIN)`). Like the C function, a successful check marks
/// the task as having used the capability, for auditing.
pub(crate) fn has_sys_admin() -> bool {
    // SAFETY: `capable()` may be called from any process context with any
    // capability number; `CAP_SYS_ADMIN` is a valid one.
    // CAST: capability numbers are small constants that fit `c_int`.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) }
}
