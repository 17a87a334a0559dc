// SPDX-License-Identifier: GPL-2.0

//! `O_ASYNC`: SIGIO to the files that asked for it, as `fs/pipe.c` does.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)
//! (`fasync_helper()`, `kill_fasync()`).
//!
//! Why this exists: the kernel crate has no `fasync` support (Linux 7.3).
//! A device keeps two lists, like a pipe: files open for reading hear
//! `POLL_IN` when data arrives, files open for writing hear `POLL_OUT` when
//! space frees. A file joins and leaves them in the misc device layer's
//! `fasync` callback, never through the driver: the layer takes the lists
//! once, at open ([`super::miscdev::MiscDevice::fasync`]), and keeps them
//! with the file, so that the call from `__fput()` (where the file's
//! reference count is already zero and no `&File` may exist) takes the file
//! out of exactly the lists it joined, and no entry outlives its file. Were
//! the driver asked again each time, a safe implementation that answered
//! differently could leave an entry behind, pointing at a freed file.

use kernel::{
    bindings,
    error::to_result,
    ffi::c_int,
    fs::file::flags,
    prelude::*,
    types::Opaque, //
};

use super::kiocb::f_flags_now;

/// The SIGIO subscribers of one device: a readers' and a writers' list.
///
/// # Invariants
///
/// Each field holds a `struct fasync_struct *` list head, null when empty,
/// written only by `fasync_helper()` under the kernel's `fasync_lock` and
/// read by `kill_fasync()` under RCU. Every entry belongs to a file with
/// `FASYNC` set that is not yet released: `__fput()` calls the `fasync`
/// callback to take it out (see [`Self::update`]) before the file is freed.
pub(crate) struct Fasync {
    readers: Opaque<*mut bindings::fasync_struct>,
    writers: Opaque<*mut bindings::fasync_struct>,
}

// SAFETY: The heads are only touched through `fasync_helper()` and
// `kill_fasync()`, which synchronise through `fasync_lock`, the entries'
// `fa_lock` and RCU, from any thread.
unsafe impl Send for Fasync {}

// SAFETY: As for `Send`: every access from `&self` goes through the kernel's
// own synchronisation.
unsafe impl Sync for Fasync {}

impl Fasync {
    /// Two empty lists.
    pub(crate) fn new() -> Self {
        // INVARIANT: Null heads are empty lists.
        Self {
            readers: Opaque::new(core::ptr::null_mut()),
            writers: Opaque::new(core::ptr::null_mut()),
        }
    }

    /// Data arrived (or end of file): SIGIO with `POLL_IN` to every reading
    /// file that asked for it. Costs one load when nobody did.
    pub(crate) fn readable(&self) {
        // SAFETY: By the type invariants the head is a valid list, and every
        // entry's file is still alive.
        unsafe { bindings::kill_fasync(self.readers.get(), SIGIO, POLL_IN) };
    }

    /// Space freed: SIGIO with `POLL_OUT` to every writing file that asked.
    pub(crate) fn writable(&self) {
        // SAFETY: As in `readable`.
        unsafe { bindings::kill_fasync(self.writers.get(), SIGIO, POLL_OUT) };
    }

    /// Adds `file` to the lists of its access mode (`on`) or takes it out of
    /// them, as `pipe_fasync()` does.
    ///
    /// # Safety
    ///
    /// `file` must be valid for the call, and this must be its `fasync`
    /// callback with the lists the file has used since it was opened: called
    /// by `fcntl(F_SETFL)` or `ioctl(FIOASYNC)` while the file is open, or by
    /// `__fput()` with `on == false` before the file is freed. That last call
    /// keeps the type invariant that no entry outlives its file.
    pub(super) unsafe fn update(&self, fd: c_int, file: *mut bindings::file, on: bool) -> Result {
        // The access mode, fixed at open, says which lists (FMODE_READ and
        // FMODE_WRITE follow from it).
        // SAFETY: The caller guarantees `file` is valid for this call.
        let mode = unsafe { f_flags_now(file) } & flags::O_ACCMODE;
        let (read, write) = (mode != flags::O_WRONLY, mode != flags::O_RDONLY);
        let on = c_int::from(on);
        let mut ret = 0;
        if read {
            // SAFETY: `file` is valid and the head is a valid list.
            // `fasync_helper` stores `file` in the entry without a
            // reference, which the caller's contract makes sound: the entry
            // leaves with the file's last `fasync` call, in `__fput()`.
            // INVARIANT: Only `fasync_helper` writes the head.
            ret = unsafe { bindings::fasync_helper(fd, file, on, self.readers.get()) };
        }
        if write && ret >= 0 {
            // SAFETY: As above.
            ret = unsafe { bindings::fasync_helper(fd, file, on, self.writers.get()) };
            if ret < 0 && read {
                // Only an insertion can fail (no memory): undo the first
                // one, so the file is in both lists or in neither.
                // SAFETY: As above.
                unsafe { bindings::fasync_helper(-1, file, 0, self.readers.get()) };
            }
        }
        to_result(ret)
    }
}

// CAST: Signal and band numbers are small constants (29, 1, 2).
const SIGIO: c_int = bindings::SIGIO as c_int;
const POLL_IN: c_int = bindings::POLL_IN as c_int;
const POLL_OUT: c_int = bindings::POLL_OUT as c_int;
