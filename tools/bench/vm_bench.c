// SPDX-License-Identifier: GPL-2.0
/*
 * vm_bench: the overhead figures, measured in one VM boot. Two threads
 * pinned to CPU 0 pass a byte over a pipe (the ping-pong); its round
 * trips per second are measured with nothing watching, with hftmon
 * running but tracking another (sleeping) process, with hftmon tracking
 * the ping-pong (drained from CPU 1 while it runs), and with ftrace
 * recording sched_switch + sched_wakeup (all tasks, its default). Two
 * modes add the interruption and spike probes (a session of their own:
 * HFTMON_EV_IRQ_ALL, spikes at --spike-us and HFTMON_EV_RUNQ, as `hftmon
 * spikes` asks for them): tracking the ping-pong,
 * and tracking only the sleeper, where CPU 0 runs nothing tracked and
 * each of its interruptions costs the probes one check. Kernel stacks
 * are measured at every switch-out and for switches of 100 us or more
 * only (unwound at their switch-in: the ping-pong's switches are all
 * shorter, so that mode pays the bookkeeping alone). Each trial also
 * counts CPU 0's interrupts and softirqs (/proc), to say how many such
 * events the ping-pong's CPU took a second, and apart its irq_work ones
 * (IWI: the module wakes a ring's readers at a spike through one). In every
 * mode the bench itself wakes on CPU 1 each millisecond (and drains when
 * hftmon runs), so only the monitoring differs. Trials are interleaved and the
 * median of each kept; slowdowns are printed as ratios to the baseline.
 * With --perf PERF (tools/bench/perf-bundle.sh's perf.sh: the VM has no
 * perf of its own), perf on the same ping-pong, also drained from CPU 1:
 * `perf stat` counting sched_switch and sched_wakeup, and `perf record` of
 * them without and with -g (call chains, kernel and user), each of CPU 0
 * (-C 0: per-CPU events, as ftrace) and of the ping-pong's threads (-p:
 * per-task events, which perf switches with the tasks); and `perf stat`
 * of the PMU mode's two counters (page faults, cpu clock), -C 0 and -p.
 * perf attaches before the round trips start, its events disabled,
 * and the trial's clock starts once it acknowledged enabling them (its
 * --control fifos), so its start-up is not measured.
 * Hardware counters (instructions, cycles) read at every switch of the
 * ping-pong, where the kernel makes them (arm64 under -icount; refused
 * under x86 TCG, which the mode then says), beside software ones and
 * beside what `perf stat -e instructions,cycles -p` has the kernel do:
 * perf_event_open(2) counters on each of the ping-pong's threads, read
 * once at the end. --pmu-only runs just those modes, the baseline and
 * the plain tracked one, every hftmon session drained after its trial
 * (make bench-vm-arm64: see pmu_only).
 * Prints figures only: nothing here asserts a time.
 *   vm_bench [--rounds N] [--trials T] [--spike-us U] [--perf PERF]
 *            [--pmu-only]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <hftmon.h>

#include "../workload/pingpong.h"

enum mode { BASELINE, HFTMON_UNTRACKED, IRQ_SPIKE_UNTRACKED, HFTMON_TRACKED,
	    HFTMON_TRACKED_LATE, IRQ_SPIKE_TRACKED, HFTMON_KSTACKS,
	    HFTMON_KSTACKS_MIN, HFTMON_USTACKS, HFTMON_STACKS, HFTMON_PMU,
	    HFTMON_PMU_HW, PERF_EVENT_HW, FTRACE, PERF_STAT_CPU, PERF_RECORD_CPU,
	    PERF_RECORD_G_CPU, PERF_STAT, PERF_RECORD, PERF_RECORD_G,
	    PERF_STAT_PMU_CPU, PERF_STAT_PMU, NR_MODES };
static const char *const mode_name[NR_MODES] = {
	"baseline (nothing)", "hftmon, other process tracked",
	"hftmon + irq/spike, other process tracked",
	"hftmon, ping-pong tracked", "hftmon, tracked, drained after",
	"hftmon, tracked + irq/spike probes",
	"hftmon, tracked + kernel stacks",
	"hftmon, tracked + kernel stacks >= 100 us", "hftmon, tracked + user stacks",
	"hftmon, tracked + kernel/user stacks",
	"hftmon, tracked + PMU (faults, cpu clock)",
	"hftmon, tracked + PMU (instructions, cycles)",
	"perf_event_open -p instructions, cycles",
	"ftrace sched_switch+wakeup",
	"perf stat -C 0 sched_switch+wakeup",
	"perf record -C 0 sched_switch+wakeup",
	"perf record -g -C 0 sched_switch+wakeup",
	"perf stat -p sched_switch+wakeup",
	"perf record -p sched_switch+wakeup",
	"perf record -g -p sched_switch+wakeup",
	"perf stat -C 0 page-faults,cpu-clock",
	"perf stat -p page-faults,cpu-clock",
};

/* --perf: how to run perf in this VM; NULL = the perf modes are skipped. */
static const char *perf_cmd;
/*
 * --pmu-only: only the modes the PMU's figures are measured against, and
 * hftmon drained after each trial: under -icount shift=0 the one virtual
 * clock advances with every vCPU's instructions, so a reader on CPU 1
 * would be timed with the ping-pong (perf_event_open's is read after).
 */
static int pmu_only;
/* Why the hardware counters' modes cannot run here (-errno), or 0. */
static int hw_refused, perf_hw_refused;

static int perf_mode(enum mode m)
{
	return m >= PERF_STAT_CPU && m <= PERF_STAT_PMU;
}

/* perf's target: CPU 0, all of it (as ftrace), or the ping-pong's threads. */
static int perf_cpu_wide(enum mode m)
{
	return m == PERF_STAT_CPU || m == PERF_RECORD_CPU ||
	       m == PERF_RECORD_G_CPU || m == PERF_STAT_PMU_CPU;
}

static int perf_stat_mode(enum mode m)
{
	return m == PERF_STAT_CPU || m == PERF_STAT || m == PERF_STAT_PMU_CPU ||
	       m == PERF_STAT_PMU;
}

/* perf stat of the counters HFTMON_PMU reads, instead of the tracepoints. */
static int perf_pmu_mode(enum mode m)
{
	return m == PERF_STAT_PMU_CPU || m == PERF_STAT_PMU;
}

static int tracked(enum mode m)
{
	return m == HFTMON_TRACKED || m == HFTMON_TRACKED_LATE ||
	       m == IRQ_SPIKE_TRACKED || m == HFTMON_KSTACKS ||
	       m == HFTMON_KSTACKS_MIN || m == HFTMON_USTACKS ||
	       m == HFTMON_STACKS || m == HFTMON_PMU || m == HFTMON_PMU_HW;
}

/* The modes of the session with the interruption and spike probes. */
static int irq_mode(enum mode m)
{
	return m == IRQ_SPIKE_TRACKED || m == IRQ_SPIKE_UNTRACKED;
}

static int monitored(enum mode m)
{
	return tracked(m) || m == HFTMON_UNTRACKED || m == IRQ_SPIKE_UNTRACKED;
}

/* Why mode m is not measured in this run, or NULL: it is. */
static const char *skipped(enum mode m)
{
	static char why[128];

	if (pmu_only && m != BASELINE && m != HFTMON_TRACKED &&
	    m != HFTMON_PMU && m != HFTMON_PMU_HW && m != PERF_EVENT_HW)
		return "";
	if (perf_mode(m) && !perf_cmd)
		return "not measured: no --perf";
	if ((m == HFTMON_PMU_HW && hw_refused) ||
	    (m == PERF_EVENT_HW && perf_hw_refused)) {
		snprintf(why, sizeof(why), "not measured: the kernel refused the counters: %s",
			 strerror(m == HFTMON_PMU_HW ? -hw_refused : -perf_hw_refused));
		return why;
	}
	return NULL;
}

static int perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
			   int group, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group, flags);
}

/*
 * What `perf stat -e instructions,cycles -p PID` has the kernel do: a
 * counter of each event on each of PID's threads (any CPU, counting from
 * now, kernel mode too as root's), read once at the end. Its fds into
 * fd[] (2 per thread, at most max), their number or -errno.
 */
static int perf_hw_open(pid_t pid, int *fd, int max)
{
	static const unsigned long long cfg[2] = { PERF_COUNT_HW_INSTRUCTIONS,
						   PERF_COUNT_HW_CPU_CYCLES };
	char path[64];
	struct dirent *e;
	int n = 0, i, err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		for (i = 0; tid > 0 && i < 2 && !err; i++) {
			struct perf_event_attr a = {
				.type = PERF_TYPE_HARDWARE, .size = sizeof(a),
				.config = cfg[i],
			};

			if (n == max)
				err = -E2BIG;
			else if ((fd[n] = perf_event_open(&a, tid, -1, -1,
							  PERF_FLAG_FD_CLOEXEC)) < 0)
				err = -errno;
			else
				n++;
		}
	}
	closedir(d);
	if (err)
		while (n)
			close(fd[--n]);
	return err ?: n;
}

/* Whether this kernel makes such counters at all: 0 or -errno. */
static int perf_hw_probe(void)
{
	int fd[2 * 64], n = perf_hw_open(getpid(), fd, 2 * 64);

	while (n > 0)
		close(fd[--n]);
	return n;
}

#define TRACEFS "/sys/kernel/tracing/"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int put(const char *file, const char *val)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), TRACEFS "%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

static int ftrace(int on)
{
	const char *v = on ? "1" : "0";
	int err = 0;

	if (on)
		err |= put("trace", "");
	err |= put("events/sched/sched_switch/enable", v);
	err |= put("events/sched/sched_wakeup/enable", v);
	err |= put("tracing_on", v);
	return err;
}

struct hm {
	struct hftmon *m;
	struct hftmon *mi;	/* the interruption and spike session */
	struct hftmon *mp;	/* the session with PMU counters */
	struct hftmon *mh;	/* the one with hardware counters */
	unsigned long records, irq_records, spikes;
	/* The hardware counters' sums over the last trial of each. */
	unsigned long long hw_insns[2], hw_cycles[2];
};

/* Since each session was configured: every trial. */
static unsigned long long lost(struct hftmon *m)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };

	return hftmon_get_stats(m, &sum, NULL, 0) ? 0 : sum.lost_total;
}

static int count_rec(void *ctx, const struct hftmon_rec_hdr *h)
{
	struct hm *hm = ctx;

	hm->records++;
	if (h->type == HFTMON_REC_IRQ || h->type == HFTMON_REC_SOFTIRQ)
		hm->irq_records++;
	else if (h->type == HFTMON_REC_SPIKE)
		hm->spikes++;
	return 0;
}

/*
 * CPU 0's column of /proc/interrupts or /proc/softirqs, summed over the
 * rows that have one per CPU (ERR and MIS have a single total), or only
 * row label's.
 */
static unsigned long long cpu0_count(const char *path, const char *label)
{
	unsigned long long sum = 0, v0 = 0;
	char line[4096];
	FILE *f = fopen(path, "r");
	int ncpu = 0;

	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f)) {
		char *p = line;

		while ((p = strstr(p, "CPU"))) {
			ncpu++;
			p += 3;
		}
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *end;
		int c;

		if (!p)
			continue;
		*p++ = 0;
		if (label && strcmp(line + strspn(line, " "), label))
			continue;
		for (c = 0; c < ncpu; c++) {
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			if (!c)
				v0 = v;
			p = end;
		}
		if (ncpu && c == ncpu)
			sum += v0;
	}
	fclose(f);
	return sum;
}

struct cpu0 {
	unsigned long long irqs, iwi, softirqs;
};

static void cpu0_snap(struct cpu0 *c)
{
	c->irqs = cpu0_count("/proc/interrupts", NULL);
	c->iwi = cpu0_count("/proc/interrupts", "IWI");
	c->softirqs = cpu0_count("/proc/softirqs", NULL);
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

#define PERF_CTL "/tmp/vm_bench-perf.ctl"
#define PERF_ACK "/tmp/vm_bench-perf.ack"
#define PERF_OUT "/tmp/vm_bench-perf.data"

/*
 * perf on pid's threads, pinned to CPU 1, its events enabled once it says
 * so: its pid, or -1. Its own messages go to /tmp/vm_bench-perf.log.
 */
static pid_t perf_start(enum mode mode, pid_t pid)
{
	char pidstr[16], ack[4];
	struct pollfd pfd;
	int ctl = -1, i;
	pid_t child;

	unlink(PERF_CTL);
	unlink(PERF_ACK);
	if (mkfifo(PERF_CTL, 0600) || mkfifo(PERF_ACK, 0600))
		return -1;
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		const char *ctl_arg = "fifo:" PERF_CTL "," PERF_ACK;
		int log = open("/tmp/vm_bench-perf.log",
			       O_WRONLY | O_CREAT | O_APPEND, 0600);

		pin_self(1);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		const char *tflag = perf_cpu_wide(mode) ? "-C" : "-p";
		const char *target = perf_cpu_wide(mode) ? "0" : pidstr;
		int g = mode == PERF_RECORD_G || mode == PERF_RECORD_G_CPU;

		if (perf_pmu_mode(mode))
			execl(perf_cmd, perf_cmd, "stat", "-e", "page-faults",
			      "-e", "cpu-clock", tflag, target, "-D", "-1",
			      "--control", ctl_arg, "-o", PERF_OUT, (char *)NULL);
		else if (perf_stat_mode(mode))
			execl(perf_cmd, perf_cmd, "stat", "-e", "sched:sched_switch",
			      "-e", "sched:sched_wakeup", tflag, target, "-D", "-1",
			      "--control", ctl_arg, "-o", PERF_OUT, (char *)NULL);
		else
			execl(perf_cmd, perf_cmd, "record", "-q", "-N", "-B",
			      "-e", "sched:sched_switch", "-e", "sched:sched_wakeup",
			      tflag, target, "-D", "-1", "--control", ctl_arg,
			      "-o", PERF_OUT, g ? "-g" : "-q", (char *)NULL);
		_exit(127);
	}
	/* perf opens the control fifo when it is ready; give it 20 s. */
	for (i = 0; i < 2000 && ctl < 0; i++) {
		ctl = open(PERF_CTL, O_WRONLY | O_NONBLOCK);
		if (ctl < 0) {
			if (waitpid(child, NULL, WNOHANG) == child)
				return -1;
			usleep(10000);
		}
	}
	/* O_RDWR: never a hang-up before perf opened its end. */
	pfd.fd = open(PERF_ACK, O_RDWR | O_NONBLOCK);
	pfd.events = POLLIN;
	if (ctl < 0 || pfd.fd < 0 || write(ctl, "enable\n", 7) != 7 ||
	    poll(&pfd, 1, 20000) != 1 || read(pfd.fd, ack, 3) != 3 ||
	    memcmp(ack, "ack", 3)) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	if (ctl >= 0)
		close(ctl);
	if (pfd.fd >= 0)
		close(pfd.fd);
	return child;
}

/* What perf stat counted of event (its -o file), or -1. */
static long long perf_stat_count(const char *event)
{
	char line[512];
	long long n = -1;
	FILE *f = fopen(PERF_OUT, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *e = strstr(line, event);

		if (e && n < 0) {
			char *d, *w;

			/* "  40,012      sched:sched_switch": digits, commas dropped */
			for (d = w = line; d < e; d++)
				if (*d >= '0' && *d <= '9')
					*w++ = *d;
			*w = 0;
			if (w > line)
				n = strtoll(line, NULL, 10);
		}
	}
	fclose(f);
	return n;
}

/* perf stat's count of the last trial's sched_switch, for the summary. */
static long long perf_stat_switches = -1;

/*
 * Ends perf as Ctrl-C would: it writes its file (untimed) and then dies
 * of the SIGINT itself (perf re-raises it). It must have written one.
 */
static int perf_stop(pid_t child, enum mode mode)
{
	struct stat sb;
	int st, wrote;

	kill(child, SIGINT);
	if (waitpid(child, &st, 0) != child)
		return -1;
	if (mode == PERF_STAT)
		perf_stat_switches = perf_stat_count("sched:sched_switch");
	wrote = !stat(PERF_OUT, &sb) && sb.st_size > 0;
	unlink(PERF_OUT);
	if (wrote && ((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
		      (WIFSIGNALED(st) && WTERMSIG(st) == SIGINT)))
		return 0;
	fprintf(stderr, "vm_bench: perf ended with %s %d%s (see /tmp/vm_bench-perf.log)\n",
		WIFEXITED(st) ? "status" : "signal",
		WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
		wrote ? "" : ", no " PERF_OUT);
	return -1;
}

/* The ping-pong's instructions and cycles, as hftmon counted them. */
static void hw_totals(struct hftmon *m, pid_t pid, struct hm *hm)
{
	struct hftmon_pmu_query q = { .sz = sizeof(q), .pid = pid };
	struct hftmon_pmu_totals t[4];
	int n, i;

	t[0].sz = sizeof(t[0]);
	n = hftmon_get_pmu_totals(m, &q, t, 4);
	for (i = 0; i < n && i < 4; i++) {
		if (t[i].c[0].state == HFTMON_PMU_MEASURED)
			hm->hw_insns[0] += t[i].c[0].value;
		if (t[i].c[1].state == HFTMON_PMU_MEASURED)
			hm->hw_cycles[0] += t[i].c[1].value;
	}
}

/* CPU 0's events a second during a trial. */
struct rates {
	double irqs, iwi, softirqs;
};

/*
 * One trial: round trips per second, or a negative value on failure;
 * CPU 0's interrupts, irq_work interrupts and softirqs a second into *r.
 */
static double trial(enum mode mode, long rounds, pid_t sleeper, struct hm *hm,
		    struct rates *r)
{
	struct hftmon *m = irq_mode(mode) ? hm->mi :
			   mode == HFTMON_PMU ? hm->mp :
			   mode == HFTMON_PMU_HW ? hm->mh : hm->m;
	struct cpu0 c0, c1;
	struct pingpong pp;
	pid_t perf = -1;
	int hw_fd[8], nr_hw = 0, i;
	double t0, t1;

	if (pingpong_spawn(&pp, PINGPONG_THREADS, rounds, 0))
		return -1;
	if (monitored(mode)) {
		pid_t who = tracked(mode) ? pp.pid[0] : sleeper;
		struct hftmon_attach_opts ao = {
			.sz = sizeof(ao),
			.kernel_stacks = mode == HFTMON_STACKS || mode == HFTMON_KSTACKS ||
					 mode == HFTMON_KSTACKS_MIN,
			/* Only the switches that long: unwound at their switch-in. */
			.kernel_stacks_min_us = mode == HFTMON_KSTACKS_MIN ? 100 : 0,
			.user_stacks = mode == HFTMON_STACKS || mode == HFTMON_USTACKS,
		};

		if (hftmon_attach_process(m, who, &ao) || hftmon_start(m))
			return -1;
	}
	if (mode == FTRACE && ftrace(1))
		return -1;
	if (mode == PERF_EVENT_HW) {
		nr_hw = perf_hw_open(pp.pid[0], hw_fd, 8);
		if (nr_hw < 0) {
			fprintf(stderr, "vm_bench: perf_event_open: %s\n",
				strerror(-nr_hw));
			return -1;
		}
	}
	if (perf_mode(mode)) {
		perf = perf_start(mode, pp.pid[0]);
		if (perf < 0) {
			fprintf(stderr, "vm_bench: %s did not start (see /tmp/vm_bench-perf.log)\n",
				perf_cmd);
			return -1;
		}
	}
	usleep(50000);

	cpu0_snap(&c0);
	t0 = now_s();
	if (pingpong_go(&pp))
		return -1;
	{
		struct pollfd pfd = { .fd = pp.done_r, .events = POLLIN };

		/*
		 * The same loop on CPU 1 in every mode, so only the monitoring
		 * differs: wake every millisecond, drain when hftmon runs.
		 */
		while (poll(&pfd, 1, 1) == 0)
			if (mode != BASELINE && mode != FTRACE &&
			    mode != HFTMON_TRACKED_LATE && !pmu_only)
				hftmon_drain(m, count_rec, hm);
	}
	if (pingpong_wait_done(&pp))
		return -1;
	t1 = now_s();
	cpu0_snap(&c1);
	r->irqs = (c1.irqs - c0.irqs) / (t1 - t0);
	r->iwi = (c1.iwi - c0.iwi) / (t1 - t0);
	r->softirqs = (c1.softirqs - c0.softirqs) / (t1 - t0);

	if (mode == FTRACE)
		ftrace(0);
	for (i = 0; i < nr_hw; i++) {
		unsigned long long v = 0;

		if (read(hw_fd[i], &v, sizeof(v)) == sizeof(v))
			*(i % 2 ? &hm->hw_cycles[1] : &hm->hw_insns[1]) += v;
		close(hw_fd[i]);
	}
	if (perf >= 0 && perf_stop(perf, mode))
		return -1;
	if (monitored(mode)) {
		pid_t who = tracked(mode) ? pp.pid[0] : sleeper;

		hftmon_stop(m);
		hftmon_drain(m, count_rec, hm);
		if (mode == HFTMON_PMU_HW)
			hw_totals(m, who, hm);
		hftmon_detach_process(m, who);
	}
	if (pingpong_finish(&pp))
		return -1;
	return rounds / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	/* 16 MiB a CPU: a whole trial fits when drained only after it. */
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 4096 };
	struct hftmon_monitor_config icfg = {
		.sz = sizeof(icfg), .ring_pages = 4096,
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL | HFTMON_EV_RUNQ,
	};
	/*
	 * Two software counters read at every switch of the ping-pong (a
	 * hardware one is refused under x86 TCG): the PMU family's probe
	 * beside the sched family's, the same records otherwise.
	 */
	static const struct hftmon_pmu_counter counters[2] = {
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_SOFTWARE,
		  .config = PERF_COUNT_SW_PAGE_FAULTS },
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_SOFTWARE,
		  .config = PERF_COUNT_SW_CPU_CLOCK },
	};
	struct hftmon_monitor_config pcfg = {
		.sz = sizeof(pcfg), .ring_pages = 4096,
		.pmu_counters = counters, .nr_pmu_counters = 2,
	};
	/* And two hardware ones (arm64 under -icount counts them exactly). */
	static const struct hftmon_pmu_counter hw_counters[2] = {
		{ .sz = sizeof(hw_counters[0]), .type = PERF_TYPE_HARDWARE,
		  .config = PERF_COUNT_HW_INSTRUCTIONS },
		{ .sz = sizeof(hw_counters[0]), .type = PERF_TYPE_HARDWARE,
		  .config = PERF_COUNT_HW_CPU_CYCLES },
	};
	struct hftmon_monitor_config hcfg = {
		.sz = sizeof(hcfg), .ring_pages = 4096,
		.pmu_counters = hw_counters, .nr_pmu_counters = 2,
	};
	int hw_status[2];
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'n' },
		{ "trials", required_argument, NULL, 't' },
		{ "spike-us", required_argument, NULL, 's' },
		{ "perf", required_argument, NULL, 'p' },
		{ "pmu-only", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	long rounds = 10000;
	unsigned long long spike_us = 50;
	int trials = 15, c, i, t, err;
	double rate[NR_MODES][64] = { { 0 } }, med[NR_MODES];
	double irqs[NR_MODES][64] = { { 0 } }, iwis[NR_MODES][64] = { { 0 } };
	double softs[NR_MODES][64] = { { 0 } };
	struct hm hm = { 0 };
	int gate[2];
	pid_t sleeper;

	while ((c = getopt_long(argc, argv, "n:t:s:p:", opts, NULL)) != -1) {
		if (c == 'n')
			rounds = strtol(optarg, NULL, 0);
		else if (c == 't')
			trials = atoi(optarg);
		else if (c == 's')
			spike_us = strtoull(optarg, NULL, 0);
		else if (c == 'p')
			perf_cmd = optarg;
		else if (c == 'P')
			pmu_only = 1;
		else
			return 2;
	}
	if (rounds <= 0 || trials < 1 || trials > 64 || !spike_us) {
		fprintf(stderr, "vm_bench: bad --rounds, --trials or --spike-us\n");
		return 2;
	}
	icfg.spike_threshold_us = spike_us;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pin_self(1);

	if (pipe(gate))
		return 1;
	sleeper = fork();
	if (sleeper == 0) {
		char ch;

		close(gate[1]);
		while (read(gate[0], &ch, 1) > 0)
			;
		_exit(0);
	}
	close(gate[0]);

	err = hftmon_open(NULL, &hm.m);
	if (!err)
		err = hftmon_configure(hm.m, &cfg);
	/* (Not on arm64, whose kernel has no x86 system vectors to hook.) */
	if (!err && !pmu_only)
		err = hftmon_open(NULL, &hm.mi);
	if (!err && !pmu_only)
		err = hftmon_configure(hm.mi, &icfg);
	if (!err)
		err = hftmon_open(NULL, &hm.mp);
	if (!err)
		err = hftmon_configure(hm.mp, &pcfg);
	if (!err)
		err = hftmon_open(NULL, &hm.mh);
	if (!err)
		err = hftmon_configure(hm.mh, &hcfg);
	if (!err && hftmon_get_pmu_status(hm.mh, hw_status, 2) == 2)
		hw_refused = hw_status[0] ?: hw_status[1];
	perf_hw_refused = perf_hw_probe();
	if (perf_hw_refused > 0)
		perf_hw_refused = 0;
	if (err) {
		fprintf(stderr, "vm_bench: hftmon: %s\n", strerror(-err));
		return 1;
	}

	for (t = 0; t < trials; t++) {
		for (i = 0; i < NR_MODES; i++) {
			struct rates r = { 0 };

			if (skipped(i))
				continue;
			rate[i][t] = trial(i, rounds, sleeper, &hm, &r);
			irqs[i][t] = r.irqs;
			iwis[i][t] = r.iwi;
			softs[i][t] = r.softirqs;
			if (rate[i][t] < 0) {
				fprintf(stderr, "vm_bench: trial %d of '%s' failed\n",
					t, mode_name[i]);
				return 1;
			}
		}
	}
	printf("ping-pong, two threads pinned to CPU 0, %ld round trips x %d trials (median)%s:\n",
	       rounds, trials, pmu_only ? ", hftmon drained after each trial" : "");
	for (i = 0; i < NR_MODES; i++) {
		qsort(rate[i], trials, sizeof(double), cmp_double);
		qsort(irqs[i], trials, sizeof(double), cmp_double);
		qsort(iwis[i], trials, sizeof(double), cmp_double);
		qsort(softs[i], trials, sizeof(double), cmp_double);
		med[i] = rate[i][trials / 2];
	}
	/*
	 * TCG timing is noisy: besides the median, the spread of the trials
	 * (as slowdowns against the baseline's median) says how far to
	 * trust a difference.
	 */
	for (i = 0; i < NR_MODES; i++)
		if (skipped(i)) {
			if (*skipped(i))
				printf("  %-43s %s\n", mode_name[i], skipped(i));
		} else {
			printf("  %-43s %9.0f round trips/s  slowdown %.3fx  (trials %.3f..%.3f)\n",
			       mode_name[i], med[i], med[BASELINE] / med[i],
			       med[BASELINE] / rate[i][trials - 1],
			       med[BASELINE] / rate[i][0]);
		}
	printf("  hftmon: %lu records over all trials (%lu interruptions, %lu spikes at %llu us), %llu lost\n",
	       hm.records, hm.irq_records, hm.spikes, spike_us,
	       lost(hm.m) + lost(hm.mi) + lost(hm.mp) + lost(hm.mh));
	/* The two ways of counting the same events: they should agree. */
	if (!skipped(HFTMON_PMU_HW) && !skipped(PERF_EVENT_HW))
		printf("  the ping-pong's instructions, cycles per round trip: hftmon %.0f, %.0f; perf_event_open %.0f, %.0f\n",
		       (double)hm.hw_insns[0] / trials / rounds,
		       (double)hm.hw_cycles[0] / trials / rounds,
		       (double)hm.hw_insns[1] / trials / rounds,
		       (double)hm.hw_cycles[1] / trials / rounds);
	if (perf_cmd)
		printf("  perf stat -p counted %lld sched_switch of the ping-pong's threads in its last trial (%ld round trips)\n",
		       perf_stat_switches, rounds);
	printf("  CPU 0 (the ping-pong's) took, a second (median of the trials):\n");
	for (i = 0; i < NR_MODES; i++)
		if (!skipped(i))
			printf("  %-43s %7.0f interrupts (%5.0f of them irq_work)  %5.0f softirqs\n",
			       mode_name[i], irqs[i][trials / 2], iwis[i][trials / 2],
			       softs[i][trials / 2]);
	hftmon_close(hm.mh);
	hftmon_close(hm.mp);
	hftmon_close(hm.mi);
	hftmon_close(hm.m);
	close(gate[1]);
	waitpid(sleeper, NULL, 0);
	return 0;
}
