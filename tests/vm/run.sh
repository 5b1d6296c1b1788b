#!/usr/bin/env bash
# VM integration tier, host side: boots Debian's own kernel (the one the
# module was built for) in qemu with the payload that `make vm-payload`
# assembled, and passes or fails on the guest's summary line and exit
# code (tools/vm/vm.sh already fails a run with a kernel splat in dmesg).
# slub_nomerge keeps hftmon's slab caches apart from look-alikes, so
# /proc/slabinfo counts its objects and a leak warns at unload.
#   tests/vm/run.sh PAYLOAD_DIR KERNEL_IMAGE [LOG]
set -euo pipefail

payload=${1:?payload dir}
kernel=${2:?kernel image}
log=${3:-$(dirname "$payload")/vm-test.log}
here=$(cd "$(dirname "$0")" && pwd)

[ -r "$kernel" ] || { echo "test-vm: no kernel image $kernel (apt-get install linux-image-amd64)" >&2; exit 1; }
rc=0
# A stuck guest must fail in seconds and say where it was stuck: a soft
# lockup or a task hung for 2 min panics the kernel, and panic_print
# replays the whole log (guest.sh keeps the console at emergency level,
# which hides backtraces and RCU stall reports) with every CPU's
# backtrace. The programs take about a minute; 300 s is the bound.
"$here/../../tools/vm/vm.sh" run --kernel "$kernel" --payload "$payload" \
	--script guest.sh --timeout 300 --log "$log" \
	--cmdline "slub_nomerge softlockup_panic=1 hung_task_panic=1 panic_print=0x60" \
	>/dev/null || rc=$?
# Show the guest's own output (test lines and their explanations).
"$here/../../tools/vm/vm.sh" extract "$log" || true
summary=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
	echo "vm: 0 passed, 1 failed (no summary from the guest, vm.sh exit $rc; log: $log)"
	exit 1
fi
if [ "$rc" != 0 ]; then
	grep 'HFTMON-VM-SPLAT' "$log" || true
	echo "test-vm: guest exit $rc (log: $log)" >&2
	exit 1
fi
exit 0
