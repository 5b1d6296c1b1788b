# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
The typed results of HFTResourceMonitor's queries, one dataclass per kind,
filled from libhftmon's output structs as they are (times in the
library's units converted to microseconds where the name says _us).

A value the machine did not measure is never a number here: its state
says what happened ("measured", "partial", "unavailable", "unsupported",
"not_configured", "no_data"), errno and reason say why, and the value is
None. "partial" values are sums over the slices that counted, not scaled.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional

# enum hftmon_pmu_state (and HFTMON_PMU_NOT_CONFIGURED), by number.
PMU_STATES = {0: "no_data", 1: "measured", 2: "partial", 3: "unavailable",
              4: "unsupported", 5: "not_configured"}
COUNTED = ("measured", "partial")

POLICIES = {0: "SCHED_OTHER", 1: "SCHED_FIFO", 2: "SCHED_RR",
            3: "SCHED_BATCH", 5: "SCHED_IDLE", 6: "SCHED_DEADLINE"}


@dataclass
class CounterValue:
    """One counted quantity: its value only when state is measured/partial."""
    state: str
    errno: int = 0
    reason: Optional[str] = None
    value: Optional[int] = None
    slices_counted: int = 0
    slices_missed: int = 0


@dataclass
class CacheCounter:
    """One PMU counter of the session over the window (hftmon_cache_counter)."""
    event: str                      # "L1-dcache-load-misses", or "other"
    type: int                       # perf_event_attr type and config
    config: int
    total: CounterValue
    # per-slice percentiles {p: value}; None unless total is counted
    count_percentiles: Optional[Dict[float, int]] = None
    per_us_state: str = "no_data"
    per_us_percentiles: Optional[Dict[float, float]] = None
    per_kilo_instructions_state: str = "no_data"
    per_kilo_instructions_errno: int = 0
    per_kilo_instructions_percentiles: Optional[Dict[float, float]] = None


@dataclass
class CacheRatio:
    """A level's misses/accesses (hftmon_cache_ratio); rates None if not counted."""
    level: str                      # "L1D", "LLC", "dTLB", "branch"...
    state: str
    errno: int = 0
    reason: Optional[str] = None
    accesses: Optional[int] = None
    misses: Optional[int] = None
    slices: int = 0
    miss_rate: Optional[float] = None
    hit_rate: Optional[float] = None


@dataclass
class CacheMetrics:
    """
    get_cache_metrics(): the session's counters for one process (or
    thread) over the window. state "unsupported" (reason): the session
    has no PMU counters at all; "no_data": none of its slices in the span.
    """
    pid: int
    tid: int
    time_window_us: int
    state: str
    errno: int = 0
    reason: Optional[str] = None
    slices: int = 0
    on_cpu_us: float = 0.0
    complete: bool = True
    percentiles: List[float] = field(default_factory=list)
    counters: List[CacheCounter] = field(default_factory=list)
    ratios: Dict[str, CacheRatio] = field(default_factory=dict)

    def counter(self, event):
        """The CacheCounter of event (a name such as "instructions"), or None."""
        for c in self.counters:
            if c.event == event:
                return c
        return None


@dataclass
class ContextSwitch:
    """One completed switch of a tracked thread: out, then back in."""
    pid: int
    tid: int
    comm: str
    voluntary: bool                 # blocked; False: preempted
    out_ns: int                     # CLOCK_MONOTONIC
    in_ns: int
    duration_us: float              # off CPU
    wakeup_ns: Optional[int]        # None: it was not blocked
    waker_pid: int
    waker_tid: int
    prev_state: int
    prio: int                       # kernel prio at switch-out
    out_cpu: int
    in_cpu: int
    next_pid: int
    next_tid: int
    next_comm: str
    next_prio: int
    next_policy: str
    # include_stack_trace: instruction pointers, innermost first; None
    # when no stack was taken (stack_reason says why)
    kernel_stack: Optional[List[int]] = None
    user_stack: Optional[List[int]] = None
    stack_reason: Optional[str] = None

    @property
    def involuntary(self):
        return not self.voluntary


@dataclass
class NumaHeatCell:
    """A heatmap row: a page, the node of its memory, the accessing CPU's."""
    addr: int
    bytes: int
    mem_node: int
    cpu_node: int
    count: int
    first_ns: int
    last_ns: int


@dataclass
class NumaStats:
    """
    get_numa_stats(): sampled accesses by memory node and CPU node. state
    "unsupported" (reason): the session cannot sample them at all, and
    every count is None. heatmap_state says whether the heatmap asked for
    was made ("measured"), not asked ("not_requested"), or refused
    ("unsupported", heatmap_reason: the library's reason, as for
    cache-line resolution).
    """
    state: str
    resolution: str
    errno: int = 0
    reason: Optional[str] = None
    source: Optional[str] = None
    samples: Optional[int] = None
    local: Optional[int] = None
    remote: Optional[int] = None
    unknown: Optional[int] = None
    missed: Optional[int] = None
    local_ratio: Optional[float] = None
    page_size: Optional[int] = None
    # by_node[memory node][CPU node] = samples
    by_node: Optional[List[List[int]]] = None
    heatmap_state: str = "not_requested"
    heatmap_errno: int = 0
    heatmap_reason: Optional[str] = None
    heatmap: Optional[List[NumaHeatCell]] = None
    heatmap_rows: int = 0           # rows in all (heatmap holds the first)
    dram_events: List[str] = field(default_factory=list)
    dram_local: Optional[CounterValue] = None
    dram_remote: Optional[CounterValue] = None
    bandwidth_state: str = "unsupported"
    bandwidth_errno: int = 0
    bandwidth_reason: Optional[str] = None
    read_bytes: Optional[List[int]] = None
    write_bytes: Optional[List[int]] = None


@dataclass
class SpikeCause:
    """A piece of a spike's time (hftmon_part): who or what had it."""
    kind: str                       # "run", "irq", "softirq", "task"...
    cpu: int
    start_ns: int
    end_ns: int
    duration_us: float
    nr: int = 0
    name: str = ""
    pid: int = 0
    tid: int = 0
    comm: str = ""
    prio: int = 0
    policy: str = ""
    addr: int = 0


@dataclass
class LatencySpike:
    """A latency spike the kernel detected (hftmon_spike)."""
    type: str                       # "interrupted", "runnable", "fault"
    pid: int
    tid: int
    cpu: int
    from_cpu: int
    start_ns: int
    end_ns: int
    duration_us: float
    threshold_us: float
    woken: bool
    idle: bool
    idle_state: int
    links: int
    addr: int
    # include_cause_analysis: every piece of the spike, summing to it;
    # None when not asked or not explained (causes_reason says why)
    causes: Optional[List[SpikeCause]] = None
    causes_reason: Optional[str] = None
    # With PMU counters: what each counted (configure's order, as
    # get_cache_metrics() names them) over the thread's reads that overlap
    # the spike, which span [counters_from_ns, counters_to_ns); a runnable
    # spike's are no_data (the thread did not run). None without counters.
    counters: Optional[List[CounterValue]] = None
    counters_from_ns: int = 0
    counters_to_ns: int = 0
    counters_complete: bool = True


@dataclass
class ThreadSchedulingInfo:
    """
    One thread as the kernel sees it at the call. priority is the kernel's
    as /proc/PID/stat gives it (top's PR): -1 - rt_priority for
    SCHED_FIFO/RR, 20 + nice otherwise. scheduling_jitter_us: the standard
    deviation of its wake-up-to-run latency over the session (None unless
    jitter_state is "measured": "not_monitored", "no_data").
    """
    pid: int
    tid: int
    name: str
    policy: str
    priority: int
    rt_priority: int
    nice: int
    cpu_affinity: List[int]
    cpu: int
    cpu_time_us: float
    cpu_time_resolution_ns: int
    run_delay_us: Optional[float]
    voluntary_switches: int
    involuntary_switches: int
    migrations: Optional[int]
    scheduling_jitter_us: Optional[float] = None
    jitter_state: str = "not_monitored"
    jitter_samples: int = 0
    wakeup_latency_p99_us: Optional[float] = None
    wakeup_latency_max_us: Optional[float] = None
