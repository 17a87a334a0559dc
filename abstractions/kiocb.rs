// SPDX-License-Identifier: GPL-2.0

//! What a `read_iter` or `write_iter` call needs to know about itself.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).
//!
//! Why this exists: `kernel::fs::Kiocb` (Linux 7.3) gives access to the
//! file's private data and position only. Whether a call may block depends on
//! the call's `IOCB_NOWAIT` (`preadv2`/`pwritev2` with `RWF_NOWAIT`, and
//! io_uring's first, inline attempt) and on the file's `O_NONBLOCK` flag
//! *now*, which `fcntl(F_SETFL)` can change at any time after open. Upstream
//! could absorb this as a `Kiocb::is_nonblocking()` method; the name here is
//! chosen to match.

use core::marker::PhantomData;
use kernel::{
    bindings,
    ffi::c_int,
    fs::file::flags,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// `IOCB_NOWAIT` (`include/linux/fs.h`), which is `RWF_NOWAIT`, a uapi value
/// that cannot change. bindgen skips it because of the `__force` cast in its
/// definition; upstream would add a `RUST_CONST_HELPER_IOCB_NOWAIT` to
/// `rust/bindings/bindings_helper.h`. `rs-devtest`'s `rwf-nowait-*` tests fail
/// if the value is wrong (the call would block instead of failing).
const IOCB_NOWAIT: c_int = 0x8;

/// The `struct kiocb` of one `read_iter` or `write_iter` call.
///
/// # Invariants
///
/// `kiocb` points at a valid `struct kiocb`, whose `ki_filp` is a valid
/// file, for the whole of `'a`.
pub(crate) struct Kiocb<'a> {
    kiocb: *mut bindings::kiocb,
    _lifetime: PhantomData<&'a bindings::kiocb>,
}

impl<'a> Kiocb<'a> {
    /// # Safety
    ///
    /// `kiocb` must point at a valid `struct kiocb` with a valid `ki_filp`
    /// for the whole of `'a`.
    pub(crate) unsafe fn from_raw(kiocb: *mut bindings::kiocb) -> Self {
        // INVARIANT: The caller guarantees validity for `'a`.
        Self {
            kiocb,
            _lifetime: PhantomData,
        }
    }

    /// Whether this call must not sleep waiting for data or space: the
    /// caller asked so (`IOCB_NOWAIT`), or the file has `O_NONBLOCK` set at
    /// this moment. Either way the answer to "would sleep" is `EAGAIN`, as in
    /// `fs/pipe.c`.
    pub(crate) fn is_nonblocking(&self) -> bool {
        // SAFETY: By the type invariants `kiocb` is valid. Its caller set
        // `ki_flags` before the call and no one changes them during it, and
        // `ki_filp` is set at init and never changes.
        let (ki_flags, file) = unsafe { ((*self.kiocb).ki_flags, (*self.kiocb).ki_filp) };
        if ki_flags & IOCB_NOWAIT != 0 {
            return true;
        }
        // SAFETY: By the type invariants `ki_filp` is a valid file for the
        // whole call.
        (unsafe { f_flags_now(file) } & flags::O_NONBLOCK) != 0
    }
}

/// A file's `f_flags` at this moment. Any value before or after a racing
/// `fcntl(F_SETFL)` is a correct answer for the callers, so no lock is taken;
/// the relaxed atomic load is the `READ_ONCE()` the C side would use.
///
/// # Safety
///
/// `file` must point at a valid file for the duration of the call.
pub(super) unsafe fn f_flags_now(file: *mut bindings::file) -> u32 {
    // SAFETY: The caller guarantees the file is valid, so the pointer is
    // valid and aligned for the call. The only writer of `f_flags` after open
    // is `setfl()`: one plain, aligned 32-bit store under `f_lock`, which the
    // kernel treats as untorn.
    unsafe { Atomic::from_ptr(&raw mut (*file).f_flags) }.load(Relaxed)
}
