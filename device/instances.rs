// SPDX-License-Identifier: GPL-2.0

//! How many devices one module load registers, and their names.
//!
//! Each device is a FIFO of its own, with its own statistics, wait queues,
//! SIGIO lists and debugfs directory; nothing is shared between them but
//! the module.

use kernel::prelude::*;

/// The most devices one load registers (`RUST_SAMPLE_MAX_DEVICES`).
pub(crate) const MAX_DEVICES: usize = 16;
const _: () = assert!(MAX_DEVICES <= 100, "names have at most two digits");

/// The longest name: `rust_sample` and two digits, and its NUL.
const NAME_LEN: usize = PREFIX.len() + 2 + 1;
const PREFIX: &[u8] = b"rust_sample";

/// The node and debugfs names, by index, NUL-padded. The first keeps the
/// name a single-device load has always had, so `devices=1` changes
/// nothing; the others are numbered from 1, as `/dev/loop1` or `/dev/ttyS1`
/// are. Made at compile time into one flat array (224 bytes), where a
/// table of sixteen `&CStr` literals took twice that; `static` because
/// `misc_register()` keeps the pointer (`/proc/misc`).
static NAMES: [[u8; NAME_LEN]; MAX_DEVICES] = names();

const fn names() -> [[u8; NAME_LEN]; MAX_DEVICES] {
    let mut names = [[0; NAME_LEN]; MAX_DEVICES];
    let mut n = 0;
    while n < MAX_DEVICES {
        let mut i = 0;
        while i < PREFIX.len() {
            names[n][i] = PREFIX[i];
            i += 1;
        }
        // CAST: `n < MAX_DEVICES`, so each digit is below 10.
        if n >= 10 {
            names[n][i] = b'0' + (n / 10) as u8;
            i += 1;
        }
        if n > 0 {
            names[n][i] = b'0' + (n % 10) as u8;
        }
        n += 1;
    }
    names
}

/// The number of devices the `devices` parameter asks for, if it is
/// between 1 and [`MAX_DEVICES`].
pub(crate) fn device_count_from_user(n: u32) -> Option<usize> {
    let n = usize::try_from(n).ok()?;
    (1..=MAX_DEVICES).contains(&n).then_some(n)
}

/// The name of device `index` (counted from 0), under `/dev` and in
/// debugfs.
pub(crate) fn device_name(index: usize) -> Option<&'static CStr> {
    CStr::from_bytes_until_nul(NAMES.get(index)?).ok()
}
