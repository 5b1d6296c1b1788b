// SPDX-License-Identifier: GPL-2.0
/*
 * vm_bench: the overhead figures, measured in one VM boot. Two threads
 * pinned to CPU 0 pass a byte over a pipe (the ping-pong); its round
 * trips per second are measured with nothing watching, with hftmon
 * running but tracking another (sleeping) process, with hftmon tracking
 * the ping-pong (drained from CPU 1 while it runs), and with ftrace
 * recording sched_switch + sched_wakeup (all tasks, its default). In every
 * mode the bench itself wakes on CPU 1 each millisecond (and drains when
 * hftmon runs), so only the monitoring differs. Trials are interleaved and the
 * median of each kept; slowdowns are printed as ratios to the baseline.
 * Prints figures only: nothing here asserts a time.
 *   vm_bench [--rounds N] [--trials T]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hftmon.h>

#include "../workload/pingpong.h"

enum mode { BASELINE, HFTMON_UNTRACKED, HFTMON_TRACKED, HFTMON_TRACKED_LATE,
	    HFTMON_KSTACKS, HFTMON_USTACKS, HFTMON_STACKS, FTRACE, NR_MODES };
static const char *const mode_name[NR_MODES] = {
	"baseline (nothing)", "hftmon, other process tracked",
	"hftmon, ping-pong tracked", "hftmon, tracked, drained after",
	"hftmon, tracked + kernel stacks", "hftmon, tracked + user stacks",
	"hftmon, tracked + kernel/user stacks", "ftrace sched_switch+wakeup",
};

static int tracked(enum mode m)
{
	return m == HFTMON_TRACKED || m == HFTMON_TRACKED_LATE ||
	       m == HFTMON_KSTACKS || m == HFTMON_USTACKS || m == HFTMON_STACKS;
}

#define TRACEFS "/sys/kernel/tracing/"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int put(const char *file, const char *val)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), TRACEFS "%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

static int ftrace(int on)
{
	const char *v = on ? "1" : "0";
	int err = 0;

	if (on)
		err |= put("trace", "");
	err |= put("events/sched/sched_switch/enable", v);
	err |= put("events/sched/sched_wakeup/enable", v);
	err |= put("tracing_on", v);
	return err;
}

static int count_rec(void *ctx, const struct hftmon_rec_hdr *h)
{
	(void)h;
	++*(unsigned long *)ctx;
	return 0;
}

struct hm {
	struct hftmon *m;
	unsigned long records;
	unsigned long long lost;
};

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* One trial: round trips per second, or a negative value on failure. */
static double trial(enum mode mode, long rounds, pid_t sleeper, struct hm *hm)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct pingpong pp;
	double t0, t1;

	if (pingpong_spawn(&pp, PINGPONG_THREADS, rounds, 0))
		return -1;
	if (tracked(mode) || mode == HFTMON_UNTRACKED) {
		pid_t who = tracked(mode) ? pp.pid[0] : sleeper;
		struct hftmon_attach_opts ao = {
			.sz = sizeof(ao),
			.kernel_stacks = mode == HFTMON_STACKS || mode == HFTMON_KSTACKS,
			.user_stacks = mode == HFTMON_STACKS || mode == HFTMON_USTACKS,
		};

		if (hftmon_attach_process(hm->m, who, &ao) ||
		    hftmon_start(hm->m))
			return -1;
	}
	if (mode == FTRACE && ftrace(1))
		return -1;
	usleep(50000);

	t0 = now_s();
	if (pingpong_go(&pp))
		return -1;
	{
		struct pollfd pfd = { .fd = pp.done_r, .events = POLLIN };

		/*
		 * The same loop on CPU 1 in every mode, so only the monitoring
		 * differs: wake every millisecond, drain when hftmon runs.
		 */
		while (poll(&pfd, 1, 1) == 0)
			if (mode != BASELINE && mode != FTRACE &&
			    mode != HFTMON_TRACKED_LATE)
				hftmon_drain(hm->m, count_rec, &hm->records);
	}
	if (pingpong_wait_done(&pp))
		return -1;
	t1 = now_s();

	if (mode == FTRACE)
		ftrace(0);
	if (tracked(mode) || mode == HFTMON_UNTRACKED) {
		pid_t who = tracked(mode) ? pp.pid[0] : sleeper;

		hftmon_stop(hm->m);
		hftmon_drain(hm->m, count_rec, &hm->records);
		if (!hftmon_get_stats(hm->m, &sum, NULL, 0))
			hm->lost = sum.lost_total;
		hftmon_detach_process(hm->m, who);
	}
	if (pingpong_finish(&pp))
		return -1;
	return rounds / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	/* 16 MiB a CPU: a whole trial fits when drained only after it. */
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 4096 };
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "trials", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	long rounds = 10000;
	int trials = 15, c, i, t, err;
	double rate[NR_MODES][64], med[NR_MODES];
	struct hm hm = { 0 };
	int gate[2];
	pid_t sleeper;

	while ((c = getopt_long(argc, argv, "n:t:", opts, NULL)) != -1) {
		if (c == 'n')
			rounds = strtol(optarg, NULL, 0);
		else if (c == 't')
			trials = atoi(optarg);
		else
			return 2;
	}
	if (rounds <= 0 || trials < 1 || trials > 64) {
		fprintf(stderr, "vm_bench: bad --rounds or --trials\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pin_self(1);

	if (pipe(gate))
		return 1;
	sleeper = fork();
	if (sleeper == 0) {
		char ch;

		close(gate[1]);
		while (read(gate[0], &ch, 1) > 0)
			;
		_exit(0);
	}
	close(gate[0]);

	err = hftmon_open(NULL, &hm.m);
	if (!err)
		err = hftmon_configure(hm.m, &cfg);
	if (err) {
		fprintf(stderr, "vm_bench: hftmon: %s\n", strerror(-err));
		return 1;
	}

	for (t = 0; t < trials; t++) {
		for (i = 0; i < NR_MODES; i++) {
			rate[i][t] = trial(i, rounds, sleeper, &hm);
			if (rate[i][t] < 0) {
				fprintf(stderr, "vm_bench: trial %d of '%s' failed\n",
					t, mode_name[i]);
				return 1;
			}
		}
	}
	printf("ping-pong, two threads pinned to CPU 0, %ld round trips x %d trials (median):\n",
	       rounds, trials);
	for (i = 0; i < NR_MODES; i++) {
		qsort(rate[i], trials, sizeof(double), cmp_double);
		med[i] = rate[i][trials / 2];
	}
	/*
	 * TCG timing is noisy: besides the median, the spread of the trials
	 * (as slowdowns against the baseline's median) says how far to
	 * trust a difference.
	 */
	for (i = 0; i < NR_MODES; i++)
		printf("  %-32s %9.0f round trips/s  slowdown %.3fx  (trials %.3f..%.3f)\n",
		       mode_name[i], med[i], med[BASELINE] / med[i],
		       med[BASELINE] / rate[i][trials - 1],
		       med[BASELINE] / rate[i][0]);
	printf("  hftmon tracked: %lu records over all trials, %llu lost (last trial)\n",
	       hm.records, hm.lost);
	hftmon_close(hm.m);
	close(gate[1]);
	waitpid(sleeper, NULL, 0);
	return 0;
}
