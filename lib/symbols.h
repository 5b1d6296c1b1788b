/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Turning stack addresses into names, for the CLI (and its tests):
 *
 *   kernel addresses  /proc/kallsyms, loaded once into an array sorted by
 *                     address; an address belongs to the closest symbol
 *                     at or below it ("func+0xoff"). With kptr_restrict
 *                     the file lists every address as 0: zero_addresses
 *                     is set and nothing can be resolved.
 *   user addresses    /proc/PID/maps: the file mapping an address falls
 *                     in and the offset into that file
 *                     ("/usr/lib/x86_64-linux-gnu/libc.so.6+0x2a1ca").
 *
 * Loading allocates; lookups do not. Paths are parameters so tests can
 * use fixture files.
 */
#ifndef HFTMON_LIB_SYMBOLS_H
#define HFTMON_LIB_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct hftmon_ksym {
	uint64_t addr;
	uint32_t name; /* offset into names */
};

struct hftmon_ksyms {
	struct hftmon_ksym *syms; /* ascending addr */
	size_t nr;
	char *names;
	size_t names_len;
	bool zero_addresses; /* every listed address was 0 */
};

/* Loads path (normally /proc/kallsyms). 0 or -errno. */
HFTMON_INTERNAL int hftmon_ksyms_load(struct hftmon_ksyms *k,
				      const char *path);
HFTMON_INTERNAL void hftmon_ksyms_free(struct hftmon_ksyms *k);

/* The symbol holding addr, and addr's offset into it; NULL if none. */
HFTMON_INTERNAL const char *hftmon_ksyms_lookup(const struct hftmon_ksyms *k,
						uint64_t addr, uint64_t *off);

/* "func+0xoff" or "0xaddr" into buf; returns buf. */
HFTMON_INTERNAL const char *hftmon_ksyms_format(const struct hftmon_ksyms *k,
						uint64_t addr, char *buf,
						size_t len);

struct hftmon_map {
	uint64_t start, end; /* [start, end) */
	uint64_t offset; /* file offset of start */
	uint32_t path; /* offset into paths; "" for anonymous memory */
};

struct hftmon_maps {
	struct hftmon_map *maps; /* ascending start, as the file lists them */
	size_t nr;
	char *paths;
	size_t paths_len;
};

/* Loads path (normally /proc/PID/maps). 0 or -errno. */
HFTMON_INTERNAL int hftmon_maps_load(struct hftmon_maps *mp, const char *path);
HFTMON_INTERNAL void hftmon_maps_free(struct hftmon_maps *mp);

/* The mapping addr falls in; NULL if none. */
HFTMON_INTERNAL const struct hftmon_map *
hftmon_maps_lookup(const struct hftmon_maps *mp, uint64_t addr);

/*
 * "0xaddr /path+0xoff" ("0xaddr [anon]" in memory that maps no file,
 * "0xaddr" outside every mapping) into buf; returns buf.
 */
HFTMON_INTERNAL const char *hftmon_maps_format(const struct hftmon_maps *mp,
					       uint64_t addr, char *buf,
					       size_t len);

#endif /* HFTMON_LIB_SYMBOLS_H */
