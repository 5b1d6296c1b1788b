// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon cache: monitor a process (or one thread) with PMU counters read
 * at every switch for a duration, then print its cache metrics over the
 * last --window-us (hftmon_get_cache_metrics()): per counter its total
 * and percentiles of the per-slice counts and rates, per level its miss
 * ratio. A counter the kernel refused prints as unsupported with the
 * kernel's reason and no number; one that missed slices as partial.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cache_args {
	struct session_args s;
	double duration;
	unsigned long long window_us; /* 0: the whole run */
	double pct[HFTMON_CACHE_MAX_PERCENTILES];
	size_t nr_pct;
	const char *events_arg;
	char events_buf[512];
	const char *events[HFTMON_PMU_MAX_COUNTERS];
	size_t nr_events; /* 0: the library's default set */
	unsigned long long sample_us; /* --sample-us: 0 = at switches only */
};

static void parse_percentiles(struct cache_args *a, const char *arg)
{
	char buf[256], *tok, *save = NULL, *end;

	if (strlen(arg) >= sizeof(buf))
		usage_error("cache: --percentiles %s: too long", arg);
	strcpy(buf, arg);
	a->nr_pct = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		double p;

		errno = 0;
		p = strtod(tok, &end);
		if (errno || *end || end == tok || !(p > 0 && p <= 100))
			usage_error("cache: --percentiles: %s is no percentile in (0, 100]",
				    tok);
		if (a->nr_pct == HFTMON_CACHE_MAX_PERCENTILES)
			usage_error("cache: --percentiles: at most %u of them",
				    HFTMON_CACHE_MAX_PERCENTILES);
		a->pct[a->nr_pct++] = p;
	}
	if (!a->nr_pct)
		usage_error("cache: --percentiles: name at least one, as 50,99");
}

static void parse_cache(int argc, char **argv, struct cache_args *a)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "duration", required_argument, NULL, 'd' },
		{ "window-us", required_argument, NULL, 'w' },
		{ "percentiles", required_argument, NULL, 'P' },
		{ "events", required_argument, NULL, 'e' },
		{ "sample-us", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	static const double def_pct[] = { 50, 95, 99, 99.9 };
	int c;

	memset(a, 0, sizeof(*a));
	a->duration = 1;
	memcpy(a->pct, def_pct, sizeof(def_pct));
	a->nr_pct = sizeof(def_pct) / sizeof(def_pct[0]);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SESSION_SHORT "d:e:h", opts,
				NULL)) != -1) {
		if (session_opt(&cmd_cache, &a->s, c, optarg))
			continue;
		switch (c) {
		case 'd':
			a->duration = parse_seconds_arg("cache", "--duration",
							optarg);
			break;
		case 'w':
			a->window_us = parse_uint_arg("cache", "--window-us",
						      optarg, 1,
						      3600000000000ull);
			break;
		case 'P':
			parse_percentiles(a, optarg);
			break;
		case 'S':
			a->sample_us = parse_uint_arg(
				"cache", "--sample-us", optarg,
				HFTMON_SAMPLE_INTERVAL_MIN_NS / 1000,
				HFTMON_SAMPLE_INTERVAL_MAX_NS / 1000);
			break;
		case 'e':
			a->events_arg = optarg;
			a->nr_events = parse_event_list("cache", optarg,
							a->events_buf,
							sizeof(a->events_buf),
							a->events);
			break;
		default:
			bad_option("cache", c, argv);
		}
	}
	session_args_finish(&cmd_cache, &a->s, argc, argv);
}

static bool has_value(uint32_t state)
{
	return state == HFTMON_PMU_MEASURED || state == HFTMON_PMU_PARTIAL;
}

static const char *errno_name(int status)
{
	const char *n = status ? strerrorname_np(-status) : NULL;

	return n ? n : "?";
}

static void counter_name(const struct hftmon_cache_counter *c, char *buf,
			 size_t len)
{
	const char *n = hftmon_cache_event_name(c->event);

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "type %u config %#" PRIx64, c->type,
			 c->config);
}

/* "unsupported: why (ENOENT)" or "partial, 3 of 4 slices: why (EIO)" */
static void print_state(uint32_t state, int status, const char *reason)
{
	printf("%s", pmu_state_name(state));
	if (status)
		printf(": %s (%s)", reason ? reason : strerror(-status),
		       errno_name(status));
}

static void print_pct_u64(const struct cache_args *a, const uint64_t *v)
{
	size_t j;

	for (j = 0; j < a->nr_pct; j++)
		printf(" p%g %" PRIu64, a->pct[j], v[j]);
}

static void print_pct_double(const struct cache_args *a, const double *v)
{
	size_t j;

	for (j = 0; j < a->nr_pct; j++)
		printf(" p%g %.4g", a->pct[j], v[j]);
}

static void print_text(const struct cache_args *a,
		       const struct hftmon_cache_metrics *o)
{
	unsigned int k, l;
	char name[64];

	printf("pid %d", (int)o->pid);
	if (o->tid)
		printf(" tid %d", (int)o->tid);
	printf(": %" PRIu64 " slices, %.3f ms on CPU", o->slices,
	       (double)o->on_cpu_ns / 1e6);
	if (a->window_us)
		printf(", last %llu us", a->window_us);
	printf("%s\n", o->complete ? "" :
				     " (incomplete: older slices overwritten)");
	for (k = 0; k < o->nr; k++) {
		const struct hftmon_cache_counter *c = &o->c[k];

		counter_name(c, name, sizeof(name));
		printf("  %s: ", name);
		print_state(c->total.state, c->total.status, c->reason);
		if (!has_value(c->total.state)) {
			printf("\n");
			continue;
		}
		printf("; %" PRIu64 " in %" PRIu64 " slices", c->total.value,
		       c->total.slices_counted);
		if (c->total.slices_missed)
			printf(" (%" PRIu64 " slices not counted)",
			       c->total.slices_missed);
		printf("\n    per slice:");
		print_pct_u64(a, c->count_pct);
		printf("\n    per us on CPU:");
		if (has_value(c->per_us_state))
			print_pct_double(a, c->per_us_pct);
		else
			printf(" %s", pmu_state_name(c->per_us_state));
		printf("\n    per 1000 instructions: ");
		if (has_value(c->per_kinst_state)) {
			printf("%s in %" PRIu64 " slices:",
			       pmu_state_name(c->per_kinst_state),
			       c->per_kinst_slices);
			print_pct_double(a, c->per_kinst_pct);
		} else {
			print_state(c->per_kinst_state, c->per_kinst_status,
				    hftmon_pmu_reason(c->per_kinst_status));
		}
		printf("\n");
	}
	for (l = 0; l < HFTMON_CACHE_NR_LEVELS; l++) {
		const struct hftmon_cache_ratio *r = &o->ratio[l];

		if (r->state == HFTMON_PMU_NOT_CONFIGURED)
			continue;
		printf("  %s miss ratio: ", hftmon_cache_level_name(l));
		print_state(r->state, r->status, r->reason);
		if (has_value(r->state)) {
			printf("; %" PRIu64 " misses of %" PRIu64
			       " accesses in %" PRIu64 " slices",
			       r->misses, r->accesses, r->slices);
			if (!isnan(r->miss_ratio))
				printf(": %.4f (hit %.4f)", r->miss_ratio,
				       r->hit_ratio);
		}
		printf("\n");
	}
}

static void json_state(uint32_t state, int status, const char *reason)
{
	printf("\"state\": \"%s\", \"status\": %d, \"errno\": ",
	       pmu_state_name(state), status);
	if (status)
		json_string(errno_name(status));
	else
		printf("null");
	printf(", \"reason\": ");
	if (status)
		json_string(reason ? reason : strerror(-status));
	else
		printf("null");
}

static void json_pct_u64(const struct cache_args *a, const uint64_t *v,
			 bool valid)
{
	size_t j;

	printf("{");
	for (j = 0; j < a->nr_pct; j++) {
		printf("%s\"%g\": ", j ? ", " : "", a->pct[j]);
		if (valid)
			printf("%" PRIu64, v[j]);
		else
			printf("null");
	}
	printf("}");
}

static void json_pct_double(const struct cache_args *a, const double *v,
			    bool valid)
{
	size_t j;

	printf("{");
	for (j = 0; j < a->nr_pct; j++) {
		printf("%s\"%g\": ", j ? ", " : "", a->pct[j]);
		if (valid)
			printf("%.17g", v[j]);
		else
			printf("null");
	}
	printf("}");
}

static void print_json(const struct cache_args *a,
		       const struct hftmon_cache_metrics *o, bool first)
{
	unsigned int k, l;
	char name[64];
	bool any = false;

	printf("%s{\"pid\": %d, \"tid\": %d, \"window_us\": %llu, \"slices\": %" PRIu64
	       ", \"on_cpu_ns\": %" PRIu64 ", \"complete\": %s, \"counters\": [",
	       first ? "" : ", ", (int)o->pid, (int)o->tid, a->window_us,
	       o->slices, o->on_cpu_ns, o->complete ? "true" : "false");
	for (k = 0; k < o->nr; k++) {
		const struct hftmon_cache_counter *c = &o->c[k];
		bool v = has_value(c->total.state);

		counter_name(c, name, sizeof(name));
		printf("%s{\"event\": ", k ? ", " : "");
		json_string(name);
		printf(", \"type\": %u, \"config\": %" PRIu64 ", ", c->type,
		       c->config);
		json_state(c->total.state, c->total.status, c->reason);
		printf(", \"total\": ");
		if (v)
			printf("%" PRIu64, c->total.value);
		else
			printf("null");
		printf(", \"slices_counted\": %" PRIu64
		       ", \"slices_missed\": %" PRIu64 ", \"per_slice\": ",
		       c->total.slices_counted, c->total.slices_missed);
		json_pct_u64(a, c->count_pct, v);
		printf(", \"per_us\": {\"state\": \"%s\", \"pct\": ",
		       pmu_state_name(c->per_us_state));
		json_pct_double(a, c->per_us_pct, has_value(c->per_us_state));
		printf("}, \"per_kinst\": {");
		json_state(c->per_kinst_state, c->per_kinst_status,
			   hftmon_pmu_reason(c->per_kinst_status));
		printf(", \"slices\": %" PRIu64 ", \"pct\": ",
		       c->per_kinst_slices);
		json_pct_double(a, c->per_kinst_pct,
				has_value(c->per_kinst_state));
		printf("}}");
	}
	printf("], \"ratios\": [");
	for (l = 0; l < HFTMON_CACHE_NR_LEVELS; l++) {
		const struct hftmon_cache_ratio *r = &o->ratio[l];
		bool v = has_value(r->state);

		if (r->state == HFTMON_PMU_NOT_CONFIGURED)
			continue;
		printf("%s{\"level\": \"%s\", ", any ? ", " : "",
		       hftmon_cache_level_name(l));
		json_state(r->state, r->status, r->reason);
		if (v)
			printf(", \"accesses\": %" PRIu64 ", \"misses\": %" PRIu64
			       ", \"slices\": %" PRIu64,
			       r->accesses, r->misses, r->slices);
		else
			printf(", \"accesses\": null, \"misses\": null, \"slices\": 0");
		printf(", \"miss_ratio\": ");
		if (v && !isnan(r->miss_ratio))
			printf("%.17g", r->miss_ratio);
		else
			printf("null");
		printf("}");
		any = true;
	}
	printf("]}");
}

static int print_metrics(struct session *s, const struct cache_args *a)
{
	const struct cli_targets *t = &a->s.targets;
	unsigned int i;

	if (a->s.json)
		printf("{\"targets\": [");
	for (i = 0; i < t->nr; i++) {
		HFTMON_OPTS(hftmon_cache_query, q, .pid = t->v[i].pid,
			    .tid = t->v[i].tid, .window_us = a->window_us,
			    .percentiles = a->pct,
			    .nr_percentiles = a->nr_pct);
		struct hftmon_cache_metrics o = { .sz = sizeof(o) };
		int err = hftmon_get_cache_metrics(s->m, &q, &o);

		if (err && err != -ENODATA)
			return report_error(err, "cache metrics of pid %d",
					    (int)q.pid);
		if (a->s.json)
			print_json(a, &o, !i);
		else
			print_text(a, &o);
	}
	if (a->s.json)
		printf("]}\n");
	return 0;
}

static int run_cache(int argc, char **argv)
{
	struct hftmon_pmu_counter pc[HFTMON_PMU_MAX_COUNTERS] = {
		[0].sz = sizeof(pc[0])
	};
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .drain_thread = true };
	struct hftmon_attach_opts ao = { .sz = sizeof(ao) };
	struct cache_args a;
	struct session s;
	int n, status;

	parse_cache(argc, argv, &a);
	n = resolve_counters("cache", a.events_arg,
			     a.nr_events ? a.events : NULL, a.nr_events, pc);
	if (n < 0)
		return EXIT_FAILURE;
	cfg.pmu_counters = pc;
	cfg.nr_pmu_counters = (size_t)n;
	cfg.sampling_interval_us = (uint32_t)a.sample_us;
	/* The default set is the cache set: say this process needs it. */
	ao.track_cache = !a.nr_events;
	if (session_start(&s, &a.s, &cfg, &ao))
		return EXIT_FAILURE;
	session_wait(&s, now_ns() + (uint64_t)(a.duration * 1e9));
	status = session_stop(&s);
	if (!status)
		status = print_metrics(&s, &a);
	session_end(&s);
	return finish_stdout(status);
}

/* hftmon report -i FILE: the metrics over the recording, as printed live. */
static int report_cache(struct session *s, int argc, char **argv)
{
	struct session_args *loaded;
	struct cache_args a;
	int status;

	parse_cache(argc, argv, &a);
	loaded = session_replay_args(s, &a.s);
	status = print_metrics(s, &a);
	s->args = loaded;
	return status;
}

const struct cli_command cmd_cache = {
	.name = "cache",
	.run = run_cache,
	.help = "  cache -p PID|-t TID|-- COMMAND [--window-us N] [--percentiles LIST] [--events LIST] [--sample-us N]\n"
		"                           monitor with PMU counters read at every switch for\n"
		"                           SEC seconds (default 1), then print per counter its\n"
		"                           total and percentiles of its per-slice counts and\n"
		"                           rates (per us on CPU, per 1000 instructions), and\n"
		"                           the miss ratios per level; a counter the kernel\n"
		"                           refused is unsupported, with the kernel's reason\n",
	.options = "cache options:\n"
		   "  -d, --duration SEC       seconds to monitor (default 1)\n"
		   "      --window-us N        only the slices that ended in the last N us\n"
		   "                           (default: the whole run)\n"
		   "      --percentiles LIST   percentiles in (0, 100], at most 8\n"
		   "                           (default 50,95,99,99.9)\n"
		   "  -e, --events LIST        the counters, at most the PMU budget: names of\n"
		   "                           hftmon's table (instructions, L1-dcache-loads,\n"
		   "                           LLC-load-misses, branch-misses, xsnp-hitm,\n"
		   "                           page-faults...) or libpfm4's (default: the cache\n"
		   "                           set, see libhftmon(3) hftmon_cache_counters)\n"
		   "      --sample-us N        also read them every N us (1..1000000) while a\n"
		   "                           target runs: more, shorter samples (default: at\n"
		   "                           its switches only)\n",
	.report = report_cache,
};
