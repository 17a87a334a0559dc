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

    /// Whether this call must not sleep at all, not even for a lock another
    /// call holds: the caller asked so with `IOCB_NOWAIT` (`RWF_NOWAIT`, and
    /// io_uring's first, inline attempt, which must not sleep in
    /// `io_uring_enter()`). `O_NONBLOCK` alone does not ask for this (see
    /// `Documentation/design.rst`, "Who may wait for the FIFO lock").
    pub(crate) fn is_nowait(&self) -> bool {
        // SAFETY: By the type invariants `kiocb` is valid. Its caller set
        // `ki_flags` before the call and no one changes them during it.
        let ki_flags = unsafe { (*self.kiocb).ki_flags };
        ki_flags & IOCB_NOWAIT != 0
    }

    /// Whether this call must not sleep waiting for data or space: the
    /// caller asked so (`IOCB_NOWAIT`), or the file has `O_NONBLOCK` set at
    /// this moment. Either way the answer to "would sleep" is `EAGAIN`, as in
    /// `fs/pipe.c`.
    pub(crate) fn is_nonblocking(&self) -> bool {
        if self.is_nowait() {
            return true;
        }
        // SAFETY: By the type invariants `kiocb` is valid, and `ki_filp`,
        // set at init and never changed, is a valid file for the whole call.
        (unsafe { f_flags_now((*self.kiocb).ki_filp) } & flags::O_NONBLOCK) != 0
    }
}

/// A file's `f_flags` at this moment. Any value before or after a racing
/// `fcntl(F_SETFL)`, `FIONBIO` or `fasync_helper()` is a correct answer for
/// the callers, so no lock is taken; the relaxed atomic load is the
/// `READ_ONCE()` the C side would use.
///
/// # Safety
///
/// `file` must point at a valid file for the duration of the call.
unsafe fn f_flags_now(file: *mut bindings::file) -> u32 {
    // `f_flags` has three writers after open, each a plain, aligned 32-bit
    // store (or read-modify-write) under `f_lock`, which the kernel treats
    // as untorn: `setfl()` (`F_SETFL`, `fs/fcntl.c`), `ioctl_fionbio()`
    // (`FIONBIO`, `fs/ioctl.c`) and `fasync_helper()` (`FASYNC`, in
    // `fasync_insert_entry()` and `fasync_remove_entry()`, `fs/fcntl.c`).
    // A racing load sees the value before or after one of them, each a
    // correct answer for the callers.
    // SAFETY: The caller guarantees the file is valid, so the pointer is
    // valid and aligned for the call; the load is atomic (see above).
    unsafe { Atomic::from_ptr(&raw mut (*file).f_flags) }.load(Relaxed)
}
