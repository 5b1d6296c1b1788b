// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon sched: every interval, per thread of the targets, its scheduling
 * as /proc and the scheduler report it now (policy, RT priority, nice,
 * allowed CPUs, current CPU), its totals since the thread started (CPU
 * time, switches, migrations) and the wake-up latency hftmon measured
 * over the interval, from the library's drain thread and aggregator
 * (hftmon_get_thread_scheduling_info()); a table every interval, whose
 * header says which column covers which window, or one JSON object after
 * one interval. What was seen is refreshed every 100 ms, so a target that
 * exits, or a stop request, still leaves its last (partial) interval.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *policy_name(int policy)
{
	switch (policy) {
	case 0:
		return "other";
	case 1:
		return "fifo";
	case 2:
		return "rr";
	case 3:
		return "batch";
	case 5:
		return "idle";
	case 6:
		return "deadline";
	default:
		return "?";
	}
}

static bool cpu_allowed(const struct hftmon_thread_info *t, unsigned int cpu)
{
	return t->affinity[cpu / 64] & (1ull << (cpu % 64));
}

/* The allowed CPUs as a list, "0-1,3"; "-" when none (format_cpu_list()). */
static const char *affinity_list(const struct hftmon_thread_info *t, char *buf,
				 size_t len)
{
	unsigned int cpu;
	cpu_set_t set;

	CPU_ZERO(&set);
	for (cpu = 0; cpu < HFTMON_MAX_CPUS && cpu < CPU_SETSIZE; cpu++)
		if (cpu_allowed(t, cpu))
			CPU_SET(cpu, &set);
	return format_cpu_list(&set, buf, len);
}

#define W_NOW 64 /* TID .. CPU */
#define W_TOTAL 49 /* CPU-TIME .. MIGRATIONS */

static void print_sched_header(double window)
{
	char group[96];

	snprintf(group, sizeof(group), "over the interval (%.3f s)", window);
	printf("%-*s %-*s %s\n", W_NOW, "now:", W_TOTAL,
	       "totals since the thread started:", group);
	printf("%8s %-16s %-8s %6s %4s %-12s %4s %14s %10s %12s %10s %8s %10s %10s %10s %10s\n",
	       "TID", "COMM", "POLICY", "RTPRIO", "NICE", "AFFINITY", "CPU",
	       "CPU-TIME(us)", "VOLUNTARY", "INVOLUNTARY", "MIGRATIONS",
	       "WAKEUPS", "P50(us)", "P99(us)", "MAX(us)", "JITTER(us)");
}

static void print_sched_row(const struct hftmon_thread_info *ti,
			    const struct hftmon_latency *l)
{
	char aff[256], mig[24], name[80];

	if (ti->migrations >= 0)
		snprintf(mig, sizeof(mig), "%lld", (long long)ti->migrations);
	else
		snprintf(mig, sizeof(mig), "-");
	printf("%8d %-16s %-8s %6d %4d %-12s %4d %14llu %10llu %12llu %10s %8llu",
	       ti->tid, table_name(ti->comm, name, sizeof(name)),
	       policy_name(ti->policy), ti->rt_priority, ti->nice,
	       affinity_list(ti, aff, sizeof(aff)), ti->cpu,
	       (unsigned long long)(ti->cpu_time_ns / 1000),
	       (unsigned long long)ti->voluntary_switches,
	       (unsigned long long)ti->involuntary_switches, mig,
	       (unsigned long long)l->count);
	if (l->count)
		printf(" %10.1f %10.1f %10.1f %10.1f\n", l->p50_us, l->p99_us,
		       l->max_us, l->stddev_us);
	else
		printf(" %10s %10s %10s %10s\n", "-", "-", "-", "-");
}

static void print_sched_json_row(const struct hftmon_thread_info *ti,
				 const struct hftmon_latency *l, double window,
				 bool first_row, const struct log2_hist *h)
{
	unsigned int cpu;
	bool first = true;

	printf("%s\n  {\"pid\": %d, \"tid\": %d, \"comm\": ",
	       first_row ? "" : ",", ti->pid, ti->tid);
	json_string(ti->comm);
	printf(", \"now\": {\"policy\": \"%s\", \"policy_id\": %d, \"rt_priority\": %d, \"nice\": %d, \"affinity\": [",
	       policy_name(ti->policy), ti->policy, ti->rt_priority, ti->nice);
	for (cpu = 0; cpu < HFTMON_MAX_CPUS; cpu++) {
		if (!cpu_allowed(ti, cpu))
			continue;
		printf("%s%u", first ? "" : ", ", cpu);
		first = false;
	}
	printf("], \"cpu\": %d}, \"since_thread_start\": {\"cpu_time_us\": %.3f, \"run_delay_us\": ",
	       ti->cpu, (double)ti->cpu_time_ns / 1000.0);
	if (ti->run_delay_ns >= 0) /* -1: no schedstat in this kernel */
		printf("%.3f", (double)ti->run_delay_ns / 1000.0);
	else
		printf("null");
	printf(", \"voluntary_switches\": %llu, \"involuntary_switches\": %llu, \"migrations\": ",
	       (unsigned long long)ti->voluntary_switches,
	       (unsigned long long)ti->involuntary_switches);
	if (ti->migrations >= 0)
		printf("%lld", (long long)ti->migrations);
	else
		printf("null");
	printf("}, \"interval\": {\"window_s\": %.6f, \"wakeup_latency_us\": {\"count\": %llu",
	       window, (unsigned long long)l->count);
	if (l->count)
		printf(", \"min\": %.3f, \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, \"stddev\": %.3f}",
		       l->min_us, l->mean_us, l->p50_us, l->p90_us, l->p99_us,
		       l->p999_us, l->max_us, l->stddev_us);
	else
		printf(", \"min\": null, \"mean\": null, \"p50\": null, \"p90\": null, \"p99\": null, \"p999\": null, \"max\": null, \"stddev\": null}");
	if (h) {
		printf(", \"wakeup_latency_ns_histogram\": ");
		log2_hist_json(h);
	}
	printf("}}");
}

/* The last view of one target process, refreshed while it runs. */
struct proc_view {
	pid_t pid;
	struct hftmon_thread_info *info;
	size_t cap;
	int n; /* rows in info; 0 before the first read */
	struct hftmon_latency *lat; /* lat[j]: info[j]'s wake-up latency */
	size_t lat_cap;
	bool gone;
};

struct sched_args {
	struct session_args s;
	double interval;
	unsigned long long count; /* 0 = until a signal or the targets exit */
	bool histogram; /* each thread's wake-up latencies, log2 slots */
};

enum { OPT_SCHED_HISTOGRAM = OPT_COMMON_END };

/* The library's log2 slots of a latency, as the CLI's histogram. */
static void latency_hist(const struct hftmon_latency *l, struct log2_hist *h)
{
	unsigned int k;

	memset(h, 0, sizeof(*h));
	for (k = 0; k < LOG2_SLOTS && k < HFTMON_LOG2_SLOTS; k++)
		h->slot[k] = l->log2_ns[k];
	h->count = l->count;
}

static void parse_sched(int argc, char **argv, struct sched_args *a)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "histogram", no_argument, NULL, OPT_SCHED_HISTOGRAM },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->interval = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SESSION_SHORT "i:c:h", opts,
				NULL)) != -1) {
		if (session_opt(&cmd_sched, &a->s, c, optarg))
			continue;
		switch (c) {
		case 'i':
			a->interval =
				parse_seconds_arg("sched", "--interval", optarg);
			break;
		case 'c':
			a->count = parse_count_arg("sched", "--count", optarg,
						   false);
			break;
		case OPT_SCHED_HISTOGRAM:
			a->histogram = true;
			break;
		default:
			bad_option("sched", c, argv);
		}
	}
	session_args_finish(&cmd_sched, &a->s, argc, argv);
	if (a->s.json && a->count > 1)
		usage_error("sched: --json prints one interval: no --count above 1");
}

/*
 * The targets module saw pid exit (a zombie counts: its /proc still
 * reads, so get_threads() alone would not say so).
 */
static bool process_gone(const struct cli_targets *t, pid_t pid)
{
	unsigned int i;
	bool any = false;

	for (i = 0; i < t->nr; i++) {
		if (t->v[i].pid != pid)
			continue;
		if (!t->v[i].gone)
			return false;
		any = true;
	}
	return any;
}

/* Reads every process that still runs, over window_us. 0 or error status. */
static int refresh(struct session *s, struct proc_view *v, unsigned int nr,
		   uint64_t window_us)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		int n;

		if (v[i].gone)
			continue;
		n = get_threads(s->m, v[i].pid, &v[i].info, &v[i].cap);
		if (n == -ESRCH) {
			v[i].gone = true; /* keep its last view */
			continue;
		}
		if (n >= 0 && v[i].lat_cap < v[i].cap) {
			free(v[i].lat);
			v[i].lat_cap = v[i].cap;
			v[i].lat = calloc(v[i].lat_cap, sizeof(*v[i].lat));
			if (!v[i].lat) {
				v[i].lat_cap = 0;
				n = -ENOMEM;
			}
		}
		if (n > 0) {
			int err = get_latencies(s->m, v[i].info, n, window_us,
						v[i].lat);

			if (err)
				n = err;
		}
		if (n < 0)
			return report_error(n, "threads of pid %d",
					    (int)v[i].pid);
		v[i].n = n;
		if (process_gone(&s->args->targets, v[i].pid))
			v[i].gone = true; /* this was its last view */
	}
	return 0;
}

static void print_tables(const struct session *s, const struct proc_view *v,
			 unsigned int nr, double window, bool partial,
			 bool histogram)
{
	struct log2_hist h;
	char unit[128], name[80];
	unsigned int i;
	int j;

	for (i = 0; i < nr; i++) {
		int rows = 0;

		for (j = 0; j < v[i].n; j++)
			rows += targets_want(&s->args->targets, v[i].pid,
					     v[i].info[j].tid);
		printf("pid %d: %d thread(s)%s%s\n", (int)v[i].pid, rows,
		       v[i].gone ? " (exited: as last seen)" : "",
		       partial ? " (a partial interval: the run ended)" : "");
		print_sched_header(window);
		for (j = 0; j < v[i].n; j++)
			if (targets_want(&s->args->targets, v[i].pid,
					 v[i].info[j].tid))
				print_sched_row(&v[i].info[j], &v[i].lat[j]);
		for (j = 0; histogram && j < v[i].n; j++) {
			if (!v[i].lat[j].count ||
			    !targets_want(&s->args->targets, v[i].pid,
					  v[i].info[j].tid))
				continue;
			latency_hist(&v[i].lat[j], &h);
			snprintf(unit, sizeof(unit),
				 "tid %d %s: wake-up latency over the interval (ns)",
				 v[i].info[j].tid,
				 table_name(v[i].info[j].comm, name, sizeof(name)));
			printf("\n");
			log2_hist_print(&h, unit, stdout);
		}
	}
}

static void print_json(struct session *s, const struct proc_view *v,
		       unsigned int nr, double window, bool histogram)
{
	struct log2_hist h;
	bool first = true;
	unsigned int i;
	int j;

	session_print_json_head(s, "sched", window);
	printf(",\n \"threads\": [");
	for (i = 0; i < nr; i++)
		for (j = 0; j < v[i].n; j++) {
			if (!targets_want(&s->args->targets, v[i].pid,
					  v[i].info[j].tid))
				continue;
			latency_hist(&v[i].lat[j], &h);
			print_sched_json_row(&v[i].info[j], &v[i].lat[j],
					     window, first,
					     histogram ? &h : NULL);
			first = false;
		}
	printf("%s]}\n", first ? "" : "\n ");
}

static int run_sched(int argc, char **argv)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.drain_thread = true,
		/* Only wake-ups are shown: keep the switch history small. */
		.history_switches = 1u << 12,
	};
	unsigned long long done = 0;
	struct proc_view *v = NULL;
	struct sched_args a;
	struct session s;
	uint64_t begin, end;
	pid_t *pids;
	unsigned int nr = 0, i;
	int status = 0, ret;
	bool ended = false;

	parse_sched(argc, argv, &a);
	if (session_start(&s, &a.s, &cfg, NULL))
		return EXIT_FAILURE;
	pids = calloc(a.s.targets.nr, sizeof(*pids));
	v = calloc(a.s.targets.nr, sizeof(*v));
	if (!pids || !v) {
		status = report_error(-ENOMEM, "sched");
		goto out;
	}
	nr = targets_processes(&a.s.targets, pids);
	for (i = 0; i < nr; i++)
		v[i].pid = pids[i];

	begin = now_ns();
	while (!ended) {
		uint64_t tick;

		end = begin + (uint64_t)(a.interval * 1e9);
		do {
			tick = now_ns() + 100000000u;
			if (tick > end)
				tick = end;
			ended = session_wait(&s, tick) || stopping();
			status = refresh(&s, v, nr, (now_ns() - begin) / 1000);
			if (status)
				goto out_stop;
		} while (!ended && now_ns() < end);
		if (ended && !a.s.json) {
			double got = (double)(now_ns() - begin) / 1e9;

			if (got >= 0.001)
				print_tables(&s, v, nr, got, true, a.histogram);
			break;
		}
		if (a.s.json)
			break;
		print_tables(&s, v, nr, a.interval, false, a.histogram);
		printf("\n");
		fflush(stdout);
		begin = end;
		if (a.count && ++done >= a.count)
			break;
	}
out_stop:
	ret = session_stop(&s);
	if (ret && !status)
		status = ret;
	if (!status && a.s.json) {
		double got = (double)(s.stop_ns - begin) / 1e9;

		print_json(&s, v, nr, got < a.interval ? got : a.interval,
			   a.histogram);
	} else if (!status) {
		printf("\n");
		session_print_footer(&s);
	}
out:
	if (v)
		for (i = 0; i < nr; i++) {
			free(v[i].info);
			free(v[i].lat);
		}
	free(v);
	free(pids);
	session_end(&s);
	return finish_stdout(status);
}

const struct cli_command cmd_sched = {
	.name = "sched",
	.run = run_sched,
	.help = "  sched -p PID|-t TID|-- COMMAND [--interval SEC] [--count N] [--json]\n"
		"                           every SEC seconds (default 1), per thread: now\n"
		"                           (policy, RT priority, nice, allowed CPUs, CPU),\n"
		"                           totals since the thread started (CPU time,\n"
		"                           voluntary/involuntary switches, migrations), and\n"
		"                           over the interval the wake-up latency p50/p99/max\n"
		"                           and jitter hftmon measured; N intervals (default:\n"
		"                           until a signal or every target exited); --json:\n"
		"                           one JSON object after one interval\n",
	.options = "sched options:\n"
		   "  -i, --interval SEC       seconds between tables (default 1)\n"
		   "  -c, --count N            stop after N tables\n"
		   "      --histogram          each thread's wake-up latencies over the\n"
		   "                           interval as a power-of-two histogram (ns)\n",
};
