# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
The ctypes declarations (hft_resource_monitor/_lib.py) against the C
headers: a C program generated from them prints sizeof and alignment of
every struct, offsetof and sizeof of every field and the value of every
constant, compiled against include/hftmon.h; each must equal what ctypes
computes. A field added, moved or resized in the header without the same
change in _lib.py fails here.
"""
import ctypes
import os
import shutil
import subprocess

import pytest

from hft_resource_monitor import _lib as L

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..",
                                    ".."))


def c_program():
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <hftmon.h>",
             "int main(void) {"]
    for s in L.STRUCTS:
        t = s.c_name
        lines.append('printf("%%s size %%zu align %%zu\\n", "%s", sizeof(%s), '
                     '_Alignof(%s));' % (t, t, t))
        for name, _ in s._fields_:
            lines.append('printf("%%s.%s %%zu %%zu\\n", "%s", offsetof(%s, %s), '
                         'sizeof(((%s *)0)->%s));' % (name, t, t, name, t, name))
    for name in sorted(L.CONSTANTS):
        lines.append('printf("%s %%lld\\n", (long long)(%s));' % (name, name))
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n"


def ctypes_lines():
    out = []
    for s in L.STRUCTS:
        out.append("%s size %d align %d" % (s.c_name, ctypes.sizeof(s),
                                            ctypes.alignment(s)))
        for name, typ in s._fields_:
            out.append("%s.%s %d %d" % (s.c_name, name,
                                        getattr(s, name).offset,
                                        ctypes.sizeof(typ)))
    for name in sorted(L.CONSTANTS):
        out.append("%s %d" % (name, L.CONSTANTS[name]))
    return out


@pytest.fixture(scope="module")
def c_lines(tmp_path_factory):
    cc = os.environ.get("CC", "cc")
    if not shutil.which(cc):
        pytest.fail("no C compiler (%s): build-essential is a make deps "
                    "package" % cc)
    d = tmp_path_factory.mktemp("abi")
    src, exe = d / "abi.c", d / "abi"
    src.write_text(c_program())
    r = subprocess.run([cc, "-std=c11", "-Wall", "-Werror",
                        "-I" + os.path.join(ROOT, "include"),
                        "-I" + os.path.join(ROOT, "include", "uapi"),
                        "-o", str(exe), str(src)], capture_output=True,
                       text=True)
    if r.returncode:
        return r.stderr
    return subprocess.run([str(exe)], check=True, capture_output=True,
                          text=True).stdout.splitlines()


def test_every_struct_field_and_constant_matches_the_header(c_lines):
    assert not isinstance(c_lines, str), \
        "_lib.py names what the header does not have:\n" + c_lines
    py = ctypes_lines()
    assert len(py) == len(c_lines)
    diff = ["C: %s | ctypes: %s" % (c, p) for c, p in zip(c_lines, py) if c != p]
    assert not diff, "\n".join(diff)


def test_every_struct_the_prototypes_use_is_checked():
    used = set()
    for res, args in L.PROTOTYPES.values():
        for a in args:
            t = getattr(a, "_type_", None)
            if isinstance(t, type) and issubclass(t, ctypes.Structure):
                used.add(t)
    assert used <= set(L.STRUCTS)
