// SPDX-License-Identifier: GPL-2.0

//! Thin, checked wrappers over the system calls the tests use, and the ABI
//! of `include/uapi/rust_sample.h`.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

/// `struct rust_sample_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub reads: u64,
    pub writes: u64,
    pub len: u64,
    pub capacity: u64,
    pub readers: u32,
    pub writers: u32,
}

// The ABI's numbers, generated from include/uapi/rust_sample.h (build.rs),
// so the suite cannot drift from the header.
include!(concat!(env!("OUT_DIR"), "/uapi.rs"));
const _: () = assert!(std::mem::size_of::<Stats>() == STATS_SIZE);

/// The largest all-or-nothing write, as for a pipe: `PIPE_BUF` on every
/// architecture and page size (not the page size, 16K or 64K on some arm64
/// kernels).
pub const PIPE_BUF: usize = libc::PIPE_BUF;

/// The page size, from the system rather than assumed (userfaultfd works
/// in pages).
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

pub type Res<T> = Result<T, String>;

/// The errno of the last failed call.
pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn err_name(e: i32) -> String {
    match e {
        libc::EAGAIN => "EAGAIN".into(),
        libc::EINTR => "EINTR".into(),
        libc::ESPIPE => "ESPIPE".into(),
        libc::EPERM => "EPERM".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::ENOTTY => "ENOTTY".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::EBUSY => "EBUSY".into(),
        libc::ENOMEM => "ENOMEM".into(),
        libc::EBADF => "EBADF".into(),
        e => format!("errno {e}"),
    }
}

/// An open file descriptor, closed on drop.
pub struct Fd(pub RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

pub fn open(path: &str, flags: i32) -> Res<Fd> {
    try_open(path, flags).map_err(|e| format!("open({path}) failed: {}", err_name(e)))
}

/// `open(2)`: the file, or the errno.
pub fn try_open(path: &str, flags: i32) -> Result<Fd, i32> {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: `c` is a valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(Fd(fd))
    }
}

/// `write(2)`: the count, or the errno.
pub fn write(fd: &Fd, data: &[u8]) -> Result<usize, i32> {
    // SAFETY: `data` is valid for reads of its length.
    let n = unsafe { libc::write(fd.0, data.as_ptr().cast(), data.len()) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// `read(2)`: the count, or the errno.
pub fn read(fd: &Fd, buf: &mut [u8]) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::read(fd.0, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// Writes all of `data` with as many calls as it takes.
/// `preadv2(fd, [buf], -1, flags)`: a read at the file's position (a
/// stream has none) with per-call flags such as `RWF_NOWAIT`.
pub fn read_flags(fd: &Fd, buf: &mut [u8], flags: i32) -> Result<usize, i32> {
    let iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: one iovec over a valid, writable buffer.
    let n = unsafe { libc::preadv2(fd.0, &iov, 1, -1, flags) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// `pwritev2(fd, [data], -1, flags)`, as [`read_flags`].
pub fn write_flags(fd: &Fd, data: &[u8], flags: i32) -> Result<usize, i32> {
    let iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: one iovec over a valid buffer, which the call only reads.
    let n = unsafe { libc::pwritev2(fd.0, &iov, 1, -1, flags) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// A pipe: (read end, write end).
pub fn pipe() -> Res<(Fd, Fd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return Err(format!("pipe: {}", err_name(errno())));
    }
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// `splice(from, NULL, to, NULL, len, flags)`.
pub fn splice(from: &Fd, to: &Fd, len: usize, flags: u32) -> Result<usize, i32> {
    // SAFETY: no offsets; the kernel checks the descriptors.
    let n = unsafe {
        libc::splice(
            from.0,
            std::ptr::null_mut(),
            to.0,
            std::ptr::null_mut(),
            len,
            flags,
        )
    };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// `sendfile(to, from, NULL, len)`.
pub fn sendfile(to: &Fd, from: &Fd, len: usize) -> Result<usize, i32> {
    // SAFETY: no offset; the kernel checks the descriptors.
    let n = unsafe { libc::sendfile(to.0, from.0, std::ptr::null_mut(), len) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// Access mode 3, the kernel's `O_ACCMODE` ("ioctl only": neither read nor
/// write). Not `libc::O_ACCMODE`: musl defines that as `3 | O_SEARCH`, and
/// `O_SEARCH` is `O_PATH`, so musl's "access mode 3" opens a path-only
/// file, which `poll` calls invalid and `F_SETOWN` or `F_SETFL` refuse.
pub const O_ACCMODE_3: libc::c_int = 3;

/// `F_SETSIG`, from <asm-generic/fcntl.h>; libc lacks it.
pub const F_SETSIG: i32 = 10;

/// Sets `F_SETOWN` to this process, `F_SETSIG` to `sig` (0: plain SIGIO),
/// and the file's flags to `O_ASYNC` when `on` and `O_NONBLOCK` when
/// `nonblock`.
pub fn set_async(fd: &Fd, sig: i32, on: bool, nonblock: bool) -> Res<()> {
    let flags = if on { libc::O_ASYNC } else { 0 } | if nonblock { libc::O_NONBLOCK } else { 0 };
    // SAFETY: fcntl on our own descriptor.
    let ok = unsafe {
        libc::fcntl(fd.0, libc::F_SETOWN, libc::getpid()) == 0
            && libc::fcntl(fd.0, F_SETSIG, sig) == 0
            && libc::fcntl(fd.0, libc::F_SETFL, flags) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(format!("fcntl O_ASYNC: {}", err_name(errno())))
    }
}

pub fn write_all(fd: &Fd, mut data: &[u8]) -> Res<()> {
    while !data.is_empty() {
        match write(fd, data) {
            Ok(0) => return Err("write returned 0".into()),
            Ok(n) => data = &data[n..],
            Err(libc::EINTR) => {}
            Err(e) => return Err(format!("write failed: {}", err_name(e))),
        }
    }
    Ok(())
}

/// Reads exactly `n` bytes.
pub fn read_exact(fd: &Fd, n: usize) -> Res<Vec<u8>> {
    let mut out = vec![0u8; n];
    let mut at = 0;
    while at < n {
        match read(fd, &mut out[at..]) {
            Ok(0) => return Err(format!("EOF after {at} of {n} bytes")),
            Ok(k) => at += k,
            Err(libc::EINTR) => {}
            Err(e) => return Err(format!("read failed: {}", err_name(e))),
        }
    }
    Ok(out)
}

pub fn set_nonblock(fd: &Fd, on: bool) -> Res<()> {
    // SAFETY: plain fcntl calls on a valid descriptor.
    unsafe {
        let flags = libc::fcntl(fd.0, libc::F_GETFL);
        let flags = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if libc::fcntl(fd.0, libc::F_SETFL, flags) < 0 {
            return Err(format!("fcntl failed: {}", err_name(errno())));
        }
    }
    Ok(())
}

/// `ioctl(2)` with a pointer argument: 0, or the errno.
pub fn ioctl_ptr(fd: &Fd, cmd: u64, arg: *mut libc::c_void) -> Result<(), i32> {
    // SAFETY: the kernel validates `arg`; the tests pass bad ones on purpose.
    let r = unsafe { libc::ioctl(fd.0, cmd as _, arg) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

pub fn stats(fd: &Fd) -> Res<Stats> {
    let mut s = Stats::default();
    ioctl_ptr(fd, GET_STATS, (&mut s as *mut Stats).cast())
        .map_err(|e| format!("GET_STATS failed: {}", err_name(e)))?;
    Ok(s)
}

pub fn capacity(fd: &Fd) -> Res<u64> {
    let mut c = 0u64;
    ioctl_ptr(fd, GET_CAPACITY, (&mut c as *mut u64).cast())
        .map_err(|e| format!("GET_CAPACITY failed: {}", err_name(e)))?;
    Ok(c)
}

pub fn set_capacity(fd: &Fd, cap: u64) -> Result<(), i32> {
    let mut c = cap;
    ioctl_ptr(fd, SET_CAPACITY, (&mut c as *mut u64).cast()).map(|_| ())
}

pub fn clear(fd: &Fd) -> Result<(), i32> {
    ioctl_ptr(fd, CLEAR, std::ptr::null_mut())
}

/// `poll(2)` on one descriptor: the returned events (0 on timeout).
pub fn poll1(fd: &Fd, events: i16, timeout_ms: i32) -> Res<i16> {
    let mut p = libc::pollfd {
        fd: fd.0,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if r < 0 {
        return Err(format!("poll failed: {}", err_name(errno())));
    }
    Ok(p.revents)
}

/// Forks; the child runs `f` and exits with 0 on `Ok`, 1 on `Err`.
pub fn fork(f: impl FnOnce() -> Res<()>) -> Res<libc::pid_t> {
    // SAFETY: the test program is single-threaded when it forks.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err("fork failed".into());
    }
    if pid == 0 {
        let kcov = crate::kcov::Task::start();
        let code = match f() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("child: {e}");
                1
            }
        };
        drop(kcov);
        // SAFETY: leave without running the parent's destructors twice.
        unsafe { libc::_exit(code) };
    }
    Ok(pid)
}

/// `std::thread::spawn`, with the thread's calls into the module counted by
/// `make coverage` (`kcov.rs`).
pub fn spawn<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || {
        let _kcov = crate::kcov::Task::start();
        f()
    })
}

/// `delete_module(2)` as busybox's rmmod calls it (`O_NONBLOCK`: refuse a
/// module in use): the errno on failure.
pub fn delete_module(module: &str) -> Result<(), i32> {
    let name = CString::new(module).map_err(|_| libc::EINVAL)?;
    // SAFETY: a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// Waits for a child: `Ok` if it exited with 0.
pub fn wait(pid: libc::pid_t) -> Res<()> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err("waitpid failed".into());
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(format!("child {pid} failed (status {status:#x})"))
    }
}

pub fn sleep_ms(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}
