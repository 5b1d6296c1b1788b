// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * /proc readers (see procfs.h). Each file is read whole with one read()
 * into a buffer on the stack, then parsed from memory, so a file that
 * changes between two reads is never seen half old, half new. A thread's
 * comm may hold any byte, spaces and parentheses included: stat is split
 * at the last ')'.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

/* Reads path into buf (NUL-terminated, at most len - 1 bytes). 0 or -errno. */
static int read_text(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}

/* Parses one unsigned decimal; *p advanced past it. */
static int parse_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EPROTO;
	while (*s >= '0' && *s <= '9') {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EPROTO;
		x = x * 10 + (uint64_t)(*s - '0');
		s++;
	}
	*p = s;
	*v = x;
	return 0;
}

/* A signed decimal that fits an int. */
static int parse_int(const char **p, int *v)
{
	const char *s = *p;
	bool neg = false;
	uint64_t x;
	int err;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '-') {
		neg = true;
		s++;
	}
	err = parse_u64(&s, &x);
	if (err || x > (uint64_t)INT_MAX + neg)
		return -EPROTO;
	*v = neg ? (int)-(int64_t)x : (int)x;
	*p = s;
	return 0;
}

/* Skips n space-separated fields. */
static int skip_fields(const char **p, unsigned int n)
{
	const char *s = *p;

	while (n--) {
		while (*s == ' ')
			s++;
		if (!*s || *s == '\n')
			return -EPROTO;
		while (*s && *s != ' ' && *s != '\n')
			s++;
	}
	*p = s;
	return 0;
}

int hftmon_procfs_parse_stat(const char *text, struct hftmon_procfs_thread *t)
{
	const char *open_paren = strchr(text, '('), *close_paren, *p;
	size_t len;
	int field;

	close_paren = strrchr(text, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EPROTO;
	len = (size_t)(close_paren - open_paren - 1);
	if (len >= sizeof(t->comm))
		len = sizeof(t->comm) - 1;
	memcpy(t->comm, open_paren + 1, len);
	t->comm[len] = '\0';

	/* Field 3 (state) follows ") ". Fields are numbered from 1. */
	p = close_paren + 1;
	if (skip_fields(&p, 1)) /* 3: state */
		return -EPROTO;
	for (field = 4; field <= 41; field++) {
		uint64_t u;
		int err = 0;

		switch (field) {
		case 14:
			err = parse_u64(&p, &t->utime_ticks);
			break;
		case 15:
			err = parse_u64(&p, &t->stime_ticks);
			break;
		case 19:
			err = parse_int(&p, &t->nice);
			break;
		case 39:
			err = parse_int(&p, &t->cpu);
			break;
		case 40:
			err = parse_u64(&p, &u);
			t->rt_priority = (int)(u > 99 ? 99 : u);
			break;
		case 41:
			err = parse_u64(&p, &u);
			t->policy = (int)(u > INT_MAX ? INT_MAX : u);
			break;
		default:
			err = skip_fields(&p, 1);
			break;
		}
		if (err)
			return -EPROTO;
	}
	return 0;
}

/* The value of "key:<spaces>N" at the start of a line of text. */
static int find_key_u64(const char *text, const char *key, char sep,
			uint64_t *v)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, key, klen)) {
			const char *p = line + klen;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == sep) {
				p++;
				return parse_u64(&p, v);
			}
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

int hftmon_procfs_parse_status(const char *text,
			       struct hftmon_procfs_thread *t)
{
	if (find_key_u64(text, "voluntary_ctxt_switches", ':', &t->voluntary) ||
	    find_key_u64(text, "nonvoluntary_ctxt_switches", ':',
			 &t->involuntary))
		return -EPROTO;
	t->have_ctxt = true;
	return 0;
}

int hftmon_procfs_parse_schedstat(const char *text,
				  struct hftmon_procfs_thread *t)
{
	const char *p = text;

	if (parse_u64(&p, &t->cpu_time_ns) || parse_u64(&p, &t->run_delay_ns))
		return -EPROTO;
	t->have_schedstat = true;
	return 0;
}

int hftmon_procfs_parse_sched(const char *text, struct hftmon_procfs_thread *t)
{
	uint64_t v;

	/* "se.nr_migrations                             :                    3" */
	if (find_key_u64(text, "se.nr_migrations", ':', &v) || v > INT64_MAX)
		return -EPROTO;
	t->migrations = (int64_t)v;
	return 0;
}

static int thread_path(char *buf, size_t len, const char *root, pid_t pid,
		       pid_t tid, const char *file)
{
	int n = snprintf(buf, len, "%s/%d/task/%d/%s", root, (int)pid,
			 (int)tid, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int hftmon_procfs_thread(const char *root, pid_t pid, pid_t tid,
			 struct hftmon_procfs_thread *t)
{
	char path[PATH_MAX], buf[8192];
	int err;

	memset(t, 0, sizeof(*t));
	t->migrations = -1;

	err = thread_path(path, sizeof(path), root, pid, tid, "stat");
	if (!err)
		err = read_text(path, buf, sizeof(buf));
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	err = hftmon_procfs_parse_stat(buf, t);
	if (err)
		return err;

	/* The rest may be missing (kernel options): their flags say so. */
	if (!thread_path(path, sizeof(path), root, pid, tid, "status") &&
	    !read_text(path, buf, sizeof(buf)))
		hftmon_procfs_parse_status(buf, t);
	if (!thread_path(path, sizeof(path), root, pid, tid, "schedstat") &&
	    !read_text(path, buf, sizeof(buf)))
		hftmon_procfs_parse_schedstat(buf, t);
	if (!thread_path(path, sizeof(path), root, pid, tid, "sched") &&
	    !read_text(path, buf, sizeof(buf)))
		hftmon_procfs_parse_sched(buf, t);
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

int hftmon_procfs_tids(const char *root, pid_t pid, pid_t **tids)
{
	size_t n = 0, cap = 16;
	char path[PATH_MAX];
	struct dirent *de;
	pid_t *v, *bigger;
	DIR *dir;
	int len;

	*tids = NULL;
	len = snprintf(path, sizeof(path), "%s/%d/task", root, (int)pid);
	if (len < 0 || (size_t)len >= sizeof(path))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(dir);
		return -ENOMEM;
	}
	while ((de = readdir(dir))) {
		const char *p = de->d_name;
		uint64_t tid;

		if (parse_u64(&p, &tid) || *p || !tid || tid > INT_MAX)
			continue;
		if (n == cap) {
			cap *= 2;
			bigger = realloc(v, cap * sizeof(*v));
			if (!bigger) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = bigger;
		}
		v[n++] = (pid_t)tid;
	}
	closedir(dir);
	if (n > INT_MAX) {
		free(v);
		return -EOVERFLOW;
	}
	qsort(v, n, sizeof(*v), cmp_pid);
	*tids = v;
	return (int)n;
}
