// SPDX-License-Identifier: GPL-2.0
/*
 * Context switches and scheduling, against workloads whose behaviour is
 * known and the kernel's own counters:
 *  - a thread that sleeps 2 ms, 40 times: as many voluntary switches
 *    inside the sleeps as its own voluntary_ctxt_switches delta, at most
 *    one per sleep, each woken no earlier than the timer was due and
 *    running again before nanosleep() returned (the thread's own clock
 *    readings around each call); the minimum-duration query returns
 *    exactly the switches of 1 ms or more; each kernel stack through
 *    do_nanosleep (checked with our own /proc/kallsyms lookup), one stack
 *    id for the one call path;
 *  - two SCHED_OTHER spinners sharing CPU 0: involuntary switches, as
 *    many as the kernel's nonvoluntary_ctxt_switches delta;
 *  - a SCHED_FIFO thread that wakes every 5 ms and spins 200 µs on CPU 0
 *    preempts a SCHED_OTHER spinner: it is the spinner's "next" task,
 *    with its policy and priority, and the spinner is off CPU >= 200 µs;
 *  - per-thread scheduling info equals what the workload set with
 *    sched_setattr/sched_setaffinity/setpriority, and its CPU time and
 *    run delay lie between two reads of /proc/PID/task/TID/schedstat
 *    around the call, its migrations between two of se.nr_migrations
 *    (which the thread's own move makes at least 1);
 *  - the sleeper's switches from the queries equal those the test pairs
 *    itself from the raw records (all, and those of 1 ms or more);
 *  - the library's drain thread runs with the affinity and RT priority
 *    asked for.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

extern char __executable_start, etext;	/* the linker's: our text */

#define MAX_EVENTS 200000
static struct hftmon_switch_event ev[MAX_EVENTS];

/* Draining feeds the library's aggregator; the raw records are not needed. */
static int ignore(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = mono_ns() + ns;

	while (mono_ns() < end)
		;
}

/* ---- scenario 1: a 2 ms sleeper ----------------------------------------- */

/*
 * The sleeper's own switch-outs and switch-ins from the raw records, to
 * pair without the library: the expected answer of its queries.
 */
#define MAX_RAW 4096
struct raw_switches {
	pid_t tid;
	int n;
	struct { uint64_t t; int in; } ev[MAX_RAW];
};

static int raw_switch(void *ctx, const struct hftmon_rec_hdr *h)
{
	struct raw_switches *r = ctx;
	const struct hftmon_rec_switch *sw = (const void *)h;

	if (h->type != HFTMON_REC_SWITCH || r->n >= MAX_RAW)
		return 0;
	if (h->tid == r->tid)
		r->ev[r->n++] = (__typeof__(r->ev[0])){ h->time_ns, 0 };
	if (sw->next_tid == r->tid && r->n < MAX_RAW)
		r->ev[r->n++] = (__typeof__(r->ev[0])){ h->time_ns, 1 };
	return 0;
}

static int by_t(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Completed switches (an out, then the next in), and those >= min_ns. */
static int raw_pairs(struct raw_switches *r, uint64_t min_ns, int *n_long)
{
	int i, n = 0;

	qsort(r->ev, (size_t)r->n, sizeof(r->ev[0]), by_t);
	*n_long = 0;
	for (i = 0; i + 1 < r->n; i++)
		if (!r->ev[i].in && r->ev[i + 1].in) {
			n++;
			*n_long += r->ev[i + 1].t - r->ev[i].t >= min_ns;
		}
	return n;
}

#define SLEEPS 40
#define SLEEP_NS 2000000ull

/*
 * Each sleep's window as the thread saw it: [before, after] around the
 * nanosleep() call, on the clock hftmon stamps records with. A 2 ms
 * nanosleep() arms its timer after `before` and returns after it fired,
 * so the switch that blocks in it leaves the CPU inside the window, is
 * woken no earlier than before + 2 ms and runs again before `after`.
 * (Its off-CPU time alone may be under 2 ms: the timer is armed before the
 * switch-out, and a vCPU stalled by the host between the two can even
 * find it fired and not block at all.) Window 0 is the 100 ms sleep
 * before the loop. The thread reads its own voluntary_ctxt_switches just
 * before the first sleep and just after the last: the kernel's count of
 * what hftmon must have recorded in between.
 */
struct sleeper {
	pid_t tid;
	volatile int ready;
	uint64_t before[SLEEPS + 1], after[SLEEPS + 1], asked[SLEEPS + 1];
	long vol0, vol1, inv0, inv1;
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	struct timespec ts = { 0, SLEEP_NS };
	int i;

	s->tid = gettid_();
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	if (proc_ctxt(getpid(), s->tid, &s->vol0, &s->inv0))
		s->vol0 = -1;
	s->asked[0] = 100000000ull;
	s->before[0] = mono_ns();
	usleep(100000);
	s->after[0] = mono_ns();
	for (i = 1; i <= SLEEPS; i++) {
		s->asked[i] = SLEEP_NS;
		s->before[i] = mono_ns();
		nanosleep(&ts, NULL);
		s->after[i] = mono_ns();
	}
	if (proc_ctxt(getpid(), s->tid, &s->vol1, &s->inv1))
		s->vol1 = -1;
	return NULL;
}

/* The window a switch-out at t falls in, or -1. */
static int sleep_window(const struct sleeper *s, uint64_t t)
{
	int i;

	for (i = 0; i <= SLEEPS; i++)
		if (t >= s->before[i] && t <= s->after[i])
			return i;
	return -1;
}

static void test_sleeper(void)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 256 };
	struct hftmon_attach_opts ao = { .sz = sizeof(ao), .kernel_stacks = true,
					 .user_stacks = true };
	struct hftmon_switch_query q = { .sz = sizeof(q) };
	struct hftmon_latency lat = { .sz = sizeof(lat) };
	static struct sleeper s;
	static struct raw_switches raw;
	int per_window[SLEEPS + 1] = { 0 }, raw_n;
	uint64_t lo = 0, hi = 0, slo = 0, shi = 0, tlo = 0, thi = 0, ips[64];
	int from_schedule = 0;
	uint32_t ids[8];
	int nids = 0, i, n, in_nanosleep = 0, good = 0, user_ok = 0;
	int nlong, want_long = 0, vol = 0, preempted = 0, blocked = 0;
	uint32_t uids[8];
	int nuids = 0;
	struct hftmon *m;
	pthread_t th;
	unsigned int fl;

	REQUIRE(ksym_range("do_nanosleep", &lo, &hi) == 0, "no do_nanosleep in /proc/kallsyms");
	REQUIRE(ksym_range("__schedule", &slo, &shi) == 0, "no __schedule in /proc/kallsyms");
	REQUIRE(ksym_range("__traceiter_sched_switch", &tlo, &thi) == 0,
		"no __traceiter_sched_switch in /proc/kallsyms");
	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(hftmon_attach_process(m, getpid(), &ao) == 0, "attach self");
	REQUIRE(hftmon_start(m) == 0, "start");
	REQUIRE(pthread_create(&th, NULL, sleeper_fn, &s) == 0, "thread");
	pthread_join(th, NULL);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	raw.tid = s.tid;
	REQUIRE(hftmon_drain(m, raw_switch, &raw) >= 0, "drain");
	REQUIRE(raw.n < MAX_RAW, "more than %d switches of the sleeper", MAX_RAW);

	/* Every completed switch of the sleeper, then those of 1 ms or more. */
	q.tid = s.tid;
	q.include_stack_trace = true;
	ev[0].sz = sizeof(ev[0]);
	n = hftmon_get_context_switches(m, &q, ev, MAX_EVENTS);
	q.min_duration_us = 1000;
	nlong = hftmon_get_context_switches(m, &q, NULL, 0);
	INFO("sleeper tid %d: %d switches, %d of 1 ms or more", s.tid, n, nlong);
	REQUIRE(n > 0 && n <= MAX_EVENTS, "%d switches", n);
	/* Expected: the raw records paired here, not the library's output. */
	raw_n = raw_pairs(&raw, 1000000, &want_long);
	INFO("raw records: %d completed switches, %d of 1 ms or more", raw_n,
	     want_long);
	CHECK(n == raw_n, "query: %d switches, the raw records pair into %d", n,
	      raw_n);
	CHECK(nlong == want_long, "min_duration_us 1000: %d switches, the raw records have %d >= 1 ms",
	      nlong, want_long);
	CHECK(want_long >= SLEEPS / 2, "only %d switches of 1 ms or more in %d sleeps of 2 ms",
	      want_long, SLEEPS);

	for (i = 0; i < n; i++) {
		int k, j, found = 0, w = sleep_window(&s, ev[i].out_ns);
		uint64_t due;

		if (w < 0)
			continue;	/* thread start and exit */
		if (!ev[i].voluntary) {
			preempted++;	/* a kworker, say, before the call */
			continue;
		}
		vol++;
		per_window[w]++;
		due = s.before[w] + s.asked[w];
		/* Never woken or run before the timer was due. */
		CHECK(ev[i].wakeup_ns >= due && ev[i].in_ns >= ev[i].wakeup_ns,
		      "sleep %d: woken %lld ns, ran %lld ns after it was due", w,
		      (long long)(ev[i].wakeup_ns - due),
		      (long long)(ev[i].in_ns - due));
		CHECK(ev[i].in_ns <= s.after[w], "sleep %d: ran again %llu ns after it returned",
		      w, (unsigned long long)(ev[i].in_ns - s.after[w]));
		/* Late by the wake-up latency, which a busy host can stretch
		 * under TCG: counted, not failed. */
		if (ev[i].in_ns >= due && ev[i].in_ns - due < 23000000)
			good++;
		for (k = 0; k < nids; k++)
			found |= ids[k] == ev[i].kstack_id;
		if (!found && nids < 8)
			ids[nids++] = ev[i].kstack_id;
		k = hftmon_get_stack(m, ev[i].kstack_id, ips, 64, &fl);
		/*
		 * Our own frames are cut: the stack starts in the scheduler,
		 * or in the tracepoint's iterator just above it when another
		 * probe shares sched_switch (the pmu family's, hooked by an
		 * earlier test of this boot; see hftmon_stack_kernel()).
		 */
		if (k > 0 && ips[0] >= slo && ips[0] < shi)
			from_schedule++;
		else if (k > 1 && ips[0] >= tlo && ips[0] < thi &&
			 ips[1] >= slo && ips[1] < shi)
			from_schedule++;
		for (j = 0; j < k && j < 64; j++)
			if (ips[j] >= lo && ips[j] < hi) {
				in_nanosleep++;
				break;
			}
		/*
		 * The user stack: a static binary, so the syscall wrapper
		 * is in our own text. (Only its first frame, the thread's
		 * own instruction pointer, is exact: see hftmon_get_stack.)
		 */
		found = 0;
		for (k = 0; k < nuids; k++)
			found |= uids[k] == ev[i].ustack_id;
		if (!found && nuids < 8)
			uids[nuids++] = ev[i].ustack_id;
		k = hftmon_get_stack(m, ev[i].ustack_id, ips, 64, &fl);
		if (k >= 1 && (fl & HFTMON_STACK_USER) &&
		    ips[0] >= (uintptr_t)&__executable_start &&
		    ips[0] < (uintptr_t)&etext)
			user_ok++;
	}
	REQUIRE(s.vol0 >= 0 && s.vol1 >= 0, "/proc/%d/task/%d/status", getpid(), s.tid);
	INFO("%d voluntary switches inside the sleeps (kernel: +%ld between the thread's reads), %d preempted",
	     vol, s.vol1 - s.vol0, preempted);
	/* The kernel's own count, between reads inside the first and last
	 * window: exactly the voluntary switches hftmon saw there. */
	CHECK(vol == s.vol1 - s.vol0, "hftmon %d voluntary switches in the sleeps, kernel +%ld",
	      vol, s.vol1 - s.vol0);
	for (i = 0; i <= SLEEPS; i++) {
		CHECK(per_window[i] <= 1, "sleep %d: %d voluntary switches", i, per_window[i]);
		blocked += per_window[i] == 1;
	}
	/* A sleep blocks unless the vCPU stalled past its timer before it
	 * could switch out: rare, so most of them. */
	CHECK(blocked >= (SLEEPS + 1) * 9 / 10, "only %d of %d sleeps blocked",
	      blocked, SLEEPS + 1);
	INFO("%d of %d user stacks start in our text; %d distinct user stacks",
	     user_ok, vol, nuids);
	CHECK(user_ok == vol, "only %d of %d user stacks start in the program", user_ok, vol);
	CHECK(nuids <= 2, "%d distinct user stack ids for one call path", nuids);
	INFO("%d of %d ran again within 23 ms of their timer, %d with do_nanosleep on the stack, %d distinct kernel stacks",
	     good, vol, in_nanosleep, nids);
	/* Allow a few slow wake-ups. */
	CHECK(good >= vol * 9 / 10, "only %d of %d sleeps ran within 23 ms of their timer",
	      good, vol);
	CHECK(in_nanosleep == vol, "only %d of %d stacks in do_nanosleep", in_nanosleep, vol);
	CHECK(from_schedule == vol, "%d of %d kernel stacks start in __schedule",
	      from_schedule, vol);
	CHECK(nids == 1, "%d distinct kernel stack ids for one call path", nids);

	CHECK(hftmon_get_wakeup_latency(m, &(struct hftmon_latency_query){
		      .sz = sizeof(struct hftmon_latency_query),
		      .pid = getpid(), .tid = s.tid }, &lat) == 0,
	      "wakeup latency");
	INFO("wake-up latency: %llu samples, p50 %.1f us, p99 %.1f us, max %.1f us, jitter %.1f us",
	     (unsigned long long)lat.count, lat.p50_us, lat.p99_us, lat.max_us, lat.stddev_us);
	CHECK(lat.count >= (uint64_t)vol, "%llu wake-ups for %d blocking sleeps",
	      (unsigned long long)lat.count, vol);
	CHECK(lat.p50_us > 0 && lat.p50_us <= lat.p99_us && lat.p99_us <= lat.max_us,
	      "percentiles out of order");
	hftmon_close(m);
}

/* ---- scenario 2 and 3: spinners and a FIFO preempter --------------------- */

struct spinner {
	uint64_t until;
	pid_t tid;
	int policy, prio, cpu;
	uint64_t period_ns, burst_ns;
	uint64_t fifo_since;	/* when SCHED_FIFO took effect */
	int bursts;		/* FIFO: wake-ups that spun a burst */
};

static void *spinner_fn(void *arg)
{
	struct spinner *s = arg;

	pin(s->cpu);
	s->tid = gettid_();
	if (s->policy == SCHED_FIFO) {
		struct sched_param sp = { .sched_priority = s->prio };

		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			return (void *)1;
		s->fifo_since = mono_ns();
		while (mono_ns() < s->until) {
			struct timespec ts = { 0, (long)s->period_ns };

			nanosleep(&ts, NULL);
			s->bursts++;
			spin_ns(s->burst_ns);
		}
		return NULL;
	}
	while (mono_ns() < s->until)
		;
	return NULL;
}

static void test_preemption(void)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 512 };
	struct hftmon_switch_query q = { .sz = sizeof(q) };
	struct spinner a = { 0 }, b = { 0 }, f = { 0 };
	long vol0, inv0, vol1, inv1;
	int n, i, invol = 0, by_fifo = 0, fifo_long = 0;
	struct hftmon *m;
	pthread_t ta, tb, tf;
	void *r;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(hftmon_attach_process(m, getpid(), NULL) == 0, "attach self");
	REQUIRE(hftmon_start(m) == 0, "start");

	/* Two SCHED_OTHER spinners on CPU 0 for 400 ms. */
	a.cpu = b.cpu = 0;
	a.until = b.until = mono_ns() + 400000000ull;
	pthread_create(&ta, NULL, spinner_fn, &a);
	pthread_create(&tb, NULL, spinner_fn, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);

	/* One SCHED_OTHER spinner and a FIFO thread: 5 ms sleep, 200 us spin. */
	f.until = mono_ns() + 300000000ull;
	a.until = f.until + 100000000ull;	/* outlives the FIFO thread */
	f.cpu = 0; f.policy = SCHED_FIFO; f.prio = 50;
	f.period_ns = 5000000; f.burst_ns = 200000;
	pthread_create(&ta, NULL, spinner_fn, &a);
	usleep(20000);
	REQUIRE(proc_ctxt(getpid(), a.tid, &vol0, &inv0) == 0, "proc");
	pthread_create(&tf, NULL, spinner_fn, &f);
	pthread_join(tf, &r);
	REQUIRE(r == NULL, "sched_setscheduler(SCHED_FIFO) failed");
	REQUIRE(proc_ctxt(getpid(), a.tid, &vol1, &inv1) == 0, "proc");
	pthread_join(ta, NULL);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	REQUIRE(hftmon_drain(m, ignore, NULL) >= 0, "drain");

	q.tid = b.tid;
	ev[0].sz = sizeof(ev[0]);
	n = hftmon_get_context_switches(m, &q, ev, MAX_EVENTS);
	for (i = 0; i < n && i < MAX_EVENTS; i++)
		invol += !ev[i].voluntary;
	INFO("spinner %d sharing CPU 0: %d switches, %d involuntary", b.tid, n, invol);
	CHECK(n > 0 && invol >= n - 1,
	      "a spinner that never blocks: %d of %d involuntary", invol, n);

	q.tid = a.tid;
	n = hftmon_get_context_switches(m, &q, ev, MAX_EVENTS);
	for (i = 0; i < n && i < MAX_EVENTS; i++) {
		/* Before sched_setscheduler() it was an ordinary thread. */
		if (ev[i].out_ns < f.fifo_since || ev[i].next_tid != f.tid)
			continue;
		by_fifo++;
		CHECK(!ev[i].voluntary, "preempted by FIFO but voluntary");
		CHECK(ev[i].next_policy == SCHED_FIFO, "next policy %u", ev[i].next_policy);
		CHECK(ev[i].next_prio == 99 - f.prio, "next prio %d, want %d",
		      ev[i].next_prio, 99 - f.prio);
		CHECK(ev[i].off_cpu_ns >= f.burst_ns,
		      "preempted by a 200 us burst for only %llu ns",
		      (unsigned long long)ev[i].off_cpu_ns);
		if (ev[i].off_cpu_ns >= f.burst_ns && ev[i].off_cpu_ns < 5000000)
			fifo_long++;
	}
	INFO("spinner %d: %d switches to the FIFO thread %d (its bursts: %d), %d of them off CPU 200 us..5 ms; kernel: +%ld involuntary",
	     a.tid, by_fifo, f.tid, f.bursts, fifo_long, inv1 - inv0);
	/*
	 * 300 ms / (5 ms + 0.2 ms): about 57 bursts, fewer where a loaded
	 * host stretches the sleeps. Each burst preempts the spinner, unless
	 * another task (a kworker) had CPU 0 at that wake-up.
	 */
	CHECK(f.bursts >= 10, "the FIFO thread ran only %d bursts in 300 ms", f.bursts);
	CHECK(by_fifo >= f.bursts * 9 / 10 && by_fifo <= f.bursts,
	      "%d preemptions by the FIFO thread, %d bursts", by_fifo, f.bursts);
	/* Each lasts the 200 us burst at least; a busy host may stretch a few. */
	CHECK(fifo_long >= by_fifo * 9 / 10,
	      "%d of %d preemptions lasted 200 us..5 ms", fifo_long, by_fifo);
	CHECK(inv1 - inv0 >= by_fifo - 1, "kernel counted %ld involuntary, hftmon %d by FIFO",
	      inv1 - inv0, by_fifo);
	hftmon_close(m);
}

/* ---- scenario 4: per-thread scheduling info ------------------------------- */

struct cfg_thread { pid_t tid; int policy, prio, nice, cpu; volatile int ready, stop; };

struct sched_attr_ {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static void *cfg_fn(void *arg)
{
	struct cfg_thread *c = arg;
	struct sched_attr_ at = { .size = sizeof(at), .sched_policy = c->policy,
				  .sched_nice = c->nice, .sched_priority = c->prio };

	c->tid = gettid_();
	/* A move it is sure to make: se.nr_migrations is at least 1. */
	pin(!c->cpu);
	pin(c->cpu);
	if (syscall(SYS_sched_setattr, 0, &at, 0))
		c->ready = -1;
	else
		c->ready = 1;
	while (!c->stop)
		usleep(1000);
	return NULL;
}

static int schedstat_ns(pid_t pid, pid_t tid, uint64_t *run, uint64_t *delay)
{
	char path[96];
	unsigned long long a, b, c;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fscanf(f, "%llu %llu %llu", &a, &b, &c) == 3;
	fclose(f);
	*run = a;
	*delay = b;
	return ok ? 0 : -EIO;
}

/* se.nr_migrations of a thread, from the kernel; -1 if absent. */
static int64_t nr_migrations(pid_t pid, pid_t tid)
{
	char path[96], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/sched", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "se.nr_migrations : %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void test_thread_info(void)
{
	static struct hftmon_thread_info info[64];
	struct cfg_thread c[2] = {
		{ .policy = SCHED_FIFO, .prio = 10, .cpu = 1 },
		{ .policy = SCHED_OTHER, .nice = 5, .cpu = 0 },
	};
	struct hftmon *m;
	pthread_t th[2];
	uint64_t before[2], after[2], delay0[2], delay1[2];
	int64_t mig0[2], mig1[2];
	int i, k, n, seen = 0;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	for (i = 0; i < 2; i++) {
		pthread_create(&th[i], NULL, cfg_fn, &c[i]);
		while (!c[i].ready)
			usleep(1000);
		REQUIRE(c[i].ready == 1, "sched_setattr for thread %d", i);
	}
	for (i = 0; i < 2; i++) {
		REQUIRE(schedstat_ns(getpid(), c[i].tid, &before[i], &delay0[i]) == 0,
			"schedstat");
		mig0[i] = nr_migrations(getpid(), c[i].tid);
	}
	info[0].sz = sizeof(info[0]);
	n = hftmon_get_thread_scheduling_info(m, getpid(), info, 64);
	for (i = 0; i < 2; i++) {
		REQUIRE(schedstat_ns(getpid(), c[i].tid, &after[i], &delay1[i]) == 0,
			"schedstat");
		mig1[i] = nr_migrations(getpid(), c[i].tid);
	}
	REQUIRE(n >= 3, "%d threads (main + 2)", n);
	for (k = 0; k < n && k < 64; k++) {
		for (i = 0; i < 2; i++) {
			struct hftmon_thread_info *t = &info[k];
			int cpu, ok = 1;

			if (t->tid != c[i].tid)
				continue;
			seen++;
			INFO("tid %d: policy %d rt %d nice %d cpu %d cpu_time %llu ns migrations %lld",
			     t->tid, t->policy, t->rt_priority, t->nice, t->cpu,
			     (unsigned long long)t->cpu_time_ns, (long long)t->migrations);
			CHECK(t->policy == c[i].policy, "policy %d, set %d", t->policy, c[i].policy);
			CHECK(t->rt_priority == c[i].prio, "rt prio %d, set %d", t->rt_priority, c[i].prio);
			CHECK(t->nice == c[i].nice, "nice %d, set %d", t->nice, c[i].nice);
			for (cpu = 0; cpu < 2; cpu++)
				ok &= !!(t->affinity[0] & (1ull << cpu)) == (cpu == c[i].cpu);
			CHECK(ok, "affinity %#llx, set CPU %d",
			      (unsigned long long)t->affinity[0], c[i].cpu);
			CHECK(t->cpu == c[i].cpu, "last CPU %d, pinned to %d", t->cpu, c[i].cpu);
			CHECK(t->cpu_time_ns >= before[i] && t->cpu_time_ns <= after[i],
			      "cpu time %llu outside schedstat %llu..%llu",
			      (unsigned long long)t->cpu_time_ns,
			      (unsigned long long)before[i], (unsigned long long)after[i]);
			/* The kernel's own count, read around the call. */
			if (mig0[i] < 0)
				INFO("SKIP migrations check: /proc/%d/task/%d/sched has no se.nr_migrations",
				     getpid(), t->tid);
			else
				CHECK(mig0[i] >= 1 && t->migrations >= mig0[i] &&
				      t->migrations <= mig1[i],
				      "migrations %lld outside se.nr_migrations %lld..%lld (>= 1: the thread moved)",
				      (long long)t->migrations, (long long)mig0[i],
				      (long long)mig1[i]);
			/* Both kernels here have schedstat: exact, and known. */
			CHECK(t->cpu_time_resolution_ns == 1, "cpu time resolution %llu ns",
			      (unsigned long long)t->cpu_time_resolution_ns);
			CHECK(t->run_delay_ns >= (int64_t)delay0[i] &&
			      t->run_delay_ns <= (int64_t)delay1[i],
			      "run delay %lld outside schedstat %llu..%llu",
			      (long long)t->run_delay_ns,
			      (unsigned long long)delay0[i],
			      (unsigned long long)delay1[i]);
		}
	}
	CHECK(seen == 2, "found %d of the 2 configured threads", seen);
	c[0].stop = c[1].stop = 1;
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	hftmon_close(m);
}

/* ---- scenario 5: the drain thread's own scheduling ------------------------ */

static int read_stat_policy(pid_t tid, int *policy, int *rtprio)
{
	char path[64], buf[1024], *p;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	/* The space after ")" opens field 3 (state); rt_priority is 40. */
	for (i = 3; i <= 40 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %d %d", rtprio, policy) != 2)
		return -EIO;
	return 0;
}

static void test_drain_thread(void)
{
	static const int cpus[] = { 1 };
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 64, .drain_thread = true,
		.cpu_affinity = cpus, .nr_cpu_affinity = 1, .realtime_priority = 20,
	};
	char path[64];
	struct dirent *de;
	struct hftmon *m;
	DIR *d;
	int found = 0;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(hftmon_attach_process(m, getpid(), NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start with drain thread");
	CHECK(hftmon_drain(m, ignore, NULL) == -EBUSY,
	      "the caller drains while the drain thread does");
	usleep(50000);
	snprintf(path, sizeof(path), "/proc/self/task");
	d = opendir(path);
	REQUIRE(d, "opendir");
	while ((de = readdir(d))) {
		pid_t tid = atoi(de->d_name);
		int policy, rtprio;
		cpu_set_t set;

		if (tid <= 0 || tid == gettid_())
			continue;
		if (read_stat_policy(tid, &policy, &rtprio))
			continue;
		found++;
		CPU_ZERO(&set);
		sched_getaffinity(tid, sizeof(set), &set);
		INFO("drain thread %d: policy %d rt_priority %d, CPUs %s%s", tid, policy,
		     rtprio, CPU_ISSET(0, &set) ? "0 " : "", CPU_ISSET(1, &set) ? "1" : "");
		CHECK(policy == SCHED_FIFO && rtprio == 20, "policy %d prio %d", policy, rtprio);
		CHECK(!CPU_ISSET(0, &set) && CPU_ISSET(1, &set), "affinity not {1}");
	}
	closedir(d);
	CHECK(found == 1, "%d library threads, want the one drain thread", found);
	CHECK(hftmon_stop(m) == 0, "stop joins the thread");
	hftmon_close(m);
}

/* As nobody, an RT drain thread is refused with -EPERM, nothing left running. */
static int nobody_rt(void)
{
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 16, .drain_thread = true,
		.realtime_priority = 20,
	};
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct hftmon *m;
	int r;

	if (hftmon_open(NULL, &m))
		return 10;
	if (hftmon_configure(m, &cfg))
		return 11;
	r = hftmon_start(m);
	if (r != -EPERM)
		return 12;
	if (hftmon_get_stats(m, &sum, NULL, 0) < 0 || sum.running)
		return 13;
	hftmon_close(m);
	return 0;
}

static void test_drain_thread_refused(void)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		/* Let nobody open the device, then drop root. */
		if (vm_param_set("allowed_gid", "65534"))
			_exit(20);
		if (chmod(HFTMON_DEVICE, 0666) || setgid(65534) || setuid(65534))
			_exit(21);
		_exit(nobody_rt());
	}
	REQUIRE(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st), "child");
	CHECK(WEXITSTATUS(st) == 0, "non-root RT drain thread: step %d", WEXITSTATUS(st));
	CHECK(vm_param_set("allowed_gid", "-1") == 0, "restore allowed_gid");
	chmod(HFTMON_DEVICE, 0600);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_sleeper();
	test_preemption();
	test_thread_info();
	test_drain_thread();
	test_drain_thread_refused();
	return vmtest_result();
}
