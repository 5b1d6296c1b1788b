// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The one implementation of percentiles and standard deviation
 * (lib/hist.c), against values worked out by hand from the definitions
 * (nearest rank: the ceil(p/100 * n)-th smallest sample; population
 * standard deviation), never against the code's own output.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hist.h"

static void assert_close(double got, double want)
{
	if (fabs(got - want) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
		fail_msg("got %.12f, want %.12f", got, want);
}

/* 1..10 us: p50 = 5th, p90 = 9th, p99 = p99.9 = 10th; mean 5.5;
 * variance = sum (k - 5.5)^2 / 10 = 82.5 / 10 = 8.25. */
static void test_one_to_ten(void **state)
{
	uint64_t ns[10] = { 7000, 3000, 10000, 1000, 5000,
			    9000, 2000, 8000,  6000, 4000 };
	const double pct[] = { 10, 25, 50, 75, 100, 0.0001 };
	double out[6];
	struct hftmon_latency lat;

	(void)state;
	hftmon_hist_summarize(ns, 10, pct, out, 6, &lat);
	assert_int_equal(lat.count, 10);
	assert_close(lat.min_us, 1);
	assert_close(lat.max_us, 10);
	assert_close(lat.mean_us, 5.5);
	assert_close(lat.stddev_us, sqrt(8.25));
	assert_close(lat.p50_us, 5);
	assert_close(lat.p90_us, 9);
	assert_close(lat.p99_us, 10);
	assert_close(lat.p999_us, 10);
	/* log2 slots: 1000 in [512, 1024) (slot 10), 2000-4000 in
	 * [1024, 2048)..[2048, 4096) (slots 11, 12), ..., 10000 in slot 14. */
	assert_int_equal(lat.log2_ns[10], 1);
	assert_int_equal(lat.log2_ns[11], 1);	/* 2000 */
	assert_int_equal(lat.log2_ns[12], 2);	/* 3000, 4000 */
	assert_int_equal(lat.log2_ns[13], 4);	/* 5000..8000 */
	assert_int_equal(lat.log2_ns[14], 2);	/* 9000, 10000 */
	/* p10: 1st; p25: ceil(2.5) = 3rd; p75: ceil(7.5) = 8th; p100:
	 * 10th; a tiny p: the 1st. */
	assert_close(out[0], 1);
	assert_close(out[1], 3);
	assert_close(out[2], 5);
	assert_close(out[3], 8);
	assert_close(out[4], 10);
	assert_close(out[5], 1);
	/* Sorted in place. */
	assert_true(ns[0] == 1000 && ns[9] == 10000);
}

/*
 * {1, 3, 7, 7, 9} ns: p20 = 1st (ceil(1.0)), p40 = 2nd, p50 = 3rd
 * (ceil(2.5)), p60 = 3rd, p80 = 4th; mean 27/5 = 5.4; squared deviations
 * 19.36 + 5.76 + 2.56 + 2.56 + 12.96 = 43.2, / 5 = 8.64.
 */
static void test_duplicates_exact_ranks(void **state)
{
	uint64_t ns[5] = { 7, 7, 1, 9, 3 };
	const double pct[] = { 20, 40, 50, 60, 80 };
	double out[5];
	struct hftmon_latency lat;

	(void)state;
	hftmon_hist_summarize(ns, 5, pct, out, 5, &lat);
	assert_close(out[0] * 1000, 1);
	assert_close(out[1] * 1000, 3);
	assert_close(out[2] * 1000, 7);
	assert_close(out[3] * 1000, 7);
	assert_close(out[4] * 1000, 7);
	assert_close(lat.mean_us * 1000, 5.4);
	assert_close(lat.stddev_us * 1000, sqrt(8.64));
}

/*
 * 1..1000 ns: p99.9 = the 999th, p99 = 990th, p90 = 900th, p50 = 500th.
 * Floating point would make 99.9% of 1000 = 999.0000000000001 and the
 * rank 1000; the rank is computed in integers.
 */
static void test_thousand_no_rounding_error(void **state)
{
	uint64_t *ns = malloc(1000 * sizeof(*ns));
	const double pct[] = { 99.9, 99.99, 0.1, 33.3 };
	double out[4];
	struct hftmon_latency lat;
	int i;

	(void)state;
	assert_non_null(ns);
	for (i = 0; i < 1000; i++)
		ns[i] = (uint64_t)(1000 - i); /* descending */
	hftmon_hist_summarize(ns, 1000, pct, out, 4, &lat);
	assert_close(lat.p999_us * 1000, 999);
	assert_close(lat.p99_us * 1000, 990);
	assert_close(lat.p90_us * 1000, 900);
	assert_close(lat.p50_us * 1000, 500);
	assert_close(out[0] * 1000, 999);
	assert_close(out[1] * 1000, 1000); /* ceil(999.9) */
	assert_close(out[2] * 1000, 1);
	assert_close(out[3] * 1000, 333);
	assert_close(lat.mean_us * 1000, 500.5);
	/* variance of 1..n: (n^2 - 1) / 12 */
	assert_close(lat.stddev_us * 1000, sqrt((1000.0 * 1000 - 1) / 12));
	free(ns);
}

static void test_single_and_empty(void **state)
{
	uint64_t one[1] = { 42000 };
	const double pct[] = { 50 };
	double out[1] = { -1 };
	struct hftmon_latency lat;

	(void)state;
	hftmon_hist_summarize(one, 1, pct, out, 1, &lat);
	assert_close(lat.p50_us, 42);
	assert_close(lat.p999_us, 42);
	assert_close(lat.stddev_us, 0);
	assert_close(out[0], 42);
	assert_int_equal(lat.log2_ns[16], 1);	/* 42000 in [32768, 65536) */
	memset(&lat, 0xff, sizeof(lat));
	hftmon_hist_summarize(NULL, 0, pct, out, 1, &lat);
	assert_int_equal(lat.count, 0);
	assert_int_equal(lat.log2_ns[16], 0);
	assert_close(lat.max_us, 0);
	assert_close(out[0], 0);
}

/* Large values: the two-pass variance has no cancellation. */
static void test_large_values_stddev(void **state)
{
	/* 1e12 + {0, 2, 4} ns: mean 1e12 + 2, variance 8/3. */
	uint64_t ns[3] = { 1000000000004ull, 1000000000000ull,
			   1000000000002ull };
	struct hftmon_latency lat;

	(void)state;
	hftmon_hist_summarize(ns, 3, NULL, NULL, 0, &lat);
	assert_close(lat.stddev_us * 1000, sqrt(8.0 / 3));
	/* 1e12 ns is in [2^39, 2^40): slot 40. */
	assert_int_equal(lat.log2_ns[40], 3);
}

/*
 * p is taken to 1e-4 %, rounded: 0.57 is 0.56999999999999995 as a
 * double, so 0.57 * 10000 truncated would be 5699, not 5700. Over a
 * million samples 1..10^6 that is one rank: nearest rank
 * ceil(0.57 / 100 * 10^6) = 5700 is the sample 5700.
 */
static void test_percentile_rounds_p(void **state)
{
	enum { N = 1000000 };
	uint64_t *v = malloc(N * sizeof(*v));
	size_t i;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < N; i++)
		v[i] = i + 1;
	assert_int_equal(hftmon_hist_percentile(v, N, 0.57), 5700);
	assert_int_equal(hftmon_hist_percentile(v, N, 99.9), 999000);
	assert_int_equal(hftmon_hist_percentile(v, N, 100), N);
	free(v);
}

static void test_check_percentile(void **state)
{
	(void)state;
	assert_int_equal(hftmon_hist_check_percentile(100), 0);
	assert_int_equal(hftmon_hist_check_percentile(0.0001), 0);
	assert_int_equal(hftmon_hist_check_percentile(0), -EINVAL);
	assert_int_equal(hftmon_hist_check_percentile(-5), -EINVAL);
	assert_int_equal(hftmon_hist_check_percentile(100.01), -EINVAL);
	assert_int_equal(hftmon_hist_check_percentile(NAN), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_to_ten),
		cmocka_unit_test(test_duplicates_exact_ranks),
		cmocka_unit_test(test_thousand_no_rounding_error),
		cmocka_unit_test(test_single_and_empty),
		cmocka_unit_test(test_large_values_stddev),
		cmocka_unit_test(test_check_percentile),
		cmocka_unit_test(test_percentile_rounds_p),
	};

	return cmocka_run_group_tests_name("hist", tests, NULL, NULL);
}
