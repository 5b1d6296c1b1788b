#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1 OR MIT
# man/check-hftmon-1.sh [CLI_DIR] [PAGE]: fails when hftmon(1) misses a
# command or an option the CLI has. Commands are the cli_command
# definitions of CLI_DIR (tools/hftmon) and need a ".SS name" section;
# options are every long option of the getopt tables ({ "name", ...
# _argument ...) and every letter of the getopt_long option strings
# (every string literal on that line, and the SESSION_SHORT macro's),
# each needing "--name" or "-x" in PAGE (man/hftmon.1) once roff's "\-"
# is read as "-". Then renders PAGE with groff's warnings as errors, if
# groff is installed (Debian's groff-base), and says so if it is not.
set -eu
dir=${1:-tools/hftmon}
page=${2:-man/hftmon.1}
text=$(sed 's/\\-/-/g' "$page")
fail=0

missing() {
	echo "check-hftmon-1: $page lacks $1 (from $dir)" >&2
	fail=1
}

commands=$(sed -n 's/^[[:space:]]*\.name = "\([a-z-]*\)",$/\1/p' "$dir"/*.c)
long=$(sed -n 's/.*{ "\([a-z-]*\)", [a-z_]*_argument,.*/\1/p' "$dir"/*.c "$dir"/*.h | sort -u)
short=$({ sed -n 's/.*getopt_long(argc, argv, \(".*"\).*/\1/p' "$dir"/*.c
	   sed -n 's/^#define SESSION_SHORT \(".*"\)$/\1/p' "$dir"/*.h; } |
	grep -o '"[^"]*"' | tr -d '"+:' | fold -w1 | grep . | sort -u)
if [ -z "$commands" ] || [ -z "$long" ] || [ -z "$short" ]; then
	echo "check-hftmon-1: found no commands or options in $dir" >&2
	exit 1
fi

while read -r name; do
	printf '%s\n' "$text" | grep -qx "\.SS $name" || missing "the command '$name'"
done <<END
$commands
END
while read -r opt; do
	printf '%s\n' "$text" | grep -q -e "--$opt\>" || missing "the option --$opt"
done <<END
$long
END
while read -r opt; do
	printf '%s\n' "$text" | grep -q -e "-$opt\>" || missing "the option -$opt"
done <<END
$short
END
[ "$fail" = 0 ] || exit 1

if command -v groff >/dev/null; then
	out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	if [ -n "$out" ]; then
		echo "check-hftmon-1: groff warns about $page:" >&2
		echo "$out" >&2
		exit 1
	fi
else
	echo "check-hftmon-1: groff not installed: $page not rendered (apt-get install groff-base)" >&2
fi
