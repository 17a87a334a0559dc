// SPDX-License-Identifier: GPL-2.0

//! What a `read_iter` or `write_iter` call needs to know about itself.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).
//!
//! Why this exists: `kernel::fs::Kiocb` (Linux 7.3) gives access to the
//! file's private data and position only. Whether a call may block depends on
//! the file's `O_NONBLOCK` flag *now*, which `fcntl(F_SETFL)` can change at
//! any time after open. Upstream could absorb this as a
//! `Kiocb::is_nonblocking()` method; the name here is chosen to match.

use core::marker::PhantomData;
use kernel::{
    bindings,
    fs::file::flags,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

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

    /// Whether this call must not sleep waiting for data or space: the file
    /// has `O_NONBLOCK` set at this moment.
    pub(crate) fn is_nonblocking(&self) -> bool {
        // SAFETY: By the type invariants `kiocb` is valid; `ki_filp` is set
        // at init and never changes during the call.
        let file = unsafe { (*self.kiocb).ki_filp };
        // A relaxed atomic load is the `READ_ONCE()` the C side would use; no
        // lock is needed because any value before or after a racing `fcntl`
        // is a correct answer.
        //
        // SAFETY: By the type invariants `ki_filp` is a valid file, so the
        // pointer is valid and aligned for the whole call. Its only writer
        // after open is `setfl()` (`fcntl(F_SETFL)`): one plain, aligned
        // 32-bit store under `f_lock`, which the kernel treats as untorn.
        let f_flags = unsafe { Atomic::from_ptr(&raw mut (*file).f_flags) }.load(Relaxed);
        (f_flags & flags::O_NONBLOCK) != 0
    }
}
