// SPDX-License-Identifier: GPL-2.0
/*
 * hftmon: the /dev/hftmon character device and the module around it.
 * Each open file is a session (struct hftmon_session): it configures
 * per-CPU rings, attaches processes, and while started owns the probes;
 * one session runs at a time. Userspace mmaps CPU n's ring at offset
 * n * ring_mmap_size and polls the file for data. Every ioctl argument is
 * validated here; anything malformed gets an errno.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/poll.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "hftmon_internal.h"
#include "hftmon_irq.h"
#include "hftmon_probe.h"	/* hftmon_detach_record() */
#include "hftmon_spike.h"

#define HFTMON_MAX_PROCS_LIMIT	4096

/* ---- module parameters (also /sys/module/hftmon/parameters/) --------- */

static int hftmon_set_pages(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int err = kstrtouint(val, 0, &n);

	if (err)
		return err;
	if (!n || !is_power_of_2(n) || n > (1U << 18))
		return -EINVAL;
	*(unsigned int *)kp->arg = n;
	return 0;
}

static const struct kernel_param_ops hftmon_pages_ops = {
	.set = hftmon_set_pages,
	.get = param_get_uint,
};

static unsigned int default_ring_pages = 64;
module_param_cb(default_ring_pages, &hftmon_pages_ops, &default_ring_pages,
		0644);
MODULE_PARM_DESC(default_ring_pages,
		 "Data pages per CPU ring when CONFIGURE asks for 0 (power of 2)");

static unsigned int max_ring_pages = 16384;
module_param_cb(max_ring_pages, &hftmon_pages_ops, &max_ring_pages, 0644);
MODULE_PARM_DESC(max_ring_pages, "Largest ring a session may ask for, in pages");

static unsigned int max_procs = 64;
module_param(max_procs, uint, 0644);
MODULE_PARM_DESC(max_procs, "Processes one session may attach");

static unsigned short dev_mode = 0600;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "Mode of /dev/hftmon at load (default 0600, root only)");

static unsigned int stack_table_size = 4096;
module_param_cb(stack_table_size, &hftmon_pages_ops, &stack_table_size, 0644);
MODULE_PARM_DESC(stack_table_size,
		 "Distinct stacks a session can store (power of 2; 8 bytes each)");

static int allowed_gid = -1;
module_param(allowed_gid, int, 0644);
MODULE_PARM_DESC(allowed_gid,
		 "Group (in the initial user namespace) that may use the device besides CAP_PERFMON/CAP_SYS_ADMIN (-1: none)");

/* Ring memory limits (README "Permissions"); hftmon_init() sets the cap. */
static unsigned int max_ring_mb;
module_param(max_ring_mb, uint, 0644);
MODULE_PARM_DESC(max_ring_mb,
		 "Ring memory all sessions together may hold, MiB (0 at load: a quarter of RAM); over it CONFIGURE gets ENOSPC");

static unsigned int user_mlock_kb = 512 + (PAGE_SIZE / 1024);
module_param(user_mlock_kb, uint, 0644);
MODULE_PARM_DESC(user_mlock_kb,
		 "Ring memory per CPU a user may hold beyond RLIMIT_MEMLOCK, KiB (as perf_event_mlock_kb); past both CONFIGURE gets EPERM unless CAP_IPC_LOCK");

static unsigned int max_user_sessions = 4;
module_param(max_user_sessions, uint, 0644);
MODULE_PARM_DESC(max_user_sessions,
		 "Open sessions per user without CAP_PERFMON; past it open() gets EUSERS");

static unsigned int kstack_restrict = 1;
module_param(kstack_restrict, uint, 0644);
MODULE_PARM_DESC(kstack_restrict,
		 "Kernel stacks (kernel addresses): 0 any session, 1 sessions opened with CAP_PERFMON/CAP_SYS_ADMIN, 2 none; refused ATTACH gets EACCES");

static int hftmon_get_ring_kb_used(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lu\n",
			  hftmon_ring_pages_in_use() << (PAGE_SHIFT - 10));
}

static const struct kernel_param_ops hftmon_ring_kb_used_ops = {
	.get = hftmon_get_ring_kb_used,
};
module_param_cb(ring_kb_used, &hftmon_ring_kb_used_ops, NULL, 0444);
MODULE_PARM_DESC(ring_kb_used, "Ring memory all sessions hold now, KiB (read only)");

struct kmem_cache *hftmon_session_cache, *hftmon_proc_cache,
	*hftmon_ring_cache;


/* ---- argument checks ---------------------------------------------------- */

int hftmon_config_check(struct hftmon_config *cfg, u64 available_events,
			unsigned int default_pages, unsigned int max_pages)
{
	if (cfg->flags)
		return -EINVAL;
	if (cfg->events & ~hftmon_probes_known_events() || hftmon_irq_cpus_check(cfg))
		return -EINVAL;
	/* A threshold only with EV_SPIKE, which needs SWITCH and WAKEUP. */
	if (hftmon_spike_config_check(cfg))
		return -EINVAL;
	/* Who runs where one waits: needs SWITCH, WAKEUP and MIGRATE. */
	if (hftmon_runq_config_check(cfg))
		return -EINVAL;
	/* Counters only with EV_PMU, which needs SWITCH; 1..4 of them. */
	if (hftmon_pmu_config_check(cfg))
		return -EINVAL;
	if (cfg->events & ~available_events)
		return -EOPNOTSUPP;
	/*
	 * 0: the scheduler's events. The interrupt sources hook every IRQ,
	 * softirq and vector of the machine, so they are asked for by name.
	 */
	if (!cfg->events)
		cfg->events = available_events & HFTMON_EV_SCHED_ALL;
	if (!cfg->ring_pages)
		cfg->ring_pages = default_pages;
	if (!is_power_of_2(cfg->ring_pages) || cfg->ring_pages > max_pages)
		return -EINVAL;
	if ((u64)cfg->wakeup_bytes > ((u64)cfg->ring_pages << PAGE_SHIFT))
		return -EINVAL;
	/*
	 * Sampling ticks read the PMU counters: only with EV_PMU, within
	 * 1 us..1 s and not below what this kernel's hrtimers resolve (a
	 * kernel without high-resolution timers: a jiffy).
	 */
	if (cfg->sample_interval_ns &&
	    (!(cfg->events & HFTMON_EV_PMU) ||
	     cfg->sample_interval_ns < HFTMON_SAMPLE_INTERVAL_MIN_NS ||
	     cfg->sample_interval_ns > HFTMON_SAMPLE_INTERVAL_MAX_NS ||
	     cfg->sample_interval_ns < hrtimer_resolution))
		return -EINVAL;
	cfg->ring_mmap_size = ((u64)cfg->ring_pages + 1) << PAGE_SHIFT;
	return 0;
}

int hftmon_attach_check(const struct hftmon_attach *a)
{
	if (a->pid <= 0 || a->flags & ~HFTMON_ATTACH_KNOWN_FLAGS ||
	    a->reserved0 || memchr_inv(a->reserved, 0, sizeof(a->reserved)))
		return -EINVAL;
	/* A minimum is for kernel stacks, at most 10 s. */
	if (a->kstack_min_ns && (!(a->flags & HFTMON_ATTACH_KSTACK) ||
				 a->kstack_min_ns > 10 * NSEC_PER_SEC))
		return -EINVAL;
#ifndef HFTMON_HAVE_BLOCKED_UNWIND
	if (a->kstack_min_ns)
		return -EOPNOTSUPP;	/* no unwinder of a blocked task here */
#endif
	/* Cache and NUMA sources come with later module versions. */
	if (a->flags & (HFTMON_ATTACH_CACHE | HFTMON_ATTACH_NUMA))
		return -EOPNOTSUPP;
	return 0;
}

/*
 * Copy an extensible argument: its first __u32 is the caller's size.
 * Shorter than min_size (the first ABI) is -EINVAL; a longer struct with
 * non-zero bytes we do not know is -E2BIG (copy_struct_from_user()).
 */
static int hftmon_copy_arg(void *karg, size_t ksize, size_t min_size,
			   const void __user *uarg, u32 *usize)
{
	int err;

	if (get_user(*usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (*usize < min_size || *usize > PAGE_SIZE)
		return -EINVAL;
	err = copy_struct_from_user(karg, ksize, uarg, *usize);
	if (err)
		return err;
	*(u32 *)karg = ksize;
	return 0;
}

static int hftmon_copy_out(void __user *uarg, const void *karg, size_t ksize,
			   u32 usize)
{
	return copy_to_user(uarg, karg, min_t(size_t, ksize, usize)) ?
		-EFAULT : 0;
}

/*
 * ptrace_may_access() is not exported to modules; this is its credential
 * part for PTRACE_MODE_READ_REALCREDS, with one set of credentials as it
 * has: the caller's (subjective) cred, its real uid and gid compared with
 * the target's, and its capabilities (ns_capable() tests the same cred):
 * same uid and gid as the target, or CAP_SYS_PTRACE over it; then the
 * target's mm dumpable, or CAP_SYS_PTRACE over the mm's namespace. What is
 * tracked is the whole thread group, so every thread is checked (a thread
 * can change its own credentials). LSM hooks (Yama) are not consulted.
 * The caller holds the group's exec_update_lock, so no exec can change
 * the credentials between this and the insert.
 */
static bool hftmon_may_trace(struct task_struct *task)
{
	const struct cred *cred = current_cred(), *tcred;
	struct task_struct *t;
	struct mm_struct *mm;
	bool ok = true;

	if (same_thread_group(task, current))
		return true;
	rcu_read_lock();
	for_each_thread(task, t) {
		tcred = __task_cred(t);
		if (uid_eq(cred->uid, tcred->euid) &&
		    uid_eq(cred->uid, tcred->suid) &&
		    uid_eq(cred->uid, tcred->uid) &&
		    gid_eq(cred->gid, tcred->egid) &&
		    gid_eq(cred->gid, tcred->sgid) &&
		    gid_eq(cred->gid, tcred->gid))
			continue;
		if (ns_capable(tcred->user_ns, CAP_SYS_PTRACE))
			continue;
		ok = false;
		break;
	}
	if (!ok) {
		rcu_read_unlock();
		return false;
	}
	/* Dumpability after the credentials (pairs with commit_creds()). */
	smp_rmb();
	for_each_thread(task, t) {
		task_lock(t);
		mm = t->mm;
		if (mm && get_dumpable(mm) != SUID_DUMP_USER &&
		    !ns_capable(mm->user_ns, CAP_SYS_PTRACE))
			ok = false;
		task_unlock(t);
		if (mm)
			break;	/* one mm for the group */
	}
	rcu_read_unlock();
	return ok;
}

/*
 * May this session take kernel stacks (kernel text addresses, which
 * defeat KASLR)? kstack_restrict, like kptr_restrict: 0 any session,
 * 1 sessions whose opener had CAP_PERFMON/CAP_SYS_ADMIN, 2 none.
 */
static bool hftmon_may_kstack(const struct hftmon_session *s)
{
	unsigned int r = READ_ONCE(kstack_restrict);

	return r == 0 || (r == 1 && s->privileged);
}

/* ---- ioctls --------------------------------------------------------------- */

static int hftmon_ioc_get_info(void __user *uarg)
{
	struct hftmon_info info;
	u32 usize;
	int err;

	err = hftmon_copy_arg(&info, sizeof(info), sizeof(info), uarg, &usize);
	if (err)
		return err;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.abi_version = HFTMON_ABI_VERSION;
	/* poll() is the device's; the rest is what the probes' sources offer. */
	info.features = HFTMON_FEAT_POLL | hftmon_probes_features();
#ifdef HFTMON_HAVE_BLOCKED_UNWIND
	/* The sched family's stacks, where a blocked task can be unwound. */
	if (info.features & HFTMON_FEAT_STACKS)
		info.features |= HFTMON_FEAT_KSTACK_MIN;
#endif
	/* Children are followed by the fork probe. */
	if (info.features & HFTMON_FEAT_PROCESS_FORK)
		info.features |= HFTMON_FEAT_INHERIT;
	info.nr_cpu_ids = nr_cpu_ids;
	info.nr_online_cpus = num_online_cpus();
	info.nr_nodes = num_online_nodes();
	info.page_size = PAGE_SIZE;
	info.max_ring_pages = READ_ONCE(max_ring_pages);
	info.default_ring_pages = READ_ONCE(default_ring_pages);
	info.max_procs = min_t(unsigned int, READ_ONCE(max_procs),
			       HFTMON_MAX_PROCS_LIMIT);
	info.nr_sources = HFTMON_SRC_NR;
	hftmon_probes_source_status(info.source_status, HFTMON_SRC_NR);
	/* Hardware counters exist where the machine has a PMU: ask it. */
	info.source_status[HFTMON_SRC_PMU_HW] = hftmon_pmu_hw_probe();
	return hftmon_copy_out(uarg, &info, sizeof(info), usize);
}

static void hftmon_free_rings(struct hftmon_session *s)
{
	unsigned int cpu;

	if (!s->rings)
		return;
	for_each_possible_cpu(cpu)
		hftmon_ring_free(s->rings[cpu]);
	kfree(s->rings);
	s->rings = NULL;
	hftmon_stack_table_free(&s->stacks);
	hftmon_uncharge(&s->charge);
	s->configured = false;
}

/*
 * What the rings of cfg will hold against the limits, for the caller
 * (README "Permissions"): one ring of ring_pages + 1 pages per possible
 * CPU, the allowance per possible CPU too (perf's is per online CPU, for
 * buffers it maps per online CPU; ours are allocated for every possible
 * one).
 */
static int hftmon_charge_config(struct hftmon_charge *c,
				const struct hftmon_config *cfg)
{
	unsigned int cpus = num_possible_cpus();
	struct hftmon_mem_limits lim = {
		.global_pages = (unsigned long)READ_ONCE(max_ring_mb) <<
				(20 - PAGE_SHIFT),
		.allowance_pages = ((unsigned long)READ_ONCE(user_mlock_kb) >>
				    (PAGE_SHIFT - 10)) * cpus,
		.exempt = capable(CAP_IPC_LOCK),
	};

	return hftmon_charge(c, ((unsigned long)cfg->ring_pages + 1) * cpus,
			     &lim);
}

static int hftmon_ioc_configure(struct hftmon_session *s, void __user *uarg)
{
	struct hftmon_stack_table stacks = { 0 };
	struct hftmon_charge charge = { 0 };
	struct hftmon_config cfg;
	struct hftmon_ring **rings;
	unsigned int cpu;
	u32 usize;
	int err;

	err = hftmon_copy_arg(&cfg, sizeof(cfg), HFTMON_CONFIG_SIZE_VER0, uarg,
			      &usize);
	if (err)
		return err;
	err = hftmon_config_check(&cfg, hftmon_probes_available_events(),
				  READ_ONCE(default_ring_pages),
				  READ_ONCE(max_ring_pages));
	if (err)
		return err;
	/* Other PMUs' events (tracepoints, kprobes...): privileged only. */
	err = hftmon_pmu_config_allowed(&cfg, s->privileged);
	if (err)
		return err;
	/* Each counter's status: can the kernel make it here? */
	if (cfg.events & HFTMON_EV_PMU)
		hftmon_pmu_config_probe(&cfg, s->privileged);

	mutex_lock(&s->lock);
	err = -EBUSY;
	if (s->running || atomic_read(&s->nr_mmaps))
		goto out_unlock;
	/*
	 * Charged before allocating, and while the old rings (if any) are
	 * still held: a reconfigure needs room for both, briefly.
	 */
	err = hftmon_charge_config(&charge, &cfg);
	if (err)
		goto out_unlock;
	/* Every possible CPU gets its ring now: hotplug needs no allocation. */
	err = -ENOMEM;
	rings = kcalloc(nr_cpu_ids, sizeof(*rings), GFP_KERNEL_ACCOUNT);
	if (!rings)
		goto out_uncharge;
	for_each_possible_cpu(cpu) {
		rings[cpu] = hftmon_ring_alloc(cpu, cfg.ring_pages,
					       cfg.wakeup_bytes, &s->wq);
		if (IS_ERR(rings[cpu])) {
			err = PTR_ERR(rings[cpu]);
			rings[cpu] = NULL;
			goto err_free;
		}
	}
	err = hftmon_stack_table_init(&stacks, READ_ONCE(stack_table_size));
	if (err)
		goto err_free;

	hftmon_free_rings(s);
	s->rings = rings;
	s->stacks = stacks;
	s->charge = charge;
	s->cfg = cfg;
	s->configured = true;
	mutex_unlock(&s->lock);
	/* Never touch user memory under s->lock: mmap takes it under mmap_lock. */
	return hftmon_copy_out(uarg, &cfg, sizeof(cfg), usize);

err_free:
	for_each_possible_cpu(cpu)
		hftmon_ring_free(rings[cpu]);
	kfree(rings);
out_uncharge:
	hftmon_uncharge(&charge);
out_unlock:
	mutex_unlock(&s->lock);
	return err;
}

/*
 * The target's user namespace if the caller has CAP_SYS_PTRACE over it
 * (a reference), else NULL: kept in the tracked entry, so that the exec
 * probe, which cannot call ns_capable(), knows what the attacher could do
 * (hftmon_exec_revokes()). Asked once, at ATTACH, as perf decides once.
 */
static struct user_namespace *hftmon_ptrace_ns(struct task_struct *task)
{
	struct user_namespace *ns;

	rcu_read_lock();
	ns = __task_cred(task)->user_ns;
	ns = ns_capable(ns, CAP_SYS_PTRACE) ? get_user_ns(ns) : NULL;
	rcu_read_unlock();
	return ns;
}

static int hftmon_ioc_attach(struct hftmon_session *s, void __user *uarg,
			     bool attach)
{
	struct user_namespace *ptrace_ns;
	struct task_struct *task;
	struct hftmon_attach a;
	struct pid *pid;
	u32 usize;
	int err;

	err = hftmon_copy_arg(&a, sizeof(a), sizeof(a), uarg, &usize);
	if (err)
		return err;
	if (attach) {
		err = hftmon_attach_check(&a);
	} else if (a.pid <= 0 || a.flags || a.reserved0 || a.kstack_min_ns ||
		   memchr_inv(a.reserved, 0, sizeof(a.reserved))) {
		err = -EINVAL;
	}
	if (err)
		return err;

	/* Kernel stacks show kernel addresses: not for everyone. */
	if (attach && (a.flags & HFTMON_ATTACH_KSTACK) && !hftmon_may_kstack(s))
		return -EACCES;
	/* Children are found by the fork probe: the session must hook it. */
	if (attach && (a.flags & HFTMON_ATTACH_INHERIT) &&
	    !(READ_ONCE(s->cfg.events) & HFTMON_EV_FORK))
		return -EINVAL;

	/* pid is a number in the caller's pid namespace. */
	pid = find_get_pid(a.pid);
	task = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	if (!task)
		return -ESRCH;

	if (!attach) {
		err = hftmon_track_del(&s->track, task);
	} else {
		/*
		 * As perf_event_open() does: no exec of the group may change
		 * its credentials between the check and the insert.
		 */
		err = down_read_killable(&task->signal->exec_update_lock);
		if (!err) {
			if (!hftmon_may_trace(task)) {
				err = -EPERM;
			} else {
				ptrace_ns = hftmon_ptrace_ns(task);
				err = hftmon_track_add_as(&s->track, task,
							  a.flags,
							  a.kstack_min_ns,
							  ptrace_ns);
				put_user_ns(ptrace_ns);
			}
			up_read(&task->signal->exec_update_lock);
		}
	}
	put_task_struct(task);
	/* A thread of it running now is marked (or unmarked) at once. */
	if (!err) {
		mutex_lock(&s->lock);
		if (s->running)
			hftmon_probes_tracked_changed(s);
		mutex_unlock(&s->lock);
	}
	return err;
}

static void hftmon_start_revoked(struct task_struct *task, u32 why, void *arg)
{
	hftmon_detach_record(arg, task, why);
}

static int hftmon_ioc_start(struct hftmon_session *s)
{
	int err = 0;

	mutex_lock(&s->lock);
	if (!s->configured)
		err = -EINVAL;
	else if (s->running)
		err = -EBUSY;
	if (!err) {
		s->events = s->cfg.events;
		/*
		 * No probe saw the execs made between ATTACH and now: the
		 * processes they took out of reach are revoked (with their
		 * DETACH records) before the probes go live, and once more
		 * after, for an exec that ended in between (its records in
		 * that instant are the only ones that can precede its
		 * DETACH). From then on the exec probe sees every exec.
		 */
		hftmon_track_recheck(&s->track, hftmon_start_revoked, s);
		err = hftmon_probes_activate(s);
		s->running = !err;
		if (!err) {
			hftmon_track_recheck(&s->track, hftmon_start_revoked, s);
			/* Threads running now: marked before their next switch. */
			hftmon_probes_tracked_changed(s);
		}
	}
	mutex_unlock(&s->lock);
	return err;
}

static int hftmon_ioc_stop_locked(struct hftmon_session *s)
{
	lockdep_assert_held(&s->lock);
	if (!s->running)
		return -EINVAL;
	hftmon_probes_deactivate(s);
	s->running = false;
	/* Readers drain what is left. */
	wake_up_interruptible(&s->wq);
	return 0;
}

static int hftmon_ioc_stop(struct hftmon_session *s)
{
	int err;

	mutex_lock(&s->lock);
	err = hftmon_ioc_stop_locked(s);
	mutex_unlock(&s->lock);
	return err;
}

static int hftmon_ioc_get_stats(struct hftmon_session *s, void __user *uarg)
{
	struct hftmon_cpu_stats *cs = NULL;
	struct hftmon_stats st;
	unsigned int cpu, n;
	u32 usize;
	int err;

	err = hftmon_copy_arg(&st, sizeof(st), sizeof(st), uarg, &usize);
	if (err)
		return err;
	if (memchr_inv(st.reserved, 0, sizeof(st.reserved)))
		return -EINVAL;
	if (st.nr_cpus && st.cpu_stats_size != sizeof(*cs))
		return -EINVAL;
	n = min_t(u32, st.nr_cpus, nr_cpu_ids);
	if (n) {
		cs = kcalloc(n, sizeof(*cs), GFP_KERNEL);
		if (!cs)
			return -ENOMEM;
	}

	/* Gather under the lock, copy to the user after it (see configure). */
	mutex_lock(&s->lock);
	for (cpu = 0; cpu < n; cpu++) {
		struct hftmon_ring *rb = s->rings ? s->rings[cpu] : NULL;
		unsigned long flags;

		cs[cpu].cpu = cpu;
		cs[cpu].online = cpu_online(cpu);
		if (rb) {
			/* The ring's producer updates these with IRQs off. */
			local_irq_save(flags);
			cs[cpu].records = READ_ONCE(rb->records);
			memcpy(cs[cpu].lost, rb->lost, sizeof(rb->lost));
			cs[cpu].bytes = READ_ONCE(rb->head);
			local_irq_restore(flags);
		}
	}
	st.nr_cpus = n;
	st.nr_procs = READ_ONCE(s->track.nr);
	st.running = s->running;
	st.start_ns = s->start_ns;
	st.stop_ns = s->stop_ns;
	mutex_unlock(&s->lock);

	err = 0;
	if (n && copy_to_user(u64_to_user_ptr(st.cpus_ptr), cs,
			      array_size(n, sizeof(*cs))))
		err = -EFAULT;
	kfree(cs);
	return err ?: hftmon_copy_out(uarg, &st, sizeof(st), usize);
}

/* Commands match on type, number and direction; the size is the struct's. */
#define HFTMON_CMD_KEY(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

static long hftmon_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hftmon_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;
	long ret;

	if (_IOC_TYPE(cmd) != HFTMON_IOC_MAGIC)
		return -ENOTTY;
	if (HFTMON_CMD_KEY(cmd) == HFTMON_CMD_KEY(HFTMON_IOC_GET_INFO))
		return hftmon_ioc_get_info(uarg);

	/*
	 * Each command takes s->lock itself, and never while touching user
	 * memory: mmap() takes s->lock with mmap_lock held, and a fault on
	 * a user buffer takes mmap_lock.
	 */
	switch (HFTMON_CMD_KEY(cmd)) {
	case HFTMON_CMD_KEY(HFTMON_IOC_CONFIGURE):
		ret = hftmon_ioc_configure(s, uarg);
		break;
	case HFTMON_CMD_KEY(HFTMON_IOC_ATTACH):
		ret = hftmon_ioc_attach(s, uarg, true);
		break;
	case HFTMON_CMD_KEY(HFTMON_IOC_DETACH):
		ret = hftmon_ioc_attach(s, uarg, false);
		break;
	case HFTMON_CMD_KEY(HFTMON_IOC_START):
		ret = hftmon_ioc_start(s);
		break;
	case HFTMON_CMD_KEY(HFTMON_IOC_STOP):
		ret = hftmon_ioc_stop(s);
		break;
	case HFTMON_CMD_KEY(HFTMON_IOC_GET_STATS):
		ret = hftmon_ioc_get_stats(s, uarg);
		break;
	case HFTMON_CMD_KEY(HFTMON_IOC_GET_IRQ_STATS):
		ret = hftmon_irq_ioc_stats(s, uarg);
		break;
	case HFTMON_CMD_KEY(HFTMON_IOC_SET_SPIKE_THRESHOLD):
		ret = hftmon_spike_ioc_set_threshold(s, uarg);
		break;
	default:
		ret = -ENOTTY;
	}
	return ret;
}

/* ---- mmap / poll / open / release ------------------------------------ */

static void hftmon_vm_open(struct vm_area_struct *vma)
{
	struct hftmon_session *s = vma->vm_file->private_data;

	atomic_inc(&s->nr_mmaps);
}

static void hftmon_vm_close(struct vm_area_struct *vma)
{
	struct hftmon_session *s = vma->vm_file->private_data;

	atomic_dec(&s->nr_mmaps);
}

static const struct vm_operations_struct hftmon_vm_ops = {
	.open = hftmon_vm_open,
	.close = hftmon_vm_close,
};

static int hftmon_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hftmon_session *s = file->private_data;
	unsigned long pages = vma_pages(vma);
	struct hftmon_ring *rb;
	unsigned long cpu;
	int err = -EINVAL;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&s->lock);
	if (!s->configured)
		goto out;
	rb = NULL;
	cpu = vma->vm_pgoff / (s->cfg.ring_pages + 1);
	if (vma->vm_pgoff % (s->cfg.ring_pages + 1) || cpu >= nr_cpu_ids ||
	    pages != s->cfg.ring_pages + 1)
		goto out;
	rb = s->rings[cpu];
	if (!rb) {
		err = -ENODEV;
		goto out;
	}
	hftmon_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY);
	err = vm_map_pages_zero(vma, rb->pages, rb->nr_pages);
	if (err)
		goto out;
	vma->vm_ops = &hftmon_vm_ops;
	atomic_inc(&s->nr_mmaps);
out:
	mutex_unlock(&s->lock);
	return err;
}

static __poll_t hftmon_poll(struct file *file, poll_table *wait)
{
	struct hftmon_session *s = file->private_data;
	__poll_t mask = 0;
	unsigned int cpu;

	poll_wait(file, &s->wq, wait);
	/* The reader's tail before a kicked record's mark (hftmon_ring.c). */
	smp_mb();
	mutex_lock(&s->lock);
	if (s->configured) {
		for_each_possible_cpu(cpu) {
			if (hftmon_ring_readable(s->rings[cpu], !s->running)) {
				mask = EPOLLIN | EPOLLRDNORM;
				break;
			}
		}
	} else {
		mask = EPOLLERR;
	}
	mutex_unlock(&s->lock);
	return mask;
}

/*
 * Does the node itself grant the opener the device? Only a node that is
 * open to nobody but its owner and group, whose group is not root's, and
 * the opener is a member of that group (in_group_p(): the initial user
 * namespace's gid, so a user namespace cannot fake it). The VFS already
 * checked the mode bits for the access asked; a world-openable mode is
 * never a way in, whatever the group.
 */
static bool hftmon_node_grants(const struct inode *inode)
{
	if (inode->i_mode & 0007)
		return false;
	if (gid_eq(inode->i_gid, GLOBAL_ROOT_GID))
		return false;
	return in_group_p(inode->i_gid);
}

/*
 * Who may open (README "Permissions"): CAP_PERFMON or CAP_SYS_ADMIN in the
 * initial user namespace (perfmon_capable() uses capable(), which is
 * that namespace's); a member of allowed_gid, a gid of the initial user
 * namespace; a member of the node's group (hftmon_node_grants()). Others
 * get EPERM; an unprivileged user past max_user_sessions gets EUSERS.
 */
static int hftmon_open(struct inode *inode, struct file *file)
{
	struct hftmon_session *s;
	int gid = READ_ONCE(allowed_gid);
	bool privileged = perfmon_capable();
	struct hftmon_user *owner = NULL;
	int err;

	if (!privileged && !hftmon_node_grants(inode) &&
	    !(gid >= 0 && in_group_p(make_kgid(&init_user_ns, gid))))
		return -EPERM;
	if (!privileged) {
		err = hftmon_user_session_get(&owner,
					      READ_ONCE(max_user_sessions));
		if (err)
			return err;
	}

	s = kmem_cache_zalloc(hftmon_session_cache, GFP_KERNEL_ACCOUNT);
	if (!s) {
		hftmon_user_session_put(owner);
		return -ENOMEM;
	}
	mutex_init(&s->lock);
	init_waitqueue_head(&s->wq);
	atomic_set(&s->nr_mmaps, 0);
	s->privileged = privileged;
	s->owner = owner;
	s->pid_ns = get_pid_ns(task_active_pid_ns(current));
	hftmon_track_init(&s->track, min_t(unsigned int, READ_ONCE(max_procs),
					   HFTMON_MAX_PROCS_LIMIT));
	file->private_data = s;
	return stream_open(inode, file);
}

static int hftmon_release(struct inode *inode, struct file *file)
{
	struct hftmon_session *s = file->private_data;

	mutex_lock(&s->lock);
	if (s->running)
		hftmon_ioc_stop_locked(s);
	hftmon_track_clear(&s->track);
	hftmon_free_rings(s);
	mutex_unlock(&s->lock);
	hftmon_user_session_put(s->owner);
	put_pid_ns(s->pid_ns);
	kmem_cache_free(hftmon_session_cache, s);
	return 0;
}

static const struct file_operations hftmon_fops = {
	.owner = THIS_MODULE,
	.open = hftmon_open,
	.release = hftmon_release,
	.unlocked_ioctl = hftmon_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = hftmon_mmap,
	.poll = hftmon_poll,
	/* No .llseek: stream_open() makes lseek -ESPIPE (see compat.h). */
};

static struct miscdevice hftmon_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hftmon",
	.fops = &hftmon_fops,
};

/*
 * The caches have two users: the module itself, and its KUnit suites,
 * which a module's KUnit build runs while it is still "coming", before
 * hftmon_init(). Whoever comes first creates them, the last one out
 * destroys them.
 */
static DEFINE_MUTEX(hftmon_cache_lock);
static unsigned int hftmon_cache_users;

static void hftmon_destroy_caches(void)
{
	/* Tracked-table entries are freed by RCU callbacks into a cache. */
	rcu_barrier();
	kmem_cache_destroy(hftmon_ring_cache);
	kmem_cache_destroy(hftmon_proc_cache);
	kmem_cache_destroy(hftmon_session_cache);
	hftmon_ring_cache = hftmon_proc_cache = hftmon_session_cache = NULL;
}

int hftmon_caches_get(void)
{
	int err = 0;

	mutex_lock(&hftmon_cache_lock);
	if (!hftmon_cache_users) {
		hftmon_session_cache = KMEM_CACHE(hftmon_session, 0);
		hftmon_proc_cache = KMEM_CACHE(hftmon_proc, 0);
		hftmon_ring_cache = KMEM_CACHE(hftmon_ring, 0);
		if (!hftmon_session_cache || !hftmon_proc_cache ||
		    !hftmon_ring_cache) {
			hftmon_destroy_caches();
			err = -ENOMEM;
		}
	}
	if (!err)
		hftmon_cache_users++;
	mutex_unlock(&hftmon_cache_lock);
	return err;
}

void hftmon_caches_put(void)
{
	mutex_lock(&hftmon_cache_lock);
	if (!--hftmon_cache_users)
		hftmon_destroy_caches();
	mutex_unlock(&hftmon_cache_lock);
}

static int __init hftmon_init(void)
{
	int err;

	err = hftmon_probes_init();
	if (err)
		return err;
	err = hftmon_caches_get();
	if (err)
		return err;
	if (!max_ring_mb)
		max_ring_mb = max(1UL, totalram_pages() >> (20 - PAGE_SHIFT) >> 2);
	hftmon_misc.mode = dev_mode & 0777;
	err = misc_register(&hftmon_misc);
	if (err)
		goto err_caches;
	pr_info("hftmon: ABI %d, /dev/hftmon mode %04o\n", HFTMON_ABI_VERSION,
		hftmon_misc.mode);
	return 0;

err_caches:
	hftmon_caches_put();
	return err;
}

static void __exit hftmon_exit(void)
{
	misc_deregister(&hftmon_misc);
	hftmon_probes_exit();
	hftmon_caches_put();
}

module_init(hftmon_init);
module_exit(hftmon_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(HFTMON_VERSION);
MODULE_AUTHOR("hftmon developers");
MODULE_DESCRIPTION("Records context switches, wake-ups, migrations, forks and exits of attached processes' threads, with stacks, into per-CPU mmap rings");
