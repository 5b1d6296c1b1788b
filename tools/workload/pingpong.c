// SPDX-License-Identifier: GPL-2.0
/* The ping-pong workload: see pingpong.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pingpong.h"

struct pp_task {
	int in, out;		/* the ball */
	int go_r, done_w, exit_r, tid_w;
	long rounds;
	int cpu;
	int serve;		/* sends first */
};

int pingpong_read_all(int fd, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int pingpong_write_all(int fd, const void *buf, size_t n)
{
	ssize_t r;

	do
		r = write(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)n ? 0 : -1;
}

static void *pp_run(void *arg)
{
	struct pp_task *t = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	char c = 'x';
	long i;

	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			return (void *)1;
	}
	if (pingpong_write_all(t->tid_w, &tid, sizeof(tid)) ||
	    pingpong_read_all(t->go_r, &c, 1))
		return (void *)1;
	for (i = 0; i < t->rounds; i++) {
		if (t->serve && pingpong_write_all(t->out, &c, 1))
			return (void *)1;
		if (pingpong_read_all(t->in, &c, 1))
			return (void *)1;
		if (!t->serve && pingpong_write_all(t->out, &c, 1))
			return (void *)1;
	}
	if (pingpong_write_all(t->done_w, &c, 1))
		return (void *)1;
	/* Block until told to exit (EOF). */
	while (read(t->exit_r, &c, 1) > 0)
		;
	return NULL;
}

int pingpong_spawn(struct pingpong *pp, enum pingpong_mode mode, long rounds,
		   int cpu)
{
	int ab[2], ba[2], go[2], done[2], ex[2], tids[2];
	struct pp_task task[2];
	int i;

	memset(pp, 0, sizeof(*pp));
	if (pipe(ab) || pipe(ba) || pipe(go) || pipe(done) || pipe(ex) ||
	    pipe(tids))
		return -errno;
	for (i = 0; i < 2; i++) {
		task[i] = (struct pp_task){
			.in = i ? ab[0] : ba[0], .out = i ? ba[1] : ab[1],
			.go_r = go[0], .done_w = done[1], .exit_r = ex[0],
			.tid_w = tids[1], .rounds = rounds, .cpu = cpu,
			.serve = !i,
		};
	}

	if (mode == PINGPONG_PROCESSES) {
		for (i = 0; i < 2; i++) {
			pid_t p = fork();

			if (p < 0)
				return -errno;
			if (p == 0) {
				close(go[1]);
				close(ex[1]);
				_exit(pp_run(&task[i]) ? 1 : 0);
			}
			pp->pid[i] = p;
		}
	} else {
		pid_t p = fork();

		if (p < 0)
			return -errno;
		if (p == 0) {
			pthread_t th;
			void *r1 = NULL;

			close(go[1]);
			close(ex[1]);
			if (pthread_create(&th, NULL, pp_run, &task[1]))
				_exit(1);
			if (pp_run(&task[0]) || pthread_join(th, &r1) || r1)
				_exit(1);
			_exit(0);
		}
		pp->child = p;
		pp->pid[0] = pp->pid[1] = p;
	}
	/* The tids, in whatever order the tasks start. */
	for (i = 0; i < 2; i++) {
		pid_t tid;
		int k;

		if (pingpong_read_all(tids[0], &tid, sizeof(tid)))
			return -EIO;
		k = (mode == PINGPONG_PROCESSES && tid == pp->pid[1]) ? 1 :
		    (mode == PINGPONG_PROCESSES) ? 0 : i;
		pp->tid[k] = tid;
	}
	close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
	close(go[0]); close(done[1]); close(ex[0]); close(tids[0]);
	close(tids[1]);
	pp->go_w = go[1];
	pp->done_r = done[0];
	pp->exit_w = ex[1];
	return 0;
}

int pingpong_go(struct pingpong *pp)
{
	return pingpong_write_all(pp->go_w, "gg", 2) ? -errno : 0;
}

int pingpong_wait_done(struct pingpong *pp)
{
	char c[2];

	return pingpong_read_all(pp->done_r, c, 2) ? -EIO : 0;
}

int pingpong_finish(struct pingpong *pp)
{
	int st, i, ok = 0;

	close(pp->exit_w);
	close(pp->go_w);
	close(pp->done_r);
	if (pp->child) {
		if (waitpid(pp->child, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			ok = -1;
		return ok;
	}
	for (i = 0; i < 2; i++)
		if (waitpid(pp->pid[i], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			ok = -1;
	return ok;
}
