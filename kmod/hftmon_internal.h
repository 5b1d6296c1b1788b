/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hftmon kernel internals shared by the module's files: the per-CPU ring
 * (hftmon_ring.c), the table of tracked processes (hftmon_track.c), the
 * stack table (hftmon_stack.c), the probes' core (hftmon_probes.c; the
 * probes themselves are in probes/, see hftmon_probe.h) and the device
 * (hftmon_dev.c).
 *
 * Lock order: hftmon_session.lock (mutex, one per open file) ->
 * hftmon_probes_lock (mutex, which session the probes serve) ->
 * hftmon_track.lock (spinlock_t, writers of the tracked table). ATTACH
 * takes the target's signal->exec_update_lock (read) around its check
 * and hftmon_track.lock, without hftmon_session.lock. hftmon_mem_lock
 * (mutex, ring memory accounting) is taken under hftmon_session.lock.
 * Probes take none of these: they run with preemption off, read the
 * tracked table under RCU and write their own CPU's ring with IRQs off
 * for a few instructions. On PREEMPT_RT hftmon_track.lock is a sleeping
 * lock; that is fine because only ioctls and release, in process
 * context, take it, never a probe or an IRQ-disabled section.
 */
#ifndef HFTMON_INTERNAL_H
#define HFTMON_INTERNAL_H

#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/types.h>
#include <linux/user_namespace.h>
#include <linux/wait.h>
#include <uapi/linux/hftmon.h>

#include "compat.h"

/*
 * Each kind of object has its own slab cache: /proc/slabinfo counts them,
 * and destroying a cache that still has objects at unload warns, so a
 * leak cannot hide (boot with slub_nomerge to keep the caches apart).
 */
extern struct kmem_cache *hftmon_session_cache, *hftmon_proc_cache,
			 *hftmon_ring_cache;
int hftmon_caches_get(void);
void hftmon_caches_put(void);

/* ---- per-CPU ring ------------------------------------------------------ */

struct hftmon_ring {
	struct hftmon_ring_ctrl *ctrl;	/* page 0 of the mapping, shared */
	void *data;			/* data area, data_size bytes */
	u64 data_size;			/* power of two */
	u64 mask;
	u32 max_record;			/* larger records count as TOO_BIG */
	u32 wakeup_bytes;		/* poll() watermark */

	/* Producer state: touched only on this CPU with IRQs off. */
	u64 head;			/* reserved up to here */
	u64 seq;			/* seq of the next record */
	unsigned int nest;		/* writers in progress on this CPU */
	u64 last_wakeup;		/* head at the last wake-up */
	bool kick;			/* wake readers at this commit */
	u64 urgent_head;		/* poll() readable until read up to it */
	u64 records;			/* kernel's own counts: the ctrl page */
	u64 lost[HFTMON_LOST_NR];	/* copies are for the reader only */

	/*
	 * Wakes readers outside the probe. A plain (not HARD) irq_work: on
	 * PREEMPT_RT it runs in the per-CPU irq_work/N thread (SCHED_FIFO 1),
	 * where wake_up()'s spinlock_t may sleep; in hard IRQ it could not.
	 * So on RT a CPU that a higher-priority thread never leaves delays
	 * the wake-up: readers there should poll with a timeout.
	 */
	struct irq_work wakeup_work;
	wait_queue_head_t *wq;
	int cpu;
	unsigned int nr_pages;		/* 1 control page + data pages */
	struct page **pages;
	void *vaddr;			/* vmap() of pages */
};

struct hftmon_ring *hftmon_ring_alloc(int cpu, unsigned int data_pages,
				      u32 wakeup_bytes, wait_queue_head_t *wq);
void hftmon_ring_free(struct hftmon_ring *rb);
struct hftmon_rec_hdr *hftmon_ring_reserve(struct hftmon_ring *rb, u16 type,
					   u32 size);
void hftmon_ring_commit(struct hftmon_ring *rb);
/* The same, for callers that always run with IRQs disabled. */
struct hftmon_rec_hdr *hftmon_ring_reserve_irqsoff(struct hftmon_ring *rb,
						   u16 type, u32 size);
void hftmon_ring_commit_irqsoff(struct hftmon_ring *rb);
void hftmon_ring_count_lost(struct hftmon_ring *rb, enum hftmon_lost_cause c);

/*
 * The record being written (between its reserve and commit, on this CPU,
 * IRQs off) wakes poll() waiters when it is published, whatever the
 * watermark, and keeps the ring readable until it is read (a spike).
 */
static inline void hftmon_ring_kick(struct hftmon_ring *rb)
{
	rb->kick = true;
}
bool hftmon_ring_readable(struct hftmon_ring *rb, bool any);

/* ---- tracked processes ------------------------------------------------- */

struct hftmon_proc {
	struct hlist_node node;
	pid_t tgid;			/* init-namespace number, the hash key */
	u32 flags;			/* HFTMON_ATTACH_* */
	u64 kstack_min_ns;		/* ATTACH's; 0: stacks at switch-out */
	struct pid *pid;		/* held: tells a reused tgid apart */
	unsigned long state;		/* HFTMON_PROC_*: atomic bitops, probes */
	/*
	 * The attacher's credentials at ATTACH (held): what an exec of the
	 * process is checked against, to end tracking where a fresh attach
	 * would be refused (setuid exec, non-dumpable; the exec probe).
	 */
	const struct cred *cred;
	/*
	 * The user namespace over which the attacher had CAP_SYS_PTRACE at
	 * ATTACH (held; NULL: none). Decided then with ns_capable(), which
	 * may call into LSMs and audit and so cannot run in the exec probe:
	 * the probe only compares namespaces (hftmon_exec_revokes()).
	 */
	struct user_namespace *ptrace_ns;
	struct rcu_head rcu;
};

/* The process's GROUP_DEAD exit record is made (see hftmon_probe_exit). */
#define HFTMON_PROC_GROUP_DEAD	0
/*
 * The process exec'd into something its attacher could not attach to now
 * (the exec probe, HFTMON_REC_DETACH): tracking ended there. The entry
 * stays in the table, found by nobody, until the next table change reaps
 * it (probes cannot take hftmon_track.lock).
 */
#define HFTMON_PROC_REVOKED	1

/*
 * Would a fresh ATTACH by p's attacher be refused for a process with
 * credentials tcred and mm? 0 if not, else HFTMON_DETACH_* bits saying
 * why. Sleeps never, takes no lock (the exec probe calls it).
 */
u32 hftmon_exec_revokes(const struct hftmon_proc *p, const struct cred *tcred,
			struct mm_struct *mm);

/*
 * The buckets, sized to the session's max_procs (twice as many, at least
 * 16) and placed by a keyed multiply-add-shift hash of the tgid: mul and
 * add are random per table, so an attacker who attaches many processes of
 * its own cannot choose tgids that share a victim's bucket (pairwise, two
 * tgids collide with probability about 2 / nr_buckets whatever they are).
 */
struct hftmon_track_tab {
	struct rcu_head rcu;
	u64 mul, add;			/* mul is odd */
	unsigned int bits;		/* 4..13 */
	struct hlist_head buckets[];
};

struct hftmon_track {
	struct hftmon_track_tab __rcu *tab;	/* NULL until the first add */
	unsigned int nr;		/* read locklessly by probes */
	unsigned int max;
	/*
	 * Writers: ATTACH, DETACH and the fork probe (preemption off), so a
	 * raw lock, held for list updates and the reap's walk only.
	 */
	raw_spinlock_t lock;
	/*
	 * Entries made ahead for the children of HFTMON_ATTACH_INHERIT
	 * processes (the fork probe cannot allocate): nr_pool of them on
	 * pool (by their node), topped up by refill after each use.
	 */
	struct hlist_head pool;
	unsigned int nr_pool;
	bool inherit;			/* an INHERIT entry was added */
	struct work_struct refill;
};

void hftmon_track_init(struct hftmon_track *t, unsigned int max);
int hftmon_track_add_as(struct hftmon_track *t, struct task_struct *task,
			u32 flags, u64 kstack_min_ns,
			struct user_namespace *ptrace_ns);
int hftmon_track_inherit(struct hftmon_track *t,
			 const struct hftmon_proc *parent,
			 struct task_struct *child);

/* Track task for an attacher without CAP_SYS_PTRACE over it (KUnit). */
static inline int hftmon_track_add(struct hftmon_track *t,
				   struct task_struct *task, u32 flags)
{
	return hftmon_track_add_as(t, task, flags, 0, NULL);
}
int hftmon_track_del(struct hftmon_track *t, struct task_struct *task);
void hftmon_track_clear(struct hftmon_track *t);
void hftmon_track_recheck(struct hftmon_track *t,
			  void (*revoked)(struct task_struct *task, u32 why,
					  void *arg), void *arg);
unsigned int hftmon_track_bits(unsigned int max);

/* Which bucket tgid is in (pure: KUnit tests it). */
static __always_inline unsigned int
hftmon_track_bucket(const struct hftmon_track_tab *tab, pid_t tgid)
{
	return (tab->mul * (u32)tgid + tab->add) >> (64 - tab->bits);
}

/*
 * Is task part of a tracked process? The probes' first question, so a
 * handful of instructions for an untracked task: an empty-table check,
 * one bucket, and the struct pid compare only on a tgid match. Callers
 * hold rcu_read_lock() or run with preemption disabled (probes).
 */
static __always_inline const struct hftmon_proc *
hftmon_track_find(const struct hftmon_track *t, struct task_struct *task)
{
	const struct hftmon_track_tab *tab;
	const struct hftmon_proc *p;
	pid_t tgid = task->tgid;

	if (!READ_ONCE(t->nr))
		return NULL;
	tab = rcu_dereference_raw_check(t->tab);
	if (unlikely(!tab))
		return NULL;
	hlist_for_each_entry_rcu_notrace(p,
			&tab->buckets[hftmon_track_bucket(tab, tgid)], node) {
		if (p->tgid == tgid &&
		    p->pid == READ_ONCE(task->signal->pids[PIDTYPE_TGID])) {
			/* Tracking ended at an exec (the exec probe). */
			if (unlikely(test_bit(HFTMON_PROC_REVOKED, &p->state)))
				return NULL;
			return p;
		}
	}
	return NULL;
}

/* ---- stack table (hftmon_stack.c) ------------------------------------- */

#define HFTMON_STACK_DEPTH	32	/* frames kept per stack */

struct hftmon_stack_table {
	u64 *slots;			/* stack hash per id - 1; 0 = free */
	unsigned int size;		/* power of two */
};

int hftmon_stack_table_init(struct hftmon_stack_table *t, unsigned int size);
void hftmon_stack_table_free(struct hftmon_stack_table *t);
u32 hftmon_stack_id_as(struct hftmon_stack_table *t, struct hftmon_ring *rb,
		       s32 pid, s32 tid, const unsigned long *ips,
		       unsigned int nr, u16 flags);

/*
 * The same, naming task by its init-namespace numbers: for callers that
 * have no session (the KUnit suites). Probes name the task as their
 * session may see it (hftmon_ident()) and call hftmon_stack_id_as().
 */
static inline u32 hftmon_stack_id(struct hftmon_stack_table *t,
				  struct hftmon_ring *rb,
				  const struct task_struct *task,
				  const unsigned long *ips, unsigned int nr,
				  u16 flags)
{
	return hftmon_stack_id_as(t, rb, task->tgid, task->pid, ips, nr, flags);
}
unsigned int hftmon_stack_kernel(unsigned long *ips, unsigned int max);
/*
 * The kernel stack of a task that is not running (it is switched out: its
 * saved context is on its stack), where the architecture's unwinder can
 * be driven from a module (x86: ORC or frame pointers); 0 elsewhere.
 */
#ifdef CONFIG_X86
#define HFTMON_HAVE_BLOCKED_UNWIND 1
#endif
unsigned int hftmon_stack_kernel_blocked(struct task_struct *t,
					 unsigned long *ips, unsigned int max);
unsigned int hftmon_stack_user(unsigned long *ips, unsigned int max,
			       bool *trunc);

/* ---- ring memory accounting (hftmon_mem.c) ---------------------------- */

/*
 * Per real uid (global kuid): the sessions it has open without
 * CAP_PERFMON, and the ring pages it holds within its free allowance
 * (perf's user->perf_mlock, for perf_event_mlock_kb). Refcounted: an
 * entry lives while a session or a charge refers to it.
 */
struct hftmon_user;

/* What one session's rings cost, and who pays (see hftmon_charge()). */
struct hftmon_charge {
	struct hftmon_user *user;	/* the CONFIGURE caller's uid */
	struct mm_struct *mm;		/* mmgrab()bed when extra != 0 */
	unsigned long pages;		/* in the global total */
	unsigned long extra;		/* beyond the allowance: mm->pinned_vm */
};

struct hftmon_mem_limits {
	unsigned long global_pages;	/* max_ring_mb */
	unsigned long allowance_pages;	/* user_mlock_kb x possible CPUs */
	bool exempt;			/* CAP_IPC_LOCK: RLIMIT_MEMLOCK ignored */
};

int hftmon_mlock_calc(unsigned long pages, unsigned long user_locked,
		      unsigned long allowance, unsigned long pinned,
		      unsigned long lock_limit, bool exempt,
		      unsigned long *extra);
int hftmon_charge(struct hftmon_charge *c, unsigned long pages,
		  const struct hftmon_mem_limits *lim);
void hftmon_uncharge(struct hftmon_charge *c);
unsigned long hftmon_ring_pages_in_use(void);
int hftmon_user_session_get(struct hftmon_user **up, unsigned int max);
void hftmon_user_session_put(struct hftmon_user *u);

/* ---- session: one per open file --------------------------------------- */

struct hftmon_session {
	struct mutex lock;		/* serialises this file's ioctls */
	bool configured;
	bool running;
	/*
	 * Decided at open from the opener's credentials, as perf decides at
	 * perf_event_open(): a descriptor passed on keeps what its opener
	 * could do. privileged = CAP_PERFMON or CAP_SYS_ADMIN in the initial
	 * user namespace. pid_ns: the opener's pid namespace (held), in
	 * which an unprivileged session's records are to name tasks.
	 */
	bool privileged;
	struct pid_namespace *pid_ns;
	struct hftmon_user *owner;	/* counted session (unprivileged) */
	struct hftmon_charge charge;	/* of the rings below */
	struct hftmon_config cfg;	/* effective configuration */
	u64 events;			/* HFTMON_EV_* the probes record */
	struct hftmon_ring **rings;	/* [nr_cpu_ids], NULL if not possible */
	atomic_t nr_mmaps;		/* mapped rings: no reconfigure */
	wait_queue_head_t wq;		/* poll() */
	struct hftmon_track track;
	struct hftmon_stack_table stacks;	/* allocated with the rings */
	u64 start_ns, stop_ns;
};

/*
 * Does a task a probe names belong to a process the session tracks?
 * (hftmon_ident() in hftmon_probe.h.)
 */
enum hftmon_tracked {
	HFTMON_UNTRACKED,
	HFTMON_TRACKED,
	HFTMON_TRACKED_ASK,	/* not known: look it up if it matters */
};

void hftmon_ident_restricted(const struct hftmon_session *s,
			     struct task_struct *t, enum hftmon_tracked tracked,
			     __s32 *pid, __s32 *tid, char *comm);

/* ---- probes (hftmon_probes.c; the probes themselves: probes/) -------- */

/* What this kernel offers, derived from the family tables. */
struct hftmon_avail {
	u64 known_events;		/* HFTMON_EV_* some source describes */
	u64 events;			/* ...of those, the ones that work here */
	u64 features;			/* HFTMON_FEAT_* of working sources */
	s32 status[HFTMON_SRC_NR];	/* GET_INFO's source_status[] */
};

int hftmon_probes_init(void);		/* find the tracepoints */
u64 hftmon_probes_known_events(void);
u64 hftmon_probes_available_events(void);
u64 hftmon_probes_features(void);
void hftmon_probes_source_status(s32 *status, unsigned int nr);
int hftmon_probes_activate(struct hftmon_session *s);
void hftmon_probes_deactivate(struct hftmon_session *s);
/* Each family's tracked_changed(s), s running: see struct hftmon_family. */
void hftmon_probes_tracked_changed(struct hftmon_session *s);
void hftmon_probes_exit(void);

/* ---- argument checks (pure: KUnit tests them directly) ---------------- */

int hftmon_config_check(struct hftmon_config *cfg, u64 available_events,
			unsigned int default_pages, unsigned int max_pages);
int hftmon_attach_check(const struct hftmon_attach *a);

#endif /* HFTMON_INTERNAL_H */
