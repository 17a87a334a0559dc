// SPDX-License-Identifier: GPL-2.0

//! Readiness masks for `poll(2)`.
//!
//! C header: [`include/uapi/asm-generic/poll.h`](srctree/include/uapi/asm-generic/poll.h).
//!
//! Why this exists: the kernel crate (Linux 7.3) has `PollTable` and
//! `PollCondVar` for the waiting side, but no type for the mask a poll
//! callback returns; binder uses raw `bindings::POLL*` integers. A small
//! newtype keeps the driver free of `bindings`.

use core::ops::BitOr;
use kernel::bindings;

/// A set of `EPOLL*` readiness bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct PollMask(bindings::__poll_t);

impl PollMask {
    /// Nothing is ready.
    pub(crate) const NONE: Self = Self(0);
    /// A read would not block (`EPOLLIN | EPOLLRDNORM`).
    pub(crate) const READABLE: Self = Self(bindings::POLLIN | bindings::POLLRDNORM);
    /// A write would not block (`EPOLLOUT | EPOLLWRNORM`).
    pub(crate) const WRITABLE: Self = Self(bindings::POLLOUT | bindings::POLLWRNORM);
    /// The peer is gone: no writer is left (`EPOLLHUP`).
    pub(crate) const HANGUP: Self = Self(bindings::POLLHUP);

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
