// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The library calls more than one command makes, each in one place, and
 * what their errors mean: opening the device (with libhftmon's messages
 * on stderr under -v), the options every monitoring command shares
 * (targets, the monitor's CPUs, priority and drain interval, --json),
 * configure/attach/start with the monitor placed off the targets' CPUs,
 * the wait that ends when every target has exited, the per-thread
 * scheduling info (sched, and record's thread names), and the lines
 * every report ends with (targets, losses, the monitor and its cost).
 *
 * Each error is one line: what failed, why, and what to do (the limit
 * and its knob, who holds the session, the module to load).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MODULE_PARAMS "/sys/module/hftmon/parameters/"

static void log_cb(void *ctx, enum hftmon_log_level level, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	(void)ctx;
	if (cli_verbose)
		fprintf(stderr, "hftmon: libhftmon %s: %s\n",
			(unsigned int)level < 4 ? names[level] : "?", msg);
}

static const char *device_path(void)
{
	return cli_device ? cli_device : HFTMON_DEVICE;
}

int open_device(struct hftmon **m)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = cli_device,
				      .log = log_cb };
	int err = hftmon_open(&o, m);

	switch (err) {
	case 0:
		return 0;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return report_line("%s: %s: load hftmon.ko (insmod hftmon.ko, or modprobe hftmon)",
				   device_path(), strerror(-err));
	case -EACCES:
	case -EPERM:
		return report_line("%s: %s: needs root, CAP_PERFMON or CAP_SYS_ADMIN, or the group set in " MODULE_PARAMS "allowed_gid",
				   device_path(), strerror(-err));
	default:
		return report_error(err, "%s", device_path());
	}
}

const char session_options_help[] =
	"  -p, --pid PID            a process (every thread); a thread id is resolved\n"
	"                           to its process; repeatable\n"
	"  -t, --tid TID            one thread only; repeatable\n"
	"  -- COMMAND [ARGS]        run COMMAND, monitored from its first instruction,\n"
	"                           and stop when it exits\n"
	"      --cpu LIST           run the monitor on these CPUs (\"0\", \"0-1,4\");\n"
	"                           default: CPUs no target may run on, else the\n"
	"                           housekeeping CPUs (outside isolcpus/nohz_full)\n"
	"      --priority N         the monitor's drain at SCHED_FIFO priority N (1..99)\n"
	"      --drain-us N         drain the rings at least every N us (default 10000)\n"
	"      --json               one JSON object instead of the text report\n"
	"  -h, --help               this command's help\n";

bool session_opt(const struct cli_command *cmd, struct session_args *a,
		 int c, const char *arg)
{
	cpu_set_t set;
	int err;

	switch (c) {
	case 'p':
	case 't':
		targets_add(&a->targets, cmd->name, c, arg);
		return true;
	case OPT_CPU:
		err = parse_cpu_list(arg, &set);
		if (err == -ERANGE)
			usage_error("%s: --cpu '%s' is out of range (CPUs 0..%d)",
				    cmd->name, arg, CPU_SETSIZE - 1);
		if (err)
			usage_error("%s: --cpu '%s' is not a CPU list (like 0 or 0-1,4)",
				    cmd->name, arg);
		a->mon.cpu_list = arg;
		return true;
	case OPT_PRIORITY:
		a->mon.priority =
			(int)parse_uint_arg(cmd->name, "--priority", arg, 1, 99);
		return true;
	case OPT_DRAIN_US:
		a->mon.drain_us = (uint32_t)parse_uint_arg(
			cmd->name, "--drain-us", arg, 100, 10000000);
		return true;
	case OPT_JSON:
		a->json = true;
		return true;
	case 'h':
		command_usage(cmd, stdout);
		exit(0);
	default:
		return false;
	}
}

void session_args_finish(const struct cli_command *cmd, struct session_args *a,
			 int argc, char **argv)
{
	if (optind < argc) {
		if (optind < 2 || strcmp(argv[optind - 1], "--"))
			usage_error("%s: unexpected argument '%s' (a command to run goes after --)",
				    cmd->name, argv[optind]);
		a->targets.command = &argv[optind];
	}
	if (!a->targets.nr && !a->targets.command && !a->watch)
		usage_error("%s: nothing to monitor: give -p PID, -t TID or -- COMMAND",
			    cmd->name);
	if (!a->mon.drain_us)
		a->mon.drain_us = DEFAULT_DRAIN_US;
}

/* Who else has the device open: "pid 123 (hftmon)", or "" if unknown. */
static void session_holder(char *buf, size_t len)
{
	char want[PATH_MAX], path[300], link[PATH_MAX];
	struct dirent *p;
	DIR *proc;

	buf[0] = '\0';
	if (!realpath(device_path(), want))
		return;
	proc = opendir("/proc");
	if (!proc)
		return;
	while ((p = readdir(proc)) && !buf[0]) {
		pid_t pid = (pid_t)atoi(p->d_name);
		struct dirent *f;
		DIR *fds;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
				 f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (!strcmp(link, want)) {
				char comm[64] = "?";
				FILE *c;

				snprintf(path, sizeof(path), "/proc/%d/comm",
					 (int)pid);
				c = fopen(path, "r");
				if (c) {
					if (fgets(comm, sizeof(comm), c))
						comm[strcspn(comm, "\n")] = '\0';
					fclose(c);
				}
				snprintf(buf, len, "pid %d (%s)", (int)pid,
					 comm);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

static int start_error(int err, const struct session_args *a)
{
	char holder[128];

	switch (err) {
	case -EBUSY:
		session_holder(holder, sizeof(holder));
		if (holder[0])
			return report_line("start: another monitoring session runs, held by %s: one session at a time; wait for it or stop it",
					   holder);
		return report_line("start: another monitoring session runs: one session at a time; wait for it or stop it (fuser %s names it)",
				   device_path());
	case -EPERM:
		if (a->mon.priority)
			return report_line("start: SCHED_FIFO priority %d for the drain thread refused: needs CAP_SYS_NICE or RLIMIT_RTPRIO >= %d (ulimit -r), or leave out --priority",
					   a->mon.priority, a->mon.priority);
		break;
	case -EINVAL:
		if (a->mon.cpu_list)
			return report_line("start: the drain thread cannot run on CPU %s: not a CPU this process may use (see taskset -p %d)",
					   a->mon.cpu_list, (int)getpid());
		break;
	}
	return report_error(err, "start");
}

static int attach_error(int err, pid_t pid, const struct hftmon_info *info)
{
	switch (err) {
	case -ESRCH:
		return report_line("attach pid %d: no such process (it exited)",
				   (int)pid);
	case -EPERM:
	case -EACCES:
		return report_line("attach pid %d: not allowed to trace it: run as its user or with CAP_SYS_PTRACE",
				   (int)pid);
	case -ENOSPC:
		return report_line("attach pid %d: the session's limit of %u processes is reached: raise " MODULE_PARAMS "max_procs",
				   (int)pid, info->max_procs);
	default:
		return report_error(err, "attach pid %d", (int)pid);
	}
}

static int configure_error(int err, const struct hftmon_monitor_config *cfg,
			   const struct hftmon_info *info)
{
	if (err == -ENOMEM)
		return report_line("configure: no memory for %u pages per CPU ring (%u CPUs): use a smaller --ring-pages",
				   cfg->ring_pages ? cfg->ring_pages :
						     info->default_ring_pages,
				   info->nr_cpu_ids);
	return report_error(err, "configure");
}

/* The placement: --cpu, or chosen from the targets' affinities. */
static int place(struct session *s, const pid_t *pids, unsigned int nr)
{
	struct session_args *a = s->args;
	struct placement *p = &s->place;
	struct placement_in in;
	int err;

	err = placement_read(pids, nr, &in);
	if (err)
		return report_error(err, "the monitor's CPUs");
	if (a->watch)
		CPU_OR(&in.targets, &in.targets, a->watch);
	placement_choose(&in, p);
	if (a->mon.cpu_list) {
		parse_cpu_list(a->mon.cpu_list, &p->cpus); /* checked already */
		p->nr_cpus = CPU_COUNT(&p->cpus);
		p->why = PLACE_USER;
	}
	p->priority = a->mon.priority;
	p->drain_us = a->mon.drain_us;
	return 0;
}

/* This thread (and the drain thread it creates) on the chosen CPUs. */
static int place_self(struct session *s, bool drain_here)
{
	struct placement *p = &s->place;
	char cpus[256];

	if (sched_getaffinity(0, sizeof(s->saved_affinity), &s->saved_affinity))
		return report_error(-errno, "the monitor's CPUs");
	if (sched_setaffinity(0, sizeof(p->cpus), &p->cpus)) {
		int err = errno;

		return report_line("the monitor cannot run on CPU %s: %s: give --cpu a CPU this process may use (taskset -p %d)",
				   format_cpu_list(&p->cpus, cpus, sizeof(cpus)),
				   strerror(err), (int)getpid());
	}
	s->placed = true;
	if (drain_here && p->priority) {
		struct sched_param sp = { .sched_priority = p->priority };

		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			return report_line("SCHED_FIFO priority %d refused: %s: needs CAP_SYS_NICE or RLIMIT_RTPRIO >= %d (ulimit -r), or leave out --priority",
					   p->priority, strerror(errno),
					   p->priority);
	}
	return 0;
}

int session_start(struct session *s, struct session_args *a,
		  struct hftmon_monitor_config *cfg,
		  const struct hftmon_attach_opts *ao)
{
	struct hftmon_info info;
	int cpus[CPU_SETSIZE];
	pid_t *pids = NULL;
	unsigned int nr, i;
	int ret, n = 0;

	memset(s, 0, sizeof(*s));
	s->args = a;
	a->targets.go_fd = a->targets.err_fd = -1;
	/* First: the command inherits nothing of the monitor's placement. */
	if (a->targets.command && targets_spawn(&a->targets))
		return EXIT_FAILURE;
	pids = calloc(a->targets.nr + 1, sizeof(*pids));
	if (!pids)
		return report_error(-ENOMEM, "targets");
	nr = targets_processes(&a->targets, pids);

	if (open_device(&s->m))
		goto err;
	info.size = sizeof(info);
	ret = hftmon_get_info(s->m, &info);
	if (ret) {
		report_error(ret, "info");
		goto err_close;
	}
	if (cfg->ring_pages > info.max_ring_pages) {
		report_line("--ring-pages %u is out of range: the module allows up to %u (raise " MODULE_PARAMS "max_ring_pages)",
			    cfg->ring_pages, info.max_ring_pages);
		goto err_close;
	}
	if (nr > info.max_procs) {
		report_line("%u processes to attach: the session's limit is %u (raise " MODULE_PARAMS "max_procs)",
			    nr, info.max_procs);
		goto err_close;
	}
	if (place(s, pids, nr))
		goto err_close;
	if (cfg->drain_thread) {
		for (i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &s->place.cpus))
				cpus[n++] = (int)i;
		cfg->cpu_affinity = cpus;
		cfg->nr_cpu_affinity = (size_t)n;
		cfg->realtime_priority = s->place.priority;
		cfg->drain_interval_us = s->place.drain_us;
	}
	ret = hftmon_configure(s->m, cfg);
	cfg->cpu_affinity = NULL; /* cpus[] ends here */
	cfg->nr_cpu_affinity = 0;
	if (ret) {
		configure_error(ret, cfg, &info);
		goto err_close;
	}
	for (i = 0; i < nr; i++) {
		ret = hftmon_attach_process(s->m, pids[i], ao);
		if (ret) {
			attach_error(ret, pids[i], &info);
			goto err_close;
		}
	}
	if (place_self(s, !cfg->drain_thread))
		goto err_close;
	install_signals();
	monitor_cost_read(&s->cost_start);
	s->start_ns = now_ns();
	ret = hftmon_start(s->m);
	if (ret) {
		start_error(ret, a);
		goto err_close;
	}
	if (targets_release(&a->targets)) {
		hftmon_stop(s->m);
		goto err_close;
	}
	free(pids);
	return 0;

err_close:
	session_end(s);
	free(pids);
	return EXIT_FAILURE;
err:
	targets_fini(&a->targets);
	free(pids);
	return EXIT_FAILURE;
}

bool session_wait(struct session *s, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ns(), next = now + 100000000u;

		if (stopping())
			return false;
		if (targets_all_gone(&s->args->targets))
			return true;
		if (deadline && now >= deadline)
			return false;
		if (deadline && deadline < next)
			next = deadline;
		sleep_until(next);
	}
}

int session_stop(struct session *s)
{
	struct monitor_cost end;
	int ret;

	/* Before stop: the drain thread ends with it. */
	monitor_cost_read(&end);
	monitor_cost_delta(&s->cost_start, &end, &s->cost);
	s->stop_ns = now_ns();
	ret = hftmon_stop(s->m);
	s->stopped = true;
	targets_all_gone(&s->args->targets);
	if (ret)
		return report_error(ret, "stop");
	return 0;
}

void session_end(struct session *s)
{
	hftmon_close(s->m);
	s->m = NULL;
	if (s->placed) {
		struct sched_param sp = { .sched_priority = 0 };

		sched_setscheduler(0, SCHED_OTHER, &sp);
		sched_setaffinity(0, sizeof(s->saved_affinity),
				  &s->saved_affinity);
		s->placed = false;
	}
	targets_fini(&s->args->targets);
}

int get_threads(struct hftmon *m, pid_t pid, struct hftmon_thread_info **info,
		size_t *cap)
{
	int n;

	for (;;) {
		n = hftmon_get_thread_scheduling_info(m, pid, *info, *cap);
		if (n < 0 || (size_t)n <= *cap)
			return n;
		free(*info);
		*cap = (size_t)n + 16; /* threads may appear meanwhile */
		*info = calloc(*cap, sizeof(**info));
		if (!*info) {
			*cap = 0;
			return -ENOMEM;
		}
		(*info)[0].sz = sizeof(**info);
	}
}

int get_latencies(struct hftmon *m, const struct hftmon_thread_info *t, int n,
		  uint64_t window_us, struct hftmon_latency *lat)
{
	int i, err;

	for (i = 0; i < n; i++) {
		struct hftmon_latency_query q = { .sz = sizeof(q),
						  .pid = t[i].pid,
						  .tid = t[i].tid,
						  .window_us = window_us };

		lat[i] = (struct hftmon_latency){ .sz = sizeof(lat[i]) };
		err = hftmon_get_wakeup_latency(m, &q, &lat[i]);
		if (err && err != -ENODATA)
			return err;
	}
	return 0;
}

void print_losses(struct hftmon *m)
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

void print_losses_json(struct hftmon *m)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	int ret = hftmon_get_stats(m, &sum, NULL, 0);

	if (ret) {
		report_error(ret, "statistics");
		printf("\"lost\": null");
		return;
	}
	printf("\"records_written\": %llu, \"lost\": {\"total\": %llu, \"ring_full\": %llu, \"too_big\": %llu, \"no_space\": %llu, \"seq_gaps\": %llu, \"bad_records\": %llu, \"switches_overwritten\": %llu, \"wakeups_overwritten\": %llu, \"aggregator_late\": %llu, \"aggregator_dropped\": %llu}",
	       (unsigned long long)sum.records,
	       (unsigned long long)sum.lost_total,
	       (unsigned long long)sum.lost[HFTMON_LOST_RING_FULL],
	       (unsigned long long)sum.lost[HFTMON_LOST_TOO_BIG],
	       (unsigned long long)sum.lost[HFTMON_LOST_NO_SPACE],
	       (unsigned long long)sum.seq_gaps,
	       (unsigned long long)sum.bad_records,
	       (unsigned long long)sum.switches_overwritten,
	       (unsigned long long)sum.wakeups_overwritten,
	       (unsigned long long)sum.aggregator_late,
	       (unsigned long long)sum.aggregator_dropped);
}

void session_print_footer(struct session *s)
{
	targets_print(&s->args->targets, stdout);
	print_losses(s->m);
	monitor_print(&s->place, &s->cost, stdout);
}

void session_print_json_head(struct session *s, const char *command,
			     double interval_s)
{
	uint64_t end = s->stop_ns ? s->stop_ns : now_ns();

	printf("{\"command\": \"%s\", \"hftmon_version\": \"%s\", \"time\": {\"clock\": \"CLOCK_MONOTONIC\", \"start_ns\": %llu, \"end_ns\": %llu, \"duration_s\": %.6f}, \"interval_s\": %.6f,\n ",
	       command, HFTMON_VERSION_STRING,
	       (unsigned long long)s->start_ns, (unsigned long long)end,
	       (double)(end - s->start_ns) / 1e9, interval_s);
	targets_print_json(&s->args->targets);
	printf(",\n ");
	print_losses_json(s->m);
	printf(",\n ");
	monitor_print_json(&s->place, &s->cost);
}
