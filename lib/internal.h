/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Definitions shared by libhftmon's sources. The library is built with
 * -fvisibility=hidden: only the functions of <hftmon.h> are marked
 * HFTMON_API and exported (listed in lib/libhftmon.map, node HFTMON_2.0).
 * Internal modules (ring reader, record checks, syscall layer) stay
 * linkable from the static library, which the tests and the bench use;
 * the CLI uses only the exported API.
 */
#ifndef HFTMON_LIB_INTERNAL_H
#define HFTMON_LIB_INTERNAL_H

#define HFTMON_API __attribute__((visibility("default")))
#define HFTMON_INTERNAL __attribute__((visibility("hidden")))

#define HFTMON_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* HFTMON_LIB_INTERNAL_H */
