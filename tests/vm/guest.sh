#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh MODE: what the test VM does.
#
#   test   load the module (its KUnit suites run), check the device node,
#          unload, and check that the node is gone
#   run    the newcomer's tour for `make run`

. /tests/lib.sh

MOD=/lib/modules/rust_sample.ko
DEV=/dev/rust_sample

is_misc_chardev() {
	[ -c "$DEV" ] || { echo "$DEV is not a character device"; return 1; }
	major=$(stat -c '%t' "$DEV")
	[ "$major" = a ] || { echo "$DEV has major 0x$major, not 10 (misc)"; return 1; }
}

node_gone() {
	[ ! -e "$DEV" ] || { echo "$DEV still exists"; return 1; }
}

case "$1" in
test)
	check module-loads insmod "$MOD"
	check device-node-is-misc-chardev is_misc_chardev
	check module-unloads rmmod rust_sample
	check device-node-removed node_gone
	dump_dmesg
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
