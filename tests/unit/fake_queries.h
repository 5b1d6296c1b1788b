/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * What the tests that feed the fake device's rings (fake_records.h) and
 * then query the library share: a time scale for their scenarios, the
 * switch-out that blocks, and the wake-up latency query with its
 * arguments spelled out.
 */
#ifndef HFTMON_TESTS_FAKE_QUERIES_H
#define HFTMON_TESTS_FAKE_QUERIES_H

#include <stddef.h>
#include <stdint.h>

#include "fake_records.h"
#include "hftmon.h"

/*
 * t in microseconds after 1 ms of uptime: the clock has passed it, so
 * only the rules under test hold records back.
 */
#define US(t) (1000000ull + (uint64_t)(t) * 1000ull)

/* A switch-out that blocks (voluntary, prev_state TASK_INTERRUPTIBLE). */
static const struct fake_switch BLOCK = { .prev_state = 1 };

static inline int latency(struct hftmon *m, pid_t pid, pid_t tid,
			  uint64_t window_us, const double *pct, double *out,
			  size_t nr, struct hftmon_latency *lat)
{
	struct hftmon_latency_query q = { .sz = sizeof(q), .pid = pid,
					  .tid = tid, .window_us = window_us,
					  .percentiles = pct, .pct_out = out,
					  .nr_percentiles = nr };

	if (lat)
		lat->sz = sizeof(*lat);
	return hftmon_get_wakeup_latency(m, &q, lat);
}

#endif /* HFTMON_TESTS_FAKE_QUERIES_H */
