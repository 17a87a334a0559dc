// SPDX-License-Identifier: GPL-2.0

//! Fault injection with `/proc/thread-self/fail-nth`: the N-th allocation
//! the calling task makes fails (failslab, with `ignore-gfp-wait` off so
//! `GFP_KERNEL` allocations count). Sweeping N from 1 until an attempt makes
//! fewer than N allocations reaches every allocation of the operation.
//!
//! - `rs-devtest fault-load MODULE PARAMS`: sweeps `finit_module`. Every
//!   attempt must either load the module or fail with `ENOMEM` leaving
//!   nothing behind: no module, no device node, no debugfs directory. With
//!   `devices=N` the failures also land part-way through registering the
//!   devices, after some nodes exist.
//! - `rs-devtest fault-resize DEVICE`: sweeps `SET_CAPACITY`. Every attempt
//!   must either resize or fail with `ENOMEM`, keeping the old capacity and
//!   contents. A single failure is often absorbed (kvmalloc falls back from
//!   kmalloc to vmalloc), so it then also fails *every* slab allocation of
//!   the task during one call (failslab's task filter and `make-it-fail`),
//!   which must end in `ENOMEM` with the state intact.
//! - `rs-devtest fault-fasync-concurrent DEVICE`: a failed `O_ASYNC`
//!   insertion racing a successful one on the same file must undo only its
//!   own entries ([`fasync_concurrent`]).

use crate::sys::*;
use std::io::{
    Read,
    Write, //
};

const MAX_SWEEP: u32 = 2000;

/// This thread's `fail-nth`, armed for one operation.
///
/// Both descriptors are opened before arming, and reading and writing the
/// file allocate nothing, so the only allocations counted are the
/// operation's. (The file does not seek: a second read of one descriptor
/// would see end of file, hence one descriptor to read, used once.)
struct FailNth {
    write: std::fs::File,
    read: std::fs::File,
}

const FAIL_NTH: &str = "/proc/thread-self/fail-nth";

impl FailNth {
    /// Arms the `nth` allocation from now to fail.
    fn arm(nth: u32) -> Res<Self> {
        let open = |write: bool| {
            std::fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open(FAIL_NTH)
                .map_err(|e| format!("{FAIL_NTH}: {e} (CONFIG_FAULT_INJECTION?)"))
        };
        let mut this = Self {
            write: open(true)?,
            read: open(false)?,
        };
        this.write
            .write_all(nth.to_string().as_bytes())
            .map_err(|e| format!("fail-nth: {e}"))?;
        Ok(this)
    }

    /// Disarms and says whether the fault was injected (the counter reached 0).
    fn injected(mut self) -> Res<bool> {
        let mut buf = [0u8; 32];
        let n = self
            .read
            .read(&mut buf)
            .map_err(|e| format!("fail-nth: {e}"))?;
        self.write
            .write_all(b"0")
            .map_err(|e| format!("fail-nth: {e}"))?;
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let left: i64 = text
            .trim()
            .parse()
            .map_err(|_| format!("fail-nth said {text:?}"))?;
        Ok(left == 0)
    }
}

fn module_loaded() -> bool {
    std::fs::read_to_string("/proc/modules")
        .is_ok_and(|m| m.lines().any(|l| l.starts_with("rust_sample ")))
}

/// The device nodes and debugfs directories of any `rust_sample` device.
fn leftovers() -> Res<Vec<String>> {
    let mut found = Vec::new();
    for dir in ["/dev", "/sys/kernel/debug"] {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("rust_sample") {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    Ok(found)
}

fn unload() -> Res<()> {
    delete_module("rust_sample").map_err(|e| format!("delete_module failed: {}", err_name(e)))
}

pub fn load(path: &str, params: &str) -> Res<()> {
    let image = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let params_c = std::ffi::CString::new(params).map_err(|e| e.to_string())?;
    let devices = params
        .split(' ')
        .find_map(|p| p.strip_prefix("devices="))
        .map_or(Ok(1), str::parse::<usize>)
        .map_err(|e| format!("devices= in {params:?}: {e}"))?;
    let (mut injected, mut enomem) = (0u32, 0u32);
    for nth in 1..=MAX_SWEEP {
        use std::os::fd::AsRawFd;
        let fail = FailNth::arm(nth)?;
        // SAFETY: a valid descriptor and C string.
        let r = unsafe {
            libc::syscall(
                libc::SYS_finit_module,
                image.as_raw_fd(),
                params_c.as_ptr(),
                0,
            )
        };
        let err = errno();
        let hit = fail.injected()?;
        injected += hit as u32;
        if r == 0 {
            // make coverage: the PCs of this sweep's loads map by the
            // first one that succeeded (kcov.rs).
            crate::kcov::init();
            // A load that succeeds has every device, whatever failed inside.
            let nodes = leftovers()?
                .iter()
                .filter(|p| p.starts_with("/dev/"))
                .count();
            if nodes != devices {
                return Err(format!(
                    "with allocation {nth} failing the load succeeded with {nodes} of {devices} device nodes"
                ));
            }
            unload()?;
            if !hit {
                // The whole load made fewer than `nth` allocations.
                println!("RS-FIGURE faults_injected_load {injected}");
                println!("RS-FIGURE faults_enomem_load {enomem}");
                return Ok(());
            }
            continue;
        }
        if err != libc::ENOMEM {
            return Err(format!(
                "load with allocation {nth} failing: {}, want ENOMEM",
                err_name(err)
            ));
        }
        enomem += 1;
        let left = leftovers()?;
        if module_loaded() || !left.is_empty() {
            return Err(format!(
                "a load that failed at allocation {nth} left something registered: {left:?}"
            ));
        }
    }
    Err(format!(
        "the load still allocated after {MAX_SWEEP} allocations"
    ))
}

pub fn resize(dev: &str) -> Res<()> {
    let f = open(dev, libc::O_RDWR | libc::O_NONBLOCK)?;
    clear(&f).map_err(err_name)?;
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 253) as u8).collect();
    write_all(&f, &data)?;
    let (mut injected, mut enomem) = (0u32, 0u32);
    for nth in 1..=MAX_SWEEP {
        let before = capacity(&f)?;
        // Alternate so that every attempt really changes the capacity; both
        // sizes come from slab (kvmalloc tries kmalloc first).
        let target = if before == 8192 { 4096 } else { 8192 };
        let fail = FailNth::arm(nth)?;
        let r = set_capacity(&f, target);
        let hit = fail.injected()?;
        injected += hit as u32;
        let s = stats(&f)?;
        match r {
            Ok(()) if s.capacity == target => {
                if !hit {
                    resize_all_failing(&f, data.len() as u64)?;
                    enomem += 1;
                    let got = read_exact(&f, data.len())?;
                    if got != data {
                        return Err("the contents changed across the resizes".into());
                    }
                    println!("RS-FIGURE faults_injected_resize {injected}");
                    println!("RS-FIGURE faults_enomem_resize {enomem}");
                    return Ok(());
                }
            }
            Err(libc::ENOMEM) if s.capacity == before && s.len == data.len() as u64 => enomem += 1,
            r => {
                return Err(format!(
                    "resize with allocation {nth} failing: {r:?}, state {s:?}"
                ))
            }
        }
    }
    Err(format!(
        "the resize still allocated after {MAX_SWEEP} allocations"
    ))
}

/// Every slab allocation of this thread fails while `f` runs: failslab with
/// probability 100, no limit, and its task filter on this thread only.
fn with_all_allocations_failing<R>(f: impl FnOnce() -> R) -> Res<R> {
    let knob = |name: &str, value: &str| {
        std::fs::write(format!("/sys/kernel/debug/failslab/{name}"), value)
            .map_err(|e| format!("failslab/{name}: {e}"))
    };
    knob("task-filter", "Y")?;
    knob("interval", "1")?;
    knob("times", "-1")?;
    knob("probability", "100")?;
    let mut make_it_fail = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/thread-self/make-it-fail")
        .map_err(|e| format!("make-it-fail: {e}"))?;
    make_it_fail.write_all(b"1").map_err(|e| e.to_string())?;
    let r = f();
    make_it_fail.write_all(b"0").map_err(|e| e.to_string())?;
    knob("probability", "0")?;
    Ok(r)
}

/// The resize sweep's last step: all allocations of one call fail.
fn resize_all_failing(f: &Fd, data_len: u64) -> Res<()> {
    let before = capacity(f)?;
    let target = if before == 8192 { 4096 } else { 8192 };
    let r = with_all_allocations_failing(|| set_capacity(f, target))?;
    let s = stats(f)?;
    if r != Err(libc::ENOMEM) || s.capacity != before || s.len != data_len {
        return Err(format!(
            "resize with every allocation failing: {r:?}, state {s:?}"
        ));
    }
    Ok(())
}

/// `rs-devtest fault-open DEVICE`: sweeps `open(2)` in each access mode.
/// Every attempt must either open, counted as the reader and/or writer
/// its mode makes it, or fail with `ENOMEM` with the opener counts as they
/// were: an open that failed after counting itself would leave a phantom
/// writer (no EOF, no POLLHUP for anyone) or reader.
pub fn open_sweep(dev: &str) -> Res<()> {
    // The witness: its own open counts once as a reader and a writer.
    let witness = open(dev, libc::O_RDWR | libc::O_NONBLOCK)?;
    let base = stats(&witness)?;
    let (mut injected, mut enomem) = (0u32, 0u32);
    for (mode, reads, writes) in [
        (libc::O_RDONLY, 1, 0),
        (libc::O_WRONLY, 0, 1),
        (libc::O_RDWR, 1, 1),
    ] {
        let mut done = false;
        for nth in 1..=MAX_SWEEP {
            let fail = FailNth::arm(nth)?;
            let r = try_open(dev, mode | libc::O_NONBLOCK);
            let hit = fail.injected()?;
            injected += hit as u32;
            let s = stats(&witness)?;
            let counted =
                |r: u32, w: u32| s.readers == base.readers + r && s.writers == base.writers + w;
            match r {
                Ok(f) => {
                    if !counted(reads, writes) {
                        return Err(format!(
                            "an open with allocation {nth} failing counts {s:?}"
                        ));
                    }
                    drop(f);
                    if !hit {
                        done = true;
                        break;
                    }
                }
                Err(libc::ENOMEM) => {
                    if !counted(0, 0) {
                        return Err(format!(
                            "an open that failed at allocation {nth} left an opener counted: {s:?}, before {base:?}"
                        ));
                    }
                    enomem += 1;
                }
                Err(e) => {
                    return Err(format!(
                        "open with allocation {nth} failing: {}, want ENOMEM",
                        err_name(e)
                    ))
                }
            }
        }
        if !done {
            return Err(format!(
                "open still allocated after {MAX_SWEEP} allocations"
            ));
        }
    }
    println!("RS-FIGURE faults_injected_open {injected}");
    println!("RS-FIGURE faults_enomem_open {enomem}");
    Ok(())
}

/// Whether a SIGIO is pending for this thread (SIGIO is blocked), taking it.
pub(crate) fn sigio_pending() -> bool {
    // SAFETY: plain signal-set calls on local sets.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGIO);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) == libc::SIGIO
    }
}

/// `rs-devtest fault-fasync DEVICE`: sweeps turning `O_ASYNC` on for a
/// read-write file, which puts it on the device's reader list and then its
/// writer list. Every attempt must either succeed, after which data and
/// room each raise SIGIO, or fail with `ENOMEM` with the file on neither
/// list: data and room then raise nothing (a file left on the reader list
/// after a failure would be signalled, and after its close, freed memory
/// would be; KASAN watches that on the debug kernel).
pub fn fasync_sweep(dev: &str) -> Res<()> {
    // SIGIO stays blocked in this thread, so it pends where the test can
    // see it, and the sweep's descriptors are their own owner.
    // SAFETY: plain signal-mask calls on local sets.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGIO);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let other = open(dev, libc::O_RDWR | libc::O_NONBLOCK)?;
    clear(&other).map_err(err_name)?;
    let (mut injected, mut enomem) = (0u32, 0u32);
    for nth in 1..=MAX_SWEEP {
        let f = open(dev, libc::O_RDWR | libc::O_NONBLOCK)?;
        // SAFETY: fcntl on our own descriptor; the owner is this process,
        // single-threaded here, so the signal pends on this thread.
        if unsafe { libc::fcntl(f.0, libc::F_SETOWN, libc::getpid()) } != 0 {
            return Err(format!("F_SETOWN: {}", err_name(errno())));
        }
        while sigio_pending() {}
        let fail = FailNth::arm(nth)?;
        // SAFETY: as above.
        let r = unsafe { libc::fcntl(f.0, libc::F_SETFL, libc::O_ASYNC | libc::O_NONBLOCK) };
        let err = errno();
        let hit = fail.injected()?;
        injected += hit as u32;
        // Data for the readers, then room for the writers.
        write_all(&other, b"x")?;
        let on_data = sigio_pending();
        read_exact(&other, 1)?;
        let on_room = sigio_pending();
        match (r, err) {
            (0, _) => {
                if !(on_data && on_room) {
                    return Err(format!(
                        "O_ASYNC on with allocation {nth} failing: SIGIO on data {on_data}, on room {on_room}"
                    ));
                }
                if !hit {
                    println!("RS-FIGURE faults_injected_fasync {injected}");
                    println!("RS-FIGURE faults_enomem_fasync {enomem}");
                    return Ok(());
                }
            }
            (_, libc::ENOMEM) => {
                if on_data || on_room {
                    return Err(format!(
                        "O_ASYNC failed at allocation {nth}, yet the file is signalled: on data {on_data}, on room {on_room}"
                    ));
                }
                enomem += 1;
            }
            (_, e) => {
                return Err(format!(
                    "O_ASYNC with allocation {nth} failing: {}, want ENOMEM",
                    err_name(e)
                ))
            }
        }
    }
    Err(format!(
        "O_ASYNC still allocated after {MAX_SWEEP} allocations"
    ))
}

/// How many rounds of [`fasync_concurrent`]: B's allocations 1 to 6 fail.
const CONCURRENT_ROUNDS: u32 = 6;

/// `rs-devtest fault-fasync-concurrent DEVICE`: one read-write file with
/// `O_ASYNC` off; thread A turns it on (`FIOASYNC`) with no fault, and
/// thread B, 2 ms later, turns it on too with its `nth` allocation failing,
/// for `nth` in 1 to 6. B passes the VFS's `FASYNC` check before A's first
/// insertion (which the test build delays 4 ms), then waits for A's lock,
/// and its own insertions find A's entries already listed: each allocates
/// a new entry first, and the failing one gets `ENOMEM`. A's call must
/// return 0 and leave the file on both lists with `O_ASYNC` set (data and
/// room each raise SIGIO); B may return 0 or `ENOMEM`, but a failure must
/// undo only entries B added, which are none. (Undoing the readers' entry,
/// A's, after a failed writers' insertion leaves `O_ASYNC` clear while the
/// file stays on the writers' list.) At least one round must see B's
/// `ENOMEM`, or the fault never hit the case this is about.
///
/// SIGIO is blocked in all three threads (A and B inherit the mask) and
/// the owner is this process, so a signal pends until `sigtimedwait` in
/// this thread takes it.
pub fn fasync_concurrent(dev: &str) -> Res<()> {
    use crate::tests::{
        async_flag,
        block_sigio,
        fioasync,
        signalled, //
    };
    use std::sync::{
        Arc,
        Barrier, //
    };
    use std::time::{
        Duration,
        Instant, //
    };
    block_sigio();
    let other = open(dev, libc::O_RDWR | libc::O_NONBLOCK)?;
    clear(&other).map_err(err_name)?;
    let f = Arc::new(open(dev, libc::O_RDWR | libc::O_NONBLOCK)?);
    // SAFETY: fcntl on our own descriptor.
    if unsafe { libc::fcntl(f.0, libc::F_SETOWN, libc::getpid()) } != 0 {
        return Err(format!("F_SETOWN: {}", err_name(errno())));
    }
    let (mut enomem, mut injected) = (0u32, 0u32);
    // The longest A took: the test build's 4 ms before an insertion shows.
    let mut slowest = Duration::ZERO;
    for nth in 1..=CONCURRENT_ROUNDS {
        fioasync(&f, false).map_err(|e| format!("round {nth}: FIOASYNC 0: {}", err_name(e)))?;
        let clean = (async_flag(&f), signalled(&other, &other)?);
        if clean != (false, (false, false)) {
            return Err(format!(
                "round {nth}: after FIOASYNC 0, (O_ASYNC, (SIGIO on data, on room)) is {clean:?}"
            ));
        }
        let start = Arc::new(Barrier::new(2));
        let (fa, sa) = (f.clone(), start.clone());
        let a = spawn(move || {
            sa.wait();
            let t = Instant::now();
            (fioasync(&fa, true), t.elapsed())
        });
        let (fb, sb) = (f.clone(), start);
        let b = spawn(move || -> Res<(Result<(), i32>, bool)> {
            // Armed before the start: nothing allocates between the
            // barrier and the ioctl.
            let fail = FailNth::arm(nth)?;
            sb.wait();
            sleep_ms(2);
            let r = fioasync(&fb, true);
            Ok((r, fail.injected()?))
        });
        let (ra, took) = a.join().map_err(|_| "thread A panicked".to_string())?;
        let (rb, hit) = b.join().map_err(|_| "thread B panicked".to_string())??;
        slowest = slowest.max(took);
        injected += u32::from(hit);
        let after = (async_flag(&f), signalled(&other, &other)?);
        if ra.is_err() || after != (true, (true, true)) {
            return Err(format!(
                "round {nth}: A's FIOASYNC 1 gave {ra:?} and B's (allocation {nth} failing) {rb:?}; then (O_ASYNC, (SIGIO on data, on room)) is {after:?}, want (true, (true, true))"
            ));
        }
        match rb {
            Ok(()) => {}
            Err(libc::ENOMEM) if hit => enomem += 1,
            Err(e) => {
                return Err(format!(
                    "round {nth}: B's FIOASYNC 1 gave {} (fault injected: {hit}), want 0 or ENOMEM",
                    err_name(e)
                ))
            }
        }
    }
    println!("RS-FIGURE faults_injected_fasync_concurrent {injected}");
    println!("RS-FIGURE faults_enomem_fasync_concurrent {enomem}");
    // Without the test build's 4 ms before A's insertion (a module built
    // without KUNIT=y), B would find O_ASYNC already set and never reach
    // the driver; guest.sh runs this sweep on the test build only.
    if enomem == 0 {
        return Err(format!(
            "B never got ENOMEM in {CONCURRENT_ROUNDS} rounds ({injected} faults injected, A took at most {slowest:?}): the failure never hit B's insertion behind A's"
        ));
    }
    Ok(())
}
