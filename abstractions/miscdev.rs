// SPDX-License-Identifier: GPL-2.0

//! Misc devices with per-device data, poll and stream semantics.
//!
//! C header: [`include/linux/miscdevice.h`](srctree/include/linux/miscdevice.h).
//!
//! Why this exists next to `kernel::miscdevice` (Linux 7.3): a FIFO device
//! needs four things that module does not offer.
//!
//! - A `poll` slot. `MiscDevice` has no callback that could register a wait
//!   queue.
//! - A stream open. Without `stream_open()`, `pread`/`pwrite` reach
//!   `read_iter`/`write_iter` with an arbitrary position.
//! - The file's `O_NONBLOCK` state and the call's `IOCB_NOWAIT` at read and
//!   write time ([`Kiocb::is_nonblocking`]), and `FMODE_NOWAIT` for a
//!   device that honours them ([`MiscDevice::HONOURS_NOWAIT`]).
//! - Data that belongs to the device, not to one open file, reachable from
//!   `open`.
//!
//! It adds `splice_read` and `splice_write` (the generic helpers over
//! `read_iter` and `write_iter`), so `splice(2)` and `sendfile(2)` work.
//!
//! It also differs where upstream's API is unsound or too permissive:
//! `release` gets no `&File` (the file is already dead, see
//! [`MiscDevice::release`]), and the read, write and ioctl results are
//! clamped to what the C caller can take.
//!
//! The names and shape follow `kernel::miscdevice` (a `#[vtable]` trait
//! `MiscDevice`, `MiscDeviceRegistration`, `MiscDeviceOptions`, a private
//! generic vtable struct, `ForeignOwnable` private data) so that upstreaming
//! it is a matter of adding slots there.

use core::marker::PhantomData;
use kernel::{
    bindings,
    error::{
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    fs::File,
    iov::{
        IovIterDest,
        IovIterSource, //
    },
    prelude::*,
    seq_file::SeqFile,
    sync::Arc,
    types::{
        ForeignOwnable,
        Opaque, //
    },
};

use super::{
    access::Access,
    fasync::HasFasync,
    iov::ReadDest,
    kiocb::Kiocb,
    poll::{
        PollMask,
        PollTable, //
    },
};

/// `FMODE_NOWAIT` (`include/linux/fs.h`, the same in 7.2 and 7.3). bindgen
/// skips it because of the `__force` cast in its definition; upstream would
/// add a `RUST_CONST_HELPER_FMODE_NOWAIT` to `rust/bindings/bindings_helper.h`.
/// If it were wrong, `preadv2(RWF_NOWAIT)` would fail with `EOPNOTSUPP` and
/// `rs-devtest`'s `rwf-nowait-*` tests with it.
const FMODE_NOWAIT: bindings::fmode_t = 1 << 27;

/// Options for registering a misc device.
#[derive(Copy, Clone)]
pub(crate) struct MiscDeviceOptions {
    /// The name of the device node under `/dev`.
    pub(crate) name: &'static CStr,
    /// The permission bits of the device node, for example `0o666`.
    pub(crate) mode: u16,
}

/// The file operations of a misc device, and the data its files share.
///
/// Every file is opened as a stream (`stream_open()`): `lseek`, `pread` and
/// `pwrite` fail with `ESPIPE` before reaching the driver, and the VFS never
/// uses the file position.
#[vtable]
pub(crate) trait MiscDevice: Sized {
    /// Data that belongs to the device and that every `open` can reach.
    type Shared: Send + Sync;

    /// The pointer type that holds one open file's state. For a device
    /// registered with SIGIO ([`MiscDeviceRegistration::register_with_sigio`])
    /// it is an `Arc<Self>` that holds the SIGIO lists, so it is shared
    /// device state: per-file state would need a fresh `Self` per open,
    /// with lists of its own.
    type Ptr: ForeignOwnable + Send + Sync;

    /// Whether `read_iter` and `write_iter` return `EAGAIN` instead of
    /// sleeping whenever [`Kiocb::is_nonblocking`] says so. Then every file
    /// is opened with `FMODE_NOWAIT`, and `preadv2`/`pwritev2` with
    /// `RWF_NOWAIT` and io_uring may ask for a call that does not sleep on a
    /// file opened for blocking I/O; without it they get `EOPNOTSUPP`
    /// (io_uring falls back to a worker thread).
    const HONOURS_NOWAIT: bool = false;

    /// Called when the device is opened. The returned pointer becomes the
    /// file's private data.
    ///
    /// `misc_open()` calls this with the global `misc_mtx` held, which every
    /// misc device's open and every `misc_register()` on the system take.
    /// So `open` must never block on anything a user can hold, such as a
    /// lock that a read or write keeps across a copy from or to user memory
    /// (userfaultfd and FUSE can stall such a copy for ever).
    fn open(shared: &Self::Shared, file: &File) -> Result<Self::Ptr>;

    /// Called from `__fput()` when the last reference to the file is gone,
    /// with the file's access mode (`f_mode`), which `open` saw too.
    ///
    /// There is no `&File` parameter, unlike upstream's `MiscDevice`: the
    /// file's reference count is already zero here and the file is freed
    /// right after, so a `&File` would let safe code call `get_file()` on a
    /// dead file (`ARef::from`). Anything else the driver needs from the
    /// file belongs in `Self::Ptr`, taken at `open`. `__fput()` may run in a
    /// shared kworker (`delayed_fput`), so this must not block on anything
    /// a user can hold either.
    fn release(this: Self::Ptr, _access: Access) {
        drop(this);
    }

    /// `read(2)` and friends, `splice(2)` and `sendfile(2)` from the device.
    /// Returns how many bytes were copied to `dest`. The layer caps the
    /// result at what `dest` actually took (`dest` can only be filled by
    /// copying), so a wrong count can never hand out bytes that were not
    /// written (`abstractions/iov.rs`).
    fn read_iter(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _kiocb: &Kiocb<'_>,
        _dest: &mut ReadDest<'_, '_>,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `write(2)` and friends, `splice(2)` and `sendfile(2)` into the
    /// device. Returns how many bytes were taken from `src`; the layer caps
    /// the result at `src`'s length on entry. Unlike a read's, a write's
    /// count may differ from what `src` gave up (an atomic write that faults
    /// half-way stores nothing and fails): a wrong count only makes the
    /// caller skip or resend its own bytes, and exposes no kernel memory
    /// (`iter_file_splice_write()` releases at most that many bytes of its
    /// pipe's buffers).
    fn write_iter(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _kiocb: &Kiocb<'_>,
        _src: &mut IovIterSource<'_>,
    ) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `poll(2)`, `select(2)` and `epoll(7)`: registers the file's wait queues
    /// with `table` and returns the current readiness.
    ///
    /// `table` takes only queues that `this`, borrowed for `'a`, holds
    /// (`table.register_in(this, |t| &t.queue)`), or `'static` ones, which
    /// therefore live until the file's `release`, as every poller needs
    /// (see [`PollTable`]).
    ///
    /// The VFS calls this concurrently with every other call on the file,
    /// with none of the driver's locks held, but epoll calls it under its
    /// `ep->mtx` and io_uring under `uring_lock`. So it must not wait for
    /// anything a user can hold: every thread of an epoll instance would
    /// wait with it.
    fn poll<'a>(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'a>,
        _file: &File,
        _table: &PollTable<'a>,
    ) -> PollMask {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `ioctl(2)`. `arg` is usually a user pointer, see `kernel::uaccess`.
    /// A successful call returns a non-negative value; the layer turns a
    /// negative `Ok` into `EINVAL` rather than pass it off as an errno.
    fn ioctl(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `ioctl(2)` from a 32-bit process. Without it, a device with `ioctl`
    /// gets `compat_ptr_ioctl()`, which converts `arg` as a pointer and
    /// calls [`MiscDevice::ioctl`], as upstream's `MiscDevice` does.
    #[cfg(CONFIG_COMPAT)]
    fn compat_ioctl(
        _this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>,
        _file: &File,
        _cmd: u32,
        _arg: usize,
    ) -> Result<isize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Extra lines for `/proc/<pid>/fdinfo/<fd>`.
    fn show_fdinfo(_this: <Self::Ptr as ForeignOwnable>::Borrowed<'_>, _m: &SeqFile, _file: &File) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A registered misc device and the data its files share.
///
/// # Invariants
///
/// - `inner` holds a `struct miscdevice` registered with `misc_register()`,
///   from the end of initialisation until [`PinnedDrop::drop`] deregisters
///   it, exactly once.
/// - `inner` is the first field of this `#[repr(C)]` struct, so a pointer to
///   the `struct miscdevice` is also a pointer to the whole registration.
/// - `shared` is initialised before the device is registered.
#[repr(C)]
#[pin_data(PinnedDrop)]
pub(crate) struct MiscDeviceRegistration<T: MiscDevice> {
    #[pin]
    inner: Opaque<bindings::miscdevice>,
    shared: T::Shared,
}

// SAFETY: `misc_deregister` may run on any thread, and `T::Shared` is `Send`.
unsafe impl<T: MiscDevice> Send for MiscDeviceRegistration<T> {}

// SAFETY: `&self` only gives out `&T::Shared`, which is `Sync`; the C side is
// synchronised by `misc_mtx`.
unsafe impl<T: MiscDevice> Sync for MiscDeviceRegistration<T> {}

impl<T: MiscDevice> MiscDeviceRegistration<T> {
    /// Registers a misc device whose files share `shared`, with `fops`
    /// (this layer's table for `T`). A device without SIGIO would get
    /// `MiscVTable::<T>::VTABLE`; this driver's has SIGIO, so only
    /// [`Self::register_with_sigio`] calls this.
    fn register_with(
        opts: MiscDeviceOptions,
        shared: T::Shared,
        fops: &'static bindings::file_operations,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // Fields are initialised in this order: `shared` exists before
            // the device node does, so no `open` can see it uninitialised.
            shared,
            inner <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut raw: bindings::miscdevice = pin_init::zeroed();
                raw.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                raw.name = opts.name.as_char_ptr();
                raw.fops = fops;
                raw.mode = opts.mode;
                // SAFETY: The initialiser may write to `slot`.
                unsafe { slot.write(raw) };
                // SAFETY: `slot` holds a valid `miscdevice` whose name and
                // fops are `'static`. It stays pinned until `drop`, which
                // deregisters it before the memory goes away.
                // INVARIANT: On success the device is registered.
                to_result(unsafe { bindings::misc_register(slot) })
            }),
        })
    }
}

impl<T> MiscDeviceRegistration<T>
where
    T: MiscDevice<Ptr = Arc<T>> + HasFasync + 'static,
{
    /// Registers a misc device whose files may ask for SIGIO (`O_ASYNC`).
    ///
    /// Each file's private data is an `Arc<T>`, and the SIGIO lists are a
    /// field of `T` ([`HasFasync`]): every `->fasync` call on a file, and
    /// its `release`, find the same lists through the one pointer every
    /// other callback loads, with no allocation of the layer's own. The
    /// layer adds the file to them and takes it out itself
    /// (`fcntl(F_SETFL)`, `FIOASYNC`, the last `close`); the driver only
    /// calls [`Fasync::readable`](super::fasync::Fasync::readable) and
    /// [`Fasync::writable`](super::fasync::Fasync::writable). A file joins
    /// the lists of its `f_mode`: `FMODE_READ` the readers',
    /// `FMODE_WRITE` the writers'.
    pub(crate) fn register_with_sigio(
        opts: MiscDeviceOptions,
        shared: T::Shared,
    ) -> impl PinInit<Self, Error> {
        Self::register_with(opts, shared, MiscVTable::<T>::build_sigio())
    }
}

#[pinned_drop]
impl<T: MiscDevice> PinnedDrop for MiscDeviceRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariants the device is registered and this is
        // the one place that deregisters it. After this no `open` can start;
        // open files hold a module reference and their own `T::Ptr`, never a
        // pointer into `self`.
        unsafe { bindings::misc_deregister(self.inner.get()) };
    }
}

/// The `file_operations` table for `T`, and the C callbacks in it.
struct MiscVTable<T: MiscDevice>(PhantomData<T>);

impl<T: MiscDevice> MiscVTable<T> {
    const VTABLE: bindings::file_operations = bindings::file_operations {
        open: Some(Self::open),
        release: Some(Self::release),
        read_iter: if T::HAS_READ_ITER {
            Some(Self::read_iter)
        } else {
            None
        },
        write_iter: if T::HAS_WRITE_ITER {
            Some(Self::write_iter)
        } else {
            None
        },
        // splice(2) and sendfile(2) through the kernel's generic helpers,
        // which move the data with `read_iter` and `write_iter` over the
        // pipe's pages. `copy_splice_read` is one `read_iter` into fresh,
        // unzeroed pages, and it trusts the count: `Self::read_iter` caps it
        // at what the driver copied (`abstractions/iov.rs`).
        // `iter_file_splice_write` is one `write_iter` per batch of the
        // pipe's buffers (all it holds, up to the length asked); a count
        // there only decides how much of the pipe it releases.
        splice_read: if T::HAS_READ_ITER {
            Some(bindings::copy_splice_read)
        } else {
            None
        },
        splice_write: if T::HAS_WRITE_ITER {
            Some(bindings::iter_file_splice_write)
        } else {
            None
        },
        poll: if T::HAS_POLL { Some(Self::poll) } else { None },
        unlocked_ioctl: if T::HAS_IOCTL {
            Some(Self::ioctl)
        } else {
            None
        },
        #[cfg(CONFIG_COMPAT)]
        compat_ioctl: if T::HAS_COMPAT_IOCTL {
            Some(Self::compat_ioctl)
        } else if T::HAS_IOCTL {
            bindings::compat_ptr_ioctl
        } else {
            None
        },
        // Only with [`MiscDeviceRegistration::register_with_sigio`].
        fasync: None,
        show_fdinfo: if T::HAS_SHOW_FDINFO {
            Some(Self::show_fdinfo)
        } else {
            None
        },
        // Open files pin the module: rmmod fails while the device is open.
        // The owner is this module's own `struct module`, not
        // `T::OwnerModule`: the registration and this table always live in
        // this module whatever `T` is, and Linux 7.2 has no `OwnerModule`
        // (`abstractions/module.rs`).
        owner: super::module::THIS_MODULE,
        ..pin_init::zeroed()
    };

    /// The table without SIGIO. Only the KUnit suite below registers a
    /// file with it: this driver's device has SIGIO
    /// ([`MiscDeviceRegistration::register_with_sigio`]).
    #[cfg(rs_kunit)]
    const fn build() -> &'static bindings::file_operations {
        &Self::VTABLE
    }

    /// Borrows the private data of a file opened through [`Self::open`].
    ///
    /// # Safety
    ///
    /// `file` must be a valid file opened by [`Self::open`] and not yet
    /// released, for the whole of `'a`.
    unsafe fn private<'a>(file: *mut bindings::file) -> <T::Ptr as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: The caller guarantees `file` is valid.
        let private = unsafe { (*file).private_data };
        // SAFETY: `open` stored a `T::Ptr` with `into_foreign`; it is
        // reclaimed only in `release`, which cannot run during `'a`.
        unsafe { <T::Ptr as ForeignOwnable>::borrow(private) }
    }

    /// # Safety
    ///
    /// Called by `misc_open()` with a file undergoing initialisation whose
    /// private data points at the `struct miscdevice` of a
    /// `MiscDeviceRegistration<T>`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, raw_file: *mut bindings::file) -> c_int {
        // INVARIANT: Every file of this device is a stream from here on: the
        // `File` arguments below rely on it.
        // SAFETY: Both pointers are valid for a file being opened.
        let ret = unsafe { bindings::stream_open(inode, raw_file) };
        if ret != 0 {
            return ret;
        }
        if T::HONOURS_NOWAIT {
            // SAFETY: The file is being opened: no file descriptor refers to
            // it yet, so nothing else reads or writes `f_mode` now; the
            // opener may set mode flags, as `fifo_open()` sets this one.
            unsafe { (*raw_file).f_mode |= FMODE_NOWAIT };
        }

        // SAFETY: The open call of a file may access its private data.
        let misc = unsafe { (*raw_file).private_data };
        // SAFETY: `misc_open()` set the private data to the registered
        // `struct miscdevice`, which by the type invariants is the first
        // field of a `#[repr(C)]` `MiscDeviceRegistration<T>`. `misc_open()` holds
        // `misc_mtx`, so `misc_deregister()` cannot free it during this call.
        let registration = unsafe { &*misc.cast::<MiscDeviceRegistration<T>>() };

        // SAFETY: The file is valid, with a positive reference count, for the
        // duration of `T::open`. The `fdget_pos` rule of `File` (such calls
        // took `f_pos_lock`) protects `f_pos`; this file is a stream, which
        // never has `FMODE_ATOMIC_POS`, so the VFS never uses its `f_pos`,
        // and `File` has no accessor for it. The same holds in every callback
        // below.
        let file = unsafe { File::from_raw_file(raw_file) };

        let ptr = match T::open(&registration.shared, file) {
            Ok(ptr) => ptr.into_foreign(),
            Err(err) => return err.to_errno(),
        };
        // From here on every callback finds `T::Ptr` in the private data.
        // SAFETY: The open call of a file may access its private data.
        unsafe { (*raw_file).private_data = ptr };
        0
    }

    /// # Safety
    ///
    /// Called by the VFS when the last reference to a file opened by
    /// [`Self::open`] is gone.
    unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: The memory of the file is valid for this call (its reference
        // count is zero, so no `&File` is made), and the release call owns
        // its private data.
        let private = unsafe { (*file).private_data };
        // SAFETY: As above, the file's memory is valid for this call.
        let access = unsafe { Access::of_raw(file) };
        // SAFETY: `open` stored a `T::Ptr` with `into_foreign`; this is the
        // one place that takes it back, and no other callback can run now.
        let this = unsafe { <T::Ptr as ForeignOwnable>::from_foreign(private) };
        T::release(this, access);
        0
    }

    /// # Safety
    ///
    /// Called by the VFS with a valid `kiocb` for a file opened by
    /// [`Self::open`] and a valid destination `iov_iter`.
    unsafe extern "C" fn read_iter(
        kiocb: *mut bindings::kiocb,
        iter: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: `kiocb` is valid for this call.
        let io = unsafe { Kiocb::from_raw(kiocb) };
        // SAFETY: `ki_filp` of a valid kiocb is a file opened by `open`.
        let this = unsafe { Self::private((*kiocb).ki_filp) };
        // SAFETY: `iter` is a valid destination iterator for this call.
        let mut dest = ReadDest::new(unsafe { IovIterDest::from_raw(iter) });
        match T::read_iter(this, &io, &mut dest) {
            // Never more than was copied: `copy_splice_read()` hands this
            // many bytes of unzeroed pages to a pipe.
            // CAST: At most the iterator's length on entry, which the VFS
            // caps at `MAX_RW_COUNT` (`rw_verify_area()`), below `isize::MAX`.
            Ok(n) => n.min(dest.written()) as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the VFS with a valid `kiocb` for a file opened by
    /// [`Self::open`] and a valid source `iov_iter`.
    unsafe extern "C" fn write_iter(
        kiocb: *mut bindings::kiocb,
        iter: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: `kiocb` is valid for this call.
        let io = unsafe { Kiocb::from_raw(kiocb) };
        // SAFETY: `ki_filp` of a valid kiocb is a file opened by `open`.
        let this = unsafe { Self::private((*kiocb).ki_filp) };
        // SAFETY: `iter` is a valid source iterator for this call.
        let src = unsafe { IovIterSource::from_raw(iter) };
        let max = src.len();
        match T::write_iter(this, &io, src) {
            // CAST: As in `read_iter`.
            Ok(n) => n.min(max) as isize,
            Err(err) => err.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the VFS with a valid file opened by [`Self::open`] and a
    /// `poll_table` that is null or valid for this call.
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        table: *mut bindings::poll_table_struct,
    ) -> bindings::__poll_t {
        // SAFETY: `file` was opened by `open` and is valid for this call.
        let this = unsafe { Self::private(file) };
        // SAFETY: `file` is valid, with a positive reference count, for this
        // call; it is a stream (see `open`).
        let f = unsafe { File::from_raw_file(file) };
        // SAFETY: `table` is null or valid for the duration of this call, and
        // `file` is the polled file. The table's lifetime is that of `this`,
        // the borrow of the private data, which only `release` reclaims.
        let table = unsafe { PollTable::from_raw(table, file) };
        T::poll(this, f, &table).bits()
    }

    /// # Safety
    ///
    /// Called by the VFS with a valid file opened by [`Self::open`].
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        // SAFETY: `file` was opened by `open` and is valid for this call.
        let this = unsafe { Self::private(file) };
        // SAFETY: `file` is valid, with a positive reference count, for this
        // call; it is a stream (see `open`).
        let f = unsafe { File::from_raw_file(file) };
        // `c_ulong` is `usize` in the kernel's `ffi` crate.
        Self::ioctl_result(T::ioctl(this, f, cmd, arg))
    }

    /// # Safety
    ///
    /// Called by the VFS with a valid file opened by [`Self::open`], for a
    /// 32-bit caller.
    #[cfg(CONFIG_COMPAT)]
    unsafe extern "C" fn compat_ioctl(
        file: *mut bindings::file,
        cmd: c_uint,
        arg: c_ulong,
    ) -> c_long {
        // SAFETY: `file` was opened by `open` and is valid for this call.
        let this = unsafe { Self::private(file) };
        // SAFETY: As in `ioctl`.
        let f = unsafe { File::from_raw_file(file) };
        Self::ioctl_result(T::compat_ioctl(this, f, cmd, arg))
    }

    /// An ioctl's result as the C caller takes it: `Ok` must not look like
    /// an errno, so a negative one becomes `EINVAL` (see [`MiscDevice::ioctl`]).
    fn ioctl_result(ret: Result<isize>) -> c_long {
        match ret {
            // CAST: `isize` and `c_long` are the same type in the kernel.
            Ok(ret) if ret >= 0 => ret as c_long,
            Ok(_) => EINVAL.to_errno() as c_long,
            Err(err) => err.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// Called by procfs with a valid `seq_file` and a valid file opened by
    /// [`Self::open`].
    unsafe extern "C" fn show_fdinfo(seq: *mut bindings::seq_file, file: *mut bindings::file) {
        // SAFETY: `file` was opened by `open` and is valid for this call.
        let this = unsafe { Self::private(file) };
        // SAFETY: `file` is valid, with a positive reference count, for this
        // call; it is a stream (see `open`).
        let f = unsafe { File::from_raw_file(file) };
        // SAFETY: `seq` is valid for this call and used from this thread only.
        let m = unsafe { SeqFile::from_raw(seq) };
        T::show_fdinfo(this, m, f);
    }
}

impl<T> MiscVTable<T>
where
    T: MiscDevice<Ptr = Arc<T>> + HasFasync + 'static,
{
    /// [`Self::VTABLE`] with `fasync`, and a `release` that takes the file
    /// off the SIGIO lists.
    const VTABLE_SIGIO: bindings::file_operations = bindings::file_operations {
        fasync: Some(Self::fasync),
        release: Some(Self::release_sigio),
        ..Self::VTABLE
    };

    const fn build_sigio() -> &'static bindings::file_operations {
        &Self::VTABLE_SIGIO
    }

    /// # Safety
    ///
    /// Called by the VFS with a file opened by [`Self::open`] on a device
    /// registered with the SIGIO table: from `fcntl(F_SETFL)` or `FIOASYNC`
    /// on an open file, or from `__fput()` before `release`, with
    /// `on == 0` and the memory still valid.
    unsafe extern "C" fn fasync(fd: c_int, file: *mut bindings::file, on: c_int) -> c_int {
        // SAFETY: `open` stored an `Arc<T>` with `into_foreign`, reclaimed
        // only in `release`, which runs after this. No `&File` is made: in
        // `__fput()` the file's reference count is already zero.
        let this = unsafe { <Arc<T> as ForeignOwnable>::borrow((*file).private_data) };
        // SAFETY: This is the file's `fasync` callback. The lists are a
        // field of the `T` the file has pointed at since its open
        // (`HasFasync`), so every call on this file, and `release_sigio`,
        // use the same lists.
        match unsafe { this.fasync_lists().update(fd, file, on != 0) } {
            Ok(()) => 0,
            Err(err) => err.to_errno(),
        }
    }

    /// # Safety
    ///
    /// As [`Self::release`], for a device registered with the SIGIO table.
    unsafe extern "C" fn release_sigio(
        inode: *mut bindings::inode,
        file: *mut bindings::file,
    ) -> c_int {
        {
            // SAFETY: The file's memory is valid for this call, and `open`
            // stored an `Arc<T>` there, which `Self::release` reclaims only
            // after this borrow ends.
            let this = unsafe { <Arc<T> as ForeignOwnable>::borrow((*file).private_data) };
            // `__fput()` made a last `fasync` call if `FASYNC` was set; take
            // the file out of both lists whatever the flag said, so that no
            // entry can outlive it (`abstractions/fasync.rs`). The lists are
            // those every `fasync` call on the file used (`HasFasync`), and
            // they live as long as `T`, which this file keeps alive until
            // just below.
            // SAFETY: The file's memory is valid for this call and no
            // `fasync` call can reach it any more.
            unsafe { this.fasync_lists().forget(file) };
        }
        // SAFETY: The caller's guarantees are those of `Self::release`.
        unsafe { Self::release(inode, file) }
    }
}

#[cfg(rs_kunit)]
#[kunit_tests(rust_sample_miscdev)]
mod tests {
    use super::*;
    use kernel::error::from_err_ptr;

    // `include/linux/anon_inodes.h`, which the kernel's bindings do not
    // include: a real `struct file` whose operations are a vtable of this
    // layer, without a device node. `allow`, not `expect`: the lint fires on
    // a zero-sized struct deep in `struct module` that only some
    // architectures have (bindgen's own declarations allow it likewise).
    #[allow(improper_ctypes)]
    extern "C" {
        fn anon_inode_getfile(
            name: *const c_char,
            fops: *const bindings::file_operations,
            private: *mut c_void,
            flags: c_int,
        ) -> *mut bindings::file;
    }

    /// How many bytes [`Overclaiming`] copies.
    const COPIED: usize = 10;

    /// A driver whose `read_iter` copies [`COPIED`] bytes and claims to
    /// have filled the whole buffer: safe code, and exactly the mistake
    /// that would hand `copy_splice_read()`'s unzeroed pages to a pipe.
    struct Overclaiming;

    #[vtable]
    impl MiscDevice for Overclaiming {
        type Shared = ();
        type Ptr = KBox<Self>;

        fn open(_shared: &(), _file: &File) -> Result<KBox<Self>> {
            Err(ENODEV)
        }

        fn read_iter(
            _this: &Self,
            _kiocb: &Kiocb<'_>,
            dest: &mut ReadDest<'_, '_>,
        ) -> Result<usize> {
            let claimed = dest.len();
            dest.copy_to_iter(&[0x55; COPIED]);
            Ok(claimed)
        }
    }

    /// A read through the layer's `read_iter` reports what the driver
    /// copied, never what it claimed, and the bytes beyond stay untouched.
    /// Without the cap in `MiscVTable::read_iter` the read returns 64.
    #[test]
    fn read_reports_only_copied_bytes() -> Result {
        let private = KBox::new(Overclaiming, GFP_KERNEL)?.into_foreign();
        // SAFETY: The name is a C string; the table is this layer's for
        // `Overclaiming`, with the private data its `open` would have made
        // (a `KBox<Overclaiming>` from `into_foreign`), which its `release`
        // reclaims when the file goes. `O_RDWR` is a valid flag.
        let raw = unsafe {
            anon_inode_getfile(
                c"rust_sample_test".as_char_ptr(),
                MiscVTable::<Overclaiming>::build(),
                private,
                bindings::O_RDWR as c_int,
            )
        };
        let file = match from_err_ptr(raw) {
            Ok(file) => file,
            Err(err) => {
                // SAFETY: No file took the private data; it is ours again.
                drop(unsafe { <KBox<Overclaiming> as ForeignOwnable>::from_foreign(private) });
                return Err(err);
            }
        };
        let mut buf = [0xAAu8; 64];
        let mut pos: bindings::loff_t = 0;
        // SAFETY: `file` is a valid file we hold a reference to; `buf` is
        // valid for writes of its length; `pos` is a valid position.
        let n =
            unsafe { bindings::kernel_read(file, buf.as_mut_ptr().cast(), buf.len(), &mut pos) };
        // SAFETY: Drops the reference `anon_inode_getfile` gave us.
        unsafe { bindings::fput(file) };
        assert_eq!(n, COPIED as isize);
        assert!(buf[..COPIED].iter().all(|&b| b == 0x55));
        assert!(buf[COPIED..].iter().all(|&b| b == 0xAA));
        Ok(())
    }
}
