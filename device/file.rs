// SPDX-License-Identifier: GPL-2.0

//! `/dev/rust_sample`: the file operations over the shared FIFO.
//!
//! One [`SampleDevice`] per device node holds the FIFO under a mutex, the
//! opener counts, two wait queues and the SIGIO lists; each open file's
//! private data is a reference to it (`Arc<SampleDevice>`), one load away,
//! as `file->private_data` is in C. The rules of the FIFO live in [`super::fifo`];
//! this file adds the locking, the waiting and the copies to and from
//! userspace.
//!
//! Reads and writes hold the FIFO mutex across their copies, and a user can
//! stall a copy for as long as it likes (a userfaultfd or FUSE page). So
//! nothing that serves another user waits for that mutex:
//!
//! - `open` runs under the global `misc_mtx` and `release` may run in a
//!   shared kworker: the opener counts are atomics, and a reader re-checks
//!   them after queueing itself for a wake-up
//!   (`PollWaitQueue::wait_interruptible_unless`), so the last writer's
//!   `release` can wake it without the lock;
//! - `poll`, fdinfo, debugfs and the `GET_*` ioctls read [`Gauges`], which
//!   the lock's holder keeps up to date;
//! - a read or write that must not sleep (`IOCB_NOWAIT`: `RWF_NOWAIT`,
//!   io_uring's inline attempt) only tries the lock, and returns `EAGAIN`
//!   if another call holds it.
//!
//! A plain read or write, `O_NONBLOCK` included, waits for the lock, as a
//! pipe's does (`Documentation/design.rst` says why).

use kernel::{
    fs::File,
    iov::IovIterSource,
    new_mutex,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        Arc,
        ArcBorrow,
        Mutex,
        MutexGuard, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use super::{
    fifo::{
        capacity_from_user,
        is_readable,
        is_writable,
        Fifo,
        ReadStep,
        WriteStep,
        PIPE_BUF, //
    },
    gauges::Gauges,
    openers::{
        Access,
        Openers, //
    },
    ring::ResizeError,
    uapi, //
};
use crate::abstractions::{
    capability,
    fasync::Fasync,
    iov::ReadDest,
    kiocb::Kiocb,
    miscdev::MiscDevice,
    poll::{
        PollMask,
        PollTable, //
    },
    trace,
    wait::{
        new_poll_wait_queue,
        PollWaitQueue, //
    },
};

/// The storage behind the FIFO: vmalloc-backed for large capacities.
type Storage = KVVec<u8>;

/// Allocates zeroed storage of `capacity` bytes.
fn new_storage(capacity: usize) -> Result<Storage> {
    Ok(KVVec::from_elem(0u8, capacity, GFP_KERNEL)?)
}

/// One device: a FIFO shared by every opener.
#[pin_data]
pub(crate) struct SampleDevice {
    /// Which device of the load this is (0: `rust_sample`, N:
    /// `rust_sampleN`), as the trace events name it.
    index: u32,
    #[pin]
    fifo: Mutex<Fifo<Storage>>,
    /// The FIFO's length, capacity and counters, for readers that must not
    /// wait for `fifo`'s lock.
    gauges: Gauges,
    openers: Openers,
    /// Readers wait here for data or end of file; `poll` registers here too.
    #[pin]
    readable: PollWaitQueue,
    /// Writers wait here for space; `poll` registers here too.
    #[pin]
    writable: PollWaitQueue,
    /// The files that asked for SIGIO (`O_ASYNC`); the misc device layer
    /// adds and removes them, and finds them here (`HasFasync`, implemented
    /// in `rust_sample.rs` because its expansion is an `unsafe impl`).
    #[pin]
    pub(crate) fasync: Fasync,
}

impl SampleDevice {
    /// Device `index` of the load, with an empty FIFO of `capacity` bytes.
    pub(crate) fn new(index: u32, capacity: usize) -> Result<Arc<Self>> {
        let storage = new_storage(capacity)?;
        Arc::pin_init(
            pin_init!(Self {
                index,
                fifo <- new_mutex!(Fifo::new(storage, PIPE_BUF)),
                gauges: Gauges::new(capacity),
                openers: Openers::new(),
                readable <- new_poll_wait_queue!("rust_sample::readable"),
                writable <- new_poll_wait_queue!("rust_sample::writable"),
                fasync <- Fasync::new(),
            }),
            GFP_KERNEL,
        )
    }

    /// Data arrived, or end of file: wake readers and pollers, signal
    /// `O_ASYNC` readers.
    fn readable_now(&self) {
        self.readable.notify_all();
        self.fasync.readable();
    }

    /// Space freed: wake writers and pollers, signal `O_ASYNC` writers.
    fn writable_now(&self) {
        self.writable.notify_all();
        self.fasync.writable();
    }

    /// The statistics, as the ioctl returns them. Takes no lock: each field
    /// is a value it had during the call, not all from one instant (see
    /// [`Gauges`]).
    pub(crate) fn stats(&self) -> uapi::Stats {
        let counters = self.gauges.counters();
        uapi::Stats {
            bytes_read: counters.bytes_read,
            bytes_written: counters.bytes_written,
            reads: counters.reads,
            writes: counters.writes,
            // CAST: `usize` is 64 bits on every architecture this builds for.
            len: self.gauges.len() as u64,
            capacity: self.gauges.capacity() as u64,
            readers: self.openers.readers(),
            writers: self.openers.writers(),
        }
    }

    /// Replaces the FIFO's storage with a new one of `capacity` bytes,
    /// keeping the contents. On any error nothing changes.
    fn set_capacity(&self, capacity: usize) -> Result {
        // Allocate before taking the lock: a 16 MiB allocation may sleep for
        // a while, and readers and writers need not wait for it.
        let storage = new_storage(capacity)?;
        let old = {
            let mut fifo = self.fifo.lock();
            match fifo.resize(storage) {
                Ok(old) => {
                    self.gauges.reset(&fifo);
                    old
                }
                Err((ResizeError::TooSmall, _new)) => return Err(EBUSY),
            }
        };
        // Free the old storage outside the lock.
        drop(old);
        self.writable_now();
        Ok(())
    }

    /// Drops every byte in the FIFO.
    #[inline]
    fn clear(&self) {
        let mut fifo = self.fifo.lock();
        fifo.clear();
        self.gauges.reset(&fifo);
        drop(fifo);
        self.writable_now();
    }

    /// The FIFO's lock: only tried when the call must not sleep
    /// (`IOCB_NOWAIT`), which then fails with `EAGAIN` if another call
    /// holds it, as filesystems do for `IOCB_NOWAIT` with `inode_trylock()`.
    #[inline]
    fn lock_fifo(&self, kiocb: &Kiocb<'_>) -> Result<MutexGuard<'_, Fifo<Storage>>> {
        if kiocb.is_nowait() {
            self.fifo.try_lock().ok_or(EAGAIN)
        } else {
            Ok(self.fifo.lock())
        }
    }
}

/// The statistics as text, in the format debugfs and fdinfo share: one
/// `name:\tvalue` line per field, as C's `seq_printf()` would print them.
/// One `Display` (the kernel's, which `seq_print!` takes) for both, behind
/// one format string, so the module holds one copy of the formatting code
/// and no `core::fmt::Write` adapter.
pub(crate) struct StatsText(pub(crate) uapi::Stats);

impl kernel::fmt::Display for StatsText {
    // Out of line: fdinfo and debugfs call it through adapters of their
    // own, which would otherwise each get a copy.
    #[inline(never)]
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        let s = &self.0;
        write!(
            f,
            "bytes_read:\t{}\nbytes_written:\t{}\nreads:\t{}\nwrites:\t{}\n\
             len:\t{}\ncapacity:\t{}\nreaders:\t{}\nwriters:\t{}\n",
            s.bytes_read,
            s.bytes_written,
            s.reads,
            s.writes,
            s.len,
            s.capacity,
            s.readers,
            s.writers
        )
    }
}

/// The file operations: each open file's private data is the device
/// itself. A file's access mode (`f_mode`, fixed at open) decides the
/// opener counts and which events `poll` reports, as for a pipe; like C,
/// the callbacks that need it read it from the file.
#[vtable]
impl MiscDevice for SampleDevice {
    type Shared = Arc<SampleDevice>;
    type Ptr = Arc<SampleDevice>;
    // Every wait below is behind `kiocb.is_nonblocking()`.
    const HONOURS_NOWAIT: bool = true;

    /// Counts the opener; nothing to allocate. No FIFO lock: `open` runs
    /// under `misc_mtx`.
    #[inline]
    fn open(device: &Arc<SampleDevice>, file: &File) -> Result<Arc<SampleDevice>> {
        device.openers.open(Access::of(file));
        Ok(device.clone())
    }

    /// No FIFO lock here: see the module docs. Only the last writer's close
    /// changes anything a sleeper or poller waits for (end of file,
    /// hang-up), as in `pipe_release()`.
    #[inline]
    fn release(device: Arc<SampleDevice>, access: Access) {
        if device.openers.close(access) {
            device.readable_now();
        }
    }

    #[inline]
    fn read_iter(
        device: ArcBorrow<'_, SampleDevice>,
        kiocb: &Kiocb<'_>,
        dest: &mut ReadDest<'_, '_>,
    ) -> Result<usize> {
        let openers = &device.openers;
        let count = dest.len();
        // A zero-length read returns 0 without the lock, as a pipe's does.
        if count == 0 {
            return Ok(0);
        }
        let mut fifo = device.lock_fifo(kiocb)?;
        let n = loop {
            match fifo.read_step(count, openers.has_writer()) {
                ReadStep::Take(n) => break n,
                ReadStep::Eof => return Ok(0),
                ReadStep::Wait if kiocb.is_nonblocking() => return Err(EAGAIN),
                ReadStep::Wait => {
                    trace::wait(device.index, false, count, fifo.len());
                    // The last writer's `release` wakes us without the FIFO
                    // lock, so the writer count is checked again once we are
                    // queued. A signal ends the wait with nothing consumed;
                    // the signal code turns ERESTARTSYS into a restart or
                    // EINTR, as the handler's SA_RESTART decides.
                    let (guard, signalled) = device.readable.wait_interruptible_unless(fifo, |f| {
                        !f.is_empty() || !openers.has_writer()
                    });
                    fifo = guard;
                    if signalled {
                        return Err(ERESTARTSYS);
                    }
                }
            }
        };
        if n == 0 {
            return Ok(0);
        }
        let taken = fifo.take(n, |run| dest.copy_to_iter(run));
        device.gauges.took(&fifo, taken);
        trace::read(device.index, taken, fifo.len());
        drop(fifo);
        if taken == 0 {
            return Err(EFAULT);
        }
        device.writable_now();
        Ok(taken)
    }

    #[inline]
    fn write_iter(
        device: ArcBorrow<'_, SampleDevice>,
        kiocb: &Kiocb<'_>,
        src: &mut IovIterSource<'_>,
    ) -> Result<usize> {
        let count = src.len();
        // As in `read_iter`.
        if count == 0 {
            return Ok(0);
        }
        let mut fifo = device.lock_fifo(kiocb)?;
        let n = loop {
            match fifo.write_step(count) {
                WriteStep::Put(n) => break n,
                WriteStep::Wait if kiocb.is_nonblocking() => return Err(EAGAIN),
                WriteStep::Wait => {
                    trace::wait(device.index, true, count, fifo.len());
                    // Space only changes under the FIFO lock, which we hold
                    // until queued, so there is nothing to re-check. As in
                    // `read_iter`: nothing stored, restart or EINTR.
                    let (guard, signalled) =
                        device.writable.wait_interruptible_unless(fifo, |_| false);
                    fifo = guard;
                    if signalled {
                        return Err(ERESTARTSYS);
                    }
                }
            }
        };
        if n == 0 {
            return Ok(0);
        }
        let stored = fifo.put(n, |run| src.copy_from_iter(run));
        device.gauges.put(&fifo, stored);
        trace::write(device.index, stored, fifo.len());
        drop(fifo);
        if stored == 0 {
            return Err(EFAULT);
        }
        device.readable_now();
        Ok(stored)
    }

    /// As `pipe_poll()`: no lock, queue first, then read the state once, and
    /// report by the file's access mode. A change after the reads wakes the
    /// queues this call registered with, so the poller looks again.
    #[inline]
    fn poll<'a>(
        device: ArcBorrow<'a, SampleDevice>,
        file: &File,
        table: &PollTable<'a>,
    ) -> PollMask {
        let access = Access::of(file);
        if access.read {
            table.register_in(device, |d| &d.readable);
        }
        if access.write {
            table.register_in(device, |d| &d.writable);
        }
        let has_writer = device.openers.has_writer();
        let len = device.gauges.len();
        let mut mask = PollMask::NONE;
        if access.read {
            if is_readable(len, has_writer) {
                mask = mask | PollMask::READABLE;
            }
            if !has_writer {
                mask = mask | PollMask::HANGUP;
            }
        }
        if access.write && is_writable(len, device.gauges.capacity(), PIPE_BUF) {
            mask = mask | PollMask::WRITABLE;
        }
        mask
    }

    #[inline]
    fn ioctl(
        device: ArcBorrow<'_, SampleDevice>,
        _file: &File,
        cmd: u32,
        arg: usize,
    ) -> Result<isize> {
        let arg = UserPtr::from_addr(arg);
        match cmd {
            uapi::IOC_GET_STATS => {
                // As an array, so that the copy is `UserSliceWriter::write`,
                // generic and so compiled here with its length known: a
                // direct `_copy_to_user()`, as C's `copy_to_user()`.
                // `write_slice` is out of line in vmlinux. `transmute!`
                // checks at compile time that the sizes match; its own
                // `unsafe` is zerocopy's, proven by `Stats: IntoBytes`, as
                // `pin_init!`'s is pin-init's.
                let stats: [u8; core::mem::size_of::<uapi::Stats>()] =
                    zerocopy::transmute!(device.stats());
                UserSlice::new(arg, stats.len()).writer().write(&stats)?;
            }
            uapi::IOC_GET_CAPACITY => {
                // No lock, see `Gauges`.
                // CAST: `usize` is 64 bits on every architecture this builds for.
                let capacity = device.gauges.capacity() as u64;
                UserSlice::new(arg, core::mem::size_of::<u64>())
                    .writer()
                    .write(&capacity)?;
            }
            uapi::IOC_SET_CAPACITY => {
                if !capability::has_sys_admin() {
                    return Err(EPERM);
                }
                let requested = UserSlice::new(arg, core::mem::size_of::<u64>())
                    .reader()
                    .read::<u64>()?;
                let capacity = capacity_from_user(requested).ok_or(EINVAL)?;
                device.set_capacity(capacity)?;
            }
            uapi::IOC_CLEAR => {
                if !capability::has_sys_admin() {
                    return Err(EPERM);
                }
                device.clear();
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }

    #[inline]
    fn show_fdinfo(device: ArcBorrow<'_, SampleDevice>, m: &SeqFile, _file: &File) {
        // One `seq_printf("%pA")`: the seq_file marks an overflow itself.
        seq_print!(m, "{}", StatsText(device.stats()));
    }
}
