#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-perf.sh: prints the path of a static perf built from the test
# kernel's own source tree (tools/perf), building it once per source tree
# (about a minute). Static, so it runs in the busybox initramfs; every
# optional library is switched off, since perf only has to sample and
# report symbols there.

. "$(dirname "$0")/lib.sh"

src=$(kernel_src_dir)
out=$RS_CACHE/perf/$(basename "$src")
if [ -x "$out/perf" ]; then
	echo "$out/perf"
	exit 0
fi
msg "building a static perf from $src/tools/perf (about a minute)"
mkdir -p "$out"
if ! make -s -C "$src/tools/perf" -f Makefile.perf O="$out" LDFLAGS=-static \
	NO_RUST=1 NO_LIBELF=1 NO_LIBTRACEEVENT=1 NO_JEVENTS=1 NO_LIBPYTHON=1 \
	NO_LIBPERL=1 NO_LIBBPF=1 NO_BPF_SKEL=1 NO_LIBUNWIND=1 NO_LIBDW_DWARF_UNWIND=1 \
	NO_SDT=1 NO_LIBCAP=1 NO_LIBNUMA=1 NO_SLANG=1 NO_GTK2=1 NO_BABELTRACE=1 \
	NO_LIBZSTD=1 NO_LIBLZMA=1 NO_ZLIB=1 NO_AUXTRACE=1 NO_LIBCRYPTO=1 \
	NO_LIBDEBUGINFOD=1 NO_CAPSTONE=1 NO_LIBLLVM=1 NO_DEMANGLE=1 \
	-j"$(nproc)" perf >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	die "perf did not build; full log: $out/build.log"
fi
echo "$out/perf"
