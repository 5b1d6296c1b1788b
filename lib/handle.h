/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The libhftmon handle, shared by the sources that implement <hftmon.h>:
 * hftmon.c (device, rings, drain, drain thread) and query.c (queries).
 *
 * Locking: agg_lock serialises the drain thread's passes with the
 * caller's queries and statistics. It is taken only while the drain
 * thread exists (thread_running); without it the caller owns everything.
 * Every other field is the caller's: the handle is not thread-safe.
 * Lock order: agg_lock is the only lock.
 */
#ifndef HFTMON_LIB_HANDLE_H
#define HFTMON_LIB_HANDLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "file.h"
#include "hftmon.h"
#include "internal.h"
#include "ring.h"

/* One sample of a window's interruption statistics: its row, its value. */
struct hftmon_irq_pair {
	uint64_t key; /* cpu << 40 | kind << 36 | raise << 35 | nr (< 2^32) */
	uint64_t ns;
};

struct hftmon_ring {
	void *map; /* NULL: not mapped */
	struct hftmon_ring_reader rd;
};

/* What the readers of earlier configurations saw, kept across reconfigures. */
struct hftmon_reader_totals {
	__u64 delivered;
	__u64 seq_gaps;
	__u64 bad_records;
	__u64 unknown;
	struct hftmon_agg_stats agg;
};

/*
 * The NUMA statistics' PMU side (numadram.c): which configured counters
 * are this machine's local and remote DRAM events, or why none are.
 */
struct hftmon_numa_dram {
	int idx[2];		/* local, remote: pmu_counters index, -1 none */
	int status;		/* 0, or -errno: why not counted */
	char events[2][64];	/* their names */
	char why[160];
};

/*
 * Per-node memory bandwidth (numabw.c): the memory controllers' uncore
 * counters, found at configure, opened at start, read at queries.
 */
#define HFTMON_BW_MAX_COUNTERS 64
struct hftmon_numa_bw_counter {
	int fd;			/* -1 closed */
	int cpu, node;		/* the CPU it counts on (cpumask), its node */
	bool write;		/* cas_count_write, else cas_count_read */
	double bytes_per_count;	/* .scale x .unit */
	uint64_t config;
	uint32_t type;
	uint64_t base, last;	/* at start; at the last read */
};

struct hftmon_numa_bw {
	int status;		/* 0 counting, or -errno */
	char why[224];
	unsigned int nr;
	struct hftmon_numa_bw_counter c[HFTMON_BW_MAX_COUNTERS];
	uint64_t start_ns, stop_ns;	/* the span counted; stop 0: running */
};

struct hftmon_numa_line;

struct hftmon {
	int fd;
	hftmon_log_fn log;
	void *log_ctx;
	struct hftmon_info info;
	struct hftmon_cpu_stats *cpu_stats; /* nr_cpu_ids, for GET_STATS */
	struct hftmon_ring *rings; /* nr_rings, while configured */
	unsigned int nr_rings;
	size_t ring_mmap_size;
	bool configured;
	bool running;
	unsigned int read_cursor; /* ring read_records resumes at */
	struct hftmon_reader_totals retired;

	/* The configuration's library side, kept for start. */
	struct hftmon_monitor_config cfg; /* cpu_affinity points at cpus */
	int *cpus;
	/* PMU counters configured, and CONFIGURE's status of each. */
	unsigned int nr_pmu;
	int32_t pmu_status[HFTMON_PMU_MAX_COUNTERS];
	/* Their (type, config), and the cache query's buffers (cache.c). */
	uint32_t pmu_type[HFTMON_PMU_MAX_COUNTERS];
	uint64_t pmu_config[HFTMON_PMU_MAX_COUNTERS];
	struct hftmon_cache_buf *cache;

	/* hftmon_get_numa_stats()'s PMU side, set at configure (numadram.c). */
	struct hftmon_numa_dram dram;
	struct hftmon_numa_bw bw;
	/* The cache-line heatmap's sampling (numaline.c); NULL: not asked. */
	struct hftmon_numa_line *line;

	/* The aggregator, allocated with the rings unless raw_only. */
	struct hftmon_agg agg;
	bool agg_ready;
	/* The latency query's samples: history_wakeups, caller-side. */
	uint64_t *lat_buf;
	uint32_t lat_cap;
	/* hftmon_get_irq_stats()'s buffers: window samples, source order. */
	struct hftmon_irq_pair *irq_pairs;
	uint32_t irq_pair_cap;
	uint32_t *irq_order;

	/* The drain thread. */
	pthread_mutex_t agg_lock;
	pthread_t thread;
	bool thread_running; /* created and not yet joined */
	bool thread_stop; /* under agg_lock: drain once more and exit */
	bool thread_abort; /* under agg_lock: exit without draining */
	/* Set by the drain thread while it waits for agg_lock. */
	atomic_bool drain_waiting;
	int wake_fd; /* eventfd stop writes to wake the thread; -1 */
	/*
	 * The processes attached (for a recording file's THREADS), and the
	 * file: the writer while hftmon_record_to_file() records, or the
	 * reader of a handle from hftmon_open_file() (file.c).
	 */
	pid_t *attached;
	unsigned int nr_attached, cap_attached;
	struct hftmon_file *file;
	/* Signalled (under agg_lock) by a drain pass that aggregated spikes. */
	pthread_cond_t spike_cond;
	uint64_t spikes_signalled;
	/* What the drain threads cost, under agg_lock. */
	struct {
		uint64_t wakeups, timer_wakeups, records;
		uint64_t cpu_ns; /* of the threads that ended */
		bool cpu_live; /* the thread runs: add its CPU clock */
	} drain;
};

/* GET_STATS from the module, or what a recording file kept. */
HFTMON_INTERNAL int hftmon_get_kstats(struct hftmon *m, struct hftmon_stats *ks);

HFTMON_INTERNAL void hftmon_log_msg(const struct hftmon *m,
				    enum hftmon_log_level level,
				    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pr_err(m, ...) hftmon_log_msg((m), HFTMON_LOG_ERROR, __VA_ARGS__)
#define pr_warn(m, ...) hftmon_log_msg((m), HFTMON_LOG_WARN, __VA_ARGS__)
#define pr_info(m, ...) hftmon_log_msg((m), HFTMON_LOG_INFO, __VA_ARGS__)
#define pr_debug(m, ...) hftmon_log_msg((m), HFTMON_LOG_DEBUG, __VA_ARGS__)

/* agg_lock, if the drain thread exists. */
HFTMON_INTERNAL void hftmon_lock(struct hftmon *m);
HFTMON_INTERNAL void hftmon_unlock(struct hftmon *m);
/*
 * Between two batches of a query that holds agg_lock: if the drain thread
 * waits for it, let it take the lock (a mutex is not fair: unlocking and
 * locking again would usually win it back) and wait for its pass.
 */
HFTMON_INTERNAL void hftmon_lock_yield(struct hftmon *m);

/* pfm.c: libpfm4 initialised again at the next call (tests: another PMU). */
HFTMON_INTERNAL void hftmon_pfm_reset(void);
struct perf_event_attr;
/*
 * name (with its libpfm4 modifiers) into a whole perf_event_attr, user
 * space only, config1 and precise_ip included: 0, or -errno (-EOPNOTSUPP
 * no libpfm4, -ENOENT not this machine's) with why set.
 */
HFTMON_INTERNAL int hftmon_pfm_encode(const char *name,
				      struct perf_event_attr *attr, char *why,
				      size_t len);
/* At configure, with the kernel's counters (numadram.c). */
HFTMON_INTERNAL void hftmon_numa_dram_setup(struct hftmon *m,
					    const struct hftmon_pmu_event *pmu,
					    unsigned int nr);
struct hftmon_pmu_query;
/* numabw.c: at configure, start, stop, close and in the NUMA stats query. */
HFTMON_INTERNAL void hftmon_numa_bw_setup(struct hftmon *m);
HFTMON_INTERNAL void hftmon_numa_bw_start(struct hftmon *m);
HFTMON_INTERNAL void hftmon_numa_bw_stop(struct hftmon *m);
HFTMON_INTERNAL void hftmon_numa_bw_stats(struct hftmon *m,
					  struct hftmon_numa_stats *o);
HFTMON_INTERNAL void hftmon_numa_dram_stats(struct hftmon *m,
					    const struct hftmon_pmu_query *q,
					    struct hftmon_numa_stats *o);

/*
 * cache.c: the cache query's buffers for a PMU history of history_slices
 * (with the configured counters' events identified), 0 or -ENOMEM; and
 * whether a counter of the cache table is configured (track_cache).
 */
HFTMON_INTERNAL int hftmon_cache_setup(struct hftmon *m,
				       uint32_t history_slices);
HFTMON_INTERNAL void hftmon_cache_free(struct hftmon *m);
HFTMON_INTERNAL bool hftmon_cache_configured(const struct hftmon *m);

/* Shared by the queries (query.c). CLOCK_MONOTONIC now. */
HFTMON_INTERNAL uint64_t hftmon_now_ns(void);
/*
 * The handle's now: CLOCK_MONOTONIC now, or for a recording read by
 * hftmon_open_file() when it ended (hftmon_file_now_ns()).
 */
HFTMON_INTERNAL uint64_t hftmon_handle_now_ns(const struct hftmon *m);
/* The oldest end time a window of window_us before m's now keeps; 0 = all. */
HFTMON_INTERNAL uint64_t hftmon_window_start(const struct hftmon *m,
					     uint64_t window_us);
/* 0, or -EINVAL not configured / -EOPNOTSUPP raw_only (logged). */
HFTMON_INTERNAL int hftmon_check_configured(struct hftmon *m, const char *what);
/*
 * The aggregator's interruption and spike histories for a session of
 * these events (sz's other sizes kept), and the aggregator with the
 * query buffers that go with it (hftmon_configure(), a recording's
 * reader): 0 or -ENOMEM.
 */
HFTMON_INTERNAL void hftmon_agg_sizes_of_events(struct hftmon_agg_sizes *sz,
						uint64_t events);
HFTMON_INTERNAL int hftmon_agg_setup(struct hftmon *m,
				     const struct hftmon_agg_sizes *sz);
/* Microseconds to nanoseconds, saturating. */
HFTMON_INTERNAL uint64_t hftmon_us_to_ns(uint64_t us);

/*
 * One drain pass into the aggregator only (no caller callback), for the
 * queries that wait: -EBUSY while the drain thread runs.
 */
HFTMON_INTERNAL int hftmon_drain_into_agg(struct hftmon *m);

/*
 * Options structs begin with their size (like copy_struct_from_user, and
 * libbpf's OPTS_VALID): a shorter caller gets the remaining fields
 * zeroed; a longer one must have zeros in everything after the end of the
 * last field this library knows (known: offsetofend of that field), the
 * struct's own tail padding included, since a newer caller's field may
 * sit there: -E2BIG otherwise. src_sz smaller than a size_t: -EINVAL.
 */
HFTMON_INTERNAL int hftmon_copy_opts(void *dst, size_t dst_size, size_t known,
				     const void *src, size_t src_sz);

#define hftmon_offsetofend(type, field) \
	(offsetof(type, field) + sizeof(((type *)0)->field))

/* Copies *src (may be NULL) into *dst, checked up to its field last. */
#define HFTMON_COPY_OPTS(dst, src, last)                                   \
	hftmon_copy_opts((dst), sizeof(*(dst)),                            \
			 hftmon_offsetofend(__typeof__(*(dst)), last), (src), \
			 (src) ? (src)->sz : 0)

/*
 * Output structs begin with their size too: copies what the caller has
 * room for (dst_sz) of ours (src, src_size bytes, its sz field ignored),
 * zeroes what the caller has and we do not, keeps dst's sz.
 */
HFTMON_INTERNAL void hftmon_copy_out(void *dst, size_t dst_sz,
				     const void *src, size_t src_size);

/* Element i of a caller's output array of stride-sized structs, filled. */
static inline void hftmon_put_out(void *out, size_t stride, size_t i,
				  const void *src, size_t src_size)
{
	size_t *o = (size_t *)(void *)((unsigned char *)out + i * stride);

	*o = stride;
	hftmon_copy_out(o, stride, src, src_size);
}

/* An output struct's sz is usable: holds at least the sz field. */
#define HFTMON_OUT_OK(p) ((p)->sz >= sizeof(size_t))

#endif /* HFTMON_LIB_HANDLE_H */
