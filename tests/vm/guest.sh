#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh MODE: what the test VM does.
#
#   test   the full suite on rust_sample (its KUnit suites run at the first
#          insmod), then the same suite on the C twin, c_sample: a
#          behavioural difference between the two is a failing test
#   debug  the same, then stress, fuzzing, fault injection, lifecycle
#          races and a kmemleak scan (the debug kernel)
#   coverage  the test suites, stress and fuzzing with KCOV on (make
#          coverage)
#   bench  the benchmark (make bench)
#   run    the newcomer's tour for `make run`

. /tests/lib.sh

# result_prefix DRIVER: what DRIVER's result names start with: nothing for
# rust_sample, "c_sample:" for the twin.
result_prefix() {
	if [ "$1" != rust_sample ]; then echo "$1:"; fi
}

# use_driver NAME: point the checks at one driver. Results for the C twin
# are prefixed with its name.
use_driver() {
	NAME=$1
	MOD=/lib/modules/$1.ko
	DEV=/dev/$1
	STATS=/sys/kernel/debug/$1/stats
	P=$(result_prefix "$1")
}
use_driver rust_sample

is_misc_chardev() {
	[ -c "$DEV" ] || { echo "$DEV is not a character device"; return 1; }
	major=$(stat -c '%t' "$DEV")
	[ "$major" = a ] || { echo "$DEV has major 0x$major, not 10 (misc)"; return 1; }
}

node_gone() {
	[ ! -e "$DEV" ] || { echo "$DEV still exists"; return 1; }
}

node_mode_is_0666() {
	mode=$(stat -c '%a' "$DEV")
	[ "$mode" = 666 ] || { echo "$DEV has mode $mode, not 666"; return 1; }
}

echo_cat_roundtrip() {
	echo hello >"$DEV"
	got=$(cat "$DEV")
	[ "$got" = hello ] || { echo "cat gave '$got'"; return 1; }
}

rmmod_fails_while_open() {
	exec 4<>"$DEV"
	if rmmod "$NAME" 2>/dev/null; then
		echo "rmmod succeeded with the device open"
		return 1
	fi
	exec 4>&-
	rmmod "$NAME" || { echo "rmmod failed after close"; return 1; }
	insmod "$MOD"
}

# Data lives in the module: unloading drops it, a fresh load starts empty.
data_gone_after_reload() {
	printf 'stale' >"$DEV"
	grep -q "^len:	5\$" "$STATS" || { echo "the write did not arrive:"; cat "$STATS"; return 1; }
	rmmod "$NAME" && insmod "$MOD" || { echo "reload failed"; return 1; }
	grep -q "^len:	0\$" "$STATS" || { echo "data survived the reload:"; cat "$STATS"; return 1; }
}

# param_refused PARAM VALUE: insmod fails with EINVAL, says why in one line
# and leaves nothing registered.
param_refused() {
	out=$(rs-devtest --load "$MOD" "$1=$2") && { echo "loading with $1=$2 succeeded"; rmmod "$NAME"; return 1; }
	[ "$out" = EINVAL ] || { echo "loading failed with $out, want EINVAL"; return 1; }
	n=$(dmesg | grep -c "$NAME: $1=$2 is out of bounds")
	[ "$n" = 1 ] || { echo "$n log lines for $1=$2, want 1"; return 1; }
	[ ! -e "$DEV" ] || { echo "$DEV exists after a refused load"; return 1; }
	[ ! -d "/sys/module/$NAME" ] || { echo "the module stayed loaded"; return 1; }
}

# The device nodes and debugfs directories of this driver, one per line.
driver_entries() {
	ls /dev /sys/kernel/debug | grep -E "^$NAME[0-9]*\$"
}

# One device unless asked: devices=1 is exactly the single-device driver.
one_device_by_default() {
	n=$(driver_entries | grep -c .)
	[ "$n" = 2 ] || { echo "$n nodes and debugfs directories, want 2:" $(driver_entries); return 1; }
}

# devices=16: sixteen misc nodes with distinct minors and sixteen debugfs
# directories, all gone after rmmod.
devices_max_load_unload() {
	insmod "$MOD" devices=16 || return 1
	minors=
	i=0
	while [ $i -lt 16 ]; do
		node=$DEV
		[ $i = 0 ] || node=$DEV$i
		[ -c "$node" ] && [ "$(stat -c %t "$node")" = a ] || { echo "$node is no misc node"; rmmod "$NAME"; return 1; }
		[ -f "/sys/kernel/debug/${node#/dev/}/stats" ] || { echo "no debugfs stats for $node"; rmmod "$NAME"; return 1; }
		minors="$minors $(stat -c %T "$node")"
		i=$((i + 1))
	done
	n=$(driver_entries | grep -c .)
	[ "$n" = 32 ] || { echo "$n entries, want 32:" $(driver_entries); rmmod "$NAME"; return 1; }
	distinct=$(echo $minors | tr ' ' '\n' | sort -u | grep -c .)
	[ "$distinct" = 16 ] || { echo "minors$minors are not distinct"; rmmod "$NAME"; return 1; }
	rmmod "$NAME" || { echo "rmmod failed"; return 1; }
	left=$(driver_entries)
	[ -z "$left" ] || { echo "left behind:" $left; return 1; }
}

TRACEFS=/sys/kernel/tracing

# bounded CMD...: runs CMD, killing it after 10 s, so that a check whose
# driver never wakes a sleeper fails by name instead of hanging the VM.
# (busybox's timeout(1) would not do: its watcher process keeps CMD's
# files open for up to a second after CMD ends, and rmmod fails.)
bounded() {
	"$@" &
	bounded_wait $!
}

# bounded_wait PID: waits for a background job, for 10 s at most.
bounded_wait() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -le 200 ] || { kill -9 "$1"; echo "a call on the device never returned"; break; }
		sleep 0.05
	done
	wait "$1"
}

# The driver's events, in the order they were recorded: "EVENT: FIELDS".
trace_events_seen() {
	grep -o -E ": (write|read|wait): dev=.*" $TRACEFS/trace | sed 's/^: //'
}

# event_within TEXT: waits up to 10 s for an event starting with TEXT.
event_within() {
	i=0
	until trace_events_seen | grep -q "^$1"; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "no '$1' event"; return; }
		sleep 0.05
	done
}

# The trace events $NAME:write, $NAME:read and $NAME:wait, read through
# tracefs: each fires with the device's index, the bytes and the FIFO's
# length, in the order the calls happened; nothing is recorded once the
# events are disabled again.
trace_events() {
	[ -d $TRACEFS/events ] || mount -t tracefs nodev $TRACEFS || return 1
	insmod "$MOD" devices=2 capacity=4096 || return 1
	for e in write read wait; do
		[ -f "$TRACEFS/events/$NAME/$e/format" ] || { echo "no $NAME:$e in tracefs"; rmmod "$NAME"; return 1; }
	done
	: >$TRACEFS/trace
	echo 1 >"$TRACEFS/events/$NAME/enable"
	# Every call on the device is bounded in time.
	bounded printf hello >"$DEV"
	bounded dd if="$DEV" bs=3 count=1 of=/dev/null 2>/dev/null
	bounded printf abc >"${DEV}1"
	bounded dd if="$DEV" bs=2 count=1 of=/dev/null 2>/dev/null
	# A reader that must wait: a writer holds the device open.
	exec 5>"$DEV"
	dd if="$DEV" bs=4 count=1 of=/dev/null 2>/dev/null &
	reader=$!
	event_within "wait: dev=0 reader"
	bounded printf ping >&5
	bounded_wait $reader
	# A writer that must wait: the FIFO (4096 bytes) is full.
	bounded dd if=/dev/zero bs=4096 count=1 of="$DEV" 2>/dev/null
	printf x >&5 &
	writer=$!
	event_within "wait: dev=0 writer"
	bounded dd if="$DEV" bs=4096 count=1 of=/dev/null 2>/dev/null
	bounded_wait $writer
	exec 5>&-
	echo 0 >"$TRACEFS/events/$NAME/enable"
	bounded printf quiet >"${DEV}1"
	got=$(trace_events_seen)
	rmmod "$NAME" || return 1
	want="write: dev=0 bytes=5 len=5
read: dev=0 bytes=3 len=2
write: dev=1 bytes=3 len=3
read: dev=0 bytes=2 len=0
wait: dev=0 reader bytes=4 len=0
write: dev=0 bytes=4 len=4
read: dev=0 bytes=4 len=0
write: dev=0 bytes=4096 len=4096
wait: dev=0 writer bytes=1 len=4096
read: dev=0 bytes=4096 len=0
write: dev=0 bytes=1 len=1"
	[ "$got" = "$want" ] || { echo "events:" $got; return 1; }
}

# Isolation between devices: rs-devtest's devices tests on three of them.
devices_isolated() {
	insmod "$MOD" devices=3 || { not_ok "${P}devices-load" "insmod devices=3 failed"; return; }
	rs-devtest devices 65536 "$DEV" "${DEV}1" "${DEV}2" >/tmp/devices.out || RS_FAILED=1
	sed -e "s/^RS-TEST ok /&$P/" -e "s/^RS-TEST not ok /&$P/" /tmp/devices.out >&3
	rmmod "$NAME" || not_ok "${P}devices-unload" "rmmod after the devices tests failed"
}

# capacity_accepted VALUE: insmod works and the FIFO has that capacity.
capacity_accepted() {
	insmod "$MOD" capacity="$1" || return 1
	grep -q "^capacity:	$1\$" "$STATS" || {
		echo "capacity is not $1:"; cat "$STATS"; rmmod "$NAME"; return 1; }
	rmmod "$NAME"
}

load_cycles() {
	i=0
	while [ $i -lt "$1" ]; do
		insmod "$MOD" || { echo "insmod failed at cycle $i"; return 1; }
		[ -c "$DEV" ] || { echo "no $DEV at cycle $i"; return 1; }
		rmmod "$NAME" || { echo "rmmod failed at cycle $i"; return 1; }
		i=$((i + 1))
	done
	[ ! -e "$DEV" ] || { echo "$DEV left behind"; return 1; }
}

# The full suite on the driver use_driver chose: loading, the node,
# rs-devtest, parameters and lifecycle. $1: how many load/unload cycles.
full_suite() {
	check "${P}module-loads" insmod "$MOD"
	check "${P}device-node-is-misc-chardev" is_misc_chardev
	check "${P}device-node-mode-0666" node_mode_is_0666
	check "${P}devices-one-by-default" one_device_by_default
	check "${P}echo-cat-roundtrip" echo_cat_roundtrip
	# The userspace suite writes its own result lines.
	rs-devtest "$DEV" 65536 >/tmp/devtest.out || RS_FAILED=1
	sed -e "s/^RS-TEST ok /&$P/" -e "s/^RS-TEST not ok /&$P/" /tmp/devtest.out >&3
	if [ "$NAME" = rust_sample ]; then
		# The KUnit suites ran at the first insmod: hand that log over
		# now, and keep every later load (the next check re-inserts the
		# module) from running them again, unparsed.
		dump_dmesg
		echo -n "-" >/sys/module/kunit/parameters/filter_glob 2>/dev/null || true
	fi
	check "${P}rmmod-fails-while-open" rmmod_fails_while_open
	check "${P}data-gone-after-reload" data_gone_after_reload
	check "${P}module-unloads" rmmod "$NAME"
	check "${P}device-node-removed" node_gone
	check "${P}capacity-param-too-small-refused" param_refused capacity 4095
	check "${P}capacity-param-too-large-refused" param_refused capacity 16777217
	check "${P}capacity-param-zero-refused" param_refused capacity 0
	check "${P}devices-param-zero-refused" param_refused devices 0
	check "${P}devices-param-too-many-refused" param_refused devices 17
	check "${P}devices-max-load-unload" devices_max_load_unload
	check "${P}trace-events" trace_events
	devices_isolated
	check "${P}capacity-param-min-accepted" capacity_accepted 4096
	check "${P}capacity-param-max-accepted" capacity_accepted 16777216
	check "${P}insmod-rmmod-$1-cycles" load_cycles "$1"
}

# misc_stall STALLED OTHER: with both drivers loaded, a read of STALLED
# whose copy a user stalls (userfaultfd) must not block opens of either
# device, nor the unload and load of OTHER (misc_mtx). rs-devtest prints
# the result line.
misc_stall() {
	insmod "/lib/modules/$1.ko" && insmod "/lib/modules/$2.ko" || {
		not_ok "$3misc-open-not-stalled" "could not load both drivers"; return; }
	rs-devtest misc-stall "/dev/$1" "/dev/$2" "/lib/modules/$2.ko" >/tmp/stall.out ||
		RS_FAILED=1
	sed -e "s/^RS-TEST ok /&$3/" -e "s/^RS-TEST not ok /&$3/" /tmp/stall.out >&3
	rmmod "$1" 2>/dev/null
	rmmod "$2" 2>/dev/null
	[ ! -e "/dev/$1" ] && [ ! -e "/dev/$2" ] || {
		not_ok "$3misc-stall-cleanup" "a driver stayed loaded after the stall test"; }
}

# Both drivers, one after the other.
both_suites() {
	full_suite "$1"
	use_driver c_sample
	full_suite "$1"
	use_driver rust_sample
	misc_stall rust_sample c_sample ""
	misc_stall c_sample rust_sample c_sample:
}

# rmmod racing with open and close: while another process opens and closes
# the device as fast as it can, rmmod either fails (busy) or wins, after
# which opens fail until the module is back.
rmmod_races_open() {
	insmod "$MOD" || return 1
	: >/tmp/race-open.err
	(
		end=$(($(date +%s) + 4))
		while [ "$(date +%s)" -lt $end ]; do
			# A failed redirection of a special builtin (exec, :) would
			# end this shell; one of a plain command does not.
			# Every failure is the shell's "can't open" line, with
			# its errno's text; the invariant is checked below.
			{ true <"$DEV"; } 2>>/tmp/race-open.err || :
		done
	) &
	opener=$!
	won=0 busy=0
	while kill -0 $opener 2>/dev/null; do
		if rmmod rust_sample 2>/dev/null; then
			won=$((won + 1))
			# Unloaded: no node, no module.
			[ ! -e "$DEV" ] || { echo "$DEV exists after rmmod won"; return 1; }
			[ ! -d /sys/module/rust_sample ] || { echo "module still present after rmmod won"; return 1; }
			insmod "$MOD" || { echo "insmod after a won race failed"; return 1; }
			[ -c "$DEV" ] || { echo "no $DEV after insmod"; return 1; }
		else
			busy=$((busy + 1))
			# Refused: still loaded, node still there.
			[ -d /sys/module/rust_sample ] && [ -c "$DEV" ] ||
				{ echo "rmmod failed, yet the module or its node is gone"; return 1; }
		fi
	done
	wait $opener
	rmmod rust_sample || { echo "rmmod after the race failed"; return 1; }
	# An open that failed did so cleanly: the node was gone (ENOENT, which
	# busybox's shell words "no such file") or its driver going (ENODEV,
	# ENXIO: "No such device [or address]"). Any other errno breaks the
	# invariant.
	bad=$(grep -v -i -e 'no such file' -e 'no such device' /tmp/race-open.err | head -n 3)
	[ -z "$bad" ] || { echo "an open failed otherwise: $bad"; return 1; }
	echo "RS-FIGURE rmmod_race_open_failures $(grep -c . /tmp/race-open.err)" >&3
	echo "RS-FIGURE rmmod_race_won $won" >&3
	echo "RS-FIGURE rmmod_race_busy $busy" >&3
}

KMEMLEAK=/sys/kernel/debug/kmemleak

# Reports every leak kmemleak finds now. Objects younger than 5 s are not
# reported, hence the wait.
no_leaks() {
	sleep 6
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	leaks=$(grep -c 'unreferenced object' $KMEMLEAK)
	echo "RS-FIGURE kmemleak_leaks $leaks" >&3
	[ "$leaks" = 0 ] && return 0
	# The whole report to the console log; the object's size and the
	# first frames of its backtrace to the result line.
	cat $KMEMLEAK >/dev/console
	grep -m1 'unreferenced object' $KMEMLEAK
	grep -m1 -A8 'backtrace' $KMEMLEAK | tr -s ' '
	return 1
}

param() { sed -n "s/.*rs\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

# reliability DRIVER: stress, then fuzzing, each on two devices of one load
# at once (devices=2). Each run is exact about its own device (the fuzzer
# predicts every count), so a byte, a count or a wake-up that crossed from
# one device to the other fails it. Lines of the first device carry no
# prefix for rust_sample and "c_sample:" for the twin; the second device's
# carry its node's name.
reliability() {
	insmod "/lib/modules/$1.ko" devices=2 || { not_ok "$1:load-devices-2" "insmod failed"; return; }
	on_both_devices "$1" stress
	on_both_devices "$1" fuzz
	rmmod "$1"
}

# on_both_devices DRIVER RUN: rs-devtest RUN (stress or fuzz) on DRIVER's
# first two devices at once, the second with the next seed.
on_both_devices() {
	first=$(result_prefix "$1")
	rs-devtest "$2" "/dev/${1}1" "$(param "$2")" "$(($(param seed) + 1))" >/tmp/$2-1.out &
	bg=$!
	rs-devtest "$2" "/dev/$1" "$(param "$2")" "$(param seed)" >/tmp/$2-0.out ||
		not_ok "$first$2" "rs-devtest exited with $?"
	wait $bg || not_ok "${1}1:$2" "rs-devtest exited with $?"
	prefix "$first" </tmp/$2-0.out >&3
	prefix "${1}1:" </tmp/$2-1.out >&3
}

# fault_sweeps DRIVER [SWEEP...]: failslab aimed by fail-nth at each
# allocation of a resize, an open in each access mode and O_ASYNC on
# (tests/userspace/src/faults.rs), and at the further SWEEPs, on DRIVER's
# device, which it loads and unloads. The C twin's results carry
# "c_sample:".
fault_sweeps() {
	drv=$1
	shift
	echo N >/sys/kernel/debug/failslab/ignore-gfp-wait
	echo 0 >/sys/kernel/debug/failslab/verbose
	first=$(result_prefix "$drv")
	insmod "/lib/modules/$drv.ko" || { not_ok "${first}fault-injection-load-$drv" "insmod failed"; return; }
	for sweep in resize open fasync "$@"; do
		rs-devtest "fault-$sweep" "/dev/$drv" >/tmp/fault.out ||
			not_ok "${first}fault-injection-$sweep" "rs-devtest exited with $?"
		prefix "$first" </tmp/fault.out >&3
	done
	rmmod "$drv"
}

# prefix P: result and figure lines from stdin, their names prefixed by P.
prefix() {
	sed -e "s/^RS-FIGURE /&$1/" -e "s/^RS-TEST ok /&$1/" -e "s/^RS-TEST not ok /&$1/"
}

case "$1" in
test)
	both_suites 100
	;;
debug)
	# Forget what the boot itself left behind; from here on, every leak
	# is ours.
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
	start=$(date +%s)
	both_suites 200
	echo "RS-FIGURE phase_full_suite_seconds $(($(date +%s) - start))" >&3

	start=$(date +%s)
	reliability rust_sample
	echo "RS-FIGURE phase_stress_fuzz_seconds $(($(date +%s) - start))" >&3
	# The same against the C twin: what each driver's run found sits side
	# by side.
	start=$(date +%s)
	reliability c_sample
	echo "RS-FIGURE phase_c_twin_stress_fuzz_seconds $(($(date +%s) - start))" >&3

	# failslab, aimed by fail-nth at one task's N-th allocation.
	start=$(date +%s)
	# fasync-concurrent needs the test build's delay before an insertion
	# (abstractions/fasync.rs), which the coverage run's module lacks.
	fault_sweeps rust_sample fasync-concurrent
	fault_sweeps c_sample fasync-concurrent
	# The production module, as users load it (scripts/stage.sh says why).
	rs-devtest fault-load /lib/modules/production/rust_sample.ko "capacity=8192 devices=3" >&3 ||
		not_ok fault-injection-load "rs-devtest exited with $?"
	echo "RS-FIGURE phase_fault_injection_seconds $(($(date +%s) - start))" >&3

	start=$(date +%s)
	check rmmod-races-open rmmod_races_open
	echo "RS-FIGURE phase_lifecycle_race_seconds $(($(date +%s) - start))" >&3
	check no-memory-leaks no_leaks
	;;
coverage)
	# make coverage: every rs-devtest task records the PCs it runs in the
	# modules (tests/userspace/src/kcov.rs). The suite (the test mode's
	# suites, stress on two devices at once, the fault sweeps) writes the
	# rust_sample text offsets it reached to /tmp/kcov/suite/PID; then each driver is
	# fuzzed twice with the same number of calls, random and KCOV-guided,
	# each run writing the blocks it reached and when
	# (/tmp/kcov/fuzz/fuzz-MODULE-MODE-PID) as well as its offsets.
	echo 0 >/proc/sys/kernel/kptr_restrict
	mkdir -p /tmp/kcov/suite /tmp/kcov/fuzz
	export RS_KCOV=/tmp/kcov/suite
	# Loads and unloads through rs-devtest, whose task records the
	# module's init and exit (busybox's insmod and rmmod record nothing).
	insmod() {
		m=$1
		shift
		rs-devtest --load "$m" "$*" >/dev/null
	}
	rmmod() { rs-devtest --unload "$1" >/dev/null; }
	both_suites 3
	insmod "$MOD" devices=2 || not_ok load-devices-2 "insmod failed"
	# The trace events on, so that their code runs in tasks that record
	# (the trace-events check runs in the shell, which does not).
	echo 1 >"$TRACEFS/events/rust_sample/enable"
	on_both_devices rust_sample stress
	echo 0 >"$TRACEFS/events/rust_sample/enable"
	echo >"$TRACEFS/trace"
	rmmod rust_sample
	# The allocation-failure paths, as the debug run sweeps them. A load
	# that fails leaves no text to map its PCs by: rs-devtest maps them by
	# the sweep's successful loads, which land where the failed ones did
	# (no KASLR); a PC that does not is counted as stray in the report.
	fault_sweeps rust_sample
	rs-devtest fault-load "$MOD" "capacity=8192 devices=3" >&3 ||
		not_ok fault-injection-load "rs-devtest exited with $?"
	export RS_KCOV=/tmp/kcov/fuzz
	for drv in rust_sample c_sample; do
		first=$(result_prefix "$drv")
		insmod "/lib/modules/$drv.ko" || { not_ok "${first}load" "insmod failed"; continue; }
		for run in fuzz fuzz-guided; do
			rs-devtest "$run" "/dev/$drv" "$(param fuzz)" "$(param seed)" >/tmp/$run.out ||
				not_ok "$first$run" "rs-devtest exited with $?"
			prefix "$first" </tmp/$run.out >&3
		done
		rmmod "$drv"
	done
	for f in /tmp/kcov/suite/* /tmp/kcov/fuzz/*; do
		echo "RS-KCOV-FILE ${f#/tmp/kcov/}" >&3
		cat "$f" >&3
	done
	echo "RS-KCOV-END" >&3
	;;
bench)
	# make bench: both drivers loaded, every workload, records on fd 3.
	# No address-space randomisation: buffer alignment changes the copy
	# routines' paths, and the icount run must repeat to the instruction.
	echo 0 >/proc/sys/kernel/randomize_va_space
	set -- "$(param benchmode)" "$(param benchscale)" "$(param benchreps)"
	# What the trace events cost: both drivers built without them, then
	# built in and disabled (as always), then enabled.
	mount -t tracefs nodev $TRACEFS || exit 1
	insmod /lib/modules/notrace/rust_sample.ko || exit 1
	insmod /lib/modules/notrace/c_sample.ko || exit 1
	[ ! -d $TRACEFS/events/rust_sample ] || { echo "the build without events has events"; exit 1; }
	rs-bench trace "$@" absent >&3 || exit 1
	rmmod rust_sample c_sample || exit 1
	insmod /lib/modules/rust_sample.ko || exit 1
	insmod /lib/modules/c_sample.ko || exit 1
	rs-bench trace "$@" off >&3 || exit 1
	echo 1 >$TRACEFS/events/rust_sample/enable || exit 1
	echo 1 >$TRACEFS/events/c_sample/enable || exit 1
	rs-bench trace "$@" on >&3 || exit 1
	echo 0 >$TRACEFS/events/rust_sample/enable
	echo 0 >$TRACEFS/events/c_sample/enable
	# Everything else, with the events built in and disabled.
	rs-bench "$@" >&3 || exit 1
	rmmod rust_sample c_sample || exit 1
	;;
profile)
	# make profile: perf samples cpu-clock while rs-bench repeats one hot
	# operation. Under icount, time is instructions, so samples count
	# instructions. Each report goes to the result port between markers.
	insmod /lib/modules/rust_sample.ko || exit 1
	insmod /lib/modules/c_sample.ko || exit 1
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo 0 >/proc/sys/kernel/randomize_va_space
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	periods=$(param periods | tr , ' ')
	iters=$(param iters)
	# perf's cpu-clock samples from an hrtimer, which fires between ticks
	# only once the kernel runs in high-resolution mode; that switch waits
	# for a stable clocksource (the TSC, about a second after boot).
	i=0
	until grep -q 'hres_active *: 1' /proc/timer_list; do
		i=$((i + 1))
		[ $i -le 50 ] || { echo "RS-PROFILE-ERROR no high-resolution timers" >&3; exit 1; }
		sleep 0.1
	done
	for op in $(param ops | tr , ' '); do
		for target in rust_sample c_sample; do
			# The exact count first: rs-bench alone, timed on the
			# instruction clock. Then the same under perf, for the shares,
			# once per sampling period: on a deterministic clock a fixed
			# period can lock onto the loop, and each period errs
			# differently, so the report pools them.
			ns=$(rs-bench op "$op" "$target" "$iters") || exit 1
			for period in $periods; do
				perf record -q -e cpu-clock -c "$period" -a -o /tmp/perf.data \
					-- rs-bench op "$op" "$target" "$iters" >/dev/null 2>/tmp/perf.err ||
					{ cat /tmp/perf.err; exit 1; }
				echo "RS-PROFILE-BEGIN $op $target $iters $period $ns" >&3
				# Every sample of the rs-bench process, kernel and user.
				# The pipe keeps perf from paging and colouring (fd 3 is
				# a tty).
				perf report -i /tmp/perf.data --stdio --no-children -n \
					--comm rs-bench --sort dso,sym --percent-limit 0 -q 2>/dev/null | cat >&3
				echo "RS-PROFILE-END" >&3
			done
		done
	done
	rmmod rust_sample c_sample || exit 1
	;;
trace)
	# make profile's exact count: QEMU logs every instruction the modules
	# run (scripts/vm.sh --trace).
	# Each operation runs twice, N1 and N2 times, so that what rs-bench
	# does around its loop (open, close, filling the FIFO first) cancels in
	# the difference. A read of a device file's fdinfo marks the
	# boundaries: the Rust driver's show_fdinfo runs nowhere else.
	insmod /lib/modules/rust_sample.ko || exit 1
	insmod /lib/modules/c_sample.ko || exit 1
	for m in rust_sample c_sample; do
		echo "RS-TRACE-TEXT $m $(cat /sys/module/$m/sections/.text)" >&3
	done
	n1=$(param n1)
	n2=$(param n2)
	exec 9</dev/rust_sample
	mark() { cat /proc/self/fdinfo/9 >/dev/null; }
	for op in $(param ops | tr , ' '); do
		for target in rust_sample c_sample; do
			mark
			rs-bench op "$op" "$target" "$n1" >/dev/null || exit 1
			mark
			rs-bench op "$op" "$target" "$n2" >/dev/null || exit 1
			echo "RS-TRACE-RUN $op $target $n1 $n2" >&3
		done
	done
	mark
	exec 9<&-
	rmmod rust_sample c_sample || exit 1
	;;
run)
	# The tour's output goes to the result port, for `make run` to show.
	exec >&3 2>&1
	echo "\$ insmod rust_sample.ko"
	insmod "$MOD" || exit 1
	ls -l "$DEV"
	echo "\$ echo hello > $DEV; cat $DEV"
	echo hello >"$DEV"
	cat "$DEV" || exit 1
	echo "\$ printf 'more data' > $DEV; cat /sys/kernel/debug/rust_sample/stats"
	printf 'more data' >"$DEV"
	cat /sys/kernel/debug/rust_sample/stats
	echo "\$ dmesg | grep rust_sample"
	dmesg | grep 'rust_sample: ' | sed 's/^\[[^]]*\] //'
	echo "\$ rmmod rust_sample"
	rmmod rust_sample || exit 1
	[ ! -e "$DEV" ] && echo "$DEV is gone; unread data is dropped with the module"
	;;
*)
	echo "guest.sh: unknown mode '$1'"
	exit 2
	;;
esac
exit $RS_FAILED
