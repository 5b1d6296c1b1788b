// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The uapi layout, pinned with literal numbers: the size, alignment and
 * every field's offset and width of each ioctl argument struct, the ring
 * control page and each record the module produces, and the ioctl
 * numbers, record types, lost causes and flag bits. The module and every
 * program built against an older header depend on these; a change to
 * include/uapi/linux/hftmon.h that moves one fails to compile here, so
 * an ABI change is a decision (new fields go into reserved space or
 * after the last one, with the size field telling them apart), never an
 * accident. The numbers were read off the header by hand-checked
 * arithmetic (e.g. the record header: 4 u16 + 2 s32 + 2 u64 = 32).
 *
 * At run time, the library's record check accepts each produced type at
 * exactly its pinned size and rejects it 8 bytes shorter: the decoder's
 * minimum sizes agree with the ABI, not only with its own sizeof.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hftmon.h"

#define SIZE(s, size, align)						\
	_Static_assert(sizeof(struct s) == (size), "sizeof " #s);	\
	_Static_assert(_Alignof(struct s) == (align), "alignof " #s)
#define FIELD(s, m, off, width)						\
	_Static_assert(offsetof(struct s, m) == (off), #s "." #m " offset"); \
	_Static_assert(sizeof(((struct s *)0)->m) == (width),		\
		       #s "." #m " width")

SIZE(hftmon_info, 240, 8);
FIELD(hftmon_info, size, 0, 4);
FIELD(hftmon_info, abi_version, 4, 4);
FIELD(hftmon_info, features, 8, 8);
FIELD(hftmon_info, nr_cpu_ids, 16, 4);
FIELD(hftmon_info, nr_online_cpus, 20, 4);
FIELD(hftmon_info, nr_nodes, 24, 4);
FIELD(hftmon_info, page_size, 28, 4);
FIELD(hftmon_info, max_ring_pages, 32, 4);
FIELD(hftmon_info, default_ring_pages, 36, 4);
FIELD(hftmon_info, max_procs, 40, 4);
FIELD(hftmon_info, nr_sources, 44, 4);
FIELD(hftmon_info, source_status, 48, 128);
FIELD(hftmon_info, reserved, 176, 64);

SIZE(hftmon_config, 144, 8);
FIELD(hftmon_config, size, 0, 4);
FIELD(hftmon_config, flags, 4, 4);
FIELD(hftmon_config, events, 8, 8);
FIELD(hftmon_config, ring_pages, 16, 4);
FIELD(hftmon_config, wakeup_bytes, 20, 4);
FIELD(hftmon_config, sample_interval_ns, 24, 8);
FIELD(hftmon_config, ring_mmap_size, 32, 8);
FIELD(hftmon_config, irq_cpus, 40, 24);
FIELD(hftmon_config, spike_threshold_ns, 64, 8);
FIELD(hftmon_config, nr_pmu, 72, 4);
FIELD(hftmon_config, reserved_pmu, 76, 4);
FIELD(hftmon_config, pmu, 80, 64);
_Static_assert(HFTMON_CONFIG_SIZE_VER0 ==
		       offsetof(struct hftmon_config, spike_threshold_ns) + 8,
	       "CONFIGURE's first size");
SIZE(hftmon_pmu_event, 16, 8);
FIELD(hftmon_pmu_event, type, 0, 4);
FIELD(hftmon_pmu_event, status, 4, 4);
FIELD(hftmon_pmu_event, config, 8, 8);
SIZE(hftmon_pmu_value, 16, 8);
FIELD(hftmon_pmu_value, delta, 0, 8);
FIELD(hftmon_pmu_value, status, 8, 4);
FIELD(hftmon_pmu_value, flags, 12, 4);
SIZE(hftmon_rec_runq, 96, 8);
FIELD(hftmon_rec_runq, hdr, 0, 32);
FIELD(hftmon_rec_runq, prev_pid, 32, 4);
FIELD(hftmon_rec_runq, prev_tid, 36, 4);
FIELD(hftmon_rec_runq, prev_prio, 40, 4);
FIELD(hftmon_rec_runq, next_prio, 44, 4);
FIELD(hftmon_rec_runq, prev_policy, 48, 4);
FIELD(hftmon_rec_runq, next_policy, 52, 4);
FIELD(hftmon_rec_runq, waiting, 56, 4);
FIELD(hftmon_rec_runq, reserved, 60, 4);
FIELD(hftmon_rec_runq, prev_comm, 64, 16);
FIELD(hftmon_rec_runq, next_comm, 80, 16);
SIZE(hftmon_rec_pmu, 48, 8);
FIELD(hftmon_rec_pmu, hdr, 0, 32);
FIELD(hftmon_rec_pmu, start_ns, 32, 8);
FIELD(hftmon_rec_pmu, nr, 40, 4);
FIELD(hftmon_rec_pmu, reserved, 44, 4);
_Static_assert(offsetof(struct hftmon_rec_pmu, v) == 48, "hftmon_rec_pmu.v");
_Static_assert(HFTMON_EV_PMU == 1ULL << 11 && HFTMON_FEAT_PMU == 1ULL << 16 &&
	       HFTMON_REC_PMU == 9 && HFTMON_PMU_MAX_COUNTERS == 4 &&
	       HFTMON_PMU_RESCHEDULED == 1, "PMU event, feature, record");

SIZE(hftmon_attach, 32, 8);
FIELD(hftmon_attach, size, 0, 4);
FIELD(hftmon_attach, pid, 4, 4);
FIELD(hftmon_attach, flags, 8, 4);
FIELD(hftmon_attach, reserved0, 12, 4);
FIELD(hftmon_attach, kstack_min_ns, 16, 8);
FIELD(hftmon_attach, reserved, 24, 8);

SIZE(hftmon_ring_ctrl, 256, 64);
FIELD(hftmon_ring_ctrl, version, 0, 4);
FIELD(hftmon_ring_ctrl, cpu, 4, 4);
FIELD(hftmon_ring_ctrl, data_offset, 8, 4);
FIELD(hftmon_ring_ctrl, reserved0, 12, 4);
FIELD(hftmon_ring_ctrl, data_size, 16, 8);
FIELD(hftmon_ring_ctrl, reserved1, 24, 40);
FIELD(hftmon_ring_ctrl, data_head, 64, 8);
FIELD(hftmon_ring_ctrl, records, 72, 8);
FIELD(hftmon_ring_ctrl, lost, 80, 64);
FIELD(hftmon_ring_ctrl, next_seq, 144, 8);
FIELD(hftmon_ring_ctrl, data_tail, 192, 8);

SIZE(hftmon_rec_hdr, 32, 8);
FIELD(hftmon_rec_hdr, type, 0, 2);
FIELD(hftmon_rec_hdr, size, 2, 2);
FIELD(hftmon_rec_hdr, cpu, 4, 2);
FIELD(hftmon_rec_hdr, flags, 6, 2);
FIELD(hftmon_rec_hdr, pid, 8, 4);
FIELD(hftmon_rec_hdr, tid, 12, 4);
FIELD(hftmon_rec_hdr, seq, 16, 8);
FIELD(hftmon_rec_hdr, time_ns, 24, 8);

SIZE(hftmon_rec_switch, 96, 8);
FIELD(hftmon_rec_switch, hdr, 0, 32);
FIELD(hftmon_rec_switch, next_pid, 32, 4);
FIELD(hftmon_rec_switch, next_tid, 36, 4);
FIELD(hftmon_rec_switch, prev_state, 40, 4);
FIELD(hftmon_rec_switch, prev_prio, 44, 4);
FIELD(hftmon_rec_switch, next_prio, 48, 4);
FIELD(hftmon_rec_switch, next_policy, 52, 4);
FIELD(hftmon_rec_switch, prev_kstack_id, 56, 4);
FIELD(hftmon_rec_switch, prev_ustack_id, 60, 4);
FIELD(hftmon_rec_switch, prev_comm, 64, 16);
FIELD(hftmon_rec_switch, next_comm, 80, 16);

SIZE(hftmon_rec_wakeup, 48, 8);
FIELD(hftmon_rec_wakeup, hdr, 0, 32);
FIELD(hftmon_rec_wakeup, waker_pid, 32, 4);
FIELD(hftmon_rec_wakeup, waker_tid, 36, 4);
FIELD(hftmon_rec_wakeup, prio, 40, 4);
FIELD(hftmon_rec_wakeup, target_cpu, 44, 4);

SIZE(hftmon_rec_migrate, 48, 8);
FIELD(hftmon_rec_migrate, hdr, 0, 32);
FIELD(hftmon_rec_migrate, orig_cpu, 32, 4);
FIELD(hftmon_rec_migrate, dest_cpu, 36, 4);
FIELD(hftmon_rec_migrate, prio, 40, 4);
FIELD(hftmon_rec_migrate, reserved, 44, 4);

SIZE(hftmon_rec_exit, 56, 8);
FIELD(hftmon_rec_exit, hdr, 0, 32);
FIELD(hftmon_rec_exit, prio, 32, 4);
FIELD(hftmon_rec_exit, reserved, 36, 4);
FIELD(hftmon_rec_exit, comm, 40, 16);

SIZE(hftmon_rec_fork, 56, 8);
FIELD(hftmon_rec_fork, hdr, 0, 32);
FIELD(hftmon_rec_fork, child_pid, 32, 4);
FIELD(hftmon_rec_fork, child_tid, 36, 4);
FIELD(hftmon_rec_fork, child_comm, 40, 16);

SIZE(hftmon_rec_stack, 40, 8);
FIELD(hftmon_rec_stack, hdr, 0, 32);
FIELD(hftmon_rec_stack, stack_id, 32, 4);
FIELD(hftmon_rec_stack, nr, 36, 4);

/* Interruptions (issue 7): one layout for IRQ, vector, NMI and softirq. */
SIZE(hftmon_rec_irq, 80, 8);
FIELD(hftmon_rec_irq, hdr, 0, 32);
FIELD(hftmon_rec_irq, start_ns, 32, 8);
FIELD(hftmon_rec_irq, net_ns, 40, 8);
FIELD(hftmon_rec_irq, gross_ns, 48, 8);
FIELD(hftmon_rec_irq, raise_ns, 56, 8);
FIELD(hftmon_rec_irq, kind, 64, 4);
FIELD(hftmon_rec_irq, nr, 68, 4);
FIELD(hftmon_rec_irq, depth, 72, 4);
FIELD(hftmon_rec_irq, ret, 76, 4);
_Static_assert(HFTMON_REC_IRQ == 6 && HFTMON_REC_SOFTIRQ == 7,
	       "interruption record types");
_Static_assert(HFTMON_IRQ_NAME_LEN == 32, "IRQ handler name length");
SIZE(hftmon_irq_count, 16, 8);

/* Latency spikes (issue 7): one layout for every type. */
SIZE(hftmon_rec_spike, 80, 8);
FIELD(hftmon_rec_spike, hdr, 0, 32);
FIELD(hftmon_rec_spike, start_ns, 32, 8);
FIELD(hftmon_rec_spike, threshold_ns, 40, 8);
FIELD(hftmon_rec_spike, type, 48, 4);
FIELD(hftmon_rec_spike, idle_state, 52, 4);
FIELD(hftmon_rec_spike, idle_exit_ns, 56, 8);
FIELD(hftmon_rec_spike, links, 64, 4);
FIELD(hftmon_rec_spike, from_cpu, 68, 4);
FIELD(hftmon_rec_spike, addr, 72, 8);
_Static_assert(HFTMON_REC_SPIKE == 8 && HFTMON_SPIKE_INTERRUPTED == 1 &&
	       HFTMON_SPIKE_RUNNABLE == 2 && HFTMON_SPIKE_FAULT == 3,
	       "spike record type and kinds");
_Static_assert(HFTMON_SPIKE_WOKEN == 1 && HFTMON_SPIKE_IDLE == 2 &&
	       HFTMON_SPIKE_EXTENDS == 4, "spike flags");
_Static_assert(HFTMON_EV_SPIKE == 1ULL << 9 && HFTMON_FEAT_SPIKE == 1ULL << 11 &&
	       HFTMON_SRC_SPIKE == 14, "spike event, feature, source row");
_Static_assert(HFTMON_FEAT_SPIKE_FAULT == 1ULL << 12 &&
	       HFTMON_SRC_SPIKE_FAULT == 15 && HFTMON_SPIKE_FAULT == 3,
	       "page-fault spikes: feature, source row, type");
_Static_assert(HFTMON_FEAT_NUMA_ACCESS == 1ULL << 15 &&
	       HFTMON_SRC_NUMA_ACCESS == 16,
	       "NUMA fault addresses: feature, source row");
_Static_assert(HFTMON_SPIKE_THRESHOLD_MIN_NS == 1000 &&
	       HFTMON_SPIKE_THRESHOLD_MAX_NS == 10000000000ULL &&
	       HFTMON_SPIKE_CHAIN_NS == 5000, "spike limits");

SIZE(hftmon_cpu_stats, 104, 8);
FIELD(hftmon_cpu_stats, cpu, 0, 4);
FIELD(hftmon_cpu_stats, online, 4, 4);
FIELD(hftmon_cpu_stats, records, 8, 8);
FIELD(hftmon_cpu_stats, lost, 16, 64);
FIELD(hftmon_cpu_stats, bytes, 80, 8);
FIELD(hftmon_cpu_stats, reserved, 88, 16);

SIZE(hftmon_stats, 80, 8);
FIELD(hftmon_stats, size, 0, 4);
FIELD(hftmon_stats, nr_cpus, 4, 4);
FIELD(hftmon_stats, cpus_ptr, 8, 8);
FIELD(hftmon_stats, cpu_stats_size, 16, 8);
FIELD(hftmon_stats, nr_procs, 24, 4);
FIELD(hftmon_stats, running, 28, 4);
FIELD(hftmon_stats, start_ns, 32, 8);
FIELD(hftmon_stats, stop_ns, 40, 8);
FIELD(hftmon_stats, reserved, 48, 32);

SIZE(hftmon_rec_switch_stack, 56, 8);
FIELD(hftmon_rec_switch_stack, hdr, 0, 32);
FIELD(hftmon_rec_switch_stack, out_ns, 32, 8);
FIELD(hftmon_rec_switch_stack, in_ns, 40, 8);
FIELD(hftmon_rec_switch_stack, kstack_id, 48, 4);
FIELD(hftmon_rec_switch_stack, reserved, 52, 4);

SIZE(hftmon_rec_detach, 40, 8);
FIELD(hftmon_rec_detach, hdr, 0, 32);
FIELD(hftmon_rec_detach, reason, 32, 4);
FIELD(hftmon_rec_detach, reserved, 36, 4);

/* NUMA balancing (issue 9, item 3): faults, moves, swaps, sticks. */
SIZE(hftmon_rec_numa, 72, 8);
FIELD(hftmon_rec_numa, hdr, 0, 32);
FIELD(hftmon_rec_numa, kind, 32, 4);
FIELD(hftmon_rec_numa, pages, 36, 4);
FIELD(hftmon_rec_numa, src_cpu, 40, 4);
FIELD(hftmon_rec_numa, src_nid, 44, 4);
FIELD(hftmon_rec_numa, dst_cpu, 48, 4);
FIELD(hftmon_rec_numa, dst_nid, 52, 4);
FIELD(hftmon_rec_numa, other_pid, 56, 4);
FIELD(hftmon_rec_numa, other_tid, 60, 4);
FIELD(hftmon_rec_numa, addr, 64, 8);
_Static_assert(HFTMON_REC_NUMA_SIZE_V1 == 64 && HFTMON_NUMA_ACCESS == 5,
	       "NUMA record: first layout, ACCESS kind");
_Static_assert(HFTMON_REC_NUMA == 10 && HFTMON_NUMA_FAULT == 1 &&
	       HFTMON_NUMA_MOVE == 2 && HFTMON_NUMA_SWAP == 3 &&
	       HFTMON_NUMA_STICK == 4, "NUMA record type and kinds");
_Static_assert(HFTMON_NUMA_FAULT_LOCAL == 1 && HFTMON_NUMA_MIGRATED == 2 &&
	       HFTMON_NUMA_MIGRATE_FAIL == 4 && HFTMON_NUMA_SHARED == 8 &&
	       HFTMON_NUMA_NO_GROUP == 16 && HFTMON_NUMA_OTHER_TRACKED == 32,
	       "NUMA record flags");
_Static_assert(HFTMON_EV_NUMA == 1ULL << 10 &&
	       HFTMON_FEAT_NUMA_BALANCING == 1ULL << 14 &&
	       HFTMON_SRC_NUMA_BALANCING == 9, "NUMA event, feature, source row");
_Static_assert(HFTMON_FEAT_INHERIT == 1ULL << 20, "following children");

_Static_assert(offsetof(struct hftmon_rec_stack, ips) == 40, "hftmon_rec_stack.ips");
_Static_assert(HFTMON_IOC_GET_INFO == 0xc0f0b700u, "ioctl number of GET_INFO");
_Static_assert(HFTMON_IOC_CONFIGURE == 0xc048b701u, "ioctl number of CONFIGURE");
_Static_assert(HFTMON_IOC_ATTACH == 0x4020b702u, "ioctl number of ATTACH");
_Static_assert(HFTMON_IOC_DETACH == 0x4020b703u, "ioctl number of DETACH");
_Static_assert(HFTMON_IOC_START == 0xb704u, "ioctl number of START");
_Static_assert(HFTMON_IOC_STOP == 0xb705u, "ioctl number of STOP");
_Static_assert(HFTMON_IOC_GET_STATS == 0xc050b706u, "ioctl number of GET_STATS");
_Static_assert(HFTMON_IOC_SET_SPIKE_THRESHOLD == 0x4008b708u,
	       "ioctl number of SET_SPIKE_THRESHOLD");

_Static_assert(HFTMON_ABI_VERSION == 1, "ABI version");
_Static_assert(HFTMON_IOC_MAGIC == 0xB7, "ioctl magic");
_Static_assert(HFTMON_TASK_COMM_LEN == 16, "comm length");
_Static_assert(HFTMON_LOST_MAX == 8 && HFTMON_SRC_MAX == 32, "array bounds");

/* Record types and lost causes are numbers on the wire. */
_Static_assert(HFTMON_REC_PAD == 0 && HFTMON_REC_SWITCH == 1 &&
	       HFTMON_REC_WAKEUP == 2 && HFTMON_REC_MIGRATE == 3 &&
	       HFTMON_REC_EXIT == 4 && HFTMON_REC_FORK == 5 &&
	       HFTMON_REC_STACK == 11 && HFTMON_REC_DETACH == 12 &&
	       HFTMON_REC_SWITCH_STACK == 13 && HFTMON_REC_RUNQ == 14 &&
	       HFTMON_EV_RUNQ == 1ULL << 15 && HFTMON_FEAT_RUNQ == 1ULL << 19 &&
	       HFTMON_FEAT_KSTACK_MIN == 1ULL << 13,
	       "record types");
_Static_assert(HFTMON_LOST_RING_FULL == 0 && HFTMON_LOST_TOO_BIG == 1 &&
	       HFTMON_LOST_NO_SPACE == 2, "lost causes");

/* Flag bits. */
_Static_assert(HFTMON_SWITCH_PREV_TRACKED == 0x1 &&
	       HFTMON_SWITCH_NEXT_TRACKED == 0x2 &&
	       HFTMON_SWITCH_PREEMPT == 0x4 && HFTMON_SWITCH_VOLUNTARY == 0x8,
	       "switch flags");
_Static_assert(HFTMON_WAKEUP_NEW == 0x1, "wakeup flags");
_Static_assert(HFTMON_EXIT_GROUP_DEAD == 0x1, "exit flags");
_Static_assert(HFTMON_FORK_THREAD == 0x1 && HFTMON_FORK_FOLLOWED == 0x2 &&
	       HFTMON_FORK_FULL == 0x4 && HFTMON_FORK_NOMEM == 0x8,
	       "fork flags");
_Static_assert(HFTMON_DETACH_CREDS == 0x1 && HFTMON_DETACH_NONDUMPABLE == 0x2,
	       "detach reasons");
_Static_assert(HFTMON_STACK_USER == 0x1 && HFTMON_STACK_TRUNCATED == 0x2,
	       "stack flags");
_Static_assert(HFTMON_ATTACH_KSTACK == 0x4 && HFTMON_ATTACH_USTACK == 0x8 &&
	       HFTMON_ATTACH_INHERIT == 0x10 &&
	       HFTMON_ATTACH_KNOWN_FLAGS == 0x1f, "attach flags");
_Static_assert(HFTMON_EV_SWITCH == 0x1 && HFTMON_EV_WAKEUP == 0x2 &&
	       HFTMON_EV_MIGRATE == 0x4 && HFTMON_EV_EXIT == 0x8 &&
	       HFTMON_EV_FORK == 0x10, "event bits");

static _Alignas(8) unsigned char buf[256];

static const struct {
	unsigned int type, size;
} produced[] = {
	{ 1, 96 },	/* SWITCH */
	{ 2, 48 },	/* WAKEUP */
	{ 3, 48 },	/* MIGRATE */
	{ 4, 56 },	/* EXIT */
	{ 5, 56 },	/* FORK */
	{ 11, 40 },	/* STACK with no frames */
	{ 12, 40 },	/* DETACH */
};

static void record_sizes(void **state)
{
	struct hftmon_rec_hdr *h = (void *)buf;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(produced) / sizeof(produced[0]); i++) {
		memset(buf, 0, sizeof(buf));
		h->type = (__u16)produced[i].type;
		h->size = (__u16)produced[i].size;
		assert_int_equal(hftmon_record_check(h, sizeof(buf)), 0);
		h->size = (__u16)(produced[i].size - 8);
		assert_int_equal(hftmon_record_check(h, sizeof(buf)), -EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
