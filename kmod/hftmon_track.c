// SPDX-License-Identifier: GPL-2.0
/*
 * The table of tracked processes. Probes ask hftmon_track_find() (inline,
 * in hftmon_internal.h) under RCU on every scheduler event, so the table
 * is an RCU hash of small entries keyed by tgid; writers (attach/detach)
 * hold t->lock and free entries after a grace period.
 *
 * An entry holds a reference on the process's struct pid and the probes
 * compare it with the task's: a tgid number reused by a new process after
 * the tracked one exited is therefore never mistaken for it. Entries of
 * processes that have exited are reaped when the table is next changed.
 *
 * The probes walk one bucket under the runqueue lock, so a bucket must
 * not be a place an attacker can pile entries into: the bucket array is
 * sized to the session's max_procs (load at most one half) and a tgid's
 * bucket comes from a hash keyed with random numbers drawn when the
 * array is allocated (at the first attach), see hftmon_track_bucket().
 */
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "hftmon_internal.h"

#define HFTMON_TRACK_MIN_BITS	4

void hftmon_track_init(struct hftmon_track *t, unsigned int max)
{
	RCU_INIT_POINTER(t->tab, NULL);
	t->nr = 0;
	t->max = max;
	spin_lock_init(&t->lock);
}

/* Buckets for max entries: twice as many, a power of two, at least 16. */
unsigned int hftmon_track_bits(unsigned int max)
{
	if (max <= 1U << (HFTMON_TRACK_MIN_BITS - 1))
		return HFTMON_TRACK_MIN_BITS;
	return order_base_2(max) + 1;
}

static struct hftmon_track_tab *hftmon_track_tab_alloc(unsigned int max)
{
	unsigned int bits = hftmon_track_bits(max);
	struct hftmon_track_tab *tab;

	/* The attacher's memory cgroup pays for its table. */
	tab = kvzalloc(struct_size(tab, buckets, 1U << bits),
		       GFP_KERNEL_ACCOUNT);
	if (!tab)
		return NULL;
	tab->bits = bits;
	tab->mul = get_random_u64() | 1;
	tab->add = get_random_u64();
	return tab;
}

static void hftmon_proc_free_rcu(struct rcu_head *rcu)
{
	struct hftmon_proc *p = container_of(rcu, struct hftmon_proc, rcu);

	put_cred(p->cred);
	put_pid(p->pid);
	kmem_cache_free(hftmon_proc_cache, p);
}

static void hftmon_track_remove(struct hftmon_track *t, struct hftmon_proc *p)
{
	lockdep_assert_held(&t->lock);
	hlist_del_rcu(&p->node);
	WRITE_ONCE(t->nr, t->nr - 1);
	/* put_pid only after readers are gone: see the file comment. */
	call_rcu(&p->rcu, hftmon_proc_free_rcu);
}

/* Drop entries whose process has exited (no task left in the group). */
static void hftmon_track_reap(struct hftmon_track *t,
			      struct hftmon_track_tab *tab)
{
	struct hftmon_proc *p;
	struct hlist_node *tmp;
	unsigned int bkt;

	lockdep_assert_held(&t->lock);
	for (bkt = 0; bkt < 1U << tab->bits; bkt++)
		hlist_for_each_entry_safe(p, tmp, &tab->buckets[bkt], node)
			if (!pid_has_task(p->pid, PIDTYPE_TGID))
				hftmon_track_remove(t, p);
}

static struct hftmon_proc *
hftmon_track_lookup_locked(struct hftmon_track_tab *tab, struct pid *pid)
{
	struct hftmon_proc *p;

	hlist_for_each_entry(p, &tab->buckets[hftmon_track_bucket(tab,
							pid_nr(pid))], node)
		if (p->pid == pid)
			return p;
	return NULL;
}

/*
 * Track task's whole thread group. Sleeps (allocates): not for probes.
 * The entry keeps the caller's credentials (see struct hftmon_proc).
 */
int hftmon_track_add(struct hftmon_track *t, struct task_struct *task,
		     u32 flags)
{
	struct hftmon_track_tab *tab, *new_tab = NULL;
	struct hftmon_proc *p;
	struct pid *pid;
	int err = 0;

	p = kmem_cache_zalloc(hftmon_proc_cache, GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	if (!rcu_access_pointer(t->tab)) {
		new_tab = hftmon_track_tab_alloc(t->max);
		if (!new_tab) {
			kmem_cache_free(hftmon_proc_cache, p);
			return -ENOMEM;
		}
	}

	rcu_read_lock();
	pid = get_pid(task_tgid(task));
	rcu_read_unlock();
	/* The group is exiting or gone: nothing to track. */
	if (!pid || !pid_has_task(pid, PIDTYPE_TGID)) {
		err = -ESRCH;
		goto err_free;
	}
	p->pid = pid;
	p->tgid = pid_nr(pid);
	p->flags = flags;

	spin_lock(&t->lock);
	tab = rcu_dereference_protected(t->tab, lockdep_is_held(&t->lock));
	if (!tab) {
		/* Filled before it is published: readers see it whole. */
		rcu_assign_pointer(t->tab, new_tab);
		tab = new_tab;
		new_tab = NULL;
	}
	hftmon_track_reap(t, tab);
	if (hftmon_track_lookup_locked(tab, pid)) {
		err = -EEXIST;
	} else if (t->nr >= t->max) {
		err = -ENOSPC;
	} else {
		p->cred = get_current_cred();
		hlist_add_head_rcu(&p->node,
				   &tab->buckets[hftmon_track_bucket(tab, p->tgid)]);
		WRITE_ONCE(t->nr, t->nr + 1);
	}
	spin_unlock(&t->lock);
	kvfree(new_tab);
	if (!err)
		return 0;
err_free:
	put_pid(pid);
	kmem_cache_free(hftmon_proc_cache, p);
	return err;
}

int hftmon_track_del(struct hftmon_track *t, struct task_struct *task)
{
	struct hftmon_track_tab *tab;
	struct hftmon_proc *p;
	struct pid *pid;
	int err = -ENOENT;

	rcu_read_lock();
	pid = get_pid(task_tgid(task));
	rcu_read_unlock();
	if (!pid)
		return -ESRCH;

	spin_lock(&t->lock);
	tab = rcu_dereference_protected(t->tab, lockdep_is_held(&t->lock));
	if (tab) {
		p = hftmon_track_lookup_locked(tab, pid);
		if (p) {
			hftmon_track_remove(t, p);
			err = 0;
		}
		hftmon_track_reap(t, tab);
	}
	spin_unlock(&t->lock);
	put_pid(pid);
	return err;
}

/* Untrack everything and free the buckets (after a grace period). */
void hftmon_track_clear(struct hftmon_track *t)
{
	struct hftmon_track_tab *tab;
	struct hftmon_proc *p;
	struct hlist_node *tmp;
	unsigned int bkt;

	spin_lock(&t->lock);
	tab = rcu_dereference_protected(t->tab, lockdep_is_held(&t->lock));
	if (tab) {
		for (bkt = 0; bkt < 1U << tab->bits; bkt++)
			hlist_for_each_entry_safe(p, tmp, &tab->buckets[bkt],
						  node)
				hftmon_track_remove(t, p);
		RCU_INIT_POINTER(t->tab, NULL);
	}
	spin_unlock(&t->lock);
	if (tab)
		kvfree_rcu(tab, rcu);
}
