#!/bin/sh
# The module survives its users (DESIGN invariant 6):
#  - a reader killed with SIGKILL mid-session frees its session: the next
#    session can start at once;
#  - CPU 1 goes offline and comes back while a tracked workload runs:
#    every ring exists for every possible CPU, nothing is lost, no splat
#    (guest.sh fails the test on any new one). A kernel where CPU 1 cannot
#    go offline fails the test (every kernel the tier boots can).
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }

./bin/hftmon record -p 1 --duration 30 >/dev/null 2>&1 &
rec=$!
sleep 0.5
kill -9 "$rec"
wait "$rec" 2>/dev/null
./bin/hftmon record -p 1 --duration 0.2 >/dev/null || no "a new session after a killed reader: exit $?"

online=/sys/devices/system/cpu/cpu1/online
# Every kernel this tier boots has CONFIG_HOTPLUG_CPU and two vCPUs: a
# CPU 1 that cannot go offline is a failure, not a reason to skip.
if [ ! -w "$online" ]; then
	no "CPU 1 cannot be taken offline ($online missing or read-only): hotplug not tested"
	exit $fail
fi
rm -f /tmp/pp.out	# not the last test's: its "pids" line would be read
./bin/pingpong --rounds 20000 --delay-ms 300 --hold-ms 20000 > /tmp/pp.out &
pp=$!
while ! grep -q '^pids' /tmp/pp.out 2>/dev/null; do sleep 0.05; done
# shellcheck disable=SC2046  # the pids, split into $1 $2 on purpose
set -- $(sed -n 's/^pids //p' /tmp/pp.out)
./bin/hftmon record -p "$1" -p "$2" --duration 3 --ring-pages 1024 > /tmp/rec.out 2>&1 &
rec=$!
sleep 0.5
echo 0 > "$online" || no "cpu1 offline"
sleep 0.5
grep -q '^0$' "$online" || no "cpu1 still online"
echo 1 > "$online" || no "cpu1 online"
wait "$rec" || no "record exited $?"
sed 's/^/# /' /tmp/rec.out
grep -q '^lost: 0 ' /tmp/rec.out || no "records lost across hotplug"
grep -q 'records: [1-9]' /tmp/rec.out || no "no records"
# The launcher and its two workers ($1 $2), which would otherwise play
# out their rounds after it (the lockdep kernel is slow enough for that
# to outlast the test).
kill "$pp" "$1" "$2" 2>/dev/null
{ wait "$pp"; } 2>/dev/null
exit $fail
