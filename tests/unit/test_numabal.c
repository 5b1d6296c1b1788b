// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * NUMA balancing from synthetic HFTMON_REC_NUMA and switch records on a
 * fake two-node machine (a sysfs node tree of the test's own, CPU 0 on
 * node 0 and CPU 1 on node 1): hftmon_get_numa_activity() counts each
 * thread's hinting faults local and remote, the pages migrated and not,
 * the balancer's moves, swaps and failed moves, and its time on each node
 * from its switches (node changes counted, the stint still running
 * included); hftmon_get_numa_events() merges the fault and placement
 * histories in time order, filtered by kind and thread; one node only
 * (no node tree: the kernel without NUMA) puts every stint on node 0;
 * the errors. hftmon_get_numa_stats() from ACCESS records: the totals
 * per memory node x CPU node, local and remote, and the page heatmap
 * (one row per page and node pair, by address) under its filters
 * (thread, time range, the caller's room); cache-line resolution and
 * bad queries refused; an older module's 64-byte records taken.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_records.h"
#include "fake_sys.h"
#include "hftmon.h"

/* lib/numa.c: where the nodes are described (internal). */
extern const char *hftmon_node_dir;

#define T0 2000000ull

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "md",
				     .prio = 120, .tracked = true };
static const struct fake_task T2 = { .pid = 100, .tid = 102, .comm = "gw",
				     .prio = 120, .tracked = true };
static const struct fake_task KW = { .pid = 55, .tid = 55, .comm = "kworker",
				     .prio = 100, .policy = 1 };
static const struct fake_switch PREEMPT = { .preempt = true };

static char node_dir[64];

/* node0: CPU 0, node1: CPU 1, as /sys/devices/system/node has them. */
static void make_two_nodes(void)
{
	snprintf(node_dir, sizeof(node_dir), "/tmp/hftmon-numabal-XXXXXX");
	fake_two_nodes(node_dir);
}

static void remove_nodes(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", node_dir);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	fake_setup(2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hftmon_node_dir = "/sys/devices/system/node";
	return fake_teardown_checked();
}

static int ignore(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

static struct hftmon *open_numa(uint64_t events)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .events = events,
					   .ring_pages = 16 };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	return m;
}

static void numa(unsigned int cpu, uint64_t t, const struct fake_task *task,
		 __u32 kind, __u32 flags, __u32 pages, __s32 dst_cpu,
		 __s32 dst_nid, const struct fake_task *other)
{
	struct fake_numa n = { .kind = kind, .flags = flags, .pages = pages,
			       .src_cpu = (__s32)cpu, .src_nid = (__s32)cpu,
			       .dst_cpu = dst_cpu, .dst_nid = dst_nid,
			       .other = other };

	assert_true(fake_numa(cpu, t, task, &n));
}

/*
 * T1 runs on CPU 0 (node 0) for 100 us, is moved to CPU 1 (node 1) and
 * runs there 100 us, then back on CPU 0 for 100 us; its faults: remote,
 * remote and migrated (1 page), local, remote and failed to migrate (a
 * huge page, 512); the balancer moves it, swaps it with T2, and fails
 * once. T2 is switched in on CPU 1 at the end and still runs.
 */
static void scenario(void)
{
	assert_true(fake_switch(0, T0, NULL, &T1, NULL));
	numa(0, T0 + 10000, &T1, HFTMON_NUMA_FAULT, 0, 1, -1, 1, NULL);
	numa(0, T0 + 20000, &T1, HFTMON_NUMA_FAULT, HFTMON_NUMA_MIGRATED, 1,
	     -1, 0, NULL);
	numa(0, T0 + 30000, &T1, HFTMON_NUMA_FAULT, HFTMON_NUMA_FAULT_LOCAL, 1,
	     -1, 0, NULL);
	numa(0, T0 + 90000, &T1, HFTMON_NUMA_MOVE, 0, 0, 1, 1, NULL);
	assert_true(fake_switch(0, T0 + 100000, &T1, &KW, &PREEMPT));
	assert_true(fake_switch(1, T0 + 150000, NULL, &T1, NULL));
	numa(1, T0 + 160000, &T1, HFTMON_NUMA_FAULT,
	     HFTMON_NUMA_MIGRATE_FAIL | HFTMON_NUMA_SHARED, 512, -1, 0, NULL);
	numa(1, T0 + 200000, &T1, HFTMON_NUMA_SWAP, HFTMON_NUMA_OTHER_TRACKED,
	     0, 0, 0, &T2);
	numa(1, T0 + 210000, &T1, HFTMON_NUMA_STICK, 0, 0, -1, -1, NULL);
	assert_true(fake_switch(1, T0 + 250000, &T1, NULL, &PREEMPT));
	assert_true(fake_switch(0, T0 + 300000, &KW, &T1, NULL));
	assert_true(fake_switch(0, T0 + 400000, &T1, NULL, &PREEMPT));
	assert_true(fake_switch(1, T0 + 500000, NULL, &T2, NULL));
}

static void stop_and_drain(struct hftmon *m)
{
	assert_int_equal(hftmon_start(m), 0);
	scenario();
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
}

static const struct hftmon_numa_activity *
of(const struct hftmon_numa_activity *a, int n, pid_t tid)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i].tid == tid)
			return &a[i];
	fail_msg("thread %d not in the activity", (int)tid);
	return NULL;
}

static void test_activity_two_nodes(void **state)
{
	struct hftmon_numa_activity out[4] = { [0].sz = sizeof(out[0]) };
	struct hftmon_numa_query q = { .sz = sizeof(q), .pid = 100 };
	const struct hftmon_numa_activity *t1, *t2;
	struct hftmon_stats_summary st = { .sz = sizeof(st) };
	struct hftmon *m;
	int n;

	(void)state;
	make_two_nodes();
	hftmon_node_dir = node_dir;
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	stop_and_drain(m);
	n = hftmon_get_numa_activity(m, &q, out, 4);
	assert_int_equal(n, 2);
	assert_true(out[0].tid < out[1].tid);
	t1 = of(out, n, 101);
	assert_int_equal(t1->pid, 100);
	assert_int_equal(t1->hint_faults, 4);
	assert_int_equal(t1->hint_faults_local, 1);
	assert_int_equal(t1->hint_faults_remote, 3);
	assert_int_equal(t1->hint_fault_pages, 515);
	assert_int_equal(t1->faults_migrated, 1);
	assert_int_equal(t1->pages_migrated, 1);
	assert_int_equal(t1->faults_migrate_failed, 1);
	assert_int_equal(t1->pages_migrate_failed, 512);
	assert_int_equal(t1->faults_shared, 1);
	assert_int_equal(t1->task_moves, 1);
	assert_int_equal(t1->task_swaps, 1);
	assert_int_equal(t1->task_sticks, 1);
	assert_int_equal(t1->first_ns, T0 + 10000);
	assert_int_equal(t1->last_ns, T0 + 210000);
	/* Its stints: 0..100 us and 300..400 us on node 0, 150..250 on 1. */
	assert_int_equal(t1->on_node_ns[0], 200000);
	assert_int_equal(t1->on_node_ns[1], 100000);
	assert_int_equal(t1->on_unknown_ns, 0);
	assert_int_equal(t1->node_changes, 2);
	assert_int_equal(t1->node, 0);
	/* T2 runs on CPU 1 still: its stint up to the stop. */
	t2 = of(out, n, 102);
	assert_int_equal(t2->hint_faults, 0);
	assert_int_equal(t2->node, 1);
	assert_int_equal(t2->on_node_ns[0], 0);
	assert_true(t2->on_node_ns[1] > 0);
	assert_int_equal(t2->first_ns, 0);
	/* A thread filter; another process's; the count past max. */
	q.tid = 102;
	assert_int_equal(hftmon_get_numa_activity(m, &q, out, 4), 1);
	assert_int_equal(out[0].tid, 102);
	q.tid = 0;
	q.pid = 200;
	assert_int_equal(hftmon_get_numa_activity(m, &q, out, 4), 0);
	assert_int_equal(hftmon_get_numa_activity(m, NULL, out, 1), 2);
	assert_int_equal(hftmon_get_numa_activity(m, NULL, NULL, 0), 2);
	assert_int_equal(hftmon_get_stats(m, &st, NULL, 0), 0);
	assert_int_equal(st.aggregator_dropped, 0);
	hftmon_close(m);
	remove_nodes();
}

static void test_events_in_time_order(void **state)
{
	struct hftmon_numa_event ev[16] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_numa_query q = { .sz = sizeof(q) };
	static const uint32_t kinds[] = {
		HFTMON_NUMA_EV_FAULT, HFTMON_NUMA_EV_FAULT, HFTMON_NUMA_EV_FAULT,
		HFTMON_NUMA_EV_MOVE,  HFTMON_NUMA_EV_NODE,  HFTMON_NUMA_EV_FAULT,
		HFTMON_NUMA_EV_SWAP,  HFTMON_NUMA_EV_STICK, HFTMON_NUMA_EV_NODE,
	};
	struct hftmon *m;
	int n, i;

	(void)state;
	make_two_nodes();
	hftmon_node_dir = node_dir;
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	stop_and_drain(m);
	n = hftmon_get_numa_events(m, &q, ev, 16);
	assert_int_equal(n, 9);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].kind, kinds[i]);
		assert_int_equal(ev[i].tid, 101);
		if (i)
			assert_true(ev[i - 1].time_ns <= ev[i].time_ns);
	}
	/* The move 0 -> 1 (CPU and node), the fault's page node. */
	assert_int_equal(ev[3].src_cpu, 0);
	assert_int_equal(ev[3].dst_cpu, 1);
	assert_int_equal(ev[3].dst_node, 1);
	assert_int_equal(ev[0].dst_node, 1);
	assert_int_equal(ev[0].dst_cpu, -1);
	assert_int_equal(ev[5].pages, 512);
	assert_int_equal(ev[5].flags,
			 HFTMON_NUMA_MIGRATE_FAIL | HFTMON_NUMA_SHARED);
	/* The swap names the other; the node changes come from switches. */
	assert_int_equal(ev[6].other_tid, 102);
	assert_int_equal(ev[4].time_ns, T0 + 150000);
	assert_int_equal(ev[4].src_node, 0);
	assert_int_equal(ev[4].dst_node, 1);
	assert_int_equal(ev[8].time_ns, T0 + 300000);
	assert_int_equal(ev[8].src_cpu, 1);
	assert_int_equal(ev[8].dst_cpu, 0);
	/* By kind. */
	q.kinds = 1u << HFTMON_NUMA_EV_NODE | 1u << HFTMON_NUMA_EV_MOVE;
	assert_int_equal(hftmon_get_numa_events(m, &q, ev, 16), 3);
	assert_int_equal(ev[0].kind, HFTMON_NUMA_EV_MOVE);
	q.kinds = 1u << HFTMON_NUMA_EV_FAULT;
	assert_int_equal(hftmon_get_numa_events(m, &q, ev, 2), 4);
	assert_int_equal(ev[1].time_ns, T0 + 20000);
	/* Another thread: none. */
	q.kinds = 0;
	q.tid = 102;
	assert_int_equal(hftmon_get_numa_events(m, &q, ev, 16), 0);
	hftmon_close(m);
	remove_nodes();
}

/* One node (a kernel without NUMA: no node tree): every stint on node 0. */
static void test_single_node(void **state)
{
	struct hftmon_numa_node nd[2] = { [0].sz = sizeof(nd[0]) };
	struct hftmon_numa_activity out[4] = { [0].sz = sizeof(out[0]) };
	const struct hftmon_numa_activity *t1;
	struct hftmon *m;
	int n;

	(void)state;
	hftmon_node_dir = "/nonexistent/hftmon/node";
	assert_int_equal(hftmon_get_numa_topology(NULL, nd, 2), 1);
	assert_int_equal(nd[0].node, 0);
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	stop_and_drain(m);
	n = hftmon_get_numa_activity(m, NULL, out, 4);
	assert_int_equal(n, 2);
	t1 = of(out, n, 101);
	assert_int_equal(t1->on_node_ns[0], 300000);
	assert_int_equal(t1->on_node_ns[1], 0);
	assert_int_equal(t1->on_unknown_ns, 0);
	assert_int_equal(t1->node_changes, 0);
	assert_int_equal(t1->node, 0);
	assert_int_equal(t1->hint_faults, 4);
	hftmon_close(m);
}

static void test_errors(void **state)
{
	struct hftmon_numa_activity out[1] = { [0].sz = sizeof(out[0]) };
	struct hftmon_numa_event ev[1] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_numa_query q = { .sz = sizeof(q) };
	struct hftmon *m;

	(void)state;
	/* Not asked for: the queries say so; the records are not kept. */
	m = open_numa(HFTMON_EV_SCHED_ALL);
	assert_int_equal(hftmon_get_numa_activity(m, NULL, out, 1), -EOPNOTSUPP);
	assert_int_equal(hftmon_get_numa_events(m, NULL, ev, 1), -EOPNOTSUPP);
	hftmon_close(m);

	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	assert_int_equal(hftmon_get_numa_activity(NULL, NULL, out, 1), -EINVAL);
	assert_int_equal(hftmon_get_numa_activity(m, NULL, NULL, 1), -EINVAL);
	q.window_us = 5;
	assert_int_equal(hftmon_get_numa_activity(m, &q, out, 1), -EINVAL);
	q.window_us = 0;
	q.kinds = 1u << 9;
	assert_int_equal(hftmon_get_numa_events(m, &q, ev, 1), -EINVAL);
	q.kinds = 0;
	q.pid = -1;
	assert_int_equal(hftmon_get_numa_events(m, &q, ev, 1), -EINVAL);
	q.pid = 0;
	out[0].sz = 2;
	assert_int_equal(hftmon_get_numa_activity(m, &q, out, 1), -EINVAL);
	/* Nothing recorded yet: no thread, no event. */
	assert_int_equal(hftmon_get_numa_activity(m, &q, NULL, 0), 0);
	assert_int_equal(hftmon_get_numa_events(m, &q, NULL, 0), 0);
	hftmon_close(m);
}

/* ---- hftmon_get_numa_stats(): totals and the page heatmap -------------- */

#define PA 0x7f0000001000ull
#define PB (PA + 4096)
#define PC 0x7f0000200000ull

static void sample(unsigned int cpu, uint64_t t, const struct fake_task *task,
		   uint64_t addr, __s32 mem_nid, __u32 pages)
{
	struct fake_numa n = { .kind = HFTMON_NUMA_ACCESS, .pages = pages,
			       .src_cpu = (__s32)cpu, .src_nid = (__s32)cpu,
			       .dst_cpu = -1, .dst_nid = mem_nid,
			       .flags = mem_nid == (__s32)cpu ?
						HFTMON_NUMA_FAULT_LOCAL : 0,
			       .addr = addr };

	assert_true(fake_numa(cpu, t, task, &n));
}

static const struct fake_task OTHER = { .pid = 200, .tid = 201, .comm = "x",
					.prio = 120, .tracked = true };

/*
 * T1 on CPU 0 (node 0): page A of node 1 three times, then A once more
 * on node 0 (migrated), page B of node 1 twice; T2 on CPU 1 (node 1):
 * A of node 1 once and a huge page C of node 1 (both local); a FAULT record
 * (not a sample); another process's access.
 */
static void heat_scenario(void)
{
	sample(0, T0 + 1000, &T1, PA, 1, 1);
	sample(0, T0 + 2000, &T1, PA, 1, 1);
	sample(0, T0 + 3000, &T1, PB, 1, 1);
	numa(0, T0 + 3500, &T1, HFTMON_NUMA_FAULT, 0, 1, -1, 1, NULL);
	sample(0, T0 + 4000, &T1, PA, 1, 1);
	sample(0, T0 + 5000, &T1, PB, 1, 1);
	sample(0, T0 + 6000, &T1, PA, 0, 1);
	sample(1, T0 + 7000, &T2, PA, 1, 1);
	sample(1, T0 + 8000, &T2, PC, 1, 512);
	sample(0, T0 + 9000, &OTHER, PA, 1, 1);
}

static struct hftmon *heat_session(void)
{
	struct hftmon *m;

	make_two_nodes();
	hftmon_node_dir = node_dir;
	fake.info.features |= HFTMON_FEAT_NUMA_BALANCING | HFTMON_FEAT_NUMA_ACCESS;
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	assert_int_equal(hftmon_start(m), 0);
	heat_scenario();
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	return m;
}

static void expect_row(const struct hftmon_numa_heat *h, uint64_t addr,
		       uint64_t bytes, int mem, int cpu, uint64_t count,
		       uint64_t first, uint64_t last)
{
	assert_int_equal(h->sz, sizeof(*h));
	assert_int_equal(h->addr, addr);
	assert_int_equal(h->bytes, bytes);
	assert_int_equal(h->mem_node, mem);
	assert_int_equal(h->cpu_node, cpu);
	assert_int_equal(h->count, count);
	assert_int_equal(h->first_ns, first);
	assert_int_equal(h->last_ns, last);
}

static void test_stats_heatmap(void **state)
{
	struct hftmon_numa_heat heat[8] = { [0].sz = sizeof(heat[0]) };
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .pid = 100, .resolution = HFTMON_NUMA_RES_PAGE,
		.heat = heat, .max_heat = 8,
	};
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	struct hftmon_numa_activity act[2] = { [0].sz = sizeof(act[0]) };
	struct hftmon_numa_query aq = { .sz = sizeof(aq), .tid = 101 };
	struct hftmon *m;

	(void)state;
	m = heat_session();
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 5);
	assert_string_equal(st.source, "NUMA hinting faults");
	assert_int_equal(st.samples, 8);
	assert_int_equal(st.local, 3);
	assert_int_equal(st.remote, 5);
	assert_int_equal(st.unknown, 0);
	assert_int_equal(st.missed, 0);
	assert_int_equal(st.nr_nodes, 2);
	assert_int_equal(st.page_size, FAKE_PAGE_SIZE);
	assert_int_equal(st.first_ns, T0 + 1000);
	assert_int_equal(st.last_ns, T0 + 8000);
	assert_int_equal(st.by_node[1][0], 5);
	assert_int_equal(st.by_node[0][0], 1);
	assert_int_equal(st.by_node[1][1], 2);
	assert_int_equal(st.by_node[0][1], 0);
	/* By address, then size, memory node, CPU node. */
	expect_row(&heat[0], PA, 4096, 0, 0, 1, T0 + 6000, T0 + 6000);
	expect_row(&heat[1], PA, 4096, 1, 0, 3, T0 + 1000, T0 + 4000);
	expect_row(&heat[2], PA, 4096, 1, 1, 1, T0 + 7000, T0 + 7000);
	expect_row(&heat[3], PB, 4096, 1, 0, 2, T0 + 3000, T0 + 5000);
	expect_row(&heat[4], PC, 512 * 4096, 1, 1, 1, T0 + 8000, T0 + 8000);
	/* The ACCESS records are not faults of the activity. */
	assert_int_equal(hftmon_get_numa_activity(m, &aq, act, 2), 1);
	assert_int_equal(act[0].hint_faults, 1);

	/* Less room: the first rows, the count of all. */
	memset(heat, 0, sizeof(heat));
	heat[0].sz = sizeof(heat[0]);
	q.max_heat = 2;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 5);
	expect_row(&heat[1], PA, 4096, 1, 0, 3, T0 + 1000, T0 + 4000);
	assert_int_equal(heat[2].count, 0);
	/* A thread; a time range [since, until); every process. */
	q.max_heat = 8;
	q.tid = 102;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 2);
	assert_int_equal(st.samples, 2);
	assert_int_equal(st.local, 2);
	q.tid = 0;
	q.since_ns = T0 + 2000;
	q.until_ns = T0 + 5000;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 2);
	assert_int_equal(st.samples, 3);
	expect_row(&heat[0], PA, 4096, 1, 0, 2, T0 + 2000, T0 + 4000);
	expect_row(&heat[1], PB, 4096, 1, 0, 1, T0 + 3000, T0 + 3000);
	q.since_ns = q.until_ns = 0;
	q.pid = 0;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 5);
	assert_int_equal(st.samples, 9);
	assert_int_equal(heat[1].count, 4);
	/* Totals only. */
	q.resolution = HFTMON_NUMA_RES_NONE;
	q.heat = NULL;
	q.max_heat = 0;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 0);
	assert_int_equal(st.samples, 9);
	hftmon_close(m);
	remove_nodes();
}

/* An output struct shorter than ours gets what it has room for. */
static void test_stats_short_output(void **state)
{
	struct hftmon_numa_stats_query q = { .sz = sizeof(q), .pid = 100 };
	struct hftmon_numa_stats st;
	size_t part = offsetof(struct hftmon_numa_stats, remote);
	struct hftmon *m;

	(void)state;
	m = heat_session();
	memset(&st, 0x5a, sizeof(st));
	st.sz = part;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 0);
	assert_int_equal(st.sz, part);
	assert_int_equal(st.samples, 8);
	assert_int_equal(st.local, 3);
	assert_int_equal(st.remote, 0x5a5a5a5a5a5a5a5aull);
	hftmon_close(m);
	remove_nodes();
}

static void test_stats_errors(void **state)
{
	struct hftmon_numa_heat heat[1] = { [0].sz = sizeof(heat[0]) };
	struct hftmon_numa_stats_query q = { .sz = sizeof(q) };
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	struct hftmon *m;

	(void)state;
	/* Without EV_NUMA; without the module's addresses. */
	fake.info.features |= HFTMON_FEAT_NUMA_ACCESS;
	m = open_numa(HFTMON_EV_SCHED_ALL);
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	hftmon_close(m);
	fake.info.features &= ~HFTMON_FEAT_NUMA_ACCESS;
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	hftmon_close(m);

	fake.info.features |= HFTMON_FEAT_NUMA_ACCESS;
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 0);
	assert_int_equal(st.samples, 0);
	q.resolution = HFTMON_NUMA_RES_CACHELINE;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EOPNOTSUPP);
	q.resolution = 3;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EINVAL);
	q.resolution = HFTMON_NUMA_RES_NONE;
	q.heat = heat;
	q.max_heat = 1; /* rows without a resolution */
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EINVAL);
	q.resolution = HFTMON_NUMA_RES_PAGE;
	q.heat = NULL;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EINVAL);
	q.heat = heat;
	q.window_us = 10;
	q.since_ns = 1;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EINVAL);
	q.window_us = 0;
	q.until_ns = 1;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EINVAL);
	q.since_ns = q.until_ns = 0;
	q.pid = -3;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EINVAL);
	q.pid = 0;
	assert_int_equal(hftmon_get_numa_stats(m, &q, NULL), -EINVAL);
	assert_int_equal(hftmon_get_numa_stats(NULL, &q, &st), -EINVAL);
	st.sz = 2;
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), -EINVAL);
	st.sz = sizeof(st);
	assert_int_equal(hftmon_get_numa_stats(m, &q, &st), 0);
	hftmon_close(m);
}

/* An older module's records (64 bytes, no addr) are faults as before. */
static void test_v1_records(void **state)
{
	struct hftmon_numa_activity act[1] = { [0].sz = sizeof(act[0]) };
	struct fake_numa n = { .kind = HFTMON_NUMA_FAULT, .pages = 1,
			       .src_cpu = 0, .dst_cpu = -1, .dst_nid = 1,
			       .v1 = true };
	struct hftmon_stats_summary st = { .sz = sizeof(st) };
	struct hftmon *m;

	(void)state;
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	assert_int_equal(hftmon_start(m), 0);
	assert_true(fake_numa(0, T0, &T1, &n));
	assert_true(fake_numa(0, T0 + 10, &T1, &n));
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	assert_int_equal(hftmon_get_numa_activity(m, NULL, act, 1), 1);
	assert_int_equal(act[0].hint_faults, 2);
	assert_int_equal(hftmon_get_stats(m, &st, NULL, 0), 0);
	assert_int_equal(st.unknown_records, 0);
	hftmon_close(m);
}

/* track_numa needs a session with HFTMON_EV_NUMA. */
static void test_track_numa(void **state)
{
	struct hftmon_attach_opts ao = { .sz = sizeof(ao), .track_numa = true };
	struct hftmon *m;

	(void)state;
	m = open_numa(HFTMON_EV_SCHED_ALL);
	assert_int_equal(hftmon_attach_process(m, getpid(), &ao), -EINVAL);
	hftmon_close(m);
	m = open_numa(HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA);
	assert_int_equal(hftmon_attach_process(m, getpid(), &ao), 0);
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_activity_two_nodes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_events_in_time_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_heatmap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats_short_output, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_v1_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_track_numa, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
