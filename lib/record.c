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

const __u16 hftmon_rec_min_size[HFTMON_REC_TYPE_NR] = {
	[HFTMON_REC_PAD] = 8, /* type and size only at the very end */
	[HFTMON_REC_SWITCH] = sizeof(struct hftmon_rec_switch),
	[HFTMON_REC_WAKEUP] = sizeof(struct hftmon_rec_wakeup),
	[HFTMON_REC_MIGRATE] = sizeof(struct hftmon_rec_migrate),
	[HFTMON_REC_EXIT] = sizeof(struct hftmon_rec_exit),
	[HFTMON_REC_FORK] = sizeof(struct hftmon_rec_fork),
	[HFTMON_REC_STACK] = sizeof(struct hftmon_rec_stack),
	[HFTMON_REC_IRQ] = sizeof(struct hftmon_rec_irq),
	[HFTMON_REC_SOFTIRQ] = sizeof(struct hftmon_rec_irq),
	[HFTMON_REC_SPIKE] = sizeof(struct hftmon_rec_spike),
	[HFTMON_REC_DETACH] = sizeof(struct hftmon_rec_detach),
	[HFTMON_REC_SWITCH_STACK] = sizeof(struct hftmon_rec_switch_stack),
	/* Without addr: an older module's (HFTMON_REC_NUMA_SIZE_V1). */
	[HFTMON_REC_NUMA] = HFTMON_REC_NUMA_SIZE_V1,
	[HFTMON_REC_PMU] = sizeof(struct hftmon_rec_pmu),
	[HFTMON_REC_RUNQ] = sizeof(struct hftmon_rec_runq),
};

static const char *const rec_names[HFTMON_REC_TYPE_NR] = {
	[HFTMON_REC_PAD] = "pad",	[HFTMON_REC_SWITCH] = "switch",
	[HFTMON_REC_WAKEUP] = "wakeup", [HFTMON_REC_MIGRATE] = "migrate",
	[HFTMON_REC_EXIT] = "exit",	[HFTMON_REC_FORK] = "fork",
	[HFTMON_REC_STACK] = "stack",	[HFTMON_REC_IRQ] = "irq",
	[HFTMON_REC_SOFTIRQ] = "softirq",
	[HFTMON_REC_SPIKE] = "spike",
	[HFTMON_REC_DETACH] = "detach",
	[HFTMON_REC_SWITCH_STACK] = "switch_stack",
	[HFTMON_REC_NUMA] = "numa",
	[HFTMON_REC_PMU] = "pmu",
	[HFTMON_REC_RUNQ] = "runq",
};

/* Does a tail of nr items of item_size fit behind a head of head_size? */
static int tail_fits(const void *rec, __u16 size, size_t head_size,
		     size_t nr_offset, size_t item_size)
{
	__u32 nr;

	memcpy(&nr, (const unsigned char *)rec + nr_offset, sizeof(nr));
	return nr <= (size - head_size) / item_size;
}

int hftmon_record_stack_fits(const void *rec, __u16 size)
{
	return tail_fits(rec, size, sizeof(struct hftmon_rec_stack),
			 offsetof(struct hftmon_rec_stack, nr), sizeof(__u64));
}

int hftmon_record_pmu_fits(const void *rec, __u16 size)
{
	return tail_fits(rec, size, sizeof(struct hftmon_rec_pmu),
			 offsetof(struct hftmon_rec_pmu, nr),
			 sizeof(struct hftmon_pmu_value));
}

HFTMON_API int hftmon_record_check(const struct hftmon_rec_hdr *rec,
				   size_t avail)
{
	__u16 type, size;
	int err;

	if (!rec)
		return -EBADMSG;
	err = hftmon_record_frame(rec, avail, &type, &size);
	return err ? err : hftmon_record_content(rec, type, size);
}

HFTMON_API const char *hftmon_record_type_name(unsigned int type)
{
	return type < HFTMON_REC_TYPE_NR ? rec_names[type] : NULL;
}
