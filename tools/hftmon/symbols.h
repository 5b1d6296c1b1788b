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
 *                     ("/usr/lib/x86_64-linux-gnu/libc.so.6+0x2a1ca");
 *                     then that file's own ELF symbols (.symtab, or
 *                     .dynsym when stripped), the offset turned into the
 *                     file's virtual address through its PT_LOAD
 *                     segments ("__libc_read+0x14"). Files are opened
 *                     through /proc/PID/root, so a process in another
 *                     mount namespace gets its own libraries, and read
 *                     once per path.
 *
 * Loading allocates; lookups do not (but hftmon_usyms_format() loads a
 * file's symbols the first time it meets the file). Paths are parameters
 * so tests can use fixture files. ELF files are untrusted input: every
 * offset and size is checked against the file, and a malformed file is
 * -ENOEXEC, never a crash.
 */
#ifndef HFTMON_CLI_SYMBOLS_H
#define HFTMON_CLI_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address-sorted symbol table: kallsyms', or an ELF file's. */
struct hftmon_sym {
	uint64_t addr;
	uint64_t size; /* 0: unknown (kallsyms), the next symbol ends it */
	uint32_t name; /* offset into names */
	uint32_t rank; /* of aliases at one address, the lowest is shown */
};

struct hftmon_symtab {
	struct hftmon_sym *syms; /* ascending addr, then rank */
	size_t nr;
	char *names;
	size_t names_len;
	bool zero_addresses; /* every listed address was 0 */
};

/* Loads path (normally /proc/kallsyms). 0 or -errno. */
int hftmon_ksyms_load(struct hftmon_symtab *k, const char *path);
void hftmon_symtab_free(struct hftmon_symtab *k);

/*
 * The symbol holding addr, and addr's offset into it; NULL if none (below
 * the first symbol, or past the end of a symbol whose size is known).
 */
const char *hftmon_symtab_lookup(const struct hftmon_symtab *k,
				 uint64_t addr, uint64_t *off);

/* "func+0xoff" or "0xaddr" into buf; returns buf. */
const char *hftmon_symtab_format(const struct hftmon_symtab *k,
				 uint64_t addr, char *buf, size_t len);

/* An ELF file's function symbols and how its file offsets map to them. */
#define HFTMON_ELF_MAX_LOADS 16
struct hftmon_elf {
	struct hftmon_symtab syms; /* by the file's virtual addresses */
	struct {
		uint64_t offset, filesz, vaddr;
	} load[HFTMON_ELF_MAX_LOADS]; /* its PT_LOAD segments */
	unsigned int nr_load;
};

/*
 * Reads path's ELF header, PT_LOAD segments and function symbols (STT_FUNC
 * and STT_GNU_IFUNC, defined, from .symtab, else .dynsym). 0, -ENOEXEC
 * for anything not a well-formed 64-bit ELF file of this machine's byte
 * order, or -errno.
 */
int hftmon_elf_load(struct hftmon_elf *e, const char *path);
void hftmon_elf_free(struct hftmon_elf *e);

/* The function holding file offset off (as /proc/PID/maps counts). */
const char *hftmon_elf_lookup(const struct hftmon_elf *e,
			      uint64_t off, uint64_t *symoff);

struct hftmon_map {
	uint64_t start, end; /* [start, end) */
	uint64_t offset; /* file offset of start */
	uint32_t path; /* offset into paths; "" for anonymous memory */
	bool exec; /* mapped executable: code can return here */
};

struct hftmon_maps {
	struct hftmon_map *maps; /* ascending start, as the file lists them */
	size_t nr;
	char *paths;
	size_t paths_len;
};

/* Loads path (normally /proc/PID/maps). 0 or -errno. */
int hftmon_maps_load(struct hftmon_maps *mp, const char *path);
void hftmon_maps_free(struct hftmon_maps *mp);

/* The mapping addr falls in; NULL if none. */
const struct hftmon_map *
hftmon_maps_lookup(const struct hftmon_maps *mp, uint64_t addr);

/*
 * "0xaddr /path+0xoff" ("0xaddr [anon]" in memory that maps no file,
 * "0xaddr" outside every mapping) into buf; returns buf.
 */
const char *hftmon_maps_format(const struct hftmon_maps *mp,
			       uint64_t addr, char *buf, size_t len);

/* A process's user addresses: its maps and the ELF files they name. */
struct hftmon_usyms {
	struct hftmon_maps maps;
	char root[64]; /* prefix for the files: "/proc/PID/root" or "" */
	struct hftmon_usym_file {
		char *path; /* as maps names it */
		int err; /* 0, or why it has no symbols */
		struct hftmon_elf elf;
	} *files;
	size_t nr_files, files_cap;
};

/*
 * (Re)loads the maps of pid (its files read through /proc/PID/root), or
 * of maps_path with files at their own paths when pid is 0 (tests). ELF
 * files already read are kept. 0 or -errno; on error the previous maps
 * stay.
 */
int hftmon_usyms_load(struct hftmon_usyms *u, int pid, const char *maps_path);
void hftmon_usyms_free(struct hftmon_usyms *u);

/*
 * Whether addr lies in executable memory of the process: a return address
 * a frame-pointer walk found outside it was not one (the walk went
 * through a function that keeps no frame pointer).
 */
bool hftmon_usyms_is_code(const struct hftmon_usyms *u, uint64_t addr);

/*
 * "0xaddr func+0xoff /path+0xfileoff" into buf ("0xaddr /path+0xfileoff"
 * where the file has no symbol for it; else as hftmon_maps_format()).
 * Returns buf.
 */
const char *hftmon_usyms_format(struct hftmon_usyms *u,
				uint64_t addr, char *buf, size_t len);

#endif /* HFTMON_CLI_SYMBOLS_H */
