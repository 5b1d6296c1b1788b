#!/bin/sh
# The hftmon CLI's targets, endings, errors and signals against the loaded
# module (issue 10, items 2, 5 and 6), each check one finding of the
# issue: a thread id given to -p is its process (with a note); -p PID
# -p TID attaches once (was "File exists"); -t shows that thread only; a
# second -p is not dropped; record/sched/switches end when their targets
# exit and print what they measured; -- COMMAND runs monitored and ends
# the run; --children follows what the targets fork; sched --json interrupted early still prints its object;
# SIGHUP prints the report; a closed pipe ends quietly; " 5" and " -5"
# are refused; an unknown option is one line; a busy session names its
# holder; a control character in a thread name does not break a table.
# (Expects the module loaded, as guest.sh leaves it.)
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }
H=./bin/hftmon
T() { timeout 60 "$@"; }
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }

rm -f /tmp/ppt.out
./bin/pingpong --threads --rounds 200000 --delay-ms 100 --hold-ms 600000 > /tmp/ppt.out &
pp=$!
while ! grep -q '^tids' /tmp/ppt.out 2>/dev/null; do sleep 0.05; done
pid=$(sed -n 's/^pids \([0-9]*\) .*/\1/p' /tmp/ppt.out)
# The tids come in the order the threads started: the one that is not
# the process's own id is its second thread.
tid=$(sed -n 's/^tids //p' /tmp/ppt.out | tr ' ' '\n' | grep -vx "$pid" | head -n 1)
echo "# pingpong pid $pid, second thread $tid"
[ "$tid" != "$pid" ] || no "pingpong's second thread is its pid"

# -p TID: the process, with a note; the rows are labelled with the pid.
out=$(T "$H" record -p "$tid" -d 0.5 2>/tmp/err) || no "record -p TID exited $?"
grep -q "note: $tid is a thread of process $pid" /tmp/err || no "no note for -p TID: $(cat /tmp/err)"
echo "$out" | grep -Eq "^ *$pid +$tid " || no "record -p TID: no row for pid $pid tid $tid"
# -p PID -p TID: one process, attached once.
T "$H" record -p "$pid" -p "$tid" -d 0.5 >/dev/null 2>/tmp/err || no "record -p PID -p TID: $(cat /tmp/err)"
# -t TID: that thread only.
out=$(T "$H" record -t "$tid" -d 0.5 2>&1) || no "record -t exited $?"
echo "$out" | grep -Eq "^ *$pid +$tid " || no "record -t: no row for $tid"
echo "$out" | grep -Eq "^ *$pid +$pid " && no "record -t $tid shows thread $pid"
# Two -p: both in sched.
sleep 30 &
sl=$!
out=$(T "$H" sched -p "$pid" -p "$sl" -i 0.5 -c 1 2>&1) || no "sched two -p exited $?"
echo "$out" | grep -q "^pid $pid: " || no "sched: no table for $pid"
echo "$out" | grep -q "^pid $sl: " || no "sched: second -p $sl dropped"
kill "$sl"; wait "$sl" 2>/dev/null

# Targets that exit end every command, which keeps what it measured.
for cmd in "record" "sched -i 30" "switches -d 30"; do
	sleep 1 &
	sl=$!
	# shellcheck disable=SC2086  # the command and its options, split
	out=$(T "$H" $cmd -p "$sl" 2>&1)
	rc=$?
	[ "$rc" = 0 ] || no "$cmd: exit $rc when its target exited: $out"
	echo "$out" | grep -q "every target exited" || no "$cmd: does not say its target exited"
	wait "$sl" 2>/dev/null
done
out=$("$H" sched -p "$pid" -i 30 --json 2>&1 & hp=$!; sleep 1; kill -INT "$hp"; wait "$hp")
echo "$out" | grep -q '"threads": \[' || no "sched --json interrupted: no threads: $out"
echo "$out" | grep -q "\"tid\": $tid," || no "sched --json interrupted: no row for $tid"

# -- COMMAND: monitored from the start, ends with it, its status said.
out=$(T "$H" record -- sh -c 'sleep 0.3; exit 7' 2>&1) || no "record -- COMMAND exited $?"
echo "$out" | grep -q "(sh, exited with status 7); every target exited" || no "record -- COMMAND: $out"

# --children: the processes the command forks are followed from their
# fork, and the run lasts while one lives: sh exits at once, its
# background sleep 0.5 s later; without --children the sleep is not shown.
out=$(T "$H" record --children -- sh -c 'sleep 0.5 & echo $! > /tmp/bg.pid; exit 0' 2>&1) || no "record --children exited $?"
bg=$(cat /tmp/bg.pid)
echo "$out" | grep -q "pid $bg (a child followed, exited)" || no "record --children: $bg not followed: $out"
echo "$out" | grep -Eq "^ *$bg +$bg " || no "record --children: no row for the child $bg: $out"
out=$(T "$H" record -- sh -c 'sleep 0.5 & echo $! > /tmp/bg.pid; exit 0' 2>&1) || no "record without --children exited $?"
bg=$(cat /tmp/bg.pid)
echo "$out" | grep -Eq "^ *$bg +$bg " && no "record without --children shows the child $bg: $out"

# SIGHUP: the report, like SIGINT.
$H record -p "$pid" > /tmp/hup.out 2>&1 &
hp=$!
sleep 1
kill -HUP "$hp"
wait "$hp" || no "record after SIGHUP exited $?"
grep -q "^records: " /tmp/hup.out || no "SIGHUP: no report"

# A closed pipe: quiet. (A ping-pong that keeps switching writes lines.)
rm -f /tmp/ppb.out
./bin/pingpong --rounds 100000000 > /tmp/ppb.out &
busy=$!
while ! grep -q '^pids' /tmp/ppb.out 2>/dev/null; do sleep 0.05; done
side=$(sed -n 's/^pids \([0-9]*\) .*/\1/p' /tmp/ppb.out)	# one side of it
T sh -c "$H record --raw -p $side 2>/tmp/err | head -n 1 >/dev/null" || no "record --raw | head did not end"
[ -s /tmp/err ] && no "record --raw | head: stderr: $(cat /tmp/err)"
# shellcheck disable=SC2046  # both sides, split on purpose
kill $(sed -n 's/^pids //p' /tmp/ppb.out) "$busy" 2>/dev/null; wait "$busy" 2>/dev/null

# Busy: the second session names the first.
$H record -p "$pid" -d 5 >/dev/null 2>&1 &
hp=$!
sleep 1
err=$($H record -p "$pid" -d 1 2>&1) && no "a second session started"
one_line "$err" || no "busy: not one line: $err"
echo "$err" | grep -q "held by pid $hp (hftmon)" || no "busy: holder not named: $err"
echo "# $err"
wait "$hp"

# Numbers and options.
err=$($H record -p " 5" 2>&1); [ $? = 2 ] || no "-p ' 5' accepted"
one_line "$err" || no "-p ' 5': $err"
err=$($H switches -p "$pid" --min-us " -5" 2>&1); [ $? = 2 ] || no "--min-us ' -5' accepted: $err"
err=$($H record -p "$pid" --ring-pages 99999999999 2>&1)
echo "$err" | grep -q "out of range" || no "--ring-pages range error: $err"
err=$($H record --frobnicate 2>&1); [ $? = 2 ] || no "unknown option accepted"
one_line "$err" || no "unknown option: not one line: $err"
err=$($H -D /dev/nothing info 2>&1)
echo "$err" | grep -q "load hftmon.ko" || no "missing device: $err"

# A control character in a thread name stays inside its column.
# (A loop: busybox sh would exec a last plain command, and rename itself.)
sh -c 'printf "bad\tname" > /proc/$$/comm; while :; do sleep 0.2; done' &
bad=$!
sleep 0.3
out=$(T "$H" record -p "$bad" -d 1 2>&1)
echo "$out" | grep -q 'bad\\x09name' || no "comm with a tab not escaped: $out"
kill "$bad"; wait "$bad" 2>/dev/null

kill "$pid" "$pp" 2>/dev/null; wait "$pp" 2>/dev/null
exit $fail
