// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * kallsyms, ELF and maps lookups (see symbols.h). Names and paths go into
 * one growing string pool each, referenced by offset, so a load is a
 * handful of allocations however many symbols there are.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int cmp_sym(const void *a, const void *b)
{
	const struct hftmon_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	/* Aliases of one rank: keep file order (names are in it). */
	return x->name < y->name ? -1 : x->name > y->name;
}

/* Appends a symbol to t. 0 or -ENOMEM. */
static int symtab_add(struct hftmon_symtab *t, size_t *cap, size_t *names_cap,
		      uint64_t addr, uint64_t size, const char *name,
		      uint32_t rank)
{
	uint32_t off;

	if (grow((void **)&t->syms, t->nr, cap, sizeof(*t->syms)))
		return -ENOMEM;
	off = pool_add(&t->names, &t->names_len, names_cap, name);
	if (off == UINT32_MAX)
		return -ENOMEM;
	t->syms[t->nr].addr = addr;
	t->syms[t->nr].size = size;
	t->syms[t->nr].name = off;
	t->syms[t->nr].rank = rank;
	t->nr++;
	return 0;
}

/* Text symbols name code; data, bss and absolute symbols do not. */
static bool is_code(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

int hftmon_ksyms_load(struct hftmon_symtab *k, const char *path)
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
		/* "ffffffff81000000 T _stext" or "... t name\t[module]" */
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (!is_code(type))
			continue;
		any = true;
		if (addr)
			any_nonzero = true;
		/* kallsyms has no sizes: the next symbol ends each one. */
		err = symtab_add(k, &cap, &names_cap, addr, 0, name, 0);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	if (err) {
		hftmon_symtab_free(k);
		return err;
	}
	k->zero_addresses = any && !any_nonzero;
	if (k->nr > 1)
		qsort(k->syms, k->nr, sizeof(*k->syms), cmp_sym);
	return 0;
}

void hftmon_symtab_free(struct hftmon_symtab *k)
{
	free(k->syms);
	free(k->names);
	memset(k, 0, sizeof(*k));
}

const char *hftmon_symtab_lookup(const struct hftmon_symtab *k, uint64_t addr,
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
	/* Of aliases at one address, the first in cmp_sym()'s order. */
	while (lo > 0 && k->syms[lo - 1].addr == k->syms[lo].addr)
		lo--;
	/* Past the end of a sized symbol: in no function we know of. */
	if (k->syms[lo].size && addr - k->syms[lo].addr >= k->syms[lo].size)
		return NULL;
	if (off)
		*off = addr - k->syms[lo].addr;
	return k->names + k->syms[lo].name;
}

const char *hftmon_symtab_format(const struct hftmon_symtab *k, uint64_t addr,
				char *buf, size_t len)
{
	uint64_t off;
	const char *name = hftmon_symtab_lookup(k, addr, &off);

	if (name)
		snprintf(buf, len, "%s+0x%" PRIx64, name, off);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

/* ---- ELF files ------------------------------------------------------ */

/* [off, off + len) lies inside a file of size bytes. */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/*
 * Of aliases at one address, show what a programmer calls: a name without
 * a leading underscore ("read" before "__libc_read"), then global before
 * weak before local.
 */
static uint32_t elf_rank(const char *name, unsigned char info)
{
	uint32_t rank = name[0] == '_' ? 4 : 0;

	switch (ELF64_ST_BIND(info)) {
	case STB_GLOBAL:
		break;
	case STB_WEAK:
		rank += 1;
		break;
	default:
		rank += 2;
	}
	return rank;
}

/*
 * Reads [off, off + len) of fd (a file of size bytes) into a new buffer,
 * stored in *buf. 0, -ENOEXEC when the range is not in the file, -errno.
 * Reading, not mapping: a file truncated meanwhile is a short read here,
 * where a mapping would be SIGBUS.
 */
static int read_range(int fd, uint64_t off, uint64_t len, uint64_t size,
		      void **buf)
{
	size_t got = 0;
	char *p;

	*buf = NULL;
	if (!in_file(off, len, size) || len > SIZE_MAX - 1)
		return -ENOEXEC;
	p = malloc(len ? (size_t)len : 1);
	if (!p)
		return -ENOMEM;
	while (got < len) {
		ssize_t r = pread(fd, p + got, (size_t)len - got,
				  (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int err = r < 0 ? -errno : -ENOEXEC;

			free(p);
			return err;
		}
		got += (size_t)r;
	}
	*buf = p;
	return 0;
}

/*
 * The function symbols of symbol table section sh, names from the string
 * table (section str) it links to.
 */
static int elf_read_symbols(struct hftmon_elf *e, int fd, uint64_t size,
			    const Elf64_Shdr *sh, const Elf64_Shdr *str)
{
	size_t cap = 0, names_cap = 0, i, nr;
	Elf64_Sym *syms = NULL;
	char *strs = NULL;
	int err;

	if (sh->sh_entsize != sizeof(Elf64_Sym) || str->sh_type != SHT_STRTAB)
		return -ENOEXEC;
	err = read_range(fd, sh->sh_offset, sh->sh_size, size, (void **)&syms);
	if (!err)
		err = read_range(fd, str->sh_offset, str->sh_size, size,
				 (void **)&strs);
	nr = sh->sh_size / sizeof(Elf64_Sym);
	for (i = 0; !err && i < nr; i++) {
		const Elf64_Sym *s = &syms[i];
		unsigned char type = ELF64_ST_TYPE(s->st_info);
		const char *name;

		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    s->st_shndx == SHN_UNDEF || !s->st_value ||
		    s->st_name >= str->sh_size)
			continue;
		name = strs + s->st_name;
		/* The name must end inside its string table. */
		if (!*name || !memchr(name, '\0', str->sh_size - s->st_name))
			continue;
		err = symtab_add(&e->syms, &cap, &names_cap, s->st_value,
				 s->st_size, name, elf_rank(name, s->st_info));
	}
	free(syms);
	free(strs);
	return err;
}

/* Reads an ELF file's segments, then its symbols. */
static int elf_parse(struct hftmon_elf *e, int fd, uint64_t size)
{
	Elf64_Phdr *ph = NULL;
	Elf64_Shdr *sh = NULL;
	const Elf64_Shdr *symtab = NULL;
	Elf64_Ehdr *eh = NULL;
	unsigned int i;
	int err;

	err = read_range(fd, 0, sizeof(*eh), size, (void **)&eh);
	if (err)
		return err;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
#else
	    eh->e_ident[EI_DATA] != ELFDATA2MSB ||
#endif
	    (eh->e_phnum && eh->e_phentsize != sizeof(Elf64_Phdr)) ||
	    (eh->e_shnum && eh->e_shentsize != sizeof(Elf64_Shdr)))
		err = -ENOEXEC;
	if (!err)
		err = read_range(fd, eh->e_phoff,
				 (uint64_t)eh->e_phnum * sizeof(*ph), size,
				 (void **)&ph);
	if (!err)
		err = read_range(fd, eh->e_shoff,
				 (uint64_t)eh->e_shnum * sizeof(*sh), size,
				 (void **)&sh);
	if (err)
		goto out;

	for (i = 0; i < eh->e_phnum && e->nr_load < HFTMON_ELF_MAX_LOADS; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		e->load[e->nr_load].offset = ph[i].p_offset;
		e->load[e->nr_load].filesz = ph[i].p_filesz;
		e->load[e->nr_load].vaddr = ph[i].p_vaddr;
		e->nr_load++;
	}

	/* .symtab has every function; a stripped file keeps only .dynsym. */
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB ||
		    (sh[i].sh_type == SHT_DYNSYM && !symtab))
			symtab = &sh[i];
	/* No symbol table: a well-formed file with nothing to name. */
	if (symtab)
		err = symtab->sh_link < eh->e_shnum ?
			      elf_read_symbols(e, fd, size, symtab,
					       &sh[symtab->sh_link]) :
			      -ENOEXEC;
out:
	free(eh);
	free(ph);
	free(sh);
	return err;
}

int hftmon_elf_load(struct hftmon_elf *e, const char *path)
{
	struct stat st;
	int fd, err;

	memset(e, 0, sizeof(*e));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -ENOEXEC;
	else
		err = elf_parse(e, fd, (uint64_t)st.st_size);
	close(fd);
	if (err) {
		hftmon_elf_free(e);
		return err;
	}
	if (e->syms.nr > 1)
		qsort(e->syms.syms, e->syms.nr, sizeof(*e->syms.syms), cmp_sym);
	return 0;
}

void hftmon_elf_free(struct hftmon_elf *e)
{
	hftmon_symtab_free(&e->syms);
	memset(e, 0, sizeof(*e));
}

const char *hftmon_elf_lookup(const struct hftmon_elf *e, uint64_t off,
			      uint64_t *symoff)
{
	unsigned int i;

	for (i = 0; i < e->nr_load; i++)
		if (off >= e->load[i].offset &&
		    off - e->load[i].offset < e->load[i].filesz)
			return hftmon_symtab_lookup(
				&e->syms, off - e->load[i].offset + e->load[i].vaddr,
				symoff);
	return NULL;
}

/* ---- /proc/PID/maps ------------------------------------------------ */

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
		mp->maps[mp->nr].exec = perms[2] == 'x';
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

/* ---- a process's user addresses -------------------------------------- */

int hftmon_usyms_load(struct hftmon_usyms *u, int pid, const char *maps_path)
{
	struct hftmon_maps fresh;
	char path[64];
	int err;

	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
		maps_path = path;
	}
	err = hftmon_maps_load(&fresh, maps_path);
	if (err)
		return err;
	hftmon_maps_free(&u->maps);
	u->maps = fresh;
	if (pid > 0)
		snprintf(u->root, sizeof(u->root), "/proc/%d/root", pid);
	else
		u->root[0] = '\0';
	return 0;
}

void hftmon_usyms_free(struct hftmon_usyms *u)
{
	size_t i;

	hftmon_maps_free(&u->maps);
	for (i = 0; i < u->nr_files; i++) {
		free(u->files[i].path);
		hftmon_elf_free(&u->files[i].elf);
	}
	free(u->files);
	memset(u, 0, sizeof(*u));
}

/*
 * The ELF file of path, read the first time it is asked for: through the
 * process's root (its mount namespace), else at path itself (the process
 * has gone). NULL only when out of memory.
 */
static struct hftmon_usym_file *usym_file(struct hftmon_usyms *u,
					  const char *path)
{
	struct hftmon_usym_file *f;
	char full[PATH_MAX + 64];
	size_t i;

	for (i = 0; i < u->nr_files; i++)
		if (!strcmp(u->files[i].path, path))
			return &u->files[i];
	if (grow((void **)&u->files, u->nr_files, &u->files_cap,
		 sizeof(*u->files)))
		return NULL;
	f = &u->files[u->nr_files];
	f->path = strdup(path);
	if (!f->path)
		return NULL;
	f->err = -ENOENT;
	if (u->root[0]) {
		snprintf(full, sizeof(full), "%s%s", u->root, path);
		f->err = hftmon_elf_load(&f->elf, full);
	}
	if (f->err)
		f->err = hftmon_elf_load(&f->elf, path);
	u->nr_files++;
	return f;
}

bool hftmon_usyms_is_code(const struct hftmon_usyms *u, uint64_t addr)
{
	const struct hftmon_map *m = hftmon_maps_lookup(&u->maps, addr);

	return m && m->exec;
}

const char *hftmon_usyms_format(struct hftmon_usyms *u, uint64_t addr,
				char *buf, size_t len)
{
	const struct hftmon_map *m = hftmon_maps_lookup(&u->maps, addr);
	const struct hftmon_usym_file *f;
	const char *path, *name = NULL;
	uint64_t off, symoff = 0;

	if (!m || u->maps.paths[m->path] != '/')
		return hftmon_maps_format(&u->maps, addr, buf, len);
	path = u->maps.paths + m->path;
	off = addr - m->start + m->offset;
	f = usym_file(u, path);
	if (f && !f->err)
		name = hftmon_elf_lookup(&f->elf, off, &symoff);
	if (!name)
		return hftmon_maps_format(&u->maps, addr, buf, len);
	snprintf(buf, len, "0x%" PRIx64 " %s+0x%" PRIx64 " %s+0x%" PRIx64, addr,
		 name, symoff, path, off);
	return buf;
}
