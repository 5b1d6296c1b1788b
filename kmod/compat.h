/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference hftmon meets, in one place, each with
 * the version it starts at; no .c file tests a kernel version (the
 * lttng-modules habit of #ifs spread through the code is what this
 * avoids). hftmon is built W=1-clean and tested on Debian 12's 6.1 and
 * 6.12, each generic and PREEMPT_RT; older kernels are refused below
 * rather than claimed. On newer ones, every probe is checked by the
 * compiler against the kernel's own tracepoint prototype (see kmod/hftmon_probe.h), so
 * a changed tracepoint is a build error, never a misread argument.
 *
 * 5.18  sched_switch passes prev_state, the state __schedule() decided
 *       on. Before, a probe could only re-read prev->__state, which a
 *       concurrent wake-up may already have set back to TASK_RUNNING, so
 *       a blocking switch would be counted as a preemption. There is no
 *       such path here: the floor below is 6.1.
 * 6.0   no_llseek became NULL (it is removed in 6.12): a file without
 *       .llseek that calls stream_open() gets -ESPIPE on lseek, which is
 *       what hftmon_fops relies on for every supported kernel; nothing to
 *       wrap.
 * 6.3   vm_area_struct.vm_flags is const: vm_flags_set() changes it (and
 *       asserts the mmap lock is held for writing).
 * 6.12  numa_migrate_prep(page, vma, addr, page_nid, flags), where a
 *       hinting fault is counted in numa_hint_faults (6.1; later a folio
 *       first), is numa_migrate_check(folio, vmf, addr, flags, writable,
 *       last_cpupid) in Debian's 6.12 (probes/numa.c kprobes it): the
 *       function of this version is tried first, the other if it is not
 *       there; each has its own handler, so neither is misread.
 */
#ifndef HFTMON_COMPAT_H
#define HFTMON_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "hftmon needs Linux 6.1 or newer: it is built and tested on 6.1 and 6.12 only (sched_switch has passed prev_state since 5.18, but 5.18-6.0 were never built)"
#endif

/* 6.3: vm_flags is const, vm_flags_set() writes it. */
static inline void hftmon_vm_flags_set(struct vm_area_struct *vma,
				       vm_flags_t flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* The NUMA hinting fault's counting function, by version (see 6.12). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define HFTMON_NUMA_ACCESS_FN		"numa_migrate_check"
#define HFTMON_NUMA_ACCESS_PRE		hftmon_numa_check_pre
#define HFTMON_NUMA_ACCESS_FN_ALT	"numa_migrate_prep"
#define HFTMON_NUMA_ACCESS_PRE_ALT	hftmon_numa_prep_pre
#else
#define HFTMON_NUMA_ACCESS_FN		"numa_migrate_prep"
#define HFTMON_NUMA_ACCESS_PRE		hftmon_numa_prep_pre
#define HFTMON_NUMA_ACCESS_FN_ALT	"numa_migrate_check"
#define HFTMON_NUMA_ACCESS_PRE_ALT	hftmon_numa_check_pre
#endif

#endif /* HFTMON_COMPAT_H */
