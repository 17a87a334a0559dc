#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Provisions a Rust-enabled test kernel: host tools, the Rust library source
# that matches rustc, the kernel source, the configuration and the build
# (bzImage and modules, so Module.symvers exists for out-of-tree modules).
#
# Idempotent: when the build for the current key (kernel version, config
# fragment hash, rustc version) is complete, it returns in seconds.
#
# Environment: KVER (7.3), ARCH (x86_64 or arm64), KERNEL_SRC (use this source
# tree instead of Debian's), RUST_SAMPLE_CACHE, LLVM (default: rustc's LLVM
# major, scripts/lib.sh).

. "$(dirname "$0")/lib.sh"

# Debian's 7.3 source is the one the arm64 kernel is provisioned from.
[ "$RS_ARCH" = x86_64 ] || [ "$RS_KVER" = 7.3 ] ||
	die "ARCH=$RS_ARCH is provisioned for KVER=7.3 only."

build=$(kernel_build_dir)
if [ -f "$build/.rust_sample-complete" ]; then
	# The arm64 guest also needs host tools that a cached kernel does not
	# prove are there (its emulator, the programs' Rust target:
	# provision-host.sh).
	[ "$RS_ARCH" = "$(rs_host_arch)" ] || "$RS_ROOT/scripts/provision-host.sh"
	exit 0
fi

"$RS_ROOT/scripts/provision-host.sh"
# Provisioning may have found no clang for rustc's LLVM: decide again.
llvm_setup
build=$(kernel_build_dir)
[ -f "$build/.rust_sample-complete" ] && exit 0
command -v "${BINDGEN:-bindgen}" >/dev/null 2>&1 ||
	die "bindgen is not installed (${BINDGEN:-bindgen} is not on PATH); install it with: cargo install --locked bindgen-cli --version 0.73.2"

# --- The Rust library source matching `rustc --version` exactly. ---
rust_lib_src=
sysroot_src="$(rs_rustc --print sysroot)/lib/rustlib/src/rust/library"
debian_src=$(rust_lib_src_dir)
if [ -d "$sysroot_src/core" ]; then
	rust_lib_src=$sysroot_src
elif [ -d "$debian_src/core" ]; then
	rust_lib_src=$debian_src
else
	msg "trying 'rustup component add rust-src' (15 s at most)"
	if command -v rustup >/dev/null 2>&1 &&
		timeout 15 rustup component add rust-src >/dev/null 2>&1 &&
		[ -d "$sysroot_src/core" ]; then
		rust_lib_src=$sysroot_src
	else
		msg "rustup could not fetch rust-src; using Debian's rust-src $(rustc_semver)"
		"$RS_ROOT/scripts/debian-fetch.sh" rust-src "$(rustc_semver)+dfsg*" \
			"$RS_CACHE/rust-src/$(rustc_semver)"
		rust_lib_src=$debian_src
	fi
fi
[ -d "$rust_lib_src/core" ] || die "no Rust library source for $(rustc_version) at $rust_lib_src"

# --- The kernel source. ---
src=$(kernel_src_dir)
if [ -n "${KERNEL_SRC:-}" ]; then
	[ -f "$src/Makefile" ] && [ -d "$src/rust" ] ||
		die "KERNEL_SRC=$src is not a Linux source tree with Rust support"
elif [ ! -f "$src/.rust_sample-unpacked" ]; then
	deb_dir=$RS_CACHE/deb/$RS_KSRC_PKG-$RS_KSRC_PKGVER
	"$RS_ROOT/scripts/debian-fetch.sh" "$RS_KSRC_PKG" "$RS_KSRC_PKGVER" "$deb_dir"
	msg "unpacking $RS_KSRC_PKG $RS_KSRC_PKGVER"
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf "$deb_dir/usr/src/$RS_KSRC_PKG.tar.xz" -C "$src" --strip-components=1
	touch "$src/.rust_sample-unpacked"
fi

# --- Configuration. ---
kmake() {
	make -C "$src" O="$build" ARCH="$RS_ARCH" LLVM="$RS_LLVM" "${RS_RUST_MAKE_VARS[@]}" \
		RUST_LIB_SRC="$rust_lib_src" "$@"
}

mkdir -p "$build"
echo "$rust_lib_src" >"$build/.rust_sample-rust-lib-src"

if ! kmake rustavailable >"$build/rustavailable.log" 2>&1; then
	cat "$build/rustavailable.log" >&2
	die "the toolchain cannot build Rust for this kernel (see above)"
fi

msg "configuring $(kernel_key): tinyconfig + $(fragment_files | xargs -n1 basename | tr '\n' ' ')with LLVM=$RS_LLVM"
inline_helpers || msg "rustc's LLVM is $RS_RUSTC_LLVM_MAJOR and clang's is ${RS_LLVM_MAJOR:-unknown}: building without CONFIG_RUST_INLINE_HELPERS"
kmake -s tinyconfig >/dev/null
# shellcheck disable=SC2046
(cd "$build" && "$src/scripts/kconfig/merge_config.sh" -m -O "$build" .config $(fragment_files) >/dev/null)
kmake -s olddefconfig >/dev/null

# Kconfig silently drops options whose dependencies are unmet: name each one.
dropped=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$build/.config" || dropped+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$build/.config" || echo unset))")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		if grep -qE "^$opt=[ym]" "$build/.config"; then
			dropped+=("$line (got: $(grep -E "^$opt=" "$build/.config"))")
		fi
		;;
	esac
done < <(cat $(fragment_files))
if [ ${#dropped[@]} -gt 0 ]; then
	printf 'error: Kconfig did not keep these options:\n' >&2
	printf '  %s\n' "${dropped[@]}" >&2
	exit 1
fi

# --- Build. ---
msg "building the $RS_FLAVOUR kernel $RS_KVER for $RS_ARCH ($(nproc) jobs; about 6 minutes on 2 cores)"
start=$(date +%s)
# The boot image (bzImage, or arm64's uncompressed Image) and the modules.
if ! kmake -j"$(nproc)" "$(basename "$RS_KIMAGE")" modules >"$build/build.log" 2>&1; then
	tail -n 40 "$build/build.log" >&2
	die "the kernel build failed; full log: $build/build.log"
fi
msg "kernel built in $(($(date +%s) - start)) s: $build"
touch "$build/.rust_sample-complete"
