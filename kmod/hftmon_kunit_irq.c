// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the interruption family's net-of-nesting accounting
 * (probes/irq.c), driven with synthetic entry/exit sequences and times,
 * every expected number worked out by hand in the comments: a softirq
 * containing a device IRQ containing an NMI, exits whose entry was not
 * seen, a lost exit under an outer frame, and the nesting limit.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "hftmon_irq.h"
#include "hftmon_probe.h"

#define NR_IRQS_TEST	32

static struct hftmon_irq_cpu *irq_cpu_new(struct kunit *test)
{
	struct hftmon_irq_cpu *c;

	c = kunit_kzalloc(test, struct_size(c, irq, NR_IRQS_TEST), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->nr_irqs = NR_IRQS_TEST;
	return c;
}

/*
 * t=1000 NET_RX softirq (3) begins; t=1100 IRQ 11 begins; an NMI of 20 ns
 * ends at 1150; IRQ 11 ends at 1300; t=1500 the timer vector (0xec)
 * begins, ends at 1540; softirq ends at 2000.
 *   NMI:     gross 20, net 20, depth 2
 *   IRQ 11:  gross 1300-1100 = 200, net 200-20 = 180, depth 1
 *   vector:  gross 40, net 40, depth 1
 *   softirq: gross 1000, net 1000-200-40 = 760, depth 0
 * 760 + 180 + 40 + 20 = 1000: nothing counted twice.
 */
static void irq_nested_net(struct kunit *test)
{
	struct hftmon_irq_cpu *c = irq_cpu_new(test);
	struct hftmon_irq_done d, nmi;

	KUNIT_ASSERT_TRUE(test, hftmon_irq_enter(c, HFTMON_IRQ_KIND_SOFTIRQ, 3,
						 900, 1000));
	KUNIT_ASSERT_TRUE(test, hftmon_irq_enter(c, HFTMON_IRQ_KIND_DEVICE, 11,
						 0, 1100));
	hftmon_irq_nmi(c, 20, 1150, &nmi);
	KUNIT_EXPECT_EQ(test, nmi.start, 1130ULL);
	KUNIT_EXPECT_EQ(test, nmi.net, 20ULL);
	KUNIT_EXPECT_EQ(test, nmi.depth, 2U);

	KUNIT_ASSERT_TRUE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_DEVICE, 11,
						 1300, &d));
	KUNIT_EXPECT_EQ(test, d.start, 1100ULL);
	KUNIT_EXPECT_EQ(test, d.gross, 200ULL);
	KUNIT_EXPECT_EQ(test, d.net, 180ULL);
	KUNIT_EXPECT_EQ(test, d.depth, 1U);

	KUNIT_ASSERT_TRUE(test, hftmon_irq_enter(c, HFTMON_IRQ_KIND_VECTOR,
						 0xec, 0, 1500));
	KUNIT_ASSERT_TRUE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_VECTOR,
						 0xec, 1540, &d));
	KUNIT_EXPECT_EQ(test, d.net, 40ULL);
	KUNIT_EXPECT_EQ(test, d.depth, 1U);

	KUNIT_ASSERT_TRUE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_SOFTIRQ, 3,
						 2000, &d));
	KUNIT_EXPECT_EQ(test, d.gross, 1000ULL);
	KUNIT_EXPECT_EQ(test, d.net, 760ULL);
	KUNIT_EXPECT_EQ(test, d.raise, 900ULL);
	KUNIT_EXPECT_EQ(test, d.depth, 0U);
	KUNIT_EXPECT_EQ(test, c->depth, 0U);

	/* The counters hold the same numbers. */
	KUNIT_EXPECT_EQ(test, c->softirq[3].count, 1ULL);
	KUNIT_EXPECT_EQ(test, c->softirq[3].net_ns, 760ULL);
	KUNIT_EXPECT_EQ(test, c->irq[11].count, 1ULL);
	KUNIT_EXPECT_EQ(test, c->irq[11].net_ns, 180ULL);
	KUNIT_EXPECT_EQ(test, c->vec[0xec].count, 1ULL);
	KUNIT_EXPECT_EQ(test, c->vec[0xec].net_ns, 40ULL);
	KUNIT_EXPECT_EQ(test, c->nmi.count, 1ULL);
	KUNIT_EXPECT_EQ(test, c->nmi.net_ns, 20ULL);
	KUNIT_EXPECT_EQ(test, c->unmatched, 0ULL);
}

/*
 * An exit whose entry came before START is dropped and counted; an IRQ
 * whose exit was lost under a softirq (entry 1100, no exit) is discarded
 * when the softirq (1000..1600) ends: softirq net = 600, the lost frame
 * subtracts nothing, IRQ 5 counts nothing.
 */
static void irq_unmatched(struct kunit *test)
{
	struct hftmon_irq_cpu *c = irq_cpu_new(test);
	struct hftmon_irq_done d;

	KUNIT_EXPECT_FALSE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_DEVICE, 4,
						  500, &d));
	KUNIT_EXPECT_EQ(test, c->unmatched, 1ULL);
	KUNIT_EXPECT_EQ(test, c->irq[4].count, 0ULL);

	hftmon_irq_enter(c, HFTMON_IRQ_KIND_SOFTIRQ, 1, 0, 1000);
	hftmon_irq_enter(c, HFTMON_IRQ_KIND_DEVICE, 5, 0, 1100);
	KUNIT_ASSERT_TRUE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_SOFTIRQ, 1,
						 1600, &d));
	KUNIT_EXPECT_EQ(test, d.net, 600ULL);
	KUNIT_EXPECT_EQ(test, c->depth, 0U);
	KUNIT_EXPECT_EQ(test, c->irq[5].count, 0ULL);
	/* A softirq exit of another vector does not pop vector 1's frame. */
	hftmon_irq_enter(c, HFTMON_IRQ_KIND_SOFTIRQ, 1, 0, 2000);
	KUNIT_EXPECT_FALSE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_SOFTIRQ, 2,
						  2100, &d));
	KUNIT_EXPECT_EQ(test, c->depth, 1U);
	KUNIT_EXPECT_EQ(test, c->unmatched, 2ULL);
}

/* HFTMON_IRQ_DEPTH frames are followed, the next entry is not. */
static void irq_too_deep(struct kunit *test)
{
	struct hftmon_irq_cpu *c = irq_cpu_new(test);
	struct hftmon_irq_done d;
	unsigned int i;

	for (i = 0; i < HFTMON_IRQ_DEPTH; i++)
		KUNIT_EXPECT_TRUE(test, hftmon_irq_enter(c,
				HFTMON_IRQ_KIND_DEVICE, i, 0, 100 * i));
	KUNIT_EXPECT_FALSE(test, hftmon_irq_enter(c, HFTMON_IRQ_KIND_DEVICE,
						  20, 0, 5000));
	KUNIT_EXPECT_EQ(test, c->too_deep, 1ULL);
	KUNIT_EXPECT_FALSE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_DEVICE,
						  20, 5010, &d));
	/* The innermost followed one (IRQ 7, from 700) ends at 800: net 100. */
	KUNIT_EXPECT_TRUE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_DEVICE,
						 HFTMON_IRQ_DEPTH - 1, 800, &d));
	KUNIT_EXPECT_EQ(test, d.net, 100ULL);
	/* IRQ 6 (600..1000): gross 400, net 400 - 100 = 300. */
	KUNIT_EXPECT_TRUE(test, hftmon_irq_leave(c, HFTMON_IRQ_KIND_DEVICE,
						 HFTMON_IRQ_DEPTH - 2, 1000, &d));
	KUNIT_EXPECT_EQ(test, d.net, 300ULL);
}

static struct kunit_case irq_cases[] = {
	KUNIT_CASE(irq_nested_net),
	KUNIT_CASE(irq_unmatched),
	KUNIT_CASE(irq_too_deep),
	{}
};

static struct kunit_suite irq_suite = {
	.name = "hftmon_irq",
	.test_cases = irq_cases,
};

kunit_test_suites(&irq_suite);
