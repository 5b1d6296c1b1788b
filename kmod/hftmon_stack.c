// SPDX-License-Identifier: GPL-2.0
/*
 * Stack traces at switch-out, stored once each. A busy thread blocks in
 * the same few places over and over, so instead of copying its stack into
 * every SWITCH record, the record carries a stack id and the addresses
 * travel once, in an HFTMON_REC_STACK record written the first time that
 * id is used.
 *
 * The table is an array of 64-bit stack hashes, open addressing with a
 * short linear probe, claimed with cmpxchg: lock-free, allocation-free,
 * shared by all CPUs so an identical stack gets the same id everywhere.
 * The id is the slot index + 1 (0 = no stack). Two different stacks with
 * the same 64-bit hash would share an id; with a few thousand stacks the
 * odds are about 2^-40, accepted. A full table counts HFTMON_LOST_NO_SPACE.
 *
 * An id is handed out only once its STACK record is in a ring: a slot is
 * claimed as "pending" (the hash with bit 0 clear), becomes "published"
 * (bit 0 set) after the record is committed, and is freed again when
 * the record is lost (ring full): the next use of that stack tries
 * again, instead of an id nobody will ever be told the addresses of.
 * A CPU that meets a stack another CPU is publishing at that moment
 * records no stack id (0) for that switch rather than wait.
 *
 * User stacks are walked through frame pointers from the task's saved
 * user registers, each frame read with copy_from_user_nofault(): a page
 * that is not present ends the walk instead of faulting (we may hold the
 * runqueue lock). Code built without frame pointers yields a short stack,
 * marked truncated when the walk stopped on a bad frame.
 */
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/stacktrace.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "hftmon_internal.h"
#ifdef HFTMON_HAVE_BLOCKED_UNWIND
#include <asm/unwind.h>
#endif

#define HFTMON_STACK_PROBES	16

int hftmon_stack_table_init(struct hftmon_stack_table *t, unsigned int size)
{
	if (!size || !is_power_of_2(size))
		return -EINVAL;
	t->slots = vzalloc(array_size(size, sizeof(*t->slots)));
	if (!t->slots)
		return -ENOMEM;
	t->size = size;
	return 0;
}

void hftmon_stack_table_free(struct hftmon_stack_table *t)
{
	vfree(t->slots);
	t->slots = NULL;
	t->size = 0;
}

static u64 hftmon_stack_hash(const unsigned long *ips, unsigned int nr,
			     bool user)
{
	u64 h = 0x9e3779b97f4a7c15ULL ^ ((u64)nr << 1) ^ user;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		h ^= ips[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h | 3;	/* 0: free; bit 0 clear: pending (see above) */
}

#define HFTMON_STACK_PENDING(h)	((h) & ~1ULL)

/*
 * The id of this stack; on first use, also writes its STACK record (its
 * subject: pid/tid) into rb, before the record that refers to it. Returns 0 when the table is
 * full (counted as lost), when the STACK record is lost (counted by the
 * ring, the slot given back), or when another CPU is publishing the same
 * stack right now. Called from the switch probe: IRQs are off.
 */
u32 hftmon_stack_id_as(struct hftmon_stack_table *t, struct hftmon_ring *rb,
		       s32 pid, s32 tid, const unsigned long *ips,
		       unsigned int nr, u16 flags)
{
	struct hftmon_rec_stack *r;
	unsigned int i, idx;
	u64 h, old;

	if (!t->slots || !nr)
		return 0;
	h = hftmon_stack_hash(ips, nr, flags & HFTMON_STACK_USER);
	for (i = 0; i < HFTMON_STACK_PROBES; i++) {
		idx = (h + i) & (t->size - 1);
		old = READ_ONCE(t->slots[idx]);
		if (!old)
			old = cmpxchg(&t->slots[idx], 0,
				      HFTMON_STACK_PENDING(h));
		if (old == h)
			return idx + 1;
		if (old == HFTMON_STACK_PENDING(h))
			return 0;	/* another CPU is publishing it */
		if (old)
			continue;
		/* Ours: publish the addresses once, then the id. */
		r = (void *)hftmon_ring_reserve_irqsoff(rb, HFTMON_REC_STACK,
						struct_size(r, ips, nr));
		if (!r) {
			/* Lost (and counted): give the slot back. */
			WRITE_ONCE(t->slots[idx], 0);
			return 0;
		}
		r->hdr.flags = flags;
		r->hdr.pid = pid;	/* as the caller's session may see them */
		r->hdr.tid = tid;
		r->stack_id = idx + 1;
		r->nr = nr;
		for (i = 0; i < nr; i++)
			r->ips[i] = ips[i];
		hftmon_ring_commit_irqsoff(rb);
		/* Published after the record: who reads h finds it sent. */
		smp_store_release(&t->slots[idx], h);
		return idx + 1;
	}
	hftmon_ring_count_lost(rb, HFTMON_LOST_NO_SPACE);
	return 0;
}

/* The kernel stack of current, from its caller into the scheduler down. */
unsigned int hftmon_stack_kernel(unsigned long *ips, unsigned int max)
{
	unsigned int nr, skip = 0;

	nr = stack_trace_save(ips, max, 0);
	/*
	 * Drop our own frames. What called us stays: __schedule() itself
	 * when the tracepoint's static call jumps straight to our probe, or
	 * __traceiter_sched_switch() when other probes share it.
	 */
	while (skip < nr && within_module(ips[skip], THIS_MODULE))
		skip++;
	memmove(ips, ips + skip, (nr - skip) * sizeof(*ips));
	return nr - skip;
}

#ifdef HFTMON_HAVE_BLOCKED_UNWIND
/*
 * As the kernel's arch_stack_walk() does for a task that is not current:
 * the unwinder starts from the frame its context switch saved
 * (thread.sp), whose return address is in __schedule(). The task is not
 * running and cannot run until the caller's switch completes (it is the
 * next task of this CPU's switch, under its runqueue lock), so its stack
 * is neither changing nor freed.
 */
unsigned int hftmon_stack_kernel_blocked(struct task_struct *t,
					 unsigned long *ips, unsigned int max)
{
	struct unwind_state state;
	unsigned int nr = 0;
	unsigned long addr;

	for (unwind_start(&state, t, NULL, NULL);
	     nr < max && !unwind_done(&state); unwind_next_frame(&state)) {
		addr = unwind_get_return_address(&state);
		if (!addr)
			break;
		ips[nr++] = addr;
	}
	return nr;
}
#else
unsigned int hftmon_stack_kernel_blocked(struct task_struct *t,
					 unsigned long *ips, unsigned int max)
{
	return 0;
}
#endif

/* The user stack of current via frame pointers; *trunc if cut short. */
unsigned int hftmon_stack_user(unsigned long *ips, unsigned int max,
			       bool *trunc)
{
	struct pt_regs *regs;
	unsigned long fp, frame[2];
	unsigned int nr = 0;

	*trunc = false;
	if (!current->mm || (current->flags & PF_KTHREAD))
		return 0;
	regs = task_pt_regs(current);
	if (!user_mode(regs))
		return 0;
	ips[nr++] = instruction_pointer(regs);
	fp = frame_pointer(regs);
	while (nr < max) {
		/* frame[0]: caller's frame pointer, frame[1]: return address */
		if (!fp || fp & (sizeof(long) - 1) ||
		    copy_from_user_nofault(frame, (void __user *)fp,
					   sizeof(frame))) {
			*trunc = fp != 0;
			break;
		}
		if (!frame[1])
			break;
		ips[nr++] = frame[1];
		if (frame[0] <= fp)	/* stacks grow down: callers are above */
			break;
		fp = frame[0];
	}
	if (nr == max)
		*trunc = true;
	return nr;
}
