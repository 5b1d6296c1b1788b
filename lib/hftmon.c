// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libhftmon: the handle over /dev/hftmon (see <hftmon.h>). Opening reads
 * the module's capabilities; configuring allocates the kernel's per-CPU
 * rings and maps them all (every buffer the drain needs exists from then
 * on, so draining never allocates); draining walks the rings with the
 * shared reader of ring.c. Every system call goes through sys.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hftmon.h"
#include "internal.h"
#include "ring.h"
#include "sys.h"

struct hftmon_ring {
	void *map; /* NULL: not mapped */
	struct hftmon_ring_reader rd;
};

/* What the readers of earlier configurations saw, kept across reconfigures. */
struct hftmon_reader_totals {
	__u64 delivered;
	__u64 seq_gaps;
	__u64 bad_records;
};

struct hftmon {
	int fd;
	hftmon_log_fn log;
	void *log_ctx;
	struct hftmon_info info;
	struct hftmon_cpu_stats *cpu_stats; /* nr_cpu_ids, for GET_STATS */
	struct hftmon_ring *rings; /* nr_rings, while configured */
	unsigned int nr_rings;
	size_t ring_mmap_size;
	bool configured;
	bool running;
	unsigned int read_cursor; /* ring read_records resumes at */
	struct hftmon_reader_totals retired;
};

static void log_msg(hftmon_log_fn log, void *ctx, enum hftmon_log_level level,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void log_msg(hftmon_log_fn log, void *ctx, enum hftmon_log_level level,
		    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log(ctx, level, msg);
}

#define pr_err(m, ...) \
	log_msg((m)->log, (m)->log_ctx, HFTMON_LOG_ERROR, __VA_ARGS__)
#define pr_warn(m, ...) \
	log_msg((m)->log, (m)->log_ctx, HFTMON_LOG_WARN, __VA_ARGS__)
#define pr_debug(m, ...) \
	log_msg((m)->log, (m)->log_ctx, HFTMON_LOG_DEBUG, __VA_ARGS__)

/*
 * Options structs begin with their size (like copy_struct_from_user): a
 * shorter caller gets the remaining fields zeroed, a longer one must have
 * zeros in what this library does not know (-E2BIG otherwise).
 */
static int copy_opts(void *dst, size_t dst_size, const void *src, size_t src_sz)
{
	const unsigned char *bytes = src;
	size_t i;

	memset(dst, 0, dst_size);
	if (!src)
		return 0;
	if (src_sz < sizeof(size_t))
		return -EINVAL;
	for (i = dst_size; i < src_sz; i++)
		if (bytes[i])
			return -E2BIG;
	memcpy(dst, src, src_sz < dst_size ? src_sz : dst_size);
	return 0;
}

/* ioctl returning 0 or -errno. */
static int dev_ioctl(struct hftmon *m, unsigned long cmd, void *arg)
{
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
	err = copy_opts(&o, sizeof(o), opts, opts ? opts->sz : 0);
	if (err)
		return err;
	device = o.device ? o.device : HFTMON_DEVICE;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->log = o.log;
	m->log_ctx = o.log_ctx;

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
}

HFTMON_API void hftmon_close(struct hftmon *m)
{
	if (!m)
		return;
	if (m->running && dev_ioctl_log(m, HFTMON_IOC_STOP, NULL) == 0)
		m->running = false;
	unmap_rings(m);
	if (hftmon_sys->close(m->fd))
		pr_warn(m, "close: %s", strerror(errno));
	free(m->cpu_stats);
	free(m);
}

HFTMON_API int hftmon_get_info(struct hftmon *m, struct hftmon_info *info)
{
	if (!m || !info)
		return -EINVAL;
	*info = m->info;
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
		if (src == HFTMON_SRC_NUMA_BALANCING)
			return "NUMA balancing is off or there is a single node";
		return "this machine does not support it";
	case -ENOSYS:
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
	if (c->events & ~(uint64_t)HFTMON_EV_SCHED_ALL) {
		pr_err(m, "unknown event bits %#llx",
		       (unsigned long long)(c->events &
					    ~(uint64_t)HFTMON_EV_SCHED_ALL));
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
	if (c->nr_cpu_affinity || c->realtime_priority) {
		pr_err(m,
		       "cpu_affinity/realtime_priority apply to the drain thread, which this library version does not have yet: drain from your own thread and set its affinity and priority there");
		return -EOPNOTSUPP;
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

HFTMON_API int hftmon_configure(struct hftmon *m,
				const struct hftmon_monitor_config *cfg)
{
	struct hftmon_monitor_config c;
	struct hftmon_config kc;
	unsigned int nr;
	int err;

	if (!m)
		return -EINVAL;
	err = copy_opts(&c, sizeof(c), cfg, cfg ? cfg->sz : 0);
	if (err)
		return err;
	err = check_config(m, &c);
	if (err)
		return err;
	if (m->running) {
		pr_err(m, "configure while running: stop first");
		return -EBUSY;
	}

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
	kc.sample_interval_ns = (__u64)c.sampling_interval_us * 1000;
	err = dev_ioctl_log(m, HFTMON_IOC_CONFIGURE, &kc);
	if (err)
		goto err_free;
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
			__u32 flags)
{
	struct hftmon_attach a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.pid = pid;
	a.flags = flags;
	return dev_ioctl(m, cmd, &a);
}

HFTMON_API int hftmon_attach_process(struct hftmon *m, pid_t pid,
				     const struct hftmon_attach_opts *opts)
{
	struct hftmon_attach_opts o;
	__u32 flags = 0;
	int err;

	if (!m || pid <= 0)
		return -EINVAL;
	err = copy_opts(&o, sizeof(o), opts, opts ? opts->sz : 0);
	if (err)
		return err;
	if (!m->configured) {
		pr_err(m, "attach pid %d before configure", (int)pid);
		return -EINVAL;
	}
	if (o.track_cache)
		flags |= HFTMON_ATTACH_CACHE;
	if (o.track_numa)
		flags |= HFTMON_ATTACH_NUMA;
	if (o.kernel_stacks)
		flags |= HFTMON_ATTACH_KSTACK;
	if (o.user_stacks)
		flags |= HFTMON_ATTACH_USTACK;
	err = attach_ioctl(m, HFTMON_IOC_ATTACH, pid, flags);
	if (err)
		pr_err(m, "attach pid %d: %s", (int)pid, strerror(-err));
	return err;
}

HFTMON_API int hftmon_detach_process(struct hftmon *m, pid_t pid)
{
	int err;

	if (!m || pid <= 0)
		return -EINVAL;
	err = attach_ioctl(m, HFTMON_IOC_DETACH, pid, 0);
	if (err)
		pr_err(m, "detach pid %d: %s", (int)pid, strerror(-err));
	return err;
}

HFTMON_API int hftmon_start(struct hftmon *m)
{
	int err;

	if (!m)
		return -EINVAL;
	if (!m->configured) {
		pr_err(m, "start before configure");
		return -EINVAL;
	}
	err = dev_ioctl_log(m, HFTMON_IOC_START, NULL);
	if (!err)
		m->running = true;
	return err;
}

HFTMON_API int hftmon_stop(struct hftmon *m)
{
	int err;

	if (!m)
		return -EINVAL;
	err = dev_ioctl_log(m, HFTMON_IOC_STOP, NULL);
	if (!err)
		m->running = false;
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

HFTMON_API int hftmon_drain(struct hftmon *m, hftmon_record_fn fn, void *ctx)
{
	unsigned int cpu;
	long total = 0;

	if (!m || !fn)
		return -EINVAL;
	if (!m->configured)
		return -EINVAL;
	for (cpu = 0; cpu < m->nr_rings; cpu++) {
		struct hftmon_ring_reader *rd = &m->rings[cpu].rd;
		__u64 bad = rd->bad_records;
		bool stopped;

		if (!m->rings[cpu].map)
			continue;

		total += hftmon_ring_drain(rd, fn, ctx, &stopped);
		/* Stopped: records lost after the last one written show too. */
		if (!stopped && !m->running)
			hftmon_ring_settle(rd);
		note_bad(m, cpu, bad);
		if (stopped || total >= INT_MAX)
			break;
	}
	return total > INT_MAX ? INT_MAX : (int)total;
}

/* Copies the records of one ring into buf; stops at the first that does not fit. */
static size_t read_ring(struct hftmon_ring_reader *rd, unsigned char *buf,
			size_t len, bool *full)
{
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
		memcpy(buf + copied, rec, rec->size);
		copied += rec->size;
		hftmon_ring_consume(rd);
	}
	hftmon_ring_release(rd);
	return copied;
}

HFTMON_API ssize_t hftmon_read_records(struct hftmon *m, void *buf, size_t len)
{
	size_t copied = 0;
	unsigned int i;

	if (!m || (!buf && len))
		return -EINVAL;
	if (!m->configured)
		return -EINVAL;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	for (i = 0; i < m->nr_rings; i++) {
		unsigned int cpu = (m->read_cursor + i) % m->nr_rings;
		struct hftmon_ring_reader *rd = &m->rings[cpu].rd;
		__u64 bad = rd->bad_records;
		bool full;

		if (!m->rings[cpu].map)
			continue;

		copied += read_ring(rd, (unsigned char *)buf + copied,
				    len - copied, &full);
		if (!full && !m->running)
			hftmon_ring_settle(rd);
		note_bad(m, cpu, bad);
		if (full) {
			/* Nothing fits: the same record is next, for a bigger buf. */
			if (!copied)
				return -ENOSPC;
			/* Buffer full: the next call starts with the next ring. */
			m->read_cursor = (cpu + 1) % m->nr_rings;
			return (ssize_t)copied;
		}
	}
	return (ssize_t)copied;
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
	err = dev_ioctl_log(m, HFTMON_IOC_GET_STATS, &ks);
	if (err)
		return err;
	if (ks.nr_cpus > m->info.nr_cpu_ids) {
		pr_err(m, "GET_STATS filled %u CPUs of %u", ks.nr_cpus,
		       m->info.nr_cpu_ids);
		return -EPROTO;
	}

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
	for (i = 0; i < m->nr_rings; i++) {
		s.delivered += m->rings[i].rd.delivered;
		s.seq_gaps += m->rings[i].rd.seq_gaps;
		s.bad_records += m->rings[i].rd.bad_records;
	}
	s.nr_procs = ks.nr_procs;
	s.running = ks.running != 0;
	s.start_ns = ks.start_ns;
	s.stop_ns = ks.stop_ns;
	m->running = s.running;

	/* Fill as much as the caller's struct has room for, keeping its sz. */
	s.sz = sum->sz;
	memcpy(sum, &s, sum->sz < sizeof(s) ? sum->sz : sizeof(s));

	if (!cpus)
		return 0;
	c = nr_cpus < ks.nr_cpus ? nr_cpus : ks.nr_cpus;
	memcpy(cpus, m->cpu_stats, c * sizeof(*cpus));
	return (int)c;
}
