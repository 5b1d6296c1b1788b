// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon info: what the module and this machine offer, read at open
 * (hftmon_get_info()): ABI version, feature bits, CPUs, NUMA nodes, ring
 * sizes, and every event source, available or why not (pmu_hw: whether
 * the kernel can make a hardware counter on this machine, asked of it).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_size(const char *what, unsigned int pages, unsigned int page)
{
	unsigned long long bytes = (unsigned long long)pages * page;

	if (bytes >= 1024 * 1024)
		printf("%s %u pages (%llu MiB)", what, pages, bytes >> 20);
	else
		printf("%s %u pages (%llu KiB)", what, pages, bytes >> 10);
}

static int run_info(int argc, char **argv)
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
		{ HFTMON_FEAT_PMU, "pmu" },
	};
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hftmon_info info;
	struct hftmon *m;
	unsigned int i;
	bool json = false;
	int err, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			command_usage(&cmd_info, stdout);
			return 0;
		} else {
			bad_option("info", c, argv);
		}
	}
	if (optind < argc)
		usage_error("info: unexpected argument '%s'", argv[optind]);
	if (open_device(&m))
		return EXIT_FAILURE;
	info.size = sizeof(info);
	err = hftmon_get_info(m, &info);
	if (err) {
		hftmon_close(m);
		return report_error(err, "info");
	}
	if (json) {
		printf("{\"command\": \"info\", \"hftmon_version\": \"%s\", \"abi_version\": %u, \"tool_abi_version\": %d, \"features\": [",
		       HFTMON_VERSION_STRING, info.abi_version,
		       HFTMON_ABI_VERSION);
		for (i = 0, c = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
			if (info.features & feats[i].bit)
				printf("%s\"%s\"", c++ ? ", " : "",
				       feats[i].name);
		printf("], \"nr_cpu_ids\": %u, \"nr_online_cpus\": %u, \"nr_nodes\": %u, \"page_size\": %u, \"default_ring_pages\": %u, \"max_ring_pages\": %u, \"max_procs\": %u,\n \"sources\": [",
		       info.nr_cpu_ids, info.nr_online_cpus, info.nr_nodes,
		       info.page_size, info.default_ring_pages,
		       info.max_ring_pages, info.max_procs);
		for (i = 0; i < HFTMON_SRC_NR; i++) {
			int st = info.source_status[i];

			printf("%s\n  {\"name\": ", i ? "," : "");
			json_string(hftmon_source_name(i));
			if (!st) {
				printf(", \"available\": true}");
				continue;
			}
			printf(", \"available\": false, \"reason\": ");
			json_string(hftmon_source_reason(i, st));
			printf(", \"errno\": %d}", -st);
		}
		printf("\n ]}\n");
		hftmon_close(m);
		return finish_stdout(0);
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
	return finish_stdout(0);
}

const struct cli_command cmd_info = {
	.name = "info",
	.run = run_info,
	.help = "  info [--json]            ABI version, CPUs, NUMA nodes, ring sizes and\n"
		"                           whether each event source is available\n",
};
