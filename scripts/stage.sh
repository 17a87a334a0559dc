#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# stage.sh STAGE_DIR
#
# Builds what goes into the test VM besides busybox: rust_sample.ko and its
# C twin c_sample.ko (against KDIR) and the static userspace test programs
# for KDIR's architecture, and copies them to STAGE_DIR. KUNIT=y (the
# default here) builds the test module, with its KUnit suites; `make bench`
# passes KUNIT=n.

. "$(dirname "$0")/lib.sh"

stage=$1
KDIR=${KDIR:-$(kernel_build_dir)}
mkdir -p "$stage"

export KUNIT=${KUNIT:-y}
make -s -C "$RS_ROOT" KDIR="$KDIR" KUNIT="$KUNIT" modules >"$stage/build.log" 2>&1 ||
	{ cat "$stage/build.log" >&2; die "rust_sample.ko did not build"; }
cp "$(kbuild_out_dir "$KDIR")/rust_sample.ko" "$(kbuild_out_dir "$KDIR")/tests/c_twin/c_sample.ko" "$stage/"
# The debug kernel's fault injection loads the production module (no KUnit
# suites), the one users load. (On a kernel with CONFIG_JUMP_LABEL the test
# build's KUnit code also holds jump-label entries for the kernel's
# kunit_running key, and the kernel WARNs when their bookkeeping cannot be
# allocated at load: its reaction to the injected failure, not the
# driver's.)
if [ "${STAGE_PRODUCTION:-n}" = y ] && [ "$KUNIT" = y ]; then
	make -s -C "$RS_ROOT" KDIR="$KDIR" KUNIT=n modules >"$stage/build-production.log" 2>&1 ||
		{ cat "$stage/build-production.log" >&2; die "the production module did not build"; }
	mkdir -p "$stage/production"
	cp "$(KUNIT=n kbuild_out_dir "$KDIR")/rust_sample.ko" "$stage/production/"
fi
# make bench also measures both drivers built without their trace events.
if [ "${STAGE_NOTRACE:-n}" = y ]; then
	make -s -C "$RS_ROOT" KDIR="$KDIR" KUNIT="$KUNIT" TRACE=n modules >"$stage/build-notrace.log" 2>&1 ||
		{ cat "$stage/build-notrace.log" >&2; die "the modules without trace events did not build"; }
	mkdir -p "$stage/notrace"
	cp "$(kbuild_out_dir "$KDIR")-notrace/rust_sample.ko" \
		"$(kbuild_out_dir "$KDIR")-notrace/tests/c_twin/c_sample.ko" "$stage/notrace/"
fi

# Static, so it runs in a busybox initramfs with no libc: glibc's static
# build on x86_64, musl on arm64 (rustup's target ships musl and its start
# files, and rust-lld links for any architecture, so a cross build needs
# no cross C toolchain; scripts/provision-host.sh adds the target).
target=$RS_RUST_TARGET
(cd "$RS_ROOT/tests" &&
	CARGO_TARGET_DIR=$RS_ROOT/build/cargo RUSTFLAGS="-C target-feature=+crt-static" \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
		cargo build -q --locked --release -p rs-devtest -p rs-bench --target "$target") >&2 ||
	die "the userspace test programs did not build for $target"
cp "$RS_ROOT/build/cargo/$target/release/rs-devtest" "$RS_ROOT/build/cargo/$target/release/rs-bench" "$stage/"
