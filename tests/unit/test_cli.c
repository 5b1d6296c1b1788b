// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The hftmon CLI (tools/hftmon/: main.c compiled in with main renamed)
 * run against the fake device: the per-thread table and loss report of
 * "record" for records the fake module writes at START, --raw, "info";
 * "sched" (table and JSON, checked by a small JSON parser) on this test
 * process, whose main thread the fake module reports woken twice;
 * "switches" with --min-us, kernel stacks through a fixture kallsyms
 * (and one showing kptr_restrict's zeros) and user stacks through this
 * process's own maps; and the error contract (one "hftmon: <what>:
 * <reason>" line, exit 1; exit 2 for usage errors, checked in a child
 * process since they exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_records.h"
#include "fake_sys.h"
#include "numaline.h"

#define main hftmon_cli_main
#include "../../tools/hftmon/main.c"
#undef main

static char out[1 << 16], err[4096];
static int self; /* this process: a real target; fake tids inside it */
static char self_arg[16];

/* Runs the CLI with stdout and stderr captured into out and err. */
static int run_cli(const char *const *args)
{
	char *argv[32];
	FILE *fo = tmpfile(), *fe = tmpfile();
	int so = dup(STDOUT_FILENO), se = dup(STDERR_FILENO), argc = 0, rc;
	size_t n;

	assert_non_null(fo);
	assert_non_null(fe);
	argv[argc++] = (char *)"hftmon";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	dup2(fileno(fo), STDOUT_FILENO);
	dup2(fileno(fe), STDERR_FILENO);
	optind = 0; /* glibc: full getopt reset */
	rc = hftmon_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);

	rewind(fo);
	n = fread(out, 1, sizeof(out) - 1, fo);
	out[n] = '\0';
	rewind(fe);
	n = fread(err, 1, sizeof(err) - 1, fe);
	err[n] = '\0';
	fclose(fo);
	fclose(fe);
	return rc;
}

static size_t count_args(const char *const *args)
{
	size_t n = 0;

	while (args[n])
		n++;
	return n;
}

/* Exit status of the CLI run in a child (for paths that call exit()). */
static int run_cli_child(const char *const *args)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		_exit(run_cli(args));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * run_cli while a thread reaps child when it exits (a target that
 * exits stays a zombie until its parent, this test, waits for it).
 */
static void *reaper(void *arg)
{
	waitpid((pid_t)(intptr_t)arg, NULL, 0);
	return NULL;
}

static int run_cli_reaping(const char *const *args, pid_t child)
{
	pthread_t th;
	int rc;

	pthread_create(&th, NULL, reaper, (void *)(intptr_t)child);
	rc = run_cli(args);
	pthread_join(th, NULL);
	return rc;
}

/* In a child (the path calls exit()), with its stdout captured into out. */
static int run_cli_child_out(const char *const *args)
{
	FILE *fo = tmpfile();
	pid_t pid;
	int status;
	size_t n;

	assert_non_null(fo);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[32];
		size_t i, nr = count_args(args);

		argv[0] = (char *)"hftmon";
		for (i = 0; i < nr && i < 30; i++)
			argv[i + 1] = (char *)args[i];
		argv[i + 1] = NULL;
		dup2(fileno(fo), STDOUT_FILENO);
		optind = 0;
		nr = (size_t)hftmon_cli_main((int)i + 1, argv);
		fflush(stdout);
		_exit((int)nr);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	fflush(fo);
	rewind(fo);
	n = fread(out, 1, sizeof(out) - 1, fo);
	out[n] = '\0';
	fclose(fo);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The same, with the child's stderr captured into err. */
static int run_cli_child_err(const char *const *args)
{
	FILE *fe = tmpfile();
	pid_t pid;
	int status;
	size_t n;

	assert_non_null(fe);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		char *argv[32];
		size_t i, n = count_args(args);

		argv[0] = (char *)"hftmon";
		for (i = 0; i < n && i < 30; i++)
			argv[i + 1] = (char *)args[i];
		argv[i + 1] = NULL;
		dup2(null, STDOUT_FILENO);
		dup2(fileno(fe), STDERR_FILENO);
		optind = 0;
		_exit(hftmon_cli_main((int)i + 1, argv));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rewind(fe);
	n = fread(err, 1, sizeof(err) - 1, fe);
	err[n] = '\0';
	fclose(fe);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int setup(void **state)
{
	(void)state;
	self = (int)getpid();
	snprintf(self_arg, sizeof(self_arg), "%d", self);
	fake_setup(2);
	atomic_store(&stop_requested, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fake_teardown_checked();
}

static void sw(unsigned int cpu, __s32 tid, __s32 next_tid, __u16 flags)
{
	struct hftmon_rec_switch *s;

	s = (void *)ring_producer_reserve(&fake.prod[cpu], HFTMON_REC_SWITCH,
					  sizeof(*s));
	assert_non_null(s);
	s->hdr.pid = tid ? self : 0;
	s->hdr.tid = tid;
	s->hdr.flags = flags;
	s->hdr.time_ns = 5000000000ull + s->hdr.seq * 1000 + cpu;
	s->next_pid = next_tid ? self : 0;
	s->next_tid = next_tid;
	strcpy(s->prev_comm, tid ? "md-feed" : "swapper/1");
	strcpy(s->next_comm, next_tid ? "md-feed" : "swapper/1");
	ring_producer_commit(&fake.prod[cpu]);
}

static void other(unsigned int cpu, __u16 type, size_t size, __s32 tid)
{
	struct hftmon_rec_hdr *h =
		ring_producer_reserve(&fake.prod[cpu], type, (__u32)size);

	assert_non_null(h);
	h->pid = self;
	h->tid = tid;
	h->time_ns = 5000000000ull + h->seq * 1000;
	ring_producer_commit(&fake.prod[cpu]);
}

/* What the fake module "sees" once monitoring starts. */
static void workload(void)
{
	const __u16 out = HFTMON_SWITCH_PREV_TRACKED;
	const __u16 in = HFTMON_SWITCH_NEXT_TRACKED;

	sw(0, 4243, 0, out | HFTMON_SWITCH_VOLUNTARY);
	sw(0, 0, 4243, in);
	sw(1, 4243, 0, out | HFTMON_SWITCH_PREEMPT);
	sw(1, 0, 4243, in);
	sw(1, 4243, 4244, out | in | HFTMON_SWITCH_VOLUNTARY);
	other(0, HFTMON_REC_WAKEUP, sizeof(struct hftmon_rec_wakeup), 4243);
	other(1, HFTMON_REC_MIGRATE, sizeof(struct hftmon_rec_migrate), 4244);
	/* One record lost: too big for the ring, its seq skipped. */
	assert_null(
		ring_producer_reserve(&fake.prod[1], HFTMON_REC_WAKEUP, 60000));
	other(1, HFTMON_REC_WAKEUP, sizeof(struct hftmon_rec_wakeup), 4244);
}

static void test_record_report(void **state)
{
	const char *const args[] = { "-D",	 FAKE_DEVICE,  "record", "-p",
				     self_arg, "--duration", "0.01",	 NULL };
	char row[160];

	(void)state;
	fake.on_start = workload;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	/* pid tid comm switch-out voluntary involuntary switch-in wakeups migrations */
	snprintf(row, sizeof(row), "%8d     4243 md-feed                    3          2            1          2          1          0\n", self);
	assert_non_null(strstr(out, row));
	snprintf(row, sizeof(row), "%8d     4244 md-feed                    0          0            0          1          1          1\n", self);
	assert_non_null(strstr(out, row));
	assert_null(
		strstr(out, " 0        0 ")); /* idle is not a thread of ours */
	/* The two of the records, and this process's real main thread. */
	assert_non_null(strstr(out, "threads: 3\n"));
	/* Where the monitor ran and what it cost, from /proc/self. */
	assert_non_null(strstr(out, "\nmonitor: pid "));
	assert_non_null(strstr(out, "\nmonitor cost over "));
	assert_non_null(strstr(
		out,
		"records: 8 delivered (switch 5, wakeup 2, migrate 1); 8 written by the kernel\n"));
	assert_non_null(
		strstr(out, "lost: 1 (ring_full 0, too_big 1, no_space 0)\n"));
	assert_non_null(strstr(out, "seq gaps: 1 "));
	assert_non_null(strstr(
		out,
		"time covered: records 5.000000..5.000005 s (0.000005 s)"));
	assert_non_null(strstr(out, "monitoring 0.000001..0.000002 s"));
	assert_int_equal(fake_ioctls(HFTMON_IOC_STOP), 1);
	assert_int_equal(fake.last_attach.pid, self);
}

/*
 * record -o FILE, then report -i FILE: the same report, byte for byte,
 * from the file alone (the fake device is gone by then: report opens
 * nothing but the file).
 */
static char live_out[sizeof(out)];

/* Runs a live command that must succeed quietly; keeps its output. */
static void run_live(const char *const *args)
{
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	memcpy(live_out, out, sizeof(out));
}

/* report -i FILE (rep) prints what the live run did, byte for byte. */
static void report_equals_live(const char *const *rep)
{
	assert_int_equal(run_cli(rep), 0);
	assert_string_equal(err, "");
	assert_string_equal(out, live_out);
}

static void test_record_report_from_file(void **state)
{
	char file[] = "/tmp/hftmon-cli-rec-XXXXXX";
	const char *rec[] = { "-D",	  FAKE_DEVICE, "record", "-p",
			      self_arg,	  "--duration", "0.01",	 "-o",
			      file,	  NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	fake.on_start = workload;
	run_live(rec);
	assert_non_null(strstr(live_out, "records: 8 delivered"));
	report_equals_live(rep);
	/* A file that is not a recording: one line, status 1. */
	rec[1] = "/nonexistent";
	rep[2] = "/etc/passwd";
	assert_int_equal(run_cli(rep), 1);
	assert_non_null(strstr(err, "/etc/passwd: not an hftmon recording"));
	unlink(file);
}

static void test_record_raw(void **state)
{
	const char *const args[] = { "--device", FAKE_DEVICE, "record",
				     "-p",	 self_arg,    "-d",
				     "0.01",	 "--raw",     "--ring-pages",
				     "4",	 NULL };
	char want[128];

	(void)state;
	fake.on_start = workload;
	assert_int_equal(run_cli(args), 0);
	assert_int_equal(fake.last_config.ring_pages, 4);
	snprintf(want, sizeof(want), "5.000000000 cpu=0 seq=0 switch pid=%d tid=4243 prev_comm=md-feed", self);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, " voluntary next=0/0 next_comm=swapper/1"));
	snprintf(want, sizeof(want), "cpu=1 seq=3 migrate pid=%d tid=4244 cpu 0->0", self);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "records: 8 delivered"));
}

/* A child that sleeps until killed (or for ms milliseconds). */
static pid_t sleeper(int ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec ts = { .tv_sec = ms / 1000,
				       .tv_nsec = (long)(ms % 1000) * 1000000 };

		nanosleep(&ts, NULL);
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_record_several_pids(void **state)
{
	char child_arg[16];
	const char *const args[] = {
		"-D", FAKE_DEVICE, "record", "-p",    self_arg,
		"-p", child_arg,   "-d",     "0.001", NULL
	};
	pid_t child = sleeper(10000);

	(void)state;
	snprintf(child_arg, sizeof(child_arg), "%d", (int)child);
	assert_int_equal(run_cli(args), 0);
	reap(child);
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 2);
	assert_int_equal(fake.last_attach.pid, child);
	assert_non_null(
		strstr(out, "records: 0 delivered; 0 written by the kernel\n"));
	assert_non_null(strstr(out, "time covered: no records"));
}

static void test_record_attach_error(void **state)
{
	const char *const args[] = { "-D",	 FAKE_DEVICE, "record", "-p",
				     self_arg, "-d",	     "1",      NULL };
	char want[128];

	(void)state;
	fake.fail_cmd = HFTMON_IOC_ATTACH;
	fake.fail_errno = ESRCH;
	assert_int_equal(run_cli(args), 1);
	snprintf(want, sizeof(want), "hftmon: attach pid %d: no such process (it exited)\n", self);
	assert_string_equal(err, want);
	assert_int_equal(fake_ioctls(HFTMON_IOC_START), 0);
}

static void test_missing_device(void **state)
{
	const char *const args[] = { "-D", "/dev/nothing-here", "info", NULL };

	(void)state;
	assert_int_equal(run_cli(args), 1);
	assert_string_equal(
		err, "hftmon: /dev/nothing-here: No such file or directory: load hftmon.ko (insmod hftmon.ko, or modprobe hftmon)\n");
}

static void test_info(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "info", NULL };

	(void)state;
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(out, "ABI version:    1"));
	assert_non_null(strstr(out, "CPUs:           2 possible"));
	assert_non_null(strstr(out, "  sched_switch     available\n"));
	assert_non_null(strstr(
		out,
		"  pmu_hw           unsupported: the CPU exposes no hardware PMU"));
	assert_non_null(
		strstr(out, "default 2 pages (8 KiB), max 64 pages (256 KiB)"));
}

static void test_usage_errors_exit_2(void **state)
{
	static const char *const cases[][8] = {
		{ NULL },
		{ "bogus", NULL },
		{ "record", NULL },
		{ "record", "-p", "abc", NULL },
		{ "record", "-p", "0", NULL },
		{ "record", "-p", "1", "--ring-pages", "3", NULL },
		{ "record", "-p", "1", "--duration", "-1", NULL },
		{ "record", "-p", "1", "extra", NULL },
		{ "info", "extra", NULL },
		{ "--no-such-option", NULL },
		{ "sched", NULL },
		{ "sched", "-p", "1", "--interval", "0", NULL },
		{ "sched", "-p", "1", "--count", "0", NULL },
		{ "sched", "-p", "1", "--json", "--count", "2", NULL },
		{ "sched", "-p", "1", "extra", NULL },
		{ "switches", "--min-us", "5", NULL },
		{ "switches", "-p", "1", "--min-us", "-1", NULL },
		{ "switches", "-p", "1", "--duration", "x", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(run_cli_child(cases[i]), 2);
}

static void test_help_and_version(void **state)
{
	const char *const help[] = { "--help", NULL };
	const char *const version[] = { "--version", NULL };

	(void)state;
	assert_int_equal(run_cli(help), 0);
	assert_non_null(strstr(out, "Usage: hftmon"));
	assert_int_equal(run_cli(version), 0);
	assert_string_equal(out, "hftmon " HFTMON_VERSION_STRING " (ABI 1)\n");
}

/* ---- a small JSON parser: is out one well-formed JSON value? ---------- */

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_value(const char *p);

static const char *json_string_end(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF",
						    p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_number_end(const char *p)
{
	const char *start;

	if (*p == '-')
		p++;
	start = p;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == start || (start[0] == '0' && p - start > 1))
		return NULL;
	if (*p == '.') {
		start = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == start)
			return NULL;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		start = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == start)
			return NULL;
	}
	return p;
}

static const char *json_container(const char *p, char open, char close)
{
	if (*p++ != open)
		return NULL;
	p = json_ws(p);
	if (*p == close)
		return p + 1; /* empty */
	for (;;) {
		if (open == '{') {
			p = json_string_end(p);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = json_ws(p);
	}
}

static const char *json_value(const char *p)
{
	p = json_ws(p);
	switch (*p) {
	case '{':
		return json_container(p, '{', '}');
	case '[':
		return json_container(p, '[', ']');
	case '"':
		return json_string_end(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return json_number_end(p);
	}
}

static bool json_valid(const char *text)
{
	const char *end = json_value(text);

	return end && !*json_ws(end);
}

/*
 * record -I 20: the interval lines come before the report; the first
 * holds every record the workload made at the start (drained then), the
 * later ones none; with --json, every line is one JSON object. 0.3 s:
 * room for several intervals on a loaded host (0.06 s once left only
 * the first while other builds ran).
 */
static void test_record_interval(void **state)
{
	const char *args[] = { "-D",	  FAKE_DEVICE,	"record", "-p",
			       self_arg,  "--duration", "0.3",	  "-I",
			       "20",	  NULL };
	const char *jargs[] = { "-D",	  FAKE_DEVICE,	"record", "-p",
				self_arg, "--duration", "0.3",	  "-I",
				"20",	  "--json",	NULL };
	char row[160], *line, *save = NULL;
	unsigned int intervals = 0;

	(void)state;
	fake.on_start = workload;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	snprintf(row, sizeof(row), "%8d     4243 md-feed                    3          2            1          2          1          0\n", self);
	/* In the first interval, and in the report after it. */
	assert_non_null(strstr(out, "interval "));
	assert_true(strstr(out, row) < strstr(out, "counts over the recording"));
	assert_non_null(strstr(strstr(out, "counts over the recording"), row));
	assert_non_null(strstr(out, ": 0 thread(s) active\n"));

	fake_teardown();
	fake_setup(2);
	fake.on_start = workload;
	assert_int_equal(run_cli(jargs), 0);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "{\"command\": \"record\", \"interval\"", 32))
			continue;
		assert_true(json_valid(line));
		intervals++;
	}
	assert_true(intervals >= 2);
}

/*
 * numa -p self --json: one valid object naming this process, whose
 * resident pages are at least the 256 pages of a buffer it just touched
 * (the kernel's own count, from /proc/self/statm, bounds it from above).
 */
static void test_numa_json(void **state)
{
	const char *args[] = { "numa", "-p", self_arg, "--json", NULL };
	static char buf[1 << 20];
	unsigned long long resident = 0, statm_res = 0, size;
	char want[64];
	const char *p;
	FILE *f;

	(void)state;
	memset(buf, 1, sizeof(buf)); /* 256 pages, resident now */
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	assert_true(json_valid(out));
	snprintf(want, sizeof(want), "{\"pid\": %d, \"page_size\": ", self);
	p = strstr(out, want);
	assert_non_null(p);
	p = strstr(p, "\"resident_pages\": ");
	assert_non_null(p);
	resident = strtoull(p + 18, NULL, 10);
	f = fopen("/proc/self/statm", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu %llu", &size, &statm_res), 2);
	fclose(f);
	assert_true(resident >= 256);
	assert_true(resident <= statm_res + 64); /* grown a little since */
	assert_int_equal(run_cli_child_err((const char *const[]){ "numa", NULL }), 2);
	assert_non_null(strstr(err, "numa: the process is needed: -p PID"));
}

/*
 * numa --duration --heatmap page on a fake two-node machine: ACCESS
 * records on three pages of this process's own buffer (two adjacent,
 * coalesced into one range; one apart), node 1 memory from node 0's CPU
 * and one local: the node table, the ranges with their mapping, the
 * JSON.
 */
extern const char *hftmon_node_dir;
static char heat_buf[64 << 12] __attribute__((aligned(4096)));
static char heat_nodes[64];

static void heat_access(unsigned int cpu, uint64_t addr, __s32 mem)
{
	struct fake_task t = { .pid = self, .tid = self, .comm = "test_cli",
			       .prio = 120, .tracked = true };
	struct fake_numa n = { .kind = HFTMON_NUMA_ACCESS, .pages = 1,
			       .src_cpu = (__s32)cpu, .src_nid = (__s32)cpu,
			       .dst_cpu = -1, .dst_nid = mem, .addr = addr };

	assert_true(fake_numa(cpu, fake_now_ns(), &t, &n));
}

static void heat_workload(void)
{
	uint64_t b = (uint64_t)(uintptr_t)heat_buf;

	heat_access(0, b, 1);
	heat_access(0, b, 1);
	heat_access(0, b + 4096, 1);
	heat_access(0, b + 40 * 4096, 0);
}

static void test_numa_heatmap(void **state)
{
	const char *args[] = { "-D", FAKE_DEVICE, "numa", "-p", self_arg,
			       "--duration", "0.05", "--heatmap", "page",
			       NULL, NULL };
	uint64_t b = (uint64_t)(uintptr_t)heat_buf;
	const char *no_duration[] = { "-D", FAKE_DEVICE, "numa", "-p", self_arg,
				      "--heatmap", "page", NULL };
	char want[160], range[64], cmd[160];

	(void)state;
	memset(heat_buf, 1, sizeof(heat_buf));
	snprintf(heat_nodes, sizeof(heat_nodes), "/tmp/hftmon-cli-nodes-XXXXXX");
	fake_two_nodes(heat_nodes);
	hftmon_node_dir = heat_nodes;
	fake.info.features |= HFTMON_FEAT_NUMA_BALANCING | HFTMON_FEAT_NUMA_ACCESS;
	fake.on_start = heat_workload;
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(out, "NUMA accesses sampled by NUMA hinting faults: 4 samples, local 1 (25.0%), remote 3\n"));
	/* Memory node 0: 1 from its own CPUs; node 1: 3 from node 0's. */
	assert_non_null(strstr(out, "\n       0               1               0\n"));
	assert_non_null(strstr(out, "\n       1               3               0\n"));
	assert_non_null(strstr(out, "the 2 hottest of 2 address ranges"));
	snprintf(range, sizeof(range), "%llx-%llx", (unsigned long long)b,
		 (unsigned long long)(b + 2 * 4096));
	snprintf(want, sizeof(want), "%-33s %6u %8u  ", range, 2u, 3u);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%llx-%llx", (unsigned long long)(b + 40 * 4096),
		 (unsigned long long)(b + 41 * 4096));
	assert_non_null(strstr(out, want));

	fake_teardown();
	fake_setup(2);
	fake.info.features |= HFTMON_FEAT_NUMA_BALANCING | HFTMON_FEAT_NUMA_ACCESS;
	fake.on_start = heat_workload;
	args[9] = "--json";
	assert_int_equal(run_cli(args), 0);
	assert_true(json_valid(out));
	assert_non_null(strstr(out, "\"heatmap\": {\"resolution\": \"page\", \"source\": \"NUMA hinting faults\", \"supported\": true, \"reason\": null, \"samples\": 4, \"local\": 1, \"remote\": 3"));
	assert_non_null(strstr(out, "{\"mem_node\": 1, \"from_cpu_node\": [3, 0]}"));
	assert_non_null(strstr(out, "\"ranges_total\": 2"));
	assert_non_null(strstr(out, "\"pages\": 2, \"samples\": 3, \"cells\": [{\"mem_node\": 1, \"cpu_node\": 0, \"count\": 3}]"));

	assert_int_equal(run_cli_child_err(no_duration), 2);
	assert_non_null(strstr(err, "--heatmap records its samples: --duration SEC is needed"));
	hftmon_node_dir = "/sys/devices/system/node";
	snprintf(cmd, sizeof(cmd), "rm -rf %s", heat_nodes);
	assert_int_equal(system(cmd), 0);
}

/*
 * --heatmap cacheline over a fake perf event (lib/numaline.c's seam) for
 * a forced Intel model: refused in one line (or a JSON document) naming
 * the event and the kernel's errno before anything is recorded; taken,
 * the table of lines from the samples its ring holds when mapped.
 */
void hftmon_pfm_reset(void);
static int line_errno;
static unsigned int line_maps; /* samples in the first ring only */

static int line_open(struct perf_event_attr *attr, pid_t tid, int group)
{
	(void)attr;
	(void)tid;
	(void)group;
	if (line_errno) {
		errno = line_errno;
		return -1;
	}
	return 4000;
}

/* Three loads on two lines of heat_buf from CPU 0 (node 0), one skipped. */
static void *line_mmap(int fd, size_t len)
{
	struct perf_event_mmap_page *pg = calloc(1, len);
	uint64_t b = (uint64_t)(uintptr_t)heat_buf;
	uint64_t addrs[4] = { b + 8, b + 16, b + 64, 0 };
	unsigned char *d;
	int i;

	(void)fd;
	assert_non_null(pg);
	pg->data_offset = 4096;
	pg->data_size = len - 4096;
	d = (unsigned char *)pg + 4096;
	/* The CLI runs in this process: its drain thread is sampled too. */
	for (i = 0; i < 4 && !line_maps; i++) {
		struct {
			struct perf_event_header h;
			uint32_t pid, tid;
			uint64_t time, addr;
			uint32_t cpu, res;
			uint64_t data_src;
		} r = { .h = { .type = PERF_RECORD_SAMPLE, .size = sizeof(r) },
			.pid = (uint32_t)self, .tid = (uint32_t)self,
			.time = fake_now_ns(), .addr = addrs[i] };
		union perf_mem_data_src ds = { .val = 0 };

		ds.mem_op = PERF_MEM_OP_LOAD;
		r.data_src = ds.val;
		memcpy(d + pg->data_head, &r, sizeof(r));
		pg->data_head += sizeof(r);
	}
	line_maps++;
	return pg;
}

static int line_munmap(void *p, size_t len)
{
	(void)len;
	free(p);
	return 0;
}

static int line_close(int fd)
{
	(void)fd;
	return 0;
}

static long line_move_pages(pid_t pid, unsigned long n, void **pages, int *st)
{
	unsigned long i;

	(void)pid;
	(void)pages;
	for (i = 0; i < n; i++)
		st[i] = 1;
	return 0;
}

static const struct hftmon_line_ops line_ops = {
	.perf_open = line_open, .mmap = line_mmap, .munmap = line_munmap,
	.close = line_close, .move_pages = line_move_pages,
};

static void test_numa_cacheline(void **state)
{
	const char *args[] = { "-D", FAKE_DEVICE, "numa", "-p", self_arg,
			       "--duration", "0.05", "--heatmap", "cacheline",
			       NULL, NULL };
	uint64_t b = (uint64_t)(uintptr_t)heat_buf;
	char want[64], cmd[240];
	const char *nl;

	(void)state;
	snprintf(heat_nodes, sizeof(heat_nodes), "/tmp/hftmon-cli-nodes-XXXXXX");
	fake_two_nodes(heat_nodes);
	hftmon_node_dir = heat_nodes;
	setenv("LIBPFM_FORCE_PMU", "icx", 1);
	hftmon_pfm_reset();
	hftmon_line_set_ops(&line_ops);
	fake.info.features |= HFTMON_FEAT_NUMA_BALANCING | HFTMON_FEAT_NUMA_ACCESS;

	line_errno = ENOENT;
	assert_int_equal(run_cli_child_err(args), 1);
	assert_non_null(strstr(err, "numa: --heatmap cacheline: unsupported: the kernel refused MEM_TRANS_RETIRED:LOAD_LATENCY ldlat 30, period 2003: No such file or directory (ENOENT): use --heatmap page\n"));
	nl = strchr(err, '\n');
	assert_true(nl && !nl[1]);
	args[9] = "--json";
	assert_int_equal(run_cli(args), 1);
	assert_true(json_valid(out));
	assert_non_null(strstr(out, "\"heatmap\": {\"resolution\": \"cacheline\", \"supported\": false, \"errno\": \"EOPNOTSUPP\", \"reason\": \"the kernel refused MEM_TRANS_RETIRED:LOAD_LATENCY ldlat 30, period 2003: No such file or directory (ENOENT)\"}"));

	line_errno = 0;
	line_maps = 0;
	args[9] = NULL;
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(out, "NUMA accesses sampled by PEBS load latency samples (MEM_TRANS_RETIRED:LOAD_LATENCY ldlat 30, period 2003): 3 samples, local 0 (0.0%), remote 3; lost by the kernel 0, no data address 1\n"));
	assert_non_null(strstr(out, "\n       1               3               0\n"));
	assert_non_null(strstr(out, "the 1 hottest of 1 address ranges (cache-line resolution)"));
	snprintf(want, sizeof(want), "%llx-%llx", (unsigned long long)b,
		 (unsigned long long)(b + 128));
	snprintf(cmd, sizeof(cmd), "%-33s %6u %8u  ", want, 2u, 3u);
	assert_non_null(strstr(out, cmd));
	assert_non_null(strstr(out, "LINES"));

	fake_teardown();
	fake_setup(2);
	fake.info.features |= HFTMON_FEAT_NUMA_BALANCING | HFTMON_FEAT_NUMA_ACCESS;
	args[9] = "--json";
	line_maps = 0;
	assert_int_equal(run_cli(args), 0);
	assert_true(json_valid(out));
	assert_non_null(strstr(out, "\"heatmap\": {\"resolution\": \"cacheline\", \"source\": \"PEBS load latency samples\", \"event\": \"MEM_TRANS_RETIRED:LOAD_LATENCY ldlat 30, period 2003\", \"line_size\": 64, \"lost\": 0, \"skipped\": 1, \"supported\": true, \"reason\": null, \"samples\": 3"));
	assert_non_null(strstr(out, "\"lines\": 2, \"samples\": 3, \"cells\": [{\"mem_node\": 1, \"cpu_node\": 0, \"count\": 3}]"));

	hftmon_line_set_ops(NULL);
	unsetenv("LIBPFM_FORCE_PMU");
	hftmon_pfm_reset();
	hftmon_node_dir = "/sys/devices/system/node";
	snprintf(cmd, sizeof(cmd), "rm -rf %s", heat_nodes);
	assert_int_equal(system(cmd), 0);
}

static void test_json_checker(void **state)
{
	(void)state;
	assert_true(json_valid("[]"));
	assert_true(json_valid(" [ {\"a\": 1, \"b\": [true, null, -0.5e3]} ]\n"));
	assert_true(json_valid("{\"s\": \"x\\\"\\u001f\"}"));
	assert_false(json_valid("[1,]"));
	assert_false(json_valid("{\"a\" 1}"));
	assert_false(json_valid("[01]"));
	assert_false(json_valid("[1] x"));
	assert_false(json_valid("{\"a\": nan}"));
	assert_false(json_valid("[\"\x01\"]"));
}

/* ---- sched ------------------------------------------------------------ */

static char pid_arg[16];

static struct fake_task self_task(void)
{
	struct fake_task t = { .pid = getpid(), .tid = getpid(),
			       .comm = "test_cli", .prio = 120,
			       .tracked = true };

	return t;
}

/*
 * This process's main thread, as the module would see it right after
 * START: blocked and woken twice, running 10 us and 30 us after its
 * wake-ups, 50 ms and 60 ms from now (inside the first interval).
 */
static void self_woken_twice(void)
{
	const struct fake_switch block = { .prev_state = 1 };
	struct fake_task me = self_task();
	uint64_t t = fake_now_ns() + 50000000;

	fake_switch(0, t, &me, NULL, &block);
	fake_wakeup(1, t + 10000, &me, NULL, 0);
	fake_switch(0, t + 20000, NULL, &me, NULL);
	t += 10000000;
	fake_switch(1, t, &me, NULL, &block);
	fake_wakeup(0, t + 10000, &me, NULL, 1);
	fake_switch(1, t + 40000, NULL, &me, NULL);
}

/* The JSON object of tid in out, cut at its end ("}}"), or NULL. */
static const char *json_thread(const char *text, int tid, char *buf, size_t len)
{
	char key[64];
	const char *p, *end;

	snprintf(key, sizeof(key), "\"tid\": %d,", tid);
	p = strstr(text, key);
	if (!p)
		return NULL;
	end = strstr(p, "}}");
	if (!end || (size_t)(end - p) >= len)
		return NULL;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return buf;
}

static void test_sched_json(void **state)
{
	const char *args[] = { "-D",	     FAKE_DEVICE, "sched",  "-p",
			       pid_arg,	     "--interval", "0.2", "--json",
			       NULL };
	char obj[2048], want[128];

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = self_woken_twice;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	assert_true(json_valid(out));
	assert_true(out[0] == '{');
	assert_non_null(json_thread(out, getpid(), obj, sizeof(obj)));
	snprintf(want, sizeof(want), "\"pid\": %d,", (int)getpid());
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(obj, "\"policy\": \"other\""));
	assert_non_null(strstr(obj, "\"affinity\": [0"));
	/* Two wake-ups of 10 and 30 us: p50 is the 1st, mean 20, sd 10. */
	assert_non_null(strstr(
		obj,
		"\"interval\": {\"window_s\": 0.200000, \"wakeup_latency_us\": {\"count\": 2, \"min\": 10.000, \"mean\": 20.000, \"p50\": 10.000, \"p90\": 30.000, \"p99\": 30.000, \"p999\": 30.000, \"max\": 30.000, \"stddev\": 10.000"));
	assert_int_equal(fake.last_attach.pid, getpid());
	assert_int_equal(fake_ioctls(HFTMON_IOC_STOP), 1);
}

/*
 * sched --histogram: the two wake-ups of 10 and 30 us in their log2
 * slots, [8K, 16K) and [16K, 32K) ns, in the text and in the JSON (each
 * thread's interval object; the JSON still valid).
 */
static void test_sched_histogram(void **state)
{
	const char *args[] = { "-D",	 FAKE_DEVICE,  "sched",	 "-p",
			       pid_arg,	 "--interval", "0.2",	 "--count",
			       "1",	 "--histogram", NULL };
	const char *jargs[] = { "-D",	  FAKE_DEVICE,	"sched",       "-p",
				pid_arg,  "--interval", "0.2",	       "--json",
				"--histogram", NULL };
	char obj[4096];

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = self_woken_twice;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, ": wake-up latency over the interval (ns), 2 values:\n"));
	assert_non_null(strstr(out, "[8K, 16K)                   1 |"));
	assert_non_null(strstr(out, "[16K, 32K)                  1 |"));

	fake_teardown();
	fake_setup(2);
	fake.on_start = self_woken_twice;
	assert_int_equal(run_cli(jargs), 0);
	assert_true(json_valid(out));
	assert_non_null(json_thread(out, getpid(), obj, sizeof(obj)));
	assert_non_null(strstr(obj, "\"wakeup_latency_ns_histogram\": [{\"low\": 8192, \"high\": 16384, \"count\": 1}, {\"low\": 16384, \"high\": 32768, \"count\": 1}]"));
}

static void test_sched_table(void **state)
{
	const char *args[] = { "-D",	 FAKE_DEVICE, "sched",   "-p",
			       pid_arg,	 "--interval", "0.15", "--count",
			       "2",	 NULL };
	char row[64];
	const char *first, *second;

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = self_woken_twice;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	first = strstr(out, "over the interval (0.150 s)\n");
	assert_non_null(first);
	second = strstr(first + 1, "over the interval (0.150 s)\n");
	assert_non_null(second);
	assert_null(strstr(second + 1, "over the interval"));
	assert_non_null(strstr(out, "     TID COMM             POLICY   RTPRIO NICE AFFINITY      CPU"));
	/* First interval: both wake-ups; second: none. */
	snprintf(row, sizeof(row), "\n%8d ", (int)getpid());
	first = strstr(first, row);
	assert_non_null(first);
	assert_true(first < second);
	assert_non_null(strstr(first, " other "));
	assert_non_null(strstr(first, "        2       10.0       30.0       30.0       10.0\n"));
	second = strstr(second, row);
	assert_non_null(second);
	assert_non_null(strstr(second, "        0          -          -          -          -\n"));
	assert_non_null(strstr(out, "\nlost: 0 records in the kernel"));
}

/*
 * sched -o FILE, then report -i FILE: every interval again, byte for
 * byte, text and JSON: the threads as they were printed (the file's
 * note), the wake-ups of each interval from the file's records over the
 * same [begin, end) as live, the histogram, the footer.
 */
/* Every from in path becomes to (the same length), in place. */
static void rename_in_file(const char *path, const char *from, const char *to)
{
	static char buf[1 << 22];
	size_t n, len = strlen(from), found = 0;
	FILE *f = fopen(path, "r+");
	char *p;

	assert_non_null(f);
	assert_int_equal(strlen(to), len);
	n = fread(buf, 1, sizeof(buf), f);
	assert_true(n < sizeof(buf));
	for (p = buf; (p = memmem(p, n - (size_t)(p - buf), from, len));
	     p += len, found++)
		memcpy(p, to, len);
	assert_true(found > 0);
	rewind(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

static void test_sched_report_from_file(void **state)
{
	char file[] = "/tmp/hftmon-cli-sched-XXXXXX";
	const char *rec[] = { "-D",	     FAKE_DEVICE, "sched",	 "-p",
			      pid_arg,	     "--interval", "0.15",	 "--count",
			      "2",	     "--histogram", "-o",	 file,
			      NULL };
	const char *jrec[] = { "-D",	     FAKE_DEVICE, "sched",	"-p",
			       pid_arg,	     "--interval", "0.2",	"--json",
			       "--histogram", "-o",	  file,		NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = self_woken_twice;
	run_live(rec);
	assert_non_null(strstr(live_out, "        2       10.0       30.0       30.0       10.0\n"));
	assert_non_null(strstr(live_out, "        0          -          -          -          -\n"));
	report_equals_live(rep);

	fake_teardown();
	fake_setup(2);
	fake.on_start = self_woken_twice;
	run_live(jrec);
	assert_true(json_valid(live_out));
	assert_non_null(strstr(live_out, "\"count\": 2, \"min\": 10.000"));
	report_equals_live(rep);

	/*
	 * A recording of an hftmon before the per-interval note (here: the
	 * note renamed): one interval over the whole recording, said so,
	 * with both wake-ups, from the records and the threads at the stop.
	 */
	fake_teardown();
	fake_setup(2);
	fake.on_start = self_woken_twice;
	run_live(rec);
	rename_in_file(file, "hftmon.cli.sched", "hftmon.cli.schex");
	assert_int_equal(run_cli(rep), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "(this recording keeps no per-interval view: one interval over the whole recording; policy .. migrations as the threads were at its stop)\n"));
	assert_non_null(strstr(out, "        2       10.0       30.0       30.0       10.0\n"));
	unlink(file);
}

static double mono_s(void);

/*
 * sched -I MS is --interval in ms; --stop-us 20 ends the run at the
 * 30 us wake-up (one 30 s interval otherwise) and names it; --stop-us 31
 * does not fire.
 */
static void test_sched_interval_ms_and_stop_us(void **state)
{
	const char *iargs[] = { "-D",	 FAKE_DEVICE, "sched", "-p", pid_arg,
				"-I",	 "150",	      "--count", "1", NULL };
	const char *sargs[] = { "-D",	   FAKE_DEVICE, "sched",     "-p",
				pid_arg,   "--interval", "30",	      "--count",
				"1",	   "--stop-us",	 "20",	      NULL };
	const char *nargs[] = { "-D",	   FAKE_DEVICE, "sched",     "-p",
				pid_arg,   "--interval", "0.2",	      "--count",
				"1",	   "--stop-us",	 "31",	      NULL };
	char note_text[128];
	double t0;

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = self_woken_twice;
	assert_int_equal(run_cli(iargs), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "over the interval (0.150 s)\n"));

	fake_teardown();
	fake_setup(2);
	fake.on_start = self_woken_twice;
	t0 = mono_s();
	assert_int_equal(run_cli(sargs), 0);
	assert_true(mono_s() - t0 < 5);
	snprintf(note_text, sizeof(note_text),
		 "hftmon: note: --stop-us 20: tid %d waited 30.000 us from its wake-up to run: stopping\n",
		 (int)getpid());
	assert_string_equal(err, note_text);
	assert_non_null(strstr(out, "(a partial interval: the run ended)"));
	assert_non_null(strstr(out, "        2       10.0       30.0       30.0       10.0\n"));

	fake_teardown();
	fake_setup(2);
	fake.on_start = self_woken_twice;
	assert_int_equal(run_cli(nargs), 0);
	assert_string_equal(err, "");
}

/* This process's main thread blocked 5 us, back at 45 ms and at 75 ms. */
static void self_back_at_45_and_75_ms(void)
{
	const struct fake_switch block = { .prev_state = 1 };
	struct fake_task me = self_task();
	uint64_t t = fake_now_ns();

	fake_switch(0, t + 44995000, &me, NULL, &block);
	fake_switch(0, t + 45000000, NULL, &me, NULL);
	fake_switch(1, t + 74995000, &me, NULL, &block);
	fake_switch(1, t + 75000000, NULL, &me, NULL);
}

/*
 * switches -I 30 over 0.1 s: three 30 ms intervals as they end, each
 * with the switches back in within it (none, the one at 45 ms, the one
 * at 75 ms), then the partial one the stop ends; report -i prints them
 * again.
 */
static void test_switches_interval_print(void **state)
{
	char file[] = "/tmp/hftmon-cli-swi-XXXXXX";
	const char *args[] = { "-D", FAKE_DEVICE, "switches", "-p", pid_arg,
			       "-I", "30", "--duration", "0.1", "-o", file,
			       NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	static const char *const want[] = {
		"--- interval 1: 0.000-0.030 s after the start ---\n",
		"\n0 switch(es) of at least 0 us off CPU, of 0 completed by the targets back in within the interval's 0.030 s\n",
		"\n--- interval 2: 0.030-0.060 s after the start ---\n",
		"\n1 switch(es) of at least 0 us off CPU, of 1 completed by the targets back in within the interval's 0.030 s\n",
		"\n--- interval 3: 0.060-0.090 s after the start ---\n",
		"\n1 switch(es) of at least 0 us off CPU, of 1 completed by the targets back in within the interval's 0.030 s\n",
		"\n--- interval 4: 0.090-",
		" s after the start (partial: the run ended) ---\n",
		"\n0 switch(es) of at least 0 us off CPU, of 0 completed by the targets back in within the interval's ",
		"\ntargets: pid ",
	};
	const char *p;
	size_t i;
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = self_back_at_45_and_75_ms;
	run_live(args);
	for (p = live_out, i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		p = strstr(p, want[i]);
		if (!p)
			fail_msg("missing, in order: %s\nin:\n%s", want[i],
				 live_out);
	}
	assert_null(strstr(live_out, "--- interval 5"));
	report_equals_live(rep);
	unlink(file);
}

/*
 * Where -I or --stop-us cannot mean anything, one usage line says why
 * and what to use instead (exit 2); irq -I 150 is its --interval 0.15.
 */
static void test_interval_and_stop_refused_where_meaningless(void **state)
{
	static const char *const cases[][8] = {
		{ "switches", "-p", "1", "-I", "100", "--json", NULL },
		{ "spikes", "-p", "1", "-I", "100", NULL },
		{ "record", "-p", "1", "--stop-us", "100", NULL },
		{ "spikes", "-p", "1", "--threshold-us", "50", "--stop-us",
		  "40", NULL },
	};
	static const char *const why[] = {
		"hftmon: switches: --json prints one object at the end: leave out -I (see hftmon switches --help)\n",
		"hftmon: spikes: -I has no intervals to print: a spike is printed as it ends with --follow (see hftmon spikes --help)\n",
		"hftmon: record: --stop-us has nothing to stop at: record counts records, it pairs no switch and measures no latency; use switches --stop-us or sched --stop-us (see hftmon record --help)\n",
		"hftmon: spikes: --stop-us 40 is below --threshold-us 50: the kernel reports no spike shorter than the threshold (see hftmon spikes --help)\n",
	};
	const char *iargs[] = { "-D", FAKE_DEVICE, "irq", "--cpu", "0", "-I",
				"150", "--count", "1", NULL };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run_cli_child_err(cases[i]), 2);
		assert_string_equal(err, why[i]);
	}
	assert_int_equal(run_cli(iargs), 0);
	assert_non_null(strstr(out, "over the interval (0.150 s)"));
}

static void test_sched_no_such_process(void **state)
{
	const char *args[] = { "-D", FAKE_DEVICE, "sched", "-p", "3999999",
			       "--interval", "0.01", NULL };

	(void)state;
	assert_int_equal(run_cli_child_err(args), 1);
	assert_string_equal(err, "hftmon: sched: -p 3999999: no such process: check the id (ps -eLf lists threads)\n");
}

/* ---- switches ----------------------------------------------------------- */

static char ksyms_path[64];

static const struct fake_task gw = { .pid = 0, .tid = 4243,
				     .comm = "order-gw", .prio = 120,
				     .tracked = true };
static const struct fake_task fifo = { .pid = 77, .tid = 78,
				       .comm = "irq/24-eth0", .prio = 49,
				       .policy = 1 };

__attribute__((noinline)) static uint64_t user_ip(void)
{
	return (uint64_t)(uintptr_t)&user_ip + 4;
}

/* order-gw (a thread of this process): one long switch with stacks, one short. */
static void gw_switches(void)
{
	static const uint64_t kips[] = { 0xffffffff81000210ull,
					 0xffffffff81000408ull };
	const struct fake_switch with_stacks = { .prev_state = 1, .kstack = 1,
						 .ustack = 2 };
	const struct fake_switch preempted = { .preempt = true };
	struct fake_task t = gw;
	uint64_t uips[3];

	t.pid = getpid();
	uips[0] = user_ip();
	/* What a frame-pointer walk reads past a function that keeps no
	 * frame pointer: data, then anything. */
	uips[1] = 0xa00000007ull;
	uips[2] = user_ip();
	fake_stack(0, 1000000, &t, 1, kips, 2, 0);
	fake_stack(0, 1000000, &t, 2, uips, 3, HFTMON_STACK_USER);
	fake_switch(0, 2000000, &t, &fifo, &with_stacks);
	fake_wakeup(1, 2010000, &t, NULL, 1);
	fake_switch(1, 2012500, NULL, &t, NULL);
	fake_switch(1, 3000000, &t, &fifo, &preempted); /* 2 us */
	fake_switch(1, 3002000, &fifo, &t, NULL);
}

static void write_kallsyms(const char *text)
{
	int fd;

	snprintf(ksyms_path, sizeof(ksyms_path), "/tmp/hftmon-ksyms-XXXXXX");
	fd = mkstemp(ksyms_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_switches_with_stacks(void **state)
{
	const char *args[] = { "-D",	     FAKE_DEVICE,   "switches",
			       "-p",	     pid_arg,	    "--min-us",
			       "5",	     "--duration",  "0.05",
			       "--stacks",   "--user-stacks", "--kallsyms",
			       ksyms_path,   NULL };
	char exe[4096], want[4200];
	ssize_t n;

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	write_kallsyms("ffffffff81000000 T _stext\n"
		       "ffffffff81000200 T schedule\n"
		       "ffffffff81000400 T do_nanosleep\n");
	fake.on_start = gw_switches;
	assert_int_equal(run_cli(args), 0);
	unlink(ksyms_path);
	assert_string_equal(err, "");
	assert_int_equal(fake.last_attach.flags,
			 HFTMON_ATTACH_KSTACK | HFTMON_ATTACH_USTACK);
	assert_non_null(strstr(out, "     TID COMM                           OUT(s)  OFF-CPU(us) KIND        CPU         NEXT NEXT-COMM        PRIO   WAKEUP(us)\n"));
	/* The 12.5 us switch: out at 0.002 s, CPU 0 -> 1, woken 2.5 us
	 * before it ran again, preempted by a FIFO thread at prio 49. */
	assert_non_null(strstr(out, "    4243 order-gw                  0.002000000       12.500 voluntary   0->1          78 irq/24-eth0        49        2.500\n"));
	assert_non_null(strstr(out, "    kernel stack:\n      schedule+0x10\n      do_nanosleep+0x8\n"));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	/* Named from this program's own .symtab: user_ip() returns its own
	 * address + 4. */
	snprintf(want, sizeof(want),
		 "    user stack:\n      0x%" PRIx64 " user_ip+0x4 %s+0x",
		 user_ip(), exe);
	assert_non_null(strstr(out, want));
	/* The walk ends at the first address that is not code: what it read
	 * after is not printed. */
	assert_non_null(strstr(out, " (0xa00000007 is not code: a function without a frame pointer ended the walk)\n"));
	assert_null(strstr(strstr(out, "(0xa00000007"), "user_ip"));
	/* The 2 us one is below --min-us. */
	assert_null(strstr(out, "0.003000000"));
	assert_non_null(strstr(out, "\n1 switch(es) of at least 5 us off CPU, of 2 completed by the targets over "));
	assert_non_null(strstr(out, "\nlost: 0 records in the kernel"));
	assert_null(strstr(out, "kptr_restrict"));
}

/* switches -o FILE --stacks: the report names the stacks from the file. */
static void test_switches_report_from_file(void **state)
{
	char file[] = "/tmp/hftmon-cli-sw-XXXXXX";
	const char *args[] = { "-D",	     FAKE_DEVICE,   "switches",
			       "-p",	     pid_arg,	    "--min-us",
			       "5",	     "--duration",  "0.05",
			       "--stacks",   "--user-stacks", "--kallsyms",
			       ksyms_path,   "-o",	    file,
			       NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	write_kallsyms("ffffffff81000000 T _stext\n"
		       "ffffffff81000200 T schedule\n"
		       "ffffffff81000400 T do_nanosleep\n");
	fake.on_start = gw_switches;
	assert_int_equal(run_cli(args), 0);
	unlink(ksyms_path); /* the report has only the file's copy */
	assert_string_equal(err, "");
	memcpy(live_out, out, sizeof(out));
	assert_non_null(strstr(live_out, "      schedule+0x10\n"));
	report_equals_live(rep);
	unlink(file);
}

/* gw_switches, and a 100 us vector on CPU 1 while order-gw runs there. */
static void gw_switches_irq(void)
{
	struct hftmon_rec_irq *r;

	gw_switches();
	r = (void *)ring_producer_reserve(&fake.prod[1], HFTMON_REC_IRQ,
					  sizeof(*r));
	assert_non_null(r);
	r->hdr.pid = getpid();
	r->hdr.tid = gw.tid;
	r->hdr.flags = HFTMON_IRQ_TRACKED;
	r->hdr.time_ns = 2600000;
	r->start_ns = 2500000;
	r->net_ns = r->gross_ns = 100000;
	r->kind = HFTMON_IRQ_KIND_VECTOR;
	r->nr = 0xec;
	ring_producer_commit(&fake.prod[1]);
}

/* gw_switches_irq, and the spike the module makes of that vector. */
static void gw_spike(void)
{
	struct fake_task t = gw;
	struct fake_spike sp = { .type = HFTMON_SPIKE_INTERRUPTED,
				 .start = 2500000, .end = 2600000,
				 .threshold = 50000, .links = 1, .from_cpu = 1,
				 .idle_state = -1, .victim = &t };

	t.pid = getpid();
	gw_switches_irq();
	assert_true(fake_spike(1, &sp));
}

/*
 * spikes -o FILE, then report -i FILE: the same spike with the same
 * parts (the vector, the thread's own time around it), text and JSON.
 */
static void test_spikes_report_from_file(void **state)
{
	char file[] = "/tmp/hftmon-cli-spk-XXXXXX";
	const char *args[] = { "-D",	      FAKE_DEVICE, "spikes", "-p",
			       pid_arg,	      "--threshold-us", "50",
			       "--duration",  "0.05",	   "-o",     file,
			       NULL };
	const char *jargs[] = { "-D",	       FAKE_DEVICE, "spikes", "-p",
				pid_arg,       "--threshold-us", "50",
				"--duration",  "0.05",	    "--json", "-o",
				file,	       NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = gw_spike;
	run_live(args);
	assert_non_null(strstr(live_out, "1 spike(s) of at least 50 us\n"));
	assert_non_null(strstr(live_out, "vector 0xec LOC"));
	report_equals_live(rep);

	fake_teardown();
	fake_setup(2);
	fake.on_start = gw_spike;
	run_live(jargs);
	assert_non_null(strstr(live_out, "\"nr_spikes\": 1,"));
	report_equals_live(rep);
	unlink(file);
}

/*
 * gw_spike, and the PMU's read of order-gw's slice on CPU 1 around it
 * (2.4 to 2.7 ms): 3 page faults; instructions refused (fake ENOENT).
 */
static void gw_spike_pmu(void)
{
	struct fake_task t = gw;
	static const uint64_t d[2] = { 3, 0 };
	static const __s32 st[2] = { 0, -ENOENT };

	t.pid = getpid();
	gw_spike();
	assert_true(fake_pmu(1, 2400000, 2700000, &t, 2, d, st, NULL));
}

/*
 * spikes --events: each spike with what the counters counted over the
 * reads around it (where they begin and end from its start), a refused
 * counter unsupported with the kernel's reason and no number; the same
 * from the recording; JSON; --sample-us without --events refused.
 */
static void test_spikes_counters(void **state)
{
	char file[] = "/tmp/hftmon-cli-spc-XXXXXX";
	const char *args[] = { "-D", FAKE_DEVICE, "spikes", "-p", pid_arg,
			       "--threshold-us", "50", "--duration", "0.05",
			       "--no-causes", "-e", "page-faults,instructions",
			       "-o", file, NULL };
	const char *jargs[] = { "-D", FAKE_DEVICE, "spikes", "-p", pid_arg,
				"--threshold-us", "50", "--duration", "0.05",
				"--json", "--events", "page-faults", NULL };
	const char *bad[] = { "spikes", "-p", "1", "--threshold-us", "50",
			      "--sample-us", "10", NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.pmu_status[1] = -ENOENT;
	fake.on_start = gw_spike_pmu;
	run_live(args);
	assert_non_null(strstr(live_out, "interrupted 100.000 us (threshold 50.000 us), 1 interruption(s) chained\n"
					 "  counters over 1 read(s) from -100.000 to +200.000 us of the spike's start:\n"
					 "    page-faults: 3\n"
					 "    instructions: unsupported: "));
	assert_non_null(strstr(live_out, "(ENOENT)\n1 spike(s) of at least 50 us\n"));
	report_equals_live(rep);
	unlink(file);

	fake_teardown();
	fake_setup(2);
	fake.on_start = gw_spike_pmu;
	assert_int_equal(run_cli(jargs), 0);
	assert_non_null(strstr(out, "\"counters\": {\"reads\": 1, \"from_ns\": 2400000, \"to_ns\": 2700000, \"complete\": true, \"values\": [{\"event\": \"page-faults\", \"state\": \"measured\", \"value\": 3, \"status\": 0, \"reason\": null}]}"));

	assert_int_equal(run_cli_child_err(bad), 2);
	assert_string_equal(err, "hftmon: spikes: --sample-us reads PMU counters: name them with --events (see hftmon spikes --help)\n");
}

/* Two slices of order-gw with 3 and 5 page faults; instructions refused. */
static void gw_pmu_slices(void)
{
	struct fake_task t = gw;
	static const uint64_t d1[2] = { 3, 0 }, d2[2] = { 5, 0 };
	static const __s32 st[2] = { 0, -ENOENT };

	t.pid = getpid();
	assert_true(fake_pmu(1, 2400000, 2700000, &t, 2, d1, st, NULL));
	assert_true(fake_pmu(1, 2800000, 2900000, &t, 2, d2, st, NULL));
}

/*
 * cache -o FILE, then report -i FILE: the same metrics from the file (its
 * PMU configuration recorded with it), the refused counter unsupported.
 */
static void test_cache_report_from_file(void **state)
{
	char file[] = "/tmp/hftmon-cli-cac-XXXXXX";
	const char *args[] = { "-D", FAKE_DEVICE, "cache", "-p", pid_arg,
			       "--duration", "0.05", "--percentiles", "50,100",
			       "-e", "page-faults,instructions", "-o", file,
			       NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.pmu_status[1] = -ENOENT;
	fake.on_start = gw_pmu_slices;
	run_live(args);
	assert_non_null(strstr(live_out, ": 2 slices, 0.400 ms on CPU\n"
					 "  page-faults: measured; 8 in 2 slices\n"
					 "    per slice: p50 3 p100 5\n"));
	assert_non_null(strstr(live_out, "  instructions: unsupported: "));
	report_equals_live(rep);
	unlink(file);
}

/* order-gw's 100 us INTERRUPTED spike on CPU 1, 10 ms from now. */
static void gw_spike_soon(void)
{
	struct fake_task t = gw;
	uint64_t now = fake_now_ns();
	struct fake_spike sp = { .type = HFTMON_SPIKE_INTERRUPTED,
				 .start = now + 10000000,
				 .end = now + 10100000,
				 .threshold = 100000, .links = 1, .from_cpu = 1,
				 .idle_state = -1, .victim = &t };

	t.pid = getpid();
	assert_true(fake_spike(1, &sp));
}

/*
 * --stop-us where the run's measure is a spike (spikes, with --follow
 * or not) or an interruption (irq): the 100 us vector and its spike end
 * a 5 s run at once, named on standard error; 101 us does not.
 */
static void test_spikes_and_irq_stop_us(void **state)
{
	const char *sargs[] = { "-D", FAKE_DEVICE, "spikes", "-p", pid_arg,
				"--threshold-us", "50", "--stop-us", "80",
				"--duration", "5", NULL };
	const char *fargs[] = { "-D", FAKE_DEVICE, "spikes", "-p", pid_arg,
				"--stop-us", "100", "--follow", "--no-causes",
				"--duration", "5", NULL };
	const char *iargs[] = { "-D", FAKE_DEVICE, "irq", "-p", pid_arg,
				"--interval", "5", "--stop-us", "100", NULL };
	const char *nargs[] = { "-D", FAKE_DEVICE, "irq", "-p", pid_arg,
				"--interval", "0.2", "--count", "1",
				"--stop-us", "101", NULL };
	const char *spike_note = "hftmon: note: --stop-us %s: tid 4243 interrupted 100.000 us on cpu 1 (at 0.002500000 s): stopping\n";
	char want[256];
	double t0;

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = gw_spike;
	t0 = mono_s();
	assert_int_equal(run_cli(sargs), 0);
	assert_true(mono_s() - t0 < 4);
	snprintf(want, sizeof(want), spike_note, "80");
	assert_string_equal(err, want);
	assert_non_null(strstr(out, "1 spike(s) of at least 50 us\n"));

	fake_teardown();
	fake_setup(2);
	fake.on_start = gw_spike_soon;
	t0 = mono_s();
	assert_int_equal(run_cli(fargs), 0);
	assert_true(mono_s() - t0 < 4);
	assert_non_null(strstr(err, "hftmon: note: --stop-us 100: tid 4243 interrupted 100.000 us on cpu 1 (at "));
	assert_non_null(strstr(out, "1 spike(s) followed\n"));

	fake_teardown();
	fake_setup(2);
	fake.on_start = gw_switches_irq;
	t0 = mono_s();
	assert_int_equal(run_cli(iargs), 0);
	assert_string_equal(err, "hftmon: note: --stop-us 100: vector 0xec LOC on cpu 1 took 100.000 us: stopping\n");
	assert_non_null(strstr(out, "(a partial interval: the run ended)"));
	assert_true(mono_s() - t0 < 4);

	fake_teardown();
	fake_setup(2);
	fake.on_start = gw_switches_irq;
	assert_int_equal(run_cli(nargs), 0);
	assert_string_equal(err, "");
}

/*
 * irq -p PID --json -o FILE, then report -i FILE: the vector that hit
 * order-gw on CPU 1, its one interruption of 100 us, in the CPUs' table
 * and in the thread's, live and from the file.
 */
static void test_irq_report_from_file(void **state)
{
	char file[] = "/tmp/hftmon-cli-irq-XXXXXX";
	const char *args[] = { "-D",	     FAKE_DEVICE, "irq",    "-p",
			       pid_arg,	     "--interval", "0.05",  "--json",
			       "-o",	     file,	  NULL };
	const char *rep[] = { "report", "-i", file, NULL };
	const char *row = "{\"cpu\": 1, \"kind\": \"vector\", \"nr\": 236, \"name\": \"LOC\", \"count\": 1, ";
	char want[64];
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	snprintf(want, sizeof(want), "{\"tid\": %d, \"stolen\": ", (int)gw.tid);
	fake.on_start = gw_switches_irq;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, row));
	assert_non_null(strstr(out, "\"max_us\": 100.000"));
	assert_int_equal(run_cli(rep), 0);
	assert_string_equal(err, "");
	assert_true(json_valid(out));
	assert_non_null(strstr(out, row));
	assert_non_null(strstr(out, "\"max_us\": 100.000"));
	assert_non_null(strstr(strstr(out, "\"threads\""), row));
	unlink(file);
}

/*
 * export --perfetto: the trace holds, for order-gw, its two completed
 * switches as off-CPU slices, the one stretch between them as running,
 * the wake-up of the first as runnable, and the vector on CPU 1's track;
 * counted here in the JSON, and by Chrome DevTools' trace engine (an
 * independent reader of the format) when HFTMON_TRACE_ENGINE names its
 * directory, as make test-unit does.
 */
static void test_export_perfetto(void **state)
{
	char file[] = "/tmp/hftmon-cli-exp-XXXXXX";
	char trace[sizeof(file) + 8], cmd[1024], want[512];
	const char *args[] = { "-D",	     FAKE_DEVICE,   "switches",
			       "-p",	     pid_arg,	    "--duration",
			       "0.05",	     "-o",	    file,
			       NULL };
	const char *exp[] = { "export", "-i", file, "--perfetto", trace, NULL };
	const char *engine = getenv("HFTMON_TRACE_ENGINE");
	static char json[1 << 16];
	const char *p;
	FILE *f;
	size_t n;
	int fd = mkstemp(file), count;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(trace, sizeof(trace), "%s.json", file);
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = gw_switches_irq;
	assert_int_equal(run_cli(args), 0);
	assert_int_equal(run_cli(exp), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, ": 2 switches, 1 interruptions of "));
	f = fopen(trace, "r");
	assert_non_null(f);
	n = fread(json, 1, sizeof(json) - 1, f);
	json[n] = '\0';
	fclose(f);
	for (count = 0, p = json; (p = strstr(p, "\"name\": \"off-CPU\"")); p++)
		count++;
	assert_int_equal(count, 2);
	assert_non_null(strstr(json, "\"name\": \"vector 0xec\", \"cat\": \"vector\", \"ph\": \"X\", \"pid\": 1073741825, \"tid\": 1, \"ts\": 2500.000, \"dur\": 100.000"));
	if (!engine) {
		print_message("HFTMON_TRACE_ENGINE unset: the trace is not read by DevTools' engine here (make test-unit sets it)\n");
	} else {
		snprintf(cmd, sizeof(cmd),
			 "node tests/export/check-trace.mjs '%s' '%s' > '%s.counts' 2>&1",
			 engine, trace, file);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s.counts", file);
		f = fopen(cmd, "r");
		assert_non_null(f);
		n = fread(json, 1, sizeof(json) - 1, f);
		json[n] = '\0';
		fclose(f);
		snprintf(want, sizeof(want),
			 "%d 4243 off-CPU 2\n%d 4243 running 1\n%d 4243 runnable 1\n",
			 (int)getpid(), (int)getpid(), (int)getpid());
		for (p = want; *p; p = strchr(p, '\n') + 1) {
			char line[128];

			snprintf(line, sizeof(line), "%.*s",
				 (int)(strchr(p, '\n') - p + 1), p);
			if (!strstr(json, line))
				fail_msg("DevTools' engine lacks \"%s\" in:\n%s", line, json);
		}
		if (!strstr(json, "1073741825 1 vector 0xec 1\n"))
			fail_msg("DevTools' engine lacks CPU 1's vector in:\n%s", json);
		unlink(cmd);
	}
	unlink(trace);
	unlink(file);
}

/* switches --histogram: the 12.5 us switch shown is in [8, 16). */
static void test_switches_histogram(void **state)
{
	const char *args[] = { "-D",	    FAKE_DEVICE,  "switches", "-p",
			       pid_arg,	    "--min-us",	  "5",	      "--duration",
			       "0.05",	    "--histogram", NULL };

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = gw_switches;
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(out, "\ntime off CPU of the switches shown (us), 1 values:\n[8, 16)                     1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"));
}

/*
 * switches --stop-us 10: the 12.5 us switch ends the run (a 30 s
 * duration otherwise), and says so; --stop-us 20 would not fire.
 */
static void test_switches_stop_us(void **state)
{
	const char *args[] = { "-D",	    FAKE_DEVICE,  "switches", "-p",
			       pid_arg,	    "--duration", "30",	      "--stop-us",
			       "10",	    NULL };

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = gw_switches;
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(err, "hftmon: note: --stop-us 10: tid 4243 was off CPU 12.500 us (out at 0.002000 s): stopping\n"));
	assert_non_null(strstr(out, "    4243 order-gw                  0.002000000       12.500 "));
}

static void test_switches_kptr_restrict(void **state)
{
	const char *args[] = { "-D",	   FAKE_DEVICE,	 "switches", "-p",
			       pid_arg,	   "--duration", "0.02",     "--stacks",
			       "--kallsyms", ksyms_path,	 NULL };
	const char *note;

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	write_kallsyms("0000000000000000 T _stext\n"
		       "0000000000000000 T schedule\n");
	fake.on_start = gw_switches;
	assert_int_equal(run_cli(args), 0);
	unlink(ksyms_path);
	note = strstr(out, "(kptr_restrict): kernel stacks are printed as raw addresses\n");
	assert_non_null(note);
	assert_null(strstr(strchr(note, '\n'), "kptr_restrict")); /* once */
	assert_non_null(strstr(out, "    kernel stack:\n      0xffffffff81000210\n      0xffffffff81000408\n"));
	/* Both switches (no --min-us); the short one had no stack. */
	assert_non_null(strstr(out, "0.003000000        2.000 involuntary 1"));
	assert_non_null(strstr(out, "    kernel stack: none recorded\n"));
	assert_int_equal(fake.last_attach.flags, HFTMON_ATTACH_KSTACK);
}

static void test_switches_missing_kallsyms(void **state)
{
	const char *args[] = { "-D",	  FAKE_DEVICE,  "switches",
			       "-p",	  pid_arg,	"--duration",
			       "0.01",	  "--stacks",	"--kallsyms",
			       "/nonexistent/kallsyms",	NULL };

	(void)state;
	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)getpid());
	fake.on_start = gw_switches;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(
		err,
		"hftmon: /nonexistent/kallsyms: No such file or directory: kernel stacks are printed as raw addresses\n");
	assert_non_null(strstr(out, "      0xffffffff81000210\n"));
}

/* ---- issue 10: targets, errors, output, signals, placement ------------- */

/* A helper thread of this process: a thread id that is not the pid. */
static atomic_int helper_tid;
static atomic_bool helper_stop;

static void *helper_main(void *arg)
{
	(void)arg;
	atomic_store(&helper_tid, (int)gettid());
	while (!atomic_load(&helper_stop))
		usleep(1000);
	return NULL;
}

static pthread_t helper_start(char *tid_arg, size_t len)
{
	pthread_t th;

	atomic_store(&helper_stop, false);
	atomic_store(&helper_tid, 0);
	assert_int_equal(pthread_create(&th, NULL, helper_main, NULL), 0);
	while (!atomic_load(&helper_tid))
		usleep(1000);
	snprintf(tid_arg, len, "%d", atomic_load(&helper_tid));
	return th;
}

static void helper_end(pthread_t th)
{
	atomic_store(&helper_stop, true);
	pthread_join(th, NULL);
}

/* Finding: a tid given to -p is accepted, then mislabelled or empty. */
static void test_tid_given_to_p_is_its_process(void **state)
{
	char tid_arg[16];
	pthread_t th = helper_start(tid_arg, sizeof(tid_arg));
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-p",
				     tid_arg, "-d", "0.01", NULL };
	char want[200];

	(void)state;
	assert_int_equal(run_cli(args), 0);
	helper_end(th);
	assert_int_equal(fake.last_attach.pid, self);
	snprintf(want, sizeof(want),
		 "hftmon: note: %s is a thread of process %d: monitoring every thread of %d (-t %s: that thread only)\n",
		 tid_arg, self, self, tid_arg);
	assert_string_equal(err, want);
	snprintf(want, sizeof(want), "targets: pid %d\n", self);
	assert_non_null(strstr(out, want));
}

/* Finding: record -p PID -p TID fails with "File exists". */
static void test_p_pid_and_p_tid_attach_once(void **state)
{
	char tid_arg[16];
	pthread_t th = helper_start(tid_arg, sizeof(tid_arg));
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-p",
				     self_arg, "-p", tid_arg, "-d", "0.01",
				     NULL };

	(void)state;
	fake.fail_cmd = 0;
	assert_int_equal(run_cli(args), 0);
	helper_end(th);
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 1);
	assert_null(strstr(err, "File exists"));
}

/* -t TID: that thread's rows only. */
static void test_t_tid_only(void **state)
{
	char tid_arg[16], row[64];
	pthread_t th = helper_start(tid_arg, sizeof(tid_arg));
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-t",
				     tid_arg, "-d", "0.01", NULL };

	(void)state;
	fake.on_start = workload; /* tids 4243, 4244: not the target */
	assert_int_equal(run_cli(args), 0);
	helper_end(th);
	assert_string_equal(err, "");
	assert_int_equal(fake.last_attach.pid, self);
	snprintf(row, sizeof(row), " %8s ", tid_arg);
	assert_non_null(strstr(out, row));
	assert_null(strstr(out, " 4243 "));
	assert_non_null(strstr(out, "threads: 1\n"));
	assert_non_null(strstr(out, "records: 0 delivered"));
}

/* Finding: a second -p is silently dropped by sched. */
static void test_sched_several_p(void **state)
{
	char child_arg[16], want[64];
	pid_t child = sleeper(10000);
	const char *const args[] = { "-D", FAKE_DEVICE, "sched", "-p",
				     self_arg, "-p", child_arg, "--interval",
				     "0.05", "--count", "1", NULL };

	(void)state;
	snprintf(child_arg, sizeof(child_arg), "%d", (int)child);
	assert_int_equal(run_cli(args), 0);
	reap(child);
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 2);
	/* This process has the drain thread too. */
	snprintf(want, sizeof(want), "pid %d: ", self);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "pid %d: 1 thread(s)", (int)child);
	assert_non_null(strstr(out, want));
}

/* Finding: record does not end when its targets exit. */
static void test_record_ends_when_targets_exit(void **state)
{
	char child_arg[16];
	pid_t child = sleeper(200);
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-p",
				     child_arg, NULL };

	(void)state;
	snprintf(child_arg, sizeof(child_arg), "%d", (int)child);
	/* No duration: only the child's exit ends it (reaped by us). */
	alarm(20);
	assert_int_equal(run_cli_reaping(args, child), 0);
	alarm(0);
	assert_non_null(strstr(out, "(exited); every target exited: the run ended there\n"));
	assert_non_null(strstr(out, "counts over the recording"));
}

/* The FORK record of a --children run: fork_parent forked followed. */
static pid_t fork_parent, followed;

static void parent_forks_followed(void)
{
	struct hftmon_rec_fork *f;

	f = (void *)ring_producer_reserve(&fake.prod[0], HFTMON_REC_FORK,
					  sizeof(*f));
	assert_non_null(f);
	f->hdr.pid = f->hdr.tid = fork_parent;
	f->hdr.flags = HFTMON_FORK_FOLLOWED;
	f->hdr.time_ns = fake_now_ns();
	f->child_pid = f->child_tid = followed;
	strcpy(f->child_comm, "child");
	ring_producer_commit(&fake.prod[0]);
}

/*
 * --children: attached with follow_children; the child a FORK record
 * says was followed becomes a target, and the run lasts until it exits
 * (400 ms), not until the named target does (50 ms): record (which
 * drains itself) and sched (the library's drain thread) alike.
 */
static void test_children_followed(void **state)
{
	static const char *const cmds[] = { "record", "sched" };
	char a_arg[16], want[96];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		const char *const args[] = { "-D", FAKE_DEVICE, cmds[i], "-p",
					     a_arg, "--children", NULL };
		pthread_t th;
		double t0;

		if (i) {
			fake_teardown();
			fake_setup(2);
		}
		fake.info.features |= HFTMON_FEAT_INHERIT |
				      HFTMON_FEAT_PROCESS_FORK;
		fork_parent = sleeper(50);
		followed = sleeper(400);
		snprintf(a_arg, sizeof(a_arg), "%d", (int)fork_parent);
		fake.on_start = parent_forks_followed;
		pthread_create(&th, NULL, reaper, (void *)(intptr_t)followed);
		alarm(20);
		t0 = mono_s();
		assert_int_equal(run_cli_reaping(args, fork_parent), 0);
		alarm(0);
		pthread_join(th, NULL);
		assert_true(fake.last_attach.flags & HFTMON_ATTACH_INHERIT);
		snprintf(want, sizeof(want), "pid %d (a child followed, exited)",
			 (int)followed);
		if (!strstr(out, want))
			fail_msg("%s: no '%s' in:\n%s", cmds[i], want, out);
		assert_true(mono_s() - t0 > 0.35);
	}
}

/* Finding: sched prints an error and throws away what it measured. */
static void test_sched_target_exit_keeps_measurements(void **state)
{
	char child_arg[16], want[64];
	pid_t child = sleeper(300);
	const char *const args[] = { "-D", FAKE_DEVICE, "sched", "-p",
				     child_arg, "--interval", "10", NULL };

	(void)state;
	snprintf(child_arg, sizeof(child_arg), "%d", (int)child);
	alarm(20);
	assert_int_equal(run_cli_reaping(args, child), 0);
	alarm(0);
	assert_string_equal(err, "");
	snprintf(want, sizeof(want), "\n%8d ", (int)child);
	assert_non_null(strstr(out, want)); /* its row, as last seen */
	assert_non_null(strstr(out, "(exited: as last seen) (a partial interval: the run ended)"));
	assert_non_null(strstr(out, "every target exited"));
}

static void *raise_later(void *arg)
{
	usleep(300000);
	kill(getpid(), (int)(intptr_t)arg);
	return NULL;
}

/* Finding: sched --json interrupted before its first interval prints nothing. */
static void test_sched_json_interrupted(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "sched", "-p",
				     self_arg, "--interval", "10", "--json",
				     NULL };
	char want[64];
	pthread_t th;

	(void)state;
	pthread_create(&th, NULL, raise_later, (void *)(intptr_t)SIGINT);
	assert_int_equal(run_cli(args), 0);
	pthread_join(th, NULL);
	assert_true(json_valid(out));
	assert_true(out[0] == '{');
	snprintf(want, sizeof(want), "\"tid\": %d,", self);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\"time\": {\"clock\": \"CLOCK_MONOTONIC\""));
	assert_non_null(strstr(out, "\"lost\": {\"total\": 0"));
	assert_non_null(strstr(out, "\"targets\": [{\"pid\": "));
	assert_non_null(strstr(out, "\"monitor\": {\"pid\": "));
	signal(SIGINT, SIG_DFL);
}

/*
 * A helper thread that switches voluntarily many times (usleep), then
 * blocks in read() on a pipe until released: while it blocks, its /proc
 * totals cannot change, so they are the expected values of its row.
 */
static int frozen_pipe[2];

static void *frozen_main(void *arg)
{
	char c;
	int i;

	(void)arg;
	for (i = 0; i < 40; i++)
		usleep(200);
	atomic_store(&helper_tid, (int)gettid());
	if (read(frozen_pipe[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

/* /proc/self/task/TID's totals, as the kernel reports them. */
struct proc_totals {
	unsigned long long vol, invol, cpu_ns, delay_ns;
	long long migrations;
	int cpu;
	char state;
};

static void read_file_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static unsigned long long key_value(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	assert_non_null(p);
	p += strlen(key);
	while (*p == ' ' || *p == '\t' || *p == ':')
		p++;
	return strtoull(p, NULL, 10);
}

static void proc_totals(int tid, struct proc_totals *t)
{
	char path[96], buf[8192];
	const char *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	read_file_text(path, buf, sizeof(buf));
	t->vol = key_value(buf, "\nvoluntary_ctxt_switches");
	t->invol = key_value(buf, "\nnonvoluntary_ctxt_switches");
	p = strstr(buf, "\nState:");
	assert_non_null(p);
	t->state = p[strspn(p + 7, " \t") + 7];
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	read_file_text(path, buf, sizeof(buf));
	assert_int_equal(sscanf(buf, "%llu %llu", &t->cpu_ns, &t->delay_ns), 2);
	snprintf(path, sizeof(path), "/proc/self/task/%d/sched", tid);
	read_file_text(path, buf, sizeof(buf));
	t->migrations = (long long)key_value(buf, "se.nr_migrations");
	/* The 39th field of stat: the CPU it last ran on. */
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	read_file_text(path, buf, sizeof(buf));
	p = strrchr(buf, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %*u %*u %*d %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*d %d",
			        &t->cpu), 1);
}

/* The CPU list "0-2,5" of a set, written here as a reference. */
static void cpu_ranges(const cpu_set_t *set, char *buf, size_t len)
{
	int cpu, run = -1;
	size_t off = 0;

	buf[0] = '\0';
	for (cpu = 0; cpu <= CPU_SETSIZE; cpu++) {
		bool in = cpu < CPU_SETSIZE && CPU_ISSET(cpu, set);

		if (in && run < 0)
			run = cpu;
		if (in || run < 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off,
					run == cpu - 1 ? "%s%d" : "%s%d-%d",
					off ? "," : "", run, cpu - 1);
		run = -1;
	}
}

/* Field by field: the struct's padding is not compared. */
static bool totals_equal(const struct proc_totals *a,
			 const struct proc_totals *b)
{
	return a->vol == b->vol && a->invol == b->invol &&
	       a->cpu_ns == b->cpu_ns && a->delay_ns == b->delay_ns &&
	       a->migrations == b->migrations && a->cpu == b->cpu &&
	       a->state == b->state;
}

/* Starts the helper and waits until it sleeps in read() for good. */
static pthread_t frozen_start(char *tid_arg, size_t len, struct proc_totals *t)
{
	struct proc_totals again;
	pthread_t th;
	int tries;

	cpu_set_t all, one;

	/*
	 * Born on the one CPU its creator is pinned to, it can never
	 * migrate (0 in se.nr_migrations, which shows a "0" printed as
	 * "-"); widened again once it sleeps, which does not move it.
	 */
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(pipe(frozen_pipe), 0);
	atomic_store(&helper_tid, 0);
	assert_int_equal(pthread_create(&th, NULL, frozen_main, NULL), 0);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
	while (!atomic_load(&helper_tid))
		usleep(1000);
	snprintf(tid_arg, len, "%d", atomic_load(&helper_tid));
	for (tries = 0; tries < 500; tries++) {
		usleep(10000);
		proc_totals(atomic_load(&helper_tid), t);
		usleep(10000);
		proc_totals(atomic_load(&helper_tid), &again);
		if (t->state == 'S' && totals_equal(t, &again))
			break;
	}
	assert_true(tries < 500);
	assert_int_equal(sched_setaffinity(atomic_load(&helper_tid),
					   sizeof(all), &all), 0);
	proc_totals(atomic_load(&helper_tid), t);
	return th;
}

static void frozen_end(pthread_t th)
{
	assert_int_equal(write(frozen_pipe[1], "x", 1), 1);
	pthread_join(th, NULL);
	close(frozen_pipe[0]);
	close(frozen_pipe[1]);
}

/*
 * Issue 14: every totals column and key of sched, against /proc of a
 * thread whose totals cannot move meanwhile (voluntary > involuntary, so
 * a swap shows; CPU time and run delay in us, not ns).
 */
static void test_sched_totals_from_proc(void **state)
{
	char tid_arg[16], want[512], obj[2048];
	struct proc_totals t, after;
	pthread_t th = frozen_start(tid_arg, sizeof(tid_arg), &t);
	const char *const table[] = { "-D", FAKE_DEVICE, "sched", "-t",
				      tid_arg, "--interval", "0.05",
				      "--count", "1", NULL };
	const char *const json[] = { "-D", FAKE_DEVICE, "sched", "-t",
				     tid_arg, "--interval", "0.05", "--json",
				     NULL };
	int tid = atoi(tid_arg), rc_table, rc_json, nice, policy;
	char table_out[sizeof(out)], aff[256], path[96], comm[64];
	cpu_set_t set;

	(void)state;
	rc_table = run_cli(table);
	memcpy(table_out, out, sizeof(out));
	rc_json = run_cli(json);
	proc_totals(tid, &after);
	/* What "now" must show, asked of the kernel while the thread lives. */
	policy = sched_getscheduler(tid);
	assert_int_equal(sched_getaffinity(tid, sizeof(set), &set), 0);
	cpu_ranges(&set, aff, sizeof(aff));
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	read_file_text(path, comm, sizeof(comm));
	comm[strcspn(comm, "\n")] = '\0';
	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	assert_int_equal(errno, 0);
	frozen_end(th);
	assert_int_equal(policy, SCHED_OTHER);
	/* The oracle held still, and tells the two switch counts apart. */
	assert_true(totals_equal(&t, &after));
	assert_true(t.vol >= 40 && t.vol > t.invol);
	assert_int_equal(t.migrations, 0);

	assert_int_equal(rc_table, 0);
	/*
	 * The whole row: now (comm, SCHED_OTHER, RT priority 0, its nice,
	 * allowed CPUs, last CPU), totals, and no wake-up in the interval.
	 */
	snprintf(want, sizeof(want),
		 "\n%8d %-16s %-8s %6d %4d %-12s %4d %14llu %10llu %12llu %10lld %8d %10s %10s %10s %10s\n",
		 tid, comm, "other", 0, nice, aff, t.cpu, t.cpu_ns / 1000, t.vol,
		 t.invol, t.migrations, 0, "-", "-", "-", "-");
	assert_non_null(strstr(table_out, want));

	assert_int_equal(rc_json, 0);
	assert_true(json_valid(out));
	assert_non_null(json_thread(out, tid, obj, sizeof(obj)));
	snprintf(want, sizeof(want),
		 "\"since_thread_start\": {\"cpu_time_us\": %.3f, \"run_delay_us\": %.3f, \"voluntary_switches\": %llu, \"involuntary_switches\": %llu, \"migrations\": %lld}",
		 (double)t.cpu_ns / 1000.0, (double)t.delay_ns / 1000.0, t.vol,
		 t.invol, t.migrations);
	assert_non_null(strstr(obj, want));
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The number after the first key in text, or -1. */
static double number_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtod(p + strlen(key), NULL) : -1;
}

/*
 * Issue 14: a window that ended early (the target exited, or a signal)
 * is labelled with what it covered: never more than the run itself
 * lasted by this test's own clock, whatever --interval said.
 */
static void test_sched_short_window_labels(void **state)
{
	char child_arg[16];
	pid_t child = sleeper(300);
	const char *const table[] = { "-D", FAKE_DEVICE, "sched", "-p",
				      child_arg, "--interval", "10", NULL };
	const char *const json[] = { "-D", FAKE_DEVICE, "sched", "-p",
				     self_arg, "--interval", "10", "--json",
				     NULL };
	double t0, took, label;
	pthread_t th;

	(void)state;
	snprintf(child_arg, sizeof(child_arg), "%d", (int)child);
	t0 = mono_s();
	alarm(20);
	assert_int_equal(run_cli_reaping(table, child), 0);
	alarm(0);
	took = mono_s() - t0;
	assert_non_null(strstr(out, "(a partial interval: the run ended)"));
	label = number_after(out, "over the interval (");
	assert_true(label > 0 && label <= took + 0.001);

	pthread_create(&th, NULL, raise_later, (void *)(intptr_t)SIGINT);
	t0 = mono_s();
	assert_int_equal(run_cli(json), 0);
	took = mono_s() - t0;
	pthread_join(th, NULL);
	signal(SIGINT, SIG_DFL);
	assert_true(json_valid(out));
	label = number_after(out, "\"window_s\": ");
	assert_true(label > 0 && label <= took + 0.000001);
	label = number_after(out, "\"interval_s\": ");
	assert_true(label > 0 && label <= took + 0.000001);
}

/* Finding: SIGHUP loses the report. */
static void test_sighup_prints_report(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-p",
				     self_arg, NULL };
	pthread_t th;

	(void)state;
	fake.on_start = workload;
	pthread_create(&th, NULL, raise_later, (void *)(intptr_t)SIGHUP);
	assert_int_equal(run_cli(args), 0);
	pthread_join(th, NULL);
	assert_non_null(strstr(out, "records: 8 delivered"));
	signal(SIGHUP, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

/* SIGPIPE: a closed stdout ends the run quietly (killed by SIGPIPE). */
static void test_sigpipe_quiet(void **state)
{
	int p[2], status;
	FILE *fe = tmpfile();
	pid_t pid;
	size_t n;

	(void)state;
	assert_int_equal(pipe(p), 0);
	close(p[0]); /* nobody reads */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { (char *)"hftmon", (char *)"-D",
				 (char *)FAKE_DEVICE, (char *)"record",
				 (char *)"-p", self_arg, (char *)"--raw",
				 NULL };

		dup2(p[1], STDOUT_FILENO);
		dup2(fileno(fe), STDERR_FILENO);
		fake.on_start = workload;
		optind = 0;
		_exit(hftmon_cli_main(7, argv));
	}
	close(p[1]);
	alarm(20);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	alarm(0);
	rewind(fe);
	n = fread(err, 1, sizeof(err) - 1, fe);
	err[n] = '\0';
	fclose(fe);
	assert_string_equal(err, "");
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGPIPE);
}

/* Findings: sign games, " 5", range errors called "not a power of two". */
static void test_numbers_strict(void **state)
{
	static const struct {
		const char *args[10];
		const char *says;
	} cases[] = {
		{ { "switches", "-p", "1", "--min-us", " -5", NULL },
		  "--min-us ' -5' is not a non-negative integer" },
		{ { "switches", "-p", "1", "--min-us", "-5", NULL },
		  "is not a non-negative integer" },
		{ { "record", "-p", " 5", NULL },
		  "-p ' 5' is not a process or thread id" },
		{ { "record", "-p", "+1", NULL }, "is not a process" },
		{ { "record", "-p", "0x10", NULL }, "is not a process" },
		{ { "record", "-p", "99999999999", NULL }, "out of range" },
		{ { "record", "-p", "1", "--ring-pages", "99999999999", NULL },
		  "--ring-pages '99999999999' is out of range" },
		{ { "record", "-p", "1", "--ring-pages", "3", NULL },
		  "not a power of two" },
		{ { "record", "-p", "1", "--duration", " 1", NULL },
		  "is not a number of seconds" },
		{ { "record", "-p", "1", "--duration", "1e400", NULL },
		  "is not a number of seconds" },
		{ { "sched", "-p", "1", "--count", "18446744073709551616", NULL },
		  "out of range" },
		{ { "sched", "-p", "1", "--priority", "100", NULL },
		  "--priority '100' is out of range (1..99)" },
		{ { "sched", "-p", "1", "--cpu", "1-0", NULL },
		  "is not a CPU list" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run_cli_child_err(cases[i].args), 2);
		if (!strstr(err, cases[i].says))
			fail_msg("case %zu: '%s' lacks '%s'", i, err,
				 cases[i].says);
		assert_null(strstr(err, "power of two") &&
					    !strstr(cases[i].says, "power") ?
				    err :
				    NULL);
		assert_non_null(strchr(err, '\n'));
		assert_null(strchr(err, '\n') + 1 == err + strlen(err) ?
				    NULL :
				    err); /* one line */
	}
}

/* Finding: unknown options print two lines. */
static void test_unknown_option_one_line(void **state)
{
	static const char *const cases[][4] = {
		{ "--frob", NULL },
		{ "record", "--frob", NULL },
		{ "sched", "-Z", NULL },
		{ "switches", "--duration", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run_cli_child_err(cases[i]), 2);
		assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err));
		assert_non_null(strstr(err, "hftmon: "));
	}
	assert_non_null(strstr(err, "switches: option --duration needs an argument"));
}

/* Finding: every subcommand's --help prints the same global text. */
static void test_command_help(void **state)
{
	static const char *const cmds[] = { "info", "record", "sched",
					    "switches" };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		const char *const args[] = { cmds[i], "--help", NULL };
		char want[64];

		assert_int_equal(run_cli_child_out(args), 0);
		snprintf(want, sizeof(want), "Usage: hftmon [-D PATH] [-v] %s",
			 cmds[i]);
		assert_non_null(strstr(out, want));
		assert_null(strstr(out, "Commands:"));
	}
	assert_non_null(strstr(out, "--min-us N"));
	assert_null(strstr(out, "--ring-pages"));
}

/* Finding: errno strings without the cause or the remedy. */
static void test_errors_say_what_to_do(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-p",
				     self_arg, "-d", "0.01", NULL };
	const char *const big[] = { "-D", FAKE_DEVICE, "record", "-p",
				    self_arg, "--ring-pages", "128", NULL };

	(void)state;
	fake.fail_cmd = HFTMON_IOC_START;
	fake.fail_errno = EBUSY;
	assert_int_equal(run_cli(args), 1);
	assert_non_null(strstr(err, "hftmon: start: another monitoring session runs"));
	assert_non_null(strstr(err, "one session at a time"));
	fake.fail_cmd = HFTMON_IOC_ATTACH;
	fake.fail_errno = ENOSPC;
	assert_int_equal(run_cli(args), 1);
	assert_non_null(strstr(err, "limit of 16 processes is reached: raise /sys/module/hftmon/parameters/max_procs\n"));
	fake.fail_cmd = HFTMON_IOC_ATTACH;
	fake.fail_errno = EPERM;
	assert_int_equal(run_cli(args), 1);
	assert_non_null(strstr(err, "not allowed to trace it: run as its user or with CAP_SYS_PTRACE\n"));
	fake.fail_cmd = 0;
	assert_int_equal(run_cli(big), 1);
	assert_string_equal(err, "hftmon: --ring-pages 128 is out of range: the module allows up to 64 (raise /sys/module/hftmon/parameters/max_ring_pages)\n");
	fake.open_errno = EACCES;
	assert_int_equal(run_cli(args), 1);
	assert_non_null(strstr(err, "needs root, CAP_PERFMON or CAP_SYS_ADMIN"));
	assert_int_equal(fake_ioctls(HFTMON_IOC_STOP), 0);
}

/* Finding: control characters in thread names break the text tables. */
static void name_with_controls(void)
{
	struct fake_task t = { .pid = self, .tid = 4243,
			       .comm = "evil\nname\tx", .prio = 120,
			       .tracked = true };
	const struct fake_switch block = { .prev_state = 1 };

	fake_switch(0, 1000000, &t, NULL, &block);
	fake_switch(0, 1100000, NULL, &t, NULL);
}

static void test_names_escaped(void **state)
{
	const char *const rec[] = { "-D", FAKE_DEVICE, "record", "-p",
				    self_arg, "-d", "0.01", NULL };
	const char *const sw[] = { "-D", FAKE_DEVICE, "switches", "-p",
				   self_arg, "-d", "0.02", NULL };

	(void)state;
	fake.on_start = name_with_controls;
	assert_int_equal(run_cli(rec), 0);
	assert_non_null(strstr(out, " evil\\x0aname\\x09x "));
	assert_null(strstr(out, "evil\n"));
	fake_teardown();
	fake_setup(2);
	fake.on_start = name_with_controls;
	assert_int_equal(run_cli(sw), 0);
	assert_non_null(strstr(out, " evil\\x0aname\\x09x "));
	assert_null(strstr(out, "evil\n"));
}

/* A name with every character JSON must escape; one switch of each kind. */
static void json_name_and_kinds(void)
{
	struct fake_task t = { .pid = self, .tid = 4243,
			       .comm = "q\"b\\c\nd\x7f\x01", .prio = 120,
			       .tracked = true };
	const struct fake_switch block = { .prev_state = 1 };
	const struct fake_switch preempted = { .preempt = true };

	fake_switch(0, 1000000, &t, NULL, &block);	/* 100 us off */
	fake_switch(0, 1100000, NULL, &t, NULL);
	fake_switch(0, 2000000, &t, NULL, &preempted); /* 2 us off */
	fake_switch(0, 2002000, NULL, &t, NULL);
}

/*
 * Issue 14: switches --json writes the name escaped (RFC 8259: \" \\ and
 * \u00XX for controls; DEL is escaped too) and each switch's kind as
 * the fixture made it.
 */
static void test_switches_json_names_and_kinds(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "switches", "-p",
				     self_arg, "-d", "0.02", "--json", NULL };
	const char *vol, *invol;

	(void)state;
	fake.on_start = json_name_and_kinds;
	assert_int_equal(run_cli(args), 0);
	assert_true(json_valid(out));
	assert_non_null(strstr(out, "\"comm\": \"q\\\"b\\\\c\\u000ad\\u007f\\u0001\""));
	vol = strstr(out, "\"off_cpu_us\": 100.000, \"voluntary\": true,");
	invol = strstr(out, "\"off_cpu_us\": 2.000, \"voluntary\": false,");
	assert_non_null(vol);
	assert_non_null(invol);
	assert_true(vol < invol);
}

/*
 * A target that exited but was not reaped (a zombie: its /proc still
 * reads) ends the run: the duration (10 s) is never reached.
 */
static void test_zombie_target_ends_run(void **state)
{
	char child_arg[16];
	pid_t child = sleeper(100);
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-p",
				     child_arg, "-d", "10", NULL };

	(void)state;
	snprintf(child_arg, sizeof(child_arg), "%d", (int)child);
	alarm(20);
	assert_int_equal(run_cli(args), 0);
	alarm(0);
	reap(child);
	assert_non_null(strstr(out, "(exited); every target exited: the run ended there\n"));
}

/* What the module counts when records are lost on two CPUs. */
static void losses_on_two_cpus(void)
{
	fake.prod[0].lost[HFTMON_LOST_RING_FULL] = 3;
	fake.prod[0].ctrl->lost[HFTMON_LOST_RING_FULL] = 3;
	fake.prod[1].lost[HFTMON_LOST_TOO_BIG] = 2;
	fake.prod[1].ctrl->lost[HFTMON_LOST_TOO_BIG] = 2;
}

/* The loss line adds up every CPU's counters: 3 + 2, by cause. */
static void test_footer_losses(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "switches", "-p",
				     self_arg, "-d", "0.02", NULL };

	(void)state;
	fake.on_start = losses_on_two_cpus;
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(out, "\nlost: 5 records in the kernel (ring_full 3, too_big 2, no_space 0), "));
}

/* Finding: the sched header names only the interval over every column. */
static void test_sched_header_windows(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "sched", "-p",
				     self_arg, "--interval", "0.05",
				     "--count", "1", NULL };
	const char *groups, *cols, *nl;
	long total, cpu, wake, since, over;

	(void)state;
	assert_int_equal(run_cli(args), 0);
	groups = strstr(out, "now:");
	assert_non_null(groups);
	nl = strchr(groups, '\n');
	cols = nl + 1;
	since = strstr(groups, "totals since the thread started:") - groups;
	over = strstr(groups, "over the interval (0.050 s)") - groups;
	assert_true(since > 0 && since < nl - groups);
	assert_true(over > since && over < nl - groups);
	cpu = strstr(cols, "CPU-TIME(us)") - cols;
	total = strstr(cols, "MIGRATIONS") - cols;
	wake = strstr(cols, "WAKEUPS") - cols;
	/* The totals' label sits over CPU-TIME..MIGRATIONS, the interval's
	 * over WAKEUPS and after. */
	assert_true(since <= cpu + 2 && since + 2 >= cpu - 12);
	assert_true(over > total && over <= wake + 2);
}

/* "--json on every command" with a top-level object. */
static void test_json_everywhere(void **state)
{
	static const char *const cmds[][10] = {
		{ "-D", FAKE_DEVICE, "info", "--json", NULL },
		{ "-D", FAKE_DEVICE, "record", "-p", NULL, "-d", "0.01",
		  "--json", NULL },
		{ "-D", FAKE_DEVICE, "switches", "-p", NULL, "-d", "0.01",
		  "--json", NULL },
		{ "-D", FAKE_DEVICE, "sched", "-p", NULL, "-i", "0.05",
		  "--json", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		const char *args[10];
		size_t j;

		for (j = 0; j < 10; j++)
			args[j] = cmds[i][j] || j != 4 || i == 0 ? cmds[i][j] :
								   self_arg;
		fake_teardown();
		fake_setup(2);
		fake.on_start = i == 2 ? gw_switches : workload;
		assert_int_equal(run_cli(args), 0);
		if (!json_valid(out))
			fail_msg("%s --json: not JSON: %s", cmds[i][2], out);
		assert_true(out[0] == '{');
		if (i) {
			assert_non_null(strstr(out, "\"interval_s\": "));
			assert_non_null(strstr(out, "\"time\": {"));
			assert_non_null(strstr(out, "\"lost\": {"));
			assert_non_null(strstr(out, "\"targets\": ["));
		}
	}
	assert_non_null(strstr(out, "\"threads\": ["));
}

/* -- COMMAND: attached and started before it runs, ends when it exits. */
static char command_comm[32];

static void read_child_comm(void)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", fake.last_attach.pid);
	f = fopen(path, "r");
	command_comm[0] = '\0';
	if (f) {
		if (!fgets(command_comm, sizeof(command_comm), f))
			command_comm[0] = '\0';
		fclose(f);
	}
}

static void test_command_monitored_from_the_start(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "--", "sh",
				     "-c", "sleep 0.2; exit 3", NULL };

	(void)state;
	fake.on_start = read_child_comm;
	alarm(20);
	assert_int_equal(run_cli(args), 0);
	alarm(0);
	/* At START the child had not exec'd yet: still this program. */
	assert_string_equal(command_comm, "test_cli\n");
	assert_non_null(strstr(out, "(sh, exited with status 3); every target exited"));
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 1);
}

static void test_command_not_found(void **state)
{
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "--",
				     "/nonexistent/cmd", NULL };

	(void)state;
	assert_int_equal(run_cli(args), 1);
	assert_string_equal(err, "hftmon: run /nonexistent/cmd: No such file or directory: check the command name and PATH\n");
}

/* Finding: a full stack table prints "none recorded" where stacks were dropped. */
static void gw_switches_table_full(void)
{
	gw_switches();
	/* What the module counts when its stack table is full. */
	fake.prod[1].lost[HFTMON_LOST_NO_SPACE] = 1;
	fake.prod[1].ctrl->lost[HFTMON_LOST_NO_SPACE] = 1;
}

static void test_switches_stack_table_full(void **state)
{
	const char *args[] = { "-D", FAKE_DEVICE, "switches", "-p", self_arg,
			       "--duration", "0.02", "--stacks", "--kallsyms",
			       "/nonexistent", NULL };

	(void)state;
	fake.on_start = gw_switches_table_full;
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(out, "    kernel stack: none recorded (the module had no room for 1 records, see no_space: raise /sys/module/hftmon/parameters/stack_table_size)\n"));
}

#ifndef TEST_CLI_BEFORE_FIX /* the placement API is new: see the report */
/* The placement rule, on made-up CPU sets. */
static void set_of(cpu_set_t *s, const char *list)
{
	if (!*list) {
		CPU_ZERO(s);
		return;
	}
	assert_int_equal(parse_cpu_list(list, s), 0);
}

/*
 * The power-of-two histogram, against slots worked by hand: 0 -> [0],
 * 1 -> [1], 2 and 3 -> [2, 4), 1000 -> [512, 1K), 1024 and 2047 ->
 * [1K, 2K); empty slots between the lowest and highest are printed, the
 * longest bar has 52 @, the others in proportion, rounded up (1 of 5:
 * 10.4, so 11).
 */
static void test_log2_hist(void **state)
{
	static const uint64_t v[] = { 0, 1, 2, 3, 1000, 1024, 2047, 3, 3, 3 };
	struct log2_hist h = { 0 };
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		log2_hist_add(&h, v[i]);
	assert_int_equal(h.count, 10);
	log2_hist_print(&h, "us", f);
	fclose(f);
	assert_string_equal(buf,
		"us, 10 values:\n"
		"[0]                         1 |@@@@@@@@@@@                                         |\n"
		"[1]                         1 |@@@@@@@@@@@                                         |\n"
		"[2, 4)                      5 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
		"[4, 8)                      0 |                                                    |\n"
		"[8, 16)                     0 |                                                    |\n"
		"[16, 32)                    0 |                                                    |\n"
		"[32, 64)                    0 |                                                    |\n"
		"[64, 128)                   0 |                                                    |\n"
		"[128, 256)                  0 |                                                    |\n"
		"[256, 512)                  0 |                                                    |\n"
		"[512, 1K)                   1 |@@@@@@@@@@@                                         |\n"
		"[1K, 2K)                    2 |@@@@@@@@@@@@@@@@@@@@@                               |\n");
	memset(&h, 0, sizeof(h));
	log2_hist_add(&h, UINT64_MAX);
	assert_int_equal(h.slot[64], 1);
}

static void test_placement_choose(void **state)
{
	static const struct {
		const char *allowed, *isolated, *nohz, *targets, *pinned;
		const char *cpus;
		enum placement_why why;
	} cases[] = {
		/* The VM: a spinner pinned to 1, the rest anywhere. */
		{ "0-1", "", "", "0-1", "1", "0", PLACE_OUTSIDE_PINNED },
		{ "0-3", "", "", "2-3", "2-3", "0-1", PLACE_OUTSIDE_TARGETS },
		/* Trading on isolated CPUs: never them, even if unused. */
		{ "0-7", "4-7", "", "5", "5", "0-3", PLACE_OUTSIDE_TARGETS },
		{ "0-7", "", "2-7", "0-7", "", "0-1", PLACE_HOUSEKEEPING },
		{ "0-1", "", "", "0-1", "", "0-1", PLACE_SHARED },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct placement_in in;
		struct placement p;
		cpu_set_t want;
		char got[64];

		memset(&in, 0, sizeof(in));
		set_of(&in.allowed, cases[i].allowed);
		set_of(&in.isolated, cases[i].isolated);
		set_of(&in.nohz_full, cases[i].nohz);
		set_of(&in.targets, cases[i].targets);
		set_of(&in.pinned, cases[i].pinned);
		set_of(&want, cases[i].cpus);
		placement_choose(&in, &p);
		format_cpu_list(&p.cpus, got, sizeof(got));
		if (!CPU_EQUAL(&p.cpus, &want) || p.why != cases[i].why)
			fail_msg("case %zu: CPUs %s (why %d), want %s (why %d)",
				 i, got, p.why, cases[i].cpus, cases[i].why);
	}
}

/* isolcpus/nohz_full read from sysfs; the report says where. */
static void test_placement_sysfs_and_report(void **state)
{
	char dir[] = "/tmp/hftmon-cpu-XXXXXX", path[64];
	const char *const args[] = { "-D", FAKE_DEVICE, "record", "-p",
				     self_arg, "-d", "0.01", NULL };
	const char *const user[] = { "-D", FAKE_DEVICE, "record", "-p",
				     self_arg, "-d", "0.01", "--cpu", "0",
				     "--drain-us", "2000", NULL };
	struct placement_in in;
	cpu_set_t mine;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/isolated", dir);
	f = fopen(path, "w");
	fputs("1\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/nohz_full", dir);
	f = fopen(path, "w");
	fputs("(null)\n", f); /* what a kernel without it prints */
	fclose(f);
	cli_sysfs_cpu = dir;
	assert_int_equal(placement_read(NULL, 0, &in), 0);
	assert_true(CPU_ISSET(1, &in.isolated));
	assert_int_equal(CPU_COUNT(&in.isolated), 1);
	assert_int_equal(CPU_COUNT(&in.nohz_full), 0);
	cli_sysfs_cpu = "/sys/devices/system/cpu";
	unlink(path);
	snprintf(path, sizeof(path), "%s/isolated", dir);
	unlink(path);
	rmdir(dir);

	sched_getaffinity(0, sizeof(mine), &mine);
	assert_int_equal(run_cli(user), 0);
	assert_non_null(strstr(out, "monitor: pid "));
	assert_non_null(strstr(out, " on CPU 0 (as --cpu asked), SCHED_OTHER, drains every 2000 us\n"));
	/* This thread's affinity is put back afterwards. */
	{
		cpu_set_t now;

		sched_getaffinity(0, sizeof(now), &now);
		assert_true(CPU_EQUAL(&now, &mine));
	}
	assert_int_equal(run_cli(args), 0);
	assert_non_null(strstr(out, "drains every 10000 us"));
}
#endif

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_record_report),	     T(test_record_raw),
		T(test_record_several_pids), T(test_record_attach_error),
		T(test_missing_device),	     T(test_info),
		T(test_usage_errors_exit_2), T(test_help_and_version),
		T(test_json_checker), T(test_numa_json), T(test_numa_heatmap), T(test_numa_cacheline), T(test_record_interval),	     T(test_sched_json),
		T(test_sched_table),
		T(test_sched_histogram),	     T(test_sched_no_such_process),
		T(test_switches_with_stacks), T(test_switches_kptr_restrict),
		T(test_record_report_from_file),
		T(test_switches_report_from_file),
		T(test_spikes_report_from_file), T(test_spikes_counters),
		T(test_cache_report_from_file),
		T(test_irq_report_from_file), T(test_spikes_and_irq_stop_us),
		T(test_sched_report_from_file),
		T(test_sched_interval_ms_and_stop_us),
		T(test_interval_and_stop_refused_where_meaningless),
		T(test_export_perfetto),
		T(test_switches_histogram),
		T(test_switches_stop_us), T(test_switches_interval_print),
		T(test_switches_missing_kallsyms),
		T(test_tid_given_to_p_is_its_process),
		T(test_p_pid_and_p_tid_attach_once), T(test_t_tid_only),
		T(test_sched_several_p), T(test_record_ends_when_targets_exit),
		T(test_sched_target_exit_keeps_measurements),
		T(test_children_followed),
		T(test_sched_json_interrupted), T(test_sighup_prints_report),
		T(test_sigpipe_quiet), T(test_numbers_strict),
		T(test_unknown_option_one_line), T(test_command_help),
		T(test_errors_say_what_to_do), T(test_names_escaped),
		T(test_sched_header_windows), T(test_json_everywhere),
		T(test_command_monitored_from_the_start),
		T(test_command_not_found), T(test_switches_stack_table_full),
		T(test_sched_totals_from_proc), T(test_sched_short_window_labels),
		T(test_switches_json_names_and_kinds),
		T(test_zombie_target_ends_run), T(test_footer_losses),
#ifndef TEST_CLI_BEFORE_FIX
		T(test_log2_hist), T(test_placement_choose), T(test_placement_sysfs_and_report),
#endif
	};
#undef T

	/* TEST_CLI_ONLY=test_name: one test (a usage error exits the runner). */
	if (getenv("TEST_CLI_ONLY"))
		cmocka_set_test_filter(getenv("TEST_CLI_ONLY"));
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
