// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler family: sched_switch, sched_waking, sched_wakeup(_new),
 * sched_migrate_task, sched_process_exit and sched_process_fork, and the
 * kernel and user stacks the switch probe takes at switch-out. Each probe
 * is checked against the prototype in <trace/events/sched.h> (see
 * HFTMON_TRACEPOINT()) and writes one record of a tracked task into this
 * CPU's ring; an untracked task costs a hash lookup while a session runs.
 *
 * Contexts, generic and PREEMPT_RT alike (checked against both):
 * - sched_switch, sched_wakeup, sched_wakeup_new, sched_migrate_task fire
 *   with the runqueue lock or the task's pi_lock held. Both are
 *   raw_spinlock_t, which PREEMPT_RT does not turn into sleeping locks,
 *   and both are also taken from hard IRQs (the tick, wake-ups from
 *   handlers), so they are always held with IRQs off: lockdep would report
 *   an IRQ inversion otherwise. These probes therefore write with
 *   irqs_off (the ring asserts it under lockdep); a task waking itself
 *   is the exception (see the wake-up probes below). Nothing here may
 *   sleep, allocate or wake a task: the ring defers wake-ups to irq_work.
 * - sched_process_exit and sched_process_fork fire in the task's process
 *   context with IRQs on; the tracepoint disables preemption around its
 *   probes on both kernels, so smp_processor_id() names our ring for the
 *   whole write, and the ring disables IRQs around its bookkeeping.
 * - No probe takes a spinlock_t (a sleeping lock on PREEMPT_RT): the
 *   tracked table is read under RCU, the stack table is lock-free.
 * - On PREEMPT_RT a task blocking on a sleeping spinlock (rtlock) switches
 *   out with preempt == false and prev_state TASK_RTLOCK_WAIT, which
 *   __schedule() counts in nvcsw: the VOLUNTARY rule below holds there too.
 */
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <trace/events/sched.h>

#include "../hftmon_probe.h"
#include "../hftmon_irq.h"
#include "../hftmon_wakers.h"

/* prev is current: the probe runs before the switch. */
static noinline void hftmon_switch_stacks(struct hftmon_rec *w, u32 flags,
					  struct task_struct *prev,
					  u32 *kstack, u32 *ustack)
{
	unsigned long ips[HFTMON_STACK_DEPTH];
	unsigned int nr;
	bool trunc;

	if (flags & HFTMON_ATTACH_KSTACK) {
		nr = hftmon_stack_kernel(ips, ARRAY_SIZE(ips));
		*kstack = hftmon_stack_id(&w->s->stacks, w->rb, prev, ips, nr,
					  nr == ARRAY_SIZE(ips) ?
					  HFTMON_STACK_TRUNCATED : 0);
	}
	if (flags & HFTMON_ATTACH_USTACK) {
		nr = hftmon_stack_user(ips, ARRAY_SIZE(ips), &trunc);
		*ustack = hftmon_stack_id(&w->s->stacks, w->rb, prev, ips, nr,
					  HFTMON_STACK_USER |
					  (trunc ? HFTMON_STACK_TRUNCATED : 0));
	}
}

/* One record when prev or next is tracked; subject = prev. */
void hftmon_tp_sched_switch(void *data, bool preempt, struct task_struct *prev,
			    struct task_struct *next, unsigned int prev_state)
{
	struct hftmon_session *s = hftmon_session_for(data);
	const struct hftmon_proc *pp, *np;
	struct hftmon_rec_switch *r;
	u32 kstack = 0, ustack = 0;
	struct hftmon_rec w;
	u16 flags = 0;

	if (!s)
		return;
	pp = hftmon_track_find(&s->track, prev);
	np = hftmon_track_find(&s->track, next);
	hftmon_irq_note_switch(next, np);
	if (likely(!pp && !np))
		return;

	/* Stacks first: a new stack's record precedes its first use. */
	w.s = s;
	w.rb = s->rings[smp_processor_id()];
	if (pp && (pp->flags & (HFTMON_ATTACH_KSTACK | HFTMON_ATTACH_USTACK)))
		hftmon_switch_stacks(&w, pp->flags, prev, &kstack, &ustack);
	r = hftmon_rec_reserve(&w, s, prev, HFTMON_REC_SWITCH, sizeof(*r), true);
	if (!r)
		return;
	if (pp)
		flags |= HFTMON_SWITCH_PREV_TRACKED;
	if (np)
		flags |= HFTMON_SWITCH_NEXT_TRACKED;
	if (preempt)
		flags |= HFTMON_SWITCH_PREEMPT;
	/* As __schedule() picks nvcsw vs nivcsw for prev. */
	if (!preempt && prev_state)
		flags |= HFTMON_SWITCH_VOLUNTARY;
	r->hdr.flags = flags;
	r->next_pid = next->tgid;
	r->next_tid = next->pid;
	r->prev_state = prev_state;
	r->prev_prio = prev->prio;
	r->next_prio = next->prio;
	r->next_policy = next->policy;
	r->prev_kstack_id = kstack;
	r->prev_ustack_id = ustack;
	hftmon_copy_comm(r->prev_comm, prev);
	hftmon_copy_comm(r->next_comm, next);
	hftmon_rec_commit(&w);
}

/*
 * Wake-ups. The waker is current at sched_waking, which try_to_wake_up()
 * fires in the waker's own context; sched_wakeup fires where the woken
 * task is enqueued, and target_cpu (task_cpu() there) is only decided by
 * then. When the kernel hands a wake-up from another CPU over to the
 * target's wake list (TTWU_QUEUE, for CPUs that share no cache),
 * sched_wakeup runs on the target, from the IPI or its idle loop, where
 * current is whatever ran there. So the waking probe puts the waker in
 * hftmon_wakers and the wakeup probe, which makes the one record, takes
 * it back. Contexts (6.1 and 6.12, generic and PREEMPT_RT alike):
 * - A task waking another: sched_waking under the task's pi_lock,
 *   sched_wakeup under that and the runqueue lock, or under the target's
 *   runqueue lock alone (the wake list); all raw_spinlock_t, held with
 *   IRQs off, PREEMPT_RT included.
 * - A task waking itself (between set_current_state() and schedule()):
 *   both fire back to back with only preemption off, IRQs possibly on
 *   (on PREEMPT_RT, e.g. from a softirq run in its own context). No table
 *   then, and the record is written as by a process-context probe.
 * - sched_wakeup_new fires in the parent's context: current is the waker.
 */
/*
 * IRQs are off where the above says so: lockdep checks it, and a build
 * with KCFLAGS=-DHFTMON_CHECK_IRQS (a splat fails a VM run) on kernels
 * without lockdep, such as Debian's PREEMPT_RT ones.
 */
#ifdef HFTMON_CHECK_IRQS
#define hftmon_assert_irqs_off()	WARN_ON_ONCE(!irqs_disabled())
#else
#define hftmon_assert_irqs_off()	lockdep_assert_irqs_disabled()
#endif

#define HFTMON_WAKERS_BITS	8	/* 256 buckets, 1024 slots, 32 KiB */

static struct hftmon_waker_bucket hftmon_waker_buckets[1 << HFTMON_WAKERS_BITS];

struct hftmon_wakers hftmon_wakers = {
	.buckets = hftmon_waker_buckets,
	.bits = HFTMON_WAKERS_BITS,
};

/* In interrupt context no task asked for the wake-up: see the uapi. */
static __always_inline u16 hftmon_waker_of(s32 *tgid, s32 *tid)
{
	if (!in_task()) {
		*tgid = 0;
		*tid = 0;
		return HFTMON_WAKEUP_IRQ;
	}
	*tgid = current->tgid;
	*tid = current->pid;
	return 0;
}

void hftmon_tp_sched_waking(void *data, struct task_struct *p)
{
	struct hftmon_session *s = hftmon_session_for(data);
	s32 tgid, tid;
	u16 flags;

	/* Waking itself: sched_wakeup follows here, in the same context. */
	if (!s || p == current || likely(!hftmon_track_find(&s->track, p)))
		return;
	hftmon_assert_irqs_off();
	flags = hftmon_waker_of(&tgid, &tid);
	/* No room: the record says NO_WAKER. */
	hftmon_waker_put(&hftmon_wakers, (unsigned long)p, s->start_ns, tgid,
			 tid, flags);
}

static __always_inline void hftmon_wakeup_fill(struct hftmon_rec_wakeup *r,
					       struct task_struct *p, u16 flags,
					       s32 tgid, s32 tid)
{
	r->hdr.flags = flags;
	r->waker_pid = tgid;
	r->waker_tid = tid;
	r->prio = p->prio;
	r->target_cpu = task_cpu(p);
}

/* Subject = the woken task; hdr.cpu is the CPU that enqueued it. */
void hftmon_tp_sched_wakeup(void *data, struct task_struct *p)
{
	struct hftmon_session *s = hftmon_session_for(data);
	struct hftmon_rec_wakeup *r;
	struct hftmon_rec w;
	s32 tgid, tid;
	u16 flags;

	if (!s || likely(!hftmon_track_find(&s->track, p)))
		return;
	if (unlikely(p == current)) {
		/* IRQs may be on: the ring's nesting-safe path. */
		flags = hftmon_waker_of(&tgid, &tid);
		r = hftmon_rec_reserve(&w, s, p, HFTMON_REC_WAKEUP, sizeof(*r),
				       false);
		if (!r)
			return;
		hftmon_wakeup_fill(r, p, flags, tgid, tid);
		hftmon_rec_commit(&w);
		return;
	}
	hftmon_assert_irqs_off();
	/* Taken before the reserve: a lost record leaves no entry behind. */
	if (!hftmon_waker_take(&hftmon_wakers, (unsigned long)p, s->start_ns,
			       &tgid, &tid, &flags)) {
		tgid = 0;
		tid = 0;
		flags = HFTMON_WAKEUP_NO_WAKER;
	}
	r = hftmon_rec_reserve(&w, s, p, HFTMON_REC_WAKEUP, sizeof(*r), true);
	if (!r)
		return;
	hftmon_wakeup_fill(r, p, flags, tgid, tid);
	hftmon_rec_commit(&w);
}

/* A new task's first wake-up, in its parent's context. */
static void hftmon_tp_sched_wakeup_new(void *data, struct task_struct *p)
{
	struct hftmon_rec_wakeup *r;
	struct hftmon_rec w;

	r = hftmon_rec_begin(&w, data, p, HFTMON_REC_WAKEUP, sizeof(*r), true);
	if (!r)
		return;
	hftmon_wakeup_fill(r, p, HFTMON_WAKEUP_NEW, current->tgid,
			   current->pid);
	hftmon_rec_commit(&w);
}

static void hftmon_tp_sched_migrate_task(void *data, struct task_struct *p,
					 int dest_cpu)
{
	struct hftmon_rec_migrate *r;
	struct hftmon_rec w;

	r = hftmon_rec_begin(&w, data, p, HFTMON_REC_MIGRATE, sizeof(*r), true);
	if (!r)
		return;
	r->orig_cpu = task_cpu(p);
	r->dest_cpu = dest_cpu;
	r->prio = p->prio;
	r->reserved = 0;
	hftmon_rec_commit(&w);
}

void hftmon_tp_sched_process_exit(void *data, struct task_struct *p)
{
	struct hftmon_rec_exit *r;
	struct hftmon_rec w;

	r = hftmon_rec_begin(&w, data, p, HFTMON_REC_EXIT, sizeof(*r), false);
	if (!r)
		return;
	/*
	 * do_exit() drops signal->live before this tracepoint, but threads
	 * exiting together may all have dropped it before the first of them
	 * gets here, and each would see 0. The flag goes to the first that
	 * sees it, once per process: the state bit is the only mutable
	 * part of a tracked entry, changed with atomic bitops alone.
	 */
	if (!atomic_read(&p->signal->live) &&
	    !test_and_set_bit(HFTMON_PROC_GROUP_DEAD,
			      (unsigned long *)&w.proc->state))
		r->hdr.flags = HFTMON_EXIT_GROUP_DEAD;
	r->prio = p->prio;
	r->reserved = 0;
	hftmon_copy_comm(r->comm, p);
	hftmon_rec_commit(&w);
}

/* Subject = the parent. */
static void hftmon_tp_sched_process_fork(void *data, struct task_struct *parent,
					 struct task_struct *child)
{
	struct hftmon_rec_fork *r;
	struct hftmon_rec w;

	r = hftmon_rec_begin(&w, data, parent, HFTMON_REC_FORK, sizeof(*r),
			     false);
	if (!r)
		return;
	if (child->tgid == parent->tgid)
		r->hdr.flags = HFTMON_FORK_THREAD;
	r->child_pid = child->tgid;
	r->child_tid = child->pid;
	hftmon_copy_comm(r->child_comm, child);
	hftmon_rec_commit(&w);
}

enum {
	SCHED_TP_SWITCH,
	SCHED_TP_WAKEUP,
	SCHED_TP_WAKEUP_NEW,
	SCHED_TP_MIGRATE,
	SCHED_TP_EXIT,
	SCHED_TP_FORK,
	SCHED_TP_WAKING,
	SCHED_TP_NR,
};

static struct hftmon_tracepoint hftmon_sched_tps[SCHED_TP_NR] = {
	[SCHED_TP_SWITCH] = HFTMON_TRACEPOINT(sched_switch,
					      hftmon_tp_sched_switch),
	[SCHED_TP_WAKEUP] = HFTMON_TRACEPOINT(sched_wakeup,
					      hftmon_tp_sched_wakeup),
	[SCHED_TP_WAKEUP_NEW] = HFTMON_TRACEPOINT(sched_wakeup_new,
						  hftmon_tp_sched_wakeup_new),
	[SCHED_TP_MIGRATE] = HFTMON_TRACEPOINT(sched_migrate_task,
					       hftmon_tp_sched_migrate_task),
	[SCHED_TP_EXIT] = HFTMON_TRACEPOINT(sched_process_exit,
					    hftmon_tp_sched_process_exit),
	[SCHED_TP_FORK] = HFTMON_TRACEPOINT(sched_process_fork,
					    hftmon_tp_sched_process_fork),
	[SCHED_TP_WAKING] = HFTMON_TRACEPOINT(sched_waking,
					      hftmon_tp_sched_waking),
};

static const struct hftmon_source_desc hftmon_sched_sources[] = {
	{ HFTMON_SRC_SCHED_SWITCH, HFTMON_EV_SWITCH, HFTMON_FEAT_SCHED_SWITCH,
	  BIT(SCHED_TP_SWITCH) },
	/*
	 * A wake-up record needs all three: a new thread's first one is
	 * _new, and the waker is seen at sched_waking.
	 */
	{ HFTMON_SRC_SCHED_WAKEUP, HFTMON_EV_WAKEUP, HFTMON_FEAT_SCHED_WAKEUP,
	  BIT(SCHED_TP_WAKEUP) | BIT(SCHED_TP_WAKEUP_NEW) |
	  BIT(SCHED_TP_WAKING) },
	{ HFTMON_SRC_SCHED_MIGRATE, HFTMON_EV_MIGRATE, HFTMON_FEAT_SCHED_MIGRATE,
	  BIT(SCHED_TP_MIGRATE) },
	{ HFTMON_SRC_PROCESS_EXIT, HFTMON_EV_EXIT, HFTMON_FEAT_PROCESS_EXIT,
	  BIT(SCHED_TP_EXIT) },
	{ HFTMON_SRC_PROCESS_FORK, HFTMON_EV_FORK, HFTMON_FEAT_PROCESS_FORK,
	  BIT(SCHED_TP_FORK) },
	/* Taken by the switch probe (attach flags): no event of their own. */
	{ HFTMON_SRC_STACK_KERNEL, 0, HFTMON_FEAT_STACKS, BIT(SCHED_TP_SWITCH) },
	{ HFTMON_SRC_STACK_USER, 0, HFTMON_FEAT_STACKS, BIT(SCHED_TP_SWITCH) },
};

struct hftmon_family hftmon_family_sched = {
	.name = "sched",
	.tps = hftmon_sched_tps,
	.nr_tps = ARRAY_SIZE(hftmon_sched_tps),
	.sources = hftmon_sched_sources,
	.nr_sources = ARRAY_SIZE(hftmon_sched_sources),
};
