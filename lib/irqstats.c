// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon_get_irq_stats(): the aggregator's interruption sources (agg.c)
 * as rows per CPU and source. Window 0 sums the totals kept since
 * configure (one entry per CPU, source and tracked thread interrupted);
 * a window, or a mark (the entries after the caller's last call), reads
 * the interruption history instead, its samples sorted outside the lock
 * and bucketed like the totals' histograms. Never
 * allocates (the buffers come from configure) and holds the aggregator
 * lock one batch at a time.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "agg.h"
#include "handle.h"
#include "hist.h"

/* One row being summed: the totals of its entries. */
struct row_acc {
	uint64_t count, net_ns, max_ns, raise_count, raise_max_ns;
	struct hftmon_agg_hist net, raise;
};

static int src_cmp(const struct hftmon_agg_irq_src *x,
		   const struct hftmon_agg_irq_src *y)
{
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->nr != y->nr)
		return x->nr < y->nr ? -1 : 1;
	return 0;
}

/* Heapsort of entry indexes by (cpu, kind, nr): no allocation. */
static void order_sift(const struct hftmon_agg_irq_src *srcs, uint32_t *v,
		       size_t i, size_t n)
{
	uint32_t x = v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && src_cmp(&srcs[v[c + 1]], &srcs[v[c]]) > 0)
			c++;
		if (src_cmp(&srcs[v[c]], &srcs[x]) <= 0)
			break;
		v[i] = v[c];
		i = c;
	}
	v[i] = x;
}

static void order_sort(const struct hftmon_agg_irq_src *srcs, uint32_t *v,
		       size_t n)
{
	size_t i;

	if (n < 2)
		return;
	for (i = n / 2; i-- > 0;)
		order_sift(srcs, v, i, n);
	for (i = n - 1; i > 0; i--) {
		uint32_t top = v[0];

		v[0] = v[i];
		v[i] = top;
		order_sift(srcs, v, 0, i);
	}
}

static bool pair_less(const struct hftmon_irq_pair *x,
		      const struct hftmon_irq_pair *y)
{
	return x->key != y->key ? x->key < y->key : x->ns < y->ns;
}

static void pair_sift(struct hftmon_irq_pair *v, size_t i, size_t n)
{
	struct hftmon_irq_pair x = v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && pair_less(&v[c], &v[c + 1]))
			c++;
		if (!pair_less(&x, &v[c]))
			break;
		v[i] = v[c];
		i = c;
	}
	v[i] = x;
}

static void pair_sort(struct hftmon_irq_pair *v, size_t n)
{
	size_t i;

	if (n < 2)
		return;
	for (i = n / 2; i-- > 0;)
		pair_sift(v, i, n);
	for (i = n - 1; i > 0; i--) {
		struct hftmon_irq_pair top = v[0];

		v[0] = v[i];
		v[i] = top;
		pair_sift(v, 0, i);
	}
}

#define PAIR_RAISE (1ull << 35)
#define PAIR_KEY(cpu, kind, nr) \
	((uint64_t)(cpu) << 40 | (uint64_t)(kind) << 36 | (uint64_t)(nr))

/* The nearest-rank sample p of n sorted ones, as a histogram reports it. */
static uint64_t sample_pct(const struct hftmon_irq_pair *sorted, uint64_t n,
			   double p)
{
	uint64_t v = sorted[hftmon_hist_rank(n, p) - 1].ns, max = sorted[n - 1].ns,
		 up = hftmon_agg_hist_upper(hftmon_agg_hist_bucket(v));

	return up < max ? up : max;
}

static void put_row(struct hftmon_irq_row *out, size_t stride, size_t i,
		    const struct hftmon_irq_row *row)
{
	struct hftmon_irq_row *o = (void *)((unsigned char *)out + i * stride);

	o->sz = stride;
	hftmon_copy_out(o, stride, row, sizeof(*row));
}

/* Window 0: the totals, one row per (cpu, kind, nr) summed over threads. */
static int totals(struct hftmon *m, const struct hftmon_irq_query *q,
		  struct hftmon_irq_row *out, size_t max, size_t stride)
{
	const struct hftmon_agg_irq_src *srcs = m->agg.srcs;
	struct hftmon_irq_row row;
	struct row_acc acc;
	size_t n = 0, i, j, rows = 0;
	uint32_t e;

	/* Entries never move or change key once made: order them unlocked. */
	hftmon_lock(m);
	for (e = 0; e < m->agg.nr_srcs; e++)
		if ((q->cpu < 0 || srcs[e].cpu == q->cpu) &&
		    (!q->tid || srcs[e].tid == q->tid))
			m->irq_order[n++] = e;
	hftmon_unlock(m);
	order_sort(srcs, m->irq_order, n);

	for (i = 0; i < n; i = j) {
		const struct hftmon_agg_irq_src *first = &srcs[m->irq_order[i]];
		unsigned int b;

		memset(&acc, 0, sizeof(acc));
		memset(&row, 0, sizeof(row));
		hftmon_lock(m);
		for (j = i; j < n && !src_cmp(&srcs[m->irq_order[j]], first);
		     j++) {
			const struct hftmon_agg_irq_src *s =
				&srcs[m->irq_order[j]];

			acc.count += s->count;
			acc.net_ns += s->net_ns;
			acc.max_ns = s->max_ns > acc.max_ns ? s->max_ns : acc.max_ns;
			acc.raise_count += s->raise_count;
			if (s->raise_max_ns > acc.raise_max_ns)
				acc.raise_max_ns = s->raise_max_ns;
			for (b = 0; b < HFTMON_AGG_HIST_BUCKETS; b++) {
				acc.net.n[b] += s->net.n[b];
				acc.raise.n[b] += s->raise.n[b];
			}
		}
		hftmon_agg_irq_name(&m->agg, first->kind, first->nr, row.name);
		hftmon_unlock(m);
		row.cpu = first->cpu;
		row.kind = first->kind;
		row.nr = first->nr;
		row.count = acc.count;
		row.net_ns = acc.net_ns;
		row.max_ns = acc.max_ns;
		row.p50_ns = hftmon_agg_hist_pct(&acc.net, acc.count, acc.max_ns, 50);
		row.p90_ns = hftmon_agg_hist_pct(&acc.net, acc.count, acc.max_ns, 90);
		row.p99_ns = hftmon_agg_hist_pct(&acc.net, acc.count, acc.max_ns, 99);
		row.p999_ns =
			hftmon_agg_hist_pct(&acc.net, acc.count, acc.max_ns, 99.9);
		row.raise_count = acc.raise_count;
		row.raise_max_ns = acc.raise_max_ns;
		row.raise_p50_ns = hftmon_agg_hist_pct(&acc.raise, acc.raise_count,
						       acc.raise_max_ns, 50);
		row.raise_p99_ns = hftmon_agg_hist_pct(&acc.raise, acc.raise_count,
						       acc.raise_max_ns, 99);
		if (rows < max)
			put_row(out, stride, rows, &row);
		rows++;
	}
	return rows > INT_MAX ? INT_MAX : (int)rows;
}

/*
 * A window, or the interval after a mark: the history's samples, sorted,
 * grouped into rows. A mark's interval is a range of the history's
 * entries, so two calls' intervals neither overlap nor leave a gap.
 */
static int windowed(struct hftmon *m, const struct hftmon_irq_query *q,
		    struct hftmon_irq_row *out, size_t max, size_t stride)
{
	struct hftmon_irq_pair *p = m->irq_pairs;
	uint64_t since = 0, i, end, oldest, missed = 0;
	size_t n = 0, k, g, rows = 0;

	hftmon_lock(m);
	end = m->agg.irq_total;
	if (q->mark) {
		i = q->mark->next < end ? q->mark->next : end;
		oldest = hftmon_agg_irq_oldest(&m->agg);
		if (i < oldest) {
			missed = oldest - i;
			i = oldest;
		}
	} else {
		since = hftmon_window_start(m, q->window_us);
		i = hftmon_agg_irq_first(&m->agg, since);
	}
	while (i < end) {
		uint64_t batch_end = end - i > HFTMON_QUERY_BATCH ?
					     i + HFTMON_QUERY_BATCH :
					     end;

		oldest = hftmon_agg_irq_oldest(&m->agg);
		if (i < oldest) { /* overwritten while the lock was yielded */
			if (q->mark)
				missed += oldest - i;
			i = oldest;
		}
		for (; i < batch_end; i++) {
			const struct hftmon_agg_irq *e = hftmon_agg_irq_at(&m->agg, i);
			uint64_t key = PAIR_KEY(e->cpu, e->kind, e->nr);

			if ((q->cpu >= 0 && e->cpu != q->cpu) ||
			    (q->tid && e->tid != q->tid) || e->end_ns < since ||
			    n + 2 > m->irq_pair_cap)
				continue;
			p[n].key = key;
			p[n++].ns = e->net_ns;
			if (e->kind == HFTMON_IRQ_KIND_SOFTIRQ && e->raise_ns &&
			    e->raise_ns <= e->start_ns) {
				p[n].key = key | PAIR_RAISE;
				p[n++].ns = e->start_ns - e->raise_ns;
			}
		}
		hftmon_lock_yield(m);
	}
	hftmon_unlock(m);
	pair_sort(p, n);

	for (k = 0; k < n; k = g) {
		uint64_t key = p[k].key & ~PAIR_RAISE, nn, sum = 0;
		struct hftmon_irq_row row;
		size_t r;

		memset(&row, 0, sizeof(row));
		row.cpu = (int)(key >> 40);
		row.kind = (uint32_t)(key >> 36) & 0xf;
		row.nr = (uint32_t)key;
		for (g = k; g < n && p[g].key == key; g++)
			sum += p[g].ns;
		nn = g - k;
		if (nn) {
			row.count = nn;
			row.net_ns = sum;
			row.max_ns = p[g - 1].ns;
			row.p50_ns = sample_pct(p + k, nn, 50);
			row.p90_ns = sample_pct(p + k, nn, 90);
			row.p99_ns = sample_pct(p + k, nn, 99);
			row.p999_ns = sample_pct(p + k, nn, 99.9);
		}
		for (r = g; g < n && p[g].key == (key | PAIR_RAISE); g++)
			;
		if (g > r) {
			row.raise_count = g - r;
			row.raise_max_ns = p[g - 1].ns;
			row.raise_p50_ns = sample_pct(p + r, g - r, 50);
			row.raise_p99_ns = sample_pct(p + r, g - r, 99);
		}
		hftmon_lock(m);
		hftmon_agg_irq_name(&m->agg, row.kind, row.nr, row.name);
		hftmon_unlock(m);
		if (rows < max)
			put_row(out, stride, rows, &row);
		rows++;
	}
	if (q->mark && rows <= max) {
		q->mark->next = end;
		q->mark->missed = missed;
	}
	return rows > INT_MAX ? INT_MAX : (int)rows;
}

HFTMON_API int hftmon_get_irq_stats(struct hftmon *m,
				    const struct hftmon_irq_query *q,
				    struct hftmon_irq_row *out, size_t max)
{
	struct hftmon_irq_query qq;
	int err;

	if (!m || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&qq, q, mark);
	if (err)
		return err;
	if (!q)
		qq.cpu = -1; /* NULL: every CPU */
	if (qq.cpu < -1 || qq.tid < 0 || (qq.mark && qq.window_us))
		return -EINVAL;
	err = hftmon_check_configured(m, "interruption query");
	if (err)
		return err;
	if (!m->agg.max_srcs) {
		pr_err(m,
		       "interruption query: configured without interruption events (HFTMON_EV_IRQ_ALL)");
		return -EOPNOTSUPP;
	}
	return qq.window_us || qq.mark ? windowed(m, &qq, out, max, max ? out->sz : 0) :
			      totals(m, &qq, out, max, max ? out->sz : 0);
}
