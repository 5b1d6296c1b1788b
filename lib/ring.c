// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The ring read protocol (see ring.h and the ordering contract in
 * <linux/hftmon.h>). Records are 8-byte aligned and never wrap: the
 * producer fills the end of the data area with a PAD record. When fewer
 * than sizeof(struct hftmon_rec_hdr) bytes are left at the end, that pad
 * has only its type and size written, so a PAD is recognised from its
 * first four bytes alone and nothing else of it is read.
 */
#include <errno.h>
#include <string.h>

#include "record.h"
#include "ring.h"

/* Smallest step the producer ever makes: a pad of one 8-byte word. */
#define RING_MIN_STEP 8u

int hftmon_ring_reader_init(struct hftmon_ring_reader *r, void *map,
			    size_t map_size)
{
	struct hftmon_ring_ctrl *ctrl = map;
	__u64 data_offset, data_size, head, tail;

	memset(r, 0, sizeof(*r));
	if (!map || map_size < sizeof(*ctrl))
		return -EPROTO;
	data_offset = ctrl->data_offset;
	data_size = ctrl->data_size;
	if (ctrl->version != HFTMON_ABI_VERSION ||
	    data_offset < sizeof(*ctrl) || data_offset % 8 ||
	    data_size < HFTMON_RING_MIN_DATA || (data_size & (data_size - 1)) ||
	    data_offset > map_size || data_size > map_size - data_offset)
		return -EPROTO;

	r->ctrl = ctrl;
	r->data = (const unsigned char *)map + data_offset;
	r->data_size = data_size;
	r->mask = data_size - 1;
	r->release_batch = data_size / 4;

	head = hftmon_ring_load_acquire(&ctrl->data_head);
	tail = hftmon_ring_load_relaxed(&ctrl->data_tail);
	if (tail % 8 || head - tail > data_size) {
		/* Not a tail this protocol could have written: restart. */
		tail = head;
		hftmon_ring_store_release(&ctrl->data_tail, tail);
	}
	r->head = head;
	r->tail = tail;
	r->released = tail;
	if (head == tail) {
		r->expected_seq = hftmon_ring_load_relaxed(&ctrl->next_seq);
		r->seq_known = true;
	} else {
		/* No record carries it: the first one read goes the slow way. */
		r->expected_seq = UINT64_MAX;
	}
	return 0;
}

/* The ring cannot be parsed from here: skip to the head, count it. */
static int ring_corrupt(struct hftmon_ring_reader *r)
{
	r->bad_records++;
	r->cur = NULL;
	r->tail = r->head;
	hftmon_ring_release(r);
	return -EBADMSG;
}

__u64 hftmon_ring_refresh(struct hftmon_ring_reader *r)
{
	r->head = hftmon_ring_load_acquire(&r->ctrl->data_head);
	if (r->head - r->tail > r->data_size || r->head % 8) {
		/* head behind our tail, or more than a ring ahead of it */
		ring_corrupt(r);
		return 0;
	}
	return r->head - r->tail;
}

/* A record whose seq is not the one expected: count what is missing. */
static void ring_seq_mismatch(struct hftmon_ring_reader *r, __u64 seq)
{
	if (!r->seq_known)
		r->seq_known = true;
	else if (seq > r->expected_seq)
		r->seq_gaps += seq - r->expected_seq;
	else
		r->bad_records++; /* seq went backwards: never expected */
}

/* Steps past the record at the tail, checking its seq for gaps. */
static inline __attribute__((always_inline)) void
ring_step(struct hftmon_ring_reader *r,
		      const struct hftmon_rec_hdr *rec)
{
	/* Unknown, expected_seq is UINT64_MAX, which no record carries. */
	if (__builtin_expect(rec->seq != r->expected_seq, 0))
		ring_seq_mismatch(r, rec->seq);
	r->expected_seq = rec->seq + 1;
	r->tail += rec->size;
	if (r->tail - r->released >= r->release_batch)
		hftmon_ring_release(r);
}

int hftmon_ring_peek(struct hftmon_ring_reader *r,
		     const struct hftmon_rec_hdr **rec)
{
	for (;;) {
		__u64 avail = r->head - r->tail;
		__u64 off = r->tail & r->mask;
		__u64 to_end = r->data_size - off;
		const unsigned char *p = r->data + off;
		const struct hftmon_rec_hdr *h = (const void *)p;
		size_t bound = avail < to_end ? avail : to_end;
		__u16 type, size;
		int ret;

		if (!avail)
			return 0;
		if (avail < RING_MIN_STEP || off % 8)
			return ring_corrupt(r);
		/* No size to step by (0, unaligned, past the data): resync. */
		if (hftmon_record_frame(p, bound, &type, &size))
			return ring_corrupt(r);
		if (type == HFTMON_REC_PAD) {
			r->tail += size;
			continue;
		}
		ret = hftmon_record_content(h, type, size);
		if (ret) {
			/*
			 * Framed but not for us: a type this library does not
			 * decode, or one whose content is impossible. Step over
			 * it by its size; what follows is still read.
			 */
			if (ret == -ENOMSG)
				r->unknown++;
			else
				r->bad_records++;
			ring_step(r, h);
			continue;
		}
		r->cur = h;
		*rec = r->cur;
		return 1;
	}
}

void hftmon_ring_consume(struct hftmon_ring_reader *r)
{
	const struct hftmon_rec_hdr *rec = r->cur;

	if (!rec)
		return;
	r->cur = NULL;
	r->delivered++;
	ring_step(r, rec);
}

void hftmon_ring_release(struct hftmon_ring_reader *r)
{
	if (r->tail != r->released) {
		hftmon_ring_store_release(&r->ctrl->data_tail, r->tail);
		r->released = r->tail;
	}
}

/*
 * The common record, checked in a few instructions: a type decoded here
 * with no variable tail (not PAD, not STACK), at least its type's size,
 * a multiple of 8 within what is readable up to the end of the data.
 * Anything else goes through hftmon_ring_peek(), which classifies it.
 */
static inline __attribute__((always_inline)) bool
ring_fast_ok(__u16 type, __u16 size, __u64 bound)
{
	__u16 min;

	if (type >= HFTMON_REC_TYPE_NR || type == HFTMON_REC_PAD ||
	    type == HFTMON_REC_STACK)
		return false;
	min = hftmon_rec_min_size[type];
	return min && size >= min && !(size & 7) && size <= bound;
}

long hftmon_ring_drain(struct hftmon_ring_reader *r, hftmon_record_fn fn,
		       void *ctx, bool *stopped)
{
	const unsigned char *data = r->data;
	const __u64 mask = r->mask, data_size = r->data_size;
	const struct hftmon_rec_hdr *rec;
	long n = 0;
	int ret;

	*stopped = false;
	hftmon_ring_refresh(r);
	for (;;) {
		__u64 tail = r->tail, avail = r->head - tail;
		__u64 off = tail & mask, to_end = data_size - off;
		__u16 type, size;

		if (!avail)
			break;
		rec = (const void *)(data + off);
		memcpy(&type, &rec->type, sizeof(type));
		memcpy(&size, &rec->size, sizeof(size));
		if (__builtin_expect(ring_fast_ok(type, size,
						  avail < to_end ? avail :
								   to_end),
				     1)) {
			/* As peek + consume would, without the calls. */
			r->cur = NULL;
			ret = fn(ctx, rec);
			r->delivered++;
			ring_step(r, rec);
		} else {
			ret = hftmon_ring_peek(r, &rec);
			if (ret == 0)
				break;
			if (ret < 0)
				continue; /* resynced to the head: peek says 0 */
			ret = fn(ctx, rec);
			hftmon_ring_consume(r);
		}
		n++;
		if (ret) {
			*stopped = true;
			break;
		}
	}
	hftmon_ring_release(r);
	return n;
}

__u64 hftmon_ring_settle(struct hftmon_ring_reader *r)
{
	__u64 next, added = 0;

	if (hftmon_ring_refresh(r) != 0)
		return 0;
	next = hftmon_ring_load_relaxed(&r->ctrl->next_seq);
	if (r->seq_known && next > r->expected_seq) {
		added = next - r->expected_seq;
		r->seq_gaps += added;
	}
	r->expected_seq = next;
	r->seq_known = true;
	return added;
}
