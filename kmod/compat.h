/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel version differences, all in one place (lttng-modules spreads
 * them through its .c files; we do not). hftmon needs 5.14 or newer:
 * that is when sched_switch started passing prev_state, the state
 * __schedule() actually decided on, instead of re-reading prev->__state.
 */
#ifndef HFTMON_COMPAT_H
#define HFTMON_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 14, 0)
#error "hftmon needs Linux 5.14 or newer (sched_switch with prev_state)"
#endif

#define HFTMON_SWITCH_PROBE_ARGS					\
	void *data, bool preempt, struct task_struct *prev,		\
	struct task_struct *next, unsigned int prev_state
#define HFTMON_SWITCH_PREV_STATE	prev_state

#endif /* HFTMON_COMPAT_H */
