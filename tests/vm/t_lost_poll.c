// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing is lost silently, proven from sources that move apart when a
 * record goes missing: with a one-page ring and nobody draining, a
 * ping-pong overflows it, and per CPU
 *  - the records the library delivered plus the kernel's lost counters
 *    equal the ring's next_seq, read from its control page (mapped by
 *    the library; found through /proc/self/maps);
 *  - the seq of the records delivered run continuously from 0 to
 *    next_seq except at gaps that add up to exactly those lost counters;
 *  - delivered equals the kernel's own count of records written;
 * and the SWITCH records of the ping-pong's tasks plus everything lost
 * cover the kernel's voluntary + nonvoluntary_ctxt_switches deltas of
 * those tasks; the same run with rings that lose nothing must deliver
 * at least as many SWITCH records as those deltas (a switch never
 * recorded and never counted shows there).
 *
 * Then poll(), on the raw device with a known watermark (wakeup_bytes):
 * while less than the watermark is pending in every ring poll() must not
 * report readable, and once a ring holds that much it must; a blocking
 * poll() returns only with a ring past it. Pending bytes are read off
 * the control pages (data_head - data_tail). And the library's
 * hftmon_wait() times out on an idle session and wakes on a busy one.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hftmon.h>

#include "../../tools/workload/pingpong.h"
#include "vmtest.h"

#define MAX_CPUS	64

static int count(void *ctx, const struct hftmon_rec_hdr *h)
{
	(void)h;
	++*(long *)ctx;
	return 0;
}

/* ---- loss ---------------------------------------------------------------- */

struct seen {
	pid_t tid[2];
	uint64_t delivered[MAX_CPUS];
	uint64_t expect_seq[MAX_CPUS];	/* seq the next record should carry */
	uint64_t gaps[MAX_CPUS];
	long backwards, bad_cpu;
	long switch_outs;		/* SWITCH records with prev a task */
};

static int on_record(void *ctx, const struct hftmon_rec_hdr *h)
{
	struct seen *s = ctx;

	if (h->cpu >= MAX_CPUS) {
		s->bad_cpu++;
		return 0;
	}
	s->delivered[h->cpu]++;
	if (h->seq < s->expect_seq[h->cpu])
		s->backwards++;
	else
		s->gaps[h->cpu] += h->seq - s->expect_seq[h->cpu];
	s->expect_seq[h->cpu] = h->seq + 1;
	if (h->type == HFTMON_REC_SWITCH &&
	    (h->tid == s->tid[0] || h->tid == s->tid[1]))
		s->switch_outs++;
	return 0;
}

/*
 * The control pages of the rings this process has mapped from
 * /dev/hftmon (the library's): ctrl[cpu], NULL where none is mapped.
 */
static int find_ctrl_pages(const struct hftmon_ring_ctrl **ctrl, int max)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		const struct hftmon_ring_ctrl *c;

		if (!strstr(line, "/dev/hftmon") ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		c = (const void *)lo;
		if (c->version == HFTMON_ABI_VERSION && (int)c->cpu < max &&
		    !ctrl[c->cpu]) {
			ctrl[c->cpu] = c;
			n++;
		}
	}
	fclose(f);
	return n;
}

/*
 * pages 1: the ring overflows; pages 1024: it holds everything. (3000
 * round trips are about 12000 records, some 0.95 MiB on one CPU: 256
 * pages held them on the generic kernels but not on 6.1-rt, whose extra
 * switches pushed the ring over.)
 */
static void test_lost(unsigned int pages)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg),
					     .ring_pages = pages };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	const struct hftmon_ring_ctrl *ctrl[MAX_CPUS] = { 0 };
	struct hftmon_cpu_stats cs[MAX_CPUS];
	long v0[2], i0[2], v1[2], i1[2], proc_switches = 0;
	uint64_t lost_total = 0;
	static struct seen s;
	const int lossy = pages == 1;
	struct pingpong pp;
	struct hftmon *m;
	int i, n, c, nctrl;

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(pingpong_spawn(&pp, PINGPONG_PROCESSES, 3000, 0) == 0, "spawn");
	REQUIRE(hftmon_attach_process(m, pp.pid[0], NULL) == 0, "attach");
	REQUIRE(hftmon_attach_process(m, pp.pid[1], NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	usleep(200000);		/* both blocked on "go" */
	for (i = 0; i < 2; i++)
		REQUIRE(proc_ctxt(pp.pid[i], pp.tid[i], &v0[i], &i0[i]) == 0,
			"/proc before");
	REQUIRE(pingpong_go(&pp) == 0 && pingpong_wait_done(&pp) == 0, "run");
	usleep(200000);		/* both blocked on "exit" */
	for (i = 0; i < 2; i++) {
		REQUIRE(proc_ctxt(pp.pid[i], pp.tid[i], &v1[i], &i1[i]) == 0,
			"/proc after");
		proc_switches += v1[i] - v0[i] + i1[i] - i0[i];
	}
	REQUIRE(hftmon_stop(m) == 0, "stop");
	memset(&s, 0, sizeof(s));
	s.tid[0] = pp.tid[0];
	s.tid[1] = pp.tid[1];
	CHECK(hftmon_drain(m, on_record, &s) >= 0, "drain");
	n = hftmon_get_stats(m, &sum, cs, MAX_CPUS);
	REQUIRE(n > 0, "stats: %d", n);
	nctrl = find_ctrl_pages(ctrl, MAX_CPUS);
	REQUIRE(nctrl > 0, "no /dev/hftmon ring mapped in /proc/self/maps (%d)",
		nctrl);
	CHECK(s.backwards == 0 && s.bad_cpu == 0,
	      "%ld records with seq going backwards, %ld with a bad cpu",
	      s.backwards, s.bad_cpu);
	for (i = 0; i < n; i++) {
		uint64_t lost = 0, next_seq;

		c = (int)cs[i].cpu;
		REQUIRE(c < MAX_CPUS, "cpu %d", c);
		for (int k = 0; k < HFTMON_LOST_MAX; k++)
			lost += cs[i].lost[k];
		lost_total += lost;
		if (!ctrl[c]) {
			CHECK(s.delivered[c] == 0 && lost == 0,
			      "cpu %d has records but no mapped ring", c);
			continue;
		}
		next_seq = atomic_load_explicit(
			(_Atomic const uint64_t *)&ctrl[c]->next_seq,
			memory_order_acquire);
		/* The seq not yet reached after the last record read. */
		s.gaps[c] += next_seq - s.expect_seq[c];
		INFO("cpu %d: delivered %llu, lost %llu, next_seq %llu, seq gaps %llu, written (kernel) %llu",
		     c, (unsigned long long)s.delivered[c],
		     (unsigned long long)lost, (unsigned long long)next_seq,
		     (unsigned long long)s.gaps[c],
		     (unsigned long long)cs[i].records);
		CHECK(s.delivered[c] + lost == next_seq,
		      "cpu %d: delivered %llu + lost %llu != next_seq %llu", c,
		      (unsigned long long)s.delivered[c],
		      (unsigned long long)lost, (unsigned long long)next_seq);
		CHECK(s.gaps[c] == lost, "cpu %d: seq gaps %llu, lost %llu", c,
		      (unsigned long long)s.gaps[c], (unsigned long long)lost);
		CHECK(s.delivered[c] == cs[i].records,
		      "cpu %d: delivered %llu, kernel wrote %llu", c,
		      (unsigned long long)s.delivered[c],
		      (unsigned long long)cs[i].records);
	}
	INFO("%u-page rings: ping-pong /proc %ld switches; %ld SWITCH records of its tasks delivered, %llu records lost in all",
	     pages, proc_switches, s.switch_outs, (unsigned long long)lost_total);
	if (lossy)
		CHECK(lost_total > 0, "a 4 KiB ring cannot hold 3000 round trips");
	else
		CHECK(lost_total == 0, "%llu lost from 4 MiB rings",
		      (unsigned long long)lost_total);
	CHECK(sum.lost[HFTMON_LOST_RING_FULL] == lost_total,
	      "summary: %llu lost to a full ring, per CPU %llu in all",
	      (unsigned long long)sum.lost[HFTMON_LOST_RING_FULL],
	      (unsigned long long)lost_total);
	/*
	 * Each switch is a record, delivered or lost: none vanishes. Lost
	 * counts every type, so this bound is tight only without loss.
	 */
	CHECK(s.switch_outs + (long)lost_total >= proc_switches,
	      "%ld SWITCH records + %llu lost < %ld switches in /proc",
	      s.switch_outs, (unsigned long long)lost_total, proc_switches);
	/*
	 * And no switch is invented: at most one more per task than /proc
	 * counted between its snapshots, the one that blocked it on "go"
	 * if that came after START but before the first snapshot (seen on
	 * 6.12 under load: 6005 records for 6004).
	 */
	CHECK(s.switch_outs <= proc_switches + 2,
	      "%ld SWITCH records for %ld switches in /proc", s.switch_outs,
	      proc_switches);
	CHECK(pingpong_finish(&pp) == 0, "workload");
	hftmon_close(m);
}

/* ---- poll() and its watermark, on the raw device ------------------------ */

#define WM_PAGES	4
#define WM_BYTES	4096

struct raw {
	int fd, ncpu;
	size_t map_size;
	struct hftmon_ring_ctrl *ctrl[MAX_CPUS];
};

/* The most any ring has pending, from its control page. */
static uint64_t max_pending(const struct raw *r)
{
	uint64_t most = 0;
	int c;

	for (c = 0; c < r->ncpu; c++) {
		uint64_t head, tail;

		if (!r->ctrl[c])
			continue;
		head = atomic_load_explicit((_Atomic uint64_t *)&r->ctrl[c]->data_head,
					    memory_order_acquire);
		tail = atomic_load_explicit((_Atomic uint64_t *)&r->ctrl[c]->data_tail,
					    memory_order_relaxed);
		if (head - tail > most)
			most = head - tail;
	}
	return most;
}

/* The reader's side of the contract: everything read, tail = head. */
static void consume_all(struct raw *r)
{
	int c;

	for (c = 0; c < r->ncpu; c++) {
		uint64_t head;

		if (!r->ctrl[c])
			continue;
		head = atomic_load_explicit((_Atomic uint64_t *)&r->ctrl[c]->data_head,
					    memory_order_acquire);
		atomic_store_explicit((_Atomic uint64_t *)&r->ctrl[c]->data_tail,
				      head, memory_order_release);
	}
}

static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, timeout_ms);

	return r < 0 ? -errno : r > 0 && (p.revents & POLLIN);
}

static atomic_int producer_stop;

/* A tracked thread whose every sleep makes a few records. */
static void *producer(void *arg)
{
	(void)arg;
	while (!atomic_load(&producer_stop))
		usleep(500);
	return NULL;
}

static void test_watermark(void)
{
	struct hftmon_config cfg = { .size = sizeof(cfg), .ring_pages = WM_PAGES,
				     .wakeup_bytes = WM_BYTES };
	struct hftmon_attach at = { .size = sizeof(at), .pid = getpid() };
	struct hftmon_info info = { .size = sizeof(info) };
	long below = 0, above = 0, steps = 0;
	struct raw r = { 0 };
	pthread_t th;
	uint64_t h1, h2;
	int c, rd;

	r.fd = open(HFTMON_DEVICE, O_RDWR | O_CLOEXEC);
	REQUIRE(r.fd >= 0, "open %s: %s", HFTMON_DEVICE, strerror(errno));
	REQUIRE(ioctl(r.fd, HFTMON_IOC_GET_INFO, &info) == 0, "GET_INFO: %s",
		strerror(errno));
	REQUIRE(ioctl(r.fd, HFTMON_IOC_CONFIGURE, &cfg) == 0, "CONFIGURE: %s",
		strerror(errno));
	REQUIRE(cfg.wakeup_bytes == WM_BYTES, "wakeup_bytes became %u",
		cfg.wakeup_bytes);
	r.map_size = cfg.ring_mmap_size;
	r.ncpu = info.nr_cpu_ids < MAX_CPUS ? (int)info.nr_cpu_ids : MAX_CPUS;
	for (c = 0; c < r.ncpu; c++) {
		void *p = mmap(NULL, r.map_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       r.fd, (off_t)c * (off_t)r.map_size);

		if (p != MAP_FAILED)
			r.ctrl[c] = p;
	}
	REQUIRE(ioctl(r.fd, HFTMON_IOC_ATTACH, &at) == 0, "ATTACH self: %s",
		strerror(errno));
	REQUIRE(ioctl(r.fd, HFTMON_IOC_START) == 0, "START: %s", strerror(errno));

	/*
	 * Our own sleeps fill the rings a few hundred bytes at a time. Around
	 * each poll(0): pending never shrinks (nobody consumes), so "not
	 * readable" means every ring was below the watermark at the call, h1
	 * included, and "readable" means one had reached it, h2 included.
	 */
	while (steps++ < 1000) {
		usleep(200);
		h1 = max_pending(&r);
		rd = readable(r.fd, 0);
		h2 = max_pending(&r);
		REQUIRE(rd >= 0, "poll: %d", rd);
		if (rd)
			CHECK(h2 >= WM_BYTES,
			      "poll() readable with %llu bytes pending, watermark %d",
			      (unsigned long long)h2, WM_BYTES);
		else
			CHECK(h1 < WM_BYTES,
			      "poll() not readable with %llu bytes pending, watermark %d",
			      (unsigned long long)h1, WM_BYTES);
		below += h2 > 0 && h2 < WM_BYTES && !rd;
		if (h1 >= WM_BYTES && ++above >= 3)
			break;
	}
	INFO("poll(0): %ld steps with 0 < pending < %d, %ld past it", below,
	     WM_BYTES, above);
	CHECK(below > 0, "never polled with some data below the watermark");
	CHECK(above > 0, "the rings never reached the watermark");

	/* A blocking poll() returns once, and only once, a ring is past it. */
	consume_all(&r);
	REQUIRE(max_pending(&r) < WM_BYTES, "pending after consuming");
	REQUIRE(pthread_create(&th, NULL, producer, NULL) == 0, "thread");
	rd = readable(r.fd, 20000);
	h2 = max_pending(&r);
	atomic_store(&producer_stop, 1);
	pthread_join(th, NULL);
	INFO("blocking poll(): %d with %llu bytes pending", rd,
	     (unsigned long long)h2);
	CHECK(rd == 1, "blocking poll() returned %d, want readable", rd);
	CHECK(h2 >= WM_BYTES, "blocking poll() returned with %llu bytes pending, watermark %d",
	      (unsigned long long)h2, WM_BYTES);

	REQUIRE(ioctl(r.fd, HFTMON_IOC_STOP) == 0, "STOP");
	/* Stopped: any data at all is readable (the last drain). */
	CHECK(readable(r.fd, 0) == 1, "stopped with data: not readable");
	for (c = 0; c < r.ncpu; c++)
		if (r.ctrl[c])
			munmap(r.ctrl[c], r.map_size);
	close(r.fd);
}

static void test_wait(void)
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
	test_lost(1);
	test_lost(1024);
	test_watermark();
	test_wait();
	return vmtest_result();
}
