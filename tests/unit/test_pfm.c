// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * PMU events by name (lib/pfm.c): libpfm4's tables for a PMU model this
 * host does not have, forced with LIBPFM_FORCE_PMU, give the raw
 * encodings of the false-sharing and local/remote DRAM events for Intel
 * Ice Lake server (icx), Sapphire Rapids (spr) and AMD Zen 3. The
 * expected event code and unit mask of each come from the kernel's own
 * perf vendor tables, not from libpfm4: linux-source-6.1's
 * tools/perf/pmu-events/arch/x86/ (icelakex, sapphirerapids, amdzen3),
 * (EventCode, UMask; an Intel raw config is umask << 8 | event, an AMD
 * one the same below 4096). The generic events map to perf's own types;
 * bad names are errors, never a guessed encoding.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "handle.h"
#include "hftmon.h"

struct want {
	const char *name;
	uint64_t config;	/* PERF_TYPE_RAW */
};

static void force(const char *pmu)
{
	setenv("LIBPFM_FORCE_PMU", pmu, 1);
	hftmon_pfm_reset();
}

static void expect_raw(const struct want *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct hftmon_pmu_counter c = { .sz = sizeof(c) };
		int err = hftmon_pmu_event_parse(NULL, w[i].name, &c);

		if (err || c.type != PERF_TYPE_RAW || c.config != w[i].config)
			fail_msg("%s: err %d type %u config %#llx, want raw %#llx",
				 w[i].name, err, c.type,
				 (unsigned long long)c.config,
				 (unsigned long long)w[i].config);
	}
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("LIBPFM_FORCE_PMU");
	hftmon_pfm_reset();
	return 0;
}

static void test_intel_icx(void **state)
{
	static const struct want w[] = {
		/* false sharing: a load hit in L3 with a forward (HITM) */
		{ "icx::MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", 0x04d2 },
		{ "icx::MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM", 0x04d3 },
		{ "icx::MACHINE_CLEARS:MEMORY_ORDERING", 0x02c3 },
		/* local vs remote DRAM (issue 9) */
		{ "icx::MEM_LOAD_L3_MISS_RETIRED:LOCAL_DRAM", 0x01d3 },
		{ "icx::MEM_LOAD_L3_MISS_RETIRED:REMOTE_DRAM", 0x02d3 },
	};

	(void)state;
	force("icx");
	expect_raw(w, sizeof(w) / sizeof(w[0]));
}

static void test_intel_spr(void **state)
{
	static const struct want w[] = {
		{ "spr::MEM_LOAD_L3_HIT_RETIRED:XSNP_FWD", 0x04d2 },
		{ "spr::MEM_LOAD_L3_MISS_RETIRED:REMOTE_HITM", 0x04d3 },
		{ "spr::MACHINE_CLEARS:MEMORY_ORDERING", 0x02c3 },
	};

	(void)state;
	force("spr");
	expect_raw(w, sizeof(w) / sizeof(w[0]));
}

static void test_amd_zen3(void **state)
{
	static const struct want w[] = {
		/* data cache fills from another CCX's cache, remote DRAM */
		{ "amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:EXT_CACHE_RMT",
		  0x1044 },
		{ "amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_RMT",
		  0x4044 },
		{ "amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_LCL",
		  0x0844 },
	};
	struct hftmon_pmu_counter c = { .sz = sizeof(c) };

	(void)state;
	force("amd64_fam19h_zen3");
	expect_raw(w, sizeof(w) / sizeof(w[0]));
	/* This event needs a unit mask: an error, not all of them. */
	assert_int_equal(hftmon_pmu_event_parse(NULL,
		"amd64_fam19h_zen3::ANY_DATA_CACHE_FILLS_FROM_SYSTEM", &c),
		-EINVAL);
}

/*
 * The cache table's vendor events (lib/cache.c) by their hftmon names,
 * for one model of each vendor: the first of each one's libpfm4 names
 * that the forced PMU knows. Zen 4 calls Zen 3's other-CCX fills
 * NEAR_CACHE_NEAR_FAR and FAR_CACHE_NEAR_FAR (umasks 0x04, 0x10: the
 * kernel's amdzen4 ls_any_fills_from_sys.{near,far}_cache). Zen 3's
 * l2-misses is l2_cache_req_stat.ls_rd_blk_c (amdzen3 cache.json:
 * EventCode 0x64, UMask 0x08). Each force unloads libpfm4
 * (hftmon_pfm_reset()), so a model's names are its own: another
 * vendor's event is absent.
 */
static void expect_table(const char *const *names, const uint64_t *config,
			 size_t n)
{
	struct hftmon_pmu_counter c = { .sz = sizeof(c) };
	size_t i;

	for (i = 0; i < n; i++) {
		int err = hftmon_cache_counters(NULL, &names[i], 1, &c, 1);

		if (err != 1 || c.type != PERF_TYPE_RAW || c.config != config[i])
			fail_msg("%s: %d type %u config %#llx, want raw %#llx",
				 names[i], err, c.type,
				 (unsigned long long)c.config,
				 (unsigned long long)config[i]);
	}
}

static void test_cache_table(void **state)
{
	static const char *const intel[] = { "xsnp-hitm", "remote-hitm",
					     "memory-ordering-clears",
					     "l2-accesses", "l2-misses" };
	static const uint64_t icx[] = { 0x04d2, 0x04d3, 0x02c3, 0xe724,
					0x2724 };
	static const char *const amd[] = { "other-ccx-fills", "l2-misses" };
	static const uint64_t zen[] = { 0x1444, 0x0864 };
	struct hftmon_pmu_counter c = { .sz = sizeof(c) };

	(void)state;
	force("icx");
	expect_table(intel, icx, 5);
	force("spr");
	expect_table(intel, icx, 1); /* XSNP_FWD, the same encoding */
	force("amd64_fam19h_zen3");
	expect_table(amd, zen, 2);
	/* After icx and spr: Intel's names are not Zen 3's. */
	assert_int_equal(hftmon_pmu_event_parse(NULL,
		"MEM_LOAD_L3_HIT_RETIRED:XSNP_HITM", &c), -ENOENT);
	force("amd64_fam19h_zen4");
	expect_table(amd, zen, 1);
}

static void saw_event(void *ctx, const char *pmu, const char *event,
		      const char *desc)
{
	int *seen = ctx;

	(void)desc;
	if (!strcmp(pmu, "icx") &&
	    !strcmp(event, "MEM_LOAD_L3_HIT_RETIRED"))
		(*seen)++;
}

/* The core PMUs libpfm4 finds (here: the one forced) and their events. */
static void test_pmu_list(void **state)
{
	struct hftmon_pmu_desc d[8] = { [0].sz = sizeof(d[0]) };
	int n, i, found = -1, seen = 0;

	(void)state;
	force("icx");
	n = hftmon_pmu_list(NULL, d, 8, saw_event, &seen);
	assert_true(n >= 1);
	for (i = 0; i < n && i < 8; i++)
		if (!strcmp(d[i].name, "icx"))
			found = i;
	if (found < 0)
		fail_msg("libpfm4 lists no icx PMU with icx forced");
	/* libpfm4's table's counts (how many the kernel lets a task use, SMT
	 * and the NMI watchdog considered, is another matter) */
	assert_true(d[found].nr_counters >= 4);
	assert_true(d[found].nr_fixed_counters >= 3);
	assert_true(d[found].nr_events > 10);
	assert_int_equal(seen, 1);
	assert_int_equal(hftmon_pmu_list(NULL, NULL, 0, NULL, NULL), n);
	d[0].sz = 4;
	assert_int_equal(hftmon_pmu_list(NULL, d, 1, NULL, NULL), -EINVAL);
}

static void test_generic_and_errors(void **state)
{
	struct hftmon_pmu_counter c = { .sz = sizeof(c) };

	(void)state;
	/* perf's own PMUs: this host's libpfm4 as it is, nothing forced. */
	unsetenv("LIBPFM_FORCE_PMU");
	hftmon_pfm_reset();
	assert_int_equal(hftmon_pmu_event_parse(NULL, "instructions", &c), 0);
	assert_int_equal(c.type, PERF_TYPE_HARDWARE);
	assert_int_equal(c.config, PERF_COUNT_HW_INSTRUCTIONS);
	assert_int_equal(hftmon_pmu_event_parse(NULL,
				"PERF_COUNT_SW_PAGE_FAULTS", &c), 0);
	assert_int_equal(c.type, PERF_TYPE_SOFTWARE);
	assert_int_equal(c.config, PERF_COUNT_SW_PAGE_FAULTS);

	c.type = 77;
	c.config = 77;
	assert_int_equal(hftmon_pmu_event_parse(NULL, "NO_SUCH_EVENT", &c),
			 -ENOENT);
	force("icx");
	assert_int_equal(hftmon_pmu_event_parse(NULL,
				"icx::MACHINE_CLEARS:NO_SUCH_UMASK", &c),
			 -EINVAL);
	/* OFFCORE_RESPONSE needs its MSR (config1): not programmed, said. */
	assert_int_equal(hftmon_pmu_event_parse(NULL,
			"icx::OCR:READS_TO_CORE_REMOTE_MEMORY", &c), -EOPNOTSUPP);
	/* Nothing was written by the failures. */
	assert_int_equal(c.type, 77);
	assert_int_equal(c.config, 77);
	assert_int_equal(hftmon_pmu_event_parse(NULL, "", &c), -EINVAL);
	assert_int_equal(hftmon_pmu_event_parse(NULL, NULL, &c), -EINVAL);
	assert_int_equal(hftmon_pmu_event_parse(NULL, "instructions", NULL),
			 -EINVAL);
	c.sz = 4;
	assert_int_equal(hftmon_pmu_event_parse(NULL, "instructions", &c),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_intel_icx, teardown),
		cmocka_unit_test_teardown(test_intel_spr, teardown),
		cmocka_unit_test_teardown(test_amd_zen3, teardown),
		cmocka_unit_test_teardown(test_cache_table, teardown),
		cmocka_unit_test_teardown(test_pmu_list, teardown),
		cmocka_unit_test_teardown(test_generic_and_errors, teardown),
	};

	return cmocka_run_group_tests_name("pfm", tests, NULL, NULL);
}
