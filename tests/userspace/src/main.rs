// SPDX-License-Identifier: GPL-2.0

//! rs-devtest: the device test suite, run inside the test VM as root.
//!
//! Usage: `rs-devtest DEVICE DEFAULT_CAPACITY`, or `rs-devtest devices
//! DEFAULT_CAPACITY DEV0 DEV1 ...` for several devices of one load (see
//! `devices.rs`). Prints one line per test,
//! `RS-TEST ok NAME` or `RS-TEST not ok NAME: WHY`, and exits non-zero if
//! any failed. The device path is a parameter so that another driver with
//! the same ABI can run the same suite.

mod devices;
mod faults;
mod fuzz;
mod isolate;
mod kcov;
mod rng;
mod stall;
mod stress;
mod sys;
mod tests;
mod uring;

use std::time::{
    Duration,
    Instant, //
};

/// How long one test may take before it fails by name as hung. The slowest
/// takes a few seconds, on the debug kernel too.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    // make coverage: the main process maps what every task shares, counts
    // its own calls, and writes the map last (kcov.rs).
    kcov::init();
    let task = kcov::Task::start();
    let code = run();
    drop(task);
    kcov::finish();
    std::process::exit(code);
}

fn run() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--load" {
        return load(&args[2], &args[3]);
    }
    if args.len() == 3 && args[1] == "--unload" {
        return unload(&args[2]);
    }
    // The reliability runs (make test-debug): one result line each.
    let extra = match (args.get(1).map(String::as_str), args.len()) {
        (Some("stress"), 5) => Some((
            "stress",
            num(&args[3]).and_then(|s| stress::run(&args[2], s, num(&args[4])?)),
        )),
        (Some("fuzz"), 5) => Some((
            "fuzz",
            num(&args[3]).and_then(|c| fuzz::run(&args[2], c, num(&args[4])?)),
        )),
        (Some("fuzz-guided"), 5) => Some((
            "fuzz-guided",
            num(&args[3]).and_then(|c| fuzz::guided(&args[2], c, num(&args[4])?)),
        )),
        (Some("fault-load"), 4) => Some(("fault-injection-load", faults::load(&args[2], &args[3]))),
        (Some("fault-resize"), 3) => Some(("fault-injection-resize", faults::resize(&args[2]))),
        (Some("fault-open"), 3) => Some(("fault-injection-open", faults::open_sweep(&args[2]))),
        (Some("fault-fasync"), 3) => {
            Some(("fault-injection-fasync", faults::fasync_sweep(&args[2])))
        }
        // In a child with a deadline: two threads race in the driver, and
        // a hang there must fail by name.
        (Some("fault-fasync-concurrent"), 3) => Some((
            "fault-injection-fasync-concurrent",
            isolate::run(Duration::from_secs(60), || {
                faults::fasync_concurrent(&args[2])
            }),
        )),
        (Some("misc-stall"), 5) => Some((
            "misc-open-not-stalled",
            stall::run(&args[2], &args[3], &args[4]),
        )),
        _ => None,
    };
    if let Some((name, res)) = extra {
        match res {
            Ok(()) => println!("RS-TEST ok {name}"),
            Err(why) => println!("RS-TEST not ok {name}: {why}"),
        }
        return 0;
    }
    if args.len() >= 5 && args[1] == "devices" {
        let Ok(default_capacity) = args[2].parse::<u64>() else {
            eprintln!("rs-devtest: DEFAULT_CAPACITY must be a number");
            return 2;
        };
        let d = devices::Devices {
            paths: args[3..].to_vec(),
            default_capacity,
        };
        let tests = devices::ALL.iter().map(|&(name, test)| {
            let d = &d;
            (name, move || devices::reset(d).and_then(|()| test(d)))
        });
        return run_all(tests);
    }
    if args.len() != 3 {
        eprintln!("usage: rs-devtest DEVICE DEFAULT_CAPACITY");
        return 2;
    }
    let dev = args[1].clone();
    let Ok(default_capacity) = args[2].parse::<u64>() else {
        eprintln!("rs-devtest: DEFAULT_CAPACITY must be a number");
        return 2;
    };
    let ctx = tests::Ctx {
        dev,
        default_capacity,
    };
    let tests = tests::ALL.iter().map(|&(name, test)| {
        let ctx = &ctx;
        (name, move || tests::reset(ctx).and_then(|()| test(ctx)))
    });
    run_all(tests)
}

/// Runs each test in a child with a deadline (`isolate::run`), prints its
/// result line, and returns the exit status: 0 if every test passed.
fn run_all<F: FnOnce() -> sys::Res<()>>(tests: impl Iterator<Item = (&'static str, F)>) -> i32 {
    let mut failed = 0;
    for (name, test) in tests {
        let start = Instant::now();
        let res = isolate::run(TEST_TIMEOUT, test);
        let ms = start.elapsed().as_millis();
        match res {
            Ok(()) => println!("RS-TEST ok {name}"),
            Err(why) => {
                failed += 1;
                println!("RS-TEST not ok {name}: {why}");
            }
        }
        eprintln!("rs-devtest: {name}: {ms} ms");
    }
    if failed == 0 {
        0
    } else {
        1
    }
}

fn num(s: &str) -> sys::Res<u64> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

/// `rs-devtest --load MODULE PARAMS`: one `finit_module(2)` call, no retry.
/// busybox's insmod falls back to `init_module(2)` after a failure, which
/// loads the module twice; the parameter tests need exactly one attempt.
/// Prints the errno name on failure and exits 1.
fn load(path: &str, params: &str) -> i32 {
    let Ok(file) = std::fs::File::open(path) else {
        eprintln!("rs-devtest: cannot open {path}");
        return 1;
    };
    let Ok(params) = std::ffi::CString::new(params) else {
        return 2;
    };
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor and a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    if r == 0 {
        // make coverage: the module's init ran in this task; its text can
        // be mapped now.
        kcov::init();
        0
    } else {
        println!("{}", sys::err_name(sys::errno()));
        1
    }
}

/// `rs-devtest --unload MODULE`: `delete_module(2)` as busybox's rmmod
/// calls it. `make coverage` unloads through it, so that the module's exit
/// runs in a task that records its PCs. Prints the errno name on failure
/// and exits 1.
fn unload(module: &str) -> i32 {
    match sys::delete_module(module) {
        Ok(()) => 0,
        Err(e) => {
            println!("{}", sys::err_name(e));
            1
        }
    }
}
