// SPDX-License-Identifier: GPL-2.0

//! `rs-devtest fuzz DEVICE CALLS SEED`: a seeded, reproducible fuzzer of the
//! device's userspace interface.
//!
//! Each call picks a file (opened read-only, write-only or read-write), an
//! operation (ioctl with a random or known command, read or write, plain or
//! with `RWF_NOWAIT`, or `splice` to or from a pipe), a pointer
//! (NULL, unmapped, a kernel address, misaligned, crossing into a PROT_NONE
//! page, valid) and a length (zero, huge, crossing a page boundary, random).
//! The fuzzer is the device's only user, so the device's state before and
//! after each call is known (`GET_STATS`), and each call has one exact
//! allowed outcome ([`judge`]): the errno and the count the ABI gives for
//! that state, file mode and buffer, and the state change that goes with
//! it (an atomic write that faults stores nothing; a read that faults
//! partway returns the bytes it copied). The kernel must not splat (the VM
//! runner watches the console).

use crate::rng::Rng;
use crate::sys::*;
use std::collections::BTreeMap;

const KNOWN: [u64; 4] = [GET_STATS, GET_CAPACITY, SET_CAPACITY, CLEAR];

struct Arena {
    base: *mut u8,
    page: usize,
}

impl Arena {
    /// Two pages: the first read-write, the second PROT_NONE.
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

    /// A pointer of one of the interesting kinds, and its name.
    fn pointer(&self, rng: &mut Rng) -> (*mut libc::c_void, &'static str) {
        let p = match rng.below(7) {
            0 => (0usize, "null"),
            1 => (0x10usize, "low"),
            2 => (0x7fff_0000_0000usize, "unmapped"),
            3 => (0xffff_ffff_8100_0000usize, "kernel"),
            // SAFETY: all offsets stay inside the two-page arena.
            4 => (
                unsafe { self.base.add(1 + rng.below(7) as usize) } as usize,
                "misaligned",
            ),
            5 => (
                unsafe { self.base.add(self.page - 1 - rng.below(8) as usize) } as usize,
                "page-crossing",
            ),
            _ => (self.base as usize, "valid"),
        };
        (p.0 as *mut libc::c_void, p.1)
    }
}

/// Empties a non-blocking pipe.
fn drain(r: &Fd) {
    let mut buf = [0u8; 4096];
    while matches!(read(r, &mut buf), Ok(n) if n > 0) {}
}

/// What one call did, for the oracle.
enum Call {
    Ioctl { cmd: u64 },
    Read { len: usize },
    Write { len: usize },
    SpliceOut { len: usize },
    SpliceIn { len: usize, piped: usize },
}

impl Call {
    fn name(&self) -> &'static str {
        match self {
            Call::Ioctl { .. } => "ioctl",
            Call::Read { .. } => "read",
            Call::Write { .. } => "write",
            Call::SpliceOut { .. } => "splice-out",
            Call::SpliceIn { .. } => "splice-in",
        }
    }
}

/// The exact outcome the ABI allows for `call` on a file opened `fname`,
/// given the device's state before and after (the fuzzer is the device's
/// only user, and every file is non-blocking) and how many bytes at the
/// pointer `ptr` are accessible (`usable`; the SET_CAPACITY value when
/// readable).
fn judge(
    call: &Call,
    fname: &str,
    res: Result<usize, i32>,
    before: &Stats,
    after: &Stats,
    ptr: usize,
    usable: usize,
    value: Option<u64>,
) -> Result<(), String> {
    let page = page_size();
    let free = (before.capacity - before.len) as usize;
    let held = before.len as usize;
    let unchanged = after.len == before.len && after.capacity == before.capacity;
    let want = |ok: bool, why: &str| if ok { Ok(()) } else { Err(why.to_string()) };
    let mode_refused = matches!(
        (call, fname),
        (Call::Read { .. } | Call::SpliceOut { .. }, "wronly")
            | (Call::Write { .. } | Call::SpliceIn { .. }, "rdonly")
    );
    // The VFS refuses a buffer that runs past the top of user space
    // (`access_ok()` on the whole length, before the length is capped) with
    // EFAULT. The top is 2^47 less a page with four-level paging and higher
    // with five: past 2^47, EFAULT is allowed, not required.
    if let (Call::Read { len } | Call::Write { len }, Err(libc::EFAULT)) = (call, res) {
        if (ptr as u64).saturating_add(*len as u64) > (1u64 << 47) - page as u64 {
            return want(unchanged, "EFAULT changed the state");
        }
    }
    // splice(2) returns 0 for a zero length before it looks at the files.
    let zero_splice = matches!(
        call,
        Call::SpliceOut { len: 0 } | Call::SpliceIn { len: 0, .. }
    );
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
    match (call, res) {
        (_, Err(libc::EBADF)) => Err("EBADF on a file of the right mode".into()),
        (Call::Ioctl { cmd }, r) if !KNOWN.contains(cmd) => want(
            r == Err(libc::ENOTTY) && unchanged,
            "want ENOTTY, nothing changed",
        ),
        (Call::Ioctl { cmd }, r) if *cmd == GET_STATS || *cmd == GET_CAPACITY => {
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
        (Call::Ioctl { cmd }, r) if *cmd == CLEAR => want(
            r == Ok(0) && after.len == 0,
            "want success and an empty FIFO",
        ),
        (Call::Ioctl { .. }, r) => {
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
        (Call::Read { len }, r) => match r {
            // A zero-length read succeeds with 0, unless the VFS refuses a
            // kernel address first.
            _ if *len == 0 => want(
                matches!(r, Ok(0) | Err(libc::EFAULT)) && unchanged,
                "zero-length read",
            ),
            Ok(n) => {
                let most = (*len).min(held);
                want(
                    n >= 1 && n <= most && n <= usable && after.len == before.len - n as u64,
                    "a read returned a count the FIFO and buffer cannot give",
                )?;
                // A buffer that takes everything gets everything; a read that
                // faults partway returns the bytes it copied.
                want(
                    usable < most || n == most,
                    "a read returned less than it could",
                )
            }
            Err(libc::EAGAIN) => want(held == 0 && unchanged, "EAGAIN with data present"),
            Err(libc::EFAULT) => want(usable == 0 && unchanged, "EFAULT with a usable buffer"),
            _ => Err("not an outcome of read".into()),
        },
        (Call::Write { len }, r) => {
            // What this call stores when the buffer holds: all of an atomic
            // write, or what fits of a larger one. A fault inside that step
            // keeps the bytes copied before it only when the step is larger
            // than a page; a step of a page or less is dropped whole, as a
            // pipe drops a partly copied page (Documentation/abi.rst).
            let atomic = *len <= page;
            let step = if atomic { *len } else { (*len).min(free) };
            let keeps_partial = step > page;
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
        (Call::SpliceOut { len }, r) => {
            // Into an empty 16-page pipe: one read of up to 64 KiB.
            let most = (*len).min(held).min(16 * page);
            match r {
                Ok(n) => want(
                    n == most && after.len == before.len - n as u64,
                    "spliced out other than all it could",
                ),
                Err(libc::EAGAIN) => want(
                    held == 0 && *len > 0 && unchanged,
                    "EAGAIN with data present",
                ),
                _ => Err("not an outcome of splice out".into()),
            }
        }
        (Call::SpliceIn { len, piped }, r) => {
            let p = (*len).min(*piped);
            let atomic = p <= page;
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

pub fn run(dev: &str, calls: u64, seed: u64) -> Res<()> {
    let mut rng = Rng::new(seed);
    let arena = Arena::new()?;
    let files = [
        ("rdonly", open(dev, libc::O_RDONLY | libc::O_NONBLOCK)?),
        ("wronly", open(dev, libc::O_WRONLY | libc::O_NONBLOCK)?),
        ("rdwr", open(dev, libc::O_RDWR | libc::O_NONBLOCK)?),
    ];
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let (pipe_r, pipe_w) = pipe()?;
    set_nonblock(&pipe_r, true)?;
    set_nonblock(&pipe_w, true)?;
    for n in 0..calls {
        let (fname, f) = &files[rng.below(3) as usize];
        let (ptr, pkind) = arena.pointer(&mut rng);
        // Keep the valid page's bytes random, so SET_CAPACITY sees both
        // valid and invalid sizes.
        if pkind == "valid" && rng.chance(50) {
            let v = [4096u64, 8192, 65536, rng.next()][rng.below(4) as usize];
            // SAFETY: the first page is mapped read-write.
            unsafe { std::ptr::write_unaligned(arena.base.cast::<u64>(), v) };
        }
        let usable = arena.usable(ptr);
        // SET_CAPACITY's argument, where the kernel can read it.
        let value = (usable >= 8).then(|| {
            // SAFETY: eight accessible bytes at `ptr`, inside the arena.
            unsafe { std::ptr::read_unaligned(ptr.cast::<u64>()) }
        });
        let before = stats(&files[2].1)?;
        let (call, res) = match rng.below(4) {
            // splice through a non-blocking pipe, either way; the pipe is
            // drained after each call. The device files are non-blocking.
            3 => {
                let len = [0usize, 1, 4096, 4097, 1 << 20][rng.below(5) as usize];
                let flags = if rng.chance(50) {
                    libc::SPLICE_F_NONBLOCK
                } else {
                    0
                };
                let r = if rng.chance(50) {
                    (Call::SpliceOut { len }, splice(f, &pipe_w, len, flags))
                } else {
                    let piped = len.min(4097);
                    write_all(&pipe_w, &vec![0x33u8; piped])?;
                    (
                        Call::SpliceIn { len, piped },
                        splice(&pipe_r, f, len, flags),
                    )
                };
                drain(&pipe_r);
                r
            }
            0 => {
                let cmd = match rng.below(4) {
                    0 => KNOWN[rng.below(4) as usize],
                    1 => rng.next() & 0xffff_ffff,
                    // Our magic with a random number, direction or size.
                    2 => {
                        (rng.below(4) << 30)
                            | (rng.below(0x4000) << 16)
                            | (0xB9 << 8)
                            | rng.below(8)
                    }
                    _ => KNOWN[rng.below(4) as usize] ^ (1 << rng.below(32)),
                };
                (Call::Ioctl { cmd }, ioctl_ptr(f, cmd, ptr).map(|()| 0))
            }
            _ => {
                let len = match rng.below(4) {
                    0 => 0usize,
                    1 => 1usize << (20 + rng.below(24)),
                    2 => arena.page - (ptr as usize % arena.page) + rng.below(16) as usize,
                    _ => rng.below(3 * 65536) as usize,
                };
                let is_read = rng.chance(50);
                // read/write, or preadv2/pwritev2 with RWF_NOWAIT, whose
                // outcomes are the same (the device sets FMODE_NOWAIT).
                let nowait = rng.chance(30);
                let iov = libc::iovec {
                    iov_base: ptr,
                    iov_len: len,
                };
                // SAFETY: the kernel validates the pointer; faults are the
                // point. Only the arena is ever valid, and it is two pages.
                let r = unsafe {
                    let n = match (is_read, nowait) {
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
                };
                let call = if is_read {
                    Call::Read { len }
                } else {
                    Call::Write { len }
                };
                (call, r)
            }
        };
        let after = stats(&files[2].1)?;
        if let Err(why) = judge(
            &call,
            fname,
            res,
            &before,
            &after,
            ptr as usize,
            usable,
            value,
        ) {
            let what = match &call {
                Call::Ioctl { cmd } => format!("ioctl {cmd:#x}"),
                Call::Read { len } | Call::Write { len } | Call::SpliceOut { len } => {
                    format!("{} of {len}", call.name())
                }
                Call::SpliceIn { len, piped } => format!("splice-in of {len} ({piped} piped)"),
            };
            return Err(format!(
                "call {n} (seed {seed}): {what} on {fname} with a {pkind} pointer ({usable} usable bytes) gave {res:?}: {why}; before {before:?}, after {after:?}"
            ));
        }
        let key = match res {
            Ok(_) => format!("{} ok", call.name()),
            Err(e) => format!("{} {}", call.name(), err_name(e)),
        };
        *outcomes.entry(key).or_default() += 1;
        if after.len > after.capacity || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&after.capacity) {
            return Err(format!("call {n}: invariant broken: {after:?}"));
        }
    }
    println!("RS-FIGURE fuzz_calls {calls}");
    for (k, v) in &outcomes {
        println!("RS-FIGURE fuzz[{}] {v}", k.replace(' ', ":"));
    }
    Ok(())
}
