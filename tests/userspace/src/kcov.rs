// SPDX-License-Identifier: GPL-2.0

//! Which of rust_sample's code the tests run, through KCOV (`make
//! coverage`). Off unless `RS_KCOV` names a directory.
//!
//! KCOV records, per task, the PC of every instrumented basic block the task
//! runs in the kernel; the coverage kernel instruments nothing but the
//! modules (`scripts/config/coverage.config`). Coverage is per task and
//! neither a forked child nor a new thread inherits it, so every task that
//! calls into the device starts its own [`Task`]: `main`, `sys::fork`,
//! `sys::spawn` and `isolate::run` do it for the tests. A task's PCs go,
//! when it ends or calls [`rewind`], into one map of rust_sample's text
//! that [`init`] shared with every descendant (an anonymous `MAP_SHARED`
//! mapping survives `fork`); [`finish`] writes the map as text offsets,
//! which do not depend on where the module was loaded.
//!
//! The fuzzer also reads its own task's PCs as they come ([`mark`],
//! [`since`]): that is its feedback (`fuzz.rs`).

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::atomic::{
    AtomicU64,
    AtomicU8,
    Ordering, //
};
use std::sync::OnceLock;

/// `KCOV_INIT_TRACE`, `_IOR('c', 1, unsigned long)`.
const KCOV_INIT_TRACE: u64 = 0x8008_6301;
/// `KCOV_ENABLE`, `_IO('c', 100)`.
const KCOV_ENABLE: u64 = 0x6364;
/// `KCOV_DISABLE`, `_IO('c', 101)`.
const KCOV_DISABLE: u64 = 0x6365;
/// `KCOV_TRACE_PC`: record PCs (not comparison operands).
const KCOV_TRACE_PC: u64 = 0;
/// PCs one task can record between two [`rewind`]s; past that, KCOV drops
/// them and the task is counted as overflowed.
const AREA_WORDS: usize = 1 << 18;
/// The module whose lines `make coverage` reports.
const MODULE: &str = "rust_sample";

/// Where a module's text is: its start and an upper bound of its length
/// (the module's whole size, from `/proc/modules`).
pub fn module_text(module: &str) -> Option<(u64, usize)> {
    let text = std::fs::read_to_string(format!("/sys/module/{module}/sections/.text")).ok()?;
    let text = u64::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()?;
    if text == 0 {
        eprintln!("rs-devtest: kcov: the module's address is hidden (kptr_restrict)");
        return None;
    }
    let modules = std::fs::read_to_string("/proc/modules").ok()?;
    let len = modules
        .lines()
        .find(|l| l.split_whitespace().next() == Some(module))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((text, len))
}

/// The shared map: one byte per byte of rust_sample's text, set when a
/// recorded PC falls there; and the number of times a task overflowed.
struct Shared {
    text: u64,
    len: usize,
    hits: *mut AtomicU8,
    overflows: *mut AtomicU64,
}

// SAFETY: the pointers are to a shared mapping that lives until the process
// exits, and only atomics are accessed through them.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// Unset while coverage is off or rust_sample is not loaded (the fuzzer may
/// still read its own PCs, of another module).
static SHARED: OnceLock<Shared> = OnceLock::new();

fn enabled() -> bool {
    std::env::var_os("RS_KCOV").is_some()
}

fn shared() -> Option<&'static Shared> {
    SHARED.get()
}

/// Sets coverage up in the main process, before any fork or thread. Does
/// nothing unless `RS_KCOV` is set and rust_sample is loaded; `rs-devtest
/// --load` calls it again once it has loaded the module.
pub fn init() {
    if !enabled() || SHARED.get().is_some() {
        return;
    }
    let Some((text, len)) = module_text(MODULE) else {
        return;
    };
    // SAFETY: a fresh anonymous shared mapping, zero-filled.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8 + len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if map == libc::MAP_FAILED {
        return;
    }
    let _ = SHARED.set(Shared {
        text,
        len,
        overflows: map.cast(),
        // SAFETY: within the mapping of 8 + len bytes.
        hits: unsafe { map.cast::<u8>().add(8) }.cast(),
    });
}

thread_local! {
    /// The calling thread's KCOV area while its [`Task`] lives, and the
    /// thread's id: a child forked from this thread inherits the variable
    /// and the mapping, but not the recording, and must not touch the
    /// parent's area through it.
    static AREA: Cell<Option<(*mut u64, libc::pid_t)>> = const { Cell::new(None) };
}

/// The calling thread's own area, if it records.
fn own_area() -> Option<*mut u64> {
    // Without coverage this is all the stress and fuzz loops pay per
    // operation: no system call.
    let (area, tid) = AREA.get()?;
    // SAFETY: gettid has no preconditions.
    (tid == unsafe { libc::gettid() }).then_some(area)
}

/// Word 0 of an area: how many PCs follow.
fn count(area: *mut u64) -> u64 {
    // SAFETY: `area` is a live KCOV area, which starts with its count; the
    // kernel updates it from this same task only.
    unsafe { (*area.cast::<AtomicU64>()).load(Ordering::Relaxed) }
}

/// Empties an area: the kernel writes the next PC at the start again.
fn reset(area: *mut u64) {
    // SAFETY: as for `count`.
    unsafe { (*area.cast::<AtomicU64>()).store(0, Ordering::Relaxed) }
}

/// PC `i` (from 0) of an area.
fn pc(area: *mut u64, i: usize) -> u64 {
    // SAFETY: the callers keep `i` below the count, bounded by the area.
    unsafe { area.add(1 + i).read_volatile() }
}

/// How many PCs of the area are valid: the count, bounded by its size.
fn recorded(area: *mut u64) -> usize {
    (count(area) as usize).min(AREA_WORDS - 1)
}

/// Coverage collection for the calling task, until dropped.
pub struct Task {
    fd: RawFd,
    area: *mut u64,
}

impl Task {
    /// Starts recording this task's PCs, if coverage is on.
    pub fn start() -> Option<Task> {
        if !enabled() {
            return None;
        }
        let path = c"/sys/kernel/debug/kcov";
        // SAFETY: a valid C string.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            eprintln!("rs-devtest: kcov: cannot open /sys/kernel/debug/kcov");
            return None;
        }
        // SAFETY: our descriptor; the kernel checks the size.
        let ok = unsafe { libc::ioctl(fd, KCOV_INIT_TRACE as _, AREA_WORDS) } == 0;
        let area = if ok {
            // SAFETY: mapping the trace area KCOV_INIT_TRACE sized.
            unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    AREA_WORDS * 8,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    0,
                )
            }
        } else {
            libc::MAP_FAILED
        };
        // SAFETY: enabling on the calling task, the area mapped.
        if area == libc::MAP_FAILED
            || unsafe { libc::ioctl(fd, KCOV_ENABLE as _, KCOV_TRACE_PC) } != 0
        {
            eprintln!("rs-devtest: kcov: cannot enable KCOV on this task");
            // SAFETY: our descriptor.
            unsafe { libc::close(fd) };
            return None;
        }
        let area = area.cast::<u64>();
        reset(area);
        // SAFETY: gettid has no preconditions.
        AREA.set(Some((area, unsafe { libc::gettid() })));
        Some(Task { fd, area })
    }
}

/// Folds the PCs the area holds into the shared map and empties the area.
fn fold(area: *mut u64) {
    let n = recorded(area);
    if let Some(s) = shared() {
        if count(area) as usize >= AREA_WORDS - 1 {
            // SAFETY: within the shared mapping.
            unsafe { (*s.overflows).fetch_add(1, Ordering::Relaxed) };
        }
        for i in 0..n {
            let off = pc(area, i).wrapping_sub(s.text) as usize;
            if off < s.len {
                // SAFETY: within the shared map of `len` bytes.
                unsafe { (*s.hits.add(off)).store(1, Ordering::Relaxed) };
            }
        }
    }
    reset(area);
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: our descriptor, enabled on this task.
        unsafe { libc::ioctl(self.fd, KCOV_DISABLE as _, 0) };
        AREA.set(None);
        fold(self.area);
        // SAFETY: unmapping and closing what `start` made.
        unsafe {
            libc::munmap(self.area.cast(), AREA_WORDS * 8);
            libc::close(self.fd);
        }
    }
}

/// Puts what the calling task recorded so far into the shared map and
/// starts its area afresh: long-running loops (stress, fuzzing) call it so
/// that their area never fills.
pub fn rewind() {
    if let Some(area) = own_area() {
        fold(area);
    }
}

/// Where the calling task's record stands, for [`since`]; `None` when the
/// task records nothing.
pub fn mark() -> Option<usize> {
    own_area().map(recorded)
}

/// Calls `f` with each PC the calling task recorded after `mark`.
pub fn since(mark: usize, mut f: impl FnMut(u64)) {
    if let Some(area) = own_area() {
        for i in mark..recorded(area) {
            f(pc(area, i));
        }
    }
}

/// In the main process, last: writes the text offsets hit, one hex number
/// a line, to `$RS_KCOV/<pid>`, then a line `overflows N`.
pub fn finish() {
    let (Some(s), Some(dir)) = (shared(), std::env::var_os("RS_KCOV")) else {
        return;
    };
    let mut out = String::new();
    for off in 0..s.len {
        // SAFETY: within the shared map.
        if unsafe { (*s.hits.add(off)).load(Ordering::Relaxed) } != 0 {
            out.push_str(&format!("{off:x}\n"));
        }
    }
    // SAFETY: within the shared mapping.
    let overflows = unsafe { (*s.overflows).load(Ordering::Relaxed) };
    out.push_str(&format!("overflows {overflows}\n"));
    let path = std::path::Path::new(&dir).join(std::process::id().to_string());
    if let Err(e) = std::fs::write(&path, out) {
        eprintln!("rs-devtest: kcov: {}: {e}", path.display());
    }
}
