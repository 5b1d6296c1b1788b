// SPDX-License-Identifier: GPL-2.0
/*
 * hftmon per-CPU ring: the producer side of the protocol documented on
 * struct hftmon_ring_ctrl in the uapi header. Probes on one CPU write only
 * that CPU's ring and may nest (an IRQ probe interrupting a sched probe):
 * reserve takes seq, time and space with IRQs off, and data_head is
 * published only when the outermost writer commits, so the reader never
 * sees an unfinished record. Memory is allocated at configure time, on
 * the CPU's own NUMA node; reserve/commit never allocate, sleep or lock.
 * Every page is allocated with __GFP_ACCOUNT: the memory cgroup of the
 * task that configures pays (hftmon_mem.c counts the rest of the cost).
 *
 * This file is the ring protocol alone: the unit tests compile it for
 * userspace (tests/unit/ring_producer.c over tests/unit/kshim/), so the
 * ring they test is this one, not a copy.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "hftmon_internal.h"

static void hftmon_ring_wakeup(struct irq_work *work)
{
	struct hftmon_ring *rb = container_of(work, struct hftmon_ring,
					      wakeup_work);

	wake_up_interruptible(rb->wq);
}

struct hftmon_ring *hftmon_ring_alloc(int cpu, unsigned int data_pages,
				      u32 wakeup_bytes, wait_queue_head_t *wq)
{
	int node = cpu_to_node(cpu);
	struct hftmon_ring *rb;
	unsigned int i;

	if (!data_pages || !is_power_of_2(data_pages))
		return ERR_PTR(-EINVAL);

	rb = kmem_cache_alloc_node(hftmon_ring_cache,
				   GFP_KERNEL_ACCOUNT | __GFP_ZERO, node);
	if (!rb)
		return ERR_PTR(-ENOMEM);
	rb->nr_pages = data_pages + 1;
	rb->pages = kvcalloc(rb->nr_pages, sizeof(*rb->pages),
			     GFP_KERNEL_ACCOUNT);
	if (!rb->pages)
		goto err_free_rb;
	for (i = 0; i < rb->nr_pages; i++) {
		/* Charged to the caller's memcg, refunded by __free_page(). */
		rb->pages[i] = alloc_pages_node(node, GFP_KERNEL_ACCOUNT |
						__GFP_ZERO | __GFP_NOWARN, 0);
		if (!rb->pages[i])
			goto err_free_pages;
	}
	rb->vaddr = vmap(rb->pages, rb->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!rb->vaddr)
		goto err_free_pages;

	rb->ctrl = rb->vaddr;
	rb->data = rb->vaddr + PAGE_SIZE;
	rb->data_size = (u64)data_pages << PAGE_SHIFT;
	rb->mask = rb->data_size - 1;
	/* A record may take a quarter of the ring, and its size is a u16. */
	rb->max_record = min_t(u64, rb->data_size / 4, U16_MAX & ~7U);
	rb->wakeup_bytes = wakeup_bytes ? min_t(u64, wakeup_bytes,
						rb->data_size) :
					  rb->data_size / 4;
	rb->cpu = cpu;
	rb->wq = wq;
	init_irq_work(&rb->wakeup_work, hftmon_ring_wakeup);

	rb->ctrl->version = HFTMON_ABI_VERSION;
	rb->ctrl->cpu = cpu;
	rb->ctrl->data_offset = PAGE_SIZE;
	rb->ctrl->data_size = rb->data_size;
	return rb;

err_free_pages:
	while (i--)
		__free_page(rb->pages[i]);
	kvfree(rb->pages);
err_free_rb:
	kmem_cache_free(hftmon_ring_cache, rb);
	return ERR_PTR(-ENOMEM);
}

/* The probes must be unregistered (and synchronised) before this. */
void hftmon_ring_free(struct hftmon_ring *rb)
{
	unsigned int i;

	if (!rb)
		return;
	irq_work_sync(&rb->wakeup_work);
	vunmap(rb->vaddr);
	for (i = 0; i < rb->nr_pages; i++)
		__free_page(rb->pages[i]);
	kvfree(rb->pages);
	kmem_cache_free(hftmon_ring_cache, rb);
}

/* Called with IRQs off: one record lost, its seq consumed. */
static void hftmon_ring_lost(struct hftmon_ring *rb, enum hftmon_lost_cause c)
{
	rb->seq++;
	WRITE_ONCE(rb->ctrl->next_seq, rb->seq);
	rb->lost[c]++;
	WRITE_ONCE(rb->ctrl->lost[c], rb->lost[c]);
}

/* A record that could not be made at all (a full table, say). */
void hftmon_ring_count_lost(struct hftmon_ring *rb, enum hftmon_lost_cause c)
{
	unsigned long flags;

	local_irq_save(flags);
	hftmon_ring_lost(rb, c);
	local_irq_restore(flags);
}

/*
 * The PAD a record of size bytes needs in front of it with the head at
 * head: 0, or all that is left before the end of the data area. A record
 * that does not fit before the end goes to the start, the end filled
 * with a PAD record. So that every PAD is a whole header, a record is
 * never placed where it would leave less than a header behind it: it
 * goes to the start then too. By induction the space left before the end
 * is then 0 or at least a header, and a PAD is at least a header long.
 * (Unsigned: rest - size - 1 wraps when they are equal.) The unit tests'
 * producer asks this too, so it cannot drift from the rule.
 */
static u64 hftmon_ring_pad(const struct hftmon_ring *rb, u64 head, u32 size)
{
	u64 rest = rb->data_size - (head & rb->mask);

	if (rest < size ||
	    rest - size - 1 < sizeof(struct hftmon_rec_hdr) - 1)
		return rest;
	return 0;
}

/*
 * Reserve size bytes (a multiple of 8, at least the header) for a record
 * of this type and fill its header but pid/tid/flags. Returns NULL when
 * the record is lost (counted by cause, its seq consumed). Every non-NULL
 * return must be followed by a commit on the same CPU.
 *
 * The _irqsoff pair is for probes that always run with IRQs disabled
 * (sched_switch, sched_wakeup, sched_migrate_task: under the rq or pi
 * lock): nothing can then interrupt them, and saving and restoring the
 * flags would only cost time (a lot of it under TCG, where popf ends a
 * translation block). The plain pair disables IRQs around the ring's own
 * bookkeeping, so a writer with IRQs on may be interrupted by another
 * between its reserve and its commit: the nest count keeps the head
 * unpublished until the outermost commit.
 */
struct hftmon_rec_hdr *hftmon_ring_reserve_irqsoff(struct hftmon_ring *rb,
						   u16 type, u32 size)
{
	struct hftmon_rec_hdr *rec;
	u64 head, tail, off, pad;

	lockdep_assert_irqs_disabled();
	if (unlikely(size > rb->max_record || size < sizeof(*rec) ||
		     size & 7)) {
		hftmon_ring_lost(rb, HFTMON_LOST_TOO_BIG);
		return NULL;
	}

	head = rb->head;
	/* Pairs with the reader's release of data_tail: it is done there. */
	tail = smp_load_acquire(&rb->ctrl->data_tail);
	off = head & rb->mask;
	pad = hftmon_ring_pad(rb, head, size);
	/* Unsigned: a garbage tail (ahead of head) also reads as full. */
	if (unlikely(head - tail > rb->data_size ||
		     head + pad + size - tail > rb->data_size)) {
		hftmon_ring_lost(rb, HFTMON_LOST_RING_FULL);
		return NULL;
	}
	if (pad) {
		/* A header with type, size and cpu; no seq, no subject. */
		struct hftmon_rec_hdr *p = rb->data + off;

		p->type = HFTMON_REC_PAD;
		p->size = pad;
		p->cpu = rb->cpu;
		p->flags = 0;
		p->pid = 0;
		p->tid = 0;
		p->seq = 0;
		p->time_ns = 0;
		head += pad;
		off = 0;
	}

	rec = rb->data + off;
	rec->type = type;
	rec->size = size;
	rec->cpu = rb->cpu;
	rec->flags = 0;
	rec->seq = rb->seq++;
	rec->time_ns = ktime_get_mono_fast_ns();
	rb->head = head + size;
	rb->nest++;
	rb->records++;
	WRITE_ONCE(rb->ctrl->records, rb->records);
	WRITE_ONCE(rb->ctrl->next_seq, rb->seq);
	return rec;
}

void hftmon_ring_commit_irqsoff(struct hftmon_ring *rb)
{
	lockdep_assert_irqs_disabled();
	if (--rb->nest)
		return;
	/* Every reserved record is complete: nesting is LIFO. */
	smp_store_release(&rb->ctrl->data_head, rb->head);
	if (unlikely(rb->kick)) {
		u64 unread = rb->urgent_head;

		/* Published with the head, read by hftmon_ring_readable(). */
		rb->kick = false;
		WRITE_ONCE(rb->urgent_head, rb->head);
		/*
		 * No second wake-up while the last kicked record is unread:
		 * its waiters were woken and poll() stays readable. On
		 * PREEMPT_RT the wake-up is the irq_work/N thread, which
		 * preempts a tracked thread of this CPU: without this rule,
		 * at a threshold below that preemption's cost, each spike's
		 * wake-up would make the next spike. The barrier orders the
		 * store above before the tail's load, against a reader that
		 * stores the tail, then polls (hftmon_poll()'s barrier).
		 */
		smp_mb();
		if ((s64)(unread - READ_ONCE(rb->ctrl->data_tail)) <= 0) {
			rb->last_wakeup = rb->head;
			irq_work_queue(&rb->wakeup_work);
		}
	} else if (unlikely(rb->head - rb->last_wakeup >= rb->wakeup_bytes) &&
		   rb->head - READ_ONCE(rb->ctrl->data_tail) >= rb->wakeup_bytes) {
		rb->last_wakeup = rb->head;
		/* Never wake_up() here: we may hold the rq lock. */
		irq_work_queue(&rb->wakeup_work);
	}
}

struct hftmon_rec_hdr *hftmon_ring_reserve(struct hftmon_ring *rb, u16 type,
					   u32 size)
{
	struct hftmon_rec_hdr *rec;
	unsigned long flags;

	local_irq_save(flags);
	rec = hftmon_ring_reserve_irqsoff(rb, type, size);
	local_irq_restore(flags);
	return rec;
}

void hftmon_ring_commit(struct hftmon_ring *rb)
{
	unsigned long flags;

	local_irq_save(flags);
	hftmon_ring_commit_irqsoff(rb);
	local_irq_restore(flags);
}

/*
 * Data past the watermark or an unread kicked record (a spike), or any
 * data at all when any is true.
 */
bool hftmon_ring_readable(struct hftmon_ring *rb, bool any)
{
	/* Pairs with the release in commit; only a readiness hint here. */
	u64 head = smp_load_acquire(&rb->ctrl->data_head);
	u64 tail = READ_ONCE(rb->ctrl->data_tail);
	u64 avail = head - tail;

	if (avail > rb->data_size)	/* garbage tail: let the reader see */
		return true;
	if (any)
		return avail != 0;
	return avail >= rb->wakeup_bytes ||
	       (s64)(READ_ONCE(rb->urgent_head) - tail) > 0;
}
