#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1 OR MIT
# tests/export/engine.sh: prints the directory of Chrome DevTools' trace
# engine (npm @paulirish/trace_engine, pinned), installing it first into
# ~/.cache/hftmon/trace-engine if it is not there (and Node.js with npm
# from Debian if they are missing). test_cli reads the traces `hftmon
# export --perfetto` writes with it: a reader of the JSON trace-event
# format that hftmon did not write. Quiet when everything is present.
set -eu
version=0.0.65
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hftmon/trace-engine-$version
dir=$cache/node_modules/@paulirish/trace_engine
if [ -f "$dir/models/trace/trace.js" ]; then
	echo "$dir"
	exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "engine: installing nodejs and npm from Debian" >&2
	SUDO=
	[ "$(id -u)" = 0 ] || SUDO="sudo -n"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends nodejs npm >&2
fi
echo "engine: installing @paulirish/trace_engine@$version into $cache" >&2
mkdir -p "$cache"
npm install --prefix "$cache" --no-audit --no-fund --silent \
	"@paulirish/trace_engine@$version" >&2
[ -f "$dir/models/trace/trace.js" ] || {
	echo "engine: @paulirish/trace_engine@$version did not install into $cache" >&2
	exit 1
}
echo "$dir"
