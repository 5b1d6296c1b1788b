// SPDX-License-Identifier: GPL-2.0
/*
 * numa_bench: what sampling a process's NUMA residency costs it (issue 9,
 * Measure), in one VM boot. A worker process pinned to CPU 0 sweeps a
 * buffer of RSS MiB (a read and a write per cache line, the pages all
 * resident, 4 KiB ones: MADV_NOHUGEPAGE) for a fixed number of passes; its time is measured with
 * nobody sampling, and while this process, pinned to CPU 1 as the CLI's
 * monitor would be, calls hftmon_get_numa_residency() on it every 100 ms,
 * 10 ms and 1 ms (the kernel's numa_maps walk of its page tables, under
 * its mmap_lock). Trials are interleaved and the median of each kept;
 * the slowdowns are printed as ratios to the unsampled time, with the
 * sampler's own time per sample (how it grows with the RSS) and the rate
 * it achieved. The passes are set so that a sweep takes about 1.5 s.
 * Prints figures only: nothing here asserts a time.
 *   numa_bench [--trials T] [--passes P] [--rss MIB]...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hftmon.h>

#define MAX_RSS		8
#define MAX_TRIALS	15
#define MAX_MAPPINGS	256

static const uint64_t intervals_us[] = { 0, 100000, 10000, 1000 };
#define NR_MODES (sizeof(intervals_us) / sizeof(intervals_us[0]))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * The worker: faults its buffer in, says so (one byte on ready), waits
 * for go, sweeps, and sends its own time for the sweeps (8 bytes).
 */
static pid_t worker(size_t bytes, unsigned int passes, int ready, int go)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	{
		volatile unsigned char *b;
		uint64_t t0, t;
		unsigned int p;
		size_t i;
		char c = 0;

		pin(0);
		b = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b == MAP_FAILED)
			_exit(1);
		/*
		 * 4 KiB pages, the walk's worst case (a huge page is one PMD
		 * entry to it); EINVAL where the kernel has no THP, ENOSYS
		 * where it has no madvise().
		 */
		if (madvise((void *)b, bytes, MADV_NOHUGEPAGE) &&
		    errno != EINVAL && errno != ENOSYS)
			_exit(1);
		for (i = 0; i < bytes; i += 4096)
			b[i] = 1;
		if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
			_exit(1);
		t0 = now_ns();
		for (p = 0; p < passes; p++)
			for (i = 0; i < bytes; i += 64)
				b[i] = (unsigned char)(b[i] + 1);
		t = now_ns() - t0;
		if (write(ready, &t, sizeof(t)) != sizeof(t))
			_exit(1);
		_exit(0);
	}
}

struct trial {
	uint64_t sweep_ns;	/* the worker's time */
	uint64_t samples, sample_ns;	/* the sampler's calls, their time */
	uint64_t span_ns;	/* from the first sample to the last */
};

static int run_trial(size_t bytes, unsigned int passes, uint64_t every_us,
		     struct hftmon_numa_mapping *maps, struct trial *tr)
{
	int up[2], down[2], status;
	uint64_t next, first = 0, last = 0;
	pid_t pid;
	char c = 0;

	memset(tr, 0, sizeof(*tr));
	if (pipe(up) || pipe(down))
		return -errno;
	pid = worker(bytes, passes, up[1], down[0]);
	if (pid < 0)
		return -errno;
	close(up[1]);
	close(down[0]);
	if (read(up[0], &c, 1) != 1 || write(down[1], &c, 1) != 1)
		return -EIO;
	next = now_ns();
	for (;;) {
		struct timespec ts;
		uint64_t t0, t1;
		int n;

		if (!every_us) {
			if (read(up[0], &tr->sweep_ns, sizeof(tr->sweep_ns)) !=
			    sizeof(tr->sweep_ns))
				return -EIO;
			break;
		}
		/* The result arrives once the sweeps end. */
		{
			fd_set r;
			struct timeval tv = { 0, 0 };

			FD_ZERO(&r);
			FD_SET(up[0], &r);
			if (select(up[0] + 1, &r, NULL, NULL, &tv) > 0) {
				if (read(up[0], &tr->sweep_ns,
					 sizeof(tr->sweep_ns)) !=
				    sizeof(tr->sweep_ns))
					return -EIO;
				break;
			}
		}
		t0 = now_ns();
		n = hftmon_get_numa_residency(NULL, pid, maps, MAX_MAPPINGS);
		t1 = now_ns();
		if (n < 0)
			return n;
		if (!first)
			first = t0;
		last = t0;
		tr->samples++;
		tr->sample_ns += t1 - t0;
		next += every_us * 1000;
		if (next > t1) {
			ts.tv_sec = (time_t)(next / 1000000000u);
			ts.tv_nsec = (long)(next % 1000000000u);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
					NULL);
		} else {
			next = t1; /* behind: the rate it can do */
		}
	}
	tr->span_ns = last - first;
	close(up[0]);
	close(down[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -ECHILD;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trials", required_argument, NULL, 't' },
		{ "passes", required_argument, NULL, 'p' },
		{ "rss", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int trials = 5, passes = 40, nr_rss = 0, r, t, k;
	unsigned long rss_mib[MAX_RSS];
	struct hftmon_numa_mapping *maps;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			trials = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			passes = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			if (nr_rss < MAX_RSS)
				rss_mib[nr_rss++] = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: numa_bench [--trials T] [--passes P] [--rss MIB]...\n");
			return 2;
		}
	}
	if (!nr_rss) {
		rss_mib[nr_rss++] = 16;
		rss_mib[nr_rss++] = 128;
	}
	if (!trials || trials > MAX_TRIALS || !passes) {
		fprintf(stderr, "numa_bench: trials 1..%d, passes > 0\n",
			MAX_TRIALS);
		return 2;
	}
	maps = calloc(MAX_MAPPINGS, sizeof(*maps));
	if (!maps || pin(1)) {
		fprintf(stderr, "numa_bench: needs memory and CPU 1\n");
		return 1;
	}
	maps[0].sz = sizeof(*maps);
	printf("NUMA residency sampling (hftmon_get_numa_residency() from CPU 1) of a worker on CPU 0 sweeping its buffer, medians of %u interleaved trials:\n",
	       trials);
	printf("%8s %10s %12s %10s %12s %12s\n", "RSS(MiB)", "EVERY", "SWEEP(ms)",
	       "SLOWDOWN", "US/SAMPLE", "SAMPLES/S");
	for (r = 0; r < nr_rss; r++) {
		uint64_t sweep[NR_MODES][MAX_TRIALS], per[NR_MODES][MAX_TRIALS],
			rate[NR_MODES][MAX_TRIALS];
		size_t bytes = (size_t)rss_mib[r] << 20;
		/* The same bytes swept whatever the size: passes scale down. */
		unsigned int p = passes * 16 / (unsigned int)(rss_mib[r] ? rss_mib[r] : 1);

		if (!p)
			p = 1;
		/* Long enough for ten samples at 100 ms: about 1.5 s a sweep. */
		{
			struct trial tr;

			if (run_trial(bytes, p, 0, maps, &tr))
				return 1;
			if (tr.sweep_ns && tr.sweep_ns < 1500000000ull)
				p = (unsigned int)((uint64_t)p * 1500000000ull /
						   tr.sweep_ns) + 1;
		}
		for (t = 0; t < trials; t++)
			for (k = 0; k < NR_MODES; k++) {
				struct trial tr;
				int err = run_trial(bytes, p, intervals_us[k],
						    maps, &tr);

				if (err) {
					fprintf(stderr, "numa_bench: trial: %s\n",
						strerror(-err));
					return 1;
				}
				sweep[k][t] = tr.sweep_ns;
				per[k][t] = tr.samples ? tr.sample_ns / tr.samples : 0;
				rate[k][t] = tr.span_ns && tr.samples > 1 ?
						     (tr.samples - 1) * 1000000000ull /
							     tr.span_ns :
						     0;
			}
		{
			uint64_t base = median(sweep[0], trials);

			for (k = 0; k < NR_MODES; k++) {
				uint64_t s = median(sweep[k], trials);
				char every[32];

				if (intervals_us[k])
					snprintf(every, sizeof(every), "%llu ms",
						 (unsigned long long)intervals_us[k] / 1000);
				else
					snprintf(every, sizeof(every), "never");
				printf("%8lu %10s %12.1f %9.3fx %12.1f %12llu\n",
				       rss_mib[r], every, (double)s / 1e6,
				       (double)s / (double)base,
				       (double)median(per[k], trials) / 1000.0,
				       (unsigned long long)median(rate[k], trials));
			}
		}
	}
	free(maps);
	return 0;
}
