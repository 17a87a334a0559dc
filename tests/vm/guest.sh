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
#   bench  the benchmark (make bench)
#   run    the newcomer's tour for `make run`

. /tests/lib.sh

# use_driver NAME: point the checks at one driver. Results for the C twin
# are prefixed with its name.
use_driver() {
	NAME=$1
	MOD=/lib/modules/$1.ko
	DEV=/dev/$1
	STATS=/sys/kernel/debug/$1/stats
	if [ "$1" = rust_sample ]; then P=; else P=$1:; fi
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

# capacity_refused VALUE: insmod fails with EINVAL, says why in one line and
# leaves nothing registered.
capacity_refused() {
	out=$(rs-devtest --load "$MOD" "capacity=$1") && { echo "loading with capacity=$1 succeeded"; rmmod "$NAME"; return 1; }
	[ "$out" = EINVAL ] || { echo "loading failed with $out, want EINVAL"; return 1; }
	n=$(dmesg | grep -c "$NAME: capacity=$1 is out of bounds")
	[ "$n" = 1 ] || { echo "$n log lines for capacity=$1, want 1"; return 1; }
	[ ! -e "$DEV" ] || { echo "$DEV exists after a refused load"; return 1; }
	[ ! -d "/sys/module/$NAME" ] || { echo "the module stayed loaded"; return 1; }
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
	check "${P}capacity-param-too-small-refused" capacity_refused 4095
	check "${P}capacity-param-too-large-refused" capacity_refused 16777217
	check "${P}capacity-param-zero-refused" capacity_refused 0
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
	insmod "$MOD"
	rs-devtest stress "$DEV" "$(param stress)" "$(param seed)" >&3 || not_ok stress "rs-devtest exited with $?"
	echo "RS-FIGURE phase_stress_seconds $(($(date +%s) - start))" >&3
	start=$(date +%s)
	rs-devtest fuzz "$DEV" "$(param fuzz)" "$(param seed)" >&3 || not_ok fuzz "rs-devtest exited with $?"
	echo "RS-FIGURE phase_fuzz_seconds $(($(date +%s) - start))" >&3

	# The same stress and fuzzing against the C twin, whose figures carry
	# its name: what each driver's run found sits side by side.
	start=$(date +%s)
	insmod /lib/modules/c_sample.ko
	rs-devtest stress /dev/c_sample "$(param stress)" "$(param seed)" >/tmp/c-stress.out ||
		not_ok c_sample:stress "rs-devtest exited with $?"
	rs-devtest fuzz /dev/c_sample "$(param fuzz)" "$(param seed)" >/tmp/c-fuzz.out ||
		not_ok c_sample:fuzz "rs-devtest exited with $?"
	sed -e 's/^RS-FIGURE /&c_sample:/' -e 's/^RS-TEST ok /&c_sample:/' \
		-e 's/^RS-TEST not ok /&c_sample:/' /tmp/c-stress.out /tmp/c-fuzz.out >&3
	rmmod c_sample
	echo "RS-FIGURE phase_c_twin_stress_fuzz_seconds $(($(date +%s) - start))" >&3

	# failslab, aimed by fail-nth at one task's N-th allocation.
	start=$(date +%s)
	echo N >/sys/kernel/debug/failslab/ignore-gfp-wait
	echo 0 >/sys/kernel/debug/failslab/verbose
	rs-devtest fault-resize "$DEV" >&3 || not_ok fault-injection-resize "rs-devtest exited with $?"
	rmmod rust_sample
	rs-devtest fault-load "$MOD" capacity=8192 >&3 || not_ok fault-injection-load "rs-devtest exited with $?"
	echo "RS-FIGURE phase_fault_injection_seconds $(($(date +%s) - start))" >&3

	start=$(date +%s)
	check rmmod-races-open rmmod_races_open
	echo "RS-FIGURE phase_lifecycle_race_seconds $(($(date +%s) - start))" >&3
	check no-memory-leaks no_leaks
	;;
bench)
	# make bench: both drivers loaded, every workload, records on fd 3.
	# No address-space randomisation: buffer alignment changes the copy
	# routines' paths, and the icount run must repeat to the instruction.
	echo 0 >/proc/sys/kernel/randomize_va_space
	insmod /lib/modules/rust_sample.ko || exit 1
	insmod /lib/modules/c_sample.ko || exit 1
	rs-bench "$(param benchmode)" "$(param benchscale)" "$(param benchreps)" >&3 || exit 1
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
			if [ "$(param annotate)" = 1 ]; then
				# Where inside the drivers' own functions the samples of
				# the last period fall.
				echo "RS-ANNOTATE-BEGIN $op $target" >&3
				perf script -i /tmp/perf.data --comm rs-bench -F ip,sym,symoff,dso 2>&1 |
					grep -E '_sample' | awk '{ print $2, $3 }' | sort | uniq -c | sort -rn | head -n 80 >&3
				echo "RS-ANNOTATE-END" >&3
			fi
		done
	done
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
