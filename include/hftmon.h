/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libhftmon: the userspace API of hftmon. It wraps /dev/hftmon's ioctls
 * and drains the per-CPU rings the module fills. Every function returns 0
 * (or a count) on success and -errno on failure; nothing prints: messages
 * go to the optional log callback. The event records themselves are the
 * kernel ABI types of <linux/hftmon.h>.
 *
 * Typical use:
 *   hftmon_open(NULL, &m);
 *   hftmon_configure(m, &cfg);          // rings, events
 *   hftmon_attach_process(m, pid, &ao); // as many processes as needed
 *   hftmon_start(m);
 *   while (...) { hftmon_wait(m, 100); hftmon_drain(m, on_record, ctx); }
 *   hftmon_stop(m); hftmon_drain(m, on_record, ctx);
 *   hftmon_close(m);
 *
 * Threads: a handle is not thread-safe; call its functions from one
 * thread at a time. The one exception is the library's own drain thread
 * (hftmon_monitor_config.drain_thread): while it runs, the queries and
 * hftmon_get_stats() may be called from any one caller thread, and they
 * take a lock shared with it, one batch at a time (see the queries).
 *
 * What a caller may rely on across versions (libhftmon.so.2, symbol
 * version nodes HFTMON_2.0, HFTMON_2.1...):
 * - Every struct passed in or out begins with "size_t sz", which the
 *   caller sets to sizeof the struct as its header declares it (for an
 *   array, the first element's sz gives the size of every element). Fields
 *   are only ever added at the end. A library newer than the caller reads
 *   an input struct's missing fields as zero (their defaults) and fills
 *   only the output fields the caller has room for; an older library
 *   accepts a newer caller's struct only if every byte after the end of the
 *   last field it knows is zero, padding included, and returns -E2BIG
 *   otherwise, so an option it cannot honour is never ignored silently.
 *   sz smaller than the size field itself is -EINVAL.
 * - Functions keep their signature and meaning within a soname; new ones
 *   come in a new version node. An incompatible change gets a new soname.
 * - Record types keep their numbers and their layouts only grow at the end
 *   (<linux/hftmon.h>); records of types the library does not decode are
 *   stepped over and counted (hftmon_stats_summary.unknown_records), never
 *   handed out, and never cost the records after them.
 * - Nothing else: internal structs, the aggregator's memory layout and
 *   the default sizes may change between releases.
 */
#ifndef HFTMON_H
#define HFTMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/hftmon.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hftmon;
struct hftmon_pmu_counter;

enum hftmon_log_level { HFTMON_LOG_ERROR, HFTMON_LOG_WARN, HFTMON_LOG_INFO,
			HFTMON_LOG_DEBUG };
typedef void (*hftmon_log_fn)(void *ctx, enum hftmon_log_level level,
			      const char *msg);

/* Options structs begin with their size: set .sz = sizeof(struct ...). */
#define HFTMON_OPTS(type, name, ...) \
	struct type name = { .sz = sizeof(struct type), __VA_ARGS__ }
struct hftmon_open_opts {
	size_t sz;
	const char *device;	/* NULL: HFTMON_DEVICE */
	hftmon_log_fn log;	/* NULL: silent */
	void *log_ctx;
};

/* Opens the device and reads its capabilities. */
int hftmon_open(const struct hftmon_open_opts *opts, struct hftmon **out);
/* Stops monitoring if running, unmaps the rings, closes. NULL is fine. */
void hftmon_close(struct hftmon *m);

/*
 * The module's capabilities, as read at open. Set info->size first (the
 * uapi struct's own size field): the library fills what it holds.
 */
int hftmon_get_info(struct hftmon *m, struct hftmon_info *info);
/* "sched_switch", "irq", "pmu_hw"...; NULL for an unknown source. */
const char *hftmon_source_name(enum hftmon_source src);
/*
 * Why a source is unavailable, from its source_status: NULL when status is
 * 0, otherwise a sentence such as "the CPU exposes no hardware PMU".
 */
const char *hftmon_source_reason(enum hftmon_source src, int status);

struct hftmon_monitor_config {
	size_t sz;
	/*
	 * 0 = off. With pmu_counters: also read them every this many us
	 * (1..1000000) while a tracked thread runs, not only at its switches
	 * (a timer armed only then); -EINVAL without counters, outside that
	 * range, or below what the kernel's timers resolve (CONFIGURE's
	 * -EINVAL). The interval achieved: hftmon_pmu_totals.
	 */
	uint32_t sampling_interval_us;
	/* The monitor's own drain thread: CPUs to pin it to, RT priority. */
	const int *cpu_affinity;	/* NULL = leave as is */
	size_t nr_cpu_affinity;
	int realtime_priority;		/* 0 = leave as is, 1..99 SCHED_FIFO */
	uint32_t ring_pages;		/* per-CPU data pages; 0 = default */
	uint64_t events;		/* HFTMON_EV_*; 0 = the scheduler events */
	/*
	 * true: hftmon_start() starts the library's own drain thread, with
	 * cpu_affinity and realtime_priority applied (refused with -EPERM/
	 * -EINVAL at start when the system does not allow them); the caller
	 * then queries, and hftmon_drain()/hftmon_read_records() return
	 * -EBUSY. false: the caller drains; queries see what was drained.
	 */
	bool drain_thread;
	/*
	 * The thread's interval while records flow (see drain_max_interval_us
	 * for how it grows while they do not); 0 = 1000. Rounded up to ms.
	 */
	uint32_t drain_interval_us;
	/*
	 * The aggregator behind the queries, allocated here and never after
	 * (see hftmon_get_stats() for what overflowed). Completed context
	 * switches kept; 0 = HFTMON_DEFAULT_HISTORY_SWITCHES.
	 */
	uint32_t history_switches;
	/* Wake-up latency samples kept; 0 = HFTMON_DEFAULT_HISTORY_WAKEUPS. */
	uint32_t history_wakeups;
	/*
	 * Only with drain_thread: called on the drain thread for every
	 * record, after the aggregator (if any), with it locked (so it
	 * must not call this handle's functions). Non-zero ends that pass
	 * early; the rest is read on the next. NULL: records feed the
	 * queries only.
	 */
	int (*record_fn)(void *ctx, const struct hftmon_rec_hdr *rec);
	void *record_ctx;
	/*
	 * true: no aggregator at all (nothing is allocated for it), for
	 * callers that only drain raw records; the queries then return
	 * -EOPNOTSUPP. history_* and max_* must be 0 with it.
	 */
	bool raw_only;
	/* Threads with pairing state at once; 0 = HFTMON_DEFAULT_MAX_THREADS. */
	uint32_t max_threads;
	/* Distinct stack ids kept; 0 = HFTMON_DEFAULT_MAX_STACKS. */
	uint32_t max_stacks;
	/*
	 * Only with drain_thread: what the queries' staleness may be, traded
	 * against the thread's wake-ups. The thread sleeps until a ring holds
	 * wakeup_bytes (the module wakes it), stop, or the end of its
	 * interval. The interval is drain_interval_us after a pass that found
	 * records, and doubles with every pass that finds the rings empty, up
	 * to drain_max_interval_us: so a record waits in its ring at most
	 * drain_max_interval_us before it is drained (much less while records
	 * flow), and the queries see it at most HFTMON_DRAIN_MERGE_MS later
	 * (the merge holds the newest records back until the next pass, which
	 * the thread then makes that soon). An idle session costs one wake-up
	 * per drain_max_interval_us. HFTMON_DRAIN_NO_TIMER: no wake-up at all
	 * while the rings are empty; records that do not fill a ring to
	 * wakeup_bytes then wait for more, or for stop, which always drains
	 * everything. On PREEMPT_RT the module's wake-up runs in the tracked
	 * CPU's irq_work thread, which a busier real-time thread there can
	 * hold off: keep a ceiling there. 0 =
	 * HFTMON_DEFAULT_DRAIN_MAX_INTERVAL_US; otherwise at least
	 * drain_interval_us.
	 */
	uint32_t drain_max_interval_us;
	/*
	 * The watermark: hftmon_wait() and the drain thread are woken when a
	 * ring holds this many bytes (at most the ring's size); 0 = the
	 * module's default, a quarter of the ring. Lower: fresher, and more
	 * wake-ups, each of them an irq_work on the tracked CPU.
	 */
	uint32_t wakeup_bytes;
	/* ---- HFTMON_2.1 ---- */
	/*
	 * Latency spikes detected by the kernel (HFTMON_REC_SPIKE), against
	 * this threshold: 0 = off; else 1 .. 10000000 (10 s), and
	 * HFTMON_EV_SPIKE is added to events (with the scheduler events when
	 * events is 0: spikes need HFTMON_EV_SWITCH and HFTMON_EV_WAKEUP).
	 * hftmon_set_spike_threshold() changes it while running.
	 */
	uint64_t spike_threshold_us;
	/*
	 * The interruptions of events (HFTMON_EV_IRQ_ALL bits) are recorded
	 * on a CPU while a tracked thread runs there, and on these CPUs
	 * whatever runs (a system-wide view): CPU numbers below
	 * HFTMON_IRQ_CPUS_MAX and nr_cpu_ids. NULL/0 = none.
	 */
	const int *irq_cpus;
	size_t nr_irq_cpus;
	/* ---- HFTMON_2.3 ---- */
	/*
	 * PMU counters read at every switch of a tracked thread, at most
	 * HFTMON_PMU_MAX_COUNTERS (see "PMU counters" below): with any, the
	 * session records HFTMON_EV_PMU (added to events, with
	 * HFTMON_EV_SWITCH, which it needs; 0 events: the scheduler events
	 * and these). NULL/0 = none.
	 */
	const struct hftmon_pmu_counter *pmu_counters;	/* [0].sz set */
	size_t nr_pmu_counters;
	/* ---- HFTMON_2.4 ---- */
	/*
	 * The NUMA heatmap at cache-line resolution (HFTMON_NUMA_RES_CACHELINE,
	 * see "NUMA access statistics"): 0 = off; else, with HFTMON_EV_NUMA
	 * and the aggregator (-EINVAL without, or above
	 * HFTMON_NUMA_LINE_MAX_PERIOD), the library samples the tracked
	 * threads' memory accesses with their data addresses, one in this many
	 * events of the CPU's sampling event: AMD IBS op (dispatched ops,
	 * rounded up to a multiple of 16, as IBS counts), or Intel PEBS
	 * MEM_TRANS_RETIRED:LOAD_LATENCY (loads slower than numa_line_ldlat
	 * cycles). Configure succeeds where the machine has neither or the
	 * kernel refuses it: hftmon_numa_cacheline_status() and the query say
	 * why.
	 */
	uint32_t numa_line_period;
	/* Intel's load latency threshold in cycles, 3..65535; 0 = 30. */
	uint32_t numa_line_ldlat;
};

#define HFTMON_NUMA_LINE_MAX_PERIOD (1u << 28)

#define HFTMON_DEFAULT_DRAIN_MAX_INTERVAL_US 100000u
#define HFTMON_DRAIN_NO_TIMER UINT32_MAX
#define HFTMON_DRAIN_MERGE_MS 3

/*
 * The defaults keep the aggregator of hftmon_configure() under 16 MiB on
 * any machine (12.1 MiB as tests/unit/mem/footprint.c measures it, 14.7
 * MiB with interruption events and spikes, all of it resident under
 * mlockall(): its
 * reorder pool is capped, not sized by the rings): 32768 switches (about
 * 136 bytes each), 65536 wake-ups (24 bytes, and 8 more for the query's
 * own buffer), 4096 threads and 4096 stacks.
 */
#define HFTMON_DEFAULT_HISTORY_SWITCHES (1u << 15)
#define HFTMON_DEFAULT_HISTORY_WAKEUPS (1u << 16)
#define HFTMON_DEFAULT_MAX_THREADS 4096u
#define HFTMON_DEFAULT_MAX_STACKS 4096u
/*
 * With interruption events, the aggregator also keeps (sizes fixed in
 * this release): the last HFTMON_HISTORY_IRQS interruptions (48 bytes
 * each, and 32 for hftmon_get_irq_stats()'s windows), totals and two
 * histograms (about 3.7 KiB) for each of HFTMON_MAX_IRQ_SOURCES sources
 * (CPU, kind, number and the tracked thread interrupted), and with spikes
 * the last HFTMON_HISTORY_SPIKES spikes (56 bytes each).
 */
#define HFTMON_HISTORY_IRQS (1u << 13)
#define HFTMON_MAX_IRQ_SOURCES 512u
#define HFTMON_HISTORY_SPIKES 1024u
/*
 * With HFTMON_EV_RUNQ (who runs where a tracked thread waits, for the
 * TASK parts of explain and of spikes' causes), the last
 * HFTMON_HISTORY_RUNQ context switches the records show, on any CPU (88
 * bytes each): a wait older than that is explained as without it.
 */
#define HFTMON_HISTORY_RUNQ (1u << 15)

/*
 * Allocates the rings (and maps them) and the aggregator. Only while
 * stopped. cfg may be NULL (every default).
 */
int hftmon_configure(struct hftmon *m, const struct hftmon_monitor_config *cfg);

struct hftmon_attach_opts {
	size_t sz;
	bool track_cache;	/* cache metrics: see "Cache metrics" below */
	/*
	 * NUMA balancing events and sampled accesses for this process: the
	 * session must have been configured with HFTMON_EV_NUMA (-EINVAL
	 * otherwise, logged; configure refuses that event with -EOPNOTSUPP
	 * where the module does not offer it). The module records them for every tracked process
	 * of such a session (HFTMON_ATTACH_NUMA is not sent: it is refused);
	 * true says that this process needs them, and fails loudly where
	 * they cannot be had instead of attaching without them.
	 */
	bool track_numa;
	bool kernel_stacks;	/* kernel stack at each switch-out */
	bool user_stacks;	/* user stack at each switch-out */
	/*
	 * HFTMON_2.2, with kernel_stacks: only for switches at least this
	 * many us off CPU, unwound by the kernel when the thread runs again,
	 * so that short switches cost no unwind. Where the module does not
	 * offer it (HFTMON_FEAT_KSTACK_MIN: x86 only), every switch-out's
	 * stack is taken as without it (queries still filter by duration).
	 * At most 10 s (-EINVAL above, or without kernel_stacks).
	 */
	uint32_t kernel_stacks_min_us;
	/*
	 * HFTMON_2.3: the new processes it forks (and theirs) are tracked
	 * too, from the fork on, before they first run, with these options
	 * (perf's inherit). Needs HFTMON_EV_FORK in the configuration's
	 * events (-EINVAL) and a module that offers it (HFTMON_FEAT_INHERIT;
	 * -EOPNOTSUPP). hftmon_get_processes() lists the children followed.
	 */
	bool follow_children;
};

/* Tracks every thread of pid's process; opts may be NULL (defaults). */
int hftmon_attach_process(struct hftmon *m, pid_t pid,
			  const struct hftmon_attach_opts *opts);
int hftmon_detach_process(struct hftmon *m, pid_t pid);

int hftmon_start(struct hftmon *m);
int hftmon_stop(struct hftmon *m);

/*
 * HFTMON_2.3: the processes tracked: those attached (in attach order),
 * then the children followed (follow_children), in the order their FORK
 * records were drained, exited ones included; up to max into pids.
 * Returns how many in all, or -errno (-EOPNOTSUPP raw_only: children are
 * known from the aggregated records). *not_followed (may be NULL): forks
 * that were not followed because the module's max_procs were tracked
 * already, or a burst of forks outran the entries it makes ahead.
 */
int hftmon_get_processes(struct hftmon *m, pid_t *pids, size_t max,
			 uint64_t *not_followed);

/*
 * Waits until a ring has data past its watermark (or timeout_ms, -1 =
 * forever). Returns 1 ready, 0 timeout, -errno.
 */
int hftmon_wait(struct hftmon *m, int timeout_ms);

/*
 * Raw event stream. Calls fn for every record now in the rings, CPU by
 * CPU in ring order, zero-copy (rec points into the ring and is valid only
 * during the call). Returns the number of records delivered, or -errno.
 * A non-zero return from fn stops the drain early; that record counts as
 * consumed. Never allocates. Only records of types this library decodes
 * are delivered: others (a newer module's) are stepped over and counted
 * in hftmon_stats_summary.unknown_records, and never cost what follows.
 */
typedef int (*hftmon_record_fn)(void *ctx, const struct hftmon_rec_hdr *rec);
int hftmon_drain(struct hftmon *m, hftmon_record_fn fn, void *ctx);

/*
 * Batch form: copies whole records (each 8-byte aligned, back to back;
 * the same records hftmon_drain() delivers) into buf, at most len bytes.
 * Returns bytes copied (0 = nothing pending), -ENOSPC if len cannot hold
 * the next record, or -errno.
 */
ssize_t hftmon_read_records(struct hftmon *m, void *buf, size_t len);

/* Statistics: kernel-side per CPU plus what the library itself saw. */
struct hftmon_stats_summary {
	size_t sz;
	uint64_t records;		/* written by the kernel, all CPUs */
	uint64_t lost[HFTMON_LOST_MAX];	/* by enum hftmon_lost_cause */
	uint64_t lost_total;
	uint64_t delivered;		/* records the library handed out */
	uint64_t seq_gaps;		/* records missing by seq (= lost) */
	uint64_t bad_records;		/* malformed (never expected) */
	uint32_t nr_procs;
	bool running;
	uint64_t start_ns, stop_ns;	/* CLOCK_MONOTONIC */
	/* The aggregator behind the queries. */
	uint64_t switches_completed;	/* switch-out paired with switch-in */
	uint64_t switches_overwritten;	/* history full: oldest dropped */
	uint64_t wakeups_overwritten;
	/*
	 * Records the aggregator got after it had already processed later
	 * ones (paired as they came; may mis-pair), and records it could not
	 * use because its thread table or stack table was full.
	 */
	uint64_t aggregator_late;
	uint64_t aggregator_dropped;
	/*
	 * Records of a type this library does not decode (a newer module's):
	 * stepped over by their size, never delivered; the records after
	 * them are. bad_records counts malformed ones stepped over the same
	 * way, and rings that could not be parsed on (skipped to the head).
	 */
	uint64_t unknown_records;
	/*
	 * The library's drain thread, summed over this handle's sessions:
	 * the times it woke (drain_timer_wakeups of them at the end of its
	 * interval, the others at the watermark or stop), the records it
	 * drained (drain_records / drain_wakeups: records per wake-up) and
	 * the CPU time it used, from its thread CPU clock, in ns.
	 */
	uint64_t drain_wakeups;
	uint64_t drain_timer_wakeups;
	uint64_t drain_records;
	uint64_t drain_cpu_ns;
};
/*
 * cpus may be NULL; otherwise up to nr_cpus entries are filled. Returns
 * the number of entries filled (0 when cpus is NULL), or -errno.
 */
int hftmon_get_stats(struct hftmon *m, struct hftmon_stats_summary *sum,
		     struct hftmon_cpu_stats *cpus, unsigned int nr_cpus);

/*
 * ---- Queries -----------------------------------------------------------
 * Every record drained (by the drain thread or by the caller) also feeds
 * the library's aggregator: switch-outs are paired with the following
 * switch-in of the same thread into completed switches, wake-ups with the
 * switch-in that ends them into wake-up latencies, STACK records into a
 * stack table. Memory for all of it is taken at configure time; when a
 * history is full the oldest entries are overwritten (and counted).
 * Pairing is by time across CPUs, so a record is aggregated once no CPU's
 * ring can still hold an older one: during a session, what happened in
 * the last few milliseconds before the latest drain shows up after the
 * next drain; after hftmon_stop() and a drain, everything has.
 * Windows: window_us > 0 keeps what ended within the last window_us
 * microseconds before the call (CLOCK_MONOTONIC); 0 keeps everything.
 * On a handle from hftmon_open_file() they end where the recording did
 * (its stop, else its close, else its last record), in the clock of the
 * boot it was recorded in.
 *
 * The queries never allocate, and take the lock the drain thread needs
 * for one batch of at most HFTMON_QUERY_BATCH history entries at a time,
 * so a query over a long history never holds the drain off for longer
 * than that. What the drain adds meanwhile is left for the next query;
 * an entry of the window that the drain overwrites (history full) before
 * the query reached it is skipped and counted (hftmon_latency.missed,
 * and the stats' *_overwritten). Without an aggregator (raw_only) they
 * return -EOPNOTSUPP.
 */
#define HFTMON_QUERY_BATCH 4096

struct hftmon_switch_query {
	size_t sz;
	pid_t pid;			/* 0 = every attached process */
	pid_t tid;			/* 0 = every thread */
	uint64_t min_duration_us;	/* only switches off CPU this long */
	uint64_t window_us;
	bool include_stack_trace;	/* fill kstack/ustack ids (0 if none) */
	/*
	 * HFTMON_2.3: the switches back in within [since_ns, until_ns) of
	 * CLOCK_MONOTONIC instead of window_us (until_ns 0 = no end), with
	 * the rules of hftmon_latency_query's: -EINVAL with window_us too,
	 * -ERANGE while a switch of the window may still be in a ring.
	 */
	uint64_t since_ns, until_ns;
};

/* One completed context switch of a tracked thread: out, then back in. */
struct hftmon_switch_event {
	size_t sz;			/* out[0].sz: see the top of this file */
	pid_t pid, tid;
	char comm[HFTMON_TASK_COMM_LEN];
	uint64_t out_ns;		/* left the CPU (CLOCK_MONOTONIC) */
	uint64_t in_ns;			/* ran again */
	uint64_t off_cpu_ns;		/* in_ns - out_ns */
	uint64_t wakeup_ns;		/* woken at; 0 = was not blocked */
	pid_t waker_pid, waker_tid;	/* 0 if not woken */
	bool voluntary;			/* blocked (else preempted) */
	uint32_t prev_state;		/* raw task state at switch-out */
	int prio;			/* kernel prio at switch-out */
	int out_cpu, in_cpu;		/* differ: migrated while off CPU */
	/* The task that took the CPU at switch-out. */
	pid_t next_pid, next_tid;
	char next_comm[HFTMON_TASK_COMM_LEN];
	int next_prio;			/* kernel prio: 0..99 RT, 100..139 */
	unsigned int next_policy;	/* SCHED_* */
	uint32_t kstack_id, ustack_id;	/* see hftmon_get_stack() */
};

/*
 * Completed switches matching q, oldest first: fills up to max events and
 * returns how many matched in all (may exceed max), or -errno. With max >
 * 0, out[0].sz must be set (the size of each element); -EINVAL if not.
 */
int hftmon_get_context_switches(struct hftmon *m,
				const struct hftmon_switch_query *q,
				struct hftmon_switch_event *out, size_t max);

/*
 * The addresses of a stack id (from an event). Returns the number of
 * frames (up to max copied into ips; *flags gets HFTMON_STACK_*), or
 * -ENOENT for an unknown id, -ENODATA when its STACK record was lost.
 *
 * A user stack (HFTMON_STACK_USER) starts with the thread's own
 * instruction pointer, exact; the frames after it are return addresses
 * found by following frame pointers, copied without faulting. Past a
 * function that keeps no frame pointer (glibc's, mostly) the walk reads
 * data: a frame that is not in executable memory of the process (see
 * /proc/PID/maps) ends the trustworthy part, as `hftmon switches` shows.
 */
int hftmon_get_stack(struct hftmon *m, uint32_t stack_id, uint64_t *ips,
		     size_t max, unsigned int *flags);

/* Wake-up to running latency: summary of a set of samples. */
#define HFTMON_LOG2_SLOTS 65

struct hftmon_latency {
	size_t sz;			/* set by the caller */
	uint64_t count;
	double min_us, mean_us, max_us;
	double stddev_us;		/* the scheduling jitter (population) */
	/* Exact, by nearest rank over every sample: values that were measured. */
	double p50_us, p90_us, p99_us, p999_us;
	/*
	 * Samples of the window overwritten by the drain (history full)
	 * before this query could read them: 0 means the figures cover every
	 * sample that ended in the window and was still in the history.
	 */
	uint64_t missed;
	/*
	 * HFTMON_2.2: the same samples as a power-of-two histogram, as
	 * bpftrace's hist() has it: log2_ns[0] counts latencies of 0 ns,
	 * log2_ns[1] of 1 ns, log2_ns[k] (k >= 2) of [2^(k-1), 2^k) ns.
	 */
	uint64_t log2_ns[HFTMON_LOG2_SLOTS];
};

struct hftmon_latency_query {
	size_t sz;
	pid_t pid;			/* 0 = every attached process */
	pid_t tid;			/* 0 = every thread of pid */
	uint64_t window_us;
	/* Extra percentiles (0 < p <= 100) into pct_out[i], microseconds. */
	const double *percentiles;
	double *pct_out;
	size_t nr_percentiles;
	/*
	 * HFTMON_2.2: a window fixed in time instead of window_us, which
	 * counts back from the call: the samples that ended (switch-in) in
	 * [since_ns, until_ns) of CLOCK_MONOTONIC; until_ns 0 = no end. An
	 * interval asked again later, or of a recording, keeps its samples.
	 * With window_us as well: -EINVAL. An until_ns the library has not
	 * merged every ring up to yet (a record of the window may still be
	 * in one): -ERANGE, final once the drain has passed it (hftmon_drain(),
	 * or a pass of the drain thread), as hftmon_explain().
	 */
	uint64_t since_ns, until_ns;
};

/*
 * Latency from each wake-up of a tracked thread to its next switch-in,
 * over q's window, into lat (sz set; may be NULL when only pct_out is
 * wanted). Exact nearest-rank percentiles, never bucket approximations.
 * count 0 and -ENODATA when there is no sample.
 */
int hftmon_get_wakeup_latency(struct hftmon *m,
			      const struct hftmon_latency_query *q,
			      struct hftmon_latency *lat);

#define HFTMON_MAX_CPUS	1024

/*
 * One thread, as the kernel sees it at the moment of the call. Its
 * wake-up latency: hftmon_get_wakeup_latency() with its tid.
 */
struct hftmon_thread_info {
	size_t sz;			/* out[0].sz: see the top of this file */
	pid_t pid, tid;
	char comm[HFTMON_TASK_COMM_LEN];
	int policy;			/* SCHED_OTHER/FIFO/RR/BATCH/IDLE/DEADLINE */
	int rt_priority;		/* 1..99 for FIFO/RR, else 0 */
	int nice;
	uint64_t affinity[HFTMON_MAX_CPUS / 64];	/* bit n: may run on CPU n */
	int cpu;			/* CPU it runs on or last ran on */
	/*
	 * On-CPU time: from schedstat (ns), or, where the kernel has no
	 * schedstat, from /proc .../stat ticks: cpu_time_resolution_ns says
	 * which (1, or 1e9/USER_HZ).
	 */
	uint64_t cpu_time_ns;
	uint64_t cpu_time_resolution_ns;
	/* Time runnable but waiting (schedstat); -1 = unknown (no schedstat). */
	int64_t run_delay_ns;
	uint64_t voluntary_switches;	/* /proc .../status */
	uint64_t involuntary_switches;
	int64_t migrations;		/* se.nr_migrations; -1 = unknown */
};

/*
 * Every thread of pid: fills up to max entries (out[0].sz set when max >
 * 0), returns the number of threads (may exceed max), or -errno (-ESRCH:
 * no such process). Values are read from /proc and sched_getattr() at the
 * call, for any process the caller may read, attached or not, configured
 * or not, or none (m NULL: nothing logged). Unlike the aggregator's
 * queries it reads /proc, so it may allocate (the directory listing); it
 * takes no lock the drain needs.
 */
int hftmon_get_thread_scheduling_info(struct hftmon *m, pid_t pid,
				      struct hftmon_thread_info *out,
				      size_t max);

/*
 * ---- Recording files ---------------------------------------------------
 * Record once, look many times. hftmon_record_to_file(), on a configured
 * and stopped handle, writes every record drained from then on (by the
 * drain thread, hftmon_drain() or hftmon_read_records()) to fd, with the
 * module's info, the aggregator's sizes, and at every hftmon_stop() the
 * kernel's counters and the attached processes' threads as
 * hftmon_get_thread_scheduling_info() reads them then. The file ends at
 * hftmon_close() or the next hftmon_configure(); fd stays the caller's
 * (a regular file, or a pipe: it is only appended to). The drain copies
 * each record once more into a 4 MiB buffer taken here, and writes it
 * out at the end of each pass: no allocation in the drain. A write error
 * ends the recording (the session goes on) and hftmon_stop() returns it.
 * The format (lib/file.h) is versioned: this library reads every file of
 * major version 1, and a later minor version only adds to it.
 *
 * hftmon_open_file() opens such a file as a stopped handle that answers
 * every query, hftmon_get_info(), hftmon_get_stats() and
 * hftmon_get_thread_scheduling_info() (the threads as they were at the
 * stop) from the file, exactly as the recording handle did after its
 * last drain; hftmon_drain() hands out its records once, in file order.
 * Everything that needs the device (configure, attach, start, stop,
 * wait, read_records, record_to_file) returns -EBADF on it. Errors:
 * -EBADMSG not an hftmon file or corrupt (the log says where),
 * -EPROTONOSUPPORT a newer major version, -errno from open/mmap.
 *
 * Notes: named blobs an application adds to its recording (the CLI keeps
 * its command line, the kernel's symbols and the targets' maps there);
 * names of 1..255 bytes, the last note of a name wins. A note's data
 * stays valid until the handle is closed.
 */
int hftmon_record_to_file(struct hftmon *m, int fd);
int hftmon_file_note(struct hftmon *m, const char *name, const void *data,
		     size_t len);
int hftmon_open_file(const char *path, const struct hftmon_open_opts *opts,
		     struct hftmon **out);
int hftmon_file_get_note(struct hftmon *m, const char *name,
			 const void **data, size_t *len);

/* What hftmon_open_file() found in the file. */
struct hftmon_file_info {
	size_t sz;
	unsigned int major, minor;	/* the file's format version */
	unsigned int nr_cpus;		/* CPU rings recorded */
	uint64_t mono_ns, real_ns;	/* when recording began, both clocks */
	char library[24];		/* the libhftmon version that wrote it */
	bool complete;			/* false: cut short (no END section) */
	bool have_stats;		/* a stop was recorded (loss counts) */
};
int hftmon_file_info(struct hftmon *m, struct hftmon_file_info *info);

/*
 * ---- NUMA placement (HFTMON_2.1) ----------------------------------------
 * Read from the system at the call (they may allocate, and take no lock
 * the drain needs), on any handle, configured or not, or with m NULL (no
 * module needed; nothing is logged).
 *
 * hftmon_get_numa_topology(): every online node, as the kernel describes
 * it in /sys/devices/system/node: its CPUs, memory and distances (the
 * firmware's table: 10 = local). A kernel without NUMA is one node
 * holding every CPU and all memory. Fills up to
 * max (out[0].sz set), returns the number of nodes, or -errno.
 *
 * hftmon_get_numa_residency(): every mapping of pid (as /proc/PID/maps
 * lists it) with its resident pages per node, from /proc/PID/numa_maps
 * (the kernel's walk of its page tables; without NUMA in the kernel,
 * smaps' Rss, all on node 0). page_size is the mapping's (a huge page
 * counts once). The caller must be allowed to ptrace-read pid (-EPERM
 * otherwise), -ESRCH no such process. Fills up to max (out[0].sz set),
 * returns the number of mappings. Its cost is the kernel's walk: it grows
 * with the resident memory, not with the address space.
 */
#define HFTMON_NUMA_MAX_NODES 64

struct hftmon_numa_node {
	size_t sz;			/* out[0].sz */
	int node;
	uint64_t mem_total_bytes, mem_free_bytes;
	uint64_t cpus[HFTMON_MAX_CPUS / 64];	/* bit n: CPU n is on it */
	int distance[HFTMON_NUMA_MAX_NODES];	/* to node j; 0 = unknown */
};

struct hftmon_numa_mapping {
	size_t sz;			/* out[0].sz */
	uint64_t start, end;		/* the address range */
	char path[256];			/* the maps name: a file, "[heap]", "" */
	uint64_t page_size;
	uint64_t resident;		/* resident pages, every node */
	uint64_t pages[HFTMON_NUMA_MAX_NODES];	/* resident on node n */
};

int hftmon_get_numa_topology(struct hftmon *m, struct hftmon_numa_node *out,
			     size_t max);
int hftmon_get_numa_residency(struct hftmon *m, pid_t pid,
			      struct hftmon_numa_mapping *out, size_t max);

/*
 * ---- NUMA balancing (HFTMON_2.2) ----------------------------------------
 * Needs HFTMON_EV_NUMA in the configuration's events (offered where
 * hftmon_info.features has HFTMON_FEAT_NUMA_BALANCING: a kernel built
 * with CONFIG_NUMA_BALANCING, never PREEMPT_RT; the source status says why
 * not). What the kernel's automatic NUMA balancer did to the tracked
 * threads, from the HFTMON_REC_NUMA records: their NUMA hinting faults
 * (local: the page was on the faulting CPU's node; each one a
 * numa_hint_faults of /proc/vmstat), the pages those faults migrated
 * (numa_pages_migrated) or failed to, and the balancer's moves and swaps
 * of the threads between CPUs and nodes; and, from the switch records
 * (HFTMON_EV_SWITCH), how long each thread ran on each node, the node of
 * each CPU as hftmon_get_numa_topology() read it at configure. The
 * balancer does nothing unless kernel.numa_balancing is 1 (the kernel
 * turns it off at boot on a machine with one node). Totals are per
 * thread since configure, exited threads included, for up to
 * HFTMON_MAX_NUMA_THREADS threads (records of more are counted in
 * hftmon_stats_summary.aggregator_dropped); the events are two circular
 * histories, the last HFTMON_HISTORY_NUMA_FAULTS faults and the last
 * HFTMON_HISTORY_NUMA_MOVES placement events, so that a flood of faults
 * never pushes the rare moves out. Both queries hold the lock the drain
 * needs while they copy (at most the two histories). Errors: -EINVAL bad
 * query, -EOPNOTSUPP raw_only or configured without HFTMON_EV_NUMA.
 */
#define HFTMON_MAX_NUMA_THREADS 1024u
#define HFTMON_HISTORY_NUMA_FAULTS 4096u
#define HFTMON_HISTORY_NUMA_MOVES 1024u

struct hftmon_numa_query {
	size_t sz;
	pid_t pid;			/* 0 = every attached process */
	pid_t tid;			/* 0 = every thread */
	uint64_t window_us;		/* events only: like the other queries */
	uint32_t kinds;			/* events only: bits 1 << HFTMON_NUMA_EV_*; 0 = all */
};

/* One tracked thread's NUMA balancing activity since configure. */
struct hftmon_numa_activity {
	size_t sz;			/* out[0].sz */
	pid_t pid, tid;
	uint64_t hint_faults;		/* NUMA hinting faults */
	uint64_t hint_faults_local;	/* ...of a page on the faulting CPU's node */
	uint64_t hint_faults_remote;	/* ...on another node */
	uint64_t hint_fault_pages;	/* pages they covered (a huge page: 512) */
	uint64_t faults_migrated;	/* faults whose page(s) migrated */
	uint64_t pages_migrated;	/* ...and their pages */
	uint64_t faults_migrate_failed;	/* a migration tried that failed */
	uint64_t pages_migrate_failed;
	uint64_t faults_shared;		/* on pages shared between processes */
	uint64_t task_moves;		/* the balancer moved it to another CPU */
	uint64_t task_swaps;		/* ...swapped it with another task */
	uint64_t task_sticks;		/* ...tried and failed, or found no better CPU */
	uint64_t first_ns, last_ns;	/* its first and last NUMA event; 0 none */
	int node;			/* node of the CPU it last ran on; -1 unknown */
	uint32_t node_changes;		/* switch-ins on another node than the last */
	/*
	 * Time it ran on each node (by switch-in and switch-out), a stint
	 * still running counted up to what the library has taken in; a CPU
	 * of no node known at configure in on_unknown_ns.
	 */
	uint64_t on_node_ns[HFTMON_NUMA_MAX_NODES];
	uint64_t on_unknown_ns;
};

/*
 * The threads matching q (pid, tid; window_us and kinds must be 0), by
 * tid: fills up to max (out[0].sz set), returns how many matched (may
 * exceed max), or -errno.
 */
int hftmon_get_numa_activity(struct hftmon *m,
			     const struct hftmon_numa_query *q,
			     struct hftmon_numa_activity *out, size_t max);

enum hftmon_numa_event_kind {
	HFTMON_NUMA_EV_FAULT = 1,	/* a hinting fault (= HFTMON_NUMA_FAULT) */
	HFTMON_NUMA_EV_MOVE = 2,	/* the balancer moved it (sched_move_numa) */
	HFTMON_NUMA_EV_SWAP = 3,	/* swapped with other_tid (sched_swap_numa) */
	HFTMON_NUMA_EV_STICK = 4,	/* a move or swap failed (sched_stick_numa) */
	HFTMON_NUMA_EV_NODE = 5,	/* switched in on another node than the last */
};

struct hftmon_numa_event {
	size_t sz;			/* out[0].sz */
	uint64_t time_ns;		/* CLOCK_MONOTONIC */
	pid_t pid, tid;
	uint32_t kind;			/* enum hftmon_numa_event_kind */
	uint32_t flags;			/* FAULT: HFTMON_NUMA_FAULT_LOCAL, _MIGRATED... */
	uint32_t pages;			/* FAULT: pages of the fault */
	/*
	 * FAULT: the faulting CPU and its node, dst_node the page's node
	 * after it (dst_cpu -1); MOVE, SWAP, STICK: from and to (dst_cpu -1:
	 * no better CPU found); NODE: the CPU it last ran on and the new one.
	 */
	int src_cpu, src_node, dst_cpu, dst_node;
	pid_t other_pid, other_tid;	/* SWAP, STICK: the other task; else 0 */
};

/*
 * The events matching q that happened within its window, oldest first:
 * fills up to max (out[0].sz set), returns how many matched (may exceed
 * max), or -errno.
 */
int hftmon_get_numa_events(struct hftmon *m, const struct hftmon_numa_query *q,
			   struct hftmon_numa_event *out, size_t max);

/*
 * ---- PMU counters (HFTMON_2.3) ------------------------------------------
 * Counters of the kernel's perf API, named as perf_event_attr names them
 * (type, config): PERF_TYPE_SOFTWARE with PERF_COUNT_SW_PAGE_FAULTS or
 * PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_HARDWARE with
 * PERF_COUNT_HW_INSTRUCTIONS... (<linux/perf_event.h>). The module makes
 * each on every CPU as a pinned counter and reads it at every switch-in
 * and switch-out of a tracked thread: one HFTMON_REC_PMU record per
 * slice, whose per-counter deltas are summed here per thread (with
 * sampling_interval_us, also one at each tick: HFTMON_PMU_TICK). A counter
 * a session without CAP_PERFMON opened counts user mode only. Nothing is
 * scaled or filled in: a counter the kernel refused at configure (every
 * hardware event under x86 TCG: -ENOENT) is UNSUPPORTED with the kernel's
 * errno and no value; a slice in which a counter did not count (error
 * state: its slot was taken; not active; a CPU without it) is counted as
 * missed, with its errno.
 */
struct hftmon_pmu_counter {
	size_t sz;			/* [0].sz: see the top of this file */
	uint32_t type;			/* PERF_TYPE_* */
	uint64_t config;		/* PERF_COUNT_* or a raw encoding */
};

enum hftmon_pmu_state {
	HFTMON_PMU_NO_DATA = 0,		/* no slice of the thread in the span */
	HFTMON_PMU_MEASURED = 1,	/* it counted in every slice: value is exact */
	/* it did not count in slices_missed slices (status: why, the last) */
	HFTMON_PMU_PARTIAL = 2,		/* value: the other slices', not scaled */
	HFTMON_PMU_UNAVAILABLE = 3,	/* in no slice (status: why); no value */
	HFTMON_PMU_UNSUPPORTED = 4,	/* refused at configure (status); no value */
};

struct hftmon_pmu_metric {
	uint32_t state;			/* enum hftmon_pmu_state */
	int status;			/* 0 or the kernel's -errno */
	uint64_t value;			/* MEASURED, PARTIAL: the sum; else 0 */
	uint64_t slices_counted;
	uint64_t slices_missed;
	/* counted slices in which the perf core rescheduled the counter */
	uint64_t slices_rescheduled;
};

/*
 * ---- NUMA access statistics and heatmap (HFTMON_2.3) --------------------
 * The original description's get_numa_stats. Who touched which memory
 * from where, from a sampled source: the NUMA hinting faults of the
 * tracked threads (HFTMON_NUMA_ACCESS records, where hftmon_info.features
 * has HFTMON_FEAT_NUMA_ACCESS; configured with HFTMON_EV_NUMA). The
 * kernel's balancer takes one on a page it has marked when a thread next
 * touches it (kernel.numa_balancing 1, the scan rate its own), so the
 * counts are samples of the accesses, not all of them: source says so
 * and samples says how many. Each sample has the page accessed, the node
 * of that memory then (before any migration the fault makes) and the
 * node of the accessing CPU: local when they are the same.
 *
 * From the last HFTMON_HISTORY_NUMA_ACCESSES samples the library still
 * holds, those of q's pid/tid in q's time range (window_us like the other
 * queries, or [since_ns, until_ns) of CLOCK_MONOTONIC, 0 unbounded: not
 * both), out gets the totals per memory node and CPU node; with
 * resolution HFTMON_NUMA_RES_PAGE also the heatmap, one row per page,
 * memory node and CPU node (sorted by address, then the nodes), the
 * first max_heat of them in q->heat (heat[0].sz set).
 *
 * HFTMON_2.4: resolution HFTMON_NUMA_RES_CACHELINE, for a session
 * configured with numa_line_period (-EOPNOTSUPP otherwise), gives the same
 * totals and heatmap from another sampled source: the CPU's address
 * sampling of the tracked threads' loads (AMD IBS op; Intel PEBS load
 * latency), one row per 64-byte line (bytes 64), memory node and CPU
 * node. source says which ("AMD IBS op samples", "PEBS load latency
 * samples"), source_event the event and its settings. The node of the
 * memory is where move_pages() finds the line's page when the library
 * drains the sample (milliseconds later: a page migrated in between is
 * counted where it went), unknown for a page gone by then; the node of
 * the CPU is that of the CPU the sample names. The last
 * HFTMON_HISTORY_NUMA_LINES samples are held (missed as above); lost
 * counts the samples the kernel dropped because a thread's ring was full
 * (its PERF_RECORD_LOST), skipped the IBS ops that were no load or store
 * (no data address), both for the whole session. Where the CPU has
 * neither event (every VM) or the kernel refused it, -EOPNOTSUPP and the
 * reason logged, which names the event tried and the kernel's errno
 * (hftmon_numa_cacheline_status() gives it too). The query holds the
 * lock the drain
 * needs while it copies and sorts (at most the history); it allocates
 * nothing (its sort space is allocated at configure).
 *
 * Returns the number of heatmap rows (may exceed max_heat; 0 without a
 * heatmap), or -errno: -EINVAL bad query, -EOPNOTSUPP raw_only, not
 * configured with HFTMON_EV_NUMA, no HFTMON_FEAT_NUMA_ACCESS (page and
 * none), or cache-line resolution without numa_line_period or where it
 * is unsupported.
 */
#define HFTMON_HISTORY_NUMA_ACCESSES 32768u

enum hftmon_numa_resolution {
	HFTMON_NUMA_RES_NONE = 0,	/* totals only */
	HFTMON_NUMA_RES_PAGE = 1,	/* from the hinting faults' addresses */
	HFTMON_NUMA_RES_CACHELINE = 2,	/* from address sampling (2.4) */
};

/* One heatmap cell: a page (or line), its memory's node, the CPU's node. */
struct hftmon_numa_heat {
	size_t sz;			/* heat[0].sz */
	uint64_t addr;			/* the page (a huge page: its first), or line */
	uint64_t bytes;			/* pages of the folio accessed x page size; 64 */
	int mem_node, cpu_node;		/* -1 unknown */
	uint64_t count;			/* samples */
	uint64_t first_ns, last_ns;
};

struct hftmon_numa_stats_query {
	size_t sz;
	pid_t pid;			/* 0 = every attached process */
	pid_t tid;			/* 0 = every thread */
	uint64_t window_us;		/* like the other queries; 0 = see since/until */
	uint64_t since_ns, until_ns;	/* CLOCK_MONOTONIC, [since, until); 0 = unbounded */
	uint32_t resolution;		/* enum hftmon_numa_resolution */
	struct hftmon_numa_heat *heat;	/* the heatmap's rows (PAGE, CACHELINE) */
	size_t max_heat;
};

struct hftmon_numa_stats {
	size_t sz;
	char source[32];		/* "NUMA hinting faults": what was sampled */
	uint64_t samples;		/* accesses sampled in the range */
	uint64_t local, remote;		/* memory on the CPU's node, or another */
	uint64_t unknown;		/* a node unknown (-1) on either side */
	/*
	 * Samples the history no longer held when the range reaches back
	 * before its oldest (of every thread: their pids are gone with them);
	 * 0 means the counts are every sample of the range.
	 */
	uint64_t missed;
	uint64_t first_ns, last_ns;	/* the first and last sample counted */
	uint32_t page_size;
	uint32_t nr_nodes;		/* rows and columns of by_node in use */
	/* samples by [node of the memory][node of the accessing CPU] */
	uint64_t by_node[HFTMON_NUMA_MAX_NODES][HFTMON_NUMA_MAX_NODES];
	/* ---- HFTMON_2.4 ---- */
	/*
	 * Counted, not sampled: the PMU's local and remote DRAM events
	 * (dram_events: their names, as hftmon_numa_dram_counters() chose
	 * them for this machine) over the same threads and range (a window:
	 * the slices that ended within it; since/until: those wholly inside),
	 * as hftmon_get_pmu_totals() sums them. Intel counts retired loads
	 * that missed the L3 and were served by DRAM of the CPU's node or
	 * another; AMD data-cache fills from DRAM or I/O near or far.
	 * dram_complete is false when the range reached back past the PMU
	 * slice history. Where the session does not count them,
	 * state HFTMON_PMU_UNSUPPORTED, no value, and dram_why says why:
	 * status -ENOENT this machine's PMU has no such pair (a VM's has
	 * none), -EOPNOTSUPP no libpfm4, -ENODATA the session was configured
	 * without the pair (hftmon_numa_dram_counters()); the kernel's
	 * errno when it refused them at configure.
	 */
	char dram_events[2][64];
	struct hftmon_pmu_metric dram_local, dram_remote;
	bool dram_complete;
	char dram_why[160];
	/*
	 * Per-node memory bandwidth: DRAM bytes read and written on each
	 * node's memory controllers by every process (not only q's: these
	 * counters belong to the controller), from start to now or to stop
	 * (bandwidth_ns; q's range does not apply). From Intel's uncore_imc
	 * PMUs (cas_count_read/write, scaled as sysfs says), opened
	 * system-wide at start, which needs CAP_PERFMON or
	 * kernel.perf_event_paranoid <= 0. bandwidth_status 0: counted, and
	 * bandwidth_why says from what; else no value and why: -EOPNOTSUPP
	 * no such PMU here (a VM has none; AMD's amd_df/amd_umc are not
	 * programmed), -EACCES/-EPERM refused, -ENODATA not started, or the
	 * errno of a read that failed.
	 */
	int bandwidth_status;
	char bandwidth_why[224];
	uint64_t bandwidth_ns;
	uint64_t read_bytes[HFTMON_NUMA_MAX_NODES];
	uint64_t write_bytes[HFTMON_NUMA_MAX_NODES];
	/* HFTMON_NUMA_RES_CACHELINE only (see above); else empty and 0. */
	char source_event[96];
	uint64_t lost, skipped;
};

#define HFTMON_HISTORY_NUMA_LINES 32768u

/*
 * Whether this session samples cache lines (numa_line_period), and why
 * not: 0, and what is sampled with which event, in why; -EOPNOTSUPP and
 * the reason (the event tried and the kernel's errno, or that this CPU
 * has no PEBS/IBS load sampling, or no libpfm4 to name Intel's event);
 * -ENODATA configured without numa_line_period; -EINVAL m NULL, or why
 * NULL with len. why gets at most len bytes, NUL-terminated. (HFTMON_2.4)
 */
int hftmon_numa_cacheline_status(struct hftmon *m, char *why, size_t len);

int hftmon_get_numa_stats(struct hftmon *m,
			  const struct hftmon_numa_stats_query *q,
			  struct hftmon_numa_stats *out);

/*
 * The pair of PMU counters that count this machine's local and remote
 * DRAM accesses (see hftmon_numa_stats.dram_events; the first of Intel's
 * MEM_LOAD_L3_MISS_RETIRED:LOCAL_DRAM/REMOTE_DRAM, AMD Zen 4's
 * ANY_DATA_CACHE_FILLS_FROM_SYSTEM:DRAM_IO_NEAR/FAR and Zen 3's
 * ...:MEM_IO_LCL/RMT that libpfm4 finds), into out[0] (local) and out[1]
 * (remote), out[0].sz set, for the caller to add to pmu_counters with
 * HFTMON_EV_NUMA. Returns 2, or -errno: -ENOENT this machine's PMU has
 * none of them, -EOPNOTSUPP libpfm4 is not installed, -EINVAL max < 2;
 * the reason logged on m (may be NULL). (HFTMON_2.4)
 */
int hftmon_numa_dram_counters(struct hftmon *m, struct hftmon_pmu_counter *out,
			      size_t max);

/*
 * ---- Interruptions (HFTMON_2.1) -----------------------------------------
 * Needs HFTMON_EV_IRQ_ALL bits in the configuration's events. Every
 * HFTMON_REC_IRQ/SOFTIRQ record drained is counted per CPU and source
 * (kind, number) and, for the ones that interrupted a tracked thread
 * (HFTMON_IRQ_TRACKED), per thread too: count, net time (the kernel's:
 * nested interruptions excluded), the longest, a histogram of net times
 * and, for softirqs, of the delay from the first raise to the run. The
 * histogram is log-linear (agg.h): a bucket is at most 12.5 % wide, so a
 * percentile is at most 12.5 % above the sample it stands for (and never
 * above max). Window 0 reads these totals, exact since configure; a window
 * (window_us > 0) reads the history of the last HFTMON_HISTORY_IRQS
 * interruptions instead (what it still holds), bucketing each sample the
 * same way. A source that does not fit (HFTMON_MAX_IRQ_SOURCES) is
 * counted in the CPU's totals of that source without its thread, or
 * dropped (hftmon_stats_summary.aggregator_dropped).
 */
/*
 * An interval's place in the interruption history (HFTMON_2.2), for a
 * tool that refreshes a table: rows over exactly the interruptions the
 * library took in since the last call, whatever the drain's lag (a time
 * window misses a record drained after the refresh whose end was before
 * it, and counts it in neither interval).
 */
struct hftmon_irq_mark {
	uint64_t next;			/* in: where the last call ended (0: configure); out: this one's end */
	uint64_t missed;		/* out: taken in after next, gone from the history before this call */
};

struct hftmon_irq_query {
	size_t sz;
	int cpu;			/* -1 = every CPU (one row per CPU and source) */
	pid_t tid;			/* 0 = all; else only what interrupted this tracked thread */
	uint64_t window_us;		/* like the other queries; 0 = everything */
	/* HFTMON_2.2, with window_us 0: the rows of the interruptions after
	   mark->next, from the history (missed says how many it no longer
	   held); mark advances only when every row fit (return <= max) */
	struct hftmon_irq_mark *mark;
};

struct hftmon_irq_row {
	size_t sz;			/* out[0].sz */
	int cpu;
	uint32_t kind;			/* HFTMON_IRQ_KIND_* */
	uint32_t nr;
	/* device: handler name ("" unknown); vector: "LOC", "RES", "CAL",
	   "IWI"... as /proc/interrupts; softirq: "TIMER", "NET_RX"...; "NMI" */
	char name[HFTMON_IRQ_NAME_LEN];
	uint64_t count;
	uint64_t net_ns;		/* sum: the time it took from what it interrupted */
	uint64_t max_ns;
	/* net duration percentiles: the upper bound of the histogram bucket
	   holding the nearest-rank sample, at most max_ns (12.5 % buckets) */
	uint64_t p50_ns, p90_ns, p99_ns, p999_ns;
	/* SOFTIRQ: raise-to-run delay, same histogram kind; 0 count if never seen */
	uint64_t raise_count, raise_p50_ns, raise_p99_ns, raise_max_ns;
};

/*
 * Rows sorted by cpu, kind, nr; returns rows in all (may exceed max), or
 * -errno: -EINVAL bad query, -EOPNOTSUPP raw_only or no interruption
 * events configured.
 */
int hftmon_get_irq_stats(struct hftmon *m, const struct hftmon_irq_query *q,
			 struct hftmon_irq_row *out, size_t max);

/*
 * ---- Explain a window (HFTMON_2.1) --------------------------------------
 * What a tracked thread's time in [start_ns, end_ns) went to, from the
 * records already drained: off CPU, from its completed switches (blocked:
 * SLEEP until its wake-up, then runnable; preempted: runnable at once);
 * on CPU, the interruptions that hit it (each its own net time, nested
 * ones apart), the rest RUN, or FAULT where a FAULT spike of the thread
 * (a page fault that lasted at least the spike threshold) covers it.
 * What TASK parts can name: with HFTMON_EV_RUNQ in the session's events
 * (the module then records every switch on a CPU where a tracked thread
 * waits), a runnable stretch is one TASK part per task that ran there in
 * turn, from the preemption (or, after a wake-up, from the wake-up: whoever
 * was running then) to the thread's switch-in; a piece where the records'
 * chain breaks (a switch whose prev is not the task the last one brought
 * in: a lost record, a waiting thread the module had no room to count) is
 * WAIT, and so is a stretch the thread spent partly on another CPU (a
 * migration: not followed) or one older than the HFTMON_HISTORY_RUNQ
 * switches kept; TASK's policy is UINT32_MAX where the records do not say
 * (a tracked thread as the prev of a SWITCH record). Without
 * HFTMON_EV_RUNQ, a runnable stretch after a preemption is one TASK part
 * naming the task that took the CPU at that switch (its "next": the
 * records name it), although other tasks may have run on that CPU after
 * it, and the thread may have run again elsewhere (a migration); a
 * runnable stretch after a wake-up is WAIT (no record says who ran
 * there). Either way, the part a kernel RUNNABLE spike record says the
 * CPU spent leaving idle is IDLE_EXIT. A blocked stretch whose wake-up was not recorded (no
 * HFTMON_EV_WAKEUP, a lost record) is UNATTRIBUTED, as is time before the
 * first record of the thread the history holds, and after the session
 * stopped.
 */
enum hftmon_part_kind {
	HFTMON_PART_RUN = 1,		/* the thread itself ran (user or kernel) */
	HFTMON_PART_IRQ,		/* device IRQ nr, name */
	HFTMON_PART_VECTOR,		/* system vector nr, name */
	HFTMON_PART_SOFTIRQ,		/* softirq vector nr, name */
	HFTMON_PART_NMI,
	HFTMON_PART_TASK,		/* another task ran while the thread was runnable */
	HFTMON_PART_SLEEP,		/* the thread was blocked (voluntary) */
	HFTMON_PART_WAIT,		/* runnable, CPU not yet given: nothing recorded ran (e.g. idle exit, wake-up path) */
	HFTMON_PART_IDLE_EXIT,		/* woken onto an idle CPU: wake-up to the CPU leaving idle */
	HFTMON_PART_UNATTRIBUTED,	/* no record covers it (lost records, before attach...) */
	HFTMON_PART_FAULT,		/* the thread ran in a page fault at addr (a FAULT spike's) */
};

struct hftmon_part {
	size_t sz;			/* out[0].sz */
	uint32_t kind;			/* enum hftmon_part_kind */
	uint32_t nr;			/* IRQ/vector/softirq number */
	int cpu;			/* -1 where no CPU applies (SLEEP, UNATTRIBUTED) */
	uint64_t start_ns, end_ns;	/* this piece, clipped to the window */
	uint64_t ns;			/* its net time in the window */
	pid_t pid, tid;			/* TASK: who ran (blanked as the records are) */
	char comm[HFTMON_TASK_COMM_LEN];
	int prio;			/* TASK: kernel prio */
	unsigned int policy;		/* TASK: SCHED_* */
	char name[HFTMON_IRQ_NAME_LEN];	/* IRQ/VECTOR/SOFTIRQ name */
	uint64_t addr;			/* FAULT: the faulting address (HFTMON_2.2) */
};

struct hftmon_explain_query {
	size_t sz;
	pid_t tid;			/* a tracked thread */
	uint64_t start_ns, end_ns;	/* CLOCK_MONOTONIC, as the application measured */
};

/*
 * Every piece of [start_ns, end_ns) for tid, in time order (by start; an
 * interruption's part comes before the parts of those nested in it), from
 * the records already drained; the parts' ns sum to end_ns - start_ns
 * exactly. Returns the number of parts (may exceed max: the first max are
 * filled), or -EINVAL (reversed or empty window, tid 0), -ERANGE (end in
 * the future, or not yet covered by what was drained: drain and retry;
 * with the drain thread, HFTMON_DRAIN_MERGE_MS after the next pass),
 * -ENODATA (window older than what the history still holds), -ESRCH (tid
 * not tracked in it), -EOPNOTSUPP (raw_only).
 */
int hftmon_explain(struct hftmon *m, const struct hftmon_explain_query *q,
		   struct hftmon_part *out, size_t max);

/*
 * ---- Latency spikes (HFTMON_2.1) ----------------------------------------
 * From the kernel's HFTMON_REC_SPIKE records (spike_threshold_us), the
 * last HFTMON_HISTORY_SPIKES of them.
 */
struct hftmon_spike {
	size_t sz;			/* out[0].sz */
	uint32_t type;			/* HFTMON_SPIKE_* type */
	uint32_t flags;			/* HFTMON_SPIKE_WOKEN/IDLE (and EXTENDS: see hftmon_wait_spike) */
	int cpu, from_cpu;
	pid_t pid, tid;
	uint64_t start_ns, end_ns, duration_ns, threshold_ns;
	int idle_state;
	uint64_t idle_exit_ns;
	uint32_t links;
	/*
	 * cause analysis: parts[first_part .. first_part + nr_parts) of the
	 * query's array, hftmon_explain() of [start_ns, end_ns) for tid
	 * (nr_parts 0: no room left, or it could not be explained; the parts
	 * that did not fit are not stored).
	 */
	size_t first_part, nr_parts;
	uint64_t addr;			/* FAULT: the faulting address (HFTMON_2.2) */
	/* ---- HFTMON_2.4 ---- */
	/*
	 * What the session's PMU counters (pmu_counters; pmu_nr of them, 0:
	 * none) counted while the spike went on: the sums, per counter by
	 * the rules of hftmon_pmu_totals, of the thread's HFTMON_REC_PMU
	 * records that overlap [start_ns, end_ns) (pmu_records of them). A
	 * record is a whole slice, or with sampling_interval_us a tick's
	 * piece of one, so they span [pmu_from_ns, pmu_to_ns), which holds
	 * the spike and is as much wider as the reads are apart: a sampling
	 * interval well below the threshold keeps it close. The counters are
	 * the CPU's, read at the thread's switches and ticks: what its
	 * interruptions ran is in them too. A RUNNABLE spike has none
	 * (NO_DATA, pmu_records 0): the thread did not run, its counters
	 * were not read. pmu_complete is false when a record may be missing:
	 * the one that holds the spike's end is not recorded yet (it comes at
	 * the thread's next tick or switch-out: ask again), or the slice
	 * history (HFTMON_HISTORY_PMU_SLICES) no longer holds the spike's.
	 */
	uint32_t pmu_nr;
	uint32_t pmu_records;
	uint64_t pmu_from_ns, pmu_to_ns;
	bool pmu_complete;
	struct hftmon_pmu_metric pmu[HFTMON_PMU_MAX_COUNTERS];
};

struct hftmon_spike_query {
	size_t sz;
	pid_t pid, tid;			/* 0 = all */
	uint64_t window_us;
	uint64_t min_duration_us;	/* 0 = every spike the kernel reported */
	bool cause_analysis;		/* fill parts (hftmon_explain of each spike) */
	struct hftmon_part *parts;	/* parts[0].sz set */
	size_t max_parts;
};

/*
 * The original description's detect_latency_spikes: spikes oldest first
 * (an EXTENDS record replaces the one it extends); returns the count in
 * all (may exceed max), or -errno.
 */
int hftmon_detect_latency_spikes(struct hftmon *m,
				 const struct hftmon_spike_query *q,
				 struct hftmon_spike *out, size_t max);

/*
 * Blocks until a spike matching q that ended after *since_ns has been
 * aggregated (timeout_ms, -1 forever): 1 and *out (with cause analysis
 * per q), 0 timeout, -errno. *since_ns is advanced to its end: the next
 * call returns the next one. A spike that a later link of its chain
 * extends comes again, with HFTMON_SPIKE_EXTENDS in flags and its new end.
 * With the drain thread it waits for the thread to aggregate one; without
 * it, it polls the device and drains (into the aggregator only) itself.
 */
int hftmon_wait_spike(struct hftmon *m, const struct hftmon_spike_query *q,
		      uint64_t *since_ns, int timeout_ms,
		      struct hftmon_spike *out);

/*
 * s's pmu_* fields again (HFTMON_2.4), from the records drained since:
 * for a spike hftmon_wait_spike() returned before the read at its end was
 * recorded (pmu_complete false), which comes at the thread's next tick or
 * switch-out. 0, or -EINVAL (s NULL or too small for the pmu_* fields).
 */
int hftmon_spike_counters(struct hftmon *m, struct hftmon_spike *s);

/*
 * The threshold while running: HFTMON_IOC_SET_SPIKE_THRESHOLD, the
 * kernel's -errno as it is (-EINVAL out of range, -EOPNOTSUPP configured
 * without spikes).
 */
int hftmon_set_spike_threshold(struct hftmon *m, uint64_t threshold_ns);

/*
 * ---- PMU counters (HFTMON_2.3), continued ----------------------------------
 * (struct hftmon_pmu_counter, enum hftmon_pmu_state and struct
 * hftmon_pmu_metric are above the NUMA access statistics, which use them.)
 *
 * window_us 0 and from_ns/to_ns 0: totals since configure. window_us: the
 * slices that ended within the last window_us. from_ns..to_ns
 * (CLOCK_MONOTONIC, instead of window_us): the slices wholly within it.
 * Windows are read from the history of the last HFTMON_HISTORY_PMU_SLICES
 * slices: complete says whether it still held all of the span.
 */
#define HFTMON_HISTORY_PMU_SLICES 16384u
#define HFTMON_MAX_PMU_THREADS 1024u

struct hftmon_pmu_query {
	size_t sz;
	pid_t pid, tid;			/* 0 = all */
	uint64_t window_us;
	uint64_t from_ns, to_ns;
};

struct hftmon_pmu_totals {
	size_t sz;			/* out[0].sz */
	pid_t pid, tid;
	uint64_t slices;		/* its slices in the span */
	uint64_t on_cpu_ns;		/* their summed length */
	bool complete;
	uint32_t nr;			/* counters configured: c[0..nr-1] */
	struct hftmon_pmu_metric c[HFTMON_PMU_MAX_COUNTERS];
	/*
	 * Sampling (sampling_interval_us): the interval requested (0: off),
	 * the tick records in the span, and the interval achieved: the mean
	 * time from a read of a slice (its switch-in or the previous tick)
	 * to its next tick, over those records (0: no tick). With ticks, a
	 * slice is several records, each counted in c[]'s slices_*; slices
	 * counts the slices that ended (their switch-out records).
	 */
	uint64_t interval_ns;
	uint64_t ticks;
	uint64_t tick_interval_ns;
};

/*
 * Per thread matching q, by tid: fills up to max (out[0].sz set), returns
 * how many matched (may exceed max), or -errno (-EOPNOTSUPP: configured
 * without counters, or raw_only; -EINVAL: a bad query).
 */
int hftmon_get_pmu_totals(struct hftmon *m, const struct hftmon_pmu_query *q,
			  struct hftmon_pmu_totals *out, size_t max);
/*
 * A counter by name, as perf and libpfm4 spell it: "instructions",
 * "PERF_COUNT_SW_PAGE_FAULTS", a vendor event of this machine's PMU such
 * as "MEM_LOAD_L3_MISS_RETIRED:REMOTE_DRAM" or one qualified by its PMU
 * ("icx::MACHINE_CLEARS:MEMORY_ORDERING", libpfm4's names), into out's
 * type and config (out->sz set), resolved by libpfm4, which is loaded
 * at the first call (dlopen("libpfm.so.4")). 0; -ENOENT an event this
 * machine's PMUs do not have, -EINVAL a bad name or unit mask,
 * -EOPNOTSUPP libpfm4 is not installed, or the event needs an extra
 * register (config1: OFFCORE_RESPONSE); the reason is logged on m (may
 * be NULL). Whether the kernel can count it is told at configure, by the
 * counter's status.
 */
int hftmon_pmu_event_parse(struct hftmon *m, const char *name,
			   struct hftmon_pmu_counter *out);

/*
 * Each configured counter's status at configure (0, or the kernel's
 * -errno for one it refused) into status[0..max-1]; returns how many
 * counters are configured, or -errno.
 */
int hftmon_get_pmu_status(struct hftmon *m, int *status, size_t max);

/*
 * ---- Cache metrics (HFTMON_2.4) -----------------------------------------
 * What the caches, TLBs and branch predictor did for a process or one
 * thread over a window, from the session's PMU counters (above): the
 * counters are chosen at configure (pmu_counters), so a session that
 * wants cache metrics names them there, most simply with
 * hftmon_cache_counters(). hftmon_attach_opts.track_cache asks for them
 * for one process: attach refuses it with -EINVAL (logged) when the
 * configuration has no counter of the cache table (an event below other
 * than HFTMON_CACHE_EV_OTHER and the software ones); with one, the
 * session's counters are read for every tracked process alike.
 *
 * The events hftmon knows by name: the kernel's generic events
 * (PERF_TYPE_HARDWARE, PERF_TYPE_HW_CACHE read accesses and misses, as
 * perf names them), the vendor events libpfm4 resolves where this
 * machine's PMU has them (L2, false sharing), and software events. A
 * configured counter the table does not name is HFTMON_CACHE_EV_OTHER: it
 * still gets its counts and rates.
 */
enum hftmon_cache_event {
	HFTMON_CACHE_EV_INSTRUCTIONS,	/* "instructions" */
	HFTMON_CACHE_EV_CYCLES,		/* "cycles" */
	HFTMON_CACHE_EV_L1D_ACCESS,	/* "L1-dcache-loads" */
	HFTMON_CACHE_EV_L1D_MISS,	/* "L1-dcache-load-misses" */
	HFTMON_CACHE_EV_L1I_ACCESS,	/* "L1-icache-loads" */
	HFTMON_CACHE_EV_L1I_MISS,	/* "L1-icache-load-misses" */
	HFTMON_CACHE_EV_LLC_ACCESS,	/* "LLC-loads" */
	HFTMON_CACHE_EV_LLC_MISS,	/* "LLC-load-misses" */
	HFTMON_CACHE_EV_DTLB_ACCESS,	/* "dTLB-loads" */
	HFTMON_CACHE_EV_DTLB_MISS,	/* "dTLB-load-misses" */
	HFTMON_CACHE_EV_ITLB_ACCESS,	/* "iTLB-loads" */
	HFTMON_CACHE_EV_ITLB_MISS,	/* "iTLB-load-misses" */
	HFTMON_CACHE_EV_BRANCHES,	/* "branches" */
	HFTMON_CACHE_EV_BRANCH_MISS,	/* "branch-misses" */
	/* vendor events (libpfm4), where this machine's PMU has them */
	HFTMON_CACHE_EV_L2_ACCESS,	/* "l2-accesses" */
	HFTMON_CACHE_EV_L2_MISS,	/* "l2-misses" */
	HFTMON_CACHE_EV_FS_HITM,	/* "xsnp-hitm": L3 hit, snoop HITM/FWD */
	HFTMON_CACHE_EV_FS_REMOTE_HITM,	/* "remote-hitm": another socket's */
	HFTMON_CACHE_EV_FS_MO_CLEARS,	/* "memory-ordering-clears" */
	HFTMON_CACHE_EV_FS_OTHER_CCX,	/* "other-ccx-fills": AMD Zen 3/4 */
	/* software events */
	HFTMON_CACHE_EV_PAGE_FAULTS,	/* "page-faults" */
	HFTMON_CACHE_EV_MINOR_FAULTS,	/* "minor-faults" */
	HFTMON_CACHE_EV_MAJOR_FAULTS,	/* "major-faults" */
	HFTMON_CACHE_EV_TASK_CLOCK,	/* "task-clock" */
	HFTMON_CACHE_NR_EVENTS,
	HFTMON_CACHE_EV_OTHER = 0xffff,	/* a counter the table does not name */
};

/* The hit/miss ratios, from an access and a miss event of one level. */
enum hftmon_cache_level {
	HFTMON_CACHE_L1D,	/* L1D_ACCESS, L1D_MISS */
	HFTMON_CACHE_L1I,
	HFTMON_CACHE_L2,	/* vendor events */
	HFTMON_CACHE_LLC,
	HFTMON_CACHE_DTLB,
	HFTMON_CACHE_ITLB,
	HFTMON_CACHE_BRANCH,	/* BRANCHES, BRANCH_MISS */
	HFTMON_CACHE_NR_LEVELS,
};

/* enum hftmon_pmu_state, and: a value whose counters were not configured */
#define HFTMON_PMU_NOT_CONFIGURED 5u

/* The perf-style name of an event ("L1-dcache-load-misses"); NULL if none. */
const char *hftmon_cache_event_name(unsigned int event);
/* "L1D", "LLC", "branch"...; NULL for an unknown level. */
const char *hftmon_cache_level_name(unsigned int level);
/*
 * Why a counter did not count, from its -errno status: a sentence such as
 * "this CPU's PMU has no such event (there is none under x86 TCG)";
 * NULL for 0, strerror's words for an errno without a PMU meaning.
 */
const char *hftmon_pmu_reason(int status);

/*
 * Counters for configure (pmu_counters), by name: names[0..nr-1] are
 * names of the table above or any name hftmon_pmu_event_parse() takes
 * (libpfm4); names NULL: the default set, the first max of
 * "instructions", "L1-dcache-loads", "L1-dcache-load-misses",
 * "LLC-load-misses", "LLC-loads", "dTLB-load-misses", "branch-misses",
 * "cycles". Fills out[0..] (out[0].sz set), returns how many, or -errno:
 * -E2BIG more names than max or HFTMON_PMU_MAX_COUNTERS, -ENOENT a name
 * neither the table nor this machine's PMUs know, -EINVAL a bad argument
 * (the reason logged on m, which may be NULL). A vendor event that this
 * machine's PMU lacks is -ENOENT here; a generic one the kernel cannot
 * count is told at configure, by its status.
 */
int hftmon_cache_counters(struct hftmon *m, const char *const *names,
			  size_t nr, struct hftmon_pmu_counter *out,
			  size_t max);

/*
 * The CPU core PMUs libpfm4 finds on this machine (its names: "icx",
 * "amd64_fam19h_zen3"; none under x86 TCG), with the generic and fixed
 * counters its tables give each: up to max into out (out[0].sz set; the
 * strings are libpfm4's, valid until it is reset), and with fn, fn(ctx,
 * pmu, event, description) for each of their events, under libpfm4's
 * lock (fn must not call into hftmon's PMU functions). Returns how many
 * PMUs, or -errno (-EOPNOTSUPP libpfm4 is not installed, logged on m).
 */
struct hftmon_pmu_desc {
	size_t sz;
	const char *name;
	const char *desc;
	uint32_t nr_events;
	uint32_t nr_counters, nr_fixed_counters;
};
typedef void (*hftmon_pmu_event_fn)(void *ctx, const char *pmu,
				    const char *event, const char *desc);
int hftmon_pmu_list(struct hftmon *m, struct hftmon_pmu_desc *out,
		    size_t max, hftmon_pmu_event_fn fn, void *ctx);

#define HFTMON_CACHE_MAX_PERCENTILES 8u

/*
 * The span as in hftmon_pmu_query: window_us 0 and from_ns/to_ns 0: since
 * configure (as far as the history of HFTMON_HISTORY_PMU_SLICES slices
 * goes: complete says whether it held all of it); window_us: the slices
 * that ended within the last window_us; from_ns..to_ns: those wholly
 * inside. percentiles: 0 < p <= 100, at most HFTMON_CACHE_MAX_PERCENTILES.
 */
struct hftmon_cache_query {
	size_t sz;
	pid_t pid, tid;			/* pid required; tid 0 = every thread */
	uint64_t window_us;
	uint64_t from_ns, to_ns;
	const double *percentiles;
	size_t nr_percentiles;
};

/*
 * One configured counter over the span. total: as hftmon_pmu_totals'
 * (state, status, sum over the slices that counted, never scaled).
 * Percentiles (nearest rank, of the query's percentiles) of per-slice
 * values: count_pct over the slices that counted, per_us_pct (events per
 * us on CPU) over those of them with a length, per_kinst_pct (per 1000
 * instructions) over the slices where both it and an instructions counter
 * counted, with instructions > 0. Each has its state: what it is computed
 * from counted in every slice of the span (MEASURED), in some (PARTIAL),
 * none (UNAVAILABLE), refused at configure (UNSUPPORTED, status: the
 * kernel's errno), no instructions counter configured (NOT_CONFIGURED),
 * or no slice (NO_DATA); the percentiles are 0 unless MEASURED or
 * PARTIAL.
 */
struct hftmon_cache_counter {
	uint32_t event;			/* enum hftmon_cache_event */
	uint32_t type;			/* its perf_event_attr type, config */
	uint64_t config;
	struct hftmon_pmu_metric total;
	const char *reason;		/* hftmon_pmu_reason(total.status) */
	uint64_t count_pct[HFTMON_CACHE_MAX_PERCENTILES];
	uint32_t per_us_state;
	uint32_t per_kinst_state;
	int per_kinst_status;		/* when not MEASURED: why */
	uint64_t per_us_slices, per_kinst_slices; /* samples of each */
	double per_us_pct[HFTMON_CACHE_MAX_PERCENTILES];
	double per_kinst_pct[HFTMON_CACHE_MAX_PERCENTILES];
};

/*
 * A level's misses / accesses, summed over the slices where both its
 * counters counted (slices of them): MEASURED when that is every slice
 * of the span, PARTIAL some, UNAVAILABLE none, UNSUPPORTED when the
 * kernel refused either (status, reason: the first refused one's),
 * NOT_CONFIGURED when either is not among the counters, NO_DATA no slice.
 * miss_ratio and hit_ratio (1 - miss_ratio) only when MEASURED or
 * PARTIAL with accesses > 0; otherwise NaN.
 */
struct hftmon_cache_ratio {
	uint32_t level;			/* enum hftmon_cache_level */
	uint32_t state;
	int status;
	const char *reason;
	uint64_t accesses, misses, slices;
	double miss_ratio, hit_ratio;
};

struct hftmon_cache_metrics {
	size_t sz;			/* set by the caller */
	pid_t pid, tid;
	uint64_t slices;		/* the span's slices of pid (tid) */
	uint64_t on_cpu_ns;		/* their summed length */
	bool complete;
	uint32_t nr_percentiles;	/* the query's */
	uint32_t nr;			/* counters configured: c[0..nr-1] */
	struct hftmon_cache_counter c[HFTMON_PMU_MAX_COUNTERS];
	struct hftmon_cache_ratio ratio[HFTMON_CACHE_NR_LEVELS];
};

/*
 * The cache metrics of q's process (or thread) over q's span into out
 * (sz set). Allocates nothing: its buffers are taken at configure with
 * PMU counters (56 bytes per slice of the PMU history: 896 KiB). 0,
 * -ENODATA no slice of it in the span (out filled, states NO_DATA), or
 * -errno: -EINVAL a bad query or percentile, -EOPNOTSUPP configured
 * without PMU counters (or raw_only).
 */
int hftmon_get_cache_metrics(struct hftmon *m,
			     const struct hftmon_cache_query *q,
			     struct hftmon_cache_metrics *out);

/*
 * Record helpers shared by the library, the CLI and the tests.
 * hftmon_record_check: 0 if rec (with avail bytes readable) is a
 * well-formed record of a type this library decodes, at least its type's
 * size; -ENOMSG if it is well framed (size a non-zero multiple of 8 within
 * avail, at least a header) but of a type this library does not decode:
 * step over it by hdr.size; -EBADMSG otherwise. hftmon_record_type_name:
 * NULL for a type this library does not decode.
 */
int hftmon_record_check(const struct hftmon_rec_hdr *rec, size_t avail);
const char *hftmon_record_type_name(unsigned int type);

#ifdef __cplusplus
}
#endif
#endif /* HFTMON_H */
