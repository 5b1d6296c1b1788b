/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The NUMA heatmap at cache-line resolution (numaline.c): the sampling
 * event found at configure (AMD IBS op, Intel PEBS load latency) or why
 * there is none, one perf event per tracked thread with its mmap'd ring,
 * drained with the module's rings, and the circular history of the
 * samples taken from them, which hftmon_get_numa_stats() reads as it reads
 * the hinting faults' (numabal.c). Everything is allocated at configure
 * and start; the drain allocates nothing.
 */
#ifndef HFTMON_LIB_NUMALINE_H
#define HFTMON_LIB_NUMALINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/perf_event.h>

#include "internal.h"
#include "numabal.h"

struct hftmon;

/* The system calls, a seam for the unit tests (NULL restores them). */
struct hftmon_line_ops {
	/* perf_event_open(attr, tid (0: the caller), cpu -1, group_fd) */
	int (*perf_open)(struct perf_event_attr *attr, pid_t tid, int group_fd);
	void *(*mmap)(int fd, size_t len); /* MAP_FAILED and errno on failure */
	int (*munmap)(void *addr, size_t len);
	int (*close)(int fd);
	/* move_pages(pid, n, pages, NULL, status, 0): where they are now */
	long (*move_pages)(pid_t pid, unsigned long n, void **pages, int *status);
};

HFTMON_INTERNAL extern const struct hftmon_line_ops *hftmon_line_ops;
HFTMON_INTERNAL void hftmon_line_set_ops(const struct hftmon_line_ops *ops);

#define HFTMON_LINE_MAX_EVENTS 256	/* threads sampled at once */
#define HFTMON_LINE_RING_PAGES 8	/* data pages per thread's ring */
#define HFTMON_LINE_BATCH 256		/* addresses per move_pages() */
#define HFTMON_LINE_SIZE 64u
#define HFTMON_LINE_SAMPLE_TYPE                                           \
	(PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR |          \
	 PERF_SAMPLE_CPU | PERF_SAMPLE_DATA_SRC)

struct hftmon_line_event {
	int fd, aux_fd;		/* aux_fd: SPR's mem-loads-aux leader, -1 */
	pid_t pid, tid;
	void *map;		/* control page and data, map_len bytes */
};

struct hftmon_numa_line {
	int status;		/* 0 sampling (or able to), -EOPNOTSUPP */
	char why[320];		/* status: why not; else what is sampled */
	char source[32];	/* hftmon_numa_stats.source */
	char event[96];		/* hftmon_numa_stats.source_event */
	struct perf_event_attr attr;
	bool aux;		/* open aux_type/aux_config as group leader */
	uint32_t aux_type;
	uint64_t aux_config;
	bool ibs;		/* AMD IBS op: ops of every kind sampled */

	struct hftmon_line_event ev[HFTMON_LINE_MAX_EVENTS];
	unsigned int nr_ev;
	size_t map_len;
	uint64_t unsampled;	/* threads not sampled (table full, refused) */

	/* The samples: the last cap of them, and the query's sort space. */
	struct hftmon_agg_numa_access *hist, *sort;
	uint32_t cap;
	uint64_t total;
	uint64_t lost;		/* PERF_RECORD_LOST(_SAMPLES): kernel dropped */
	uint64_t skipped;	/* samples without a user data address */
	uint64_t throttled;	/* PERF_RECORD_THROTTLE */
	uint64_t other;		/* records of other types, stepped over */
	uint64_t bad;		/* rings that held a malformed header */
	uint64_t records;	/* records taken from the rings, all types */
	uint64_t move_failed;	/* move_pages() calls that failed */

	/* The samples of one pid waiting for their nodes (move_pages()). */
	struct hftmon_agg_numa_access pend[HFTMON_LINE_BATCH];
	void *pages[HFTMON_LINE_BATCH];
	int node[HFTMON_LINE_BATCH];
	unsigned int nr_pend;
	/* A record that wraps the ring's end, put back together. */
	unsigned char rec[256];
};

/* At configure: the event and the history (0, -ENOMEM), or why not. */
HFTMON_INTERNAL int hftmon_numa_line_setup(struct hftmon *m, uint32_t period,
					   uint32_t ldlat, uint32_t history);
HFTMON_INTERNAL void hftmon_numa_line_free(struct hftmon *m);
/* At start (every attached process) and at an attach while running. */
HFTMON_INTERNAL void hftmon_numa_line_start(struct hftmon *m);
HFTMON_INTERNAL void hftmon_numa_line_attach(struct hftmon *m, pid_t pid);
/* With every pass over the module's rings; at stop, last, and closed. */
HFTMON_INTERNAL void hftmon_numa_line_drain(struct hftmon *m);
HFTMON_INTERNAL void hftmon_numa_line_stop(struct hftmon *m);
/*
 * One ring's records into the history (the parser, for the tests too):
 * map is a perf_event_mmap_page and its data.
 */
HFTMON_INTERNAL void hftmon_numa_line_ring(struct hftmon *m, void *map);

#endif /* HFTMON_LIB_NUMALINE_H */
