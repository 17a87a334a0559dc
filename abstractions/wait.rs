// SPDX-License-Identifier: GPL-2.0

//! A wait queue that re-checks its condition after queueing, and that
//! `poll` can register with.
//!
//! C header: [`include/linux/wait.h`](srctree/include/linux/wait.h).
//!
//! Why this exists next to `kernel::sync::{CondVar, poll::PollCondVar}`
//! (Linux 7.3): a `CondVar` waiter checks its condition under the lock
//! *before* it queues itself, so a waker that changes the condition without
//! taking that lock can slip in between, and its wake-up is lost. C code
//! avoids this with `wait_event()`, which checks the condition again after
//! `prepare_to_wait()`. This driver needs such a waker: `release` drops the
//! last writer (end of file for blocked readers) without the FIFO mutex,
//! because a reader can hold that mutex across a copy that userspace stalls
//! at will (userfaultfd, FUSE), and `release` must never wait on userspace.
//! [`PollWaitQueue::wait_interruptible_unless`] is the `wait_event()` step
//! that `CondVar` lacks; upstream could absorb it as a `CondVar` method taking
//! a condition. The poll side mirrors `PollCondVar`, whose wait queue head is
//! private to the kernel crate, so it cannot be reused for this.

use core::marker::PhantomPinned;
use kernel::{
    bindings,
    prelude::*,
    sync::{
        lock::{
            Backend,
            Guard, //
        },
        LockClassKey, //
    },
    task::{
        TASK_INTERRUPTIBLE,
        TASK_NORMAL, //
    },
    types::Opaque, //
};

/// Creates a [`PollWaitQueue`] initialiser with the given name and a new
/// lock class.
macro_rules! new_poll_wait_queue {
    ($name:literal) => {
        $crate::abstractions::wait::PollWaitQueue::new(
            kernel::c_str!($name),
            kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_poll_wait_queue;

/// A `struct wait_queue_head` that tasks sleep on and `poll` registers with.
///
/// # Invariants
///
/// `head` is an initialised wait queue head for as long as `self` lives, and
/// `self` is pinned, so the queue's self-referential list stays valid.
#[pin_data(PinnedDrop)]
pub(crate) struct PollWaitQueue {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: A wait queue head may be used and freed from any thread; its list
// is protected by its own spinlock.
unsafe impl Send for PollWaitQueue {}

// SAFETY: Every operation on the head takes its spinlock, so shared use from
// several threads at once is what the C API is made for.
unsafe impl Sync for PollWaitQueue {}

impl PollWaitQueue {
    /// An initialiser for an empty wait queue.
    pub(crate) fn new(name: &'static CStr, key: Pin<&'static LockClassKey>) -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: The head is initialised here and lives in pinned memory.
            // SAFETY: `slot` is valid for writes while the closure runs, and
            // `name` and `key` are `'static`, so they outlive the head.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, name.as_char_ptr(), key.as_ptr())
            }),
            _pin: PhantomPinned,
        })
    }

    /// Sleeps until woken or signalled, unless `ready` holds once this task is
    /// on the queue.
    ///
    /// The lock behind `guard` is released while sleeping and held again on
    /// return, as with `CondVar::wait_interruptible`. `ready` runs with the
    /// lock held *after* the task is queued, so a waker that makes it true
    /// and then calls [`Self::notify_all`] cannot be missed, whether or not
    /// it holds the lock. The pairing: `prepare_to_wait()` queues the task
    /// under the queue's spinlock and then sets its state with a full
    /// barrier; the waker's store is ordered before its wake-up takes the
    /// same spinlock. So either `ready` sees the store, or the wake-up sees
    /// the queued task.
    ///
    /// `ready` must not sleep: the task is already marked as going to sleep
    /// when it runs (the kernel would warn, as for the condition of
    /// `wait_event()`). A load or a comparison is what it is for.
    ///
    /// Returns the guard and whether a signal is pending (only when it slept;
    /// a `ready` condition returns `false` at once). It may also return
    /// spuriously: callers loop and re-check, as with any condition variable.
    #[must_use = "the second value says whether a signal is pending"]
    pub(crate) fn wait_interruptible_unless<'a, T: ?Sized, B: Backend>(
        &self,
        guard: Guard<'a, T, B>,
        ready: impl FnOnce(&T) -> bool,
    ) -> (Guard<'a, T, B>, bool) {
        let wait = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `wait` is valid memory for a wait queue entry, and it
        // outlives its use: `finish_wait` takes it off the queue on every
        // path below before this frame ends.
        unsafe { bindings::init_wait(wait.get()) };
        // SAFETY: `self.head` is initialised (type invariant) and `wait` was
        // initialised above.
        unsafe {
            bindings::prepare_to_wait_exclusive(self.head.get(), wait.get(), TASK_INTERRUPTIBLE)
        };
        if ready(&guard) {
            // SAFETY: As for `prepare_to_wait_exclusive`; this also puts the
            // task back into the running state.
            unsafe { bindings::finish_wait(self.head.get(), wait.get()) };
            return (guard, false);
        }
        let lock = guard.lock_ref();
        drop(guard);
        // SAFETY: Switches to another task until a wake-up or a signal, as
        // `CondVar::wait_interruptible` does; the caller's lock is released.
        unsafe { bindings::schedule() };
        // SAFETY: As for `prepare_to_wait_exclusive`.
        unsafe { bindings::finish_wait(self.head.get(), wait.get()) };
        let guard = lock.lock();
        (guard, kernel::current!().signal_pending())
    }

    /// Wakes every task sleeping on the queue and every poller registered
    /// with it.
    pub(crate) fn notify_all(&self) {
        // SAFETY: `self.head` is initialised (type invariant); a null key
        // wakes every entry.
        unsafe { bindings::__wake_up(self.head.get(), TASK_NORMAL, 0, core::ptr::null_mut()) };
    }

    /// The wait queue head, for [`super::poll::PollTable::register_in`].
    pub(super) fn as_raw(&self) -> *mut bindings::wait_queue_head {
        self.head.get()
    }
}

#[pinned_drop]
impl PinnedDrop for PollWaitQueue {
    fn drop(self: Pin<&mut Self>) {
        // Every poller is gone by now: registration requires the queue to
        // live until the polled file's `release` (`PollTable::register_in`),
        // and each poller unlinks itself before it lets go of the file.
        // This detaches epoll entries all the same, as `PollCondVar` does,
        // so that a broken rule would not leave epoll with a freed queue
        // (select and poll ignore `POLLFREE`, so it cannot cover them).
        //
        // SAFETY: `self.head` is initialised (type invariant).
        unsafe { bindings::__wake_up_pollfree(self.head.get()) };
        // Wait for epoll to finish with the entries it just removed. (The
        // binding, not `kernel::sync::rcu::synchronize_rcu`, which Linux 7.2
        // lacks.)
        //
        // SAFETY: `synchronize_rcu()` may be called from any sleepable
        // context, and a wait queue is dropped with its device: at module
        // exit, or by the last file's `release`, both in process context.
        unsafe { bindings::synchronize_rcu() };
    }
}

#[cfg(rs_kunit)]
#[kunit_tests(rust_sample_wait)]
mod tests {
    use kernel::{
        new_mutex,
        prelude::*, //
    };

    /// The condition runs once the task is queued: a wake-up sent from
    /// inside it is not lost, so the wait returns instead of sleeping for
    /// ever. If the condition ran before queueing, this would hang.
    #[test]
    fn condition_runs_after_queueing() -> Result {
        let queue = KBox::pin_init(new_poll_wait_queue!("test"), GFP_KERNEL)?;
        let lock = KBox::pin_init(new_mutex!(0u32), GFP_KERNEL)?;
        let (guard, signalled) = queue.wait_interruptible_unless(lock.lock(), |_| {
            queue.notify_all();
            false
        });
        assert!(!signalled);
        assert_eq!(*guard, 0);
        Ok(())
    }

    /// A condition that already holds returns at once, lock held.
    #[test]
    fn ready_condition_does_not_sleep() -> Result {
        let queue = KBox::pin_init(new_poll_wait_queue!("test"), GFP_KERNEL)?;
        let lock = KBox::pin_init(new_mutex!(7u32), GFP_KERNEL)?;
        let (guard, signalled) = queue.wait_interruptible_unless(lock.lock(), |v| *v == 7);
        assert!(!signalled);
        assert_eq!(*guard, 7);
        Ok(())
    }
}
