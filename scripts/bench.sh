#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: rust_sample against its C twin, pipe(2) and /dev/zero ->
# /dev/null, on one kernel in one VM per clock mode:
#
#   wall     QEMU TCG as usual: host time, noisy
#   icount   QEMU -icount shift=0,sleep=off: guest time counts instructions,
#            so the Rust/C ratios are free of host noise (and slow to get)
#
# Writes build/bench/results.json, build/bench/results.md (the table, with
# the Rust/C ratio and module sizes) and build/bench/throughput.svg. Every
# run measures anew; nothing is copied from an earlier run.

. "$(dirname "$0")/lib.sh"

"$RS_ROOT/scripts/provision-kernel.sh"
KDIR=$(kernel_build_dir)
export KDIR
out=$RS_ROOT/build/bench
rm -rf "$out"
mkdir -p "$out"

msg "building the modules and programs"
"$RS_ROOT/scripts/stage.sh" "$out/stage"
"$RS_ROOT/scripts/initramfs.sh" "$out/initramfs.cpio" "$out/stage"

: >"$out/records.jsonl"
for mode in ${BENCH_MODES:-wall icount}; do
	start=$(date +%s)
	case $mode in
	wall) icount=() scale=${WALL_SCALE:-1} timeout_s=900 ;;
	icount) icount=(--icount 0) scale=${ICOUNT_SCALE:-16} timeout_s=1800 ;;
	esac
	msg "benchmark, $mode clock (scale 1/$scale)"
	"$RS_ROOT/scripts/vm.sh" --mode bench --initrd "$out/initramfs.cpio" --out "$out/vm-$mode" \
		--timeout "$timeout_s" "${icount[@]}" \
		--append "rs.benchmode=$mode rs.benchscale=$scale kunit.filter_glob=-" ||
		die "the $mode benchmark VM failed; console log: $out/vm-$mode/console.log"
	grep -q '^RS-BENCH-DONE' "$out/vm-$mode/results.log" ||
		die "the $mode benchmark did not finish; see $out/vm-$mode/"
	sed -n 's/^RS-BENCH //p' "$out/vm-$mode/results.log" | tr -d '\r' >>"$out/records.jsonl"
	msg "  $mode: $(($(date +%s) - start)) s"
done

# Module sizes: text/data/bss of each .ko, as `size` reports them.
mo=$(kbuild_out_dir "$KDIR")
size "$mo/rust_sample.ko" "$mo/tests/c_twin/c_sample.ko" >"$out/size.txt"
# Out-of-line helper calls on the Rust hot path: C inline functions (lock,
# unlock, ...) that rustc cannot inline across the clang/rustc LLVM gap.
llvm-objdump-19 -dr --no-show-raw-insn "$mo/rust_sample.ko" >"$out/rust_sample.dis"
llvm-objdump-19 -dr --no-show-raw-insn "$mo/tests/c_twin/c_sample.ko" >"$out/c_sample.dis"

(cd "$RS_ROOT/tests" && CARGO_TARGET_DIR=$RS_ROOT/build/cargo \
	cargo run -q --locked --release -p rs-bench-report -- "$out") ||
	die "the report did not build"
msg "results: $out/results.json, $out/results.md, $out/throughput.svg"
