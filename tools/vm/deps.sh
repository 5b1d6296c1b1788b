#!/usr/bin/env bash
# tools/vm/deps.sh — install every Debian package hftmon needs to build and test.
#
# Usage:  tools/vm/deps.sh          (as root, or as a user with sudo)
#         tools/vm/deps.sh --list   (print the package list and exit)
#
# Then the arm64 tier's files, which are not installed but unpacked
# (tools/vm/arm64-cache.sh): Debian's arm64 kernel, its headers and an
# arm64 busybox, under ~/.cache/hftmon/arm64.
#
# Idempotent and non-interactive (DEBIAN_FRONTEND=noninteractive): asks
# dpkg-query which packages are missing and does nothing else (well under
# 2 s) when none are. Otherwise runs `apt-get update` and
# `apt-get install -y --no-install-recommends` for the missing ones.
# Targets Debian 12 (bookworm). Exit status: 0 when everything is installed,
# non-zero if installation failed or is impossible (not root, no sudo).
set -euo pipefail

PACKAGES=(
	# host build of the module, the library and the tools
	build-essential pkg-config libelf-dev libssl-dev dwarves
	# the Debian 12 kernels hftmon supports, each with its headers: 6.1
	# (the default, the one the VM boots unless told) and 6.12, generic
	# and PREEMPT_RT; the VM tier boots each (tools/vm/each-kernel.sh)
	linux-image-amd64 linux-headers-amd64
	linux-image-rt-amd64 linux-headers-rt-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
	# the DKMS check (tests/dkms): dkms, modinfo, openssl for its key
	dkms kmod openssl
	# unit tests (cmocka), NUMA support in the library, and libpfm4 for PMU
	# event names (loaded with dlopen(); its headers at build time)
	libcmocka-dev libnuma-dev libpfm4-dev
	# the KUnit kernel, built from Debian's own kernel source
	linux-source-6.1 flex bison bc cpio rsync xz-utils python3
	# the VMs: qemu (qboot.rom is in qemu-system-data), a static busybox
	# for the initramfs
	qemu-system-x86 qemu-system-data busybox-static
	# coreutils' timeout, util-linux's flock and gzip are essential packages
	# the Python binding's tests (python/tests: host, and in the VM, which
	# gets this python3 and pytest: tools/vm/python-bundle.sh)
	python3-pytest
	# make lint: the shell scripts and the userspace C
	shellcheck cppcheck git
	# make lint renders hftmon(1) with groff (man/check-hftmon-1.sh)
	groff-base
	# make coverage: line and branch coverage of lib/ from the unit tests
	gcovr
	# make bench: perf stat/record beside hftmon in the same VM boot
	# (tools/bench/perf-bundle.sh carries it and its libraries in)
	linux-perf
	# the arm64 tier (make arm64, make test-vm-arm64): the cross compiler,
	# its C library and kernel headers (only recommended by it: named) and
	# qemu-system-aarch64; the arm64 kernel, its headers and busybox come
	# from tools/vm/arm64-cache.sh
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
)

if [[ ${1:-} == --list ]]; then
	printf '%s\n' "${PACKAGES[@]}"
	exit 0
fi

# missing_packages PKG...: print those not fully installed (one dpkg-query).
missing_packages() {
	local -A ok=()
	local name status pkg
	while read -r name status; do
		[[ $status == ii ]] && ok[$name]=1
	done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
	for pkg in "$@"; do
		[[ -n ${ok[$pkg]:-} ]] || printf '%s\n' "$pkg"
	done
}

mapfile -t missing < <(missing_packages "${PACKAGES[@]}")

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#PACKAGES[@]} packages present"
	exec "$here/arm64-cache.sh"
fi

echo "deps: installing: ${missing[*]}"
SUDO=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null; then
		SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
	else
		echo "deps: not root and no sudo; install as root: ${missing[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}"

# Verify: a package apt could not provide must not pass silently.
mapfile -t still < <(missing_packages "${missing[@]}")
if ((${#still[@]})); then
	echo "deps: still missing after apt-get install: ${still[*]}" >&2
	exit 1
fi
echo "deps: done"
exec "$here/arm64-cache.sh"
