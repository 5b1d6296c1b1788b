// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * switches: the README's C example, whole. Monitors one process for a
 * second with the library's drain thread (pinned to a CPU, SCHED_FIFO),
 * then prints its context switches of 10 us or more and its wake-up
 * latency percentiles. Built against the installed headers only
 * (<hftmon.h>, <linux/hftmon.h>) by make examples.
 *
 *   switches PID [CPU]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hftmon.h>

#define MAX_EVENTS 256

static int fail(const char *what, int err)
{
	fprintf(stderr, "switches: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char **argv)
{
	static struct hftmon_switch_event ev[MAX_EVENTS];
	struct timespec second = { .tv_sec = 1 };
	struct hftmon *m;
	int cpus[1], n, i, err;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: switches PID [CPU]\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	cpus[0] = argc > 2 ? atoi(argv[2]) : 0;

	err = hftmon_open(NULL, &m);
	if (err)
		return fail("open", err);
	HFTMON_OPTS(hftmon_monitor_config, cfg, .ring_pages = 256,
		    .drain_thread = true, .cpu_affinity = cpus,
		    .nr_cpu_affinity = 1, .realtime_priority = 10);
	err = hftmon_configure(m, &cfg);
	if (err)
		return fail("configure", err);
	HFTMON_OPTS(hftmon_attach_opts, ao, .kernel_stacks = true);
	err = hftmon_attach_process(m, pid, &ao); /* as many as needed */
	if (err)
		return fail("attach", err);
	err = hftmon_start(m); /* the drain thread runs */
	if (err)
		return fail("start", err);
	nanosleep(&second, NULL);

	HFTMON_OPTS(hftmon_switch_query, q, .pid = pid, .min_duration_us = 10,
		    .window_us = 1000000, .include_stack_trace = true);
	ev[0].sz = sizeof(ev[0]); /* the size of every element */
	n = hftmon_get_context_switches(m, &q, ev, MAX_EVENTS);
	if (n < 0)
		return fail("context switches", n);
	for (i = 0; i < n && i < MAX_EVENTS; i++)
		printf("tid %d off CPU %.1f us (%s), CPU taken by %d %.16s\n",
		       ev[i].tid, ev[i].off_cpu_ns / 1000.0,
		       ev[i].voluntary ? "blocked" : "preempted",
		       ev[i].next_tid, ev[i].next_comm);

	double pct[] = { 50, 99, 99.9 }, out[3] = { 0 };
	HFTMON_OPTS(hftmon_latency_query, lq, .pid = pid, .window_us = 1000000,
		    .percentiles = pct, .pct_out = out, .nr_percentiles = 3);
	HFTMON_OPTS(hftmon_latency, lat);
	err = hftmon_get_wakeup_latency(m, &lq, &lat);
	if (err == 0)
		printf("wake-up latency: %llu samples, p50 %.1f p99 %.1f p99.9 %.1f us, jitter %.1f us\n",
		       (unsigned long long)lat.count, out[0], out[1], out[2],
		       lat.stddev_us);
	else
		printf("wake-up latency: %s\n", strerror(-err));

	hftmon_stop(m);
	hftmon_close(m);
	return 0;
}
