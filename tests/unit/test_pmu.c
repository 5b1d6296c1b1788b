// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * PMU counters from synthetic HFTMON_REC_PMU records: the configure side
 * (counters into hftmon_config.pmu[], HFTMON_EV_PMU and HFTMON_EV_SWITCH
 * added, the kernel's per-counter status kept), the record decoder (a
 * record whose nr overflows its size is refused), and
 * hftmon_get_pmu_totals(): per thread, deltas summed only over the slices
 * where the counter counted, a slice that did not count counted as missed
 * with its errno (PARTIAL), a counter that never counted UNAVAILABLE and
 * one the kernel refused UNSUPPORTED, neither with a number; windows by
 * from_ns..to_ns take only the slices wholly inside; the errors. And the
 * counters joined to spikes (struct hftmon_spike's pmu_*): the overlapping
 * records of the spike's thread only, none for a RUNNABLE spike, and
 * pmu_complete false until the record holding the spike's end is in, or
 * once the slice history lost one of the spike's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <linux/perf_event.h>

#include "fake_records.h"
#include "fake_sys.h"
#include "hftmon.h"

#define T0 2000000ull
#define US 1000ull

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "md",
				     .prio = 120, .tracked = true };
static const struct fake_task T2 = { .pid = 100, .tid = 102, .comm = "gw",
				     .prio = 120, .tracked = true };

/* faults, cpu clock, instructions (refused: x86 TCG has no PMU) */
static const struct hftmon_pmu_counter COUNTERS[3] = {
	{ .sz = sizeof(COUNTERS[0]), .type = PERF_TYPE_SOFTWARE,
	  .config = PERF_COUNT_SW_PAGE_FAULTS },
	{ .sz = sizeof(COUNTERS[0]), .type = PERF_TYPE_SOFTWARE,
	  .config = PERF_COUNT_SW_CPU_CLOCK },
	{ .sz = sizeof(COUNTERS[0]), .type = PERF_TYPE_HARDWARE,
	  .config = PERF_COUNT_HW_INSTRUCTIONS },
};

static int setup(void **state)
{
	(void)state;
	fake_setup(2);
	fake.pmu_status[2] = -ENOENT;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fake_teardown_checked();
}

static struct hftmon *open_pmu(uint64_t events, size_t nr)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .events = events,
					   .ring_pages = 16,
					   .pmu_counters = COUNTERS,
					   .nr_pmu_counters = nr };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	return m;
}

static void slice(unsigned int cpu, uint64_t start, uint64_t end,
		  const struct fake_task *t, uint64_t faults, __s32 fault_st,
		  __u32 clock_flags)
{
	uint64_t d[3] = { faults, end - start, 0 };
	__s32 st[3] = { fault_st, 0, -ENOENT };
	__u32 fl[3] = { 0, clock_flags, 0 };

	assert_true(fake_pmu(cpu, start, end, t, 3, d, st, fl));
}

/*
 * T1: 5 faults in 100 us on CPU 0, 3 in 50 us on CPU 1, then a slice
 * whose fault counter was in error state (its slot taken); T2 one slice
 * of 2 faults in 10 us, its clock rescheduled by the perf core.
 */
static void scenario(void)
{
	slice(0, T0, T0 + 100 * US, &T1, 5, 0, 0);
	slice(1, T0 + 150 * US, T0 + 200 * US, &T1, 3, 0, 0);
	slice(1, T0 + 300 * US, T0 + 320 * US, &T1, 7, -EIO, 0);
	slice(0, T0 + 400 * US, T0 + 410 * US, &T2, 2, 0,
	      HFTMON_PMU_RESCHEDULED);
}

static struct hftmon *run(void)
{
	struct hftmon *m = open_pmu(0, 3);

	assert_int_equal(hftmon_start(m), 0);
	scenario();
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);
	return m;
}

/*
 * Sampling: T1's one slice of 100 us read at two ticks (12 and 13 us
 * after the previous read) and at its switch-out; the totals count one
 * slice, two ticks of 12.5 us mean, the interval requested, and every
 * part's deltas; a span holding only the ticks has no slice.
 */
static void test_ticks(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .ring_pages = 16,
					   .sampling_interval_us = 10,
					   .pmu_counters = COUNTERS,
					   .nr_pmu_counters = 3 };
	struct hftmon_pmu_totals out[1] = { [0].sz = sizeof(out[0]) };
	struct hftmon_pmu_query q = { .sz = sizeof(q), .tid = T1.tid };
	static const __s32 st[3] = { 0, 0, -ENOENT };
	uint64_t d[3] = { 1, 0, 0 };
	struct hftmon *m = NULL;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(fake.last_config.sample_interval_ns, 10000);
	assert_int_equal(hftmon_start(m), 0);
	d[1] = 12 * US;
	assert_true(fake_pmu_rec(0, T0, T0 + 12 * US, &T1, HFTMON_PMU_TICK, 3,
				 d, st, NULL));
	d[1] = 13 * US;
	assert_true(fake_pmu_rec(0, T0 + 12 * US, T0 + 25 * US, &T1,
				 HFTMON_PMU_TICK, 3, d, st, NULL));
	d[1] = 75 * US;
	assert_true(fake_pmu_rec(0, T0 + 25 * US, T0 + 100 * US, &T1, 0, 3, d,
				 st, NULL));
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 1), 1);
	assert_int_equal(out[0].slices, 1);
	assert_int_equal(out[0].ticks, 2);
	assert_int_equal(out[0].tick_interval_ns, 12500);
	assert_int_equal(out[0].interval_ns, 10000);
	assert_int_equal(out[0].on_cpu_ns, 100 * US);
	assert_int_equal(out[0].c[0].value, 3);
	assert_int_equal(out[0].c[1].value, 100 * US);
	q.from_ns = T0;
	q.to_ns = T0 + 30 * US;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 1), 1);
	assert_int_equal(out[0].slices, 0);
	assert_int_equal(out[0].ticks, 2);
	assert_int_equal(out[0].c[0].value, 2);
	hftmon_close(m);
}

static void test_configure(void **state)
{
	int st[4] = { 1, 1, 1, 1 };
	struct hftmon *m;

	(void)state;
	m = open_pmu(0, 3);
	assert_int_equal(fake.last_config.events,
			 HFTMON_EV_SCHED_ALL | HFTMON_EV_PMU);
	assert_int_equal(fake.last_config.nr_pmu, 3);
	assert_int_equal(fake.last_config.pmu[0].type, PERF_TYPE_SOFTWARE);
	assert_int_equal(fake.last_config.pmu[1].config,
			 PERF_COUNT_SW_CPU_CLOCK);
	assert_int_equal(fake.last_config.pmu[2].type, PERF_TYPE_HARDWARE);
	assert_int_equal(fake.last_config.pmu[3].type, 0);
	assert_int_equal(hftmon_get_pmu_status(m, st, 4), 3);
	assert_int_equal(st[0], 0);
	assert_int_equal(st[1], 0);
	assert_int_equal(st[2], -ENOENT);
	assert_int_equal(st[3], 1);
	hftmon_close(m);

	/* Events named: SWITCH added, which the counters need. */
	m = open_pmu(HFTMON_EV_WAKEUP, 1);
	assert_int_equal(fake.last_config.events,
			 HFTMON_EV_WAKEUP | HFTMON_EV_SWITCH | HFTMON_EV_PMU);
	hftmon_close(m);
}

static const struct hftmon_pmu_totals *
of(const struct hftmon_pmu_totals *t, int n, pid_t tid)
{
	int i;

	for (i = 0; i < n; i++)
		if (t[i].tid == tid)
			return &t[i];
	fail_msg("thread %d not in the totals", (int)tid);
	return NULL;
}

static void test_totals(void **state)
{
	struct hftmon_pmu_totals out[4] = { [0].sz = sizeof(out[0]) };
	struct hftmon_pmu_query q = { .sz = sizeof(q) };
	const struct hftmon_pmu_totals *t1, *t2;
	struct hftmon *m;
	int n;

	(void)state;
	m = run();
	n = hftmon_get_pmu_totals(m, &q, out, 4);
	assert_int_equal(n, 2);
	assert_true(out[0].tid < out[1].tid);
	t1 = of(out, n, 101);
	assert_int_equal(t1->pid, 100);
	assert_int_equal(t1->nr, 3);
	assert_true(t1->complete);
	assert_int_equal(t1->slices, 3);
	assert_int_equal(t1->on_cpu_ns, 170 * US);
	/* Faults: two slices counted, the third missed with its errno. */
	assert_int_equal(t1->c[0].state, HFTMON_PMU_PARTIAL);
	assert_int_equal(t1->c[0].status, -EIO);
	assert_int_equal(t1->c[0].value, 8);
	assert_int_equal(t1->c[0].slices_counted, 2);
	assert_int_equal(t1->c[0].slices_missed, 1);
	assert_int_equal(t1->c[1].state, HFTMON_PMU_MEASURED);
	assert_int_equal(t1->c[1].status, 0);
	assert_int_equal(t1->c[1].value, 170 * US);
	assert_int_equal(t1->c[1].slices_counted, 3);
	/* Refused by the kernel: its errno, no number. */
	assert_int_equal(t1->c[2].state, HFTMON_PMU_UNSUPPORTED);
	assert_int_equal(t1->c[2].status, -ENOENT);
	assert_int_equal(t1->c[2].value, 0);
	assert_int_equal(t1->c[2].slices_counted, 0);
	t2 = of(out, n, 102);
	assert_int_equal(t2->c[0].state, HFTMON_PMU_MEASURED);
	assert_int_equal(t2->c[0].value, 2);
	assert_int_equal(t2->c[1].value, 10 * US);
	assert_int_equal(t2->c[1].slices_rescheduled, 1);
	assert_int_equal(t2->c[0].slices_rescheduled, 0);

	/* One thread. */
	q.tid = 102;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 4), 1);
	assert_int_equal(out[0].tid, 102);
	hftmon_close(m);
}

/* Slices wholly within from_ns..to_ns: the first two of T1, not its third. */
static void test_span(void **state)
{
	struct hftmon_pmu_totals out[4] = { [0].sz = sizeof(out[0]) };
	struct hftmon_pmu_query q = { .sz = sizeof(q), .tid = 101,
				      .from_ns = T0, .to_ns = T0 + 200 * US };
	struct hftmon *m;

	(void)state;
	m = run();
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 4), 1);
	assert_true(out[0].complete);
	assert_int_equal(out[0].slices, 2);
	assert_int_equal(out[0].c[0].state, HFTMON_PMU_MEASURED);
	assert_int_equal(out[0].c[0].value, 8);
	assert_int_equal(out[0].c[1].value, 150 * US);
	/* A slice crossing either end is left out. */
	q.from_ns = T0 + 1;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 4), 1);
	assert_int_equal(out[0].slices, 1);
	assert_int_equal(out[0].c[0].value, 3);
	q.from_ns = T0;
	q.to_ns = T0 + 200 * US - 1;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 4), 1);
	assert_int_equal(out[0].c[0].value, 5);
	/* Only the failed slice: no number at all. */
	q.from_ns = T0 + 250 * US;
	q.to_ns = T0 + 350 * US;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 4), 1);
	assert_int_equal(out[0].c[0].state, HFTMON_PMU_UNAVAILABLE);
	assert_int_equal(out[0].c[0].status, -EIO);
	assert_int_equal(out[0].c[0].value, 0);
	/* Nothing of T1 there. */
	q.from_ns = T0 + 400 * US;
	q.to_ns = 0;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 4), 0);
	hftmon_close(m);
}

/* The decoder: a PMU record's counters must fit in its size. */
static void test_record_check(void **state)
{
	union {
		struct hftmon_rec_pmu r;
		unsigned char b[sizeof(struct hftmon_rec_pmu) +
				2 * sizeof(struct hftmon_pmu_value)];
	} u;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.r.hdr.type = HFTMON_REC_PMU;
	u.r.hdr.size = sizeof(u);
	u.r.nr = 2;
	assert_int_equal(hftmon_record_check(&u.r.hdr, sizeof(u)), 0);
	u.r.nr = 3;
	assert_int_equal(hftmon_record_check(&u.r.hdr, sizeof(u)), -EBADMSG);
	u.r.nr = 0;
	u.r.hdr.size = sizeof(struct hftmon_rec_pmu) - 8;
	assert_int_equal(hftmon_record_check(&u.r.hdr, sizeof(u)), -EBADMSG);
	assert_string_equal(hftmon_record_type_name(HFTMON_REC_PMU), "pmu");
}

static void test_errors(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_pmu_counter five[5];
	struct hftmon_monitor_config c = { .sz = sizeof(c), .ring_pages = 16 };
	struct hftmon_pmu_totals out[1] = { [0].sz = sizeof(out[0]) };
	struct hftmon_pmu_query q = { .sz = sizeof(q) };
	struct hftmon *m = NULL;
	int st[4];
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		five[i] = COUNTERS[0];
	assert_int_equal(hftmon_open(&o, &m), 0);
	c.pmu_counters = five;
	c.nr_pmu_counters = 5;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.nr_pmu_counters = 0;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.pmu_counters = NULL;
	c.events = HFTMON_EV_SWITCH | HFTMON_EV_PMU;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	/* Configured without counters: the queries say so. */
	c.events = 0;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 1), -EOPNOTSUPP);
	assert_int_equal(hftmon_get_pmu_status(m, st, 4), -EOPNOTSUPP);
	hftmon_close(m);

	m = open_pmu(0, 1);
	q.window_us = 10;
	q.from_ns = 1;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 1), -EINVAL);
	q.window_us = 0;
	q.from_ns = 10;
	q.to_ns = 5;
	assert_int_equal(hftmon_get_pmu_totals(m, &q, out, 1), -EINVAL);
	hftmon_close(m);
}

/* The same session without counters. */
static struct hftmon *open_spikes_only(void)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .ring_pages = 16,
					   .events = HFTMON_EV_SCHED_ALL,
					   .spike_threshold_us = 10 };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_start(m), 0);
	return m;
}

/* A session with spikes and the three counters, started. */
static struct hftmon *open_spike_pmu(void)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .ring_pages = 16,
					   .events = HFTMON_EV_SCHED_ALL,
					   .spike_threshold_us = 10,
					   .pmu_counters = COUNTERS,
					   .nr_pmu_counters = 3 };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_start(m), 0);
	return m;
}

static void spike_of(unsigned int cpu, const struct fake_task *t, __u32 type,
		     uint64_t start, uint64_t end)
{
	struct fake_spike sp = { .type = type, .start = start, .end = end,
				 .threshold = 10 * US, .from_cpu = cpu,
				 .idle_state = -1, .victim = t };

	assert_true(fake_spike(cpu, &sp));
}

static void tick_of(unsigned int cpu, uint64_t start, uint64_t end,
		    const struct fake_task *t, uint64_t faults, bool tick)
{
	uint64_t d[3] = { faults, end - start, 0 };
	static const __s32 st[3] = { 0, 0, -ENOENT };

	assert_true(fake_pmu_rec(cpu, start, end, t, tick ? HFTMON_PMU_TICK : 0,
				 3, d, st, NULL));
}

static void drained(struct hftmon *m)
{
	int n;

	while ((n = hftmon_drain(m, fake_ignore, NULL)) > 0)
		;
	assert_int_equal(n, 0);
}

/*
 * The counters joined to spikes: each spike gets the sums of its
 * thread's records that overlap it, and their span. T1 on CPU 0: slice
 * A [0, 100) 5 faults; a slice read at a tick, B [200, 250) 2 faults and
 * C [250, 300) 3; slice D [400, 500) 11. T2 on CPU 1 over [200, 300): 100
 * faults, another thread's. Spikes of T1: INTERRUPTED [50, 80) joins A;
 * FAULT [240, 260) joins B and C, not D nor T2's; RUNNABLE [90, 210)
 * joins nothing though A and B touch it (its thread did not run: records
 * at its edges are the slices before and after, a probe's clock read
 * apart); INTERRUPTED [600, 650) with only the tick E [550, 620) recorded
 * is not complete, and is once the slice's end F [620, 700) is drained.
 */
static void test_spike_join(void **state)
{
	struct hftmon_spike out[8] = { [0].sz = sizeof(out[0]) };
	struct hftmon_spike_query q = { .sz = sizeof(q), .tid = T1.tid };
	const struct hftmon_spike *sp;
	struct hftmon *m = open_spike_pmu();

	(void)state;
	tick_of(0, T0, T0 + 100 * US, &T1, 5, false);
	spike_of(0, &T1, HFTMON_SPIKE_INTERRUPTED, T0 + 50 * US, T0 + 80 * US);
	tick_of(0, T0 + 200 * US, T0 + 250 * US, &T1, 2, true);
	spike_of(1, &T1, HFTMON_SPIKE_RUNNABLE, T0 + 90 * US, T0 + 210 * US);
	spike_of(0, &T1, HFTMON_SPIKE_FAULT, T0 + 240 * US, T0 + 260 * US);
	tick_of(0, T0 + 250 * US, T0 + 300 * US, &T1, 3, false);
	tick_of(1, T0 + 200 * US, T0 + 300 * US, &T2, 100, false);
	tick_of(0, T0 + 400 * US, T0 + 500 * US, &T1, 11, false);
	tick_of(0, T0 + 550 * US, T0 + 620 * US, &T1, 7, true);
	spike_of(0, &T1, HFTMON_SPIKE_INTERRUPTED, T0 + 600 * US, T0 + 650 * US);
	assert_int_equal(hftmon_stop(m), 0);
	drained(m);

	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 8), 4);
	sp = &out[0]; /* INTERRUPTED [50, 80): A */
	assert_int_equal(sp->type, HFTMON_SPIKE_INTERRUPTED);
	assert_int_equal(sp->pmu_nr, 3);
	assert_int_equal(sp->pmu_records, 1);
	assert_true(sp->pmu_complete);
	assert_int_equal(sp->pmu_from_ns, T0);
	assert_int_equal(sp->pmu_to_ns, T0 + 100 * US);
	assert_int_equal(sp->pmu[0].state, HFTMON_PMU_MEASURED);
	assert_int_equal(sp->pmu[0].value, 5);
	assert_int_equal(sp->pmu[1].value, 100 * US);
	assert_int_equal(sp->pmu[2].state, HFTMON_PMU_UNSUPPORTED);
	assert_int_equal(sp->pmu[2].status, -ENOENT);
	assert_int_equal(sp->pmu[2].value, 0);

	sp = &out[1]; /* RUNNABLE [90, 210): nothing */
	assert_int_equal(sp->type, HFTMON_SPIKE_RUNNABLE);
	assert_int_equal(sp->pmu_nr, 3);
	assert_int_equal(sp->pmu_records, 0);
	assert_true(sp->pmu_complete);
	assert_int_equal(sp->pmu_from_ns, 0);
	assert_int_equal(sp->pmu[0].state, HFTMON_PMU_NO_DATA);
	assert_int_equal(sp->pmu[0].value, 0);
	assert_int_equal(sp->pmu[2].state, HFTMON_PMU_UNSUPPORTED);

	sp = &out[2]; /* FAULT [240, 260): B and C */
	assert_int_equal(sp->type, HFTMON_SPIKE_FAULT);
	assert_int_equal(sp->pmu_records, 2);
	assert_true(sp->pmu_complete);
	assert_int_equal(sp->pmu_from_ns, T0 + 200 * US);
	assert_int_equal(sp->pmu_to_ns, T0 + 300 * US);
	assert_int_equal(sp->pmu[0].value, 5);
	assert_int_equal(sp->pmu[0].slices_counted, 2);
	assert_int_equal(sp->pmu[1].value, 100 * US);

	sp = &out[3]; /* INTERRUPTED [600, 650): its end not recorded yet */
	assert_int_equal(sp->pmu_records, 1);
	assert_false(sp->pmu_complete);
	assert_int_equal(sp->pmu[0].value, 7);
	assert_int_equal(sp->pmu_to_ns, T0 + 620 * US);

	tick_of(0, T0 + 620 * US, T0 + 700 * US, &T1, 1, false);
	drained(m);
	/* Asked again of the spike it has (as after hftmon_wait_spike()). */
	out[3].sz = sizeof(out[3]);
	assert_int_equal(hftmon_spike_counters(m, &out[3]), 0);
	sp = &out[3];
	assert_int_equal(sp->pmu_records, 2);
	assert_true(sp->pmu_complete);
	assert_int_equal(sp->pmu[0].value, 8);
	assert_int_equal(hftmon_spike_counters(m, NULL), -EINVAL);
	memset(out, 0, sizeof(out));
	out[0].sz = sizeof(out[0]);
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 8), 4);
	sp = &out[3];
	assert_int_equal(sp->pmu_records, 2);
	assert_true(sp->pmu_complete);
	assert_int_equal(sp->pmu[0].value, 8);
	assert_int_equal(sp->pmu_from_ns, T0 + 550 * US);
	assert_int_equal(sp->pmu_to_ns, T0 + 700 * US);
	hftmon_close(m);
}

/*
 * The slice history overwritten past a spike: its join may lack records
 * and says so. A session without counters joins none (pmu_nr 0).
 */
static void test_spike_join_history(void **state)
{
	struct hftmon_spike out[2] = { [0].sz = sizeof(out[0]) };
	struct hftmon_spike_query q = { .sz = sizeof(q), .tid = T1.tid };
	struct hftmon *m = open_spike_pmu();
	uint64_t t = T0 + 100 * US;
	unsigned int i;

	(void)state;
	/* The spike's first record overwritten by the last, its second held. */
	tick_of(0, T0, T0 + 10 * US, &T1, 1, true);
	spike_of(0, &T1, HFTMON_SPIKE_INTERRUPTED, T0 + 5 * US, T0 + 20 * US);
	tick_of(0, T0 + 10 * US, T0 + 30 * US, &T1, 2, false);
	for (i = 0; i < HFTMON_HISTORY_PMU_SLICES - 1; i++, t += 2 * US) {
		tick_of(0, t, t + US, &T1, 1, false);
		if (i % 256 == 255)
			drained(m);
	}
	assert_int_equal(hftmon_stop(m), 0);
	drained(m);
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 2), 1);
	assert_int_equal(out[0].pmu_records, 1);
	assert_false(out[0].pmu_complete);
	assert_int_equal(out[0].pmu[0].value, 2);
	hftmon_close(m);

	m = open_spikes_only();
	spike_of(0, &T1, HFTMON_SPIKE_INTERRUPTED, T0 + 5 * US, T0 + 20 * US);
	assert_int_equal(hftmon_stop(m), 0);
	drained(m);
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 2), 1);
	assert_int_equal(out[0].pmu_nr, 0);
	assert_int_equal(out[0].pmu_records, 0);
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_configure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spike_join, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_spike_join_history, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
