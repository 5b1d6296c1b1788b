// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The CLI's symboliser (tools/hftmon/symbols.c) on fixture files: a
 * kallsyms with unsorted lines, data symbols (ignored), aliases and a
 * module symbol; a kallsyms as kptr_restrict shows it (all addresses 0);
 * a maps file with a library at a file offset, anonymous memory and
 * [stack]; a hand-made ELF file (aliases, a local function, data, an
 * undefined symbol, a segment at a file offset) and every truncation and
 * many corruptions of it; this program's own functions and one of
 * libcmocka's, named through their files' .symtab and .dynsym.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "symbols.h"

static char path[64];

static void write_fixture(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/hftmon-sym-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int cleanup(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static const char kallsyms[] =
	"ffffffff81000200 T schedule\n"
	"ffffffff81000000 T _stext\n"
	"ffffffff81000000 T _text\n"
	"ffffffff81000100 t __schedule\n"
	"ffffffff81000180 D some_data\n"
	"ffffffff81000300 W weak_fn\n"
	"ffffffff81800000 B some_bss\n"
	"ffffffffc0001000 t hftmon_probe_switch\t[hftmon]\n"
	"ffffffff81000400 T do_nanosleep\n"
	"not a line\n";

static void test_kallsyms_lookup(void **state)
{
	struct hftmon_symtab k;
	uint64_t off = 0;
	char buf[128];

	(void)state;
	write_fixture(kallsyms);
	assert_int_equal(hftmon_ksyms_load(&k, path), 0);
	assert_false(k.zero_addresses);
	assert_int_equal(k.nr, 7); /* code symbols only */

	assert_string_equal(hftmon_symtab_lookup(&k, 0xffffffff81000210ull,
						&off),
			    "schedule");
	assert_int_equal(off, 0x10);
	/* Exactly at a symbol. */
	assert_string_equal(hftmon_symtab_lookup(&k, 0xffffffff81000100ull,
						&off),
			    "__schedule");
	assert_int_equal(off, 0);
	/* Data symbols are not functions: the code before them holds it. */
	assert_string_equal(hftmon_symtab_lookup(&k, 0xffffffff81000190ull,
						&off),
			    "__schedule");
	assert_int_equal(off, 0x90);
	/* Aliases: the first listed. */
	assert_string_equal(hftmon_symtab_lookup(&k, 0xffffffff81000004ull,
						&off),
			    "_stext");
	/* Module symbols, the module name dropped. */
	assert_string_equal(hftmon_symtab_lookup(&k, 0xffffffffc0001004ull,
						&off),
			    "hftmon_probe_switch");
	/* Below every symbol. */
	assert_null(hftmon_symtab_lookup(&k, 0x1000, &off));

	assert_string_equal(hftmon_symtab_format(&k, 0xffffffff81000408ull, buf,
						sizeof(buf)),
			    "do_nanosleep+0x8");
	assert_string_equal(hftmon_symtab_format(&k, 0xffffffff81000300ull, buf,
						sizeof(buf)),
			    "weak_fn+0x0");
	assert_string_equal(hftmon_symtab_format(&k, 0x42, buf, sizeof(buf)),
			    "0x42");
	hftmon_symtab_free(&k);
}

static void test_kallsyms_restricted(void **state)
{
	struct hftmon_symtab k;
	char buf[64];

	(void)state;
	write_fixture("0000000000000000 T _stext\n"
		      "0000000000000000 T schedule\n"
		      "0000000000000000 t __schedule\n");
	assert_int_equal(hftmon_ksyms_load(&k, path), 0);
	assert_true(k.zero_addresses);
	assert_null(hftmon_symtab_lookup(&k, 0xffffffff81000210ull, NULL));
	assert_string_equal(hftmon_symtab_format(&k, 0xffffffff81000210ull, buf,
						sizeof(buf)),
			    "0xffffffff81000210");
	hftmon_symtab_free(&k);
}

static void test_kallsyms_missing(void **state)
{
	struct hftmon_symtab k;

	(void)state;
	snprintf(path, sizeof(path), "/nonexistent/kallsyms");
	assert_int_equal(hftmon_ksyms_load(&k, path), -ENOENT);
	assert_int_equal(k.nr, 0);
}

static const char maps[] =
	"00400000-00401000 r--p 00000000 08:01 1234    /usr/bin/trader\n"
	"00401000-00480000 r-xp 00001000 08:01 1234    /usr/bin/trader\n"
	"01c2e000-01c4f000 rw-p 00000000 00:00 0       [heap]\n"
	"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
	"7f1000000000-7f1000028000 r--p 00000000 08:01 99  /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1000028000-7f100019d000 r-xp 00028000 08:01 99  /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0   [stack]\n";

static void test_maps(void **state)
{
	struct hftmon_maps mp;
	const struct hftmon_map *m;
	char buf[256];

	(void)state;
	write_fixture(maps);
	assert_int_equal(hftmon_maps_load(&mp, path), 0);
	assert_int_equal(mp.nr, 7);
	m = hftmon_maps_lookup(&mp, 0x401234);
	assert_non_null(m);
	assert_int_equal(m->start, 0x401000);
	assert_int_equal(m->offset, 0x1000);
	/* File offset = addr - start + offset. */
	assert_string_equal(hftmon_maps_format(&mp, 0x401234, buf, sizeof(buf)),
			    "0x401234 /usr/bin/trader+0x1234");
	assert_string_equal(hftmon_maps_format(&mp, 0x7f100002a1caull, buf,
					       sizeof(buf)),
			    "0x7f100002a1ca /usr/lib/x86_64-linux-gnu/libc.so.6+0x2a1ca");
	assert_string_equal(hftmon_maps_format(&mp, 0x7f0000000010ull, buf,
					       sizeof(buf)),
			    "0x7f0000000010 [anon]");
	assert_string_equal(hftmon_maps_format(&mp, 0x7ffc00000100ull, buf,
					       sizeof(buf)),
			    "0x7ffc00000100 [stack]");
	/* Between mappings, and the end is exclusive. */
	assert_null(hftmon_maps_lookup(&mp, 0x500000));
	assert_null(hftmon_maps_lookup(&mp, 0x480000));
	assert_string_equal(hftmon_maps_format(&mp, 0x500000, buf, sizeof(buf)),
			    "0x500000");
	hftmon_maps_free(&mp);
}

/* The maps of this very process: a function of it lies in its binary. */
static void test_maps_self(void **state)
{
	struct hftmon_maps mp;
	char buf[4200], exe[4096];
	ssize_t n;

	(void)state;
	assert_int_equal(hftmon_maps_load(&mp, "/proc/self/maps"), 0);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	hftmon_maps_format(&mp, (uint64_t)(uintptr_t)&test_maps_self, buf,
			   sizeof(buf));
	assert_non_null(strstr(buf, exe));
	assert_non_null(strstr(buf, "+0x"));
	hftmon_maps_free(&mp);
}

/* ---- ELF -------------------------------------------------------------- */

/*
 * A small ELF file, laid out as a linker would: one PT_LOAD segment
 * mapping file offset 0x1000 at virtual address 0x401000, and a .symtab:
 *   0x401000 size 0x20  __libc_read (global) and read (weak): one function
 *   0x401020 size 0x10  local_fn (local)
 *   0x401100            table (an object: not a function)
 *   undefined           imported (a reference, not a definition)
 */
#define ELF_SIZE 0x1200
static unsigned char elf_img[ELF_SIZE];
static size_t elf_len;

static void build_elf(void)
{
	static const char strs[] = "\0__libc_read\0read\0local_fn\0table\0imported";
	const Elf64_Sym syms[] = {
		{ 0 },
		{ .st_name = 1, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
		  .st_shndx = 1, .st_value = 0x401000, .st_size = 0x20 },
		{ .st_name = 13, .st_info = ELF64_ST_INFO(STB_WEAK, STT_FUNC),
		  .st_shndx = 1, .st_value = 0x401000, .st_size = 0x20 },
		{ .st_name = 18, .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC),
		  .st_shndx = 1, .st_value = 0x401020, .st_size = 0x10 },
		{ .st_name = 27, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT),
		  .st_shndx = 1, .st_value = 0x401100, .st_size = 8 },
		{ .st_name = 33, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
		  .st_shndx = SHN_UNDEF },
	};
	const size_t symoff = 0x100, stroff = 0x200, shoff = 0x1100;
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr), .e_shoff = shoff,
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1,
		.e_shentsize = sizeof(Elf64_Shdr), .e_shnum = 3,
	};
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
			  .p_offset = 0x1000, .p_vaddr = 0x401000,
			  .p_filesz = 0x100, .p_memsz = 0x100 };
	Elf64_Shdr sh[3] = {
		{ 0 },
		{ .sh_type = SHT_SYMTAB, .sh_offset = symoff,
		  .sh_size = sizeof(syms), .sh_link = 2,
		  .sh_entsize = sizeof(Elf64_Sym) },
		{ .sh_type = SHT_STRTAB, .sh_offset = stroff,
		  .sh_size = sizeof(strs) },
	};

	memset(elf_img, 0, sizeof(elf_img));
	memcpy(elf_img, &eh, sizeof(eh));
	memcpy(elf_img + eh.e_phoff, &ph, sizeof(ph));
	memcpy(elf_img + symoff, syms, sizeof(syms));
	memcpy(elf_img + stroff, strs, sizeof(strs));
	memcpy(elf_img + shoff, sh, sizeof(sh));
	elf_len = shoff + sizeof(sh);
}

static void write_bytes(const void *p, size_t n)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/hftmon-elf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void test_elf_lookup(void **state)
{
	struct hftmon_elf e;
	uint64_t off = 99;

	(void)state;
	build_elf();
	write_bytes(elf_img, elf_len);
	assert_int_equal(hftmon_elf_load(&e, path), 0);
	assert_int_equal(e.nr_load, 1);
	assert_int_equal(e.syms.nr, 3); /* functions, defined */
	/* File offset 0x1000 is vaddr 0x401000: "read" rather than its
	 * underscored global alias. */
	assert_string_equal(hftmon_elf_lookup(&e, 0x1000, &off), "read");
	assert_int_equal(off, 0);
	assert_string_equal(hftmon_elf_lookup(&e, 0x101f, &off), "read");
	assert_int_equal(off, 0x1f);
	assert_string_equal(hftmon_elf_lookup(&e, 0x1024, &off), "local_fn");
	assert_int_equal(off, 4);
	/* Past local_fn's end (its size is known), the object, outside the
	 * segment, before it. */
	assert_null(hftmon_elf_lookup(&e, 0x1030, &off));
	assert_null(hftmon_elf_lookup(&e, 0x1100, &off));
	assert_null(hftmon_elf_lookup(&e, 0x1200, &off));
	assert_null(hftmon_elf_lookup(&e, 0x0fff, &off));
	hftmon_elf_free(&e);
}

/* A process's maps naming the fixture: address -> file offset -> function. */
static void test_usyms_fixture(void **state)
{
	char elf_path[64], maps[256], buf[512];
	struct hftmon_usyms u;

	(void)state;
	build_elf();
	write_bytes(elf_img, elf_len);
	memcpy(elf_path, path, sizeof(elf_path));
	snprintf(maps, sizeof(maps),
		 "00400000-00402000 r-xp 00001000 08:01 42 %s\n"
		 "00500000-00501000 rw-p 00000000 00:00 0\n",
		 elf_path);
	write_fixture(maps);
	memset(&u, 0, sizeof(u));
	assert_int_equal(hftmon_usyms_load(&u, 0, path), 0);
	unlink(path);
	snprintf(maps, sizeof(maps), "0x400010 read+0x10 %s+0x1010", elf_path);
	assert_string_equal(hftmon_usyms_format(&u, 0x400010, buf, sizeof(buf)),
			    maps);
	/* No function there: the file and offset still. */
	snprintf(maps, sizeof(maps), "0x400040 %s+0x1040", elf_path);
	assert_string_equal(hftmon_usyms_format(&u, 0x400040, buf, sizeof(buf)),
			    maps);
	assert_string_equal(hftmon_usyms_format(&u, 0x500010, buf, sizeof(buf)),
			    "0x500010 [anon]");
	/* The file was read once, and is kept once it has gone. */
	unlink(elf_path);
	snprintf(maps, sizeof(maps), "0x400024 local_fn+0x4 %s+0x1024", elf_path);
	assert_string_equal(hftmon_usyms_format(&u, 0x400024, buf, sizeof(buf)),
			    maps);
	assert_int_equal(u.nr_files, 1);
	hftmon_usyms_free(&u);
	path[0] = '\0';
}

/*
 * Targeted corruptions, each with what must come of it: refused, or read
 * with the broken symbols left out. (The fixture's offsets: section
 * headers at 0x1100, 64 bytes each; symbols at 0x100, 24 bytes each.)
 */
struct elf_patch {
	const char *what;
	size_t at, size;
	uint64_t value;
	int err;	/* what hftmon_elf_load() returns */
	size_t nr;	/* functions read, when it succeeds */
};

#define SH(i, field) (0x1100 + (i) * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, field))
#define SYM(i, field) (0x100 + (i) * sizeof(Elf64_Sym) + offsetof(Elf64_Sym, field))
#define EH(field) offsetof(Elf64_Ehdr, field)
#define PH(field) (sizeof(Elf64_Ehdr) + offsetof(Elf64_Phdr, field))

static const struct elf_patch patches[] = {
	{ "32-bit class", EI_CLASS, 1, ELFCLASS32, -ENOEXEC, 0 },
	{ "other byte order", EI_DATA, 1, ELFDATA2MSB, -ENOEXEC, 0 },
	{ "bad magic", 1, 1, 'X', -ENOEXEC, 0 },
	{ "program headers past the end", EH(e_phoff), 8, ELF_SIZE, -ENOEXEC, 0 },
	{ "too many program headers", EH(e_phnum), 2, 0xffff, -ENOEXEC, 0 },
	{ "odd program header size", EH(e_phentsize), 2, 40, -ENOEXEC, 0 },
	{ "section headers past the end", EH(e_shoff), 8, 0x1180, -ENOEXEC, 0 },
	{ "odd section header size", EH(e_shentsize), 2, 32, -ENOEXEC, 0 },
	{ "symbols past the end", SH(1, sh_size), 8, 0x10000, -ENOEXEC, 0 },
	{ "symbols at a huge offset", SH(1, sh_offset), 8, ~0ull - 8, -ENOEXEC, 0 },
	{ "odd symbol size", SH(1, sh_entsize), 8, 16, -ENOEXEC, 0 },
	{ "string table index just out of range", SH(1, sh_link), 4, 3, -ENOEXEC, 0 },
	{ "string table index far out of range", SH(1, sh_link), 4, 0x100000, -ENOEXEC, 0 },
	{ "linked section not a string table", SH(1, sh_link), 4, 1, -ENOEXEC, 0 },
	{ "strings past the end", SH(2, sh_size), 8, 0x10000, -ENOEXEC, 0 },
	/* "local_f": its name no longer ends inside the string table. */
	{ "name cut by the table's end", SH(2, sh_size), 8, 25, 0, 2 },
	{ "name offset out of range", SYM(3, st_name), 4, 0x1000, 0, 2 },
	{ "empty name", SYM(3, st_name), 4, 0, 0, 2 },
	{ "no sections at all", EH(e_shnum), 2, 0, 0, 0 },
	{ "no segments: no file offset maps", EH(e_phnum), 2, 0, 0, 3 },
};

static void test_elf_patched(void **state)
{
	static unsigned char bad[ELF_SIZE];
	struct hftmon_elf e;
	uint64_t off;
	size_t i;
	int err;

	(void)state;
	build_elf();
	for (i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		const struct elf_patch *p = &patches[i];

		memcpy(bad, elf_img, elf_len);
		memcpy(bad + p->at, &p->value, p->size); /* little-endian */
		write_bytes(bad, elf_len);
		err = hftmon_elf_load(&e, path);
		unlink(path);
		if (err != p->err || (!err && e.syms.nr != p->nr))
			fail_msg("%s: load %d (want %d), %zu functions (want %zu)",
				 p->what, err, p->err, err ? 0 : e.syms.nr, p->nr);
		if (!err) {
			if (!e.nr_load)
				assert_null(hftmon_elf_lookup(&e, 0x1000, &off));
			hftmon_elf_free(&e);
		}
	}
	path[0] = '\0';
}

/* Loads a corrupt image: refused or read, never a crash (ASan watches). */
static int load_corrupt(const unsigned char *img, size_t n)
{
	struct hftmon_elf e;
	uint64_t off, o;
	int err;

	write_bytes(img, n);
	err = hftmon_elf_load(&e, path);
	unlink(path);
	if (!err) {
		for (o = 0; o < 0x1200; o += 4)
			hftmon_elf_lookup(&e, o, &off);
		hftmon_elf_free(&e);
	}
	return err;
}

static void test_elf_malformed(void **state)
{
	static unsigned char bad[ELF_SIZE];
	size_t n, i;
	int err;
	unsigned int seed = 1;

	(void)state;
	build_elf();
	/* Every truncation: the section headers end the file, so each one
	 * cuts something the file says is there. */
	for (n = 0; n < elf_len; n += n < 256 ? 1 : 61)
		assert_int_equal(load_corrupt(elf_img, n), -ENOEXEC);
	/* Every byte of the headers, the symbols and the section table set
	 * to 0 and to 0xff, and random bytes anywhere. */
	for (i = 0; i < elf_len; i = i == 0x240 ? 0x1100 : i + 1) {
		static const unsigned char vals[] = { 0x00, 0xff, 0x7f };
		size_t v;

		for (v = 0; v < sizeof(vals); v++) {
			memcpy(bad, elf_img, elf_len);
			bad[i] = vals[v];
			err = load_corrupt(bad, elf_len);
			assert_true(err == 0 || err == -ENOEXEC);
		}
	}
	for (i = 0; i < 2000; i++) {
		int k;

		memcpy(bad, elf_img, elf_len);
		for (k = 0; k < 4; k++)
			bad[rand_r(&seed) % elf_len] = (unsigned char)rand_r(&seed);
		err = load_corrupt(bad, elf_len);
		assert_true(err == 0 || err == -ENOEXEC);
	}
	/* Not a regular file, not there. */
	assert_int_equal(hftmon_elf_load(&(struct hftmon_elf){ 0 }, "/proc/self"),
			 -ENOEXEC);
	assert_int_equal(hftmon_elf_load(&(struct hftmon_elf){ 0 },
					 "/nonexistent/elf"), -ENOENT);
	path[0] = '\0';
}

__attribute__((noinline)) static int marker_fn(int x)
{
	return x * 3 + 1;
}

/*
 * This very process: its own static function through the executable's
 * .symtab, and a libcmocka function through the shared library's .dynsym
 * (Debian strips .symtab from libraries), at the addresses the compiler
 * and the dynamic linker gave them.
 */
static void test_usyms_self(void **state)
{
	struct hftmon_usyms u;
	char buf[4200], want[64];
	uint64_t fn = (uint64_t)(uintptr_t)&marker_fn;
	uint64_t lib = (uint64_t)(uintptr_t)&_cmocka_run_group_tests;

	(void)state;
	assert_int_equal(marker_fn(1), 4);
	memset(&u, 0, sizeof(u));
	assert_int_equal(hftmon_usyms_load(&u, getpid(), NULL), 0);
	snprintf(want, sizeof(want), "0x%" PRIx64 " marker_fn+0x0 /", fn);
	hftmon_usyms_format(&u, fn, buf, sizeof(buf));
	assert_true(!strncmp(buf, want, strlen(want)));
	snprintf(want, sizeof(want), " marker_fn+0x3 ");
	assert_non_null(strstr(hftmon_usyms_format(&u, fn + 3, buf, sizeof(buf)),
			       want));
	hftmon_usyms_format(&u, lib, buf, sizeof(buf));
	assert_non_null(strstr(buf, " _cmocka_run_group_tests+0x0 /"));
	assert_non_null(strstr(buf, "libcmocka"));
	hftmon_usyms_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_kallsyms_lookup, cleanup),
		cmocka_unit_test_teardown(test_kallsyms_restricted, cleanup),
		cmocka_unit_test(test_kallsyms_missing),
		cmocka_unit_test_teardown(test_maps, cleanup),
		cmocka_unit_test(test_maps_self),
		cmocka_unit_test_teardown(test_elf_lookup, cleanup),
		cmocka_unit_test(test_usyms_fixture),
		cmocka_unit_test(test_elf_patched),
		cmocka_unit_test(test_elf_malformed),
		cmocka_unit_test(test_usyms_self),
	};

	return cmocka_run_group_tests_name("symbols", tests, NULL, NULL);
}
