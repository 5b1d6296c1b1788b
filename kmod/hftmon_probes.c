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

/* Every source of every family: f and d are the cursor, i the index. */
#define hftmon_for_each_source(f, d, fams, nr, i)			\
	for ((i) = 0; (i) < (nr); (i)++)				\
		for ((f) = (fams)[i], (d) = (f)->sources;		\
		     (d) < (f)->sources + (f)->nr_sources; (d)++)

/*
 * The rules a family table must follow; a table that breaks one is a bug
 * in this module, refused at load (and caught by KUnit before that).
 */
int hftmon_families_check(struct hftmon_family *const *fams, unsigned int nr)
{
	u64 srcs = 0, events = 0, used;
	const struct hftmon_source_desc *d;
	const struct hftmon_family *f;
	unsigned int i;

	BUILD_BUG_ON(HFTMON_SRC_NR > 64);
	for (i = 0; i < nr; i++) {
		f = fams[i];
		if (!f->nr_tps || f->nr_tps > 32 || !f->nr_sources) {
			pr_err("hftmon: family %s: bad table size\n", f->name);
			return -EINVAL;
		}
	}
	hftmon_for_each_source(f, d, fams, nr, i) {
		if (d->src >= HFTMON_SRC_NR || srcs & BIT_ULL(d->src) ||
		    hweight64(d->feature) != 1 || hweight64(d->event) > 1 ||
		    events & d->event || !d->tps ||
		    d->tps & ~GENMASK(f->nr_tps - 1, 0)) {
			pr_err("hftmon: family %s: bad source %u\n", f->name,
			       d->src);
			return -EINVAL;
		}
		srcs |= BIT_ULL(d->src);
		events |= d->event;
	}
	for (i = 0; i < nr; i++) {
		f = fams[i];
		used = 0;
		for (d = f->sources; d < f->sources + f->nr_sources; d++)
			if (d->event)
				used |= d->tps;
		/* A tracepoint no event selects would never be hooked. */
		if (used != GENMASK(f->nr_tps - 1, 0)) {
			pr_err("hftmon: family %s: a tracepoint no event uses\n",
			       f->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* Each tracepoint learns the events of the sources that need it. */
static void hftmon_families_link(struct hftmon_family *const *fams,
				 unsigned int nr)
{
	const struct hftmon_source_desc *d;
	const struct hftmon_family *f;
	unsigned int i, t;

	for (i = 0; i < nr; i++)
		for (t = 0; t < fams[i]->nr_tps; t++)
			fams[i]->tps[t].events = 0;
	hftmon_for_each_source(f, d, fams, nr, i)
		for (t = 0; t < f->nr_tps; t++)
			if (d->tps & BIT(t))
				f->tps[t].events |= d->event;
}

/*
 * Availability, from the tables and which tracepoints were found: a
 * source works when every tracepoint it needs exists (else -ENOENT); a
 * source no family describes is not implemented (-ENOSYS). An event or
 * feature is offered when every source carrying it works.
 */
void hftmon_avail_derive(struct hftmon_family *const *fams, unsigned int nr,
			 struct hftmon_avail *a)
{
	u64 events = 0, features = 0, no_events = 0, no_features = 0;
	const struct hftmon_source_desc *d;
	const struct hftmon_family *f;
	unsigned int i, t;
	bool ok;

	for (i = 0; i < HFTMON_SRC_NR; i++)
		a->status[i] = -ENOSYS;
	hftmon_for_each_source(f, d, fams, nr, i) {
		ok = true;
		for (t = 0; t < f->nr_tps; t++)
			if (d->tps & BIT(t) && !f->tps[t].tp)
				ok = false;
		a->status[d->src] = ok ? 0 : -ENOENT;
		events |= d->event;
		features |= d->feature;
		if (!ok) {
			no_events |= d->event;
			no_features |= d->feature;
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

	if (err)
		return err;
	hftmon_families_link(hftmon_families, hftmon_nr_families);
	for_each_kernel_tracepoint(hftmon_find_tp, (void *)hftmon_families);
	hftmon_avail_derive(hftmon_families, hftmon_nr_families, &hftmon_avail);
	return 0;
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
		rcu_assign_pointer(hftmon_active, s);
	}
	mutex_unlock(&hftmon_probes_lock);
	return err;
}

/* The session's events end now; no probe uses it once this returns. */
void hftmon_probes_deactivate(struct hftmon_session *s)
{
	mutex_lock(&hftmon_probes_lock);
	if (rcu_access_pointer(hftmon_active) == s) {
		RCU_INIT_POINTER(hftmon_active, NULL);
		s->stop_ns = ktime_get_mono_fast_ns();
		tracepoint_synchronize_unregister();
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
	mutex_unlock(&hftmon_probes_lock);
}
