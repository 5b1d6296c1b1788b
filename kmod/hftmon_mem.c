// SPDX-License-Identifier: GPL-2.0
/*
 * What a session's rings cost, and who pays. The pages themselves are
 * charged to the configuring task's memory cgroup where hftmon_ring.c
 * allocates them (__GFP_ACCOUNT); hftmon_charge() counts them the way
 * perf counts its mmap buffers: first against a free per-user allowance
 * (the user_mlock_kb parameter, perf_event_mlock_kb's twin), the rest
 * against RLIMIT_MEMLOCK as the caller's mm->pinned_vm (CAP_IPC_LOCK
 * exempt), and all of it against a global cap (max_ring_mb). The same
 * per-user entry counts the sessions a user without CAP_PERFMON holds.
 *
 * Lock: hftmon_mem_lock (mutex), taken under hftmon_session.lock, never
 * by a probe.
 */
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "hftmon_internal.h"

struct hftmon_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int refs;		/* sessions and charges holding it */
	unsigned int sessions;		/* open without CAP_PERFMON */
	unsigned long locked;		/* ring pages within the allowance */
};

static DEFINE_MUTEX(hftmon_mem_lock);
static DEFINE_HASHTABLE(hftmon_users, 6);	/* real uids: root makes them */
static unsigned long hftmon_pages_total;	/* every session's rings */

static struct hftmon_user *hftmon_user_get_locked(kuid_t uid)
{
	struct hftmon_user *u;

	lockdep_assert_held(&hftmon_mem_lock);
	hash_for_each_possible(hftmon_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid)) {
			u->refs++;
			return u;
		}
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return NULL;
	u->uid = uid;
	u->refs = 1;
	hash_add(hftmon_users, &u->node, __kuid_val(uid));
	return u;
}

static void hftmon_user_put_locked(struct hftmon_user *u)
{
	lockdep_assert_held(&hftmon_mem_lock);
	if (--u->refs)
		return;
	WARN_ON_ONCE(u->sessions || u->locked);
	hash_del(&u->node);
	kfree(u);
}

/*
 * Count a session of the caller's real uid; -EUSERS when it already has
 * max open. For openers without CAP_PERFMON (the caller decides).
 */
int hftmon_user_session_get(struct hftmon_user **up, unsigned int max)
{
	struct hftmon_user *u;
	int err = 0;

	mutex_lock(&hftmon_mem_lock);
	u = hftmon_user_get_locked(current_uid());
	if (!u) {
		err = -ENOMEM;
	} else if (u->sessions >= max) {
		hftmon_user_put_locked(u);
		err = -EUSERS;
	} else {
		u->sessions++;
		*up = u;
	}
	mutex_unlock(&hftmon_mem_lock);
	return err;
}

void hftmon_user_session_put(struct hftmon_user *u)
{
	if (!u)
		return;
	mutex_lock(&hftmon_mem_lock);
	u->sessions--;
	hftmon_user_put_locked(u);
	mutex_unlock(&hftmon_mem_lock);
}

/*
 * perf_mmap()'s arithmetic, in pages: of a new charge of pages, what the
 * user's free allowance cannot hold (given user_locked already in it) is
 * *extra, to be pinned against lock_limit (RLIMIT_MEMLOCK) on top of the
 * pinned pages the caller's mm already has. -EPERM when that is over the
 * limit and the caller is not exempt (CAP_IPC_LOCK). One difference from
 * perf: a charge that fits in the allowance never looks at the rlimit
 * (perf refuses it too when pinned alone is already over the limit).
 * Pure: KUnit tests it.
 */
int hftmon_mlock_calc(unsigned long pages, unsigned long user_locked,
		      unsigned long allowance, unsigned long pinned,
		      unsigned long lock_limit, bool exempt,
		      unsigned long *extra)
{
	/* The allowance may have been lowered below what is held. */
	unsigned long locked = min(user_locked, allowance) + pages;

	*extra = locked > allowance ? locked - allowance : 0;
	if (*extra && pinned + *extra > lock_limit && !exempt)
		return -EPERM;
	return 0;
}

/*
 * Charge pages of ring memory to the caller (c zeroed before): -ENOSPC
 * over the global cap, -EPERM over RLIMIT_MEMLOCK, -ENOMEM. The pages
 * themselves are charged to the caller's memcg when allocated.
 */
int hftmon_charge(struct hftmon_charge *c, unsigned long pages,
		  const struct hftmon_mem_limits *lim)
{
	struct mm_struct *mm = current->mm;
	unsigned long extra;
	struct hftmon_user *u;
	int err;

	mutex_lock(&hftmon_mem_lock);
	err = -ENOSPC;
	if (hftmon_pages_total + pages > lim->global_pages)
		goto out;
	err = -ENOMEM;
	u = hftmon_user_get_locked(current_uid());
	if (!u)
		goto out;
	err = hftmon_mlock_calc(pages, u->locked, lim->allowance_pages,
				mm ? atomic64_read(&mm->pinned_vm) : 0,
				rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT,
				lim->exempt, &extra);
	if (err) {
		hftmon_user_put_locked(u);
		goto out;
	}
	u->locked += pages - extra;
	hftmon_pages_total += pages;
	if (extra && mm) {
		atomic64_add(extra, &mm->pinned_vm);
		mmgrab(mm);
		c->mm = mm;
	}
	c->user = u;
	c->pages = pages;
	c->extra = extra;
out:
	mutex_unlock(&hftmon_mem_lock);
	return err;
}

/* Undo hftmon_charge() (c zeroed after; a zeroed c is a no-op). */
void hftmon_uncharge(struct hftmon_charge *c)
{
	if (!c->user)
		return;
	mutex_lock(&hftmon_mem_lock);
	c->user->locked -= c->pages - c->extra;
	hftmon_pages_total -= c->pages;
	hftmon_user_put_locked(c->user);
	mutex_unlock(&hftmon_mem_lock);
	if (c->mm) {
		atomic64_sub(c->extra, &c->mm->pinned_vm);
		mmdrop(c->mm);
	}
	memset(c, 0, sizeof(*c));
}

unsigned long hftmon_ring_pages_in_use(void)
{
	return READ_ONCE(hftmon_pages_total);
}
