// SPDX-License-Identifier: GPL-2.0
/*
 * Only tracked processes produce records: with a sleeping process
 * attached, a busy ping-pong that is not attached must leave no record
 * that names it, on either side of a switch (but as the task that took
 * the CPU at the tracked sleeper's own switch-out). Then the tracked process
 * exits, both threads at once: two EXIT records arrive, exactly one of
 * them GROUP_DEAD (both threads may see the process empty).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hftmon.h>

#include "../../tools/workload/pingpong.h"
#include "vmtest.h"

struct seen {
	pid_t untracked[2];
	pid_t tracked;
	long about_untracked, about_tracked, exits, group_dead, records;
};

static int on_record(void *ctx, const struct hftmon_rec_hdr *h)
{
	const struct hftmon_rec_switch *sw = (const void *)h;
	struct seen *s = ctx;
	int i;

	s->records++;
	/*
	 * hdr.pid is a SWITCH's prev: the tracked sleeper's switch-out names
	 * whatever took its CPU as next, the ping-pong too, by design (seen
	 * once in a debug-kernel boot). Any other record naming it is a leak.
	 */
	for (i = 0; i < 2; i++)
		if (h->pid == s->untracked[i] ||
		    (h->type == HFTMON_REC_SWITCH &&
		     sw->next_pid == s->untracked[i] && h->pid != s->tracked))
			s->about_untracked++;
	if (h->pid == s->tracked ||
	    (h->type == HFTMON_REC_SWITCH && sw->next_pid == s->tracked))
		s->about_tracked++;
	if (h->type == HFTMON_REC_EXIT && h->pid == s->tracked) {
		s->exits++;
		if (h->flags & HFTMON_EXIT_GROUP_DEAD)
			s->group_dead++;
	}
	return 0;
}

static void *idle_thread(void *arg)
{
	int fd = *(int *)arg;
	char c;

	while (read(fd, &c, 1) > 0)
		;
	return NULL;
}

/*
 * Every one of pid's nr threads is asleep inside read(2), by the kernel's
 * own account (/proc/PID/task/TID/syscall). Until then the sleeper may
 * still be starting its thread, and a switch between it and the
 * ping-pong rightly names both: the test would blame the module for it.
 */
static bool blocked_in_read(pid_t pid, int nr)
{
	char path[320], line[128];
	struct dirent *d;
	int seen = 0, ok = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((d = readdir(dir))) {
		FILE *f;
		long nr_sys;

		if (d->d_name[0] == '.')
			continue;
		seen++;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall",
			 (int)pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "%ld", &nr_sys) == 1 && nr_sys == SYS_read)
			ok++;
		fclose(f);
	}
	closedir(dir);
	return seen == nr && ok == nr;
}

int main(void)
{
	struct hftmon_monitor_config cfg = { .sz = sizeof(cfg), .ring_pages = 256 };
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	struct seen s = { 0 };
	struct pingpong pp;
	struct hftmon *m;
	int gate[2], st;
	pid_t sleeper;

	setvbuf(stdout, NULL, _IOLBF, 0);
	REQUIRE(pipe(gate) == 0, "pipe");
	/* A two-thread process that sleeps until the gate closes. */
	sleeper = fork();
	REQUIRE(sleeper >= 0, "fork");
	if (sleeper == 0) {
		pthread_t th;

		close(gate[1]);
		if (pthread_create(&th, NULL, idle_thread, &gate[0]))
			_exit(1);
		idle_thread(&gate[0]);
		pthread_join(th, NULL);
		_exit(0);
	}
	close(gate[0]);
	for (st = 0; st < 1000 && !blocked_in_read(sleeper, 2); st++)
		usleep(10000);
	REQUIRE(blocked_in_read(sleeper, 2),
		"the sleeper's two threads never both blocked in read()");

	REQUIRE(hftmon_open(NULL, &m) == 0, "open");
	REQUIRE(hftmon_configure(m, &cfg) == 0, "configure");
	REQUIRE(pingpong_spawn(&pp, PINGPONG_PROCESSES, 5000, 0) == 0, "spawn");
	REQUIRE(hftmon_attach_process(m, sleeper, NULL) == 0, "attach");
	REQUIRE(hftmon_start(m) == 0, "start");
	REQUIRE(pingpong_go(&pp) == 0, "go");
	REQUIRE(pingpong_wait_done(&pp) == 0, "done");
	CHECK(pingpong_finish(&pp) == 0, "workload");

	close(gate[1]);		/* the tracked process exits now */
	REQUIRE(waitpid(sleeper, &st, 0) == sleeper, "wait");
	REQUIRE(hftmon_stop(m) == 0, "stop");

	s.untracked[0] = pp.pid[0];
	s.untracked[1] = pp.pid[1];
	s.tracked = sleeper;
	CHECK(hftmon_drain(m, on_record, &s) >= 0, "drain");
	REQUIRE(hftmon_get_stats(m, &sum, NULL, 0) == 0, "stats");
	INFO("%ld records, %ld about the tracked process, %ld about the untracked ping-pong",
	     s.records, s.about_tracked, s.about_untracked);
	CHECK(s.about_untracked == 0, "%ld records name untracked tasks",
	      s.about_untracked);
	CHECK(s.records == s.about_tracked,
	      "%ld records, only %ld about the tracked process", s.records,
	      s.about_tracked);
	CHECK(s.exits == 2, "%ld EXIT records for a 2-thread process", s.exits);
	CHECK(s.group_dead == 1, "%ld GROUP_DEAD exits", s.group_dead);
	CHECK(sum.lost_total == 0, "lost %llu", (unsigned long long)sum.lost_total);
	hftmon_close(m);
	return vmtest_result();
}
