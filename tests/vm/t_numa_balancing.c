// SPDX-License-Identifier: GPL-2.0
/*
 * NUMA balancing (issue 9, item 3, and item 2's node over time) against
 * the kernel's own counters, in the VM with two emulated nodes (CPU 0 on
 * node 0, CPU 1 on node 1), kernel.numa_balancing=1 and the balancer's
 * scan delay and period shortened through debugfs so it acts in seconds:
 *
 * A child process (the workload, the only one running) pins its main
 * thread to CPU 0, maps 16 MiB with MPOL_BIND to node 1, touches every
 * page, then drops the binding so the balancer may move the pages to the
 * node it runs on. It waits for the monitor's go, touches the buffer for
 * a few seconds while a second thread hops between CPU 0 and CPU 1
 * spinning, then blocks. The monitor (this process, whose own memory the
 * balancer never scans: its task policy is MPOL_BIND without
 * MPOL_F_NUMA_BALANCING) records the child with HFTMON_EV_NUMA and reads
 * /proc/vmstat just before the go and once the child is blocked again:
 * the child's hinting faults, local ones and pages migrated as
 * hftmon_get_numa_activity() sums them must equal the deltas of
 * numa_hint_faults, numa_hint_faults_local and numa_pages_migrated, and
 * be non-zero (the balancer did act). Per thread, the time on each node
 * from the switch records: the pinned thread's all on node 0, the hopper
 * on both nodes with a node change per hop, and each thread's total
 * against its schedstat run time delta.
 *
 * Booted with one node, where the kernel leaves kernel.numa_balancing 0
 * (and so does the test), the session runs and the answer is the
 * one-node one: no fault, every stint on node 0, no error.
 *
 * The page heatmap (hftmon_get_numa_stats(), HFTMON_NUMA_ACCESS records
 * from the kernel's numa_migrate_prep/_check, where numa_hint_faults is
 * counted): its samples, local ones and remote ones must equal the same
 * vmstat deltas and the FAULT records' counts, none missed; at least 95 %
 * of them on pages of the buffer, every one there touched from CPU node 0
 * (only the pinned thread touches it), and some of them on memory of node
 * 1 (the binding's) from node 0. Cache-line resolution is refused with
 * -EOPNOTSUPP. The PMU's DRAM counts (no CPU PMU in this VM, no libpfm4 in
 * the guest) and per-node bandwidth (no uncore PMU) are unsupported with
 * a reason and no value, in the library and the CLI's JSON alike. Then
 * the CLI, hftmon numa --duration --heatmap page
 * --json, records the child touching the buffer again, moved back to
 * node 1 first (the balancer, its pages local, had stopped faulting):
 * samples, no more than the numa_hint_faults delta, and its hottest
 * range inside the buffer. On one node: no sample, no error,
 * and the CLI's reason. On a kernel without
 * the balancer (PREEMPT_RT) the source's status must be -EOPNOTSUPP with
 * its reason, and a configuration asking for it -EOPNOTSUPP.
 */
#define _GNU_SOURCE
#include <linux/mempolicy.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

#define BUF_BYTES (16u << 20)
#define TOUCH_NS 6000000000ull
#define HOPS 6
#define CLI_TOUCH_NS 6000000000ull

struct vmstat {
	unsigned long long faults, local, migrated;
	bool present; /* the kernel counts them (CONFIG_NUMA_BALANCING's vmstat) */
};

static int read_vmstat(struct vmstat *v)
{
	char name[64];
	unsigned long long val;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -errno;
	memset(v, 0, sizeof(*v));
	while (fscanf(f, "%63s %llu", name, &val) == 2) {
		if (!strcmp(name, "numa_hint_faults"))
			v->faults = val, v->present = true;
		else if (!strcmp(name, "numa_hint_faults_local"))
			v->local = val;
		else if (!strcmp(name, "numa_pages_migrated"))
			v->migrated = val;
	}
	fclose(f);
	return 0;
}

static int write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(s, f) < 0)
		err = -EIO;
	if (fclose(f))
		err = -errno;
	return err;
}

static int pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

static uint64_t schedstat_ns(pid_t pid, pid_t tid)
{
	char path[96];
	unsigned long long run = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &run) != 1)
		run = 0;
	fclose(f);
	return run;
}

/* The thread's state letter from /proc (S: blocked). */
static char thread_state(pid_t pid, pid_t tid)
{
	char path[96], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* ---- the workload (the child) ------------------------------------------ */

static int to_parent, from_parent;
static volatile char *buf;
static uint64_t buf_addr; /* the child's buffer, as it tells the monitor */
static pid_t hopper_tid;

static void *hopper(void *arg)
{
	int i;

	(void)arg;
	hopper_tid = (pid_t)syscall(SYS_gettid);
	for (i = 0; i < HOPS; i++) {
		uint64_t end;

		if (pin(0, i % 2))
			_exit(3);
		end = mono_ns() + 150000000ull;
		while (mono_ns() < end)
			;
	}
	return NULL;
}

static int nodes;

static void child(void)
{
	/* The far node; on a one-node machine, the only one. */
	unsigned long node1 = 1ul << (nodes > 1 ? 1 : 0);
	pthread_t th;
	uint64_t end;
	size_t i;
	char c;

	if (pin(0, 0))
		_exit(2);
	buf = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/*
	 * Small pages, so that faults and migrations count pages alike; a
	 * kernel without madvise(2) (the debug tier's: ENOSYS) or without
	 * THP (EINVAL) has no huge pages to turn off.
	 */
	if (buf == MAP_FAILED ||
	    (madvise((void *)buf, BUF_BYTES, MADV_NOHUGEPAGE) &&
	     errno != ENOSYS && errno != EINVAL) ||
	    syscall(SYS_mbind, buf, BUF_BYTES, MPOL_BIND, &node1, 64, 0))
		_exit(2);
	for (i = 0; i < BUF_BYTES; i += 4096)
		buf[i] = 1;
	/* The pages stay on node 1; the balancer may now move them. */
	if (syscall(SYS_mbind, buf, BUF_BYTES, MPOL_DEFAULT, NULL, 0, 0))
		_exit(2);
	buf_addr = (uint64_t)(uintptr_t)buf;
	if (write(to_parent, &buf_addr, sizeof(buf_addr)) != sizeof(buf_addr) ||
	    read(from_parent, &c, 1) != 1)
		_exit(2);
	if (pthread_create(&th, NULL, hopper, NULL))
		_exit(2);
	end = mono_ns() + TOUCH_NS;
	while (mono_ns() < end)
		for (i = 0; i < BUF_BYTES; i += 4096)
			buf[i]++;
	pthread_join(th, NULL);
	if (write(to_parent, &hopper_tid, sizeof(hopper_tid)) !=
		    sizeof(hopper_tid) ||
	    read(from_parent, &c, 1) != 1)
		_exit(2);
	/* Again, alone, for the CLI's recording. */
	if (c == 'c') {
		/* Back to node 1 (the balancer moved them), remote again. */
		if (syscall(SYS_mbind, buf, BUF_BYTES, MPOL_BIND, &node1, 64,
			    MPOL_MF_MOVE) ||
		    syscall(SYS_mbind, buf, BUF_BYTES, MPOL_DEFAULT, NULL, 0, 0))
			_exit(2);
		end = mono_ns() + CLI_TOUCH_NS;
		while (mono_ns() < end)
			for (i = 0; i < BUF_BYTES; i += 4096)
				buf[i]++;
		if (write(to_parent, "d", 1) != 1 ||
		    read(from_parent, &c, 1) != 1)
			_exit(2);
	}
	_exit(0);
}

/* ---- the monitor ---------------------------------------------------------- */

static int nodes_online(void)
{
	struct hftmon_numa_node nd[4] = { [0].sz = sizeof(nd[0]) };

	return hftmon_get_numa_topology(NULL, nd, 4);
}

/* No balancer in this kernel: the source says why, and is refused. */
static int check_unsupported(struct hftmon *m, const struct hftmon_info *info)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA,
	};
	int st = info->source_status[HFTMON_SRC_NUMA_BALANCING];
	const char *why = hftmon_source_reason(HFTMON_SRC_NUMA_BALANCING, st);

	INFO("no NUMA balancing here: status %d (%s)", st, why ? why : "-");
	CHECK(st == -EOPNOTSUPP, "status %d", st);
	CHECK(why != NULL, "no reason");
	CHECK(access("/proc/sys/kernel/numa_balancing", F_OK) != 0,
	      "the kernel has kernel.numa_balancing but the module says it has no balancer");
	CHECK(hftmon_configure(m, &cfg) == -EOPNOTSUPP, "configure with EV_NUMA");
	hftmon_close(m);
	return vmtest_result();
}

/* Which of the functions the module probes for addresses this kernel has. */
static void kallsyms_info(void)
{
	char line[256];
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *name = strrchr(line, ' ');

		if (name && (!strcmp(name + 1, "numa_migrate_prep\n") ||
			     !strcmp(name + 1, "numa_migrate_check\n") ||
			     !strcmp(name + 1, "task_numa_fault\n"))) {
			line[strcspn(line, "\n")] = '\0';
			INFO("kallsyms: %s", strchr(line, ' ') + 1);
		}
	}
	fclose(f);
}

/*
 * The heatmap against the same ground truth: the vmstat deltas of the
 * window and the FAULT records' counts (faults, local).
 */
static void check_heatmap(struct hftmon *m, const struct hftmon_info *info,
			  pid_t pid, const struct vmstat *a,
			  const struct vmstat *b, unsigned long long faults,
			  unsigned long long local)
{
	struct hftmon_numa_stats_query sq = {
		.sz = sizeof(sq), .pid = pid,
		.resolution = HFTMON_NUMA_RES_CACHELINE,
	};
	struct hftmon_numa_stats st = { .sz = sizeof(st) };
	size_t max = 1u << 15, i;
	unsigned long long in_buf = 0, remote_in_buf = 0, by = 0;
	unsigned long long hot = 0, cpu1_in_buf = 0;
	struct hftmon_numa_heat *heat;
	int rows, j, k;

	kallsyms_info();
	if (!(info->features & HFTMON_FEAT_NUMA_ACCESS)) {
		CHECK(false, "NUMA balancing without fault addresses (no HFTMON_FEAT_NUMA_ACCESS)");
		return;
	}
	CHECK(hftmon_get_numa_stats(m, &sq, &st) == -EOPNOTSUPP,
	      "cache-line resolution");
	heat = calloc(max, sizeof(*heat));
	REQUIRE(heat, "heat rows");
	heat[0].sz = sizeof(*heat);
	sq.resolution = HFTMON_NUMA_RES_PAGE;
	sq.heat = heat;
	sq.max_heat = max;
	rows = hftmon_get_numa_stats(m, &sq, &st);
	REQUIRE(rows >= 0, "stats: %d", rows);
	CHECK((size_t)rows <= max, "%d rows", rows);
	if ((size_t)rows > max)
		rows = (int)max;
	INFO("heatmap: %s, %llu samples (local %llu, remote %llu, unknown %llu, missed %llu), %d rows, %u nodes",
	     st.source, (unsigned long long)st.samples,
	     (unsigned long long)st.local, (unsigned long long)st.remote,
	     (unsigned long long)st.unknown, (unsigned long long)st.missed,
	     rows, st.nr_nodes);
	for (j = 0; j < (int)st.nr_nodes && j < 2; j++)
		for (k = 0; k < (int)st.nr_nodes && k < 2; k++)
			INFO("  memory node %d, CPU node %d: %llu", j, k,
			     (unsigned long long)st.by_node[j][k]);
	/*
	 * No CPU PMU here (and no libpfm4 in the guest): the counted side
	 * says why, with no number; and no memory-controller PMU either.
	 */
	INFO("PMU DRAM counts: state %u/%u status %d: %s; bandwidth %d: %s",
	     st.dram_local.state, st.dram_remote.state, st.dram_local.status,
	     st.dram_why, st.bandwidth_status, st.bandwidth_why);
	CHECK(st.dram_local.state == HFTMON_PMU_UNSUPPORTED &&
		      st.dram_remote.state == HFTMON_PMU_UNSUPPORTED &&
		      !st.dram_local.value && !st.dram_remote.value &&
		      st.dram_local.status < 0 && st.dram_why[0],
	      "DRAM counts without a PMU: state %u value %llu status %d",
	      st.dram_local.state, (unsigned long long)st.dram_local.value,
	      st.dram_local.status);
	CHECK(st.bandwidth_status == -EOPNOTSUPP &&
		      strstr(st.bandwidth_why, "no memory-controller PMU"),
	      "bandwidth %d: %s", st.bandwidth_status, st.bandwidth_why);
	CHECK(st.missed == 0 && st.unknown == 0, "missed %llu, unknown %llu",
	      (unsigned long long)st.missed, (unsigned long long)st.unknown);
	CHECK(st.samples == st.local + st.remote + st.unknown, "sums");
	for (j = 0; j < HFTMON_NUMA_MAX_NODES; j++)
		for (k = 0; k < HFTMON_NUMA_MAX_NODES; k++)
			by += st.by_node[j][k];
	CHECK(by == st.local + st.remote, "by_node sums to %llu", by);
	if (b->present) {
		CHECK(st.samples == b->faults - a->faults,
		      "samples %llu, numa_hint_faults delta %llu",
		      (unsigned long long)st.samples, b->faults - a->faults);
		CHECK(st.local == b->local - a->local,
		      "local %llu, numa_hint_faults_local delta %llu",
		      (unsigned long long)st.local, b->local - a->local);
	}
	/* The FAULT records are the same faults, seen at task_numa_fault(). */
	CHECK(st.samples == faults && st.local == local,
	      "samples %llu/%llu local, FAULT records %llu/%llu",
	      (unsigned long long)st.samples, (unsigned long long)st.local,
	      faults, local);
	for (i = 0; i < (size_t)rows; i++) {
		const struct hftmon_numa_heat *h = &heat[i];

		/* Small pages in the buffer (MADV_NOHUGEPAGE); any elsewhere. */
		CHECK(h->addr % 4096 == 0 && h->count > 0 &&
			      (h->bytes == 4096 ||
			       h->addr < buf_addr || h->addr >= buf_addr + BUF_BYTES),
		      "row %zu: %#llx %llu bytes count %llu", i,
		      (unsigned long long)h->addr,
		      (unsigned long long)h->bytes,
		      (unsigned long long)h->count);
		if (i && (heat[i - 1].addr > h->addr))
			CHECK(false, "rows out of address order at %zu", i);
		hot += h->count;
		if (h->addr >= buf_addr && h->addr < buf_addr + BUF_BYTES) {
			in_buf += h->count;
			if (h->cpu_node != 0)
				cpu1_in_buf += h->count;
			if (h->mem_node == 1 && h->cpu_node == 0)
				remote_in_buf += h->count;
		}
	}
	INFO("heatmap rows: %llu samples, %llu on the buffer's pages (%llu of node 1 memory from CPU node 0, %llu from another CPU node)",
	     hot, in_buf, remote_in_buf, cpu1_in_buf);
	CHECK(hot == st.samples, "rows sum to %llu of %llu", hot,
	      (unsigned long long)st.samples);
	CHECK(in_buf * 100 >= st.samples * 95, "%llu of %llu in the buffer",
	      in_buf, (unsigned long long)st.samples);
	CHECK(cpu1_in_buf == 0, "buffer touched from another node than 0");
	if (nodes > 1)
		CHECK(remote_in_buf > 0, "no sample of node 1 memory from node 0");
	else
		CHECK(st.samples == 0 && rows == 0, "samples on one node");
	free(heat);
}

/* A number after key in s, or -1. */
static long long json_num(const char *s, const char *key)
{
	const char *p = s ? strstr(s, key) : NULL;

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/*
 * The CLI over the child's second touching: --top 1, the hottest range,
 * must lie in the buffer, and on two nodes hold samples.
 */
static void check_cli(pid_t pid, int from_child, int to_child)
{
	static char out[1 << 16];
	struct vmstat a, b;
	unsigned long long start = 0, end = 0;
	const char *heat, *r;
	char cmd[160], c;
	size_t len = 0, got;
	long long samples;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "./bin/hftmon numa -p %d --duration 8 --heatmap page --top 1 --json",
		 (int)pid);
	p = popen(cmd, "r");
	REQUIRE(p, "popen %s", cmd);
	usleep(1500000); /* attached and started (TCG is slow) */
	REQUIRE(read_vmstat(&a) == 0, "vmstat");
	REQUIRE(write(to_child, "c", 1) == 1, "again");
	REQUIRE(read(from_child, &c, 1) == 1, "the child's second end");
	REQUIRE(read_vmstat(&b) == 0, "vmstat");
	INFO("while the CLI recorded: numa_hint_faults +%llu (local +%llu)",
	     b.faults - a.faults, b.local - a.local);
	while (len < sizeof(out) - 1 &&
	       (got = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += got;
	out[len] = '\0';
	st = pclose(p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x", cmd, st);
	r = strstr(out, "\"pmu_dram\": {");
	INFO("CLI PMU DRAM: %.240s", r ? r : "(none)");
	CHECK(r && strstr(r, "\"local\": {\"state\": \"unsupported\", \"value\": null") &&
		      strstr(r, "\"remote\": {\"state\": \"unsupported\", \"value\": null") &&
		      strstr(r, "\"bandwidth\": {\"supported\": false, \"reason\": \"no memory-controller PMU"),
	      "the CLI's DRAM counts without a PMU: %.300s", r ? r : out);
	heat = strstr(out, "\"heatmap\": {");
	CHECK(heat, "no heatmap in: %.300s", out);
	if (!heat)
		return;
	samples = json_num(heat, "\"samples\": ");
	r = strstr(heat, "\"ranges\": [{\"start\": \"");
	if (r && sscanf(r, "\"ranges\": [{\"start\": \"%llx\", \"end\": \"%llx\"",
			&start, &end) != 2)
		start = end = 0;
	INFO("CLI heatmap: %lld samples (local %lld, remote %lld), hottest range %#llx-%#llx of the buffer %#llx-%#llx",
	     samples, json_num(heat, "\"local\": "),
	     json_num(heat, "\"remote\": "), start, end,
	     (unsigned long long)buf_addr,
	     (unsigned long long)buf_addr + BUF_BYTES);
	if (nodes > 1) {
		CHECK(samples > 0, "the CLI sampled nothing");
		/*
		 * Its window covers the touching, and nothing faults outside
		 * it; where /proc/vmstat keeps the count (not the debug tier's).
		 */
		CHECK(!b.present ||
			      (unsigned long long)samples <= b.faults - a.faults,
		      "the CLI's %lld samples, numa_hint_faults +%llu", samples,
		      b.faults - a.faults);
		CHECK(start >= buf_addr && end > start &&
			      end <= buf_addr + BUF_BYTES,
		      "hottest range %#llx-%#llx outside the buffer", start,
		      end);
	} else {
		CHECK(samples == 0 && strstr(heat, "\"reason\": \"one NUMA node"),
		      "one node: %.200s", heat);
	}
}

static void shorten_scans(void)
{
	static const char *const knobs[][2] = {
		{ "scan_delay_ms", "0" },
		{ "scan_period_min_ms", "100" },
		{ "scan_period_max_ms", "400" },
	};
	char path[128];
	size_t i;

	if (access("/sys/kernel/debug/sched", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(path, sizeof(path),
			 "/sys/kernel/debug/sched/numa_balancing/%s",
			 knobs[i][0]);
		if (write_str(path, knobs[i][1]))
			INFO("%s: cannot set (the balancer keeps its own pace)",
			     path);
	}
}

int main(void)
{
	struct hftmon_open_opts oo = { .sz = sizeof(oo) };
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA,
		.ring_pages = 256,
		.drain_thread = true,
	};
	struct hftmon_info info = { .size = sizeof(info) };
	struct hftmon_attach_opts ao = { .sz = sizeof(ao), .track_numa = true };
	struct hftmon_numa_activity act[8] = { [0].sz = sizeof(act[0]) };
	struct hftmon_numa_event ev[1] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_numa_query q = { .sz = sizeof(q) };
	struct hftmon_stats_summary st = { .sz = sizeof(st) };
	unsigned long long faults = 0, local = 0, migrated = 0, failed = 0;
	unsigned long long moves = 0;
	uint64_t run0[1], run1[1];
	int up[2], down[2], n, i, status;
	unsigned long both = 3ul;
	struct vmstat a, b;
	struct hftmon *m;
	pid_t pid, tids[2];

	setvbuf(stdout, NULL, _IONBF, 0);
	nodes = nodes_online();
	REQUIRE(nodes >= 1, "topology: %d", nodes);
	REQUIRE(hftmon_open(&oo, &m) == 0, "open");
	REQUIRE(hftmon_get_info(m, &info) == 0, "info");
	if (!(info.features & HFTMON_FEAT_NUMA_BALANCING))
		return check_unsupported(m, &info);
	CHECK(info.source_status[HFTMON_SRC_NUMA_BALANCING] == 0, "status %d",
	      info.source_status[HFTMON_SRC_NUMA_BALANCING]);
	/*
	 * One node: the kernel left the balancer off (nothing to balance);
	 * so does the test, and the answer must be that, without an error.
	 */
	if (nodes > 1) {
		REQUIRE(write_str("/proc/sys/kernel/numa_balancing", "1") == 0,
			"kernel.numa_balancing=1");
		shorten_scans();
	}

	REQUIRE(pipe(up) == 0 && pipe(down) == 0, "pipe");
	pid = fork();
	REQUIRE(pid >= 0, "fork");
	if (!pid) {
		to_parent = up[1];
		from_parent = down[0];
		child();
	}
	close(up[1]);
	close(down[0]);
	/* The balancer scans a task's memory only under a MOF policy: not ours. */
	if (nodes > 1)
		REQUIRE(syscall(SYS_set_mempolicy, MPOL_BIND, &both, 64) == 0,
			"set_mempolicy: %s", strerror(errno));
	REQUIRE(read(up[0], &buf_addr, sizeof(buf_addr)) == sizeof(buf_addr),
		"the child's setup (it exited?)");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(hftmon_attach_process(m, pid, &ao) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	tids[0] = pid;
	run0[0] = schedstat_ns(pid, pid);
	REQUIRE(read_vmstat(&a) == 0, "vmstat");
	REQUIRE(write(down[1], "g", 1) == 1, "go");
	REQUIRE(read(up[0], &tids[1], sizeof(tids[1])) == sizeof(tids[1]),
		"the child's end");
	/* Blocked in its read: it touches nothing more. */
	for (i = 0; i < 1000 && thread_state(pid, pid) != 'S'; i++)
		usleep(1000);
	CHECK(thread_state(pid, pid) == 'S', "the child is not blocked");
	REQUIRE(read_vmstat(&b) == 0, "vmstat");
	run1[0] = schedstat_ns(pid, pid);
	REQUIRE(hftmon_stop(m) == 0, "stop");

	n = hftmon_get_numa_activity(m, &q, act, 8);
	REQUIRE(n >= 1 && n <= 8, "activity: %d", n);
	for (i = 0; i < n; i++) {
		const struct hftmon_numa_activity *t = &act[i];

		CHECK(t->pid == pid, "thread %d of pid %d", t->tid, t->pid);
		faults += t->hint_faults;
		local += t->hint_faults_local;
		migrated += t->pages_migrated;
		failed += t->pages_migrate_failed;
		moves += t->task_moves + t->task_swaps + t->task_sticks;
		CHECK(t->hint_faults == t->hint_faults_local + t->hint_faults_remote,
		      "tid %d", t->tid);
		INFO("tid %d: faults %llu local %llu migrated %llu failed %llu moves %llu swaps %llu sticks %llu; node %d, %u changes, on node 0 %.1f ms, node 1 %.1f ms, unknown %.1f ms",
		     t->tid, (unsigned long long)t->hint_faults,
		     (unsigned long long)t->hint_faults_local,
		     (unsigned long long)t->pages_migrated,
		     (unsigned long long)t->pages_migrate_failed,
		     (unsigned long long)t->task_moves,
		     (unsigned long long)t->task_swaps,
		     (unsigned long long)t->task_sticks, t->node,
		     t->node_changes, t->on_node_ns[0] / 1e6,
		     t->on_node_ns[1] / 1e6, t->on_unknown_ns / 1e6);
		CHECK(t->on_unknown_ns == 0, "tid %d: time on no node", t->tid);
		if (t->tid == tids[0]) {
			uint64_t rec = t->on_node_ns[0] + t->on_node_ns[1];
			uint64_t ran = run1[0] - run0[0];

			/* Pinned to CPU 0: node 0 only. */
			CHECK(t->on_node_ns[1] == 0, "pinned thread on node 1");
			CHECK(t->node == 0, "node %d", t->node);
			INFO("pinned thread: %.1f ms on CPU by its switches, %.1f ms by schedstat",
			     rec / 1e6, ran / 1e6);
			CHECK(rec <= ran + ran / 20 + 2000000 &&
				      rec + ran / 20 + 2000000 >= ran,
			      "%llu ns recorded, %llu ns by schedstat",
			      (unsigned long long)rec, (unsigned long long)ran);
		} else if (t->tid == tids[1] && nodes > 1) {
			CHECK(t->on_node_ns[0] > 0 && t->on_node_ns[1] > 0,
			      "the hopper ran on both nodes");
			CHECK(t->node_changes >= HOPS - 1, "%u node changes",
			      t->node_changes);
		}
	}
	CHECK(hftmon_get_stats(m, &st, NULL, 0) == 0, "stats");
	CHECK(st.lost_total == 0 && st.aggregator_dropped == 0,
	      "lost %llu, dropped %llu: the comparison needs every record",
	      (unsigned long long)st.lost_total,
	      (unsigned long long)st.aggregator_dropped);
	INFO("recorded: hinting faults %llu (local %llu), pages migrated %llu (failed %llu), task moves/swaps/sticks %llu",
	     faults, local, migrated, failed, moves);
	INFO("/proc/vmstat deltas: numa_hint_faults %llu, numa_hint_faults_local %llu, numa_pages_migrated %llu",
	     b.faults - a.faults, b.local - a.local, b.migrated - a.migrated);
	/*
	 * A kernel that keeps no NUMA counters in /proc/vmstat (the debug
	 * tier's, without VM_EVENT_COUNTERS) has no ground truth to compare:
	 * said, and the rest still checked; Debian's kernels all have them.
	 */
	if (!b.present) {
		INFO("this kernel's /proc/vmstat has no numa_* counters: the counts are not compared here");
	} else {
		CHECK(faults == b.faults - a.faults, "hinting faults");
		CHECK(local == b.local - a.local, "local hinting faults");
		CHECK(migrated == b.migrated - a.migrated, "pages migrated");
	}
	if (nodes > 1) {
		CHECK(faults > 0, "the balancer made no hinting fault");
		CHECK(migrated > 0, "the balancer migrated nothing");
		CHECK(faults > local, "no remote fault, yet the pages were on node 1");
	} else {
		FILE *f = fopen("/proc/sys/kernel/numa_balancing", "r");
		int on = -1;

		if (f) {
			if (fscanf(f, "%d", &on) != 1)
				on = -1;
			fclose(f);
		}
		INFO("one node: kernel.numa_balancing %d, the balancer has nothing to balance",
		     on);
		CHECK(on == 0, "the kernel left the balancer on with one node");
		CHECK(faults == 0 && migrated == 0, "faults on one node");
		for (i = 0; i < n; i++)
			CHECK(act[i].on_node_ns[1] == 0 && act[i].node_changes == 0,
			      "tid %d off node 0", act[i].tid);
	}
	n = hftmon_get_numa_events(m, &q, ev, 1);
	CHECK(n >= 0, "events: %d", n);
	INFO("%d NUMA events in the histories", n);
	check_heatmap(m, &info, pid, &a, &b, faults, local);
	hftmon_close(m);
	check_cli(pid, up[0], down[1]);
	REQUIRE(write(down[1], "x", 1) == 1, "exit");
	REQUIRE(waitpid(pid, &status, 0) == pid, "wait");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x",
	      status);
	return vmtest_result();
}
