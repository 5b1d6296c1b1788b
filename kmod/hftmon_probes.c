// SPDX-License-Identifier: GPL-2.0
/*
 * hftmon tracepoint probes. The scheduler tracepoints are found by name
 * with for_each_kernel_tracepoint() (they are not exported one by one)
 * and hooked with tracepoint_probe_register() when a session first
 * starts, then left in place until the module unloads: hooking a
 * tracepoint patches kernel text, which IPIs every CPU (isolated trading
 * cores included) and, under TCG, has been seen to wedge a vCPU. A loaded
 * module that never started costs nothing; between sessions a probe
 * costs one pointer load. Each probe then asks whether its task belongs
 * to a tracked process; only then does it write one record into this
 * CPU's ring. Probes run with preemption off, sched_switch and
 * sched_wakeup under the runqueue lock: no allocation, no sleeping, no
 * wake-ups here (the ring defers those to irq_work).
 */
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "hftmon_internal.h"

enum hftmon_tp {
	HFTMON_TP_SWITCH,
	HFTMON_TP_WAKEUP,
	HFTMON_TP_WAKEUP_NEW,
	HFTMON_TP_MIGRATE,
	HFTMON_TP_EXIT,
	HFTMON_TP_FORK,
	HFTMON_TP_NR,
};

struct hftmon_tp_desc {
	const char *name;
	void *probe;
	u64 event;			/* HFTMON_EV_* it serves */
	enum hftmon_source source;
	struct tracepoint *tp;		/* NULL: not in this kernel */
};

static inline void hftmon_comm(char *dst, const struct task_struct *t)
{
	/* comm may change under us; a torn name is harmless, unterminated is not. */
	memcpy(dst, t->comm, HFTMON_TASK_COMM_LEN);
	dst[HFTMON_TASK_COMM_LEN - 1] = '\0';
}

static inline struct hftmon_ring *hftmon_this_ring(struct hftmon_session *s)
{
	return s->rings[smp_processor_id()];
}

static inline void hftmon_set_subject(struct hftmon_rec_hdr *h,
				      const struct task_struct *t)
{
	h->pid = t->tgid;
	h->tid = t->pid;
}

/* prev is current: the probe runs before the switch. */
static noinline void hftmon_switch_stacks(struct hftmon_session *s,
					  struct hftmon_ring *rb, u32 flags,
					  struct task_struct *prev,
					  u32 *kstack, u32 *ustack)
{
	unsigned long ips[HFTMON_STACK_DEPTH];
	unsigned int nr;
	bool trunc;

	if (flags & HFTMON_ATTACH_KSTACK) {
		nr = hftmon_stack_kernel(ips, ARRAY_SIZE(ips));
		*kstack = hftmon_stack_id(&s->stacks, rb, prev, ips, nr,
					  nr == ARRAY_SIZE(ips) ?
					  HFTMON_STACK_TRUNCATED : 0);
	}
	if (flags & HFTMON_ATTACH_USTACK) {
		nr = hftmon_stack_user(ips, ARRAY_SIZE(ips), &trunc);
		*ustack = hftmon_stack_id(&s->stacks, rb, prev, ips, nr,
					  HFTMON_STACK_USER |
					  (trunc ? HFTMON_STACK_TRUNCATED : 0));
	}
}

void hftmon_probe_switch(HFTMON_SWITCH_PROBE_ARGS)
{
	struct hftmon_session *s = data;
	const struct hftmon_proc *pp, *np;
	struct hftmon_rec_switch *r;
	struct hftmon_ring *rb;
	u32 kstack = 0, ustack = 0;
	u16 flags = 0;

	pp = hftmon_track_find(&s->track, prev);
	np = hftmon_track_find(&s->track, next);
	if (likely(!pp && !np))
		return;

	rb = hftmon_this_ring(s);
	/* Stacks first: a new stack's record precedes its first use. */
	if (pp && (pp->flags & (HFTMON_ATTACH_KSTACK | HFTMON_ATTACH_USTACK)))
		hftmon_switch_stacks(s, rb, pp->flags, prev, &kstack, &ustack);
	r = (void *)hftmon_ring_reserve_irqsoff(rb, HFTMON_REC_SWITCH, sizeof(*r));
	if (!r)
		return;
	if (pp)
		flags |= HFTMON_SWITCH_PREV_TRACKED;
	if (np)
		flags |= HFTMON_SWITCH_NEXT_TRACKED;
	if (preempt)
		flags |= HFTMON_SWITCH_PREEMPT;
	/* As __schedule() picks nvcsw vs nivcsw for prev. */
	if (!preempt && HFTMON_SWITCH_PREV_STATE)
		flags |= HFTMON_SWITCH_VOLUNTARY;
	r->hdr.flags = flags;
	hftmon_set_subject(&r->hdr, prev);
	r->next_pid = next->tgid;
	r->next_tid = next->pid;
	r->prev_state = HFTMON_SWITCH_PREV_STATE;
	r->prev_prio = prev->prio;
	r->next_prio = next->prio;
	r->next_policy = next->policy;
	r->prev_kstack_id = kstack;
	r->prev_ustack_id = ustack;
	hftmon_comm(r->prev_comm, prev);
	hftmon_comm(r->next_comm, next);
	hftmon_ring_commit_irqsoff(rb);
}

static void hftmon_wakeup_record(struct hftmon_session *s,
				 struct task_struct *p, u16 flags)
{
	struct hftmon_rec_wakeup *r;
	struct hftmon_ring *rb;

	if (likely(!hftmon_track_find(&s->track, p)))
		return;
	rb = hftmon_this_ring(s);
	r = (void *)hftmon_ring_reserve_irqsoff(rb, HFTMON_REC_WAKEUP, sizeof(*r));
	if (!r)
		return;
	r->hdr.flags = flags;
	hftmon_set_subject(&r->hdr, p);
	r->waker_pid = current->tgid;
	r->waker_tid = current->pid;
	r->prio = p->prio;
	r->target_cpu = task_cpu(p);
	hftmon_ring_commit_irqsoff(rb);
}

void hftmon_probe_wakeup(void *data, struct task_struct *p)
{
	hftmon_wakeup_record(data, p, 0);
}

static void hftmon_probe_migrate(struct hftmon_session *s,
				 struct task_struct *p, int dest_cpu)
{
	struct hftmon_rec_migrate *r;
	struct hftmon_ring *rb;

	if (likely(!hftmon_track_find(&s->track, p)))
		return;
	rb = hftmon_this_ring(s);
	r = (void *)hftmon_ring_reserve_irqsoff(rb, HFTMON_REC_MIGRATE, sizeof(*r));
	if (!r)
		return;
	hftmon_set_subject(&r->hdr, p);
	r->orig_cpu = task_cpu(p);
	r->dest_cpu = dest_cpu;
	r->prio = p->prio;
	r->reserved = 0;
	hftmon_ring_commit_irqsoff(rb);
}

void hftmon_probe_exit(struct hftmon_session *s, struct task_struct *p)
{
	const struct hftmon_proc *proc = hftmon_track_find(&s->track, p);
	struct hftmon_rec_exit *r;
	struct hftmon_ring *rb;

	if (likely(!proc))
		return;
	rb = hftmon_this_ring(s);
	r = (void *)hftmon_ring_reserve(rb, HFTMON_REC_EXIT, sizeof(*r));
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
			      (unsigned long *)&proc->state))
		r->hdr.flags = HFTMON_EXIT_GROUP_DEAD;
	hftmon_set_subject(&r->hdr, p);
	r->prio = p->prio;
	r->reserved = 0;
	hftmon_comm(r->comm, p);
	hftmon_ring_commit(rb);
}

static void hftmon_probe_fork(struct hftmon_session *s,
			      struct task_struct *parent,
			      struct task_struct *child)
{
	struct hftmon_rec_fork *r;
	struct hftmon_ring *rb;

	if (likely(!hftmon_track_find(&s->track, parent)))
		return;
	rb = hftmon_this_ring(s);
	r = (void *)hftmon_ring_reserve(rb, HFTMON_REC_FORK, sizeof(*r));
	if (!r)
		return;
	if (child->tgid == parent->tgid)
		r->hdr.flags = HFTMON_FORK_THREAD;
	hftmon_set_subject(&r->hdr, parent);
	r->child_pid = child->tgid;
	r->child_tid = child->pid;
	hftmon_comm(r->child_comm, child);
	hftmon_ring_commit(rb);
}

/*
 * The running session, or NULL. Written under hftmon_probes_lock by
 * start/stop; read by the probes with preemption off (RCU-sched), so
 * after clearing it, tracepoint_synchronize_unregister() waits out every
 * probe that may still use the old session.
 */
static struct hftmon_session __rcu *hftmon_active;
static DEFINE_MUTEX(hftmon_probes_lock);
static u64 hftmon_registered;		/* HFTMON_TP_* bits hooked */

/* The functions hooked on the tracepoints: the session, then the body. */
#define HFTMON_ACTIVE(ev)						\
	struct hftmon_session *s = rcu_dereference_sched(hftmon_active);	\
	if (!s || !(s->events & (ev)))					\
		return

static void hftmon_tp_switch(HFTMON_SWITCH_PROBE_ARGS)
{
	HFTMON_ACTIVE(HFTMON_EV_SWITCH);
	hftmon_probe_switch(s, preempt, prev, next, HFTMON_SWITCH_PREV_STATE);
}

static void hftmon_tp_wakeup(void *data, struct task_struct *p)
{
	HFTMON_ACTIVE(HFTMON_EV_WAKEUP);
	hftmon_wakeup_record(s, p, 0);
}

static void hftmon_tp_wakeup_new(void *data, struct task_struct *p)
{
	HFTMON_ACTIVE(HFTMON_EV_WAKEUP);
	hftmon_wakeup_record(s, p, HFTMON_WAKEUP_NEW);
}

static void hftmon_tp_migrate(void *data, struct task_struct *p, int dest_cpu)
{
	HFTMON_ACTIVE(HFTMON_EV_MIGRATE);
	hftmon_probe_migrate(s, p, dest_cpu);
}

static void hftmon_tp_exit(void *data, struct task_struct *p)
{
	HFTMON_ACTIVE(HFTMON_EV_EXIT);
	hftmon_probe_exit(s, p);
}

static void hftmon_tp_fork(void *data, struct task_struct *parent,
			   struct task_struct *child)
{
	HFTMON_ACTIVE(HFTMON_EV_FORK);
	hftmon_probe_fork(s, parent, child);
}

static struct hftmon_tp_desc hftmon_tps[HFTMON_TP_NR] = {
	[HFTMON_TP_SWITCH] = { "sched_switch", hftmon_tp_switch,
			       HFTMON_EV_SWITCH, HFTMON_SRC_SCHED_SWITCH },
	[HFTMON_TP_WAKEUP] = { "sched_wakeup", hftmon_tp_wakeup,
			       HFTMON_EV_WAKEUP, HFTMON_SRC_SCHED_WAKEUP },
	[HFTMON_TP_WAKEUP_NEW] = { "sched_wakeup_new", hftmon_tp_wakeup_new,
				   HFTMON_EV_WAKEUP, HFTMON_SRC_SCHED_WAKEUP },
	[HFTMON_TP_MIGRATE] = { "sched_migrate_task", hftmon_tp_migrate,
				HFTMON_EV_MIGRATE, HFTMON_SRC_SCHED_MIGRATE },
	[HFTMON_TP_EXIT] = { "sched_process_exit", hftmon_tp_exit,
			     HFTMON_EV_EXIT, HFTMON_SRC_PROCESS_EXIT },
	[HFTMON_TP_FORK] = { "sched_process_fork", hftmon_tp_fork,
			     HFTMON_EV_FORK, HFTMON_SRC_PROCESS_FORK },
};

static void hftmon_find_tp(struct tracepoint *tp, void *priv)
{
	int i;

	for (i = 0; i < HFTMON_TP_NR; i++)
		if (!hftmon_tps[i].tp && !strcmp(tp->name, hftmon_tps[i].name))
			hftmon_tps[i].tp = tp;
}

int hftmon_probes_init(void)
{
	for_each_kernel_tracepoint(hftmon_find_tp, NULL);
	if (!hftmon_tps[HFTMON_TP_SWITCH].tp) {
		pr_err("hftmon: this kernel has no sched_switch tracepoint\n");
		return -ENOENT;
	}
	return 0;
}

/* An event is available when every tracepoint it needs exists. */
u64 hftmon_probes_available_events(void)
{
	u64 missing = 0, all = 0;
	int i;

	for (i = 0; i < HFTMON_TP_NR; i++) {
		all |= hftmon_tps[i].event;
		if (!hftmon_tps[i].tp)
			missing |= hftmon_tps[i].event;
	}
	return all & ~missing;
}

void hftmon_probes_source_status(s32 *status, unsigned int nr)
{
	unsigned int i;

	/* Sources this module version does not implement yet. */
	for (i = 0; i < nr; i++)
		status[i] = -ENOSYS;
	for (i = 0; i < HFTMON_TP_NR; i++)
		if (hftmon_tps[i].source < nr)
			status[hftmon_tps[i].source] = 0;
	/* Stacks are taken by the switch probe. */
	if (nr > HFTMON_SRC_STACK_USER)
		status[HFTMON_SRC_STACK_KERNEL] = status[HFTMON_SRC_STACK_USER] =
			hftmon_tps[HFTMON_TP_SWITCH].tp ? 0 : -ENOENT;
	for (i = 0; i < HFTMON_TP_NR; i++)
		if (!hftmon_tps[i].tp && hftmon_tps[i].source < nr)
			status[hftmon_tps[i].source] = -ENOENT;
}

/* Hooks every tracepoint events needs that is not hooked yet. */
static int hftmon_probes_hook(u64 events)
{
	int i, err;

	for (i = 0; i < HFTMON_TP_NR; i++) {
		if (!(events & hftmon_tps[i].event) ||
		    (hftmon_registered & BIT_ULL(i)))
			continue;
		if (!hftmon_tps[i].tp)
			return -ENOENT;
		err = tracepoint_probe_register(hftmon_tps[i].tp,
						hftmon_tps[i].probe, NULL);
		if (err)
			return err;
		hftmon_registered |= BIT_ULL(i);
	}
	return 0;
}

/* The session's events start now, every one of them at once. */
int hftmon_probes_activate(struct hftmon_session *s)
{
	int err = 0;

	mutex_lock(&hftmon_probes_lock);
	if (rcu_access_pointer(hftmon_active))
		err = -EBUSY;
	else
		err = hftmon_probes_hook(s->events);
	if (!err) {
		s->start_ns = ktime_get_mono_fast_ns();
		s->stop_ns = 0;
		rcu_assign_pointer(hftmon_active, s);
	}
	mutex_unlock(&hftmon_probes_lock);
	return err;
}

/* The session's events end now; no probe uses it once this returns. */
void hftmon_probes_deactivate(struct hftmon_session *s)
{
	mutex_lock(&hftmon_probes_lock);
	if (rcu_access_pointer(hftmon_active) == s) {
		RCU_INIT_POINTER(hftmon_active, NULL);
		s->stop_ns = ktime_get_mono_fast_ns();
		tracepoint_synchronize_unregister();
	}
	mutex_unlock(&hftmon_probes_lock);
}

/* Module exit: unhook everything. */
void hftmon_probes_exit(void)
{
	int i;

	mutex_lock(&hftmon_probes_lock);
	for (i = HFTMON_TP_NR - 1; i >= 0; i--)
		if (hftmon_registered & BIT_ULL(i))
			WARN_ON_ONCE(tracepoint_probe_unregister(hftmon_tps[i].tp,
						hftmon_tps[i].probe, NULL));
	hftmon_registered = 0;
	tracepoint_synchronize_unregister();
	mutex_unlock(&hftmon_probes_lock);
}
