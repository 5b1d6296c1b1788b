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
	unsigned long long stop_us; /* --stop-us: 0 = none */
};

enum { OPT_SCHED_HISTOGRAM = OPT_COMMON_END, OPT_SCHED_STOP_US };

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
		{ "interval-print", required_argument, NULL, 'I' },
		{ "count", required_argument, NULL, 'c' },
		{ "histogram", no_argument, NULL, OPT_SCHED_HISTOGRAM },
		{ "stop-us", required_argument, NULL, OPT_SCHED_STOP_US },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->interval = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SESSION_SHORT "i:I:c:h", opts,
				NULL)) != -1) {
		if (session_opt(&cmd_sched, &a->s, c, optarg))
			continue;
		switch (c) {
		case 'i':
			a->interval =
				parse_seconds_arg("sched", "--interval", optarg);
			break;
		case 'I': /* perf stat -I: the same interval, in ms */
			a->interval = (double)parse_uint_arg("sched", "-I",
							     optarg, 10,
							     3600000) / 1000.0;
			break;
		case 'c':
			a->count = parse_count_arg("sched", "--count", optarg,
						   false);
			break;
		case OPT_SCHED_HISTOGRAM:
			a->histogram = true;
			break;
		case OPT_SCHED_STOP_US:
			a->stop_us = parse_uint_arg("sched", "--stop-us", optarg,
						    1, 3600000000ull);
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

/* Room for n latencies in v. 0 or -ENOMEM. */
static int lat_room(struct proc_view *v, size_t n)
{
	if (v->lat_cap >= n)
		return 0;
	free(v->lat);
	v->lat = calloc(n, sizeof(*v->lat));
	v->lat_cap = v->lat ? n : 0;
	return v->lat ? 0 : -ENOMEM;
}

/* Reads the threads of every process that still runs. 0 or error status. */
static int refresh(struct session *s, struct proc_view *v, unsigned int nr)
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
		if (n >= 0 && lat_room(&v[i], v[i].cap))
			n = -ENOMEM;
		if (n < 0)
			return report_error(n, "threads of pid %d",
					    (int)v[i].pid);
		v[i].n = n;
		if (process_gone(&s->args->targets, v[i].pid))
			v[i].gone = true; /* this was its last view */
	}
	return 0;
}

/*
 * Each thread's wake-ups that ended in [begin, end): a window fixed in
 * time, so a report of the recording asks the same one and gets the
 * same samples. 0 or error status.
 */
static int interval_latencies(struct session *s, struct proc_view *v,
			      unsigned int nr, uint64_t begin, uint64_t end)
{
	unsigned int i;
	int j, err, tries;

	for (i = 0; i < nr; i++)
		for (j = 0; j < v[i].n; j++) {
			struct hftmon_latency_query q = {
				.sz = sizeof(q),
				.pid = v[i].info[j].pid,
				.tid = v[i].info[j].tid,
				.since_ns = begin,
				.until_ns = end > begin ? end : begin + 1,
			};

			v[i].lat[j] = (struct hftmon_latency){
				.sz = sizeof(v[i].lat[j])
			};
			/*
			 * -ERANGE: a ring may still hold a wake-up of the
			 * window; the drain thread's next pass past its end
			 * makes it final (10 s at most at the default pace).
			 */
			for (tries = 0;
			     (err = hftmon_get_wakeup_latency(s->m, &q,
							      &v[i].lat[j])) ==
				     -ERANGE && tries < 1000;
			     tries++)
				sleep_until(now_ns() + 1000ull * (s->place.drain_us ?
								  s->place.drain_us :
								  1000));
			if (err && err != -ENODATA)
				return report_error(err,
						    "wake-up latency of tid %d",
						    (int)v[i].info[j].tid);
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

/*
 * One interval as printed: when it began and ended, the window its
 * header named, and whether the run cut it short.
 */
struct interval {
	uint64_t begin, end, window_ns;
	bool partial;
};

static void print_interval(struct session *s, const struct sched_args *a,
			   const struct proc_view *v, unsigned int nr,
			   const struct interval *iv)
{
	if (a->s.json)
		print_json(s, v, nr, (double)iv->window_ns / 1e9, a->histogram);
	else
		print_tables(s, v, nr, (double)iv->window_ns / 1e9,
			     iv->partial, a->histogram);
}

/*
 * With -o FILE, the note "hftmon.cli.sched" keeps what each interval
 * printed that the records cannot give again: the threads as /proc and
 * the scheduler reported them then (policy, priority, nice, affinity,
 * CPU, the totals since the thread started). Its wake-up latencies are
 * not kept: the report asks the records for the same window. Text, one
 * line each:
 *   hftmon-cli-sched 1
 *   interval BEGIN_NS END_NS WINDOW_NS PARTIAL
 *   proc PID GONE
 *   thread PID TID POLICY RTPRIO NICE CPU CPU_TIME_NS RES_NS RUN_DELAY_NS
 *          VOLUNTARY INVOLUNTARY MIGRATIONS AFFINITY COMM
 * (each proc and thread line belongs to the interval above it).
 */
#define SCHED_NOTE "hftmon.cli.sched"

static void views_put(FILE *f, const struct proc_view *v, unsigned int nr,
		      const struct interval *iv)
{
	char aff[1024];
	unsigned int i;
	int j;

	if (!f)
		return;
	fprintf(f, "interval %llu %llu %llu %d\n",
		(unsigned long long)iv->begin, (unsigned long long)iv->end,
		(unsigned long long)iv->window_ns, iv->partial);
	for (i = 0; i < nr; i++) {
		fprintf(f, "proc %d %d\n", (int)v[i].pid, v[i].gone);
		for (j = 0; j < v[i].n; j++) {
			const struct hftmon_thread_info *t = &v[i].info[j];

			fprintf(f, "thread %d %d %d %d %d %d %llu %llu %lld %llu %llu %lld %s ",
				(int)t->pid, (int)t->tid, t->policy,
				t->rt_priority, t->nice, t->cpu,
				(unsigned long long)t->cpu_time_ns,
				(unsigned long long)t->cpu_time_resolution_ns,
				(long long)t->run_delay_ns,
				(unsigned long long)t->voluntary_switches,
				(unsigned long long)t->involuntary_switches,
				(long long)t->migrations,
				affinity_list(t, aff, sizeof(aff)));
			note_put_word(f, t->comm);
			fputc('\n', f);
		}
	}
}

/* --stop-us: what the trigger looks at, and what it found. */
struct stop_check {
	const struct sched_args *a;
	struct proc_view *v;
	unsigned int nr;
	uint64_t since;
};

/* --stop-us: a target thread woken since the start with that latency. */
static bool long_wakeup(struct session *s, void *arg)
{
	const struct stop_check *c = arg;
	unsigned int i;
	int j;

	for (i = 0; i < c->nr; i++)
		for (j = 0; j < c->v[i].n; j++) {
			const struct hftmon_thread_info *t = &c->v[i].info[j];
			struct hftmon_latency_query q = { .sz = sizeof(q),
							  .pid = t->pid,
							  .tid = t->tid,
							  .since_ns = c->since };
			struct hftmon_latency l = { .sz = sizeof(l) };

			if (!targets_want(&s->args->targets, t->pid, t->tid) ||
			    hftmon_get_wakeup_latency(s->m, &q, &l) ||
			    l.max_us < (double)c->a->stop_us)
				continue;
			note("--stop-us %llu: tid %d waited %.3f us from its wake-up to run: stopping",
			     c->a->stop_us, (int)t->tid, l.max_us);
			return true;
		}
	return false;
}

static void free_views(struct proc_view *v, unsigned int nr)
{
	unsigned int i;

	for (i = 0; v && i < nr; i++) {
		free(v[i].info);
		free(v[i].lat);
	}
	free(v);
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
	struct stop_check check;
	struct interval iv = { 0 };
	struct sched_args a;
	struct session s;
	char *views = NULL;
	size_t views_len = 0;
	FILE *vf = NULL;
	pid_t *pids;
	unsigned int nr = 0, i;
	int status = 0, ret;
	bool ended = false, last = false;

	parse_sched(argc, argv, &a);
	if (session_start(&s, &a.s, &cfg, NULL))
		return EXIT_FAILURE;
	pids = calloc(a.s.targets.nr, sizeof(*pids));
	v = calloc(a.s.targets.nr, sizeof(*v));
	if (a.s.output)
		vf = open_memstream(&views, &views_len);
	if (!pids || !v || (a.s.output && !vf)) {
		status = report_error(-ENOMEM, "sched");
		goto out;
	}
	if (vf)
		fprintf(vf, "hftmon-cli-sched 1\n");
	nr = targets_processes(&a.s.targets, pids);
	for (i = 0; i < nr; i++)
		v[i].pid = pids[i];
	check = (struct stop_check){ .a = &a, .v = v, .nr = nr,
				     .since = s.start_ns };

	iv.begin = now_ns();
	while (!ended) {
		uint64_t tick;

		iv.end = iv.begin + (uint64_t)(a.interval * 1e9);
		do {
			tick = now_ns() + 100000000u;
			if (tick > iv.end)
				tick = iv.end;
			ended = session_wait_trigger(&s, tick,
						     a.stop_us ? long_wakeup :
								 NULL,
						     &check) ||
				stopping();
			status = refresh(&s, v, nr);
			if (status)
				goto out_stop;
		} while (!ended && now_ns() < iv.end);
		if (ended || a.s.json) {
			/* Printed after the stop, which drains the rest. */
			if (now_ns() < iv.end)
				iv.end = now_ns();
			iv.window_ns = iv.end - iv.begin;
			iv.partial = ended && !a.s.json;
			last = a.s.json || iv.window_ns >= 1000000u;
			break;
		}
		iv.window_ns = iv.end - iv.begin;
		status = interval_latencies(&s, v, nr, iv.begin, iv.end);
		if (status)
			goto out_stop;
		print_interval(&s, &a, v, nr, &iv);
		views_put(vf, v, nr, &iv);
		printf("\n");
		fflush(stdout);
		iv.begin = iv.end;
		if (a.count && ++done >= a.count)
			break;
	}
out_stop:
	ret = session_stop(&s);
	if (ret && !status)
		status = ret;
	if (!status && last) {
		status = interval_latencies(&s, v, nr, iv.begin, iv.end);
		if (!status) {
			print_interval(&s, &a, v, nr, &iv);
			views_put(vf, v, nr, &iv);
		}
	}
	if (!status && !a.s.json) {
		printf("\n");
		session_print_footer(&s);
	}
	if (vf) {
		ret = fclose(vf) ? -ENOMEM : 0;
		vf = NULL;
		if (!ret)
			ret = hftmon_file_note(s.m, SCHED_NOTE, views,
					       views_len);
		if (ret && !status)
			status = report_error(ret, "-o %s: keeping the threads as printed",
					      a.s.output);
	}
out:
	if (vf)
		fclose(vf);
	free(views);
	free_views(v, nr);
	free(pids);
	session_end(&s);
	return finish_stdout(status);
}

/* The view of pid in v[0..*nr), added if new. NULL: no memory. */
static struct proc_view *view_of(struct proc_view **v, unsigned int *nr,
				 pid_t pid)
{
	struct proc_view *nv;
	unsigned int i;

	for (i = 0; i < *nr; i++)
		if ((*v)[i].pid == pid)
			return &(*v)[i];
	nv = realloc(*v, (*nr + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	*v = nv;
	memset(&nv[*nr], 0, sizeof(nv[*nr]));
	nv[*nr].pid = pid;
	return &nv[(*nr)++];
}

/* One "thread" line of the note into the next row of p. 0 or -errno. */
static int thread_line(char **w, struct proc_view *p)
{
	struct hftmon_thread_info *t;
	cpu_set_t set;
	unsigned int cpu;

	if ((size_t)p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		struct hftmon_thread_info *ni =
			realloc(p->info, cap * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		p->info = ni;
		p->cap = cap;
	}
	if (lat_room(p, p->cap))
		return -ENOMEM;
	t = &p->info[p->n];
	memset(t, 0, sizeof(*t));
	t->sz = sizeof(*t);
	t->pid = (pid_t)atoi(w[1]);
	t->tid = (pid_t)atoi(w[2]);
	t->policy = atoi(w[3]);
	t->rt_priority = atoi(w[4]);
	t->nice = atoi(w[5]);
	t->cpu = atoi(w[6]);
	t->cpu_time_ns = strtoull(w[7], NULL, 10);
	t->cpu_time_resolution_ns = strtoull(w[8], NULL, 10);
	t->run_delay_ns = strtoll(w[9], NULL, 10);
	t->voluntary_switches = strtoull(w[10], NULL, 10);
	t->involuntary_switches = strtoull(w[11], NULL, 10);
	t->migrations = strtoll(w[12], NULL, 10);
	CPU_ZERO(&set);
	if (strcmp(w[13], "-") && parse_cpu_list(w[13], &set))
		return -EBADMSG;
	for (cpu = 0; cpu < HFTMON_MAX_CPUS && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			t->affinity[cpu / 64] |= 1ull << (cpu % 64);
	note_get_word(w[14]);
	snprintf(t->comm, sizeof(t->comm), "%s", w[14]);
	p->n++;
	return 0;
}

/*
 * One interval of a report: its latencies, then its tables, and the
 * blank line live sched left after each whole interval (the last,
 * partial one is printed after the stop, with none).
 */
static int report_interval(struct session *s, const struct sched_args *a,
			   struct proc_view *v, unsigned int nr,
			   const struct interval *iv)
{
	int status = interval_latencies(s, v, nr, iv->begin, iv->end);

	if (status)
		return status;
	print_interval(s, a, v, nr, iv);
	if (!iv->partial && !a->s.json)
		printf("\n");
	return 0;
}

/*
 * The intervals of the note, each printed as live: the threads as they
 * were printed, the wake-up latencies asked of the recording's records
 * over the same [begin, end). 0 or the error line's status.
 */
static int report_views(struct session *s, const struct sched_args *a,
			const char *data, size_t len)
{
	char *text = malloc(len + 1), *line, *save = NULL, *w[16], *sv;
	struct proc_view *v = NULL, *p = NULL;
	struct interval iv = { 0 };
	bool have = false;
	unsigned int nr = 0, i;
	int status = 0, n;

	if (!text)
		return report_error(-ENOMEM, "sched report");
	memcpy(text, data, len);
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line && !status;
	     line = strtok_r(NULL, "\n", &save)) {
		sv = NULL;
		n = 0;
		for (w[0] = strtok_r(line, " ", &sv); n < 15 && w[n];
		     w[++n] = strtok_r(NULL, " ", &sv))
			;
		if (n == 5 && !strcmp(w[0], "interval")) {
			if (have)
				status = report_interval(s, a, v, nr, &iv);
			for (i = 0; i < nr; i++)
				v[i].n = 0;
			iv.begin = strtoull(w[1], NULL, 10);
			iv.end = strtoull(w[2], NULL, 10);
			iv.window_ns = strtoull(w[3], NULL, 10);
			iv.partial = atoi(w[4]) != 0;
			have = true;
		} else if (n == 3 && !strcmp(w[0], "proc") && have) {
			p = view_of(&v, &nr, (pid_t)atoi(w[1]));
			if (!p)
				status = report_error(-ENOMEM, "sched report");
			else
				p->gone = atoi(w[2]) != 0;
		} else if (n == 15 && !strcmp(w[0], "thread") && p) {
			int err = thread_line(w, p);

			if (err)
				status = report_line("sched report: a damaged thread line in the recording's note " SCHED_NOTE ": record it again");
		}
	}
	if (!status && have)
		status = report_interval(s, a, v, nr, &iv);
	free_views(v, nr);
	free(text);
	return status;
}

/*
 * A sched recording without the note (an hftmon before it): the records
 * give the wake-up latencies over the whole recording, and the file's
 * threads as the library read them at the stop give the rest, said so.
 */
static int report_at_stop(struct session *s, const struct sched_args *a)
{
	struct interval iv = { .begin = s->start_ns, .end = s->stop_ns + 1,
			       .window_ns = s->stop_ns - s->start_ns };
	pid_t *pids = calloc(s->args->targets.nr + 1, sizeof(*pids));
	struct proc_view *v = calloc(s->args->targets.nr + 1, sizeof(*v));
	unsigned int nr = 0, i;
	int status = 0, n;

	if (!pids || !v) {
		status = report_error(-ENOMEM, "sched report");
		goto out;
	}
	nr = targets_processes(&s->args->targets, pids);
	for (i = 0; i < nr && !status; i++) {
		v[i].pid = pids[i];
		n = get_threads(s->m, pids[i], &v[i].info, &v[i].cap);
		if (n == -ESRCH) { /* exited before the stop: no threads kept */
			v[i].gone = true;
			continue;
		}
		if (n >= 0 && lat_room(&v[i], v[i].cap))
			n = -ENOMEM;
		if (n < 0)
			status = report_error(n, "threads of pid %d",
					      (int)pids[i]);
		else
			v[i].n = n;
	}
	if (!status) {
		if (!a->s.json)
			printf("(this recording keeps no per-interval view: one interval over the whole recording; policy .. migrations as the threads were at its stop)\n");
		status = report_interval(s, a, v, nr, &iv);
	}
out:
	free_views(v, nr);
	free(pids);
	return status;
}

/* hftmon report -i FILE: every interval of the recording, as printed. */
static int report_sched(struct session *s, int argc, char **argv)
{
	struct session_args *loaded;
	struct sched_args a;
	const void *data;
	size_t len;
	int status;

	parse_sched(argc, argv, &a);
	loaded = session_replay_args(s, &a.s);
	if (!hftmon_file_get_note(s->m, SCHED_NOTE, &data, &len))
		status = report_views(s, &a, data, len);
	else
		status = report_at_stop(s, &a);
	if (!status && !a.s.json) {
		printf("\n");
		session_print_footer(s);
	}
	s->args = loaded;
	return status;
}

const struct cli_command cmd_sched = {
	.name = "sched",
	.run = run_sched,
	.help = "  sched -p PID|-t TID|-- COMMAND [--interval SEC|-I MS] [--count N] [--stop-us N] [--json]\n"
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
		   "  -I, --interval-print MS  the same in milliseconds (10..3600000)\n"
		   "  -c, --count N            stop after N tables\n"
		   "      --histogram          each thread's wake-up latencies over the\n"
		   "                           interval as a power-of-two histogram (ns)\n"
		   "      --stop-us N          stop at the first wake-up of a target thread\n"
		   "                           that waited at least N us to run (checked\n"
		   "                           every 100 ms)\n",
	.report = report_sched,
};
