/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libhftmon: the userspace API of hftmon. It wraps /dev/hftmon's ioctls
 * and drains the per-CPU rings the module fills. Every function returns 0
 * (or a count) on success and -errno on failure; nothing prints: messages
 * go to the optional log callback. The event records themselves are the
 * kernel ABI types of <linux/hftmon.h>.
 *
 * Typical use:
 *   hftmon_open(NULL, &m);
 *   hftmon_configure(m, &cfg);          // rings, events
 *   hftmon_attach_process(m, pid, &ao); // as many processes as needed
 *   hftmon_start(m);
 *   while (...) { hftmon_wait(m, 100); hftmon_drain(m, on_record, ctx); }
 *   hftmon_stop(m); hftmon_drain(m, on_record, ctx);
 *   hftmon_close(m);
 */
#ifndef HFTMON_H
#define HFTMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/hftmon.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hftmon;

enum hftmon_log_level { HFTMON_LOG_ERROR, HFTMON_LOG_WARN, HFTMON_LOG_INFO,
			HFTMON_LOG_DEBUG };
typedef void (*hftmon_log_fn)(void *ctx, enum hftmon_log_level level,
			      const char *msg);

/* Options structs begin with their size: set .sz = sizeof(struct ...). */
struct hftmon_open_opts {
	size_t sz;
	const char *device;	/* NULL: HFTMON_DEVICE */
	hftmon_log_fn log;	/* NULL: silent */
	void *log_ctx;
};

/* Opens the device and reads its capabilities. */
int hftmon_open(const struct hftmon_open_opts *opts, struct hftmon **out);
/* Stops monitoring if running, unmaps the rings, closes. NULL is fine. */
void hftmon_close(struct hftmon *m);

/* The module's capabilities, as read at open. */
int hftmon_get_info(struct hftmon *m, struct hftmon_info *info);
/* "sched_switch", "irq", "pmu_hw"...; NULL for an unknown source. */
const char *hftmon_source_name(enum hftmon_source src);
/*
 * Why a source is unavailable, from its source_status: NULL when status is
 * 0, otherwise a sentence such as "the CPU exposes no hardware PMU".
 */
const char *hftmon_source_reason(enum hftmon_source src, int status);

struct hftmon_monitor_config {
	size_t sz;
	uint32_t sampling_interval_us;	/* periodic sampling; 0 = off */
	/* The monitor's own drain thread: CPUs to pin it to, RT priority. */
	const int *cpu_affinity;	/* NULL = leave as is */
	size_t nr_cpu_affinity;
	int realtime_priority;		/* 0 = leave as is, 1..99 SCHED_FIFO */
	uint32_t ring_pages;		/* per-CPU data pages; 0 = default */
	uint64_t events;		/* HFTMON_EV_*; 0 = every available */
};

/* Allocates the rings (and maps them). Only while stopped. */
int hftmon_configure(struct hftmon *m, const struct hftmon_monitor_config *cfg);

struct hftmon_attach_opts {
	size_t sz;
	bool track_cache;	/* PMU cache/TLB counters for this process */
	bool track_numa;	/* NUMA placement events */
	bool kernel_stacks;	/* kernel stack at each switch-out */
	bool user_stacks;	/* user stack at each switch-out */
};

/* Tracks every thread of pid's process; opts may be NULL (defaults). */
int hftmon_attach_process(struct hftmon *m, pid_t pid,
			  const struct hftmon_attach_opts *opts);
int hftmon_detach_process(struct hftmon *m, pid_t pid);

int hftmon_start(struct hftmon *m);
int hftmon_stop(struct hftmon *m);

/*
 * Waits until a ring has data past its watermark (or timeout_ms, -1 =
 * forever). Returns 1 ready, 0 timeout, -errno.
 */
int hftmon_wait(struct hftmon *m, int timeout_ms);

/*
 * Raw event stream. Calls fn for every record now in the rings, CPU by
 * CPU in ring order, zero-copy (rec points into the ring and is valid only
 * during the call). Returns the number of records delivered, or -errno.
 * A non-zero return from fn stops the drain early; that record counts as
 * consumed. Never allocates.
 */
typedef int (*hftmon_record_fn)(void *ctx, const struct hftmon_rec_hdr *rec);
int hftmon_drain(struct hftmon *m, hftmon_record_fn fn, void *ctx);

/*
 * Batch form: copies whole records (each 8-byte aligned, back to back)
 * into buf, at most len bytes. Returns bytes copied (0 = nothing pending),
 * -ENOSPC if len cannot hold the next record, or -errno.
 */
ssize_t hftmon_read_records(struct hftmon *m, void *buf, size_t len);

/* Statistics: kernel-side per CPU plus what the library itself saw. */
struct hftmon_stats_summary {
	size_t sz;
	uint64_t records;		/* written by the kernel, all CPUs */
	uint64_t lost[HFTMON_LOST_MAX];	/* by enum hftmon_lost_cause */
	uint64_t lost_total;
	uint64_t delivered;		/* records the library handed out */
	uint64_t seq_gaps;		/* records missing by seq (= lost) */
	uint64_t bad_records;		/* failed validation (never expected) */
	uint32_t nr_procs;
	bool running;
	uint64_t start_ns, stop_ns;	/* CLOCK_MONOTONIC */
};
/*
 * cpus may be NULL; otherwise up to nr_cpus entries are filled. Returns
 * the number of entries filled (0 when cpus is NULL), or -errno.
 */
int hftmon_get_stats(struct hftmon *m, struct hftmon_stats_summary *sum,
		     struct hftmon_cpu_stats *cpus, unsigned int nr_cpus);

/*
 * Record helpers shared by the library, the CLI and the tests.
 * hftmon_record_check: 0 if rec (with avail bytes readable) is a
 * well-formed record of a known type with at least its type's size,
 * -EBADMSG otherwise.
 */
int hftmon_record_check(const struct hftmon_rec_hdr *rec, size_t avail);
const char *hftmon_record_type_name(unsigned int type);

#ifdef __cplusplus
}
#endif
#endif /* HFTMON_H */
