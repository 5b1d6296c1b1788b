// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon: the command-line front end of libhftmon.
 *
 *   hftmon info      what the module and this machine offer, per source
 *                    (cmd-info.c)
 *   hftmon record    attach to processes, drain their scheduling records
 *                    until a duration ends or SIGINT/SIGTERM, then report
 *                    per thread (switch-outs, switch-ins, wakeups,
 *                    migrations) with every loss counted (cmd-record.c)
 *   hftmon sched     per-thread scheduling of a process every interval:
 *                    policy, priority, affinity, CPU, switches, and the
 *                    wake-up latency hftmon measured, table or JSON
 *                    (cmd-sched.c)
 *   hftmon switches  every completed context switch of a process of at
 *                    least N us off CPU, with what ran instead and,
 *                    optionally, the kernel and user stacks it left at
 *                    (cmd-switches.c)
 *   hftmon irq       interruptions per CPU and source, like top, and the
 *                    time each stole from the target threads (cmd-irq.c)
 *   hftmon spikes    latency spikes detected in the kernel, each broken
 *                    down into its causes (cmd-spikes.c)
 *   hftmon explain   the same breakdown for a window the application
 *                    measured (cmd-spikes.c)
 *   hftmon report    prints again the report of a recording made with -o
 *                    FILE, from the file alone (cmd-report.c)
 *   hftmon export    a recording as a trace Perfetto opens (cmd-export.c)
 *   hftmon numa      NUMA nodes, and where a process's memory is
 *                    (cmd-numa.c)
 *
 * This file reads the global options, prints the help that lists every
 * command, and runs the command named. A new command is one cmd-*.c file,
 * its declaration in cli.h and one entry in commands[].
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *cli_device;
bool cli_verbose;

/* In the order hftmon --help lists them. */
static const struct cli_command *const commands[] = {
	&cmd_info,
	&cmd_record,
	&cmd_sched,
	&cmd_switches,
	&cmd_irq,
	&cmd_spikes,
	&cmd_explain,
	&cmd_report,
	&cmd_export,
	&cmd_numa,
	&cmd_cache,
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

void usage(FILE *f)
{
	size_t i;

	fputs("Usage: hftmon [OPTIONS] COMMAND [ARGS]\n"
	      "Monitor the context switches, wake-ups, migrations, interruptions and\n"
	      "latency spikes of trading processes through the hftmon kernel module.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < NR_COMMANDS; i++)
		fputs(commands[i]->help, f);
	for (i = 0; i < NR_COMMANDS; i++)
		if (commands[i]->options)
			fprintf(f, "\n%s", commands[i]->options);
	fprintf(f, "\nOptions of the monitoring commands (all but info, report, export and numa):\n%s",
		session_options_help);
	fputs("\n"
	      "Options:\n"
	      "  -D, --device PATH        the hftmon device (default " HFTMON_DEVICE
	      ")\n"
	      "  -v, --verbose            print libhftmon's messages on stderr\n"
	      "  -h, --help               this help\n"
	      "      --version            version of this tool and of the ABI it speaks\n",
	      f);
}

void command_usage(const struct cli_command *cmd, FILE *f)
{
	const char *h = cmd->help + 2, *nl = strchr(h, '\n');
	const char *gap = strstr(h, "  ");

	/* The synopsis, then the description below it, indented. */
	if (gap && gap < nl) {
		fprintf(f, "Usage: hftmon [-D PATH] [-v] %.*s\n", (int)(gap - h),
			h);
		fprintf(f, "%27s%s", "", gap + strspn(gap, " "));
	} else {
		fprintf(f, "Usage: hftmon [-D PATH] [-v] %s", h);
	}
	if (cmd->options)
		fprintf(f, "\n%s", cmd->options);
	if (cmd != &cmd_info && cmd != &cmd_report && cmd != &cmd_export &&
	    cmd != &cmd_numa)
		fprintf(f, "\n%s options shared by the monitoring commands:\n%s",
			cmd->name, session_options_help);
	fputs("\nGlobal options (before the command): -D/--device PATH, -v/--verbose;\n"
	      "hftmon --help lists every command, man hftmon tells more.\n",
	      f);
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
	size_t i;
	int c;

	usage_cmd = NULL;
	opterr = 0; /* one line of our own for a bad option */
	/* '+': options after the command belong to the command. */
	while ((c = getopt_long(argc, argv, "+:D:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			cli_device = optarg;
			break;
		case 'v':
			cli_verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hftmon %s (ABI %d)\n", HFTMON_VERSION_STRING,
			       HFTMON_ABI_VERSION);
			return 0;
		default:
			bad_option("hftmon", c, argv);
		}
	}
	if (optind >= argc)
		usage_error(
			"a command is needed: info, record, sched, switches, irq, spikes, explain, report, export or numa");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(cmd, commands[i]->name)) {
			usage_cmd = commands[i]->name;
			return commands[i]->run(argc, argv);
		}
	if (!strcmp(cmd, "help")) {
		for (i = 0; argc > 1 && i < NR_COMMANDS; i++)
			if (!strcmp(argv[1], commands[i]->name)) {
				command_usage(commands[i], stdout);
				return 0;
			}
		usage(stdout);
		return 0;
	}
	usage_error("unknown command '%s'", cmd);
}
