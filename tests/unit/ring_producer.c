// SPDX-License-Identifier: GPL-2.0
/*
 * Harness for the kernel's ring producer in userspace: kmod/hftmon_ring.c
 * itself is compiled into this file over tests/unit/kshim/ (see kshim.h
 * for what stands for what), so the unit tests and the drain benchmark
 * exercise the module's reserve/commit, not a copy that could drift.
 * (GPL-2.0: it includes the module's source.)
 */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../../kmod/hftmon_ring.c"

#include "ring_producer.h"

unsigned char *kshim_page_arena;
size_t kshim_page_arena_pages, kshim_page_arena_used;

static struct kmem_cache ring_cache = { .size = sizeof(struct hftmon_ring) };
struct kmem_cache *hftmon_ring_cache = &ring_cache;

static wait_queue_head_t readers;	/* the session's poll() queue */

/* Which kernel ring lives on which mapping, to free it with the map. */
#define MAX_RINGS 256
static struct {
	void *map;
	struct hftmon_ring *ring;
} rings[MAX_RINGS];
static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;

void *ring_map_alloc(size_t page_size, __u64 data_size)
{
	void *map = mmap(NULL, page_size + data_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return map == MAP_FAILED ? NULL : map;
}

static struct hftmon_ring *ring_forget(void *map)
{
	struct hftmon_ring *rb = NULL;
	unsigned int i;

	pthread_mutex_lock(&rings_lock);
	for (i = 0; i < MAX_RINGS; i++)
		if (rings[i].map == map) {
			rb = rings[i].ring;
			rings[i].map = NULL;
			rings[i].ring = NULL;
			break;
		}
	pthread_mutex_unlock(&rings_lock);
	return rb;
}

void ring_map_free(void *map, size_t page_size, __u64 data_size)
{
	if (!map)
		return;
	hftmon_ring_free(ring_forget(map));
	munmap(map, page_size + data_size);
}

void ring_producer_init(struct ring_producer *p, void *map, size_t page_size,
			__u64 data_size, __u16 cpu)
{
	struct hftmon_ring *rb;
	unsigned int i;

	if (page_size != PAGE_SIZE || data_size % PAGE_SIZE) {
		fprintf(stderr, "ring_producer_init: page size %zu, data %llu: the kernel ring uses %lu-byte pages\n",
			page_size, (unsigned long long)data_size, PAGE_SIZE);
		abort();
	}
	hftmon_ring_free(ring_forget(map));
	pthread_mutex_lock(&rings_lock);
	kshim_page_arena = map;
	kshim_page_arena_pages = 1 + data_size / PAGE_SIZE;
	kshim_page_arena_used = 0;
	rb = hftmon_ring_alloc(cpu, data_size / PAGE_SIZE, 0, &readers);
	kshim_page_arena = NULL;
	for (i = 0; !IS_ERR(rb) && i < MAX_RINGS; i++)
		if (!rings[i].map) {
			rings[i].map = map;
			rings[i].ring = rb;
			break;
		}
	pthread_mutex_unlock(&rings_lock);
	if (IS_ERR(rb) || i == MAX_RINGS) {
		fprintf(stderr, "ring_producer_init: hftmon_ring_alloc: %ld\n",
			IS_ERR(rb) ? PTR_ERR(rb) : -ENOSPC);
		abort();
	}
	memset(p, 0, sizeof(*p));
	p->ring = rb;
	p->ctrl = rb->ctrl;
	p->cpu = cpu;
}

/* The test's view of head and seq goes in before a call... */
static struct hftmon_ring *ring_in(struct ring_producer *p)
{
	p->ring->head = p->head;
	p->ring->seq = p->seq;
	return p->ring;
}

/* ...and comes back after it, with the counts. */
static void ring_out(struct ring_producer *p)
{
	unsigned int i;

	p->head = p->ring->head;
	p->seq = p->ring->seq;
	p->records = p->ring->records;
	for (i = 0; i < HFTMON_LOST_NR; i++)
		p->lost[i] = p->ring->lost[i];
}

/* Test mode only: would the kernel's reserve find room now? */
static bool ring_has_room(const struct hftmon_ring *rb, __u32 size)
{
	__u64 tail = smp_load_acquire(&rb->ctrl->data_tail);
	/* The kernel ring's own rule for the PAD a record needs. */
	__u64 pad = hftmon_ring_pad(rb, rb->head, size);

	return rb->head - tail <= rb->data_size &&
	       rb->head + pad + size - tail <= rb->data_size;
}

struct hftmon_rec_hdr *ring_producer_reserve(struct ring_producer *p,
					     __u16 type, __u32 size)
{
	struct hftmon_ring *rb = ring_in(p);
	struct hftmon_rec_hdr *rec;

	if (p->block_when_full && size <= rb->max_record)
		while (!ring_has_room(rb, size))
			sched_yield();
	rec = hftmon_ring_reserve(rb, type, size);
	if (rec) {
		/* The probes set these; a test record starts from zero. */
		rec->pid = 0;
		rec->tid = 0;
	}
	ring_out(p);
	return rec;
}

void ring_producer_commit(struct ring_producer *p)
{
	hftmon_ring_commit(ring_in(p));
	ring_out(p);
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

	for (i = 0; i < HFTMON_LOST_NR; i++)
		n += p->ring->lost[i];
	return n;
}
