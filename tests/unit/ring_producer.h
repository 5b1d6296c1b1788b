/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * A userspace copy of the kernel's ring producer (kmod/hftmon_ring.c):
 * same reserve/commit protocol, same PAD rule (a pad may be only 8 bytes,
 * with just its type and size written), same loss accounting by cause, so
 * the reader in lib/ring.c can be tested and benchmarked without a kernel.
 * One producer per ring, one thread at a time, like one CPU's probes;
 * nesting (a probe interrupting a probe) is reserve inside reserve.
 */
#ifndef HFTMON_TESTS_RING_PRODUCER_H
#define HFTMON_TESTS_RING_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/hftmon.h>

struct ring_producer {
	struct hftmon_ring_ctrl *ctrl;
	unsigned char *data;
	__u64 data_size;
	__u64 mask;
	__u64 max_record; /* larger records are lost as TOO_BIG */
	__u64 head; /* reserved up to here; published at commit */
	__u64 seq; /* seq of the next record */
	__u64 records;
	__u64 lost[HFTMON_LOST_MAX];
	unsigned int nest;
	__u16 cpu;
	/* Test mode: wait for the reader instead of losing the record. */
	bool block_when_full;
};

/* An anonymous, zeroed mapping of one control page plus data_size bytes. */
void *ring_map_alloc(size_t page_size, __u64 data_size);
void ring_map_free(void *map, size_t page_size, __u64 data_size);

/* Lays out the control page in map (as CONFIGURE does) and resets p. */
void ring_producer_init(struct ring_producer *p, void *map, size_t page_size,
			__u64 data_size, __u16 cpu);

/*
 * Reserves size bytes for a record of this type, fills its header (type,
 * size, cpu, seq; flags, pid, tid and time zeroed) and returns it; NULL
 * when the record is lost (its seq is consumed and the cause counted).
 * Every non-NULL return must be followed by ring_producer_commit().
 */
struct hftmon_rec_hdr *ring_producer_reserve(struct ring_producer *p,
					     __u16 type, __u32 size);

/* Ends the innermost reservation; the outermost publishes data_head. */
void ring_producer_commit(struct ring_producer *p);

/*
 * Writes a whole record: rec's bytes after the header fields the producer
 * owns (type, size, cpu, seq) are copied as they are. false if lost.
 */
bool ring_producer_write(struct ring_producer *p,
			 const struct hftmon_rec_hdr *rec);

/* Total of p->lost[]. */
__u64 ring_producer_lost(const struct ring_producer *p);

#endif /* HFTMON_TESTS_RING_PRODUCER_H */
