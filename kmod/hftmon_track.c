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
 *
 * An entry also ends when its process execs into something its attacher
 * could no longer attach to (a setuid binary, a non-dumpable image): the
 * exec probe marks it HFTMON_PROC_REVOKED with an atomic bit, since a
 * probe cannot take t->lock, and hftmon_track_find() ignores it from
 * then on; the next table change reaps it like an exited one. The rule is
 * hftmon_exec_revokes() below, ATTACH's check restated over what was
 * decided at ATTACH.
 *
 * A process attached with HFTMON_ATTACH_INHERIT passes its entry on: the
 * fork probe adds one for each new process it forks, before the child
 * first runs (sched_process_fork fires before wake_up_new_task()), with
 * the parent's flags, credentials and ptrace_ns: what ATTACH decided for
 * the parent holds for a child that has its credentials and has not run
 * (an exec of it is checked as any). The probe runs with preemption off,
 * so it neither sleeps nor allocates: t->lock is a raw spinlock, and the
 * entries come from a small pool made ahead in process context (at the
 * INHERIT attach, then by a work item after each use). A fork that finds
 * the table full or the pool empty is not followed, and its FORK record
 * says which. The raw lock is held for list changes and the reap's walk
 * of at most 2 * max_procs buckets, never for anything that sleeps (the
 * recheck walks under RCU instead).
 */
#include <linux/log2.h>
#include <linux/random.h>
#include <linux/sched/coredump.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "hftmon_probe.h"	/* hftmon_copy_comm() */

#define HFTMON_TRACK_MIN_BITS	4
#define HFTMON_TRACK_POOL	32	/* entries made ahead, at most */

static void hftmon_track_refill(struct work_struct *work);
static void hftmon_track_reap(struct hftmon_track *t,
			      struct hftmon_track_tab *tab);

void hftmon_track_init(struct hftmon_track *t, unsigned int max)
{
	RCU_INIT_POINTER(t->tab, NULL);
	t->nr = 0;
	t->max = max;
	raw_spin_lock_init(&t->lock);
	INIT_HLIST_HEAD(&t->pool);
	t->nr_pool = 0;
	t->inherit = false;
	INIT_WORK(&t->refill, hftmon_track_refill);
}

/* Pool entries still wanted: room in the table, up to HFTMON_TRACK_POOL. */
static unsigned int hftmon_track_pool_want(const struct hftmon_track *t)
{
	unsigned int room = t->max - min(t->nr, t->max);
	unsigned int target = t->inherit ? min_t(unsigned int, room,
						 HFTMON_TRACK_POOL) : 0;

	lockdep_assert_held(&t->lock);
	return t->nr_pool < target ? target - t->nr_pool : 0;
}

/* Top the pool up (process context, may sleep). */
static void hftmon_track_fill(struct hftmon_track *t)
{
	struct hftmon_proc *p;
	unsigned int want;

	for (;;) {
		raw_spin_lock(&t->lock);
		want = hftmon_track_pool_want(t);
		raw_spin_unlock(&t->lock);
		if (!want)
			return;
		/*
		 * From the work item, the kworker's memory cgroup pays: a few
		 * small entries, bounded by HFTMON_TRACK_POOL.
		 */
		p = kmem_cache_zalloc(hftmon_proc_cache, GFP_KERNEL_ACCOUNT);
		if (!p)
			return;	/* forks find the pool short: FORK_NOMEM */
		raw_spin_lock(&t->lock);
		hlist_add_head(&p->node, &t->pool);
		t->nr_pool++;
		raw_spin_unlock(&t->lock);
	}
}

/*
 * After a fork took an entry (or found none): the children that exited
 * since are reaped here, since nothing else changes the table while a
 * followed process only forks (a shell's children would otherwise fill
 * it with dead entries), and the pool is topped up.
 */
static void hftmon_track_refill(struct work_struct *work)
{
	struct hftmon_track *t = container_of(work, struct hftmon_track,
					      refill);
	struct hftmon_track_tab *tab;

	raw_spin_lock(&t->lock);
	tab = rcu_dereference_protected(t->tab, lockdep_is_held(&t->lock));
	if (tab)
		hftmon_track_reap(t, tab);
	raw_spin_unlock(&t->lock);
	hftmon_track_fill(t);
}

/* Free the pool; the work item must be idle (hftmon_track_clear()). */
static void hftmon_track_pool_free(struct hftmon_track *t)
{
	struct hftmon_proc *p;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(p, tmp, &t->pool, node) {
		hlist_del(&p->node);
		kmem_cache_free(hftmon_proc_cache, p);
	}
	t->nr_pool = 0;
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

	put_user_ns(p->ptrace_ns);	/* NULL-safe */
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

/* Drop entries whose process has exited or exec'd out of our reach. */
static void hftmon_track_reap(struct hftmon_track *t,
			      struct hftmon_track_tab *tab)
{
	struct hftmon_proc *p;
	struct hlist_node *tmp;
	unsigned int bkt;

	lockdep_assert_held(&t->lock);
	for (bkt = 0; bkt < 1U << tab->bits; bkt++)
		hlist_for_each_entry_safe(p, tmp, &tab->buckets[bkt], node)
			if (!pid_has_task(p->pid, PIDTYPE_TGID) ||
			    test_bit(HFTMON_PROC_REVOKED, &p->state))
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
 * The entry keeps the caller's credentials and ptrace_ns, the namespace
 * over which the caller has CAP_SYS_PTRACE or NULL (see struct
 * hftmon_proc); it takes its own reference on ptrace_ns.
 */
int hftmon_track_add_as(struct hftmon_track *t, struct task_struct *task,
			u32 flags, u64 kstack_min_ns,
			struct user_namespace *ptrace_ns)
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
	p->kstack_min_ns = kstack_min_ns;

	raw_spin_lock(&t->lock);
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
		p->ptrace_ns = ptrace_ns ? get_user_ns(ptrace_ns) : NULL;
		hlist_add_head_rcu(&p->node,
				   &tab->buckets[hftmon_track_bucket(tab, p->tgid)]);
		WRITE_ONCE(t->nr, t->nr + 1);
		if (flags & HFTMON_ATTACH_INHERIT)
			t->inherit = true;
	}
	raw_spin_unlock(&t->lock);
	kvfree(new_tab);
	if (!err) {
		hftmon_track_fill(t);	/* the children's entries, ahead */
		return 0;
	}
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

	raw_spin_lock(&t->lock);
	tab = rcu_dereference_protected(t->tab, lockdep_is_held(&t->lock));
	if (tab) {
		p = hftmon_track_lookup_locked(tab, pid);
		/* Tracking of a revoked one ended already: reaped below. */
		if (p && !test_bit(HFTMON_PROC_REVOKED, &p->state)) {
			hftmon_track_remove(t, p);
			err = 0;
		}
		hftmon_track_reap(t, tab);
	}
	raw_spin_unlock(&t->lock);
	put_pid(pid);
	return err;
}

/*
 * The fork probe's (preemption off, child not yet run): track child's new
 * process as parent's entry is. 0, -ENOSPC table full, -ENOMEM no entry
 * was made ahead (both leave the child untracked).
 */
int hftmon_track_inherit(struct hftmon_track *t,
			 const struct hftmon_proc *parent,
			 struct task_struct *child)
{
	struct hftmon_track_tab *tab;
	struct hftmon_proc *p = NULL;
	int err = 0;

	raw_spin_lock(&t->lock);
	/* parent is in it: the table exists. */
	tab = rcu_dereference_protected(t->tab, lockdep_is_held(&t->lock));
	if (t->nr >= t->max) {
		err = -ENOSPC;
	} else if (hlist_empty(&t->pool)) {
		err = -ENOMEM;
	} else {
		p = hlist_entry(t->pool.first, struct hftmon_proc, node);
		hlist_del(&p->node);
		t->nr_pool--;
		/* The child's struct pid is attached: copy_process() did. */
		p->pid = get_pid(task_tgid(child));
		p->tgid = pid_nr(p->pid);
		p->flags = parent->flags;
		p->kstack_min_ns = parent->kstack_min_ns;
		p->cred = get_cred(parent->cred);
		p->ptrace_ns = parent->ptrace_ns ?
				       get_user_ns(parent->ptrace_ns) : NULL;
		hlist_add_head_rcu(&p->node,
				   &tab->buckets[hftmon_track_bucket(tab, p->tgid)]);
		WRITE_ONCE(t->nr, t->nr + 1);
	}
	raw_spin_unlock(&t->lock);
	/* queue_work() is safe with preemption off (a raw pool lock). */
	schedule_work(&t->refill);
	return err;
}

/* Untrack everything and free the buckets (after a grace period). */
void hftmon_track_clear(struct hftmon_track *t)
{
	struct hftmon_track_tab *tab;
	struct hftmon_proc *p;
	struct hlist_node *tmp;
	unsigned int bkt;

	/* No probe uses t now; a refill it queued ends before the pool goes. */
	cancel_work_sync(&t->refill);
	raw_spin_lock(&t->lock);
	tab = rcu_dereference_protected(t->tab, lockdep_is_held(&t->lock));
	if (tab) {
		for (bkt = 0; bkt < 1U << tab->bits; bkt++)
			hlist_for_each_entry_safe(p, tmp, &tab->buckets[bkt],
						  node)
				hftmon_track_remove(t, p);
		RCU_INIT_POINTER(t->tab, NULL);
	}
	t->inherit = false;
	hftmon_track_pool_free(t);
	raw_spin_unlock(&t->lock);
	if (tab)
		kvfree_rcu(tab, rcu);
}

/*
 * Revoke every entry whose process its attacher could not attach now,
 * calling revoked() (with preemption off) for each: for what no probe saw,
 * an exec between ATTACH and START or while the session was stopped.
 * START calls it before and after the probes go live (see there).
 */
void hftmon_track_recheck(struct hftmon_track *t,
			  void (*revoked)(struct task_struct *task, u32 why,
					  void *arg), void *arg)
{
	struct hftmon_track_tab *tab;
	struct task_struct *task;
	struct hftmon_proc *p;
	unsigned int bkt;
	u32 why;

	/*
	 * Under RCU, not t->lock: task_lock() may sleep on PREEMPT_RT, and
	 * the entries and the table are freed after a grace period.
	 */
	rcu_read_lock();
	tab = rcu_dereference(t->tab);
	for (bkt = 0; tab && bkt < 1U << tab->bits; bkt++) {
		hlist_for_each_entry_rcu(p, &tab->buckets[bkt], node) {
			task = pid_task(p->pid, PIDTYPE_TGID);
			if (!task || test_bit(HFTMON_PROC_REVOKED, &p->state))
				continue;
			/* As ATTACH reads them: credentials, then the mm. */
			task_lock(task);
			why = hftmon_exec_revokes(p, __task_cred(task),
						  task->mm);
			task_unlock(task);
			if (why && !test_and_set_bit(HFTMON_PROC_REVOKED,
						     &p->state)) {
				preempt_disable();
				revoked(task, why, arg);
				preempt_enable();
			}
		}
	}
	rcu_read_unlock();
}

/* Is ns the namespace anc or one of its descendants? */
static bool hftmon_user_ns_within(const struct user_namespace *ns,
				  const struct user_namespace *anc)
{
	if (!anc)
		return false;
	/* A namespace holds its parent: the chain is stable while ns is. */
	for (; ns; ns = ns->parent)
		if (ns == anc)
			return true;
	return false;
}

/*
 * ATTACH's rule (hftmon_may_trace() in hftmon_dev.c, the credential part
 * of ptrace_may_access(PTRACE_MODE_READ_REALCREDS)) applied again to a
 * process that has just exec'd, with what was decided at ATTACH: the
 * attacher's credentials (p->cred, real uid and gid) and the namespace it
 * had CAP_SYS_PTRACE over (p->ptrace_ns; a capability in a namespace
 * holds in its descendants, so one of those counts too). ns_capable()
 * itself cannot be called here: it may enter LSMs and audit. Nothing
 * here sleeps or locks: uid/gid compares, a walk up at most 32 user
 * namespaces, the mm's dumpability bits.
 *
 * HFTMON_DETACH_CREDS: the process's real, effective or saved uid or gid
 * is no longer the attacher's (a setuid or setgid binary), and the
 * attacher had no CAP_SYS_PTRACE over its namespace.
 * HFTMON_DETACH_NONDUMPABLE: the image is not dumpable (commit_creds()
 * makes it so when the effective ids or capabilities change, unless
 * fs.suid_dumpable is 1; would_dump() when the binary is not readable),
 * and the attacher had no CAP_SYS_PTRACE over the mm's namespace.
 * Either alone refuses an ATTACH, as it refuses ptrace.
 */
u32 hftmon_exec_revokes(const struct hftmon_proc *p, const struct cred *tcred,
			struct mm_struct *mm)
{
	const struct cred *a = p->cred;
	u32 why = 0;

	if (!(uid_eq(a->uid, tcred->euid) && uid_eq(a->uid, tcred->suid) &&
	      uid_eq(a->uid, tcred->uid) && gid_eq(a->gid, tcred->egid) &&
	      gid_eq(a->gid, tcred->sgid) && gid_eq(a->gid, tcred->gid)) &&
	    !hftmon_user_ns_within(tcred->user_ns, p->ptrace_ns))
		why |= HFTMON_DETACH_CREDS;
	if (mm && get_dumpable(mm) != SUID_DUMP_USER &&
	    !hftmon_user_ns_within(mm->user_ns, p->ptrace_ns))
		why |= HFTMON_DETACH_NONDUMPABLE;
	return why;
}

/*
 * What a session without CAP_PERFMON/CAP_SYS_ADMIN may see of task t
 * (hftmon_ident() decides privileged sessions inline; this is the rest of
 * the rule, uapi header "Whom a record names"):
 * - the idle task: pid 0 and its comm, the same on every machine;
 * - a task of a tracked process: its numbers in the opener's pid
 *   namespace, and its comm. In the init namespace those are the
 *   task's own numbers (no lookup); elsewhere __task_pid_nr_ns(), which
 *   gives 0 when the namespace cannot see the task or its pid is already
 *   released (a reaped thread's last switch-out): then it is blanked;
 * - any other task: blanked, pid and tid 0 and comm zeroed. Its prio and
 *   policy, which the records carry beside, are left to the caller.
 * Runs in probes: RCU (inside __task_pid_nr_ns()) is all it takes.
 */
void hftmon_ident_restricted(const struct hftmon_session *s,
			     struct task_struct *t, enum hftmon_tracked tracked,
			     __s32 *pid, __s32 *tid, char *comm)
{
	struct pid_namespace *ns = s->pid_ns;
	pid_t tg = 0, nr = 0;

	if (tracked == HFTMON_TRACKED_ASK)
		tracked = hftmon_track_find(&s->track, t) ? HFTMON_TRACKED :
							    HFTMON_UNTRACKED;
	if (is_idle_task(t))
		goto shown;
	if (tracked != HFTMON_TRACKED || !ns)
		goto blank;
	if (ns == &init_pid_ns) {
		tg = t->tgid;
		nr = t->pid;
	} else {
		nr = __task_pid_nr_ns(t, PIDTYPE_PID, ns);
		if (nr)
			tg = __task_pid_nr_ns(t, PIDTYPE_TGID, ns);
		if (!nr || !tg)
			goto blank;
	}
shown:
	*pid = tg;
	*tid = nr;
	if (comm)
		hftmon_copy_comm(comm, t);
	return;
blank:
	*pid = 0;
	*tid = 0;
	if (comm)
		memset(comm, 0, HFTMON_TASK_COMM_LEN);
}
