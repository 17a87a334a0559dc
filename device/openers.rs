// SPDX-License-Identifier: GPL-2.0

//! Who holds the device open: the opener counts behind end of file and
//! hang-up.

use kernel::sync::atomic::{
    Atomic,
    Relaxed, //
};

/// Which ways a file was opened, from its `f_mode` (`abstractions/access.rs`).
pub(crate) use crate::abstractions::access::Access;

/// How many files hold the device open, for reading and for writing.
///
/// Atomics, not fields under the FIFO mutex: `open` and `release` must not
/// wait for a read or write that a user stalls inside a copy (see the
/// module docs).
///
/// # Invariants
///
/// Each count is the number of open files with that access: every
/// [`Openers::open`] is matched by one [`Openers::close`] with the same
/// access, in `SampleDevice`'s `release`.
pub(crate) struct Openers {
    readers: Atomic<u32>,
    writers: Atomic<u32>,
}

impl Openers {
    pub(crate) fn new() -> Self {
        Self {
            readers: Atomic::new(0),
            writers: Atomic::new(0),
        }
    }

    /// Counts a new open file. A new writer makes nothing readier, so there
    /// is nobody to wake.
    pub(crate) fn open(&self, access: Access) {
        // INVARIANT: One more open file of each kind it has access for.
        // OVERFLOW: There are fewer open files than `u32::MAX`
        // (`fs.file-max` is far lower), so the counts cannot wrap.
        if access.read {
            self.readers.add(1, Relaxed);
        }
        if access.write {
            self.writers.add(1, Relaxed);
        }
    }

    /// Uncounts a closed file. Returns whether it was the last writer.
    pub(crate) fn close(&self, access: Access) -> bool {
        // INVARIANT: Matched with the `open` of the same file, so neither
        // count goes below zero.
        if access.read {
            self.readers.fetch_sub(1, Relaxed);
        }
        // Relaxed is enough: the wake-up that follows takes the wait
        // queue's spinlock, which orders this store before a sleeper's
        // re-check (`PollWaitQueue::wait_interruptible_unless`).
        access.write && self.writers.fetch_sub(1, Relaxed) == 1
    }

    /// Open files with read access.
    pub(crate) fn readers(&self) -> u32 {
        self.readers.load(Relaxed)
    }

    /// Open files with write access.
    pub(crate) fn writers(&self) -> u32 {
        self.writers.load(Relaxed)
    }

    /// Whether any file with write access is open.
    pub(crate) fn has_writer(&self) -> bool {
        self.writers.load(Relaxed) != 0
    }
}
