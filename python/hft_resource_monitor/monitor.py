# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
HFTResourceMonitor: the original description's Python API over libhftmon.

Each method is one libhftmon call (or a query and its retry with room
for every result), nothing more: the library's own drain thread
(hftmon_monitor_config.drain_thread) takes every record out of the
kernel's rings and aggregates it; Python only asks the queries, and
never sees a record. Failures raise the exceptions of errors.py with the
library's errno and the reason it logged; metrics that this machine
cannot measure come back with state "unsupported" and that reason,
never as a number.
"""
import ctypes
import errno as _errno
import math
import numbers
import threading
from ctypes import byref, c_char_p, c_double, c_int, c_uint, c_uint64, c_void_p

from . import _lib as L
from .errors import error_for, invalid, UnsupportedError
from .metrics import (COUNTED, PMU_STATES, POLICIES, CacheCounter,
                      CacheMetrics, CacheRatio, ContextSwitch, CounterValue,
                      LatencySpike, NumaHeatCell, NumaStats, SpikeCause,
                      ThreadSchedulingInfo)

# The spikes the kernel reports when configure() is not told: the
# shortest any detect_latency_spikes() threshold can then ask for.
DEFAULT_SPIKE_THRESHOLD_US = 10
# One in this many loads sampled for the cache-line heatmap, as the CLI.
CACHE_LINE_PERIOD = 2003

RESOLUTIONS = {"none": L.HFTMON_NUMA_RES_NONE,
               "page": L.HFTMON_NUMA_RES_PAGE,
               "cacheline": L.HFTMON_NUMA_RES_CACHELINE,
               "cache_line": L.HFTMON_NUMA_RES_CACHELINE,
               "cache-line": L.HFTMON_NUMA_RES_CACHELINE}

SPIKE_TYPES = {L.HFTMON_SPIKE_INTERRUPTED: "interrupted",
               L.HFTMON_SPIKE_RUNNABLE: "runnable",
               L.HFTMON_SPIKE_FAULT: "fault"}

PART_KINDS = {L.HFTMON_PART_RUN: "run", L.HFTMON_PART_IRQ: "irq",
              L.HFTMON_PART_VECTOR: "vector",
              L.HFTMON_PART_SOFTIRQ: "softirq", L.HFTMON_PART_NMI: "nmi",
              L.HFTMON_PART_TASK: "task", L.HFTMON_PART_SLEEP: "sleep",
              L.HFTMON_PART_WAIT: "wait",
              L.HFTMON_PART_IDLE_EXIT: "idle_exit",
              L.HFTMON_PART_UNATTRIBUTED: "unattributed",
              L.HFTMON_PART_FAULT: "fault"}

PERF_TYPE_SOFTWARE = 1
MAX_STACK_FRAMES = 127
# Parts kept per spike for cause analysis (a spike's pieces: a handful).
CAUSE_PARTS_PER_SPIKE = 64


def _str(b):
    return b.decode("utf-8", "replace") if b else ""


def _uint(op, name, v, hi=None):
    """v as a non-negative int (not a bool), at most hi: else EINVAL."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
        raise invalid(op, "%s must be an integer >= 0, not %r" % (name, v))
    if hi is not None and v > hi:
        raise invalid(op, "%s must be at most %d, not %r" % (name, hi, v))
    return int(v)


def _pid(op, name, v, zero_ok=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or \
            v < (0 if zero_ok else 1) or v > 0x7fffffff:
        raise invalid(op, "%s must be a process id%s, not %r"
                      % (name, " or 0" if zero_ok else "", v))
    return int(v)


def _opt_bool(op, name, v):
    if v is not None and not isinstance(v, bool):
        raise invalid(op, "%s must be True, False or None, not %r" % (name, v))
    return v


def _bool(op, name, v):
    if not isinstance(v, bool):
        raise invalid(op, "%s must be True or False, not %r" % (name, v))
    return v


def _counter_value(m, reason):
    state = PMU_STATES.get(m.state, "unknown")
    counted = state in COUNTED
    return CounterValue(state=state, errno=-m.status if m.status < 0 else 0,
                        reason=reason if m.status else None,
                        value=m.value if counted else None,
                        slices_counted=m.slices_counted,
                        slices_missed=m.slices_missed)


class HFTResourceMonitor:
    """
    A monitoring session on /dev/hftmon (libhftmon's handle). Typical use:

        with HFTResourceMonitor() as monitor:
            monitor.configure(sampling_interval_us=100)
            monitor.attach_process(pid)
            monitor.start_monitoring()
            ...
            monitor.stop_monitoring()
            switches = monitor.get_context_switches()

    device: the device node (default /dev/hftmon); library: the path of
    libhftmon.so (default $HFTMON_LIBRARY, else libhftmon.so.2 through the
    dynamic loader). Raises DeviceError when the module is not loaded.
    The queries may be called while monitoring runs (what the last few
    milliseconds brought shows up after the library's next drain) and
    after stop_monitoring() (everything recorded).
    """

    def __init__(self, device=None, library=None):
        self._m = None
        self._lib = L.load(library)
        self._lock = threading.Lock()
        self._log = []          # (seq, level, message) of the library
        self._log_seq = 0
        self._log_fn = L.LOG_FN(self._on_log)
        self._configured = False
        self._running = False
        self._attached = {}     # pid: hftmon_attach_opts as sent
        self._keep = ()         # arrays the configuration points into
        self._nr_counters = 0
        self._cache_capable = False
        self._numa = False
        self._spike_threshold_us = 0
        opts = L.hftmon_open_opts(sz=ctypes.sizeof(L.hftmon_open_opts),
                                  device=device.encode() if device else None,
                                  log=self._log_fn)
        h = c_void_p()
        seq = self._log_seq
        err = self._lib.hftmon_open(byref(opts), byref(h))
        if err:
            why = self._reason(seq)
            if -err in (_errno.ENOENT, _errno.ENODEV, _errno.ENXIO):
                why = "is the hftmon module loaded? (modprobe hftmon)"
            raise error_for(err, "open %s" % (device or "/dev/hftmon"), why,
                            opening=True)
        self._m = h
        self._info = L.hftmon_info(size=ctypes.sizeof(L.hftmon_info))
        try:
            self._check(self._lib.hftmon_get_info(self._m,
                                                  byref(self._info)),
                        "get_info", seq)
        except Exception:
            self.close()
            raise

    # ---- plumbing --------------------------------------------------------
    def _on_log(self, ctx, level, msg):
        with self._lock:
            self._log_seq += 1
            self._log.append((self._log_seq, level, _str(msg)))
            del self._log[:-64]

    def _reason(self, since):
        """The last error or warning the library logged after since."""
        with self._lock:
            for seq, level, msg in reversed(self._log):
                if seq > since and level <= L.HFTMON_LOG_WARN:
                    return msg
        return None

    def _check(self, ret, op, seq):
        if ret < 0:
            raise error_for(ret, op, self._reason(seq))
        return ret

    def _handle(self, op):
        if self._m is None:
            raise error_for(-_errno.EBADF, op, "the monitor is closed")
        return self._m

    def _source_reason(self, src):
        st = self._info.source_status[src]
        why = self._lib.hftmon_source_reason(src, st) if st else None
        return _str(why) or None

    def _features(self, bit):
        return bool(self._info.features & bit)

    @property
    def info(self):
        """The module's hftmon_info as read at open (a ctypes struct)."""
        return self._info

    def close(self):
        """Stops monitoring if running and closes the session. Idempotent."""
        if self._m is not None:
            self._lib.hftmon_close(self._m)
            self._m = None
            self._running = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ---- the original API ------------------------------------------------
    def configure(self, sampling_interval_us=0, cpu_affinity=None,
                  realtime_priority=0, *, spike_threshold_us=None,
                  cache_events=None, numa=None, ring_pages=0,
                  drain_interval_us=0, history_switches=0,
                  history_wakeups=0, cache_line_period=None):
        """
        hftmon_configure(): rings, events and the library's drain thread.

        sampling_interval_us: also read the PMU counters every so many us
        while a tracked thread runs (0 = only at its switches), 1..1000000.
        cpu_affinity, realtime_priority: of the monitor's own drain
        thread (CPUs; SCHED_FIFO 1..99, 0 = leave as is), applied at
        start_monitoring(). spike_threshold_us: the spikes the kernel
        reports (default DEFAULT_SPIKE_THRESHOLD_US where the module
        offers spikes; 0 = none). cache_events: PMU counter names for
        get_cache_metrics() (at most 4; default the library's set, as
        hftmon_cache_counters() picks). numa: record NUMA balancing and
        sampled accesses (default: where the module offers them).
        cache_line_period: with numa, also sample the tracked threads'
        loads with their addresses, one in this many (Intel PEBS load
        latency, AMD IBS op), for get_numa_stats(resolution="cache_line")
        (default CACHE_LINE_PERIOD with numa; 0 = off; where the CPU has
        no such sampling the heatmap says unsupported, and why).
        Only while stopped.
        """
        op = "configure"
        m = self._handle(op)
        seq = self._log_seq
        cfg = L.hftmon_monitor_config(sz=ctypes.sizeof(L.hftmon_monitor_config))
        cfg.sampling_interval_us = _uint(op, "sampling_interval_us",
                                         sampling_interval_us, 0xffffffff)
        cfg.realtime_priority = _uint(op, "realtime_priority",
                                      realtime_priority, 0x7fffffff)
        cfg.ring_pages = _uint(op, "ring_pages", ring_pages, 0xffffffff)
        cfg.drain_interval_us = _uint(op, "drain_interval_us",
                                      drain_interval_us, 0xffffffff)
        cfg.history_switches = _uint(op, "history_switches",
                                     history_switches, 0xffffffff)
        cfg.history_wakeups = _uint(op, "history_wakeups", history_wakeups,
                                    0xffffffff)
        cfg.drain_thread = True
        keep = []
        if cpu_affinity is not None:
            if isinstance(cpu_affinity, (str, bytes)) or \
                    not hasattr(cpu_affinity, "__iter__"):
                raise invalid(op, "cpu_affinity must be a list of CPU "
                              "numbers, not %r" % (cpu_affinity,))
            cpus = [_uint(op, "a CPU of cpu_affinity", c, 0x7fffffff)
                    for c in cpu_affinity]
            if not cpus:
                raise invalid(op, "cpu_affinity is empty: give CPUs, or None")
            arr = (c_int * len(cpus))(*cpus)
            keep.append(arr)
            cfg.cpu_affinity = arr
            cfg.nr_cpu_affinity = len(cpus)

        if spike_threshold_us is None:
            spike_threshold_us = (DEFAULT_SPIKE_THRESHOLD_US
                                  if self._features(L.HFTMON_FEAT_SPIKE)
                                  else 0)
        cfg.spike_threshold_us = _uint(op, "spike_threshold_us",
                                       spike_threshold_us)

        numa = _opt_bool(op, "numa", numa)
        if numa is None:
            numa = self._features(L.HFTMON_FEAT_NUMA_BALANCING)
        cfg.events = L.HFTMON_EV_SCHED_ALL | (L.HFTMON_EV_NUMA if numa else 0)
        if cache_line_period is None:
            cache_line_period = CACHE_LINE_PERIOD if numa else 0
        cfg.numa_line_period = _uint(op, "cache_line_period",
                                     cache_line_period,
                                     L.HFTMON_NUMA_LINE_MAX_PERIOD)

        # The PMU counters: the default set where the module offers PMU
        # events, or the ones named (the library refuses those it cannot).
        nr = 0
        counters = (L.hftmon_pmu_counter * L.HFTMON_PMU_MAX_COUNTERS)()
        counters[0].sz = ctypes.sizeof(L.hftmon_pmu_counter)
        if cache_events is not None:
            if isinstance(cache_events, (str, bytes)):
                cache_events = [cache_events]
            names = [e.encode() if isinstance(e, str) else e
                     for e in cache_events]
            if not all(isinstance(n, bytes) for n in names):
                raise invalid(op, "cache_events must be event names")
            if names:
                arr = (c_char_p * len(names))(*names)
                nr = self._check(self._lib.hftmon_cache_counters(
                    m, arr, len(names), counters,
                    L.HFTMON_PMU_MAX_COUNTERS), "configure: cache_events",
                    seq)
        elif self._features(L.HFTMON_FEAT_PMU):
            nr = self._check(self._lib.hftmon_cache_counters(
                m, None, 0, counters, L.HFTMON_PMU_MAX_COUNTERS),
                "configure: the default cache counters", seq)
        if nr:
            keep.append(counters)
            cfg.pmu_counters = counters
            cfg.nr_pmu_counters = nr
        self._check(self._lib.hftmon_configure(m, byref(cfg)), op, seq)
        self._keep = tuple(keep)
        self._configured = True
        self._attached = {}
        self._nr_counters = nr
        self._cache_capable = any(counters[i].type != PERF_TYPE_SOFTWARE
                                  for i in range(nr))
        self._numa = numa
        self._spike_threshold_us = cfg.spike_threshold_us

    def attach_process(self, pid, track_cache=None, track_numa=None, *,
                       kernel_stacks=False, user_stacks=False,
                       kernel_stacks_min_us=0, follow_children=False):
        """
        hftmon_attach_process(): track every thread of pid's process (as
        many processes as needed, before or while monitoring).
        track_cache/track_numa True: this process needs the session's
        cache counters / NUMA events, and attaching fails (with the
        library's reason) where the session has none; None (default):
        whatever the session records; False: not asked. kernel_stacks,
        user_stacks: a stack at every switch-out, for
        get_context_switches(include_stack_trace=True).
        """
        op = "attach_process"
        m = self._handle(op)
        pid = _pid(op, "pid", pid)
        tc = _opt_bool(op, "track_cache", track_cache)
        tn = _opt_bool(op, "track_numa", track_numa)
        ao = L.hftmon_attach_opts(sz=ctypes.sizeof(L.hftmon_attach_opts))
        ao.track_cache = self._cache_capable if tc is None else tc
        ao.track_numa = self._numa if tn is None else tn
        ao.kernel_stacks = _bool(op, "kernel_stacks", kernel_stacks)
        ao.user_stacks = _bool(op, "user_stacks", user_stacks)
        ao.kernel_stacks_min_us = _uint(op, "kernel_stacks_min_us",
                                        kernel_stacks_min_us, 0xffffffff)
        ao.follow_children = _bool(op, "follow_children", follow_children)
        seq = self._log_seq
        self._check(self._lib.hftmon_attach_process(m, pid, byref(ao)),
                    "attach_process(%d)" % pid, seq)
        self._attached[pid] = ao

    def detach_process(self, pid):
        """hftmon_detach_process(): stop tracking pid's process."""
        op = "detach_process"
        m = self._handle(op)
        pid = _pid(op, "pid", pid)
        seq = self._log_seq
        self._check(self._lib.hftmon_detach_process(m, pid),
                    "detach_process(%d)" % pid, seq)
        self._attached.pop(pid, None)

    def start_monitoring(self):
        """hftmon_start(): records flow; the library's drain thread starts."""
        m = self._handle("start_monitoring")
        seq = self._log_seq
        self._check(self._lib.hftmon_start(m), "start_monitoring", seq)
        self._running = True

    def stop_monitoring(self):
        """hftmon_stop(): every record is drained; the queries stay."""
        m = self._handle("stop_monitoring")
        seq = self._log_seq
        self._check(self._lib.hftmon_stop(m), "stop_monitoring", seq)
        self._running = False

    def _only_pid(self, op, pid):
        if pid is not None:
            return _pid(op, "pid", pid)
        if len(self._attached) == 1:
            return next(iter(self._attached))
        raise invalid(op, "pid= is needed: %d processes are attached"
                      % len(self._attached))

    def get_cache_metrics(self, time_window_us=0, percentiles=(50, 95, 99),
                          *, pid=None, tid=0):
        """
        hftmon_get_cache_metrics(): the session's PMU counters for pid
        (default: the one process attached; tid 0 = all its threads) over
        the last time_window_us (0 = since configure), with per-slice
        percentiles (0 < p <= 100, at most 8). A counter the kernel
        refused (every hardware one under x86 TCG) has state
        "unsupported" and the reason.
        """
        op = "get_cache_metrics"
        m = self._handle(op)
        pid = self._only_pid(op, pid)
        q = L.hftmon_cache_query(sz=ctypes.sizeof(L.hftmon_cache_query),
                                 pid=pid, tid=_pid(op, "tid", tid, True),
                                 window_us=_uint(op, "time_window_us",
                                                 time_window_us))
        try:
            pct = [float(p) for p in percentiles]
        except (TypeError, ValueError):
            raise invalid(op, "percentiles must be numbers, not %r"
                          % (percentiles,)) from None
        arr = (c_double * max(len(pct), 1))(*pct)
        q.percentiles = arr
        q.nr_percentiles = len(pct)
        out = L.hftmon_cache_metrics(sz=ctypes.sizeof(L.hftmon_cache_metrics))
        seq = self._log_seq
        ret = self._lib.hftmon_get_cache_metrics(m, byref(q), byref(out))
        res = CacheMetrics(pid=pid, tid=q.tid, time_window_us=q.window_us,
                           state="measured", percentiles=pct)
        if ret == -_errno.EOPNOTSUPP and not self._nr_counters:
            res.state, res.errno = "unsupported", _errno.EOPNOTSUPP
            res.reason = self._reason(seq) or (
                self._source_reason(L.HFTMON_SRC_PMU_HW) if
                not self._features(L.HFTMON_FEAT_PMU) else
                "the session was configured without PMU counters")
            return res
        if ret != -_errno.ENODATA:
            self._check(ret, op, seq)
        else:
            res.state = "no_data"
        res.slices = out.slices
        res.on_cpu_us = out.on_cpu_ns / 1e3
        res.complete = bool(out.complete)
        npct = out.nr_percentiles
        for i in range(out.nr):
            c = out.c[i]
            total = _counter_value(c.total, _str(c.reason) or None)
            counted = total.state in COUNTED
            name = _str(self._lib.hftmon_cache_event_name(c.event)) or "other"
            us_state = PMU_STATES.get(c.per_us_state, "unknown")
            ki_state = PMU_STATES.get(c.per_kinst_state, "unknown")
            res.counters.append(CacheCounter(
                event=name, type=c.type, config=c.config, total=total,
                count_percentiles={pct[j]: c.count_pct[j]
                                   for j in range(npct)} if counted else None,
                per_us_state=us_state,
                per_us_percentiles={pct[j]: c.per_us_pct[j]
                                    for j in range(npct)}
                if us_state in COUNTED else None,
                per_kilo_instructions_state=ki_state,
                per_kilo_instructions_errno=-c.per_kinst_status
                if c.per_kinst_status < 0 else 0,
                per_kilo_instructions_percentiles={
                    pct[j]: c.per_kinst_pct[j] for j in range(npct)}
                if ki_state in COUNTED else None))
        for i in range(L.HFTMON_CACHE_NR_LEVELS):
            r = out.ratio[i]
            state = PMU_STATES.get(r.state, "unknown")
            counted = state in COUNTED
            level = _str(self._lib.hftmon_cache_level_name(r.level))
            rate_ok = counted and not math.isnan(r.miss_ratio)
            res.ratios[level] = CacheRatio(
                level=level, state=state,
                errno=-r.status if r.status < 0 else 0,
                reason=_str(r.reason) or None,
                accesses=r.accesses if counted else None,
                misses=r.misses if counted else None, slices=r.slices,
                miss_rate=r.miss_ratio if rate_ok else None,
                hit_rate=r.hit_ratio if rate_ok else None)
        return res

    def _stack(self, m, sid, cache):
        if sid in cache:
            return cache[sid]
        ips = (c_uint64 * MAX_STACK_FRAMES)()
        flags = c_uint()
        n = self._lib.hftmon_get_stack(m, sid, ips, MAX_STACK_FRAMES,
                                       byref(flags))
        cache[sid] = (list(ips[:min(n, MAX_STACK_FRAMES)]), None) if n >= 0 \
            else (None, "stack %u: %s" % (sid, _errno.errorcode.get(-n, n)))
        return cache[sid]

    def get_context_switches(self, include_stack_trace=False,
                             min_duration_us=0, *, pid=0, tid=0,
                             time_window_us=0, since_ns=0, until_ns=0):
        """
        hftmon_get_context_switches(): completed switches of the tracked
        threads (pid/tid 0 = all), oldest first, off CPU at least
        min_duration_us, within the last time_window_us (0 = all kept) or
        back in within [since_ns, until_ns) of CLOCK_MONOTONIC.
        include_stack_trace: each switch's kernel and user stack, where
        attach_process() asked for them (kernel_stacks, user_stacks).
        """
        op = "get_context_switches"
        m = self._handle(op)
        q = L.hftmon_switch_query(sz=ctypes.sizeof(L.hftmon_switch_query))
        q.pid = _pid(op, "pid", pid, True)
        q.tid = _pid(op, "tid", tid, True)
        q.min_duration_us = _uint(op, "min_duration_us", min_duration_us)
        q.window_us = _uint(op, "time_window_us", time_window_us)
        q.since_ns = _uint(op, "since_ns", since_ns)
        q.until_ns = _uint(op, "until_ns", until_ns)
        q.include_stack_trace = _bool(op, "include_stack_trace",
                                      include_stack_trace)
        ev = self._fill(op, L.hftmon_switch_event,
                        lambda out, n: self._lib.hftmon_get_context_switches(
                            m, byref(q), out, n))
        stacks_asked = any(a.kernel_stacks or a.user_stacks
                           for a in self._attached.values())
        cache = {}
        res = []
        for e in ev:
            s = ContextSwitch(
                pid=e.pid, tid=e.tid, comm=_str(e.comm),
                voluntary=bool(e.voluntary), out_ns=e.out_ns, in_ns=e.in_ns,
                duration_us=e.off_cpu_ns / 1e3,
                wakeup_ns=e.wakeup_ns or None, waker_pid=e.waker_pid,
                waker_tid=e.waker_tid, prev_state=e.prev_state, prio=e.prio,
                out_cpu=e.out_cpu, in_cpu=e.in_cpu, next_pid=e.next_pid,
                next_tid=e.next_tid, next_comm=_str(e.next_comm),
                next_prio=e.next_prio,
                next_policy=POLICIES.get(e.next_policy, str(e.next_policy)))
            if include_stack_trace:
                why = []
                if e.kstack_id:
                    s.kernel_stack, w = self._stack(m, e.kstack_id, cache)
                    why.append(w)
                if e.ustack_id:
                    s.user_stack, w = self._stack(m, e.ustack_id, cache)
                    why.append(w)
                why = [w for w in why if w]
                if not e.kstack_id and not e.ustack_id:
                    why.append("no stack was taken: attach_process() with "
                               "kernel_stacks=True or user_stacks=True"
                               if not stacks_asked else
                               "the kernel took no stack at this switch")
                s.stack_reason = "; ".join(why) or None
            res.append(s)
        return res

    def _fill(self, op, struct, call, extra=16):
        """Calls call(out, max) until every result fits; the filled array."""
        seq = self._log_seq
        n = self._check(call(None, 0), op, seq)
        while True:
            cap = n + extra
            out = (struct * cap)()
            out[0].sz = ctypes.sizeof(struct)
            n = self._check(call(out, cap), op, seq)
            if n <= cap:
                return out[:n]

    def get_numa_stats(self, include_heatmap=False, resolution="page", *,
                       pid=0, tid=0, time_window_us=0, max_heatmap_rows=4096):
        """
        hftmon_get_numa_stats(): sampled memory accesses of the tracked
        threads (pid/tid 0 = all) by memory node and CPU node, within
        the last time_window_us (0 = all kept), with include_heatmap the
        heatmap at resolution "page" or "cache_line" (also "cacheline").
        What the library cannot do (cache-line resolution needs sampled
        load addresses) comes back as heatmap_state "unsupported" with its
        reason, beside the totals it can give.
        """
        op = "get_numa_stats"
        m = self._handle(op)
        if not isinstance(resolution, str) or \
                resolution.lower() not in RESOLUTIONS:
            raise invalid(op, "resolution must be one of %s, not %r"
                          % (", ".join(sorted(RESOLUTIONS)), resolution))
        res_enum = RESOLUTIONS[resolution.lower()]
        want_heat = _bool(op, "include_heatmap", include_heatmap) and \
            res_enum != L.HFTMON_NUMA_RES_NONE
        q = L.hftmon_numa_stats_query(
            sz=ctypes.sizeof(L.hftmon_numa_stats_query),
            pid=_pid(op, "pid", pid, True), tid=_pid(op, "tid", tid, True),
            window_us=_uint(op, "time_window_us", time_window_us))
        rows = _uint(op, "max_heatmap_rows", max_heatmap_rows)
        out = L.hftmon_numa_stats(sz=ctypes.sizeof(L.hftmon_numa_stats))
        res = NumaStats(state="measured", resolution=resolution)
        call = self._lib.hftmon_get_numa_stats
        # First without room for rows: the library says whether it can
        # make this resolution's heatmap, and how many rows it has.
        q.resolution = res_enum if want_heat else L.HFTMON_NUMA_RES_NONE
        seq = self._log_seq
        ret = call(m, byref(q), byref(out))
        if ret == -_errno.EOPNOTSUPP and want_heat:
            # The heatmap was refused: say why, then ask for what the
            # session can still give, the totals.
            res.heatmap_state = "unsupported"
            res.heatmap_errno = _errno.EOPNOTSUPP
            res.heatmap_reason = self._reason(seq)
            want_heat = False
            q.resolution = L.HFTMON_NUMA_RES_NONE
            seq = self._log_seq
            ret = call(m, byref(q), byref(out))
        if ret == -_errno.EOPNOTSUPP:
            res.state, res.errno = "unsupported", _errno.EOPNOTSUPP
            # A module without NUMA balancing: its reason, not the
            # library's "configured without" that follows from it.
            res.reason = (None if self._numa else self._numa_reason()) or \
                self._reason(seq)
            if res.heatmap_state == "unsupported" and not res.heatmap_reason:
                res.heatmap_reason = res.reason
            return res
        n = self._check(ret, op, seq)
        if want_heat:
            res.heatmap_state = "measured"
            heat = (L.hftmon_numa_heat * max(min(n + 64, rows), 1))()
            heat[0].sz = ctypes.sizeof(L.hftmon_numa_heat)
            q.heat, q.max_heat = heat, min(n + 64, rows)
            n = self._check(call(m, byref(q), byref(out)), op, seq)
            res.heatmap_rows = n
            res.heatmap = [NumaHeatCell(addr=h.addr, bytes=h.bytes,
                                        mem_node=h.mem_node,
                                        cpu_node=h.cpu_node, count=h.count,
                                        first_ns=h.first_ns,
                                        last_ns=h.last_ns)
                           for h in heat[:min(n, q.max_heat)]]
        nodes = out.nr_nodes
        res.source = _str(out.source)
        res.samples, res.local, res.remote = out.samples, out.local, out.remote
        res.unknown, res.missed = out.unknown, out.missed
        known = out.local + out.remote
        res.local_ratio = out.local / known if known else None
        res.page_size = out.page_size
        res.by_node = [list(out.by_node[i][:nodes]) for i in range(nodes)]
        res.dram_events = [_str(e.value) for e in out.dram_events if e.value]
        why = _str(out.dram_why) or None
        res.dram_local = _counter_value(out.dram_local, why)
        res.dram_remote = _counter_value(out.dram_remote, why)
        if out.bandwidth_status == 0:
            res.bandwidth_state = "measured"
            res.read_bytes = list(out.read_bytes[:nodes])
            res.write_bytes = list(out.write_bytes[:nodes])
        else:
            res.bandwidth_errno = -out.bandwidth_status
        res.bandwidth_reason = _str(out.bandwidth_why) or None
        return res

    def _numa_reason(self):
        why = self._source_reason(L.HFTMON_SRC_NUMA_BALANCING)
        return "NUMA balancing: %s" % why if why else None

    def detect_latency_spikes(self, threshold_us=50,
                              include_cause_analysis=False, *, pid=0, tid=0,
                              time_window_us=0):
        """
        hftmon_detect_latency_spikes(): the spikes of at least
        threshold_us the kernel detected in the tracked threads (pid/tid
        0 = all), oldest first, within the last time_window_us (0 = all
        kept). include_cause_analysis: each spike's time, piece by piece
        (hftmon_explain). The kernel reports spikes from configure()'s
        spike_threshold_us on: a lower threshold_us is refused (EINVAL).
        UnsupportedError where the session records no spikes.
        """
        op = "detect_latency_spikes"
        m = self._handle(op)
        thr = _uint(op, "threshold_us", threshold_us)
        cause = _bool(op, "include_cause_analysis", include_cause_analysis)
        if not self._spike_threshold_us:
            why = self._source_reason(L.HFTMON_SRC_SPIKE) or \
                ("the session was configured without spikes: "
                 "configure(spike_threshold_us=N)" if self._configured else
                 "the monitor is not configured")
            raise UnsupportedError(_errno.EOPNOTSUPP, op, why)
        if thr < self._spike_threshold_us:
            raise invalid(op, "threshold_us %d is below the %d us the "
                          "kernel was configured to report: shorter spikes "
                          "were never recorded (configure(spike_threshold_us="
                          "...))" % (thr, self._spike_threshold_us))
        q = L.hftmon_spike_query(sz=ctypes.sizeof(L.hftmon_spike_query),
                                 pid=_pid(op, "pid", pid, True),
                                 tid=_pid(op, "tid", tid, True),
                                 window_us=_uint(op, "time_window_us",
                                                 time_window_us),
                                 min_duration_us=thr)
        seq = self._log_seq
        n = self._check(self._lib.hftmon_detect_latency_spikes(
            m, byref(q), None, 0), op, seq)
        parts = None
        while True:
            cap = n + 16
            out = (L.hftmon_spike * cap)()
            out[0].sz = ctypes.sizeof(L.hftmon_spike)
            if cause:
                parts = (L.hftmon_part * (cap * CAUSE_PARTS_PER_SPIKE))()
                parts[0].sz = ctypes.sizeof(L.hftmon_part)
                q.cause_analysis, q.parts = True, parts
                q.max_parts = cap * CAUSE_PARTS_PER_SPIKE
            n = self._check(self._lib.hftmon_detect_latency_spikes(
                m, byref(q), out, cap), op, seq)
            if n <= cap:
                break
        res = []
        for s in out[:n]:
            sp = LatencySpike(
                type=SPIKE_TYPES.get(s.type, str(s.type)), pid=s.pid,
                tid=s.tid, cpu=s.cpu, from_cpu=s.from_cpu,
                start_ns=s.start_ns, end_ns=s.end_ns,
                duration_us=s.duration_ns / 1e3,
                threshold_us=s.threshold_ns / 1e3,
                woken=bool(s.flags & L.HFTMON_SPIKE_WOKEN),
                idle=bool(s.flags & L.HFTMON_SPIKE_IDLE),
                idle_state=s.idle_state, links=s.links, addr=s.addr)
            if s.pmu_nr:
                sp.counters = [_counter_value(
                    c, _str(self._lib.hftmon_pmu_reason(c.status)) or None)
                    for c in s.pmu[:s.pmu_nr]]
                sp.counters_from_ns, sp.counters_to_ns = \
                    s.pmu_from_ns, s.pmu_to_ns
                sp.counters_complete = bool(s.pmu_complete)
            if cause and s.nr_parts:
                sp.causes = [SpikeCause(
                    kind=PART_KINDS.get(p.kind, str(p.kind)), cpu=p.cpu,
                    start_ns=p.start_ns, end_ns=p.end_ns,
                    duration_us=p.ns / 1e3, nr=p.nr, name=_str(p.name),
                    pid=p.pid, tid=p.tid, comm=_str(p.comm), prio=p.prio,
                    policy=POLICIES.get(p.policy, str(p.policy)),
                    addr=p.addr)
                    for p in parts[s.first_part:s.first_part + s.nr_parts]]
            elif cause:
                sp.causes_reason = "the records drained could not explain " \
                    "this spike (lost records, or older than the history)"
            res.append(sp)
        return res

    def get_thread_scheduling_info(self, pid):
        """
        hftmon_get_thread_scheduling_info(): every thread of pid as the
        kernel sees it now (attached or not), with, for threads the
        session tracks, their scheduling jitter: the standard deviation
        of their wake-up latency (hftmon_get_wakeup_latency()).
        """
        op = "get_thread_scheduling_info"
        m = self._handle(op)
        pid = _pid(op, "pid", pid)
        th = self._fill(op, L.hftmon_thread_info,
                        lambda out, n:
                        self._lib.hftmon_get_thread_scheduling_info(
                            m, pid, out, n), extra=4)
        res = []
        for t in th:
            rt = t.policy in (1, 2)
            info = ThreadSchedulingInfo(
                pid=t.pid, tid=t.tid, name=_str(t.comm),
                policy=POLICIES.get(t.policy, str(t.policy)),
                priority=(-1 - t.rt_priority) if rt else
                (-101 if t.policy == 6 else 20 + t.nice),
                rt_priority=t.rt_priority, nice=t.nice,
                cpu_affinity=[c for c in range(L.HFTMON_MAX_CPUS)
                              if t.affinity[c // 64] >> (c % 64) & 1],
                cpu=t.cpu, cpu_time_us=t.cpu_time_ns / 1e3,
                cpu_time_resolution_ns=t.cpu_time_resolution_ns,
                run_delay_us=t.run_delay_ns / 1e3
                if t.run_delay_ns >= 0 else None,
                voluntary_switches=t.voluntary_switches,
                involuntary_switches=t.involuntary_switches,
                migrations=t.migrations if t.migrations >= 0 else None)
            if self._configured and t.pid in self._attached:
                self._jitter(m, info)
            res.append(info)
        return res

    def _jitter(self, m, info):
        q = L.hftmon_latency_query(sz=ctypes.sizeof(L.hftmon_latency_query),
                                   pid=info.pid, tid=info.tid)
        lat = L.hftmon_latency(sz=ctypes.sizeof(L.hftmon_latency))
        seq = self._log_seq
        ret = self._lib.hftmon_get_wakeup_latency(m, byref(q), byref(lat))
        if ret == -_errno.ENODATA:
            info.jitter_state = "no_data"
            return
        self._check(ret, "get_thread_scheduling_info: wake-up latency", seq)
        info.jitter_state = "measured"
        info.jitter_samples = lat.count
        info.scheduling_jitter_us = lat.stddev_us
        info.wakeup_latency_p99_us = lat.p99_us
        info.wakeup_latency_max_us = lat.max_us

    # ---- beyond the original API -----------------------------------------
    def get_stats(self):
        """hftmon_get_stats(): records written, lost by cause, drained."""
        op = "get_stats"
        m = self._handle(op)
        s = L.hftmon_stats_summary(sz=ctypes.sizeof(L.hftmon_stats_summary))
        seq = self._log_seq
        self._check(self._lib.hftmon_get_stats(m, byref(s), None, 0), op, seq)
        return {name: (list(getattr(s, name)) if name == "lost"
                       else getattr(s, name))
                for name, _ in s._fields_ if name != "sz"}
