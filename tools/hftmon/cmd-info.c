// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon info: what the module and this machine offer, read at open
 * (hftmon_get_info()): ABI version, feature bits, CPUs, NUMA nodes, ring
 * sizes, and every event source, available or why not (pmu_hw: whether
 * the kernel can make a hardware counter on this machine, asked of it);
 * then the PMUs the kernel registered (/sys/bus/event_source/devices: each
 * one's perf type number), which of them is the CPU's, what is known of
 * its counters (x86 CPUID; the NMI watchdog's), and the events of
 * hftmon's cache table as this machine resolves them, and the core PMUs
 * libpfm4 finds (with --pfm-events, their events).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "cli.h"

#define PMU_DIR "/sys/bus/event_source/devices"
#define MAX_PMUS 64

struct pmu_dev {
	char name[256];
	int type;
};

/* The PMUs the kernel registered, by name; how many, or -errno. */
static int read_pmus(struct pmu_dev *p, int max)
{
	DIR *d = opendir(PMU_DIR);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < max) {
		char path[512];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PMU_DIR "/%s/type", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%d", &p[n].type) == 1) {
			snprintf(p[n].name, sizeof(p[n].name), "%s", e->d_name);
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* The CPU's own PMU: x86 "cpu" (hybrid: "cpu_core"), arm64 "armv8_*". */
static bool is_cpu_pmu(const char *name)
{
	return !strcmp(name, "cpu") || !strcmp(name, "cpu_core") ||
	       !strcmp(name, "cpu_atom") || !strncmp(name, "armv8_", 6) ||
	       !strncmp(name, "armv9_", 6);
}

/*
 * General-purpose counters per CPU as the CPU itself says: Intel's
 * architectural perfmon leaf 0xa (0 under x86 TCG, which has none); AMD's
 * PerfCtrExtCore (six). -1 and *why where nothing says.
 */
static int gp_counters(const char **why)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d, max = __get_cpuid_max(0, NULL);
	char vendor[13];

	__cpuid(0, a, b, c, d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	if (!strcmp(vendor, "GenuineIntel") && max >= 0xa) {
		__cpuid(0xa, a, b, c, d);
		*why = "CPUID leaf 0xa";
		return (a & 0xff) ? (int)((a >> 8) & 0xff) : 0;
	}
	if (!strcmp(vendor, "AuthenticAMD") &&
	    __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 23))) {
		*why = "CPUID PerfCtrExtCore";
		return 6;
	}
	*why = "this CPU's CPUID tells no counter count";
	return -1;
#else
	*why = "the kernel does not publish this PMU's counter count";
	return -1;
#endif
}

/* An event of hftmon's table here: "generic", "raw 0x4d2", or why not. */
static const char *table_event(unsigned int e, char *buf, size_t len)
{
	struct hftmon_pmu_counter c = { .sz = sizeof(c) };
	const char *name = hftmon_cache_event_name(e);
	int err = hftmon_cache_counters(NULL, &name, 1, &c, 1);

	if (err == -ENOENT)
		return "not on this machine's PMUs";
	if (err == -EOPNOTSUPP)
		return "unknown: libpfm4 is not installed";
	if (err < 0)
		return strerror(-err);
	if (c.type == PERF_TYPE_RAW)
		snprintf(buf, len, "raw %#" PRIx64 " (libpfm4)", c.config);
	else
		snprintf(buf, len, "type %u config %#" PRIx64
			 " (the kernel's; counted if it can, see pmu_hw)",
			 c.type, c.config);
	return buf;
}

static void print_event(void *ctx, const char *pmu, const char *event,
			const char *desc)
{
	(void)ctx;
	printf("  %s::%s\t%s\n", pmu, event, desc ? desc : "");
}

/* The core PMUs libpfm4 finds here, their counters and events. */
static void print_pfm(bool json, bool events)
{
	struct hftmon_pmu_desc d[8] = { [0].sz = sizeof(d[0]) };
	int n = hftmon_pmu_list(NULL, d, 8, NULL, NULL), i;

	if (json) {
		printf(", \"libpfm4\": ");
		if (n < 0) {
			printf("null");
			return;
		}
		printf("[");
		for (i = 0; i < n && i < 8; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			json_string(d[i].name);
			printf(", \"desc\": ");
			json_string(d[i].desc);
			printf(", \"events\": %u, \"counters\": %u, \"fixed_counters\": %u}",
			       d[i].nr_events, d[i].nr_counters,
			       d[i].nr_fixed_counters);
		}
		printf("]");
		return;
	}
	printf("libpfm4:       ");
	if (n == -EOPNOTSUPP)
		printf(" not installed: no vendor events (install Debian's libpfm4)\n");
	else if (n < 0)
		printf(" %s\n", strerror(-n));
	else if (!n)
		printf(" no core PMU of its tables on this CPU\n");
	for (i = 0; i < n && i < 8; i++)
		printf(" %s (%s): %u events, %u counters and %u fixed in its tables%s\n",
		       d[i].name, d[i].desc, d[i].nr_events, d[i].nr_counters,
		       d[i].nr_fixed_counters,
		       events ? "" : " (hftmon info --pfm-events lists them)");
	if (events && n > 0)
		hftmon_pmu_list(NULL, NULL, 0, print_event, NULL);
}

static void print_pmus(bool json, bool events)
{
	struct pmu_dev p[MAX_PMUS];
	int n = read_pmus(p, MAX_PMUS), i, gp;
	int wd = read_sysctl_int("/proc/sys/kernel/nmi_watchdog");
	const char *cpu = NULL, *why = NULL;
	unsigned int e;
	char buf[128];

	for (i = 0; i < n; i++)
		if (is_cpu_pmu(p[i].name) && !cpu)
			cpu = p[i].name;
	gp = gp_counters(&why);
	if (json) {
		printf(",\n \"pmus\": [");
		for (i = 0; i < n; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			json_string(p[i].name);
			printf(", \"type\": %d}", p[i].type);
		}
		printf("], \"cpu_pmu\": ");
		if (cpu)
			json_string(cpu);
		else
			printf("null");
		printf(", \"gp_counters\": ");
		if (gp >= 0)
			printf("%d", gp);
		else
			printf("null");
		printf(", \"gp_counters_source\": ");
		json_string(why);
		printf(", \"nmi_watchdog\": ");
		if (wd >= 0)
			printf("%s", wd ? "true" : "false");
		else
			printf("null");
		printf(", \"cache_events\": [");
		for (e = 0; e < HFTMON_CACHE_NR_EVENTS; e++) {
			printf("%s{\"name\": ", e ? ", " : "");
			json_string(hftmon_cache_event_name(e));
			printf(", \"here\": ");
			json_string(table_event(e, buf, sizeof(buf)));
			printf("}");
		}
		printf("]");
		print_pfm(true, false);
		return;
	}
	printf("PMUs:          ");
	if (n < 0)
		printf(" unknown: %s: %s", PMU_DIR, strerror(-n));
	for (i = 0; i < n; i++)
		printf(" %s (type %d)", p[i].name, p[i].type);
	printf("\ncpu PMU:        %s\n",
	       cpu ? cpu : "(none): the kernel registered no CPU PMU (x86 TCG has none)");
	printf("counters:       ");
	if (gp > 0)
		printf("%d general-purpose per CPU (%s)", gp, why);
	else if (!gp)
		printf("none (%s says 0)", why);
	else
		printf("unknown: %s", why);
	if (wd == 1)
		printf("; nmi_watchdog=1: where the hard-lockup detector runs on the PMU it holds one per CPU");
	else if (!wd)
		printf("; nmi_watchdog=0: it holds none");
	else
		printf("; nmi_watchdog unknown (/proc/sys/kernel/nmi_watchdog unreadable)");
	printf("; held by other perf users: unknown (the kernel does not say)\n");
	printf("cache events (hftmon cache --events):\n");
	for (e = 0; e < HFTMON_CACHE_NR_EVENTS; e++)
		printf("  %-24s %s\n", hftmon_cache_event_name(e),
		       table_event(e, buf, sizeof(buf)));
	print_pfm(false, events);
}

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
		{ "pfm-events", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hftmon_info info;
	struct hftmon *m;
	unsigned int i;
	bool json = false, pfm_events = false;
	int err, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'E')
			pfm_events = true;
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
		printf("\n ]");
		print_pmus(true, false);
		printf("}\n");
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
	print_pmus(false, pfm_events);
	hftmon_close(m);
	return finish_stdout(0);
}

const struct cli_command cmd_info = {
	.name = "info",
	.run = run_info,
	.help = "  info [--json] [--pfm-events]\n"
		"                           ABI version, CPUs, NUMA nodes, ring sizes,\n"
		"                           whether each event source is available, the\n"
		"                           PMUs, what is known of the CPU's counters, and\n"
		"                           the cache events as this machine resolves them;\n"
		"                           --pfm-events: every event of the PMUs libpfm4\n"
		"                           finds here\n",
};
