// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The ring protocol: lib/ring.c's reader against the test producer (a
 * copy of the kernel's) on a fake ring in anonymous memory. Empty ring,
 * one record, wrap with PAD (every tail size, including the 8..24-byte
 * pads that carry only type and size), full ring and lost counts, seq
 * gaps, torn and nested records, corrupt data, and a producer thread
 * racing the reader over millions of checksummed records.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ring.h"
#include "ring_producer.h"

#define PAGE 4096u
#define DATA_SIZE (4 * PAGE)
#define MIN_REC ((__u16)sizeof(struct hftmon_rec_wakeup))

struct fixture {
	void *map;
	__u64 data_size;
	struct ring_producer p;
	struct hftmon_ring_reader r;
};

static struct fixture *fixture_new(__u64 data_size)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->data_size = data_size;
	f->map = ring_map_alloc(PAGE, data_size);
	assert_non_null(f->map);
	ring_producer_init(&f->p, f->map, PAGE, data_size, 3);
	assert_int_equal(
		hftmon_ring_reader_init(&f->r, f->map, PAGE + data_size), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	ring_map_free(f->map, PAGE, f->data_size);
	free(f);
}

static int setup(void **state)
{
	*state = fixture_new(DATA_SIZE);
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/*
 * Test records: WAKEUP records of any size whose content is a function of
 * their seq, and whose prio field is a checksum of everything after the
 * header, so a torn or misplaced record cannot pass.
 */
static __u8 pattern(__u64 seq, size_t i)
{
	return (__u8)(seq * 131 + i * 7 + (seq >> 8));
}

static __s32 checksum(const struct hftmon_rec_hdr *h)
{
	const __u8 *b = (const __u8 *)h;
	size_t i, skip = offsetof(struct hftmon_rec_wakeup, prio);
	__u32 sum = 2166136261u;

	for (i = sizeof(*h); i < h->size; i++) {
		if (i >= skip && i < skip + sizeof(__s32))
			continue;
		sum = (sum ^ b[i]) * 16777619u;
	}
	return (__s32)sum;
}

static void fill(struct hftmon_rec_hdr *h, size_t upto)
{
	struct hftmon_rec_wakeup *w = (void *)h;
	__u8 *b = (__u8 *)h;
	size_t i;

	h->pid = (__s32)(h->seq & 0xffff) + 1;
	h->tid = h->pid + 1;
	h->time_ns = h->seq * 1000 + 7;
	for (i = sizeof(*h); i < upto && i < h->size; i++)
		b[i] = pattern(h->seq, i);
	if (upto >= h->size)
		w->prio = checksum(h);
}

static bool record_ok(const struct hftmon_rec_hdr *h)
{
	const struct hftmon_rec_wakeup *w = (const void *)h;
	const __u8 *b = (const __u8 *)h;
	size_t i, skip = offsetof(struct hftmon_rec_wakeup, prio);

	if (h->type != HFTMON_REC_WAKEUP ||
	    h->pid != (__s32)(h->seq & 0xffff) + 1 || h->tid != h->pid + 1 ||
	    h->time_ns != h->seq * 1000 + 7 || w->prio != checksum(h))
		return false;
	for (i = sizeof(*h); i < h->size; i++)
		if ((i < skip || i >= skip + sizeof(__s32)) &&
		    b[i] != pattern(h->seq, i))
			return false;
	return true;
}

static bool emit(struct ring_producer *p, __u16 size)
{
	struct hftmon_rec_hdr *h =
		ring_producer_reserve(p, HFTMON_REC_WAKEUP, size);

	if (!h)
		return false;
	fill(h, size);
	ring_producer_commit(p);
	return true;
}

/* Reads one record (which must be there), checks it, consumes it. */
static const struct hftmon_rec_hdr *read_one(struct hftmon_ring_reader *r)
{
	const struct hftmon_rec_hdr *rec = NULL;

	if (r->head == r->tail)
		hftmon_ring_refresh(r);
	assert_int_equal(hftmon_ring_peek(r, &rec), 1);
	assert_true(record_ok(rec));
	hftmon_ring_consume(r);
	return rec;
}

static int count_cb(void *ctx, const struct hftmon_rec_hdr *rec)
{
	(void)rec;
	(*(unsigned long *)ctx)++;
	return 0;
}

static void test_empty_ring(void **state)
{
	struct fixture *f = *state;
	const struct hftmon_rec_hdr *rec = NULL;
	unsigned long n = 0;
	bool stopped;

	assert_int_equal(hftmon_ring_refresh(&f->r), 0);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 0);
	assert_null(rec);
	assert_int_equal(hftmon_ring_drain(&f->r, count_cb, &n, &stopped), 0);
	assert_false(stopped);
	assert_int_equal(n, 0);
	assert_int_equal(((struct hftmon_ring_ctrl *)f->map)->data_tail, 0);
	assert_int_equal(f->r.bad_records, 0);
}

static void test_single_record(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;
	const struct hftmon_rec_hdr *rec = NULL;

	assert_true(emit(&f->p, 64));
	assert_int_equal(hftmon_ring_refresh(&f->r), 64);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 1);
	assert_int_equal(rec->type, HFTMON_REC_WAKEUP);
	assert_int_equal(rec->size, 64);
	assert_int_equal(rec->cpu, 3);
	assert_int_equal(rec->seq, 0);
	assert_true(record_ok(rec));
	/* Peeking again returns the same record until it is consumed. */
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 1);
	assert_int_equal(rec->seq, 0);
	hftmon_ring_consume(&f->r);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 0);
	/* The space goes back to the producer only on release. */
	assert_int_equal(ctrl->data_tail, 0);
	hftmon_ring_release(&f->r);
	assert_int_equal(ctrl->data_tail, 64);
	assert_int_equal(f->r.delivered, 1);
	assert_int_equal(f->r.seq_gaps, 0);
	assert_int_equal(ctrl->records, 1);
	assert_int_equal(ctrl->next_seq, 1);
}

/*
 * Leaves exactly `left` bytes (at least a header) before the end of the
 * data area on the ring's second lap, then writes a record of `size`
 * bytes: when it does not fit, or would leave less than a header behind
 * it, the producer pads the end with one PAD record that is a whole
 * header (type, size, cpu; no seq, no subject, no time) and the record
 * lands at offset 0. The pad's bytes are poisoned first: the producer
 * must write every header field of it.
 */
static void wrap_with_tail(__u64 left, __u16 size)
{
	struct fixture *f = fixture_new(DATA_SIZE);
	__u64 target = 2 * DATA_SIZE - left, seq_before;
	const struct hftmon_rec_hdr *rec;
	struct hftmon_rec_hdr *pad;

	assert_true(left >= sizeof(*pad));
	assert_true(emit(&f->p, 96));
	read_one(&f->r);
	while (f->p.head < target) {
		__u64 s = target - f->p.head > 1024 ? 512 : target - f->p.head;

		assert_true(emit(&f->p, (__u16)s));
		read_one(&f->r);
		hftmon_ring_release(&f->r);
	}
	assert_int_equal(f->p.head, target);
	memset((unsigned char *)f->map + PAGE + DATA_SIZE - left, 0xa5, left);

	seq_before = f->p.seq;
	assert_true(emit(&f->p, size));
	pad = (void *)((unsigned char *)f->map + PAGE + DATA_SIZE - left);
	assert_int_equal(pad->type, HFTMON_REC_PAD);
	assert_int_equal(pad->size, left);
	assert_int_equal(pad->cpu, 3);
	assert_int_equal(pad->flags, 0);
	assert_int_equal(pad->pid, 0);
	assert_int_equal(pad->tid, 0);
	assert_int_equal(pad->seq, 0);
	assert_int_equal(pad->time_ns, 0);

	rec = read_one(&f->r);
	assert_ptr_equal(rec, (unsigned char *)f->map + PAGE);
	assert_int_equal(rec->seq, seq_before);
	assert_int_equal(rec->size, size);
	assert_int_equal(f->r.tail, f->p.head);
	assert_int_equal(f->r.seq_gaps, 0);
	assert_int_equal(f->r.bad_records, 0);
	fixture_free(f);
}

/*
 * A record that would fit but leave 8, 16 or 24 bytes (less than a
 * header) behind it goes to the start instead: no PAD is ever shorter
 * than a header.
 */
static void test_wrap_pad_short_tails(void **state)
{
	__u64 left;

	(void)state;
	for (left = MIN_REC + 24; left <= 200; left += 8) {
		wrap_with_tail(left, (__u16)(left - 8));
		wrap_with_tail(left, (__u16)(left - 16));
		wrap_with_tail(left, (__u16)(left - 24));
	}
}

/* A record one word too big for what is left. */
static void test_wrap_pad_full_header_tails(void **state)
{
	__u64 left;

	(void)state;
	for (left = 32; left <= 200; left += 8)
		wrap_with_tail(left, (__u16)(left + 8 < MIN_REC ? MIN_REC : left + 8));
}

/* Many laps with sizes that leave every possible tail at the end. */
static void test_wrap_many_laps(void **state)
{
	struct fixture *f = *state;
	__u64 i, expect = 0;

	for (i = 0; i < 20000; i++) {
		__u16 size = MIN_REC + 8 * (i % 23);

		assert_true(emit(&f->p, size));
		if (i % 7 == 6) {
			const struct hftmon_rec_hdr *rec;

			hftmon_ring_refresh(&f->r);
			while (hftmon_ring_peek(&f->r, &rec) == 1) {
				assert_true(record_ok(rec));
				assert_int_equal(rec->seq, expect++);
				hftmon_ring_consume(&f->r);
			}
			hftmon_ring_release(&f->r);
		}
	}
	assert_true(f->p.head > 20 * DATA_SIZE);
	assert_int_equal(f->r.seq_gaps, 0);
	assert_int_equal(f->r.bad_records, 0);
	assert_int_equal(ring_producer_lost(&f->p), 0);
}

static void test_full_ring_counts_lost(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;
	unsigned long written = 0, n = 0;
	const struct hftmon_rec_hdr *rec;
	bool stopped;
	int i;

	while (emit(&f->p, 128))
		written++;
	assert_int_equal(written, DATA_SIZE / 128);
	for (i = 0; i < 10; i++)
		assert_false(emit(&f->p, 128));
	assert_int_equal(ctrl->lost[HFTMON_LOST_RING_FULL], 11);
	assert_int_equal(ctrl->records, written);
	assert_int_equal(ctrl->next_seq, written + 11);

	assert_int_equal(hftmon_ring_drain(&f->r, count_cb, &n, &stopped),
			 written);
	assert_int_equal(f->r.seq_gaps, 0);
	/* The next record proves how many were lost in between. */
	assert_true(emit(&f->p, 128));
	hftmon_ring_refresh(&f->r);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 1);
	assert_int_equal(rec->seq, written + 11);
	hftmon_ring_consume(&f->r);
	assert_int_equal(f->r.seq_gaps, 11);
	assert_int_equal(f->r.seq_gaps, ring_producer_lost(&f->p));
}

/* Losses after the last record written show once the producer is quiet. */
static void test_settle_counts_trailing_losses(void **state)
{
	struct fixture *f = *state;
	unsigned long written = 0, n = 0;
	bool stopped;
	int i;

	while (emit(&f->p, 128))
		written++;
	for (i = 0; i < 5; i++)
		assert_false(emit(&f->p, 128));
	assert_int_equal(hftmon_ring_drain(&f->r, count_cb, &n, &stopped),
			 written);
	assert_int_equal(f->r.seq_gaps, 0);	/* no later record: unseen */
	assert_int_equal(hftmon_ring_settle(&f->r), 6);	/* 5 + the failed probe */
	assert_int_equal(f->r.seq_gaps, ring_producer_lost(&f->p));
	/* Settling again adds nothing; a later record is not a gap. */
	assert_int_equal(hftmon_ring_settle(&f->r), 0);
	assert_true(emit(&f->p, 128));
	hftmon_ring_drain(&f->r, count_cb, &n, &stopped);
	assert_int_equal(f->r.seq_gaps, ring_producer_lost(&f->p));
	/* With records unread, settle must not guess. */
	assert_true(emit(&f->p, 128));
	assert_int_equal(hftmon_ring_settle(&f->r), 0);
}

static void test_too_big_is_a_seq_gap(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;

	assert_true(emit(&f->p, 64));
	assert_false(emit(&f->p, DATA_SIZE / 4 + 8)); /* over a quarter ring */
	assert_null(ring_producer_reserve(&f->p, HFTMON_REC_WAKEUP, 60));
	assert_true(emit(&f->p, 64));
	assert_int_equal(ctrl->lost[HFTMON_LOST_TOO_BIG], 2);
	read_one(&f->r);
	assert_int_equal(f->r.seq_gaps, 0);
	read_one(&f->r);
	assert_int_equal(f->r.seq_gaps, 2);
}

static void test_torn_record_is_invisible(void **state)
{
	struct fixture *f = *state;
	const struct hftmon_rec_hdr *rec;
	struct hftmon_rec_hdr *h;

	assert_true(emit(&f->p, 64));
	read_one(&f->r);

	h = ring_producer_reserve(&f->p, HFTMON_REC_WAKEUP, 200);
	assert_non_null(h);
	fill(h, 100); /* half written */
	assert_int_equal(hftmon_ring_refresh(&f->r), 0);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 0);

	fill(h, 200);
	ring_producer_commit(&f->p);
	assert_int_equal(hftmon_ring_refresh(&f->r), 200);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 1);
	assert_ptr_equal(rec, h);
	assert_true(record_ok(rec));
	assert_int_equal(rec->seq, 1);
}

/* A probe interrupting a probe: nothing is visible until the outer commit. */
static void test_nested_writers(void **state)
{
	struct fixture *f = *state;
	struct hftmon_rec_hdr *outer, *inner;
	const struct hftmon_rec_hdr *rec;

	outer = ring_producer_reserve(&f->p, HFTMON_REC_WAKEUP, 96);
	assert_non_null(outer);
	fill(outer, 40);
	inner = ring_producer_reserve(&f->p, HFTMON_REC_WAKEUP, 64);
	assert_non_null(inner);
	fill(inner, 64);
	ring_producer_commit(&f->p); /* inner */
	assert_int_equal(hftmon_ring_refresh(&f->r), 0);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 0);

	fill(outer, 96);
	ring_producer_commit(&f->p); /* outer: publishes both */
	assert_int_equal(hftmon_ring_refresh(&f->r), 160);
	rec = read_one(&f->r);
	assert_int_equal(rec->seq, 0);
	rec = read_one(&f->r);
	assert_int_equal(rec->seq, 1);
	assert_int_equal(f->r.seq_gaps, 0);
}

static void test_garbage_tail_reads_as_full(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;

	assert_true(emit(&f->p, 64));
	ctrl->data_tail = 4096; /* ahead of head */
	assert_false(emit(&f->p, 64));
	ctrl->data_tail = 0;
	f->p.head += 2 * DATA_SIZE; /* more than a ring behind */
	assert_false(emit(&f->p, 64));
	assert_int_equal(ctrl->lost[HFTMON_LOST_RING_FULL], 2);
}

static void test_reader_init_resets_garbage_tail(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;

	assert_true(emit(&f->p, 64));
	ctrl->data_tail = 12; /* unaligned */
	assert_int_equal(
		hftmon_ring_reader_init(&f->r, f->map, PAGE + DATA_SIZE), 0);
	assert_int_equal(f->r.tail, 64);
	assert_int_equal(ctrl->data_tail, 64);
	/* Records pending at init: the first one read sets the seq. */
	ctrl->data_tail = 0;
	assert_int_equal(
		hftmon_ring_reader_init(&f->r, f->map, PAGE + DATA_SIZE), 0);
	assert_false(f->r.seq_known);
	read_one(&f->r);
	assert_true(f->r.seq_known);
	assert_int_equal(f->r.seq_gaps, 0);
}

static void test_reader_init_rejects_bad_layout(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;
	struct hftmon_ring_reader r;

	assert_int_equal(hftmon_ring_reader_init(&r, NULL, PAGE + DATA_SIZE),
			 -EPROTO);
	assert_int_equal(hftmon_ring_reader_init(&r, f->map, 64), -EPROTO);
	assert_int_equal(hftmon_ring_reader_init(&r, f->map,
						 PAGE + DATA_SIZE - 8),
			 -EPROTO);
	ctrl->version = 2;
	assert_int_equal(hftmon_ring_reader_init(&r, f->map, PAGE + DATA_SIZE),
			 -EPROTO);
	ctrl->version = HFTMON_ABI_VERSION;
	ctrl->data_size = DATA_SIZE - PAGE; /* not a power of two */
	assert_int_equal(hftmon_ring_reader_init(&r, f->map, PAGE + DATA_SIZE),
			 -EPROTO);
	ctrl->data_size = 2048; /* too small */
	assert_int_equal(hftmon_ring_reader_init(&r, f->map, PAGE + DATA_SIZE),
			 -EPROTO);
	ctrl->data_size = DATA_SIZE;
	ctrl->data_offset = 64; /* inside the control page */
	assert_int_equal(hftmon_ring_reader_init(&r, f->map, PAGE + DATA_SIZE),
			 -EPROTO);
	ctrl->data_offset = PAGE;
	assert_int_equal(hftmon_ring_reader_init(&r, f->map, PAGE + DATA_SIZE),
			 0);
}

/* A record that cannot be parsed: counted, skipped to the head, seq gap. */
static void corrupt_then_recover(void (*corrupt)(struct hftmon_rec_hdr *))
{
	struct fixture *f = fixture_new(DATA_SIZE);
	struct hftmon_ring_ctrl *ctrl = f->map;
	const struct hftmon_rec_hdr *rec;
	struct hftmon_rec_hdr *h;
	unsigned long n = 0;
	bool stopped;

	assert_true(emit(&f->p, 64));
	h = ring_producer_reserve(&f->p, HFTMON_REC_WAKEUP, 64);
	fill(h, 64);
	corrupt(h);
	ring_producer_commit(&f->p);
	assert_true(emit(&f->p, 64));

	hftmon_ring_refresh(&f->r);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 1);
	hftmon_ring_consume(&f->r);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), -EBADMSG);
	assert_int_equal(f->r.bad_records, 1);
	assert_int_equal(f->r.tail, f->p.head);
	assert_int_equal(ctrl->data_tail, f->p.head);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), 0);

	assert_true(emit(&f->p, 64));
	assert_int_equal(hftmon_ring_drain(&f->r, count_cb, &n, &stopped), 1);
	assert_int_equal(f->r.seq_gaps, 2); /* the bad one and the one after */
	fixture_free(f);
}

static void size_zero(struct hftmon_rec_hdr *h)
{
	h->size = 0;
}
static void size_odd(struct hftmon_rec_hdr *h)
{
	h->size = 60;
}
static void size_huge(struct hftmon_rec_hdr *h)
{
	h->size = 0xfff8;
}
static void type_unknown(struct hftmon_rec_hdr *h)
{
	h->type = 200;
}
static void size_below_type(struct hftmon_rec_hdr *h)
{
	h->type = HFTMON_REC_SWITCH;
}
static void pad_too_long(struct hftmon_rec_hdr *h)
{
	h->type = HFTMON_REC_PAD;
	h->size = 4096;
}

static void test_corrupt_records(void **state)
{
	(void)state;
	corrupt_then_recover(size_zero);
	corrupt_then_recover(size_odd);
	corrupt_then_recover(size_huge);
	corrupt_then_recover(pad_too_long);
}

/*
 * A record that can be stepped over by its size (unknown type, or a known
 * type too short for its layout): counted, and the record after it is
 * read, with no seq gap.
 */
static void skipped_then_read(void (*spoil)(struct hftmon_rec_hdr *),
			      bool unknown)
{
	struct fixture *f = fixture_new(DATA_SIZE);
	struct hftmon_rec_hdr *h;
	unsigned long n = 0;
	bool stopped;

	assert_true(emit(&f->p, 64));
	h = ring_producer_reserve(&f->p, HFTMON_REC_WAKEUP, 64);
	fill(h, 64);
	spoil(h);
	ring_producer_commit(&f->p);
	assert_true(emit(&f->p, 64));

	assert_int_equal(hftmon_ring_drain(&f->r, count_cb, &n, &stopped), 2);
	assert_int_equal(n, 2);
	assert_int_equal(f->r.unknown, unknown ? 1 : 0);
	assert_int_equal(f->r.bad_records, unknown ? 0 : 1);
	assert_int_equal(f->r.seq_gaps, 0);
	assert_int_equal(f->r.tail, f->p.head);
	fixture_free(f);
}

static void test_skippable_records(void **state)
{
	(void)state;
	skipped_then_read(type_unknown, true);
	skipped_then_read(size_below_type, false);
}

/* Every known record of a stream with unknown types mixed in, in order. */
struct mixed_ctx {
	unsigned long seen;
	__u64 next_known; /* index into the known records written */
	const __u64 *known_seq;
};

static int mixed_cb(void *ctx, const struct hftmon_rec_hdr *rec)
{
	struct mixed_ctx *c = ctx;

	assert_true(record_ok(rec));
	assert_int_equal(rec->seq, c->known_seq[c->next_known]);
	c->next_known++;
	c->seen++;
	return 0;
}

/*
 * A reader built before a new record type: a newer producer writes known,
 * unknown-type, known... records (unknown types of several numbers and
 * sizes, numbers not given yet among them), over several laps of the ring so
 * PADs and wraps fall between them. Every known record arrives, in order,
 * unchanged; every unknown one is counted; no seq is missing.
 */
static void test_unknown_types_keep_later_records(void **state)
{
	static const __u16 unknown_types[] = { HFTMON_REC_TYPE_NR + 2,
					       HFTMON_REC_TYPE_NR, 200,
					       HFTMON_REC_TYPE_NR + 1, 0xffff };
	static const __u16 unknown_sizes[] = { 32, 40, 64, 248, 1024 };
	enum { ROUNDS = 2000 };
	struct fixture *f = *state;
	static __u64 known_seq[2 * ROUNDS];
	struct mixed_ctx c = { .known_seq = known_seq };
	unsigned long written_known = 0, written_unknown = 0;
	unsigned int i;
	bool stopped;

	for (i = 0; i < ROUNDS; i++) {
		struct hftmon_rec_hdr *h;
		__u16 size = unknown_sizes[i % 5];

		known_seq[written_known++] = f->p.seq;
		assert_true(emit(&f->p, MIN_REC + 8 * (i % 3)));
		h = ring_producer_reserve(&f->p, unknown_types[i % 5], size);
		assert_non_null(h);
		memset(h + 1, 0xa5, size - sizeof(*h));
		ring_producer_commit(&f->p);
		written_unknown++;
		known_seq[written_known++] = f->p.seq;
		assert_true(emit(&f->p, MIN_REC));
		/* Drain every few rounds: the ring laps many times. */
		if (i % 7 == 6)
			hftmon_ring_drain(&f->r, mixed_cb, &c, &stopped);
	}
	hftmon_ring_drain(&f->r, mixed_cb, &c, &stopped);
	assert_int_equal(ring_producer_lost(&f->p), 0);
	assert_int_equal(c.seen, written_known);
	assert_int_equal(f->r.delivered, written_known);
	assert_int_equal(f->r.unknown, written_unknown);
	assert_int_equal(f->r.bad_records, 0);
	assert_int_equal(f->r.seq_gaps, 0);
	assert_true(f->p.head > 4 * DATA_SIZE);
}

static void test_corrupt_head(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;

	assert_true(emit(&f->p, 64));
	hftmon_ring_store_release(&ctrl->data_head, 64 + 2 * DATA_SIZE);
	assert_int_equal(hftmon_ring_refresh(&f->r), 0);
	assert_int_equal(f->r.bad_records, 1);
	assert_int_equal(f->r.tail, 64 + 2 * DATA_SIZE);
	hftmon_ring_store_release(&ctrl->data_head, 12); /* behind the tail */
	assert_int_equal(hftmon_ring_refresh(&f->r), 0);
	assert_int_equal(f->r.bad_records, 2);
}

/*
 * A head that is not a multiple of 8 cannot be a record boundary the
 * producer wrote (records are 8-byte aligned): corrupt, even when it is
 * within a ring of the tail.
 */
static void test_unaligned_head(void **state)
{
	struct fixture *f = *state;
	struct hftmon_ring_ctrl *ctrl = f->map;

	assert_true(emit(&f->p, 64));
	hftmon_ring_store_release(&ctrl->data_head, 64 + 4);
	assert_int_equal(hftmon_ring_refresh(&f->r), 0);
	assert_int_equal(f->r.bad_records, 1);
	assert_int_equal(f->r.delivered, 0);
}

/*
 * The frame is checked against the bytes to the end of the data area, not
 * the bytes available: with the tail 64 bytes before the end and 128
 * bytes available (the ring wrapped), a record that says it is 128 bytes
 * long would run 64 bytes past the data area. Corrupt, not delivered.
 */
static void test_record_past_end_of_data(void **state)
{
	struct fixture *f = *state;
	const struct hftmon_rec_hdr *rec = NULL;
	struct hftmon_rec_hdr *last;
	unsigned long n = 0;
	bool stopped;

	while (f->p.head < DATA_SIZE - 64)
		assert_true(emit(&f->p, 64));
	assert_int_equal(hftmon_ring_drain(&f->r, count_cb, &n, &stopped),
			 (DATA_SIZE - 64) / 64);
	assert_true(emit(&f->p, 64)); /* the last 64 bytes */
	assert_true(emit(&f->p, 64)); /* wrapped: the first 64 */
	last = (void *)((unsigned char *)f->map + PAGE + DATA_SIZE - 64);
	last->size = 128;
	assert_int_equal(hftmon_ring_refresh(&f->r), 128);
	assert_int_equal(hftmon_ring_peek(&f->r, &rec), -EBADMSG);
	assert_int_equal(f->r.bad_records, 1);
	assert_int_equal(f->r.delivered, (DATA_SIZE - 64) / 64);
}

static void test_seq_backwards_is_bad(void **state)
{
	struct fixture *f = *state;

	assert_true(emit(&f->p, 64));
	assert_true(emit(&f->p, 64));
	f->p.seq = 0;
	assert_true(emit(&f->p, 64));
	read_one(&f->r);
	read_one(&f->r);
	read_one(&f->r);
	assert_int_equal(f->r.bad_records, 1);
	assert_int_equal(f->r.seq_gaps, 0);
}

struct stop_ctx {
	unsigned long seen;
	unsigned long stop_at;
	const struct hftmon_ring_ctrl *ctrl;
	__u64 max_tail_seen;
};

static int stop_cb(void *ctx, const struct hftmon_rec_hdr *rec)
{
	struct stop_ctx *s = ctx;
	__u64 tail = hftmon_ring_load_acquire(&s->ctrl->data_tail);

	assert_true(record_ok(rec));
	if (tail > s->max_tail_seen)
		s->max_tail_seen = tail;
	return ++s->seen == s->stop_at;
}

static void test_drain_stops_early(void **state)
{
	struct fixture *f = *state;
	struct stop_ctx s = { .stop_at = 3, .ctrl = f->map };
	bool stopped;
	int i;

	for (i = 0; i < 5; i++)
		assert_true(emit(&f->p, 64));
	assert_int_equal(hftmon_ring_drain(&f->r, stop_cb, &s, &stopped), 3);
	assert_true(stopped);
	assert_int_equal(s.ctrl->data_tail, 3 * 64);
	s.stop_at = 0;
	assert_int_equal(hftmon_ring_drain(&f->r, stop_cb, &s, &stopped), 2);
	assert_false(stopped);
	assert_int_equal(s.seen, 5);
}

/* A long drain hands space back every quarter ring, not only at its end. */
static void test_release_every_quarter(void **state)
{
	struct fixture *f = *state;
	struct stop_ctx s = { .ctrl = f->map };
	bool stopped;
	int i;

	for (i = 0; i < 120; i++) /* 15 KiB of 16 */
		assert_true(emit(&f->p, 128));
	assert_int_equal(hftmon_ring_drain(&f->r, stop_cb, &s, &stopped), 120);
	assert_true(s.max_tail_seen >= DATA_SIZE / 2);
	assert_int_equal(s.ctrl->data_tail, 120 * 128);
}

/* ---- a producer thread racing the reader ---------------------------- */

struct race {
	struct ring_producer *p;
	unsigned long attempts;
	unsigned long written;
	__u64 expect; /* next seq the reader should see (lossless) */
	bool lossless;
	unsigned long bad;
	unsigned long delivered;
	_Atomic bool done;
};

static void *race_producer(void *arg)
{
	struct race *rc = arg;
	unsigned long i;

	for (i = 0; i < rc->attempts; i++)
		if (emit(rc->p, MIN_REC + 8 * (i % 19)))
			rc->written++;
	/* A last record, waited for, so trailing losses show as a gap too. */
	rc->p->block_when_full = true;
	if (emit(rc->p, MIN_REC))
		rc->written++;
	atomic_store_explicit(&rc->done, true, memory_order_release);
	return NULL;
}

static int race_cb(void *ctx, const struct hftmon_rec_hdr *rec)
{
	struct race *rc = ctx;

	if (!record_ok(rec) || (rc->lossless && rec->seq != rc->expect))
		rc->bad++;
	rc->expect = rec->seq + 1;
	rc->delivered++;
	return 0;
}

static void race(bool lossless, unsigned long attempts)
{
	struct fixture *f = fixture_new(16 * PAGE);
	struct race rc = { .p = &f->p,
			   .attempts = attempts,
			   .lossless = lossless };
	pthread_t t;
	bool stopped;

	f->p.block_when_full = lossless;
	assert_int_equal(pthread_create(&t, NULL, race_producer, &rc), 0);
	while (!atomic_load_explicit(&rc.done, memory_order_acquire))
		hftmon_ring_drain(&f->r, race_cb, &rc, &stopped);
	hftmon_ring_drain(&f->r, race_cb, &rc, &stopped); /* what is left */
	assert_int_equal(pthread_join(t, NULL), 0);

	assert_int_equal(rc.bad, 0);
	assert_int_equal(f->r.bad_records, 0);
	assert_int_equal(rc.delivered, rc.written);
	assert_int_equal(f->r.delivered, rc.written);
	assert_int_equal(f->r.seq_gaps, ring_producer_lost(&f->p));
	assert_int_equal(rc.written + ring_producer_lost(&f->p), attempts + 1);
	if (lossless)
		assert_int_equal(f->r.seq_gaps, 0);
	print_message("%s: %lu records delivered, %llu lost = %llu seq gaps\n",
		      lossless ? "lossless" : "lossy", rc.delivered,
		      (unsigned long long)ring_producer_lost(&f->p),
		      (unsigned long long)f->r.seq_gaps);
	fixture_free(f);
}

static void test_concurrent_lossless(void **state)
{
	(void)state;
	race(true, 2000000);
}

static void test_concurrent_lossy(void **state)
{
	(void)state;
	race(false, 2000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_ring, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_single_record, setup,
						teardown),
		cmocka_unit_test(test_wrap_pad_short_tails),
		cmocka_unit_test(test_wrap_pad_full_header_tails),
		cmocka_unit_test_setup_teardown(test_wrap_many_laps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_ring_counts_lost,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_settle_counts_trailing_losses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big_is_a_seq_gap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_record_is_invisible,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_writers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage_tail_reads_as_full,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reader_init_resets_garbage_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reader_init_rejects_bad_layout, setup, teardown),
		cmocka_unit_test(test_corrupt_records),
		cmocka_unit_test(test_skippable_records),
		cmocka_unit_test_setup_teardown(
			test_unknown_types_keep_later_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_head, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unaligned_head, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_record_past_end_of_data,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_backwards_is_bad,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_stops_early, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_release_every_quarter,
						setup, teardown),
		cmocka_unit_test(test_concurrent_lossless),
		cmocka_unit_test(test_concurrent_lossy),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
