// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Latency spikes from synthetic HFTMON_REC_SPIKE records (the kernel's
 * producer of them is not merged here yet): hftmon_detect_latency_spikes()
 * (an EXTENDS record replaces the one it extends; filters, window;
 * cause analysis = hftmon_explain() of each spike, its parts summing to
 * the spike, truncated by max_parts), hftmon_wait_spike() without the
 * drain thread (it polls and drains itself) and with it (woken by the
 * thread's pass), each spike once and in order, an extended one again,
 * the timeout; the errors.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_records.h"
#include "fake_sys.h"
#include "hftmon.h"

#define T0 2000000ull

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "md",
				     .prio = 120, .tracked = true };
static const struct fake_task T2 = { .pid = 200, .tid = 201, .comm = "gw",
				     .prio = 120, .tracked = true };
static const struct fake_task KW = { .pid = 55, .tid = 55, .comm = "kworker",
				     .prio = 100, .policy = 1 };
static const struct fake_switch PREEMPT = { .preempt = true };

static struct hftmon *open_spikes(uint64_t spike_us, bool thread)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = {
		.sz = sizeof(c),
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL,
		.ring_pages = 16,
		.spike_threshold_us = spike_us,
		.drain_thread = thread,
	};
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	return m;
}

static void spike(unsigned int cpu, const struct fake_task *v, __u32 type,
		  __u32 flags, uint64_t start, uint64_t end, __u32 links)
{
	struct fake_spike s = { .type = type, .flags = flags, .start = start,
				.end = end, .threshold = 5000, .links = links,
				.from_cpu = cpu, .idle_state = -1, .victim = v };

	assert_true(fake_spike(cpu, &s));
}

/* T1 interrupted twice in a chain on CPU 0; T2 preempted on CPU 1. */
static void scenario(void)
{
	struct fake_irq loc = { .kind = HFTMON_IRQ_KIND_VECTOR, .nr = 0xec,
				.start = T0 + 10000, .end = T0 + 60000,
				.victim = &T1 };
	struct fake_irq soft = { .kind = HFTMON_IRQ_KIND_SOFTIRQ, .nr = 1,
				 .start = T0 + 61000, .end = T0 + 90000,
				 .victim = &T1 };

	assert_true(fake_switch(0, T0, NULL, &T1, NULL));
	assert_true(fake_irq(0, &loc));
	spike(0, &T1, HFTMON_SPIKE_INTERRUPTED, 0, T0 + 10000, T0 + 60000, 1);
	assert_true(fake_irq(0, &soft));
	spike(0, &T1, HFTMON_SPIKE_INTERRUPTED, HFTMON_SPIKE_EXTENDS,
	      T0 + 10000, T0 + 90000, 2);
	assert_true(fake_switch(1, T0, NULL, &T2, NULL));
	assert_true(fake_switch(1, T0 + 20000, &T2, &KW, &PREEMPT));
	assert_true(fake_switch(1, T0 + 70000, &KW, &T2, NULL));
	spike(1, &T2, HFTMON_SPIKE_RUNNABLE, 0, T0 + 20000, T0 + 70000, 0);
}

static void test_detect_extends_and_causes(void **state)
{
	struct hftmon_part parts[8] = { [0].sz = sizeof(parts[0]) };
	struct hftmon_spike out[4] = { [0].sz = sizeof(out[0]) };
	struct hftmon_spike_query q = { .sz = sizeof(q), .cause_analysis = true,
					.parts = parts, .max_parts = 8 };
	struct hftmon *m = open_spikes(5, false);
	uint64_t sum = 0;
	size_t i;

	(void)state;
	scenario();
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);

	/* Oldest first; the first link of T1's chain replaced by its extension. */
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), 2);
	assert_int_equal(out[0].tid, 201);
	assert_int_equal(out[0].type, HFTMON_SPIKE_RUNNABLE);
	assert_int_equal(out[0].cpu, 1);
	assert_int_equal(out[0].duration_ns, 50000);
	assert_int_equal(out[0].first_part, 0);
	assert_int_equal(out[0].nr_parts, 1);
	assert_int_equal(parts[0].kind, HFTMON_PART_TASK);
	assert_int_equal(parts[0].tid, 55);
	assert_int_equal(parts[0].ns, 50000);
	assert_int_equal(out[1].tid, 101);
	assert_int_equal(out[1].type, HFTMON_SPIKE_INTERRUPTED);
	assert_int_equal(out[1].start_ns, T0 + 10000);
	assert_int_equal(out[1].end_ns, T0 + 90000);
	assert_int_equal(out[1].links, 2);
	assert_int_equal(out[1].threshold_ns, 5000);
	assert_int_equal(out[1].flags, 0); /* the EXTENDS it was is internal here */
	assert_int_equal(out[1].first_part, 1);
	assert_int_equal(out[1].nr_parts, 3);
	assert_int_equal(parts[1].kind, HFTMON_PART_VECTOR);
	assert_string_equal(parts[1].name, "LOC");
	assert_int_equal(parts[2].kind, HFTMON_PART_RUN);
	assert_int_equal(parts[3].kind, HFTMON_PART_SOFTIRQ);
	for (i = 1; i < 4; i++)
		sum += parts[i].ns;
	assert_int_equal(sum, out[1].duration_ns);

	/* Room for 2 parts: T2's one, then only the first of T1's. */
	q.max_parts = 2;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), 2);
	assert_int_equal(out[1].first_part, 1);
	assert_int_equal(out[1].nr_parts, 1);
	/* Filters: victim, duration; no analysis asked: no parts. */
	q.cause_analysis = false;
	q.tid = 101;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), 1);
	assert_int_equal(out[0].nr_parts, 0);
	q.tid = 0;
	q.pid = 200;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), 1);
	assert_int_equal(out[0].tid, 201);
	q.pid = 0;
	q.min_duration_us = 51;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), 1);
	assert_int_equal(out[0].tid, 101);
	q.min_duration_us = 0;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, NULL, 0), 2);
	/* A window of 1 us: both ended long ago. */
	q.window_us = 1;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), 0);
	q.window_us = 0;

	/* Errors. */
	q.tid = -1;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), -EINVAL);
	q.tid = 0;
	q.cause_analysis = true;
	q.parts = NULL;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4), -EINVAL);
	assert_int_equal(hftmon_detect_latency_spikes(NULL, &q, out, 4), -EINVAL);
	hftmon_close(m);

	/* Configured without spikes. */
	m = open_spikes(0, false);
	q.cause_analysis = false;
	assert_int_equal(hftmon_detect_latency_spikes(m, &q, out, 4),
			 -EOPNOTSUPP);
	hftmon_close(m);
}

struct writer {
	uint64_t end; /* the spike's end */
	__u32 flags;
	uint64_t start;
};

/* Another thread writes a spike (the kernel, as seen from userspace). */
static void *write_spike(void *arg)
{
	const struct writer *w = arg;
	struct timespec ts = { .tv_nsec = 20000000 };

	nanosleep(&ts, NULL);
	spike(0, &T1, HFTMON_SPIKE_INTERRUPTED, w->flags, w->start, w->end, 1);
	return NULL;
}

/*
 * forever: the waits that must return wait with no timeout, so a wake-up
 * that never comes hangs the test (main's alarm ends it) instead of
 * passing late.
 */
static void wait_cases(struct hftmon *m)
{
	struct hftmon_spike_query q = { .sz = sizeof(q) };
	struct hftmon_spike s = { .sz = sizeof(s) };
	uint64_t now = fake_now_ns(), since = 0;
	struct writer w = { .end = now - 10000000, .start = now - 10100000 };
	pthread_t th;

	/* One already there: at once, since advanced to its end. */
	spike(0, &T1, HFTMON_SPIKE_INTERRUPTED, 0, now - 30100000,
	      now - 30000000, 1);
	assert_int_equal(hftmon_wait_spike(m, &q, &since, -1, &s), 1);
	assert_int_equal(s.end_ns, now - 30000000);
	assert_int_equal(since, now - 30000000);
	/* Nothing newer: the timeout. */
	assert_int_equal(hftmon_wait_spike(m, &q, &since, 30, &s), 0);
	/* One written while it waits. */
	assert_int_equal(pthread_create(&th, NULL, write_spike, &w), 0);
	assert_int_equal(hftmon_wait_spike(m, &q, &since, -1, &s), 1);
	pthread_join(th, NULL);
	assert_int_equal(s.end_ns, now - 10000000);
	assert_int_equal(since, now - 10000000);
	/* Its chain extended: it comes again, with EXTENDS and its new end. */
	w.end = now - 9000000;
	w.flags = HFTMON_SPIKE_EXTENDS;
	assert_int_equal(pthread_create(&th, NULL, write_spike, &w), 0);
	assert_int_equal(hftmon_wait_spike(m, &q, &since, -1, &s), 1);
	pthread_join(th, NULL);
	assert_int_equal(s.end_ns, now - 9000000);
	assert_int_equal(s.start_ns, now - 10100000);
	assert_true(s.flags & HFTMON_SPIKE_EXTENDS);
	/* Another victim's spike does not wake a query for T2. */
	q.tid = 201;
	assert_int_equal(hftmon_wait_spike(m, &q, &since, 30, &s), 0);
	/* Errors. */
	assert_int_equal(hftmon_wait_spike(m, &q, NULL, 0, &s), -EINVAL);
	assert_int_equal(hftmon_wait_spike(m, &q, &since, 0, NULL), -EINVAL);
}

static void test_wait_without_thread(void **state)
{
	struct hftmon *m = open_spikes(5, false);

	(void)state;
	assert_int_equal(hftmon_start(m), 0);
	wait_cases(m);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

static void test_wait_with_thread(void **state)
{
	struct hftmon *m = open_spikes(5, true);

	(void)state;
	assert_int_equal(hftmon_start(m), 0);
	wait_cases(m);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_detect_extends_and_causes,
						fake_setup2, fake_teardown2),
		cmocka_unit_test_setup_teardown(test_wait_without_thread, fake_setup2,
						fake_teardown2),
		cmocka_unit_test_setup_teardown(test_wait_with_thread, fake_setup2,
						fake_teardown2),
	};

	/* A wait that is never woken fails the program rather than hang it. */
	alarm(120);
	return cmocka_run_group_tests_name("spike", tests, NULL, NULL);
}
