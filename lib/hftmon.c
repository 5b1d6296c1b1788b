// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libhftmon: the handle over /dev/hftmon (see <hftmon.h>). Opening reads
 * the module's capabilities; configuring allocates the kernel's per-CPU
 * rings and maps them all (every buffer the drain needs exists from then
 * on, so draining never allocates); draining walks the rings with the
 * shared reader of ring.c and hands every record to the aggregator
 * (agg.c) before the caller sees it. With drain_thread, start creates the
 * library's own drain thread. Every system call to the device goes
 * through sys.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "handle.h"
#include "numaline.h"
#include "numabal.h"
#include "hftmon.h"
#include "internal.h"
#include "ring.h"
#include "sys.h"

void hftmon_log_msg(const struct hftmon *m, enum hftmon_log_level level,
		    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!m || !m->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->log(m->log_ctx, level, msg);
}

void hftmon_lock(struct hftmon *m)
{
	if (m->thread_running)
		pthread_mutex_lock(&m->agg_lock);
}

void hftmon_unlock(struct hftmon *m)
{
	if (m->thread_running)
		pthread_mutex_unlock(&m->agg_lock);
}

void hftmon_lock_yield(struct hftmon *m)
{
	if (!m->thread_running ||
	    !atomic_load_explicit(&m->drain_waiting, memory_order_acquire))
		return;
	pthread_mutex_unlock(&m->agg_lock);
	/* It clears the flag once it holds the lock. */
	while (atomic_load_explicit(&m->drain_waiting, memory_order_acquire))
		sched_yield();
	pthread_mutex_lock(&m->agg_lock);
}

/* The drain thread's lock: says it waits, so queries step aside. */
static void drain_lock(struct hftmon *m)
{
	atomic_store_explicit(&m->drain_waiting, true, memory_order_release);
	pthread_mutex_lock(&m->agg_lock);
	atomic_store_explicit(&m->drain_waiting, false, memory_order_release);
}

int hftmon_copy_opts(void *dst, size_t dst_size, size_t known,
		     const void *src, size_t src_sz)
{
	const unsigned char *bytes = src;
	size_t i;

	memset(dst, 0, dst_size);
	if (!src)
		return 0;
	if (src_sz < sizeof(size_t))
		return -EINVAL;
	for (i = known; i < src_sz; i++)
		if (bytes[i])
			return -E2BIG;
	memcpy(dst, src, src_sz < known ? src_sz : known);
	return 0;
}

void hftmon_copy_out(void *dst, size_t dst_sz, const void *src,
		     size_t src_size)
{
	unsigned char *d = dst;
	size_t n = dst_sz < src_size ? dst_sz : src_size;

	memcpy(d + sizeof(size_t), (const unsigned char *)src + sizeof(size_t),
	       n - sizeof(size_t));
	if (dst_sz > n)
		memset(d + n, 0, dst_sz - n);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ioctl returning 0 or -errno. */
static int dev_ioctl(struct hftmon *m, unsigned long cmd, void *arg)
{
	/* A recording file's handle has no device: it only answers. */
	if (hftmon_file_reading(m))
		return -EBADF;
	return hftmon_sys->ioctl(m->fd, cmd, arg) < 0 ? -errno : 0;
}

static const char *ioctl_name(unsigned long cmd)
{
	switch (cmd) {
	case HFTMON_IOC_GET_INFO:
		return "GET_INFO";
	case HFTMON_IOC_CONFIGURE:
		return "CONFIGURE";
	case HFTMON_IOC_ATTACH:
		return "ATTACH";
	case HFTMON_IOC_DETACH:
		return "DETACH";
	case HFTMON_IOC_START:
		return "START";
	case HFTMON_IOC_STOP:
		return "STOP";
	case HFTMON_IOC_GET_STATS:
		return "GET_STATS";
	case HFTMON_IOC_SET_SPIKE_THRESHOLD:
		return "SET_SPIKE_THRESHOLD";
	default:
		return "?";
	}
}

/* dev_ioctl that logs a failure. */
static int dev_ioctl_log(struct hftmon *m, unsigned long cmd, void *arg)
{
	int err = dev_ioctl(m, cmd, arg);

	if (err)
		pr_err(m, "ioctl %s: %s", ioctl_name(cmd), strerror(-err));
	return err;
}

/* hftmon_wait_spike()'s condition, on CLOCK_MONOTONIC like its timeout. */
static int spike_cond_init(struct hftmon *m)
{
	pthread_condattr_t attr;
	int err;

	err = pthread_condattr_init(&attr);
	if (err)
		return -err;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(&m->spike_cond, &attr);
	pthread_condattr_destroy(&attr);
	return -err;
}

HFTMON_API int hftmon_open(const struct hftmon_open_opts *opts,
			   struct hftmon **out)
{
	struct hftmon_open_opts o;
	const char *device;
	struct hftmon *m;
	unsigned int i;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	err = HFTMON_COPY_OPTS(&o, opts, log_ctx);
	if (err)
		return err;
	device = o.device ? o.device : HFTMON_DEVICE;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->log = o.log;
	m->log_ctx = o.log_ctx;
	m->wake_fd = -1;

	m->fd = hftmon_sys->open(device, O_RDWR | O_CLOEXEC);
	if (m->fd < 0) {
		err = -errno;
		pr_err(m, "open %s: %s", device, strerror(-err));
		goto err_free;
	}

	m->info.size = sizeof(m->info);
	err = dev_ioctl_log(m, HFTMON_IOC_GET_INFO, &m->info);
	if (err)
		goto err_close;
	if (m->info.abi_version != HFTMON_ABI_VERSION) {
		pr_err(m, "%s speaks ABI version %u, this library %u", device,
		       m->info.abi_version, HFTMON_ABI_VERSION);
		err = -EPROTO;
		goto err_close;
	}
	if (!m->info.nr_cpu_ids || !m->info.page_size ||
	    (m->info.page_size & (m->info.page_size - 1)) ||
	    m->info.nr_sources > HFTMON_SRC_MAX) {
		pr_err(m, "%s reports an impossible configuration", device);
		err = -EPROTO;
		goto err_close;
	}
	/* Sources the module does not know are unsupported, not "0 = fine". */
	for (i = m->info.nr_sources; i < HFTMON_SRC_MAX; i++)
		m->info.source_status[i] = -ENOSYS;

	m->cpu_stats = calloc(m->info.nr_cpu_ids, sizeof(*m->cpu_stats));
	if (!m->cpu_stats) {
		err = -ENOMEM;
		goto err_close;
	}
	err = -pthread_mutex_init(&m->agg_lock, NULL);
	if (err) {
		free(m->cpu_stats);
		goto err_close;
	}
	err = spike_cond_init(m);
	if (err) {
		pthread_mutex_destroy(&m->agg_lock);
		free(m->cpu_stats);
		goto err_close;
	}
	*out = m;
	return 0;

err_close:
	hftmon_sys->close(m->fd);
err_free:
	free(m);
	return err;
}

/* Unmaps every ring, keeping what their readers counted. */
static void unmap_rings(struct hftmon *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_rings; i++) {
		struct hftmon_ring *ring = &m->rings[i];

		if (!ring->map)
			continue;
		m->retired.delivered += ring->rd.delivered;
		m->retired.seq_gaps += ring->rd.seq_gaps;
		m->retired.bad_records += ring->rd.bad_records;
		m->retired.unknown += ring->rd.unknown;
		if (hftmon_sys->munmap(ring->map, m->ring_mmap_size))
			pr_warn(m, "munmap ring %u: %s", i, strerror(errno));
		ring->map = NULL;
	}
	free(m->rings);
	m->rings = NULL;
	m->nr_rings = 0;
	m->ring_mmap_size = 0;
	m->configured = false;
	m->read_cursor = 0;
	if (m->agg_ready) {
		const struct hftmon_agg_stats *st = &m->agg.st;

		m->retired.agg.switches_completed += st->switches_completed;
		m->retired.agg.switches_overwritten += st->switches_overwritten;
		m->retired.agg.wakeups_completed += st->wakeups_completed;
		m->retired.agg.wakeups_overwritten += st->wakeups_overwritten;
		m->retired.agg.late += st->late;
		m->retired.agg.dropped += st->dropped;
		m->retired.agg.unpaired += st->unpaired;
		hftmon_agg_fini(&m->agg);
	}
	m->agg_ready = false;
	free(m->lat_buf);
	m->lat_buf = NULL;
	m->lat_cap = 0;
	free(m->irq_pairs);
	m->irq_pairs = NULL;
	m->irq_pair_cap = 0;
	free(m->irq_order);
	m->irq_order = NULL;
	hftmon_cache_free(m);
	hftmon_numa_line_free(m);
	free(m->cpus);
	m->cpus = NULL;
	memset(&m->cfg, 0, sizeof(m->cfg));
}

static void stop_thread(struct hftmon *m);

HFTMON_API void hftmon_close(struct hftmon *m)
{
	if (!m)
		return;
	if (m->running && dev_ioctl_log(m, HFTMON_IOC_STOP, NULL) == 0)
		m->running = false;
	if (m->thread_running)
		stop_thread(m);
	hftmon_numa_bw_stop(m); /* closes its counters */
	hftmon_file_close(m);
	unmap_rings(m);
	if (m->fd >= 0 && hftmon_sys->close(m->fd))
		pr_warn(m, "close: %s", strerror(errno));
	pthread_cond_destroy(&m->spike_cond);
	pthread_mutex_destroy(&m->agg_lock);
	free(m->attached);
	free(m->cpu_stats);
	free(m);
}

HFTMON_API int hftmon_get_info(struct hftmon *m, struct hftmon_info *info)
{
	__u32 size;

	if (!m || !info || info->size < sizeof(info->size))
		return -EINVAL;
	/* As much as the caller's (uapi) struct holds; its size stays. */
	size = info->size < sizeof(*info) ? info->size : (__u32)sizeof(*info);
	memcpy((unsigned char *)info + sizeof(info->size),
	       (const unsigned char *)&m->info + sizeof(info->size),
	       size - sizeof(info->size));
	if (info->size > sizeof(*info))
		memset((unsigned char *)info + sizeof(*info), 0,
		       info->size - sizeof(*info));
	return 0;
}

static const char *const source_names[HFTMON_SRC_NR] = {
	[HFTMON_SRC_SCHED_SWITCH] = "sched_switch",
	[HFTMON_SRC_SCHED_WAKEUP] = "sched_wakeup",
	[HFTMON_SRC_SCHED_MIGRATE] = "sched_migrate",
	[HFTMON_SRC_PROCESS_EXIT] = "process_exit",
	[HFTMON_SRC_PROCESS_FORK] = "process_fork",
	[HFTMON_SRC_IRQ] = "irq",
	[HFTMON_SRC_SOFTIRQ] = "softirq",
	[HFTMON_SRC_PMU_HW] = "pmu_hw",
	[HFTMON_SRC_PMU_SW] = "pmu_sw",
	[HFTMON_SRC_NUMA_BALANCING] = "numa_balancing",
	[HFTMON_SRC_STACK_KERNEL] = "stack_kernel",
	[HFTMON_SRC_STACK_USER] = "stack_user",
	[HFTMON_SRC_IRQ_VECTOR] = "irq_vector",
	[HFTMON_SRC_NMI] = "nmi",
	[HFTMON_SRC_SPIKE] = "spike",
	[HFTMON_SRC_SPIKE_FAULT] = "spike_fault",
	[HFTMON_SRC_NUMA_ACCESS] = "numa_access",
	[HFTMON_SRC_RUNQ] = "runq",
};

HFTMON_API const char *hftmon_source_name(enum hftmon_source src)
{
	return (unsigned int)src < HFTMON_SRC_NR ? source_names[src] : NULL;
}

/* Why a source whose status is -ENOENT is missing, per source. */
static const char *const source_missing[HFTMON_SRC_NR] = {
	[HFTMON_SRC_SCHED_SWITCH] = "the kernel has no sched_switch tracepoint",
	[HFTMON_SRC_SCHED_WAKEUP] = "the kernel has no sched_wakeup tracepoint",
	[HFTMON_SRC_SCHED_MIGRATE] =
		"the kernel has no sched_migrate_task tracepoint",
	[HFTMON_SRC_PROCESS_EXIT] =
		"the kernel has no sched_process_exit tracepoint",
	[HFTMON_SRC_PROCESS_FORK] =
		"the kernel has no sched_process_fork tracepoint",
	[HFTMON_SRC_IRQ] =
		"the kernel has no irq_handler_entry/exit tracepoints",
	[HFTMON_SRC_SOFTIRQ] =
		"the kernel has no softirq_entry/exit tracepoints",
	[HFTMON_SRC_PMU_HW] = "the CPU exposes no hardware PMU",
	[HFTMON_SRC_PMU_SW] = "the kernel has no software perf events",
	[HFTMON_SRC_NUMA_BALANCING] =
		"the kernel has no NUMA balancing (CONFIG_NUMA_BALANCING)",
	[HFTMON_SRC_STACK_KERNEL] =
		"the kernel cannot unwind kernel stacks here",
	[HFTMON_SRC_STACK_USER] = "the kernel cannot unwind user stacks here",
	[HFTMON_SRC_IRQ_VECTOR] =
		"the kernel has no irq_vectors tracepoints (not x86)",
	[HFTMON_SRC_NMI] = "the kernel has no nmi_handler tracepoint (not x86)",
	[HFTMON_SRC_SPIKE] = "the kernel has no power:cpu_idle tracepoint",
	[HFTMON_SRC_SPIKE_FAULT] =
		"the kernel has no kretprobes (CONFIG_KRETPROBES) to time page faults",
	[HFTMON_SRC_NUMA_ACCESS] =
		"the kernel has no NUMA balancing (CONFIG_NUMA_BALANCING)",
	[HFTMON_SRC_RUNQ] =
		"the kernel lacks a scheduler tracepoint (switch, wake-up, migrate)",
};

HFTMON_API const char *hftmon_source_reason(enum hftmon_source src, int status)
{
	bool known = (unsigned int)src < HFTMON_SRC_NR;

	if (status == 0)
		return NULL;
	switch (status) {
	case -ENOENT:
		return known ? source_missing[src] :
			       "the kernel does not provide this source";
	case -EOPNOTSUPP:
		if (src == HFTMON_SRC_PMU_HW)
			return "the CPU exposes no hardware PMU";
		if (src == HFTMON_SRC_NUMA_BALANCING ||
		    src == HFTMON_SRC_NUMA_ACCESS)
			return "the kernel was built without NUMA balancing (CONFIG_NUMA_BALANCING, which PREEMPT_RT kernels cannot have) or kprobes";
		return "this machine does not support it";
	case -ENOSYS:
		if (src == HFTMON_SRC_SPIKE_FAULT)
			return "the module was built for a kernel without kretprobes (CONFIG_KRETPROBES) to time page faults";
		return "this module version does not implement it";
	case -EACCES:
	case -EPERM:
		return "not permitted (see perf_event_paranoid and the device's permissions)";
	case -ENODEV:
		return "the device it needs is not present";
	case -EBUSY:
		return "in use by someone else";
	default:
		return "unavailable for a reason this library does not know";
	}
}

/* The drain thread's interval while records flow, and its ceiling. */
static uint32_t drain_min_us(const struct hftmon_monitor_config *c)
{
	return c->drain_interval_us ? c->drain_interval_us : 1000;
}

static uint32_t drain_max_us(const struct hftmon_monitor_config *c)
{
	return c->drain_max_interval_us ? c->drain_max_interval_us :
					  HFTMON_DEFAULT_DRAIN_MAX_INTERVAL_US;
}

/* The events this library knows how to ask for. */
#define LIB_EVENTS                                                    \
	((uint64_t)(HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL | \
		    HFTMON_EV_SPIKE | HFTMON_EV_NUMA | HFTMON_EV_PMU | \
		    HFTMON_EV_RUNQ))

/* The configuration's checks that need no kernel. */
static int check_config(struct hftmon *m, const struct hftmon_monitor_config *c)
{
	size_t i;

	if (c->ring_pages & (c->ring_pages - 1)) {
		pr_err(m, "ring_pages %u is not a power of two", c->ring_pages);
		return -EINVAL;
	}
	if (c->ring_pages && m->info.max_ring_pages &&
	    c->ring_pages > m->info.max_ring_pages) {
		pr_err(m, "ring_pages %u exceeds the module's maximum %u",
		       c->ring_pages, m->info.max_ring_pages);
		return -EINVAL;
	}
	if (c->events & ~LIB_EVENTS) {
		pr_err(m, "unknown event bits %#llx",
		       (unsigned long long)(c->events & ~LIB_EVENTS));
		return -EINVAL;
	}
	if ((c->events & HFTMON_EV_RUNQ) &&
	    (~c->events & (HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP | HFTMON_EV_MIGRATE))) {
		pr_err(m,
		       "HFTMON_EV_RUNQ follows waits through switches, wake-ups and migrations: add HFTMON_EV_SWITCH, _WAKEUP and _MIGRATE");
		return -EINVAL;
	}
	if ((c->events & HFTMON_EV_SPIKE) && !c->spike_threshold_us) {
		pr_err(m,
		       "HFTMON_EV_SPIKE without spike_threshold_us: there is no default threshold");
		return -EINVAL;
	}
	if (c->spike_threshold_us &&
	    (c->spike_threshold_us * 1000 < HFTMON_SPIKE_THRESHOLD_MIN_NS ||
	     c->spike_threshold_us > HFTMON_SPIKE_THRESHOLD_MAX_NS / 1000)) {
		pr_err(m, "spike_threshold_us %llu is outside 1..%llu",
		       (unsigned long long)c->spike_threshold_us,
		       HFTMON_SPIKE_THRESHOLD_MAX_NS / 1000);
		return -EINVAL;
	}
	if (!c->irq_cpus != !c->nr_irq_cpus) {
		pr_err(m, "irq_cpus and nr_irq_cpus disagree");
		return -EINVAL;
	}
	for (i = 0; i < c->nr_irq_cpus; i++) {
		if (c->irq_cpus[i] < 0 ||
		    (unsigned int)c->irq_cpus[i] >= m->info.nr_cpu_ids ||
		    c->irq_cpus[i] >= HFTMON_IRQ_CPUS_MAX) {
			pr_err(m,
			       "irq_cpus[%zu] = %d is not a CPU of this machine (or not below %d)",
			       i, c->irq_cpus[i], HFTMON_IRQ_CPUS_MAX);
			return -EINVAL;
		}
	}
	if (c->nr_irq_cpus && !(c->events & HFTMON_EV_IRQ_ALL)) {
		pr_err(m,
		       "irq_cpus names CPUs to record interruptions on: add HFTMON_EV_IRQ_ALL bits to events");
		return -EINVAL;
	}
	if (!c->pmu_counters != !c->nr_pmu_counters ||
	    c->nr_pmu_counters > HFTMON_PMU_MAX_COUNTERS) {
		pr_err(m, "pmu_counters: 1..%d of them, nr_pmu_counters saying how many",
		       HFTMON_PMU_MAX_COUNTERS);
		return -EINVAL;
	}
	if (c->pmu_counters && c->pmu_counters[0].sz <
				       hftmon_offsetofend(struct hftmon_pmu_counter,
							  config)) {
		pr_err(m, "pmu_counters[0].sz is too small");
		return -EINVAL;
	}
	if (c->sampling_interval_us &&
	    (!c->nr_pmu_counters ||
	     c->sampling_interval_us > HFTMON_SAMPLE_INTERVAL_MAX_NS / 1000)) {
		pr_err(m,
		       "sampling_interval_us %u: the ticks read the PMU counters, so it needs pmu_counters, and 1..%llu us",
		       c->sampling_interval_us,
		       HFTMON_SAMPLE_INTERVAL_MAX_NS / 1000);
		return -EINVAL;
	}
	if ((c->events & HFTMON_EV_PMU) && !c->nr_pmu_counters) {
		pr_err(m, "HFTMON_EV_PMU without pmu_counters: name the counters");
		return -EINVAL;
	}
	if (!c->cpu_affinity != !c->nr_cpu_affinity) {
		pr_err(m, "cpu_affinity and nr_cpu_affinity disagree");
		return -EINVAL;
	}
	for (i = 0; i < c->nr_cpu_affinity; i++) {
		if (c->cpu_affinity[i] < 0 ||
		    (unsigned int)c->cpu_affinity[i] >= m->info.nr_cpu_ids) {
			pr_err(m,
			       "cpu_affinity[%zu] = %d is not a CPU of this machine",
			       i, c->cpu_affinity[i]);
			return -EINVAL;
		}
	}
	if (c->realtime_priority < 0 || c->realtime_priority > 99) {
		pr_err(m, "realtime_priority %d is outside 0..99",
		       c->realtime_priority);
		return -EINVAL;
	}
	if ((c->nr_cpu_affinity || c->realtime_priority) && !c->drain_thread) {
		pr_err(m,
		       "cpu_affinity/realtime_priority apply to the library's drain thread: set drain_thread, or drain from your own thread and set its affinity and priority there");
		return -EINVAL;
	}
	if (c->raw_only && (c->history_switches || c->history_wakeups ||
			    c->max_threads || c->max_stacks)) {
		pr_err(m,
		       "raw_only has no aggregator: history_switches, history_wakeups, max_threads and max_stacks must be 0");
		return -EINVAL;
	}
	if (!c->drain_thread && (c->record_fn || c->drain_interval_us ||
				 c->drain_max_interval_us)) {
		pr_err(m,
		       "record_fn/drain_interval_us/drain_max_interval_us apply to the library's drain thread: set drain_thread, or drain with hftmon_drain()");
		return -EINVAL;
	}
	if (c->numa_line_period &&
	    (!(c->events & HFTMON_EV_NUMA) || c->raw_only ||
	     c->numa_line_period > HFTMON_NUMA_LINE_MAX_PERIOD)) {
		pr_err(m, "numa_line_period %u: needs HFTMON_EV_NUMA and the aggregator (no raw_only), at most %u",
		       c->numa_line_period, HFTMON_NUMA_LINE_MAX_PERIOD);
		return -EINVAL;
	}
	if (c->numa_line_ldlat &&
	    (!c->numa_line_period || c->numa_line_ldlat < 3 ||
	     c->numa_line_ldlat > 65535)) {
		pr_err(m, "numa_line_ldlat %u: needs numa_line_period, and 3..65535 cycles",
		       c->numa_line_ldlat);
		return -EINVAL;
	}
	if (c->drain_max_interval_us &&
	    c->drain_max_interval_us < drain_min_us(c)) {
		pr_err(m,
		       "drain_max_interval_us %u is below drain_interval_us %u",
		       c->drain_max_interval_us, drain_min_us(c));
		return -EINVAL;
	}
	return 0;
}

/* Maps and checks every CPU's ring; on failure unmaps what it mapped. */
static int map_rings(struct hftmon *m, unsigned int nr)
{
	unsigned int cpu;
	int err;

	for (cpu = 0; cpu < nr; cpu++) {
		struct hftmon_ring *ring = &m->rings[cpu];
		void *map;

		map = hftmon_sys->mmap(NULL, m->ring_mmap_size,
				       PROT_READ | PROT_WRITE, MAP_SHARED,
				       m->fd,
				       (off_t)cpu * (off_t)m->ring_mmap_size);
		if (map == MAP_FAILED) {
			err = -errno;
			/* A CPU number that is not a possible CPU has no ring. */
			if (err == -ENODEV) {
				pr_debug(m, "CPU %u has no ring", cpu);
				continue;
			}
			pr_err(m, "mmap ring of CPU %u: %s", cpu,
			       strerror(-err));
			goto err_unmap;
		}
		ring->map = map;
		err = hftmon_ring_reader_init(&ring->rd, map,
					      m->ring_mmap_size);
		if (!err && ring->rd.ctrl->cpu != cpu)
			err = -EPROTO;
		if (err) {
			pr_err(m,
			       "ring of CPU %u has a control page this library does not understand",
			       cpu);
			goto err_unmap;
		}
	}
	return 0;

err_unmap:
	/* Nothing was read yet: only unmap, there are no totals to keep. */
	for (cpu = 0; cpu < nr; cpu++) {
		struct hftmon_ring *ring = &m->rings[cpu];

		if (ring->map)
			hftmon_sys->munmap(ring->map, m->ring_mmap_size);
		ring->map = NULL;
	}
	return err;
}

/*
 * The reorder pool must hold a whole drain pass (every ring full of the
 * smallest record it queues) plus what waits for the watermark.
 */
static uint32_t reorder_records(const struct hftmon *m)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < m->nr_rings; i++)
		if (m->rings[i].map)
			n += m->rings[i].rd.data_size /
			     sizeof(struct hftmon_rec_wakeup);
	n += n / 4;
	if (n < 4096)
		n = 4096;
	return n > HFTMON_AGG_MAX_REORDER ? HFTMON_AGG_MAX_REORDER : (uint32_t)n;
}

/* The aggregator and what start needs of the configuration. */
static int setup_library_side(struct hftmon *m,
			      const struct hftmon_monitor_config *c)
{
	unsigned int i;
	int err;

	if (c->nr_cpu_affinity) {
		m->cpus = calloc(c->nr_cpu_affinity, sizeof(*m->cpus));
		if (!m->cpus)
			return -ENOMEM;
		memcpy(m->cpus, c->cpu_affinity,
		       c->nr_cpu_affinity * sizeof(*m->cpus));
	}
	m->cfg = *c;
	m->cfg.cpu_affinity = m->cpus;
	m->cfg.irq_cpus = NULL; /* the kernel has them */
	m->cfg.pmu_counters = NULL; /* so has it these */
	m->cfg.nr_irq_cpus = 0;
	if (c->raw_only)
		return 0;
	{
		struct hftmon_agg_sizes sz = {
			.history_switches = c->history_switches ?
						    c->history_switches :
						    HFTMON_DEFAULT_HISTORY_SWITCHES,
			.history_wakeups = c->history_wakeups ?
						   c->history_wakeups :
						   HFTMON_DEFAULT_HISTORY_WAKEUPS,
			.max_threads = c->max_threads ?
					       c->max_threads :
					       HFTMON_DEFAULT_MAX_THREADS,
			.max_stacks = c->max_stacks ? c->max_stacks :
						      HFTMON_DEFAULT_MAX_STACKS,
			.reorder_records = reorder_records(m),
			.max_numa_threads = c->events & HFTMON_EV_NUMA ?
						    HFTMON_MAX_NUMA_THREADS :
						    0,
			.history_numa_faults = HFTMON_HISTORY_NUMA_FAULTS,
			.history_numa_moves = HFTMON_HISTORY_NUMA_MOVES,
			.history_numa_accesses = HFTMON_HISTORY_NUMA_ACCESSES,
			.nr_pmu = m->nr_pmu,
			.pmu_status = m->pmu_status,
			.max_pmu_threads = HFTMON_MAX_PMU_THREADS,
			.history_pmu_slices = HFTMON_HISTORY_PMU_SLICES,
		};

		hftmon_agg_sizes_of_events(&sz, c->events);
		err = hftmon_agg_setup(m, &sz);
	}
	if (err) {
		pr_err(m, "aggregator: %s", strerror(-err));
		free(m->cpus);
		m->cpus = NULL;
		memset(&m->cfg, 0, sizeof(m->cfg));
		return err;
	}
	for (i = 0; i < m->nr_rings; i++)
		if (!m->rings[i].map)
			hftmon_agg_ring_absent(&m->agg, i);
	if (m->agg.numa)
		hftmon_numa_map_cpus(m);
	m->agg_ready = true;
	m->cfg.cpu_affinity = m->cpus;
	return 0;
}

void hftmon_agg_sizes_of_events(struct hftmon_agg_sizes *sz, uint64_t events)
{
	bool irq = events & HFTMON_EV_IRQ_ALL;

	sz->history_irqs = irq ? HFTMON_HISTORY_IRQS : 0;
	sz->max_irq_sources = irq ? HFTMON_MAX_IRQ_SOURCES : 0;
	sz->history_spikes = events & HFTMON_EV_SPIKE ? HFTMON_HISTORY_SPIKES : 0;
	sz->history_runq = events & HFTMON_EV_RUNQ ? HFTMON_HISTORY_RUNQ : 0;
}

int hftmon_agg_setup(struct hftmon *m, const struct hftmon_agg_sizes *sz)
{
	int err = hftmon_agg_init(&m->agg, m->nr_rings, sz);

	if (err)
		return err;
	m->lat_cap = sz->history_wakeups;
	m->lat_buf = calloc(m->lat_cap, sizeof(*m->lat_buf));
	m->irq_pair_cap = 2 * sz->history_irqs;
	m->irq_pairs = m->irq_pair_cap ?
			       calloc(m->irq_pair_cap, sizeof(*m->irq_pairs)) :
			       NULL;
	m->irq_order = sz->max_irq_sources ?
			       calloc(sz->max_irq_sources, sizeof(*m->irq_order)) :
			       NULL;
	if (!m->lat_buf ||
	    (m->irq_pair_cap && (!m->irq_pairs || !m->irq_order)) ||
	    hftmon_cache_setup(m, sz->nr_pmu ? sz->history_pmu_slices : 0)) {
		free(m->lat_buf);
		free(m->irq_pairs);
		free(m->irq_order);
		m->lat_buf = NULL;
		m->irq_pairs = NULL;
		m->irq_order = NULL;
		hftmon_agg_fini(&m->agg);
		return -ENOMEM;
	}
	return 0;
}

HFTMON_API int hftmon_configure(struct hftmon *m,
				const struct hftmon_monitor_config *cfg)
{
	struct hftmon_monitor_config c;
	struct hftmon_config kc;
	unsigned int nr;
	size_t i;
	int err;

	if (!m)
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&c, cfg, numa_line_ldlat);
	if (err)
		return err;
	err = check_config(m, &c);
	if (err)
		return err;
	if (hftmon_file_reading(m))
		return -EBADF;
	if (m->running) {
		pr_err(m, "configure while running: stop first");
		return -EBUSY;
	}

	/* A recording covers one configuration: it ends here. */
	hftmon_file_close(m);
	/* The kernel refuses CONFIGURE while any ring is mapped. */
	unmap_rings(m);

	nr = m->info.nr_cpu_ids;
	m->rings = calloc(nr, sizeof(*m->rings));
	if (!m->rings)
		return -ENOMEM;

	memset(&kc, 0, sizeof(kc));
	kc.size = sizeof(kc);
	kc.events = c.events;
	kc.ring_pages = c.ring_pages;
	kc.wakeup_bytes = c.wakeup_bytes;
	kc.sample_interval_ns = (__u64)c.sampling_interval_us * 1000;
	if (c.spike_threshold_us) {
		/* Spikes need the switches and wake-ups (0 = those and more). */
		if (!kc.events)
			kc.events = HFTMON_EV_SCHED_ALL;
		kc.events |= HFTMON_EV_SPIKE;
		kc.spike_threshold_ns = c.spike_threshold_us * 1000;
		c.events = kc.events;
	}
	for (i = 0; i < c.nr_irq_cpus; i++)
		kc.irq_cpus[c.irq_cpus[i] / 64] |= 1ull << (c.irq_cpus[i] % 64);
	if (c.nr_pmu_counters) {
		/* Counters need the switches (0 = those and more). */
		if (!kc.events)
			kc.events = HFTMON_EV_SCHED_ALL;
		kc.events |= HFTMON_EV_PMU | HFTMON_EV_SWITCH;
		c.events = kc.events;
		kc.nr_pmu = (__u32)c.nr_pmu_counters;
		for (i = 0; i < c.nr_pmu_counters; i++) {
			const struct hftmon_pmu_counter *pc =
				(const void *)((const char *)c.pmu_counters +
					       i * c.pmu_counters[0].sz);

			kc.pmu[i].type = pc->type;
			kc.pmu[i].config = pc->config;
		}
	}
	err = dev_ioctl_log(m, HFTMON_IOC_CONFIGURE, &kc);
	if (err)
		goto err_free;
	m->nr_pmu = kc.nr_pmu;
	for (i = 0; i < HFTMON_PMU_MAX_COUNTERS; i++) {
		m->pmu_status[i] = i < kc.nr_pmu ? kc.pmu[i].status : 0;
		m->pmu_type[i] = i < kc.nr_pmu ? kc.pmu[i].type : 0;
		m->pmu_config[i] = i < kc.nr_pmu ? kc.pmu[i].config : 0;
		/* A status that is no errno would pass for a count: refuse it. */
		if (m->pmu_status[i] > 0 || m->pmu_status[i] < -4095) {
			pr_err(m, "CONFIGURE returned an impossible PMU status %d",
			       m->pmu_status[i]);
			err = -EPROTO;
			goto err_free;
		}
		if (m->pmu_status[i])
			pr_info(m, "PMU counter %zu (type %u, config %#llx) unsupported: %s",
				i, kc.pmu[i].type,
				(unsigned long long)kc.pmu[i].config,
				strerror(-m->pmu_status[i]));
	}
	if (c.events & HFTMON_EV_NUMA)
		hftmon_numa_dram_setup(m, kc.pmu, kc.nr_pmu);
	if (!kc.ring_mmap_size || kc.ring_mmap_size % m->info.page_size ||
	    kc.ring_mmap_size > (__u64)(LONG_MAX / nr)) {
		pr_err(m,
		       "CONFIGURE returned an impossible ring_mmap_size %llu",
		       (unsigned long long)kc.ring_mmap_size);
		err = -EPROTO;
		goto err_free;
	}
	m->ring_mmap_size = kc.ring_mmap_size;

	err = map_rings(m, nr);
	if (err)
		goto err_free;
	m->nr_rings = nr;
	err = setup_library_side(m, &c);
	if (err) {
		unmap_rings(m);
		return err;
	}
	/* After the aggregator: it knows each CPU's node. */
	if (c.events & HFTMON_EV_NUMA)
		hftmon_numa_bw_setup(m);
	if (c.numa_line_period) {
		err = hftmon_numa_line_setup(m, c.numa_line_period,
					     c.numa_line_ldlat,
					     HFTMON_HISTORY_NUMA_LINES);
		if (err) {
			pr_err(m, "NUMA cache-line history: %s", strerror(-err));
			unmap_rings(m);
			return err;
		}
	}
	m->configured = true;
	pr_debug(m, "configured %u rings of %llu bytes", nr,
		 (unsigned long long)m->ring_mmap_size);
	return 0;

err_free:
	free(m->rings);
	m->rings = NULL;
	m->ring_mmap_size = 0;
	return err;
}

static int attach_ioctl(struct hftmon *m, unsigned long cmd, pid_t pid,
			__u32 flags, __u64 kstack_min_ns)
{
	struct hftmon_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.pid = pid;
	a.flags = flags;
	a.kstack_min_ns = kstack_min_ns;
	return dev_ioctl(m, cmd, &a);
}

HFTMON_API int hftmon_attach_process(struct hftmon *m, pid_t pid,
				     const struct hftmon_attach_opts *opts)
{
	struct hftmon_attach_opts o;
	__u32 flags = 0;
	__u64 kmin = 0;
	int err;

	if (!m || pid <= 0)
		return -EINVAL;
	err = HFTMON_COPY_OPTS(&o, opts, follow_children);
	if (err)
		return err;
	if (o.kernel_stacks_min_us &&
	    (!o.kernel_stacks || o.kernel_stacks_min_us > 10000000u)) {
		pr_err(m, "kernel_stacks_min_us %u: needs kernel_stacks, at most 10 s",
		       o.kernel_stacks_min_us);
		return -EINVAL;
	}
	/* Without the module's minimum: every switch-out's stack, as before. */
	if (m->info.features & HFTMON_FEAT_KSTACK_MIN)
		kmin = (__u64)o.kernel_stacks_min_us * 1000;
	if (!m->configured) {
		pr_err(m, "attach pid %d before configure", (int)pid);
		return -EINVAL;
	}
	/*
	 * The session's counters are read for every tracked thread: the
	 * module is not asked (HFTMON_ATTACH_CACHE is refused); track_cache
	 * says this process needs cache counters, and fails loudly without.
	 */
	if (o.track_cache && !hftmon_cache_configured(m)) {
		pr_err(m, "attach pid %d: track_cache needs cache counters in the configuration's pmu_counters (hftmon_cache_counters())",
		       (int)pid);
		return -EINVAL;
	}
	/* The session's HFTMON_EV_NUMA records every tracked process's. */
	if (o.track_numa && !(m->cfg.events & HFTMON_EV_NUMA)) {
		pr_err(m, "attach pid %d: track_numa needs HFTMON_EV_NUMA in the configuration's events",
		       (int)pid);
		return -EINVAL;
	}
	if (o.kernel_stacks)
		flags |= HFTMON_ATTACH_KSTACK;
	if (o.user_stacks)
		flags |= HFTMON_ATTACH_USTACK;
	if (o.follow_children) {
		if (!(m->info.features & HFTMON_FEAT_INHERIT)) {
			pr_err(m, "attach pid %d: this module cannot follow children (no HFTMON_FEAT_INHERIT)",
			       (int)pid);
			return -EOPNOTSUPP;
		}
		if (m->cfg.events && !(m->cfg.events & HFTMON_EV_FORK)) {
			pr_err(m, "attach pid %d: following children needs HFTMON_EV_FORK in the events",
			       (int)pid);
			return -EINVAL;
		}
		flags |= HFTMON_ATTACH_INHERIT;
	}
	err = attach_ioctl(m, HFTMON_IOC_ATTACH, pid, flags, kmin);
	if (err) {
		pr_err(m, "attach pid %d: %s", (int)pid, strerror(-err));
		return err;
	}
	if (m->nr_attached == m->cap_attached) {
		unsigned int cap = m->cap_attached ? 2 * m->cap_attached : 8;
		pid_t *p = realloc(m->attached, cap * sizeof(*p));

		if (!p)
			return 0; /* only a recording's THREADS miss it */
		m->attached = p;
		m->cap_attached = cap;
	}
	m->attached[m->nr_attached++] = pid;
	if (m->running) {
		hftmon_lock(m);
		hftmon_numa_line_attach(m, pid);
		hftmon_unlock(m);
	}
	return 0;
}

HFTMON_API int hftmon_detach_process(struct hftmon *m, pid_t pid)
{
	int err;

	if (!m || pid <= 0)
		return -EINVAL;
	unsigned int i;

	err = attach_ioctl(m, HFTMON_IOC_DETACH, pid, 0, 0);
	if (err) {
		pr_err(m, "detach pid %d: %s", (int)pid, strerror(-err));
		return err;
	}
	for (i = 0; i < m->nr_attached; i++)
		if (m->attached[i] == pid)
			m->attached[i] = m->attached[--m->nr_attached];
	return 0;
}

/* "0,3,5" into buf, for log lines. */
static const char *cpu_list(const int *cpus, size_t nr, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < nr && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%d", i ? "," : "",
				 cpus[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}

static void *drain_main(void *arg);

/* The thread's CPUs and priority, applied before it drains anything. */
static int drain_thread_sched(struct hftmon *m)
{
	const struct hftmon_monitor_config *c = &m->cfg;
	char list[128];
	int err, max = 0;
	size_t i;

	if (c->nr_cpu_affinity) {
		cpu_set_t *set;
		size_t size;

		for (i = 0; i < c->nr_cpu_affinity; i++)
			if (c->cpu_affinity[i] > max)
				max = c->cpu_affinity[i];
		set = CPU_ALLOC(max + 1);
		if (!set)
			return -ENOMEM;
		size = CPU_ALLOC_SIZE(max + 1);
		CPU_ZERO_S(size, set);
		for (i = 0; i < c->nr_cpu_affinity; i++)
			CPU_SET_S(c->cpu_affinity[i], size, set);
		err = pthread_setaffinity_np(m->thread, size, set);
		CPU_FREE(set);
		if (err) {
			pr_err(m, "drain thread: cannot run it on CPU(s) %s: %s",
			       cpu_list(c->cpu_affinity, c->nr_cpu_affinity,
					list, sizeof(list)),
			       strerror(err));
			return -err;
		}
	}
	if (c->realtime_priority) {
		struct sched_param sp = { .sched_priority =
						  c->realtime_priority };

		err = pthread_setschedparam(m->thread, SCHED_FIFO, &sp);
		if (err) {
			pr_err(m,
			       "drain thread: SCHED_FIFO priority %d refused: %s%s",
			       c->realtime_priority, strerror(err),
			       err == EPERM ?
				       " (needs CAP_SYS_NICE or an RLIMIT_RTPRIO at least that high)" :
				       "");
			return -err;
		}
	}
	return 0;
}

static void close_wake_fd(struct hftmon *m)
{
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	m->wake_fd = -1;
}

/* Ends a thread that start gave up on: it exits without draining. */
static void abort_thread(struct hftmon *m)
{
	m->thread_abort = true;
	pthread_mutex_unlock(&m->agg_lock);
	pthread_join(m->thread, NULL);
	m->thread_running = false;
	close_wake_fd(m);
}

/* Asks the drain thread for a last drain and waits for it to end. */
static void stop_thread(struct hftmon *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&m->agg_lock);
	m->thread_stop = true;
	pthread_mutex_unlock(&m->agg_lock);
	/* It may sleep with no timeout: the eventfd ends its poll. */
	if (write(m->wake_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn(m, "drain thread: wake-up: %s", strerror(errno));
	pthread_join(m->thread, NULL);
	m->thread_running = false;
	close_wake_fd(m);
}

HFTMON_API int hftmon_start(struct hftmon *m)
{
	bool thread = false;
	int err;

	if (!m)
		return -EINVAL;
	if (!m->configured) {
		pr_err(m, "start before configure");
		return -EINVAL;
	}
	if (m->thread_running) {
		pr_err(m, "start while running: stop first");
		return -EBUSY;
	}
	if (m->cfg.drain_thread) {
		/*
		 * The thread waits on agg_lock, held until the session runs:
		 * it drains nothing before its CPUs and priority are set.
		 */
		m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->wake_fd < 0) {
			err = -errno;
			pr_err(m, "drain thread: eventfd: %s", strerror(-err));
			return err;
		}
		pthread_mutex_lock(&m->agg_lock);
		m->thread_stop = m->thread_abort = false;
		err = pthread_create(&m->thread, NULL, drain_main, m);
		if (err) {
			pthread_mutex_unlock(&m->agg_lock);
			close_wake_fd(m);
			pr_err(m, "drain thread: %s", strerror(err));
			return -err;
		}
		m->thread_running = true;
		thread = true;
		err = drain_thread_sched(m);
		if (err) {
			abort_thread(m);
			return err;
		}
	}
	err = dev_ioctl_log(m, HFTMON_IOC_START, NULL);
	if (err) {
		if (thread)
			abort_thread(m);
		return err;
	}
	if (m->agg_ready)
		hftmon_agg_session_start(&m->agg);
	hftmon_numa_bw_start(m);
	hftmon_numa_line_start(m);
	hftmon_file_started(m);
	m->running = true;
	if (thread)
		pthread_mutex_unlock(&m->agg_lock);
	return 0;
}

HFTMON_API int hftmon_stop(struct hftmon *m)
{
	int err;

	if (!m)
		return -EINVAL;
	err = dev_ioctl_log(m, HFTMON_IOC_STOP, NULL);
	hftmon_lock(m);
	if (!err) {
		m->running = false;
		/* What the aggregator knows ends here. */
		if (m->agg_ready)
			hftmon_agg_session_stop(&m->agg, mono_ns());
	}
	hftmon_unlock(m);
	if (!err)
		hftmon_numa_bw_stop(m);
	/* Stopped or not, the thread ends: its last pass drains what is left. */
	if (m->thread_running)
		stop_thread(m);
	/* After the thread: its samples drained, under no one's feet. */
	if (!err)
		hftmon_numa_line_stop(m);
	if (!err)
		err = hftmon_file_stopped(m);
	return err;
}

HFTMON_API int hftmon_wait(struct hftmon *m, int timeout_ms)
{
	struct pollfd pfd;
	int ret;

	if (!m)
		return -EINVAL;
	if (!m->configured)
		return -EINVAL;
	if (hftmon_file_reading(m))
		return -EBADF;
	pfd.fd = m->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ret = hftmon_sys->poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return 0;
	if (pfd.revents & POLLIN)
		return 1;
	pr_err(m, "poll: revents %#x", (unsigned int)pfd.revents);
	return -EIO;
}

/* Logs what a pass over one ring found wrong, if anything. */
static void note_bad(struct hftmon *m, unsigned int cpu, __u64 bad_before)
{
	if (m->rings[cpu].rd.bad_records != bad_before)
		pr_err(m,
		       "ring of CPU %u held malformed data: skipped to its head",
		       cpu);
}

/* Feeds the aggregator, then the caller. */
struct drain_tap {
	struct hftmon *m;
	unsigned int ring;
	hftmon_record_fn fn; /* NULL: the aggregator only */
	void *ctx;
};

static int drain_tap(void *arg, const struct hftmon_rec_hdr *rec)
{
	struct drain_tap *tap = arg;

	if (tap->m->agg_ready)
		hftmon_agg_record(&tap->m->agg, tap->ring, rec);
	if (tap->m->file)
		hftmon_file_put(tap->m, tap->ring, rec);
	return tap->fn ? tap->fn(tap->ctx, rec) : 0;
}

/* raw_only with a drain thread and no record_fn: records are only counted. */
static int drain_none(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

/* One pass over every ring: what hftmon_drain and the drain thread do. */
static long drain_rings(struct hftmon *m, hftmon_record_fn fn, void *ctx)
{
	struct drain_tap tap = { .m = m, .fn = fn, .ctx = ctx };
	uint64_t pass_ns = mono_ns(); /* before any head is loaded */
	bool quiescent = !m->running;
	unsigned int cpu;
	long total = 0;

	for (cpu = 0; cpu < m->nr_rings; cpu++) {
		struct hftmon_ring_reader *rd = &m->rings[cpu].rd;
		__u64 bad = rd->bad_records;
		bool stopped;

		if (!m->rings[cpu].map)
			continue;

		tap.ring = cpu;
		if (m->agg_ready || m->file)
			total += hftmon_ring_drain(rd, drain_tap, &tap, &stopped);
		else
			total += hftmon_ring_drain(rd, fn ? fn : drain_none, ctx,
						   &stopped);
		/* Stopped: records lost after the last one written show too. */
		if (!stopped && quiescent)
			hftmon_ring_settle(rd);
		note_bad(m, cpu, bad);
		if (m->agg_ready)
			hftmon_agg_ring_done(&m->agg, cpu, !stopped, pass_ns,
					     quiescent);
		hftmon_file_ring_done(m, cpu, !stopped, pass_ns, quiescent);
		if (stopped || total >= INT_MAX)
			break;
	}
	hftmon_numa_line_drain(m);
	if (m->agg_ready)
		hftmon_agg_flush(&m->agg);
	hftmon_file_pass_end(m);
	return total;
}

static int drain_busy(struct hftmon *m)
{
	pr_err(m, "the drain thread drains: query instead");
	return -EBUSY;
}

HFTMON_API int hftmon_drain(struct hftmon *m, hftmon_record_fn fn, void *ctx)
{
	long total;

	if (!m || !fn)
		return -EINVAL;
	if (!m->configured)
		return -EINVAL;
	if (hftmon_file_reading(m))
		return hftmon_file_drain(m, fn, ctx);
	if (m->thread_running)
		return drain_busy(m);
	total = drain_rings(m, fn, ctx);
	return total > INT_MAX ? INT_MAX : (int)total;
}

_Static_assert(HFTMON_DRAIN_MERGE_MS * 1000000ull > HFTMON_AGG_REORDER_NS,
	       "a pass HFTMON_DRAIN_MERGE_MS later flushes what the merge held");

/* Microseconds to a poll() timeout: rounded up; the ceiling may be -1. */
static int us_to_timeout(uint32_t us)
{
	if (us == HFTMON_DRAIN_NO_TIMER)
		return -1;
	return (int)(((uint64_t)us + 999u) / 1000u);
}

/*
 * The next wait, after a pass that found records or not: the interval
 * restarts at drain_interval_us while records come, doubles while they do
 * not, up to the ceiling (or none at all: HFTMON_DRAIN_NO_TIMER).
 */
static int drain_next_timeout(struct hftmon *m, uint32_t *cur_us, bool found)
{
	uint32_t lo = drain_min_us(&m->cfg), hi = drain_max_us(&m->cfg);

	bool held = !found && m->agg_ready && hftmon_agg_pending(&m->agg);
	int t;

	if (found)
		*cur_us = lo;
	else if (held)
		; /* the interval grows once the merge let everything out */
	else if (hi == HFTMON_DRAIN_NO_TIMER)
		*cur_us = hi; /* nothing came: sleep until something does */
	else if (*cur_us < hi)
		*cur_us = *cur_us > hi / 2 ? hi : *cur_us * 2;
	t = us_to_timeout(*cur_us);
	/*
	 * Records stopped coming but the merge still holds the last ones:
	 * the pass that lets them out comes soon, not at the interval.
	 */
	if (held && (t < 0 || t > HFTMON_DRAIN_MERGE_MS))
		t = HFTMON_DRAIN_MERGE_MS;
	return t;
}

/*
 * Waits on the device and the stop eventfd: 1 woken (watermark or stop),
 * 0 the interval ended, -errno.
 */
static int drain_wait(struct hftmon *m, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = m->fd, .events = POLLIN },
		{ .fd = m->wake_fd, .events = POLLIN },
	};
	int ret = hftmon_sys->poll(pfd, 2, timeout_ms);

	if (ret < 0)
		return -errno;
	if (ret == 0)
		return 0;
	if (!pfd[1].revents && !(pfd[0].revents & POLLIN))
		return -EIO;
	return 1;
}

/* After a failed wait: do not spin, but still hear stop. */
static void drain_backoff(struct hftmon *m, int timeout_ms)
{
	struct pollfd pfd = { .fd = m->wake_fd, .events = POLLIN };

	poll(&pfd, 1, timeout_ms < 0 || timeout_ms > 100 ? 100 : timeout_ms);
}

static uint64_t thread_cpu_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The drain thread: wait for the watermark, stop or the end of the
 * interval, then drain every ring into the aggregator under agg_lock,
 * one batch per lock. After stop, one last pass (or several, if
 * record_fn cuts them short) empties the quiescent rings.
 */
static void *drain_main(void *arg)
{
	struct hftmon *m = arg;
	/* Without a timer, it first sleeps until the watermark or stop. */
	uint32_t cur_us = drain_max_us(&m->cfg) == HFTMON_DRAIN_NO_TIMER ?
				  HFTMON_DRAIN_NO_TIMER :
				  drain_min_us(&m->cfg);
	int timeout = us_to_timeout(cur_us), ret;
	bool stop, logged = false;
	uint64_t lines;
	long n, total;

	pthread_mutex_lock(&m->agg_lock); /* released when the session runs */
	stop = m->thread_abort;
	if (!stop)
		m->drain.cpu_live = true;
	pthread_mutex_unlock(&m->agg_lock);
	if (stop)
		return NULL;
	for (;;) {
		ret = drain_wait(m, timeout);
		if (ret < 0 && ret != -EINTR) {
			if (!logged)
				pr_err(m, "drain thread: wait: %s",
				       strerror(-ret));
			logged = true;
			drain_backoff(m, timeout);
		}
		drain_lock(m);
		m->drain.wakeups++;
		if (ret == 0)
			m->drain.timer_wakeups++;
		stop = m->thread_stop;
		total = 0;
		lines = m->line ? m->line->records : 0;
		do {
			n = drain_rings(m, m->cfg.record_fn, m->cfg.record_ctx);
			total += n;
		} while (stop && n > 0);
		m->drain.records += (uint64_t)total;
		if (m->agg_ready && m->agg.st.spikes != m->spikes_signalled) {
			m->spikes_signalled = m->agg.st.spikes;
			pthread_cond_broadcast(&m->spike_cond);
		}
		/*
		 * Samples of cache lines flowing keep the interval short as
		 * records do: their rings have no watermark that wakes it.
		 */
		timeout = drain_next_timeout(m, &cur_us,
					     total > 0 ||
						     (m->line &&
						      m->line->records != lines));
		if (stop) {
			/* A waiter must not sleep on a thread that is gone. */
			pthread_cond_broadcast(&m->spike_cond);
			m->drain.cpu_ns +=
				thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
			m->drain.cpu_live = false;
		}
		pthread_mutex_unlock(&m->agg_lock);
		if (stop)
			return NULL;
	}
}

/* Copies the records of one ring into buf; stops at the first that does not fit. */
static size_t read_ring(struct hftmon *m, unsigned int cpu, unsigned char *buf,
			size_t len, bool *full)
{
	struct hftmon_ring_reader *rd = &m->rings[cpu].rd;
	const struct hftmon_rec_hdr *rec;
	size_t copied = 0;
	int ret;

	*full = false;
	hftmon_ring_refresh(rd);
	while ((ret = hftmon_ring_peek(rd, &rec)) != 0) {
		if (ret < 0)
			continue;
		if (rec->size > len - copied) {
			*full = true;
			break;
		}
		if (m->agg_ready)
			hftmon_agg_record(&m->agg, cpu, rec);
		hftmon_file_put(m, cpu, rec);
		memcpy(buf + copied, rec, rec->size);
		copied += rec->size;
		hftmon_ring_consume(rd);
	}
	hftmon_ring_release(rd);
	return copied;
}

HFTMON_API ssize_t hftmon_read_records(struct hftmon *m, void *buf, size_t len)
{
	uint64_t pass_ns;
	size_t copied = 0;
	bool quiescent;
	unsigned int i;

	if (!m || (!buf && len))
		return -EINVAL;
	if (!m->configured)
		return -EINVAL;
	if (hftmon_file_reading(m))
		return -EBADF;
	if (m->thread_running)
		return drain_busy(m);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	pass_ns = mono_ns();
	quiescent = !m->running;
	for (i = 0; i < m->nr_rings; i++) {
		unsigned int cpu = (m->read_cursor + i) % m->nr_rings;
		struct hftmon_ring_reader *rd = &m->rings[cpu].rd;
		__u64 bad = rd->bad_records;
		bool full;

		if (!m->rings[cpu].map)
			continue;

		copied += read_ring(m, cpu, (unsigned char *)buf + copied,
				    len - copied, &full);
		if (!full && quiescent)
			hftmon_ring_settle(rd);
		note_bad(m, cpu, bad);
		if (m->agg_ready)
			hftmon_agg_ring_done(&m->agg, cpu, !full, pass_ns,
					     quiescent);
		hftmon_file_ring_done(m, cpu, !full, pass_ns, quiescent);
		if (full) {
			if (m->agg_ready)
				hftmon_agg_flush(&m->agg);
			hftmon_file_pass_end(m);
			/* Nothing fits: the same record is next, for a bigger buf. */
			if (!copied)
				return -ENOSPC;
			/* Buffer full: the next call starts with the next ring. */
			m->read_cursor = (cpu + 1) % m->nr_rings;
			return (ssize_t)copied;
		}
	}
	hftmon_numa_line_drain(m);
	if (m->agg_ready)
		hftmon_agg_flush(&m->agg);
	hftmon_file_pass_end(m);
	return (ssize_t)copied;
}

int hftmon_get_kstats(struct hftmon *m, struct hftmon_stats *ks)
{
	if (hftmon_file_reading(m))
		return hftmon_file_kstats(m, ks);
	return dev_ioctl_log(m, HFTMON_IOC_GET_STATS, ks);
}

HFTMON_API int hftmon_get_stats(struct hftmon *m,
				struct hftmon_stats_summary *sum,
				struct hftmon_cpu_stats *cpus,
				unsigned int nr_cpus)
{
	struct hftmon_stats_summary s;
	struct hftmon_stats ks;
	unsigned int i, c;
	int err;

	if (!m || !sum || sum->sz < sizeof(sum->sz) || (!cpus && nr_cpus))
		return -EINVAL;

	memset(&ks, 0, sizeof(ks));
	ks.size = sizeof(ks);
	ks.nr_cpus = m->info.nr_cpu_ids;
	ks.cpus_ptr = (__u64)(uintptr_t)m->cpu_stats;
	ks.cpu_stats_size = sizeof(*m->cpu_stats);
	err = hftmon_get_kstats(m, &ks);
	if (err)
		return err;
	if (ks.nr_cpus > m->info.nr_cpu_ids) {
		pr_err(m, "GET_STATS filled %u CPUs of %u", ks.nr_cpus,
		       m->info.nr_cpu_ids);
		return -EPROTO;
	}

	hftmon_lock(m);
	memset(&s, 0, sizeof(s));
	for (i = 0; i < ks.nr_cpus; i++) {
		s.records += m->cpu_stats[i].records;
		for (c = 0; c < HFTMON_LOST_MAX; c++) {
			s.lost[c] += m->cpu_stats[i].lost[c];
			s.lost_total += m->cpu_stats[i].lost[c];
		}
	}
	s.delivered = m->retired.delivered;
	s.seq_gaps = m->retired.seq_gaps;
	s.bad_records = m->retired.bad_records;
	s.unknown_records = m->retired.unknown;
	for (i = 0; i < m->nr_rings; i++) {
		s.delivered += m->rings[i].rd.delivered;
		s.seq_gaps += m->rings[i].rd.seq_gaps;
		s.bad_records += m->rings[i].rd.bad_records;
		s.unknown_records += m->rings[i].rd.unknown;
	}
	s.switches_completed = m->retired.agg.switches_completed;
	s.switches_overwritten = m->retired.agg.switches_overwritten;
	s.wakeups_overwritten = m->retired.agg.wakeups_overwritten;
	s.aggregator_late = m->retired.agg.late;
	s.aggregator_dropped = m->retired.agg.dropped;
	if (m->agg_ready) {
		s.switches_completed += m->agg.st.switches_completed;
		s.switches_overwritten += m->agg.st.switches_overwritten;
		s.wakeups_overwritten += m->agg.st.wakeups_overwritten;
		s.aggregator_late += m->agg.st.late;
		s.aggregator_dropped += m->agg.st.dropped;
	}
	s.drain_wakeups = m->drain.wakeups;
	s.drain_timer_wakeups = m->drain.timer_wakeups;
	s.drain_records = m->drain.records;
	s.drain_cpu_ns = m->drain.cpu_ns;
	if (m->thread_running && m->drain.cpu_live) {
		clockid_t clk;

		if (!pthread_getcpuclockid(m->thread, &clk))
			s.drain_cpu_ns += thread_cpu_ns(clk);
	}
	s.nr_procs = ks.nr_procs;
	s.running = ks.running != 0;
	s.start_ns = ks.start_ns;
	s.stop_ns = ks.stop_ns;
	m->running = s.running;
	hftmon_unlock(m);

	/* Fill as much as the caller's struct has room for, keeping its sz. */
	s.sz = sum->sz;
	memcpy(sum, &s, sum->sz < sizeof(s) ? sum->sz : sizeof(s));

	if (!cpus)
		return 0;
	c = nr_cpus < ks.nr_cpus ? nr_cpus : ks.nr_cpus;
	memcpy(cpus, m->cpu_stats, c * sizeof(*cpus));
	return (int)c;
}

HFTMON_API int hftmon_set_spike_threshold(struct hftmon *m,
					  uint64_t threshold_ns)
{
	__u64 ns = threshold_ns;

	if (!m)
		return -EINVAL;
	return dev_ioctl_log(m, HFTMON_IOC_SET_SPIKE_THRESHOLD, &ns);
}

/* One pass into the aggregator alone, for hftmon_wait_spike(). */
int hftmon_drain_into_agg(struct hftmon *m)
{
	long n;

	if (m->thread_running)
		return -EBUSY;
	n = drain_rings(m, NULL, NULL);
	return n > INT_MAX ? INT_MAX : (int)n;
}
