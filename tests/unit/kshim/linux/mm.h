/* SPDX-License-Identifier: GPL-2.0 */
/* kshim: see ../kshim.h */
#include "../kshim.h"

/* kmod/compat.h wraps vm_flags_set(); the ring never calls it. */
#ifndef KSHIM_MM_H
#define KSHIM_MM_H
typedef unsigned long vm_flags_t;
struct vm_area_struct {
	vm_flags_t vm_flags;
};
#endif
