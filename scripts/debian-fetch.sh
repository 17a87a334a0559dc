#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# [DEB_ARCH=arm64] debian-fetch.sh PACKAGE VERSION DESTDIR
#
# Downloads one .deb from Debian trixie / trixie-backports and unpacks it
# into DESTDIR with `dpkg-deb -x`. Nothing is installed on the host and the
# host's apt configuration is left alone: apt runs with a private source list
# and a private state directory under the cache. The mirror is whatever the
# host already uses for Debian, read from /etc/apt/sources.list*.

. "$(dirname "$0")/lib.sh"

pkg=$1 ver=$2 dest=$3
# DEB_ARCH: the architecture of the package (default: the host's). Another
# one (arm64's busybox for the arm64 guest) gets package lists of its own;
# no foreign architecture is added to the host's dpkg.
deb_arch=${DEB_ARCH:-$(dpkg --print-architecture)}

if [ -f "$dest/.done" ]; then
	exit 0
fi

# The first plain Debian archive URI the host is configured with, in either
# the one-line or the deb822 format.
mirror_uri() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		case "$f" in
		*.sources)
			awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
			;;
		*)
			awk '/^deb[ \t]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
			;;
		esac
	done | grep -E '/debian/?$' | head -n1
}

apt_dir=$RS_CACHE/apt
[ "$deb_arch" = "$(dpkg --print-architecture)" ] || apt_dir+=-$deb_arch
uri=$(mirror_uri)
[ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list*; cannot fetch $pkg"

mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/debs"
cat >"$apt_dir/sources.list" <<EOS
deb [arch=$deb_arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main
deb [arch=$deb_arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie-backports main
EOS

apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o "Dir::Etc::SourceParts=$apt_dir/parts"
	-o "Dir::State=$apt_dir/state"
	-o "Dir::State::status=/dev/null"
	-o "APT::Architecture=$deb_arch"
	-o "APT::Architectures=$deb_arch"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Debug::NoLocking=1"
	-o "APT::Sandbox::User=root"
	-q
)

update_lists() {
	# Refreshed at most once per hour: a fresh machine fetches the lists, a
	# second package in the same run reuses them.
	local stamp=$apt_dir/state/updated
	if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +60)" ]; then
		msg "reading the trixie package lists"
		apt-get "${apt_opts[@]}" update >&2
		touch "$stamp"
	fi
}

# VERSION may be a glob ("1.95.0+dfsg*"): take the newest version that
# matches it.
if [[ "$ver" == *'*'* ]]; then
	update_lists
	pattern=$ver
	ver=$(apt-cache "${apt_opts[@]}" madison "$pkg" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		while read -r v; do if [[ "$v" == $pattern ]]; then echo "$v"; fi; done | head -n1)
	[ -n "$ver" ] || die "Debian trixie has no $pkg matching $pattern"
fi

find_deb() { ls "$apt_dir/debs/${pkg}_"*.deb 2>/dev/null | grep -F "_${ver//:/%3a}_" | head -n1 || true; }

deb=$(find_deb)
if [ -z "$deb" ]; then
	update_lists
	msg "downloading $pkg $ver"
	(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "$pkg=$ver" >&2)
	deb=$(find_deb)
fi
[ -n "$deb" ] || die "could not download $pkg $ver from Debian trixie"

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
dpkg-deb -x "$deb" "$dest.tmp"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.done"
