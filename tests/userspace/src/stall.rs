// SPDX-License-Identifier: GPL-2.0

//! A read stalled inside its copy, and what must not wait for it.
//!
//! A read holds the FIFO mutex across `copy_to_iter()`. A reader whose
//! buffer is a userfaultfd page can keep that copy waiting as long as it
//! likes ([`StalledRead`]; the fault event proves the copy is stalled).
//!
//! `rs-devtest misc-stall DEV OTHER_DEV OTHER_MODULE`: such a user must not
//! stall any other misc device. `misc_open()` calls the driver's `open`
//! with the global `misc_mtx` held; if `open` took the FIFO mutex, the next
//! `open` of the device would sleep holding `misc_mtx`, and every misc open
//! and registration on the machine would wait behind it. The test stalls a
//! read of DEV and then requires each of these to finish within a second:
//! an open of DEV, an open of OTHER_DEV (another misc driver), and an unload
//! and a load of OTHER_MODULE (`misc_deregister` and `misc_register`). Then
//! it resolves the fault and requires the read to deliver every byte that
//! was written.
//!
//! The `stall-*` tests of the main suite (`tests.rs`): nothing that only
//! looks at the FIFO waits for the stalled read either. `poll`, epoll,
//! fdinfo, debugfs and the `GET` ioctls take no lock, and a call that asks
//! not to sleep (`RWF_NOWAIT`, io_uring's inline attempt) gets `EAGAIN` when
//! the mutex is taken instead of waiting for it (`Documentation/abi.rst`).
//! Each test stalls a read of the first [`TAKEN`] bytes of [`SEEN`], runs
//! one observer on other files of the device, which must finish within a
//! second with the answer the state gives, then resolves the stall: the
//! stalled read must deliver its bytes and the rest must still be in the
//! FIFO, in order (or in the io_uring read that waited for them). A plain
//! `O_NONBLOCK` read or write still waits for the mutex, as on a pipe, so
//! none is tried here.

use crate::sys::*;
use crate::tests::{
    check,
    expect_err, //
};
use crate::uring;
use libc::{
    O_NONBLOCK,
    O_RDONLY,
    O_WRONLY, //
};
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
/// operation that failed or did not finish in time; the thread is left
/// running, since resolving the stall later lets it finish (so `f` owns
/// what it uses).
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

/// A read of the device stalled inside its copy: its buffer is a page
/// registered with userfaultfd, whose first touch waits until
/// [`StalledRead::finish`] supplies the page. All that time the read holds
/// the FIFO mutex.
pub(crate) struct StalledRead {
    uffd: Fd,
    page: usize,
    /// The page's address.
    buf: usize,
    /// Where the copy faulted.
    fault: u64,
    reader: Option<std::thread::JoinHandle<Result<usize, i32>>>,
}

impl StalledRead {
    /// Starts a read of `len` bytes (at most a page) from `fd` on a thread,
    /// and returns once its copy has faulted on the page: the fault event
    /// proves the read is inside the driver's copy, not on its way there.
    pub(crate) fn start(fd: &Fd, len: usize) -> Res<Self> {
        let page = page_size();
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

        // The reader owns a copy of the descriptor, so the file stays open
        // until its read returns, whatever the caller closes meanwhile.
        // SAFETY: dup of the caller's descriptor.
        let copy = Fd(unsafe { libc::dup(fd.0) });
        if copy.0 < 0 {
            return Err(format!("dup: {}", err_name(errno())));
        }
        let (addr, len) = (buf as usize, len.min(page));
        // Its copy_to_iter() faults on the page and waits.
        let reader = spawn(move || {
            // SAFETY: `addr` is a mapping of at least `len` bytes, unmapped
            // only after this thread has been joined.
            let n = unsafe { libc::read(copy.0, addr as *mut libc::c_void, len) };
            if n < 0 {
                Err(errno())
            } else {
                Ok(n as usize)
            }
        });
        let mut this = Self {
            uffd,
            page,
            buf: addr,
            fault: 0,
            reader: Some(reader),
        };

        let mut msg = UffdMsg::default();
        let mut p = libc::pollfd {
            fd: this.uffd.0,
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
                this.uffd.0,
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
        this.fault = msg.address;
        Ok(this)
    }

    /// Supplies the page (zeroes): the copy goes on.
    fn resolve(&self) -> Res<()> {
        let src = vec![0u8; self.page];
        let mut copy = UffdioCopy {
            dst: self.fault & !(self.page as u64 - 1),
            src: src.as_ptr() as u64,
            len: self.page as u64,
            mode: 0,
            copy: 0,
        };
        ioctl(self.uffd.0, UFFDIO_COPY, (&raw mut copy).cast())
    }

    /// Ends the stall: the bytes the read returned.
    pub(crate) fn finish(mut self) -> Res<Vec<u8>> {
        self.resolve()?;
        let reader = self.reader.take().ok_or("no reader")?;
        let got = reader
            .join()
            .map_err(|_| "the stalled reader panicked".to_string())?
            .map_err(|e| format!("the stalled read failed with {}", err_name(e)))?;
        // SAFETY: the page is mapped, and the read, now over, wrote `got`
        // (at most a page) bytes into it.
        let data = unsafe { std::slice::from_raw_parts(self.buf as *const u8, got) }.to_vec();
        // SAFETY: our own mapping, which nothing uses any more.
        unsafe { libc::munmap(self.buf as *mut libc::c_void, self.page) };
        Ok(data)
    }
}

impl Drop for StalledRead {
    /// A test that failed before [`StalledRead::finish`] still lets the
    /// read go, so that what waits behind it can finish too.
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.resolve();
        }
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
    let w = open(dev, libc::O_WRONLY)?;
    let r = open(dev, libc::O_RDONLY)?;
    write_all(&w, DATA)?;
    // A read of up to a page: it takes all of DATA.
    let stalled = StalledRead::start(&r, page_size())?;

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
    let data = stalled.finish()?;
    if data != DATA {
        failures.push(format!(
            "the stalled read returned {} bytes, not the {} written",
            data.len(),
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

/// What the `stall-*` tests write; the stalled read takes the first
/// [`TAKEN`] bytes. The rest stays in the FIFO whether or not the stalled
/// read's count has been taken yet, so a reader's poll must say `POLLIN`
/// and `GET_STATS` may show either length.
const SEEN: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";
const TAKEN: usize = 16;

/// The stage of a `stall-*` test: [`SEEN`] written through a writer that
/// stays open, and a read of its first [`TAKEN`] bytes stalled in its copy.
struct Scene {
    _w: Fd,
    _r: Fd,
    stalled: StalledRead,
}

impl Scene {
    fn start(dev: &str) -> Res<Self> {
        let w = open(dev, O_WRONLY)?;
        let r = open(dev, O_RDONLY)?;
        write_all(&w, SEEN)?;
        let stalled = StalledRead::start(&r, TAKEN)?;
        Ok(Self {
            _w: w,
            _r: r,
            stalled,
        })
    }

    /// Resolves the stall: the read must deliver the first [`TAKEN`] bytes.
    fn end(self) -> Res<()> {
        let got = self.stalled.finish()?;
        check(got == SEEN[..TAKEN], || {
            format!(
                "the stalled read returned {:?}, want {:?}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&SEEN[..TAKEN])
            )
        })
    }
}

/// Runs `during` (on files opened before, which it owns) while a read of
/// `dev` is stalled in its copy, and requires it to finish within
/// [`LIMIT`]; then ends the stall, whose read must deliver its bytes, and
/// requires the rest of the data intact in the FIFO ([`rest_intact`]). An
/// observer's failure is reported first: it is what the test is about.
fn while_stalled(
    dev: &str,
    what: &str,
    during: impl FnOnce() -> Res<()> + Send + 'static,
) -> Res<()> {
    let scene = Scene::start(dev)?;
    let seen = within_limit(what, during);
    let ended = scene.end();
    seen?;
    ended?;
    rest_intact(dev)
}

/// After the stall, the bytes the stalled read left are all in the FIFO,
/// in order, and nothing else: the observer neither took nor added any.
fn rest_intact(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    let mut rest = Vec::new();
    let mut buf = [0u8; 256];
    // The scene's writer is closed: end of file once the FIFO is empty
    // (EAGAIN if an observer's writing file is still open).
    loop {
        match read(&r, &mut buf) {
            Ok(0) | Err(libc::EAGAIN) => break,
            Ok(n) => rest.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("reading the rest: {}", err_name(e))),
        }
    }
    check(rest == SEEN[TAKEN..], || {
        format!(
            "after the stall the FIFO held {:?}, want {:?}",
            String::from_utf8_lossy(&rest),
            String::from_utf8_lossy(&SEEN[TAKEN..])
        )
    })
}

/// The FIFO's length while the read is stalled: all of [`SEEN`], or what
/// is left once the stalled read's count is taken (the driver may take it
/// before or after the copy).
fn stalled_len_ok(len: u64) -> bool {
    len == SEEN.len() as u64 || len == (SEEN.len() - TAKEN) as u64
}

/// `poll()` on a reading and a writing file of the device: `POLLIN` for
/// the one (data remains), `POLLOUT` for the other (the FIFO is nearly
/// empty), each only by its access mode.
pub fn poll_not_blocked(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    let w = open(dev, O_WRONLY | O_NONBLOCK)?;
    while_stalled(dev, "poll", move || {
        let both = libc::POLLIN | libc::POLLOUT;
        let mut p = [
            libc::pollfd {
                fd: r.0,
                events: both,
                revents: 0,
            },
            libc::pollfd {
                fd: w.0,
                events: both,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds of descriptors this closure owns.
        let n = unsafe { libc::poll(p.as_mut_ptr(), 2, 0) };
        let got = (n, p[0].revents, p[1].revents);
        check(got == (2, libc::POLLIN, libc::POLLOUT), || {
            format!("poll gave {got:?}, want (2, POLLIN, POLLOUT)")
        })
    })
}

/// epoll: adding a reading and a writing file (each addition polls the
/// file) and waiting, with `EPOLLIN` and `EPOLLOUT` asked of both.
pub fn epoll_not_blocked(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    let w = open(dev, O_WRONLY | O_NONBLOCK)?;
    while_stalled(dev, "epoll", move || {
        // SAFETY: epoll calls on descriptors this closure owns, with valid
        // event structures.
        let ep = Fd(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) });
        check(ep.0 >= 0, || "epoll_create1 failed".into())?;
        for (tag, f) in [(1u64, &r), (2, &w)] {
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLOUT) as u32,
                u64: tag,
            };
            // SAFETY: as above.
            let rc = unsafe { libc::epoll_ctl(ep.0, libc::EPOLL_CTL_ADD, f.0, &mut ev) };
            check(rc == 0, || format!("epoll_ctl: {}", err_name(errno())))?;
        }
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: as above.
        let n = unsafe { libc::epoll_wait(ep.0, out.as_mut_ptr(), 4, 0) };
        let mut got: Vec<(u64, u32)> = out[..n.max(0) as usize]
            .iter()
            .map(|e| (e.u64, e.events))
            .collect();
        got.sort();
        let want = vec![(1, libc::EPOLLIN as u32), (2, libc::EPOLLOUT as u32)];
        check(got == want, || {
            format!("epoll_wait gave (tag, events) {got:?}, want {want:?}")
        })
    })
}

/// `/proc/self/fdinfo` of another file of the device: every line of the
/// driver's, equal to `GET_STATS` (also lock-free; nothing moves while the
/// read is stalled).
pub fn fdinfo_not_blocked(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    while_stalled(dev, "reading fdinfo", move || {
        let path = format!("/proc/self/fdinfo/{}", r.0);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let s = stats(&r)?;
        check(stalled_len_ok(s.len), || format!("stats {s:?}"))?;
        crate::tests::stats_text_matches(&crate::tests::fdinfo_driver_lines(&text), &s)
    })
}

/// The driver's debugfs `stats` file, named after the device node.
pub fn debugfs_not_blocked(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    let name = dev.rsplit('/').next().unwrap_or_default();
    let path = format!("/sys/kernel/debug/{name}/stats");
    while_stalled(dev, "reading debugfs stats", move || {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let s = stats(&r)?;
        check(stalled_len_ok(s.len), || format!("stats {s:?}"))?;
        let lines: Vec<&str> = text.lines().collect();
        crate::tests::stats_text_matches(&lines, &s)
    })
}

/// `GET_STATS`: the length the stall allows and the scene's openers (its
/// writer, the stalled reader, and this file).
pub fn get_stats_not_blocked(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    while_stalled(dev, "GET_STATS", move || {
        let s = stats(&r)?;
        check(
            stalled_len_ok(s.len) && s.readers == 2 && s.writers == 1,
            || format!("stats {s:?}: want len 48 or 32, 2 readers, 1 writer"),
        )
    })
}

/// `GET_CAPACITY`: the capacity the test started with.
pub fn get_capacity_not_blocked(dev: &str, want: u64) -> Res<()> {
    let r = open(dev, O_RDONLY | O_NONBLOCK)?;
    while_stalled(dev, "GET_CAPACITY", move || {
        let c = capacity(&r)?;
        check(c == want, || format!("capacity {c}, want {want}"))
    })
}

/// `preadv2(RWF_NOWAIT)` on a blocking file: data is there, but the FIFO
/// is held, so `EAGAIN` at once, and nothing taken.
pub fn rwf_nowait_read_eagain(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY)?;
    while_stalled(dev, "preadv2(RWF_NOWAIT)", move || {
        expect_err(
            "preadv2(RWF_NOWAIT) while the FIFO is held",
            read_flags(&r, &mut [0u8; 64], libc::RWF_NOWAIT),
            libc::EAGAIN,
        )
    })
}

/// `pwritev2(RWF_NOWAIT)` on a blocking file: room is there, but the FIFO
/// is held, so `EAGAIN` at once, and nothing stored.
pub fn rwf_nowait_write_eagain(dev: &str) -> Res<()> {
    let w = open(dev, O_WRONLY)?;
    while_stalled(dev, "pwritev2(RWF_NOWAIT)", move || {
        expect_err(
            "pwritev2(RWF_NOWAIT) while the FIFO is held",
            write_flags(&w, b"must not land", libc::RWF_NOWAIT),
            libc::EAGAIN,
        )
    })
}

/// An io_uring read on a blocking file: `io_uring_enter` returns at once
/// (the inline attempt finds the FIFO held and gets `EAGAIN`; io_uring
/// retries from the poll wake-ups and then from a worker thread, which
/// waits for the mutex). Once the stall ends, the read completes with the
/// bytes the stalled read left, in order.
pub fn uring_not_blocked(dev: &str) -> Res<()> {
    let r = open(dev, O_RDONLY)?;
    let mut ring = uring::ring()?;
    // The kernel may write into it after a failed test has given up on the
    // ring: a buffer that is never freed.
    let buf: &'static mut [u8] = Box::leak(vec![0u8; 64].into_boxed_slice());
    uring::push_read(&mut ring, &r, buf, 5)?;
    let scene = Scene::start(dev)?;
    // One thread submits and then waits for the completion: io_uring
    // cancels a thread's requests when it exits.
    let (submitted_tx, submitted_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    spawn(move || {
        let r = ring.submit().map_err(|e| format!("io_uring_enter: {e}"));
        let ok = r.is_ok();
        let _ = submitted_tx.send(r);
        if ok {
            let _ = done_tx.send(uring::complete(&mut ring));
        }
    });
    let submitted = submitted_rx
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| Err(format!("io_uring_enter was still blocked after {LIMIT:?}")));
    let ended = scene.end();
    submitted?;
    ended?;
    let (tag, n) = done_rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| "the io_uring read did not complete within 5 s of the stall's end")??;
    let rest = &SEEN[TAKEN..];
    check(tag == 5 && n == rest.len() as i32, || {
        format!(
            "the read completed as ({tag}, {n}), want (5, {})",
            rest.len()
        )
    })?;
    check(buf[..rest.len()] == *rest, || {
        format!(
            "the io_uring read got {:?}, want {:?}",
            String::from_utf8_lossy(&buf[..rest.len()]),
            String::from_utf8_lossy(rest)
        )
    })?;
    // Everything was taken, and nothing more stored.
    check(stats(&r)?.len == 0, || {
        "bytes left in the FIFO after the io_uring read".into()
    })
}
