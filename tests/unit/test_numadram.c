// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Local and remote DRAM accesses from the PMU in hftmon_get_numa_stats()
 * (lib/numadram.c). hftmon_numa_dram_counters() for PMU models this host
 * does not have (LIBPFM_FORCE_PMU): the expected raw encodings come from
 * the kernel's perf vendor tables in linux-source-6.1
 * (tools/perf/pmu-events/arch/x86/), not from libpfm4: icelakex
 * MEM_LOAD_L3_MISS_RETIRED.LOCAL_DRAM EventCode 0xd3 UMask 0x01,
 * .REMOTE_DRAM 0xd3/0x02; amdzen3 ls_any_fills_from_sys.mem_io_local
 * 0x44/0x08, .mem_io_remote 0x44/0x40 (amdzen4 names the same unit
 * masks dram_io_near and dram_io_far). Then the statistics over the fake
 * device's PMU slices: the pair summed per process, thread and range,
 * a counter that missed slices partial, and every way of not counting
 * (no pair on this PMU, a session without it, the kernel refusing it)
 * a state and a reason with no value.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_records.h"
#include "fake_sys.h"
#include "handle.h"
#include "numabw.h"
#include "hftmon.h"

#define T0 2000000ull
#define US 1000ull

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "md",
				     .prio = 120, .tracked = true };
static const struct fake_task T2 = { .pid = 100, .tid = 102, .comm = "gw",
				     .prio = 120, .tracked = true };

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
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("LIBPFM_FORCE_PMU");
	hftmon_pfm_reset();
	return fake_teardown_checked();
}

/*
 * Each forced model is resolved in a child of its own, so that no other
 * model's tables can answer for it (libpfm4 keeps a PMU it activated
 * through pfm_terminate(): hftmon_pfm_reset() unloads it for that): the
 * pair it gives, or the error. 0 if it matched.
 */
static int pair_in_child(const char *pmu, int want_err, uint64_t local,
			 uint64_t remote)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct hftmon_pmu_counter c[2] = { [0].sz = sizeof(c[0]) };
		int r;

		force(pmu);
		r = hftmon_numa_dram_counters(NULL, c, 2);
		if (want_err)
			_exit(r == want_err ? 0 : 1);
		if (r != 2 || c[0].type != PERF_TYPE_RAW || c[0].config != local ||
		    c[1].type != PERF_TYPE_RAW || c[1].config != remote ||
		    c[1].sz != sizeof(c[1])) {
			fprintf(stderr, "%s: %d %u:%#llx %u:%#llx, want raw %#llx %#llx\n",
				pmu, r, c[0].type, (unsigned long long)c[0].config,
				c[1].type, (unsigned long long)c[1].config,
				(unsigned long long)local,
				(unsigned long long)remote);
			_exit(1);
		}
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void test_counters_by_model(void **state)
{
	struct hftmon_pmu_counter c[2] = { [0].sz = sizeof(c[0]) };

	(void)state;
	assert_int_equal(pair_in_child("icx", 0, 0x1d3, 0x2d3), 0);
	assert_int_equal(pair_in_child("spr", 0, 0x1d3, 0x2d3), 0);
	assert_int_equal(pair_in_child("amd64_fam19h_zen4", 0, 0x844, 0x4044), 0);
	assert_int_equal(pair_in_child("amd64_fam19h_zen3", 0, 0x844, 0x4044), 0);
	/* Zen 2 has no such pair: no guess from a neighbour's table. */
	assert_int_equal(pair_in_child("amd64_fam17h_zen2", -ENOENT, 0, 0), 0);
	assert_int_equal(hftmon_numa_dram_counters(NULL, c, 1), -EINVAL);
	assert_int_equal(hftmon_numa_dram_counters(NULL, NULL, 2), -EINVAL);
}

static struct hftmon *open_dram(const struct hftmon_pmu_counter *c, size_t nr)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 16,
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA,
		.pmu_counters = c, .nr_pmu_counters = nr,
	};
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &cfg), 0);
	return m;
}

/* A slice with local and remote DRAM deltas (and their statuses). */
static void slice(unsigned int cpu, uint64_t start, uint64_t end,
		  const struct fake_task *t, uint64_t local, uint64_t remote,
		  __s32 remote_st)
{
	uint64_t d[2] = { local, remote };
	__s32 st[2] = { 0, remote_st };

	assert_true(fake_pmu(cpu, start, end, t, 2, d, st, NULL));
}

static int ignore(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

static void stats(struct hftmon *m, pid_t pid, pid_t tid, uint64_t since,
		  uint64_t until, struct hftmon_numa_stats *st)
{
	struct hftmon_numa_stats_query q = { .sz = sizeof(q), .pid = pid,
					     .tid = tid, .since_ns = since,
					     .until_ns = until };

	memset(st, 0, sizeof(*st));
	st->sz = sizeof(*st);
	assert_int_equal(hftmon_get_numa_stats(m, &q, st), 0);
}

static void expect(const struct hftmon_pmu_metric *mt, uint32_t state,
		   uint64_t value, int status)
{
	if (mt->state != state || mt->value != value || mt->status != status)
		fail_msg("state %u value %llu status %d, want %u %llu %d",
			 mt->state, (unsigned long long)mt->value, mt->status,
			 state, (unsigned long long)value, status);
}

static void test_stats_counted(void **state)
{
	struct hftmon_pmu_counter c[2] = { [0].sz = sizeof(c[0]) };
	struct hftmon_numa_stats st;
	struct hftmon *m;

	(void)state;
	force("icx");
	assert_int_equal(hftmon_numa_dram_counters(NULL, c, 2), 2);
	m = open_dram(c, 2);
	assert_int_equal(hftmon_start(m), 0);
	slice(0, T0, T0 + 100 * US, &T1, 10, 3, 0);
	slice(1, T0 + 200 * US, T0 + 300 * US, &T1, 5, 1, 0);
	slice(0, T0 + 400 * US, T0 + 500 * US, &T2, 2, 7, 0);
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);

	stats(m, 100, 0, 0, 0, &st);
	expect(&st.dram_local, HFTMON_PMU_MEASURED, 17, 0);
	expect(&st.dram_remote, HFTMON_PMU_MEASURED, 11, 0);
	assert_true(st.dram_complete);
	assert_string_equal(st.dram_events[0], "MEM_LOAD_L3_MISS_RETIRED:LOCAL_DRAM");
	assert_string_equal(st.dram_events[1], "MEM_LOAD_L3_MISS_RETIRED:REMOTE_DRAM");
	/* Per-node bandwidth: never a number; this host has no uncore PMU. */
	assert_int_equal(st.bandwidth_status, -EOPNOTSUPP);
	assert_non_null(strstr(st.bandwidth_why, "hftmon does not program") ?
				st.bandwidth_why :
				strstr(st.bandwidth_why, "no memory-controller PMU"));

	stats(m, 0, 102, 0, 0, &st);
	expect(&st.dram_local, HFTMON_PMU_MEASURED, 2, 0);
	expect(&st.dram_remote, HFTMON_PMU_MEASURED, 7, 0);
	/* The slices wholly within a range, as the hinting faults' range. */
	stats(m, 100, 0, T0 + 150 * US, T0 + 450 * US, &st);
	expect(&st.dram_local, HFTMON_PMU_MEASURED, 5, 0);
	expect(&st.dram_remote, HFTMON_PMU_MEASURED, 1, 0);
	stats(m, 100, 0, T0 + 600 * US, T0 + 700 * US, &st);
	expect(&st.dram_local, HFTMON_PMU_NO_DATA, 0, 0);
	stats(m, 300, 0, 0, 0, &st);
	expect(&st.dram_remote, HFTMON_PMU_NO_DATA, 0, 0);
	hftmon_close(m);
}

static void test_stats_partial(void **state)
{
	struct hftmon_pmu_counter c[2] = { [0].sz = sizeof(c[0]) };
	struct hftmon_numa_stats st;
	struct hftmon *m;

	(void)state;
	force("icx");
	assert_int_equal(hftmon_numa_dram_counters(NULL, c, 2), 2);
	m = open_dram(c, 2);
	assert_int_equal(hftmon_start(m), 0);
	slice(0, T0, T0 + 100 * US, &T1, 4, 6, 0);
	slice(0, T0 + 200 * US, T0 + 300 * US, &T1, 1, 99, -EBUSY);
	assert_int_equal(hftmon_stop(m), 0);
	assert_true(hftmon_drain(m, ignore, NULL) >= 0);
	stats(m, 100, 0, 0, 0, &st);
	expect(&st.dram_local, HFTMON_PMU_MEASURED, 5, 0);
	/* The slice that did not count adds nothing, and says so. */
	expect(&st.dram_remote, HFTMON_PMU_PARTIAL, 6, -EBUSY);
	assert_int_equal(st.dram_remote.slices_missed, 1);
	hftmon_close(m);
}

static void test_stats_not_counted(void **state)
{
	struct hftmon_pmu_counter c[3] = { [0].sz = sizeof(c[0]) };
	struct hftmon_numa_stats st;
	struct hftmon *m;

	(void)state;
	/* This PMU has the pair, the session does not count it. */
	force("icx");
	m = open_dram(NULL, 0);
	stats(m, 100, 0, 0, 0, &st);
	expect(&st.dram_local, HFTMON_PMU_UNSUPPORTED, 0, -ENODATA);
	expect(&st.dram_remote, HFTMON_PMU_UNSUPPORTED, 0, -ENODATA);
	assert_non_null(strstr(st.dram_why, "hftmon_numa_dram_counters()"));
	hftmon_close(m);

	/* Only one of the two configured: still not counted. */
	assert_int_equal(hftmon_numa_dram_counters(NULL, c, 2), 2);
	m = open_dram(c, 1);
	stats(m, 100, 0, 0, 0, &st);
	expect(&st.dram_local, HFTMON_PMU_UNSUPPORTED, 0, -ENODATA);
	hftmon_close(m);

	/* The kernel refused the pair (every VM: no CPU PMU). */
	fake.pmu_status[0] = -ENOENT;
	fake.pmu_status[1] = -ENOENT;
	m = open_dram(c, 2);
	stats(m, 100, 0, 0, 0, &st);
	expect(&st.dram_local, HFTMON_PMU_UNSUPPORTED, 0, -ENOENT);
	expect(&st.dram_remote, HFTMON_PMU_UNSUPPORTED, 0, -ENOENT);
	hftmon_close(m);
	fake.pmu_status[0] = fake.pmu_status[1] = 0;

}

/* A PMU without the pair (in a child: see pair_in_child()). */
static void test_stats_no_pair(void **state)
{
	int st = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0) {
		struct hftmon_numa_stats s;
		struct hftmon_numa_stats_query q = { .sz = sizeof(q), .pid = 100 };
		struct hftmon *m;

		force("amd64_fam17h_zen2");
		m = open_dram(NULL, 0);
		memset(&s, 0, sizeof(s));
		s.sz = sizeof(s);
		_exit(hftmon_get_numa_stats(m, &q, &s) != 0 ||
		      s.dram_local.state != HFTMON_PMU_UNSUPPORTED ||
		      s.dram_local.status != -ENOENT || s.dram_local.value ||
		      !strstr(s.dram_why, "no local/remote DRAM event") ||
		      s.dram_events[0][0]);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- per-node bandwidth from the memory controllers (numabw.c) -------- */

extern const char *hftmon_node_dir;

static char node_dir[64], pmu_dir[64];

static struct {
	int opens, closes, open_errno;
	struct { uint32_t type; uint64_t config; int cpu; } opened[8];
	uint64_t count[8];	/* by fd - 100 */
} bwf;

static int bw_open(struct perf_event_attr *attr, int cpu)
{
	if (bwf.open_errno) {
		errno = bwf.open_errno;
		return -1;
	}
	bwf.opened[bwf.opens].type = attr->type;
	bwf.opened[bwf.opens].config = attr->config;
	bwf.opened[bwf.opens].cpu = cpu;
	return 100 + bwf.opens++;
}

static ssize_t bw_read(int fd, void *buf, size_t n)
{
	memcpy(buf, &bwf.count[fd - 100], n);
	return (ssize_t)n;
}

static int bw_close(int fd)
{
	(void)fd;
	bwf.closes++;
	return 0;
}

static const struct hftmon_bw_ops fake_bw = {
	.perf_open = bw_open, .read = bw_read, .close = bw_close,
};

/* An Intel memory controller's PMU as the kernel's sysfs has it. */
static void imc(const char *name, const char *type, const char *cpumask)
{
	char d[256], e[300], f[300];

	snprintf(d, sizeof(d), "%s/%s", pmu_dir, name);
	snprintf(e, sizeof(e), "%s/events", d);
	snprintf(f, sizeof(f), "%s/format", d);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(mkdir(e, 0700), 0);
	assert_int_equal(mkdir(f, 0700), 0);
	fake_write_file(d, "type", type);
	fake_write_file(d, "cpumask", cpumask);
	fake_write_file(f, "event", "config:0-7\n");
	fake_write_file(f, "umask", "config:8-15\n");
	fake_write_file(e, "cas_count_read", "event=0x04,umask=0x03\n");
	fake_write_file(e, "cas_count_read.scale", "6.103515625e-5\n");
	fake_write_file(e, "cas_count_read.unit", "MiB\n");
	fake_write_file(e, "cas_count_write", "event=0x04,umask=0x0c\n");
	fake_write_file(e, "cas_count_write.scale", "6.103515625e-5\n");
	fake_write_file(e, "cas_count_write.unit", "MiB\n");
}

static int bw_setup(void **state)
{
	setup(state);
	memset(&bwf, 0, sizeof(bwf));
	snprintf(node_dir, sizeof(node_dir), "/tmp/hftmon-bwnode-XXXXXX");
	fake_two_nodes(node_dir);
	hftmon_node_dir = node_dir;
	snprintf(pmu_dir, sizeof(pmu_dir), "/tmp/hftmon-bwpmu-XXXXXX");
	assert_non_null(mkdtemp(pmu_dir));
	hftmon_pmu_dir = pmu_dir;
	hftmon_bw_set_ops(&fake_bw);
	return 0;
}

static int bw_teardown(void **state)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", node_dir, pmu_dir);
	assert_int_equal(system(cmd), 0);
	hftmon_node_dir = "/sys/devices/system/node";
	hftmon_pmu_dir = "/sys/bus/event_source/devices";
	hftmon_bw_set_ops(NULL);
	return teardown(state);
}

static void bw_stats(struct hftmon *m, struct hftmon_numa_stats *st)
{
	stats(m, 100, 0, 0, 0, st);
}

static void test_bandwidth(void **state)
{
	struct hftmon_numa_stats st;
	struct hftmon *m;
	int i;

	(void)state;
	imc("uncore_imc_0", "13\n", "0\n");
	imc("uncore_imc_1", "14\n", "1\n");
	/* Other events, on a PMU of its own: not these counters. */
	imc("uncore_imc_free_running_0", "15\n", "0\n");
	m = open_dram(NULL, 0);
	bw_stats(m, &st);
	assert_int_equal(st.bandwidth_status, -ENODATA);
	assert_int_equal(bwf.opens, 0);

	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(bwf.opens, 4);
	for (i = 0; i < 4; i++) {
		/* config built from the format files: umask << 8 | event */
		uint64_t want = bwf.opened[i].config == 0x304 ? 0x304 : 0xc04;

		assert_int_equal(bwf.opened[i].config, want);
		assert_int_equal(bwf.opened[i].cpu,
				 bwf.opened[i].type == 13 ? 0 : 1);
	}
	/* 1000 reads on node 0's controller, 10 writes on node 1's */
	for (i = 0; i < 4; i++) {
		if (bwf.opened[i].type == 13 && bwf.opened[i].config == 0x304)
			bwf.count[i] += 1000;
		if (bwf.opened[i].type == 14 && bwf.opened[i].config == 0xc04)
			bwf.count[i] += 10;
	}
	bw_stats(m, &st);
	assert_int_equal(st.bandwidth_status, 0);
	assert_int_equal(st.read_bytes[0], 64000);
	assert_int_equal(st.write_bytes[0], 0);
	assert_int_equal(st.read_bytes[1], 0);
	assert_int_equal(st.write_bytes[1], 640);
	assert_true(st.bandwidth_ns > 0);
	assert_non_null(strstr(st.bandwidth_why, "2 memory controllers"));

	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(bwf.closes, 4);
	/* Stopped: what was counted up to stop, whatever came after. */
	for (i = 0; i < 4; i++)
		bwf.count[i] += 5000;
	bw_stats(m, &st);
	assert_int_equal(st.read_bytes[0], 64000);
	assert_int_equal(st.write_bytes[1], 640);
	hftmon_close(m);
	assert_int_equal(bwf.closes, 4);
}

static void test_bandwidth_refused(void **state)
{
	struct hftmon_numa_stats st;
	struct hftmon *m;

	(void)state;
	imc("uncore_imc_0", "13\n", "0\n");
	bwf.open_errno = EACCES;
	m = open_dram(NULL, 0);
	assert_int_equal(hftmon_start(m), 0); /* the session runs without */
	bw_stats(m, &st);
	assert_int_equal(st.bandwidth_status, -EACCES);
	assert_non_null(strstr(st.bandwidth_why, "CAP_PERFMON"));
	assert_int_equal(st.read_bytes[0], 0);
	assert_int_equal(st.bandwidth_ns, 0);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);
}

static void test_bandwidth_absent(void **state)
{
	struct hftmon_numa_stats st;
	struct hftmon *m;
	char d[200];

	(void)state;
	/* No memory-controller PMU at all (a VM). */
	m = open_dram(NULL, 0);
	assert_int_equal(hftmon_start(m), 0);
	bw_stats(m, &st);
	assert_int_equal(st.bandwidth_status, -EOPNOTSUPP);
	assert_non_null(strstr(st.bandwidth_why, "no memory-controller PMU"));
	assert_int_equal(bwf.opens, 0);
	assert_int_equal(hftmon_stop(m), 0);
	hftmon_close(m);

	/* AMD's, which hftmon does not program: named, no value. */
	snprintf(d, sizeof(d), "%s/amd_df", pmu_dir);
	assert_int_equal(mkdir(d, 0700), 0);
	m = open_dram(NULL, 0);
	bw_stats(m, &st);
	assert_int_equal(st.bandwidth_status, -EOPNOTSUPP);
	assert_non_null(strstr(st.bandwidth_why, "amd_df"));
	hftmon_close(m);

	/* An encoding the format cannot hold: refused, never truncated. */
	imc("uncore_imc_0", "13\n", "0\n");
	snprintf(d, sizeof(d), "%s/uncore_imc_0/events", pmu_dir);
	fake_write_file(d, "cas_count_read", "event=0x104,umask=0x03\n");
	m = open_dram(NULL, 0);
	bw_stats(m, &st);
	assert_int_equal(st.bandwidth_status, -ENOENT);
	assert_non_null(strstr(st.bandwidth_why, "cas_count_read"));
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters_by_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_not_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_no_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bandwidth, bw_setup, bw_teardown),
		cmocka_unit_test_setup_teardown(test_bandwidth_refused, bw_setup, bw_teardown),
		cmocka_unit_test_setup_teardown(test_bandwidth_absent, bw_setup, bw_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
