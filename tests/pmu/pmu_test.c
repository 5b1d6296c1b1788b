// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module (never installed): proves a counting PMU is reachable
 * from a module through kmod/hftmon_pmu.c, the wrapper hftmon.ko reads
 * its counters with, compiled in here from the same file. At load, on
 * the CPU it runs on, it makes a pinned PERF_COUNT_HW_INSTRUCTIONS
 * counter and, with preemption and IRQs off, reads it before and after a
 * loop of exactly 2 * loops instructions (a decrement and a branch per
 * turn, in asm, so the compiler cannot change it). It prints one line:
 *   hftmon_pmu_test: instructions: expected E counted C
 * or, where the counter cannot be had or read,
 *   hftmon_pmu_test: unsupported: <what> (<errno>)
 * and never a number then. Under arm64 TCG with -icount, INST_RETIRED is
 * exact, so C - E is the few instructions of the read itself; under x86
 * TCG there is no PMU and creating the counter fails. The load succeeds
 * either way (the line is the result); tests/vm/t_pmu.sh judges it.
 * planted=1 reads event->count without pmu->read(), the bug the wrapper
 * exists to avoid: the count is then stale and the test must fail.
 */
#include <linux/err.h>
#include <linux/module.h>
#include <linux/perf_event.h>
#include <linux/smp.h>

#include "hftmon_pmu.h"

static unsigned long loops = 5000000;
module_param(loops, ulong, 0444);
MODULE_PARM_DESC(loops, "turns of the 2-instruction loop");
static bool planted;
module_param(planted, bool, 0444);
MODULE_PARM_DESC(planted, "read without pmu->read() (a planted bug)");

/* Exactly 2 * n instructions (n >= 1). */
static noinline void hftmon_pmu_test_loop(unsigned long n)
{
#if defined(CONFIG_ARM64)
	asm volatile("1:	subs	%0, %0, #1\n"
		     "	b.ne	1b\n"
		     : "+r"(n) : : "cc");
#elif defined(CONFIG_X86)
	asm volatile("1:	dec	%0\n"
		     "	jnz	1b\n"
		     : "+r"(n) : : "cc");
#else
#error "hftmon_pmu_test: no known loop for this architecture"
#endif
}

static int hftmon_pmu_test_read(struct perf_event *ev, u64 *v)
{
	if (planted) {
		*v = local64_read(&ev->count);
		return 0;
	}
	return hftmon_pmu_read_local(ev, v);
}

static int __init hftmon_pmu_test_init(void)
{
	struct perf_event *ev;
	unsigned long flags;
	u64 before = 0, after = 0;
	int cpu, err, err2;

	if (!loops)
		return -EINVAL;
	cpu = get_cpu();
	put_cpu();
	/* Creating it on another CPU would IPI; pin ourselves instead. */
	migrate_disable();
	ev = hftmon_pmu_create(cpu, PERF_TYPE_HARDWARE,
			       PERF_COUNT_HW_INSTRUCTIONS);
	if (IS_ERR(ev)) {
		migrate_enable();
		pr_info("hftmon_pmu_test: unsupported: perf_event_create_kernel_counter(PERF_COUNT_HW_INSTRUCTIONS) on cpu %d (%ld)\n",
			cpu, PTR_ERR(ev));
		return 0;
	}
	local_irq_save(flags);
	err = hftmon_pmu_test_read(ev, &before);
	hftmon_pmu_test_loop(loops);
	err2 = hftmon_pmu_test_read(ev, &after);
	local_irq_restore(flags);
	migrate_enable();
	hftmon_pmu_release(ev);
	if (err || err2)
		pr_info("hftmon_pmu_test: unsupported: reading the counter on cpu %d (%d)\n",
			cpu, err ? err : err2);
	else
		pr_info("hftmon_pmu_test: instructions: expected %lu counted %llu on cpu %d\n",
			2 * loops, after - before, cpu);
	return 0;
}

static void __exit hftmon_pmu_test_exit(void)
{
}

module_init(hftmon_pmu_test_init);
module_exit(hftmon_pmu_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hftmon test: a PMU instruction counter read from a module");
