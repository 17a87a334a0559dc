# SPDX-License-Identifier: GPL-2.0
#
# Shared settings for the rust_sample scripts. Sourced, never executed.
#
# Everything that is downloaded or built lives in one cache directory,
# outside the repository:
#
#   RUST_SAMPLE_CACHE   default: ${XDG_CACHE_HOME:-$HOME/.cache}/rust_sample
#
# The test kernel is keyed by kernel version, architecture, a hash of the
# config fragments, `rustc --version` and the LLVM suffix, so a change to
# any of them builds a new tree next to the old one instead of reusing a
# stale one.

set -euo pipefail

RS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RS_CACHE=${RUST_SAMPLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_sample}

# The kernel series the project supports, and the Debian package that
# carries each one's source (pinned, so every machine builds the same tree).
RS_KVER=${KVER:-7.3}
case "$RS_KVER" in
7.3) RS_KSRC_PKG=linux-source-7.3 RS_KSRC_PKGVER=7.3.4-1~bpo13+1 ;;
7.2) RS_KSRC_PKG=linux-source-7.2 RS_KSRC_PKGVER=7.2.12-1~bpo13+1 ;;
*)
	echo "error: unsupported KVER=$RS_KVER; this project supports Linux 7.2 and 7.3." >&2
	exit 1
	;;
esac

# The architecture, ARCH in the kernel's spelling: x86_64 (the default, on
# any host) or arm64 (provisioned for 7.3 only; cross-built with the same
# LLVM, booted under qemu-system-aarch64, 16K pages:
# scripts/config/arm64.config). Exported, so every Kbuild invocation of the
# scripts (the module, clippy, rust-analyzer) builds for it. A user's KDIR
# says its own: when KDIR is set and ARCH is not, the tree's .config
# decides.
# kdir_arch DIR: the architecture a configured kernel tree is for (x86_64,
# arm64), or nothing for another one.
kdir_arch() {
	if grep -qx 'CONFIG_ARM64=y' "$1/.config" 2>/dev/null; then
		echo arm64
	elif grep -qx 'CONFIG_X86_64=y' "$1/.config" 2>/dev/null; then
		echo x86_64
	fi
}
# rust_target_of ARCH: the Rust target of the static guest programs.
rust_target_of() {
	case "$1" in
	arm64) echo aarch64-unknown-linux-musl ;;
	*) echo x86_64-unknown-linux-gnu ;;
	esac
}
if [ -z "${ARCH:-}" ] && [ -n "${KDIR:-}" ]; then
	ARCH=$(kdir_arch "$KDIR")
fi
RS_ARCH=${ARCH:-x86_64}
case "$RS_ARCH" in
x86_64 | x86) RS_ARCH=x86_64 RS_KIMAGE=arch/x86/boot/bzImage ;;
arm64) RS_KIMAGE=arch/arm64/boot/Image ;;
*)
	echo "error: unsupported ARCH=$RS_ARCH; this project builds for x86_64 and arm64." >&2
	exit 1
	;;
esac
export ARCH=$RS_ARCH
RS_RUST_TARGET=$(rust_target_of "$RS_ARCH")
# The host's own architecture, in the kernel's spelling: a build for
# another one is a cross build (scripts/doctor.sh names its tools).
rs_host_arch() { case "$(uname -m)" in aarch64) echo arm64 ;; *) uname -m ;; esac; }

# The kernel flavour: "test" (the default), "debug" (test + the checkers
# of scripts/config/debug.config) or "coverage" (test + KCOV for the
# modules and failslab, scripts/config/coverage.config; make coverage).
# Part of the cache key.
RS_FLAVOUR=${FLAVOUR:-test}
case "$RS_FLAVOUR" in
test | debug | coverage) ;;
*)
	echo "error: unknown FLAVOUR=$RS_FLAVOUR; use test, debug or coverage." >&2
	exit 1
	;;
esac

# The Rust toolchain that builds the kernel and the module, RUST_TOOLCHAIN:
#
#   host   the rustc on PATH: rustup's, or the user's own (the default)
#   1.85   Debian bookworm's rustc-web 1.85.0, the kernel's minimum (LLVM 19)
#   1.96   Debian bookworm-security's rustc-web 1.96.0 (LLVM 22)
#
# A Debian one is unpacked under the cache, never installed (rustc-web would
# take /usr/bin/rustc), by scripts/fetch-rust-toolchain.sh, and reached
# through its wrappers, which point the loader at its librustc_driver. Only
# Kbuild gets it (RUSTC=, RUSTDOC=, CLIPPY_DRIVER=); cargo and the userspace
# test programs keep the host's toolchain.
RS_TOOLCHAIN=${RUST_TOOLCHAIN:-host}
case "$RS_TOOLCHAIN" in
host) RS_RUST_BIN= ;;
1.85 | 1.96) RS_RUST_BIN=$RS_CACHE/toolchain/rust-$RS_TOOLCHAIN/bin ;;
*)
	echo "error: unknown RUST_TOOLCHAIN=$RS_TOOLCHAIN; use host, 1.85 or 1.96." >&2
	exit 1
	;;
esac
if [ -n "$RS_RUST_BIN" ] && [ ! -x "$RS_RUST_BIN/rustc" ]; then
	"$RS_ROOT/scripts/fetch-rust-toolchain.sh" "$RS_TOOLCHAIN" >&2
fi
# rustc of the selected toolchain.
rs_rustc() { "${RS_RUST_BIN:+$RS_RUST_BIN/}rustc" "$@"; }
# What Kbuild needs to use it, one assignment a line (none for the host's).
rust_make_vars() {
	[ -z "$RS_RUST_BIN" ] ||
		printf '%s\n' "RUSTC=$RS_RUST_BIN/rustc" "RUSTDOC=$RS_RUST_BIN/rustdoc" \
			"CLIPPY_DRIVER=$RS_RUST_BIN/clippy-driver"
}
# The same, as an array for make's command line.
mapfile -t RS_RUST_MAKE_VARS < <(rust_make_vars)

# The LLVM toolchain (LLVM=-22 means clang-22, ld.lld-22, ...). By default
# the major of rustc's own LLVM, read from `rustc -vV`, so that clang and
# rustc agree and CONFIG_RUST_INLINE_HELPERS can inline the C helpers into
# Rust code. scripts/provision-host.sh installs that clang; where Debian has
# none, it leaves a marker and the build falls back to clang-19 without
# inline helpers. LLVM= on the command line stays an override (a user's own
# KDIR is built with whatever it was configured with).
rustc_llvm_major() { rs_rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'; }
RS_FALLBACK_LLVM=-19
no_clang_marker() { echo "$RS_CACHE/toolchain/no-clang-$1"; }
llvm_setup() {
	local m
	m=$(rustc_llvm_major)
	# Kept: the kernel key and the fragment list ask for it many times.
	RS_RUSTC_LLVM_MAJOR=$m
	if [ -n "${LLVM:-}" ]; then
		RS_LLVM=$LLVM
	elif [ -n "$m" ] && [ ! -e "$(no_clang_marker "$m")" ]; then
		RS_LLVM=-$m
	else
		RS_LLVM=$RS_FALLBACK_LLVM
	fi
	# The major that the suffix names ("22" from "-22"; empty for LLVM=1).
	RS_LLVM_MAJOR=${RS_LLVM#-}
	case "$RS_LLVM_MAJOR" in *[!0-9]* | '') RS_LLVM_MAJOR= ;; esac
}
llvm_setup

msg() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise,
# and when neither works, prints the exact command and stops.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo "$@"
	else
		die "root is needed; run this and try again: sudo $*"
	fi
}

# `rustc --version` of the toolchain that builds the module; the kernel and
# the Rust library source must match it exactly.
rustc_version() { rs_rustc --version; }

# "1.95.0" from "rustc 1.95.0 (59807616e 2026-04-14)".
rustc_semver() { rustc_version | awk '{ print $2 }'; }

# Whether the C helpers can be inlined into Rust: clang and rustc on the
# same LLVM major, and that clang installed (provision-host.sh tries).
inline_helpers() {
	[ -n "$RS_LLVM_MAJOR" ] && [ "$RS_LLVM_MAJOR" = "$RS_RUSTC_LLVM_MAJOR" ]
}

fragment_files() {
	echo "$RS_ROOT/scripts/config/test.config"
	echo "$RS_ROOT/scripts/config/$RS_ARCH.config"
	if inline_helpers; then
		echo "$RS_ROOT/scripts/config/inline-helpers.config"
	fi
	case "$RS_FLAVOUR" in
	debug) echo "$RS_ROOT/scripts/config/debug.config" ;;
	coverage) echo "$RS_ROOT/scripts/config/coverage.config" ;;
	esac
}

# The cache key of one kernel build: the fragments (which include whether
# the helpers are inlined), rustc and the LLVM suffix.
kernel_key() {
	local h
	h=$(cat $(fragment_files) | sha256sum | cut -c1-12)
	local r
	r=$({ rustc_version; echo "LLVM=$RS_LLVM"; } | sha256sum | cut -c1-8)
	echo "$RS_KVER-$RS_ARCH-$RS_FLAVOUR-$h-$r"
}

# Where the kernel source tree lives: a user's own (KERNEL_SRC) or the
# unpacked Debian source.
kernel_src_dir() {
	if [ -n "${KERNEL_SRC:-}" ]; then
		echo "$KERNEL_SRC"
	else
		echo "$RS_CACHE/src/linux-$RS_KSRC_PKGVER"
	fi
}

kernel_build_dir() { echo "$RS_CACHE/build/linux-$(kernel_key)"; }

# Where Kbuild writes the module built against kernel build directory $1
# (MO=), so builds against several kernels never share objects; KUNIT=y
# (the test build, with the KUnit suites) has its own directory.
kbuild_out_dir() {
	local d
	d=$RS_ROOT/build/kbuild/$(basename "$1")
	[ "${KUNIT:-n}" = y ] && d+=-kunit
	[ "${COVERAGE:-n}" = y ] && d+=-kcov
	[ "${LINES:-n}" = y ] && d+=-lines
	echo "$d"
}

# The console lines fault injection causes on purpose (the debug run and
# make coverage): the allocator says an allocation failed, with a warning
# that is not a bug; so does kmemleak, and so does the trace-event code when
# a field of a module's event cannot be allocated at load
# (trace_define_field's only error is ENOMEM).
RS_FAULT_WARNINGS='vmalloc error: |page allocation failure: |kmemleak: Cannot allocate a scan area|WARNING: kernel/trace/trace_events.c:[0-9]+ at event_define_fields'

rust_lib_src_dir() { echo "$RS_CACHE/rust-src/$(rustc_semver)/usr/src/rustc-$(rustc_semver)/library"; }

export PATH="$HOME/.cargo/bin:$PATH"
