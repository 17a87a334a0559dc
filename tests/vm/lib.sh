# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest's test scripts. Results go to fd 3 (the result
# port) as "RS-TEST ok NAME" or "RS-TEST not ok NAME: WHY", and to the
# console for whoever reads the log.

RS_FAILED=0

ok() {
	echo "RS-TEST ok $1" >&3
	echo "ok - $1"
}

not_ok() {
	echo "RS-TEST not ok $1: $2" >&3
	echo "not ok - $1: $2"
	RS_FAILED=1
}

# check NAME COMMAND...: one test, passing when COMMAND succeeds.
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "$(echo "$out" | tail -n 12 | tr '\n' ' ')"
	fi
}

# The kernel log, between markers, for the host to hand to kunit.py.
dump_dmesg() {
	echo "RS-DMESG-BEGIN" >&3
	dmesg >&3
	echo "RS-DMESG-END" >&3
}
