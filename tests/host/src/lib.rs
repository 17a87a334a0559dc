// SPDX-License-Identifier: GPL-2.0

//! The module's FIFO core, built for the host from the very files the module
//! uses, and tested against a `VecDeque` model.

#[path = "../../../device/ring.rs"]
mod ring;

#[path = "../../../device/fifo.rs"]
mod fifo;

#[cfg(test)]
mod tests;
