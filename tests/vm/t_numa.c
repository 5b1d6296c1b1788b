// SPDX-License-Identifier: GPL-2.0
/*
 * NUMA placement against the kernel's own account, in the VM with two
 * emulated nodes (CPU 0 on node 0, CPU 1 on node 1):
 *
 * 1. Topology: hftmon_get_numa_topology() gives the layout
 *    tools/vm/vm.sh asked qemu for (node 0: CPU 0, node 1: CPU 1, qemu's
 *    default distances 10 and 20), as many nodes as
 *    /sys/devices/system/node/online lists, each node's CPUs and
 *    distances as its sysfs files, and its meminfo's MemTotal.
 * 2. Residency: this process, pinned to CPU 0, maps 8 MiB bound to node 1
 *    (mbind MPOL_BIND) and 4 MiB bound to node 0 and touches every page;
 *    hftmon_get_numa_residency() (which reads numa_maps) must give, for
 *    each mapping, what move_pages(2) says of its pages one by one, and
 *    what the binding made: 2048 pages on node 1 and 1024 on node 0, none
 *    elsewhere; then, after 1 MiB of the node-1 buffer is released
 *    (MADV_DONTNEED), 256 fewer.
 * 3. Errors: a pid that does not exist is -ESRCH.
 * 4. The heatmap at cache-line resolution (numa_line_period): x86 TCG
 *    has no PMU, so neither PEBS nor IBS: the library configures, and the
 *    query and hftmon_numa_cacheline_status() refuse it with
 *    -EOPNOTSUPP and a reason that names the errno the kernel gave for
 *    the event it was asked (ENOENT: no PMU takes a precise hardware
 *    sample), no number; hftmon numa --heatmap cacheline refuses it in
 *    one line with the same reason, and with --json in a document that
 *    says so, both exit status 1. Where the module has no NUMA events
 *    (PREEMPT_RT), the CLI says that it needs them.
 *
 * Booted with one node (no -numa), it checks the one-node answer: one
 * node, every CPU, and every resident page of the buffers on node 0
 * (each buffer kept a mapping of its own by a guard page: unbound, two
 * adjacent ones would be merged into one).
 */
#define _GNU_SOURCE
#include <linux/mempolicy.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

#define MAX_MAPS 512

static struct hftmon_numa_mapping maps[MAX_MAPS];

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

/* "0-1,3" into a mask of 64 bits. */
static uint64_t parse_list(const char *s)
{
	uint64_t m = 0;

	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (; a <= b && a < 64; a++)
			m |= 1ull << a;
		s = *end == ',' ? end + 1 : end;
	}
	return m;
}

/*
 * The node of every page of [p, p + len), asked of the kernel with
 * move_pages(2) in query mode (another door than numa_maps, which the
 * library reads): how many are on node.
 */
static long pages_on(void *p, size_t len, int node)
{
	static void *addr[4096];
	static int status[4096];
	size_t i, n = len / 4096;
	long on = 0;

	REQUIRE(n <= 4096, "pages_on: %zu pages", n);
	for (i = 0; i < n; i++)
		addr[i] = (char *)p + i * 4096;
	REQUIRE(syscall(SYS_move_pages, 0, n, addr, NULL, status, 0) == 0,
		"move_pages: %s", strerror(errno));
	for (i = 0; i < n; i++)
		on += status[i] == node;
	return on;
}

static const struct hftmon_numa_mapping *find(int n, void *addr)
{
	int i;

	for (i = 0; i < n && i < MAX_MAPS; i++)
		if (maps[i].start == (uint64_t)(uintptr_t)addr)
			return &maps[i];
	return NULL;
}

/*
 * len bytes bound to node, followed by a PROT_NONE guard page: on one
 * node there is no binding, and two adjacent anonymous mappings of the
 * same protection and policy are merged by the kernel into one, which
 * /proc/PID/maps then lists once (the buffers would not be told apart).
 */
static void *bound(size_t len, int node, int nodes)
{
	unsigned long mask = 1ul << node;
	char *p = mmap(NULL, len + 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	REQUIRE(p != MAP_FAILED, "mmap: %s", strerror(errno));
	REQUIRE(mprotect(p + len, 4096, PROT_NONE) == 0, "guard page: %s",
		strerror(errno));
	if (nodes > 1)
		REQUIRE(syscall(SYS_mbind, p, len, MPOL_BIND, &mask, 64, 0) == 0,
			"mbind node %d: %s", node, strerror(errno));
	memset(p, 0x5a, len);
	return p;
}

/* The library's view of the mapping at addr against move_pages(2). */
static void check_mapping(int n, void *addr, size_t len, int nodes,
			  const char *what)
{
	const struct hftmon_numa_mapping *mp = find(n, addr);
	int node;

	CHECK(mp, "%s: no mapping at %p", what, addr);
	if (!mp)
		return;
	for (node = 0; node < nodes; node++) {
		long want = pages_on(addr, len, node);

		CHECK((long)mp->pages[node] == want,
		      "%s: node %d: %llu pages, move_pages %ld", what, node,
		      (unsigned long long)mp->pages[node], want);
	}
	INFO("%s: %llu resident pages: node 0 %llu, node 1 %llu (move_pages %ld, %ld)",
	     what, (unsigned long long)mp->resident,
	     (unsigned long long)mp->pages[0],
	     (unsigned long long)mp->pages[1], pages_on(addr, len, 0),
	     nodes > 1 ? pages_on(addr, len, 1) : 0);
}

/* The command's output (stdout and stderr) and its exit status. */
static int run(const char *cmd, char *out, size_t len)
{
	size_t got;
	FILE *p = popen(cmd, "r");
	int st;

	REQUIRE(p, "popen %s", cmd);
	got = fread(out, 1, len - 1, p);
	out[got] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_cacheline(void)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .events = HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA,
		.numa_line_period = 2003,
	};
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .resolution = HFTMON_NUMA_RES_CACHELINE,
	};
	struct hftmon_info info = { .size = sizeof(info) };
	static struct hftmon_numa_stats st;
	char why[320], cmd[160], out[4096], name[32] = "";
	const char *e, *end;
	struct hftmon *m;
	int r;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_get_info(m, &info) == 0, "info");
	if (!(info.features & HFTMON_FEAT_NUMA_BALANCING)) {
		hftmon_close(m);
		snprintf(cmd, sizeof(cmd),
			 "./bin/hftmon numa -p %d --duration 0.1 --heatmap cacheline 2>&1",
			 (int)getpid());
		r = run(cmd, out, sizeof(out));
		CHECK(r == 1 && strstr(out, "--heatmap cacheline: unsupported: it needs the module's NUMA events"),
		      "%s: %d %s", cmd, r, out);
		INFO("cache-line heatmap without NUMA events: %s", out);
		return;
	}
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure with numa_line_period");
	r = hftmon_numa_cacheline_status(m, why, sizeof(why));
	CHECK(r == -EOPNOTSUPP, "cache-line status %d: %s", r, why);
	INFO("cache-line heatmap: %s", why);
	/* The kernel's errno by name, "(ENOENT)", and no number for it. */
	e = strstr(why, "(E");
	end = e ? strchr(e, ')') : NULL;
	CHECK(e && end && end - e < (long)sizeof(name),
	      "no errno name in the reason: %s", why);
	if (e && end && end - e < (long)sizeof(name))
		snprintf(name, sizeof(name), "%.*s", (int)(end - e + 1), e);
	CHECK(!strstr(why, "errno 2") && !strstr(why, "-2)"),
	      "a number for the errno: %s", why);
	CHECK(strstr(why, "cycles:p") || strstr(why, "refused"),
	      "the reason names no event tried: %s", why);
	REQUIRE(hftmon_attach_process(m, getpid(), NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	st.sz = sizeof(st);
	r = hftmon_get_numa_stats(m, &q, &st);
	CHECK(r == -EOPNOTSUPP, "cache-line query: %d", r);
	CHECK(hftmon_stop(m) == 0, "stop");
	hftmon_close(m);

	snprintf(cmd, sizeof(cmd),
		 "./bin/hftmon numa -p %d --duration 0.1 --heatmap cacheline 2>&1",
		 (int)getpid());
	r = run(cmd, out, sizeof(out));
	CHECK(r == 1, "%s: exit %d: %s", cmd, r, out);
	CHECK(strstr(out, "numa: --heatmap cacheline: unsupported: ") &&
		      strstr(out, why) && strstr(out, ": use --heatmap page\n") &&
		      !strchr(out, '\n')[1],
	      "%s: not the library's reason in one line: %s", cmd, out);
	INFO("hftmon numa --heatmap cacheline: %s", out);
	snprintf(cmd, sizeof(cmd),
		 "./bin/hftmon numa -p %d --duration 0.1 --heatmap cacheline --json",
		 (int)getpid());
	r = run(cmd, out, sizeof(out));
	CHECK(r == 1, "%s: exit %d: %s", cmd, r, out);
	CHECK(strstr(out, "\"heatmap\": {\"resolution\": \"cacheline\", \"supported\": false, \"errno\": \"EOPNOTSUPP\", \"reason\": ") &&
		      *name && strstr(out, name),
	      "%s: %s", cmd, out);
}

int main(void)
{
	struct hftmon_numa_node nd[HFTMON_NUMA_MAX_NODES] = { [0].sz = sizeof(nd[0]) };
	struct hftmon *m;
	char buf[8192], path[128];
	cpu_set_t cpu0;
	int nodes, n, i, j, online;
	void *far, *near;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	online = __builtin_popcountll(
		read_file("/sys/devices/system/node/online", buf, sizeof(buf)) > 0 ?
			parse_list(buf) : 1);
	nodes = hftmon_get_numa_topology(m, nd, HFTMON_NUMA_MAX_NODES);
	CHECK(nodes == online, "topology: %d nodes, sysfs lists %d", nodes,
	      online);
	/* What tools/vm/vm.sh asked qemu for (two vCPUs, two nodes). */
	if (nodes == 2) {
		CHECK(nd[0].cpus[0] == 1 && nd[1].cpus[0] == 2,
		      "qemu's layout: node 0 cpus %#llx, node 1 %#llx",
		      (unsigned long long)nd[0].cpus[0],
		      (unsigned long long)nd[1].cpus[0]);
		CHECK(nd[0].distance[0] == 10 && nd[0].distance[1] == 20 &&
		      nd[1].distance[0] == 20 && nd[1].distance[1] == 10,
		      "qemu's default distances 10/20: %d %d %d %d",
		      nd[0].distance[0], nd[0].distance[1], nd[1].distance[0],
		      nd[1].distance[1]);
	}
	for (i = 0; i < nodes && i < HFTMON_NUMA_MAX_NODES; i++) {
		long long kb = -1;
		char *p;

		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%d/cpulist", nd[i].node);
		if (read_file(path, buf, sizeof(buf)) > 0)
			CHECK(nd[i].cpus[0] == parse_list(buf),
			      "node %d: cpus %#llx, sysfs %s", nd[i].node,
			      (unsigned long long)nd[i].cpus[0], buf);
		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%d/distance", nd[i].node);
		if (read_file(path, buf, sizeof(buf)) > 0) {
			p = buf;
			for (j = 0; j < nodes; j++)
				CHECK(nd[i].distance[j] == (int)strtol(p, &p, 10),
				      "node %d: distance to %d: %d", nd[i].node,
				      j, nd[i].distance[j]);
		}
		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%d/meminfo", nd[i].node);
		if (read_file(path, buf, sizeof(buf)) > 0 &&
		    (p = strstr(buf, "MemTotal:")))
			kb = strtoll(p + 9, NULL, 10);
		CHECK((long long)(nd[i].mem_total_bytes / 1024) == kb,
		      "node %d: %llu kB, meminfo MemTotal %lld kB", nd[i].node,
		      (unsigned long long)(nd[i].mem_total_bytes / 1024), kb);
		INFO("node %d: cpus %#llx, %llu MiB (%llu free), distances %d %d",
		     nd[i].node, (unsigned long long)nd[i].cpus[0],
		     (unsigned long long)(nd[i].mem_total_bytes >> 20),
		     (unsigned long long)(nd[i].mem_free_bytes >> 20),
		     nd[i].distance[0], nd[i].distance[1]);
	}

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	REQUIRE(sched_setaffinity(0, sizeof(cpu0), &cpu0) == 0, "pin to CPU 0");
	far = bound(8 << 20, nodes > 1 ? 1 : 0, nodes);
	near = bound(4 << 20, 0, nodes);
	maps[0].sz = sizeof(maps[0]);
	n = hftmon_get_numa_residency(m, getpid(), maps, MAX_MAPS);
	CHECK(n > 2, "residency: %d mappings", n);
	check_mapping(n, far, 8 << 20, nodes, "8 MiB bound to node 1");
	check_mapping(n, near, 4 << 20, nodes, "4 MiB bound to node 0");
	if (nodes > 1) {
		const struct hftmon_numa_mapping *mp = find(n, far);

		const struct hftmon_numa_mapping *np = find(n, near);

		CHECK(np && np->pages[0] == 1024 && np->pages[1] == 0,
		      "the node-0 buffer: %llu on node 0, %llu on node 1",
		      np ? (unsigned long long)np->pages[0] : 0ull,
		      np ? (unsigned long long)np->pages[1] : 0ull);
		CHECK(mp && mp->pages[1] == 2048 && mp->pages[0] == 0,
		      "the node-1 buffer: %llu on node 1, %llu on node 0",
		      mp ? (unsigned long long)mp->pages[1] : 0ull,
		      mp ? (unsigned long long)mp->pages[0] : 0ull);
	}
	/* The KUnit kernel is built without madvise (CONFIG_ADVISE_SYSCALLS). */
	if (madvise(far, 1 << 20, MADV_DONTNEED) == 0) {
		n = hftmon_get_numa_residency(m, getpid(), maps, MAX_MAPS);
		check_mapping(n, far, 8 << 20, nodes, "after 1 MiB released");
		CHECK(find(n, far) && find(n, far)->resident == 1792,
		      "after release: %llu resident, want 1792",
		      find(n, far) ? (unsigned long long)find(n, far)->resident :
				     0ull);
	} else {
		CHECK(errno == ENOSYS, "madvise: %s", strerror(errno));
		INFO("madvise: %s: the release is not checked on this kernel",
		     strerror(errno));
	}
	CHECK(hftmon_get_numa_residency(m, 999999, maps, MAX_MAPS) == -ESRCH,
	      "no such pid");
	/* The CLI says the same of this process: node 1 holds the buffer. */
	{
		char cmd[64], out[1 << 16];
		size_t got;
		FILE *p;
		char *q;

		snprintf(cmd, sizeof(cmd), "./bin/hftmon numa -p %d --json",
			 (int)getpid());
		p = popen(cmd, "r");
		REQUIRE(p, "popen %s", cmd);
		got = fread(out, 1, sizeof(out) - 1, p);
		out[got] = '\0';
		CHECK(pclose(p) == 0, "%s failed: %s", cmd, out);
		const char *key = nodes > 1 ? "{\"node\": 1, \"pages\": " :
					      "{\"node\": 0, \"pages\": ";

		q = strstr(out, key);
		CHECK(q && strtoull(q + strlen(key), NULL, 10) >= 1792,
		      "hftmon numa: the buffer's node holds %s", q ? q : "nothing");
	}
	hftmon_close(m);
	check_cacheline();
	return vmtest_result();
}
