# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
hft_resource_monitor: the original description's Python API,
HFTResourceMonitor, on the kernel's real data through libhftmon (ctypes
over the installed libhftmon.so.2; no compiled extension). See the
README's "Python" section.
"""
from .errors import (DeviceError, HFTMonitorError, InvalidArgumentError,
                     MonitorStateError, PermissionDeniedError,
                     ProcessNotFoundError, UnsupportedError)
from .metrics import (CacheCounter, CacheMetrics, CacheRatio, ContextSwitch,
                      CounterValue, LatencySpike, NumaHeatCell, NumaStats,
                      SpikeCause, ThreadSchedulingInfo)
from .monitor import DEFAULT_SPIKE_THRESHOLD_US, HFTResourceMonitor

__version__ = "1.0.0"

__all__ = [
    "HFTResourceMonitor", "DEFAULT_SPIKE_THRESHOLD_US",
    "HFTMonitorError", "InvalidArgumentError", "UnsupportedError",
    "PermissionDeniedError", "ProcessNotFoundError", "MonitorStateError",
    "DeviceError",
    "CacheMetrics", "CacheCounter", "CacheRatio", "CounterValue",
    "ContextSwitch", "NumaStats", "NumaHeatCell", "LatencySpike",
    "SpikeCause", "ThreadSchedulingInfo",
]
