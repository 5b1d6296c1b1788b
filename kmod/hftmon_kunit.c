// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for hftmon's kernel side, built into hftmon.ko when
 * CONFIG_HFTMON_KUNIT_TEST=y and run when the module is loaded (in the
 * KUnit kernel that tests/kunit/run.sh boots with two vCPUs). They cover
 * the per-CPU ring (including a real hard-IRQ writer nesting inside a
 * writer on the same CPU), the tracked-process table (including a reused
 * tgid), the source tables and what GET_INFO derives from them (a
 * missing tracepoint, a broken table), the probes as the tracepoints call
 * them, and the ioctl argument checks.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/irq_work.h>
#include <linux/kallsyms.h>
#include <linux/kthread.h>
#include <linux/sched/numa_balancing.h>
#include <linux/perf_event.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "hftmon_kunit.h"
#include "hftmon_probe.h"
#include "hftmon_irq.h"
#include "hftmon_tasktab.h"

#define RING_PAGES	1	/* one 4 KiB data page: wraps quickly */

static void ring_basic(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, RING_PAGES);
	struct hftmon_rec_hdr *h;
	u64 t0 = ktime_get_mono_fast_ns();

	KUNIT_EXPECT_EQ(test, rb->ctrl->version, (u32)HFTMON_ABI_VERSION);
	KUNIT_EXPECT_EQ(test, rb->ctrl->data_size, (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, rb->ctrl->data_offset, (u32)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 0ULL);

	KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 48, 7));
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 48ULL);
	h = rb->data;
	KUNIT_EXPECT_EQ(test, h->type, (u16)HFTMON_REC_WAKEUP);
	KUNIT_EXPECT_EQ(test, h->size, (u16)48);
	KUNIT_EXPECT_EQ(test, h->seq, 0ULL);
	KUNIT_EXPECT_EQ(test, h->tid, 7);
	KUNIT_EXPECT_EQ(test, (u32)h->cpu, (u32)rb->cpu);
	KUNIT_EXPECT_GE(test, h->time_ns, t0);
	KUNIT_EXPECT_LE(test, h->time_ns, ktime_get_mono_fast_ns());

	KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 32, 8));
	h = rb->data + 48;
	KUNIT_EXPECT_EQ(test, h->seq, 1ULL);
	KUNIT_EXPECT_EQ(test, rb->ctrl->records, 2ULL);
	KUNIT_EXPECT_EQ(test, rb->ctrl->next_seq, 2ULL);
	KUNIT_EXPECT_TRUE(test, hftmon_ring_readable(rb, true));
}

/* A record that does not fit before the end: PAD, then the record at 0. */
static void ring_wrap_pad(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, RING_PAGES);
	struct hftmon_rec_hdr *h;
	int i;

	/* 127 * 32 = 4064: a 40-byte record needs a 32-byte pad first... */
	for (i = 0; i < 127; i++)
		KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 32, i));
	/* ...and pad + record do not fit while nothing is consumed. */
	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 40, 127));
	KUNIT_EXPECT_EQ(test, rb->lost[HFTMON_LOST_RING_FULL], 1ULL);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 4064ULL);

	/* Consume everything: the record lands at 0 behind the pad. */
	smp_store_release(&rb->ctrl->data_tail, hftmon_kt_head(rb));
	KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 40, 200));
	h = rb->data + 4064;
	KUNIT_EXPECT_EQ(test, h->type, (u16)HFTMON_REC_PAD);
	KUNIT_EXPECT_EQ(test, h->size, (u16)32);
	h = rb->data;
	KUNIT_EXPECT_EQ(test, h->tid, 200);
	KUNIT_EXPECT_EQ(test, h->seq, 128ULL);	/* the lost one took 127 */
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 4096ULL + 40);

	/*
	 * 40 + 125 * 32 = 4040: one more 32-byte record would leave 24 bytes,
	 * less than a header, so it goes to the start behind a 56-byte PAD:
	 * every PAD is a whole header (type, size, cpu; no seq, no subject).
	 */
	smp_store_release(&rb->ctrl->data_tail, hftmon_kt_head(rb));
	for (i = 0; i < 125; i++)
		KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 32, i));
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 4096ULL + 4040);
	smp_store_release(&rb->ctrl->data_tail, hftmon_kt_head(rb));
	KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 32, 300));
	h = rb->data + 4040;
	KUNIT_EXPECT_EQ(test, h->type, (u16)HFTMON_REC_PAD);
	KUNIT_EXPECT_EQ(test, h->size, (u16)56);
	KUNIT_EXPECT_EQ(test, (u32)h->cpu, (u32)rb->cpu);
	KUNIT_EXPECT_EQ(test, h->seq, 0ULL);
	KUNIT_EXPECT_EQ(test, h->pid, 0);
	KUNIT_EXPECT_EQ(test, h->tid, 0);
	KUNIT_EXPECT_EQ(test, ((struct hftmon_rec_hdr *)rb->data)->tid, 300);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 2 * 4096ULL + 32);
}

/* A full ring loses records, counts them, and leaves a seq gap. */
static void ring_full_lost(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, RING_PAGES);
	struct hftmon_rec_hdr *h;
	int i;

	for (i = 0; i < 128; i++)
		KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 32, i));
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 4096ULL);
	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 32, 128));
	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 32, 129));
	KUNIT_EXPECT_EQ(test, rb->lost[HFTMON_LOST_RING_FULL], 2ULL);
	KUNIT_EXPECT_EQ(test, rb->ctrl->lost[HFTMON_LOST_RING_FULL], 2ULL);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 4096ULL);
	/* Nothing was overwritten. */
	KUNIT_EXPECT_EQ(test, ((struct hftmon_rec_hdr *)rb->data)->tid, 0);

	/* The reader frees one record's worth; the next gets seq 130. */
	smp_store_release(&rb->ctrl->data_tail, 32ULL);
	KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 32, 130));
	h = rb->data;
	KUNIT_EXPECT_EQ(test, h->tid, 130);
	KUNIT_EXPECT_EQ(test, h->seq, 130ULL);
	KUNIT_EXPECT_EQ(test, rb->ctrl->records, 129ULL);
}

/*
 * The full test counts the PAD a wrapped record needs: 127 * 32 = 4064
 * written and one 32-byte record read leaves 64 bytes free, enough for a
 * 48-byte record but not for it and the 32-byte PAD in front of it. Taken
 * anyway, the record at 0 would overrun the header of the unread one at 32
 * with its body.
 */
static void ring_full_counts_pad(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, RING_PAGES);
	struct hftmon_rec_hdr *h;
	int i;

	for (i = 0; i < 127; i++)
		KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 32, i));
	/* As the reader does: the reserve's acquire pairs with it. */
	smp_store_release(&rb->ctrl->data_tail, 32ULL);
	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 48, 127));
	KUNIT_EXPECT_EQ(test, rb->lost[HFTMON_LOST_RING_FULL], 1ULL);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 4064ULL);
	/* The unread record at 32 is untouched. */
	h = rb->data + 32;
	KUNIT_EXPECT_EQ(test, h->type, (u16)HFTMON_REC_WAKEUP);
	KUNIT_EXPECT_EQ(test, h->size, (u16)32);
	KUNIT_EXPECT_EQ(test, h->tid, 1);
	KUNIT_EXPECT_EQ(test, h->seq, 1ULL);

	/* One more record read: 96 bytes free, PAD and record fit. */
	smp_store_release(&rb->ctrl->data_tail, 64ULL);
	KUNIT_ASSERT_TRUE(test, hftmon_kt_put(rb, 48, 128));
	KUNIT_EXPECT_EQ(test, ((struct hftmon_rec_hdr *)(rb->data + 4064))->type,
			(u16)HFTMON_REC_PAD);
	KUNIT_EXPECT_EQ(test, ((struct hftmon_rec_hdr *)rb->data)->tid, 128);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 4096ULL + 48);
}

static void ring_too_big_and_bad_tail(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, RING_PAGES);

	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 2048, 1));	/* > 1/4 ring */
	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 36, 1));	/* not 8-aligned */
	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 16, 1));	/* < header */
	KUNIT_EXPECT_EQ(test, rb->lost[HFTMON_LOST_TOO_BIG], 3ULL);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 0ULL);

	/* A reader that writes a tail ahead of head gets a "full" ring. */
	WRITE_ONCE(rb->ctrl->data_tail, 1ULL << 40);
	KUNIT_EXPECT_FALSE(test, hftmon_kt_put(rb, 32, 1));
	KUNIT_EXPECT_EQ(test, rb->lost[HFTMON_LOST_RING_FULL], 1ULL);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 0ULL);
	WRITE_ONCE(rb->ctrl->data_tail, 0ULL);
	KUNIT_EXPECT_TRUE(test, hftmon_kt_put(rb, 32, 2));
	KUNIT_EXPECT_EQ(test, ((struct hftmon_rec_hdr *)rb->data)->seq, 4ULL);
}

/* Nesting by hand: an inner writer commits while the outer is open. */
static void ring_nested_commit(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, RING_PAGES);
	struct hftmon_rec_hdr *outer, *inner;

	preempt_disable();
	outer = hftmon_ring_reserve(rb, HFTMON_REC_SWITCH, 64);
	KUNIT_ASSERT_NOT_NULL(test, outer);
	inner = hftmon_ring_reserve(rb, HFTMON_REC_IRQ, 48);
	KUNIT_ASSERT_NOT_NULL(test, inner);
	hftmon_ring_commit(rb);
	/* The outer record is unfinished: nothing may be visible yet. */
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 0ULL);
	hftmon_ring_commit(rb);
	preempt_enable();
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 112ULL);
	KUNIT_EXPECT_EQ(test, outer->seq, 0ULL);
	KUNIT_EXPECT_EQ(test, inner->seq, 1ULL);
	KUNIT_EXPECT_LE(test, outer->time_ns, inner->time_ns);
	KUNIT_EXPECT_EQ(test, rb->nest, 0U);
}

struct nest_irq {
	struct irq_work work;
	struct hftmon_ring *rb;
	u64 head_seen;			/* data_head inside the IRQ */
	bool in_hardirq;
	bool wrote;
	int ran;
};

static void nest_irq_fn(struct irq_work *w)
{
	struct nest_irq *n = container_of(w, struct nest_irq, work);
	struct hftmon_rec_hdr *h;

	n->in_hardirq = in_hardirq();
	h = hftmon_ring_reserve(n->rb, HFTMON_REC_IRQ, 48);
	if (h) {
		h->tid = -1;
		hftmon_ring_commit(n->rb);
		n->wrote = true;
	}
	n->head_seen = smp_load_acquire(&n->rb->ctrl->data_head);
	WRITE_ONCE(n->ran, 1);
}

/* A real hard-IRQ writer on the same CPU, inside an open record. */
static void ring_nested_hardirq(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, RING_PAGES);
	struct nest_irq *n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);
	struct hftmon_rec_hdr *outer, *h;
	int spins = 0;

	KUNIT_ASSERT_NOT_NULL(test, n);
	n->rb = rb;
	/* HARD: on PREEMPT_RT a plain irq_work runs in a thread instead. */
	n->work = IRQ_WORK_INIT_HARD(nest_irq_fn);

	preempt_disable();
	outer = hftmon_ring_reserve(rb, HFTMON_REC_SWITCH, 64);
	KUNIT_ASSERT_NOT_NULL(test, outer);
	outer->tid = 1;
	/* Self-IPI: runs nest_irq_fn in hard IRQ context on this CPU. */
	KUNIT_ASSERT_TRUE(test, irq_work_queue(&n->work));
	while (!READ_ONCE(n->ran) && spins++ < 1000000)
		cpu_relax();
	hftmon_ring_commit(rb);
	preempt_enable();

	KUNIT_ASSERT_EQ(test, READ_ONCE(n->ran), 1);
	KUNIT_EXPECT_TRUE(test, n->in_hardirq);
	KUNIT_EXPECT_TRUE(test, n->wrote);
	KUNIT_EXPECT_EQ(test, n->head_seen, 0ULL);	/* outer still open */
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 112ULL);
	h = rb->data + 64;
	KUNIT_EXPECT_EQ(test, h->tid, -1);
	KUNIT_EXPECT_EQ(test, h->seq, 1ULL);
	irq_work_sync(&n->work);
}

static struct kunit_case ring_cases[] = {
	KUNIT_CASE(ring_basic),
	KUNIT_CASE(ring_wrap_pad),
	KUNIT_CASE(ring_full_lost),
	KUNIT_CASE(ring_full_counts_pad),
	KUNIT_CASE(ring_too_big_and_bad_tail),
	KUNIT_CASE(ring_nested_commit),
	KUNIT_CASE(ring_nested_hardirq),
	{}
};

static struct kunit_suite ring_suite = {
	.suite_init = hftmon_kt_caches_init,
	.suite_exit = hftmon_kt_caches_exit,
	.name = "hftmon_ring",
	.exit = hftmon_kt_ring_exit,
	.test_cases = ring_cases,
};

/* ---- tracked-process table ---------------------------------------------- */

static struct hftmon_track *track_new(struct kunit *test, unsigned int max)
{
	struct hftmon_track *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	hftmon_track_init(t, max);
	test->priv = t;
	return t;
}

static void track_exit(struct kunit *test)
{
	hftmon_track_clear(test->priv);
	rcu_barrier();
}

static bool tracked(struct hftmon_track *t, struct task_struct *task)
{
	bool ret;

	rcu_read_lock();
	ret = hftmon_track_find(t, task);
	rcu_read_unlock();
	return ret;
}

static void track_add_find_del(struct kunit *test)
{
	struct hftmon_track *t = track_new(test, 4);
	struct task_struct *k;

	k = kthread_run(hftmon_kt_idle_fn, NULL, "hftmon-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(k));
	get_task_struct(k);

	KUNIT_EXPECT_FALSE(test, tracked(t, current));
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, current, 0), 0);
	KUNIT_EXPECT_TRUE(test, tracked(t, current));
	KUNIT_EXPECT_FALSE(test, tracked(t, k));
	KUNIT_EXPECT_FALSE(test, tracked(t, &init_task));
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, current, 0), -EEXIST);
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, k, HFTMON_ATTACH_NUMA), 0);
	KUNIT_EXPECT_TRUE(test, tracked(t, k));
	KUNIT_EXPECT_EQ(test, t->nr, 2U);

	KUNIT_EXPECT_EQ(test, hftmon_track_del(t, current), 0);
	KUNIT_EXPECT_FALSE(test, tracked(t, current));
	KUNIT_EXPECT_TRUE(test, tracked(t, k));
	KUNIT_EXPECT_EQ(test, hftmon_track_del(t, current), -ENOENT);

	kthread_stop(k);
	put_task_struct(k);
}

/*
 * The fork probe's inherit: a child (a kthread stands for it: its own
 * thread group) takes the parent's entry's flags from the pool made
 * ahead at the INHERIT attach; the table full is -ENOSPC, the pool used
 * up (before its refill ran) -ENOMEM, and the child stays untracked.
 */
static void track_inherit(struct kunit *test)
{
	struct hftmon_track *t = track_new(test, 3);
	const struct hftmon_proc *p, *c;
	struct task_struct *k[3];
	unsigned int nr, pool;
	int i;

	for (i = 0; i < 3; i++) {
		k[i] = kthread_run(hftmon_kt_idle_fn, NULL, "hftmon-kunit");
		KUNIT_ASSERT_FALSE(test, IS_ERR(k[i]));
		get_task_struct(k[i]);
	}
	/* Without INHERIT no pool is made. */
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, k[2], 0), 0);
	KUNIT_EXPECT_EQ(test, t->nr_pool, 0U);
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, current,
			HFTMON_ATTACH_INHERIT | HFTMON_ATTACH_USTACK), 0);
	KUNIT_EXPECT_EQ(test, t->nr_pool, 1U);	/* room for one more */
	rcu_read_lock();
	p = hftmon_track_find(t, current);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, hftmon_track_inherit(t, p, k[0]), 0);
	c = hftmon_track_find(t, k[0]);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_EQ(test, c->flags, p->flags);
	KUNIT_EXPECT_PTR_EQ(test, c->cred, p->cred);
	KUNIT_EXPECT_EQ(test, hftmon_track_inherit(t, p, k[1]), -ENOSPC);
	KUNIT_EXPECT_NULL(test, hftmon_track_find(t, k[1]));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, t->nr, 3U);

	/* Room again, but the pool is empty until the refill runs. */
	flush_work(&t->refill);	/* the first inherit's: no room then */
	KUNIT_EXPECT_EQ(test, hftmon_track_del(t, k[2]), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(t->nr_pool), 0U);
	rcu_read_lock();
	KUNIT_EXPECT_EQ(test, hftmon_track_inherit(t, p, k[1]), -ENOMEM);
	KUNIT_EXPECT_NULL(test, hftmon_track_find(t, k[1]));
	rcu_read_unlock();
	flush_work(&t->refill);	/* queued by the -ENOMEM: makes one */
	KUNIT_EXPECT_EQ(test, t->nr_pool, 1U);
	rcu_read_lock();
	KUNIT_EXPECT_EQ(test, hftmon_track_inherit(t, p, k[1]), 0);
	KUNIT_EXPECT_NOT_NULL(test, hftmon_track_find(t, k[1]));
	rcu_read_unlock();

	/*
	 * Full again (current, k[0], k[1]). A child that exits is reaped by
	 * the refill a later fork queues, with no ATTACH or DETACH: a
	 * forking parent does not fill the table with dead children.
	 */
	flush_work(&t->refill);	/* k[1]'s: nothing to reap yet */
	for (i = 0; i < 2; i++) {
		struct pid *kpid;
		int tries = 0;

		rcu_read_lock();
		kpid = get_pid(task_tgid(k[i]));
		rcu_read_unlock();
		kthread_stop(k[i]);
		put_task_struct(k[i]);
		k[i] = NULL;
		while (pid_has_task(kpid, PIDTYPE_TGID) && tries++ < 100)
			msleep(20);
		put_pid(kpid);
	}
	nr = READ_ONCE(t->nr);
	KUNIT_EXPECT_EQ(test, nr, 3U);
	rcu_read_lock();
	KUNIT_EXPECT_EQ(test, hftmon_track_inherit(t, p, k[2]), -ENOSPC);
	rcu_read_unlock();
	flush_work(&t->refill);
	nr = READ_ONCE(t->nr);
	pool = READ_ONCE(t->nr_pool);
	KUNIT_EXPECT_EQ(test, nr, 1U);	/* current alone */
	KUNIT_EXPECT_EQ(test, pool, 2U);
	rcu_read_lock();
	KUNIT_EXPECT_EQ(test, hftmon_track_inherit(t, p, k[2]), 0);
	KUNIT_EXPECT_NOT_NULL(test, hftmon_track_find(t, k[2]));
	rcu_read_unlock();

	kthread_stop(k[2]);
	put_task_struct(k[2]);
}

static void track_full(struct kunit *test)
{
	struct hftmon_track *t = track_new(test, 1);
	struct task_struct *k;

	k = kthread_run(hftmon_kt_idle_fn, NULL, "hftmon-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(k));
	get_task_struct(k);
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, current, 0), 0);
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, k, 0), -ENOSPC);
	KUNIT_EXPECT_FALSE(test, tracked(t, k));
	kthread_stop(k);
	put_task_struct(k);
}

/* An exited process's entry is reaped, and its tgid never matches again. */
static void track_exited_and_reused(struct kunit *test)
{
	struct hftmon_track *t = track_new(test, 1);
	struct task_struct *k, *fake;
	struct signal_struct *fake_sig;
	struct pid *kpid;
	int tries = 0;

	k = kthread_run(hftmon_kt_idle_fn, NULL, "hftmon-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(k));
	get_task_struct(k);
	KUNIT_ASSERT_EQ(test, hftmon_track_add(t, k, 0), 0);

	/*
	 * A task with the tracked tgid number but another struct pid is what
	 * a new process that reused the number looks like.
	 */
	fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	fake_sig = kunit_kzalloc(test, sizeof(*fake_sig), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fake);
	KUNIT_ASSERT_NOT_NULL(test, fake_sig);
	fake->tgid = k->tgid;
	fake->signal = fake_sig;
	fake_sig->pids[PIDTYPE_TGID] = task_tgid(current);
	KUNIT_EXPECT_FALSE(test, tracked(t, fake));
	KUNIT_EXPECT_TRUE(test, tracked(t, k));

	/* Its struct pid: the task's own link to it is cut at release. */
	rcu_read_lock();
	kpid = get_pid(task_tgid(k));
	rcu_read_unlock();
	kthread_stop(k);
	/* Released a little after kthread_stop() returns. */
	while (pid_has_task(kpid, PIDTYPE_TGID) && tries++ < 100)
		msleep(20);
	KUNIT_EXPECT_FALSE(test, pid_has_task(kpid, PIDTYPE_TGID));
	put_pid(kpid);
	/* The table is full, but adding reaps the exited entry first. */
	KUNIT_EXPECT_EQ(test, hftmon_track_add(t, current, 0), 0);
	KUNIT_EXPECT_EQ(test, t->nr, 1U);
	KUNIT_EXPECT_TRUE(test, tracked(t, current));
	put_task_struct(k);
}

static struct kunit_case track_cases[] = {
	KUNIT_CASE(track_add_find_del),
	KUNIT_CASE(track_full),
	KUNIT_CASE(track_inherit),
	KUNIT_CASE(track_exited_and_reused),
	{}
};

static struct kunit_suite track_suite = {
	.suite_init = hftmon_kt_caches_init,
	.suite_exit = hftmon_kt_caches_exit,
	.name = "hftmon_track",
	.exit = track_exit,
	.test_cases = track_cases,
};

/* ---- probes ---------------------------------------------------------------- */

static void probe_switch_records(struct kunit *test)
{
	struct hftmon_session *s = hftmon_kt_session_new(test, true);
	void *sw = hftmon_kt_tp(test, "sched_switch");
	struct hftmon_rec_switch *r;
	struct hftmon_ring *rb;
	struct task_struct *k;
	unsigned int cpu;

	k = kthread_run(hftmon_kt_idle_fn, NULL, "hftmon-next");
	KUNIT_ASSERT_FALSE(test, IS_ERR(k));
	get_task_struct(k);

	local_irq_disable();	/* probes run under the rq lock */
	cpu = smp_processor_id();
	rb = s->rings[cpu];
	/* Neither side tracked: nothing written. */
	hftmon_tp_sched_switch(sw, false, current, k, TASK_INTERRUPTIBLE);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 0ULL);
	local_irq_enable();

	KUNIT_ASSERT_EQ(test, hftmon_track_add(&s->track, current, 0), 0);

	local_irq_disable();	/* probes run under the rq lock */
	cpu = smp_processor_id();
	rb = s->rings[cpu];
	hftmon_tp_sched_switch(sw, false, current, k, TASK_INTERRUPTIBLE);
	hftmon_tp_sched_switch(sw, true, k, current, TASK_RUNNING);
	local_irq_enable();

	KUNIT_ASSERT_EQ(test, hftmon_kt_head(rb), 2 * (u64)sizeof(*r));
	r = rb->data;
	KUNIT_EXPECT_EQ(test, r->hdr.type, (u16)HFTMON_REC_SWITCH);
	KUNIT_EXPECT_EQ(test, r->hdr.size, (u16)sizeof(*r));
	KUNIT_EXPECT_EQ(test, r->hdr.tid, current->pid);
	KUNIT_EXPECT_EQ(test, r->hdr.pid, current->tgid);
	KUNIT_EXPECT_EQ(test, r->next_tid, k->pid);
	KUNIT_EXPECT_EQ(test, (u32)r->hdr.flags,
			HFTMON_SWITCH_PREV_TRACKED | HFTMON_SWITCH_VOLUNTARY);
	KUNIT_EXPECT_EQ(test, r->prev_state, (u32)TASK_INTERRUPTIBLE);
	KUNIT_EXPECT_STREQ(test, r->next_comm, "hftmon-next");
	r++;
	KUNIT_EXPECT_EQ(test, r->hdr.tid, k->pid);
	KUNIT_EXPECT_EQ(test, r->next_tid, current->pid);
	KUNIT_EXPECT_EQ(test, (u32)r->hdr.flags,
			HFTMON_SWITCH_NEXT_TRACKED | HFTMON_SWITCH_PREEMPT);

	kthread_stop(k);
	put_task_struct(k);
}

/* With KSTACK: a STACK record first, then the SWITCH that refers to it. */
static void probe_switch_kstack(struct kunit *test)
{
	struct hftmon_session *s = hftmon_kt_session_new(test, true);
	void *sw = hftmon_kt_tp(test, "sched_switch");
	struct hftmon_rec_switch *r;
	struct hftmon_rec_stack *st;
	struct hftmon_ring *rb;
	u32 first_id;

	KUNIT_ASSERT_EQ(test, hftmon_track_add(&s->track, current,
					       HFTMON_ATTACH_KSTACK), 0);
	local_irq_disable();	/* probes run under the rq lock */
	rb = s->rings[smp_processor_id()];
	hftmon_tp_sched_switch(sw, false, current, &init_task,
			       TASK_INTERRUPTIBLE);
	local_irq_enable();
	st = rb->data;
	KUNIT_ASSERT_EQ(test, st->hdr.type, (u16)HFTMON_REC_STACK);
	KUNIT_EXPECT_GT(test, st->nr, 0U);
	KUNIT_EXPECT_EQ(test, (u32)st->hdr.flags & HFTMON_STACK_USER, 0U);
	r = (void *)st + st->hdr.size;
	KUNIT_ASSERT_EQ(test, r->hdr.type, (u16)HFTMON_REC_SWITCH);
	KUNIT_EXPECT_EQ(test, r->prev_kstack_id, st->stack_id);
	KUNIT_EXPECT_EQ(test, r->prev_ustack_id, 0U);	/* not asked for */
	first_id = st->stack_id;
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), (u64)st->hdr.size + sizeof(*r));
	/* The same call site again: same id, no second STACK record. */
	local_irq_disable();	/* probes run under the rq lock */
	if (rb == s->rings[smp_processor_id()])
		hftmon_tp_sched_switch(sw, false, current, &init_task,
				       TASK_INTERRUPTIBLE);
	else
		rb = NULL;
	local_irq_enable();
	if (rb) {
		r++;
		KUNIT_EXPECT_EQ(test, r->hdr.type, (u16)HFTMON_REC_SWITCH);
		KUNIT_EXPECT_EQ(test, r->prev_kstack_id, first_id);
	}
}

/*
 * Threads of one process exiting together may all see signal->live at 0
 * in the exit tracepoint: GROUP_DEAD goes on one EXIT record only. Two
 * exits of a tracked kthread's process stand for two such threads; its
 * live count is set by hand for them and put back before it exits.
 */
static void probe_exit_group_dead_once(struct kunit *test)
{
	struct hftmon_session *s = hftmon_kt_session_new(test, true);
	void *ex = hftmon_kt_tp(test, "sched_process_exit");
	struct hftmon_rec_exit *r;
	struct hftmon_ring *rb;
	struct task_struct *k;
	int live;

	k = kthread_run(hftmon_kt_idle_fn, NULL, "hftmon-exit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(k));
	get_task_struct(k);
	KUNIT_ASSERT_EQ(test, hftmon_track_add(&s->track, k, 0), 0);

	preempt_disable();	/* one CPU, one ring, for the three exits */
	rb = s->rings[smp_processor_id()];
	live = atomic_read(&k->signal->live);
	hftmon_tp_sched_process_exit(ex, k);	/* a thread exits, others live on */
	atomic_set(&k->signal->live, 0);
	hftmon_tp_sched_process_exit(ex, k);	/* two threads find none left */
	hftmon_tp_sched_process_exit(ex, k);
	atomic_set(&k->signal->live, live);
	preempt_enable();

	KUNIT_ASSERT_EQ(test, hftmon_kt_head(rb), 3 * (u64)sizeof(*r));
	r = rb->data;
	KUNIT_EXPECT_EQ(test, r[0].hdr.type, (u16)HFTMON_REC_EXIT);
	KUNIT_EXPECT_EQ(test, r[0].hdr.tid, k->pid);
	KUNIT_EXPECT_EQ(test, (u32)r[0].hdr.flags, 0U);
	KUNIT_EXPECT_EQ(test, (u32)r[1].hdr.flags, HFTMON_EXIT_GROUP_DEAD);
	KUNIT_EXPECT_EQ(test, (u32)r[2].hdr.flags, 0U);

	kthread_stop(k);
	put_task_struct(k);
}

/*
 * A probe records only the events the session chose: tracepoints stay
 * hooked after a session that needed them, the next may want fewer.
 * Each probe knows its events from its table entry (its hook data).
 */
static void probe_events_filter(struct kunit *test)
{
	struct hftmon_session *s = hftmon_kt_session_new(test, true);
	void *sw = hftmon_kt_tp(test, "sched_switch");
	void *wk = hftmon_kt_tp(test, "sched_wakeup");
	struct hftmon_rec_wakeup *r;
	struct hftmon_ring *rb;

	/* Each tracepoint's events: its own, and who runs where one waits. */
	KUNIT_EXPECT_EQ(test, ((struct hftmon_tracepoint *)sw)->events,
			(u64)(HFTMON_EV_SWITCH | HFTMON_EV_RUNQ));
	KUNIT_EXPECT_EQ(test, hftmon_kt_tp(test, "sched_wakeup_new")->events,
			(u64)(HFTMON_EV_WAKEUP | HFTMON_EV_RUNQ));
	KUNIT_ASSERT_EQ(test, hftmon_track_add(&s->track, current, 0), 0);
	s->events = HFTMON_EV_WAKEUP;
	local_irq_disable();	/* as under the rq lock */
	rb = s->rings[smp_processor_id()];
	hftmon_tp_sched_switch(sw, false, current, &init_task,
			       TASK_INTERRUPTIBLE);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 0ULL);
	hftmon_tp_sched_wakeup(wk, current);
	local_irq_enable();
	KUNIT_ASSERT_EQ(test, hftmon_kt_head(rb), (u64)sizeof(*r));
	r = rb->data;
	KUNIT_EXPECT_EQ(test, r->hdr.type, (u16)HFTMON_REC_WAKEUP);
	KUNIT_EXPECT_EQ(test, r->hdr.tid, current->pid);
	KUNIT_EXPECT_EQ(test, r->waker_tid, current->pid);

	/* No session at all: nothing, whatever the task. */
	RCU_INIT_POINTER(hftmon_active, NULL);
	local_irq_disable();
	rb = s->rings[smp_processor_id()];
	hftmon_tp_sched_wakeup(wk, current);
	local_irq_enable();
	KUNIT_EXPECT_LE(test, hftmon_kt_head(rb), (u64)sizeof(*r));
}

static struct kunit_case probe_cases[] = {
	KUNIT_CASE(probe_events_filter),
	KUNIT_CASE(probe_switch_records),
	KUNIT_CASE(probe_switch_kstack),
	KUNIT_CASE(probe_exit_group_dead_once),
	{}
};

static struct kunit_suite probe_suite = {
	.suite_init = hftmon_kt_probes_init,
	.suite_exit = hftmon_kt_caches_exit,
	.name = "hftmon_probe",
	.exit = hftmon_kt_session_exit,
	.test_cases = probe_cases,
};

/* ---- stack table ------------------------------------------------------------ */

static void stack_ids(struct kunit *test)
{
	struct hftmon_ring *rb = hftmon_kt_ring_new(test, 4);
	struct hftmon_stack_table t;
	unsigned long a[3] = { 0x1000, 0x2000, 0x3000 };
	unsigned long b[3] = { 0x1000, 0x2000, 0x3008 };
	struct hftmon_rec_stack *r;
	u32 ia, ib;
	int i;

	KUNIT_ASSERT_EQ(test, hftmon_stack_table_init(&t, 2), 0);
	local_irq_disable();	/* as in the switch probe */
	ia = hftmon_stack_id(&t, rb, current, a, 3, 0);
	ib = hftmon_stack_id(&t, rb, current, b, 3, 0);
	KUNIT_EXPECT_EQ(test, hftmon_stack_id(&t, rb, current, a, 3, 0), ia);
	KUNIT_EXPECT_EQ(test, hftmon_stack_id(&t, rb, current, b, 3, 0), ib);
	/* Same addresses, user instead of kernel: another stack. Table full. */
	KUNIT_EXPECT_EQ(test, hftmon_stack_id(&t, rb, current, a, 3,
					      HFTMON_STACK_USER), 0U);
	KUNIT_EXPECT_EQ(test, hftmon_stack_id(&t, rb, current, a, 0, 0), 0U);
	local_irq_enable();
	KUNIT_EXPECT_NE(test, ia, 0U);
	KUNIT_EXPECT_NE(test, ib, 0U);
	KUNIT_EXPECT_NE(test, ia, ib);
	KUNIT_EXPECT_EQ(test, rb->lost[HFTMON_LOST_NO_SPACE], 1ULL);

	/* Exactly two STACK records, one per new stack, with the addresses. */
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(rb), 2 * (u64)struct_size(r, ips, 3));
	r = rb->data;
	KUNIT_EXPECT_EQ(test, r->hdr.type, (u16)HFTMON_REC_STACK);
	KUNIT_EXPECT_EQ(test, r->stack_id, ia);
	KUNIT_EXPECT_EQ(test, r->nr, 3U);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, r->ips[i], (u64)a[i]);
	r = (void *)r + r->hdr.size;
	KUNIT_EXPECT_EQ(test, r->stack_id, ib);
	KUNIT_EXPECT_EQ(test, r->ips[2], 0x3008ULL);
	hftmon_stack_table_free(&t);
}

static void stack_kernel_capture(struct kunit *test)
{
	unsigned long ips[HFTMON_STACK_DEPTH];
	unsigned int nr = hftmon_stack_kernel(ips, ARRAY_SIZE(ips));
	unsigned int i;
	bool kunit_frame = false;
	char sym[KSYM_SYMBOL_LEN];

	KUNIT_EXPECT_GT(test, nr, 0U);
	for (i = 0; i < nr; i++) {
		KUNIT_EXPECT_FALSE(test, within_module(ips[i], THIS_MODULE) &&
				   i == 0);
		sprint_symbol(sym, ips[i]);
		if (strstr(sym, "kunit_"))
			kunit_frame = true;
	}
	/* We are called from KUnit's runner: it must be on the stack. */
	KUNIT_EXPECT_TRUE(test, kunit_frame);
}

static struct kunit_case stack_cases[] = {
	KUNIT_CASE(stack_ids),
	KUNIT_CASE(stack_kernel_capture),
	{}
};

static struct kunit_suite stack_suite = {
	.suite_init = hftmon_kt_caches_init,
	.suite_exit = hftmon_kt_caches_exit,
	.name = "hftmon_stack",
	.exit = hftmon_kt_ring_exit,
	.test_cases = stack_cases,
};

/* ---- the source tables ---------------------------------------------------- */

/*
 * The ABI's own pairing of event, feature and status row, written here
 * from the uapi header's comments, independently of the tables: every
 * HFTMON_EV_* bit belongs to exactly this source and feature.
 */
static const struct {
	u64 event, feature;
	enum hftmon_source src;
} abi_pairs[] = {
	{ HFTMON_EV_SWITCH, HFTMON_FEAT_SCHED_SWITCH, HFTMON_SRC_SCHED_SWITCH },
	{ HFTMON_EV_WAKEUP, HFTMON_FEAT_SCHED_WAKEUP, HFTMON_SRC_SCHED_WAKEUP },
	{ HFTMON_EV_MIGRATE, HFTMON_FEAT_SCHED_MIGRATE, HFTMON_SRC_SCHED_MIGRATE },
	{ HFTMON_EV_EXIT, HFTMON_FEAT_PROCESS_EXIT, HFTMON_SRC_PROCESS_EXIT },
	{ HFTMON_EV_FORK, HFTMON_FEAT_PROCESS_FORK, HFTMON_SRC_PROCESS_FORK },
	{ HFTMON_EV_IRQ, HFTMON_FEAT_IRQ, HFTMON_SRC_IRQ },
	{ HFTMON_EV_SOFTIRQ, HFTMON_FEAT_SOFTIRQ, HFTMON_SRC_SOFTIRQ },
	{ HFTMON_EV_NMI, HFTMON_FEAT_NMI, HFTMON_SRC_NMI },
	{ HFTMON_EV_SPIKE, HFTMON_FEAT_SPIKE, HFTMON_SRC_SPIKE },
	{ HFTMON_EV_NUMA, HFTMON_FEAT_NUMA_BALANCING, HFTMON_SRC_NUMA_BALANCING },
	{ HFTMON_EV_PMU, HFTMON_FEAT_PMU, HFTMON_SRC_PMU_SW },
	{ HFTMON_EV_RUNQ, HFTMON_FEAT_RUNQ, HFTMON_SRC_RUNQ },
#ifdef CONFIG_X86_LOCAL_APIC
	{ HFTMON_EV_IRQ_VECTOR, HFTMON_FEAT_IRQ_VECTOR, HFTMON_SRC_IRQ_VECTOR },
#endif
};

#ifdef CONFIG_X86_LOCAL_APIC
#define ABI_IRQ_EVENTS	HFTMON_EV_IRQ_ALL
#define ABI_IRQ_FEATURES (HFTMON_FEAT_IRQ | HFTMON_FEAT_SOFTIRQ | \
			  HFTMON_FEAT_NMI | HFTMON_FEAT_IRQ_VECTOR)
#else
#define ABI_IRQ_EVENTS	(HFTMON_EV_IRQ | HFTMON_EV_SOFTIRQ | HFTMON_EV_NMI)
#define ABI_IRQ_FEATURES (HFTMON_FEAT_IRQ | HFTMON_FEAT_SOFTIRQ | \
			  HFTMON_FEAT_NMI)
#endif

/* Page-fault spikes: a kretprobe, where the kernel has them. */
#ifdef CONFIG_KRETPROBES
#define ABI_FAULT_FEATURE HFTMON_FEAT_SPIKE_FAULT
#else
#define ABI_FAULT_FEATURE 0
#endif

/* NUMA balancing: described everywhere, working only where the kernel has it. */
#if IS_ENABLED(CONFIG_NUMA_BALANCING) && IS_ENABLED(CONFIG_KPROBES)
#define ABI_NUMA_EVENT HFTMON_EV_NUMA
#define ABI_NUMA_FEATURE HFTMON_FEAT_NUMA_BALANCING
#define ABI_NUMA_STATUS 0
#else
#define ABI_NUMA_EVENT 0
#define ABI_NUMA_FEATURE 0
#define ABI_NUMA_STATUS (-EOPNOTSUPP)
#endif

static void sources_table_abi(struct kunit *test)
{
	const struct hftmon_source_desc *d;
	const struct hftmon_family *f;
	u64 events = 0, features = 0;
	unsigned int i, j, found;

	KUNIT_EXPECT_EQ(test, hftmon_families_check(hftmon_families,
						    hftmon_nr_families), 0);
	for (i = 0; i < hftmon_nr_families; i++) {
		f = hftmon_families[i];
		for (d = f->sources; d < f->sources + f->nr_sources; d++) {
			KUNIT_EXPECT_LT(test, (u32)d->src, (u32)HFTMON_SRC_NR);
			KUNIT_EXPECT_EQ(test, hweight64(d->feature), 1U);
			events |= d->event;
			features |= d->feature;
		}
	}
	/* Every event this version defines is produced; no stray bit. */
	KUNIT_EXPECT_EQ(test, events, (u64)(HFTMON_EV_SCHED_ALL | ABI_IRQ_EVENTS |
					    HFTMON_EV_SPIKE | HFTMON_EV_NUMA |
					    HFTMON_EV_PMU | HFTMON_EV_RUNQ));
	/* Every feature but poll() (the device's own) comes from a source. */
	KUNIT_EXPECT_EQ(test, features, (u64)(HFTMON_FEAT_SCHED_SWITCH |
		HFTMON_FEAT_SCHED_WAKEUP | HFTMON_FEAT_SCHED_MIGRATE |
		HFTMON_FEAT_PROCESS_EXIT | HFTMON_FEAT_PROCESS_FORK |
		HFTMON_FEAT_STACKS | ABI_IRQ_FEATURES | HFTMON_FEAT_SPIKE |
		ABI_FAULT_FEATURE | HFTMON_FEAT_NUMA_BALANCING |
		HFTMON_FEAT_NUMA_ACCESS |
		HFTMON_FEAT_PMU | HFTMON_FEAT_RUNQ));
	for (j = 0; j < ARRAY_SIZE(abi_pairs); j++) {
		found = 0;
		for (i = 0; i < hftmon_nr_families; i++) {
			f = hftmon_families[i];
			for (d = f->sources; d < f->sources + f->nr_sources; d++) {
				if (d->event != abi_pairs[j].event)
					continue;
				found++;
				KUNIT_EXPECT_EQ(test, d->feature,
						abi_pairs[j].feature);
				KUNIT_EXPECT_EQ(test, (u32)d->src,
						(u32)abi_pairs[j].src);
			}
		}
		KUNIT_EXPECT_EQ_MSG(test, found, 1U, "event %llx",
				    abi_pairs[j].event);
	}
}

/* A made-up family: three tracepoints, three sources. */
enum { FAKE_A, FAKE_B, FAKE_C, FAKE_NR };

static struct tracepoint fake_tp;

struct fake_family {
	struct hftmon_tracepoint tps[FAKE_NR];
	struct hftmon_source_desc sources[4];
	struct hftmon_family fam;
	struct hftmon_family *fams[1];
};

static struct hftmon_family *const *fake_new(struct kunit *test,
					     unsigned int missing)
{
	struct fake_family *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, f);
	for (i = 0; i < FAKE_NR; i++) {
		f->tps[i].name = "fake";
		f->tps[i].tp = missing & BIT(i) ? NULL : &fake_tp;
	}
	/* SWITCH needs A; WAKEUP needs B and C; the stacks ride on A. */
	f->sources[0] = (struct hftmon_source_desc){ HFTMON_SRC_SCHED_SWITCH,
		HFTMON_EV_SWITCH, HFTMON_FEAT_SCHED_SWITCH, BIT(FAKE_A) };
	f->sources[1] = (struct hftmon_source_desc){ HFTMON_SRC_SCHED_WAKEUP,
		HFTMON_EV_WAKEUP, HFTMON_FEAT_SCHED_WAKEUP,
		BIT(FAKE_B) | BIT(FAKE_C) };
	f->sources[2] = (struct hftmon_source_desc){ HFTMON_SRC_STACK_KERNEL,
		0, HFTMON_FEAT_STACKS, BIT(FAKE_A) };
	f->sources[3] = (struct hftmon_source_desc){ HFTMON_SRC_STACK_USER,
		0, HFTMON_FEAT_STACKS, BIT(FAKE_A) | BIT(FAKE_C) };
	f->fam = (struct hftmon_family){ "fake", f->tps, FAKE_NR, f->sources,
					 ARRAY_SIZE(f->sources) };
	f->fams[0] = &f->fam;
	return f->fams;
}

static void avail_all_found(struct kunit *test)
{
	struct hftmon_family *const *fams = fake_new(test, 0);
	struct hftmon_avail a;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, hftmon_families_check(fams, 1), 0);
	hftmon_avail_derive(fams, 1, &a);
	KUNIT_EXPECT_EQ(test, a.known_events,
			(u64)(HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP));
	KUNIT_EXPECT_EQ(test, a.events, a.known_events);
	KUNIT_EXPECT_EQ(test, a.features, (u64)(HFTMON_FEAT_SCHED_SWITCH |
				HFTMON_FEAT_SCHED_WAKEUP | HFTMON_FEAT_STACKS));
	for (i = 0; i < HFTMON_SRC_NR; i++) {
		bool described = i == HFTMON_SRC_SCHED_SWITCH ||
				 i == HFTMON_SRC_SCHED_WAKEUP ||
				 i == HFTMON_SRC_STACK_KERNEL ||
				 i == HFTMON_SRC_STACK_USER;

		KUNIT_EXPECT_EQ_MSG(test, a.status[i], described ? 0 : -ENOSYS,
				    "source %u", i);
	}
}

/* One missing tracepoint takes down every source that needs it, only those. */
static void avail_missing_tracepoint(struct kunit *test)
{
	struct hftmon_avail a;

	hftmon_avail_derive(fake_new(test, BIT(FAKE_B)), 1, &a);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_SCHED_WAKEUP], -ENOENT);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_SCHED_SWITCH], 0);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_STACK_USER], 0);
	KUNIT_EXPECT_EQ(test, a.events, (u64)HFTMON_EV_SWITCH);
	KUNIT_EXPECT_EQ(test, a.known_events,
			(u64)(HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP));
	KUNIT_EXPECT_EQ(test, a.features,
			(u64)(HFTMON_FEAT_SCHED_SWITCH | HFTMON_FEAT_STACKS));

	/* C: wake-ups and the user stack; a feature two sources share goes. */
	hftmon_avail_derive(fake_new(test, BIT(FAKE_C)), 1, &a);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_SCHED_WAKEUP], -ENOENT);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_STACK_USER], -ENOENT);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_STACK_KERNEL], 0);
	KUNIT_EXPECT_EQ(test, a.features, (u64)HFTMON_FEAT_SCHED_SWITCH);

	/* A: everything but wake-ups. */
	hftmon_avail_derive(fake_new(test, BIT(FAKE_A)), 1, &a);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_SCHED_SWITCH], -ENOENT);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_STACK_KERNEL], -ENOENT);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_SCHED_WAKEUP], 0);
	KUNIT_EXPECT_EQ(test, a.events, (u64)HFTMON_EV_WAKEUP);
	KUNIT_EXPECT_EQ(test, a.features, (u64)HFTMON_FEAT_SCHED_WAKEUP);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_IRQ], -ENOSYS);
}

/*
 * A source its kernel build rules out (NUMA balancing on PREEMPT_RT):
 * its errno, whatever tracepoints exist, and neither event nor feature.
 */
static void avail_unsupported_source(struct kunit *test)
{
	struct hftmon_family *const *fams = fake_new(test, 0);
	struct hftmon_avail a;

	((struct hftmon_source_desc *)fams[0]->sources)[1].unsupported =
		-EOPNOTSUPP;
	hftmon_avail_derive(fams, 1, &a);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_SCHED_WAKEUP], -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, a.status[HFTMON_SRC_SCHED_SWITCH], 0);
	KUNIT_EXPECT_EQ(test, a.events, (u64)HFTMON_EV_SWITCH);
	KUNIT_EXPECT_EQ(test, a.known_events,
			(u64)(HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP));
	KUNIT_EXPECT_FALSE(test, a.features & HFTMON_FEAT_SCHED_WAKEUP);
}

/* Tables that break a rule are refused. */
static void families_check_rejects(struct kunit *test)
{
	struct hftmon_family *const *fams;
	struct hftmon_source_desc *d;

#define BROKEN(what) do {						\
		fams = fake_new(test, 0);				\
		d = (struct hftmon_source_desc *)fams[0]->sources;	\
		what;							\
		KUNIT_EXPECT_EQ_MSG(test, hftmon_families_check(fams, 1),	\
				    -EINVAL, "%s", #what);		\
	} while (0)
	BROKEN(d[1].src = d[0].src);			/* one row, two sources */
	BROKEN(d[1].src = HFTMON_SRC_NR);		/* past the status rows */
	BROKEN(d[1].event = d[0].event);		/* one event, two sources */
	BROKEN(d[1].event |= HFTMON_EV_FORK);		/* two events */
	BROKEN(d[1].feature = 0);			/* offers nothing */
	BROKEN(d[1].feature |= HFTMON_FEAT_POLL);	/* two features */
	BROKEN(d[1].tps = 0);				/* needs nothing */
	BROKEN(d[1].tps |= BIT(FAKE_NR));		/* past the tracepoints */
	BROKEN(d[1].tps = BIT(FAKE_B));			/* C never hooked */
#undef BROKEN
}

/* This kernel has every scheduler tracepoint: all of them offered. */
static void avail_this_kernel(struct kunit *test)
{
	s32 status[HFTMON_SRC_NR];

	KUNIT_ASSERT_EQ(test, hftmon_probes_init(), 0);
	KUNIT_EXPECT_EQ(test, hftmon_probes_known_events(),
			(u64)(HFTMON_EV_SCHED_ALL | ABI_IRQ_EVENTS |
			      HFTMON_EV_SPIKE | HFTMON_EV_NUMA |
			      HFTMON_EV_PMU | HFTMON_EV_RUNQ));
	KUNIT_EXPECT_EQ(test, hftmon_probes_available_events(),
			(u64)(HFTMON_EV_SCHED_ALL | ABI_IRQ_EVENTS |
			      HFTMON_EV_SPIKE | ABI_NUMA_EVENT |
			      HFTMON_EV_PMU | HFTMON_EV_RUNQ));
	KUNIT_EXPECT_EQ(test, hftmon_probes_features() &
			HFTMON_FEAT_NUMA_BALANCING, (u64)ABI_NUMA_FEATURE);
	hftmon_probes_source_status(status, HFTMON_SRC_NR);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_SCHED_SWITCH], 0);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_PROCESS_FORK], 0);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_STACK_USER], 0);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_IRQ], 0);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_SOFTIRQ], 0);
#ifdef CONFIG_X86_LOCAL_APIC
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_IRQ_VECTOR], 0);
#endif
	/* power:cpu_idle is in every kernel with tracepoints. */
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_SPIKE], 0);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_SPIKE_FAULT],
			IS_ENABLED(CONFIG_KRETPROBES) ? 0 : -ENOSYS);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_PMU_HW], -ENOSYS);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_NUMA_BALANCING], ABI_NUMA_STATUS);
	KUNIT_EXPECT_EQ(test, status[HFTMON_SRC_NUMA_ACCESS], ABI_NUMA_STATUS);
	KUNIT_EXPECT_EQ(test, hftmon_probes_features() &
			HFTMON_FEAT_NUMA_ACCESS,
			ABI_NUMA_FEATURE ? (u64)HFTMON_FEAT_NUMA_ACCESS : 0);
	KUNIT_EXPECT_TRUE(test, hftmon_probes_features() & HFTMON_FEAT_STACKS);
	KUNIT_EXPECT_FALSE(test, hftmon_probes_features() & HFTMON_FEAT_POLL);
}

/*
 * A hinting fault's TNF_* flags as the record carries them: local and
 * remote are what numa_hint_faults_local is compared with, each bit its own.
 */
static void numa_fault_flags(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, hftmon_numa_fault_flags(0), (u16)0);
	KUNIT_EXPECT_EQ(test, hftmon_numa_fault_flags(TNF_FAULT_LOCAL),
			(u16)HFTMON_NUMA_FAULT_LOCAL);
	KUNIT_EXPECT_EQ(test, hftmon_numa_fault_flags(TNF_MIGRATED),
			(u16)HFTMON_NUMA_MIGRATED);
	KUNIT_EXPECT_EQ(test, hftmon_numa_fault_flags(TNF_MIGRATE_FAIL),
			(u16)HFTMON_NUMA_MIGRATE_FAIL);
	KUNIT_EXPECT_EQ(test, hftmon_numa_fault_flags(TNF_SHARED),
			(u16)HFTMON_NUMA_SHARED);
	KUNIT_EXPECT_EQ(test, hftmon_numa_fault_flags(TNF_NO_GROUP),
			(u16)HFTMON_NUMA_NO_GROUP);
	KUNIT_EXPECT_EQ(test, hftmon_numa_fault_flags(TNF_FAULT_LOCAL |
						      TNF_MIGRATED | TNF_SHARED),
			(u16)(HFTMON_NUMA_FAULT_LOCAL | HFTMON_NUMA_MIGRATED |
			      HFTMON_NUMA_SHARED));
}

static struct kunit_case sources_cases[] = {
	KUNIT_CASE(sources_table_abi),
	KUNIT_CASE(numa_fault_flags),
	KUNIT_CASE(avail_all_found),
	KUNIT_CASE(avail_missing_tracepoint),
	KUNIT_CASE(avail_unsupported_source),
	KUNIT_CASE(families_check_rejects),
	KUNIT_CASE(avail_this_kernel),
	{}
};

static struct kunit_suite sources_suite = {
	.name = "hftmon_sources",
	.test_cases = sources_cases,
};

/* ---- ioctl argument checks ----------------------------------------------- */

static void check_config(struct kunit *test)
{
	const u64 avail = HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP;
	struct hftmon_config c;

	memset(&c, 0, sizeof(c));
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), 0);
	KUNIT_EXPECT_EQ(test, c.events, avail);
	KUNIT_EXPECT_EQ(test, c.ring_pages, 64U);
	KUNIT_EXPECT_EQ(test, c.ring_mmap_size, 65ULL * PAGE_SIZE);

	/* 0 never hooks the machine-wide interrupt sources by itself. */
	memset(&c, 0, sizeof(c));
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail | HFTMON_EV_IRQ_ALL,
						  64, 1024), 0);
	KUNIT_EXPECT_EQ(test, c.events, avail);

	memset(&c, 0, sizeof(c));
	c.ring_pages = 48;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.ring_pages = 2048;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);

	memset(&c, 0, sizeof(c));
	c.events = 1ULL << 40;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.events = HFTMON_EV_MIGRATE;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024),
			-EOPNOTSUPP);

	memset(&c, 0, sizeof(c));
	c.flags = 1;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	/* A spike threshold without EV_SPIKE (hftmon_kunit_spike.c: the rest). */
	memset(&c, 0, sizeof(c));
	c.spike_threshold_ns = HFTMON_SPIKE_THRESHOLD_MIN_NS;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	/* irq_cpus: a CPU that cannot exist is refused, CPU 0 is fine. */
	memset(&c, 0, sizeof(c));
	c.irq_cpus[0] = 1;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), 0);
	if (nr_cpu_ids < HFTMON_IRQ_CPUS_MAX) {
		c.irq_cpus[nr_cpu_ids / 64] |= BIT_ULL(nr_cpu_ids % 64);
		KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024),
				-EINVAL);
	}
	memset(&c, 0, sizeof(c));
	c.ring_pages = 4;
	c.wakeup_bytes = 5 * PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	/* Sampling reads the PMU counters: not without them. */
	memset(&c, 0, sizeof(c));
	c.sample_interval_ns = 1000;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024),
			-EINVAL);
}

/* PMU counters: 1..4 with EV_PMU (which needs SWITCH), none without. */
static void check_config_pmu(struct kunit *test)
{
	const u64 avail = HFTMON_EV_SWITCH | HFTMON_EV_PMU;
	struct hftmon_config c;

	memset(&c, 0, sizeof(c));
	c.events = avail;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.nr_pmu = 1;
	c.pmu[0].type = PERF_TYPE_SOFTWARE;
	c.pmu[0].config = PERF_COUNT_SW_PAGE_FAULTS;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), 0);
	c.nr_pmu = HFTMON_PMU_MAX_COUNTERS;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), 0);
	c.nr_pmu = HFTMON_PMU_MAX_COUNTERS + 1;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	/* An entry past nr_pmu, a status from the caller, the reserved word. */
	c.nr_pmu = 1;
	c.pmu[2].config = 1;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.pmu[2].config = 0;
	c.pmu[0].status = -ENOENT;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.pmu[0].status = 0;
	c.reserved_pmu = 1;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.reserved_pmu = 0;
	/* Sampling: 1 us..1 s. */
	c.sample_interval_ns = HFTMON_SAMPLE_INTERVAL_MIN_NS;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), 0);
	c.sample_interval_ns = HFTMON_SAMPLE_INTERVAL_MAX_NS;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), 0);
	c.sample_interval_ns = HFTMON_SAMPLE_INTERVAL_MIN_NS - 1;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.sample_interval_ns = HFTMON_SAMPLE_INTERVAL_MAX_NS + 1;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.sample_interval_ns = 0;
	/* Without SWITCH, and counters without EV_PMU. */
	c.events = HFTMON_EV_PMU;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.events = HFTMON_EV_SWITCH;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	c.nr_pmu = 0;
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), -EINVAL);
	memset(&c.pmu, 0, sizeof(c.pmu));
	KUNIT_EXPECT_EQ(test, hftmon_config_check(&c, avail, 64, 1024), 0);

	/* Other PMUs' types only for a privileged session. */
	c.events = avail;
	c.nr_pmu = 2;
	c.pmu[0].type = PERF_TYPE_SOFTWARE;
	c.pmu[1].type = PERF_TYPE_RAW;
	KUNIT_EXPECT_EQ(test, hftmon_pmu_config_allowed(&c, false), 0);
	c.pmu[1].type = PERF_TYPE_TRACEPOINT;
	KUNIT_EXPECT_EQ(test, hftmon_pmu_config_allowed(&c, false), -EPERM);
	KUNIT_EXPECT_EQ(test, hftmon_pmu_config_allowed(&c, true), 0);
	c.pmu[1].type = PERF_TYPE_MAX;	/* a dynamic PMU's type, say */
	KUNIT_EXPECT_EQ(test, hftmon_pmu_config_allowed(&c, false), -EPERM);
}

static void check_attach(struct kunit *test)
{
	struct hftmon_attach a;

	memset(&a, 0, sizeof(a));
	a.pid = 1;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), 0);
	a.pid = 0;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EINVAL);
	a.pid = -5;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EINVAL);
	a.pid = 1;
	a.flags = 1U << 31;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EINVAL);
	a.flags = 0;
	a.reserved[0] = 2;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EINVAL);
	a.reserved[0] = 0;
	/* A kernel-stack minimum needs kernel stacks, and at most 10 s. */
	a.kstack_min_ns = 1000;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EINVAL);
	a.flags = HFTMON_ATTACH_KSTACK;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a),
			IS_ENABLED(CONFIG_X86) ? 0 : -EOPNOTSUPP);
	a.kstack_min_ns = 10 * NSEC_PER_SEC + 1;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EINVAL);
	a.kstack_min_ns = 0;
	a.flags = 0;
	a.reserved0 = 3;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EINVAL);
	a.reserved0 = 0;
	a.flags = HFTMON_ATTACH_CACHE;	/* no PMU source in this version */
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EOPNOTSUPP);
	a.flags = HFTMON_ATTACH_NUMA;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), -EOPNOTSUPP);
	a.flags = HFTMON_ATTACH_KSTACK | HFTMON_ATTACH_USTACK;
	KUNIT_EXPECT_EQ(test, hftmon_attach_check(&a), 0);
}

static struct kunit_case check_cases[] = {
	KUNIT_CASE(check_config),
	KUNIT_CASE(check_config_pmu),
	KUNIT_CASE(check_attach),
	{}
};

static struct kunit_suite check_suite = {
	.name = "hftmon_ioctl_args",
	.test_cases = check_cases,
};

/* ---- wakers in flight: sched_waking to sched_wakeup --------------------- */

#define WK_BITS		1	/* two buckets: collisions come cheap */

static struct hftmon_tasktab *wakers_new(struct kunit *test)
{
	struct hftmon_tasktab *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->bits = WK_BITS;
	t->buckets = kunit_kcalloc(test, 1 << WK_BITS, sizeof(*t->buckets),
				   GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->buckets);
	return t;
}

/*
 * Synthetic tasks: keys only, never dereferenced; n of them that share
 * one bucket, aligned as task_structs are.
 */
static void wk_same_bucket(struct hftmon_tasktab *t, unsigned long *keys,
			   int n)
{
	struct hftmon_tasktab_slot *b = NULL;
	unsigned long k = 0x100000;
	int i = 0;

	for (; i < n; k += 64) {
		if (!b)
			b = hftmon_tasktab_bucket(t, k);
		if (hftmon_tasktab_bucket(t, k) == b)
			keys[i++] = k;
	}
}

static void wakers_put_take(struct kunit *test)
{
	struct hftmon_tasktab *t = wakers_new(test);
	unsigned long k[1];
	s32 tgid = -1, tid = -1;
	u16 flags = 0xffff;

	wk_same_bucket(t, k, 1);
	KUNIT_EXPECT_FALSE(test, hftmon_waker_take(t, k[0], 7, &tgid, &tid,
						   &flags));
	KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[0], 7, 100, 101, 0));
	KUNIT_EXPECT_TRUE(test, hftmon_waker_take(t, k[0], 7, &tgid, &tid,
						  &flags));
	KUNIT_EXPECT_EQ(test, tgid, 100);
	KUNIT_EXPECT_EQ(test, tid, 101);
	KUNIT_EXPECT_EQ(test, flags, (u16)0);
	/* Taken once only. */
	KUNIT_EXPECT_FALSE(test, hftmon_waker_take(t, k[0], 7, &tgid, &tid,
						   &flags));
	/* An interrupt's wake-up carries its flag, no task. */
	KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[0], 7, 0, 0,
						 HFTMON_WAKEUP_IRQ));
	KUNIT_EXPECT_TRUE(test, hftmon_waker_take(t, k[0], 7, &tgid, &tid,
						  &flags));
	KUNIT_EXPECT_EQ(test, flags, (u16)HFTMON_WAKEUP_IRQ);
	KUNIT_EXPECT_EQ(test, tid, 0);
}

/* A full bucket refuses, a take makes room; one entry per task. */
static void wakers_full_and_replace(struct kunit *test)
{
	struct hftmon_tasktab *t = wakers_new(test);
	unsigned long k[HFTMON_TASKTAB_WAYS + 1];
	s32 tgid, tid;
	u16 flags;
	int i;

	wk_same_bucket(t, k, ARRAY_SIZE(k));
	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++)
		KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[i], 1, 10 + i,
							 20 + i, 0));
	KUNIT_EXPECT_FALSE(test, hftmon_waker_put(t, k[HFTMON_TASKTAB_WAYS], 1,
						  99, 99, 0));
	/* Its own entry is replaced even in a full bucket. */
	KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[1], 1, 31, 32, 0));
	KUNIT_EXPECT_TRUE(test, hftmon_waker_take(t, k[1], 1, &tgid, &tid,
						  &flags));
	KUNIT_EXPECT_EQ(test, tgid, 31);
	KUNIT_EXPECT_EQ(test, tid, 32);
	KUNIT_EXPECT_FALSE(test, hftmon_waker_take(t, k[1], 1, &tgid, &tid,
						   &flags));
	/* The freed slot takes the one that did not fit. */
	KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[HFTMON_TASKTAB_WAYS], 1,
						 99, 98, 0));
	KUNIT_EXPECT_TRUE(test, hftmon_waker_take(t, k[HFTMON_TASKTAB_WAYS], 1,
						  &tgid, &tid, &flags));
	KUNIT_EXPECT_EQ(test, tid, 98);
	/* The others kept theirs. */
	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++) {
		if (i == 1)
			continue;
		KUNIT_EXPECT_TRUE(test, hftmon_waker_take(t, k[i], 1, &tgid,
							  &tid, &flags));
		KUNIT_EXPECT_EQ(test, tid, 20 + i);
	}
	/* A slot being written is never taken over. */
	t->buckets[0].slot[0].task = HFTMON_TASKTAB_BUSY;
	t->buckets[1].slot[0].task = HFTMON_TASKTAB_BUSY;
	for (i = 0; i < HFTMON_TASKTAB_WAYS - 1; i++)
		KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[i], 1, 0, i, 0));
	KUNIT_EXPECT_FALSE(test, hftmon_waker_put(t, k[HFTMON_TASKTAB_WAYS - 1],
						  1, 0, 0, 0));
}

/*
 * Entries an earlier run left (its wake-up ended after its stop) are
 * neither taken by the next run nor kept from it.
 */
static void wakers_earlier_run(struct kunit *test)
{
	struct hftmon_tasktab *t = wakers_new(test);
	unsigned long k[2 * HFTMON_TASKTAB_WAYS];
	s32 tgid, tid;
	u16 flags;
	int i;

	wk_same_bucket(t, k, ARRAY_SIZE(k));
	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++)
		KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[i], 1, 1, i, 0));
	/* Run 2: a wake-up it saw only the end of. */
	KUNIT_EXPECT_FALSE(test, hftmon_waker_take(t, k[0], 2, &tgid, &tid,
						   &flags));
	/* Run 2 fills the bucket over run 1's entries. */
	for (i = HFTMON_TASKTAB_WAYS; i < 2 * HFTMON_TASKTAB_WAYS; i++)
		KUNIT_EXPECT_TRUE(test, hftmon_waker_put(t, k[i], 2, 2, i, 0));
	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++)
		KUNIT_EXPECT_FALSE(test, hftmon_waker_take(t, k[i], 2, &tgid,
							   &tid, &flags));
	for (i = HFTMON_TASKTAB_WAYS; i < 2 * HFTMON_TASKTAB_WAYS; i++) {
		KUNIT_EXPECT_TRUE(test, hftmon_waker_take(t, k[i], 2, &tgid,
							  &tid, &flags));
		KUNIT_EXPECT_EQ(test, tid, i);
		KUNIT_EXPECT_EQ(test, tgid, 2);
	}
}

#define WK_ROUNDS	200000

struct wk_racer {
	struct hftmon_tasktab *t;
	unsigned long keys[2];	/* its own tasks, in the shared bucket */
	long wrong, missing;
	struct completion done;
};

/*
 * Two CPUs put and take their own tasks in one bucket (a third and
 * fourth way left to fight over): each must get back exactly its own
 * waker, or nothing when the bucket was full, never another's.
 */
static int wk_race_fn(void *arg)
{
	struct wk_racer *r = arg;
	s32 tgid, tid;
	u16 flags;
	int i, j;

	for (i = 0; i < WK_ROUNDS; i++) {
		bool put[2];

		local_irq_disable();	/* as under pi_lock / rq lock */
		for (j = 0; j < 2; j++)
			put[j] = hftmon_waker_put(r->t, r->keys[j], 5,
						  (s32)(r->keys[j] >> 6), i, 0);
		for (j = 0; j < 2; j++) {
			bool got = hftmon_waker_take(r->t, r->keys[j], 5, &tgid,
						     &tid, &flags);

			if (got != put[j])
				r->missing++;
			else if (got && (tgid != (s32)(r->keys[j] >> 6) ||
					 tid != i))
				r->wrong++;
		}
		local_irq_enable();
		if (!(i % 1024))
			cond_resched();
	}
	complete(&r->done);
	return 0;
}

static void wakers_two_cpus(struct kunit *test)
{
	struct hftmon_tasktab *t = wakers_new(test);
	struct wk_racer r[2];
	struct task_struct *k[2];
	unsigned long keys[4];
	int i, cpu = 0;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	wk_same_bucket(t, keys, 4);
	for (i = 0; i < 2; i++) {
		r[i] = (struct wk_racer){ .t = t, .keys = { keys[2 * i],
							    keys[2 * i + 1] } };
		init_completion(&r[i].done);
		k[i] = kthread_create(wk_race_fn, &r[i], "hftmon-wk%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(k[i]));
		cpu = cpumask_next(i ? cpu : -1, cpu_online_mask);
		kthread_bind(k[i], cpu);
	}
	for (i = 0; i < 2; i++)
		wake_up_process(k[i]);
	for (i = 0; i < 2; i++) {
		wait_for_completion(&r[i].done);
		KUNIT_EXPECT_EQ(test, r[i].wrong, 0L);
		KUNIT_EXPECT_EQ(test, r[i].missing, 0L);
	}
	/* Both done: the bucket is empty again. */
	for (i = 0; i < HFTMON_TASKTAB_WAYS; i++)
		KUNIT_EXPECT_EQ(test,
				READ_ONCE(hftmon_tasktab_bucket(t, keys[0])[i].task),
				0UL);
}

/*
 * Sleeps until kthread_stop() and nothing else: no timer wakes it, so
 * the kernel's own sched_waking/sched_wakeup of it (the tracepoints are
 * live while a test session is active) cannot slip an entry into the
 * wakers table between a test's calls. hftmon_kt_idle_fn's 10 ms timer did:
 * a timer softirq's waking, flagged IRQ, was taken by the test's first
 * sched_wakeup now and then.
 */
static int sleep_thread_fn(void *arg)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

struct wk_remote {
	void *wakeup;		/* the sched_wakeup entry */
	struct task_struct *p;
	pid_t current_there;
	int cpu;
};

/* The target CPU's wake list: sched_wakeup from an IPI there. */
static void wk_remote_fn(void *arg)
{
	struct wk_remote *w = arg;

	w->current_there = current->pid;
	w->cpu = smp_processor_id();
	hftmon_tp_sched_wakeup(w->wakeup, w->p);
}

/*
 * The probes as the kernel calls them for a wake-up handed to another
 * CPU: sched_waking here, in the waker (this test's thread), then
 * sched_wakeup in an IPI on the other CPU, whose current is someone
 * else. The record, in that CPU's ring, names this thread.
 */
static void probe_wakeup_remote_waker(struct kunit *test)
{
	struct hftmon_session *s = hftmon_kt_session_new(test, true);
	struct wk_remote w = { .wakeup = hftmon_kt_tp(test, "sched_wakeup") };
	void *waking = hftmon_kt_tp(test, "sched_waking");
	struct hftmon_rec_wakeup *r;
	struct task_struct *k;
	int this, other;

	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs");
	k = kthread_run(sleep_thread_fn, NULL, "hftmon-woken");
	KUNIT_ASSERT_FALSE(test, IS_ERR(k));
	get_task_struct(k);
	KUNIT_ASSERT_EQ(test, hftmon_track_add(&s->track, k, 0), 0);
	w.p = k;

	this = get_cpu();
	other = cpumask_any_but(cpu_online_mask, this);
	local_irq_disable();	/* as under the woken task's pi_lock */
	hftmon_tp_sched_waking(waking, k);
	local_irq_enable();
	KUNIT_ASSERT_EQ(test, smp_call_function_single(other, wk_remote_fn,
						       &w, 1), 0);
	/* Once more, with no sched_waking before: the waker was not seen. */
	KUNIT_ASSERT_EQ(test, smp_call_function_single(other, wk_remote_fn,
						       &w, 1), 0);
	put_cpu();

	KUNIT_EXPECT_EQ(test, w.cpu, other);
	KUNIT_EXPECT_NE(test, w.current_there, current->pid);
	KUNIT_ASSERT_EQ(test, hftmon_kt_head(s->rings[other]), 2 * (u64)sizeof(*r));
	r = s->rings[other]->data;
	KUNIT_EXPECT_EQ(test, r[0].hdr.type, (u16)HFTMON_REC_WAKEUP);
	KUNIT_EXPECT_EQ(test, r[0].hdr.tid, k->pid);
	KUNIT_EXPECT_EQ(test, r[0].hdr.cpu, (u16)other);
	KUNIT_EXPECT_EQ(test, r[0].waker_tid, current->pid);
	KUNIT_EXPECT_EQ(test, r[0].waker_pid, current->tgid);
	KUNIT_EXPECT_EQ(test, (u32)r[0].hdr.flags, 0U);
	KUNIT_EXPECT_EQ(test, r[0].target_cpu, (u32)task_cpu(k));
	KUNIT_EXPECT_EQ(test, (u32)r[1].hdr.flags, HFTMON_WAKEUP_NO_WAKER);
	KUNIT_EXPECT_EQ(test, r[1].waker_tid, 0);
	KUNIT_EXPECT_EQ(test, r[1].waker_pid, 0);
	KUNIT_EXPECT_EQ(test, hftmon_kt_head(s->rings[this]), 0ULL);

	kthread_stop(k);
	put_task_struct(k);
}

struct wk_irq {
	struct irq_work work;
	void *waking;
	struct task_struct *p;
	bool in_hardirq;
	int ran;
};

static void wk_irq_fn(struct irq_work *iw)
{
	struct wk_irq *w = container_of(iw, struct wk_irq, work);

	w->in_hardirq = in_hardirq();
	hftmon_tp_sched_waking(w->waking, w->p);
	WRITE_ONCE(w->ran, 1);
}

/* A wake-up made by a hard IRQ names no task: the interrupted one did not. */
static void probe_wakeup_from_irq(struct kunit *test)
{
	struct hftmon_session *s = hftmon_kt_session_new(test, true);
	struct wk_irq *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	void *wakeup = hftmon_kt_tp(test, "sched_wakeup");
	struct hftmon_rec_wakeup *r;
	struct hftmon_ring *rb;
	struct task_struct *k;

	KUNIT_ASSERT_NOT_NULL(test, w);
	k = kthread_run(sleep_thread_fn, NULL, "hftmon-woken");
	KUNIT_ASSERT_FALSE(test, IS_ERR(k));
	get_task_struct(k);
	KUNIT_ASSERT_EQ(test, hftmon_track_add(&s->track, k, 0), 0);
	w->waking = hftmon_kt_tp(test, "sched_waking");
	w->p = k;
	w->work = IRQ_WORK_INIT_HARD(wk_irq_fn);

	/* Self-IPI: the waking probe runs in hard IRQ context. */
	KUNIT_ASSERT_TRUE(test, irq_work_queue(&w->work));
	irq_work_sync(&w->work);
	local_irq_disable();	/* as under the rq lock */
	rb = s->rings[smp_processor_id()];
	hftmon_tp_sched_wakeup(wakeup, k);
	local_irq_enable();

	KUNIT_ASSERT_EQ(test, READ_ONCE(w->ran), 1);
	KUNIT_EXPECT_TRUE(test, w->in_hardirq);
	KUNIT_ASSERT_EQ(test, hftmon_kt_head(rb), (u64)sizeof(*r));
	r = rb->data;
	KUNIT_EXPECT_EQ(test, (u32)r->hdr.flags, HFTMON_WAKEUP_IRQ);
	KUNIT_EXPECT_EQ(test, r->waker_tid, 0);
	KUNIT_EXPECT_EQ(test, r->waker_pid, 0);

	kthread_stop(k);
	put_task_struct(k);
}

static struct kunit_case wakers_cases[] = {
	KUNIT_CASE(wakers_put_take),
	KUNIT_CASE(wakers_full_and_replace),
	KUNIT_CASE(wakers_earlier_run),
	KUNIT_CASE(wakers_two_cpus),
	{}
};

static struct kunit_suite wakers_suite = {
	.name = "hftmon_wakers",
	.test_cases = wakers_cases,
};

static struct kunit_case wakers_probe_cases[] = {
	KUNIT_CASE(probe_wakeup_remote_waker),
	KUNIT_CASE(probe_wakeup_from_irq),
	{}
};

static struct kunit_suite wakers_probe_suite = {
	.suite_init = hftmon_kt_probes_init,
	.suite_exit = hftmon_kt_caches_exit,
	.name = "hftmon_wakers_probe",
	.exit = hftmon_kt_session_exit,
	.test_cases = wakers_probe_cases,
};

kunit_test_suites(&ring_suite, &track_suite, &sources_suite, &probe_suite,
		  &stack_suite, &check_suite, &wakers_suite, &wakers_probe_suite);
