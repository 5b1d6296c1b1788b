#!/bin/sh
# VM integration tier, run inside the guest by tools/vm/vm.sh (cwd is the
# payload: hftmon.ko, bin/ with static test programs and the CLI, and the
# shell tests). Loads the module, runs every test program (exit 0 pass,
# 1 fail, 77 skip, with the reason printed by the test; the host fails a
# run with a skip), checks dmesg after each so a kernel splat fails the
# test that caused it, unloads, runs the load/unload leak test, and ends
# with the plain summary line the CI reads.
pass=0 fail=0 skip=0

# Kernel splat lines so far (the pattern vm.sh checks at the end). A test
# is blamed only for lines that appeared while it ran: a debug kernel
# prints benign ones at boot ("RCU lockdep checking is enabled").
splats() {
	dmesg | grep -cE 'BUG:|WARNING:|Oops|lockdep|general protection|INFO: possible|Call Trace'
}
splat() {
	now=$(splats)
	[ "$now" -gt "$seen" ] && { seen=$now; return 0; }
	return 1
}

# A test that stops early (REQUIRE) leaves its helper module loaded; the
# next test's insmod would then fail for that reason, not its own.
unload_helpers() {	# name
	for mod in hftmon_inject hftmon_pmu_test; do
		if lsmod | grep -q "^$mod "; then
			echo "# $1 left $mod loaded: unloading it"
			rmmod "$mod"
		fi
	done
}

# A test leaves the guest as it found it: a process it started and left
# running (a spinner, a ping-pong, a recorder) would load the CPUs of every
# test after it. The user processes (all but kthreadd and its children)
# that were not there before it and are still there 3 s after it ended are
# named, killed, and fail the test. (The grace is for what ends by itself:
# busybox timeout's watcher notices its command is gone within a second,
# a killed shell's last sleep ends.)
user_pids() {	# (kernel threads are kthreadd's, 2, and its children)
	for d in /proc/[0-9]*; do
		read -r line <"$d/stat" 2>/dev/null || continue
		# shellcheck disable=SC2086  # the fields after "(comm) "
		set -- ${line##*) }
		[ "${d#/proc/}" = 2 ] || [ "$2" = 2 ] || [ "$1" = Z ] ||
			echo "${d#/proc/}"
	done
}
# Into $new: those not in $before, nor gone (the listing's own subshell).
# Run in this shell, not in a $(...) of its own, which would list itself.
new_pids() {
	new=""
	for p in $(user_pids); do
		case " $before " in *" $p "*) continue ;; esac
		[ "$p" = $$ ] || [ ! -e "/proc/$p/stat" ] && continue
		new="$new $p"
	done
}
reap_leftovers() {	# name: 0 if nothing was left
	tries=0
	new_pids
	while [ -n "$new" ] && [ "$tries" -lt 30 ]; do
		sleep 0.1
		tries=$((tries + 1))
		new_pids
	done
	left=0
	for p in $new; do
		echo "# $1 left pid $p running ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)): killed"
		kill -9 "$p" 2>/dev/null
		left=1
	done
	return $left
}

# Seconds since boot, to the hundredth (busybox's date has no %N).
uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

result() {	# name rc (started: the uptime when it began)
	echo "# $1: $(awk -v a="$started" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }') s"
	case "$2" in
	0) echo "ok - $1"; pass=$((pass + 1)) ;;
	77) echo "not ok - $1 # SKIP (its reason is above; the host counts a skip as a failure)"
	    skip=$((skip + 1)) ;;
	*) echo "not ok - $1 (exit $2)"; fail=$((fail + 1)) ;;
	esac
}

dmesg -n 1 2>/dev/null	# keep the console for test output
seen=$(splats)
if ! insmod ./hftmon.ko; then
	echo "not ok - insmod hftmon.ko"
	echo "vm: 0 passed, 1 failed"
	exit 1
fi
for t in bin/t_*; do
	[ -e "$t" ] || continue	# a payload may hold scripts only
	name=${t#bin/}
	echo "# --- $name"
	started=$(uptime_s)
	before=$(user_pids | tr '\n' ' ')
	"./$t"
	rc=$?
	reap_leftovers "$name" || { [ "$rc" = 0 ] && rc=1; }
	unload_helpers "$name"
	if [ "$rc" = 0 ] && splat; then
		echo "# kernel splat during $name:"
		dmesg | tail -n 60 | sed 's/^/# /'
		rc=1
	fi
	result "$name" "$rc"
done
for t in ./t_*.sh; do
	[ -e "$t" ] || continue
	name=${t#./}
	echo "# --- $name"
	started=$(uptime_s)
	before=$(user_pids | tr '\n' ' ')
	sh "$t"
	rc=$?
	reap_leftovers "$name" || { [ "$rc" = 0 ] && rc=1; }
	unload_helpers "$name"
	if [ "$rc" = 0 ] && splat; then rc=1; fi
	result "$name" "$rc"
done
# Unloading unhooks every tracepoint (kernel text patching). Under
# multi-threaded TCG that has oopsed a guest on a stale int3 (seen at this
# rmmod on 6.12-rt, try_to_wake_up+0x5b4, after every test had passed),
# the emulator's fault: unloading is tested in the boot that carries the
# load/unload loop, which runs single-threaded (tests/vm/run.sh).
if [ -e ./t_loadunload.sh ]; then
	lsmod | grep -q '^hftmon' && rmmod hftmon
fi
echo "vm: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
