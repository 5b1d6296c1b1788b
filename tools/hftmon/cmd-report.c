// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon report -i FILE: prints again the report a monitoring command
 * printed when it recorded FILE (its -o FILE), from the file alone: the
 * records (hftmon_open_file() feeds them to the library's aggregator as
 * the live drain did, so every query answers as it did live), the
 * kernel's counters and the threads at the stop, and the session note
 * the command left (its arguments, targets, where the monitor ran and
 * what it cost). The recorded command's own report function prints it,
 * text or JSON as it was asked when recording.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool cli_replay;

static const struct cli_command *const reportable[] = {
	&cmd_record,
	&cmd_switches,
	&cmd_spikes,
	&cmd_explain,
	&cmd_irq,
	&cmd_sched,
	&cmd_cache,
};

static int run_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = NULL;
	struct session_args a;
	struct session s;
	const char *input = NULL, *name;
	int c, rargc, status;
	char **rargv;
	size_t i;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'h':
			command_usage(&cmd_report, stdout);
			return 0;
		default:
			bad_option("report", c, argv);
		}
	}
	if (optind < argc)
		usage_error("report: unexpected argument '%s'", argv[optind]);
	if (!input)
		usage_error("report: the recording is needed: -i FILE (written by -o FILE)");

	memset(&a, 0, sizeof(a));
	status = session_load(&s, &a, input, &name, &rargc, &rargv);
	if (status)
		goto out;
	for (i = 0; i < sizeof(reportable) / sizeof(reportable[0]); i++)
		if (!strcmp(reportable[i]->name, name))
			cmd = reportable[i];
	if (!cmd || !cmd->report) {
		status = report_line("report: %s was recorded by 'hftmon %s', whose report cannot be printed from a file yet",
				     input, name);
		goto out;
	}
	cli_replay = true;
	usage_cmd = cmd->name;
	status = cmd->report(&s, rargc, rargv);
	cli_replay = false;
out:
	session_end(&s);
	return finish_stdout(status);
}

const struct cli_command cmd_report = {
	.name = "report",
	.run = run_report,
	.help = "  report -i FILE           print again, from FILE alone, the report of the\n"
		"                           command that recorded it with -o FILE\n",
	.options = "report options:\n"
		   "  -i, --input FILE         the recording\n",
};
