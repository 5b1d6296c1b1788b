/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixtures the KUnit suites share (hftmon_kunit*.c), defined once in
 * hftmon_kunit_fixture.c: the caches and tracepoint tables the suites
 * take before the module's init has run, a one-CPU ring and a session
 * with a ring per CPU (each freed by the matching .exit), records written
 * the way a probe writes them, a tracepoint's table entry by name, and a
 * kthread that only sleeps.
 */
#ifndef HFTMON_KUNIT_H
#define HFTMON_KUNIT_H

#include <kunit/test.h>

#include "hftmon_probe.h"

/* suite_init/suite_exit: the caches; probes_init also the tracepoints. */
int hftmon_kt_caches_init(struct kunit_suite *suite);
void hftmon_kt_caches_exit(struct kunit_suite *suite);
int hftmon_kt_probes_init(struct kunit_suite *suite);

/* A ring of pages data pages on this CPU; .exit = hftmon_kt_ring_exit. */
struct hftmon_ring *hftmon_kt_ring_new(struct kunit *test, unsigned int pages);
void hftmon_kt_ring_exit(struct kunit *test);
/* The ring's published head, as the reader loads it. */
u64 hftmon_kt_head(struct hftmon_ring *rb);
/*
 * One WAKEUP record of size bytes on this CPU, subject tid, its body
 * filled with 0xa5 (so that a record placed over an unread one shows);
 * false if it was lost.
 */
bool hftmon_kt_put(struct hftmon_ring *rb, u32 size, s32 tid);

/*
 * The table entry of a tracepoint: the data it is hooked with, and so
 * what the tests pass to the very functions the tracepoints call.
 */
struct hftmon_tracepoint *hftmon_kt_tp(struct kunit *test, const char *name);

/*
 * A session recording every sched event, a one-page ring per CPU, four
 * tracked processes at most, a 64-entry stack table, naming tasks in the
 * init pid namespace, made the active one (no probe is hooked while the
 * suites run: the session is the tests'); .exit = hftmon_kt_session_exit.
 */
struct hftmon_session *hftmon_kt_session_new(struct kunit *test,
					     bool privileged);
void hftmon_kt_session_exit(struct kunit *test);

/* A kthread body that sleeps until it is stopped (10 ms timer sleeps). */
int hftmon_kt_idle_fn(void *arg);

#endif /* HFTMON_KUNIT_H */
