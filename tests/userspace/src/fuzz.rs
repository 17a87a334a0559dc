// SPDX-License-Identifier: GPL-2.0

//! `rs-devtest fuzz DEVICE CALLS SEED`: a seeded, reproducible fuzzer of the
//! device's userspace interface; `rs-devtest fuzz-guided DEVICE CALLS SEED`
//! the same calls, guided by the module's KCOV coverage (`make coverage`).
//!
//! Each call picks one of three files (opened read-only, write-only and
//! read-write at first), an operation (ioctl with a random or known
//! command, read or write, plain or with `RWF_NOWAIT`, `splice` to or from
//! a pipe, a `poll` that does not wait, or closing the file and opening the
//! device again in another mode), a pointer (NULL, unmapped, a kernel
//! address, misaligned, crossing into a PROT_NONE page, valid) and a length
//! (zero, huge, crossing a page boundary, random). The fuzzer is the
//! device's only user, so the device's state before and after each call is
//! known (`GET_STATS`), and each call has one exact allowed outcome
//! ([`judge`]): the errno, count or poll events the ABI gives for that
//! state, file mode and buffer, and the state change that goes with it (an
//! atomic write that faults stores nothing; a read that faults partway
//! returns the bytes it copied; a read of an empty FIFO with no writer left
//! is end of file). The kernel must not splat (the VM runner watches the
//! console).

use crate::kcov;
use crate::rng::Rng;
use crate::sys::*;
use std::collections::{
    BTreeMap,
    HashSet, //
};

const KNOWN: [u64; 4] = [GET_STATS, GET_CAPACITY, SET_CAPACITY, CLEAR];

struct Arena {
    base: *mut u8,
    page: usize,
}

impl Arena {
    /// Two pages: the first read-write, the second PROT_NONE. Real pages
    /// (`mprotect` works in them), not `PIPE_BUF`.
    fn new() -> Res<Self> {
        let page = page_size();
        // SAFETY: an anonymous private mapping, then mprotect of its tail.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return Err("mmap failed".into());
            }
            libc::mprotect(p.cast::<u8>().add(page).cast(), page, libc::PROT_NONE);
            Ok(Self {
                base: p.cast(),
                page,
            })
        }
    }

    /// How many bytes from `p` on are accessible: the rest of the first
    /// page when `p` is in it, else none.
    fn usable(&self, p: *mut libc::c_void) -> usize {
        let (p, base) = (p as usize, self.base as usize);
        if (base..base + self.page).contains(&p) {
            base + self.page - p
        } else {
            0
        }
    }

    /// The address a [`Ptr`] stands for.
    fn resolve(&self, p: Ptr) -> *mut libc::c_void {
        let a = match p {
            Ptr::Null => 0,
            Ptr::Low => 0x10,
            Ptr::Unmapped => 0x7fff_0000_0000,
            Ptr::Kernel => 0xffff_ffff_8100_0000,
            Ptr::Misaligned(k) => self.base as usize + k as usize,
            Ptr::PageCrossing(k) => self.base as usize + self.page - 1 - k as usize,
            Ptr::Valid => self.base as usize,
        };
        a as *mut libc::c_void
    }
}

/// A call's buffer: one of the interesting kinds of pointer.
#[derive(Clone, Copy, Debug)]
enum Ptr {
    Null,
    Low,
    Unmapped,
    Kernel,
    /// 1 to 7 bytes into the arena's readable page.
    Misaligned(u8),
    /// 1 to 8 bytes before the arena's PROT_NONE page.
    PageCrossing(u8),
    Valid,
}

impl Ptr {
    fn random(rng: &mut Rng) -> Self {
        match rng.below(7) {
            0 => Ptr::Null,
            1 => Ptr::Low,
            2 => Ptr::Unmapped,
            3 => Ptr::Kernel,
            4 => Ptr::Misaligned(1 + rng.below(7) as u8),
            5 => Ptr::PageCrossing(rng.below(8) as u8),
            _ => Ptr::Valid,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ptr::Null => "null",
            Ptr::Low => "low",
            Ptr::Unmapped => "unmapped",
            Ptr::Kernel => "kernel",
            Ptr::Misaligned(_) => "misaligned",
            Ptr::PageCrossing(_) => "page-crossing",
            Ptr::Valid => "valid",
        }
    }
}

/// What one call does, as data: the fuzzer generates it, mutates it and
/// replays it.
#[derive(Clone, Copy, Debug)]
enum Op {
    Ioctl {
        cmd: u64,
    },
    /// read/write, or preadv2/pwritev2 with `RWF_NOWAIT`, whose outcomes
    /// are the same (the device sets `FMODE_NOWAIT`).
    Io {
        read: bool,
        nowait: bool,
        len: usize,
    },
    /// splice out to, or in from, the fuzzer's non-blocking pipe, which is
    /// drained after each call.
    Splice {
        out: bool,
        len: usize,
        nonblock: bool,
    },
    /// poll(2) for input and output, not waiting.
    Poll,
    /// Closes the file and opens the device again with another access mode
    /// (an index of [`FILES`]): the opener counts, and with them end of
    /// file and hang-up, move.
    Reopen {
        mode: usize,
    },
}

/// One call: the file (one of the fuzzer's three, each opened read-only,
/// write-only or read-write), the buffer, the eight bytes put at the valid
/// pointer first (SET_CAPACITY's argument), and the operation.
#[derive(Clone, Copy, Debug)]
struct Spec {
    file: usize,
    ptr: Ptr,
    fill: Option<u64>,
    op: Op,
}

const FILES: [&str; 3] = ["rdonly", "wronly", "rdwr"];
const FLAGS: [i32; 3] = [libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR];

fn random_cmd(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => KNOWN[rng.below(4) as usize],
        1 => rng.next() & 0xffff_ffff,
        // Our magic with a random number, direction or size.
        2 => (rng.below(4) << 30) | (rng.below(0x4000) << 16) | (0xB9 << 8) | rng.below(8),
        _ => KNOWN[rng.below(4) as usize] ^ (1 << rng.below(32)),
    }
}

/// A read or write length: zero, huge, to just past the pointer's page, or
/// anything up to three times the default capacity.
fn random_len(rng: &mut Rng, arena: &Arena, ptr: Ptr) -> usize {
    match rng.below(4) {
        0 => 0,
        1 => 1usize << (20 + rng.below(24)),
        2 => arena.page - (arena.resolve(ptr) as usize % arena.page) + rng.below(16) as usize,
        _ => rng.below(3 * 65536) as usize,
    }
}

fn random_splice_len(rng: &mut Rng) -> usize {
    [0usize, 1, 4096, 4097, 1 << 20][rng.below(5) as usize]
}

/// Keeps the valid page's bytes random, so SET_CAPACITY sees both valid and
/// invalid sizes.
fn random_fill(rng: &mut Rng, ptr: Ptr) -> Option<u64> {
    (matches!(ptr, Ptr::Valid) && rng.chance(50))
        .then(|| [4096u64, 8192, 65536, rng.next()][rng.below(4) as usize])
}

impl Spec {
    fn random(rng: &mut Rng, arena: &Arena) -> Self {
        let file = rng.below(3) as usize;
        let ptr = Ptr::random(rng);
        let fill = random_fill(rng, ptr);
        let op = match rng.below(10) {
            0 | 1 => Op::Ioctl {
                cmd: random_cmd(rng),
            },
            2 | 3 => Op::Splice {
                out: rng.chance(50),
                len: random_splice_len(rng),
                nonblock: rng.chance(50),
            },
            4 => Op::Poll,
            5 => Op::Reopen {
                mode: rng.below(3) as usize,
            },
            _ => Op::Io {
                read: rng.chance(50),
                nowait: rng.chance(30),
                len: random_len(rng, arena, ptr),
            },
        };
        Spec {
            file,
            ptr,
            fill,
            op,
        }
    }

    /// The same call with one thing changed: the file, the buffer, or the
    /// operation's direction, command or length.
    fn tweak(&mut self, rng: &mut Rng, arena: &Arena) {
        match rng.below(3) {
            0 => self.file = rng.below(3) as usize,
            1 => {
                self.ptr = Ptr::random(rng);
                self.fill = random_fill(rng, self.ptr);
            }
            _ => match &mut self.op {
                Op::Ioctl { cmd } => *cmd = random_cmd(rng),
                Op::Io { len, read, .. } => {
                    if rng.chance(20) {
                        *read = !*read;
                    } else {
                        *len = random_len(rng, arena, self.ptr);
                    }
                }
                Op::Splice { len, out, .. } => {
                    if rng.chance(20) {
                        *out = !*out;
                    } else {
                        *len = random_splice_len(rng);
                    }
                }
                Op::Poll => {}
                Op::Reopen { mode } => *mode = rng.below(3) as usize,
            },
        }
    }
}

/// Empties a non-blocking pipe.
fn drain(r: &Fd) {
    let mut buf = [0u8; 4096];
    while matches!(read(r, &mut buf), Ok(n) if n > 0) {}
}

/// How many bytes a splice in finds in the pipe: its length, up to a
/// page and a byte (so that both atomic and larger steps happen).
fn piped(len: usize) -> usize {
    len.min(4097)
}

impl Op {
    /// The operation's name, for the outcome counts and failures.
    fn name(&self) -> &'static str {
        match self {
            Op::Ioctl { .. } => "ioctl",
            Op::Io { read: true, .. } => "read",
            Op::Io { read: false, .. } => "write",
            Op::Splice { out: true, .. } => "splice-out",
            Op::Splice { out: false, .. } => "splice-in",
            Op::Poll => "poll",
            Op::Reopen { .. } => "reopen",
        }
    }
}

/// Whether a file opened `fname` (one of [`FILES`]) reads, and writes.
fn access(fname: &str) -> (bool, bool) {
    (fname != "wronly", fname != "rdonly")
}

/// The exact outcome the ABI allows for `op` on a file opened `fname`,
/// given the device's state before and after (the fuzzer is the device's
/// only user, and every file is non-blocking) and how many bytes at the
/// pointer `ptr` are accessible (`usable`; the SET_CAPACITY value when
/// readable).
fn judge(
    op: &Op,
    fname: &str,
    res: Result<usize, i32>,
    before: &Stats,
    after: &Stats,
    ptr: usize,
    usable: usize,
    value: Option<u64>,
) -> Result<(), String> {
    // The page size where the kernel works in pages (the top of user
    // space, a pipe's slots); PIPE_BUF for what is atomic.
    let page = page_size();
    let free = (before.capacity - before.len) as usize;
    let held = before.len as usize;
    let unchanged = after.len == before.len && after.capacity == before.capacity;
    let want = |ok: bool, why: &str| if ok { Ok(()) } else { Err(why.to_string()) };
    let mode_refused = matches!(
        (op, fname),
        (
            Op::Io { read: true, .. } | Op::Splice { out: true, .. },
            "wronly"
        ) | (
            Op::Io { read: false, .. } | Op::Splice { out: false, .. },
            "rdonly"
        )
    );
    // The VFS refuses a buffer that runs past the top of user space
    // (`access_ok()` on the whole length, before the length is capped) with
    // EFAULT. The top is 2^47 less a page with four-level paging and higher
    // with five: past 2^47, EFAULT is allowed, not required.
    if let (Op::Io { len, .. }, Err(libc::EFAULT)) = (op, res) {
        if (ptr as u64).saturating_add(*len as u64) > (1u64 << 47) - page as u64 {
            return want(unchanged, "EFAULT changed the state");
        }
    }
    // splice(2) returns 0 for a zero length before it looks at the files.
    let zero_splice = matches!(op, Op::Splice { len: 0, .. });
    if zero_splice {
        return want(
            res == Ok(0) && unchanged,
            "a zero-length splice must return 0",
        );
    }
    if mode_refused {
        return want(
            res == Err(libc::EBADF) && unchanged,
            "want EBADF, nothing changed",
        );
    }
    // No file of the device has write access (the fuzzer's own files are
    // its only ones): a read of an empty FIFO is end of file.
    let eof = held == 0 && before.writers == 0;
    match (op, res) {
        (_, Err(libc::EBADF)) => Err("EBADF on a file of the right mode".into()),
        (Op::Poll, r) => {
            // By the file's access mode, and POLLOUT only when a
            // PIPE_BUF write fits, as on a pipe.
            let (has_read, has_write) = access(fname);
            let mut want_events = 0;
            if has_read && (held > 0 || before.writers == 0) {
                want_events |= libc::POLLIN | libc::POLLRDNORM;
            }
            if has_write && free >= PIPE_BUF {
                want_events |= libc::POLLOUT | libc::POLLWRNORM;
            }
            if before.writers == 0 && has_read {
                want_events |= libc::POLLHUP;
            }
            want(
                r == Ok(want_events as usize) && unchanged,
                "poll's events are not what the state says",
            )
        }
        (Op::Reopen { mode: new }, r) => {
            // The old file's access leaves the counts, the new one's joins.
            let (or, ow) = access(fname);
            let (nr, nw) = access(FILES[*new]);
            want(
                r == Ok(0)
                    && unchanged
                    && after.readers == before.readers - or as u32 + nr as u32
                    && after.writers == before.writers - ow as u32 + nw as u32,
                "the opener counts did not follow the close and the open",
            )
        }
        (Op::Ioctl { cmd }, r) if !KNOWN.contains(cmd) => want(
            r == Err(libc::ENOTTY) && unchanged,
            "want ENOTTY, nothing changed",
        ),
        (Op::Ioctl { cmd }, r) if *cmd == GET_STATS || *cmd == GET_CAPACITY => {
            let size = if *cmd == GET_STATS { STATS_SIZE } else { 8 };
            let expect = if usable >= size {
                Ok(0)
            } else {
                Err(libc::EFAULT)
            };
            want(
                r == expect && unchanged,
                "want success iff the buffer is writable",
            )
        }
        (Op::Ioctl { cmd }, r) if *cmd == CLEAR => want(
            r == Ok(0) && after.len == 0,
            "want success and an empty FIFO",
        ),
        (Op::Ioctl { .. }, r) => {
            // SET_CAPACITY, as root: EFAULT, EINVAL, EBUSY in that order;
            // ENOMEM possible; success sets the capacity, keeps the data.
            let Some(v) = value else {
                return want(r == Err(libc::EFAULT) && unchanged, "want EFAULT");
            };
            if !(MIN_CAPACITY..=MAX_CAPACITY).contains(&v) {
                want(r == Err(libc::EINVAL) && unchanged, "want EINVAL")
            } else if before.len > v {
                want(r == Err(libc::EBUSY) && unchanged, "want EBUSY")
            } else {
                match r {
                    Ok(0) => want(
                        after.capacity == v && after.len == before.len,
                        "capacity not set or data lost",
                    ),
                    Err(libc::ENOMEM) => want(unchanged, "ENOMEM changed the state"),
                    _ => Err("want success or ENOMEM".into()),
                }
            }
        }
        (
            Op::Io {
                read: true, len, ..
            },
            r,
        ) => match r {
            // A zero-length read succeeds with 0, unless the VFS refuses a
            // kernel address first.
            _ if *len == 0 => want(
                matches!(r, Ok(0) | Err(libc::EFAULT)) && unchanged,
                "zero-length read",
            ),
            // End of file: 0 before the buffer is looked at.
            Ok(0) => want(eof && unchanged, "a read returned 0 with a writer present"),
            Ok(n) => {
                let most = (*len).min(held);
                want(
                    n <= most && n <= usable && after.len == before.len - n as u64,
                    "a read returned a count the FIFO and buffer cannot give",
                )?;
                // A buffer that takes everything gets everything; a read that
                // faults partway returns the bytes it copied.
                want(
                    usable < most || n == most,
                    "a read returned less than it could",
                )
            }
            // An empty FIFO with a writer: EAGAIN before the buffer is looked at.
            Err(libc::EAGAIN) => want(
                held == 0 && !eof && unchanged,
                "EAGAIN with data present, or at end of file",
            ),
            Err(libc::EFAULT) => want(
                held > 0 && usable == 0 && unchanged,
                "EFAULT with a usable buffer or an empty FIFO",
            ),
            _ => Err("not an outcome of read".into()),
        },
        (
            Op::Io {
                read: false, len, ..
            },
            r,
        ) => {
            // What this call stores when the buffer holds: all of an atomic
            // write, or what fits of a larger one. A fault inside that step
            // keeps the bytes copied before it only when the step is larger
            // than PIPE_BUF; a step of PIPE_BUF or less is dropped whole, as
            // a pipe drops a partly copied page (Documentation/abi.rst).
            let atomic = *len <= PIPE_BUF;
            let step = if atomic { *len } else { (*len).min(free) };
            let keeps_partial = step > PIPE_BUF;
            match r {
                _ if *len == 0 => want(
                    matches!(r, Ok(0) | Err(libc::EFAULT)) && unchanged,
                    "zero-length write",
                ),
                Ok(n) => {
                    want(
                        n >= 1 && after.len == before.len + n as u64,
                        "the count is not what was stored",
                    )?;
                    want(free >= step, "stored without room")?;
                    if usable >= step {
                        want(n == step, "a write stored other than all it could")
                    } else {
                        want(
                            keeps_partial && n == usable,
                            "a faulting write stored bytes",
                        )
                    }
                }
                Err(libc::EAGAIN) => want(
                    unchanged && if atomic { free < *len } else { free == 0 },
                    "EAGAIN with room",
                ),
                Err(libc::EFAULT) => want(
                    unchanged && (usable == 0 || (usable < step && !keeps_partial)),
                    "EFAULT with a usable buffer, or bytes stored",
                ),
                _ => Err("not an outcome of write".into()),
            }
        }
        (Op::Splice { out: true, len, .. }, r) => {
            // Into an empty 16-page pipe: one read of up to 64 KiB.
            let most = (*len).min(held).min(16 * page);
            match r {
                Ok(n) => want(
                    n == most && after.len == before.len - n as u64 && (n > 0 || eof),
                    "spliced out other than all it could",
                ),
                Err(libc::EAGAIN) => want(
                    held == 0 && !eof && *len > 0 && unchanged,
                    "EAGAIN with data present, or at end of file",
                ),
                _ => Err("not an outcome of splice out".into()),
            }
        }
        (
            Op::Splice {
                out: false, len, ..
            },
            r,
        ) => {
            let p = (*len).min(piped(*len));
            let atomic = p <= PIPE_BUF;
            match r {
                Ok(n) if p == 0 => want(n == 0 && unchanged, "a zero-length splice moved bytes"),
                Ok(n) => want(
                    n == if atomic { p } else { p.min(free) }
                        && (!atomic || free >= p)
                        && after.len == before.len + n as u64,
                    "spliced in other than all it could",
                ),
                Err(libc::EAGAIN) => want(
                    unchanged && if atomic { free < p } else { free == 0 },
                    "EAGAIN with room",
                ),
                _ => Err("not an outcome of splice in".into()),
            }
        }
    }
}

/// The fuzzer's files, buffer and pipe, the outcomes so far, and, under
/// `make coverage`, the module blocks its calls reached.
struct Fuzzer {
    arena: Arena,
    dev: String,
    /// The three files and how each is open (an index of [`FILES`]).
    files: [(usize, Fd); 3],
    pipe_r: Fd,
    pipe_w: Fd,
    seed: u64,
    /// The module behind the node: /dev/c_sample2 is c_sample's.
    module: String,
    /// Calls made so far.
    calls: u64,
    outcomes: BTreeMap<String, u64>,
    /// The fuzzed module's text (start, length), when KCOV records this task.
    text: Option<(u64, usize)>,
    /// Every block (text offset) a call reached, and the call that reached
    /// it first.
    blocks: HashSet<u64>,
    timeline: Vec<(u64, u64)>,
}

impl Fuzzer {
    fn new(dev: &str, seed: u64) -> Res<Self> {
        let (pipe_r, pipe_w) = pipe()?;
        set_nonblock(&pipe_r, true)?;
        set_nonblock(&pipe_w, true)?;
        let node = dev.rsplit('/').next().unwrap_or(dev);
        let module = node.trim_end_matches(|c: char| c.is_ascii_digit());
        let text = kcov::mark().and_then(|_| kcov::module_text(module));
        Ok(Self {
            arena: Arena::new()?,
            dev: dev.to_string(),
            files: [
                (0, open(dev, FLAGS[0] | libc::O_NONBLOCK)?),
                (1, open(dev, FLAGS[1] | libc::O_NONBLOCK)?),
                (2, open(dev, FLAGS[2] | libc::O_NONBLOCK)?),
            ],
            pipe_r,
            pipe_w,
            seed,
            module: module.to_string(),
            calls: 0,
            outcomes: BTreeMap::new(),
            text,
            blocks: HashSet::new(),
            timeline: Vec::new(),
        })
    }

    /// Makes one call, judges it, and counts its outcome. Returns whether
    /// the call reached a module block no call had reached before.
    fn call(&mut self, spec: &Spec) -> Res<bool> {
        let n = self.calls;
        self.calls += 1;
        let (mode, ref f) = self.files[spec.file];
        let ptr = self.arena.resolve(spec.ptr);
        if let Some(v) = spec.fill {
            // SAFETY: the first page is mapped read-write.
            unsafe { std::ptr::write_unaligned(self.arena.base.cast::<u64>(), v) };
        }
        let usable = self.arena.usable(ptr);
        // SET_CAPACITY's argument, where the kernel can read it.
        let value = (usable >= 8).then(|| {
            // SAFETY: eight accessible bytes at `ptr`, inside the arena.
            unsafe { std::ptr::read_unaligned(ptr.cast::<u64>()) }
        });
        // Any file will do: the ioctls need no access mode.
        let before = stats(&self.files[2].1)?;
        // What KCOV records from here to the call's return is the call's.
        let mark = kcov::mark();
        let res = match spec.op {
            Op::Splice { out, len, nonblock } => {
                let flags = if nonblock { libc::SPLICE_F_NONBLOCK } else { 0 };
                let r = if out {
                    splice(f, &self.pipe_w, len, flags)
                } else {
                    write_all(&self.pipe_w, &vec![0x33u8; piped(len)])?;
                    splice(&self.pipe_r, f, len, flags)
                };
                drain(&self.pipe_r);
                r
            }
            Op::Ioctl { cmd } => ioctl_ptr(f, cmd, ptr).map(|()| 0),
            Op::Poll => {
                let mut p = libc::pollfd {
                    fd: f.0,
                    events: libc::POLLIN | libc::POLLRDNORM | libc::POLLOUT | libc::POLLWRNORM,
                    revents: 0,
                };
                // SAFETY: one valid pollfd; no waiting.
                let r = unsafe { libc::poll(&mut p, 1, 0) };
                if r < 0 {
                    Err(errno())
                } else {
                    Ok(p.revents as u16 as usize)
                }
            }
            Op::Reopen { mode: new } => {
                // Close, then open: the counts the judge sees after are the
                // new file's.
                // (-1 holds the place: its close does nothing.)
                let (_, old) = std::mem::replace(&mut self.files[spec.file], (new, Fd(-1)));
                drop(old);
                let fd = open(&self.dev, FLAGS[new] | libc::O_NONBLOCK)
                    .map_err(|e| format!("call {n}: reopen: {e}"))?;
                self.files[spec.file] = (new, fd);
                Ok(0)
            }
            Op::Io { read, nowait, len } => {
                let iov = libc::iovec {
                    iov_base: ptr,
                    iov_len: len,
                };
                // SAFETY: the kernel validates the pointer; faults are the
                // point. Only the arena is ever valid, and it is two pages.
                unsafe {
                    let n = match (read, nowait) {
                        (true, false) => libc::read(f.0, ptr, len),
                        (false, false) => libc::write(f.0, ptr, len),
                        (true, true) => libc::preadv2(f.0, &iov, 1, -1, libc::RWF_NOWAIT),
                        (false, true) => libc::pwritev2(f.0, &iov, 1, -1, libc::RWF_NOWAIT),
                    };
                    if n < 0 {
                        Err(errno())
                    } else {
                        Ok(n as usize)
                    }
                }
            }
        };
        let mut new = false;
        if let (Some(mark), Some((text, len))) = (mark, self.text) {
            let (blocks, timeline) = (&mut self.blocks, &mut self.timeline);
            kcov::since(mark, |pc| {
                let off = pc.wrapping_sub(text);
                if off < len as u64 && blocks.insert(off) {
                    timeline.push((n, off));
                    new = true;
                }
            });
        }
        let after = stats(&self.files[2].1)?;
        let fname = FILES[mode];
        if let Err(why) = judge(
            &spec.op,
            fname,
            res,
            &before,
            &after,
            ptr as usize,
            usable,
            value,
        ) {
            let what = match spec.op {
                Op::Ioctl { cmd } => format!("ioctl {cmd:#x}"),
                Op::Io { len, .. } | Op::Splice { out: true, len, .. } => {
                    format!("{} of {len}", spec.op.name())
                }
                Op::Splice {
                    out: false, len, ..
                } => {
                    format!("splice-in of {len} ({} piped)", piped(len))
                }
                Op::Poll => "poll".into(),
                Op::Reopen { mode } => format!("reopen as {}", FILES[mode]),
            };
            return Err(format!(
                "call {n} (seed {}): {what} on {fname} with a {} pointer ({usable} usable bytes) gave {res:?}: {why}; before {before:?}, after {after:?}",
                self.seed,
                spec.ptr.name()
            ));
        }
        let key = match res {
            Ok(_) => format!("{} ok", spec.op.name()),
            Err(e) => format!("{} {}", spec.op.name(), err_name(e)),
        };
        *self.outcomes.entry(key).or_default() += 1;
        if after.len > after.capacity || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&after.capacity) {
            return Err(format!("call {n}: invariant broken: {after:?}"));
        }
        Ok(new)
    }

    /// The figures, and under `make coverage` the blocks each call reached
    /// first, to `$RS_KCOV/fuzz-MODE-PID` (one "call offset" a line).
    fn report(&self, mode: &str) -> Res<()> {
        println!("RS-FIGURE fuzz_calls {}", self.calls);
        for (k, v) in &self.outcomes {
            println!("RS-FIGURE fuzz[{}] {v}", k.replace(' ', ":"));
        }
        let (Some(_), Some(dir)) = (self.text, std::env::var_os("RS_KCOV")) else {
            return Ok(());
        };
        println!("RS-FIGURE fuzz_blocks {}", self.blocks.len());
        let mut out = format!("calls {}\n", self.calls);
        for (n, off) in &self.timeline {
            out.push_str(&format!("{n} {off:x}\n"));
        }
        let name = format!("fuzz-{}-{mode}-{}", self.module, std::process::id());
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// `rs-devtest fuzz`: `calls` random calls, one after another, on a device
/// whose state carries over from call to call.
pub fn run(dev: &str, calls: u64, seed: u64) -> Res<()> {
    let mut rng = Rng::new(seed);
    let mut f = Fuzzer::new(dev, seed)?;
    while f.calls < calls {
        let spec = Spec::random(&mut rng, &f.arena);
        f.call(&spec)?;
        kcov::rewind();
    }
    f.report("random")
}

/// The longest program the guided fuzzer builds. Short: a program runs on
/// whatever state the last one left, so replaying a long kept one spends
/// calls on what is already known (with 16, and nine programs in ten
/// mutated, it reached the random fuzzer's blocks six times later).
const MAX_PROGRAM: usize = 4;

/// A new program from a kept one: a call inserted, removed, replaced,
/// repeated or changed in one thing, or the program's tail swapped for
/// another kept program's; one to three of those.
fn mutate(kept: &[Vec<Spec>], from: usize, rng: &mut Rng, arena: &Arena) -> Vec<Spec> {
    let mut p = kept[from].clone();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(p.len() as u64) as usize;
        match rng.below(6) {
            0 => p.insert(at, Spec::random(rng, arena)),
            1 if p.len() > 1 => {
                p.remove(at);
            }
            2 => p[at] = Spec::random(rng, arena),
            3 => {
                let again = p[at];
                p.insert(at, again);
            }
            4 => {
                let other = &kept[rng.below(kept.len() as u64) as usize];
                let cut = rng.below(other.len() as u64) as usize;
                p.truncate(at + 1);
                p.extend_from_slice(&other[cut..]);
            }
            _ => p[at].tweak(rng, arena),
        }
    }
    p.truncate(MAX_PROGRAM);
    p
}

/// `rs-devtest fuzz-guided`: KCOV-guided fuzzing (`make coverage`). Runs
/// programs of up to [`MAX_PROGRAM`] calls and keeps those whose calls
/// reached a block of the module that no call had reached before; half the
/// programs are mutations of kept ones, the rest random. As in
/// syzkaller, a program runs on the device as the previous one left it
/// (the FIFO's contents and capacity carry over), so a kept program is a
/// good start, not a reproducer. Every call is judged as in [`run`].
pub fn guided(dev: &str, calls: u64, seed: u64) -> Res<()> {
    let mut rng = Rng::new(seed);
    let mut f = Fuzzer::new(dev, seed)?;
    if f.text.is_none() {
        return Err("fuzz-guided needs KCOV (make coverage) and the module's address".into());
    }
    let mut kept: Vec<Vec<Spec>> = Vec::new();
    while f.calls < calls {
        let program = if kept.is_empty() || rng.chance(50) {
            (0..1 + rng.below(MAX_PROGRAM as u64))
                .map(|_| Spec::random(&mut rng, &f.arena))
                .collect()
        } else {
            let from = rng.below(kept.len() as u64) as usize;
            mutate(&kept, from, &mut rng, &f.arena)
        };
        let mut new = false;
        for spec in &program {
            if f.calls == calls {
                break;
            }
            new |= f.call(spec)?;
        }
        if new {
            kept.push(program);
        }
        kcov::rewind();
    }
    println!("RS-FIGURE fuzz_kept_programs {}", kept.len());
    f.report("guided")
}
