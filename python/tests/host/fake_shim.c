// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The unit tests' fake /dev/hftmon (tests/unit/fake_sys.c, the records of
 * tests/unit/fake_records.c) for the Python binding's host tests: linked
 * with libhftmon's own objects into libhftmon-fake.so, which the binding
 * loads in place of libhftmon.so.2 (HFTMON_LIBRARY). These few exported
 * functions are what ctypes needs to set the fake up and write the
 * records of a scenario; the library under them is the real one.
 */
#include <errno.h>
#include <string.h>

#include "fake_records.h"
#include "fake_sys.h"

#define SHIM __attribute__((visibility("default")))

/* A healthy module of nr_cpus CPUs offering features besides the fake's. */
SHIM void pyfake_setup(unsigned int nr_cpus, unsigned long long features)
{
	fake_setup(nr_cpus);
	fake.info.features |= features;
}

SHIM void pyfake_teardown(void)
{
	fake_teardown();
}

/* What was left open or mapped (the library's close must leave none). */
SHIM unsigned int pyfake_open_fds(void)
{
	return fake.open_fds + fake.nr_mapped;
}

SHIM void pyfake_source_status(unsigned int src, int status)
{
	if (src < HFTMON_SRC_MAX)
		fake.info.source_status[src] = status;
}

SHIM void pyfake_pmu_status(unsigned int i, int status)
{
	if (i < HFTMON_PMU_MAX_COUNTERS)
		fake.pmu_status[i] = status;
}

SHIM void pyfake_open_errno(int err)
{
	fake.open_errno = err;
}

/* The next ATTACH (what = 0), START (1) or CONFIGURE (2) fails with err. */
SHIM void pyfake_fail(int what, int err)
{
	static const unsigned long cmds[] = { HFTMON_IOC_ATTACH,
					      HFTMON_IOC_START,
					      HFTMON_IOC_CONFIGURE };

	fake.fail_cmd = what >= 0 && what < 3 ? cmds[what] : 0;
	fake.fail_errno = err;
}

/* The last configuration the library sent (for the binding's mapping). */
SHIM unsigned long long pyfake_config(int what)
{
	switch (what) {
	case 0:
		return fake.last_config.events;
	case 1:
		return fake.last_config.sample_interval_ns;
	case 2:
		return fake.last_config.spike_threshold_ns;
	case 3:
		return fake.last_config.nr_pmu;
	case 4:
		return fake.last_attach.flags;
	case 5:
		return (unsigned int)fake.last_attach.pid;
	default:
		return 0;
	}
}

static struct fake_task task(int pid, int tid, const char *comm, int prio,
			     bool tracked)
{
	struct fake_task t = { .pid = pid, .tid = tid, .comm = comm,
			       .prio = prio, .tracked = tracked };

	return t;
}

/*
 * A switch on cpu at t from prev (tracked) to next (untracked, or idle
 * with next_tid 0): blocked (prev_state 1) when voluntary, else preempted.
 */
SHIM bool pyfake_switch_out(unsigned int cpu, unsigned long long t, int pid,
			    int tid, const char *comm, bool voluntary,
			    int next_pid, int next_tid, const char *next_comm,
			    int next_prio, unsigned int kstack)
{
	struct fake_task prev = task(pid, tid, comm, 120, true);
	struct fake_task next = task(next_pid, next_tid, next_comm, next_prio,
				     false);
	struct fake_switch how = { .prev_state = voluntary ? 1 : 0,
				   .preempt = !voluntary, .kstack = kstack };

	return fake_switch(cpu, t, &prev, next_tid ? &next : NULL, &how);
}

/* The tracked thread comes back on cpu at t (from idle). */
SHIM bool pyfake_switch_in(unsigned int cpu, unsigned long long t, int pid,
			   int tid, const char *comm)
{
	struct fake_task next = task(pid, tid, comm, 120, true);

	return fake_switch(cpu, t, NULL, &next, NULL);
}

SHIM bool pyfake_wakeup(unsigned int cpu, unsigned long long t, int pid,
			int tid, const char *comm)
{
	struct fake_task woken = task(pid, tid, comm, 120, true);

	return fake_wakeup(cpu, t, &woken, NULL, cpu);
}

SHIM bool pyfake_stack(unsigned int cpu, unsigned long long t, int pid,
		       int tid, unsigned int id, const unsigned long long *ips,
		       unsigned int nr)
{
	struct fake_task th = task(pid, tid, "", 120, true);
	uint64_t v[64];
	unsigned int i;

	if (nr > 64)
		return false;
	for (i = 0; i < nr; i++)
		v[i] = ips[i];
	return fake_stack(cpu, t, &th, id, v, nr, 0);
}

/* A spike record of type (HFTMON_SPIKE_*) of tid over [start, end). */
SHIM bool pyfake_spike_of(unsigned int cpu, unsigned int type,
			  unsigned long long start, unsigned long long end,
			  unsigned long long threshold, int pid, int tid)
{
	struct fake_task victim = task(pid, tid, "", 120, true);
	struct fake_spike sp = { .type = type, .start = start, .end = end,
				 .threshold = threshold, .from_cpu = cpu,
				 .idle_state = -1, .victim = &victim };

	return fake_spike(cpu, &sp);
}

/* A RUNNABLE spike record of tid over [start, end). */
SHIM bool pyfake_spike(unsigned int cpu, unsigned long long start,
		       unsigned long long end, unsigned long long threshold,
		       int pid, int tid)
{
	return pyfake_spike_of(cpu, HFTMON_SPIKE_RUNNABLE, start, end,
			       threshold, pid, tid);
}

/* A PMU slice of tid over [start, end): nr counters, each with status. */
SHIM bool pyfake_pmu(unsigned int cpu, unsigned long long start,
		     unsigned long long end, int pid, int tid, unsigned int nr,
		     int status)
{
	struct fake_task th = task(pid, tid, "", 120, true);
	uint64_t delta[HFTMON_PMU_MAX_COUNTERS] = { 0 };
	__s32 st[HFTMON_PMU_MAX_COUNTERS];
	__u32 flags[HFTMON_PMU_MAX_COUNTERS] = { 0 };
	unsigned int i;

	if (nr > HFTMON_PMU_MAX_COUNTERS)
		return false;
	for (i = 0; i < nr; i++)
		st[i] = status;
	return fake_pmu(cpu, start, end, &th, nr, delta, st, flags);
}
