// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The query windows at their boundary, on a clock this test sets: a
 * window of W us kept "what ended within the last W us before the call",
 * so with CLOCK_MONOTONIC at NOW an entry that ended at exactly
 * NOW - W us is in, one that ended a nanosecond earlier is out. Expected
 * values are that definition worked by hand; the clock is this program's
 * own clock_gettime(), which the library's objects (linked statically
 * into it) call instead of libc's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_queries.h"
#include "fake_records.h"
#include "fake_sys.h"
#include "hftmon.h"

/* CLOCK_MONOTONIC as this test sets it; 0: the real one. */
static uint64_t fake_mono_ns;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (id == CLOCK_MONOTONIC && fake_mono_ns) {
		ts->tv_sec = (time_t)(fake_mono_ns / 1000000000u);
		ts->tv_nsec = (long)(fake_mono_ns % 1000000000u);
		return 0;
	}
	return (int)syscall(SYS_clock_gettime, id, ts);
}

#define NOW 100000000000ull /* 100 s */
#define WINDOW_US 1000ull
#define SINCE (NOW - WINDOW_US * 1000) /* the window's first instant */

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "in",
				     .prio = 120, .tracked = true };
static const struct fake_task T2 = { .pid = 100, .tid = 102, .comm = "out",
				     .prio = 120, .tracked = true };

static int setup(void **state)
{
	(void)state;
	fake_setup(2);
	fake_mono_ns = NOW;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_mono_ns = 0;
	return fake_teardown_checked();
}

static struct hftmon *open_drained(void)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, NULL), 0);
	return m;
}

/* Drained into m: T2 switched in 1 ns before SINCE, T1 at SINCE. */
static void two_switches_at_since(struct hftmon *m)
{
	assert_true(fake_switch(0, SINCE - 3000, &T2, NULL, &BLOCK));
	assert_true(fake_switch(0, SINCE - 1, NULL, &T2, NULL));
	assert_true(fake_switch(1, SINCE - 2000, &T1, NULL, &BLOCK));
	assert_true(fake_switch(1, SINCE, NULL, &T1, NULL));
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);
}

/* T2 switched in 1 ns before the window, T1 at its first instant. */
static void test_switch_window_boundary(void **state)
{
	struct hftmon_switch_query q = { .sz = sizeof(q),
					 .window_us = WINDOW_US };
	struct hftmon_switch_event ev[4] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_drained();

	(void)state;
	two_switches_at_since(m);

	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), 1);
	assert_int_equal(ev[0].tid, 101);
	assert_int_equal(ev[0].in_ns, SINCE);
	q.window_us = 0; /* everything */
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), 2);
	q.window_us = WINDOW_US + 1; /* 1 us more: T2 too */
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), 2);
	hftmon_close(m);
}

/* A window fixed in time: [since_ns, until_ns) of the switch-ins. */
static void test_switch_fixed_window(void **state)
{
	struct hftmon_switch_query q = { .sz = sizeof(q),
					 .since_ns = SINCE - 1,
					 .until_ns = SINCE };
	struct hftmon_switch_event ev[4] = { [0].sz = sizeof(ev[0]) };
	struct hftmon *m = open_drained();

	(void)state;
	two_switches_at_since(m);

	/* [SINCE - 1, SINCE): T2's only; T1's at SINCE is the next one's. */
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), 1);
	assert_int_equal(ev[0].tid, 102);
	q.since_ns = SINCE;
	q.until_ns = SINCE + 1;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), 1);
	assert_int_equal(ev[0].tid, 101);
	q.until_ns = 0; /* no end */
	q.since_ns = SINCE - 1;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), 2);
	q.window_us = WINDOW_US;
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), -EINVAL);
	q.window_us = 0;
	q.until_ns = SINCE - 1; /* empty: until <= since */
	assert_int_equal(hftmon_get_context_switches(m, &q, ev, 4), -EINVAL);
	hftmon_close(m);
}

/* The same for wake-ups: T1's latency 2 us ends at SINCE, T2's 1 ns before. */
/*
 * Two wake-ups drained into m: T2's of 4 us ending at SINCE - 1, just
 * before the window's edge, and T1's of 2 us ending at SINCE, on it.
 */
static void two_wakeups_at_since(struct hftmon *m)
{
	assert_true(fake_switch(0, SINCE - 5000, &T2, NULL, &BLOCK));
	assert_true(fake_wakeup(1, SINCE - 4001, &T2, NULL, 0));
	assert_true(fake_switch(0, SINCE - 1, NULL, &T2, NULL));
	assert_true(fake_switch(1, SINCE - 3000, &T1, NULL, &BLOCK));
	assert_true(fake_wakeup(0, SINCE - 2000, &T1, NULL, 1));
	assert_true(fake_switch(1, SINCE, NULL, &T1, NULL));
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);
}

static void test_wakeup_window_boundary(void **state)
{
	struct hftmon_latency_query q = { .sz = sizeof(q),
					  .window_us = WINDOW_US };
	struct hftmon_latency lat = { .sz = sizeof(lat) };
	struct hftmon *m = open_drained();

	(void)state;
	two_wakeups_at_since(m);

	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &lat), 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.min_us == 2.0 && lat.max_us == 2.0);
	q.window_us = 0;
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &lat), 0);
	assert_int_equal(lat.count, 2);
	assert_true(lat.max_us == 4.0);
	hftmon_close(m);
}

/*
 * since_ns/until_ns: a window fixed in time keeps a sample that ended at
 * since_ns and drops one that ended at until_ns (half open), whenever it
 * is asked; mixed with window_us, or empty, it is refused.
 */
static void test_wakeup_fixed_window(void **state)
{
	struct hftmon_latency_query q = { .sz = sizeof(q),
					  .since_ns = SINCE - 1,
					  .until_ns = SINCE };
	struct hftmon_latency lat = { .sz = sizeof(lat) };
	struct hftmon *m = open_drained();

	(void)state;
	two_wakeups_at_since(m);

	/* [SINCE - 1, SINCE): T2's, which ended at SINCE - 1, only. */
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &lat), 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.max_us > 3.99 && lat.max_us < 4.01);
	/* [SINCE, open): T1's only. */
	q.since_ns = SINCE;
	q.until_ns = 0;
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &lat), 0);
	assert_int_equal(lat.count, 1);
	assert_true(lat.max_us == 2.0);
	q.window_us = WINDOW_US;
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &lat), -EINVAL);
	q.window_us = 0;
	q.until_ns = SINCE;
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &lat), -EINVAL);
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_switch_window_boundary,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch_fixed_window,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_window_boundary,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_fixed_window,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
