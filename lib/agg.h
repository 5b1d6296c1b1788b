/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The aggregator behind libhftmon's queries: every record drained passes
 * through hftmon_agg_record() before anyone else sees it.
 *
 * Pairing needs global time order, which draining does not give: rings
 * are read one after the other, so a thread's switch-out on CPU 0 and its
 * switch-in on CPU 1 (or the wake-up on CPU 1 that precedes a switch-in
 * on CPU 0) come out in either order. Each ring is in time order,
 * though, so the aggregator keeps one FIFO of pending records per ring
 * and, after a drain pass, merges the FIFOs by timestamp up to a
 * watermark: the time below which no ring can still deliver a record.
 * A ring read up to its head at clock time C can only produce records
 * stamped after C (less the few instructions between a probe's timestamp
 * and its commit: HFTMON_AGG_REORDER_NS of slack); a ring read only in
 * part can produce nothing older than its last record; once the session
 * is stopped, nothing more comes at all. The merged stream then drives a
 * per-thread state machine (on CPU / off CPU with its switch-out kept /
 * woken), which emits completed switches and wake-up latencies into two
 * circular histories, in time order. With interruption events, the
 * IRQ/SOFTIRQ records are merged the same way: each is added to its
 * source's totals and histograms (per CPU, kind, number and tracked
 * thread interrupted, in a table of fixed size) and to a circular history
 * in end order (a late one, an NMI's, is moved back to its place); device
 * IRQ names are kept on arrival. SPIKE records go to a history of their
 * own, an EXTENDS record marking the one it replaces. A thread's last switch-out (raw
 * state TASK_DEAD) removes it from the thread table.
 *
 * Every table is allocated by hftmon_agg_init(); hftmon_agg_record() and
 * hftmon_agg_flush() never allocate. What does not fit is counted: a full
 * history overwrites its oldest entry, a full thread or stack table drops
 * the record (dropped), a full reorder pool processes its oldest record
 * early, and a record older than what was already processed (late) is
 * processed as it comes.
 *
 * Not thread-safe: the handle serialises drains and queries.
 */
#ifndef HFTMON_LIB_AGG_H
#define HFTMON_LIB_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/hftmon.h>

#include "hftmon.h"
#include "internal.h"

#define HFTMON_AGG_STACK_DEPTH 32 /* frames kept per stack (the kernel's) */
/*
 * Records awaiting the merge, at most (about 104 bytes each): a drain
 * pass larger than this processes its oldest records early (counted late
 * if that mis-orders them) instead of growing with CPUs x ring size.
 */
#define HFTMON_AGG_MAX_REORDER (1u << 15)
#define HFTMON_AGG_REORDER_NS 2000000ull /* probe timestamp to commit */

/* A record waiting in its ring's FIFO for the merge. */
struct hftmon_agg_node {
	uint32_t next; /* index, HFTMON_AGG_NIL at the end */
	uint32_t reserved;
	union {
		struct hftmon_rec_hdr hdr;
		struct hftmon_rec_switch sw;
		struct hftmon_rec_wakeup wk;
		struct hftmon_rec_irq irq; /* its name stays behind: names[] */
		struct hftmon_rec_spike spike;
		struct hftmon_rec_switch_stack sws;
		struct hftmon_rec_numa numa;
		struct hftmon_rec_runq runq;
		struct hftmon_rec_migrate mig;
	} r;
};
#define HFTMON_AGG_NIL UINT32_MAX

struct hftmon_agg_ring {
	uint32_t head, tail; /* FIFO of nodes, HFTMON_AGG_NIL: empty */
	uint64_t bound_ns; /* no future record of this ring is older */
	uint64_t last_ns; /* time of its last record */
	bool absent; /* no such ring: never produces */
};

enum hftmon_agg_thread_state {
	HFTMON_AGG_UNKNOWN = 0, /* no switch seen yet */
	HFTMON_AGG_ON_CPU,
	HFTMON_AGG_OFF_CPU, /* switched out: ev holds the switch-out */
};

/* Pairing state of one tracked thread. */
struct hftmon_agg_thread {
	int32_t tid; /* 0 = free slot */
	uint8_t state; /* enum hftmon_agg_thread_state */
	bool woken; /* wake_ns/waker valid */
	uint64_t on_since_ns; /* ON_CPU: switched in at, on on_cpu */
	int32_t on_cpu;
	int32_t first_in_cpu;
	uint64_t first_in_ns; /* its first switch-in, if that was its first record */
	int32_t waker_pid, waker_tid;
	uint64_t wake_ns;
	struct hftmon_switch_event ev; /* the switch being completed */
	uint64_t last_switch; /* its last completed one: history index + 1 */
};

/*
 * An exited thread's ends, kept when its entry is freed at its last
 * switch-out (TASK_DEAD): a window it lived through is still explained
 * from its first switch-in to that switch-out.
 */
struct hftmon_agg_gone {
	int32_t tid;
	int32_t first_in_cpu;
	uint64_t first_in_ns; /* as the thread had it: 0 = not its first record */
	int32_t on_cpu;
	uint64_t on_since_ns; /* its last run: [on_since_ns, out_ns); 0 = unknown */
	uint64_t out_ns;
};

struct hftmon_agg_stack {
	uint32_t id; /* 0 = free */
	bool present; /* its STACK record was seen */
	uint16_t flags; /* HFTMON_STACK_* */
	uint32_t nr;
	uint64_t ips[HFTMON_AGG_STACK_DEPTH];
};

/* One wake-up: woken at end_ns - latency_ns, ran at end_ns. */
struct hftmon_agg_wakeup {
	uint64_t end_ns;
	uint64_t latency_ns;
	int32_t pid, tid;
};

/*
 * Interruption durations: a log-linear histogram of fixed size, the same
 * for every source. Values below 8 ns have a bucket each; above, every
 * power of two [2^e, 2^(e+1)) is cut into 8 equal buckets, so a bucket's
 * width is at most 1/8 (12.5 %) of its lower bound, up to 2^32 ns (4.3 s);
 * what is longer lands in one overflow bucket. A percentile is the upper
 * bound of the bucket that holds the nearest-rank sample, never above the
 * largest value seen: at most 12.5 % above the sample itself.
 */
#define HFTMON_AGG_HIST_SUB 8u
#define HFTMON_AGG_HIST_MAX_LOG2 32u
#define HFTMON_AGG_HIST_BUCKETS \
	(HFTMON_AGG_HIST_SUB + (HFTMON_AGG_HIST_MAX_LOG2 - 3u) * HFTMON_AGG_HIST_SUB + 1u)

struct hftmon_agg_hist {
	uint64_t n[HFTMON_AGG_HIST_BUCKETS];
};

/*
 * One interruption source on one CPU, as it interrupted one tracked
 * thread (tid) or anything else (tid 0): totals since configure.
 */
struct hftmon_agg_irq_src {
	uint16_t cpu;
	uint8_t kind; /* HFTMON_IRQ_KIND_* */
	uint8_t reserved;
	uint32_t nr;
	int32_t pid, tid;
	uint64_t count, net_ns, max_ns;
	uint64_t raise_count, raise_max_ns;
	struct hftmon_agg_hist net, raise;
};

/* An interruption in the history (end order): net of what nested in it. */
struct hftmon_agg_irq {
	uint64_t start_ns, end_ns, net_ns;
	uint64_t raise_ns; /* SOFTIRQ: first raise before it ran; 0 unseen */
	int32_t pid, tid; /* the tracked thread it interrupted; 0 */
	uint32_t nr;
	uint16_t cpu;
	uint8_t kind;
	uint8_t depth;
};

/* A spike, as the kernel reported it (hftmon_rec_spike). */
struct hftmon_agg_spike {
	uint64_t start_ns, end_ns, threshold_ns, idle_exit_ns;
	uint64_t addr; /* FAULT: the faulting address */
	int32_t pid, tid;
	uint32_t type, flags, links;
	int32_t idle_state;
	uint16_t cpu, from_cpu;
	bool replaced; /* a later EXTENDS record took its place */
};

/* A device IRQ's name, from its first (NAMED) record. */
struct hftmon_agg_irq_name {
	uint32_t nr; /* + 1: 0 = free */
	char name[HFTMON_IRQ_NAME_LEN];
};

struct hftmon_agg_stats {
	uint64_t switches_completed; /* ever, overwritten included */
	uint64_t switches_overwritten;
	uint64_t wakeups_completed;
	uint64_t wakeups_overwritten;
	uint64_t late; /* records older than what was already processed */
	uint64_t dropped; /* records not used: thread or stack table full */
	uint64_t unpaired; /* switch-in without switch-out or vice versa */
	uint64_t irqs; /* interruption records aggregated */
	uint64_t irqs_overwritten;
	uint64_t spikes; /* spike records aggregated (EXTENDS included) */
	uint64_t spikes_overwritten;
};

struct hftmon_agg {
	/* Reorder: per-ring FIFOs over one node pool. */
	struct hftmon_agg_ring *rings;
	unsigned int nr_rings;
	struct hftmon_agg_node *nodes;
	uint32_t nr_nodes;
	uint32_t fresh; /* nodes[fresh..] never used yet */
	uint32_t free_list; /* freed nodes, LIFO (stays cache-warm) */
	uint32_t *heap; /* ring indexes, for the merge */
	uint64_t done_ns; /* time of the last record processed */

	/* Threads: open addressing on tid, linear probing. */
	struct hftmon_agg_thread *threads;
	uint32_t nr_thread_slots; /* power of two, >= 2 x capacity */
	uint32_t nr_threads;
	uint32_t max_threads;
	/* Exited threads, as many as there may be live ones: circular. */
	struct hftmon_agg_gone *gone;
	uint64_t gone_total;

	/*
	 * Children followed (FORK records with HFTMON_FORK_FOLLOWED), in the
	 * order drained, up to HFTMON_AGG_MAX_FOLLOWED (the module's own
	 * limit on processes); the forks that were not (FULL, NOMEM).
	 */
	int32_t *followed;
	uint32_t nr_followed;
	uint64_t not_followed;

	/* Stacks: entries, and an index on id (entry + 1, 0 = free). */
	struct hftmon_agg_stack *stacks;
	uint32_t nr_stacks;
	uint32_t max_stacks;
	uint32_t *stack_index;
	uint32_t nr_stack_slots;

	/* Histories: circular, oldest overwritten. */
	struct hftmon_switch_event *switches;
	uint32_t switch_cap;
	uint64_t switch_total; /* ever written; next at total % cap */
	uint32_t switch_next;
	struct hftmon_agg_wakeup *wakeups;
	uint32_t wakeup_cap;
	uint64_t wakeup_total;
	uint32_t wakeup_next;
	struct hftmon_agg_irq *irqs;
	uint32_t irq_cap;
	uint64_t irq_total;
	uint64_t irq_max_gross; /* the longest interruption ever seen */
	uint64_t fault_max_ns; /* the longest FAULT spike ever seen */
	struct hftmon_agg_spike *spikes;
	uint32_t spike_cap;
	uint64_t spike_total;

	/* Interruption sources: entries, and an index on the key (entry + 1). */
	struct hftmon_agg_irq_src *srcs;
	uint32_t nr_srcs, max_srcs;
	uint32_t *src_index;
	uint32_t nr_src_slots;
	struct hftmon_agg_irq_name *names;
	uint32_t nr_name_slots; /* power of two */

	/*
	 * What the aggregator knows: every record older than known_ns was
	 * processed (the watermark of the last flush); stop_ns, once the
	 * session stopped (0 while it runs), ends what can be known.
	 */
	uint64_t known_ns;
	uint64_t start_ns, stop_ns;

	struct hftmon_agg_stats st;

	/* NUMA balancing (numabal.h); NULL without HFTMON_EV_NUMA. */
	struct hftmon_agg_numa *numa;
	/* PMU counters (pmu.h); NULL without HFTMON_EV_PMU. */
	struct hftmon_agg_pmu *pmu;
	/* Who ran on each CPU (runq.h); NULL without HFTMON_EV_RUNQ. */
	struct hftmon_agg_runq *runq;
};

#define HFTMON_AGG_MAX_FOLLOWED 4096

/* Table sizes, every one > 0. */
struct hftmon_agg_sizes {
	uint32_t history_switches;
	uint32_t history_wakeups;
	uint32_t max_threads;
	uint32_t max_stacks;
	uint32_t reorder_records;
	/* 0 = none (no interruption or spike aggregation at all) */
	uint32_t history_irqs;
	uint32_t history_spikes;
	uint32_t max_irq_sources;
	/* 0 = no NUMA balancing aggregation (numabal.h) */
	uint32_t max_numa_threads;
	uint32_t history_numa_faults;
	uint32_t history_numa_moves;
	uint32_t history_numa_accesses; /* HFTMON_NUMA_ACCESS records kept */
	/* 0 = no PMU aggregation (pmu.h); else counters, and their status */
	uint32_t nr_pmu;
	const int32_t *pmu_status;
	uint32_t max_pmu_threads;
	uint32_t history_pmu_slices;
	/* 0 = no history of who ran on each CPU (runq.h) */
	uint32_t history_runq;
};

/* Allocates everything for nr_rings rings. 0 or -ENOMEM/-EINVAL. */
HFTMON_INTERNAL int hftmon_agg_init(struct hftmon_agg *a, unsigned int nr_rings,
				    const struct hftmon_agg_sizes *sz);
HFTMON_INTERNAL void hftmon_agg_fini(struct hftmon_agg *a);

/* One validated record, drained from ring (< nr_rings). Never allocates. */
HFTMON_INTERNAL void hftmon_agg_record(struct hftmon_agg *a, unsigned int ring,
				       const struct hftmon_rec_hdr *rec);

/*
 * After reading ring: complete = read up to the head it loaded after
 * pass_ns (the clock read before the pass), quiescent = the producer is
 * stopped. Tells the merge how old a future record of the ring can be.
 */
HFTMON_INTERNAL void hftmon_agg_ring_done(struct hftmon_agg *a,
					  unsigned int ring, bool complete,
					  uint64_t pass_ns, bool quiescent);

/* Ring ring does not exist (not a possible CPU): it bounds nothing. */
HFTMON_INTERNAL void hftmon_agg_ring_absent(struct hftmon_agg *a,
					    unsigned int ring);

/* The session (re)starts: every ring may produce again. */
HFTMON_INTERNAL void hftmon_agg_session_start(struct hftmon_agg *a);

/* The session stopped at stop_ns: nothing after it can be known. */
HFTMON_INTERNAL void hftmon_agg_session_stop(struct hftmon_agg *a,
					     uint64_t stop_ns);

/* Processes, in time order, every pending record below the watermark. */
HFTMON_INTERNAL void hftmon_agg_flush(struct hftmon_agg *a);

/* Records wait in the FIFOs for a later pass (above the watermark). */
HFTMON_INTERNAL bool hftmon_agg_pending(const struct hftmon_agg *a);

/*
 * ---- queries ----
 * The histories are indexed by absolute position: entry i (0 = the first
 * ever written) is held while total - cap <= i < total. A query takes a
 * range [first, end) once and then reads it a batch at a time, dropping
 * the lock in between: entries the drain overwrote meanwhile are below
 * hftmon_agg_*_oldest() and are skipped.
 */

/* Entries ever written, and the oldest still held. */
HFTMON_INTERNAL uint64_t hftmon_agg_switch_total(const struct hftmon_agg *a);
HFTMON_INTERNAL uint64_t hftmon_agg_switch_oldest(const struct hftmon_agg *a);
HFTMON_INTERNAL uint64_t hftmon_agg_wakeup_total(const struct hftmon_agg *a);
HFTMON_INTERNAL uint64_t hftmon_agg_wakeup_oldest(const struct hftmon_agg *a);

/* The first held entry that ended (switched in) at or after since_ns. */
HFTMON_INTERNAL uint64_t hftmon_agg_switch_first(const struct hftmon_agg *a,
						 uint64_t since_ns);
HFTMON_INTERNAL uint64_t hftmon_agg_wakeup_first(const struct hftmon_agg *a,
						 uint64_t since_ns);

/* Held entry i (oldest <= i < total). */
HFTMON_INTERNAL const struct hftmon_switch_event *
hftmon_agg_switch_at(const struct hftmon_agg *a, uint64_t i);
HFTMON_INTERNAL const struct hftmon_agg_wakeup *
hftmon_agg_wakeup_at(const struct hftmon_agg *a, uint64_t i);

HFTMON_INTERNAL uint64_t hftmon_agg_irq_oldest(const struct hftmon_agg *a);
HFTMON_INTERNAL uint64_t hftmon_agg_spike_oldest(const struct hftmon_agg *a);
/* The first held interruption / spike that ended at or after since_ns. */
HFTMON_INTERNAL uint64_t hftmon_agg_irq_first(const struct hftmon_agg *a,
					      uint64_t since_ns);
HFTMON_INTERNAL uint64_t hftmon_agg_spike_first(const struct hftmon_agg *a,
						uint64_t since_ns);
HFTMON_INTERNAL const struct hftmon_agg_irq *
hftmon_agg_irq_at(const struct hftmon_agg *a, uint64_t i);
HFTMON_INTERNAL const struct hftmon_agg_spike *
hftmon_agg_spike_at(const struct hftmon_agg *a, uint64_t i);
/* The thread's pairing state, NULL if it has none. */
HFTMON_INTERNAL const struct hftmon_agg_thread *
hftmon_agg_thread_find(const struct hftmon_agg *a, int32_t tid);
/*
 * The exited thread tid whose life ended first after since_ns, or NULL;
 * *before_ns: the last exit of a thread tid at or before since_ns, or 0.
 */
HFTMON_INTERNAL const struct hftmon_agg_gone *
hftmon_agg_gone_find(const struct hftmon_agg *a, int32_t tid, uint64_t since_ns,
		     uint64_t *before_ns);

/* Histogram bucket of v, and the largest value a bucket holds. */
HFTMON_INTERNAL unsigned int hftmon_agg_hist_bucket(uint64_t v);
HFTMON_INTERNAL uint64_t hftmon_agg_hist_upper(unsigned int b);
/* The nearest-rank percentile p of a histogram of n samples, max seen. */
HFTMON_INTERNAL uint64_t hftmon_agg_hist_pct(const struct hftmon_agg_hist *h,
					     uint64_t n, uint64_t max, double p);
/* The name of an interruption source ("" unknown), into name. */
HFTMON_INTERNAL void hftmon_agg_irq_name(const struct hftmon_agg *a,
					 uint32_t kind, uint32_t nr,
					 char name[HFTMON_IRQ_NAME_LEN]);

/* See hftmon_get_stack(). */
HFTMON_INTERNAL int hftmon_agg_stack(const struct hftmon_agg *a, uint32_t id,
				     uint64_t *ips, size_t max,
				     unsigned int *flags);

#endif /* HFTMON_LIB_AGG_H */
