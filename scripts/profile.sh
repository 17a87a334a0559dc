#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make profile`: where every instruction of a hot operation goes, for
# rust_sample and its C twin. The 7.3 test kernel boots under QEMU with
# -icount shift=0 (one guest nanosecond = one instruction) and one vCPU, so
# the run is reproducible; perf, built statically from the kernel's own
# tree, samples cpu-clock every N ns, for each N of PROFILE_PERIODS, while
# rs-bench repeats one operation PROFILE_ITERS times. scripts/profile-report.py turns the
# samples into instructions per operation, by function and by layer
# (driver, abstraction layer, kernel crate, C helpers, core kernel).
#
# Writes build/profile/profile.{md,json} and the profile section of
# Documentation/benchmarks.md.

. "$(dirname "$0")/lib.sh"

[ "$RS_ARCH" = x86_64 ] || die "make profile runs on x86_64 only: its exact trace filters QEMU's log to x86_64's module area, and its perf is built for the host. make bench ARCH=$RS_ARCH gives $RS_ARCH's icount table."

"$RS_ROOT/scripts/provision-kernel.sh"
KDIR=$(kernel_build_dir)
# PROFILE_UPSTREAM=y (make profile UPSTREAM=y): the modules built against
# a copy of the tree with Documentation/patches/ applied, to measure what
# the patches buy. The VM boots that copy's bzImage, which is the
# provisioned one: the patches change inline code only.
if [ "${PROFILE_UPSTREAM:-}" = y ]; then
	patched=$("$RS_ROOT/scripts/upstream-patches.sh") ||
		die "the upstream patches failed: $(printf '%s\n' "$patched" | grep '^fail' | head -n1)"
	KDIR=$(printf '%s\n' "$patched" | sed -n 's/^kdir //p')
fi
export KDIR
out=$RS_ROOT/build/profile${PROFILE_UPSTREAM:+-upstream}
rm -rf "$out"
mkdir -p "$out"

perf=$("$RS_ROOT/scripts/build-perf.sh")
msg "building the production modules and programs"
KUNIT=n "$RS_ROOT/scripts/stage.sh" "$out/stage"
cp "$perf" "$out/stage/perf"
"$RS_ROOT/scripts/initramfs.sh" "$out/initramfs.cpio" "$out/stage"

# Sampling periods, in instructions: primes, so none is a multiple of a
# loop's length; still, on a deterministic clock one period can lock onto
# a loop (the module's share of write+read came out at 145, 181 and 271
# instructions with three single periods), so each operation is sampled
# with all of them and the report pools the samples and shows their spread.
periods=${PROFILE_PERIODS:-7919,8009,9001,9973,10007,11003,12007,13001}
iters=${PROFILE_ITERS:-50000}
ops=${PROFILE_OPS:-write,read,write_read,poll,ioctl}
start=$(date +%s)
msg "profiling $ops, $iters operations each, sampled every $periods instructions"
"$RS_ROOT/scripts/vm.sh" --mode profile --initrd "$out/initramfs.cpio" --out "$out/vm" \
	--timeout 1800 --icount 0 --smp 1 \
	--append "rs.periods=$periods rs.iters=$iters rs.ops=$ops kunit.filter_glob=-" ||
	die "the profile VM failed; console log: $out/vm/console.log"
msg "  $(($(date +%s) - start)) s"

mo=$(KUNIT=n kbuild_out_dir "$KDIR")
llvm-objdump$RS_LLVM -dr --no-show-raw-insn "$mo/rust_sample.ko" >"$out/rust_sample.dis"
llvm-objdump$RS_LLVM -dr --no-show-raw-insn "$mo/tests/c_twin/c_sample.ko" >"$out/c_sample.dis"

# The per-instruction diff maps each sampled instruction to its source line
# through a second build of both modules with line tables (LINES=y), whose
# code must be byte for byte the one that ran.
msg "building the modules again with line tables"
make -s -C "$RS_ROOT" KDIR="$KDIR" KUNIT=n LINES=y modules >"$out/build-lines.log" 2>&1 ||
	die "the line-table build failed; see $out/build-lines.log"
lines=$(KUNIT=n LINES=y kbuild_out_dir "$KDIR")
for m in rust_sample.ko tests/c_twin/c_sample.ko; do
	llvm-objcopy$RS_LLVM -O binary --only-section=.text "$mo/$m" "$out/ran.text"
	llvm-objcopy$RS_LLVM -O binary --only-section=.text "$lines/$m" "$out/lines.text"
	cmp -s "$out/ran.text" "$out/lines.text" ||
		die "$m with line tables has other code than the one profiled: the per-instruction diff would be wrong"
	llvm-objdump$RS_LLVM -dl --no-show-raw-insn "$lines/$m" >"$out/$(basename "$m" .ko).lines.dis"
done
rm -f "$out/ran.text" "$out/lines.text"

python3 "$RS_ROOT/scripts/profile-report.py" "$out/vm/results.log" "$out" "llvm-cxxfilt$RS_LLVM" ||
	die "the profile report failed"
# The exact count: every module instruction of a few operations, traced by
# QEMU one instruction at a time (scripts/vm.sh --trace). N1=0 leaves only
# what rs-bench does around its loop, which the difference cancels.
trace_ops=${PROFILE_TRACE_OPS:-write,read,ioctl,poll}
trace_n=${PROFILE_TRACE_N:-1024}
start=$(date +%s)
msg "tracing $trace_ops, $trace_n operations each, instruction by instruction"
"$RS_ROOT/scripts/vm.sh" --mode trace --initrd "$out/initramfs.cpio" --out "$out/trace-vm" \
	--timeout 1800 --smp 1 --trace "$out/trace.log" \
	--append "rs.ops=$trace_ops rs.n1=0 rs.n2=$trace_n kunit.filter_glob=-" ||
	die "the trace VM failed; console log: $out/trace-vm/console.log"
msg "  $(($(date +%s) - start)) s, $(($(stat -c %s "$out/trace.log") >> 20)) MiB of trace"
RS_LLVM=$RS_LLVM python3 "$RS_ROOT/scripts/profile-annotate.py" "$out/trace-vm/results.log" \
	"$out/trace.log" "$out" ||
	die "the per-instruction report failed"
rm -f "$out/trace.log"

page=$RS_ROOT/Documentation/benchmarks.md
if [ "${PROFILE_UPSTREAM:-}" = y ]; then
	# Only the totals, beside the stock ones: the rest of the page stays
	# the measurement of the kernel as Debian ships it.
	if grep -q '<!-- upstream:begin -->' "$page"; then
		{
			echo "Generated by \`make profile UPSTREAM=y\` on $(date -u +%Y-%m-%d), commit $(git -C "$RS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown),"
			echo "with $(cd "$RS_ROOT/Documentation/patches" && ls -- *.patch | sed 's/^/`/; s/$/`/' | paste -sd, -):"
			echo
			awk '/^### `/ { op = $0; sub(/^### /, "", op) } /^Instructions per operation in the drivers/ { sub(/ Functions that ran:$/, ""); print "- " op ": " $0 }' "$out/annotate.md"
		} >"$out/generated.md"
		python3 "$RS_ROOT/scripts/doc-section.py" "$page" upstream "$out/generated.md"
	fi
elif grep -q '<!-- profile:begin -->' "$page"; then
	{
		echo "Generated by \`make profile\` on $(date -u +%Y-%m-%d), Linux $(make -s -C "$KDIR" kernelversion),"
		echo "LLVM=$RS_LLVM$(inline_helpers && echo ', inline helpers'), commit $(git -C "$RS_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)."
		echo
		cat "$out/profile.md"
	} >"$out/generated.md"
	python3 "$RS_ROOT/scripts/doc-section.py" "$page" profile "$out/generated.md"
	python3 "$RS_ROOT/scripts/doc-section.py" "$page" annotate "$out/annotate.md"
fi
msg "results: $out/profile.md, $out/profile.json (and Documentation/benchmarks.md)"
