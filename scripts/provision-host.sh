#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs the host tools the build and the VM runner need: Debian packages
# and bindgen. Idempotent: a second run that has nothing to do returns at once.

. "$(dirname "$0")/lib.sh"

PACKAGES=(
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev
	cpio busybox-static qemu-system-x86 kmod python3
	make gcc xz-utils
)

BINDGEN_VERSION=0.73.2

# The clang of rustc's LLVM major (scripts/lib.sh), for inline helpers.
# Optional: where Debian has no such clang, a marker makes the build fall
# back to clang-19 without inline helpers, and this says so in one line.
m=$(rustc_llvm_major)
if [ -z "${LLVM:-}" ] && [ -n "$m" ] && [ "$m" != 19 ] && [ ! -e "$(no_clang_marker "$m")" ]; then
	llvm_pkgs=("clang-$m" "lld-$m" "llvm-$m")
	installed=$(dpkg-query -W -f='${Status}\n' "${llvm_pkgs[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)
	if [ "$installed" -ne 3 ]; then
		msg "installing ${llvm_pkgs[*]} (rustc uses LLVM $m; the C helpers get inlined into Rust)"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
		if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${llvm_pkgs[@]}" >&2; then
			mkdir -p "$(dirname "$(no_clang_marker "$m")")"
			touch "$(no_clang_marker "$m")"
			msg "Debian has no clang-$m for rustc's LLVM $m: building with LLVM=$RS_FALLBACK_LLVM, without CONFIG_RUST_INLINE_HELPERS"
		fi
	fi
fi

# A cross test kernel: its emulator, and the Rust target of the static
# guest programs (scripts/stage.sh); busybox comes from Debian's package
# for that architecture (scripts/initramfs.sh).
if [ "$RS_ARCH" = arm64 ]; then
	PACKAGES+=(qemu-system-arm)
	if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$RS_RUST_TARGET" ]; then
		msg "adding the Rust target $RS_RUST_TARGET (rustup)"
		rustup target add "$RS_RUST_TARGET" >&2 ||
			die "could not add the Rust target $RS_RUST_TARGET; run: rustup target add $RS_RUST_TARGET"
	fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	msg "installing host packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v bindgen >/dev/null 2>&1 ||
	[ "$(bindgen --version | awk '{ print $2 }')" != "$BINDGEN_VERSION" ]; then
	msg "installing bindgen-cli $BINDGEN_VERSION with cargo (about 80 s)"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib \
		cargo install --locked bindgen-cli --version "$BINDGEN_VERSION"
fi
