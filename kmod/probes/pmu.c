// SPDX-License-Identifier: GPL-2.0
/*
 * The PMU family (HFTMON_EV_PMU, HFTMON_REC_PMU): per tracked thread and
 * slice on a CPU, the deltas of the session's counters (hftmon_config.pmu[],
 * software or hardware perf events alike). At START every counter is made
 * on every online CPU as a pinned per-CPU kernel counter (hftmon_pmu.h);
 * this family's own sched_switch probe reads them at a tracked thread's
 * switch-in and again at its switch-out (and at each sampling tick), and
 * writes one record with the differences. The sched family's switch path is untouched: a session
 * without HFTMON_EV_PMU never hooks this probe, and between sessions it
 * costs the one load of hftmon_session_for().
 *
 * A counter the kernel refused on a CPU keeps its errno (ERR_PTR) there
 * and is reported with it in every record of that CPU; one that is not
 * counting at either read (error state, off, another CPU's) is reported
 * with hftmon_pmu_read_local()'s errno. Never a zero in place of a value.
 *
 * Sampling (hftmon_config.sample_interval_ns): a per-CPU hrtimer, pinned
 * and hard (it fires in hard IRQ context, PREEMPT_RT included), armed at
 * a tracked thread's switch-in and cancelled at its switch-out, so idle
 * and untracked CPUs have none. Each tick reads the counters and writes a
 * record flagged HFTMON_PMU_TICK for the part of the slice since the
 * previous read; the record at switch-out covers only the rest. The
 * cancel cannot race the callback (IRQs are off in sched_switch and the
 * timer is this CPU's), but a tick that still finds no slice, or another
 * CPU's timer, or no session, records nothing and stops.
 *
 * CPU hotplug: a multi-instance cpuhp state (CPUHP_AP_ONLINE_DYN), one
 * instance per session from START to STOP: its online callback has the
 * counters of a CPU made (every CPU online at START, and each one that
 * comes online later), its offline callback has them released as the CPU
 * goes (perf would otherwise leave them out of its context for good).
 * The callbacks only queue the CPU's work (hftmon_pmu_cpu_work()): making
 * or releasing a software counter takes cpus_read_lock(), which the
 * hotplug holds for writing. The work swaps the pointers on the CPU with
 * IRQs off (an IPI), or directly while it is offline, so its probe and
 * tick see either counters or none (-ENODEV in the records while a CPU
 * has none; -EAGAIN for a slice in progress across the swap). START
 * waits for the works, so every online CPU counts from the first record.
 *
 * Context: sched_switch runs with the runqueue lock held and IRQs off
 * (see probes/sched.c); the per-CPU state below is only touched there,
 * by the tick (hard IRQ) and the hotplug work's IPI, each on its own CPU
 * with IRQs off, and at START/STOP when no probe runs for the session.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/workqueue.h>
#include <trace/events/sched.h>

#include "../hftmon_pmu.h"
#include "../hftmon_probe.h"

struct hftmon_pmu_cpu {
	/* NULL: none made here; ERR_PTR: the kernel's refusal */
	struct perf_event *ev[HFTMON_PMU_MAX_COUNTERS];
	/* The slice in progress: cur switched in here at start_ns (or NULL). */
	struct task_struct *cur;
	u64 start_ns;
	u64 val[HFTMON_PMU_MAX_COUNTERS];
	u64 stamp[HFTMON_PMU_MAX_COUNTERS];
	s32 err[HFTMON_PMU_MAX_COUNTERS];
	/* The sampling tick, armed while cur runs here (sampling on). */
	struct hrtimer timer;
	/* Hotplug: make (want) or release this CPU's counters, in process context. */
	struct work_struct work;
	unsigned int cpu;
	bool want;
};

static DEFINE_PER_CPU(struct hftmon_pmu_cpu, hftmon_pmu_cpus);
/* The running session's counters (hftmon_config.nr_pmu); 0 between. */
static unsigned int hftmon_pmu_nr;
/* Its sampling interval (0: none) and what the hotplug callbacks make. */
static u64 hftmon_pmu_interval_ns;
static struct hftmon_pmu_event hftmon_pmu_events[HFTMON_PMU_MAX_COUNTERS];
static bool hftmon_pmu_user_only;
/* The cpuhp state (0: none) and the running session's instance in it. */
static int hftmon_pmu_hp_state;
static struct hlist_node hftmon_pmu_hp_node;

static __always_inline void hftmon_pmu_read_all(struct hftmon_pmu_cpu *pc,
						unsigned int nr, u64 *val,
						u64 *stamp, s32 *err)
{
	struct perf_event *ev;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		ev = pc->ev[i];
		if (!ev)
			err[i] = -ENODEV;
		else if (IS_ERR(ev))
			err[i] = PTR_ERR(ev);
		else
			err[i] = hftmon_pmu_read_local_stamp(ev, &val[i],
							     &stamp[i]);
	}
}

/*
 * The part of t's slice here since the previous read ends now: its
 * record (flags: HFTMON_PMU_TICK for a tick's). The next part, if any,
 * starts from this read.
 */
static noinline void hftmon_pmu_part(struct hftmon_session *s,
				     struct hftmon_pmu_cpu *pc,
				     struct task_struct *t, unsigned int nr,
				     u16 flags)
{
	u64 val[HFTMON_PMU_MAX_COUNTERS], stamp[HFTMON_PMU_MAX_COUNTERS];
	s32 err[HFTMON_PMU_MAX_COUNTERS];
	struct hftmon_pmu_value *v;
	struct hftmon_rec_pmu *r;
	struct hftmon_rec w;
	unsigned int i;

	/* Read first: the record's own bookkeeping is not the thread's. */
	hftmon_pmu_read_all(pc, nr, val, stamp, err);
	r = hftmon_rec_reserve(&w, s, t, HFTMON_REC_PMU,
			       sizeof(*r) + nr * sizeof(r->v[0]), true);
	if (!r) {
		/* Lost (counted by the ring); the next part starts here. */
		pc->start_ns = ktime_get_mono_fast_ns();
		goto next;
	}
	r->hdr.flags = flags;
	r->start_ns = pc->start_ns;
	r->nr = nr;
	r->reserved = 0;
	for (i = 0; i < nr; i++) {
		v = &r->v[i];
		v->status = pc->err[i] ?: err[i];
		v->delta = v->status ? 0 : val[i] - pc->val[i];
		v->flags = !v->status && stamp[i] != pc->stamp[i] ?
			   HFTMON_PMU_RESCHEDULED : 0;
	}
	pc->start_ns = r->hdr.time_ns;
	hftmon_rec_commit(&w);
next:
	memcpy(pc->val, val, nr * sizeof(val[0]));
	memcpy(pc->stamp, stamp, nr * sizeof(stamp[0]));
	memcpy(pc->err, err, nr * sizeof(err[0]));
}

static enum hrtimer_restart hftmon_pmu_tick(struct hrtimer *timer)
{
	struct hftmon_pmu_cpu *pc = container_of(timer, struct hftmon_pmu_cpu,
						 timer);
	struct hftmon_session *s = rcu_dereference_sched(hftmon_active);

	/* Hard IRQ context, on the timer's CPU (pinned; checked anyway). */
	if (!s || !(s->events & HFTMON_EV_PMU) || pc->cur != current ||
	    pc != this_cpu_ptr(&hftmon_pmu_cpus))
		return HRTIMER_NORESTART;
	hftmon_pmu_part(s, pc, pc->cur, READ_ONCE(hftmon_pmu_nr),
			HFTMON_PMU_TICK);
	hrtimer_forward_now(timer, ns_to_ktime(hftmon_pmu_interval_ns));
	return HRTIMER_RESTART;
}

static void hftmon_tp_pmu_switch(void *data, bool preempt,
				 struct task_struct *prev,
				 struct task_struct *next,
				 unsigned int prev_state)
{
	struct hftmon_session *s = hftmon_session_for(data);
	struct hftmon_pmu_cpu *pc;
	unsigned int nr;

	if (!s)
		return;
	pc = this_cpu_ptr(&hftmon_pmu_cpus);
	nr = READ_ONCE(hftmon_pmu_nr);
	if (pc->cur == prev) {
		/* Not running: IRQs are off and the timer is this CPU's. */
		if (hftmon_pmu_interval_ns)
			hrtimer_try_to_cancel(&pc->timer);
		/* Still tracked: not revoked by an exec in the slice. */
		if (hftmon_track_find(&s->track, prev))
			hftmon_pmu_part(s, pc, prev, nr, 0);
		pc->cur = NULL;
	}
	if (likely(!hftmon_track_find(&s->track, next)))
		return;
	pc->cur = next;
	pc->start_ns = ktime_get_mono_fast_ns();
	hftmon_pmu_read_all(pc, nr, pc->val, pc->stamp, pc->err);
	if (hftmon_pmu_interval_ns)
		hrtimer_start(&pc->timer, ns_to_ktime(hftmon_pmu_interval_ns),
			      HRTIMER_MODE_REL_PINNED_HARD);
}

/*
 * Swap in the counters of ev[] (NULLs: none), the old ones out into ev[],
 * on pc's CPU with IRQs off (an IPI) or while it is offline. A slice in
 * progress there began on the old counters: its part until the next read
 * did not count on the new ones (-EAGAIN), never a difference of two.
 */
static void hftmon_pmu_swap(void *arg)
{
	struct perf_event **ev = arg;
	struct hftmon_pmu_cpu *pc = this_cpu_ptr(&hftmon_pmu_cpus);
	struct perf_event *old;
	unsigned int i;

	for (i = 0; i < HFTMON_PMU_MAX_COUNTERS; i++) {
		old = pc->ev[i];
		pc->ev[i] = ev[i];
		ev[i] = old;
		pc->err[i] = -EAGAIN;
	}
}

/*
 * A CPU's counters made (pc->want) or released, in process context: the
 * cpuhp callbacks cannot do it themselves, as making and releasing a
 * software counter take cpus_read_lock() (its static key), which the
 * hotplug in progress holds for writing. cpus_read_lock() here keeps the
 * CPU online or offline while the pointers are swapped.
 */
static void hftmon_pmu_cpu_work(struct work_struct *work)
{
	struct hftmon_pmu_cpu *pc = container_of(work, struct hftmon_pmu_cpu,
						 work);
	struct perf_event *ev[HFTMON_PMU_MAX_COUNTERS] = { NULL };
	unsigned int i;

	if (READ_ONCE(pc->want))
		for (i = 0; i < hftmon_pmu_nr; i++)
			ev[i] = hftmon_pmu_create_as(pc->cpu,
						     hftmon_pmu_events[i].type,
						     hftmon_pmu_events[i].config,
						     hftmon_pmu_user_only);
	cpus_read_lock();
	if (cpu_online(pc->cpu)) {
		smp_call_function_single(pc->cpu, hftmon_pmu_swap, ev, 1);
	} else {
		/* Nothing runs there: swap from here, forget its slice. */
		for (i = 0; i < HFTMON_PMU_MAX_COUNTERS; i++)
			swap(pc->ev[i], ev[i]);
		pc->cur = NULL;
	}
	cpus_read_unlock();
	for (i = 0; i < HFTMON_PMU_MAX_COUNTERS; i++)
		hftmon_pmu_release(ev[i]);
}

/* cpuhp callbacks (on cpu, hotplug thread): the work does the rest. */
static int hftmon_pmu_cpu_online(unsigned int cpu, struct hlist_node *node)
{
	struct hftmon_pmu_cpu *pc = per_cpu_ptr(&hftmon_pmu_cpus, cpu);

	WRITE_ONCE(pc->want, true);
	schedule_work(&pc->work);
	return 0;
}

static int hftmon_pmu_cpu_offline(unsigned int cpu, struct hlist_node *node)
{
	struct hftmon_pmu_cpu *pc = per_cpu_ptr(&hftmon_pmu_cpus, cpu);

	WRITE_ONCE(pc->want, false);
	schedule_work(&pc->work);
	return 0;
}

/*
 * Every CPU's counters released and tick stopped (no probe runs for the
 * session: STOP after the probes are done with it, or unload). The
 * instance's removal runs the offline callback on each online CPU; this
 * catches what remains (a CPU whose online callback made counters just
 * before going down cannot: its offline callback released them).
 */
static void hftmon_pmu_release_all(void)
{
	struct hftmon_pmu_cpu *pc;
	unsigned int cpu, i;

	if (hftmon_pmu_hp_state > 0) {
		cpuhp_state_remove_instance(hftmon_pmu_hp_state,
					    &hftmon_pmu_hp_node);
		cpuhp_remove_multi_state(hftmon_pmu_hp_state);
		hftmon_pmu_hp_state = 0;
	}
	for_each_possible_cpu(cpu) {
		pc = per_cpu_ptr(&hftmon_pmu_cpus, cpu);
		if (hftmon_pmu_nr)
			flush_work(&pc->work);
		if (hftmon_pmu_interval_ns)
			hrtimer_cancel(&pc->timer);
		for (i = 0; i < HFTMON_PMU_MAX_COUNTERS; i++) {
			hftmon_pmu_release(pc->ev[i]);
			pc->ev[i] = NULL;
		}
		pc->cur = NULL;
	}
	hftmon_pmu_nr = 0;
	hftmon_pmu_interval_ns = 0;
}

/*
 * Counters for an unprivileged session count user mode only, as perf
 * allows at perf_event_paranoid 2: what the kernel did in the thread's
 * slice (and the interrupts it took) is not the tracker's to see. They
 * are made by the cpuhp instance's online callback on each online CPU.
 */
static int hftmon_pmu_start(struct hftmon_session *s)
{
	const struct hftmon_config *c = &s->cfg;
	struct hftmon_pmu_cpu *pc;
	unsigned int cpu;
	int state, err;

	if (!(s->events & HFTMON_EV_PMU))
		return 0;
	hftmon_pmu_nr = c->nr_pmu;
	memcpy(hftmon_pmu_events, c->pmu, sizeof(hftmon_pmu_events));
	hftmon_pmu_user_only = !s->privileged;
	hftmon_pmu_interval_ns = c->sample_interval_ns;
	for_each_possible_cpu(cpu) {
		pc = per_cpu_ptr(&hftmon_pmu_cpus, cpu);
		pc->cur = NULL;
		pc->cpu = cpu;
		INIT_WORK(&pc->work, hftmon_pmu_cpu_work);
		hrtimer_init(&pc->timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL_PINNED_HARD);
		pc->timer.function = hftmon_pmu_tick;
	}
	state = cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "hftmon/pmu:online",
					hftmon_pmu_cpu_online,
					hftmon_pmu_cpu_offline);
	if (state < 0)
		goto fail;
	hftmon_pmu_hp_state = state;
	err = cpuhp_state_add_instance(state, &hftmon_pmu_hp_node);
	if (err) {
		cpuhp_remove_multi_state(state);
		hftmon_pmu_hp_state = 0;
		state = err;
		goto fail;
	}
	/* The online callbacks' works: every online CPU's counters made. */
	for_each_possible_cpu(cpu)
		flush_work(&per_cpu_ptr(&hftmon_pmu_cpus, cpu)->work);
	return 0;
fail:
	/* A rollback's offline callbacks may have queued works. */
	for_each_possible_cpu(cpu)
		flush_work(&per_cpu_ptr(&hftmon_pmu_cpus, cpu)->work);
	hftmon_pmu_nr = 0;
	hftmon_pmu_interval_ns = 0;
	return state;
}

static void hftmon_pmu_stop(struct hftmon_session *s)
{
	if (s->events & HFTMON_EV_PMU)
		hftmon_pmu_release_all();
}

/*
 * A counter made on the first online CPU and released: 0 or the kernel's
 * -errno. Not under cpus_read_lock(): making a tracepoint counter takes
 * event_mutex, which ftrace takes before tracepoints_mutex and that
 * before cpu_hotplug_lock (lockdep saw the inversion once a test enabled
 * a tracefs event). A CPU going offline meanwhile makes perf say -ENODEV:
 * then the next first online CPU is asked.
 */
static s32 hftmon_pmu_try(u32 type, u64 config, bool user_only)
{
	struct perf_event *ev;
	int tries = 0;
	s32 err;

	do {
		ev = hftmon_pmu_create_as(cpumask_first(cpu_online_mask), type,
					  config, user_only);
		err = IS_ERR(ev) ? PTR_ERR(ev) : 0;
		hftmon_pmu_release(ev);
	} while ((err == -ENODEV || err == -ENXIO) && ++tries < 3);
	return err;
}

/*
 * CONFIGURE's check of each counter: made once on one online CPU and
 * released, its errno (or 0) in cfg->pmu[i].status. Process context.
 */
void hftmon_pmu_config_probe(struct hftmon_config *cfg, bool privileged)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_pmu; i++)
		cfg->pmu[i].status = hftmon_pmu_try(cfg->pmu[i].type,
						    cfg->pmu[i].config,
						    !privileged);
}

/*
 * GET_INFO's HFTMON_SRC_PMU_HW: can the kernel make a hardware counter
 * (PERF_COUNT_HW_INSTRUCTIONS, the most common one) here? Asked once, on
 * the first online CPU (usually a housekeeping one: making a CPU counter
 * IPIs its CPU), and kept: the answer is the machine's. 0 or the
 * kernel's -errno (-ENOENT: no hardware PMU, as under x86 TCG).
 */
static DEFINE_MUTEX(hftmon_pmu_hw_lock);
static s32 hftmon_pmu_hw_status = 1;	/* 1: not asked yet */

s32 hftmon_pmu_hw_probe(void)
{
	mutex_lock(&hftmon_pmu_hw_lock);
	if (hftmon_pmu_hw_status > 0)
		hftmon_pmu_hw_status = hftmon_pmu_try(PERF_TYPE_HARDWARE,
						      PERF_COUNT_HW_INSTRUCTIONS,
						      false);
	mutex_unlock(&hftmon_pmu_hw_lock);
	return hftmon_pmu_hw_status;
}

/*
 * Which counters a session may ask for. A kernel counter skips every
 * check perf_event_open() makes (perf_event_paranoid, LSM hooks), so a
 * session without CAP_PERFMON gets only the CPU's own events: hardware,
 * software, cache and raw ones, counted in user mode only (start);
 * tracepoint, breakpoint and other PMUs' types (kprobes, uncore...) are
 * for privileged sessions. 0 or -EPERM.
 */
int hftmon_pmu_config_allowed(const struct hftmon_config *cfg, bool privileged)
{
	unsigned int i;

	if (privileged || !(cfg->events & HFTMON_EV_PMU))
		return 0;
	for (i = 0; i < cfg->nr_pmu; i++)
		if (cfg->pmu[i].type != PERF_TYPE_HARDWARE &&
		    cfg->pmu[i].type != PERF_TYPE_SOFTWARE &&
		    cfg->pmu[i].type != PERF_TYPE_HW_CACHE &&
		    cfg->pmu[i].type != PERF_TYPE_RAW)
			return -EPERM;
	return 0;
}

/* The counters' table: nr_pmu of them, the rest zero, reserved zero. */
int hftmon_pmu_config_check(const struct hftmon_config *cfg)
{
	unsigned int i;

	if (cfg->reserved_pmu)
		return -EINVAL;
	if (!(cfg->events & HFTMON_EV_PMU)) {
		if (cfg->nr_pmu || memchr_inv(cfg->pmu, 0, sizeof(cfg->pmu)))
			return -EINVAL;
		return 0;
	}
	/* The exec probe (sched family) ends tracking out of reach. */
	if (!(cfg->events & HFTMON_EV_SWITCH) || !cfg->nr_pmu ||
	    cfg->nr_pmu > HFTMON_PMU_MAX_COUNTERS)
		return -EINVAL;
	for (i = 0; i < HFTMON_PMU_MAX_COUNTERS; i++)
		if (cfg->pmu[i].status ||
		    (i >= cfg->nr_pmu &&
		     (cfg->pmu[i].type || cfg->pmu[i].config)))
			return -EINVAL;
	return 0;
}

enum {
	PMU_TP_SWITCH,
	PMU_TP_NR,
};

static struct hftmon_tracepoint hftmon_pmu_tps[PMU_TP_NR] = {
	[PMU_TP_SWITCH] = HFTMON_TRACEPOINT(sched_switch, hftmon_tp_pmu_switch),
};

/*
 * The software row only: software counters exist wherever perf does.
 * Whether a hardware event exists is known per counter (pmu[].status at
 * CONFIGURE, every record's status); HFTMON_SRC_PMU_HW is not a table
 * row: GET_INFO asks the kernel (hftmon_pmu_hw_probe()).
 */
static const struct hftmon_source_desc hftmon_pmu_sources[] = {
	{ HFTMON_SRC_PMU_SW, HFTMON_EV_PMU, HFTMON_FEAT_PMU,
	  BIT(PMU_TP_SWITCH) },
};

struct hftmon_family hftmon_family_pmu = {
	.name = "pmu",
	.tps = hftmon_pmu_tps,
	.nr_tps = ARRAY_SIZE(hftmon_pmu_tps),
	.sources = hftmon_pmu_sources,
	.nr_sources = ARRAY_SIZE(hftmon_pmu_sources),
	.start = hftmon_pmu_start,
	.stop = hftmon_pmu_stop,
	.exit = hftmon_pmu_release_all,
};
