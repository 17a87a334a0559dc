// SPDX-License-Identifier: GPL-2.0

//! rust_sample: `/dev/rust_sample`, a pipe-like misc character device in
//! safe Rust.
//!
//! The device is one bounded byte FIFO shared by every opener
//! (`Documentation/abi.rst`). The crate root only wires the pieces together:
//!
//! - `abstractions/` wraps the C API the kernel crate does not cover yet.
//!   It is the one module allowed to use `unsafe`.
//! - `device/` is the driver, built with `#![forbid(unsafe_code)]`.

#![deny(unsafe_code)]

#[expect(unsafe_code)]
mod abstractions;
mod device;

use kernel::{
    debugfs,
    prelude::*,
    sync::Arc, //
};

use abstractions::miscdev::{
    MiscDeviceOptions,
    MiscDeviceRegistration, //
};
use device::{
    fifo::{
        capacity_from_user,
        MAX_CAPACITY,
        MIN_CAPACITY, //
    },
    file::{
        write_stats,
        SampleDevice,
        SampleFile, //
    },
};

module! {
    type: RustSample,
    name: "rust_sample",
    authors: ["rust_sample developers"],
    description: "A pipe-like misc device written in safe Rust",
    license: "GPL",
    params: {
        capacity: u64 {
            default: 65536,
            description: "FIFO capacity in bytes (4096 to 16777216)",
        },
    },
}

/// The loaded module.
///
/// Fields drop in declaration order: the device node goes first, so no new
/// open can start while the debugfs entries go.
struct RustSample {
    _misc: Pin<KBox<MiscDeviceRegistration<SampleFile>>>,
    _stats: Pin<KBox<debugfs::File<Arc<SampleDevice>>>>,
    _debugfs: debugfs::Dir,
}

impl kernel::Module for RustSample {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let requested = abstractions::module::param(&module_parameters::capacity);
        let Some(capacity) = capacity_from_user(requested) else {
            pr_err!(
                "capacity={} is out of bounds: it must be between {} and {} bytes\n",
                requested,
                MIN_CAPACITY,
                MAX_CAPACITY
            );
            return Err(EINVAL);
        };

        let device = SampleDevice::new(capacity)?;
        let debugfs = debugfs::Dir::new(c"rust_sample");
        let stats = KBox::pin_init(
            debugfs.read_callback_file(c"stats", device.clone(), &|device, f| {
                write_stats(f, &device.stats())
            }),
            GFP_KERNEL,
        )?;
        let misc = KBox::try_pin_init(
            MiscDeviceRegistration::register(
                MiscDeviceOptions {
                    name: c"rust_sample",
                    mode: 0o666,
                },
                device,
            ),
            GFP_KERNEL,
        )?;
        pr_info!("loaded, capacity {} bytes\n", capacity);
        Ok(Self {
            _misc: misc,
            _stats: stats,
            _debugfs: debugfs,
        })
    }
}

impl Drop for RustSample {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
