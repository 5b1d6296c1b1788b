// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The hftmon CLI (tools/hftmon.c, compiled in here with its main renamed)
 * run against the fake device: the per-thread table and loss report of
 * "record" for records the fake module writes at START, --raw, "info",
 * and the error contract (one "hftmon: <what>: <reason>" line, exit 1;
 * exit 2 for usage errors, checked in a child process since they exit).
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

#include "fake_sys.h"

#define main hftmon_cli_main
#include "../../tools/hftmon.c"
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
	assert_int_equal(fake.open_fds, 0);
	assert_int_equal(fake.nr_mapped, 0);
	fake_teardown();
	return 0;
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

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_record_report),	     T(test_record_raw),
		T(test_record_several_pids), T(test_record_attach_error),
		T(test_missing_device),	     T(test_info),
		T(test_usage_errors_exit_2), T(test_help_and_version),
	};
#undef T

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
