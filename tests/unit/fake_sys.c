// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Fake /dev/hftmon for libhftmon's unit tests (see fake_sys.h). Its checks
 * follow kmod/hftmon_dev.c so that a library bug the real module would
 * reject (CONFIGURE with rings still mapped, a wrong mmap offset) fails
 * here too.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "fake_sys.h"
#include "ring.h"
#include "sys.h"

struct fake_dev fake;

static unsigned int nr_cpus(void)
{
	return fake.info.nr_cpu_ids;
}

static void free_rings(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < FAKE_MAX_CPUS; cpu++) {
		if (fake.maps[cpu])
			ring_map_free(fake.maps[cpu], FAKE_PAGE_SIZE,
				      fake.ring_mmap_size - FAKE_PAGE_SIZE);
		fake.maps[cpu] = NULL;
	}
	fake.configured = false;
	fake.ring_mmap_size = 0;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static int fake_open(const char *path, int flags)
{
	(void)flags;
	if (strcmp(path, FAKE_DEVICE))
		return fail(ENOENT);
	if (fake.open_errno)
		return fail(fake.open_errno);
	fake.open_fds++;
	return FAKE_FD;
}

static int fake_close(int fd)
{
	if (fd != FAKE_FD || !fake.open_fds)
		return fail(EBADF);
	fake.open_fds--;
	/* release(): stop and free, as the module does. */
	fake.running = false;
	fake.nr_procs = 0;
	return 0;
}

static int ioc_configure(struct hftmon_config *cfg)
{
	__u32 pages = cfg->ring_pages ? cfg->ring_pages :
					fake.ring_pages_default;
	unsigned int cpu;

	fake.last_config = *cfg;
	if (cfg->size < sizeof(*cfg) || cfg->flags)
		return fail(EINVAL);
	if (pages && (__u64)cfg->wakeup_bytes > (__u64)pages * FAKE_PAGE_SIZE)
		return fail(EINVAL);
	if (cfg->events & ~(__u64)(HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL |
				   HFTMON_EV_SPIKE | HFTMON_EV_NUMA |
				   HFTMON_EV_PMU | HFTMON_EV_RUNQ))
		return fail(EINVAL);
	/* The module's PMU rules: 1..4 counters iff EV_PMU, with SWITCH. */
	if (cfg->events & HFTMON_EV_PMU ?
		    !cfg->nr_pmu || cfg->nr_pmu > HFTMON_PMU_MAX_COUNTERS ||
			    !(cfg->events & HFTMON_EV_SWITCH) :
		    cfg->nr_pmu != 0)
		return fail(EINVAL);
	/* The spike rules of the uapi: a threshold in range iff spikes. */
	if (cfg->events & HFTMON_EV_SPIKE ?
		    cfg->spike_threshold_ns < HFTMON_SPIKE_THRESHOLD_MIN_NS ||
			    cfg->spike_threshold_ns >
				    HFTMON_SPIKE_THRESHOLD_MAX_NS ||
			    (cfg->events & (HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP)) !=
				    (HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP) :
		    cfg->spike_threshold_ns != 0)
		return fail(EINVAL);
	if (!pages || (pages & (pages - 1)) || pages > fake.info.max_ring_pages)
		return fail(EINVAL);
	/* Sampling: with EV_PMU, 1 us..1 s (the kernel's hrtimers: 1 ns). */
	if (cfg->sample_interval_ns &&
	    (!(cfg->events & HFTMON_EV_PMU) ||
	     cfg->sample_interval_ns < HFTMON_SAMPLE_INTERVAL_MIN_NS ||
	     cfg->sample_interval_ns > HFTMON_SAMPLE_INTERVAL_MAX_NS))
		return fail(EINVAL);
	if (fake.running || fake.nr_mapped)
		return fail(EBUSY);
	free_rings();
	for (cpu = 0; cpu < cfg->nr_pmu; cpu++)
		cfg->pmu[cpu].status = fake.pmu_status[cpu];
	fake.ring_mmap_size = (__u64)(pages + 1) * FAKE_PAGE_SIZE;
	for (cpu = 0; cpu < nr_cpus(); cpu++) {
		if (fake.nodev_cpus & (1u << cpu))
			continue;
		fake.maps[cpu] = ring_map_alloc(FAKE_PAGE_SIZE,
						(__u64)pages * FAKE_PAGE_SIZE);
		if (!fake.maps[cpu]) {
			free_rings();
			return fail(ENOMEM);
		}
		ring_producer_init(&fake.prod[cpu], fake.maps[cpu],
				   FAKE_PAGE_SIZE,
				   (__u64)pages * FAKE_PAGE_SIZE, cpu);
		if (fake.corrupt_ctrl)
			((struct hftmon_ring_ctrl *)fake.maps[cpu])->version =
				99;
	}
	cfg->ring_pages = pages;
	cfg->ring_mmap_size = fake.ring_mmap_size;
	fake.configured = true;
	return 0;
}

static int ioc_get_stats(struct hftmon_stats *st)
{
	struct hftmon_cpu_stats *cs = (void *)(uintptr_t)st->cpus_ptr;
	unsigned int cpu, n = 0;

	if (st->size < sizeof(*st))
		return fail(EINVAL);
	if (st->nr_cpus && st->cpu_stats_size != sizeof(*cs))
		return fail(EINVAL);
	for (cpu = 0; cpu < nr_cpus() && n < st->nr_cpus; cpu++, n++) {
		memset(&cs[n], 0, sizeof(cs[n]));
		cs[n].cpu = cpu;
		cs[n].online = 1;
		if (!fake.configured || !fake.maps[cpu])
			continue;
		cs[n].records = fake.prod[cpu].records;
		memcpy(cs[n].lost, fake.prod[cpu].lost, sizeof(cs[n].lost));
		cs[n].bytes = fake.prod[cpu].head;
	}
	st->nr_cpus = n;
	st->nr_procs = fake.nr_procs;
	st->running = fake.running;
	st->start_ns = fake.start_ns;
	st->stop_ns = fake.stop_ns;
	return 0;
}

static int fake_ioctl(int fd, unsigned long cmd, void *arg)
{
	unsigned int nr = _IOC_NR(cmd);

	if (fd != FAKE_FD || !fake.open_fds)
		return fail(EBADF);
	fake.ioctl_calls++;
	if (nr < FAKE_NR_IOC)
		fake.ioctl_by_nr[nr]++;
	if (fake.fail_cmd && cmd == fake.fail_cmd)
		return fail(fake.fail_errno);

	switch (cmd) {
	case HFTMON_IOC_GET_INFO: {
		struct hftmon_info *info = arg;

		if (info->size < sizeof(*info))
			return fail(EINVAL);
		*info = fake.info;
		return 0;
	}
	case HFTMON_IOC_CONFIGURE:
		return ioc_configure(arg);
	case HFTMON_IOC_ATTACH:
	case HFTMON_IOC_DETACH: {
		struct hftmon_attach *a = arg;

		fake.last_attach = *a;
		if (a->size < sizeof(*a) || a->pid <= 0 ||
		    a->flags & ~HFTMON_ATTACH_KNOWN_FLAGS)
			return fail(EINVAL);
		if (cmd == HFTMON_IOC_DETACH) {
			if (!fake.nr_procs)
				return fail(ENOENT);
			fake.nr_procs--;
		} else {
			fake.nr_procs++;
		}
		return 0;
	}
	case HFTMON_IOC_START:
		if (!fake.configured)
			return fail(EINVAL);
		if (fake.running)
			return fail(EBUSY);
		/* Atomic: a drain thread's poll reads it, as under the module's lock. */
		__atomic_store_n(&fake.running, true, __ATOMIC_RELEASE);
		fake.start_ns = 1000;
		fake.stop_ns = 0;
		if (fake.on_start)
			fake.on_start();
		return 0;
	case HFTMON_IOC_STOP:
		if (!fake.running)
			return fail(EINVAL);
		__atomic_store_n(&fake.running, false, __ATOMIC_RELEASE);
		fake.stop_ns = fake.stop_at_ns ? fake.stop_at_ns : 2000;
		return 0;
	case HFTMON_IOC_GET_STATS:
		return ioc_get_stats(arg);
	case HFTMON_IOC_SET_SPIKE_THRESHOLD: {
		__u64 ns = *(const __u64 *)arg;

		if (!(fake.last_config.events & HFTMON_EV_SPIKE))
			return fail(EOPNOTSUPP);
		if (ns < HFTMON_SPIKE_THRESHOLD_MIN_NS ||
		    ns > HFTMON_SPIKE_THRESHOLD_MAX_NS)
			return fail(EINVAL);
		fake.spike_threshold_ns = ns;
		return 0;
	}
	default:
		return fail(ENOTTY);
	}
}

static void *fake_mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	unsigned int cpu;

	(void)addr;
	(void)prot;
	fake.mmap_calls++;
	if (fd != FAKE_FD || !fake.open_fds) {
		errno = EBADF;
		return MAP_FAILED;
	}
	if (fake.fail_mmap_at && fake.mmap_calls == fake.fail_mmap_at) {
		errno = fake.fail_mmap_errno;
		return MAP_FAILED;
	}
	if (!fake.configured || !(flags & MAP_SHARED) ||
	    len != fake.ring_mmap_size || off < 0 ||
	    (__u64)off % fake.ring_mmap_size) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	cpu = (__u64)off / fake.ring_mmap_size;
	if (cpu >= nr_cpus()) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (!fake.maps[cpu]) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	fake.mapped[cpu]++;
	fake.nr_mapped++;
	return fake.maps[cpu];
}

static int fake_munmap(void *addr, size_t len)
{
	unsigned int cpu;

	for (cpu = 0; cpu < FAKE_MAX_CPUS; cpu++) {
		if (fake.maps[cpu] == addr && fake.mapped[cpu] &&
		    len == fake.ring_mmap_size) {
			fake.mapped[cpu]--;
			fake.nr_mapped--;
			return 0;
		}
	}
	return fail(EINVAL);
}

/* The ring's watermark as the module keeps it (hftmon_ring_alloc). */
static __u64 fake_wakeup_bytes(unsigned int cpu)
{
	const struct hftmon_ring_ctrl *c = fake.maps[cpu];
	__u64 size = c->data_size, wb = fake.last_config.wakeup_bytes;

	return wb ? (wb < size ? wb : size) : size / 4;
}

static short fake_revents(void)
{
	unsigned int cpu;
	short revents = fake.poll_revents;

	if (!revents && fake.configured) {
		for (cpu = 0; cpu < nr_cpus(); cpu++) {
			const struct hftmon_ring_ctrl *c = fake.maps[cpu];
			__u64 avail;

			if (!c)
				continue;
			avail = hftmon_ring_load_acquire(&c->data_head) -
				hftmon_ring_load_acquire(&c->data_tail);
			/* As hftmon_ring_readable(): the watermark while running. */
			if (fake.watermark &&
					    __atomic_load_n(&fake.running,
							    __ATOMIC_ACQUIRE) ?
				    avail >= fake_wakeup_bytes(cpu) :
				    avail != 0)
				revents = POLLIN;
		}
	}
	if (!fake.configured && !revents)
		revents = POLLERR;
	return revents;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Sleeps up to ms (-1: no limit) on the caller's other descriptors (real
 * ones: the drain thread's eventfd) while checking the rings every
 * millisecond, as a wake-up from the module would end the wait.
 */
static void fake_wait(struct pollfd *others, nfds_t nr, int ms)
{
	uint64_t end = ms < 0 ? UINT64_MAX : mono_ms() + (uint64_t)ms;

	for (;;) {
		uint64_t now = mono_ms();
		int slice = 1;
		nfds_t i;

		if (now >= end)
			return;
		if (nr) {
			if (poll(others, nr, slice) > 0)
				return;
		} else {
			struct timespec ts = { .tv_nsec = 1000000 };

			nanosleep(&ts, NULL);
		}
		for (i = 0; i < nr; i++)
			others[i].revents = 0;
		if (fake_revents())
			return;
	}
}

static int fake_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	int ms, ready = 0;
	nfds_t i;

	atomic_fetch_add(&fake.poll_calls, 1);
	if (nfds < 1 || nfds > 2 || fds[0].fd != FAKE_FD)
		return fail(EBADF);
	if (fake.poll_errno)
		return fail(fake.poll_errno);
	for (i = 0; i < nfds; i++)
		fds[i].revents = 0;
	fds[0].revents = fake_revents();
	if (!fds[0].revents && timeout_ms) {
		/*
		 * Nothing yet: wait as the device would. Without the watermark
		 * model, at most 100 ms and "forever" is 10 ms, then look once
		 * more; with it, the whole timeout.
		 */
		ms = fake.watermark ? timeout_ms :
		     timeout_ms < 0 ? 10 : timeout_ms > 100 ? 100 : timeout_ms;
		fake_wait(fds + 1, nfds - 1, ms);
		fds[0].revents = fake_revents();
	}
	for (i = 0; i < nfds; i++)
		ready += fds[i].revents != 0;
	if (ready)
		atomic_fetch_add(&fake.poll_woken, 1);
	return ready;
}

static const struct hftmon_sys_ops fake_ops = {
	.open = fake_open,
	.close = fake_close,
	.ioctl = fake_ioctl,
	.mmap = fake_mmap,
	.munmap = fake_munmap,
	.poll = fake_poll,
};

void fake_setup(unsigned int nr_cpus)
{
	unsigned int i;

	free_rings();
	memset(&fake, 0, sizeof(fake));
	fake.info.size = sizeof(fake.info);
	fake.info.abi_version = HFTMON_ABI_VERSION;
	fake.info.features = HFTMON_FEAT_SCHED_SWITCH |
			     HFTMON_FEAT_SCHED_WAKEUP | HFTMON_FEAT_POLL;
	fake.info.nr_cpu_ids = nr_cpus;
	fake.info.nr_online_cpus = nr_cpus;
	fake.info.nr_nodes = 1;
	fake.info.page_size = FAKE_PAGE_SIZE;
	fake.info.max_ring_pages = 64;
	fake.info.default_ring_pages = 2;
	fake.info.max_procs = 16;
	fake.info.nr_sources = HFTMON_SRC_NR;
	for (i = 0; i < HFTMON_SRC_NR; i++)
		fake.info.source_status[i] = i == HFTMON_SRC_PMU_HW ? -ENOENT :
								      0;
	fake.ring_pages_default = 2;
	hftmon_sys_set_ops(&fake_ops);
}

void fake_teardown(void)
{
	free_rings();
	hftmon_sys_set_ops(NULL);
}

unsigned int fake_ioctls(unsigned long cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	return nr < FAKE_NR_IOC ? fake.ioctl_by_nr[nr] : 0;
}
