/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * What the hftmon commands share. One file per command (cmd-*.c, after
 * perf's builtin-*.c) defines a struct cli_command that main.c lists; the
 * helpers are in util.c (arguments, errors, signals, time) and session.c
 * (the library calls more than one command makes: open, the drain-thread
 * session, per-thread info, the loss line). The CLI sees only the public
 * <hftmon.h> and <linux/hftmon.h>, like any other libhftmon user.
 *
 * Errors are one line, "hftmon: <what>: <reason>", with exit status 1;
 * usage errors end with " (see hftmon --help)" and exit with 2.
 */
#ifndef HFTMON_CLI_H
#define HFTMON_CLI_H

#include <inttypes.h> /* PRIu64 and friends: the commands print them */
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

/*
 * A command: "hftmon NAME ARGS" runs run(argc, argv) with argv[0] = NAME
 * and returns the exit status. help is its entry under "Commands:" in
 * hftmon --help, options its own options section (NULL if none); each
 * is one or more whole lines.
 */
struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	const char *options;
};

extern const struct cli_command cmd_info, cmd_record, cmd_sched,
	cmd_switches;

/* main.c: the global options, and the help text that lists every command. */
extern const char *cli_device; /* -D; NULL: HFTMON_DEVICE */
extern bool cli_verbose; /* -v: libhftmon's messages on stderr */
void usage(FILE *f);

/* util.c: errors. err is -errno; both print one line on stderr. */
void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
int report_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* util.c: arguments; a bad one is a usage error naming cmd (and opt). */
pid_t parse_pid_arg(const char *cmd, const char *arg);
double parse_seconds_arg(const char *cmd, const char *opt, const char *arg);
unsigned long long parse_count_arg(const char *cmd, const char *opt,
				   const char *arg, bool zero_ok);

/*
 * util.c: SIGINT and SIGTERM set stop_requested (no SA_RESTART, so they
 * also end a sleep or a poll early).
 */
extern atomic_bool stop_requested;
void install_signals(void);
bool stopping(void);

/* util.c: CLOCK_MONOTONIC, the clock of the records. */
uint64_t now_ns(void);
/* Sleeps until deadline (now_ns() time) or a stop request. */
void sleep_until(uint64_t deadline);

/* session.c: opens the device (cli_device). 0, or prints the error. */
int open_device(struct hftmon **m);
/*
 * Opens the device and starts monitoring pid with the library's drain
 * thread. On failure prints the error, closes and returns non-zero.
 */
int start_drain_thread_session(struct hftmon **mp, pid_t pid,
			       const struct hftmon_monitor_config *cfg,
			       const struct hftmon_attach_opts *ao);
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

#endif /* HFTMON_CLI_H */
