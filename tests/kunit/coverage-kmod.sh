#!/usr/bin/env bash
# tests/kunit/coverage-kmod.sh — line and branch coverage of kmod/*.c
# (make coverage-kmod; not part of make test).
#
# Usage: tests/kunit/coverage-kmod.sh PAYLOAD_DIR WORK_DIR [PARTS]
#   PAYLOAD_DIR  what `make vm-payload` made (the VM part's programs)
#   WORK_DIR     its own directory ($(O)/cov-kmod): rebuilt each run; the
#                objects, .gcda files, console logs and figures stay there
#   PARTS        "kunit vm" (default): which boots to count
#
# Debian's kernels have no CONFIG_GCOV_KERNEL, so the counts come from
# the KUnit kernel's gcov variant (HFTMON_GCOV=1 tools/vm/kunit-kernel.sh,
# a cached kernel build of its own, about 10 min cold). hftmon.ko is built
# once against it from a copy of kmod/ and include/, with GCOV_PROFILE=y
# and CONFIG_HFTMON_KUNIT_TEST=y, and booted twice:
#   kunit  insmod runs every KUnit suite, then rmmod (the exit path too);
#   vm     the VM integration programs (tests/vm/guest.sh, the main boot,
#          both vCPUs: make test-vm-debug's) on that kernel; its insmod
#          runs the suites as well, so this part is KUnit + VM.
# After each boot the guest prints the module's .gcda files from
# /sys/kernel/debug/gcov (kept after rmmod: gcov_persist) base64-encoded on
# the console; they are decoded, put beside the objects' .gcno files, and
# tests/mutate/gcov-summary.sh (gcov's own counts, as make coverage gives
# them without gcovr) prints lines and branches taken of each module
# source (kmod/*.c, kmod/probes/*.c; not the KUnit files). gcovr is not
# used: it cannot place the kernel headers the objects were compiled
# against, and drops every file.
#
# Each boot takes the VM lock (/tmp/hftmon-vm.lock) itself, like make
# mutate: do not wrap this in flock (it would wait for itself). A KUnit
# or VM test that fails is shown but the coverage is still counted: this
# measures what runs; make test-kunit and make test-vm judge it.
# Exit 0 if every part asked for produced counts for every object.
set -euo pipefail

payload=$(realpath "${1:?payload dir (make vm-payload)}")
work=$(realpath -m "${2:?work dir}")
parts=${3:-kunit vm}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
vm=$top/tools/vm
lock=${HFTMON_VM_LOCK:-/tmp/hftmon-vm.lock}

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

die() { echo "coverage-kmod: $*" >&2; exit 1; }
command -v gcov >/dev/null || die "gcov is not installed (Debian package gcc)"
[[ -f $payload/guest.sh ]] || die "no $payload/guest.sh (make vm-payload)"

tree=$(HFTMON_GCOV=1 "$vm/kunit-kernel.sh" | tail -n 1) ||
	die "could not build the gcov KUnit kernel"
grep -qx 'CONFIG_GCOV_KERNEL=y' "$tree/.config" || die "$tree has no CONFIG_GCOV_KERNEL"

rm -rf "$work"
build=$work/build
mkdir -p "$build"
# kbuild M= writes objects beside the sources: build from a copy.
cp -r "$top/kmod" "$top/include" "$build/"
make -C "$tree" M="$build/kmod" GCOV_PROFILE=y CONFIG_HFTMON_KUNIT_TEST=y \
	-j"$(nproc)" modules >"$build/build.log" 2>&1 || {
	tail -n 40 "$build/build.log" >&2
	die "hftmon.ko build against $tree failed"
}
objs=$(find "$build/kmod" -name '*.gcno' | wc -l)
((objs > 0)) || die "no .gcno files: GCOV_PROFILE did not take"

# The module's sources, without the KUnit files.
srcs=()
for f in "$build"/kmod/*.c "$build"/kmod/probes/*.c; do
	case ${f##*/} in hftmon_kunit*.c | *.mod.c) continue ;; esac
	srcs+=("$f")
done

# The guest's part after its tests: every .gcda of the module, framed.
# shellcheck disable=SC2016 # expanded in the guest, not here
dump_gcda='
echo "coverage-guest: gcda files"
find /sys/kernel/debug/gcov -name "*.gcda" | grep "/kmod/" | while read -r f; do
	echo "HFTMON-GCDA-BEGIN ${f#/sys/kernel/debug/gcov}"
	base64 "$f"
	echo "HFTMON-GCDA-END"
done'

boot() { # part script
	local part=$1 rc=0
	echo "coverage-kmod: $part boot (waiting for the VM lock)"
	flock "$lock" nice -n 5 "$vm/vm.sh" run \
		--kernel "$tree/arch/x86/boot/bzImage" \
		--payload "$work/$part/payload" --script "$2" --timeout 900 \
		--log "$work/$part/console.log" >/dev/null || rc=$?
	"$vm/vm.sh" extract "$work/$part/console.log" |
		grep -vE '^(HFTMON-GCDA|[A-Za-z0-9+/=]+$)' >"$work/$part/guest.txt" || true
	echo "coverage-kmod: $part boot ended with $rc (guest output: $work/$part/guest.txt)"
	grep -E '^(kunit-guest:|vm: [0-9]+ passed|not ok)' "$work/$part/guest.txt" || true
}

# Decodes the framed files of a part's console log into $work/PART/gcda,
# each named by its path under the module's build directory (the same in
# the guest as here), / spelled %.
decode() { # part
	local part=$1 n
	mkdir -p "$work/$part/gcda"
	n=$(awk -v dir="$build/kmod/" -v to="$work/$part/gcda/" '
	/^HFTMON-GCDA-BEGIN / {
		path = $2
		if (index(path, dir) != 1 || path ~ /\.\./) {
			print "coverage-kmod: unexpected path " path > "/dev/stderr"
			path = ""
			next
		}
		rel = substr(path, length(dir) + 1)
		gsub("/", "%", rel)
		out = to rel ".b64"
		next
	}
	/^HFTMON-GCDA-END/ {
		if (path != "") {
			close(out)
			print out
		}
		path = ""
		next
	}
	path != "" { print > out }
	' "$work/$part/console.log" | while read -r f; do
		base64 -d "$f" >"${f%.b64}" && rm -f "$f" && echo "$f"
	done | wc -l)
	echo "coverage-kmod: $part: $n .gcda files for $objs objects"
	((n == objs)) || {
		echo "coverage-kmod: $part: counts missing (see $work/$part/console.log)" >&2
		return 1
	}
}

report() { # part: its .gcda files beside the objects, then gcov's figures
	local f
	find "$build/kmod" -name '*.gcda' -delete
	for f in "$work/$1"/gcda/*.gcda; do
		f=${f##*/}
		cp "$work/$1/gcda/$f" "$build/kmod/${f//%//}"
	done
	sh "$top/tests/mutate/gcov-summary.sh" - "${srcs[@]}" | tee "$work/$1.txt"
}

status=0 counted=""
for part in $parts; do
	mkdir -p "$work/$part/payload"
	case $part in
	kunit)
		cp "$build/kmod/hftmon.ko" "$work/kunit/payload/"
		cat >"$work/kunit/payload/run.sh" <<GUEST
#!/bin/sh
echo "kunit-guest: insmod hftmon.ko (the suites run)"
insmod ./hftmon.ko || echo "kunit-guest: insmod failed"
dmesg | grep -E '^\[ *[0-9.]+\] *(not )?ok [0-9]+ hftmon' | sed 's/^/kunit-guest: /'
rmmod hftmon || echo "kunit-guest: rmmod failed"
$dump_gcda
GUEST
		boot kunit run.sh
		;;
	vm)
		# The load/unload test's control and the IRQ injector, built
		# against the same kernel (as tests/vm/run-debug.sh does).
		mkdir -p "$work/vm/aux"
		cp -r "$top/tests/vm/ctlmod" "$top/tests/inject" "$work/vm/aux/"
		for m in ctlmod inject; do
			make -C "$tree" M="$work/vm/aux/$m" modules \
				>"$work/vm/aux/$m.log" 2>&1 || die "vm: $m build failed"
		done
		rm -rf "$work/vm/payload"
		cp -r "$payload" "$work/vm/payload"
		# The main boot's programs (tests/vm/run.sh leaves the loop out).
		rm -f "$work/vm/payload/t_loadunload.sh"
		cp "$build/kmod/hftmon.ko" "$work/vm/aux/ctlmod/hftmon_ctl.ko" \
			"$work/vm/payload/"
		cp "$work/vm/aux/inject/hftmon_inject.ko" "$work/vm/payload/bin/"
		cat >"$work/vm/payload/cov.sh" <<GUEST
#!/bin/sh
sh ./guest.sh
$dump_gcda
GUEST
		boot vm cov.sh
		;;
	*) die "unknown part $part (kunit, vm)" ;;
	esac
	if decode "$part"; then
		counted="$counted $part"
	else
		status=1
	fi
done

for part in $counted; do
	case $part in
	kunit) echo "coverage-kmod: kmod/ under the KUnit suites:" ;;
	vm) echo "coverage-kmod: kmod/ under the KUnit suites and the VM integration programs:" ;;
	esac
	report "$part"
done
[[ -n $counted ]] || die "no part produced counts"
echo "coverage-kmod: figures in $work/<part>.txt"
exit $status
