/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * PMU counters in the aggregator (pmu.c): per tracked thread, the sums of
 * the HFTMON_REC_PMU records' per-slice deltas, per counter, with how
 * many slices counted and how many did not (and the last errno of those);
 * and a circular history of the slices themselves, for windows. Taken in
 * as the records are drained, not through the time-ordering merge: sums
 * do not depend on order, and the history remembers the newest end time
 * it lost so a window knows whether it is complete. Allocated with the
 * aggregator when the session has HFTMON_EV_PMU; never allocates after.
 */
#ifndef HFTMON_LIB_PMU_H
#define HFTMON_LIB_PMU_H

#include <stdbool.h>
#include <stdint.h>

#include "hftmon.h"
#include "internal.h"

struct hftmon_agg;

struct hftmon_agg_pmu_sum {
	uint64_t value; /* sum of the deltas of the slices that counted */
	uint64_t counted, missed; /* slices with status 0, and the others */
	uint64_t rescheduled; /* counted slices with HFTMON_PMU_RESCHEDULED */
	int32_t last_err; /* the last nonzero status, 0 none */
};

struct hftmon_agg_pmu_thread {
	int32_t pid, tid; /* tid 0: free slot */
	uint64_t slices, on_cpu_ns; /* slices: records that end one */
	uint64_t ticks, tick_ns; /* HFTMON_PMU_TICK records, their length */
	struct hftmon_agg_pmu_sum c[HFTMON_PMU_MAX_COUNTERS];
};

struct hftmon_agg_pmu_slice {
	uint64_t start_ns, end_ns;
	int32_t pid, tid;
	uint32_t rec_flags; /* the record's hdr.flags (HFTMON_PMU_TICK) */
	uint64_t delta[HFTMON_PMU_MAX_COUNTERS];
	int32_t status[HFTMON_PMU_MAX_COUNTERS];
	uint32_t flags[HFTMON_PMU_MAX_COUNTERS];
};

struct hftmon_agg_pmu {
	unsigned int nr; /* counters configured */
	int32_t cfg_status[HFTMON_PMU_MAX_COUNTERS]; /* CONFIGURE's */
	struct hftmon_agg_pmu_thread *threads;
	struct hftmon_agg_pmu_thread *scratch; /* a window query's sums */
	uint32_t nr_slots, nr_threads, max_threads;
	struct hftmon_agg_pmu_slice *slices;
	uint32_t slice_cap;
	uint64_t slice_total;
	uint64_t lost_end_ns; /* newest end_ns overwritten in the history */
	uint64_t records; /* PMU records taken in */
};

/* The index of the oldest slice the history still holds. */
static inline uint64_t hftmon_pmu_first_held(const struct hftmon_agg_pmu *p)
{
	return p->slice_total > p->slice_cap ? p->slice_total - p->slice_cap : 0;
}

/* Allocates a->pmu for nr counters; 0 or -ENOMEM. */
HFTMON_INTERNAL int hftmon_agg_pmu_init(struct hftmon_agg *a, unsigned int nr,
					const int32_t *cfg_status,
					uint32_t max_threads,
					uint32_t history_slices);
HFTMON_INTERNAL void hftmon_agg_pmu_fini(struct hftmon_agg *a);
/* A checked HFTMON_REC_PMU record (hftmon_record_check()), any order. */
HFTMON_INTERNAL void hftmon_agg_pmu_record(struct hftmon_agg *a,
					   const struct hftmon_rec_pmu *r);

/*
 * One counter's metric over q's threads and span (hftmon_get_pmu_totals()'s
 * rules, q already checked), summed over its threads: false when a window
 * reached back past the slice history (the sum then lacks its oldest
 * slices). Takes the lock.
 */
HFTMON_INTERNAL bool hftmon_pmu_sum(struct hftmon *m,
				    const struct hftmon_pmu_query *q,
				    unsigned int idx, struct hftmon_pmu_metric *o);

/*
 * s's pmu_* fields (struct hftmon_spike, HFTMON_2.4): the thread's
 * records in the slice history that overlap the spike, summed. Takes the
 * lock; allocates nothing.
 */
HFTMON_INTERNAL void hftmon_pmu_join(struct hftmon *m, struct hftmon_spike *s);

#endif /* HFTMON_LIB_PMU_H */
