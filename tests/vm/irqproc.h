/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interruption counts' ground truth, shared by t_irq.c (the module's
 * records) and t_irq_lib.c (the library's aggregation of them):
 * /proc/interrupts and /proc/softirqs read per CPU between two
 * CLOCK_MONOTONIC stamps, the rows compared (device IRQs, the x86 vectors
 * by their /proc mnemonic, NMI, softirqs), the bracket of a /proc delta by
 * the records, the kernel's own counters (HFTMON_IOC_GET_IRQ_STATS), and a
 * workload that makes timer ticks, IPIs, irq_work, serial IRQs and
 * softirqs. Include after vmtest.h.
 */
#ifndef HFTMON_IRQPROC_H
#define HFTMON_IRQPROC_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/hftmon.h>

#include "../inject/inject_user.h"

#define MAX_CPUS		8
#define MAX_ROWS		96
#define MAX_RECS		(1 << 20)

#define V_LOC	0xec
#define V_RES	0xfd
#define V_CF	0xfc
#define V_CFS	0xfb
#define V_IWI	0xf6
#define V_PLT	0xf7
#define V_SPU	0xff
#define V_TRM	0xfa

static int ncpu;

struct rec {
	struct hftmon_rec_irq r;
	char name[HFTMON_IRQ_NAME_LEN];
};
static struct rec *recs;
static long nrecs;

/* ---- /proc ------------------------------------------------------------- */

struct row {
	char label[16];
	unsigned long long v[MAX_CPUS];
};
struct snap {
	struct row irq[MAX_ROWS], soft[16];
	int nirq, nsoft;
};

static int read_rows(const char *path, struct row *rows, int max)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {	/* CPU header */
		fclose(f);
		return -1;
	}
	while (n < max && fgets(line, sizeof(line), f)) {
		char *p = line, *colon = strchr(line, ':');
		int c;

		if (!colon)
			continue;
		*colon = 0;
		while (*p == ' ')
			p++;
		snprintf(rows[n].label, sizeof(rows[n].label), "%.15s", p);
		p = colon + 1;
		for (c = 0; c < ncpu; c++) {
			char *end;

			rows[n].v[c] = strtoull(p, &end, 10);
			if (end == p)
				break;
			p = end;
		}
		if (c == ncpu)
			n++;
	}
	fclose(f);
	return n;
}

static void take_snap(struct snap *s)
{
	s->nirq = read_rows("/proc/interrupts", s->irq, MAX_ROWS);
	s->nsoft = read_rows("/proc/softirqs", s->soft, 16);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	REQUIRE(sched_setaffinity(0, sizeof(set), &set) == 0, "pin to %d", cpu);
}

/* Per CPU: each column read on its own CPU, between two stamps. */
struct csnap {
	struct snap s[MAX_CPUS];
	uint64_t ta[MAX_CPUS], tb[MAX_CPUS];
};

static void take_csnap(struct csnap *cs)
{
	int c;

	for (c = 0; c < ncpu; c++) {
		pin(c);
		usleep(1000);	/* on that CPU now */
		cs->ta[c] = mono_ns();
		take_snap(&cs->s[c]);
		cs->tb[c] = mono_ns();
	}
}

static const struct row *find_row(const struct row *rows, int n,
				  const char *label)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].label, label))
			return &rows[i];
	return NULL;
}

struct rowdef {
	const char *label;
	uint32_t kind;
	uint32_t nr[2];
	int nnr;
};

static bool rec_is(const struct rec *r, const struct rowdef *d, int cpu)
{
	int i;

	if (r->r.hdr.cpu != cpu || r->r.kind != d->kind)
		return false;
	for (i = 0; i < d->nnr; i++)
		if (r->r.nr == d->nr[i])
			return true;
	return false;
}

/*
 * The records of row d on cpu against two snapshots read on that CPU
 * between the stamps [ta, tb]: every interruption there is atomic with
 * respect to the reader, so one that ended before in0's ta is in the
 * first snapshot, one that began after in1's tb is in neither, one inside
 * (in0's tb, in1's ta) is in the delta (decided), and the rest (overlapping
 * a read) is undecided: the /proc delta lies in [dec, dec + und]. all and
 * allnet: every record of the row on that CPU, and their net sum.
 */
static void bracket(const struct rowdef *d, int c, const struct csnap *in0,
		    const struct csnap *in1, unsigned long long *dec,
		    unsigned long long *und, unsigned long long *all,
		    unsigned long long *allnet)
{
	long i;

	*dec = *und = *all = *allnet = 0;
	for (i = 0; i < nrecs; i++) {
		const struct rec *r = &recs[i];
		uint64_t s = r->r.start_ns, e = r->r.hdr.time_ns;

		if (!rec_is(r, d, c))
			continue;
		(*all)++;
		*allnet += r->r.net_ns;
		if (e < in0->ta[c] || s > in1->tb[c])
			continue;	/* before the first, after the last */
		if (s > in0->tb[c] && e < in1->ta[c])
			(*dec)++;
		else
			(*und)++;
	}
}

/*
 * Every row the interruption counts are compared on: each device IRQ of
 * /proc/interrupts, the x86 system vectors hftmon names (CAL is both
 * function-call vectors), NMI, and each softirq of /proc/softirqs.
 */
static void for_each_row(const struct snap *out1,
			 void (*fn)(const struct rowdef *d, bool soft, void *ctx),
			 void *ctx)
{
	static const char *const soft[] = { "HI", "TIMER", "NET_TX", "NET_RX",
		"BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU" };
	static const struct rowdef vecs[] = {
		{ "LOC", HFTMON_IRQ_KIND_VECTOR, { V_LOC }, 1 },
		{ "RES", HFTMON_IRQ_KIND_VECTOR, { V_RES }, 1 },
		{ "CAL", HFTMON_IRQ_KIND_VECTOR, { V_CF, V_CFS }, 2 },
		{ "IWI", HFTMON_IRQ_KIND_VECTOR, { V_IWI }, 1 },
		{ "PLT", HFTMON_IRQ_KIND_VECTOR, { V_PLT }, 1 },
		{ "SPU", HFTMON_IRQ_KIND_VECTOR, { V_SPU }, 1 },
		{ "TRM", HFTMON_IRQ_KIND_VECTOR, { V_TRM }, 1 },
		{ "NMI", HFTMON_IRQ_KIND_NMI, { 0 }, 1 },
	};
	struct rowdef d;
	char label[16];
	int i;

	for (i = 0; i < out1->nirq; i++) {
		char *end;
		unsigned long n = strtoul(out1->irq[i].label, &end, 10);

		if (*end || end == out1->irq[i].label)
			continue;
		snprintf(label, sizeof(label), "%lu", n);
		d = (struct rowdef){ label, HFTMON_IRQ_KIND_DEVICE, { n }, 1 };
		fn(&d, false, ctx);
	}
	for (i = 0; i < (int)(sizeof(vecs) / sizeof(vecs[0])); i++)
		fn(&vecs[i], false, ctx);
	for (i = 0; i < 10; i++) {
		d = (struct rowdef){ soft[i], HFTMON_IRQ_KIND_SOFTIRQ, { i }, 1 };
		fn(&d, true, ctx);
	}
}

static unsigned long long stat_count(int fd, int cpu, const struct rowdef *d,
				     unsigned long long *net)
{
	static struct hftmon_irq_count cnt[4096];
	struct hftmon_irq_stats st = { .size = sizeof(st) };
	unsigned long long n = 0;
	int i;

	st.cpu = cpu;
	st.kind = d->kind;
	st.nr = 4096;
	st.counts_ptr = (uintptr_t)cnt;
	REQUIRE(ioctl(fd, HFTMON_IOC_GET_IRQ_STATS, &st) == 0,
		"GET_IRQ_STATS: %s", strerror(errno));
	*net = 0;
	for (i = 0; i < d->nnr; i++) {
		uint32_t k = d->kind == HFTMON_IRQ_KIND_NMI ? 0 : d->nr[i];

		if (k < st.nr) {
			n += cnt[k].count;
			*net += cnt[k].net_ns;
		}
	}
	return n;
}

static void *ping(void *arg)
{
	int *p = arg;
	char b;

	pin(1);
	while (read(p[0], &b, 1) == 1 && b)
		if (write(p[3], &b, 1) != 1)
			break;
	return NULL;
}

static void workload(int inj)
{
	int p[4], i;
	pthread_t th;
	char b = 1;

	/* Pipe ping-pong across CPUs: wake-ups, reschedule IPIs. */
	REQUIRE(pipe(p) == 0 && pipe(p + 2) == 0, "pipe");
	REQUIRE(pthread_create(&th, NULL, ping, p) == 0, "thread");
	pin(0);
	for (i = 0; i < 2000; i++) {
		if (write(p[1], &b, 1) != 1 || read(p[2], &b, 1) != 1)
			break;
	}
	b = 0;
	CHECK(write(p[1], &b, 1) == 1, "stop ping");
	pthread_join(th, NULL);
	for (i = 0; i < 4; i++)
		close(p[i]);
	/* Function-call IPIs and their nested device IRQ and tasklet. */
	for (i = 0; i < 5 && inj >= 0; i++) {
		CHECK(write(inj, "vector 1 20", 11) == 11, "inject vector");
		CHECK(write(inj, "irq 1 20", 8) == 8, "inject irq");
		CHECK(write(inj, "nested 1 40 20", 14) == 14, "inject nested");
	}
	/* Timers, and tty output on the serial port (its IRQ). */
	for (i = 0; i < 20; i++) {
		printf("# tick %d\n", i);
		usleep(2000);
	}
}

/*
 * Disturbances of known length (tests/inject/hftmon_inject.ko): a spinner
 * pinned to CPU 1 to be disturbed, the injector's own measured times of
 * its busy loop (inject_read_last()), and one injection with the caller's stamps
 * around the write() that asked for it.
 */
static volatile int spin_stop;
static volatile pid_t spin_tid;

static void *spinner(void *arg)
{
	(void)arg;
	pin(1);
	spin_tid = syscall(SYS_gettid);
	while (!spin_stop)
		;
	return NULL;
}

static void inject(int inj, const char *cmd, uint64_t *t, int want,
		   uint64_t *w)
{
	w[0] = mono_ns();
	CHECK(write(inj, cmd, strlen(cmd)) == (ssize_t)strlen(cmd),
	      "inject %s: %s", cmd, strerror(errno));
	w[1] = mono_ns();
	CHECK(inject_read_last(t, 4) == want, "inject %s: no times", cmd);
}

#endif
