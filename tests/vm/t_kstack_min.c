// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel stacks only for long switches (attach kernel_stacks_min_us: the
 * module unwinds a thread's stack when it is switched back in, and only
 * when it was off CPU at least that long), against a thread whose sleeps
 * the test chooses: 20 short ones (200 us) and 10 long ones (40 ms),
 * interleaved, with a 10 ms minimum.
 *
 * 1. The module offers it (HFTMON_FEAT_KSTACK_MIN; x86).
 * 2. Every completed switch of the thread of 10 ms or more has a kernel
 *    stack; every shorter one has none (the module decides with the
 *    records' own times, so this is exact); at least the 10 long sleeps
 *    are among them; nothing was lost (no NO_SPACE).
 * 3. Each such stack begins in __schedule() and runs through
 *    do_nanosleep() (our own /proc/kallsyms lookup).
 * 4. It is the stack the same sleep has when taken at switch-out (a
 *    second session, no minimum): the same frames from do_nanosleep()'s
 *    down to the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

#define MIN_US		10000
#define SHORT_US	200
#define LONG_US		40000
#define SLEEPS		30	/* every third one long */
#define MAX_EVENTS	4096

static struct hftmon_switch_event ev[MAX_EVENTS];

static int ignore(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}
static pid_t sleeper_tid;

static void *sleeper(void *arg)
{
	int i;

	(void)arg;
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	for (i = 0; i < SLEEPS; i++)
		usleep(i % 3 == 2 ? LONG_US : SHORT_US);
	return NULL;
}

/* One session of the sleeper; its switches into ev. Returns how many. */
static int run(uint32_t min_us, struct hftmon **mp)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .ring_pages = 256 };
	struct hftmon_attach_opts ao = { .sz = sizeof(ao),
					 .kernel_stacks = true,
					 .kernel_stacks_min_us = min_us };
	struct hftmon_switch_query q = { .sz = sizeof(q),
					 .include_stack_trace = true };
	struct hftmon *m;
	pthread_t th;
	int n, err;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	err = hftmon_attach_process(m, getpid(), &ao);
	REQUIRE(err == 0, "attach: %s", strerror(-err));
	REQUIRE(hftmon_start(m) == 0, "start");
	REQUIRE(pthread_create(&th, NULL, sleeper, NULL) == 0, "thread");
	pthread_join(th, NULL);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	REQUIRE(hftmon_drain(m, ignore, NULL) >= 0, "drain");
	q.tid = sleeper_tid;
	ev[0].sz = sizeof(ev[0]);
	n = hftmon_get_context_switches(m, &q, ev, MAX_EVENTS);
	REQUIRE(n > 0 && n <= MAX_EVENTS, "%d switches", n);
	*mp = m;
	return n;
}

/* Index of the first frame in [lo, hi), or -1. */
static int frame_in(const uint64_t *ips, int nr, uint64_t lo, uint64_t hi)
{
	int i;

	for (i = 0; i < nr; i++)
		if (ips[i] >= lo && ips[i] < hi)
			return i;
	return -1;
}

int main(void)
{
	uint64_t nlo, nhi, slo, shi, ips[64], ref[64];
	int n, i, k, nr, ref_nr = 0, ref_at = -1, longs = 0, stacked = 0;
	struct hftmon_info info = { .size = sizeof(info) };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct hftmon *m;

	setvbuf(stdout, NULL, _IOLBF, 0);
	REQUIRE(ksym_range("do_nanosleep", &nlo, &nhi) == 0, "no do_nanosleep");
	REQUIRE(ksym_range("__schedule", &slo, &shi) == 0, "no __schedule");
	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_get_info(m, &info) == 0, "info");
	hftmon_close(m);
	/* 1 */
	REQUIRE(info.features & HFTMON_FEAT_KSTACK_MIN,
		"HFTMON_FEAT_KSTACK_MIN not offered (features %#llx)",
		(unsigned long long)info.features);

	/* 4, first: the stack of a long sleep taken at switch-out. */
	n = run(0, &m);
	for (i = 0; i < n && !ref_nr; i++) {
		if (ev[i].off_cpu_ns < MIN_US * 1000ull || !ev[i].kstack_id)
			continue;
		nr = hftmon_get_stack(m, ev[i].kstack_id, ref, 64, NULL);
		ref_at = nr > 0 ? frame_in(ref, nr, nlo, nhi) : -1;
		if (ref_at >= 0)
			ref_nr = nr;
	}
	hftmon_close(m);
	CHECK(ref_nr > 0, "no switch-out stack of a long sleep through do_nanosleep");

	/* 2, 3, 4 */
	n = run(MIN_US, &m);
	for (i = 0; i < n; i++) {
		bool is_long = ev[i].off_cpu_ns >= MIN_US * 1000ull;

		longs += is_long;
		if (!is_long) {
			CHECK(!ev[i].kstack_id, "a %.1f us switch has stack %u",
			      ev[i].off_cpu_ns / 1e3, ev[i].kstack_id);
			continue;
		}
		CHECK(ev[i].kstack_id, "a %.1f us switch has no stack",
		      ev[i].off_cpu_ns / 1e3);
		if (!ev[i].kstack_id)
			continue;
		stacked++;
		nr = hftmon_get_stack(m, ev[i].kstack_id, ips, 64, NULL);
		CHECK(nr > 0, "stack %u: %d", ev[i].kstack_id, nr);
		if (nr <= 0)
			continue;
		CHECK(ips[0] >= slo && ips[0] < shi,
		      "stack %u begins at %#llx, not in __schedule", ev[i].kstack_id,
		      (unsigned long long)ips[0]);
		k = frame_in(ips, nr, nlo, nhi);
		CHECK(k >= 0, "stack %u does not run through do_nanosleep",
		      ev[i].kstack_id);
		if (k < 0 || !ref_nr)
			continue;
		CHECK(nr - k == ref_nr - ref_at &&
		      !memcmp(ips + k, ref + ref_at, (size_t)(nr - k) * sizeof(*ips)),
		      "stack %u: from do_nanosleep on, not the switch-out one (%d vs %d frames)",
		      ev[i].kstack_id, nr - k, ref_nr - ref_at);
	}
	REQUIRE(hftmon_get_stats(m, &sum, NULL, 0) == 0, "stats");
	INFO("%d switches, %d of %d ms or more, %d with a stack taken at switch-in; lost no_space %llu",
	     n, longs, MIN_US / 1000, stacked,
	     (unsigned long long)sum.lost[HFTMON_LOST_NO_SPACE]);
	CHECK(longs >= SLEEPS / 3, "%d long switches for %d long sleeps", longs,
	      SLEEPS / 3);
	CHECK(sum.lost[HFTMON_LOST_NO_SPACE] == 0, "lost (no space) %llu",
	      (unsigned long long)sum.lost[HFTMON_LOST_NO_SPACE]);
	hftmon_close(m);
	return vmtest_result();
}
