#!/bin/sh
# perf-bundle.sh DIR: the host's perf (Debian's linux-perf) with every
# shared library it links and the dynamic loader, into DIR, and DIR/perf.sh
# that runs it there: the VM's root is a static busybox, so the benchmark
# brings perf along to measure it beside hftmon in the same boot.
# Exits 1 (and says why) if this host has no perf.
set -eu
dir=${1:?usage: perf-bundle.sh DIR}
perf=$(command -v perf || true)
# Debian's /usr/bin/perf is a wrapper script: the real one is versioned.
for p in /usr/bin/perf_*; do [ -x "$p" ] && perf=$p; done
if [ -z "$perf" ] || [ "$(head -c 4 "$perf" | tail -c 3)" != ELF ]; then
	echo "perf-bundle: no perf binary on this host (apt install linux-perf)" >&2
	exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
cp -L "$perf" "$dir/perf"
ldd "$perf" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do cp -L "$lib" "$dir/"; done
loader=$(ldd "$perf" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
cat >"$dir/perf.sh" <<EOS
#!/bin/sh
# perf through its own loader and libraries (made by perf-bundle.sh)
here=\$(dirname "\$0")
exec "\$here/$(basename "$loader")" --library-path "\$here" "\$here/perf" "\$@"
EOS
chmod +x "$dir/perf.sh"
