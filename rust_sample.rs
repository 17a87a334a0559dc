// SPDX-License-Identifier: GPL-2.0

//! rust_sample: `/dev/rust_sample`, a pipe-like misc character device in
//! safe Rust.
//!
//! Each device is one bounded byte FIFO shared by every opener
//! (`Documentation/abi.rst`); the `devices` parameter registers up to 16,
//! `/dev/rust_sample`, `/dev/rust_sample1`, and so on. The crate root only
//! wires the pieces together:
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

use abstractions::{
    fasync::impl_has_fasync,
    miscdev::{
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
};
use device::{
    fifo::{
        capacity_from_user,
        MAX_CAPACITY,
        MIN_CAPACITY, //
    },
    file::{
        write_stats,
        SampleDevice, //
    },
    instances::{
        device_count_from_user,
        device_name,
        MAX_DEVICES, //
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
            default: crate::device::fifo::DEFAULT_CAPACITY as u64,
            description: "FIFO capacity in bytes (4096 to 16777216)",
        },
        devices: u32 {
            default: 1,
            description: "Number of devices: rust_sample, rust_sample1, ... (1 to 16)",
        },
    },
}

// The misc device layer finds a file's SIGIO lists in its device. Here,
// not in `device/`, because the expansion is an `unsafe impl` (a checked
// field projection, `abstractions/fasync.rs`), which `device/`'s
// `forbid(unsafe_code)` refuses.
impl_has_fasync!(SampleDevice { fasync });

/// The loaded module: its devices, in the order they were registered.
struct RustSample {
    _devices: KVec<Instance>,
}

/// One registered device.
///
/// Fields drop in declaration order: the device node goes first, so no new
/// open can start while the debugfs entries go.
struct Instance {
    _misc: Pin<KBox<MiscDeviceRegistration<SampleDevice>>>,
    _stats: Pin<KBox<debugfs::File<Arc<SampleDevice>>>>,
    _debugfs: debugfs::Dir,
}

impl Instance {
    /// Creates device `index`, called `name`, with an empty FIFO of `capacity` bytes, its
    /// debugfs directory and its node, in that order: the node comes last,
    /// so nothing can open a device that is not complete.
    fn new(index: u32, name: &'static CStr, capacity: usize) -> Result<Self> {
        let device = SampleDevice::new(index, capacity)?;
        let debugfs = debugfs::Dir::new(name);
        let stats = KBox::pin_init(
            debugfs.read_callback_file(c"stats", device.clone(), &|device, f| {
                write_stats(f, &device.stats())
            }),
            GFP_KERNEL,
        )?;
        let misc = KBox::try_pin_init(
            MiscDeviceRegistration::register_with_sigio(
                MiscDeviceOptions { name, mode: 0o666 },
                device,
            ),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _misc: misc,
            _stats: stats,
            _debugfs: debugfs,
        })
    }
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
        let requested = abstractions::module::param(&module_parameters::devices);
        let Some(count) = device_count_from_user(requested) else {
            pr_err!(
                "devices={} is out of bounds: it must be between 1 and {}\n",
                requested,
                MAX_DEVICES
            );
            return Err(EINVAL);
        };

        // A failure part-way drops the devices made so far, newest last:
        // each `Instance` deregisters its node before its debugfs entries go.
        let mut devices = KVec::with_capacity(count, GFP_KERNEL)?;
        for index in 0..count {
            let name = device_name(index).ok_or(EINVAL)?;
            devices.push(
                Instance::new(u32::try_from(index)?, name, capacity)?,
                GFP_KERNEL,
            )?;
        }
        pr_info!("loaded, {} device(s), capacity {} bytes\n", count, capacity);
        Ok(Self { _devices: devices })
    }
}

impl Drop for RustSample {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
