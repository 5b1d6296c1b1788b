// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libc-backed system call ops, and the switch tests use to replace them.
 * Keeping the calls behind one table costs an indirect call per syscall,
 * none of which is on the drain path.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sys.h"

static int sys_open(const char *path, int flags)
{
	return open(path, flags);
}

static int sys_close(int fd)
{
	return close(fd);
}

static int sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg);
}

static const struct hftmon_sys_ops libc_ops = {
	.open = sys_open,
	.close = sys_close,
	.ioctl = sys_ioctl,
	.mmap = mmap,
	.munmap = munmap,
	.poll = poll,
};

const struct hftmon_sys_ops *hftmon_sys = &libc_ops;

const struct hftmon_sys_ops *
hftmon_sys_set_ops(const struct hftmon_sys_ops *ops)
{
	const struct hftmon_sys_ops *old = hftmon_sys;

	hftmon_sys = ops ? ops : &libc_ops;
	return old;
}
