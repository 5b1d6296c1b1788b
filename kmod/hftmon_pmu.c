// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU PMU counters made and read from the module (see hftmon_pmu.h).
 * The read follows what perf_event_read_local() does for a CPU event,
 * without its unexported helpers: with IRQs off (so the counter cannot be
 * scheduled out or moved under us), check that it is active on this CPU,
 * let its PMU fold the hardware register into event->count (pmu->read()),
 * and read that. No allocation, no lock, no sleep: usable from probes.
 */
#include <linux/err.h>
#include <linux/irqflags.h>
#include <linux/smp.h>

#include "hftmon_pmu.h"

struct perf_event *hftmon_pmu_create_as(int cpu, u32 type, u64 config,
					bool user_only)
{
	struct perf_event_attr attr = {
		.type = type,
		.size = sizeof(attr),
		.config = config,
		.pinned = 1,
		.exclude_kernel = user_only,
		.exclude_hv = user_only,
		.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED |
			       PERF_FORMAT_TOTAL_TIME_RUNNING,
	};

	return perf_event_create_kernel_counter(&attr, cpu, NULL, NULL, NULL);
}

struct perf_event *hftmon_pmu_create(int cpu, u32 type, u64 config)
{
	return hftmon_pmu_create_as(cpu, type, config, false);
}

void hftmon_pmu_release(struct perf_event *ev)
{
	if (!IS_ERR_OR_NULL(ev))
		perf_event_release_kernel(ev);
}

int hftmon_pmu_read_local_stamp(struct perf_event *ev, u64 *value,
				u64 *tstamp)
{
	unsigned long flags;
	int err = 0;

	local_irq_save(flags);
	if (READ_ONCE(ev->state) == PERF_EVENT_STATE_ERROR) {
		err = -EIO;
	} else if (READ_ONCE(ev->state) != PERF_EVENT_STATE_ACTIVE) {
		err = -EAGAIN;
	} else if (READ_ONCE(ev->oncpu) != smp_processor_id()) {
		err = -EXDEV;
	} else {
		ev->pmu->read(ev);
		*value = local64_read(&ev->count);
		*tstamp = READ_ONCE(ev->tstamp);
	}
	local_irq_restore(flags);
	return err;
}

int hftmon_pmu_read_local(struct perf_event *ev, u64 *value)
{
	u64 tstamp;

	return hftmon_pmu_read_local_stamp(ev, value, &tstamp);
}
