// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * footprint: what hftmon_configure() with the default configuration (and
 * with every table: interruption events and spikes) costs
 * a trading process, measured from outside the library: every byte the
 * library asks the heap for while it configures (malloc/calloc/realloc/
 * aligned allocations interposed here and sized with malloc_usable_size),
 * and the growth of the process's VmLck and VmRSS (/proc/self/status)
 * under mlockall(MCL_CURRENT | MCL_FUTURE), which trading processes use
 * and which makes every page the library reserves resident. The fake
 * device (fake_sys.c) stands in for the module: its ring memory (what the
 * kernel would map) is excluded from the heap count by pausing the count
 * inside its ioctls, and subtracted from VmLck/VmRSS by its mapping size.
 *
 * Built without sanitizers (their shadow memory would swamp the figures)
 * and run by make test-unit. Prints the figures; exits 1 if the default
 * footprint reaches FOOTPRINT_LIMIT, 0 otherwise. "footprint --raw-only"
 * measures a drain-only configuration too.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fake_sys.h"
#include "hftmon.h"
#include "sys.h"

#define FOOTPRINT_LIMIT (16u << 20)
#define MODULE_DEFAULT_RING_PAGES 64u /* the module's default_ring_pages */

/* ---- heap accounting -------------------------------------------------- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nr, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static bool counting;
static long long live_bytes, peak_bytes;
static unsigned long long nr_allocs;

static void count_alloc(void *p)
{
	if (!p || !counting)
		return;
	live_bytes += (long long)malloc_usable_size(p);
	nr_allocs++;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
}

static void count_free(void *p)
{
	if (p && counting)
		live_bytes -= (long long)malloc_usable_size(p);
}

void *malloc(size_t size)
{
	void *p = __libc_malloc(size);

	count_alloc(p);
	return p;
}

void *calloc(size_t nr, size_t size)
{
	void *p = __libc_calloc(nr, size);

	count_alloc(p);
	return p;
}

void *realloc(void *old, size_t size)
{
	void *p;

	p = __libc_realloc(old, size);
	if (p || !size)
		count_free(old);
	count_alloc(p);
	return p;
}

void free(void *p)
{
	count_free(p);
	__libc_free(p);
}

void *aligned_alloc(size_t align, size_t size)
{
	void *p = __libc_memalign(align, size);

	count_alloc(p);
	return p;
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p = __libc_memalign(align, size);

	if (!p)
		return ENOMEM;
	count_alloc(p);
	*out = p;
	return 0;
}

/* ---- the fake module, with its own allocations not counted ------------ */

static const struct hftmon_sys_ops *fake_ops;

static int counted_ioctl(int fd, unsigned long cmd, void *arg)
{
	bool was = counting;
	int ret;

	counting = false;
	ret = fake_ops->ioctl(fd, cmd, arg);
	counting = was;
	return ret;
}

static int fwd_open(const char *path, int flags)
{
	return fake_ops->open(path, flags);
}

static int fwd_close(int fd)
{
	return fake_ops->close(fd);
}

static void *fwd_mmap(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off)
{
	return fake_ops->mmap(addr, len, prot, flags, fd, off);
}

static int fwd_munmap(void *addr, size_t len)
{
	return fake_ops->munmap(addr, len);
}

static int fwd_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	return fake_ops->poll(fds, nfds, timeout_ms);
}

static const struct hftmon_sys_ops counted_ops = {
	.open = fwd_open,
	.close = fwd_close,
	.ioctl = counted_ioctl,
	.mmap = fwd_mmap,
	.munmap = fwd_munmap,
	.poll = fwd_poll,
};

/* ---- /proc/self/status ---------------------------------------------------- */

/* The "Name:  N kB" line of /proc/self/status, in bytes; -1 if absent. */
static long long status_bytes(const char *name)
{
	char line[256];
	long long kb = -1;
	size_t len = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			kb = strtoll(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static double mib(long long bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

/* One configure, measured. Returns 1 if over the limit, 0 if not. */
static int measure(const char *what, bool locked, bool raw_only,
		   uint64_t events, uint64_t spike_us)
{
	struct hftmon_open_opts oo = { .sz = sizeof(oo), .device = FAKE_DEVICE };
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg) };
	long long lck0, rss0, lck1, rss1, rings;
	struct hftmon *m = NULL;
	int err, over = 0;

	cfg.raw_only = raw_only;
	cfg.events = events;
	cfg.spike_threshold_us = spike_us;
	fake_setup(FAKE_MAX_CPUS);
	fake.info.default_ring_pages = MODULE_DEFAULT_RING_PAGES;
	fake.ring_pages_default = MODULE_DEFAULT_RING_PAGES;
	fake.info.max_ring_pages = 16384;
	fake_ops = hftmon_sys_set_ops(&counted_ops);

	err = hftmon_open(&oo, &m);
	if (err) {
		fprintf(stderr, "footprint: hftmon_open: %s\n", strerror(-err));
		exit(1);
	}
	live_bytes = peak_bytes = 0;
	nr_allocs = 0;
	lck0 = status_bytes("VmLck");
	rss0 = status_bytes("VmRSS");
	counting = true;
	err = hftmon_configure(m, &cfg);
	counting = false;
	lck1 = status_bytes("VmLck");
	rss1 = status_bytes("VmRSS");
	if (err) {
		fprintf(stderr, "footprint: hftmon_configure: %s\n",
			strerror(-err));
		exit(1);
	}
	/* What the module would have mapped: the fake's rings. */
	rings = (long long)fake.ring_mmap_size * FAKE_MAX_CPUS;

	printf("footprint: %s, %u CPUs, rings of %u pages (%.2f MiB of ring mappings, the module's, not counted):\n",
	       what, (unsigned int)FAKE_MAX_CPUS, MODULE_DEFAULT_RING_PAGES,
	       mib(rings));
	printf("  heap: %.2f MiB held after hftmon_configure() (peak %.2f MiB, %llu allocations)\n",
	       mib(live_bytes), mib(peak_bytes), nr_allocs);
	if (peak_bytes >= FOOTPRINT_LIMIT)
		over = 1;
	if (locked && lck0 >= 0) {
		printf("  under mlockall: VmLck +%.2f MiB, VmRSS +%.2f MiB (rings excluded)\n",
		       mib(lck1 - lck0 - rings), mib(rss1 - rss0 - rings));
		if (lck1 - lck0 - rings >= FOOTPRINT_LIMIT)
			over = 1;
	}
	hftmon_close(m);
	fake_teardown();
	return over;
}

int main(int argc, char **argv)
{
	bool locked = mlockall(MCL_CURRENT | MCL_FUTURE) == 0;
	int over;

	(void)argv;
	if (!locked)
		printf("footprint: mlockall: %s: heap figures only\n",
		       strerror(errno));
	over = measure("default configuration", locked, false, 0, 0);
	/* Every table the aggregator has: interruptions and spikes too. */
	over |= measure("interruptions and spikes", locked, false,
			HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL, 100);
	if (argc > 1)
		over |= measure("raw_only (no aggregator)", locked, true, 0, 0);
	if (over)
		printf("footprint: FAIL: a configuration reaches %u MiB\n",
		       FOOTPRINT_LIMIT >> 20);
	else
		printf("footprint: ok: under %u MiB\n", FOOTPRINT_LIMIT >> 20);
	return over;
}
