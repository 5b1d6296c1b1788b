#!/usr/bin/env bash
# tests/dkms/run.sh — the DKMS check: an operator's `make install-module`
# followed by `dkms install` builds and installs hftmon.ko for every kernel
# installed, as kmod/dkms.conf promises (AUTOINSTALL).
#
# Usage: tests/dkms/run.sh STAGE KVER...
#   STAGE  scratch directory (emptied first)
#   KVER   kernel releases with headers in /lib/modules/KVER/build (the
#          Makefile passes every one installed)
#
# Everything dkms writes stays under STAGE: the /usr/src tree comes from
# `make install-module DESTDIR=STAGE/root`, and dkms runs with its
# --sourcetree, --dkmstree and --installtree there and a signing key of
# its own (dkms signs what it builds; the host's /var/lib/dkms is left
# alone). Checks, each against what the tree itself says:
#   - dkms add once, then for each KVER: dkms build/install succeed,
#     `dkms status` says "installed", and the installed module's name is
#     hftmon, its vermagic names KVER, its version is dkms.conf's
#     PACKAGE_VERSION, and it carries a signature;
#   - dkms remove --all takes every module out of the install tree again.
# Output: TAP-ish lines, one line per kernel "dkms: KVER: ok|FAILED", and a
# last line "dkms: N passed, M failed". Exit 0 only if every check passed.
set -euo pipefail

stage=${1:?usage: run.sh STAGE KVER...}
shift
(($#)) || { echo "dkms: no kernel given (usage: run.sh STAGE KVER...)"; exit 1; }
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# dkms runs make in the kernel's tree: a calling make's variables (O= above
# all, which kbuild takes for its output tree) must not reach it. (The
# install-module step keeps them: it is our own Makefile, with our O.)
dkms() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES dkms "$@"; }

command -v dkms >/dev/null || { echo "dkms: not installed (tools/vm/deps.sh installs it)"; exit 1; }
for kver in "$@"; do
	[[ -d /lib/modules/$kver/build ]] || { echo "dkms: no headers at /lib/modules/$kver/build"; exit 1; }
done
echo "dkms: kernels: $*"

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/kmod/dkms.conf")
[[ -n $version ]] || { echo "dkms: no PACKAGE_VERSION in kmod/dkms.conf"; exit 1; }

rm -rf "$stage"
mkdir -p "$stage/dkms" "$stage/inst" "$stage/key"
stage=$(cd "$stage" && pwd)

# dkms takes the signing key from the environment before its defaults.
export mok_signing_key=$stage/key/mok.key mok_certificate=$stage/key/mok.pub
trees=(--sourcetree "$stage/root/usr/src" --dkmstree "$stage/dkms"
       --installtree "$stage/inst" --no-depmod)

pass=0 fail=0
check() { # check DESCRIPTION CMD...: run CMD, count and print the result
	local what=$1
	shift
	if "$@" >>"$stage/log" 2>&1; then
		echo "ok - $what"
		pass=$((pass + 1))
	else
		echo "not ok - $what (log: $stage/log)"
		tail -n 20 "$stage/log" | sed 's/^/# /'
		fail=$((fail + 1))
	fi
}

# The source tree only: the Makefile's own module build is not what is tested.
check "make install-module writes /usr/src/hftmon-$version" \
	make -s -C "$top" install-module DESTDIR="$stage/root"
check "dkms add" dkms add -m hftmon -v "$version" "${trees[@]}"

per_kernel=()
for kver in "$@"; do
	before=$fail
	mkdir -p "$stage/inst/$kver"
	check "dkms build for $kver" dkms build -m hftmon -v "$version" -k "$kver" "${trees[@]}"
	if ((fail > before)); then	# the rest would fail for the same reason
		grep -m 10 -E 'error:' "$stage/dkms/hftmon/$version/build/make.log" 2>/dev/null | sed 's/^/# /'
		per_kernel+=("dkms: $kver: FAILED (the module did not build)")
		continue
	fi
	check "dkms install for $kver" dkms install -m hftmon -v "$version" -k "$kver" "${trees[@]}"

	status=$(dkms status -m hftmon -v "$version" -k "$kver" "${trees[@]}" 2>&1 || true)
	echo "# dkms status: $status"
	check "dkms status says installed for $kver" grep -q ": installed" <<<"$status"

	ko=$(find "$stage/inst/$kver" -name 'hftmon.ko*' | head -n 1)
	echo "# installed: ${ko#"$stage"/}"
	check "the module is in the install tree for $kver" test -n "$ko"
	if [[ -n $ko ]]; then
		name=$(modinfo -F name "$ko") vermagic=$(modinfo -F vermagic "$ko")
		modver=$(modinfo -F version "$ko") signer=$(modinfo -F signer "$ko")
		echo "# name $name, version $modver, vermagic $vermagic, signer $signer"
		check "its name is hftmon" test "$name" = hftmon
		check "its vermagic is for $kver" test "${vermagic%% *}" = "$kver"
		check "its version is dkms.conf's $version" test "$modver" = "$version"
		check "it is signed by the key dkms was given" test -n "$signer"
	fi
	if ((fail == before)); then per_kernel+=("dkms: $kver: ok"); else per_kernel+=("dkms: $kver: FAILED"); fi
done

check "dkms remove --all" dkms remove -m hftmon -v "$version" --all "${trees[@]}"
check "nothing left in the install tree" \
	test -z "$(find "$stage/inst" -name 'hftmon.ko*')"

printf '%s\n' "${per_kernel[@]}"
echo "dkms: $pass passed, $fail failed"
((fail == 0))
