// SPDX-License-Identifier: GPL-2.0

//! What a read or write needs to know about the call it serves.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).
//!
//! Why this exists: `kernel::fs::Kiocb` (Linux 7.3) gives access to the
//! file's private data and position only. Whether a call may block depends on
//! the file's `O_NONBLOCK` flag *now*, which `fcntl(F_SETFL)` can change at
//! any time after open, and on `IOCB_NOWAIT` (`preadv2(RWF_NOWAIT)`, io_uring).
//! Upstream could absorb this as a `Kiocb::is_nonblocking()` method.

use core::marker::PhantomData;
use kernel::{
    bindings,
    fs::file::flags, //
};

/// The context of one `read_iter` or `write_iter` call.
///
/// # Invariants
///
/// `kiocb` points at a valid `struct kiocb`, whose `ki_filp` is a valid
/// file, for the whole of `'a`.
pub(crate) struct IoContext<'a> {
    kiocb: *mut bindings::kiocb,
    _lifetime: PhantomData<&'a bindings::kiocb>,
}

impl<'a> IoContext<'a> {
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
        // SAFETY: By the type invariants `kiocb` is valid, and we only read.
        let file = unsafe { (*self.kiocb).ki_filp };
        // `f_flags` can change under us through `fcntl(F_SETFL)`; this
        // `read_volatile` stands for the `READ_ONCE()` C code uses.
        //
        // SAFETY: By the type invariants `ki_filp` is a valid file.
        let f_flags = unsafe { core::ptr::addr_of!((*file).f_flags).read_volatile() };
        (f_flags & flags::O_NONBLOCK) != 0
    }
}
