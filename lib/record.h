/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The record decoder's frame check (record.c), for the ring reader: a
 * record that fails it cannot be stepped over; one that passes it can be,
 * whatever its type.
 */
#ifndef HFTMON_LIB_RECORD_H
#define HFTMON_LIB_RECORD_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <linux/hftmon.h>

#include "internal.h"

/*
 * 0 and *type, *size if rec (not NULL, avail bytes readable) has a readable type and
 * size, size is a non-zero multiple of 8 within avail, and (unless it is
 * a PAD) holds at least a header; -EBADMSG otherwise. Inline: the ring
 * reader runs it for every record.
 */
static inline int hftmon_record_frame(const void *rec, size_t avail,
				      __u16 *type, __u16 *size)
{
	const unsigned char *p = rec;

	if (avail < offsetof(struct hftmon_rec_hdr, cpu))
		return -EBADMSG;
	/* A short PAD is only its first four bytes: read nothing more. */
	memcpy(type, p + offsetof(struct hftmon_rec_hdr, type), sizeof(*type));
	memcpy(size, p + offsetof(struct hftmon_rec_hdr, size), sizeof(*size));
	if (!*size || *size % 8 || *size > avail)
		return -EBADMSG;
	if (*type != HFTMON_REC_PAD && *size < sizeof(struct hftmon_rec_hdr))
		return -EBADMSG;
	return 0;
}

/* Shortest well-formed record of each type decoded here; 0 = not decoded. */
HFTMON_INTERNAL extern const __u16 hftmon_rec_min_size[HFTMON_REC_TYPE_NR];

/* A STACK record's nr against its size (record.c). */
HFTMON_INTERNAL int hftmon_record_stack_fits(const void *rec, __u16 size);
/* A PMU record's nr against its size (record.c). */
HFTMON_INTERNAL int hftmon_record_pmu_fits(const void *rec, __u16 size);

/*
 * The content of a framed record: 0 if its type is decoded here and it is
 * well formed, -ENOMSG for a type this library does not decode, -EBADMSG
 * for one too short for its type (or a STACK or PMU record whose nr
 * overflows it).
 */
static inline int hftmon_record_content(const void *rec, __u16 type,
					__u16 size)
{
	if (type >= HFTMON_REC_TYPE_NR || !hftmon_rec_min_size[type])
		return -ENOMSG;
	if (size < hftmon_rec_min_size[type])
		return -EBADMSG;
	if (type == HFTMON_REC_STACK && !hftmon_record_stack_fits(rec, size))
		return -EBADMSG;
	if (type == HFTMON_REC_PMU && !hftmon_record_pmu_fits(rec, size))
		return -EBADMSG;
	return 0;
}

#endif /* HFTMON_LIB_RECORD_H */
