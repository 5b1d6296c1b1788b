// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon sched: every interval, per thread of a process, its scheduling
 * as /proc and the scheduler report it (policy, RT priority, nice,
 * allowed CPUs, current CPU, CPU time, switches, migrations) and the
 * wake-up latency hftmon measured over the interval, from the library's
 * drain thread and aggregator (hftmon_get_thread_scheduling_info()); a
 * table every interval, or one JSON array after one interval.
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

/* The allowed CPUs as a list, "0-1,3"; "-" when none. */
static const char *affinity_list(const struct hftmon_thread_info *t, char *buf,
				 size_t len)
{
	unsigned int cpu = 0, first;
	size_t off = 0;

	buf[0] = '\0';
	while (cpu < HFTMON_MAX_CPUS && off < len) {
		int n;

		if (!cpu_allowed(t, cpu)) {
			cpu++;
			continue;
		}
		first = cpu;
		while (cpu + 1 < HFTMON_MAX_CPUS && cpu_allowed(t, cpu + 1))
			cpu++;
		if (cpu == first)
			n = snprintf(buf + off, len - off, "%s%u",
				     off ? "," : "", first);
		else
			n = snprintf(buf + off, len - off, "%s%u-%u",
				     off ? "," : "", first, cpu);
		if (n < 0)
			break;
		off += (size_t)n;
		cpu++;
	}
	return off ? buf : "-";
}

static void print_sched_table(const struct hftmon_thread_info *t,
			      const struct hftmon_latency *lat, int n,
			      pid_t pid, double interval)
{
	char aff[256];
	int i;

	printf("pid %d: %d thread(s), wake-up latency over the last %.3f s\n",
	       (int)pid, n, interval);
	printf("%8s %-16s %-8s %6s %4s %-12s %4s %14s %10s %12s %10s %8s %10s %10s %10s %10s\n",
	       "TID", "COMM", "POLICY", "RTPRIO", "NICE", "AFFINITY", "CPU",
	       "CPU-TIME(us)", "VOLUNTARY", "INVOLUNTARY", "MIGRATIONS",
	       "WAKEUPS", "P50(us)", "P99(us)", "MAX(us)", "JITTER(us)");
	for (i = 0; i < n; i++) {
		const struct hftmon_thread_info *ti = &t[i];
		char mig[24];

		if (ti->migrations >= 0)
			snprintf(mig, sizeof(mig), "%lld",
				 (long long)ti->migrations);
		else
			snprintf(mig, sizeof(mig), "-");
		printf("%8d %-16s %-8s %6d %4d %-12s %4d %14llu %10llu %12llu %10s %8llu",
		       ti->tid, ti->comm, policy_name(ti->policy),
		       ti->rt_priority, ti->nice,
		       affinity_list(ti, aff, sizeof(aff)), ti->cpu,
		       (unsigned long long)(ti->cpu_time_ns / 1000),
		       (unsigned long long)ti->voluntary_switches,
		       (unsigned long long)ti->involuntary_switches, mig,
		       (unsigned long long)lat[i].count);
		if (lat[i].count)
			printf(" %10.1f %10.1f %10.1f %10.1f\n",
			       lat[i].p50_us, lat[i].p99_us,
			       lat[i].max_us, lat[i].stddev_us);
		else
			printf(" %10s %10s %10s %10s\n", "-", "-", "-", "-");
	}
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_sched_json(const struct hftmon_thread_info *t,
			     const struct hftmon_latency *lat, int n,
			     double interval)
{
	int i;

	printf("[");
	for (i = 0; i < n; i++) {
		const struct hftmon_thread_info *ti = &t[i];
		const struct hftmon_latency *l = &lat[i];
		unsigned int cpu;
		bool first = true;

		printf("%s\n  {\"pid\": %d, \"tid\": %d, \"comm\": ", i ? "," : "",
		       ti->pid, ti->tid);
		json_string(ti->comm);
		printf(", \"policy\": \"%s\", \"policy_id\": %d, \"rt_priority\": %d, \"nice\": %d, \"affinity\": [",
		       policy_name(ti->policy), ti->policy, ti->rt_priority,
		       ti->nice);
		for (cpu = 0; cpu < HFTMON_MAX_CPUS; cpu++) {
			if (!cpu_allowed(ti, cpu))
				continue;
			printf("%s%u", first ? "" : ", ", cpu);
			first = false;
		}
		printf("], \"cpu\": %d, \"cpu_time_us\": %.3f, \"run_delay_us\": ",
		       ti->cpu, (double)ti->cpu_time_ns / 1000.0);
		if (ti->run_delay_ns >= 0)	/* -1: no schedstat in this kernel */
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
		printf(", \"wakeup_latency_us\": {\"window_s\": %.6f, \"count\": %llu",
		       interval, (unsigned long long)l->count);
		if (l->count)
			printf(", \"min\": %.3f, \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f, \"stddev\": %.3f}}",
			       l->min_us, l->mean_us, l->p50_us, l->p90_us,
			       l->p99_us, l->p999_us, l->max_us, l->stddev_us);
		else
			printf(", \"min\": null, \"mean\": null, \"p50\": null, \"p90\": null, \"p99\": null, \"p999\": null, \"max\": null, \"stddev\": null}}");
	}
	printf("%s]\n", n ? "\n" : "");
}

struct sched_args {
	pid_t pid;
	double interval;
	unsigned long long count; /* 0 = until a signal */
	bool json;
};

static void parse_sched(int argc, char **argv, struct sched_args *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->interval = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:i:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->pid = parse_pid_arg("sched", optarg);
			break;
		case 'i':
			a->interval =
				parse_seconds_arg("sched", "--interval", optarg);
			break;
		case 'c':
			a->count = parse_count_arg("sched", "--count", optarg,
						   false);
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage_error("sched: bad option");
		}
	}
	if (optind < argc)
		usage_error("sched: unexpected argument '%s'", argv[optind]);
	if (!a->pid)
		usage_error("sched: -p PID is needed");
	if (a->json && a->count > 1)
		usage_error("sched: --json prints one interval: no --count");
}

static int run_sched(int argc, char **argv)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.drain_thread = true,
		/* Only wake-ups are shown: keep the switch history small. */
		.history_switches = 1u << 12,
	};
	struct hftmon_thread_info *info = NULL;
	struct hftmon_latency *lat = NULL;
	size_t lat_cap = 0;
	unsigned long long done = 0;
	struct sched_args a;
	struct hftmon *m;
	uint64_t next;
	size_t cap = 0;
	int n, status = 0;

	parse_sched(argc, argv, &a);
	if (start_drain_thread_session(&m, a.pid, &cfg, NULL))
		return EXIT_FAILURE;

	next = now_ns();
	while (!stopping()) {
		next += (uint64_t)(a.interval * 1e9);
		sleep_until(next);
		if (stopping())
			break;
		n = get_threads(m, a.pid, &info, &cap);
		if (n >= 0 && lat_cap < cap) {
			free(lat);
			lat_cap = cap;
			lat = calloc(lat_cap, sizeof(*lat));
			if (!lat) {
				lat_cap = 0;
				n = -ENOMEM;
			}
		}
		if (n > 0) {
			int err = get_latencies(m, info, n,
						(uint64_t)(a.interval * 1e6),
						lat);

			if (err)
				n = err;
		}
		if (n < 0) {
			status = report_error(n, "threads of pid %d",
					      (int)a.pid);
			break;
		}
		if (a.json) {
			print_sched_json(info, lat, n, a.interval);
			break;
		}
		print_sched_table(info, lat, n, a.pid, a.interval);
		printf("\n");
		fflush(stdout);
		if (a.count && ++done >= a.count)
			break;
	}
	if (!a.json && !status)
		print_losses(m);
	n = hftmon_stop(m);
	if (n && !status)
		status = report_error(n, "stop");
	hftmon_close(m);
	free(info);
	free(lat);
	if (fflush(stdout) && !status)
		status = report_error(-errno, "stdout");
	return status;
}

const struct cli_command cmd_sched = {
	.name = "sched",
	.run = run_sched,
	.help = "  sched -p PID [--interval SEC] [--count N] [--json]\n"
		"                           every SEC seconds (default 1), per thread: policy,\n"
		"                           RT priority, nice, allowed CPUs, current CPU, CPU\n"
		"                           time, voluntary/involuntary switches, migrations\n"
		"                           (from /proc and the scheduler), and the wake-up\n"
		"                           latency p50/p99/max and jitter (standard deviation)\n"
		"                           hftmon measured over that interval; N intervals\n"
		"                           (default: until SIGINT/SIGTERM); --json: one JSON\n"
		"                           array of threads after one interval\n",
};
