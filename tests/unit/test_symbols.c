// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The symboliser (lib/symbols.c) on fixture files: a kallsyms with
 * unsorted lines, data symbols (ignored), aliases and a module symbol; a
 * kallsyms as kptr_restrict shows it (all addresses 0); a maps file with
 * a library at a file offset, anonymous memory and [stack].
 */
#include <errno.h>
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
	struct hftmon_ksyms k;
	uint64_t off = 0;
	char buf[128];

	(void)state;
	write_fixture(kallsyms);
	assert_int_equal(hftmon_ksyms_load(&k, path), 0);
	assert_false(k.zero_addresses);
	assert_int_equal(k.nr, 7); /* code symbols only */

	assert_string_equal(hftmon_ksyms_lookup(&k, 0xffffffff81000210ull,
						&off),
			    "schedule");
	assert_int_equal(off, 0x10);
	/* Exactly at a symbol. */
	assert_string_equal(hftmon_ksyms_lookup(&k, 0xffffffff81000100ull,
						&off),
			    "__schedule");
	assert_int_equal(off, 0);
	/* Data symbols are not functions: the code before them holds it. */
	assert_string_equal(hftmon_ksyms_lookup(&k, 0xffffffff81000190ull,
						&off),
			    "__schedule");
	assert_int_equal(off, 0x90);
	/* Aliases: the first listed. */
	assert_string_equal(hftmon_ksyms_lookup(&k, 0xffffffff81000004ull,
						&off),
			    "_stext");
	/* Module symbols, the module name dropped. */
	assert_string_equal(hftmon_ksyms_lookup(&k, 0xffffffffc0001004ull,
						&off),
			    "hftmon_probe_switch");
	/* Below every symbol. */
	assert_null(hftmon_ksyms_lookup(&k, 0x1000, &off));

	assert_string_equal(hftmon_ksyms_format(&k, 0xffffffff81000408ull, buf,
						sizeof(buf)),
			    "do_nanosleep+0x8");
	assert_string_equal(hftmon_ksyms_format(&k, 0xffffffff81000300ull, buf,
						sizeof(buf)),
			    "weak_fn+0x0");
	assert_string_equal(hftmon_ksyms_format(&k, 0x42, buf, sizeof(buf)),
			    "0x42");
	hftmon_ksyms_free(&k);
}

static void test_kallsyms_restricted(void **state)
{
	struct hftmon_ksyms k;
	char buf[64];

	(void)state;
	write_fixture("0000000000000000 T _stext\n"
		      "0000000000000000 T schedule\n"
		      "0000000000000000 t __schedule\n");
	assert_int_equal(hftmon_ksyms_load(&k, path), 0);
	assert_true(k.zero_addresses);
	assert_null(hftmon_ksyms_lookup(&k, 0xffffffff81000210ull, NULL));
	assert_string_equal(hftmon_ksyms_format(&k, 0xffffffff81000210ull, buf,
						sizeof(buf)),
			    "0xffffffff81000210");
	hftmon_ksyms_free(&k);
}

static void test_kallsyms_missing(void **state)
{
	struct hftmon_ksyms k;

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_kallsyms_lookup, cleanup),
		cmocka_unit_test_teardown(test_kallsyms_restricted, cleanup),
		cmocka_unit_test(test_kallsyms_missing),
		cmocka_unit_test_teardown(test_maps, cleanup),
		cmocka_unit_test(test_maps_self),
	};

	return cmocka_run_group_tests_name("symbols", tests, NULL, NULL);
}
