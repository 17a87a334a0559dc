// SPDX-License-Identifier: GPL-2.0

//! `rs-devtest stress DEVICE SECONDS SEED`: several processes of two threads
//! each run a seeded random mix of open/close, reads and writes of 0 to twice
//! the capacity (plain, `preadv2`/`pwritev2` with `RWF_NOWAIT`, or `splice`
//! through a pipe), poll, valid and invalid ioctls, `O_NONBLOCK` and
//! `O_ASYNC` toggles and signals, for a bounded time.
//!
//! Verification: every byte written (as counted by `write`'s return value)
//! must be read exactly once, by some reader or by the final drain. Readers
//! interleave, so the check is order-free: the histogram of byte values
//! written must equal the histogram read, and the totals must match the
//! device's own counters.

use crate::rng::Rng;
use crate::sys::*;
use std::time::{
    Duration,
    Instant, //
};

const PROCESSES: usize = 4;
const THREADS: usize = 2;

#[derive(Default, Clone)]
struct Tally {
    written: Vec<u64>,
    read: Vec<u64>,
    ops: u64,
    eintr: u64,
    eagain: u64,
}

impl Tally {
    fn new() -> Self {
        Self {
            written: vec![0; 256],
            read: vec![0; 256],
            ..Default::default()
        }
    }

    fn add(&mut self, o: &Tally) {
        for i in 0..256 {
            self.written[i] += o.written[i];
            self.read[i] += o.read[i];
        }
        self.ops += o.ops;
        self.eintr += o.eintr;
        self.eagain += o.eagain;
    }

    fn encode(&self) -> String {
        let w: Vec<String> = self.written.iter().map(u64::to_string).collect();
        let r: Vec<String> = self.read.iter().map(u64::to_string).collect();
        format!(
            "{}\n{}\n{} {} {}\n",
            w.join(" "),
            r.join(" "),
            self.ops,
            self.eintr,
            self.eagain
        )
    }

    fn decode(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        let parse =
            |l: &str| -> Option<Vec<u64>> { l.split(' ').map(|x| x.parse().ok()).collect() };
        let written = parse(lines.next()?)?;
        let read = parse(lines.next()?)?;
        let tail = parse(lines.next()?)?;
        Some(Self {
            written,
            read,
            ops: *tail.first()?,
            eintr: *tail.get(1)?,
            eagain: *tail.get(2)?,
        })
    }
}

extern "C" fn on_usr1(_: libc::c_int) {}

/// A pipe's default capacity: a write of this much into an empty pipe does
/// not block.
const PIPE_BYTES: usize = 64 * 1024;

fn worker_thread(dev: &str, seed: u64, deadline: Instant) -> Res<Tally> {
    let mut rng = Rng::new(seed);
    let mut t = Tally::new();
    // Each thread leans one way, so that readers drain the FIFO and block,
    // and writers fill it and block: that is where signals matter.
    let read_share = 10 + rng.below(81);
    let mut fd: Option<Fd> = None;
    let mut rdwr = false;
    // The open file's access: (reads, writes).
    let mut access = (false, false);
    // Twice the largest capacity the stress sets (128 KiB).
    let mut buf = vec![0u8; 256 * 1024];
    // This thread's own pipe, for splice; empty between operations.
    let (pipe_r, pipe_w) = pipe()?;
    while Instant::now() < deadline {
        t.ops += 1;
        // make coverage: keep this thread's KCOV area from filling up.
        crate::kcov::rewind();
        if fd.is_none() || rng.chance(3) {
            // open/close: a new file with a random access mode.
            drop(fd.take());
            let mode = [libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR][rng.below(3) as usize];
            // A blocking O_RDWR file could wait for itself: keep those
            // non-blocking.
            rdwr = mode == libc::O_RDWR;
            access = (mode != libc::O_WRONLY, mode != libc::O_RDONLY);
            let nb = if rdwr || rng.chance(50) {
                libc::O_NONBLOCK
            } else {
                0
            };
            fd = Some(open(dev, mode | nb)?);
            continue;
        }
        let Some(f) = fd.as_ref() else { continue };
        let cap = (capacity(f)? as usize).min(buf.len() / 2);
        let roll = rng.below(100);
        let io = if roll < 70 {
            Some(rng.below(100) < read_share)
        } else {
            None
        };
        // How the bytes move: read/write, the v2 calls with RWF_NOWAIT, or
        // splice through this thread's pipe (at most the pipe's 64 KiB).
        let how = rng.below(4);
        match (io, roll) {
            (Some(true), _) => {
                let mut n = rng.below(2 * cap as u64 + 1) as usize;
                let r = match how {
                    2 => read_flags(f, &mut buf[..n], libc::RWF_NOWAIT),
                    3 => {
                        n = n.min(PIPE_BYTES);
                        splice(f, &pipe_w, n, 0).and_then(|k| {
                            let got = read_exact(&pipe_r, k).map_err(|_| libc::EIO)?;
                            buf[..k].copy_from_slice(&got);
                            Ok(k)
                        })
                    }
                    _ => read(f, &mut buf[..n]),
                };
                match r {
                    Ok(k) => {
                        for &b in &buf[..k] {
                            t.read[b as usize] += 1;
                        }
                    }
                    Err(libc::EINTR) => t.eintr += 1,
                    Err(libc::EAGAIN) => t.eagain += 1,
                    Err(libc::EBADF) => {}
                    Err(e) => return Err(format!("read (method {how}): {}", err_name(e))),
                }
            }
            (Some(false), _) => {
                let mut n = rng.below(2 * cap as u64 + 1) as usize;
                if how == 3 {
                    n = n.min(PIPE_BYTES);
                }
                rng.fill(&mut buf[..n]);
                let r = match how {
                    2 => write_flags(f, &buf[..n], libc::RWF_NOWAIT),
                    3 => {
                        write_all(&pipe_w, &buf[..n])?;
                        let r = splice(&pipe_r, f, n, 0);
                        // What the device did not take leaves the pipe
                        // unwritten: drain it, uncounted.
                        read_exact(&pipe_r, n - r.unwrap_or(0))?;
                        r
                    }
                    _ => write(f, &buf[..n]),
                };
                match r {
                    Ok(k) => {
                        for &b in &buf[..k] {
                            t.written[b as usize] += 1;
                        }
                    }
                    Err(libc::EINTR) => t.eintr += 1,
                    Err(libc::EAGAIN) => t.eagain += 1,
                    Err(libc::EBADF) => {}
                    Err(e) => return Err(format!("write (method {how}): {}", err_name(e))),
                }
            }
            (None, 70..=79) => {
                // A file sees only the events of its access mode (checked:
                // whatever the others do, never those of an access it
                // lacks), and POLLOUT only when a PIPE_BUF write fits, so a
                // poll may sleep, and a signal then ends it with EINTR.
                match poll1(f, libc::POLLIN | libc::POLLOUT, rng.below(10) as i32) {
                    Ok(ev) => {
                        let mut foreign = 0;
                        if !access.0 {
                            foreign |= libc::POLLIN | libc::POLLHUP;
                        }
                        if !access.1 {
                            foreign |= libc::POLLOUT;
                        }
                        if ev & foreign != 0 {
                            return Err(format!(
                                "poll of a file with (read, write) access {access:?} gave {ev:#x}"
                            ));
                        }
                    }
                    Err(e) if e.ends_with("EINTR") => t.eintr += 1,
                    Err(e) => return Err(e),
                }
            }
            (None, 80..=87) => {
                // GET_STATS takes no lock: its fields are not one snapshot
                // (a shrinking resize may fall between len and capacity),
                // but each is a value the FIFO had.
                let s = stats(f)?;
                if s.len > MAX_CAPACITY || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&s.capacity) {
                    return Err(format!("stats: len {}, capacity {}", s.len, s.capacity));
                }
            }
            (None, 88..=91) => {
                // Valid sizes only; EBUSY when the data does not fit.
                let new = 4096 * (1 + rng.below(32));
                match set_capacity(f, new) {
                    Ok(()) | Err(libc::EBUSY) => {}
                    Err(e) => return Err(format!("SET_CAPACITY {new}: {}", err_name(e))),
                }
            }
            (None, 92..=95) => {
                let cmd = rng.next() & 0xffff_ffff;
                if ![GET_STATS, GET_CAPACITY, SET_CAPACITY, CLEAR].contains(&cmd) {
                    match ioctl_ptr(f, cmd, std::ptr::null_mut()) {
                        Err(libc::ENOTTY) => {}
                        r => return Err(format!("ioctl {cmd:#x}: {r:?}, want ENOTTY")),
                    }
                }
            }
            (None, 96..=97) => {
                // O_ASYNC on or off: SIGIO (caught, no SA_RESTART) to this
                // process at each transition, interrupting blocked calls.
                set_async(f, 0, rng.chance(50), rdwr || rng.chance(50))?;
            }
            _ => set_nonblock(f, rdwr || rng.chance(50))?,
        }
    }
    Ok(t)
}

fn worker_process(dev: String, seed: u64, deadline: Instant) -> Res<()> {
    // The SIGUSR1 handler was installed by `run` before the fork, so a
    // signal that arrives at once cannot kill the child.
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let dev = dev.clone();
            spawn(move || worker_thread(&dev, seed * 31 + i as u64, deadline))
        })
        .collect();
    // Process-directed signals go to a thread that does not block them, and
    // the main thread, waiting in join(), would take them all: block them
    // here so that they reach the workers (who unblocked them at spawn).
    // SAFETY: plain signal-mask calls on this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGIO);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let mut total = Tally::new();
    for h in handles {
        let t = h
            .join()
            .map_err(|_| "a stress thread panicked".to_string())??;
        total.add(&t);
    }
    // SAFETY: getpid never fails.
    let pid = unsafe { libc::getpid() };
    std::fs::write(format!("/tmp/stress-{pid}"), total.encode()).map_err(|e| e.to_string())
}

pub fn run(dev: &str, seconds: u64, seed: u64) -> Res<()> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let f = open(dev, libc::O_RDWR | libc::O_NONBLOCK)?;
    clear(&f).map_err(err_name)?;
    let before = stats(&f)?;
    // SAFETY: a handler that does nothing, without SA_RESTART: blocking calls
    // return EINTR, which is what the signals are for. Installed before the
    // fork, so the workers inherit it before the first signal can arrive.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
        // SIGIO from O_ASYNC files: the same handler, so it interrupts too.
        libc::sigaction(libc::SIGIO, &sa, std::ptr::null_mut());
    }
    let mut pids = Vec::new();
    for p in 0..PROCESSES {
        let dev = dev.to_string();
        pids.push(fork(move || {
            worker_process(dev, seed + p as u64, deadline)
        })?);
    }
    // Signals: at random while the workers run, then until they are all out
    // of their blocking calls.
    let mut rng = Rng::new(seed ^ 0x5151);
    let mut signals = 0u64;
    loop {
        let alive: Vec<_> = pids
            .iter()
            .copied()
            .filter(|&p| still_running_no_reap(p))
            .collect();
        if alive.is_empty() {
            break;
        }
        let victim = alive[rng.below(alive.len() as u64) as usize];
        // SAFETY: signalling our own child.
        unsafe { libc::kill(victim, libc::SIGUSR1) };
        signals += 1;
        sleep_ms(if Instant::now() < deadline {
            1 + rng.below(10)
        } else {
            2
        });
        if Instant::now() > deadline + Duration::from_secs(60) {
            return Err("workers still running 60 s after the deadline".into());
        }
    }
    let mut total = Tally::new();
    for pid in pids {
        wait(pid)?;
        let text =
            std::fs::read_to_string(format!("/tmp/stress-{pid}")).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(format!("/tmp/stress-{pid}"));
        total.add(&Tally::decode(&text).ok_or("bad tally file")?);
    }
    // Drain what is left.
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match read(&f, &mut buf) {
            Ok(0) | Err(libc::EAGAIN) => break,
            Ok(k) => {
                for &b in &buf[..k] {
                    total.read[b as usize] += 1;
                }
            }
            Err(e) => return Err(format!("drain: {}", err_name(e))),
        }
    }
    let after = stats(&f)?;
    let written: u64 = total.written.iter().sum();
    let read_total: u64 = total.read.iter().sum();
    if total.written != total.read {
        let bad = (0..256)
            .find(|&i| total.written[i] != total.read[i])
            .unwrap_or(0);
        return Err(format!(
            "byte {bad:#x}: written {} times, read {} times ({written} written, {read_total} read)",
            total.written[bad], total.read[bad]
        ));
    }
    let dw = after.bytes_written - before.bytes_written;
    let dr = after.bytes_read - before.bytes_read;
    if dw != written || dr != read_total || after.len != 0 {
        return Err(format!(
            "device counters disagree: wrote {dw}/{written}, read {dr}/{read_total}, len {}",
            after.len
        ));
    }
    println!("RS-FIGURE stress_seconds {}", start.elapsed().as_secs());
    println!("RS-FIGURE stress_operations {}", total.ops);
    println!("RS-FIGURE stress_bytes_verified {read_total}");
    println!("RS-FIGURE stress_signals {signals}");
    println!("RS-FIGURE stress_eintr {}", total.eintr);
    Ok(())
}

/// Whether a child is running, without reaping it if it has exited.
fn still_running_no_reap(pid: libc::pid_t) -> bool {
    // SAFETY: waitid with WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        r == 0 && info.si_pid() == 0
    }
}
