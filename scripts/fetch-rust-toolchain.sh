#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-rust-toolchain.sh 1.85|1.96
#
# Unpacks one of Debian bookworm's rustc-web compilers under the cache, with
# the library source and clippy of the same build, and writes wrappers for
# rustc, rustdoc and clippy-driver in $RS_CACHE/toolchain/rust-NAME/bin.
#
# Nothing is installed: `apt-get download` fetches the packages through the
# host's own apt sources (bookworm and bookworm-security), and `dpkg-deb -x`
# unpacks them. Installing rustc-web would replace the user's /usr/bin/rustc.
# The binaries find their librustc_driver through LD_LIBRARY_PATH, which only
# the wrappers set. About 110 MB downloaded; 270 MB kept.

name=$1
# lib.sh would ask for this very toolchain; the host's is enough here.
export RUST_TOOLCHAIN=host
. "$(dirname "$0")/lib.sh"

case "$name" in
1.85) pattern='1.85.0+dfsg*' ;; # bookworm: the kernel's minimum rustc
1.96) pattern='1.96.0+dfsg*' ;; # bookworm-security
*) die "fetch-rust-toolchain.sh: unknown toolchain $name (1.85 or 1.96)" ;;
esac

dir=$RS_CACHE/toolchain/rust-$name
[ -x "$dir/bin/rustc" ] && exit 0

# The newest rustc-web of that series the host's apt knows; the lists are
# refreshed once if it knows none.
newest() {
	apt-cache madison rustc-web 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		while read -r v; do if [[ "$v" == $pattern ]]; then echo "$v"; fi; done | head -n1
}
ver=$(newest)
if [ -z "$ver" ]; then
	msg "refreshing the apt lists to find rustc-web $pattern"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	ver=$(newest)
fi
[ -n "$ver" ] || die "the host's apt sources have no rustc-web $pattern (Debian bookworm and bookworm-security do)"

debs=$RS_CACHE/deb/rust-web-$ver
mkdir -p "$debs"
pkgs=(rustc-web "libstd-rust-web-$name" libstd-rust-web-dev rust-web-src rust-web-clippy)
msg "downloading Debian's rustc-web $ver (${pkgs[*]}; about 110 MB)"
(cd "$debs" && apt-get -qq -o APT::Sandbox::User=root download "${pkgs[@]/%/=$ver}" >/dev/null) ||
	die "could not download rustc-web $ver"

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/bin"
for p in "${pkgs[@]}"; do
	dpkg-deb -x "$debs/${p}_${ver//:/%3a}_"*.deb "$dir.tmp"
done
# The kernel needs only the standard library's source (RUST_LIB_SRC); the
# package carries the whole compiler's.
src=$(echo "$dir.tmp"/usr/src/rustc-*)
find "$src" -mindepth 1 -maxdepth 1 ! -name library -exec rm -rf {} +
rm -f "$debs"/*.deb

for tool in rustc rustdoc clippy-driver; do
	cat >"$dir.tmp/bin/$tool" <<EOF
#!/bin/sh
# Debian's $tool $ver, unpacked by scripts/fetch-rust-toolchain.sh.
LD_LIBRARY_PATH=$dir/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} exec $dir/usr/bin/$tool "\$@"
EOF
	chmod +x "$dir.tmp/bin/$tool"
done
rm -rf "$dir"
mv "$dir.tmp" "$dir"
"$dir/bin/rustc" --version >/dev/null || die "the unpacked rustc $ver does not run"
msg "Rust toolchain $name: $("$dir/bin/rustc" --version) in $dir"
