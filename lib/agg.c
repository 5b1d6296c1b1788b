// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The aggregator (see agg.h): per-ring FIFOs merged by timestamp below a
 * watermark, a per-thread pairing state machine, a stack table and two
 * circular histories. Nothing here allocates after hftmon_agg_init().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "numabal.h"
#include "runq.h"
#include "pmu.h"
#include "hist.h"

/* The raw task state of a task that has exited (TASK_DEAD, sched.h). */
#define AGG_TASK_DEAD 0x0080u
/* Device IRQ names kept (power of two; the kernel names IRQs < 4096). */
#define AGG_NAME_SLOTS 512u
/* Spikes an EXTENDS record looks back through for the one it replaces. */
#define AGG_SPIKE_LOOKBACK 64u

static void *zalloc(size_t nr, size_t size)
{
	/* calloc of large arrays maps zero pages: untouched entries cost nothing. */
	return nr ? calloc(nr, size) : NULL;
}

/* The smallest power of two >= 2n (n <= 2^30). */
static uint32_t slots_for(uint32_t n)
{
	uint32_t s = 1;

	while (s < 2 * n)
		s <<= 1;
	return s;
}

int hftmon_agg_init(struct hftmon_agg *a, unsigned int nr_rings,
		    const struct hftmon_agg_sizes *sz)
{
	unsigned int i;

	memset(a, 0, sizeof(*a));
	if (!nr_rings || !sz->history_switches || !sz->history_wakeups ||
	    !sz->max_threads || !sz->max_stacks || !sz->reorder_records ||
	    sz->max_threads > (1u << 30) || sz->max_stacks > (1u << 30) ||
	    sz->max_irq_sources > (1u << 30) ||
	    !sz->history_irqs != !sz->max_irq_sources ||
	    sz->max_numa_threads > (1u << 30) ||
	    (sz->max_numa_threads &&
	     (!sz->history_numa_faults || !sz->history_numa_moves ||
	      !sz->history_numa_accesses)))
		return -EINVAL;

	a->nr_rings = nr_rings;
	a->rings = zalloc(nr_rings, sizeof(*a->rings));
	a->heap = zalloc(nr_rings, sizeof(*a->heap));
	a->nr_nodes = sz->reorder_records;
	a->nodes = zalloc(a->nr_nodes, sizeof(*a->nodes));
	a->max_threads = sz->max_threads;
	a->nr_thread_slots = slots_for(sz->max_threads);
	a->threads = zalloc(a->nr_thread_slots, sizeof(*a->threads));
	a->gone = zalloc(a->max_threads, sizeof(*a->gone));
	a->followed = zalloc(HFTMON_AGG_MAX_FOLLOWED, sizeof(*a->followed));
	a->max_stacks = sz->max_stacks;
	a->stacks = zalloc(sz->max_stacks, sizeof(*a->stacks));
	a->nr_stack_slots = slots_for(sz->max_stacks);
	a->stack_index = zalloc(a->nr_stack_slots, sizeof(*a->stack_index));
	a->switch_cap = sz->history_switches;
	a->switches = zalloc(a->switch_cap, sizeof(*a->switches));
	a->wakeup_cap = sz->history_wakeups;
	a->wakeups = zalloc(a->wakeup_cap, sizeof(*a->wakeups));
	a->irq_cap = sz->history_irqs;
	a->irqs = zalloc(a->irq_cap, sizeof(*a->irqs));
	a->spike_cap = sz->history_spikes;
	a->spikes = zalloc(a->spike_cap, sizeof(*a->spikes));
	a->max_srcs = sz->max_irq_sources;
	a->srcs = zalloc(a->max_srcs, sizeof(*a->srcs));
	a->nr_src_slots = a->max_srcs ? slots_for(a->max_srcs) : 0;
	a->src_index = zalloc(a->nr_src_slots, sizeof(*a->src_index));
	a->nr_name_slots = a->irq_cap ? AGG_NAME_SLOTS : 0;
	a->names = zalloc(a->nr_name_slots, sizeof(*a->names));
	if (!a->rings || !a->heap || !a->nodes || !a->threads || !a->gone ||
	    !a->followed || !a->stacks ||
	    !a->stack_index || !a->switches || !a->wakeups ||
	    (a->irq_cap && !a->irqs) || (a->spike_cap && !a->spikes) ||
	    (a->max_srcs && (!a->srcs || !a->src_index)) ||
	    (a->nr_name_slots && !a->names)) {
		hftmon_agg_fini(a);
		return -ENOMEM;
	}
	if (sz->max_numa_threads &&
	    hftmon_agg_numa_init(a, nr_rings, sz->max_numa_threads,
				 sz->history_numa_faults,
				 sz->history_numa_moves,
				 sz->history_numa_accesses)) {
		hftmon_agg_fini(a);
		return -ENOMEM;
	}
	if (sz->nr_pmu &&
	    hftmon_agg_pmu_init(a, sz->nr_pmu, sz->pmu_status,
				sz->max_pmu_threads, sz->history_pmu_slices)) {
		hftmon_agg_fini(a);
		return -ENOMEM;
	}
	if (sz->history_runq && hftmon_agg_runq_init(a, sz->history_runq)) {
		hftmon_agg_fini(a);
		return -ENOMEM;
	}
	for (i = 0; i < nr_rings; i++)
		a->rings[i].head = a->rings[i].tail = HFTMON_AGG_NIL;
	a->free_list = HFTMON_AGG_NIL;
	return 0;
}

void hftmon_agg_fini(struct hftmon_agg *a)
{
	free(a->rings);
	free(a->heap);
	free(a->nodes);
	free(a->threads);
	free(a->gone);
	free(a->followed);
	free(a->stacks);
	free(a->stack_index);
	free(a->switches);
	free(a->wakeups);
	free(a->irqs);
	free(a->spikes);
	free(a->srcs);
	free(a->src_index);
	free(a->names);
	hftmon_agg_numa_fini(a);
	hftmon_agg_pmu_fini(a);
	hftmon_agg_runq_fini(a);
	memset(a, 0, sizeof(*a));
}

/* ---- threads ------------------------------------------------------------ */

static uint32_t hash32(uint32_t key, uint32_t nr_slots)
{
	return (key * 0x9e3779b1u) & (nr_slots - 1);
}

/* The state of tid, created (UNKNOWN) if there is room; NULL otherwise. */
static __attribute__((noinline)) struct hftmon_agg_thread *
thread_probe(struct hftmon_agg *a, int32_t pid, int32_t tid, uint32_t i)
{
	uint32_t mask = a->nr_thread_slots - 1;

	if (tid <= 0)
		return NULL;
	for (;; i = (i + 1) & mask) {
		struct hftmon_agg_thread *t = &a->threads[i];

		if (t->tid == tid)
			return t;
		if (t->tid)
			continue;
		if (a->nr_threads >= a->max_threads) {
			a->st.dropped++;
			return NULL;
		}
		a->nr_threads++;
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		t->ev.pid = pid;
		t->ev.tid = tid;
		return t;
	}
}

/* The usual case inline: tid sits in its home slot. */
static inline __attribute__((always_inline)) struct hftmon_agg_thread *
thread_get(struct hftmon_agg *a, int32_t pid, int32_t tid)
{
	uint32_t i = hash32((uint32_t)tid, a->nr_thread_slots);
	struct hftmon_agg_thread *t = &a->threads[i];

	if (__builtin_expect(t->tid == tid && tid > 0, 1))
		return t;
	return thread_probe(a, pid, tid, i);
}

/*
 * Removes a dead thread. Linear probing without tombstones: shift back
 * every following entry of the cluster that the hole now separates from
 * its home slot.
 */
static void thread_del(struct hftmon_agg *a, struct hftmon_agg_thread *t)
{
	uint32_t mask = a->nr_thread_slots - 1;
	uint32_t hole = (uint32_t)(t - a->threads), i = hole;

	for (;;) {
		struct hftmon_agg_thread *s;
		uint32_t home;

		i = (i + 1) & mask;
		s = &a->threads[i];
		if (!s->tid)
			break;
		home = hash32((uint32_t)s->tid, a->nr_thread_slots);
		/* s may move to hole unless its home lies in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			a->threads[hole] = *s;
			hole = i;
		}
	}
	a->threads[hole].tid = 0;
	a->nr_threads--;
}

/* Keeps what an explain needs of t, which exited at out_ns. */
static __attribute__((noinline)) void
thread_gone(struct hftmon_agg *a, const struct hftmon_agg_thread *t,
	    uint64_t out_ns)
{
	struct hftmon_agg_gone *g = &a->gone[a->gone_total++ % a->max_threads];

	g->tid = t->tid;
	g->first_in_ns = t->first_in_ns;
	g->first_in_cpu = t->first_in_cpu;
	g->on_since_ns = t->state == HFTMON_AGG_ON_CPU ? t->on_since_ns : 0;
	g->on_cpu = t->on_cpu;
	g->out_ns = out_ns;
}

/* ---- stacks ------------------------------------------------------------- */

/* The index slot that holds id, or the free slot where it would go. */
static uint32_t stack_slot(const struct hftmon_agg *a, uint32_t id)
{
	uint32_t mask = a->nr_stack_slots - 1, i, e;

	for (i = hash32(id, a->nr_stack_slots);; i = (i + 1) & mask) {
		e = a->stack_index[i];
		if (!e || a->stacks[e - 1].id == id)
			return i;
	}
}

static const struct hftmon_agg_stack *stack_find(const struct hftmon_agg *a,
						 uint32_t id)
{
	uint32_t e = a->stack_index[stack_slot(a, id)];

	return e ? &a->stacks[e - 1] : NULL;
}

/* The entry of id, created (not present) if there is room. */
static struct hftmon_agg_stack *stack_get(struct hftmon_agg *a, uint32_t id)
{
	uint32_t i = stack_slot(a, id), e = a->stack_index[i];
	struct hftmon_agg_stack *s;

	if (e)
		return &a->stacks[e - 1];
	if (a->nr_stacks >= a->max_stacks) {
		a->st.dropped++;
		return NULL;
	}
	s = &a->stacks[a->nr_stacks++];
	s->id = id;
	a->stack_index[i] = a->nr_stacks;
	return s;
}

static __attribute__((noinline)) void
stack_record(struct hftmon_agg *a, const struct hftmon_rec_hdr *rec)
{
	const struct hftmon_rec_stack *r = (const void *)rec;
	struct hftmon_agg_stack *s;
	uint32_t nr = r->nr;

	if (!r->stack_id)
		return;
	s = stack_get(a, r->stack_id);
	if (!s)
		return;
	s->flags = rec->flags;
	if (nr > HFTMON_AGG_STACK_DEPTH) {
		nr = HFTMON_AGG_STACK_DEPTH;
		s->flags |= HFTMON_STACK_TRUNCATED;
	}
	memcpy(s->ips, r->ips, nr * sizeof(s->ips[0]));
	s->nr = nr;
	s->present = true;
}

/* A switch refers to id: remember it, so a missing STACK shows as lost. */
static void stack_ref(struct hftmon_agg *a, uint32_t id)
{
	if (id)
		stack_get(a, id);
}

/* ---- histories ---------------------------------------------------------- */

/* The oldest entry a circular history of total entries still holds. */
static uint64_t hist_oldest(uint64_t total, uint32_t cap)
{
	return total > cap ? total - cap : 0;
}

static inline __attribute__((always_inline)) void
push_switch(struct hftmon_agg *a, const struct hftmon_switch_event *ev)
{
	a->switches[a->switch_next] = *ev;
	if (++a->switch_next == a->switch_cap)
		a->switch_next = 0;
	if (++a->switch_total > a->switch_cap)
		a->st.switches_overwritten++;
}

static inline __attribute__((always_inline)) void
push_wakeup(struct hftmon_agg *a, const struct hftmon_agg_thread *t,
	    uint64_t in_ns)
{
	struct hftmon_agg_wakeup *w = &a->wakeups[a->wakeup_next];

	w->end_ns = in_ns;
	w->latency_ns = in_ns - t->wake_ns;
	w->pid = t->ev.pid;
	w->tid = t->tid;
	if (++a->wakeup_next == a->wakeup_cap)
		a->wakeup_next = 0;
	if (++a->wakeup_total > a->wakeup_cap)
		a->st.wakeups_overwritten++;
}


/* ---- interruptions and spikes ------------------------------------------- */

unsigned int hftmon_agg_hist_bucket(uint64_t v)
{
	unsigned int e;

	if (v < HFTMON_AGG_HIST_SUB)
		return (unsigned int)v;
	if (v >> HFTMON_AGG_HIST_MAX_LOG2)
		return HFTMON_AGG_HIST_BUCKETS - 1;
	e = 63u - (unsigned int)__builtin_clzll(v); /* 3 <= e < 32 */
	return HFTMON_AGG_HIST_SUB + (e - 3u) * HFTMON_AGG_HIST_SUB +
	       (unsigned int)((v >> (e - 3u)) & (HFTMON_AGG_HIST_SUB - 1));
}

uint64_t hftmon_agg_hist_upper(unsigned int b)
{
	unsigned int e, sub;

	if (b < HFTMON_AGG_HIST_SUB)
		return b;
	if (b >= HFTMON_AGG_HIST_BUCKETS - 1)
		return UINT64_MAX;
	e = (b - HFTMON_AGG_HIST_SUB) / HFTMON_AGG_HIST_SUB + 3u;
	sub = (b - HFTMON_AGG_HIST_SUB) % HFTMON_AGG_HIST_SUB;
	return ((uint64_t)(HFTMON_AGG_HIST_SUB + sub + 1u) << (e - 3u)) - 1u;
}

uint64_t hftmon_agg_hist_pct(const struct hftmon_agg_hist *h, uint64_t n,
			     uint64_t max, double p)
{
	uint64_t rank, seen = 0, up;
	unsigned int b;

	if (!n)
		return 0;
	rank = hftmon_hist_rank(n, p);
	for (b = 0; b < HFTMON_AGG_HIST_BUCKETS; b++) {
		seen += h->n[b];
		if (seen >= rank)
			break;
	}
	up = hftmon_agg_hist_upper(b);
	return up < max ? up : max;
}

static uint32_t src_hash(uint32_t cpu, uint32_t kind, uint32_t nr, int32_t tid,
			 uint32_t nr_slots)
{
	return hash32(cpu * 0x85ebca6bu ^ kind * 0xc2b2ae35u ^ nr * 0x27d4eb2fu ^
			      (uint32_t)tid,
		      nr_slots);
}

/* The source entry of this key, created if there is room; NULL if not. */
static struct hftmon_agg_irq_src *src_get(struct hftmon_agg *a, uint32_t cpu,
					  uint32_t kind, uint32_t nr,
					  int32_t pid, int32_t tid)
{
	uint32_t mask = a->nr_src_slots - 1, i, e;
	struct hftmon_agg_irq_src *s;

	for (i = src_hash(cpu, kind, nr, tid, a->nr_src_slots);;
	     i = (i + 1) & mask) {
		e = a->src_index[i];
		if (!e)
			break;
		s = &a->srcs[e - 1];
		if (s->cpu == cpu && s->kind == kind && s->nr == nr &&
		    s->tid == tid)
			return s;
	}
	if (a->nr_srcs >= a->max_srcs)
		return NULL;
	s = &a->srcs[a->nr_srcs++];
	s->cpu = (uint16_t)cpu;
	s->kind = (uint8_t)kind;
	s->nr = nr;
	s->pid = pid;
	s->tid = tid;
	a->src_index[i] = a->nr_srcs;
	return s;
}

static void src_add(struct hftmon_agg_irq_src *s, const struct hftmon_rec_irq *r)
{
	s->count++;
	s->net_ns += r->net_ns;
	if (r->net_ns > s->max_ns)
		s->max_ns = r->net_ns;
	s->net.n[hftmon_agg_hist_bucket(r->net_ns)]++;
	if (r->kind == HFTMON_IRQ_KIND_SOFTIRQ && r->raise_ns &&
	    r->raise_ns <= r->start_ns) {
		uint64_t d = r->start_ns - r->raise_ns;

		s->raise_count++;
		if (d > s->raise_max_ns)
			s->raise_max_ns = d;
		s->raise.n[hftmon_agg_hist_bucket(d)]++;
	}
}

/* Names arrive once per IRQ number: kept on arrival, like stacks. */
static __attribute__((noinline)) void name_record(struct hftmon_agg *a,
						  const struct hftmon_rec_irq *r)
{
	uint32_t mask = a->nr_name_slots - 1, i;
	struct hftmon_agg_irq_name *n;

	if (!a->nr_name_slots || r->kind != HFTMON_IRQ_KIND_DEVICE ||
	    r->hdr.size < sizeof(*r) + HFTMON_IRQ_NAME_LEN)
		return;
	for (i = hash32(r->nr, a->nr_name_slots);; i = (i + 1) & mask) {
		n = &a->names[i];
		if (!n->nr || n->nr == r->nr + 1)
			break;
		if (i == ((hash32(r->nr, a->nr_name_slots) - 1) & mask)) {
			a->st.dropped++; /* every slot taken */
			return;
		}
	}
	n->nr = r->nr + 1;
	memcpy(n->name, r + 1, HFTMON_IRQ_NAME_LEN);
	n->name[HFTMON_IRQ_NAME_LEN - 1] = '\0';
}

/* /proc/interrupts' mnemonics of the x86 system vectors (irq_vectors.h). */
static const char *vector_name(uint32_t nr)
{
	switch (nr) {
	case 0xec: return "LOC";
	case 0xed: return "HVS";
	case 0xee: return "HRE";
	case 0xf0: return "NPI";
	case 0xf1: return "PIW";
	case 0xf2: return "PIN";
	case 0xf3: return "HYP";
	case 0xf4: return "DFR";
	case 0xf6: return "IWI";
	case 0xf7: return "PLT";
	case 0xf9: return "THR";
	case 0xfa: return "TRM";
	case 0xfb: /* call_function_single: counted in CAL too */
	case 0xfc: return "CAL";
	case 0xfd: return "RES";
	case 0xfe: return "ERR";
	case 0xff: return "SPU";
	default: return "";
	}
}

/* /proc/softirqs' rows (softirq_to_name[]). */
static const char *const softirq_names[] = { "HI",	 "TIMER",    "NET_TX",
					     "NET_RX",	 "BLOCK",    "IRQ_POLL",
					     "TASKLET", "SCHED",    "HRTIMER",
					     "RCU" };

void hftmon_agg_irq_name(const struct hftmon_agg *a, uint32_t kind, uint32_t nr,
			 char name[HFTMON_IRQ_NAME_LEN])
{
	const char *s = "";
	uint32_t mask, i;

	switch (kind) {
	case HFTMON_IRQ_KIND_DEVICE:
		if (!a->nr_name_slots)
			break;
		mask = a->nr_name_slots - 1;
		for (i = hash32(nr, a->nr_name_slots);; i = (i + 1) & mask) {
			const struct hftmon_agg_irq_name *n = &a->names[i];

			if (n->nr == nr + 1)
				s = n->name;
			if (!n->nr || n->nr == nr + 1 ||
			    i == ((hash32(nr, a->nr_name_slots) - 1) & mask))
				break;
		}
		break;
	case HFTMON_IRQ_KIND_VECTOR:
		s = vector_name(nr);
		break;
	case HFTMON_IRQ_KIND_SOFTIRQ:
		if (nr < HFTMON_ARRAY_SIZE(softirq_names))
			s = softirq_names[nr];
		break;
	case HFTMON_IRQ_KIND_NMI:
		s = "NMI";
		break;
	default:
		break;
	}
	memset(name, 0, HFTMON_IRQ_NAME_LEN);
	memcpy(name, s, strnlen(s, HFTMON_IRQ_NAME_LEN - 1));
}

/*
 * The history is kept in end order: a record that comes after later ones
 * (an NMI's, written by the next probe on its CPU) is moved back to its
 * place, never before the oldest entry held.
 */
static __attribute__((noinline)) void push_irq(struct hftmon_agg *a,
					       const struct hftmon_rec_irq *r)
{
	uint64_t i = a->irq_total, oldest;
	struct hftmon_agg_irq *e;

	if (++a->irq_total > a->irq_cap)
		a->st.irqs_overwritten++;
	oldest = hist_oldest(a->irq_total, a->irq_cap);
	while (i > oldest && a->irqs[(i - 1) % a->irq_cap].end_ns > r->hdr.time_ns) {
		a->irqs[i % a->irq_cap] = a->irqs[(i - 1) % a->irq_cap];
		i--;
	}
	e = &a->irqs[i % a->irq_cap];
	e->start_ns = r->start_ns;
	e->end_ns = r->hdr.time_ns;
	e->net_ns = r->net_ns;
	e->raise_ns = r->raise_ns;
	e->pid = r->hdr.flags & HFTMON_IRQ_TRACKED ? r->hdr.pid : 0;
	e->tid = r->hdr.flags & HFTMON_IRQ_TRACKED ? r->hdr.tid : 0;
	e->nr = r->nr;
	e->cpu = r->hdr.cpu;
	e->kind = (uint8_t)r->kind;
	e->depth = r->depth > 255 ? 255 : (uint8_t)r->depth;
	if (r->gross_ns > a->irq_max_gross)
		a->irq_max_gross = r->gross_ns;
}

static __attribute__((noinline)) void irq_record(struct hftmon_agg *a,
						 const struct hftmon_rec_irq *r)
{
	int32_t tid = r->hdr.flags & HFTMON_IRQ_TRACKED ? r->hdr.tid : 0;
	int32_t pid = tid ? r->hdr.pid : 0;
	struct hftmon_agg_irq_src *s;

	a->st.irqs++;
	push_irq(a, r);
	s = src_get(a, r->hdr.cpu, r->kind, r->nr, pid, tid);
	if (!s && tid) /* no room for the thread's own: the CPU's totals */
		s = src_get(a, r->hdr.cpu, r->kind, r->nr, 0, 0);
	if (!s) {
		a->st.dropped++;
		return;
	}
	src_add(s, r);
}

static __attribute__((noinline)) void spike_record(struct hftmon_agg *a,
						   const struct hftmon_rec_spike *r)
{
	struct hftmon_agg_spike *e;
	uint64_t i;

	a->st.spikes++;
	if (r->hdr.flags & HFTMON_SPIKE_EXTENDS) {
		/* The link it extends: same victim, CPU and start, recent. */
		uint64_t oldest = hist_oldest(a->spike_total, a->spike_cap);

		for (i = a->spike_total; i > oldest &&
					 a->spike_total - i < AGG_SPIKE_LOOKBACK;
		     i--) {
			e = &a->spikes[(i - 1) % a->spike_cap];
			if (!e->replaced && e->tid == r->hdr.tid &&
			    e->cpu == r->hdr.cpu && e->start_ns == r->start_ns) {
				e->replaced = true;
				break;
			}
		}
	}
	e = &a->spikes[a->spike_total % a->spike_cap];
	if (++a->spike_total > a->spike_cap)
		a->st.spikes_overwritten++;
	e->start_ns = r->start_ns;
	e->end_ns = r->hdr.time_ns;
	e->threshold_ns = r->threshold_ns;
	e->idle_exit_ns = r->idle_exit_ns;
	e->addr = r->type == HFTMON_SPIKE_FAULT ? r->addr : 0;
	if (r->type == HFTMON_SPIKE_FAULT && r->hdr.time_ns > r->start_ns &&
	    r->hdr.time_ns - r->start_ns > a->fault_max_ns)
		a->fault_max_ns = r->hdr.time_ns - r->start_ns;
	e->pid = r->hdr.pid;
	e->tid = r->hdr.tid;
	e->type = r->type;
	e->flags = r->hdr.flags;
	e->links = r->links;
	e->idle_state = r->idle_state;
	e->cpu = r->hdr.cpu;
	e->from_cpu = r->from_cpu > UINT16_MAX ? UINT16_MAX :
						 (uint16_t)r->from_cpu;
	e->replaced = false;
}

/* ---- the state machine, fed in time order ------------------------------- */

static inline __attribute__((always_inline)) void
switch_out(struct hftmon_agg *a, const struct hftmon_rec_switch *s)
{
	struct hftmon_agg_thread *t = thread_get(a, s->hdr.pid, s->hdr.tid);
	struct hftmon_switch_event *ev;

	if (!t)
		return;
	if (a->numa && t->state == HFTMON_AGG_ON_CPU)
		hftmon_agg_numa_ran(a, s->hdr.pid, s->hdr.tid, t->on_cpu,
				    t->on_since_ns, s->hdr.time_ns);
	if (s->prev_state & AGG_TASK_DEAD) {
		/* Its last switch (after its EXIT): it never runs again. */
		thread_gone(a, t, s->hdr.time_ns);
		thread_del(a, t);
		return;
	}
	if (t->state == HFTMON_AGG_OFF_CPU)
		a->st.unpaired++; /* the switch-in in between was lost */
	ev = &t->ev;
	ev->pid = s->hdr.pid;
	memcpy(ev->comm, s->prev_comm, sizeof(ev->comm));
	ev->comm[sizeof(ev->comm) - 1] = '\0';
	ev->out_ns = s->hdr.time_ns;
	ev->voluntary = s->hdr.flags & HFTMON_SWITCH_VOLUNTARY;
	ev->prev_state = s->prev_state;
	ev->prio = s->prev_prio;
	ev->out_cpu = s->hdr.cpu;
	ev->next_pid = s->next_pid;
	ev->next_tid = s->next_tid;
	memcpy(ev->next_comm, s->next_comm, sizeof(ev->next_comm));
	ev->next_comm[sizeof(ev->next_comm) - 1] = '\0';
	ev->next_prio = s->next_prio;
	ev->next_policy = s->next_policy;
	ev->kstack_id = s->prev_kstack_id;
	ev->ustack_id = s->prev_ustack_id;
	stack_ref(a, s->prev_kstack_id);
	stack_ref(a, s->prev_ustack_id);
	t->state = HFTMON_AGG_OFF_CPU;
	/* A wake-up while it still ran is not followed by a switch-in. */
	t->woken = false;
}

static inline __attribute__((always_inline)) void
switch_in(struct hftmon_agg *a, const struct hftmon_rec_switch *s)
{
	struct hftmon_agg_thread *t = thread_get(a, s->next_pid, s->next_tid);
	uint64_t in_ns = s->hdr.time_ns;

	if (!t)
		return;
	if (t->woken && t->wake_ns <= in_ns) {
		a->st.wakeups_completed++;
		push_wakeup(a, t, in_ns);
	}
	if (t->state == HFTMON_AGG_OFF_CPU && t->ev.out_ns <= in_ns) {
		struct hftmon_switch_event *ev = &t->ev;

		ev->in_ns = in_ns;
		ev->off_cpu_ns = in_ns - ev->out_ns;
		ev->in_cpu = s->hdr.cpu;
		if (t->woken && t->wake_ns >= ev->out_ns) {
			ev->wakeup_ns = t->wake_ns;
			ev->waker_pid = t->waker_pid;
			ev->waker_tid = t->waker_tid;
		} else {
			ev->wakeup_ns = 0;
			ev->waker_pid = ev->waker_tid = 0;
		}
		a->st.switches_completed++;
		push_switch(a, ev);
		t->last_switch = a->switch_total;
	} else if (t->state != HFTMON_AGG_UNKNOWN) {
		/* On CPU: its switch-out was lost; off: a late record. */
		a->st.unpaired++;
	}
	t->ev.pid = s->next_pid;
	memcpy(t->ev.comm, s->next_comm, sizeof(t->ev.comm));
	t->ev.comm[sizeof(t->ev.comm) - 1] = '\0';
	if (t->state == HFTMON_AGG_UNKNOWN && !t->first_in_ns) {
		t->first_in_ns = in_ns;
		t->first_in_cpu = s->hdr.cpu;
	}
	t->state = HFTMON_AGG_ON_CPU;
	t->on_since_ns = in_ns;
	t->on_cpu = s->hdr.cpu;
	t->woken = false;
	if (a->numa)
		hftmon_agg_numa_in(a, s->next_pid, s->next_tid, s->hdr.cpu,
				   in_ns);
}

static inline __attribute__((always_inline)) void
wakeup(struct hftmon_agg *a, const struct hftmon_rec_wakeup *w)
{
	struct hftmon_agg_thread *t = thread_get(a, w->hdr.pid, w->hdr.tid);

	if (!t)
		return;
	/* Still running (it had not switched out yet), or already woken. */
	if (t->state == HFTMON_AGG_ON_CPU || t->woken)
		return;
	t->woken = true;
	t->wake_ns = w->hdr.time_ns;
	t->waker_pid = w->waker_pid;
	t->waker_tid = w->waker_tid;
}

/* One record, in time order: a copy in a node, or the ring's own. */
/* Interruptions and spikes, out of the switch and wake-up path. */
/*
 * A switch's kernel stack taken at its switch-in (ATTACH kstack_min_ns):
 * it follows that SWITCH record, so the switch is the thread's last
 * completed one, if the history still holds it and the times agree.
 */
static __attribute__((noinline)) void
switch_stack_record(struct hftmon_agg *a, const struct hftmon_rec_switch_stack *r)
{
	const struct hftmon_agg_thread *t = hftmon_agg_thread_find(a, r->hdr.tid);
	struct hftmon_switch_event *ev;

	if (!t || !t->last_switch ||
	    t->last_switch - 1 < hist_oldest(a->switch_total, a->switch_cap))
		return;
	ev = &a->switches[(t->last_switch - 1) % a->switch_cap];
	if (ev->tid != r->hdr.tid || ev->out_ns != r->out_ns ||
	    ev->in_ns != r->in_ns || ev->kstack_id)
		return;
	ev->kstack_id = r->kstack_id;
	stack_ref(a, r->kstack_id);
}

static __attribute__((noinline)) void process_rare(struct hftmon_agg *a,
						   const struct hftmon_rec_hdr *h)
{
	if (h->type == HFTMON_REC_SPIKE)
		spike_record(a, (const struct hftmon_rec_spike *)h);
	else if (h->type == HFTMON_REC_SWITCH_STACK)
		switch_stack_record(a, (const struct hftmon_rec_switch_stack *)h);
	else if (h->type == HFTMON_REC_NUMA)
		hftmon_agg_numa_record(a, (const struct hftmon_rec_numa *)h);
	else if (h->type == HFTMON_REC_IRQ || h->type == HFTMON_REC_SOFTIRQ)
		irq_record(a, (const struct hftmon_rec_irq *)h);
	else if (h->type == HFTMON_REC_RUNQ)
		hftmon_agg_runq_record(a, (const struct hftmon_rec_runq *)h);
	else if (h->type == HFTMON_REC_MIGRATE)
		hftmon_agg_runq_migrate(a, (const struct hftmon_rec_migrate *)h);
}

static inline __attribute__((always_inline)) void
process(struct hftmon_agg *a, const struct hftmon_rec_hdr *h)
{
	if (__builtin_expect(h->type == HFTMON_REC_SWITCH, 1)) {
		if (__builtin_expect(a->runq != NULL, 0))
			hftmon_agg_runq_switch(a, (const struct hftmon_rec_switch *)h);
		if (h->flags & HFTMON_SWITCH_PREV_TRACKED)
			switch_out(a, (const struct hftmon_rec_switch *)h);
		if (h->flags & HFTMON_SWITCH_NEXT_TRACKED)
			switch_in(a, (const struct hftmon_rec_switch *)h);
	} else if (h->type == HFTMON_REC_WAKEUP) {
		wakeup(a, (const struct hftmon_rec_wakeup *)h);
	} else {
		process_rare(a, h);
	}
	if (h->time_ns > a->done_ns)
		a->done_ns = h->time_ns;
}

/* ---- reorder ------------------------------------------------------------ */

static uint64_t node_time(const struct hftmon_agg *a, uint32_t idx)
{
	return a->nodes[idx].r.hdr.time_ns;
}

/*
 * Merge order: time, then wake-ups before switches at the same time (a
 * thread woken and switched in within one clock tick was woken first),
 * then ring.
 */
static bool ring_before(const struct hftmon_agg *a, uint32_t x, uint32_t y)
{
	const struct hftmon_rec_hdr *hx = &a->nodes[a->rings[x].head].r.hdr;
	const struct hftmon_rec_hdr *hy = &a->nodes[a->rings[y].head].r.hdr;

	if (hx->time_ns != hy->time_ns)
		return hx->time_ns < hy->time_ns;
	if ((hx->type == HFTMON_REC_WAKEUP) != (hy->type == HFTMON_REC_WAKEUP))
		return hx->type == HFTMON_REC_WAKEUP;
	return x < y;
}

/* Processes the head of ring r and returns its node to the pool. */
static inline __attribute__((always_inline)) void pop_ring(struct hftmon_agg *a, uint32_t r)
{
	struct hftmon_agg_ring *ring = &a->rings[r];
	uint32_t idx = ring->head;

	process(a, &a->nodes[idx].r.hdr);
	ring->head = a->nodes[idx].next;
	if (ring->head == HFTMON_AGG_NIL)
		ring->tail = HFTMON_AGG_NIL;
	a->nodes[idx].next = a->free_list;
	a->free_list = idx;
}

/* Pool empty: process the oldest pending record now, watermark or not. */
static __attribute__((noinline)) void pop_oldest(struct hftmon_agg *a)
{
	uint32_t r, best = HFTMON_AGG_NIL;

	for (r = 0; r < a->nr_rings; r++)
		if (a->rings[r].head != HFTMON_AGG_NIL &&
		    (best == HFTMON_AGG_NIL || ring_before(a, r, best)))
			best = r;
	if (best != HFTMON_AGG_NIL)
		pop_ring(a, best);
}

static uint32_t node_alloc(struct hftmon_agg *a)
{
	uint32_t idx;

	if (a->free_list == HFTMON_AGG_NIL && a->fresh == a->nr_nodes)
		pop_oldest(a);
	if (a->free_list != HFTMON_AGG_NIL) {
		idx = a->free_list;
		a->free_list = a->nodes[idx].next;
	} else {
		idx = a->fresh++;
	}
	return idx;
}

/* Interruptions and spikes, out of the hot path. */
static __attribute__((noinline)) void copy_rare(struct hftmon_agg_node *n,
						const struct hftmon_rec_hdr *rec)
{
	if (rec->type == HFTMON_REC_NUMA) {
		/* An older module's is shorter: addr 0. */
		if (rec->size < sizeof(n->r.numa)) {
			memcpy(&n->r.numa, rec, HFTMON_REC_NUMA_SIZE_V1);
			n->r.numa.addr = 0;
		} else {
			memcpy(&n->r.numa, rec, sizeof(n->r.numa));
		}
		n->r.hdr.size = sizeof(n->r.numa);
		return;
	}
	if (rec->type == HFTMON_REC_SPIKE) {
		memcpy(&n->r.spike, rec, sizeof(n->r.spike));
		n->r.hdr.size = sizeof(n->r.spike);
	} else if (rec->type == HFTMON_REC_SWITCH_STACK) {
		memcpy(&n->r.sws, rec, sizeof(n->r.sws));
		n->r.hdr.size = sizeof(n->r.sws);
	} else if (rec->type == HFTMON_REC_RUNQ) {
		memcpy(&n->r.runq, rec, sizeof(n->r.runq));
		n->r.hdr.size = sizeof(n->r.runq);
	} else if (rec->type == HFTMON_REC_MIGRATE) {
		memcpy(&n->r.mig, rec, sizeof(n->r.mig));
		n->r.hdr.size = sizeof(n->r.mig);
	} else {
		memcpy(&n->r.irq, rec, sizeof(n->r.irq));
		/* The name stays behind (name_record): the size says so. */
		n->r.hdr.size = sizeof(n->r.irq);
	}
}

/* Queues a record in its ring's FIFO (rare: neither switch nor wake-up). */
static inline __attribute__((always_inline)) void
enqueue(struct hftmon_agg *a, unsigned int ring,
	const struct hftmon_rec_hdr *rec, bool rare)
{
	struct hftmon_agg_ring *rg;
	struct hftmon_agg_node *n;
	uint32_t idx;

	if (ring >= a->nr_rings)
		return;
	rg = &a->rings[ring];
	if (rec->time_ns < a->done_ns)
		a->st.late++;
	rg->last_ns = rec->time_ns;

	idx = node_alloc(a);
	n = &a->nodes[idx];
	/* Checked at least its type's size: a constant-size copy. */
	if (rare)
		copy_rare(n, rec);
	else if (rec->type == HFTMON_REC_SWITCH)
		memcpy(&n->r.sw, rec, sizeof(n->r.sw));
	else
		memcpy(&n->r.wk, rec, sizeof(n->r.wk));
	n->next = HFTMON_AGG_NIL;
	if (rg->tail == HFTMON_AGG_NIL)
		rg->head = idx;
	else
		a->nodes[rg->tail].next = idx;
	rg->tail = idx;
}

/* Every type but switches and wake-ups. */
/* A fork of a tracked thread: a child process followed, or not. */
static void fork_record(struct hftmon_agg *a, const struct hftmon_rec_hdr *rec)
{
	const struct hftmon_rec_fork *f = (const void *)rec;

	if (rec->flags & (HFTMON_FORK_FULL | HFTMON_FORK_NOMEM))
		a->not_followed++;
	else if ((rec->flags & HFTMON_FORK_FOLLOWED) &&
		 a->nr_followed < HFTMON_AGG_MAX_FOLLOWED)
		a->followed[a->nr_followed++] = f->child_pid;
}

static __attribute__((noinline)) void record_rare(struct hftmon_agg *a,
						  unsigned int ring,
						  const struct hftmon_rec_hdr *rec)
{
	switch (rec->type) {
	case HFTMON_REC_STACK:
		/* Ids are global, not time-ordered: store on arrival. */
		stack_record(a, rec);
		return;
	case HFTMON_REC_FORK:
		fork_record(a, rec); /* a set, not a history: on arrival */
		return;
	case HFTMON_REC_IRQ:
	case HFTMON_REC_SOFTIRQ:
		if (!a->irq_cap)
			return;
		if (rec->flags & HFTMON_IRQ_NAMED)
			name_record(a, (const struct hftmon_rec_irq *)rec);
		break;
	case HFTMON_REC_SPIKE:
		if (!a->spike_cap)
			return;
		break;
	case HFTMON_REC_SWITCH_STACK:
		break;
	case HFTMON_REC_RUNQ:
	case HFTMON_REC_MIGRATE: /* where a waiting thread went: runq.h */
		if (!a->runq)
			return;
		break;
	case HFTMON_REC_NUMA:
		if (!a->numa)
			return;
		break;
	case HFTMON_REC_PMU:
		/* Sums need no order: taken in as drained (pmu.h). */
		if (a->pmu)
			hftmon_agg_pmu_record(a, (const struct hftmon_rec_pmu *)rec);
		return;
	default:
		return;
	}
	enqueue(a, ring, rec, true);
}

void hftmon_agg_record(struct hftmon_agg *a, unsigned int ring,
		       const struct hftmon_rec_hdr *rec)
{
	if (__builtin_expect(rec->type != HFTMON_REC_SWITCH &&
				     rec->type != HFTMON_REC_WAKEUP,
			     0)) {
		record_rare(a, ring, rec);
		return;
	}
	enqueue(a, ring, rec, false);
}

void hftmon_agg_ring_done(struct hftmon_agg *a, unsigned int ring,
			  bool complete, uint64_t pass_ns, bool quiescent)
{
	struct hftmon_agg_ring *rg;
	uint64_t bound;

	if (ring >= a->nr_rings)
		return;
	rg = &a->rings[ring];
	if (!complete)
		bound = rg->last_ns;
	else if (quiescent)
		bound = UINT64_MAX;
	else
		bound = pass_ns > HFTMON_AGG_REORDER_NS ?
				pass_ns - HFTMON_AGG_REORDER_NS :
				0;
	/* Never backwards: an earlier bound still holds. */
	if (bound > rg->bound_ns)
		rg->bound_ns = bound;
}

void hftmon_agg_ring_absent(struct hftmon_agg *a, unsigned int ring)
{
	if (ring < a->nr_rings) {
		a->rings[ring].absent = true;
		a->rings[ring].bound_ns = UINT64_MAX;
	}
}

void hftmon_agg_session_stop(struct hftmon_agg *a, uint64_t stop_ns)
{
	a->stop_ns = stop_ns;
}

void hftmon_agg_session_start(struct hftmon_agg *a)
{
	unsigned int r;

	a->stop_ns = 0;
	/* Stopped rings were unbounded: records come again. */
	for (r = 0; r < a->nr_rings; r++)
		if (!a->rings[r].absent)
			a->rings[r].bound_ns = 0;
}

static void heap_sift_down(struct hftmon_agg *a, uint32_t *h, uint32_t n,
			   uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i, tmp;

		if (l < n && ring_before(a, h[l], h[m]))
			m = l;
		if (r < n && ring_before(a, h[r], h[m]))
			m = r;
		if (m == i)
			return;
		tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

void hftmon_agg_flush(struct hftmon_agg *a)
{
	uint64_t wm = UINT64_MAX;
	uint32_t *h = a->heap, n = 0, r, i;

	for (r = 0; r < a->nr_rings; r++) {
		if (a->rings[r].bound_ns < wm)
			wm = a->rings[r].bound_ns;
		if (a->rings[r].head != HFTMON_AGG_NIL)
			h[n++] = r;
	}
	if (wm > a->known_ns)
		a->known_ns = wm;
	if (n == 1) {
		/* One ring has records: its FIFO is already in order. */
		while (a->rings[h[0]].head != HFTMON_AGG_NIL &&
		       node_time(a, a->rings[h[0]].head) < wm)
			pop_ring(a, h[0]);
		return;
	}
	for (i = n / 2; i-- > 0;)
		heap_sift_down(a, h, n, i);
	while (n && node_time(a, a->rings[h[0]].head) < wm) {
		pop_ring(a, h[0]);
		if (a->rings[h[0]].head == HFTMON_AGG_NIL)
			h[0] = h[--n];
		heap_sift_down(a, h, n, 0);
	}
}

bool hftmon_agg_pending(const struct hftmon_agg *a)
{
	unsigned int r;

	for (r = 0; r < a->nr_rings; r++)
		if (a->rings[r].head != HFTMON_AGG_NIL)
			return true;
	return false;
}

/* ---- queries ------------------------------------------------------------ */


uint64_t hftmon_agg_switch_total(const struct hftmon_agg *a)
{
	return a->switch_total;
}

uint64_t hftmon_agg_switch_oldest(const struct hftmon_agg *a)
{
	return hist_oldest(a->switch_total, a->switch_cap);
}

uint64_t hftmon_agg_wakeup_total(const struct hftmon_agg *a)
{
	return a->wakeup_total;
}

uint64_t hftmon_agg_wakeup_oldest(const struct hftmon_agg *a)
{
	return hist_oldest(a->wakeup_total, a->wakeup_cap);
}

/* Entry i lives at slot i % cap: the writer's next slot is total % cap. */
const struct hftmon_switch_event *hftmon_agg_switch_at(const struct hftmon_agg *a,
						       uint64_t i)
{
	return &a->switches[i % a->switch_cap];
}

const struct hftmon_agg_wakeup *hftmon_agg_wakeup_at(const struct hftmon_agg *a,
						     uint64_t i)
{
	return &a->wakeups[i % a->wakeup_cap];
}

/*
 * The histories are filled in time order (the merge feeds the state
 * machine in time order), so the first entry in [lo, hi) whose key (the
 * time it ended) is at or after since_ns is found by binary search.
 */
static uint64_t first_since(const struct hftmon_agg *a, uint64_t lo,
			    uint64_t hi, uint64_t since_ns,
			    uint64_t (*key)(const struct hftmon_agg *a, uint64_t i))
{
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (key(a, mid) < since_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t switch_key(const struct hftmon_agg *a, uint64_t i)
{
	return hftmon_agg_switch_at(a, i)->in_ns;
}

static uint64_t wakeup_key(const struct hftmon_agg *a, uint64_t i)
{
	return hftmon_agg_wakeup_at(a, i)->end_ns;
}

static uint64_t irq_key(const struct hftmon_agg *a, uint64_t i)
{
	return a->irqs[i % a->irq_cap].end_ns;
}

static uint64_t spike_key(const struct hftmon_agg *a, uint64_t i)
{
	return a->spikes[i % a->spike_cap].end_ns;
}

uint64_t hftmon_agg_switch_first(const struct hftmon_agg *a, uint64_t since_ns)
{
	return first_since(a, hftmon_agg_switch_oldest(a), a->switch_total, since_ns, switch_key);
}

uint64_t hftmon_agg_wakeup_first(const struct hftmon_agg *a, uint64_t since_ns)
{
	return first_since(a, hftmon_agg_wakeup_oldest(a), a->wakeup_total, since_ns, wakeup_key);
}

int hftmon_agg_stack(const struct hftmon_agg *a, uint32_t id, uint64_t *ips,
		     size_t max, unsigned int *flags)
{
	const struct hftmon_agg_stack *s;

	if (!id)
		return -ENOENT;
	s = stack_find(a, id);
	if (!s)
		return -ENOENT;
	if (!s->present)
		return -ENODATA;
	if (ips)
		memcpy(ips, s->ips,
		       (max < s->nr ? max : s->nr) * sizeof(ips[0]));
	if (flags)
		*flags = s->flags;
	return (int)s->nr;
}

uint64_t hftmon_agg_irq_oldest(const struct hftmon_agg *a)
{
	return hist_oldest(a->irq_total, a->irq_cap);
}

uint64_t hftmon_agg_spike_oldest(const struct hftmon_agg *a)
{
	return hist_oldest(a->spike_total, a->spike_cap);
}

const struct hftmon_agg_irq *hftmon_agg_irq_at(const struct hftmon_agg *a,
					       uint64_t i)
{
	return &a->irqs[i % a->irq_cap];
}

const struct hftmon_agg_spike *hftmon_agg_spike_at(const struct hftmon_agg *a,
						   uint64_t i)
{
	return &a->spikes[i % a->spike_cap];
}

uint64_t hftmon_agg_irq_first(const struct hftmon_agg *a, uint64_t since_ns)
{
	return first_since(a, hftmon_agg_irq_oldest(a), a->irq_total, since_ns, irq_key);
}

uint64_t hftmon_agg_spike_first(const struct hftmon_agg *a, uint64_t since_ns)
{
	return first_since(a, hftmon_agg_spike_oldest(a), a->spike_total, since_ns, spike_key);
}

const struct hftmon_agg_gone *hftmon_agg_gone_find(const struct hftmon_agg *a,
						   int32_t tid, uint64_t since_ns,
						   uint64_t *before_ns)
{
	uint64_t i, oldest = hist_oldest(a->gone_total, a->max_threads);
	const struct hftmon_agg_gone *found = NULL;

	/* Newest first (exits are in time order): a reused tid ends later. */
	*before_ns = 0;
	for (i = a->gone_total; i > oldest; i--) {
		const struct hftmon_agg_gone *g = &a->gone[(i - 1) % a->max_threads];

		if (g->tid != tid)
			continue;
		if (g->out_ns <= since_ns) {
			*before_ns = g->out_ns;
			break;
		}
		found = g;
	}
	return found;
}

const struct hftmon_agg_thread *hftmon_agg_thread_find(const struct hftmon_agg *a,
						       int32_t tid)
{
	uint32_t mask = a->nr_thread_slots - 1, i;

	if (tid <= 0)
		return NULL;
	for (i = hash32((uint32_t)tid, a->nr_thread_slots);; i = (i + 1) & mask) {
		if (a->threads[i].tid == tid)
			return &a->threads[i];
		if (!a->threads[i].tid)
			return NULL;
	}
}
