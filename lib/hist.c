// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Percentiles and standard deviation of latency samples (see hist.h).
 * Runs at query time only, on the caller's thread, never allocating:
 * the sort is an in-place heapsort (glibc's qsort may malloc a merge
 * buffer). No libm: the static library links with -pthread alone.
 */
#include <errno.h>
#include <string.h>

#include "hist.h"

/* Moves v[i] down the max-heap v[0..n) to where it belongs. */
static void sift_down(uint64_t *v, size_t i, size_t n)
{
	uint64_t x = v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && v[c + 1] > v[c])
			c++;
		if (v[c] <= x)
			break;
		v[i] = v[c];
		i = c;
	}
	v[i] = x;
}

void hftmon_hist_sort(uint64_t *ns, size_t n)
{
	size_t i;

	if (n < 2)
		return;
	for (i = n / 2; i-- > 0;)
		sift_down(ns, i, n);
	for (i = n - 1; i > 0; i--) {
		uint64_t top = ns[0];

		ns[0] = ns[i];
		ns[i] = top;
		sift_down(ns, 0, i);
	}
}

int hftmon_hist_check_percentile(double p)
{
	return p > 0 && p <= 100 ? 0 : -EINVAL;
}

/* Percent in millionths of the whole: 99.9 -> 999000. */
#define PCT_SCALE 10000.0
#define PCT_WHOLE 1000000u

uint64_t hftmon_hist_rank(uint64_t n, double p)
{
	uint64_t parts = (uint64_t)(p * PCT_SCALE + 0.5), rank;

	if (parts > PCT_WHOLE)
		parts = PCT_WHOLE;
	/*
	 * ceil(parts * n / PCT_WHOLE), at least 1. Histories hold at most
	 * 2^32 samples: parts * n < 2^20 * 2^32 fits.
	 */
	rank = (parts * n + PCT_WHOLE - 1) / PCT_WHOLE;
	return rank < 1 ? 1 : rank;
}

uint64_t hftmon_hist_percentile(const uint64_t *sorted, size_t n, double p)
{
	if (!n)
		return 0;
	return sorted[(size_t)hftmon_hist_rank(n, p) - 1];
}

/*
 * Square root of x >= 0 by Newton's method: from above, the iterates
 * decrease monotonically to the root; stop when they no longer do (the
 * result is then within an ulp of it).
 */
static double sqrt_nonneg(double x)
{
	double r, next;
	int i;

	if (!(x > 0))
		return 0;
	r = x > 1 ? x : 1;
	for (i = 0; i < 2100; i++) {
		next = 0.5 * (r + x / r);
		if (next >= r)
			break;
		r = next;
	}
	return r;
}

static double us(double ns)
{
	return ns / 1000.0;
}

void hftmon_hist_summarize(uint64_t *ns, size_t n, const double *percentiles,
			   double *pct_out, size_t nr_pct,
			   struct hftmon_latency *lat)
{
	double sum = 0, sq = 0, mean;
	size_t i;

	memset(lat, 0, sizeof(*lat));
	lat->sz = sizeof(*lat);
	if (!n) {
		for (i = 0; i < nr_pct; i++)
			pct_out[i] = 0;
		return;
	}
	hftmon_hist_sort(ns, n);
	for (i = 0; i < n; i++)
		sum += (double)ns[i];
	mean = sum / (double)n;
	/* Two passes: no cancellation between sum of squares and mean^2. */
	for (i = 0; i < n; i++) {
		double d = (double)ns[i] - mean;

		sq += d * d;
	}
	lat->count = n;
	lat->min_us = us((double)ns[0]);
	lat->max_us = us((double)ns[n - 1]);
	lat->mean_us = us(mean);
	lat->stddev_us = us(sqrt_nonneg(sq / (double)n));
	lat->p50_us = us((double)hftmon_hist_percentile(ns, n, 50));
	lat->p90_us = us((double)hftmon_hist_percentile(ns, n, 90));
	lat->p99_us = us((double)hftmon_hist_percentile(ns, n, 99));
	lat->p999_us = us((double)hftmon_hist_percentile(ns, n, 99.9));
	for (i = 0; i < n; i++) {
		unsigned int k = 0;

		while (k < 64 && ns[i] >> k)
			k++; /* [2^(k-1), 2^k): slot k; 0: slot 0 */
		lat->log2_ns[k]++;
	}
	for (i = 0; i < nr_pct; i++)
		pct_out[i] = us((double)hftmon_hist_percentile(ns, n,
							       percentiles[i]));
}
