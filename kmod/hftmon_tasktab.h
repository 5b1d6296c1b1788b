/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-task tables the probes keep between two tracepoints of one task,
 * keyed by the task pointer (the tracked table is keyed by process, and a
 * probe cannot allocate): fixed size, lock-free, never blocking. Three
 * use this one piece of code (probes/sched.c):
 * - hftmon_wakers: the waker of a wake-up, from sched_waking (in the
 *   waker's context) to sched_wakeup (where the woken task is enqueued:
 *   with the kernel's remote wake list, on the target CPU, where
 *   "current" is whatever ran there). A full bucket leaves the record's
 *   waker unknown (HFTMON_WAKEUP_NO_WAKER).
 * - hftmon_runnable: since when a tracked thread is runnable but not
 *   running, from its preemption or wake-up to its switch-in, where a
 *   RUNNABLE spike is decided. A full bucket misses that spike.
 * - hftmon_kstack_out: when a tracked thread whose kernel stacks are
 *   wanted only for long switches (ATTACH kstack_min_ns) switched out,
 *   to its switch-in, where the stack is unwound if the switch was long
 *   enough. A full bucket loses that stack (counted: NO_SPACE).
 * A table is module-wide, since one session runs at a time: entries are
 * tagged with the run that made them (the session's start_ns), so an
 * entry a run left behind is never taken by the next and its slot is
 * reused. An entry's value is two u64 words, packed by each user's
 * wrappers below.
 *
 * A slot's key is 0 (free), HFTMON_TASKTAB_BUSY (being written) or a task.
 * A writer claims a slot by cmpxchg to BUSY, fills it and publishes the
 * key with a release; a reader loads the key with acquire and frees the
 * slot by cmpxchg back to 0, so it never reads a half-written entry, and
 * a slot two CPUs both wanted has one owner. The puts and take of one
 * task never race each other; only slots are shared. For the wakers:
 * wakings of one task are serialised by its pi_lock, and its
 * sched_wakeup follows its sched_waking (same CPU, or after the wake
 * list's hand-off). For the runnable table: a task's switches and
 * wake-ups are serialised by its runqueue's lock (and by pi_lock and
 * on_cpu across a migration), which its probes run under.
 */
#ifndef HFTMON_TASKTAB_H
#define HFTMON_TASKTAB_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/hash.h>
#include <linux/sched.h>
#include <linux/types.h>

#define HFTMON_TASKTAB_WAYS	4	/* slots per bucket: two cache lines */
#define HFTMON_TASKTAB_BUSY	1UL	/* never a task pointer */

struct hftmon_tasktab_slot {
	unsigned long task;		/* key, see above */
	u64 epoch;			/* start_ns of the run that made it */
	u64 val[2];			/* the user's, packed */
} __aligned(32);

struct hftmon_tasktab_bucket {
	struct hftmon_tasktab_slot slot[HFTMON_TASKTAB_WAYS];
} ____cacheline_aligned;

struct hftmon_tasktab {
	struct hftmon_tasktab_bucket *buckets;
	unsigned int bits;		/* 1 << bits buckets */
};

static __always_inline struct hftmon_tasktab_slot *
hftmon_tasktab_bucket(const struct hftmon_tasktab *t, unsigned long task)
{
	return t->buckets[hash_long(task, t->bits)].slot;
}

/* Claim slot s whose key was old, fill it, publish it. */
static __always_inline bool hftmon_tasktab_fill(struct hftmon_tasktab_slot *s,
						unsigned long old,
						unsigned long task, u64 epoch,
						u64 v0, u64 v1)
{
	if (cmpxchg(&s->task, old, HFTMON_TASKTAB_BUSY) != old)
		return false;
	s->epoch = epoch;
	s->val[0] = v0;
	s->val[1] = v1;
	/* The entry before its key: pairs with the readers' acquire. */
	smp_store_release(&s->task, task);
	return true;
}

#define HFTMON_TASKTAB_PUT	1	/* (v0, v1) stored */
#define HFTMON_TASKTAB_KEPT	2	/* task's own entry stands */

/*
 * Remember (v0, v1) for task in this run (epoch). Task's own entry, if
 * one is there, is replaced, unless keep is not 0, the entry is this
 * run's and its val[1] has the same bits under keep as v1: then it
 * stands (HFTMON_TASKTAB_KEPT). Otherwise a free slot or one an earlier
 * run left is taken (HFTMON_TASKTAB_PUT). 0: no room. own (may be NULL):
 * val[1] of task's own entry of this run that was replaced or kept, else
 * 0 (for a user that must undo what an entry stood for).
 */
static __always_inline int hftmon_tasktab_put_own(struct hftmon_tasktab *t,
						  unsigned long task, u64 epoch,
						  u64 v0, u64 v1, u64 keep,
						  u64 *own)
{
	struct hftmon_tasktab_slot *b = hftmon_tasktab_bucket(t, task);
	unsigned long old;
	u64 was;
	int i;

	if (own)
		*own = 0;
	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++) {
		/* Acquire: a key read, its entry is the one it published. */
		if (smp_load_acquire(&b[i].task) != task)
			continue;
		was = READ_ONCE(b[i].epoch) == epoch ? READ_ONCE(b[i].val[1]) : 0;
		if (keep && READ_ONCE(b[i].epoch) == epoch && !((was ^ v1) & keep)) {
			if (own)
				*own = was;
			return HFTMON_TASKTAB_KEPT;
		}
		if (hftmon_tasktab_fill(&b[i], task, task, epoch, v0, v1)) {
			if (own)
				*own = was;
			return HFTMON_TASKTAB_PUT;
		}
	}
	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++) {
		old = smp_load_acquire(&b[i].task);	/* as above */
		if (old == HFTMON_TASKTAB_BUSY ||
		    (old && READ_ONCE(b[i].epoch) == epoch))
			continue;	/* being written, or this run's */
		if (hftmon_tasktab_fill(&b[i], old, task, epoch, v0, v1))
			return HFTMON_TASKTAB_PUT;
	}
	return 0;
}

static __always_inline bool hftmon_tasktab_put(struct hftmon_tasktab *t,
					       unsigned long task, u64 epoch,
					       u64 v0, u64 v1, u64 keep)
{
	return hftmon_tasktab_put_own(t, task, epoch, v0, v1, keep, NULL);
}

/*
 * Take task's entry, if this run put one: true and its value. Frees the
 * slot whatever its run. The values are only meaningful when true.
 */
static __always_inline bool hftmon_tasktab_take(struct hftmon_tasktab *t,
						unsigned long task, u64 epoch,
						u64 *v0, u64 *v1)
{
	struct hftmon_tasktab_slot *b = hftmon_tasktab_bucket(t, task);
	int i;

	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++) {
		struct hftmon_tasktab_slot *s = &b[i];
		bool mine;

		/* Pairs with hftmon_tasktab_fill()'s release. */
		if (smp_load_acquire(&s->task) != task)
			continue;
		mine = READ_ONCE(s->epoch) == epoch;
		*v0 = READ_ONCE(s->val[0]);
		*v1 = READ_ONCE(s->val[1]);
		/* Lost to a writer that found it stale: not ours then. */
		return cmpxchg(&s->task, task, 0UL) == task && mine;
	}
	return false;
}

/* ---- the wakers in flight (sched_waking -> sched_wakeup) ---------------- */

extern struct hftmon_tasktab hftmon_wakers;

/* The probe on sched_waking (for the KUnit suites). */
void hftmon_tp_sched_waking(void *data, struct task_struct *p);

/* Remember task's waker for this run (its own left entry is replaced). */
static __always_inline bool hftmon_waker_put(struct hftmon_tasktab *t,
					     unsigned long task, u64 epoch,
					     s32 tgid, s32 tid, u16 flags)
{
	return hftmon_tasktab_put(t, task, epoch,
				  (u32)tgid | (u64)(u32)tid << 32, flags, 0);
}

/* Take task's waker, if this run put one: its ids and record flags. */
static __always_inline bool hftmon_waker_take(struct hftmon_tasktab *t,
					      unsigned long task, u64 epoch,
					      s32 *tgid, s32 *tid, u16 *flags)
{
	u64 v0 = 0, v1 = 0;
	bool ok = hftmon_tasktab_take(t, task, epoch, &v0, &v1);

	*tgid = (s32)(u32)v0;
	*tid = (s32)(u32)(v0 >> 32);
	*flags = (u16)v1;
	return ok;
}

/* ---- runnable since (preemption or wake-up -> switch-in) --------------- */

extern struct hftmon_tasktab hftmon_runnable;

/*
 * An entry is also tagged with its task's switch-out count then (nvcsw +
 * nivcsw, which __schedule() bumps before sched_switch fires), low 31
 * bits: from a preemption or wake-up to the switch-in that ends it the
 * task switches out never, so an entry whose count differs from the
 * task's is older than its last run (left while the task was not
 * tracked, say) and is ignored. val[1]: from_cpu (bits 0-15), the CPU
 * the task is counted waiting on plus 1 (bits 16-31, 0: not counted; see
 * HFTMON_EV_RUNQ in probes/sched.c), woken (bit 32), count.
 */
#define HFTMON_RUNNABLE_FROM		GENMASK_ULL(15, 0)
#define HFTMON_RUNNABLE_WAIT		GENMASK_ULL(31, 16)
#define HFTMON_RUNNABLE_WOKEN		BIT_ULL(32)
#define HFTMON_RUNNABLE_SWITCHES	GENMASK_ULL(63, 33)
/* CPU numbers fit the 16 bits above (from_cpu; wait + 1). */
#define HFTMON_RUNNABLE_CPUS		0xfffe

static __always_inline u64 hftmon_runnable_switches(const struct task_struct *p)
{
	return (u64)(READ_ONCE(p->nvcsw) + READ_ONCE(p->nivcsw)) << 33;
}

/*
 * p is runnable since since_ns (the time_ns of the SWITCH record that
 * preempted it, or of the WAKEUP record that woke it: woken), made on
 * from_cpu. A preemption replaces what is there; a wake-up of a task
 * already runnable since a preemption or wake-up keeps that entry (the
 * kernel also fires sched_wakeup for a task still queued).
 */
static __always_inline u32 hftmon_runnable_wait(u64 v1)
{
	return (u32)((v1 & HFTMON_RUNNABLE_WAIT) >> 16);
}

/*
 * The same, with the CPU the task is counted waiting on (wait1: the CPU
 * + 1, 0: not counted), and in *old_wait1 the CPU + 1 that p's own entry
 * of this run (replaced or kept) was counted on, 0 if none. Returns
 * HFTMON_TASKTAB_PUT, _KEPT (the entry stands, with its old count), or
 * 0 (no room: not counted).
 */
static __always_inline int hftmon_runnable_put_wait(struct hftmon_tasktab *t,
						    struct task_struct *p,
						    u64 epoch, u64 since_ns,
						    u32 from_cpu, bool woken,
						    u32 wait1, u32 *old_wait1)
{
	u64 own;
	int r = hftmon_tasktab_put_own(t, (unsigned long)p, epoch, since_ns,
				       (from_cpu & HFTMON_RUNNABLE_FROM) |
				       (u64)(wait1 & 0xffff) << 16 |
				       (woken ? HFTMON_RUNNABLE_WOKEN : 0) |
				       hftmon_runnable_switches(p),
				       woken ? HFTMON_RUNNABLE_SWITCHES : 0, &own);

	*old_wait1 = hftmon_runnable_wait(own);
	return r;
}

static __always_inline bool hftmon_runnable_put(struct hftmon_tasktab *t,
						struct task_struct *p, u64 epoch,
						u64 since_ns, u32 from_cpu,
						bool woken)
{
	u32 old;

	return hftmon_runnable_put_wait(t, p, epoch, since_ns, from_cpu, woken,
					0, &old);
}

/*
 * Take p's entry at its switch-in: true if this run's and still true.
 * *wait1: the CPU + 1 a this-run's entry was counted waiting on (also
 * when it is no longer true), else 0.
 */
static __always_inline bool hftmon_runnable_take_wait(struct hftmon_tasktab *t,
						      struct task_struct *p,
						      u64 epoch, u64 *since_ns,
						      u32 *from_cpu, bool *woken,
						      u32 *wait1)
{
	u64 v1;

	*wait1 = 0;
	if (!hftmon_tasktab_take(t, (unsigned long)p, epoch, since_ns, &v1))
		return false;
	*from_cpu = (u32)(v1 & HFTMON_RUNNABLE_FROM);
	*woken = v1 & HFTMON_RUNNABLE_WOKEN;
	*wait1 = hftmon_runnable_wait(v1);
	return (v1 & HFTMON_RUNNABLE_SWITCHES) == hftmon_runnable_switches(p);
}

static __always_inline bool hftmon_runnable_take(struct hftmon_tasktab *t,
						 struct task_struct *p, u64 epoch,
						 u64 *since_ns, u32 *from_cpu,
						 bool *woken)
{
	u32 wait1;

	return hftmon_runnable_take_wait(t, p, epoch, since_ns, from_cpu, woken,
					 &wait1);
}

/* ---- switched out at (switch-out -> switch-in), for kstack_min_ns ------ */

extern struct hftmon_tasktab hftmon_kstack_out;

/*
 * p switched out at out_ns (its SWITCH record's time_ns); tagged with its
 * switch-out count as the runnable entries are, so that an entry from an
 * earlier switch-out (its record lost, the task untracked since) is not
 * taken for this one.
 */
static __always_inline bool hftmon_kstack_out_put(struct hftmon_tasktab *t,
						  struct task_struct *p,
						  u64 epoch, u64 out_ns)
{
	return hftmon_tasktab_put(t, (unsigned long)p, epoch, out_ns,
				  hftmon_runnable_switches(p), 0);
}

/* At p's switch-in: when it switched out, if this run saw that. */
static __always_inline bool hftmon_kstack_out_take(struct hftmon_tasktab *t,
						   struct task_struct *p,
						   u64 epoch, u64 *out_ns)
{
	u64 v1;

	if (!hftmon_tasktab_take(t, (unsigned long)p, epoch, out_ns, &v1))
		return false;
	return v1 == hftmon_runnable_switches(p);
}

/*
 * p blocked: whatever it was runnable since is over. The CPU + 1 a
 * this-run's entry was counted waiting on, else 0.
 */
static __always_inline u32 hftmon_runnable_drop(struct hftmon_tasktab *t,
						struct task_struct *p, u64 epoch)
{
	u64 v0, v1;

	if (!hftmon_tasktab_take(t, (unsigned long)p, epoch, &v0, &v1))
		return 0;
	return hftmon_runnable_wait(v1);
}

#endif /* HFTMON_TASKTAB_H */
