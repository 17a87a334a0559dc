#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: the quality gates. Prints one line per gate, "ok NAME" or
# "fail NAME WHY", and exits non-zero when any gate fails.
#
#   clippy           the kernel's clippy set with warnings as errors (CLIPPY=1 W=e)
#   rustfmt          the kernel's .rustfmt.toml, on every Rust file we ship
#   unsafe-boundary  `unsafe` only in abstractions/; lint attributes in place
#   rust-analyzer    `make rust-analyzer` writes a usable rust-project.json
#   unstable-features  the module builds with only the unstable features
#                    listed below allowed, and needs every one of them

. "$(dirname "$0")/lib.sh"

KDIR=${KDIR:-$(kernel_build_dir)}
ksrc=$(cd "$KDIR" && [ -e source ] && readlink -f source || pwd)
log=$RS_ROOT/build/check/$(basename "$KDIR")
# Clippy sees the test build, a superset of the production one (the KUnit
# suites are cfg'd in).
mo=$(KUNIT=y kbuild_out_dir "$KDIR")-clippy
mkdir -p "$log"
rc=0
# The gates that build need a tree that can: asked once, said per gate.
kdir_ok=
"$RS_ROOT/scripts/doctor.sh" --quiet "$KDIR" && kdir_ok=1

gate() {
	local name=$1
	shift
	if "$@" >"$log/$name.log" 2>&1; then
		echo "ok check:$name"
	else
		echo "fail check:$name $(grep -m1 -E 'error|warning|Diff|unsafe|needs' "$log/$name.log" | cut -c1-160) (log: $log/$name.log)"
		rc=1
	fi
}

clippy() {
	[ -n "$kdir_ok" ] || { echo "error: KDIR=$KDIR cannot build the module (make doctor KDIR=... says why)"; return 1; }
	# Kbuild rebuilds when the command line changes, so CLIPPY=1 really runs.
	# W=e turns every warning, clippy's included, into an error.
	mkdir -p "$mo"
	make -C "$KDIR" M="$RS_ROOT" MO="$mo" LLVM="$RS_LLVM" "${RS_RUST_MAKE_VARS[@]}" RS_KUNIT=y CLIPPY=1 W=e modules || return 1
}

rust_files() {
	(cd "$RS_ROOT" && git ls-files -co --exclude-standard -- '*.rs' 2>/dev/null ||
		find . -name '*.rs' -not -path './build/*' -printf '%P\n')
}

rustfmt_check() {
	cd "$RS_ROOT"
	rust_files | xargs rustfmt --edition 2021 --check --config-path "$ksrc/.rustfmt.toml"
}

# In the module, `unsafe` is allowed only under abstractions/. Elsewhere the
# only mentions allowed are the lint attributes that forbid it, and comments.
# tests/ holds userspace programs (libc calls), not module code.
unsafe_boundary() {
	cd "$RS_ROOT"
	local bad
	bad=$(rust_files | grep -vE '^(abstractions|tests)/' | xargs grep -nE '\bunsafe\b' |
		grep -vE '^[^:]+:[0-9]+:\s*(//|#!?\[(forbid|deny|expect)\(unsafe_code\)\])' || true)
	if [ -n "$bad" ]; then
		echo "unsafe outside abstractions/:"
		echo "$bad"
		return 1
	fi
	grep -qx '#!\[deny(unsafe_code)\]' rust_sample.rs ||
		{ echo "unsafe: rust_sample.rs lacks #![deny(unsafe_code)]"; return 1; }
	# forbid (not deny) so no inner attribute can allow it again; it covers
	# every submodule of device/.
	grep -qx '#!\[forbid(unsafe_code)\]' device/mod.rs ||
		{ echo "unsafe: device/mod.rs lacks #![forbid(unsafe_code)]"; return 1; }
}

rust_analyzer() {
	rm -f "$RS_ROOT/rust-project.json" "$mo/rust-project.json"
	mkdir -p "$mo"
	make -C "$KDIR" M="$RS_ROOT" MO="$mo" LLVM="$RS_LLVM" "${RS_RUST_MAKE_VARS[@]}" RS_KUNIT=y rust-analyzer || return 1
	local json
	json=$(ls "$mo/rust-project.json" "$RS_ROOT/rust-project.json" 2>/dev/null | head -n1)
	python3 - "$json" <<'PY'
import json, sys
crates = json.load(open(sys.argv[1]))["crates"]
roots = [c["root_module"] for c in crates]
assert any(r == "rust_sample.rs" or r.endswith("/rust_sample.rs") for r in roots), "rust_sample.rs is not a crate root"
assert not any("/abstractions/" in r or "/device/" in r for r in roots), "a module file was taken for a crate root"
PY
}

# The unstable Rust features the module needs, measured: of the kernel's
# rust_allowed_features for modules, only these, and only through kernel
# macros: `module!` and `#[kunit_tests]` emit `#[used(compiler)]`
# (used_with_arg), and on a kernel with CONFIG_JUMP_LABEL before Rust 1.87,
# where it became stable, the trace events' static branch
# (`kernel::jump_label`, through abstractions/trace.rs) is an `asm goto`
# (asm_goto; without jump labels it is a plain load). The driver's own code
# uses none (Documentation/rust-toolchain.rst).
RS_UNSTABLE_FEATURES=used_with_arg
if grep -qx 'CONFIG_JUMP_LABEL=y' "$KDIR/.config" 2>/dev/null &&
	[ "$(printf '%s\n' "$(rustc_semver)" 1.87.0 | sort -V | head -n 1)" != 1.87.0 ]; then
	RS_UNSTABLE_FEATURES+=,asm_goto
fi

# Builds the test module with `rust_allowed_features` overridden to $1.
build_with_features() {
	mkdir -p "$mo-features"
	make -C "$KDIR" M="$RS_ROOT" MO="$mo-features" LLVM="$RS_LLVM" "${RS_RUST_MAKE_VARS[@]}" RS_KUNIT=y \
		"rust_allowed_features=$1" modules
}

unstable_features() {
	[ -n "$kdir_ok" ] || { echo "error: KDIR=$KDIR cannot build the module (make doctor KDIR=... says why)"; return 1; }
	build_with_features "$RS_UNSTABLE_FEATURES" || {
		echo "the module needs an unstable feature beyond '$RS_UNSTABLE_FEATURES' (see the error above)"
		return 1
	}
	local f rest
	for f in ${RS_UNSTABLE_FEATURES//,/ }; do
		rest=$(echo ",$RS_UNSTABLE_FEATURES," | sed "s/,$f,/,/; s/^,//; s/,\$//")
		if build_with_features "$rest" >/dev/null 2>&1; then
			echo "the module no longer needs the unstable feature $f: drop it from RS_UNSTABLE_FEATURES"
			return 1
		fi
	done
}

gate clippy clippy
gate rustfmt rustfmt_check
gate unsafe-boundary unsafe_boundary
gate rust-analyzer rust_analyzer
gate unstable-features unstable_features
exit $rc
