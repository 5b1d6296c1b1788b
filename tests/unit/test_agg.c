// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The aggregator behind the queries, fed through the fake device's rings
 * by hftmon_drain()/hftmon_read_records(): switch-outs paired with the
 * next switch-in of the same thread in time order however the rings are
 * drained, wake-up latencies, the preempted switch (no wake-up), the
 * wake-up of a thread still running, migrations (in_cpu != out_cpu), the
 * query filters (pid, tid, min_duration, window), history overwrite
 * accounting, the stack table (ids from another ring before and after
 * their use, a lost STACK record), late records, the watermark that holds
 * back what a ring could still precede, and the thread table's removal
 * of dead threads and its limit (through the internal agg.h API).
 *
 * Times are small (a few ms after boot): the clock has passed them, so
 * only the rules under test hold records back.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agg.h"
#include "fake_queries.h"
#include "fake_records.h"
#include "fake_sys.h"
#include "hftmon.h"

/* The internal aggregator with the library's default table sizes. */
static int agg_init(struct hftmon_agg *a, unsigned int nr_rings,
		    uint32_t hist_sw, uint32_t hist_wk, uint32_t reorder)
{
	struct hftmon_agg_sizes sz = {
		.history_switches = hist_sw,
		.history_wakeups = hist_wk,
		.max_threads = HFTMON_DEFAULT_MAX_THREADS,
		.max_stacks = HFTMON_DEFAULT_MAX_STACKS,
		.reorder_records = reorder ? reorder : HFTMON_AGG_MAX_REORDER,
	};

	return hftmon_agg_init(a, nr_rings, &sz);
}

static const struct fake_task T1 = { .pid = 100, .tid = 101,
				     .comm = "md-feed", .prio = 120,
				     .tracked = true };
static const struct fake_task T2 = { .pid = 100, .tid = 102,
				     .comm = "order-gw", .prio = 120,
				     .tracked = true };
static const struct fake_task T3 = { .pid = 200, .tid = 201,
				     .comm = "risk", .prio = 120,
				     .tracked = true };
static const struct fake_task KW = { .pid = 55, .tid = 55,
				     .comm = "kworker/0:1", .prio = 100,
				     .policy = 1 };
static const struct fake_switch PREEMPT = { .preempt = true };

/* Histories of 0 = 4096 entries (the library's default is tested once). */
static struct hftmon *open_cfg(uint32_t hist_sw, uint32_t hist_wk)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = {
		.sz = sizeof(c),
		.history_switches = hist_sw ? hist_sw : 4096,
		.history_wakeups = hist_wk ? hist_wk : 4096,
	};
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	return m;
}

static void drain(struct hftmon *m)
{
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);
}

static int switches(struct hftmon *m, pid_t pid, pid_t tid,
		    struct hftmon_switch_event *ev, size_t max)
{
	struct hftmon_switch_query q = { .sz = sizeof(q),
					 .pid = pid,
					 .tid = tid,
					 .include_stack_trace = true };

	return hftmon_get_context_switches(m, &q, ev, max);
}

static struct hftmon_stats_summary stats(struct hftmon *m)
{
	struct hftmon_stats_summary s = { .sz = sizeof(s) };

	assert_int_equal(hftmon_get_stats(m, &s, NULL, 0), 0);
	return s;
}

/* ---- pairing ---------------------------------------------------------- */

static void test_pair_in_order(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_switch_event ev[4] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency lat;
	struct hftmon *m = NULL;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, NULL), 0); /* every default */
	fake_switch(0, US(10), &T1, &KW, &BLOCK); /* T1 blocks, kworker runs */
	fake_switch(0, US(40), &KW, NULL, &BLOCK);
	fake_wakeup(1, US(50), &T1, &T2, 0);
	fake_switch(0, US(60), NULL, &T1, NULL);
	drain(m);

	assert_int_equal(switches(m, 0, 0, ev, 4), 1);
	assert_int_equal(ev[0].pid, 100);
	assert_int_equal(ev[0].tid, 101);
	assert_string_equal(ev[0].comm, "md-feed");
	assert_int_equal(ev[0].out_ns, US(10));
	assert_int_equal(ev[0].in_ns, US(60));
	assert_int_equal(ev[0].off_cpu_ns, 50000);
	assert_int_equal(ev[0].wakeup_ns, US(50));
	assert_int_equal(ev[0].waker_pid, 100);
	assert_int_equal(ev[0].waker_tid, 102);
	assert_true(ev[0].voluntary);
	assert_int_equal(ev[0].prev_state, 1);
	assert_int_equal(ev[0].prio, 120);
	assert_int_equal(ev[0].out_cpu, 0);
	assert_int_equal(ev[0].in_cpu, 0);
	assert_int_equal(ev[0].next_pid, 55);
	assert_int_equal(ev[0].next_tid, 55);
	assert_string_equal(ev[0].next_comm, "kworker/0:1");
	assert_int_equal(ev[0].next_prio, 100);
	assert_int_equal(ev[0].next_policy, 1);

	assert_int_equal(latency(m, 100, 101, 0, NULL, NULL,
						   0, &lat),
			 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.min_us == 10.0 && lat.max_us == 10.0);
	assert_int_equal(stats(m).switches_completed, 1);
	hftmon_close(m);
}

/*
 * T1 bounces between CPUs faster than a drain pass: ring 0 is drained
 * first, so out@1 in@5 out@6 (CPU 0) come before in@2 out@3 wake@4
 * (CPU 1). Paired by drain order, out@1 would meet in@5; by time it meets
 * in@2, and in@5 ends the switch out@3, woken on the other CPU at 4.
 */
static void test_pair_out_of_order_two_rings(void **state)
{
	struct hftmon_switch_event ev[4] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(1), &T1, &KW, &PREEMPT);
	fake_switch(0, US(5), &KW, &T1, &PREEMPT);
	fake_switch(0, US(6), &T1, NULL, &BLOCK);
	fake_switch(1, US(2), NULL, &T1, NULL);
	fake_switch(1, US(3), &T1, NULL, &BLOCK);
	fake_wakeup(1, US(4), &T1, &T2, 0);
	assert_int_equal(hftmon_start(m), 0); /* a live session, too */
	drain(m);

	assert_int_equal(switches(m, 100, 101, ev, 4), 2);
	/* out@1 on CPU 0 (preempted by the kworker) -> in@2 on CPU 1 */
	assert_int_equal(ev[0].out_ns, US(1));
	assert_int_equal(ev[0].in_ns, US(2));
	assert_false(ev[0].voluntary);
	assert_int_equal(ev[0].wakeup_ns, 0);
	assert_int_equal(ev[0].out_cpu, 0);
	assert_int_equal(ev[0].in_cpu, 1);
	assert_int_equal(ev[0].next_tid, 55);
	/* out@3 on CPU 1 (blocked) -> woken @4 -> in@5 on CPU 0 */
	assert_int_equal(ev[1].out_ns, US(3));
	assert_int_equal(ev[1].in_ns, US(5));
	assert_true(ev[1].voluntary);
	assert_int_equal(ev[1].wakeup_ns, US(4));
	assert_int_equal(ev[1].out_cpu, 1);
	assert_int_equal(ev[1].in_cpu, 0);
	assert_int_equal(ev[1].next_tid, 0);
	assert_string_equal(ev[1].next_comm, "swapper");

	/* The wake-up on CPU 1 ends with the switch-in drained before it. */
	assert_int_equal(latency(m, 0, 101, 0, NULL, NULL, 0,
						   &lat),
			 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.max_us == 1.0);
	assert_int_equal(stats(m).aggregator_late, 0);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

/* Two threads swap CPUs at the same instant: each pairs with its own in. */
static void test_pair_two_threads_cross(void **state)
{
	struct hftmon_switch_event ev[4] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(10), &T1, &KW, &PREEMPT); /* CPU 0: T1 out */
	fake_switch(0, US(20), &KW, &T2, &BLOCK); /* then T2 in */
	fake_switch(1, US(10), &T2, NULL, &PREEMPT); /* CPU 1: T2 out */
	fake_switch(1, US(21), NULL, &T1, NULL); /* then T1 in */
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 4), 2);
	assert_int_equal(ev[0].tid, 102);
	assert_int_equal(ev[0].off_cpu_ns, 10000);
	assert_int_equal(ev[0].out_cpu, 1);
	assert_int_equal(ev[0].in_cpu, 0);
	assert_int_equal(ev[1].tid, 101);
	assert_int_equal(ev[1].off_cpu_ns, 11000);
	assert_int_equal(ev[1].out_cpu, 0);
	assert_int_equal(ev[1].in_cpu, 1);
	assert_string_equal(ev[1].next_comm, "kworker/0:1");
	hftmon_close(m);
}

/* Preempted: no wake-up, no latency sample, involuntary. */
static void test_preempted_without_wakeup(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(1, US(100), &T2, &KW, &PREEMPT);
	fake_switch(1, US(350), &KW, &T2, &BLOCK);
	drain(m);
	assert_int_equal(switches(m, 0, 102, ev, 2), 1);
	assert_false(ev[0].voluntary);
	assert_int_equal(ev[0].prev_state, 0);
	assert_int_equal(ev[0].wakeup_ns, 0);
	assert_int_equal(ev[0].waker_tid, 0);
	assert_int_equal(ev[0].off_cpu_ns, 250000);
	assert_int_equal(latency(m, 0, 102, 0, NULL, NULL, 0,
						   &lat),
			 -ENODATA);
	assert_int_equal(lat.count, 0);
	hftmon_close(m);
}

/* A wake-up while it still runs is followed by no switch-in: ignored. */
static void test_wakeup_while_running(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(10), NULL, &T1, NULL); /* T1 runs */
	fake_wakeup(1, US(20), &T1, &T2, 0); /* woken before it slept */
	fake_switch(0, US(30), &T1, &KW, &PREEMPT); /* preempted later */
	fake_switch(0, US(90), &KW, &T1, &BLOCK);
	drain(m);
	assert_int_equal(switches(m, 0, 101, ev, 2), 1);
	assert_int_equal(ev[0].wakeup_ns, 0);
	assert_int_equal(ev[0].off_cpu_ns, 60000);
	assert_int_equal(latency(m, 0, 101, 0, NULL, NULL, 0,
						   &lat),
			 -ENODATA);
	hftmon_close(m);
}

/* A thread woken while monitoring started: latency, but no switch. */
static void test_first_event_wakeup(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_wakeup(0, US(10), &T3, NULL, 1);
	fake_switch(1, US(17), NULL, &T3, NULL);
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 2), 0);
	assert_int_equal(latency(m, 200, 0, 0, NULL, NULL, 0,
						   &lat),
			 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.min_us == 7.0);
	hftmon_close(m);
}

static void test_migration(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(10), &T1, NULL, &BLOCK);
	fake_wakeup(1, US(30), &T1, &T2, 1);
	fake_migrate(1, US(30), &T1, 0, 1);
	fake_switch(1, US(45), NULL, &T1, NULL);
	drain(m);
	assert_int_equal(switches(m, 0, 101, ev, 2), 1);
	assert_int_equal(ev[0].out_cpu, 0);
	assert_int_equal(ev[0].in_cpu, 1);
	assert_int_equal(ev[0].off_cpu_ns, 35000);
	assert_int_equal(ev[0].in_ns - ev[0].wakeup_ns, 15000);
	hftmon_close(m);
}

/* hftmon_read_records feeds the aggregator the same way. */
static void test_read_records_pairs(void **state)
{
	_Alignas(8) unsigned char buf[4096];
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(1, US(20), NULL, &T1, NULL);
	fake_switch(0, US(10), &T1, NULL, &BLOCK);
	assert_true(hftmon_read_records(m, buf, sizeof(buf)) > 0);
	assert_int_equal(switches(m, 0, 0, ev, 2), 1);
	assert_int_equal(ev[0].off_cpu_ns, 10000);
	hftmon_close(m);
}

/* ---- filters ---------------------------------------------------------- */

static void switch_of(const struct fake_task *t, unsigned int cpu,
		      uint64_t out, uint64_t in)
{
	assert_true(fake_switch(cpu, out, t, NULL, &BLOCK));
	assert_true(fake_switch(cpu, in, NULL, t, NULL));
}

static void test_filters(void **state)
{
	struct hftmon_switch_query q = { .sz = sizeof(q) };
	struct hftmon_switch_event ev[8] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_cfg(0, 0);
	uint64_t now = fake_now_ns();

	(void)state;
	/* Old switches of 5, 50 and 500 us; recent ones (in the window). */
	switch_of(&T1, 0, US(0), US(5));
	switch_of(&T2, 0, US(10), US(60));
	switch_of(&T3, 1, US(0), US(500));
	switch_of(&T1, 0, now - 300000000, now - 299000000); /* 1 ms */
	switch_of(&T3, 1, now - 20000000, now - 19990000); /* 10 us */
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(hftmon_stop(m), 0); /* recent ones: flushed at stop */
	drain(m);

	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), 5);
	/* Oldest first: by switch-in time. */
	assert_int_equal(ev[0].tid, 101);
	assert_int_equal(ev[1].tid, 102);
	assert_int_equal(ev[2].tid, 201);
	q.pid = 100;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), 3);
	q.tid = 102;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), 1);
	assert_int_equal(ev[0].off_cpu_ns, 50000);
	q.pid = 0;
	q.tid = 0;
	q.min_duration_us = 50;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), 3);
	assert_int_equal(ev[0].off_cpu_ns, 50000);
	assert_int_equal(ev[1].off_cpu_ns, 500000);
	assert_int_equal(ev[2].off_cpu_ns, 1000000);
	q.min_duration_us = 501;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), 1);
	/* The last second: only the two recent ones. */
	q.min_duration_us = 0;
	q.window_us = 1000000;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), 2);
	assert_int_equal(ev[0].in_ns, now - 299000000);
	q.window_us = 100000; /* 100 ms: only the one 19.99 ms ago */
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), 1);
	assert_int_equal(ev[0].tid, 201);
	/* Counting without copying, copying fewer than match. */
	q.window_us = 0;
	assert_int_equal(hftmon_get_context_switches(m, &q, NULL, 0), 5);
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 2), 5);
	assert_int_equal(ev[1].tid, 102);
	assert_int_equal(hftmon_get_context_switches(m, &q, NULL, 2), -EINVAL);
	q.pid = -1;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 8), -EINVAL);
	hftmon_close(m);
}

static void test_wakeup_latency_window_and_percentiles(void **state)
{
	const double pct[] = { 50, 90, 99, 100, 25 };
	double out[5];
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(0, 0);
	uint64_t now = fake_now_ns();
	int i;

	(void)state;
	/* Latencies 10, 20, ..., 100 us long ago; 1000 us recently. */
	for (i = 1; i <= 10; i++) {
		uint64_t base = US(1000 * i);

		fake_switch(0, base, &T1, NULL, &BLOCK);
		fake_wakeup(1, base + 100000, &T1, NULL, 0);
		fake_switch(0, base + 100000 + (uint64_t)i * 10000, NULL, &T1,
			    NULL);
	}
	fake_switch(0, now - 10000000, &T1, NULL, &BLOCK);
	fake_wakeup(1, now - 9000000, &T1, NULL, 0);
	fake_switch(0, now - 8000000, NULL, &T1, NULL);
	drain(m);

	assert_int_equal(latency(m, 0, 0, 0, NULL, NULL, 0,
						   &lat),
			 0);
	assert_int_equal(lat.count, 11);
	/* Over the last second: the one sample of 1000 us. */
	assert_int_equal(latency(m, 100, 101, 1000000, NULL,
						   NULL, 0, &lat),
			 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.p50_us == 1000.0 && lat.stddev_us == 0.0);
	/*
	 * The ten old ones, by hand: nearest rank ceil(p/100 * 10) of
	 * 10..100 -> p50 the 5th (50), p90 the 9th (90), p99 the 10th
	 * (100), p25 the 3rd (30); mean 55; population variance
	 * 100 * (sum of (k - 5.5)^2 for k = 1..10) / 10 = 100 * 8.25.
	 */
	assert_int_equal(latency(m, 0, 101, 0, pct, out, 5,
						   &lat),
			 0);
	assert_int_equal(lat.count, 11);
	assert_int_equal(latency(m, 200, 0, 0, pct, out, 5,
						   &lat),
			 -ENODATA);
	assert_int_equal(lat.count, 0);
	assert_true(out[0] == 0.0);
	hftmon_close(m);

	/* Just the ten, for exact figures. */
	m = open_cfg(0, 0);
	for (i = 1; i <= 10; i++) {
		uint64_t base = US(1000 * i);

		fake_switch(0, base, &T1, NULL, &BLOCK);
		fake_wakeup(1, base + 100000, &T1, NULL, 0);
		fake_switch(0, base + 100000 + (uint64_t)i * 10000, NULL, &T1,
			    NULL);
	}
	drain(m);
	assert_int_equal(latency(m, 100, 0, 0, pct, out, 5,
						   &lat),
			 0);
	assert_int_equal(lat.count, 10);
	assert_true(lat.min_us == 10.0);
	assert_true(lat.max_us == 100.0);
	assert_true(lat.mean_us == 55.0);
	assert_true(lat.p50_us == 50.0);
	assert_true(lat.p90_us == 90.0);
	assert_true(lat.p99_us == 100.0);
	assert_true(lat.p999_us == 100.0);
	assert_true(out[0] == 50.0 && out[1] == 90.0 && out[2] == 100.0 &&
		    out[3] == 100.0 && out[4] == 30.0);
	/* sqrt(825) = 28.7228132326901... */
	assert_true(lat.stddev_us > 28.72281323269 &&
		    lat.stddev_us < 28.72281323270);
	/* Bad percentiles, missing outputs. */
	{
		const double bad[] = { 0 }, bad2[] = { 100.5 };

		assert_int_equal(latency(m, 0, 0, 0, bad,
							   out, 1, &lat),
				 -EINVAL);
		assert_int_equal(latency(m, 0, 0, 0, bad2,
							   out, 1, &lat),
				 -EINVAL);
		assert_int_equal(latency(m, 0, 0, 0, pct,
							   NULL, 1, &lat),
				 -EINVAL);
	}
	/* lat may be NULL when only percentiles are wanted. */
	assert_int_equal(latency(m, 0, 0, 0, pct, out, 1,
						   NULL),
			 0);
	assert_true(out[0] == 50.0);
	hftmon_close(m);
}

/* ---- history overwrite ------------------------------------------------- */

static void test_history_overwrite(void **state)
{
	struct hftmon_switch_event ev[8] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_stats_summary s;
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(4, 3);
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		fake_switch(0, US(100 * i), &T1, NULL, &BLOCK);
		fake_wakeup(1, US(100 * i + 10), &T1, NULL, 0);
		fake_switch(0, US(100 * i + 10 + i), NULL, &T1, NULL);
	}
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 8), 4);
	/* The newest four, oldest first. */
	assert_int_equal(ev[0].out_ns, US(600));
	assert_int_equal(ev[3].out_ns, US(900));
	s = stats(m);
	assert_int_equal(s.switches_completed, 10);
	assert_int_equal(s.switches_overwritten, 6);
	assert_int_equal(s.wakeups_overwritten, 7);
	assert_int_equal(latency(m, 0, 0, 0, NULL, NULL, 0,
						   &lat),
			 0);
	assert_int_equal(lat.count, 3);
	assert_true(lat.min_us == 7.0 && lat.max_us == 9.0);
	/* Counts survive a reconfigure, like the readers'. */
	assert_int_equal(hftmon_configure(m, NULL), 0);
	s = stats(m);
	assert_int_equal(s.switches_completed, 10);
	assert_int_equal(s.switches_overwritten, 6);
	assert_int_equal(s.wakeups_overwritten, 7);
	assert_int_equal(switches(m, 0, 0, ev, 8), 0);
	hftmon_close(m);
}

/* ---- stacks ------------------------------------------------------------ */

static void test_stack_table(void **state)
{
	static const uint64_t k5[] = { 0xffffffff81001000ull,
				       0xffffffff81002000ull,
				       0xffffffff81003000ull };
	static const uint64_t u7[] = { 0x401000, 0x402000 };
	const struct fake_switch s5 = { .prev_state = 1, .kstack = 5,
					.ustack = 7 };
	const struct fake_switch s9 = { .prev_state = 1, .kstack = 9 };
	struct hftmon_switch_query q = { .sz = sizeof(q) };
	struct hftmon_switch_event ev[4] = { [0].sz = sizeof(ev[0]) };
	uint64_t ips[8], big[40];
	unsigned int flags = 0;
	struct hftmon *m = open_cfg(0, 0);
	int i;

	(void)state;
	/*
	 * Ring 0: uses 5 (written in ring 1, after ring 0 in drain order)
	 * and 7 (written in ring 0 just before). Ring 1: the STACK of 5,
	 * and a use of 9 whose STACK record was lost.
	 */
	fake_stack(0, US(9), &T1, 7, u7, 2, HFTMON_STACK_USER);
	fake_switch(0, US(10), &T1, NULL, &s5);
	fake_switch(0, US(20), NULL, &T1, NULL);
	fake_stack(1, US(5), &T2, 5, k5, 3, 0);
	fake_switch(1, US(30), &T2, NULL, &s9);
	fake_switch(1, US(40), NULL, &T2, NULL);
	drain(m);

	assert_int_equal(switches(m, 0, 0, ev, 4), 2);
	assert_int_equal(ev[0].kstack_id, 5);
	assert_int_equal(ev[0].ustack_id, 7);
	assert_int_equal(ev[1].kstack_id, 9);
	assert_int_equal(hftmon_get_stack(m, 5, ips, 8, &flags), 3);
	assert_true(ips[0] == k5[0] && ips[2] == k5[2]);
	assert_int_equal(flags, 0);
	assert_int_equal(hftmon_get_stack(m, 7, ips, 8, &flags), 2);
	assert_int_equal(flags, HFTMON_STACK_USER);
	assert_true(ips[1] == u7[1]);
	/* Fewer frames than the stack has: the count is still the whole. */
	memset(ips, 0, sizeof(ips));
	assert_int_equal(hftmon_get_stack(m, 5, ips, 1, NULL), 3);
	assert_true(ips[0] == k5[0] && ips[1] == 0);
	assert_int_equal(hftmon_get_stack(m, 5, NULL, 0, NULL), 3);
	/* Referred to, never received: lost. Never seen: unknown. */
	assert_int_equal(hftmon_get_stack(m, 9, ips, 8, &flags), -ENODATA);
	assert_int_equal(hftmon_get_stack(m, 1234, ips, 8, &flags), -ENOENT);
	assert_int_equal(hftmon_get_stack(m, 0, ips, 8, &flags), -ENOENT);
	assert_int_equal(hftmon_get_stack(m, 5, NULL, 8, &flags), -EINVAL);
	/* Without include_stack_trace the ids read 0. */
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), 2);
	assert_int_equal(ev[0].kstack_id, 0);
	assert_int_equal(ev[0].ustack_id, 0);
	assert_int_equal(ev[1].kstack_id, 0);

	/* A STACK arriving after its use was found lost: no longer lost. */
	fake_stack(1, US(50), &T2, 9, k5, 1, 0);
	drain(m);
	assert_int_equal(hftmon_get_stack(m, 9, ips, 8, &flags), 1);

	/* Deeper than the 32 frames kept: cut, and marked truncated. */
	for (i = 0; i < 40; i++)
		big[i] = 0x1000 + (uint64_t)i;
	fake_stack(0, US(60), &T1, 11, big, 40, 0);
	drain(m);
	assert_int_equal(hftmon_get_stack(m, 11, big, 40, &flags), 32);
	assert_int_equal(flags, HFTMON_STACK_TRUNCATED);
	assert_true(big[31] == 0x1000 + 31);
	hftmon_close(m);
}

/*
 * Kernel stacks taken at the switch-in (ATTACH kstack_min_ns): the
 * SWITCH_STACK record that follows a switch-in gives that switch its
 * stack; one whose times are not the thread's last switch's gives nothing.
 */
static void test_stack_at_switch_in(void **state)
{
	static const uint64_t k3[] = { 0xffffffff81001000ull,
				       0xffffffff81002000ull };
	const struct fake_switch blk = { .prev_state = 1 };
	struct hftmon_switch_event ev[4] = { [0].sz = sizeof(ev[0]) };
	uint64_t ips[4];
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(10), &T1, NULL, &blk);
	fake_switch(0, US(500), NULL, &T1, NULL);
	fake_stack(0, US(501), &T1, 3, k3, 2, 0);
	fake_switch_stack(0, US(502), &T1, US(10), US(500), 3);
	/* T2: its switch-in's stack names other times: not its switch. */
	fake_switch(1, US(20), &T2, NULL, &blk);
	fake_switch(1, US(600), NULL, &T2, NULL);
	fake_switch_stack(1, US(601), &T2, US(19), US(600), 3);
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 4), 2);
	assert_int_equal(ev[0].tid, T1.tid);
	assert_int_equal(ev[0].kstack_id, 3);
	assert_int_equal(ev[1].tid, T2.tid);
	assert_int_equal(ev[1].kstack_id, 0);
	assert_int_equal(hftmon_get_stack(m, 3, ips, 4, NULL), 2);
	assert_true(ips[1] == k3[1]);
	hftmon_close(m);
}

/* ---- ordering rules ---------------------------------------------------- */

/*
 * Records not older than the drain pass (less the slack) may still be
 * preceded by one in another ring: held until the session stops.
 */
static void test_watermark_holds_recent(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	uint64_t later = fake_now_ns() + 1000000000;
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	assert_int_equal(hftmon_start(m), 0);
	fake_switch(0, later, &T1, NULL, &BLOCK);
	fake_switch(0, later + 1000, NULL, &T1, NULL);
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 2), 0);
	assert_int_equal(hftmon_stop(m), 0);
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 2), 1);
	assert_int_equal(stats(m).aggregator_late, 0);
	hftmon_close(m);
}

/*
 * A record older than what was already processed cannot be ordered any
 * more: it is counted as late and used as it comes.
 */
static void test_late_record_counted(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(50), NULL, &T2, NULL);
	drain(m);
	fake_switch(1, US(10), &T1, NULL, &BLOCK);
	fake_switch(1, US(20), NULL, &T1, NULL);
	drain(m);
	assert_int_equal(stats(m).aggregator_late, 2);
	assert_int_equal(switches(m, 0, 0, ev, 2), 1);
	hftmon_close(m);
}

/* ---- the aggregator directly (agg.h) ------------------------------------ */

static struct hftmon_rec_switch rec_sw(uint16_t cpu, uint64_t t, int32_t prev,
				       int32_t next, uint32_t prev_state)
{
	struct hftmon_rec_switch r;

	memset(&r, 0, sizeof(r));
	r.hdr.type = HFTMON_REC_SWITCH;
	r.hdr.size = sizeof(r);
	r.hdr.cpu = cpu;
	r.hdr.time_ns = t;
	r.hdr.pid = prev ? 7 : 0;
	r.hdr.tid = prev;
	r.next_pid = next ? 7 : 0;
	r.next_tid = next;
	r.prev_state = prev_state;
	if (prev)
		r.hdr.flags |= HFTMON_SWITCH_PREV_TRACKED;
	if (next)
		r.hdr.flags |= HFTMON_SWITCH_NEXT_TRACKED;
	if (prev_state)
		r.hdr.flags |= HFTMON_SWITCH_VOLUNTARY;
	return r;
}

static void feed(struct hftmon_agg *a, unsigned int ring,
		 const struct hftmon_rec_switch *r)
{
	hftmon_agg_record(a, ring, &r->hdr);
}

static void end_pass(struct hftmon_agg *a)
{
	unsigned int i;

	for (i = 0; i < a->nr_rings; i++)
		hftmon_agg_ring_done(a, i, true, 0, true);
	hftmon_agg_flush(a);
}

/*
 * Dead threads leave the table (linear probing with backward-shift
 * deletion): the survivors' pending switch-outs must still be found.
 */
static void test_thread_table_delete(void **state)
{
	struct hftmon_agg *a = calloc(1, sizeof(*a));
	struct hftmon_rec_switch r;
	uint64_t t = 1000;
	int32_t k;

	(void)state;
	assert_non_null(a);
	assert_int_equal(agg_init(a, 1, 64, 64, 64), 0);
	/*
	 * Threads whose tids all hash to one slot (multiples of the table
	 * size): one long cluster, so every delete shifts entries back;
	 * then 1000 ordinary ones.
	 */
#define TID(k) ((k) <= 1000 ? (k) * (int32_t)(2 * HFTMON_DEFAULT_MAX_THREADS) : (k))
	for (k = 1; k <= 2000; k++) {
		r = rec_sw(0, t++, TID(k), 0, 1);
		feed(a, 0, &r);
		end_pass(a);
	}
	assert_int_equal(a->nr_threads, 2000);
	/* Every even one exits: its last switch has TASK_DEAD. */
	for (k = 2; k <= 2000; k += 2) {
		r = rec_sw(0, t++, 0, TID(k), 0);
		feed(a, 0, &r);
		r = rec_sw(0, t++, TID(k), 0, 0x80);
		feed(a, 0, &r);
		end_pass(a);
	}
	assert_int_equal(a->nr_threads, 1000);
	assert_int_equal(a->st.switches_completed, 1000);
	/* The odd ones come back in: each finds its switch-out. */
	for (k = 1; k <= 2000; k += 2) {
		r = rec_sw(0, t++, 0, TID(k), 0);
		feed(a, 0, &r);
		end_pass(a);
	}
#undef TID
	assert_int_equal(a->st.switches_completed, 2000);
	assert_int_equal(a->st.unpaired, 0);
	hftmon_agg_fini(a);
	free(a);
}

static void test_thread_table_full(void **state)
{
	struct hftmon_agg *a = calloc(1, sizeof(*a));
	struct hftmon_rec_switch r;
	int32_t tid;

	(void)state;
	assert_non_null(a);
	assert_int_equal(agg_init(a, 1, 16, 16, 0), 0);
	for (tid = 1; tid <= (int32_t)HFTMON_DEFAULT_MAX_THREADS + 10; tid++) {
		r = rec_sw(0, 1000 + (uint64_t)tid, tid, 0, 1);
		feed(a, 0, &r);
	}
	end_pass(a);
	assert_int_equal(a->nr_threads, HFTMON_DEFAULT_MAX_THREADS);
	assert_int_equal(a->st.dropped, 10);
	hftmon_agg_fini(a);
	free(a);
}

/*
 * A reorder pool smaller than a pass: the oldest pending record is
 * processed early to make room. In time order here, nothing is late.
 */
static void test_reorder_pool_full(void **state)
{
	struct hftmon_agg *a = calloc(1, sizeof(*a));
	struct hftmon_rec_switch r;
	int i;

	(void)state;
	assert_non_null(a);
	assert_int_equal(agg_init(a, 2, 16, 16, 3), 0);
	for (i = 0; i < 5; i++) {
		r = rec_sw(0, 100 + 10 * (uint64_t)i, 1, 0, 1);
		feed(a, 0, &r);
		r = rec_sw(1, 105 + 10 * (uint64_t)i, 0, 1, 0);
		feed(a, 1, &r);
	}
	assert_true(a->st.switches_completed >= 3);
	end_pass(a);
	assert_int_equal(a->st.switches_completed, 5);
	assert_int_equal(a->switches[4].off_cpu_ns, 5);
	assert_int_equal(a->st.late, 0);
	hftmon_agg_fini(a);
	free(a);
}

/* A ring read only in part bounds the merge with its last record. */
static void test_partial_ring_bounds(void **state)
{
	struct hftmon_agg *a = calloc(1, sizeof(*a));
	struct hftmon_rec_switch r;

	(void)state;
	assert_non_null(a);
	assert_int_equal(agg_init(a, 2, 16, 16, 0), 0);
	r = rec_sw(1, 200, 0, 1, 0); /* in@200 on ring 1 */
	feed(a, 1, &r);
	r = rec_sw(0, 100, 1, 0, 1); /* out@100 on ring 0, read in part */
	feed(a, 0, &r);
	hftmon_agg_ring_done(a, 0, false, 0, true);
	hftmon_agg_ring_done(a, 1, true, 0, true);
	hftmon_agg_flush(a);
	/* Ring 0 may still hold something before 200: in@200 waits. */
	assert_int_equal(a->st.switches_completed, 0);
	r = rec_sw(0, 150, 0, 1, 0); /* it did: in@150, then out@160 */
	feed(a, 0, &r);
	r = rec_sw(0, 160, 1, 0, 1);
	feed(a, 0, &r);
	end_pass(a);
	assert_int_equal(a->st.switches_completed, 2);
	assert_int_equal(a->switches[0].off_cpu_ns, 50);
	assert_int_equal(a->switches[1].off_cpu_ns, 40);
	hftmon_agg_fini(a);
	free(a);
}

/*
 * Brute-force nearest rank over the samples themselves: the smallest
 * sample x with #{y <= x} >= p/100 * n, for p = k/10 %, in integers.
 */
static uint64_t brute_percentile(const uint64_t *v, size_t n, unsigned int k)
{
	uint64_t best = UINT64_MAX;
	size_t i, j;

	for (i = 0; i < n; i++) {
		size_t at_or_below = 0;

		for (j = 0; j < n; j++)
			at_or_below += v[j] <= v[i];
		if ((uint64_t)at_or_below * 1000 >= (uint64_t)k * n &&
		    v[i] < best)
			best = v[i];
	}
	return best;
}

/*
 * Random wake-up latencies of two threads, duplicates included, through
 * the rings, the aggregator and the query (which reads its history in
 * batches of HFTMON_QUERY_BATCH): every percentile asked equals the
 * brute-force nearest rank over the generated samples of the thread
 * queried, and the count, min, max, mean and population deviation match.
 */
static void test_latency_matches_brute_force(void **state)
{
	enum { MAX_N = 6000, NR_PCT = 24 };
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .ring_pages = 64,
					   .history_wakeups = 1u << 14 };
	static uint64_t mine[MAX_N];
	double pct[NR_PCT], out[NR_PCT];
	unsigned int kpct[NR_PCT];
	struct hftmon_latency lat;
	unsigned int round, seed = 12345;
	struct hftmon *m = NULL;

	(void)state;
	for (round = 0; round < 6; round++) {
		size_t total = round == 5 ? (size_t)MAX_N :
					    1 + (size_t)(rand_r(&seed) % 300);
		size_t n = 0, i;
		uint64_t t = US(10), sum = 0;
		double mean, var = 0;

		assert_int_equal(hftmon_open(&o, &m), 0);
		assert_int_equal(hftmon_configure(m, &c), 0);
		for (i = 0; i < total; i++) {
			const struct fake_task *who =
				rand_r(&seed) % 3 ? &T1 : &T2;
			/* Few distinct values, so ranks fall on duplicates. */
			uint64_t l = round % 2 ?
					     1000 * (1 + (uint64_t)rand_r(&seed) % 20) :
					     1 + (uint64_t)rand_r(&seed) % 5000000;

			assert_true(fake_switch(0, t, who, NULL, &BLOCK));
			assert_true(fake_wakeup(1, t + 1000, who, NULL, 0));
			assert_true(fake_switch(0, t + 1000 + l, NULL, who,
						NULL));
			t += 1000 + l + 1000;
			if (who == &T1) {
				mine[n++] = l;
				sum += l;
			}
			if (i % 500 == 499)
				drain(m);
		}
		drain(m);

		for (i = 0; i < NR_PCT; i++) {
			kpct[i] = 1 + (unsigned int)rand_r(&seed) % 1000;
			pct[i] = kpct[i] / 10.0;
		}
		kpct[0] = 1000;
		pct[0] = 100;
		if (!n) {
			assert_int_equal(latency(m, 100, T1.tid, 0, pct, out,
						 NR_PCT, &lat),
					 -ENODATA);
			hftmon_close(m);
			continue;
		}
		assert_int_equal(latency(m, 100, T1.tid, 0, pct, out, NR_PCT,
					 &lat),
				 0);
		assert_int_equal(lat.count, n);
		assert_int_equal(lat.missed, 0);
		for (i = 0; i < NR_PCT; i++)
			assert_true(out[i] ==
				    brute_percentile(mine, n, kpct[i]) / 1000.0);
		assert_true(lat.p50_us == brute_percentile(mine, n, 500) / 1000.0);
		assert_true(lat.p90_us == brute_percentile(mine, n, 900) / 1000.0);
		assert_true(lat.p99_us == brute_percentile(mine, n, 990) / 1000.0);
		assert_true(lat.p999_us ==
			    brute_percentile(mine, n, 999) / 1000.0);
		mean = (double)sum / (double)n;
		for (i = 0; i < n; i++)
			var += ((double)mine[i] - mean) * ((double)mine[i] - mean);
		var /= (double)n;
		assert_true(fabs(lat.mean_us - mean / 1000.0) <= 1e-9 * mean);
		assert_true(fabs(lat.stddev_us * lat.stddev_us * 1e6 - var) <=
			    1e-6 * (var + 1));
		{
			uint64_t lo = UINT64_MAX, hi = 0;

			for (i = 0; i < n; i++) {
				lo = mine[i] < lo ? mine[i] : lo;
				hi = mine[i] > hi ? mine[i] : hi;
			}
			assert_true(lat.min_us == lo / 1000.0);
			assert_true(lat.max_us == hi / 1000.0);
		}
		hftmon_close(m);
	}
}

/* ---- rules found by mutation (tests/mutate/mutants.txt) --------------- */

/*
 * Woken twice before it runs: the latency runs from the first wake-up
 * (by T2 at 20 us), not the second (T3 at 30 us). By hand: in at 50 ->
 * latency 30 us, waker 102.
 */
static void test_second_wakeup_keeps_first(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(10), &T1, NULL, &BLOCK);
	fake_wakeup(1, US(20), &T1, &T2, 0);
	fake_wakeup(1, US(30), &T1, &T3, 0);
	fake_switch(0, US(50), NULL, &T1, NULL);
	drain(m);
	assert_int_equal(switches(m, 0, 101, ev, 2), 1);
	assert_int_equal(ev[0].wakeup_ns, US(20));
	assert_int_equal(ev[0].waker_tid, 102);
	assert_int_equal(latency(m, 0, 101, 0, NULL, NULL, 0, &lat), 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.min_us == 30.0);
	hftmon_close(m);
}

/*
 * Woken while its state was unknown, then switched out (its switch-in
 * was lost, so it ran in between): that wake-up ended unseen and must not
 * pair with the next switch-in (it would give a 40 us latency).
 */
static void test_wakeup_before_lost_switch_in(void **state)
{
	struct hftmon_latency lat;
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_wakeup(1, US(10), &T1, &T2, 0);
	fake_switch(0, US(20), &T1, &KW, &PREEMPT);
	fake_switch(0, US(50), &KW, &T1, &BLOCK);
	drain(m);
	assert_int_equal(latency(m, 0, 101, 0, NULL, NULL, 0, &lat), -ENODATA);
	hftmon_close(m);
}

/*
 * Preempted while it was setting itself to sleep (prev_state non-zero,
 * the kernel's preempt flag set): involuntary, whatever the state says.
 */
static void test_preempted_with_sleep_state(void **state)
{
	const struct fake_switch preempt_sleeping = { .prev_state = 1,
						      .preempt = true };
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_cfg(0, 0);

	(void)state;
	fake_switch(0, US(10), &T1, &KW, &preempt_sleeping);
	fake_switch(0, US(30), &KW, &T1, &BLOCK);
	drain(m);
	assert_int_equal(switches(m, 0, 101, ev, 2), 1);
	assert_false(ev[0].voluntary);
	assert_int_equal(ev[0].prev_state, 1);
	hftmon_close(m);
}

/*
 * After a stop every ring was unbounded; a new session must hold recent
 * records back again, exactly as the first one did.
 */
static void test_restart_holds_recent_again(void **state)
{
	struct hftmon_switch_event ev[2] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_cfg(0, 0);
	uint64_t later;

	(void)state;
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(hftmon_stop(m), 0);
	drain(m); /* quiescent: every ring unbounded */
	assert_int_equal(hftmon_start(m), 0);
	later = fake_now_ns() + 1000000000;
	fake_switch(0, later, &T1, NULL, &BLOCK);
	fake_switch(0, later + 1000, NULL, &T1, NULL);
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 2), 0);
	assert_int_equal(hftmon_stop(m), 0);
	drain(m);
	assert_int_equal(switches(m, 0, 0, ev, 2), 1);
	hftmon_close(m);
}

/*
 * The slack: ring 0 was read up to its head at pass time P, ring 1 too.
 * A record of ring 0 stamped 1 us before P may still be preceded by one
 * ring 1 commits late (stamped before it, within HFTMON_AGG_REORDER_NS):
 * it waits. Here ring 1 does deliver the switch-out (P - 1.5 us) of the
 * switch-in at P - 1 us: paired, 500 ns off CPU, nothing late.
 */
static void test_reorder_slack(void **state)
{
	struct hftmon_agg *a = calloc(1, sizeof(*a));
	const uint64_t P = 10000000000ull;
	struct hftmon_rec_switch r;

	(void)state;
	assert_non_null(a);
	assert_int_equal(agg_init(a, 2, 16, 16, 0), 0);
	r = rec_sw(0, P - 1000, 0, 1, 0); /* in@P-1us on ring 0 */
	feed(a, 0, &r);
	hftmon_agg_ring_done(a, 0, true, P, false);
	hftmon_agg_ring_done(a, 1, true, P, false);
	hftmon_agg_flush(a);
	assert_int_equal(a->done_ns, 0); /* held: nothing processed */
	r = rec_sw(1, P - 1500, 1, 0, 1); /* its out, committed late */
	feed(a, 1, &r);
	end_pass(a);
	assert_int_equal(a->st.switches_completed, 1);
	assert_int_equal(a->switches[0].off_cpu_ns, 500);
	assert_int_equal(a->st.late, 0);
	hftmon_agg_fini(a);
	free(a);
}

/*
 * A record at the same instant as the last one processed is not late:
 * same-time records of two rings are ordered by ring, which the merge
 * did.
 */
static void test_same_time_is_not_late(void **state)
{
	struct hftmon_agg *a = calloc(1, sizeof(*a));
	struct hftmon_rec_switch r;

	(void)state;
	assert_non_null(a);
	assert_int_equal(agg_init(a, 2, 16, 16, 0), 0);
	r = rec_sw(0, 100, 1, 0, 1);
	feed(a, 0, &r);
	end_pass(a);
	r = rec_sw(1, 100, 2, 0, 1);
	feed(a, 1, &r);
	end_pass(a);
	assert_int_equal(a->st.late, 0);
	hftmon_agg_fini(a);
	free(a);
}

/* Two switch-outs in a row: the switch-in between was lost, counted. */
static void test_unpaired_counted(void **state)
{
	struct hftmon_agg *a = calloc(1, sizeof(*a));
	struct hftmon_rec_switch r;

	(void)state;
	assert_non_null(a);
	assert_int_equal(agg_init(a, 1, 16, 16, 0), 0);
	r = rec_sw(0, 100, 1, 0, 1);
	feed(a, 0, &r);
	r = rec_sw(0, 200, 1, 0, 1);
	feed(a, 0, &r);
	end_pass(a);
	assert_int_equal(a->st.unpaired, 1);
	/* And a switch-in of a thread already on CPU: its out was lost. */
	r = rec_sw(0, 300, 0, 1, 0);
	feed(a, 0, &r);
	r = rec_sw(0, 400, 0, 1, 0);
	feed(a, 0, &r);
	end_pass(a);
	assert_int_equal(a->st.unpaired, 2);
	assert_int_equal(a->st.switches_completed, 1);
	hftmon_agg_fini(a);
	free(a);
}

static void test_queries_need_configure(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_switch_event ev[1] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency lat;
	struct hftmon *m = NULL;
	uint64_t ips[1];

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(switches(m, 0, 0, ev, 1), -EINVAL);
	assert_int_equal(hftmon_get_stack(m, 1, ips, 1, NULL), -EINVAL);
	assert_int_equal(latency(m, 0, 0, 0, NULL, NULL, 0,
						   &lat),
			 -EINVAL);
	assert_int_equal(hftmon_get_context_switches(NULL, NULL, ev, 1),
			 -EINVAL);
	assert_int_equal(hftmon_get_stack(NULL, 1, ips, 1, NULL), -EINVAL);
	assert_int_equal(latency(NULL, 0, 0, 0, NULL, NULL,
						   0, &lat),
			 -EINVAL);
	hftmon_close(m);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_setup2, fake_teardown2)
	const struct CMUnitTest tests[] = {
		T(test_pair_in_order),
		T(test_pair_out_of_order_two_rings),
		T(test_pair_two_threads_cross),
		T(test_preempted_without_wakeup),
		T(test_wakeup_while_running),
		T(test_first_event_wakeup),
		T(test_migration),
		T(test_read_records_pairs),
		T(test_filters),
		T(test_wakeup_latency_window_and_percentiles),
		T(test_history_overwrite),
		T(test_stack_table),
		T(test_stack_at_switch_in),
		T(test_watermark_holds_recent),
		T(test_late_record_counted),
		T(test_thread_table_delete),
		T(test_thread_table_full),
		T(test_reorder_pool_full),
		T(test_partial_ring_bounds),
		T(test_latency_matches_brute_force),
		T(test_queries_need_configure),
		T(test_second_wakeup_keeps_first),
		T(test_wakeup_before_lost_switch_in),
		T(test_preempted_with_sleep_state),
		T(test_restart_holds_recent_again),
		T(test_reorder_slack),
		T(test_same_time_is_not_late),
		T(test_unpaired_counted),
	};
#undef T

	return cmocka_run_group_tests_name("agg", tests, NULL, NULL);
}
