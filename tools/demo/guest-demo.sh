#!/bin/sh
# The demo, inside the VM: load hftmon.ko, show what this kernel offers,
# run a ping-pong of 20000 round trips between two processes and record
# it with the hftmon CLI, then show the kernel's own counts beside it;
# then a threaded ping-pong's scheduling table and its longest switches,
# with their kernel and user stacks.
# Deterministic: the first ping-pong is held stopped (SIGSTOP) until the
# recording runs (the command after "--" resumes it, and hftmon starts
# that command only once monitoring has started), and its rounds end
# well inside the recording; the threaded one runs for far longer than
# what records it, and is killed after. The kernel's console is limited
# to emergencies, so its lines do not mix with the demo's.
set -e
dmesg -n 1 2>/dev/null || true
echo "== insmod hftmon.ko"
insmod ./hftmon.ko
dmesg | grep hftmon | tail -n 1
echo
echo "== hftmon info"
./bin/hftmon info
echo
echo "== pingpong: two processes, 20000 round trips over a pipe"
rm -f /tmp/pp.out	# not the last test's: its "pids" line would be read
./bin/pingpong --rounds 20000 --delay-ms 2000 --hold-ms 60000 > /tmp/pp.out &
ppid=$!
while ! grep -q '^pids' /tmp/pp.out 2>/dev/null; do sleep 0.05; done
# shellcheck disable=SC2046  # the pids, split into $1 $2 on purpose
set -- $(sed -n 's/^pids //p' /tmp/pp.out)
a=$1 b=$2
kill -STOP "$a" "$b"	# still in its 2 s delay: no round trip yet
ctxt() { grep ctxt_switches "/proc/$1/status" | tr -s '\t ' ' ' | tr '\n' ' '; }
echo "kernel before: pid $a: $(ctxt "$a")"
echo "kernel before: pid $b: $(ctxt "$b")"
echo
echo "== hftmon record -p $a -p $b --duration 10 -- kill -CONT $a $b"
./bin/hftmon record -p "$a" -p "$b" --duration 10 -- kill -CONT "$a" "$b"
echo
echo "kernel after:  pid $a: $(ctxt "$a")"
echo "kernel after:  pid $b: $(ctxt "$b")"
echo "(the differences are the kernel's own counts of what hftmon recorded above)"
grep 'round trips' /tmp/pp.out ||
	echo "(the round trips had not ended when the recording did: the counts differ)"
kill "$ppid" 2>/dev/null || true
{ wait "$ppid"; } 2>/dev/null || true
echo

echo "== pingpong: two threads, round trips until it is killed"
rm -f /tmp/pp.out	# not the last test's: its "pids" line would be read
./bin/pingpong --threads --rounds 100000000 --hold-ms 60000 > /tmp/pp.out &
ppid=$!
while ! grep -q '^pids' /tmp/pp.out 2>/dev/null; do sleep 0.05; done
# shellcheck disable=SC2046  # the pids, split into $1 $2 on purpose
set -- $(sed -n 's/^pids //p' /tmp/pp.out)
echo "== hftmon sched -p $1 --interval 1 --count 1"
./bin/hftmon sched -p "$1" --interval 1 --count 1
echo
echo "== hftmon switches -p $1 --min-us 200 --duration 1 --stacks --user-stacks (first 40 lines)"
./bin/hftmon switches -p "$1" --min-us 200 --duration 1 --stacks --user-stacks > /tmp/sw.out
head -n 40 /tmp/sw.out
echo "..."
tail -n 3 /tmp/sw.out
kill "$ppid" 2>/dev/null || true
{ wait "$ppid"; } 2>/dev/null || true
rmmod hftmon
echo "== done"
