// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Per-node memory bandwidth for hftmon_get_numa_stats() (issue 9 item 4),
 * from the memory controllers' uncore PMUs, where the machine exposes
 * them: Intel's uncore_imc_<n> (one per memory channel or controller)
 * with the kernel's named events cas_count_read and cas_count_write (DRAM
 * column accesses, 64 bytes each, which the kernel's .scale and .unit
 * files say).
 *
 * These count every process's traffic on that controller, not a thread's:
 * the library opens them system-wide (perf_event_open() with pid -1 on
 * the CPU the PMU's cpumask names, which needs CAP_PERFMON or
 * kernel.perf_event_paranoid <= 0) at start, reads them at each query and
 * once more at stop, and attributes each controller to the node of that
 * CPU. Found at configure, from sysfs only: an event's config is built
 * from its sysfs string ("event=0x04,umask=0x03") and the PMU's format
 * files ("config:0-7"), as perf itself does, so no encoding is written
 * here.
 *
 * Never a number without a count behind it: no uncore PMU (every VM), a
 * memory-controller PMU without these events (AMD's amd_df and amd_umc,
 * which hftmon does not program), a counter the kernel refused, a read
 * that failed: bandwidth_status and bandwidth_why say which.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "handle.h"
#include "numabal.h"
#include "numabw.h"

const char *hftmon_pmu_dir = "/sys/bus/event_source/devices";

static int libc_perf_open(struct perf_event_attr *attr, int cpu)
{
	return (int)syscall(SYS_perf_event_open, attr, -1, cpu, -1,
			    PERF_FLAG_FD_CLOEXEC);
}

static ssize_t libc_read(int fd, void *buf, size_t n)
{
	return read(fd, buf, n);
}

static const struct hftmon_bw_ops libc_bw_ops = {
	.perf_open = libc_perf_open,
	.read = libc_read,
	.close = close,
};

const struct hftmon_bw_ops *hftmon_bw_ops = &libc_bw_ops;

void hftmon_bw_set_ops(const struct hftmon_bw_ops *ops)
{
	hftmon_bw_ops = ops ? ops : &libc_bw_ops;
}

/* A small sysfs file of pmu's, without its newline; 0 or -errno. */
static int pmu_file(const char *pmu, const char *file, char *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", hftmon_pmu_dir, pmu, file);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Puts value into config at the bit ranges of pmu's format file for term
 * ("config:0-7", "config:0-7,32-35": low bits of value first). 0, or
 * -EINVAL: no such term, or one in config1/config2 (not programmed).
 */
static int put_term(const char *pmu, const char *term, uint64_t value,
		    uint64_t *config)
{
	char file[160], fmt[128], *p;

	snprintf(file, sizeof(file), "format/%s", term);
	if (pmu_file(pmu, file, fmt, sizeof(fmt)) || strncmp(fmt, "config:", 7))
		return -EINVAL;
	p = fmt + 7;
	while (*p) {
		unsigned long lo, hi;
		char *end;

		lo = strtoul(p, &end, 10);
		hi = *end == '-' ? strtoul(end + 1, &end, 10) : lo;
		if (end == p || hi < lo || hi > 63)
			return -EINVAL;
		for (; lo <= hi; lo++) {
			*config |= (value & 1) << lo;
			value >>= 1;
		}
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -EINVAL;
	}
	return value ? -EINVAL : 0; /* bits left over: it does not fit */
}

/* An event's sysfs string ("event=0x04,umask=0x03") into its config. */
static int event_config(const char *pmu, const char *ev, uint64_t *config)
{
	char s[256], file[160], *term, *save = NULL;

	snprintf(file, sizeof(file), "events/%s", ev);
	if (pmu_file(pmu, file, s, sizeof(s)))
		return -ENOENT;
	*config = 0;
	for (term = strtok_r(s, ",", &save); term;
	     term = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(term, '=');
		uint64_t v = 1;

		if (eq) {
			char *end;

			*eq = '\0';
			v = strtoull(eq + 1, &end, 0);
			if (end == eq + 1 || *end)
				return -EINVAL;
		}
		if (put_term(pmu, term, v, config))
			return -EINVAL;
	}
	return 0;
}

/* Bytes per count: the event's .scale (default 1) times its .unit. */
static int event_bytes(const char *pmu, const char *ev, double *bytes)
{
	char file[160], buf[64], *end;
	double scale = 1.0, unit;

	snprintf(file, sizeof(file), "events/%s.scale", ev);
	if (!pmu_file(pmu, file, buf, sizeof(buf))) {
		scale = strtod(buf, &end);
		if (end == buf || scale <= 0)
			return -EINVAL;
	}
	snprintf(file, sizeof(file), "events/%s.unit", ev);
	if (pmu_file(pmu, file, buf, sizeof(buf)) || !strcmp(buf, "B") ||
	    !strcmp(buf, "Bytes"))
		unit = 1.0;
	else if (!strcmp(buf, "KiB"))
		unit = 1024.0;
	else if (!strcmp(buf, "MiB"))
		unit = 1048576.0;
	else if (!strcmp(buf, "GiB"))
		unit = 1073741824.0;
	else
		return -EINVAL; /* a unit that is no size: not bytes */
	*bytes = scale * unit;
	return 0;
}

int hftmon_pmu_sysfs_file(const char *pmu, const char *file, char *buf,
			  size_t len)
{
	return pmu_file(pmu, file, buf, len);
}

int hftmon_pmu_sysfs_event(const char *pmu, const char *ev, uint64_t *config)
{
	return event_config(pmu, ev, config);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* One IMC PMU's two counters into bw; 0 or -errno (why set). */
static int add_imc(struct hftmon *m, const char *pmu)
{
	static const char *const ev[2] = { "cas_count_read", "cas_count_write" };
	struct hftmon_numa_bw *bw = &m->bw;
	char buf[64];
	unsigned long type;
	int cpu, i;

	if (pmu_file(pmu, "type", buf, sizeof(buf)))
		return -ENOENT;
	type = strtoul(buf, NULL, 10);
	/* cpumask: the CPU that counts for the PMU ("0" or "0,28"): its first */
	if (pmu_file(pmu, "cpumask", buf, sizeof(buf)))
		return -ENOENT;
	cpu = atoi(buf);
	for (i = 0; i < 2; i++) {
		struct hftmon_numa_bw_counter *c;
		uint64_t config;
		double bytes;

		if (event_config(pmu, ev[i], &config) ||
		    event_bytes(pmu, ev[i], &bytes)) {
			snprintf(bw->why, sizeof(bw->why),
				 "%.64s has no usable %s event in sysfs", pmu, ev[i]);
			return -ENOENT;
		}
		if (bw->nr == HFTMON_BW_MAX_COUNTERS) {
			snprintf(bw->why, sizeof(bw->why),
				 "more than %d memory-controller counters: not all of them can be read",
				 HFTMON_BW_MAX_COUNTERS);
			return -E2BIG;
		}
		c = &bw->c[bw->nr++];
		c->fd = -1;
		c->type = (uint32_t)type;
		c->config = config;
		c->cpu = cpu;
		c->write = i == 1;
		c->bytes_per_count = bytes;
		c->node = m->agg.numa && (unsigned int)cpu < m->agg.numa->nr_cpus ?
				  m->agg.numa->cpu_node[cpu] : -1;
		if (c->node < 0 || c->node >= HFTMON_NUMA_MAX_NODES) {
			snprintf(bw->why, sizeof(bw->why),
				 "%.64s counts on CPU %d, whose node is unknown", pmu, cpu);
			return -ENODEV;
		}
	}
	return 0;
}

static void bw_close_all(struct hftmon_numa_bw *bw);

void hftmon_numa_bw_setup(struct hftmon *m)
{
	struct hftmon_numa_bw *bw = &m->bw;
	char other[96] = "";
	unsigned int imcs = 0;
	struct dirent *e;
	size_t len = 0;
	DIR *dir;
	int err = 0;

	bw_close_all(bw); /* configured again */
	memset(bw, 0, sizeof(*bw));
	bw->status = -EOPNOTSUPP;
	dir = opendir(hftmon_pmu_dir);
	if (!dir) {
		snprintf(bw->why, sizeof(bw->why), "no %s (%s)", hftmon_pmu_dir,
			 strerror(errno));
		return;
	}
	while ((e = readdir(dir)) && !err) {
		if (has_prefix(e->d_name, "uncore_imc")) {
			/* uncore_imc_free_running: other events, not these */
			if (has_prefix(e->d_name, "uncore_imc_free_running"))
				continue;
			err = add_imc(m, e->d_name);
			imcs++;
		} else if ((has_prefix(e->d_name, "amd_df") ||
			    has_prefix(e->d_name, "amd_umc")) &&
			   len + strlen(e->d_name) + 2 < sizeof(other)) {
			len += (size_t)snprintf(other + len, sizeof(other) - len,
						"%s%s", len ? " " : "",
						e->d_name);
		}
	}
	closedir(dir);
	if (err) {
		bw->nr = 0;
		bw->status = err;
		return;
	}
	if (imcs) {
		bw->status = 0;
		snprintf(bw->why, sizeof(bw->why),
			 "every process's DRAM traffic, from %u memory controllers' cas_count_read/write (uncore_imc)",
			 imcs);
	} else if (len) {
		snprintf(bw->why, sizeof(bw->why),
			 "the memory controllers' PMUs here (%s) have no named read/write events: hftmon programs only Intel's uncore_imc",
			 other);
	} else {
		snprintf(bw->why, sizeof(bw->why),
			 "no memory-controller PMU (uncore_imc*, amd_df, amd_umc*) in %s: a VM exposes none",
			 hftmon_pmu_dir);
	}
}

/* Reads every counter into last; 0 or the first -errno (why set). */
static int bw_read_all(struct hftmon_numa_bw *bw)
{
	unsigned int i;

	for (i = 0; i < bw->nr; i++) {
		struct hftmon_numa_bw_counter *c = &bw->c[i];
		uint64_t v;

		if (hftmon_bw_ops->read(c->fd, &v, sizeof(v)) != sizeof(v)) {
			int err = errno ? -errno : -EIO;

			snprintf(bw->why, sizeof(bw->why),
				 "reading a memory-controller counter failed: %s",
				 strerror(-err));
			return err;
		}
		c->last = v;
	}
	return 0;
}

static void bw_close_all(struct hftmon_numa_bw *bw)
{
	unsigned int i;

	for (i = 0; i < bw->nr; i++)
		if (bw->c[i].fd >= 0) {
			hftmon_bw_ops->close(bw->c[i].fd);
			bw->c[i].fd = -1;
		}
}

void hftmon_numa_bw_start(struct hftmon *m)
{
	struct hftmon_numa_bw *bw = &m->bw;
	unsigned int i;
	int err;

	if (bw->status || !bw->nr)
		return;
	for (i = 0; i < bw->nr; i++) {
		struct hftmon_numa_bw_counter *c = &bw->c[i];
		struct perf_event_attr attr = {
			.size = sizeof(attr), .type = c->type,
			.config = c->config,
		};

		c->fd = hftmon_bw_ops->perf_open(&attr, c->cpu);
		if (c->fd < 0) {
			err = -errno;
			c->fd = -1;
			bw_close_all(bw);
			bw->status = err;
			snprintf(bw->why, sizeof(bw->why),
				 "the memory controllers' counters (system-wide) were refused: %s%s",
				 strerror(-err),
				 err == -EACCES || err == -EPERM ?
					 " (needs CAP_PERFMON or kernel.perf_event_paranoid <= 0)" :
					 "");
			return;
		}
	}
	err = bw_read_all(bw);
	if (err) {
		bw_close_all(bw);
		bw->status = err;
		return;
	}
	for (i = 0; i < bw->nr; i++)
		bw->c[i].base = bw->c[i].last;
	bw->start_ns = hftmon_now_ns();
	bw->stop_ns = 0;
}

void hftmon_numa_bw_stop(struct hftmon *m)
{
	struct hftmon_numa_bw *bw = &m->bw;
	int err;

	hftmon_lock(m);
	if (!bw->status && bw->nr && bw->c[0].fd >= 0) {
		err = bw_read_all(bw);
		bw->stop_ns = hftmon_now_ns();
		bw_close_all(bw);
		if (err)
			bw->status = err;
	}
	hftmon_unlock(m);
}

void hftmon_numa_bw_stats(struct hftmon *m, struct hftmon_numa_stats *o)
{
	struct hftmon_numa_bw *bw = &m->bw;
	unsigned int i;

	hftmon_lock(m);
	if (!bw->status && bw->nr && !bw->start_ns) {
		o->bandwidth_status = -ENODATA;
		snprintf(o->bandwidth_why, sizeof(o->bandwidth_why),
			 "not started: the memory controllers are counted from start");
		hftmon_unlock(m);
		return;
	}
	if (!bw->status && !bw->stop_ns) {
		int err = bw_read_all(bw);

		if (err) {
			bw_close_all(bw);
			bw->status = err;
		}
	}
	o->bandwidth_status = bw->status;
	snprintf(o->bandwidth_why, sizeof(o->bandwidth_why), "%s", bw->why);
	if (bw->status) {
		hftmon_unlock(m);
		return;
	}
	o->bandwidth_ns = (bw->stop_ns ? bw->stop_ns : hftmon_now_ns()) -
			  bw->start_ns;
	for (i = 0; i < bw->nr; i++) {
		const struct hftmon_numa_bw_counter *c = &bw->c[i];
		uint64_t bytes = (uint64_t)((double)(c->last - c->base) *
					    c->bytes_per_count + 0.5);

		if (c->write)
			o->write_bytes[c->node] += bytes;
		else
			o->read_bytes[c->node] += bytes;
	}
	hftmon_unlock(m);
}
