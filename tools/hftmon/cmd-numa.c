// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon numa -p PID: where a process's memory is and where its threads
 * run. The machine's nodes (CPUs, memory, distances:
 * hftmon_get_numa_topology()); per target process, its resident pages on
 * each node in all and per mapping, largest first, asked of the kernel
 * page by page (hftmon_get_numa_residency()), beside the node of the CPU
 * each of its threads is on now (hftmon_get_thread_scheduling_info()):
 * pages on a node where none of its threads runs are remote to all of
 * them. Every --interval, --count times, or once. Needs no module: it
 * reads the kernel's page tables and sysfs, nothing is recorded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct numa_args {
	struct cli_targets targets;
	double interval; /* 0: once */
	unsigned long long count;
	unsigned long long top;
	bool json;
};

enum { OPT_TOP = 0x100, OPT_NJSON };

static void parse_numa(int argc, char **argv, struct numa_args *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "json", no_argument, NULL, OPT_NJSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->top = 10;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:i:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			targets_add(&a->targets, "numa", 'p', optarg);
			break;
		case 'i':
			a->interval = parse_seconds_arg("numa", "--interval",
							optarg);
			break;
		case 'c':
			a->count = parse_count_arg("numa", "--count", optarg,
						   false);
			break;
		case OPT_TOP:
			a->top = parse_uint_arg("numa", "--top", optarg, 1,
						1000000);
			break;
		case OPT_NJSON:
			a->json = true;
			break;
		case 'h':
			command_usage(&cmd_numa, stdout);
			exit(0);
		default:
			bad_option("numa", c, argv);
		}
	}
	if (optind < argc)
		usage_error("numa: unexpected argument '%s'", argv[optind]);
	if (!a->targets.nr)
		usage_error("numa: the process is needed: -p PID");
	if (a->json && (a->interval || a->count > 1))
		usage_error("numa: --json prints one view: no --interval or --count");
}

static int node_of_cpu(const struct hftmon_numa_node *nd, int nodes, int cpu)
{
	int i;

	for (i = 0; i < nodes; i++)
		if (cpu >= 0 && cpu < HFTMON_MAX_CPUS &&
		    (nd[i].cpus[cpu / 64] & (1ull << (cpu % 64))))
			return nd[i].node;
	return -1;
}

static int by_resident(const void *pa, const void *pb)
{
	const struct hftmon_numa_mapping *a = pa, *b = pb;

	if (a->resident != b->resident)
		return a->resident > b->resident ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

static void print_topology(const struct hftmon_numa_node *nd, int nodes)
{
	char cpus[256];
	int i, j;

	printf("%4s %-16s %12s %12s  %s\n", "NODE", "CPUS", "MEM(MiB)",
	       "FREE(MiB)", "DISTANCES");
	for (i = 0; i < nodes; i++) {
		cpu_set_t set;
		int c;

		CPU_ZERO(&set);
		for (c = 0; c < HFTMON_MAX_CPUS && c < CPU_SETSIZE; c++)
			if (nd[i].cpus[c / 64] & (1ull << (c % 64)))
				CPU_SET(c, &set);
		printf("%4d %-16s %12llu %12llu ", nd[i].node,
		       format_cpu_list(&set, cpus, sizeof(cpus)),
		       (unsigned long long)(nd[i].mem_total_bytes >> 20),
		       (unsigned long long)(nd[i].mem_free_bytes >> 20));
		for (j = 0; j < nodes; j++)
			printf(" %3d", nd[i].distance[nd[j].node]);
		printf("\n");
	}
}

/* One process: its threads' nodes now, its pages per node, its mappings. */
static int show_process(pid_t pid, const struct hftmon_numa_node *nd, int nodes,
			const struct numa_args *a, bool first)
{
	struct hftmon_numa_mapping *mp = NULL;
	struct hftmon_thread_info *ti = NULL;
	uint64_t total[HFTMON_NUMA_MAX_NODES] = { 0 }, all = 0, psz = 4096;
	unsigned int on_node[HFTMON_NUMA_MAX_NODES] = { 0 };
	size_t cap = 0, mcap = 256, i;
	int n, nt, j, k;

	nt = get_threads(NULL, pid, &ti, &cap);
	if (nt < 0)
		return report_error(nt, "threads of pid %d", (int)pid);
	for (k = 0; k < nt; k++) {
		int node = node_of_cpu(nd, nodes, ti[k].cpu);

		if (node >= 0 && node < HFTMON_NUMA_MAX_NODES)
			on_node[node]++;
	}
	for (;;) {
		mp = calloc(mcap, sizeof(*mp));
		if (!mp) {
			free(ti);
			return report_error(-ENOMEM, "numa");
		}
		mp[0].sz = sizeof(*mp);
		n = hftmon_get_numa_residency(NULL, pid, mp, mcap);
		if (n < 0 || (size_t)n <= mcap)
			break;
		free(mp);
		mcap = (size_t)n + 64;
	}
	if (n < 0) {
		free(mp);
		free(ti);
		if (n == -EPERM)
			return report_line("numa: pid %d: not allowed to read its page tables: run as its user or with CAP_SYS_PTRACE",
					   (int)pid);
		return report_error(n, "numa: pages of pid %d", (int)pid);
	}
	for (i = 0; i < (size_t)n; i++) {
		for (j = 0; j < nodes; j++)
			total[nd[j].node] += mp[i].pages[nd[j].node];
		all += mp[i].resident;
		psz = mp[i].page_size;
	}
	qsort(mp, (size_t)n, sizeof(*mp), by_resident);
	if (a->json) {
		printf("%s\n  {\"pid\": %d, \"page_size\": %llu, \"resident_pages\": %llu, \"nodes\": [",
		       first ? "" : ",", (int)pid, (unsigned long long)psz,
		       (unsigned long long)all);
		for (j = 0; j < nodes; j++)
			printf("%s{\"node\": %d, \"pages\": %llu, \"threads_now\": %u}",
			       j ? ", " : "", nd[j].node,
			       (unsigned long long)total[nd[j].node],
			       on_node[nd[j].node]);
		printf("], \"mappings\": [");
		for (i = 0; i < (size_t)n && i < a->top && mp[i].resident; i++) {
			printf("%s{\"start\": \"%#llx\", \"end\": \"%#llx\", \"path\": ",
			       i ? ", " : "", (unsigned long long)mp[i].start,
			       (unsigned long long)mp[i].end);
			json_string(mp[i].path);
			printf(", \"resident\": %llu, \"pages\": [",
			       (unsigned long long)mp[i].resident);
			for (j = 0; j < nodes; j++)
				printf("%s%llu", j ? ", " : "",
				       (unsigned long long)mp[i].pages[nd[j].node]);
			printf("]}");
		}
		printf("]}");
	} else {
		printf("\npid %d: %llu resident pages of %llu bytes; its %d thread(s) run now on:",
		       (int)pid, (unsigned long long)all,
		       (unsigned long long)psz, nt);
		for (j = 0; j < nodes; j++)
			printf(" node %d: %u", nd[j].node, on_node[nd[j].node]);
		printf("\n%4s %14s %8s  %s\n", "NODE", "PAGES", "SHARE%",
		       "(remote to every thread: no thread runs there)");
		for (j = 0; j < nodes; j++) {
			int d = nd[j].node;

			printf("%4d %14llu %8.2f%s\n", d,
			       (unsigned long long)total[d],
			       all ? 100.0 * (double)total[d] / (double)all : 0.0,
			       on_node[d] ? "" : "  remote");
		}
		printf("\nlargest mappings (of %d), resident pages per node:\n", n);
		printf("%-33s %10s", "RANGE", "RESIDENT");
		for (j = 0; j < nodes; j++) {
			char h[16];

			snprintf(h, sizeof(h), "NODE%d", nd[j].node);
			printf(" %10s", h);
		}
		printf("  PATH\n");
		for (i = 0; i < (size_t)n && i < a->top && mp[i].resident; i++) {
			char range[64], name[600];

			snprintf(range, sizeof(range), "%llx-%llx",
				 (unsigned long long)mp[i].start,
				 (unsigned long long)mp[i].end);
			printf("%-33s %10llu", range,
			       (unsigned long long)mp[i].resident);
			for (j = 0; j < nodes; j++)
				printf(" %10llu",
				       (unsigned long long)mp[i].pages[nd[j].node]);
			printf("  %s\n", table_name(mp[i].path, name, sizeof(name)));
		}
	}
	free(mp);
	free(ti);
	return 0;
}

static int run_numa(int argc, char **argv)
{
	struct hftmon_numa_node nd[HFTMON_NUMA_MAX_NODES] = { [0].sz = sizeof(nd[0]) };
	unsigned long long done = 0;
	struct numa_args a;
	int nodes, status = 0;
	unsigned int i;

	parse_numa(argc, argv, &a);
	install_signals();
	for (;;) {
		nodes = hftmon_get_numa_topology(NULL, nd, HFTMON_NUMA_MAX_NODES);
		if (nodes < 0) {
			status = report_error(nodes, "numa: the nodes");
			break;
		}
		if (a.json) {
			printf("{\"command\": \"numa\", \"hftmon_version\": \"%s\", \"time_ns\": %llu, \"nodes\": [",
			       HFTMON_VERSION_STRING, (unsigned long long)now_ns());
			for (i = 0; i < (unsigned int)nodes; i++) {
				int j;

				printf("%s{\"node\": %d, \"mem_bytes\": %llu, \"free_bytes\": %llu, \"distances\": [",
				       i ? ", " : "", nd[i].node,
				       (unsigned long long)nd[i].mem_total_bytes,
				       (unsigned long long)nd[i].mem_free_bytes);
				for (j = 0; j < nodes; j++)
					printf("%s%d", j ? ", " : "",
					       nd[i].distance[nd[j].node]);
				printf("]}");
			}
			printf("],\n \"processes\": [");
		} else {
			print_topology(nd, nodes);
		}
		for (i = 0; i < a.targets.nr && !status; i++)
			status = show_process(a.targets.v[i].pid, nd, nodes, &a,
					      !i);
		if (a.json)
			printf("\n ]}\n");
		fflush(stdout);
		if (status || !a.interval || (a.count && ++done >= a.count) ||
		    stopping())
			break;
		printf("\n");
		sleep_until(now_ns() + (uint64_t)(a.interval * 1e9));
		if (stopping())
			break;
	}
	targets_fini(&a.targets);
	return finish_stdout(status);
}

const struct cli_command cmd_numa = {
	.name = "numa",
	.run = run_numa,
	.help = "  numa -p PID [--interval SEC] [--count N] [--top N] [--json]\n"
		"                           the NUMA nodes (CPUs, memory, distances) and,\n"
		"                           per process, its resident pages on each node,\n"
		"                           in all and per mapping, beside the nodes its\n"
		"                           threads run on now; needs no module\n",
	.options = "numa options:\n"
		   "  -p, --pid PID            a process; repeatable\n"
		   "  -i, --interval SEC       print it again every SEC seconds\n"
		   "  -c, --count N            that many times\n"
		   "      --top N              the N largest mappings (default 10)\n",
};
