// SPDX-License-Identifier: GPL-2.0
/*
 * Ground truth for context switches: a ping-pong of known round trips is
 * attached, and for every thread the SWITCH records whose prev is that
 * thread must equal the kernel's own voluntary/nonvoluntary_ctxt_switches
 * deltas in /proc/PID/task/TID/status, split the same way.
 *
 * The deltas are taken while both tasks are blocked (before their start
 * and after their last round), and only records stamped between the two
 * reads are counted; a record inside a read window would make the
 * comparison ambiguous, so the test fails loudly if one shows up there.
 * Scenarios: two processes on one CPU, two processes free to migrate,
 * two threads of one process on one CPU.
 */
#define _GNU_SOURCE
#include <unistd.h>

#include <hftmon.h>

#include "../../tools/workload/pingpong.h"
#include "vmtest.h"

#define ROUNDS	2000

struct task_count {
	int tid;
	long out_vol, out_invol;	/* switch-outs in the window */
	long in;			/* switch-ins in the window */
	long wakeups;
	long in_read_window;		/* records while /proc was read */
	long outside_session;
};

struct collect {
	struct task_count t[2];
	uint64_t win_lo, win_hi;	/* between the two /proc reads */
	uint64_t rd0_lo, rd0_hi, rd1_lo, rd1_hi;
	uint64_t start_ns, stop_ns;
	long records, bad;
};

static int on_record(void *ctx, const struct hftmon_rec_hdr *h)
{
	struct collect *c = ctx;
	const struct hftmon_rec_switch *sw = (const void *)h;
	int i;

	c->records++;
	if (hftmon_record_check(h, h->size)) {
		c->bad++;
		return 0;
	}
	for (i = 0; i < 2; i++) {
		struct task_count *t = &c->t[i];
		int mine = h->tid == t->tid ||
			   (h->type == HFTMON_REC_SWITCH && sw->next_tid == t->tid);
		int in_win = h->time_ns > c->win_lo && h->time_ns < c->win_hi;

		if (!mine)
			continue;
		if ((h->time_ns >= c->rd0_lo && h->time_ns <= c->rd0_hi) ||
		    (h->time_ns >= c->rd1_lo && h->time_ns <= c->rd1_hi))
			t->in_read_window++;
		if (h->time_ns < c->start_ns || h->time_ns > c->stop_ns)
			t->outside_session++;
		if (!in_win)
			continue;
		if (h->type == HFTMON_REC_SWITCH && h->tid == t->tid) {
			if (h->flags & HFTMON_SWITCH_VOLUNTARY)
				t->out_vol++;
			else
				t->out_invol++;
			CHECK(h->flags & HFTMON_SWITCH_PREV_TRACKED,
			      "tid %d switch-out without PREV_TRACKED", t->tid);
		}
		if (h->type == HFTMON_REC_SWITCH && sw->next_tid == t->tid) {
			t->in++;
			CHECK(h->flags & HFTMON_SWITCH_NEXT_TRACKED,
			      "tid %d switch-in without NEXT_TRACKED", t->tid);
		}
		if (h->type == HFTMON_REC_WAKEUP && h->tid == t->tid)
			t->wakeups++;
	}
	return 0;
}

static void scenario(const char *name, enum pingpong_mode mode, int cpu)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 512 };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	long vol0[2], inv0[2], vol1[2], inv1[2];
	struct collect c = { 0 };
	struct pingpong pp;
	struct hftmon *m;
	int i, err;

	INFO("scenario %s: %d round trips", name, ROUNDS);
	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(pingpong_spawn(&pp, mode, ROUNDS, cpu) == 0, "spawn");
	REQUIRE(hftmon_attach_process(m, pp.pid[0], NULL) == 0, "attach");
	if (pp.pid[1] != pp.pid[0])
		REQUIRE(hftmon_attach_process(m, pp.pid[1], NULL) == 0,
			"attach 2");
	REQUIRE(hftmon_start(m) == 0, "start");
	usleep(200000);		/* both tasks blocked on "go" by now */

	c.rd0_lo = mono_ns();
	for (i = 0; i < 2; i++)
		REQUIRE(proc_ctxt(pp.pid[i], pp.tid[i], &vol0[i], &inv0[i]) == 0,
			"read /proc before");
	c.rd0_hi = c.win_lo = mono_ns();
	REQUIRE(pingpong_go(&pp) == 0, "go");
	REQUIRE(pingpong_wait_done(&pp) == 0, "done");
	usleep(200000);		/* both blocked on "exit" by now */
	c.rd1_lo = c.win_hi = mono_ns();
	for (i = 0; i < 2; i++)
		REQUIRE(proc_ctxt(pp.pid[i], pp.tid[i], &vol1[i], &inv1[i]) == 0,
			"read /proc after");
	c.rd1_hi = mono_ns();
	REQUIRE(hftmon_stop(m) == 0, "stop");

	REQUIRE(hftmon_get_stats(m, &sum, NULL, 0) == 0, "stats");
	c.start_ns = sum.start_ns;
	c.stop_ns = sum.stop_ns;
	for (i = 0; i < 2; i++)
		c.t[i].tid = pp.tid[i];
	err = hftmon_drain(m, on_record, &c);
	CHECK(err >= 0, "drain: %d", err);
	REQUIRE(hftmon_get_stats(m, &sum, NULL, 0) == 0, "stats");

	CHECK(sum.lost_total == 0, "%llu records lost",
	      (unsigned long long)sum.lost_total);
	CHECK(sum.seq_gaps == 0, "%llu seq gaps",
	      (unsigned long long)sum.seq_gaps);
	CHECK(c.bad == 0, "%ld malformed records", c.bad);
	CHECK((uint64_t)c.records == sum.delivered, "delivered %llu, saw %ld",
	      (unsigned long long)sum.delivered, c.records);
	for (i = 0; i < 2; i++) {
		struct task_count *t = &c.t[i];
		long dv = vol1[i] - vol0[i], di = inv1[i] - inv0[i];

		INFO("tid %d: /proc +%ld voluntary +%ld involuntary; hftmon %ld voluntary %ld involuntary, %ld switch-ins, %ld wakeups",
		     t->tid, dv, di, t->out_vol, t->out_invol, t->in, t->wakeups);
		CHECK(t->in_read_window == 0,
		      "tid %d: %ld records while /proc was read (comparison ambiguous)",
		      t->tid, t->in_read_window);
		CHECK(t->outside_session == 0,
		      "tid %d: %ld records outside start..stop", t->tid,
		      t->outside_session);
		/* Sharing one CPU, each task leaves it at least once per round
		 * trip (blocked, or preempted by the partner it just woke). */
		CHECK(cpu < 0 || dv + di >= ROUNDS,
		      "tid %d switched out %ld times for %d rounds on one CPU",
		      t->tid, dv + di, ROUNDS);
		CHECK(t->out_vol == dv, "tid %d voluntary: hftmon %ld, kernel %ld",
		      t->tid, t->out_vol, dv);
		CHECK(t->out_invol == di,
		      "tid %d involuntary: hftmon %ld, kernel %ld", t->tid,
		      t->out_invol, di);
		/* Blocked before and after the window: every out has an in. */
		CHECK(t->in == t->out_vol + t->out_invol,
		      "tid %d: %ld switch-ins for %ld switch-outs", t->tid, t->in,
		      t->out_vol + t->out_invol);
		/* Each block ends in a wake-up (one may hit a still-running task). */
		CHECK(t->wakeups >= t->out_vol, "tid %d: %ld wakeups < %ld blocks",
		      t->tid, t->wakeups, t->out_vol);
	}
	CHECK(pingpong_finish(&pp) == 0, "workload failed");
	hftmon_close(m);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	scenario("processes-on-cpu0", PINGPONG_PROCESSES, 0);
	scenario("processes-free", PINGPONG_PROCESSES, -1);
	scenario("threads-on-cpu1", PINGPONG_THREADS, 1);
	return vmtest_result();
}
