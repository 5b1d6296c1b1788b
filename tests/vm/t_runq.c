// SPDX-License-Identifier: GPL-2.0
/*
 * Who ran while a tracked thread waited (HFTMON_EV_RUNQ), through
 * hftmon_explain(), against tasks whose runs the test times itself. An
 * untracked child process has two SCHED_FIFO threads on CPU 1, A and B:
 * a byte to A makes it spin SPIN_A, wake B and block; B then spins
 * SPIN_B and blocks. Each stamps its own spin [a0, a1], [b0, b1]. The
 * tracked thread T (SCHED_OTHER, this process) is on CPU 1 too.
 *
 * 1. T spinning, A preempts it: T's window is explained with a TASK part
 *    naming A that covers [a0, a1] and ends by b0, then one naming B that
 *    begins in [a1, b0] and covers b1: the switch A -> B, between two
 *    untracked tasks, is in the records (HFTMON_REC_RUNQ, at least one).
 * 2. The same without HFTMON_EV_RUNQ: the one TASK part names A for the
 *    whole wait, B's time included, and B is not named (what the records
 *    alone say, and what 1 must not).
 * 3. T blocked, woken (by this thread, on CPU 0) while A spins: after its
 *    SLEEP, a TASK part naming A from the wake-up to A's switch to B (the
 *    records' first switch there after the wake-up: its prev is who was
 *    running), then B.
 * 4. T blocked and not woken while A and B pass a byte back and forth on
 *    CPU 1 (200 switches between untracked tasks): no RUNQ record on CPU
 *    1, so no count of a waiting thread outlived its wait (a CPU where no
 *    tracked thread waits records nothing). This thread, on CPU 0, is
 *    tracked too: woken by B each round, it may wait there behind another
 *    task (a PREEMPT_RT irq thread, say), which CPU 0 then records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

#define MS		1000000ull
#define SPIN_A		(20 * MS)
#define SPIN_B		(30 * MS)
#define MAX_PARTS	512

struct child_state {
	volatile uint64_t a0, a1, b0, b1;
	volatile pid_t a_tid, b_tid;
	volatile int pingpong;	/* 4: A and B pass bytes instead */
};

static struct child_state *cs;
static int to_a[2], to_b[2], ack[2];
static struct hftmon *m;
static long runq_records, runq_cpu1;

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	REQUIRE(sched_setaffinity(0, sizeof(set), &set) == 0, "pin to CPU %d: %s",
		cpu, strerror(errno));
}

static void fifo(void)
{
	struct sched_param sp = { .sched_priority = 10 };

	REQUIRE(sched_setscheduler(0, SCHED_FIFO, &sp) == 0, "SCHED_FIFO: %s",
		strerror(errno));
}

static uint64_t spin(uint64_t ns)
{
	uint64_t t0 = mono_ns(), t;

	do
		t = mono_ns();
	while (t - t0 < ns);
	return t;
}

static void put(int fd)
{
	char b = 1;

	REQUIRE(write(fd, &b, 1) == 1, "pipe write: %s", strerror(errno));
}

static bool get(int fd)
{
	char b;

	return read(fd, &b, 1) == 1;
}

/* The child's threads. */
static void *thread_a(void *arg)
{
	(void)arg;
	pin(1);
	fifo();
	cs->a_tid = gettid_();
	while (get(to_a[0])) {
		if (cs->pingpong) {
			put(to_b[1]);
			continue;
		}
		cs->a0 = mono_ns();
		cs->a1 = spin(SPIN_A);
		put(to_b[1]);
	}
	return NULL;
}

static void *thread_b(void *arg)
{
	(void)arg;
	pin(1);
	fifo();
	cs->b_tid = gettid_();
	while (get(to_b[0])) {
		if (cs->pingpong) {
			put(ack[1]);
			continue;
		}
		cs->b0 = mono_ns();
		cs->b1 = spin(SPIN_B);
		put(ack[1]);
	}
	return NULL;
}

static void child(void)
{
	pthread_t a, b;

	REQUIRE(pthread_create(&a, NULL, thread_a, NULL) == 0, "thread A");
	REQUIRE(pthread_create(&b, NULL, thread_b, NULL) == 0, "thread B");
	pthread_join(a, NULL);
	_exit(0);
}

/* T: spins while spinning is set; else blocks on its pipe, then spins 50 ms. */
static int to_t[2];
static volatile int t_spinning = 1, t_quit;
static volatile pid_t t_tid;

static void *thread_t(void *arg)
{
	(void)arg;
	pin(1);
	t_tid = gettid_();
	for (;;) {
		while (t_spinning && !t_quit)
			;
		if (t_quit)
			return NULL;
		if (!get(to_t[0]))
			return NULL;
		spin(50 * MS);
	}
}

static int count_runq(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)ctx;
	if (rec->type == HFTMON_REC_RUNQ) {
		runq_records++;
		runq_cpu1 += rec->cpu == 1;
	}
	return 0;
}

/* Everything drained, as the aggregator merges it (vm_drain_merged()). */
static void drain_all(void)
{
	vm_drain_merged(m, count_runq, NULL);
}

static void session(uint64_t events)
{
	HFTMON_OPTS(hftmon_monitor_config, c, .events = events, .ring_pages = 256);
	int err = hftmon_open(NULL, &m);

	REQUIRE(err == 0, "hftmon_open: %s", strerror(-err));
	err = hftmon_configure(m, &c);
	REQUIRE(err == 0, "hftmon_configure: %s", strerror(-err));
	err = hftmon_attach_process(m, getpid(), NULL);
	REQUIRE(err == 0, "attach: %s", strerror(-err));
	REQUIRE(hftmon_start(m) == 0, "start");
	runq_records = 0;
}

static void end(void)
{
	hftmon_stop(m);
	hftmon_close(m);
}

static struct hftmon_part parts[MAX_PARTS];

/* T's window [s, e) explained: the parts, printed. */
static int explain(uint64_t s, uint64_t e)
{
	HFTMON_OPTS(hftmon_explain_query, q, .tid = t_tid, .start_ns = s, .end_ns = e);
	int n, i;

	parts[0].sz = sizeof(parts[0]);
	n = hftmon_explain(m, &q, parts, MAX_PARTS);
	REQUIRE(n > 0 && n <= MAX_PARTS, "explain: %d (%s)", n,
		n < 0 ? strerror(-n) : "");
	for (i = 0; i < n; i++)
		if (parts[i].kind != HFTMON_PART_RUN)
			INFO("  part %d: kind %u cpu %d +%.3f ms %.3f ms tid %d %.16s", i,
			     parts[i].kind, parts[i].cpu, (parts[i].start_ns - s) / 1e6,
			     parts[i].ns / 1e6, (int)parts[i].tid, parts[i].comm);
	return n;
}

/* The first TASK part naming tid, or NULL. */
static const struct hftmon_part *task_of(int n, pid_t tid)
{
	int i;

	for (i = 0; i < n; i++)
		if (parts[i].kind == HFTMON_PART_TASK && parts[i].tid == tid)
			return &parts[i];
	return NULL;
}

/*
 * tid's parts as one span: the first TASK part naming it and the end of
 * its last. A task of higher priority than the FIFO pair (the CPU's
 * migration/N stopper, which TCG under a loaded host makes run) may take
 * the CPU in the middle of A's or B's run: it is named in its own part,
 * between two of theirs, which stay one run each. The index of the last
 * into *last.
 */
static const struct hftmon_part *span_of(int n, pid_t tid, uint64_t *end,
					 int *last)
{
	const struct hftmon_part *first = task_of(n, tid);
	int i;

	*last = -1;
	for (i = 0; i < n; i++)
		if (parts[i].kind == HFTMON_PART_TASK && parts[i].tid == tid) {
			*end = parts[i].end_ns;
			*last = i;
		}
	return first;
}

/*
 * A's span ends after its spin and by B's, beginning before A's spin
 * (preempted: woken 0) or in it, after the wake-up at woken; B's begins
 * after A's spin and covers B's; A's parts all come before B's.
 */
static void check_a_then_b(int n, const char *what, uint64_t woken)
{
	uint64_t a_end = 0, b_end = 0;
	int a_last, b_last;
	const struct hftmon_part *pa = span_of(n, cs->a_tid, &a_end, &a_last);
	const struct hftmon_part *pb = span_of(n, cs->b_tid, &b_end, &b_last);

	CHECK(pa, "%s: a TASK part naming A (tid %d)", what, (int)cs->a_tid);
	CHECK(pb, "%s: a TASK part naming B (tid %d)", what, (int)cs->b_tid);
	if (!pa || !pb)
		return;
	CHECK((woken ? pa->start_ns >= woken && pa->start_ns <= cs->a1 :
		       pa->start_ns <= cs->a0) &&
	      a_end >= cs->a1 && a_end <= cs->b0,
	      "%s: A's parts [%llu, %llu) and its spin [%llu, %llu], B's from %llu", what,
	      (unsigned long long)pa->start_ns, (unsigned long long)a_end,
	      (unsigned long long)cs->a0, (unsigned long long)cs->a1,
	      (unsigned long long)cs->b0);
	CHECK(pb->start_ns >= cs->a1 && pb->start_ns <= cs->b0 && b_end >= cs->b1,
	      "%s: B's parts [%llu, %llu) and its spin [%llu, %llu], A's to %llu", what,
	      (unsigned long long)pb->start_ns, (unsigned long long)b_end,
	      (unsigned long long)cs->b0, (unsigned long long)cs->b1,
	      (unsigned long long)cs->a1);
	CHECK(a_last < pb - parts, "%s: all of A's parts before B's", what);
	CHECK(pa->policy == SCHED_FIFO && pb->policy == SCHED_FIFO,
	      "%s: policies %u and %u, both SCHED_FIFO", what, pa->policy, pb->policy);
}

/* One run of A then B on CPU 1, timed by this thread: [*s, *e). */
static void a_then_b(uint64_t *s, uint64_t *e)
{
	*s = mono_ns();
	usleep(20000);
	put(to_a[1]);
	REQUIRE(get(ack[0]), "B's ack");
	usleep(20000);
	*e = mono_ns();
}

int main(void)
{
	struct hftmon_info info = { .size = sizeof(info) };
	const uint64_t ev = HFTMON_EV_SCHED_ALL | HFTMON_EV_RUNQ;
	const struct hftmon_part *pa;
	uint64_t s, e, w;
	pthread_t t;
	pid_t pid;
	int n, i, st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	cs = mmap(NULL, sizeof(*cs), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(cs != MAP_FAILED, "mmap");
	REQUIRE(pipe(to_a) == 0 && pipe(to_b) == 0 && pipe(ack) == 0 &&
		pipe(to_t) == 0, "pipes");
	pid = fork();
	REQUIRE(pid >= 0, "fork");
	if (!pid)
		child();
	pin(0);
	REQUIRE(pthread_create(&t, NULL, thread_t, NULL) == 0, "thread T");
	while (!cs->a_tid || !cs->b_tid || !t_tid)
		usleep(1000);

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_get_info(m, &info) == 0, "info");
	hftmon_close(m);
	CHECK(info.source_status[HFTMON_SRC_RUNQ] == 0, "runq status %d",
	      info.source_status[HFTMON_SRC_RUNQ]);

	/* 1 */
	session(ev);
	a_then_b(&s, &e);
	drain_all();
	INFO("1: T spinning, A then B (A %d, B %d, T %d); %ld RUNQ records",
	     (int)cs->a_tid, (int)cs->b_tid, (int)t_tid, runq_records);
	n = explain(s, e);
	check_a_then_b(n, "preempted", 0);
	CHECK(runq_records >= 1, "%ld RUNQ records", runq_records);
	end();

	/* 2 */
	session(HFTMON_EV_SCHED_ALL);
	a_then_b(&s, &e);
	drain_all();
	INFO("2: the same without HFTMON_EV_RUNQ; %ld RUNQ records", runq_records);
	n = explain(s, e);
	pa = task_of(n, cs->a_tid);
	CHECK(pa && pa->end_ns >= cs->b1, "without: A named for B's time too");
	CHECK(!task_of(n, cs->b_tid), "without: B not named");
	CHECK(runq_records == 0, "without: %ld RUNQ records", runq_records);
	end();

	/*
	 * 3. The wake-up must come while A spins: 5 ms after A is told
	 * to start is ample, unless a loaded host did not run A's vCPU
	 * meanwhile; then (A's own clock says so) the case is run again.
	 */
	session(ev);
	t_spinning = 0;
	for (i = 0; i < 3; i++) {
		usleep(100000); /* T blocks on its pipe, recorded */
		s = mono_ns();
		usleep(20000);
		put(to_a[1]);
		usleep(5000);
		w = mono_ns();
		put(to_t[1]); /* woken onto CPU 1, behind A */
		REQUIRE(get(ack[0]), "B's ack");
		usleep(100000); /* T's 50 ms spin, then it blocks again */
		e = mono_ns();
		if (cs->a0 <= w && w <= cs->a1)
			break;
		INFO("3: T woken at %llu, not within A's spin [%llu, %llu]: again",
		     (unsigned long long)w, (unsigned long long)cs->a0,
		     (unsigned long long)cs->a1);
	}
	REQUIRE(i < 3, "3: T never woken while A spun");
	drain_all();
	INFO("3: T woken at +%.3f ms while A spins; %ld RUNQ records", (w - s) / 1e6,
	     runq_records);
	n = explain(s, e);
	check_a_then_b(n, "woken", w);
	for (i = 0; i < n; i++)
		if (parts[i].kind == HFTMON_PART_SLEEP)
			break;
	CHECK(i < n && parts[i].end_ns >= w && parts[i].end_ns <= cs->a1,
	      "woken: a SLEEP part ending between the wake-up and A's end");

	/* 4: T blocked, not woken: nothing waits on CPU 1. */
	cs->pingpong = 1;
	drain_all();
	runq_records = runq_cpu1 = 0;
	for (i = 0; i < 100; i++) {
		put(to_a[1]);
		REQUIRE(get(ack[0]), "ping-pong ack");
	}
	drain_all();
	INFO("4: 200 switches of A and B on CPU 1, nothing waiting there: %ld RUNQ records there (%ld in all)",
	     runq_cpu1, runq_records);
	CHECK(runq_cpu1 == 0, "no waiting thread on CPU 1: %ld RUNQ records there",
	      runq_cpu1);
	end();

	t_quit = 1;
	put(to_t[1]);
	pthread_join(t, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return vmtest_result();
}
