/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The record decoder's frame check (record.c), for the ring reader: a
 * record that fails it cannot be stepped over; one that passes it can be,
 * whatever its type.
 */
#ifndef HFTMON_LIB_RECORD_H
#define HFTMON_LIB_RECORD_H

#include <stddef.h>

#include "internal.h"

/*
 * 0 if rec (avail bytes readable) has a readable type and size, size is a
 * non-zero multiple of 8 within avail, and (unless it is a PAD) holds at
 * least a header; -EBADMSG otherwise.
 */
HFTMON_INTERNAL int hftmon_record_frame_check(const void *rec, size_t avail);

#endif /* HFTMON_LIB_RECORD_H */
