// SPDX-License-Identifier: GPL-2.0
/*
 * The spike family: latency spikes of tracked threads (HFTMON_REC_SPIKE),
 * detected in the kernel when the disturbance ends, against the session's
 * threshold (hftmon_config.spike_threshold_ns, changed running by
 * HFTMON_IOC_SET_SPIKE_THRESHOLD). The detection itself lives where the
 * disturbances end: INTERRUPTED spikes in the interruption exit probes
 * (probes/irq.c), RUNNABLE ones in the switch probe (probes/sched.c);
 * this file has what they share (the chain rule, the record writer, the
 * checks and the ioctl) and its own tracepoint, power:cpu_idle, which
 * tells whether a woken thread's CPU was idle when the wake-up came, in
 * which state, and when it left it. That probe fires on every CPU in and
 * out of idle while a session with HFTMON_EV_SPIKE runs: one per-CPU
 * store, nothing else.
 *
 * Page-fault spikes (HFTMON_SPIKE_FAULT) need the fault's end, which no
 * tracepoint gives (x86's exceptions:page_fault_user/kernel mark the
 * entry only, and arm64 has none): a kretprobe on handle_mm_fault(), the
 * arch-independent core every user-address fault goes through (the
 * mmap_lock or per-VMA lock taken before it is outside: a fault that
 * waits for the lock is not seen as long). It is registered at the START
 * of the first session with HFTMON_EV_SPIKE and stays registered until
 * unload, as the tracepoints stay hooked: registering patches kernel text
 * and IPIs every CPU, isolated trading cores included, and a start or
 * stop should not (under multi-threaded TCG, patching the same call site
 * at every session is also the prime suspect of a guest's jump to 0 just
 * after handle_mm_fault()'s call, seen once on 6.1-rt). Until the first
 * such session the kernel's faults pay nothing. From then on every fault
 * of every task hits it (an ftrace-based kprobe on x86: the call site is
 * already there) and pays the entry handler: the session pointer, then,
 * while a spike session runs, the tracked process lookup every probe
 * does; it declines the return probe (nonzero), so an untracked task's
 * fault has no return hook at all. A
 * tracked task's fault stores its start time, CPU and address in the
 * instance and, at the return, writes a record when the fault lasted at
 * least the threshold. The fault's time includes any time the task slept
 * in it (I/O, userfaultfd, a page lock): the library's breakdown tells
 * that part from the switch records.
 *
 * Contexts (6.1 and 6.12, generic and PREEMPT_RT): cpu_idle fires in the
 * idle task with IRQs off, with RCU watching (before ct_idle_enter() /
 * ct_cpuidle_enter() and after the exit: default_idle_call() and
 * cpuidle_enter_state()); it is a plain tracepoint there, found by name
 * like every other. Its state is read by the switch probe of the same
 * CPU, also with IRQs off, so no ordering is needed.
 */
#include <linux/kprobes.h>
#include <linux/uaccess.h>
#include <trace/events/power.h>

#include "../hftmon_irq.h"
#include "../hftmon_probe.h"
#include "../hftmon_spike.h"

DEFINE_PER_CPU(struct hftmon_idle_here, hftmon_idle_here);

bool hftmon_spike_chain_end(struct hftmon_spike_chain *c, u64 start, u64 end,
			    unsigned int switches, u64 threshold, u16 *flags)
{
	/* A link that ended before the chain's last one (a late NMI): ignored. */
	if (c->links && end <= c->end)
		return false;
	if (c->links && c->switches == switches && start < c->end + HFTMON_SPIKE_CHAIN_NS) {
		c->links++;
		c->end = end;
	} else {
		c->start = start;
		c->end = end;
		c->switches = switches;
		c->links = 1;
		c->reported = false;
	}
	if (end - c->start < threshold)
		return false;
	*flags = c->reported ? HFTMON_SPIKE_EXTENDS : 0;
	c->reported = true;
	return true;
}

void hftmon_spike_write(struct hftmon_session *s, struct task_struct *victim,
			pid_t pid, pid_t tid, const struct hftmon_spike_info *i)
{
	bool late = !victim && tid != current->pid;
	struct hftmon_rec_spike *r;
	struct hftmon_rec w;

	/*
	 * An NMI's victim is known by its numbers only; if it is no longer
	 * current it is named as the NMI's own record names it.
	 */
	r = hftmon_rec_reserve_as(&w, s, victim ?: current,
				  late ? HFTMON_UNTRACKED : HFTMON_TRACKED,
				  HFTMON_REC_SPIKE, sizeof(*r), true);
	if (!r)
		return;
	if (late) {
		r->hdr.pid = s->privileged ? pid : 0;
		r->hdr.tid = s->privileged ? tid : 0;
	}
	r->hdr.time_ns = i->end_ns;
	r->hdr.flags = i->flags;
	r->start_ns = i->start_ns;
	r->threshold_ns = i->threshold_ns;
	r->type = i->type;
	r->idle_state = i->idle_state;
	r->idle_exit_ns = i->idle_exit_ns;
	r->links = i->links;
	r->from_cpu = i->from_cpu;
	r->addr = i->addr;
	hftmon_ring_kick(w.rb);
	hftmon_rec_commit(&w);
}

int hftmon_spike_config_check(const struct hftmon_config *cfg)
{
	const u64 needs = HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP;

	if (!(cfg->events & HFTMON_EV_SPIKE))
		return cfg->spike_threshold_ns ? -EINVAL : 0;
	if ((cfg->events & needs) != needs ||
	    cfg->spike_threshold_ns < HFTMON_SPIKE_THRESHOLD_MIN_NS ||
	    cfg->spike_threshold_ns > HFTMON_SPIKE_THRESHOLD_MAX_NS)
		return -EINVAL;
	return 0;
}

/*
 * The threshold, configured or running. The probes read it once per
 * disturbance that ends; the barrier makes the new one what every CPU
 * reads for a disturbance that ends after this returns.
 */
long hftmon_spike_ioc_set_threshold(struct hftmon_session *s,
				    const u64 __user *uarg)
{
	long err = 0;
	u64 thr;

	if (get_user(thr, uarg))
		return -EFAULT;
	mutex_lock(&s->lock);
	if (!s->configured || !(s->cfg.events & HFTMON_EV_SPIKE))
		err = -EOPNOTSUPP;
	else if (thr < HFTMON_SPIKE_THRESHOLD_MIN_NS ||
		 thr > HFTMON_SPIKE_THRESHOLD_MAX_NS)
		err = -EINVAL;
	else
		WRITE_ONCE(s->cfg.spike_threshold_ns, thr);
	mutex_unlock(&s->lock);
	/* The new threshold before anything the caller does next. */
	smp_mb();
	return err;
}

/* Idle entry (state) or exit (PWR_EVENT_EXIT), on cpu_id = this CPU. */
static void hftmon_tp_cpu_idle(void *data, unsigned int state,
			       unsigned int cpu_id)
{
	struct hftmon_idle_here *ih;

	if (!hftmon_session_for(data))
		return;
	ih = this_cpu_ptr(&hftmon_idle_here);
	if (state == PWR_EVENT_EXIT) {
		ih->exit_ns = ktime_get_mono_fast_ns();
		return;
	}
	ih->state = state;
	ih->enter_switches = __this_cpu_read(hftmon_irq_here.switches);
	ih->enter_ns = ktime_get_mono_fast_ns();
}

bool hftmon_fault_spike_due(u64 start, u64 end, u64 threshold, u64 addr,
			    u32 from_cpu, struct hftmon_spike_info *i)
{
	if (!threshold || end < start || end - start < threshold)
		return false;
	*i = (struct hftmon_spike_info){
		.start_ns = start,
		.end_ns = end,
		.threshold_ns = threshold,
		.type = HFTMON_SPIKE_FAULT,
		.from_cpu = from_cpu,
		.idle_state = -1,
		.addr = addr,
	};
	return true;
}

#ifdef CONFIG_KRETPROBES
/* One fault in progress of a tracked task: the kretprobe instance's data. */
struct hftmon_fault_here {
	u64 start_ns, addr;
	u32 cpu;
};

/*
 * handle_mm_fault(vma, address, flags, regs) entered; preemption is off
 * (kprobe handlers run so), which makes the session pointer RCU-sched as
 * in every probe. 0 arms the return probe, nonzero declines it.
 */
static int hftmon_fault_entry(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	struct hftmon_session *s = rcu_dereference_sched(hftmon_active);
	struct hftmon_fault_here *f = (void *)ri->data;

	if (likely(!s) || !hftmon_spike_threshold(s) ||
	    likely(!hftmon_track_find(&s->track, current)))
		return 1;
	f->start_ns = ktime_get_mono_fast_ns();
	f->addr = regs_get_kernel_argument(regs, 1);
	f->cpu = raw_smp_processor_id();
	return 0;
}

/*
 * handle_mm_fault() returned in the task that entered it (maybe on another
 * CPU, after sleeping in it); the session is looked up again: it may have
 * stopped meanwhile, and another may have started. A fault that began
 * before this session's START is not its own (no record). The record is
 * written with IRQs off, as every other spike record (the ring's kick).
 */
static int hftmon_fault_return(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct hftmon_session *s = rcu_dereference_sched(hftmon_active);
	const struct hftmon_fault_here *f = (void *)ri->data;
	struct hftmon_spike_info i;
	unsigned long flags;

	if (!s || f->start_ns < s->start_ns ||
	    !hftmon_fault_spike_due(f->start_ns, ktime_get_mono_fast_ns(),
					  hftmon_spike_threshold(s), f->addr,
					  f->cpu, &i))
		return 0;
	local_irq_save(flags);
	hftmon_spike_write(s, current, 0, 0, &i);
	local_irq_restore(flags);
	return 0;
}

static struct kretprobe hftmon_fault_krp;
static bool hftmon_fault_registered;

/* Once per load (hftmon_probes_lock held, as every family start). */
static int hftmon_fault_register(void)
{
	int err;

	if (hftmon_fault_registered)
		return 0;
	hftmon_fault_krp.kp.symbol_name = "handle_mm_fault";
	hftmon_fault_krp.entry_handler = hftmon_fault_entry;
	hftmon_fault_krp.handler = hftmon_fault_return;
	hftmon_fault_krp.data_size = sizeof(struct hftmon_fault_here);
	/*
	 * Instances in flight: an untracked fault holds one only inside the
	 * entry handler; a tracked one for the whole fault (it may sleep).
	 * One lacking is a missed spike (nmissed), never a stall.
	 */
	hftmon_fault_krp.maxactive = max_t(int, 64, 4 * num_possible_cpus());
	err = register_kretprobe(&hftmon_fault_krp);
	if (err) {
		/* It may be tried again: a failed register leaves state behind. */
		memset(&hftmon_fault_krp, 0, sizeof(hftmon_fault_krp));
		return err;
	}
	hftmon_fault_registered = true;
	return 0;
}

/* Module exit: no session runs, the probe goes. */
static void hftmon_fault_unregister(void)
{
	if (!hftmon_fault_registered)
		return;
	unregister_kretprobe(&hftmon_fault_krp);
	if (hftmon_fault_krp.nmissed)
		pr_info("hftmon: %d page faults not timed (kretprobe instances in use)\n",
			hftmon_fault_krp.nmissed);
	hftmon_fault_registered = false;
}
#endif

/*
 * No probe runs a session now: every CPU's idle state is unknown. The
 * first session detecting spikes hooks handle_mm_fault() (see the top);
 * failing that fails START, with the kprobe's errno.
 */
static int hftmon_spike_start(struct hftmon_session *s)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		memset(per_cpu_ptr(&hftmon_idle_here, cpu), 0,
		       sizeof(struct hftmon_idle_here));
#ifdef CONFIG_KRETPROBES
	if (s->events & HFTMON_EV_SPIKE) {
		int err = hftmon_fault_register();

		if (err) {
			pr_warn("hftmon: page-fault spikes: cannot probe handle_mm_fault (%d)\n",
				err);
			return err;
		}
	}
#endif
	return 0;
}

/* Unload: the fault probe, which outlives the sessions, goes. */
static void hftmon_spike_exit(void)
{
#ifdef CONFIG_KRETPROBES
	hftmon_fault_unregister();
#endif
}

enum {
	SPIKE_TP_CPU_IDLE,
	SPIKE_TP_NR,
};

static struct hftmon_tracepoint hftmon_spike_tps[SPIKE_TP_NR] = {
	[SPIKE_TP_CPU_IDLE] = HFTMON_TRACEPOINT(cpu_idle, hftmon_tp_cpu_idle),
};

/*
 * HFTMON_EV_SPIKE also needs the switch and wake-up probes (the config
 * check makes a session select them) and, for INTERRUPTED spikes, the
 * interruption sources the session selects.
 */
static const struct hftmon_source_desc hftmon_spike_sources[] = {
	{ HFTMON_SRC_SPIKE, HFTMON_EV_SPIKE, HFTMON_FEAT_SPIKE,
	  BIT(SPIKE_TP_CPU_IDLE) },
#ifdef CONFIG_KRETPROBES
	/* Selected with HFTMON_EV_SPIKE; no tracepoint: a kretprobe. */
	{ HFTMON_SRC_SPIKE_FAULT, 0, HFTMON_FEAT_SPIKE_FAULT, 0 },
#endif
};

struct hftmon_family hftmon_family_spike = {
	.name = "spike",
	.tps = hftmon_spike_tps,
	.nr_tps = ARRAY_SIZE(hftmon_spike_tps),
	.sources = hftmon_spike_sources,
	.nr_sources = ARRAY_SIZE(hftmon_spike_sources),
	.start = hftmon_spike_start,
	.exit = hftmon_spike_exit,
};
