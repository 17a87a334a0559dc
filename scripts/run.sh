#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: build the module, boot the test kernel, load the module, show
# the device working, unload it, and say what happened in plain words.

. "$(dirname "$0")/lib.sh"

KDIR=${KDIR:-$(kernel_build_dir)}
export KDIR
out=$RS_ROOT/build/run
mkdir -p "$out/stage"

msg "building rust_sample.ko against $KDIR"
# The production module: the tour runs no KUnit suites.
KUNIT=n "$RS_ROOT/scripts/stage.sh" "$out/stage"
"$RS_ROOT/scripts/initramfs.sh" "$out/initramfs.cpio" "$out/stage"

msg "booting Linux $(make -s -C "$KDIR" kernelversion) for $RS_ARCH in QEMU"
set +e
"$RS_ROOT/scripts/vm.sh" --mode run --initrd "$out/initramfs.cpio" --out "$out/vm" --timeout 120 \
	--append "kunit.filter_glob=none"
rc=$?
set -e
echo
echo "What the guest did:"
grep -vE '^(RS-EXIT|RS-TEST)' "$out/vm/results.log" | tr -d '\r' | sed 's/^/  /'
echo
if [ "$rc" -eq 0 ]; then
	echo "The module loaded, /dev/rust_sample worked as shown above, and the module unloaded cleanly."
	echo "Full console log: $out/vm/console.log"
else
	echo "Something went wrong (status $rc); the console log is $out/vm/console.log"
	exit "$rc"
fi
