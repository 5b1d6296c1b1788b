// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The NUMA heatmap at cache-line resolution (lib/numaline.c), over a
 * fake perf event (hftmon_line_set_ops()): its mmap'd ring is a buffer
 * this test fills with PERF_RECORD_SAMPLE and PERF_RECORD_LOST records
 * laid out as the kernel's perf_event.h describes them for
 * HFTMON_LINE_SAMPLE_TYPE, and move_pages() answers node (addr >> 20) & 1.
 * This tests the resolution of the event, the ring's parser and the
 * aggregation, not the hardware: no machine here has PEBS or IBS.
 *
 * The encodings expected come from the kernel's perf vendor tables in
 * linux-source-6.1 (tools/perf/pmu-events/arch/x86/), not from libpfm4:
 * icelakex and sapphirerapids MEM_TRANS_RETIRED.LOAD_LATENCY_GT_* are
 * EventCode 0xcd UMask 0x01 with the threshold in MSR 0x3F6 (config1),
 * PEBS; the kernel's mem-loads-aux on Sapphire Rapids is event=0x03,
 * umask=0x82 (arch/x86/events/intel/core.c). AMD's IBS op has no
 * encoding: its PMU type and cnt_ctl bit (config:19) come from sysfs.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_sys.h"
#include "handle.h"
#include "numabw.h"
#include "numaline.h"
#include "hftmon.h"

#define DATA_PAGES HFTMON_LINE_RING_PAGES
#define DATA_SIZE (DATA_PAGES * FAKE_PAGE_SIZE)

static struct {
	int open_errno;		/* every perf_open fails with it */
	int open_errno_after;	/* ...from this 1-based call on; 0 = all */
	int mmap_errno;		/* every mmap fails with it */
	int move_errno;		/* every move_pages fails with it */
	unsigned int opens;
	struct perf_event_attr attr[8];
	pid_t tid[8];
	int group[8];
	unsigned int closes, munmaps;
	void *map;		/* the last ring mapped */
	unsigned int moves;	/* move_pages() calls */
	pid_t move_pid;
	unsigned long moved;	/* addresses asked */
} pf;

static int pf_open(struct perf_event_attr *attr, pid_t tid, int group)
{
	unsigned int i = pf.opens++;

	if (i < 8) {
		pf.attr[i] = *attr;
		pf.tid[i] = tid;
		pf.group[i] = group;
	}
	if (pf.open_errno &&
	    (!pf.open_errno_after || pf.opens >= (unsigned)pf.open_errno_after)) {
		errno = pf.open_errno;
		return -1;
	}
	return 3000 + (int)i;
}

static void *pf_mmap(int fd, size_t len)
{
	struct perf_event_mmap_page *pg;

	(void)fd;
	assert_int_equal(len, FAKE_PAGE_SIZE + DATA_SIZE);
	if (pf.mmap_errno) {
		errno = pf.mmap_errno;
		return MAP_FAILED;
	}
	pg = calloc(1, len);
	assert_non_null(pg);
	pg->data_offset = FAKE_PAGE_SIZE;
	pg->data_size = DATA_SIZE;
	pf.map = pg;
	return pg;
}

static int pf_munmap(void *p, size_t len)
{
	(void)len;
	free(p);
	pf.munmaps++;
	return 0;
}

static int pf_close(int fd)
{
	(void)fd;
	pf.closes++;
	return 0;
}

static long pf_move_pages(pid_t pid, unsigned long n, void **pages, int *st)
{
	unsigned long i;

	pf.moves++;
	pf.move_pid = pid;
	pf.moved += n;
	if (pf.move_errno) {
		errno = pf.move_errno;
		return -1;
	}
	for (i = 0; i < n; i++)
		/* 0xf...: a page gone, as the kernel says it */
		st[i] = (uintptr_t)pages[i] >> 28 ? -ENOENT :
			(int)(((uintptr_t)pages[i] >> 20) & 1);
	return 0;
}

static const struct hftmon_line_ops fake_ops = {
	.perf_open = pf_open, .mmap = pf_mmap, .munmap = pf_munmap,
	.close = pf_close, .move_pages = pf_move_pages,
};

static char node_dir[64], pmu_dir[64];

static void force(const char *pmu)
{
	setenv("LIBPFM_FORCE_PMU", pmu, 1);
	hftmon_pfm_reset();
}

static int setup(void **state)
{
	(void)state;
	fake_setup(2);
	fake.info.features |= HFTMON_FEAT_NUMA_BALANCING | HFTMON_FEAT_NUMA_ACCESS;
	memset(&pf, 0, sizeof(pf));
	snprintf(node_dir, sizeof(node_dir), "/tmp/hftmon-lnode-XXXXXX");
	fake_two_nodes(node_dir);
	hftmon_node_dir = node_dir;
	snprintf(pmu_dir, sizeof(pmu_dir), "/tmp/hftmon-lpmu-XXXXXX");
	assert_non_null(mkdtemp(pmu_dir));
	hftmon_pmu_dir = pmu_dir;
	hftmon_line_set_ops(&fake_ops);
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", node_dir, pmu_dir);
	assert_int_equal(system(cmd), 0);
	hftmon_node_dir = "/sys/devices/system/node";
	hftmon_pmu_dir = "/sys/bus/event_source/devices";
	hftmon_line_set_ops(NULL);
	unsetenv("LIBPFM_FORCE_PMU");
	hftmon_pfm_reset();
	return fake_teardown_checked();
}

/* A PMU directory in the fake sysfs, with files "name=content" pairs. */
static void pmu(const char *name, const char *const *files)
{
	char d[256], sub[300];

	snprintf(d, sizeof(d), "%s/%s", pmu_dir, name);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/format", d);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/events", d);
	assert_int_equal(mkdir(sub, 0700), 0);
	for (; *files; files += 2)
		fake_write_file(d, files[0], files[1]);
}

static bool drain_thread; /* the next session drains on its own thread */

/* This process's threads now (a sanitizer's own, the drain thread...). */
static unsigned int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static struct hftmon *session(uint32_t period, uint32_t ldlat, int want)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 16,
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA,
		.numa_line_period = period, .numa_line_ldlat = ldlat,
		.drain_thread = drain_thread,
	};
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &cfg), want);
	return m;
}

/*
 * Configures and starts a session for the forced model in a child (no
 * model's libpfm4 tables answer for another's); the child's checks of
 * the attrs opened decide its exit status. 0 if they held.
 */
typedef int (*model_check)(struct hftmon *m);

static int in_child(const char *model, model_check check)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct hftmon *m;
		int r;

		force(model);
		m = session(1000, 0, 0);
		if (hftmon_attach_process(m, getpid(), NULL) ||
		    hftmon_start(m))
			_exit(2);
		r = check(m);
		hftmon_stop(m);
		hftmon_close(m);
		_exit(r);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static bool sampling(const struct perf_event_attr *a, uint64_t period)
{
	return a->sample_type == HFTMON_LINE_SAMPLE_TYPE &&
	       a->sample_period == period && a->use_clockid &&
	       a->clockid == CLOCK_MONOTONIC && a->exclude_kernel;
}

/* icx: the trial on the caller (disabled), then one per thread, inherited. */
static int check_icx(struct hftmon *m)
{
	struct perf_event_attr *a = &pf.attr[1];
	char why[320];
	unsigned int i;

	if (hftmon_numa_cacheline_status(m, why, sizeof(why)) ||
	    pf.opens != 1 + tasks() ||
	    !strstr(why, "MEM_TRANS_RETIRED:LOAD_LATENCY ldlat 30") ||
	    !pf.attr[0].disabled || pf.tid[0] != 0)
		return 3;
	if (a->type != PERF_TYPE_RAW || a->config != 0x1cd ||
	    a->config1 != 30 || a->precise_ip != 2 || !sampling(a, 1000) ||
	    a->disabled || !a->inherit || pf.tid[1] <= 0 ||
	    pf.group[1] != -1)
		return 4;
	for (i = 1; i < pf.opens && i < 8; i++)
		if (pf.tid[i] == getpid())
			return 0;
	return 5; /* not this thread */
}

/* spr with mem-loads-aux in sysfs: the aux event leads every group. */
static int check_spr(struct hftmon *m)
{
	(void)m;
	if (pf.opens != 2 + 2 * tasks())
		return 3;
	if (pf.attr[2].type != PERF_TYPE_RAW || pf.attr[2].config != 0x8203 ||
	    pf.attr[2].sample_period || pf.group[2] != -1)
		return 4;
	if (pf.attr[3].config != 0x1cd || pf.attr[3].config1 != 30 ||
	    pf.group[3] != 3002 || !sampling(&pf.attr[3], 1000))
		return 5;
	return 0;
}

/* AMD: the ibs_op PMU's type, cnt_ctl from its format, no libpfm4 name. */
static int check_ibs(struct hftmon *m)
{
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
	};

	if (pf.opens != 1 + tasks() || pf.attr[1].type != 11 ||
	    pf.attr[1].config != 1ull << 19 || pf.attr[1].precise_ip ||
	    !sampling(&pf.attr[1], 1008)) /* IBS: a multiple of 16 */
		return 3;
	if (hftmon_get_numa_stats(m, &q, &st) ||
	    strcmp(st.source, "AMD IBS op samples") ||
	    !strstr(st.source_event, "ibs_op (type 11, cnt_ctl=1), period 1008 ops"))
		return 4;
	return 0;
}

static void test_resolve_models(void **state)
{
	static const char *const ibs[] = { "type", "11\n", "format/cnt_ctl",
					   "config:19\n", NULL };
	static const char *const cpu[] = {
		"type", "4\n", "format/event", "config:0-7\n", "format/umask",
		"config:8-15\n", "events/mem-loads-aux", "event=0x03,umask=0x82\n",
		NULL,
	};
	char d[300];

	(void)state;
	assert_int_equal(in_child("icx", check_icx), 0);
	pmu("cpu", cpu);
	assert_int_equal(in_child("spr", check_spr), 0);
	snprintf(d, sizeof(d), "rm -rf %s/cpu", pmu_dir);
	assert_int_equal(system(d), 0);
	pmu("ibs_op", ibs);
	assert_int_equal(in_child("amd64_fam19h_zen3", check_ibs), 0);
	assert_int_equal(in_child("amd64_fam19h_zen4", check_ibs), 0);
}

/* No ibs_op, and a model libpfm4 has no load-latency event for. */
static void test_no_event(void **state)
{
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
	};
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	char why[320];
	struct hftmon *m;

	(void)state;
	force("amd64_fam19h_zen4");
	pf.open_errno = ENOENT; /* the kernel: no PMU takes cycles:p */
	m = session(1000, 0, 0);
	assert_int_equal(hftmon_numa_cacheline_status(m, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "this CPU has no PEBS/IBS load sampling"));
	assert_non_null(strstr(why, "cycles:p"));
	assert_non_null(strstr(why, "(ENOENT)"));
	/* the probe asked for a precise sample, nothing else */
	assert_int_equal(pf.opens, 1);
	assert_int_equal(pf.attr[0].precise_ip, 1);
	assert_int_equal(hftmon_attach_process(m, getpid(), NULL), 0);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(pf.opens, 1); /* nothing opened for the threads */
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	/* The page heatmap is another source: still there. */
	q.resolution = HFTMON_NUMA_RES_PAGE;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 0);
	assert_string_equal(st.source, "NUMA hinting faults");
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

/* The kernel refuses the event: its errno, by name, in the reason. */
static void test_refused(void **state)
{
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
	};
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	char why[320];
	struct hftmon *m;

	(void)state;
	force("icx");
	pf.open_errno = EACCES;
	m = session(1000, 0, 0);
	assert_int_equal(hftmon_numa_cacheline_status(m, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "the kernel refused MEM_TRANS_RETIRED:LOAD_LATENCY"));
	assert_non_null(strstr(why, "(EACCES)"));
	assert_non_null(strstr(why, "perf_event_paranoid"));
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	hftmon_close(m);

	/* Taken at configure, refused at start: the first thread says why. */
	memset(&pf, 0, sizeof(pf));
	pf.open_errno = EOPNOTSUPP;
	pf.open_errno_after = 2;
	m = session(1000, 0, 0);
	assert_int_equal(hftmon_numa_cacheline_status(m, NULL, 0), 0);
	assert_int_equal(hftmon_attach_process(m, getpid(), NULL), 0);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(hftmon_numa_cacheline_status(m, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "(EOPNOTSUPP)"));
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

static void test_bad_config(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .events = HFTMON_EV_SCHED_ALL,
		.numa_line_period = 1000,
	};
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
	};
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	struct hftmon *m = NULL;

	(void)state;
	force("icx");
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &cfg), -EINVAL); /* no EV_NUMA */
	cfg.events |= HFTMON_EV_NUMA;
	cfg.numa_line_period = HFTMON_NUMA_LINE_MAX_PERIOD + 1;
	assert_int_equal(hftmon_configure(m, &cfg), -EINVAL);
	cfg.numa_line_period = 0;
	cfg.numa_line_ldlat = 30; /* without sampling */
	assert_int_equal(hftmon_configure(m, &cfg), -EINVAL);
	cfg.numa_line_period = 1000;
	cfg.numa_line_ldlat = 2;
	assert_int_equal(hftmon_configure(m, &cfg), -EINVAL);
	cfg.numa_line_period = 0;
	cfg.numa_line_ldlat = 0;
	assert_int_equal(hftmon_configure(m, &cfg), 0);
	/* Not asked for: unsupported, as before 2.4; the status says why. */
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	assert_int_equal(hftmon_numa_cacheline_status(m, NULL, 0), -ENODATA);
	assert_int_equal(hftmon_numa_cacheline_status(NULL, NULL, 0), -EINVAL);
	assert_int_equal(pf.opens, 0);
	hftmon_close(m);
}

/* A record at the ring's head, across its end if it gets there. */
static void put(const void *rec, size_t n)
{
	struct perf_event_mmap_page *pg = pf.map;
	unsigned char *d = (unsigned char *)pg + pg->data_offset;
	const unsigned char *r = rec;
	size_t i;

	/* The drain thread stores the tail (release): read it as the kernel does. */
	assert_true(pg->data_head + n -
			    __atomic_load_n(&pg->data_tail, __ATOMIC_ACQUIRE) <=
		    pg->data_size);
	for (i = 0; i < n; i++)
		d[(pg->data_head + i) % pg->data_size] = r[i];
	/* As the kernel publishes it: the drain thread may be reading. */
	__atomic_store_n(&pg->data_head, pg->data_head + n, __ATOMIC_RELEASE);
}

static void sample(uint64_t t, uint64_t addr, uint32_t cpu, uint64_t mem_op)
{
	struct {
		struct perf_event_header h;
		uint32_t pid, tid;
		uint64_t time, addr;
		uint32_t cpu, res;
		uint64_t data_src;
	} s = {
		.h = { .type = PERF_RECORD_SAMPLE, .size = sizeof(s) },
		.pid = (uint32_t)getpid(), .tid = (uint32_t)getpid() + 1,
		.time = t, .addr = addr, .cpu = cpu,
	};
	union perf_mem_data_src ds = { .val = 0 };

	ds.mem_op = mem_op;
	s.data_src = ds.val;
	assert_int_equal(sizeof(s), 48);
	put(&s, sizeof(s));
}

static void lost(uint64_t n)
{
	struct {
		struct perf_event_header h;
		uint64_t id, lost;
	} r = { .h = { .type = PERF_RECORD_LOST, .size = sizeof(r) },
		.id = 7, .lost = n };

	put(&r, sizeof(r));
}

/* PERF_RECORD_LOST_SAMPLES: what the PMU driver itself dropped. */
static void lost_samples(uint64_t n)
{
	struct {
		struct perf_event_header h;
		uint64_t lost;
	} r = { .h = { .type = PERF_RECORD_LOST_SAMPLES, .size = sizeof(r) },
		.lost = n };

	put(&r, sizeof(r));
}

static int ignore(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

static struct hftmon *running(void)
{
	struct hftmon *m;

	force("icx");
	m = session(1000, 0, 0);
	assert_int_equal(hftmon_attach_process(m, getpid(), NULL), 0);
	assert_int_equal(hftmon_start(m), 0);
	/* The trial and each thread, the drain thread's too if it runs. */
	assert_int_equal(pf.opens, 1 + tasks());
	assert_non_null(pf.map);
	return m;
}

static int heatmap(struct hftmon *m, struct hftmon_numa_stats *st,
		   struct hftmon_numa_heat *h, size_t max)
{
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
		.heat = h, .max_heat = max,
	};

	memset(st, 0, sizeof(*st));
	st->sz = sizeof(*st);
	h[0].sz = sizeof(h[0]);
	return hftmon_get_numa_stats(m, &q, st);
}

static void row(const struct hftmon_numa_heat *h, uint64_t addr, int mem,
		int cpu, uint64_t count)
{
	if (h->addr != addr || h->bytes != 64 || h->mem_node != mem ||
	    h->cpu_node != cpu || h->count != count)
		fail_msg("row %#llx %llu bytes mem %d cpu %d x%llu, want %#llx 64 mem %d cpu %d x%llu",
			 (unsigned long long)h->addr,
			 (unsigned long long)h->bytes, h->mem_node, h->cpu_node,
			 (unsigned long long)h->count, (unsigned long long)addr,
			 mem, cpu, (unsigned long long)count);
}

static void test_samples(void **state)
{
	struct hftmon_numa_heat h[8];
	struct hftmon_numa_stats st;
	struct hftmon *m;

	(void)state;
	m = running();
	/* Two in one line of node 1's memory, from CPU 0 (node 0). */
	sample(1000, 0x100040, 0, PERF_MEM_OP_LOAD);
	sample(1100, 0x10007f, 0, PERF_MEM_OP_LOAD);
	/* The next line: a row of its own. */
	sample(1200, 0x100080, 0, PERF_MEM_OP_LOAD);
	lost(7);
	lost_samples(3);
	/* Node 0's memory from CPU 1 (node 1); a store counts too (IBS). */
	sample(1300, 0x200008, 1, PERF_MEM_OP_STORE);
	/* A page gone by the drain: node unknown. */
	sample(1400, 0x10000000, 1, PERF_MEM_OP_LOAD);
	/* No memory op, no address, a kernel address: skipped. */
	sample(1500, 0x100040, 0, PERF_MEM_OP_NA);
	sample(1600, 0, 0, PERF_MEM_OP_LOAD);
	sample(1700, 0xffff888000001000ull, 0, PERF_MEM_OP_LOAD);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	assert_int_equal(pf.moves, 1); /* one batch, one process */
	assert_int_equal(pf.move_pid, getpid());
	assert_int_equal(pf.moved, 5);

	assert_int_equal(heatmap(m, &st, h, 8), 4);
	assert_string_equal(st.source, "PEBS load latency samples");
	assert_non_null(strstr(st.source_event, "MEM_TRANS_RETIRED:LOAD_LATENCY"));
	assert_int_equal(st.samples, 5);
	assert_int_equal(st.lost, 10);
	assert_int_equal(st.skipped, 3);
	assert_int_equal(st.local, 0);
	assert_int_equal(st.remote, 4);
	assert_int_equal(st.unknown, 1);
	assert_int_equal(st.by_node[1][0], 3);
	assert_int_equal(st.by_node[0][1], 1);
	assert_int_equal(st.first_ns, 1000);
	assert_int_equal(st.last_ns, 1400);
	row(&h[0], 0x100040, 1, 0, 2);
	row(&h[1], 0x100080, 1, 0, 1);
	row(&h[2], 0x200000, 0, 1, 1);
	row(&h[3], 0x10000000, -1, 1, 1);
	/* By thread and time, as the page heatmap. */
	{
		struct hftmon_numa_stats_query q = {
			.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
			.since_ns = 1100, .until_ns = 1300,
		};

		memset(&st, 0, sizeof(st));
		st.sz = sizeof(st);
		/* rows counted without room for them, as the page heatmap */
		assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 2);
		assert_int_equal(st.samples, 2);
		q.since_ns = q.until_ns = 0;
		q.tid = getpid();
		assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 0);
		assert_int_equal(st.samples, 0);
		q.tid = getpid() + 1;
		assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 4);
		assert_int_equal(st.samples, 5);
	}
	/* Stop drains what is left, and closes the event. */
	sample(1800, 0x100040, 0, PERF_MEM_OP_LOAD);
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(pf.munmaps, pf.opens - 1);
	assert_int_equal(heatmap(m, &st, h, 8), 4);
	row(&h[0], 0x100040, 1, 0, 3);
	hftmon_close(m);
	assert_int_equal(pf.closes, pf.opens); /* the trial's and the threads' */
}

/* Thousands of records through a ring of 32 KiB: it wraps, none lost. */
static void test_wrap(void **state)
{
	struct perf_event_mmap_page *pg;
	struct hftmon_numa_heat h[4];
	struct hftmon_numa_stats st;
	struct hftmon *m;
	unsigned int i, j;

	(void)state;
	m = running();
	pg = pf.map;
	/* Start where the first record straddles the end. */
	pg->data_head = pg->data_tail = DATA_SIZE - 20;
	for (i = 0; i < 10; i++) {
		for (j = 0; j < 500; j++)
			sample(10000 + i * 500 + j, 0x300000 + (j % 2) * 64,
			       j % 2, PERF_MEM_OP_LOAD);
		lost(1);
		assert_true(hftmon_drain(m, ignore, NULL) >= 0);
		assert_int_equal(pg->data_tail, pg->data_head);
	}
	assert_true(pg->data_head > 4 * DATA_SIZE);
	assert_int_equal(heatmap(m, &st, h, 4), 2);
	assert_int_equal(st.samples, 5000);
	assert_int_equal(st.lost, 10);
	assert_int_equal(st.local, 2500); /* CPU 1 on node 1's memory */
	row(&h[0], 0x300000, 1, 0, 2500);
	row(&h[1], 0x300040, 1, 1, 2500);
	/* 256 a batch: 2 calls per pass of 500 */
	assert_int_equal(pf.moves, 20);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

/*
 * With the library's drain thread, its passes take the samples (the
 * caller only queries), and stop drains what is left.
 */
static void test_drain_thread(void **state)
{
	struct hftmon_numa_heat h[2];
	struct hftmon_numa_stats st;
	struct hftmon *m;
	int i, rows = 0;

	(void)state;
	drain_thread = true;
	m = running();
	drain_thread = false;
	for (i = 0; i < 100; i++)
		sample(100 + i, 0x100000, 0, PERF_MEM_OP_LOAD);
	for (i = 0; i < 500; i++) {
		rows = heatmap(m, &st, h, 2);
		if (st.samples == 100)
			break;
		usleep(10000);
	}
	assert_int_equal(rows, 1);
	assert_int_equal(st.samples, 100);
	assert_int_equal(hftmon_drain(m, ignore, NULL), -EBUSY);
	sample(300, 0x100000, 0, PERF_MEM_OP_LOAD);
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(heatmap(m, &st, h, 2), 1);
	assert_int_equal(st.samples, 101);
	hftmon_close(m);
}

/* move_pages() refused (no ptrace access): node unknown, never a guess. */
static void test_move_pages_fails(void **state)
{
	struct hftmon_numa_heat h[2];
	struct hftmon_numa_stats st;
	struct hftmon *m;

	(void)state;
	m = running();
	pf.move_errno = EPERM;
	sample(1, 0x100000, 1, PERF_MEM_OP_LOAD);
	sample(2, 0x100000, 1, PERF_MEM_OP_LOAD);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	assert_int_equal(m->line->move_failed, 1);
	assert_int_equal(heatmap(m, &st, h, 2), 1);
	assert_int_equal(st.samples, 2);
	assert_int_equal(st.unknown, 2);
	assert_int_equal(st.local + st.remote, 0);
	row(&h[0], 0x100000, -1, 1, 2);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

/* Attached while running: its threads sampled from then on. */
static void test_attach_running(void **state)
{
	struct hftmon *m;

	(void)state;
	force("icx");
	m = session(1000, 0, 0);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(pf.opens, 1); /* the trial only */
	assert_int_equal(hftmon_attach_process(m, getpid(), NULL), 0);
	assert_int_equal(pf.opens, 1 + tasks());
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(pf.munmaps, tasks());
	hftmon_close(m);
}

/* The ring cannot be mapped (the perf mlock limit): said, not sampled. */
static void test_mmap_refused(void **state)
{
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
	};
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	char why[320];
	struct hftmon *m;

	(void)state;
	force("icx");
	pf.mmap_errno = EPERM;
	m = session(1000, 0, 0);
	assert_int_equal(hftmon_attach_process(m, getpid(), NULL), 0);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(hftmon_numa_cacheline_status(m, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "(EPERM)"));
	assert_non_null(strstr(why, "perf_event_mlock_kb"));
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	assert_int_equal(pf.closes, pf.opens); /* nothing left open */
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

/* A header that cannot be walked: counted, the ring skipped to its head. */
static void test_malformed(void **state)
{
	struct perf_event_header bad = { .type = PERF_RECORD_SAMPLE, .size = 4 };
	struct perf_event_mmap_page *pg;
	unsigned int i;
	struct hftmon_numa_heat h[2];
	struct hftmon_numa_stats st;
	struct hftmon *m;

	(void)state;
	m = running();
	pg = pf.map;
	sample(1, 0x100000, 0, PERF_MEM_OP_LOAD);
	put(&bad, sizeof(bad));
	sample(2, 0x100000, 0, PERF_MEM_OP_LOAD);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	assert_int_equal(pg->data_tail, pg->data_head);
	assert_int_equal(m->line->bad, 1);
	sample(3, 0x100000, 0, PERF_MEM_OP_LOAD);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	assert_int_equal(heatmap(m, &st, h, 2), 1);
	assert_int_equal(st.samples, 2);
	/*
	 * A tail past the head (no kernel writes that), over a ring of
	 * records that could be walked for ever: no endless walk.
	 */
	for (i = 0; i < DATA_SIZE; i += 8) {
		struct perf_event_header o = { .type = 99, .size = 8 };

		memcpy((unsigned char *)pg + pg->data_offset + i, &o, 8);
	}
	pg->data_tail = pg->data_head + 8;
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	assert_int_equal(pg->data_tail, pg->data_head);
	assert_int_equal(m->line->bad, 2);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve_models, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_pages_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmap_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
