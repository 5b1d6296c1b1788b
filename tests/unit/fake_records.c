// SPDX-License-Identifier: LGPL-2.1 OR MIT
/* Typed records into the fake device's rings (see fake_records.h). */
#include <string.h>
#include <time.h>

#include "fake_records.h"
#include "fake_sys.h"

static void comm(char *dst, const char *src)
{
	memset(dst, 0, HFTMON_TASK_COMM_LEN);
	if (src)
		strncpy(dst, src, HFTMON_TASK_COMM_LEN - 1);
}

static const struct fake_task idle = { .comm = "swapper", .prio = 120 };

bool fake_switch(unsigned int cpu, uint64_t t, const struct fake_task *prev,
		 const struct fake_task *next, const struct fake_switch *how)
{
	static const struct fake_switch dflt = { .preempt = true };
	struct hftmon_rec_switch *s;

	if (!prev)
		prev = &idle;
	if (!next)
		next = &idle;
	if (!how)
		how = &dflt;
	s = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_SWITCH,
					  sizeof(*s));
	if (!s)
		return false;
	s->hdr.time_ns = t;
	s->hdr.pid = prev->pid;
	s->hdr.tid = prev->tid;
	if (prev->tracked)
		s->hdr.flags |= HFTMON_SWITCH_PREV_TRACKED;
	if (next->tracked)
		s->hdr.flags |= HFTMON_SWITCH_NEXT_TRACKED;
	if (how->preempt)
		s->hdr.flags |= HFTMON_SWITCH_PREEMPT;
	else if (how->prev_state)
		s->hdr.flags |= HFTMON_SWITCH_VOLUNTARY;
	s->next_pid = next->pid;
	s->next_tid = next->tid;
	s->prev_state = how->prev_state;
	s->prev_prio = prev->prio;
	s->next_prio = next->prio;
	s->next_policy = next->policy;
	s->prev_kstack_id = how->kstack;
	s->prev_ustack_id = how->ustack;
	comm(s->prev_comm, prev->comm);
	comm(s->next_comm, next->comm);
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_wakeup(unsigned int cpu, uint64_t t, const struct fake_task *task,
		 const struct fake_task *waker, __u32 target_cpu)
{
	struct hftmon_rec_wakeup *w;

	w = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_WAKEUP,
					  sizeof(*w));
	if (!w)
		return false;
	w->hdr.time_ns = t;
	w->hdr.pid = task->pid;
	w->hdr.tid = task->tid;
	w->waker_pid = waker ? waker->pid : 0;
	w->waker_tid = waker ? waker->tid : 0;
	w->prio = task->prio;
	w->target_cpu = target_cpu;
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_migrate(unsigned int cpu, uint64_t t, const struct fake_task *task,
		  __u32 from, __u32 to)
{
	struct hftmon_rec_migrate *r;

	r = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_MIGRATE,
					  sizeof(*r));
	if (!r)
		return false;
	r->hdr.time_ns = t;
	r->hdr.pid = task->pid;
	r->hdr.tid = task->tid;
	r->orig_cpu = from;
	r->dest_cpu = to;
	r->prio = task->prio;
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_runq(unsigned int cpu, uint64_t t, const struct fake_task *prev,
	       const struct fake_task *next)
{
	struct hftmon_rec_runq *r;

	r = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_RUNQ,
					  sizeof(*r));
	if (!r)
		return false;
	r->hdr.time_ns = t;
	r->hdr.pid = next->pid;
	r->hdr.tid = next->tid;
	r->prev_pid = prev->pid;
	r->prev_tid = prev->tid;
	r->prev_prio = prev->prio;
	r->next_prio = next->prio;
	r->prev_policy = prev->policy;
	r->next_policy = next->policy;
	r->waiting = 1;
	comm(r->prev_comm, prev->comm);
	comm(r->next_comm, next->comm);
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_exit(unsigned int cpu, uint64_t t, const struct fake_task *task)
{
	struct hftmon_rec_exit *r;

	r = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_EXIT,
					  sizeof(*r));
	if (!r)
		return false;
	r->hdr.time_ns = t;
	r->hdr.pid = task->pid;
	r->hdr.tid = task->tid;
	r->prio = task->prio;
	comm(r->comm, task->comm);
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_stack(unsigned int cpu, uint64_t t, const struct fake_task *task,
		__u32 id, const uint64_t *ips, __u32 nr, __u16 flags)
{
	struct hftmon_rec_stack *r;
	__u32 i;

	r = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_STACK,
					  (__u32)(sizeof(*r) + nr * 8));
	if (!r)
		return false;
	r->hdr.time_ns = t;
	r->hdr.flags = flags;
	r->hdr.pid = task->pid;
	r->hdr.tid = task->tid;
	r->stack_id = id;
	r->nr = nr;
	for (i = 0; i < nr; i++)
		r->ips[i] = ips[i];
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_switch_stack(unsigned int cpu, uint64_t t,
		       const struct fake_task *task, uint64_t out, uint64_t in,
		       __u32 id)
{
	struct hftmon_rec_switch_stack *r;

	r = (void *)ring_producer_reserve(&fake.prod[cpu],
					  HFTMON_REC_SWITCH_STACK, sizeof(*r));
	if (!r)
		return false;
	r->hdr.time_ns = t;
	r->hdr.pid = task->pid;
	r->hdr.tid = task->tid;
	r->out_ns = out;
	r->in_ns = in;
	r->kstack_id = id;
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_irq(unsigned int cpu, const struct fake_irq *irq)
{
	__u32 size = sizeof(struct hftmon_rec_irq) +
		     (irq->name ? HFTMON_IRQ_NAME_LEN : 0);
	struct hftmon_rec_irq *r;

	r = (void *)ring_producer_reserve(&fake.prod[cpu],
					  irq->kind == HFTMON_IRQ_KIND_SOFTIRQ ?
						  HFTMON_REC_SOFTIRQ :
						  HFTMON_REC_IRQ,
					  size);
	if (!r)
		return false;
	r->hdr.time_ns = irq->end;
	if (irq->victim) {
		r->hdr.pid = irq->victim->pid;
		r->hdr.tid = irq->victim->tid;
		r->hdr.flags |= HFTMON_IRQ_TRACKED;
	}
	r->start_ns = irq->start;
	r->gross_ns = irq->end - irq->start;
	r->net_ns = irq->net ? irq->net : r->gross_ns;
	r->raise_ns = irq->raise;
	r->kind = irq->kind;
	r->nr = irq->nr;
	r->depth = irq->depth;
	if (irq->name) {
		r->hdr.flags |= HFTMON_IRQ_NAMED;
		memset(r + 1, 0, HFTMON_IRQ_NAME_LEN);
		strncpy((char *)(r + 1), irq->name, HFTMON_IRQ_NAME_LEN - 1);
	}
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_spike(unsigned int cpu, const struct fake_spike *sp)
{
	struct hftmon_rec_spike *r;

	r = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_SPIKE,
					  sizeof(*r));
	if (!r)
		return false;
	r->hdr.time_ns = sp->end;
	r->hdr.flags = (__u16)sp->flags;
	r->hdr.pid = sp->victim->pid;
	r->hdr.tid = sp->victim->tid;
	r->start_ns = sp->start;
	r->threshold_ns = sp->threshold;
	r->type = sp->type;
	r->idle_state = sp->idle_state;
	r->idle_exit_ns = sp->idle_exit;
	r->links = sp->links;
	r->from_cpu = sp->from_cpu;
	r->addr = sp->addr;
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

int fake_ignore(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

bool fake_numa(unsigned int cpu, uint64_t t, const struct fake_task *task,
	       const struct fake_numa *n)
{
	struct hftmon_rec_numa *r;

	r = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_NUMA,
					  n->v1 ? HFTMON_REC_NUMA_SIZE_V1 :
						  sizeof(*r));
	if (!r)
		return false;
	r->hdr.time_ns = t;
	r->hdr.flags = (__u16)n->flags;
	r->hdr.pid = task->pid;
	r->hdr.tid = task->tid;
	r->kind = n->kind;
	r->pages = n->pages;
	r->src_cpu = n->src_cpu;
	r->src_nid = n->src_nid;
	r->dst_cpu = n->dst_cpu;
	r->dst_nid = n->dst_nid;
	r->other_pid = n->other ? n->other->pid : 0;
	r->other_tid = n->other ? n->other->tid : 0;
	if (!n->v1)
		r->addr = n->addr;
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

bool fake_pmu(unsigned int cpu, uint64_t start, uint64_t end,
	      const struct fake_task *task, __u32 nr, const uint64_t *delta,
	      const __s32 *status, const __u32 *flags)
{
	return fake_pmu_rec(cpu, start, end, task, 0, nr, delta, status, flags);
}

bool fake_pmu_rec(unsigned int cpu, uint64_t start, uint64_t end,
		  const struct fake_task *task, __u16 rec_flags, __u32 nr,
		  const uint64_t *delta, const __s32 *status,
		  const __u32 *flags)
{
	struct hftmon_rec_pmu *r;
	__u32 i;

	r = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_PMU,
					  sizeof(*r) + nr * sizeof(r->v[0]));
	if (!r)
		return false;
	r->hdr.flags = rec_flags;
	r->hdr.time_ns = end;
	r->hdr.pid = task->pid;
	r->hdr.tid = task->tid;
	r->start_ns = start;
	r->nr = nr;
	r->reserved = 0;
	for (i = 0; i < nr; i++) {
		r->v[i].status = status[i];
		/* What the module does: no number beside an errno. */
		r->v[i].delta = status[i] ? 0 : delta[i];
		r->v[i].flags = flags ? flags[i] : 0;
	}
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

uint64_t fake_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
