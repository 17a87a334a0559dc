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
use kernel::bindings;

/// The `poll_table` of one `poll` call.
///
/// # Invariants
///
/// `table` is null or points at a valid `poll_table` for the whole of `'a`.
pub(crate) struct PollTable<'a> {
    table: *mut bindings::poll_table,
    _lifetime: PhantomData<&'a bindings::poll_table>,
}

impl PollTable<'_> {
    /// # Safety
    ///
    /// `table` must be null or point at a valid `poll_table` for the whole
    /// of `'a`.
    pub(crate) unsafe fn from_raw(table: *mut bindings::poll_table) -> Self {
        // INVARIANT: The caller guarantees validity for `'a`.
        Self {
            table,
            _lifetime: PhantomData,
        }
    }

    /// The raw pointer, null or valid for `'a`.
    pub(crate) fn as_raw(&self) -> *mut bindings::poll_table {
        self.table
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
