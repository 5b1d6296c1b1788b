#!/bin/sh
# The interruption and spike commands against the loaded module and the
# injection module (tests/inject): `irq --cpu 0-1 --json` counts each
# CPU's timer ticks (LOC) no more than /proc/interrupts did around it, and
# a 200 us injected IPI on CPU 1 shows in its CAL row with a maximum of at
# least 200 us; `irq -p` of a spinner on CPU 1 names what was stolen from
# it; `spikes -p --threshold-us 150` of the spinner reports the injected
# 200 us IPI as an interrupted spike that contains the injected busy loop
# (its own times), with that vector among its parts, which sum to the
# spike (the kernel side's exact checks are t_spikes'); `explain` of a
# window the test chose around an injection names the vector too. Bad
# input is one line and a non-zero exit. (Expects hftmon.ko loaded.)
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }
dir=$(mktemp -d)
inj=/sys/module/hftmon_inject/parameters/inject

# /proc/interrupts' LOC count of CPU n (column n + 2).
loc() {	# cpu
	awk -v c="$1" '$1 == "LOC:" { print $(c + 2) }' /proc/interrupts
}
# A number of the first JSON row matching pattern.
json_num() {	# file pattern key
	grep "$2" "$1" | head -1 | sed -n "s/.*\"$3\": \([0-9.]*\).*/\1/p"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

insmod bin/hftmon_inject.ko || { echo "# FAIL: insmod hftmon_inject.ko"; exit 1; }

# Injects "$1" once a session runs (its rings exist: ring_kb_used > 0),
# $3 s (default 1) later (start and attach follow configure), in the
# background.
inject_when_running() {	# command [file for parameters/last] [delay s]
	(
		i=0
		while [ "$(cat /sys/module/hftmon/parameters/ring_kb_used)" = 0 ] &&
			[ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		sleep "${3:-1}"
		# From CPU 0: a call to its own CPU would be no IPI (refused).
		taskset -c 0 sh -c "echo '$1' >$inj" ||
			echo "# FAIL: injecting '$1' failed"
		[ -z "${2:-}" ] || cat /sys/module/hftmon_inject/parameters/last >"$2"
	) &
	bg=$!
}

# irq, system-wide: LOC per CPU within the /proc delta around the run.
l0=$(loc 0) l1=$(loc 1)
# (Injections come 2.5 s after a command starts: under TCG its start,
# configure and attach take most of a second.)
inject_when_running "vector 1 200"
./bin/hftmon irq --cpu 0-1 --interval 5 --json >"$dir/irq.json" 2>"$dir/irq.err" ||
	no "irq exited $?: $(cat "$dir/irq.err")"
wait "$bg"
d0=$(($(loc 0) - l0)) d1=$(($(loc 1) - l1))
n0=$(json_num "$dir/irq.json" '"cpu": 0, "kind": "vector", "nr": 236' count)
n1=$(json_num "$dir/irq.json" '"cpu": 1, "kind": "vector", "nr": 236' count)
echo "# LOC: cpu 0 $n0 (/proc around it $d0), cpu 1 $n1 (/proc $d1)"
in_range() { [ -n "$1" ] && [ "$1" -gt 0 ] && [ "$1" -le "$2" ]; }
in_range "$n0" "$d0" || no "LOC cpu 0: $n0 of /proc $d0"
in_range "$n1" "$d1" || no "LOC cpu 1: $n1 of /proc $d1"
grep -q '"nr": 236, "name": "LOC"' "$dir/irq.json" || no "vector 0xec not named LOC"
# The injected IPI in the text tables, one a second: some second's CAL
# row on cpu 1 has a maximum of at least its 200 us (each table's
# durations are those of the interruptions the library took in since the
# last one, so a record drained late is in the next table, not lost).
inject_when_running "vector 1 200"
./bin/hftmon irq --cpu 0-1 --interval 1 --count 5 >"$dir/irq.txt" 2>&1 ||
	no "irq (text) exited $?: $(tail -3 "$dir/irq.txt")"
wait "$bg"
cmax=$(awk '$1 == 1 && $2 == "vector" && $4 == "CAL" { print $12 }' "$dir/irq.txt" |
	sort -n | tail -1)
echo "# CAL on cpu 1: max ${cmax:-none} us over 5 one-second tables (a 200 us IPI was injected)"
# A second holds some hundreds of interruptions here, far fewer than the
# library's history: the tool must not say that any were missed.
! grep -q 'durations over their latest' "$dir/irq.txt" ||
	no "a one-second table says its durations missed some interruptions: $(grep -m1 'durations over' "$dir/irq.txt")"
ge "${cmax:-0}" 200 || no "the injected 200 us IPI is not CAL's maximum on cpu 1 (${cmax:-none})"
# A spinner on CPU 1, tracked.
taskset -c 1 sh -c 'while :; do :; done' &
spin=$!
sleep 0.5

# irq -p: what was stolen from the spinner. (2 s after configure, of its
# 5: on the lockdep kernel, 1 s after, the IPI was once missing from
# the spinner's table, whose JSON is printed when that happens.)
inject_when_running "vector 1 200" "" 2
./bin/hftmon irq -p "$spin" --interval 5 --json >"$dir/stolen.json" 2>&1 ||
	no "irq -p exited $?"
wait "$bg"
grep -q "\"tid\": $spin, \"stolen\"" "$dir/stolen.json" || no "irq -p: no table for tid $spin"
sed -n "/\"tid\": $spin, \"stolen\"/,\$p" "$dir/stolen.json" | grep -q '"name": "CAL"' || {
	no "irq -p: the injected IPI was not stolen from the spinner"
	sed 's/^/# /' "$dir/stolen.json" | cut -c1-300 | head -30
}

# spikes: a 200 us injection, its busy loop's own times from the module.
inject_when_running "vector 1 200" "$dir/last"
./bin/hftmon spikes -p "$spin" --threshold-us 150 --duration 4 --json \
	>"$dir/spikes.json" 2>&1 || no "spikes exited $?"
wait "$bg"
read -r s0 e0 <"$dir/last"
sed 's/^/# /' "$dir/spikes.json" | cut -c1-300 | head -12
# The spikes that contain [s0, e0]; each one's parts sum to it.
awk -v s0="$s0" -v e0="$e0" '/"duration_us"/ {
	st = $0; sub(/.*"start_ns": /, "", st); sub(/,.*/, "", st)
	en = $0; sub(/.*"end_ns": /, "", en); sub(/,.*/, "", en)
	d = $0; sub(/.*"duration_us": /, "", d); sub(/,.*/, "", d)
	n = split($0, p, "\"ns\": "); s = 0
	for (i = 2; i <= n; i++) { v = p[i]; sub(/[^0-9].*/, "", v); s += v }
	if (n > 1 && (s / 1000 < d - 0.002 || s / 1000 > d + 0.002)) { bad = 1; print "# parts " s / 1000 " us != " d }
	if (st + 0 <= s0 + 0 && en + 0 >= e0 + 0 && /"type": "interrupted"/ && /"kind": "vector"/) found++
} END { if (found != 1) print "# " found + 0 " interrupted spikes with a vector part contain the loop"; exit bad || found != 1 }' \
	"$dir/spikes.json" || no "spikes: the injected 200 us IPI is not one spike whose parts sum to it"

# explain: a window 2 s from now, with an injection inside it.
now=$(awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime)
from=$((now + 2000000000)) to=$((now + 3000000000))
( sleep 2.4; taskset -c 0 sh -c "echo 'vector 1 200' >$inj" ) &
bg=$!
./bin/hftmon explain -t "$spin" --from "$from" --to "$to" -o "$dir/explain.hft" \
	>"$dir/explain.txt" 2>&1 || no "explain exited $?: $(head -3 "$dir/explain.txt")"
wait "$bg"
sed 's/^/# /' "$dir/explain.txt" | head -20
grep -q 'vector 0xf[bc] CAL' "$dir/explain.txt" || no "explain: the injected IPI is not a part"
grep -q 'summing to 1000000.000 us of 1000000.000 us' "$dir/explain.txt" ||
	no "explain: the parts do not sum to the window"
# The same window from the recording: byte for byte.
./bin/hftmon report -i "$dir/explain.hft" >"$dir/explain-rep.txt" 2>&1 ||
	no "report -i of the explain recording exited $?: $(head -3 "$dir/explain-rep.txt")"
cmp -s "$dir/explain.txt" "$dir/explain-rep.txt" ||
	no "explain: the report from its recording differs: $(diff "$dir/explain.txt" "$dir/explain-rep.txt" | head -4)"

kill "$spin"
wait "$spin" 2>/dev/null

# Bad input: one line each, non-zero.
for args in "spikes -p $$ --threshold-us 0" "spikes -p $$" \
	"explain -t $$ --from 5 --to 4" "explain -t $$ --from 1 --to 2" \
	"irq --cpu 99999"; do
	# shellcheck disable=SC2086  # the arguments, split on purpose
	out=$(./bin/hftmon $args 2>&1) && no "hftmon $args succeeded"
	[ "$(echo "$out" | wc -l)" = 1 ] || no "hftmon $args: not one line: $out"
	echo "# hftmon $args: $out"
done

rmmod hftmon_inject
rm -rf "$dir"
exit $fail
