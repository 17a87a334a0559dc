// SPDX-License-Identifier: GPL-2.0

//! rs-bench: the benchmark, run inside the test VM (`make bench`).
//!
//! Usage: `rs-bench MODE SCALE`. MODE (`wall` or `icount`) is only copied
//! into the records; the VM's clock decides what time means. SCALE divides
//! every workload's size (the icount run uses a larger one, because it is
//! slow). Every cell runs `REPS` times; one JSON record per cell is printed
//! as `RS-BENCH {...}`.

use std::os::fd::RawFd;
use std::time::Instant;

const REPS: usize = 5;

/// One endpoint pair of a target: where writers write, where readers read.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Rust,
    C,
    Pipe,
    ZeroNull,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Rust => "rust_sample",
            Target::C => "c_sample",
            Target::Pipe => "pipe",
            Target::ZeroNull => "zero_null",
        }
    }

    fn dev(self) -> Option<&'static str> {
        match self {
            Target::Rust => Some("/dev/rust_sample"),
            Target::C => Some("/dev/c_sample"),
            _ => None,
        }
    }

    /// A (write end, read end) pair with the given extra open flags.
    fn open(self, flags: i32) -> (RawFd, RawFd) {
        match self {
            Target::Pipe => {
                let mut fds = [0; 2];
                // SAFETY: a valid two-element array.
                let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | flags) };
                assert_eq!(r, 0, "pipe2");
                (fds[1], fds[0])
            }
            Target::ZeroNull => (
                open("/dev/null", libc::O_WRONLY | flags),
                open("/dev/zero", libc::O_RDONLY | flags),
            ),
            _ => {
                let dev = self.dev().unwrap_or_default();
                (
                    open(dev, libc::O_WRONLY | flags),
                    open(dev, libc::O_RDONLY | flags),
                )
            }
        }
    }
}

fn open(path: &str, flags: i32) -> RawFd {
    let c = std::ffi::CString::new(path).unwrap_or_default();
    // SAFETY: a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open {path}");
    fd
}

fn close(fd: RawFd) {
    // SAFETY: closing a descriptor we own.
    unsafe { libc::close(fd) };
}

fn write_all(fd: RawFd, mut buf: &[u8]) -> usize {
    let mut calls = 0;
    while !buf.is_empty() {
        // SAFETY: a valid buffer.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        assert!(n > 0, "write");
        buf = &buf[n as usize..];
        calls += 1;
    }
    calls
}

fn read_some(fd: RawFd, buf: &mut [u8]) -> usize {
    // SAFETY: a valid buffer.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n >= 0, "read");
    n as usize
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Bytes through `writers` writer and `readers` reader threads in blocks of
/// `block`; returns (seconds, write calls).
fn stream(t: Target, block: usize, total: usize, writers: usize, readers: usize) -> (f64, u64) {
    if t == Target::ZeroNull {
        // The copy-bound ceiling: one thread, read /dev/zero, write /dev/null.
        let (w, r) = t.open(0);
        let mut buf = vec![0u8; block];
        let start = Instant::now();
        let mut ops = 0;
        let mut done = 0;
        while done < total {
            let n = read_some(r, &mut buf);
            write_all(w, &buf[..n]);
            done += n;
            ops += 1;
        }
        close(w);
        close(r);
        return (start.elapsed().as_secs_f64(), ops);
    }
    // One FIFO: for pipe(2) one pipe, for the devices the one device.
    let (w0, r0) = t.open(0);
    let per_writer = total / writers;
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..writers {
        // SAFETY: dup of a valid descriptor, so each thread closes its own.
        let w = unsafe { libc::dup(w0) };
        handles.push(std::thread::spawn(move || {
            let buf = vec![0x5au8; block];
            let mut ops = 0u64;
            let mut left = per_writer;
            while left > 0 {
                let n = left.min(block);
                ops += write_all(w, &buf[..n]) as u64;
                left -= n;
            }
            close(w);
            ops
        }));
    }
    close(w0);
    let mut rhandles = Vec::new();
    for _ in 0..readers {
        // SAFETY: as above.
        let r = unsafe { libc::dup(r0) };
        rhandles.push(std::thread::spawn(move || {
            let mut buf = vec![0u8; block];
            let mut got = 0usize;
            loop {
                let n = read_some(r, &mut buf);
                if n == 0 {
                    break;
                }
                got += n;
            }
            close(r);
            got
        }));
    }
    close(r0);
    let ops: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    let got: usize = rhandles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, per_writer * writers, "{}: bytes lost", t.name());
    (secs, ops)
}

/// Nanoseconds per write-then-read of one byte, non-blocking, one thread.
fn write_read_1b(t: Target, iters: usize) -> f64 {
    let (w, r) = t.open(libc::O_NONBLOCK);
    let mut b = [0u8; 1];
    let start = now_ns();
    for _ in 0..iters {
        write_all(w, &b);
        read_some(r, &mut b);
    }
    let ns = (now_ns() - start) as f64 / iters as f64;
    close(w);
    close(r);
    ns
}

/// Nanoseconds per round trip: A writes a byte into the target, B (another
/// process) reads it and answers through a pipe(2), A reads the answer. The
/// device is one FIFO, so the return path is a pipe for every target; only
/// the forward path differs.
fn pingpong(t: Target, iters: usize) -> f64 {
    let (w, r) = t.open(0);
    let mut back = [0; 2];
    // SAFETY: a valid two-element array.
    unsafe { libc::pipe(back.as_mut_ptr()) };
    // SAFETY: the benchmark is single-threaded here.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut b = [0u8; 1];
        for _ in 0..iters {
            read_some(r, &mut b);
            write_all(back[1], &b);
        }
        // SAFETY: leave the child at once.
        unsafe { libc::_exit(0) };
    }
    let mut b = [1u8; 1];
    let start = now_ns();
    for _ in 0..iters {
        write_all(w, &b);
        read_some(back[0], &mut b);
    }
    let ns = (now_ns() - start) as f64 / iters as f64;
    // SAFETY: reaping our child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    for fd in [w, r, back[0], back[1]] {
        close(fd);
    }
    ns
}

/// Nanoseconds per null ioctl: GET_STATS on the devices, FIONREAD on a pipe.
fn ioctl(t: Target, iters: usize) -> f64 {
    let (w, r) = t.open(0);
    let mut stats = [0u8; 56];
    let cmd: u64 = if t == Target::Pipe {
        libc::FIONREAD
    } else {
        (2 << 30) | (56 << 16) | (0xB9 << 8) | 1
    };
    let start = now_ns();
    for _ in 0..iters {
        // SAFETY: a buffer large enough for either command.
        let rc = unsafe { libc::ioctl(r, cmd as libc::c_ulong, stats.as_mut_ptr()) };
        assert_eq!(rc, 0, "ioctl");
    }
    let ns = (now_ns() - start) as f64 / iters as f64;
    close(w);
    close(r);
    ns
}

/// Nanoseconds from a write in one process to the return from poll() in
/// another, which was waiting for data.
fn poll_wake(t: Target, iters: usize) -> f64 {
    let (w, r) = t.open(0);
    let mut ready = [0; 2];
    // SAFETY: a valid two-element array.
    unsafe { libc::pipe(ready.as_mut_ptr()) };
    // SAFETY: single-threaded here.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        for _ in 0..iters {
            let mut go = [0u8; 1];
            read_some(ready[0], &mut go);
            // Give the parent time to block in poll().
            std::thread::sleep(std::time::Duration::from_millis(1));
            write_all(w, &now_ns().to_le_bytes());
        }
        // SAFETY: leave the child at once.
        unsafe { libc::_exit(0) };
    }
    let mut total = 0u64;
    for _ in 0..iters {
        write_all(ready[1], &[1]);
        let mut p = libc::pollfd {
            fd: r,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, -1) };
        let woke = now_ns();
        let mut stamp = [0u8; 8];
        let mut got = 0;
        while got < 8 {
            got += read_some(r, &mut stamp[got..]);
        }
        total += woke - u64::from_le_bytes(stamp);
    }
    // SAFETY: reaping our child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    for fd in [w, r, ready[0], ready[1]] {
        close(fd);
    }
    total as f64 / iters as f64
}

struct Cell {
    target: Target,
    workload: &'static str,
    block: usize,
    writers: usize,
    readers: usize,
    unit: &'static str,
    higher_is_better: bool,
}

fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn emit(mode: &str, c: &Cell, values: Vec<f64>) {
    let runs = values.len();
    let (median, min, max) = summary(values);
    println!(
        "RS-BENCH {{\"target\":\"{}\",\"workload\":\"{}\",\"block_size\":{},\"writers\":{},\"readers\":{},\"mode\":\"{}\",\"unit\":\"{}\",\"median\":{:.3},\"min\":{:.3},\"max\":{:.3},\"runs\":{},\"higher_is_better\":{}}}",
        c.target.name(), c.workload, c.block, c.writers, c.readers, mode, c.unit, median, min, max, runs, c.higher_is_better
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_else(|| "wall".into());
    let scale: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let all = [Target::Rust, Target::C, Target::Pipe, Target::ZeroNull];
    let fifos = [Target::Rust, Target::C, Target::Pipe];

    for block in [1usize, 64, 512, 4096, 65536] {
        // Enough bytes for a measurable run, bounded in calls for tiny blocks.
        let total = (block * 20_000).min(16 << 20) / scale;
        for t in all {
            let (mut mbs, mut ops) = (Vec::new(), Vec::new());
            for _ in 0..REPS {
                let (secs, calls) = stream(t, block, total, 1, 1);
                mbs.push(total as f64 / secs / 1e6);
                ops.push(calls as f64 / secs);
            }
            let cell = |unit, hib| Cell {
                target: t,
                workload: "throughput",
                block,
                writers: 1,
                readers: 1,
                unit,
                higher_is_better: hib,
            };
            emit(&mode, &cell("MB/s", true), mbs);
            emit(&mode, &cell("ops/s", true), ops);
        }
    }
    let iters = 20_000 / scale;
    for t in all {
        let v = (0..REPS).map(|_| write_read_1b(t, iters)).collect();
        emit(
            &mode,
            &Cell {
                target: t,
                workload: "write_read_1b",
                block: 1,
                writers: 1,
                readers: 1,
                unit: "ns",
                higher_is_better: false,
            },
            v,
        );
    }
    for t in fifos {
        let v = (0..REPS).map(|_| pingpong(t, iters / 4)).collect();
        emit(
            &mode,
            &Cell {
                target: t,
                workload: "pingpong",
                block: 1,
                writers: 1,
                readers: 1,
                unit: "ns",
                higher_is_better: false,
            },
            v,
        );
        let v = (0..REPS).map(|_| ioctl(t, iters)).collect();
        emit(
            &mode,
            &Cell {
                target: t,
                workload: "ioctl",
                block: 0,
                writers: 0,
                readers: 0,
                unit: "ns",
                higher_is_better: false,
            },
            v,
        );
        let v = (0..REPS)
            .map(|_| poll_wake(t, (200 / scale).max(20)))
            .collect();
        emit(
            &mode,
            &Cell {
                target: t,
                workload: "poll_wake",
                block: 8,
                writers: 1,
                readers: 1,
                unit: "ns",
                higher_is_better: false,
            },
            v,
        );
    }
    for n in [1usize, 2, 4] {
        let total = (8 << 20) / scale;
        for t in fifos {
            let v = (0..REPS)
                .map(|_| total as f64 / stream(t, 4096, total, n, n).0 / 1e6)
                .collect();
            emit(
                &mode,
                &Cell {
                    target: t,
                    workload: "scaling",
                    block: 4096,
                    writers: n,
                    readers: n,
                    unit: "MB/s",
                    higher_is_better: true,
                },
                v,
            );
        }
    }
    println!("RS-BENCH-DONE");
}
