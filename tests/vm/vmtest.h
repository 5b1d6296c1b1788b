/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the VM integration tests: each test is one program run as
 * root inside the qemu guest with hftmon.ko loaded; it exits 0 pass,
 * 1 fail, 77 skip (liburing's convention) and explains every failure on
 * a "# " line. Ground truth comes from /proc, never from hftmon itself.
 */
#ifndef HFTMON_VMTEST_H
#define HFTMON_VMTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

static int vmtest_failed;

/* Failures printed before the rest are only counted (a broken field
 * fails on every record: the first lines say what, the count how often). */
#define VMTEST_MAX_PRINTED	40

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			if (++vmtest_failed <= VMTEST_MAX_PRINTED) {	\
				printf("# FAIL %s:%d: %s: ", __FILE__,	\
				       __LINE__, #cond);		\
				printf(__VA_ARGS__);			\
				printf("\n");				\
			}						\
		}							\
	} while (0)

/* A failed step the rest of the test depends on (cond evaluated once). */
#define REQUIRE(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("# FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);				\
			printf("\n");					\
			exit(1);					\
		}							\
	} while (0)

#define INFO(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

static inline int vmtest_result(void)
{
	if (vmtest_failed > VMTEST_MAX_PRINTED)
		printf("# ... %d failed checks in all\n", vmtest_failed);
	return vmtest_failed ? 1 : 0;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- kallsyms, our own: [start, next symbol) of a function ---------- */

static inline int ksym_range(const char *name, uint64_t *lo, uint64_t *hi)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], sym[256], type;
	unsigned long long a, found = 0, best_next = ~0ull;

	if (!f)
		return -errno;
	/* First pass: the symbol's address. */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &a, &type, sym) == 3 &&
		    !strcmp(sym, name)) {
			found = a;
			break;
		}
	if (!found) {
		fclose(f);
		return -ENOENT;
	}
	/* Second pass: the lowest address above it. */
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx", &a) == 1 && a > found && a < best_next)
			best_next = a;
	fclose(f);
	*lo = found;
	*hi = best_next;
	return 0;
}

#ifdef _UAPI_LINUX_HFTMON_H
/*
 * Every record a raw session's mapped ring holds, oldest first, to keep()
 * (which copies what it wants), then the ring marked read; the ring must
 * have lost nothing. For the tests that read the rings without the
 * library (its own pairing is what they check).
 */
static inline void vm_ring_consume(void *ring, int cpu,
				   void (*keep)(const struct hftmon_rec_hdr *h))
{
	struct hftmon_ring_ctrl *ctrl = ring;
	const char *data = (const char *)ring + ctrl->data_offset;
	uint64_t head = __atomic_load_n(&ctrl->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = ctrl->data_tail;
	uint64_t lost = ctrl->lost[0] + ctrl->lost[1] + ctrl->lost[2];

	CHECK(lost == 0, "cpu %d lost %llu records", cpu,
	      (unsigned long long)lost);
	while (tail < head) {
		const struct hftmon_rec_hdr *h =
			(const void *)(data + (tail & (ctrl->data_size - 1)));

		REQUIRE(h->size >= 8 && !(h->size & 7), "bad record size");
		keep(h);
		tail += h->size;
	}
	__atomic_store_n(&ctrl->data_tail, head, __ATOMIC_RELEASE);
}
#endif

/*
 * Writes val to the hftmon module's parameter name
 * (/sys/module/hftmon/parameters/NAME): 0, or -errno (-EIO if short).
 */
static inline int vm_param_set(const char *name, const char *val)
{
	char path[128];
	int fd, err = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/module/hftmon/parameters/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(val))
		err = -EIO;
	close(fd);
	return err;
}

/* voluntary/nonvoluntary_ctxt_switches of one thread, from the kernel. */
static inline int proc_ctxt(int pid, int tid, long *vol, long *invol)
{
	char path[96], line[256];
	FILE *f;
	int got = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %ld", vol) == 1)
			got |= 1;
		else if (sscanf(line, "nonvoluntary_ctxt_switches: %ld", invol) == 1)
			got |= 2;
	}
	fclose(f);
	return got == 3 ? 0 : -ENODATA;
}

/*
 * A task's minflt + majflt and its state letter, from its stat file under
 * dir (/proc/PID or /proc/self/task/TID): the kernel's fault counts.
 */
static inline int proc_faults(const char *dir, unsigned long long *faults,
			      char *state)
{
	unsigned long long minflt, majflt;
	char path[128], buf[1024], *p;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/stat", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt */
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %llu %*u %llu",
			 state, &minflt, &majflt) != 3)
		return -1;
	*faults = minflt + majflt;
	return 0;
}

/* Its run time (schedstat's first field, ns) under dir. */
static inline int proc_runtime(const char *dir, unsigned long long *run_ns)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/schedstat", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fscanf(f, "%llu", run_ns) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/*
 * Until the task under dir is blocked: state S, and its run time and
 * faults unchanged over 2 ms (ready(id), if given, must also hold first); its
 * faults and run time then. 0, or -1 after about 6 s.
 */
static inline int proc_wait_blocked(const char *dir, bool (*ready)(pid_t),
				    pid_t id, unsigned long long *faults,
				    unsigned long long *run_ns)
{
	unsigned long long f1, r1, r2;
	char st;
	int i;

	for (i = 0; i < 2000; i++) {
		if ((!ready || ready(id)) && !proc_faults(dir, &f1, &st) &&
		    st == 'S' && !proc_runtime(dir, &r1)) {
			usleep(2000);
			if (!proc_runtime(dir, &r2) && r1 == r2 &&
			    !proc_faults(dir, faults, &st) && st == 'S' &&
			    *faults == f1) {
				*run_ns = r2;
				return 0;
			}
		}
		usleep(1000);
	}
	return -1;
}

#ifdef _GNU_SOURCE
#include <sched.h>

/* Pins task tid (0: the caller) to cpu: 0 or -1. */
static inline int vm_pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

/*
 * A process of its own (fork it before attaching, and it is untracked)
 * spinning on cpu in SCHED_IDLE: that CPU then never goes idle, so a
 * tracked thread's switch-out there does not balance a new idle CPU
 * (which under TCG can take milliseconds), and a woken thread preempts
 * it at once. Its pid, for SIGKILL at the end.
 */
static inline pid_t vm_idle_spinner(int cpu)
{
	struct sched_param sp = { 0 };
	pid_t pid = fork();

	REQUIRE(pid >= 0, "fork: %s", strerror(errno));
	if (pid)
		return pid;
	if (vm_pin(0, cpu) || sched_setscheduler(0, SCHED_IDLE, &sp))
		_exit(1);
	for (;;)
		__asm__ volatile("" ::: "memory");
}
#endif

#ifdef HFTMON_H
/* A drain callback that keeps nothing (the aggregator still sees all). */
static inline int vm_ignore_record(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

/*
 * Everything the rings hold drained, through fn, and let out of the
 * aggregator's merge, which frees the newest records only at a pass
 * HFTMON_DRAIN_MERGE_MS later: three passes that far apart.
 */
static inline void vm_drain_merged(struct hftmon *m, hftmon_record_fn fn,
				   void *ctx)
{
	int i, n;

	for (i = 0; i < 3; i++) {
		usleep(HFTMON_DRAIN_MERGE_MS * 2000);
		while ((n = hftmon_drain(m, fn, ctx)) > 0)
			;
		REQUIRE(n == 0, "hftmon_drain: %s", strerror(-n));
	}
}

/* A session of this process, started: open, configure c, attach, start. */
static inline struct hftmon *
vm_session_self(const struct hftmon_monitor_config *c)
{
	struct hftmon *m;
	int err = hftmon_open(NULL, &m);

	REQUIRE(err == 0, "hftmon_open: %s", strerror(-err));
	err = hftmon_configure(m, c);
	REQUIRE(err == 0, "hftmon_configure: %s", strerror(-err));
	err = hftmon_attach_process(m, getpid(), NULL);
	REQUIRE(err == 0, "attach: %s", strerror(-err));
	REQUIRE(hftmon_start(m) == 0, "start");
	return m;
}
#endif

#endif
