#!/usr/bin/env bash
# VM integration tier, host side: boots Debian's own kernel (the one the
# module was built for) in qemu with the payload that `make vm-payload`
# assembled, and passes or fails on the guest's summary line and exit
# code (tools/vm/vm.sh already fails a run with a kernel splat in dmesg).
# slub_nomerge keeps hftmon's slab caches apart from look-alikes, so
# /proc/slabinfo counts its objects and a leak warns at unload.
#   tests/vm/run.sh [--kernel-name NAME] [--parts "main loop onenode"]
#                   PAYLOAD_DIR KERNEL_IMAGE [LOG]
# --parts: the boots to run (default all three, see below). --kernel-name: what
# the summary calls the kernel (default: the image's file name).
# A test that skips (exit 77) fails the tier: every condition a VM test
# needs holds on the kernels this tier boots.
set -euo pipefail

parts="main loop onenode" kname=""
while [ $# -gt 0 ]; do
	case $1 in
	--parts) parts=${2:?}; shift 2 ;;
	--kernel-name) kname=${2:?}; shift 2 ;;
	*) break ;;
	esac
done
payload=${1:?payload dir}
kernel=${2:?kernel image}
log=${3:-$(dirname "$payload")/vm-test.log}
here=$(cd "$(dirname "$0")" && pwd)
kname=${kname:-${kernel##*/}}

[ -r "$kernel" ] || { echo "test-vm: no kernel image $kernel (make deps installs Debian's)" >&2; exit 1; }
echo "test-vm: kernel $kname ($kernel), boots: $parts"
# Three boots: the programs with real vCPU concurrency and two NUMA
# nodes (main); the tests that load, hook and unload the module in a loop
# (text patching each time: see vm.sh --tcg-threads) with single-threaded
# TCG (loop); the NUMA programs again on a machine of one node, where
# they check the one-node answer: one node, no sample, no error
# (onenode, about 15 s). Each boot gets its own copy of the payload
# holding only its tests, and its own log.
split=$(mktemp -d)
trap 'rm -rf "$split"' EXIT
LOOPED="t_loadunload.sh"
ONENODE="t_numa t_numa_balancing"
for p in main loop onenode; do cp -r "$payload" "$split/$p"; done
for t in $LOOPED; do rm -f "$split/main/$t"; done
rm -f "$split/loop"/bin/t_*
for t in "$split/loop"/t_*.sh; do
	case " $LOOPED " in *" ${t##*/} "*) ;; *) rm -f "$t" ;; esac
done
rm -f "$split/onenode"/t_*.sh
for t in "$split/onenode"/bin/t_*; do
	case " $ONENODE " in *" ${t##*/} "*) ;; *) rm -f "$t" ;; esac
done

# A stuck guest must fail in seconds and say where it was stuck: a soft
# lockup or a task hung for 2 min panics the kernel, and panic_print
# replays the whole log (guest.sh keeps the console at emergency level,
# which hides backtraces and RCU stall reports) with every CPU's
# backtrace. The programs take 3.5-4.5 min on Debian's kernels under
# TCG, longer on the debug kernel; 600 s is the bound.
boot() {	# boot PAYLOAD LOG TCG_THREADS NODES: prints the guest's output
	local rc=0
	"$here/../../tools/vm/vm.sh" run --kernel "$kernel" --payload "$1" \
		--script guest.sh --timeout 600 --log "$2" --tcg-threads "$3" \
		--numa-nodes "$4" \
		--cmdline "slub_nomerge softlockup_panic=1 hung_task_panic=1 panic_print=0x60" \
		>/dev/null || rc=$?
	"$here/../../tools/vm/vm.sh" extract "$2" || true
	return $rc
}

passed=0 failed=0 skipped=0 status=0 ran=""
for part in main:multi:2 loop:single:2 onenode:multi:1; do
	name=${part%%:*} log_part=$log
	IFS=: read -r _ tcg nodes <<<"$part"
	case " $parts " in *" $name "*) ;; *) continue ;; esac
	ran="$ran $name"
	[ "$name" = main ] || log_part=${log%.log}-$name.log
	rc=0 start=$SECONDS
	boot "$split/$name" "$log_part" "$tcg" "$nodes" || rc=$?
	echo "test-vm: $kname: $name boot took $((SECONDS - start)) s"
	summary=$(grep -E '^vm: [0-9]+ passed, [0-9]+ failed' "$log_part" | tail -n 1 || true)
	if [ -z "$summary" ]; then
		echo "vm: no summary from the $name boot (vm.sh exit $rc; log: $log_part)"
		failed=$((failed + 1)) status=1
		continue
	fi
	# shellcheck disable=SC2086  # "vm: N passed, M failed, K skipped", split
	set -- $summary
	passed=$((passed + $2)) failed=$((failed + $4))
	case $summary in *skipped*) skipped=$((skipped + $6)) ;; esac
	if [ "$rc" != 0 ]; then
		grep 'HFTMON-VM-SPLAT' "$log_part" || true
		echo "test-vm: $name boot: guest exit $rc (log: $log_part)" >&2
		status=1
	fi
done
[ -n "$ran" ] || { echo "test-vm: no boot selected by --parts \"$parts\"" >&2; status=1; }
if [ "$skipped" != 0 ]; then
	echo "test-vm: $skipped test(s) skipped (reasons above): the VM tier's conditions hold on every kernel it boots, so a skip fails" >&2
	status=1
fi
echo "vm: $passed passed, $failed failed, $skipped skipped ($kname:$ran)"
exit $status
