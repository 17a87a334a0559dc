#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make test`: every layer, each counted, ending in one line
# "N passed, M failed". Exits non-zero when anything failed or nothing ran.
#
# Layers: the quality gates (scripts/check.sh), the FIFO core on the host
# (cargo test in tests/host), and the test VM, where the module's KUnit
# suites run at insmod (parsed by the kernel's kunit.py) and the guest
# scripts check the device.

. "$(dirname "$0")/lib.sh"

KDIR=${KDIR:-$(kernel_build_dir)}
export KDIR
# A KDIR that cannot work stops here, with one sentence saying why.
"$RS_ROOT/scripts/check-kdir.sh" "$KDIR"
ksrc=$(cd "$KDIR" && [ -e source ] && readlink -f source || pwd)
out=$RS_ROOT/build/test
rm -rf "$out"
mkdir -p "$out"

passed=0 failed=0
failures=()

# record KIND NAME [WHY]: one passing (KIND=ok) or failing test.
record() {
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$2${3:+: $3}")
	fi
}

phase_start=0
phase() {
	phase_start=$(date +%s)
	msg "$*"
}
phase_end() { msg "  ($(($(date +%s) - phase_start)) s)"; }

# --- Build. ---
phase "building rust_sample.ko against $KDIR and the test programs"
stage=$out/stage
if "$RS_ROOT/scripts/stage.sh" "$stage"; then
	record ok build
else
	record fail build "the module or the test programs did not build"
fi
phase_end

# --- The FIFO core on the host. ---
phase "host tests (cargo test in tests/host)"
if (cd "$RS_ROOT/tests" && CARGO_TARGET_DIR=$RS_ROOT/build/cargo \
	cargo test --locked -p rust_sample_host) >"$out/host.log" 2>&1; then
	:
fi
# Count what cargo reports; a crash before any summary is one failure.
host_summaries=$(grep -E '^test result: ' "$out/host.log" || true)
if [ -z "$host_summaries" ]; then
	record fail host "cargo test produced no result; see $out/host.log"
else
	while read -r _ _ _ p _ f _; do
		for _ in $(seq 1 "${p%;}"); do record ok host; done
		for _ in $(seq 1 "${f%;}"); do record fail host "a host test failed; see $out/host.log"; done
	done <<<"$host_summaries"
fi
phase_end

# --- Quality gates. ---
phase "quality gates (scripts/check.sh)"
while read -r status name why; do
	record "$status" "check:$name" "$why"
done < <("$RS_ROOT/scripts/check.sh" --tap 2>"$out/check.log" || true)
phase_end

# --- The VM. ---
if [ -f "$stage/rust_sample.ko" ] && [ -f "$stage/rs-devtest" ]; then
	phase "booting the test VM"
	"$RS_ROOT/scripts/initramfs.sh" "$out/initramfs.cpio" "$stage"
	set +e
	"$RS_ROOT/scripts/vm.sh" --mode test --initrd "$out/initramfs.cpio" --out "$out/vm" \
		--timeout "${VM_TIMEOUT:-300}" --append "kunit.filter_glob=rust_sample*"
	vm_rc=$?
	set -e
	if [ "$vm_rc" -eq 0 ]; then
		record ok vm-run
	else
		record fail vm-run "the test VM failed (status $vm_rc); console log: $out/vm/console.log"
	fi

	# Guest checks.
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"RS-TEST ok "*) record ok "vm:${line#RS-TEST ok }" ;;
		"RS-TEST not ok "*)
			line=${line#RS-TEST not ok }
			record fail "vm:${line%%:*}" "${line#*: }"
			;;
		esac
	done <"$out/vm/results.log"

	# KUnit, parsed by the kernel's own parser.
	# The module's KTAP: from its first load to its first unload. The boot
	# log before it holds the built-in executor's empty run, which kunit.py
	# would take for the whole result.
	sed -n '/^RS-DMESG-BEGIN/,/^RS-DMESG-END/p' "$out/vm/results.log" | tr -d '\r' |
		sed -n '/rust_sample: loaded, /,/rust_sample: unloading$/p' >"$out/dmesg.log"
	python3 "$ksrc/tools/testing/kunit/kunit.py" parse --json="$out/kunit.json" \
		"$out/dmesg.log" >"$out/kunit.txt" 2>&1 || true
	if [ -s "$out/kunit.json" ]; then
		while read -r status name why; do
			case "$status" in
			ok | fail) record "$status" "$name" "$why" ;;
			esac
		done < <(python3 "$RS_ROOT/scripts/kunit-count.py" "$out/kunit.json" || true)
	else
		record fail kunit "kunit.py parse produced no result; see $out/kunit.txt"
	fi
	phase_end
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "Failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
