/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source families hftmon.ko is built with, one line per file in this
 * directory (struct hftmon_family hftmon_family_<name>, defined there).
 * Included with HFTMON_FAMILY() defined: hftmon_probe.h declares the
 * tables, hftmon_probes.c lists them. Adding a family is one line here.
 */
HFTMON_FAMILY(sched)
HFTMON_FAMILY(irq)
HFTMON_FAMILY(spike)
HFTMON_FAMILY(numa)
HFTMON_FAMILY(pmu)
