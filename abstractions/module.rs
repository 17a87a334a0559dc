// SPDX-License-Identifier: GPL-2.0

//! The module itself: its `struct module` and its parameters.
//!
//! Why this exists: both are reached differently on the kernels this driver
//! supports (`Documentation/portability.rst`), and the driver should not
//! know which kernel it runs on.
//!
//! - Linux 7.3 gives `#[vtable]` traits an `OwnerModule` type and
//!   `kernel::module::this_module()`; Linux 7.2 has neither, only a
//!   crate-level `THIS_MODULE` static that a `const` cannot read. Both define
//!   `__this_module` for every module (modpost emits it into the `.mod.c`),
//!   and its address is what a `file_operations` needs, so that is the one
//!   mechanism used here.
//! - `ModuleParamAccess::value()` returns a copy on Linux 7.3 and a
//!   reference on Linux 7.2; [`param`] returns a copy on both.

use kernel::{
    bindings,
    module_param::ModuleParamAccess,
    types::Opaque, //
};

// The type is only ever used behind a pointer; `struct module` holds arrays
// of empty structs, which the lint cannot prove FFI-safe. The kernel's own
// `module!` expansion declares the same symbol the same way.
#[expect(improper_ctypes)]
extern "C" {
    /// This module's `struct module`, defined in the modpost-generated
    /// `rust_sample.mod.c`.
    static __this_module: Opaque<bindings::module>;
}

/// `THIS_MODULE`: the `struct module` of this module, usable in a constant
/// such as a `file_operations` table.
///
/// Taking the address of an extern static is safe (Rust 1.82; the kernel's
/// minimum is 1.85): it reads nothing. Why the pointer stays valid: the
/// symbol is defined by modpost for every loadable module, and `struct
/// module` is freed only after the module's exit function has run, which
/// unregisters every `file_operations` that names it. C consumes the pointer
/// through `fops_get()`/`try_module_get()`, which fail once the module is
/// going, so an `open` never starts on an unloading module.
pub(crate) const THIS_MODULE: *mut bindings::module = (&raw const __this_module)
    .cast_mut()
    .cast::<bindings::module>();

/// The value of a module parameter.
pub(crate) fn param<T: Copy>(param: &ModuleParamAccess<T>) -> T {
    #[cfg(rs_param_value_by_copy)]
    {
        param.value()
    }
    #[cfg(not(rs_param_value_by_copy))]
    {
        *param.value()
    }
}
