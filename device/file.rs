// SPDX-License-Identifier: GPL-2.0

//! `/dev/rust_sample`: the file operations over the shared FIFO.
//!
//! One [`SampleDevice`] per loaded module holds the FIFO under a mutex and
//! two wait queues; each open file holds a [`SampleFile`] with a reference
//! to it. The rules of the FIFO live in [`super::fifo`]; this file adds the
//! locking, the waiting and the copies to and from userspace.

use kernel::{
    fs::{
        file::flags,
        File, //
    },
    iov::{
        IovIterDest,
        IovIterSource, //
    },
    new_mutex, new_poll_condvar,
    page::PAGE_SIZE,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        poll::{
            PollCondVar,
            PollTable, //
        },
        Arc,
        Mutex, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

use super::{
    fifo::{
        capacity_from_user,
        Fifo,
        ReadStep,
        WriteStep, //
    },
    ring::ResizeError,
    uapi, //
};
use crate::abstractions::{
    capability,
    io::IoContext,
    miscdev::MiscFile,
    poll::PollMask, //
};

/// The storage behind the FIFO: vmalloc-backed for large capacities.
type Storage = KVVec<u8>;

/// Allocates zeroed storage of `capacity` bytes.
fn new_storage(capacity: usize) -> Result<Storage> {
    Ok(KVVec::from_elem(0u8, capacity, GFP_KERNEL)?)
}

/// The device: one FIFO shared by every opener.
#[pin_data]
pub(crate) struct SampleDevice {
    #[pin]
    fifo: Mutex<Fifo<Storage>>,
    /// Readers wait here for data or end of file; `poll` registers here too.
    #[pin]
    readable: PollCondVar,
    /// Writers wait here for space; `poll` registers here too.
    #[pin]
    writable: PollCondVar,
}

impl SampleDevice {
    /// A device with an empty FIFO of `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Result<Arc<Self>> {
        let storage = new_storage(capacity)?;
        Arc::pin_init(
            pin_init!(Self {
                fifo <- new_mutex!(Fifo::new(storage, PAGE_SIZE)),
                readable <- new_poll_condvar!("rust_sample::readable"),
                writable <- new_poll_condvar!("rust_sample::writable"),
            }),
            GFP_KERNEL,
        )
    }

    /// A snapshot of the statistics, as the ioctl returns them.
    pub(crate) fn stats(&self) -> uapi::Stats {
        let fifo = self.fifo.lock();
        let counters = fifo.counters();
        uapi::Stats {
            bytes_read: counters.bytes_read,
            bytes_written: counters.bytes_written,
            reads: counters.reads,
            writes: counters.writes,
            // CAST: `usize` is 64 bits on every architecture this builds for.
            len: fifo.len() as u64,
            capacity: fifo.capacity() as u64,
            readers: fifo.readers(),
            writers: fifo.writers(),
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
                Ok(old) => old,
                Err((ResizeError::TooSmall, _new)) => return Err(EBUSY),
            }
        };
        // Free the old storage outside the lock.
        drop(old);
        self.writable.notify_all();
        Ok(())
    }

    /// Drops every byte in the FIFO.
    fn clear(&self) {
        self.fifo.lock().clear();
        self.writable.notify_all();
    }
}

/// Writes the statistics in the format debugfs and fdinfo share.
pub(crate) fn write_stats(f: &mut impl core::fmt::Write, s: &uapi::Stats) -> core::fmt::Result {
    writeln!(f, "bytes_read:\t{}", s.bytes_read)?;
    writeln!(f, "bytes_written:\t{}", s.bytes_written)?;
    writeln!(f, "reads:\t{}", s.reads)?;
    writeln!(f, "writes:\t{}", s.writes)?;
    writeln!(f, "len:\t{}", s.len)?;
    writeln!(f, "capacity:\t{}", s.capacity)?;
    writeln!(f, "readers:\t{}", s.readers)?;
    writeln!(f, "writers:\t{}", s.writers)
}

/// Which ways a file was opened: fixed at open, since `fcntl` cannot change
/// the access mode.
#[derive(Clone, Copy)]
struct Access {
    read: bool,
    write: bool,
}

impl Access {
    fn of(file: &File) -> Self {
        let mode = file.flags() & flags::O_ACCMODE;
        Self {
            read: mode == flags::O_RDONLY || mode == flags::O_RDWR,
            write: mode == flags::O_WRONLY || mode == flags::O_RDWR,
        }
    }
}

/// One open file of the device.
pub(crate) struct SampleFile {
    device: Arc<SampleDevice>,
    access: Access,
}

impl Drop for SampleFile {
    fn drop(&mut self) {
        self.device
            .fifo
            .lock()
            .close(self.access.read, self.access.write);
        // The last writer gone is end of file for blocked readers and a
        // hang-up for pollers.
        self.device.readable.notify_all();
    }
}

#[vtable]
impl MiscFile for SampleFile {
    type Shared = Arc<SampleDevice>;
    type Ptr = KBox<Self>;

    const STREAM: bool = true;

    fn open(device: &Arc<SampleDevice>, file: &File) -> Result<KBox<Self>> {
        let access = Access::of(file);
        let this = KBox::new(
            SampleFile {
                device: device.clone(),
                access,
            },
            GFP_KERNEL,
        )?;
        // Count the opener only once nothing can fail: `SampleFile::drop`
        // undoes exactly this. A new writer makes nothing readier, so there
        // is nobody to wake.
        device.fifo.lock().open(access.read, access.write);
        Ok(this)
    }

    fn read(this: &SampleFile, io: &IoContext<'_>, dest: &mut IovIterDest<'_>) -> Result<usize> {
        let device = &this.device;
        let count = dest.len();
        let mut fifo = device.fifo.lock();
        let n = loop {
            match fifo.read_step(count) {
                ReadStep::Take(n) => break n,
                ReadStep::Eof => return Ok(0),
                ReadStep::Wait if io.is_nonblocking() => return Err(EAGAIN),
                ReadStep::Wait => {
                    // A signal ends the wait with nothing consumed. The
                    // signal code turns ERESTARTSYS into a restart or EINTR,
                    // as the handler's SA_RESTART decides.
                    if device.readable.wait_interruptible(&mut fifo) {
                        return Err(ERESTARTSYS);
                    }
                }
            }
        };
        if n == 0 {
            return Ok(0);
        }
        let taken = fifo.take(n, |run| dest.copy_to_iter(run));
        drop(fifo);
        if taken == 0 {
            return Err(EFAULT);
        }
        device.writable.notify_all();
        Ok(taken)
    }

    fn write(this: &SampleFile, io: &IoContext<'_>, src: &mut IovIterSource<'_>) -> Result<usize> {
        let device = &this.device;
        let count = src.len();
        let mut fifo = device.fifo.lock();
        let n = loop {
            match fifo.write_step(count) {
                WriteStep::Put(n) => break n,
                WriteStep::Wait if io.is_nonblocking() => return Err(EAGAIN),
                WriteStep::Wait => {
                    // As in `read`: nothing stored, restart or EINTR.
                    if device.writable.wait_interruptible(&mut fifo) {
                        return Err(ERESTARTSYS);
                    }
                }
            }
        };
        if n == 0 {
            return Ok(0);
        }
        let stored = fifo.put(n, |run| src.copy_from_iter(run));
        drop(fifo);
        if stored == 0 {
            return Err(EFAULT);
        }
        device.readable.notify_all();
        Ok(stored)
    }

    fn poll(this: &SampleFile, file: &File, table: &PollTable<'_>) -> PollMask {
        let device = &this.device;
        table.register_wait(file, &device.readable);
        table.register_wait(file, &device.writable);
        let fifo = device.fifo.lock();
        let mut mask = PollMask::NONE;
        if fifo.is_readable() {
            mask = mask | PollMask::READABLE;
        }
        if fifo.is_writable() {
            mask = mask | PollMask::WRITABLE;
        }
        if fifo.is_hung_up() && this.access.read {
            mask = mask | PollMask::HANGUP;
        }
        mask
    }

    fn ioctl(this: &SampleFile, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let device = &this.device;
        let arg = UserPtr::from_addr(arg);
        match cmd {
            uapi::IOC_GET_STATS => {
                let stats = device.stats();
                UserSlice::new(arg, core::mem::size_of::<uapi::Stats>())
                    .writer()
                    .write(&stats)?;
            }
            uapi::IOC_GET_CAPACITY => {
                // CAST: `usize` is 64 bits on every architecture this builds for.
                let capacity = device.fifo.lock().capacity() as u64;
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

    fn show_fdinfo(this: &SampleFile, m: &SeqFile, _file: &File) {
        let stats = this.device.stats();
        let mut text = FdinfoWriter(m);
        // A `SeqFile` never fails a write; it marks overflow itself.
        let _ = write_stats(&mut text, &stats);
    }
}

/// Adapts a `SeqFile` to `core::fmt::Write`.
struct FdinfoWriter<'a>(&'a SeqFile);

impl core::fmt::Write for FdinfoWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        seq_print!(self.0, "{}", s);
        Ok(())
    }
}
