#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make upstream-patches`: the kernel-crate patches we propose
# (Documentation/patches/*.patch) applied to a copy of the provisioned 7.3
# tree, its Rust crates rebuilt, and rust_sample built against it. Prints
# one line per check, "ok NAME" or "fail NAME WHY", then the patched KDIR
# on the last line ("kdir PATH"), which `make profile UPSTREAM=y` measures.
#
#   patches:apply   every patch applies to the tree, in order, cleanly
#   patches:build   the kernel's rust/ builds with them, without a warning
#   patches:effect  the module built against them has no direction
#                   assertion left (what 0001 is for)
#
# The copy: the source by hard links (patch(1) writes a new file, so the
# cache's tree is never changed) and the build directory by cp -a (about
# 400 MB), under build/upstream/. The bzImage is the provisioned one: the
# patches touch inline Rust code only, which lands in the module.

. "$(dirname "$0")/lib.sh"

[ "$RS_ARCH" = x86_64 ] || die "the upstream patches are checked on the x86_64 7.3 tree (they touch no architecture's code); drop ARCH=$RS_ARCH."

KDIR=${KDIR:-$(kernel_build_dir)}
ksrc=$(cd "$KDIR" && [ -e source ] && readlink -f source || pwd)
out=$RS_ROOT/build/upstream/$(basename "$KDIR")
rm -rf "$out"
mkdir -p "$out"
log=$out/log
mkdir -p "$log"
rc=0

cp -al "$ksrc" "$out/src"
cp -a "$KDIR" "$out/build"

applied=1
for p in "$RS_ROOT"/Documentation/patches/*.patch; do
	if ! patch -d "$out/src" -p1 --forward --batch --fuzz=0 <"$p" >>"$log/apply.log" 2>&1; then
		echo "fail patches:apply $(basename "$p") does not apply to $(basename "$ksrc") (log: $log/apply.log)"
		applied= rc=1
		break
	fi
done
[ -n "$applied" ] && echo "ok patches:apply"

if [ -n "$applied" ] &&
	make -C "$out/src" O="$out/build" LLVM="$RS_LLVM" "${RS_RUST_MAKE_VARS[@]}" \
		-j"$(nproc)" rust/ >"$log/build.log" 2>&1 &&
	! grep -qE "^(warning|error)" "$log/build.log"; then
	echo "ok patches:build"
	built=1
else
	[ -n "$applied" ] && echo "fail patches:build the patched rust/ does not build (log: $log/build.log)"
	built= rc=1
fi

if [ -n "${built:-}" ]; then
	if make -s -C "$RS_ROOT" KDIR="$out/build" KUNIT=n modules >"$log/module.log" 2>&1; then
		mo=$(KUNIT=n kbuild_out_dir "$out/build")
		# The direction checks are the module's only `assert_eq!` of two
		# bools: with them gone, so is core's `assert_failed::<bool, bool>`,
		# on any architecture and wherever the compiler put the cold path.
		left=$(llvm-nm$RS_LLVM --demangle "$mo/rust_sample.ko" |
			grep -c 'core::panicking::assert_failed::<bool, bool>' || true)
		if [ "$left" -eq 0 ]; then
			echo "ok patches:effect"
		else
			echo "fail patches:effect the module still has the direction assertion (assert_failed::<bool, bool>)"
			rc=1
		fi
	else
		echo "fail patches:effect rust_sample does not build against the patched tree (log: $log/module.log)"
		rc=1
	fi
fi
echo "kdir $out/build"
exit $rc
