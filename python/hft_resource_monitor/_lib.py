# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
ctypes declarations of libhftmon's public API (include/hftmon.h and the
uapi structs it returns, include/uapi/linux/hftmon.h), nothing else: one
Structure per C struct, fields in the header's order with its C types,
and the prototypes of the functions the package calls. The names are the
header's, so tests/host/test_abi.py can print every field's offsetof and
sizeof from a C program compiled against the header and compare: any
drift between this file and the header fails that test.

Every struct the library reads or fills begins with size_t sz, which the
binding sets to ctypes.sizeof() of its own declaration (the header's
rule: the library then fills only what this declaration has room for).
"""
import ctypes
import os
from ctypes import (POINTER, CFUNCTYPE, Structure, c_bool, c_char, c_char_p,
                    c_double, c_int, c_int32, c_int64, c_size_t, c_uint,
                    c_uint32, c_uint64, c_void_p)

c_pid_t = c_int

# ---- constants of the two headers (checked against them by test_abi) ------
HFTMON_TASK_COMM_LEN = 16
HFTMON_IRQ_NAME_LEN = 32
HFTMON_SRC_MAX = 32
HFTMON_LOST_MAX = 8
HFTMON_MAX_CPUS = 1024
HFTMON_NUMA_MAX_NODES = 64
HFTMON_PMU_MAX_COUNTERS = 4
HFTMON_CACHE_MAX_PERCENTILES = 8
HFTMON_CACHE_NR_LEVELS = 7
HFTMON_LOG2_SLOTS = 65

HFTMON_FEAT_SPIKE = 1 << 11
HFTMON_FEAT_NUMA_BALANCING = 1 << 14
HFTMON_FEAT_NUMA_ACCESS = 1 << 15
HFTMON_FEAT_PMU = 1 << 16

HFTMON_EV_SCHED_ALL = 0x1f
HFTMON_EV_NUMA = 1 << 10

HFTMON_SRC_PMU_HW = 7
HFTMON_SRC_NUMA_BALANCING = 9
HFTMON_SRC_SPIKE = 14
HFTMON_SRC_NUMA_ACCESS = 16

HFTMON_LOG_ERROR = 0
HFTMON_LOG_WARN = 1

HFTMON_NUMA_RES_NONE = 0
HFTMON_NUMA_RES_PAGE = 1
HFTMON_NUMA_RES_CACHELINE = 2
HFTMON_NUMA_LINE_MAX_PERIOD = 1 << 28

HFTMON_SPIKE_INTERRUPTED = 1
HFTMON_SPIKE_RUNNABLE = 2
HFTMON_SPIKE_FAULT = 3
HFTMON_SPIKE_WOKEN = 1 << 0
HFTMON_SPIKE_IDLE = 1 << 1
HFTMON_SPIKE_EXTENDS = 1 << 2

HFTMON_PART_RUN = 1
HFTMON_PART_IRQ = 2
HFTMON_PART_VECTOR = 3
HFTMON_PART_SOFTIRQ = 4
HFTMON_PART_NMI = 5
HFTMON_PART_TASK = 6
HFTMON_PART_SLEEP = 7
HFTMON_PART_WAIT = 8
HFTMON_PART_IDLE_EXIT = 9
HFTMON_PART_UNATTRIBUTED = 10
HFTMON_PART_FAULT = 11

HFTMON_PMU_NO_DATA = 0
HFTMON_PMU_MEASURED = 1
HFTMON_PMU_PARTIAL = 2
HFTMON_PMU_UNAVAILABLE = 3
HFTMON_PMU_UNSUPPORTED = 4
HFTMON_PMU_NOT_CONFIGURED = 5

HFTMON_STACK_USER = 1 << 0
HFTMON_STACK_TRUNCATED = 1 << 1

# The constants above, by their C names, for test_abi.
CONSTANTS = {k: v for k, v in dict(globals()).items()
             if k.startswith("HFTMON_")}

LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p)


def _struct(c_name, fields):
    """A Structure named after C's struct c_name with these fields."""
    cls = type(c_name, (Structure,), {"_fields_": fields})
    cls.c_name = "struct " + c_name
    return cls


hftmon_open_opts = _struct("hftmon_open_opts", [
    ("sz", c_size_t),
    ("device", c_char_p),
    ("log", LOG_FN),
    ("log_ctx", c_void_p),
])

hftmon_info = _struct("hftmon_info", [
    ("size", c_uint32),
    ("abi_version", c_uint32),
    ("features", c_uint64),
    ("nr_cpu_ids", c_uint32),
    ("nr_online_cpus", c_uint32),
    ("nr_nodes", c_uint32),
    ("page_size", c_uint32),
    ("max_ring_pages", c_uint32),
    ("default_ring_pages", c_uint32),
    ("max_procs", c_uint32),
    ("nr_sources", c_uint32),
    ("source_status", c_int32 * HFTMON_SRC_MAX),
    ("reserved", c_uint64 * 8),
])

hftmon_pmu_counter = _struct("hftmon_pmu_counter", [
    ("sz", c_size_t),
    ("type", c_uint32),
    ("config", c_uint64),
])

hftmon_monitor_config = _struct("hftmon_monitor_config", [
    ("sz", c_size_t),
    ("sampling_interval_us", c_uint32),
    ("cpu_affinity", POINTER(c_int)),
    ("nr_cpu_affinity", c_size_t),
    ("realtime_priority", c_int),
    ("ring_pages", c_uint32),
    ("events", c_uint64),
    ("drain_thread", c_bool),
    ("drain_interval_us", c_uint32),
    ("history_switches", c_uint32),
    ("history_wakeups", c_uint32),
    ("record_fn", c_void_p),
    ("record_ctx", c_void_p),
    ("raw_only", c_bool),
    ("max_threads", c_uint32),
    ("max_stacks", c_uint32),
    ("drain_max_interval_us", c_uint32),
    ("wakeup_bytes", c_uint32),
    ("spike_threshold_us", c_uint64),
    ("irq_cpus", POINTER(c_int)),
    ("nr_irq_cpus", c_size_t),
    ("pmu_counters", POINTER(hftmon_pmu_counter)),
    ("nr_pmu_counters", c_size_t),
    ("numa_line_period", c_uint32),
    ("numa_line_ldlat", c_uint32),
])

hftmon_attach_opts = _struct("hftmon_attach_opts", [
    ("sz", c_size_t),
    ("track_cache", c_bool),
    ("track_numa", c_bool),
    ("kernel_stacks", c_bool),
    ("user_stacks", c_bool),
    ("kernel_stacks_min_us", c_uint32),
    ("follow_children", c_bool),
])

hftmon_stats_summary = _struct("hftmon_stats_summary", [
    ("sz", c_size_t),
    ("records", c_uint64),
    ("lost", c_uint64 * HFTMON_LOST_MAX),
    ("lost_total", c_uint64),
    ("delivered", c_uint64),
    ("seq_gaps", c_uint64),
    ("bad_records", c_uint64),
    ("nr_procs", c_uint32),
    ("running", c_bool),
    ("start_ns", c_uint64),
    ("stop_ns", c_uint64),
    ("switches_completed", c_uint64),
    ("switches_overwritten", c_uint64),
    ("wakeups_overwritten", c_uint64),
    ("aggregator_late", c_uint64),
    ("aggregator_dropped", c_uint64),
    ("unknown_records", c_uint64),
    ("drain_wakeups", c_uint64),
    ("drain_timer_wakeups", c_uint64),
    ("drain_records", c_uint64),
    ("drain_cpu_ns", c_uint64),
])

hftmon_switch_query = _struct("hftmon_switch_query", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("min_duration_us", c_uint64),
    ("window_us", c_uint64),
    ("include_stack_trace", c_bool),
    ("since_ns", c_uint64),
    ("until_ns", c_uint64),
])

hftmon_switch_event = _struct("hftmon_switch_event", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("comm", c_char * HFTMON_TASK_COMM_LEN),
    ("out_ns", c_uint64),
    ("in_ns", c_uint64),
    ("off_cpu_ns", c_uint64),
    ("wakeup_ns", c_uint64),
    ("waker_pid", c_pid_t),
    ("waker_tid", c_pid_t),
    ("voluntary", c_bool),
    ("prev_state", c_uint32),
    ("prio", c_int),
    ("out_cpu", c_int),
    ("in_cpu", c_int),
    ("next_pid", c_pid_t),
    ("next_tid", c_pid_t),
    ("next_comm", c_char * HFTMON_TASK_COMM_LEN),
    ("next_prio", c_int),
    ("next_policy", c_uint),
    ("kstack_id", c_uint32),
    ("ustack_id", c_uint32),
])

hftmon_latency = _struct("hftmon_latency", [
    ("sz", c_size_t),
    ("count", c_uint64),
    ("min_us", c_double),
    ("mean_us", c_double),
    ("max_us", c_double),
    ("stddev_us", c_double),
    ("p50_us", c_double),
    ("p90_us", c_double),
    ("p99_us", c_double),
    ("p999_us", c_double),
    ("missed", c_uint64),
    ("log2_ns", c_uint64 * HFTMON_LOG2_SLOTS),
])

hftmon_latency_query = _struct("hftmon_latency_query", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("window_us", c_uint64),
    ("percentiles", POINTER(c_double)),
    ("pct_out", POINTER(c_double)),
    ("nr_percentiles", c_size_t),
    ("since_ns", c_uint64),
    ("until_ns", c_uint64),
])

hftmon_thread_info = _struct("hftmon_thread_info", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("comm", c_char * HFTMON_TASK_COMM_LEN),
    ("policy", c_int),
    ("rt_priority", c_int),
    ("nice", c_int),
    ("affinity", c_uint64 * (HFTMON_MAX_CPUS // 64)),
    ("cpu", c_int),
    ("cpu_time_ns", c_uint64),
    ("cpu_time_resolution_ns", c_uint64),
    ("run_delay_ns", c_int64),
    ("voluntary_switches", c_uint64),
    ("involuntary_switches", c_uint64),
    ("migrations", c_int64),
])

hftmon_pmu_metric = _struct("hftmon_pmu_metric", [
    ("state", c_uint32),
    ("status", c_int),
    ("value", c_uint64),
    ("slices_counted", c_uint64),
    ("slices_missed", c_uint64),
    ("slices_rescheduled", c_uint64),
])

hftmon_numa_heat = _struct("hftmon_numa_heat", [
    ("sz", c_size_t),
    ("addr", c_uint64),
    ("bytes", c_uint64),
    ("mem_node", c_int),
    ("cpu_node", c_int),
    ("count", c_uint64),
    ("first_ns", c_uint64),
    ("last_ns", c_uint64),
])

hftmon_numa_stats_query = _struct("hftmon_numa_stats_query", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("window_us", c_uint64),
    ("since_ns", c_uint64),
    ("until_ns", c_uint64),
    ("resolution", c_uint32),
    ("heat", POINTER(hftmon_numa_heat)),
    ("max_heat", c_size_t),
])

hftmon_numa_stats = _struct("hftmon_numa_stats", [
    ("sz", c_size_t),
    ("source", c_char * 32),
    ("samples", c_uint64),
    ("local", c_uint64),
    ("remote", c_uint64),
    ("unknown", c_uint64),
    ("missed", c_uint64),
    ("first_ns", c_uint64),
    ("last_ns", c_uint64),
    ("page_size", c_uint32),
    ("nr_nodes", c_uint32),
    ("by_node", (c_uint64 * HFTMON_NUMA_MAX_NODES) * HFTMON_NUMA_MAX_NODES),
    ("dram_events", (c_char * 64) * 2),
    ("dram_local", hftmon_pmu_metric),
    ("dram_remote", hftmon_pmu_metric),
    ("dram_complete", c_bool),
    ("dram_why", c_char * 160),
    ("bandwidth_status", c_int),
    ("bandwidth_why", c_char * 224),
    ("bandwidth_ns", c_uint64),
    ("read_bytes", c_uint64 * HFTMON_NUMA_MAX_NODES),
    ("write_bytes", c_uint64 * HFTMON_NUMA_MAX_NODES),
    ("source_event", c_char * 96),
    ("lost", c_uint64),
    ("skipped", c_uint64),
])

hftmon_part = _struct("hftmon_part", [
    ("sz", c_size_t),
    ("kind", c_uint32),
    ("nr", c_uint32),
    ("cpu", c_int),
    ("start_ns", c_uint64),
    ("end_ns", c_uint64),
    ("ns", c_uint64),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("comm", c_char * HFTMON_TASK_COMM_LEN),
    ("prio", c_int),
    ("policy", c_uint),
    ("name", c_char * HFTMON_IRQ_NAME_LEN),
    ("addr", c_uint64),
])

hftmon_spike = _struct("hftmon_spike", [
    ("sz", c_size_t),
    ("type", c_uint32),
    ("flags", c_uint32),
    ("cpu", c_int),
    ("from_cpu", c_int),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("start_ns", c_uint64),
    ("end_ns", c_uint64),
    ("duration_ns", c_uint64),
    ("threshold_ns", c_uint64),
    ("idle_state", c_int),
    ("idle_exit_ns", c_uint64),
    ("links", c_uint32),
    ("first_part", c_size_t),
    ("nr_parts", c_size_t),
    ("addr", c_uint64),
    ("pmu_nr", c_uint32),
    ("pmu_records", c_uint32),
    ("pmu_from_ns", c_uint64),
    ("pmu_to_ns", c_uint64),
    ("pmu_complete", c_bool),
    ("pmu", hftmon_pmu_metric * HFTMON_PMU_MAX_COUNTERS),
])

hftmon_spike_query = _struct("hftmon_spike_query", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("window_us", c_uint64),
    ("min_duration_us", c_uint64),
    ("cause_analysis", c_bool),
    ("parts", POINTER(hftmon_part)),
    ("max_parts", c_size_t),
])

hftmon_cache_query = _struct("hftmon_cache_query", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("window_us", c_uint64),
    ("from_ns", c_uint64),
    ("to_ns", c_uint64),
    ("percentiles", POINTER(c_double)),
    ("nr_percentiles", c_size_t),
])

hftmon_cache_counter = _struct("hftmon_cache_counter", [
    ("event", c_uint32),
    ("type", c_uint32),
    ("config", c_uint64),
    ("total", hftmon_pmu_metric),
    ("reason", c_char_p),
    ("count_pct", c_uint64 * HFTMON_CACHE_MAX_PERCENTILES),
    ("per_us_state", c_uint32),
    ("per_kinst_state", c_uint32),
    ("per_kinst_status", c_int),
    ("per_us_slices", c_uint64),
    ("per_kinst_slices", c_uint64),
    ("per_us_pct", c_double * HFTMON_CACHE_MAX_PERCENTILES),
    ("per_kinst_pct", c_double * HFTMON_CACHE_MAX_PERCENTILES),
])

hftmon_cache_ratio = _struct("hftmon_cache_ratio", [
    ("level", c_uint32),
    ("state", c_uint32),
    ("status", c_int),
    ("reason", c_char_p),
    ("accesses", c_uint64),
    ("misses", c_uint64),
    ("slices", c_uint64),
    ("miss_ratio", c_double),
    ("hit_ratio", c_double),
])

hftmon_cache_metrics = _struct("hftmon_cache_metrics", [
    ("sz", c_size_t),
    ("pid", c_pid_t),
    ("tid", c_pid_t),
    ("slices", c_uint64),
    ("on_cpu_ns", c_uint64),
    ("complete", c_bool),
    ("nr_percentiles", c_uint32),
    ("nr", c_uint32),
    ("c", hftmon_cache_counter * HFTMON_PMU_MAX_COUNTERS),
    ("ratio", hftmon_cache_ratio * HFTMON_CACHE_NR_LEVELS),
])

STRUCTS = [v for v in dict(globals()).values()
           if isinstance(v, type) and issubclass(v, Structure)
           and hasattr(v, "c_name")]

# ---- functions ------------------------------------------------------------
_H = c_void_p       # struct hftmon *

PROTOTYPES = {
    "hftmon_open": (c_int, [POINTER(hftmon_open_opts), POINTER(_H)]),
    "hftmon_close": (None, [_H]),
    "hftmon_get_info": (c_int, [_H, POINTER(hftmon_info)]),
    "hftmon_source_name": (c_char_p, [c_uint]),
    "hftmon_source_reason": (c_char_p, [c_uint, c_int]),
    "hftmon_configure": (c_int, [_H, POINTER(hftmon_monitor_config)]),
    "hftmon_attach_process": (c_int, [_H, c_pid_t,
                                      POINTER(hftmon_attach_opts)]),
    "hftmon_detach_process": (c_int, [_H, c_pid_t]),
    "hftmon_start": (c_int, [_H]),
    "hftmon_stop": (c_int, [_H]),
    "hftmon_get_stats": (c_int, [_H, POINTER(hftmon_stats_summary),
                                 c_void_p, c_uint]),
    "hftmon_get_context_switches": (c_int, [_H, POINTER(hftmon_switch_query),
                                            POINTER(hftmon_switch_event),
                                            c_size_t]),
    "hftmon_get_stack": (c_int, [_H, c_uint32, POINTER(c_uint64), c_size_t,
                                 POINTER(c_uint)]),
    "hftmon_get_wakeup_latency": (c_int, [_H, POINTER(hftmon_latency_query),
                                          POINTER(hftmon_latency)]),
    "hftmon_get_thread_scheduling_info": (c_int, [_H, c_pid_t,
                                                  POINTER(hftmon_thread_info),
                                                  c_size_t]),
    "hftmon_get_numa_stats": (c_int, [_H, POINTER(hftmon_numa_stats_query),
                                      POINTER(hftmon_numa_stats)]),
    "hftmon_detect_latency_spikes": (c_int, [_H, POINTER(hftmon_spike_query),
                                             POINTER(hftmon_spike),
                                             c_size_t]),
    "hftmon_set_spike_threshold": (c_int, [_H, c_uint64]),
    "hftmon_get_cache_metrics": (c_int, [_H, POINTER(hftmon_cache_query),
                                         POINTER(hftmon_cache_metrics)]),
    "hftmon_cache_counters": (c_int, [_H, POINTER(c_char_p), c_size_t,
                                      POINTER(hftmon_pmu_counter), c_size_t]),
    "hftmon_cache_event_name": (c_char_p, [c_uint]),
    "hftmon_cache_level_name": (c_char_p, [c_uint]),
    "hftmon_pmu_reason": (c_char_p, [c_int]),
}

# The soname: libhftmon.so.2 (the major of mk/userspace.mk's version).
SONAME = "libhftmon.so.2"


def load(path=None):
    """
    libhftmon with its prototypes set: path, else $HFTMON_LIBRARY, else
    the soname through the dynamic loader's search (ldconfig's cache,
    LD_LIBRARY_PATH), else where make install put it (_config.LIBDIR).
    OSError if it cannot be loaded.
    """
    path = path or os.environ.get("HFTMON_LIBRARY")
    try:
        lib = ctypes.CDLL(path or SONAME, use_errno=True)
    except OSError:
        from ._config import LIBDIR
        if path or not LIBDIR:
            raise
        lib = ctypes.CDLL(os.path.join(LIBDIR, SONAME), use_errno=True)
    for name, (res, args) in PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


__all__ = ["load", "STRUCTS", "CONSTANTS", "PROTOTYPES", "LOG_FN", "SONAME"]
