/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Who ran on each CPU (runq.c), for explain: a circular history, in time
 * order, of every context switch the records show, the tracked threads'
 * SWITCH records and the module's HFTMON_REC_RUNQ records of untracked
 * tasks where a tracked thread waited (HFTMON_EV_RUNQ). Allocated with
 * the aggregator when the session has HFTMON_EV_RUNQ; never after.
 */
#ifndef HFTMON_LIB_RUNQ_H
#define HFTMON_LIB_RUNQ_H

#include <stdint.h>

#include "hftmon.h"
#include "internal.h"

struct hftmon_agg;

/* One task as a switch names it. */
struct hftmon_agg_runq_task {
	int32_t pid, tid;
	int32_t prio;
	uint32_t policy; /* HFTMON_RUNQ_NO_POLICY: the record does not say */
	char comm[HFTMON_TASK_COMM_LEN];
};
#define HFTMON_RUNQ_NO_POLICY UINT32_MAX

/*
 * prev left and next arrived on cpu at time_ns; or (migrate) the tracked
 * thread prev moved from CPU next.tid to cpu.
 */
struct hftmon_agg_runq_switch {
	uint64_t time_ns;
	uint32_t cpu;
	bool migrate;
	struct hftmon_agg_runq_task prev, next;
};

struct hftmon_agg_runq {
	struct hftmon_agg_runq_switch *h;
	uint32_t cap;
	uint64_t total; /* ever written; next at total % cap */
};

/* 0 or -ENOMEM; cap > 0. */
HFTMON_INTERNAL int hftmon_agg_runq_init(struct hftmon_agg *a, uint32_t cap);
HFTMON_INTERNAL void hftmon_agg_runq_fini(struct hftmon_agg *a);

/* A SWITCH or RUNQ record, in time order (the merge's). */
HFTMON_INTERNAL void hftmon_agg_runq_switch(struct hftmon_agg *a,
					    const struct hftmon_rec_switch *r);
HFTMON_INTERNAL void hftmon_agg_runq_record(struct hftmon_agg *a,
					    const struct hftmon_rec_runq *r);
HFTMON_INTERNAL void hftmon_agg_runq_migrate(struct hftmon_agg *a,
					     const struct hftmon_rec_migrate *r);

/* Index of the first switch at or after since_ns (up to total). */
HFTMON_INTERNAL uint64_t hftmon_agg_runq_first(const struct hftmon_agg *a,
					       uint64_t since_ns);
HFTMON_INTERNAL uint64_t hftmon_agg_runq_oldest(const struct hftmon_agg *a);
HFTMON_INTERNAL const struct hftmon_agg_runq_switch *
hftmon_agg_runq_at(const struct hftmon_agg *a, uint64_t i);

#endif
