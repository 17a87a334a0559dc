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
        SampleDevice,
        StatsText, //
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
    _devices: KVec<Pin<KBox<Instance>>>,
}

/// One registered device, in one allocation.
///
/// Fields drop in declaration order: the device node goes first, so no new
/// open can start while the debugfs entries go.
#[pin_data]
struct Instance {
    #[pin]
    misc: MiscDeviceRegistration<SampleDevice>,
    #[pin]
    stats: debugfs::File<Arc<SampleDevice>>,
    debugfs: debugfs::Dir,
}

impl Instance {
    /// Creates device `index`, called `name`, with an empty FIFO of
    /// `capacity` bytes, its debugfs directory and its node, in that order:
    /// the node comes last, so nothing can open a device that is not
    /// complete.
    fn new(index: u32, name: &'static CStr, capacity: usize) -> Result<Pin<KBox<Self>>> {
        let device = SampleDevice::new(index, capacity)?;
        let for_debugfs = device.clone();
        KBox::try_pin_init(
            try_pin_init!(Self {
                debugfs: debugfs::Dir::new(name),
                stats <- debugfs.read_callback_file(c"stats", for_debugfs, &|device, f| {
                    kernel::fmt::Display::fmt(&StatsText(device.stats()), f)
                }),
                misc <- MiscDeviceRegistration::register_with_sigio(
                    MiscDeviceOptions { name, mode: 0o666 },
                    device,
                ),
            }? Error),
            GFP_KERNEL,
        )
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
        // Allocated once, for all of them: each push then fits, and no
        // growth path is compiled in.
        let mut devices = KVec::with_capacity(count, GFP_KERNEL)?;
        for index in 0..count {
            let name = device_name(index).ok_or(EINVAL)?;
            let instance = Instance::new(u32::try_from(index)?, name, capacity)?;
            devices.push_within_capacity(instance).map_err(|_| ENOMEM)?;
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
