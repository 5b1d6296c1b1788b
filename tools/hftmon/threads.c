// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Fixed-size per-thread table (see threads.h). Linear probing over twice
 * as many slots as threads keeps probes short; nothing is ever removed,
 * so no tombstones are needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "threads.h"

int hftmon_threads_init(struct hftmon_thread_table *t, unsigned int max_threads)
{
	unsigned int nr_slots = 2;

	memset(t, 0, sizeof(*t));
	if (!max_threads)
		max_threads = 1;
	if (max_threads > (1u << 24))
		return -EINVAL;
	while (nr_slots < 2 * max_threads)
		nr_slots *= 2;
	t->slots = calloc(nr_slots, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->nr_slots = nr_slots;
	t->capacity = max_threads;
	return 0;
}

void hftmon_threads_fini(struct hftmon_thread_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static unsigned int tid_hash(__s32 tid, unsigned int nr_slots)
{
	return ((__u32)tid * 0x9e3779b1u) & (nr_slots - 1);
}

struct hftmon_thread_stats *hftmon_threads_get(struct hftmon_thread_table *t,
					       __s32 pid, __s32 tid)
{
	unsigned int i;

	if (tid <= 0)
		return NULL;
	for (i = tid_hash(tid, t->nr_slots);; i = (i + 1) & (t->nr_slots - 1)) {
		struct hftmon_thread_stats *s = &t->slots[i];

		if (s->tid == tid)
			return s;
		if (s->tid)
			continue;
		/* Free slot: tid is not in the table. */
		if (t->nr >= t->capacity) {
			t->overflow_records++;
			return NULL;
		}
		t->nr++;
		s->tid = tid;
		s->pid = pid;
		return s;
	}
}

/* The usual case, inline in the accounting loop: tid in its home slot. */
static inline __attribute__((always_inline)) struct hftmon_thread_stats *
threads_get_fast(struct hftmon_thread_table *t, __s32 pid, __s32 tid)
{
	struct hftmon_thread_stats *s = &t->slots[tid_hash(tid, t->nr_slots)];

	if (__builtin_expect(s->tid == tid && tid > 0, 1))
		return s;
	return hftmon_threads_get(t, pid, tid);
}

static void set_comm(struct hftmon_thread_stats *s, const char *comm)
{
	memcpy(s->comm, comm, sizeof(s->comm));
	s->comm[sizeof(s->comm) - 1] = '\0';
}

void hftmon_threads_account(struct hftmon_thread_table *t,
			    const struct hftmon_rec_hdr *rec)
{
	struct hftmon_thread_stats *s;

	switch (rec->type) {
	case HFTMON_REC_SWITCH: {
		const struct hftmon_rec_switch *sw = (const void *)rec;

		if (rec->flags & HFTMON_SWITCH_PREV_TRACKED) {
			s = threads_get_fast(t, rec->pid, rec->tid);
			if (s) {
				if (rec->flags & HFTMON_SWITCH_VOLUNTARY)
					s->switch_out_voluntary++;
				else
					s->switch_out_involuntary++;
				set_comm(s, sw->prev_comm);
			}
		}
		if (rec->flags & HFTMON_SWITCH_NEXT_TRACKED) {
			s = threads_get_fast(t, sw->next_pid, sw->next_tid);
			if (s) {
				s->switch_in++;
				set_comm(s, sw->next_comm);
			}
		}
		break;
	}
	case HFTMON_REC_WAKEUP:
		s = threads_get_fast(t, rec->pid, rec->tid);
		if (s)
			s->wakeups++;
		break;
	case HFTMON_REC_MIGRATE:
		s = threads_get_fast(t, rec->pid, rec->tid);
		if (s)
			s->migrations++;
		break;
	case HFTMON_REC_EXIT:
		s = threads_get_fast(t, rec->pid, rec->tid);
		if (s) {
			s->exited = true;
			set_comm(s,
				 ((const struct hftmon_rec_exit *)rec)->comm);
		}
		break;
	default:
		break;
	}
}

static int cmp_thread(const void *a, const void *b)
{
	const struct hftmon_thread_stats *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return 0;
}

unsigned int hftmon_threads_sort(struct hftmon_thread_table *t)
{
	unsigned int i, n = 0;

	for (i = 0; i < t->nr_slots; i++)
		if (t->slots[i].tid)
			t->slots[n++] = t->slots[i];
	memset(&t->slots[n], 0, (t->nr_slots - n) * sizeof(*t->slots));
	qsort(t->slots, n, sizeof(*t->slots), cmp_thread);
	return n;
}
