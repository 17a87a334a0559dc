// SPDX-License-Identifier: GPL-2.0

//! One test in a child process with a deadline, so that a test that hangs
//! (a wake-up the driver lost, say) fails by its own name and the suite goes
//! on, instead of the whole VM timing out with no name attached.

use crate::sys::*;
use std::time::Duration;

/// Runs `test` in a forked child and waits at most `limit` for it. The
/// child's `Err` text comes back through a pipe. A child still running at
/// the deadline is killed and reported as hung; one that dies by a signal
/// is reported as crashed.
pub fn run(limit: Duration, test: impl FnOnce() -> Res<()>) -> Res<()> {
    let mut fds = [0; 2];
    // SAFETY: a valid two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err("pipe2 failed".into());
    }
    let (rd, wr) = (Fd(fds[0]), Fd(fds[1]));
    // SAFETY: rs-devtest is single-threaded between tests, where it forks.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err("fork failed".into());
    }
    if pid == 0 {
        drop(rd);
        let kcov = crate::kcov::Task::start();
        let res = test();
        drop(kcov);
        let code = match res {
            Ok(()) => 0,
            Err(why) => {
                let _ = write(&wr, why.as_bytes());
                1
            }
        };
        // SAFETY: leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    drop(wr);
    // Collect the child's message until it exits. Its own children may
    // hold the pipe open longer, so the exit, not end of file, ends the
    // wait.
    let deadline = std::time::Instant::now() + limit;
    let mut why = Vec::new();
    let status = loop {
        take_ready(&rd, 50, &mut why);
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            reap(pid, Duration::from_secs(5));
            return Err(format!(
                "hung: still running after {} s, killed",
                limit.as_secs()
            ));
        }
    };
    // What the child wrote just before it exited.
    while take_ready(&rd, 0, &mut why) {}
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if libc::WIFEXITED(status) {
        Err(String::from_utf8_lossy(&why).into_owned())
    } else if libc::WIFSIGNALED(status) {
        Err(format!(
            "crashed: killed by signal {}",
            libc::WTERMSIG(status)
        ))
    } else {
        Err(format!("the test process ended with status {status:#x}"))
    }
}

/// Appends what `rd` has to read within `timeout_ms` to `out`; whether it
/// got any.
fn take_ready(rd: &Fd, timeout_ms: i32, out: &mut Vec<u8>) -> bool {
    if !matches!(poll1(rd, libc::POLLIN, timeout_ms), Ok(ev) if ev & libc::POLLIN != 0) {
        return false;
    }
    let mut buf = [0u8; 512];
    match read(rd, &mut buf) {
        Ok(k) if k > 0 => {
            out.extend_from_slice(&buf[..k]);
            true
        }
        _ => false,
    }
}

/// Waits up to `limit` for the child; `None` if it is still there (a task
/// stuck in the kernel cannot even be killed, and the suite must go on).
fn reap(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Some(status);
        }
        if r < 0 || std::time::Instant::now() >= deadline {
            return None;
        }
        sleep_ms(10);
    }
}
