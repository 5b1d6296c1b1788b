/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The table of wakers in flight (probes/sched.c's; a header of its own
 * for the KUnit suites). The waker of a wake-up goes from sched_waking
 * (in the waker's context) to sched_wakeup (where the woken task is
 * enqueued: with the kernel's remote wake list, on the target CPU, where
 * "current" is whatever ran there).
 * One module-wide table, since one session runs at a time: entries are
 * keyed by the woken task and tagged with the run that made them (the
 * session's start_ns), so an entry a run left behind is never taken by
 * the next and its slot is reused. Fixed size, lock-free, never blocks:
 * a full bucket leaves the record's waker unknown (HFTMON_WAKEUP_NO_WAKER).
 *
 * A slot's key is 0 (free), HFTMON_WAKER_BUSY (being written) or a task.
 * A writer claims a slot by cmpxchg to BUSY, fills it and publishes the
 * key with a release; a reader loads the key with acquire and frees the
 * slot by cmpxchg back to 0, so it never reads a half-written entry, and
 * a slot two CPUs both wanted has one owner. Wakings of one task are
 * serialised by its pi_lock, and its sched_wakeup follows its sched_waking
 * (same CPU, or after the wake list's hand-off), so the put and take of
 * one task never race each other; only slots are shared.
 */
#ifndef HFTMON_WAKERS_H
#define HFTMON_WAKERS_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/hash.h>
#include <linux/sched.h>
#include <linux/types.h>

#define HFTMON_WAKER_WAYS	4	/* slots per bucket: two cache lines */
#define HFTMON_WAKER_BUSY	1UL	/* never a task pointer */

struct hftmon_waker_slot {
	unsigned long task;		/* key, see above */
	u64 epoch;			/* start_ns of the run that made it */
	s32 tgid, tid;			/* the waker */
	u16 flags;			/* HFTMON_WAKEUP_* for the record */
} __aligned(32);

struct hftmon_waker_bucket {
	struct hftmon_waker_slot slot[HFTMON_WAKER_WAYS];
} ____cacheline_aligned;

struct hftmon_wakers {
	struct hftmon_waker_bucket *buckets;
	unsigned int bits;		/* 1 << bits buckets */
};

extern struct hftmon_wakers hftmon_wakers;

/* The probe on sched_waking (for the KUnit suites). */
void hftmon_tp_sched_waking(void *data, struct task_struct *p);

static __always_inline struct hftmon_waker_slot *
hftmon_waker_bucket(const struct hftmon_wakers *t, unsigned long task)
{
	return t->buckets[hash_long(task, t->bits)].slot;
}

/* Claim slot s whose key was old, fill it, publish it. */
static __always_inline bool hftmon_waker_fill(struct hftmon_waker_slot *s,
					      unsigned long old,
					      unsigned long task, u64 epoch,
					      s32 tgid, s32 tid, u16 flags)
{
	if (cmpxchg(&s->task, old, HFTMON_WAKER_BUSY) != old)
		return false;
	s->epoch = epoch;
	s->tgid = tgid;
	s->tid = tid;
	s->flags = flags;
	/* The entry before its key: pairs with the readers' acquire. */
	smp_store_release(&s->task, task);
	return true;
}

/*
 * Remember task's waker for this run (epoch). Replaces task's own entry
 * if one was left (its wake-up was not taken: it was detached between),
 * else takes a free slot or one an earlier run left. false: no room.
 */
static __always_inline bool hftmon_waker_put(struct hftmon_wakers *t,
					     unsigned long task, u64 epoch,
					     s32 tgid, s32 tid, u16 flags)
{
	struct hftmon_waker_slot *b = hftmon_waker_bucket(t, task);
	unsigned long old;
	int i;

	/* Acquire: a key read, its entry (epoch) is the one it published. */
	for (i = 0; i < HFTMON_WAKER_WAYS; i++)
		if (smp_load_acquire(&b[i].task) == task && /* see above */
		    hftmon_waker_fill(&b[i], task, task, epoch, tgid, tid, flags))
			return true;
	for (i = 0; i < HFTMON_WAKER_WAYS; i++) {
		old = smp_load_acquire(&b[i].task);	/* as above */
		if (old == HFTMON_WAKER_BUSY ||
		    (old && READ_ONCE(b[i].epoch) == epoch))
			continue;	/* being written, or this run's */
		if (hftmon_waker_fill(&b[i], old, task, epoch, tgid, tid, flags))
			return true;
	}
	return false;
}

/*
 * Take task's waker, if this run put one: true and the waker's ids and
 * flags. Frees the slot whatever its run.
 */
static __always_inline bool hftmon_waker_take(struct hftmon_wakers *t,
					      unsigned long task, u64 epoch,
					      s32 *tgid, s32 *tid, u16 *flags)
{
	struct hftmon_waker_slot *b = hftmon_waker_bucket(t, task);
	int i;

	for (i = 0; i < HFTMON_WAKER_WAYS; i++) {
		struct hftmon_waker_slot *s = &b[i];
		bool mine;

		/* Pairs with hftmon_waker_fill()'s release. */
		if (smp_load_acquire(&s->task) != task)
			continue;
		mine = READ_ONCE(s->epoch) == epoch;
		*tgid = READ_ONCE(s->tgid);
		*tid = READ_ONCE(s->tid);
		*flags = READ_ONCE(s->flags);
		/* Lost to a writer that found it stale: not ours then. */
		return cmpxchg(&s->task, task, 0UL) == task && mine;
	}
	return false;
}

#endif /* HFTMON_WAKERS_H */
