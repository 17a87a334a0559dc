// SPDX-License-Identifier: GPL-2.0

//! The safe layer over the kernel's C API that the kernel crate lacks.
//!
//! This is the only module of rust_sample where `unsafe` may appear; every
//! unsafe block is argued in a `// SAFETY:` comment, and every unsafe
//! function has a `# Safety` section. `Documentation/abstractions.rst` says
//! why each wrapper exists and what upstream would need to absorb it.

pub(crate) mod access;
pub(crate) mod capability;
pub(crate) mod fasync;
pub(crate) mod iov;
pub(crate) mod kiocb;
pub(crate) mod miscdev;
pub(crate) mod module;
pub(crate) mod poll;
pub(crate) mod trace;
pub(crate) mod wait;
