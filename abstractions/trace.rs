// SPDX-License-Identifier: GPL-2.0

//! The module's trace events, `rust_sample:write`, `rust_sample:read` and
//! `rust_sample:wait`, as safe functions.
//!
//! C header: [`rust_sample_events.h`](rust_sample_events.h) (the events, in C, as all
//! trace events are; `rust_sample_events.c` instantiates them).
//!
//! Why this exists next to `kernel::tracepoint::declare_trace!`: that macro
//! names the tracepoint's two symbols through `kernel::bindings`, which
//! holds only the events that the kernel's own `bindings_helper.h`
//! includes (the Rust binder's). An out-of-tree module's events are not
//! there. So [`module_trace_events!`] declares the two symbols itself and
//! then does exactly what `declare_trace!` does: a static branch on the
//! tracepoint's key (with `CONFIG_JUMP_LABEL`, as on the arm64 test kernel,
//! a patched-out jump while the event is off; without it, as on the x86_64
//! test kernels, a load and a test of the key), and the call into C only
//! once it is on. The
//! wrappers are safe: the C side takes plain values and may run in any
//! context a read or write runs in.

/// Declares, for each event, its `struct tracepoint` and its
/// `rust_do_trace_<event>()` from `rust_sample_events.c`, and a safe function of
/// the same name and arguments that fires the event.
///
/// The argument types must match `TP_PROTO` in `rust_sample_events.h`.
macro_rules! module_trace_events {
    ($($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?);)*) => {
        kernel::macros::paste! {
            #[cfg(all(CONFIG_TRACEPOINTS, not(rs_no_trace_events)))]
            extern "C" {
                $(
                    // bindgen's `struct tracepoint` can reach types the
                    // lint cannot prove FFI-safe: with
                    // CONFIG_HAVE_STATIC_CALL_INLINE (x86_64), its
                    // `static_call_key` reaches `struct module` (through
                    // `static_call_mod`), which holds structs bindgen
                    // emits without fields. The
                    // static is only ever used by its address, as bindgen's
                    // own declarations of tracepoints are. `allow`, not
                    // `expect`: whether it fires depends on the
                    // architecture and on `struct module`'s contents (not
                    // on arm64's test kernel), the case
                    // Documentation/rust/coding-guidelines.rst gives for
                    // `allow`. Only here: the prototype below stays linted.
                    #[allow(improper_ctypes)]
                    static mut [< __tracepoint_ $name >]: kernel::bindings::tracepoint;
                    fn [< rust_do_trace_ $name >]($($arg: $ty),*);
                )*
            }
            $(
                $(#[$attr])*
                #[inline(always)]
                $vis fn $name($($arg: $ty),*) {
                    #[cfg(all(CONFIG_TRACEPOINTS, not(rs_no_trace_events)))]
                    {
                        // SAFETY: The symbol is a `struct tracepoint` that
                        // `DEFINE_TRACE` in rust_sample_events.c defines for the
                        // life of the module, and reading its static key
                        // is always allowed (`kernel::tracepoint`).
                        let on = unsafe {
                            kernel::jump_label::static_branch_unlikely!(
                                [< __tracepoint_ $name >],
                                kernel::bindings::tracepoint,
                                key
                            )
                        };
                        if on {
                            // SAFETY: `DEFINE_RUST_DO_TRACE`'s wrapper of
                            // the probes takes plain values of the types
                            // `TP_PROTO` names (kept equal by review, as any
                            // C prototype) and may run in any context the
                            // driver's file operations run in.
                            unsafe { [< rust_do_trace_ $name >]($($arg),*) };
                        }
                    }
                    // A kernel without tracepoints, or `make TRACE=n`.
                    #[cfg(any(not(CONFIG_TRACEPOINTS), rs_no_trace_events))]
                    {
                        $(let _ = $arg;)*
                    }
                }
            )*
        }
    };
}

module_trace_events! {
    /// `rust_sample:write`: device `dev` stored `bytes`, leaving `len` in
    /// its FIFO.
    pub(crate) fn write(dev: u32, bytes: usize, len: usize);
    /// `rust_sample:read`: device `dev` gave out `bytes`, leaving `len`.
    pub(crate) fn read(dev: u32, bytes: usize, len: usize);
    /// `rust_sample:wait`: a reader (`writer` false) or a writer of device
    /// `dev` that asked for `bytes` goes to sleep with `len` in the FIFO.
    pub(crate) fn wait(dev: u32, writer: bool, bytes: usize, len: usize);
}
