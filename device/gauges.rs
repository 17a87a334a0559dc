// SPDX-License-Identifier: GPL-2.0

//! What observers read without the FIFO lock: the FIFO's length and
//! capacity, and the counters of what went through it.
//!
//! A read holds the FIFO mutex across its copy to user memory, and a user
//! can stall that copy for as long as it likes (a userfaultfd or FUSE
//! page). `poll`, `/proc/<pid>/fdinfo`, the debugfs `stats` file and the
//! `GET_STATS`/`GET_CAPACITY` ioctls serve other users, epoll instances and
//! tools like `lsof`, so they must not wait for it. Every value they need is
//! kept here too, in atomics that are written only with the FIFO locked and
//! read with relaxed loads, the `WRITE_ONCE()`/`READ_ONCE()` pairs C would
//! use. A writer passes the `&Fifo` it changed, which in the driver only
//! the lock's guard gives out (a convention of `device/file.rs`, not a
//! proof: tests build a `Fifo` of their own).
//!
//! Each value an observer reads is one the FIFO had at some moment of the
//! observer's call; two values may be from different moments (a `GET_STATS`
//! racing a write may show its bytes in `len` but not yet in
//! `bytes_written`). A pipe's `poll` reads its state the same way.

use core::ops::DerefMut;
use kernel::sync::atomic::{
    Atomic,
    Relaxed, //
};

use super::fifo::Fifo;

/// Counters of what went through the FIFO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Bytes taken out by reads.
    pub(crate) bytes_read: u64,
    /// Bytes put in by writes.
    pub(crate) bytes_written: u64,
    /// Reads that returned data.
    pub(crate) reads: u64,
    /// Writes that stored data.
    pub(crate) writes: u64,
}

/// The FIFO's state as observers see it.
///
/// # Invariants
///
/// Every field is written only while the FIFO's mutex is held, right after
/// the FIFO changed: `len` and `capacity` are the FIFO's as of the last
/// change, and the counters add up every read and write that moved data.
pub(crate) struct Gauges {
    len: Atomic<usize>,
    capacity: Atomic<usize>,
    bytes_read: Atomic<u64>,
    bytes_written: Atomic<u64>,
    reads: Atomic<u64>,
    writes: Atomic<u64>,
}

impl Gauges {
    /// The gauges of an empty FIFO of `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        // INVARIANT: What a new, empty FIFO has.
        Self {
            len: Atomic::new(0),
            capacity: Atomic::new(capacity),
            bytes_read: Atomic::new(0),
            bytes_written: Atomic::new(0),
            reads: Atomic::new(0),
            writes: Atomic::new(0),
        }
    }

    /// A read took `n` bytes out of `fifo` (0: it took nothing).
    pub(crate) fn took<S: DerefMut<Target = [u8]>>(&self, fifo: &Fifo<S>, n: usize) {
        // INVARIANT: `fifo` is borrowed from the lock's guard.
        self.len.store(fifo.len(), Relaxed);
        if n > 0 {
            add(&self.bytes_read, n);
            add(&self.reads, 1);
        }
    }

    /// A write put `n` bytes into `fifo` (0: it stored nothing).
    pub(crate) fn put<S: DerefMut<Target = [u8]>>(&self, fifo: &Fifo<S>, n: usize) {
        // INVARIANT: `fifo` is borrowed from the lock's guard.
        self.len.store(fifo.len(), Relaxed);
        if n > 0 {
            add(&self.bytes_written, n);
            add(&self.writes, 1);
        }
    }

    /// `fifo` was cleared or resized.
    pub(crate) fn reset<S: DerefMut<Target = [u8]>>(&self, fifo: &Fifo<S>) {
        // INVARIANT: `fifo` is borrowed from the lock's guard.
        self.len.store(fifo.len(), Relaxed);
        self.capacity.store(fifo.capacity(), Relaxed);
    }

    /// How many bytes the FIFO holds.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// How many bytes the FIFO can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity.load(Relaxed)
    }

    /// The counters.
    pub(crate) fn counters(&self) -> Counters {
        Counters {
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            reads: self.reads.load(Relaxed),
            writes: self.writes.load(Relaxed),
        }
    }
}

/// Adds `n` to `counter`. Writers are serialised by the FIFO lock, so a load
/// and a store do, with no locked read-modify-write.
fn add(counter: &Atomic<u64>, n: usize) {
    // OVERFLOW: Wraps, as C's `+=` on the twin's counters and the VFS's
    // `rchar`/`wchar` do. A byte count needs 2^64 bytes to wrap: 585 years
    // at 1 GB/s, more than this device moves. Wrapping is the cheapest
    // correct choice (one add, where `saturating_add` adds a compare and a
    // select), and a statistic that wrapped would still be a statistic.
    // CAST: `usize` is at most 64 bits wide on Linux.
    counter.store(counter.load(Relaxed).wrapping_add(n as u64), Relaxed);
}
