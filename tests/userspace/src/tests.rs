// SPDX-License-Identifier: GPL-2.0

//! One function per semantic of `Documentation/abi.rst`. Each starts from an
//! empty FIFO at the default capacity (see [`reset`]).

use crate::rng::Rng;
use crate::stall;
use crate::sys::*;
use crate::uring;
use libc::{
    O_NONBLOCK,
    O_RDONLY,
    O_RDWR,
    O_WRONLY, //
};
use std::time::{
    Duration,
    Instant, //
};

pub struct Ctx {
    pub dev: String,
    pub default_capacity: u64,
}

type Test = fn(&Ctx) -> Res<()>;

pub const ALL: &[(&str, Test)] = &[
    ("roundtrip-then-eof", roundtrip_then_eof),
    ("partial-reads-in-order", partial_reads_in_order),
    ("data-persists-across-reopen", data_persists_across_reopen),
    ("eof-without-writer", eof_without_writer),
    ("nonblock-read-empty-eagain", nonblock_read_empty_eagain),
    ("nonblock-write-full-eagain", nonblock_write_full_eagain),
    (
        "fcntl-nonblock-seen-at-read-time",
        fcntl_nonblock_seen_at_read_time,
    ),
    ("atomic-write-all-or-nothing", atomic_write_all_or_nothing),
    ("rwf-nowait-read", rwf_nowait_read),
    ("rwf-nowait-write", rwf_nowait_write),
    ("uring-completes-at-once", |c| {
        uring::completes_at_once(&c.dev)
    }),
    ("uring-read-waits-for-writer", |c| {
        uring::read_waits_for_writer(&c.dev, false)
    }),
    ("uring-write-waits-for-reader", |c| {
        uring::write_waits_for_reader(&c.dev, false)
    }),
    ("uring-nonblock-read-waits-for-writer", |c| {
        uring::read_waits_for_writer(&c.dev, true)
    }),
    ("uring-nonblock-write-waits-for-reader", |c| {
        uring::write_waits_for_reader(&c.dev, true)
    }),
    ("splice-device-to-pipe", splice_device_to_pipe),
    ("splice-pipe-to-device", splice_pipe_to_device),
    ("splice-write-atomic", splice_write_atomic),
    ("sendfile-file-to-device", sendfile_file_to_device),
    ("sendfile-device-to-file", sendfile_device_to_file),
    ("sigio-on-each-transition", sigio_on_each_transition),
    ("sigio-default-signal", sigio_default_signal),
    ("sigio-none-after-close", sigio_none_after_close),
    ("sigio-access-mode-3", sigio_access_mode_3),
    ("sigio-fasync-race", sigio_fasync_race),
    (
        "sigio-fioasync-and-last-close",
        sigio_fioasync_and_last_close,
    ),
    ("readv-writev-several-iovecs", readv_writev_several_iovecs),
    ("writev-atomic-across-iovecs", writev_atomic_across_iovecs),
    (
        "blocking-large-write-into-full",
        blocking_large_write_into_full,
    ),
    ("select-readiness-and-wakeup", select_readiness_and_wakeup),
    ("epoll-edge-triggered", epoll_edge_triggered),
    (
        "fcntl-clearing-nonblock-blocks",
        fcntl_clearing_nonblock_blocks,
    ),
    ("many-openers", many_openers),
    (
        "set-capacity-wakes-blocked-writer",
        set_capacity_wakes_blocked_writer,
    ),
    ("set-capacity-error-order", set_capacity_error_order),
    (
        "blocked-writer-woken-by-reader",
        blocked_writer_woken_by_reader,
    ),
    (
        "blocked-reader-woken-by-writer",
        blocked_reader_woken_by_writer,
    ),
    (
        "blocked-reader-eof-on-last-writer-close",
        blocked_reader_eof_on_last_writer_close,
    ),
    (
        "last-writer-close-races-reader",
        last_writer_close_races_reader,
    ),
    ("poll-readiness-transitions", poll_readiness_transitions),
    ("poll-pollout-at-atomic-size", poll_pollout_at_atomic_size),
    ("poll-respects-access-mode", poll_respects_access_mode),
    ("pollhup-rules", pollhup_rules),
    ("clear-wakes-blocked-writer", clear_wakes_blocked_writer),
    (
        "zero-length-calls-count-nothing",
        zero_length_calls_count_nothing,
    ),
    ("wrong-access-mode-ebadf", wrong_access_mode_ebadf),
    (
        "poll-wakeup-from-other-process",
        poll_wakeup_from_other_process,
    ),
    ("epoll-readiness-and-wakeup", epoll_readiness_and_wakeup),
    (
        "sigalrm-interrupts-read-no-loss",
        sigalrm_interrupts_read_no_loss,
    ),
    (
        "sigalrm-interrupts-write-no-loss",
        sigalrm_interrupts_write_no_loss,
    ),
    ("sa-restart-restarts-read", sa_restart_restarts_read),
    ("seek-pread-pwrite-espipe", seek_pread_pwrite_espipe),
    ("ioctl-stats-match-activity", ioctl_stats_match_activity),
    (
        "ioctl-stats-fully-initialised",
        ioctl_stats_fully_initialised,
    ),
    (
        "read-touches-only-what-it-returns",
        read_touches_only_what_it_returns,
    ),
    ("ioctl-get-capacity", ioctl_get_capacity),
    ("ioctl-set-capacity", ioctl_set_capacity),
    ("ioctl-clear", ioctl_clear),
    (
        "ioctl-admin-eperm-unprivileged",
        ioctl_admin_eperm_unprivileged,
    ),
    ("ioctl-unknown-enotty", ioctl_unknown_enotty),
    ("ioctl-bad-pointer-efault", ioctl_bad_pointer_efault),
    ("fdinfo-shows-stats", fdinfo_shows_stats),
    ("debugfs-shows-stats", debugfs_shows_stats),
    // A read stalled inside its copy holds the FIFO mutex (stall.rs):
    // nothing that only looks, or asks not to wait, may wait for it.
    ("stall-poll-not-blocked", |c| {
        stall::poll_not_blocked(&c.dev)
    }),
    ("stall-epoll-not-blocked", |c| {
        stall::epoll_not_blocked(&c.dev)
    }),
    ("stall-fdinfo-not-blocked", |c| {
        stall::fdinfo_not_blocked(&c.dev)
    }),
    ("stall-debugfs-not-blocked", |c| {
        stall::debugfs_not_blocked(&c.dev)
    }),
    ("stall-get-stats-not-blocked", |c| {
        stall::get_stats_not_blocked(&c.dev)
    }),
    ("stall-get-capacity-not-blocked", |c| {
        stall::get_capacity_not_blocked(&c.dev, c.default_capacity)
    }),
    ("stall-rwf-nowait-read-eagain", |c| {
        stall::rwf_nowait_read_eagain(&c.dev)
    }),
    ("stall-rwf-nowait-write-eagain", |c| {
        stall::rwf_nowait_write_eagain(&c.dev)
    }),
    ("stall-uring-read-not-blocked", |c| {
        stall::uring_not_blocked(&c.dev)
    }),
    ("concurrent-4x4-checksummed", concurrent_4x4_checksummed),
    ("atomic-writes-odd-records", atomic_writes_odd_records),
];

pub(crate) fn expect_err<T: std::fmt::Debug>(what: &str, r: Result<T, i32>, want: i32) -> Res<()> {
    match r {
        Err(e) if e == want => Ok(()),
        Err(e) => Err(format!(
            "{what}: got {}, want {}",
            err_name(e),
            err_name(want)
        )),
        Ok(v) => Err(format!(
            "{what}: succeeded ({v:?}), want {}",
            err_name(want)
        )),
    }
}

pub(crate) fn check(cond: bool, what: impl FnOnce() -> String) -> Res<()> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// Empties the FIFO and restores the default capacity.
pub fn reset(ctx: &Ctx) -> Res<()> {
    let fd = open(&ctx.dev, O_RDWR)?;
    clear(&fd).map_err(|e| format!("reset: CLEAR failed: {}", err_name(e)))?;
    set_capacity(&fd, ctx.default_capacity)
        .map_err(|e| format!("reset: SET_CAPACITY failed: {}", err_name(e)))?;
    let s = stats(&fd)?;
    check(s.len == 0 && s.readers == 1 && s.writers == 1, || {
        format!("reset: unexpected state {s:?} (another opener left behind?)")
    })
}

fn roundtrip_then_eof(ctx: &Ctx) -> Res<()> {
    {
        let w = open(&ctx.dev, O_WRONLY)?;
        write_all(&w, b"hello\n")?;
    }
    let r = open(&ctx.dev, O_RDONLY)?;
    let mut buf = [0u8; 64];
    let n = read(&r, &mut buf).map_err(err_name)?;
    check(&buf[..n] == b"hello\n", || format!("read {:?}", &buf[..n]))?;
    let n = read(&r, &mut buf).map_err(err_name)?;
    check(n == 0, || {
        format!("read after the data returned {n}, want 0 (EOF)")
    })
}

fn partial_reads_in_order(ctx: &Ctx) -> Res<()> {
    {
        let w = open(&ctx.dev, O_WRONLY)?;
        write_all(&w, b"0123456789")?;
    }
    let r = open(&ctx.dev, O_RDONLY)?;
    let mut got = Vec::new();
    for want in [3usize, 3, 100] {
        let mut buf = vec![0u8; want];
        let n = read(&r, &mut buf).map_err(err_name)?;
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    check(got == ["012", "345", "6789"], || {
        format!("reads gave {got:?}")
    })
}

fn data_persists_across_reopen(ctx: &Ctx) -> Res<()> {
    for part in [&b"abc"[..], b"def"] {
        let w = open(&ctx.dev, O_WRONLY)?;
        write_all(&w, part)?;
    }
    let r = open(&ctx.dev, O_RDONLY)?;
    let got = read_exact(&r, 6)?;
    check(got == b"abcdef", || format!("read {got:?}"))
}

fn eof_without_writer(ctx: &Ctx) -> Res<()> {
    let r = open(&ctx.dev, O_RDONLY)?;
    let mut buf = [0u8; 8];
    let n = read(&r, &mut buf).map_err(err_name)?;
    check(n == 0, || {
        format!("read on an empty FIFO without writers returned {n}")
    })
}

fn nonblock_read_empty_eagain(ctx: &Ctx) -> Res<()> {
    let _w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    expect_err("read", read(&r, &mut [0u8; 8]), libc::EAGAIN)
}

fn fill(ctx: &Ctx, w: &Fd) -> Res<u64> {
    let cap = capacity(w)?;
    let chunk = vec![0x5au8; 4096];
    let mut left = cap as usize;
    while left > 0 {
        let n = write(w, &chunk[..left.min(4096)]).map_err(|e| format!("fill: {}", err_name(e)))?;
        left -= n;
    }
    let _ = ctx;
    Ok(cap)
}

/// Runs one call on a copy of `fd` in a thread and fails if it has not
/// returned within a second: a call that must not sleep, but does, fails
/// by name at once instead of at the test's deadline.
fn returns_within<T: Send + 'static>(
    fd: &Fd,
    call: impl FnOnce(&Fd) -> Result<T, i32> + Send + 'static,
) -> Res<Result<T, i32>> {
    // SAFETY: dup of our descriptor; the thread owns the copy.
    let copy = Fd(unsafe { libc::dup(fd.0) });
    let (tx, rx) = std::sync::mpsc::channel();
    spawn(move || {
        let _ = tx.send(call(&copy));
    });
    rx.recv_timeout(Duration::from_secs(1))
        .map_err(|_| "the call slept: still blocked after 1 s".into())
}

/// `preadv2(RWF_NOWAIT)` on a file opened for blocking I/O: `EAGAIN` where
/// a read would sleep (not `EOPNOTSUPP`: the device sets `FMODE_NOWAIT`),
/// the data when there is some, and the file itself stays blocking.
fn rwf_nowait_read(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    let mut buf = [0u8; 8];
    expect_err(
        "preadv2(RWF_NOWAIT) on an empty FIFO",
        returns_within(&f, |fd| read_flags(fd, &mut [0u8; 8], libc::RWF_NOWAIT))?,
        libc::EAGAIN,
    )?;
    write_all(&f, b"nowait")?;
    let n = read_flags(&f, &mut buf, libc::RWF_NOWAIT)
        .map_err(|e| format!("preadv2(RWF_NOWAIT) with data: {}", err_name(e)))?;
    check(&buf[..n] == b"nowait", || {
        format!("preadv2(RWF_NOWAIT) read {:?}", &buf[..n])
    })?;
    // Without the flag the same file blocks: a writer in another process
    // wakes it.
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        sleep_ms(100);
        write_all(&w, b"later")
    })?;
    let n = read_flags(&f, &mut buf, 0)
        .map_err(|e| format!("preadv2 without flags: {}", err_name(e)))?;
    wait(child)?;
    check(&buf[..n] == b"later", || {
        format!("a blocking preadv2 read {:?}", &buf[..n])
    })
}

/// `pwritev2(RWF_NOWAIT)` into a full FIFO: `EAGAIN`, nothing stored; once
/// there is room, the write goes through.
fn rwf_nowait_write(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let cap = fill(ctx, &w)?;
    expect_err(
        "pwritev2(RWF_NOWAIT) into a full FIFO",
        returns_within(&w, |fd| write_flags(fd, b"x", libc::RWF_NOWAIT))?,
        libc::EAGAIN,
    )?;
    check(stats(&w)?.len == cap, || {
        "the refused write stored bytes".into()
    })?;
    read_exact(&r, 16)?;
    let n = write_flags(&w, b"0123456789abcdef", libc::RWF_NOWAIT)
        .map_err(|e| format!("pwritev2(RWF_NOWAIT) with room: {}", err_name(e)))?;
    check(n == 16, || format!("pwritev2(RWF_NOWAIT) wrote {n} of 16"))
}

/// splice(2) out of the device into a pipe: what the FIFO holds, up to the
/// length asked; on an empty FIFO, `EAGAIN` for a non-blocking device file
/// and a sleep until a writer comes for a blocking one.
fn splice_device_to_pipe(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    let (pr, pw) = pipe()?;
    write_all(&f, b"spliced out")?;
    let n = splice(&f, &pw, 64, 0).map_err(|e| format!("splice: {}", err_name(e)))?;
    check(n == 11, || format!("spliced {n} bytes, want 11"))?;
    check(read_exact(&pr, 11)? == b"spliced out", || {
        "the pipe got other bytes".into()
    })?;
    check(stats(&f)?.len == 0, || "the FIFO kept spliced bytes".into())?;

    let nb = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    expect_err(
        "splice from an empty non-blocking device",
        splice(&nb, &pw, 64, 0),
        libc::EAGAIN,
    )?;

    let dev = ctx.dev.clone();
    let child = fork(move || {
        let f = open(&dev, O_RDONLY)?;
        let (pr, pw) = pipe()?;
        let n = splice(&f, &pw, 64, 0).map_err(|e| format!("child splice: {}", err_name(e)))?;
        let got = read_exact(&pr, n)?;
        check(got == b"woken", || format!("child spliced {got:?}"))
    })?;
    wait_asleep(child, "the splice did not sleep on an empty FIFO")?;
    write_all(&f, b"woken")?;
    wait(child)
}

/// splice(2) from a pipe into the device, and `SPLICE_F_NONBLOCK`, which
/// is about the pipe: an empty pipe gives `EAGAIN` instead of a sleep.
fn splice_pipe_to_device(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    let (pr, pw) = pipe()?;
    write_all(&pw, b"spliced in")?;
    let n = splice(&pr, &f, 64, 0).map_err(|e| format!("splice: {}", err_name(e)))?;
    check(n == 10, || format!("spliced {n} bytes, want 10"))?;
    check(read_exact(&f, 10)? == b"spliced in", || {
        "the device got other bytes".into()
    })?;
    expect_err(
        "SPLICE_F_NONBLOCK from an empty pipe",
        splice(&pr, &f, 64, libc::SPLICE_F_NONBLOCK),
        libc::EAGAIN,
    )?;
    // A full FIFO: a blocking splice sleeps until a reader makes room.
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    fill(ctx, &w)?;
    write_all(&pw, b"when there is room")?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let f = open(&dev, O_WRONLY)?;
        let n = splice(&pr, &f, 64, 0).map_err(|e| format!("child splice: {}", err_name(e)))?;
        check(n == 18, || format!("child spliced {n} bytes, want 18"))
    })?;
    wait_asleep(child, "the splice did not sleep on a full FIFO")?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    read_exact(&r, 4096)?;
    wait(child)
}

/// A splice of at most `PIPE_BUF` bytes into the device is one write: into
/// a FIFO without room for all of it, a non-blocking device file takes
/// nothing.
fn splice_write_atomic(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    fill(ctx, &w)?;
    read_exact(&r, 10)?;
    let (pr, pw) = pipe()?;
    write_all(&pw, &[0x17u8; 23])?;
    expect_err(
        "splice of 23 bytes into 10 free",
        splice(&pr, &w, 23, 0),
        libc::EAGAIN,
    )?;
    let s = stats(&w)?;
    check(s.len + 10 == s.capacity, || {
        format!(
            "a refused splice stored bytes: len {} of {}",
            s.len, s.capacity
        )
    })?;
    read_exact(&r, 13)?;
    let n = splice(&pr, &w, 23, 0).map_err(|e| format!("splice with room: {}", err_name(e)))?;
    check(n == 23, || format!("spliced {n} of 23"))
}

/// A scratch file in the guest's root (a ramfs), removed when dropped.
struct TempFile(String, Fd);

impl TempFile {
    fn new(name: &str, data: &[u8]) -> Res<Self> {
        let path = format!("/tmp/rs-devtest-{name}-{}", std::process::id());
        let _ = std::fs::create_dir_all("/tmp");
        std::fs::write(&path, data).map_err(|e| format!("{path}: {e}"))?;
        let fd = open(&path, O_RDWR)?;
        Ok(Self(path, fd))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// sendfile(2) from a file into the device: every byte, in order.
fn sendfile_file_to_device(ctx: &Ctx) -> Res<()> {
    let data = pattern(10_000);
    let src = TempFile::new("sendfile-in", &data)?;
    let f = open(&ctx.dev, O_RDWR)?;
    let mut sent = 0;
    while sent < data.len() {
        sent += sendfile(&f, &src.1, data.len() - sent)
            .map_err(|e| format!("sendfile into the device: {}", err_name(e)))?;
    }
    check(read_exact(&f, data.len())? == data, || {
        "the device holds other bytes than the file".into()
    })
}

/// Out of the device into a file. sendfile(2) cannot: between two files
/// that are not pipes, `splice_direct_to_actor()` requires a seekable input
/// (`FMODE_LSEEK`), which a stream such as the device or a pipe is not, so
/// it fails with `EINVAL` exactly as from a pipe, before the driver is
/// asked. splice(2) through a pipe moves the same bytes.
fn sendfile_device_to_file(ctx: &Ctx) -> Res<()> {
    let data = pattern(6_000);
    let dst = TempFile::new("sendfile-out", b"")?;
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, &data)?;
    let (pr, pw) = pipe()?;
    write_all(&pw, b"p")?;
    expect_err(
        "sendfile out of a pipe",
        sendfile(&dst.1, &pr, 1),
        libc::EINVAL,
    )?;
    expect_err(
        "sendfile out of the device",
        sendfile(&dst.1, &f, 1),
        libc::EINVAL,
    )?;
    read_exact(&pr, 1)?;
    check(stats(&f)?.len as usize == data.len(), || {
        "the refused sendfile consumed bytes".into()
    })?;
    let mut moved = 0;
    while moved < data.len() {
        let n = splice(&f, &pw, data.len() - moved, 0)
            .map_err(|e| format!("splice out of the device: {}", err_name(e)))?;
        let mut left = n;
        while left > 0 {
            left -= splice(&pr, &dst.1, left, 0)
                .map_err(|e| format!("splice into the file: {}", err_name(e)))?;
        }
        moved += n;
    }
    let got = std::fs::read(&dst.0).map_err(|e| format!("{}: {e}", dst.0))?;
    check(got == data, || {
        format!("the file got {} other bytes", got.len())
    })
}

pub(crate) static SIGIO_SEEN: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);
static SIGIO_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
static SIGIO_CODE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_sigio(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    use std::sync::atomic::Ordering::SeqCst;
    // SAFETY: the kernel passes a valid siginfo. For a SIGPOLL-style
    // signal the union after si_signo, si_errno, si_code (and padding to 8
    // bytes) holds `long si_band; int si_fd;`, which libc does not expose.
    let (code, fd) = unsafe {
        let p = info.cast::<u8>();
        ((*info).si_code, *p.add(24).cast::<i32>())
    };
    // Only atomics in a handler; the test collects them.
    SIGIO_FD.store(fd, SeqCst);
    SIGIO_CODE.store(code, SeqCst);
    SIGIO_SEEN.fetch_add(1, SeqCst);
}

// From <asm-generic/siginfo.h>; libc lacks them.
pub(crate) const POLL_IN: i32 = 1;
const POLL_OUT: i32 = 2;

/// Installs `on_sigio` for `sig`, with siginfo.
pub(crate) fn catch_sigio(sig: i32) {
    // SAFETY: a plain handler of atomics, installed for this test's process.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigio
            as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
            as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// Waits up to `ms` for SIGIO number `n` (counted from 1); returns the
/// last one's (si_fd, si_code), or None.
pub(crate) fn sigio_event(n: usize, ms: u64) -> Option<(i32, i32)> {
    use std::sync::atomic::Ordering::SeqCst;
    let start = Instant::now();
    while SIGIO_SEEN.load(SeqCst) < n {
        if start.elapsed() > Duration::from_millis(ms) {
            return None;
        }
        sleep_ms(1);
    }
    Some((SIGIO_FD.load(SeqCst), SIGIO_CODE.load(SeqCst)))
}

/// `O_ASYNC` with `F_SETSIG`: data arriving signals the reading file with
/// `POLL_IN`, space freed signals the writing file with `POLL_OUT`, once per
/// transition, and nothing comes once `O_ASYNC` is cleared.
fn sigio_on_each_transition(ctx: &Ctx) -> Res<()> {
    use std::sync::atomic::Ordering::SeqCst;
    let sig = libc::SIGRTMIN() + 1;
    catch_sigio(sig);
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    set_async(&r, sig, true, true)?;
    set_async(&w, sig, true, true)?;
    let base = SIGIO_SEEN.load(SeqCst);
    for round in 0..3 {
        let n = base + 2 * round;
        write_all(&w, b"data")?;
        let ev = sigio_event(n + 1, 2000);
        check(ev == Some((r.0, POLL_IN)), || {
            format!(
                "round {round}: after a write got {ev:?}, want (reader fd {}, POLL_IN)",
                r.0
            )
        })?;
        read_exact(&r, 4)?;
        let ev = sigio_event(n + 2, 2000);
        check(ev == Some((w.0, POLL_OUT)), || {
            format!(
                "round {round}: after a read got {ev:?}, want (writer fd {}, POLL_OUT)",
                w.0
            )
        })?;
    }
    // Exactly one signal per transition: nothing more arrived.
    sleep_ms(100);
    let seen = SIGIO_SEEN.load(SeqCst) - base;
    check(seen == 6, || format!("{seen} signals for 6 transitions"))?;
    set_async(&r, sig, false, true)?;
    set_async(&w, sig, false, true)?;
    write_all(&w, b"quiet")?;
    read_exact(&r, 5)?;
    check(sigio_event(base + 7, 200).is_none(), || {
        "a signal arrived after O_ASYNC was cleared".into()
    })
}

/// Without `F_SETSIG`, the owner gets a plain SIGIO.
fn sigio_default_signal(ctx: &Ctx) -> Res<()> {
    use std::sync::atomic::Ordering::SeqCst;
    catch_sigio(libc::SIGIO);
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    set_async(&r, 0, true, true)?;
    let base = SIGIO_SEEN.load(SeqCst);
    write_all(&w, b"x")?;
    check(sigio_event(base + 1, 2000).is_some(), || {
        "no SIGIO after data arrived".into()
    })
}

/// `ioctl(FIOASYNC)` joins the lists as `O_ASYNC` does, and the last
/// writer's close is a `POLL_IN` event for readers (end of file is
/// readable), like data arriving.
fn sigio_fioasync_and_last_close(ctx: &Ctx) -> Res<()> {
    use std::sync::atomic::Ordering::SeqCst;
    let sig = libc::SIGRTMIN() + 3;
    catch_sigio(sig);
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let on: libc::c_int = 1;
    // SAFETY: fcntl and ioctl on our own descriptor, with a valid int.
    let ok = unsafe {
        libc::fcntl(r.0, libc::F_SETOWN, libc::getpid()) == 0
            && libc::fcntl(r.0, F_SETSIG, sig) == 0
            && libc::ioctl(r.0, libc::FIOASYNC, &on) == 0
    };
    check(ok, || format!("FIOASYNC: {}", err_name(errno())))?;
    let base = SIGIO_SEEN.load(SeqCst);
    write_all(&w, b"x")?;
    let ev = sigio_event(base + 1, 2000);
    check(ev == Some((r.0, POLL_IN)), || {
        format!(
            "after a write got {ev:?}, want (reader fd {}, POLL_IN)",
            r.0
        )
    })?;
    drop(w);
    let ev = sigio_event(base + 2, 2000);
    check(ev == Some((r.0, POLL_IN)), || {
        format!(
            "after the last writer closed got {ev:?}, want (reader fd {}, POLL_IN)",
            r.0
        )
    })
}

/// A file closed with `O_ASYNC` still set leaves the lists: later data
/// signals nobody (on the debug kernel, KASAN would catch a use of the
/// freed file, and kmemleak a lost entry).
fn sigio_none_after_close(ctx: &Ctx) -> Res<()> {
    use std::sync::atomic::Ordering::SeqCst;
    let sig = libc::SIGRTMIN() + 2;
    catch_sigio(sig);
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    for _ in 0..3 {
        let r = open(&ctx.dev, O_RDWR | O_NONBLOCK)?;
        set_async(&r, sig, true, true)?;
        drop(r);
    }
    let base = SIGIO_SEEN.load(SeqCst);
    write_all(&w, b"to nobody")?;
    check(sigio_event(base + 1, 200).is_none(), || {
        "a closed file was signalled".into()
    })
}

fn iovecs(bufs: &mut [Vec<u8>]) -> Vec<libc::iovec> {
    bufs.iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect()
}

/// `writev(fd, bufs)`.
fn writev(fd: &Fd, bufs: &mut [Vec<u8>]) -> Result<usize, i32> {
    let iov = iovecs(bufs);
    // SAFETY: every iovec covers a live buffer.
    let n = unsafe { libc::writev(fd.0, iov.as_ptr(), iov.len() as i32) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// writev(2) and readv(2) with several iovecs, an empty one among them:
/// the bytes go in and come out in iovec order.
fn readv_writev_several_iovecs(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    let mut src = vec![
        b"first".to_vec(),
        Vec::new(),
        b"-second".to_vec(),
        b"!".to_vec(),
    ];
    let n = writev(&f, &mut src).map_err(|e| format!("writev: {}", err_name(e)))?;
    check(n == 13, || format!("writev returned {n}, want 13"))?;
    let mut dst = vec![vec![0u8; 4], vec![0u8; 0], vec![0u8; 6], vec![0u8; 8]];
    let iov = iovecs(&mut dst);
    // SAFETY: every iovec covers a live buffer.
    let n = unsafe { libc::readv(f.0, iov.as_ptr(), iov.len() as i32) };
    check(n == 13, || format!("readv returned {n}, want 13"))?;
    let got: Vec<u8> = dst.concat();
    check(&got[..13] == b"first-second!", || {
        format!("readv got {:?}", String::from_utf8_lossy(&got))
    })?;
    check(&dst[0] == b"firs" && &dst[2] == b"t-seco", || {
        "readv filled the iovecs out of order".into()
    })
}

/// A writev of at most `PIPE_BUF` bytes is one atomic write whatever its
/// iovecs: into a FIFO with less room, a non-blocking one stores nothing;
/// with room, all.
fn writev_atomic_across_iovecs(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let cap = fill(ctx, &w)?;
    read_exact(&r, 10)?;
    let mut bufs = vec![vec![1u8; 7], vec![2u8; 9], vec![3u8; 7]];
    expect_err(
        "writev of 23 bytes into 10 free",
        writev(&w, &mut bufs),
        libc::EAGAIN,
    )?;
    check(stats(&w)?.len == cap - 10, || {
        "the refused writev stored bytes".into()
    })?;
    read_exact(&r, 13)?;
    let n = writev(&w, &mut bufs).map_err(|e| format!("writev with room: {}", err_name(e)))?;
    check(n == 23, || format!("writev stored {n} of 23"))
}

/// A blocking write of more than `PIPE_BUF` bytes into a full FIFO sleeps
/// until some room frees, then stores what fits and returns that count.
fn blocking_large_write_into_full(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    fill(ctx, &w)?;
    let big = 3 * PIPE_BUF + 5;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        let n = write(&w, &vec![9u8; big]).map_err(err_name)?;
        check(n == 100, || {
            format!("the large write returned {n}, want the 100 bytes freed")
        })
    })?;
    wait_asleep(child, "the large write did not sleep on a full FIFO")?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    read_exact(&r, 100)?;
    wait(child)
}

/// select(2): the read and write sets follow the FIFO, and a select asleep
/// in another process wakes when data arrives.
fn select_readiness_and_wakeup(ctx: &Ctx) -> Res<()> {
    fn select1(fd: &Fd, read: bool, timeout_ms: i64) -> Res<bool> {
        // SAFETY: an fd_set on the stack, one descriptor below FD_SETSIZE.
        unsafe {
            let mut set: libc::fd_set = std::mem::zeroed();
            libc::FD_ZERO(&mut set);
            libc::FD_SET(fd.0, &mut set);
            let mut tv = libc::timeval {
                tv_sec: timeout_ms / 1000,
                tv_usec: (timeout_ms % 1000) * 1000,
            };
            let (rs, ws) = if read {
                (&mut set as *mut libc::fd_set, std::ptr::null_mut())
            } else {
                (std::ptr::null_mut(), &mut set as *mut libc::fd_set)
            };
            let n = libc::select(fd.0 + 1, rs, ws, std::ptr::null_mut(), &mut tv);
            if n < 0 {
                return Err(format!("select: {}", err_name(errno())));
            }
            Ok(n == 1 && libc::FD_ISSET(fd.0, &set))
        }
    }
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    check(!select1(&r, true, 0)?, || {
        "empty FIFO selected readable".into()
    })?;
    check(select1(&w, false, 0)?, || {
        "empty FIFO not selected writable".into()
    })?;
    fill(ctx, &w)?;
    check(select1(&r, true, 0)?, || {
        "full FIFO not selected readable".into()
    })?;
    check(!select1(&w, false, 0)?, || {
        "full FIFO selected writable".into()
    })?;
    read_exact(&r, ctx.default_capacity as usize)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let r = open(&dev, O_RDONLY | O_NONBLOCK)?;
        check(select1(&r, true, 10_000)?, || {
            "select in the child timed out".into()
        })
    })?;
    wait_asleep(child, "select did not sleep on an empty FIFO")?;
    write_all(&w, b"wake")?;
    wait(child)
}

/// Edge-triggered epoll: one event per arrival of data, none while the
/// same data just sits there.
fn epoll_edge_triggered(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    // SAFETY: plain epoll calls on valid descriptors and buffers.
    let ep = Fd(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
    check(ep.0 >= 0, || "epoll_create1 failed".into())?;
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLET) as u32,
        u64: 7,
    };
    // SAFETY: as above.
    let rc = unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, r.0, &mut ev) };
    check(rc == 0, || format!("epoll_ctl: {}", err_name(errno())))?;
    let wait_events = |ms: i32| -> i32 {
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: as above.
        unsafe { libc::epoll_wait(ep.0, out.as_mut_ptr(), 4, ms) }
    };
    check(wait_events(0) == 0, || "an event on an empty FIFO".into())?;
    write_all(&w, b"one")?;
    check(wait_events(1000) == 1, || {
        "no event when data arrived".into()
    })?;
    check(wait_events(50) == 0, || {
        "a second event for the same data".into()
    })?;
    write_all(&w, b"two")?;
    check(wait_events(1000) == 1, || "no event for more data".into())?;
    read_exact(&r, 6)?;
    check(wait_events(50) == 0, || "an event after draining".into())
}

/// Clearing `O_NONBLOCK` with fcntl makes the next read and the next write
/// block again.
fn fcntl_clearing_nonblock_blocks(ctx: &Ctx) -> Res<()> {
    let dev = ctx.dev.clone();
    let reader = fork(move || {
        let _w = open(&dev, O_WRONLY | O_NONBLOCK)?;
        let r = open(&dev, O_RDONLY | O_NONBLOCK)?;
        expect_err("non-blocking read", read(&r, &mut [0u8; 4]), libc::EAGAIN)?;
        set_nonblock(&r, false)?;
        let got = read_exact(&r, 4)?;
        check(got == b"data", || format!("read {got:?}"))
    })?;
    wait_asleep(reader, "a read did not block after O_NONBLOCK was cleared")?;
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    write_all(&w, b"data")?;
    wait(reader)?;

    fill(ctx, &w)?;
    let dev = ctx.dev.clone();
    let writer = fork(move || {
        let w = open(&dev, O_WRONLY | O_NONBLOCK)?;
        expect_err("non-blocking write", write(&w, b"x"), libc::EAGAIN)?;
        set_nonblock(&w, false)?;
        write_all(&w, b"x")
    })?;
    wait_asleep(writer, "a write did not block after O_NONBLOCK was cleared")?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    read_exact(&r, 1)?;
    wait(writer)
}

/// Many openers at once: the counts follow every open and close, and end of
/// file comes only when the last of many writers closes.
fn many_openers(ctx: &Ctx) -> Res<()> {
    let mut files = Vec::new();
    let (mut readers, mut writers) = (0u32, 0u32);
    let probe = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    readers += 1;
    for i in 0..300 {
        let mode = [O_RDONLY, O_WRONLY, O_RDWR][i % 3];
        files.push(open(&ctx.dev, mode | O_NONBLOCK)?);
        readers += u32::from(mode != O_WRONLY);
        writers += u32::from(mode != O_RDONLY);
    }
    let s = stats(&probe)?;
    check(s.readers == readers && s.writers == writers, || {
        format!(
            "{} readers, {} writers; want {readers}, {writers}",
            s.readers, s.writers
        )
    })?;
    // Close all but one writer, in a scattered order.
    let last_writer = files.remove(1);
    let mut i = 0;
    while !files.is_empty() {
        i = (i + 7) % files.len();
        drop(files.swap_remove(i));
    }
    let s = stats(&probe)?;
    check(s.readers == 1 && s.writers == 1, || {
        format!(
            "after closing: {} readers, {} writers",
            s.readers, s.writers
        )
    })?;
    expect_err(
        "read with one writer left",
        read(&probe, &mut [0u8; 1]),
        libc::EAGAIN,
    )?;
    drop(last_writer);
    check(read(&probe, &mut [0u8; 1]) == Ok(0), || {
        "no end of file after the last writer closed".into()
    })
}

/// SET_CAPACITY that makes room wakes a writer asleep on a full FIFO.
fn set_capacity_wakes_blocked_writer(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    set_capacity(&w, MIN_CAPACITY).map_err(|e| format!("SET_CAPACITY: {}", err_name(e)))?;
    fill(ctx, &w)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        write_all(&w, b"after grow")
    })?;
    wait_asleep(child, "the writer did not block on a full FIFO")?;
    set_capacity(&w, 2 * MIN_CAPACITY).map_err(|e| format!("SET_CAPACITY: {}", err_name(e)))?;
    wait(child)?;
    let s = stats(&w)?;
    check(s.len == MIN_CAPACITY + 10, || {
        format!("len {} after the grow and write", s.len)
    })
}

/// SET_CAPACITY's documented error order: EPERM before EFAULT before
/// EINVAL; EBUSY only for a valid size that the data does not fit.
fn set_capacity_error_order(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, &[5u8; 5000])?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        become_nobody()?;
        let f = open(&dev, O_RDWR)?;
        expect_err(
            "unprivileged SET_CAPACITY with a NULL pointer",
            ioctl_ptr(&f, SET_CAPACITY, std::ptr::null_mut()),
            libc::EPERM,
        )
    })?;
    wait(child)?;
    expect_err(
        "SET_CAPACITY with a NULL pointer",
        ioctl_ptr(&f, SET_CAPACITY, std::ptr::null_mut()),
        libc::EFAULT,
    )?;
    expect_err("SET_CAPACITY to 1", set_capacity(&f, 1), libc::EINVAL)?;
    expect_err(
        "SET_CAPACITY to 4096 with 5000 bytes in",
        set_capacity(&f, 4096),
        libc::EBUSY,
    )?;
    let s = stats(&f)?;
    check(s.len == 5000 && s.capacity == ctx.default_capacity, || {
        format!("a refused SET_CAPACITY changed the state: {s:?}")
    })
}

fn nonblock_write_full_eagain(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    fill(ctx, &w)?;
    expect_err("write to a full FIFO", write(&w, b"x"), libc::EAGAIN)
}

fn fcntl_nonblock_seen_at_read_time(ctx: &Ctx) -> Res<()> {
    let _w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY)?;
    // Opened blocking; O_NONBLOCK set afterwards must take effect at once.
    set_nonblock(&r, true)?;
    expect_err(
        "read after F_SETFL O_NONBLOCK",
        read(&r, &mut [0u8; 8]),
        libc::EAGAIN,
    )
}

fn atomic_write_all_or_nothing(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let cap = capacity(&w)? as usize;
    write_all(&w, &vec![1u8; cap - 100])?;
    // 200 bytes (<= PIPE_BUF) do not fit in 100: nothing, not 100.
    expect_err("atomic write", write(&w, &[2u8; 200]), libc::EAGAIN)?;
    let s = stats(&w)?;
    check(s.len as usize == cap - 100, || {
        format!("len {} after a refused atomic write", s.len)
    })?;
    // A write larger than PIPE_BUF takes what fits.
    let n = write(&w, &vec![3u8; PIPE_BUF + 1]).map_err(err_name)?;
    check(n == 100, || format!("large write stored {n}, want 100"))
}

fn blocked_writer_woken_by_reader(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    fill(ctx, &w)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        let n = write(&w, b"0123456789").map_err(err_name)?;
        check(n == 10, || format!("child wrote {n}"))
    })?;
    // Asleep in the write (its only blocking call), not just slow to start.
    wait_asleep(child, "the writer did not block on a full FIFO")?;
    let r = open(&ctx.dev, O_RDONLY)?;
    read_exact(&r, 100)?;
    wait(child)
}

fn blocked_reader_woken_by_writer(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let r = open(&dev, O_RDONLY)?;
        let got = read_exact(&r, 4)?;
        check(got == b"ping", || format!("child read {got:?}"))
    })?;
    wait_asleep(child, "the reader did not block on an empty FIFO")?;
    write_all(&w, b"ping")?;
    wait(child)
}

/// Waits until process `pid` sleeps (state `S` in `/proc/PID/stat`), which
/// the children of these tests can only do inside their one blocking call;
/// `Err(why)` if it exits or never sleeps within 5 s.
fn wait_asleep(pid: libc::pid_t, why: &str) -> Res<()> {
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        match state {
            Some('S') => return Ok(()),
            Some('Z') | None => return Err(format!("{why}: it exited")),
            _ if start.elapsed() > Duration::from_secs(5) => {
                return Err(format!("{why}: not asleep after 5 s"))
            }
            _ => std::thread::yield_now(),
        }
    }
}

/// The scheduler state of one of our threads (`R`, `S`, `D`, ...), from
/// `/proc/self/task/TID/stat`.
pub(crate) fn thread_state(tid: i32) -> Res<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .map_err(|e| format!("stat of thread {tid}: {e}"))?;
    // The state follows the parenthesised command name.
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .ok_or_else(|| format!("unparsable stat: {stat}"))
}

/// Starts a thread that reads `fd` once and sends the result; returns its
/// TID once the thread is asleep (state `S`), which it can only be inside
/// that read.
pub(crate) fn blocked_reader(fd: i32) -> Res<(i32, std::sync::mpsc::Receiver<Result<usize, i32>>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    spawn(move || {
        // SAFETY: gettid has no preconditions.
        let _ = tid_tx.send(unsafe { libc::gettid() });
        let mut buf = [0u8; 16];
        // SAFETY: a valid buffer; `fd` outlives the read (the caller keeps
        // it open until the result arrives).
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        let _ = tx.send(if n < 0 { Err(errno()) } else { Ok(n as usize) });
    });
    let tid = tid_rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| "the reader thread did not start".to_string())?;
    let start = Instant::now();
    while thread_state(tid)? != 'S' {
        if start.elapsed() > Duration::from_secs(5) {
            return Err("the reader never went to sleep".into());
        }
        std::thread::yield_now();
    }
    Ok((tid, rx))
}

/// Only the last writer's close is end of file for a reader asleep on an
/// empty FIFO, and that close must wake it (release wakes without the FIFO
/// lock, so this is where a lost wake-up would show).
fn blocked_reader_eof_on_last_writer_close(ctx: &Ctx) -> Res<()> {
    let w1 = open(&ctx.dev, O_WRONLY)?;
    let w2 = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY)?;
    let (tid, rx) = blocked_reader(r.0)?;
    drop(w1);
    sleep_ms(200);
    check(rx.try_recv().is_err(), || {
        "the reader returned while a writer was still open".into()
    })?;
    check(thread_state(tid)? == 'S', || {
        "the reader is not asleep while a writer is open".into()
    })?;
    drop(w2);
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(0)) => Ok(()),
        Ok(Ok(n)) => Err(format!("read returned {n} bytes, want 0 (EOF)")),
        Ok(Err(e)) => Err(format!("read failed with {}", err_name(e))),
        Err(_) => Err("the last writer's close did not wake the reader".into()),
    }
}

/// The last writer's close racing a reader that is about to sleep: every
/// read must end in EOF, never sleep for ever (a lost wake-up).
fn last_writer_close_races_reader(ctx: &Ctx) -> Res<()> {
    let mut rng = Rng::new(7);
    for i in 0..200 {
        let w = open(&ctx.dev, O_WRONLY)?;
        let r = open(&ctx.dev, O_RDONLY)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let fd = r.0;
        spawn(move || {
            let mut buf = [0u8; 4];
            // SAFETY: a valid buffer; `r` stays open until the result arrives.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            let _ = tx.send(n);
        });
        // Close at a random moment around the reader's check and sleep.
        let spin = rng.below(2000);
        let start = Instant::now();
        while start.elapsed().as_nanos() < u128::from(spin) * 100 {
            std::hint::spin_loop();
        }
        drop(w);
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(0) => {}
            Ok(n) => return Err(format!("round {i}: read returned {n}, want 0 (EOF)")),
            Err(_) => {
                return Err(format!(
                    "round {i}: the reader was never woken (lost wake-up)"
                ))
            }
        }
        drop(r);
    }
    Ok(())
}

const IN: i16 = libc::POLLIN;
const OUT: i16 = libc::POLLOUT;
const HUP: i16 = libc::POLLHUP;

fn poll_readiness_transitions(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let ev = poll1(&r, IN, 0)?;
    check(ev & IN == 0, || {
        format!("empty with a writer: reader revents {ev:#x}")
    })?;
    let ev = poll1(&w, OUT, 0)?;
    check(ev & OUT != 0, || format!("empty: writer revents {ev:#x}"))?;
    write_all(&w, b"x")?;
    let ev = poll1(&r, IN, 0)?;
    check(ev & IN != 0, || format!("one byte: reader revents {ev:#x}"))?;
    fill_rest(&w)?;
    let ev = poll1(&w, OUT, 0)?;
    check(ev & OUT == 0, || format!("full: writer revents {ev:#x}"))?;
    // POLLOUT only once a PIPE_BUF write fits, as on a pipe.
    read_exact(&r, PIPE_BUF - 1)?;
    let ev = poll1(&w, OUT, 0)?;
    check(ev & OUT == 0, || {
        format!("PIPE_BUF - 1 free: writer revents {ev:#x}")
    })?;
    read_exact(&r, 1)?;
    let ev = poll1(&w, OUT, 0)?;
    check(ev & OUT != 0, || {
        format!("PIPE_BUF free: writer revents {ev:#x}")
    })?;
    drop(w);
    let mut big = vec![0u8; 1 << 20];
    while read(&r, &mut big).map_err(err_name)? > 0 {}
    let ev = poll1(&r, IN, 0)?;
    check(ev & IN != 0 && ev & HUP != 0, || {
        format!("empty without writers: reader revents {ev:#x}, want IN|HUP")
    })
}

fn fill_rest(w: &Fd) -> Res<()> {
    let chunk = vec![7u8; 4096];
    loop {
        match write(w, &chunk[..1]) {
            Ok(_) => {}
            Err(libc::EAGAIN) => return Ok(()),
            Err(e) => return Err(format!("fill: {}", err_name(e))),
        }
        let s = stats(w)?;
        let free = (s.capacity - s.len) as usize;
        if free > 0 {
            write_all(w, &vec![7u8; free])?;
        }
    }
}

/// `POLLOUT` exactly when a `PIPE_BUF` write fits. On the device, with all
/// of it, `PIPE_BUF + 1`, `PIPE_BUF`, `PIPE_BUF - 1`, 100 and no bytes
/// free, `POLLOUT` must follow `free >= PIPE_BUF`, and at each level a
/// non-blocking `PIPE_BUF` write must go through exactly when poll said
/// `POLLOUT`.
///
/// Then a pipe, judged by what a pipe does on this kernel: it reports
/// `POLLOUT` while one of its buffer slots (a page each) is free, and a
/// `PIPE_BUF` write then always goes through. Without `POLLOUT` the write
/// still goes through when it fits the free tail of the last, partly filled
/// page (fs/pipe.c merges it there): never with 4 KiB pages, where no tail
/// holds `PIPE_BUF` bytes, but with 16 KiB ones it does. The levels straddle
/// the last slot (one byte more, and every slot is in use); the page size is
/// the system's.
fn poll_pollout_at_atomic_size(ctx: &Ctx) -> Res<()> {
    let cap = ctx.default_capacity as usize;
    let frees = [cap, PIPE_BUF + 1, PIPE_BUF, PIPE_BUF - 1, 100, 0];
    let levels: Vec<usize> = frees.iter().map(|free| cap - free).collect();
    let dev = ctx.dev.clone();
    let seen = pollout_and_atomic_write("the device", &levels, |held| {
        let w = open(&dev, O_WRONLY | O_NONBLOCK)?;
        clear(&w).map_err(|e| format!("CLEAR: {}", err_name(e)))?;
        write_all(&w, &vec![0x33u8; held])?;
        Ok((w, ()))
    })?;
    for (free, (out, fits)) in frees.iter().zip(seen) {
        let want = *free >= PIPE_BUF;
        check(out == want && fits == out, || {
            format!(
                "the device with {free} bytes free: POLLOUT {out} (want {want}), yet a PIPE_BUF write {}",
                if fits { "went through" } else { "got EAGAIN" }
            )
        })?;
    }

    // A pipe of 64 KiB: 16 slots with 4 KiB pages, 4 with 16 KiB ones; with
    // larger pages, four of them.
    let page = page_size();
    let size = 65536.max(4 * page);
    let slots = size.div_ceil(page);
    let levels = [
        0,
        100,
        size - page - 1,
        size - page,
        size - page + 1,
        size - 100,
        size,
    ];
    let seen = pollout_and_atomic_write("a pipe", &levels, |held| {
        let (r, w) = pipe()?;
        let want = libc::c_int::try_from(size).map_err(|_| "pipe size".to_string())?;
        // SAFETY: fcntl on our own descriptor.
        let got = unsafe { libc::fcntl(w.0, libc::F_SETPIPE_SZ, want) };
        check(got == want, || {
            format!("F_SETPIPE_SZ {want} gave {got} ({})", err_name(errno()))
        })?;
        set_nonblock(&w, true)?;
        // One write: whole pages, the last one partly filled.
        write_all(&w, &vec![0x33u8; held])?;
        // The read end stays open: without one a write gets EPIPE.
        Ok((w, r))
    })?;
    for (held, (out, fits)) in levels.iter().zip(seen) {
        let want = held.div_ceil(page) < slots;
        let tail = held % page;
        let merges = tail != 0 && page - tail >= PIPE_BUF;
        check(out == want && fits == (out || merges), || {
            format!(
                "a pipe holding {held} bytes in {slots} slots of {page}: POLLOUT {out} (want {want}), \
                 a PIPE_BUF write {} (want {})",
                if fits { "went through" } else { "got EAGAIN" },
                if out || merges { "through" } else { "EAGAIN" }
            )
        })?;
    }
    Ok(())
}

/// Builds each fill level (bytes held) afresh with `build`, which returns a
/// non-blocking writing file and what must stay open beside it, and asks
/// poll for `POLLOUT` (`POLLWRNORM` always with it), then whether a
/// non-blocking write of `PIPE_BUF` bytes goes through, whole. A fresh state
/// per level, because a probe write that went through cannot be undone on a
/// pipe: reading it back frees other slots than the one it took. Returns
/// `(POLLOUT, the write went through)` at each level.
fn pollout_and_atomic_write<K>(
    what: &str,
    levels: &[usize],
    build: impl Fn(usize) -> Res<(Fd, K)>,
) -> Res<Vec<(bool, bool)>> {
    let mut seen = Vec::new();
    for &held in levels {
        let (w, _keep) = build(held)?;
        let ev = poll1(&w, OUT | libc::POLLWRNORM, 0)?;
        let out = ev & OUT != 0;
        check(out == (ev & libc::POLLWRNORM != 0), || {
            format!("{what} holding {held} bytes: revents {ev:#x}, POLLOUT and POLLWRNORM differ")
        })?;
        let fits = match write(&w, &[0x44u8; PIPE_BUF]) {
            Ok(PIPE_BUF) => true,
            Err(libc::EAGAIN) => false,
            r => {
                return Err(format!(
                    "{what} holding {held} bytes: a non-blocking PIPE_BUF write gave {r:?}, want all or EAGAIN"
                ))
            }
        };
        seen.push((out, fits));
    }
    Ok(seen)
}

/// poll answers by the file's access mode, as for a pipe. With data in the
/// FIFO, room for a `PIPE_BUF` write and a writer open, a read-only file
/// gets `POLLIN` and never `POLLOUT`, a write-only one `POLLOUT` and never
/// `POLLIN`, a read-write one both. The same assertions run on a pipe: its
/// read end, its write end, and a read-write file of the same pipe opened
/// through `/proc/self/fd`. A file of the device opened with access mode 3
/// gets nothing (a FIFO refuses that mode, so the device alone).
fn poll_respects_access_mode(ctx: &Ctx) -> Res<()> {
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let rw = open(&ctx.dev, O_RDWR | O_NONBLOCK)?;
    write_all(&w, b"data")?;
    poll_by_access_mode("the device", &r, &w, &rw)?;
    let none = open(&ctx.dev, O_ACCMODE_3 | O_NONBLOCK)?;
    let ev = poll1(&none, IN | OUT, 0)?;
    check(ev == 0, || {
        format!("the device, access mode 3: revents {ev:#x}, want none")
    })?;

    let (pr, pw) = pipe()?;
    let prw = open(&format!("/proc/self/fd/{}", pr.0), O_RDWR | O_NONBLOCK)?;
    write_all(&pw, b"data")?;
    poll_by_access_mode("a pipe", &pr, &pw, &prw)
}

/// A read-only, a write-only and a read-write file of one FIFO that holds
/// data and has room for a `PIPE_BUF` write, with a writer open: each gets
/// exactly the events of its access mode.
fn poll_by_access_mode(what: &str, r: &Fd, w: &Fd, rw: &Fd) -> Res<()> {
    for (mode, f, want) in [
        ("O_RDONLY", r, IN),
        ("O_WRONLY", w, OUT),
        ("O_RDWR", rw, IN | OUT),
    ] {
        let ev = poll1(f, IN | OUT, 0)?;
        check(ev == want, || {
            format!("{what}, {mode} file with data and room: revents {ev:#x}, want {want:#x}")
        })?;
    }
    Ok(())
}

/// POLLHUP: absent while a writer is open, never on a write-only file, and
/// a reader asleep in poll() is woken with it when the last writer closes
/// (the wake-up that release sends without the FIFO lock).
fn pollhup_rules(ctx: &Ctx) -> Res<()> {
    let w1 = open(&ctx.dev, O_WRONLY)?;
    let w2 = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY)?;
    let ev = poll1(&r, IN, 0)?;
    check(ev & HUP == 0, || {
        format!("writers open: reader revents {ev:#x}")
    })?;
    let fd = r.0;
    let (tx, rx) = std::sync::mpsc::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    spawn(move || {
        // SAFETY: gettid has no preconditions.
        let _ = tid_tx.send(unsafe { libc::gettid() });
        let mut p = libc::pollfd {
            fd,
            events: IN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; `r` stays open until the result comes.
        let n = unsafe { libc::poll(&mut p, 1, 10_000) };
        let _ = tx.send((n, p.revents));
    });
    let tid = tid_rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| "the poller did not start".to_string())?;
    let start = Instant::now();
    while thread_state(tid)? != 'S' {
        if start.elapsed() > Duration::from_secs(5) {
            return Err("the poller never went to sleep".into());
        }
        std::thread::yield_now();
    }
    drop(w1);
    sleep_ms(100);
    check(rx.try_recv().is_err(), || {
        "poll returned while a writer was still open".into()
    })?;
    drop(w2);
    let (n, ev) = rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| "the last writer's close did not wake the poller".to_string())?;
    check(n == 1 && ev & HUP != 0 && ev & IN != 0, || {
        format!("poll after the last writer closed: {n}, revents {ev:#x}")
    })?;
    // A write-only file never reports a hang-up.
    let w = open(&ctx.dev, O_WRONLY)?;
    drop(r);
    let ev = poll1(&w, OUT, 0)?;
    check(ev & HUP == 0, || {
        format!("write-only file: revents {ev:#x}")
    })
}

/// A writer asleep on a full FIFO is woken by CLEAR, and its write lands.
fn clear_wakes_blocked_writer(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    fill(ctx, &w)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        let n = write(&w, b"after clear").map_err(err_name)?;
        check(n == 11, || format!("child wrote {n}"))
    })?;
    wait_asleep(child, "the writer did not block on a full FIFO")?;
    clear(&w).map_err(|e| format!("CLEAR: {}", err_name(e)))?;
    wait(child)?;
    let s = stats(&w)?;
    check(s.len == 11, || {
        format!("len {} after CLEAR and the write", s.len)
    })
}

/// Reads and writes of zero bytes succeed with 0 and count nothing.
fn zero_length_calls_count_nothing(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, b"x")?;
    let before = stats(&f)?;
    check(write(&f, &[]) == Ok(0), || {
        "a zero-length write did not return 0".into()
    })?;
    check(read(&f, &mut []) == Ok(0), || {
        "a zero-length read did not return 0".into()
    })?;
    let after = stats(&f)?;
    check(before == after, || {
        format!("zero-length calls changed the stats: {before:?} -> {after:?}")
    })
}

/// A file opened for reading cannot write, and one opened for writing
/// cannot read: EBADF, from the VFS, with the FIFO untouched.
fn wrong_access_mode_ebadf(ctx: &Ctx) -> Res<()> {
    let r = open(&ctx.dev, O_RDONLY)?;
    let w = open(&ctx.dev, O_WRONLY)?;
    expect_err("write on a read-only file", write(&r, b"no"), libc::EBADF)?;
    write_all(&w, b"yes")?;
    expect_err(
        "read on a write-only file",
        read(&w, &mut [0u8; 4]),
        libc::EBADF,
    )?;
    let s = stats(&r)?;
    check(s.len == 3, || {
        format!("len {} after the refused calls", s.len)
    })
}

fn poll_wakeup_from_other_process(ctx: &Ctx) -> Res<()> {
    // Readable: another process writes while we sleep in poll.
    let _w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        sleep_ms(200);
        write_all(&w, b"wake")
    })?;
    let start = Instant::now();
    let ev = poll1(&r, IN, 10_000)?;
    wait(child)?;
    check(ev & IN != 0, || format!("poll for IN returned {ev:#x}"))?;
    check(start.elapsed() < Duration::from_secs(9), || {
        "poll for IN timed out".into()
    })?;
    read_exact(&r, 4)?;

    // Writable: another process reads from a full FIFO.
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    fill(ctx, &w)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let r = open(&dev, O_RDONLY)?;
        sleep_ms(200);
        read_exact(&r, PIPE_BUF).map(|_| ())
    })?;
    let ev = poll1(&w, OUT, 10_000)?;
    wait(child)?;
    check(ev & OUT != 0, || format!("poll for OUT returned {ev:#x}"))
}

fn epoll_readiness_and_wakeup(ctx: &Ctx) -> Res<()> {
    let _w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    // SAFETY: plain epoll calls on valid descriptors and buffers.
    let ep = Fd(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
    check(ep.0 >= 0, || "epoll_create1 failed".into())?;
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 1,
    };
    // SAFETY: as above.
    let rc = unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, r.0, &mut ev) };
    check(rc == 0, || "epoll_ctl failed".into())?;
    let wait_ev = |ms: i32| -> Res<i32> {
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: as above.
        let n = unsafe { libc::epoll_wait(ep.0, out.as_mut_ptr(), 4, ms) };
        check(n >= 0, || "epoll_wait failed".into())?;
        Ok(n)
    };
    let n = wait_ev(0)?;
    check(n == 0, || format!("empty FIFO: epoll reported {n} events"))?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        sleep_ms(200);
        write_all(&w, b"e")
    })?;
    let n = wait_ev(10_000)?;
    wait(child)?;
    check(n == 1, || {
        format!("after a write: epoll reported {n} events")
    })?;
    read_exact(&r, 1)?;
    let n = wait_ev(0)?;
    check(n == 0, || {
        format!("drained again: epoll reported {n} events")
    })
}

/// How many SIGALRMs the handler has seen: proof that the signal hit.
static ALARMS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// When the handler last ran (CLOCK_MONOTONIC, ns).
static ALARM_AT_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn on_alarm(_: libc::c_int) {
    // Both are async-signal-safe: an atomic store and clock_gettime.
    ALARM_AT_NS.store(monotonic_ns(), std::sync::atomic::Ordering::SeqCst);
    ALARMS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn alarms() -> u32 {
    ALARMS.load(std::sync::atomic::Ordering::SeqCst)
}

/// Arms SIGALRM in 200 ms with a handler that counts it.
fn arm_alarm(flags: libc::c_int) {
    // SAFETY: installing a handler that does nothing, and a one-shot timer.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = flags;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut());
        let t = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: 0,
                tv_usec: 200_000,
            },
        };
        libc::setitimer(libc::ITIMER_REAL, &t, std::ptr::null_mut());
    }
}

fn disarm_alarm() {
    // SAFETY: restore the default disposition.
    unsafe { libc::signal(libc::SIGALRM, libc::SIG_DFL) };
}

fn sigalrm_interrupts_read_no_loss(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY)?;
    // No SA_RESTART: the interrupted read returns EINTR.
    let before = alarms();
    arm_alarm(0);
    let res = read(&r, &mut [0u8; 8]);
    disarm_alarm();
    expect_err("blocking read hit by SIGALRM", res, libc::EINTR)?;
    check(alarms() == before + 1, || "the handler did not run".into())?;
    write_all(&w, b"kept")?;
    let got = read_exact(&r, 4)?;
    check(got == b"kept", || format!("after EINTR read {got:?}"))?;
    let s = stats(&w)?;
    check(s.len == 0, || {
        format!("{} bytes left after reading all", s.len)
    })
}

/// A writer blocked on a full FIFO and hit by a signal: EINTR, nothing of
/// its data stored, and every byte already in the FIFO still there, in
/// order.
fn sigalrm_interrupts_write_no_loss(ctx: &Ctx) -> Res<()> {
    let w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let cap = capacity(&w)? as usize;
    let data: Vec<u8> = (0..cap).map(|i| (i % 253) as u8).collect();
    write_all(&w, &data)?;
    let before = alarms();
    arm_alarm(0);
    let res = write(&w, &[0xEEu8; 100]);
    disarm_alarm();
    expect_err("blocking write hit by SIGALRM", res, libc::EINTR)?;
    check(alarms() == before + 1, || "the handler did not run".into())?;
    let s = stats(&w)?;
    check(s.len as usize == cap, || {
        format!("len {} after an interrupted write, want {cap}", s.len)
    })?;
    let got = read_exact(&r, cap)?;
    check(got == data, || "the FIFO's data changed".into())?;
    let mut more = [0u8; 1];
    expect_err("read after draining", read(&r, &mut more), libc::EAGAIN)
}

fn sa_restart_restarts_read(ctx: &Ctx) -> Res<()> {
    let _w = open(&ctx.dev, O_WRONLY)?;
    let r = open(&ctx.dev, O_RDONLY)?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        let w = open(&dev, O_WRONLY)?;
        sleep_ms(500);
        write_all(&w, b"late")
    })?;
    // With SA_RESTART the signal at 200 ms restarts the read, which then
    // returns the child's data at 500 ms.
    let before = alarms();
    arm_alarm(libc::SA_RESTART);
    let start = Instant::now();
    let res = read(&r, &mut [0u8; 8]);
    let returned = monotonic_ns();
    disarm_alarm();
    wait(child)?;
    // The handler ran while the read was blocked, well before the data came
    // and the read returned: the signal interrupted the wait, and the kernel
    // restarted the read. A wait that ignored the signal would run the
    // handler only on the way out, after the read.
    check(alarms() == before + 1, || {
        "the handler did not run: the signal never hit the read".into()
    })?;
    let at = ALARM_AT_NS.load(std::sync::atomic::Ordering::SeqCst);
    check(at + 100_000_000 <= returned, || {
        format!(
            "the handler ran {} ms before the read returned, want at least 100",
            (returned.saturating_sub(at)) / 1_000_000
        )
    })?;
    check(res == Ok(4), || {
        format!("restarted read returned {res:?}, want Ok(4)")
    })?;
    check(start.elapsed() >= Duration::from_millis(400), || {
        "the read did not wait for the data".into()
    })
}

fn seek_pread_pwrite_espipe(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, b"abc")?;
    // SAFETY: plain calls on a valid descriptor and buffer.
    let (seek, pread, pwrite) = unsafe {
        let seek = libc::lseek(f.0, 0, libc::SEEK_SET);
        let seek_errno = errno();
        let mut buf = [0u8; 4];
        let pr = libc::pread(f.0, buf.as_mut_ptr().cast(), 4, 0);
        let pr_errno = errno();
        let pw = libc::pwrite(f.0, b"zz".as_ptr().cast(), 2, 0);
        let pw_errno = errno();
        ((seek as isize, seek_errno), (pr, pr_errno), (pw, pw_errno))
    };
    for (what, (ret, e)) in [("lseek", seek), ("pread", pread), ("pwrite", pwrite)] {
        check(ret == -1 && e == libc::ESPIPE, || {
            format!("{what}: returned {ret}, {}", err_name(e))
        })?;
    }
    let s = stats(&f)?;
    check(s.len == 3, || {
        format!("len {} after refused pread/pwrite, want 3", s.len)
    })
}

fn ioctl_stats_match_activity(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    let before = stats(&f)?;
    for n in [10usize, 20, 30] {
        write_all(&f, &vec![b'a'; n])?;
    }
    let mut buf = vec![0u8; 25];
    read(&f, &mut buf).map_err(err_name)?;
    let mut buf = vec![0u8; 100];
    let n = read(&f, &mut buf).map_err(err_name)?;
    check(n == 35, || format!("second read got {n}"))?;
    let _r = open(&ctx.dev, O_RDONLY)?;
    let after = stats(&f)?;
    let got = (
        after.bytes_written - before.bytes_written,
        after.writes - before.writes,
        after.bytes_read - before.bytes_read,
        after.reads - before.reads,
        after.len,
        after.capacity,
        after.readers,
        after.writers,
    );
    let want = (60, 3, 60, 2, 0, ctx.default_capacity, 2, 1);
    check(got == want, || {
        format!("stats deltas {got:?}, want {want:?}")
    })
}

fn ioctl_stats_fully_initialised(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, b"xyz")?;
    let mut raw = [[0u8; 56]; 2];
    for (buf, pattern) in raw.iter_mut().zip([0xAAu8, 0x55]) {
        buf.fill(pattern);
        ioctl_ptr(&f, GET_STATS, buf.as_mut_ptr().cast()).map_err(err_name)?;
    }
    // Every byte was written by the kernel: the two pattern fills agree.
    check(raw[0] == raw[1], || {
        format!(
            "bytes differ between patterns: {:?} vs {:?}",
            raw[0], raw[1]
        )
    })?;
    // SAFETY: `Stats` is plain old data of exactly 56 bytes.
    let s: Stats = unsafe { std::ptr::read_unaligned(raw[0].as_ptr().cast()) };
    check(
        s.len == 3 && s.capacity == ctx.default_capacity && s.readers == 1 && s.writers == 1,
        || format!("decoded {s:?}"),
    )
}

/// A read writes exactly the bytes it reports and nothing past them, with
/// the buffer filled with two different patterns beforehand.
fn read_touches_only_what_it_returns(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    for pattern in [0xAAu8, 0x55] {
        write_all(&f, b"abc")?;
        let mut buf = [pattern; 16];
        let n = read(&f, &mut buf).map_err(err_name)?;
        check(n == 3 && &buf[..3] == b"abc", || {
            format!("read returned {n}: {:?}", &buf[..n])
        })?;
        check(buf[3..].iter().all(|b| *b == pattern), || {
            format!("bytes past the {n} returned changed: {:?}", &buf[3..])
        })?;
    }
    Ok(())
}

fn ioctl_get_capacity(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDONLY)?;
    let c = capacity(&f)?;
    check(c == ctx.default_capacity, || {
        format!("capacity {c}, want {}", ctx.default_capacity)
    })
}

fn ioctl_set_capacity(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    for bad in [0u64, MIN_CAPACITY - 1, MAX_CAPACITY + 1, u64::MAX] {
        expect_err(
            &format!("SET_CAPACITY {bad}"),
            set_capacity(&f, bad),
            libc::EINVAL,
        )?;
    }
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    write_all(&f, &data)?;
    expect_err(
        "SET_CAPACITY below len",
        set_capacity(&f, MIN_CAPACITY),
        libc::EBUSY,
    )?;
    check(capacity(&f)? == ctx.default_capacity, || {
        "a refused resize changed capacity".into()
    })?;
    set_capacity(&f, 8192).map_err(|e| format!("SET_CAPACITY 8192: {}", err_name(e)))?;
    check(capacity(&f)? == 8192, || {
        "capacity is not 8192 after resize".into()
    })?;
    set_capacity(&f, MAX_CAPACITY).map_err(|e| format!("SET_CAPACITY 16M: {}", err_name(e)))?;
    let got = read_exact(&f, data.len())?;
    check(got == data, || "contents changed across resizes".into())
}

fn ioctl_clear(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, b"to be dropped")?;
    clear(&f).map_err(err_name)?;
    let s = stats(&f)?;
    check(s.len == 0, || format!("len {} after CLEAR", s.len))
}

/// Drops to uid and gid 65534 with no groups: call it in a forked child.
fn become_nobody() -> Res<()> {
    // SAFETY: plain credential calls; the caller is a child of its own.
    unsafe {
        libc::setgroups(0, std::ptr::null());
        if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
            return Err("could not drop to uid 65534".into());
        }
    }
    Ok(())
}

fn ioctl_admin_eperm_unprivileged(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, b"keep")?;
    let dev = ctx.dev.clone();
    let child = fork(move || {
        become_nobody()?;
        // Mode 0666: data access and reading stats need no privilege.
        let f = open(&dev, O_RDWR)?;
        stats(&f)?;
        capacity(&f)?;
        expect_err(
            "SET_CAPACITY as uid 65534",
            set_capacity(&f, 8192),
            libc::EPERM,
        )?;
        expect_err("CLEAR as uid 65534", clear(&f), libc::EPERM)
    })?;
    wait(child)?;
    let s = stats(&f)?;
    check(s.len == 4 && s.capacity == ctx.default_capacity, || {
        format!("a refused admin ioctl changed the state: {s:?}")
    })
}

fn ioctl_unknown_enotty(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    let mut arg = 0u64;
    for cmd in [
        (0xB9u64 << 8) | 99,                        // our magic, unknown number
        (2u64 << 30) | (8 << 16) | (0x42 << 8) | 1, // another magic
        GET_STATS + (1 << 16),                      // right number, wrong size
    ] {
        expect_err(
            &format!("ioctl {cmd:#x}"),
            ioctl_ptr(&f, cmd, (&mut arg as *mut u64).cast()),
            libc::ENOTTY,
        )?;
    }
    Ok(())
}

fn ioctl_bad_pointer_efault(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    expect_err(
        "GET_STATS to NULL",
        ioctl_ptr(&f, GET_STATS, std::ptr::null_mut()),
        libc::EFAULT,
    )?;
    expect_err(
        "GET_CAPACITY to 0x10",
        ioctl_ptr(&f, GET_CAPACITY, 0x10 as *mut _),
        libc::EFAULT,
    )?;
    expect_err(
        "SET_CAPACITY from NULL",
        ioctl_ptr(&f, SET_CAPACITY, std::ptr::null_mut()),
        libc::EFAULT,
    )?;
    expect_err(
        "GET_STATS to a kernel address",
        ioctl_ptr(&f, GET_STATS, 0xffff_ffff_8100_0000usize as *mut _),
        libc::EFAULT,
    )?;
    check(capacity(&f)? == ctx.default_capacity, || {
        "a failed SET_CAPACITY changed capacity".into()
    })
}

/// The statistics' text (debugfs, fdinfo): every line the driver writes,
/// parsed, in order, each value equal to the same field of `GET_STATS`
/// read right after. A line too many (a pointer, say) or a value that means
/// something else fails.
pub(crate) fn stats_text_matches(lines: &[&str], s: &Stats) -> Res<()> {
    let want = [
        ("bytes_read", s.bytes_read),
        ("bytes_written", s.bytes_written),
        ("reads", s.reads),
        ("writes", s.writes),
        ("len", s.len),
        ("capacity", s.capacity),
        ("readers", s.readers as u64),
        ("writers", s.writers as u64),
    ];
    check(lines.len() == want.len(), || {
        format!("{} lines, want {}: {lines:?}", lines.len(), want.len())
    })?;
    for (line, (key, value)) in lines.iter().zip(want) {
        let parsed = line
            .split_once(":\t")
            .and_then(|(k, v)| Some((k, v.parse::<u64>().ok()?)));
        check(parsed == Some((key, value)), || {
            format!("line {line:?}, want \"{key}:\t{value}\"")
        })?;
    }
    Ok(())
}

fn fdinfo_shows_stats(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, b"12345")?;
    let text =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", f.0)).map_err(|e| e.to_string())?;
    let s = stats(&f)?;
    check(s.len == 5, || format!("len {} after writing 5", s.len))?;
    stats_text_matches(&fdinfo_driver_lines(&text), &s).map_err(|e| format!("fdinfo: {e}"))
}

/// The driver's lines of an fdinfo text: the VFS's own come first, the
/// driver's follow them.
pub(crate) fn fdinfo_driver_lines(text: &str) -> Vec<&str> {
    const VFS: [&str; 4] = ["pos", "flags", "mnt_id", "ino"];
    let lines: Vec<&str> = text.lines().collect();
    let ours = lines
        .iter()
        .position(|l| !VFS.iter().any(|k| l.starts_with(&format!("{k}:"))))
        .unwrap_or(lines.len());
    lines[ours..].to_vec()
}

fn debugfs_shows_stats(ctx: &Ctx) -> Res<()> {
    let f = open(&ctx.dev, O_RDWR)?;
    write_all(&f, b"123")?;
    // The driver's debugfs directory is named after its device node.
    let name = ctx.dev.rsplit('/').next().unwrap_or_default();
    let text = std::fs::read_to_string(format!("/sys/kernel/debug/{name}/stats"))
        .map_err(|e| e.to_string())?;
    let s = stats(&f)?;
    check(s.len == 3 && s.writers == 1, || format!("stats {s:?}"))?;
    let lines: Vec<&str> = text.lines().collect();
    stats_text_matches(&lines, &s).map_err(|e| format!("debugfs: {e}"))
}

const RECORD: usize = 16;
const WRITERS: u32 = 4;
const READERS: u32 = 4;
const RECORDS_PER_WRITER: u32 = 25_000;

fn checksum(writer: u32, seq: u32) -> u64 {
    let x = ((writer as u64) << 32 | seq as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

/// Forks writer `w` of a record test: it writes its records `0..total`,
/// `record(w, seq)` each, in batches of 1 to `max_batch` records, one
/// write(2) per batch (retried on EINTR) that must store all of it. The
/// child closes its copy of the test's `guard` descriptor first, so the
/// guard alone decides when the readers see end of file.
fn fork_record_writer<const N: usize>(
    dev: &str,
    guard: &Fd,
    w: u32,
    seed: u64,
    total: u32,
    max_batch: u64,
    record: fn(u32, u32) -> [u8; N],
) -> Res<libc::pid_t> {
    let dev = dev.to_string();
    let guard_fd = guard.0;
    fork(move || {
        // SAFETY: the child's copy of the guard descriptor.
        unsafe { libc::close(guard_fd) };
        let f = open(&dev, O_WRONLY)?;
        let mut rng = Rng::new(seed + w as u64);
        let mut seq = 0;
        while seq < total {
            let batch = (1 + rng.below(max_batch) as u32).min(total - seq);
            let buf: Vec<u8> = (seq..seq + batch).flat_map(|s| record(w, s)).collect();
            let n = loop {
                match write(&f, &buf) {
                    Err(libc::EINTR) => continue,
                    r => break r.map_err(|e| format!("writer {w}: {}", err_name(e)))?,
                }
            };
            check(n == buf.len(), || {
                format!("writer {w}: atomic write of {} stored {n}", buf.len())
            })?;
            seq += batch;
        }
        Ok(())
    })
}

fn record(writer: u32, seq: u32) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[..4].copy_from_slice(&writer.to_le_bytes());
    r[4..8].copy_from_slice(&seq.to_le_bytes());
    r[8..].copy_from_slice(&checksum(writer, seq).to_le_bytes());
    r
}

/// 4 writer and 4 reader processes move 100,000 checksummed records. Every
/// write is a whole number of records and at most PIPE_BUF, so atomic; every
/// read asks for a whole number of records. Each record must arrive exactly
/// once, intact, and each reader must see each writer's records in order.
fn concurrent_4x4_checksummed(ctx: &Ctx) -> Res<()> {
    // Held until the writers are done, so no reader sees EOF too early.
    let guard = open(&ctx.dev, O_WRONLY)?;
    let mut readers = Vec::new();
    for i in 0..READERS {
        let dev = ctx.dev.clone();
        let guard_fd = guard.0;
        readers.push(fork(move || {
            // SAFETY: the child's copy of the guard descriptor.
            unsafe { libc::close(guard_fd) };
            let r = open(&dev, O_RDONLY)?;
            let mut rng = Rng::new(0x1234_5678 + i as u64);
            let mut out = Vec::new();
            let mut last = vec![None::<u32>; WRITERS as usize];
            loop {
                let want = RECORD * (1 + rng.below(256) as usize);
                let mut buf = vec![0u8; want];
                let n = match read(&r, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(libc::EINTR) => continue,
                    Err(e) => return Err(format!("reader {i}: {}", err_name(e))),
                };
                check(n % RECORD == 0, || {
                    format!("reader {i}: read {n} bytes, not whole records")
                })?;
                for rec in buf[..n].chunks(RECORD) {
                    let w = u32::from_le_bytes(rec[..4].try_into().unwrap_or_default());
                    let seq = u32::from_le_bytes(rec[4..8].try_into().unwrap_or_default());
                    let sum = u64::from_le_bytes(rec[8..].try_into().unwrap_or_default());
                    check(w < WRITERS && sum == checksum(w, seq), || {
                        format!("reader {i}: corrupt record {rec:?}")
                    })?;
                    let prev = last[w as usize].replace(seq);
                    check(prev.is_none_or(|p| p < seq), || {
                        format!("reader {i}: writer {w} out of order: {prev:?} then {seq}")
                    })?;
                }
                out.extend_from_slice(&buf[..n]);
            }
            std::fs::write(format!("/tmp/reader-{i}"), out).map_err(|e| e.to_string())
        })?);
    }
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        writers.push(fork_record_writer(
            &ctx.dev,
            &guard,
            w,
            0xabcd_ef01,
            RECORDS_PER_WRITER,
            256,
            record,
        )?);
    }
    let mut errors = Vec::new();
    for pid in writers {
        if let Err(e) = wait(pid) {
            errors.push(e);
        }
    }
    drop(guard);
    for pid in readers {
        if let Err(e) = wait(pid) {
            errors.push(e);
        }
    }
    check(errors.is_empty(), || errors.join("; "))?;
    let mut seen = vec![vec![false; RECORDS_PER_WRITER as usize]; WRITERS as usize];
    let mut total = 0u64;
    for i in 0..READERS {
        let data = std::fs::read(format!("/tmp/reader-{i}")).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(format!("/tmp/reader-{i}"));
        for rec in data.chunks(RECORD) {
            let w = u32::from_le_bytes(rec[..4].try_into().unwrap_or_default()) as usize;
            let seq = u32::from_le_bytes(rec[4..8].try_into().unwrap_or_default()) as usize;
            check(!seen[w][seq], || format!("record {w}/{seq} read twice"))?;
            seen[w][seq] = true;
            total += 1;
        }
    }
    let want = (WRITERS * RECORDS_PER_WRITER) as u64;
    check(total == want, || {
        format!("{total} records arrived, want {want}")
    })?;
    eprintln!(
        "rs-devtest: {total} records ({} bytes) verified",
        total * RECORD as u64
    );
    Ok(())
}

/// A record size that divides no capacity and not `PIPE_BUF`: a torn write
/// can never land on a record boundary by luck.
const ODD_RECORD: usize = 23;

fn odd_record(writer: u32, seq: u32) -> [u8; ODD_RECORD] {
    let mut r = [0u8; ODD_RECORD];
    r[..4].copy_from_slice(&writer.to_le_bytes());
    r[4..8].copy_from_slice(&seq.to_le_bytes());
    r[8..16].copy_from_slice(&checksum(writer, seq).to_le_bytes());
    // Seven bytes that depend on both, so a splice inside them shows too.
    for (k, b) in r[16..].iter_mut().enumerate() {
        *b = (writer as u8).wrapping_mul(31) ^ (seq as u8).wrapping_add(k as u8);
    }
    r
}

/// Atomic writes under contention, checked byte by byte: 4 writer
/// processes write batches of 23-byte records (up to PIPE_BUF, so each
/// write is all-or-nothing) into the smallest FIFO, where most writes must
/// wait for room; one reader takes the stream in reads of odd sizes and
/// reassembles it. Every record must come out whole, once, in each
/// writer's order: a write torn or interleaved anywhere breaks a record.
fn atomic_writes_odd_records(ctx: &Ctx) -> Res<()> {
    const PER_WRITER: u32 = 4_000;
    let guard = open(&ctx.dev, O_WRONLY)?;
    set_capacity(&guard, MIN_CAPACITY).map_err(|e| format!("SET_CAPACITY: {}", err_name(e)))?;
    let max_batch = (PIPE_BUF / ODD_RECORD) as u64;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        writers.push(fork_record_writer(
            &ctx.dev,
            &guard,
            w,
            0x0dd0_0000,
            PER_WRITER,
            max_batch,
            odd_record,
        )?);
    }
    // The reader runs beside the writers; the guard keeps its end of file
    // away until every writer is done (a writer that has not opened yet
    // must not leave the FIFO writerless).
    let r = open(&ctx.dev, O_RDONLY)?;
    let reader = spawn(move || -> Res<Vec<u8>> {
        let mut rng = Rng::new(0x0dd0_ffff);
        let mut stream = Vec::new();
        loop {
            // Odd sizes from 1 to 999 bytes.
            let mut buf = vec![0u8; (1 + 2 * rng.below(500)) as usize];
            match read(&r, &mut buf) {
                Ok(0) => return Ok(stream),
                Ok(n) => stream.extend_from_slice(&buf[..n]),
                Err(libc::EINTR) => continue,
                Err(e) => return Err(format!("reader: {}", err_name(e))),
            }
        }
    });
    let mut errors = Vec::new();
    for pid in writers {
        if let Err(e) = wait(pid) {
            errors.push(e);
        }
    }
    drop(guard);
    let stream = reader
        .join()
        .map_err(|_| "the reader panicked".to_string())??;
    check(errors.is_empty(), || errors.join("; "))?;
    check(
        stream.len() == ODD_RECORD * (PER_WRITER * WRITERS) as usize,
        || {
            format!(
                "{} bytes arrived, want {}",
                stream.len(),
                ODD_RECORD * (PER_WRITER * WRITERS) as usize
            )
        },
    )?;
    let mut next = [0u32; WRITERS as usize];
    for (i, rec) in stream.chunks(ODD_RECORD).enumerate() {
        let w = u32::from_le_bytes(rec[..4].try_into().unwrap_or_default());
        let seq = u32::from_le_bytes(rec[4..8].try_into().unwrap_or_default());
        check(w < WRITERS && rec == odd_record(w, seq).as_slice(), || {
            format!("record {i} at byte {} is torn: {rec:?}", i * ODD_RECORD)
        })?;
        check(seq == next[w as usize], || {
            format!(
                "writer {w}: record {seq} where {} was due",
                next[w as usize]
            )
        })?;
        next[w as usize] += 1;
    }
    Ok(())
}

/// Blocks SIGIO in this thread (and the threads it spawns), so that it
/// pends where `sigio_pending` can see it.
pub(crate) fn block_sigio() {
    // SAFETY: plain signal-mask calls on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGIO);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// `FIOASYNC` on a descriptor; the ioctl's result.
pub(crate) fn fioasync(fd: &Fd, on: bool) -> Result<(), i32> {
    let on = libc::c_int::from(on);
    // SAFETY: ioctl on our own descriptor with a valid int.
    if unsafe { libc::ioctl(fd.0, libc::FIOASYNC, &on) } == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// `F_SETFL` with or without `O_ASYNC`, keeping `O_NONBLOCK`.
fn setfl_async(fd: &Fd, on: bool) -> Result<(), i32> {
    let flags = O_NONBLOCK | if on { libc::O_ASYNC } else { 0 };
    // SAFETY: fcntl on our own descriptor.
    if unsafe { libc::fcntl(fd.0, libc::F_SETFL, flags) } == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// Whether `F_GETFL` shows `O_ASYNC`.
pub(crate) fn async_flag(fd: &Fd) -> bool {
    // SAFETY: fcntl on our own descriptor.
    unsafe { libc::fcntl(fd.0, libc::F_GETFL) & libc::O_ASYNC != 0 }
}

/// Whether data, then room, each signal the file (its owner is this
/// process): one byte written and read back through other files.
pub(crate) fn signalled(w: &Fd, r: &Fd) -> Res<(bool, bool)> {
    while crate::faults::sigio_pending() {}
    write_all(w, b"x")?;
    let on_data = crate::faults::sigio_pending();
    read_exact(r, 1)?;
    let on_room = crate::faults::sigio_pending();
    Ok((on_data, on_room))
}

fn own(fd: &Fd) -> Res<()> {
    // SAFETY: fcntl on our own descriptor.
    if unsafe { libc::fcntl(fd.0, libc::F_SETOWN, libc::getpid()) } != 0 {
        return Err(format!("F_SETOWN: {}", err_name(errno())));
    }
    Ok(())
}

/// A file opened with access mode 3 (`O_ACCMODE`, "ioctl only") has
/// neither `FMODE_READ` nor `FMODE_WRITE`, so it joins no SIGIO list, as
/// for a pipe's `pipe_fasync()`: after `FIOASYNC` and again after `F_SETFL`
/// with `O_ASYNC`, `F_GETFL` shows no `O_ASYNC` and neither data nor room
/// signals it. An `O_RDWR` file, as a control, hears both.
fn sigio_access_mode_3(ctx: &Ctx) -> Res<()> {
    block_sigio();
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let rw = open(&ctx.dev, O_RDWR | O_NONBLOCK)?;
    own(&rw)?;
    fioasync(&rw, true).map_err(|e| format!("FIOASYNC on O_RDWR: {}", err_name(e)))?;
    let got = signalled(&w, &r)?;
    check(async_flag(&rw) && got == (true, true), || {
        format!(
            "control, O_RDWR after FIOASYNC: O_ASYNC {}, SIGIO on data and room {got:?}",
            async_flag(&rw)
        )
    })?;
    drop(rw);
    let f = open(&ctx.dev, O_ACCMODE_3 | O_NONBLOCK)?;
    own(&f)?;
    for api in ["FIOASYNC", "F_SETFL"] {
        let set = if api == "FIOASYNC" {
            fioasync(&f, true)
        } else {
            setfl_async(&f, true)
        };
        set.map_err(|e| format!("{api} on mode 3: {}", err_name(e)))?;
        check(!async_flag(&f), || {
            format!("mode 3 after {api}: F_GETFL shows O_ASYNC")
        })?;
        let got = signalled(&w, &r)?;
        check(got == (false, false), || {
            format!("mode 3 after {api} heard SIGIO (on data, on room): {got:?}")
        })?;
    }
    Ok(())
}

/// Two threads turn `O_ASYNC` off and on at once on one `O_RDWR` file, by
/// `FIOASYNC` and by `F_SETFL` in turn, 100 rounds; after each, `F_GETFL`
/// must show `O_ASYNC` exactly when data and room signal the file. The
/// test build of both drivers sleeps 20 ms between a removal's two
/// `fasync_helper()` calls and 4 ms before an insertion's first, and the
/// second thread starts 2 ms after the first, so without the lock around
/// the two calls every round ends with the file on the readers' list and
/// `O_ASYNC` clear: the state in which `close()` frees a file still listed.
/// So the file is closed at the end and data written once more (on the
/// debug kernel KASAN would catch a signal sent through the freed file).
///
/// The owner is this process and SIGIO is blocked in every thread of the
/// test (the threads inherit the mask), so a signal pends for the process
/// until `sigtimedwait` takes it, whichever thread the kernel picks.
fn sigio_fasync_race(ctx: &Ctx) -> Res<()> {
    block_sigio();
    let w = open(&ctx.dev, O_WRONLY | O_NONBLOCK)?;
    let r = open(&ctx.dev, O_RDONLY | O_NONBLOCK)?;
    let f = std::sync::Arc::new(open(&ctx.dev, O_RDWR | O_NONBLOCK)?);
    own(&f)?;
    let mut on = 0;
    for round in 0..100 {
        let by_ioctl = round % 2 == 0;
        let set = move |fd: &Fd, on: bool| {
            if by_ioctl {
                fioasync(fd, on)
            } else {
                setfl_async(fd, on)
            }
        };
        set(&f, true).map_err(|e| format!("round {round}: on: {}", err_name(e)))?;
        let (fa, fb) = (f.clone(), f.clone());
        let a = spawn(move || set(&fa, false));
        let b = spawn(move || {
            sleep_ms(2);
            set(&fb, true)
        });
        let ra = a.join().map_err(|_| "thread A panicked".to_string())?;
        let rb = b.join().map_err(|_| "thread B panicked".to_string())?;
        check(ra.is_ok() && rb.is_ok(), || {
            format!("round {round}: off {ra:?}, on {rb:?}")
        })?;
        let flag = async_flag(&f);
        let got = signalled(&w, &r)?;
        check(got == (flag, flag), || {
            format!(
                "round {round} ({}): O_ASYNC {flag}, yet SIGIO on data, on room {got:?}",
                if by_ioctl { "FIOASYNC" } else { "F_SETFL" }
            )
        })?;
        on += u32::from(flag);
    }
    eprintln!("rs-devtest: sigio-fasync-race: O_ASYNC on after {on} of 100 rounds");
    // Closed with O_ASYNC as the last round left it: it must leave the
    // lists, and nothing may signal it any more.
    let f = std::sync::Arc::into_inner(f).ok_or("a thread kept the file")?;
    drop(f);
    let got = signalled(&w, &r)?;
    check(got == (false, false), || {
        format!("after the close, SIGIO on data, on room: {got:?}")
    })
}
