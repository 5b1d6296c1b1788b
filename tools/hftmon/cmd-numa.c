// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon numa -p PID: where a process's memory is and where its threads
 * run. The machine's nodes (CPUs, memory, distances:
 * hftmon_get_numa_topology()); per target process, its resident pages on
 * each node in all and per mapping, largest first, as the kernel's
 * numa_maps gives them (hftmon_get_numa_residency()), beside the node of the CPU
 * each of its threads is on now (hftmon_get_thread_scheduling_info()):
 * pages on a node where none of its threads runs are remote to all of
 * them. Every --interval, --count times, or once. Needs no module: it
 * reads the kernel's page tables and sysfs, nothing is recorded.
 *
 * --duration SEC records for SEC seconds first (the module needed:
 * HFTMON_EV_NUMA and the scheduler events), then adds per process the
 * NUMA balancer's activity (hftmon_get_numa_activity(): hinting faults
 * local and remote, pages migrated and failed, task moves, swaps and
 * failed moves) and per thread its time on each node from its switches,
 * and the last --top events (hftmon_get_numa_events()) with their times.
 * On one node, or with kernel.numa_balancing 0, it says that the
 * balancer had nothing to do instead of printing zeros as findings.
 *
 * --heatmap page (with --duration) adds who touched which memory from
 * where (hftmon_get_numa_stats()), sampled by the balancer's hinting
 * faults: per memory node the samples from each CPU node, then the
 * hottest address ranges (adjacent sampled pages of one mapping, named
 * as /proc/PID/maps names it, coalesced), each with its samples per
 * memory node x CPU node and a shade of its heat. --heatmap cacheline
 * does the same with 64-byte lines, from the CPU's sampling of the
 * threads' load addresses (AMD IBS op, Intel PEBS load latency, one
 * sample in CLI_LINE_PERIOD events: numa_line_period); where the machine
 * has neither or the kernel refuses it, it is refused before anything is
 * recorded, in one line that names the event and the kernel's errno (or
 * a JSON document saying the same with --json).
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
	double duration; /* 0: no session */
	bool json;
	bool heatmap; /* --heatmap page or cacheline */
	bool cacheline; /* --heatmap cacheline */
};

/* What a --duration session found, for show_process(). */
struct numa_session {
	struct hftmon *m;
	int status; /* 0, or the reason there is no activity (-errno) */
	int balancing; /* /proc/sys/kernel/numa_balancing, -1 unreadable */
	uint64_t start_ns, stop_ns;
};

enum { OPT_TOP = 0x100, OPT_NJSON, OPT_DURATION, OPT_HEATMAP };

/* One sample in this many events of the CPU's address sampling. */
#define CLI_LINE_PERIOD 2003

static void parse_numa(int argc, char **argv, struct numa_args *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "json", no_argument, NULL, OPT_NJSON },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "heatmap", required_argument, NULL, OPT_HEATMAP },
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
		case OPT_DURATION:
			a->duration = parse_seconds_arg("numa", "--duration",
							optarg);
			break;
		case OPT_HEATMAP:
			a->cacheline = !strcmp(optarg, "cacheline");
			if (strcmp(optarg, "page") && !a->cacheline)
				usage_error("numa: --heatmap takes page or cacheline, not '%s'",
					    optarg);
			a->heatmap = true;
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
	if (a->duration && (a->interval || a->count > 1))
		usage_error("numa: --duration records once: no --interval or --count");
	if (a->heatmap && !a->duration)
		usage_error("numa: --heatmap records its samples: --duration SEC is needed");
}

/* --heatmap cacheline refused: one line, or with --json a document. */
static void line_refusal(const struct numa_args *a, int st, const char *why)
{
	if (a->json) {
		printf("{\"command\": \"numa\", \"hftmon_version\": \"%s\", \"heatmap\": {\"resolution\": \"cacheline\", \"supported\": false, \"errno\": ",
		       HFTMON_VERSION_STRING);
		json_string(strerrorname_np(-st) ? strerrorname_np(-st) : "?");
		printf(", \"reason\": ");
		json_string(why);
		printf("}}\n");
		fflush(stdout);
	} else {
		report_line("numa: --heatmap cacheline: unsupported: %s: use --heatmap page",
			    why);
	}
}

/* Whether the session cannot sample lines (and it was said why). */
static bool line_refused(const struct numa_args *a, struct numa_session *ns)
{
	char why[320];
	int st = hftmon_numa_cacheline_status(ns->m, why, sizeof(why));

	if (st)
		line_refusal(a, st, why);
	return st != 0;
}

/* Records the targets for a->duration seconds; ns->status says how it went. */
static int record_session(const struct numa_args *a, struct numa_session *ns)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_NUMA,
		.drain_thread = true,
	};
	struct hftmon_info info = { .size = sizeof(info) };
	struct hftmon_pmu_counter dram[2] = { [0].sz = sizeof(dram[0]) };
	uint64_t end;
	unsigned int i;
	int err;

	memset(ns, 0, sizeof(*ns));
	ns->balancing = read_sysctl_int("/proc/sys/kernel/numa_balancing");
	if (open_device(&ns->m))
		return 1;
	/*
	 * This machine's local/remote DRAM counters, where its PMU has them:
	 * counted beside the balancer's samples. Without them the statistics
	 * say why (show_counted()).
	 */
	if (hftmon_numa_dram_counters(NULL, dram, 2) == 2) {
		cfg.pmu_counters = dram;
		cfg.nr_pmu_counters = 2;
	}
	err = hftmon_get_info(ns->m, &info);
	if (err)
		return report_error(err, "numa: the module's info");
	if (!(info.features & HFTMON_FEAT_NUMA_BALANCING)) {
		int st = info.source_status[HFTMON_SRC_NUMA_BALANCING];

		ns->status = st ? st : -EOPNOTSUPP;
		/* The lines' nodes come with the module's NUMA events. */
		if (a->cacheline) {
			const char *r = hftmon_source_reason(
				HFTMON_SRC_NUMA_BALANCING, ns->status);
			char why[256];

			snprintf(why, sizeof(why),
				 "it needs the module's NUMA events, and %s",
				 r ? r : strerror(-ns->status));
			line_refusal(a, ns->status, why);
			return 1;
		}
		return 0;
	}
	if (a->cacheline)
		cfg.numa_line_period = CLI_LINE_PERIOD;
	err = hftmon_configure(ns->m, &cfg);
	if (err)
		return report_error(err, "numa: configure");
	if (a->cacheline && line_refused(a, ns))
		return 1;
	for (i = 0; i < a->targets.nr; i++) {
		struct hftmon_attach_opts ao = { .sz = sizeof(ao),
						 .track_numa = true };

		err = hftmon_attach_process(ns->m, a->targets.v[i].pid, &ao);
		if (err)
			return report_error(err, "numa: attach pid %d",
					    (int)a->targets.v[i].pid);
	}
	err = hftmon_start(ns->m);
	if (err)
		return report_error(err, "numa: start");
	/* Taken at configure, it may still be refused for the threads. */
	if (a->cacheline && line_refused(a, ns))
		return 1;
	ns->start_ns = now_ns();
	end = ns->start_ns + (uint64_t)(a->duration * 1e9);
	while (!stopping() && now_ns() < end) {
		uint64_t t = now_ns() + 100000000ull;

		sleep_until(t < end ? t : end);
	}
	err = hftmon_stop(ns->m);
	ns->stop_ns = now_ns();
	if (err)
		return report_error(err, "numa: stop");
	return 0;
}

static const char *event_kind(uint32_t k)
{
	static const char *const names[] = { "?", "fault", "move", "swap",
					     "stick", "node" };

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* Why there is no balancing activity to show, or NULL. */
static const char *no_activity(const struct numa_session *ns, int nodes)
{
	if (ns->status)
		return hftmon_source_reason(HFTMON_SRC_NUMA_BALANCING,
					    ns->status);
	if (nodes < 2)
		return "one NUMA node: the balancer has nothing to balance";
	if (ns->balancing == 0)
		return "kernel.numa_balancing is 0: the balancer is off";
	return NULL;
}

/* The balancer's activity for pid's threads, text or JSON. */
static int show_balancing(pid_t pid, const struct hftmon_numa_node *nd,
			  int nodes, const struct numa_args *a,
			  const struct numa_session *ns)
{
	struct hftmon_numa_query q = { .sz = sizeof(q), .pid = pid };
	struct hftmon_numa_activity *act = NULL, sum = { 0 };
	struct hftmon_numa_event *ev = NULL;
	const char *why = no_activity(ns, nodes);
	int n = 0, ne = 0, i, j, first;
	size_t cap = 64;

	if (!ns->status) {
		for (;;) {
			act = calloc(cap, sizeof(*act));
			if (!act)
				return report_error(-ENOMEM, "numa");
			act[0].sz = sizeof(*act);
			n = hftmon_get_numa_activity(ns->m, &q, act, cap);
			if (n < 0 || (size_t)n <= cap)
				break;
			free(act);
			cap = (size_t)n + 16;
		}
		if (n < 0) {
			free(act);
			return report_error(n, "numa: activity of pid %d", (int)pid);
		}
		ev = calloc(a->top + 1, sizeof(*ev));
		if (!ev) {
			free(act);
			return report_error(-ENOMEM, "numa");
		}
		ev[0].sz = sizeof(*ev);
		ne = hftmon_get_numa_events(ns->m, &q, ev, (size_t)a->top);
		if (ne < 0) {
			free(act);
			free(ev);
			return report_error(ne, "numa: events of pid %d", (int)pid);
		}
	}
	for (i = 0; i < n; i++) {
		sum.hint_faults += act[i].hint_faults;
		sum.hint_faults_local += act[i].hint_faults_local;
		sum.hint_faults_remote += act[i].hint_faults_remote;
		sum.pages_migrated += act[i].pages_migrated;
		sum.pages_migrate_failed += act[i].pages_migrate_failed;
		sum.task_moves += act[i].task_moves;
		sum.task_swaps += act[i].task_swaps;
		sum.task_sticks += act[i].task_sticks;
	}
	/* Events past the ones shown are counted but not listed. */
	first = ne > (int)a->top ? (int)a->top : ne;
	if (a->json) {
		printf(", \"balancing\": {\"duration_ns\": %llu, \"numa_balancing\": %d, \"supported\": %s, \"reason\": ",
		       (unsigned long long)(ns->stop_ns - ns->start_ns),
		       ns->balancing, ns->status ? "false" : "true");
		if (why)
			json_string(why);
		else
			printf("null");
		printf(", \"hint_faults\": %llu, \"hint_faults_local\": %llu, \"hint_faults_remote\": %llu, \"pages_migrated\": %llu, \"pages_migrate_failed\": %llu, \"task_moves\": %llu, \"task_swaps\": %llu, \"task_sticks\": %llu, \"threads\": [",
		       (unsigned long long)sum.hint_faults,
		       (unsigned long long)sum.hint_faults_local,
		       (unsigned long long)sum.hint_faults_remote,
		       (unsigned long long)sum.pages_migrated,
		       (unsigned long long)sum.pages_migrate_failed,
		       (unsigned long long)sum.task_moves,
		       (unsigned long long)sum.task_swaps,
		       (unsigned long long)sum.task_sticks);
		for (i = 0; i < n; i++) {
			printf("%s{\"tid\": %d, \"hint_faults\": %llu, \"hint_faults_local\": %llu, \"pages_migrated\": %llu, \"pages_migrate_failed\": %llu, \"task_moves\": %llu, \"task_swaps\": %llu, \"task_sticks\": %llu, \"node\": %d, \"node_changes\": %u, \"on_node_ns\": [",
			       i ? ", " : "", (int)act[i].tid,
			       (unsigned long long)act[i].hint_faults,
			       (unsigned long long)act[i].hint_faults_local,
			       (unsigned long long)act[i].pages_migrated,
			       (unsigned long long)act[i].pages_migrate_failed,
			       (unsigned long long)act[i].task_moves,
			       (unsigned long long)act[i].task_swaps,
			       (unsigned long long)act[i].task_sticks,
			       act[i].node, act[i].node_changes);
			for (j = 0; j < nodes; j++)
				printf("%s%llu", j ? ", " : "",
				       (unsigned long long)act[i].on_node_ns[nd[j].node]);
			printf("], \"on_unknown_ns\": %llu}",
			       (unsigned long long)act[i].on_unknown_ns);
		}
		printf("], \"events_total\": %d, \"events\": [", ne);
		for (i = 0; i < first; i++)
			printf("%s{\"time_ns\": %llu, \"tid\": %d, \"kind\": \"%s\", \"flags\": %u, \"pages\": %u, \"src_cpu\": %d, \"src_node\": %d, \"dst_cpu\": %d, \"dst_node\": %d, \"other_tid\": %d}",
			       i ? ", " : "",
			       (unsigned long long)ev[i].time_ns, (int)ev[i].tid,
			       event_kind(ev[i].kind), ev[i].flags, ev[i].pages,
			       ev[i].src_cpu, ev[i].src_node, ev[i].dst_cpu,
			       ev[i].dst_node, (int)ev[i].other_tid);
		printf("]}");
	} else {
		printf("\nNUMA balancing over %.1f s (kernel.numa_balancing ",
		       (double)(ns->stop_ns - ns->start_ns) / 1e9);
		if (ns->balancing < 0)
			printf("absent):");
		else
			printf("%d):", ns->balancing);
		if (why)
			printf(" %s", why);
		printf("\n");
		if (!ns->status) {
			printf("  hinting faults %llu (local %llu, remote %llu), pages migrated %llu, failed %llu; task moves %llu, swaps %llu, failed moves %llu\n",
			       (unsigned long long)sum.hint_faults,
			       (unsigned long long)sum.hint_faults_local,
			       (unsigned long long)sum.hint_faults_remote,
			       (unsigned long long)sum.pages_migrated,
			       (unsigned long long)sum.pages_migrate_failed,
			       (unsigned long long)sum.task_moves,
			       (unsigned long long)sum.task_swaps,
			       (unsigned long long)sum.task_sticks);
			printf("%8s %10s %8s %8s %6s %6s", "TID", "FAULTS",
			       "LOCAL", "MIGRATED", "MOVES", "NODE");
			for (j = 0; j < nodes; j++) {
				char h[24];

				snprintf(h, sizeof(h), "RAN-NODE%d(ms)", nd[j].node);
				printf(" %14s", h);
			}
			printf("\n");
			for (i = 0; i < n; i++) {
				printf("%8d %10llu %8llu %8llu %6llu %6d", (int)act[i].tid,
				       (unsigned long long)act[i].hint_faults,
				       (unsigned long long)act[i].hint_faults_local,
				       (unsigned long long)act[i].pages_migrated,
				       (unsigned long long)(act[i].task_moves +
							    act[i].task_swaps),
				       act[i].node);
				for (j = 0; j < nodes; j++)
					printf(" %14.3f",
					       (double)act[i].on_node_ns[nd[j].node] / 1e6);
				printf("\n");
			}
			if (ne)
				printf("events (%d, the first %d):\n", ne, first);
			for (i = 0; i < first; i++)
				printf("  %+.6f s tid %d %-5s cpu %d node %d -> cpu %d node %d%s%s\n",
				       (double)(ev[i].time_ns - ns->start_ns) / 1e9,
				       (int)ev[i].tid, event_kind(ev[i].kind),
				       ev[i].src_cpu, ev[i].src_node,
				       ev[i].dst_cpu, ev[i].dst_node,
				       ev[i].kind == HFTMON_NUMA_EV_FAULT &&
						       (ev[i].flags & HFTMON_NUMA_FAULT_LOCAL) ?
					       " local" : "",
				       ev[i].kind == HFTMON_NUMA_EV_FAULT &&
						       (ev[i].flags & HFTMON_NUMA_MIGRATED) ?
					       " migrated" : "");
		}
	}
	free(act);
	free(ev);
	return 0;
}

/* A coalesced range of the heatmap: adjacent sampled pages of one mapping. */
struct heat_range {
	uint64_t start, end, samples, pages;
	const struct hftmon_numa_mapping *map; /* NULL: in none */
	/* samples by [memory node's index * nodes + CPU node's index] */
	uint64_t *cell;
};

/* Where node is in the topology's list, or -1. */
static int node_index(const struct hftmon_numa_node *nd, int nodes, int node)
{
	int i;

	for (i = 0; i < nodes; i++)
		if (nd[i].node == node)
			return i;
	return -1;
}

static const struct hftmon_numa_mapping *
mapping_of(const struct hftmon_numa_mapping *mp, int nm, uint64_t addr)
{
	int i;

	for (i = 0; i < nm; i++)
		if (addr >= mp[i].start && addr < mp[i].end)
			return &mp[i];
	return NULL;
}

/*
 * Rows (sorted by address) into ranges, each with its nodes * nodes
 * cells from cells; returns how many.
 */
static size_t coalesce(const struct hftmon_numa_heat *h, size_t n,
		       const struct hftmon_numa_mapping *mp, int nm,
		       const struct hftmon_numa_node *nd, int nodes,
		       uint32_t page_size, uint64_t *cells,
		       struct heat_range *r)
{
	size_t i, nr = 0;
	int mi, ci;

	for (i = 0; i < n; i++) {
		const struct hftmon_numa_mapping *map = mapping_of(mp, nm, h[i].addr);
		struct heat_range *cur = nr ? &r[nr - 1] : NULL;

		if (!cur || h[i].addr > cur->end || map != cur->map) {
			cur = &r[nr];
			memset(cur, 0, sizeof(*cur));
			cur->cell = cells + nr++ * (size_t)nodes * (size_t)nodes;
			cur->start = h[i].addr;
			cur->end = h[i].addr;
			cur->map = map;
		}
		/* Several rows of a page: one per node pair. */
		if (h[i].addr + h[i].bytes > cur->end) {
			uint64_t from = h[i].addr > cur->end ? h[i].addr : cur->end;

			cur->pages += (h[i].addr + h[i].bytes - from) / page_size;
			cur->end = h[i].addr + h[i].bytes;
		}
		cur->samples += h[i].count;
		mi = node_index(nd, nodes, h[i].mem_node);
		ci = node_index(nd, nodes, h[i].cpu_node);
		if (mi >= 0 && ci >= 0)
			cur->cell[mi * nodes + ci] += h[i].count;
	}
	return nr;
}

static int by_samples(const void *pa, const void *pb)
{
	const struct heat_range *a = pa, *b = pb;

	if (a->samples != b->samples)
		return a->samples > b->samples ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

static int by_start(const void *pa, const void *pb)
{
	const struct heat_range *a = pa, *b = pb;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* One glyph for v of max: a terminal's heat scale. */
static char shade(uint64_t v, uint64_t max)
{
	static const char scale[] = " .:-=+*#%@";

	if (!v || !max)
		return ' ';
	return scale[1 + (size_t)((double)v / (double)max * (sizeof(scale) - 3))];
}

/* Why a metric has no value: the library's sentence, else the errno's. */
static const char *metric_why(const struct hftmon_pmu_metric *mt,
			      const char *why)
{
	if (mt->state == HFTMON_PMU_MEASURED)
		return NULL;
	if (mt->state == HFTMON_PMU_NO_DATA)
		return "no slice of its threads in the range";
	if (why && *why)
		return why;
	return mt->status ? strerror(-mt->status) : NULL;
}

/*
 * What the PMU counted of pid's local and remote DRAM accesses over the
 * session, and each node's memory bandwidth (every process's) or why not.
 */
static int show_counted(pid_t pid, const struct hftmon_numa_node *nd,
			int nodes, const struct numa_args *a,
			const struct numa_session *ns)
{
	struct hftmon_numa_stats_query q = { .sz = sizeof(q), .pid = pid };
	struct hftmon_numa_stats *st = calloc(1, sizeof(*st));
	const struct hftmon_pmu_metric *mt[2];
	const char *why = NULL;
	bool bw_ok;
	int rows, j;

	if (!st)
		return report_error(-ENOMEM, "numa");
	st->sz = sizeof(*st);
	rows = ns->status ? ns->status : hftmon_get_numa_stats(ns->m, &q, st);
	if (ns->status)
		why = hftmon_source_reason(HFTMON_SRC_NUMA_BALANCING, ns->status);
	else if (rows == -EOPNOTSUPP)
		why = "the module records no hinting fault addresses (HFTMON_FEAT_NUMA_ACCESS)";
	else if (rows < 0) {
		free(st);
		return report_error(rows, "numa: statistics of pid %d", (int)pid);
	}
	mt[0] = &st->dram_local;
	mt[1] = &st->dram_remote;
	if (a->json) {
		printf(", \"pmu_dram\": {\"events\": [");
		for (j = 0; j < 2; j++) {
			printf("%s", j ? ", " : "");
			if (!why && st->dram_events[j][0])
				json_string(st->dram_events[j]);
			else
				printf("null");
		}
		printf("], \"complete\": %s", !why && st->dram_complete ? "true" : "false");
		for (j = 0; j < 2; j++) {
			const char *w = why ? why : metric_why(mt[j], st->dram_why);
			bool has = !why && (mt[j]->state == HFTMON_PMU_MEASURED ||
					    mt[j]->state == HFTMON_PMU_PARTIAL);

			printf(", \"%s\": {\"state\": \"%s\", ", j ? "remote" : "local",
			       why ? "unsupported" : pmu_state_name(mt[j]->state));
			if (has)
				printf("\"value\": %llu, ", (unsigned long long)mt[j]->value);
			else
				printf("\"value\": null, ");
			printf("\"slices_missed\": %llu, \"reason\": ",
			       why ? 0ull : (unsigned long long)mt[j]->slices_missed);
			if (w)
				json_string(w);
			else
				printf("null");
			printf("}");
		}
		bw_ok = !why && !st->bandwidth_status;
		printf("}, \"bandwidth\": {\"supported\": %s, \"reason\": ",
		       bw_ok ? "true" : "false");
		json_string(why ? why : st->bandwidth_why);
		if (bw_ok) {
			printf(", \"duration_ns\": %llu, \"nodes\": [",
			       (unsigned long long)st->bandwidth_ns);
			for (j = 0; j < nodes; j++)
				printf("%s{\"node\": %d, \"read_bytes\": %llu, \"write_bytes\": %llu}",
				       j ? ", " : "", nd[j].node,
				       (unsigned long long)st->read_bytes[nd[j].node],
				       (unsigned long long)st->write_bytes[nd[j].node]);
			printf("]");
		}
		printf("}");
		free(st);
		return 0;
	}
	printf("\nNUMA accesses counted by the PMU: ");
	if (why) {
		printf("unsupported: %s\n", why);
	} else if (mt[0]->state == HFTMON_PMU_MEASURED &&
		   mt[1]->state == HFTMON_PMU_MEASURED) {
		uint64_t l = mt[0]->value, r = mt[1]->value;

		printf("local %llu, remote %llu (%.1f%% remote; %s / %s)%s\n",
		       (unsigned long long)l, (unsigned long long)r,
		       l + r ? 100.0 * (double)r / (double)(l + r) : 0.0,
		       st->dram_events[0], st->dram_events[1],
		       st->dram_complete ? "" : ", older slices no longer held");
	} else if (!st->dram_events[0][0]) {
		/* No pair on this machine: one reason for both. */
		printf("%s: %s\n", pmu_state_name(mt[0]->state), st->dram_why);
	} else {
		for (j = 0; j < 2; j++) {
			const char *w = metric_why(mt[j], st->dram_why);

			printf("%s%s %s", j ? "; " : "", st->dram_events[j],
			       pmu_state_name(mt[j]->state));
			if (mt[j]->state == HFTMON_PMU_PARTIAL)
				printf(" %llu, not counted in %llu slices",
				       (unsigned long long)mt[j]->value,
				       (unsigned long long)mt[j]->slices_missed);
			if (w)
				printf(": %s", w);
		}
		printf("\n");
	}
	if (why || st->bandwidth_status) {
		printf("memory bandwidth per node: unsupported: %s\n",
		       why ? why : st->bandwidth_why);
	} else {
		double sec = (double)st->bandwidth_ns / 1e9;

		printf("memory bandwidth per node over %.3f s (%s):\n", sec,
		       st->bandwidth_why);
		for (j = 0; j < nodes; j++) {
			int d = nd[j].node;

			printf("  node %d: read %.1f MB/s, write %.1f MB/s\n", d,
			       sec > 0 ? (double)st->read_bytes[d] / 1e6 / sec : 0.0,
			       sec > 0 ? (double)st->write_bytes[d] / 1e6 / sec : 0.0);
		}
	}
	free(st);
	return 0;
}

/* --heatmap page|cacheline: the node table and the hottest ranges of pid. */
static int show_heatmap(pid_t pid, const struct hftmon_numa_node *nd, int nodes,
			const struct numa_args *a, const struct numa_session *ns,
			const struct hftmon_numa_mapping *mp, int nm)
{
	struct hftmon_numa_stats_query q = {
		.sz = sizeof(q), .pid = pid,
		.resolution = a->cacheline ? HFTMON_NUMA_RES_CACHELINE :
					     HFTMON_NUMA_RES_PAGE,
	};
	const char *res = a->cacheline ? "cacheline" : "page";
	const char *units = a->cacheline ? "lines" : "pages";
	struct hftmon_numa_stats *st = calloc(1, sizeof(*st));
	struct hftmon_numa_heat *heat = NULL;
	struct heat_range *r = NULL;
	uint64_t *cells = NULL;
	/* Lines are sampled by the CPU, without the balancer. */
	const char *why = a->cacheline && !ns->status ? NULL :
							no_activity(ns, nodes);
	size_t cap = 4096, nr = 0, shown, i;
	uint64_t max = 0;
	int rows = 0, j, k;

	if (!st)
		return report_error(-ENOMEM, "numa");
	st->sz = sizeof(*st);
	if (ns->status) {
		rows = ns->status;
	} else {
		for (;;) {
			heat = calloc(cap, sizeof(*heat));
			if (!heat) {
				free(st);
				return report_error(-ENOMEM, "numa");
			}
			heat[0].sz = sizeof(*heat);
			q.heat = heat;
			q.max_heat = cap;
			rows = hftmon_get_numa_stats(ns->m, &q, st);
			if (rows < 0 || (size_t)rows <= cap)
				break;
			free(heat);
			cap = (size_t)rows + 64;
		}
	}
	/* Samples are the answer, whatever the reason there might be none. */
	if (rows >= 0 && st->samples)
		why = NULL;
	if (rows == -EOPNOTSUPP && !why)
		why = "the module records no hinting fault addresses (HFTMON_FEAT_NUMA_ACCESS)";
	else if (rows < 0 && !ns->status) {
		free(heat);
		free(st);
		return report_error(rows, "numa: heatmap of pid %d", (int)pid);
	}
	if (rows > 0) {
		r = calloc((size_t)rows, sizeof(*r));
		cells = calloc((size_t)rows * (size_t)nodes * (size_t)nodes,
			       sizeof(*cells));
		if (!r || !cells) {
			free(r);
			free(cells);
			free(heat);
			free(st);
			return report_error(-ENOMEM, "numa");
		}
		nr = coalesce(heat, (size_t)rows, mp, nm, nd, nodes,
			      a->cacheline ? 64 :
			      st->page_size ? st->page_size : 4096, cells, r);
	}
	/* The hottest --top ranges, shown by address. */
	qsort(r, nr, sizeof(*r), by_samples);
	shown = nr < a->top ? nr : a->top;
	for (i = 0; i < shown; i++)
		if (r[i].samples > max)
			max = r[i].samples;
	qsort(r, shown, sizeof(*r), by_start);
	if (a->json) {
		printf(", \"heatmap\": {\"resolution\": \"%s\", \"source\": ", res);
		json_string(rows >= 0 ? st->source : "NUMA hinting faults");
		if (a->cacheline) {
			printf(", \"event\": ");
			json_string(st->source_event);
			printf(", \"line_size\": 64, \"lost\": %llu, \"skipped\": %llu",
			       (unsigned long long)st->lost,
			       (unsigned long long)st->skipped);
		}
		printf(", \"supported\": %s, \"reason\": ", rows >= 0 ? "true" : "false");
		if (why)
			json_string(why);
		else
			printf("null");
		printf(", \"samples\": %llu, \"local\": %llu, \"remote\": %llu, \"unknown\": %llu, \"missed\": %llu, \"page_size\": %u, \"by_node\": [",
		       (unsigned long long)st->samples,
		       (unsigned long long)st->local,
		       (unsigned long long)st->remote,
		       (unsigned long long)st->unknown,
		       (unsigned long long)st->missed, st->page_size);
		for (j = 0; j < nodes; j++) {
			printf("%s{\"mem_node\": %d, \"from_cpu_node\": [", j ? ", " : "",
			       nd[j].node);
			for (k = 0; k < nodes; k++)
				printf("%s%llu", k ? ", " : "",
				       (unsigned long long)st->by_node[nd[j].node][nd[k].node]);
			printf("]}");
		}
		printf("], \"ranges_total\": %zu, \"ranges\": [", nr);
		for (i = 0; i < shown; i++) {
			printf("%s{\"start\": \"%#llx\", \"end\": \"%#llx\", \"mapping\": ",
			       i ? ", " : "", (unsigned long long)r[i].start,
			       (unsigned long long)r[i].end);
			json_string(r[i].map ? r[i].map->path : "");
			printf(", \"%s\": %llu, \"samples\": %llu, \"cells\": [",
			       units, (unsigned long long)r[i].pages,
			       (unsigned long long)r[i].samples);
			for (j = 0, k = 0; j < nodes * nodes; j++) {
				uint64_t v = r[i].cell[j];

				if (!v)
					continue;
				printf("%s{\"mem_node\": %d, \"cpu_node\": %d, \"count\": %llu}",
				       k++ ? ", " : "", nd[j / nodes].node,
				       nd[j % nodes].node, (unsigned long long)v);
			}
			printf("]}");
		}
		printf("]}");
	} else {
		if (a->cacheline)
			printf("\nNUMA accesses sampled by %s (%s): ", st->source,
			       st->source_event);
		else
			printf("\nNUMA accesses sampled by %s: ",
			       rows >= 0 ? st->source : "NUMA hinting faults");
		if (rows < 0 || why) {
			printf("%s\n", why ? why : "unavailable");
		} else {
			printf("%llu samples, local %llu (%.1f%%), remote %llu",
			       (unsigned long long)st->samples,
			       (unsigned long long)st->local,
			       st->samples ? 100.0 * (double)st->local / (double)st->samples : 0.0,
			       (unsigned long long)st->remote);
			if (st->unknown)
				printf(", node unknown %llu", (unsigned long long)st->unknown);
			if (st->missed)
				printf(" (%llu older samples no longer held)",
				       (unsigned long long)st->missed);
			if (a->cacheline)
				printf("; lost by the kernel %llu, no data address %llu",
				       (unsigned long long)st->lost,
				       (unsigned long long)st->skipped);
			printf("\n%8s", "MEM-NODE");
			for (k = 0; k < nodes; k++) {
				char h[24];

				snprintf(h, sizeof(h), "FROM-CPU-NODE%d", nd[k].node);
				printf(" %15s", h);
			}
			printf("\n");
			for (j = 0; j < nodes; j++) {
				printf("%8d", nd[j].node);
				for (k = 0; k < nodes; k++)
					printf(" %15llu%s",
					       (unsigned long long)st->by_node[nd[j].node][nd[k].node],
					       "");
				printf("\n");
			}
			printf("\nheatmap: the %zu hottest of %zu address ranges (%s resolution), samples by memory node <- CPU node:\n",
			       shown, nr, a->cacheline ? "cache-line" : "page");
			printf("%-33s %6s %8s  ", "RANGE",
			       a->cacheline ? "LINES" : "PAGES", "SAMPLES");
			for (j = 0; j < nodes * nodes; j++) {
				char h[24];

				snprintf(h, sizeof(h), "M%d<-C%d", nd[j / nodes].node,
					 nd[j % nodes].node);
				printf(" %8s ", h);
			}
			printf(" MAPPING\n");
			for (i = 0; i < shown; i++) {
				char range[64], name[600];

				snprintf(range, sizeof(range), "%llx-%llx",
					 (unsigned long long)r[i].start,
					 (unsigned long long)r[i].end);
				printf("%-33s %6llu %8llu  ", range,
				       (unsigned long long)r[i].pages,
				       (unsigned long long)r[i].samples);
				for (j = 0; j < nodes * nodes; j++) {
					uint64_t v = r[i].cell[j];

					printf(" %8llu%c", (unsigned long long)v,
					       shade(v, max));
				}
				printf(" %s\n", r[i].map ?
				       table_name(r[i].map->path, name, sizeof(name)) :
				       "(no mapping now)");
			}
		}
	}
	free(r);
	free(cells);
	free(heat);
	free(st);
	return 0;
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
			const struct numa_args *a, bool first,
			const struct numa_session *ns)
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
		printf("]");
		if (ns && (show_balancing(pid, nd, nodes, a, ns) ||
			   show_counted(pid, nd, nodes, a, ns) ||
			   (a->heatmap &&
			    show_heatmap(pid, nd, nodes, a, ns, mp, n)))) {
			free(mp);
			free(ti);
			return 1;
		}
		printf("}");
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
		if (ns && (show_balancing(pid, nd, nodes, a, ns) ||
			   show_counted(pid, nd, nodes, a, ns) ||
			   (a->heatmap &&
			    show_heatmap(pid, nd, nodes, a, ns, mp, n)))) {
			free(mp);
			free(ti);
			return 1;
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
	struct numa_session ns = { 0 };
	struct numa_args a;
	int nodes, status = 0;
	unsigned int i;

	parse_numa(argc, argv, &a);
	install_signals();
	if (a.duration) {
		status = record_session(&a, &ns);
		if (status) {
			hftmon_close(ns.m);
			targets_fini(&a.targets);
			return finish_stdout(status);
		}
	}
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
					      !i, a.duration ? &ns : NULL);
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
	hftmon_close(ns.m);
	targets_fini(&a.targets);
	return finish_stdout(status);
}

const struct cli_command cmd_numa = {
	.name = "numa",
	.run = run_numa,
	.help = "  numa -p PID [--interval SEC] [--count N] [--top N] [--duration SEC]\n"
		"       [--heatmap page|cacheline] [--json]\n"
		"                           the NUMA nodes (CPUs, memory, distances) and,\n"
		"                           per process, its resident pages on each node,\n"
		"                           in all and per mapping, beside the nodes its\n"
		"                           threads run on now; needs no module; with\n"
		"                           --duration, the NUMA balancer's activity and\n"
		"                           each thread's time per node, recorded that long;\n"
		"                           --heatmap page: who touched which pages from\n"
		"                           which node, sampled by hinting faults;\n"
		"                           cacheline: which lines, sampled by the CPU\n",
	.options = "numa options:\n"
		   "  -p, --pid PID            a process; repeatable\n"
		   "  -i, --interval SEC       print it again every SEC seconds\n"
		   "  -c, --count N            that many times\n"
		   "      --top N              the N largest mappings (default 10), and events\n"
		   "      --duration SEC       record SEC seconds (module needed): hinting faults,\n"
		   "                           migrations, task moves/swaps, time on each node\n"
		   "      --heatmap page       with --duration: samples per memory node x CPU\n"
		   "                           node, and the --top hottest address ranges\n"
		   "      --heatmap cacheline  the same per 64-byte line, from the CPU's load\n"
		   "                           address sampling (AMD IBS, Intel PEBS); refused\n"
		   "                           with the kernel's reason where there is none\n",
};
