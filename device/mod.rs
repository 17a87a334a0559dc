// SPDX-License-Identifier: GPL-2.0

//! The driver: what `/dev/rust_sample` (and `rust_sample1`, ...) does, in safe Rust.
//!
//! - [`ring`] and [`fifo`]: the FIFO core, plain Rust that also builds on
//!   the host.
//! - [`file`]: the file operations, over `abstractions::miscdev`.
//! - [`instances`]: how many devices a load registers, and their names.
//! - [`gauges`]: the FIFO's length, capacity and counters, readable without
//!   the FIFO lock.
//! - [`openers`]: who holds the device open, counted without the FIFO lock.
//! - [`uapi`]: the ioctl ABI, mirrored from `include/uapi/rust_sample.h`.

#![forbid(unsafe_code)]

pub(crate) mod fifo;
pub(crate) mod file;
pub(crate) mod gauges;
pub(crate) mod instances;
pub(crate) mod openers;
pub(crate) mod ring;
// Only in the test build (`make KUNIT=y`; see Kbuild).
#[cfg(rs_kunit)]
mod tests;
pub(crate) mod uapi;
