// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Cache metrics (HFTMON_2.4): the table of the events that give each
 * cache, TLB, branch and false-sharing metric (the kernel's generic
 * encodings, and the libpfm4 names of the vendor events, tried in order
 * against this machine's PMU), and hftmon_get_cache_metrics(), which
 * reads the PMU slice history of pmu.c over a window: per counter its
 * total, and percentiles of its per-slice counts and rates (per us on
 * CPU, per 1000 instructions); per level the miss ratio over the slices
 * where both of its counters counted. A slice in which a counter did not
 * count is no sample of it: nothing is filled in or scaled. The query's
 * buffers are taken at configure (hftmon_cache_setup()); the window's
 * per-slice values are copied under the aggregator lock in one pass and
 * sorted outside it, in place.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <linux/perf_event.h>

#include "agg.h"
#include "handle.h"
#include "hist.h"
#include "pmu.h"

#define HW_CACHE(cache, op, result)                                     \
	(PERF_COUNT_HW_CACHE_##cache | (PERF_COUNT_HW_CACHE_OP_##op << 8) | \
	 (PERF_COUNT_HW_CACHE_RESULT_##result << 16))

struct cache_event_def {
	const char *name;
	uint32_t type; /* generic events: perf_event_attr's */
	uint64_t config;
	const char *const *vendor; /* else libpfm4 names, NULL-terminated */
};

/* Intel (icx, spr...) first, then AMD Zen 3, Zen 4: one of each is here. */
static const char *const l2_access[] = {
	"L2_RQSTS:ALL_DEMAND_REFERENCES",
	"CORE_TO_L2_CACHEABLE_REQUEST_ACCESS_STATUS:LS_RD_BLK_C:LS_RD_BLK_X:LS_RD_BLK_L_HIT_S:LS_RD_BLK_L_HIT_X:LS_RD_BLK_C_S",
	NULL
};
static const char *const l2_miss[] = {
	"L2_RQSTS:ALL_DEMAND_MISS",
	"CORE_TO_L2_CACHEABLE_REQUEST_ACCESS_STATUS:LS_RD_BLK_C", NULL
};
/* Ice Lake's HITM is Sapphire Rapids' FWD (same encoding, 0x04d2). */
static const char *const fs_hitm[] = { "MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM",
				       "MEM_LOAD_L3_HIT_RETIRED:XSNP_FWD",
				       NULL };
static const char *const fs_remote[] = {
	"MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM", NULL
};
static const char *const fs_clears[] = { "MACHINE_CLEARS:MEMORY_ORDERING",
					 NULL };
/* Fills from another CCX's cache, in this node or another (Zen 3, Zen 4). */
static const char *const fs_ccx[] = {
	"ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_LCL:EXT_CACHE_RMT",
	"ANY_DATA_CACHE_FILLS_FROM_SYSTEM:NEAR_CACHE_NEAR_FAR:FAR_CACHE_NEAR_FAR",
	NULL
};

static const struct cache_event_def events[HFTMON_CACHE_NR_EVENTS] = {
	[HFTMON_CACHE_EV_INSTRUCTIONS] = { "instructions", PERF_TYPE_HARDWARE,
					   PERF_COUNT_HW_INSTRUCTIONS },
	[HFTMON_CACHE_EV_CYCLES] = { "cycles", PERF_TYPE_HARDWARE,
				     PERF_COUNT_HW_CPU_CYCLES },
	[HFTMON_CACHE_EV_L1D_ACCESS] = { "L1-dcache-loads", PERF_TYPE_HW_CACHE,
					 HW_CACHE(L1D, READ, ACCESS) },
	[HFTMON_CACHE_EV_L1D_MISS] = { "L1-dcache-load-misses",
				       PERF_TYPE_HW_CACHE,
				       HW_CACHE(L1D, READ, MISS) },
	[HFTMON_CACHE_EV_L1I_ACCESS] = { "L1-icache-loads", PERF_TYPE_HW_CACHE,
					 HW_CACHE(L1I, READ, ACCESS) },
	[HFTMON_CACHE_EV_L1I_MISS] = { "L1-icache-load-misses",
				       PERF_TYPE_HW_CACHE,
				       HW_CACHE(L1I, READ, MISS) },
	[HFTMON_CACHE_EV_LLC_ACCESS] = { "LLC-loads", PERF_TYPE_HW_CACHE,
					 HW_CACHE(LL, READ, ACCESS) },
	[HFTMON_CACHE_EV_LLC_MISS] = { "LLC-load-misses", PERF_TYPE_HW_CACHE,
				       HW_CACHE(LL, READ, MISS) },
	[HFTMON_CACHE_EV_DTLB_ACCESS] = { "dTLB-loads", PERF_TYPE_HW_CACHE,
					  HW_CACHE(DTLB, READ, ACCESS) },
	[HFTMON_CACHE_EV_DTLB_MISS] = { "dTLB-load-misses", PERF_TYPE_HW_CACHE,
					HW_CACHE(DTLB, READ, MISS) },
	[HFTMON_CACHE_EV_ITLB_ACCESS] = { "iTLB-loads", PERF_TYPE_HW_CACHE,
					  HW_CACHE(ITLB, READ, ACCESS) },
	[HFTMON_CACHE_EV_ITLB_MISS] = { "iTLB-load-misses", PERF_TYPE_HW_CACHE,
					HW_CACHE(ITLB, READ, MISS) },
	[HFTMON_CACHE_EV_BRANCHES] = { "branches", PERF_TYPE_HARDWARE,
				       PERF_COUNT_HW_BRANCH_INSTRUCTIONS },
	[HFTMON_CACHE_EV_BRANCH_MISS] = { "branch-misses", PERF_TYPE_HARDWARE,
					  PERF_COUNT_HW_BRANCH_MISSES },
	[HFTMON_CACHE_EV_L2_ACCESS] = { "l2-accesses", .vendor = l2_access },
	[HFTMON_CACHE_EV_L2_MISS] = { "l2-misses", .vendor = l2_miss },
	[HFTMON_CACHE_EV_FS_HITM] = { "xsnp-hitm", .vendor = fs_hitm },
	[HFTMON_CACHE_EV_FS_REMOTE_HITM] = { "remote-hitm",
					     .vendor = fs_remote },
	[HFTMON_CACHE_EV_FS_MO_CLEARS] = { "memory-ordering-clears",
					   .vendor = fs_clears },
	[HFTMON_CACHE_EV_FS_OTHER_CCX] = { "other-ccx-fills",
					   .vendor = fs_ccx },
	[HFTMON_CACHE_EV_PAGE_FAULTS] = { "page-faults", PERF_TYPE_SOFTWARE,
					  PERF_COUNT_SW_PAGE_FAULTS },
	[HFTMON_CACHE_EV_MINOR_FAULTS] = { "minor-faults", PERF_TYPE_SOFTWARE,
					   PERF_COUNT_SW_PAGE_FAULTS_MIN },
	[HFTMON_CACHE_EV_MAJOR_FAULTS] = { "major-faults", PERF_TYPE_SOFTWARE,
					   PERF_COUNT_SW_PAGE_FAULTS_MAJ },
	[HFTMON_CACHE_EV_TASK_CLOCK] = { "task-clock", PERF_TYPE_SOFTWARE,
					 PERF_COUNT_SW_TASK_CLOCK },
};

/* Each level's access and miss events. */
static const struct {
	const char *name;
	uint16_t access, miss;
} levels[HFTMON_CACHE_NR_LEVELS] = {
	[HFTMON_CACHE_L1D] = { "L1D", HFTMON_CACHE_EV_L1D_ACCESS,
			       HFTMON_CACHE_EV_L1D_MISS },
	[HFTMON_CACHE_L1I] = { "L1I", HFTMON_CACHE_EV_L1I_ACCESS,
			       HFTMON_CACHE_EV_L1I_MISS },
	[HFTMON_CACHE_L2] = { "L2", HFTMON_CACHE_EV_L2_ACCESS,
			      HFTMON_CACHE_EV_L2_MISS },
	[HFTMON_CACHE_LLC] = { "LLC", HFTMON_CACHE_EV_LLC_ACCESS,
			       HFTMON_CACHE_EV_LLC_MISS },
	[HFTMON_CACHE_DTLB] = { "dTLB", HFTMON_CACHE_EV_DTLB_ACCESS,
				HFTMON_CACHE_EV_DTLB_MISS },
	[HFTMON_CACHE_ITLB] = { "iTLB", HFTMON_CACHE_EV_ITLB_ACCESS,
				HFTMON_CACHE_EV_ITLB_MISS },
	[HFTMON_CACHE_BRANCH] = { "branch", HFTMON_CACHE_EV_BRANCHES,
				  HFTMON_CACHE_EV_BRANCH_MISS },
};

/* The default set, in the order a smaller PMU budget keeps them. */
static const char *const default_set[] = {
	"instructions", "L1-dcache-loads", "L1-dcache-load-misses",
	"LLC-load-misses", "LLC-loads", "dTLB-load-misses", "branch-misses",
	"cycles",
};

/*
 * A slice in which a counter did not count: no sample of it (a counter's
 * delta in one slice never reaches 2^64 - 1).
 */
#define MISSED UINT64_MAX

struct hftmon_cache_buf {
	uint32_t cap; /* the PMU history's slices */
	uint16_t event[HFTMON_PMU_MAX_COUNTERS]; /* the counters' events */
	uint64_t *len; /* cap: a window's slices' lengths, ns */
	uint64_t *val; /* HFTMON_PMU_MAX_COUNTERS * cap: deltas, or MISSED */
	uint64_t *u; /* cap: a sort buffer of counts */
	uint64_t *r; /* cap: one of rates, as their bits (rate_bits()) */
};

HFTMON_API const char *hftmon_cache_event_name(unsigned int event)
{
	return event < HFTMON_CACHE_NR_EVENTS ? events[event].name : NULL;
}

HFTMON_API const char *hftmon_cache_level_name(unsigned int level)
{
	return level < HFTMON_CACHE_NR_LEVELS ? levels[level].name : NULL;
}

HFTMON_API const char *hftmon_pmu_reason(int status)
{
	switch (status) {
	case 0:
		return NULL;
	case -ENOENT:
		return "this CPU's PMU has no such event (there is none under x86 TCG)";
	case -EOPNOTSUPP:
		return "the PMU cannot count this event this way (a pinned per-CPU counter)";
	case -EACCES:
	case -EPERM:
		return "not permitted: needs CAP_PERFMON or a lower kernel.perf_event_paranoid";
	case -EINVAL:
		return "the kernel refused the event's encoding";
	case -EIO:
		return "the counter was in error state: another user (the NMI watchdog, perf) holds its slot";
	case -EAGAIN:
	case -EBUSY:
		return "the counter was not scheduled on the CPU: the PMU's counters were all taken";
	case -ENODATA:
		return "the record carried no value for this counter";
	case -ENODEV:
		return "this CPU has no such PMU";
	default:
		return strerror(-status);
	}
}

/* The table's event with encoding (type, config) as generic; OTHER if none. */
static unsigned int generic_event(uint32_t type, uint64_t config)
{
	unsigned int e;

	for (e = 0; e < HFTMON_CACHE_NR_EVENTS; e++)
		if (!events[e].vendor && events[e].type == type &&
		    events[e].config == config)
			return e;
	return HFTMON_CACHE_EV_OTHER;
}

/* A vendor event's first libpfm4 name this machine's PMU knows: 0 or -errno. */
static int vendor_encoding(const struct cache_event_def *d,
			   struct hftmon_pmu_counter *c)
{
	int i, err = -ENOENT;

	for (i = 0; d->vendor[i]; i++) {
		err = hftmon_pmu_event_parse(NULL, d->vendor[i], c);
		if (!err || err == -EOPNOTSUPP)
			return err;
	}
	return -ENOENT; /* each name unknown here, or a umask it lacks */
}

static int name_event(const char *name)
{
	unsigned int e;

	for (e = 0; e < HFTMON_CACHE_NR_EVENTS; e++)
		if (!strcmp(events[e].name, name))
			return (int)e;
	return -1;
}

HFTMON_API int hftmon_cache_counters(struct hftmon *m,
				     const char *const *names, size_t nr,
				     struct hftmon_pmu_counter *out,
				     size_t max)
{
	size_t i, stride;
	int err;

	if (!out || !max || out->sz < hftmon_offsetofend(
					      struct hftmon_pmu_counter, config))
		return -EINVAL;
	if (!names) {
		names = default_set;
		nr = sizeof(default_set) / sizeof(default_set[0]);
		if (nr > max)
			nr = max;
		if (nr > HFTMON_PMU_MAX_COUNTERS)
			nr = HFTMON_PMU_MAX_COUNTERS;
	}
	if (!nr)
		return -EINVAL;
	if (nr > max || nr > HFTMON_PMU_MAX_COUNTERS) {
		if (m)
			pr_err(m, "%zu PMU events: at most %d (HFTMON_PMU_MAX_COUNTERS)",
			       nr, HFTMON_PMU_MAX_COUNTERS);
		return -E2BIG;
	}
	stride = out->sz;
	for (i = 0; i < nr; i++) {
		struct hftmon_pmu_counter *c =
			(void *)((char *)out + i * stride);
		int e;

		if (!names[i] || !*names[i])
			return -EINVAL;
		c->sz = stride;
		e = name_event(names[i]);
		if (e >= 0 && !events[e].vendor) {
			c->type = events[e].type;
			c->config = events[e].config;
			continue;
		}
		err = e >= 0 ? vendor_encoding(&events[e], c) :
			       hftmon_pmu_event_parse(m, names[i], c);
		if (err) {
			if (m && e >= 0)
				pr_err(m, "PMU event %s: %s", names[i],
				       err == -ENOENT ?
					       "this machine's PMU has none of its vendor events (libpfm4)" :
					       "libpfm4 is not installed");
			return err;
		}
	}
	return (int)nr;
}

/*
 * The event of each configured counter: the table's generic encodings,
 * and for a raw counter the vendor events as libpfm4 encodes them here
 * (configure time: libpfm4 may allocate).
 */
static void identify(struct hftmon *m, struct hftmon_cache_buf *b)
{
	unsigned int i, e;

	for (i = 0; i < m->nr_pmu; i++) {
		b->event[i] = (uint16_t)generic_event(m->pmu_type[i],
						      m->pmu_config[i]);
		if (b->event[i] != HFTMON_CACHE_EV_OTHER ||
		    m->pmu_type[i] != PERF_TYPE_RAW)
			continue;
		for (e = 0; e < HFTMON_CACHE_NR_EVENTS; e++) {
			struct hftmon_pmu_counter c = { .sz = sizeof(c) };

			if (events[e].vendor && !vendor_encoding(&events[e], &c) &&
			    c.type == m->pmu_type[i] &&
			    c.config == m->pmu_config[i]) {
				b->event[i] = (uint16_t)e;
				break;
			}
		}
	}
}

int hftmon_cache_setup(struct hftmon *m, uint32_t history_slices)
{
	struct hftmon_cache_buf *b;

	hftmon_cache_free(m);
	if (!m->nr_pmu || !history_slices)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cap = history_slices;
	b->len = calloc(history_slices, sizeof(*b->len));
	b->val = calloc((size_t)history_slices * HFTMON_PMU_MAX_COUNTERS,
			sizeof(*b->val));
	b->u = calloc(history_slices, sizeof(*b->u));
	b->r = calloc(history_slices, sizeof(*b->r));
	m->cache = b;
	if (!b->len || !b->val || !b->u || !b->r) {
		hftmon_cache_free(m);
		return -ENOMEM;
	}
	identify(m, b);
	return 0;
}

void hftmon_cache_free(struct hftmon *m)
{
	struct hftmon_cache_buf *b = m->cache;

	if (!b)
		return;
	free(b->len);
	free(b->val);
	free(b->u);
	free(b->r);
	free(b);
	m->cache = NULL;
}

bool hftmon_cache_configured(const struct hftmon *m)
{
	unsigned int i;

	if (!m->cache)
		return false;
	for (i = 0; i < m->nr_pmu; i++)
		if (m->cache->event[i] < HFTMON_CACHE_EV_PAGE_FAULTS)
			return true;
	return false;
}

/* ---- the query ------------------------------------------------------- */

/*
 * A rate is finite and >= 0, and such doubles' IEEE 754 bit patterns
 * order as their values do: rates are sorted as integers, by the one
 * in-place sort (hftmon_hist_sort(); glibc's qsort may malloc).
 */
static uint64_t rate_bits(double rate)
{
	uint64_t u;

	memcpy(&u, &rate, sizeof(u));
	return u;
}

static double bits_rate(uint64_t u)
{
	double rate;

	memcpy(&rate, &u, sizeof(rate));
	return rate;
}

/* State of a value computed from n of total slices, as enum hftmon_pmu_state. */
static uint32_t state_of(uint64_t n, uint64_t total)
{
	if (!total)
		return HFTMON_PMU_NO_DATA;
	if (!n)
		return HFTMON_PMU_UNAVAILABLE;
	return n == total ? HFTMON_PMU_MEASURED : HFTMON_PMU_PARTIAL;
}

struct window {
	uint64_t n; /* slices copied: len[0..n-1], val[k * cap + 0..n-1] */
	int instr; /* the counter counting instructions, -1 none */
	int last_err[HFTMON_PMU_MAX_COUNTERS]; /* each one's newest -errno */
};

/* Copies the span's slices of q's pid (tid) out of the history. */
static void copy_window(struct hftmon *m, const struct hftmon_cache_query *q,
			struct window *w, struct hftmon_cache_metrics *o)
{
	const struct hftmon_agg_pmu *p = m->agg.pmu;
	struct hftmon_cache_buf *b = m->cache;
	uint64_t since = q->window_us ? hftmon_window_start(m, q->window_us) :
					0, i, first;
	unsigned int k;

	hftmon_lock(m);
	first = hftmon_pmu_first_held(p);
	o->complete = !p->lost_end_ns ||
		      (q->window_us ? p->lost_end_ns < since :
				      q->from_ns && p->lost_end_ns < q->from_ns);
	for (i = first; i < p->slice_total && w->n < b->cap; i++) {
		const struct hftmon_agg_pmu_slice *sl =
			&p->slices[i % p->slice_cap];

		if (sl->pid != q->pid || (q->tid && sl->tid != q->tid))
			continue;
		if (q->window_us ? sl->end_ns < since :
				   sl->start_ns < q->from_ns ||
					   (q->to_ns && sl->end_ns > q->to_ns))
			continue;
		b->len[w->n] = sl->end_ns > sl->start_ns ?
				       sl->end_ns - sl->start_ns :
				       0;
		o->on_cpu_ns += b->len[w->n];
		for (k = 0; k < p->nr; k++) {
			b->val[k * b->cap + w->n] = sl->status[k] ? MISSED :
								    sl->delta[k];
			if (sl->status[k])
				w->last_err[k] = sl->status[k];
		}
		w->n++;
	}
	hftmon_unlock(m);
}

/* q's percentiles of the n >= 1 samples v (sorted here): counts, rates. */
static void pct_u64(uint64_t *v, uint64_t n, const struct hftmon_cache_query *q,
		    uint64_t *out)
{
	size_t j;

	hftmon_hist_sort(v, n);
	for (j = 0; j < q->nr_percentiles; j++)
		out[j] = v[hftmon_hist_rank(n, q->percentiles[j]) - 1];
}

static void pct_rate(uint64_t *v, uint64_t n,
		     const struct hftmon_cache_query *q, double *out)
{
	size_t j;

	hftmon_hist_sort(v, n);
	for (j = 0; j < q->nr_percentiles; j++)
		out[j] = bits_rate(v[hftmon_hist_rank(n, q->percentiles[j]) - 1]);
}

/* Counter k over the window's slices. */
static void counter_of(struct hftmon *m, const struct hftmon_cache_query *q,
		       const struct window *w, unsigned int k,
		       struct hftmon_cache_counter *c)
{
	struct hftmon_cache_buf *b = m->cache;
	const uint64_t *v = &b->val[k * b->cap];
	const uint64_t *ins = w->instr >= 0 ? &b->val[w->instr * b->cap] : NULL;
	uint64_t i, n = 0, nus = 0, nk = 0, sum = 0;

	c->event = b->event[k];
	c->type = m->pmu_type[k];
	c->config = m->pmu_config[k];
	c->per_kinst_state = HFTMON_PMU_NOT_CONFIGURED;
	if (m->pmu_status[k]) {
		c->total.state = HFTMON_PMU_UNSUPPORTED;
		c->total.status = m->pmu_status[k];
		c->total.slices_missed = w->n;
		c->per_us_state = HFTMON_PMU_UNSUPPORTED;
		c->per_kinst_state = HFTMON_PMU_UNSUPPORTED;
		c->per_kinst_status = m->pmu_status[k];
		c->reason = hftmon_pmu_reason(c->total.status);
		return;
	}
	for (i = 0; i < w->n; i++) {
		if (v[i] == MISSED)
			continue;
		sum += v[i];
		b->u[n++] = v[i];
	}
	c->total.slices_counted = n;
	c->total.slices_missed = w->n - n;
	c->total.state = state_of(n, w->n);
	c->total.status = n < w->n ? w->last_err[k] : 0;
	c->reason = hftmon_pmu_reason(c->total.status);
	if (n) {
		c->total.value = sum;
		pct_u64(b->u, n, q, c->count_pct);
	}
	for (i = 0; i < w->n; i++)
		if (v[i] != MISSED && b->len[i])
			b->r[nus++] = rate_bits((double)v[i] * 1000.0 /
						(double)b->len[i]);
	c->per_us_slices = nus;
	c->per_us_state = state_of(nus, w->n);
	if (nus)
		pct_rate(b->r, nus, q, c->per_us_pct);
	if (w->instr < 0)
		return;
	if (m->pmu_status[w->instr]) {
		c->per_kinst_state = HFTMON_PMU_UNSUPPORTED;
		c->per_kinst_status = m->pmu_status[w->instr];
		return;
	}
	for (i = 0; i < w->n; i++)
		if (v[i] != MISSED && ins[i] != MISSED && ins[i])
			b->r[nk++] = rate_bits((double)v[i] * 1000.0 /
					       (double)ins[i]);
	c->per_kinst_slices = nk;
	c->per_kinst_state = state_of(nk, w->n);
	if (nk)
		pct_rate(b->r, nk, q, c->per_kinst_pct);
}

static int counter_for(const struct hftmon *m, unsigned int event)
{
	unsigned int k;

	for (k = 0; k < m->nr_pmu; k++)
		if (m->cache->event[k] == event)
			return (int)k;
	return -1;
}

static void ratio_of(struct hftmon *m, const struct window *w,
		     unsigned int level, struct hftmon_cache_ratio *r)
{
	struct hftmon_cache_buf *b = m->cache;
	int ka = counter_for(m, levels[level].access);
	int km = counter_for(m, levels[level].miss);
	const uint64_t *va, *vm;
	uint64_t i;

	r->level = level;
	r->miss_ratio = NAN;
	r->hit_ratio = NAN;
	if (ka < 0 || km < 0) {
		r->state = HFTMON_PMU_NOT_CONFIGURED;
		return;
	}
	if (m->pmu_status[ka] || m->pmu_status[km]) {
		r->state = HFTMON_PMU_UNSUPPORTED;
		r->status = m->pmu_status[ka] ? m->pmu_status[ka] :
						m->pmu_status[km];
		r->reason = hftmon_pmu_reason(r->status);
		return;
	}
	va = &b->val[ka * b->cap];
	vm = &b->val[km * b->cap];
	for (i = 0; i < w->n; i++) {
		if (va[i] == MISSED || vm[i] == MISSED)
			continue;
		r->accesses += va[i];
		r->misses += vm[i];
		r->slices++;
	}
	r->state = state_of(r->slices, w->n);
	if (r->slices < w->n) {
		r->status = w->last_err[ka] ? w->last_err[ka] : w->last_err[km];
		r->reason = hftmon_pmu_reason(r->status);
	}
	if (r->slices && r->accesses) {
		r->miss_ratio = (double)r->misses / (double)r->accesses;
		r->hit_ratio = 1.0 - r->miss_ratio;
	}
}

HFTMON_API int hftmon_get_cache_metrics(struct hftmon *m,
					const struct hftmon_cache_query *q,
					struct hftmon_cache_metrics *out)
{
	struct hftmon_cache_query qq;
	struct hftmon_cache_metrics o;
	struct window w = { .instr = -1 };
	unsigned int k, l;
	size_t j;
	int err;

	if (!m || !out || !HFTMON_OUT_OK(out))
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&qq, q, nr_percentiles);
	if (err)
		return err;
	if (qq.pid <= 0 || qq.tid < 0 ||
	    (qq.window_us && (qq.from_ns || qq.to_ns)) ||
	    (qq.to_ns && qq.to_ns < qq.from_ns) ||
	    (qq.nr_percentiles && !qq.percentiles)) {
		pr_err(m, "cache metrics query: pid needed; window_us or from_ns..to_ns");
		return -EINVAL;
	}
	if (qq.nr_percentiles > HFTMON_CACHE_MAX_PERCENTILES) {
		pr_err(m, "cache metrics query: %zu percentiles, at most %u",
		       qq.nr_percentiles, HFTMON_CACHE_MAX_PERCENTILES);
		return -EINVAL;
	}
	for (j = 0; j < qq.nr_percentiles; j++) {
		if (hftmon_hist_check_percentile(qq.percentiles[j])) {
			pr_err(m, "percentile %g is not in (0, 100]",
			       qq.percentiles[j]);
			return -EINVAL;
		}
	}
	err = hftmon_check_configured(m, "cache metrics query");
	if (err)
		return err;
	if (!m->agg.pmu || !m->cache) {
		pr_err(m, "cache metrics query: configured without PMU counters (pmu_counters)");
		return -EOPNOTSUPP;
	}
	memset(&o, 0, sizeof(o));
	o.pid = qq.pid;
	o.tid = qq.tid;
	o.nr_percentiles = (uint32_t)qq.nr_percentiles;
	o.nr = m->nr_pmu;
	copy_window(m, &qq, &w, &o);
	o.slices = w.n;
	for (k = 0; k < m->nr_pmu; k++)
		if (m->cache->event[k] == HFTMON_CACHE_EV_INSTRUCTIONS) {
			w.instr = (int)k;
			break;
		}
	for (k = 0; k < m->nr_pmu; k++)
		counter_of(m, &qq, &w, k, &o.c[k]);
	for (l = 0; l < HFTMON_CACHE_NR_LEVELS; l++)
		ratio_of(m, &w, l, &o.ratio[l]);
	hftmon_copy_out(out, out->sz, &o, sizeof(o));
	return w.n ? 0 : -ENODATA;
}
