// SPDX-License-Identifier: GPL-2.0

//! The destination of a read, which can only be filled by copying.
//!
//! C header: [`include/linux/uio.h`](srctree/include/linux/uio.h).
//!
//! Why this exists: `splice(2)` and `sendfile(2)` from the device run
//! `copy_splice_read()` (`fs/splice.c`), which allocates pages without
//! zeroing them, points an `iov_iter` at them, calls `read_iter`, and hands
//! as many bytes as `read_iter` returned to the pipe. A `read_iter` that
//! returned more than it wrote would give userspace stale kernel memory.
//! `kernel::iov::IovIterDest` (Linux 7.3) lets safe code do exactly that: it
//! has a safe `advance(n)`, which moves the iterator on without writing,
//! and nothing ties the count a driver returns to what it wrote. So the
//! layer hands `read_iter` a [`ReadDest`], which can only copy, and caps the
//! returned count at what the iterator consumed ([`ReadDest::written`]):
//! every byte counted was written by a copy. Upstream could do the same in
//! `MiscDevice::read_iter`, or make `IovIterDest::advance` unsafe.

use kernel::iov::IovIterDest;

/// The buffer of one `read_iter` call, seen by the driver.
///
/// # Invariants
///
/// `dest` only ever moves on by copying: the only calls made on it are
/// `copy_to_iter` and `len`, so `start - dest.len()` bytes of it were
/// written, where `start` was its length when this value was made.
pub(crate) struct ReadDest<'a, 'data> {
    dest: &'a mut IovIterDest<'data>,
    start: usize,
}

impl<'a, 'data> ReadDest<'a, 'data> {
    /// Wraps the iterator of a `read_iter` call.
    pub(super) fn new(dest: &'a mut IovIterDest<'data>) -> Self {
        let start = dest.len();
        // INVARIANT: Nothing was consumed yet.
        Self { dest, start }
    }

    /// How many bytes may still be copied in.
    pub(crate) fn len(&self) -> usize {
        self.dest.len()
    }

    /// Copies as much of `input` as fits and does not fault; returns how
    /// many bytes were copied, at most `input.len()`.
    #[inline]
    pub(crate) fn copy_to_iter(&mut self, input: &[u8]) -> usize {
        let copied = self.dest.copy_to_iter(input);
        // Tells the compiler what `_copy_to_iter()` guarantees, so that the
        // driver's clamps of this count to its run compile to nothing (the
        // C twin has no clamp to pay for). The kernel crate could say it
        // once, in `IovIterDest::copy_to_iter`: see
        // `Documentation/patches/`.
        // SAFETY: `IovIterDest::copy_to_iter` returns what `_copy_to_iter()`
        // (`lib/iov_iter.c`) returns: 0 for a wrong direction, otherwise
        // `iterate_and_advance2()`'s progress, which first trims the
        // request to `min(input.len(), count)` and then adds at most each
        // step's length, for every iterator type. Never more than
        // `input.len()`.
        unsafe { core::hint::assert_unchecked(copied <= input.len()) };
        copied
    }

    /// How many bytes were written so far, all by copies.
    pub(super) fn written(&self) -> usize {
        // The iterator's length only shrinks (type invariants); saturating
        // keeps even a broken invariant from reporting bytes not written.
        self.start.saturating_sub(self.dest.len())
    }
}
