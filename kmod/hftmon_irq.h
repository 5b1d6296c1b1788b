/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interruption sources' state (probes/irq.c): per CPU, whether its
 * interruptions are recorded (written by the sched_switch probe), and the
 * nesting stack whose arithmetic makes every duration net of what
 * interrupted it. Apart from hftmon_internal.h so that the ring, which
 * the unit tests compile for userspace, does not depend on per-CPU and
 * local64 machinery.
 */
#ifndef HFTMON_IRQ_H
#define HFTMON_IRQ_H

#include <linux/percpu.h>
#include <asm/local64.h>

#include "hftmon_internal.h"
#include "hftmon_spike.h"

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
	unsigned int switches;		/* hftmon_irq_here.switches then */
	unsigned int ready;
};

/* One CPU's state: allocated at START (irq.c), touched by that CPU only. */
struct hftmon_irq_cpu {
	unsigned int depth;
	struct hftmon_irq_frame f[HFTMON_IRQ_DEPTH];
	u64 raise[HFTMON_IRQ_SOFTIRQS];
	unsigned int raise_switches[HFTMON_IRQ_SOFTIRQS];
	struct hftmon_irq_nmi_slot nmi_slot;
	struct hftmon_spike_chain chain;	/* INTERRUPTED spikes */
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

#endif /* HFTMON_IRQ_H */
