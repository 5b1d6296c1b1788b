// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The NUMA heatmap at cache-line resolution (issue 9 item 5): sampled
 * data addresses of the tracked threads' loads, from the CPU's own
 * address sampling, read by the library with perf_event_open() (the
 * module stays vendor-neutral and is not involved):
 *
 * - AMD IBS op, where the kernel registers the ibs_op PMU (its type from
 *   sysfs; cnt_ctl set where its format has it, so that one op in
 *   numa_line_period dispatched ops is tagged, not one per cycles; the
 *   period rounded up to a multiple of 16, which the kernel requires). The
 *   kernel fills ADDR and DATA_SRC for it from 6.1 on; ops that are no
 *   load or store carry no address and are counted as skipped.
 * - Intel PEBS load latency, MEM_TRANS_RETIRED:LOAD_LATENCY with its
 *   ldlat threshold (config1) and precise_ip 2, encoded by libpfm4 for
 *   this CPU; where the kernel's sysfs lists cpu/events/mem-loads-aux
 *   (Sapphire Rapids), the kernel refuses the sampling event unless that
 *   auxiliary event leads its group (-ENODATA), so it is opened first.
 *
 * One event per thread of every attached process (pid = tid, cpu -1),
 * opened at start (or at attach while running), with inherit, so that
 * threads (and processes) those threads create later are sampled too:
 * the kernel sends an inherited event's samples to its parent's ring.
 * Sample times are CLOCK_MONOTONIC (use_clockid), as the module's.
 *
 * Each ring is drained with the module's rings (hftmon_drain(), or the
 * drain thread's pass, under its lock): every PERF_RECORD_SAMPLE gives
 * the 64-byte line (ADDR & ~63), the thread, the time, and the node of
 * the sampling CPU (PERF_SAMPLE_CPU, mapped by the topology read at
 * configure). The node of the memory comes from move_pages(pid, n,
 * pages, NULL, status, 0), batched by process at the drain (one system
 * call per HFTMON_LINE_BATCH samples): the node where each page is when
 * the drain runs, milliseconds after the sample, which a migration in
 * between makes stale (rare, and the balancer's own record says when).
 * DATA_SRC's remote bit was not used for it: it is set only for loads
 * that DRAM or a cache of another node served (every hit in this CPU's
 * caches has none), and it names no node; with more than two nodes a
 * "remote" is not a row of the heatmap. A page not present any more
 * (unmapped, or freed) is node unknown. PERF_RECORD_LOST and
 * PERF_RECORD_LOST_SAMPLES are added up, never dropped silently.
 *
 * Where no event exists (every VM: no PMU) or the kernel refuses it, the
 * query returns -EOPNOTSUPP and the reason names the event tried and the
 * kernel's errno: found at configure by opening the event on the caller,
 * or at start on the first thread. On x86 without either, a precise
 * cycles sample is asked too, so that the reason tells a CPU without a
 * PMU (the kernel's errno) from libpfm4 missing. Other architectures
 * have neither PEBS nor IBS: the reason says so, and whether the kernel
 * has an Arm SPE PMU, which hftmon does not read (not tested: the unit
 * tests run on x86).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "handle.h"
#include "numabw.h"
#include "numaline.h"
#include "ring.h"

static int libc_perf_open(struct perf_event_attr *attr, pid_t tid, int group)
{
	return (int)syscall(SYS_perf_event_open, attr, tid, -1, group,
			    PERF_FLAG_FD_CLOEXEC);
}

static void *libc_mmap(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

static long libc_move_pages(pid_t pid, unsigned long n, void **pages,
			    int *status)
{
	return syscall(SYS_move_pages, pid, n, pages, NULL, status, 0);
}

static const struct hftmon_line_ops libc_line_ops = {
	.perf_open = libc_perf_open,
	.mmap = libc_mmap,
	.munmap = munmap,
	.close = close,
	.move_pages = libc_move_pages,
};

const struct hftmon_line_ops *hftmon_line_ops = &libc_line_ops;

void hftmon_line_set_ops(const struct hftmon_line_ops *ops)
{
	hftmon_line_ops = ops ? ops : &libc_line_ops;
}

/* "ENOENT": the errno's name, for reasons a person reads. */
static const char *errname(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "an unnamed errno";
}

/* "config:19" of the PMU's format file for term: its bit, or -1. */
static int format_bit(const char *pmu, const char *term)
{
	char file[64], buf[64];
	unsigned int bit;

	snprintf(file, sizeof(file), "format/%s", term);
	if (hftmon_pmu_sysfs_file(pmu, file, buf, sizeof(buf)) ||
	    sscanf(buf, "config:%u", &bit) != 1 || bit > 63 ||
	    strchr(buf, '-'))
		return -1;
	return (int)bit;
}

/* Opens l's event for tid (0: the caller); the sampling fd, or -errno. */
static int open_event(struct hftmon_numa_line *l, pid_t tid, bool disabled,
		      int *aux_fd)
{
	struct perf_event_attr a = l->attr;
	int fd, err;

	*aux_fd = -1;
	if (l->aux) {
		struct perf_event_attr x = {
			.size = sizeof(x), .type = l->aux_type,
			.config = l->aux_config, .disabled = disabled,
			.inherit = 1, .exclude_kernel = 1, .exclude_hv = 1,
		};

		*aux_fd = hftmon_line_ops->perf_open(&x, tid, -1);
		if (*aux_fd < 0)
			return -errno;
	}
	a.disabled = disabled;
	fd = hftmon_line_ops->perf_open(&a, tid, *aux_fd);
	if (fd < 0) {
		err = -errno;
		if (*aux_fd >= 0)
			hftmon_line_ops->close(*aux_fd);
		*aux_fd = -1;
		return err;
	}
	return fd;
}

/* The sampling attr for l's event, with period; the rest set by the caller. */
static void base_attr(struct perf_event_attr *a, uint32_t period)
{
	a->size = sizeof(*a);
	a->sample_period = period;
	a->sample_type = HFTMON_LINE_SAMPLE_TYPE;
	a->inherit = 1;
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
}

/* The kernel's word on the event resolved: 0, or -EOPNOTSUPP and why. */
static int try_event(struct hftmon_numa_line *l)
{
	int aux, fd = open_event(l, 0, true, &aux);

	/*
	 * An IBS that takes no exclude_kernel (EINVAL): sampled without it,
	 * the samples of kernel addresses skipped (take_sample()).
	 */
	if (fd == -EINVAL && l->ibs) {
		l->attr.exclude_kernel = 0;
		fd = open_event(l, 0, true, &aux);
	}
	if (fd < 0) {
		snprintf(l->why, sizeof(l->why),
			 "the kernel refused %s: %s (%s)%s", l->event,
			 strerror(-fd), errname(-fd),
			 fd == -EACCES || fd == -EPERM ?
				 ": allow it with CAP_PERFMON or kernel.perf_event_paranoid <= 1" :
				 "");
		return -EOPNOTSUPP;
	}
	hftmon_line_ops->close(fd);
	if (aux >= 0)
		hftmon_line_ops->close(aux);
	return 0;
}

#if defined(__x86_64__) || defined(__i386__)
/*
 * Neither IBS nor PEBS load latency named here: why, with what the
 * kernel says of precise sampling at all (cycles:p), which tells "no PMU"
 * (a VM) from "libpfm4 could not name Intel's event".
 */
static void no_event(struct hftmon_numa_line *l, int pfm_err,
		     const char *pfm_why)
{
	struct perf_event_attr a = {
		.size = sizeof(a), .type = PERF_TYPE_HARDWARE,
		.config = PERF_COUNT_HW_CPU_CYCLES, .sample_period = 100003,
		.sample_type = HFTMON_LINE_SAMPLE_TYPE, .precise_ip = 1,
		.disabled = 1, .exclude_kernel = 1, .exclude_hv = 1,
	};
	int fd = hftmon_line_ops->perf_open(&a, 0, -1), err = errno;

	if (fd >= 0) {
		hftmon_line_ops->close(fd);
		if (pfm_err == -EOPNOTSUPP)
			snprintf(l->why, sizeof(l->why),
				 "no libpfm4 to name Intel's PEBS load-latency event MEM_TRANS_RETIRED:LOAD_LATENCY (%s), and no AMD ibs_op PMU: install Debian's libpfm4",
				 pfm_why);
		else
			snprintf(l->why, sizeof(l->why),
				 "this CPU has no PEBS/IBS load sampling: no ibs_op PMU in %s, and %s",
				 hftmon_pmu_dir, pfm_why);
		return;
	}
	snprintf(l->why, sizeof(l->why),
		 "this CPU has no PEBS/IBS load sampling: no ibs_op PMU in %s, %s, and the kernel refuses even a precise cycles sample (cycles:p): %s (%s)",
		 hftmon_pmu_dir,
		 pfm_err == -EOPNOTSUPP ?
			 "no libpfm4 to name MEM_TRANS_RETIRED:LOAD_LATENCY" :
			 "libpfm4 names no MEM_TRANS_RETIRED:LOAD_LATENCY here",
		 strerror(err), errname(err));
}
#endif

/* Which event samples load addresses here, and whether the kernel takes it. */
static int resolve(struct hftmon_numa_line *l, uint32_t period, uint32_t ldlat)
{
	char buf[64], name[96], why[160];
	int bit, err;

	if (!hftmon_pmu_sysfs_file("ibs_op", "type", buf, sizeof(buf))) {
		/* IBS counts in 16s: perf_ibs_init() refuses the low 4 bits. */
		period = (period + 15) & ~15u;
		memset(&l->attr, 0, sizeof(l->attr));
		base_attr(&l->attr, period);
		l->attr.type = (uint32_t)strtoul(buf, NULL, 10);
		bit = format_bit("ibs_op", "cnt_ctl");
		if (bit >= 0)
			l->attr.config = 1ull << bit;
		l->ibs = true;
		snprintf(l->source, sizeof(l->source), "AMD IBS op samples");
		snprintf(l->event, sizeof(l->event),
			 "ibs_op (type %u%s), period %u ops", l->attr.type,
			 bit >= 0 ? ", cnt_ctl=1" : "", period);
		return try_event(l);
	}
	snprintf(name, sizeof(name),
		 "MEM_TRANS_RETIRED:LOAD_LATENCY:ldlat=%u:precise=2", ldlat);
#if defined(__x86_64__) || defined(__i386__)
	err = hftmon_pfm_encode(name, &l->attr, why, sizeof(why));
	if (err) {
		no_event(l, err, why);
		return -EOPNOTSUPP;
	}
#else
	/* PEBS and IBS are x86's: not a question for libpfm4 here. */
	(void)err;
	(void)why;
	snprintf(l->why, sizeof(l->why),
		 "this CPU has no PEBS/IBS load sampling (%s is x86's)%s",
		 name, hftmon_pmu_sysfs_file("arm_spe_0", "type", buf,
					     sizeof(buf)) ?
			 ", nor an Arm SPE PMU (no arm_spe_0 in sysfs)" :
			 "; its Arm SPE (arm_spe_0) is not read by hftmon");
	return -EOPNOTSUPP;
#endif
	base_attr(&l->attr, period);
	if (!hftmon_pmu_sysfs_event("cpu", "mem-loads-aux", &l->aux_config)) {
		l->aux = true;
		l->aux_type = PERF_TYPE_RAW;
	}
	snprintf(l->source, sizeof(l->source), "PEBS load latency samples");
	snprintf(l->event, sizeof(l->event),
		 "MEM_TRANS_RETIRED:LOAD_LATENCY ldlat %u, period %u%s", ldlat,
		 period, l->aux ? ", led by mem-loads-aux" : "");
	return try_event(l);
}

int hftmon_numa_line_setup(struct hftmon *m, uint32_t period, uint32_t ldlat,
			   uint32_t history)
{
	struct hftmon_numa_line *l;

	hftmon_numa_line_free(m);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cap = history;
	l->hist = calloc(history, sizeof(*l->hist));
	l->sort = calloc(history, sizeof(*l->sort));
	m->line = l;
	if (!l->hist || !l->sort) {
		hftmon_numa_line_free(m);
		return -ENOMEM;
	}
	l->map_len = (size_t)(HFTMON_LINE_RING_PAGES + 1) * m->info.page_size;
	l->status = resolve(l, period, ldlat ? ldlat : 30);
	if (l->status)
		pr_info(m, "NUMA cache-line heatmap unsupported: %s", l->why);
	else
		snprintf(l->why, sizeof(l->why), "%s: %s", l->source, l->event);
	return 0;
}

static void close_event(struct hftmon_line_event *e, size_t len)
{
	if (e->map)
		hftmon_line_ops->munmap(e->map, len);
	hftmon_line_ops->close(e->fd);
	if (e->aux_fd >= 0)
		hftmon_line_ops->close(e->aux_fd);
	memset(e, 0, sizeof(*e));
}

static void close_all(struct hftmon_numa_line *l)
{
	unsigned int i;

	for (i = 0; i < l->nr_ev; i++)
		close_event(&l->ev[i], l->map_len);
	l->nr_ev = 0;
}

void hftmon_numa_line_free(struct hftmon *m)
{
	struct hftmon_numa_line *l = m->line;

	if (!l)
		return;
	close_all(l);
	free(l->hist);
	free(l->sort);
	free(l);
	m->line = NULL;
}

/*
 * One thread: its event and ring. A refusal of the session's first event
 * makes the heatmap unsupported, with the kernel's errno; one thread that
 * exited in between (ESRCH) is no refusal.
 */
static void open_thread(struct hftmon *m, pid_t pid, pid_t tid)
{
	struct hftmon_numa_line *l = m->line;
	struct hftmon_line_event *e;
	int fd, aux, err;
	void *map;

	if (l->nr_ev == HFTMON_LINE_MAX_EVENTS) {
		if (!l->unsampled++)
			pr_warn(m, "NUMA cache-line sampling: more than %d threads: tid %d and later ones not sampled",
				HFTMON_LINE_MAX_EVENTS, (int)tid);
		return;
	}
	fd = open_event(l, tid, false, &aux);
	if (fd < 0) {
		err = -fd;
		if (err == ESRCH)
			return;
		goto refused;
	}
	map = hftmon_line_ops->mmap(fd, l->map_len);
	if (map == MAP_FAILED) {
		err = errno;
		hftmon_line_ops->close(fd);
		if (aux >= 0)
			hftmon_line_ops->close(aux);
		if (!l->nr_ev) {
			l->status = -EOPNOTSUPP;
			snprintf(l->why, sizeof(l->why),
				 "mapping the ring of %s for tid %d failed: %s (%s)%s",
				 l->event, (int)tid, strerror(err), errname(err),
				 err == EPERM ? ": raise kernel.perf_event_mlock_kb or give CAP_IPC_LOCK" : "");
			pr_err(m, "NUMA cache-line sampling: %s", l->why);
		} else {
			l->unsampled++;
		}
		return;
	}
	e = &l->ev[l->nr_ev++];
	e->fd = fd;
	e->aux_fd = aux;
	e->pid = pid;
	e->tid = tid;
	e->map = map;
	return;
refused:
	if (l->nr_ev) {
		l->unsampled++;
		pr_warn(m, "NUMA cache-line sampling: tid %d not sampled: %s", (int)tid,
			strerror(err));
		return;
	}
	l->status = -EOPNOTSUPP;
	snprintf(l->why, sizeof(l->why),
		 "the kernel refused %s for tid %d: %s (%s)", l->event,
		 (int)tid, strerror(err), errname(err));
	pr_err(m, "NUMA cache-line sampling: %s", l->why);
}

void hftmon_numa_line_attach(struct hftmon *m, pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	if (!m->line || m->line->status)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return; /* gone already: nothing to sample */
	while ((d = readdir(dir)) && !m->line->status) {
		char *end;
		long tid = strtol(d->d_name, &end, 10);

		if (end != d->d_name && !*end && tid > 0)
			open_thread(m, pid, (pid_t)tid);
	}
	closedir(dir);
	if (m->line->status)
		close_all(m->line);
}

void hftmon_numa_line_start(struct hftmon *m)
{
	unsigned int i;

	if (!m->line || m->line->status)
		return;
	for (i = 0; i < m->nr_attached; i++)
		hftmon_numa_line_attach(m, m->attached[i]);
}

/* The waiting samples' nodes (one move_pages()), into the history. */
static void flush(struct hftmon *m, struct hftmon_numa_line *l)
{
	unsigned int i;
	long r;

	if (!l->nr_pend)
		return;
	r = hftmon_line_ops->move_pages(l->pend[0].pid, l->nr_pend, l->pages,
					l->node);
	/* Counted as node unknown; said once (EPERM: no ptrace access). */
	if (r < 0 && !l->move_failed++)
		pr_warn(m, "NUMA cache-line samples of pid %d: move_pages: %s (%s): their memory's node is unknown",
			(int)l->pend[0].pid, strerror(errno), errname(errno));
	for (i = 0; i < l->nr_pend; i++) {
		struct hftmon_agg_numa_access *x = &l->pend[i];
		int nid = r < 0 ? -1 : l->node[i];

		x->mem_node = nid >= 0 && nid < HFTMON_NUMA_MAX_NODES ?
				      (int16_t)nid : -1;
		l->hist[l->total++ % l->cap] = *x;
	}
	l->nr_pend = 0;
}

/* The fields of HFTMON_LINE_SAMPLE_TYPE, in the kernel's order. */
struct line_sample {
	struct perf_event_header hdr;
	uint32_t pid, tid;		/* PERF_SAMPLE_TID */
	uint64_t time;			/* PERF_SAMPLE_TIME */
	uint64_t addr;			/* PERF_SAMPLE_ADDR */
	uint32_t cpu, res;		/* PERF_SAMPLE_CPU */
	uint64_t data_src;		/* PERF_SAMPLE_DATA_SRC */
};

static void take_sample(struct hftmon *m, struct hftmon_numa_line *l,
			const struct line_sample *s)
{
	const struct hftmon_agg_numa *n = m->agg.numa;
	union perf_mem_data_src ds = { .val = s->data_src };
	struct hftmon_agg_numa_access *x;

	/* Kernel addresses (IBS without exclude_kernel), non-memory ops. */
	if (!s->addr || (int64_t)s->addr < 0 ||
	    !(ds.mem_op & (PERF_MEM_OP_LOAD | PERF_MEM_OP_STORE))) {
		l->skipped++;
		return;
	}
	if (l->nr_pend &&
	    (l->nr_pend == HFTMON_LINE_BATCH || l->pend[0].pid != (int32_t)s->pid))
		flush(m, l);
	x = &l->pend[l->nr_pend];
	l->pages[l->nr_pend++] = (void *)(uintptr_t)s->addr;
	x->time_ns = s->time;
	x->addr = s->addr & ~(uint64_t)(HFTMON_LINE_SIZE - 1);
	x->pid = (int32_t)s->pid;
	x->tid = (int32_t)s->tid;
	x->pages = 1;
	x->mem_node = -1;
	x->cpu_node = n && s->cpu < n->nr_cpus ? n->cpu_node[s->cpu] : -1;
}

static void take_record(struct hftmon *m, struct hftmon_numa_line *l,
			const unsigned char *rec, size_t size)
{
	struct perf_event_header h;
	uint64_t v[2];

	memcpy(&h, rec, sizeof(h));
	switch (h.type) {
	case PERF_RECORD_SAMPLE:
		if (size < sizeof(struct line_sample)) {
			l->bad++;
			return;
		}
		{
			struct line_sample s;

			memcpy(&s, rec, sizeof(s));
			take_sample(m, l, &s);
		}
		return;
	case PERF_RECORD_LOST: /* id, lost */
		if (size >= sizeof(h) + 16) {
			memcpy(v, rec + sizeof(h), 16);
			l->lost += v[1];
		} else {
			l->bad++;
		}
		return;
	case PERF_RECORD_LOST_SAMPLES: /* lost */
		if (size >= sizeof(h) + 8) {
			memcpy(v, rec + sizeof(h), 8);
			l->lost += v[0];
		} else {
			l->bad++;
		}
		return;
	case PERF_RECORD_THROTTLE:
		l->throttled++;
		return;
	default:
		l->other++;
	}
}

/* n bytes at offset off of a ring of size bytes, across its end. */
static void ring_copy(void *dst, const unsigned char *data, uint64_t size,
		      uint64_t off, size_t n)
{
	uint64_t o = off % size;
	size_t first = n < size - o ? n : (size_t)(size - o);

	memcpy(dst, data + o, first);
	memcpy((unsigned char *)dst + first, data, n - first);
}

void hftmon_numa_line_ring(struct hftmon *m, void *map)
{
	struct hftmon_numa_line *l = m->line;
	struct perf_event_mmap_page *pg = map;
	const unsigned char *data = (const unsigned char *)map + pg->data_offset;
	uint64_t size = pg->data_size;
	uint64_t head = hftmon_ring_load_acquire(&pg->data_head);
	uint64_t tail = pg->data_tail;

	/* More than the ring between them: nothing there can be walked. */
	if (head - tail > size) {
		l->bad++;
		tail = head;
	}
	while (size && head - tail >= sizeof(struct perf_event_header)) {
		struct perf_event_header h;

		ring_copy(&h, data, size, tail, sizeof(h));
		if (h.size < sizeof(h) || h.size > head - tail) {
			l->bad++; /* cannot be walked further: to its head */
			tail = head;
			break;
		}
		l->records++;
		if (h.size <= sizeof(l->rec)) {
			ring_copy(l->rec, data, size, tail, h.size);
			take_record(m, l, l->rec, h.size);
		} else {
			l->other++;
		}
		tail += h.size;
	}
	hftmon_ring_store_release(&pg->data_tail, tail);
	flush(m, l);
}

void hftmon_numa_line_drain(struct hftmon *m)
{
	struct hftmon_numa_line *l = m->line;
	unsigned int i;

	if (!l)
		return;
	for (i = 0; i < l->nr_ev; i++)
		hftmon_numa_line_ring(m, l->ev[i].map);
}

void hftmon_numa_line_stop(struct hftmon *m)
{
	hftmon_lock(m);
	if (m->line) {
		hftmon_numa_line_drain(m);
		close_all(m->line);
	}
	hftmon_unlock(m);
}

HFTMON_API int hftmon_numa_cacheline_status(struct hftmon *m, char *why,
					    size_t len)
{
	int err;

	if (!m || (len && !why))
		return -EINVAL;
	hftmon_lock(m);
	if (!m->line) {
		err = -ENODATA;
		if (len)
			snprintf(why, len, "configured without numa_line_period: no cache-line sampling asked for");
	} else {
		err = m->line->status;
		if (len)
			snprintf(why, len, "%s", m->line->why);
	}
	hftmon_unlock(m);
	return err;
}
