#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check-kdir.sh KDIR
#
# Refuses, in one sentence, a KDIR the module cannot be built against, before
# Kbuild or rustc can bury the reason under a wall of errors.

set -euo pipefail
kdir=$1

fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ -d "$kdir" ] ||
	fail "KDIR=$kdir does not exist; run 'make kernel' to provision the test kernel, or pass KDIR=<your Rust-enabled kernel build directory>."
[ -f "$kdir/Makefile" ] && [ -f "$kdir/.config" ] ||
	fail "KDIR=$kdir is not a configured kernel build directory (no Makefile or .config)."
grep -qx 'CONFIG_RUST=y' "$kdir/.config" ||
	fail "the kernel at KDIR=$kdir is built without CONFIG_RUST=y; rust_sample needs Linux 7.2 or 7.3 built with CONFIG_RUST=y."
[ -f "$kdir/Module.symvers" ] && [ -f "$kdir/rust/libkernel.rmeta" -o -f "$kdir/rust/kernel.o" ] ||
	fail "the kernel at KDIR=$kdir is not built yet; run 'make modules' there first (it writes Module.symvers and the Rust crates)."
version=$(make -s -C "$kdir" kernelversion 2>/dev/null || true)
case "$version" in
7.2 | 7.2.* | 7.3 | 7.3.*) ;;
*) fail "the kernel at KDIR=$kdir is Linux ${version:-of unknown version}; rust_sample supports Linux 7.2 and 7.3 (with CONFIG_RUST=y)." ;;
esac
