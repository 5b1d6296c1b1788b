// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Record decoding (lib/record.c): every type's minimum size, the size
 * rules (multiple of 8, within what is readable), unknown and reserved
 * types (framed, so skippable), the STACK tail, and the type names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hftmon.h"

/* Room for any record the tests build, 8-byte aligned. */
static _Alignas(8) unsigned char buf[1024];

static struct hftmon_rec_hdr *make(__u16 type, __u16 size)
{
	struct hftmon_rec_hdr *h = (void *)buf;

	memset(buf, 0, sizeof(buf));
	h->type = type;
	h->size = size;
	return h;
}

/*
 * Shortest record of each type the library decodes, in bytes as the uapi
 * header lays them out (written out, not sizeof, so a layout change that
 * the decoder follows still fails here): the 32-byte header plus the
 * type's fields.
 */
static const struct {
	__u16 type;
	__u16 min;
} min_sizes[] = {
	{ HFTMON_REC_PAD, 8 },	   { HFTMON_REC_SWITCH, 96 },
	{ HFTMON_REC_WAKEUP, 48 }, { HFTMON_REC_MIGRATE, 48 },
	{ HFTMON_REC_EXIT, 56 },   { HFTMON_REC_FORK, 56 },
	{ HFTMON_REC_STACK, 40 },
	/* 32 header + 4 x u64 + 4 x u32 */
	{ HFTMON_REC_IRQ, 80 },	   { HFTMON_REC_SOFTIRQ, 80 },
	/* 32 header + 3 x u64 + 2 x u32 + u64 + 2 x u32 + u64 */
	{ HFTMON_REC_SPIKE, 80 },
	{ HFTMON_REC_DETACH, 40 },
	/* 32 header + 2 x u64 + 2 x u32 */
	{ HFTMON_REC_SWITCH_STACK, 56 },
	/* 32 header + 8 x u32 */
	{ HFTMON_REC_NUMA, 64 },
	/* 32 header + u64 + 2 x u32 (no counter: nr 0) */
	{ HFTMON_REC_PMU, 48 },
	/* 32 header + 8 x u32 + 2 x comm[16] */
	{ HFTMON_REC_RUNQ, 96 },
};

/*
 * Numbers without a layout: every number given has one now, so the ones
 * not given yet (a newer module's) stand for them.
 */
static const __u16 reserved_types[] = { HFTMON_REC_TYPE_NR, 0x7fff };

static void test_type_numbers(void **state)
{
	(void)state;
	/* Numbers never change once given. */
	assert_int_equal(HFTMON_REC_PAD, 0);
	assert_int_equal(HFTMON_REC_SWITCH, 1);
	assert_int_equal(HFTMON_REC_WAKEUP, 2);
	assert_int_equal(HFTMON_REC_MIGRATE, 3);
	assert_int_equal(HFTMON_REC_EXIT, 4);
	assert_int_equal(HFTMON_REC_FORK, 5);
	assert_int_equal(HFTMON_REC_IRQ, 6);
	assert_int_equal(HFTMON_REC_SOFTIRQ, 7);
	assert_int_equal(HFTMON_REC_SPIKE, 8);
	assert_int_equal(HFTMON_REC_PMU, 9);
	assert_int_equal(HFTMON_REC_NUMA, 10);
	assert_int_equal(HFTMON_REC_STACK, 11);
	assert_int_equal(HFTMON_REC_RUNQ, 14);
	assert_int_equal(sizeof(struct hftmon_rec_hdr), 32);
}

static void test_every_type_min_size(void **state)
{
	size_t i;

	(void)state;
	/* The table covers every number there is. */
	assert_int_equal(sizeof(min_sizes) / sizeof(min_sizes[0]),
			 HFTMON_REC_TYPE_NR);
	for (i = 0; i < sizeof(min_sizes) / sizeof(min_sizes[0]); i++) {
		__u16 t = min_sizes[i].type, min = min_sizes[i].min;

		assert_int_equal(min % 8, 0);
		assert_int_equal(hftmon_record_check(make(t, min), min), 0);
		/* Bigger than the struct this library knows: records grow. */
		assert_int_equal(hftmon_record_check(make(t, min + 8), min + 8),
				 0);
		/* One word short of what the type needs. */
		if (min > 8)
			assert_int_equal(hftmon_record_check(make(t, min - 8),
							     min),
					 -EBADMSG);
	}
}

/* A reserved number is a type this library does not decode. */
static void test_reserved_types_are_unknown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reserved_types) / sizeof(reserved_types[0]);
	     i++) {
		assert_int_equal(hftmon_record_check(make(reserved_types[i], 64),
						     64),
				 -ENOMSG);
		/* Still framed: shorter than a header, or odd, is malformed. */
		assert_int_equal(hftmon_record_check(make(reserved_types[i], 24),
						     64),
				 -EBADMSG);
		assert_null(hftmon_record_type_name(reserved_types[i]));
	}
}

static void test_size_zero(void **state)
{
	(void)state;
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_SWITCH, 0), 512),
			 -EBADMSG);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_PAD, 0), 512),
			 -EBADMSG);
}

static void test_size_not_multiple_of_8(void **state)
{
	__u16 s = sizeof(struct hftmon_rec_switch);

	(void)state;
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_SWITCH, s + 4),
					     512),
			 -EBADMSG);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_SWITCH, s + 1),
					     512),
			 -EBADMSG);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_PAD, 12), 512),
			 -EBADMSG);
}

static void test_size_bigger_than_avail(void **state)
{
	__u16 s = sizeof(struct hftmon_rec_switch);

	(void)state;
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_SWITCH, s), s - 8),
			 -EBADMSG);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_SWITCH, s + 64),
					     s + 56),
			 -EBADMSG);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_PAD, 16), 8),
			 -EBADMSG);
}

static void test_avail_smaller_than_header(void **state)
{
	(void)state;
	/* Only a PAD may be shorter than the header. */
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_PAD, 8), 8), 0);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_PAD, 24), 24), 0);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_WAKEUP, 48), 24),
			 -EBADMSG);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_PAD, 8), 3),
			 -EBADMSG);
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_PAD, 8), 0),
			 -EBADMSG);
}

static void test_unknown_type(void **state)
{
	(void)state;
	/* Well framed, unknown type: the caller may step over it. */
	assert_int_equal(hftmon_record_check(make(HFTMON_REC_TYPE_NR, 64), 512),
			 -ENOMSG);
	assert_int_equal(hftmon_record_check(make(0xffff, 64), 512), -ENOMSG);
	assert_int_equal(
		hftmon_record_check(make(0x100 | HFTMON_REC_SWITCH, 96), 512),
		-ENOMSG);
	assert_int_equal(hftmon_record_check(make(0xffff, 32), 32), -ENOMSG);
	/* Not framed: no size to step by. */
	assert_int_equal(hftmon_record_check(make(0xffff, 0), 512), -EBADMSG);
	assert_int_equal(hftmon_record_check(make(0xffff, 36), 512), -EBADMSG);
	assert_int_equal(hftmon_record_check(make(0xffff, 64), 56), -EBADMSG);
}

static void test_null_record(void **state)
{
	(void)state;
	assert_int_equal(hftmon_record_check(NULL, 512), -EBADMSG);
}

static void test_stack_ips_must_fit(void **state)
{
	struct hftmon_rec_stack *s;
	__u16 size = sizeof(*s) + 5 * sizeof(__u64);

	(void)state;
	s = (void *)make(HFTMON_REC_STACK, size);
	s->nr = 5;
	assert_int_equal(hftmon_record_check(&s->hdr, size), 0);
	s->nr = 6;
	assert_int_equal(hftmon_record_check(&s->hdr, size), -EBADMSG);
	s->nr = 0x80000000u;
	assert_int_equal(hftmon_record_check(&s->hdr, size), -EBADMSG);
}

static void test_type_names(void **state)
{
	unsigned int t, u;

	(void)state;
	for (t = 0; t < HFTMON_REC_TYPE_NR; t++) {
		const char *name = hftmon_record_type_name(t);

		if (!name)
			continue; /* reserved: tested above */
		for (u = 0; u < t; u++)
			if (hftmon_record_type_name(u))
				assert_string_not_equal(
					name, hftmon_record_type_name(u));
	}
	assert_string_equal(hftmon_record_type_name(HFTMON_REC_STACK), "stack");
	assert_string_equal(hftmon_record_type_name(HFTMON_REC_SWITCH),
			    "switch");
	assert_string_equal(hftmon_record_type_name(HFTMON_REC_PAD), "pad");
	assert_null(hftmon_record_type_name(HFTMON_REC_TYPE_NR));
	assert_null(hftmon_record_type_name(~0u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_numbers),
		cmocka_unit_test(test_every_type_min_size),
		cmocka_unit_test(test_reserved_types_are_unknown),
		cmocka_unit_test(test_size_zero),
		cmocka_unit_test(test_size_not_multiple_of_8),
		cmocka_unit_test(test_size_bigger_than_avail),
		cmocka_unit_test(test_avail_smaller_than_header),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_null_record),
		cmocka_unit_test(test_stack_ips_must_fit),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
