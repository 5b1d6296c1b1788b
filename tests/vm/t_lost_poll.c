// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing is lost silently: with a one-page ring and nobody draining, a
 * ping-pong overflows it; every record not written must be counted as
 * lost (ring full), the seq gaps the library sees must add up to exactly
 * that, and written + lost must equal the records the kernel attempted
 * (its next_seq). Then poll(): a reader waiting on an idle session times
 * out, and wakes once the rings fill past the watermark.
 */
#define _GNU_SOURCE
#include <unistd.h>

#include <hftmon.h>

#include "../../tools/workload/pingpong.h"
#include "vmtest.h"

static int count(void *ctx, const struct hftmon_rec_hdr *h)
{
	(void)h;
	++*(long *)ctx;
	return 0;
}

static void test_lost(void)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 1 };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct hftmon_cpu_stats cs[2];
	struct pingpong pp;
	struct hftmon *m;
	long seen = 0;
	uint64_t lost = 0, written = 0;
	int i;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(pingpong_spawn(&pp, PINGPONG_PROCESSES, 3000, 0) == 0, "spawn");
	REQUIRE(hftmon_attach_process(m, pp.pid[0], NULL) == 0, "attach");
	REQUIRE(hftmon_attach_process(m, pp.pid[1], NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	REQUIRE(pingpong_go(&pp) == 0 && pingpong_wait_done(&pp) == 0, "run");
	REQUIRE(hftmon_stop(m) == 0, "stop");
	CHECK(hftmon_drain(m, count, &seen) >= 0, "drain");
	REQUIRE(hftmon_get_stats(m, &sum, cs, 2) == 2, "stats");
	for (i = 0; i < 2; i++) {
		written += cs[i].records;
		lost += cs[i].lost[HFTMON_LOST_RING_FULL];
	}
	INFO("written %llu, lost %llu (ring full), delivered %ld, seq gaps %llu",
	     (unsigned long long)written, (unsigned long long)lost, seen,
	     (unsigned long long)sum.seq_gaps);
	CHECK(lost > 0, "a 4 KiB ring cannot hold 3000 round trips");
	CHECK(sum.lost[HFTMON_LOST_RING_FULL] == lost, "summary lost");
	CHECK((uint64_t)seen == written, "delivered %ld of %llu written", seen,
	      (unsigned long long)written);
	/* The first lost records may precede the first one read: seq from 0. */
	CHECK(sum.seq_gaps == lost, "seq gaps %llu != lost %llu",
	      (unsigned long long)sum.seq_gaps, (unsigned long long)lost);
	CHECK(pingpong_finish(&pp) == 0, "workload");
	hftmon_close(m);
}

static void test_poll(void)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 4 };
	struct pingpong pp;
	struct hftmon *m;
	long seen = 0;
	int r;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(pingpong_spawn(&pp, PINGPONG_PROCESSES, 2000, 0) == 0, "spawn");
	REQUIRE(hftmon_attach_process(m, pp.pid[0], NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	usleep(100000);
	CHECK(hftmon_drain(m, count, &seen) >= 0, "drain");
	r = hftmon_wait(m, 200);
	CHECK(r == 0, "idle session: wait returned %d, want timeout", r);
	REQUIRE(pingpong_go(&pp) == 0, "go");
	r = hftmon_wait(m, 10000);
	CHECK(r == 1, "busy session: wait returned %d, want ready", r);
	REQUIRE(pingpong_wait_done(&pp) == 0, "done");
	REQUIRE(hftmon_stop(m) == 0, "stop");
	CHECK(pingpong_finish(&pp) == 0, "workload");
	hftmon_close(m);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_lost();
	test_poll();
	return vmtest_result();
}
