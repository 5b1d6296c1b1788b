// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * NUMA balancing (issue 9, item 3, and item 2's node over time): the
 * aggregator's part (numabal.h) and the queries of <hftmon.h>,
 * hftmon_get_numa_activity() and hftmon_get_numa_events(); and items
 * 4-6, hftmon_get_numa_stats(): the sampled accesses of the ACCESS
 * records per node pair and the page heatmap, built at query time. The
 * records
 * reach here in time order from the aggregator's merge (agg.c), so a
 * thread's stints on CPU, from its switch records, and its NUMA records
 * interleave as they happened. Nothing here allocates after init.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "handle.h"
#include "numabal.h"
#include "numaline.h"

int hftmon_agg_numa_init(struct hftmon_agg *a, unsigned int nr_cpus,
			 uint32_t max_threads, uint32_t history_faults,
			 uint32_t history_moves, uint32_t history_accesses)
{
	struct hftmon_agg_numa *n = calloc(1, sizeof(*n));
	unsigned int i;

	if (!n)
		return -ENOMEM;
	n->nr_cpus = nr_cpus;
	n->max_threads = max_threads;
	for (n->nr_slots = 1; n->nr_slots < 2 * max_threads; n->nr_slots <<= 1)
		;
	n->cpu_node = calloc(nr_cpus ? nr_cpus : 1, sizeof(*n->cpu_node));
	n->threads = calloc(n->nr_slots, sizeof(*n->threads));
	n->fault_cap = history_faults;
	n->move_cap = history_moves;
	n->faults = calloc(history_faults, sizeof(*n->faults));
	n->moves = calloc(history_moves, sizeof(*n->moves));
	n->access_cap = history_accesses;
	n->accesses = calloc(history_accesses, sizeof(*n->accesses));
	n->access_sort = calloc(history_accesses, sizeof(*n->access_sort));
	a->numa = n;
	if (!n->cpu_node || !n->threads || !n->faults || !n->moves ||
	    !n->accesses || !n->access_sort) {
		hftmon_agg_numa_fini(a);
		return -ENOMEM;
	}
	for (i = 0; i < nr_cpus; i++)
		n->cpu_node[i] = -1;
	return 0;
}

void hftmon_agg_numa_fini(struct hftmon_agg *a)
{
	struct hftmon_agg_numa *n = a->numa;

	if (!n)
		return;
	free(n->cpu_node);
	free(n->threads);
	free(n->faults);
	free(n->moves);
	free(n->accesses);
	free(n->access_sort);
	free(n);
	a->numa = NULL;
}

void hftmon_agg_numa_set_node(struct hftmon_agg *a, unsigned int cpu, int node)
{
	if (a->numa && cpu < a->numa->nr_cpus)
		a->numa->cpu_node[cpu] =
			node >= 0 && node < HFTMON_NUMA_MAX_NODES ? (int16_t)node : -1;
}

static int node_of(const struct hftmon_agg_numa *n, int32_t cpu)
{
	return cpu >= 0 && (unsigned int)cpu < n->nr_cpus ? n->cpu_node[cpu] : -1;
}

/* The thread's entry, made on first sight; NULL when the table is full. */
static struct hftmon_agg_numa_thread *numa_thread(struct hftmon_agg *a,
						  int32_t pid, int32_t tid)
{
	struct hftmon_agg_numa *n = a->numa;
	uint32_t i = ((uint32_t)tid * 2654435761u) & (n->nr_slots - 1);
	struct hftmon_agg_numa_thread *t;

	if (tid <= 0)
		return NULL;
	for (;; i = (i + 1) & (n->nr_slots - 1)) {
		t = &n->threads[i];
		if (t->tid == tid)
			return t;
		if (!t->tid)
			break;
	}
	if (n->nr_threads >= n->max_threads) {
		a->st.dropped++;
		return NULL;
	}
	n->nr_threads++;
	t->tid = tid;
	t->pid = pid;
	t->node = -1;
	t->cpu = -1;
	return t;
}

static int16_t clamp16(int32_t v)
{
	return v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : (int16_t)v;
}

/* A node number as the heatmap keeps it: -1 unless a valid index. */
static int16_t node_or_unknown(int32_t nid)
{
	return nid >= 0 && nid < HFTMON_NUMA_MAX_NODES ? (int16_t)nid : -1;
}

static struct hftmon_agg_numa_ev *push(struct hftmon_agg_numa_ev *h,
				       uint32_t cap, uint64_t *total)
{
	return &h[(*total)++ % cap];
}

void hftmon_agg_numa_record(struct hftmon_agg *a,
			    const struct hftmon_rec_numa *r)
{
	struct hftmon_agg_numa *n = a->numa;
	struct hftmon_agg_numa_thread *t;
	struct hftmon_agg_numa_ev *e;
	uint16_t fl = r->hdr.flags;

	n->records++;
	if (r->kind == HFTMON_NUMA_ACCESS) {
		struct hftmon_agg_numa_access *x =
			&n->accesses[n->access_total++ % n->access_cap];

		x->time_ns = r->hdr.time_ns;
		x->addr = r->addr;
		x->pid = r->hdr.pid;
		x->tid = r->hdr.tid;
		x->pages = r->pages ? r->pages : 1;
		x->mem_node = node_or_unknown(r->dst_nid);
		x->cpu_node = node_or_unknown(r->src_nid);
		return;
	}
	t = numa_thread(a, r->hdr.pid, r->hdr.tid);
	if (t) {
		if (!t->first_ns)
			t->first_ns = r->hdr.time_ns;
		t->last_ns = r->hdr.time_ns;
		switch (r->kind) {
		case HFTMON_NUMA_FAULT:
			t->faults++;
			t->fault_pages += r->pages;
			if (fl & HFTMON_NUMA_FAULT_LOCAL)
				t->faults_local++;
			if (fl & HFTMON_NUMA_MIGRATED) {
				t->faults_migrated++;
				t->pages_migrated += r->pages;
			}
			if (fl & HFTMON_NUMA_MIGRATE_FAIL) {
				t->faults_migrate_failed++;
				t->pages_migrate_failed += r->pages;
			}
			if (fl & HFTMON_NUMA_SHARED)
				t->faults_shared++;
			break;
		case HFTMON_NUMA_MOVE:
			t->moves++;
			break;
		case HFTMON_NUMA_SWAP:
			t->swaps++;
			break;
		case HFTMON_NUMA_STICK:
			t->sticks++;
			break;
		default:
			return; /* a newer module's kind: not in the history */
		}
	} else if (r->kind < HFTMON_NUMA_FAULT || r->kind > HFTMON_NUMA_STICK) {
		return;
	}
	e = r->kind == HFTMON_NUMA_FAULT ?
		    push(n->faults, n->fault_cap, &n->fault_total) :
		    push(n->moves, n->move_cap, &n->move_total);
	e->time_ns = r->hdr.time_ns;
	e->pid = r->hdr.pid;
	e->tid = r->hdr.tid;
	e->kind = (uint8_t)r->kind;
	e->reserved = 0;
	e->flags = fl;
	e->pages = r->pages;
	e->src_cpu = clamp16(r->src_cpu);
	e->src_node = clamp16(r->src_nid);
	e->dst_cpu = clamp16(r->dst_cpu);
	e->dst_node = clamp16(r->dst_nid);
	e->other_pid = r->other_pid;
	e->other_tid = r->other_tid;
}

void hftmon_agg_numa_ran(struct hftmon_agg *a, int32_t pid, int32_t tid,
			 int32_t cpu, uint64_t from_ns, uint64_t to_ns)
{
	struct hftmon_agg_numa_thread *t = numa_thread(a, pid, tid);
	int node = node_of(a->numa, cpu);

	if (!t || to_ns < from_ns)
		return;
	if (node < 0)
		t->on_unknown_ns += to_ns - from_ns;
	else
		t->on_node_ns[node] += to_ns - from_ns;
}

void hftmon_agg_numa_in(struct hftmon_agg *a, int32_t pid, int32_t tid,
			int32_t cpu, uint64_t time_ns)
{
	struct hftmon_agg_numa *n = a->numa;
	struct hftmon_agg_numa_thread *t = numa_thread(a, pid, tid);
	struct hftmon_agg_numa_ev *e;
	int node = node_of(n, cpu);

	if (!t)
		return;
	if (t->node >= 0 && node >= 0 && node != t->node) {
		t->node_changes++;
		e = push(n->moves, n->move_cap, &n->move_total);
		*e = (struct hftmon_agg_numa_ev){
			.time_ns = time_ns,
			.pid = pid,
			.tid = tid,
			.kind = HFTMON_NUMA_EV_NODE,
			.src_cpu = clamp16(t->cpu),
			.src_node = clamp16(t->node),
			.dst_cpu = clamp16(cpu),
			.dst_node = clamp16(node),
		};
	}
	if (node >= 0)
		t->node = node;
	t->cpu = cpu;
}

/* ---- queries ----------------------------------------------------------- */

static int numa_check(struct hftmon *m, const struct hftmon_numa_query *q,
		      struct hftmon_numa_query *qq, const char *what)
{
	int err = HFTMON_COPY_OPTS(qq, q, kinds);

	if (err)
		return err;
	if (qq->pid < 0 || qq->tid < 0)
		return -EINVAL;
	err = hftmon_check_configured(m, what);
	if (err)
		return err;
	if (!m->agg.numa) {
		pr_err(m, "%s: configured without NUMA balancing events (HFTMON_EV_NUMA)",
		       what);
		return -EOPNOTSUPP;
	}
	return 0;
}

static bool matches(const struct hftmon_numa_query *q, int32_t pid, int32_t tid)
{
	return (!q->pid || q->pid == pid) && (!q->tid || q->tid == tid);
}

static int by_tid(const void *pa, const void *pb)
{
	const struct hftmon_numa_activity *a = pa, *b = pb;

	return (a->tid > b->tid) - (a->tid < b->tid);
}

static void activity_of(const struct hftmon_agg *a,
			const struct hftmon_agg_numa_thread *t,
			struct hftmon_numa_activity *o)
{
	const struct hftmon_agg_thread *st = hftmon_agg_thread_find(a, t->tid);

	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->pid = t->pid;
	o->tid = t->tid;
	o->hint_faults = t->faults;
	o->hint_faults_local = t->faults_local;
	o->hint_faults_remote = t->faults - t->faults_local;
	o->hint_fault_pages = t->fault_pages;
	o->faults_migrated = t->faults_migrated;
	o->pages_migrated = t->pages_migrated;
	o->faults_migrate_failed = t->faults_migrate_failed;
	o->pages_migrate_failed = t->pages_migrate_failed;
	o->faults_shared = t->faults_shared;
	o->task_moves = t->moves;
	o->task_swaps = t->swaps;
	o->task_sticks = t->sticks;
	o->first_ns = t->first_ns;
	o->last_ns = t->last_ns;
	o->node = t->node;
	o->node_changes = t->node_changes;
	memcpy(o->on_node_ns, t->on_node_ns, sizeof(o->on_node_ns));
	o->on_unknown_ns = t->on_unknown_ns;
	/* On CPU still: its stint so far, up to what was taken in. */
	if (st && st->state == HFTMON_AGG_ON_CPU) {
		uint64_t until = a->known_ns;
		int node;

		if (a->stop_ns && a->stop_ns < until)
			until = a->stop_ns;
		if (until > st->on_since_ns) {
			node = node_of(a->numa, st->on_cpu);
			if (node < 0)
				o->on_unknown_ns += until - st->on_since_ns;
			else
				o->on_node_ns[node] += until - st->on_since_ns;
		}
	}
}

HFTMON_API int hftmon_get_numa_activity(struct hftmon *m,
					const struct hftmon_numa_query *q,
					struct hftmon_numa_activity *out,
					size_t max)
{
	struct hftmon_numa_query qq;
	const struct hftmon_agg_numa *n;
	size_t stride, filled = 0, all = 0;
	uint32_t i;
	int err;

	if (!m || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	err = numa_check(m, q, &qq, "NUMA activity query");
	if (err)
		return err;
	if (qq.window_us || qq.kinds)
		return -EINVAL;
	stride = max ? out->sz : 0;
	hftmon_lock(m);
	n = m->agg.numa;
	for (i = 0; i < n->nr_slots; i++) {
		const struct hftmon_agg_numa_thread *t = &n->threads[i];
		struct hftmon_numa_activity o;

		if (!t->tid || !matches(&qq, t->pid, t->tid))
			continue;
		if (filled < max) {
			activity_of(&m->agg, t, &o);
			hftmon_put_out(out, stride, filled++, &o, sizeof(o));
		}
		all++;
	}
	hftmon_unlock(m);
	/* By tid: sorted in place when the caller's elements are ours. */
	if (filled > 1 && stride == sizeof(struct hftmon_numa_activity))
		qsort(out, filled, stride, by_tid);
	return all > INT_MAX ? INT_MAX : (int)all;
}

static void event_of(const struct hftmon_agg_numa_ev *e,
		     struct hftmon_numa_event *o)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->time_ns = e->time_ns;
	o->pid = e->pid;
	o->tid = e->tid;
	o->kind = e->kind;
	o->flags = e->flags;
	o->pages = e->pages;
	o->src_cpu = e->src_cpu;
	o->src_node = e->src_node;
	o->dst_cpu = e->dst_cpu;
	o->dst_node = e->dst_node;
	o->other_pid = e->other_pid;
	o->other_tid = e->other_tid;
}

static bool event_wanted(const struct hftmon_numa_query *q,
			 const struct hftmon_agg_numa_ev *e, uint64_t since)
{
	return e->time_ns >= since && matches(q, e->pid, e->tid) &&
	       (!q->kinds || (q->kinds & (1u << e->kind)));
}

HFTMON_API int hftmon_get_numa_events(struct hftmon *m,
				      const struct hftmon_numa_query *q,
				      struct hftmon_numa_event *out, size_t max)
{
	struct hftmon_numa_query qq;
	const struct hftmon_agg_numa *n;
	uint64_t fi, mi, fend, mend, since;
	size_t stride, all = 0;
	int err;

	if (!m || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	err = numa_check(m, q, &qq, "NUMA event query");
	if (err)
		return err;
	if (qq.kinds & ~(uint32_t)((1u << HFTMON_NUMA_EV_FAULT) |
				   (1u << HFTMON_NUMA_EV_MOVE) |
				   (1u << HFTMON_NUMA_EV_SWAP) |
				   (1u << HFTMON_NUMA_EV_STICK) |
				   (1u << HFTMON_NUMA_EV_NODE)))
		return -EINVAL;
	stride = max ? out->sz : 0;
	since = hftmon_window_start(m, qq.window_us);
	hftmon_lock(m);
	n = m->agg.numa;
	fend = n->fault_total;
	mend = n->move_total;
	fi = fend > n->fault_cap ? fend - n->fault_cap : 0;
	mi = mend > n->move_cap ? mend - n->move_cap : 0;
	/* Both histories are in time order: merge them. */
	while (fi < fend || mi < mend) {
		const struct hftmon_agg_numa_ev *f =
			fi < fend ? &n->faults[fi % n->fault_cap] : NULL;
		const struct hftmon_agg_numa_ev *v =
			mi < mend ? &n->moves[mi % n->move_cap] : NULL;
		const struct hftmon_agg_numa_ev *e;
		struct hftmon_numa_event o;

		if (f && (!v || f->time_ns <= v->time_ns)) {
			e = f;
			fi++;
		} else {
			e = v;
			mi++;
		}
		if (!event_wanted(&qq, e, since))
			continue;
		if (all < max) {
			event_of(e, &o);
			hftmon_put_out(out, stride, all, &o, sizeof(o));
		}
		all++;
	}
	hftmon_unlock(m);
	return all > INT_MAX ? INT_MAX : (int)all;
}

/* ---- access statistics and the page heatmap ----------------------------- */

/* The heatmap's order: address, size, memory node, CPU node. */
static int access_cmp(const struct hftmon_agg_numa_access *a,
		      const struct hftmon_agg_numa_access *b)
{
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->pages != b->pages)
		return a->pages < b->pages ? -1 : 1;
	if (a->mem_node != b->mem_node)
		return a->mem_node < b->mem_node ? -1 : 1;
	return (a->cpu_node > b->cpu_node) - (a->cpu_node < b->cpu_node);
}

static void sift_down(struct hftmon_agg_numa_access *v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct hftmon_agg_numa_access t;

		if (c >= n)
			return;
		if (c + 1 < n && access_cmp(&v[c], &v[c + 1]) < 0)
			c++;
		if (access_cmp(&v[i], &v[c]) >= 0)
			return;
		t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

/* In place and without allocating (glibc's qsort may malloc). */
static void access_sort(struct hftmon_agg_numa_access *v, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (i = n; i-- > 1;) {
		struct hftmon_agg_numa_access t = v[0];

		v[0] = v[i];
		v[i] = t;
		sift_down(v, 0, i);
	}
}

static bool same_cell(const struct hftmon_agg_numa_access *a,
		      const struct hftmon_agg_numa_access *b)
{
	return a->addr == b->addr && a->pages == b->pages &&
	       a->mem_node == b->mem_node && a->cpu_node == b->cpu_node;
}

/* Rows of the sorted v[0..nk) into heat (the first max); how many in all. */
static size_t heat_rows(const struct hftmon_agg_numa_access *v, size_t nk,
			uint32_t page_size, struct hftmon_numa_heat *heat,
			size_t max)
{
	size_t stride = max ? heat->sz : 0, rows = 0, i = 0;

	while (i < nk) {
		struct hftmon_numa_heat h = { .sz = sizeof(h) };
		size_t j = i;

		h.addr = v[i].addr;
		h.bytes = (uint64_t)v[i].pages * page_size;
		h.mem_node = v[i].mem_node;
		h.cpu_node = v[i].cpu_node;
		h.first_ns = v[i].time_ns;
		h.last_ns = v[i].time_ns;
		for (; j < nk && same_cell(&v[i], &v[j]); j++) {
			h.count++;
			if (v[j].time_ns < h.first_ns)
				h.first_ns = v[j].time_ns;
			if (v[j].time_ns > h.last_ns)
				h.last_ns = v[j].time_ns;
		}
		if (rows < max)
			hftmon_put_out(heat, stride, rows, &h, sizeof(h));
		rows++;
		i = j;
	}
	return rows;
}

static __thread struct hftmon_numa_stats stats_copy;

HFTMON_API int hftmon_get_numa_stats(struct hftmon *m,
				     const struct hftmon_numa_stats_query *q,
				     struct hftmon_numa_stats *out)
{
	struct hftmon_numa_stats_query qq;
	struct hftmon_numa_stats *o;
	const struct hftmon_agg_numa *n;
	const struct hftmon_agg_numa_access *hist;
	struct hftmon_agg_numa_access *sort;
	const struct hftmon_numa_line *l = NULL;
	uint64_t i, first, end, since, until, total;
	size_t nk = 0, rows = 0;
	uint32_t cap, unit;
	bool line, heat;
	int err, hi = -1, c;

	if (!m || !out || !HFTMON_OUT_OK(out))
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&qq, q, max_heat);
	if (err)
		return err;
	if (qq.pid < 0 || qq.tid < 0 ||
	    qq.resolution > HFTMON_NUMA_RES_CACHELINE ||
	    (qq.window_us && (qq.since_ns || qq.until_ns)) ||
	    (qq.until_ns && qq.until_ns <= qq.since_ns) ||
	    (qq.max_heat && (!qq.heat || !HFTMON_OUT_OK(qq.heat))) ||
	    (qq.max_heat && qq.resolution == HFTMON_NUMA_RES_NONE))
		return -EINVAL;
	line = qq.resolution == HFTMON_NUMA_RES_CACHELINE;
	heat = qq.resolution != HFTMON_NUMA_RES_NONE;
	err = hftmon_check_configured(m, "NUMA stats query");
	if (err)
		return err;
	if (!m->agg.numa) {
		pr_err(m, "NUMA stats query: configured without NUMA balancing events (HFTMON_EV_NUMA)");
		return -EOPNOTSUPP;
	}
	if (line) {
		l = m->line;
		if (!l) {
			pr_err(m, "NUMA heatmap: cache-line resolution needs a session configured with numa_line_period (the CPU's address sampling)");
			return -EOPNOTSUPP;
		}
		/* Set at configure and start, before any query can run. */
		if (l->status) {
			pr_err(m, "NUMA heatmap: cache-line resolution unsupported: %s",
			       l->why);
			return -EOPNOTSUPP;
		}
	} else if (!(m->info.features & HFTMON_FEAT_NUMA_ACCESS)) {
		pr_err(m, "NUMA stats query: this module records no hinting fault addresses (HFTMON_FEAT_NUMA_ACCESS)");
		return -EOPNOTSUPP;
	}
	since = qq.window_us ? hftmon_window_start(m, qq.window_us) : qq.since_ns;
	until = qq.window_us ? 0 : qq.until_ns;
	/* 32 KiB: the caller's own when it is ours, else a thread's copy. */
	o = out->sz == sizeof(*out) ? out : &stats_copy;
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->page_size = m->info.page_size ? m->info.page_size : 4096;
	hftmon_lock(m);
	n = m->agg.numa;
	if (line) {
		snprintf(o->source, sizeof(o->source), "%s", l->source);
		snprintf(o->source_event, sizeof(o->source_event), "%s",
			 l->event);
		o->lost = l->lost;
		o->skipped = l->skipped;
		hist = l->hist;
		sort = l->sort;
		cap = l->cap;
		total = l->total;
		unit = HFTMON_LINE_SIZE;
	} else {
		snprintf(o->source, sizeof(o->source), "NUMA hinting faults");
		hist = n->accesses;
		sort = n->access_sort;
		cap = n->access_cap;
		total = n->access_total;
		unit = o->page_size;
	}
	end = total;
	first = end > cap ? end - cap : 0;
	/* Lost: everything before the oldest held, if the range reaches it. */
	if (first && hist[first % cap].time_ns > since)
		o->missed = first;
	for (i = first; i < end; i++) {
		const struct hftmon_agg_numa_access *x = &hist[i % cap];

		if (x->time_ns < since || (until && x->time_ns >= until) ||
		    (qq.pid && qq.pid != x->pid) || (qq.tid && qq.tid != x->tid))
			continue;
		if (!o->samples++)
			o->first_ns = x->time_ns;
		o->last_ns = x->time_ns;
		if (x->mem_node < 0 || x->cpu_node < 0) {
			o->unknown++;
		} else {
			o->by_node[x->mem_node][x->cpu_node]++;
			if (x->mem_node == x->cpu_node)
				o->local++;
			else
				o->remote++;
			if (x->mem_node > hi)
				hi = x->mem_node;
			if (x->cpu_node > hi)
				hi = x->cpu_node;
		}
		if (heat)
			sort[nk++] = *x;
	}
	if (heat) {
		access_sort(sort, nk);
		rows = heat_rows(sort, nk, unit, qq.heat, qq.max_heat);
	}
	for (i = 0; i < n->nr_cpus; i++)
		if (n->cpu_node[i] > hi)
			hi = n->cpu_node[i];
	hftmon_unlock(m);
	c = hi + 1;
	o->nr_nodes = (uint32_t)c;
	{
		struct hftmon_pmu_query pq = {
			.sz = sizeof(pq), .pid = qq.pid, .tid = qq.tid,
			.window_us = qq.window_us,
			.from_ns = qq.since_ns, .to_ns = qq.until_ns,
		};

		hftmon_numa_dram_stats(m, &pq, o);
	}
	if (o != out)
		hftmon_copy_out(out, out->sz, o, sizeof(*o));
	return rows > INT_MAX ? INT_MAX : (int)rows;
}
