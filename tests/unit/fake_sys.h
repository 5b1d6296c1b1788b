/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * A fake /dev/hftmon behind libhftmon's syscall ops (lib/sys.h): it
 * implements the ioctls, mmap, munmap, poll and close the way hftmon.ko
 * does (same argument checks, -EBUSY for CONFIGURE while mapped or
 * running, one ring per CPU at offset cpu * ring_mmap_size), backs the
 * rings with memory a test producer (ring_producer.h) writes into, lets a
 * test make any call fail with a chosen errno, and counts what the
 * library did so tests can prove nothing leaked and no ioctl was made.
 */
#ifndef HFTMON_TESTS_FAKE_SYS_H
#define HFTMON_TESTS_FAKE_SYS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/hftmon.h>

#include "ring_producer.h"

#define FAKE_DEVICE "/fake/hftmon"
#define FAKE_FD 1000
#define FAKE_MAX_CPUS 8
#define FAKE_PAGE_SIZE 4096u
#define FAKE_NR_IOC 9 /* ioctl numbers 0..8 */

struct fake_dev {
	/* Set by the test before the call it wants to see fail. */
	struct hftmon_info info; /* what GET_INFO returns */
	unsigned long fail_cmd; /* ioctl command to fail, 0 = none */
	int fail_errno;
	int open_errno; /* open of FAKE_DEVICE fails, 0 = no */
	unsigned int fail_mmap_at; /* 1-based mmap call to fail, 0 = none */
	int fail_mmap_errno;
	unsigned int nodev_cpus; /* bit n: CPU n is not possible */
	bool corrupt_ctrl; /* CONFIGURE writes a bad control page */
	int poll_errno; /* poll fails with it, 0 = no */
	short poll_revents; /* 0 = POLLIN if a ring has data */
	/*
	 * Readiness as the module has it: while running, only once a ring
	 * holds wakeup_bytes (a quarter ring by default); waits last the
	 * whole timeout, "forever" included. false: any data, waits capped.
	 */
	bool watermark;
	__u32 ring_pages_default;
	void (*on_start)(void); /* called by a successful START */
	/* CONFIGURE's pmu[i].status: the kernel refused counter i */
	__s32 pmu_status[HFTMON_PMU_MAX_COUNTERS];

	/* What the library did. */
	unsigned int ioctl_calls;
	unsigned int ioctl_by_nr[FAKE_NR_IOC];
	unsigned int open_fds;
	unsigned int mmap_calls;
	unsigned int nr_mapped;
	atomic_uint poll_calls;
	atomic_uint poll_woken; /* returned ready, not at the timeout */
	struct hftmon_config last_config;
	struct hftmon_attach last_attach;
	__u64 spike_threshold_ns; /* the last SET_SPIKE_THRESHOLD */

	/* The fake module's state. */
	bool configured;
	bool running;
	unsigned int nr_procs;
	__u64 start_ns, stop_ns;
	__u64 stop_at_ns; /* what STOP sets stop_ns to; 0: 2000 */
	__u64 ring_mmap_size;
	void *maps[FAKE_MAX_CPUS];
	unsigned int mapped[FAKE_MAX_CPUS];
	struct ring_producer prod[FAKE_MAX_CPUS];
};

extern struct fake_dev fake;

/* Writes text to dir/name: a file of a fake /proc or /sys tree. */
static inline void fake_write_file(const char *dir, const char *name,
				   const char *text)
{
	char path[4352];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		abort();
	}
	fputs(text, f);
	fclose(f);
}

/*
 * A /sys/devices/system/node of two nodes (CPU 0 on node 0, CPU 1 on
 * node 1, distances 10/20) in a new directory of template tmpl (ending in
 * XXXXXX, replaced in place), as qemu's two emulated nodes look.
 */
static inline void fake_two_nodes(char *tmpl)
{
	char d[256];
	int n;

	if (strlen(tmpl) > 200 || !mkdtemp(tmpl)) {
		perror(tmpl);
		abort();
	}
	fake_write_file(tmpl, "online", "0-1\n");
	for (n = 0; n < 2; n++) {
		snprintf(d, sizeof(d), "%s/node%d", tmpl, n);
		if (mkdir(d, 0700)) {
			perror(d);
			abort();
		}
		fake_write_file(d, "cpulist", n ? "1\n" : "0\n");
		fake_write_file(d, "distance", n ? "20 10\n" : "10 20\n");
		fake_write_file(d, "meminfo",
				"Node 0 MemTotal:  1024 kB\nNode 0 MemFree:  512 kB\n");
	}
}

/* Resets the fake to a healthy module with nr_cpus CPUs and installs it. */
void fake_setup(unsigned int nr_cpus);
/* Frees the fake's rings and puts libc's syscalls back. */
void fake_teardown(void);

#ifdef cmocka_unit_test
/*
 * The cmocka teardown of every test on the fake device: fails the test
 * if it left a descriptor open or a ring mapped, then tears down.
 */
static inline int fake_teardown_checked(void)
{
	assert_int_equal(fake.open_fds, 0);
	assert_int_equal(fake.nr_mapped, 0);
	fake_teardown();
	return 0;
}

/* The plain fixture: a healthy two-CPU module, checked at the end. */
static inline int fake_setup2(void **state)
{
	(void)state;
	fake_setup(2);
	return 0;
}

static inline int fake_teardown2(void **state)
{
	(void)state;
	return fake_teardown_checked();
}
#endif
/* How many ioctls of this command number were made. */
unsigned int fake_ioctls(unsigned long cmd);

#endif /* HFTMON_TESTS_FAKE_SYS_H */
