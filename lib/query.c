// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The queries of <hftmon.h>: completed context switches, stacks and
 * wake-up latencies from the aggregator (agg.c), and per-thread
 * scheduling information read at the call from /proc (procfs.c),
 * sched_getattr(2) and sched_getaffinity(2). The aggregator's queries
 * never allocate (the latency samples go into a buffer taken at
 * configure) and hold the aggregator lock (when the drain thread exists)
 * for one batch of HFTMON_QUERY_BATCH entries at a time; sorting and
 * summing happen outside it. Thread info reads /proc and may allocate.
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

uint64_t hftmon_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t hftmon_handle_now_ns(const struct hftmon *m)
{
	return hftmon_file_reading(m) ? hftmon_file_now_ns(m) : hftmon_now_ns();
}

/* The oldest end time a window keeps; 0 = everything. */
uint64_t hftmon_window_start(const struct hftmon *m, uint64_t window_us)
{
	uint64_t now, span;

	if (!window_us)
		return 0;
	now = hftmon_handle_now_ns(m);
	span = window_us > UINT64_MAX / 1000 ? UINT64_MAX : window_us * 1000;
	return span >= now ? 0 : now - span;
}

int hftmon_check_configured(struct hftmon *m, const char *what)
{
	if (!m->configured) {
		pr_err(m, "%s before configure: nothing is aggregated", what);
		return -EINVAL;
	}
	if (!m->agg_ready) {
		pr_err(m, "%s: configured raw_only, there is no aggregator",
		       what);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Microseconds to nanoseconds, saturating. */
uint64_t hftmon_us_to_ns(uint64_t us)
{
	return us > UINT64_MAX / 1000 ? UINT64_MAX : us * 1000;
}

HFTMON_API int hftmon_get_context_switches(struct hftmon *m,
					   const struct hftmon_switch_query *q,
					   struct hftmon_switch_event *out,
					   size_t max)
{
	struct hftmon_switch_query qq;
	uint64_t i, end, matched = 0, since, until, min_ns;
	size_t stride;
	int err;

	if (!m || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&qq, q, until_ns);
	if (err)
		return err;
	if (qq.pid < 0 || qq.tid < 0 ||
	    (qq.window_us && (qq.since_ns || qq.until_ns)) ||
	    (qq.until_ns && qq.until_ns <= qq.since_ns))
		return -EINVAL;
	err = hftmon_check_configured(m, "context switch query");
	if (err)
		return err;
	stride = max ? out->sz : 0;
	min_ns = hftmon_us_to_ns(qq.min_duration_us);
	since = qq.window_us ? hftmon_window_start(m, qq.window_us) :
			       qq.since_ns;
	until = qq.until_ns ? qq.until_ns : UINT64_MAX;

	hftmon_lock(m);
	if (qq.until_ns > m->agg.known_ns) {
		/* A switch-in of the window may still be in a ring. */
		hftmon_unlock(m);
		return -ERANGE;
	}
	i = hftmon_agg_switch_first(&m->agg, since);
	end = hftmon_agg_switch_total(&m->agg);
	while (i < end) {
		uint64_t batch_end = end - i > HFTMON_QUERY_BATCH ?
					     i + HFTMON_QUERY_BATCH :
					     end;
		uint64_t oldest = hftmon_agg_switch_oldest(&m->agg);

		if (i < oldest)
			i = oldest; /* overwritten while the lock was free */
		for (; i < batch_end; i++) {
			const struct hftmon_switch_event *ev =
				hftmon_agg_switch_at(&m->agg, i);
			struct hftmon_switch_event *o;

			if ((qq.pid && ev->pid != qq.pid) ||
			    (qq.tid && ev->tid != qq.tid) ||
			    ev->off_cpu_ns < min_ns || ev->in_ns < since ||
			    ev->in_ns >= until)
				continue;
			if (matched < max) {
				o = (void *)((unsigned char *)out +
					     matched * stride);
				o->sz = stride;
				hftmon_copy_out(o, stride, ev, sizeof(*ev));
				if (!qq.include_stack_trace &&
				    stride >= hftmon_offsetofend(
						      struct hftmon_switch_event,
						      ustack_id))
					o->kstack_id = o->ustack_id = 0;
			}
			matched++;
		}
		/* One batch per lock: let the drain thread in. */
		hftmon_lock_yield(m);
	}
	hftmon_unlock(m);
	return matched > INT_MAX ? INT_MAX : (int)matched;
}

HFTMON_API int hftmon_get_stack(struct hftmon *m, uint32_t stack_id,
				uint64_t *ips, size_t max, unsigned int *flags)
{
	int ret;

	if (!m || (!ips && max))
		return -EINVAL;
	ret = hftmon_check_configured(m, "stack query");
	if (ret)
		return ret;
	hftmon_lock(m);
	ret = hftmon_agg_stack(&m->agg, stack_id, ips, max, flags);
	hftmon_unlock(m);
	return ret;
}

HFTMON_API int hftmon_get_wakeup_latency(struct hftmon *m,
					 const struct hftmon_latency_query *q,
					 struct hftmon_latency *lat)
{
	struct hftmon_latency_query qq;
	struct hftmon_latency res;
	uint64_t i, end, since, until, missed = 0;
	size_t n = 0, k;
	int err;

	if (!m || !q || (lat && !HFTMON_OUT_OK(lat)))
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&qq, q, until_ns);
	if (err)
		return err;
	if (qq.pid < 0 || qq.tid < 0 ||
	    (qq.nr_percentiles && (!qq.percentiles || !qq.pct_out)) ||
	    (qq.window_us && (qq.since_ns || qq.until_ns)) ||
	    (qq.until_ns && qq.until_ns <= qq.since_ns))
		return -EINVAL;
	for (k = 0; k < qq.nr_percentiles; k++) {
		if (hftmon_hist_check_percentile(qq.percentiles[k])) {
			pr_err(m, "percentile %g is not in (0, 100]",
			       qq.percentiles[k]);
			return -EINVAL;
		}
	}
	err = hftmon_check_configured(m, "wake-up latency query");
	if (err)
		return err;
	since = qq.window_us ? hftmon_window_start(m, qq.window_us) : qq.since_ns;
	until = qq.until_ns ? qq.until_ns : UINT64_MAX;

	/* Copy the window's samples into the handle's buffer, batch by batch. */
	hftmon_lock(m);
	if (qq.until_ns > m->agg.known_ns) {
		/* A wake-up of the window may still be in a ring: not final. */
		hftmon_unlock(m);
		return -ERANGE;
	}
	i = hftmon_agg_wakeup_first(&m->agg, since);
	end = hftmon_agg_wakeup_total(&m->agg);
	while (i < end) {
		uint64_t batch_end = end - i > HFTMON_QUERY_BATCH ?
					     i + HFTMON_QUERY_BATCH :
					     end;
		uint64_t oldest = hftmon_agg_wakeup_oldest(&m->agg);

		if (i < oldest) {
			/* Overwritten while the lock was free. */
			missed += (oldest < end ? oldest : end) - i;
			i = oldest;
		}
		for (; i < batch_end; i++) {
			const struct hftmon_agg_wakeup *w =
				hftmon_agg_wakeup_at(&m->agg, i);

			if ((qq.pid && w->pid != qq.pid) ||
			    (qq.tid && w->tid != qq.tid) || w->end_ns < since ||
			    w->end_ns >= until)
				continue;
			/* end - first <= cap: n never exceeds the buffer. */
			if (n < m->lat_cap)
				m->lat_buf[n++] = w->latency_ns;
		}
		hftmon_lock_yield(m);
	}
	hftmon_unlock(m);

	/* Sorting and summing happen outside the lock. */
	hftmon_hist_summarize(m->lat_buf, n, qq.percentiles, qq.pct_out,
			      qq.nr_percentiles, &res);
	res.missed = missed;
	if (lat)
		hftmon_copy_out(lat, lat->sz, &res, sizeof(res));
	return n ? 0 : -ENODATA;
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
static int thread_info(pid_t pid, pid_t tid, struct hftmon_thread_info *t)
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
	return 0;
}

HFTMON_API int hftmon_get_thread_scheduling_info(struct hftmon *m, pid_t pid,
						 struct hftmon_thread_info *out,
						 size_t max)
{
	struct hftmon_thread_info t;
	size_t filled = 0, stride;
	pid_t *tids;
	int n, i, err;

	if (pid <= 0 || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	stride = max ? out->sz : 0;
	if (m && hftmon_file_reading(m))
		return hftmon_file_threads(m, pid, out, max);
	n = hftmon_procfs_tids(HFTMON_PROCFS_ROOT, pid, &tids);
	if (n < 0) {
		pr_err(m, "threads of pid %d: %s", (int)pid, strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		err = thread_info(pid, tids[i], &t);
		if (err == -ESRCH)
			continue; /* exited since the directory was read */
		if (err) {
			pr_err(m, "thread %d of pid %d: %s", (int)tids[i],
			       (int)pid, strerror(-err));
			free(tids);
			return err;
		}
		if (filled < max) {
			struct hftmon_thread_info *o =
				(void *)((unsigned char *)out + filled * stride);

			o->sz = stride;
			hftmon_copy_out(o, stride, &t, sizeof(t));
		}
		filled++;
	}
	free(tids);
	/* Every thread gone between the directory and its files. */
	if (!filled)
		return -ESRCH;
	return (int)filled;
}

HFTMON_API int hftmon_get_processes(struct hftmon *m, pid_t *pids, size_t max,
				    uint64_t *not_followed)
{
	size_t n = 0, i;
	int err;

	if (!m || (!pids && max))
		return -EINVAL;
	err = hftmon_check_configured(m, "process list");
	if (err)
		return err;
	hftmon_lock(m);
	for (i = 0; i < m->nr_attached; i++, n++)
		if (n < max)
			pids[n] = m->attached[i];
	for (i = 0; i < m->agg.nr_followed; i++, n++)
		if (n < max)
			pids[n] = m->agg.followed[i];
	if (not_followed)
		*not_followed = m->agg.not_followed;
	hftmon_unlock(m);
	return n > INT_MAX ? INT_MAX : (int)n;
}
