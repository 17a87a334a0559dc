// SPDX-License-Identifier: GPL-2.0

//! The FIFO's rules: when a read or a write may proceed, how much it moves,
//! and when `poll` calls it ready.
//!
//! Plain Rust with no kernel dependency, like [`super::ring`], so the host
//! tests (`tests/host`) run the very code the module runs. The kernel side
//! (`device/file.rs`) adds only locking, waiting and copying to and from
//! userspace.

use super::ring::{
    ResizeError,
    Ring, //
};
use core::ops::DerefMut;

/// The smallest capacity, in bytes (`RUST_SAMPLE_MIN_CAPACITY`).
pub(crate) const MIN_CAPACITY: usize = 4 * 1024;
/// The largest capacity, in bytes (`RUST_SAMPLE_MAX_CAPACITY`). The bound
/// keeps a user from making the kernel allocate without limit.
pub(crate) const MAX_CAPACITY: usize = 16 * 1024 * 1024;
/// The capacity when the module parameter is not given.
pub(crate) const DEFAULT_CAPACITY: usize = 64 * 1024;
/// The largest write that is all-or-nothing, in bytes: `PIPE_BUF`, as for a
/// pipe. Not the page size, which is 16 KiB or 64 KiB on some arm64
/// kernels: the ABI is the same on every architecture, and every capacity
/// can take a whole atomic write.
pub(crate) const PIPE_BUF: usize = 4096;
const _: () = assert!(MIN_CAPACITY >= PIPE_BUF);

/// Whether `bytes` is an acceptable capacity. Takes a `u64` because that is
/// what userspace and the module parameter supply.
pub(crate) fn capacity_from_user(bytes: u64) -> Option<usize> {
    let bytes = usize::try_from(bytes).ok()?;
    (MIN_CAPACITY..=MAX_CAPACITY)
        .contains(&bytes)
        .then_some(bytes)
}

/// The size up to which a write is all-or-nothing in a FIFO of `capacity`
/// bytes: `atomic_max`, or the whole capacity if that is smaller, so that
/// every atomic write can complete in an empty FIFO.
fn atomic_size(atomic_max: usize, capacity: usize) -> usize {
    core::cmp::min(atomic_max, capacity)
}

/// Readable for `poll`, from a length that may be read without the lock: a
/// read would not block, because there is data or because it would return
/// end of file.
pub(crate) fn is_readable(len: usize, has_writer: bool) -> bool {
    len != 0 || !has_writer
}

/// Writable for `poll`, from a length and capacity that may be read without
/// the lock: an atomic write of the largest size would fit now, so a writer
/// woken by `poll` never finds its atomic write refused (a pipe likewise
/// reports `EPOLLOUT` only when a `PIPE_BUF` write fits).
pub(crate) fn is_writable(len: usize, capacity: usize, atomic_max: usize) -> bool {
    // Saturating: read without the lock, `len` may be from before a
    // shrinking resize and `capacity` from after it.
    let free = capacity.saturating_sub(len);
    free != 0 && free >= atomic_size(atomic_max, capacity)
}

/// What a read of `count` bytes should do now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadStep {
    /// Take this many bytes (0 only when 0 were asked for).
    Take(usize),
    /// The FIFO is empty and nobody holds it for writing: end of file.
    Eof,
    /// The FIFO is empty but a writer may still fill it.
    Wait,
}

/// What a write of `count` bytes should do now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WriteStep {
    /// Store this many bytes (0 only when 0 were asked for).
    Put(usize),
    /// Not enough room yet: nothing for a full FIFO, all of it for an
    /// atomic write.
    Wait,
}

/// The FIFO shared by every opener of the device.
///
/// Who holds the device open is not kept here: `open` and `release` count
/// openers without the FIFO's lock (`device/file.rs`, `Openers`), and the
/// decisions that depend on it take `has_writer`, whether any file with
/// write access is open.
pub(crate) struct Fifo<S> {
    ring: Ring<S>,
    atomic_max: usize,
}

impl<S: DerefMut<Target = [u8]>> Fifo<S> {
    /// An empty FIFO over `storage`. Writes of at most `atomic_max` bytes
    /// (and at most the capacity) are all-or-nothing; the kernel passes
    /// [`PIPE_BUF`].
    pub(crate) fn new(storage: S, atomic_max: usize) -> Self {
        Self {
            ring: Ring::new(storage),
            atomic_max,
        }
    }

    /// How many bytes the FIFO holds.
    pub(crate) fn len(&self) -> usize {
        self.ring.len()
    }

    /// How many bytes the FIFO can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Whether the FIFO holds no data.
    pub(crate) fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Decides what a read of `count` bytes does now.
    pub(crate) fn read_step(&self, count: usize, has_writer: bool) -> ReadStep {
        if count == 0 {
            ReadStep::Take(0)
        } else if !self.ring.is_empty() {
            ReadStep::Take(core::cmp::min(count, self.ring.len()))
        } else if !has_writer {
            ReadStep::Eof
        } else {
            ReadStep::Wait
        }
    }

    /// Decides what a write of `count` bytes does now. A write of at most
    /// the atomic size waits until all of it fits, so concurrent writers
    /// never interleave inside it; a larger one stores what fits.
    pub(crate) fn write_step(&self, count: usize) -> WriteStep {
        let free = self.ring.free();
        if count == 0 {
            WriteStep::Put(0)
        } else if count <= atomic_size(self.atomic_max, self.capacity()) {
            if free >= count {
                WriteStep::Put(count)
            } else {
                WriteStep::Wait
            }
        } else if free > 0 {
            WriteStep::Put(core::cmp::min(count, free))
        } else {
            WriteStep::Wait
        }
    }

    /// Moves up to `n` bytes out through `copy`, oldest first. `copy` gets
    /// each contiguous run and returns how much of it it took; a short count
    /// (a fault in the user buffer) stops the transfer. Returns how many
    /// bytes left the FIFO.
    pub(crate) fn take(&mut self, n: usize, mut copy: impl FnMut(&[u8]) -> usize) -> usize {
        let (a, b) = self.ring.readable();
        // The first run, then the wrapped one if the first went out whole:
        // straight-line code, so the compiler sees every bound (a loop over
        // the two runs cost ~20 instructions per call in `make profile`).
        // No test for an empty run, as in the C twin: with `n > 0` the
        // first run of data (here) or of free space (in `put`) is never
        // empty, and the second is used only when the first went out
        // whole and `n` asks for more, so it is not empty either.
        let want_a = core::cmp::min(a.len(), n);
        let mut done = core::cmp::min(copy(&a[..want_a]), want_a);
        if done == want_a && done < n {
            let want_b = core::cmp::min(b.len(), n - done);
            done += core::cmp::min(copy(&b[..want_b]), want_b);
        }
        self.ring.commit_pop(done);
        done
    }

    /// Moves `n` bytes in through `copy`, which fills each contiguous run of
    /// free space and returns how much it filled. `n` comes from
    /// [`Fifo::write_step`], so it fits. A short count (a fault in the user
    /// buffer) keeps what was filled, except in an atomic write, which is
    /// then dropped whole. Returns how many bytes entered the FIFO.
    pub(crate) fn put(&mut self, n: usize, mut copy: impl FnMut(&mut [u8]) -> usize) -> usize {
        let (a, b) = self.ring.writable();
        // As in `take`: the first run, then the wrapped one.
        let want_a = core::cmp::min(a.len(), n);
        let mut done = core::cmp::min(copy(&mut a[..want_a]), want_a);
        if done == want_a && done < n {
            let want_b = core::cmp::min(b.len(), n - done);
            done += core::cmp::min(copy(&mut b[..want_b]), want_b);
        }
        if done < n && n <= atomic_size(self.atomic_max, self.capacity()) {
            return 0;
        }
        self.ring.commit_push(done);
        done
    }

    /// Drops every byte.
    pub(crate) fn clear(&mut self) {
        self.ring.clear();
    }

    /// Moves the contents into `storage` and returns the old storage, for the
    /// caller to free outside its lock. On error nothing changes.
    pub(crate) fn resize(&mut self, storage: S) -> Result<S, (ResizeError, S)> {
        self.ring.resize(storage)
    }
}
