// SPDX-License-Identifier: GPL-2.0

//! Byte-level trait impls for the ioctl argument types.
//!
//! Why this exists: `UserSliceWriter::write` copies a value to userspace only
//! if it implements `kernel::transmute::AsBytes`, an unsafe trait. The driver
//! builds with `#![forbid(unsafe_code)]`, so the impls live here, next to
//! the layout argument that justifies them.

use crate::device::uapi::Stats;
use kernel::transmute::AsBytes;

// The layout argument below depends on this size: six `u64` and two `u32`
// add up to 56 bytes, so any padding would show as a larger size.
const _: () = assert!(core::mem::size_of::<Stats>() == 6 * 8 + 2 * 4);

// SAFETY: `Stats` is `#[repr(C)]` with only `u64` and `u32` fields, ordered
// so that no padding exists (checked by the size assertion above). Every byte
// is therefore an initialised field byte, and any bit pattern of the fields
// is valid.
unsafe impl AsBytes for Stats {}
