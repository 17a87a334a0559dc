#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test-doctor.sh WORK_DIR: scripts/doctor.sh against trees that are broken
# in known ways, each of which must fail with its one sentence. Prints "ok
# doctor:NAME" or "fail doctor:NAME WHY" per case, for scripts/test.sh.
#
# The good trees are checked where they are built (build:doctor in
# scripts/test-kernel.sh). The broken ones are made from the provisioned 7.3
# tree as symlink farms, so nothing is copied or rebuilt:
#
#   missing        a KDIR that does not exist
#   no-rust        .config without CONFIG_RUST
#   no-rmeta       rust/*.rmeta removed
#   make-no-rmeta  `make` against that tree stops at the doctor, before Kbuild
#   wrong-rustc    the tree's rustc is 1.95 (host), the build's Debian's 1.85
#   wrong-arch     ARCH=arm64 against the x86_64 tree
#   cross-gcc      an arm64 tree built with GCC, on this x86_64 host
#   debian-headers Debian's own linux-headers for 7.3: CONFIG_RUST=y, no
#                  Rust metadata

. "$(dirname "$0")/lib.sh"

work=$1
rm -rf "$work"
mkdir -p "$work"
# The x86_64 tree, whatever ARCH the run was started with.
export ARCH=x86_64
good=$(KVER=7.3 RUST_TOOLCHAIN=host "$RS_ROOT/scripts/kernel-env.sh" kdir)
[ -f "$good/.rust_sample-complete" ] || { echo "fail doctor:setup the 7.3 tree is not provisioned: $good"; exit 0; }

# farm NAME [EXCLUDE_GLOB_IN_RUST]: a tree of symlinks to the good one.
farm() {
	local dir=$work/$1 e
	mkdir -p "$dir/rust"
	for e in "$good"/* "$good"/.config; do
		[ "$(basename "$e")" = rust ] || ln -s "$e" "$dir/"
	done
	for e in "$good"/rust/*; do
		# shellcheck disable=SC2053
		[[ -n "${2:-}" && "$(basename "$e")" == $2 ]] || ln -s "$e" "$dir/rust/"
	done
	echo "$dir"
}

# expect NAME SENTENCE CMD...: CMD must fail and print SENTENCE.
expect() {
	local name=$1 sentence=$2 rc=0
	shift 2
	"$@" >"$work/$name.log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "fail doctor:$name the doctor passed a broken tree (log: $work/$name.log)"
	elif ! grep -qF -- "$sentence" "$work/$name.log"; then
		echo "fail doctor:$name it did not say: $sentence (log: $work/$name.log)"
	else
		echo "ok doctor:$name"
	fi
}

doctor=$RS_ROOT/scripts/doctor.sh

expect missing "KDIR=$work/nowhere does not exist." "$doctor" "$work/nowhere"

dir=$(farm no-rust)
rm "$dir/.config"
grep -v '^CONFIG_RUST=y$' "$good/.config" >"$dir/.config"
expect no-rust "the kernel is configured without CONFIG_RUST=y" "$doctor" "$dir"

dir=$(farm no-rmeta '*.rmeta')
expect no-rmeta "CONFIG_RUST=y, but the tree has no Rust metadata (rust/*.rmeta)" "$doctor" "$dir"
# `make` against it: the doctor's sentence, and Kbuild never started (the
# farm's Makefile reaches the good tree's output, so Kbuild would succeed).
mo=$RS_ROOT/build/kbuild/$(basename "$dir")
rm -rf "$mo"
expect make-no-rmeta "CONFIG_RUST=y, but the tree has no Rust metadata (rust/*.rmeta)" \
	make -s -C "$RS_ROOT" KDIR="$dir" modules
if [ -n "$(find "$mo" -name '*.o' 2>/dev/null)" ]; then
	echo "fail doctor:make-before-kbuild Kbuild compiled against the broken tree (log: $work/make-no-rmeta.log)"
else
	echo "ok doctor:make-before-kbuild"
fi
rm -rf "$mo"

expect wrong-rustc "the tree was built with '$(grep -oP '^CONFIG_RUSTC_VERSION_TEXT="\K[^"]*' "$good/.config")', but the build would use 'rustc 1.85.0" \
	env RUST_TOOLCHAIN=1.85 "$doctor" "$good"

# Architecture: ARCH= that contradicts the tree, and a GCC-built tree of
# another architecture (its .config says arm64 and GCC), which the module's
# LLVM build cannot use.
expect wrong-arch "KDIR=$good is an x86_64 tree, but ARCH=arm64." \
	env ARCH=arm64 "$doctor" "$good"
dir=$(farm cross-gcc)
rm "$dir/.config"
{
	sed -e 's/^CONFIG_X86_64=y$/CONFIG_ARM64=y/' -e '/^CONFIG_CC_IS_CLANG=y$/d' "$good/.config"
	echo CONFIG_CC_IS_GCC=y
} >"$dir/.config"
expect cross-gcc "is an arm64 tree built with GCC; rust_sample cross-builds with LLVM only" \
	env -u ARCH "$doctor" "$dir"

headers=$RS_CACHE/deb/linux-headers-7.3.4+deb13-amd64
"$RS_ROOT/scripts/debian-fetch.sh" linux-headers-7.3.4+deb13-amd64 7.3.4-1~bpo13+1 "$headers" >&2
expect debian-headers "CONFIG_RUST=y, but the tree has no Rust metadata (rust/*.rmeta)" \
	"$doctor" "$headers/usr/src/linux-headers-7.3.4+deb13-amd64"
grep -qF "Debian's linux-headers packages ship no Rust metadata" "$work/debian-headers.log" &&
	echo "ok doctor:debian-hint" ||
	echo "fail doctor:debian-hint the Debian tree's fix does not name Debian (log: $work/debian-headers.log)"
