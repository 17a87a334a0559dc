#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make test`: every layer, each counted, ending in one line
# "N passed, M failed". Exits non-zero when anything failed or nothing ran.
#
# The host tests run once; the kernel-side layers (scripts/test-kernel.sh)
# run once per supported kernel: KVERS (default "7.3 7.2 7.3/arm64",
# each VERSION or VERSION/ARCH), or the one KDIR given. Then the debug
# kernel run (make test-debug): the full suite plus stress, fuzzing, fault
# injection, lifecycle races and kmemleak, on a KASAN/lockdep/kmemleak/UBSAN
# kernel. SUITES selects: "host kernels doctor
# debug" (doctor: scripts/test-doctor.sh).

. "$(dirname "$0")/lib.sh"

out=$RS_ROOT/build/test
mkdir -p "$out"
passed=0 failed=0 skipped=0
failures=()

# Every test's name, for the summary of distinct tests and configurations.
names=$out/names.txt
: >"$names"

# record ok|fail NAME [WHY]
record() {
	echo "$2" >>"$names"
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$2${3:+: $3}")
	fi
}

suites=${SUITES:-host kernels doctor debug}

# at_least LAYER FLAVOUR COUNT LABEL: a failure when LAYER reported fewer
# tests than tests/expected-counts asks of it.
at_least() {
	local min
	min=$(awk -v l="$1" -v f="$2" '!/^#/ && $1 == l && $2 == f { print $3 }' "$RS_ROOT/tests/expected-counts")
	if [ -n "$min" ] && [ "$3" -lt "$min" ]; then
		record fail "$4:$1" "reported $3 tests, expected at least $min (tests/expected-counts)"
	fi
}
has() { [[ " $suites " == *" $1 "* ]]; }

# --- The FIFO core on the host. ---
host_tests() {
	local start summaries
	start=$(date +%s)
	msg "host tests (cargo test: tests/host, and the benchmark statistics)"
	local rc=0
	(cd "$RS_ROOT/tests" && CARGO_TARGET_DIR=$RS_ROOT/build/cargo \
		cargo test --locked -p rust_sample_host -p rs-bench-report) >"$out/host.log" 2>&1 || rc=$?
	# Count what cargo reports; a crash before any summary is one failure.
	summaries=$(grep -E '^test result: ' "$out/host.log" || true)
	if [ -z "$summaries" ]; then
		record fail host "cargo test produced no result; see $out/host.log"
	else
		local n=0
		while read -r _ _ _ p _ f _; do n=$((n + ${p%;} + ${f%;})); done <<<"$summaries"
		at_least host - "$n" host
		while read -r _ _ _ p _ f _; do
			for _ in $(seq 1 "${p%;}"); do record ok host; done
			for _ in $(seq 1 "${f%;}"); do record fail host "a host test failed; see $out/host.log"; done
		done <<<"$summaries"
		# A failure cargo reports only through its status (a test binary
		# that crashed after some summaries) still counts.
		if [ "$rc" -ne 0 ] && ! grep -qE '^test result: FAILED' "$out/host.log"; then
			record fail host "cargo test exited with $rc; see $out/host.log"
		fi
	fi
	msg "  ($(($(date +%s) - start)) s)"
}
if has host; then
	host_tests
fi

# --- Each kernel. ---
# Each kernel build comes with a compiler of its own, so the kernels that
# `make test` builds anyway cover three: 7.3 with the host's rustc, 7.2 with
# Debian's 1.85 (the kernel's minimum), the debug kernel with Debian's 1.96.
# RUST_TOOLCHAIN, when set, applies to every kernel.
toolchain_for() {
	if [ -n "${RUST_TOOLCHAIN:-}" ]; then
		echo "$RUST_TOOLCHAIN"
	else
		case "$1" in
		7.2) echo 1.85 ;;
		debug) echo 1.96 ;;
		*) echo host ;;
		esac
	fi
}
configs=()

run_kernel() {
	local label=$1
	local results
	start=$(date +%s)
	configs+=("$label: $("$RS_ROOT/scripts/kernel-env.sh" toolchain)")
	msg "=== kernel $label (${configs[-1]#*: })"
	results=$("$RS_ROOT/scripts/test-kernel.sh" "$out/$label") || {
		record fail "$label" "the kernel-side tests stopped early (see above)"
		return
	}
	while read -r status name why; do
		case "$status" in
		ok | fail) record "$status" "$label:$name" "$why" ;;
		skip) skipped=$((skipped + 1)) ;;
		esac
	done <<<"$results"
	# Each layer must report at least as many tests as it is expected to.
	local flavour=test layer n
	[ "$label" = debug ] && flavour=debug
	case "$label" in *-arm64) flavour=arm64 ;; esac
	for layer in build check kunit vm; do
		n=$(printf '%s\n' "$results" | grep -cE "^(ok|fail|skip) $layer([: ]|\$)" || true)
		at_least "$layer" "$flavour" "$n" "$label"
	done
	msg "=== kernel $label: $(($(date +%s) - start)) s"
}

if [ -n "${KDIR:-}" ]; then
	if has kernels; then
		run_kernel custom
	fi
else
	if has kernels; then
		# VERSION or VERSION/ARCH; the label names a kernel of another
		# architecture than x86_64 by both ("7.3-arm64").
		for k in ${KVERS:-7.3 7.2 7.3/arm64}; do
			v=${k%%/*} a=x86_64 label=${k%%/*}
			if [[ "$k" == */* ]]; then
				a=${k#*/}
				[ "$a" = x86 ] && a=x86_64
				[ "$a" = x86_64 ] || label=$v-$a
			fi
			ARCH=$a RUST_TOOLCHAIN=$(toolchain_for "$v") KVER=$v run_kernel "$label"
		done
	fi
	# The doctor against broken trees made from the 7.3 one.
	if has doctor; then
		msg "=== make doctor against broken kernel trees"
		doctor_results=$("$RS_ROOT/scripts/test-doctor.sh" "$out/doctor")
		while read -r status name why; do
			record "$status" "$name" "$why"
		done <<<"$doctor_results"
		at_least doctor - "$(printf '%s\n' "$doctor_results" | grep -cE '^(ok|fail) ' || true)" doctor
	fi
	if has debug; then
		ARCH=x86_64 RUST_TOOLCHAIN=$(toolchain_for debug) FLAVOUR=debug KVER=7.3 run_kernel debug
		if [ -s "$out/debug/figures.txt" ]; then
			echo "Debug kernel figures ($out/debug/figures.txt):"
			sed 's/^/  /' "$out/debug/figures.txt"
		fi
	fi
fi

echo
# The same test on several kernels and both drivers counts once per
# configuration above; here, how many different tests that is, and where.
kernels=$(sed -n 's/^\([^:]*\):.*/\1/p' "$names" | grep -vxE 'host|doctor' | sort -u | tr '\n' ' ')
distinct=$(sed -e 's/^[^:]*://' -e 's/^vm:c_sample:/vm:/' "$names" | sort -u | wc -l)
echo "$distinct distinct tests, run on kernels: ${kernels:-none}(rust_sample and c_sample each)"
[ ${#configs[@]} -eq 0 ] || printf '  %s\n' "${configs[@]}"
if [ ${#failures[@]} -gt 0 ]; then
	echo "Failures:"
	printf '  %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
