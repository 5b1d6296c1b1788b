// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libhftmon over a fake /dev/hftmon (fake_sys.c behind lib/sys.h): the
 * error paths (missing device, ioctl errors as -errno, bad arguments
 * refused before any ioctl, calls in the wrong state, mmap failures that
 * unwind everything, NULL handles) and the data path through the fake
 * module's rings (drain, read_records, seq gaps, statistics). Run under
 * ASan: anything leaked fails the program.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/perf_event.h>

#include "fake_sys.h"
#include "handle.h"
#include "hftmon.h"
#include "ring.h"

static char last_log[512];
static unsigned int nr_logs;

static void capture_log(void *ctx, enum hftmon_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(last_log, sizeof(last_log), "%s", msg);
	nr_logs++;
}

static int setup(void **state)
{
	(void)state;
	fake_setup(4);
	last_log[0] = '\0';
	nr_logs = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fake_teardown_checked();
}

static struct hftmon *open_fake(void)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = FAKE_DEVICE,
				      .log = capture_log };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_non_null(m);
	return m;
}

static struct hftmon *open_configured(void)
{
	struct hftmon_monitor_config c = { .sz = sizeof(c) };
	struct hftmon *m = open_fake();

	assert_int_equal(hftmon_configure(m, &c), 0);
	return m;
}

/* A SWITCH record from the fake module's producer on cpu. */
static bool produce(unsigned int cpu, __s32 tid)
{
	struct hftmon_rec_switch *s;

	s = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_SWITCH,
					  sizeof(*s));
	if (!s)
		return false;
	s->hdr.pid = 100;
	s->hdr.tid = tid;
	s->hdr.flags = HFTMON_SWITCH_PREV_TRACKED;
	s->hdr.time_ns = 1000 + s->hdr.seq;
	strcpy(s->prev_comm, "trader");
	ring_producer_commit(&fake.prod[cpu]);
	return true;
}

static int count_cb_fwd(void *ctx, const struct hftmon_rec_hdr *rec);

/* A FORK record of tracked pid 100 on cpu 0: child, with flags. */
static void produce_fork(__s32 child, __u16 flags)
{
	struct hftmon_rec_fork *f;

	f = (void *)ring_producer_reserve(&fake.prod[0], HFTMON_REC_FORK,
					  sizeof(*f));
	assert_non_null(f);
	f->hdr.pid = f->hdr.tid = 100;
	f->hdr.flags = flags;
	f->hdr.time_ns = 1000 + f->hdr.seq;
	f->child_pid = f->child_tid = child;
	strcpy(f->child_comm, "child");
	ring_producer_commit(&fake.prod[0]);
}

/*
 * follow_children: refused where the module cannot (no FEAT_INHERIT) or
 * the fork probe is not hooked (events without FORK); otherwise the
 * ATTACH flag, and hftmon_get_processes() lists the attached, then the
 * children the FORK records say were followed, and counts the others.
 */
static void test_follow_children(void **state)
{
	struct hftmon_attach_opts ao = { .sz = sizeof(ao),
					 .follow_children = true };
	struct hftmon_monitor_config c = { .sz = sizeof(c),
					   .events = HFTMON_EV_SWITCH };
	struct hftmon *m = open_configured();
	uint64_t not_followed = 9;
	pid_t pids[4];

	(void)state;
	assert_int_equal(hftmon_attach_process(m, 100, &ao), -EOPNOTSUPP);
	hftmon_close(m);
	fake.info.features |= HFTMON_FEAT_INHERIT | HFTMON_FEAT_PROCESS_FORK;
	m = open_fake();
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_attach_process(m, 100, &ao), -EINVAL);
	hftmon_close(m);

	m = open_configured();
	assert_int_equal(hftmon_attach_process(m, 100, &ao), 0);
	assert_true(fake.last_attach.flags & HFTMON_ATTACH_INHERIT);
	assert_int_equal(hftmon_get_processes(m, pids, 4, &not_followed), 1);
	assert_int_equal(pids[0], 100);
	assert_int_equal(not_followed, 0);
	assert_int_equal(hftmon_start(m), 0);
	produce_fork(101, HFTMON_FORK_THREAD);	/* a thread: not a process */
	produce_fork(200, HFTMON_FORK_FOLLOWED);
	produce_fork(201, HFTMON_FORK_FULL);
	produce_fork(202, HFTMON_FORK_NOMEM);
	produce_fork(203, HFTMON_FORK_FOLLOWED);
	produce_fork(204, 0);			/* not asked for */
	assert_true(hftmon_drain(m, count_cb_fwd, NULL) >= 0);
	assert_int_equal(hftmon_get_processes(m, pids, 2, &not_followed), 3);
	assert_int_equal(pids[1], 200);
	assert_int_equal(hftmon_get_processes(m, pids, 4, NULL), 3);
	assert_int_equal(pids[0], 100);
	assert_int_equal(pids[2], 203);
	assert_int_equal(not_followed, 2);
	assert_int_equal(hftmon_get_processes(m, NULL, 1, NULL), -EINVAL);
	assert_int_equal(hftmon_get_processes(m, NULL, 0, NULL), 3);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

static int count_cb_fwd(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

/* ---- open ------------------------------------------------------------ */

static void test_open_missing_device_real(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = "/nonexistent/hftmon" };
	struct hftmon *m = (void *)1;

	(void)state;
	fake_teardown(); /* the real open(2) */
	assert_int_equal(hftmon_open(&o, &m), -ENOENT);
	assert_null(m);
	fake_setup(4);
}

static void test_open_missing_device(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = "/dev/none",
				      .log = capture_log };
	struct hftmon *m = (void *)1;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), -ENOENT);
	assert_null(m);
	assert_non_null(strstr(last_log, "/dev/none"));
	fake.open_errno = EACCES;
	o.device = FAKE_DEVICE;
	assert_int_equal(hftmon_open(&o, &m), -EACCES);
}

static void test_open_get_info_fails(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon *m = (void *)1;

	(void)state;
	fake.fail_cmd = HFTMON_IOC_GET_INFO;
	fake.fail_errno = ENOTTY;
	assert_int_equal(hftmon_open(&o, &m), -ENOTTY);
	assert_null(m);
	assert_int_equal(fake.open_fds, 0); /* closed again */
}

static void test_open_wrong_abi(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon *m = NULL;

	(void)state;
	fake.info.abi_version = HFTMON_ABI_VERSION + 1;
	assert_int_equal(hftmon_open(&o, &m), -EPROTO);
	fake.info.abi_version = HFTMON_ABI_VERSION;
	fake.info.nr_cpu_ids = 0;
	assert_int_equal(hftmon_open(&o, &m), -EPROTO);
	assert_null(m);
}

static void test_open_opts_size(void **state)
{
	struct {
		struct hftmon_open_opts o;
		unsigned long future;
	} big = { .o = { .device = FAKE_DEVICE } };
	struct hftmon *m = NULL;

	(void)state;
	assert_int_equal(hftmon_open(NULL, NULL), -EINVAL);
	/* A newer caller's unknown field must be zero. */
	big.o.sz = sizeof(big);
	big.future = 1;
	assert_int_equal(hftmon_open(&big.o, &m), -E2BIG);
	big.future = 0;
	assert_int_equal(hftmon_open(&big.o, &m), 0);
	hftmon_close(m);
	/* An older caller that knew only sz and device. */
	big.o.sz = offsetof(struct hftmon_open_opts, log);
	big.o.log = (hftmon_log_fn)1; /* must not be read */
	assert_int_equal(hftmon_open(&big.o, &m), 0);
	hftmon_close(m);
	big.o.sz = 0;
	assert_int_equal(hftmon_open(&big.o, &m), -EINVAL);
}

/*
 * A newer caller's struct, as an older library sees it: sz covers bytes
 * this library does not know. Those after the end of its last known field
 * must be zero, including the struct's own tail padding (where a newer
 * bool or int would go), else -E2BIG; zeros are accepted.
 */
#define OFFSETOFEND(type, field) \
	(offsetof(type, field) + sizeof(((type *)0)->field))

union newer {
	size_t sz;
	unsigned char bytes[1024]; /* more than any struct it stands for */
	max_align_t align;
};
_Static_assert(sizeof(struct hftmon_latency) + 16 <= sizeof(union newer),
	       "union newer: room for a newer caller's hftmon_latency");

/* The call under test on the bytes of a newer caller's options struct. */
typedef int (*opts_call)(struct hftmon *m, const void *opts);

static int call_open(struct hftmon *m, const void *opts)
{
	struct hftmon_open_opts *o = (void *)opts;
	struct hftmon *h = NULL;
	int err;

	(void)m;
	o->device = FAKE_DEVICE;
	err = hftmon_open(o, &h);
	hftmon_close(h);
	return err;
}

static int call_configure(struct hftmon *m, const void *opts)
{
	return hftmon_configure(m, opts);
}

static int call_attach(struct hftmon *m, const void *opts)
{
	int err = hftmon_attach_process(m, 4242, opts);

	if (!err)
		hftmon_detach_process(m, 4242);
	return err;
}

static int call_switches(struct hftmon *m, const void *opts)
{
	return hftmon_get_context_switches(m, opts, NULL, 0);
}

static int call_latency(struct hftmon *m, const void *opts)
{
	struct hftmon_latency lat = { .sz = sizeof(lat) };

	return hftmon_get_wakeup_latency(m, opts, &lat);
}

static int call_irq(struct hftmon *m, const void *opts)
{
	return hftmon_get_irq_stats(m, opts, NULL, 0);
}

static void check_newer_caller(struct hftmon *m, opts_call call, size_t size,
			       size_t end, const char *what)
{
	union newer n;
	size_t at;
	int err;

	print_message("%s: sizeof %zu, last known field ends at %zu\n", what,
		      size, end);
	/* Zeros in everything unknown: accepted. */
	memset(&n, 0, sizeof(n));
	n.sz = size + 16;
	err = call(m, &n);
	assert_int_not_equal(err, -E2BIG);
	assert_int_not_equal(err, -EINVAL);
	/* A byte set in our padding, or past our sizeof. */
	for (at = end; at < size + 16; at++) {
		memset(&n, 0, sizeof(n));
		n.sz = size + 16;
		n.bytes[at] = 1;
		assert_int_equal(call(m, &n), -E2BIG);
	}
	/* An sz that does not even cover itself. */
	memset(&n, 0, sizeof(n));
	n.sz = sizeof(size_t) - 1;
	assert_int_equal(call(m, &n), -EINVAL);
}

static void test_opts_checked_from_last_field(void **state)
{
	struct hftmon *m = open_configured();

	(void)state;
	/*
	 * Tail padding, the case sizeof alone would miss: no public struct
	 * has any now (switch_query's went with since_ns), so a struct of
	 * this test's own goes through the check every query uses.
	 */
	{
		struct padded {
			size_t sz;
			int a;
			bool last;
		} dst;
		union {
			struct padded p;
			unsigned char bytes[sizeof(struct padded) + 8];
		} in;

		assert_true(OFFSETOFEND(struct padded, last) <
			    sizeof(struct padded));
		memset(&in, 0, sizeof(in));
		in.p.sz = sizeof(in);
		assert_int_equal(hftmon_copy_opts(&dst, sizeof(dst),
				OFFSETOFEND(struct padded, last), &in,
				sizeof(in)), 0);
		in.bytes[OFFSETOFEND(struct padded, last)] = 1;
		assert_int_equal(hftmon_copy_opts(&dst, sizeof(dst),
				OFFSETOFEND(struct padded, last), &in,
				sizeof(in)), -E2BIG);
	}
	check_newer_caller(m, call_open, sizeof(struct hftmon_open_opts),
			   OFFSETOFEND(struct hftmon_open_opts, log_ctx),
			   "open_opts");
	check_newer_caller(m, call_attach, sizeof(struct hftmon_attach_opts),
			   OFFSETOFEND(struct hftmon_attach_opts,
				       follow_children),
			   "attach_opts");
	check_newer_caller(m, call_switches,
			   sizeof(struct hftmon_switch_query),
			   OFFSETOFEND(struct hftmon_switch_query, until_ns),
			   "switch_query");
	check_newer_caller(m, call_latency,
			   sizeof(struct hftmon_latency_query),
			   OFFSETOFEND(struct hftmon_latency_query,
				       until_ns),
			   "latency_query");
	check_newer_caller(m, call_irq, sizeof(struct hftmon_irq_query),
			   OFFSETOFEND(struct hftmon_irq_query, mark),
			   "irq_query");
	/* Last: a configure that fails leaves m unconfigured. */
	check_newer_caller(m, call_configure,
			   sizeof(struct hftmon_monitor_config),
			   OFFSETOFEND(struct hftmon_monitor_config, numa_line_ldlat),
			   "monitor_config");
	hftmon_close(m);
}

/* Output structs: the library fills only what the caller has room for. */
static void test_output_structs_sized(void **state)
{
	struct hftmon_latency_query q = { .sz = sizeof(q) };
	struct hftmon *m = open_configured();
	union newer n;
	struct hftmon_latency small;

	(void)state;
	/* A newer caller's bigger struct: the part we do not know is zeroed. */
	memset(&n, 0xee, sizeof(n));
	n.sz = sizeof(struct hftmon_latency) + 16;
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, (void *)&n),
			 -ENODATA);
	assert_int_equal(n.sz, sizeof(struct hftmon_latency) + 16);
	assert_int_equal(n.bytes[sizeof(struct hftmon_latency) + 15], 0);
	/* An older caller's smaller one: nothing written past its sz. */
	memset(&small, 0xee, sizeof(small));
	small.sz = offsetof(struct hftmon_latency, missed);
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &small), -ENODATA);
	assert_int_equal(small.count, 0);
	assert_int_equal(small.missed, 0xeeeeeeeeeeeeeeeeull);
	small.sz = 0;
	assert_int_equal(hftmon_get_wakeup_latency(m, &q, &small), -EINVAL);
	hftmon_close(m);
}

static void test_info_and_sources(void **state)
{
	struct hftmon_info info;
	struct hftmon *m;
	unsigned int i;

	(void)state;
	fake.info.nr_sources = HFTMON_SRC_PMU_HW + 1; /* an older module */
	m = open_fake();
	info.size = 0;
	assert_int_equal(hftmon_get_info(m, &info), -EINVAL);
	/* An older caller's shorter struct: nothing written past it. */
	memset(&info, 0xee, sizeof(info));
	info.size = offsetof(struct hftmon_info, nr_online_cpus);
	assert_int_equal(hftmon_get_info(m, &info), 0);
	assert_int_equal(info.nr_cpu_ids, 4);
	assert_int_equal(info.nr_online_cpus, 0xeeeeeeeeu);
	info.size = sizeof(info);
	assert_int_equal(hftmon_get_info(m, &info), 0);
	assert_int_equal(info.nr_cpu_ids, 4);
	assert_int_equal(info.source_status[HFTMON_SRC_SCHED_SWITCH], 0);
	assert_int_equal(info.source_status[HFTMON_SRC_PMU_HW], -ENOENT);
	/* Sources the module does not report are not "available". */
	assert_int_equal(info.source_status[HFTMON_SRC_STACK_USER], -ENOSYS);
	/* Every one from the first it does not know (the fake wrote 0s). */
	for (i = HFTMON_SRC_PMU_HW + 1; i < HFTMON_SRC_NR; i++)
		assert_int_equal(info.source_status[i], -ENOSYS);
	for (i = 0; i < HFTMON_SRC_NR; i++) {
		assert_non_null(hftmon_source_name(i));
		assert_null(hftmon_source_reason(i, 0));
		assert_non_null(hftmon_source_reason(i, -ENOENT));
		assert_non_null(hftmon_source_reason(i, -ENOSYS));
		assert_non_null(hftmon_source_reason(i, -E2BIG));
	}
	assert_string_equal(hftmon_source_name(HFTMON_SRC_PMU_HW), "pmu_hw");
	assert_string_equal(hftmon_source_reason(HFTMON_SRC_PMU_HW, -ENOENT),
			    "the CPU exposes no hardware PMU");
	assert_null(hftmon_source_name(HFTMON_SRC_NR));
	assert_null(hftmon_source_name((enum hftmon_source) - 1));
	assert_int_equal(hftmon_get_info(m, NULL), -EINVAL);
	hftmon_close(m);
}

/* ---- configure ------------------------------------------------------- */

static void expect_einval_without_ioctl(struct hftmon *m,
					const struct hftmon_monitor_config *c)
{
	unsigned int before = fake.ioctl_calls;

	assert_int_equal(hftmon_configure(m, c), -EINVAL);
	assert_int_equal(fake.ioctl_calls, before);
	assert_int_equal(fake.mmap_calls, 0);
}

#define CFG(...)                         \
	((struct hftmon_monitor_config){ \
		.sz = sizeof(struct hftmon_monitor_config), __VA_ARGS__ })

static void test_configure_bad_args(void **state)
{
	static const int neg[] = { 1, -1 }, big[] = { 4 };
	const struct hftmon_monitor_config bad[] = {
		CFG(.ring_pages = 3), /* not a power of two */
		CFG(.ring_pages = 128), /* over the module's max_ring_pages */
		CFG(.events = 1ull << 40), /* unknown event bit */
		CFG(.cpu_affinity = neg, .nr_cpu_affinity = 2),
		CFG(.cpu_affinity = big, .nr_cpu_affinity = 1), /* no CPU 4 */
		CFG(.nr_cpu_affinity = 1), /* count without an array */
		CFG(.realtime_priority = 100),
		CFG(.realtime_priority = -1),
		{ .sz = 1 }, /* shorter than its own size field */
	};
	struct hftmon *m = open_fake();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_einval_without_ioctl(m, &bad[i]);
	assert_int_equal(hftmon_configure(NULL, NULL), -EINVAL);
	hftmon_close(m);
}

/*
 * Each limit at its edge, with drain_thread set so that no other check
 * refuses the value first: 99 and the last CPU (nr_cpu_ids - 1 = 3) and
 * the module's max_ring_pages (64) are accepted, 100 and CPU 4 are not;
 * raw_only refuses every aggregator size, each alone.
 */
static void test_configure_limits(void **state)
{
	static const int last[] = { 3 }, past[] = { 4 };
	const struct hftmon_monitor_config bad[] = {
		CFG(.drain_thread = true, .realtime_priority = 100),
		CFG(.drain_thread = true, .cpu_affinity = past,
		    .nr_cpu_affinity = 1),
		CFG(.raw_only = true, .history_switches = 1),
		CFG(.raw_only = true, .history_wakeups = 1),
		CFG(.raw_only = true, .max_threads = 1),
		CFG(.raw_only = true, .max_stacks = 1),
	};
	const struct hftmon_monitor_config good[] = {
		CFG(.drain_thread = true, .realtime_priority = 99),
		CFG(.drain_thread = true, .cpu_affinity = last,
		    .nr_cpu_affinity = 1),
		CFG(.ring_pages = 64),
		CFG(.raw_only = true),
	};
	struct hftmon *m = open_fake();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_einval_without_ioctl(m, &bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(hftmon_configure(m, &good[i]), 0);
	assert_int_equal(fake.last_config.ring_pages, 0);
	hftmon_close(m);
}

/* Affinity, priority, record_fn and interval are the drain thread's. */
static void test_configure_drain_thread_only(void **state)
{
	struct hftmon *m = open_fake();
	int cpus[] = { 1 };
	struct hftmon_monitor_config c = { .sz = sizeof(c),
					   .cpu_affinity = cpus,
					   .nr_cpu_affinity = 1 };

	(void)state;
	nr_logs = 0;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	assert_int_equal(nr_logs, 1);
	assert_non_null(strstr(last_log, "drain_thread"));
	c.nr_cpu_affinity = 0;
	c.cpu_affinity = NULL;
	c.realtime_priority = 50;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.realtime_priority = 0;
	c.drain_interval_us = 10;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.drain_interval_us = 0;
	c.record_fn = count_cb_fwd;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	assert_int_equal(fake.ioctl_calls, 1); /* GET_INFO only */
	/* With the thread, all of it is accepted. */
	c.drain_thread = true;
	c.cpu_affinity = cpus;
	c.nr_cpu_affinity = 1;
	c.realtime_priority = 50;
	c.drain_interval_us = 10;
	assert_int_equal(hftmon_configure(m, &c), 0);
	hftmon_close(m);
}

static void test_configure_passes_values(void **state)
{
	struct hftmon_monitor_config c = { .sz = sizeof(c),
					   .ring_pages = 8,
					   .events = HFTMON_EV_SWITCH };
	struct hftmon *m = open_fake();

	(void)state;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(fake.last_config.size, sizeof(struct hftmon_config));
	assert_int_equal(fake.last_config.ring_pages, 8);
	assert_int_equal(fake.last_config.events, HFTMON_EV_SWITCH);
	assert_int_equal(fake.nr_mapped, 4);
	/* Sampling reads PMU counters: refused without, passed in ns with. */
	c.sampling_interval_us = 100;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	{
		struct hftmon_pmu_counter pc = { .sz = sizeof(pc),
						 .type = PERF_TYPE_SOFTWARE,
						 .config = PERF_COUNT_SW_PAGE_FAULTS };

		c.pmu_counters = &pc;
		c.nr_pmu_counters = 1;
		assert_int_equal(hftmon_configure(m, &c), 0);
		assert_int_equal(fake.last_config.sample_interval_ns, 100000);
		c.sampling_interval_us = 1000001;
		assert_int_equal(hftmon_configure(m, &c), -EINVAL);
		c.pmu_counters = NULL;
		c.nr_pmu_counters = 0;
	}
	/* NULL config: every default. */
	assert_int_equal(hftmon_configure(m, NULL), 0);
	assert_int_equal(fake.last_config.ring_pages, 0);
	hftmon_close(m);
}

static void test_configure_ioctl_error(void **state)
{
	struct hftmon *m = open_fake();
	char buf[256];

	(void)state;
	fake.fail_cmd = HFTMON_IOC_CONFIGURE;
	fake.fail_errno = ENOMEM;
	assert_int_equal(hftmon_configure(m, NULL), -ENOMEM);
	assert_int_equal(fake.mmap_calls, 0);
	/* Not configured: nothing to drain, read, wait for or start. */
	assert_int_equal(hftmon_read_records(m, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(hftmon_wait(m, 0), -EINVAL);
	assert_int_equal(hftmon_start(m), -EINVAL);
	hftmon_close(m);
}

static void test_mmap_failure_unwinds(void **state)
{
	struct hftmon *m = open_fake();

	(void)state;
	fake.fail_mmap_at = 3;
	fake.fail_mmap_errno = ENOMEM;
	assert_int_equal(hftmon_configure(m, NULL), -ENOMEM);
	assert_int_equal(fake.nr_mapped, 0);
	assert_non_null(strstr(last_log, "CPU 2"));
	assert_int_equal(hftmon_start(m), -EINVAL);
	/* The handle is usable: configure again (the fake frees the rings). */
	fake.fail_mmap_at = 0;
	assert_int_equal(hftmon_configure(m, NULL), 0);
	assert_int_equal(fake.nr_mapped, 4);
	hftmon_close(m);
}

static void test_bad_control_page_unwinds(void **state)
{
	struct hftmon *m = open_fake();

	(void)state;
	fake.corrupt_ctrl = true;
	assert_int_equal(hftmon_configure(m, NULL), -EPROTO);
	assert_int_equal(fake.nr_mapped, 0);
	fake.corrupt_ctrl = false;
	assert_int_equal(hftmon_configure(m, NULL), 0);
	hftmon_close(m);
}

/* CPU numbers that are not possible CPUs have no ring (mmap: -ENODEV). */
static int count_cb(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)rec;
	(*(unsigned int *)ctx)++;
	return 0;
}

static void test_cpu_without_ring(void **state)
{
	_Alignas(8) unsigned char buf[256];
	unsigned int n = 0;
	struct hftmon *m;

	(void)state;
	fake.nodev_cpus = 1u << 2;
	m = open_configured();
	assert_int_equal(fake.nr_mapped, 3);
	assert_true(produce(3, 7));
	assert_int_equal(hftmon_drain(m, count_cb, &n), 1);
	assert_true(produce(1, 8));
	assert_int_equal(hftmon_read_records(m, buf, sizeof(buf)),
			 sizeof(struct hftmon_rec_switch));
	hftmon_close(m);
}

static void test_reconfigure(void **state)
{
	struct hftmon *m = open_configured();

	(void)state;
	assert_int_equal(hftmon_start(m), 0);
	/* Running: refused by the library, no ioctl, rings stay. */
	assert_int_equal(hftmon_configure(m, NULL), -EBUSY);
	assert_int_equal(fake_ioctls(HFTMON_IOC_CONFIGURE), 1);
	assert_int_equal(fake.nr_mapped, 4);
	assert_int_equal(hftmon_stop(m), 0);
	/* Stopped: unmapped first (the fake, like the module, checks). */
	assert_int_equal(hftmon_configure(m, NULL), 0);
	assert_int_equal(fake_ioctls(HFTMON_IOC_CONFIGURE), 2);
	assert_int_equal(fake.nr_mapped, 4);
	hftmon_close(m);
}

/* ---- attach, start, stop ------------------------------------------- */

static void test_attach_before_configure(void **state)
{
	struct hftmon *m = open_fake();

	(void)state;
	assert_int_equal(hftmon_attach_process(m, 123, NULL), -EINVAL);
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 0);
	assert_non_null(strstr(last_log, "before configure"));
	hftmon_close(m);
}

static void test_attach(void **state)
{
	struct hftmon_attach_opts ao = { .sz = sizeof(ao),
					 .track_cache = true,
					 .user_stacks = true };
	struct hftmon *m = open_configured();

	(void)state;
	assert_int_equal(hftmon_attach_process(m, 0, NULL), -EINVAL);
	assert_int_equal(hftmon_attach_process(m, -5, NULL), -EINVAL);
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 0);
	/* track_cache needs cache counters at configure (test_cache.c). */
	assert_int_equal(hftmon_attach_process(m, 123, &ao), -EINVAL);
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 0);
	ao.track_cache = false;
	assert_int_equal(hftmon_attach_process(m, 123, &ao), 0);
	assert_int_equal(fake.last_attach.size, sizeof(struct hftmon_attach));
	assert_int_equal(fake.last_attach.pid, 123);
	assert_int_equal(fake.last_attach.flags, HFTMON_ATTACH_USTACK);
	assert_int_equal(hftmon_attach_process(m, 124, NULL), 0);
	assert_int_equal(fake.last_attach.flags, 0);

	fake.fail_cmd = HFTMON_IOC_ATTACH;
	fake.fail_errno = ESRCH;
	assert_int_equal(hftmon_attach_process(m, 999, NULL), -ESRCH);
	fake.fail_errno = EPERM;
	assert_int_equal(hftmon_attach_process(m, 1, NULL), -EPERM);
	fake.fail_cmd = 0;

	assert_int_equal(hftmon_detach_process(m, 123), 0);
	assert_int_equal(hftmon_detach_process(m, 124), 0);
	assert_int_equal(hftmon_detach_process(m, 124), -ENOENT);
	assert_int_equal(hftmon_detach_process(m, 0), -EINVAL);

	/*
	 * A kernel-stack minimum: refused without kernel stacks or above
	 * 10 s; not passed to a module that does not offer it (every
	 * switch-out's stack then); in ns to one that does.
	 */
	memset(&ao, 0, sizeof(ao));
	ao.sz = sizeof(ao);
	ao.kernel_stacks_min_us = 100;
	assert_int_equal(hftmon_attach_process(m, 125, &ao), -EINVAL);
	ao.kernel_stacks = true;
	ao.kernel_stacks_min_us = 10000001;
	assert_int_equal(hftmon_attach_process(m, 125, &ao), -EINVAL);
	ao.kernel_stacks_min_us = 100;
	assert_int_equal(hftmon_attach_process(m, 125, &ao), 0);
	assert_int_equal(fake.last_attach.flags, HFTMON_ATTACH_KSTACK);
	assert_int_equal(fake.last_attach.kstack_min_ns, 0);
	hftmon_close(m);
	fake.info.features |= HFTMON_FEAT_KSTACK_MIN;
	m = open_configured();
	assert_int_equal(hftmon_attach_process(m, 125, &ao), 0);
	assert_int_equal(fake.last_attach.kstack_min_ns, 100000);
	hftmon_close(m);
}

static void test_start_stop_errors(void **state)
{
	struct hftmon *m = open_configured();

	(void)state;
	fake.fail_cmd = HFTMON_IOC_START;
	fake.fail_errno = EBUSY;
	assert_int_equal(hftmon_start(m), -EBUSY);
	fake.fail_cmd = 0;
	assert_int_equal(hftmon_stop(m), -EINVAL); /* not running */
	assert_int_equal(hftmon_start(m), 0);
	fake.fail_cmd = HFTMON_IOC_STOP;
	fake.fail_errno = EIO;
	assert_int_equal(hftmon_stop(m), -EIO);
	fake.fail_cmd = 0;
	hftmon_close(m);
}

static void test_close_stops_and_unmaps(void **state)
{
	struct hftmon *m = open_configured();

	(void)state;
	assert_int_equal(hftmon_start(m), 0);
	hftmon_close(m);
	assert_int_equal(fake_ioctls(HFTMON_IOC_STOP), 1);
	assert_int_equal(fake.nr_mapped, 0);
	assert_int_equal(fake.open_fds, 0);
	hftmon_close(NULL);
}

static void test_null_handles(void **state)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct hftmon_info info;
	char buf[64];

	(void)state;
	assert_int_equal(hftmon_get_info(NULL, &info), -EINVAL);
	assert_int_equal(hftmon_configure(NULL, NULL), -EINVAL);
	assert_int_equal(hftmon_attach_process(NULL, 1, NULL), -EINVAL);
	assert_int_equal(hftmon_detach_process(NULL, 1), -EINVAL);
	assert_int_equal(hftmon_start(NULL), -EINVAL);
	assert_int_equal(hftmon_stop(NULL), -EINVAL);
	assert_int_equal(hftmon_wait(NULL, 0), -EINVAL);
	assert_int_equal(hftmon_drain(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(hftmon_read_records(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(hftmon_get_stats(NULL, &sum, NULL, 0), -EINVAL);
	hftmon_close(NULL);
	assert_int_equal(fake.ioctl_calls, 0);
}

/* ---- wait ------------------------------------------------------------ */

static void test_wait(void **state)
{
	struct hftmon *m = open_configured();

	(void)state;
	assert_int_equal(hftmon_wait(m, 0), 0); /* nothing yet */
	assert_true(produce(1, 5));
	assert_int_equal(hftmon_wait(m, 10), 1);
	fake.poll_errno = EINTR;
	assert_int_equal(hftmon_wait(m, -1), -EINTR);
	fake.poll_errno = 0;
	fake.poll_revents = POLLERR;
	assert_int_equal(hftmon_wait(m, 10), -EIO);
	hftmon_close(m);
}

/* ---- drain ----------------------------------------------------------- */

struct collect {
	unsigned int n;
	unsigned int stop_at;
	unsigned int cpu[64];
	__s32 tid[64];
};

static int collect_cb(void *ctx, const struct hftmon_rec_hdr *rec)
{
	struct collect *c = ctx;

	assert_int_equal(hftmon_record_check(rec, rec->size), 0);
	if (c->n < 64) {
		c->cpu[c->n] = rec->cpu;
		c->tid[c->n] = rec->tid;
	}
	c->n++;
	return c->stop_at && c->n == c->stop_at;
}

static void test_drain_no_rings(void **state)
{
	struct collect c = { 0 };
	struct hftmon *m = open_fake();

	(void)state;
	assert_int_equal(hftmon_drain(m, collect_cb, &c), -EINVAL);
	assert_int_equal(c.n, 0);
	hftmon_close(m);
}

static void test_drain_cpu_order(void **state)
{
	struct collect c = { 0 };
	struct hftmon *m = open_configured();

	(void)state;
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 0);
	assert_true(produce(2, 21));
	assert_true(produce(0, 1));
	assert_true(produce(2, 22));
	assert_true(produce(3, 31));
	assert_int_equal(hftmon_drain(m, NULL, &c), -EINVAL);
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 4);
	assert_int_equal(c.tid[0], 1);
	assert_int_equal(c.tid[1], 21);
	assert_int_equal(c.tid[2], 22);
	assert_int_equal(c.tid[3], 31);
	assert_int_equal(c.cpu[3], 3);
	/* Consumed: the rings are empty, the tails published. */
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 0);
	assert_int_equal(((struct hftmon_ring_ctrl *)fake.maps[2])->data_tail,
			 fake.prod[2].head);
	hftmon_close(m);
}

static void test_drain_stops_early(void **state)
{
	struct collect c = { .stop_at = 2 };
	struct hftmon *m = open_configured();

	(void)state;
	assert_true(produce(0, 1));
	assert_true(produce(0, 2));
	assert_true(produce(1, 3));
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 2);
	c.stop_at = 0;
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 1);
	assert_int_equal(c.tid[2], 3);
	hftmon_close(m);
}

static void test_seq_gaps_and_stats(void **state)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct hftmon_cpu_stats cpus[8];
	struct collect c = { 0 };
	struct hftmon *m = open_configured();
	unsigned int written = 0, lost = 0;

	(void)state;
	assert_int_equal(hftmon_start(m), 0);
	while (produce(1, 9))
		written++;
	for (lost = 1; lost < 5; lost++) /* the failure above was one */
		assert_false(produce(1, 9));
	assert_int_equal(hftmon_drain(m, collect_cb, &c), written);
	assert_true(produce(1, 10));
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 1);

	assert_int_equal(hftmon_get_stats(m, &sum, cpus, 8), 4);
	assert_int_equal(sum.sz, sizeof(sum));
	assert_int_equal(sum.records, written + 1);
	assert_int_equal(sum.lost[HFTMON_LOST_RING_FULL], 5);
	assert_int_equal(sum.lost_total, 5);
	assert_int_equal(sum.delivered, written + 1);
	assert_int_equal(sum.seq_gaps, 5);
	assert_int_equal(sum.bad_records, 0);
	assert_true(sum.running);
	assert_int_equal(sum.start_ns, 1000);
	assert_int_equal(cpus[1].records, written + 1);
	assert_int_equal(cpus[1].lost[HFTMON_LOST_RING_FULL], 5);
	/* Fewer entries than CPUs, none at all. */
	assert_int_equal(hftmon_get_stats(m, &sum, cpus, 2), 2);
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), 0);
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 3), -EINVAL);

	/* Counts survive a reconfigure. */
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(hftmon_configure(m, NULL), 0);
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), 0);
	assert_int_equal(sum.delivered, written + 1);
	assert_int_equal(sum.seq_gaps, 5);
	assert_false(sum.running);
	hftmon_close(m);
}

static void test_stats_older_caller(void **state)
{
	struct hftmon_stats_summary sum;
	struct hftmon *m = open_configured();
	size_t known = offsetof(struct hftmon_stats_summary, lost);

	(void)state;
	assert_true(produce(0, 1));
	memset(&sum, 0xee, sizeof(sum));
	sum.sz = known; /* a caller that knew only sz and records */
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), 0);
	assert_int_equal(sum.sz, known);
	assert_int_equal(sum.records, 1);
	assert_int_equal(sum.lost[0], 0xeeeeeeeeeeeeeeeeull); /* untouched */
	sum.sz = 0;
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), -EINVAL);
	fake.fail_cmd = HFTMON_IOC_GET_STATS;
	fake.fail_errno = EFAULT;
	sum.sz = sizeof(sum);
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), -EFAULT);
	fake.fail_cmd = 0;
	hftmon_close(m);
}

static void test_corrupt_ring_is_counted(void **state)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct collect c = { 0 };
	struct hftmon *m = open_configured();
	struct hftmon_rec_hdr *h;

	(void)state;
	assert_true(produce(0, 1));
	h = ring_producer_reserve(&fake.prod[0], HFTMON_REC_WAKEUP, 64);
	assert_non_null(h);
	h->size = 12; /* no size to step by */
	ring_producer_commit(&fake.prod[0]);
	assert_true(produce(1, 2));
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 2); /* ring 1 too */
	assert_non_null(strstr(last_log, "CPU 0"));
	assert_true(produce(0, 3));
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 1);
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), 0);
	assert_int_equal(sum.bad_records, 1);
	assert_int_equal(sum.unknown_records, 0);
	assert_int_equal(sum.seq_gaps, 1);
	hftmon_close(m);
}

/* A newer module's record type: stepped over, counted, nothing lost. */
static void test_unknown_type_is_skipped(void **state)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct collect c = { 0 };
	struct hftmon *m = open_configured();
	struct hftmon_rec_hdr *h;

	(void)state;
	assert_true(produce(0, 1));
	h = ring_producer_reserve(&fake.prod[0], 77, 64); /* unknown type */
	assert_non_null(h);
	ring_producer_commit(&fake.prod[0]);
	h = ring_producer_reserve(&fake.prod[0], HFTMON_REC_TYPE_NR, 40);
	assert_non_null(h); /* a number not given yet (a newer module's) */
	ring_producer_commit(&fake.prod[0]);
	assert_true(produce(0, 2));
	assert_int_equal(hftmon_drain(m, collect_cb, &c), 2);
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), 0);
	assert_int_equal(sum.unknown_records, 2);
	assert_int_equal(sum.bad_records, 0);
	assert_int_equal(sum.seq_gaps, 0);
	assert_int_equal(sum.delivered, 2);
	/* What the readers saw outlives them, like every other count. */
	assert_int_equal(hftmon_configure(m, NULL), 0);
	assert_int_equal(hftmon_get_stats(m, &sum, NULL, 0), 0);
	assert_int_equal(sum.unknown_records, 2);
	assert_int_equal(sum.delivered, 2);
	hftmon_close(m);
}

/* ---- read_records -------------------------------------------------- */

static void test_read_records(void **state)
{
	_Alignas(8) unsigned char buf[4 * sizeof(struct hftmon_rec_switch)];
	const size_t rs = sizeof(struct hftmon_rec_switch);
	const struct hftmon_rec_hdr *h;
	struct hftmon *m = open_configured();
	ssize_t n;

	(void)state;
	assert_int_equal(hftmon_read_records(m, buf, sizeof(buf)), 0);
	assert_true(produce(0, 1));
	assert_true(produce(0, 2));
	assert_true(produce(3, 3));
	/* Too small for even one record. */
	assert_int_equal(hftmon_read_records(m, buf, rs - 8), -ENOSPC);
	assert_int_equal(hftmon_read_records(m, NULL, 8), -EINVAL);
	/* Room for one: whole records only. */
	n = hftmon_read_records(m, buf, rs + rs / 2);
	assert_int_equal(n, rs);
	h = (const void *)buf;
	assert_int_equal(h->tid, 1);
	/* The next call starts with the next ring: CPU 3, then CPU 0. */
	n = hftmon_read_records(m, buf, sizeof(buf));
	assert_int_equal(n, 2 * rs);
	assert_int_equal(hftmon_record_check(h, rs), 0);
	assert_int_equal(h->tid, 3);
	h = (const void *)(buf + rs);
	assert_int_equal(hftmon_record_check(h, rs), 0);
	assert_int_equal(h->tid, 2);
	assert_int_equal(hftmon_read_records(m, buf, sizeof(buf)), 0);
	hftmon_close(m);
}

/* Pads are not copied; records after a wrap come out whole. */
static void test_read_records_across_wrap(void **state)
{
	_Alignas(8) unsigned char buf[8192];
	struct hftmon *m = open_configured(); /* 2 pages: 8 KiB rings */
	unsigned int i, total = 0;
	ssize_t n;

	(void)state;
	for (i = 0; i < 200; i++) {
		assert_true(produce(0, (__s32)i + 1));
		if (i % 50 == 49) {
			size_t off = 0;

			n = hftmon_read_records(m, buf, sizeof(buf));
			assert_int_equal(n,
					 50 * sizeof(struct hftmon_rec_switch));
			while (off < (size_t)n) {
				const struct hftmon_rec_hdr *h =
					(void *)(buf + off);

				assert_int_equal(h->type, HFTMON_REC_SWITCH);
				assert_int_equal(h->tid, (__s32)++total);
				off += h->size;
			}
		}
	}
	assert_int_equal(total, 200);
	hftmon_close(m);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_missing_device_real),
		T(test_follow_children),
		T(test_open_missing_device),
		T(test_open_get_info_fails),
		T(test_open_wrong_abi),
		T(test_open_opts_size),
		T(test_info_and_sources),
		T(test_configure_bad_args),
		T(test_configure_drain_thread_only),
		T(test_configure_limits),
		T(test_configure_passes_values),
		T(test_configure_ioctl_error),
		T(test_mmap_failure_unwinds),
		T(test_bad_control_page_unwinds),
		T(test_cpu_without_ring),
		T(test_reconfigure),
		T(test_attach_before_configure),
		T(test_attach),
		T(test_start_stop_errors),
		T(test_close_stops_and_unmaps),
		T(test_null_handles),
		T(test_wait),
		T(test_drain_no_rings),
		T(test_drain_cpu_order),
		T(test_drain_stops_early),
		T(test_seq_gaps_and_stats),
		T(test_stats_older_caller),
		T(test_opts_checked_from_last_field),
		T(test_output_structs_sized),
		T(test_corrupt_ring_is_counted),
		T(test_unknown_type_is_skipped),
		T(test_read_records),
		T(test_read_records_across_wrap),
	};
#undef T

	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
