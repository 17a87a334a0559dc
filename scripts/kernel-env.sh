#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-env.sh arch|kdir|ksrc|key|llvm|rustvars|toolchain
#
# Prints where the provisioned kernel for KVER/FLAVOUR lives, without
# building anything. The Makefile uses it for its KDIR default.

. "$(dirname "$0")/lib.sh"

case "${1:-}" in
arch) echo "$RS_ARCH" ;;
kdir) kernel_build_dir ;;
ksrc) kernel_src_dir ;;
key) kernel_key ;;
llvm) echo "$RS_LLVM" ;;
rustvars) rust_make_vars | tr '\n' ' ' ;;
toolchain) echo "$RS_ARCH, rustc $(rustc_semver) ($([ "$RS_TOOLCHAIN" = host ] && echo host || echo Debian)), LLVM=$RS_LLVM$(inline_helpers && echo ", inline helpers")" ;;
*) die "usage: kernel-env.sh arch|kdir|ksrc|key|llvm|rustvars|toolchain" ;;
esac
