// SPDX-License-Identifier: GPL-2.0

//! `rs-devtest fuzz DEVICE CALLS SEED`: a seeded, reproducible fuzzer of the
//! device's userspace interface.
//!
//! Each call picks a file (opened read-only, write-only or read-write), an
//! operation (ioctl with a random or known command, read, write), a pointer
//! (NULL, unmapped, a kernel address, misaligned, crossing into a PROT_NONE
//! page, valid) and a length (zero, huge, crossing a page boundary, random).
//! Every result must be a success or an errno the ABI allows for it; the
//! kernel must not splat (the VM runner watches the console); and the
//! device's invariants must hold throughout.

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

pub fn run(dev: &str, calls: u64, seed: u64) -> Res<()> {
    let mut rng = Rng::new(seed);
    let arena = Arena::new()?;
    let files = [
        ("rdonly", open(dev, libc::O_RDONLY | libc::O_NONBLOCK)?),
        ("wronly", open(dev, libc::O_WRONLY | libc::O_NONBLOCK)?),
        ("rdwr", open(dev, libc::O_RDWR | libc::O_NONBLOCK)?),
    ];
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for call in 0..calls {
        let (fname, f) = &files[rng.below(3) as usize];
        let (ptr, pkind) = arena.pointer(&mut rng);
        // Keep the valid page's bytes random, so SET_CAPACITY sees both
        // valid and invalid sizes.
        if pkind == "valid" && rng.chance(50) {
            let v = [4096u64, 8192, 65536, rng.next()][rng.below(4) as usize];
            // SAFETY: the first page is mapped read-write.
            unsafe { std::ptr::write_unaligned(arena.base.cast::<u64>(), v) };
        }
        let (op, res, allowed): (&str, Result<usize, i32>, &[i32]) = match rng.below(3) {
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
                let r = ioctl_ptr(f, cmd, ptr).map(|()| 0);
                let allowed: &[i32] = if KNOWN.contains(&cmd) {
                    &[libc::EFAULT, libc::EINVAL, libc::EBUSY, libc::ENOMEM]
                } else {
                    &[libc::ENOTTY]
                };
                ("ioctl", r, allowed)
            }
            _ => {
                let len = match rng.below(4) {
                    0 => 0usize,
                    1 => 1usize << (20 + rng.below(24)),
                    2 => arena.page - (ptr as usize % arena.page) + rng.below(16) as usize,
                    _ => rng.below(3 * 65536) as usize,
                };
                let is_read = rng.chance(50);
                // SAFETY: the kernel validates the pointer; faults are the
                // point. Only the arena is ever valid, and it is two pages.
                let r = unsafe {
                    let n = if is_read {
                        libc::read(f.0, ptr, len)
                    } else {
                        libc::write(f.0, ptr, len)
                    };
                    if n < 0 {
                        Err(errno())
                    } else {
                        Ok(n as usize)
                    }
                };
                let op = if is_read { "read" } else { "write" };
                (op, r, &[libc::EFAULT, libc::EAGAIN, libc::EBADF][..])
            }
        };
        let key = match res {
            Ok(_) => format!("{op} ok"),
            Err(e) => format!("{op} {}", err_name(e)),
        };
        if let Err(e) = res {
            if !allowed.contains(&e) {
                return Err(format!(
                    "call {call} (seed {seed}): {op} on {fname} with a {pkind} pointer: {}",
                    err_name(e)
                ));
            }
            // A file's access mode is enforced by the VFS, before the driver.
            let mode_ok = match (op, *fname) {
                ("read", "wronly") | ("write", "rdonly") => e == libc::EBADF,
                _ => e != libc::EBADF,
            };
            if !mode_ok {
                return Err(format!("call {call}: {op} on {fname} gave {}", err_name(e)));
            }
        }
        *outcomes.entry(key).or_default() += 1;
        if call % 256 == 0 {
            let s = stats(&files[2].1)?;
            if s.len > s.capacity || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&s.capacity) {
                return Err(format!("call {call}: invariant broken: {s:?}"));
            }
        }
    }
    println!("RS-FIGURE fuzz_calls {calls}");
    for (k, v) in &outcomes {
        println!("RS-FIGURE fuzz[{}] {v}", k.replace(' ', ":"));
    }
    Ok(())
}
