#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1 OR MIT
# Line and branch coverage of the given sources from gcov alone (make
# coverage uses it when gcovr is not installed): one line per file and a
# total. Branches "taken" are branches taken at least once, of all the
# branches gcov counts in the file's object.
#
# Usage: tests/mutate/gcov-summary.sh OBJDIR SOURCE...
#   OBJDIR "-": each source's object is beside it (a kbuild M= build, as
#   make coverage-kmod's); the name printed is then the source's path
#   from the top of the tree it was copied from (from its "kmod/" on).
set -eu

objdir=$1
shift
command -v gcov >/dev/null 2>&1 ||
	{ echo "gcov-summary: gcov is not installed (Debian package gcc)" >&2; exit 1; }

for src in "$@"; do
	o=$objdir
	[ "$o" = - ] && o=$(dirname "$src")
	gcov -n -b -o "$o" "$src" 2>/dev/null |
		awk -v want="$src" -v beside="$objdir" '
		/^File / { f = $2; gsub("\047", "", f); cur = (f == want) }
		cur && /^Lines executed:/ { split($2, a, "[:%]"); lp = a[2]; ln = $NF }
		cur && /^Taken at least once:/ { split($4, b, "[:%]"); bp = b[2]; bn = $NF }
		cur && /^No branches/ { bp = 0; bn = 0 }
		END {
			name = want
			if (beside == "-" && (p = index(name, "/kmod/")))
				name = substr(name, p + 1)
			printf "%s %s %s %s %s\n", name, lp + 0, ln + 0, bp + 0, bn + 0
		}'
done | awk '
{
	lh = $2 * $3 / 100; bh = $4 * $5 / 100
	printf "%-22s lines %6.1f%% of %5d   branches taken %6.1f%% of %5d\n",
		$1, $2, $3, $4, $5
	L += $3; LH += lh; B += $5; BH += bh
}
END {
	printf "%-22s lines %6.1f%% of %5d   branches taken %6.1f%% of %5d\n",
		"total", L ? 100 * LH / L : 0, L, B ? 100 * BH / B : 0, B
}'
