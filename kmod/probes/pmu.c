// SPDX-License-Identifier: GPL-2.0
/*
 * The PMU family (HFTMON_EV_PMU, HFTMON_REC_PMU): per tracked thread and
 * slice on a CPU, the deltas of the session's counters (hftmon_config.pmu[],
 * software or hardware perf events alike). At START every counter is made
 * on every online CPU as a pinned per-CPU kernel counter (hftmon_pmu.h);
 * this family's own sched_switch probe reads them at a tracked thread's
 * switch-in and again at its switch-out, and writes one record with the
 * differences. The sched family's switch path is untouched: a session
 * without HFTMON_EV_PMU never hooks this probe, and between sessions it
 * costs the one load of hftmon_session_for().
 *
 * A counter the kernel refused on a CPU keeps its errno (ERR_PTR) there
 * and is reported with it in every record of that CPU; one that is not
 * counting at either read (error state, off, another CPU's) is reported
 * with hftmon_pmu_read_local()'s errno. Never a zero in place of a value.
 *
 * CPU hotplug: no cpuhp state yet. A CPU that comes online after START
 * has no counters (-ENODEV in its records). A CPU that goes offline takes
 * its counters out of its perf context (perf_event_exit_cpu()); they stay
 * out when it comes back, so its records then say -EAGAIN (not counting)
 * until the next START makes them afresh.
 *
 * Context: sched_switch runs with the runqueue lock held and IRQs off
 * (see probes/sched.c); the per-CPU state below is only touched there,
 * on its own CPU, and at START/STOP when no probe runs for the session.
 */
#include <linux/cpu.h>
#include <linux/err.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
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
};

static DEFINE_PER_CPU(struct hftmon_pmu_cpu, hftmon_pmu_cpus);
/* The running session's counters (hftmon_config.nr_pmu); 0 between. */
static unsigned int hftmon_pmu_nr;

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

/* prev's slice here ends now: its record. */
static noinline void hftmon_pmu_slice_end(struct hftmon_session *s,
					  struct hftmon_pmu_cpu *pc,
					  struct task_struct *prev,
					  unsigned int nr)
{
	u64 val[HFTMON_PMU_MAX_COUNTERS], stamp[HFTMON_PMU_MAX_COUNTERS];
	s32 err[HFTMON_PMU_MAX_COUNTERS];
	struct hftmon_pmu_value *v;
	struct hftmon_rec_pmu *r;
	struct hftmon_rec w;
	unsigned int i;

	/* Read first: the record's own bookkeeping is not the thread's. */
	hftmon_pmu_read_all(pc, nr, val, stamp, err);
	r = hftmon_rec_reserve(&w, s, prev, HFTMON_REC_PMU,
			       sizeof(*r) + nr * sizeof(r->v[0]), true);
	if (!r)
		return;		/* lost, counted by the ring */
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
	hftmon_rec_commit(&w);
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
		pc->cur = NULL;
		/* Still tracked: not revoked by an exec in the slice. */
		if (hftmon_track_find(&s->track, prev))
			hftmon_pmu_slice_end(s, pc, prev, nr);
	}
	if (likely(!hftmon_track_find(&s->track, next)))
		return;
	pc->cur = next;
	pc->start_ns = ktime_get_mono_fast_ns();
	hftmon_pmu_read_all(pc, nr, pc->val, pc->stamp, pc->err);
}

static void hftmon_pmu_release_all(void)
{
	struct hftmon_pmu_cpu *pc;
	unsigned int cpu, i;

	for_each_possible_cpu(cpu) {
		pc = per_cpu_ptr(&hftmon_pmu_cpus, cpu);
		for (i = 0; i < HFTMON_PMU_MAX_COUNTERS; i++) {
			hftmon_pmu_release(pc->ev[i]);
			pc->ev[i] = NULL;
		}
		pc->cur = NULL;
	}
	hftmon_pmu_nr = 0;
}

/*
 * Counters for an unprivileged session count user mode only, as perf
 * allows at perf_event_paranoid 2: what the kernel did in the thread's
 * slice (and the interrupts it took) is not the tracker's to see.
 */
static int hftmon_pmu_start(struct hftmon_session *s)
{
	const struct hftmon_config *c = &s->cfg;
	struct hftmon_pmu_cpu *pc;
	unsigned int cpu, i;

	if (!(s->events & HFTMON_EV_PMU))
		return 0;
	cpus_read_lock();
	for_each_possible_cpu(cpu) {
		pc = per_cpu_ptr(&hftmon_pmu_cpus, cpu);
		pc->cur = NULL;
		for (i = 0; i < c->nr_pmu; i++)
			pc->ev[i] = cpu_online(cpu) ?
				hftmon_pmu_create_as(cpu, c->pmu[i].type,
						     c->pmu[i].config,
						     !s->privileged) : NULL;
	}
	cpus_read_unlock();
	hftmon_pmu_nr = c->nr_pmu;
	return 0;
}

static void hftmon_pmu_stop(struct hftmon_session *s)
{
	if (s->events & HFTMON_EV_PMU)
		hftmon_pmu_release_all();
}

/*
 * CONFIGURE's check of each counter: made once on one online CPU and
 * released, its errno (or 0) in cfg->pmu[i].status. Process context.
 */
void hftmon_pmu_config_probe(struct hftmon_config *cfg, bool privileged)
{
	struct perf_event *ev;
	unsigned int i;
	int cpu;

	cpus_read_lock();
	cpu = cpumask_first(cpu_online_mask);
	for (i = 0; i < cfg->nr_pmu; i++) {
		ev = hftmon_pmu_create_as(cpu, cfg->pmu[i].type,
					  cfg->pmu[i].config, !privileged);
		cfg->pmu[i].status = IS_ERR(ev) ? PTR_ERR(ev) : 0;
		hftmon_pmu_release(ev);
	}
	cpus_read_unlock();
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
	struct perf_event *ev;

	mutex_lock(&hftmon_pmu_hw_lock);
	if (hftmon_pmu_hw_status > 0) {
		cpus_read_lock();
		ev = hftmon_pmu_create(cpumask_first(cpu_online_mask),
				       PERF_TYPE_HARDWARE,
				       PERF_COUNT_HW_INSTRUCTIONS);
		cpus_read_unlock();
		hftmon_pmu_hw_status = IS_ERR(ev) ? PTR_ERR(ev) : 0;
		hftmon_pmu_release(ev);
	}
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
