/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The hftmon recording file (hftmon_record_to_file(), hftmon_open_file()):
 * its format, and the library's writer and reader of it (file.c).
 *
 * Format, version 1.0. Every integer is little-endian (the records'
 * native order on x86-64 and arm64, the machines the module supports),
 * every section starts 8-byte aligned.
 *
 *   file header      struct hftmon_file_header (64 bytes)
 *   section ...      struct hftmon_file_section, then len bytes of payload,
 *                    then zeros up to the next multiple of 8
 *
 * Sections, in the order written (a reader takes them in file order and
 * steps over a type it does not know, by len):
 *   INFO      once, first: the module's struct hftmon_info (its own size
 *             field says how much of it there is)
 *   CONFIG    once: struct hftmon_file_config, the aggregator's sizes and
 *             the events recorded
 *   RECORDS   any number: the records one drain pass took from one CPU's
 *             ring, whole and in ring order (struct hftmon_file_records,
 *             then the records back to back, each hdr.size bytes). flags:
 *             COMPLETE the pass read the ring up to the head it loaded
 *             after pass_ns; QUIESCENT the session was stopped; CONT the
 *             ring's records go on in the next RECORDS section (the
 *             writer's buffer filled); PASS_END the last ring of a pass.
 *             Reading them in file order, with these flags, gives the
 *             aggregator exactly what it got live: the queries of a file
 *             answer as the live handle's did.
 *   STATS     at each stop: struct hftmon_file_stats, then nr_cpus
 *             struct hftmon_cpu_stats (the kernel's counters at the stop;
 *             the last one counts)
 *   THREADS   at each stop, one per attached process still there: struct
 *             hftmon_file_threads, then nr struct hftmon_file_thread
 *   NOTE      any number: a named blob the application added
 *             (hftmon_file_note(): the CLI stores its command line,
 *             kernel symbols and maps): struct hftmon_file_note, the name
 *             (name_len bytes, no NUL), zeros to 8, then the data
 *   END       last, at close: struct hftmon_file_end. A file without it
 *             was cut short (the recorder died): what it holds is read,
 *             and the reader says so.
 *
 * Versions: a reader reads every file of its major version; a minor
 * version only adds section types and fields at the end of a section's
 * fixed part (a reader ignores bytes past what it knows, and zero-fills
 * what an older file lacks). A newer major is refused (-EPROTONOSUPPORT).
 */
#ifndef HFTMON_LIB_FILE_H
#define HFTMON_LIB_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/hftmon.h>

#include "hftmon.h"
#include "internal.h"

#define HFTMON_FILE_MAGIC "hftmon\0f" /* 8 bytes */
#define HFTMON_FILE_MAJOR 1
#define HFTMON_FILE_MINOR 1

struct hftmon_file_header {
	char magic[8];
	__u16 major, minor;
	__u32 header_size;	/* 64: sections start here */
	__u32 nr_rings;		/* CPU rings recorded (nr_cpu_ids) */
	__u32 abi_version;	/* the module's HFTMON_ABI_VERSION */
	__u64 mono_ns;		/* CLOCK_MONOTONIC when recording began */
	__u64 real_ns;		/* CLOCK_REALTIME read right after it */
	char library[24];	/* libhftmon's version, NUL-padded */
};

enum hftmon_file_section_type {
	HFTMON_FILE_INFO = 1,
	HFTMON_FILE_CONFIG = 2,
	HFTMON_FILE_RECORDS = 3,
	HFTMON_FILE_STATS = 4,
	HFTMON_FILE_THREADS = 5,
	HFTMON_FILE_NOTE = 6,
	HFTMON_FILE_END = 7,
};

struct hftmon_file_section {
	__u32 type;
	__u32 reserved;
	__u64 len;		/* payload bytes after this header, unpadded */
};

struct hftmon_file_config {
	__u64 events;		/* HFTMON_EV_* */
	__u32 history_switches, history_wakeups;
	__u32 max_threads, max_stacks;
	__u32 reorder_records;
	__u32 raw_only;
	/* minor 1: the PMU counters (nr_pmu 0: none), as CONFIGURE gave them */
	__u32 nr_pmu;
	__u32 sampling_interval_us;
	struct hftmon_pmu_event pmu[HFTMON_PMU_MAX_COUNTERS];
};

#define HFTMON_FILE_COMPLETE	(1U << 0)
#define HFTMON_FILE_QUIESCENT	(1U << 1)
#define HFTMON_FILE_CONT	(1U << 2)
#define HFTMON_FILE_PASS_END	(1U << 3)

struct hftmon_file_records {
	__u32 cpu;
	__u32 flags;		/* HFTMON_FILE_COMPLETE... */
	__u64 pass_ns;
};

struct hftmon_file_stats {
	__u64 start_ns, stop_ns;	/* the session's, from the kernel */
	__u32 nr_procs;
	__u32 nr_cpus;			/* struct hftmon_cpu_stats that follow */
	__u32 cpu_stats_size;		/* sizeof(struct hftmon_cpu_stats) */
	__u32 reserved;
};

struct hftmon_file_threads {
	__s32 pid;
	__u32 nr;
	__u32 thread_size;		/* sizeof(struct hftmon_file_thread) */
	__u32 reserved;
	__u64 at_ns;			/* CLOCK_MONOTONIC when read */
};

/* struct hftmon_thread_info, in fixed-size fields. */
struct hftmon_file_thread {
	__s32 pid, tid;
	char comm[HFTMON_TASK_COMM_LEN];
	__s32 policy, rt_priority, nice, cpu;
	__u64 affinity[HFTMON_MAX_CPUS / 64];
	__u64 cpu_time_ns, cpu_time_resolution_ns;
	__s64 run_delay_ns;
	__u64 voluntary_switches, involuntary_switches;
	__s64 migrations;
};

struct hftmon_file_note {
	__u32 name_len;
	__u32 reserved;
	__u64 data_len;
};

struct hftmon_file_end {
	__u64 records;			/* records in the RECORDS sections */
	__u64 mono_ns;			/* when the file was closed */
};

struct hftmon;

/* ---- writer (hftmon.c's drain calls these while m->file is set) ---- */
HFTMON_INTERNAL void hftmon_file_put(struct hftmon *m, unsigned int cpu,
				     const struct hftmon_rec_hdr *rec);
HFTMON_INTERNAL void hftmon_file_ring_done(struct hftmon *m, unsigned int cpu,
					   bool complete, uint64_t pass_ns,
					   bool quiescent);
HFTMON_INTERNAL void hftmon_file_pass_end(struct hftmon *m);
/* A session starts: its rings may produce again (agg_session_start). */
HFTMON_INTERNAL void hftmon_file_started(struct hftmon *m);
/* At stop: the kernel's stats and the threads. 0 or the first write error. */
HFTMON_INTERNAL int hftmon_file_stopped(struct hftmon *m);
/* END, then frees the writer (or the reader). */
HFTMON_INTERNAL void hftmon_file_close(struct hftmon *m);

/* ---- reader: the handle of hftmon_open_file() ---- */
HFTMON_INTERNAL bool hftmon_file_reading(const struct hftmon *m);
/*
 * The "now" of a recording's queries: when it stopped (its last STATS),
 * else when it was closed (END), or its last record if that is later
 * (a file cut short has neither): CLOCK_MONOTONIC of the boot it was
 * recorded in, not this one.
 */
HFTMON_INTERNAL uint64_t hftmon_file_now_ns(const struct hftmon *m);
HFTMON_INTERNAL int hftmon_file_drain(struct hftmon *m, hftmon_record_fn fn,
				      void *ctx);
HFTMON_INTERNAL int hftmon_file_kstats(struct hftmon *m,
				       struct hftmon_stats *ks);
HFTMON_INTERNAL int hftmon_file_threads(struct hftmon *m, pid_t pid,
					struct hftmon_thread_info *out,
					size_t max);

#endif /* HFTMON_LIB_FILE_H */
