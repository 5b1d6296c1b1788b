// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * drain_bench: how fast libhftmon's ring reader (lib/ring.c) and record
 * decoder (lib/record.c) drain, and the CLI's per-thread counts
 * (tools/hftmon/threads.c) and the query aggregator (lib/agg.c: reorder,
 * pairing, histories) digest, realistic scheduler records on one consumer
 * core: each tracked thread switches out, is woken, switches back in
 * (HFTMON_REC_SWITCH and HFTMON_REC_WAKEUP), so every switch completes.
 * The rings are fed by the unit tests' copy of the kernel producer
 * (tests/unit/ring_producer.c).
 * Prints figures; asserts nothing about time.
 *
 *   threaded  a producer thread writes flat out, losing records when the
 *             ring is full as the kernel does; the consumer drains on its
 *             own core. Drained records/s is the consumer's rate when the
 *             producer outpaces it (lost > 0), else the producer's.
 *   inline    one thread: fill the rings, then time only the drain pass.
 *             With --records N it is deterministic, for
 *             valgrind --tool=callgrind --toggle-collect=bench_drain_pass
 *             (make bench-drain-callgrind): instructions per record.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "ring.h"
#include "ring_producer.h"
#include "threads.h"

#define PAGE 4096u
#define MAX_RINGS 64
#define NR_TEMPLATES 48 /* 16 cycles of out, wake-up, in */
#define BENCH_HISTORY (1u << 16)

union bench_rec {
	struct hftmon_rec_hdr hdr;
	struct hftmon_rec_switch sw;
	struct hftmon_rec_wakeup wk;
};

struct opts {
	const char *mode; /* "threaded", "inline" or "both" */
	double seconds;
	unsigned long long records; /* 0: run for seconds */
	unsigned int ring_pages;
	unsigned int nr_rings;
	int producer_cpu, consumer_cpu;
	double watermark; /* drain once a ring holds this fraction */
};

struct bench {
	struct opts o;
	__u64 data_size;
	void *maps[MAX_RINGS];
	struct ring_producer prod[MAX_RINGS];
	struct hftmon_ring_reader rd[MAX_RINGS];
	union bench_rec templates[NR_TEMPLATES];
	/* What the consumer computed from the records. */
	struct hftmon_thread_table threads;
	struct hftmon_agg agg;
	unsigned int cur_ring; /* ring being drained, for the aggregator */
	unsigned long long by_type[HFTMON_REC_TYPE_NR];
	unsigned long long delivered;
	__u64 first_ns, last_ns;
	/* Producer thread. */
	atomic_bool stop;
	atomic_bool producer_done;
	unsigned long long attempts;
	double producer_cpu_s;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: less than wall time = it was preempted. */
static double thread_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * Would poll() report the rings readable? As the module does: some ring
 * holds at least the watermark (wakeup_bytes, by default a quarter ring).
 */
static bool rings_ready(struct bench *b, __u64 watermark)
{
	unsigned int i;

	for (i = 0; i < b->o.nr_rings; i++) {
		__u64 head =
			hftmon_ring_load_acquire(&b->rd[i].ctrl->data_head);

		if (head != b->rd[i].tail && head - b->rd[i].tail >= watermark)
			return true;
	}
	return false;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void pin(int cpu, const char *who)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "drain_bench: cannot pin the %s to CPU %d\n",
			who, cpu);
}

/*
 * A trading process (pid 4242, 8 threads) sharing CPUs with kworkers,
 * ksoftirqd and idle: what its sched records look like. Each cycle is
 * one thread leaving the CPU (blocked or preempted), its wake-up (when
 * it blocked) and its return; flags, states and priorities vary as on a
 * real host.
 */
static void make_templates(struct bench *b)
{
	static const char *const others[] = { "swapper/1", "kworker/1:2",
					      "ksoftirqd/1", "rcu_preempt" };
	unsigned int c;

	memset(b->templates, 0, sizeof(b->templates));
	for (c = 0; c < NR_TEMPLATES / 3; c++) {
		struct hftmon_rec_switch *out = &b->templates[3 * c].sw;
		struct hftmon_rec_wakeup *wk = &b->templates[3 * c + 1].wk;
		struct hftmon_rec_switch *in = &b->templates[3 * c + 2].sw;
		__s32 tid = 4242 + (__s32)(c % 8);
		__s32 other = c % 4 == 0 ? 0 : 100 + (__s32)(c % 4);
		bool vol = c % 3 != 0;

		out->hdr.type = HFTMON_REC_SWITCH;
		out->hdr.size = sizeof(*out);
		out->hdr.pid = 4242;
		out->hdr.tid = tid;
		out->hdr.flags = HFTMON_SWITCH_PREV_TRACKED |
				 (vol ? HFTMON_SWITCH_VOLUNTARY :
					HFTMON_SWITCH_PREEMPT);
		out->next_pid = other;
		out->next_tid = other;
		out->prev_state = vol ? 1 : 0;
		out->prev_prio = 120;
		out->next_prio = c % 5 == 0 ? 49 : 120; /* some RT */
		out->next_policy = c % 5 == 0 ? 1 : 0;
		out->prev_kstack_id = vol ? 1 + c % 4 : 0;
		snprintf(out->prev_comm, sizeof(out->prev_comm), "md-feed-%u",
			 c % 8);
		snprintf(out->next_comm, sizeof(out->next_comm), "%s",
			 others[c % 4]);

		wk->hdr.type = HFTMON_REC_WAKEUP;
		wk->hdr.size = sizeof(*wk);
		wk->hdr.pid = 4242;
		wk->hdr.tid = tid;
		wk->waker_pid = 4242;
		wk->waker_tid = 4242 + (__s32)((c + 1) % 8);
		wk->prio = 120;

		in->hdr.type = HFTMON_REC_SWITCH;
		in->hdr.size = sizeof(*in);
		in->hdr.pid = other;
		in->hdr.tid = other;
		in->hdr.flags = HFTMON_SWITCH_NEXT_TRACKED;
		in->next_pid = 4242;
		in->next_tid = tid;
		in->prev_prio = 120;
		in->next_prio = 120;
		snprintf(in->prev_comm, sizeof(in->prev_comm), "%s",
			 others[c % 4]);
		snprintf(in->next_comm, sizeof(in->next_comm), "md-feed-%u",
			 c % 8);
	}
}

/* One record, as a probe would write it: reserve, fill, commit. */
static bool produce(struct bench *b, struct ring_producer *p, __u64 i)
{
	const union bench_rec *t = &b->templates[i % NR_TEMPLATES];
	struct hftmon_rec_hdr *h;
	__u64 seq;

	h = ring_producer_reserve(p, t->hdr.type, t->hdr.size);
	if (!h)
		return false;
	seq = h->seq;
	memcpy(h, t, t->hdr.size);
	h->cpu = p->cpu;
	h->seq = seq;
	h->time_ns = 1000000000ull + i * 1500; /* one per 1.5 us */
	ring_producer_commit(p);
	return true;
}

/*
 * The consumer's per-record work: what hftmon_drain does (the aggregator)
 * and what the CLI's record command does with the record.
 */
static int on_record(void *ctx, const struct hftmon_rec_hdr *rec)
{
	struct bench *b = ctx;

	hftmon_agg_record(&b->agg, b->cur_ring, rec);
	if (!b->delivered || rec->time_ns < b->first_ns)
		b->first_ns = rec->time_ns;
	if (rec->time_ns > b->last_ns)
		b->last_ns = rec->time_ns;
	b->delivered++;
	b->by_type[rec->type]++;
	hftmon_threads_account(&b->threads, rec);
	return 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000u + (__u64)ts.tv_nsec;
}

/*
 * What callgrind counts (--toggle-collect): one pass over every ring,
 * then the aggregator's merge, as hftmon_drain() does it (the session
 * is live: the watermark is the clock less the reorder slack).
 */
__attribute__((noinline)) long bench_drain_pass(struct bench *b)
{
	__u64 pass_ns = mono_ns();
	unsigned int i;
	bool stopped;
	long n = 0;

	for (i = 0; i < b->o.nr_rings; i++) {
		b->cur_ring = i;
		n += hftmon_ring_drain(&b->rd[i], on_record, b, &stopped);
		hftmon_agg_ring_done(&b->agg, i, !stopped, pass_ns, false);
	}
	hftmon_agg_flush(&b->agg);
	return n;
}

static int setup_rings(struct bench *b)
{
	unsigned int i;
	int err;

	struct hftmon_agg_sizes sz = {
		.history_switches = BENCH_HISTORY,
		.history_wakeups = BENCH_HISTORY,
		.max_threads = HFTMON_DEFAULT_MAX_THREADS,
		.max_stacks = HFTMON_DEFAULT_MAX_STACKS,
		.reorder_records = HFTMON_AGG_MAX_REORDER,
	};

	err = hftmon_agg_init(&b->agg, b->o.nr_rings, &sz);
	if (err)
		return err;

	b->data_size = (__u64)b->o.ring_pages * PAGE;
	for (i = 0; i < b->o.nr_rings; i++) {
		b->maps[i] = ring_map_alloc(PAGE, b->data_size);
		if (!b->maps[i])
			return -ENOMEM;
		ring_producer_init(&b->prod[i], b->maps[i], PAGE, b->data_size,
				   (__u16)i);
		if (hftmon_ring_reader_init(&b->rd[i], b->maps[i],
					    PAGE + b->data_size))
			return -EPROTO;
	}
	return 0;
}

static void reset(struct bench *b)
{
	unsigned int i;

	for (i = 0; i < b->o.nr_rings; i++) {
		ring_map_free(b->maps[i], PAGE, b->data_size);
		b->maps[i] = NULL;
	}
	hftmon_threads_fini(&b->threads);
	hftmon_agg_fini(&b->agg);
	memset(b->by_type, 0, sizeof(b->by_type));
	b->delivered = 0;
	b->first_ns = b->last_ns = 0;
	b->attempts = 0;
	atomic_store(&b->stop, false);
	atomic_store(&b->producer_done, false);
}

static void print_check(struct bench *b)
{
	unsigned long long gaps = 0, bad = 0, lost = 0;
	unsigned int i;

	for (i = 0; i < b->o.nr_rings; i++) {
		gaps += b->rd[i].seq_gaps;
		bad += b->rd[i].bad_records;
		lost += ring_producer_lost(&b->prod[i]);
	}
	printf("  continuity: %llu lost by the producer, %llu seq gaps seen, %llu bad records: %s\n",
	       lost, gaps, bad,
	       gaps == lost && !bad ? "consistent" : "INCONSISTENT");
	printf("  aggregated: %u threads, %llu switch and %llu wake-up records; %llu completed switches, %llu wake-up latencies (%llu late, %llu unpaired)\n",
	       b->threads.nr, b->by_type[HFTMON_REC_SWITCH],
	       b->by_type[HFTMON_REC_WAKEUP],
	       (unsigned long long)b->agg.st.switches_completed,
	       (unsigned long long)b->agg.st.wakeups_completed,
	       (unsigned long long)b->agg.st.late,
	       (unsigned long long)b->agg.st.unpaired);
}

/* ---- threaded --------------------------------------------------------- */

static void *producer_main(void *arg)
{
	struct bench *b = arg;
	unsigned long long i = 0;
	unsigned int r;
	double cpu0 = thread_cpu_s();

	pin(b->o.producer_cpu, "producer");
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed) &&
	       (!b->o.records || i < b->o.records)) {
		for (r = 0; r < b->o.nr_rings; r++, i++)
			produce(b, &b->prod[r], i);
	}
	/* A last record per ring, waited for: trailing losses become gaps. */
	for (r = 0; r < b->o.nr_rings; r++, i++) {
		b->prod[r].block_when_full = true;
		produce(b, &b->prod[r], i);
	}
	b->attempts = i;
	b->producer_cpu_s = thread_cpu_s() - cpu0;
	atomic_store_explicit(&b->producer_done, true, memory_order_release);
	return NULL;
}

static int run_threaded(struct bench *b)
{
	unsigned long long passes = 0, empty = 0, lost = 0, busy_n = 0;
	double t0, t1, cpu0, consumer_cpu_s, busy_s = 0;
	__u64 watermark;
	unsigned int r;
	pthread_t t;

	if (setup_rings(b) || hftmon_threads_init(&b->threads, 4096))
		return -ENOMEM;
	watermark = (__u64)(b->o.watermark * (double)b->data_size);
	pin(b->o.consumer_cpu, "consumer");
	cpu0 = thread_cpu_s();
	t0 = now_s();
	if (pthread_create(&t, NULL, producer_main, b))
		return -EAGAIN;
	while (!atomic_load_explicit(&b->producer_done, memory_order_acquire)) {
		passes++;
		if (!rings_ready(b, watermark)) {
			empty++;
			cpu_relax();
		} else {
			/* Time only passes that have work: the busy rate. */
			double p0 = now_s();

			busy_n += bench_drain_pass(b);
			busy_s += now_s() - p0;
		}
		if (!b->o.records && (passes & 1023) == 0 &&
		    now_s() - t0 >= b->o.seconds)
			atomic_store_explicit(&b->stop, true,
					      memory_order_relaxed);
	}
	bench_drain_pass(b);
	t1 = now_s();
	consumer_cpu_s = thread_cpu_s() - cpu0;
	pthread_join(t, NULL);

	for (r = 0; r < b->o.nr_rings; r++)
		lost += ring_producer_lost(&b->prod[r]);
	printf("threaded: %u ring(s) of %u pages, producer on CPU %d, consumer on CPU %d, drain at %.0f%% full\n",
	       b->o.nr_rings, b->o.ring_pages, b->o.producer_cpu,
	       b->o.consumer_cpu, b->o.watermark * 100);
	printf("  drained+decoded: %llu records in %.3f s = %.2f M records/s (wall)\n",
	       b->delivered, t1 - t0, (double)b->delivered / (t1 - t0) / 1e6);
	printf("  busy rate: %.2f M records/s while the consumer had records (%.1f ns/record)\n",
	       busy_s > 0 ? (double)busy_n / busy_s / 1e6 : 0.0,
	       busy_n ? busy_s * 1e9 / (double)busy_n : 0.0);
	printf("  producer offered %.2f M records/s, %llu lost (%.1f%%)\n",
	       (double)b->attempts / (t1 - t0) / 1e6, lost,
	       b->attempts ? 100.0 * (double)lost / (double)b->attempts : 0.0);
	printf("  consumer polls: %llu, %.1f%% found no ring past the watermark\n",
	       passes, passes ? 100.0 * (double)empty / (double)passes : 0.0);
	printf("  CPU time: consumer %.2f s, producer %.2f s of %.2f s wall%s\n",
	       consumer_cpu_s, b->producer_cpu_s, t1 - t0,
	       consumer_cpu_s + b->producer_cpu_s < 1.8 * (t1 - t0) ?
		       ": the threads were not running in parallel (busy machine?): the wall rate is the scheduler's, see the busy rate" :
		       "");
	print_check(b);
	reset(b);
	return 0;
}

/* ---- inline ----------------------------------------------------------- */

static int run_inline(struct bench *b)
{
	unsigned long long target = b->o.records, i = 0;
	double drain_s = 0, t0, start = now_s();
	unsigned int r;

	if (setup_rings(b) || hftmon_threads_init(&b->threads, 4096))
		return -ENOMEM;
	pin(b->o.consumer_cpu, "consumer");
	for (;;) {
		bool more = false;

		/* Fill every ring up to 90%: no record is lost. */
		for (r = 0; r < b->o.nr_rings; r++) {
			struct ring_producer *p = &b->prod[r];

			while ((!target || i < target) &&
			       p->head - hftmon_ring_load_acquire(
						 &p->ctrl->data_tail) <
				       b->data_size / 10 * 9) {
				produce(b, p, i++);
				more = true;
			}
		}
		if (!more)
			break;
		t0 = now_s();
		bench_drain_pass(b);
		drain_s += now_s() - t0;
		if (!target && now_s() - start >= b->o.seconds)
			break;
	}

	printf("inline: %u ring(s) of %u pages, fill then drain on CPU %d (drain timed alone)\n",
	       b->o.nr_rings, b->o.ring_pages, b->o.consumer_cpu);
	printf("  drained+decoded: %llu records in %.3f s of draining = %.2f M records/s, %.1f ns/record\n",
	       b->delivered, drain_s, (double)b->delivered / drain_s / 1e6,
	       drain_s * 1e9 / (double)b->delivered);
	print_check(b);
	reset(b);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: drain_bench [--mode threaded|inline|both] [--seconds S] [--records N]\n"
		"                   [--ring-pages N] [--rings K] [--producer-cpu C] [--consumer-cpu C]\n"
		"Drain rate of libhftmon's ring reader + decoder + per-thread counts +\n"
		"query aggregator (pairing, wake-up latencies).\n"
		"  --mode          threaded: producer thread vs consumer; inline: fill,\n"
		"                  then time the drain alone (default: both)\n"
		"  --seconds S     how long each mode runs (default 2)\n"
		"  --records N     a fixed number of records instead (for callgrind)\n"
		"  --ring-pages N  data pages per ring, a power of two (default 64, the\n"
		"                  module's default)\n"
		"  --rings K       rings fed round-robin by the producer (default 1)\n"
		"  --producer-cpu C, --consumer-cpu C  pin the threads (default 0 and 1;\n"
		"                  -1: not pinned)\n"
		"  --watermark F   threaded: drain once a ring is F full, as poll() does\n"
		"                  with the module's default wakeup_bytes (default 0.25;\n"
		"                  0: drain whatever is there, busy polling)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "records", required_argument, NULL, 'n' },
		{ "ring-pages", required_argument, NULL, 'p' },
		{ "rings", required_argument, NULL, 'r' },
		{ "producer-cpu", required_argument, NULL, 'P' },
		{ "consumer-cpu", required_argument, NULL, 'C' },
		{ "watermark", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench *b = calloc(1, sizeof(*b));
	int c, err = 0;

	if (!b)
		return 1;
	b->o.mode = "both";
	b->o.seconds = 2;
	b->o.ring_pages = 64;
	b->o.nr_rings = 1;
	b->o.producer_cpu = 0;
	b->o.consumer_cpu = 1;
	b->o.watermark = 0.25;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			b->o.mode = optarg;
			break;
		case 's':
			b->o.seconds = atof(optarg);
			break;
		case 'n':
			b->o.records = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			b->o.ring_pages = (unsigned int)atoi(optarg);
			break;
		case 'r':
			b->o.nr_rings = (unsigned int)atoi(optarg);
			break;
		case 'P':
			b->o.producer_cpu = atoi(optarg);
			break;
		case 'C':
			b->o.consumer_cpu = atoi(optarg);
			break;
		case 'w':
			b->o.watermark = atof(optarg);
			break;
		case 'h':
			usage(stdout);
			free(b);
			return 0;
		default:
			usage(stderr);
			free(b);
			return 2;
		}
	}
	if (!b->o.ring_pages || (b->o.ring_pages & (b->o.ring_pages - 1)) ||
	    !b->o.nr_rings || b->o.nr_rings > MAX_RINGS || b->o.seconds <= 0 ||
	    b->o.watermark < 0 || b->o.watermark > 1 ||
	    (strcmp(b->o.mode, "threaded") && strcmp(b->o.mode, "inline") &&
	     strcmp(b->o.mode, "both"))) {
		usage(stderr);
		free(b);
		return 2;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 && b->o.consumer_cpu == 1)
		b->o.consumer_cpu = b->o.producer_cpu = -1;
	make_templates(b);
	printf("drain_bench: HFTMON_REC_SWITCH (%zu bytes) and HFTMON_REC_WAKEUP (%zu bytes) records, 2:1\n",
	       sizeof(struct hftmon_rec_switch),
	       sizeof(struct hftmon_rec_wakeup));
	if (strcmp(b->o.mode, "inline"))
		err = run_threaded(b);
	if (!err && strcmp(b->o.mode, "threaded"))
		err = run_inline(b);
	if (err)
		fprintf(stderr, "drain_bench: %s\n", strerror(-err));
	free(b);
	return err ? 1 : 0;
}
