// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon: the command-line front end of libhftmon.
 *
 *   hftmon info      what the module and this machine offer, per source
 *   hftmon record    attach to processes, drain their scheduling records
 *                    until a duration ends or SIGINT/SIGTERM, then report
 *                    per thread (switch-outs, switch-ins, wakeups,
 *                    migrations) with every loss counted
 *   hftmon sched     per-thread scheduling of a process every interval:
 *                    policy, priority, affinity, CPU, switches, and the
 *                    wake-up latency hftmon measured (table or JSON)
 *   hftmon switches  every completed context switch of a process of at
 *                    least N us off CPU, with what ran instead and,
 *                    optionally, the kernel and user stacks it left at
 *
 * "record" aggregates in a fixed-size per-thread table allocated before
 * monitoring starts, so draining never allocates; "sched" and "switches"
 * run the library's drain thread and query its aggregator. Errors are
 * one line, "hftmon: <what>: <reason>", with exit status 1 (2 for usage
 * errors).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hftmon.h"
#include "procfs.h"
#include "symbols.h"
#include "threads.h"

#ifndef HFTMON_VERSION_STRING
#define HFTMON_VERSION_STRING "unknown"
#endif

#define MAX_THREADS 4096 /* per-thread table of "record" */
#define WAIT_MS 100 /* longest sleep between drains */

enum { EXIT_USAGE = 2 };

static const char *device;
static bool verbose;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hftmon [OPTIONS] COMMAND [ARGS]\n"
		"Monitor the context switches, wake-ups and migrations of trading processes\n"
		"through the hftmon kernel module.\n"
		"\n"
		"Commands:\n"
		"  info                     ABI version, CPUs, NUMA nodes, ring sizes and\n"
		"                           whether each event source is available\n"
		"  record -p PID [-p PID ...] [--duration SEC] [--ring-pages N] [--raw]\n"
		"                           monitor the processes until SEC seconds have\n"
		"                           passed or SIGINT/SIGTERM, then print per-thread\n"
		"                           counts and what was lost\n"
		"  sched -p PID [--interval SEC] [--count N] [--json]\n"
		"                           every SEC seconds (default 1), per thread: policy,\n"
		"                           RT priority, nice, allowed CPUs, current CPU, CPU\n"
		"                           time, voluntary/involuntary switches, migrations\n"
		"                           (from /proc and the scheduler), and the wake-up\n"
		"                           latency p50/p99/max and jitter (standard deviation)\n"
		"                           hftmon measured over that interval; N intervals\n"
		"                           (default: until SIGINT/SIGTERM); --json: one JSON\n"
		"                           array of threads after one interval\n"
		"  switches -p PID [--min-us N] [--duration SEC] [--stacks] [--user-stacks]\n"
		"                           monitor for SEC seconds (default 1) or until\n"
		"                           SIGINT/SIGTERM, then print every completed context\n"
		"                           switch at least N us off CPU: when, how long,\n"
		"                           voluntary or not, CPUs, the task that took the CPU,\n"
		"                           the wake-up latency; --stacks: the kernel stack\n"
		"                           (symbols from /proc/kallsyms), --user-stacks: the\n"
		"                           user stack (functions from the ELF symbols of the\n"
		"                           files in /proc/PID/maps, with file and offset)\n"
		"\n"
		"record options:\n"
		"  -p, --pid PID            a process to monitor (all its threads); repeatable\n"
		"  -d, --duration SEC       stop after SEC seconds (fractions allowed)\n"
		"  -r, --ring-pages N       data pages per CPU ring, a power of two\n"
		"      --raw                print every record, one line each, as drained\n"
		"                           (CPU by CPU: not sorted by time across CPUs)\n"
		"\n"
		"switches options:\n"
		"      --kallsyms PATH      kernel symbols from PATH, not /proc/kallsyms\n"
		"\n"
		"Options:\n"
		"  -D, --device PATH        the hftmon device (default " HFTMON_DEVICE
		")\n"
		"  -v, --verbose            print libhftmon's messages on stderr\n"
		"  -h, --help               this help\n"
		"      --version            version of this tool and of the ABI it speaks\n");
}

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hftmon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see hftmon --help)\n", stderr);
	exit(EXIT_USAGE);
}

/* The one error line: "hftmon: <what>: <strerror>". err is -errno. */
static int report_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int report_error(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("hftmon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(-err));
	return EXIT_FAILURE;
}

static void log_cb(void *ctx, enum hftmon_log_level level, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	(void)ctx;
	if (verbose)
		fprintf(stderr, "hftmon: libhftmon %s: %s\n",
			(unsigned int)level < 4 ? names[level] : "?", msg);
}

static int open_device(struct hftmon **m)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = device,
				      .log = log_cb };
	int err = hftmon_open(&o, m);

	if (err)
		return report_error(err, "%s", device ? device : HFTMON_DEVICE);
	return 0;
}

/* ---- info --------------------------------------------------------------- */

static void print_size(const char *what, unsigned int pages, unsigned int page)
{
	unsigned long long bytes = (unsigned long long)pages * page;

	if (bytes >= 1024 * 1024)
		printf("%s %u pages (%llu MiB)", what, pages, bytes >> 20);
	else
		printf("%s %u pages (%llu KiB)", what, pages, bytes >> 10);
}

static int cmd_info(int argc, char **argv)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} feats[] = {
		{ HFTMON_FEAT_SCHED_SWITCH, "sched_switch" },
		{ HFTMON_FEAT_SCHED_WAKEUP, "sched_wakeup" },
		{ HFTMON_FEAT_SCHED_MIGRATE, "sched_migrate" },
		{ HFTMON_FEAT_PROCESS_EXIT, "process_exit" },
		{ HFTMON_FEAT_PROCESS_FORK, "process_fork" },
		{ HFTMON_FEAT_POLL, "poll" },
	};
	struct hftmon_info info;
	struct hftmon *m;
	unsigned int i;
	int err;

	if (argc > 1)
		usage_error("info: unexpected argument '%s'", argv[1]);
	if (open_device(&m))
		return EXIT_FAILURE;
	info.size = sizeof(info);
	err = hftmon_get_info(m, &info);
	if (err) {
		hftmon_close(m);
		return report_error(err, "info");
	}

	printf("ABI version:    %u (this tool: %d)\n", info.abi_version,
	       HFTMON_ABI_VERSION);
	printf("features:      ");
	for (i = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
		if (info.features & feats[i].bit)
			printf(" %s", feats[i].name);
	printf("\n");
	printf("CPUs:           %u possible CPU numbers (one ring each), %u online\n",
	       info.nr_cpu_ids, info.nr_online_cpus);
	printf("NUMA nodes:     %u online\n", info.nr_nodes);
	printf("page size:      %u bytes\n", info.page_size);
	printf("ring per CPU:  ");
	print_size(" default", info.default_ring_pages, info.page_size);
	print_size(", max", info.max_ring_pages, info.page_size);
	printf("\n");
	printf("processes:      up to %u attached\n", info.max_procs);
	printf("sources:\n");
	for (i = 0; i < HFTMON_SRC_NR; i++) {
		int status = info.source_status[i];

		if (status == 0)
			printf("  %-16s available\n", hftmon_source_name(i));
		else
			printf("  %-16s unsupported: %s (%s)\n",
			       hftmon_source_name(i),
			       hftmon_source_reason(i, status),
			       strerror(-status));
	}
	hftmon_close(m);
	return 0;
}

/* ---- record ------------------------------------------------------------- */

/* Lock-free, so safe to set from a signal handler (C11 7.14.1.1). */
static atomic_bool stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&stop_requested, true, memory_order_relaxed);
}

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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
	long pid;
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || pid <= 0 ||
			    pid > INT_MAX)
				usage_error("record: '%s' is not a process id",
					    optarg);
			a->pids = realloc(a->pids,
					  (a->nr_pids + 1) * sizeof(*a->pids));
			if (!a->pids) {
				report_error(-ENOMEM, "record");
				exit(EXIT_FAILURE);
			}
			a->pids[a->nr_pids++] = (pid_t)pid;
			break;
		case 'd':
			errno = 0;
			a->duration = strtod(optarg, &end);
			if (errno || *end || end == optarg ||
			    !isfinite(a->duration) || a->duration <= 0 ||
			    a->duration > 1e9)
				usage_error(
					"record: --duration '%s' is not a positive number of seconds",
					optarg);
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

	while (!atomic_load_explicit(&stop_requested, memory_order_relaxed)) {
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

/* Enters every current thread of pid in the table, with its name. */
static void seed_threads(struct hftmon_thread_table *t, pid_t pid)
{
	pid_t *tids;
	int n, i;

	n = hftmon_procfs_tids(HFTMON_PROCFS_ROOT, pid, &tids);
	for (i = 0; i < n; i++) {
		struct hftmon_thread_stats *ts =
			hftmon_threads_get(t, pid, tids[i]);
		struct hftmon_procfs_thread pt;

		if (!ts || ts->comm[0] ||
		    hftmon_procfs_thread(HFTMON_PROCFS_ROOT, pid, tids[i], &pt))
			continue;
		memcpy(ts->comm, pt.comm, sizeof(ts->comm));
	}
	free(tids);
}

static int cmd_record(int argc, char **argv)
{
	/* The per-thread table is the report: no queries, no aggregator. */
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .raw_only = true };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct record_ctx *ctx;
	struct record_args a;
	struct sigaction sa;
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
		/* A thread that never leaves its CPU is news too: list it. */
		seed_threads(&ctx->threads, a.pids[i]);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: wake the poll */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

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

/* ---- shared by sched and switches -------------------------------------- */

static pid_t parse_pid_arg(const char *cmd, const char *arg)
{
	char *end;
	long pid;

	errno = 0;
	pid = strtol(arg, &end, 10);
	if (errno || *end || end == arg || pid <= 0 || pid > INT_MAX)
		usage_error("%s: '%s' is not a process id", cmd, arg);
	return (pid_t)pid;
}

static double parse_seconds_arg(const char *cmd, const char *opt,
				const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !isfinite(v) || v <= 0 || v > 1e9)
		usage_error("%s: %s '%s' is not a positive number of seconds",
			    cmd, opt, arg);
	return v;
}

static unsigned long long parse_count_arg(const char *cmd, const char *opt,
					  const char *arg, bool zero_ok)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || (!v && !zero_ok))
		usage_error("%s: %s '%s' is not a %s integer", cmd, opt, arg,
			    zero_ok ? "non-negative" : "positive");
	return v;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: end the sleep */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static bool stopping(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_relaxed);
}

/* Sleeps until deadline (CLOCK_MONOTONIC ns) or a stop request. */
static void sleep_until(uint64_t deadline)
{
	uint64_t now;

	while (!stopping() && (now = now_ns()) < deadline) {
		uint64_t left = deadline - now;
		struct timespec ts;

		if (left > 100000000u)
			left = 100000000u; /* look at the stop flag often */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left;
		nanosleep(&ts, NULL);
	}
}

/*
 * Opens the device and starts monitoring pid with the library's drain
 * thread. On failure prints the error, closes and returns non-zero.
 */
static int start_drain_thread_session(struct hftmon **mp, pid_t pid,
				      const struct hftmon_monitor_config *cfg,
				      const struct hftmon_attach_opts *ao)
{
	struct hftmon *m;
	int ret;

	if (open_device(&m))
		return EXIT_FAILURE;
	ret = hftmon_configure(m, cfg);
	if (ret) {
		hftmon_close(m);
		return report_error(ret, "configure");
	}
	ret = hftmon_attach_process(m, pid, ao);
	if (ret) {
		hftmon_close(m);
		return report_error(ret, "attach pid %d", (int)pid);
	}
	install_signals();
	ret = hftmon_start(m);
	if (ret) {
		hftmon_close(m);
		return report_error(ret, "start");
	}
	*mp = m;
	return 0;
}

/* What was lost on the way, in one line (nothing is lost silently). */
static void print_losses(struct hftmon *m)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	int ret = hftmon_get_stats(m, &sum, NULL, 0);

	if (ret) {
		report_error(ret, "statistics");
		return;
	}
	printf("lost: %llu records in the kernel (ring_full %llu, too_big %llu, no_space %llu), %llu seq gaps; history overwritten: %llu switches, %llu wake-ups; aggregator: %llu late, %llu dropped\n",
	       (unsigned long long)sum.lost_total,
	       (unsigned long long)sum.lost[HFTMON_LOST_RING_FULL],
	       (unsigned long long)sum.lost[HFTMON_LOST_TOO_BIG],
	       (unsigned long long)sum.lost[HFTMON_LOST_NO_SPACE],
	       (unsigned long long)sum.seq_gaps,
	       (unsigned long long)sum.switches_overwritten,
	       (unsigned long long)sum.wakeups_overwritten,
	       (unsigned long long)sum.aggregator_late,
	       (unsigned long long)sum.aggregator_dropped);
}

/* ---- sched -------------------------------------------------------------- */

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

/* Each thread's wake-up latency over the window (count 0: none). */
static int thread_latencies(struct hftmon *m, const struct hftmon_thread_info *t,
			    int n, uint64_t window_us,
			    struct hftmon_latency *lat)
{
	int i, err;

	for (i = 0; i < n; i++) {
		struct hftmon_latency_query q = { .sz = sizeof(q),
						  .pid = t[i].pid,
						  .tid = t[i].tid,
						  .window_us = window_us };

		lat[i].sz = sizeof(lat[i]);
		err = hftmon_get_wakeup_latency(m, &q, &lat[i]);
		if (err && err != -ENODATA)
			return err;
	}
	return 0;
}

static int cmd_sched(int argc, char **argv)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.drain_thread = true,
		/* Only wake-ups are shown: keep the switch history small. */
		.history_switches = 1u << 12,
	};
	struct hftmon_thread_info *info = NULL;
	struct hftmon_latency *lat = NULL;
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
		for (;;) {
			n = hftmon_get_thread_scheduling_info(m, a.pid, info,
							      cap);
			if (n < 0 || (size_t)n <= cap)
				break;
			free(info);
			free(lat);
			cap = (size_t)n + 16; /* threads may appear meanwhile */
			info = calloc(cap, sizeof(*info));
			lat = calloc(cap, sizeof(*lat));
			if (!info || !lat) {
				n = -ENOMEM;
				break;
			}
			info[0].sz = sizeof(*info);
		}
		if (n >= 0) {
			int err = thread_latencies(
				m, info, n, (uint64_t)(a.interval * 1e6), lat);

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

/* ---- switches ----------------------------------------------------------- */

struct switches_args {
	pid_t pid;
	unsigned long long min_us;
	double duration;
	bool kstacks, ustacks;
	const char *kallsyms;
};

static void parse_switches(int argc, char **argv, struct switches_args *a)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "min-us", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stacks", no_argument, NULL, 's' },
		{ "user-stacks", no_argument, NULL, 'u' },
		{ "kallsyms", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->duration = 1;
	a->kallsyms = "/proc/kallsyms";
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->pid = parse_pid_arg("switches", optarg);
			break;
		case 'm':
			a->min_us = parse_count_arg("switches", "--min-us",
						    optarg, true);
			break;
		case 'd':
			a->duration = parse_seconds_arg("switches",
							"--duration", optarg);
			break;
		case 's':
			a->kstacks = true;
			break;
		case 'u':
			a->ustacks = true;
			break;
		case 'k':
			a->kallsyms = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage_error("switches: bad option");
		}
	}
	if (optind < argc)
		usage_error("switches: unexpected argument '%s'", argv[optind]);
	if (!a->pid)
		usage_error("switches: -p PID is needed");
}

struct symbolizer {
	struct hftmon_symtab ksyms;
	bool have_ksyms;
	struct hftmon_usyms usyms;
	bool have_maps;
	bool raw_noted;
};

static void print_stack(struct hftmon *m, struct symbolizer *sym,
			uint32_t id, bool user)
{
	char buf[4096 + 64];
	uint64_t ips[64];
	unsigned int flags = 0;
	int n, i;

	printf("    %s stack:", user ? "user" : "kernel");
	if (!id) {
		printf(" none recorded\n");
		return;
	}
	n = hftmon_get_stack(m, id, ips, 64, &flags);
	if (n == -ENODATA) {
		printf(" lost (its STACK record was dropped; see the loss line)\n");
		return;
	}
	if (n < 0) {
		printf(" unavailable: %s\n", strerror(-n));
		return;
	}
	printf("%s\n", flags & HFTMON_STACK_TRUNCATED ? " (truncated)" : "");
	for (i = 0; i < n && i < 64; i++) {
		/*
		 * The first user address is the thread's own instruction
		 * pointer; those after it were read through frame pointers,
		 * and a function that keeps none (libc's, mostly) leaves the
		 * walk reading data: it ends at the first address that is
		 * not code.
		 */
		if (user && i && sym->have_maps &&
		    !hftmon_usyms_is_code(&sym->usyms, ips[i])) {
			printf("      (0x%" PRIx64 " is not code: a function without a frame pointer ended the walk)\n",
			       ips[i]);
			break;
		}
		if (!user)
			hftmon_symtab_format(&sym->ksyms, ips[i], buf,
					    sizeof(buf));
		else if (sym->have_maps)
			hftmon_usyms_format(&sym->usyms, ips[i], buf,
					    sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "0x%" PRIx64, ips[i]);
		printf("      %s\n", buf);
	}
}

static void print_switch(const struct hftmon_switch_event *e)
{
	char cpus[32], lat[32];

	if (e->out_cpu == e->in_cpu)
		snprintf(cpus, sizeof(cpus), "%d", e->out_cpu);
	else
		snprintf(cpus, sizeof(cpus), "%d->%d", e->out_cpu, e->in_cpu);
	if (e->wakeup_ns)
		snprintf(lat, sizeof(lat), "%.3f",
			 (double)(e->in_ns - e->wakeup_ns) / 1000.0);
	else
		snprintf(lat, sizeof(lat), "-");
	printf("%8d %-16s %10" PRIu64 ".%09" PRIu64 " %12.3f %-11s %-7s %8d %-16s %4d %12s\n",
	       e->tid, e->comm, e->out_ns / 1000000000u,
	       e->out_ns % 1000000000u, (double)e->off_cpu_ns / 1000.0,
	       e->voluntary ? "voluntary" : "involuntary", cpus, e->next_tid,
	       e->next_comm, e->next_prio, lat);
}

static void load_symbols(struct symbolizer *sym, const struct switches_args *a,
			 bool at_start)
{
	/* Mappings at the end (libraries loaded meanwhile) if the process
	 * still lives; else those seen at the start. */
	if (a->ustacks && !hftmon_usyms_load(&sym->usyms, (int)a->pid, NULL))
		sym->have_maps = true;
	if (a->kstacks && at_start) {
		int err = hftmon_ksyms_load(&sym->ksyms, a->kallsyms);

		sym->have_ksyms = !err;
		if (err)
			fprintf(stderr,
				"hftmon: %s: %s: kernel stacks are printed as raw addresses\n",
				a->kallsyms, strerror(-err));
	}
}

static int cmd_switches(int argc, char **argv)
{
	/* The whole run is queried at the end: room for 1M switches. */
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .drain_thread = true,
					     .history_switches = 1u << 20 };
	struct hftmon_switch_query q = { .sz = sizeof(q) };
	struct hftmon_attach_opts ao = { .sz = sizeof(ao) };
	struct symbolizer sym;
	struct hftmon_switch_event *ev = NULL;
	struct switches_args a;
	struct hftmon *m;
	int n, all, i, status = 0;

	parse_switches(argc, argv, &a);
	memset(&sym, 0, sizeof(sym));
	ao.kernel_stacks = a.kstacks;
	ao.user_stacks = a.ustacks;
	if (start_drain_thread_session(&m, a.pid, &cfg, &ao))
		return EXIT_FAILURE;
	load_symbols(&sym, &a, true);

	sleep_until(now_ns() + (uint64_t)(a.duration * 1e9));
	n = hftmon_stop(m);
	if (n) {
		status = report_error(n, "stop");
		goto out;
	}
	load_symbols(&sym, &a, false);

	q.pid = a.pid;
	q.min_duration_us = a.min_us;
	q.include_stack_trace = a.kstacks || a.ustacks;
	n = hftmon_get_context_switches(m, &q, NULL, 0);
	if (n > 0) {
		ev = calloc((size_t)n, sizeof(*ev));
		if (!ev) {
			status = report_error(-ENOMEM, "switches");
			goto out;
		}
		ev[0].sz = sizeof(*ev);
		n = hftmon_get_context_switches(m, &q, ev, (size_t)n);
	}
	if (n < 0) {
		status = report_error(n, "switches");
		goto out;
	}
	q.min_duration_us = 0;
	all = hftmon_get_context_switches(m, &q, NULL, 0);

	if (a.kstacks && sym.have_ksyms && sym.ksyms.zero_addresses)
		printf("note: %s lists every address as 0 (kptr_restrict): kernel stacks are printed as raw addresses\n",
		       a.kallsyms);
	printf("%8s %-16s %20s %12s %-11s %-7s %8s %-16s %4s %12s\n", "TID",
	       "COMM", "OUT(s)", "OFF-CPU(us)", "KIND", "CPU", "NEXT",
	       "NEXT-COMM", "PRIO", "WAKEUP(us)");
	for (i = 0; i < n; i++) {
		print_switch(&ev[i]);
		if (a.kstacks)
			print_stack(m, &sym, ev[i].kstack_id, false);
		if (a.ustacks)
			print_stack(m, &sym, ev[i].ustack_id, true);
	}
	printf("\n%d switch(es) of at least %llu us off CPU, of %d completed by pid %d\n",
	       n, a.min_us, all < 0 ? 0 : all, (int)a.pid);
	print_losses(m);
	if (fflush(stdout))
		status = report_error(-errno, "stdout");
out:
	hftmon_close(m);
	free(ev);
	if (sym.have_ksyms)
		hftmon_symtab_free(&sym.ksyms);
	hftmon_usyms_free(&sym.usyms);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int c;

	/* '+': options after the command belong to the command. */
	while ((c = getopt_long(argc, argv, "+D:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			device = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hftmon %s (ABI %d)\n", HFTMON_VERSION_STRING,
			       HFTMON_ABI_VERSION);
			return 0;
		default:
			usage_error("bad option");
		}
	}
	if (optind >= argc)
		usage_error(
			"a command is needed: info, record, sched or switches");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "info"))
		return cmd_info(argc, argv);
	if (!strcmp(cmd, "record"))
		return cmd_record(argc, argv);
	if (!strcmp(cmd, "sched"))
		return cmd_sched(argc, argv);
	if (!strcmp(cmd, "switches"))
		return cmd_switches(argc, argv);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	usage_error("unknown command '%s'", cmd);
}
