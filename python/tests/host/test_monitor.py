# SPDX-License-Identifier: LGPL-2.1 OR MIT
"""
HFTResourceMonitor over the unit tests' fake /dev/hftmon: what each
method sends the library, what it makes of the library's answers (the
records of a scenario written into the fake's rings, drained and
aggregated by the real library), and the exception every bad input or
failure raises, with its errno and the library's reason.
"""
import errno
import os

import pytest

from hft_resource_monitor import (DEFAULT_SPIKE_THRESHOLD_US, DeviceError,
                                  HFTMonitorError, HFTResourceMonitor,
                                  InvalidArgumentError, MonitorStateError,
                                  PermissionDeniedError, ProcessNotFoundError,
                                  UnsupportedError)

from conftest import (FAKE_DEVICE, FEAT_NUMA_ACCESS, FEAT_NUMA_BALANCING,
                      FEAT_PMU, FEAT_SPIKE, FEAT_STACKS, US)

EV_NUMA, EV_SPIKE, EV_PMU = 1 << 10, 1 << 9, 1 << 11
ATTACH_KSTACK = 1 << 2
PID, TID = 100, 101


def test_no_module_is_a_device_error(fake):
    fake.open_errno(errno.ENOENT)
    with pytest.raises(DeviceError) as e:
        HFTResourceMonitor(device=FAKE_DEVICE, library=fake.path)
    assert e.value.errno == errno.ENOENT
    assert e.value.strerror == os.strerror(errno.ENOENT)


def test_context_manager_closes_and_later_calls_raise(fake):
    with HFTResourceMonitor(device=FAKE_DEVICE, library=fake.path) as m:
        m.configure()
        m.attach_process(PID)
        m.start_monitoring()
    assert fake.open_fds() == 0
    with pytest.raises(MonitorStateError) as e:
        m.start_monitoring()
    assert e.value.errno == errno.EBADF


@pytest.mark.parametrize("kw", [
    {"sampling_interval_us": -1}, {"sampling_interval_us": 1.5},
    {"sampling_interval_us": True}, {"cpu_affinity": "01"},
    {"cpu_affinity": [0, -1]}, {"cpu_affinity": []}, {"cpu_affinity": 3},
    {"realtime_priority": "99"}, {"spike_threshold_us": -5},
    {"numa": 1}, {"cache_events": [1, 2]},
])
def test_configure_refuses_bad_arguments(monitor, kw):
    m = monitor()
    with pytest.raises(InvalidArgumentError) as e:
        m.configure(**kw)
    assert e.value.errno == errno.EINVAL
    assert isinstance(e.value, ValueError)


def test_configure_maps_onto_the_library(monitor, fake):
    m = monitor(FEAT_PMU | FEAT_SPIKE)
    m.configure(sampling_interval_us=100, cpu_affinity=[0, 1],
                realtime_priority=0)
    assert fake.config(1) == 100 * 1000          # sample_interval_ns
    assert fake.config(2) == DEFAULT_SPIKE_THRESHOLD_US * 1000
    assert fake.config(3) == 4                   # the default counter set
    assert fake.config(0) & (EV_PMU | EV_SPIKE) == EV_PMU | EV_SPIKE
    assert not fake.config(0) & EV_NUMA          # not offered


def test_sampling_without_pmu_is_the_librarys_einval(monitor):
    m = monitor()                                # no PMU feature
    with pytest.raises(InvalidArgumentError) as e:
        m.configure(sampling_interval_us=100)
    assert e.value.errno == errno.EINVAL
    assert e.value.reason                        # the library's words


def test_configure_while_running_is_ebusy(monitor):
    m = monitor()
    m.configure()
    m.attach_process(PID)
    m.start_monitoring()
    with pytest.raises(MonitorStateError) as e:
        m.configure()
    assert e.value.errno == errno.EBUSY


@pytest.mark.parametrize("pid", [0, -1, "100", 1.0, True, 2 ** 31])
def test_attach_refuses_bad_pids(monitor, pid):
    m = monitor()
    m.configure()
    with pytest.raises(InvalidArgumentError):
        m.attach_process(pid)


@pytest.mark.parametrize("err,cls", [
    (errno.ESRCH, ProcessNotFoundError), (errno.EPERM, PermissionDeniedError),
    (errno.EEXIST, HFTMonitorError)])
def test_attach_failures_carry_the_errno(monitor, fake, err, cls):
    m = monitor()
    m.configure()
    fake.fail(0, err)
    with pytest.raises(cls) as e:
        m.attach_process(PID)
    assert e.value.errno == err
    assert e.value.strerror == os.strerror(err)
    assert "attach_process(100)" in str(e.value)


def test_track_numa_demanded_without_numa_fails_with_the_reason(monitor):
    m = monitor()
    m.configure()
    with pytest.raises(InvalidArgumentError) as e:
        m.attach_process(PID, track_numa=True)
    assert e.value.reason and "NUMA" in e.value.reason
    m.attach_process(PID)                        # default: as the session


def test_numa_configured_where_offered(monitor, fake):
    m = monitor(FEAT_NUMA_BALANCING | FEAT_NUMA_ACCESS)
    m.configure()
    assert fake.config(0) & EV_NUMA
    m.attach_process(PID, track_numa=True)


def test_start_failure_is_raised(monitor, fake):
    m = monitor()
    m.configure()
    m.attach_process(PID)
    fake.fail(1, errno.ENOMEM)
    with pytest.raises(HFTMonitorError) as e:
        m.start_monitoring()
    assert e.value.errno == errno.ENOMEM


def scenario(fake):
    """T1 blocks 10 us (woken at 15), then is preempted 15 us by 200/201."""
    assert fake.switch_out(0, US(10), PID, TID, b"feed", True, 0, 0, None,
                           0, 0)
    assert fake.wakeup(1, US(15), PID, TID, b"feed")
    assert fake.switch_in(1, US(20), PID, TID, b"feed")
    assert fake.switch_out(1, US(30), PID, TID, b"feed", False, 200, 201,
                           b"other", 100, 0)
    assert fake.switch_in(1, US(45), PID, TID, b"feed")


def running(monitor, features=0, **attach):
    m = monitor(features)
    m.configure()
    m.attach_process(PID, **attach)
    m.start_monitoring()
    return m


def test_context_switches_as_the_records_say(monitor, fake):
    m = running(monitor)
    scenario(fake)
    m.stop_monitoring()
    sw = m.get_context_switches()
    assert [(s.tid, s.voluntary, s.duration_us) for s in sw] == \
        [(TID, True, 10.0), (TID, False, 15.0)]
    blocked, preempted = sw
    assert blocked.involuntary is False and preempted.involuntary is True
    assert blocked.out_ns == US(10) and blocked.in_ns == US(20)
    assert blocked.wakeup_ns == US(15) and preempted.wakeup_ns is None
    assert blocked.out_cpu == 0 and blocked.in_cpu == 1
    assert (preempted.next_pid, preempted.next_tid, preempted.next_comm,
            preempted.next_prio) == (200, 201, "other", 100)
    assert blocked.comm == "feed"
    # the library's own filter, not one in Python
    assert [s.duration_us for s in m.get_context_switches(
        min_duration_us=12)] == [15.0]
    assert m.get_context_switches(tid=TID + 1) == []
    assert m.get_stats()["switches_completed"] == 2


def test_stack_traces_need_stacks_at_attach(monitor, fake):
    m = running(monitor)
    scenario(fake)
    m.stop_monitoring()
    sw = m.get_context_switches(include_stack_trace=True)
    assert sw[0].kernel_stack is None
    assert "kernel_stacks=True" in sw[0].stack_reason
    assert m.get_context_switches()[0].stack_reason is None


def test_stack_traces_from_the_stack_table(monitor, fake):
    m = running(monitor, FEAT_STACKS, kernel_stacks=True)
    assert fake.config(4) & ATTACH_KSTACK
    ips = [0xffffffff81000010, 0xffffffff81000020, 0xffffffff81000030]
    fake.stack(0, US(9), PID, TID, 7, ips)
    assert fake.switch_out(0, US(10), PID, TID, b"feed", True, 0, 0, None,
                           0, 7)
    assert fake.switch_in(0, US(20), PID, TID, b"feed")
    m.stop_monitoring()
    (s,) = m.get_context_switches(include_stack_trace=True)
    assert s.kernel_stack == ips and s.stack_reason is None


@pytest.mark.parametrize("kw", [
    {"min_duration_us": -1}, {"include_stack_trace": 1}, {"pid": -2},
    {"tid": "1"}, {"time_window_us": 0.5}])
def test_context_switches_refuse_bad_arguments(monitor, kw):
    m = monitor()
    m.configure()
    with pytest.raises(InvalidArgumentError):
        m.get_context_switches(**kw)


def test_since_with_window_is_the_librarys_einval(monitor):
    m = monitor()
    m.configure()
    with pytest.raises(InvalidArgumentError) as e:
        m.get_context_switches(time_window_us=10, since_ns=1)
    assert e.value.errno == errno.EINVAL


def proc_status(tid):
    with open("/proc/self/task/%d/status" % tid) as f:
        d = dict(l.split(":", 1) for l in f)
    return int(d["voluntary_ctxt_switches"]), \
        int(d["nonvoluntary_ctxt_switches"])


def test_thread_scheduling_info_is_procs(monitor):
    m = monitor()
    tid = os.getpid()
    v0, n0 = proc_status(tid)
    info = {t.tid: t for t in m.get_thread_scheduling_info(os.getpid())}
    v1, n1 = proc_status(tid)
    t = info[tid]
    assert v0 <= t.voluntary_switches <= v1
    assert n0 <= t.involuntary_switches <= n1
    assert t.cpu_affinity == sorted(os.sched_getaffinity(0))
    assert t.policy == "SCHED_OTHER"
    assert t.nice == os.getpriority(os.PRIO_PROCESS, 0)
    assert t.priority == 20 + t.nice
    assert t.cpu_time_us > 0
    assert t.jitter_state == "not_monitored"
    assert t.scheduling_jitter_us is None


def test_scheduling_jitter_from_the_wakeup_latency(monitor, fake):
    m = monitor()
    m.configure()
    me = os.getpid()
    m.attach_process(me)
    m.start_monitoring()
    for i, lat in enumerate((4, 8)):             # wake-up to run: 4, 8 us
        t = 100 * i
        assert fake.switch_out(0, US(t + 10), me, me, b"py", True, 0, 0,
                               None, 0, 0)
        assert fake.wakeup(0, US(t + 20), me, me, b"py")
        assert fake.switch_in(0, US(t + 20 + lat), me, me, b"py")
    m.stop_monitoring()
    (t,) = [t for t in m.get_thread_scheduling_info(me) if t.tid == me]
    assert t.jitter_state == "measured" and t.jitter_samples == 2
    assert t.scheduling_jitter_us == pytest.approx(2.0)   # stddev of 4, 8
    assert t.wakeup_latency_max_us == pytest.approx(8.0)


@pytest.mark.parametrize("pid", [0, -1, "1"])
def test_thread_info_refuses_bad_pids(monitor, pid):
    with pytest.raises(InvalidArgumentError):
        monitor().get_thread_scheduling_info(pid)


def test_thread_info_of_no_process_is_esrch(monitor):
    with pytest.raises(ProcessNotFoundError) as e:
        monitor().get_thread_scheduling_info(0x7ffffff0)
    assert e.value.errno == errno.ESRCH


def test_cache_metrics_without_pmu_are_unsupported(monitor):
    m = running(monitor)
    m.stop_monitoring()
    c = m.get_cache_metrics(time_window_us=1000, percentiles=[50, 99])
    assert c.state == "unsupported" and c.reason
    assert c.counters == [] and c.ratios == {}


def test_refused_counters_are_unsupported_never_numbers(monitor, fake):
    m = monitor(FEAT_PMU)
    for i in range(4):                           # as under x86 TCG
        fake.pmu_status(i, -errno.ENOENT)
    m.configure()
    m.attach_process(PID)
    m.start_monitoring()
    assert fake.pmu(0, US(10), US(20), PID, TID, 4, -errno.ENOENT)
    assert fake.switch_in(0, US(10), PID, TID, b"feed")
    assert fake.switch_out(0, US(20), PID, TID, b"feed", True, 0, 0, None,
                           0, 0)
    m.stop_monitoring()
    c = m.get_cache_metrics(percentiles=[50, 95, 99, 99.9])
    assert c.state == "measured" and c.slices == 1
    assert len(c.counters) == 4
    for k in c.counters:
        assert k.total.state == "unsupported" and k.total.value is None
        assert k.total.errno == errno.ENOENT and k.total.reason
        assert k.count_percentiles is None
    for r in c.ratios.values():
        assert r.miss_rate is None and r.hit_rate is None
        assert r.accesses is None


@pytest.mark.parametrize("pct", [[0], [101], [50] * 9, ["x"], 5])
def test_cache_metrics_refuse_bad_percentiles(monitor, pct):
    m = running(monitor, FEAT_PMU)
    with pytest.raises(InvalidArgumentError):
        m.get_cache_metrics(percentiles=pct)


def test_cache_metrics_need_the_pid_with_several_processes(monitor):
    m = running(monitor, FEAT_PMU)
    m.attach_process(PID + 1)
    with pytest.raises(InvalidArgumentError):
        m.get_cache_metrics()
    m.get_cache_metrics(pid=PID + 1)


def test_numa_without_the_source_is_unsupported(monitor, fake):
    fake.setup(2, 0)
    fake.source_status(9, -errno.EOPNOTSUPP)     # NUMA_BALANCING
    m = HFTResourceMonitor(device=FAKE_DEVICE, library=fake.path)
    try:
        m.configure()
        n = m.get_numa_stats(include_heatmap=True, resolution="page")
        why = m._lib.hftmon_source_reason(9, -errno.EOPNOTSUPP).decode()
        assert n.state == "unsupported" and why in n.reason
        assert n.samples is None and n.by_node is None
    finally:
        m.close()


def test_numa_cache_line_off_says_how_to_turn_it_on(monitor):
    m = monitor(FEAT_NUMA_BALANCING | FEAT_NUMA_ACCESS)
    m.configure(cache_line_period=0)
    m.attach_process(PID, track_numa=True)
    m.start_monitoring()
    m.stop_monitoring()
    n = m.get_numa_stats(include_heatmap=True, resolution="cache_line")
    assert n.heatmap_state == "unsupported"
    assert "configured with numa_line_period" in n.heatmap_reason
    with pytest.raises(InvalidArgumentError):
        m.configure(cache_line_period=-1)
    m.close()


def test_numa_cache_line_heatmap_is_the_librarys_refusal(monitor):
    m = running(monitor, FEAT_NUMA_BALANCING | FEAT_NUMA_ACCESS,
                track_numa=True)
    m.stop_monitoring()
    n = m.get_numa_stats(include_heatmap=True, resolution="cache_line")
    assert n.heatmap_state == "unsupported" and n.heatmap is None
    assert n.heatmap_errno == errno.EOPNOTSUPP
    # the library's words: this host's CPU event refused, or none at all
    assert n.heatmap_reason.startswith(
        "NUMA heatmap: cache-line resolution unsupported")
    assert n.state == "measured" and n.samples == 0   # totals still given
    p = m.get_numa_stats(include_heatmap=True, resolution="page")
    assert p.heatmap_state == "measured" and p.heatmap == []
    assert m.get_numa_stats().heatmap_state == "not_requested"


@pytest.mark.parametrize("res", ["byte", 2, None])
def test_numa_refuses_bad_resolutions(monitor, res):
    m = running(monitor, FEAT_NUMA_BALANCING | FEAT_NUMA_ACCESS)
    with pytest.raises(InvalidArgumentError):
        m.get_numa_stats(include_heatmap=True, resolution=res)


def test_spikes_without_the_source_raise_unsupported(monitor):
    m = running(monitor)
    with pytest.raises(UnsupportedError) as e:
        m.detect_latency_spikes(threshold_us=50)
    assert e.value.errno == errno.EOPNOTSUPP and e.value.reason


def test_spikes_over_the_threshold(monitor, fake):
    m = running(monitor, FEAT_SPIKE)
    thr = DEFAULT_SPIKE_THRESHOLD_US * 1000
    assert fake.spike(0, US(100), US(120), thr, PID, TID)
    assert fake.spike(0, US(200), US(260), thr, PID, TID)
    m.stop_monitoring()
    assert [s.duration_us for s in m.detect_latency_spikes(threshold_us=50)] \
        == [60.0]
    sp = m.detect_latency_spikes(threshold_us=DEFAULT_SPIKE_THRESHOLD_US)
    assert [(s.type, s.tid, s.start_ns, s.duration_us) for s in sp] == \
        [("runnable", TID, US(100), 20.0), ("runnable", TID, US(200), 60.0)]
    assert sp[0].threshold_us == DEFAULT_SPIKE_THRESHOLD_US
    for s in m.detect_latency_spikes(threshold_us=10,
                                     include_cause_analysis=True):
        assert (s.causes is None) != (s.causes_reason is None)
        if s.causes:
            assert sum(c.duration_us for c in s.causes) == \
                pytest.approx(s.duration_us)


def test_spikes_carry_their_counters(monitor, fake):
    m = monitor(FEAT_SPIKE | FEAT_PMU)
    m.configure(cache_events=["page-faults", "instructions"])
    m.attach_process(PID)
    m.start_monitoring()
    thr = DEFAULT_SPIKE_THRESHOLD_US * 1000
    assert fake.pmu(0, US(100), US(300), PID, TID, 2, 0)
    assert fake.spike_of(0, 1, US(150), US(200), thr, PID, TID)  # interrupted
    assert fake.spike(1, US(400), US(500), thr, PID, TID)        # runnable
    m.stop_monitoring()
    on, off = m.detect_latency_spikes(threshold_us=DEFAULT_SPIKE_THRESHOLD_US)
    assert on.type == "interrupted" and off.type == "runnable"
    assert [(c.state, c.value) for c in on.counters] == \
        [("measured", 0), ("measured", 0)]
    assert (on.counters_from_ns, on.counters_to_ns) == (US(100), US(300))
    assert on.counters_complete
    assert [(c.state, c.value) for c in off.counters] == \
        [("no_data", None), ("no_data", None)]


def test_spikes_below_the_configured_threshold_are_refused(monitor):
    m = running(monitor, FEAT_SPIKE)
    with pytest.raises(InvalidArgumentError) as e:
        m.detect_latency_spikes(threshold_us=DEFAULT_SPIKE_THRESHOLD_US - 1)
    assert "spike_threshold_us" in e.value.reason
    with pytest.raises(InvalidArgumentError):
        m.detect_latency_spikes(threshold_us=-1)
    with pytest.raises(InvalidArgumentError):
        m.detect_latency_spikes(include_cause_analysis="yes")


def test_hftmon_is_the_same_package():
    import hftmon
    import hft_resource_monitor
    assert hftmon.HFTResourceMonitor is hft_resource_monitor.HFTResourceMonitor
    assert hftmon.UnsupportedError is UnsupportedError
