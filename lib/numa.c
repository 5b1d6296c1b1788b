// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * NUMA placement (issue 9, items 1 and 2): the machine's nodes as the
 * kernel describes them in /sys/devices/system/node (online nodes, each
 * one's cpulist, distance row and meminfo: what libnuma reads too; the
 * library does not link libnuma, whose static archive drags glibc's
 * resolver into every static program, for a few file reads), and where a
 * process's memory is, per mapping and node, asked of the kernel page by
 * page with move_pages(2) in query mode (nodes NULL: nothing moves; the
 * status of each page is its node, or -ENOENT when it is not resident).
 * That is the kernel's page tables read through another door than
 * /proc/PID/numa_maps, which the tests compare it with.
 *
 * Both read the system at the call and may allocate; they take no lock
 * the drain needs and work on any handle, configured or not, or none
 * (m NULL: nothing is logged).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "handle.h"

#define PAGES_PER_CALL 4096
#define NODE_DIR "/sys/devices/system/node"

/* A small sysfs file into buf; its length, or -errno. */
static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

/* A sysfs list ("0-1,4") into bits; false if malformed. */
static bool parse_list(const char *s, uint64_t *bits, unsigned int nbits)
{
	while (*s && *s != '\n') {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			return false;
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		for (; a <= b && a < nbits; a++)
			bits[a / 64] |= 1ull << (a % 64);
		if (*end == ',')
			end++;
		s = end;
	}
	return true;
}

/* "MemTotal:" or "MemFree:" of a node's meminfo, in bytes. */
static uint64_t meminfo(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtoull(p + strlen(key), NULL, 10) * 1024 : 0;
}

static int read_node(int n, int nodes, struct hftmon_numa_node *d)
{
	char path[96], buf[4096];
	char *p;
	int j;

	snprintf(path, sizeof(path), NODE_DIR "/node%d/cpulist", n);
	if (read_small(path, buf, sizeof(buf)) < 0 ||
	    !parse_list(buf, d->cpus, HFTMON_MAX_CPUS))
		return -EIO;
	snprintf(path, sizeof(path), NODE_DIR "/node%d/meminfo", n);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -EIO;
	d->mem_total_bytes = meminfo(buf, "MemTotal:");
	d->mem_free_bytes = meminfo(buf, "MemFree:");
	snprintf(path, sizeof(path), NODE_DIR "/node%d/distance", n);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -EIO;
	p = buf;
	for (j = 0; j < nodes && j < HFTMON_NUMA_MAX_NODES; j++)
		d->distance[j] = (int)strtol(p, &p, 10);
	return 0;
}

HFTMON_API int hftmon_get_numa_topology(struct hftmon *m,
					struct hftmon_numa_node *out,
					size_t max)
{
	uint64_t online[HFTMON_NUMA_MAX_NODES / 64 + 1] = { 0 };
	size_t stride, filled = 0;
	char buf[4096];
	int n, nodes = 0, err;

	if ((!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	stride = max ? out->sz : 0;
	if (read_small(NODE_DIR "/online", buf, sizeof(buf)) < 0) {
		/* No NUMA in this kernel: one node holds everything. */
		struct hftmon_numa_node d = { .sz = sizeof(d), .distance = { 10 } };
		long ncpu = sysconf(_SC_NPROCESSORS_CONF), c;
		long psz = sysconf(_SC_PAGESIZE);

		for (c = 0; c < ncpu && c < HFTMON_MAX_CPUS; c++)
			d.cpus[c / 64] |= 1ull << (c % 64);
		d.mem_total_bytes = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)psz;
		d.mem_free_bytes = (uint64_t)sysconf(_SC_AVPHYS_PAGES) * (uint64_t)psz;
		if (max)
			hftmon_put_out(out, stride, 0, &d, sizeof(d));
		return 1;
	}
	if (!parse_list(buf, online, HFTMON_NUMA_MAX_NODES + 1)) {
		pr_err(m, "NUMA: " NODE_DIR "/online reads '%s'", buf);
		return -EIO;
	}
	if (online[HFTMON_NUMA_MAX_NODES / 64] >> (HFTMON_NUMA_MAX_NODES % 64)) {
		pr_err(m, "NUMA: a node numbered %d or above: this library counts %d",
		       HFTMON_NUMA_MAX_NODES, HFTMON_NUMA_MAX_NODES);
		return -E2BIG;
	}
	for (n = 0; n < HFTMON_NUMA_MAX_NODES; n++)
		if (online[n / 64] & (1ull << (n % 64)))
			nodes = n + 1;
	for (n = 0; n < nodes; n++) {
		struct hftmon_numa_node d = { .sz = sizeof(d), .node = n };

		if (!(online[n / 64] & (1ull << (n % 64))))
			continue;
		err = read_node(n, nodes, &d);
		if (err) {
			pr_err(m, "NUMA: node %d: its sysfs files cannot be read", n);
			return err;
		}
		if (filled < max)
			hftmon_put_out(out, stride, filled, &d, sizeof(d));
		filled++;
	}
	return (int)filled;
}

/* One line of /proc/PID/maps: its range and the name after the inode. */
static bool parse_maps_line(const char *line, uint64_t *start, uint64_t *end,
			    char *path, size_t len)
{
	unsigned long long s, e;
	int off = 0;

	if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &s, &e, &off) < 2 ||
	    !off)
		return false;
	*start = s;
	*end = e;
	snprintf(path, len, "%s", line + off);
	path[strcspn(path, "\n")] = '\0';
	return true;
}

/* The resident pages of [start, end) of pid, per node, into m->pages. */
static int query_range(pid_t pid, uint64_t start, uint64_t end, long psz,
		       void **addr, int *status, struct hftmon_numa_mapping *mp)
{
	uint64_t a = start;

	while (a < end) {
		unsigned long n = 0, i;

		for (; a < end && n < PAGES_PER_CALL; a += (uint64_t)psz)
			addr[n++] = (void *)(uintptr_t)a;
		if (syscall(SYS_move_pages, pid, n, addr, NULL, status, 0) < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			if (status[i] < 0)
				continue; /* -ENOENT: not resident; -EFAULT: no page */
			if (status[i] < HFTMON_NUMA_MAX_NODES)
				mp->pages[status[i]]++;
			mp->resident++;
		}
	}
	return 0;
}

HFTMON_API int hftmon_get_numa_residency(struct hftmon *m, pid_t pid,
					 struct hftmon_numa_mapping *out,
					 size_t max)
{
	long psz = sysconf(_SC_PAGESIZE);
	char path[64], line[4096 + 128];
	size_t stride, filled = 0;
	void **addr = NULL;
	int *status = NULL;
	FILE *maps;
	int err = 0;

	if (pid <= 0 || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	stride = max ? out->sz : 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	if (!maps) {
		err = errno == ENOENT ? -ESRCH : -errno;
		pr_err(m, "NUMA residency of pid %d: %s", (int)pid,
		       strerror(-err));
		return err;
	}
	addr = calloc(PAGES_PER_CALL, sizeof(*addr));
	status = calloc(PAGES_PER_CALL, sizeof(*status));
	if (!addr || !status) {
		err = -ENOMEM;
		goto out;
	}
	while (fgets(line, sizeof(line), maps)) {
		struct hftmon_numa_mapping mp = { .sz = sizeof(mp),
						  .page_size = (uint64_t)psz };

		if (!parse_maps_line(line, &mp.start, &mp.end, mp.path,
				     sizeof(mp.path)))
			continue;
		/* The vsyscall page is no page of the process's own tables. */
		if (!strcmp(mp.path, "[vsyscall]"))
			continue;
		err = query_range(pid, mp.start, mp.end, psz, addr, status, &mp);
		if (err == -ESRCH)
			goto out; /* it exited meanwhile */
		if (err) {
			pr_err(m, "move_pages of pid %d at %#llx: %s", (int)pid,
			       (unsigned long long)mp.start, strerror(-err));
			goto out;
		}
		if (filled < max)
			hftmon_put_out(out, stride, filled, &mp, sizeof(mp));
		filled++;
	}
out:
	fclose(maps);
	free(addr);
	free(status);
	return err ? err : (int)filled;
}
