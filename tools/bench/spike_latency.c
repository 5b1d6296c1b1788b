// SPDX-License-Identifier: GPL-2.0
/*
 * spike_latency: how soon a latency spike reaches the application that
 * waits for it (issue 7: "from a spike's end to a busy-polling reader
 * seeing it, and to a poll waiter waking"). A tracked SCHED_OTHER spinner
 * (a child process, which sleeps once after each session starts: see
 * configure()) runs pinned to CPU 1; hftmon_inject.ko's
 * vector-nowait puts a busy loop of --inject-us in a function-call IPI
 * there, --shots times, 2-6 ms apart, so the session reports an
 * INTERRUPTED spike (threshold --threshold-us) ending at the IPI's exit.
 * The reader runs on CPU 0, untracked, and asks for each shot itself:
 * the write returns once the IPI is sent, so the reader is already
 * polling (or blocked) when the spike ends. Latency = CLOCK_MONOTONIC
 * when the reader has the spike minus its end (the record's time_ns).
 * One session per reader, in turn:
 *   busy-poll     raw_only, hftmon_drain() in a loop, no drain thread
 *   poll()        raw_only, hftmon_wait() (poll() on the device; the
 *                 watermark is the whole ring, so only a spike wakes it),
 *                 then hftmon_drain(): the wake-up, and the record in hand
 *   wait_spike    hftmon_wait_spike(), which polls and drains into the
 *                 aggregator itself
 *   wait_spike+thread  the same, the library's drain thread on CPU 0
 * The spike that answers a shot is the first one on CPU 1 whose span
 * holds the loop the module timed itself (parameters/last); others (TCG's
 * own long ticks) are counted, and so is a spike that ended before the
 * reader began to wait (not timed). Prints figures; asserts no time.
 * Each reader's shots come in --rounds sessions, the readers' sessions
 * interleaved, so that a change in the host's load hits them all alike.
 *   spike_latency [--shots N] [--rounds R] [--threshold-us T]
 *                 [--inject-us U] [--trace]
 * (--trace: one line of times per shot, the reader's number first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hftmon.h>

#include "../../tests/inject/inject_user.h"

#define INJECT INJECT_PARAMS
#define MAX_SHOTS 10000
#define MAX_CANDS 16
#define SHOT_TIMEOUT_NS 200000000ull	/* a shot's spike after this: none */
#define RING_PAGES 64

enum reader { BUSY_POLL, POLL_WAIT, WAIT_SPIKE, WAIT_SPIKE_THREAD, NR_READERS };
static const char *const reader_name[NR_READERS] = {
	"busy-polling reader (raw_only, hftmon_drain loop)",
	"poll() waiter (raw_only, hftmon_wait, then hftmon_drain)",
	"hftmon_wait_spike, caller drains (aggregator)",
	"hftmon_wait_spike, drain thread on CPU 0",
};

static int shots = 200, inject_us = 200, inj_fd = -1, trace;
static uint64_t threshold_us = 150;
static pid_t spinner;
/* Shared with the spinner: set, it sleeps once (a switch out and in). */
static volatile int *spin_kick;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* The busy loop's own times; 0 once it is over, 1 while it runs, -1. */
static int read_last(uint64_t *t)
{
	if (inject_read_last(t, 2) < 2)
		return -1;
	return t[1] ? 0 : 1;
}

/* One IPI loop on CPU 1, the write returning once it is sent. */
static int inject(void)
{
	char cmd[64];
	int i, len = snprintf(cmd, sizeof(cmd), "vector-nowait 1 %d", inject_us);

	for (i = 0; i < 1000; i++) {
		if (write(inj_fd, cmd, len) == len)
			return 0;
		if (errno != EBUSY)
			return -errno;
		usleep(1000);	/* the last shot's loop still runs */
	}
	return -EBUSY;
}

struct cand {
	uint64_t start_ns, end_ns;
	uint64_t seen_ns;	/* the reader had it (poll(): it woke) */
	uint64_t read_ns;	/* poll(): the record handed out */
	uint64_t wait_ns;	/* the reader began waiting (poll(): this call) */
};

struct watch {
	uint64_t after_ns;	/* a spike holding the loop ends after this */
	uint64_t sent_ns;	/* the write returned */
	uint64_t poll_ns, wake_ns;
	bool waited;		/* poll(): seen_ns is the wake-up */
	struct cand c[MAX_CANDS];
	int n;
};

static void add_cand(struct watch *w, uint64_t start, uint64_t end)
{
	struct cand *c;
	uint64_t t = now_ns();

	if (end < w->after_ns || w->n == MAX_CANDS)
		return;
	c = &w->c[w->n++];
	c->start_ns = start;
	c->end_ns = end;
	c->read_ns = t;
	c->seen_ns = w->waited ? w->wake_ns : t;
	c->wait_ns = w->waited ? w->poll_ns : w->sent_ns;
}

static int on_rec(void *ctx, const struct hftmon_rec_hdr *h)
{
	const struct hftmon_rec_spike *sp = (const void *)h;

	if (h->type == HFTMON_REC_SPIKE && h->cpu == 1 && h->pid == spinner)
		add_cand(ctx, sp->start_ns, h->time_ns);
	return 0;
}

struct result {
	uint64_t lat[MAX_SHOTS], read_lat[MAX_SHOTS], len[MAX_SHOTS];
	int shots, n, none, not_waiting, not_woken, others;
};

/*
 * Which candidate answers the shot: the first holding the loop. The
 * loop's times are read once a candidate has come (it ended past the
 * loop's shortest end, so the loop is normally over by then).
 */
static int match(struct watch *w, int *checked, uint64_t *loop, bool *have)
{
	int i;

	if (*checked == w->n)
		return -1;
	if (!*have) {
		if (read_last(loop))
			return -1;	/* still running: that one was not it */
		*have = true;
	}
	for (i = *checked; i < w->n; i++)
		if (w->c[i].start_ns <= loop[0] && w->c[i].end_ns >= loop[1])
			return i;
	*checked = w->n;
	return -1;
}

static void account(struct result *r, const struct watch *w, int k,
		    enum reader how)
{
	const struct cand *c = &w->c[k];

	r->others += k;
	/*
	 * Counted, not timed: a spike that ended before the reader began to
	 * wait (TCG held the write's return past it, or, for poll(), the
	 * call began after it), and for poll() one drained after a wake-up
	 * for another record.
	 */
	if (c->end_ns < c->wait_ns) {
		r->not_waiting++;
		return;
	}
	if (how == POLL_WAIT && c->end_ns > c->seen_ns) {
		r->not_woken++;
		return;
	}
	r->lat[r->n] = c->seen_ns - c->end_ns;
	r->read_lat[r->n] = c->read_ns - c->end_ns;
	r->len[r->n] = c->end_ns - c->start_ns;
	r->n++;
}

static unsigned int lcg = 12345;

static void gap(void)
{
	lcg = lcg * 1103515245u + 12345u;
	usleep(2000 + (lcg >> 8) % 4000);
}

static int configure(struct hftmon **mp, enum reader how)
{
	static const int cpu0[] = { 0 };
	struct hftmon_monitor_config cfg = {
		.sz = sizeof(cfg),
		.ring_pages = RING_PAGES,
		.events = HFTMON_EV_SWITCH | HFTMON_EV_WAKEUP | HFTMON_EV_IRQ_ALL,
		.spike_threshold_us = threshold_us,
		.raw_only = how == BUSY_POLL || how == POLL_WAIT,
		.drain_thread = how == WAIT_SPIKE_THREAD,
		.cpu_affinity = how == WAIT_SPIKE_THREAD ? cpu0 : NULL,
		.nr_cpu_affinity = how == WAIT_SPIKE_THREAD ? 1 : 0,
	};
	int err;

	/* Only a spike (a kicked record) wakes a raw poll() waiter. */
	if (cfg.raw_only)
		cfg.wakeup_bytes = RING_PAGES * (uint32_t)sysconf(_SC_PAGESIZE);
	err = hftmon_open(NULL, mp);
	if (!err)
		err = hftmon_configure(*mp, &cfg);
	if (!err)
		err = hftmon_attach_process(*mp, spinner, NULL);
	if (!err)
		err = hftmon_start(*mp);
	/*
	 * The module records a CPU's interruptions while a tracked thread
	 * is current there as its switch probe saw it: a spinner attached
	 * while running counts only from its next switch-in. One sleep.
	 */
	if (!err) {
		int i;

		*spin_kick = 1;
		for (i = 0; i < 1000 && *spin_kick; i++)
			usleep(1000);
		if (*spin_kick)
			err = -ETIMEDOUT;
	}
	return err;
}

/* nshots more shots of one reader, in a session of its own, into r. */
static int run(enum reader how, struct result *r, int nshots)
{
	HFTMON_OPTS(hftmon_spike_query, q, .pid = spinner);
	HFTMON_OPTS(hftmon_spike, sp);
	struct hftmon *m = NULL;
	static struct watch w;
	int err, s, k = -1;

	err = configure(&m, how);
	if (err) {
		fprintf(stderr, "spike_latency: session: %s\n", strerror(-err));
		hftmon_close(m);
		return err;
	}
	usleep(100000);
	if (how == BUSY_POLL || how == POLL_WAIT)
		hftmon_drain(m, on_rec, &w);	/* what came before the first shot */
	for (s = 0; s < nshots; s++) {
		uint64_t loop[2] = { 0, 0 }, since, deadline, sent, t0;
		bool have = false;
		int checked = 0, passes;

		gap();
		memset(&w, 0, sizeof(w));
		since = t0 = now_ns();
		w.after_ns = since + inject_us * 1000ull;
		err = inject();
		if (err) {
			fprintf(stderr, "spike_latency: inject: %s\n", strerror(-err));
			break;
		}
		w.sent_ns = sent = now_ns();
		deadline = sent + SHOT_TIMEOUT_NS;
		for (k = -1, passes = 0; k < 0 && now_ns() < deadline; passes++) {
			switch (how) {
			case BUSY_POLL:
				err = hftmon_drain(m, on_rec, &w);
				break;
			case POLL_WAIT:
				w.poll_ns = now_ns();
				err = hftmon_wait(m, 50);
				w.wake_ns = now_ns();
				w.waited = true;
				if (err >= 0)
					err = hftmon_drain(m, on_rec, &w);
				break;
			default:
				err = hftmon_wait_spike(m, &q, &since, 50, &sp);
				if (err == 1 && sp.cpu == 1)
					add_cand(&w, sp.start_ns, sp.end_ns);
				break;
			}
			if (err < 0)
				break;
			k = match(&w, &checked, loop, &have);
		}
		if (err < 0) {
			fprintf(stderr, "spike_latency: %s: %s\n", reader_name[how],
				strerror(-err));
			break;
		}
		r->shots++;
		if (trace && k >= 0)
			printf("    %d shot %d: sent +%.1f, loop +%.1f..+%.1f, spike +%.1f..+%.1f, seen +%.1f, read +%.1f, %d passes (us after the write began)\n",
			       how, s, (sent - t0) / 1e3, (loop[0] - t0) / 1e3,
			       (loop[1] - t0) / 1e3, (w.c[k].start_ns - t0) / 1e3,
			       (w.c[k].end_ns - t0) / 1e3, (w.c[k].seen_ns - t0) / 1e3,
			       (w.c[k].read_ns - t0) / 1e3, passes);
		if (k >= 0) {
			account(r, &w, k, how);
			continue;
		}
		r->none++;
		if (trace) {
			int i;

			read_last(loop);
			printf("    %d shot %d: no spike; sent +%.1f, loop +%.1f..+%.1f, %d passes, %d candidates:",
			       how, s, (sent - t0) / 1e3, (loop[0] - t0) / 1e3,
			       (loop[1] - t0) / 1e3, passes, w.n);
			for (i = 0; i < w.n; i++)
				printf(" +%.1f..+%.1f", (w.c[i].start_ns - t0) / 1e3,
				       (w.c[i].end_ns - t0) / 1e3);
			printf("\n");
		}
	}
	hftmon_stop(m);
	hftmon_close(m);
	return err < 0 ? err : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, of a sorted array. */
static double pct_us(const uint64_t *v, int n, double p)
{
	int i = (int)((p / 100.0) * n + 0.999999) - 1;

	if (i < 0)
		i = 0;
	return v[i] / 1e3;
}

static void print_lat(const char *what, uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("    %-20s median %8.1f us  p99 %8.1f us  max %8.1f us\n", what,
	       pct_us(v, n, 50), pct_us(v, n, 99), v[n - 1] / 1e3);
}

static void report(enum reader how, struct result *r)
{
	printf("  %s: %d of %d shots timed, %d without a spike, %d ended before the reader waited",
	       reader_name[how], r->n, r->shots, r->none, r->not_waiting);
	if (how == POLL_WAIT)
		printf(", %d drained after a wake-up for another record", r->not_woken);
	printf(", %d other spikes first\n", r->others);
	if (!r->n)
		return;
	print_lat(how == POLL_WAIT ? "end -> woken:" :
		  how == BUSY_POLL ? "end -> seen:" : "end -> returned:",
		  r->lat, r->n);
	if (how == POLL_WAIT)
		print_lat("end -> record read:", r->read_lat, r->n);
	qsort(r->len, r->n, sizeof(r->len[0]), cmp_u64);
	printf("    (spike length median %.1f us)\n", pct_us(r->len, r->n, 50));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shots", required_argument, NULL, 'n' },
		{ "threshold-us", required_argument, NULL, 't' },
		{ "inject-us", required_argument, NULL, 'u' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "trace", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static struct result res[NR_READERS];
	int c, i, round, err = 0, rounds = 4;

	while ((c = getopt_long(argc, argv, "n:r:t:u:v", opts, NULL)) != -1) {
		if (c == 'n')
			shots = atoi(optarg);
		else if (c == 't')
			threshold_us = strtoull(optarg, NULL, 0);
		else if (c == 'u')
			inject_us = atoi(optarg);
		else if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'v')
			trace = 1;
		else
			return 2;
	}
	if (shots < 1 || shots > MAX_SHOTS || rounds < 1 || rounds > shots ||
	    !threshold_us ||
	    inject_us < 1 || (uint64_t)inject_us <= threshold_us) {
		fprintf(stderr, "spike_latency: bad --shots, --rounds, --threshold-us or --inject-us\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	inj_fd = open(INJECT "inject", O_WRONLY);
	if (inj_fd < 0) {
		fprintf(stderr, "spike_latency: %s: %s (load hftmon_inject.ko)\n",
			INJECT "inject", strerror(errno));
		return 1;
	}
	spin_kick = mmap(NULL, sizeof(*spin_kick), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (spin_kick == MAP_FAILED)
		return 1;
	spinner = fork();
	if (spinner < 0)
		return 1;
	if (spinner == 0) {
		if (pin_self(1))
			_exit(1);
		for (;;) {
			if (*spin_kick) {
				usleep(1000);
				*spin_kick = 0;
			}
		}
	}
	if (pin_self(0)) {
		kill(spinner, SIGKILL);
		return 1;
	}
	printf("spike delivery: a tracked SCHED_OTHER spinner on CPU 1, %d us IPIs injected there (%d shots a reader, 2-6 ms apart, in %d interleaved rounds), spike threshold %llu us; the reader on CPU 0, untracked.\n",
	       inject_us, shots, rounds, (unsigned long long)threshold_us);
	printf("  Latency from the spike's end (its record's time_ns) to the reader having it. Under TCG (emulated vCPUs, a shared host) absolute times are inflated many-fold against hardware.\n");
	/* Rounds of every reader in turn: the host's load drifts. */
	for (round = 0; round < rounds && !err; round++)
		for (i = 0; i < NR_READERS && !err; i++)
			err = run(i, &res[i], shots / rounds +
				  (round < shots % rounds));
	for (i = 0; i < NR_READERS; i++)
		report(i, &res[i]);
	kill(spinner, SIGKILL);
	waitpid(spinner, NULL, 0);
	close(inj_fd);
	return err ? 1 : 0;
}
