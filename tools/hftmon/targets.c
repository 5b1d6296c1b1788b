// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * What a monitoring command watches, the way perf names it: -p PID (the
 * whole process; a thread id given there is resolved to its process,
 * with a note), -t TID (that thread only; its process is attached and
 * the rest filtered out), several of them, and "-- COMMAND ARGS": forked
 * stopped before exec (it waits on a pipe), attached, then released, so
 * nothing it does escapes the monitor. Whether each target still runs is
 * read from /proc (a zombie has exited) and, for the command, waitpid().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* Tgid and state of task id (any thread) from /proc/ID/status. */
static int task_status(pid_t id, pid_t *tgid, char *state)
{
	char path[64], line[256];
	int got = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)id);
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		int v;
		char c;

		if (sscanf(line, "State: %c", &c) == 1) {
			*state = c;
			got |= 1;
		} else if (sscanf(line, "Tgid: %d", &v) == 1) {
			*tgid = v;
			got |= 2;
		}
	}
	fclose(f);
	return got == 3 ? 0 : -EPROTO;
}

/* PF_KTHREAD in /proc/PID/stat's flags (the 9th field). */
static bool kernel_thread(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long flags = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name may hold anything */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return false;
	return flags & 0x00200000ul;
}

static void add(struct cli_targets *t, pid_t pid, pid_t tid)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++) {
		struct cli_target *o = &t->v[i];

		if (o->pid != pid)
			continue;
		if (!o->tid)
			return; /* the whole process already */
		if (!tid) {
			o->tid = 0; /* a thread, widened to its process */
			return;
		}
		if (o->tid == tid)
			return;
	}
	t->v = realloc(t->v, (t->nr + 1) * sizeof(*t->v));
	if (!t->v) {
		report_error(-ENOMEM, "targets");
		exit(EXIT_FAILURE);
	}
	memset(&t->v[t->nr], 0, sizeof(t->v[t->nr]));
	t->v[t->nr].pid = pid;
	t->v[t->nr].tid = tid;
	t->nr++;
}

void targets_add(struct cli_targets *t, const char *cmd, int opt,
		 const char *arg)
{
	pid_t id = parse_pid_arg(cmd, opt == 'p' ? "-p" : "-t", arg);
	pid_t tgid = 0;
	char state = 0;
	int err = task_status(id, &tgid, &state);

	if (err == -ESRCH) {
		report_line("%s: %s %d: no such %s: check the id (ps -eLf lists threads)",
			    cmd, opt == 'p' ? "-p" : "-t", (int)id,
			    opt == 'p' ? "process" : "thread");
		exit(EXIT_FAILURE);
	}
	if (err) {
		report_error(err, "%s: /proc/%d/status", cmd, (int)id);
		exit(EXIT_FAILURE);
	}
	if (kernel_thread(tgid)) {
		report_line("%s: %d is a kernel thread: hftmon monitors user processes; give the trading process's id",
			    cmd, (int)id);
		exit(EXIT_FAILURE);
	}
	if (opt == 'p') {
		if (tgid != id)
			note("%d is a thread of process %d: monitoring every thread of %d (-t %d: that thread only)",
			     (int)id, (int)tgid, (int)tgid, (int)id);
		add(t, tgid, 0);
	} else {
		add(t, tgid, id);
	}
}

unsigned int targets_processes(const struct cli_targets *t, pid_t *pids)
{
	unsigned int i, j, n = 0;

	for (i = 0; i < t->nr; i++) {
		for (j = 0; j < n && pids[j] != t->v[i].pid; j++)
			;
		if (j == n)
			pids[n++] = t->v[i].pid;
	}
	return n;
}

bool targets_want(const struct cli_targets *t, pid_t pid, pid_t tid)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->v[i].pid == pid && (!t->v[i].tid || t->v[i].tid == tid))
			return true;
	return false;
}

int targets_spawn(struct cli_targets *t)
{
	int go[2], errp[2];
	pid_t pid;

	t->go_fd = t->err_fd = -1;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return report_error(-errno, "run %s: pipe", t->command[0]);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return report_error(-errno, "run %s: fork", t->command[0]);
	if (pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(errp[0]);
		/* Wait until the monitor has attached (EOF: it gave up). */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execvp(t->command[0], t->command);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	t->go_fd = go[1];
	t->err_fd = errp[0];
	t->child = pid;
	add(t, pid, 0);
	return 0;
}

int targets_release(struct cli_targets *t)
{
	ssize_t n;
	int e = 0;

	if (t->go_fd < 0)
		return 0;
	n = write(t->go_fd, "g", 1);
	close(t->go_fd);
	t->go_fd = -1;
	if (n != 1)
		return report_error(-errno, "run %s: start it", t->command[0]);
	/* EOF: exec succeeded (the pipe is close-on-exec). */
	n = read(t->err_fd, &e, sizeof(e));
	close(t->err_fd);
	t->err_fd = -1;
	if (n == (ssize_t)sizeof(e)) {
		waitpid(t->child, &t->child_status, 0);
		t->v[t->nr - 1].gone = true;
		return report_line("run %s: %s: check the command name and PATH",
				   t->command[0], strerror(e));
	}
	return 0;
}

bool targets_all_gone(struct cli_targets *t)
{
	unsigned int i, alive = 0;

	for (i = 0; i < t->nr; i++) {
		struct cli_target *g = &t->v[i];
		pid_t id = g->tid ? g->tid : g->pid, tgid = 0;
		char state = 0;

		if (g->gone)
			continue;
		if (t->child && g->pid == t->child && !g->tid) {
			if (waitpid(t->child, &t->child_status, WNOHANG) ==
			    t->child) {
				g->gone = true;
				g->gone_ns = now_ns();
			} else {
				alive++;
			}
			continue;
		}
		if (task_status(id, &tgid, &state) || state == 'Z' ||
		    state == 'X' || tgid != g->pid) {
			g->gone = true;
			g->gone_ns = now_ns();
		} else {
			alive++;
		}
	}
	return t->nr && !alive;
}

int targets_add_followed(struct cli_targets *t, pid_t pid)
{
	struct cli_target *v;
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->v[i].pid == pid && !t->v[i].tid)
			return 0;
	v = realloc(t->v, (t->nr + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->v = v;
	memset(&v[t->nr], 0, sizeof(v[t->nr]));
	v[t->nr].pid = pid;
	v[t->nr].followed = true;
	t->nr++;
	return 0;
}

static void describe(const struct cli_targets *t, const struct cli_target *g,
		     char *buf, size_t len)
{
	int n;

	if (g->tid)
		n = snprintf(buf, len, "tid %d of pid %d", (int)g->tid,
			     (int)g->pid);
	else
		n = snprintf(buf, len, "pid %d", (int)g->pid);
	if (n < 0 || (size_t)n >= len)
		return;
	if (t->child && g->pid == t->child && t->command) {
		if (!g->gone)
			snprintf(buf + n, len - (size_t)n, " (%s)",
				 t->command[0]);
		else if (WIFEXITED(t->child_status))
			snprintf(buf + n, len - (size_t)n,
				 " (%s, exited with status %d)", t->command[0],
				 WEXITSTATUS(t->child_status));
		else if (WIFSIGNALED(t->child_status))
			snprintf(buf + n, len - (size_t)n,
				 " (%s, killed by signal %d)", t->command[0],
				 WTERMSIG(t->child_status));
	} else if (g->followed) {
		snprintf(buf + n, len - (size_t)n, " (a child followed%s)",
			 g->gone ? ", exited" : "");
	} else if (g->gone) {
		snprintf(buf + n, len - (size_t)n, " (exited)");
	}
}

void targets_print(const struct cli_targets *t, FILE *f)
{
	unsigned int i, gone = 0;
	char buf[256];

	fprintf(f, "targets:");
	for (i = 0; i < t->nr; i++) {
		describe(t, &t->v[i], buf, sizeof(buf));
		fprintf(f, "%s %s", i ? "," : "", buf);
		gone += t->v[i].gone;
	}
	if (t->nr && gone == t->nr)
		fprintf(f, "; every target exited: the run ended there");
	fprintf(f, "\n");
}

void targets_print_json(const struct cli_targets *t)
{
	unsigned int i;

	printf("\"targets\": [");
	for (i = 0; i < t->nr; i++) {
		const struct cli_target *g = &t->v[i];

		printf("%s{\"pid\": %d, \"tid\": ", i ? ", " : "", (int)g->pid);
		if (g->tid)
			printf("%d", (int)g->tid);
		else
			printf("null");
		printf(", \"exited\": %s", g->gone ? "true" : "false");
		if (g->followed)
			printf(", \"followed\": true");
		if (t->child && g->pid == t->child && t->command) {
			printf(", \"command\": ");
			json_string(t->command[0]);
			if (g->gone && WIFEXITED(t->child_status))
				printf(", \"exit_status\": %d",
				       WEXITSTATUS(t->child_status));
			else if (g->gone && WIFSIGNALED(t->child_status))
				printf(", \"signal\": %d",
				       WTERMSIG(t->child_status));
		}
		printf("}");
	}
	printf("]");
}

void targets_fini(struct cli_targets *t)
{
	/* The pipes exist once a command was forked (targets_spawn). */
	if (t->child && t->go_fd >= 0)
		close(t->go_fd); /* EOF: a child still waiting exits 127 */
	if (t->child && t->err_fd >= 0)
		close(t->err_fd);
	t->go_fd = t->err_fd = -1;
	if (t->child) {
		unsigned int i;
		bool gone = false;

		for (i = 0; i < t->nr; i++)
			if (t->v[i].pid == t->child && t->v[i].gone)
				gone = true;
		/* The monitor ended first (duration, signal, error). */
		if (!gone && waitpid(t->child, &t->child_status, WNOHANG) == 0) {
			note("%s (pid %d) still ran when monitoring ended: terminated it",
			     t->command[0], (int)t->child);
			kill(t->child, SIGTERM);
			waitpid(t->child, &t->child_status, 0);
		}
	}
	free(t->v);
	t->v = NULL;
	t->nr = 0;
}
