#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# doctor.sh [--quiet] [KDIR]
#
# `make doctor`: can this kernel build tree build an out-of-tree Rust module?
# One sentence per check, each problem with its fix. KDIR defaults to the
# running kernel's, /lib/modules/$(uname -r)/build. Exits 1 when a check
# fails.
#
# `make` runs it with --quiet before Kbuild, which then prints only the
# problems: one sentence instead of a wall of rustc errors (E0514, E0463).
#
# The rustc checked is the one the build will use: $RUSTC when set (Kbuild's
# variable), else RUST_TOOLCHAIN's (scripts/lib.sh).

# The ARCH the user asked for, before scripts/lib.sh supplies a default.
asked_arch=${ARCH:-}
. "$(dirname "$0")/lib.sh"

quiet=
if [ "${1:-}" = --quiet ]; then
	quiet=1
	shift
fi
kdir=${1:-/lib/modules/$(uname -r)/build}
problems=0

ok() { [ -n "$quiet" ] || printf '  ok   %s\n' "$*"; }
# bad SENTENCE FIX
bad() {
	problems=$((problems + 1))
	if [ -n "$quiet" ]; then
		printf 'error: %s\n       Fix: %s\n' "$1" "$2" >&2
	else
		printf '  NO   %s\n       Fix: %s\n' "$1" "$2"
	fi
}
done_checking() {
	if [ "$problems" -gt 0 ]; then
		[ -n "$quiet" ] || echo "$problems problem(s): KDIR=$kdir cannot build rust_sample yet."
		exit 1
	fi
	[ -n "$quiet" ] || echo "KDIR=$kdir can build rust_sample."
	exit 0
}

[ -n "$quiet" ] || echo "Checking KDIR=$kdir"

# What the distribution calls the package with the missing pieces, where
# we know it. $1: what is missing ("headers" or "rust").
distro_hint() {
	local id= release
	release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || true)
	if [ -z "$release" ]; then
		release=${kdir#/lib/modules/}
		release=${release%/build}
	fi
	# Whose kernel: the release string says it for Debian's; otherwise
	# assume this machine's distribution built it.
	case "$release" in
	*+deb[0-9]* | *+bpo*) id=debian ;;
	*) [ -r /etc/os-release ] && id=$(. /etc/os-release && echo "${ID:-}") ;;
	esac
	case "$id:$1" in
	ubuntu:headers) echo "sudo apt install linux-headers-$release" ;;
	ubuntu:rust)
		# 6.8.0-31-generic: ABI 6.8.0-31, flavour generic.
		echo "sudo apt install linux-lib-rust-$release (Ubuntu ships the Rust metadata as linux-lib-rust-<abi>-<flavour>)"
		;;
	debian:headers) echo "sudo apt install linux-headers-$release" ;;
	debian:rust)
		echo "Debian's linux-headers packages ship no Rust metadata; build the kernel yourself (here: 'make kernel' provisions one) and pass KDIR=<that build directory>"
		;;
	*:headers) echo "install your distribution's kernel headers for $release, or pass KDIR=<a kernel build directory>" ;;
	*) echo "build the kernel with CONFIG_RUST=y yourself ('make kernel' here provisions one) and pass KDIR=<that build directory>" ;;
	esac
}

# --- The tree itself. ---
if [ ! -d "$kdir" ]; then
	bad "KDIR=$kdir does not exist." "$(distro_hint headers); or run 'make kernel$([ "$RS_ARCH" = x86_64 ] || echo " ARCH=$RS_ARCH")' and use the provisioned tree (the default of 'make')."
	done_checking
fi
if [ ! -f "$kdir/Makefile" ] || [ ! -f "$kdir/.config" ]; then
	bad "KDIR=$kdir is not a configured kernel build directory: it has no Makefile or no .config." \
		"point KDIR at the directory where the kernel was built (O=), not at its source."
	done_checking
fi
ok "a configured kernel build directory"
config() { sed -n "s/^$1=//p" "$kdir/.config" | tr -d '"'; }

version=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || make -s -C "$kdir" kernelversion 2>/dev/null || true)
case "$version" in
7.2 | 7.2.* | 7.3 | 7.3.*) ok "Linux $version" ;;
*) bad "KDIR=$kdir is Linux ${version:-of unknown version}; rust_sample supports Linux 7.2 and 7.3." "use a 7.2 or 7.3 tree (make kernel KVER=7.3 provisions one)." ;;
esac

if [ "$(config CONFIG_RUST)" != y ]; then
	bad "the kernel is configured without CONFIG_RUST=y, so it cannot load Rust modules." \
		"rebuild it with CONFIG_RUST=y (it needs clang/LLVM, rustc and bindgen: see 'make rustavailable' in the kernel source), or use 'make kernel'."
	done_checking
fi
ok "CONFIG_RUST=y"

if [ -f "$kdir/Module.symvers" ]; then
	ok "Module.symvers (the kernel's exported symbols)"
else
	bad "the tree has no Module.symvers, so modpost cannot resolve the kernel's symbols." \
		"run 'make modules' (or 'make') in the kernel tree; distribution headers always include it."
fi

names() { basename -a "$@" | paste -sd' '; }

# --- The Rust metadata an out-of-tree module compiles against. Matched by
# pattern: which crates exist differs between versions. ---
shopt -s nullglob
rmeta=("$kdir"/rust/*.rmeta)
procmacros=("$kdir"/rust/*.so)
if [ ${#rmeta[@]} -eq 0 ]; then
	bad "CONFIG_RUST=y, but the tree has no Rust metadata (rust/*.rmeta): the kernel's Rust crates were never built here or not shipped with these headers." \
		"$(distro_hint rust)."
elif [ ! -f "$kdir/rust/libkernel.rmeta" ] || [ ! -f "$kdir/rust/libcore.rmeta" ]; then
	bad "the tree's Rust metadata is incomplete: rust/ has ${#rmeta[@]} .rmeta files but not both libcore.rmeta and libkernel.rmeta." \
		"rebuild the kernel's rust/ directory ('make' in the kernel tree)."
else
	ok "Rust metadata: ${#rmeta[@]} crates in rust/ ($(names "${rmeta[@]}"))"
fi
if [ ${#rmeta[@]} -gt 0 ]; then
	if [ ${#procmacros[@]} -eq 0 ]; then
		bad "the tree has no procedural macro libraries (rust/*.so), which module!, #[vtable] and pin_init! expand through." \
			"rebuild the kernel's rust/ directory, or install the package that ships its Rust metadata: $(distro_hint rust)."
	else
		ok "procedural macros: $(names "${procmacros[@]}")"
	fi
fi

if [ ${#rmeta[@]} -gt 0 ] && { [ "$(config CONFIG_BUG)" = y ] || [ "$(config CONFIG_JUMP_LABEL)" = y ]; }; then
	arch=("$kdir"/rust/kernel/generated_arch_*.rs)
	if [ ${#arch[@]} -eq 0 ]; then
		bad "the tree lacks rust/kernel/generated_arch_*.rs, which the kernel crate's warn!/static-branch macros include into every module." \
			"rebuild the kernel's rust/ directory; a headers package must ship rust/kernel/generated_arch_*.rs."
	else
		ok "generated arch files: $(names "${arch[@]}")"
	fi
fi

inline=$(config CONFIG_RUST_INLINE_HELPERS)
if [ "$inline" = y ]; then
	bc=("$kdir"/rust/helpers/*.bc)
	if [ ${#bc[@]} -eq 0 ]; then
		bad "CONFIG_RUST_INLINE_HELPERS=y, but the tree has no rust/helpers/*.bc to link into the module." \
			"rebuild the kernel's rust/ directory; a headers package must ship rust/helpers/*.bc."
	else
		ok "C helpers as LLVM bitcode, for inlining: $(names "${bc[@]}")"
	fi
fi

# --- The compilers. ---
want=$(config CONFIG_RUSTC_VERSION_TEXT)
rustc_cmd=${RUSTC:-${RS_RUST_BIN:+$RS_RUST_BIN/}rustc}
have=$("$rustc_cmd" --version 2>/dev/null || true)
if [ -z "$have" ]; then
	bad "there is no rustc ($rustc_cmd does not run); the tree was built with $want." \
		"install that exact compiler (rustup toolchain install $(echo "$want" | awk '{ print $2 }')), or select one with RUST_TOOLCHAIN."
elif [ "$have" != "$want" ]; then
	fix="use exactly the tree's compiler; a different rustc build cannot read its metadata (error E0514)."
	case "$want" in
	"rustc 1.85.0 "*"(built from a source tarball)") fix="use Debian's 1.85: make RUST_TOOLCHAIN=1.85 ($fix)" ;;
	"rustc 1.96.0 "*"(built from a source tarball)") fix="use Debian's 1.96: make RUST_TOOLCHAIN=1.96 ($fix)" ;;
	*"(built from a source tarball)") fix="install the distribution rustc that built the kernel ($fix)" ;;
	"rustc "*) fix="rustup toolchain install $(echo "$want" | awk '{ print $2 }') and put it first on PATH, or pass RUSTC=<its rustc> ($fix)" ;;
	esac
	bad "the tree was built with '$want', but the build would use '$have'." "$fix"
else
	ok "rustc is the tree's own: $have"
fi

bindgen=${BINDGEN:-bindgen}
if command -v "$bindgen" >/dev/null 2>&1; then
	ok "bindgen: $("$bindgen" --version 2>/dev/null | head -n1) (the tree was built with $(config CONFIG_BINDGEN_VERSION_TEXT))"
else
	bad "bindgen is not installed; Kbuild's Rust support expects it (the tree was built with $(config CONFIG_BINDGEN_VERSION_TEXT))." \
		"cargo install --locked bindgen-cli --version $(config CONFIG_BINDGEN_VERSION_TEXT | awk '{ print $2 }')"
fi

if [ "$(config CONFIG_CC_IS_CLANG)" = y ]; then
	# The tree's clang, and the one LLVM=$RS_LLVM selects for the build.
	cc_major=$(($(config CONFIG_CLANG_VERSION) / 10000))
	suffix=$RS_LLVM
	[ "$suffix" = 1 ] && suffix=
	clang_major=$("clang$suffix" --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n1)
	if [ -z "$clang_major" ]; then
		bad "the tree was built with clang $cc_major, and clang$suffix (LLVM=$RS_LLVM) is not installed." \
			"install clang-$cc_major lld-$cc_major llvm-$cc_major and build with make LLVM=-$cc_major."
	elif [ "$clang_major" != "$cc_major" ]; then
		bad "the tree was built with clang $cc_major, but LLVM=$RS_LLVM selects clang $clang_major$([ "$inline" = y ] && echo "; with CONFIG_RUST_INLINE_HELPERS the helpers' bitcode must come from the LLVM of rustc")." \
			"build with make LLVM=-$cc_major (install clang-$cc_major lld-$cc_major llvm-$cc_major if missing)."
	else
		ok "clang $clang_major, as the tree's$([ "$inline" = y ] && echo "; rustc's LLVM is $(config CONFIG_RUSTC_LLVM_MAJOR_VERSION), so the helpers inline")"
	fi
fi

# --- The architecture: a tree for another one than the host's is a cross
# build. Kbuild needs ARCH= to match the tree, and the tree must be built
# with clang, as the module is (LLVM targets every architecture, and the
# kernel builds Rust's core for its own target, so no cross compiler).
# Running the result (make run, make test) needs the emulator and the guest
# programs' target.
tree_arch=$(kdir_arch "$kdir")
if [ -z "$tree_arch" ]; then
	bad "KDIR=$kdir is built for an architecture rust_sample is not tested on (neither x86_64 nor arm64)." \
		"use an x86_64 or arm64 tree (make kernel, or make kernel ARCH=arm64)."
elif [ -n "$asked_arch" ] && [ "$asked_arch" != "$tree_arch" ] && { [ "$asked_arch" != x86 ] || [ "$tree_arch" != x86_64 ]; }; then
	bad "KDIR=$kdir is an $tree_arch tree, but ARCH=$asked_arch." \
		"build with make ARCH=$tree_arch (or leave ARCH unset: the tree's .config decides)."
elif [ "$tree_arch" = "$(rs_host_arch)" ]; then
	ok "architecture: $tree_arch, the host's"
else
	# A GCC-built tree of another architecture would need a cross GCC,
	# and the Makefile builds with LLVM= (clang targets any architecture).
	if [ "$(config CONFIG_CC_IS_CLANG)" = y ]; then
		ok "architecture: $tree_arch, cross-built from this $(rs_host_arch) host with LLVM=$RS_LLVM"
	else
		bad "KDIR=$kdir is an $tree_arch tree built with GCC; rust_sample cross-builds with LLVM only, so this $(rs_host_arch) host cannot build for it." \
			"build that kernel with LLVM=1 (clang targets $tree_arch itself, no cross compiler needed), or use make kernel ARCH=$tree_arch."
	fi
	# What running it needs; building the module does not, so `make`'s
	# quiet check leaves these to make doctor, make run and make test.
	if [ -z "$quiet" ] && [ "$tree_arch" = arm64 ]; then
		if command -v qemu-system-aarch64 >/dev/null 2>&1; then
			ok "qemu-system-aarch64, to boot it (make run, make test)"
		else
			bad "qemu-system-aarch64 is not installed, so make run and make test cannot boot this arm64 kernel." \
				"apt install qemu-system-arm (or run make kernel ARCH=arm64, which installs it)."
		fi
		# This tree's, which need not be the one lib.sh was set up for.
		target=$(rust_target_of "$tree_arch")
		if [ -d "$(rustc --print sysroot 2>/dev/null)/lib/rustlib/$target" ]; then
			ok "the Rust target $target, for the static guest programs"
		else
			bad "the Rust target $target is not installed, so the guest's test programs cannot be built." \
				"rustup target add $target (or run make kernel ARCH=arm64, which adds it)."
		fi
	fi
fi

done_checking
