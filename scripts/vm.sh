#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vm.sh --mode MODE --initrd CPIO --out DIR [--kernel IMAGE] [--timeout S]
#       [--icount SHIFT] [--smp N] [--append ARGS] [--allow REGEX]
#       [--trace FILE] [--pin]
#
# --pin: each vCPU thread of QEMU runs on a host CPU of its own (vCPU N on
# host CPU N, taskset), set as soon as QEMU has started them. Without it
# the host scheduler may put both vCPU threads of a two-vCPU guest on one
# host CPU for a while, and every hand-over between the guest's CPUs then
# waits for a host context switch (make bench's wall-clock run pins).
#
# --trace FILE: QEMU runs one guest instruction per translation block
# (-singlestep) and logs every block it runs in the module area (-d
# exec,nochain -dfilter), so FILE lists every module instruction executed,
# in order: make profile's exact count (scripts/profile-annotate.py). Only
# the module area: the rest of the kernel, slowed down this much, spends
# most of its instructions in timer interrupts, which would bury the
# operations being counted. Slow: keep the traced workload small.
#
# --smp 1 with --icount makes a run reproducible: with two vCPUs, QEMU
# switches between them on host time, so multi-threaded work is scheduled
# differently from run to run; with one, the guest's scheduler runs on the
# instruction clock alone.
#
# Boots the test kernel under QEMU with a hard timeout and turns the guest's
# result into this script's exit status:
#
#   the guest's own status   it printed "RS-EXIT <n>" on its result port
#   124                      the guest did not finish in time
#   125                      the guest stopped without a result (crash, panic)
#   126                      the console shows a kernel splat
#
# The guest's init runs tests/vm/guest.sh MODE. Its console (ttyS0, or
# ttyAMA0 on arm64) goes to DIR/console.log, and its result port (ttyS1, or
# hvc0) to DIR/results.log.

. "$(dirname "$0")/lib.sh"

mode= initrd= out= timeout_s=120 icount= append= allow= smp=2 trace= pin=
kernel="${KDIR:-$(kernel_build_dir)}/$RS_KIMAGE"
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--icount) icount=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--allow) allow=$2; shift 2 ;;
	--trace) trace=$2; shift 2 ;;
	--pin) pin=1; shift ;;
	*) die "vm.sh: unknown argument $1" ;;
	esac
done
[ -n "$mode" ] && [ -n "$initrd" ] && [ -n "$out" ] || die "usage: vm.sh --mode MODE --initrd CPIO --out DIR"
[ -f "$kernel" ] || die "no kernel image at $kernel; run 'make kernel'"

mem=512M cpu=max
if [ "$RS_FLAVOUR" = debug ]; then
	# KASAN's shadow and kmemleak's pool want more.
	mem=1G
	# Four-level paging. With LA57 (-cpu max has it), an interrupt that
	# lands while identify_cpu() has cleared boot_cpu_data's capabilities
	# sees pgtable_l5_enabled() false, so KASAN computes its shadow start
	# for 47-bit addresses and reports the irq descriptor's lock as a
	# "wild-memory-access" (arch/x86/kernel/cpu/common.c, asm/kasan.h).
	# A boot-time kernel race, not the module's; a slow host makes it likely.
	cpu=max,la57=off
fi

# The machine of each architecture, its console and its result port:
# x86_64's pc has two UARTs; arm64's virt (QEMU 7.2) has one, so there the
# results go through a virtio console (hvc0, scripts/config/arm64.config).
# The guest's init finds the port on its command line (rs.port=).
mkdir -p "$out"
console=$out/console.log
results=$out/results.log
case "$RS_ARCH" in
x86_64)
	qemu=(qemu-system-x86_64 -M pc -serial "file:$console" -serial "file:$results")
	tty=ttyS0 port=ttyS1
	;;
arm64)
	# One port, so no multiport protocol: the guest's virtio console
	# driver then sets up hvc0 in its probe, before init runs, instead of
	# later from a workqueue (drivers/char/virtio_console.c).
	cpu=max
	qemu=(qemu-system-aarch64 -M virt -serial "file:$console"
		-chardev "file,id=results,path=$results"
		-device virtio-serial-device,max_ports=1 -device virtconsole,chardev=results)
	tty=ttyAMA0 port=hvc0
	;;
esac
# x86_64 resets by a triple fault (reboot=t); arm64 through PSCI.
reboot=
[ "$RS_ARCH" = x86_64 ] && reboot=reboot=t

# KVM only where it really works: /dev/kvm can exist on a CPU without
# virtualisation extensions, and a KVM guest then hangs at "Booting from ROM".
accel=(-accel tcg -cpu "$cpu")
if [ -z "$icount" ] && [ "$RS_ARCH" = x86_64 ] && grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
	accel=(-accel kvm -cpu host)
fi
if [ -n "$icount" ]; then
	accel=(-accel tcg -cpu "$cpu" -icount "shift=$icount,sleep=off")
fi

rm -f "$console" "$results" "$out/splat.txt"

# x86_64's module area (MODULES_VADDR to MODULES_END,
# Documentation/arch/x86/x86_64/mm.rst).
tracing=()
if [ -n "$trace" ]; then
	[ "$RS_ARCH" = x86_64 ] || die "vm.sh --trace knows x86_64's module area only"
	tracing=(-singlestep -d exec,nochain -dfilter 0xffffffffa0000000..0xfffffffffeffffff -D "$trace")
fi

# pin_vcpus PID: vCPU N's thread ("CPU N/TCG", named by debug-threads=on)
# on host CPU N mod the host's CPU count; records where each went.
pin_vcpus() {
	local pid=$1 n=0 tid comm cpus
	cpus=$(nproc)
	# The vCPU threads exist once QEMU has set the machine up: wait for all.
	for _ in $(seq 1 200); do
		n=$(grep -lE '^CPU [0-9]+/' /proc/"$pid"/task/*/comm 2>/dev/null | wc -l)
		[ "$n" -ge "$smp" ] && break
		sleep 0.05
	done
	for comm in /proc/"$pid"/task/*/comm; do
		read -r c <"$comm" 2>/dev/null || continue
		case "$c" in
		"CPU "*/*)
			tid=${comm%/comm}
			tid=${tid##*/}
			n=${c#CPU }
			n=${n%%/*}
			taskset -pc "$((n % cpus))" "$tid" >/dev/null &&
				echo "vCPU $n (thread $tid) on host CPU $((n % cpus))" >>"$out/pinning.txt"
			;;
		esac
	done
}

set +e
: >"$out/pinning.txt"
timeout -k 5 "$timeout_s" "${qemu[@]}" \
	"${accel[@]}" "${tracing[@]}" -smp "$smp" -m "$mem" \
	-name rs,debug-threads=on \
	-nodefaults -no-reboot -display none -monitor none \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=$tty panic=-1 $reboot rs.mode=$mode rs.port=$port $append" \
	</dev/null >"$out/qemu.log" 2>&1 &
timeout_pid=$!
if [ -n "$pin" ]; then
	qemu_pid=
	for _ in $(seq 1 100); do
		# QEMU is timeout's child: the process whose parent it is.
		qemu_pid=$(grep -l "^[0-9]* (qemu-system[^)]*) . $timeout_pid " /proc/[0-9]*/stat 2>/dev/null |
			head -n1 | cut -d/ -f3)
		[ -n "$qemu_pid" ] && break
		sleep 0.02
	done
	[ -n "$qemu_pid" ] && pin_vcpus "$qemu_pid"
fi
wait "$timeout_pid"
qemu_rc=$?
set -e

if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	printf 'error: the guest did not finish within %s s (mode %s); console log: %s\n' \
		"$timeout_s" "$mode" "$console" >&2
	exit 124
fi
if [ "$qemu_rc" -ne 0 ]; then
	printf 'error: QEMU failed (exit %s): %s\n' "$qemu_rc" "$(head -c 500 "$out/qemu.log")" >&2
	exit 125
fi

# Any of these on the console is a failure, whatever the guest reported.
# The out-of-tree and TEST taint messages are expected and match none of them.
splat_re='(Oops|BUG:|kernel BUG|WARNING:|Kernel panic|panicked at|KASAN|UBSAN|'
splat_re+='possible (circular|recursive) locking|inconsistent lock state|lock held when returning|'
splat_re+='sleeping function called from invalid context|blocked for more than|'
splat_re+='rcu_.*stall|RCU stall|refcount_t:|kmemleak|unreferenced object|'
splat_re+='general protection fault|stack-protector|page allocation failure|vmalloc error)'
# Expected lines: kmemleak's start-up, and whatever --allow names (the
# allocation-failure warnings that fault injection provokes on purpose).
ok_re='kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread'
if [ -n "$allow" ]; then
	ok_re+="|$allow"
fi
if splat=$(grep -nE "$splat_re" "$console" | grep -vE "$ok_re" | head -n 20) && [ -n "$splat" ]; then
	printf 'error: the kernel reported a problem (mode %s):\n' "$mode" >&2
	printf '%s\n' "$splat" | sed 's/^/    /' >&2
	printf '%s\n' "$splat" >"$out/splat.txt"
	printf 'console log: %s\n' "$console" >&2
	exit 126
fi

status=$(sed -n 's/^RS-EXIT \([0-9]*\).*/\1/p' "$results" 2>/dev/null | tail -n1 | tr -d '\r')
if [ -z "$status" ]; then
	printf 'error: the guest stopped without reporting a result (mode %s); console log: %s\n' \
		"$mode" "$console" >&2
	tail -n 15 "$console" | sed 's/^/    /' >&2
	exit 125
fi
exit "$status"
