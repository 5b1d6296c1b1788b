/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A workload whose scheduling behaviour is known: two tasks pass a byte
 * over a pair of pipes for exactly N round trips. Each task blocks once
 * per round trip, so the switch counts it causes are predictable. Used
 * by the VM tests (ground truth), the demo and the benchmark.
 *
 * The two tasks start blocked (pingpong_go releases them) and, after
 * their rounds, block again until pingpong_finish: between the two, the
 * kernel's own counters in /proc can be read while nothing moves.
 */
#ifndef HFTMON_PINGPONG_H
#define HFTMON_PINGPONG_H

#include <stddef.h>
#include <sys/types.h>

enum pingpong_mode {
	PINGPONG_PROCESSES,	/* two processes (fork) */
	PINGPONG_THREADS,	/* one process, two threads */
};

struct pingpong {
	pid_t pid[2];		/* process of each task */
	pid_t tid[2];		/* thread of each task */
	int go_w;		/* write 2 bytes: start */
	int done_r;		/* 2 bytes arrive when both are done */
	int exit_w;		/* close: both exit */
	pid_t child;		/* THREADS: the one child process */
};

/* cpu >= 0 pins both tasks to that CPU. Returns 0 or -errno. */
int pingpong_spawn(struct pingpong *pp, enum pingpong_mode mode, long rounds,
		   int cpu);
int pingpong_go(struct pingpong *pp);
int pingpong_wait_done(struct pingpong *pp);
/* Let the tasks exit and reap them. Returns 0 if both succeeded. */
int pingpong_finish(struct pingpong *pp);

/*
 * The pipe I/O the tasks use, for the tests' own pipes too, through
 * EINTR: read_all reads all n bytes however the writers split them;
 * write_all is one write (whole on a pipe up to PIPE_BUF bytes). 0, or
 * -1 (errno set, or end of file, or a short write).
 */
int pingpong_read_all(int fd, void *buf, size_t n);
int pingpong_write_all(int fd, const void *buf, size_t n);

#endif
