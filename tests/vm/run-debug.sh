#!/usr/bin/env bash
# The VM integration tier on the debug (KUnit) kernel: builds hftmon.ko
# and the load/unload test's control module (tests/vm/ctlmod) against the
# cached KUnit kernel tree (tools/vm/kunit-kernel.sh), swaps them into a
# copy of the payload `make vm-payload` made for Debian's kernel, and runs
# the same guest.sh there, both boots (the load/unload loop included). That kernel has lockdep,
# DEBUG_ATOMIC_SLEEP and DEBUG_PREEMPT: a probe that sleeps, takes a lock
# wrongly or runs with IRQs on where it assumes them off warns, and any
# warning fails the run.
#   tests/vm/run-debug.sh PAYLOAD_DIR WORK_DIR
set -euo pipefail

payload=${1:?payload dir}
work=$(realpath -m "${2:?work dir}")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

# Keep a calling make's variables (its O= above all, which kbuild would
# take for its output tree) out of kbuild.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

tree=$("$top/tools/vm/kunit-kernel.sh" | tail -n 1)
rm -rf "$work"
mkdir -p "$work/src"
# kbuild M= writes objects beside the sources: build from a copy.
cp -r "$top/kmod" "$top/include" "$top/tests/vm/ctlmod" "$top/tests/inject" \
	"$top/tests/pmu" "$work/src/"
cp "$top/kmod/hftmon_pmu.c" "$top/kmod/hftmon_pmu.h" "$work/src/pmu/"
cp -r "$payload" "$work/payload"
# Each module and where the payload keeps it (t_irq loads bin/hftmon_inject.ko,
# t_pmu.sh bin/hftmon_pmu_test.ko).
for m in kmod/hftmon: ctlmod/hftmon_ctl: inject/hftmon_inject:bin/ \
	pmu/hftmon_pmu_test:bin/; do
	dest=${m#*:} m=${m%:*}
	make -s -C "$tree" M="$work/src/${m%/*}" modules >"$work/build.log" 2>&1 || {
		cat "$work/build.log" >&2
		echo "test-vm-debug: ${m#*/}.ko build against $tree failed" >&2
		exit 1
	}
	cp "$work/src/$m.ko" "$work/payload/$dest"
done
echo "test-vm-debug: integration programs on the debug kernel $tree"
exec "$here/run.sh" --kernel-name "kunit-debug" "$work/payload" \
	"$tree/arch/x86/boot/bzImage" "$work/test.log"
