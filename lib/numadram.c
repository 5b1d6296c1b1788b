// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Local and remote memory accesses counted by the PMU, beside the NUMA
 * hinting faults' samples in hftmon_get_numa_stats() (issue 9 item 4),
 * and why per-node memory bandwidth is not there.
 *
 * Which events say "served by DRAM on the CPU's node" and "on another"
 * is vendor knowledge: the table below, in order, each pair resolved by
 * libpfm4 for the running machine's PMU (hftmon_pmu_event_parse()). The
 * caller adds the pair to its pmu_counters (hftmon_numa_dram_counters());
 * at configure the library finds them among the configured counters, so
 * the NUMA statistics sum them over the same threads and time range as
 * the hinting faults. Nothing here guesses: a machine whose PMU has no
 * such pair (every VM: no CPU PMU), or a session that does not count it,
 * gets a status and a sentence, never a number.
 *
 * Bandwidth per node is numabw.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "handle.h"
#include "pmu.h"

static const struct dram_pair {
	const char *local, *remote;
} dram_pairs[] = {
	/* Intel server cores since Skylake-SP (skx, icx, spr...): loads */
	{ "MEM_LOAD_L3_MISS_RETIRED:LOCAL_DRAM",
	  "MEM_LOAD_L3_MISS_RETIRED:REMOTE_DRAM" },
	/* AMD Zen 4: data cache fills from DRAM or I/O, near or far */
	{ "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:DRAM_IO_NEAR",
	  "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:DRAM_IO_FAR" },
	/* AMD Zen 3: the same, named local and remote */
	{ "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_LCL",
	  "ANY_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_RMT" },
};

#define NR_PAIRS (sizeof(dram_pairs) / sizeof(dram_pairs[0]))

/* The first pair this machine's PMU has: its index, or -errno. */
static int dram_resolve(struct hftmon_pmu_counter c[2])
{
	size_t i;
	int err = -ENOENT;

	for (i = 0; i < NR_PAIRS; i++) {
		c[0].sz = c[1].sz = sizeof(c[0]);
		err = hftmon_pmu_event_parse(NULL, dram_pairs[i].local, &c[0]);
		if (!err)
			err = hftmon_pmu_event_parse(NULL, dram_pairs[i].remote,
						     &c[1]);
		if (!err)
			return (int)i;
		if (err != -ENOENT && err != -EINVAL)
			return err; /* no libpfm4: no other pair resolves */
	}
	return -ENOENT;
}

static const char no_pair[] =
	"this machine's PMU has no local/remote DRAM event (none of Intel's MEM_LOAD_L3_MISS_RETIRED:LOCAL_DRAM/REMOTE_DRAM, AMD's ANY_DATA_CACHE_FILLS_FROM_SYSTEM)";

HFTMON_API int hftmon_numa_dram_counters(struct hftmon *m,
					 struct hftmon_pmu_counter *out,
					 size_t max)
{
	struct hftmon_pmu_counter c[2];
	int i;

	if (!out || max < 2 ||
	    out[0].sz < hftmon_offsetofend(struct hftmon_pmu_counter, config))
		return -EINVAL;
	i = dram_resolve(c);
	if (i < 0) {
		if (m)
			pr_err(m, "NUMA DRAM counters: %s",
			       i == -ENOENT ? no_pair :
					      "libpfm4 (libpfm.so.4) is not installed: no vendor event names");
		return i;
	}
	hftmon_put_out(out, out[0].sz, 0, &c[0], sizeof(c[0]));
	hftmon_put_out(out, out[0].sz, 1, &c[1], sizeof(c[1]));
	return 2;
}

void hftmon_numa_dram_setup(struct hftmon *m, const struct hftmon_pmu_event *pmu,
			    unsigned int nr)
{
	struct hftmon_numa_dram *d = &m->dram;
	struct hftmon_pmu_counter c[2];
	unsigned int k;
	int i, j;

	memset(d, 0, sizeof(*d));
	d->idx[0] = d->idx[1] = -1;
	i = dram_resolve(c);
	if (i < 0) {
		d->status = i;
		snprintf(d->why, sizeof(d->why), "%s",
			 i == -ENOENT ? no_pair :
					"libpfm4 (libpfm.so.4) is not installed: no vendor event names");
		return;
	}
	snprintf(d->events[0], sizeof(d->events[0]), "%s", dram_pairs[i].local);
	snprintf(d->events[1], sizeof(d->events[1]), "%s", dram_pairs[i].remote);
	for (j = 0; j < 2; j++)
		for (k = 0; k < nr && d->idx[j] < 0; k++)
			if (pmu[k].type == c[j].type && pmu[k].config == c[j].config)
				d->idx[j] = (int)k;
	if (d->idx[0] < 0 || d->idx[1] < 0) {
		d->idx[0] = d->idx[1] = -1;
		d->status = -ENODATA;
		snprintf(d->why, sizeof(d->why), "%s",
			 "not counted: the session was configured without hftmon_numa_dram_counters()'s pair in pmu_counters");
	}
}

void hftmon_numa_dram_stats(struct hftmon *m,
			    const struct hftmon_pmu_query *q,
			    struct hftmon_numa_stats *o)
{
	const struct hftmon_numa_dram *d = &m->dram;
	struct hftmon_pmu_metric *mt[2] = { &o->dram_local, &o->dram_remote };
	int j;

	o->dram_complete = true;
	memcpy(o->dram_events, d->events, sizeof(o->dram_events));
	hftmon_numa_bw_stats(m, o);
	for (j = 0; j < 2; j++) {
		if (d->idx[j] < 0) {
			mt[j]->state = HFTMON_PMU_UNSUPPORTED;
			mt[j]->status = d->status;
			continue;
		}
		if (!hftmon_pmu_sum(m, q, (unsigned int)d->idx[j], mt[j]))
			o->dram_complete = false;
	}
	snprintf(o->dram_why, sizeof(o->dram_why), "%s", d->why);
}
