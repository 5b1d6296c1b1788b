/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * numabw.c's seams for the unit tests: where the PMUs are described
 * (sysfs), and the system calls that open and read their counters.
 */
#ifndef HFTMON_LIB_NUMABW_H
#define HFTMON_LIB_NUMABW_H

#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

struct perf_event_attr;

struct hftmon_bw_ops {
	/* perf_event_open(attr, pid -1, cpu, no group): fd, or -1 and errno */
	int (*perf_open)(struct perf_event_attr *attr, int cpu);
	ssize_t (*read)(int fd, void *buf, size_t n);
	int (*close)(int fd);
};

HFTMON_INTERNAL extern const struct hftmon_bw_ops *hftmon_bw_ops;
/* NULL restores the system calls. */
HFTMON_INTERNAL void hftmon_bw_set_ops(const struct hftmon_bw_ops *ops);
/* "/sys/bus/event_source/devices" */
HFTMON_INTERNAL extern const char *hftmon_pmu_dir;
/* A small sysfs file of a PMU there, without its newline; 0 or -errno. */
HFTMON_INTERNAL int hftmon_pmu_sysfs_file(const char *pmu, const char *file,
					  char *buf, size_t len);
/*
 * A named event of a PMU there ("event=0x03,umask=0x82") into its config
 * through the PMU's format files: 0, -ENOENT none, -EINVAL unusable.
 */
HFTMON_INTERNAL int hftmon_pmu_sysfs_event(const char *pmu, const char *ev,
					   uint64_t *config);

#endif /* HFTMON_LIB_NUMABW_H */
