#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1 OR MIT
# Runs each cmocka test program given as an argument, shows its output, and
# ends with one plain line "unit: N passed, M failed" counting the cmocka
# tests of all programs. A test is passed only if cmocka says so and its
# program exits 0 (a sanitizer's leak report at exit fails the program):
# failed = tests announced - tests passed, and at least 1 for a program
# that exits non-zero. Exits 1 if anything failed.
passed=0
failed=0
for t in "$@"; do
	out=$(mktemp)
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	announced=$(sed -n 's/^\[==========\] Running \([0-9][0-9]*\) test(s)\./\1/p' "$out" | head -n 1)
	p=$(grep -c '^\[       OK \]' "$out")
	s=$(grep -c '^\[  SKIPPED \] [^0-9]' "$out")
	f=$(( ${announced:-1} - p - s ))
	[ "$f" -lt 0 ] && f=0
	if [ "$rc" -ne 0 ]; then
		echo "unit: $t exited with status $rc" >&2
		[ "$f" -eq 0 ] && f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
