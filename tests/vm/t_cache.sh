#!/bin/sh
# hftmon cache and the PMU part of hftmon info in the x86 VM, which has no
# hardware PMU (TCG): `cache` of a ping-pong prints every hardware counter
# of the default cache set as unsupported with the kernel's reason
# (ENOENT) and no number anywhere, its ratio too; with --events
# page-faults (a software event, through the same path) each process's
# total equals the minflt+majflt delta of /proc/PID/stat around the run,
# the tasks being blocked before and after it: the ping-pong's (which
# makes none) and a shell's that makes thousands; `info` lists
# the software PMU and "(none)" for the CPU's; bad --events are one line
# and a non-zero exit. (Expects the module loaded, as guest.sh leaves it.)
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }

# minflt + majflt of /proc/PID/stat (fields 10 and 12; after "comm)").
faults() {	# pid
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $8 + $10 }'
}
# A ping-pong whose tasks block on "go" for 3 s (time to attach), run,
# and block again (--hold) long before the monitor ends.
pingpong() {
	rm -f /tmp/ppc.out
	./bin/pingpong --rounds 2000 --cpu 0 --delay-ms 3000 --hold-ms 30000 > /tmp/ppc.out &
	pp=$!
	while ! grep -q '^pids' /tmp/ppc.out 2>/dev/null; do sleep 0.05; done
	# shellcheck disable=SC2046  # the pids, split into $1 $2 on purpose
	set -- $(sed -n 's/^pids //p' /tmp/ppc.out)
	a=$1 b=$2
}

# The default set: hardware events only, none of which TCG has.
pingpong
out=$(./bin/hftmon cache -p "$a" -p "$b" --duration 6 2>&1) || no "cache exited $?"
echo "$out" | sed 's/^/# /'
grep -q 'round trips in' /tmp/ppc.out || no "the ping-pong had not finished when cache ended"
kill "$pp" 2>/dev/null; wait "$pp" 2>/dev/null
for ev in instructions L1-dcache-loads L1-dcache-load-misses LLC-load-misses; do
	n=$(echo "$out" | grep -c "^  $ev: unsupported: this CPU's PMU has no such event .*(ENOENT)$")
	[ "$n" = 2 ] || no "cache: $ev is not unsupported (ENOENT) for both processes"
done
n=$(echo "$out" | grep -c "^  L1D miss ratio: unsupported: .*(ENOENT)$")
[ "$n" = 2 ] || no "cache: the L1D ratio is not unsupported for both processes"
# No number for a counter that never counted: no totals, no percentiles.
echo "$out" | grep -q 'per slice\|per us\|per 1000\| in [0-9]* slices\|misses of' &&
	no "cache printed a number for a hardware counter"
[ "$(echo "$out" | grep -c '^pid [0-9]*: [1-9][0-9]* slices')" = 2 ] ||
	no "cache: the processes' slices were not recorded"

# The same as JSON: null where nothing was counted, never a number.
pingpong
out=$(./bin/hftmon cache -p "$a" --duration 6 --json 2>&1) || no "cache --json exited $?"
echo "$out" | sed 's/^/# /'
kill "$pp" 2>/dev/null; wait "$pp" 2>/dev/null
n=$(echo "$out" | grep -o '"state": "unsupported", "status": -2, "errno": "ENOENT"' | wc -l)
# 4 counters, their per-instruction rates, and the L1D ratio
[ "$n" = 9 ] || no "cache --json: $n unsupported ENOENT values, not 9"
echo "$out" | grep -q '"total": [0-9]\|"accesses": [0-9]\|"[0-9.]*": [0-9]' &&
	no "cache --json: a number for a hardware counter"
echo "$out" | grep -q '"total": null' || no "cache --json: no null total"

# Page faults, by the kernel's count.
pingpong
fa0=$(faults "$a") fb0=$(faults "$b")
out=$(./bin/hftmon cache -p "$a" -p "$b" --events page-faults,instructions \
	--percentiles 50,100 --duration 6 2>&1) || no "cache --events exited $?"
echo "$out" | sed 's/^/# /'
grep -q 'round trips in' /tmp/ppc.out || no "the ping-pong had not finished when cache ended"
fa1=$(faults "$a") fb1=$(faults "$b")
kill "$pp" 2>/dev/null; wait "$pp" 2>/dev/null
echo "# /proc faults: $a $fa0 -> $fa1, $b $fb0 -> $fb1"
for t in "$a:$((fa1 - fa0))" "$b:$((fb1 - fb0))"; do
	pid=${t%%:*} want=${t#*:}
	got=$(echo "$out" | awk -v p="pid $pid:" '
		index($0, p) == 1 { on = 1; next }
		/^pid / { on = 0 }
		on && $1 == "page-faults:" && $2 == "measured;" { print $3 }')
	[ "$got" = "$want" ] || no "cache: pid $pid page-faults '$got', /proc says $want"
done
[ "$(echo "$out" | grep -c '^  instructions: unsupported: .*(ENOENT)$')" = 2 ] ||
	no "cache --events: instructions not unsupported"
# per 1000 instructions: the instructions counter was refused, so none
echo "$out" | grep -A3 '^  page-faults:' | grep -q 'per 1000 instructions: unsupported' ||
	no "cache: per-instruction rates of page faults are not unsupported"

# Page faults that happen: a shell blocked on a FIFO before and after
# it doubles a string to 4 MiB (each copy a new heap: new pages), released
# 3 s after the monitor starts (the margin to attach, as in t_cli.sh).
rm -f /tmp/cgo /tmp/cend /tmp/cfl.out
mkfifo /tmp/cgo /tmp/cend
# shellcheck disable=SC2016  # expanded by the inner shell
sh -c 'read -r x < /tmp/cgo; s=0123456789abcdef; i=0
	while [ $i -lt 18 ]; do s=$s$s; i=$((i + 1)); done
	read -r y < /tmp/cend; echo "${#s} $x $y"' > /tmp/cfl.out &
sp=$!
sleep 0.5
f0=$(faults "$sp")
./bin/hftmon cache -p "$sp" --events page-faults --duration 8 > /tmp/cfl.txt 2>&1 &
hp=$!
sleep 3
echo go > /tmp/cgo
wait "$hp" || no "cache -p (the shell) exited $?"
f1=$(faults "$sp")
echo end > /tmp/cend
wait "$sp"
sed 's/^/# /' /tmp/cfl.txt
echo "# /proc faults of the shell: $f0 -> $f1; it printed $(cat /tmp/cfl.out)"
[ "$(cat /tmp/cfl.out)" = "4194304 go end" ] || no "the faulting shell did not run as planned"
got=$(awk '$1 == "page-faults:" && $2 == "measured;" { print $3 }' /tmp/cfl.txt)
[ $((f1 - f0)) -ge 100 ] || no "the shell made only $((f1 - f0)) faults: the test proves too little"
[ "$got" = $((f1 - f0)) ] || no "cache: the shell's page-faults '$got', /proc says $((f1 - f0))"
rm -f /tmp/cgo /tmp/cend

out=$(./bin/hftmon info 2>&1) || no "info exited $?"
echo "$out" | grep '^PMUs\|^cpu PMU\|^counters\|^libpfm4' | sed 's/^/# /'
echo "$out" | grep -q '^PMUs: .* software (type 1)' || no "info: no software PMU (type 1)"
echo "$out" | grep -q '^cpu PMU: *(none)' || no "info: a CPU PMU under TCG"
echo "$out" | grep -q '^counters: .*nmi_watchdog' || no "info: nothing said of the NMI watchdog"
# The guest has no libpfm4: said, not skipped.
echo "$out" | grep -q '^libpfm4: *not installed' || no "info: libpfm4's absence not said"
echo "$out" | grep -q '^  xsnp-hitm  *unknown: libpfm4 is not installed' ||
	no "info: a vendor event without libpfm4 not unknown"

# Bad input: one line, non-zero.
err=$(./bin/hftmon cache -p 1 --events no-such-event 2>&1) && no "an unknown event succeeded"
echo "# $err"
[ "$(echo "$err" | wc -l)" = 1 ] || no "unknown event: not one line"
err=$(./bin/hftmon cache -p 1 --events a,b,c,d,e,f,g,h,i 2>&1)
[ $? = 2 ] || no "too many events: not a usage error"
echo "# $err"
err=$(./bin/hftmon cache -p 1 --percentiles 101 2>&1)
[ $? = 2 ] || no "percentile 101: not a usage error"
echo "# $err"
exit $fail
