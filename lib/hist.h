/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Latency summaries: the one implementation of percentiles, mean and
 * standard deviation, shared by the library's queries (and through them
 * the CLI) and the tests. Percentiles are exact, by nearest rank over the
 * sorted samples: p is the smallest sample with at least p% of all
 * samples at or below it, so every percentile is a value that was
 * actually measured. The standard deviation is the population one (the
 * samples are the whole set of wake-ups in the window, not a sample of
 * them): sqrt(sum((x - mean)^2) / n).
 */
#ifndef HFTMON_LIB_HIST_H
#define HFTMON_LIB_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "hftmon.h"
#include "internal.h"

/* Sorts n nanosecond samples in place, ascending. */
HFTMON_INTERNAL void hftmon_hist_sort(uint64_t *ns, size_t n);

/*
 * The nearest-rank percentile p (0 < p <= 100) of n >= 1 sorted samples:
 * sorted[ceil(p / 100 * n) - 1]. p is taken to 1e-4 % (99.9999 is fine),
 * so the rank is computed in integers and 99 of 100 samples is rank 99,
 * not 100 through a rounding error.
 */
HFTMON_INTERNAL uint64_t hftmon_hist_percentile(const uint64_t *sorted,
						size_t n, double p);

/* The 1-based nearest rank of percentile p among n >= 1 samples. */
HFTMON_INTERNAL uint64_t hftmon_hist_rank(uint64_t n, double p);

/* 0 if 0 < p <= 100, -EINVAL otherwise (NaN included). */
HFTMON_INTERNAL int hftmon_hist_check_percentile(double p);

/*
 * Sorts the n samples (ns) and fills lat (microseconds): count, min,
 * mean, max, stddev, p50/p90/p99/p99.9; and pct_out[i] for each
 * percentiles[i]. n == 0 zeroes lat and pct_out. Percentiles must have
 * been checked with hftmon_hist_check_percentile().
 */
HFTMON_INTERNAL void hftmon_hist_summarize(uint64_t *ns, size_t n,
					   const double *percentiles,
					   double *pct_out, size_t nr_pct,
					   struct hftmon_latency *lat);

#endif /* HFTMON_LIB_HIST_H */
