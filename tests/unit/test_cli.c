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
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_records.h"
#include "fake_sys.h"

#define main hftmon_cli_main
#include "../../tools/hftmon/main.c"
#undef main

static char out[1 << 16], err[4096];

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

static int setup(void **state)
{
	(void)state;
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
	s->hdr.pid = tid ? 4242 : 0;
	s->hdr.tid = tid;
	s->hdr.flags = flags;
	s->hdr.time_ns = 5000000000ull + s->hdr.seq * 1000 + cpu;
	s->next_pid = next_tid ? 4242 : 0;
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
	h->pid = 4242;
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
	const char *const args[] = { "-D",   FAKE_DEVICE,  "record", "-p",
				     "4242", "--duration", "0.01",   NULL };

	(void)state;
	fake.on_start = workload;
	assert_int_equal(run_cli(args), 0);
	assert_string_equal(err, "");
	/* pid tid comm switch-out voluntary involuntary switch-in wakeups migrations */
	assert_non_null(strstr(
		out,
		"    4242     4243 md-feed                    3          2            1          2          1          0\n"));
	assert_non_null(strstr(
		out,
		"    4242     4244 md-feed                    0          0            0          1          1          1\n"));
	assert_null(
		strstr(out, " 0        0 ")); /* idle is not a thread of ours */
	assert_non_null(strstr(out, "threads: 2\n"));
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
	assert_int_equal(fake.last_attach.pid, 4242);
}

static void test_record_raw(void **state)
{
	const char *const args[] = { "--device", FAKE_DEVICE, "record",
				     "-p",	 "4242",      "-d",
				     "0.01",	 "--raw",     "--ring-pages",
				     "4",	 NULL };

	(void)state;
	fake.on_start = workload;
	assert_int_equal(run_cli(args), 0);
	assert_int_equal(fake.last_config.ring_pages, 4);
	assert_non_null(strstr(
		out,
		"5.000000000 cpu=0 seq=0 switch pid=4242 tid=4243 prev_comm=md-feed"));
	assert_non_null(strstr(out, " voluntary next=0/0 next_comm=swapper/1"));
	assert_non_null(
		strstr(out, "cpu=1 seq=3 migrate pid=4242 tid=4244 cpu 0->0"));
	assert_non_null(strstr(out, "records: 8 delivered"));
}

static void test_record_several_pids(void **state)
{
	const char *const args[] = {
		"-D", FAKE_DEVICE, "record", "-p",    "10",
		"-p", "11",	   "-d",     "0.001", NULL
	};

	(void)state;
	assert_int_equal(run_cli(args), 0);
	assert_int_equal(fake_ioctls(HFTMON_IOC_ATTACH), 2);
	assert_int_equal(fake.last_attach.pid, 11);
	assert_non_null(
		strstr(out, "records: 0 delivered; 0 written by the kernel\n"));
	assert_non_null(strstr(out, "time covered: no records"));
}

static void test_record_attach_error(void **state)
{
	const char *const args[] = { "-D",  FAKE_DEVICE, "record", "-p",
				     "999", "-d",	 "1",	   NULL };

	(void)state;
	fake.fail_cmd = HFTMON_IOC_ATTACH;
	fake.fail_errno = ESRCH;
	assert_int_equal(run_cli(args), 1);
	assert_string_equal(err, "hftmon: attach pid 999: No such process\n");
	assert_int_equal(fake_ioctls(HFTMON_IOC_START), 0);
}

static void test_missing_device(void **state)
{
	const char *const args[] = { "-D", "/dev/nothing-here", "info", NULL };

	(void)state;
	assert_int_equal(run_cli(args), 1);
	assert_string_equal(
		err, "hftmon: /dev/nothing-here: No such file or directory\n");
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
	assert_true(out[0] == '[');
	assert_non_null(json_thread(out, getpid(), obj, sizeof(obj)));
	snprintf(want, sizeof(want), "\"pid\": %d,", (int)getpid());
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(obj, "\"policy\": \"other\""));
	assert_non_null(strstr(obj, "\"affinity\": [0"));
	/* Two wake-ups of 10 and 30 us: p50 is the 1st, mean 20, sd 10. */
	assert_non_null(strstr(
		obj,
		"\"wakeup_latency_us\": {\"window_s\": 0.200000, \"count\": 2, \"min\": 10.000, \"mean\": 20.000, \"p50\": 10.000, \"p90\": 30.000, \"p99\": 30.000, \"p999\": 30.000, \"max\": 30.000, \"stddev\": 10.000"));
	assert_int_equal(fake.last_attach.pid, getpid());
	assert_int_equal(fake_ioctls(HFTMON_IOC_STOP), 1);
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
	first = strstr(out, "wake-up latency over the last 0.150 s\n");
	assert_non_null(first);
	second = strstr(first + 1, "wake-up latency over the last 0.150 s\n");
	assert_non_null(second);
	assert_null(strstr(second + 1, "wake-up latency over"));
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

static void test_sched_no_such_process(void **state)
{
	const char *args[] = { "-D", FAKE_DEVICE, "sched", "-p", "3999999",
			       "--interval", "0.01", NULL };

	(void)state;
	assert_int_equal(run_cli(args), 1);
	assert_string_equal(err, "hftmon: threads of pid 3999999: No such process\n");
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
	assert_non_null(strstr(out, "\n1 switch(es) of at least 5 us off CPU, of 2 completed by pid "));
	assert_non_null(strstr(out, "\nlost: 0 records in the kernel"));
	assert_null(strstr(out, "kptr_restrict"));
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

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_record_report),	     T(test_record_raw),
		T(test_record_several_pids), T(test_record_attach_error),
		T(test_missing_device),	     T(test_info),
		T(test_usage_errors_exit_2), T(test_help_and_version),
		T(test_json_checker),	     T(test_sched_json),
		T(test_sched_table),	     T(test_sched_no_such_process),
		T(test_switches_with_stacks), T(test_switches_kptr_restrict),
		T(test_switches_missing_kallsyms),
	};
#undef T

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
