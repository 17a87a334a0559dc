// SPDX-License-Identifier: GPL-2.0

//! Which ways a file was opened: its `FMODE_READ` and `FMODE_WRITE` bits.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h).
//!
//! Why this exists: `kernel::fs::File` (Linux 7.3) exposes `f_flags` but not
//! `f_mode`. The access mode in `f_flags & O_ACCMODE` is not what the VFS
//! grants: `open(path, 3)` (the "ioctl only" mode) has `O_ACCMODE == 3` and
//! neither `FMODE_READ` nor `FMODE_WRITE`, and `read(2)`/`write(2)` check the
//! `f_mode` bits. `fs/pipe.c` chooses its SIGIO lists and its poll events by
//! `f_mode`; so do the layer and the driver. Upstream could absorb this as
//! `File::mode()`.

use kernel::{
    bindings,
    fs::File,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// `FMODE_READ` and `FMODE_WRITE` (`include/linux/fs.h`, the same in 7.2 and
/// 7.3). bindgen skips them because of the `__force` cast in their
/// definitions; upstream would add `RUST_CONST_HELPER_`s. rs-devtest's
/// `wrong-access-mode-ebadf`, the poll tests and the opener counts fail if
/// they are wrong.
const FMODE_READ: bindings::fmode_t = 1 << 0;
const FMODE_WRITE: bindings::fmode_t = 1 << 1;

/// Which ways a file was opened. Fixed at open: nothing clears or sets
/// `FMODE_READ` or `FMODE_WRITE` on an open file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    /// The file may be read (`FMODE_READ`).
    pub(crate) read: bool,
    /// The file may be written (`FMODE_WRITE`).
    pub(crate) write: bool,
}

impl Access {
    /// The access of an open file.
    pub(crate) fn of(file: &File) -> Self {
        // SAFETY: A `&File` is a valid file for the duration of the borrow.
        unsafe { Self::of_raw(file.as_ptr()) }
    }

    /// The access of `file`, which may be a file whose last reference is
    /// gone (`__fput()`), where no `&File` may be made.
    ///
    /// # Safety
    ///
    /// `file` must point at a valid `struct file` for the duration of the
    /// call.
    pub(crate) unsafe fn of_raw(file: *mut bindings::file) -> Self {
        // SAFETY: The caller guarantees the file is valid, so the pointer is
        // valid and aligned for the call. Other bits of `f_mode` may change
        // while the file is open (`FMODE_RANDOM` from `fadvise()`, a 32-bit
        // read-modify-write under `f_lock`), so the read is a relaxed atomic
        // load, the `READ_ONCE()` C would use; the two bits read here never
        // change after open.
        let mode = unsafe { Atomic::from_ptr(&raw mut (*file).f_mode) }.load(Relaxed);
        Self {
            read: mode & FMODE_READ != 0,
            write: mode & FMODE_WRITE != 0,
        }
    }
}
