// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Recording files (lib/file.c): a session on the fake device recorded
 * with hftmon_record_to_file() and read back with hftmon_open_file()
 * answers as the live handle did. The reference is the live handle's own
 * answers (tests/unit/test_agg.c proves those against hand-worked
 * values), plus the numbers of records this test produced: the same
 * switches field by field, the same wake-up latency, the same stacks,
 * the same records from hftmon_drain() byte for byte and in the same
 * order, the same loss and late counts (a late record, which only the
 * passes' ring bounds reproduce), the notes. Then damaged files: no
 * magic, a newer major version, a record of size 3, a cut-short file;
 * windows that end where the recording stopped; and what a file handle
 * refuses (-EBADF) and when recording may begin.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_records.h"
#include "fake_sys.h"
#include "file.h"
#include "hftmon.h"

#define US(t) (1000000ull + (uint64_t)(t) * 1000ull)

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "t1",
				     .prio = 120, .tracked = true };
static const struct fake_task T2 = { .pid = 100, .tid = 102, .comm = "t2",
				     .prio = 120, .tracked = true };
static const struct fake_switch BLOCK = { .prev_state = 1 };
static const struct fake_switch BLOCK_STACK = { .prev_state = 1, .kstack = 7 };

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	fake_setup(2);
	snprintf(path, sizeof(path), "/tmp/hftmon-test-file-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return fake_teardown_checked();
}

/* Every record drained, back to back, to compare live and file. */
struct capture {
	unsigned char buf[1 << 16];
	size_t len;
	unsigned int n;
};

static int capture(void *ctx, const struct hftmon_rec_hdr *rec)
{
	struct capture *c = ctx;

	assert_true(c->len + rec->size <= sizeof(c->buf));
	memcpy(c->buf + c->len, rec, rec->size);
	c->len += rec->size;
	c->n++;
	return 0;
}

static struct hftmon *open_live(int *fd)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, NULL), 0);
	*fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(*fd >= 0);
	return m;
}

static struct hftmon *open_recorded(void)
{
	struct hftmon *f = NULL;

	assert_int_equal(hftmon_open_file(path, NULL, &f), 0);
	return f;
}

static struct hftmon_stats_summary stats(struct hftmon *m)
{
	struct hftmon_stats_summary s = { .sz = sizeof(s) };

	assert_int_equal(hftmon_get_stats(m, &s, NULL, 0), 0);
	return s;
}

/*
 * A session of three passes, recorded; returns the live handle, stopped,
 * and the file's descriptor in *fd (closed after the handle: its close
 * writes the END section).
 */
static struct hftmon *record_session(struct capture *live, int *fdp)
{
	static const uint64_t ips[3] = { 0xffffffff81000010ull,
					 0xffffffff81000020ull, 0 };
	struct hftmon *m;
	int fd;

	m = open_live(&fd);
	assert_int_equal(hftmon_attach_process(m, getpid(), NULL), 0);
	assert_int_equal(hftmon_record_to_file(m, fd), 0);
	assert_int_equal(hftmon_start(m), 0);
	fake_switch(0, US(10), &T1, NULL, &BLOCK_STACK);
	fake_stack(0, US(10), &T1, 7, ips, 2, 0);
	fake_wakeup(1, US(30), &T1, &T2, 0);
	fake_switch(0, US(35), NULL, &T1, NULL);
	assert_true(hftmon_drain(m, capture, live) > 0);
	fake_switch(1, US(40), &T2, NULL, &BLOCK);
	fake_switch(1, US(90), NULL, &T2, NULL);
	assert_true(hftmon_drain(m, capture, live) > 0);
	/* Late records: older than what the last pass processed. */
	fake_switch(0, US(20), &T2, NULL, &BLOCK);
	fake_switch(0, US(25), NULL, &T2, NULL);
	assert_true(hftmon_drain(m, capture, live) > 0);
	assert_int_equal(hftmon_file_note(m, "hello", "world", 5), 0);
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(hftmon_drain(m, capture, live), 0);
	*fdp = fd;
	return m;
}

static void test_round_trip(void **state)
{
	struct hftmon_switch_query q = { .sz = sizeof(q),
					 .include_stack_trace = true };
	struct hftmon_switch_event a[8] = { [0].sz = sizeof(a[0]) };
	struct hftmon_switch_event b[8] = { [0].sz = sizeof(b[0]) };
	struct hftmon_latency_query lq = { .sz = sizeof(lq) };
	struct hftmon_latency la = { .sz = sizeof(la) };
	struct hftmon_latency lb = { .sz = sizeof(lb) };
	struct hftmon_stats_summary sa, sb;
	struct hftmon_file_info fi = { .sz = sizeof(fi) };
	struct hftmon_thread_info ti[64] = { [0].sz = sizeof(ti[0]) };
	static struct capture live, back;
	uint64_t ipa[8], ipb[8];
	unsigned int fa, fb;
	struct hftmon *m, *f;
	const void *data;
	size_t len;
	int na, nb, i, fd;

	(void)state;
	memset(&live, 0, sizeof(live));
	memset(&back, 0, sizeof(back));
	m = record_session(&live, &fd);
	na = hftmon_get_context_switches(m, &q, a, 8);
	assert_int_equal(hftmon_get_wakeup_latency(m, &lq, &la), 0);
	sa = stats(m);
	assert_int_equal(hftmon_get_stack(m, 7, ipa, 8, &fa), 2);
	hftmon_close(m); /* writes the END section */
	close(fd);

	f = open_recorded();
	assert_int_equal(hftmon_file_info(f, &fi), 0);
	assert_true(fi.complete && fi.have_stats);
	assert_int_equal(fi.major, HFTMON_FILE_MAJOR);
	assert_int_equal(fi.nr_cpus, 2);

	/* Three switches completed (T1, T2, and T2's late one). */
	assert_int_equal(na, 3);
	nb = hftmon_get_context_switches(f, &q, b, 8);
	assert_int_equal(nb, na);
	for (i = 0; i < na; i++)
		assert_memory_equal(&a[i], &b[i], sizeof(a[i]));
	assert_int_equal(hftmon_get_wakeup_latency(f, &lq, &lb), 0);
	assert_int_equal(lb.count, 1);
	assert_memory_equal(&la, &lb, sizeof(la));
	assert_int_equal(hftmon_get_stack(f, 7, ipb, 8, &fb), 2);
	assert_memory_equal(ipa, ipb, 2 * sizeof(ipa[0]));
	assert_int_equal(fa, fb);

	sb = stats(f);
	assert_int_equal(sa.aggregator_late, 2);
	assert_int_equal(sb.aggregator_late, sa.aggregator_late);
	assert_int_equal(sb.records, sa.records);
	assert_int_equal(sb.delivered, sa.delivered);
	assert_int_equal(sb.seq_gaps, sa.seq_gaps);
	assert_int_equal(sb.lost_total, sa.lost_total);
	assert_int_equal(sb.switches_completed, sa.switches_completed);
	assert_int_equal(sb.start_ns, sa.start_ns);
	assert_int_equal(sb.stop_ns, sa.stop_ns);
	assert_false(sb.running);

	/* The records, once, byte for byte, in the order drained live. */
	assert_int_equal(hftmon_drain(f, capture, &back), (int)live.n);
	assert_int_equal(back.len, live.len);
	assert_memory_equal(back.buf, live.buf, live.len);
	assert_int_equal(hftmon_drain(f, capture, &back), 0);

	assert_int_equal(hftmon_file_get_note(f, "hello", &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "world", 5);
	assert_int_equal(hftmon_file_get_note(f, "hell", &data, &len), -ENOENT);

	/* This process as it was at the stop: its main thread is there. */
	nb = hftmon_get_thread_scheduling_info(f, getpid(), ti, 64);
	assert_true(nb >= 1);
	assert_true(nb <= 64);
	for (i = 0; i < nb - 1; i++)
		if (ti[i].tid == getpid())
			break;
	assert_int_equal(ti[i].tid, getpid());
	assert_int_equal(ti[i].pid, getpid());
	assert_int_equal(hftmon_get_thread_scheduling_info(f, 1, ti, 64),
			 -ESRCH);

	/* What needs the device. */
	assert_int_equal(hftmon_start(f), -EBADF);
	assert_int_equal(hftmon_configure(f, NULL), -EBADF);
	assert_int_equal(hftmon_attach_process(f, getpid(), NULL), -EBADF);
	assert_int_equal(hftmon_wait(f, 0), -EBADF);
	assert_int_equal(hftmon_read_records(f, live.buf, sizeof(live.buf)),
			 -EBADF);
	assert_int_equal(hftmon_record_to_file(f, 1), -EBADF);
	hftmon_close(f);
}

/* Reads the file, lets fix change it, writes it back. */
static void rewrite(void (*fix)(unsigned char *p, size_t *len))
{
	static unsigned char buf[1 << 20];
	size_t len;
	FILE *fp = fopen(path, "r+");

	assert_non_null(fp);
	len = fread(buf, 1, sizeof(buf), fp);
	fix(buf, &len);
	assert_int_equal(truncate(path, 0), 0);
	rewind(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

static void no_magic(unsigned char *p, size_t *len)
{
	(void)len;
	p[0] ^= 0xff;
}

static void newer_major(unsigned char *p, size_t *len)
{
	struct hftmon_file_header *h = (void *)p;

	(void)len;
	h->major++;
}

/* The first record of the first RECORDS section gets size 3. */
static void bad_record(unsigned char *p, size_t *len)
{
	size_t off = ((struct hftmon_file_header *)p)->header_size;

	while (off < *len) {
		struct hftmon_file_section *s = (void *)(p + off);

		if (s->type == HFTMON_FILE_RECORDS) {
			struct hftmon_rec_hdr *r =
				(void *)((unsigned char *)(s + 1) +
					 sizeof(struct hftmon_file_records));

			r->size = 3;
			return;
		}
		off += sizeof(*s) + ((s->len + 7) & ~7ull);
	}
	fail();
}

/* Cut inside the last section (the END): a recorder that died. */
static void cut_short(unsigned char *p, size_t *len)
{
	(void)p;
	*len -= 5;
}

static void test_damaged(void **state)
{
	struct hftmon_file_info fi = { .sz = sizeof(fi) };
	static struct capture c;
	struct hftmon *f = NULL;
	int fd;

	(void)state;
	memset(&c, 0, sizeof(c));
	hftmon_close(record_session(&c, &fd));
	close(fd);

	rewrite(cut_short);
	f = open_recorded();
	assert_int_equal(hftmon_file_info(f, &fi), 0);
	assert_false(fi.complete);
	assert_true(fi.have_stats);
	hftmon_close(f);

	rewrite(bad_record);
	assert_int_equal(hftmon_open_file(path, NULL, &f), -EBADMSG);
	assert_null(f);
	rewrite(newer_major);
	assert_int_equal(hftmon_open_file(path, NULL, &f), -EPROTONOSUPPORT);
	rewrite(no_magic);
	assert_int_equal(hftmon_open_file(path, NULL, &f), -EBADMSG);
	assert_int_equal(hftmon_open_file("/nonexistent/x", NULL, &f), -ENOENT);
}

/*
 * A window of a recording ends where the recording did (its stop), not
 * at this machine's now: the file may be days old or from another boot.
 */
static void test_window_ends_at_the_stop(void **state)
{
	struct hftmon_switch_query q = { .sz = sizeof(q), .window_us = 20 };
	struct hftmon_switch_event ev[8] = { [0].sz = sizeof(ev[0]) };
	struct hftmon_latency_query lq = { .sz = sizeof(lq), .window_us = 70 };
	struct hftmon_latency lat = { .sz = sizeof(lat) };
	static struct capture live;
	struct hftmon *m, *f;
	int fd;

	(void)state;
	memset(&live, 0, sizeof(live));
	fake.stop_at_ns = US(100);
	m = record_session(&live, &fd);
	hftmon_close(m);
	close(fd);

	f = open_recorded();
	/* Ended in the last 20 us before US(100): T2's, back in at US(90). */
	assert_int_equal(hftmon_get_context_switches(f, &q, ev, 8), 1);
	assert_int_equal(ev[0].tid, T2.tid);
	assert_int_equal(ev[0].in_ns, US(90));
	/* 70 us: T1's too, back in at US(35); not T2's late one (US(25)). */
	q.window_us = 70;
	assert_int_equal(hftmon_get_context_switches(f, &q, ev, 8), 2);
	/* T1's wake-up latency ended at US(35), inside; 60 us is after it. */
	assert_int_equal(hftmon_get_wakeup_latency(f, &lq, &lat), 0);
	assert_int_equal(lat.count, 1);
	lq.window_us = 60;
	assert_int_equal(hftmon_get_wakeup_latency(f, &lq, &lat), -ENODATA);
	hftmon_close(f);
}

static void test_when_recording_begins(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon *m = NULL;
	int fd;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(hftmon_record_to_file(m, fd), -EINVAL); /* unconfigured */
	assert_int_equal(hftmon_configure(m, NULL), 0);
	assert_int_equal(hftmon_start(m), 0);
	assert_int_equal(hftmon_record_to_file(m, fd), -EBUSY); /* running */
	assert_int_equal(hftmon_stop(m), 0);
	assert_int_equal(hftmon_record_to_file(m, fd), 0);
	assert_int_equal(hftmon_record_to_file(m, fd), -EEXIST);
	assert_int_equal(hftmon_file_note(m, "", "x", 1), -EINVAL);
	hftmon_close(m);
	close(fd);
	/* A recording without records still opens: nothing to report. */
	m = open_recorded();
	assert_int_equal(hftmon_get_context_switches(m, &(struct hftmon_switch_query){ .sz = sizeof(struct hftmon_switch_query) }, NULL, 0), 0);
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_ends_at_the_stop,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_when_recording_begins,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
