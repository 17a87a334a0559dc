// SPDX-License-Identifier: GPL-2.0

//! How many devices one module load registers, and their names.
//!
//! Each device is a FIFO of its own, with its own statistics, wait queues,
//! SIGIO lists and debugfs directory; nothing is shared between them but
//! the module.

use kernel::prelude::*;

/// The most devices one load registers (`RUST_SAMPLE_MAX_DEVICES`).
pub(crate) const MAX_DEVICES: usize = 16;

/// The node and debugfs names, by index. The first keeps the name a
/// single-device load has always had, so `devices=1` changes nothing; the
/// others are numbered from 1, as `/dev/loop1` or `/dev/ttyS1` are.
/// `'static` because `misc_register()` keeps the pointer (`/proc/misc`).
const NAMES: [&CStr; MAX_DEVICES] = [
    c"rust_sample",
    c"rust_sample1",
    c"rust_sample2",
    c"rust_sample3",
    c"rust_sample4",
    c"rust_sample5",
    c"rust_sample6",
    c"rust_sample7",
    c"rust_sample8",
    c"rust_sample9",
    c"rust_sample10",
    c"rust_sample11",
    c"rust_sample12",
    c"rust_sample13",
    c"rust_sample14",
    c"rust_sample15",
];

/// The number of devices the `devices` parameter asks for, if it is
/// between 1 and [`MAX_DEVICES`].
pub(crate) fn device_count_from_user(n: u32) -> Option<usize> {
    let n = usize::try_from(n).ok()?;
    (1..=MAX_DEVICES).contains(&n).then_some(n)
}

/// The name of device `index` (counted from 0), under `/dev` and in
/// debugfs.
pub(crate) fn device_name(index: usize) -> Option<&'static CStr> {
    NAMES.get(index).copied()
}
