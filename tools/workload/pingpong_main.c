// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong: run the known workload by hand (the demo uses it).
 *   pingpong [--rounds N] [--cpu C] [--threads] [--delay-ms D] [--hold-ms H]
 * Prints "pids A B" and "tids A B", waits D ms (time to attach a
 * monitor), runs N round trips, prints the round trips per second, and
 * holds both tasks blocked for H ms (time to read /proc) before they exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pingpong.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "threads", no_argument, NULL, 't' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "hold-ms", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum pingpong_mode mode = PINGPONG_PROCESSES;
	long rounds = 10000, delay_ms = 0, hold_ms = 0;
	struct pingpong pp;
	int cpu = -1, c, err;
	double t0, t1;

	while ((c = getopt_long(argc, argv, "n:c:td:h:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': rounds = strtol(optarg, NULL, 0); break;
		case 'c': cpu = atoi(optarg); break;
		case 't': mode = PINGPONG_THREADS; break;
		case 'd': delay_ms = strtol(optarg, NULL, 0); break;
		case 'h': hold_ms = strtol(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: pingpong [--rounds N] [--cpu C] [--threads] [--delay-ms D] [--hold-ms H]\n");
			return 2;
		}
	}
	if (rounds <= 0 || delay_ms < 0 || hold_ms < 0) {
		fprintf(stderr, "pingpong: rounds must be > 0, delay >= 0\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = pingpong_spawn(&pp, mode, rounds, cpu);
	if (err) {
		fprintf(stderr, "pingpong: spawn: %s\n", strerror(-err));
		return 1;
	}
	printf("pids %d %d\ntids %d %d\n", pp.pid[0], pp.pid[1], pp.tid[0],
	       pp.tid[1]);
	usleep(delay_ms * 1000);
	t0 = now_s();
	if (pingpong_go(&pp) || pingpong_wait_done(&pp)) {
		fprintf(stderr, "pingpong: workload failed\n");
		return 1;
	}
	t1 = now_s();
	printf("%ld round trips in %.3f s: %.0f round trips/s\n", rounds,
	       t1 - t0, rounds / (t1 - t0));
	usleep(hold_ms * 1000);
	return pingpong_finish(&pp) ? 1 : 0;
}
