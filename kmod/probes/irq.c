// SPDX-License-Identifier: GPL-2.0
/*
 * The interruption family: device IRQ handlers (irq_handler_entry/exit),
 * x86 system vectors (the irq_vectors *_entry/exit tracepoints: local
 * timer, IPIs, irq_work, APIC errors, thermal...), softirqs per vector
 * (softirq_raise/entry/exit) and NMI handlers (nmi_handler, which reports
 * its own duration). One HFTMON_REC_IRQ or HFTMON_REC_SOFTIRQ record per
 * interruption, at its end, with its gross and net time, and per-CPU
 * counters (count, net ns per number) read by HFTMON_IOC_GET_IRQ_STATS.
 *
 * Only CPUs where a tracked task is current (the switch probe keeps
 * hftmon_irq_here.tracked) or that the session names (cfg.irq_cpus)
 * record anything; elsewhere every probe returns after one per-CPU read.
 *
 * Net of nesting, the way osnoise does it (kernel/trace/trace_osnoise.c
 * moves the interrupted context's start by the nested one's duration):
 * each CPU keeps a stack of the interruptions in progress; when one ends,
 * its gross time is added to the one it interrupted, whose net is gross
 * minus that sum. An NMI only ever ends something (nmi_handler fires
 * after the handler with its duration): it adds to the top frame with a
 * local64 add, which an NMI arriving in the middle of another probe's
 * update cannot tear. The other probes change the stack with IRQs off
 * (softirq probes run with IRQs on), publishing depth after the frame.
 * The ring is not NMI-safe, so an NMI's record is left in a per-CPU slot
 * and written by the next probe on that CPU.
 *
 * INTERRUPTED spikes (hftmon_spike.h): when an interruption at depth 0
 * of a tracked thread ends, its exit probe chains it with the ones
 * before it (HFTMON_SPIKE_CHAIN_NS, no switch between: the switch count
 * of hftmon_irq_here) and writes the spike record at once when the
 * chain's span reaches the threshold, after the interruption's own
 * record. An NMI at depth 0 joins the chain when its deferred record is
 * written, with the times and switch count it had, and a spike it
 * completes is written then, naming its victim as its record does; an
 * NMI deferred past a later interruption's end (one that hit between the
 * entry probe's flush and its push) is too late for the chain and is
 * left out of it.
 *
 * What the tracepoints mean on PREEMPT_RT: irq_handler_entry/exit cover
 * the hard-IRQ part only; a threaded handler (every handler without
 * IRQF_NO_THREAD there) runs in its irq/N-name thread, which shows as a
 * context switch, not as an IRQ. System vectors and NMIs are hard IRQs on
 * both. softirq_entry/exit still fire, but in the thread that runs the
 * softirq (ksoftirqd/N, ktimers/N on 6.12, or the task that re-enabled
 * bottom halves), with preemption possible inside: a softirq preempted by
 * a higher-priority task includes that task's time in its net time (the
 * switch records show it). Softirqs never run on hard-IRQ exit there.
 */
#include <linux/bitmap.h>
#include <linux/interrupt.h>
#include <linux/irqnr.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <trace/events/irq.h>
#include <trace/events/nmi.h>
#ifdef CONFIG_X86_LOCAL_APIC
#include <asm/trace/irq_vectors.h>
#endif

#include "../hftmon_irq.h"
#include "../hftmon_probe.h"

DEFINE_PER_CPU(struct hftmon_irq_here, hftmon_irq_here);

/*
 * The state of the session that last started with these events: one
 * struct per possible CPU, allocated at START, kept after STOP for the
 * counters, reused (or reallocated when nr_irqs grew) by the next START,
 * freed at unload. Changed only while no probe runs a session
 * (hftmon_probes_lock held, hftmon_active NULL), under hftmon_irq_lock.
 */
static DEFINE_MUTEX(hftmon_irq_lock);	/* after hftmon_probes_lock */
static struct hftmon_irq_cpu **hftmon_irq_cpus;
static unsigned int hftmon_irq_nr;	/* irq[] entries of each CPU */
static const struct hftmon_session *hftmon_irq_owner;
static u64 hftmon_irq_owner_start;
/* IRQ numbers whose name was sent this session. */
static DECLARE_BITMAP(hftmon_irq_named, HFTMON_IRQ_NUMS_MAX);

/* ---- accounting (pure) ------------------------------------------------ */

/* Push an interruption; false when the stack is full (its exit is dropped). */
bool hftmon_irq_enter(struct hftmon_irq_cpu *c, u32 kind, u32 nr, u64 raise,
		      u64 now)
{
	unsigned int d = c->depth;
	struct hftmon_irq_frame *f;

	if (unlikely(d >= HFTMON_IRQ_DEPTH)) {
		c->too_deep++;
		return false;
	}
	f = &c->f[d];
	f->start = now;
	f->kind = kind;
	f->nr = nr;
	f->raise = raise;
	local64_set(&f->nested, 0);
	/* The frame is whole before an NMI can see it on top. */
	barrier();
	WRITE_ONCE(c->depth, d + 1);
	return true;
}

static struct hftmon_irq_count *hftmon_irq_counter(struct hftmon_irq_cpu *c,
						   u32 kind, u32 nr)
{
	switch (kind) {
	case HFTMON_IRQ_KIND_DEVICE:
		return nr < c->nr_irqs ? &c->irq[nr] : &c->other;
	case HFTMON_IRQ_KIND_VECTOR:
		return nr < HFTMON_IRQ_VECTORS ? &c->vec[nr] : &c->other;
	case HFTMON_IRQ_KIND_SOFTIRQ:
		return nr < HFTMON_IRQ_SOFTIRQS ? &c->softirq[nr] : &c->other;
	default:
		return &c->nmi;
	}
}

/*
 * Pop the interruption kind/nr ending at now and fill d. Frames above it
 * (entries whose exit was never seen) are dropped; an exit whose entry
 * was not seen (it began before START, or too deep) returns false.
 */
bool hftmon_irq_leave(struct hftmon_irq_cpu *c, u32 kind, u32 nr, u64 now,
		      struct hftmon_irq_done *d)
{
	struct hftmon_irq_count *cnt;
	struct hftmon_irq_frame *f;
	unsigned int i = c->depth;
	u64 nested;

	while (i > 0 && (c->f[i - 1].kind != kind || c->f[i - 1].nr != nr))
		i--;
	if (!i) {
		c->unmatched++;
		return false;
	}
	f = &c->f[i - 1];
	WRITE_ONCE(c->depth, i - 1);
	barrier();
	/* From here an NMI adds to the interrupted frame, not to f. */
	nested = local64_read(&f->nested);
	d->kind = kind;
	d->nr = nr;
	d->depth = i - 1;
	d->start = f->start;
	d->end = now;
	d->raise = f->raise;
	d->gross = now > f->start ? now - f->start : 0;
	d->net = d->gross > nested ? d->gross - nested : 0;
	if (i > 1)
		local64_add(d->gross, &c->f[i - 2].nested);
	cnt = hftmon_irq_counter(c, kind, nr);
	cnt->count++;
	cnt->net_ns += d->net;
	return true;
}

/* An NMI handler that ran for delta ns and ended at now (NMI context). */
void hftmon_irq_nmi(struct hftmon_irq_cpu *c, u64 delta, u64 now,
		    struct hftmon_irq_done *d)
{
	unsigned int depth = READ_ONCE(c->depth);

	d->kind = HFTMON_IRQ_KIND_NMI;
	d->nr = 0;
	d->depth = depth;
	d->start = now > delta ? now - delta : 0;
	d->end = now;
	d->raise = 0;
	d->gross = delta;
	d->net = delta;
	if (depth)
		local64_add(delta, &c->f[depth - 1].nested);
	c->nmi.count++;
	c->nmi.net_ns += delta;
}

/* ---- probes ------------------------------------------------------------- */

/*
 * This CPU's state if it records now, and the session; tracked says
 * whether current is a tracked task. The common case, a CPU that records
 * nothing, is the first test.
 */
static __always_inline struct hftmon_irq_cpu *
hftmon_irq_here_cpu(void *data, struct hftmon_session **sp, bool *tracked)
{
	struct hftmon_irq_here *h = this_cpu_ptr(&hftmon_irq_here);
	struct task_struct *t = READ_ONCE(h->tracked);
	struct hftmon_irq_cpu **cpus;

	if (likely(!t && !READ_ONCE(h->system)))
		return NULL;
	*tracked = t == current;
	if (!*tracked && !READ_ONCE(h->system))
		return NULL;
	*sp = hftmon_session_for(data);
	if (!*sp)
		return NULL;
	/* Set before the session was published (hftmon_irq_start()). */
	smp_rmb();
	cpus = READ_ONCE(hftmon_irq_cpus);
	return cpus ? cpus[smp_processor_id()] : NULL;
}

static void hftmon_irq_write(struct hftmon_session *s,
			     const struct hftmon_irq_done *d, bool tracked,
			     pid_t pid, pid_t tid, s32 ret, const char *name)
{
	u32 size = sizeof(struct hftmon_rec_irq) + (name ? HFTMON_IRQ_NAME_LEN : 0);
	struct hftmon_rec_irq *r;
	struct hftmon_rec w;

	r = hftmon_rec_reserve(&w, s, current,
			       d->kind == HFTMON_IRQ_KIND_SOFTIRQ ?
			       HFTMON_REC_SOFTIRQ : HFTMON_REC_IRQ, size, true);
	if (!r)
		return;
	r->hdr.time_ns = d->end;
	/*
	 * The reserve named current as the session may see it (see
	 * hftmon_ident()). An untracked task is not named at all; an NMI's
	 * record, written later, names the task the NMI interrupted, which
	 * may no longer be current: its raw numbers only for a privileged
	 * session.
	 */
	if (!tracked) {
		r->hdr.pid = 0;
		r->hdr.tid = 0;
	} else if (tid != current->pid) {
		r->hdr.pid = s->privileged ? pid : 0;
		r->hdr.tid = s->privileged ? tid : 0;
	}
	r->hdr.flags = (tracked ? HFTMON_IRQ_TRACKED : 0) |
		       (name ? HFTMON_IRQ_NAMED : 0);
	r->start_ns = d->start;
	r->net_ns = d->net;
	r->gross_ns = d->gross;
	r->raise_ns = d->raise;
	r->kind = d->kind;
	r->nr = d->nr;
	r->depth = d->depth;
	r->ret = ret;
	if (name)
		strscpy_pad((char *)(r + 1), name, HFTMON_IRQ_NAME_LEN);
	hftmon_rec_commit(&w);
}

/*
 * A depth-0 interruption d of a tracked thread ended (IRQs off): chain
 * it, and write the spike it completes. victim: current, or NULL for an
 * NMI's (then pid, tid).
 */
static void hftmon_irq_spike(struct hftmon_session *s, struct hftmon_irq_cpu *c,
			     const struct hftmon_irq_done *d,
			     struct task_struct *victim, pid_t pid, pid_t tid,
			     unsigned int switches)
{
	u64 thr = hftmon_spike_threshold(s);
	struct hftmon_spike_info i;
	u16 flags;

	if (!thr || !hftmon_spike_chain_end(&c->chain, d->start, d->end,
					    switches, thr, &flags))
		return;
	i = (struct hftmon_spike_info){
		.start_ns = c->chain.start,
		.end_ns = d->end,
		.threshold_ns = thr,
		.type = HFTMON_SPIKE_INTERRUPTED,
		.links = c->chain.links,
		.from_cpu = smp_processor_id(),
		.idle_state = -1,
		.flags = flags,
	};
	hftmon_spike_write(s, victim, pid, tid, &i);
}

/* An NMI's record left in the slot, written now (IRQs off). */
static void hftmon_irq_flush_nmi(struct hftmon_session *s,
				 struct hftmon_irq_cpu *c)
{
	struct hftmon_irq_nmi_slot *n = &c->nmi_slot;

	if (likely(!READ_ONCE(n->ready)))
		return;
	hftmon_irq_write(s, &n->d, n->tracked, n->pid, n->tid, n->handled,
			 NULL);
	if (n->tracked && !n->d.depth)
		hftmon_irq_spike(s, c, &n->d, NULL, n->pid, n->tid, n->switches);
	barrier();
	WRITE_ONCE(n->ready, 0);
}

static __always_inline void hftmon_irq_entry(void *data, u32 kind, u32 nr)
{
	struct hftmon_session *s;
	struct hftmon_irq_cpu *c;
	unsigned long flags;
	bool tracked;
	u64 raise = 0;

	c = hftmon_irq_here_cpu(data, &s, &tracked);
	if (!c)
		return;
	local_irq_save(flags);
	hftmon_irq_flush_nmi(s, c);
	if (kind == HFTMON_IRQ_KIND_SOFTIRQ && nr < HFTMON_IRQ_SOFTIRQS) {
		/* A stamp from an earlier stretch may hide unseen runs. */
		if (c->raise[nr] &&
		    (READ_ONCE(this_cpu_ptr(&hftmon_irq_here)->system) ||
		     c->raise_switches[nr] ==
		     __this_cpu_read(hftmon_irq_here.switches)))
			raise = c->raise[nr];
		c->raise[nr] = 0;
	}
	hftmon_irq_enter(c, kind, nr, raise, ktime_get_mono_fast_ns());
	local_irq_restore(flags);
}

static __always_inline void hftmon_irq_exit(void *data, u32 kind, u32 nr,
					    s32 ret,
					    const struct irqaction *action)
{
	const char *name = NULL;
	struct hftmon_irq_done d;
	struct hftmon_session *s;
	struct hftmon_irq_cpu *c;
	unsigned long flags;
	bool tracked;

	c = hftmon_irq_here_cpu(data, &s, &tracked);
	if (!c)
		return;
	local_irq_save(flags);
	if (hftmon_irq_leave(c, kind, nr, ktime_get_mono_fast_ns(), &d)) {
		/* The name once per IRQ number and session. */
		if (action && nr < HFTMON_IRQ_NUMS_MAX &&
		    !test_bit(nr, hftmon_irq_named) &&
		    !test_and_set_bit(nr, hftmon_irq_named))
			name = action->name ? action->name : "";
		hftmon_irq_write(s, &d, tracked, current->tgid, current->pid,
				 ret, name);
		if (tracked && !d.depth)
			hftmon_irq_spike(s, c, &d, current, 0, 0,
					 __this_cpu_read(hftmon_irq_here.switches));
	}
	hftmon_irq_flush_nmi(s, c);
	local_irq_restore(flags);
}

void hftmon_tp_irq_handler_entry(void *data, int irq, struct irqaction *action)
{
	hftmon_irq_entry(data, HFTMON_IRQ_KIND_DEVICE, irq);
}

void hftmon_tp_irq_handler_exit(void *data, int irq, struct irqaction *action,
				int ret)
{
	hftmon_irq_exit(data, HFTMON_IRQ_KIND_DEVICE, irq, ret, action);
}

void hftmon_tp_softirq_entry(void *data, unsigned int vec)
{
	hftmon_irq_entry(data, HFTMON_IRQ_KIND_SOFTIRQ, vec);
}

void hftmon_tp_softirq_exit(void *data, unsigned int vec)
{
	hftmon_irq_exit(data, HFTMON_IRQ_KIND_SOFTIRQ, vec, 0, NULL);
}

/*
 * The first raise since the vector last ran: the tracepoint fires before
 * the pending bit is set, so a raise that finds it clear is the first.
 */
static void hftmon_tp_softirq_raise(void *data, unsigned int vec)
{
	struct hftmon_session *s;
	struct hftmon_irq_cpu *c;
	unsigned long flags;
	bool tracked;

	c = hftmon_irq_here_cpu(data, &s, &tracked);
	if (!c || vec >= HFTMON_IRQ_SOFTIRQS)
		return;
	local_irq_save(flags);
	if (!(local_softirq_pending() & BIT(vec))) {
		c->raise[vec] = ktime_get_mono_fast_ns();
		c->raise_switches[vec] = __this_cpu_read(hftmon_irq_here.switches);
	}
	local_irq_restore(flags);
}

void hftmon_tp_nmi_handler(void *data, void *handler, s64 delta_ns,
			   int handled)
{
	struct hftmon_irq_nmi_slot *n;
	struct hftmon_session *s;
	struct hftmon_irq_cpu *c;
	bool tracked;

	c = hftmon_irq_here_cpu(data, &s, &tracked);
	if (!c)
		return;
	n = &c->nmi_slot;
	if (READ_ONCE(n->ready)) {
		/* The last one's record is not written yet: count only. */
		struct hftmon_irq_done d;

		hftmon_irq_nmi(c, delta_ns > 0 ? delta_ns : 0,
			       ktime_get_mono_fast_ns(), &d);
		c->nmi_unrecorded++;
		return;
	}
	hftmon_irq_nmi(c, delta_ns > 0 ? delta_ns : 0, ktime_get_mono_fast_ns(),
		       &n->d);
	n->handled = handled;
	n->tracked = tracked;
	n->pid = current->tgid;
	n->tid = current->pid;
	n->switches = __this_cpu_read(hftmon_irq_here.switches);
	barrier();
	WRITE_ONCE(n->ready, 1);
}

#ifdef CONFIG_X86_LOCAL_APIC
static void hftmon_tp_vector_entry(void *data, int vector)
{
	hftmon_irq_entry(data, HFTMON_IRQ_KIND_VECTOR, vector);
}

static void hftmon_tp_vector_exit(void *data, int vector)
{
	hftmon_irq_exit(data, HFTMON_IRQ_KIND_VECTOR, vector, 0, NULL);
}
#endif

/* ---- session state ------------------------------------------------------ */

int hftmon_irq_cpus_check(const struct hftmon_config *cfg)
{
	unsigned int i;

	for (i = nr_cpu_ids; i < HFTMON_IRQ_CPUS_MAX; i++)
		if (cfg->irq_cpus[i / 64] & BIT_ULL(i % 64))
			return -EINVAL;
	return 0;
}

static void hftmon_irq_free(void)
{
	unsigned int cpu;

	if (!hftmon_irq_cpus)
		return;
	for_each_possible_cpu(cpu)
		kvfree(hftmon_irq_cpus[cpu]);
	kfree(hftmon_irq_cpus);
	hftmon_irq_cpus = NULL;
}

static int hftmon_irq_alloc(unsigned int nr)
{
	struct hftmon_irq_cpu **cpus;
	unsigned int cpu;

	cpus = kcalloc(nr_cpu_ids, sizeof(*cpus), GFP_KERNEL);
	if (!cpus)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		cpus[cpu] = kvzalloc_node(struct_size(cpus[cpu], irq, nr),
					  GFP_KERNEL, cpu_to_node(cpu));
		if (!cpus[cpu])
			goto err;
	}
	hftmon_irq_cpus = cpus;
	hftmon_irq_nr = nr;
	return 0;
err:
	for_each_possible_cpu(cpu)
		kvfree(cpus[cpu]);
	kfree(cpus);
	return -ENOMEM;
}

static void hftmon_irq_here_clear(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		per_cpu(hftmon_irq_here, cpu).tracked = NULL;
		per_cpu(hftmon_irq_here, cpu).system = 0;
	}
}

/* No probe runs a session now: the state is ours to reset. */
static int hftmon_irq_start(struct hftmon_session *s)
{
	unsigned int nr = min_t(unsigned int, nr_irqs, HFTMON_IRQ_NUMS_MAX);
	unsigned int cpu;
	int err = 0;

	mutex_lock(&hftmon_irq_lock);
	hftmon_irq_owner = NULL;
	hftmon_irq_here_clear();
	if (!(s->events & HFTMON_EV_IRQ_ALL))
		goto out;
	if (hftmon_irq_cpus && hftmon_irq_nr != nr)
		hftmon_irq_free();
	if (!hftmon_irq_cpus) {
		err = hftmon_irq_alloc(nr);
		if (err)
			goto out;
	} else {
		for_each_possible_cpu(cpu)
			memset(hftmon_irq_cpus[cpu], 0,
			       struct_size(hftmon_irq_cpus[cpu], irq, nr));
	}
	for_each_possible_cpu(cpu) {
		hftmon_irq_cpus[cpu]->nr_irqs = nr;
		if (cpu < HFTMON_IRQ_CPUS_MAX &&
		    s->cfg.irq_cpus[cpu / 64] & BIT_ULL(cpu % 64))
			per_cpu(hftmon_irq_here, cpu).system = 1;
	}
	bitmap_zero(hftmon_irq_named, HFTMON_IRQ_NUMS_MAX);
	hftmon_irq_owner = s;
	hftmon_irq_owner_start = s->start_ns;
	/* hftmon_active is published after this (see hftmon_irq_here_cpu()). */
	smp_wmb();
out:
	mutex_unlock(&hftmon_irq_lock);
	return err;
}

/* This CPU's mark, as the switch probe would set it for current now. */
static void hftmon_irq_remark_here(void *arg)
{
	struct hftmon_session *s = arg;
	struct task_struct *t = current;
	bool tracked = !is_idle_task(t) && hftmon_track_find(&s->track, t);

	WRITE_ONCE(this_cpu_ptr(&hftmon_irq_here)->tracked, tracked ? t : NULL);
}

/*
 * The switch probe marks a CPU when a tracked task is switched in; a task
 * that was already running when it became tracked (every thread running
 * at START; a process attached while the session runs) would otherwise
 * have its interruptions missed until its next switch, which a thread
 * busy-polling alone on a nohz_full CPU may never make. The IPI runs on
 * each CPU with IRQs off, so it is ordered with that CPU's switches: a
 * switch before it is overwritten by the same answer, one after it
 * writes its own.
 */
static void hftmon_irq_remark(struct hftmon_session *s)
{
	if (s->events & HFTMON_EV_IRQ_ALL)
		on_each_cpu(hftmon_irq_remark_here, s, 1);
}

/* No probe uses s any more: every CPU back to the one-load check. */
static void hftmon_irq_stop(struct hftmon_session *s)
{
	mutex_lock(&hftmon_irq_lock);
	hftmon_irq_here_clear();
	mutex_unlock(&hftmon_irq_lock);
}

static void hftmon_irq_exit_module(void)
{
	mutex_lock(&hftmon_irq_lock);
	hftmon_irq_free();
	hftmon_irq_owner = NULL;
	mutex_unlock(&hftmon_irq_lock);
}

long hftmon_irq_ioc_stats(struct hftmon_session *s, void __user *uarg)
{
	struct hftmon_irq_count *out = NULL;
	struct hftmon_irq_stats st;
	struct hftmon_irq_cpu *c;
	unsigned int n = 0, max = 0;
	u32 usize;
	int err;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < sizeof(st) || usize > PAGE_SIZE)
		return -EINVAL;
	err = copy_struct_from_user(&st, sizeof(st), uarg, usize);
	if (err)
		return err;
	if (st.reserved0 || memchr_inv(st.reserved, 0, sizeof(st.reserved)) ||
	    !st.kind || st.kind >= HFTMON_IRQ_KIND_NR ||
	    st.cpu >= nr_cpu_ids || !cpu_possible(st.cpu))
		return -EINVAL;
	switch (st.kind) {
	case HFTMON_IRQ_KIND_DEVICE:
		max = HFTMON_IRQ_NUMS_MAX;
		break;
	case HFTMON_IRQ_KIND_VECTOR:
		max = HFTMON_IRQ_VECTORS;
		break;
	case HFTMON_IRQ_KIND_SOFTIRQ:
		max = NR_SOFTIRQS;
		break;
	default:
		max = 1;
	}
	out = kcalloc(max, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	mutex_lock(&hftmon_irq_lock);
	err = -ENODATA;
	if (hftmon_irq_owner != s || hftmon_irq_owner_start != s->start_ns ||
	    !hftmon_irq_cpus)
		goto unlock;
	c = hftmon_irq_cpus[st.cpu];
	memset(&st.other, 0, sizeof(st.other));
	switch (st.kind) {
	case HFTMON_IRQ_KIND_DEVICE:
		max = c->nr_irqs;
		memcpy(out, c->irq, max * sizeof(*out));
		st.other = c->other;
		break;
	case HFTMON_IRQ_KIND_VECTOR:
		memcpy(out, c->vec, max * sizeof(*out));
		break;
	case HFTMON_IRQ_KIND_SOFTIRQ:
		memcpy(out, c->softirq, max * sizeof(*out));
		break;
	default:
		out[0] = c->nmi;
	}
	st.unmatched = c->unmatched;
	st.too_deep = c->too_deep;
	st.nmi_unrecorded = c->nmi_unrecorded;
	err = 0;
unlock:
	mutex_unlock(&hftmon_irq_lock);
	if (!err) {
		n = min(st.nr, max);
		st.nr = n;
		st.nr_max = max;
		st.size = sizeof(st);
		if ((n && copy_to_user(u64_to_user_ptr(st.counts_ptr), out,
				       array_size(n, sizeof(*out)))) ||
		    copy_to_user(uarg, &st, min_t(u32, usize, sizeof(st))))
			err = -EFAULT;
	}
	kfree(out);
	return err;
}

/* ---- the table ------------------------------------------------------------ */

enum {
	IRQ_TP_HANDLER_ENTRY,
	IRQ_TP_HANDLER_EXIT,
	IRQ_TP_SOFTIRQ_RAISE,
	IRQ_TP_SOFTIRQ_ENTRY,
	IRQ_TP_SOFTIRQ_EXIT,
	IRQ_TP_NMI,
#ifdef CONFIG_X86_LOCAL_APIC
	IRQ_TP_VEC_FIRST,
	IRQ_TP_VEC_LOCAL_TIMER_ENTRY = IRQ_TP_VEC_FIRST,
	IRQ_TP_VEC_LOCAL_TIMER_EXIT,
	IRQ_TP_VEC_SPURIOUS_ENTRY, IRQ_TP_VEC_SPURIOUS_EXIT,
	IRQ_TP_VEC_ERROR_ENTRY, IRQ_TP_VEC_ERROR_EXIT,
	IRQ_TP_VEC_PLATFORM_ENTRY, IRQ_TP_VEC_PLATFORM_EXIT,
	IRQ_TP_VEC_IRQ_WORK_ENTRY, IRQ_TP_VEC_IRQ_WORK_EXIT,
	IRQ_TP_VEC_RESCHEDULE_ENTRY, IRQ_TP_VEC_RESCHEDULE_EXIT,
	IRQ_TP_VEC_CALL_FUNCTION_ENTRY, IRQ_TP_VEC_CALL_FUNCTION_EXIT,
	IRQ_TP_VEC_CALL_FUNCTION_SINGLE_ENTRY,
	IRQ_TP_VEC_CALL_FUNCTION_SINGLE_EXIT,
	/* As <asm/trace/irq_vectors.h> declares them. */
#ifdef CONFIG_X86_MCE_THRESHOLD
	IRQ_TP_VEC_THRESHOLD_ENTRY, IRQ_TP_VEC_THRESHOLD_EXIT,
#endif
#ifdef CONFIG_X86_MCE_AMD
	IRQ_TP_VEC_DEFERRED_ERROR_ENTRY, IRQ_TP_VEC_DEFERRED_ERROR_EXIT,
#endif
#ifdef CONFIG_X86_THERMAL_VECTOR
	IRQ_TP_VEC_THERMAL_ENTRY, IRQ_TP_VEC_THERMAL_EXIT,
#endif
#endif
	IRQ_TP_NR,
};
#define IRQ_TP_VEC_END	IRQ_TP_NR

#define HFTMON_VEC_TPS(idx, name)					\
	[idx##_ENTRY] = HFTMON_TRACEPOINT(name##_entry, hftmon_tp_vector_entry), \
	[idx##_EXIT] = HFTMON_TRACEPOINT(name##_exit, hftmon_tp_vector_exit)

static struct hftmon_tracepoint hftmon_irq_tps[IRQ_TP_NR] = {
	[IRQ_TP_HANDLER_ENTRY] = HFTMON_TRACEPOINT(irq_handler_entry,
						   hftmon_tp_irq_handler_entry),
	[IRQ_TP_HANDLER_EXIT] = HFTMON_TRACEPOINT(irq_handler_exit,
						  hftmon_tp_irq_handler_exit),
	[IRQ_TP_SOFTIRQ_RAISE] = HFTMON_TRACEPOINT(softirq_raise,
						   hftmon_tp_softirq_raise),
	[IRQ_TP_SOFTIRQ_ENTRY] = HFTMON_TRACEPOINT(softirq_entry,
						   hftmon_tp_softirq_entry),
	[IRQ_TP_SOFTIRQ_EXIT] = HFTMON_TRACEPOINT(softirq_exit,
						  hftmon_tp_softirq_exit),
	[IRQ_TP_NMI] = HFTMON_TRACEPOINT(nmi_handler, hftmon_tp_nmi_handler),
#ifdef CONFIG_X86_LOCAL_APIC
	HFTMON_VEC_TPS(IRQ_TP_VEC_LOCAL_TIMER, local_timer),
	HFTMON_VEC_TPS(IRQ_TP_VEC_SPURIOUS, spurious_apic),
	HFTMON_VEC_TPS(IRQ_TP_VEC_ERROR, error_apic),
	HFTMON_VEC_TPS(IRQ_TP_VEC_PLATFORM, x86_platform_ipi),
	HFTMON_VEC_TPS(IRQ_TP_VEC_IRQ_WORK, irq_work),
	HFTMON_VEC_TPS(IRQ_TP_VEC_RESCHEDULE, reschedule),
	HFTMON_VEC_TPS(IRQ_TP_VEC_CALL_FUNCTION, call_function),
	HFTMON_VEC_TPS(IRQ_TP_VEC_CALL_FUNCTION_SINGLE, call_function_single),
#ifdef CONFIG_X86_MCE_THRESHOLD
	HFTMON_VEC_TPS(IRQ_TP_VEC_THRESHOLD, threshold_apic),
#endif
#ifdef CONFIG_X86_MCE_AMD
	HFTMON_VEC_TPS(IRQ_TP_VEC_DEFERRED_ERROR, deferred_error_apic),
#endif
#ifdef CONFIG_X86_THERMAL_VECTOR
	HFTMON_VEC_TPS(IRQ_TP_VEC_THERMAL, thermal_apic),
#endif
#endif
};

static const struct hftmon_source_desc hftmon_irq_sources[] = {
	{ HFTMON_SRC_IRQ, HFTMON_EV_IRQ, HFTMON_FEAT_IRQ,
	  BIT(IRQ_TP_HANDLER_ENTRY) | BIT(IRQ_TP_HANDLER_EXIT) },
	{ HFTMON_SRC_SOFTIRQ, HFTMON_EV_SOFTIRQ, HFTMON_FEAT_SOFTIRQ,
	  BIT(IRQ_TP_SOFTIRQ_RAISE) | BIT(IRQ_TP_SOFTIRQ_ENTRY) |
	  BIT(IRQ_TP_SOFTIRQ_EXIT) },
	{ HFTMON_SRC_NMI, HFTMON_EV_NMI, HFTMON_FEAT_NMI, BIT(IRQ_TP_NMI) },
#ifdef CONFIG_X86_LOCAL_APIC
	/* Every vector tracepoint of this kernel, as one source. */
	{ HFTMON_SRC_IRQ_VECTOR, HFTMON_EV_IRQ_VECTOR, HFTMON_FEAT_IRQ_VECTOR,
	  GENMASK(IRQ_TP_VEC_END - 1, IRQ_TP_VEC_FIRST) },
#endif
};

struct hftmon_family hftmon_family_irq = {
	.name = "irq",
	.tps = hftmon_irq_tps,
	.nr_tps = ARRAY_SIZE(hftmon_irq_tps),
	.sources = hftmon_irq_sources,
	.nr_sources = ARRAY_SIZE(hftmon_irq_sources),
	.start = hftmon_irq_start,
	.stop = hftmon_irq_stop,
	.exit = hftmon_irq_exit_module,
	.tracked_changed = hftmon_irq_remark,
};
