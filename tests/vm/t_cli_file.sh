#!/bin/sh
# Record once, look many times: `hftmon record -o FILE` and `hftmon
# switches -o FILE` of a ping-pong print a report; `hftmon report -i
# FILE` prints the same report again from the file alone, byte for byte
# (text and JSON, kernel stacks named from the symbols the file keeps),
# after the ping-pong is gone (sched and switches -I: every interval);
# `hftmon export` of it holds one off-CPU
# slice per switch the report counted; the live record's counts are the kernel's
# (/proc deltas, as t_cli.sh checks them), so the file's are too. Bad
# files are one line and a non-zero exit. (Expects the module loaded.)
set -u
fail=0
no() { echo "# FAIL: $*"; fail=1; }
dir=$(mktemp -d)

status_field() {	# pid tid field
	sed -n "s/^$3:[[:space:]]*//p" "/proc/$1/task/$2/status"
}

# A ping-pong blocked on "go" when recording starts, done long before
# it ends (as in t_cli.sh), on one CPU.
start_pingpong() {	# rounds
	rm -f "$dir/pp.out"
	./bin/pingpong --rounds "$1" --cpu 0 --delay-ms 2000 --hold-ms 20000 \
		>"$dir/pp.out" &
	pp=$!
	while ! grep -q '^pids' "$dir/pp.out" 2>/dev/null; do sleep 0.05; done
	# shellcheck disable=SC2046  # the pids, split on purpose
	set -- $(sed -n 's/^pids //p' "$dir/pp.out")
	a=$1 b=$2
}

same() {	# what live replay
	if cmp -s "$2" "$3"; then
		echo "# $1: the report from the file equals the live one ($(wc -l <"$2") lines)"
	else
		no "$1: the report from the file differs from the live one"
		diff "$2" "$3" | head -20 | sed 's/^/#   /'
	fi
}

# record, text: counts against /proc, then the file's report.
start_pingpong 2000
va0=$(status_field "$a" "$a" voluntary_ctxt_switches)
ia0=$(status_field "$a" "$a" nonvoluntary_ctxt_switches)
./bin/hftmon record -p "$a" -p "$b" --duration 6 -o "$dir/rec.hft" \
	>"$dir/live.txt" 2>&1 || no "record -o exited $?"
va1=$(status_field "$a" "$a" voluntary_ctxt_switches)
ia1=$(status_field "$a" "$a" nonvoluntary_ctxt_switches)
row=$(awk -v t="$a" '$1 == t && $2 == t' "$dir/live.txt")
# shellcheck disable=SC2086  # the row's columns, split on purpose
set -- $row
if [ "${5:-}" != $((va1 - va0)) ] || [ "${6:-}" != $((ia1 - ia0)) ]; then
	no "record: task $a voluntary ${5:-?} involuntary ${6:-?}, /proc $((va1 - va0)) $((ia1 - ia0))"
fi
kill "$pp" 2>/dev/null
wait "$pp" 2>/dev/null
./bin/hftmon report -i "$dir/rec.hft" >"$dir/rep.txt" 2>&1 ||
	no "report -i exited $?"
same "record" "$dir/live.txt" "$dir/rep.txt"
sed 's/^/# /' "$dir/rep.txt" | head -8

# record --json; switches with kernel stacks (notes go to stderr).
start_pingpong 500
./bin/hftmon record -p "$a" --duration 4 --json -o "$dir/j.hft" \
	>"$dir/live.json" 2>&1 || no "record --json -o exited $?"
kill "$pp" 2>/dev/null
wait "$pp" 2>/dev/null
start_pingpong 2000
./bin/hftmon switches -p "$a" --duration 5 --min-us 50 --stacks \
	-o "$dir/sw.hft" >"$dir/live-sw.txt" 2>"$dir/sw.err" ||
	no "switches -o exited $?: $(cat "$dir/sw.err")"
kill "$pp" 2>/dev/null
wait "$pp" 2>/dev/null
./bin/hftmon report -i "$dir/j.hft" >"$dir/rep.json" 2>&1 || no "report json exited $?"
same "record --json" "$dir/live.json" "$dir/rep.json"
./bin/hftmon report -i "$dir/sw.hft" >"$dir/rep-sw.txt" 2>"$dir/rep-sw.err" ||
	no "report switches exited $?: $(cat "$dir/rep-sw.err")"
same "switches --stacks" "$dir/live-sw.txt" "$dir/rep-sw.txt"
grep -q 'kernel stack:' "$dir/rep-sw.txt" || no "switches: no kernel stack in the report"
# sched -I and switches -I: every interval printed live is printed
# again from the file, the same (the threads as printed, the wake-ups and
# switches asked of the records over each interval's fixed window).
start_pingpong 3000
./bin/hftmon sched -p "$a" -p "$b" -I 700 --count 4 -o "$dir/sched.hft" \
	>"$dir/live-sched.txt" 2>&1 || no "sched -I -o exited $?"
./bin/hftmon report -i "$dir/sched.hft" >"$dir/rep-sched.txt" 2>&1 ||
	no "report sched exited $?"
same "sched -I 700" "$dir/live-sched.txt" "$dir/rep-sched.txt"
grep -q "P50(us)" "$dir/rep-sched.txt" ||
	no "sched: no latency column in the report"
kill "$pp" 2>/dev/null
wait "$pp" 2>/dev/null
start_pingpong 3000
./bin/hftmon switches -p "$a" -I 1000 --duration 3.5 --min-us 20 \
	-o "$dir/swi.hft" >"$dir/live-swi.txt" 2>&1 || no "switches -I -o exited $?"
./bin/hftmon report -i "$dir/swi.hft" >"$dir/rep-swi.txt" 2>&1 ||
	no "report switches -I exited $?"
same "switches -I 1000" "$dir/live-swi.txt" "$dir/rep-swi.txt"
n=$(grep -c '^--- interval ' "$dir/rep-swi.txt")
[ "$n" -ge 3 ] || no "switches -I 1000 over 3.5 s: $n intervals"
kill "$pp" 2>/dev/null
wait "$pp" 2>/dev/null

# export: the trace holds every switch the report counted as completed.
./bin/hftmon export -i "$dir/sw.hft" --perfetto "$dir/sw.json" >"$dir/exp.txt" 2>&1 ||
	no "export exited $?: $(cat "$dir/exp.txt")"
completed=$(sed -n 's/.* of \([0-9]*\) completed by the targets.*/\1/p' "$dir/rep-sw.txt")
slices=$(grep -c '"name": "off-CPU"' "$dir/sw.json")
echo "# export: $slices off-CPU slices; the report: $completed completed switches"
if [ -z "$completed" ] || [ "$slices" != "$completed" ]; then
	no "export: $slices off-CPU slices, the report counted ${completed:-?}"
fi
grep -q '+0x' "$dir/rep-sw.txt" || no "switches: kernel stacks not named from the file's symbols"

# Bad input: one line, non-zero.
for f in /nonexistent "$dir/live.txt"; do
	out=$(./bin/hftmon report -i "$f" 2>&1) && no "report -i $f succeeded"
	[ "$(echo "$out" | wc -l)" = 1 ] || no "report -i $f: not one line: $out"
	echo "# report -i $f: $out"
done
head -c 300 "$dir/rec.hft" >"$dir/cut.hft"
out=$(./bin/hftmon report -i "$dir/cut.hft" 2>&1) && no "a cut file reported"
echo "# cut: $out"
out=$(./bin/hftmon report 2>&1) && no "report without -i succeeded"
echo "# no -i: $out"

rm -rf "$dir"
exit $fail
