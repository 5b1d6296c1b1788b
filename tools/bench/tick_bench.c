// SPDX-License-Identifier: GPL-2.0
/*
 * tick_bench: what PMU sampling ticks cost a tracked thread (issue 8,
 * "the sampling rate achieved at each interval and what it costs the
 * tracked thread"). A worker process pinned to CPU 1 runs a fixed loop;
 * its wall time is taken with nothing monitoring, with two software
 * counters read at its switches only, and with them sampled every 1 ms,
 * 100 us and 10 us, the modes interleaved trial by trial in one boot.
 * Printed: the median time, the slowdown against nothing, and the
 * interval the library reports achieved (hftmon_pmu_totals over every
 * trial). Figures only: TCG timing is noisy, nothing is asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <hftmon.h>

static const uint32_t interval_us[] = { 0, 0, 1000, 100, 10 };
#define NR_MODES	(sizeof(interval_us) / sizeof(interval_us[0]))
#define MAX_TRIALS	64

static const char *const mode_name[NR_MODES] = {
	"nothing", "counters at switches", "sampled every 1 ms",
	"sampled every 100 us", "sampled every 10 us",
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* The worker: per byte on go, the loop, and its wall time on done. */
static void worker(int go, int done, long iters)
{
	volatile long sink = 0;
	uint64_t t0, dt;
	long i;
	char c;

	if (pin(1))
		_exit(1);
	while (read(go, &c, 1) == 1) {
		t0 = mono_ns();
		for (i = 0; i < iters; i++)
			sink += i;
		dt = mono_ns() - t0;
		if (write(done, &dt, sizeof(dt)) != sizeof(dt))
			_exit(1);
	}
	_exit(0);
}

static int ignore(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct hftmon_pmu_counter counters[2] = {
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_SOFTWARE,
		  .config = PERF_COUNT_SW_PAGE_FAULTS },
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_SOFTWARE,
		  .config = PERF_COUNT_SW_CPU_CLOCK },
	};
	static const struct option opts[] = {
		{ "iterations", required_argument, NULL, 'n' },
		{ "trials", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct hftmon *m[NR_MODES] = { NULL };
	uint64_t ns[NR_MODES][MAX_TRIALS];
	long iters = 20000000;
	int trials = 7, go[2], done[2], c, err = 0;
	unsigned int i;
	pid_t pid;
	int t;

	while ((c = getopt_long(argc, argv, "n:t:", opts, NULL)) != -1) {
		if (c == 'n')
			iters = strtol(optarg, NULL, 0);
		else if (c == 't')
			trials = atoi(optarg);
		else
			return 2;
	}
	if (iters <= 0 || trials < 1 || trials > MAX_TRIALS) {
		fprintf(stderr, "tick_bench: bad --iterations or --trials\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pin(0) || pipe(go) || pipe(done))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* EOF on go when the parent closes its end: the worker ends. */
		close(go[1]);
		close(done[0]);
		worker(go[0], done[1], iters);
	}
	for (i = 1; i < NR_MODES && !err; i++) {
		struct hftmon_monitor_config cfg = {
			.sz = sizeof(cfg), .ring_pages = 1024,
			.sampling_interval_us = interval_us[i],
			.pmu_counters = counters, .nr_pmu_counters = 2,
		};

		err = hftmon_open(NULL, &m[i]);
		if (!err)
			err = hftmon_configure(m[i], &cfg);
	}
	if (err) {
		fprintf(stderr, "tick_bench: hftmon: %s\n", strerror(-err));
		return 1;
	}
	for (t = 0; t < trials; t++) {
		for (i = 0; i < NR_MODES; i++) {
			char ch = 'g';

			if (m[i] && (hftmon_attach_process(m[i], pid, NULL) ||
				     hftmon_start(m[i])))
				return 1;
			if (write(go[1], &ch, 1) != 1 ||
			    read(done[0], &ns[i][t], sizeof(ns[i][t])) !=
				    sizeof(ns[i][t]))
				return 1;
			if (m[i]) {
				hftmon_stop(m[i]);
				if (hftmon_drain(m[i], ignore, NULL) < 0 ||
				    hftmon_detach_process(m[i], pid))
					return 1;
			}
		}
	}
	printf("PMU sampling: a worker on CPU 1 spinning %ld iterations, %d trials interleaved (median wall time):\n",
	       iters, trials);
	for (i = 0; i < NR_MODES; i++)
		qsort(ns[i], trials, sizeof(ns[i][0]), cmp_u64);
	for (i = 0; i < NR_MODES; i++) {
		struct hftmon_pmu_totals out[1] = { [0].sz = sizeof(out[0]) };
		struct hftmon_pmu_query q = { .sz = sizeof(q), .tid = pid };
		char achieved[96] = "";

		if (m[i] && interval_us[i] &&
		    hftmon_get_pmu_totals(m[i], &q, out, 1) == 1)
			snprintf(achieved, sizeof(achieved),
				 "  %llu ticks, achieved %.1f us",
				 (unsigned long long)out[0].ticks,
				 out[0].tick_interval_ns / 1000.0);
		printf("  %-22s %8.2f ms  slowdown %.3fx (trials %.3f..%.3f)%s\n",
		       mode_name[i], ns[i][trials / 2] / 1e6,
		       (double)ns[i][trials / 2] / (double)ns[0][trials / 2],
		       (double)ns[i][0] / (double)ns[0][trials / 2],
		       (double)ns[i][trials - 1] / (double)ns[0][trials / 2],
		       achieved);
	}
	for (i = 1; i < NR_MODES; i++)
		hftmon_close(m[i]);
	close(go[1]);
	waitpid(pid, NULL, 0);
	return 0;
}
