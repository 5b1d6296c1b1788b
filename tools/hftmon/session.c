// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The library calls more than one command makes, each in one place:
 * opening the device (with libhftmon's messages on stderr under -v), the
 * configure/attach/start of a drain-thread session (sched, switches), the
 * per-thread scheduling info (sched, and record's thread names), and the
 * loss line every report ends with.
 */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"

static void log_cb(void *ctx, enum hftmon_log_level level, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	(void)ctx;
	if (cli_verbose)
		fprintf(stderr, "hftmon: libhftmon %s: %s\n",
			(unsigned int)level < 4 ? names[level] : "?", msg);
}

int open_device(struct hftmon **m)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = cli_device,
				      .log = log_cb };
	int err = hftmon_open(&o, m);

	if (err)
		return report_error(err, "%s",
				    cli_device ? cli_device : HFTMON_DEVICE);
	return 0;
}

int start_drain_thread_session(struct hftmon **mp, pid_t pid,
			       const struct hftmon_monitor_config *cfg,
			       const struct hftmon_attach_opts *ao)
{
	struct hftmon *m;
	int ret;

	if (open_device(&m))
		return EXIT_FAILURE;
	ret = hftmon_configure(m, cfg);
	if (ret) {
		hftmon_close(m);
		return report_error(ret, "configure");
	}
	ret = hftmon_attach_process(m, pid, ao);
	if (ret) {
		hftmon_close(m);
		return report_error(ret, "attach pid %d", (int)pid);
	}
	install_signals();
	ret = hftmon_start(m);
	if (ret) {
		hftmon_close(m);
		return report_error(ret, "start");
	}
	*mp = m;
	return 0;
}

int get_threads(struct hftmon *m, pid_t pid, struct hftmon_thread_info **info,
		size_t *cap)
{
	int n;

	for (;;) {
		n = hftmon_get_thread_scheduling_info(m, pid, *info, *cap);
		if (n < 0 || (size_t)n <= *cap)
			return n;
		free(*info);
		*cap = (size_t)n + 16; /* threads may appear meanwhile */
		*info = calloc(*cap, sizeof(**info));
		if (!*info) {
			*cap = 0;
			return -ENOMEM;
		}
		(*info)[0].sz = sizeof(**info);
	}
}

int get_latencies(struct hftmon *m, const struct hftmon_thread_info *t, int n,
		  uint64_t window_us, struct hftmon_latency *lat)
{
	int i, err;

	for (i = 0; i < n; i++) {
		struct hftmon_latency_query q = { .sz = sizeof(q),
						  .pid = t[i].pid,
						  .tid = t[i].tid,
						  .window_us = window_us };

		lat[i] = (struct hftmon_latency){ .sz = sizeof(lat[i]) };
		err = hftmon_get_wakeup_latency(m, &q, &lat[i]);
		if (err && err != -ENODATA)
			return err;
	}
	return 0;
}

void print_losses(struct hftmon *m)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	int ret = hftmon_get_stats(m, &sum, NULL, 0);

	if (ret) {
		report_error(ret, "statistics");
		return;
	}
	printf("lost: %llu records in the kernel (ring_full %llu, too_big %llu, no_space %llu), %llu seq gaps; history overwritten: %llu switches, %llu wake-ups; aggregator: %llu late, %llu dropped\n",
	       (unsigned long long)sum.lost_total,
	       (unsigned long long)sum.lost[HFTMON_LOST_RING_FULL],
	       (unsigned long long)sum.lost[HFTMON_LOST_TOO_BIG],
	       (unsigned long long)sum.lost[HFTMON_LOST_NO_SPACE],
	       (unsigned long long)sum.seq_gaps,
	       (unsigned long long)sum.switches_overwritten,
	       (unsigned long long)sum.wakeups_overwritten,
	       (unsigned long long)sum.aggregator_late,
	       (unsigned long long)sum.aggregator_dropped);
}
