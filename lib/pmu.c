// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * PMU counters (issue 8, first slice): the aggregator's part (pmu.h) and
 * the queries of <hftmon.h>, hftmon_get_pmu_totals() and
 * hftmon_get_pmu_status(). Each HFTMON_REC_PMU record is one slice of one
 * thread on one CPU; its per-counter values are summed per thread where
 * they counted (status 0) and counted as missed, with their errno, where
 * they did not: a sum is never padded with a zero for a slice that did
 * not count, and a counter the kernel refused has no value at all.
 * With sampling, a slice is several records: the ticks' (HFTMON_PMU_TICK)
 * and the one that ends it; each is summed like a slice, the slices
 * counted are those that ended, and the ticks give the achieved interval.
 * The slice history also answers what the counters did during a spike
 * (hftmon_pmu_join(), for the spike queries of explain.c).
 * Nothing here allocates after init.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "handle.h"
#include "pmu.h"

int hftmon_agg_pmu_init(struct hftmon_agg *a, unsigned int nr,
			const int32_t *cfg_status, uint32_t max_threads,
			uint32_t history_slices)
{
	struct hftmon_agg_pmu *p;

	if (!nr || nr > HFTMON_PMU_MAX_COUNTERS || !max_threads ||
	    max_threads > (1u << 30) || !history_slices)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->nr = nr;
	memcpy(p->cfg_status, cfg_status, nr * sizeof(*cfg_status));
	p->max_threads = max_threads;
	for (p->nr_slots = 1; p->nr_slots < 2 * max_threads; p->nr_slots <<= 1)
		;
	p->threads = calloc(p->nr_slots, sizeof(*p->threads));
	p->scratch = calloc(p->nr_slots, sizeof(*p->scratch));
	p->slice_cap = history_slices;
	p->slices = calloc(history_slices, sizeof(*p->slices));
	a->pmu = p;
	if (!p->threads || !p->scratch || !p->slices) {
		hftmon_agg_pmu_fini(a);
		return -ENOMEM;
	}
	return 0;
}

void hftmon_agg_pmu_fini(struct hftmon_agg *a)
{
	struct hftmon_agg_pmu *p = a->pmu;

	if (!p)
		return;
	free(p->threads);
	free(p->scratch);
	free(p->slices);
	free(p);
	a->pmu = NULL;
}

/*
 * tid's entry in table (nr_slots, a power of two, linear probing), made
 * on first sight while *nr < max; NULL when full (or a bad tid). The
 * thread table and the queries' scratch table are both such tables.
 */
static struct hftmon_agg_pmu_thread *
slot_get(struct hftmon_agg_pmu_thread *table, uint32_t nr_slots, uint32_t max,
	 uint32_t *nr, int32_t pid, int32_t tid)
{
	uint32_t i = ((uint32_t)tid * 2654435761u) & (nr_slots - 1);
	struct hftmon_agg_pmu_thread *t;

	if (tid <= 0)
		return NULL;
	for (;; i = (i + 1) & (nr_slots - 1)) {
		t = &table[i];
		if (t->tid == tid)
			return t;
		if (!t->tid)
			break;
	}
	if (*nr >= max)
		return NULL;
	(*nr)++;
	t->tid = tid;
	t->pid = pid;
	return t;
}

/* The thread's entry, made on first sight; NULL when the table is full. */
static struct hftmon_agg_pmu_thread *pmu_thread(struct hftmon_agg *a,
						int32_t pid, int32_t tid)
{
	struct hftmon_agg_pmu *p = a->pmu;
	struct hftmon_agg_pmu_thread *t;

	t = slot_get(p->threads, p->nr_slots, p->max_threads, &p->nr_threads,
		     pid, tid);
	if (!t && tid > 0)
		a->st.dropped++;
	return t;
}

static void sum_add(struct hftmon_agg_pmu_sum *s, uint64_t delta,
		    int32_t status, uint32_t flags)
{
	if (status) {
		s->missed++;
		s->last_err = status;
		return;
	}
	s->counted++;
	s->value += delta;
	if (flags & HFTMON_PMU_RESCHEDULED)
		s->rescheduled++;
}

/* One record (a whole slice, or a tick's part of one) into t's sums. */
static void thread_add(const struct hftmon_agg_pmu *p,
		       struct hftmon_agg_pmu_thread *t,
		       const struct hftmon_agg_pmu_slice *sl)
{
	uint64_t len = sl->end_ns > sl->start_ns ? sl->end_ns - sl->start_ns : 0;
	unsigned int i;

	if (sl->rec_flags & HFTMON_PMU_TICK) {
		t->ticks++;
		t->tick_ns += len;
	} else {
		t->slices++;
	}
	t->on_cpu_ns += len;
	for (i = 0; i < p->nr; i++)
		sum_add(&t->c[i], sl->delta[i], sl->status[i], sl->flags[i]);
}

void hftmon_agg_pmu_record(struct hftmon_agg *a, const struct hftmon_rec_pmu *r)
{
	struct hftmon_agg_pmu *p = a->pmu;
	struct hftmon_agg_pmu_thread *t;
	struct hftmon_agg_pmu_slice *sl;
	unsigned int i, nr;

	p->records++;
	/* A record of fewer counters than configured: the rest missed. */
	nr = r->nr < p->nr ? r->nr : p->nr;
	t = pmu_thread(a, r->hdr.pid, r->hdr.tid);
	if (p->slice_total >= p->slice_cap) {
		sl = &p->slices[p->slice_total % p->slice_cap];
		if (sl->end_ns > p->lost_end_ns)
			p->lost_end_ns = sl->end_ns;
	}
	sl = &p->slices[p->slice_total++ % p->slice_cap];
	sl->start_ns = r->start_ns;
	sl->end_ns = r->hdr.time_ns;
	sl->pid = r->hdr.pid;
	sl->tid = r->hdr.tid;
	sl->rec_flags = r->hdr.flags;
	for (i = 0; i < p->nr; i++) {
		sl->status[i] = i < nr ? r->v[i].status : -ENODATA;
		sl->delta[i] = i < nr && !sl->status[i] ? r->v[i].delta : 0;
		sl->flags[i] = i < nr ? r->v[i].flags : 0;
	}
	if (t)
		thread_add(p, t, sl);
}

/* ---- queries ----------------------------------------------------------- */

static int pmu_check(struct hftmon *m, const struct hftmon_pmu_query *q,
		     struct hftmon_pmu_query *qq, const char *what)
{
	int err = HFTMON_COPY_OPTS(qq, q, to_ns);

	if (err)
		return err;
	if (qq->pid < 0 || qq->tid < 0 ||
	    (qq->window_us && (qq->from_ns || qq->to_ns)) ||
	    (qq->to_ns && qq->to_ns < qq->from_ns))
		return -EINVAL;
	err = hftmon_check_configured(m, what);
	if (err)
		return err;
	if (!m->agg.pmu) {
		pr_err(m, "%s: configured without PMU counters (pmu_counters)",
		       what);
		return -EOPNOTSUPP;
	}
	return 0;
}

static bool matches(const struct hftmon_pmu_query *q, int32_t pid, int32_t tid)
{
	return (!q->pid || q->pid == pid) && (!q->tid || q->tid == tid);
}

static int by_tid(const void *pa, const void *pb)
{
	const struct hftmon_pmu_totals *a = pa, *b = pb;

	return (a->tid > b->tid) - (a->tid < b->tid);
}

/* What a counter's sums say, by the rules of enum hftmon_pmu_state. */
static void metric_of(const struct hftmon_agg_pmu_sum *s, int32_t cfg_status,
		      struct hftmon_pmu_metric *o)
{
	memset(o, 0, sizeof(*o));
	if (cfg_status) {
		o->state = HFTMON_PMU_UNSUPPORTED;
		o->status = cfg_status;
		o->slices_missed = s->counted + s->missed;
		return;
	}
	o->slices_counted = s->counted;
	o->slices_missed = s->missed;
	o->slices_rescheduled = s->rescheduled;
	o->status = s->missed ? s->last_err : 0;
	if (!s->counted && !s->missed) {
		o->state = HFTMON_PMU_NO_DATA;
	} else if (!s->counted) {
		o->state = HFTMON_PMU_UNAVAILABLE;
	} else {
		o->state = s->missed ? HFTMON_PMU_PARTIAL : HFTMON_PMU_MEASURED;
		o->value = s->value;
	}
}

static void totals_of(const struct hftmon *m,
		      const struct hftmon_agg_pmu_thread *t, bool complete,
		      struct hftmon_pmu_totals *o)
{
	const struct hftmon_agg_pmu *p = m->agg.pmu;
	unsigned int i;

	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->pid = t->pid;
	o->tid = t->tid;
	o->slices = t->slices;
	o->on_cpu_ns = t->on_cpu_ns;
	o->complete = complete;
	o->nr = p->nr;
	for (i = 0; i < p->nr; i++)
		metric_of(&t->c[i], p->cfg_status[i], &o->c[i]);
	o->interval_ns = (uint64_t)m->cfg.sampling_interval_us * 1000;
	o->ticks = t->ticks;
	o->tick_interval_ns = t->ticks ? t->tick_ns / t->ticks : 0;
}

static bool slice_in(const struct hftmon_pmu_query *q, uint64_t since,
		     const struct hftmon_agg_pmu_slice *sl)
{
	if (!matches(q, sl->pid, sl->tid))
		return false;
	if (q->window_us)
		return sl->end_ns >= since;
	return sl->start_ns >= q->from_ns && (!q->to_ns || sl->end_ns <= q->to_ns);
}

/* A window: the history's slices summed per thread in the scratch table. */
static int window_totals(struct hftmon *m, const struct hftmon_pmu_query *q,
			 struct hftmon_pmu_totals *out, size_t stride,
			 size_t max)
{
	const struct hftmon_agg_pmu *p = m->agg.pmu;
	uint64_t since = hftmon_window_start(m, q->window_us), i, first;
	size_t filled = 0, all = 0;
	uint32_t nr = 0, j;
	bool complete;

	hftmon_lock(m);
	memset(p->scratch, 0, p->nr_slots * sizeof(*p->scratch));
	first = hftmon_pmu_first_held(p);
	complete = !p->lost_end_ns ||
		   p->lost_end_ns < (q->window_us ? since : q->from_ns);
	for (i = first; i < p->slice_total; i++) {
		const struct hftmon_agg_pmu_slice *sl =
			&p->slices[i % p->slice_cap];
		struct hftmon_agg_pmu_thread *t;

		if (!slice_in(q, since, sl))
			continue;
		t = slot_get(p->scratch, p->nr_slots, p->max_threads, &nr,
			     sl->pid, sl->tid);
		if (t)
			thread_add(p, t, sl);
	}
	for (j = 0; j < p->nr_slots; j++) {
		struct hftmon_pmu_totals o;

		if (!p->scratch[j].tid)
			continue;
		if (filled < max) {
			totals_of(m, &p->scratch[j], complete, &o);
			hftmon_put_out(out, stride, filled++, &o, sizeof(o));
		}
		all++;
	}
	hftmon_unlock(m);
	if (filled > 1 && stride == sizeof(struct hftmon_pmu_totals))
		qsort(out, filled, stride, by_tid);
	return all > INT_MAX ? INT_MAX : (int)all;
}

HFTMON_API int hftmon_get_pmu_totals(struct hftmon *m,
				     const struct hftmon_pmu_query *q,
				     struct hftmon_pmu_totals *out, size_t max)
{
	struct hftmon_pmu_query qq;
	const struct hftmon_agg_pmu *p;
	size_t stride, filled = 0, all = 0;
	uint32_t i;
	int err;

	if (!m || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	err = pmu_check(m, q, &qq, "PMU totals query");
	if (err)
		return err;
	stride = max ? out->sz : 0;
	if (qq.window_us || qq.from_ns || qq.to_ns)
		return window_totals(m, &qq, out, stride, max);
	hftmon_lock(m);
	p = m->agg.pmu;
	for (i = 0; i < p->nr_slots; i++) {
		const struct hftmon_agg_pmu_thread *t = &p->threads[i];
		struct hftmon_pmu_totals o;

		if (!t->tid || !matches(&qq, t->pid, t->tid))
			continue;
		if (filled < max) {
			totals_of(m, t, true, &o);
			hftmon_put_out(out, stride, filled++, &o, sizeof(o));
		}
		all++;
	}
	hftmon_unlock(m);
	if (filled > 1 && stride == sizeof(struct hftmon_pmu_totals))
		qsort(out, filled, stride, by_tid);
	return all > INT_MAX ? INT_MAX : (int)all;
}

/* Adds one thread's sums of a counter to s. */
static void sum_merge(struct hftmon_agg_pmu_sum *s,
		      const struct hftmon_agg_pmu_sum *t)
{
	s->value += t->value;
	s->counted += t->counted;
	s->missed += t->missed;
	s->rescheduled += t->rescheduled;
	if (t->last_err)
		s->last_err = t->last_err;
}

bool hftmon_pmu_sum(struct hftmon *m, const struct hftmon_pmu_query *q,
		    unsigned int idx, struct hftmon_pmu_metric *o)
{
	const struct hftmon_agg_pmu *p = m->agg.pmu;
	struct hftmon_agg_pmu_sum s = { 0 };
	uint64_t since, i, first;
	bool complete = true;
	uint32_t j;

	if (!p || idx >= p->nr) {
		memset(o, 0, sizeof(*o));
		o->state = HFTMON_PMU_UNSUPPORTED;
		o->status = -ENODATA;
		return true;
	}
	since = q->window_us ? hftmon_window_start(m, q->window_us) : 0;
	hftmon_lock(m);
	if (!q->window_us && !q->from_ns && !q->to_ns) {
		for (j = 0; j < p->nr_slots; j++) {
			const struct hftmon_agg_pmu_thread *t = &p->threads[j];

			if (t->tid && matches(q, t->pid, t->tid))
				sum_merge(&s, &t->c[idx]);
		}
	} else {
		first = hftmon_pmu_first_held(p);
		complete = !p->lost_end_ns ||
			   p->lost_end_ns < (q->window_us ? since : q->from_ns);
		for (i = first; i < p->slice_total; i++) {
			const struct hftmon_agg_pmu_slice *sl =
				&p->slices[i % p->slice_cap];

			if (slice_in(q, since, sl))
				sum_add(&s, sl->delta[idx], sl->status[idx],
					sl->flags[idx]);
		}
	}
	hftmon_unlock(m);
	metric_of(&s, p->cfg_status[idx], o);
	return complete;
}

void hftmon_pmu_join(struct hftmon *m, struct hftmon_spike *s)
{
	const struct hftmon_agg_pmu *p = m->agg.pmu;
	struct hftmon_agg_pmu_thread t = { 0 };
	uint64_t i, first, from = UINT64_MAX, to = 0;
	/* A RUNNABLE spike's thread did not run: nothing of it to join. */
	bool on_cpu = s->type != HFTMON_SPIKE_RUNNABLE, reached = false, held;
	uint32_t records = 0;
	unsigned int k;

	s->pmu_nr = p ? p->nr : 0;
	s->pmu_records = 0;
	s->pmu_from_ns = s->pmu_to_ns = 0;
	s->pmu_complete = true;
	memset(s->pmu, 0, sizeof(s->pmu));
	if (!p)
		return;
	hftmon_lock(m);
	/* A record overwritten that ended after the start may have overlapped. */
	held = !p->lost_end_ns || p->lost_end_ns <= s->start_ns;
	first = hftmon_pmu_first_held(p);
	for (i = on_cpu ? first : p->slice_total; i < p->slice_total; i++) {
		const struct hftmon_agg_pmu_slice *sl =
			&p->slices[i % p->slice_cap];

		if (sl->tid != s->tid || sl->start_ns >= s->end_ns ||
		    sl->end_ns <= s->start_ns)
			continue;
		thread_add(p, &t, sl);
		records++;
		if (sl->start_ns < from)
			from = sl->start_ns;
		if (sl->end_ns > to)
			to = sl->end_ns;
		if (sl->end_ns >= s->end_ns)
			reached = true;
	}
	hftmon_unlock(m);
	/* On its CPU at its end, the thread's record of that moment must come. */
	s->pmu_complete = held && (!on_cpu || reached);
	s->pmu_records = records;
	if (records) {
		s->pmu_from_ns = from;
		s->pmu_to_ns = to;
	}
	for (k = 0; k < p->nr; k++)
		metric_of(&t.c[k], p->cfg_status[k], &s->pmu[k]);
}

HFTMON_API int hftmon_get_pmu_status(struct hftmon *m, int *status, size_t max)
{
	unsigned int i;
	int err;

	if (!m || (!status && max))
		return -EINVAL;
	err = hftmon_check_configured(m, "PMU status");
	if (err)
		return err;
	if (!m->nr_pmu)
		return -EOPNOTSUPP;
	for (i = 0; i < m->nr_pmu && i < max; i++)
		status[i] = m->pmu_status[i];
	return (int)m->nr_pmu;
}
