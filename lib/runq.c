// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The history of who ran on each CPU (runq.h). A SWITCH record names
 * prev without its policy (the module does not record it): that side is
 * HFTMON_RUNQ_NO_POLICY, and explain names such a task by its other
 * switch where it has one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "runq.h"

int hftmon_agg_runq_init(struct hftmon_agg *a, uint32_t cap)
{
	struct hftmon_agg_runq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->h = calloc(cap, sizeof(*q->h));
	if (!q->h) {
		free(q);
		return -ENOMEM;
	}
	q->cap = cap;
	a->runq = q;
	return 0;
}

void hftmon_agg_runq_fini(struct hftmon_agg *a)
{
	if (!a->runq)
		return;
	free(a->runq->h);
	free(a->runq);
	a->runq = NULL;
}

static struct hftmon_agg_runq_switch *next_slot(struct hftmon_agg_runq *q)
{
	return &q->h[q->total++ % q->cap];
}

static void task_set(struct hftmon_agg_runq_task *t, int32_t pid, int32_t tid,
		     int32_t prio, uint32_t policy, const char *comm)
{
	t->pid = pid;
	t->tid = tid;
	t->prio = prio;
	t->policy = policy;
	memcpy(t->comm, comm, sizeof(t->comm));
}

void hftmon_agg_runq_switch(struct hftmon_agg *a, const struct hftmon_rec_switch *r)
{
	struct hftmon_agg_runq_switch *e = next_slot(a->runq);

	e->time_ns = r->hdr.time_ns;
	e->cpu = r->hdr.cpu;
	e->migrate = false;
	task_set(&e->prev, r->hdr.pid, r->hdr.tid, r->prev_prio,
		 HFTMON_RUNQ_NO_POLICY, r->prev_comm);
	task_set(&e->next, r->next_pid, r->next_tid, r->next_prio, r->next_policy,
		 r->next_comm);
}

void hftmon_agg_runq_record(struct hftmon_agg *a, const struct hftmon_rec_runq *r)
{
	struct hftmon_agg_runq_switch *e = next_slot(a->runq);

	e->time_ns = r->hdr.time_ns;
	e->cpu = r->hdr.cpu;
	e->migrate = false;
	task_set(&e->prev, r->prev_pid, r->prev_tid, r->prev_prio, r->prev_policy,
		 r->prev_comm);
	task_set(&e->next, r->hdr.pid, r->hdr.tid, r->next_prio, r->next_policy,
		 r->next_comm);
}

void hftmon_agg_runq_migrate(struct hftmon_agg *a, const struct hftmon_rec_migrate *r)
{
	struct hftmon_agg_runq_switch *e = next_slot(a->runq);

	memset(e, 0, sizeof(*e));
	e->time_ns = r->hdr.time_ns;
	e->cpu = r->dest_cpu;
	e->migrate = true;
	e->prev.pid = r->hdr.pid;
	e->prev.tid = r->hdr.tid;
	e->next.tid = (int32_t)r->orig_cpu;
}

uint64_t hftmon_agg_runq_oldest(const struct hftmon_agg *a)
{
	const struct hftmon_agg_runq *q = a->runq;

	return q->total > q->cap ? q->total - q->cap : 0;
}

const struct hftmon_agg_runq_switch *hftmon_agg_runq_at(const struct hftmon_agg *a,
							uint64_t i)
{
	return &a->runq->h[i % a->runq->cap];
}

uint64_t hftmon_agg_runq_first(const struct hftmon_agg *a, uint64_t since_ns)
{
	uint64_t lo = hftmon_agg_runq_oldest(a), hi = a->runq->total;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (hftmon_agg_runq_at(a, mid)->time_ns < since_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
