// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The commands' plumbing that does not touch the library: the one error
 * line, the argument parsers (strict: the whole argument, in range, or a
 * usage error), SIGINT/SIGTERM as a stop request, and the clock.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hftmon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see hftmon --help)\n", stderr);
	exit(EXIT_USAGE);
}

/* The one error line: "hftmon: <what>: <strerror>". err is -errno. */
int report_error(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("hftmon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(-err));
	return EXIT_FAILURE;
}

pid_t parse_pid_arg(const char *cmd, const char *arg)
{
	char *end;
	long pid;

	errno = 0;
	pid = strtol(arg, &end, 10);
	if (errno || *end || end == arg || pid <= 0 || pid > INT_MAX)
		usage_error("%s: '%s' is not a process id", cmd, arg);
	return (pid_t)pid;
}

double parse_seconds_arg(const char *cmd, const char *opt, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg || !isfinite(v) || v <= 0 || v > 1e9)
		usage_error("%s: %s '%s' is not a positive number of seconds",
			    cmd, opt, arg);
	return v;
}

unsigned long long parse_count_arg(const char *cmd, const char *opt,
				   const char *arg, bool zero_ok)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || (!v && !zero_ok))
		usage_error("%s: %s '%s' is not a %s integer", cmd, opt, arg,
			    zero_ok ? "non-negative" : "positive");
	return v;
}

/* Lock-free, so safe to set from a signal handler (C11 7.14.1.1). */
atomic_bool stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&stop_requested, true, memory_order_relaxed);
}

void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: end the sleep or poll */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool stopping(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_relaxed);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_until(uint64_t deadline)
{
	uint64_t now;

	while (!stopping() && (now = now_ns()) < deadline) {
		uint64_t left = deadline - now;
		struct timespec ts;

		if (left > 100000000u)
			left = 100000000u; /* look at the stop flag often */
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left;
		nanosleep(&ts, NULL);
	}
}
