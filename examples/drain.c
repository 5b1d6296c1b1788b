// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * drain: a drain-only consumer. No aggregator (raw_only: nothing is
 * allocated for queries); the caller's own thread waits for the rings and
 * takes every record zero-copy, as a trading process that ships raw
 * events elsewhere would. Prints one line per context switch and, at the
 * end, what was written, delivered, lost and not understood. Built
 * against the installed headers only by make examples.
 *
 * A raw consumer that must lose nothing sizes its rings for the longest
 * burst it may have to hold between two of its passes (the module's
 * default, 64 pages, is 256 KiB per CPU: about 4000 switch and wake-up
 * records). This one asks for 4 MiB per CPU, and the module says at
 * configure if that is more than it allows (max_ring_pages).
 *
 *   drain PID SECONDS
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hftmon.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "drain: %s: %s\n", what, strerror(-err));
	return 1;
}

static int on_record(void *ctx, const struct hftmon_rec_hdr *rec)
{
	const struct hftmon_rec_switch *s = (const void *)rec;

	(*(unsigned long *)ctx)++;
	if (rec->type == HFTMON_REC_SWITCH)
		printf("%" PRIu64 " cpu %u: %d -> %d%s\n",
		       (uint64_t)rec->time_ns, rec->cpu, rec->tid, s->next_tid,
		       rec->flags & HFTMON_SWITCH_VOLUNTARY ? " (blocked)" : "");
	return 0; /* non-zero would stop the drain after this record */
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long seen = 0;
	struct hftmon *m;
	uint64_t end;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: drain PID SECONDS\n");
		return 2;
	}
	err = hftmon_open(NULL, &m);
	if (err)
		return fail("open", err);
	HFTMON_OPTS(hftmon_monitor_config, cfg, .raw_only = true,
		    .ring_pages = 1024, /* 4 MiB a CPU with 4 KiB pages */
		    .events = HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP);
	err = hftmon_configure(m, &cfg);
	if (!err)
		err = hftmon_attach_process(m, (pid_t)atoi(argv[1]), NULL);
	if (!err)
		err = hftmon_start(m);
	if (err)
		return fail("setup", err);

	end = now_ns() + (uint64_t)atoi(argv[2]) * 1000000000u;
	while (now_ns() < end) {
		err = hftmon_wait(m, 100);
		if (err < 0)
			return fail("wait", err);
		err = hftmon_drain(m, on_record, &seen);
		if (err < 0)
			return fail("drain", err);
	}
	hftmon_stop(m);
	err = hftmon_drain(m, on_record, &seen); /* what is left */
	if (err < 0)
		return fail("drain", err);

	HFTMON_OPTS(hftmon_stats_summary, sum);
	err = hftmon_get_stats(m, &sum, NULL, 0);
	if (err < 0)
		return fail("stats", err);
	printf("%lu records: %" PRIu64 " written, %" PRIu64 " lost (%" PRIu64
	       " by seq), %" PRIu64 " of types this library does not know\n",
	       seen, sum.records, sum.lost_total, sum.seq_gaps,
	       sum.unknown_records);
	hftmon_close(m);
	return 0;
}
