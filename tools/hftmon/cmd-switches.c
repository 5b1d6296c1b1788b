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

static int run_switches(int argc, char **argv)
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

const struct cli_command cmd_switches = {
	.name = "switches",
	.run = run_switches,
	.help = "  switches -p PID [--min-us N] [--duration SEC] [--stacks] [--user-stacks]\n"
		"                           monitor for SEC seconds (default 1) or until\n"
		"                           SIGINT/SIGTERM, then print every completed context\n"
		"                           switch at least N us off CPU: when, how long,\n"
		"                           voluntary or not, CPUs, the task that took the CPU,\n"
		"                           the wake-up latency; --stacks: the kernel stack\n"
		"                           (symbols from /proc/kallsyms), --user-stacks: the\n"
		"                           user stack (functions from the ELF symbols of the\n"
		"                           files in /proc/PID/maps, with file and offset)\n",
	.options = "switches options:\n"
		   "      --kallsyms PATH      kernel symbols from PATH, not /proc/kallsyms\n",
};
