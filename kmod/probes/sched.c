// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler family: sched_switch, sched_waking, sched_wakeup(_new),
 * sched_migrate_task, sched_process_exit, sched_process_fork and
 * sched_process_exec (where tracking ends when the new image is out of
 * the attacher's reach), and the kernel and user stacks the switch probe
 * takes at switch-out. Each probe
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
 * - sched_process_exit, _fork and _exec fire in the task's process
 *   context with IRQs on; the tracepoint disables preemption around its
 *   probes on both kernels, so smp_processor_id() names our ring for the
 *   whole write, and the ring disables IRQs around its bookkeeping.
 * - No probe takes a spinlock_t (a sleeping lock on PREEMPT_RT): the
 *   tracked table is read under RCU, the stack table is lock-free.
 * - On PREEMPT_RT a task blocking on a sleeping spinlock (rtlock) switches
 *   out with preempt == false and prev_state TASK_RTLOCK_WAIT, which
 *   __schedule() counts in nvcsw: the VOLUNTARY rule below holds there too.
 *
 * RUNNABLE spikes (HFTMON_EV_SPIKE): a tracked thread is runnable since
 * its switch-out with prev_state 0 (a preemption, or a yield) or since
 * its wake-up, with the very time_ns of that SWITCH or WAKEUP record, kept
 * in hftmon_runnable (hftmon_tasktab.h); its switch-out blocking drops
 * that, its switch-in takes it and writes the spike record when it was
 * runnable for the threshold or more. On PREEMPT_RT a thread woken from
 * an rtlock wait (a contended spinlock_t) is a wake-up like any other.
 *
 * Who ran while a tracked thread waited (HFTMON_EV_RUNQ): the same
 * entries also say on which CPU the thread is counted waiting, in the
 * per-CPU hftmon_runq_waiting: counted at its preemption (this CPU) or
 * wake-up (task_cpu(): the CPU it was enqueued on), moved at each of its
 * migrations (sched_migrate_task of a queued task), uncounted at its
 * switch-in or, should it block or be taken without one (untracked
 * meanwhile), where its entry goes. A switch on a CPU whose count is not
 * 0 between two untracked tasks is one HFTMON_REC_RUNQ; so on a CPU with
 * no waiting tracked thread the whole cost is that one per-CPU load.
 * Every count and uncount of a CPU happens under its runqueue lock
 * except the count of a migration's destination (the move is made under
 * the source's); an atomic keeps both exact. A thread whose entry found
 * no room is not counted: the reader's chain check (each switch's prev
 * is the last one's next) tells where the records stop covering a wait.
 */
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <trace/events/sched.h>

#include "../hftmon_probe.h"
#include "../hftmon_irq.h"
#include "../hftmon_spike.h"
#include "../hftmon_tasktab.h"

/*
 * prev is current: the probe runs before the switch. The user stack is
 * taken only while the attacher could attach the process now (see
 * hftmon_tp_sched_process_exec() for the window this closes).
 */
static noinline void hftmon_switch_stacks(struct hftmon_rec *w,
					  const struct hftmon_proc *pp,
					  struct task_struct *prev,
					  u32 *kstack, u32 *ustack)
{
	unsigned long ips[HFTMON_STACK_DEPTH];
	unsigned int nr;
	s32 pid, tid;
	bool trunc;

	hftmon_ident(w->s, prev, HFTMON_TRACKED, &pid, &tid, NULL);
	/* With a minimum, the kernel stack waits for the switch-in. */
	if ((pp->flags & HFTMON_ATTACH_KSTACK) && !pp->kstack_min_ns) {
		nr = hftmon_stack_kernel(ips, ARRAY_SIZE(ips));
		*kstack = hftmon_stack_id_as(&w->s->stacks, w->rb, pid, tid,
					     ips, nr, nr == ARRAY_SIZE(ips) ?
					     HFTMON_STACK_TRUNCATED : 0);
	}
	if ((pp->flags & HFTMON_ATTACH_USTACK) &&
	    !hftmon_exec_revokes(pp, current_real_cred(), prev->mm)) {
		nr = hftmon_stack_user(ips, ARRAY_SIZE(ips), &trunc);
		*ustack = hftmon_stack_id_as(&w->s->stacks, w->rb, pid, tid,
					     ips, nr, HFTMON_STACK_USER |
					     (trunc ? HFTMON_STACK_TRUNCATED : 0));
	}
}

#define HFTMON_RUNNABLE_BITS	8	/* 256 buckets, 1024 slots, 32 KiB */

/* Tracked threads counted waiting on each CPU (see the top); 0 at START. */
static DEFINE_PER_CPU(atomic_t, hftmon_runq_waiting);

/* Count (+1) or uncount one waiting thread on the CPU wait1 - 1. */
static __always_inline void hftmon_runq_count(u32 wait1)
{
	if (wait1)
		atomic_inc(per_cpu_ptr(&hftmon_runq_waiting, wait1 - 1));
}

static __always_inline void hftmon_runq_uncount(u32 wait1)
{
	if (wait1)
		atomic_dec_if_positive(per_cpu_ptr(&hftmon_runq_waiting, wait1 - 1));
}

/* The CPU + 1 to count a waiting thread of s on, or 0 (no EV_RUNQ). */
static __always_inline u32 hftmon_runq_wait1(const struct hftmon_session *s,
					     unsigned int cpu)
{
	return (s->events & HFTMON_EV_RUNQ) && cpu < HFTMON_RUNNABLE_CPUS ?
	       cpu + 1 : 0;
}

/* A thread runnable since since_ns, waiting on wait_cpu: entry and count. */
static __always_inline void hftmon_runnable_wait_put(struct hftmon_session *s,
						     struct task_struct *p,
						     u64 since_ns, u32 from_cpu,
						     bool woken, unsigned int wait_cpu)
{
	u32 wait1 = hftmon_runq_wait1(s, wait_cpu), old;
	int r = hftmon_runnable_put_wait(&hftmon_runnable, p, s->start_ns,
					 since_ns, from_cpu, woken, wait1, &old);

	if (r == HFTMON_TASKTAB_KEPT)
		return;		/* already waiting, counted where it was */
	hftmon_runq_uncount(old);	/* an entry never taken: undone */
	if (r == HFTMON_TASKTAB_PUT)
		hftmon_runq_count(wait1);
}

static struct hftmon_tasktab_bucket
	hftmon_kstack_out_buckets[1 << HFTMON_RUNNABLE_BITS];

struct hftmon_tasktab hftmon_kstack_out = {
	.buckets = hftmon_kstack_out_buckets,
	.bits = HFTMON_RUNNABLE_BITS,
};

/*
 * kstack_min_ns: next, tracked, is switched in at in_ns (its SWITCH
 * record's time_ns, written to w->rb). If it was off CPU at least the
 * minimum since the switch-out this run saw, its kernel stack is still
 * the one it blocked or was preempted with: unwound now, its id sent in
 * a SWITCH_STACK record after the SWITCH record (and the STACK record,
 * for a new stack, before it).
 */
static noinline void hftmon_switch_in_kstack(struct hftmon_session *s,
					     const struct hftmon_proc *np,
					     struct task_struct *next,
					     u64 in_ns)
{
	unsigned long ips[HFTMON_STACK_DEPTH];
	struct hftmon_rec_switch_stack *r;
	struct hftmon_rec w;
	unsigned int nr;
	s32 pid, tid;
	u64 out_ns;
	u32 id;

	if (!hftmon_kstack_out_take(&hftmon_kstack_out, next, s->start_ns,
				    &out_ns) ||
	    in_ns < out_ns || in_ns - out_ns < np->kstack_min_ns)
		return;
	nr = hftmon_stack_kernel_blocked(next, ips, ARRAY_SIZE(ips));
	if (!nr)
		return;
	w.s = s;
	w.rb = s->rings[smp_processor_id()];
	hftmon_ident(s, next, HFTMON_TRACKED, &pid, &tid, NULL);
	id = hftmon_stack_id_as(&s->stacks, w.rb, pid, tid, ips, nr,
				nr == ARRAY_SIZE(ips) ? HFTMON_STACK_TRUNCATED : 0);
	if (!id)
		return; /* counted where it was lost */
	r = hftmon_rec_reserve(&w, s, next, HFTMON_REC_SWITCH_STACK,
			       sizeof(*r), true);
	if (!r)
		return;
	r->out_ns = out_ns;
	r->in_ns = in_ns;
	r->kstack_id = id;
	r->reserved = 0;
	hftmon_rec_commit(&w);
}

static struct hftmon_tasktab_bucket
	hftmon_runnable_buckets[1 << HFTMON_RUNNABLE_BITS];

struct hftmon_tasktab hftmon_runnable = {
	.buckets = hftmon_runnable_buckets,
	.bits = HFTMON_RUNNABLE_BITS,
};

/*
 * Was this CPU idle when next's wake-up (at since) came? Yes when prev is
 * its idle task, which entered its idle state no later than since and has
 * not switched out since then (the switch count of its entry is the one
 * before this switch's): then the state and when it left it, if it did
 * after that entry (the wake-up may be made on this CPU after the exit,
 * from the wake list: idle_exit_ns is then before start_ns).
 */
static __always_inline void hftmon_switch_idle(struct task_struct *prev,
					       u64 since,
					       struct hftmon_spike_info *i)
{
	const struct hftmon_idle_here *ih = this_cpu_ptr(&hftmon_idle_here);

	if (!is_idle_task(prev) || !ih->enter_ns || ih->enter_ns > since ||
	    ih->enter_switches + 1 != __this_cpu_read(hftmon_irq_here.switches))
		return;
	i->flags |= HFTMON_SPIKE_IDLE;
	i->idle_state = ih->state;
	i->idle_exit_ns = ih->exit_ns >= ih->enter_ns ? ih->exit_ns : 0;
}

/*
 * The runnable-since bookkeeping of a switch at now (the waiting counts
 * with EV_RUNQ), and with EV_SPIKE next's spike. An untracked next is
 * looked for only where a thread is counted waiting: one that was
 * tracked when it was counted and is no longer must still be uncounted.
 */
static noinline void hftmon_switch_spike(struct hftmon_session *s,
					 struct task_struct *prev,
					 struct task_struct *next,
					 bool prev_tracked, bool next_tracked,
					 unsigned int prev_state, u64 now)
{
	unsigned int cpu = smp_processor_id();
	struct hftmon_spike_info i;
	u64 since, thr;
	u32 from, wait1;
	bool woken, valid;

	if (prev_tracked) {
		if (!prev_state)
			hftmon_runnable_wait_put(s, prev, now, cpu, false, cpu);
		else
			hftmon_runq_uncount(hftmon_runnable_drop(&hftmon_runnable,
								 prev, s->start_ns));
	}
	if (!next_tracked &&
	    !((s->events & HFTMON_EV_RUNQ) &&
	      atomic_read(this_cpu_ptr(&hftmon_runq_waiting))))
		return;
	valid = hftmon_runnable_take_wait(&hftmon_runnable, next, s->start_ns,
					  &since, &from, &woken, &wait1);
	hftmon_runq_uncount(wait1);
	if (!valid || !next_tracked || !(s->events & HFTMON_EV_SPIKE))
		return;
	thr = hftmon_spike_threshold(s);
	if (now < since || now - since < thr)
		return;
	i = (struct hftmon_spike_info){
		.start_ns = since,
		.end_ns = now,
		.threshold_ns = thr,
		.type = HFTMON_SPIKE_RUNNABLE,
		.from_cpu = from,
		.idle_state = -1,
		.flags = woken ? HFTMON_SPIKE_WOKEN : 0,
	};
	if (woken)
		hftmon_switch_idle(prev, since, &i);
	hftmon_spike_write(s, next, 0, 0, &i);
}

/*
 * A switch between two untracked tasks on a CPU where a tracked thread
 * is counted waiting: one HFTMON_REC_RUNQ. An untracked next may still
 * hold an entry (see hftmon_switch_spike()), uncounted first.
 */
static noinline void hftmon_switch_runq(struct hftmon_session *s,
					struct task_struct *prev,
					struct task_struct *next)
{
	struct hftmon_rec_runq *r;
	struct hftmon_rec w;
	unsigned int waiting;

	hftmon_switch_spike(s, prev, next, false, false, 0, 0);
	waiting = atomic_read(this_cpu_ptr(&hftmon_runq_waiting));
	if (!waiting)
		return;
	r = hftmon_rec_reserve_as(&w, s, next, HFTMON_UNTRACKED, HFTMON_REC_RUNQ,
				  sizeof(*r), true);
	if (!r)
		return;		/* lost, counted by the ring */
	hftmon_ident(s, prev, HFTMON_UNTRACKED, &r->prev_pid, &r->prev_tid,
		     r->prev_comm);
	hftmon_ident(s, next, HFTMON_UNTRACKED, &r->hdr.pid, &r->hdr.tid,
		     r->next_comm);
	r->prev_prio = prev->prio;
	r->next_prio = next->prio;
	r->prev_policy = prev->policy;
	r->next_policy = next->policy;
	r->waiting = waiting;
	r->reserved = 0;
	hftmon_rec_commit(&w);
}

/*
 * One record when prev or next is tracked; subject = prev. With spikes,
 * the runnable-since state of both and the spike of next, after it.
 */
void hftmon_tp_sched_switch(void *data, bool preempt, struct task_struct *prev,
			    struct task_struct *next, unsigned int prev_state)
{
	struct hftmon_session *s = hftmon_session_for(data);
	const struct hftmon_proc *pp, *np;
	struct hftmon_rec_switch *r;
	u32 kstack = 0, ustack = 0;
	struct hftmon_rec w;
	u16 flags = 0;
	u64 now;

	if (!s)
		return;
	pp = hftmon_track_find(&s->track, prev);
	np = hftmon_track_find(&s->track, next);
	hftmon_irq_note_switch(next, np);
	if (likely(!pp && !np)) {
		if (unlikely(atomic_read(this_cpu_ptr(&hftmon_runq_waiting))) &&
		    (s->events & HFTMON_EV_RUNQ))
			hftmon_switch_runq(s, prev, next);
		return;
	}

	/* Stacks first: a new stack's record precedes its first use. */
	w.s = s;
	w.rb = s->rings[smp_processor_id()];
	if (pp && (pp->flags & (HFTMON_ATTACH_KSTACK | HFTMON_ATTACH_USTACK)))
		hftmon_switch_stacks(&w, pp, prev, &kstack, &ustack);
	r = hftmon_rec_reserve_as(&w, s, prev,
				  pp ? HFTMON_TRACKED : HFTMON_UNTRACKED,
				  HFTMON_REC_SWITCH, sizeof(*r), true);
	if (!r) {
		/* Lost (counted): a spike is still detected, on its own clock. */
		if (s->events & (HFTMON_EV_SPIKE | HFTMON_EV_RUNQ))
			hftmon_switch_spike(s, prev, next, pp, np, prev_state,
					    ktime_get_mono_fast_ns());
		return;
	}
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
	hftmon_ident(s, next, np ? HFTMON_TRACKED : HFTMON_UNTRACKED,
		     &r->next_pid, &r->next_tid, r->next_comm);
	r->prev_state = prev_state;
	r->prev_prio = prev->prio;
	r->next_prio = next->prio;
	r->next_policy = next->policy;
	r->prev_kstack_id = kstack;
	r->prev_ustack_id = ustack;
	/* The header has prev's numbers; its comm goes by the same rule. */
	if (likely(s->privileged))
		hftmon_copy_comm(r->prev_comm, prev);
	else
		hftmon_ident(s, prev, pp ? HFTMON_TRACKED : HFTMON_UNTRACKED,
			     &r->hdr.pid, &r->hdr.tid, r->prev_comm);
	now = r->hdr.time_ns;
	hftmon_rec_commit(&w);
	if (unlikely(pp && pp->kstack_min_ns) &&
	    !hftmon_kstack_out_put(&hftmon_kstack_out, prev, s->start_ns, now))
		hftmon_ring_count_lost(w.rb, HFTMON_LOST_NO_SPACE);
	if (unlikely(np && np->kstack_min_ns))
		hftmon_switch_in_kstack(s, np, next, now);
	if (s->events & (HFTMON_EV_SPIKE | HFTMON_EV_RUNQ))
		hftmon_switch_spike(s, prev, next, pp, np, prev_state, now);
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

static struct hftmon_tasktab_bucket hftmon_waker_buckets[1 << HFTMON_WAKERS_BITS];

struct hftmon_tasktab hftmon_wakers = {
	.buckets = hftmon_waker_buckets,
	.bits = HFTMON_WAKERS_BITS,
};

/*
 * In interrupt context no task asked for the wake-up: see the uapi. The
 * waker is named as the session may see it (hftmon_ident()), decided here
 * in the waker's context, since only its numbers travel to sched_wakeup.
 */
static __always_inline u16 hftmon_waker_of(const struct hftmon_session *s,
					   s32 *tgid, s32 *tid)
{
	if (!in_task()) {
		*tgid = 0;
		*tid = 0;
		return HFTMON_WAKEUP_IRQ;
	}
	hftmon_ident(s, current, HFTMON_TRACKED_ASK, tgid, tid, NULL);
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
	flags = hftmon_waker_of(s, &tgid, &tid);
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

/*
 * With spikes, p is runnable since its WAKEUP record's time (or since now
 * when that record was lost), made on this CPU. Not for a task waking
 * itself: it is running.
 */
static __always_inline void hftmon_wakeup_runnable(struct hftmon_session *s,
						   struct task_struct *p,
						   u64 now)
{
	if (s->events & (HFTMON_EV_SPIKE | HFTMON_EV_RUNQ))
		hftmon_runnable_wait_put(s, p, now, smp_processor_id(), true,
					 task_cpu(p));
}

/* Subject = the woken task; hdr.cpu is the CPU that enqueued it. */
void hftmon_tp_sched_wakeup(void *data, struct task_struct *p)
{
	struct hftmon_session *s = hftmon_session_for(data);
	struct hftmon_rec_wakeup *r;
	struct hftmon_rec w;
	s32 tgid, tid;
	u16 flags;
	u64 now;

	if (!s || likely(!hftmon_track_find(&s->track, p)))
		return;
	if (unlikely(p == current)) {
		/* IRQs may be on: the ring's nesting-safe path. */
		flags = hftmon_waker_of(s, &tgid, &tid);
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
	if (!r) {
		hftmon_wakeup_runnable(s, p, ktime_get_mono_fast_ns());
		return;
	}
	hftmon_wakeup_fill(r, p, flags, tgid, tid);
	now = r->hdr.time_ns;
	hftmon_rec_commit(&w);
	hftmon_wakeup_runnable(s, p, now);
}

/* A new task's first wake-up, in its parent's context. */
static void hftmon_tp_sched_wakeup_new(void *data, struct task_struct *p)
{
	struct hftmon_rec_wakeup *r;
	struct hftmon_rec w;
	s32 tgid, tid;
	u64 now;

	r = hftmon_rec_begin(&w, data, p, HFTMON_REC_WAKEUP, sizeof(*r), true);
	if (!r)
		return;
	hftmon_ident(w.s, current, HFTMON_TRACKED_ASK, &tgid, &tid, NULL);
	hftmon_wakeup_fill(r, p, HFTMON_WAKEUP_NEW, tgid, tid);
	now = r->hdr.time_ns;
	hftmon_rec_commit(&w);
	hftmon_wakeup_runnable(w.s, p, now);
}

/*
 * A waiting thread moves (a queued task: its entry is counted on the CPU
 * it leaves, task_cpu() here): counted on dest_cpu from now. A task being
 * woken moves before its wake-up, with no entry yet (it blocked).
 */
static noinline void hftmon_migrate_runq(struct hftmon_session *s,
					 struct task_struct *p, int dest_cpu)
{
	u32 from, wait1;
	u64 since;
	bool woken, valid;

	valid = hftmon_runnable_take_wait(&hftmon_runnable, p, s->start_ns,
					  &since, &from, &woken, &wait1);
	hftmon_runq_uncount(wait1);
	if (valid)
		hftmon_runnable_wait_put(s, p, since, from, woken, dest_cpu);
}

static void hftmon_tp_sched_migrate_task(void *data, struct task_struct *p,
					 int dest_cpu)
{
	struct hftmon_session *s = hftmon_session_for(data);
	struct hftmon_rec_migrate *r;
	struct hftmon_rec w;

	if (!s || likely(!hftmon_track_find(&s->track, p)))
		return;
	/* Moved also when the record is lost: the count follows the task. */
	if (s->events & HFTMON_EV_RUNQ)
		hftmon_migrate_runq(s, p, dest_cpu);
	r = hftmon_rec_reserve(&w, s, p, HFTMON_REC_MIGRATE, sizeof(*r), true);
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
	hftmon_ident(w.s, p, HFTMON_TRACKED, &r->hdr.pid, &r->hdr.tid, r->comm);
	hftmon_rec_commit(&w);
}

/*
 * Subject = the parent. A new thread is tracked with its process; a new
 * process only when its parent's was attached with HFTMON_ATTACH_INHERIT
 * (hftmon_track_inherit(): before the child first runs), even when the
 * record itself is lost.
 */
static void hftmon_tp_sched_process_fork(void *data, struct task_struct *parent,
					 struct task_struct *child)
{
	struct hftmon_session *s = hftmon_session_for(data);
	bool thread = child->tgid == parent->tgid;
	u32 flags = thread ? HFTMON_FORK_THREAD : 0;
	struct hftmon_rec_fork *r;
	struct hftmon_rec w;
	int err;

	if (!s)
		return;
	w.proc = hftmon_track_find(&s->track, parent);
	if (likely(!w.proc))
		return;
	if (!thread && (w.proc->flags & HFTMON_ATTACH_INHERIT)) {
		err = hftmon_track_inherit(&s->track, w.proc, child);
		flags |= !err		  ? HFTMON_FORK_FOLLOWED :
			 err == -ENOSPC ? HFTMON_FORK_FULL :
					  HFTMON_FORK_NOMEM;
	}
	r = hftmon_rec_reserve(&w, s, parent, HFTMON_REC_FORK, sizeof(*r),
			       false);
	if (!r)
		return;
	r->hdr.flags = flags;
	hftmon_ident(w.s, child,
		     thread || (flags & HFTMON_FORK_FOLLOWED) ? HFTMON_TRACKED :
								HFTMON_UNTRACKED,
		     &r->child_pid, &r->child_tid, r->child_comm);
	hftmon_rec_commit(&w);
}

/*
 * The DETACH record of task's process, whose entry was just revoked (by
 * the exec probe or at START, hftmon_track_recheck()). Preemption off.
 */
void hftmon_detach_record(struct hftmon_session *s, struct task_struct *task,
			  u32 why)
{
	struct hftmon_rec_detach *r;
	struct hftmon_rec w;

	r = hftmon_rec_reserve(&w, s, task, HFTMON_REC_DETACH, sizeof(*r),
			       false);
	if (!r)
		return;		/* lost (counted); the tracking ended anyway */
	r->reason = why;
	r->reserved = 0;
	hftmon_rec_commit(&w);
}

/*
 * The end of a successful exec of p (current): tracking ends here when the
 * attacher could not attach the new image (hftmon_exec_revokes(): a setuid
 * or setgid binary, a non-dumpable image), as perf stops its events there.
 *
 * What the kernel guarantees (fs/exec.c, 6.1 and 6.12 alike): exec_binprm()
 * fires this tracepoint after search_binary_handler() has returned, i.e.
 * after the binary's loader ran begin_new_exec() (de_thread(): every other
 * thread gone; exec_mmap(): the new mm; commit_creds(): the new
 * credentials, which makes the mm non-dumpable first when the effective
 * ids or capabilities change, with a write barrier between) and
 * start_thread() (the new image's registers), and before the task returns
 * to user space: no instruction of the new image has run. So records made
 * in between, from commit_creds() to here, are about kernel work of the
 * exec: their times, prio and state, and the new comm (the binary's name,
 * set before commit_creds() and chosen by the exec'ing process). Only the
 * user stack would be the new image's (start_thread()'s entry point and
 * stack pointer, the new mm's memory): the switch probe takes it only
 * while hftmon_exec_revokes() says the process is still within reach,
 * the same rule on current's own credentials, so that window is closed.
 * An exec that fails after the point of no return kills the task before
 * it reaches user space, and this tracepoint does not fire: its records
 * end with its EXIT.
 *
 * The entry is revoked with an atomic bit (probes cannot take the table's
 * lock); test_and_set_bit() is a full barrier, so a probe that runs after
 * anything the new image does finds the bit set: no record of the process
 * follows the DETACH record. The next table change reaps the entry.
 */
void hftmon_tp_sched_process_exec(void *data, struct task_struct *p,
				  pid_t old_pid, struct linux_binprm *bprm)
{
	struct hftmon_session *s = hftmon_session_for(data);
	const struct hftmon_proc *proc;
	u32 why;

	if (!s)
		return;
	proc = hftmon_track_find(&s->track, p);
	if (likely(!proc))
		return;
	why = hftmon_exec_revokes(proc, current_real_cred(), p->mm);
	if (!why || test_and_set_bit(HFTMON_PROC_REVOKED,
				     (unsigned long *)&proc->state))
		return;
	hftmon_detach_record(s, p, why);
}

enum {
	SCHED_TP_SWITCH,
	SCHED_TP_WAKEUP,
	SCHED_TP_WAKEUP_NEW,
	SCHED_TP_MIGRATE,
	SCHED_TP_EXIT,
	SCHED_TP_FORK,
	SCHED_TP_WAKING,
	SCHED_TP_EXEC,
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
	[SCHED_TP_EXEC] = HFTMON_TRACEPOINT(sched_process_exec,
					    hftmon_tp_sched_process_exec),
};

/*
 * Every source needs the exec probe: without it a process would stay
 * tracked inside a setuid binary. So it is hooked with whatever a session
 * records, and a kernel without it offers none of these sources.
 */
#define EXEC	BIT(SCHED_TP_EXEC)

static const struct hftmon_source_desc hftmon_sched_sources[] = {
	{ HFTMON_SRC_SCHED_SWITCH, HFTMON_EV_SWITCH, HFTMON_FEAT_SCHED_SWITCH,
	  BIT(SCHED_TP_SWITCH) | EXEC },
	/*
	 * A wake-up record needs all three: a new thread's first one is
	 * _new, and the waker is seen at sched_waking.
	 */
	{ HFTMON_SRC_SCHED_WAKEUP, HFTMON_EV_WAKEUP, HFTMON_FEAT_SCHED_WAKEUP,
	  BIT(SCHED_TP_WAKEUP) | BIT(SCHED_TP_WAKEUP_NEW) |
	  BIT(SCHED_TP_WAKING) | EXEC },
	{ HFTMON_SRC_SCHED_MIGRATE, HFTMON_EV_MIGRATE, HFTMON_FEAT_SCHED_MIGRATE,
	  BIT(SCHED_TP_MIGRATE) | EXEC },
	{ HFTMON_SRC_PROCESS_EXIT, HFTMON_EV_EXIT, HFTMON_FEAT_PROCESS_EXIT,
	  BIT(SCHED_TP_EXIT) | EXEC },
	{ HFTMON_SRC_PROCESS_FORK, HFTMON_EV_FORK, HFTMON_FEAT_PROCESS_FORK,
	  BIT(SCHED_TP_FORK) | EXEC },
	/* Taken by the switch probe (attach flags): no event of their own. */
	{ HFTMON_SRC_STACK_KERNEL, 0, HFTMON_FEAT_STACKS,
	  BIT(SCHED_TP_SWITCH) | EXEC },
	{ HFTMON_SRC_STACK_USER, 0, HFTMON_FEAT_STACKS,
	  BIT(SCHED_TP_SWITCH) | EXEC },
	/* Counted at preemptions, wake-ups and migrations (see the top). */
	{ HFTMON_SRC_RUNQ, HFTMON_EV_RUNQ, HFTMON_FEAT_RUNQ,
	  BIT(SCHED_TP_SWITCH) | BIT(SCHED_TP_WAKEUP) | BIT(SCHED_TP_WAKEUP_NEW) |
	  BIT(SCHED_TP_MIGRATE) | EXEC },
};

/* No probe sees the session yet: no thread is counted waiting anywhere. */
static int hftmon_sched_start(struct hftmon_session *s)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		atomic_set(per_cpu_ptr(&hftmon_runq_waiting, cpu), 0);
	return 0;
}

int hftmon_runq_config_check(const struct hftmon_config *cfg)
{
	const u64 needs = HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP | HFTMON_EV_MIGRATE;

	if ((cfg->events & HFTMON_EV_RUNQ) && (cfg->events & needs) != needs)
		return -EINVAL;
	return 0;
}

struct hftmon_family hftmon_family_sched = {
	.name = "sched",
	.tps = hftmon_sched_tps,
	.nr_tps = ARRAY_SIZE(hftmon_sched_tps),
	.sources = hftmon_sched_sources,
	.nr_sources = ARRAY_SIZE(hftmon_sched_sources),
	.start = hftmon_sched_start,
};
