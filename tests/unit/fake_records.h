/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Writes the records hftmon.ko would write into the fake device's rings
 * (fake.prod[cpu]), with the time and fields a test chooses: the
 * scheduler events of a scenario, CPU by CPU. Each returns false if the
 * ring was full (the record is then lost and counted, as in the kernel).
 */
#ifndef HFTMON_TESTS_FAKE_RECORDS_H
#define HFTMON_TESTS_FAKE_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/hftmon.h>

/* A task as a SWITCH record names it; tid 0 is the idle task. */
struct fake_task {
	__s32 pid, tid;
	const char *comm;
	__s32 prio;
	__u32 policy;
	bool tracked;
};

struct fake_switch {
	__u32 prev_state;
	bool preempt; /* else voluntary when prev_state != 0 */
	__u32 kstack, ustack;
};

/* A context switch on cpu at t: prev leaves, next arrives. */
bool fake_switch(unsigned int cpu, uint64_t t, const struct fake_task *prev,
		 const struct fake_task *next, const struct fake_switch *how);
/* task is woken on cpu at t by waker. */
bool fake_wakeup(unsigned int cpu, uint64_t t, const struct fake_task *task,
		 const struct fake_task *waker, __u32 target_cpu);
bool fake_migrate(unsigned int cpu, uint64_t t, const struct fake_task *task,
		  __u32 from, __u32 to);
bool fake_exit(unsigned int cpu, uint64_t t, const struct fake_task *task);
/* HFTMON_EV_RUNQ: two untracked tasks switch on cpu at t (waiting: 1). */
bool fake_runq(unsigned int cpu, uint64_t t, const struct fake_task *prev,
	       const struct fake_task *next);
/* A STACK record for id with nr ips (flags HFTMON_STACK_*). */
bool fake_stack(unsigned int cpu, uint64_t t, const struct fake_task *task,
		__u32 id, const uint64_t *ips, __u32 nr, __u16 flags);
/* A SWITCH_STACK record at t: task's switch [out, in] got kernel stack id. */
bool fake_switch_stack(unsigned int cpu, uint64_t t,
		       const struct fake_task *task, uint64_t out, uint64_t in,
		       __u32 id);

/* An interruption as the module writes it at its end. */
struct fake_irq {
	__u32 kind, nr, depth;
	uint64_t start, end, net; /* net 0: end - start */
	uint64_t raise;
	const struct fake_task *victim; /* tracked, or NULL */
	const char *name; /* a NAMED record */
};
bool fake_irq(unsigned int cpu, const struct fake_irq *irq);

/* A spike record (hftmon_rec_spike), end at t. */
struct fake_spike {
	__u32 type, flags, links, from_cpu;
	uint64_t start, end, threshold, idle_exit;
	uint64_t addr; /* FAULT */
	__s32 idle_state;
	const struct fake_task *victim;
};
bool fake_spike(unsigned int cpu, const struct fake_spike *sp);

/* A drain callback that keeps nothing (the aggregator still sees all). */
int fake_ignore(void *ctx, const struct hftmon_rec_hdr *rec);
/* A NUMA record (hftmon_rec_numa) of task on cpu at t. */
struct fake_numa {
	__u32 kind, flags, pages;
	__s32 src_cpu, src_nid, dst_cpu, dst_nid;
	const struct fake_task *other;
	__u64 addr; /* ACCESS */
	bool v1; /* an older module's record: 64 bytes, no addr */
};
bool fake_numa(unsigned int cpu, uint64_t t, const struct fake_task *task,
	       const struct fake_numa *n);

/*
 * A PMU record (hftmon_rec_pmu) of task's slice [start, end] on cpu: nr
 * counters, delta[i] and status[i] (flags[i] may be NULL: none).
 */
bool fake_pmu(unsigned int cpu, uint64_t start, uint64_t end,
	      const struct fake_task *task, __u32 nr, const uint64_t *delta,
	      const __s32 *status, const __u32 *flags);
/* The same with the record's hdr.flags (HFTMON_PMU_TICK). */
bool fake_pmu_rec(unsigned int cpu, uint64_t start, uint64_t end,
		  const struct fake_task *task, __u16 rec_flags, __u32 nr,
		  const uint64_t *delta, const __s32 *status,
		  const __u32 *flags);

/* CLOCK_MONOTONIC now, in ns. */
uint64_t fake_now_ns(void);

#endif /* HFTMON_TESTS_FAKE_RECORDS_H */
