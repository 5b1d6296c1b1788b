/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The kernel's ring producer (kmod/hftmon_ring.c, compiled as it is over
 * the userspace shim in tests/unit/kshim/) behind a small harness, so the
 * reader in lib/ring.c is tested and benchmarked against the code the
 * module runs: reserve/commit, the PAD rule (a pad may be only 8 bytes,
 * with just its type and size written), loss accounting by cause, the
 * watermark wake-up. One producer per ring, one thread at a time, like
 * one CPU's probes; nesting (a probe interrupting a probe) is reserve
 * inside reserve.
 */
#ifndef HFTMON_TESTS_RING_PRODUCER_H
#define HFTMON_TESTS_RING_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/hftmon.h>

struct hftmon_ring;		/* the kernel's, kmod/hftmon_internal.h */

struct ring_producer {
	struct hftmon_ring *ring;
	struct hftmon_ring_ctrl *ctrl;
	/*
	 * The kernel ring's producer head and next seq, for tests to read
	 * and to move (a producer that ran ahead, a seq that goes back):
	 * handed to the kernel ring before each call, read back after.
	 */
	__u64 head;
	__u64 seq;
	/* The kernel ring's own counts, read back after each call. */
	__u64 records;
	__u64 lost[HFTMON_LOST_MAX];
	__u16 cpu;
	/*
	 * Test mode: wait until the kernel's reserve would find room instead
	 * of letting it lose the record.
	 */
	bool block_when_full;
};

/* An anonymous, zeroed mapping of one control page plus data_size bytes. */
void *ring_map_alloc(size_t page_size, __u64 data_size);
/* Frees the kernel ring made on map (if any), then the mapping. */
void ring_map_free(void *map, size_t page_size, __u64 data_size);

/*
 * Makes the kernel ring on map (hftmon_ring_alloc(), its pages taken from
 * map in order: the control page, then the data) and resets p. page_size
 * must be the kernel's PAGE_SIZE (4096), data_size a power-of-two number
 * of pages. Aborts if the kernel ring refuses.
 */
void ring_producer_init(struct ring_producer *p, void *map, size_t page_size,
			__u64 data_size, __u16 cpu);

/*
 * hftmon_ring_reserve(): reserves size bytes for a record of this type,
 * fills its header (type, size, cpu, seq, flags 0, time 0; pid and tid
 * zeroed here) and returns it; NULL when the record is lost (its seq is
 * consumed and the cause counted). Every non-NULL return must be followed
 * by ring_producer_commit().
 */
struct hftmon_rec_hdr *ring_producer_reserve(struct ring_producer *p,
					     __u16 type, __u32 size);

/* hftmon_ring_commit(): the outermost commit publishes data_head. */
void ring_producer_commit(struct ring_producer *p);

/*
 * Writes a whole record: rec's bytes after the header fields the producer
 * owns (type, size, cpu, seq) are copied as they are. false if lost.
 */
bool ring_producer_write(struct ring_producer *p,
			 const struct hftmon_rec_hdr *rec);

/* Total of the kernel ring's lost[] counters. */
__u64 ring_producer_lost(const struct ring_producer *p);

#endif /* HFTMON_TESTS_RING_PRODUCER_H */
