// SPDX-License-Identifier: GPL-2.0
/*
 * Children followed (follow_children, HFTMON_ATTACH_INHERIT): this
 * process is attached, forks a child, which forks a grandchild; each
 * blocks a known number of times and exits. The kernel's own counts of a
 * task's whole life (voluntary/nonvoluntary_ctxt_switches of the zombie,
 * read before it is reaped, so its last switch-out is in them too) must
 * equal the SWITCH records whose prev is that task, split the same way:
 * tracked from the fork on, before it first ran, none missed. The FORK
 * records say FOLLOWED, and hftmon_get_processes() lists both children.
 * A burst of more children than max_procs, each reaped before the next,
 * is followed whole: the dead ones are reaped, not left to fill the table.
 * Without follow_children the same family leaves no record of its
 * children but their FORK (not FOLLOWED): the control, the bug this is
 * for (a child tracked only once the library noticed it, or never).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"

#define CHILD_SLEEPS	30
#define GRAND_SLEEPS	20

struct life {
	int pid;
	long vol, invol;		/* the kernel's, of the zombie */
};

struct count {
	int pid;
	long out_vol, out_invol;	/* SWITCH records, prev = pid */
	long others;			/* any other record with pid as subject */
	long forks_followed, forks_not_followed;
};

struct collect {
	struct count c[2];
	long bad;
	/* FORK records of the burst's children: followed, FULL, NOMEM */
	int burst_lo, burst_hi;
	long burst_followed, burst_full, burst_nomem;
};

#define BURST 150	/* more than the module's default max_procs (64) */

/*
 * BURST children forked one after another, each reaped before the next:
 * dead children must not fill the table (the refill after each fork
 * reaps them), so none is refused as FULL.
 */
static int burst(int *lo, int *hi)
{
	int i, pid;

	for (i = 0; i < BURST; i++) {
		pid = fork();
		if (pid < 0)
			return -errno;
		if (!pid)
			_exit(0);
		if (!i)
			*lo = pid;
		*hi = pid;
		waitpid(pid, NULL, 0);
	}
	return 0;
}

static void naps(int n)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	for (i = 0; i < n; i++)
		nanosleep(&ts, NULL);
}

/* Waits for pid to be a zombie (not reaped), then reads its counts. */
static int zombie_life(int pid, struct life *l)
{
	siginfo_t si;

	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		return -errno;
	l->pid = pid;
	return proc_ctxt(pid, pid, &l->vol, &l->invol);
}

/*
 * The family: a child that forks a grandchild, reads its life as a
 * zombie, reaps it, naps and exits; the two lives come back through fd:
 * the grandchild's from the child, the child's read here.
 */
static int family(struct life lives[2])
{
	int fds[2], pid, status;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct life g = { 0 };
		int gpid = fork();

		if (gpid == 0) {
			naps(GRAND_SLEEPS);
			_exit(0);
		}
		if (gpid < 0 || zombie_life(gpid, &g))
			g.pid = -1;
		waitpid(gpid, NULL, 0);
		naps(CHILD_SLEEPS);
		if (write(fds[1], &g, sizeof(g)) != sizeof(g))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &lives[1], sizeof(lives[1])) != sizeof(lives[1]))
		return -EIO;
	close(fds[0]);
	if (zombie_life(pid, &lives[0]))
		return -ESRCH;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && !WEXITSTATUS(status) && lives[1].pid > 0 ?
		       0 : -ECHILD;
}

static int on_record(void *ctx, const struct hftmon_rec_hdr *h)
{
	struct collect *col = ctx;
	const struct hftmon_rec_fork *f = (const void *)h;
	int i;

	if (hftmon_record_check(h, h->size)) {
		col->bad++;
		return 0;
	}
	if (h->type == HFTMON_REC_FORK && !(h->flags & HFTMON_FORK_THREAD) &&
	    col->burst_lo && f->child_pid >= col->burst_lo &&
	    f->child_pid <= col->burst_hi) {
		col->burst_followed += !!(h->flags & HFTMON_FORK_FOLLOWED);
		col->burst_full += !!(h->flags & HFTMON_FORK_FULL);
		col->burst_nomem += !!(h->flags & HFTMON_FORK_NOMEM);
	}
	if (h->type == HFTMON_REC_FORK && !(h->flags & HFTMON_FORK_THREAD))
		for (i = 0; i < 2; i++)
			if (f->child_pid == col->c[i].pid) {
				if (h->flags & HFTMON_FORK_FOLLOWED)
					col->c[i].forks_followed++;
				else
					col->c[i].forks_not_followed++;
			}
	for (i = 0; i < 2; i++) {
		struct count *c = &col->c[i];

		if (h->tid != c->pid)
			continue;
		if (h->type == HFTMON_REC_SWITCH) {
			/* prev untracked: a switch-in of a tracked next. */
			if (!(h->flags & HFTMON_SWITCH_PREV_TRACKED))
				continue;
			if (h->flags & HFTMON_SWITCH_VOLUNTARY)
				c->out_vol++;
			else
				c->out_invol++;
		} else {
			c->others++;
		}
	}
	return 0;
}

static void run(bool follow)
{
	struct hftmon_open_opts oo = { .sz = sizeof(oo) };
	struct hftmon_attach_opts ao = { .sz = sizeof(ao),
					 .follow_children = follow };
	struct hftmon_stats_summary st = { .sz = sizeof(st) };
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .ring_pages = 64 };
	struct collect col;
	struct life lives[2] = { { 0 } };
	struct hftmon *m = NULL;
	pid_t pids[BURST + 8];
	int i, j, n, err;

	memset(&col, 0, sizeof(col));
	REQUIRE(hftmon_open(&oo, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	err = hftmon_attach_process(m, getpid(), &ao);
	REQUIRE(err == 0, "attach (follow %d): %d", follow, err);
	REQUIRE(hftmon_start(m) == 0, "start");
	err = family(lives);
	if (!err && follow)
		err = burst(&col.burst_lo, &col.burst_hi);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	REQUIRE(err == 0, "the family: %d", err);
	col.c[0].pid = lives[0].pid;
	col.c[1].pid = lives[1].pid;
	err = hftmon_drain(m, on_record, &col);
	CHECK(err >= 0, "drain: %d", err);
	CHECK(col.bad == 0, "%ld malformed records", col.bad);
	CHECK(hftmon_get_stats(m, &st, NULL, 0) == 0, "stats");
	CHECK(st.lost_total == 0, "lost %llu records",
	      (unsigned long long)st.lost_total);
	n = hftmon_get_processes(m, pids, BURST + 8, NULL);
	if (follow) {
		INFO("a burst of %d forks: %ld followed, %ld refused FULL, %ld NOMEM (pool empty)",
		     BURST, col.burst_followed, col.burst_full,
		     col.burst_nomem);
		CHECK(col.burst_full == 0 &&
			      col.burst_followed + col.burst_nomem == BURST,
		      "burst: %ld followed, %ld FULL, %ld NOMEM of %d",
		      col.burst_followed, col.burst_full, col.burst_nomem,
		      BURST);
		CHECK(n == 3 + BURST, "hftmon_get_processes(): %d, not 3 + %d",
		      n, BURST);
	}

	for (i = 0; i < 2; i++) {
		const struct count *c = &col.c[i];
		const struct life *l = &lives[i];
		const char *who = i ? "grandchild" : "child";

		INFO("follow %d: %s %d: kernel %ld/%ld, hftmon %ld/%ld (vol/invol), %ld other records",
		     follow, who, l->pid, l->vol, l->invol, c->out_vol,
		     c->out_invol, c->others);
		if (follow) {
			CHECK(c->out_vol == l->vol && c->out_invol == l->invol,
			      "%s %d: switch-outs %ld/%ld, the kernel counted %ld/%ld",
			      who, l->pid, c->out_vol, c->out_invol, l->vol,
			      l->invol);
			CHECK(l->vol >= (i ? GRAND_SLEEPS : CHILD_SLEEPS),
			      "%s: only %ld voluntary switches", who, l->vol);
			CHECK(c->forks_followed == 1 &&
				      c->forks_not_followed == 0,
			      "%s: FORK records followed %ld, not %ld", who,
			      c->forks_followed, c->forks_not_followed);
			/*
			 * Attached first; the followed in the order their FORK
			 * records were drained, ring by ring: anywhere after.
			 */
			for (j = 1; j < n && j < BURST + 8 && pids[j] != l->pid;
			     j++)
				;
			CHECK(n >= 3 && pids[0] == getpid() &&
				      j < n && j < BURST + 8,
			      "%s %d not in hftmon_get_processes() (%d)", who,
			      l->pid, n);
		} else {
			CHECK(c->out_vol + c->out_invol + c->others == 0,
			      "%s %d not followed, yet %ld records", who,
			      l->pid, c->out_vol + c->out_invol + c->others);
			/* The grandchild's parent was not tracked: no FORK. */
			CHECK(c->forks_followed == 0 &&
				      c->forks_not_followed == !i,
			      "%s: FORK records followed %ld, not %ld", who,
			      c->forks_followed, c->forks_not_followed);
			CHECK(n == 1, "hftmon_get_processes(): %d", n);
		}
	}
	hftmon_close(m);
}

int main(void)
{
	run(false);
	run(true);
	return vmtest_result();
}
