// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The monitor stays off the trading CPUs: its threads (this one, and
 * the library's drain thread) run on CPUs no target thread may run on,
 * else on CPUs no pinned target thread may run on, else on the
 * housekeeping CPUs (outside /sys/devices/system/cpu/isolated and
 * nohz_full), else wherever (and the report says so); --cpu overrides.
 * What the monitor cost is read from the kernel's own accounting of its
 * threads: /proc/self/task/TID/schedstat (time on CPU, times it got a
 * CPU) and status (voluntary switches: each a sleep ended by a wake-up;
 * nonvoluntary: preempted).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_sysfs_cpu = "/sys/devices/system/cpu";

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return (int)n;
}

/* A sysfs CPU list file; absent or empty is the empty set. */
static void read_sysfs_list(const char *name, cpu_set_t *set)
{
	char path[512], buf[4096];

	CPU_ZERO(set);
	snprintf(path, sizeof(path), "%s/%s", cli_sysfs_cpu, name);
	if (read_small(path, buf, sizeof(buf)) <= 0 || buf[0] == '\n')
		return;
	if (parse_cpu_list(buf, set))
		CPU_ZERO(set);
}

void placement_choose(const struct placement_in *in, struct placement *out)
{
	cpu_set_t base, c;

	/* Housekeeping: what this process may use minus the isolated. */
	CPU_OR(&c, &in->isolated, &in->nohz_full);
	CPU_XOR(&base, &in->allowed, &c);
	CPU_AND(&base, &base, &in->allowed);
	if (!CPU_COUNT(&base))
		base = in->allowed;
	out->targets = in->targets;

	CPU_AND(&c, &base, &in->targets);
	CPU_XOR(&c, &base, &c); /* base minus every target's CPUs */
	if (CPU_COUNT(&c)) {
		out->cpus = c;
		out->why = PLACE_OUTSIDE_TARGETS;
	} else {
		CPU_AND(&c, &base, &in->pinned);
		CPU_XOR(&c, &base, &c);
		if (CPU_COUNT(&in->pinned) && CPU_COUNT(&c)) {
			out->cpus = c;
			out->why = PLACE_OUTSIDE_PINNED;
			out->targets = in->pinned;
		} else if (CPU_COUNT(&base) < CPU_COUNT(&in->allowed)) {
			out->cpus = base;
			out->why = PLACE_HOUSEKEEPING;
		} else {
			out->cpus = base;
			out->why = PLACE_SHARED;
		}
	}
	out->nr_cpus = CPU_COUNT(&out->cpus);
}

/* The affinity of every thread of pid, into all and (if narrower) pinned. */
static int add_process(pid_t pid, const cpu_set_t *online,
		       struct placement_in *in)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		cpu_set_t set, both;

		if (tid <= 0 || sched_getaffinity(tid, sizeof(set), &set))
			continue;
		CPU_OR(&in->targets, &in->targets, &set);
		CPU_AND(&both, &set, online);
		if (CPU_COUNT(&both) < CPU_COUNT(online))
			CPU_OR(&in->pinned, &in->pinned, &set);
		n++;
	}
	closedir(d);
	return n ? 0 : -ESRCH;
}

int placement_read(const pid_t *pids, unsigned int nr, struct placement_in *in)
{
	cpu_set_t online;
	unsigned int i;

	memset(in, 0, sizeof(*in));
	if (sched_getaffinity(0, sizeof(in->allowed), &in->allowed))
		return -errno;
	read_sysfs_list("online", &online);
	if (CPU_COUNT(&online))
		CPU_AND(&in->allowed, &in->allowed, &online);
	else
		online = in->allowed;
	read_sysfs_list("isolated", &in->isolated);
	read_sysfs_list("nohz_full", &in->nohz_full);
	for (i = 0; i < nr; i++)
		add_process(pids[i], &online, in); /* gone: the attach says so */
	return 0;
}

void placement_describe(const struct placement *p, char *buf, size_t len)
{
	static const char *const why[] = {
		[PLACE_USER] = "as --cpu asked",
		[PLACE_OUTSIDE_TARGETS] = "outside the targets' CPUs",
		[PLACE_OUTSIDE_PINNED] = "outside the pinned target threads' CPUs",
		[PLACE_HOUSEKEEPING] = "housekeeping: outside isolcpus/nohz_full",
		[PLACE_SHARED] = "shared with the targets: no CPU is free of them and none is isolated (use --cpu)",
	};
	char cpus[256], tcpus[256], drain[64];

	format_cpu_list(&p->cpus, cpus, sizeof(cpus));
	format_cpu_list(&p->targets, tcpus, sizeof(tcpus));
	snprintf(drain, sizeof(drain), "drains every %u us", p->drain_us);
	if (p->why == PLACE_OUTSIDE_TARGETS || p->why == PLACE_OUTSIDE_PINNED)
		snprintf(buf, len, "CPU %s (%s %s), %s, %s", cpus, why[p->why],
			 tcpus, p->priority ? "SCHED_FIFO" : "SCHED_OTHER",
			 drain);
	else
		snprintf(buf, len, "CPU %s (%s), %s, %s", cpus, why[p->why],
			 p->priority ? "SCHED_FIFO" : "SCHED_OTHER", drain);
	if (p->priority) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, " (SCHED_FIFO %d)", p->priority);
	}
}

static void parse_task(pid_t tid, struct monitor_cost *c)
{
	char path[96], buf[4096], *line;
	unsigned long long a, b, n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	if (read_small(path, buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%llu %llu %llu", &a, &b, &n) == 3) {
		c->have_schedstat = true;
		c->cpu_ns += a;
		c->timeslices += n;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return;
	for (line = buf; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &a) == 1)
			c->voluntary += a;
		else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &a) == 1)
			c->involuntary += a;
	}
}

void monitor_cost_read(struct monitor_cost *c)
{
	struct dirent *de;
	DIR *d;

	memset(c, 0, sizeof(*c));
	c->at_ns = now_ns();
	d = opendir("/proc/self/task");
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0)
			continue;
		parse_task(tid, c);
		c->threads++;
	}
	closedir(d);
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void monitor_cost_delta(const struct monitor_cost *start,
			const struct monitor_cost *end, struct monitor_cost *d)
{
	d->threads = end->threads;
	d->have_schedstat = end->have_schedstat;
	d->cpu_ns = sub(end->cpu_ns, start->cpu_ns);
	d->timeslices = sub(end->timeslices, start->timeslices);
	d->voluntary = sub(end->voluntary, start->voluntary);
	d->involuntary = sub(end->involuntary, start->involuntary);
	d->at_ns = sub(end->at_ns, start->at_ns);
}

void monitor_print(const struct placement *p, const struct monitor_cost *d,
		   FILE *f)
{
	char where[512];

	placement_describe(p, where, sizeof(where));
	fprintf(f, "monitor: pid %d on %s\n", (int)p->pid, where);
	fprintf(f, "monitor cost over %.3f s (its %u threads, from /proc/self/task/*/status%s): %llu wake-ups, %llu preemptions",
		(double)d->at_ns / 1e9, d->threads,
		d->have_schedstat ? " and schedstat" : "",
		(unsigned long long)d->voluntary,
		(unsigned long long)d->involuntary);
	if (d->have_schedstat)
		fprintf(f, ", %llu times on a CPU, %.3f ms CPU time\n",
			(unsigned long long)d->timeslices,
			(double)d->cpu_ns / 1e6);
	else
		fprintf(f, "; CPU time unsupported (no /proc/self/task/TID/schedstat: CONFIG_SCHED_INFO off)\n");
}

void monitor_print_json(const struct placement *p,
			const struct monitor_cost *d)
{
	static const char *const why[] = {
		[PLACE_USER] = "user",
		[PLACE_OUTSIDE_TARGETS] = "outside_targets",
		[PLACE_OUTSIDE_PINNED] = "outside_pinned_targets",
		[PLACE_HOUSEKEEPING] = "housekeeping",
		[PLACE_SHARED] = "shared",
	};
	char cpus[256];

	format_cpu_list(&p->cpus, cpus, sizeof(cpus));
	printf("\"monitor\": {\"pid\": %d, \"cpus\": ", (int)p->pid);
	json_string(cpus);
	printf(", \"placement\": \"%s\", \"policy\": \"%s\", \"priority\": %d, \"drain_interval_us\": %u, \"threads\": %u, \"window_s\": %.6f, \"wakeups\": %llu, \"preemptions\": %llu, ",
	       why[p->why], p->priority ? "fifo" : "other", p->priority,
	       p->drain_us, d->threads, (double)d->at_ns / 1e9,
	       (unsigned long long)d->voluntary,
	       (unsigned long long)d->involuntary);
	if (d->have_schedstat)
		printf("\"timeslices\": %llu, \"cpu_time_us\": %.3f}",
		       (unsigned long long)d->timeslices,
		       (double)d->cpu_ns / 1e3);
	else
		printf("\"timeslices\": null, \"cpu_time_us\": null}");
}
