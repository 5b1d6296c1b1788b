// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon spikes and hftmon explain: what disturbed a target thread.
 *
 * spikes: the kernel detects every latency spike of the targets as the
 * disturbance ends (a thread on CPU interrupted, or runnable but not
 * running, for at least --threshold-us; HFTMON_REC_SPIKE), and the
 * library breaks each down into its parts, in time order, adding up to
 * the spike exactly (hftmon_detect_latency_spikes() with cause analysis).
 * --follow prints each spike as it comes (hftmon_wait_spike()); without
 * it, every spike of the run is printed at its end.
 *
 * explain: the same breakdown for a window the application measured
 * itself (CLOCK_MONOTONIC ns, say around an order): it records the
 * target from now until the window has ended, then asks hftmon_explain().
 * A window that began before the recording cannot be explained.
 *
 * Both share the printing of parts (print_parts()).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_PARTS 4096 /* per spike or window, allocated before the start */
#define MAX_SPIKES 65536

static const char *part_name(uint32_t kind)
{
	switch (kind) {
	case HFTMON_PART_RUN:
		return "ran";
	case HFTMON_PART_IRQ:
		return "irq";
	case HFTMON_PART_VECTOR:
		return "vector";
	case HFTMON_PART_SOFTIRQ:
		return "softirq";
	case HFTMON_PART_NMI:
		return "nmi";
	case HFTMON_PART_TASK:
		return "task";
	case HFTMON_PART_SLEEP:
		return "slept";
	case HFTMON_PART_WAIT:
		return "waited";
	case HFTMON_PART_IDLE_EXIT:
		return "idle-exit";
	case HFTMON_PART_UNATTRIBUTED:
		return "unattributed";
	case HFTMON_PART_FAULT:
		return "fault";
	default:
		return "?";
	}
}

static const char *spike_type_name(uint32_t type)
{
	switch (type) {
	case HFTMON_SPIKE_INTERRUPTED:
		return "interrupted";
	case HFTMON_SPIKE_RUNNABLE:
		return "runnable";
	case HFTMON_SPIKE_FAULT:
		return "fault";
	default:
		return "?";
	}
}

static void part_what(const struct hftmon_part *p, char *buf, size_t len)
{
	char name[80];

	switch (p->kind) {
	case HFTMON_PART_IRQ:
		snprintf(buf, len, "irq %u %s", p->nr,
			 table_name(p->name, name, sizeof(name)));
		break;
	case HFTMON_PART_VECTOR:
		snprintf(buf, len, "vector %#x %s", p->nr,
			 table_name(p->name, name, sizeof(name)));
		break;
	case HFTMON_PART_SOFTIRQ:
		snprintf(buf, len, "softirq %s",
			 table_name(p->name, name, sizeof(name)));
		break;
	case HFTMON_PART_FAULT:
		snprintf(buf, len, "page fault at %#llx",
			 (unsigned long long)p->addr);
		break;
	case HFTMON_PART_TASK: {
		char c[HFTMON_TASK_COMM_LEN + 1];

		memcpy(c, p->comm, HFTMON_TASK_COMM_LEN);
		c[HFTMON_TASK_COMM_LEN] = '\0';
		snprintf(buf, len, "task %d/%d %s prio %d policy %u",
			 (int)p->pid, (int)p->tid,
			 table_name(c, name, sizeof(name)), p->prio, p->policy);
		break;
	}
	default:
		snprintf(buf, len, "%s", part_name(p->kind));
	}
}

/* One line per part, times relative to start_ns, then their sum. */
static void print_parts(const struct hftmon_part *p, size_t n,
			uint64_t start_ns, uint64_t end_ns)
{
	uint64_t sum = 0;
	char what[160];
	size_t i;

	for (i = 0; i < n; i++) {
		part_what(&p[i], what, sizeof(what));
		char cpu[16] = "-"; /* no CPU applies: asleep, unattributed */

		if (p[i].cpu >= 0)
			snprintf(cpu, sizeof(cpu), "%d", p[i].cpu);
		printf("    +%10.3f us %10.3f us  cpu %-3s %s\n",
		       (double)(p[i].start_ns - start_ns) / 1000.0,
		       (double)p[i].ns / 1000.0, cpu, what);
		sum += p[i].ns;
	}
	printf("    parts: %zu, summing to %.3f us of %.3f us\n", n,
	       (double)sum / 1000.0, (double)(end_ns - start_ns) / 1000.0);
}

static void print_parts_json(const struct hftmon_part *p, size_t n)
{
	size_t i;

	printf("[");
	for (i = 0; i < n; i++) {
		char c[HFTMON_TASK_COMM_LEN + 1];

		printf("%s{\"kind\": \"%s\", \"cpu\": %d, \"start_ns\": %llu, \"end_ns\": %llu, \"ns\": %llu",
		       i ? ", " : "", part_name(p[i].kind), p[i].cpu,
		       (unsigned long long)p[i].start_ns,
		       (unsigned long long)p[i].end_ns,
		       (unsigned long long)p[i].ns);
		switch (p[i].kind) {
		case HFTMON_PART_IRQ:
		case HFTMON_PART_VECTOR:
		case HFTMON_PART_SOFTIRQ:
			printf(", \"nr\": %u, \"name\": ", p[i].nr);
			json_string(p[i].name);
			break;
		case HFTMON_PART_TASK:
			memcpy(c, p[i].comm, HFTMON_TASK_COMM_LEN);
			c[HFTMON_TASK_COMM_LEN] = '\0';
			printf(", \"pid\": %d, \"tid\": %d, \"comm\": ",
			       (int)p[i].pid, (int)p[i].tid);
			json_string(c);
			printf(", \"prio\": %d, \"policy\": %u", p[i].prio,
			       p[i].policy);
			break;
		case HFTMON_PART_FAULT:
			printf(", \"addr\": %llu", (unsigned long long)p[i].addr);
			break;
		}
		printf("}");
	}
	printf("]");
}

/* ---- spikes --------------------------------------------------------------- */

struct spikes_args {
	struct session_args s;
	unsigned long long threshold_us;
	double duration; /* 0: until a signal or the targets exit */
	unsigned long long stop_us; /* --stop-us: 0 = none */
	bool follow;
	bool no_causes;
	const char *events_arg; /* --events: PMU counters joined to each spike */
	char events_buf[512];
	const char *events[HFTMON_PMU_MAX_COUNTERS];
	size_t nr_events;
	unsigned long long sample_us; /* --sample-us: 0 = at switches only */
};

enum { OPT_THRESHOLD = OPT_COMMON_END, OPT_FOLLOW, OPT_NO_CAUSES,
       OPT_SPIKES_STOP_US, OPT_SAMPLE_US };

static void parse_spikes(int argc, char **argv, struct spikes_args *a)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "threshold-us", required_argument, NULL, OPT_THRESHOLD },
		{ "duration", required_argument, NULL, 'd' },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "no-causes", no_argument, NULL, OPT_NO_CAUSES },
		{ "interval-print", required_argument, NULL, 'I' },
		{ "stop-us", required_argument, NULL, OPT_SPIKES_STOP_US },
		{ "events", required_argument, NULL, 'e' },
		{ "sample-us", required_argument, NULL, OPT_SAMPLE_US },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SESSION_SHORT "d:e:fI:h", opts,
				NULL)) != -1) {
		if (session_opt(&cmd_spikes, &a->s, c, optarg))
			continue;
		switch (c) {
		case OPT_THRESHOLD:
			a->threshold_us = parse_uint_arg(
				"spikes", "--threshold-us", optarg,
				HFTMON_SPIKE_THRESHOLD_MIN_NS / 1000,
				HFTMON_SPIKE_THRESHOLD_MAX_NS / 1000);
			break;
		case 'd':
			a->duration = parse_seconds_arg("spikes", "--duration",
							optarg);
			break;
		case 'f':
		case OPT_FOLLOW:
			a->follow = true;
			break;
		case OPT_NO_CAUSES:
			a->no_causes = true;
			break;
		case 'I':
			usage_error("spikes: -I has no intervals to print: a spike is printed as it ends with --follow");
		case OPT_SPIKES_STOP_US:
			a->stop_us = parse_uint_arg(
				"spikes", "--stop-us", optarg,
				HFTMON_SPIKE_THRESHOLD_MIN_NS / 1000,
				HFTMON_SPIKE_THRESHOLD_MAX_NS / 1000);
			break;
		case 'e':
			a->events_arg = optarg;
			a->nr_events = parse_event_list("spikes", optarg,
							a->events_buf,
							sizeof(a->events_buf),
							a->events);
			break;
		case OPT_SAMPLE_US:
			a->sample_us = parse_uint_arg(
				"spikes", "--sample-us", optarg,
				HFTMON_SAMPLE_INTERVAL_MIN_NS / 1000,
				HFTMON_SAMPLE_INTERVAL_MAX_NS / 1000);
			break;
		default:
			bad_option("spikes", c, argv);
		}
	}
	session_args_finish(&cmd_spikes, &a->s, argc, argv);
	if (!a->threshold_us)
		a->threshold_us = a->stop_us; /* the spikes it stops at */
	if (a->stop_us && a->stop_us < a->threshold_us)
		usage_error("spikes: --stop-us %llu is below --threshold-us %llu: the kernel reports no spike shorter than the threshold",
			    a->stop_us, a->threshold_us);
	if (!a->threshold_us)
		usage_error("spikes: --threshold-us N is needed (%llu..%llu us)",
			    HFTMON_SPIKE_THRESHOLD_MIN_NS / 1000,
			    HFTMON_SPIKE_THRESHOLD_MAX_NS / 1000);
	if (a->s.json && a->follow)
		usage_error("spikes: --json prints one object at the end: leave out --follow");
	if (a->sample_us && !a->nr_events)
		usage_error("spikes: --sample-us reads PMU counters: name them with --events");
}

/* The names of the session's counters, for the spikes' counts. */
struct counter_names {
	bool known;
	char name[HFTMON_PMU_MAX_COUNTERS][64];
};

/*
 * By hftmon's table, as the cache metrics of pid identify each counter
 * (live or recorded alike), else by its perf encoding; looked up once.
 */
static void counter_names_of(struct session *s, pid_t pid,
			     struct counter_names *cn)
{
	struct hftmon_cache_query q = { .sz = sizeof(q), .pid = pid };
	struct hftmon_cache_metrics *o;
	const char *n;
	uint32_t k;
	int err;

	if (cn->known)
		return;
	cn->known = true;
	for (k = 0; k < HFTMON_PMU_MAX_COUNTERS; k++)
		snprintf(cn->name[k], sizeof(cn->name[k]), "counter %u", k);
	o = calloc(1, sizeof(*o));
	if (!o)
		return;
	o->sz = sizeof(*o);
	err = hftmon_get_cache_metrics(s->m, &q, o);
	for (k = 0; (!err || err == -ENODATA) && k < o->nr; k++) {
		n = hftmon_cache_event_name(o->c[k].event);
		if (n)
			snprintf(cn->name[k], sizeof(cn->name[k]), "%s", n);
		else
			snprintf(cn->name[k], sizeof(cn->name[k]),
				 "type %u config %#llx", o->c[k].type,
				 (unsigned long long)o->c[k].config);
	}
	free(o);
}

static bool counted(uint32_t state)
{
	return state == HFTMON_PMU_MEASURED || state == HFTMON_PMU_PARTIAL;
}

/* What the counters did during sp, a line each (none without counters). */
static void print_spike_counters(const struct hftmon_spike *sp,
				 const struct counter_names *cn)
{
	uint32_t k;

	if (!sp->pmu_nr)
		return;
	if (sp->type == HFTMON_SPIKE_RUNNABLE) {
		printf("  counters: none, the thread did not run (its counters are read only while it does)\n");
		return;
	}
	if (sp->pmu_records)
		printf("  counters over %u read(s) from %+.3f to %+.3f us of the spike's start",
		       sp->pmu_records,
		       (double)((int64_t)(sp->pmu_from_ns - sp->start_ns)) / 1e3,
		       (double)((int64_t)(sp->pmu_to_ns - sp->start_ns)) / 1e3);
	else
		printf("  counters: no read of the thread's counters recorded over the spike");
	printf("%s\n", sp->pmu_complete ? ":" :
		" (incomplete: the read at its end is not recorded yet, or the PMU history lost one):");
	for (k = 0; k < sp->pmu_nr && k < HFTMON_PMU_MAX_COUNTERS; k++) {
		const struct hftmon_pmu_metric *v = &sp->pmu[k];

		printf("    %s: ", cn->name[k]);
		if (counted(v->state))
			printf("%llu", (unsigned long long)v->value);
		else
			printf("%s", pmu_state_name(v->state));
		if (v->status)
			printf("%s%s (%s)", counted(v->state) ? ", partial: " : ": ",
			       hftmon_pmu_reason(v->status),
			       strerrorname_np(-v->status) ?: "?");
		printf("\n");
	}
}

static void print_spike_counters_json(const struct hftmon_spike *sp,
				      const struct counter_names *cn)
{
	uint32_t k;

	if (!sp->pmu_nr) {
		printf("null");
		return;
	}
	printf("{\"reads\": %u, \"from_ns\": %llu, \"to_ns\": %llu, \"complete\": %s, \"values\": [",
	       sp->pmu_records, (unsigned long long)sp->pmu_from_ns,
	       (unsigned long long)sp->pmu_to_ns,
	       sp->pmu_complete ? "true" : "false");
	for (k = 0; k < sp->pmu_nr && k < HFTMON_PMU_MAX_COUNTERS; k++) {
		const struct hftmon_pmu_metric *v = &sp->pmu[k];

		printf("%s{\"event\": ", k ? ", " : "");
		json_string(cn->name[k]);
		printf(", \"state\": \"%s\", \"value\": ",
		       pmu_state_name(v->state));
		if (counted(v->state))
			printf("%llu", (unsigned long long)v->value);
		else
			printf("null");
		printf(", \"status\": %d, \"reason\": ", v->status);
		if (v->status)
			json_string(hftmon_pmu_reason(v->status));
		else
			printf("null");
		printf("}");
	}
	printf("]}");
}

static void print_spike(const struct hftmon_spike *sp,
			const struct hftmon_part *parts, bool causes,
			const struct counter_names *cn)
{
	printf("%llu.%09llu spike tid %d cpu %d %s %.3f us (threshold %.3f us)",
	       (unsigned long long)(sp->start_ns / 1000000000u),
	       (unsigned long long)(sp->start_ns % 1000000000u), (int)sp->tid,
	       sp->cpu, spike_type_name(sp->type),
	       (double)sp->duration_ns / 1000.0,
	       (double)sp->threshold_ns / 1000.0);
	if (sp->type == HFTMON_SPIKE_RUNNABLE)
		printf(" %s on cpu %d", sp->flags & HFTMON_SPIKE_WOKEN ?
				"woken" : "preempted", sp->from_cpu);
	if (sp->flags & HFTMON_SPIKE_IDLE)
		printf(", cpu was idle (state %d)", sp->idle_state);
	if (sp->type == HFTMON_SPIKE_INTERRUPTED)
		printf(", %u interruption(s) chained", sp->links);
	if (sp->type == HFTMON_SPIKE_FAULT)
		printf(" at %#llx, from cpu %d", (unsigned long long)sp->addr,
		       sp->from_cpu);
	if (sp->flags & HFTMON_SPIKE_EXTENDS)
		printf(" (the spike above, extended by a later link)");
	printf("\n");
	print_spike_counters(sp, cn);
	if (causes)
		print_parts(parts + sp->first_part, sp->nr_parts, sp->start_ns,
			    sp->end_ns);
}

static void print_spike_json(const struct hftmon_spike *sp,
			     const struct hftmon_part *parts, bool causes,
			     const struct counter_names *cn, bool first)
{
	printf("%s\n  {\"tid\": %d, \"pid\": %d, \"cpu\": %d, \"from_cpu\": %d, \"type\": \"%s\", \"woken\": %s, \"idle\": %s, \"idle_state\": %d, \"start_ns\": %llu, \"end_ns\": %llu, \"duration_us\": %.3f, \"threshold_us\": %.3f, \"links\": %u, ",
	       first ? "" : ",", (int)sp->tid, (int)sp->pid, sp->cpu,
	       sp->from_cpu, spike_type_name(sp->type),
	       sp->flags & HFTMON_SPIKE_WOKEN ? "true" : "false",
	       sp->flags & HFTMON_SPIKE_IDLE ? "true" : "false",
	       sp->idle_state, (unsigned long long)sp->start_ns,
	       (unsigned long long)sp->end_ns,
	       (double)sp->duration_ns / 1000.0,
	       (double)sp->threshold_ns / 1000.0, sp->links);
	if (sp->type == HFTMON_SPIKE_FAULT)
		printf("\"addr\": %llu, ", (unsigned long long)sp->addr);
	else
		printf("\"addr\": null, ");
	printf("\"counters\": ");
	print_spike_counters_json(sp, cn);
	printf(", \"parts\": ");
	if (causes)
		print_parts_json(parts + sp->first_part, sp->nr_parts);
	else
		printf("null");
	printf("}");
}

/* --stop-us: what ends the run at sp, on standard error. */
static void note_stop(const struct spikes_args *a, const struct hftmon_spike *sp)
{
	note("--stop-us %llu: tid %d %s %.3f us on cpu %d (at %llu.%09llu s): stopping",
	     a->stop_us, (int)sp->tid, spike_type_name(sp->type),
	     (double)sp->duration_ns / 1000.0, sp->cpu,
	     (unsigned long long)(sp->start_ns / 1000000000u),
	     (unsigned long long)(sp->start_ns % 1000000000u));
}

/* --stop-us without --follow: a spike of a target at least that long. */
static bool long_spike(struct session *s, void *arg)
{
	const struct spikes_args *a = arg;
	struct hftmon_spike_query q = { .sz = sizeof(q),
					.min_duration_us = a->stop_us };
	struct hftmon_spike sp[16] = { [0].sz = sizeof(sp[0]) };
	int n = hftmon_detect_latency_spikes(s->m, &q, sp, 16), i;

	for (i = 0; i < n && i < 16; i++)
		if (targets_want(&a->s.targets, sp[i].pid, sp[i].tid)) {
			note_stop(a, &sp[i]);
			return true;
		}
	return false;
}

/*
 * A spike comes as it ends, the read of the counters at its end at the
 * thread's next tick or switch-out: wait for it a little (a thread that
 * runs on without switching brings it only with --sample-us).
 */
#define COUNTERS_WAIT_MS 200

static void counters_wait(struct session *s, struct hftmon_spike *sp)
{
	uint64_t until = now_ns() + COUNTERS_WAIT_MS * 1000000ull;

	while (sp->pmu_nr && !sp->pmu_complete && !stopping() &&
	       now_ns() < until) {
		usleep(10000);
		if (hftmon_spike_counters(s->m, sp))
			break;
	}
}

static int follow_spikes(struct session *s, const struct spikes_args *a,
			 struct hftmon_spike_query *q, uint64_t deadline)
{
	uint64_t since = s->start_ns;
	struct counter_names cn = { 0 };
	unsigned long long n = 0;

	for (;;) {
		struct hftmon_spike sp = { .sz = sizeof(sp) };
		int ret;

		if (stopping() || session_targets_gone(s) ||
		    (deadline && now_ns() >= deadline))
			break;
		ret = hftmon_wait_spike(s->m, q, &since, 100, &sp);
		if (ret == -EINTR || ret == 0)
			continue;
		if (ret < 0)
			return report_error(ret, "waiting for a spike");
		counters_wait(s, &sp);
		counter_names_of(s, sp.pid, &cn);
		print_spike(&sp, q->parts, q->cause_analysis, &cn);
		fflush(stdout);
		n++;
		if (stdout_closed())
			break;
		if (a->stop_us && sp.duration_ns >= a->stop_us * 1000 &&
		    targets_want(&a->s.targets, sp.pid, sp.tid)) {
			note_stop(a, &sp);
			break;
		}
	}
	printf("%llu spike(s) followed\n", n);
	return 0;
}

/*
 * Every spike of the session (stopped, or a recording's) and its parts,
 * in text or JSON: the report of a run without --follow.
 */
static int print_spikes(struct session *s, const struct spikes_args *a,
			struct hftmon_spike_query *q, struct hftmon_spike *spikes)
{
	struct counter_names cn = { 0 };
	int n, i;

	n = hftmon_detect_latency_spikes(s->m, q, spikes, MAX_SPIKES);
	if (n < 0)
		return report_error(n, "spikes of the recording");
	if (n)
		counter_names_of(s, spikes[0].pid, &cn);
	if (a->s.json) {
		session_print_json_head(s, "spikes",
					(double)(s->stop_ns - s->start_ns) / 1e9);
		printf(",\n \"threshold_us\": %llu, \"nr_spikes\": %d, \"spikes\": [",
		       a->threshold_us, n);
		for (i = 0; i < n && i < MAX_SPIKES; i++)
			print_spike_json(&spikes[i], q->parts, q->cause_analysis,
					 &cn, !i);
		printf("%s]}\n", n ? "\n " : "");
		return 0;
	}
	for (i = 0; i < n && i < MAX_SPIKES; i++)
		print_spike(&spikes[i], q->parts, q->cause_analysis, &cn);
	printf("%d spike(s) of at least %llu us\n", n, a->threshold_us);
	session_print_footer(s);
	return 0;
}

/* The spikes' buffers, allocated before the session starts. */
static int spikes_alloc(const struct spikes_args *a,
			struct hftmon_spike_query *q,
			struct hftmon_spike **spikes)
{
	memset(q, 0, sizeof(*q));
	q->sz = sizeof(*q);
	q->cause_analysis = !a->no_causes;
	q->max_parts = MAX_PARTS;
	q->parts = calloc(MAX_PARTS, sizeof(*q->parts));
	*spikes = calloc(a->follow ? 1 : MAX_SPIKES, sizeof(**spikes));
	if (!q->parts || !*spikes) {
		free(q->parts);
		free(*spikes);
		return report_error(-ENOMEM, "spikes");
	}
	q->parts[0].sz = sizeof(*q->parts);
	(*spikes)[0].sz = sizeof(**spikes);
	return 0;
}

static int run_spikes(int argc, char **argv)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.drain_thread = true,
		/* RUNQ: each task that ran while a target waited is named. */
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL | HFTMON_EV_RUNQ,
	};
	struct hftmon_pmu_counter pc[HFTMON_PMU_MAX_COUNTERS];
	struct hftmon_spike_query q;
	struct hftmon_spike *spikes;
	struct spikes_args a;
	struct session s;
	uint64_t deadline = 0;
	int status = 0, ret, n;

	parse_spikes(argc, argv, &a);
	cfg.spike_threshold_us = a.threshold_us;
	if (a.nr_events) {
		n = resolve_counters("spikes", a.events_arg, a.events,
				     a.nr_events, pc);
		if (n < 0)
			return EXIT_FAILURE;
		cfg.pmu_counters = pc;
		cfg.nr_pmu_counters = (size_t)n;
		cfg.sampling_interval_us = (uint32_t)a.sample_us;
	}
	if (spikes_alloc(&a, &q, &spikes))
		return EXIT_FAILURE;
	if (session_start(&s, &a.s, &cfg, NULL)) {
		free(q.parts);
		free(spikes);
		return EXIT_FAILURE;
	}
	if (a.duration)
		deadline = s.start_ns + (uint64_t)(a.duration * 1e9);
	if (a.follow) {
		status = follow_spikes(&s, &a, &q, deadline);
		ret = session_stop(&s);
		if (!status && !ret)
			session_print_footer(&s);
	} else {
		session_wait_trigger(&s, deadline,
				     a.stop_us ? long_spike : NULL, &a);
		ret = session_stop(&s);
		if (!ret)
			status = print_spikes(&s, &a, &q, spikes);
	}
	if (ret && !status)
		status = ret;
	free(q.parts);
	free(spikes);
	session_end(&s);
	return finish_stdout(status);
}

/* hftmon report -i FILE: every spike of the recording, with its parts. */
static int report_spikes(struct session *s, int argc, char **argv)
{
	struct session_args *loaded;
	struct hftmon_spike_query q;
	struct hftmon_spike *spikes;
	struct spikes_args a;
	int status;

	parse_spikes(argc, argv, &a);
	a.follow = false; /* followed live: the whole list now */
	if (spikes_alloc(&a, &q, &spikes))
		return EXIT_FAILURE;
	loaded = session_replay_args(s, &a.s);
	status = print_spikes(s, &a, &q, spikes);
	s->args = loaded;
	free(q.parts);
	free(spikes);
	return status;
}

const struct cli_command cmd_spikes = {
	.name = "spikes",
	.run = run_spikes,
	.help = "  spikes -p PID|-t TID|-- COMMAND --threshold-us N [--follow] [--events LIST] [--json]\n"
		"                           every latency spike of the targets of at least N\n"
		"                           us, detected in the kernel as it ends (a thread\n"
		"                           interrupted on its CPU, or runnable but not\n"
		"                           running), with its parts in time order: each\n"
		"                           IRQ, softirq, NMI, task that ran, idle exit, and\n"
		"                           what no record explains, adding up to the spike\n",
	.options = "spikes options:\n"
		   "      --threshold-us N     the spike threshold, 1..10000000 us\n"
		   "  -f, --follow             print each spike as it happens\n"
		   "  -d, --duration SEC       stop after SEC seconds (default: a signal or\n"
		   "                           every target exited)\n"
		   "      --no-causes          spikes only, without their parts\n"
		   "      --stop-us N          stop at the first spike of a target at least\n"
		   "                           N us long (the threshold if not given)\n"
		   "  -e, --events LIST        PMU counters (names as hftmon cache --events\n"
		   "                           takes) read at the targets' switches, and with\n"
		   "                           each spike what they counted over the reads\n"
		   "                           around it\n"
		   "      --sample-us N        with --events: also read them every N us\n"
		   "                           (1..1000000) while a target runs, for reads\n"
		   "                           closer around each spike\n",
	.report = report_spikes,
};

/* ---- explain --------------------------------------------------------------- */

struct explain_args {
	struct session_args s;
	unsigned long long from_ns, to_ns;
	pid_t tid;
};

enum { OPT_FROM = OPT_COMMON_END, OPT_TO };

static void parse_explain(int argc, char **argv, struct explain_args *a)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int i;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SESSION_SHORT "h", opts,
				NULL)) != -1) {
		if (session_opt(&cmd_explain, &a->s, c, optarg))
			continue;
		switch (c) {
		case OPT_FROM:
			a->from_ns = parse_uint_arg("explain", "--from", optarg,
						    1, UINT64_MAX / 2);
			break;
		case OPT_TO:
			a->to_ns = parse_uint_arg("explain", "--to", optarg, 1,
						  UINT64_MAX / 2);
			break;
		default:
			bad_option("explain", c, argv);
		}
	}
	session_args_finish(&cmd_explain, &a->s, argc, argv);
	for (i = 0; i < a->s.targets.nr; i++)
		if (a->s.targets.v[i].tid) {
			if (a->tid && a->tid != a->s.targets.v[i].tid)
				usage_error("explain: one thread at a time: give -t TID once");
			a->tid = a->s.targets.v[i].tid;
		}
	/* A recording keeps its targets apart: report_explain() takes it there. */
	if (!a->tid && !cli_replay)
		usage_error("explain: the thread to explain is needed: -t TID");
	if (!a->from_ns || !a->to_ns)
		usage_error("explain: the window is needed: --from NS --to NS (CLOCK_MONOTONIC ns)");
	if (a->to_ns <= a->from_ns)
		usage_error("explain: --to %llu is not after --from %llu",
			    a->to_ns, a->from_ns);
}

/* The window explained from what s drained, printed. */
static int print_explain(struct session *s, const struct explain_args *a,
			 struct hftmon_part *parts)
{
	struct hftmon_explain_query q = { .sz = sizeof(q), .tid = a->tid,
					  .start_ns = a->from_ns,
					  .end_ns = a->to_ns };
	int n = hftmon_explain(s->m, &q, parts, MAX_PARTS);

	if (n < 0)
		return report_error(n, "explain tid %d over [%llu, %llu)",
				    (int)a->tid, a->from_ns, a->to_ns);
	if (a->s.json) {
		session_print_json_head(s, "explain",
					(double)(a->to_ns - a->from_ns) / 1e9);
		printf(",\n \"tid\": %d, \"from_ns\": %llu, \"to_ns\": %llu, \"nr_parts\": %d, \"parts\": ",
		       (int)a->tid, a->from_ns, a->to_ns, n);
		print_parts_json(parts, n < MAX_PARTS ? (size_t)n : MAX_PARTS);
		printf("}\n");
	} else {
		printf("tid %d over [%llu, %llu) (%.3f us), in time order:\n",
		       (int)a->tid, a->from_ns, a->to_ns,
		       (double)(a->to_ns - a->from_ns) / 1000.0);
		print_parts(parts, n < MAX_PARTS ? (size_t)n : MAX_PARTS,
			    a->from_ns, a->to_ns);
		session_print_footer(s);
	}
	return 0;
}

static int run_explain(int argc, char **argv)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.drain_thread = true,
		/* RUNQ: each task that ran while a target waited is named. */
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL | HFTMON_EV_RUNQ,
	};
	struct hftmon_part *parts;
	struct explain_args a;
	struct session s;
	int status = 0, ret;
	uint64_t now;

	parse_explain(argc, argv, &a);
	now = now_ns();
	if (a.from_ns < now)
		return report_line("explain: the window starts %.3f s ago, before this recording: start hftmon explain before the window begins",
				   (double)(now - a.from_ns) / 1e9);
	if (a.to_ns - now > 3600ull * 1000000000u)
		return report_line("explain: the window ends more than an hour from now (CLOCK_MONOTONIC %llu, now %llu): give times of this boot's monotonic clock",
				   a.to_ns, (unsigned long long)now);
	parts = calloc(MAX_PARTS, sizeof(*parts));
	if (!parts)
		return report_error(-ENOMEM, "explain");
	parts[0].sz = sizeof(*parts);
	if (session_start(&s, &a.s, &cfg, NULL)) {
		free(parts);
		return EXIT_FAILURE;
	}
	/* Recorded until the window has ended; the stop drains the rest. */
	if (session_wait(&s, a.to_ns + 1000000u) || stopping()) {
		if (now_ns() < a.to_ns) {
			session_stop(&s);
			status = report_line("explain: the recording ended before the window did (%s)",
					     stopping() ? "interrupted" :
							  "the target exited");
			goto out;
		}
	}
	ret = session_stop(&s);
	if (ret) {
		status = ret;
		goto out;
	}
	status = print_explain(&s, &a, parts);
out:
	free(parts);
	session_end(&s);
	return finish_stdout(status);
}

/* The same from a recording (hftmon report -i FILE). */
static int report_explain(struct session *s, int argc, char **argv)
{
	struct session_args *loaded;
	struct hftmon_part *parts;
	struct explain_args a;
	unsigned int i;
	int status;

	parse_explain(argc, argv, &a);
	parts = calloc(MAX_PARTS, sizeof(*parts));
	if (!parts)
		return report_error(-ENOMEM, "explain");
	parts[0].sz = sizeof(*parts);
	for (i = 0; !a.tid && i < s->args->targets.nr; i++)
		a.tid = s->args->targets.v[i].tid;
	loaded = session_replay_args(s, &a.s);
	status = print_explain(s, &a, parts);
	s->args = loaded;
	free(parts);
	return status;
}

const struct cli_command cmd_explain = {
	.name = "explain",
	.run = run_explain,
	.help = "  explain -t TID --from NS --to NS [--json]\n"
		"                           what thread TID did and what disturbed it over a\n"
		"                           window of CLOCK_MONOTONIC ns it measured itself:\n"
		"                           records from now until the window ends, then\n"
		"                           prints its parts in time order, summing to it\n",
	.options = "explain options:\n"
		   "      --from NS            the window's start (CLOCK_MONOTONIC ns, not yet\n"
		   "                           passed when hftmon explain starts)\n"
		   "      --to NS              its end\n",
	.report = report_explain,
};
