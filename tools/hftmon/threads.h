/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Per-thread scheduling counts aggregated from records: a fixed-size
 * open-addressed table keyed by tid, sized once so that accounting a
 * record never allocates. Threads beyond the table's capacity are not
 * tracked; the records about them are counted in overflow_records.
 * Shared by the CLI's "record" report and the drain benchmark.
 */
#ifndef HFTMON_CLI_THREADS_H
#define HFTMON_CLI_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/hftmon.h>

struct hftmon_thread_stats {
	__s32 pid; /* 0 = free slot */
	__s32 tid;
	char comm[HFTMON_TASK_COMM_LEN]; /* last seen; "" if never */
	__u64 switch_out_voluntary; /* blocked */
	__u64 switch_out_involuntary; /* preempted or yielded while runnable */
	__u64 switch_in;
	__u64 wakeups;
	__u64 migrations;
	bool exited;
};

struct hftmon_thread_table {
	struct hftmon_thread_stats *slots;
	unsigned int nr_slots; /* a power of two, 2 x capacity */
	unsigned int capacity;
	unsigned int nr; /* threads in the table */
	unsigned long long overflow_records;
};

/* Allocates room for max_threads threads (at least 1). 0 or -ENOMEM. */
int hftmon_threads_init(struct hftmon_thread_table *t,
			unsigned int max_threads);
void hftmon_threads_fini(struct hftmon_thread_table *t);

/* The entry for tid, created if there is room; NULL when full or tid <= 0. */
struct hftmon_thread_stats *
hftmon_threads_get(struct hftmon_thread_table *t, __s32 pid, __s32 tid);

/*
 * Accounts one (validated) record: a SWITCH is a switch-out of hdr.tid if
 * prev is tracked and a switch-in of next_tid if next is tracked; WAKEUP,
 * MIGRATE and EXIT count for hdr.tid. Other types are ignored.
 */
void hftmon_threads_account(struct hftmon_thread_table *t,
			    const struct hftmon_rec_hdr *rec);

/*
 * Packs the threads to the front of the slots, sorted by pid then tid,
 * and returns how many there are. The table can no longer be looked up
 * afterwards: call it once, for the report.
 */
unsigned int hftmon_threads_sort(struct hftmon_thread_table *t);

#endif /* HFTMON_CLI_THREADS_H */
