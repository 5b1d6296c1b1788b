/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The injector's (hftmon_inject.ko) userspace side, for the VM tests and
 * the spike benchmark: where its parameters are, and reading "last",
 * which holds "START END [INNER_START INNER_END]" of the last injection
 * (CLOCK_MONOTONIC ns; "0 0" while it still runs).
 */
#ifndef HFTMON_INJECT_USER_H
#define HFTMON_INJECT_USER_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define INJECT_PARAMS "/sys/module/hftmon_inject/parameters/"

/* Up to max (<= 4) of last's numbers into t: how many it held, or -1. */
static inline int inject_read_last(uint64_t *t, int max)
{
	unsigned long long v[4] = { 0 };
	char buf[128];
	int f = open(INJECT_PARAMS "last", O_RDONLY), i, n;
	ssize_t len;

	if (f < 0)
		return -1;
	len = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	n = sscanf(buf, "%llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3]);
	for (i = 0; i < max && i < 4; i++)
		t[i] = v[i];
	return n;
}

#endif /* HFTMON_INJECT_USER_H */
