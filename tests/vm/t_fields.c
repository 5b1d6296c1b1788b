// SPDX-License-Identifier: GPL-2.0
/*
 * Every field of every record type the module produces, against a source
 * hftmon did not compute: what the workload itself did and what the
 * kernel keeps anyway. One session tracks this process (and one child
 * process) while threads with known names, priorities and policies:
 *  - MIGRATE: move through a known sequence of sched_setaffinity() calls
 *    between the two CPUs: every move in order with its orig/dest CPU,
 *    as many records as the thread's se.nr_migrations delta
 *    (/proc/self/task/TID/sched);
 *  - FORK: fork(), a raw clone(SIGCHLD) and pthread_create(): the child
 *    pid/tid those calls (and the child's own gettid()) returned,
 *    FORK_THREAD only for the thread, the parent the caller itself, the
 *    child's comm the caller's;
 *  - WAKEUP: two threads ping-pong a byte (same CPU, then across CPUs
 *    with the scheduler's remote wake list off, then on, where the kernel
 *    hands each wake-up to the woken thread's CPU and sched_wakeup runs
 *    there): each wake-up of one inside its loop names the other as
 *    waker; WAKEUP_NEW is set on the first wake-up of every new thread
 *    (waker: its creator) and never otherwise; target_cpu is the CPU of
 *    the thread's next switch-in (or the CPU a migration took it from
 *    before that); a thread that only sleeps on a timer is woken by
 *    interrupt work, never by a task (IRQ, waker 0); NO_WAKER never;
 *  - SWITCH: prev/next pid, tid, comm, prio, policy as the threads set
 *    them (sched_setattr, setpriority, prctl(PR_SET_NAME)); VOLUNTARY
 *    split as the threads' own voluntary/nonvoluntary_ctxt_switches
 *    deltas (two spinners sharing a CPU give the involuntary ones);
 *    PREEMPT never with VOLUNTARY, and VOLUNTARY exactly when prev
 *    blocked without being preempted, as __schedule() counts it;
 *  - EXIT: one per thread that exited, with its tid and comm; a child
 *    process whose three threads exit has GROUP_DEAD on exactly one;
 *  - every header: size of its type, seq continuous per CPU, CPU valid,
 *    time inside the session, pid the thread group of tid.
 * Ground truth for t_pingpong.c's exact switch counts is not repeated.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "../../tools/workload/pingpong.h"
#include "vmtest.h"

#define PP_ROUNDS	300
#define MAX_RECS	400000
#define MAX_THREADS	32
#define NR_MOVES	6
#define FEATURES	"/sys/kernel/debug/sched/features"

/* A copy of one record (STACK records are not asked for here). */
union rec {
	struct hftmon_rec_hdr h;
	struct hftmon_rec_switch sw;
	struct hftmon_rec_wakeup wk;
	struct hftmon_rec_migrate mg;
	struct hftmon_rec_exit ex;
	struct hftmon_rec_fork fk;
};

static union rec *recs;
static size_t nr_recs;
static long bad_records, unexpected_types;

/* What the workload set for a thread it created, from its own calls. */
struct thr {
	const char *role;
	pid_t pid, tid;
	pid_t creator_tid;
	char comm[HFTMON_TASK_COMM_LEN];
	int prio;		/* kernel prio expected from t_set on */
	int policy;
	uint64_t t_set;		/* attributes final from here */
	uint64_t t_loop0, t_loop1;	/* its ping-pong loop ran inside */
	int exited;
};

static struct thr thr[MAX_THREADS];
static int nr_thr;

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static struct thr *thr_new(const char *role)
{
	REQUIRE(nr_thr < MAX_THREADS, "too many threads");
	thr[nr_thr].role = role;
	thr[nr_thr].creator_tid = gettid_();
	return &thr[nr_thr++];
}

static struct thr *thr_find(pid_t tid)
{
	int i;

	for (i = 0; i < nr_thr; i++)
		if (thr[i].tid == tid)
			return &thr[i];
	return NULL;
}

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	REQUIRE(sched_setaffinity(0, sizeof(s), &s) == 0, "pin to %d: %s", cpu,
		strerror(errno));
}

/*
 * The calling thread takes a name, a nice value or an RT policy (by
 * sched_setattr), and records what the kernel's prio must then be.
 */
/* The kernel's struct sched_attr (glibc 2.36 has no wrapper, and
 * <linux/sched/types.h> clashes with <sched.h>). */
struct sched_attr_ {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static void thr_setup(struct thr *t, const char *comm, int policy, int value)
{
	struct sched_attr_ a = { .size = sizeof(a), .sched_policy = policy };

	t->pid = getpid();
	t->tid = gettid_();
	REQUIRE(prctl(PR_SET_NAME, comm) == 0, "PR_SET_NAME");
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	if (policy == SCHED_FIFO || policy == SCHED_RR) {
		a.sched_priority = value;
		t->prio = 99 - value;
	} else {
		a.sched_nice = value;
		t->prio = 120 + value;
	}
	REQUIRE(syscall(SYS_sched_setattr, 0, &a, 0) == 0, "sched_setattr %s: %s",
		comm, strerror(errno));
	t->policy = policy;
	t->t_set = mono_ns();
}

/* ---- MIGRATE: a known sequence of moves -------------------------------- */

struct mig_result {
	long nr_mig0, nr_mig1;	/* se.nr_migrations; -1: the file lacks it */
	uint64_t t0, t1;
	int moves[NR_MOVES][2];
	int ok;
};

static long nr_migrations(pid_t tid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/sched", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "se.nr_migrations : %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static struct thr *mig_thr;
static struct mig_result mig;

static void *mig_main(void *arg)
{
	int i, from = 0;

	(void)arg;
	thr_setup(mig_thr, "fld-mig", SCHED_OTHER, 4);
	pin(0);
	mig.nr_mig0 = nr_migrations(mig_thr->tid);
	mig.t0 = mono_ns();
	for (i = 0; i < NR_MOVES; i++) {
		int to = !from;

		pin(to);
		mig.moves[i][0] = from;
		mig.moves[i][1] = to;
		if (sched_getcpu() != to)
			return NULL;
		from = to;
	}
	mig.t1 = mono_ns();
	mig.nr_mig1 = nr_migrations(mig_thr->tid);
	mig.ok = 1;
	return NULL;
}

static void run_migrate(void)
{
	pthread_t th;

	mig_thr = thr_new("migrate");
	REQUIRE(pthread_create(&th, NULL, mig_main, NULL) == 0, "thread");
	REQUIRE(pthread_join(th, NULL) == 0, "join");
	mig_thr->exited = 1;
	REQUIRE(mig.ok, "the migrate thread did not end on the CPU it moved to");
}

static void check_migrate(void)
{
	int n = 0;
	size_t i;

	for (i = 0; i < nr_recs; i++) {
		const struct hftmon_rec_migrate *r = &recs[i].mg;

		if (r->hdr.type != HFTMON_REC_MIGRATE || r->hdr.tid != mig_thr->tid ||
		    r->hdr.time_ns <= mig.t0 || r->hdr.time_ns >= mig.t1)
			continue;
		if (n < NR_MOVES) {
			CHECK(r->orig_cpu == (unsigned int)mig.moves[n][0] &&
			      r->dest_cpu == (unsigned int)mig.moves[n][1],
			      "move %d: record says %u -> %u, the thread moved %d -> %d",
			      n, r->orig_cpu, r->dest_cpu, mig.moves[n][0],
			      mig.moves[n][1]);
			/* A running thread is moved by the stopper on its CPU. */
			CHECK(r->hdr.cpu == (unsigned int)mig.moves[n][0],
			      "move %d: recorded on cpu %u, the thread left cpu %d",
			      n, r->hdr.cpu, mig.moves[n][0]);
		}
		CHECK(r->prio == mig_thr->prio, "migrate prio %d, thread's %d",
		      r->prio, mig_thr->prio);
		CHECK(r->reserved == 0, "migrate reserved %u", r->reserved);
		n++;
	}
	INFO("migrate: %d records for %d moves; se.nr_migrations %ld -> %ld", n,
	     NR_MOVES, mig.nr_mig0, mig.nr_mig1);
	CHECK(n == NR_MOVES, "%d MIGRATE records for %d sched_setaffinity moves",
	      n, NR_MOVES);
	if (mig.nr_mig0 < 0 || mig.nr_mig1 < 0)
		INFO("SKIP nr_migrations check: /proc/self/task/%d/sched has no se.nr_migrations (kernel without CONFIG_SCHED_DEBUG)",
		     mig_thr->tid);
	else
		CHECK(n == mig.nr_mig1 - mig.nr_mig0,
		      "%d MIGRATE records, se.nr_migrations delta %ld", n,
		      mig.nr_mig1 - mig.nr_mig0);
}

/* ---- FORK: fork(), clone(), pthread_create() --------------------------- */

static struct thr *fk_thr, *fk_child_thr;
static pid_t fk_fork_pid, fk_clone_pid;

static void *fk_child_main(void *arg)
{
	(void)arg;
	/* Inherits fk's comm and prio; only its tid is new. */
	fk_child_thr->pid = getpid();
	fk_child_thr->tid = gettid_();
	return NULL;
}

static void *fk_main(void *arg)
{
	pthread_t th;
	int st;

	(void)arg;
	thr_setup(fk_thr, "fld-fork", SCHED_OTHER, 2);
	fk_fork_pid = fork();
	if (fk_fork_pid == 0)
		_exit(0);
	if (fk_fork_pid < 0 || waitpid(fk_fork_pid, &st, 0) != fk_fork_pid)
		return (void *)1;
	fk_clone_pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (fk_clone_pid == 0)
		_exit(0);
	if (fk_clone_pid < 0 || waitpid(fk_clone_pid, &st, 0) != fk_clone_pid)
		return (void *)1;
	fk_child_thr = thr_new("fork-thread");
	fk_child_thr->prio = fk_thr->prio;
	fk_child_thr->policy = SCHED_OTHER;
	memcpy(fk_child_thr->comm, fk_thr->comm, sizeof(fk_thr->comm));
	if (pthread_create(&th, NULL, fk_child_main, NULL) ||
	    pthread_join(th, NULL))
		return (void *)1;
	fk_child_thr->exited = 1;
	fk_child_thr->t_set = mono_ns() + 1;	/* no switch checks: too short */
	return NULL;
}

static void run_fork(void)
{
	pthread_t th;
	void *r;

	fk_thr = thr_new("fork");
	REQUIRE(pthread_create(&th, NULL, fk_main, NULL) == 0, "thread");
	REQUIRE(pthread_join(th, &r) == 0 && !r, "fork thread failed");
	fk_thr->exited = 1;
}

static void check_one_fork(pid_t parent_tid, pid_t parent_pid, pid_t child_pid,
			   pid_t child_tid, int thread, const char *comm,
			   const char *what)
{
	int n = 0;
	size_t i;

	for (i = 0; i < nr_recs; i++) {
		const struct hftmon_rec_fork *r = &recs[i].fk;

		if (r->hdr.type != HFTMON_REC_FORK || r->child_tid != child_tid)
			continue;
		n++;
		CHECK(r->hdr.tid == parent_tid && r->hdr.pid == parent_pid,
		      "%s: parent %d/%d, the caller is %d/%d", what, r->hdr.pid,
		      r->hdr.tid, parent_pid, parent_tid);
		CHECK(r->child_pid == child_pid, "%s: child pid %d, %s returned %d",
		      what, r->child_pid, what, child_pid);
		CHECK(!!(r->hdr.flags & HFTMON_FORK_THREAD) == thread,
		      "%s: FORK_THREAD %s", what, thread ? "missing" : "set");
		CHECK(!(r->hdr.flags & ~HFTMON_FORK_THREAD), "%s: flags %#x", what,
		      r->hdr.flags);
		CHECK(strncmp(r->child_comm, comm, HFTMON_TASK_COMM_LEN) == 0,
		      "%s: child comm '%.16s', the caller's is '%s'", what,
		      r->child_comm, comm);
	}
	CHECK(n == 1, "%s (child %d/%d): %d FORK records", what, child_pid,
	      child_tid, n);
}

static void check_fork(void)
{
	check_one_fork(fk_thr->tid, getpid(), fk_fork_pid, fk_fork_pid, 0,
		       fk_thr->comm, "fork()");
	check_one_fork(fk_thr->tid, getpid(), fk_clone_pid, fk_clone_pid, 0,
		       fk_thr->comm, "clone(SIGCHLD)");
	check_one_fork(fk_thr->tid, getpid(), getpid(), fk_child_thr->tid, 1,
		       fk_thr->comm, "pthread_create()");
}

/* ---- a ping-pong of two threads (WAKEUP, SWITCH, VOLUNTARY) ------------ */

struct pp_side {
	struct thr *t;
	const char *comm;
	int policy, value, cpu;
	int in, out, go, ex;
	int serve;
	int failed;
};

static void *pp_main(void *arg)
{
	struct pp_side *s = arg;
	char c = 'x';
	int i;

	pin(s->cpu);
	thr_setup(s->t, s->comm, s->policy, s->value);
	if (pingpong_read_all(s->go, &c, 1))
		goto fail;
	s->t->t_loop0 = mono_ns();
	for (i = 0; i < PP_ROUNDS; i++) {
		if (s->serve && pingpong_write_all(s->out, &c, 1))
			goto fail;
		if (pingpong_read_all(s->in, &c, 1))
			goto fail;
		if (!s->serve && pingpong_write_all(s->out, &c, 1))
			goto fail;
	}
	s->t->t_loop1 = mono_ns();
	/* Block until the main thread closes the pipe. */
	while (read(s->ex, &c, 1) > 0)
		;
	return NULL;
fail:
	s->failed = 1;
	return NULL;
}

struct pp_run {
	const char *name;
	struct thr *a, *b;
	long vol[2], invol[2];		/* /proc deltas while blocked */
	uint64_t rd0, rd1;		/* between the two /proc reads */
	int cpu_a, cpu_b;
};

static struct pp_run pps[3];
static int nr_pps;

static int sched_feature(const char *feat)
{
	int fd = open(FEATURES, O_WRONLY), r;

	if (fd < 0)
		return -errno;
	r = write(fd, feat, strlen(feat)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int features_changed;

static void restore_features(void)
{
	if (features_changed)
		sched_feature("TTWU_QUEUE");
}

static void run_pingpong(const char *name, const char *ca, const char *cb,
			 int cpu_a, int cpu_b)
{
	int ab[2], ba[2], go[2], ex[2], i;
	struct pp_run *run = &pps[nr_pps++];
	struct pp_side side[2];
	long v0[2], i0[2], v1[2], i1[2];
	pthread_t th[2];

	REQUIRE(pipe(ab) == 0 && pipe(ba) == 0 && pipe(go) == 0 && pipe(ex) == 0,
		"pipes");
	run->name = name;
	run->cpu_a = cpu_a;
	run->cpu_b = cpu_b;
	run->a = thr_new("pingpong-a");
	run->b = thr_new("pingpong-b");
	/* A: SCHED_FIFO 10; B: SCHED_OTHER nice 5 (set by each itself). */
	side[0] = (struct pp_side){ .t = run->a, .comm = ca, .policy = SCHED_FIFO,
				    .value = 10, .cpu = cpu_a, .in = ba[0],
				    .out = ab[1], .go = go[0], .ex = ex[0],
				    .serve = 1 };
	side[1] = (struct pp_side){ .t = run->b, .comm = cb,
				    .policy = SCHED_OTHER, .value = 5,
				    .cpu = cpu_b, .in = ab[0], .out = ba[1],
				    .go = go[0], .ex = ex[0] };
	for (i = 0; i < 2; i++)
		REQUIRE(pthread_create(&th[i], NULL, pp_main, &side[i]) == 0,
			"thread");
	usleep(200000);		/* both set up and blocked on go */
	for (i = 0; i < 2; i++)
		REQUIRE(side[i].t->tid && proc_ctxt(getpid(), side[i].t->tid,
						     &v0[i], &i0[i]) == 0,
			"%s: /proc before", name);
	run->rd0 = mono_ns();
	REQUIRE(pingpong_write_all(go[1], "gg", 2) == 0, "go");
	while (!run->a->t_loop1 || !run->b->t_loop1) {
		REQUIRE(!side[0].failed && !side[1].failed, "%s failed", name);
		usleep(20000);
	}
	usleep(200000);		/* both blocked on ex */
	run->rd1 = mono_ns();
	for (i = 0; i < 2; i++)
		REQUIRE(proc_ctxt(getpid(), side[i].t->tid, &v1[i], &i1[i]) == 0,
			"%s: /proc after", name);
	for (i = 0; i < 2; i++) {
		run->vol[i] = v1[i] - v0[i];
		run->invol[i] = i1[i] - i0[i];
	}
	close(ex[1]);
	for (i = 0; i < 2; i++)
		REQUIRE(pthread_join(th[i], NULL) == 0 && !side[i].failed,
			"%s: side %d failed", name, i);
	run->a->exited = run->b->exited = 1;
	close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
	close(go[0]); close(go[1]); close(ex[0]);
}

/* ---- two spinners sharing CPU 0: involuntary, PREEMPT ------------------- */

static struct thr *spin_thr[2];
static atomic_int spin_stop;
static long spin_vol[2], spin_invol[2];
static uint64_t spin_rd0, spin_rd1;

struct spin_arg {
	struct thr *t;
	int go, ex;
};

static void *spin_main(void *arg)
{
	struct spin_arg *s = arg;
	char c;

	pin(0);
	thr_setup(s->t, s->t == spin_thr[0] ? "fld-spin0" : "fld-spin1",
		  SCHED_OTHER, 0);
	if (pingpong_read_all(s->go, &c, 1))
		return (void *)1;
	while (!atomic_load(&spin_stop))
		;
	while (read(s->ex, &c, 1) > 0)
		;
	return NULL;
}

static void run_spinners(void)
{
	struct spin_arg a[2];
	long v0[2], i0[2], v1[2], i1[2];
	int go[2], ex[2], i;
	pthread_t th[2];
	void *r;

	REQUIRE(pipe(go) == 0 && pipe(ex) == 0, "pipes");
	for (i = 0; i < 2; i++) {
		spin_thr[i] = thr_new("spinner");
		a[i] = (struct spin_arg){ .t = spin_thr[i], .go = go[0],
					  .ex = ex[0] };
		REQUIRE(pthread_create(&th[i], NULL, spin_main, &a[i]) == 0,
			"thread");
	}
	usleep(200000);
	for (i = 0; i < 2; i++)
		REQUIRE(spin_thr[i]->tid && proc_ctxt(getpid(), spin_thr[i]->tid,
						       &v0[i], &i0[i]) == 0,
			"spinners: /proc before");
	spin_rd0 = mono_ns();
	REQUIRE(pingpong_write_all(go[1], "gg", 2) == 0, "go");
	usleep(300000);		/* several ticks of sharing CPU 0 */
	atomic_store(&spin_stop, 1);
	usleep(200000);
	spin_rd1 = mono_ns();
	for (i = 0; i < 2; i++) {
		REQUIRE(proc_ctxt(getpid(), spin_thr[i]->tid, &v1[i], &i1[i]) == 0,
			"spinners: /proc after");
		spin_vol[i] = v1[i] - v0[i];
		spin_invol[i] = i1[i] - i0[i];
	}
	close(ex[1]);
	for (i = 0; i < 2; i++) {
		REQUIRE(pthread_join(th[i], &r) == 0 && !r, "spinner failed");
		spin_thr[i]->exited = 1;
	}
	close(go[0]); close(go[1]); close(ex[0]);
}

/* ---- a thread only a timer wakes: IRQ, no waker ------------------------- */

#define NR_SLEEPS	20

static struct thr *sleep_thr;

static void *sleep_main(void *arg)
{
	struct timespec ts = { .tv_nsec = 2000000 };
	int i;

	(void)arg;
	thr_setup(sleep_thr, "fld-sleep", SCHED_OTHER, 0);
	sleep_thr->t_loop0 = mono_ns();
	for (i = 0; i < NR_SLEEPS; i++)
		if (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL))
			return (void *)1;
	sleep_thr->t_loop1 = mono_ns();
	return NULL;
}

static void run_sleeper(void)
{
	pthread_t th;
	void *r;

	sleep_thr = thr_new("sleeper");
	REQUIRE(pthread_create(&th, NULL, sleep_main, NULL) == 0, "thread");
	REQUIRE(pthread_join(th, &r) == 0 && !r, "sleeper failed");
	sleep_thr->exited = 1;
}

/* Switch-outs of tid inside (lo, hi): voluntary, involuntary, preempted. */
static void count_outs(pid_t tid, uint64_t lo, uint64_t hi, long *vol,
		       long *invol, long *preempt)
{
	size_t i;

	*vol = *invol = *preempt = 0;
	for (i = 0; i < nr_recs; i++) {
		const struct hftmon_rec_hdr *h = &recs[i].h;

		if (h->type != HFTMON_REC_SWITCH || h->tid != tid ||
		    h->time_ns <= lo || h->time_ns >= hi)
			continue;
		if (h->flags & HFTMON_SWITCH_VOLUNTARY)
			++*vol;
		else
			++*invol;
		if (h->flags & HFTMON_SWITCH_PREEMPT)
			++*preempt;
	}
}

static void check_switch_counts(void)
{
	long v, iv, p;
	int i, k;

	for (k = 0; k < nr_pps; k++) {
		struct thr *t[2] = { pps[k].a, pps[k].b };

		for (i = 0; i < 2; i++) {
			count_outs(t[i]->tid, pps[k].rd0, pps[k].rd1, &v, &iv, &p);
			INFO("%s %s: /proc +%ld voluntary +%ld involuntary; records %ld voluntary, %ld involuntary (%ld preempted)",
			     pps[k].name, t[i]->comm, pps[k].vol[i],
			     pps[k].invol[i], v, iv, p);
			CHECK(v == pps[k].vol[i] && iv == pps[k].invol[i],
			      "%s %s: records %ld/%ld voluntary/involuntary, /proc %ld/%ld",
			      pps[k].name, t[i]->comm, v, iv, pps[k].vol[i],
			      pps[k].invol[i]);
		}
	}
	for (i = 0; i < 2; i++) {
		count_outs(spin_thr[i]->tid, spin_rd0, spin_rd1, &v, &iv, &p);
		INFO("%s: /proc +%ld voluntary +%ld involuntary; records %ld voluntary, %ld involuntary, %ld preempted",
		     spin_thr[i]->comm, spin_vol[i], spin_invol[i], v, iv, p);
		CHECK(spin_invol[i] > 0, "%s was never preempted sharing CPU 0",
		      spin_thr[i]->comm);
		CHECK(v == spin_vol[i] && iv == spin_invol[i],
		      "%s: records %ld/%ld voluntary/involuntary, /proc %ld/%ld",
		      spin_thr[i]->comm, v, iv, spin_vol[i], spin_invol[i]);
		/*
		 * PREEMPT is a kernel preemption (preempt_schedule*), always
		 * involuntary; a spinner in user mode is switched out on its
		 * return to user, runnable and not "preempted": involuntary
		 * either way (prev_state 0, checked for every record).
		 */
		CHECK(p <= iv, "%s: %ld PREEMPT of %ld involuntary switch-outs",
		      spin_thr[i]->comm, p, iv);
	}
}

/* ---- a child process: its threads' forks and exits, GROUP_DEAD --------- */

static pid_t child_pid, child_tids[2];
static uint64_t child_attached_ns;	/* mono_ns() once its attach returned */

static void *child_thread(void *arg)
{
	pid_t tid = gettid_();

	if (pingpong_write_all(*(int *)arg, &tid, sizeof(tid)))
		return (void *)1;
	return NULL;
}

static void run_child(struct hftmon *m)
{
	int go[2], tids[2], st, i;

	REQUIRE(pipe(go) == 0 && pipe(tids) == 0, "pipes");
	child_pid = fork();
	REQUIRE(child_pid >= 0, "fork");
	if (child_pid == 0) {
		pthread_t th[2];
		char c;

		prctl(PR_SET_NAME, "fld-child");
		if (pingpong_read_all(go[0], &c, 1))
			_exit(1);
		for (i = 0; i < 2; i++)
			if (pthread_create(&th[i], NULL, child_thread, &tids[1]))
				_exit(1);
		for (i = 0; i < 2; i++)
			if (pthread_join(th[i], NULL))
				_exit(1);
		_exit(0);
	}
	REQUIRE(hftmon_attach_process(m, child_pid, NULL) == 0, "attach child");
	child_attached_ns = mono_ns();
	REQUIRE(pingpong_write_all(go[1], "g", 1) == 0, "go");
	for (i = 0; i < 2; i++)
		REQUIRE(pingpong_read_all(tids[0], &child_tids[i],
					  sizeof(pid_t)) == 0, "child tids");
	REQUIRE(waitpid(child_pid, &st, 0) == child_pid && WIFEXITED(st) &&
		WEXITSTATUS(st) == 0, "child failed");
	close(go[0]); close(go[1]); close(tids[0]); close(tids[1]);
}

static void check_child(void)
{
	pid_t all[3] = { child_pid, child_tids[0], child_tids[1] };
	int i, group_dead = 0;
	size_t k;

	for (i = 0; i < 2; i++)
		check_one_fork(child_pid, child_pid, child_pid, child_tids[i], 1,
			       "fld-child", "child's pthread_create()");
	for (i = 0; i < 3; i++) {
		int n = 0;

		for (k = 0; k < nr_recs; k++) {
			const struct hftmon_rec_exit *r = &recs[k].ex;

			if (r->hdr.type != HFTMON_REC_EXIT || r->hdr.tid != all[i])
				continue;
			n++;
			CHECK(r->hdr.pid == child_pid, "child exit: pid %d, want %d",
			      r->hdr.pid, child_pid);
			CHECK(strcmp(r->comm, "fld-child") == 0,
			      "child exit comm '%.16s'", r->comm);
			CHECK(r->prio == 120, "child exit prio %d (nice 0)", r->prio);
			group_dead += !!(r->hdr.flags & HFTMON_EXIT_GROUP_DEAD);
		}
		CHECK(n == 1, "child tid %d: %d EXIT records", all[i], n);
	}
	CHECK(group_dead == 1, "child process: GROUP_DEAD on %d EXIT records",
	      group_dead);
}

/* ---- checks over all records ------------------------------------------- */

static size_t type_size(unsigned int type)
{
	switch (type) {
	case HFTMON_REC_SWITCH: return sizeof(struct hftmon_rec_switch);
	case HFTMON_REC_WAKEUP: return sizeof(struct hftmon_rec_wakeup);
	case HFTMON_REC_MIGRATE: return sizeof(struct hftmon_rec_migrate);
	case HFTMON_REC_EXIT: return sizeof(struct hftmon_rec_exit);
	case HFTMON_REC_FORK: return sizeof(struct hftmon_rec_fork);
	default: return 0;
	}
}

static int is_ours(pid_t pid)
{
	return pid == getpid() || pid == child_pid;
}

/*
 * Whether the module could know pid as ours at time t: the child is
 * forked while the session runs and attached only after, so its switches
 * before the attach returned (to or from the tracked parent) rightly
 * carry no TRACKED flag for it (seen twice on 6.12 kernels: prev = the
 * child, state 0x1, blocked on "go" before its attach).
 */
static int known_at(pid_t pid, uint64_t t)
{
	return pid != child_pid || t >= child_attached_ns;
}

/* recs in drain order: CPU by CPU, each in ring order. */
static void check_headers(uint64_t start_ns, uint64_t stop_ns, int ncpu)
{
	uint64_t next_seq[HFTMON_MAX_CPUS] = { 0 };
	long seq_breaks = 0;
	size_t i;

	for (i = 0; i < nr_recs; i++) {
		const struct hftmon_rec_hdr *h = &recs[i].h;
		const struct hftmon_rec_switch *sw = &recs[i].sw;
		int subject_ours = is_ours(h->pid);

		CHECK(h->size == type_size(h->type), "type %u size %u", h->type,
		      h->size);
		CHECK(h->cpu < ncpu, "record on cpu %u of %d", h->cpu, ncpu);
		if (h->cpu < ncpu && h->cpu < HFTMON_MAX_CPUS) {
			if (h->seq != next_seq[h->cpu])
				seq_breaks++;
			next_seq[h->cpu] = h->seq + 1;
		}
		CHECK(h->time_ns >= start_ns && h->time_ns <= stop_ns,
		      "record at %llu outside the session %llu..%llu",
		      (unsigned long long)h->time_ns,
		      (unsigned long long)start_ns, (unsigned long long)stop_ns);
		if (h->type == HFTMON_REC_SWITCH) {
			/*
			 * A dying task's last switch-out may come after its
			 * parent reaped it on another CPU: its struct pid is
			 * detached by then, so the module rightly cannot tell
			 * it is the tracked process (seen once on 6.12-rt).
			 * Only then may PREV_TRACKED be missing.
			 */
			if (subject_ours && !(h->flags & HFTMON_SWITCH_PREV_TRACKED) &&
			    (sw->prev_state & (0x80 | 0x10 | 0x20)))
				INFO("switch prev %d/%d: dying (state %#x), not flagged tracked",
				     h->pid, h->tid, sw->prev_state);
			else if (known_at(h->pid, h->time_ns))
				CHECK(!!(h->flags & HFTMON_SWITCH_PREV_TRACKED) ==
				      subject_ours,
				      "switch prev %d/%d: PREV_TRACKED %#x state %#x",
				      h->pid, h->tid, h->flags, sw->prev_state);
			if (known_at(sw->next_pid, h->time_ns))
				CHECK(!!(h->flags & HFTMON_SWITCH_NEXT_TRACKED) ==
				      is_ours(sw->next_pid),
				      "switch next %d/%d: NEXT_TRACKED %#x", sw->next_pid,
				      sw->next_tid, h->flags);
			CHECK(subject_ours || is_ours(sw->next_pid),
			      "switch %d -> %d: neither tracked", h->tid,
			      sw->next_tid);
			/* As __schedule() counts prev in nvcsw or nivcsw. */
			CHECK(!!(h->flags & HFTMON_SWITCH_VOLUNTARY) ==
			      (!(h->flags & HFTMON_SWITCH_PREEMPT) &&
			       sw->prev_state != 0),
			      "switch of %d: flags %#x with prev_state %#x", h->tid,
			      h->flags, sw->prev_state);
			CHECK(!(h->flags & ~0xfu), "switch flags %#x", h->flags);
			CHECK(sw->prev_kstack_id == 0 && sw->prev_ustack_id == 0,
			      "stack ids without stacks asked for");
		} else {
			CHECK(subject_ours, "type %u of untracked %d/%d", h->type,
			      h->pid, h->tid);
		}
	}
	CHECK(seq_breaks == 0, "%ld breaks in per-CPU seq (no loss expected)",
	      seq_breaks);
}

/* Records of a thread we created must carry what the thread set. */
/*
 * On PREEMPT_RT a pipe's mutex is an rt_mutex: the SCHED_FIFO side of a
 * ping-pong that blocks on it while its partner holds it lends the
 * partner its priority (PI), and the scheduler then switches the partner
 * at that priority. Only that boost, only there, is allowed besides the
 * priority the thread set.
 */
static int is_rt;
static long pi_boosted;

static int prio_ok(const struct thr *t, int prio)
{
	int k;

	if (prio == t->prio)
		return 1;
	for (k = 0; is_rt && k < nr_pps; k++) {
		if (pps[k].b == t && prio == pps[k].a->prio) {
			pi_boosted++;
			return 1;
		}
	}
	return 0;
}

static void check_switch_fields(void)
{
	long checked_prev = 0, checked_next = 0;
	struct utsname u;
	size_t i;

	is_rt = uname(&u) == 0 && strstr(u.version, "PREEMPT_RT");

	for (i = 0; i < nr_recs; i++) {
		const struct hftmon_rec_switch *sw = &recs[i].sw;
		const struct thr *p, *n;

		if (sw->hdr.type != HFTMON_REC_SWITCH)
			continue;
		p = thr_find(sw->hdr.tid);
		n = thr_find(sw->next_tid);
		if (p && p->t_set && sw->hdr.time_ns > p->t_set) {
			checked_prev++;
			CHECK(sw->hdr.pid == p->pid, "prev %d: pid %d, want %d",
			      p->tid, sw->hdr.pid, p->pid);
			CHECK(strncmp(sw->prev_comm, p->comm, 16) == 0,
			      "prev %d: comm '%.16s', set '%s'", p->tid,
			      sw->prev_comm, p->comm);
			CHECK(prio_ok(p, sw->prev_prio), "prev %s: prio %d, set %d",
			      p->comm, sw->prev_prio, p->prio);
		}
		if (n && n->t_set && sw->hdr.time_ns > n->t_set) {
			checked_next++;
			CHECK(sw->next_pid == n->pid, "next %d: pid %d, want %d",
			      n->tid, sw->next_pid, n->pid);
			CHECK(strncmp(sw->next_comm, n->comm, 16) == 0,
			      "next %d: comm '%.16s', set '%s'", n->tid,
			      sw->next_comm, n->comm);
			CHECK(prio_ok(n, sw->next_prio), "next %s: prio %d, set %d",
			      n->comm, sw->next_prio, n->prio);
			CHECK(sw->next_policy == (unsigned int)n->policy,
			      "next %s: policy %u, set %d", n->comm,
			      sw->next_policy, n->policy);
		}
	}
	INFO("switch fields: %ld switch-outs and %ld switch-ins of our threads checked, %ld at a PI-boosted priority",
	     checked_prev, checked_next, pi_boosted);
	CHECK(checked_prev > 100 && checked_next > 100,
	      "too few switches of our threads to check (%ld out, %ld in)",
	      checked_prev, checked_next);
}

static int by_time(const void *a, const void *b)
{
	const struct hftmon_rec_hdr *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void check_wakeups(void)
{
	long target_checked = 0, target_remote = 0;
	size_t i, j;
	int k, t;

	/* WAKEUP_NEW: first wake-up of each new thread, by its creator. */
	for (k = 0; k < nr_thr; k++) {
		const struct hftmon_rec_wakeup *first = NULL;
		long news = 0;

		for (i = 0; i < nr_recs; i++) {
			const struct hftmon_rec_wakeup *w = &recs[i].wk;

			if (w->hdr.type != HFTMON_REC_WAKEUP ||
			    w->hdr.tid != thr[k].tid)
				continue;
			if (!first)
				first = w;
			news += !!(w->hdr.flags & HFTMON_WAKEUP_NEW);
		}
		CHECK(first, "%s %d: no wake-up at all", thr[k].role, thr[k].tid);
		if (!first)
			continue;
		CHECK(first->hdr.flags & HFTMON_WAKEUP_NEW,
		      "%s %d: first wake-up without WAKEUP_NEW", thr[k].role,
		      thr[k].tid);
		CHECK(news == 1, "%s %d: WAKEUP_NEW on %ld wake-ups", thr[k].role,
		      thr[k].tid, news);
		CHECK(first->waker_tid == thr[k].creator_tid &&
		      first->waker_pid == getpid(),
		      "%s %d: new-thread waker %d/%d, its creator is %d/%d",
		      thr[k].role, thr[k].tid, first->waker_pid, first->waker_tid,
		      getpid(), thr[k].creator_tid);
	}
	for (i = 0; i < nr_recs; i++) {
		const struct hftmon_rec_wakeup *w = &recs[i].wk;

		if (w->hdr.type != HFTMON_REC_WAKEUP)
			continue;
		CHECK(!(w->hdr.flags & ~(HFTMON_WAKEUP_NEW | HFTMON_WAKEUP_IRQ)),
		      "wakeup of %d: flags %#x (NO_WAKER: waker not seen)",
		      w->hdr.tid, w->hdr.flags);
		CHECK(!(w->hdr.flags & HFTMON_WAKEUP_IRQ) ||
		      (!(w->hdr.flags & HFTMON_WAKEUP_NEW) && !w->waker_pid &&
		       !w->waker_tid),
		      "wakeup of %d: flags %#x, waker %d/%d", w->hdr.tid,
		      w->hdr.flags, w->waker_pid, w->waker_tid);
		/* A thread that exists before the session is never new. */
		if (w->hdr.flags & HFTMON_WAKEUP_NEW)
			CHECK(thr_find(w->hdr.tid) ||
			      w->hdr.tid == child_tids[0] ||
			      w->hdr.tid == child_tids[1],
			      "WAKEUP_NEW on %d/%d, not a thread made here",
			      w->hdr.pid, w->hdr.tid);
		if (thr_find(w->hdr.tid) && thr_find(w->hdr.tid)->t_set &&
		    w->hdr.time_ns > thr_find(w->hdr.tid)->t_set)
			CHECK(w->prio == thr_find(w->hdr.tid)->prio,
			      "wakeup of %d: prio %d, set %d", w->hdr.tid, w->prio,
			      thr_find(w->hdr.tid)->prio);
		/* target_cpu: where the thread next runs (or is moved from). */
		for (j = i + 1; j < nr_recs; j++) {
			const union rec *n = &recs[j];

			if (n->h.type == HFTMON_REC_SWITCH &&
			    n->sw.next_tid == w->hdr.tid) {
				CHECK(w->target_cpu == n->h.cpu,
				      "wakeup of %d at %llu: target_cpu %u, next ran on cpu %u",
				      w->hdr.tid, (unsigned long long)w->hdr.time_ns,
				      w->target_cpu, n->h.cpu);
				break;
			}
			if (n->h.type == HFTMON_REC_MIGRATE &&
			    n->h.tid == w->hdr.tid) {
				CHECK(w->target_cpu == n->mg.orig_cpu,
				      "wakeup of %d: target_cpu %u, then moved from %u",
				      w->hdr.tid, w->target_cpu, n->mg.orig_cpu);
				break;
			}
		}
		if (j < nr_recs) {
			target_checked++;
			target_remote += w->target_cpu != w->hdr.cpu;
		}
	}
	INFO("target_cpu checked on %ld wake-ups, %ld of them made on another CPU",
	     target_checked, target_remote);

	/*
	 * The waker of each wake-up inside a ping-pong loop is the partner,
	 * whichever CPU enqueued it (handed: the woken thread's own CPU, not
	 * the waker's, made the record: the kernel's remote wake list).
	 */
	for (k = 0; k < nr_pps; k++) {
		long woken = 0;

		for (t = 0; t < 2; t++) {
			const struct thr *me = t ? pps[k].b : pps[k].a;
			const struct thr *peer = t ? pps[k].a : pps[k].b;
			int peer_cpu = t ? pps[k].cpu_a : pps[k].cpu_b;
			long n = 0, wrong = 0, handed = 0;
			pid_t wrong_tid = 0;

			for (i = 0; i < nr_recs; i++) {
				const struct hftmon_rec_wakeup *w = &recs[i].wk;

				if (w->hdr.type != HFTMON_REC_WAKEUP ||
				    w->hdr.tid != me->tid ||
				    w->hdr.time_ns <= me->t_loop0 ||
				    w->hdr.time_ns >= me->t_loop1)
					continue;
				n++;
				handed += (int)w->hdr.cpu != peer_cpu;
				CHECK(w->hdr.pid == getpid(), "woken pid %d",
				      w->hdr.pid);
				if (w->waker_tid != peer->tid ||
				    w->waker_pid != peer->pid) {
					wrong++;
					wrong_tid = w->waker_tid;
				}
			}
			INFO("%s: %ld wake-ups of %s in its loop, %ld recorded on its own CPU, not its waker's; %ld not naming %s (e.g. %d)",
			     pps[k].name, n, me->comm, handed, wrong, peer->comm,
			     wrong_tid);
			woken += n;
			CHECK(wrong == 0,
			      "%s: %ld wake-ups of %s name waker %d, not %s %d",
			      pps[k].name, wrong, me->comm, wrong_tid,
			      peer->comm, peer->tid);
		}
		/* Same CPU, the FIFO side preempts its partner before that
		 * one blocks: only one side may ever be woken. */
		CHECK(woken > 0, "%s: no wake-up inside the loops", pps[k].name);
	}

	/* Only its timer wakes the sleeper: interrupt work, not a task. */
	{
		long n = 0, irq = 0;

		for (i = 0; i < nr_recs; i++) {
			const struct hftmon_rec_wakeup *w = &recs[i].wk;

			if (w->hdr.type != HFTMON_REC_WAKEUP ||
			    w->hdr.tid != sleep_thr->tid ||
			    w->hdr.time_ns <= sleep_thr->t_loop0 ||
			    w->hdr.time_ns >= sleep_thr->t_loop1)
				continue;
			n++;
			if (w->hdr.flags & HFTMON_WAKEUP_IRQ)
				irq++;
			else
				INFO("sleeper woken at %llu by %d/%d, flags %#x",
				     (unsigned long long)w->hdr.time_ns,
				     w->waker_pid, w->waker_tid, w->hdr.flags);
		}
		INFO("sleeper: %ld wake-ups in its %d sleeps, %ld from interrupt context",
		     n, NR_SLEEPS, irq);
		CHECK(n > 0 && n <= NR_SLEEPS, "sleeper: %ld wake-ups in %d sleeps",
		      n, NR_SLEEPS);
		CHECK(irq == n, "sleeper: %ld of %ld timer wake-ups not IRQ",
		      n - irq, n);
	}
}

static void check_exits(void)
{
	size_t i;
	int k;

	for (k = 0; k < nr_thr; k++) {
		int n = 0;

		for (i = 0; i < nr_recs; i++) {
			const struct hftmon_rec_exit *r = &recs[i].ex;

			if (r->hdr.type != HFTMON_REC_EXIT || r->hdr.tid != thr[k].tid)
				continue;
			n++;
			CHECK(r->hdr.pid == getpid(), "exit of %d: pid %d",
			      thr[k].tid, r->hdr.pid);
			CHECK(strncmp(r->comm, thr[k].comm, 16) == 0,
			      "exit of %d: comm '%.16s', set '%s'", thr[k].tid,
			      r->comm, thr[k].comm);
			CHECK(r->prio == thr[k].prio, "exit of %s: prio %d, set %d",
			      thr[k].comm, r->prio, thr[k].prio);
			CHECK(!(r->hdr.flags & HFTMON_EXIT_GROUP_DEAD),
			      "exit of %s: GROUP_DEAD while the process lives",
			      thr[k].comm);
			CHECK(r->reserved == 0, "exit reserved %u", r->reserved);
		}
		CHECK(n == (thr[k].exited ? 1 : 0), "%s %d: %d EXIT records",
		      thr[k].role, thr[k].tid, n);
	}
	for (i = 0; i < nr_recs; i++) {
		const struct hftmon_rec_hdr *h = &recs[i].h;

		if (h->type == HFTMON_REC_EXIT && h->pid == getpid())
			CHECK(thr_find(h->tid), "EXIT of %d, a thread that did not exit",
			      h->tid);
		/* fork()/clone() children are other processes: untracked. */
		CHECK(h->type == HFTMON_REC_SWITCH ||
		      (h->pid != fk_fork_pid && h->pid != fk_clone_pid),
		      "a record of the untracked fork child %d", h->pid);
	}
}

static int copy_record(void *ctx, const struct hftmon_rec_hdr *h)
{
	(void)ctx;
	if (hftmon_record_check(h, h->size)) {
		bad_records++;
		return 0;
	}
	if (h->size > sizeof(union rec)) {
		unexpected_types++;
		return 0;
	}
	if (nr_recs < MAX_RECS)
		memcpy(&recs[nr_recs++], h, h->size);
	return 0;
}

int main(void)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 1024 };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct hftmon_info info = { .size = sizeof(info) };
	struct hftmon *m;
	int err, strict_remote;

	setvbuf(stdout, NULL, _IOLBF, 0);
	recs = calloc(MAX_RECS, sizeof(*recs));
	REQUIRE(recs, "no memory");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		INFO("SKIP: needs 2 online CPUs to move threads between");
		return 77;
	}
	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	info.size = sizeof(info);
	REQUIRE(hftmon_get_info(m, &info) == 0, "info");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(hftmon_attach_process(m, getpid(), NULL) == 0, "attach self");
	REQUIRE(hftmon_start(m) == 0, "start");

	run_migrate();
	run_fork();
	run_pingpong("pingpong-cpu0", "fld-a0", "fld-b0", 0, 0);
	/* Remote wake-ups made by the waker itself: the wake list off. */
	if (access(FEATURES, W_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	strict_remote = sched_feature("NO_TTWU_QUEUE") == 0;
	if (strict_remote) {
		features_changed = 1;
		atexit(restore_features);
		run_pingpong("pingpong-remote", "fld-a1", "fld-b1", 0, 1);
		restore_features();
		features_changed = 0;
	} else {
		INFO("SKIP remote ping-pong with the wake list off: cannot write %s (%s)",
		     FEATURES, strerror(errno));
	}
	/* The kernel's default: remote wake-ups handed to the target CPU. */
	run_pingpong("pingpong-remote-wakelist", "fld-a2", "fld-b2", 0, 1);
	run_sleeper();
	run_spinners();
	run_child(m);

	REQUIRE(hftmon_stop(m) == 0, "stop");
	err = hftmon_drain(m, copy_record, NULL);
	CHECK(err >= 0, "drain: %d", err);
	REQUIRE(hftmon_get_stats(m, &sum, NULL, 0) == 0, "stats");
	INFO("%zu records, %llu lost, %llu seq gaps", nr_recs,
	     (unsigned long long)sum.lost_total, (unsigned long long)sum.seq_gaps);
	REQUIRE(nr_recs < MAX_RECS, "more than %d records", MAX_RECS);
	CHECK(sum.lost_total == 0, "%llu records lost",
	      (unsigned long long)sum.lost_total);
	CHECK(bad_records == 0 && unexpected_types == 0,
	      "%ld malformed, %ld unexpected records", bad_records,
	      unexpected_types);
	check_headers(sum.start_ns, sum.stop_ns, (int)info.nr_cpu_ids);
	qsort(recs, nr_recs, sizeof(*recs), by_time);
	check_migrate();
	check_fork();
	check_child();
	check_exits();
	check_switch_fields();
	check_switch_counts();
	check_wakeups();
	hftmon_close(m);
	return vmtest_result();
}
