#!/bin/sh
# python-bundle.sh DIR PYTHON LIBHFTMON RUN COLLECT: the host's Debian
# python3 with the part of its standard library and of pytest that the
# Python binding's tests import, into DIR, for the VM (whose root is a
# static busybox). Which modules: PYTHON runs pytest over RUN (the host
# tests, on the fake device) and a self-test that passes, fails, skips and
# errors, so that pytest's reporting imports what it needs too, then
# collects COLLECT (the VM tests: they need the module, so here they are
# only imported), and lists every module each loaded; their files (with the host's compiled .pyc, so the guest
# compiles nothing), the encodings package, the extension modules among
# them and every shared library those and the interpreter link (ldd), the
# dynamic loader, and LIBHFTMON are copied. DIR/python.sh runs it there
# (as tools/bench/perf-bundle.sh runs perf): through its own loader, with
# PYTHONHOME at DIR.
set -eu
dir=${1:?usage: python-bundle.sh DIR PYTHON LIBHFTMON RUN COLLECT}
python=${2:?python}
libhftmon=${3:?libhftmon}
run=${4:?tests to run}
collect=${5:?tests to collect}
exe=$(readlink -f "$(command -v "$python")")
[ -x "$exe" ] || { echo "python-bundle: no $python (make deps installs python3)" >&2; exit 1; }
"$exe" -c 'import pytest' 2>/dev/null ||
	{ echo "python-bundle: $exe has no pytest (make deps installs python3-pytest)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/lib" "$dir/site"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/test_selftest.py" <<'EOS'
import pytest
def test_pass(): assert {"a": [1, 2]} == {"a": [1, 2]}
def test_fail(): assert {"a": [1, 2], "b": "x" * 80} == {"a": [1, 3], "b": "y"}
def test_skip(): pytest.skip("probe")
def test_error(): raise OSError(22, "probe")
@pytest.mark.parametrize("v", [1])
def test_param(v, tmp_path, capsys): assert v
EOS
# The modules loaded once pytest is done, one "name file" a line.
cat >"$work/probe.py" <<'EOS'
import atexit, runpy, sys
out = sys.argv[1]
def dump():
    with open(out, "a") as f:
        for name, m in sorted(sys.modules.items()):
            fn = getattr(m, "__file__", None)
            if fn:
                f.write("%s %s\n" % (name, fn))
        # runpy puts the original __main__ back: name pytest's own.
        f.write("pytest.__main__ %s\n" % main)
atexit.register(dump)
import importlib.util
main = importlib.util.find_spec("pytest.__main__").origin
# As "python3 -m pytest" runs it (pytest/__main__.py is then __main__).
sys.argv = ["pytest", "-q", "-rA", "-p", "no:cacheprovider"] + sys.argv[2:]
runpy.run_module("pytest", run_name="__main__", alter_sys=True)
EOS
: >"$work/modules"
HFTMON_LIBRARY=$libhftmon "$exe" "$work/probe.py" "$work/modules" \
	"$work/test_selftest.py" "$run" >"$work/probe.log" 2>&1 || true
"$exe" "$work/probe.py" "$work/modules" --collect-only "$collect" \
	>>"$work/probe.log" 2>&1 || true
[ -s "$work/modules" ] || { cat "$work/probe.log" >&2; echo "python-bundle: the probe listed no modules" >&2; exit 1; }

ver=$("$exe" -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
stdlib=$("$exe" -c 'import os, sysconfig; print(os.path.realpath(sysconfig.get_paths()["stdlib"]))')
std="$dir/lib/$ver"
mkdir -p "$std/lib-dynload"
# copy FILE TOP: FILE (and its __pycache__ .pyc) under TOP, same relative path
copy() {
	rel=${1#"$2"/}
	mkdir -p "$3/$(dirname "$rel")"
	cp -L "$1" "$3/$rel"
	base=$(basename "$1" .py)
	for pyc in "$(dirname "$1")/__pycache__/$base".cpython-*.pyc; do
		case $pyc in *.opt-*) continue ;; esac	# what -O would read
		[ -e "$pyc" ] || continue
		mkdir -p "$3/$(dirname "$rel")/__pycache__"
		cp -L "$pyc" "$3/$(dirname "$rel")/__pycache__/"
	done
}
# All of encodings: which codecs start-up needs depends on the locale.
mkdir -p "$std/encodings"
for f in "$stdlib"/encodings/*.py; do copy "$f" "$stdlib" "$std"; done
: >"$work/so"
sort -u "$work/modules" >"$work/modules.sorted"
while read -r _ file; do
	file=$(readlink -f "$file")
	case $file in
	"$stdlib"/lib-dynload/*) cp -L "$file" "$std/lib-dynload/"; echo "$file" >>"$work/so" ;;
	"$stdlib"/*) copy "$file" "$stdlib" "$std" ;;
	/usr/lib/python3/dist-packages/*) copy "$file" /usr/lib/python3/dist-packages "$dir/site" ;;
	*) ;;	# the tree's own modules: the payload carries python/ itself
	esac
done <"$work/modules.sorted"
# The distribution metadata pytest reads (importlib.metadata) for its version.
for d in /usr/lib/python3/dist-packages/pytest-*.dist-info; do
	[ -d "$d" ] && cp -a "$d" "$dir/site/"
done

cp -L "$exe" "$dir/bin/$ver"
cp -L "$libhftmon" "$dir/lib/"
{ echo "$exe"; echo "$libhftmon"; cat "$work/so"; } | while read -r f; do ldd "$f"; done |
	awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
	while read -r lib; do cp -L "$lib" "$dir/lib/"; done
loader=$(ldd "$exe" | awk '$1 ~ /^\/.*ld-linux/ { print $1 }')
cat >"$dir/python.sh" <<EOS
#!/bin/sh
# $ver through its own loader and libraries (made by python-bundle.sh)
here=\$(cd "\$(dirname "\$0")" && pwd)
PYTHONHOME=\$here PYTHONPATH=\$here/site\${PYTHONPATH:+:\$PYTHONPATH} \\
	PYTHONDONTWRITEBYTECODE=1 exec "\$here/lib/$(basename "$loader")" \\
	--library-path "\$here/lib" "\$here/bin/$ver" "\$@"
EOS
chmod +x "$dir/python.sh"
echo "python-bundle: $(wc -l <"$work/modules.sorted") modules, $(du -sh "$dir" | cut -f1) in $dir"
