// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * PMU events by name (HFTMON_2.3): hftmon_pmu_event_parse() turns a name
 * as perf and libpfm4 spell it ("instructions", "PERF_COUNT_SW_PAGE_FAULTS",
 * "MEM_LOAD_L3_MISS_RETIRED:REMOTE_DRAM", "icx::MACHINE_CLEARS:MEMORY_ORDERING")
 * into the perf_event_attr type and config of a struct hftmon_pmu_counter,
 * the vendor's encoding coming from libpfm4's tables for the PMUs this
 * machine has (a raw event is PERF_TYPE_RAW with the event and umask in
 * config). The module stays vendor-neutral: it takes (type, config) only.
 * hftmon_pmu_list() (HFTMON_2.4) lists the core PMUs libpfm4 finds here
 * and their events, for hftmon info.
 *
 * libpfm4 (Debian's libpfm4) is loaded at the first call with dlopen()
 * rather than linked: a program that never names an event carries no
 * dependency on it, nor do the VM tests' static programs, and where it is
 * not installed the call says so (-EOPNOTSUPP) instead of the program not
 * starting. Its headers give the types; the functions used are looked
 * up by name. libpfm4's initialisation is not thread-safe and
 * reads LIBPFM_FORCE_PMU (which PMU tables count as this machine's) once:
 * it runs under a mutex, once per process, or again after
 * hftmon_pfm_reset() (the tests force one PMU model after another).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <perfmon/pfmlib_perf_event.h>

#include "handle.h"

static struct {
	pthread_mutex_t lock;
	bool tried;		/* dlopen() and pfm_initialize() were tried */
	int err;		/* their outcome: 0 or -errno */
	char why[160];		/* what failed, for the log */
	void *dl;
	__typeof__(pfm_initialize) *initialize;
	__typeof__(pfm_terminate) *terminate;
	__typeof__(pfm_get_os_event_encoding) *encode;
	__typeof__(pfm_strerror) *strerror;
	__typeof__(pfm_get_pmu_info) *pmu_info;
	__typeof__(pfm_get_event_info) *event_info;
	__typeof__(pfm_get_event_next) *event_next;
} pfm = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Loads and initialises libpfm4 once; pfm.lock held. 0 or -errno. */
static int pfm_load(void)
{
	int r;

	if (pfm.tried)
		return pfm.err;
	pfm.tried = true;
	if (!pfm.dl)
		pfm.dl = dlopen("libpfm.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!pfm.dl) {
		snprintf(pfm.why, sizeof(pfm.why),
			 "libpfm4 is not installed (libpfm.so.4: %s): install Debian's libpfm4",
			 dlerror());
		return pfm.err = -EOPNOTSUPP;
	}
	pfm.initialize = (__typeof__(pfm.initialize))dlsym(pfm.dl,
							   "pfm_initialize");
	pfm.terminate = (__typeof__(pfm.terminate))dlsym(pfm.dl,
							 "pfm_terminate");
	pfm.encode = (__typeof__(pfm.encode))dlsym(pfm.dl,
						   "pfm_get_os_event_encoding");
	pfm.strerror = (__typeof__(pfm.strerror))dlsym(pfm.dl, "pfm_strerror");
	pfm.pmu_info = (__typeof__(pfm.pmu_info))dlsym(pfm.dl,
						       "pfm_get_pmu_info");
	pfm.event_info = (__typeof__(pfm.event_info))dlsym(pfm.dl,
							   "pfm_get_event_info");
	pfm.event_next = (__typeof__(pfm.event_next))dlsym(pfm.dl,
							   "pfm_get_event_next");
	if (!pfm.initialize || !pfm.terminate || !pfm.encode ||
	    !pfm.strerror || !pfm.pmu_info || !pfm.event_info ||
	    !pfm.event_next) {
		snprintf(pfm.why, sizeof(pfm.why),
			 "libpfm.so.4 lacks the libpfm4 functions hftmon uses");
		return pfm.err = -EOPNOTSUPP;
	}
	r = pfm.initialize();
	if (r != PFM_SUCCESS) {
		snprintf(pfm.why, sizeof(pfm.why), "libpfm4: %s",
			 pfm.strerror(r));
		return pfm.err = -EOPNOTSUPP;
	}
	return pfm.err = 0;
}

void hftmon_pfm_reset(void)
{
	pthread_mutex_lock(&pfm.lock);
	if (pfm.tried && !pfm.err)
		pfm.terminate();
	/*
	 * And unloaded: pfm_terminate() leaves the PMUs it activated active,
	 * so a model forced after another would resolve the first one's
	 * names too.
	 */
	if (pfm.dl)
		dlclose(pfm.dl);
	pfm.dl = NULL;
	pfm.tried = false;
	pfm.err = 0;
	pthread_mutex_unlock(&pfm.lock);
}

/* libpfm4's error as an errno: a name not known here is ENOENT. */
static int pfm_errno(int r)
{
	switch (r) {
	case PFM_ERR_NOTFOUND:
		return -ENOENT;
	case PFM_ERR_NOMEM:
		return -ENOMEM;
	default:
		return -EINVAL; /* a bad umask, attribute or syntax */
	}
}

HFTMON_API int hftmon_pmu_event_parse(struct hftmon *m, const char *name,
				      struct hftmon_pmu_counter *out)
{
	struct perf_event_attr attr;
	pfm_perf_encode_arg_t arg;
	int r, err;

	if (!name || !*name || !out || out->sz < hftmon_offsetofend(
					     struct hftmon_pmu_counter, config))
		return -EINVAL;
	pthread_mutex_lock(&pfm.lock);
	err = pfm_load();
	if (err) {
		if (m)
			pr_err(m, "PMU event %s: %s", name, pfm.why);
		pthread_mutex_unlock(&pfm.lock);
		return err;
	}
	memset(&attr, 0, sizeof(attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = &attr;
	arg.size = sizeof(arg);
	/* User and kernel: the module sets what it counts itself. */
	r = pfm.encode(name, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
	if (r != PFM_SUCCESS) {
		err = pfm_errno(r);
		if (m)
			pr_err(m, "PMU event %s: %s%s", name, pfm.strerror(r),
			       r == PFM_ERR_NOTFOUND ?
				       " on this machine's PMUs (libpfm4)" :
				       "");
	} else if (attr.config1 || attr.config2) {
		/* OFFCORE_RESPONSE and the like: extra registers. */
		err = -EOPNOTSUPP;
		if (m)
			pr_err(m, "PMU event %s: needs config1/config2 (an extra MSR), which hftmon does not program",
			       name);
	} else {
		out->type = attr.type;
		out->config = attr.config;
	}
	pthread_mutex_unlock(&pfm.lock);
	return err;
}

int hftmon_pfm_encode(const char *name, struct perf_event_attr *attr,
		      char *why, size_t len)
{
	pfm_perf_encode_arg_t arg;
	int r, err;

	pthread_mutex_lock(&pfm.lock);
	err = pfm_load();
	if (err) {
		snprintf(why, len, "%s", pfm.why);
		pthread_mutex_unlock(&pfm.lock);
		return err;
	}
	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	/* The _EXT encoding: libpfm4 sets precise_ip (":precise=2") too. */
	r = pfm.encode(name, PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
	if (r != PFM_SUCCESS) {
		err = pfm_errno(r);
		snprintf(why, len, "libpfm4: %s: %s", name, pfm.strerror(r));
	}
	pthread_mutex_unlock(&pfm.lock);
	attr->size = sizeof(*attr);
	return err;
}

HFTMON_API int hftmon_pmu_list(struct hftmon *m, struct hftmon_pmu_desc *out,
			       size_t max, hftmon_pmu_event_fn fn, void *ctx)
{
	size_t stride, n = 0;
	int err, pmu;

	if (max && (!out || out->sz < hftmon_offsetofend(struct hftmon_pmu_desc,
							 nr_fixed_counters)))
		return -EINVAL;
	stride = max ? out->sz : 0;
	pthread_mutex_lock(&pfm.lock);
	err = pfm_load();
	if (err) {
		if (m)
			pr_err(m, "PMU list: %s", pfm.why);
		pthread_mutex_unlock(&pfm.lock);
		return err;
	}
	for (pmu = PFM_PMU_NONE; pmu < PFM_PMU_MAX; pmu++) {
		pfm_pmu_info_t pi = { .size = sizeof(pi) };
		struct hftmon_pmu_desc d = { .sz = sizeof(d) };
		int e;

		if (pfm.pmu_info((pfm_pmu_t)pmu, &pi) != PFM_SUCCESS ||
		    !pi.is_present || pi.type != PFM_PMU_TYPE_CORE)
			continue;
		if (n < max) {
			d.name = pi.name;
			d.desc = pi.desc;
			d.nr_events = pi.nevents > 0 ? (uint32_t)pi.nevents : 0;
			d.nr_counters = pi.num_cntrs > 0 ? (uint32_t)pi.num_cntrs : 0;
			d.nr_fixed_counters = pi.num_fixed_cntrs > 0 ?
						      (uint32_t)pi.num_fixed_cntrs :
						      0;
			hftmon_put_out(out, stride, n, &d, sizeof(d));
		}
		n++;
		for (e = pi.first_event; fn && e != -1; e = pfm.event_next(e)) {
			pfm_event_info_t ei = { .size = sizeof(ei) };

			if (pfm.event_info(e, PFM_OS_NONE, &ei) == PFM_SUCCESS)
				fn(ctx, pi.name, ei.name, ei.desc);
		}
	}
	pthread_mutex_unlock(&pfm.lock);
	return (int)n;
}
