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

# switches --stacks --user-stacks: a ping-pong blocks in pipe_read; its
# kernel stacks must say so (symbolised through /proc/kallsyms), and its
# user stacks start in libc's read() (named from the static binary's own
# .symtab).
rm -f /tmp/pp.out	# not the last test's: its "pids" line would be read
./bin/pingpong --rounds 3000 --cpu 0 --delay-ms 300 --hold-ms 20000 > /tmp/pp.out &
pp=$!
while ! grep -q '^pids' /tmp/pp.out 2>/dev/null; do sleep 0.05; done
# shellcheck disable=SC2046  # the pids, split into $1 $2 on purpose
set -- $(sed -n 's/^pids //p' /tmp/pp.out)
out=$(./bin/hftmon switches -p "$1" --min-us 0 --duration 2 --stacks --user-stacks 2>&1) ||
	no "switches exited $?"
echo "$out" | head -n 40 | sed 's/^/# /'
echo "$out" | grep -q 'pipe_read' || no "switches --stacks: no pipe_read in the kernel stacks"
echo "$out" | grep -A1 'user stack:' | grep -q ' read+0x[0-9a-f]* [^ ]*/bin/pingpong+0x' ||
	no "switches --user-stacks: no user stack starting in read()"
# Every user frame printed is a function of the binary, or the note that
# the walk stopped at something that is not code: never raw data.
echo "$out" | awk '
	/user stack:/ { u = 1; next }
	/^      / {
		if (u && $0 !~ /^      0x[0-9a-f]+ [^ ]+\+0x[0-9a-f]+ [^ ]*\/bin\/pingpong\+0x[0-9a-f]+$/ &&
		    $0 !~ /is not code: a function without a frame pointer/) { print "# bad frame: " $0; bad++ }
		next
	}
	{ u = 0 }
	END { exit bad > 0 }' || no "switches --user-stacks: a user frame that is neither a function nor the walk's end"
out=$(./bin/hftmon sched -p "$2" --json --interval 0.5 2>&1) || no "sched --json exited $?"
echo "$out" | head -n 12 | sed 's/^/# /'
echo "$out" | grep -q "\"tid\": *$2" || no "sched --json does not list tid $2"
echo "$out" | grep -q '"policy"' || no "sched --json has no policy"
kill "$pp" 2>/dev/null; wait "$pp" 2>/dev/null

err=$(./bin/hftmon record -p 0 --duration 1 2>&1) && no "record -p 0 succeeded"
[ "$(echo "$err" | wc -l)" = 1 ] || no "record -p 0: not one line: $err"
echo "# $err"
err=$(./bin/hftmon record -p 3999999 --duration 1 2>&1) && no "record of a missing pid succeeded"
echo "# $err"
err=$(./bin/hftmon frobnicate 2>&1) && no "unknown command succeeded"
echo "# $err"
exit $fail
