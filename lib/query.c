// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The queries of <hftmon.h>: completed context switches, stacks and
 * wake-up latencies from the aggregator (agg.c), and per-thread
 * scheduling information read at the call from /proc (procfs.c),
 * sched_getattr(2) and sched_getaffinity(2). Queries may allocate; they
 * hold the aggregator lock (when the drain thread exists) only while
 * copying out of it.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "handle.h"
#include "hist.h"
#include "procfs.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The oldest end time a window keeps; 0 = everything. */
static uint64_t window_start(uint64_t window_us)
{
	uint64_t now, span;

	if (!window_us)
		return 0;
	now = now_ns();
	span = window_us > UINT64_MAX / 1000 ? UINT64_MAX : window_us * 1000;
	return span >= now ? 0 : now - span;
}

static int check_configured(struct hftmon *m, const char *what)
{
	if (!m->configured || !m->agg_ready) {
		pr_err(m, "%s before configure: nothing is aggregated", what);
		return -EINVAL;
	}
	return 0;
}

HFTMON_API int hftmon_get_context_switches(struct hftmon *m,
					   const struct hftmon_switch_query *q,
					   struct hftmon_switch_event *out,
					   size_t max)
{
	struct hftmon_switch_query qq;
	uint64_t n, min_ns;
	int err;

	if (!m || (!out && max))
		return -EINVAL;
	err = hftmon_copy_opts(&qq, sizeof(qq), q, q ? q->sz : 0);
	if (err)
		return err;
	if (qq.pid < 0 || qq.tid < 0)
		return -EINVAL;
	err = check_configured(m, "context switch query");
	if (err)
		return err;
	min_ns = qq.min_duration_us > UINT64_MAX / 1000 ?
			 UINT64_MAX :
			 qq.min_duration_us * 1000;
	hftmon_lock(m);
	n = hftmon_agg_switches(&m->agg, qq.pid, qq.tid, min_ns,
				window_start(qq.window_us),
				qq.include_stack_trace, out, max);
	hftmon_unlock(m);
	return n > INT_MAX ? INT_MAX : (int)n;
}

HFTMON_API int hftmon_get_stack(struct hftmon *m, uint32_t stack_id,
				uint64_t *ips, size_t max, unsigned int *flags)
{
	int ret;

	if (!m || (!ips && max))
		return -EINVAL;
	ret = check_configured(m, "stack query");
	if (ret)
		return ret;
	hftmon_lock(m);
	ret = hftmon_agg_stack(&m->agg, stack_id, ips, max, flags);
	hftmon_unlock(m);
	return ret;
}

/* The latency summary of pid/tid over the window, from the aggregator. */
static int wakeup_latency(struct hftmon *m, pid_t pid, pid_t tid,
			  uint64_t window_us, const double *percentiles,
			  double *pct_out, size_t nr_pct,
			  struct hftmon_latency *lat)
{
	uint64_t *samples;
	long n;

	hftmon_lock(m);
	n = hftmon_agg_wakeup_samples(&m->agg, pid, tid,
				      window_start(window_us), &samples);
	hftmon_unlock(m);
	if (n < 0)
		return (int)n;
	hftmon_hist_summarize(samples, (size_t)n, percentiles, pct_out, nr_pct,
			      lat);
	free(samples);
	return n ? 0 : -ENODATA;
}

HFTMON_API int hftmon_get_wakeup_latency(struct hftmon *m, pid_t pid,
					 pid_t tid, uint64_t window_us,
					 const double *percentiles,
					 double *pct_out, size_t nr_percentiles,
					 struct hftmon_latency *lat)
{
	struct hftmon_latency tmp;
	size_t i;
	int err;

	if (!m || pid < 0 || tid < 0 ||
	    (nr_percentiles && (!percentiles || !pct_out)))
		return -EINVAL;
	for (i = 0; i < nr_percentiles; i++) {
		if (hftmon_hist_check_percentile(percentiles[i])) {
			pr_err(m, "percentile %g is not in (0, 100]",
			       percentiles[i]);
			return -EINVAL;
		}
	}
	err = check_configured(m, "wake-up latency query");
	if (err)
		return err;
	return wakeup_latency(m, pid, tid, window_us, percentiles, pct_out,
			      nr_percentiles, lat ? lat : &tmp);
}

/* sched_getattr(2), which glibc 2.36 does not wrap. */
struct sched_attr_v0 {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static int get_sched_attr(pid_t tid, struct sched_attr_v0 *attr)
{
#ifdef SYS_sched_getattr
	memset(attr, 0, sizeof(*attr));
	if (syscall(SYS_sched_getattr, tid, attr, sizeof(*attr), 0))
		return -errno;
	return 0;
#else
	(void)tid;
	(void)attr;
	return -ENOSYS;
#endif
}

/* Fills t from /proc and the syscalls. -ESRCH when the thread is gone. */
static int thread_info(struct hftmon *m, pid_t pid, pid_t tid,
		       uint64_t window_us, struct hftmon_thread_info *t)
{
	struct hftmon_procfs_thread pt;
	struct sched_attr_v0 attr;
	cpu_set_t set;
	int err, cpu;

	memset(t, 0, sizeof(*t));
	err = hftmon_procfs_thread(HFTMON_PROCFS_ROOT, pid, tid, &pt);
	if (err)
		return err;
	t->pid = pid;
	t->tid = tid;
	memcpy(t->comm, pt.comm, sizeof(t->comm));
	t->cpu = pt.cpu;

	err = get_sched_attr(tid, &attr);
	if (err == -ESRCH)
		return err;
	if (!err) {
		t->policy = (int)attr.sched_policy;
		t->rt_priority = (int)attr.sched_priority;
		t->nice = attr.sched_nice;
	} else {
		/* No sched_getattr (seccomp, old kernel): stat has the same. */
		t->policy = pt.policy;
		t->rt_priority = pt.rt_priority;
		t->nice = pt.nice;
	}

	CPU_ZERO(&set);
	if (sched_getaffinity(tid, sizeof(set), &set))
		return errno == ESRCH ? -ESRCH : -errno;
	for (cpu = 0; cpu < HFTMON_MAX_CPUS && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			t->affinity[cpu / 64] |= 1ull << (cpu % 64);

	if (pt.have_schedstat) {
		t->cpu_time_ns = pt.cpu_time_ns;
		t->cpu_time_resolution_ns = 1;
		t->run_delay_ns = (int64_t)pt.run_delay_ns;
	} else {
		/* No schedstat: tick-granular CPU time, and no run delay. */
		long hz = sysconf(_SC_CLK_TCK);

		if (hz <= 0)
			return -EOPNOTSUPP;
		t->cpu_time_resolution_ns = 1000000000u / (uint64_t)hz;
		t->cpu_time_ns = (pt.utime_ticks + pt.stime_ticks) *
				 t->cpu_time_resolution_ns;
		t->run_delay_ns = -1;
	}
	t->voluntary_switches = pt.voluntary;
	t->involuntary_switches = pt.involuntary;
	t->migrations = pt.migrations;

	if (m->agg_ready) {
		err = wakeup_latency(m, pid, tid, window_us, NULL, NULL, 0,
				     &t->wakeup);
		if (err && err != -ENODATA)
			return err;
	}
	return 0;
}

HFTMON_API int hftmon_get_thread_scheduling_info(struct hftmon *m, pid_t pid,
						 uint64_t window_us,
						 struct hftmon_thread_info *out,
						 size_t max)
{
	struct hftmon_thread_info t;
	size_t filled = 0;
	pid_t *tids;
	int n, i, err;

	if (!m || pid <= 0 || (!out && max))
		return -EINVAL;
	n = hftmon_procfs_tids(HFTMON_PROCFS_ROOT, pid, &tids);
	if (n < 0) {
		pr_err(m, "threads of pid %d: %s", (int)pid, strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		err = thread_info(m, pid, tids[i], window_us, &t);
		if (err == -ESRCH)
			continue; /* exited since the directory was read */
		if (err) {
			pr_err(m, "thread %d of pid %d: %s", (int)tids[i],
			       (int)pid, strerror(-err));
			free(tids);
			return err;
		}
		if (filled < max)
			out[filled] = t;
		filled++;
	}
	free(tids);
	/* Every thread gone between the directory and its files. */
	if (!filled)
		return -ESRCH;
	return (int)filled;
}
