// SPDX-License-Identifier: GPL-2.0
/*
 * The probes' core: the table of source families (kmod/probes/) and
 * everything derived from it. When the module loads, every family's
 * tracepoints are found by name with for_each_kernel_tracepoint() (they
 * are not exported one by one), and from which of them exist follow the
 * HFTMON_EV_* events a session may select, the HFTMON_FEAT_* features and
 * each source's status that GET_INFO reports. A session's start hooks,
 * with tracepoint_probe_register(), every tracepoint its events need
 * that is not hooked yet; they then stay hooked until the module
 * unloads: hooking a tracepoint patches kernel text, which IPIs every
 * CPU (isolated trading cores included) and, under TCG, has been seen to
 * wedge a vCPU. A loaded module that never started costs nothing;
 * between sessions a probe costs one pointer load (hftmon_session_for()).
 */
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "hftmon_probe.h"

struct hftmon_session __rcu *hftmon_active;
static DEFINE_MUTEX(hftmon_probes_lock);	/* hftmon_active, ->hooked */

#define HFTMON_FAMILY(name) &hftmon_family_##name,
struct hftmon_family *const hftmon_families[] = {
#include "probes/families.h"
};
#undef HFTMON_FAMILY
const unsigned int hftmon_nr_families = ARRAY_SIZE(hftmon_families);

/* What this kernel offers, derived once at load (hftmon_probes_init()). */
static struct hftmon_avail hftmon_avail;

/*
 * The rules a family table must follow; a table that breaks one is a bug
 * in this module, refused at load (and caught by KUnit before that).
 * srcs and events collect what earlier families took.
 */
static int hftmon_family_check(const struct hftmon_family *f, u64 *srcs,
			       u64 *events)
{
	const struct hftmon_source_desc *d;
	u64 used = 0;

	if (!f->nr_tps || f->nr_tps > 32 || !f->nr_sources)
		goto bad;
	for (d = f->sources; d < f->sources + f->nr_sources; d++) {
		if (d->src >= HFTMON_SRC_NR || *srcs & BIT_ULL(d->src) ||
		    hweight64(d->feature) != 1 || hweight64(d->event) > 1 ||
		    *events & d->event || (d->event && !d->tps) ||
		    d->tps & ~GENMASK(f->nr_tps - 1, 0))
			goto bad;
		*srcs |= BIT_ULL(d->src);
		*events |= d->event;
		if (d->event)
			used |= d->tps;
	}
	/* A tracepoint no event selects would never be hooked. */
	if (used != GENMASK(f->nr_tps - 1, 0))
		goto bad;
	return 0;
bad:
	pr_err("hftmon: source family %s: broken table\n", f->name);
	return -EINVAL;
}

int hftmon_families_check(struct hftmon_family *const *fams, unsigned int nr)
{
	u64 srcs = 0, events = 0;
	unsigned int i;
	int err = 0;

	BUILD_BUG_ON(HFTMON_SRC_NR > 64);
	for (i = 0; i < nr && !err; i++)
		err = hftmon_family_check(fams[i], &srcs, &events);
	return err;
}

/* Each tracepoint learns the events of the sources that need it. */
static void hftmon_family_link(struct hftmon_family *f)
{
	const struct hftmon_source_desc *d;
	unsigned int t;

	for (t = 0; t < f->nr_tps; t++)
		f->tps[t].events = 0;
	for (d = f->sources; d < f->sources + f->nr_sources; d++)
		for (t = 0; t < f->nr_tps; t++)
			if (d->tps & BIT(t))
				f->tps[t].events |= d->event;
}

/* A source works when every tracepoint it needs exists. */
static bool hftmon_source_found(const struct hftmon_family *f,
				const struct hftmon_source_desc *d)
{
	unsigned int t;

	for (t = 0; t < f->nr_tps; t++)
		if (d->tps & BIT(t) && !f->tps[t].tp)
			return false;
	return true;
}

/*
 * Availability, from the tables and which tracepoints were found: a
 * source works when every tracepoint it needs exists (else -ENOENT) and
 * its build does not rule it out (its unsupported errno); a
 * source no family describes is not implemented (-ENOSYS). An event or
 * feature is offered when every source carrying it works.
 */
void hftmon_avail_derive(struct hftmon_family *const *fams, unsigned int nr,
			 struct hftmon_avail *a)
{
	u64 events = 0, features = 0, no_events = 0, no_features = 0;
	const struct hftmon_source_desc *d;
	unsigned int i;
	bool ok;

	for (i = 0; i < HFTMON_SRC_NR; i++)
		a->status[i] = -ENOSYS;
	for (i = 0; i < nr; i++) {
		for (d = fams[i]->sources;
		     d < fams[i]->sources + fams[i]->nr_sources; d++) {
			ok = !d->unsupported && hftmon_source_found(fams[i], d);
			a->status[d->src] = d->unsupported ?: (ok ? 0 : -ENOENT);
			events |= d->event;
			features |= d->feature;
			if (!ok) {
				no_events |= d->event;
				no_features |= d->feature;
			}
		}
	}
	a->known_events = events;
	a->events = events & ~no_events;
	a->features = features & ~no_features;
}

static void hftmon_find_tp(struct tracepoint *tp, void *priv)
{
	struct hftmon_family *const *fams = priv;
	struct hftmon_tracepoint *t;
	unsigned int i;

	for (i = 0; i < hftmon_nr_families; i++)
		for (t = fams[i]->tps; t < fams[i]->tps + fams[i]->nr_tps; t++)
			if (!t->tp && !strcmp(tp->name, t->name))
				t->tp = tp;
}

/*
 * Find the tracepoints and derive what they offer. Also called by the
 * KUnit suites, which run before the module's init: calling it twice
 * changes nothing.
 */
int hftmon_probes_init(void)
{
	int err = hftmon_families_check(hftmon_families, hftmon_nr_families);
	unsigned int i;

	if (err)
		return err;
	for (i = 0; i < hftmon_nr_families; i++)
		hftmon_family_link(hftmon_families[i]);
	for_each_kernel_tracepoint(hftmon_find_tp, (void *)hftmon_families);
	hftmon_avail_derive(hftmon_families, hftmon_nr_families, &hftmon_avail);
	return 0;
}

/* Every HFTMON_EV_* bit some source describes, available or not. */
u64 hftmon_probes_known_events(void)
{
	return hftmon_avail.known_events;
}

u64 hftmon_probes_available_events(void)
{
	return hftmon_avail.events;
}

u64 hftmon_probes_features(void)
{
	return hftmon_avail.features;
}

void hftmon_probes_source_status(s32 *status, unsigned int nr)
{
	memcpy(status, hftmon_avail.status,
	       min_t(unsigned int, nr, HFTMON_SRC_NR) * sizeof(*status));
}

/* Hooks every tracepoint events needs that is not hooked yet. */
static int hftmon_probes_hook(u64 events)
{
	struct hftmon_tracepoint *t;
	unsigned int i;
	int err;

	lockdep_assert_held(&hftmon_probes_lock);
	for (i = 0; i < hftmon_nr_families; i++) {
		for (t = hftmon_families[i]->tps;
		     t < hftmon_families[i]->tps + hftmon_families[i]->nr_tps;
		     t++) {
			if (!(events & t->events) || t->hooked)
				continue;
			if (!t->tp)
				return -ENOENT;
			/* The entry is the probe's data: its events, see hftmon_session_for(). */
			err = tracepoint_probe_register(t->tp, t->probe, t);
			if (err)
				return err;
			t->hooked = true;
		}
	}
	return 0;
}

/* Families' per-session state; on an error, the started ones are stopped. */
static int hftmon_families_start(struct hftmon_session *s)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < hftmon_nr_families && !err; i++)
		if (hftmon_families[i]->start)
			err = hftmon_families[i]->start(s);
	if (err)
		while (i-- > 0)
			if (hftmon_families[i]->stop)
				hftmon_families[i]->stop(s);
	return err;
}

static void hftmon_families_stop(struct hftmon_session *s)
{
	unsigned int i;

	for (i = 0; i < hftmon_nr_families; i++)
		if (hftmon_families[i]->stop)
			hftmon_families[i]->stop(s);
}

/* The session's events start now, every one of them at once. */
int hftmon_probes_activate(struct hftmon_session *s)
{
	int err = 0;

	mutex_lock(&hftmon_probes_lock);
	if (rcu_access_pointer(hftmon_active))
		err = -EBUSY;
	else
		err = hftmon_probes_hook(s->events);
	if (!err) {
		s->start_ns = ktime_get_mono_fast_ns();
		s->stop_ns = 0;
		err = hftmon_families_start(s);
	}
	if (!err)
		rcu_assign_pointer(hftmon_active, s);
	mutex_unlock(&hftmon_probes_lock);
	return err;
}

void hftmon_probes_tracked_changed(struct hftmon_session *s)
{
	unsigned int i;

	lockdep_assert_held(&s->lock);
	for (i = 0; i < hftmon_nr_families; i++)
		if (hftmon_families[i]->tracked_changed)
			hftmon_families[i]->tracked_changed(s);
}

/* The session's events end now; no probe uses it once this returns. */
void hftmon_probes_deactivate(struct hftmon_session *s)
{
	mutex_lock(&hftmon_probes_lock);
	if (rcu_access_pointer(hftmon_active) == s) {
		RCU_INIT_POINTER(hftmon_active, NULL);
		s->stop_ns = ktime_get_mono_fast_ns();
		tracepoint_synchronize_unregister();
		hftmon_families_stop(s);
	}
	mutex_unlock(&hftmon_probes_lock);
}

/* Module exit: unhook everything. */
void hftmon_probes_exit(void)
{
	struct hftmon_tracepoint *t;
	unsigned int i;

	mutex_lock(&hftmon_probes_lock);
	for (i = 0; i < hftmon_nr_families; i++) {
		for (t = hftmon_families[i]->tps;
		     t < hftmon_families[i]->tps + hftmon_families[i]->nr_tps;
		     t++) {
			if (!t->hooked)
				continue;
			WARN_ON_ONCE(tracepoint_probe_unregister(t->tp, t->probe,
								 t));
			t->hooked = false;
		}
	}
	tracepoint_synchronize_unregister();
	for (i = 0; i < hftmon_nr_families; i++)
		if (hftmon_families[i]->exit)
			hftmon_families[i]->exit();
	mutex_unlock(&hftmon_probes_lock);
}
