// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Interruption aggregation (hftmon_get_irq_stats()), fed synthetic
 * HFTMON_REC_IRQ/SOFTIRQ records through the fake device's rings: counts,
 * net sums and maxima per CPU and source against the records written,
 * per tracked thread (only what interrupted it), names (a device IRQ's
 * from its first NAMED record, vectors as /proc/interrupts, softirqs as
 * /proc/softirqs), rows sorted by cpu, kind, nr; the histogram's
 * percentiles against a brute-force nearest rank over random samples
 * (the reported value is the upper bound of the sample's bucket, at most
 * 12.5 % above it, never above max); raise-to-run delays; windows from
 * the history; a mark's intervals (each interruption in one, a drain's
 * late record included, the overwritten counted); a late record put back
 * in end order; the source table's
 * overflow (the CPU's totals stay exact); the configuration (events,
 * spike threshold, irq_cpus) as the kernel receives it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agg.h"
#include "fake_records.h"
#include "fake_sys.h"
#include "hftmon.h"

#define US(t) (1000000ull + (uint64_t)(t) * 1000ull)
#define EV_IRQ (HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL)

static const struct fake_task T1 = { .pid = 100, .tid = 101, .comm = "md",
				     .prio = 120, .tracked = true };
static const struct fake_task T2 = { .pid = 100, .tid = 102, .comm = "gw",
				     .prio = 120, .tracked = true };

static struct hftmon *open_events(uint64_t events)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .events = events };
	struct hftmon *m = NULL;

	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	return m;
}

static void drain(struct hftmon *m)
{
	assert_true(hftmon_drain(m, fake_ignore, NULL) >= 0);
}

static int irq_stats(struct hftmon *m, int cpu, pid_t tid, uint64_t window_us,
		     struct hftmon_irq_row *rows, size_t max)
{
	struct hftmon_irq_query q = { .sz = sizeof(q), .cpu = cpu, .tid = tid,
				      .window_us = window_us };

	if (max)
		rows[0].sz = sizeof(rows[0]);
	return hftmon_get_irq_stats(m, &q, rows, max);
}

/* One interruption of no tracked thread, false while the ring is full. */
static bool fake_irq_ok(unsigned int cpu, __u32 kind, __u32 nr,
			uint64_t start, uint64_t end)
{
	struct fake_irq r = { .kind = kind, .nr = nr, .start = start,
			      .end = end };

	return fake_irq(cpu, &r);
}

static void irq(unsigned int cpu, __u32 kind, __u32 nr, uint64_t start,
		uint64_t end, const struct fake_task *victim)
{
	struct fake_irq r = { .kind = kind, .nr = nr, .start = start,
			      .end = end, .victim = victim };

	assert_true(fake_irq(cpu, &r));
}

/* ---- totals ----------------------------------------------------------- */

static void test_totals_per_cpu_and_source(void **state)
{
	struct hftmon_irq_row rows[16];
	struct hftmon *m = open_events(EV_IRQ);
	struct fake_irq named = { .kind = HFTMON_IRQ_KIND_DEVICE, .nr = 24,
				  .start = US(1), .end = US(3),
				  .victim = &T1, .name = "eth0-rx-0" };
	struct fake_irq soft = { .kind = HFTMON_IRQ_KIND_SOFTIRQ, .nr = 3,
				 .start = US(20), .end = US(26), .net = 4000,
				 .raise = US(17), .victim = &T1 };
	/* A raise stamp after the start is no delay (never counted). */
	struct fake_irq odd = { .kind = HFTMON_IRQ_KIND_SOFTIRQ, .nr = 3,
				.start = US(27), .end = US(28),
				.raise = US(27) + 1 };

	(void)state;
	assert_true(fake_irq(0, &named));
	irq(0, HFTMON_IRQ_KIND_DEVICE, 24, US(10), US(11), NULL); /* unnamed */
	assert_true(fake_irq(0, &soft));
	assert_true(fake_irq(0, &odd));
	irq(0, HFTMON_IRQ_KIND_VECTOR, 0xec, US(30), US(35), &T1);
	irq(1, HFTMON_IRQ_KIND_VECTOR, 0xfb, US(5), US(6), &T2);
	irq(1, HFTMON_IRQ_KIND_VECTOR, 0xfc, US(7), US(9), NULL);
	irq(1, HFTMON_IRQ_KIND_NMI, 0, US(12), US(13), NULL);
	irq(1, HFTMON_IRQ_KIND_VECTOR, 0xf6, US(40), US(41), &T2);
	drain(m);

	/* cpu 0: device 24 (2), softirq 3; cpu 1: vectors 0xf6, 0xfb, 0xfc, NMI */
	assert_int_equal(irq_stats(m, -1, 0, 0, rows, 16), 7);
	assert_int_equal(rows[0].cpu, 0);
	assert_int_equal(rows[0].kind, HFTMON_IRQ_KIND_DEVICE);
	assert_int_equal(rows[0].nr, 24);
	assert_string_equal(rows[0].name, "eth0-rx-0");
	assert_int_equal(rows[0].count, 2);
	assert_int_equal(rows[0].net_ns, 3000);
	assert_int_equal(rows[0].max_ns, 2000);
	/* 1000 (rank 1 of 2) lies in [960, 1023]; 2000 is the max. */
	assert_int_equal(rows[0].p50_ns, 1023);
	assert_int_equal(rows[0].p90_ns, 2000);
	assert_int_equal(rows[1].kind, HFTMON_IRQ_KIND_VECTOR);
	assert_int_equal(rows[1].nr, 0xec);
	assert_string_equal(rows[1].name, "LOC");
	assert_int_equal(rows[2].kind, HFTMON_IRQ_KIND_SOFTIRQ);
	assert_string_equal(rows[2].name, "NET_RX");
	assert_int_equal(rows[2].net_ns, 5000); /* net, not gross */
	assert_int_equal(rows[2].raise_count, 1);
	assert_int_equal(rows[2].raise_max_ns, 3000);
	assert_int_equal(rows[3].cpu, 1);
	assert_int_equal(rows[3].nr, 0xf6);
	assert_string_equal(rows[3].name, "IWI");
	assert_int_equal(rows[4].nr, 0xfb);
	assert_string_equal(rows[4].name, "CAL");
	assert_int_equal(rows[5].nr, 0xfc);
	assert_string_equal(rows[5].name, "CAL");
	assert_int_equal(rows[6].kind, HFTMON_IRQ_KIND_NMI);
	assert_string_equal(rows[6].name, "NMI");
	/* A device IRQ and a vector never raise: their raise stays 0. */
	assert_int_equal(rows[0].raise_count, 0);

	/* One CPU; fewer rows than there are: the count says how many. */
	assert_int_equal(irq_stats(m, 1, 0, 0, rows, 2), 4);
	assert_int_equal(rows[0].nr, 0xf6);
	assert_int_equal(rows[1].nr, 0xfb);
	/* What interrupted T1: device 24 once (the unnamed one hit nothing). */
	assert_int_equal(irq_stats(m, -1, 101, 0, rows, 16), 3);
	assert_int_equal(rows[0].nr, 24);
	assert_int_equal(rows[0].count, 1);
	assert_int_equal(rows[0].net_ns, 2000);
	assert_int_equal(rows[2].count, 1); /* the softirq: not the odd one */
	assert_int_equal(rows[2].raise_count, 1);
	assert_int_equal(irq_stats(m, -1, 102, 0, rows, 16), 2);
	assert_int_equal(irq_stats(m, -1, 103, 0, NULL, 0), 0);
	hftmon_close(m);
}

/* Nearest rank over the sorted samples, as the histogram must report it. */
static uint64_t brute_pct(uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)((p * (double)n + 99.999999) / 100.0);
	uint64_t up;

	if (rank < 1)
		rank = 1;
	up = hftmon_agg_hist_upper(hftmon_agg_hist_bucket(v[rank - 1]));
	return up < v[n - 1] ? up : v[n - 1];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Random durations spanning 1 ns .. 2^33 ns: percentiles and bounds. */
static void test_percentiles_brute_force(void **state)
{
	enum { ROUND = 1000, N = 3 * ROUND };
	static uint64_t all[N];
	const double p[] = { 50, 90, 99, 99.9 };
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .events = EV_IRQ,
					   .ring_pages = 64 };
	struct hftmon_irq_row rows[2];
	struct hftmon *m = NULL;
	uint64_t t = US(0), sum = 0, got[4];
	unsigned int i;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_configure(m, &c), 0);
	srandom(7);
	for (i = 0; i < N; i++) {
		unsigned int shift = (unsigned int)(random() % 31);
		uint64_t d = 1 + ((uint64_t)random() >> shift);

		if (i == 17)
			d = (1ull << 33) + 5; /* the overflow bucket */
		all[i] = d;
		sum += d;
		irq(0, HFTMON_IRQ_KIND_VECTOR, 0xec, t, t + d, NULL);
		t += d + 10;
		if (i % ROUND == ROUND - 1)
			drain(m);
	}
	assert_int_equal(irq_stats(m, 0, 0, 0, rows, 2), 1);
	got[0] = rows[0].p50_ns;
	got[1] = rows[0].p90_ns;
	got[2] = rows[0].p99_ns;
	got[3] = rows[0].p999_ns;
	qsort(all, N, sizeof(all[0]), cmp_u64);
	assert_int_equal(rows[0].count, N);
	assert_int_equal(rows[0].net_ns, sum);
	assert_int_equal(rows[0].max_ns, all[N - 1]);
	for (i = 0; i < 4; i++) {
		size_t rank = (size_t)((p[i] * N + 99.999999) / 100.0);
		uint64_t exact = all[rank - 1];

		assert_int_equal(got[i], brute_pct(all, N, p[i]));
		/* At most 12.5 % above the sample, never below it. */
		assert_true(got[i] >= exact);
		assert_true(got[i] - exact <= exact / 8);
	}
	/* The same samples through the history (a window): the same figures. */
	hftmon_close(m);
}

/* Every bucket: its values map to it, its bounds are 12.5 % apart at most. */
static void test_bucket_layout(void **state)
{
	unsigned int b;

	(void)state;
	for (b = 0; b + 1 < HFTMON_AGG_HIST_BUCKETS; b++) {
		uint64_t up = hftmon_agg_hist_upper(b);
		uint64_t lo = b ? hftmon_agg_hist_upper(b - 1) + 1 : 0;

		assert_int_equal(hftmon_agg_hist_bucket(lo), b);
		assert_int_equal(hftmon_agg_hist_bucket(up), b);
		assert_int_equal(hftmon_agg_hist_bucket(up + 1), b + 1);
		assert_true(up - lo <= lo / 8);
	}
	assert_int_equal(hftmon_agg_hist_bucket(UINT64_MAX),
			 HFTMON_AGG_HIST_BUCKETS - 1);
}

/* ---- windows and history ------------------------------------------------ */

static void test_window_from_history(void **state)
{
	struct hftmon_irq_row rows[4];
	struct hftmon *m = open_events(EV_IRQ);
	uint64_t now = fake_now_ns();
	struct fake_irq soft = { .kind = HFTMON_IRQ_KIND_SOFTIRQ, .nr = 1,
				 .start = now - 3000000, .end = now - 2999000,
				 .raise = now - 3002000, .victim = &T1 };
	struct fake_irq soft2 = { .kind = HFTMON_IRQ_KIND_SOFTIRQ, .nr = 1,
				  .start = now - 2000000, .end = now - 1999000,
				  .raise = now - 2005000 };

	(void)state;
	/* An old one (1 s ago), then three within the last 10 ms. */
	irq(0, HFTMON_IRQ_KIND_VECTOR, 0xec, now - 1000000000,
	    now - 999000000, &T1);
	irq(0, HFTMON_IRQ_KIND_VECTOR, 0xec, now - 9000000, now - 8998000, &T1);
	irq(0, HFTMON_IRQ_KIND_VECTOR, 0xec, now - 5000000, now - 4999000, NULL);
	assert_true(fake_irq(0, &soft));
	assert_true(fake_irq(0, &soft2));
	drain(m); /* never started: quiescent, everything is merged */

	assert_int_equal(irq_stats(m, -1, 0, 100000, rows, 4), 2);
	assert_int_equal(rows[0].kind, HFTMON_IRQ_KIND_VECTOR);
	assert_int_equal(rows[0].count, 2);
	assert_int_equal(rows[0].net_ns, 3000);
	assert_int_equal(rows[0].max_ns, 2000);
	/* 1000 lies in [960, 1023]: its bucket's bound; 2000 is the max. */
	assert_int_equal(rows[0].p50_ns, 1023);
	assert_int_equal(rows[0].p99_ns, 2000);
	assert_string_equal(rows[0].name, "LOC");
	assert_int_equal(rows[1].kind, HFTMON_IRQ_KIND_SOFTIRQ);
	assert_string_equal(rows[1].name, "TIMER");
	assert_int_equal(rows[1].count, 2);
	assert_int_equal(rows[1].raise_count, 2);
	assert_int_equal(rows[1].raise_max_ns, 5000);
	assert_int_equal(rows[1].raise_p50_ns, 2047); /* 2000's bucket */
	assert_int_equal(rows[1].raise_p99_ns, 5000);
	/* T1 only: one LOC and the softirq. */
	assert_int_equal(irq_stats(m, -1, 101, 100000, rows, 4), 2);
	assert_int_equal(rows[0].count, 1);
	/* Everything: the totals, all three LOC. */
	assert_int_equal(irq_stats(m, -1, 0, 0, rows, 4), 2);
	assert_int_equal(rows[0].count, 3);
	hftmon_close(m);
}

static int irq_mark(struct hftmon *m, struct hftmon_irq_mark *mk,
		    struct hftmon_irq_row *rows, size_t max)
{
	struct hftmon_irq_query q = { .sz = sizeof(q), .cpu = -1, .mark = mk };

	if (max)
		rows[0].sz = sizeof(rows[0]);
	return hftmon_get_irq_stats(m, &q, rows, max);
}

/*
 * A mark's intervals: each interruption in exactly one, by when the
 * library took it in, not by its time. A record drained after the last
 * call whose end was before it (the drain's lag) is in the next interval,
 * where a time window since that call would miss it; rows that do not
 * fit leave the mark where it was; the history overwritten since the
 * mark is counted in missed.
 */
static void test_mark_intervals(void **state)
{
	struct hftmon_irq_mark mk = { 0 };
	struct hftmon_irq_row rows[4];
	struct hftmon *m = open_events(EV_IRQ);
	uint64_t now = fake_now_ns(), i;
	struct hftmon_irq_query bad = { .sz = sizeof(bad), .cpu = -1,
					.window_us = 10, .mark = &mk };

	(void)state;
	irq(0, HFTMON_IRQ_KIND_VECTOR, 0xec, now - 9000000, now - 8998000, &T1);
	irq(1, HFTMON_IRQ_KIND_VECTOR, 0xfc, now - 8000000, now - 7999000, NULL);
	drain(m);
	/* Two rows do not fit in one: the mark stays. */
	assert_int_equal(irq_mark(m, &mk, rows, 1), 2);
	assert_int_equal(mk.next, 0);
	assert_int_equal(irq_mark(m, &mk, rows, 4), 2);
	assert_int_equal(mk.next, 2);
	assert_int_equal(mk.missed, 0);
	assert_int_equal(rows[0].count, 1);
	assert_int_equal(rows[1].max_ns, 1000);
	/* Nothing new: no rows, the mark where it was. */
	assert_int_equal(irq_mark(m, &mk, rows, 4), 0);
	assert_int_equal(mk.next, 2);
	/* Ended 5 ms ago, drained now: this interval's, not a window's. */
	irq(1, HFTMON_IRQ_KIND_VECTOR, 0xfc, now - 5200000, now - 5000000, NULL);
	drain(m);
	assert_int_equal(irq_stats(m, -1, 0, 1000, rows, 4), 0);
	assert_int_equal(irq_mark(m, &mk, rows, 4), 1);
	assert_int_equal(rows[0].nr, 0xfc);
	assert_int_equal(rows[0].count, 1);
	assert_int_equal(rows[0].max_ns, 200000);
	assert_int_equal(mk.next, 3);
	/* A window and a mark together: refused. */
	assert_int_equal(hftmon_get_irq_stats(m, &bad, rows, 4), -EINVAL);
	/* 100 more than the history holds: those are missed, the rest read. */
	for (i = 0; i < HFTMON_HISTORY_IRQS + 100; i++) {
		uint64_t t = now - 4000000 + i * 100;

		while (!fake_irq_ok(0, HFTMON_IRQ_KIND_VECTOR, 0xec, t, t + 50))
			drain(m);
	}
	drain(m);
	assert_int_equal(irq_mark(m, &mk, rows, 4), 1);
	assert_int_equal(mk.missed, 100);
	assert_int_equal(rows[0].count, HFTMON_HISTORY_IRQS);
	assert_int_equal(mk.next, 3 + HFTMON_HISTORY_IRQS + 100);
	hftmon_close(m);
}

/* Through the internal API: an interruption aggregator of 2 sources. */
static void small_agg(struct hftmon_agg *a, uint32_t sources)
{
	struct hftmon_agg_sizes sz = {
		.history_switches = 64, .history_wakeups = 64,
		.max_threads = 16, .max_stacks = 16, .reorder_records = 64,
		.history_irqs = 8, .max_irq_sources = sources,
		.history_spikes = 4,
	};

	assert_int_equal(hftmon_agg_init(a, 1, &sz), 0);
}

static void feed(struct hftmon_agg *a, __u32 kind, __u32 nr, uint64_t start,
		 uint64_t end, int32_t tid)
{
	struct hftmon_rec_irq r;

	memset(&r, 0, sizeof(r));
	r.hdr.type = HFTMON_REC_IRQ;
	r.hdr.size = sizeof(r);
	r.hdr.time_ns = end;
	r.hdr.tid = tid;
	r.hdr.pid = tid;
	r.hdr.flags = tid ? HFTMON_IRQ_TRACKED : 0;
	r.start_ns = start;
	r.gross_ns = r.net_ns = end - start;
	r.kind = kind;
	r.nr = nr;
	hftmon_agg_record(a, 0, &r.hdr);
}

/*
 * A record that comes after later ones (an NMI's) is put back in end
 * order; the source table full: a thread's share falls back to the CPU's
 * totals, a new source is dropped and counted.
 */
static void test_history_order_and_table_full(void **state)
{
	struct hftmon_agg a;
	uint64_t i;

	(void)state;
	small_agg(&a, 2);
	feed(&a, HFTMON_IRQ_KIND_VECTOR, 0xec, 100, 200, 0);
	feed(&a, HFTMON_IRQ_KIND_VECTOR, 0xec, 300, 400, 0);
	feed(&a, HFTMON_IRQ_KIND_NMI, 0, 250, 260, 7); /* late: ends at 260 */
	feed(&a, HFTMON_IRQ_KIND_VECTOR, 0xec, 500, 600, 7);
	feed(&a, HFTMON_IRQ_KIND_VECTOR, 0xfd, 700, 800, 0); /* no room */
	hftmon_agg_ring_done(&a, 0, true, 0, true);
	hftmon_agg_flush(&a);
	assert_int_equal(a.irq_total, 5);
	for (i = 1; i < a.irq_total; i++)
		assert_true(hftmon_agg_irq_at(&a, i - 1)->end_ns <=
			    hftmon_agg_irq_at(&a, i)->end_ns);
	assert_int_equal(hftmon_agg_irq_at(&a, 1)->kind, HFTMON_IRQ_KIND_NMI);
	/* Sources: (LOC, 0) and (NMI, 7); tid 7's LOC went to (LOC, 0). */
	assert_int_equal(a.nr_srcs, 2);
	assert_int_equal(a.srcs[0].count, 3);
	assert_int_equal(a.st.dropped, 1); /* RES: no room at all */
	/* History of 8: three more overwrite the oldest, counted. */
	for (i = 0; i < 6; i++)
		feed(&a, HFTMON_IRQ_KIND_VECTOR, 0xec, 1000 + i * 10,
		     1005 + i * 10, 0);
	hftmon_agg_flush(&a);
	assert_int_equal(a.st.irqs_overwritten, 3);
	assert_int_equal(hftmon_agg_irq_first(&a, 0), 3);
	hftmon_agg_fini(&a);
}

/* ---- configuration ------------------------------------------------------ */

static void test_configure_events_and_cpus(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	static const int cpus[] = { 1 };
	static const int bad_cpus[] = { 2 };
	struct hftmon_monitor_config c = { .sz = sizeof(c) };
	struct hftmon_irq_row rows[1];
	struct hftmon *m = NULL;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	/* The system-wide CPUs reach the kernel as its bitmask. */
	c.events = HFTMON_EV_SWITCH | HFTMON_EV_IRQ;
	c.irq_cpus = cpus;
	c.nr_irq_cpus = 1;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(fake.last_config.irq_cpus[0], 2);
	assert_int_equal(fake.last_config.events, c.events);
	assert_int_equal(fake.last_config.spike_threshold_ns, 0);
	/* A CPU the machine lacks; CPUs without interruption events. */
	c.irq_cpus = bad_cpus;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.irq_cpus = cpus;
	c.events = HFTMON_EV_SWITCH;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.irq_cpus = NULL;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL); /* nr without list */
	c.nr_irq_cpus = 0;
	/* Spikes: the threshold passed in ns, HFTMON_EV_SPIKE added. */
	c.events = 0;
	c.spike_threshold_us = 50;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(fake.last_config.spike_threshold_ns, 50000);
	assert_int_equal(fake.last_config.events,
			 HFTMON_EV_SCHED_ALL | HFTMON_EV_SPIKE);
	/* No interruption events: the interruption query says so. */
	assert_int_equal(irq_stats(m, -1, 0, 0, rows, 1), -EOPNOTSUPP);
	c.spike_threshold_us = 10000001; /* above 10 s */
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.spike_threshold_us = UINT64_MAX / 100; /* overflows in ns */
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.spike_threshold_us = 0;
	c.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_SPIKE; /* no threshold */
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	c.events = 1ull << 40;
	assert_int_equal(hftmon_configure(m, &c), -EINVAL);
	/* The threshold while running, the kernel's errno as it is. */
	c.events = 0;
	c.spike_threshold_us = 1;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_set_spike_threshold(m, 200000), 0);
	assert_int_equal(fake.spike_threshold_ns, 200000);
	assert_int_equal(hftmon_set_spike_threshold(m, 999), -EINVAL);
	assert_int_equal(hftmon_set_spike_threshold(NULL, 5000), -EINVAL);
	c.spike_threshold_us = 0;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_set_spike_threshold(m, 5000), -EOPNOTSUPP);
	hftmon_close(m);
}

static void test_raw_only_and_bad_queries(void **state)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .device = FAKE_DEVICE };
	struct hftmon_monitor_config c = { .sz = sizeof(c), .events = EV_IRQ,
					   .raw_only = true };
	struct hftmon_irq_query q = { .sz = sizeof(q), .cpu = -2 };
	struct hftmon_irq_row rows[1] = { [0].sz = sizeof(rows[0]) };
	struct hftmon *m = NULL;

	(void)state;
	assert_int_equal(hftmon_open(&o, &m), 0);
	assert_int_equal(hftmon_get_irq_stats(m, NULL, rows, 1), -EINVAL);
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(irq_stats(m, -1, 0, 0, rows, 1), -EOPNOTSUPP);
	c.raw_only = false;
	assert_int_equal(hftmon_configure(m, &c), 0);
	assert_int_equal(hftmon_get_irq_stats(m, &q, rows, 1), -EINVAL);
	q.cpu = -1;
	q.tid = -1;
	assert_int_equal(hftmon_get_irq_stats(m, &q, rows, 1), -EINVAL);
	assert_int_equal(hftmon_get_irq_stats(m, &q, NULL, 1), -EINVAL);
	rows[0].sz = 1;
	q.tid = 0;
	assert_int_equal(hftmon_get_irq_stats(m, &q, rows, 1), -EINVAL);
	/* NULL query: every CPU, everything. */
	assert_int_equal(hftmon_get_irq_stats(m, NULL, NULL, 0), 0);
	hftmon_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_totals_per_cpu_and_source,
						fake_setup2, fake_teardown2),
		cmocka_unit_test_setup_teardown(test_percentiles_brute_force,
						fake_setup2, fake_teardown2),
		cmocka_unit_test(test_bucket_layout),
		cmocka_unit_test_setup_teardown(test_window_from_history, fake_setup2,
						fake_teardown2),
		cmocka_unit_test_setup_teardown(test_mark_intervals, fake_setup2,
						fake_teardown2),
		cmocka_unit_test(test_history_order_and_table_full),
		cmocka_unit_test_setup_teardown(test_configure_events_and_cpus,
						fake_setup2, fake_teardown2),
		cmocka_unit_test_setup_teardown(test_raw_only_and_bad_queries,
						fake_setup2, fake_teardown2),
	};

	return cmocka_run_group_tests_name("irq", tests, NULL, NULL);
}
