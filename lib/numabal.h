/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * NUMA balancing in the aggregator (numabal.c): per tracked thread, the
 * hinting faults and migrations the kernel's HFTMON_REC_NUMA records
 * report, the balancer's task moves and swaps, and its time running on
 * each node from the switch records (the CPU a stint ran on, mapped to
 * its node by the topology read at configure); two circular histories in
 * time order, one of faults and one of placement events (moves, swaps,
 * failed moves, and switch-ins on another node than the last), so that a
 * flood of faults never pushes the rare moves out; and a third, of the
 * sampled accesses with their addresses (HFTMON_NUMA_ACCESS), from which
 * hftmon_get_numa_stats() builds its heatmap at query time, sorting a
 * copy in space allocated beside it. Allocated with the
 * aggregator when the session has HFTMON_EV_NUMA; never allocates after.
 */
#ifndef HFTMON_LIB_NUMABAL_H
#define HFTMON_LIB_NUMABAL_H

#include <stdint.h>

#include "hftmon.h"
#include "internal.h"

struct hftmon_agg;

/* One thread's totals since configure (kept after it exits). */
struct hftmon_agg_numa_thread {
	int32_t pid, tid; /* tid 0: free slot */
	int32_t node; /* node of its last switch-in, -1 unknown */
	int32_t cpu; /* its CPU then */
	uint32_t node_changes;
	uint64_t faults, faults_local, fault_pages;
	uint64_t faults_migrated, pages_migrated;
	uint64_t faults_migrate_failed, pages_migrate_failed;
	uint64_t faults_shared;
	uint64_t moves, swaps, sticks;
	uint64_t first_ns, last_ns; /* first and last NUMA record */
	uint64_t on_unknown_ns;
	uint64_t on_node_ns[HFTMON_NUMA_MAX_NODES];
};

struct hftmon_agg_numa_ev {
	uint64_t time_ns;
	int32_t pid, tid;
	uint8_t kind; /* HFTMON_NUMA_EV_* */
	uint8_t reserved;
	uint16_t flags;
	uint32_t pages;
	int16_t src_cpu, src_node, dst_cpu, dst_node;
	int32_t other_pid, other_tid;
};

/* One sampled access (HFTMON_NUMA_ACCESS): the heatmap's raw material. */
struct hftmon_agg_numa_access {
	uint64_t time_ns;
	uint64_t addr; /* page-aligned */
	int32_t pid, tid;
	uint32_t pages; /* of the folio accessed */
	int16_t mem_node, cpu_node; /* -1 unknown */
};

struct hftmon_agg_numa {
	int16_t *cpu_node; /* per ring (CPU): its node, -1 unknown */
	unsigned int nr_cpus;
	struct hftmon_agg_numa_thread *threads;
	uint32_t nr_slots, nr_threads, max_threads;
	struct hftmon_agg_numa_ev *faults, *moves;
	uint32_t fault_cap, move_cap;
	uint64_t fault_total, move_total;
	/* The last access_cap accesses, and the heatmap query's sort space. */
	struct hftmon_agg_numa_access *accesses, *access_sort;
	uint32_t access_cap;
	uint64_t access_total;
	uint64_t records; /* NUMA records taken in */
};

/* Allocates a->numa for nr_cpus CPUs; 0 or -ENOMEM. */
HFTMON_INTERNAL int hftmon_agg_numa_init(struct hftmon_agg *a,
					 unsigned int nr_cpus,
					 uint32_t max_threads,
					 uint32_t history_faults,
					 uint32_t history_moves,
					 uint32_t history_accesses);
HFTMON_INTERNAL void hftmon_agg_numa_fini(struct hftmon_agg *a);
/* cpu's node (-1: none known); CPUs never set are unknown. */
HFTMON_INTERNAL void hftmon_agg_numa_set_node(struct hftmon_agg *a,
					      unsigned int cpu, int node);

/* An HFTMON_REC_NUMA record, in time order. */
HFTMON_INTERNAL void hftmon_agg_numa_record(struct hftmon_agg *a,
					    const struct hftmon_rec_numa *r);
/* A tracked thread ran on cpu from from_ns to to_ns (a switch-out). */
HFTMON_INTERNAL void hftmon_agg_numa_ran(struct hftmon_agg *a, int32_t pid,
					 int32_t tid, int32_t cpu,
					 uint64_t from_ns, uint64_t to_ns);
/* A tracked thread was switched in on cpu at t. */
HFTMON_INTERNAL void hftmon_agg_numa_in(struct hftmon_agg *a, int32_t pid,
					int32_t tid, int32_t cpu, uint64_t t);

/* numa.c: the nodes' sysfs directory, and the CPU -> node map from it. */
HFTMON_INTERNAL extern const char *hftmon_node_dir;
HFTMON_INTERNAL void hftmon_numa_map_cpus(struct hftmon *m);

#endif /* HFTMON_LIB_NUMABAL_H */
