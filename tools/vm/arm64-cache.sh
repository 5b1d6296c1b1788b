#!/usr/bin/env bash
# tools/vm/arm64-cache.sh — Debian's arm64 kernel, its headers and an arm64
# busybox, unpacked (not installed) for the arm64 tier: the module is
# cross-built against those headers and the guest boots that kernel in
# qemu-system-aarch64 (make arm64, make test-vm-arm64). Run by
# tools/vm/deps.sh after the host packages (gcc-aarch64-linux-gnu,
# qemu-system-arm, linux-kbuild-*) are in.
#
# Usage:  tools/vm/arm64-cache.sh          fetch and unpack what is missing
#         tools/vm/arm64-cache.sh --dir    print the cached tree of the
#                                          current ABI (exit 1 if none)
#
# The kernel is the one linux-image-arm64 depends on now (Debian bumps the
# ABI with security updates; never hard-coded): its image package, its
# linux-headers-<abi>-arm64 and the linux-headers-*-common that needs, all
# fetched with apt-get download (after dpkg --add-architecture arm64 and
# an apt-get update, the first time) and unpacked with dpkg-deb into
#   $HFTMON_CACHE/arm64/<abi>/  (HFTMON_CACHE: ~/.cache/hftmon)
#     boot/vmlinuz-<abi>                    the kernel (an uncompressed Image)
#     usr/src/linux-headers-<abi>           KDIR for kbuild
#     usr/src/linux-headers-<common>        what its Makefile includes
#     bin/busybox                           busybox-static:arm64's
# with the headers' absolute include and their scripts/ and tools/ links
# pointed at this tree and at the host's own /usr/lib/linux-kbuild-*
# (host binaries: kbuild cross-builds with them). $HFTMON_CACHE/arm64/
# current links to the ABI's tree, which holds .complete once whole; other
# ABIs' trees are removed. Idempotent: one apt-cache query and one line
# when everything is there.
set -euo pipefail

cache=${HFTMON_CACHE:-$HOME/.cache/hftmon}/arm64
prog=${0##*/}
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

if [[ ${1:-} == --dir ]]; then
	[[ -f $cache/current/.complete ]] ||
		die "no arm64 kernel in $cache (run tools/vm/deps.sh)"
	readlink -f "$cache/current"
	exit 0
fi

SUDO=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || die "not root and no sudo: run as root"
	SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
fi
export DEBIAN_FRONTEND=noninteractive

# dep_of PKG PREFIX: the first dependency of PKG (its candidate version)
# whose name starts with PREFIX, bare (apt-cache, no network); empty when
# apt knows no PKG (apt-cache then exits 100, which pipefail would make
# the script's exit: on a fresh machine the arm64 lists are not there yet).
dep_of() {
	{ apt-cache show --no-all-versions "$1" 2>/dev/null || true; } |
		sed -n 's/^Depends: //p' | tr ',|' '\n' |
		sed -n "s/^ *\($2[^ :]*\).*/\1/p" | head -n 1
}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "deps: dpkg --add-architecture arm64"
	"${SUDO[@]}" dpkg --add-architecture arm64
fi
abi=$(dep_of linux-image-arm64:arm64 linux-image-)
if [[ -z $abi ]]; then
	echo "deps: apt-get update (for the arm64 package lists)"
	"${SUDO[@]}" apt-get update -q >/dev/null
	abi=$(dep_of linux-image-arm64:arm64 linux-image-)
fi
abi=${abi#linux-image-}
[[ -n $abi ]] || die "apt knows no linux-image-arm64:arm64 (check the apt sources)"

dest=$cache/$abi
if [[ -f $dest/.complete ]]; then
	ln -sfn "$abi" "$cache/current"
	echo "deps: arm64 kernel $abi present ($dest)"
	exit 0
fi

common=$(dep_of "linux-headers-$abi:arm64" linux-headers-)
[[ -n $common ]] || die "linux-headers-$abi:arm64 names no common headers"
echo "deps: fetching the arm64 kernel $abi, its headers ($common) and busybox-static:arm64"
rm -rf "$dest"
mkdir -p "$dest/.debs"
(cd "$dest/.debs" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "linux-image-$abi:arm64" \
	"linux-headers-$abi:arm64" "$common" busybox-static:arm64 >/dev/null)
for deb in "$dest"/.debs/linux-headers-*.deb; do
	dpkg-deb -x "$deb" "$dest"
done
# The image package is mostly modules: only the kernel and its config.
dpkg-deb --fsys-tarfile "$dest"/.debs/linux-image-*.deb |
	tar -x -C "$dest" ./boot/
mkdir -p "$dest/tmp-bb" "$dest/bin"
dpkg-deb -x "$dest"/.debs/busybox-static_*.deb "$dest/tmp-bb"
mv "$dest/tmp-bb/bin/busybox" "$dest/bin/busybox"
rm -rf "$dest/tmp-bb" "$dest/.debs"

kdir=$dest/usr/src/linux-headers-$abi
[[ -f $dest/boot/vmlinuz-$abi && -f $kdir/Makefile && -d $dest/usr/src/$common ]] ||
	die "unexpected layout in the packages of $abi"
# The headers include the common ones by an absolute /usr/src path, and
# reach the kbuild tools through relative links into /usr/lib.
sed -i "s|^include /usr/src/$common/|include $dest/usr/src/$common/|" "$kdir/Makefile"
kbuild=$(readlink "$kdir/scripts")
kbuild=/usr/lib/$(basename "$(dirname "$kbuild")")
[[ -d $kbuild/scripts ]] || die "$kbuild missing: install $(basename "$kbuild")"
for tree in "$kdir" "$dest/usr/src/$common"; do
	for link in scripts tools; do
		[[ -L $tree/$link ]] && ln -sfn "$kbuild/$link" "$tree/$link"
	done
done
touch "$dest/.complete"
ln -sfn "$abi" "$cache/current"
for old in "$cache"/*/; do
	old=${old%/}
	[[ $old == "$dest" || -L $old ]] || rm -rf "$old"
done
echo "deps: arm64 kernel $abi unpacked in $dest"
