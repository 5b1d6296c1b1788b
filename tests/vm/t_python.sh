#!/bin/sh
# The Python binding (python/, hft_resource_monitor) against the loaded
# module: pytest over python/tests/vm, run by the host's python3 and
# pytest that the payload carries (py/: tools/vm/python-bundle.sh). The
# tests compare what Python returns with /proc and with the C API on the
# ping-pong workload, check every method's bad input, and run the
# original description's basic example (examples/basic_monitor.py).
# (Expects the module loaded, as guest.sh leaves it.)
set -u
here=$(pwd)
[ -x "$here/py/python.sh" ] || { echo "# no py/ in the payload (mk/python.mk)"; exit 1; }
rm -f /tmp/t_python.rc
{
	HFTMON_PYTHON=$here/py/python.sh HFTMON_BIN=$here/bin \
		HFTMON_EXAMPLE=$here/python/examples/basic_monitor.py \
		"$here/py/python.sh" -m pytest -q -rA -p no:cacheprovider \
		"$here/python/tests/vm"
	echo $? >/tmp/t_python.rc
} 2>&1 | sed 's/^/# /'
rc=$(cat /tmp/t_python.rc 2>/dev/null || echo 1)
if [ "$rc" != 0 ]; then
	# What else was on the CPUs: threads running or RT (from their stat).
	for t in /proc/[0-9]*/task/[0-9]*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		# shellcheck disable=SC2086  # the fields after "(comm) ", split
		set -- ${s#*) }
		[ "$1" = R ] || [ "${39}" != 0 ] || continue
		echo "# thread ${t##*/} state $1 cpu ${37} rtprio ${38} policy ${39}: $(cat "$t/comm" 2>/dev/null)"
	done
fi
# pytest's status (sed's is the pipeline's).
exit "$rc"
