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
 * hftmon_track.lock (spinlock_t, writers of the tracked table).
 * Probes take none of these: they run with preemption off, read the
 * tracked table under RCU and write their own CPU's ring with IRQs off
 * for a few instructions. On PREEMPT_RT hftmon_track.lock is a sleeping
 * lock; that is fine because only ioctls and release, in process
 * context, take it, never a probe or an IRQ-disabled section.
 */
#ifndef HFTMON_INTERNAL_H
#define HFTMON_INTERNAL_H

#include <linux/hashtable.h>
#include <linux/irq_work.h>
#include <linux/percpu.h>
#include <asm/local64.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/types.h>
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
bool hftmon_ring_readable(struct hftmon_ring *rb, bool any);

/* ---- tracked processes ------------------------------------------------- */

#define HFTMON_TRACK_BITS	6

struct hftmon_proc {
	struct hlist_node node;
	pid_t tgid;			/* init-namespace number, the hash key */
	u32 flags;			/* HFTMON_ATTACH_* */
	struct pid *pid;		/* held: tells a reused tgid apart */
	unsigned long state;		/* HFTMON_PROC_*: atomic bitops, probes */
	struct rcu_head rcu;
};

/* The process's GROUP_DEAD exit record is made (see hftmon_probe_exit). */
#define HFTMON_PROC_GROUP_DEAD	0

struct hftmon_track {
	DECLARE_HASHTABLE(buckets, HFTMON_TRACK_BITS);
	unsigned int nr;		/* read locklessly by probes */
	unsigned int max;
	spinlock_t lock;		/* writers */
};

void hftmon_track_init(struct hftmon_track *t, unsigned int max);
int hftmon_track_add(struct hftmon_track *t, struct task_struct *task,
		     u32 flags);
int hftmon_track_del(struct hftmon_track *t, struct task_struct *task);
void hftmon_track_clear(struct hftmon_track *t);

/*
 * Is task part of a tracked process? The probes' first question, so a
 * handful of instructions for an untracked task: an empty-table check,
 * one bucket, and the struct pid compare only on a tgid match. Callers
 * hold rcu_read_lock() or run with preemption disabled (probes).
 */
static __always_inline const struct hftmon_proc *
hftmon_track_find(const struct hftmon_track *t, struct task_struct *task)
{
	const struct hftmon_proc *p;
	pid_t tgid = task->tgid;

	if (!READ_ONCE(t->nr))
		return NULL;
	hlist_for_each_entry_rcu_notrace(p,
			&t->buckets[hash_min(tgid, HFTMON_TRACK_BITS)], node) {
		if (p->tgid == tgid &&
		    p->pid == READ_ONCE(task->signal->pids[PIDTYPE_TGID]))
			return p;
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
u32 hftmon_stack_id(struct hftmon_stack_table *t, struct hftmon_ring *rb,
		    const struct task_struct *task, const unsigned long *ips,
		    unsigned int nr, u16 flags);
unsigned int hftmon_stack_kernel(unsigned long *ips, unsigned int max);
unsigned int hftmon_stack_user(unsigned long *ips, unsigned int max,
			       bool *trunc);

/* ---- session: one per open file --------------------------------------- */

struct hftmon_session {
	struct mutex lock;		/* serialises this file's ioctls */
	bool configured;
	bool running;
	struct hftmon_config cfg;	/* effective configuration */
	u64 events;			/* HFTMON_EV_* the probes record */
	struct hftmon_ring **rings;	/* [nr_cpu_ids], NULL if not possible */
	atomic_t nr_mmaps;		/* mapped rings: no reconfigure */
	wait_queue_head_t wq;		/* poll() */
	struct hftmon_track track;
	struct hftmon_stack_table stacks;	/* allocated with the rings */
	u64 start_ns, stop_ns;
};

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
void hftmon_probes_exit(void);

/* ---- interruption sources (probes/irq.c) ------------------------------ */

/*
 * Per CPU, whether its interruptions are recorded: tracked is the task
 * current there if it is tracked (written by the sched_switch probe at
 * every switch of a running session, NULL otherwise), system is set for
 * the CPUs of cfg.irq_cpus; both zero between sessions. switches counts
 * the switch probe's writes (a softirq's raise stamp is trusted only
 * within one stretch). An interruption probe's first check is these.
 */
struct hftmon_irq_here {
	struct task_struct *tracked;
	unsigned int system;
	unsigned int switches;
};
DECLARE_PER_CPU(struct hftmon_irq_here, hftmon_irq_here);

static __always_inline void hftmon_irq_note_switch(struct task_struct *next,
						   bool tracked)
{
	struct hftmon_irq_here *h = this_cpu_ptr(&hftmon_irq_here);

	WRITE_ONCE(h->tracked, tracked ? next : NULL);
	h->switches++;
}

#define HFTMON_IRQ_DEPTH	8	/* nested interruptions followed */
#define HFTMON_IRQ_VECTORS	256	/* x86 vectors; none elsewhere */
#define HFTMON_IRQ_SOFTIRQS	16	/* >= NR_SOFTIRQS */
#define HFTMON_IRQ_NUMS_MAX	4096	/* device IRQ numbers counted one by one */

/* One interruption in progress on a CPU. */
struct hftmon_irq_frame {
	u64 start;
	local64_t nested;	/* gross time of what interrupted it, NMI-safe */
	u64 raise;
	u32 kind, nr;
};

/* What hftmon_irq_leave() and hftmon_irq_nmi() found: one record's worth. */
struct hftmon_irq_done {
	u64 start, end, net, gross, raise;
	u32 kind, nr, depth;
};

/* An NMI's record, kept for the next probe (the ring is not NMI-safe). */
struct hftmon_irq_nmi_slot {
	struct hftmon_irq_done d;
	int handled;
	bool tracked;
	pid_t pid, tid;
	unsigned int ready;
};

/* One CPU's state: allocated at START (irq.c), touched by that CPU only. */
struct hftmon_irq_cpu {
	unsigned int depth;
	struct hftmon_irq_frame f[HFTMON_IRQ_DEPTH];
	u64 raise[HFTMON_IRQ_SOFTIRQS];
	unsigned int raise_switches[HFTMON_IRQ_SOFTIRQS];
	struct hftmon_irq_nmi_slot nmi_slot;
	u64 unmatched, too_deep, nmi_unrecorded;
	struct hftmon_irq_count vec[HFTMON_IRQ_VECTORS];
	struct hftmon_irq_count softirq[HFTMON_IRQ_SOFTIRQS];
	struct hftmon_irq_count nmi, other;
	unsigned int nr_irqs;		/* entries of irq[] */
	struct hftmon_irq_count irq[];
};

/* The accounting, pure (KUnit drives it with synthetic times). */
bool hftmon_irq_enter(struct hftmon_irq_cpu *c, u32 kind, u32 nr, u64 raise,
		      u64 now);
bool hftmon_irq_leave(struct hftmon_irq_cpu *c, u32 kind, u32 nr, u64 now,
		      struct hftmon_irq_done *d);
void hftmon_irq_nmi(struct hftmon_irq_cpu *c, u64 delta, u64 now,
		    struct hftmon_irq_done *d);

int hftmon_irq_cpus_check(const struct hftmon_config *cfg);
long hftmon_irq_ioc_stats(struct hftmon_session *s, void __user *uarg);

/* ---- argument checks (pure: KUnit tests them directly) ---------------- */

int hftmon_config_check(struct hftmon_config *cfg, u64 available_events,
			unsigned int default_pages, unsigned int max_pages);
int hftmon_attach_check(const struct hftmon_attach *a);

#endif /* HFTMON_INTERNAL_H */
