// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * NUMA placement (issue 9, items 1 and 2): the machine's nodes as the
 * kernel describes them in /sys/devices/system/node (online nodes, each
 * one's cpulist, distance row and meminfo: what libnuma reads too; the
 * library does not link libnuma, whose static archive drags glibc's
 * resolver into every static program, for a few file reads), and where a
 * process's memory is, per mapping and node: /proc/PID/maps for the
 * mappings and /proc/PID/numa_maps for their pages per node (the
 * kernel's own walk of the page tables, as numastat -p reads it; one
 * line per mapping, whatever its size, where asking page by page with
 * move_pages(2) would cost a system call per 4096 pages of address space:
 * hours for a sanitizer's terabytes of shadow). t_numa checks it against
 * placements it made itself (mbind) and against move_pages(2) of its own
 * buffers.
 *
 * Both read the system at the call and may allocate; they take no lock
 * the drain needs and work on any handle, configured or not, or none
 * (m NULL: nothing is logged).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handle.h"
#include "numabal.h"

/* Where the nodes are described; a test points it at a tree of its own. */
const char *hftmon_node_dir = "/sys/devices/system/node";

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

	snprintf(path, sizeof(path), "%s/node%d/cpulist", hftmon_node_dir, n);
	if (read_small(path, buf, sizeof(buf)) < 0 ||
	    !parse_list(buf, d->cpus, HFTMON_MAX_CPUS))
		return -EIO;
	snprintf(path, sizeof(path), "%s/node%d/meminfo", hftmon_node_dir, n);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -EIO;
	d->mem_total_bytes = meminfo(buf, "MemTotal:");
	d->mem_free_bytes = meminfo(buf, "MemFree:");
	snprintf(path, sizeof(path), "%s/node%d/distance", hftmon_node_dir, n);
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
	char buf[4096], path[256];
	int n, nodes = 0, err;

	if ((!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	stride = max ? out->sz : 0;
	snprintf(path, sizeof(path), "%s/online", hftmon_node_dir);
	if (read_small(path, buf, sizeof(buf)) < 0) {
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
		pr_err(m, "NUMA: %s reads '%s'", path, buf);
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

/*
 * The node counts of one /proc/PID/numa_maps line: "N<node>=<pages>" in
 * pages of "kernelpagesize_kB" (a huge page counts once).
 */
static void parse_numa_line(const char *line, struct hftmon_numa_mapping *mp)
{
	const char *p = line;

	while ((p = strchr(p, ' '))) {
		unsigned long long v;
		unsigned int node;

		p++;
		if (sscanf(p, "N%u=%llu", &node, &v) == 2) {
			if (node < HFTMON_NUMA_MAX_NODES)
				mp->pages[node] += v;
			mp->resident += v;
		} else if (sscanf(p, "kernelpagesize_kB=%llu", &v) == 1) {
			mp->page_size = v * 1024;
		}
	}
}

/* Without NUMA (no numa_maps): a mapping's Rss, all on node 0 (smaps). */
static int smaps_rss(FILE *smaps, uint64_t start, struct hftmon_numa_mapping *mp)
{
	char line[4096 + 128];
	bool in = false;

	rewind(smaps);
	while (fgets(line, sizeof(line), smaps)) {
		unsigned long long s, e, kb;

		if (sscanf(line, "%llx-%llx ", &s, &e) == 2) {
			if (in)
				break;
			in = s == start;
		} else if (in && sscanf(line, "Rss: %llu kB", &kb) == 1) {
			mp->resident = kb * 1024 / mp->page_size;
			mp->pages[0] = mp->resident;
			return 0;
		}
	}
	return 0;
}

static int open_proc(pid_t pid, const char *what, FILE **f)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	*f = fopen(path, "re");
	if (*f)
		return 0;
	if (errno == ENOENT)
		return -ENOENT;
	return errno == EACCES ? -EPERM : -errno;
}

HFTMON_API int hftmon_get_numa_residency(struct hftmon *m, pid_t pid,
					 struct hftmon_numa_mapping *out,
					 size_t max)
{
	long psz = sysconf(_SC_PAGESIZE);
	char line[4096 + 128], nline[16384];
	FILE *maps = NULL, *numa = NULL;
	size_t stride, filled = 0;
	bool have_nline = false;
	int err;

	if (pid <= 0 || (!out && max) || (max && !HFTMON_OUT_OK(out)))
		return -EINVAL;
	stride = max ? out->sz : 0;
	err = open_proc(pid, "maps", &maps);
	if (err == -ENOENT)
		err = -ESRCH;
	if (!err) {
		err = open_proc(pid, "numa_maps", &numa);
		/* No NUMA in this kernel: smaps' Rss, on the one node. */
		if (err == -ENOENT)
			err = open_proc(pid, "smaps", &numa);
		else if (!err)
			have_nline = true;
	}
	if (err) {
		pr_err(m, "NUMA residency of pid %d: %s", (int)pid,
		       strerror(-err));
		goto out;
	}
	while (fgets(line, sizeof(line), maps)) {
		struct hftmon_numa_mapping mp = { .sz = sizeof(mp),
						  .page_size = (uint64_t)psz };

		if (!parse_maps_line(line, &mp.start, &mp.end, mp.path,
				     sizeof(mp.path)))
			continue;
		if (have_nline) {
			/* numa_maps lists the same mappings, in the same order. */
			while (fgets(nline, sizeof(nline), numa)) {
				unsigned long long s;

				if (sscanf(nline, "%llx ", &s) != 1 || s > mp.start)
					break;
				if (s == mp.start) {
					parse_numa_line(nline, &mp);
					break;
				}
			}
		} else {
			smaps_rss(numa, mp.start, &mp);
		}
		if (filled < max)
			hftmon_put_out(out, stride, filled, &mp, sizeof(mp));
		filled++;
	}
	if (!filled)
		err = -ESRCH; /* it exited between the open and the read */
out:
	if (maps)
		fclose(maps);
	if (numa)
		fclose(numa);
	return err ? err : (int)filled;
}

/*
 * The node of every CPU, for the NUMA balancing aggregation (numabal.c):
 * read once at configure. A CPU no node lists stays unknown; a topology
 * that cannot be read leaves them all unknown (logged), never guessed.
 */
void hftmon_numa_map_cpus(struct hftmon *m)
{
	struct hftmon_numa_node *nd = calloc(HFTMON_NUMA_MAX_NODES, sizeof(*nd));
	unsigned int cpu;
	int n, i;

	if (!nd) {
		pr_warn(m, "NUMA: no memory to read the topology: every CPU's node unknown");
		return;
	}
	nd[0].sz = sizeof(*nd);
	n = hftmon_get_numa_topology(m, nd, HFTMON_NUMA_MAX_NODES);
	if (n < 0)
		pr_warn(m, "NUMA: the topology cannot be read (%s): every CPU's node unknown",
			strerror(-n));
	for (i = 0; i < n && i < HFTMON_NUMA_MAX_NODES; i++)
		for (cpu = 0; cpu < m->agg.numa->nr_cpus && cpu < HFTMON_MAX_CPUS;
		     cpu++)
			if (nd[i].cpus[cpu / 64] & (1ull << (cpu % 64)))
				hftmon_agg_numa_set_node(&m->agg, cpu, nd[i].node);
	free(nd);
}
