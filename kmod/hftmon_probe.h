/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a probe file under kmod/probes/ is made of. Each file is one
 * family of sources (sched.c: the scheduler's tracepoints). It declares
 * its tracepoints with HFTMON_TRACEPOINT(), which makes the compiler check
 * each probe against the kernel's own prototype, and its sources with
 * struct hftmon_source_desc: the HFTMON_SRC_* row of GET_INFO it fills,
 * the HFTMON_EV_* bit a session selects it with, the HFTMON_FEAT_* bit it
 * offers and the tracepoints it needs. hftmon_probes.c derives everything
 * else from these tables: which tracepoints to hook, which events and
 * features exist on this kernel, and each source's status. A new family
 * is one file here plus one line in kmod/probes/families.h.
 *
 * A probe's body is always the same sequence: hftmon_session_for() (is a
 * session recording this tracepoint's events?), hftmon_track_find() (is
 * the task tracked?), hftmon_rec_reserve() (space on this CPU's ring, the
 * subject in the header), fill, hftmon_rec_commit(). hftmon_rec_begin()
 * is the first three in one call for a probe with one subject task.
 * Every task a record names, the subject in its header included, is
 * filled by hftmon_ident(): what a session may see of a task is decided
 * there and nowhere else.
 */
#ifndef HFTMON_PROBE_H
#define HFTMON_PROBE_H

#include <linux/build_bug.h>
#include <linux/rcupdate.h>
#include <linux/tracepoint.h>

#include "hftmon_internal.h"

/* One tracepoint a family hooks, found by name when the module loads. */
struct hftmon_tracepoint {
	const char *name;
	void *probe;		/* its type checked by HFTMON_TRACEPOINT() */
	/* Filled in by hftmon_probes.c, never by a family: */
	struct tracepoint *tp;	/* NULL: not in this kernel */
	u64 events;		/* HFTMON_EV_* of the sources that use it */
	bool hooked;		/* from the first session that needs it to unload */
};

/*
 * The table entry for tracepoint name, hooked with probe. The kernel's
 * register_trace_<name>() (from <trace/events/...h>, included without
 * CREATE_TRACE_POINTS) takes exactly void (*)(void *data, TP_PROTO...),
 * and -Werror=incompatible-pointer-types makes any other probe type a
 * build error. It is only named inside sizeof, never called, so the
 * module keeps no reference to the unexported __tracepoint_<name>: the
 * tracepoint itself is found by name (for_each_kernel_tracepoint()).
 */
#define HFTMON_TRACEPOINT(_name, _probe)				\
	{								\
		.name = #_name,						\
		.probe = __builtin_choose_expr(				\
			sizeof(register_trace_##_name(_probe, NULL)),	\
			(void *)(_probe), NULL),			\
	}

/* One source: one row of hftmon_info.source_status[]. */
struct hftmon_source_desc {
	enum hftmon_source src;	/* HFTMON_SRC_*: its status row */
	u64 event;		/* HFTMON_EV_* bit that selects it; 0: none of its own */
	u64 feature;		/* HFTMON_FEAT_* bit it offers */
	/*
	 * bits: indexes of the family's tracepoints it needs; none only for
	 * a source with no event of its own, hooked otherwise by its family
	 * (the page-fault spikes' kretprobe, probes/spike.c)
	 */
	u32 tps;
	/*
	 * 0, or the -errno this kernel's build gives the source whatever
	 * tracepoints exist (-EOPNOTSUPP: the kernel lacks the mechanism,
	 * as CONFIG_NUMA_BALANCING on PREEMPT_RT, probes/numa.c).
	 */
	s32 unsupported;
};

struct hftmon_family {
	const char *name;
	struct hftmon_tracepoint *tps;
	unsigned int nr_tps;
	const struct hftmon_source_desc *sources;
	unsigned int nr_sources;
	/*
	 * Optional, for a family with per-session state (process context,
	 * hftmon_probes_lock held): start before the probes see the session
	 * (may allocate; an error fails START), stop once no probe uses it,
	 * exit at unload.
	 */
	int (*start)(struct hftmon_session *s);
	void (*stop)(struct hftmon_session *s);
	void (*exit)(void);
	/*
	 * Optional: the set of tracked tasks changed under the running s
	 * (START, once the probes see s; ATTACH, DETACH), for per-CPU state
	 * a probe keeps of the task running there. Process context, s->lock.
	 */
	void (*tracked_changed)(struct hftmon_session *s);
};

/* The family tables, one per file under kmod/probes/ (families.h). */
#define HFTMON_FAMILY(name) extern struct hftmon_family hftmon_family_##name;
#include "probes/families.h"
#undef HFTMON_FAMILY

/* All of them (hftmon_probes.c), and what is derived from them. */
extern struct hftmon_family *const hftmon_families[];
extern const unsigned int hftmon_nr_families;
int hftmon_families_check(struct hftmon_family *const *fams, unsigned int nr);
void hftmon_avail_derive(struct hftmon_family *const *fams, unsigned int nr,
			 struct hftmon_avail *a);

/*
 * The session the probes serve, or NULL. Written under hftmon_probes_lock
 * by start/stop (hftmon_probes.c); read by the probes with preemption off
 * (every tracepoint runs its probes so, PREEMPT_RT included), which makes
 * it RCU-sched: after clearing it, tracepoint_synchronize_unregister()
 * waits out every probe that may still use the old session.
 */
extern struct hftmon_session __rcu *hftmon_active;

/*
 * The running session if it records any of the events of the tracepoint
 * whose entry is data (every probe is hooked with its own entry as data),
 * or NULL: between sessions the whole cost of a probe is this one load.
 */
static __always_inline struct hftmon_session *hftmon_session_for(void *data)
{
	const struct hftmon_tracepoint *t = data;
	struct hftmon_session *s = rcu_dereference_sched(hftmon_active);

	if (likely(!s) || !(s->events & t->events))
		return NULL;
	return s;
}

/*
 * A record in the making. irqs_off says how the probe runs: true for
 * tracepoints that always fire with IRQs disabled (under the runqueue
 * lock or a task's pi_lock), which then skip saving and restoring them;
 * false for process-context tracepoints, where another probe may
 * interrupt between reserve and commit (the ring handles the nesting).
 * It is a constant at every call, so the branch compiles away.
 */
struct hftmon_rec {
	struct hftmon_session *s;
	const struct hftmon_proc *proc;	/* the subject's entry (rec_begin) */
	struct hftmon_ring *rb;
	bool irqs_off;
};

/* comm may change under us; a torn name is harmless, unterminated is not. */
static inline void hftmon_copy_comm(char *dst, const struct task_struct *t)
{
	memcpy(dst, t->comm, HFTMON_TASK_COMM_LEN);
	dst[HFTMON_TASK_COMM_LEN - 1] = '\0';
}

/*
 * Fill the identity of task t (pid = thread group id, tid, and comm when
 * comm is not NULL) into a record of session s: the one place the rule is
 * applied (uapi header, "Whom a record names"; README "Permissions").
 * tracked says whether t belongs to a process s tracks: known by most
 * probes from their own lookup; HFTMON_TRACKED_ASK when it is not (the
 * waker of a wake-up), looked up only for a session that needs to know.
 * A privileged session (opened with CAP_PERFMON or CAP_SYS_ADMIN) gets
 * the init-namespace numbers and the comm, at the cost of one branch
 * more than filling them directly. Any other session goes through
 * hftmon_ident_restricted() (hftmon_track.c): a tracked task by its
 * numbers in the opener's pid namespace, the idle task as itself (pid 0,
 * "swapper/N"), every other task blanked (0, 0, comm zeroed). Callers
 * run with preemption off (probes); nothing here sleeps or locks.
 */
static __always_inline void hftmon_ident(const struct hftmon_session *s,
					 struct task_struct *t,
					 enum hftmon_tracked tracked,
					 __s32 *pid, __s32 *tid, char *comm)
{
	if (likely(s->privileged)) {
		*pid = t->tgid;
		*tid = t->pid;
		if (comm)
			hftmon_copy_comm(comm, t);
		return;
	}
	hftmon_ident_restricted(s, t, tracked, pid, tid, comm);
}

/*
 * Reserve size bytes for a record of type on this CPU's ring, subject in
 * its header (tracked: see hftmon_ident()). NULL: the record is lost
 * (counted by the ring); otherwise fill it and hftmon_rec_commit().
 */
static __always_inline void *hftmon_rec_reserve_as(struct hftmon_rec *w,
						   struct hftmon_session *s,
						   struct task_struct *subject,
						   enum hftmon_tracked tracked,
						   u16 type, u32 size,
						   bool irqs_off)
{
	struct hftmon_rec_hdr *h;

	w->s = s;
	w->irqs_off = irqs_off;
	w->rb = s->rings[smp_processor_id()];
	h = irqs_off ? hftmon_ring_reserve_irqsoff(w->rb, type, size) :
		       hftmon_ring_reserve(w->rb, type, size);
	if (h)
		hftmon_ident(s, subject, tracked, &h->pid, &h->tid, NULL);
	return h;
}

/* The same for a subject that is tracked (most probes'). */
static __always_inline void *hftmon_rec_reserve(struct hftmon_rec *w,
						struct hftmon_session *s,
						struct task_struct *subject,
						u16 type, u32 size, bool irqs_off)
{
	return hftmon_rec_reserve_as(w, s, subject, HFTMON_TRACKED, type, size,
				     irqs_off);
}

static __always_inline void hftmon_rec_commit(struct hftmon_rec *w)
{
	if (w->irqs_off)
		hftmon_ring_commit_irqsoff(w->rb);
	else
		hftmon_ring_commit(w->rb);
}

/*
 * The whole sequence up to the fill, for a probe with one subject task:
 * a session recording this tracepoint, subject tracked, space reserved.
 * NULL for an untracked task (the common case) or a lost record.
 */
static __always_inline void *hftmon_rec_begin(struct hftmon_rec *w, void *data,
					      struct task_struct *subject,
					      u16 type, u32 size, bool irqs_off)
{
	struct hftmon_session *s = hftmon_session_for(data);

	if (!s)
		return NULL;
	w->proc = hftmon_track_find(&s->track, subject);
	if (likely(!w->proc))
		return NULL;
	return hftmon_rec_reserve(w, s, subject, type, size, irqs_off);
}

/* ---- the sched family's probes (probes/sched.c), for the KUnit suites -- */

struct linux_binprm;
void hftmon_detach_record(struct hftmon_session *s, struct task_struct *task,
			  u32 why);

void hftmon_tp_sched_switch(void *data, bool preempt, struct task_struct *prev,
			    struct task_struct *next, unsigned int prev_state);
void hftmon_tp_sched_wakeup(void *data, struct task_struct *p);
void hftmon_tp_sched_process_exit(void *data, struct task_struct *p);
void hftmon_tp_sched_process_exec(void *data, struct task_struct *p,
				  pid_t old_pid, struct linux_binprm *bprm);

/* ---- the irq family's probes (probes/irq.c), for the KUnit suites ---- */

struct irqaction;

void hftmon_tp_irq_handler_entry(void *data, int irq, struct irqaction *action);
void hftmon_tp_irq_handler_exit(void *data, int irq, struct irqaction *action,
				int ret);
void hftmon_tp_softirq_entry(void *data, unsigned int vec);
void hftmon_tp_softirq_exit(void *data, unsigned int vec);
void hftmon_tp_nmi_handler(void *data, void *handler, s64 delta_ns,
			   int handled);

/* ---- the numa family (probes/numa.c), for the KUnit suites ---------- */

u16 hftmon_numa_fault_flags(int tnf);

/* ---- the pmu family (probes/pmu.c) ------------------------------------ */

int hftmon_pmu_config_check(const struct hftmon_config *cfg);
void hftmon_pmu_config_probe(struct hftmon_config *cfg, bool privileged);
s32 hftmon_pmu_hw_probe(void);
int hftmon_pmu_config_allowed(const struct hftmon_config *cfg, bool privileged);

/* HFTMON_EV_RUNQ's needs (probes/sched.c): 0 or -EINVAL. */
int hftmon_runq_config_check(const struct hftmon_config *cfg);

#endif /* HFTMON_PROBE_H */
