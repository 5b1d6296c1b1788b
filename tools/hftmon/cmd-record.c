// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon record: attach to the targets, drain their scheduling records
 * (hftmon_wait() + hftmon_drain() in this thread, which is the monitor:
 * placed off the targets' CPUs, no drain thread) until a duration ends,
 * SIGINT/SIGTERM/SIGHUP, or every target has exited, then report per
 * thread (switch-outs, switch-ins, wakeups, migrations) over the
 * recording, with every loss counted and what the monitor cost. The
 * per-thread table (threads.c) is allocated before monitoring starts, so
 * draining never allocates; --raw prints each record as it is drained.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "threads.h"

#define MAX_THREADS 4096 /* per-thread table of "record" */

struct record_ctx {
	struct hftmon_thread_table threads;
	unsigned long long by_type[HFTMON_REC_TYPE_NR];
	unsigned long long records;
	uint64_t first_ns, last_ns;
	struct cli_targets *targets; /* --children adds those followed */
	bool children;
	bool raw;
	/*
	 * -I MS: the counts of each table slot when the last interval was
	 * printed, and the order of the rows (both allocated before the
	 * start: the drain never allocates).
	 */
	struct hftmon_thread_stats *shadow;
	unsigned int *order;
};

/* A record's comm (16 bytes, maybe unterminated), escaped for a line. */
static const char *comm16(const char *comm, char *buf, size_t len)
{
	char c[HFTMON_TASK_COMM_LEN + 1];

	memcpy(c, comm, HFTMON_TASK_COMM_LEN);
	c[HFTMON_TASK_COMM_LEN] = '\0';
	return table_name(c, buf, len);
}

static void print_raw(const struct hftmon_rec_hdr *rec)
{
	const char *name = hftmon_record_type_name(rec->type);
	char a[80], b[80];

	printf("%" PRIu64 ".%09" PRIu64 " cpu=%u seq=%" PRIu64
	       " %s pid=%d tid=%d",
	       (uint64_t)rec->time_ns / 1000000000u,
	       (uint64_t)rec->time_ns % 1000000000u, rec->cpu,
	       (uint64_t)rec->seq, name ? name : "?", rec->pid, rec->tid);
	switch (rec->type) {
	case HFTMON_REC_SWITCH: {
		const struct hftmon_rec_switch *s = (const void *)rec;

		printf(" prev_comm=%s prev_state=%#x prev_prio=%d %s%s next=%d/%d next_comm=%s next_prio=%d%s%s",
		       comm16(s->prev_comm, a, sizeof(a)), s->prev_state, s->prev_prio,
		       rec->flags & HFTMON_SWITCH_VOLUNTARY ? "voluntary" :
							      "involuntary",
		       rec->flags & HFTMON_SWITCH_PREEMPT ? ",preempt" : "",
		       s->next_pid, s->next_tid, comm16(s->next_comm, b, sizeof(b)),
		       s->next_prio,
		       rec->flags & HFTMON_SWITCH_PREV_TRACKED ?
			       " prev_tracked" :
			       "",
		       rec->flags & HFTMON_SWITCH_NEXT_TRACKED ?
			       " next_tracked" :
			       "");
		break;
	}
	case HFTMON_REC_WAKEUP: {
		const struct hftmon_rec_wakeup *w = (const void *)rec;

		printf(" waker=%d/%d prio=%d target_cpu=%u%s", w->waker_pid,
		       w->waker_tid, w->prio, w->target_cpu,
		       rec->flags & HFTMON_WAKEUP_NEW ? " new" : "");
		break;
	}
	case HFTMON_REC_MIGRATE: {
		const struct hftmon_rec_migrate *mg = (const void *)rec;

		printf(" cpu %u->%u prio=%d", mg->orig_cpu, mg->dest_cpu,
		       mg->prio);
		break;
	}
	case HFTMON_REC_EXIT: {
		const struct hftmon_rec_exit *e = (const void *)rec;

		printf(" comm=%s prio=%d%s", comm16(e->comm, a, sizeof(a)),
		       e->prio,
		       rec->flags & HFTMON_EXIT_GROUP_DEAD ? " group_dead" :
							     "");
		break;
	}
	case HFTMON_REC_FORK: {
		const struct hftmon_rec_fork *f = (const void *)rec;

		printf(" child=%d/%d child_comm=%s%s", f->child_pid,
		       f->child_tid, comm16(f->child_comm, a, sizeof(a)),
		       rec->flags & HFTMON_FORK_THREAD ? " thread" : "");
		break;
	}
	default:
		printf(" size=%u flags=%#x", rec->size, rec->flags);
		break;
	}
	putchar('\n');
}

/* A record about a target thread (-t keeps the others out). */
static bool wanted(const struct record_ctx *ctx,
		   const struct hftmon_rec_hdr *rec)
{
	if (targets_want(ctx->targets, rec->pid, rec->tid))
		return true;
	if (rec->type == HFTMON_REC_SWITCH) {
		const struct hftmon_rec_switch *s = (const void *)rec;

		return targets_want(ctx->targets, s->next_pid, s->next_tid);
	}
	return false;
}

static int on_record(void *arg, const struct hftmon_rec_hdr *rec)
{
	struct record_ctx *ctx = arg;

	/*
	 * --children: every record is of a target or a child followed (the
	 * module records no other process); a child's own records may come
	 * from another CPU's ring before its FORK record does.
	 */
	if (rec->type == HFTMON_REC_FORK &&
	    (rec->flags & HFTMON_FORK_FOLLOWED))
		targets_add_followed(ctx->targets,
				     ((const struct hftmon_rec_fork *)rec)->child_pid);
	if (!ctx->children && !wanted(ctx, rec))
		return 0;
	if (!ctx->records || rec->time_ns < ctx->first_ns)
		ctx->first_ns = rec->time_ns;
	if (rec->time_ns > ctx->last_ns)
		ctx->last_ns = rec->time_ns;
	ctx->records++;
	ctx->by_type[rec->type]++; /* validated: type < HFTMON_REC_TYPE_NR */
	hftmon_threads_account(&ctx->threads, rec);
	if (ctx->raw)
		print_raw(rec);
	return 0;
}

static double ns_to_s(uint64_t ns)
{
	return (double)ns / 1e9;
}

static const char *const lost_names[HFTMON_LOST_NR] = {
	[HFTMON_LOST_RING_FULL] = "ring_full",
	[HFTMON_LOST_TOO_BIG] = "too_big",
	[HFTMON_LOST_NO_SPACE] = "no_space",
};

/* The rows: the target threads of the table, sorted. */
static unsigned int report_rows(struct record_ctx *ctx)
{
	unsigned int i, n = hftmon_threads_sort(&ctx->threads), kept = 0;

	for (i = 0; i < n; i++) {
		const struct hftmon_thread_stats *t = &ctx->threads.slots[i];

		if (targets_want(ctx->targets, t->pid, t->tid))
			ctx->threads.slots[kept++] = *t;
	}
	return kept;
}

static void print_report(struct record_ctx *ctx,
			 const struct hftmon_stats_summary *sum,
			 const struct session *s, unsigned int n)
{
	unsigned int i;
	bool first = true;

	printf("counts over the recording (%.3f s):\n",
	       ns_to_s(s->stop_ns - s->start_ns));
	printf("%8s %8s %-16s %11s %10s %12s %10s %10s %10s\n", "PID", "TID",
	       "COMM", "SWITCH-OUT", "VOLUNTARY", "INVOLUNTARY", "SWITCH-IN",
	       "WAKEUPS", "MIGRATIONS");
	for (i = 0; i < n; i++) {
		const struct hftmon_thread_stats *t = &ctx->threads.slots[i];
		char name[80];

		printf("%8d %8d %-16s %11llu %10llu %12llu %10llu %10llu %10llu%s\n",
		       t->pid, t->tid, table_name(t->comm, name, sizeof(name)),
		       (unsigned long long)(t->switch_out_voluntary +
					    t->switch_out_involuntary),
		       (unsigned long long)t->switch_out_voluntary,
		       (unsigned long long)t->switch_out_involuntary,
		       (unsigned long long)t->switch_in,
		       (unsigned long long)t->wakeups,
		       (unsigned long long)t->migrations,
		       t->exited ? "  (exited)" : "");
	}
	printf("\nthreads: %u", n);
	if (ctx->threads.overflow_records)
		printf(" (table full at %u threads: %llu records about further threads not counted per thread)",
		       ctx->threads.capacity, ctx->threads.overflow_records);
	printf("\nrecords: %llu delivered", ctx->records);
	for (i = 1; i < HFTMON_REC_TYPE_NR; i++) {
		if (!ctx->by_type[i])
			continue;
		printf("%s%s %llu", first ? " (" : ", ",
		       hftmon_record_type_name(i), ctx->by_type[i]);
		first = false;
	}
	printf("%s; %llu written by the kernel\n", first ? "" : ")",
	       (unsigned long long)sum->records);
	printf("lost: %llu (", (unsigned long long)sum->lost_total);
	for (i = 0; i < HFTMON_LOST_NR; i++)
		printf("%s%s %llu", i ? ", " : "", lost_names[i],
		       (unsigned long long)sum->lost[i]);
	printf(")\nseq gaps: %llu records missing by sequence number\n",
	       (unsigned long long)sum->seq_gaps);
	if (sum->bad_records)
		printf("bad records: %llu (malformed ring data, skipped)\n",
		       (unsigned long long)sum->bad_records);
	if (ctx->records)
		printf("time covered: records %.6f..%.6f s (%.6f s)",
		       ns_to_s(ctx->first_ns), ns_to_s(ctx->last_ns),
		       ns_to_s(ctx->last_ns - ctx->first_ns));
	else
		printf("time covered: no records");
	if (sum->start_ns && sum->stop_ns >= sum->start_ns)
		printf("; monitoring %.6f..%.6f s (%.6f s)\n",
		       ns_to_s(sum->start_ns), ns_to_s(sum->stop_ns),
		       ns_to_s(sum->stop_ns - sum->start_ns));
	else
		printf("\n");
	targets_print(ctx->targets, stdout);
	monitor_print(&s->place, &s->cost, stdout);
}

static void print_report_json(struct record_ctx *ctx, struct session *s,
			      unsigned int n)
{
	unsigned int i;

	session_print_json_head(s, "record",
				ns_to_s(s->stop_ns - s->start_ns));
	printf(",\n \"records_delivered\": %llu, \"records_by_type\": {",
	       ctx->records);
	for (i = 1; i < HFTMON_REC_TYPE_NR; i++)
		printf("%s\"%s\": %llu", i > 1 ? ", " : "",
		       hftmon_record_type_name(i), ctx->by_type[i]);
	printf("}, \"threads_not_counted_records\": %llu,\n \"threads\": [",
	       ctx->threads.overflow_records);
	for (i = 0; i < n; i++) {
		const struct hftmon_thread_stats *t = &ctx->threads.slots[i];

		printf("%s\n  {\"pid\": %d, \"tid\": %d, \"comm\": ",
		       i ? "," : "", t->pid, t->tid);
		json_string(t->comm);
		printf(", \"switch_out\": %llu, \"voluntary\": %llu, \"involuntary\": %llu, \"switch_in\": %llu, \"wakeups\": %llu, \"migrations\": %llu, \"exited\": %s}",
		       (unsigned long long)(t->switch_out_voluntary +
					    t->switch_out_involuntary),
		       (unsigned long long)t->switch_out_voluntary,
		       (unsigned long long)t->switch_out_involuntary,
		       (unsigned long long)t->switch_in,
		       (unsigned long long)t->wakeups,
		       (unsigned long long)t->migrations,
		       t->exited ? "true" : "false");
	}
	printf("%s]}\n", n ? "\n " : "");
}

struct record_args {
	struct session_args s;
	double duration; /* 0 = until a signal or the targets exit */
	unsigned int ring_pages;
	bool raw;
	unsigned long long interval_ms; /* -I: 0 = none */
};

static void parse_record(int argc, char **argv, struct record_args *a)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "duration", required_argument, NULL, 'd' },
		{ "ring-pages", required_argument, NULL, 'r' },
		{ "raw", no_argument, NULL, 'R' },
		{ "interval-print", required_argument, NULL, 'I' },
		{ "stop-us", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long ul;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SESSION_SHORT "d:r:I:h", opts,
				NULL)) != -1) {
		if (session_opt(&cmd_record, &a->s, c, optarg))
			continue;
		switch (c) {
		case 'd':
			a->duration =
				parse_seconds_arg("record", "--duration", optarg);
			break;
		case 'r':
			ul = parse_uint_arg("record", "--ring-pages", optarg, 1,
					    1u << 30);
			if (ul & (ul - 1))
				usage_error("record: --ring-pages '%s' is not a power of two",
					    optarg);
			a->ring_pages = (unsigned int)ul;
			break;
		case 'R':
			a->raw = true;
			break;
		case 'I':
			a->interval_ms = parse_uint_arg("record", "-I", optarg,
							10, 3600000);
			break;
		case 'S':
			usage_error("record: --stop-us has nothing to stop at: record counts records, it pairs no switch and measures no latency; use switches --stop-us or sched --stop-us");
		default:
			bad_option("record", c, argv);
		}
	}
	session_args_finish(&cmd_record, &a->s, argc, argv);
	if (a->raw && a->s.json)
		usage_error("record: --raw and --json: choose one");
	if (a->raw && a->interval_ms)
		usage_error("record: --raw and -I: choose one");
}

static int by_slot_tid(const void *pa, const void *pb, void *arg)
{
	const struct hftmon_thread_stats *t = arg;
	const struct hftmon_thread_stats *a = &t[*(const unsigned int *)pa];
	const struct hftmon_thread_stats *b = &t[*(const unsigned int *)pb];

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

#define DELTA(f) (u->f - o->f)

/*
 * -I: the counts of the interval [from, to) (CLOCK_MONOTONIC), per
 * target thread that did something in it, then the shadow catches up.
 */
static void print_interval(struct record_ctx *ctx, bool json, uint64_t from,
			   uint64_t to)
{
	const struct hftmon_thread_table *t = &ctx->threads;
	unsigned int i, n = 0;

	for (i = 0; i < t->nr_slots; i++) {
		const struct hftmon_thread_stats *u = &t->slots[i];
		const struct hftmon_thread_stats *o = &ctx->shadow[i];

		if (!u->pid || !targets_want(ctx->targets, u->pid, u->tid))
			continue;
		if (DELTA(switch_out_voluntary) || DELTA(switch_out_involuntary) ||
		    DELTA(switch_in) || DELTA(wakeups) || DELTA(migrations))
			ctx->order[n++] = i;
	}
	qsort_r(ctx->order, n, sizeof(*ctx->order), by_slot_tid, t->slots);
	if (json)
		printf("{\"command\": \"record\", \"interval\": {\"start_ns\": %llu, \"end_ns\": %llu}, \"threads\": [",
		       (unsigned long long)from, (unsigned long long)to);
	else
		printf("interval %.6f..%.6f s (%.3f s): %u thread(s) active\n",
		       ns_to_s(from), ns_to_s(to), ns_to_s(to - from), n);
	for (i = 0; i < n; i++) {
		const struct hftmon_thread_stats *u = &t->slots[ctx->order[i]];
		const struct hftmon_thread_stats *o = &ctx->shadow[ctx->order[i]];
		char name[80];

		if (json) {
			printf("%s{\"pid\": %d, \"tid\": %d, \"comm\": ",
			       i ? ", " : "", u->pid, u->tid);
			json_string(u->comm);
			printf(", \"switch_out\": %llu, \"voluntary\": %llu, \"involuntary\": %llu, \"switch_in\": %llu, \"wakeups\": %llu, \"migrations\": %llu}",
			       DELTA(switch_out_voluntary) +
				       DELTA(switch_out_involuntary),
			       DELTA(switch_out_voluntary),
			       DELTA(switch_out_involuntary), DELTA(switch_in),
			       DELTA(wakeups), DELTA(migrations));
			continue;
		}
		printf("%8d %8d %-16s %11llu %10llu %12llu %10llu %10llu %10llu\n",
		       u->pid, u->tid, table_name(u->comm, name, sizeof(name)),
		       DELTA(switch_out_voluntary) + DELTA(switch_out_involuntary),
		       DELTA(switch_out_voluntary), DELTA(switch_out_involuntary),
		       DELTA(switch_in), DELTA(wakeups), DELTA(migrations));
	}
	printf(json ? "]}\n" : "\n");
	fflush(stdout);
	memcpy(ctx->shadow, t->slots, t->nr_slots * sizeof(*t->slots));
}

/*
 * Waits and drains until the duration ends, a signal asks to stop or
 * every target has exited (looked at every 100 ms); with -I, prints
 * each interval's counts as it ends.
 */
static int monitor(struct session *s, const struct record_args *a,
		   struct record_ctx *ctx)
{
	uint64_t deadline =
		a->duration ? now_ns() + (uint64_t)(a->duration * 1e9) : 0;
	int wait_ms = (int)((s->place.drain_us + 999) / 1000);
	uint64_t next_check = 0, from = s->start_ns,
		 period = a->interval_ms * 1000000ull, next_print = from + period;
	int ret;

	while (!stopping()) {
		int timeout = wait_ms;
		uint64_t now = now_ns();

		if (period && now >= next_print) {
			print_interval(ctx, a->s.json, from, now);
			from = now;
			next_print = now + period;
		}
		if (now >= next_check) {
			/*
			 * --children: a child forked just before the last
			 * target exited is known once its FORK is drained.
			 */
			if (targets_all_gone(&s->args->targets) &&
			    (!a->s.children ||
			     (hftmon_drain(s->m, on_record, ctx) >= 0 &&
			      targets_all_gone(&s->args->targets))))
				break;
			next_check = now + 100000000u;
		}
		if (deadline) {
			if (now >= deadline)
				break;
			if (deadline - now < (uint64_t)timeout * 1000000u)
				timeout = (int)((deadline - now + 999999) /
						1000000);
		}
		ret = hftmon_wait(s->m, timeout);
		if (ret < 0 && ret != -EINTR)
			return report_error(ret, "wait");
		ret = hftmon_drain(s->m, on_record, ctx);
		if (ret < 0)
			return report_error(ret, "drain");
		/* Raw lines as drained; a closed pipe shows here (stopping()). */
		if (ctx->raw && ret > 0)
			fflush(stdout);
	}
	return 0;
}

/*
 * Enters every current thread of pid in the table, with its name: a
 * thread that never leaves its CPU is listed too. Best effort: a process
 * that cannot be read is left to its records.
 */
static void seed_threads(struct hftmon *m, struct hftmon_thread_table *t,
			 pid_t pid)
{
	struct hftmon_thread_info *info = NULL;
	size_t cap = 0;
	int n, i;

	n = get_threads(m, pid, &info, &cap);
	for (i = 0; i < n; i++) {
		struct hftmon_thread_stats *ts =
			hftmon_threads_get(t, pid, info[i].tid);

		if (!ts || ts->comm[0])
			continue;
		memcpy(ts->comm, info[i].comm, sizeof(ts->comm));
	}
	free(info);
}

/*
 * After the stop: drains what is left, names the threads, prints. The
 * threads are named from the processes as they are at the stop (from
 * /proc live, from the file's THREADS in a report), so that a thread
 * that never left its CPU is listed too, in both the same way.
 */
static int finish_report(struct session *s, const struct record_args *a,
			 struct record_ctx *ctx)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	unsigned int i, n;
	int ret;

	/* After STOP nothing more arrives: drain until empty. */
	while ((ret = hftmon_drain(s->m, on_record, ctx)) > 0)
		;
	if (ret < 0)
		return report_error(ret, "drain");
	for (i = 0; i < a->s.targets.nr; i++)
		seed_threads(s->m, &ctx->threads, a->s.targets.v[i].pid);
	ret = hftmon_get_stats(s->m, &sum, NULL, 0);
	if (ret)
		return report_error(ret, "statistics");
	n = report_rows(ctx);
	if (a->raw)
		printf("\n");
	if (a->s.json)
		print_report_json(ctx, s, n);
	else
		print_report(ctx, &sum, s, n);
	return 0;
}

static int run_record(int argc, char **argv)
{
	/* The per-thread table is the report: no queries, no aggregator. */
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .raw_only = true };
	struct record_ctx *ctx;
	struct record_args a;
	struct session s;
	int ret, status = EXIT_FAILURE;

	parse_record(argc, argv, &a);

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx || hftmon_threads_init(&ctx->threads, MAX_THREADS)) {
		free(ctx);
		targets_fini(&a.s.targets);
		return report_error(-ENOMEM, "record");
	}
	ctx->raw = a.raw;
	ctx->targets = &a.s.targets;
	ctx->children = a.s.children;
	if (a.interval_ms) {
		ctx->shadow = calloc(ctx->threads.nr_slots,
				     sizeof(*ctx->shadow));
		ctx->order = calloc(ctx->threads.nr_slots,
				    sizeof(*ctx->order));
		if (!ctx->shadow || !ctx->order) {
			status = report_error(-ENOMEM, "record");
			goto out_free;
		}
	}

	cfg.ring_pages = a.ring_pages;
	if (session_start(&s, &a.s, &cfg, NULL))
		goto out_free;

	status = monitor(&s, &a, ctx);
	ret = session_stop(&s);
	if (ret) {
		status = ret;
		goto out_end;
	}
	status = finish_report(&s, &a, ctx);

out_end:
	session_end(&s);
out_free:
	hftmon_threads_fini(&ctx->threads);
	free(ctx->shadow);
	free(ctx->order);
	free(ctx);
	return finish_stdout(status);
}

/* hftmon report -i FILE: the same report from the recording. */
static int report_record(struct session *s, int argc, char **argv)
{
	struct record_ctx *ctx;
	struct record_args a;
	struct session_args *loaded;
	int status;

	parse_record(argc, argv, &a);
	loaded = session_replay_args(s, &a.s);
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx || hftmon_threads_init(&ctx->threads, MAX_THREADS)) {
		free(ctx);
		s->args = loaded;
		return report_error(-ENOMEM, "record");
	}
	ctx->raw = a.raw;
	ctx->targets = &a.s.targets;
	ctx->children = a.s.children;
	status = finish_report(s, &a, ctx);
	s->args = loaded;
	hftmon_threads_fini(&ctx->threads);
	free(ctx);
	return status;
}

const struct cli_command cmd_record = {
	.name = "record",
	.run = run_record,
	.help = "  record -p PID|-t TID|-- COMMAND [--duration SEC] [--ring-pages N] [--raw]\n"
		"                           monitor the targets until SEC seconds have\n"
		"                           passed, SIGINT/SIGTERM/SIGHUP, or every target\n"
		"                           exited, then print per-thread counts over the\n"
		"                           recording, what was lost and what the monitor cost\n",
	.options = "record options:\n"
		   "  -d, --duration SEC       stop after SEC seconds (fractions allowed)\n"
		   "  -r, --ring-pages N       data pages per CPU ring, a power of two\n"
		   "      --raw                print every record, one line each, as drained\n"
		   "                           (CPU by CPU: not sorted by time across CPUs)\n"
		   "  -I, --interval-print MS  also print the counts of every MS ms as it ends\n"
		   "                           (a JSON object a line with --json)\n",
	.report = report_record,
};
