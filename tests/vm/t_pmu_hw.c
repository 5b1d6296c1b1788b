// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware PMU counters through the real path: the library, a tracked
 * thread, HFTMON_REC_PMU records and hftmon_get_pmu_totals(). The
 * session counts PERF_COUNT_HW_INSTRUCTIONS, PERF_COUNT_HW_CPU_CYCLES and
 * PERF_COUNT_HW_CACHE_MISSES. A tracked worker, pinned to the last CPU,
 * runs in rounds a loop of a known 2 * iterations instructions (loop()
 * below) between two blocking reads of a pipe; the main thread, pinned to
 * CPU 0, takes CLOCK_MONOTONIC stamps while the worker is blocked before
 * and after, so the worker's slices of a round are the ones wholly within
 * them.
 *
 * What the machine has decides what must be seen, as in t_pmu.sh: where
 * sysfs lists a CPU PMU (arm64 under qemu -cpu max -icount shift=0:
 * armv8_pmuv3, whose INST_RETIRED is exact):
 * - instructions: MEASURED, and the loop's 2 * N within 0.1%, alone on
 *   its CPU and when an untracked spinner of the same policy shares it
 *   (the scheduler then switches the two at its ticks: many slices). The
 *   round's fixed cost (the wakeup's return to user, the write and the
 *   read that block it again; kernel mode counts too, the session being
 *   root's) is what a round of 2N counts beyond the extra 2N: printed.
 *   The slices the library summed are the worker's context switches in
 *   the round (voluntary + involuntary, /proc/self/task/TID/status), and
 *   the raw records' per-slice deltas add up to the library's totals.
 * - cycles: MEASURED. QEMU's CPU_CYCLES is virtual time (1 per virtual
 *   ns), which -icount shift=0 advances by 1 ns per instruction: only
 *   checked non-zero and within a factor of 2 of the instructions.
 * - cache misses: QEMU implements no cache event: UNSUPPORTED with the
 *   kernel's errno at configure, in every record, and no value.
 * Then (taken()) another perf user holds every counter instructions
 * could use on that CPU: hftmon's is in error state there, -EIO in
 * every record and UNAVAILABLE in the totals, never a zero.
 * Where sysfs lists none (x86 TCG), all three are UNSUPPORTED so, and no
 * number appears anywhere.
 *
 * QEMU's INST_RETIRED is its global icount (see t_pmu.sh): what another
 * vCPU runs while the worker is on its own is counted in the worker's
 * slice too. So make test-vm-arm64 boots this test with one vCPU
 * (mk/arm64.mk), where the main thread shares the worker's CPU and sleeps
 * through the round (round_us()); it polls only while the worker is
 * blocked. With two vCPUs (the x86 tier) the worker is on CPU 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

#define NR_CTRS		3
#define NOBODY		65534
#define GID_ALLOWED	4243
#define GID_ALLOWED_STR	"4243"
/* Loop iterations of a round: 100 M instructions (100 virtual ms on arm64). */
#define ITERS		50000000ul
/* Under x86 TCG nothing counts: a short loop shows it as well. */
#define ITERS_NO_PMU	1000000ul
/* The preempted round shares the CPU: at least this many slices. */
#define MIN_SLICES	4
/* Per slice, the slices' length may differ from schedstat's this much. */
#define SLICE_SLACK_NS	50000ll
/* Per-slice instruction counts printed of each round */
#define MAX_PRINTED	24

enum { R_ALONE, R_TWICE, R_SHARED, NR_ROUNDS };

static const char *const round_name[NR_ROUNDS] = {
	"alone, N", "alone, 2N", "shared with a spinner, N"
};

struct worker {
	int go[2];
	pid_t tid;
	unsigned long iters;	/* of the next round, set before its go */
};

/* Exactly 2 * n instructions for n >= 1: a decrement and a branch. */
static void loop(unsigned long n)
{
#if defined(__aarch64__)
	__asm__ volatile("1:	subs %0, %0, #1\n"
			 "	b.ne 1b\n"
			 : "+r"(n) : : "cc");
#elif defined(__x86_64__)
	__asm__ volatile("1:	dec %0\n"
			 "	jnz 1b\n"
			 : "+r"(n) : : "cc");
#else
#error "loop(): no exact instruction loop for this architecture"
#endif
}

/*
 * How long main sleeps after a round's go: 1 virtual ns per instruction
 * under -icount shift=0, twice that when a spinner shares the CPU, with a
 * margin. Only the checks' precision depends on it: a worker not done yet
 * is polled for (wait_blocked()), and the polling's own instructions
 * (another vCPU's, or on the worker's CPU its wakeups that preempt it)
 * would then show in the worker's slices, and in the 0.1% checks.
 */
static useconds_t round_us(unsigned long iters, bool shared)
{
	return (useconds_t)(2 * iters / 1000 * (shared ? 2 : 1) * 3 / 2) + 20000;
}

/* The worker's and the spinner's CPU: the last one; main is on CPU 0. */
static int work_cpu;

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	char c;

	if (vm_pin(0, work_cpu))
		return NULL;
	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;) {
		if (read(w->go[0], &c, 1) != 1 || c == 'q')
			return NULL;
		loop(w->iters);
	}
}

static bool in_read(pid_t tid)
{
	char path[96], st = 0;
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%*d (%*[^)]) %c", &st) != 1)
		st = 0;
	fclose(f);
	return nr == SYS_read && st == 'S';
}

/*
 * The worker is off CPU, asleep in read(), and its run time unchanged
 * over 2 ms (it is not still on its way out through schedule()). Its
 * context switches so far into *switches, its run time into *run_ns.
 */
static int wait_blocked(pid_t tid, long *switches, unsigned long long *run_ns)
{
	unsigned long long faults;
	char dir[64];
	long vol, invol;

	snprintf(dir, sizeof(dir), "/proc/self/task/%d", (int)tid);
	if (proc_wait_blocked(dir, in_read, tid, &faults, run_ns) ||
	    proc_ctxt(getpid(), tid, &vol, &invol))
		return -1;
	*switches = vol + invol;
	return 0;
}

/* The worker's PMU records of each round, as the module wrote them. */
struct seen {
	pid_t tid;
	uint64_t t0[NR_ROUNDS], t1[NR_ROUNDS];
	const int *status;	/* at configure */
	uint64_t records[NR_ROUNDS];
	uint64_t sum[NR_ROUNDS][NR_CTRS];
	uint64_t slice_insns[NR_ROUNDS][MAX_PRINTED];
	long bad;
};

static int on_record(void *ctx, const struct hftmon_rec_hdr *h)
{
	const struct hftmon_rec_pmu *p = (const void *)h;
	struct seen *s = ctx;
	int r, i;

	if (h->type != HFTMON_REC_PMU || h->tid != s->tid)
		return 0;
	for (r = 0; r < NR_ROUNDS; r++)
		if (p->start_ns >= s->t0[r] && h->time_ns <= s->t1[r])
			break;
	if (r == NR_ROUNDS)
		return 0;	/* a slice between rounds */
	s->records[r]++;
	if (p->nr != NR_CTRS || h->cpu != (unsigned int)work_cpu) {
		if (s->bad++ < 5)
			INFO("bad PMU record: nr %u on cpu %u", p->nr, h->cpu);
		return 0;
	}
	for (i = 0; i < NR_CTRS; i++) {
		/* Counted where it was made; refused ones: the errno, no value. */
		if (s->status[i] ? p->v[i].status != s->status[i] || p->v[i].delta
				 : p->v[i].status != 0) {
			if (s->bad++ < 5)
				INFO("bad PMU record: counter %d status %d delta %llu (configure said %d)",
				     i, p->v[i].status,
				     (unsigned long long)p->v[i].delta, s->status[i]);
			continue;
		}
		s->sum[r][i] += p->v[i].delta;
	}
	if (s->records[r] <= MAX_PRINTED)
		s->slice_insns[r][s->records[r] - 1] = p->v[0].delta;
	return 0;
}

static const char *state_name(uint32_t s)
{
	static const char *const names[] = { "no data", "measured", "partial",
					     "unavailable", "unsupported" };

	return s < 5 ? names[s] : "?";
}

/* A metric as printed: its value only where it has one. */
static const char *metric_str(const struct hftmon_pmu_metric *mt, char *buf,
			      size_t len)
{
	if (mt->state == HFTMON_PMU_MEASURED || mt->state == HFTMON_PMU_PARTIAL)
		snprintf(buf, len, "%s %llu", state_name(mt->state),
			 (unsigned long long)mt->value);
	else
		snprintf(buf, len, "%s (%s)", state_name(mt->state),
			 strerror(-mt->status));
	return buf;
}

/* The CPU's PMU as sysfs lists it, as t_pmu.sh finds it; NULL: none. */
static const char *cpu_pmu(char *buf, size_t len)
{
	DIR *d = opendir("/sys/bus/event_source/devices");
	struct dirent *e;
	bool found = false;

	if (!d)
		return NULL;
	while (!found && (e = readdir(d)))
		if (!strcmp(e->d_name, "cpu") || !strcmp(e->d_name, "cpu_core") ||
		    !strncmp(e->d_name, "armv8_", 6) ||
		    !strncmp(e->d_name, "armv7_", 6)) {
			snprintf(buf, len, "%s", e->d_name);
			found = true;
		}
	closedir(d);
	return found ? buf : NULL;
}

static bool within_permille(uint64_t got, uint64_t exp)
{
	uint64_t d = got > exp ? got - exp : exp - got;

	return d * 1000 <= exp;
}

/*
 * The rounds in one session: a root one (user false), whose counters
 * count kernel mode too, or one of an unprivileged user (user mode
 * only). 0 pass, 1 fail.
 */
static int session(bool user)
{
	const struct hftmon_pmu_counter counters[NR_CTRS] = {
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_HARDWARE,
		  .config = PERF_COUNT_HW_INSTRUCTIONS },
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_HARDWARE,
		  .config = PERF_COUNT_HW_CPU_CYCLES },
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_HARDWARE,
		  .config = PERF_COUNT_HW_CACHE_MISSES },
	};
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 64,
		.pmu_counters = counters, .nr_pmu_counters = NR_CTRS,
	};
	struct hftmon_pmu_totals tot[NR_ROUNDS];
	long sw0[NR_ROUNDS], sw1[NR_ROUNDS];
	unsigned long long run0[NR_ROUNDS], run1[NR_ROUNDS];
	int status[NR_CTRS + 1], r, i, n;
	struct worker w = { 0 };
	struct seen seen = { 0 };
	char pmu_buf[256], line[MAX_PRINTED * 22], *lp, mb[NR_CTRS][64], c = 'g';
	const char *pmu = cpu_pmu(pmu_buf, sizeof(pmu_buf));
	const char *who = user ? "user" : "root";
	unsigned long iters = pmu ? ITERS : ITERS_NO_PMU;
	pid_t spinner;
	struct hftmon *m;
	pthread_t th;

	INFO("%s session, euid %d: counts %s", who, (int)geteuid(),
	     user ? "user mode only" : "user and kernel mode");
	REQUIRE(vm_pin(0, 0) == 0, "pin main to CPU 0");
	REQUIRE(pipe(w.go) == 0, "pipe");
	/*
	 * Forked before attach: a process of its own, not tracked; stopped
	 * until the shared round, of the worker's policy and CPU.
	 */
	spinner = fork();
	REQUIRE(spinner >= 0, "fork");
	if (spinner == 0) {
		if (vm_pin(0, work_cpu))
			_exit(1);
		raise(SIGSTOP);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	REQUIRE(waitpid(spinner, &n, WUNTRACED) == spinner && WIFSTOPPED(n),
		"spinner did not stop");

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(hftmon_get_pmu_status(m, status, NR_CTRS + 1) == NR_CTRS,
		"PMU status");
	INFO("%s: at configure: instructions %d, cycles %d, cache misses %d (%s)",
	     who, status[0], status[1], status[2],
	     status[2] ? strerror(-status[2]) : "supported");
	if (pmu) {
		CHECK(status[0] == 0, "%s: instructions refused: %d", pmu,
		      status[0]);
		CHECK(status[1] == 0, "%s: cycles refused: %d", pmu, status[1]);
	} else {
		CHECK(status[0] < 0 && status[1] < 0,
		      "no CPU PMU, yet instructions %d cycles %d", status[0],
		      status[1]);
	}
	/* No CPU PMU QEMU emulates has a cache event. */
	CHECK(status[2] < 0, "cache misses made: %d", status[2]);
	seen.status = status;

	REQUIRE(hftmon_attach_process(m, getpid(), NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	REQUIRE(pthread_create(&th, NULL, worker_fn, &w) == 0, "thread");
	while (!__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE))
		usleep(1000);

	for (r = 0; r < NR_ROUNDS; r++) {
		w.iters = r == R_TWICE ? 2 * iters : iters;
		REQUIRE(wait_blocked(w.tid, &sw0[r], &run0[r]) == 0,
			"round %d: worker never blocked", r);
		if (r == R_SHARED)
			REQUIRE(kill(spinner, SIGCONT) == 0, "SIGCONT");
		seen.t0[r] = mono_ns();
		REQUIRE(write(w.go[1], &c, 1) == 1, "go");
		/* Asleep until the worker must be done (see the top). */
		usleep(round_us(w.iters, r == R_SHARED));
		REQUIRE(wait_blocked(w.tid, &sw1[r], &run1[r]) == 0,
			"round %d: worker never blocked again", r);
		seen.t1[r] = mono_ns();
		if (r == R_SHARED)
			REQUIRE(kill(spinner, SIGSTOP) == 0, "SIGSTOP");
	}
	c = 'q';
	REQUIRE(write(w.go[1], &c, 1) == 1, "quit");
	REQUIRE(pthread_join(th, NULL) == 0, "join");
	REQUIRE(hftmon_stop(m) == 0, "stop");
	kill(spinner, SIGKILL);
	waitpid(spinner, NULL, 0);
	seen.tid = w.tid;
	REQUIRE(hftmon_drain(m, on_record, &seen) >= 0, "drain");
	CHECK(!seen.bad, "%ld bad PMU records", seen.bad);

	for (r = 0; r < NR_ROUNDS; r++) {
		struct hftmon_pmu_query q = { .sz = sizeof(q), .tid = w.tid,
					      .from_ns = seen.t0[r],
					      .to_ns = seen.t1[r] };
		const struct hftmon_pmu_metric *in = &tot[r].c[0];
		const struct hftmon_pmu_metric *cy = &tot[r].c[1];
		const struct hftmon_pmu_metric *ca = &tot[r].c[2];
		uint64_t exp = 2 * (r == R_TWICE ? 2 * iters : iters);
		long switches = sw1[r] - sw0[r];
		long long run = (long long)(run1[r] - run0[r]);
		long long on_diff;

		tot[r].sz = sizeof(tot[r]);
		n = hftmon_get_pmu_totals(m, &q, &tot[r], 1);
		REQUIRE(n == 1, "round %d: %d threads in the span", r, n);
		INFO("%s round %d (%s): %llu slices (%ld context switches); instructions %s (loop %llu), cycles %s, cache misses %s",
		     who, r, round_name[r], (unsigned long long)tot[r].slices,
		     switches, metric_str(in, mb[0], sizeof(mb[0])),
		     (unsigned long long)exp,
		     metric_str(cy, mb[1], sizeof(mb[1])),
		     metric_str(ca, mb[2], sizeof(mb[2])));
		for (i = 0, lp = line; pmu && i < MAX_PRINTED &&
				       i < (int)seen.records[r]; i++)
			lp += sprintf(lp, " %llu",
				      (unsigned long long)seen.slice_insns[r][i]);
		if (pmu)
			INFO("%s round %d: instructions per slice:%s", who, r,
			     line);
		CHECK(tot[r].complete, "round %d: history incomplete", r);
		CHECK(tot[r].slices == (uint64_t)switches,
		      "round %d: %llu slices summed, the kernel switched the worker out %ld times",
		      r, (unsigned long long)tot[r].slices, switches);
		CHECK(tot[r].slices == seen.records[r],
		      "round %d: %llu slices summed, %llu records drained", r,
		      (unsigned long long)tot[r].slices,
		      (unsigned long long)seen.records[r]);
		/*
		 * The slices are the worker's time on CPU: their lengths add
		 * up to its schedstat run time, but for the few instructions
		 * between the scheduler's clock and the probe's at each end.
		 * Checked under -icount only (virtual time: a host pause
		 * stretches no slice there); printed elsewhere.
		 */
		on_diff = (long long)tot[r].on_cpu_ns - run;
		INFO("%s round %d: slices' length %llu ns, schedstat run time %lld ns: %+lld ns",
		     who, r, (unsigned long long)tot[r].on_cpu_ns, run, on_diff);
		if (pmu)
			CHECK(llabs(on_diff) <=
				      (long long)(tot[r].slices * SLICE_SLACK_NS),
			      "round %d: the slices' length %llu ns, the worker ran %lld ns in %llu slices",
			      r, (unsigned long long)tot[r].on_cpu_ns, run,
			      (unsigned long long)tot[r].slices);
		for (i = 0; i < NR_CTRS; i++)
			CHECK(tot[r].c[i].value == seen.sum[r][i],
			      "round %d: counter %d: totals %llu, the records' deltas sum to %llu",
			      r, i, (unsigned long long)tot[r].c[i].value,
			      (unsigned long long)seen.sum[r][i]);
		CHECK(ca->state == HFTMON_PMU_UNSUPPORTED &&
			      ca->status == status[2] && !ca->value,
		      "round %d: cache misses %s (%d) %llu", r,
		      state_name(ca->state), ca->status,
		      (unsigned long long)ca->value);
		if (!pmu) {
			CHECK(in->state == HFTMON_PMU_UNSUPPORTED &&
				      in->status == status[0] && !in->value,
			      "round %d: no PMU, instructions %s (%d) %llu", r,
			      state_name(in->state), in->status,
			      (unsigned long long)in->value);
			CHECK(cy->state == HFTMON_PMU_UNSUPPORTED &&
				      cy->status == status[1] && !cy->value,
			      "round %d: no PMU, cycles %s (%d) %llu", r,
			      state_name(cy->state), cy->status,
			      (unsigned long long)cy->value);
			continue;
		}
		CHECK(in->state == HFTMON_PMU_MEASURED,
		      "%s round %d: instructions %s (%d)", who, r,
		      state_name(in->state), in->status);
		/*
		 * User mode only: the loop's count, but for the few
		 * instructions of read() and write()'s wrappers in libc. With
		 * kernel mode, each slice also holds the kernel's own work in
		 * it (its timer ticks: about 3 k instructions per 4 ms, 0.08%,
		 * and the wakeup's and the blocking's paths): never fewer than
		 * the loop's, at most 1% more.
		 */
		if (user)
			CHECK(within_permille(in->value, exp),
			      "user round %d: instructions %llu, the loop's %llu not within 0.1%%",
			      r, (unsigned long long)in->value,
			      (unsigned long long)exp);
		else
			CHECK(in->value >= exp && in->value - exp <= exp / 100,
			      "root round %d: instructions %llu, the loop's %llu: not within 0..1%% more",
			      r, (unsigned long long)in->value,
			      (unsigned long long)exp);
		CHECK(cy->state == HFTMON_PMU_MEASURED && cy->value &&
			      cy->value <= 2 * in->value && 2 * cy->value >= in->value,
		      "round %d: cycles %s (%d) %llu for %llu instructions",
		      r, state_name(cy->state), cy->status,
		      (unsigned long long)cy->value,
		      (unsigned long long)in->value);
	}
	if (pmu) {
		CHECK(tot[R_SHARED].slices >= MIN_SLICES,
		      "%s shared round: %llu slices, want at least %d",
		      who, (unsigned long long)tot[R_SHARED].slices, MIN_SLICES);
		INFO("%s: the round's own cost: %lld instructions beyond the loop's; a 2N round counted %lld for the extra 2N = %lu; the shared round %lld more than the lone one",
		     who, (long long)tot[R_ALONE].c[0].value - (long long)(2 * iters),
		     (long long)(tot[R_TWICE].c[0].value - tot[R_ALONE].c[0].value),
		     2 * iters,
		     (long long)(tot[R_SHARED].c[0].value -
				 tot[R_ALONE].c[0].value));
	}
	hftmon_close(m);
	return vmtest_result();
}

static int paranoid_rw(int *old, const char *val)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", val ? "r+" : "r");
	int ok;

	if (!f)
		return -1;
	ok = !old || fscanf(f, "%d", old) == 1;
	if (ok && val) {
		rewind(f);
		ok = fputs(val, f) >= 0;
	}
	return fclose(f) == 0 && ok ? 0 : -1;
}

/*
 * At perf_event_paranoid above 0 (Debian's default is 3) the kernel
 * refuses an unprivileged session's hardware counters with EACCES at
 * configure: reported as such, where there is a PMU to refuse.
 */
static int refused(void)
{
	const struct hftmon_pmu_counter ctr = {
		.sz = sizeof(ctr), .type = PERF_TYPE_HARDWARE,
		.config = PERF_COUNT_HW_INSTRUCTIONS,
	};
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 8,
		.pmu_counters = &ctr, .nr_pmu_counters = 1,
	};
	char buf[256];
	int status = 1, paranoid = -9;
	struct hftmon *m;

	REQUIRE(paranoid_rw(&paranoid, NULL) == 0, "perf_event_paranoid");
	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(hftmon_get_pmu_status(m, &status, 1) == 1, "PMU status");
	INFO("user session at perf_event_paranoid %d: instructions %d (%s)",
	     paranoid, status, strerror(-status));
	if (cpu_pmu(buf, sizeof(buf)))
		CHECK(status == -EACCES, "paranoid %d: instructions %d, want -EACCES",
		      paranoid, status);
	else
		CHECK(status < 0, "no PMU: instructions %d", status);
	hftmon_close(m);
	return vmtest_result();
}

static int perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
			   int group, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group, flags);
}

/*
 * Another perf user holds every counter that can count instructions on
 * the worker's CPU (pinned CPU-wide events, opened until the next one
 * cannot be scheduled: it reads end of file, in error state), before
 * hftmon's session starts: hftmon's pinned instructions counter there
 * cannot be scheduled either. Each record says -EIO for it and no value,
 * the totals UNAVAILABLE with that errno; cycles, on PMUv3's own cycle
 * counter, still count. Where the kernel makes no such event (x86 TCG)
 * there is nothing to take: said, not tested.
 */
#define MAX_TAKEN	32

static int on_taken(void *ctx, const struct hftmon_rec_hdr *h)
{
	const struct hftmon_rec_pmu *p = (const void *)h;
	long *bad = ctx;

	if (h->type != HFTMON_REC_PMU || h->cpu != (unsigned int)work_cpu)
		return 0;
	if (p->nr != 2 || p->v[0].status != -EIO || p->v[0].delta ||
	    p->v[1].status) {
		if ((*bad)++ < 5)
			INFO("counters taken: record of tid %d: instructions %d %llu, cycles %d",
			     h->tid, p->nr ? p->v[0].status : 0,
			     p->nr ? (unsigned long long)p->v[0].delta : 0,
			     p->nr > 1 ? p->v[1].status : 0);
	}
	return 0;
}

static int taken(void)
{
	const struct hftmon_pmu_counter counters[2] = {
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_HARDWARE,
		  .config = PERF_COUNT_HW_INSTRUCTIONS },
		{ .sz = sizeof(counters[0]), .type = PERF_TYPE_HARDWARE,
		  .config = PERF_COUNT_HW_CPU_CYCLES },
	};
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg), .ring_pages = 64,
		.pmu_counters = counters, .nr_pmu_counters = 2,
	};
	struct perf_event_attr a = {
		.type = PERF_TYPE_HARDWARE, .size = sizeof(a),
		.config = PERF_COUNT_HW_INSTRUCTIONS, .pinned = 1,
	};
	struct hftmon_pmu_totals tot = { .sz = sizeof(tot) };
	struct hftmon_pmu_query q = { .sz = sizeof(q) };
	const struct hftmon_pmu_metric *in = &tot.c[0], *cy = &tot.c[1];
	int fd[MAX_TAKEN], n = 0, status[2], i;
	char mb[64], mb2[64];
	uint64_t v;
	long bad = 0;
	struct hftmon *m;

	REQUIRE(vm_pin(0, work_cpu) == 0, "pin to CPU %d", work_cpu);
	for (;;) {
		REQUIRE(n < MAX_TAKEN, "%d pinned counters all scheduled", n);
		fd[n] = perf_event_open(&a, -1, work_cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd[n] < 0) {
			INFO("no hardware counter to take here (%s): not tested",
			     strerror(errno));
			return vmtest_result();
		}
		if (read(fd[n], &v, sizeof(v)) != sizeof(v)) {
			close(fd[n]);
			break;
		}
		n++;
	}
	INFO("another perf user holds %d pinned instructions counters of CPU %d",
	     n, work_cpu);
	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	/* Made alone at configure, each counter could be had. */
	REQUIRE(hftmon_get_pmu_status(m, status, 2) == 2, "PMU status");
	CHECK(!status[0] && !status[1], "at configure: %d %d", status[0],
	      status[1]);
	REQUIRE(hftmon_attach_process(m, getpid(), NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	/* Each loop in a slice of its own: from a switch-in on. */
	for (i = 0; i < 4; i++) {
		usleep(1000);
		loop(ITERS / 10);
	}
	usleep(1000);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	REQUIRE(hftmon_drain(m, on_taken, &bad) >= 0, "drain");
	q.tid = (pid_t)syscall(SYS_gettid);
	REQUIRE(hftmon_get_pmu_totals(m, &q, &tot, 1) == 1, "totals");
	INFO("counters taken: %llu slices; instructions %s (%llu counted, %llu missed), cycles %s",
	     (unsigned long long)tot.slices, metric_str(in, mb, sizeof(mb)),
	     (unsigned long long)in->slices_counted,
	     (unsigned long long)in->slices_missed,
	     metric_str(cy, mb2, sizeof(mb2)));
	CHECK(!bad, "counters taken: %ld records not -EIO for instructions or not counting cycles",
	      bad);
	CHECK(tot.slices >= 4, "counters taken: %llu slices",
	      (unsigned long long)tot.slices);
	CHECK(in->state == HFTMON_PMU_UNAVAILABLE && in->status == -EIO &&
		      !in->value && !in->slices_counted,
	      "counters taken: instructions %s (%d) %llu, %llu slices counted",
	      state_name(in->state), in->status,
	      (unsigned long long)in->value,
	      (unsigned long long)in->slices_counted);
	CHECK(cy->state == HFTMON_PMU_MEASURED && cy->value >= 8 * (ITERS / 10),
	      "counters taken: cycles %s (%d) %llu", state_name(cy->state),
	      cy->status, (unsigned long long)cy->value);
	hftmon_close(m);
	while (n)
		close(fd[--n]);
	return vmtest_result();
}

/* fn() as nobody, a member of allowed_gid: its exit code. */
static int as_user(int (*fn)(void))
{
	static const gid_t groups[] = { GID_ALLOWED };
	int st = -1;
	pid_t p = fork();

	if (p == 0) {
		if (setgroups(1, groups) || setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		/* setuid made us non-dumpable: /proc/self would be root's. */
		prctl(PR_SET_DUMPABLE, 1);
		vmtest_failed = 0;	/* the child's own checks only */
		_exit(fn());
	}
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int user_session(void)
{
	return session(true);
}

int main(void)
{
	char old_s[16];
	int old, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	work_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	REQUIRE(work_cpu >= 0, "no CPU online");
	rc = session(false);
	rc |= taken();
	/*
	 * A member of allowed_gid on a world-openable node, not root: its
	 * session counts user mode only (kmod/probes/pmu.c). The kernel
	 * applies perf's rule for CPU-wide counters to hftmon's (measured on
	 * Debian's 6.1 arm64: EACCES at perf_event_paranoid 1, 2 and 3, its
	 * default; made at 0 and -1): refused, with that errno, at the
	 * boot's setting; counted at 0.
	 */
	REQUIRE(paranoid_rw(&old, NULL) == 0, "perf_event_paranoid");
	REQUIRE(vm_param_set("allowed_gid", GID_ALLOWED_STR) == 0, "allowed_gid");
	REQUIRE(chmod(HFTMON_DEVICE, 0666) == 0, "chmod: %s", strerror(errno));
	if (old > 0)
		CHECK(as_user(refused) == 0, "user session at paranoid %d", old);
	CHECK(paranoid_rw(NULL, "0") == 0, "perf_event_paranoid 0");
	CHECK(as_user(user_session) == 0, "user session at paranoid 0");
	snprintf(old_s, sizeof(old_s), "%d", old);
	CHECK(paranoid_rw(NULL, old_s) == 0, "perf_event_paranoid back");
	CHECK(vm_param_set("allowed_gid", "-1") == 0, "allowed_gid back");
	CHECK(chmod(HFTMON_DEVICE, 0600) == 0, "chmod back");
	return rc || vmtest_result();
}
