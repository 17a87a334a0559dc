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
//! `fasync` callback, never through the driver. The lists are a field of
//! the `T` the file's private data (an `Arc<T>`) points at ([`HasFasync`],
//! implemented only through
//! [`impl_has_fasync!`]), so every call on a file finds the very lists its
//! earlier calls used, and the file leaves exactly the lists it could have
//! joined. Were the driver asked through a method of its own, a safe
//! implementation that answered differently could leave an entry behind,
//! pointing at a freed file.
//!
//! `fasync_helper()` keeps a file's `FASYNC` flag equal to "the file is on
//! a list" for one list only, and `__fput()` calls `->fasync` to take the
//! file out only if `FASYNC` is set. With two lists, that needs care:
//!
//! - `->fasync` runs with no lock held (`setfl()` and `ioctl_fioasync()`),
//!   so two threads sharing a file descriptor can run it at once. Between a
//!   removal's two calls `FASYNC` is already clear; an insertion that starts
//!   then would add the file to the readers' list and find the old writers'
//!   entry still there, and the removal's second call would clear `FASYNC`
//!   again, leaving the file on a list with `FASYNC` clear. So the two calls
//!   run under a lock of the lists' own ([`Fasync::update`]), which only
//!   this callback takes and which no user can hold for long.
//! - `fasync_helper()` allocates before it looks for an existing entry, so
//!   an insertion that finds the file already listed can still fail with
//!   `ENOMEM`; its undo must remove only an entry that this call added.
//! - `release` takes the file off both lists whatever `FASYNC` says
//!   ([`Fasync::forget`]), so even a state this reasoning missed cannot
//!   leave an entry to a freed file.

use kernel::{
    bindings,
    error::to_result,
    ffi::c_int,
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Mutex,
    },
    types::Opaque, //
};

use super::access::Access;

/// A type whose value holds the SIGIO lists of the files that point at it:
/// the misc device layer finds them there in each `->fasync` call and in
/// `release`.
///
/// # Safety
///
/// [`HasFasync::fasync_lists`] returns a field of `self`: the same
/// [`Fasync`] every time for a given value, living exactly as long as the
/// value. Implement it with [`impl_has_fasync!`], which checks that.
pub(crate) unsafe trait HasFasync {
    /// The lists.
    fn fasync_lists(&self) -> &Fasync;
}

/// Implements [`HasFasync`] for a struct by naming its [`Fasync`] field:
/// `impl_has_fasync!(SampleDevice { fasync });`.
///
/// Safe to use because it can only name a field: `offset_of!` accepts a
/// direct field and nothing else (no `Deref` on the way, which could
/// return a different `Fasync` each time), and the raw place `&raw const`
/// takes has no deref coercion, so a field of another type does not
/// compile. This is the shape of the kernel crate's `impl_has_work!`.
///
/// The expansion is an `unsafe impl` with an `#[allow(unsafe_code)]`, so
/// it cannot be invoked under `#![forbid(unsafe_code)]`: the driver invokes
/// it in `rust_sample.rs`, which denies unsafe code (the kernel's `module!`
/// passes `deny` only because lints are not reported inside another
/// crate's macro expansions). The projection itself is a plain reference
/// (`&self.$field`), so a `#[repr(packed)]` struct, whose fields may be
/// unaligned, does not compile (E0793).
macro_rules! impl_has_fasync {
    ($type:ty { $field:ident }) => {
        #[allow(unsafe_code)]
        // SAFETY: `fasync_lists` returns the field `$field` of `self`, which
        // `offset_of!` proves is a direct field, of type `Fasync` (the raw
        // pointer's type), so it is the same lists every call, living as
        // long as `self`.
        unsafe impl $crate::abstractions::fasync::HasFasync for $type {
            #[inline]
            fn fasync_lists(&self) -> &$crate::abstractions::fasync::Fasync {
                const _: usize = ::core::mem::offset_of!($type, $field);
                // The exact type, with no deref coercion.
                let _: *const $crate::abstractions::fasync::Fasync = &raw const self.$field;
                &self.$field
            }
        }
    };
}
pub(crate) use impl_has_fasync;

/// The SIGIO subscribers of one device: a readers' and a writers' list.
///
/// # Invariants
///
/// - Each list field holds a `struct fasync_struct *` list head, null when
///   empty, written only by `fasync_helper()` under the kernel's
///   `fasync_lock` and read by `kill_fasync()` under RCU.
/// - Every entry belongs to a file that is not yet released: the file's
///   `release` calls [`Fasync::forget`] before the file is freed.
#[pin_data]
pub(crate) struct Fasync {
    /// Serialises [`Fasync::update`]: the two `fasync_helper()` calls of one
    /// `->fasync` call, against those of another on the same file.
    #[pin]
    update: Mutex<()>,
    readers: Opaque<*mut bindings::fasync_struct>,
    writers: Opaque<*mut bindings::fasync_struct>,
}

// SAFETY: The heads are only touched through `fasync_helper()` and
// `kill_fasync()`, which synchronise through `fasync_lock`, the entries'
// `fa_lock` and RCU, from any thread; the mutex is `Send`.
unsafe impl Send for Fasync {}

// SAFETY: As for `Send`: every access from `&self` goes through the kernel's
// own synchronisation or the mutex.
unsafe impl Sync for Fasync {}

impl Fasync {
    /// Two empty lists.
    pub(crate) fn new() -> impl PinInit<Self> {
        // INVARIANT: Null heads are empty lists.
        pin_init!(Self {
            update <- new_mutex!(()),
            readers: Opaque::new(core::ptr::null_mut()),
            writers: Opaque::new(core::ptr::null_mut()),
        })
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
    /// them, as `pipe_fasync()` does: the lists by `f_mode`, the two calls
    /// under one lock, and an undo of only what this call added.
    ///
    /// # Safety
    ///
    /// `file` must be valid for the call, and this must be its `fasync`
    /// callback, with the lists the file has used since it was opened, and
    /// its `release` must call [`Fasync::forget`] on these lists.
    pub(super) unsafe fn update(&self, fd: c_int, file: *mut bindings::file, on: bool) -> Result {
        // SAFETY: The caller guarantees `file` is valid for this call.
        let access = unsafe { Access::of_raw(file) };
        let on = c_int::from(on);
        let _serial = self.update.lock();
        test_window::before_insertion(on);
        let mut read_ret = 0;
        if access.read {
            // SAFETY: `file` is valid and the head is a valid list.
            // `fasync_helper` stores `file` in the entry without a
            // reference, which the caller's contract makes sound: `release`
            // takes every entry out before the file is freed.
            // INVARIANT: Only `fasync_helper` writes the head.
            read_ret = unsafe { bindings::fasync_helper(fd, file, on, self.readers.get()) };
            if read_ret < 0 {
                return to_result(read_ret);
            }
        }
        if access.write {
            if access.read {
                test_window::between_removals(on);
            }
            // SAFETY: As above.
            let ret = unsafe { bindings::fasync_helper(fd, file, on, self.writers.get()) };
            if ret < 0 {
                // Only an insertion can fail (no memory). Undo the readers'
                // entry only if this call added it (`read_ret > 0`): one that
                // was already there belongs to an earlier, successful call,
                // and removing it would clear `FASYNC` under the writers'
                // entry of that call.
                if read_ret > 0 {
                    // SAFETY: As above.
                    unsafe { bindings::fasync_helper(-1, file, 0, self.readers.get()) };
                }
                return to_result(ret);
            }
        }
        Ok(())
    }

    /// Takes `file` out of both lists, whatever its `FASYNC` flag says.
    ///
    /// # Safety
    ///
    /// `file` must point at a file whose memory is valid for the call and
    /// that no other `fasync` call can reach any more: its `release`.
    pub(super) unsafe fn forget(&self, file: *mut bindings::file) {
        for head in [&self.readers, &self.writers] {
            // A null head holds no entry of this file, and none can be added
            // now (no `fasync` call can reach a released file): skip the
            // global `fasync_lock` then. The head cannot read null while
            // this file is listed: only this file's own calls could unlink
            // its entry, and none can run now; other files' insertions and
            // removals change the head, but never to null while an entry
            // remains.
            // SAFETY: The head is valid (type invariant). `fasync_helper()`
            // writes it with plain, aligned pointer stores under
            // `fasync_lock`, which the kernel treats as untorn (as
            // `f_flags`, `kiocb.rs`); the relaxed load is the `READ_ONCE()`
            // C would use.
            if unsafe { Atomic::from_ptr(head.get()) }
                .load(Relaxed)
                .is_null()
            {
                continue;
            }
            // SAFETY: The file's memory is valid for the call, and the head
            // is a valid list. `fasync_helper(-1, file, 0, ...)` removes the
            // file's entry if there is one and does nothing otherwise.
            unsafe { bindings::fasync_helper(-1, file, 0, head.get()) };
        }
    }
}

/// The test build (`make KUNIT=y`) widens the windows of the two races the
/// lock in [`Fasync::update`] closes, so that rs-devtest's
/// `sigio-fasync-race` hits them on every round if the lock is ever
/// broken (tried: it fails in round 0): a removal sleeps
/// between its two calls (the window in which `FASYNC` is already clear),
/// and an insertion sleeps before its first call (so that a second
/// insertion, past the VFS's `FASYNC` check, queues behind it). The
/// production module has neither sleep.
mod test_window {
    use kernel::ffi::c_int;

    /// Before an insertion's first call.
    #[cfg(rs_kunit)]
    pub(super) fn before_insertion(on: c_int) {
        if on != 0 {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(4));
        }
    }

    /// Between a removal's two calls.
    #[cfg(rs_kunit)]
    pub(super) fn between_removals(on: c_int) {
        if on == 0 {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(20));
        }
    }

    #[cfg(not(rs_kunit))]
    #[inline(always)]
    pub(super) fn before_insertion(_on: c_int) {}

    #[cfg(not(rs_kunit))]
    #[inline(always)]
    pub(super) fn between_removals(_on: c_int) {}
}

// CAST: Signal and band numbers are small constants (29, 1, 2).
const SIGIO: c_int = bindings::SIGIO as c_int;
const POLL_IN: c_int = bindings::POLL_IN as c_int;
const POLL_OUT: c_int = bindings::POLL_OUT as c_int;
