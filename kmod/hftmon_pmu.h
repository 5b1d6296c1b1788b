/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one way hftmon reads a PMU counter (DESIGN.md, "PMU via the
 * kernel's perf API"): a pinned per-CPU kernel counter made with
 * perf_event_create_kernel_counter(), read on its own CPU with IRQs off
 * through its PMU's read() callback, as lttng-modules does, because
 * perf_event_read_local() is not exported to modules. A counter that is
 * not active on this CPU (in error state after losing its slot, not
 * scheduled yet, or another CPU's) gives an errno, never a number.
 * Hardware and software events alike go through it.
 */
#ifndef HFTMON_PMU_H
#define HFTMON_PMU_H

#include <linux/perf_event.h>
#include <linux/types.h>

/*
 * A pinned counter of (type, config) on cpu, counting kernel and user
 * mode. ERR_PTR with the kernel's errno where it cannot be had: -ENOENT
 * for an event no PMU of this machine knows (every hardware event under
 * x86 TCG), -EOPNOTSUPP, -EINVAL... Process context.
 */
struct perf_event *hftmon_pmu_create(int cpu, u32 type, u64 config);
/* The same; user_only: user mode only (exclude_kernel, exclude_hv). */
struct perf_event *hftmon_pmu_create_as(int cpu, u32 type, u64 config,
					bool user_only);
void hftmon_pmu_release(struct perf_event *ev);

/*
 * The counter's value now, read on this CPU (any context: IRQs are
 * disabled inside). 0 and *value, or -EIO (error state: its slot was
 * taken, or it could never be scheduled), -EAGAIN (not counting now:
 * off or not yet scheduled), -EXDEV (it counts on another CPU).
 */
int hftmon_pmu_read_local(struct perf_event *ev, u64 *value);
/*
 * The same, and the event's tstamp: the perf core moves it whenever it
 * updates the event's enabled/running times, i.e. at every state change
 * (sched out or in) and at a read through perf_event_read*(), which
 * nobody does on a kernel counter. Equal stamps at two reads: the counter
 * stayed active in between.
 */
int hftmon_pmu_read_local_stamp(struct perf_event *ev, u64 *value,
				u64 *tstamp);

#endif /* HFTMON_PMU_H */
