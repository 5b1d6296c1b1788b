// SPDX-License-Identifier: GPL-2.0
/*
 * fault_bench: what the page-fault spike probe (a kretprobe on
 * handle_mm_fault(), kmod/probes/spike.c) costs every page fault, in one
 * VM boot (issue 7: "say what it costs untracked tasks"). A sweep maps
 * 16 MiB of anonymous memory in 4 KiB pages, writes one byte to each page
 * (one fault each) and unmaps it; its time per fault is measured in five
 * states, each round in this order, the module loaded and unloaded by
 * this program (insmod/rmmod of --ko):
 *   no module       hftmon not loaded
 *   loaded          loaded, no spike session yet: the probe not there
 *   probe left      a spike session was started and stopped: the probe
 *                   stays registered until unload (one text patch a load)
 *   session         a spike session runs and tracks another process
 *   tracked         the session tracks this process (threshold 10 ms:
 *                   no fault lasts that long, so no spike is written)
 * Each state's figure is the median of SWEEPS sweeps; the ratios printed
 * are the medians over the rounds of each round's ratio to "no module".
 * Prints figures only: nothing here asserts a time.
 *   fault_bench [--ko PATH] [--rounds N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hftmon.h>

#define PAGES		4096
#define PAGE		4096UL
#define SWEEPS		5
#define MAX_ROUNDS	15

enum state { NO_MODULE, LOADED, PROBE_LEFT, SESSION, TRACKED, NR_STATES };

static const char *const state_name[NR_STATES] = {
	"no module", "loaded, no spike session yet", "probe left by a stopped session",
	"a spike session runs, this process untracked",
	"this process tracked (threshold 10 ms)",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* ns per fault over one sweep, or a negative errno. */
static double sweep(void)
{
	uint64_t t0, t1;
	char *p;
	int i;

	p = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* 4 KiB faults, not one huge page (EINVAL without THP: fine). */
	(void)madvise(p, PAGES * PAGE, MADV_NOHUGEPAGE);
	t0 = now_ns();
	for (i = 0; i < PAGES; i++)
		p[(size_t)i * PAGE] = 1;
	t1 = now_ns();
	munmap(p, PAGES * PAGE);
	return (double)(t1 - t0) / PAGES;
}

static double measure(void)
{
	double v[SWEEPS];
	int i;

	for (i = 0; i < SWEEPS; i++) {
		v[i] = sweep();
		if (v[i] < 0) {
			fprintf(stderr, "fault_bench: mmap: %s\n", strerror((int)-v[i]));
			exit(1);
		}
	}
	return median(v, SWEEPS);
}

static void run(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "fault_bench: '%s' failed\n", cmd);
		exit(1);
	}
}

/* A started session with spikes at 10 ms tracking pid; exits on error. */
static struct hftmon *session(pid_t pid)
{
	HFTMON_OPTS(hftmon_monitor_config, c, .events = HFTMON_EV_SCHED_ALL,
		    .spike_threshold_us = 10000, .ring_pages = 64);
	struct hftmon *m;
	int err = hftmon_open(NULL, &m);

	if (!err)
		err = hftmon_configure(m, &c);
	if (!err)
		err = hftmon_attach_process(m, pid, NULL);
	if (!err)
		err = hftmon_start(m);
	if (err) {
		fprintf(stderr, "fault_bench: a spike session: %s\n", strerror(-err));
		exit(1);
	}
	return m;
}

static void end(struct hftmon *m)
{
	hftmon_stop(m);
	hftmon_close(m);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ko", required_argument, NULL, 'k' },
		{ "rounds", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	double ns[NR_STATES][MAX_ROUNDS], ratio[NR_STATES][MAX_ROUNDS];
	const char *ko = "./hftmon.ko";
	char insmod[4096];
	int rounds = 11, r, s, opt;
	struct hftmon *m;
	pid_t sleeper;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'k') {
			ko = optarg;
		} else if (opt == 'r') {
			rounds = atoi(optarg);
		} else {
			fprintf(stderr, "usage: fault_bench [--ko PATH] [--rounds N]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "fault_bench: --rounds 1..%d\n", MAX_ROUNDS);
		return 2;
	}
	snprintf(insmod, sizeof(insmod), "insmod %s", ko);
	sleeper = fork();
	if (sleeper < 0)
		return 1;
	if (!sleeper) {
		pause();
		_exit(0);
	}
	measure();	/* warm: the allocator's own first use */
	for (r = 0; r < rounds; r++) {
		ns[NO_MODULE][r] = measure();
		run(insmod);
		ns[LOADED][r] = measure();
		end(session(sleeper));
		ns[PROBE_LEFT][r] = measure();
		m = session(sleeper);
		ns[SESSION][r] = measure();
		end(m);
		m = session(getpid());
		ns[TRACKED][r] = measure();
		end(m);
		run("rmmod hftmon");
		for (s = 0; s < NR_STATES; s++)
			ratio[s][r] = ns[s][r] / ns[NO_MODULE][r];
	}
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	printf("page faults, %d x 4 KiB per sweep, median of %d sweeps, %d rounds:\n",
	       PAGES, SWEEPS, rounds);
	for (s = 0; s < NR_STATES; s++)
		printf("  %-46s %8.2f us/fault  %.3fx\n", state_name[s],
		       median(ns[s], rounds) / 1e3, median(ratio[s], rounds));
	return 0;
}
