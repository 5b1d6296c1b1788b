// SPDX-License-Identifier: GPL-2.0
/*
 * The library's interruption aggregation (hftmon_get_irq_stats()) against
 * the kernel's own counters and /proc, by t_irq.c's method (irqproc.h):
 * a session configured through the library records every CPU system-wide
 * (irq_cpus) while the same workload runs; /proc/interrupts and
 * /proc/softirqs are read per CPU inside it between two stamps, and
 * around it. Drained through hftmon_drain() (whose callback keeps the
 * records for the bracket), for every row and CPU:
 * - the library's count and net sum equal the kernel's per-CPU counters
 *   (HFTMON_IOC_GET_IRQ_STATS on the library's own descriptor) exactly,
 *   and the records' own;
 * - the /proc delta inside the session lies in [decided, decided +
 *   undecided] of the records, and the delta around the session is at
 *   least the library's count;
 * - the library's rows are sorted, name the vectors as /proc does, and a
 *   softirq's raise-to-run delays are counted.
 * Then explain: a tracked spinner on CPU 1, a 200 us busy loop injected
 * there in a device IRQ handler; the window this test measures itself
 * around the write() that asked for it, explained for the spinner, has
 * parts that sum to it, a part for that IRQ (named, on CPU 1) holding at
 * least the part of the loop (the injector's own stamps) inside the
 * window, and that IRQ is its largest disturbance (the spinner's own RUN
 * aside: on a loaded TCG host the write() itself takes milliseconds).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <hftmon.h>

#include "vmtest.h"
#include "irqproc.h"

#define MAX_LIB_ROWS 2048

static struct hftmon *m;
static int fd = -1;	/* the library's descriptor (for the kernel's counters) */
static struct hftmon_irq_row rows[MAX_LIB_ROWS];
static int nrows;

/* The descriptor the library opened: the one /proc/self/fd has on the node. */
static int find_fd(void)
{
	char path[300], target[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int found = -1;

	REQUIRE(d, "opendir /proc/self/fd");
	while ((de = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, HFTMON_DEVICE))
			found = atoi(de->d_name);
	}
	closedir(d);
	return found;
}

static int keep(void *ctx, const struct hftmon_rec_hdr *h)
{
	(void)ctx;
	if ((h->type == HFTMON_REC_IRQ || h->type == HFTMON_REC_SOFTIRQ) &&
	    nrecs < MAX_RECS) {
		memset(&recs[nrecs], 0, sizeof(recs[nrecs]));
		memcpy(&recs[nrecs], h,
		       h->size < sizeof(struct rec) ? h->size : sizeof(struct rec));
		nrecs++;
	}
	return 0;
}

static void configure(void)
{
	static int cpus[MAX_CPUS];
	struct hftmon_monitor_config c = {
		.sz = sizeof(c),
		.events = HFTMON_EV_SWITCH | HFTMON_EV_IRQ_ALL,
		.ring_pages = 1024,
		.irq_cpus = cpus,
		.nr_irq_cpus = (size_t)ncpu,
	};
	int i, err;

	for (i = 0; i < ncpu; i++)
		cpus[i] = i;
	err = hftmon_configure(m, &c);
	REQUIRE(err == 0, "hftmon_configure: %s", strerror(-err));
}

/* The library's row of (cpu, kind, nr), NULL if it has none. */
static const struct hftmon_irq_row *lib_row(int cpu, uint32_t kind, uint32_t nr)
{
	int i;

	for (i = 0; i < nrows && i < MAX_LIB_ROWS; i++)
		if (rows[i].cpu == cpu && rows[i].kind == kind && rows[i].nr == nr)
			return &rows[i];
	return NULL;
}

struct lib_ctx {
	const struct csnap *in0, *in1;
	const struct snap *out0, *out1;
	int checked;
};

static void check_lib_row(const struct rowdef *d, bool soft, void *arg)
{
	struct lib_ctx *x = arg;
	int c, k;

	for (c = 0; c < ncpu; c++) {
		const struct row *r0, *r1, *o0, *o1;
		unsigned long long dec, und, all, allnet, knet, kcnt;
		unsigned long long lcnt = 0, lnet = 0, delta;

		r0 = soft ? find_row(x->in0->s[c].soft, x->in0->s[c].nsoft, d->label) :
			    find_row(x->in0->s[c].irq, x->in0->s[c].nirq, d->label);
		r1 = soft ? find_row(x->in1->s[c].soft, x->in1->s[c].nsoft, d->label) :
			    find_row(x->in1->s[c].irq, x->in1->s[c].nirq, d->label);
		o0 = soft ? find_row(x->out0->soft, x->out0->nsoft, d->label) :
			    find_row(x->out0->irq, x->out0->nirq, d->label);
		o1 = soft ? find_row(x->out1->soft, x->out1->nsoft, d->label) :
			    find_row(x->out1->irq, x->out1->nirq, d->label);
		if (!r0 || !r1 || !o0 || !o1)
			return;
		for (k = 0; k < d->nnr; k++) {
			const struct hftmon_irq_row *l = lib_row(c, d->kind, d->nr[k]);

			if (l) {
				lcnt += l->count;
				lnet += l->net_ns;
				if (d->kind == HFTMON_IRQ_KIND_VECTOR ||
				    d->kind == HFTMON_IRQ_KIND_NMI)
					CHECK(!strcmp(l->name, d->label),
					      "vector %#x named '%s', /proc '%s'",
					      d->nr[k], l->name, d->label);
			}
		}
		bracket(d, c, x->in0, x->in1, &dec, &und, &all, &allnet);
		kcnt = stat_count(fd, c, d, &knet);
		CHECK(lcnt == kcnt && lnet == knet,
		      "%s cpu %d: library %llu/%llu ns, kernel counters %llu/%llu ns",
		      d->label, c, lcnt, lnet, kcnt, knet);
		CHECK(lcnt == all && lnet == allnet,
		      "%s cpu %d: library %llu/%llu ns, records %llu/%llu ns",
		      d->label, c, lcnt, lnet, all, allnet);
		delta = r1->v[c] - r0->v[c];
		CHECK(delta >= dec && delta <= dec + und,
		      "%s cpu %d: /proc delta %llu, records %llu + %llu undecided",
		      d->label, c, delta, dec, und);
		CHECK(o1->v[c] - o0->v[c] >= lcnt,
		      "%s cpu %d: /proc delta around the session %llu < library's %llu",
		      d->label, c, o1->v[c] - o0->v[c], lcnt);
		if (lcnt || delta)
			INFO("%-8s cpu %d: library %llu (kernel %llu), /proc %llu in [%llu, %llu]",
			     d->label, c, lcnt, kcnt, delta, dec, dec + und);
		x->checked++;
	}
}

static void test_explain_injected(int inj, int inj_irq)
{
	static struct hftmon_part parts[256];
	struct hftmon_monitor_config c = {
		.sz = sizeof(c),
		.events = HFTMON_EV_SCHED_ALL | HFTMON_EV_IRQ_ALL,
		.ring_pages = 256,
	};
	struct hftmon_explain_query q = { .sz = sizeof(q) };
	uint64_t t[4] = { 0 }, w[2], sum = 0, in_loop;
	const struct hftmon_part *big = NULL, *irq = NULL;
	pthread_t th;
	int n, i, err;

	err = hftmon_configure(m, &c);
	REQUIRE(err == 0, "configure: %s", strerror(-err));
	err = hftmon_attach_process(m, getpid(), NULL);
	REQUIRE(err == 0, "attach: %s", strerror(-err));
	REQUIRE(hftmon_start(m) == 0, "start");
	spin_stop = 0;
	REQUIRE(pthread_create(&th, NULL, spinner, NULL) == 0, "spinner");
	pin(0);
	for (i = 0; i < 100 && !spin_tid; i++)
		usleep(1000);
	usleep(5000);
	inject(inj, "irq 1 200", t, 2, w);
	usleep(5000);
	spin_stop = 1;
	pthread_join(th, NULL);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	while ((err = hftmon_drain(m, keep, NULL)) > 0)
		;
	q.tid = spin_tid;
	q.start_ns = w[0];
	q.end_ns = w[1];
	parts[0].sz = sizeof(parts[0]);
	n = hftmon_explain(m, &q, parts, 256);
	if (n <= 0) {
		/* What the library held of the spinner, to tell why. */
		struct hftmon_stats_summary st = { .sz = sizeof(st) };
		struct hftmon_switch_query sq = { .sz = sizeof(sq), .tid = spin_tid };
		static struct hftmon_switch_event ev[64];
		int k, ns;

		ev[0].sz = sizeof(ev[0]);
		ns = hftmon_get_context_switches(m, &sq, ev, 64);
		hftmon_get_stats(m, &st, NULL, 0);
		INFO("window [%llu, %llu]; spinner %d: %d switches; records %llu, lost %llu, late %llu, dropped %llu",
		     (unsigned long long)w[0], (unsigned long long)w[1],
		     (int)spin_tid, ns, (unsigned long long)st.records,
		     (unsigned long long)st.lost_total,
		     (unsigned long long)st.aggregator_late,
		     (unsigned long long)st.aggregator_dropped);
		for (k = 0; k < ns && k < 64; k++)
			INFO("  switch out %llu (cpu %d) in %llu (cpu %d)",
			     (unsigned long long)ev[k].out_ns, ev[k].out_cpu,
			     (unsigned long long)ev[k].in_ns, ev[k].in_cpu);
	}
	REQUIRE(n > 0 && n <= 256, "explain of the spinner: %d", n);
	for (i = 0; i < n; i++) {
		INFO("part %d: kind %u nr %u cpu %d [%+lld, %+lld] ns %llu %s%s", i,
		     parts[i].kind, parts[i].nr, parts[i].cpu,
		     (long long)(parts[i].start_ns - w[0]),
		     (long long)(parts[i].end_ns - w[0]),
		     (unsigned long long)parts[i].ns, parts[i].name, parts[i].comm);
		sum += parts[i].ns;
		if (parts[i].kind == HFTMON_PART_IRQ && (int)parts[i].nr == inj_irq)
			irq = &parts[i];
		/* The spinner's own running is no disturbance. */
		if (parts[i].kind != HFTMON_PART_RUN &&
		    (!big || parts[i].ns > big->ns))
			big = &parts[i];
	}
	CHECK(sum == w[1] - w[0], "parts sum to %llu, the window is %llu",
	      (unsigned long long)sum, (unsigned long long)(w[1] - w[0]));
	in_loop = (t[1] < w[1] ? t[1] : w[1]) - (t[0] > w[0] ? t[0] : w[0]);
	REQUIRE(irq, "no part of IRQ %d in the window", inj_irq);
	CHECK(irq->ns >= in_loop && irq->cpu == 1,
	      "IRQ %d: %llu ns on cpu %d (the loop in the window: %llu ns)",
	      inj_irq, (unsigned long long)irq->ns, irq->cpu,
	      (unsigned long long)in_loop);
	CHECK(!strcmp(irq->name, "hftmon_inject"), "IRQ named '%s'", irq->name);
	/*
	 * Printed, not asserted: the vector that carries the IRQ can take
	 * longer than its 200 us loop on its own (437 us seen on 6.1-rt
	 * under TCG), as can a timer tick; what must hold is above.
	 */
	INFO("the largest disturbance: kind %u nr %u, %llu ns%s", big->kind,
	     big->nr, (unsigned long long)big->ns,
	     big == irq ? " (the injected IRQ)" : "");
	hftmon_detach_process(m, getpid());
}

int main(void)
{
	static struct csnap in0, in1;
	static struct snap out0, out1;
	struct hftmon_open_opts oo = { .sz = sizeof(oo) };
	struct hftmon_irq_query q = { .sz = sizeof(q), .cpu = -1 };
	struct lib_ctx x = { &in0, &in1, &out0, &out1, 0 };
	unsigned long long raised = 0;
	int err, i, inj = -1, inj_irq = -1;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2 || ncpu > MAX_CPUS) {
		printf("# skip: %d CPUs\n", ncpu);
		return 77;
	}
	recs = calloc(MAX_RECS, sizeof(*recs));
	REQUIRE(recs, "calloc");
	err = hftmon_open(&oo, &m);
	REQUIRE(err == 0, "hftmon_open: %s", strerror(-err));
	fd = find_fd();
	REQUIRE(fd >= 0, "the library's descriptor on %s", HFTMON_DEVICE);
	if (system("insmod bin/hftmon_inject.ko") == 0) {
		inj = open("/sys/module/hftmon_inject/parameters/inject", O_WRONLY);
		f = fopen("/sys/module/hftmon_inject/parameters/irq", "r");
		if (!f || fscanf(f, "%d", &inj_irq) != 1)
			inj_irq = -1;
		if (f)
			fclose(f);
	}
	CHECK(inj >= 0 && inj_irq > 0, "hftmon_inject.ko not loaded");

	/* The first START hooks the tracepoints (IPIs to every CPU). */
	configure();
	REQUIRE(hftmon_start(m) == 0, "start");
	REQUIRE(hftmon_stop(m) == 0, "stop");
	configure();

	take_snap(&out0);
	REQUIRE(hftmon_start(m) == 0, "start");
	take_csnap(&in0);
	workload(inj);
	take_csnap(&in1);
	REQUIRE(hftmon_stop(m) == 0, "stop");
	take_snap(&out1);
	nrecs = 0;
	while ((err = hftmon_drain(m, keep, NULL)) > 0)
		;
	REQUIRE(err == 0, "drain: %s", strerror(-err));
	{
		struct hftmon_stats_summary s = { .sz = sizeof(s) };

		REQUIRE(hftmon_get_stats(m, &s, NULL, 0) == 0, "stats");
		CHECK(s.lost_total == 0 && s.aggregator_dropped == 0,
		      "lost %llu, aggregator dropped %llu",
		      (unsigned long long)s.lost_total,
		      (unsigned long long)s.aggregator_dropped);
	}
	rows[0].sz = sizeof(rows[0]);
	nrows = hftmon_get_irq_stats(m, &q, rows, MAX_LIB_ROWS);
	REQUIRE(nrows > 0 && nrows <= MAX_LIB_ROWS, "hftmon_get_irq_stats: %d",
		nrows);
	INFO("%ld interruption records, %d library rows", nrecs, nrows);
	for (i = 1; i < nrows; i++) {
		const struct hftmon_irq_row *a = &rows[i - 1], *b = &rows[i];

		CHECK(a->cpu < b->cpu ||
		      (a->cpu == b->cpu && (a->kind < b->kind ||
					    (a->kind == b->kind && a->nr < b->nr))),
		      "rows %d and %d out of order", i - 1, i);
	}
	for (i = 0; i < nrows; i++) {
		CHECK(rows[i].p50_ns <= rows[i].p99_ns &&
		      rows[i].p99_ns <= rows[i].max_ns,
		      "row %d: p50 %llu p99 %llu max %llu", i,
		      (unsigned long long)rows[i].p50_ns,
		      (unsigned long long)rows[i].p99_ns,
		      (unsigned long long)rows[i].max_ns);
		if (rows[i].kind == HFTMON_IRQ_KIND_SOFTIRQ)
			raised += rows[i].raise_count;
	}
	CHECK(raised > 0, "no softirq raise-to-run delay seen");
	for_each_row(&out1, check_lib_row, &x);
	INFO("%d (row, cpu) pairs compared", x.checked);
	CHECK(x.checked >= 2 * 15, "only %d rows compared", x.checked);
	if (inj >= 0 && inj_irq > 0)
		test_explain_injected(inj, inj_irq);
	hftmon_close(m);
	if (inj >= 0) {
		close(inj);
		CHECK(system("rmmod hftmon_inject") == 0, "rmmod hftmon_inject");
	}
	return vmtest_result();
}
