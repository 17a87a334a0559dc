// SPDX-License-Identifier: GPL-2.0

//! What a `poll` callback gets and returns: the poll table and the mask.
//!
//! C headers: [`include/linux/poll.h`](srctree/include/linux/poll.h),
//! [`include/uapi/linux/eventpoll.h`](srctree/include/uapi/linux/eventpoll.h).
//!
//! Why this exists: the kernel crate (Linux 7.3) has `PollTable`, but it can
//! register only a `PollCondVar`, and this driver's queues are
//! [`super::wait::PollWaitQueue`]s; it has no type for the mask a poll
//! callback returns either (binder uses raw integers).

use core::{
    marker::PhantomData,
    ops::BitOr, //
};
use kernel::{
    bindings,
    sync::ArcBorrow, //
};

use super::wait::PollWaitQueue;

/// The `poll_table` of one `poll` call on one file, and the only way to
/// register a wait queue with it.
///
/// `poll_wait()` links an entry of the poller into the queue, and the
/// poller unlinks it later: select and poll in `poll_freewait()`, epoll when
/// the file is released or taken out of the epoll set, io_uring and aio
/// when the request ends. Until then the queue must stay. What holds it
/// there is the file: select and poll keep a reference to it (`get_file()`
/// in `__pollwait()`) until `poll_freewait()`, io_uring and aio keep one for
/// the request, and `__fput()` runs `eventpoll_release()` before
/// `->release`. So the rule is: **the queue must live until the polled
/// file's `release`**. `__wake_up_pollfree()` in the queue's drop does not
/// replace that rule: select and poll ignore `POLLFREE` (`pollwake()`) and
/// call `remove_wait_queue()` on the queue afterwards.
///
/// The lifetime `'a` enforces the rule. A `poll` callback is generic over
/// `'a`, and receives its file's private data borrowed for `'a`
/// ([`super::miscdev::MiscDevice::poll`]); [`PollTable::register_in`] takes
/// an owner borrowed for the same `'a`, and `'a` is invariant, so it cannot
/// be shortened to fit a local owner, and the queue must be one the owner
/// holds (owns, or shares ownership of) or a `'static` one. A queue in a
/// local variable, or one reached through a lock guard, does not compile.
///
/// # Invariants
///
/// - `table` is null or points at a valid `poll_table`, and `file` is the
///   file being polled, both valid for as long as this value exists: the
///   layer makes it inside one `->poll` call and only lends it (`&`) to the
///   driver, and it is neither `Send` nor `Clone`.
/// - `'a` is the lifetime of the borrow of `file`'s private data, over
///   which the driver's `poll` is generic: a queue it can name for `'a` is
///   owned or shared by the private data (freed no earlier than
///   `release`), or `'static` (see above). The rule rests on that
///   genericity, not on `'a` itself lasting until `release`.
pub(crate) struct PollTable<'a> {
    table: *mut bindings::poll_table,
    file: *mut bindings::file,
    /// Invariant in `'a`: a covariant table could be coerced to a shorter
    /// `'a`, and then register a queue that dies before the file.
    _lifetime: PhantomData<fn(&'a ()) -> &'a ()>,
}

impl<'a> PollTable<'a> {
    /// # Safety
    ///
    /// `table` must be null or point at a valid `poll_table` for the whole
    /// of `'a`, and `file` must be the file being polled, valid for `'a`.
    /// Everything that lives for `'a` must live until `file` is released:
    /// `'a` is the lifetime of the borrow of `file`'s private data, which
    /// `release` reclaims.
    pub(crate) unsafe fn from_raw(
        table: *mut bindings::poll_table,
        file: *mut bindings::file,
    ) -> Self {
        // INVARIANT: The caller guarantees validity and the meaning of `'a`.
        Self {
            table,
            file,
            _lifetime: PhantomData,
        }
    }

    /// Registers the poller with a queue that `owner` holds, so that
    /// [`PollWaitQueue::notify_all`] wakes it: `table.register_in(device,
    /// |d| &d.readable)`.
    ///
    /// `owner` is the file's private data (an `Arc<T>`) borrowed for `'a`,
    /// or an `Arc` borrowed for `'static`: a generic `poll<'a>` can name no
    /// other `ArcBorrow<'a, _>`. It keeps `T` alive for `'a`, but lends `&T`
    /// only for as long as the `ArcBorrow` itself, so a plain
    /// `&'a PollWaitQueue` cannot be named. `T: 'static` matters: were `T`
    /// allowed a lifetime (`dyn Trait + 'x`, through `ArcBorrow`'s
    /// unsizing, or a covariant `W<'x>`), the closure could return any
    /// `&'x` it captured, a queue on the stack for one. With it, `queue`,
    /// generic over the lifetime of the `&T` it gets, can only return a
    /// queue borrowed from `T` (a field, or one `T` shares ownership of) or
    /// a `'static` one. (`ForeignOwnable for Arc<T>` needs `T: 'static`
    /// anyway.)
    pub(crate) fn register_in<T: ?Sized + 'static>(
        &self,
        owner: ArcBorrow<'a, T>,
        queue: impl FnOnce(&T) -> &PollWaitQueue,
    ) {
        let owner: &T = &owner;
        let queue = queue(owner);
        // `queue` is initialised and pinned, and (`T: 'static`, see above)
        // borrowed from `T` or `'static`, so it lives as long as `T`, which
        // `owner` keeps alive for `'a`, hence until `file` is released (type
        // invariants); each poller unlinks its entry before it lets go of
        // the file (see the type's documentation).
        // SAFETY: `file` and the table pointer are valid for this call (type
        // invariants; `poll_wait` does nothing with a null table), and
        // `queue` outlives every entry linked into it (see above).
        unsafe { bindings::poll_wait(self.file, queue.as_raw(), self.table) };
    }
}

/// A set of `EPOLL*` readiness bits, the type `->poll` returns (`__poll_t`).
///
/// Built from `EPOLL*`, not `POLL*`: on mips, sparc and m68k the `POLL*`
/// values differ (`POLLWRNORM == POLLOUT` on some), and the VFS converts
/// `__poll_t` to the user's `POLL*` values itself. bindgen cannot evaluate
/// the `(__force __poll_t)` casts in `eventpoll.h`, so the values are
/// spelled out here; they are the same on every architecture.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct PollMask(bindings::__poll_t);

const EPOLLIN: bindings::__poll_t = 0x0001;
const EPOLLOUT: bindings::__poll_t = 0x0004;
const EPOLLHUP: bindings::__poll_t = 0x0010;
const EPOLLRDNORM: bindings::__poll_t = 0x0040;
const EPOLLWRNORM: bindings::__poll_t = 0x0100;

impl PollMask {
    /// Nothing is ready.
    pub(crate) const NONE: Self = Self(0);
    /// A read would not block (`EPOLLIN | EPOLLRDNORM`).
    pub(crate) const READABLE: Self = Self(EPOLLIN | EPOLLRDNORM);
    /// A write would not block (`EPOLLOUT | EPOLLWRNORM`).
    pub(crate) const WRITABLE: Self = Self(EPOLLOUT | EPOLLWRNORM);
    /// The peer is gone: no writer is left (`EPOLLHUP`).
    pub(crate) const HANGUP: Self = Self(EPOLLHUP);

    /// The raw bits, as the C callback returns them.
    pub(crate) fn bits(self) -> bindings::__poll_t {
        self.0
    }
}

impl BitOr for PollMask {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}
