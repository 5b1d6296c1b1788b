// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The library's drain thread (hftmon_monitor_config.drain_thread) over
 * the fake device: it drains what the module writes while the caller
 * queries, the caller's own drains get -EBUSY, stop drains what is left
 * and joins it, record_fn sees every record, and start refuses (with
 * -errno, a log line, no thread and no session left running) a CPU the
 * machine does not have (-EINVAL) or a real-time priority the caller may
 * not use (-EPERM), or a START the module refuses.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_queries.h"
#include "fake_records.h"
#include "fake_sys.h"
#include "hftmon.h"

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "feed",
				     .prio = 120, .tracked = true };

static char last_log[512];

static void capture_log(void *ctx, enum hftmon_log_level level, const char *msg)
{
	(void)ctx;
	if (level == HFTMON_LOG_ERROR)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void *nothing(void *arg)
{
	return arg;
}

static int setup(void **state)
{
	pthread_t t;

	(void)state;
	/* A sanitizer may add its own thread at the first pthread_create:
	 * let that happen before anything counts threads. */
	assert_int_equal(pthread_create(&t, NULL, nothing, NULL), 0);
	pthread_join(t, NULL);
	fake_setup(2);
	last_log[0] = '\0';
	return 0;
}

static int nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * The thread count once it settles at want (up to 2 s): a joined
 * thread's /proc/self/task entry can outlive pthread_join() briefly
 * (its tid is cleared, and the joiner woken, before the kernel reaps
 * it), which made "threads == before" fail now and then under load.
 */
static int nr_threads_settled(int want)
{
	int i, n = nr_threads();

	for (i = 0; i < 200 && n != want; i++) {
		usleep(10000);
		n = nr_threads();
	}
	return n;
}

static struct hftmon *open_with(struct hftmon_monitor_config *c)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = FAKE_DEVICE,
				      .log = capture_log };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	c->sz = sizeof(*c);
	c->drain_thread = true;
	if (!c->history_switches)
		c->history_switches = 1024;
	if (!c->history_wakeups)
		c->history_wakeups = 1024;
	assert_int_equal(hftmon_configure(m, c), 0);
	assert_int_equal(hftmon_attach_process(m, 100, NULL), 0);
	return m;
}

static int count_switches(struct hftmon *m)
{
	struct hftmon_switch_query q = { .sz = sizeof(q) };

	return hftmon_get_context_switches(m, &q, NULL, 0);
}

/* Queries until n switches are there, for up to 5 s. */
static void wait_switches(struct hftmon *m, int n)
{
	int i;

	for (i = 0; i < 5000 && count_switches(m) < n; i++)
		usleep(1000);
	assert_int_equal(count_switches(m), n);
}

static void one_switch_at_start(void)
{
	fake_switch(0, US(10), &T1, NULL, &BLOCK);
	fake_wakeup(1, US(15), &T1, NULL, 0);
	fake_switch(1, US(20), NULL, &T1, NULL);
}

static void test_drains_while_caller_queries(void **state)
{
	struct hftmon_monitor_config c = { .drain_interval_us = 500 };
	_Alignas(8) unsigned char buf[256];
	struct hftmon_stats_summary s = { .sz = sizeof(s) };
	struct hftmon_latency lat;
	int before = nr_threads();
	struct hftmon *m;
	int i;

	(void)state;
	fake.on_start = one_switch_at_start;
	m = open_with(&c);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(nr_threads(), before + 1);
	/* The caller may not drain: the thread does. */
	assert_int_equal(hftmon_drain(m, fake_ignore, NULL), -EBUSY);
	assert_non_null(strstr(last_log, "drain thread"));
	assert_int_equal(hftmon_read_records(m, buf, sizeof(buf)), -EBUSY);
	assert_int_equal(hftmon_start(m), -EBUSY);
	wait_switches(m, 1);
	assert_int_equal(latency(m, 100, 0, 0, NULL, NULL, 0,
						   &lat),
			 0);
	assert_true(lat.max_us == 5.0);

	/*
	 * More records while it runs, this thread being the module: stamped
	 * with the clock as they are written, as the probes do (the merge
	 * relies on it), on both CPUs.
	 */
	for (i = 0; i < 50; i++) {
		assert_true(fake_switch(i % 2, fake_now_ns(), &T1, NULL, &BLOCK));
		assert_true(fake_switch(1 - i % 2, fake_now_ns(), NULL, &T1,
					NULL));
		if (i % 10 == 0)
			usleep(2000);
	}
	wait_switches(m, 51);
	assert_int_equal(hftmon_get_stats(m, &s, NULL, 0), 0);
	assert_true(s.running);
	assert_int_equal(s.switches_completed, 51);

	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(nr_threads_settled(before), before);
	assert_int_equal(hftmon_get_stats(m, &s, NULL, 0), 0);
	assert_int_equal(s.delivered, 103);
	assert_false(s.running);
	/* Stopped: draining is the caller's again. */
	assert_int_equal(hftmon_drain(m, fake_ignore, NULL), 0);
	/* And it can start again, with a new thread. */
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(nr_threads(), before + 1);
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(nr_threads_settled(before), before);
	hftmon_close(m);
}

/*
 * Queries over a history longer than a few batches while the drain thread
 * keeps adding to it: each query drops the lock between batches (and
 * steps aside when the drain thread waits for it), so what it counts is
 * still every switch of the window, and ThreadSanitizer sees every
 * history access under the lock.
 */
static void test_query_batches_while_draining(void **state)
{
	enum { WAVES = 7, PER_WAVE = 1000 };
	struct hftmon_monitor_config c = { .drain_interval_us = 200,
					   .ring_pages = 64,
					   .history_switches = 4 * 4096 };
	struct hftmon_stats_summary s = { .sz = sizeof(s) };
	struct hftmon *m;
	int w, i, n;

	(void)state;
	m = open_with(&c);
	assert_int_equal(hftmon_start(m), 0);
	for (w = 1; w <= WAVES; w++) {
		for (i = 0; i < PER_WAVE; i++) {
			assert_true(fake_switch(i % 2, fake_now_ns(), &T1, NULL,
						&BLOCK));
			assert_true(fake_switch(1 - i % 2, fake_now_ns(), NULL,
						&T1, NULL));
			if (i % 100 == 0)
				n = count_switches(m); /* racing the drain */
		}
		wait_switches(m, w * PER_WAVE);
	}
	n = count_switches(m);
	assert_true(n > 4096); /* the query read several batches */
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(hftmon_get_stats(m, &s, NULL, 0), 0);
	assert_int_equal(s.switches_completed, WAVES * PER_WAVE);
	assert_int_equal(s.lost_total, 0);
	hftmon_close(m);
}

/* Records younger than the watermark are flushed by stop's last drain. */
static void test_stop_drains_the_rest(void **state)
{
	struct hftmon_monitor_config c = { 0 };
	struct hftmon *m;
	uint64_t later;

	(void)state;
	m = open_with(&c);
	assert_int_equal(hftmon_start(m), 0);
	later = fake_now_ns() + 1000000000;
	fake_switch(0, later, &T1, NULL, &BLOCK);
	fake_switch(1, later + 50000, NULL, &T1, NULL);
	usleep(20000); /* drained, but held: other rings might precede */
	assert_int_equal(count_switches(m), 0);
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(count_switches(m), 1);
	hftmon_close(m);
}

static atomic_uint seen;

static int count_record(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	assert_int_equal(hftmon_record_check(rec, rec->size), 0);
	atomic_fetch_add(&seen, 1);
	/* Every third record ends the pass: the rest comes next pass. */
	return atomic_load(&seen) % 3 == 0;
}

static void test_record_fn(void **state)
{
	struct hftmon_monitor_config c = { .record_fn = count_record };
	struct hftmon *m;
	int i;

	(void)state;
	atomic_store(&seen, 0);
	m = open_with(&c);
	for (i = 0; i < 20; i++)
		fake_switch(i % 2, US(i), &T1, NULL, &BLOCK);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(atomic_load(&seen), 20);
	hftmon_close(m);
}

/* Closing without stop ends the thread too (ASan: nothing leaks). */
static void test_close_running(void **state)
{
	struct hftmon_monitor_config c = { 0 };
	int before = nr_threads();
	struct hftmon *m;

	(void)state;
	m = open_with(&c);
	assert_int_equal(hftmon_start(m), 0);
	hftmon_close(m);
	assert_int_equal(nr_threads_settled(before), before);
	assert_int_equal(fake_ioctls(HFTMON_IOC_STOP), 1);
}

static void test_kernel_refuses_start(void **state)
{
	struct hftmon_monitor_config c = { 0 };
	int before = nr_threads();
	struct hftmon *m;

	(void)state;
	m = open_with(&c);
	fake.fail_cmd = HFTMON_IOC_START;
	fake.fail_errno = EBUSY;
	assert_int_equal(hftmon_start(m), -EBUSY);
	assert_int_equal(nr_threads_settled(before), before);
	fake.fail_cmd = 0;
	/* The caller may drain: no thread runs. */
	assert_int_equal(hftmon_drain(m, fake_ignore, NULL), 0);
	hftmon_close(m);
}

/* A CPU the module has a ring for but this machine cannot run on. */
static void test_refused_bad_cpu(void **state)
{
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	struct hftmon_monitor_config c = { 0 };
	int before = nr_threads(), cpu[1];
	struct hftmon *m;

	(void)state;
	fake_teardown();
	fake_setup(FAKE_MAX_CPUS);
	if (conf < 1 || conf >= FAKE_MAX_CPUS) {
		fake_teardown();
		fake_setup(2);
		skip(); /* every CPU number the fake has exists here */
	}
	cpu[0] = (int)conf; /* CPUs are 0..conf-1 */
	c.cpu_affinity = cpu;
	c.nr_cpu_affinity = 1;
	m = open_with(&c);
	assert_int_equal(hftmon_start(m), -EINVAL);
	assert_non_null(strstr(last_log, "drain thread"));
	assert_non_null(strstr(last_log, "CPU"));
	assert_int_equal(nr_threads_settled(before), before);
	assert_int_equal(fake_ioctls(HFTMON_IOC_START), 0);
	assert_false(fake.running);
	assert_int_equal(hftmon_drain(m, fake_ignore, NULL), 0);
	/* Reconfigured without it, it starts. */
	c.cpu_affinity = NULL;
	c.nr_cpu_affinity = 0;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

/*
 * As a user without CAP_SYS_NICE and with RLIMIT_RTPRIO 0, SCHED_FIFO is
 * refused with EPERM. The brief allowed skipping this as root; instead,
 * as root, a child drops to uid/gid 65534 (which clears its capabilities)
 * so the refusal is really exercised. The child reports by exit status:
 * 0 pass, 77 skip (could not drop privileges), else the failed step.
 */
static int rt_refused_child(void)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = FAKE_DEVICE,
				      .log = capture_log };
	struct hftmon_monitor_config c = { .sz = sizeof(c),
					   .drain_thread = true,
					   .realtime_priority = 99 };
	struct rlimit rl = { 0, 0 };
	int before = nr_threads(), err;
	struct hftmon *m;

	if (setrlimit(RLIMIT_RTPRIO, &rl))
		return 77;
	if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
		return 77;
	if (hftmon_open(&o, &m))
		return 2;
	if (hftmon_configure(m, &c))
		return 3;
	err = hftmon_start(m);
	if (err != -EPERM)
		return 4;
	if (!strstr(last_log, "SCHED_FIFO priority 99 refused"))
		return 5;
	if (nr_threads() != before || fake.running ||
	    fake_ioctls(HFTMON_IOC_START))
		return 6;
	hftmon_close(m);
	return 0;
}

static void test_refused_rt_priority(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(rt_refused_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Where permitted (root with CAP_SYS_NICE), both are applied. */
static void test_rt_and_affinity_applied(void **state)
{
	struct hftmon_monitor_config c = { .realtime_priority = 3 };
	pid_t me = (pid_t)syscall(SYS_gettid), tid = 0;
	struct sched_param sp;
	struct dirent *de;
	cpu_set_t set;
	struct hftmon *m;
	int cpu[1] = { 0 }, err;
	DIR *d;

	(void)state;
	c.cpu_affinity = cpu;
	c.nr_cpu_affinity = 1;
	m = open_with(&c);
	err = hftmon_start(m);
	if (err == -EPERM) {
		hftmon_close(m);
		skip(); /* not permitted here: covered by the test above */
	}
	assert_int_equal(err, 0);
	d = opendir("/proc/self/task");
	assert_non_null(d);
	while ((de = readdir(d))) {
		pid_t t = atoi(de->d_name);

		if (t > 0 && t != me)
			tid = t;
	}
	closedir(d);
	assert_true(tid > 0);
	assert_int_equal(sched_getscheduler(tid), SCHED_FIFO);
	assert_int_equal(sched_getparam(tid, &sp), 0);
	assert_int_equal(sp.sched_priority, 3);
	assert_int_equal(sched_getaffinity(tid, sizeof(set), &set), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	assert_true(CPU_ISSET(0, &set));
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

/* ---- wake-ups ----------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	return fake_now_ns() / 1000000u;
}

/* Records of switches of T1 back and forth, stamped now, on both CPUs. */
static void switches_now(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		assert_true(fake_switch(0, fake_now_ns(), &T1, NULL, &BLOCK));
		assert_true(fake_switch(1, fake_now_ns(), NULL, &T1, NULL));
	}
}

/* The drain thread's counters against the fake's own count of polls. */
static void check_wakeup_stats(struct hftmon *m, unsigned int records)
{
	struct hftmon_stats_summary s = { .sz = sizeof(s) };
	struct rusage ru;
	uint64_t proc_ns;

	assert_int_equal(hftmon_get_stats(m, &s, NULL, 0), 0);
	print_message("drain: %llu wake-ups (%llu timer), fake: %u polls (%u woken)\n", (unsigned long long)s.drain_wakeups, (unsigned long long)s.drain_timer_wakeups, atomic_load(&fake.poll_calls), atomic_load(&fake.poll_woken));
	/* Joined: every poll it made has returned. */
	assert_int_equal(s.drain_wakeups, atomic_load(&fake.poll_calls));
	assert_int_equal(s.drain_timer_wakeups,
			 atomic_load(&fake.poll_calls) -
				 atomic_load(&fake.poll_woken));
	assert_int_equal(s.drain_records, records);
	assert_int_equal(s.delivered, records);
	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	proc_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
			  1000000000u +
		  ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
			  1000u;
	assert_true(s.drain_cpu_ns > 0);
	assert_true(s.drain_cpu_ns <= proc_ns);
}

/*
 * Without a timer, an idle session costs the drain thread no wake-up at
 * all: it sleeps in one poll until records fill a ring to the watermark
 * (drained then, not before) or stop (which drains the rest).
 */
static void test_no_wakeup_while_idle(void **state)
{
	struct hftmon_monitor_config c = {
		.drain_max_interval_us = HFTMON_DRAIN_NO_TIMER,
		.ring_pages = 2,
	};
	/* A switch record is 96 bytes; the watermark a quarter of 8 KiB. */
	unsigned int below = (2 * FAKE_PAGE_SIZE / 4) /
			     sizeof(struct hftmon_rec_switch) / 2;
	struct hftmon *m;

	(void)state;
	fake.watermark = true;
	m = open_with(&c);
	assert_int_equal(hftmon_start(m), 0);
	usleep(200000);
	assert_int_equal(atomic_load(&fake.poll_calls), 1);
	assert_int_equal(atomic_load(&fake.poll_woken), 0);

	/* Below the watermark on both rings: still asleep, nothing drained. */
	switches_now((int)below);
	usleep(100000);
	assert_int_equal(atomic_load(&fake.poll_calls), 1);
	assert_int_equal(count_switches(m), 0);

	/* Past it on both: woken, drained, merged (one more pass for that). */
	switches_now((int)below + 2);
	wait_switches(m, 2 * (int)below + 2);
	/* Then asleep again: the watermark, the merge, and an empty pass. */
	usleep(100000);
	assert_true(atomic_load(&fake.poll_calls) <= 1 + 2 + 3);
	switches_now(3); /* left for stop */
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(count_switches(m), 2 * (int)below + 5);
	check_wakeup_stats(m, 2 * (2 * below + 5));
	hftmon_close(m);
}

/*
 * With a ceiling, an idle session wakes at most once per ceiling once the
 * interval has grown to it (doubling from drain_interval_us), and a
 * record below the watermark is drained by the timer.
 */
static void test_idle_wakeups_bounded_by_ceiling(void **state)
{
	enum { MIN_US = 1000, MAX_US = 20000 };
	struct hftmon_monitor_config c = { .drain_interval_us = MIN_US,
					   .drain_max_interval_us = MAX_US };
	uint64_t t0, elapsed_ms, bound;
	struct hftmon *m;

	(void)state;
	fake.watermark = true;
	m = open_with(&c);
	t0 = mono_ms();
	assert_int_equal(hftmon_start(m), 0);
	usleep(300000);
	elapsed_ms = mono_ms() - t0;
	/* 1, 2, 4, 8, 16 ms, then one per 20 ms, and the poll in progress. */
	/* A fake wait may end up to 1 ms early (its clock is in ms). */
	bound = 5 + elapsed_ms / (MAX_US / 1000 - 1) + 1 + 1;
	print_message("idle %llu ms: %u polls, at most %llu expected\n",
		      (unsigned long long)elapsed_ms,
		      atomic_load(&fake.poll_calls), (unsigned long long)bound);
	assert_true(atomic_load(&fake.poll_calls) <= bound);
	/* One switch, far below the watermark: the timer drains it. */
	switches_now(1);
	wait_switches(m, 1);
	assert_int_equal(hftmon_stop(m), 0);
	check_wakeup_stats(m, 2);
	hftmon_close(m);
}

static void test_interval_options_checked(void **state)
{
	struct hftmon_monitor_config c = { .drain_interval_us = 5000,
					   .drain_max_interval_us = 4000 };
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = FAKE_DEVICE,
				      .log = capture_log };
	struct hftmon *m = NULL;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	c.sz = sizeof(c);
	c.drain_thread = true;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	assert_non_null(strstr(last_log, "drain_max_interval_us"));
	c.drain_thread = false;
	c.drain_interval_us = 0;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.drain_max_interval_us = 0;
	/* The watermark goes to the module, which checks it. */
	c.wakeup_bytes = 3 * FAKE_PAGE_SIZE;
	c.ring_pages = 2;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.wakeup_bytes = 1024;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(fake.last_config.wakeup_bytes, 1024);
	hftmon_close(m);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fake_teardown2)
	const struct CMUnitTest tests[] = {
		T(test_drains_while_caller_queries),
		T(test_query_batches_while_draining),
		T(test_stop_drains_the_rest),
		T(test_record_fn),
		T(test_close_running),
		T(test_kernel_refuses_start),
		T(test_refused_bad_cpu),
		T(test_refused_rt_priority),
		T(test_rt_and_affinity_applied),
		T(test_no_wakeup_while_idle),
		T(test_idle_wakeups_bounded_by_ceiling),
		T(test_interval_options_checked),
	};
#undef T

	return cmocka_run_group_tests_name("drain_thread", tests, NULL, NULL);
}
