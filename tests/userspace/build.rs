// SPDX-License-Identifier: GPL-2.0

//! Generates rs-devtest's ABI constants from `include/uapi/rust_sample.h`
//! itself: a small C program includes the header and prints them as Rust.
//! The suite therefore speaks exactly the header's ABI, and a module whose
//! numbers drift from the header fails its ioctl tests.

use std::{
    env,
    fs,
    path::PathBuf,
    process::Command, //
};

const HEADER: &str = "../../include/uapi/rust_sample.h";

const PROGRAM: &str = r#"
#include <stdio.h>
#include HEADER
int main(void)
{
	printf("/// `RUST_SAMPLE_IOC_GET_STATS`, from the C header.\n");
	printf("pub const GET_STATS: u64 = %#lx;\n", (unsigned long)RUST_SAMPLE_IOC_GET_STATS);
	printf("/// `RUST_SAMPLE_IOC_GET_CAPACITY`, from the C header.\n");
	printf("pub const GET_CAPACITY: u64 = %#lx;\n", (unsigned long)RUST_SAMPLE_IOC_GET_CAPACITY);
	printf("/// `RUST_SAMPLE_IOC_SET_CAPACITY`, from the C header.\n");
	printf("pub const SET_CAPACITY: u64 = %#lx;\n", (unsigned long)RUST_SAMPLE_IOC_SET_CAPACITY);
	printf("/// `RUST_SAMPLE_IOC_CLEAR`, from the C header.\n");
	printf("pub const CLEAR: u64 = %#lx;\n", (unsigned long)RUST_SAMPLE_IOC_CLEAR);
	printf("/// `sizeof(struct rust_sample_stats)`, from the C header.\n");
	printf("pub const STATS_SIZE: usize = %zu;\n", sizeof(struct rust_sample_stats));
	printf("/// `RUST_SAMPLE_MIN_CAPACITY`, from the C header.\n");
	printf("pub const MIN_CAPACITY: u64 = %lu;\n", (unsigned long)RUST_SAMPLE_MIN_CAPACITY);
	printf("/// `RUST_SAMPLE_MAX_CAPACITY`, from the C header.\n");
	printf("pub const MAX_CAPACITY: u64 = %lu;\n", (unsigned long)RUST_SAMPLE_MAX_CAPACITY);
	return 0;
}
"#;

/// The targets whose ABI the host's printer gives: the program runs on the
/// host, so for a cross build its numbers are the host's. They are the
/// same for these: both use the generic `_IOC` encoding
/// (`asm-generic/ioctl.h`) and the LP64 layout, under which the stats
/// structure has no padding. Another architecture must be added here only
/// after that is checked for it (powerpc, mips and sparc encode ioctls
/// differently).
const SAME_ABI: [&str; 2] = ["x86_64", "aarch64"];

fn main() {
    let target = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets CARGO_CFG_TARGET_ARCH");
    let host = env::consts::ARCH;
    assert!(
        target == host || (SAME_ABI.contains(&target.as_str()) && SAME_ABI.contains(&host)),
        "the uapi printer runs on {host}, and {target}'s ioctl encoding or layout may differ"
    );
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let header = fs::canonicalize(HEADER).expect("include/uapi/rust_sample.h exists");
    println!("cargo:rerun-if-changed={HEADER}");
    println!("cargo:rerun-if-changed=build.rs");
    let src = out.join("uapi.c");
    fs::write(&src, PROGRAM).expect("write uapi.c");
    let exe = out.join("uapi");
    let cc = env::var("HOST_CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .arg(format!("-DHEADER=\"{}\"", header.display()))
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("a C compiler (cc) to read the uapi header");
    assert!(status.success(), "{cc} could not compile against {HEADER}");
    let printed = Command::new(&exe).output().expect("run the uapi printer");
    assert!(printed.status.success(), "the uapi printer failed");
    fs::write(out.join("uapi.rs"), printed.stdout).expect("write uapi.rs");
}
