/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Latency spikes (HFTMON_REC_SPIKE), detected where a disturbance of a
 * tracked thread ends: INTERRUPTED ones at the exit of an interruption
 * (probes/irq.c), RUNNABLE ones at the switch-in of a thread that was
 * runnable but not running (probes/sched.c), FAULT ones at the return of
 * handle_mm_fault() (probes/spike.c, a kretprobe). What both share is here:
 * the threshold, the chain rule, the record writer, and the per-CPU idle
 * state that the spike family's cpu_idle probe keeps (probes/spike.c).
 */
#ifndef HFTMON_SPIKE_H
#define HFTMON_SPIKE_H

#include <linux/percpu.h>

#include "hftmon_internal.h"

struct hftmon_rec;

/*
 * The threshold in force, 0 when the session detects no spikes: probes
 * read it once per decision (SET_SPIKE_THRESHOLD writes it running).
 */
static __always_inline u64 hftmon_spike_threshold(const struct hftmon_session *s)
{
	if (!(s->events & HFTMON_EV_SPIKE))
		return 0;
	return READ_ONCE(s->cfg.spike_threshold_ns);
}

/*
 * One CPU's chain of depth-0 interruptions of the tracked thread current
 * there (in struct hftmon_irq_cpu, reset at START). links == 0: none.
 */
struct hftmon_spike_chain {
	u64 start, end;			/* first start, last end */
	unsigned int switches;		/* hftmon_irq_here.switches then */
	u32 links;
	bool reported;			/* a record was written for it */
};

/*
 * A depth-0 interruption [start, end] ended, switches counted then: chain
 * it (or begin a new chain) and say whether a spike record is due
 * (true; *flags 0 or HFTMON_SPIKE_EXTENDS). Pure: KUnit drives it.
 */
bool hftmon_spike_chain_end(struct hftmon_spike_chain *c, u64 start, u64 end,
			    unsigned int switches, u64 threshold, u16 *flags);

/*
 * Per CPU, from the cpu_idle probe: the state last entered (-1 while out
 * of idle), when, the switch count then (hftmon_irq_here.switches), and
 * when it last left idle. Written and read on that CPU only, with IRQs
 * off (the idle loop and the switch probe).
 */
struct hftmon_idle_here {
	s32 state;
	unsigned int enter_switches;
	u64 enter_ns, exit_ns;
};
DECLARE_PER_CPU(struct hftmon_idle_here, hftmon_idle_here);

/* What a spike record says beyond its header. */
struct hftmon_spike_info {
	u64 start_ns, end_ns, threshold_ns, idle_exit_ns;
	u64 addr;			/* FAULT: the faulting address */
	u32 type, links, from_cpu;
	s32 idle_state;
	u16 flags;
};

/*
 * Write the spike record of victim (a tracked task) into this CPU's ring
 * and make its poll() waiters wake at once (IRQs off; the wake-up goes
 * through the ring's irq_work, never from here). tid/pid: the victim's
 * numbers when it is not a task that can be named now (an NMI's victim,
 * see probes/irq.c): victim NULL then.
 */
void hftmon_spike_write(struct hftmon_session *s, struct task_struct *victim,
			pid_t pid, pid_t tid, const struct hftmon_spike_info *i);

int hftmon_spike_config_check(const struct hftmon_config *cfg);

/*
 * A page fault of a tracked thread that began at start on from_cpu ended
 * at end: whether it is a spike (at least threshold, 0: none detected),
 * and its record's fields in *i. Pure: KUnit drives it.
 */
bool hftmon_fault_spike_due(u64 start, u64 end, u64 threshold, u64 addr,
			    u32 from_cpu, struct hftmon_spike_info *i);
long hftmon_spike_ioc_set_threshold(struct hftmon_session *s,
				    const u64 __user *uarg);

#endif /* HFTMON_SPIKE_H */
