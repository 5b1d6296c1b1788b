// SPDX-License-Identifier: GPL-2.0
/*
 * hftmon_inject: a test-only module that puts known disturbances on a
 * chosen CPU, so the VM tests can check what hftmon records against a
 * duration the disturbance measured itself. Writing
 *   echo "KIND CPU US [US2]" > /sys/module/hftmon_inject/parameters/inject
 * returns when it is over; KIND is
 *   vector   US busy in a function-call IPI (CALL_FUNCTION_SINGLE vector)
 *   vector-nowait  the same, but the write returns once the IPI is sent,
 *            so the writer can watch for the disturbance's end (the
 *            benchmark's reader, which would otherwise be held in the
 *            write until the loop is over); EBUSY while the last one runs,
 *            and parameters/last reads "0 0" until it is over
 *   irq      US busy in the handler of this module's own device IRQ
 *            (an irq_desc with dummy_irq_chip, requested IRQF_NO_THREAD so
 *            it is hard IRQ on PREEMPT_RT too), raised from inside an
 *            irq_work interrupt on CPU (queued there by a function-call
 *            IPI), the way a GPIO or MSI demultiplexer calls
 *            generic_handle_irq(): a device IRQ nested in a vector
 *   softirq  US busy in a tasklet scheduled on CPU from an irq_work
 *            interrupt (TASKLET softirq; on PREEMPT_RT it runs in
 *            ksoftirqd/CPU)
 *   nested   a tasklet busy US that, half-way, raises an irq_work (a
 *            hard-IRQ self-IPI, IRQ_WORK vector) whose function raises the
 *            device IRQ, whose handler is busy US2
 * and parameters/last then reads "START END [INNER_START INNER_END]", the
 * CLOCK_MONOTONIC ns at which the busy loops began and ended, and
 * parameters/irq the device IRQ's number (its /proc/interrupts row).
 * A real device whose interrupt a guest can raise at will does not exist
 * in the test VM (no NIC, no disk; the serial port's IRQ fires on its own
 * schedule), hence the software-raised descriptor.
 */
#include <linux/completion.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>

static int inject_irq = -1;
module_param_named(irq, inject_irq, int, 0444);
MODULE_PARM_DESC(irq, "The injected device IRQ's number");

static DEFINE_MUTEX(inject_lock);	/* one injection at a time */
static u64 busy_ns, inner_ns;		/* the current injection's lengths */
static u64 t_start, t_end, t_in_start, t_in_end;
static unsigned int inner_done;
static DECLARE_COMPLETION(tasklet_done);

static void busy(u64 ns, u64 *start, u64 *end)
{
	u64 t0 = ktime_get_mono_fast_ns(), t;

	do {
		cpu_relax();
		t = ktime_get_mono_fast_ns();
	} while (t - t0 < ns);
	*start = t0;
	*end = t;
}

static irqreturn_t inject_handler(int irq, void *dev)
{
	busy(inner_ns, &t_in_start, &t_in_end);
	return IRQ_HANDLED;
}

static void inject_raise_irq(void)
{
	unsigned long flags;

	local_irq_save(flags);
	generic_handle_irq(inject_irq);
	local_irq_restore(flags);
}

static void inner_work_fn(struct irq_work *w)
{
	inject_raise_irq();
	WRITE_ONCE(inner_done, 1);
}

static struct irq_work inner_work = IRQ_WORK_INIT_HARD(inner_work_fn);

static void inject_tasklet_fn(struct tasklet_struct *t)
{
	u64 s, e;

	if (!inner_ns) {
		busy(busy_ns, &t_start, &t_end);
	} else {
		busy(busy_ns / 2, &t_start, &e);
		WRITE_ONCE(inner_done, 0);
		irq_work_queue(&inner_work);
		while (!READ_ONCE(inner_done))
			cpu_relax();
		busy(busy_ns - busy_ns / 2, &s, &t_end);
	}
	complete(&tasklet_done);
}

static DECLARE_TASKLET(inject_tasklet, inject_tasklet_fn);

static void ipi_busy(void *arg)
{
	busy(busy_ns, &t_start, &t_end);
}

/*
 * vector-nowait: async_busy is set from the write until the loop is over.
 * The kernel unlocks an async csd before calling its function, so the
 * flag, not the csd, says whether the last one still runs.
 */
static unsigned int async_busy;
static int async_cpu = -1;

static void ipi_busy_async(void *arg)
{
	busy(busy_ns, &t_start, &t_end);
	/* The times before the flag: a reader that sees it clear has them. */
	smp_store_release(&async_busy, 0);
}

static call_single_data_t async_csd = CSD_INIT(ipi_busy_async, NULL);

static void ipi_nop(void *arg)
{
}

/*
 * The device IRQ and the tasklet are started from a hard irq_work the
 * IPI queues on its own CPU, not from the IPI's function itself: an idle
 * CPU runs that function from do_idle()'s flush of the call queue, in
 * task context, where PREEMPT_RT warns about softirqs raised inside it
 * (do_softirq_post_smp_call_flush; a device IRQ's randomness, a tasklet).
 * The irq_work's self-IPI is a real hard IRQ, idle CPU or not.
 */
static unsigned int irq_done;

static void irq_work_fn(struct irq_work *w)
{
	inject_raise_irq();
	t_start = t_in_start;
	t_end = t_in_end;
	WRITE_ONCE(irq_done, 1);
}

static struct irq_work raise_work = IRQ_WORK_INIT_HARD(irq_work_fn);

static void ipi_irq(void *arg)
{
	irq_work_queue(&raise_work);
}

static void tasklet_work_fn(struct irq_work *w)
{
	tasklet_schedule(&inject_tasklet);
}

static struct irq_work tasklet_work = IRQ_WORK_INIT_HARD(tasklet_work_fn);

static void ipi_tasklet(void *arg)
{
	irq_work_queue(&tasklet_work);
}

/*
 * fn in an IPI to cpu. A call to the caller's own CPU would run in place,
 * no IPI and no interruption to see: refused (-EDEADLK), so a writer
 * that is not pinned elsewhere learns it instead of testing nothing.
 */
static int ipi_on(unsigned int cpu, smp_call_func_t fn)
{
	int err;

	preempt_disable();
	if (cpu == smp_processor_id())
		err = -EDEADLK;
	else
		err = smp_call_function_single(cpu, fn, NULL, 1);
	preempt_enable();
	return err;
}

static int inject_set(const char *val, const struct kernel_param *kp)
{
	unsigned int cpu, us, us2 = 0;
	char kind[16];
	int n, err = 0;

	n = sscanf(val, "%15s %u %u %u", kind, &cpu, &us, &us2);
	if (n < 3 || cpu >= nr_cpu_ids || !cpu_online(cpu) || !us ||
	    us > 100000 || us2 > 100000)
		return -EINVAL;
	mutex_lock(&inject_lock);
	/* Pairs with ipi_busy_async(): its loop is over, its times written. */
	if (smp_load_acquire(&async_busy)) {
		err = -EBUSY;
		goto out;
	}
	busy_ns = us * 1000ULL;
	inner_ns = 0;
	t_start = t_end = t_in_start = t_in_end = 0;
	if (!strcmp(kind, "vector")) {
		err = ipi_on(cpu, ipi_busy);
	} else if (!strcmp(kind, "vector-nowait")) {
		async_busy = 1;
		async_cpu = cpu;
		/* As ipi_on(): to its own CPU it would run here, no IPI. */
		preempt_disable();
		if (cpu == smp_processor_id())
			err = -EDEADLK;
		else
			err = smp_call_function_single_async(cpu, &async_csd);
		preempt_enable();
		if (err)
			async_busy = 0;
	} else if (!strcmp(kind, "irq")) {
		unsigned long until = jiffies + 10 * HZ;

		inner_ns = busy_ns;
		WRITE_ONCE(irq_done, 0);
		err = ipi_on(cpu, ipi_irq);
		while (!err && !READ_ONCE(irq_done)) {
			if (time_after(jiffies, until))
				err = -ETIMEDOUT;
			cpu_relax();
		}
		t_in_start = t_in_end = 0;
	} else if (!strcmp(kind, "softirq") || !strcmp(kind, "nested")) {
		if (kind[0] == 'n') {
			if (!us2) {
				err = -EINVAL;
				goto out;
			}
			inner_ns = us2 * 1000ULL;
		}
		reinit_completion(&tasklet_done);
		err = ipi_on(cpu, ipi_tasklet);
		if (!err && !wait_for_completion_timeout(&tasklet_done, 10 * HZ))
			err = -ETIMEDOUT;
		if (kind[0] != 'n')
			t_in_start = t_in_end = 0;
	} else {
		err = -EINVAL;
	}
out:
	mutex_unlock(&inject_lock);
	return err;
}

static int inject_get(char *buf, const struct kernel_param *kp)
{
	int n;

	mutex_lock(&inject_lock);
	/* Pairs with ipi_busy_async(): clear, the times are the loop's. */
	if (smp_load_acquire(&async_busy))
		n = sysfs_emit(buf, "0 0\n");
	else if (t_in_start)
		n = sysfs_emit(buf, "%llu %llu %llu %llu\n", t_start, t_end,
			       t_in_start, t_in_end);
	else
		n = sysfs_emit(buf, "%llu %llu\n", t_start, t_end);
	mutex_unlock(&inject_lock);
	return n;
}

static const struct kernel_param_ops inject_ops = { .set = inject_set };
module_param_cb(inject, &inject_ops, NULL, 0200);
MODULE_PARM_DESC(inject, "KIND CPU US [US2]: vector, vector-nowait, irq, softirq, nested");

static const struct kernel_param_ops last_ops = { .get = inject_get };
module_param_cb(last, &last_ops, NULL, 0444);
MODULE_PARM_DESC(last, "START END [INNER_START INNER_END] of the last injection");

static int __init inject_init(void)
{
	int irq, err;

	/* No owner: request_irq() would pin this module until free_irq(). */
	irq = __irq_alloc_descs(-1, 0, 1, NUMA_NO_NODE, NULL, NULL);
	if (irq < 0)
		return irq;
	irq_set_chip_and_handler(irq, &dummy_irq_chip, handle_simple_irq);
	irq_clear_status_flags(irq, IRQ_NOREQUEST | IRQ_NOPROBE);
	err = request_irq(irq, inject_handler, IRQF_NO_THREAD, "hftmon_inject",
			  NULL);
	if (err) {
		irq_free_desc(irq);
		return err;
	}
	inject_irq = irq;
	return 0;
}

static void __exit inject_exit(void)
{
	/*
	 * The last vector-nowait's function may still be returning: a
	 * waited-for call queued behind it on its CPU runs after it.
	 */
	while (smp_load_acquire(&async_busy))	/* pairs with ipi_busy_async() */
		cpu_relax();
	if (async_cpu >= 0)
		smp_call_function_single(async_cpu, ipi_nop, NULL, 1);
	free_irq(inject_irq, NULL);
	irq_set_chip_and_handler(inject_irq, NULL, NULL);
	irq_free_desc(inject_irq);
	tasklet_kill(&inject_tasklet);
	irq_work_sync(&inner_work);
}

module_init(inject_init);
module_exit(inject_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hftmon tests: busy disturbances in IRQ, IPI and softirq context on a chosen CPU");
