// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Test producer for hftmon rings: kmod/hftmon_ring.c's reserve and commit
 * in userspace, with IRQ masking dropped (one thread owns the producer)
 * and the kernel's smp_* primitives replaced by the C11 helpers the
 * reader uses (lib/ring.h), so both sides of the contract are the same
 * code the library ships.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ring.h"
#include "ring_producer.h"

void *ring_map_alloc(size_t page_size, __u64 data_size)
{
	void *map = mmap(NULL, page_size + data_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return map == MAP_FAILED ? NULL : map;
}

void ring_map_free(void *map, size_t page_size, __u64 data_size)
{
	if (map)
		munmap(map, page_size + data_size);
}

void ring_producer_init(struct ring_producer *p, void *map, size_t page_size,
			__u64 data_size, __u16 cpu)
{
	struct hftmon_ring_ctrl *ctrl = map;

	memset(p, 0, sizeof(*p));
	memset(ctrl, 0, sizeof(*ctrl));
	ctrl->version = HFTMON_ABI_VERSION;
	ctrl->cpu = cpu;
	ctrl->data_offset = page_size;
	ctrl->data_size = data_size;
	p->ctrl = ctrl;
	p->data = (unsigned char *)map + page_size;
	p->data_size = data_size;
	p->mask = data_size - 1;
	/* A record may take a quarter of the ring, and its size is a u16. */
	p->max_record = data_size / 4 < (0xffffu & ~7u) ? data_size / 4 :
							  (0xffffu & ~7u);
	p->cpu = cpu;
}

static void producer_lost(struct ring_producer *p, enum hftmon_lost_cause c)
{
	p->seq++;
	hftmon_ring_store_relaxed(&p->ctrl->next_seq, p->seq);
	p->lost[c]++;
	hftmon_ring_store_relaxed(&p->ctrl->lost[c], p->lost[c]);
}

struct hftmon_rec_hdr *ring_producer_reserve(struct ring_producer *p,
					     __u16 type, __u32 size)
{
	struct hftmon_rec_hdr *rec;
	__u64 head, tail, off, pad = 0;

	if (size > p->max_record || size < sizeof(*rec) || size & 7) {
		producer_lost(p, HFTMON_LOST_TOO_BIG);
		return NULL;
	}

	head = p->head;
	off = head & p->mask;
	if (off + size > p->data_size)
		pad = p->data_size - off;
	for (;;) {
		/* Pairs with the reader's release of data_tail. */
		tail = hftmon_ring_load_acquire(&p->ctrl->data_tail);
		/* Unsigned: a garbage tail (ahead of head) also reads as full. */
		if (!(head - tail > p->data_size ||
		      head + pad + size - tail > p->data_size))
			break;
		if (!p->block_when_full) {
			producer_lost(p, HFTMON_LOST_RING_FULL);
			return NULL;
		}
		sched_yield();
	}
	if (pad) {
		/* May be only 8 bytes: type and size are all it carries. */
		struct hftmon_rec_hdr *pr = (void *)(p->data + off);

		pr->type = HFTMON_REC_PAD;
		pr->size = pad;
		head += pad;
		off = 0;
	}

	rec = (void *)(p->data + off);
	rec->type = type;
	rec->size = size;
	rec->cpu = p->cpu;
	rec->flags = 0;
	rec->pid = 0;
	rec->tid = 0;
	rec->seq = p->seq++;
	rec->time_ns = 0;
	p->head = head + size;
	p->nest++;
	p->records++;
	hftmon_ring_store_relaxed(&p->ctrl->records, p->records);
	hftmon_ring_store_relaxed(&p->ctrl->next_seq, p->seq);
	return rec;
}

void ring_producer_commit(struct ring_producer *p)
{
	/* Every reserved record is complete: nesting is LIFO. */
	if (--p->nest == 0)
		hftmon_ring_store_release(&p->ctrl->data_head, p->head);
}

bool ring_producer_write(struct ring_producer *p,
			 const struct hftmon_rec_hdr *src)
{
	struct hftmon_rec_hdr *rec =
		ring_producer_reserve(p, src->type, src->size);

	if (!rec)
		return false;
	rec->flags = src->flags;
	rec->pid = src->pid;
	rec->tid = src->tid;
	rec->time_ns = src->time_ns;
	memcpy((unsigned char *)rec + sizeof(*rec),
	       (const unsigned char *)src + sizeof(*src),
	       src->size - sizeof(*src));
	ring_producer_commit(p);
	return true;
}

__u64 ring_producer_lost(const struct ring_producer *p)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < HFTMON_LOST_MAX; i++)
		n += p->lost[i];
	return n;
}
