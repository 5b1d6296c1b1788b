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
 */
#include <linux/slab.h>

#include "hftmon_internal.h"

void hftmon_track_init(struct hftmon_track *t, unsigned int max)
{
	hash_init(t->buckets);
	t->nr = 0;
	t->max = max;
	spin_lock_init(&t->lock);
}

static void hftmon_proc_free_rcu(struct rcu_head *rcu)
{
	struct hftmon_proc *p = container_of(rcu, struct hftmon_proc, rcu);

	put_pid(p->pid);
	kmem_cache_free(hftmon_proc_cache, p);
}

static void hftmon_track_remove(struct hftmon_track *t, struct hftmon_proc *p)
{
	lockdep_assert_held(&t->lock);
	hash_del_rcu(&p->node);
	WRITE_ONCE(t->nr, t->nr - 1);
	/* put_pid only after readers are gone: see the file comment. */
	call_rcu(&p->rcu, hftmon_proc_free_rcu);
}

/* Drop entries whose process has exited (no task left in the group). */
static void hftmon_track_reap(struct hftmon_track *t)
{
	struct hftmon_proc *p;
	struct hlist_node *tmp;
	int bkt;

	lockdep_assert_held(&t->lock);
	hash_for_each_safe(t->buckets, bkt, tmp, p, node) {
		if (!pid_has_task(p->pid, PIDTYPE_TGID))
			hftmon_track_remove(t, p);
	}
}

static struct hftmon_proc *hftmon_track_lookup_locked(struct hftmon_track *t,
						       struct pid *pid)
{
	struct hftmon_proc *p;

	hash_for_each_possible(t->buckets, p, node, pid_nr(pid))
		if (p->pid == pid)
			return p;
	return NULL;
}

/* Track task's whole thread group. Sleeps (allocates): not for probes. */
int hftmon_track_add(struct hftmon_track *t, struct task_struct *task,
		     u32 flags)
{
	struct hftmon_proc *p;
	struct pid *pid;
	int err = 0;

	p = kmem_cache_zalloc(hftmon_proc_cache, GFP_KERNEL);
	if (!p)
		return -ENOMEM;

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
	hftmon_track_reap(t);
	if (hftmon_track_lookup_locked(t, pid)) {
		err = -EEXIST;
	} else if (t->nr >= t->max) {
		err = -ENOSPC;
	} else {
		hash_add_rcu(t->buckets, &p->node, p->tgid);
		WRITE_ONCE(t->nr, t->nr + 1);
	}
	spin_unlock(&t->lock);
	if (!err)
		return 0;
err_free:
	put_pid(pid);
	kmem_cache_free(hftmon_proc_cache, p);
	return err;
}

int hftmon_track_del(struct hftmon_track *t, struct task_struct *task)
{
	struct hftmon_proc *p;
	struct pid *pid;
	int err = -ENOENT;

	rcu_read_lock();
	pid = get_pid(task_tgid(task));
	rcu_read_unlock();
	if (!pid)
		return -ESRCH;

	spin_lock(&t->lock);
	p = hftmon_track_lookup_locked(t, pid);
	if (p) {
		hftmon_track_remove(t, p);
		err = 0;
	}
	hftmon_track_reap(t);
	spin_unlock(&t->lock);
	put_pid(pid);
	return err;
}

void hftmon_track_clear(struct hftmon_track *t)
{
	struct hftmon_proc *p;
	struct hlist_node *tmp;
	int bkt;

	spin_lock(&t->lock);
	hash_for_each_safe(t->buckets, bkt, tmp, p, node)
		hftmon_track_remove(t, p);
	spin_unlock(&t->lock);
}
