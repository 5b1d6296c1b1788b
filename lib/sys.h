/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The thin layer every system call of libhftmon goes through. Production
 * uses the libc functions; unit tests swap in a fake device with
 * hftmon_sys_set_ops() so error paths can be driven without a kernel.
 * Each op follows libc conventions: -1 (or MAP_FAILED) and errno set.
 */
#ifndef HFTMON_LIB_SYS_H
#define HFTMON_LIB_SYS_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "internal.h"

struct hftmon_sys_ops {
	int (*open)(const char *path, int flags);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long cmd, void *arg);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off);
	int (*munmap)(void *addr, size_t len);
	int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout_ms);
};

/* The ops in force; never NULL. */
HFTMON_INTERNAL extern const struct hftmon_sys_ops *hftmon_sys;

/* Installs ops (NULL restores libc) and returns the previous ones. */
HFTMON_INTERNAL const struct hftmon_sys_ops *
hftmon_sys_set_ops(const struct hftmon_sys_ops *ops);

#endif /* HFTMON_LIB_SYS_H */
