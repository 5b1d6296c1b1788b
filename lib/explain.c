// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon_explain() (see <hftmon.h>): the breakdown of a window of one
 * tracked thread from the aggregator's histories, and the spike queries
 * built on it (hftmon_detect_latency_spikes(), hftmon_wait_spike()).
 *
 * The window is walked once, in time order, as consecutive top-level
 * segments: on CPU (between a switch-in and the next switch-out), off CPU
 * (a completed switch, or the switch-out still open), UNATTRIBUTED where
 * no record says which (a gap: before the thread's first record held,
 * after the session stopped, records lost). A cursor makes the segments
 * tile the window whatever the records say, so the parts always sum to
 * it. Inside an on-CPU segment, the thread's interruptions (the history is
 * in end order: nested ones come before the one they interrupted) paint
 * the time: each instant belongs to the first record, in end order, that
 * covers it (the deepest), which gives each record its net time, clipped;
 * the unpainted rest is RUN, or FAULT inside one of the thread's FAULT
 * spikes. Nothing allocates; the lock is yielded every
 * HFTMON_QUERY_BATCH history entries read.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "pmu.h"
#include "runq.h"
#include "handle.h"

/* Nested interruptions awaiting the one they interrupted, at most. */
#define PAINT_STACK 64

struct xctx {
	struct hftmon *m;
	const struct hftmon_agg *a;
	pid_t tid;
	uint64_t lo, hi; /* the window */
	uint64_t cursor; /* [lo, cursor) is covered */
	struct hftmon_part *out;
	size_t max, stride, stored;
	uint64_t n; /* parts in all */
	unsigned int reads; /* history entries since the lock was yielded */
	bool wakeups; /* wake-ups are recorded: a blocked thread not woken sleeps */
	int err;
};

static struct hftmon_part *slot(struct xctx *x, size_t i)
{
	return (void *)((unsigned char *)x->out + i * x->stride);
}

/* Time order; an interruption before the ones nested in it (same start). */
static bool part_before(const struct hftmon_part *p, const struct hftmon_part *q)
{
	return p->start_ns != q->start_ns ? p->start_ns < q->start_ns :
					    p->end_ns > q->end_ns;
}

/* Keeps the first max parts in time order, counting every one. */
static void emit(struct xctx *x, const struct hftmon_part *p)
{
	size_t pos, moved;

	if (!p->ns)
		return;
	x->n++;
	if (!x->max)
		return;
	pos = x->stored;
	if (pos == x->max && !part_before(p, slot(x, pos - 1)))
		return;
	while (pos > 0 && part_before(p, slot(x, pos - 1)))
		pos--;
	moved = (x->stored == x->max ? x->max - 1 : x->stored) - pos;
	memmove(slot(x, pos + 1), slot(x, pos), moved * x->stride);
	if (x->stored < x->max)
		x->stored++;
	slot(x, pos)->sz = x->stride;
	hftmon_copy_out(slot(x, pos), x->stride, p, sizeof(*p));
}

/* A part of kind over [s, e) clipped to [bs, be); returns it, unemitted. */
static bool clip(uint64_t *s, uint64_t *e, uint64_t bs, uint64_t be)
{
	if (*s < bs)
		*s = bs;
	if (*e > be)
		*e = be;
	return *s < *e;
}

static void simple(struct xctx *x, uint32_t kind, int cpu, uint64_t s,
		   uint64_t e, uint64_t bs, uint64_t be)
{
	struct hftmon_part p;

	if (!clip(&s, &e, bs, be))
		return;
	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.cpu = cpu;
	p.start_ns = s;
	p.end_ns = e;
	p.ns = e - s;
	emit(x, &p);
}

/* One more history entry read: yield the lock every batch. */
static void step(struct xctx *x)
{
	if (++x->reads >= HFTMON_QUERY_BATCH) {
		x->reads = 0;
		hftmon_lock_yield(x->m);
	}
}

static uint32_t part_kind(uint32_t irq_kind)
{
	switch (irq_kind) {
	case HFTMON_IRQ_KIND_DEVICE:
		return HFTMON_PART_IRQ;
	case HFTMON_IRQ_KIND_VECTOR:
		return HFTMON_PART_VECTOR;
	case HFTMON_IRQ_KIND_SOFTIRQ:
		return HFTMON_PART_SOFTIRQ;
	default:
		return HFTMON_PART_NMI;
	}
}

/*
 * The thread ran over [s, e): RUN, except where one of its FAULT spikes
 * covers it (FAULT, at the spike's address). The spike history is in end
 * order: none that ends more than the longest fault after e began before e.
 */
static void ran(struct xctx *x, int cpu, uint64_t s, uint64_t e)
{
	const struct hftmon_agg *ag = x->a;
	uint64_t i, cur = s;

	if (s >= e)
		return;
	for (i = ag->fault_max_ns ? hftmon_agg_spike_first(ag, s + 1) :
				    ag->spike_total;
	     i < ag->spike_total && cur < e; i++) {
		const struct hftmon_agg_spike *f;
		struct hftmon_part p;
		uint64_t fs, fe;

		step(x);
		if (i < hftmon_agg_spike_oldest(ag)) {
			x->err = -ENODATA; /* overwritten while the lock was free */
			return;
		}
		f = hftmon_agg_spike_at(ag, i);
		if (f->end_ns > e && f->end_ns - e > ag->fault_max_ns)
			break;
		if (f->type != HFTMON_SPIKE_FAULT || f->tid != x->tid)
			continue;
		fs = f->start_ns > cur ? f->start_ns : cur;
		fe = f->end_ns < e ? f->end_ns : e;
		if (fs >= fe)
			continue;
		simple(x, HFTMON_PART_RUN, cpu, cur, fs, cur, fs);
		memset(&p, 0, sizeof(p));
		p.kind = HFTMON_PART_FAULT;
		p.cpu = cpu;
		p.start_ns = fs;
		p.end_ns = fe;
		p.ns = fe - fs;
		p.addr = f->addr;
		emit(x, &p);
		cur = fe;
	}
	simple(x, HFTMON_PART_RUN, cpu, cur, e, cur, e);
}

struct span {
	uint64_t s, e;
};

/* RUN between floor and the painted spans; everything up to them is final. */
static void finalize(struct xctx *x, int cpu, uint64_t *floor,
		     struct span *st, unsigned int *sp)
{
	unsigned int k;

	for (k = 0; k < *sp; k++) {
		ran(x, cpu, *floor, st[k].s);
		if (st[k].e > *floor)
			*floor = st[k].e;
	}
	*sp = 0;
}

/* On CPU over [a, b) (already within the window): interruptions, RUN. */
static void on_cpu(struct xctx *x, int cpu, uint64_t a, uint64_t b)
{
	const struct hftmon_agg *ag = x->a;
	struct span st[PAINT_STACK];
	unsigned int sp = 0;
	uint64_t floor = a, i;

	for (i = hftmon_agg_irq_first(ag, a + 1); i < ag->irq_total; i++) {
		const struct hftmon_agg_irq *e;
		uint64_t ra, rb, na, overlap = 0;
		struct hftmon_part p;

		step(x);
		if (i < hftmon_agg_irq_oldest(ag)) {
			x->err = -ENODATA; /* overwritten while the lock was free */
			return;
		}
		e = hftmon_agg_irq_at(ag, i);
		/* Past b by more than any interruption lasts: none can start before b. */
		if (e->end_ns > b && e->end_ns - b > ag->irq_max_gross)
			break;
		if (e->tid != x->tid)
			continue;
		ra = e->start_ns > floor ? e->start_ns : floor;
		rb = e->end_ns < b ? e->end_ns : b;
		if (ra >= rb)
			continue;
		na = ra;
		while (sp && st[sp - 1].e > ra) {
			sp--;
			overlap += st[sp].e - (st[sp].s > ra ? st[sp].s : ra);
			if (st[sp].s < na)
				na = st[sp].s;
		}
		memset(&p, 0, sizeof(p));
		p.kind = part_kind(e->kind);
		p.nr = e->nr;
		p.cpu = e->cpu;
		p.start_ns = e->start_ns > a ? e->start_ns : a;
		p.end_ns = rb;
		p.ns = rb - ra - overlap;
		hftmon_agg_irq_name(ag, e->kind, e->nr, p.name);
		emit(x, &p);
		st[sp].s = na;
		st[sp++].e = rb;
		if (!e->depth || sp == PAINT_STACK)
			finalize(x, cpu, &floor, st, &sp);
	}
	finalize(x, cpu, &floor, st, &sp);
	ran(x, cpu, floor, b);
}

/*
 * The RUNNABLE spike that ended at in with this wake-up, if the kernel
 * saw the CPU idle then: when it left idle.
 */
static uint64_t idle_exit(struct xctx *x, uint64_t wake, uint64_t in)
{
	const struct hftmon_agg *ag = x->a;
	uint64_t i;

	if (!ag->spike_cap)
		return 0;
	for (i = hftmon_agg_spike_first(ag, in); i < ag->spike_total; i++) {
		const struct hftmon_agg_spike *s = hftmon_agg_spike_at(ag, i);

		if (s->end_ns != in)
			break;
		if (s->tid == x->tid && s->type == HFTMON_SPIKE_RUNNABLE &&
		    (s->flags & HFTMON_SPIKE_IDLE) && s->start_ns == wake &&
		    s->idle_exit_ns > wake && s->idle_exit_ns <= in)
			return s->idle_exit_ns;
	}
	return 0;
}

static void task_part(struct xctx *x, int cpu, const struct hftmon_agg_runq_task *t,
		      uint64_t s, uint64_t e, uint64_t bs, uint64_t be)
{
	struct hftmon_part p;

	if (!clip(&s, &e, bs, be))
		return;
	memset(&p, 0, sizeof(p));
	p.kind = HFTMON_PART_TASK;
	p.cpu = cpu;
	p.start_ns = s;
	p.end_ns = e;
	p.ns = e - s;
	p.pid = t->pid;
	p.tid = t->tid;
	memcpy(p.comm, t->comm, sizeof(p.comm));
	p.prio = t->prio;
	p.policy = t->policy;
	emit(x, &p);
}

/*
 * With HFTMON_EV_RUNQ, the thread runnable over [s, e) on cpu (it stayed
 * there: it switched out or was woken there and switched in there), from
 * the history of who ran on each CPU: one TASK part per task that ran,
 * in turn, split at each switch there. cur is the task that took the CPU
 * at s (a preemption), or NULL (a wake-up: whoever was running, the prev
 * of the first switch after s). The chain is checked: a switch whose
 * prev is not the task the last one brought in means switches the
 * records lack (a waiting thread the module had no room to count, a lost
 * record), so that piece is WAIT, naming no one. The last switch is the
 * thread's own switch-in at e, whose prev ran last. false (nothing
 * emitted): no such history, or it no longer reaches back to s.
 */
static bool runq_stretch(struct xctx *x, int cpu,
			 const struct hftmon_agg_runq_task *cur, uint64_t s,
			 uint64_t e, bool in_known, uint64_t bs, uint64_t be)
{
	const struct hftmon_agg *ag = x->a;
	const struct hftmon_agg_runq_switch *sw;
	struct hftmon_agg_runq_task now;
	uint64_t i, t = s;
	bool known = cur != NULL;

	if (!ag->runq || !ag->runq->total ||
	    hftmon_agg_runq_at(ag, hftmon_agg_runq_oldest(ag))->time_ns > s)
		return false;
	/* A wait that moved to another CPU: not told apart here (yet). */
	for (i = hftmon_agg_runq_first(ag, s); i < ag->runq->total; i++) {
		step(x);
		if (i < hftmon_agg_runq_oldest(ag))
			return false;
		sw = hftmon_agg_runq_at(ag, i);
		if (sw->time_ns > e)
			break;
		if (sw->migrate && sw->prev.tid == x->tid)
			return false;
	}
	if (known)
		now = *cur;
	for (i = hftmon_agg_runq_first(ag, s); i < ag->runq->total; i++) {
		step(x);
		if (i < hftmon_agg_runq_oldest(ag))
			break; /* overwritten while the lock was yielded */
		sw = hftmon_agg_runq_at(ag, i);
		if (sw->time_ns > e)
			break;
		if (sw->cpu != (uint32_t)cpu || sw->time_ns <= s || sw->migrate)
			continue;
		if (!known)
			now = sw->prev, known = true;
		if (now.tid == sw->prev.tid && now.pid == sw->prev.pid)
			task_part(x, cpu, &now, t, sw->time_ns, bs, be);
		else
			simple(x, HFTMON_PART_WAIT, cpu, t, sw->time_ns, bs, be);
		t = sw->time_ns;
		now = sw->next;
		if (sw->next.tid == x->tid)
			break; /* its own switch-in */
	}
	/* After the last switch seen: who it brought in, up to e. */
	if (t < e) {
		if (known && !(in_known && now.tid == x->tid))
			task_part(x, cpu, &now, t, e, bs, be);
		else
			simple(x, HFTMON_PART_WAIT, cpu, t, e, bs, be);
	}
	return true;
}

/*
 * Off CPU over [out, in) (in: the switch-in, or the end of what is known
 * for a switch-out still open), within [bs, be).
 */
static void off_cpu(struct xctx *x, const struct hftmon_switch_event *ev,
		    uint64_t out, uint64_t in, bool open, bool woken,
		    uint64_t wake, int in_cpu, uint64_t bs, uint64_t be)
{
	struct hftmon_part p;
	uint64_t s = out, e = in, ie;

	if (!ev->voluntary) {
		struct hftmon_agg_runq_task took = {
			.pid = ev->next_pid, .tid = ev->next_tid,
			.prio = ev->next_prio, .policy = ev->next_policy,
		};

		/*
		 * Preempted: runnable at once. With who ran on each CPU, each
		 * task in turn; without, the task that took the CPU is named,
		 * although what ran after it there, or whether the thread
		 * waited for another CPU after a migration, the records do
		 * not say.
		 */
		memcpy(took.comm, ev->next_comm, sizeof(took.comm));
		if (in_cpu == ev->out_cpu &&
		    runq_stretch(x, ev->out_cpu, &took, out, in, !open, bs, be))
			return;
		if (!clip(&s, &e, bs, be))
			return;
		memset(&p, 0, sizeof(p));
		p.kind = HFTMON_PART_TASK;
		p.cpu = ev->out_cpu;
		p.start_ns = s;
		p.end_ns = e;
		p.ns = e - s;
		p.pid = ev->next_pid;
		p.tid = ev->next_tid;
		memcpy(p.comm, ev->next_comm, sizeof(p.comm));
		p.prio = ev->next_prio;
		p.policy = ev->next_policy;
		emit(x, &p);
		return;
	}
	if (!woken || wake < out || wake > in) {
		/*
		 * Blocked, and when it was woken no record says; unless its
		 * switch-out is still open and wake-ups are recorded: then
		 * none came yet, it sleeps.
		 */
		simple(x, open && !woken && x->wakeups ? HFTMON_PART_SLEEP :
							 HFTMON_PART_UNATTRIBUTED,
		       -1, out, in, bs, be);
		return;
	}
	simple(x, HFTMON_PART_SLEEP, -1, out, wake, bs, be);
	ie = idle_exit(x, wake, in);
	if (ie) {
		simple(x, HFTMON_PART_IDLE_EXIT, in_cpu, wake, ie, bs, be);
		wake = ie;
	}
	/* Woken onto in_cpu: who ran there, if the history says. */
	if (!ie && in_cpu >= 0 &&
	    runq_stretch(x, in_cpu, NULL, wake, in, !open, bs, be))
		return;
	simple(x, HFTMON_PART_WAIT, in_cpu, wake, in, bs, be);
}

/* Covers [cursor, s) as UNATTRIBUTED; returns the segment's clipped start. */
static uint64_t gap_to(struct xctx *x, uint64_t s)
{
	if (s > x->cursor) {
		simple(x, HFTMON_PART_UNATTRIBUTED, -1, x->cursor, s, x->lo, x->hi);
		x->cursor = s < x->hi ? s : x->hi;
	}
	return x->cursor;
}

static void seg_done(struct xctx *x, uint64_t e)
{
	if (e > x->cursor)
		x->cursor = e < x->hi ? e : x->hi;
}

static void seg_on(struct xctx *x, int cpu, uint64_t s, uint64_t e)
{
	uint64_t a = gap_to(x, s);

	if (e > x->hi)
		e = x->hi;
	if (a < e)
		on_cpu(x, cpu, a, e);
	seg_done(x, e);
}

static void seg_off(struct xctx *x, const struct hftmon_switch_event *ev,
		    uint64_t in, bool open, bool woken, uint64_t wake,
		    int in_cpu)
{
	uint64_t a = gap_to(x, ev->out_ns);

	off_cpu(x, ev, ev->out_ns, in, open, woken, wake, in_cpu, a,
		in < x->hi ? in : x->hi);
	seg_done(x, in);
}

/* The walk, under the lock. Returns 0 or -errno. */
static int walk(struct xctx *x, uint64_t cover_end)
{
	const struct hftmon_agg *ag = x->a;
	/*
	 * The life of tid at lo: one that exited since (its state freed,
	 * what an explain needs kept), else the live thread's. A tid reused
	 * later is another thread, whose switches are not this one's.
	 */
	uint64_t born_after;
	const struct hftmon_agg_gone *g =
		hftmon_agg_gone_find(ag, x->tid, x->lo, &born_after);
	const struct hftmon_agg_thread *th =
		g ? NULL : hftmon_agg_thread_find(ag, x->tid);
	uint64_t i, i0, oldest = hftmon_agg_switch_oldest(ag), first = UINT64_MAX;
	uint64_t on_at = 0, first_in = th ? th->first_in_ns : g ? g->first_in_ns : 0;
	int first_cpu = th ? th->first_in_cpu : g ? g->first_in_cpu : -1;
	bool on = false, any = false;
	int cpu = -1;

	/* The last switch of the thread that ended before the window. */
	i0 = hftmon_agg_switch_first(ag, x->lo);
	for (i = i0; i > oldest; i--) {
		step(x);
		if (i - 1 < hftmon_agg_switch_oldest(ag))
			return -ENODATA;
		if (hftmon_agg_switch_at(ag, i - 1)->tid == x->tid) {
			/* An earlier thread of that tid: this one's began later. */
			if (hftmon_agg_switch_at(ag, i - 1)->out_ns < born_after)
				break;
			on = any = true;
			on_at = first = hftmon_agg_switch_at(ag, i - 1)->in_ns;
			cpu = hftmon_agg_switch_at(ag, i - 1)->in_cpu;
			break;
		}
	}
	/*
	 * None: if its first record was a switch-in and every switch since
	 * is held, it ran from there.
	 */
	if (!on && first_in &&
	    (!oldest || hftmon_agg_switch_at(ag, oldest)->in_ns <= first_in)) {
		on = any = true;
		on_at = first = first_in;
		cpu = first_cpu;
	}
	for (i = i0; i < ag->switch_total && x->cursor < x->hi; i++) {
		const struct hftmon_switch_event *ev;

		step(x);
		if (i < hftmon_agg_switch_oldest(ag))
			return -ENODATA;
		ev = hftmon_agg_switch_at(ag, i);
		if (ev->tid != x->tid)
			continue;
		if (g && ev->out_ns >= g->out_ns)
			break;
		if (!any)
			first = ev->out_ns;
		any = true;
		if (on)
			seg_on(x, ev->out_cpu, on_at, ev->out_ns);
		seg_off(x, ev, ev->in_ns, false, ev->wakeup_ns != 0,
			ev->wakeup_ns, ev->in_cpu);
		on = true;
		on_at = ev->in_ns;
		cpu = ev->in_cpu;
		if (x->err)
			return x->err;
	}
	/* After its last completed switch: what its state says now. */
	if (x->cursor < x->hi && th) {
		if (th->state == HFTMON_AGG_OFF_CPU &&
		    (!on || th->ev.out_ns >= on_at)) {
			if (!any)
				first = th->ev.out_ns;
			if (on)
				seg_on(x, th->ev.out_cpu, on_at, th->ev.out_ns);
			seg_off(x, &th->ev, cover_end, true, th->woken,
				th->wake_ns, -1);
			any = true;
		} else if (th->state == HFTMON_AGG_ON_CPU) {
			if (!on) {
				on_at = th->on_since_ns;
				cpu = th->on_cpu;
				if (!any)
					first = on_at;
			}
			seg_on(x, cpu, on_at, cover_end);
			any = true;
		}
	} else if (x->cursor < x->hi && g && g->on_since_ns &&
		   (!on || g->on_since_ns == on_at)) {
		/* It ran from its last switch-in to its exit; nothing after. */
		if (!any)
			first = g->on_since_ns;
		seg_on(x, g->on_cpu, g->on_since_ns, g->out_ns);
		any = true;
	}
	if (x->err)
		return x->err;
	if (!any)
		return -ESRCH;
	if (first >= x->hi)
		return -ENODATA;
	gap_to(x, x->hi);
	return 0;
}

/* The explain of [lo, hi) for tid into out; 0 or -errno, *n parts in all. */
static int explain(struct hftmon *m, pid_t tid, uint64_t lo, uint64_t hi,
		   struct hftmon_part *out, size_t max, size_t stride,
		   uint64_t *n)
{
	struct xctx x = {
		.m = m, .a = &m->agg, .tid = tid, .lo = lo, .hi = hi,
		.cursor = lo, .out = out, .max = max, .stride = stride,
		.wakeups = !m->cfg.events || (m->cfg.events & HFTMON_EV_WAKEUP),
	};
	uint64_t cover_end;
	int err;

	if (hi > hftmon_handle_now_ns(m))
		return -ERANGE;
	hftmon_lock(m);
	if (hi > m->agg.known_ns) {
		hftmon_unlock(m);
		return -ERANGE; /* not merged yet: drain and retry */
	}
	cover_end = m->agg.stop_ns && m->agg.stop_ns < m->agg.known_ns ?
			    m->agg.stop_ns :
			    m->agg.known_ns;
	err = walk(&x, cover_end);
	hftmon_unlock(m);
	*n = x.n;
	return err;
}

/* Checks shared by the queries that take parts. */
static int parts_ok(const struct hftmon_part *out, size_t max)
{
	if (max && (!out || out->sz < hftmon_offsetofend(struct hftmon_part, ns)))
		return -EINVAL;
	return 0;
}

HFTMON_API int hftmon_explain(struct hftmon *m,
			      const struct hftmon_explain_query *q,
			      struct hftmon_part *out, size_t max)
{
	struct hftmon_explain_query qq;
	uint64_t n = 0;
	int err;

	if (!m || !q || parts_ok(out, max))
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&qq, q, end_ns);
	if (err)
		return err;
	if (qq.tid <= 0 || qq.start_ns >= qq.end_ns)
		return -EINVAL;
	err = hftmon_check_configured(m, "explain");
	if (err)
		return err;
	err = explain(m, qq.tid, qq.start_ns, qq.end_ns, out, max,
		      max ? out->sz : 0, &n);
	if (err)
		return err;
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* ---- spikes ------------------------------------------------------------- */

static bool spike_matches(const struct hftmon_agg_spike *e,
			  const struct hftmon_spike_query *q, uint64_t since,
			  uint64_t min_ns)
{
	return !e->replaced && e->end_ns >= since &&
	       (!q->pid || e->pid == q->pid) && (!q->tid || e->tid == q->tid) &&
	       e->end_ns - e->start_ns >= min_ns;
}

static void spike_fill(struct hftmon_spike *o, const struct hftmon_agg_spike *e)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->type = e->type;
	o->flags = e->flags;
	o->cpu = e->cpu;
	o->from_cpu = e->from_cpu;
	o->pid = e->pid;
	o->tid = e->tid;
	o->start_ns = e->start_ns;
	o->end_ns = e->end_ns;
	o->duration_ns = e->end_ns > e->start_ns ? e->end_ns - e->start_ns : 0;
	o->threshold_ns = e->threshold_ns;
	o->idle_state = e->idle_state;
	o->idle_exit_ns = e->idle_exit_ns;
	o->links = e->links;
	o->addr = e->addr;
}

/* The cause analysis of s into the query's parts from *used on. */
static void analyse(struct hftmon *m, const struct hftmon_spike_query *q,
		    struct hftmon_spike *s, size_t *used)
{
	size_t stride = q->parts->sz, room = q->max_parts - *used, stored;
	struct hftmon_part *at =
		(void *)((unsigned char *)q->parts + *used * stride);
	uint64_t n = 0;

	s->first_part = *used;
	s->nr_parts = 0;
	if (!room || s->end_ns <= s->start_ns ||
	    explain(m, s->tid, s->start_ns, s->end_ns, at, room, stride, &n))
		return;
	stored = n < room ? (size_t)n : room;
	s->nr_parts = stored;
	*used += stored;
}

static int spike_query_check(struct hftmon *m,
			     const struct hftmon_spike_query *q,
			     struct hftmon_spike_query *qq)
{
	int err = HFTMON_COPY_OPTS(qq, q, max_parts);

	if (err)
		return err;
	if (qq->pid < 0 || qq->tid < 0 ||
	    (qq->cause_analysis && parts_ok(qq->parts, qq->max_parts)))
		return -EINVAL;
	if (!qq->cause_analysis)
		qq->max_parts = 0;
	err = hftmon_check_configured(m, "spike query");
	if (err)
		return err;
	if (!m->agg.spike_cap) {
		pr_err(m,
		       "spike query: configured without spikes (spike_threshold_us)");
		return -EOPNOTSUPP;
	}
	return 0;
}

HFTMON_API int hftmon_detect_latency_spikes(struct hftmon *m,
					    const struct hftmon_spike_query *q,
					    struct hftmon_spike *out, size_t max)
{
	struct hftmon_spike_query qq;
	uint64_t i, end, since, min_ns, matched = 0;
	size_t stride, k, used = 0;
	int err;

	if (!m || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	err = spike_query_check(m, q, &qq);
	if (err)
		return err;
	stride = max ? out->sz : 0;
	since = hftmon_window_start(m, qq.window_us);
	min_ns = hftmon_us_to_ns(qq.min_duration_us);

	hftmon_lock(m);
	i = hftmon_agg_spike_first(&m->agg, since);
	end = m->agg.spike_total;
	while (i < end) {
		uint64_t batch_end = end - i > HFTMON_QUERY_BATCH ?
					     i + HFTMON_QUERY_BATCH :
					     end;

		if (i < hftmon_agg_spike_oldest(&m->agg))
			i = hftmon_agg_spike_oldest(&m->agg); /* overwritten */
		for (; i < batch_end; i++) {
			const struct hftmon_agg_spike *e =
				hftmon_agg_spike_at(&m->agg, i);
			struct hftmon_spike s;

			if (!spike_matches(e, &qq, since, min_ns))
				continue;
			if (matched < max) {
				spike_fill(&s, e);
				s.flags &= ~(uint32_t)HFTMON_SPIKE_EXTENDS;
				hftmon_copy_out((unsigned char *)out +
							matched * stride,
						stride, &s, sizeof(s));
			}
			matched++;
		}
		hftmon_lock_yield(m);
	}
	hftmon_unlock(m);

	/* Each spike's window explained (it takes the lock itself). */
	for (k = 0; k < max && k < matched; k++) {
		struct hftmon_spike *o = (void *)((unsigned char *)out + k * stride);
		struct hftmon_spike s;

		hftmon_copy_out(&s, sizeof(s), o, stride);
		s.sz = sizeof(s);
		if (qq.max_parts)
			analyse(m, &qq, &s, &used);
		hftmon_pmu_join(m, &s);
		hftmon_copy_out(o, stride, &s, sizeof(s));
	}
	return matched > INT_MAX ? INT_MAX : (int)matched;
}

/* The oldest spike matching q that ended after since; under the lock. */
static bool next_spike(struct hftmon *m, const struct hftmon_spike_query *q,
		       uint64_t since, struct hftmon_spike *s)
{
	uint64_t i, min_ns = hftmon_us_to_ns(q->min_duration_us);

	for (i = hftmon_agg_spike_first(&m->agg, since + 1);
	     i < m->agg.spike_total; i++) {
		const struct hftmon_agg_spike *e = hftmon_agg_spike_at(&m->agg, i);

		if (spike_matches(e, q, since + 1, min_ns)) {
			spike_fill(s, e);
			return true;
		}
	}
	return false;
}

static void deadline_of(int timeout_ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds left to deadline (rounded up), 0 once past it. */
static int ms_left(const struct timespec *dl)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(dl->tv_sec - now.tv_sec) * 1000000000 +
	     (dl->tv_nsec - now.tv_nsec);
	return ns <= 0 ? 0 : ns > (int64_t)INT_MAX * 1000000 ? INT_MAX :
			     (int)((ns + 999999) / 1000000);
}

HFTMON_API int hftmon_wait_spike(struct hftmon *m,
				 const struct hftmon_spike_query *q,
				 uint64_t *since_ns, int timeout_ms,
				 struct hftmon_spike *out)
{
	struct hftmon_spike_query qq;
	struct hftmon_spike s;
	struct timespec dl;
	size_t used = 0;
	bool found;
	int err;

	if (!m || !since_ns || !out || !HFTMON_OUT_OK(out))
		return -EINVAL;
	err = spike_query_check(m, q, &qq);
	if (err)
		return err;
	if (timeout_ms >= 0)
		deadline_of(timeout_ms, &dl);
	for (;;) {
		hftmon_lock(m);
		found = next_spike(m, &qq, *since_ns, &s);
		if (found || !m->thread_running) {
			hftmon_unlock(m);
			if (found)
				break;
			/* No drain thread: poll the device, drain it ourselves. */
			if (timeout_ms >= 0 && !ms_left(&dl))
				return 0;
			{
				int t = timeout_ms < 0 ? -1 : ms_left(&dl);

				/* The merge holds records back: look again soon. */
				if (hftmon_agg_pending(&m->agg) &&
				    (t < 0 || t > HFTMON_DRAIN_MERGE_MS))
					t = HFTMON_DRAIN_MERGE_MS;
				err = hftmon_wait(m, t);
				if (err < 0)
					return err;
			}
			err = hftmon_drain_into_agg(m);
			if (err < 0)
				return err;
			continue;
		}
		/* The drain thread signals each pass that aggregated a spike. */
		if (timeout_ms < 0)
			err = pthread_cond_wait(&m->spike_cond, &m->agg_lock);
		else
			err = pthread_cond_timedwait(&m->spike_cond,
						     &m->agg_lock, &dl);
		found = next_spike(m, &qq, *since_ns, &s);
		hftmon_unlock(m);
		if (found)
			break;
		if (err == ETIMEDOUT)
			return 0;
	}
	*since_ns = s.end_ns;
	if (qq.max_parts)
		analyse(m, &qq, &s, &used);
	hftmon_pmu_join(m, &s);
	hftmon_copy_out(out, out->sz, &s, sizeof(s));
	return 1;
}

HFTMON_API int hftmon_spike_counters(struct hftmon *m, struct hftmon_spike *s)
{
	struct hftmon_spike sp = { .sz = sizeof(sp) };

	if (!m || !s || s->sz < hftmon_offsetofend(struct hftmon_spike, pmu))
		return -EINVAL;
	hftmon_copy_out(&sp, sizeof(sp), s, s->sz);
	hftmon_pmu_join(m, &sp);
	hftmon_copy_out(s, s->sz, &sp, sizeof(sp));
	return 0;
}
