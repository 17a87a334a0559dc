// SPDX-License-Identifier: GPL-2.0

//! Several devices from one load (`devices=N`): each is a FIFO of its own.
//! Nothing written to, counted by, resized on, cleared on, or closed on one
//! device may show on another.
//!
//! Usage: `rs-devtest devices DEFAULT_CAPACITY DEV0 DEV1 [DEV...]`, with
//! the module loaded with at least that many devices. One result line per
//! test, as the main suite prints.

use crate::sys::*;
use crate::tests::{
    blocked_reader,
    catch_sigio,
    check,
    expect_err,
    sigio_event,
    thread_state,
    POLL_IN,
    SIGIO_SEEN, //
};
use libc::{
    O_NONBLOCK,
    O_RDONLY,
    O_RDWR,
    O_WRONLY, //
};
use std::time::Duration;

pub struct Devices {
    pub paths: Vec<String>,
    pub default_capacity: u64,
}

type Test = fn(&Devices) -> Res<()>;

pub const ALL: &[(&str, Test)] = &[
    ("devices-data-isolated", data_isolated),
    ("devices-stats-isolated", stats_isolated),
    ("devices-eof-isolated", eof_isolated),
    ("devices-capacity-clear-isolated", capacity_clear_isolated),
    ("devices-sigio-isolated", sigio_isolated),
];

/// Empties every device and restores the default capacity.
pub fn reset(d: &Devices) -> Res<()> {
    for path in &d.paths {
        let fd = open(path, O_RDWR)?;
        clear(&fd).map_err(|e| format!("reset {path}: CLEAR: {}", err_name(e)))?;
        set_capacity(&fd, d.default_capacity)
            .map_err(|e| format!("reset {path}: SET_CAPACITY: {}", err_name(e)))?;
    }
    Ok(())
}

/// What device `i` gets written: distinct per device, and of a distinct
/// length, so a byte or a count that crosses over is seen.
fn payload(i: usize) -> Vec<u8> {
    (0..10 * (i + 1)).map(|k| (i * 31 + k) as u8).collect()
}

fn open_all(d: &Devices, flags: i32) -> Res<Vec<Fd>> {
    d.paths.iter().map(|p| open(p, flags)).collect()
}

/// Each device reads back exactly what was written to it, and then
/// nothing more.
fn data_isolated(d: &Devices) -> Res<()> {
    let fds = open_all(d, O_RDWR | O_NONBLOCK)?;
    for (i, fd) in fds.iter().enumerate() {
        write_all(fd, &payload(i))?;
    }
    for (i, fd) in fds.iter().enumerate() {
        let mut buf = vec![0u8; 4096];
        let n = read(fd, &mut buf).map_err(|e| format!("{}: read: {}", d.paths[i], err_name(e)))?;
        check(buf[..n] == payload(i)[..], || {
            format!("{} read {n} bytes that are not its own", d.paths[i])
        })?;
        expect_err(
            &format!("{}: a second read", d.paths[i]),
            read(fd, &mut buf),
            libc::EAGAIN,
        )?;
    }
    Ok(())
}

/// The counters and opener counts of each device are its own, in the ioctl
/// and in its debugfs file.
fn stats_isolated(d: &Devices) -> Res<()> {
    let fds = open_all(d, O_RDWR | O_NONBLOCK)?;
    // The counters count since the load: compare what changed.
    let before = fds.iter().map(stats).collect::<Res<Vec<_>>>()?;
    // Extra openers on the second device only.
    let _r = open(&d.paths[1], O_RDONLY)?;
    let _w = open(&d.paths[1], O_WRONLY)?;
    for (i, fd) in fds.iter().enumerate() {
        write_all(fd, &payload(i))?;
    }
    let mut buf = [0u8; 5];
    read(&fds[1], &mut buf).map_err(err_name)?;
    for (i, fd) in fds.iter().enumerate() {
        let (now, b) = (stats(fd)?, before[i]);
        let s = Stats {
            bytes_read: now.bytes_read - b.bytes_read,
            bytes_written: now.bytes_written - b.bytes_written,
            reads: now.reads - b.reads,
            writes: now.writes - b.writes,
            ..now
        };
        let written = payload(i).len() as u64;
        let (read_bytes, reads, openers) = if i == 1 { (5, 1, 2) } else { (0, 0, 1) };
        let want = Stats {
            bytes_read: read_bytes,
            bytes_written: written,
            reads,
            writes: 1,
            len: written - read_bytes,
            capacity: d.default_capacity,
            readers: openers,
            writers: openers,
        };
        check(s == want, || {
            format!(
                "{}: stats (counters since the test began) {s:?}, want {want:?}",
                d.paths[i]
            )
        })?;
        let name = d.paths[i].rsplit('/').next().unwrap_or_default();
        let text = std::fs::read_to_string(format!("/sys/kernel/debug/{name}/stats"))
            .map_err(|e| format!("debugfs of {name}: {e}"))?;
        let len_line = format!("len:\t{}", want.len);
        check(text.lines().any(|l| l == len_line), || {
            format!("debugfs of {name} says {text:?}, want {len_line:?}")
        })?;
    }
    Ok(())
}

/// The last writer of one device closing is end of file there and nowhere
/// else: a reader asleep on another device stays asleep until its own
/// writer acts, and a hang-up shows only on the device without writers.
fn eof_isolated(d: &Devices) -> Res<()> {
    let w0 = open(&d.paths[0], O_WRONLY)?;
    let r0 = open(&d.paths[0], O_RDONLY)?;
    let (tid, rx) = blocked_reader(r0.0)?;
    let w1 = open(&d.paths[1], O_WRONLY)?;
    let r1 = open(&d.paths[1], O_RDONLY | O_NONBLOCK)?;
    drop(w1);
    // The reader of device 1 sees end of file and a hang-up ...
    let mut buf = [0u8; 4];
    check(read(&r1, &mut buf) == Ok(0), || {
        "a reader of a device without writers got no end of file".into()
    })?;
    let ev = poll1(&r1, libc::POLLIN, 0)?;
    check(ev & libc::POLLHUP != 0, || {
        format!("device 1 polls {ev:#x}, no POLLHUP")
    })?;
    // ... while the reader of device 0 sleeps on, without a hang-up.
    sleep_ms(200);
    check(rx.try_recv().is_err(), || {
        "another device's last writer closing woke the reader".into()
    })?;
    check(thread_state(tid)? == 'S', || {
        "the reader is not asleep".into()
    })?;
    let r0b = open(&d.paths[0], O_RDONLY | O_NONBLOCK)?;
    let ev = poll1(&r0b, libc::POLLIN, 0)?;
    check(ev & (libc::POLLHUP | libc::POLLIN) == 0, || {
        format!("device 0, empty with a writer, polls {ev:#x}")
    })?;
    write_all(&w0, b"ping")?;
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Ok(4)) => Ok(()),
        r => Err(format!("the reader of device 0 got {r:?}, want 4 bytes")),
    }
}

/// SET_CAPACITY and CLEAR act on their own device only.
fn capacity_clear_isolated(d: &Devices) -> Res<()> {
    let fds = open_all(d, O_RDWR | O_NONBLOCK)?;
    for (i, fd) in fds.iter().enumerate() {
        write_all(fd, &payload(i))?;
    }
    set_capacity(&fds[1], 2 * d.default_capacity)
        .map_err(|e| format!("SET_CAPACITY: {}", err_name(e)))?;
    clear(&fds[0]).map_err(|e| format!("CLEAR: {}", err_name(e)))?;
    for (i, fd) in fds.iter().enumerate() {
        let s = stats(fd)?;
        let cap = if i == 1 {
            2 * d.default_capacity
        } else {
            d.default_capacity
        };
        let len = if i == 0 { 0 } else { payload(i).len() as u64 };
        check(s.capacity == cap && s.len == len, || {
            format!(
                "{}: capacity {} len {}, want {cap} and {len}",
                d.paths[i], s.capacity, s.len
            )
        })?;
    }
    Ok(())
}

/// SIGIO goes to the files of the device whose state changed.
fn sigio_isolated(d: &Devices) -> Res<()> {
    use std::sync::atomic::Ordering::SeqCst;
    let sig = libc::SIGRTMIN() + 2;
    catch_sigio(sig);
    let r0 = open(&d.paths[0], O_RDONLY | O_NONBLOCK)?;
    let w0 = open(&d.paths[0], O_WRONLY | O_NONBLOCK)?;
    let w1 = open(&d.paths[1], O_WRONLY | O_NONBLOCK)?;
    set_async(&r0, sig, true, true)?;
    let base = SIGIO_SEEN.load(SeqCst);
    write_all(&w1, b"elsewhere")?;
    check(sigio_event(base + 1, 200).is_none(), || {
        "a write to device 1 signalled a reader of device 0".into()
    })?;
    write_all(&w0, b"here")?;
    let ev = sigio_event(base + 1, 2000);
    check(ev == Some((r0.0, POLL_IN)), || {
        format!(
            "a write to device 0 gave {ev:?}, want (fd {}, POLL_IN)",
            r0.0
        )
    })
}
