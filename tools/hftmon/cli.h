/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * What the hftmon commands share. One file per command (cmd-*.c, after
 * perf's builtin-*.c) defines a struct cli_command that main.c lists; the
 * helpers are in util.c (arguments, errors, signals, time, escaping),
 * targets.c (what -p, -t and "-- COMMAND" name, and whether it still
 * runs), monitor.c (where the monitor's own threads run and what they
 * cost) and session.c (the library calls more than one command makes:
 * open, configure/attach/start with every error explained, per-thread
 * info, the loss counts). The CLI sees only the public <hftmon.h> and
 * <linux/hftmon.h>, like any other libhftmon user.
 *
 * Errors are one line, "hftmon: <what>: <why>[: <what to do>]", with exit
 * status 1; usage errors end with " (see hftmon CMD --help)" and exit 2.
 */
#ifndef HFTMON_CLI_H
#define HFTMON_CLI_H

#include <inttypes.h> /* PRIu64 and friends: the commands print them */
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <hftmon.h>

#ifndef HFTMON_VERSION_STRING
#define HFTMON_VERSION_STRING "unknown"
#endif

enum { EXIT_USAGE = 2 };

struct session;

/*
 * A command: "hftmon NAME ARGS" runs run(argc, argv) with argv[0] = NAME
 * and returns the exit status. help is its entry under "Commands:" in
 * hftmon --help, options its own options section (NULL if none); each
 * is one or more whole lines. "hftmon NAME --help" prints both.
 */
struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	const char *options;
	/*
	 * hftmon report -i FILE: prints what run() printed at the end of
	 * the recording, from a session loaded from FILE (session_load())
	 * and the command's own arguments as recorded (argv[0] = NAME). NULL:
	 * this command's recordings cannot be reported from a file.
	 */
	int (*report)(struct session *s, int argc, char **argv);
};

extern const struct cli_command cmd_info, cmd_record, cmd_sched,
	cmd_switches, cmd_irq, cmd_spikes, cmd_explain, cmd_report, cmd_export,
	cmd_numa, cmd_cache;
/* true while hftmon report re-reads a recorded command's arguments. */
extern bool cli_replay;

/* main.c: the global options, and the help text that lists every command. */
extern const char *cli_device; /* -D; NULL: HFTMON_DEVICE */
extern bool cli_verbose; /* -v: libhftmon's messages on stderr */
void usage(FILE *f);
/* NAME's own help: its synopsis, its options and the shared ones. */
void command_usage(const struct cli_command *cmd, FILE *f);

/* util.c: errors. err is -errno; both print one line on stderr. */
extern const char *usage_cmd; /* the command being parsed, for the hint */
void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
int report_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One line without an errno: "hftmon: <text>". Returns EXIT_FAILURE. */
int report_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "hftmon: note: <text>" on stderr. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * util.c: arguments, parsed strictly: decimal digits only (no sign, no
 * space, no base prefix), in range, or a usage error naming cmd and opt.
 * A value out of range is called a range error.
 */
pid_t parse_pid_arg(const char *cmd, const char *opt, const char *arg);
double parse_seconds_arg(const char *cmd, const char *opt, const char *arg);
unsigned long long parse_count_arg(const char *cmd, const char *opt,
				   const char *arg, bool zero_ok);
/* An integer in min..max, named a range error outside it. */
unsigned long long parse_uint_arg(const char *cmd, const char *opt,
				  const char *arg, unsigned long long min,
				  unsigned long long max);
/* "0-2,5" into set; -EINVAL on a malformed list (no usage error). */
int parse_cpu_list(const char *arg, cpu_set_t *set);
/* set as "0-2,5" ("-" when empty) into buf. */
const char *format_cpu_list(const cpu_set_t *set, char *buf, size_t len);
/*
 * The getopt_long of every command: ':' first (missing arguments seen),
 * opterr off. An unknown option or a missing argument is one usage line.
 */
void bad_option(const char *cmd, int c, char **argv);

/*
 * util.c: SIGINT, SIGTERM and SIGHUP set stop_requested (no SA_RESTART,
 * so they also end a sleep or a poll early); SIGPIPE is ignored and a
 * closed stdout is a stop request too (stdout_closed()).
 */
extern atomic_bool stop_requested;
void install_signals(void);
bool stopping(void);
/* stdout failed with EPIPE: the reader went away. Checks ferror(stdout). */
bool stdout_closed(void);
/*
 * The end of a command: flushes stdout; a closed pipe ends the process
 * quietly, killed by SIGPIPE as the shell expects; another write error
 * is one line and status 1. Returns status otherwise.
 */
int finish_stdout(int status);

/* util.c: CLOCK_MONOTONIC, the clock of the records. */
uint64_t now_ns(void);
/* Sleeps until deadline (now_ns() time) or a stop request. */
void sleep_until(uint64_t deadline);

/*
 * util.c: a thread name for a text table: control bytes and backslashes
 * as \xHH escapes, so a name cannot break a line or a column.
 */
const char *table_name(const char *s, char *buf, size_t len);
/* A JSON string to stdout: quotes, backslashes and control bytes escaped. */
void json_string(const char *s);
/* enum hftmon_pmu_state as a word ("measured", "not-configured"...). */
const char *pmu_state_name(uint32_t state);
/*
 * --events LIST: the comma-separated PMU event names of arg, copied into
 * buf (len bytes) and split there into names[0..HFTMON_PMU_MAX_COUNTERS-1];
 * returns how many, or exits with a usage error of cmd when there are
 * none, too many, or the list is longer than buf.
 */
size_t parse_event_list(const char *cmd, const char *arg, char *buf,
			size_t len, const char **names);
/*
 * The counters for names[0..nr-1] (NULL: hftmon's cache set) into pc
 * (HFTMON_PMU_MAX_COUNTERS of them), as hftmon_cache_counters(); their
 * number, or -1 after a line on standard error saying which --events
 * (arg) failed and what to do.
 */
int resolve_counters(const char *cmd, const char *arg,
		     const char *const *names, size_t nr,
		     struct hftmon_pmu_counter *pc);
/* An integer sysctl (/proc/sys/...), or -1 if unreadable. */
int read_sysctl_int(const char *path);

/*
 * util.c: a power-of-two histogram, as bpftrace's hist() prints it: slot
 * 0 holds 0, slot 1 holds 1, slot k >= 2 holds [2^(k-1), 2^k).
 */
#define LOG2_SLOTS 65
struct log2_hist {
	uint64_t slot[LOG2_SLOTS];
	uint64_t count;
};
void log2_hist_add(struct log2_hist *h, uint64_t v);
/* "[4, 8)   12 |@@@@   |" lines from the lowest to the highest slot used. */
void log2_hist_print(const struct log2_hist *h, const char *unit, FILE *f);
/* The same as a JSON array of {"low": L, "high": H, "count": N} (high: null for the last slot). */
void log2_hist_json(const struct log2_hist *h);

/* ---- targets.c: what the monitor watches --------------------------------- */

struct cli_target {
	pid_t pid; /* the process (thread group) */
	pid_t tid; /* 0: every thread of it; else only this thread (-t) */
	bool gone; /* seen exited */
	uint64_t gone_ns; /* when it was seen exited (now_ns()) */
	bool followed; /* a child process followed (--children), not named */
};

struct cli_targets {
	struct cli_target *v;
	unsigned int nr;
	/* "-- COMMAND ARGS": started stopped before exec, child is its pid. */
	char **command;
	pid_t child;
	int child_status; /* waitpid() status once it exited */
	int go_fd, err_fd; /* the handshake pipes to the child, -1 if none */
};

/*
 * -p PID: PID's process (a thread id is resolved to its process, with a
 * note); -t TID: that thread only. Duplicates are merged. A usage error
 * when the number is no id at all; an error line and exit when no such
 * task exists.
 */
void targets_add(struct cli_targets *t, const char *cmd, int opt,
		 const char *arg);
/* The distinct processes to attach, in order: pids[] (of t->nr max). */
unsigned int targets_processes(const struct cli_targets *t, pid_t *pids);
/* true: tid of process pid is one of the targets. */
bool targets_want(const struct cli_targets *t, pid_t pid, pid_t tid);
/*
 * Forks COMMAND stopped before exec; 0 or the error line's status. The
 * child inherits nothing of the monitor's placement (it is forked first).
 */
int targets_spawn(struct cli_targets *t);
/* Lets the child exec; 0, or the error line's status when exec failed. */
int targets_release(struct cli_targets *t);
/* Marks the targets that exited; true when all have. */
bool targets_all_gone(struct cli_targets *t);
/* Adds process pid, a child followed, unless it is a target already. */
int targets_add_followed(struct cli_targets *t, pid_t pid);
/* "pid 12 (exited)", for the reports: every target and whether it ran. */
void targets_print(const struct cli_targets *t, FILE *f);
void targets_print_json(const struct cli_targets *t);
/* Kills and reaps a child that is still running (error paths). */
void targets_fini(struct cli_targets *t);

/* ---- monitor.c: where the monitor runs, and what it costs ------------- */

/* Where /sys/devices/system/cpu is (tests point it elsewhere). */
extern const char *cli_sysfs_cpu;

enum placement_why {
	PLACE_USER, /* --cpu */
	PLACE_OUTSIDE_TARGETS, /* no target thread may run there */
	PLACE_OUTSIDE_PINNED, /* no pinned target thread may run there */
	PLACE_HOUSEKEEPING, /* outside isolcpus/nohz_full only */
	PLACE_SHARED, /* nowhere better: the targets' CPUs */
};

struct monitor_opts {
	const char *cpu_list; /* --cpu; NULL: chosen */
	int priority; /* --priority; 0: SCHED_OTHER */
	uint32_t drain_us; /* --drain-us; 0: the CLI's default */
};

#define DEFAULT_DRAIN_US 10000u

/* The inputs of the choice, read from the system or given by tests. */
struct placement_in {
	cpu_set_t allowed; /* where this process may run */
	cpu_set_t isolated, nohz_full; /* from sysfs; empty when absent */
	cpu_set_t targets; /* union of every target thread's affinity */
	cpu_set_t pinned; /* union of the pinned target threads' affinity */
};

struct placement {
	cpu_set_t cpus;
	int nr_cpus;
	enum placement_why why;
	int priority;
	uint32_t drain_us;
	cpu_set_t targets; /* for the report */
	pid_t pid; /* the monitor's (a report from a file: the recorder's) */
};

/* The choice itself, pure: tests call it with made-up sets. */
void placement_choose(const struct placement_in *in, struct placement *out);
/* Reads the inputs for the processes pids[], and the sysfs files. */
int placement_read(const pid_t *pids, unsigned int nr, struct placement_in *in);
/* One line: "CPU 0 (outside the targets' CPUs 1), SCHED_OTHER, ...". */
void placement_describe(const struct placement *p, char *buf, size_t len);

/* What this process's threads cost, from /proc/self/task/TID/. */
struct monitor_cost {
	unsigned int threads;
	bool have_schedstat;
	uint64_t cpu_ns; /* schedstat: time on CPU */
	uint64_t timeslices; /* schedstat: times it got a CPU */
	uint64_t voluntary; /* status: sleeps, each ended by a wake-up */
	uint64_t involuntary; /* status: preempted */
	uint64_t at_ns;
};

/* Sums every thread of this process now. */
void monitor_cost_read(struct monitor_cost *c);
/* end - start into d (threads: those alive at the end). */
void monitor_cost_delta(const struct monitor_cost *start,
			const struct monitor_cost *end, struct monitor_cost *d);
/* "monitor: ..." line (text) or "monitor": {...} member (JSON). */
void monitor_print(const struct placement *p, const struct monitor_cost *d,
		   FILE *f);
void monitor_print_json(const struct placement *p,
			const struct monitor_cost *d);

/* ---- session.c: the library calls --------------------------------------- */

/* The options every monitoring command shares (session_opt()). */
struct session_args {
	struct cli_targets targets;
	struct monitor_opts mon;
	bool json;
	/*
	 * CPUs watched whatever runs there (irq --cpu): the monitor stays
	 * off them as off the targets' CPUs, and they stand for a target.
	 */
	const cpu_set_t *watch;
	const char *output; /* -o FILE: record to this file too */
	bool children; /* --children: follow the processes the targets fork */
	int argc; /* the command's arguments, for the file */
	char **argv;
};

/*
 * The long options every monitoring command takes, to put in its
 * getopt table (SESSION_LONG_OPTS), its short letters (SESSION_SHORT),
 * and their help lines.
 */
enum { OPT_CPU = 0x100, OPT_PRIORITY, OPT_DRAIN_US, OPT_JSON, OPT_CHILDREN,
       OPT_COMMON_END };
#define SESSION_SHORT "p:t:o:"
#define SESSION_LONG_OPTS                                                \
	{ "pid", required_argument, NULL, 'p' },                         \
	{ "tid", required_argument, NULL, 't' },                         \
	{ "output", required_argument, NULL, 'o' },                      \
	{ "cpu", required_argument, NULL, OPT_CPU },                     \
	{ "priority", required_argument, NULL, OPT_PRIORITY },           \
	{ "drain-us", required_argument, NULL, OPT_DRAIN_US },           \
	{ "json", no_argument, NULL, OPT_JSON },                         \
	{ "children", no_argument, NULL, OPT_CHILDREN },                 \
	{ "help", no_argument, NULL, 'h' }
extern const char session_options_help[];

/* Handles a shared option; false if c is not one. */
bool session_opt(const struct cli_command *cmd, struct session_args *a,
		 int c, const char *arg);
/*
 * After getopt: the rest of argv is "-- COMMAND ARGS" or a usage error;
 * at least one target is needed.
 */
void session_args_finish(const struct cli_command *cmd, struct session_args *a,
			 int argc, char **argv);

struct session {
	struct hftmon *m;
	struct session_args *args;
	struct placement place;
	cpu_set_t saved_affinity; /* this thread's, put back at the end */
	bool placed;
	struct monitor_cost cost_start, cost;
	uint64_t start_ns, stop_ns; /* CLOCK_MONOTONIC, this side */
	bool stopped;
	int out_fd; /* -o FILE, -1 if none */
	const char *command; /* the command's name */
	char *saved; /* session_load(): the note's copy, argv point into it */
	int note_fds[4]; /* session_note_path()'s memfds, -1 when unused */
	char **saved_argv;
	char *saved_command0;
	struct hftmon_attach_opts ao; /* --children: the commands' and follow */
	bool followed_noted; /* "more than 256" said once */
};

/* session.c: opens the device (cli_device). 0, or prints the error. */
int open_device(struct hftmon **m);
/*
 * Opens, configures (cfg; the drain thread's CPUs, priority and interval
 * are filled in from the placement), attaches every target process,
 * places this thread, starts, and lets a spawned command run. On
 * failure prints the one error line, cleans up and returns non-zero.
 */
int session_start(struct session *s, struct session_args *a,
		  struct hftmon_monitor_config *cfg,
		  const struct hftmon_attach_opts *ao);
/*
 * Every target exited, the children followed (--children) included, which
 * it learns from the library first (and again one drain later, for a
 * child forked just before the last target exited).
 */
bool session_targets_gone(struct session *s);
/*
 * Waits until deadline (0: none), a stop request, or every target has
 * exited (checked every 100 ms). true when the targets ended it.
 */
bool session_wait(struct session *s, uint64_t deadline);
/*
 * The same, also ending (true) when trigger(s, arg) returns true, asked
 * every 100 ms: --stop-us.
 */
bool session_wait_trigger(struct session *s, uint64_t deadline,
			  bool (*trigger)(struct session *s, void *arg),
			  void *arg);
/* Reads the monitor's cost, then stops monitoring. 0 or error status. */
int session_stop(struct session *s);
/* Closes, puts this thread's affinity and policy back. */
void session_end(struct session *s);
/*
 * hftmon report: opens FILE (hftmon_open_file()) as s, with the
 * targets, placement, cost and times the recording's session note kept,
 * and the recorded command's name and arguments in *cmd, *argc, *argv.
 * 0, or the error line's status.
 */
int session_load(struct session *s, struct session_args *a, const char *path,
		 const char **cmd, int *argc, char ***argv);
/*
 * In a report: the recorded command's arguments, parsed again into
 * parsed, take the loaded session's targets and become s->args; returns
 * the loaded ones, for s->args to be put back before session_end().
 */
struct session_args *session_replay_args(struct session *s,
					 struct session_args *parsed);
/*
 * A word of a text note: bytes <= ' ', '%' and >= 0x7f as %XX, so a
 * note line splits at spaces; note_get_word() decodes it in place.
 */
void note_put_word(FILE *f, const char *w);
void note_get_word(char *w);
/* With -o FILE: the contents of path as note name (best effort). */
void session_note_file(struct session *s, const char *name, const char *path);
/*
 * In a report: a path that reads note name of the recording (a memfd
 * under /proc/self/fd, kept open until session_end()). 0 or -errno.
 */
int session_note_path(struct session *s, const char *name, char *buf,
		      size_t len);

/*
 * Every thread of pid (hftmon_get_thread_scheduling_info()) into *info,
 * grown as needed (*cap entries; free() it). The count or -errno.
 */
int get_threads(struct hftmon *m, pid_t pid, struct hftmon_thread_info **info,
		size_t *cap);
/*
 * Each of the n threads' wake-up latency over the last window_us
 * (hftmon_get_wakeup_latency()) into lat[i]; count 0: none. 0 or -errno.
 */
int get_latencies(struct hftmon *m, const struct hftmon_thread_info *t, int n,
		  uint64_t window_us, struct hftmon_latency *lat);
/* What was lost on the way, in one line (nothing is lost silently). */
void print_losses(struct hftmon *m);
/* The same as a "lost": {...} JSON member. */
void print_losses_json(struct hftmon *m);
/*
 * The lines every report ends with: the targets and whether they exited,
 * what was lost, where the monitor ran and what it cost.
 */
void session_print_footer(struct session *s);
/* The top-level JSON members they share: time, targets, lost, monitor. */
void session_print_json_head(struct session *s, const char *command,
			     double interval_s);

#endif /* HFTMON_CLI_H */
