// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Cache metrics (lib/cache.c) from synthetic HFTMON_REC_PMU records:
 * percentiles of per-slice counts and rates (per us on CPU, per 1000
 * instructions) and the per-level miss ratios, each worked out by hand
 * below from the slices' numbers; a counter refused at configure stays
 * UNSUPPORTED with the kernel's errno and no number, one that missed a
 * slice is PARTIAL with its errno and no sample from that slice; a level
 * without its two counters is NOT_CONFIGURED; the span (tid,
 * from_ns..to_ns, window_us); the counter table (hftmon_cache_counters())
 * and track_cache at attach; bad input.
 */
#include <errno.h>
#include <math.h>
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

#define L1D_READ(result)                                           \
	(PERF_COUNT_HW_CACHE_L1D | (PERF_COUNT_HW_CACHE_OP_READ << 8) | \
	 (PERF_COUNT_HW_CACHE_RESULT_##result << 16))

/* instructions, L1D loads and misses, LLC misses (refused: -ENOENT) */
static struct hftmon_pmu_counter counters[4];
static const char *const NAMES[4] = { "instructions", "L1-dcache-loads",
				      "L1-dcache-load-misses",
				      "LLC-load-misses" };

static int setup(void **state)
{
	(void)state;
	fake_setup(2);
	fake.pmu_status[3] = -ENOENT;
	counters[0].sz = sizeof(counters[0]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fake_teardown_checked();
}

static struct hftmon *open_cache(size_t nr)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .ring_pages = 16,
					   .pmu_counters = counters,
					   .nr_pmu_counters = nr };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_cache_counters(NULL, NAMES, nr, counters, 4),
			 (int)nr);
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	return m;
}

static void slice(unsigned int cpu, uint64_t start, uint64_t end,
		  const struct fake_task *t, uint64_t ins, uint64_t loads,
		  uint64_t misses, __s32 miss_st)
{
	uint64_t d[4] = { ins, loads, misses, 0 };
	__s32 st[4] = { 0, 0, miss_st, -ENOENT };

	assert_true(fake_pmu(cpu, start, end, t, 4, d, st, NULL));
}

/*
 * T1: 100 us with 1000 instructions, 400 loads, 40 misses; 50 us with
 * 2000, 100, 20; 20 us with 500, 50 and the miss counter in error state
 * (-EIO); T2: 10 us with 100, 10, 5.
 */
static struct hftmon *run(void)
{
	struct hftmon *m = open_cache(4);

	assert_int_equal(hftmon_start(m), 0);
	slice(0, T0, T0 + 100 * US, &T1, 1000, 400, 40, 0);
	slice(1, T0 + 150 * US, T0 + 200 * US, &T1, 2000, 100, 20, 0);
	slice(1, T0 + 300 * US, T0 + 320 * US, &T1, 500, 50, 99, -EIO);
	slice(0, T0 + 400 * US, T0 + 410 * US, &T2, 100, 10, 5, 0);
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);
	return m;
}

/* p75 of 4 samples is rank 3, of 3 samples rank ceil(2.25) = 3 */
static const double PCT[3] = { 50, 100, 75 };

static void test_table(void **state)
{
	struct hftmon_pmu_counter c[8] = { [0].sz = sizeof(c[0]) };
	static const char *const five[5] = { "instructions", "cycles",
					     "branches", "branch-misses",
					     "dTLB-load-misses" };
	int n, i;

	(void)state;
	/* The defaults: as many of the set as the PMU's budget takes. */
	n = hftmon_cache_counters(NULL, NULL, 0, c, 8);
	assert_int_equal(n, HFTMON_PMU_MAX_COUNTERS < 8 ?
				    HFTMON_PMU_MAX_COUNTERS : 8);
	assert_int_equal(c[0].type, PERF_TYPE_HARDWARE);
	assert_int_equal(c[0].config, PERF_COUNT_HW_INSTRUCTIONS);
	assert_int_equal(c[1].type, PERF_TYPE_HW_CACHE);
	assert_int_equal(c[1].config, L1D_READ(ACCESS));
	assert_int_equal(c[2].config, L1D_READ(MISS));
	/* LL = 2, READ = 0, MISS = 1 (perf_event.h's enums) */
	assert_int_equal(c[3].config, 2 | 1 << 16);
	for (i = 0; i < n; i++)
		assert_int_equal(c[i].sz, sizeof(c[0]));
	assert_int_equal(hftmon_cache_counters(NULL, NULL, 0, c, 2), 2);
	/* Software events by perf's names, without libpfm4. */
	assert_int_equal(hftmon_cache_counters(NULL,
		(const char *const[]){ "page-faults" }, 1, c, 8), 1);
	assert_int_equal(c[0].type, PERF_TYPE_SOFTWARE);
	assert_int_equal(c[0].config, PERF_COUNT_SW_PAGE_FAULTS);
	/* Too many for the PMU, unknown, bad */
	if (HFTMON_PMU_MAX_COUNTERS < 5)
		assert_int_equal(hftmon_cache_counters(NULL, five, 5, c, 8),
				 -E2BIG);
	assert_int_equal(hftmon_cache_counters(NULL, five, 3, c, 2), -E2BIG);
	assert_int_equal(hftmon_cache_counters(NULL,
		(const char *const[]){ "no-such-event" }, 1, c, 8), -ENOENT);
	assert_int_equal(hftmon_cache_counters(NULL,
		(const char *const[]){ "" }, 1, c, 8), -EINVAL);
	assert_int_equal(hftmon_cache_counters(NULL, five, 1, NULL, 8),
			 -EINVAL);
	assert_string_equal(hftmon_cache_event_name(HFTMON_CACHE_EV_BRANCH_MISS),
			    "branch-misses");
	assert_null(hftmon_cache_event_name(HFTMON_CACHE_EV_OTHER));
	assert_string_equal(hftmon_cache_level_name(HFTMON_CACHE_LLC), "LLC");
	assert_null(hftmon_pmu_reason(0));
	assert_non_null(strstr(hftmon_pmu_reason(-ENOENT), "no such event"));
}

static void test_metrics(void **state)
{
	HFTMON_OPTS(hftmon_cache_query, q, .pid = 100, .percentiles = PCT,
		    .nr_percentiles = 3);
	struct hftmon_cache_metrics o = { .sz = sizeof(o) };
	const struct hftmon_cache_counter *c;
	const struct hftmon_cache_ratio *r;
	struct hftmon *m;

	(void)state;
	m = run();
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), 0);
	assert_int_equal(o.slices, 4);
	assert_int_equal(o.on_cpu_ns, 180 * US);
	assert_true(o.complete);
	assert_int_equal(o.nr, 4);
	assert_int_equal(o.nr_percentiles, 3);

	/* Loads: counts 10 50 100 400; p50 is rank ceil(0.5 * 4) = 2. */
	c = &o.c[1];
	assert_int_equal(c->event, HFTMON_CACHE_EV_L1D_ACCESS);
	assert_int_equal(c->total.state, HFTMON_PMU_MEASURED);
	assert_int_equal(c->total.value, 560);
	assert_int_equal(c->total.slices_counted, 4);
	assert_null(c->reason);
	assert_int_equal(c->count_pct[0], 50);
	assert_int_equal(c->count_pct[1], 400);
	assert_int_equal(c->count_pct[2], 100);
	/* per us: 400/100 = 4, 100/50 = 2, 50/20 = 2.5, 10/10 = 1 */
	assert_int_equal(c->per_us_state, HFTMON_PMU_MEASURED);
	assert_int_equal(c->per_us_slices, 4);
	assert_true(c->per_us_pct[0] == 2.0);
	assert_true(c->per_us_pct[1] == 4.0);
	assert_true(c->per_us_pct[2] == 2.5);
	/* per 1000 instructions: 400, 50, 100, 100 */
	assert_int_equal(c->per_kinst_state, HFTMON_PMU_MEASURED);
	assert_true(c->per_kinst_pct[0] == 100.0);
	assert_true(c->per_kinst_pct[1] == 400.0);
	assert_true(c->per_kinst_pct[2] == 100.0);

	/* Misses: the -EIO slice is no sample: counts 5 20 40. */
	c = &o.c[2];
	assert_int_equal(c->total.state, HFTMON_PMU_PARTIAL);
	assert_int_equal(c->total.status, -EIO);
	assert_non_null(c->reason);
	assert_int_equal(c->total.value, 65);
	assert_int_equal(c->total.slices_counted, 3);
	assert_int_equal(c->total.slices_missed, 1);
	assert_int_equal(c->count_pct[0], 20);
	assert_int_equal(c->count_pct[1], 40);
	assert_int_equal(c->count_pct[2], 40);
	/* per 1000 instructions: 40, 10, 50 */
	assert_int_equal(c->per_kinst_state, HFTMON_PMU_PARTIAL);
	assert_int_equal(c->per_kinst_slices, 3);
	assert_true(c->per_kinst_pct[0] == 40.0);
	assert_true(c->per_kinst_pct[1] == 50.0);
	assert_true(c->per_kinst_pct[2] == 50.0);
	/* per us: 40/100 = 0.4, 20/50 = 0.4, 5/10 = 0.5 */
	assert_true(c->per_us_pct[0] == 0.4);
	assert_true(c->per_us_pct[1] == 0.5);

	/* Refused at configure: no number anywhere. */
	c = &o.c[3];
	assert_int_equal(c->event, HFTMON_CACHE_EV_LLC_MISS);
	assert_int_equal(c->total.state, HFTMON_PMU_UNSUPPORTED);
	assert_int_equal(c->total.status, -ENOENT);
	assert_int_equal(c->total.value, 0);
	assert_int_equal(c->total.slices_counted, 0);
	assert_int_equal(c->count_pct[0] | c->count_pct[1], 0);
	assert_int_equal(c->per_us_state, HFTMON_PMU_UNSUPPORTED);
	assert_int_equal(c->per_kinst_state, HFTMON_PMU_UNSUPPORTED);
	assert_true(c->per_us_pct[0] == 0 && c->per_kinst_pct[1] == 0);
	assert_non_null(strstr(c->reason, "no such event"));

	/* L1D over the 3 slices where both counted: 65 of 510 loads. */
	r = &o.ratio[HFTMON_CACHE_L1D];
	assert_int_equal(r->level, HFTMON_CACHE_L1D);
	assert_int_equal(r->state, HFTMON_PMU_PARTIAL);
	assert_int_equal(r->status, -EIO);
	assert_int_equal(r->slices, 3);
	assert_int_equal(r->accesses, 510);
	assert_int_equal(r->misses, 65);
	assert_true(fabs(r->miss_ratio - 65.0 / 510.0) < 1e-12);
	assert_true(fabs(r->hit_ratio - 445.0 / 510.0) < 1e-12);
	/* LLC: its loads are not configured, whatever its misses say. */
	r = &o.ratio[HFTMON_CACHE_LLC];
	assert_int_equal(r->state, HFTMON_PMU_NOT_CONFIGURED);
	assert_true(isnan(r->miss_ratio) && isnan(r->hit_ratio));
	assert_int_equal(o.ratio[HFTMON_CACHE_BRANCH].state,
			 HFTMON_PMU_NOT_CONFIGURED);

	/* One thread: T2's one slice, 5 of 10. */
	q.tid = 102;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), 0);
	assert_int_equal(o.slices, 1);
	r = &o.ratio[HFTMON_CACHE_L1D];
	assert_int_equal(r->state, HFTMON_PMU_MEASURED);
	assert_int_equal(r->status, 0);
	assert_true(r->miss_ratio == 0.5);
	assert_int_equal(o.c[2].total.state, HFTMON_PMU_MEASURED);
	hftmon_close(m);
}

static void test_span(void **state)
{
	HFTMON_OPTS(hftmon_cache_query, q, .pid = 100, .percentiles = PCT,
		    .nr_percentiles = 1);
	struct hftmon_cache_metrics o = { .sz = sizeof(o) };
	struct hftmon *m;

	(void)state;
	m = run();
	/* Slices wholly inside: the second and third of T1. */
	q.from_ns = T0 + 150 * US;
	q.to_ns = T0 + 320 * US;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), 0);
	assert_int_equal(o.slices, 2);
	assert_int_equal(o.on_cpu_ns, 70 * US);
	assert_int_equal(o.c[1].total.value, 150);
	/* loads 50, 100: p50 rank 1 */
	assert_int_equal(o.c[1].count_pct[0], 50);
	assert_int_equal(o.c[2].total.state, HFTMON_PMU_PARTIAL);
	/* ends 1 ns early: the third slice is not wholly inside */
	q.to_ns = T0 + 320 * US - 1;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), 0);
	assert_int_equal(o.slices, 1);
	assert_int_equal(o.c[2].total.state, HFTMON_PMU_MEASURED);
	/* The records are long past: a 1 us window holds none of them. */
	q.from_ns = q.to_ns = 0;
	q.window_us = 1;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -ENODATA);
	assert_int_equal(o.slices, 0);
	assert_int_equal(o.c[1].total.state, HFTMON_PMU_NO_DATA);
	assert_int_equal(o.ratio[HFTMON_CACHE_L1D].state, HFTMON_PMU_NO_DATA);
	q.window_us = (fake_now_ns() - T0) / 1000 + 1000;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), 0);
	assert_int_equal(o.slices, 4);
	/* Another process: nothing. */
	q.pid = 200;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -ENODATA);
	hftmon_close(m);
}

static void test_errors(void **state)
{
	static const double bad[3] = { 0, 100.5, NAN };
	static const double nine[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	HFTMON_OPTS(hftmon_cache_query, q, .pid = 100);
	struct hftmon_cache_metrics o = { .sz = sizeof(o) };
	HFTMON_OPTS(hftmon_attach_opts, ao, .track_cache = true);
	struct hftmon *m;
	size_t i;

	(void)state;
	m = run();
	for (i = 0; i < 3; i++) {
		q.percentiles = &bad[i];
		q.nr_percentiles = 1;
		assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -EINVAL);
	}
	q.percentiles = nine;
	q.nr_percentiles = 9;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -EINVAL);
	q.percentiles = NULL;
	q.nr_percentiles = 1;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -EINVAL);
	q.nr_percentiles = 0;
	q.pid = 0;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -EINVAL);
	q.pid = 100;
	q.window_us = 5;
	q.from_ns = 1;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -EINVAL);
	q.window_us = 0;
	q.from_ns = 10;
	q.to_ns = 5;
	assert_int_equal(hftmon_get_cache_metrics(m, &q, &o), -EINVAL);
	assert_int_equal(hftmon_get_cache_metrics(m, NULL, &o), -EINVAL);
	assert_int_equal(hftmon_get_cache_metrics(m, &q, NULL), -EINVAL);
	q.from_ns = q.to_ns = 0;
	/* track_cache with cache counters: accepted, not sent to the module. */
	assert_int_equal(hftmon_attach_process(m, T1.pid, &ao), 0);
	assert_int_equal(fake.last_attach.flags & HFTMON_ATTACH_CACHE, 0);
	hftmon_close(m);

	/* Only a software counter: no cache metrics to track. */
	m = NULL;
	{
		struct hftmon_open_opts oo = { .sz = sizeof(oo),
					       .device = FAKE_DEVICE };
		struct hftmon_pmu_counter pf = { .sz = sizeof(pf),
						 .type = PERF_TYPE_SOFTWARE,
						 .config = PERF_COUNT_SW_PAGE_FAULTS };
		struct hftmon_monitor_config c = { .sz = sizeof(c),
						   .ring_pages = 16 };

		assert_int_equal(hftmon_open(&oo, &m), 0);
		assert_int_equal(hftmon_configure(m, &c), 0);
		/* No counters at all: not a PMU session. */
		assert_int_equal(hftmon_get_cache_metrics(m, &q, &o),
				 -EOPNOTSUPP);
		assert_int_equal(hftmon_attach_process(m, T1.pid, &ao),
				 -EINVAL);
		c.pmu_counters = &pf;
		c.nr_pmu_counters = 1;
		assert_int_equal(hftmon_configure(m, &c), 0);
		assert_int_equal(hftmon_attach_process(m, T1.pid, &ao),
				 -EINVAL);
		ao.track_cache = false;
		assert_int_equal(hftmon_attach_process(m, T1.pid, &ao), 0);
		assert_int_equal(hftmon_get_cache_metrics(m, &q, &o),
				 -ENODATA);
		assert_int_equal(o.c[0].event, HFTMON_CACHE_EV_PAGE_FAULTS);
		assert_int_equal(o.c[0].per_kinst_state,
				 HFTMON_PMU_NOT_CONFIGURED);
		hftmon_close(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
