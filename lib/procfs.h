/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The library's one reader of /proc: per-thread scheduling figures the
 * kernel keeps anyway. Every function takes the directory procfs is
 * mounted on ("/proc"), so tests can point it at a tree of fixture files.
 *
 *   ROOT/PID/task/                  the threads
 *   ROOT/PID/task/TID/stat          comm, nice, last CPU (field 39),
 *                                   rt_priority (40), policy (41), utime,
 *                                   stime (14, 15)
 *   ROOT/PID/task/TID/status        voluntary_ctxt_switches,
 *                                   nonvoluntary_ctxt_switches
 *   ROOT/PID/task/TID/schedstat     on-CPU ns, run-queue wait ns, slices
 *   ROOT/PID/task/TID/sched         se.nr_migrations (CONFIG_SCHED_DEBUG)
 */
#ifndef HFTMON_LIB_PROCFS_H
#define HFTMON_LIB_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/hftmon.h>

#include "internal.h"

#define HFTMON_PROCFS_ROOT "/proc"

struct hftmon_procfs_thread {
	/* stat: always there while the thread lives. */
	char comm[HFTMON_TASK_COMM_LEN];
	int nice;
	int cpu;
	int rt_priority;
	int policy;
	uint64_t utime_ticks, stime_ticks; /* clock ticks (_SC_CLK_TCK) */
	/* status */
	bool have_ctxt;
	uint64_t voluntary, involuntary;
	/* schedstat: missing without CONFIG_SCHED_INFO. */
	bool have_schedstat;
	uint64_t cpu_time_ns, run_delay_ns;
	/* sched: -1 without CONFIG_SCHED_DEBUG. */
	int64_t migrations;
};

/*
 * The thread ids of pid, ascending, into a new array (*tids, free()d by
 * the caller). Returns how many, -ESRCH if there is no such process, or
 * -errno.
 */
HFTMON_INTERNAL int hftmon_procfs_tids(const char *root, pid_t pid,
				       pid_t **tids);

/*
 * Reads every file of one thread. 0, -ESRCH when the thread is gone (its
 * stat cannot be opened), -EPROTO when stat cannot be parsed, or -errno.
 * A missing status/schedstat/sched only clears its have_ flag (or leaves
 * migrations -1).
 */
HFTMON_INTERNAL int hftmon_procfs_thread(const char *root, pid_t pid,
					 pid_t tid,
					 struct hftmon_procfs_thread *t);

/* The parsers, one file's text each (NUL-terminated). 0 or -EPROTO. */
HFTMON_INTERNAL int hftmon_procfs_parse_stat(const char *text,
					     struct hftmon_procfs_thread *t);
HFTMON_INTERNAL int hftmon_procfs_parse_status(const char *text,
					       struct hftmon_procfs_thread *t);
HFTMON_INTERNAL int hftmon_procfs_parse_schedstat(
	const char *text, struct hftmon_procfs_thread *t);
HFTMON_INTERNAL int hftmon_procfs_parse_sched(const char *text,
					      struct hftmon_procfs_thread *t);

#endif /* HFTMON_LIB_PROCFS_H */
