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
