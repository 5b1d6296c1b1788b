// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * kallsyms and maps lookups (see symbols.h). Names and paths go into one
 * growing string pool each, referenced by offset, so a load is a handful
 * of allocations however many symbols there are.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols.h"

/* Appends s to *pool, returning its offset; (uint32_t)-1 on ENOMEM. */
static uint32_t pool_add(char **pool, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s) + 1, off = *len;

	if (off + n > UINT32_MAX)
		return UINT32_MAX;
	if (off + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *p;

		while (c < off + n)
			c *= 2;
		p = realloc(*pool, c);
		if (!p)
			return UINT32_MAX;
		*pool = p;
		*cap = c;
	}
	memcpy(*pool + off, s, n);
	*len = off + n;
	return (uint32_t)off;
}

/* Makes room for one more element of size in *arr. 0 or -ENOMEM. */
static int grow(void **arr, size_t nr, size_t *cap, size_t size)
{
	void *p;

	if (nr < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 1024;
	p = realloc(*arr, *cap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct hftmon_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Aliases at one address: keep file order (names are in it). */
	return x->name < y->name ? -1 : x->name > y->name;
}

/* Text symbols name code; data, bss and absolute symbols do not. */
static bool is_code(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

int hftmon_ksyms_load(struct hftmon_ksyms *k, const char *path)
{
	size_t cap = 0, names_cap = 0;
	bool any_nonzero = false, any = false;
	char line[512], name[256], type;
	unsigned long long addr;
	FILE *f;
	int err = 0;

	memset(k, 0, sizeof(*k));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint32_t off;

		/* "ffffffff81000000 T _stext" or "... t name\t[module]" */
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (!is_code(type))
			continue;
		any = true;
		if (addr)
			any_nonzero = true;
		err = grow((void **)&k->syms, k->nr, &cap, sizeof(*k->syms));
		if (err)
			break;
		off = pool_add(&k->names, &k->names_len, &names_cap, name);
		if (off == UINT32_MAX) {
			err = -ENOMEM;
			break;
		}
		k->syms[k->nr].addr = addr;
		k->syms[k->nr].name = off;
		k->nr++;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		hftmon_ksyms_free(k);
		return err;
	}
	k->zero_addresses = any && !any_nonzero;
	if (k->nr > 1)
		qsort(k->syms, k->nr, sizeof(*k->syms), cmp_ksym);
	return 0;
}

void hftmon_ksyms_free(struct hftmon_ksyms *k)
{
	free(k->syms);
	free(k->names);
	memset(k, 0, sizeof(*k));
}

const char *hftmon_ksyms_lookup(const struct hftmon_ksyms *k, uint64_t addr,
				uint64_t *off)
{
	size_t lo = 0, hi = k->nr;

	if (k->zero_addresses || !k->nr || addr < k->syms[0].addr)
		return NULL;
	/* The last symbol at or below addr. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* Of aliases at one address, the first listed. */
	while (lo > 0 && k->syms[lo - 1].addr == k->syms[lo].addr)
		lo--;
	if (off)
		*off = addr - k->syms[lo].addr;
	return k->names + k->syms[lo].name;
}

const char *hftmon_ksyms_format(const struct hftmon_ksyms *k, uint64_t addr,
				char *buf, size_t len)
{
	uint64_t off;
	const char *name = hftmon_ksyms_lookup(k, addr, &off);

	if (name)
		snprintf(buf, len, "%s+0x%" PRIx64, name, off);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

int hftmon_maps_load(struct hftmon_maps *mp, const char *path)
{
	size_t cap = 0, paths_cap = 0;
	char line[4096 + 256];
	FILE *f;
	int err = 0;

	memset(mp, 0, sizeof(*mp));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, offset;
		char perms[8];
		int consumed = 0;
		const char *file;
		uint32_t off;

		/* "start-end perms offset dev inode   path" */
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end,
			   perms, &offset, &consumed) < 4 ||
		    !consumed)
			continue;
		file = line + consumed;
		line[strcspn(line, "\n")] = '\0';
		err = grow((void **)&mp->maps, mp->nr, &cap, sizeof(*mp->maps));
		if (err)
			break;
		off = pool_add(&mp->paths, &mp->paths_len, &paths_cap, file);
		if (off == UINT32_MAX) {
			err = -ENOMEM;
			break;
		}
		mp->maps[mp->nr].start = start;
		mp->maps[mp->nr].end = end;
		mp->maps[mp->nr].offset = offset;
		mp->maps[mp->nr].path = off;
		mp->nr++;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err)
		hftmon_maps_free(mp);
	return err;
}

void hftmon_maps_free(struct hftmon_maps *mp)
{
	free(mp->maps);
	free(mp->paths);
	memset(mp, 0, sizeof(*mp));
}

const struct hftmon_map *hftmon_maps_lookup(const struct hftmon_maps *mp,
					    uint64_t addr)
{
	size_t lo = 0, hi = mp->nr;

	/* The kernel lists mappings in address order, without overlaps. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < mp->maps[mid].start)
			hi = mid;
		else if (addr >= mp->maps[mid].end)
			lo = mid + 1;
		else
			return &mp->maps[mid];
	}
	return NULL;
}

const char *hftmon_maps_format(const struct hftmon_maps *mp, uint64_t addr,
			       char *buf, size_t len)
{
	const struct hftmon_map *m = hftmon_maps_lookup(mp, addr);
	const char *path;

	if (!m) {
		snprintf(buf, len, "0x%" PRIx64, addr);
		return buf;
	}
	path = mp->paths + m->path;
	if (path[0] == '/')
		snprintf(buf, len, "0x%" PRIx64 " %s+0x%" PRIx64, addr, path,
			 addr - m->start + m->offset);
	else if (path[0])
		snprintf(buf, len, "0x%" PRIx64 " %s", addr, path); /* [stack] */
	else
		snprintf(buf, len, "0x%" PRIx64 " [anon]", addr);
	return buf;
}
