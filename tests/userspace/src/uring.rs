// SPDX-License-Identifier: GPL-2.0

//! io_uring against the device, through the `io-uring` crate.
//!
//! The device sets `FMODE_NOWAIT` and honours `IOCB_NOWAIT`, so io_uring
//! issues each read and write inline with `IOCB_NOWAIT`: one that can go
//! ahead completes in `io_uring_enter` itself; one that would sleep gets
//! `EAGAIN` from the driver, and io_uring waits for the file's poll
//! wake-up and issues it again. A driver that slept instead would hold
//! `io_uring_enter` (the submitter) until the other side acted: these tests
//! time the submission and fail by name if it was held. The same holds on
//! an `O_NONBLOCK` file: io_uring retries a request on a file that supports
//! `IOCB_NOWAIT` rather than completing it with `-EAGAIN`, as on a pipe.

use crate::sys::*;
use crate::tests::check;
use io_uring::{
    opcode,
    types,
    IoUring, //
};
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

/// The offset that means "the file's position": the device is a stream.
const STREAM: u64 = u64::MAX;

pub(crate) fn ring() -> Res<IoUring> {
    IoUring::new(8).map_err(|e| format!("io_uring_setup: {e} (CONFIG_IO_URING?)"))
}

/// Queues one read of `buf` from `fd`.
pub(crate) fn push_read(ring: &mut IoUring, fd: &Fd, buf: &mut [u8], tag: u64) -> Res<()> {
    let sqe = opcode::Read::new(types::Fd(fd.0), buf.as_mut_ptr(), buf.len() as u32)
        .offset(STREAM)
        .build()
        .user_data(tag);
    // SAFETY: `buf` outlives the request: every caller waits for the
    // completion before `buf` goes.
    unsafe { ring.submission().push(&sqe) }.map_err(|_| "the submission queue is full".into())
}

/// Queues one write of `data` to `fd`.
fn push_write(ring: &mut IoUring, fd: &Fd, data: &[u8], tag: u64) -> Res<()> {
    let sqe = opcode::Write::new(types::Fd(fd.0), data.as_ptr(), data.len() as u32)
        .offset(STREAM)
        .build()
        .user_data(tag);
    // SAFETY: as in `push_read`.
    unsafe { ring.submission().push(&sqe) }.map_err(|_| "the submission queue is full".into())
}

/// Waits for one completion: (user data, result).
pub(crate) fn complete(ring: &mut IoUring) -> Res<(u64, i32)> {
    ring.submit_and_wait(1)
        .map_err(|e| format!("io_uring_enter: {e}"))?;
    let cqe = ring
        .completion()
        .next()
        .ok_or("io_uring_enter returned without a completion")?;
    Ok((cqe.user_data(), cqe.result()))
}

/// Submits what is queued, with `unblock` run from another thread if the
/// submission is still in progress after 2 s (so a driver that sleeps
/// inline cannot hang the test). Fails if the submission took 1 s or more.
fn submit_promptly(ring: &mut IoUring, unblock: impl FnOnce() + Send + 'static) -> Res<()> {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let guard = spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(2)).is_err() {
            unblock();
        }
    });
    let start = Instant::now();
    let r = ring.submit();
    let took = start.elapsed();
    let _ = done_tx.send(());
    let _ = guard.join();
    r.map_err(|e| format!("io_uring_enter: {e}"))?;
    check(took < Duration::from_secs(1), || {
        format!("io_uring_enter was held {took:?}: the driver slept under IOCB_NOWAIT")
    })
}

/// A write and a read that can go ahead complete with the full count.
pub fn completes_at_once(dev: &str) -> Res<()> {
    let f = open(dev, O_RDWR)?;
    let before = stats(&f)?;
    let mut ring = ring()?;
    let data: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(7)).collect();
    push_write(&mut ring, &f, &data, 1)?;
    let got = complete(&mut ring)?;
    check(got == (1, 100), || {
        format!("the write completed as {got:?}, want (1, 100)")
    })?;
    let mut buf = [0u8; 200];
    push_read(&mut ring, &f, &mut buf, 2)?;
    let got = complete(&mut ring)?;
    check(got == (2, 100), || {
        format!("the read completed as {got:?}, want (2, 100)")
    })?;
    check(buf[..100] == data[..], || {
        "the read returned other bytes".into()
    })?;
    let s = stats(&f)?;
    check(
        s.writes - before.writes == 1 && s.reads - before.reads == 1 && s.len == 0,
        || format!("stats {s:?} after {before:?}: want one write, one read, empty"),
    )
}

/// How long a request that must wait is watched for a completion that
/// should not come.
const PENDING_MS: u64 = 200;

/// No completion yet: `Err` names the one that came, with its result
/// (`-EAGAIN` if io_uring gave up on a file it should have waited on).
fn still_pending(ring: &mut IoUring, what: &str) -> Res<()> {
    sleep_ms(PENDING_MS);
    match ring.completion().next() {
        None => Ok(()),
        Some(cqe) => Err(format!(
            "{what} completed with result {} within {PENDING_MS} ms",
            cqe.result()
        )),
    }
}

/// What the tests call the file: blocking, or `O_NONBLOCK`.
fn kind(nonblock: bool) -> &'static str {
    if nonblock {
        "on an O_NONBLOCK file"
    } else {
        "on a blocking file"
    }
}

/// A read of an empty FIFO does not hold the submitter, stays pending
/// while nothing arrives, and completes with what a writer then writes.
/// With `nonblock` the read's file is `O_NONBLOCK`, which changes nothing:
/// the device supports `IOCB_NOWAIT`, so io_uring retries the request
/// from poll (`REQ_F_SUPPORT_NOWAIT`) instead of completing it with
/// `-EAGAIN`, as on a pipe.
pub fn read_waits_for_writer(dev: &str, nonblock: bool) -> Res<()> {
    let r = open(dev, O_RDONLY | if nonblock { O_NONBLOCK } else { 0 })?;
    let w = open(dev, O_WRONLY)?;
    let mut ring = ring()?;
    let mut buf = [0u8; 16];
    push_read(&mut ring, &r, &mut buf, 7)?;
    let w2 = open(dev, O_WRONLY)?;
    submit_promptly(&mut ring, move || {
        let _ = write_all(&w2, b"unblock");
    })?;
    still_pending(
        &mut ring,
        &format!("a read of an empty FIFO {}", kind(nonblock)),
    )?;
    write_all(&w, b"ping")?;
    let got = complete(&mut ring)?;
    check(got == (7, 4) && &buf[..4] == b"ping", || {
        format!(
            "the read completed as {got:?} with {:?}, want (7, 4) and \"ping\"",
            &buf[..4]
        )
    })
}

/// A write into a full FIFO does not hold the submitter, stores nothing
/// while there is no room, and completes once a reader makes room; with
/// `nonblock` on an `O_NONBLOCK` file too, as for a read.
pub fn write_waits_for_reader(dev: &str, nonblock: bool) -> Res<()> {
    let w = open(dev, O_WRONLY | O_NONBLOCK)?;
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    let cap = capacity(&w)?;
    while write(&w, &[0u8; 4096]).is_ok() {}
    set_nonblock(&w, nonblock)?;
    check(stats(&w)?.len == cap, || "could not fill the FIFO".into())?;
    let mut ring = ring()?;
    let data = [0x5au8; 100];
    push_write(&mut ring, &w, &data, 9)?;
    let r2 = open(dev, O_RDONLY | O_NONBLOCK)?;
    submit_promptly(&mut ring, move || {
        let _ = read_exact(&r2, 100);
    })?;
    still_pending(
        &mut ring,
        &format!("a write into a full FIFO {}", kind(nonblock)),
    )?;
    check(stats(&w)?.len == cap, || {
        "a pending write stored bytes".into()
    })?;
    read_exact(&r, 100)?;
    let got = complete(&mut ring)?;
    check(got == (9, 100), || {
        format!("the write completed as {got:?}, want (9, 100)")
    })?;
    let s = stats(&w)?;
    check(s.len == cap, || {
        format!("len {} after the write, want {cap}", s.len)
    })
}
