#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make coverage`: which lines of device/ and abstractions/ the tests run.
# Boots the coverage kernel (the test kernel plus KCOV for the modules alone
# and failslab, scripts/config/coverage.config) with rust_sample and the C
# twin built for KCOV, rust_sample with line tables (COVERAGE=y); runs the
# test mode's suites on both drivers, stress on two devices, the fault
# sweeps, and the random and the KCOV-guided fuzzer on each driver, with
# every rs-devtest task recording the module's PCs
# (tests/userspace/src/kcov.rs); and maps the PCs to source lines with the
# module's line tables (scripts/coverage-report.py).
#
# Writes build/coverage/coverage.rst (per file: lines with code, hit,
# missed, and every missed line; the unsafe blocks that ran; coverage over
# time of both fuzzers) and, when every test passed, puts it into
# Documentation/testing.rst. STRESS_SECONDS (10), FUZZ_CALLS (20000 per
# fuzzer and driver) and SEED (1) as for make test-debug.

export FLAVOUR=coverage
. "$(dirname "$0")/lib.sh"

[ "$RS_ARCH" = x86_64 ] || die "make coverage runs on x86_64 only (its KCOV kernel is x86_64's); ARCH=$RS_ARCH has the suite of make test."

"$RS_ROOT/scripts/provision-kernel.sh"
KDIR=$(kernel_build_dir)
export KDIR
out=$RS_ROOT/build/coverage
rm -rf "$out"
mkdir -p "$out"

msg "building rust_sample.ko for KCOV against $KDIR"
# The module as users load it: the KUnit build would add the suites' own
# copies of the FIFO code (monomorphised for the tests, run in KUnit's
# kthreads, where no test's KCOV records) as lines nobody can reach.
export KUNIT=n COVERAGE=y
"$RS_ROOT/scripts/stage.sh" "$out/stage"
"$RS_ROOT/scripts/initramfs.sh" "$out/initramfs.cpio" "$out/stage"
ko=$(kbuild_out_dir "$KDIR")/rust_sample.ko
grep -q __sanitizer_cov_trace_pc <(llvm-nm$RS_LLVM "$ko") ||
	die "$ko is not instrumented for KCOV"

msg "running the suite with KCOV (about a minute)"
set +e
"$RS_ROOT/scripts/vm.sh" --mode coverage --initrd "$out/initramfs.cpio" --out "$out/vm" \
	--timeout 900 --allow "$RS_FAULT_WARNINGS" \
	--append "nokaslr rs.stress=${STRESS_SECONDS:-10} rs.fuzz=${FUZZ_CALLS:-20000} rs.seed=${SEED:-1}"
rc=$?
set -e
[ "$rc" -eq 0 ] || msg "the coverage VM ended with status $rc (console: $out/vm/console.log)"
tr -d '\r' <"$out/vm/results.log" >"$out/results.log"
failed=$(grep -c '^RS-TEST not ok' "$out/results.log" || true)
passed=$(grep -c '^RS-TEST ok' "$out/results.log" || true)
# The guest's files, each after an "RS-KCOV-FILE suite/PID" line.
mkdir -p "$out/kcov/suite" "$out/kcov/fuzz"
awk -v dir="$out/kcov" '
	/^RS-KCOV-END/ { f = ""; next }
	/^RS-KCOV-FILE / { f = dir "/" $2; printf "" >f; next }
	f != "" { print >f }
' "$out/results.log"
ls "$out/kcov/suite" | grep -q . || die "no coverage came back from the guest; see $out/vm/"

python3 "$RS_ROOT/scripts/coverage-report.py" --ko "$ko" --kcov "$out/kcov" \
	--llvm "$RS_LLVM" --root "$RS_ROOT" --tests "$passed passed, $failed failed" \
	--out "$out/coverage.rst"
cat "$out/coverage.rst"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] ||
	die "$failed tests failed under coverage; the figures above are from that run (not put into Documentation/testing.rst)"
python3 "$RS_ROOT/scripts/coverage-report.py" --splice "$RS_ROOT/Documentation/testing.rst" \
	--out "$out/coverage.rst"
msg "results: $out/coverage.rst (and Documentation/testing.rst)"
