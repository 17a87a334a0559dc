#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# test-kernel.sh OUT_DIR: every kernel-side layer against one kernel (KDIR, or
# the provisioned one for KVER and FLAVOUR). Prints one line per test on
# stdout, "ok NAME" or "fail NAME WHY"; progress goes to stderr.
# scripts/test.sh counts them.
#
# With FLAVOUR=debug the VM also runs the reliability phases (stress, fuzz,
# fault injection, lifecycle races, kmemleak); their figures go to
# OUT_DIR/figures.txt. Tunables: STRESS_SECONDS, FUZZ_CALLS, SEED.
#
# Layers: the build, the quality gates (scripts/check.sh), and the test VM,
# where the module's KUnit suites run at insmod (parsed by the kernel's own
# kunit.py), rs-devtest checks every semantic, and the guest script checks
# loading, parameters and unloading.

. "$(dirname "$0")/lib.sh"

out=$1
if [ -z "${KDIR:-}" ]; then
	"$RS_ROOT/scripts/provision-kernel.sh" >&2
	KDIR=$(kernel_build_dir)
fi
export KDIR
ksrc=$(cd "$KDIR" && [ -e source ] && readlink -f source || pwd)
rm -rf "$out"
mkdir -p "$out"
# A KDIR that cannot work stops here, with one sentence per problem; the
# doctor's verdict on a tree that should be good is a test of its own.
if "$RS_ROOT/scripts/doctor.sh" "$KDIR" >"$out/doctor.log" 2>&1; then
	echo "ok build:doctor"
else
	echo "fail build:doctor $(grep -m1 '^  NO' "$out/doctor.log" | sed 's/^  NO *//')"
	cat "$out/doctor.log" >&2
	exit 1
fi

phase_start=0
phase() {
	phase_start=$(date +%s)
	msg "$*"
}
phase_end() { msg "  ($(($(date +%s) - phase_start)) s)"; }

# --- Build. ---
phase "building rust_sample.ko against $KDIR and the test programs"
stage=$out/stage
# The debug kernel's fault injection also needs the production module.
[ "$RS_FLAVOUR" = debug ] && export STAGE_PRODUCTION=y
if "$RS_ROOT/scripts/stage.sh" "$stage" >&2; then
	echo "ok build"
else
	echo "fail build the module or the test programs did not build"
fi
phase_end

# --- Quality gates (the same source checked against this kernel's crate and
# with its toolchain's clippy). ---
phase "quality gates (scripts/check.sh)"
# check.sh prints one line per gate and exits 1 when one fails; fewer
# than its five lines means it died on the way, which counts too.
gates=$("$RS_ROOT/scripts/check.sh") || true
printf '%s\n' "$gates" | grep -E '^(ok|fail) ' || true
n=$(printf '%s\n' "$gates" | grep -cE '^(ok|fail) check:' || true)
[ "$n" -eq 5 ] || echo "fail check:incomplete scripts/check.sh reported $n of 5 gates"
phase_end

# --- The kernel-crate patches we propose (Documentation/patches/), on the
# tree they are written for: the provisioned 7.3 test kernel (x86_64's; the
# patches touch no architecture's code, and their check builds a kernel's
# rust/ anew, which arm64's run has no time for). ---
if [ "$RS_FLAVOUR" = test ] && [ "$KVER" = 7.3 ] && [ "$RS_ARCH" = x86_64 ] && [ "$KDIR" = "$(kernel_build_dir)" ]; then
	phase "upstream patches (scripts/upstream-patches.sh)"
	patched=$("$RS_ROOT/scripts/upstream-patches.sh") || true
	printf '%s\n' "$patched" | grep -E '^(ok|fail) ' || true
	n=$(printf '%s\n' "$patched" | grep -cE '^(ok|fail) patches:' || true)
	[ "$n" -eq 3 ] || echo "fail patches:incomplete scripts/upstream-patches.sh reported $n of 3 checks"
	phase_end
fi

# --- The VM. ---
[ -f "$stage/rust_sample.ko" ] && [ -f "$stage/rs-devtest" ] || exit 0
phase "booting the test VM"
"$RS_ROOT/scripts/initramfs.sh" "$out/initramfs.cpio" "$stage"
append="kunit.filter_glob=rust_sample*"
mode=test timeout_s=${VM_TIMEOUT:-300} allow=
if [ "$RS_FLAVOUR" = debug ]; then
	stress=${STRESS_SECONDS:-30} fuzz=${FUZZ_CALLS:-100000}
	# Longer reliability runs get more time: each of the two drivers
	# stresses for STRESS_SECONDS, then fuzzes at about 4,000 calls a
	# second per device (counted at half that here).
	mode=debug timeout_s=${VM_TIMEOUT:-$((1500 + 2 * (stress - 30) + fuzz / 1000))}
	allow=$RS_FAULT_WARNINGS
	append+=" rs.stress=$stress rs.fuzz=$fuzz rs.seed=${SEED:-1}"
fi
set +e
"$RS_ROOT/scripts/vm.sh" --mode "$mode" --initrd "$out/initramfs.cpio" --out "$out/vm" \
	--timeout "$timeout_s" --append "$append" --allow "$allow" >&2
vm_rc=$?
set -e
sed -n 's/^RS-FIGURE //p' "$out/vm/results.log" | tr -d '\r' >"$out/figures.txt"
echo "vm_seconds $(($(date +%s) - phase_start))" >>"$out/figures.txt"
# Guest checks and rs-devtest.
guest=$(tr -d '\r' <"$out/vm/results.log" | while IFS= read -r line; do
	case "$line" in
	"RS-TEST ok "*) echo "ok vm:${line#RS-TEST ok }" ;;
	"RS-TEST not ok "*)
		# NAME: WHY, where NAME may itself hold a colon (c_sample:NAME).
		line=${line#RS-TEST not ok }
		echo "fail vm:${line%%: *} ${line#*: }"
		;;
	esac
done)
[ -z "$guest" ] || printf '%s\n' "$guest"

# The VM itself: a timeout, a guest that stopped without a result or a
# kernel splat. Status 1 with failures named above is those failures, not
# counted twice; status 1 with none named is a failure of its own.
if [ "$vm_rc" -eq 0 ] || { [ "$vm_rc" -eq 1 ] && printf '%s\n' "$guest" | grep -q '^fail '; }; then
	echo "ok vm-run"
else
	why="the test VM failed (status $vm_rc)"
	[ ! -s "$out/vm/splat.txt" ] || why="the kernel reported: $(head -n1 "$out/vm/splat.txt" | sed 's/^[0-9]*:\[ *[0-9.]*\] //')"
	echo "fail vm-run $why; console log: $out/vm/console.log"
fi

# KUnit, parsed by the kernel's own parser: the log from the module's load to
# its unload. The boot log before it holds the built-in executor's empty run,
# which kunit.py would take for the whole result.
sed -n '/^RS-DMESG-BEGIN/,/^RS-DMESG-END/p' "$out/vm/results.log" | tr -d '\r' |
	sed -n '/rust_sample: loaded, /,/rust_sample: unloading$/p' >"$out/dmesg.log"
python3 "$ksrc/tools/testing/kunit/kunit.py" parse --json="$out/kunit.json" \
	"$out/dmesg.log" >"$out/kunit.txt" 2>&1 || true
if [ -s "$out/kunit.json" ]; then
	# Every line counts, skips included; a crash of the counter is a
	# failure of its own, not a silent loss of every KUnit result.
	if counted=$(python3 "$RS_ROOT/scripts/kunit-count.py" "$out/kunit.json" "$out/dmesg.log" 2>"$out/kunit-count.err"); then
		:
	elif [ -z "$counted" ] || grep -q Traceback "$out/kunit-count.err"; then
		counted="fail kunit:count kunit-count.py failed: $(tail -n 1 "$out/kunit-count.err")"
	fi
	printf '%s\n' "$counted" | grep -E '^(ok|fail|skip) ' ||
		echo "fail kunit:count kunit-count.py printed no result"
else
	echo "fail kunit kunit.py parse produced no result; see $out/kunit.txt"
fi
phase_end
