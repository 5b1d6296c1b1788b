// SPDX-License-Identifier: GPL-2.0
/*
 * The fixtures of hftmon's KUnit suites (declared in hftmon_kunit.h), in
 * one place for hftmon_kunit.c and hftmon_kunit_security.c: what they
 * allocate is freed by the matching .exit, whatever assertion ends a
 * test early. Built only with CONFIG_HFTMON_KUNIT_TEST=y.
 */
#include <linux/kthread.h>
#include <linux/slab.h>

#include "hftmon_kunit.h"

/* The suites run before hftmon_init(): they take the caches themselves. */
int hftmon_kt_caches_init(struct kunit_suite *suite)
{
	return hftmon_caches_get();
}

void hftmon_kt_caches_exit(struct kunit_suite *suite)
{
	hftmon_caches_put();
}

/* ... and find the tracepoints themselves. */
int hftmon_kt_probes_init(struct kunit_suite *suite)
{
	int err = hftmon_caches_get();

	if (err)
		return err;
	err = hftmon_probes_init();
	if (err)
		hftmon_caches_put();
	return err;
}

struct hftmon_kt_ring {
	struct hftmon_ring *rb;
	wait_queue_head_t wq;
};

struct hftmon_ring *hftmon_kt_ring_new(struct kunit *test, unsigned int pages)
{
	struct hftmon_kt_ring *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, f);
	init_waitqueue_head(&f->wq);
	f->rb = hftmon_ring_alloc(raw_smp_processor_id(), pages, 0, &f->wq);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f->rb));
	test->priv = f->rb;
	return f->rb;
}

void hftmon_kt_ring_exit(struct kunit *test)
{
	if (test->priv)
		hftmon_ring_free(test->priv);
}

u64 hftmon_kt_head(struct hftmon_ring *rb)
{
	/* Pairs with the producer's release at commit. */
	return smp_load_acquire(&rb->ctrl->data_head);
}

bool hftmon_kt_put(struct hftmon_ring *rb, u32 size, s32 tid)
{
	struct hftmon_rec_hdr *h;

	preempt_disable();
	h = hftmon_ring_reserve(rb, HFTMON_REC_WAKEUP, size);
	if (h) {
		h->tid = tid;
		memset(h + 1, 0xa5, size - sizeof(*h));
		hftmon_ring_commit(rb);
	}
	preempt_enable();
	return h;
}

struct hftmon_tracepoint *hftmon_kt_tp(struct kunit *test, const char *name)
{
	struct hftmon_tracepoint *t;
	unsigned int i;

	for (i = 0; i < hftmon_nr_families; i++)
		for (t = hftmon_families[i]->tps;
		     t < hftmon_families[i]->tps + hftmon_families[i]->nr_tps; t++)
			if (!strcmp(t->name, name))
				return t;
	KUNIT_FAIL(test, "no tracepoint %s in the tables", name);
	return NULL;
}

struct hftmon_kt_session {
	struct hftmon_session s;
	struct hftmon_ring *rings[NR_CPUS];
};

struct hftmon_session *hftmon_kt_session_new(struct kunit *test,
					     bool privileged)
{
	struct hftmon_kt_session *f = kunit_kzalloc(test, sizeof(*f),
						    GFP_KERNEL);
	unsigned int cpu;

	KUNIT_ASSERT_NOT_NULL(test, f);
	init_waitqueue_head(&f->s.wq);
	hftmon_track_init(&f->s.track, 4);
	KUNIT_ASSERT_EQ(test, hftmon_stack_table_init(&f->s.stacks, 64), 0);
	f->s.rings = f->rings;
	f->s.events = HFTMON_EV_SCHED_ALL;
	f->s.privileged = privileged;
	f->s.pid_ns = &init_pid_ns;
	/*
	 * As START's: the per-task tables (wakers, runnable) are global and
	 * keyed by task and session start, and a task_struct an earlier test
	 * left an entry for may come back from the slab at the same address.
	 */
	f->s.start_ns = ktime_get_mono_fast_ns();
	test->priv = f;
	for_each_possible_cpu(cpu) {
		f->rings[cpu] = hftmon_ring_alloc(cpu, 1, 0, &f->s.wq);
		if (IS_ERR(f->rings[cpu]))
			f->rings[cpu] = NULL;
		KUNIT_ASSERT_NOT_NULL(test, f->rings[cpu]);
	}
	rcu_assign_pointer(hftmon_active, &f->s);
	return &f->s;
}

void hftmon_kt_session_exit(struct kunit *test)
{
	struct hftmon_kt_session *f = test->priv;
	unsigned int cpu;

	if (!f)
		return;
	RCU_INIT_POINTER(hftmon_active, NULL);
	synchronize_rcu();
	hftmon_track_clear(&f->s.track);
	rcu_barrier();
	hftmon_stack_table_free(&f->s.stacks);
	for_each_possible_cpu(cpu)
		hftmon_ring_free(f->rings[cpu]);
}

int hftmon_kt_idle_fn(void *arg)
{
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 100);
	return 0;
}
