// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed use of /dev/hftmon gets the documented errno, never an oops
 * (the runner fails the run on any splat in dmesg): raw ioctls with bad
 * sizes, bad pointers, unknown commands, bad pids and flags, calls in the
 * wrong state, bad mmaps; a second session while one runs; and the
 * permission model: root-only node, then the module's own group check,
 * then the ptrace-style check on attach.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/hftmon.h>

#include "vmtest.h"

#define NOBODY 65534

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

#define EXPECT_ERR(call, want)						\
	do {								\
		int _r = (call);					\
		CHECK(_r == (want), "%s: got %d (%s), want %d (%s)",	\
		      #call, _r, strerror(-_r), (want), strerror(-(want))); \
	} while (0)

static int open_dev(void)
{
	int fd = open(HFTMON_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int attach(int fd, unsigned long cmd, int pid, unsigned int flags)
{
	struct hftmon_attach a = { .size = sizeof(a), .pid = pid, .flags = flags };

	return xioctl(fd, cmd, &a);
}

static int configure(int fd, struct hftmon_config *c)
{
	c->size = sizeof(*c);
	return xioctl(fd, HFTMON_IOC_CONFIGURE, c);
}

static void test_info_sizes(int fd)
{
	struct { struct hftmon_info info; char tail[64]; } big;
	struct hftmon_info info;

	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_INFO, NULL), -EFAULT);
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_INFO, (void *)1), -EFAULT);
	memset(&info, 0, sizeof(info));
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_INFO, &info), -EINVAL); /* size 0 */
	info.size = 4;
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_INFO, &info), -EINVAL);
	info.size = 1 << 20;
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_INFO, &info), -EINVAL);
	/* A newer caller's struct: zero tail is fine, non-zero is E2BIG. */
	memset(&big, 0, sizeof(big));
	big.info.size = sizeof(big);
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_INFO, &big), 0);
	CHECK(big.info.abi_version == HFTMON_ABI_VERSION, "abi %u",
	      big.info.abi_version);
	CHECK(big.info.nr_cpu_ids == 2, "nr_cpu_ids %u", big.info.nr_cpu_ids);
	CHECK(big.info.nr_nodes == 2, "nr_nodes %u (qemu has two)",
	      big.info.nr_nodes);
	CHECK(big.info.source_status[HFTMON_SRC_SCHED_SWITCH] == 0,
	      "sched_switch status %d", big.info.source_status[0]);
	memset(&big, 0, sizeof(big));
	big.info.size = sizeof(big);
	big.tail[10] = 1;
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_INFO, &big), -E2BIG);
}

static void test_unknown_commands(int fd)
{
	int dummy = 0;

	EXPECT_ERR(xioctl(fd, _IO(HFTMON_IOC_MAGIC, 0x7f), NULL), -ENOTTY);
	EXPECT_ERR(xioctl(fd, _IOW('x', 1, int), &dummy), -ENOTTY);
	EXPECT_ERR(xioctl(fd, TCGETS, &dummy), -ENOTTY);
}

static void test_state_and_args(int fd)
{
	struct hftmon_config c;
	struct hftmon_stats st;
	struct hftmon_cpu_stats cs[2];

	/* Nothing configured yet. */
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_START, NULL), -EINVAL);
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_STOP, NULL), -EINVAL);
	CHECK(mmap(NULL, 4096 * 2, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
	      errno == EINVAL, "mmap before configure: %s", strerror(errno));

	memset(&c, 0, sizeof(c));
	c.ring_pages = 3;
	EXPECT_ERR(configure(fd, &c), -EINVAL);
	memset(&c, 0, sizeof(c));
	c.ring_pages = 1u << 30;
	EXPECT_ERR(configure(fd, &c), -EINVAL);
	memset(&c, 0, sizeof(c));
	c.flags = 1;
	EXPECT_ERR(configure(fd, &c), -EINVAL);
	memset(&c, 0, sizeof(c));
	c.events = 1ull << 50;
	EXPECT_ERR(configure(fd, &c), -EINVAL);
	memset(&c, 0, sizeof(c));
	c.sample_interval_ns = 1000;	/* sampling without PMU counters */
	EXPECT_ERR(configure(fd, &c), -EINVAL);

	/* Bad pids and flags. */
	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, 0, 0), -EINVAL);
	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, -1, 0), -EINVAL);
	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, 4000000, 0), -ESRCH);
	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, getpid(), 1u << 30), -EINVAL);
	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, getpid(), HFTMON_ATTACH_CACHE),
		   -EOPNOTSUPP);
	{
		struct hftmon_attach a = { .size = sizeof(a), .pid = getpid() };

		a.reserved[0] = 5;
		EXPECT_ERR(xioctl(fd, HFTMON_IOC_ATTACH, &a), -EINVAL);
		/* A kernel-stack minimum without kernel stacks, or above 10 s. */
		a.reserved[0] = 0;
		a.kstack_min_ns = 1000;
		EXPECT_ERR(xioctl(fd, HFTMON_IOC_ATTACH, &a), -EINVAL);
		a.flags = HFTMON_ATTACH_KSTACK;
		a.kstack_min_ns = 10000000001ULL;
		EXPECT_ERR(xioctl(fd, HFTMON_IOC_ATTACH, &a), -EINVAL);
		/* Detach takes no options. */
		a.flags = 0;
		a.kstack_min_ns = 1000;
		EXPECT_ERR(xioctl(fd, HFTMON_IOC_DETACH, &a), -EINVAL);
	}
	EXPECT_ERR(attach(fd, HFTMON_IOC_DETACH, getpid(), 0), -ENOENT);
	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, getpid(), 0), 0);
	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, getpid(), 0), -EEXIST);
	EXPECT_ERR(attach(fd, HFTMON_IOC_DETACH, getpid(), 0), 0);
	EXPECT_ERR(attach(fd, HFTMON_IOC_DETACH, 4000000, 0), -ESRCH);

	/* Stats: bad array pointer, wrong element size. */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.nr_cpus = 2;
	st.cpu_stats_size = sizeof(cs[0]);
	st.cpus_ptr = 8;
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_STATS, &st), -EFAULT);
	st.cpus_ptr = (uintptr_t)cs;
	st.cpu_stats_size = 8;
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_STATS, &st), -EINVAL);
	st.cpu_stats_size = sizeof(cs[0]);
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_GET_STATS, &st), 0);
	CHECK(st.nr_cpus == 2 && cs[1].cpu == 1, "stats cpus %u", st.nr_cpus);
}

static void test_mmap_and_sessions(int fd)
{
	struct hftmon_config c;
	long ps = sysconf(_SC_PAGESIZE);
	size_t sz;
	void *p;
	int fd2;

	memset(&c, 0, sizeof(c));
	c.ring_pages = 4;
	REQUIRE(configure(fd, &c) == 0, "configure");
	sz = c.ring_mmap_size;
	CHECK(sz == 5 * (size_t)ps, "ring_mmap_size %zu", sz);

	CHECK(mmap(NULL, sz - ps, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
	      errno == EINVAL, "short mmap: %s", strerror(errno));
	CHECK(mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, ps) == MAP_FAILED &&
	      errno == EINVAL, "misaligned offset: %s", strerror(errno));
	CHECK(mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 2 * sz) == MAP_FAILED &&
	      errno == EINVAL, "cpu 2 of 2: %s", strerror(errno));
	CHECK(mmap(NULL, sz, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED &&
	      errno == EINVAL, "private mapping: %s", strerror(errno));
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, sz);
	REQUIRE(p != MAP_FAILED, "mmap cpu 1: %s", strerror(errno));
	CHECK(((struct hftmon_ring_ctrl *)p)->cpu == 1, "ctrl cpu %u",
	      ((struct hftmon_ring_ctrl *)p)->cpu);
	CHECK(((struct hftmon_ring_ctrl *)p)->data_size == 4 * (size_t)ps,
	      "data_size");
	EXPECT_ERR(configure(fd, &c), -EBUSY);	/* mapped */
	munmap(p, sz);
	EXPECT_ERR(configure(fd, &c), 0);

	EXPECT_ERR(attach(fd, HFTMON_IOC_ATTACH, getpid(), 0), 0);
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_START, NULL), 0);
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_START, NULL), -EBUSY);
	EXPECT_ERR(configure(fd, &c), -EBUSY);	/* running */

	fd2 = open_dev();
	REQUIRE(fd2 >= 0, "second open: %s", strerror(-fd2));
	EXPECT_ERR(configure(fd2, &c), 0);
	EXPECT_ERR(xioctl(fd2, HFTMON_IOC_START, NULL), -EBUSY);
	close(fd2);
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_STOP, NULL), 0);

	/* Closing a running session stops it: another may start. */
	EXPECT_ERR(xioctl(fd, HFTMON_IOC_START, NULL), 0);
	close(fd);
	fd2 = open_dev();
	REQUIRE(fd2 >= 0, "open: %s", strerror(-fd2));
	EXPECT_ERR(configure(fd2, &c), 0);
	EXPECT_ERR(xioctl(fd2, HFTMON_IOC_START, NULL), 0);
	EXPECT_ERR(xioctl(fd2, HFTMON_IOC_STOP, NULL), 0);
	close(fd2);
}

/* Runs fn as user and group nobody in a child; returns its exit code. */
static int as_nobody(int (*fn)(void))
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		_exit(fn());
	}
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int nobody_open_errno(void)
{
	int fd = open_dev();

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -fd;
}

/* As a member of the allowed group: own process yes, pid 1 no. */
static int nobody_attach(void)
{
	int fd = open_dev();

	if (fd < 0)
		return 10;
	if (attach(fd, HFTMON_IOC_ATTACH, 1, 0) != -EPERM)
		return 11;
	if (attach(fd, HFTMON_IOC_ATTACH, getpid(), 0) != 0)
		return 12;
	close(fd);
	return 0;
}

static void test_permissions(void)
{
	int r;

	r = as_nobody(nobody_open_errno);
	CHECK(r == EACCES, "non-root open of a 0600 node: %d, want EACCES", r);

	/* Node opened up, but nobody is not in allowed_gid: the module says no. */
	REQUIRE(chmod(HFTMON_DEVICE, 0666) == 0, "chmod");
	r = as_nobody(nobody_open_errno);
	CHECK(r == EPERM, "non-root open, not in group: %d, want EPERM", r);

	REQUIRE(vm_param_set("allowed_gid", "65534") == 0, "allowed_gid");
	r = as_nobody(nobody_attach);
	CHECK(r == 0, "group member: step %d failed", r);
	CHECK(vm_param_set("allowed_gid", "-1") == 0, "restore allowed_gid");
	CHECK(chmod(HFTMON_DEVICE, 0600) == 0, "restore mode");
}

/*
 * Random ioctls: our commands with random direction and size bits, and
 * random numbers, on argument buffers of random bytes with a random size
 * field, or NULL, or a bad pointer. Any errno is fine; an oops (the
 * runner watches dmesg), a hang or a crash is not. Deterministic seed.
 */
static void test_fuzz(void)
{
	static const unsigned long cmds[] = {
		HFTMON_IOC_GET_INFO, HFTMON_IOC_CONFIGURE, HFTMON_IOC_ATTACH,
		HFTMON_IOC_DETACH, HFTMON_IOC_START, HFTMON_IOC_STOP,
		HFTMON_IOC_GET_STATS,
	};
	static const uint32_t sizes[] = { 0, 4, 8, 16, 64, 120, 4096, 4097,
					  0xffffffffu };
	unsigned int seed = 12345, i, j, errors = 0, ok = 0;
	uint64_t buf[512];
	int fd = open_dev();

	REQUIRE(fd >= 0, "open: %s", strerror(-fd));
	for (i = 0; i < 20000; i++) {
		unsigned long cmd = cmds[rand_r(&seed) % 7];
		void *arg = buf;
		int r;

		for (j = 0; j < 512; j++)
			buf[j] = ((uint64_t)rand_r(&seed) << 32) | rand_r(&seed);
		switch (rand_r(&seed) % 8) {
		case 0:		/* random direction and size bits */
			cmd = _IOC(rand_r(&seed) & 3, HFTMON_IOC_MAGIC,
				   _IOC_NR(cmd), rand_r(&seed) & _IOC_SIZEMASK);
			break;
		case 1:		/* any command number at all */
			cmd = (unsigned int)rand_r(&seed);
			break;
		case 2:
			arg = NULL;
			break;
		case 3:
			arg = (void *)(uintptr_t)0xdead000;
			break;
		}
		/* Mostly plausible sizes, to get past the first check. */
		if (arg == buf) {
			uint32_t sz = sizes[rand_r(&seed) % 9];

			memcpy(buf, &sz, sizeof(sz));
		}
		if (rand_r(&seed) % 2 && arg == buf)
			memset((char *)buf + 4, 0, 120);	/* zero reserved */
		/* Keep rings small: a random CONFIGURE may succeed. */
		if (_IOC_NR(cmd) == _IOC_NR(HFTMON_IOC_CONFIGURE) && arg == buf) {
			uint32_t pages = 1u << (rand_r(&seed) % 4);

			memcpy((char *)buf + offsetof(struct hftmon_config, ring_pages),
			       &pages, sizeof(pages));
		}
		r = xioctl(fd, cmd, arg);
		if (r)
			errors++;
		else
			ok++;
	}
	INFO("fuzz: 20000 ioctls, %u succeeded, %u failed with an errno", ok, errors);
	close(fd);
}

int main(void)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open_dev();
	REQUIRE(fd >= 0, "open %s: %s", HFTMON_DEVICE, strerror(-fd));
	test_info_sizes(fd);
	test_unknown_commands(fd);
	test_state_and_args(fd);
	test_mmap_and_sessions(fd);	/* closes fd */
	test_permissions();
	test_fuzz();
	return vmtest_result();
}
