# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
The fake device for the binding's host tests: libhftmon-fake.so (make
test-python builds it: libhftmon's objects, tests/unit's fake /dev/hftmon
and fake_shim.c) is the library the binding loads, and `fake` drives it.
"""
import ctypes
import os
from ctypes import c_bool, c_char_p, c_int, c_uint, c_ulonglong

import pytest

from hft_resource_monitor import HFTResourceMonitor

FAKE_DEVICE = "/fake/hftmon"
FEAT_STACKS = 1 << 6
FEAT_SPIKE = 1 << 11
FEAT_NUMA_BALANCING = 1 << 14
FEAT_NUMA_ACCESS = 1 << 15
FEAT_PMU = 1 << 16


def US(t):
    """As tests/unit/fake_queries.h: t us after 1 ms of uptime, in ns."""
    return 1000000 + int(t * 1000)


class Fake:
    def __init__(self, path):
        self.path = path
        self.lib = lib = ctypes.CDLL(path)
        protos = {
            "pyfake_setup": (None, [c_uint, c_ulonglong]),
            "pyfake_teardown": (None, []),
            "pyfake_open_fds": (c_uint, []),
            "pyfake_source_status": (None, [c_uint, c_int]),
            "pyfake_pmu_status": (None, [c_uint, c_int]),
            "pyfake_open_errno": (None, [c_int]),
            "pyfake_fail": (None, [c_int, c_int]),
            "pyfake_config": (c_ulonglong, [c_int]),
            "pyfake_switch_out": (c_bool, [c_uint, c_ulonglong, c_int, c_int,
                                           c_char_p, c_bool, c_int, c_int,
                                           c_char_p, c_int, c_uint]),
            "pyfake_switch_in": (c_bool, [c_uint, c_ulonglong, c_int, c_int,
                                          c_char_p]),
            "pyfake_wakeup": (c_bool, [c_uint, c_ulonglong, c_int, c_int,
                                       c_char_p]),
            "pyfake_stack": (c_bool, [c_uint, c_ulonglong, c_int, c_int,
                                      c_uint, ctypes.POINTER(c_ulonglong),
                                      c_uint]),
            "pyfake_pmu": (c_bool, [c_uint, c_ulonglong, c_ulonglong, c_int,
                                    c_int, c_uint, c_int]),
            "pyfake_spike": (c_bool, [c_uint, c_ulonglong, c_ulonglong,
                                      c_ulonglong, c_int, c_int]),
            "pyfake_spike_of": (c_bool, [c_uint, c_uint, c_ulonglong,
                                         c_ulonglong, c_ulonglong, c_int,
                                         c_int]),
        }
        for name, (res, args) in protos.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args

    def __getattr__(self, name):
        return getattr(self.lib, "pyfake_" + name)

    def stack(self, cpu, t, pid, tid, sid, ips):
        arr = (c_ulonglong * len(ips))(*ips)
        assert self.lib.pyfake_stack(cpu, t, pid, tid, sid, arr, len(ips))


@pytest.fixture
def fake():
    path = os.environ.get("HFTMON_FAKE_LIBRARY")
    if not path:
        pytest.fail("HFTMON_FAKE_LIBRARY is not set: run these with "
                    "make test-python")
    f = Fake(path)
    f.setup(2, 0)
    yield f
    left = f.open_fds()
    f.teardown()
    assert left == 0, "the library left a descriptor open or a ring mapped"


@pytest.fixture
def monitor(fake):
    """A factory: the fake set up with features, then a monitor on it."""
    made = []

    def make(features=0):
        fake.setup(2, features)
        m = HFTResourceMonitor(device=FAKE_DEVICE, library=fake.path)
        made.append(m)
        return m
    yield make
    for m in made:
        m.close()
