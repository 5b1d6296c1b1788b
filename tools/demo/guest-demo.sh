#!/bin/sh
# The demo, inside the VM: load hftmon.ko, show what this kernel offers,
# run a ping-pong between two processes and record 3 s of it with the
# hftmon CLI, then show the kernel's own counts beside it;
# then a threaded ping-pong's scheduling table and its longest switches,
# with their kernel and user stacks.
# Deterministic: the first ping-pong is held stopped (SIGSTOP) until the
# recording runs (the command after "--" resumes it, and hftmon starts
# that command only once monitoring has started), and stopped again as
# soon as the recording ends, so the kernel's counts around it differ
# from hftmon's by the moment between the two stops at most; both
# ping-pongs run for far longer than what records them (under a loaded
# TCG host 20000 round trips could take most of a minute), and are
# killed after. The kernel's console is limited
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
echo "== pingpong: two processes, round trips over a pipe until killed"
rm -f /tmp/pp.out	# not the last test's: its "pids" line would be read
./bin/pingpong --rounds 100000000 --delay-ms 2000 --hold-ms 60000 > /tmp/pp.out &
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
echo "== hftmon record -p $a -p $b --duration 3 -- kill -CONT $a $b"
./bin/hftmon record -p "$a" -p "$b" --duration 3 -- kill -CONT "$a" "$b"
kill -STOP "$a" "$b"
echo
echo "kernel after:  pid $a: $(ctxt "$a")"
echo "kernel after:  pid $b: $(ctxt "$b")"
echo "(the differences are the kernel's own counts from before the recording to the"
echo " SIGSTOP right after it: hftmon's, plus the switches between its end and that stop)"
kill -KILL "$a" "$b" 2>/dev/null || true	# stopped: TERM would wait
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
kill "$1" "$ppid" 2>/dev/null || true
{ wait "$ppid"; } 2>/dev/null || true
rmmod hftmon
echo "== done"
