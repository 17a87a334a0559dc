// SPDX-License-Identifier: GPL-2.0

//! `rs-devtest misc-stall DEV OTHER_DEV OTHER_MODULE`: a user who stalls a
//! read's copy must not stall any other misc device.
//!
//! `misc_open()` calls the driver's `open` with the global `misc_mtx` held,
//! and a read holds the FIFO mutex across `copy_to_iter()`. A reader whose
//! buffer is a userfaultfd page can keep that copy waiting as long as it
//! likes. If `open` took the FIFO mutex, the next `open` of the device
//! would sleep holding `misc_mtx`, and every misc open and registration on
//! the machine would wait behind it.
//!
//! The test stalls a read of DEV on a userfaultfd page, proves the copy is
//! stalled (the fault event arrives), and then requires each of these to
//! finish within a second: an open of DEV, an open of OTHER_DEV (another
//! misc driver), and an unload and a load of OTHER_MODULE (`misc_deregister`
//! and `misc_register`). Then it resolves the fault and requires the read to
//! deliver every byte that was written.

use crate::sys::*;
use std::{
    sync::mpsc,
    time::{
        Duration,
        Instant, //
    },
};

// <linux/userfaultfd.h>: the ABI, which the libc crate does not carry.
const UFFD_API: u64 = 0xAA;
const UFFD_EVENT_PAGEFAULT: u8 = 0x12;
const UFFDIO_REGISTER_MODE_MISSING: u64 = 1;
// _IOWR(0xAA, nr, size): dir 3 << 30 | size << 16 | 0xAA << 8 | nr.
const fn iowr(nr: u64, size: usize) -> u64 {
    (3 << 30) | ((size as u64) << 16) | (0xAA << 8) | nr
}
const UFFDIO_API: u64 = iowr(0x3F, std::mem::size_of::<UffdioApi>());
const UFFDIO_REGISTER: u64 = iowr(0x00, std::mem::size_of::<UffdioRegister>());
const UFFDIO_COPY: u64 = iowr(0x03, std::mem::size_of::<UffdioCopy>());

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRegister {
    start: u64,
    len: u64,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioCopy {
    dst: u64,
    src: u64,
    len: u64,
    mode: u64,
    copy: i64,
}

#[repr(C)]
#[derive(Default)]
struct UffdMsg {
    event: u8,
    _reserved: [u8; 7],
    flags: u64,
    address: u64,
    _feat: u64,
}

/// How long each operation may take while the copy is stalled.
const LIMIT: Duration = Duration::from_secs(1);
/// The data the stalled read must deliver in the end.
const DATA: &[u8] = b"the data behind a stalled copy";

fn ioctl(fd: i32, cmd: u64, arg: *mut libc::c_void) -> Res<()> {
    // SAFETY: `arg` points at the structure `cmd` expects, alive for the call.
    if unsafe { libc::ioctl(fd, cmd as _, arg) } < 0 {
        return Err(format!("ioctl {cmd:#x} failed: {}", err_name(errno())));
    }
    Ok(())
}

/// Runs `f` on a thread and waits at most [`LIMIT`] for it. `Err` names the
/// operation that did not finish in time; the thread is left running, since
/// resolving the stall later lets it finish.
fn within_limit(what: &str, f: impl FnOnce() -> Res<()> + Send + 'static) -> Res<Duration> {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(Ok(())) => Ok(start.elapsed()),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what} was still blocked after {LIMIT:?}")),
    }
}

fn load_module(path: &str) -> Res<()> {
    let file = std::fs::File::open(path).map_err(|e| format!("open {path}: {e}"))?;
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor and a valid, empty C string.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
    if r != 0 {
        return Err(format!("finit_module {path}: {}", err_name(errno())));
    }
    Ok(())
}

fn unload_module(name: &str) -> Res<()> {
    let name = std::ffi::CString::new(name).map_err(|_| "bad module name".to_string())?;
    // SAFETY: a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if r != 0 {
        return Err(format!("delete_module: {}", err_name(errno())));
    }
    Ok(())
}

pub fn run(dev: &str, other_dev: &str, other_module: &str) -> Res<()> {
    let page = crate::sys::page_size();
    let w = open(dev, libc::O_WRONLY)?;
    let r = open(dev, libc::O_RDONLY)?;
    write_all(&w, DATA)?;

    // A page whose first touch waits for us.
    // SAFETY: the userfaultfd syscall takes flags only.
    let uffd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) } as i32;
    if uffd < 0 {
        return Err(format!("userfaultfd: {}", err_name(errno())));
    }
    let uffd = Fd(uffd);
    let mut api = UffdioApi {
        api: UFFD_API,
        features: 0,
        ioctls: 0,
    };
    ioctl(uffd.0, UFFDIO_API, (&raw mut api).cast())?;
    // SAFETY: an anonymous private mapping of one page, at no fixed address.
    let buf = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if buf == libc::MAP_FAILED {
        return Err("mmap failed".into());
    }
    let mut reg = UffdioRegister {
        start: buf as u64,
        len: page as u64,
        mode: UFFDIO_REGISTER_MODE_MISSING,
        ioctls: 0,
    };
    ioctl(uffd.0, UFFDIO_REGISTER, (&raw mut reg).cast())?;

    // The reader: its copy_to_iter() faults on the page and waits.
    let (rfd, addr) = (r.0, buf as usize);
    let reader = spawn(move || {
        // SAFETY: `addr` is a mapping of `page` bytes that lives until the
        // process exits (it is never unmapped).
        let n = unsafe { libc::read(rfd, addr as *mut libc::c_void, page) };
        if n < 0 {
            Err(err_name(errno()))
        } else {
            Ok(n as usize)
        }
    });

    // The fault event proves the copy is stalled inside the driver.
    let mut msg = UffdMsg::default();
    let mut p = libc::pollfd {
        fd: uffd.0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    if unsafe { libc::poll(&mut p, 1, 10_000) } != 1 {
        return Err("the read never faulted on the userfaultfd page".into());
    }
    // SAFETY: `msg` is a writable uffd_msg.
    let n = unsafe {
        libc::read(
            uffd.0,
            (&raw mut msg).cast(),
            std::mem::size_of::<UffdMsg>(),
        )
    };
    if n != std::mem::size_of::<UffdMsg>() as isize || msg.event != UFFD_EVENT_PAGEFAULT {
        return Err(format!(
            "unexpected userfaultfd message (read {n}, event {:#x})",
            msg.event
        ));
    }

    // While the copy is stalled, each of these must finish.
    let mut failures = Vec::new();
    let mut times = Vec::new();
    let d = dev.to_string();
    let o = other_dev.to_string();
    let m = other_module.to_string();
    let name = std::path::Path::new(other_module)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let checks: Vec<(&str, Box<dyn FnOnce() -> Res<()> + Send>)> = vec![
        (
            "open of the stalled device",
            Box::new(move || open(&d, libc::O_RDONLY).map(drop)),
        ),
        (
            "open of another misc device",
            Box::new(move || open(&o, libc::O_RDONLY).map(drop)),
        ),
        (
            "unload of another misc driver",
            Box::new(move || unload_module(&name)),
        ),
        ("load of a misc driver", Box::new(move || load_module(&m))),
    ];
    for (what, f) in checks {
        match within_limit(what, f) {
            Ok(t) => times.push(format!("{what} {} ms", t.as_millis())),
            Err(e) => {
                failures.push(e);
                // Everything after a blocked step would block behind it.
                break;
            }
        }
    }

    // Resolve the fault: the read goes on and delivers the data.
    let src = vec![0u8; page];
    let mut copy = UffdioCopy {
        dst: msg.address & !(page as u64 - 1),
        src: src.as_ptr() as u64,
        len: page as u64,
        mode: 0,
        copy: 0,
    };
    ioctl(uffd.0, UFFDIO_COPY, (&raw mut copy).cast())?;
    let got = reader
        .join()
        .map_err(|_| "the reader panicked".to_string())?
        .map_err(|e| format!("the stalled read failed with {e}"))?;
    // SAFETY: the page is mapped now and `got` <= page bytes were read into it.
    let data = unsafe { std::slice::from_raw_parts(buf as *const u8, got) };
    if data != DATA {
        failures.push(format!(
            "the stalled read returned {got} bytes, not the {} written",
            DATA.len()
        ));
    }
    if failures.is_empty() {
        eprintln!("rs-devtest: misc-stall: {}", times.join(", "));
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}
