// SPDX-License-Identifier: GPL-2.0

//! A bounded byte ring: the FIFO core.
//!
//! Plain Rust with no kernel dependency, so the same file builds in the module
//! and on the host (`tests/host`). The storage is any byte slice the caller
//! owns: `KVVec<u8>` in the kernel, `Vec<u8>` on the host. Allocation is the
//! caller's business, so a failed allocation can never leave the ring half
//! changed.

use core::ops::DerefMut;

/// A FIFO of bytes over a fixed-size storage.
///
/// # Invariants
///
/// - `head < storage.len()` whenever `storage` is not empty, and `head == 0`
///   otherwise.
/// - `len <= storage.len()`.
/// - The bytes of the FIFO, oldest first, are the `len` bytes starting at
///   `head`, wrapping at `storage.len()`.
pub(crate) struct Ring<S> {
    storage: S,
    head: usize,
    len: usize,
}

/// Why [`Ring::resize`] refused a new storage.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ResizeError {
    /// The FIFO holds more bytes than the new storage can take.
    TooSmall,
}

impl<S: DerefMut<Target = [u8]>> Ring<S> {
    /// Makes an empty ring whose capacity is the length of `storage`.
    pub(crate) fn new(storage: S) -> Self {
        // INVARIANT: `head == 0` and `len == 0` hold for any storage.
        Self {
            storage,
            head: 0,
            len: 0,
        }
    }

    /// How many bytes the ring can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.storage.len()
    }

    /// How many bytes the ring holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the ring holds no bytes.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many bytes can be pushed before the ring is full.
    pub(crate) fn free(&self) -> usize {
        self.capacity() - self.len
    }

    /// The bytes of the FIFO, oldest first, as at most two slices.
    pub(crate) fn readable(&self) -> (&[u8], &[u8]) {
        // Split once at `head`: `tail` runs from the oldest byte to the end
        // of the storage, `wrapped` is what comes after it in FIFO order.
        // The lengths of both are then facts the compiler knows, so the
        // runs below need no modulo and no checked arithmetic.
        let (wrapped, tail) = self.storage.split_at(self.head);
        if self.len <= tail.len() {
            // The bytes do not wrap.
            (&tail[..self.len], &[])
        } else {
            // They fill `tail` and go on at the start of the storage.
            (tail, &wrapped[..self.len - tail.len()])
        }
    }

    /// The free space after the newest byte, in FIFO order, as at most two
    /// slices. Bytes written there become part of the FIFO only through
    /// [`Ring::commit_push`].
    pub(crate) fn writable(&mut self) -> (&mut [u8], &mut [u8]) {
        // Split at `head`, as in `readable`.
        let (wrapped, tail) = self.storage.split_at_mut(self.head);
        if self.len < tail.len() {
            // The bytes end before the end of the storage: free are the
            // rest of `tail`, then all of the storage before `head`.
            (&mut tail[self.len..], wrapped)
        } else {
            // They reach the end (or wrap): free is what `wrapped` has left
            // after them. So the first run is empty only when nothing is
            // free.
            let used = self.len - tail.len();
            (&mut wrapped[used..], &mut [])
        }
    }

    /// Drops the `n` oldest bytes, after they were copied out of
    /// [`Ring::readable`]. `n` is clamped to the length.
    pub(crate) fn commit_pop(&mut self, n: usize) {
        let n = core::cmp::min(n, self.len);
        // The bytes from `head` to the end of the storage.
        let to_end = self.capacity() - self.head;
        // INVARIANT: `n <= len`, so `len` stays in range. The new head is
        // `head + n` wrapped once: `n <= len <= capacity`, so once is
        // enough, and it is below the capacity. An emptied ring rewinds to
        // 0, as the C twin's does.
        self.len -= n;
        self.head = if self.len == 0 {
            0
        } else if n < to_end {
            // `head + n`, written so that it cannot overflow.
            self.capacity() - (to_end - n)
        } else {
            n - to_end
        };
    }

    /// Makes the first `n` bytes of [`Ring::writable`] part of the FIFO.
    /// `n` is clamped to the free space.
    pub(crate) fn commit_push(&mut self, n: usize) {
        // INVARIANT: `len` grows by at most the free space.
        self.len += core::cmp::min(n, self.free());
    }

    /// Copies bytes in and returns how many fit. For the tests (KUnit and
    /// the host's model check); the driver copies through
    /// [`Ring::writable`] and [`Ring::commit_push`].
    #[cfg(any(test, rs_kunit))]
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let (a, b) = self.writable();
        let na = core::cmp::min(a.len(), data.len());
        a[..na].copy_from_slice(&data[..na]);
        let nb = core::cmp::min(b.len(), data.len() - na);
        b[..nb].copy_from_slice(&data[na..na + nb]);
        self.commit_push(na + nb);
        na + nb
    }

    /// Copies the oldest bytes out, removes them, and returns how many. For
    /// the tests, as [`Ring::push`].
    #[cfg(any(test, rs_kunit))]
    pub(crate) fn pop(&mut self, out: &mut [u8]) -> usize {
        let (a, b) = self.readable();
        let na = core::cmp::min(a.len(), out.len());
        out[..na].copy_from_slice(&a[..na]);
        let nb = core::cmp::min(b.len(), out.len() - na);
        out[na..na + nb].copy_from_slice(&b[..nb]);
        self.commit_pop(na + nb);
        na + nb
    }

    /// Drops every byte.
    pub(crate) fn clear(&mut self) {
        // INVARIANT: an empty ring with `head == 0`.
        self.head = 0;
        self.len = 0;
    }

    /// Moves the contents, in order, into `storage`, which becomes the new
    /// storage; gives the old storage back so the caller frees it outside any
    /// lock. On error nothing changes and `storage` comes back.
    pub(crate) fn resize(&mut self, mut storage: S) -> Result<S, (ResizeError, S)> {
        if storage.len() < self.len {
            return Err((ResizeError::TooSmall, storage));
        }
        let (a, b) = self.readable();
        storage[..a.len()].copy_from_slice(a);
        storage[a.len()..a.len() + b.len()].copy_from_slice(b);
        // INVARIANT: the bytes now start at 0 and `len` fits the new storage.
        self.head = 0;
        Ok(core::mem::replace(&mut self.storage, storage))
    }
}
