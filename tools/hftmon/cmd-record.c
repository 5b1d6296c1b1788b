// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon record: attach to processes, drain their scheduling records
 * (hftmon_wait() + hftmon_drain() in this thread, no drain thread) until
 * a duration ends or SIGINT/SIGTERM, then report per thread (switch-outs,
 * switch-ins, wakeups, migrations) with every loss counted. The
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
#define WAIT_MS 100 /* longest sleep between drains */

struct record_ctx {
	struct hftmon_thread_table threads;
	unsigned long long by_type[HFTMON_REC_TYPE_NR];
	unsigned long long records;
	uint64_t first_ns, last_ns;
	bool raw;
};

static void print_raw(const struct hftmon_rec_hdr *rec)
{
	const char *name = hftmon_record_type_name(rec->type);

	printf("%" PRIu64 ".%09" PRIu64 " cpu=%u seq=%" PRIu64
	       " %s pid=%d tid=%d",
	       (uint64_t)rec->time_ns / 1000000000u,
	       (uint64_t)rec->time_ns % 1000000000u, rec->cpu,
	       (uint64_t)rec->seq, name ? name : "?", rec->pid, rec->tid);
	switch (rec->type) {
	case HFTMON_REC_SWITCH: {
		const struct hftmon_rec_switch *s = (const void *)rec;

		printf(" prev_comm=%.16s prev_state=%#x prev_prio=%d %s%s next=%d/%d next_comm=%.16s next_prio=%d%s%s",
		       s->prev_comm, s->prev_state, s->prev_prio,
		       rec->flags & HFTMON_SWITCH_VOLUNTARY ? "voluntary" :
							      "involuntary",
		       rec->flags & HFTMON_SWITCH_PREEMPT ? ",preempt" : "",
		       s->next_pid, s->next_tid, s->next_comm, s->next_prio,
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

		printf(" comm=%.16s prio=%d%s", e->comm, e->prio,
		       rec->flags & HFTMON_EXIT_GROUP_DEAD ? " group_dead" :
							     "");
		break;
	}
	case HFTMON_REC_FORK: {
		const struct hftmon_rec_fork *f = (const void *)rec;

		printf(" child=%d/%d child_comm=%.16s%s", f->child_pid,
		       f->child_tid, f->child_comm,
		       rec->flags & HFTMON_FORK_THREAD ? " thread" : "");
		break;
	}
	default:
		printf(" size=%u flags=%#x", rec->size, rec->flags);
		break;
	}
	putchar('\n');
}

static int on_record(void *arg, const struct hftmon_rec_hdr *rec)
{
	struct record_ctx *ctx = arg;

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

static void print_report(struct record_ctx *ctx,
			 const struct hftmon_stats_summary *sum)
{
	static const char *const lost_names[HFTMON_LOST_NR] = {
		[HFTMON_LOST_RING_FULL] = "ring_full",
		[HFTMON_LOST_TOO_BIG] = "too_big",
		[HFTMON_LOST_NO_SPACE] = "no_space",
	};
	unsigned int i, n = hftmon_threads_sort(&ctx->threads);
	bool first = true;

	printf("%8s %8s %-16s %11s %10s %12s %10s %10s %10s\n", "PID", "TID",
	       "COMM", "SWITCH-OUT", "VOLUNTARY", "INVOLUNTARY", "SWITCH-IN",
	       "WAKEUPS", "MIGRATIONS");
	for (i = 0; i < n; i++) {
		const struct hftmon_thread_stats *t = &ctx->threads.slots[i];

		printf("%8d %8d %-16s %11llu %10llu %12llu %10llu %10llu %10llu%s\n",
		       t->pid, t->tid, t->comm[0] ? t->comm : "-",
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
}

struct record_args {
	pid_t *pids;
	unsigned int nr_pids;
	double duration; /* 0 = until a signal */
	unsigned int ring_pages;
	bool raw;
};

static void parse_record(int argc, char **argv, struct record_args *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ring-pages", required_argument, NULL, 'r' },
		{ "raw", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long ul;
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			pid_t pid = parse_pid_arg("record", optarg);

			a->pids = realloc(a->pids,
					  (a->nr_pids + 1) * sizeof(*a->pids));
			if (!a->pids) {
				report_error(-ENOMEM, "record");
				exit(EXIT_FAILURE);
			}
			a->pids[a->nr_pids++] = pid;
			break;
		}
		case 'd':
			a->duration =
				parse_seconds_arg("record", "--duration", optarg);
			break;
		case 'r':
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || !ul ||
			    ul > UINT_MAX || (ul & (ul - 1)) ||
			    optarg[0] == '-')
				usage_error(
					"record: --ring-pages '%s' is not a power of two",
					optarg);
			a->ring_pages = (unsigned int)ul;
			break;
		case 'R':
			a->raw = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage_error("record: bad option");
		}
	}
	if (optind < argc)
		usage_error("record: unexpected argument '%s'", argv[optind]);
	if (!a->nr_pids)
		usage_error("record: at least one -p PID is needed");
}

/* Waits and drains until the duration ends or a signal asks to stop. */
static int monitor(struct hftmon *m, const struct record_args *a,
		   struct record_ctx *ctx)
{
	uint64_t deadline =
		a->duration ? now_ns() + (uint64_t)(a->duration * 1e9) : 0;
	int ret;

	while (!stopping()) {
		int timeout = WAIT_MS;

		if (deadline) {
			uint64_t now = now_ns();

			if (now >= deadline)
				break;
			if (deadline - now < (uint64_t)WAIT_MS * 1000000u)
				timeout = (int)((deadline - now + 999999) /
						1000000);
		}
		ret = hftmon_wait(m, timeout);
		if (ret < 0 && ret != -EINTR)
			return report_error(ret, "wait");
		ret = hftmon_drain(m, on_record, ctx);
		if (ret < 0)
			return report_error(ret, "drain");
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

static int run_record(int argc, char **argv)
{
	/* The per-thread table is the report: no queries, no aggregator. */
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .raw_only = true };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct record_ctx *ctx;
	struct record_args a;
	struct hftmon *m;
	unsigned int i;
	int ret, status = EXIT_FAILURE;

	parse_record(argc, argv, &a);

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx || hftmon_threads_init(&ctx->threads, MAX_THREADS)) {
		free(ctx);
		free(a.pids);
		return report_error(-ENOMEM, "record");
	}
	ctx->raw = a.raw;

	if (open_device(&m))
		goto out_free;
	cfg.ring_pages = a.ring_pages;
	ret = hftmon_configure(m, &cfg);
	if (ret) {
		report_error(ret, "configure");
		goto out_close;
	}
	for (i = 0; i < a.nr_pids; i++) {
		ret = hftmon_attach_process(m, a.pids[i], NULL);
		if (ret) {
			report_error(ret, "attach pid %d", (int)a.pids[i]);
			goto out_close;
		}
		seed_threads(m, &ctx->threads, a.pids[i]);
	}

	install_signals();
	ret = hftmon_start(m);
	if (ret) {
		report_error(ret, "start");
		goto out_close;
	}
	status = monitor(m, &a, ctx);
	ret = hftmon_stop(m);
	if (ret) {
		status = report_error(ret, "stop");
		goto out_close;
	}
	/* After STOP nothing more arrives: drain until empty. */
	while ((ret = hftmon_drain(m, on_record, ctx)) > 0)
		;
	if (ret < 0) {
		status = report_error(ret, "drain");
		goto out_close;
	}
	ret = hftmon_get_stats(m, &sum, NULL, 0);
	if (ret) {
		status = report_error(ret, "statistics");
		goto out_close;
	}
	if (a.raw)
		printf("\n");
	print_report(ctx, &sum);
	if (fflush(stdout))
		status = report_error(-errno, "stdout");

out_close:
	hftmon_close(m);
out_free:
	hftmon_threads_fini(&ctx->threads);
	free(ctx);
	free(a.pids);
	return status;
}

const struct cli_command cmd_record = {
	.name = "record",
	.run = run_record,
	.help = "  record -p PID [-p PID ...] [--duration SEC] [--ring-pages N] [--raw]\n"
		"                           monitor the processes until SEC seconds have\n"
		"                           passed or SIGINT/SIGTERM, then print per-thread\n"
		"                           counts and what was lost\n",
	.options = "record options:\n"
		   "  -p, --pid PID            a process to monitor (all its threads); repeatable\n"
		   "  -d, --duration SEC       stop after SEC seconds (fractions allowed)\n"
		   "  -r, --ring-pages N       data pages per CPU ring, a power of two\n"
		   "      --raw                print every record, one line each, as drained\n"
		   "                           (CPU by CPU: not sorted by time across CPUs)\n",
};
