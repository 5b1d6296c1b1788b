// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The commands' plumbing that does not touch the library: the one error
 * line, the argument parsers (strict: decimal digits only, the whole
 * argument, in range, or a usage error that says which), CPU lists,
 * SIGINT/SIGTERM/SIGHUP as a stop request and SIGPIPE as a quiet end,
 * the clock, and the escaping of names for tables and JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char *usage_cmd;

void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hftmon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see hftmon%s%s --help)\n", usage_cmd ? " " : "",
		usage_cmd ? usage_cmd : "");
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

int report_line(const char *fmt, ...)
{
	va_list ap;

	fputs("hftmon: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

void note(const char *fmt, ...)
{
	va_list ap;

	fputs("hftmon: note: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Decimal digits and nothing else: strtoull() alone would take leading
 * space, a sign (and wrap "-5" to 2^64 - 5) and, with base 0, hex.
 * 0, -EINVAL (not a number) or -ERANGE (too big for 64 bits).
 */
static int parse_digits(const char *arg, unsigned long long *v)
{
	unsigned long long x = 0;
	const char *p = arg;

	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		unsigned int d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (unsigned int)(*p - '0');
		if (x > (ULLONG_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

pid_t parse_pid_arg(const char *cmd, const char *opt, const char *arg)
{
	unsigned long long v = 0;
	int err = parse_digits(arg, &v);

	if (err == -EINVAL)
		usage_error("%s: %s '%s' is not a process or thread id (decimal digits only)",
			    cmd, opt, arg);
	if (err || !v || v > INT_MAX)
		usage_error("%s: %s '%s' is out of range (ids are 1..%d)", cmd,
			    opt, arg, INT_MAX);
	return (pid_t)v;
}

double parse_seconds_arg(const char *cmd, const char *opt, const char *arg)
{
	char *end;
	double v;

	/* Digits and one point: no sign, space, exponent, hex or "inf". */
	if (!*arg || strspn(arg, "0123456789.") != strlen(arg) ||
	    strchr(arg, '.') != strrchr(arg, '.') || !strcmp(arg, "."))
		usage_error("%s: %s '%s' is not a number of seconds (digits and a point, e.g. 0.5)",
			    cmd, opt, arg);
	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > 1e9)
		usage_error("%s: %s '%s' is out of range (more than 0, at most 1e9 seconds)",
			    cmd, opt, arg);
	return v;
}

unsigned long long parse_uint_arg(const char *cmd, const char *opt,
				  const char *arg, unsigned long long min,
				  unsigned long long max)
{
	unsigned long long v = 0;
	int err = parse_digits(arg, &v);

	if (err == -EINVAL)
		usage_error("%s: %s '%s' is not a non-negative integer (decimal digits only)",
			    cmd, opt, arg);
	if (err || v < min || v > max)
		usage_error("%s: %s '%s' is out of range (%llu..%llu)", cmd, opt,
			    arg, min, max);
	return v;
}

unsigned long long parse_count_arg(const char *cmd, const char *opt,
				   const char *arg, bool zero_ok)
{
	return parse_uint_arg(cmd, opt, arg, zero_ok ? 0 : 1, UINT64_MAX);
}

int parse_cpu_list(const char *arg, cpu_set_t *set)
{
	const char *p = arg;

	CPU_ZERO(set);
	if (!*p)
		return -EINVAL;
	for (;;) {
		unsigned long long a = 0, b = 0;
		char num[24];
		size_t n = strspn(p, "0123456789");

		if (!n || n >= sizeof(num))
			return -EINVAL;
		memcpy(num, p, n);
		num[n] = '\0';
		if (parse_digits(num, &a))
			return -EINVAL;
		p += n;
		b = a;
		if (*p == '-') {
			p++;
			n = strspn(p, "0123456789");
			if (!n || n >= sizeof(num))
				return -EINVAL;
			memcpy(num, p, n);
			num[n] = '\0';
			if (parse_digits(num, &b) || b < a)
				return -EINVAL;
			p += n;
		}
		if (b >= CPU_SETSIZE)
			return -ERANGE;
		for (; a <= b; a++)
			CPU_SET((int)a, set);
		if (!*p || *p == '\n')
			return 0;
		if (*p++ != ',')
			return -EINVAL;
	}
}

const char *format_cpu_list(const cpu_set_t *set, char *buf, size_t len)
{
	int cpu = 0, first;
	size_t off = 0;

	buf[0] = '\0';
	while (cpu < CPU_SETSIZE && off < len) {
		int n;

		if (!CPU_ISSET(cpu, set)) {
			cpu++;
			continue;
		}
		first = cpu;
		while (cpu + 1 < CPU_SETSIZE && CPU_ISSET(cpu + 1, set))
			cpu++;
		if (cpu == first)
			n = snprintf(buf + off, len - off, "%s%d",
				     off ? "," : "", first);
		else
			n = snprintf(buf + off, len - off, "%s%d-%d",
				     off ? "," : "", first, cpu);
		if (n < 0)
			break;
		off += (size_t)n;
		cpu++;
	}
	return off ? buf : "-";
}

void bad_option(const char *cmd, int c, char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";
	char name[64];

	/* A long option: name it as given (without "=VALUE"). */
	if (!strncmp(opt, "--", 2)) {
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(opt, "="),
			 opt);
		opt = name;
		optopt = 0;
	}
	if (c == ':') {
		if (optopt && optopt < 0x100)
			usage_error("%s: option -%c needs an argument", cmd,
				    optopt);
		usage_error("%s: option %s needs an argument", cmd, opt);
	}
	if (optopt && optopt < 0x100)
		usage_error("%s: unknown option -%c", cmd, optopt);
	usage_error("%s: unknown option '%s'", cmd, opt);
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
	/* A closed terminal ends the run like ^C: the report is printed. */
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe is seen as EPIPE: stop, clean up, then end quietly. */
	signal(SIGPIPE, SIG_IGN);
}

bool stopping(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_relaxed) ||
	       stdout_closed();
}

static bool epipe_seen;

/* The write end of a pipe whose reader is gone polls as POLLERR. */
static bool stdout_broken_pipe(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

bool stdout_closed(void)
{
	if (!epipe_seen && ferror(stdout) && stdout_broken_pipe())
		epipe_seen = true;
	return epipe_seen;
}

int finish_stdout(int status)
{
	int err = 0;

	if (fflush(stdout) || ferror(stdout))
		err = errno;
	if (err == EPIPE || epipe_seen) {
		/* Like any filter whose reader left: no message. */
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		_exit(141); /* SIGPIPE blocked: the shell's code for it */
	}
	if (err && !status)
		return report_error(-err, "stdout");
	return status;
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

const char *table_name(const char *s, char *buf, size_t len)
{
	size_t off = 0;

	for (; *s && off + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\') {
			snprintf(buf + off, len - off, "\\x%02x", c);
			off += 4;
		} else {
			buf[off++] = (char)c;
		}
	}
	buf[off] = '\0';
	return off ? buf : "-";
}

void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void log2_hist_add(struct log2_hist *h, uint64_t v)
{
	unsigned int k = 0;

	while (k < 64 && v >> k)
		k++; /* v in [2^(k-1), 2^k): slot k; v = 0: slot 0 */
	h->slot[k]++;
	h->count++;
}

/* 1024 -> "1K", as bpftrace writes a slot's bounds. */
static void slot_bound(uint64_t v, char *buf, size_t len)
{
	static const char sfx[] = "KMGTPE";
	unsigned int i = 0;

	while (v >= 1024 && !(v % 1024) && i < sizeof(sfx) - 1) {
		v /= 1024;
		i++;
	}
	if (i)
		snprintf(buf, len, "%llu%c", (unsigned long long)v, sfx[i - 1]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

void log2_hist_print(const struct log2_hist *h, const char *unit, FILE *f)
{
	unsigned int lo = LOG2_SLOTS, hi = 0, k, bar;
	uint64_t max = 0;

	for (k = 0; k < LOG2_SLOTS; k++)
		if (h->slot[k]) {
			if (lo == LOG2_SLOTS)
				lo = k;
			hi = k;
			if (h->slot[k] > max)
				max = h->slot[k];
		}
	fprintf(f, "%s, %llu values:\n", unit, (unsigned long long)h->count);
	if (!max)
		return;
	for (k = lo; k <= hi; k++) {
		char a[24], b[24], range[64];

		if (k < 2) {
			snprintf(range, sizeof(range), "[%u]", k);
		} else {
			slot_bound(1ull << (k - 1), a, sizeof(a));
			if (k < 64)
				slot_bound(1ull << k, b, sizeof(b));
			else
				snprintf(b, sizeof(b), "...");
			snprintf(range, sizeof(range), "[%s, %s)", a, b);
		}
		bar = (unsigned int)((h->slot[k] * 52 + max - 1) / max);
		fprintf(f, "%-20s %8llu |%.*s%*s|\n", range,
			(unsigned long long)h->slot[k], (int)bar,
			"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
			52 - (int)bar, "");
	}
}

void log2_hist_json(const struct log2_hist *h)
{
	bool first = true;
	unsigned int k;

	printf("[");
	for (k = 0; k < LOG2_SLOTS; k++) {
		uint64_t low = k < 2 ? k : 1ull << (k - 1);

		if (!h->slot[k])
			continue;
		printf("%s{\"low\": %llu, \"high\": ", first ? "" : ", ",
		       (unsigned long long)low);
		if (k < 64)
			printf("%llu", k < 2 ? (unsigned long long)k + 1 :
					       (unsigned long long)(1ull << k));
		else
			printf("null");
		printf(", \"count\": %llu}", (unsigned long long)h->slot[k]);
		first = false;
	}
	printf("]");
}

size_t parse_event_list(const char *cmd, const char *arg, char *buf,
			size_t len, const char **names)
{
	char *tok, *save = NULL;
	size_t nr = 0;

	if (strlen(arg) >= len)
		usage_error("%s: --events %s: too long", cmd, arg);
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (nr == HFTMON_PMU_MAX_COUNTERS)
			usage_error("%s: --events: at most %d counters (HFTMON_PMU_MAX_COUNTERS)",
				    cmd, HFTMON_PMU_MAX_COUNTERS);
		names[nr++] = tok;
	}
	if (!nr)
		usage_error("%s: --events: name at least one, as page-faults",
			    cmd);
	return nr;
}

int resolve_counters(const char *cmd, const char *arg,
		     const char *const *names, size_t nr,
		     struct hftmon_pmu_counter *pc)
{
	int n;

	pc[0].sz = sizeof(pc[0]);
	n = hftmon_cache_counters(NULL, names, nr, pc,
				  HFTMON_PMU_MAX_COUNTERS);
	if (n == -ENOENT)
		report_line("%s: --events %s: an event neither hftmon's table nor this machine's PMUs (libpfm4) know: see hftmon info",
				   cmd, arg);
	else if (n == -EOPNOTSUPP)
		report_line("%s: --events %s: names beyond hftmon's table need libpfm4: install Debian's libpfm4",
				   cmd, arg);
	else if (n < 0)
		report_error(n, "%s: --events %s", cmd,
			     arg ? arg : "(default)");
	return n < 0 ? -1 : n;
}

/* enum hftmon_pmu_state as the CLI prints it, text and JSON. */
const char *pmu_state_name(uint32_t state)
{
	switch (state) {
	case HFTMON_PMU_NO_DATA:
		return "no-data";
	case HFTMON_PMU_MEASURED:
		return "measured";
	case HFTMON_PMU_PARTIAL:
		return "partial";
	case HFTMON_PMU_UNAVAILABLE:
		return "unavailable";
	case HFTMON_PMU_UNSUPPORTED:
		return "unsupported";
	case HFTMON_PMU_NOT_CONFIGURED:
		return "not-configured";
	default:
		return "unknown";
	}
}

/* An integer sysctl (a /proc/sys file): its value, or -1 if unreadable. */
int read_sysctl_int(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}
