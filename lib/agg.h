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
 * circular histories, in time order. A thread's last switch-out (raw
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
	int32_t waker_pid, waker_tid;
	uint64_t wake_ns;
	struct hftmon_switch_event ev; /* the switch being completed */
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

struct hftmon_agg_stats {
	uint64_t switches_completed; /* ever, overwritten included */
	uint64_t switches_overwritten;
	uint64_t wakeups_completed;
	uint64_t wakeups_overwritten;
	uint64_t late; /* records older than what was already processed */
	uint64_t dropped; /* records not used: thread or stack table full */
	uint64_t unpaired; /* switch-in without switch-out or vice versa */
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

	struct hftmon_agg_stats st;
};

/* Table sizes, every one > 0. */
struct hftmon_agg_sizes {
	uint32_t history_switches;
	uint32_t history_wakeups;
	uint32_t max_threads;
	uint32_t max_stacks;
	uint32_t reorder_records;
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

/* See hftmon_get_stack(). */
HFTMON_INTERNAL int hftmon_agg_stack(const struct hftmon_agg *a, uint32_t id,
				     uint64_t *ips, size_t max,
				     unsigned int *flags);

#endif /* HFTMON_LIB_AGG_H */
