// SPDX-License-Identifier: GPL-2.0

//! The userspace ABI, mirrored from `include/uapi/rust_sample.h`.
//!
//! The userspace suite speaks the header's numbers, generated from it at
//! build time (`tests/userspace/build.rs`), so a drift here fails its ioctl
//! tests (tried: `CLEAR` renumbered gives `ENOTTY` everywhere). A KUnit case
//! also checks the numbers against their C encodings.

use kernel::ioctl::{
    _IO,
    _IOR,
    _IOW, //
};
use zerocopy_derive::{
    Immutable,
    IntoBytes, //
};

/// The ioctl magic number of this device.
pub(crate) const IOC_MAGIC: u32 = 0xB9;

/// `RUST_SAMPLE_IOC_GET_STATS`.
pub(crate) const IOC_GET_STATS: u32 = _IOR::<Stats>(IOC_MAGIC, 1);
/// `RUST_SAMPLE_IOC_GET_CAPACITY`.
pub(crate) const IOC_GET_CAPACITY: u32 = _IOR::<u64>(IOC_MAGIC, 2);
/// `RUST_SAMPLE_IOC_SET_CAPACITY`.
pub(crate) const IOC_SET_CAPACITY: u32 = _IOW::<u64>(IOC_MAGIC, 3);
/// `RUST_SAMPLE_IOC_CLEAR`.
pub(crate) const IOC_CLEAR: u32 = _IO(IOC_MAGIC, 4);

/// `struct rust_sample_stats`.
///
/// Six `u64` then two `u32`: 56 bytes with no padding, so copying it out can
/// leak no uninitialised byte. The `IntoBytes` derive (zerocopy, vendored by
/// the kernel) proves that at compile time and fails to build if a field
/// change ever adds padding; `Immutable` rules out interior mutability. So
/// `zerocopy::transmute!` into bytes is safe (`GET_STATS`), and no
/// hand-written `unsafe impl` is needed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, IntoBytes, Immutable)]
pub(crate) struct Stats {
    pub(crate) bytes_read: u64,
    pub(crate) bytes_written: u64,
    pub(crate) reads: u64,
    pub(crate) writes: u64,
    pub(crate) len: u64,
    pub(crate) capacity: u64,
    pub(crate) readers: u32,
    pub(crate) writers: u32,
}
