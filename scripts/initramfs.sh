#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# initramfs.sh OUT.cpio STAGE_DIR
#
# Packs the test initramfs with the kernel's own usr/gen_init_cpio from the
# committed description tests/vm/initramfs.list. STAGE_DIR holds the built
# module and test programs.

. "$(dirname "$0")/lib.sh"

out=$1
stage=$2
kdir=${KDIR:-$(kernel_build_dir)}

gen=$kdir/usr/gen_init_cpio
if [ ! -x "$gen" ]; then
	# A user's kernel built without it: build it the way usr/Makefile does.
	gen=$RS_ROOT/build/gen_init_cpio
	cc -O2 -o "$gen" "$(kernel_src_dir)/usr/gen_init_cpio.c"
fi

# busybox-static's binary; the dynamic busybox package conflicts with it.
# For another architecture than the host's, Debian's package for it,
# unpacked under the cache (never installed).
if [ "$RS_ARCH" = "$(rs_host_arch)" ]; then
	busybox=/bin/busybox
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
		die "busybox-static is not installed; run 'make kernel' or: apt-get install busybox-static"
else
	deb_arch=$RS_ARCH
	[ "$deb_arch" = x86_64 ] && deb_arch=amd64
	dir=$RS_CACHE/deb/busybox-static-$deb_arch
	DEB_ARCH=$deb_arch "$RS_ROOT/scripts/debian-fetch.sh" busybox-static '1:1.37.0-*' "$dir"
	busybox=$dir/usr/bin/busybox
	[ -x "$busybox" ] || die "Debian's busybox-static for $deb_arch has no usr/bin/busybox"
fi

mkdir -p "$(dirname "$out")"
# The committed list, plus what a stage may hold besides: the modules built
# without trace events (make bench), perf (make profile).
list=$out.list
cp "$RS_ROOT/tests/vm/initramfs.list" "$list"
if [ -d "$stage/production" ]; then
	{
		echo 'dir /lib/modules/production 0755 0 0'
		echo 'file /lib/modules/production/rust_sample.ko ${RS_STAGE}/production/rust_sample.ko 0644 0 0'
	} >>"$list"
fi
if [ -d "$stage/notrace" ]; then
	{
		echo 'dir /lib/modules/notrace 0755 0 0'
		echo 'file /lib/modules/notrace/rust_sample.ko ${RS_STAGE}/notrace/rust_sample.ko 0644 0 0'
		echo 'file /lib/modules/notrace/c_sample.ko ${RS_STAGE}/notrace/c_sample.ko 0644 0 0'
	} >>"$list"
fi
if [ -f "$stage/perf" ]; then
	echo 'file /bin/perf ${RS_STAGE}/perf 0755 0 0' >>"$list"
fi
RS_BUSYBOX=$busybox RS_TESTS=$RS_ROOT/tests/vm RS_STAGE=$stage \
	"$gen" "$list" >"$out.tmp"
mv "$out.tmp" "$out"
