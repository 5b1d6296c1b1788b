// SPDX-License-Identifier: GPL-2.0
/*
 * PMU sampling ticks (hftmon_monitor_config.sampling_interval_us), with
 * software events against the kernel's own accounting. A tracked worker
 * process pinned to CPU 1 (an untracked SCHED_IDLE spinner shares it, so
 * it never goes idle, see t_pmu_sw.c) blocks in read() between rounds;
 * in each round it spins SPIN_MS and touches PAGES new pages. The main
 * process (untracked, CPU 0) reads the worker's /proc stat (minflt +
 * majflt) and schedstat (run time) while it is blocked, before and after
 * the round. At 1 ms, 100 us, 10 us and 1 us requested:
 * - the library's totals of the round (a session each) report the
 *   interval requested, and the ticks and mean achieved interval equal
 *   what the raw records of the same span show (counted here from the
 *   drain callback: HFTMON_PMU_TICK records, time_ns - start_ns);
 * - each tick record starts where the previous read of its slice ended
 *   (switch-in or previous tick), so ticks and slice ends add up to the
 *   slice: page faults equal the /proc delta exactly, cpu clock the
 *   schedstat run time within t_pmu_sw's slack;
 * - no tick record of an untracked task, or on CPU 0, where no tracked
 *   thread runs;
 * - the timer fires only in tracked slices: the kernel's own
 *   timer:hrtimer_expire_entry events of hftmon_pmu_tick (tracefs) in the
 *   round equal the tick records, as a tick that finds no slice records
 *   nothing (a timer left armed at switch-out would fire once more, on
 *   the spinner, unseen in the records);
 * - the achieved rates are printed, never asserted (TCG timing).
 * Bad input: sampling without counters, above 1 s, and (raw ioctl) below
 * 1 us: -EINVAL. Then CPU 1 goes offline and online again during a
 * session: no oops, and the worker's records on CPU 1 afterwards count
 * again (the cpuhp online callback made its counters afresh) and tick.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

#define ROUNDS		3
#define PAGES		32
#define SPIN_MS		40
/* As t_pmu_sw.c: per slice, the two ends' clock reads may lag by 1 ms. */
#define CPU_CLOCK_SLACK_NS	1000000ull

static int pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

struct worker {
	int go[2], done[2];
	pid_t pid;
};

/* The worker process: a round per byte on go, 'q' to end. */
static void worker_main(struct worker *w)
{
	long page = sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, (size_t)64 * PAGES * page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r, p;
	char c;

	if (mem == MAP_FAILED || pin(0, 1))
		_exit(1);
	madvise(mem, (size_t)64 * PAGES * page, MADV_NOHUGEPAGE);
	for (r = 0; r < 64; r++) {
		uint64_t end;

		if (read(w->go[0], &c, 1) != 1 || c == 'q')
			_exit(0);
		end = mono_ns() + SPIN_MS * 1000000ull;
		for (p = 0; mono_ns() < end;)
			if (p < PAGES)
				mem[((long)r * PAGES + p++) * page] = 1;
		if (write(w->done[1], &c, 1) != 1)
			_exit(1);
	}
	_exit(0);
}

/* Blocked: state S and run time unchanged over 2 ms (vmtest.h). */
static int wait_blocked(pid_t pid, unsigned long long *faults,
			unsigned long long *run_ns)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	return proc_wait_blocked(dir, NULL, pid, faults, run_ns);
}

/* What the raw records of the worker say: per round, and overall. */
struct round {
	uint64_t from, to;
	uint64_t ticks, tick_ns, slices, faults, clock;
};

struct raw {
	pid_t pid;
	unsigned int nr;
	struct round rd[ROUNDS];
	long bad, unchained, foreign_ticks, cpu0_ticks, ticks, outside;
	/* Hotplug phase: the worker's records on CPU 1 from after on. */
	uint64_t after;
	long after_counted, after_missed, after_ticks;
	int32_t last_err;
	/* Per CPU: the time the worker's last tick there ended, 0 none. */
	uint64_t prev_tick_end[64];
};

static int on_record(void *ctx, const struct hftmon_rec_hdr *h)
{
	const struct hftmon_rec_pmu *p = (const void *)h;
	struct raw *s = ctx;
	struct round *rd;
	unsigned int r;
	bool tick;

	if (h->type != HFTMON_REC_PMU)
		return 0;
	tick = h->flags & HFTMON_PMU_TICK;
	if (tick && h->pid != s->pid)
		s->foreign_ticks++;
	if (tick && h->cpu == 0)
		s->cpu0_ticks++;
	if (h->pid != s->pid)
		return 0;
	s->ticks += tick;
	if (p->nr != 2 || p->start_ns > h->time_ns) {
		if (s->bad++ < 5)
			INFO("bad PMU record: nr %u, start %llu > end %llu",
			     p->nr, (unsigned long long)p->start_ns,
			     (unsigned long long)h->time_ns);
		return 0;
	}
	if (s->after && h->cpu == 1 && p->start_ns >= s->after) {
		if (p->v[0].status || p->v[1].status) {
			s->after_missed++;
			s->last_err = p->v[0].status ? p->v[0].status :
						       p->v[1].status;
		} else {
			s->after_counted++;
		}
		s->after_ticks += tick;
	}
	if (h->cpu < 64) {
		/* A part that follows a tick starts at that tick's read. */
		if (s->prev_tick_end[h->cpu] &&
		    p->start_ns != s->prev_tick_end[h->cpu])
			s->unchained++;
		s->prev_tick_end[h->cpu] = tick ? h->time_ns : 0;
	}
	for (r = 0; r < s->nr; r++)
		if (p->start_ns >= s->rd[r].from && h->time_ns <= s->rd[r].to)
			break;
	if (r == s->nr) {
		/* The session's, outside every round: none expected; 3 printed. */
		if (!s->after && s->outside++ < 3)
			INFO("a slice part outside the round: cpu %u, %llu..%llu ns (round %llu..%llu), faults %llu, clock %llu",
			     h->cpu, (unsigned long long)p->start_ns,
			     (unsigned long long)h->time_ns,
			     (unsigned long long)s->rd[0].from,
			     (unsigned long long)s->rd[0].to,
			     (unsigned long long)p->v[0].delta,
			     (unsigned long long)p->v[1].delta);
		return 0;
	}
	rd = &s->rd[r];
	if (p->v[0].status || p->v[1].status) {
		if (s->bad++ < 5)
			INFO("PMU record of round %u: status %d %d", r,
			     p->v[0].status, p->v[1].status);
		return 0;
	}
	if (tick) {
		rd->ticks++;
		rd->tick_ns += h->time_ns - p->start_ns;
	} else {
		rd->slices++;
	}
	rd->faults += p->v[0].delta;
	rd->clock += p->v[1].delta;
	return 0;
}

static const struct hftmon_pmu_counter counters[2] = {
	{ .sz = sizeof(counters[0]), .type = PERF_TYPE_SOFTWARE,
	  .config = PERF_COUNT_SW_PAGE_FAULTS },
	{ .sz = sizeof(counters[0]), .type = PERF_TYPE_SOFTWARE,
	  .config = PERF_COUNT_SW_CPU_CLOCK },
};

static struct hftmon *session(uint32_t interval_us, pid_t pid)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 1024,
		.sampling_interval_us = interval_us,
		.pmu_counters = counters, .nr_pmu_counters = 2,
	};
	struct hftmon *m;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure at %u us",
		interval_us);
	REQUIRE(hftmon_attach_process(m, pid, NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	return m;
}

#define TRACEFS "/sys/kernel/tracing/"

static int trace_put(const char *file, const char *val)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), TRACEFS "%s", file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -EIO;
}

/* The trace buffer emptied and hrtimer expiries recorded from now on. */
static int expiries_start(void)
{
	int err = trace_put("events/timer/hrtimer_expire_entry/enable", "1");

	return err ?: trace_put("trace", "");
}

/*
 * The expiries of hftmon's tick (any CPU) since expiries_start(); -errno,
 * or -EOVERFLOW where the buffer could not keep every event.
 */
static long expiries_stop(void)
{
	long n = 0, kept = 0, written = 0;
	char line[512];
	FILE *f;

	if (trace_put("events/timer/hrtimer_expire_entry/enable", "0"))
		return -EIO;
	f = fopen(TRACEFS "trace", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (line[0] == '#')
			sscanf(line, "# entries-in-buffer/entries-written: %ld/%ld",
			       &kept, &written);
		else if (strstr(line, "function=hftmon_pmu_tick"))
			n++;
	fclose(f);
	trace_put("trace", "");
	return kept != written ? -EOVERFLOW : n;
}

static void round_trip(struct worker *w)
{
	char c = 'g';

	REQUIRE(write(w->go[1], &c, 1) == 1, "go");
	REQUIRE(read(w->done[0], &c, 1) == 1, "done");
}

/*
 * One interval: ROUNDS rounds, a session each, so the library's totals
 * since configure are the round's (at 1 us a round can hold more
 * records than the window history keeps, HFTMON_HISTORY_PMU_SLICES).
 */
static void run_interval(struct worker *w, uint32_t interval_us, bool is_rt)
{
	unsigned long long f0, f1, r0, r1;
	int r, n;

	for (r = 0; r < ROUNDS; r++) {
		struct hftmon *m = session(interval_us, w->pid);
		struct raw *s = calloc(1, sizeof(*s));
		struct hftmon_pmu_totals out[1] = { [0].sz = sizeof(out[0]) };
		struct hftmon_pmu_query q = { .sz = sizeof(q), .tid = w->pid };
		const struct round *rd;
		struct hftmon_stats_summary sum;
		uint64_t raw_mean, faults, run;
		long long diff;
		long expiries;

		REQUIRE(s, "calloc");
		s->pid = w->pid;
		s->nr = 1;
		rd = &s->rd[0];
		REQUIRE(wait_blocked(w->pid, &f0, &r0) == 0, "worker blocked");
		/* While the worker is blocked: no tick can be due. */
		REQUIRE(expiries_start() == 0, "tracefs: hrtimer_expire_entry");
		s->rd[0].from = mono_ns();
		round_trip(w);
		REQUIRE(wait_blocked(w->pid, &f1, &r1) == 0, "worker blocked");
		s->rd[0].to = mono_ns();
		expiries = expiries_stop();
		faults = f1 - f0;
		run = r1 - r0;
		REQUIRE(hftmon_stop(m) == 0, "stop");
		/* The raw stream through the callback, the aggregator behind it. */
		REQUIRE(hftmon_drain(m, on_record, s) >= 0, "drain");
		CHECK(!s->foreign_ticks,
		      "%u us round %d: %ld tick records of untracked tasks",
		      interval_us, r, s->foreign_ticks);
		CHECK(!s->cpu0_ticks,
		      "%u us round %d: %ld tick records on CPU 0, where no tracked thread runs",
		      interval_us, r, s->cpu0_ticks);
		CHECK(!s->unchained,
		      "%u us round %d: %ld records not starting at their slice's previous tick",
		      interval_us, r, s->unchained);
		CHECK(!s->bad, "%u us round %d: %ld bad PMU records",
		      interval_us, r, s->bad);
		CHECK(s->ticks == (long)rd->ticks,
		      "%u us round %d: %ld ticks, %llu of them in the round",
		      interval_us, r, s->ticks, (unsigned long long)rd->ticks);
		/* Every firing of the timer wrote a record, or counted it lost. */
		REQUIRE(hftmon_get_stats(m, &sum, NULL, 0) == 0, "stats");
		CHECK(expiries >= 0 &&
			      (uint64_t)expiries <= s->ticks + s->foreign_ticks +
							sum.lost_total &&
			      expiries >= s->ticks + s->foreign_ticks,
		      "%u us round %d: the tick timer fired %ld times (%s), %ld tick records, %llu records lost",
		      interval_us, r, expiries,
		      expiries < 0 ? strerror((int)-expiries) : "tracefs",
		      s->ticks + s->foreign_ticks,
		      (unsigned long long)sum.lost_total);
		raw_mean = rd->ticks ? rd->tick_ns / rd->ticks : 0;
		n = hftmon_get_pmu_totals(m, &q, out, 1);
		REQUIRE(n == 1, "%u us round %d: %d threads", interval_us, r, n);
		CHECK(out[0].interval_ns == interval_us * 1000ull,
		      "%u us: requested interval reported as %llu ns",
		      interval_us, (unsigned long long)out[0].interval_ns);
		CHECK(out[0].ticks > 0,
		      "%u us round %d: no tick in %d ms of spinning",
		      interval_us, r, SPIN_MS);
		CHECK(out[0].ticks == rd->ticks && out[0].slices == rd->slices,
		      "%u us round %d: library %llu ticks %llu slices, records %llu ticks %llu slices",
		      interval_us, r, (unsigned long long)out[0].ticks,
		      (unsigned long long)out[0].slices,
		      (unsigned long long)rd->ticks,
		      (unsigned long long)rd->slices);
		CHECK(out[0].tick_interval_ns == raw_mean,
		      "%u us round %d: library's achieved interval %llu ns, the records' %llu ns",
		      interval_us, r,
		      (unsigned long long)out[0].tick_interval_ns,
		      (unsigned long long)raw_mean);
		CHECK(out[0].c[0].value == faults && rd->faults == faults,
		      "%u us round %d: page faults %llu (library), %llu (records), /proc %llu",
		      interval_us, r, (unsigned long long)out[0].c[0].value,
		      (unsigned long long)rd->faults,
		      (unsigned long long)faults);
		CHECK(out[0].c[1].value == rd->clock,
		      "%u us round %d: cpu clock %llu (library), %llu (records)",
		      interval_us, r, (unsigned long long)out[0].c[1].value,
		      (unsigned long long)rd->clock);
		diff = (long long)rd->clock - (long long)run;
		if (is_rt && (unsigned long long)llabs(diff) >
				     rd->slices * CPU_CLOCK_SLACK_NS)
			INFO("PREEMPT_RT, %u us round %d: cpu clock %llu, run %llu ns over %llu slices (t_pmu_sw's known gap)",
			     interval_us, r, (unsigned long long)rd->clock,
			     (unsigned long long)run,
			     (unsigned long long)rd->slices);
		else
			CHECK((unsigned long long)llabs(diff) <=
				      rd->slices * CPU_CLOCK_SLACK_NS,
			      "%u us round %d: cpu clock %llu ns, schedstat run %llu ns over %llu slices",
			      interval_us, r, (unsigned long long)rd->clock,
			      (unsigned long long)run,
			      (unsigned long long)rd->slices);
		INFO("%u us requested, round %d: %llu ticks in %llu slices (the timer fired %ld times), achieved %llu ns (%.0f ticks per s of run time); faults %llu = /proc; clock - run %lld ns",
		     interval_us, r, (unsigned long long)rd->ticks,
		     (unsigned long long)rd->slices, expiries,
		     (unsigned long long)out[0].tick_interval_ns,
		     run ? 1e9 * (double)rd->ticks / (double)run : 0.0,
		     (unsigned long long)faults, diff);
		free(s);
		hftmon_close(m);
	}
}

/* Sampling without counters, above 1 s, below 1 us: -EINVAL. */
static void bad_input(void)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .sampling_interval_us = 100 };
	struct hftmon_config kc = { .size = sizeof(kc),
				    .events = HFTMON_EV_SWITCH | HFTMON_EV_PMU,
				    .nr_pmu = 1 };
	struct hftmon *m;
	int fd;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	CHECK(hftmon_configure(m, &cfg) == -EINVAL,
	      "sampling without counters accepted");
	cfg.pmu_counters = counters;
	cfg.nr_pmu_counters = 2;
	cfg.sampling_interval_us = 1000001;
	CHECK(hftmon_configure(m, &cfg) == -EINVAL,
	      "sampling every 1.000001 s accepted");
	hftmon_close(m);

	/* Below 1 us the library cannot say it; the module refuses it. */
	fd = open(HFTMON_DEVICE, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0, "open %s", HFTMON_DEVICE);
	kc.pmu[0].type = PERF_TYPE_SOFTWARE;
	kc.pmu[0].config = PERF_COUNT_SW_PAGE_FAULTS;
	kc.sample_interval_ns = HFTMON_SAMPLE_INTERVAL_MIN_NS - 1;
	CHECK(ioctl(fd, HFTMON_IOC_CONFIGURE, &kc) == -1 && errno == EINVAL,
	      "CONFIGURE with %llu ns accepted",
	      (unsigned long long)kc.sample_interval_ns);
	kc.sample_interval_ns = HFTMON_SAMPLE_INTERVAL_MAX_NS + 1;
	CHECK(ioctl(fd, HFTMON_IOC_CONFIGURE, &kc) == -1 && errno == EINVAL,
	      "CONFIGURE with %llu ns accepted",
	      (unsigned long long)kc.sample_interval_ns);
	kc.events = HFTMON_EV_SWITCH;
	kc.nr_pmu = 0;
	memset(kc.pmu, 0, sizeof(kc.pmu));
	kc.sample_interval_ns = HFTMON_SAMPLE_INTERVAL_MIN_NS;
	CHECK(ioctl(fd, HFTMON_IOC_CONFIGURE, &kc) == -1 && errno == EINVAL,
	      "CONFIGURE sampling without EV_PMU accepted");
	kc.events = HFTMON_EV_SWITCH | HFTMON_EV_PMU;
	kc.nr_pmu = 1;
	kc.pmu[0].type = PERF_TYPE_SOFTWARE;
	kc.pmu[0].config = PERF_COUNT_SW_PAGE_FAULTS;
	CHECK(ioctl(fd, HFTMON_IOC_CONFIGURE, &kc) == 0,
	      "CONFIGURE with 1 us refused: %s", strerror(errno));
	close(fd);
}

static int cpu1_online(int on)
{
	int fd = open("/sys/devices/system/cpu/cpu1/online", O_WRONLY);
	int ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, on ? "1" : "0", 1) == 1;
	close(fd);
	return ok ? 0 : -errno;
}

/*
 * CPU 1 offline and online again with the worker spinning under a
 * 100 us session: the offline callback releases its counters (the
 * worker's records elsewhere go on), the online one makes them again, so
 * the worker, back on CPU 1, counts and ticks there.
 */
static void hotplug(struct worker *w)
{
	struct hftmon *m = session(100, w->pid);
	struct raw *s = calloc(1, sizeof(*s));
	int err;

	REQUIRE(s, "calloc");
	s->pid = w->pid;
	round_trip(w);
	err = cpu1_online(0);
	if (err) {
		INFO("CPU 1 cannot go offline here (%s): hotplug not tested",
		     strerror(-err));
		goto out;
	}
	round_trip(w);		/* elsewhere, its affinity broken */
	REQUIRE(cpu1_online(1) == 0, "CPU 1 back online");
	REQUIRE(pin(w->pid, 1) == 0, "re-pin the worker to CPU 1");
	s->after = mono_ns();
	round_trip(w);
	round_trip(w);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	REQUIRE(hftmon_drain(m, on_record, s) >= 0, "drain");
	INFO("hotplug: after CPU 1 came back, %ld of the worker's records there counted, %ld did not (last %d), %ld ticks",
	     s->after_counted, s->after_missed, s->last_err, s->after_ticks);
	CHECK(s->after_counted > 0 && !s->after_missed,
	      "after CPU 1 came back: %ld records counted, %ld did not (%d)",
	      s->after_counted, s->after_missed, s->last_err);
	CHECK(s->after_ticks > 0, "after CPU 1 came back: no tick there");
	CHECK(!s->foreign_ticks && !s->unchained && !s->bad,
	      "hotplug: %ld foreign ticks, %ld unchained, %ld bad records",
	      s->foreign_ticks, s->unchained, s->bad);
out:
	free(s);
	hftmon_close(m);
}

int main(void)
{
	static const uint32_t intervals[] = { 1000, 100, 10, 1 };
	struct utsname u;
	bool is_rt = uname(&u) == 0 && strstr(u.version, "PREEMPT_RT");
	unsigned long long f, run;
	struct worker w;
	pid_t spinner;
	unsigned int i;
	char c = 'q';

	setvbuf(stdout, NULL, _IOLBF, 0);
	REQUIRE(sysconf(_SC_NPROCESSORS_ONLN) >= 2, "needs 2 CPUs");
	REQUIRE(pin(0, 0) == 0, "pin main to CPU 0");
	REQUIRE(pipe(w.go) == 0 && pipe(w.done) == 0, "pipe");
	spinner = fork();
	REQUIRE(spinner >= 0, "fork");
	if (spinner == 0) {
		struct sched_param sp = { 0 };

		if (pin(0, 1) || sched_setscheduler(0, SCHED_IDLE, &sp))
			_exit(1);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	w.pid = fork();
	REQUIRE(w.pid >= 0, "fork");
	if (w.pid == 0)
		worker_main(&w);
	/*
	 * Settled in its first read() before the first session: a session
	 * started while it still moved to CPU 1 had a slice of its start-up
	 * (0.49 ms, no fault) in the library's totals, before the round.
	 */
	REQUIRE(wait_blocked(w.pid, &f, &run) == 0, "worker blocked at start");

	for (i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++)
		run_interval(&w, intervals[i], is_rt);
	bad_input();
	hotplug(&w);

	REQUIRE(write(w.go[1], &c, 1) == 1, "quit");
	waitpid(w.pid, NULL, 0);
	kill(spinner, SIGKILL);
	waitpid(spinner, NULL, 0);
	return vmtest_result();
}
