// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Per-thread aggregation (tools/hftmon/threads.c), as the CLI's record
 * report and the drain benchmark use it: switch-outs split
 * voluntary/involuntary by HFTMON_SWITCH_VOLUNTARY, switch-ins only for a
 * tracked next task, wakeups, migrations, exits, a full table counting
 * what it could not hold, and the sorted report order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "threads.h"

static struct hftmon_rec_switch sw(__s32 pid, __s32 tid, __s32 npid, __s32 ntid,
				   __u16 flags)
{
	struct hftmon_rec_switch r;

	memset(&r, 0, sizeof(r));
	r.hdr.type = HFTMON_REC_SWITCH;
	r.hdr.size = sizeof(r);
	r.hdr.flags = flags;
	r.hdr.pid = pid;
	r.hdr.tid = tid;
	r.next_pid = npid;
	r.next_tid = ntid;
	strcpy(r.prev_comm, "prev");
	strcpy(r.next_comm, "next");
	return r;
}

static struct hftmon_rec_hdr hdr(__u16 type, __s32 pid, __s32 tid)
{
	struct hftmon_rec_hdr h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.pid = pid;
	h.tid = tid;
	return h;
}

static void test_switch_accounting(void **state)
{
	struct hftmon_thread_table t;
	struct hftmon_rec_switch r;
	struct hftmon_thread_stats *s;

	(void)state;
	assert_int_equal(hftmon_threads_init(&t, 16), 0);
	r = sw(100, 101, 0, 0,
	       HFTMON_SWITCH_PREV_TRACKED | HFTMON_SWITCH_VOLUNTARY);
	hftmon_threads_account(&t, &r.hdr);
	r = sw(100, 101, 0, 0,
	       HFTMON_SWITCH_PREV_TRACKED | HFTMON_SWITCH_PREEMPT);
	hftmon_threads_account(&t, &r.hdr);
	/* idle (tid 0) switching to a tracked thread: a switch-in only */
	r = sw(0, 0, 100, 101, HFTMON_SWITCH_NEXT_TRACKED);
	hftmon_threads_account(&t, &r.hdr);
	/* tracked to tracked */
	r = sw(100, 101, 100, 102,
	       HFTMON_SWITCH_PREV_TRACKED | HFTMON_SWITCH_NEXT_TRACKED |
		       HFTMON_SWITCH_VOLUNTARY);
	hftmon_threads_account(&t, &r.hdr);
	/* untracked next: no entry for it */
	r = sw(100, 102, 7, 7, HFTMON_SWITCH_PREV_TRACKED);
	hftmon_threads_account(&t, &r.hdr);

	assert_int_equal(t.nr, 2);
	s = hftmon_threads_get(&t, 100, 101);
	assert_int_equal(s->switch_out_voluntary, 2);
	assert_int_equal(s->switch_out_involuntary, 1);
	assert_int_equal(s->switch_in, 1);
	assert_string_equal(s->comm, "prev"); /* last seen as prev */
	s = hftmon_threads_get(&t, 100, 102);
	assert_int_equal(s->switch_in, 1);
	assert_int_equal(s->switch_out_involuntary, 1);
	assert_int_equal(t.overflow_records, 0);
	hftmon_threads_fini(&t);
}

static void test_wakeup_migrate_exit(void **state)
{
	struct hftmon_thread_table t;
	struct hftmon_rec_hdr h;
	struct hftmon_rec_exit e;
	struct hftmon_thread_stats *s;

	(void)state;
	assert_int_equal(hftmon_threads_init(&t, 4), 0);
	h = hdr(HFTMON_REC_WAKEUP, 5, 6);
	hftmon_threads_account(&t, &h);
	hftmon_threads_account(&t, &h);
	h = hdr(HFTMON_REC_MIGRATE, 5, 6);
	hftmon_threads_account(&t, &h);
	h = hdr(HFTMON_REC_IRQ, 5, 6); /* not a per-thread count */
	hftmon_threads_account(&t, &h);
	memset(&e, 0, sizeof(e));
	e.hdr = hdr(HFTMON_REC_EXIT, 5, 6);
	memset(e.comm, 'x', sizeof(e.comm)); /* not NUL-terminated */
	hftmon_threads_account(&t, &e.hdr);

	s = hftmon_threads_get(&t, 5, 6);
	assert_int_equal(s->wakeups, 2);
	assert_int_equal(s->migrations, 1);
	assert_true(s->exited);
	assert_int_equal(strlen(s->comm), HFTMON_TASK_COMM_LEN - 1);
	assert_int_equal(t.nr, 1);
	hftmon_threads_fini(&t);
}

static void test_table_full_counts_overflow(void **state)
{
	struct hftmon_thread_table t;
	struct hftmon_rec_hdr h;
	int tid;

	(void)state;
	assert_int_equal(hftmon_threads_init(&t, 100), 0);
	for (tid = 1; tid <= 150; tid++) {
		h = hdr(HFTMON_REC_WAKEUP, 1, tid);
		hftmon_threads_account(&t, &h);
	}
	assert_int_equal(t.nr, 100);
	assert_int_equal(t.overflow_records, 50);
	/* Threads already in keep being counted. */
	h = hdr(HFTMON_REC_WAKEUP, 1, 1);
	hftmon_threads_account(&t, &h);
	assert_int_equal(hftmon_threads_get(&t, 1, 1)->wakeups, 2);
	assert_int_equal(t.overflow_records, 50);
	assert_null(hftmon_threads_get(&t, 1, 0));
	assert_null(hftmon_threads_get(&t, 1, -3));
	hftmon_threads_fini(&t);
}

static void test_sorted_report(void **state)
{
	struct hftmon_thread_table t;
	struct hftmon_rec_hdr h;
	unsigned int i, n;
	static const __s32 ids[][2] = {
		{ 30, 31 }, { 10, 12 }, { 10, 10 }, { 20, 4000 }, { 10, 11 }
	};

	(void)state;
	assert_int_equal(hftmon_threads_init(&t, 8), 0);
	for (i = 0; i < 5; i++) {
		h = hdr(HFTMON_REC_MIGRATE, ids[i][0], ids[i][1]);
		hftmon_threads_account(&t, &h);
	}
	n = hftmon_threads_sort(&t);
	assert_int_equal(n, 5);
	assert_int_equal(t.slots[0].tid, 10);
	assert_int_equal(t.slots[1].tid, 11);
	assert_int_equal(t.slots[2].tid, 12);
	assert_int_equal(t.slots[3].tid, 4000);
	assert_int_equal(t.slots[4].tid, 31);
	assert_int_equal(t.slots[5].tid, 0);
	hftmon_threads_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_switch_accounting),
		cmocka_unit_test(test_wakeup_migrate_exit),
		cmocka_unit_test(test_table_full_counts_overflow),
		cmocka_unit_test(test_sorted_report),
	};

	return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
