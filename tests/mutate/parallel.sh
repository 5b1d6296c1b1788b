#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1 OR MIT
# The unit tier of the mutation harness in JOBS scratch copies at once
# (make mutate-unit, which make test runs): the unit and lint mutants of
# LIST dealt round-robin to JOBS runs of tests/mutate/run.sh, each with a
# scratch directory of its own (SCRATCH/jN: its own tree, build and
# logs), their outputs printed in order once all have ended, their
# tables joined into SCRATCH/results.txt. One mutant is still planted
# alone in its copy; the copies only share the host's cores, so JOBS 2
# on a 2-core host takes about 60 % of one run's time.
#
# Usage: tests/mutate/parallel.sh LIST SCRATCH JOBS [ID...]
# Exit status: 0 if every run passed (see run.sh), 1 otherwise.
set -u

list=$1
scratch=$2
jobs=$3
shift 3

die() {
	echo "mutate: $*" >&2
	exit 1
}

[ -f "$list" ] || die "no mutant list $list"
case $jobs in
'' | *[!0-9]* | 0) die "JOBS must be a positive number, not '$jobs'" ;;
esac
mkdir -p "$scratch"

# The unit-tier ids (tier unit or lint), in list order, or those given.
if [ $# -gt 0 ]; then
	ids="$*"
else
	ids=$(awk '/^id:/ { id = $2 } /^tier:/ && ($2 == "unit" || $2 == "lint") { print id }' \
		"$list")
fi
[ -n "$ids" ] || die "no unit or lint mutant in $list"

start=$(date +%s)
rm -f "$scratch"/ids.*
k=0
for id in $ids; do
	echo "$id" >>"$scratch/ids.$((k % jobs)).tmp"
	k=$((k + 1))
done
n=0
pids=""
while [ "$n" -lt "$jobs" ]; do
	if [ -f "$scratch/ids.$n.tmp" ]; then
		mv "$scratch/ids.$n.tmp" "$scratch/ids.$n"
		# shellcheck disable=SC2046  # one id per word, on purpose
		sh tests/mutate/run.sh "$list" "$scratch/j$n" unit \
			$(cat "$scratch/ids.$n") >"$scratch/out.$n" 2>&1 &
		pids="$pids $!"
	fi
	n=$((n + 1))
done

status=0
for pid in $pids; do
	wait "$pid" || status=1
done
: >"$scratch/results.txt"
n=0
while [ "$n" -lt "$jobs" ]; do
	if [ -f "$scratch/ids.$n" ]; then
		echo "mutate: ---- run $n of $jobs ($(wc -l <"$scratch/ids.$n") mutants)"
		cat "$scratch/out.$n"
		cat "$scratch/j$n/results.txt" >>"$scratch/results.txt" 2>/dev/null
		rm -f "$scratch/ids.$n"
	fi
	n=$((n + 1))
done
awk -F '\t' '
$1 == "unit" { n++; k += $2 == "killed"; e += $2 == "equivalent";
	       s += $2 == "SURVIVED"; d += $2 ~ /^does-not/ }
END {
	printf "mutate: all runs: unit tier: %d of %d killed (%d of %d non-equivalent), %d survived, %d equivalent, %d do not apply or build\n",
		k, n, k, n - e, s, e, d
}' "$scratch/results.txt"
echo "mutate: $(($(date +%s) - start)) s in $jobs runs; table in $scratch/results.txt"
exit $status
