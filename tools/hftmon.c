// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon: the command-line front end of libhftmon.
 *
 *   hftmon info      what the module and this machine offer, per source
 *   hftmon record    attach to processes, drain their scheduling records
 *                    until a duration ends or SIGINT/SIGTERM, then report
 *                    per thread (switch-outs, switch-ins, wakeups,
 *                    migrations) with every loss counted
 *
 * Aggregation uses a fixed-size per-thread table allocated before
 * monitoring starts, so draining never allocates. Errors are one line,
 * "hftmon: <what>: <reason>", with exit status 1 (2 for usage errors).
 */
#include <dirent.h>
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
		"\n"
		"record options:\n"
		"  -p, --pid PID            a process to monitor (all its threads); repeatable\n"
		"  -d, --duration SEC       stop after SEC seconds (fractions allowed)\n"
		"  -r, --ring-pages N       data pages per CPU ring, a power of two\n"
		"      --raw                print every record, one line each, as drained\n"
		"                           (CPU by CPU: not sorted by time across CPUs)\n"
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
	char path[64];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		struct hftmon_thread_stats *ts;
		char comm[HFTMON_TASK_COMM_LEN + 2] = "";
		int tid = atoi(de->d_name);
		FILE *f;

		if (tid <= 0 || !(ts = hftmon_threads_get(t, pid, tid)))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid,
			 tid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		if (!ts->comm[0]) {
			memcpy(ts->comm, comm, sizeof(ts->comm) - 1);
			ts->comm[sizeof(ts->comm) - 1] = '\0';
		}
	}
	closedir(dir);
}

static int cmd_record(int argc, char **argv)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg) };
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
		usage_error("a command is needed: info or record");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "info"))
		return cmd_info(argc, argv);
	if (!strcmp(cmd, "record"))
		return cmd_record(argc, argv);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	usage_error("unknown command '%s'", cmd);
}
