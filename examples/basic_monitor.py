#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1 OR MIT
#
# The original description's basic example, as it was written, on the
# kernel's real data (README "Python"). Only the import differs: the
# package is the tree's python/hft_resource_monitor. The lines before and
# after it are additions: trading_pid (the process to watch: argv[1], or
# this one) and a summary of what came back.
#   sudo python3 examples/basic_monitor.py [PID]
import os
import sys

trading_pid = int(sys.argv[1]) if len(sys.argv) > 1 else os.getpid()

# ---- the original basic example -------------------------------------------
from hft_resource_monitor import HFTResourceMonitor

# Create monitor instance
monitor = HFTResourceMonitor()

# Configure with microsecond precision
monitor.configure(
    sampling_interval_us=100,  # 100 microseconds
    cpu_affinity=[0, 1],       # Pin to specific cores
    realtime_priority=99       # Set real-time priority
)

# Attach to a trading process
monitor.attach_process(trading_pid)

# Start monitoring
monitor.start_monitoring()

# ... your trading application runs ...

# Get cache performance metrics
cache_stats = monitor.get_cache_metrics(
    time_window_us=1000,  # Last millisecond
    percentiles=[50, 95, 99, 99.9]
)

# Analyze context switches
context_switches = monitor.get_context_switches(
    include_stack_trace=True,
    min_duration_us=10
)

# Check NUMA efficiency
numa_stats = monitor.get_numa_stats(
    include_heatmap=True,
    resolution="cache_line"
)

# Detect latency spikes
spikes = monitor.detect_latency_spikes(
    threshold_us=50,
    include_cause_analysis=True
)

# Stop monitoring
monitor.stop_monitoring()
# ---- end of the original ----------------------------------------------------

print("cache: %s, %d slices" % (cache_stats.state, cache_stats.slices))
for c in cache_stats.counters:
    t = c.total
    print("  %-24s %s" % (c.event, t.value if t.value is not None
                          else "%s: %s" % (t.state, t.reason)))
print("context switches of at least 10 us: %d" % len(context_switches))
print("NUMA: %s; heatmap %s%s" % (
    numa_stats.state if numa_stats.state != "unsupported" else
    "unsupported: %s" % numa_stats.reason, numa_stats.heatmap_state,
    ": %s" % numa_stats.heatmap_reason if numa_stats.heatmap_reason else ""))
print("latency spikes of at least 50 us: %d" % len(spikes))
