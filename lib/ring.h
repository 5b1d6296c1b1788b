/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The ring read protocol of <linux/hftmon.h>, once: a reader over one
 * mapped per-CPU ring. Shared by libhftmon, the CLI, the unit tests and
 * the drain benchmark (the tests' producer uses the same atomic helpers).
 *
 *   hftmon_ring_refresh()  load-acquire data_head: records up to it become
 *                          readable (a snapshot: later records wait for
 *                          the next refresh, so a drain always ends)
 *   hftmon_ring_peek()     the next record in the snapshot, validated,
 *                          with PAD records skipped
 *   hftmon_ring_consume()  step past it, checking its seq for gaps
 *   hftmon_ring_release()  store-release data_tail: the producer may reuse
 *                          the space (also done every quarter ring)
 *
 * Records are walked by their size. One of a type this library does not
 * decode (a newer module's) is stepped over and counted in unknown; one
 * whose frame is sound but whose content is impossible is stepped over and
 * counted in bad_records; the records after either are read as usual. Only
 * a record that cannot be stepped over (size 0, not a multiple of 8, past
 * the data area) means the ring can no longer be parsed: the reader counts
 * it in bad_records, jumps to the head and carries on; the records it
 * skipped show up as a seq gap at the next record.
 */
#ifndef HFTMON_LIB_RING_H
#define HFTMON_LIB_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/hftmon.h>

#include "hftmon.h"
#include "internal.h"

/*
 * The one place the __u64 fields of the shared control page are viewed as
 * C11 atomics (the kernel side uses smp_load_acquire/smp_store_release).
 */
#define HFTMON_RING_ATOMIC(p) ((_Atomic __u64 *)(p))

static inline __u64 hftmon_ring_load_acquire(const __u64 *p)
{
	return atomic_load_explicit(HFTMON_RING_ATOMIC(p),
				    memory_order_acquire);
}

static inline void hftmon_ring_store_release(__u64 *p, __u64 v)
{
	atomic_store_explicit(HFTMON_RING_ATOMIC(p), v, memory_order_release);
}

/* Counters (records, lost[], next_seq): informational, no ordering. */
static inline __u64 hftmon_ring_load_relaxed(const __u64 *p)
{
	return atomic_load_explicit(HFTMON_RING_ATOMIC(p),
				    memory_order_relaxed);
}

static inline void hftmon_ring_store_relaxed(__u64 *p, __u64 v)
{
	atomic_store_explicit(HFTMON_RING_ATOMIC(p), v, memory_order_relaxed);
}

/* Smallest data area the protocol accepts (one page). */
#define HFTMON_RING_MIN_DATA 4096u

struct hftmon_ring_reader {
	struct hftmon_ring_ctrl *ctrl;
	const unsigned char *data;
	__u64 data_size;
	__u64 mask; /* data_size - 1 */
	__u64 head; /* data_head as last loaded */
	__u64 tail; /* next byte to read */
	__u64 released; /* tail as last stored to ctrl->data_tail */
	__u64 release_batch; /* publish the tail at least this often */
	__u64 expected_seq; /* seq the next record should carry */
	bool seq_known; /* false until expected_seq means something */
	const struct hftmon_rec_hdr *cur; /* what peek returned */
	/* What this reader saw. */
	__u64 delivered; /* records consumed */
	__u64 seq_gaps; /* records missing by seq */
	__u64 bad_records; /* malformed: stepped over, or ring resynced */
	__u64 unknown; /* records of types not decoded here, stepped over */
};

/*
 * Attaches r to a mapping of map_size bytes that starts with the control
 * page. Checks the layout (version, data offset and size) and returns
 * -EPROTO if it is not one this reader understands. The next expected seq
 * is taken from ctrl->next_seq when the ring is empty, so call it while
 * the producer is idle (libhftmon does, right after CONFIGURE); otherwise
 * the first record read sets it.
 */
HFTMON_INTERNAL int hftmon_ring_reader_init(struct hftmon_ring_reader *r,
					    void *map, size_t map_size);

/* Loads data_head; returns the bytes now readable. */
HFTMON_INTERNAL __u64 hftmon_ring_refresh(struct hftmon_ring_reader *r);

/*
 * 1 and *rec = the next record of a type this library decodes (valid
 * until consume/release), 0 when the snapshot is exhausted, -EBADMSG when
 * the ring was corrupt (counted in bad_records; the reader resynced to the
 * head). PADs, unknown types and malformed records on the way are stepped
 * over and counted.
 */
HFTMON_INTERNAL int hftmon_ring_peek(struct hftmon_ring_reader *r,
				     const struct hftmon_rec_hdr **rec);

/* Steps past the record peek returned. */
HFTMON_INTERNAL void hftmon_ring_consume(struct hftmon_ring_reader *r);

/* Publishes the tail to the producer. */
HFTMON_INTERNAL void hftmon_ring_release(struct hftmon_ring_reader *r);

/*
 * One drain pass: refresh, hand every record of the snapshot to fn,
 * release. Stops early (and sets *stopped) when fn returns non-zero; that
 * record is consumed. Returns the records delivered; corrupt data is
 * counted in bad_records and skipped, not returned as an error.
 */
HFTMON_INTERNAL long hftmon_ring_drain(struct hftmon_ring_reader *r,
				       hftmon_record_fn fn, void *ctx,
				       bool *stopped);

/*
 * Only once the producer is quiescent (the session stopped, so no record
 * is reserved but unpublished): if the ring is empty, every seq below
 * ctrl->next_seq that was not read was lost, including those after the
 * last record written; count them as gaps. Returns the gaps added.
 */
HFTMON_INTERNAL __u64 hftmon_ring_settle(struct hftmon_ring_reader *r);

#endif /* HFTMON_LIB_RING_H */
