#!/bin/sh
# Load/unload hftmon 20 times, each time with a full session (attach,
# start, record, stop, close) on big rings and a spike session (the
# fault kretprobe, removed by the rmmod), and check nothing stays:
#  - every object hftmon allocates lives in its own slab cache
#    (hftmon_session, hftmon_proc, hftmon_ring; the VM boots with
#    slub_nomerge so they stay separate): with all files closed each must
#    hold 0 active objects, and destroying a cache that still holds
#    objects at rmmod warns, which fails the run;
#  - vmalloc (the rings' kernel mappings) is back where it was;
#  - ring pages: each session maps 2 x 257 pages (2 MiB); a leak of them
#    would cost 40 MiB over 20 cycles. Free memory drifts by itself in
#    this kernel with module loads (measured with a control module in the
#    same boot: hftmon_ctl.ko, tests/vm/ctlmod, which allocates nothing and
#    is built for every kernel the VM boots), so the bound is the control's drift plus
#    2 MiB (seen: 0.1 MiB over 20 cycles). Free means the buddy
#    allocator's free pages plus those on the per-CPU lists
#    (/proc/zoneinfo): MemFree alone moves by megabytes as those lists
#    fill and drain.
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }
# Without its control the test cannot bound the drift: that is a failure
# of the payload (make vm-payload puts it there), not a reason to skip.
[ -e ./hftmon_ctl.ko ] || { echo "# FAIL: no control module hftmon_ctl.ko in the payload"; exit 1; }

lsmod | grep -q '^hftmon' && rmmod hftmon
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# Free pages in kB, counting those parked on the per-CPU page lists, which
# MemFree leaves out (a freed ring's pages often land there).
freekb() {
	awk '$1 == "nr_free_pages" { f += $2 } $1 == "count:" { c += $2 }
	     END { print (f + c) * 4 }' /proc/zoneinfo
}
settle() { sync; echo 3 > /proc/sys/vm/drop_caches; }
objects() {	# objects in use in hftmon's caches, "name=n" each
	# SLUB counts a CPU's current slab as in use: flush those first.
	for c in /sys/kernel/slab/hftmon_*/shrink; do
		[ -e "$c" ] && echo 1 > "$c"
	done
	awk '/^hftmon_/ { printf "%s=%s ", $1, $2 }' /proc/slabinfo
}
cycle() {
	insmod ./hftmon.ko || return 1
	./bin/hftmon record -p 1 --duration 0.05 --ring-pages 256 >/dev/null || return 2
	# A spike session registers the fault kretprobe (and its ftrace
	# site), which stays until the rmmod below takes it away.
	./bin/hftmon spikes -p 1 --threshold-us 1000 --duration 0.05 >/dev/null || return 5
	# Attach entries are freed after an RCU grace period: allow a second.
	n=0
	while left=$(objects); case "$left" in *=[1-9]*) true ;; *) false ;; esac; do
		n=$((n + 1))
		[ $n -gt 10 ] && { echo "# objects left after the session: $left"; return 4; }
		sleep 0.1
	done
	rmmod hftmon || return 3
}
control() { insmod ./hftmon_ctl.ko && ./bin/hftmon --version >/dev/null && rmmod hftmon_ctl; }

cycle || no "warm-up cycle failed at step $?"
control || no "control module hftmon_ctl.ko does not load"

settle; c0=$(freekb)
i=0; while [ $i -lt 20 ]; do control; i=$((i + 1)); done
settle; c1=$(freekb)

s0=$(meminfo SUnreclaim); v0=$(meminfo VmallocUsed); f0=$(freekb)
i=0
while [ $i -lt 20 ]; do
	cycle || { no "cycle $i failed at step $?"; break; }
	i=$((i + 1))
done
settle
s1=$(meminfo SUnreclaim); v1=$(meminfo VmallocUsed); f1=$(freekb)
echo "# 20 hftmon cycles: SUnreclaim ${s0} -> ${s1} kB, VmallocUsed ${v0} -> ${v1} kB, free ${f0} -> ${f1} kB ($((f0 - f1)) kB)"
echo "# 20 hftmon_ctl.ko cycles (control): free ${c0} -> ${c1} kB ($((c0 - c1)) kB)"
lsmod | grep -q '^hftmon' && no "module still loaded"
grep -q '^hftmon_' /proc/slabinfo && no "hftmon caches survived rmmod: $(objects)"
[ $((v1 - v0)) -lt 128 ] || no "vmalloc grew $((v1 - v0)) kB"
[ $(((f0 - f1) - (c0 - c1))) -lt 2048 ] || no "free memory fell $((f0 - f1)) kB, control $((c0 - c1)) kB"
insmod ./hftmon.ko || no "final reload"
exit $fail
