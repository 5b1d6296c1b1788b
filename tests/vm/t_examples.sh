#!/bin/sh
# The programs of examples/ (built for the guest as bin/ex_*) against the
# loaded module, on a threaded ping-pong that is alive while they run:
# - drain (a raw_only consumer) prints one line per switch record; the
#   lines whose switched-out task is a thread of the ping-pong must be
#   exactly the switches /proc counted for its threads over the run (the
#   ping-pong sleeps before and holds blocked after, so no switch of its
#   falls outside what drain saw); nothing lost (its 4 MiB rings hold all
#   of the run's 12000-16000 records even if it is not scheduled meanwhile, as on
#   a loaded CI host it may not be), nothing unknown;
# - switches (the README's example) runs, names only the ping-pong's
#   threads, and reports wake-up latency samples.
# (Expects the module loaded, as guest.sh leaves it.)
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }

# Every switch of every thread of pid so far (voluntary + involuntary).
switches_of() {	# pid
	total=0
	for st in /proc/"$1"/task/*/status; do
		v=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "$st")
		i=$(sed -n 's/^nonvoluntary_ctxt_switches:[[:space:]]*//p' "$st")
		total=$((total + v + i))
	done
	echo "$total"
}

# --- drain -------------------------------------------------------------
rm -f /tmp/ex-pp.out
./bin/pingpong --threads --rounds 3000 --cpu 0 --delay-ms 1500 --hold-ms 20000 > /tmp/ex-pp.out &
pp=$!
while ! grep -q '^tids' /tmp/ex-pp.out 2>/dev/null; do sleep 0.05; done
# The ping-pong's threads live in a child it forks: "pids P P".
w=$(sed -n 's/^pids \([0-9]*\) .*/\1/p' /tmp/ex-pp.out)
before=$(switches_of "$w")
out=$(./bin/ex_drain "$w" 5 2>&1) || no "drain exited $?"
after=$(switches_of "$w")
grep -q 'round trips in' /tmp/ex-pp.out || no "the ping-pong had not finished when drain ended"
tids=$(ls /proc/"$w"/task)
# "TIME cpu N: PREV -> NEXT[ (blocked)]": count switch-outs of our threads.
seen=$(echo "$out" | awk -v list="$tids" '
	BEGIN { n = split(list, t, /[ \n]+/); for (i = 1; i <= n; i++) ours[t[i]] = 1 }
	$2 == "cpu" && $5 == "->" && ($4 in ours) { c++ }
	END { print c + 0 }')
echo "# drain: $seen switch-outs of pid $w's threads; /proc: $((after - before))"
echo "$out" | tail -n 1 | sed 's/^/# /'
[ "$seen" = "$((after - before))" ] ||
	no "drain saw $seen switch-outs, /proc counted $((after - before))"
[ "$seen" -ge 6000 ] || no "drain saw $seen switch-outs for 3000 round trips"
echo "$out" | tail -n 1 | grep -q ' 0 lost (0 by seq), 0 of types' ||
	no "drain: records lost or not understood: $(echo "$out" | tail -n 1)"
kill "$w" "$pp" 2>/dev/null; wait "$pp" 2>/dev/null

# --- switches (the README's example) -------------------------------------
rm -f /tmp/ex-pp.out
./bin/pingpong --threads --rounds 200000 --cpu 0 --delay-ms 200 --hold-ms 20000 > /tmp/ex-pp.out &
pp=$!
while ! grep -q '^tids' /tmp/ex-pp.out 2>/dev/null; do sleep 0.05; done
w=$(sed -n 's/^pids \([0-9]*\) .*/\1/p' /tmp/ex-pp.out)
out=$(./bin/ex_switches "$w" 1 2>&1) || no "switches exited $?"
echo "$out" | tail -n 3 | sed 's/^/# /'
tids=$(ls /proc/"$w"/task)
bad=$(echo "$out" | awk -v list="$tids" '
	BEGIN { n = split(list, t, /[ \n]+/); for (i = 1; i <= n; i++) ours[t[i]] = 1 }
	$1 == "tid" && !($2 in ours) { print $2 }')
[ -z "$bad" ] || no "switches named tids that are not the ping-pong's: $bad"
samples=$(echo "$out" | sed -n 's/^wake-up latency: \([0-9]*\) samples.*/\1/p')
{ [ -n "$samples" ] && [ "$samples" -gt 0 ]; } ||
	no "switches: no wake-up latency samples: $(echo "$out" | tail -n 1)"
kill "$w" "$pp" 2>/dev/null; wait "$pp" 2>/dev/null

[ "$fail" = 0 ] && echo "# examples: drain and switches agree with /proc"
exit "$fail"
