// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The /proc readers (lib/procfs.c) on a fake /proc tree written here
 * (a comm with spaces and parentheses, missing schedstat and sched files,
 * malformed stat, vanished threads, no such process), and
 * hftmon_get_thread_scheduling_info() on this test process itself: a
 * helper thread sets its own policy (SCHED_BATCH), nice (+5) and CPU
 * affinity, and reads its own context switches (getrusage) and CPU time
 * (CLOCK_THREAD_CPUTIME_ID) around the query: independent sources the
 * reported values must agree with.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_sys.h"
#include "hftmon.h"
#include "procfs.h"

static char root[PATH_MAX];

static void make_dir(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* A stat line: fields 3.. after "(comm) ", as the kernel writes them. */
#define STAT_TAIL                                                          \
	"S 1 4242 4242 0 -1 4194560 120 0 3 0 250 75 0 0 39 19 3 0 "     \
	"1234 10000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "  \
	"17 3 7 2 0 0 0\n"

static int setup_tree(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/hftmon-procfs-XXXXXX");
	assert_non_null(mkdtemp(root));
	make_dir("4242");
	make_dir("4242/task");
	make_dir("4242/task/4242");
	make_dir("4242/task/4250");
	make_dir("4242/task/4243");
	make_dir("4242/task/notatid");
	/* Thread 4242: everything, a nasty comm. */
	fake_write_file(root, "4242/task/4242/stat", "4242 (a (b) c) d) " STAT_TAIL);
	fake_write_file(root, "4242/task/4242/status",
		   "Name:\ta (b) c) d\nState:\tS (sleeping)\n"
		   "Cpus_allowed_list:\t0-3\n"
		   "voluntary_ctxt_switches:\t1500\n"
		   "nonvoluntary_ctxt_switches:\t37\n");
	fake_write_file(root, "4242/task/4242/schedstat", "987654321 123456 2000\n");
	fake_write_file(root, "4242/task/4242/sched",
		   "trader (4242, #threads: 3)\n"
		   "-------------------------------------------------------------------\n"
		   "se.exec_start                                :      12345678.123456\n"
		   "se.vruntime                                  :         1234.567890\n"
		   "se.sum_exec_runtime                          :          987.654321\n"
		   "se.nr_migrations                             :                   42\n"
		   "nr_switches                                  :                 1537\n");
	/* Thread 4250: no schedstat, no sched (kernel options off). */
	fake_write_file(root, "4242/task/4250/stat",
		   "4250 (worker) R 1 4242 4242 0 -1 4194560 0 0 0 0 "
		   "300 100 0 0 -2 0 3 0 1234 10000000 100 1 1 1 0 0 0 0 "
		   "0 0 0 0 0 0 17 1 50 1 0 0 0\n");
	fake_write_file(root, "4242/task/4250/status",
		   "voluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n");
	/* Thread 4243: stat cut short. */
	fake_write_file(root, "4242/task/4243/stat", "4243 (short) S 1 2 3\n");
	return 0;
}

static int teardown_tree(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_tids(void **state)
{
	pid_t *tids;

	(void)state;
	assert_int_equal(hftmon_procfs_tids(root, 4242, &tids), 3);
	/* Ascending; "notatid" is not a thread. */
	assert_int_equal(tids[0], 4242);
	assert_int_equal(tids[1], 4243);
	assert_int_equal(tids[2], 4250);
	free(tids);
	assert_int_equal(hftmon_procfs_tids(root, 999, &tids), -ESRCH);
	assert_null(tids);
}

static void test_full_thread(void **state)
{
	struct hftmon_procfs_thread t;

	(void)state;
	assert_int_equal(hftmon_procfs_thread(root, 4242, 4242, &t), 0);
	assert_string_equal(t.comm, "a (b) c) d");
	assert_int_equal(t.utime_ticks, 250);
	assert_int_equal(t.stime_ticks, 75);
	assert_int_equal(t.nice, 19);
	assert_int_equal(t.cpu, 3);
	assert_int_equal(t.rt_priority, 7);
	assert_int_equal(t.policy, 2);
	assert_true(t.have_ctxt);
	assert_int_equal(t.voluntary, 1500);
	assert_int_equal(t.involuntary, 37);
	assert_true(t.have_schedstat);
	assert_int_equal(t.cpu_time_ns, 987654321);
	assert_int_equal(t.run_delay_ns, 123456);
	assert_int_equal(t.migrations, 42);
}

static void test_missing_files(void **state)
{
	struct hftmon_procfs_thread t;

	(void)state;
	assert_int_equal(hftmon_procfs_thread(root, 4242, 4250, &t), 0);
	assert_string_equal(t.comm, "worker");
	assert_int_equal(t.nice, 0);
	assert_int_equal(t.cpu, 1);
	assert_int_equal(t.rt_priority, 50);
	assert_int_equal(t.policy, 1);
	assert_int_equal(t.voluntary, 5);
	assert_int_equal(t.involuntary, 6);
	assert_false(t.have_schedstat);
	assert_int_equal(t.migrations, -1); /* unknown, not 0 */
}

static void test_bad_and_gone(void **state)
{
	struct hftmon_procfs_thread t;

	(void)state;
	assert_int_equal(hftmon_procfs_thread(root, 4242, 4243, &t), -EPROTO);
	assert_int_equal(hftmon_procfs_thread(root, 4242, 4299, &t), -ESRCH);
	assert_int_equal(hftmon_procfs_thread(root, 7, 7, &t), -ESRCH);
}

static void test_parsers(void **state)
{
	struct hftmon_procfs_thread t;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(hftmon_procfs_parse_stat("1 (x S 1 2", &t), -EPROTO);
	assert_int_equal(hftmon_procfs_parse_stat("", &t), -EPROTO);
	/* A comm longer than the kernel's is cut to 15 bytes. */
	assert_int_equal(hftmon_procfs_parse_stat(
				 "9 (0123456789abcdefXYZ) " STAT_TAIL, &t),
			 0);
	assert_string_equal(t.comm, "0123456789abcde");
	/* Negative nice. */
	assert_int_equal(
		hftmon_procfs_parse_stat(
			"9 (n) S 1 2 3 0 -1 0 0 0 0 0 1 2 0 0 20 -20 1 0 1 1 1 1 "
			"1 1 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
			&t),
		0);
	assert_int_equal(t.nice, -20);
	assert_int_equal(hftmon_procfs_parse_status("Name:\tx\n", &t), -EPROTO);
	assert_int_equal(hftmon_procfs_parse_schedstat("12\n", &t), -EPROTO);
	assert_int_equal(hftmon_procfs_parse_schedstat("x 1 2\n", &t), -EPROTO);
	assert_int_equal(hftmon_procfs_parse_sched("nr_switches : 3\n", &t),
			 -EPROTO);
	/* Overflow is malformed, not wrapped. */
	assert_int_equal(hftmon_procfs_parse_schedstat(
				 "99999999999999999999999 1 1\n", &t),
			 -EPROTO);
}

/* ---- this process, through the public query -------------------------- */

struct helper {
	int cpu;
	pid_t tid;
	long nvcsw_before, nvcsw_after;
	uint64_t cpu_before, cpu_after;
	int pipe_ready[2], pipe_go[2];
	int err;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long my_nvcsw(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	struct sched_param sp = { 0 };
	cpu_set_t set;
	char c = 0;

	h->tid = (pid_t)syscall(SYS_gettid);
	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	/* Its own settings, on itself: it runs on h->cpu from here on. */
	if (sched_setaffinity(0, sizeof(set), &set) ||
	    sched_setscheduler(0, SCHED_BATCH, &sp) ||
	    setpriority(PRIO_PROCESS, (id_t)h->tid, 5))
		h->err = errno;
	h->nvcsw_before = my_nvcsw();
	h->cpu_before = thread_cpu_ns();
	if (write(h->pipe_ready[1], &c, 1) != 1)
		h->err = EIO;
	/* Blocked in read() while the test looks at it. */
	if (read(h->pipe_go[0], &c, 1) != 1)
		h->err = EIO;
	h->nvcsw_after = my_nvcsw();
	h->cpu_after = thread_cpu_ns();
	return NULL;
}

/* The last CPU this process may run on. */
static int last_allowed_cpu(void)
{
	cpu_set_t set;
	int cpu, last = -1;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			last = cpu;
	return last;
}

static void test_thread_info_self(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_thread_info info[64];
	struct helper h = { .cpu = last_allowed_cpu() };
	pid_t me = (pid_t)syscall(SYS_gettid);
	struct hftmon *m = NULL;
	const struct hftmon_thread_info *t = NULL, *main_t = NULL;
	pthread_t th;
	char c = 0;
	int n, i, cpu;

	(void)state;
	fake_setup(2);
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(pipe(h.pipe_ready), 0);
	assert_int_equal(pipe(h.pipe_go), 0);
	assert_int_equal(pthread_create(&th, NULL, helper_main, &h), 0);
	assert_int_equal(read(h.pipe_ready[0], &c, 1), 1);
	assert_int_equal(h.err, 0);
	/* Let it block for good in read(). */
	usleep(20000);

	/* Not configured: /proc and the scheduler only. */
	info[0].sz = sizeof(info[0]);
	n = hftmon_get_thread_scheduling_info(m, getpid(), info, 64);
	assert_true(n >= 2 && n <= 64);
	assert_int_equal(write(h.pipe_go[1], &c, 1), 1);
	pthread_join(th, NULL);
	assert_int_equal(h.err, 0);

	for (i = 0; i < n; i++) {
		assert_int_equal(info[i].pid, getpid());
		if (i)
			assert_true(info[i].tid > info[i - 1].tid);
		if (info[i].tid == h.tid)
			t = &info[i];
		if (info[i].tid == me)
			main_t = &info[i];
	}
	assert_non_null(t);
	assert_non_null(main_t);
	assert_int_equal(t->policy, SCHED_BATCH);
	assert_int_equal(t->rt_priority, 0);
	assert_int_equal(t->nice, 5);
	assert_int_equal(t->cpu, h.cpu);
	for (cpu = 0; cpu < HFTMON_MAX_CPUS; cpu++)
		assert_int_equal(!!(t->affinity[cpu / 64] & (1ull << (cpu % 64))),
				 cpu == h.cpu);
	/* Its own counts around the call bracket what /proc said. */
	assert_true((long)t->voluntary_switches >= h.nvcsw_before);
	assert_true((long)t->voluntary_switches <= h.nvcsw_after);
	assert_true(t->cpu_time_ns >= h.cpu_before);
	assert_true(t->cpu_time_ns <= h.cpu_after);
	assert_true(t->migrations >= 0);
	/* The main thread kept its settings. */
	assert_int_equal(main_t->policy, SCHED_OTHER);
	assert_int_equal(main_t->nice, getpriority(PRIO_PROCESS, 0));

	/* Count only; fewer entries than threads. */
	assert_int_equal(hftmon_get_thread_scheduling_info(m, getpid(), NULL,
							   0),
			 n - 1); /* the helper has exited */
	assert_int_equal(hftmon_get_thread_scheduling_info(m, getpid(), info,
							   1),
			 n - 1);
	assert_int_equal(hftmon_get_thread_scheduling_info(m, getpid(), NULL,
							   1),
			 -EINVAL);
	assert_int_equal(hftmon_get_thread_scheduling_info(m, 0, info, 1),
			 -EINVAL);
	/* No handle is needed (hftmon numa runs without the module). */
	assert_int_equal(hftmon_get_thread_scheduling_info(NULL, getpid(),
							   info, 1),
			 n - 1);
	assert_int_equal(info[0].pid, getpid());
	assert_int_equal(hftmon_get_thread_scheduling_info(NULL, 0, info, 1),
			 -EINVAL);
	close(h.pipe_ready[0]);
	close(h.pipe_ready[1]);
	close(h.pipe_go[0]);
	close(h.pipe_go[1]);
	hftmon_close(m);
	fake_teardown();
}

/*
 * The counters of thread info, each against the kernel's own file read
 * here (not by procfs.c): a helper thread moves itself across the CPUs it
 * may use (each move a migration), sleeps until it has more voluntary
 * than involuntary switches (so the two cannot be confused unseen), then
 * blocks while the test reads /proc/self/task/TID/{status,sched} before
 * and after the query (unchanged: it is blocked).
 */
struct counted {
	pid_t tid;
	int pipe_ready[2], pipe_go[2];
	int err;
};

static void *counted_main(void *arg)
{
	struct counted *h = arg;
	const struct timespec ms = { 0, 1000000 };
	struct rusage ru;
	cpu_set_t all, one;
	int cpu, lap;
	char c = 0;

	h->tid = (pid_t)syscall(SYS_gettid);
	if (sched_getaffinity(0, sizeof(all), &all))
		h->err = errno;
	for (lap = 0; lap < 2; lap++)
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
			if (!CPU_ISSET(cpu, &all))
				continue;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			if (sched_setaffinity(0, sizeof(one), &one))
				h->err = errno;
		}
	do {
		nanosleep(&ms, NULL);
		getrusage(RUSAGE_THREAD, &ru);
	} while (ru.ru_nvcsw <= ru.ru_nivcsw + 2);
	if (write(h->pipe_ready[1], &c, 1) != 1)
		h->err = EIO;
	if (read(h->pipe_go[0], &c, 1) != 1)
		h->err = EIO;
	return NULL;
}

/* "key:<blanks>N" of /proc/self/task/TID/FILE, by sscanf; -1 if absent. */
static long long proc_value(pid_t tid, const char *file, const char *key)
{
	char path[128], line[512];
	long long v = -1;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + klen;

		if (strncmp(line, key, klen))
			continue;
		while (*p == ' ' || *p == '\t' || *p == ':')
			p++;
		if (sscanf(p, "%lld", &v) == 1)
			break;
	}
	fclose(f);
	return v;
}

static void test_thread_info_counters(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_thread_info info[64];
	struct counted h = { 0 };
	long long vol, invol, mig;
	const struct hftmon_thread_info *t = NULL;
	struct hftmon *m = NULL;
	cpu_set_t all;
	pthread_t th;
	char c = 0;
	int n, i;

	(void)state;
	fake_setup(2);
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(pipe(h.pipe_ready), 0);
	assert_int_equal(pipe(h.pipe_go), 0);
	assert_int_equal(pthread_create(&th, NULL, counted_main, &h), 0);
	assert_int_equal(read(h.pipe_ready[0], &c, 1), 1);
	assert_int_equal(h.err, 0);
	usleep(20000); /* blocked in read() for good */

	vol = proc_value(h.tid, "status", "voluntary_ctxt_switches");
	invol = proc_value(h.tid, "status", "nonvoluntary_ctxt_switches");
	mig = proc_value(h.tid, "sched", "se.nr_migrations");
	info[0].sz = sizeof(info[0]);
	n = hftmon_get_thread_scheduling_info(m, getpid(), info, 64);
	assert_true(n >= 2 && n <= 64);
	/* Blocked all along: the kernel's counts did not move. */
	assert_int_equal(proc_value(h.tid, "status", "voluntary_ctxt_switches"),
			 vol);
	assert_int_equal(
		proc_value(h.tid, "status", "nonvoluntary_ctxt_switches"),
		invol);
	assert_int_equal(proc_value(h.tid, "sched", "se.nr_migrations"), mig);
	assert_int_equal(write(h.pipe_go[1], &c, 1), 1);
	pthread_join(th, NULL);
	assert_int_equal(h.err, 0);

	for (i = 0; i < n; i++)
		if (info[i].tid == h.tid)
			t = &info[i];
	assert_non_null(t);
	assert_true(vol > invol && invol >= 0);
	assert_int_equal(t->voluntary_switches, vol);
	assert_int_equal(t->involuntary_switches, invol);
	/* -1 without CONFIG_SCHED_DEBUG (no sched file), as documented. */
	assert_int_equal(t->migrations, mig);
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	if (mig >= 0 && CPU_COUNT(&all) > 1)
		assert_true(mig >= 2); /* two laps over at least two CPUs */
	close(h.pipe_ready[0]);
	close(h.pipe_ready[1]);
	close(h.pipe_go[0]);
	close(h.pipe_go[1]);
	hftmon_close(m);
	fake_teardown();
}

static void test_thread_info_no_such_process(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_thread_info info[4] = { [0].sz = sizeof(info[0]) };
	struct hftmon *m = NULL;
	pid_t child;

	(void)state;
	fake_setup(2);
	assert_int_equal(hftmon_open(&o, &m), 0);
	/* A pid that existed and is gone for good: a reaped child. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_int_equal(hftmon_get_thread_scheduling_info(m, child, info, 4),
			 -ESRCH);
	hftmon_close(m);
	fake_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tids, setup_tree,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_full_thread, setup_tree,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_missing_files, setup_tree,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_bad_and_gone, setup_tree,
						teardown_tree),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_thread_info_self),
		cmocka_unit_test(test_thread_info_no_such_process),
		cmocka_unit_test(test_thread_info_counters),
	};

	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
