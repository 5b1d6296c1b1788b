#!/bin/sh
# The hftmon CLI against the loaded module: `info` names every source and
# says why the unsupported ones are; `record` on a sleeping process runs
# for its duration and prints its table; bad input is one line and a
# non-zero exit. (Expects the module loaded, as guest.sh leaves it.)
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }

out=$(./bin/hftmon info 2>&1) || no "info exited $?"
echo "$out" | sed 's/^/# /'
echo "$out" | grep -q 'sched_switch' || no "info lacks sched_switch"
echo "$out" | grep -qi 'unsupported' || no "info reports nothing unsupported"

sleep 30 &
sp=$!
out=$(./bin/hftmon record -p "$sp" --duration 1 2>&1) || no "record exited $?"
echo "$out" | sed 's/^/# /'
echo "$out" | grep -q "$sp" || no "record does not name pid $sp"
kill "$sp"

err=$(./bin/hftmon record -p 0 --duration 1 2>&1) && no "record -p 0 succeeded"
[ "$(echo "$err" | wc -l)" = 1 ] || no "record -p 0: not one line: $err"
echo "# $err"
err=$(./bin/hftmon record -p 3999999 --duration 1 2>&1) && no "record of a missing pid succeeded"
echo "# $err"
err=$(./bin/hftmon frobnicate 2>&1) && no "unknown command succeeded"
echo "# $err"
exit $fail
