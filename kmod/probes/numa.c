// SPDX-License-Identifier: GPL-2.0
/*
 * The NUMA balancing family (HFTMON_EV_NUMA, HFTMON_REC_NUMA): what the
 * kernel's automatic NUMA balancer does to tracked threads. Task moves
 * and swaps between nodes come from the scheduler's own tracepoints,
 * sched_move_numa (migrate_task_to()), sched_swap_numa (migrate_swap())
 * and sched_stick_numa (a move or swap that failed, or no better CPU).
 * Hinting faults have no tracepoint on 6.1 or 6.12: a kprobe on
 * task_numa_fault(last_cpupid, mem_node, pages, flags), the one call
 * through which do_numa_page() and do_huge_pmd_numa_page() account every
 * hinting fault they counted in /proc/vmstat (numa_hint_faults, and
 * numa_hint_faults_local where they set TNF_FAULT_LOCAL; a migration
 * that succeeded, TNF_MIGRATED, is the pages numa_pages_migrated got).
 * The two disagree only where the fault handler gives up after counting:
 * a PTE changed under it after a failed migration (a race with another
 * fault on the same page) returns without task_numa_fault().
 *
 * Each hinting fault's address (HFTMON_NUMA_ACCESS, the page heatmap of
 * the library) comes from a second kprobe, on the function where the
 * fault handlers count numa_hint_faults, before any migration: on 6.1
 * numa_migrate_prep(page, vma, addr, page_nid, flags), on 6.12
 * numa_migrate_check(folio, vmf, addr, flags, writable, last_cpupid)
 * (compat.h). Both take the faulting address third (do_numa_page()'s
 * vmf->address, page-aligned; do_huge_pmd_numa_page()'s haddr, the huge
 * page's start) and the memory's node is the page's at that moment
 * (6.1's page_nid argument; 6.12's folio_nid()). Whichever of the two
 * symbols the kernel has is probed, the other tried only if it has not.
 * One record per numa_hint_faults count, so it misses exactly what the
 * kernel's counter misses: a NUMA PTE/PMD that another fault fixed first
 * (pte_same() fails before the count), a page that is no normal page
 * (vm_normal_page() NULL, zone-device memory), and on 6.1 a PTE-mapped
 * piece of a huge page (skipped before the count). Its address is the
 * page's, never the byte's: the hinting fault is taken on the whole page.
 *
 * The kprobes are registered at the START of the first session with
 * HFTMON_EV_NUMA and stay until unload, as the tracepoints stay hooked
 * (registering patches kernel text and IPIs every CPU: a start or stop
 * should not), so the kernel's hinting faults pay nothing until then;
 * from then on every hinting fault of every task pays their handlers'
 * session load (and while a NUMA session runs, the tracked lookup), and
 * only a tracked task's writes a record (no allocation: a ring
 * reservation). Everything here runs in the balanced task's
 * own context (task_numa_fault() and the tracepoints are called from the
 * fault path and from task_numa_migrate()), in process context with IRQs
 * on and preemption off (kprobe handlers and tracepoint probes run so).
 *
 * The balancer exists only with CONFIG_NUMA_BALANCING, which PREEMPT_RT
 * kernels cannot enable: there the tracepoints are still defined but
 * never fire, so the source reports -EOPNOTSUPP rather than offering an
 * event that can never produce anything.
 */
#include <linux/kprobes.h>
#include <linux/sched/numa_balancing.h>
#include <linux/topology.h>
#include <trace/events/sched.h>

#include "../compat.h"
#include "../hftmon_probe.h"

#if IS_ENABLED(CONFIG_NUMA_BALANCING) && IS_ENABLED(CONFIG_KPROBES)
#define HFTMON_NUMA_WORKS 1
#endif

static __always_inline s32 hftmon_numa_nid(int cpu)
{
	return cpu >= 0 && cpu < nr_cpu_ids ? cpu_to_node(cpu) : -1;
}

/* hftmon_rec_numa.flags of a fault's TNF_* flags. */
u16 hftmon_numa_fault_flags(int tnf)
{
	u16 f = 0;

	if (tnf & TNF_FAULT_LOCAL)
		f |= HFTMON_NUMA_FAULT_LOCAL;
	if (tnf & TNF_MIGRATED)
		f |= HFTMON_NUMA_MIGRATED;
	if (tnf & TNF_MIGRATE_FAIL)
		f |= HFTMON_NUMA_MIGRATE_FAIL;
	if (tnf & TNF_SHARED)
		f |= HFTMON_NUMA_SHARED;
	if (tnf & TNF_NO_GROUP)
		f |= HFTMON_NUMA_NO_GROUP;
	return f;
}

/*
 * One record for tracked task p (the subject): kind, from src_cpu to
 * dst_cpu, other the task it was swapped with (or NULL).
 */
static void hftmon_numa_write(struct hftmon_session *s, struct task_struct *p,
			      u32 kind, int src_cpu, int dst_cpu,
			      struct task_struct *other, bool other_tracked)
{
	struct hftmon_rec_numa *r;
	struct hftmon_rec w;

	r = hftmon_rec_reserve(&w, s, p, HFTMON_REC_NUMA, sizeof(*r), false);
	if (!r)
		return;
	r->hdr.flags = other && other_tracked ? HFTMON_NUMA_OTHER_TRACKED : 0;
	r->kind = kind;
	r->pages = 0;
	r->src_cpu = src_cpu;
	r->src_nid = hftmon_numa_nid(src_cpu);
	r->dst_cpu = dst_cpu;
	r->dst_nid = hftmon_numa_nid(dst_cpu);
	r->other_pid = 0;
	r->other_tid = 0;
	r->addr = 0;
	if (other)
		hftmon_ident(s, other, other_tracked ? HFTMON_TRACKED :
						       HFTMON_UNTRACKED,
			     &r->other_pid, &r->other_tid, NULL);
	hftmon_rec_commit(&w);
}

static void hftmon_tp_sched_move_numa(void *data, struct task_struct *tsk,
				      int src_cpu, int dst_cpu)
{
	struct hftmon_session *s = hftmon_session_for(data);

	if (!s || likely(!hftmon_track_find(&s->track, tsk)))
		return;
	hftmon_numa_write(s, tsk, HFTMON_NUMA_MOVE, src_cpu, dst_cpu, NULL,
			  false);
}

/*
 * A pair: src_tsk goes src_cpu -> dst_cpu, dst_tsk (NULL: a plain move)
 * the other way. Each tracked one gets a record of its own move.
 */
static void hftmon_numa_pair(void *data, u32 kind, struct task_struct *src_tsk,
			     int src_cpu, struct task_struct *dst_tsk,
			     int dst_cpu)
{
	struct hftmon_session *s = hftmon_session_for(data);
	bool src_tracked, dst_tracked;

	if (!s)
		return;
	src_tracked = hftmon_track_find(&s->track, src_tsk);
	dst_tracked = dst_tsk && hftmon_track_find(&s->track, dst_tsk);
	if (likely(!src_tracked && !dst_tracked))
		return;
	if (src_tracked)
		hftmon_numa_write(s, src_tsk, kind, src_cpu, dst_cpu, dst_tsk,
				  dst_tracked);
	if (dst_tracked)
		hftmon_numa_write(s, dst_tsk, kind, dst_cpu, src_cpu, src_tsk,
				  src_tracked);
}

static void hftmon_tp_sched_swap_numa(void *data, struct task_struct *src_tsk,
				      int src_cpu, struct task_struct *dst_tsk,
				      int dst_cpu)
{
	hftmon_numa_pair(data, HFTMON_NUMA_SWAP, src_tsk, src_cpu, dst_tsk,
			 dst_cpu);
}

static void hftmon_tp_sched_stick_numa(void *data, struct task_struct *src_tsk,
				       int src_cpu, struct task_struct *dst_tsk,
				       int dst_cpu)
{
	hftmon_numa_pair(data, HFTMON_NUMA_STICK, src_tsk, src_cpu, dst_tsk,
			 dst_cpu);
}

#ifdef HFTMON_NUMA_WORKS
/*
 * A kprobe handler's record of the faulting task (current): NULL unless a
 * session with HFTMON_EV_NUMA tracks it and its ring had room.
 */
static __always_inline struct hftmon_rec_numa *
hftmon_numa_rec_begin(struct hftmon_rec *w)
{
	struct hftmon_session *s = rcu_dereference_sched(hftmon_active);

	if (likely(!s) || !(s->events & HFTMON_EV_NUMA) ||
	    likely(!hftmon_track_find(&s->track, current)))
		return NULL;
	return hftmon_rec_reserve(w, s, current, HFTMON_REC_NUMA,
				  sizeof(struct hftmon_rec_numa), false);
}

/*
 * task_numa_fault(int last_cpupid, int mem_node, int pages, int flags)
 * entered, in the faulting task (current); 0 always (a kprobe's
 * pre-handler returning nonzero would skip the probed instruction).
 */
static int hftmon_numa_fault_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct hftmon_rec_numa *r;
	struct hftmon_rec w;
	int cpu;

	r = hftmon_numa_rec_begin(&w);
	if (!r)
		return 0;
	cpu = smp_processor_id();
	r->hdr.flags = hftmon_numa_fault_flags(
		(int)regs_get_kernel_argument(regs, 3));
	r->kind = HFTMON_NUMA_FAULT;
	r->pages = (u32)regs_get_kernel_argument(regs, 2);
	r->src_cpu = cpu;
	r->src_nid = cpu_to_node(cpu);
	r->dst_cpu = -1;
	r->dst_nid = (s32)regs_get_kernel_argument(regs, 1);
	r->other_pid = 0;
	r->other_tid = 0;
	r->addr = 0;
	hftmon_rec_commit(&w);
	return 0;
}

/* A tracked task's hinting fault at addr on memory of node mem_nid. */
static void hftmon_numa_access(unsigned long addr, int mem_nid, long pages)
{
	struct hftmon_rec_numa *r;
	struct hftmon_rec w;
	int cpu;

	r = hftmon_numa_rec_begin(&w);
	if (!r)
		return;
	cpu = smp_processor_id();
	r->kind = HFTMON_NUMA_ACCESS;
	r->pages = pages > 0 ? (u32)pages : 1;
	r->src_cpu = cpu;
	r->src_nid = cpu_to_node(cpu);
	r->dst_cpu = -1;
	r->dst_nid = mem_nid;
	r->hdr.flags = mem_nid == r->src_nid ? HFTMON_NUMA_FAULT_LOCAL : 0;
	r->other_pid = 0;
	r->other_tid = 0;
	r->addr = addr & PAGE_MASK;
	hftmon_rec_commit(&w);
}

/*
 * numa_migrate_prep(struct page *page, struct vm_area_struct *vma,
 * unsigned long addr, int page_nid, int *flags), 6.1 (later kernels that
 * still have it pass the folio, i.e. its head page, first).
 */
static int hftmon_numa_prep_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct page *page = (struct page *)regs_get_kernel_argument(regs, 0);

	hftmon_numa_access(regs_get_kernel_argument(regs, 2),
			   (int)regs_get_kernel_argument(regs, 3),
			   page ? (long)compound_nr(page) : 1);
	return 0;
}

/*
 * numa_migrate_check(struct folio *folio, struct vm_fault *vmf,
 * unsigned long addr, int *flags, bool writable, int *last_cpupid), 6.12.
 */
static int hftmon_numa_check_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct folio *folio = (struct folio *)regs_get_kernel_argument(regs, 0);

	if (!folio)
		return 0;
	hftmon_numa_access(regs_get_kernel_argument(regs, 2), folio_nid(folio),
			   folio_nr_pages(folio));
	return 0;
}

static const struct {
	const char *symbol;
	kprobe_pre_handler_t pre;
} hftmon_numa_access_fns[] = {
	{ HFTMON_NUMA_ACCESS_FN, HFTMON_NUMA_ACCESS_PRE },
	{ HFTMON_NUMA_ACCESS_FN_ALT, HFTMON_NUMA_ACCESS_PRE_ALT },
};

static struct kprobe hftmon_numa_kp, hftmon_numa_access_kp;
static bool hftmon_numa_registered;

/* The access kprobe on whichever function this kernel has; 0 or -errno. */
static int hftmon_numa_access_register(void)
{
	unsigned int i;
	int err = -ENOENT;

	for (i = 0; i < ARRAY_SIZE(hftmon_numa_access_fns); i++) {
		memset(&hftmon_numa_access_kp, 0, sizeof(hftmon_numa_access_kp));
		hftmon_numa_access_kp.symbol_name =
			hftmon_numa_access_fns[i].symbol;
		hftmon_numa_access_kp.pre_handler = hftmon_numa_access_fns[i].pre;
		err = register_kprobe(&hftmon_numa_access_kp);
		if (!err)
			return 0;
	}
	pr_warn("hftmon: NUMA hinting fault addresses: cannot probe %s or %s (%d)\n",
		hftmon_numa_access_fns[0].symbol,
		hftmon_numa_access_fns[1].symbol, err);
	return err;
}

/* Once per load (see the top); hftmon_probes_lock held. */
static int hftmon_numa_start(struct hftmon_session *s)
{
	int err;

	if (!(s->events & HFTMON_EV_NUMA) || hftmon_numa_registered)
		return 0;
	/* A failed register may leave state behind: each try starts clean. */
	memset(&hftmon_numa_kp, 0, sizeof(hftmon_numa_kp));
	hftmon_numa_kp.symbol_name = "task_numa_fault";
	hftmon_numa_kp.pre_handler = hftmon_numa_fault_pre;
	err = register_kprobe(&hftmon_numa_kp);
	if (err) {
		pr_warn("hftmon: NUMA hinting faults: cannot probe task_numa_fault (%d)\n",
			err);
		return err;
	}
	err = hftmon_numa_access_register();
	if (err) {
		unregister_kprobe(&hftmon_numa_kp);
		return err;
	}
	hftmon_numa_registered = true;
	return 0;
}

/* Unload: the kprobes, which outlive the sessions, go. */
static void hftmon_numa_exit(void)
{
	if (!hftmon_numa_registered)
		return;
	unregister_kprobe(&hftmon_numa_access_kp);
	unregister_kprobe(&hftmon_numa_kp);
	hftmon_numa_registered = false;
}
#endif

enum {
	NUMA_TP_MOVE,
	NUMA_TP_SWAP,
	NUMA_TP_STICK,
	NUMA_TP_NR,
};

static struct hftmon_tracepoint hftmon_numa_tps[NUMA_TP_NR] = {
	[NUMA_TP_MOVE] = HFTMON_TRACEPOINT(sched_move_numa,
					   hftmon_tp_sched_move_numa),
	[NUMA_TP_SWAP] = HFTMON_TRACEPOINT(sched_swap_numa,
					   hftmon_tp_sched_swap_numa),
	[NUMA_TP_STICK] = HFTMON_TRACEPOINT(sched_stick_numa,
					    hftmon_tp_sched_stick_numa),
};

static const struct hftmon_source_desc hftmon_numa_sources[] = {
	{ HFTMON_SRC_NUMA_BALANCING, HFTMON_EV_NUMA, HFTMON_FEAT_NUMA_BALANCING,
	  BIT(NUMA_TP_MOVE) | BIT(NUMA_TP_SWAP) | BIT(NUMA_TP_STICK),
#ifndef HFTMON_NUMA_WORKS
	  /* No balancer in this kernel (or no kprobes for its faults). */
	  .unsupported = -EOPNOTSUPP,
#endif
	},
	/* The faults' addresses: HFTMON_NUMA_ACCESS records of EV_NUMA. */
	{ HFTMON_SRC_NUMA_ACCESS, 0, HFTMON_FEAT_NUMA_ACCESS, 0,
#ifndef HFTMON_NUMA_WORKS
	  .unsupported = -EOPNOTSUPP,
#endif
	},
};

struct hftmon_family hftmon_family_numa = {
	.name = "numa",
	.tps = hftmon_numa_tps,
	.nr_tps = ARRAY_SIZE(hftmon_numa_tps),
	.sources = hftmon_numa_sources,
	.nr_sources = ARRAY_SIZE(hftmon_numa_sources),
#ifdef HFTMON_NUMA_WORKS
	.start = hftmon_numa_start,
	.exit = hftmon_numa_exit,
#endif
};
