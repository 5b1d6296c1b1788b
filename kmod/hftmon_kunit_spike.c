// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: latency spikes, the pure parts. The chain rule of INTERRUPTED
 * spikes (hftmon_spike_chain_end()) with synthetic times, every expected
 * number worked out in the comments; the runnable-since table of RUNNABLE
 * spikes (hftmon_tasktab.h's hftmon_runnable_*) with fake tasks; the
 * configuration's spike checks; and the ring's kick, which keeps a spike
 * record readable past the poll() watermark.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "hftmon_kunit.h"
#include "hftmon_probe.h"
#include "hftmon_spike.h"
#include "hftmon_tasktab.h"

#define T	10000ULL	/* the threshold of the chain tests, ns */

/* Below the threshold nothing; exactly at it, one record. */
static void chain_threshold(struct kunit *test)
{
	struct hftmon_spike_chain c = { 0 };
	u16 flags = 0xffff;

	/* [1000, 10999]: 9999 ns. */
	KUNIT_EXPECT_FALSE(test, hftmon_spike_chain_end(&c, 1000, 1000 + T - 1,
							 1, T, &flags));
	KUNIT_EXPECT_EQ(test, c.links, 1U);
	/* 100 us later, [111000, 121000]: 10000 ns, a chain of its own. */
	KUNIT_EXPECT_TRUE(test, hftmon_spike_chain_end(&c, 111000, 111000 + T,
							1, T, &flags));
	KUNIT_EXPECT_EQ(test, flags, (u16)0);
	KUNIT_EXPECT_EQ(test, c.start, 111000ULL);
	KUNIT_EXPECT_EQ(test, c.links, 1U);
}

/*
 * [1000, 7000] (6000 ns), then [11999, 13000], 4999 ns after: one chain of
 * 12000 ns, reported with links 2 from 1000; then [13100, 14000]: the same
 * chain again, EXTENDS, links 3, 13000 ns.
 */
static void chain_two_links(struct kunit *test)
{
	struct hftmon_spike_chain c = { 0 };
	u16 flags = 0xffff;

	KUNIT_EXPECT_FALSE(test, hftmon_spike_chain_end(&c, 1000, 7000, 4, T,
							 &flags));
	KUNIT_EXPECT_TRUE(test, hftmon_spike_chain_end(&c, 7000 +
				HFTMON_SPIKE_CHAIN_NS - 1, 13000, 4, T, &flags));
	KUNIT_EXPECT_EQ(test, flags, (u16)0);
	KUNIT_EXPECT_EQ(test, c.start, 1000ULL);
	KUNIT_EXPECT_EQ(test, c.end, 13000ULL);
	KUNIT_EXPECT_EQ(test, c.links, 2U);
	KUNIT_EXPECT_TRUE(test, hftmon_spike_chain_end(&c, 13100, 14000, 4, T,
							&flags));
	KUNIT_EXPECT_EQ(test, flags, (u16)HFTMON_SPIKE_EXTENDS);
	KUNIT_EXPECT_EQ(test, c.start, 1000ULL);
	KUNIT_EXPECT_EQ(test, c.links, 3U);
	/* Raised above the span: no record, the chain goes on. */
	KUNIT_EXPECT_FALSE(test, hftmon_spike_chain_end(&c, 14100, 15000, 4,
							 100000, &flags));
	KUNIT_EXPECT_EQ(test, c.links, 4U);
}

/* A switch between two interruptions, or a gap of CHAIN_NS, breaks it. */
static void chain_breaks(struct kunit *test)
{
	struct hftmon_spike_chain c = { 0 };
	u16 flags;

	KUNIT_EXPECT_FALSE(test, hftmon_spike_chain_end(&c, 1000, 7000, 1, T,
							 &flags));
	/* [8000, 13000] after a switch (count 2): 5000 ns of its own. */
	KUNIT_EXPECT_FALSE(test, hftmon_spike_chain_end(&c, 8000, 13000, 2, T,
							 &flags));
	KUNIT_EXPECT_EQ(test, c.start, 8000ULL);
	KUNIT_EXPECT_EQ(test, c.links, 1U);
	/* [18000, 19000]: exactly CHAIN_NS after 13000, a new chain. */
	KUNIT_EXPECT_FALSE(test, hftmon_spike_chain_end(&c, 13000 +
				HFTMON_SPIKE_CHAIN_NS, 19000, 2, T, &flags));
	KUNIT_EXPECT_EQ(test, c.start, 18000ULL);
	KUNIT_EXPECT_EQ(test, c.links, 1U);
	/* An NMI fed late, ended at 17000 before the chain's end: ignored. */
	KUNIT_EXPECT_FALSE(test, hftmon_spike_chain_end(&c, 16990, 17000, 2, T,
							 &flags));
	KUNIT_EXPECT_EQ(test, c.start, 18000ULL);
	KUNIT_EXPECT_EQ(test, c.end, 19000ULL);
	KUNIT_EXPECT_EQ(test, c.links, 1U);
	/* A chain reported, broken, then a new one: not EXTENDS. */
	KUNIT_EXPECT_TRUE(test, hftmon_spike_chain_end(&c, 19500, 30000, 2, T,
							&flags));
	KUNIT_EXPECT_EQ(test, flags, (u16)0);
	KUNIT_EXPECT_EQ(test, c.start, 18000ULL);
	KUNIT_EXPECT_TRUE(test, hftmon_spike_chain_end(&c, 40000, 50000, 2, T,
							&flags));
	KUNIT_EXPECT_EQ(test, flags, (u16)0);
	KUNIT_EXPECT_EQ(test, c.start, 40000ULL);
}

/* ---- runnable since -------------------------------------------------- */

static struct hftmon_tasktab *tab_new(struct kunit *test)
{
	struct hftmon_tasktab *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->bits = 1;
	t->buckets = kunit_kcalloc(test, 2, sizeof(*t->buckets), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->buckets);
	return t;
}

/* Fake tasks: only their switch counts are read. */
static struct task_struct *task_new(struct kunit *test)
{
	struct task_struct *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	return p;
}

static void runnable_put_take(struct kunit *test)
{
	struct hftmon_tasktab *t = tab_new(test);
	struct task_struct *p = task_new(test);
	u64 since = 0;
	u32 from = 99;
	bool woken = true;

	KUNIT_EXPECT_FALSE(test, hftmon_runnable_take(t, p, 5, &since, &from,
						      &woken));
	/* Preempted at 1000 on CPU 1 (its 3rd switch-out). */
	p->nivcsw = 3;
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 1000, 1, false));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_take(t, p, 5, &since, &from,
						     &woken));
	KUNIT_EXPECT_EQ(test, since, 1000ULL);
	KUNIT_EXPECT_EQ(test, from, 1U);
	KUNIT_EXPECT_FALSE(test, woken);
	/* Taken once. */
	KUNIT_EXPECT_FALSE(test, hftmon_runnable_take(t, p, 5, &since, &from,
						      &woken));

	/* Woken at 2000 from CPU 0, then woken again while queued: 2000. */
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 2000, 0, true));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 2500, 1, true));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_take(t, p, 5, &since, &from,
						     &woken));
	KUNIT_EXPECT_EQ(test, since, 2000ULL);
	KUNIT_EXPECT_EQ(test, from, 0U);
	KUNIT_EXPECT_TRUE(test, woken);

	/* Preempted at 3000, a spurious wake-up at 3100: still 3000. */
	p->nivcsw = 4;
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 3000, 1, false));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 3100, 0, true));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_take(t, p, 5, &since, &from,
						     &woken));
	KUNIT_EXPECT_EQ(test, since, 3000ULL);
	KUNIT_EXPECT_FALSE(test, woken);

	/* Woken at 4000 (while running), then preempted at 4200: 4200. */
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 4000, 0, true));
	p->nivcsw = 5;
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 4200, 1, false));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_take(t, p, 5, &since, &from,
						     &woken));
	KUNIT_EXPECT_EQ(test, since, 4200ULL);

	/* Woken while running at 5000, then blocks: dropped. */
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 5000, 0, true));
	p->nvcsw = 1;
	hftmon_runnable_drop(t, p, 5);
	KUNIT_EXPECT_FALSE(test, hftmon_runnable_take(t, p, 5, &since, &from,
						      &woken));
}

/* Entries of an earlier run, or older than the task's last switch-out. */
static void runnable_stale(struct kunit *test)
{
	struct hftmon_tasktab *t = tab_new(test);
	struct task_struct *p = task_new(test);
	u64 since;
	u32 from;
	bool woken;

	/* Run 5 left an entry; run 6 neither takes nor keeps it. */
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 1000, 1, false));
	KUNIT_EXPECT_FALSE(test, hftmon_runnable_take(t, p, 6, &since, &from,
						      &woken));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 5, 1000, 1, false));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 6, 7000, 0, true));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_take(t, p, 6, &since, &from,
						     &woken));
	KUNIT_EXPECT_EQ(test, since, 7000ULL);

	/*
	 * Preempted at 8000 (count 2), then it ran and blocked untracked
	 * (count 3): its wake-up at 9000 replaces the entry, and an entry
	 * left at count 3 is not taken at count 4.
	 */
	p->nivcsw = 2;
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 6, 8000, 1, false));
	p->nvcsw = 1;
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 6, 9000, 0, true));
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_take(t, p, 6, &since, &from,
						     &woken));
	KUNIT_EXPECT_EQ(test, since, 9000ULL);
	KUNIT_EXPECT_TRUE(test, woken);
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_put(t, p, 6, 10000, 1, false));
	p->nivcsw = 3;
	KUNIT_EXPECT_FALSE(test, hftmon_runnable_take(t, p, 6, &since, &from,
						      &woken));
}

/* ---- configuration ----------------------------------------------------- */

static int cfg_check(u64 events, u64 thr)
{
	const u64 avail = HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL |
			  HFTMON_EV_SPIKE;
	struct hftmon_config c = {
		.size = sizeof(c),
		.events = events,
		.spike_threshold_ns = thr,
	};

	return hftmon_config_check(&c, avail, 64, 1024);
}

static void spike_config(struct kunit *test)
{
	const u64 ev = HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP | HFTMON_EV_SPIKE;

	KUNIT_EXPECT_EQ(test, cfg_check(ev, HFTMON_SPIKE_THRESHOLD_MIN_NS), 0);
	KUNIT_EXPECT_EQ(test, cfg_check(ev, HFTMON_SPIKE_THRESHOLD_MAX_NS), 0);
	KUNIT_EXPECT_EQ(test, cfg_check(ev | HFTMON_EV_IRQ_ALL, 100000), 0);
	/* No default is invented: 0 is refused. */
	KUNIT_EXPECT_EQ(test, cfg_check(ev, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, cfg_check(ev, 999), -EINVAL);
	KUNIT_EXPECT_EQ(test, cfg_check(ev, HFTMON_SPIKE_THRESHOLD_MAX_NS + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, cfg_check(ev, ~0ULL), -EINVAL);
	/* Without EV_SPIKE the threshold must be 0, also with events 0. */
	KUNIT_EXPECT_EQ(test, cfg_check(ev & ~HFTMON_EV_SPIKE, 100000), -EINVAL);
	KUNIT_EXPECT_EQ(test, cfg_check(0, 100000), -EINVAL);
	KUNIT_EXPECT_EQ(test, cfg_check(ev & ~HFTMON_EV_SPIKE, 0), 0);
	/* It needs switches and wake-ups. */
	KUNIT_EXPECT_EQ(test, cfg_check(ev & ~HFTMON_EV_SWITCH, 100000), -EINVAL);
	KUNIT_EXPECT_EQ(test, cfg_check(ev & ~HFTMON_EV_WAKEUP, 100000), -EINVAL);
	KUNIT_EXPECT_EQ(test, cfg_check(HFTMON_EV_SPIKE | HFTMON_EV_IRQ_ALL,
					100000), -EINVAL);
}

/* ---- the ring's kick ----------------------------------------------------- */

static void put_one(struct hftmon_ring *rb, bool kick)
{
	unsigned long flags;

	local_irq_save(flags);
	if (hftmon_ring_reserve_irqsoff(rb, HFTMON_REC_SPIKE,
					sizeof(struct hftmon_rec_spike))) {
		if (kick)
			hftmon_ring_kick(rb);
		hftmon_ring_commit_irqsoff(rb);
	}
	local_irq_restore(flags);
}

/*
 * Watermark = the whole data area: plain records never make the ring
 * readable for poll() while running; a kicked one does until it is read.
 */
static void ring_kick(struct kunit *test)
{
	wait_queue_head_t *wq = kunit_kzalloc(test, sizeof(*wq), GFP_KERNEL);
	struct hftmon_ring *rb;
	u64 head;

	KUNIT_ASSERT_NOT_NULL(test, wq);
	init_waitqueue_head(wq);
	rb = hftmon_ring_alloc(raw_smp_processor_id(), 1, PAGE_SIZE, wq);
	KUNIT_ASSERT_FALSE(test, IS_ERR(rb));
	put_one(rb, false);
	KUNIT_EXPECT_FALSE(test, hftmon_ring_readable(rb, false));
	KUNIT_EXPECT_TRUE(test, hftmon_ring_readable(rb, true));
	put_one(rb, true);
	KUNIT_EXPECT_TRUE(test, hftmon_ring_readable(rb, false));
	KUNIT_EXPECT_TRUE(test, irq_work_is_pending(&rb->wakeup_work) ||
			  irq_work_is_busy(&rb->wakeup_work) ||
			  rb->last_wakeup == rb->head);
	KUNIT_EXPECT_EQ(test, rb->last_wakeup, 2 * sizeof(struct hftmon_rec_spike));
	/* A third, plain: the kicked one is still unread. */
	put_one(rb, false);
	KUNIT_EXPECT_TRUE(test, hftmon_ring_readable(rb, false));
	/* Kicked while the last kicked one is unread: no second wake-up. */
	put_one(rb, true);
	KUNIT_EXPECT_EQ(test, rb->last_wakeup, 2 * sizeof(struct hftmon_rec_spike));
	KUNIT_EXPECT_EQ(test, rb->urgent_head, 4 * sizeof(struct hftmon_rec_spike));
	/* Read all but the last kicked record: still readable for poll(). */
	head = smp_load_acquire(&rb->ctrl->data_head);
	/* As a reader releases what it read. */
	smp_store_release(&rb->ctrl->data_tail,
			  head - sizeof(struct hftmon_rec_spike));
	KUNIT_EXPECT_TRUE(test, hftmon_ring_readable(rb, false));
	/* All read: not readable; the next kick wakes again. */
	smp_store_release(&rb->ctrl->data_tail, head);
	KUNIT_EXPECT_FALSE(test, hftmon_ring_readable(rb, false));
	irq_work_sync(&rb->wakeup_work);
	put_one(rb, true);
	KUNIT_EXPECT_EQ(test, rb->last_wakeup, 5 * sizeof(struct hftmon_rec_spike));
	KUNIT_EXPECT_TRUE(test, hftmon_ring_readable(rb, false));
	irq_work_sync(&rb->wakeup_work);
	hftmon_ring_free(rb);
}

/* A page fault is a spike from the threshold on, its record's fields. */
static void fault_due(struct kunit *test)
{
	struct hftmon_spike_info i = { .type = 99 };

	KUNIT_EXPECT_FALSE(test, hftmon_fault_spike_due(5000, 5000 + T - 1, T,
							0x1000, 1, &i));
	KUNIT_EXPECT_EQ(test, i.type, 99U); /* untouched */
	KUNIT_EXPECT_FALSE(test, hftmon_fault_spike_due(5000, 4000, T, 0, 1, &i));
	KUNIT_EXPECT_FALSE(test, hftmon_fault_spike_due(0, 10 * T, 0, 0, 1, &i));
	KUNIT_EXPECT_TRUE(test, hftmon_fault_spike_due(5000, 5000 + T, T,
						       0x7f0000001234ULL, 1, &i));
	KUNIT_EXPECT_EQ(test, i.type, (u32)HFTMON_SPIKE_FAULT);
	KUNIT_EXPECT_EQ(test, i.start_ns, 5000ULL);
	KUNIT_EXPECT_EQ(test, i.end_ns, 5000ULL + T);
	KUNIT_EXPECT_EQ(test, i.threshold_ns, (u64)T);
	KUNIT_EXPECT_EQ(test, i.addr, 0x7f0000001234ULL);
	KUNIT_EXPECT_EQ(test, i.from_cpu, 1U);
	KUNIT_EXPECT_EQ(test, i.idle_state, -1);
	KUNIT_EXPECT_EQ(test, i.links, 0U);
	KUNIT_EXPECT_EQ(test, i.flags, 0);
}

/*
 * The waiting CPU an entry is counted on (HFTMON_EV_RUNQ): given back
 * where the entry goes, and by the put that replaces or keeps it, so
 * that no count outlives its entry.
 */
static void runnable_wait_counted(struct kunit *test)
{
	struct hftmon_tasktab *t = tab_new(test);
	struct task_struct *p = task_new(test);
	u32 from = 0, wait1 = 0, old = 99;
	bool woken = false;
	u64 since = 0;

	/* Preempted on CPU 3: counted there (3 + 1). */
	p->nivcsw = 1;
	KUNIT_EXPECT_EQ(test, hftmon_runnable_put_wait(t, p, 5, 1000, 3, false,
						       4, &old), HFTMON_TASKTAB_PUT);
	KUNIT_EXPECT_EQ(test, old, 0U);
	/* Woken while queued: the entry stands, counted where it was. */
	KUNIT_EXPECT_EQ(test, hftmon_runnable_put_wait(t, p, 5, 1500, 0, true,
						       1, &old), HFTMON_TASKTAB_KEPT);
	KUNIT_EXPECT_EQ(test, old, 4U);
	KUNIT_EXPECT_TRUE(test, hftmon_runnable_take_wait(t, p, 5, &since, &from,
							  &woken, &wait1));
	KUNIT_EXPECT_EQ(test, wait1, 4U);
	KUNIT_EXPECT_EQ(test, from, 3U);
	KUNIT_EXPECT_EQ(test, since, 1000ULL);
	/* A preemption over an entry never taken: the old count comes back. */
	KUNIT_EXPECT_EQ(test, hftmon_runnable_put_wait(t, p, 5, 2000, 1, false,
						       2, &old), HFTMON_TASKTAB_PUT);
	KUNIT_EXPECT_EQ(test, old, 0U);
	KUNIT_EXPECT_EQ(test, hftmon_runnable_put_wait(t, p, 5, 2100, 0, false,
						       1, &old), HFTMON_TASKTAB_PUT);
	KUNIT_EXPECT_EQ(test, old, 2U);
	/* Blocked: the drop says where it was counted; then nothing is. */
	KUNIT_EXPECT_EQ(test, hftmon_runnable_drop(t, p, 5), 1U);
	KUNIT_EXPECT_EQ(test, hftmon_runnable_drop(t, p, 5), 0U);
	/* A stale switch count still gives the count back at the take. */
	KUNIT_EXPECT_EQ(test, hftmon_runnable_put_wait(t, p, 5, 3000, 0, false,
						       1, &old), HFTMON_TASKTAB_PUT);
	p->nivcsw = 2;
	KUNIT_EXPECT_FALSE(test, hftmon_runnable_take_wait(t, p, 5, &since, &from,
							   &woken, &wait1));
	KUNIT_EXPECT_EQ(test, wait1, 1U);
	/* An earlier run's entry counts nothing of this run's. */
	KUNIT_EXPECT_EQ(test, hftmon_runnable_put_wait(t, p, 5, 4000, 0, false,
						       1, &old), HFTMON_TASKTAB_PUT);
	KUNIT_EXPECT_EQ(test, hftmon_runnable_put_wait(t, p, 6, 5000, 0, false,
						       2, &old), HFTMON_TASKTAB_PUT);
	KUNIT_EXPECT_EQ(test, old, 0U);
}

static struct kunit_case spike_cases[] = {
	KUNIT_CASE(fault_due),
	KUNIT_CASE(chain_threshold),
	KUNIT_CASE(chain_two_links),
	KUNIT_CASE(chain_breaks),
	KUNIT_CASE(runnable_put_take),
	KUNIT_CASE(runnable_stale),
	KUNIT_CASE(runnable_wait_counted),
	KUNIT_CASE(spike_config),
	KUNIT_CASE(ring_kick),
	{}
};

static struct kunit_suite spike_suite = {
	.name = "hftmon_spike",
	.suite_init = hftmon_kt_probes_init,
	.suite_exit = hftmon_kt_caches_exit,
	.test_cases = spike_cases,
};

kunit_test_suites(&spike_suite);
