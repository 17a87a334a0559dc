// SPDX-License-Identifier: GPL-2.0

//! rs-bench: the benchmark, run inside the test VM (`make bench`).
//!
//! Usage: `rs-bench MODE SCALE REPS`. MODE (`wall` or `icount`) is only
//! copied into the records; the VM's clock decides what time means. SCALE
//! divides every workload's size (the icount run uses a larger one, because
//! it is slow). Every cell runs REPS times, the targets alternating in each
//! round; one JSON record per cell, with every value, is printed as
//! `RS-BENCH {...}`.

use std::os::fd::RawFd;
use std::time::Instant;

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

/// Where in a 64 KiB window a copy buffer starts: half way.
const BUF_PHASE: usize = 32 << 10;

/// A buffer of `len` bytes set to `fill`, starting 32 KiB past a 64 KiB
/// boundary, so it never shares a softmmu TLB index with a 64 KiB-aligned
/// kernel buffer (the devices' FIFO storage, from `kvmalloc()`). QEMU's
/// TLB is direct-mapped: a user buffer and a kernel buffer at the same page
/// index modulo its size evict each other on every access of a copy. A
/// thread's first `malloc()` of 64 KiB sits just past its arena's 64 MiB
/// boundary, so that happened whenever the FIFO's storage landed on a
/// 512 KiB boundary: per boot, and per driver, the cross-vCPU cells ran
/// 2.5x slower (`Documentation/benchmarks.md`, *The wall clock*). Returns
/// the allocation and the offset of the buffer in it.
fn copy_buffer(len: usize, fill: u8) -> (Vec<u8>, usize) {
    let v = vec![fill; len + (64 << 10)];
    let addr = v.as_ptr() as usize;
    let off = (BUF_PHASE + (64 << 10) - addr % (64 << 10)) % (64 << 10);
    (v, off)
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
            let (mem, off) = copy_buffer(block, 0x5a);
            let buf = &mem[off..off + block];
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
            let (mut mem, off) = copy_buffer(block, 0);
            let buf = &mut mem[off..off + block];
            let mut got = 0usize;
            loop {
                let n = read_some(r, buf);
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

/// Bytes through io_uring on one thread: each submission queues `DEPTH`
/// writes of `block` bytes and then `DEPTH` reads of `block`, and waits for
/// all of them. Every request can go ahead at once, so each completes
/// inline in `io_uring_enter`, through the file's `IOCB_NOWAIT` path.
/// Returns seconds.
fn uring_stream(t: Target, block: usize, total: usize) -> f64 {
    use io_uring::{
        opcode,
        types,
        IoUring, //
    };
    const DEPTH: usize = 4;
    let (w, r) = t.open(0);
    let mut ring = IoUring::new(2 * DEPTH as u32).expect("io_uring_setup");
    let out = vec![0x5au8; block];
    let mut inp = vec![0u8; block];
    let rounds = total / (block * DEPTH);
    let start = Instant::now();
    for _ in 0..rounds {
        for i in 0..DEPTH {
            let sqe = opcode::Write::new(types::Fd(w), out.as_ptr(), block as u32)
                .offset(u64::MAX)
                .build()
                .user_data(i as u64);
            // SAFETY: `out` outlives the request (we wait for it below).
            unsafe { ring.submission().push(&sqe) }.expect("queue a write");
        }
        for i in 0..DEPTH {
            // Every read lands in the same buffer: only the counts matter.
            let sqe = opcode::Read::new(types::Fd(r), inp.as_mut_ptr(), block as u32)
                .offset(u64::MAX)
                .build()
                .user_data((DEPTH + i) as u64);
            // SAFETY: `inp` outlives the request (we wait for it below).
            unsafe { ring.submission().push(&sqe) }.expect("queue a read");
        }
        ring.submit_and_wait(2 * DEPTH).expect("io_uring_enter");
        for cqe in ring.completion() {
            assert_eq!(
                cqe.result(),
                block as i32,
                "{}: uring request {}",
                t.name(),
                cqe.user_data()
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    close(w);
    close(r);
    secs
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
        libc::FIONREAD as u64
    } else {
        (2 << 30) | (56 << 16) | (0xB9 << 8) | 1
    };
    let start = now_ns();
    for _ in 0..iters {
        // SAFETY: a buffer large enough for either command.
        let rc = unsafe { libc::ioctl(r, cmd as _, stats.as_mut_ptr()) };
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

/// Runs `f` for every target, `reps` rounds, the targets alternating within
/// each round, so slow drifts of the host hit all of them alike (the rnull
/// method). Returns each target's two series, in the order of `targets`.
fn alternate(
    targets: &[Target],
    reps: usize,
    mut f: impl FnMut(Target) -> (f64, f64),
) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut out = vec![(Vec::new(), Vec::new()); targets.len()];
    for _ in 0..reps {
        for (i, t) in targets.iter().enumerate() {
            let (a, b) = f(*t);
            out[i].0.push(a);
            out[i].1.push(b);
        }
    }
    out
}

fn summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn emit(mode: &str, c: &Cell, values: Vec<f64>) {
    let runs = values.len();
    let list: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
    let (median, min, max) = summary(values);
    println!(
        "RS-BENCH {{\"target\":\"{}\",\"workload\":\"{}\",\"block_size\":{},\"writers\":{},\"readers\":{},\"mode\":\"{}\",\"unit\":\"{}\",\"median\":{:.3},\"min\":{:.3},\"max\":{:.3},\"runs\":{},\"higher_is_better\":{},\"values\":[{}]}}",
        c.target.name(), c.workload, c.block, c.writers, c.readers, mode, c.unit, median, min, max, runs, c.higher_is_better, list.join(",")
    );
}

/// `rs-bench op OP TARGET ITERS`: one hot operation, `ITERS` times, for
/// `make profile` (perf samples it); prints the nanoseconds per operation,
/// which under icount are instructions per operation. OP is `write`, `read`, `write_read`,
/// `poll` or `ioctl`; every call moves one byte or none, non-blocking, on
/// one thread. Batches of 4096 keep the FIFO from filling or emptying;
/// the one large call that drains or refills each batch is 1/4096 of
/// the work.
fn one_op(op: &str, t: Target, iters: usize) {
    // Writes and reads of one byte go in batches: fill, then empty, with
    // one large call. Fewer than a batch's worth of operations (make
    // profile's instruction trace) make one smaller batch.
    let batch = iters.clamp(1, 4096);
    let (w, r) = t.open(libc::O_NONBLOCK);
    let mut b = [0u8; 1];
    let mut big = vec![0u8; batch];
    let batches = iters.div_ceil(batch);
    let start = now_ns();
    match op {
        "write" => {
            for _ in 0..batches {
                for _ in 0..batch {
                    write_all(w, &b);
                }
                read_some(r, &mut big);
            }
        }
        "read" => {
            for _ in 0..batches {
                write_all(w, &big);
                for _ in 0..batch {
                    read_some(r, &mut b);
                }
            }
        }
        "write_read" => {
            for _ in 0..iters {
                write_all(w, &b);
                read_some(r, &mut b);
            }
        }
        "poll" => {
            write_all(w, &b);
            let mut p = libc::pollfd {
                fd: r,
                events: libc::POLLIN,
                revents: 0,
            };
            for _ in 0..iters {
                // SAFETY: one valid pollfd.
                let n = unsafe { libc::poll(&mut p, 1, 0) };
                assert_eq!(n, 1, "poll");
            }
        }
        "ioctl" => {
            let cmd: u64 = (2 << 30) | (56 << 16) | (0xB9 << 8) | 1;
            let mut stats = [0u8; 56];
            for _ in 0..iters {
                // SAFETY: a buffer of the size the command names.
                let rc = unsafe { libc::ioctl(r, cmd as _, stats.as_mut_ptr()) };
                assert_eq!(rc, 0, "ioctl");
            }
        }
        _ => panic!("unknown op {op}"),
    }
    let ops = if op == "write" || op == "read" {
        batches * batch
    } else {
        iters
    };
    println!("{:.1}", (now_ns() - start) as f64 / ops.max(1) as f64);
    close(w);
    close(r);
}

/// `rs-bench trace MODE SCALE REPS LABEL`: write_read_1b on both drivers,
/// as the main run measures it, recorded as workload `trace_LABEL`. The VM
/// runs it with modules built without trace events (`absent`), with them
/// built in and disabled (`off`), and enabled (`on`).
fn trace_cost(mode: &str, scale: usize, reps: usize, label: &str) {
    let drivers = [Target::Rust, Target::C];
    let workload = match label {
        "absent" => "trace_absent",
        "off" => "trace_off",
        "on" => "trace_on",
        other => panic!("unknown trace label {other}"),
    };
    let v = alternate(&drivers, reps, |t| (write_read_1b(t, 20_000 / scale), 0.0));
    for (t, (ns, _)) in drivers.iter().zip(v) {
        let c = Cell {
            target: *t,
            workload,
            block: 1,
            writers: 1,
            readers: 1,
            unit: "ns",
            higher_is_better: false,
        };
        emit(mode, &c, ns);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 6 && args[1] == "trace" {
        let scale = args[3].parse().unwrap_or(1usize).max(1);
        let reps = args[4].parse().unwrap_or(5usize).max(1);
        trace_cost(&args[2], scale, reps, &args[5]);
        return;
    }
    if args.len() == 5 && args[1] == "op" {
        let t = match args[3].as_str() {
            "rust_sample" => Target::Rust,
            "c_sample" => Target::C,
            other => panic!("unknown target {other}"),
        };
        one_op(&args[2], t, args[4].parse().unwrap_or(0));
        return;
    }
    let mode = args.get(1).cloned().unwrap_or_else(|| "wall".into());
    let scale: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5).max(1);
    let all = [Target::Rust, Target::C, Target::Pipe, Target::ZeroNull];
    let fifos = [Target::Rust, Target::C, Target::Pipe];
    let cell = |target, workload, block, writers, readers, unit, higher_is_better| Cell {
        target,
        workload,
        block,
        writers,
        readers,
        unit,
        higher_is_better,
    };

    for block in [1usize, 64, 512, 4096, 65536] {
        // Enough bytes for a measurable run, bounded in calls for tiny blocks.
        let total = (block * 20_000).min(16 << 20) / scale;
        let v = alternate(&all, reps, |t| {
            let (secs, calls) = stream(t, block, total, 1, 1);
            (total as f64 / secs / 1e6, calls as f64 / secs)
        });
        for (t, (mbs, ops)) in all.iter().zip(v) {
            emit(
                &mode,
                &cell(*t, "throughput", block, 1, 1, "MB/s", true),
                mbs,
            );
            emit(
                &mode,
                &cell(*t, "throughput", block, 1, 1, "ops/s", true),
                ops,
            );
        }
    }
    for block in [64usize, 4096] {
        let total = (block * 8_000).min(16 << 20) / scale;
        let v = alternate(&fifos, reps, |t| {
            (total as f64 / uring_stream(t, block, total) / 1e6, 0.0)
        });
        for (t, (mbs, _)) in fifos.iter().zip(v) {
            emit(&mode, &cell(*t, "io_uring", block, 1, 1, "MB/s", true), mbs);
        }
    }
    let iters = 20_000 / scale;
    let v = alternate(&all, reps, |t| (write_read_1b(t, iters), 0.0));
    for (t, (ns, _)) in all.iter().zip(v) {
        emit(&mode, &cell(*t, "write_read_1b", 1, 1, 1, "ns", false), ns);
    }
    let v = alternate(&fifos, reps, |t| (pingpong(t, iters / 4), 0.0));
    for (t, (ns, _)) in fifos.iter().zip(v) {
        emit(&mode, &cell(*t, "pingpong", 1, 1, 1, "ns", false), ns);
    }
    let v = alternate(&fifos, reps, |t| (ioctl(t, iters), 0.0));
    for (t, (ns, _)) in fifos.iter().zip(v) {
        emit(&mode, &cell(*t, "ioctl", 0, 0, 0, "ns", false), ns);
    }
    let v = alternate(&fifos, reps, |t| (poll_wake(t, (200 / scale).max(20)), 0.0));
    for (t, (ns, _)) in fifos.iter().zip(v) {
        emit(&mode, &cell(*t, "poll_wake", 8, 1, 1, "ns", false), ns);
    }
    for n in [1usize, 2, 4] {
        let total = (8 << 20) / scale;
        let v = alternate(&fifos, reps, |t| {
            (total as f64 / stream(t, 4096, total, n, n).0 / 1e6, 0.0)
        });
        for (t, (mbs, _)) in fifos.iter().zip(v) {
            emit(&mode, &cell(*t, "scaling", 4096, n, n, "MB/s", true), mbs);
        }
    }
    println!("RS-BENCH-DONE");
}
