// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Recording files (format: file.h). The writer sits on the drain: every
 * record a pass takes from a ring is copied into a buffer allocated when
 * recording begins (so the drain still never allocates) as one RECORDS
 * section per ring and pass, and the pass's ring bounds follow in a PASS
 * section; the buffer is written out when full and at the end of every
 * pass, by whichever thread drains (the drain thread runs off the
 * tracked CPUs). A write error stops the recording, is logged, and is
 * returned by hftmon_stop(); the session itself goes on.
 *
 * The reader maps the whole file, checks every section and record once
 * at open, and feeds the aggregator in file order exactly as the drain
 * fed it live (records, then each ring's bound, then the merge), so the
 * queries of the file handle answer as the live handle's did. Its
 * hftmon_drain() hands out the records once, in file order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "handle.h"
#include "record.h"

#define HFTMON_FILE_BUF (4u << 20) /* writer's buffer */
#define HFTMON_FILE_PASS 8	   /* section type: a pass's ring bounds */
#define HFTMON_FILE_START 9	   /* section type: a session started */

/*
 * PASS payload: struct hftmon_file_pass, then nr __u32 entries, each a
 * ring that the pass finished reading, in order: cpu | COMPLETE_BIT.
 */
struct hftmon_file_pass {
	__u64 pass_ns;
	__u32 flags; /* HFTMON_FILE_QUIESCENT */
	__u32 nr;
};
#define PASS_COMPLETE_BIT (1u << 31)

struct hftmon_file {
	bool reading;
	/* writer */
	int fd;
	unsigned char *buf;
	size_t len;
	size_t open_at; /* offset of the open RECORDS section, or SIZE_MAX */
	unsigned int open_cpu;
	__u32 *done; /* this pass's ring bounds (cpu | COMPLETE_BIT) */
	unsigned int nr_done, cap_done;
	uint64_t pass_ns;
	bool quiescent;
	int err;
	uint64_t records;
	/* reader */
	const unsigned char *map;
	size_t size;
	const struct hftmon_file_stats *stats; /* last STATS */
	size_t drain_off; /* next section hftmon_drain() reads */
	size_t drain_rec; /* next record inside it (0: its start) */
	bool ended;
	uint64_t end_ns; /* when the recording ended: hftmon_file_now_ns() */
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* ---- writer ------------------------------------------------------------ */

static void flush_buf(struct hftmon_file *f)
{
	size_t off = 0;

	while (!f->err && off < f->len) {
		ssize_t n = write(f->fd, f->buf + off, f->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			f->err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	f->len = 0;
}

/* Room for n more bytes in the buffer (flushing it), or false. */
static bool room(struct hftmon_file *f, size_t n)
{
	if (f->err || n > HFTMON_FILE_BUF)
		return false;
	if (f->len + n > HFTMON_FILE_BUF)
		flush_buf(f);
	return !f->err;
}

/* n bytes straight to the file, after what the buffer holds. */
static void write_all(struct hftmon_file *f, const void *p, size_t n)
{
	const unsigned char *c = p;

	flush_buf(f);
	while (!f->err && n) {
		ssize_t w = write(f->fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->err = w < 0 ? -errno : -EIO;
			break;
		}
		c += w;
		n -= (size_t)w;
	}
}

/* A whole section from two pieces, padded to 8. */
static void put_section(struct hftmon_file *f, __u32 type, const void *a,
			size_t alen, const void *b, size_t blen)
{
	static const unsigned char zeros[8];
	struct hftmon_file_section s = { .type = type, .len = alen + blen };
	size_t total = sizeof(s) + pad8(alen + blen);

	if (f->err)
		return;
	if (total > HFTMON_FILE_BUF) {
		/* Larger than the buffer (a big note): straight to the file. */
		write_all(f, &s, sizeof(s));
		write_all(f, a, alen);
		write_all(f, b, blen);
		write_all(f, zeros, total - sizeof(s) - alen - blen);
		return;
	}
	if (!room(f, total))
		return;
	memcpy(f->buf + f->len, &s, sizeof(s));
	if (alen)
		memcpy(f->buf + f->len + sizeof(s), a, alen);
	if (blen)
		memcpy(f->buf + f->len + sizeof(s) + alen, b, blen);
	memset(f->buf + f->len + sizeof(s) + alen + blen, 0,
	       total - sizeof(s) - alen - blen);
	f->len += total;
}

static void close_records(struct hftmon_file *f, bool cont)
{
	struct hftmon_file_section *s;
	struct hftmon_file_records *r;

	if (f->open_at == SIZE_MAX)
		return;
	s = (void *)(f->buf + f->open_at);
	r = (void *)(s + 1);
	s->len = f->len - f->open_at - sizeof(*s);
	if (cont)
		r->flags |= HFTMON_FILE_CONT;
	f->open_at = SIZE_MAX;
}

static void open_records(struct hftmon_file *f, unsigned int cpu)
{
	struct hftmon_file_section s = { .type = HFTMON_FILE_RECORDS };
	struct hftmon_file_records r = { .cpu = cpu };

	if (!room(f, sizeof(s) + sizeof(r)))
		return;
	f->open_at = f->len;
	f->open_cpu = cpu;
	memcpy(f->buf + f->len, &s, sizeof(s));
	memcpy(f->buf + f->len + sizeof(s), &r, sizeof(r));
	f->len += sizeof(s) + sizeof(r);
}

void hftmon_file_put(struct hftmon *m, unsigned int cpu,
		     const struct hftmon_rec_hdr *rec)
{
	struct hftmon_file *f = m->file;

	if (!f || f->reading || f->err)
		return;
	if (f->open_at != SIZE_MAX && f->open_cpu != cpu)
		close_records(f, false);
	if (f->open_at != SIZE_MAX &&
	    f->len + rec->size > HFTMON_FILE_BUF) {
		close_records(f, true);
		flush_buf(f);
	}
	if (f->open_at == SIZE_MAX)
		open_records(f, cpu);
	if (f->err || f->len + rec->size > HFTMON_FILE_BUF)
		return;
	memcpy(f->buf + f->len, rec, rec->size);
	f->len += rec->size;
	f->records++;
}

void hftmon_file_ring_done(struct hftmon *m, unsigned int cpu, bool complete,
			   uint64_t pass_ns, bool quiescent)
{
	struct hftmon_file *f = m->file;

	if (!f || f->reading || f->err)
		return;
	close_records(f, false);
	if (f->nr_done < f->cap_done)
		f->done[f->nr_done++] = cpu | (complete ? PASS_COMPLETE_BIT : 0);
	f->pass_ns = pass_ns;
	f->quiescent = quiescent;
}

void hftmon_file_pass_end(struct hftmon *m)
{
	struct hftmon_file *f = m->file;
	struct hftmon_file_pass p;

	if (!f || f->reading || f->err)
		return;
	close_records(f, false);
	if (f->nr_done) {
		p.pass_ns = f->pass_ns;
		p.flags = f->quiescent ? HFTMON_FILE_QUIESCENT : 0;
		p.nr = f->nr_done;
		put_section(f, HFTMON_FILE_PASS, &p, sizeof(p), f->done,
			    f->nr_done * sizeof(*f->done));
	}
	f->nr_done = 0;
	flush_buf(f);
}

void hftmon_file_started(struct hftmon *m)
{
	if (m->file && !m->file->reading) {
		put_section(m->file, HFTMON_FILE_START, NULL, 0, NULL, 0);
		flush_buf(m->file);
	}
}

static void put_threads(struct hftmon *m, pid_t pid)
{
	struct hftmon_file_threads h = { .pid = pid,
					 .thread_size =
						 sizeof(struct hftmon_file_thread) };
	struct hftmon_thread_info *ti = NULL;
	struct hftmon_file_thread *ft = NULL;
	int n = 0, i;

	for (;;) {
		int got = hftmon_get_thread_scheduling_info(m, pid, ti,
							    (size_t)n);

		if (got <= 0)
			goto out; /* gone: nothing to say */
		if (got <= n) {
			n = got;
			break;
		}
		free(ti);
		n = got + 8;
		ti = calloc((size_t)n, sizeof(*ti));
		if (!ti)
			goto out;
		ti[0].sz = sizeof(*ti);
	}
	ft = calloc((size_t)n, sizeof(*ft));
	if (!ft)
		goto out;
	for (i = 0; i < n; i++) {
		ft[i].pid = ti[i].pid;
		ft[i].tid = ti[i].tid;
		memcpy(ft[i].comm, ti[i].comm, sizeof(ft[i].comm));
		ft[i].policy = ti[i].policy;
		ft[i].rt_priority = ti[i].rt_priority;
		ft[i].nice = ti[i].nice;
		ft[i].cpu = ti[i].cpu;
		memcpy(ft[i].affinity, ti[i].affinity, sizeof(ft[i].affinity));
		ft[i].cpu_time_ns = ti[i].cpu_time_ns;
		ft[i].cpu_time_resolution_ns = ti[i].cpu_time_resolution_ns;
		ft[i].run_delay_ns = ti[i].run_delay_ns;
		ft[i].voluntary_switches = ti[i].voluntary_switches;
		ft[i].involuntary_switches = ti[i].involuntary_switches;
		ft[i].migrations = ti[i].migrations;
	}
	h.nr = (__u32)n;
	h.at_ns = clock_ns(CLOCK_MONOTONIC);
	put_section(m->file, HFTMON_FILE_THREADS, &h, sizeof(h), ft,
		    (size_t)n * sizeof(*ft));
out:
	free(ti);
	free(ft);
}

int hftmon_file_stopped(struct hftmon *m)
{
	struct hftmon_file *f = m->file;
	struct hftmon_file_stats st = { 0 };
	struct hftmon_stats ks = { .size = sizeof(ks) };
	unsigned int i;

	if (!f || f->reading)
		return 0;
	ks.nr_cpus = m->info.nr_cpu_ids;
	ks.cpus_ptr = (__u64)(uintptr_t)m->cpu_stats;
	ks.cpu_stats_size = sizeof(*m->cpu_stats);
	if (!f->err && hftmon_get_kstats(m, &ks) == 0) {
		st.start_ns = ks.start_ns;
		st.stop_ns = ks.stop_ns;
		st.nr_procs = ks.nr_procs;
		st.nr_cpus = ks.nr_cpus;
		st.cpu_stats_size = sizeof(struct hftmon_cpu_stats);
		put_section(f, HFTMON_FILE_STATS, &st, sizeof(st),
			    m->cpu_stats,
			    ks.nr_cpus * sizeof(struct hftmon_cpu_stats));
	}
	for (i = 0; i < m->nr_attached; i++)
		put_threads(m, m->attached[i]);
	/* And the children followed that still live (drained: agg_lock). */
	if (m->agg_ready) {
		hftmon_lock(m);
		for (i = 0; i < m->agg.nr_followed; i++)
			put_threads(m, m->agg.followed[i]);
		hftmon_unlock(m);
	}
	flush_buf(f);
	if (f->err)
		pr_err(m, "recording file: %s", strerror(-f->err));
	return f->err;
}

HFTMON_API int hftmon_record_to_file(struct hftmon *m, int fd)
{
	struct hftmon_file_header h = { .major = HFTMON_FILE_MAJOR,
					.minor = HFTMON_FILE_MINOR,
					.header_size = sizeof(h) };
	struct hftmon_file_config c = { 0 };
	struct hftmon_file *f;
	unsigned int i;

	if (!m || fd < 0)
		return -EINVAL;
	if (hftmon_file_reading(m))
		return -EBADF;
	if (!m->configured || m->running || m->thread_running) {
		pr_err(m, "record to a file: only configured and stopped");
		return m->configured ? -EBUSY : -EINVAL;
	}
	if (m->file)
		return -EEXIST;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->open_at = SIZE_MAX;
	f->buf = malloc(HFTMON_FILE_BUF);
	f->cap_done = m->nr_rings;
	f->done = calloc(m->nr_rings ? m->nr_rings : 1, sizeof(*f->done));
	if (!f->buf || !f->done) {
		free(f->buf);
		free(f->done);
		free(f);
		return -ENOMEM;
	}
	memcpy(h.magic, HFTMON_FILE_MAGIC, sizeof(h.magic));
	h.nr_rings = m->nr_rings;
	h.abi_version = m->info.abi_version;
	h.mono_ns = clock_ns(CLOCK_MONOTONIC);
	h.real_ns = clock_ns(CLOCK_REALTIME);
	snprintf(h.library, sizeof(h.library), "%s", HFTMON_VERSION_STRING);
	memcpy(f->buf, &h, sizeof(h));
	f->len = sizeof(h);
	put_section(f, HFTMON_FILE_INFO, &m->info, sizeof(m->info), NULL, 0);
	c.events = m->cfg.events;
	c.raw_only = m->cfg.raw_only;
	if (m->agg_ready) {
		c.history_switches = m->agg.switch_cap;
		c.history_wakeups = m->agg.wakeup_cap;
		c.max_threads = m->agg.max_threads;
		c.max_stacks = m->agg.max_stacks;
		c.reorder_records = m->agg.nr_nodes;
	}
	c.nr_pmu = m->nr_pmu;
	c.sampling_interval_us = m->cfg.sampling_interval_us;
	for (i = 0; i < m->nr_pmu && i < HFTMON_PMU_MAX_COUNTERS; i++) {
		c.pmu[i].type = m->pmu_type[i];
		c.pmu[i].config = m->pmu_config[i];
		c.pmu[i].status = m->pmu_status[i];
	}
	put_section(f, HFTMON_FILE_CONFIG, &c, sizeof(c), NULL, 0);
	flush_buf(f);
	if (f->err) {
		int err = f->err;

		pr_err(m, "recording file: %s", strerror(-err));
		free(f->buf);
		free(f->done);
		free(f);
		return err;
	}
	m->file = f;
	return 0;
}

HFTMON_API int hftmon_file_note(struct hftmon *m, const char *name,
				const void *data, size_t len)
{
	struct hftmon_file_note n = { 0 };
	struct hftmon_file *f;
	unsigned char *hdr;
	size_t nl;

	if (!m || !name || (!data && len))
		return -EINVAL;
	nl = strlen(name);
	if (!nl || nl > 255)
		return -EINVAL;
	f = m->file;
	if (!f || f->reading)
		return -EBADF;
	if (f->err)
		return f->err;
	n.name_len = (__u32)nl;
	n.data_len = len;
	/* The note header and the padded name, then the data. */
	hdr = calloc(1, sizeof(n) + pad8(nl));
	if (!hdr)
		return -ENOMEM;
	memcpy(hdr, &n, sizeof(n));
	memcpy(hdr + sizeof(n), name, nl);
	hftmon_lock(m);
	close_records(f, false);
	put_section(f, HFTMON_FILE_NOTE, hdr, sizeof(n) + pad8(nl), data, len);
	flush_buf(f);
	hftmon_unlock(m);
	free(hdr);
	return f->err;
}

void hftmon_file_close(struct hftmon *m)
{
	struct hftmon_file *f = m->file;

	if (!f)
		return;
	if (f->reading) {
		munmap((void *)f->map, f->size);
	} else {
		struct hftmon_file_end e = { .records = f->records,
					     .mono_ns = clock_ns(CLOCK_MONOTONIC) };

		close_records(f, false);
		put_section(f, HFTMON_FILE_END, &e, sizeof(e), NULL, 0);
		flush_buf(f);
		if (f->err)
			pr_err(m, "recording file: %s", strerror(-f->err));
		free(f->buf);
		free(f->done);
	}
	free(f);
	m->file = NULL;
}

/* ---- reader ------------------------------------------------------------- */

bool hftmon_file_reading(const struct hftmon *m)
{
	return m->file && m->file->reading;
}

uint64_t hftmon_file_now_ns(const struct hftmon *m)
{
	uint64_t now = m->file->end_ns;
	unsigned int i;

	/* Cut short (no STATS, no END): as far as its records reach. */
	if (m->agg_ready)
		for (i = 0; i < m->agg.nr_rings; i++)
			if (m->agg.rings[i].last_ns > now)
				now = m->agg.rings[i].last_ns;
	return now;
}

/* The section at off: its header and payload, or NULL past the end. */
static const struct hftmon_file_section *section_at(const struct hftmon_file *f,
						    size_t off)
{
	const struct hftmon_file_section *s;

	if (off + sizeof(*s) > f->size)
		return NULL;
	s = (const void *)(f->map + off);
	return s;
}

static size_t section_next(size_t off, const struct hftmon_file_section *s)
{
	return off + sizeof(*s) + pad8(s->len);
}

static int bad_file(struct hftmon *m, size_t off, const char *what)
{
	pr_err(m, "recording file: %s at byte %zu", what, off);
	return -EBADMSG;
}

/* Checks one RECORDS section's records and feeds them (feed: aggregator). */
static int walk_records(struct hftmon *m, size_t off,
			const struct hftmon_file_section *s, bool feed,
			__u64 *last_seq)
{
	const struct hftmon_file_records *r = (const void *)(s + 1);
	const unsigned char *p, *end;
	int err;

	if (s->len < sizeof(*r))
		return bad_file(m, off, "short RECORDS section");
	if (r->cpu >= m->nr_rings)
		return bad_file(m, off, "RECORDS of a CPU the file has no ring for");
	p = (const unsigned char *)(r + 1);
	end = (const unsigned char *)(s + 1) + s->len;
	while (p < end) {
		const struct hftmon_rec_hdr *rec = (const void *)p;

		if ((size_t)(end - p) < sizeof(*rec))
			return bad_file(m, off, "a record cut short");
		err = hftmon_record_check(rec, (size_t)(end - p));
		if (err == -EBADMSG)
			return bad_file(m, (size_t)(p - m->file->map),
					"a malformed record");
		if (feed) {
			if (err == -ENOMSG) {
				m->retired.unknown++;
			} else {
				if (rec->type != HFTMON_REC_PAD) {
					if (last_seq[r->cpu] &&
					    rec->seq > last_seq[r->cpu])
						m->retired.seq_gaps +=
							rec->seq -
							last_seq[r->cpu];
					last_seq[r->cpu] = rec->seq + 1;
					m->retired.delivered++;
				}
				if (m->agg_ready)
					hftmon_agg_record(&m->agg, r->cpu, rec);
			}
		}
		p += rec->size;
	}
	return 0;
}

static int read_config(struct hftmon *m, const struct hftmon_file_section *s,
		       size_t off)
{
	struct hftmon_file_config c = { 0 };
	struct hftmon_agg_sizes sz;
	unsigned int i;
	int err;

	memcpy(&c, s + 1, s->len < sizeof(c) ? s->len : sizeof(c));
	m->cfg.sz = sizeof(m->cfg);
	m->cfg.events = c.events;
	m->cfg.raw_only = c.raw_only != 0;
	if (c.raw_only)
		return 0;
	if (c.nr_pmu > HFTMON_PMU_MAX_COUNTERS)
		return bad_file(m, off, "more PMU counters than any session has");
	m->nr_pmu = c.nr_pmu;
	m->cfg.sampling_interval_us = c.sampling_interval_us;
	for (i = 0; i < c.nr_pmu; i++) {
		m->pmu_type[i] = c.pmu[i].type;
		m->pmu_config[i] = c.pmu[i].config;
		m->pmu_status[i] = c.pmu[i].status;
	}
	sz = (struct hftmon_agg_sizes){
		.history_switches = c.history_switches,
		.history_wakeups = c.history_wakeups,
		.max_threads = c.max_threads,
		.max_stacks = c.max_stacks,
		.reorder_records = c.reorder_records,
		.nr_pmu = m->nr_pmu,
		.pmu_status = m->pmu_status,
		.max_pmu_threads = HFTMON_MAX_PMU_THREADS,
		.history_pmu_slices = HFTMON_HISTORY_PMU_SLICES,
	};
	if (!sz.history_switches || !sz.history_wakeups || !sz.max_threads ||
	    !sz.max_stacks || !sz.reorder_records ||
	    sz.history_switches > (1u << 26) || sz.history_wakeups > (1u << 26) ||
	    sz.max_threads > (1u << 22) || sz.max_stacks > (1u << 22) ||
	    sz.reorder_records > (1u << 24))
		return bad_file(m, off, "impossible aggregator sizes");
	/* The histories of interruptions and spikes, as configure sized them. */
	hftmon_agg_sizes_of_events(&sz, c.events);
	err = hftmon_agg_setup(m, &sz);
	if (err)
		return err;
	m->agg_ready = true;
	return 0;
}

static int read_pass(struct hftmon *m, const struct hftmon_file_section *s,
		     size_t off)
{
	const struct hftmon_file_pass *p = (const void *)(s + 1);
	const __u32 *e = (const __u32 *)(p + 1);
	__u32 i;

	if (s->len < sizeof(*p) || (s->len - sizeof(*p)) / 4 < p->nr)
		return bad_file(m, off, "short PASS section");
	if (!m->agg_ready)
		return 0;
	for (i = 0; i < p->nr; i++) {
		unsigned int cpu = e[i] & ~PASS_COMPLETE_BIT;

		if (cpu >= m->nr_rings)
			return bad_file(m, off, "PASS of a CPU the file has no ring for");
		hftmon_agg_ring_done(&m->agg, cpu, e[i] & PASS_COMPLETE_BIT,
				     p->pass_ns,
				     p->flags & HFTMON_FILE_QUIESCENT);
	}
	hftmon_agg_flush(&m->agg);
	return 0;
}

/* Every section once: checked, and the aggregator fed. */
static int read_file(struct hftmon *m)
{
	struct hftmon_file *f = m->file;
	const struct hftmon_file_header *h = (const void *)f->map;
	__u64 *last_seq;
	bool have_config = false;
	size_t off;
	int err = 0;

	if (f->size < sizeof(*h) || memcmp(h->magic, HFTMON_FILE_MAGIC, 8))
		return bad_file(m, 0, "not an hftmon recording (no magic)");
	if (h->major != HFTMON_FILE_MAJOR) {
		pr_err(m, "recording file: format %u.%u, this library reads %u.x",
		       h->major, h->minor, HFTMON_FILE_MAJOR);
		return -EPROTONOSUPPORT;
	}
	if (h->header_size < sizeof(*h) || h->header_size % 8 ||
	    !h->nr_rings || h->nr_rings > HFTMON_MAX_CPUS)
		return bad_file(m, 0, "impossible file header");
	m->nr_rings = h->nr_rings;
	/* Rings that map nothing: the handle's loops over them find none. */
	m->rings = calloc(m->nr_rings, sizeof(*m->rings));
	last_seq = calloc(m->nr_rings, sizeof(*last_seq));
	if (!m->rings || !last_seq) {
		free(last_seq);
		return -ENOMEM;
	}
	for (off = h->header_size; off < f->size && !err;) {
		const struct hftmon_file_section *s = section_at(f, off);

		if (!s || s->len > f->size - off - sizeof(*s)) {
			pr_warn(m, "recording file: cut short at byte %zu (the recorder stopped writing)",
				off);
			f->size = off;
			break;
		}
		switch (s->type) {
		case HFTMON_FILE_INFO:
			memcpy(&m->info, s + 1,
			       s->len < sizeof(m->info) ? s->len :
							  sizeof(m->info));
			m->info.size = sizeof(m->info);
			break;
		case HFTMON_FILE_CONFIG:
			if (have_config) {
				err = bad_file(m, off, "a second CONFIG");
				break;
			}
			have_config = true;
			err = read_config(m, s, off);
			break;
		case HFTMON_FILE_RECORDS:
			if (!have_config)
				err = bad_file(m, off, "RECORDS before CONFIG");
			else
				err = walk_records(m, off, s, true, last_seq);
			break;
		case HFTMON_FILE_PASS:
			err = read_pass(m, s, off);
			break;
		case HFTMON_FILE_START:
			if (m->agg_ready)
				hftmon_agg_session_start(&m->agg);
			memset(last_seq, 0, m->nr_rings * sizeof(*last_seq));
			break;
		case HFTMON_FILE_STATS:
			if (s->len < sizeof(struct hftmon_file_stats))
				err = bad_file(m, off, "short STATS section");
			else
				f->stats = (const void *)(s + 1);
			if (f->stats && f->stats->stop_ns)
				f->end_ns = f->stats->stop_ns;
			break;
		case HFTMON_FILE_END:
			f->ended = true;
			if (s->len >= sizeof(struct hftmon_file_end) &&
			    !(f->stats && f->stats->stop_ns))
				f->end_ns = ((const struct hftmon_file_end *)
						     (s + 1))->mono_ns;
			break;
		default: /* THREADS and NOTE are read when asked for */
			break;
		}
		off = section_next(off, s);
	}
	free(last_seq);
	if (err)
		return err;
	if (!have_config)
		return bad_file(m, off, "no CONFIG section");
	if (!f->ended)
		pr_warn(m, "recording file: no END section: the recording was cut short");
	if (m->agg_ready) {
		unsigned int i;

		for (i = 0; i < m->nr_rings; i++)
			hftmon_agg_ring_done(&m->agg, i, true, UINT64_MAX, true);
		hftmon_agg_flush(&m->agg);
	}
	f->drain_off = h->header_size;
	return 0;
}

HFTMON_API int hftmon_open_file(const char *path,
				const struct hftmon_open_opts *opts,
				struct hftmon **out)
{
	struct hftmon_open_opts o;
	struct hftmon_file *f;
	struct hftmon *m;
	struct stat st;
	void *map;
	int fd, err;

	if (!out || !path)
		return -EINVAL;
	*out = NULL;
	err = HFTMON_COPY_OPTS(&o, opts, log_ctx);
	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	f = calloc(1, sizeof(*f));
	if (!m || !f) {
		free(m);
		free(f);
		return -ENOMEM;
	}
	m->log = o.log;
	m->log_ctx = o.log_ctx;
	m->fd = -1;
	m->wake_fd = -1;
	f->reading = true;
	f->fd = -1;
	m->file = f;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err(m, "open %s: %s", path, strerror(-err));
		goto err_free;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
		err = fstat(fd, &st) ? -errno : -EBADMSG;
		pr_err(m, "%s: not a recording file", path);
		close(fd);
		goto err_free;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}
	f->map = map;
	f->size = (size_t)st.st_size;
	err = -pthread_mutex_init(&m->agg_lock, NULL);
	if (err)
		goto err_unmap;
	err = read_file(m);
	if (err)
		goto err_agg;
	m->cpu_stats = calloc(m->nr_rings, sizeof(*m->cpu_stats));
	if (!m->cpu_stats) {
		err = -ENOMEM;
		goto err_agg;
	}
	m->configured = true;
	*out = m;
	return 0;

err_agg:
	if (m->agg_ready)
		hftmon_agg_fini(&m->agg);
	free(m->lat_buf);
	free(m->rings);
	pthread_mutex_destroy(&m->agg_lock);
err_unmap:
	munmap(map, f->size);
err_free:
	free(f);
	free(m);
	return err;
}

int hftmon_file_drain(struct hftmon *m, hftmon_record_fn fn, void *ctx)
{
	struct hftmon_file *f = m->file;
	int n = 0;

	while (f->drain_off < f->size) {
		const struct hftmon_file_section *s = section_at(f, f->drain_off);
		const unsigned char *p, *end;

		if (s->type != HFTMON_FILE_RECORDS) {
			f->drain_off = section_next(f->drain_off, s);
			continue;
		}
		p = (const unsigned char *)(s + 1) +
		    sizeof(struct hftmon_file_records);
		end = (const unsigned char *)(s + 1) + s->len;
		p += f->drain_rec;
		while (p < end) {
			const struct hftmon_rec_hdr *rec = (const void *)p;
			int stop;

			p += rec->size;
			f->drain_rec = (size_t)(p - (const unsigned char *)(s + 1)) -
				       sizeof(struct hftmon_file_records);
			if (rec->type == HFTMON_REC_PAD ||
			    hftmon_record_check(rec, rec->size))
				continue;
			n++;
			stop = fn(ctx, rec);
			if (stop)
				return n;
			if (n == INT32_MAX)
				return n;
		}
		f->drain_rec = 0;
		f->drain_off = section_next(f->drain_off, s);
	}
	return n;
}

int hftmon_file_kstats(struct hftmon *m, struct hftmon_stats *ks)
{
	const struct hftmon_file_stats *st = m->file->stats;
	size_t n;

	ks->nr_cpus = 0;
	ks->running = 0;
	if (!st)
		return 0; /* no stop was recorded: the counters are unknown */
	ks->start_ns = st->start_ns;
	ks->stop_ns = st->stop_ns;
	ks->nr_procs = st->nr_procs;
	n = st->nr_cpus < m->nr_rings ? st->nr_cpus : m->nr_rings;
	if (st->cpu_stats_size < sizeof(struct hftmon_cpu_stats) ||
	    (size_t)(m->file->map + m->file->size -
		     (const unsigned char *)(st + 1)) <
		    n * st->cpu_stats_size)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		memcpy(&m->cpu_stats[i],
		       (const unsigned char *)(st + 1) + i * st->cpu_stats_size,
		       sizeof(struct hftmon_cpu_stats));
	ks->nr_cpus = (__u32)n;
	return 0;
}

int hftmon_file_threads(struct hftmon *m, pid_t pid,
			struct hftmon_thread_info *out, size_t max)
{
	const struct hftmon_file *f = m->file;
	const struct hftmon_file_threads *found = NULL;
	const struct hftmon_file_header *h = (const void *)f->map;
	size_t off, stride = max ? out->sz : 0, i;

	for (off = h->header_size; off < f->size;) {
		const struct hftmon_file_section *s = section_at(f, off);
		const struct hftmon_file_threads *t = (const void *)(s + 1);

		if (s->type == HFTMON_FILE_THREADS && s->len >= sizeof(*t) &&
		    t->pid == pid && t->thread_size >= sizeof(struct hftmon_file_thread) &&
		    (s->len - sizeof(*t)) / t->thread_size >= t->nr)
			found = t; /* the last stop's */
		off = section_next(off, s);
	}
	if (!found)
		return -ESRCH;
	for (i = 0; i < found->nr && i < max; i++) {
		const struct hftmon_file_thread *ft =
			(const void *)((const unsigned char *)(found + 1) +
				       i * found->thread_size);
		struct hftmon_thread_info t = { .sz = sizeof(t) };
		struct hftmon_thread_info *o =
			(void *)((unsigned char *)out + i * stride);

		t.pid = ft->pid;
		t.tid = ft->tid;
		memcpy(t.comm, ft->comm, sizeof(t.comm));
		t.policy = ft->policy;
		t.rt_priority = ft->rt_priority;
		t.nice = ft->nice;
		t.cpu = ft->cpu;
		memcpy(t.affinity, ft->affinity, sizeof(t.affinity));
		t.cpu_time_ns = ft->cpu_time_ns;
		t.cpu_time_resolution_ns = ft->cpu_time_resolution_ns;
		t.run_delay_ns = ft->run_delay_ns;
		t.voluntary_switches = ft->voluntary_switches;
		t.involuntary_switches = ft->involuntary_switches;
		t.migrations = ft->migrations;
		o->sz = stride;
		hftmon_copy_out(o, stride, &t, sizeof(t));
	}
	return (int)found->nr;
}

HFTMON_API int hftmon_file_get_note(struct hftmon *m, const char *name,
				    const void **data, size_t *len)
{
	const struct hftmon_file_header *h;
	const struct hftmon_file *f;
	size_t off, nl;
	int found = -ENOENT;

	if (!m || !name || !data || !len)
		return -EINVAL;
	if (!hftmon_file_reading(m))
		return -EBADF;
	f = m->file;
	h = (const void *)f->map;
	nl = strlen(name);
	for (off = h->header_size; off < f->size;) {
		const struct hftmon_file_section *s = section_at(f, off);
		const struct hftmon_file_note *n = (const void *)(s + 1);

		if (s->type == HFTMON_FILE_NOTE && s->len >= sizeof(*n) &&
		    n->name_len == nl &&
		    s->len - sizeof(*n) >= pad8(nl) &&
		    s->len - sizeof(*n) - pad8(nl) >= n->data_len &&
		    !memcmp(n + 1, name, nl)) {
			*data = (const unsigned char *)(n + 1) + pad8(nl);
			*len = n->data_len;
			found = 0; /* the last one wins */
		}
		off = section_next(off, s);
	}
	return found;
}

HFTMON_API int hftmon_file_info(struct hftmon *m, struct hftmon_file_info *fi)
{
	struct hftmon_file_info o = { .sz = sizeof(o) };
	const struct hftmon_file_header *h;

	if (!m || !fi || !HFTMON_OUT_OK(fi))
		return -EINVAL;
	if (!hftmon_file_reading(m))
		return -EBADF;
	h = (const void *)m->file->map;
	o.major = h->major;
	o.minor = h->minor;
	o.nr_cpus = h->nr_rings;
	o.mono_ns = h->mono_ns;
	o.real_ns = h->real_ns;
	memcpy(o.library, h->library, sizeof(h->library));
	o.library[sizeof(o.library) - 1] = '\0';
	o.complete = m->file->ended;
	o.have_stats = m->file->stats != NULL;
	hftmon_copy_out(fi, fi->sz, &o, sizeof(o));
	return 0;
}
