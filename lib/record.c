// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Event record validation and names: the one decoder of the record
 * formats of <linux/hftmon.h>. Two levels: the frame (type and size
 * readable, size a multiple of 8, at least a header, within what is
 * readable), which is all a reader needs to step over a record, and the
 * content of the types this library decodes. A record may be longer than
 * the struct this library knows (records grow at the end), never shorter;
 * a STACK record must hold the ips its nr announces. A type without a
 * layout here (a newer module's, or a number the header only reserves) is
 * well framed but unknown: readers skip it by its size and count it.
 */
#include <errno.h>
#include <string.h>

#include "hftmon.h"
#include "internal.h"
#include "record.h"

/* Shortest well-formed record of each type decoded here; 0 = not decoded. */
static const __u16 rec_min_size[HFTMON_REC_TYPE_NR] = {
	[HFTMON_REC_PAD] = 8, /* type and size only at the very end */
	[HFTMON_REC_SWITCH] = sizeof(struct hftmon_rec_switch),
	[HFTMON_REC_WAKEUP] = sizeof(struct hftmon_rec_wakeup),
	[HFTMON_REC_MIGRATE] = sizeof(struct hftmon_rec_migrate),
	[HFTMON_REC_EXIT] = sizeof(struct hftmon_rec_exit),
	[HFTMON_REC_FORK] = sizeof(struct hftmon_rec_fork),
	[HFTMON_REC_STACK] = sizeof(struct hftmon_rec_stack),
};

static const char *const rec_names[HFTMON_REC_TYPE_NR] = {
	[HFTMON_REC_PAD] = "pad",	[HFTMON_REC_SWITCH] = "switch",
	[HFTMON_REC_WAKEUP] = "wakeup", [HFTMON_REC_MIGRATE] = "migrate",
	[HFTMON_REC_EXIT] = "exit",	[HFTMON_REC_FORK] = "fork",
	[HFTMON_REC_STACK] = "stack",
};

/* Does a tail of nr items of item_size fit behind a head of head_size? */
static int tail_fits(const unsigned char *p, __u16 size, size_t head_size,
		     size_t nr_offset, size_t item_size)
{
	__u32 nr;

	memcpy(&nr, p + nr_offset, sizeof(nr));
	return nr <= (size - head_size) / item_size;
}

int hftmon_record_frame_check(const void *rec, size_t avail)
{
	const unsigned char *p = rec;
	__u16 type, size;

	if (!rec || avail < offsetof(struct hftmon_rec_hdr, cpu))
		return -EBADMSG;
	/* A short PAD is only its first four bytes: read nothing more. */
	memcpy(&type, p + offsetof(struct hftmon_rec_hdr, type), sizeof(type));
	memcpy(&size, p + offsetof(struct hftmon_rec_hdr, size), sizeof(size));
	if (!size || size % 8 || size > avail)
		return -EBADMSG;
	if (type != HFTMON_REC_PAD && size < sizeof(struct hftmon_rec_hdr))
		return -EBADMSG;
	return 0;
}

HFTMON_API int hftmon_record_check(const struct hftmon_rec_hdr *rec,
				   size_t avail)
{
	const unsigned char *p = (const unsigned char *)rec;
	__u16 type, size;
	int err;

	err = hftmon_record_frame_check(rec, avail);
	if (err)
		return err;
	memcpy(&type, p + offsetof(struct hftmon_rec_hdr, type), sizeof(type));
	memcpy(&size, p + offsetof(struct hftmon_rec_hdr, size), sizeof(size));
	if (type >= HFTMON_REC_TYPE_NR || !rec_min_size[type])
		return -ENOMSG;
	if (size < rec_min_size[type])
		return -EBADMSG;
	if (type == HFTMON_REC_STACK &&
	    !tail_fits(p, size, sizeof(struct hftmon_rec_stack),
		       offsetof(struct hftmon_rec_stack, nr), sizeof(__u64)))
		return -EBADMSG;
	return 0;
}

HFTMON_API const char *hftmon_record_type_name(unsigned int type)
{
	return type < HFTMON_REC_TYPE_NR ? rec_names[type] : NULL;
}
