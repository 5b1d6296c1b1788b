// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon switches: monitor a process with the library's drain thread for
 * a duration (or until SIGINT/SIGTERM), then print every completed
 * context switch at least N us off CPU from the aggregator
 * (hftmon_get_context_switches()): when, how long, voluntary or not, the
 * CPUs, the task that took the CPU, the wake-up latency; with --stacks
 * and --user-stacks the stacks it left at (hftmon_get_stack()), named by
 * the CLI's own symboliser (symbols.c: /proc/kallsyms, and the ELF
 * symbols of the files in /proc/PID/maps).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "symbols.h"

struct switches_args {
	struct session_args s;
	unsigned long long min_us;
	double duration;
	bool kstacks, ustacks;
	bool histogram;
	unsigned long long stop_us; /* --stop-us: 0 = none */
	unsigned long long interval_ms; /* -I: 0 = one list at the end */
	const char *kallsyms;
};

static void parse_switches(int argc, char **argv, struct switches_args *a)
{
	static const struct option opts[] = {
		SESSION_LONG_OPTS,
		{ "min-us", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stacks", no_argument, NULL, 's' },
		{ "user-stacks", no_argument, NULL, 'u' },
		{ "kallsyms", required_argument, NULL, 'k' },
		{ "histogram", no_argument, NULL, 'H' },
		{ "stop-us", required_argument, NULL, 'S' },
		{ "interval-print", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->duration = 1;
	a->kallsyms = "/proc/kallsyms";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SESSION_SHORT "d:I:h", opts,
				NULL)) != -1) {
		if (session_opt(&cmd_switches, &a->s, c, optarg))
			continue;
		switch (c) {
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
		case 'H':
			a->histogram = true;
			break;
		case 'S':
			a->stop_us = parse_uint_arg("switches", "--stop-us",
						    optarg, 1, 3600000000ull);
			break;
		case 'I': /* perf stat -I: each interval's switches as it ends */
			a->interval_ms = parse_uint_arg("switches", "-I",
							optarg, 10, 3600000);
			break;
		default:
			bad_option("switches", c, argv);
		}
	}
	session_args_finish(&cmd_switches, &a->s, argc, argv);
	if (a->s.json && (a->kstacks || a->ustacks))
		usage_error("switches: --json has no stacks yet: leave out --stacks/--user-stacks");
	if (a->s.json && a->interval_ms)
		usage_error("switches: --json prints one object at the end: leave out -I");
}

struct symbolizer {
	unsigned long long no_space; /* records the module had no room for */
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
		/* Full stack table: the module dropped it, and counted it. */
		if (sym->no_space)
			printf(" none recorded (the module had no room for %llu records, see no_space: raise /sys/module/hftmon/parameters/stack_table_size)\n",
			       sym->no_space);
		else
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
	char cpus[32], lat[32], name[80], next[80];

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
	       e->tid, table_name(e->comm, name, sizeof(name)),
	       e->out_ns / 1000000000u,
	       e->out_ns % 1000000000u, (double)e->off_cpu_ns / 1000.0,
	       e->voluntary ? "voluntary" : "involuntary", cpus, e->next_tid,
	       table_name(e->next_comm, next, sizeof(next)), e->next_prio, lat);
}

static void print_switch_json(const struct hftmon_switch_event *e, bool first)
{
	printf("%s\n  {\"pid\": %d, \"tid\": %d, \"comm\": ", first ? "" : ",",
	       e->pid, e->tid);
	json_string(e->comm);
	printf(", \"out_ns\": %llu, \"in_ns\": %llu, \"off_cpu_us\": %.3f, \"voluntary\": %s, \"out_cpu\": %d, \"in_cpu\": %d, \"wakeup_latency_us\": ",
	       (unsigned long long)e->out_ns, (unsigned long long)e->in_ns,
	       (double)e->off_cpu_ns / 1000.0, e->voluntary ? "true" : "false",
	       e->out_cpu, e->in_cpu);
	if (e->wakeup_ns)
		printf("%.3f", (double)(e->in_ns - e->wakeup_ns) / 1000.0);
	else
		printf("null");
	printf(", \"waker_pid\": %d, \"waker_tid\": %d, \"next_pid\": %d, \"next_tid\": %d, \"next_comm\": ",
	       e->waker_pid, e->waker_tid, e->next_pid, e->next_tid);
	json_string(e->next_comm);
	printf(", \"next_prio\": %d, \"next_policy\": %u}", e->next_prio,
	       e->next_policy);
}

/*
 * The symbols: live, /proc/kallsyms (or --kallsyms) and the process's
 * maps; with -o FILE both are kept in the file too (notes "kallsyms" and
 * "maps"), and a report reads them from there (its user stacks are named
 * from the files the maps name, if this machine still has them).
 */
static void load_symbols(struct session *s, struct symbolizer *sym,
			 const struct switches_args *a, pid_t pid, bool at_start)
{
	char maps[64], fdpath[64];

	if (cli_replay) {
		if (!at_start)
			return;
		if (a->ustacks && !session_note_path(s, "maps", fdpath,
						     sizeof(fdpath)) &&
		    !hftmon_usyms_load(&sym->usyms, 0, fdpath))
			sym->have_maps = true;
		if (a->kstacks) {
			int err = session_note_path(s, "kallsyms", fdpath,
						    sizeof(fdpath));

			if (!err)
				err = hftmon_ksyms_load(&sym->ksyms, fdpath);
			sym->have_ksyms = !err;
			if (err)
				fprintf(stderr,
					"hftmon: the recording keeps no kernel symbols: kernel stacks are printed as raw addresses\n");
		}
		return;
	}
	/* Mappings at the end (libraries loaded meanwhile) if the process
	 * still lives; else those seen at the start. */
	if (a->ustacks && !hftmon_usyms_load(&sym->usyms, (int)pid, NULL)) {
		sym->have_maps = true;
		snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
		if (!at_start)
			session_note_file(s, "maps", maps);
	}
	if (a->kstacks && at_start) {
		int err = hftmon_ksyms_load(&sym->ksyms, a->kallsyms);

		sym->have_ksyms = !err;
		if (err)
			fprintf(stderr,
				"hftmon: %s: %s: kernel stacks are printed as raw addresses\n",
				a->kallsyms, strerror(-err));
		else
			session_note_file(s, "kallsyms", a->kallsyms);
	}
}

/* After the stop: the switches the aggregator completed, printed. */
/*
 * What a list covers: the whole run (since 0), or one -I interval of
 * switch-in times [since, until), until 0 for the last one, which the
 * stop ends (partial).
 */
struct sw_window {
	uint64_t since, until;
	unsigned int nr;	/* the interval's number, from 1; 0: whole run */
};

/*
 * The switches of q's fixed window: -ERANGE while a ring may still hold
 * one of them; the drain thread's next pass past the end makes it final.
 */
static int window_switches(struct session *s,
			   const struct hftmon_switch_query *q,
			   struct hftmon_switch_event *ev, size_t max)
{
	unsigned int tries;
	int n;

	for (tries = 0;
	     (n = hftmon_get_context_switches(s->m, q, ev, max)) == -ERANGE &&
	     tries < 1000;
	     tries++)
		sleep_until(now_ns() + 1000ull * (s->place.drain_us ?
							  s->place.drain_us :
							  1000));
	return n;
}

static int print_switches(struct session *s, const struct switches_args *a,
			  struct symbolizer *sym, const struct sw_window *w)
{
	struct hftmon_switch_query q = { .sz = sizeof(q),
					 .since_ns = w->since,
					 .until_ns = w->until };
	struct hftmon_switch_event *ev = NULL;
	struct log2_hist h = { 0 };
	int n, all, i, shown = 0, all_shown = 0, status = 0;
	uint64_t end = w->until ? w->until : s->stop_ns;
	double secs = (double)(end - (w->nr ? w->since : s->start_ns)) / 1e9;

	{
		struct hftmon_stats_summary sum = { .sz = sizeof(sum) };

		if (!hftmon_get_stats(s->m, &sum, NULL, 0))
			sym->no_space = sum.lost[HFTMON_LOST_NO_SPACE];
	}

	q.pid = 0; /* every attached process; -t filters below */
	q.min_duration_us = a->min_us;
	q.include_stack_trace = a->kstacks || a->ustacks;
	n = window_switches(s, &q, NULL, 0);
	if (n > 0) {
		ev = calloc((size_t)n, sizeof(*ev));
		if (!ev)
			return report_error(-ENOMEM, "switches");
		ev[0].sz = sizeof(*ev);
		n = hftmon_get_context_switches(s->m, &q, ev, (size_t)n);
	}
	if (n < 0) {
		free(ev);
		return report_error(n, "switches");
	}
	q.min_duration_us = 0;
	all = hftmon_get_context_switches(s->m, &q, NULL, 0);
	if (all > 0 && a->s.targets.nr) {
		struct hftmon_switch_event *every = calloc((size_t)all, sizeof(*every));

		if (every) {
			int got;

			every[0].sz = sizeof(*every);
			got = hftmon_get_context_switches(s->m, &q, every,
							  (size_t)all);

			for (i = 0; i < got && i < all; i++)
				all_shown += targets_want(&a->s.targets,
							  every[i].pid,
							  every[i].tid);
			free(every);
		}
	}

	/* The histogram of the switches shown. */
	for (i = 0; i < n; i++)
		if (targets_want(&a->s.targets, ev[i].pid, ev[i].tid))
			log2_hist_add(&h, ev[i].off_cpu_ns / 1000);
	if (a->s.json) {
		bool first = true;

		session_print_json_head(s, "switches", secs);
		printf(",\n \"min_off_cpu_us\": %llu, \"completed_switches\": %d,\n \"switches\": [",
		       a->min_us, all_shown);
		for (i = 0; i < n; i++) {
			if (!targets_want(&a->s.targets, ev[i].pid, ev[i].tid))
				continue;
			print_switch_json(&ev[i], first);
			first = false;
		}
		printf("%s]", first ? "" : "\n ");
		if (a->histogram) {
			printf(",\n \"off_cpu_us_histogram\": ");
			log2_hist_json(&h);
		}
		printf("}\n");
		free(ev);
		return status;
	}
	if (a->kstacks && sym->have_ksyms && sym->ksyms.zero_addresses)
		printf("note: %s lists every address as 0 (kptr_restrict): kernel stacks are printed as raw addresses\n",
		       a->kallsyms);
	if (w->nr)
		printf("%s--- interval %u: %.3f-%.3f s after the start%s ---\n",
		       w->nr > 1 ? "\n" : "", w->nr,
		       (double)(w->since - s->start_ns) / 1e9,
		       (double)(end - s->start_ns) / 1e9,
		       w->until ? "" : " (partial: the run ended)");
	printf("%8s %-16s %20s %12s %-11s %-7s %8s %-16s %4s %12s\n", "TID",
	       "COMM", "OUT(s)", "OFF-CPU(us)", "KIND", "CPU", "NEXT",
	       "NEXT-COMM", "PRIO", "WAKEUP(us)");
	for (i = 0; i < n; i++) {
		if (!targets_want(&a->s.targets, ev[i].pid, ev[i].tid))
			continue;
		shown++;
		print_switch(&ev[i]);
		if (a->kstacks)
			print_stack(s->m, sym, ev[i].kstack_id, false);
		if (a->ustacks)
			print_stack(s->m, sym, ev[i].ustack_id, true);
	}
	printf("\n%d switch(es) of at least %llu us off CPU, of %d completed by the targets %s %.3f s\n",
	       shown, a->min_us, all_shown,
	       w->nr ? "back in within the interval's" : "over", secs);
	if (a->histogram) {
		printf("\n");
		log2_hist_print(&h, "time off CPU of the switches shown (us)",
				stdout);
	}
	if (!w->nr || !w->until)
		session_print_footer(s);
	fflush(stdout);
	free(ev);
	return status;
}

static void free_symbols(struct symbolizer *sym)
{
	if (sym->have_ksyms)
		hftmon_symtab_free(&sym->ksyms);
	hftmon_usyms_free(&sym->usyms);
}

/* --stop-us: a completed switch of the targets at least that long. */
static bool long_switch(struct session *s, void *arg)
{
	const struct switches_args *a = arg;
	struct hftmon_switch_query q = { .sz = sizeof(q),
					 .min_duration_us = a->stop_us };
	struct hftmon_switch_event ev[16] = { [0].sz = sizeof(ev[0]) };
	int n = hftmon_get_context_switches(s->m, &q, ev, 16), i;

	for (i = 0; i < n && i < 16; i++)
		if (targets_want(&a->s.targets, ev[i].pid, ev[i].tid)) {
			note("--stop-us %llu: tid %d was off CPU %.3f us (out at %.6f s): stopping",
			     a->stop_us, (int)ev[i].tid,
			     (double)ev[i].off_cpu_ns / 1000.0,
			     (double)ev[i].out_ns / 1e9);
			return true;
		}
	return false;
}

/*
 * -I: each interval's switches once every ring is merged past its end,
 * up to the one the deadline falls in, or until a signal, --stop-us or
 * the targets' exit; *w is left at the first interval not printed, for
 * print_rest() after the stop.
 */
static int print_intervals(struct session *s, const struct switches_args *a,
			   struct symbolizer *sym, struct sw_window *w,
			   uint64_t deadline)
{
	uint64_t step = a->interval_ms * 1000000ull;

	w->since = s->start_ns;
	for (w->nr = 1;; w->nr++) {
		int status;

		w->until = w->since + step;
		if (w->until >= deadline ||
		    session_wait_trigger(s, w->until,
					 a->stop_us ? long_switch : NULL,
					 (void *)a) ||
		    stopping())
			break;
		status = print_switches(s, a, sym, w);
		if (status)
			return status;
		if (stdout_closed())
			return 0;
		w->since = w->until;
	}
	return 0;
}

/*
 * After the stop (or from a recording): the intervals from w->since on
 * that ended before the stop, then the last one, partial. Live and from
 * the file alike, so a report prints the intervals the run printed.
 */
static int print_rest(struct session *s, const struct switches_args *a,
		      struct symbolizer *sym, struct sw_window *w)
{
	uint64_t step = a->interval_ms * 1000000ull;
	int status = 0;

	for (; !status && w->since + step < s->stop_ns;
	     w->nr++, w->since += step) {
		w->until = w->since + step;
		status = print_switches(s, a, sym, w);
	}
	w->until = 0; /* the stop ends it */
	return status ? status : print_switches(s, a, sym, w);
}

static int run_switches(int argc, char **argv)
{
	/* The whole run is queried at the end: room for 1M switches. */
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .drain_thread = true,
					     .history_switches = 1u << 20 };
	struct hftmon_attach_opts ao = { .sz = sizeof(ao) };
	struct symbolizer sym;
	struct switches_args a;
	struct sw_window w = { 0 };
	struct session s;
	uint64_t t0, loaded, deadline;
	pid_t sym_pid;
	int status = 0;

	parse_switches(argc, argv, &a);
	memset(&sym, 0, sizeof(sym));
	ao.kernel_stacks = a.kstacks;
	ao.user_stacks = a.ustacks;
	/*
	 * The switches shown are those of --min-us at least: the kernel
	 * unwinds only theirs (at the switch-in), where it can.
	 */
	if (a.kstacks && a.min_us && a.min_us <= 10000000)
		ao.kernel_stacks_min_us = (uint32_t)a.min_us;
	if (session_start(&s, &a.s, &cfg, &ao))
		return EXIT_FAILURE;
	/* User symbols of the first process (one symboliser per process later). */
	sym_pid = a.s.targets.v[0].pid;
	t0 = now_ns();
	load_symbols(&s, &sym, &a, sym_pid, true);
	loaded = now_ns();
	/* The symbols load while recording: the duration counts from here. */
	if (a.kstacks && loaded - t0 > 100000000u)
		note("loading %s took %.3f s while recording: recording %.3f s more",
		     a.kallsyms, (double)(loaded - t0) / 1e9, a.duration);

	deadline = loaded + (uint64_t)(a.duration * 1e9);
	if (a.interval_ms) {
		status = print_intervals(&s, &a, &sym, &w, deadline);
		if (!status)
			session_wait_trigger(&s, deadline,
					     a.stop_us ? long_switch : NULL,
					     &a);
	} else {
		session_wait_trigger(&s, deadline,
				     a.stop_us ? long_switch : NULL, &a);
	}
	if (!status)
		status = session_stop(&s);
	if (!status) {
		load_symbols(&s, &sym, &a, sym_pid, false);
		status = a.interval_ms ? print_rest(&s, &a, &sym, &w) :
					 print_switches(&s, &a, &sym, &w);
	}
	session_end(&s);
	free_symbols(&sym);
	return finish_stdout(status);
}

/* hftmon report -i FILE: the same switches from the recording. */
static int report_switches(struct session *s, int argc, char **argv)
{
	struct symbolizer sym;
	struct switches_args a;
	struct session_args *loaded;
	int status;

	parse_switches(argc, argv, &a);
	loaded = session_replay_args(s, &a.s);
	memset(&sym, 0, sizeof(sym));
	load_symbols(s, &sym, &a, 0, true);
	if (a.interval_ms) {
		/* The recording's intervals, as they were printed live. */
		struct sw_window w = { .since = s->start_ns, .nr = 1 };

		status = print_rest(s, &a, &sym, &w);
	} else {
		status = print_switches(s, &a, &sym, &(struct sw_window){ 0 });
	}
	s->args = loaded;
	free_symbols(&sym);
	return status;
}

const struct cli_command cmd_switches = {
	.name = "switches",
	.run = run_switches,
	.help = "  switches -p PID|-t TID|-- COMMAND [--min-us N] [--duration SEC] [--stacks] [--user-stacks]\n"
		"                           monitor for SEC seconds (default 1), until a\n"
		"                           signal or every target exited, then print every\n"
		"                           completed context switch at least N us off CPU:\n"
		"                           when, how long, voluntary or not, CPUs, the task\n"
		"                           that took the CPU, the wake-up latency; --stacks:\n"
		"                           the kernel stack (symbols from /proc/kallsyms),\n"
		"                           --user-stacks: the user stack (functions from the\n"
		"                           ELF symbols of the files in /proc/PID/maps)\n",
	.options = "switches options:\n"
		   "      --min-us N           only switches at least N us off CPU\n"
		   "  -d, --duration SEC       seconds to monitor (default 1)\n"
		   "      --stacks             record and print kernel stacks\n"
		   "      --user-stacks        record and print user stacks\n"
		   "      --kallsyms PATH      kernel symbols from PATH, not /proc/kallsyms\n"
		   "      --histogram          their time off CPU as a power-of-two histogram\n"
		   "      --stop-us N          stop at the first switch of a target at least\n"
		   "                           N us off CPU (checked every 100 ms)\n"
		   "  -I, --interval-print MS  print each MS ms interval's switches (those\n"
		   "                           back in within it) as it ends (10..3600000)\n",
	.report = report_switches,
};
