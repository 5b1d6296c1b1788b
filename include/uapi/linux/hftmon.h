/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hftmon ABI: the one definition of the interface between hftmon.ko and
 * userspace (libhftmon, the CLI, tests). Both sides compile against this
 * file; nothing here is copied elsewhere.
 *
 * Rules: fixed-width __u* fields, naturally aligned, explicit reserved
 * padding that must be zero; every ioctl argument struct begins with
 * "__u32 size" (sizeof as the caller knows it) so it can grow: the kernel
 * reads it with copy_struct_from_user(), so an older caller gets the new
 * fields zeroed and a newer caller's unknown non-zero tail gets -E2BIG.
 * Pointers travel as __u64. Times are __u64 nanoseconds of CLOCK_MONOTONIC.
 * The library probes HFTMON_FEAT_* bits from GET_INFO, never kernel versions.
 */
#ifndef _UAPI_LINUX_HFTMON_H
#define _UAPI_LINUX_HFTMON_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define HFTMON_ABI_VERSION	1
/*
 * open() errors besides the node's own mode check: -EPERM neither
 * CAP_PERFMON/CAP_SYS_ADMIN nor a member of the node's group or of the
 * module's allowed_gid; -EUSERS this user (without CAP_PERFMON) has
 * max_user_sessions sessions open already.
 */
#define HFTMON_DEVICE		"/dev/hftmon"

/* Feature bits reported in hftmon_info.features. */
#define HFTMON_FEAT_SCHED_SWITCH	(1ULL << 0)	/* HFTMON_REC_SWITCH */
#define HFTMON_FEAT_SCHED_WAKEUP	(1ULL << 1)	/* HFTMON_REC_WAKEUP */
#define HFTMON_FEAT_SCHED_MIGRATE	(1ULL << 2)	/* HFTMON_REC_MIGRATE */
#define HFTMON_FEAT_PROCESS_EXIT	(1ULL << 3)	/* HFTMON_REC_EXIT */
#define HFTMON_FEAT_PROCESS_FORK	(1ULL << 4)	/* HFTMON_REC_FORK */
#define HFTMON_FEAT_POLL		(1ULL << 5)	/* poll() on the fd */
#define HFTMON_FEAT_STACKS		(1ULL << 6)	/* KSTACK/USTACK attach */
#define HFTMON_FEAT_IRQ			(1ULL << 7)	/* REC_IRQ, kind DEVICE */
#define HFTMON_FEAT_SOFTIRQ		(1ULL << 8)	/* REC_SOFTIRQ */
#define HFTMON_FEAT_IRQ_VECTOR		(1ULL << 9)	/* REC_IRQ, kind VECTOR */
#define HFTMON_FEAT_NMI			(1ULL << 10)	/* REC_IRQ, kind NMI */
#define HFTMON_FEAT_SPIKE		(1ULL << 11)	/* REC_SPIKE, EV_SPIKE */
#define HFTMON_FEAT_SPIKE_FAULT		(1ULL << 12)	/* REC_SPIKE type FAULT */
#define HFTMON_FEAT_KSTACK_MIN		(1ULL << 13)	/* attach kstack_min_ns */
#define HFTMON_FEAT_NUMA_BALANCING	(1ULL << 14)	/* REC_NUMA, EV_NUMA */
#define HFTMON_FEAT_NUMA_ACCESS		(1ULL << 15)	/* REC_NUMA kind ACCESS, addr */
#define HFTMON_FEAT_PMU			(1ULL << 16)	/* REC_PMU, EV_PMU */
#define HFTMON_FEAT_RUNQ		(1ULL << 19)	/* REC_RUNQ, EV_RUNQ */
#define HFTMON_FEAT_INHERIT		(1ULL << 20)	/* HFTMON_ATTACH_INHERIT */

/*
 * Event sources, indexes into hftmon_info.source_status[]. A status of 0
 * means the source works on this kernel/machine; otherwise it is a
 * negative errno saying why not (-ENOENT: the tracepoint or PMU event does
 * not exist, -EOPNOTSUPP: the hardware has no such counter, -ENOSYS: this
 * module version does not implement it yet, -EACCES: not permitted).
 */
enum hftmon_source {
	HFTMON_SRC_SCHED_SWITCH = 0,
	HFTMON_SRC_SCHED_WAKEUP,
	HFTMON_SRC_SCHED_MIGRATE,
	HFTMON_SRC_PROCESS_EXIT,
	HFTMON_SRC_PROCESS_FORK,
	HFTMON_SRC_IRQ,
	HFTMON_SRC_SOFTIRQ,
	HFTMON_SRC_PMU_HW,		/* hardware cycles/instructions/caches */
	HFTMON_SRC_PMU_SW,		/* software events: faults, cpu clock */
	HFTMON_SRC_NUMA_BALANCING,	/* -EOPNOTSUPP: no CONFIG_NUMA_BALANCING */
	HFTMON_SRC_STACK_KERNEL,
	HFTMON_SRC_STACK_USER,
	HFTMON_SRC_IRQ_VECTOR,		/* x86 system vectors: timer, IPIs */
	HFTMON_SRC_NMI,
	HFTMON_SRC_SPIKE,		/* latency spikes detected in the kernel */
	HFTMON_SRC_SPIKE_FAULT,		/* page-fault spikes (a kretprobe) */
	HFTMON_SRC_NUMA_ACCESS,		/* hinting faults' addresses (a kprobe) */
	HFTMON_SRC_RUNQ,		/* who runs where a tracked thread waits */
	HFTMON_SRC_NR,
};
#define HFTMON_SRC_MAX	32	/* room reserved in hftmon_info */

/* HFTMON_IOC_GET_INFO: what this module and machine offer. */
struct hftmon_info {
	__u32 size;		/* in: sizeof(struct hftmon_info) */
	__u32 abi_version;	/* out: HFTMON_ABI_VERSION */
	__u64 features;		/* out: HFTMON_FEAT_* */
	__u32 nr_cpu_ids;	/* out: CPU numbers are < this; one ring each */
	__u32 nr_online_cpus;
	__u32 nr_nodes;		/* out: online NUMA nodes */
	__u32 page_size;
	__u32 max_ring_pages;	/* out: largest data area per CPU, in pages */
	__u32 default_ring_pages;
	__u32 max_procs;	/* out: how many processes can be attached */
	__u32 nr_sources;	/* out: valid entries of source_status[] */
	__s32 source_status[HFTMON_SRC_MAX];	/* out: 0 or -errno */
	__u64 reserved[8];
};

/* Event selection bits for hftmon_config.events. */
#define HFTMON_EV_SWITCH	(1ULL << 0)
#define HFTMON_EV_WAKEUP	(1ULL << 1)
#define HFTMON_EV_MIGRATE	(1ULL << 2)
#define HFTMON_EV_EXIT		(1ULL << 3)
#define HFTMON_EV_FORK		(1ULL << 4)
#define HFTMON_EV_SCHED_ALL	(HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP | \
				 HFTMON_EV_MIGRATE | HFTMON_EV_EXIT | \
				 HFTMON_EV_FORK)
/*
 * Interruptions (HFTMON_REC_IRQ/SOFTIRQ), recorded on a CPU while a
 * tracked thread is current there (from its first switch-in after START;
 * this needs HFTMON_EV_SWITCH too) and on every CPU of
 * hftmon_config.irq_cpus, tracked thread or not.
 */
#define HFTMON_EV_IRQ		(1ULL << 5)	/* device IRQ handlers */
#define HFTMON_EV_SOFTIRQ	(1ULL << 6)
#define HFTMON_EV_IRQ_VECTOR	(1ULL << 7)	/* x86 system vectors */
#define HFTMON_EV_NMI		(1ULL << 8)
#define HFTMON_EV_IRQ_ALL	(HFTMON_EV_IRQ | HFTMON_EV_SOFTIRQ | \
				 HFTMON_EV_IRQ_VECTOR | HFTMON_EV_NMI)
/*
 * Latency spikes (HFTMON_REC_SPIKE) of tracked threads, detected in the
 * kernel against hftmon_config.spike_threshold_ns. Needs HFTMON_EV_SWITCH
 * and HFTMON_EV_WAKEUP; interruptions cause spikes only through the
 * interruption events that are on.
 */
#define HFTMON_EV_SPIKE		(1ULL << 9)
/*
 * Who runs on a CPU while a tracked thread waits there, runnable but not
 * running (preempted, or woken and not yet switched in; followed across
 * the migrations of its wait): every switch there between untracked
 * tasks, as HFTMON_REC_RUNQ (switches of tracked tasks are SWITCH
 * records already). With them a wait's whole sequence of tasks is in
 * the records. Needs HFTMON_EV_SWITCH, _WAKEUP and _MIGRATE.
 */
#define HFTMON_EV_RUNQ		(1ULL << 15)
/*
 * NUMA balancing activity of tracked threads (HFTMON_REC_NUMA): their
 * hinting faults and the balancer's task moves and swaps between nodes.
 */
#define HFTMON_EV_NUMA		(1ULL << 10)
/*
 * PMU counter deltas of tracked threads (HFTMON_REC_PMU), one record per
 * slice on a CPU, of the counters named in hftmon_config.pmu[]. Needs
 * HFTMON_EV_SWITCH (whose probes end tracking at an exec out of reach).
 */
#define HFTMON_EV_PMU		(1ULL << 11)

/* Counters a session may read at every switch (hftmon_config.pmu[]). */
#define HFTMON_PMU_MAX_COUNTERS	4

/*
 * One counter: the perf_event_attr type and config the kernel's perf API
 * takes (PERF_TYPE_SOFTWARE PERF_COUNT_SW_PAGE_FAULTS, PERF_TYPE_HARDWARE
 * PERF_COUNT_HW_INSTRUCTIONS, PERF_TYPE_RAW with a vendor encoding...),
 * made by the module as a pinned per-CPU counter of kernel and user mode.
 * status (out, CONFIGURE): 0 if the kernel made this counter on one
 * online CPU when asked, else its -errno (-ENOENT: no PMU of this machine
 * knows the event, as every hardware event under x86 TCG; -EOPNOTSUPP,
 * -EINVAL...). An unsupported counter does not fail CONFIGURE or START:
 * its values in every record carry that errno instead of a number.
 * A session opened without CAP_PERFMON or CAP_SYS_ADMIN may name only
 * PERF_TYPE_HARDWARE, _SOFTWARE, _HW_CACHE and _RAW events (else
 * CONFIGURE fails with -EPERM), and they count user mode only.
 */
struct hftmon_pmu_event {
	__u32 type;
	__s32 status;
	__u64 config;
};

/*
 * HFTMON_IOC_CONFIGURE: allocate the per-CPU rings and choose events.
 * Only while stopped and while no ring is mapped. Zero fields take the
 * module's defaults; the effective values are written back.
 * Errors: -EINVAL bad field, -EOPNOTSUPP an event or option this kernel
 * or module lacks, -EBUSY running or mapped, -EPERM the rings exceed the
 * caller's locked-memory allowance and RLIMIT_MEMLOCK (as perf's mmap),
 * -ENOSPC the global cap on all sessions' rings (max_ring_mb), -EPERM a
 * PMU counter type an unprivileged session may not use, -ENOMEM
 * the caller's memory cgroup (the rings are charged to it) or no memory.
 */
struct hftmon_config {
	__u32 size;
	__u32 flags;		/* must be 0 */
	__u64 events;		/* HFTMON_EV_*; 0 = HFTMON_EV_SCHED_ALL offered */
	__u32 ring_pages;	/* data pages per CPU ring, a power of two */
	__u32 wakeup_bytes;	/* poll() readiness watermark; 0 = 1/4 ring */
	/*
	 * 0 = off. With HFTMON_EV_PMU: also read the counters every this
	 * many ns while a tracked thread runs (HFTMON_PMU_TICK records),
	 * within [HFTMON_SAMPLE_INTERVAL_MIN_NS, _MAX_NS] and not below the
	 * kernel's hrtimer resolution (a jiffy without high-resolution
	 * timers); otherwise -EINVAL. Without HFTMON_EV_PMU: -EINVAL.
	 */
	__u64 sample_interval_ns;
	__u64 ring_mmap_size;	/* out: bytes to mmap per CPU (ctrl + data) */
	/*
	 * CPUs whose interruptions are recorded whatever runs there (a
	 * system-wide view), bit n = CPU n; CPUs from HFTMON_IRQ_CPUS_MAX on
	 * cannot be named in this ABI. A bit at or above nr_cpu_ids: -EINVAL.
	 */
	__u64 irq_cpus[3];
	/*
	 * With HFTMON_EV_SPIKE: the spike threshold, within
	 * [HFTMON_SPIKE_THRESHOLD_MIN_NS, HFTMON_SPIKE_THRESHOLD_MAX_NS] (no
	 * default); without it, 0. HFTMON_IOC_SET_SPIKE_THRESHOLD changes it.
	 */
	__u64 spike_threshold_ns;
	/*
	 * With HFTMON_EV_PMU: 1..HFTMON_PMU_MAX_COUNTERS counters in pmu[];
	 * without it, 0 and pmu[] all zero. Entries from nr_pmu on: zero.
	 */
	__u32 nr_pmu;
	__u32 reserved_pmu;	/* must be 0 */
	struct hftmon_pmu_event pmu[HFTMON_PMU_MAX_COUNTERS];
};
#define HFTMON_IRQ_CPUS_MAX	192
#define HFTMON_SPIKE_THRESHOLD_MIN_NS	1000ULL
#define HFTMON_SPIKE_THRESHOLD_MAX_NS	10000000000ULL
#define HFTMON_SAMPLE_INTERVAL_MIN_NS	1000ULL
#define HFTMON_SAMPLE_INTERVAL_MAX_NS	1000000000ULL

/* Per-process options for HFTMON_IOC_ATTACH. */
#define HFTMON_ATTACH_CACHE		(1U << 0)	/* PMU cache/TLB counters */
#define HFTMON_ATTACH_NUMA		(1U << 1)	/* NUMA placement events */
#define HFTMON_ATTACH_KSTACK		(1U << 2)	/* kernel stack of each switch-out */
#define HFTMON_ATTACH_USTACK		(1U << 3)	/* user stack at switch-out */
/*
 * Where HFTMON_FEAT_INHERIT is offered: a new process the tracked one
 * forks (not a thread: those are tracked anyway) is tracked from the
 * fork on, before it first runs, with the same flags, as if attached by
 * the same caller, and so are its own children; each FORK record says
 * whether its child is followed (HFTMON_FORK_FOLLOWED) or why not. Needs
 * HFTMON_EV_FORK in the session's events (-EINVAL otherwise).
 */
#define HFTMON_ATTACH_INHERIT		(1U << 4)
#define HFTMON_ATTACH_KNOWN_FLAGS	0x1fU

/*
 * HFTMON_IOC_ATTACH / HFTMON_IOC_DETACH: track (or stop tracking) every
 * thread of the process that pid belongs to (a tid is resolved to its
 * thread group). The caller must be allowed to ptrace-read it; tracking
 * ends by itself when the process execs into something the caller could
 * not attach to (HFTMON_REC_DETACH). pid is a number in the caller's pid
 * namespace.
 * Errors: -EINVAL bad pid/flags, -ESRCH no such process, -EPERM not
 * permitted, -EACCES kernel stacks (HFTMON_ATTACH_KSTACK) not permitted
 * to this session (module parameter kstack_restrict), -EINTR a fatal
 * signal arrived while waiting for an exec of the process to end,
 * -EEXIST already attached, -ENOSPC too many processes, -ENOMEM,
 * -EOPNOTSUPP a source this module lacks (CACHE, NUMA), -ENOENT
 * (detach) not attached, or its tracking already ended at an exec.
 */
struct hftmon_attach {
	__u32 size;
	__s32 pid;
	__u32 flags;		/* HFTMON_ATTACH_* */
	__u32 reserved0;
	/*
	 * With HFTMON_ATTACH_KSTACK, where HFTMON_FEAT_KSTACK_MIN is offered:
	 * 0 takes the kernel stack at every switch-out (prev_kstack_id);
	 * otherwise only for switches at least this long off CPU, unwound
	 * when the thread is switched back in (a blocked task's stack stays
	 * as it was until it runs) and sent as HFTMON_REC_SWITCH_STACK, so
	 * a busy thread's short switches cost no unwind. At most 10 s.
	 */
	__u64 kstack_min_ns;
	__u64 reserved[1];
};

/* Why a record was not written: indexes into the lost[] counters. */
enum hftmon_lost_cause {
	HFTMON_LOST_RING_FULL = 0,	/* reader too slow */
	HFTMON_LOST_TOO_BIG,		/* record larger than the ring allows */
	HFTMON_LOST_NO_SPACE,		/* a fixed table (stacks...) was full */
	HFTMON_LOST_NR,
};
#define HFTMON_LOST_MAX	8

/*
 * One CPU's ring: the first page of its mmap is this control page, the
 * data area (ring_pages pages, a power of two) follows it.
 *
 * Ordering contract (same as perf_event_mmap_page):
 *   producer (kernel): write records at [data_tail.., data_head') ;
 *                      smp_store_release(&data_head, head')
 *   consumer (user):   head = load_acquire(&data_head);
 *                      read records in [tail, head);
 *                      store_release(&data_tail, head)
 * The kernel reads data_tail with acquire semantics before it overwrites
 * the space behind it, so a record is never overwritten while being read.
 * data_head and data_tail only grow; offsets into the data area are
 * (position & (data_size - 1)). Records are 8-byte aligned and never
 * wrap around the end of the data area: the producer fills the end with
 * an HFTMON_REC_PAD record instead. A PAD is a whole header (at least 32
 * bytes, as every record): type, size and cpu set; flags, pid, tid, seq
 * and time_ns 0. Readers skip it by its size.
 *
 * seq counts every record the producer tried to write on this CPU,
 * including the lost ones (HFTMON_REC_PAD records carry no seq): a gap in
 * the seq of consecutive records is exactly the number lost in between,
 * and lost[] says why.
 * A probe may interrupt another probe on the same CPU (an IRQ during a
 * sched_switch probe): seq and space are reserved together with IRQs off,
 * so seq still increases along the ring, and data_head is published only
 * when the outermost writer commits, so a reader never sees the
 * interrupted writer's half-written record.
 */
struct hftmon_ring_ctrl {
	__u32 version;		/* HFTMON_ABI_VERSION */
	__u32 cpu;
	__u32 data_offset;	/* from the start of the mapping: page size */
	__u32 reserved0;
	__u64 data_size;	/* bytes, a power of two */
	__u64 reserved1[5];
	/* Producer-owned, on their own cache line. */
	__u64 data_head __attribute__((aligned(64)));
	__u64 records;		/* records written (not counting pads) */
	__u64 lost[HFTMON_LOST_MAX];
	__u64 next_seq;		/* seq the next record will carry */
	/* Consumer-owned, on its own cache line. */
	__u64 data_tail __attribute__((aligned(64)));
};

/*
 * Event records. Every record starts with this header; size includes it
 * and is a multiple of 8. pid/tid name the record's subject task (per
 * type below).
 *
 * Whom a record names, in it and in every pid/tid/comm field below, is
 * decided by who opened the device (README "Permissions"). A session
 * opened with CAP_PERFMON or CAP_SYS_ADMIN sees every task as the init
 * pid namespace numbers it. Any other session sees a task of a process
 * it tracks by its numbers in the opener's pid namespace; every other
 * task is blanked: pid and tid 0, comm all zero (its prio and policy
 * stay: they say what kind of task took the CPU, not which). The idle
 * task is pid 0 with its own comm ("swapper/N") in every session, so a
 * switch to idle is told apart from a switch to a blanked task by comm.
 * A tracked task the opener's namespace cannot see (a descriptor passed
 * into a sibling namespace) is blanked too, and so is an exiting
 * thread's last switch-out when its pid was already released and the
 * opener is not in the init pid namespace (its number there is gone).
 */
struct hftmon_rec_hdr {
	__u16 type;		/* HFTMON_REC_* */
	__u16 size;
	__u16 cpu;
	__u16 flags;		/* per type */
	__s32 pid;		/* thread group id */
	__s32 tid;
	__u64 seq;
	__u64 time_ns;		/* CLOCK_MONOTONIC */
};

/*
 * Record types. A layout enters this header together with the code that
 * produces it and a test; the numbers of sources not produced yet are
 * reserved (no layout: a reader treats them as unknown), and a number,
 * once given, never changes. Readers walk records by hdr.size and skip,
 * counting, any type they do not understand, so a module that adds a type
 * does not break an older reader.
 */
enum hftmon_rec_type {
	HFTMON_REC_PAD = 0,	/* filler to the end of the data area */
	HFTMON_REC_SWITCH = 1,	/* sched_switch: subject = prev task */
	HFTMON_REC_WAKEUP = 2,	/* sched_wakeup(_new): subject = woken task */
	HFTMON_REC_MIGRATE = 3,	/* sched_migrate_task: subject = moved task */
	HFTMON_REC_EXIT = 4,	/* sched_process_exit: subject = exiting task */
	HFTMON_REC_FORK = 5,	/* sched_process_fork: subject = parent */
	HFTMON_REC_IRQ = 6,	/* a device IRQ, system vector or NMI */
	HFTMON_REC_SOFTIRQ = 7,	/* a softirq vector's run */
	HFTMON_REC_SPIKE = 8,	/* a latency spike of a tracked thread */
	HFTMON_REC_PMU = 9,	/* PMU counter deltas of one slice on a CPU */
	HFTMON_REC_NUMA = 10,	/* NUMA balancing: a hinting fault, a task move */
	HFTMON_REC_STACK = 11,	/* a stack table entry, sent once per id */
	HFTMON_REC_DETACH = 12,	/* tracking of a process ended at its exec */
	HFTMON_REC_SWITCH_STACK = 13, /* a switch-out's kernel stack, at its switch-in */
	HFTMON_REC_RUNQ = 14,	/* a switch of untracked tasks where one waits */
	HFTMON_REC_TYPE_NR,	/* types numbered so far, reserved included */
};

#define HFTMON_TASK_COMM_LEN	16

/* HFTMON_REC_SWITCH flags */
#define HFTMON_SWITCH_PREV_TRACKED	(1U << 0)
#define HFTMON_SWITCH_NEXT_TRACKED	(1U << 1)
#define HFTMON_SWITCH_PREEMPT		(1U << 2) /* prev was preempted */
/* prev blocked: counts in its voluntary_ctxt_switches, else nonvoluntary */
#define HFTMON_SWITCH_VOLUNTARY		(1U << 3)

/*
 * One record per context switch in which the task leaving (prev) or the
 * task arriving (next) belongs to a tracked process. hdr.pid/tid = prev.
 * The switch-out of prev and switch-in of next happen at hdr.time_ns.
 */
struct hftmon_rec_switch {
	struct hftmon_rec_hdr hdr;
	__s32 next_pid;
	__s32 next_tid;
	__u32 prev_state;	/* raw task state at switch-out (0 = runnable) */
	__s32 prev_prio;	/* kernel prio: 0..99 RT, 100..139 normal */
	__s32 next_prio;
	__u32 next_policy;	/* SCHED_* */
	/*
	 * The stack ids of prev at switch-out (see HFTMON_REC_STACK). 0 =
	 * none: not asked for at ATTACH, not permitted (a user stack of an
	 * image the attacher could not attach now, see HFTMON_REC_DETACH),
	 * the stack's STACK record was lost (counted in lost[]) or the
	 * stack table was full (NO_SPACE), or another CPU was publishing
	 * that same stack at that instant (the next use carries the id).
	 */
	__u32 prev_kstack_id;
	__u32 prev_ustack_id;
	char prev_comm[HFTMON_TASK_COMM_LEN];
	char next_comm[HFTMON_TASK_COMM_LEN];
};

/*
 * HFTMON_EV_RUNQ: a context switch between two untracked tasks (prev
 * leaves, next arrives at hdr.time_ns) on hdr.cpu while waiting tracked
 * threads were counted there. hdr.pid/tid = next; both named as
 * hftmon_ident() lets the session see them (an unprivileged session
 * sees 0 and no comm). A tracked thread waits on a CPU from its
 * preemption there, or its wake-up onto it, to its switch-in, moving
 * with its migrations; the count is kept only for threads the runnable
 * table had room for (as RUNNABLE spikes are), so a reader checks the
 * chain: each switch's prev is the last one's next.
 */
struct hftmon_rec_runq {
	struct hftmon_rec_hdr hdr;
	__s32 prev_pid;
	__s32 prev_tid;
	__s32 prev_prio;	/* kernel prio, as in HFTMON_REC_SWITCH */
	__s32 next_prio;
	__u32 prev_policy;	/* SCHED_* */
	__u32 next_policy;
	__u32 waiting;		/* tracked threads counted waiting here */
	__u32 reserved;
	char prev_comm[HFTMON_TASK_COMM_LEN];
	char next_comm[HFTMON_TASK_COMM_LEN];
};

/*
 * HFTMON_REC_WAKEUP flags. The waker is the task that asked for the
 * wake-up (seen in its own context as the wake-up begins), on whichever
 * CPU the woken task is then enqueued. Where no task asked, or the module
 * could not see which one did, waker_pid/tid are 0 and a flag says why:
 * - IRQ: the wake-up was made in interrupt context, a hard IRQ or a
 *   softirq (PREEMPT_RT's softirqs included, though they run in a thread):
 *   the task that was running there was only interrupted. A threaded IRQ
 *   handler (irq/N-name) is a task, and is named as the waker.
 * - NO_WAKER: the wake-up began before the session started, or the
 *   module's table of wake-ups in flight (from the waker's CPU to the
 *   target's) had no room. Never set otherwise: count these to see how
 *   often the waker was not known.
 */
#define HFTMON_WAKEUP_NEW	(1U << 0)	/* first wake-up of a new task */
#define HFTMON_WAKEUP_IRQ	(1U << 1)	/* made by interrupt work */
#define HFTMON_WAKEUP_NO_WAKER	(1U << 2)	/* waker not seen */

/*
 * hdr.pid/tid = woken task. hdr.cpu and hdr.time_ns: the CPU that enqueued
 * the task and when: the waker's own CPU, or target_cpu when the kernel
 * handed the wake-up over to it (its remote wake list, TTWU_QUEUE), which
 * then comes after an IPI or the target's idle loop.
 */
struct hftmon_rec_wakeup {
	struct hftmon_rec_hdr hdr;
	__s32 waker_pid;	/* 0: see HFTMON_WAKEUP_IRQ, _NO_WAKER */
	__s32 waker_tid;
	__s32 prio;
	__u32 target_cpu;	/* the CPU the woken task will run on */
};

/* hdr.pid/tid = task moved; hdr.cpu = CPU that decided the move. */
struct hftmon_rec_migrate {
	struct hftmon_rec_hdr hdr;
	__u32 orig_cpu;
	__u32 dest_cpu;
	__s32 prio;
	__u32 reserved;
};

/*
 * HFTMON_REC_EXIT flags. GROUP_DEAD: every thread of the process has begun
 * to exit. Set on exactly one EXIT record per tracked process, the first
 * made once the process's live-thread count is 0; EXIT records of threads
 * that exited at the same moment may still follow it.
 */
#define HFTMON_EXIT_GROUP_DEAD	(1U << 0)

struct hftmon_rec_exit {
	struct hftmon_rec_hdr hdr;
	__s32 prio;
	__u32 reserved;
	char comm[HFTMON_TASK_COMM_LEN];
};

/* HFTMON_REC_FORK flags */
#define HFTMON_FORK_THREAD	(1U << 0)	/* child is a thread of parent */
/* A new process of an HFTMON_ATTACH_INHERIT one: tracked from here on */
#define HFTMON_FORK_FOLLOWED	(1U << 1)
/* ... or not followed: max_procs processes are tracked already */
#define HFTMON_FORK_FULL	(1U << 2)
/* ... or not followed: no entry made ahead was left (a burst of forks) */
#define HFTMON_FORK_NOMEM	(1U << 3)

/* hdr.pid/tid = parent. */
struct hftmon_rec_fork {
	struct hftmon_rec_hdr hdr;
	__s32 child_pid;
	__s32 child_tid;
	char child_comm[HFTMON_TASK_COMM_LEN];
};

/* HFTMON_REC_STACK flags */
#define HFTMON_STACK_USER	(1U << 0)	/* user addresses, else kernel */
#define HFTMON_STACK_TRUNCATED	(1U << 1)

/* A stack table entry, written the first time its id is used. */
struct hftmon_rec_stack {
	struct hftmon_rec_hdr hdr;
	__u32 stack_id;
	__u32 nr;
	__u64 ips[];
};

/*
 * The kernel stack of a tracked thread's switch-out (kstack_min_ns of
 * ATTACH), taken at its switch-in after at least kstack_min_ns off CPU.
 * hdr.pid/tid: the thread; hdr.cpu: where it was switched in. out_ns and
 * in_ns are the time_ns of the SWITCH records that switched it out and
 * back in (this record follows the second on the same ring); kstack_id
 * as a SWITCH record's prev_kstack_id. Its first frame is the return
 * into __schedule() from the context switch (a stack taken at switch-out
 * begins in __schedule() too, at the tracepoint); the frames below it
 * are the same.
 */
struct hftmon_rec_switch_stack {
	struct hftmon_rec_hdr hdr;
	__u64 out_ns;
	__u64 in_ns;
	__u32 kstack_id;
	__u32 reserved;
};

/* What interrupted: hftmon_rec_irq.kind, hftmon_irq_stats.kind. */
enum hftmon_irq_kind {
	HFTMON_IRQ_KIND_DEVICE = 1,	/* nr: IRQ number (/proc/interrupts row) */
	HFTMON_IRQ_KIND_VECTOR = 2,	/* nr: x86 vector (LOC 0xec, RES 0xfd...) */
	HFTMON_IRQ_KIND_SOFTIRQ = 3,	/* nr: softirq vector (/proc/softirqs row) */
	HFTMON_IRQ_KIND_NMI = 4,	/* nr: 0 */
	HFTMON_IRQ_KIND_NR,
};

/* HFTMON_REC_IRQ / HFTMON_REC_SOFTIRQ flags */
#define HFTMON_IRQ_NAMED	(1U << 0)	/* name[] follows (see below) */
#define HFTMON_IRQ_TRACKED	(1U << 1)	/* hdr.pid/tid: a tracked task */

/*
 * One interruption, written on the CPU it happened on when it ends
 * (hdr.time_ns = its end). hdr.pid/tid: the task it interrupted when that
 * task is tracked (HFTMON_IRQ_TRACKED), else 0; on PREEMPT_RT a softirq
 * runs in a thread (ksoftirqd, or the task that enabled BHs) and "the
 * interrupted task" is that thread. gross_ns = end - start_ns; net_ns =
 * gross_ns minus every interruption nested inside it (an IRQ inside a
 * softirq counts in the IRQ only). depth: interruptions it was nested in
 * (0: it interrupted a task). A device IRQ's first record in a session
 * (per IRQ number below 4096) carries the handler's name, NUL-terminated,
 * in the HFTMON_IRQ_NAME_LEN bytes after the fixed part (HFTMON_IRQ_NAMED,
 * hdr.size grows by that much); later ones do not repeat it. An NMI's
 * record is written by the next interruption probe on its CPU (the ring
 * is not NMI-safe), so it may follow later records in the ring.
 */
struct hftmon_rec_irq {
	struct hftmon_rec_hdr hdr;
	__u64 start_ns;
	__u64 net_ns;
	__u64 gross_ns;
	__u64 raise_ns;		/* SOFTIRQ: first raise before the run; 0 unseen */
	__u32 kind;		/* HFTMON_IRQ_KIND_* */
	__u32 nr;
	__u32 depth;
	__s32 ret;		/* DEVICE: handler's irqreturn_t; NMI: handled */
};
#define HFTMON_IRQ_NAME_LEN	32

/* One source's totals on one CPU (HFTMON_IOC_GET_IRQ_STATS). */
struct hftmon_irq_count {
	__u64 count;		/* entry/exit pairs seen */
	__u64 net_ns;		/* sum of their net_ns */
};

/*
 * HFTMON_IOC_GET_IRQ_STATS: the session's counters for one CPU and kind,
 * from its last START (kept after STOP until the next START); counted on
 * the same CPUs and events as the records, lost records included.
 * counts_ptr points at nr entries indexed by number (IRQ number, vector,
 * softirq vector; one entry for NMI); the kernel fills min(nr, nr_max)
 * and sets nr_max to how many numbers it counts (an IRQ number at or
 * above it is summed in other). -ENODATA: never started, or another
 * session started since.
 */
struct hftmon_irq_stats {
	__u32 size;
	__u32 cpu;		/* in */
	__u32 kind;		/* in: HFTMON_IRQ_KIND_* */
	__u32 nr;		/* in: entries at counts_ptr */
	__u64 counts_ptr;	/* struct hftmon_irq_count[nr] */
	__u32 nr_max;		/* out */
	__u32 reserved0;
	struct hftmon_irq_count other;	/* out: IRQ numbers >= nr_max */
	__u64 unmatched;	/* out: exits without their entry, dropped */
	__u64 too_deep;		/* out: entries past the nesting limit */
	__u64 nmi_unrecorded;	/* out: NMIs counted whose record was dropped */
	__u64 reserved[1];
};

/* What kind of disturbance a spike was: hftmon_rec_spike.type. */
enum hftmon_spike_type {
	HFTMON_SPIKE_INTERRUPTED = 1,	/* on CPU, taken by interruptions */
	HFTMON_SPIKE_RUNNABLE = 2,	/* runnable, not running */
	HFTMON_SPIKE_FAULT = 3,		/* in a page fault (handle_mm_fault) */
};

/* HFTMON_REC_SPIKE flags */
#define HFTMON_SPIKE_WOKEN	(1U << 0) /* RUNNABLE: began at a wake-up */
#define HFTMON_SPIKE_IDLE	(1U << 1) /* WOKEN: its CPU was idle then */
#define HFTMON_SPIKE_EXTENDS	(1U << 2) /* INTERRUPTED: see below */

/*
 * Depth-0 interruptions of one tracked thread chain when one begins less
 * than this after the previous one ended, with no context switch between
 * (a timer tick and the softirqs run on its exit are one disturbance).
 * Generous, for TCG's slow emulation of the few instructions between.
 */
#define HFTMON_SPIKE_CHAIN_NS	5000ULL

/*
 * A latency spike: a tracked thread disturbed for at least the threshold,
 * written when the disturbance ends, and its ring's poll() waiters woken
 * at once whatever the watermark. hdr.time_ns: the end; hdr.pid/tid: the
 * victim; hdr.cpu: where it ended.
 * - INTERRUPTED: current on the CPU and interrupted: start_ns is the first
 *   start of a chain of depth-0 interruptions whose span reached the
 *   threshold; written at the exit of the interruption that reached it.
 *   A later link of the same chain writes another record, EXTENDS set,
 *   with the same cpu and start_ns and a later end: it replaces the
 *   earlier. links: depth-0 interruptions in the chain so far.
 * - RUNNABLE: switched in after being runnable but not running for at
 *   least the threshold, written at that switch-in (hdr.time_ns = the
 *   SWITCH record's time_ns). start_ns is exactly the time_ns of the
 *   SWITCH record that preempted it, or of the WAKEUP record that woke it
 *   (WOKEN); from_cpu is that record's CPU. IDLE: the CPU it then ran on
 *   was idle when the wake-up came, in cpu_idle state idle_state (-1
 *   unknown), and left idle at idle_exit_ns (0 unknown).
 * - FAULT: a page fault of the thread (handle_mm_fault(), entered at
 *   start_ns on from_cpu) that lasted at least the threshold, written
 *   when it returned (hdr.cpu: where; it may have slept in between); addr
 *   the faulting address; idle_state -1, links 0. Selected with
 *   HFTMON_EV_SPIKE where HFTMON_FEAT_SPIKE_FAULT is offered.
 */
struct hftmon_rec_spike {
	struct hftmon_rec_hdr hdr;
	__u64 start_ns;
	__u64 threshold_ns;	/* in force when it was detected */
	__u32 type;		/* enum hftmon_spike_type */
	__s32 idle_state;
	__u64 idle_exit_ns;
	__u32 links;
	__u32 from_cpu;
	__u64 addr;		/* FAULT: the faulting address; else 0 */
};

/* HFTMON_REC_DETACH reasons (bits; both may be set) */
#define HFTMON_DETACH_CREDS		(1U << 0) /* ids no longer the attacher's */
#define HFTMON_DETACH_NONDUMPABLE	(1U << 1) /* the new image is not dumpable */

/*
 * A tracked process exec'd into something its attacher could not attach
 * now, and is no longer tracked: a setuid or setgid binary (real, effective
 * or saved uid or gid no longer the attacher's), or a non-dumpable image
 * (a setuid binary or one with file capabilities, unless fs.suid_dumpable
 * is 1; an unreadable binary). CAP_SYS_PTRACE over the process's user
 * namespace at ATTACH keeps tracking through such an exec, as it keeps
 * ptrace. hdr.pid/tid: the task that exec'd (after the exec it has the
 * process's pid as its tid); hdr.time_ns: the exec's end, before the new
 * image's first instruction. No record of the process follows it, on any
 * CPU; an exec that keeps the attacher's rights changes nothing. To
 * track the process again, ATTACH it again (refused unless permitted).
 */
struct hftmon_rec_detach {
	struct hftmon_rec_hdr hdr;
	__u32 reason;		/* HFTMON_DETACH_* */
	__u32 reserved;
};

/* What a NUMA record tells: hftmon_rec_numa.kind. */
enum hftmon_numa_kind {
	HFTMON_NUMA_FAULT = 1,	/* a NUMA hinting fault (task_numa_fault()) */
	HFTMON_NUMA_MOVE = 2,	/* sched_move_numa: moved to another CPU */
	HFTMON_NUMA_SWAP = 3,	/* sched_swap_numa: swapped with other_tid */
	HFTMON_NUMA_STICK = 4,	/* sched_stick_numa: a move or swap that failed */
	HFTMON_NUMA_ACCESS = 5,	/* a hinting fault's access: addr, both nodes */
};

/* HFTMON_REC_NUMA flags, FAULT: the kernel's TNF_* of the fault */
#define HFTMON_NUMA_FAULT_LOCAL		(1U << 0) /* page on the faulting CPU's node */
#define HFTMON_NUMA_MIGRATED		(1U << 1) /* the page(s) moved to dst_nid */
#define HFTMON_NUMA_MIGRATE_FAIL	(1U << 2) /* a migration was tried, failed */
#define HFTMON_NUMA_SHARED		(1U << 3) /* a page shared between processes */
#define HFTMON_NUMA_NO_GROUP		(1U << 4) /* not used to group tasks (read-only) */
/* ACCESS: HFTMON_NUMA_FAULT_LOCAL only (memory on the CPU's node) */
/* SWAP, STICK: the other task (other_pid/tid) is tracked too */
#define HFTMON_NUMA_OTHER_TRACKED	(1U << 5)

/*
 * One NUMA balancing event of a tracked thread (hdr.pid/tid), written in
 * its own context (the kernel's balancer runs in the task it balances):
 * - FAULT: a NUMA hinting fault, when the kernel's fault handler accounts
 *   it (task_numa_fault(), after any migration): pages it covered (a huge
 *   page: 512), src_cpu/src_nid the faulting CPU and its node, dst_nid the
 *   node the page is on afterwards (the migration's target if MIGRATED),
 *   dst_cpu -1. Each is one numa_hint_faults of /proc/vmstat (LOCAL: one
 *   numa_hint_faults_local), a MIGRATED one pages numa_pages_migrated.
 * - MOVE: the balancer moved the thread from src_cpu to dst_cpu.
 * - SWAP: it swapped the thread (src_cpu -> dst_cpu) with other_tid
 *   (dst_cpu -> src_cpu); a tracked other gets its own SWAP record.
 * - STICK: a move (other 0) or swap it tried failed, or it found no better
 *   CPU (dst_cpu -1): the thread stays on src_cpu.
 * - ACCESS (HFTMON_FEAT_NUMA_ACCESS): the same hinting fault, seen where
 *   the kernel counts it in numa_hint_faults, before any migration, with
 *   its address: addr the faulting page (page-aligned; a huge page's
 *   first page), pages the pages of the folio (a PMD-mapped huge page:
 *   512), src_cpu/src_nid the accessing CPU and its node, dst_nid the
 *   node the memory was on when accessed, dst_cpu -1. One per
 *   numa_hint_faults (LOCAL: one numa_hint_faults_local). It comes
 *   before the fault's FAULT record, which a fault given up half-way
 *   may never write (see the module's probes/numa.c).
 * Nodes are cpu_to_node() of the CPUs, -1 for CPU -1. other_pid/tid are
 * named as every task a record names (0 when blanked or none). addr was
 * appended in the module that added ACCESS (hdr.size 72); a record of an
 * older module is 64 bytes, without it, and readers take it as 0.
 */
struct hftmon_rec_numa {
	struct hftmon_rec_hdr hdr;
	__u32 kind;		/* enum hftmon_numa_kind */
	__u32 pages;		/* FAULT: pages of the fault; else 0 */
	__s32 src_cpu;
	__s32 src_nid;
	__s32 dst_cpu;
	__s32 dst_nid;
	__s32 other_pid;	/* SWAP, STICK: the other task; else 0 */
	__s32 other_tid;
	__u64 addr;		/* ACCESS: the page accessed; else 0 */
};
/* The first layout's size, without addr: readers accept it. */
#define HFTMON_REC_NUMA_SIZE_V1	64

/*
 * HFTMON_REC_PMU hdr.flags. TICK: written by a sampling tick
 * (hftmon_config.sample_interval_ns) while the slice goes on; it covers
 * the part of the slice since the previous read (start_ns, the switch-in
 * or the previous tick) to hdr.time_ns. A record without it ends the
 * slice at its switch-out and covers only what follows the last tick.
 */
#define HFTMON_PMU_TICK		(1U << 0)

/* hftmon_pmu_value.flags */
/*
 * The counter's perf state changed during the slice (it was scheduled
 * out and in again by the perf core, e.g. a context reschedule): it was
 * active at both reads but may not have counted in between. Not scaled.
 */
#define HFTMON_PMU_RESCHEDULED	(1U << 0)

/*
 * One counter of one slice. status 0: delta is what the counter counted
 * on this CPU between the switch-in and the switch-out. Otherwise delta
 * is 0 and means nothing, and status says why (at either read):
 * -ENOENT, -EOPNOTSUPP, ...: the kernel refused to make the counter on
 * this CPU (its errno, as CONFIGURE's pmu[].status); -EIO: in error state
 * (a pinned counter that lost its slot, e.g. to the NMI watchdog);
 * -EAGAIN: not counting (off, not scheduled); -EXDEV: counting on another
 * CPU; -ENODEV: no counter on this CPU (it came online after START).
 * Enabled and running times are not reported: the perf core brings them
 * up to date only in perf_event_read_local() and its unexported helpers;
 * HFTMON_PMU_RESCHEDULED tells the one case where they would differ from
 * the slice's length.
 */
struct hftmon_pmu_value {
	__u64 delta;
	__s32 status;		/* 0 or -errno */
	__u32 flags;		/* HFTMON_PMU_* */
};

/*
 * A tracked thread's slice on one CPU (hdr.pid/tid, hdr.cpu), from its
 * switch-in at start_ns to its switch-out at hdr.time_ns, and the
 * deltas of the session's counters over it: v[i] is hftmon_config.pmu[i],
 * nr of them (hdr.size = sizeof(struct hftmon_rec_pmu) + nr * 16).
 * Written at the switch-out; a slice that began before START has none.
 * With sampling, a slice is several records: one per tick (HFTMON_PMU_TICK),
 * each from the previous read, and the last at the switch-out from the
 * last tick; their deltas add up to the slice's.
 */
struct hftmon_rec_pmu {
	struct hftmon_rec_hdr hdr;
	__u64 start_ns;
	__u32 nr;
	__u32 reserved;
	struct hftmon_pmu_value v[];
};

/* Per-CPU statistics returned by HFTMON_IOC_GET_STATS. */
struct hftmon_cpu_stats {
	__u32 cpu;
	__u32 online;
	__u64 records;		/* written to the ring */
	__u64 lost[HFTMON_LOST_MAX];
	__u64 bytes;		/* data_head */
	__u64 reserved[2];
};

/*
 * HFTMON_IOC_GET_STATS: cpus_ptr points at nr_cpus entries; the kernel
 * fills min(nr_cpus, nr_cpu_ids) of them and sets nr_cpus to that.
 */
struct hftmon_stats {
	__u32 size;
	__u32 nr_cpus;		/* in: room in the array; out: entries filled */
	__u64 cpus_ptr;		/* struct hftmon_cpu_stats[] */
	__u64 cpu_stats_size;	/* in: sizeof(struct hftmon_cpu_stats) */
	/*
	 * out: processes attached; one that exited or whose tracking ended
	 * at an exec (HFTMON_REC_DETACH) counts until the next ATTACH or
	 * DETACH reaps it.
	 */
	__u32 nr_procs;
	__u32 running;		/* out: 1 between START and STOP */
	__u64 start_ns;		/* out: last START, 0 if never */
	__u64 stop_ns;		/* out: last STOP, 0 if running or never */
	__u64 reserved[4];
};

/*
 * The size encoded in these numbers is that of the first ABI; the module
 * matches commands on type and number only and takes the length from the
 * struct's own size field, so a struct that grows keeps its command.
 */
#define HFTMON_IOC_MAGIC	0xB7

#define HFTMON_IOC_GET_INFO	_IOWR(HFTMON_IOC_MAGIC, 0x00, struct hftmon_info)
/* CONFIGURE's number keeps the first ABI's size: up to spike_threshold_ns. */
#define HFTMON_CONFIG_SIZE_VER0	72
#define HFTMON_IOC_CONFIGURE	_IOC(_IOC_READ | _IOC_WRITE, HFTMON_IOC_MAGIC, 0x01, \
				     HFTMON_CONFIG_SIZE_VER0)
#define HFTMON_IOC_ATTACH	_IOW(HFTMON_IOC_MAGIC, 0x02, struct hftmon_attach)
#define HFTMON_IOC_DETACH	_IOW(HFTMON_IOC_MAGIC, 0x03, struct hftmon_attach)
#define HFTMON_IOC_START	_IO(HFTMON_IOC_MAGIC, 0x04)
#define HFTMON_IOC_STOP		_IO(HFTMON_IOC_MAGIC, 0x05)
#define HFTMON_IOC_GET_STATS	_IOWR(HFTMON_IOC_MAGIC, 0x06, struct hftmon_stats)
#define HFTMON_IOC_GET_IRQ_STATS _IOWR(HFTMON_IOC_MAGIC, 0x07, struct hftmon_irq_stats)
/*
 * HFTMON_IOC_SET_SPIKE_THRESHOLD: a __u64 of ns, configured or running;
 * it applies to every disturbance that ends after the call returns.
 * -EINVAL out of range, -EOPNOTSUPP configured without HFTMON_EV_SPIKE.
 */
#define HFTMON_IOC_SET_SPIKE_THRESHOLD _IOW(HFTMON_IOC_MAGIC, 0x08, __u64)

#endif /* _UAPI_LINUX_HFTMON_H */
