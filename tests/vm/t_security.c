// SPDX-License-Identifier: GPL-2.0
/*
 * The permission model (README "Permissions", issue 13), tried as an
 * attacker would, from unprivileged users (uid/gid 65534, with chosen
 * supplementary groups) forked from the root test program:
 *  - a user namespace cannot fake membership of allowed_gid, and its
 *    "root" is nobody to the module;
 *  - the udev way works: a 0660 node owned by a group lets its members in,
 *    a world-openable node or root's group does not;
 *  - ring memory is charged to the configuring task's memory cgroup
 *    (memory.current), pinned beyond the per-user allowance (VmPin in
 *    /proc/PID/status) and refused past RLIMIT_MEMLOCK (EPERM), past the
 *    global cap (ENOSPC), and past the sessions a user may open (EUSERS);
 *    all of it refunded at close and when the reader is killed;
 *  - kernel stacks are refused to an unprivileged session (EACCES), and
 *    no record such a session reads carries a kernel address;
 *  - PMU counters of other PMUs than the CPU's (a tracepoint's) are
 *    refused to an unprivileged session (EPERM: a kernel counter skips
 *    perf_event_open()'s checks), software ones allowed;
 *  - attach checks every thread of the process it tracks;
 *  - tracking ends when a tracked child execs a setuid-root binary (a
 *    DETACH record with its reasons, nothing of the child after it, also
 *    when the exec happened before START), and goes on through a plain
 *    exec;
 *  - an unprivileged session sees the tasks it does not track blanked (a
 *    root process's name and pid appear nowhere), a privileged one sees
 *    them; and pids in the opener's pid namespace (a session opened in a
 *    new pid namespace sees its own process as pid 1).
 * Expected values come from the kernel's own counters and the documented
 * arithmetic, never from hftmon. Parts the kernel cannot do (no user
 * namespaces or memory cgroups on the debug kernel) are skipped, and
 * said so.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/hftmon.h>

#include "vmtest.h"

#define NOBODY		65534
#define GID_ALLOWED	4242	/* allowed_gid in the userns tests */
#define GID_NODE	4243	/* the node's group (the udev way) */
#define CG		"/sys/fs/cgroup"
#define CG_TEST		CG "/hftmon-security"
#define SKIP_PART	77

static long page_size;
static int nr_cpus;		/* possible CPUs: one ring each */

/* ---- helpers ------------------------------------------------------------ */

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int open_dev(void)
{
	int fd = open(HFTMON_DEVICE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int configure(int fd, unsigned int pages)
{
	struct hftmon_config c = { .size = sizeof(c), .ring_pages = pages };

	return xioctl(fd, HFTMON_IOC_CONFIGURE, &c);
}

static int attach(int fd, int pid, unsigned int flags)
{
	struct hftmon_attach a = { .size = sizeof(a), .pid = pid, .flags = flags };

	return xioctl(fd, HFTMON_IOC_ATTACH, &a);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	if (!ok)
		ok = -errno;
	close(fd);
	return ok == 1 ? 0 : (ok ? ok : -EIO);
}

static long read_long(const char *path)
{
	char buf[64];
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		v = strtol(buf, NULL, 10);
	}
	return v;
}

static long param_get(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/hftmon/parameters/%s", name);
	return read_long(path);
}

/* Possible CPUs ("0-1" in /sys): the module makes a ring for each. */
static int possible_cpus(void)
{
	char buf[128] = "", *last;
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	last = strrchr(buf, '-');
	if (!last || strrchr(buf, ',') > last)
		last = strrchr(buf, ',');
	return atoi(last ? last + 1 : buf) + 1;
}

/* VmPin of this process, kB (mm->pinned_vm), or -1. */
static long vm_pin_kb(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* How a child becomes the unprivileged user. */
struct who {
	const gid_t *groups;	/* supplementary groups, or NULL */
	int nr_groups;
	long memlock;		/* RLIMIT_MEMLOCK bytes; -1 = leave it */
	bool in_cgroup;		/* join CG_TEST first */
};

static const gid_t node_group[] = { GID_NODE };
static const struct who member = { node_group, 1, -1, false };
static const struct who stranger = { NULL, 0, -1, false };

static int become(const struct who *w)
{
	char pid[32];

	if (w->in_cgroup) {
		snprintf(pid, sizeof(pid), "%d", getpid());
		if (write_file(CG_TEST "/cgroup.procs", pid))
			return -1;
	}
	if (w->memlock >= 0) {
		struct rlimit rl = { w->memlock, w->memlock };

		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			return -1;
	}
	if (setgroups(w->nr_groups, w->groups) || setgid(NOBODY) ||
	    setuid(NOBODY))
		return -1;
	/* setuid made us non-dumpable: /proc/self would be root's. */
	prctl(PR_SET_DUMPABLE, 1);
	vmtest_failed = 0;	/* the child's own checks only */
	return 0;
}

/* Runs fn as w in a child; its exit code (100: could not become w). */
static int as_user(const struct who *w, int (*fn)(void *), void *arg)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		if (become(w))
			_exit(100);
		_exit(fn(arg));
	}
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* The errno open() gets (0: it opened). */
static int open_errno(void *arg)
{
	int fd = open_dev();

	(void)arg;
	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : -fd;
}

static void node(mode_t mode, gid_t gid)
{
	REQUIRE(chown(HFTMON_DEVICE, 0, gid) == 0, "chown: %s", strerror(errno));
	REQUIRE(chmod(HFTMON_DEVICE, mode) == 0, "chmod: %s", strerror(errno));
}

/*
 * Let members of GID_NODE in the way every module version does
 * (allowed_gid on a world-openable node), so that each part below tests
 * its own finding, whatever the module does with group-owned nodes.
 */
static void let_members_in(bool on)
{
	CHECK(vm_param_set("allowed_gid", on ? "4243" : "-1") == 0, "allowed_gid");
	node(on ? 0666 : 0600, 0);
}

/* ---- user namespaces ---------------------------------------------------- */

struct ns_map {
	const char *uid_map, *gid_map;
};

/* In a new user namespace with these maps: the errno open() gets. */
static int userns_open(void *arg)
{
	const struct ns_map *m = arg;

	if (unshare(CLONE_NEWUSER))
		return SKIP_PART;
	if (write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", m->uid_map) ||
	    write_file("/proc/self/gid_map", m->gid_map))
		return 101;
	return open_errno(NULL);
}

#define USERNS_SYSCTL "/proc/sys/kernel/unprivileged_userns_clone"

static void test_userns(void)
{
	static const struct ns_map fake_group = {
		"65534 65534 1", "4242 65534 1"	/* allowed_gid onto ours */
	};
	static const struct ns_map fake_root = { "0 65534 1", "0 65534 1" };
	long old_clone;
	int r;

	/* Debian can switch unprivileged user namespaces off: on, for this. */
	old_clone = read_long(USERNS_SYSCTL);
	if (old_clone == 0)
		write_file(USERNS_SYSCTL, "1");
	node(0666, 0);	/* let the module decide */
	REQUIRE(vm_param_set("allowed_gid", "4242") == 0, "allowed_gid");
	r = as_user(&stranger, userns_open, (void *)&fake_group);
	if (r == SKIP_PART) {
		INFO("SKIP user namespaces: this kernel cannot create one");
		goto out;
	}
	CHECK(r == EPERM, "userns mapping allowed_gid onto nobody's gid: open %d (%s), want EPERM",
	      r, strerror(r));

	/* allowed_gid=0 and unshare -U -r: "root's group" is nobody's gid. */
	REQUIRE(vm_param_set("allowed_gid", "0") == 0, "allowed_gid");
	r = as_user(&stranger, userns_open, (void *)&fake_root);
	CHECK(r == EPERM, "unshare -U -r with allowed_gid=0: open %d (%s), want EPERM",
	      r, strerror(r));

	/* Root (all capabilities) of a user namespace is nobody here. */
	REQUIRE(vm_param_set("allowed_gid", "-1") == 0, "allowed_gid");
	r = as_user(&stranger, userns_open, (void *)&fake_root);
	CHECK(r == EPERM, "CAP_SYS_ADMIN in a user namespace: open %d, want EPERM", r);

	/* A real member of allowed_gid still gets in from a namespace. */
	{
		static const gid_t g[] = { GID_ALLOWED };
		static const struct who real = { g, 1, -1, false };
		static const struct ns_map own = { "65534 65534 1",
						   "65534 65534 1" };

		REQUIRE(vm_param_set("allowed_gid", "4242") == 0, "allowed_gid");
		r = as_user(&real, userns_open, (void *)&own);
		CHECK(r == 0, "real member of allowed_gid in a userns: open %d", r);
	}
out:
	if (old_clone == 0)
		write_file(USERNS_SYSCTL, "0");
	CHECK(vm_param_set("allowed_gid", "-1") == 0, "restore allowed_gid");
	node(0600, 0);
}

/* ---- the udev way: a group-owned node ------------------------------------ */

static int member_uses_device(void *arg)
{
	int fd = open_dev();

	(void)arg;
	if (fd < 0)
		return -fd;
	if (configure(fd, 1))
		return 200;
	if (attach(fd, getpid(), 0))
		return 201;
	close(fd);
	return 0;
}

static void test_group_node(void)
{
	static const gid_t root_group[] = { 0 };
	static const struct who root_member = { root_group, 1, -1, false };
	int r;

	node(0660, GID_NODE);
	r = as_user(&member, member_uses_device, NULL);
	CHECK(r == 0, "member of the node's group (0660): %d (%s), want 0", r,
	      r < 200 ? strerror(r) : "configure/attach failed");
	r = as_user(&stranger, open_errno, NULL);
	CHECK(r == EACCES, "non-member, 0660 node: %d, want EACCES", r);

	/* Open to the world: the mode is no grant, for members either. */
	node(0666, GID_NODE);
	r = as_user(&member, open_errno, NULL);
	CHECK(r == EPERM, "member, world-openable node: %d, want EPERM", r);
	r = as_user(&stranger, open_errno, NULL);
	CHECK(r == EPERM, "non-member, world-openable node: %d, want EPERM", r);

	/* Left in root's group (dev_mode=0660 without the udev rule). */
	node(0660, 0);
	r = as_user(&root_member, open_errno, NULL);
	CHECK(r == EPERM, "member of group root, 0660 root:root node: %d, want EPERM",
	      r);
	node(0600, 0);
}

/* ---- memory: memcg, RLIMIT_MEMLOCK, global cap, sessions ---------------- */

/* Pages a session of ring_pages holds: a control page + data, per CPU. */
static long session_pages(unsigned int ring_pages)
{
	return (long)(ring_pages + 1) * nr_cpus;
}

/* The allowance (user_mlock_kb per CPU, default 516) in pages. */
static long allowance_pages(void)
{
	long kb = param_get("user_mlock_kb");

	return (kb < 0 ? 516 : kb) / (page_size / 1024) * nr_cpus;
}

static bool memcg_ready(void)
{
	char buf[256] = "";
	int fd;

	if (access(CG "/cgroup.controllers", F_OK)) {
		mkdir(CG, 0755);
		if (mount("none", CG, "cgroup2", 0, NULL))
			return false;
	}
	fd = open(CG "/cgroup.controllers", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	if (fd >= 0)
		close(fd);
	if (!strstr(buf, "memory"))
		return false;
	write_file(CG "/cgroup.subtree_control", "+memory");
	if (mkdir(CG_TEST, 0755) && errno != EEXIST)
		return false;
	return access(CG_TEST "/memory.current", R_OK) == 0;
}

#define RING_PAGES_MEMCG 512

/*
 * memory.current moves in the memcg's per-CPU charge batches
 * (MEMCG_CHARGE_BATCH, 64 pages, kept in a per-CPU stock), so a delta is
 * exact only to that much per CPU.
 */
static long memcg_slack(void)
{
	return 64L * nr_cpus * page_size;
}

static int memcg_session(void *arg)
{
	long before, during, after, want = session_pages(RING_PAGES_MEMCG) * page_size;
	long pin_want = (session_pages(RING_PAGES_MEMCG) - allowance_pages()) *
			(page_size / 1024);
	long kb_used;
	void *map[64];
	size_t sz = (RING_PAGES_MEMCG + 1) * page_size;
	int fd, cpu;

	(void)arg;
	before = read_long(CG_TEST "/memory.current");
	fd = open_dev();
	if (fd < 0)
		return 2;
	CHECK(configure(fd, RING_PAGES_MEMCG) == 0, "configure");
	for (cpu = 0; cpu < nr_cpus && cpu < 64; cpu++) {
		map[cpu] = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				cpu * sz);
		CHECK(map[cpu] != MAP_FAILED, "mmap cpu %d: %s", cpu, strerror(errno));
	}
	during = read_long(CG_TEST "/memory.current");
	kb_used = param_get("ring_kb_used");
	INFO("memcg: memory.current %ld -> %ld (+%ld), rings %ld bytes; VmPin %ld kB (want %ld); ring_kb_used %ld",
	     before, during, during - before, want, vm_pin_kb(), pin_want,
	     kb_used);
	CHECK(during - before >= want - memcg_slack() &&
	      during - before <= want + memcg_slack() + (1L << 20),
	      "memory.current rose by %ld, the rings are %ld bytes",
	      during - before, want);
	CHECK(vm_pin_kb() == pin_want, "VmPin %ld kB, want %ld (beyond the allowance)",
	      vm_pin_kb(), pin_want);
	CHECK(kb_used == want / 1024, "ring_kb_used %ld, want %ld", kb_used,
	      want / 1024);
	for (cpu = 0; cpu < nr_cpus && cpu < 64; cpu++)
		if (map[cpu] != MAP_FAILED)
			munmap(map[cpu], sz);
	close(fd);
	after = read_long(CG_TEST "/memory.current");
	INFO("memcg: after close memory.current %ld (-%ld), VmPin %ld kB",
	     after, during - after, vm_pin_kb());
	CHECK(during - after >= want - memcg_slack(),
	      "close refunded %ld of %ld bytes", during - after, want);
	CHECK(vm_pin_kb() == 0, "VmPin %ld kB after close", vm_pin_kb());
	CHECK(param_get("ring_kb_used") == 0, "ring_kb_used %ld after close",
	      param_get("ring_kb_used"));
	return vmtest_result();
}

/* Configures, maps, tells the parent, and waits to be killed. */
static int held_session(void *arg)
{
	int *gate = arg, fd = open_dev();
	size_t sz = (RING_PAGES_MEMCG + 1) * page_size;
	char c = 'r';

	if (fd < 0 || configure(fd, RING_PAGES_MEMCG) ||
	    mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
		c = 'e';
	if (write(gate[1], &c, 1) != 1)
		return 1;
	for (;;)
		pause();
}

static int allowance_fits(void *arg)
{
	int fd = open_dev(), r;

	(void)arg;
	if (fd < 0)
		return 2;
	/* RLIMIT_MEMLOCK 0: only the allowance is free. */
	r = configure(fd, (unsigned int)(allowance_pages() / nr_cpus - 1));
	close(fd);
	return r ? -r : 0;
}

static void test_memcg(void)
{
	struct who w = { node_group, 1, 64L << 20, true };
	struct who w0 = { node_group, 1, 0, false };
	long base, during, after;
	int gate[2], st, r;
	char c = 0;
	pid_t p;

	let_members_in(true);
	if (!memcg_ready()) {
		INFO("SKIP memory cgroup: no cgroup v2 memory controller here");
		/* The refunds still show in ring_kb_used and VmPin. */
		w.in_cgroup = false;
	}
	if (w.in_cgroup) {
		r = as_user(&w, memcg_session, NULL);
		CHECK(r == 0, "memcg session: %d", r);
	}

	/* A reader killed while it holds mapped rings: all refunded. */
	REQUIRE(pipe(gate) == 0, "pipe");
	base = w.in_cgroup ? read_long(CG_TEST "/memory.current") : 0;
	p = fork();
	REQUIRE(p >= 0, "fork");
	if (p == 0) {
		close(gate[0]);
		if (become(&w))
			_exit(100);
		_exit(held_session(gate));
	}
	close(gate[1]);
	CHECK(read(gate[0], &c, 1) == 1 && c == 'r', "held session set up: %c", c);
	close(gate[0]);
	during = w.in_cgroup ? read_long(CG_TEST "/memory.current") : 0;
	CHECK(param_get("ring_kb_used") ==
	      session_pages(RING_PAGES_MEMCG) * page_size / 1024,
	      "ring_kb_used %ld while held", param_get("ring_kb_used"));
	kill(p, SIGKILL);
	REQUIRE(waitpid(p, &st, 0) == p, "wait");
	after = w.in_cgroup ? read_long(CG_TEST "/memory.current") : 0;
	INFO("killed reader: memory.current %ld -> %ld -> %ld; ring_kb_used %ld",
	     base, during, after, param_get("ring_kb_used"));
	CHECK(param_get("ring_kb_used") == 0, "ring_kb_used %ld after the kill",
	      param_get("ring_kb_used"));
	if (w.in_cgroup)
		CHECK(during - after >= session_pages(RING_PAGES_MEMCG) *
		      page_size - memcg_slack(),
		      "the kill refunded %ld bytes", during - after);
	/* Its allowance is free again for the same user. */
	r = as_user(&w0, allowance_fits, NULL);
	CHECK(r == 0, "the whole allowance after the kill: %d (%s)", r,
	      strerror(r));
	if (w.in_cgroup)
		rmdir(CG_TEST);
	let_members_in(false);
}

struct memlock_case {
	unsigned int ring_pages;
};

static int memlock_try(void *arg)
{
	const struct memlock_case *m = arg;
	long pin_want = session_pages(m->ring_pages) - allowance_pages();
	int fd = open_dev(), r;

	if (fd < 0)
		return 2;
	r = configure(fd, m->ring_pages);
	if (!r && pin_want > 0 && vm_pin_kb() != pin_want * (page_size / 1024)) {
		printf("# VmPin %ld kB, want %ld\n", vm_pin_kb(),
		       pin_want * (page_size / 1024));
		r = -ENOTRECOVERABLE;
	}
	close(fd);
	return r ? -r : 0;
}

static int sessions_try(void *arg)
{
	int want = *(int *)arg, fd[8], i, r = 0;

	for (i = 0; i < want && i < 8; i++) {
		fd[i] = open_dev();
		if (fd[i] < 0)
			return 10 + i;
	}
	r = open_errno(NULL);
	close(fd[0]);
	if (r == EUSERS && open_errno(NULL))	/* a slot is free again */
		r = 20;
	for (i = 1; i < want && i < 8; i++)
		close(fd[i]);
	return r;
}

static void test_limits(void)
{
	struct who w0 = { node_group, 1, 0, false };
	struct who w2m = { node_group, 1, 2L << 20, false };
	struct who w64 = { node_group, 1, 64L << 20, false };
	struct memlock_case fits = { 128 }, over = { 256 };
	long old_cap = param_get("max_ring_mb");
	char buf[32];
	int fd, fd2, r, two = 2;

	let_members_in(true);
	/* 516 KiB = 129 pages per CPU: a 128-page ring fits exactly. */
	r = as_user(&w0, memlock_try, &fits);
	CHECK(r == 0, "within the allowance, RLIMIT_MEMLOCK 0: %d (%s)", r,
	      strerror(r));
	r = as_user(&w0, memlock_try, &over);
	CHECK(r == EPERM, "past the allowance and RLIMIT_MEMLOCK 0: %d (%s), want EPERM",
	      r, strerror(r));
	/* 2 MiB of RLIMIT_MEMLOCK holds the rest (VmPin checked). */
	r = as_user(&w2m, memlock_try, &over);
	CHECK(r == 0, "past the allowance within RLIMIT_MEMLOCK 2 MiB: %d (%s)",
	      r, strerror(r));

	/* Global cap: 2 MiB = 512 pages; two 258-page sessions do not fit. */
	CHECK(vm_param_set("max_ring_mb", "2") == 0, "max_ring_mb");
	fd = open_dev();
	REQUIRE(fd >= 0, "open");
	CHECK(configure(fd, 128) == 0, "first session under the cap");
	r = as_user(&w64, memlock_try, &fits);
	CHECK(r == ENOSPC, "second session past max_ring_mb: %d (%s), want ENOSPC",
	      r, strerror(r));
	fd2 = open_dev();
	REQUIRE(fd2 >= 0, "open");
	r = configure(fd2, 128);
	CHECK(r == -ENOSPC, "root past max_ring_mb too: %d, want -ENOSPC", r);
	close(fd);
	CHECK(configure(fd2, 128) == 0, "room again after close");
	close(fd2);
	snprintf(buf, sizeof(buf), "%ld", old_cap);
	CHECK(vm_param_set("max_ring_mb", buf) == 0, "restore max_ring_mb");

	/* Sessions per user: 2 open, the third EUSERS, root unaffected. */
	CHECK(vm_param_set("max_user_sessions", "2") == 0, "max_user_sessions");
	r = as_user(&member, sessions_try, &two);
	CHECK(r == EUSERS, "third session of one user: %d (%s), want EUSERS", r,
	      r < 10 || r > 20 ? strerror(r) : "opening the first two failed");
	fd = open_dev();
	fd2 = open_dev();
	{
		int fd3 = open_dev();

		CHECK(fd >= 0 && fd2 >= 0 && fd3 >= 0,
		      "CAP_PERFMON is not counted: %d %d %d", fd, fd2, fd3);
		if (fd3 >= 0)
			close(fd3);
	}
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	CHECK(vm_param_set("max_user_sessions", "4") == 0, "restore max_user_sessions");
	let_members_in(false);
}

/* ---- kernel stacks ---------------------------------------------------------- */

static int kstack_attach(void *arg)
{
	int fd = open_dev(), r;

	if (fd < 0)
		return 2;
	r = attach(fd, getpid(), *(unsigned int *)arg);
	close(fd);
	return -r;
}

/*
 * An unprivileged session's own records: with the stacks it may take,
 * none may carry a kernel address. Returns 0, or what went wrong.
 */
static int unprivileged_records(void *arg)
{
	struct hftmon_config c = { .size = sizeof(c), .ring_pages = 64 };
	unsigned int stacks = 0, kernel = 0, records = 0;
	int fd = open_dev(), cpu, i;

	(void)arg;
	if (fd < 0)
		return 2;
	if (xioctl(fd, HFTMON_IOC_CONFIGURE, &c))
		return 3;
	/* Old modules let KSTACK through: take all that is allowed. */
	if (attach(fd, getpid(), HFTMON_ATTACH_KSTACK | HFTMON_ATTACH_USTACK) &&
	    attach(fd, getpid(), HFTMON_ATTACH_USTACK))
		return 4;
	if (xioctl(fd, HFTMON_IOC_START, NULL))
		return 5;
	for (i = 0; i < 30; i++)
		usleep(1000);
	if (xioctl(fd, HFTMON_IOC_STOP, NULL))
		return 6;
	for (cpu = 0; cpu < nr_cpus; cpu++) {
		char *m = mmap(NULL, c.ring_mmap_size, PROT_READ, MAP_SHARED, fd,
			       cpu * c.ring_mmap_size);
		struct hftmon_ring_ctrl *ctrl = (void *)m;
		uint64_t pos, head;

		if (m == MAP_FAILED)
			return 7;
		head = __atomic_load_n(&ctrl->data_head, __ATOMIC_ACQUIRE);
		for (pos = ctrl->data_tail; pos < head;) {
			const struct hftmon_rec_hdr *h = (const void *)(m +
				ctrl->data_offset + (pos & (ctrl->data_size - 1)));

			if (h->size < 8)
				return 8;
			records++;
			if (h->type == HFTMON_REC_STACK) {
				const struct hftmon_rec_stack *s = (const void *)h;
				uint32_t j;

				stacks++;
				if (!(s->hdr.flags & HFTMON_STACK_USER))
					kernel++;
				for (j = 0; j < s->nr; j++)
					if (s->ips[j] >= 0x0000800000000000ull)
						kernel++;
			}
			pos += h->size;
		}
		munmap(m, c.ring_mmap_size);
	}
	close(fd);
	printf("# unprivileged session: %u records, %u STACK records, %u kernel stacks/addresses\n",
	       records, stacks, kernel);
	if (!stacks)
		return 9;
	return kernel ? 10 : 0;
}

/* CONFIGURE with one PMU counter of type *arg: 0 or the errno. */
static int pmu_configure(void *arg)
{
	struct hftmon_config c = { .size = sizeof(c), .ring_pages = 1,
				   .events = HFTMON_EV_SWITCH | HFTMON_EV_PMU,
				   .nr_pmu = 1 };
	int fd = open_dev(), err;

	if (fd < 0)
		return -fd;
	c.pmu[0].type = *(const __u32 *)arg;
	c.pmu[0].config = 0;	/* PERF_COUNT_SW_CPU_CLOCK; a tracepoint's id */
	err = xioctl(fd, HFTMON_IOC_CONFIGURE, &c);
	close(fd);
	return -err;
}

static void test_pmu_types(void)
{
	__u32 sw = 1 /* PERF_TYPE_SOFTWARE */, tp = 2 /* PERF_TYPE_TRACEPOINT */;
	int r;

	let_members_in(true);
	r = as_user(&member, pmu_configure, &tp);
	CHECK(r == EPERM, "unprivileged tracepoint counter: %d (%s), want EPERM",
	      r, strerror(r));
	r = as_user(&member, pmu_configure, &sw);
	CHECK(r == 0, "unprivileged software counter: %d (%s)", r, strerror(r));
	r = pmu_configure(&tp);
	CHECK(r == 0, "tracepoint counter with CAP_PERFMON: %d (%s)", r,
	      strerror(r));
	let_members_in(false);
}

static void test_kstack(void)
{
	unsigned int k = HFTMON_ATTACH_KSTACK, u = HFTMON_ATTACH_USTACK;
	int fd, r;

	let_members_in(true);
	r = as_user(&member, kstack_attach, &k);
	CHECK(r == EACCES, "unprivileged KSTACK attach: %d (%s), want EACCES", r,
	      strerror(r));
	r = as_user(&member, kstack_attach, &u);
	CHECK(r == 0, "unprivileged USTACK attach: %d (%s)", r, strerror(r));
	r = as_user(&member, unprivileged_records, NULL);
	CHECK(r == 0, "unprivileged records: step %d (10: a kernel address)", r);

	fd = open_dev();
	REQUIRE(fd >= 0, "open");
	CHECK(attach(fd, getpid(), k) == 0, "KSTACK with CAP_PERFMON");
	close(fd);

	/* The operator's knob, like kptr_restrict. */
	CHECK(vm_param_set("kstack_restrict", "0") == 0, "kstack_restrict");
	r = as_user(&member, kstack_attach, &k);
	CHECK(r == 0, "kstack_restrict=0, unprivileged KSTACK: %d", r);
	CHECK(vm_param_set("kstack_restrict", "2") == 0, "kstack_restrict");
	fd = open_dev();
	REQUIRE(fd >= 0, "open");
	r = attach(fd, getpid(), k);
	CHECK(r == -EACCES, "kstack_restrict=2, root KSTACK: %d, want -EACCES", r);
	close(fd);
	CHECK(vm_param_set("kstack_restrict", "1") == 0, "restore kstack_restrict");
	let_members_in(false);
}

/* ---- attach checks the whole thread group ------------------------------- */

static int tid_pipe[2];

/* A thread of a root process that makes itself nobody (this thread only). */
static void *turncoat(void *arg)
{
	int *inner = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	/* Raw syscalls: glibc's setresuid() would change every thread. */
	if (syscall(SYS_setresgid, NOBODY, NOBODY, NOBODY) ||
	    syscall(SYS_setresuid, NOBODY, NOBODY, NOBODY))
		tid = -1;
	if (write(inner[1], &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	for (;;)
		pause();
	return NULL;
}

static int attach_tid(void *arg)
{
	int fd = open_dev(), r;

	if (fd < 0)
		return 2;
	r = attach(fd, *(pid_t *)arg, 0);
	close(fd);
	return -r;
}

static void test_thread_group(void)
{
	pid_t p, tid = 0;
	int r, st;

	REQUIRE(pipe(tid_pipe) == 0, "pipe");
	p = fork();
	REQUIRE(p >= 0, "fork");
	if (p == 0) {
		static int inner[2];
		pthread_t th;

		if (pipe(inner) || pthread_create(&th, NULL, turncoat, inner) ||
		    read(inner[0], &tid, sizeof(tid)) != sizeof(tid))
			_exit(1);
		/*
		 * The thread's credential change made the mm non-dumpable;
		 * the process makes it dumpable again, as a program that
		 * drops privileges in one thread might.
		 */
		prctl(PR_SET_DUMPABLE, 1);
		if (write(tid_pipe[1], &tid, sizeof(tid)) != sizeof(tid))
			_exit(1);
		for (;;)
			pause();
	}
	REQUIRE(read(tid_pipe[0], &tid, sizeof(tid)) == sizeof(tid) && tid > 0,
		"turncoat thread");
	let_members_in(true);
	r = as_user(&member, attach_tid, &tid);
	CHECK(r == EPERM, "nobody attaching a root process through its nobody thread %d: %d (%s), want EPERM",
	      tid, r, strerror(r));
	r = as_user(&member, attach_tid, &p);
	CHECK(r == EPERM, "nobody attaching the root process %d: %d, want EPERM",
	      p, r);
	let_members_in(false);
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	close(tid_pipe[0]);
	close(tid_pipe[1]);
}

/* ---- records of a session ----------------------------------------------- */

/* Calls fn on every record in every CPU's ring of fd; count or -1. */
static int for_each_record(int fd, const struct hftmon_config *c,
			   void (*fn)(const struct hftmon_rec_hdr *, void *),
			   void *arg)
{
	int cpu, n = 0;

	for (cpu = 0; cpu < nr_cpus; cpu++) {
		char *m = mmap(NULL, c->ring_mmap_size, PROT_READ, MAP_SHARED,
			       fd, cpu * c->ring_mmap_size);
		struct hftmon_ring_ctrl *ctrl = (void *)m;
		uint64_t pos, head;

		if (m == MAP_FAILED)
			return -1;
		head = __atomic_load_n(&ctrl->data_head, __ATOMIC_ACQUIRE);
		for (pos = ctrl->data_tail; pos < head;) {
			const struct hftmon_rec_hdr *h = (const void *)(m +
				ctrl->data_offset + (pos & (ctrl->data_size - 1)));

			if (h->size < sizeof(*h)) {
				munmap(m, c->ring_mmap_size);
				return -1;
			}
			if (h->type != HFTMON_REC_PAD) {
				fn(h, arg);
				n++;
			}
			pos += h->size;
		}
		munmap(m, c->ring_mmap_size);
	}
	return n;
}

static bool comm_is(const char *comm, const char *name)
{
	return !strncmp(comm, name, HFTMON_TASK_COMM_LEN);
}

static bool comm_empty(const char *comm)
{
	int i;

	for (i = 0; i < HFTMON_TASK_COMM_LEN; i++)
		if (comm[i])
			return false;
	return true;
}

/* ---- exec: tracking ends where a fresh attach would be refused ---------- */

#define EXEC_WORKLOAD	"--exec-workload"
#define SUID_COPY	"/tmp/hftmon-suid"
#define PLAIN_COPY	"/tmp/hftmon-plain"

/*
 * What the exec'd copies of this program run: report the effective uid
 * on fd 3 (the test's proof that the filesystem honoured setuid), then
 * block and wake 50 times, so that a tracked image would make switches.
 */
static int exec_workload(void)
{
	uid_t e = geteuid();
	int i;

	if (write(3, &e, sizeof(e)) != sizeof(e))
		return 1;
	close(3);
	for (i = 0; i < 50; i++)
		usleep(1000);
	return 0;
}

static int copy_self(const char *to, uid_t owner, mode_t mode)
{
	char buf[65536];
	int in = open("/proc/self/exe", O_RDONLY), out;
	ssize_t n;

	unlink(to);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0700);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	close(out);
	/* chmod after chown: chown clears the setuid bit. */
	return chown(to, owner, owner) || chmod(to, mode) ? -1 : 0;
}

struct exec_case {
	const char *path, *comm;
	bool before_start;	/* the exec ends before START */
	/* out, in the child's own checks: */
};

struct exec_scan {
	pid_t child;
	const char *comm;
	unsigned int detach, reason, after, of_child, new_image, stacks_after;
	uint64_t detach_ns;
};

static void exec_scan_detach(const struct hftmon_rec_hdr *h, void *arg)
{
	struct exec_scan *x = arg;
	const struct hftmon_rec_detach *d = (const void *)h;

	if (h->type != HFTMON_REC_DETACH || h->pid != x->child)
		return;
	x->detach++;
	x->reason = d->reason;
	x->detach_ns = h->time_ns;
}

static void exec_scan_rest(const struct hftmon_rec_hdr *h, void *arg)
{
	struct exec_scan *x = arg;
	const struct hftmon_rec_switch *sw = (const void *)h;
	bool child = h->pid == x->child;

	if (h->type == HFTMON_REC_SWITCH && sw->next_pid == x->child)
		child = true;
	if (!child || h->type == HFTMON_REC_DETACH)
		return;
	x->of_child++;
	if (h->type == HFTMON_REC_SWITCH &&
	    (comm_is(sw->prev_comm, x->comm) || comm_is(sw->next_comm, x->comm)))
		x->new_image++;
	if (x->detach && h->time_ns > x->detach_ns) {
		x->after++;
		if (h->type == HFTMON_REC_STACK)
			x->stacks_after++;
	}
}

/* As nobody: attach our own child, let it exec c->path, read what came. */
static int exec_session(void *arg)
{
	const struct exec_case *c = arg;
	struct hftmon_config cfg = { .size = sizeof(cfg), .ring_pages = 64 };
	struct exec_scan x = { .comm = c->comm };
	int fd = open_dev(), gate[2], rep[2], st;
	uid_t euid = (uid_t)-1;
	long dumpable = read_long("/proc/sys/fs/suid_dumpable");
	unsigned int want;
	char go = 'g';
	pid_t child;

	if (fd < 0)
		return 2;
	REQUIRE(xioctl(fd, HFTMON_IOC_CONFIGURE, &cfg) == 0, "configure");
	REQUIRE(pipe(gate) == 0 && pipe(rep) == 0, "pipe");
	child = fork();
	REQUIRE(child >= 0, "fork");
	if (child == 0) {
		char *argv[] = { (char *)c->path, EXEC_WORKLOAD, NULL };

		close(gate[1]);
		close(fd);
		if (read(gate[0], &go, 1) != 1 || dup2(rep[1], 3) != 3)
			_exit(3);
		execv(c->path, argv);
		_exit(4);
	}
	close(gate[0]);
	close(rep[1]);
	REQUIRE(attach(fd, child, HFTMON_ATTACH_USTACK) == 0,
		"attach our own child %d", child);
	if (!c->before_start)
		REQUIRE(xioctl(fd, HFTMON_IOC_START, NULL) == 0, "start");
	REQUIRE(write(gate[1], &go, 1) == 1, "release the child");
	REQUIRE(read(rep[0], &euid, sizeof(euid)) == sizeof(euid),
		"the exec'd image reports its euid");
	if (c->before_start)
		REQUIRE(xioctl(fd, HFTMON_IOC_START, NULL) == 0, "start");
	REQUIRE(waitpid(child, &st, 0) == child, "wait");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	REQUIRE(xioctl(fd, HFTMON_IOC_STOP, NULL) == 0, "stop");
	x.child = child;
	REQUIRE(for_each_record(fd, &cfg, exec_scan_detach, &x) >= 0, "rings");
	REQUIRE(for_each_record(fd, &cfg, exec_scan_rest, &x) >= 0, "rings");
	close(fd);
	INFO("exec %s%s: euid %d, %u DETACH (reason %#x), %u records of the child, %u of them named %s, %u after the DETACH (%u STACK)",
	     c->path, c->before_start ? " before START" : "", (int)euid,
	     x.detach, x.reason, x.of_child, x.new_image, c->comm, x.after,
	     x.stacks_after);
	if (!strcmp(c->path, PLAIN_COPY)) {
		CHECK(euid == NOBODY, "plain copy ran with euid %d", (int)euid);
		CHECK(x.detach == 0, "a plain exec ended tracking (reason %#x)",
		      x.reason);
		CHECK(x.new_image > 0, "no record of the child in its new image %s",
		      c->comm);
		return vmtest_result();
	}
	/* The filesystem honoured setuid, or the test proves nothing. */
	REQUIRE(euid == 0, "the setuid-root copy ran with euid %d: %s is mounted nosuid?",
		(int)euid, SUID_COPY);
	/* Root ids: not nobody's. Non-dumpable unless fs.suid_dumpable=1. */
	want = HFTMON_DETACH_CREDS | (dumpable == 1 ? 0 : HFTMON_DETACH_NONDUMPABLE);
	CHECK(x.detach == 1, "%u DETACH records of the child, want 1", x.detach);
	CHECK(x.reason == want, "DETACH reason %#x, want %#x (fs.suid_dumpable %ld)",
	      x.reason, want, dumpable);
	CHECK(x.after == 0, "%u records of the child after its DETACH", x.after);
	if (c->before_start)
		CHECK(x.of_child == 0, "%u records of the setuid image (exec before START)",
		      x.of_child);
	return vmtest_result();
}

static void test_exec(void)
{
	static const struct exec_case suid = { SUID_COPY, "hftmon-suid", false };
	static const struct exec_case early = { SUID_COPY, "hftmon-suid", true };
	static const struct exec_case plain = { PLAIN_COPY, "hftmon-plain", false };
	int r;

	REQUIRE(copy_self(SUID_COPY, 0, 04755) == 0, "setuid copy: %s",
		strerror(errno));
	REQUIRE(copy_self(PLAIN_COPY, 0, 0755) == 0, "plain copy: %s",
		strerror(errno));
	let_members_in(true);
	r = as_user(&member, exec_session, (void *)&suid);
	CHECK(r == 0, "setuid exec: %d", r);
	r = as_user(&member, exec_session, (void *)&early);
	CHECK(r == 0, "setuid exec before START: %d", r);
	r = as_user(&member, exec_session, (void *)&plain);
	CHECK(r == 0, "plain exec: %d", r);
	let_members_in(false);
	unlink(SUID_COPY);
	unlink(PLAIN_COPY);
}

/* ---- the other side of a switch or wake-up ------------------------------- */

#define ROOT_COMM	"hftmon-rootsec"	/* a root process's name */

struct blank_scan {
	pid_t self, root;
	unsigned int switches, wakeups, named, root_pid, blanked_sw,
		     blanked_wk, bad_self;
};

static void blank_scan(const struct hftmon_rec_hdr *h, void *arg)
{
	struct blank_scan *b = arg;
	const struct hftmon_rec_switch *sw = (const void *)h;
	const struct hftmon_rec_wakeup *wk = (const void *)h;

	if (h->pid == b->root)
		b->root_pid++;
	if (h->type == HFTMON_REC_SWITCH) {
		b->switches++;
		if (comm_is(sw->prev_comm, ROOT_COMM) ||
		    comm_is(sw->next_comm, ROOT_COMM))
			b->named++;
		if (sw->next_pid == b->root)
			b->root_pid++;
		/* Not tracked, not idle ("swapper/N"): must be blank. */
		if (!(h->flags & HFTMON_SWITCH_NEXT_TRACKED) &&
		    strncmp(sw->next_comm, "swapper/", 8)) {
			if (sw->next_pid == 0 && sw->next_tid == 0 &&
			    comm_empty(sw->next_comm))
				b->blanked_sw++;
		}
		if ((h->flags & HFTMON_SWITCH_PREV_TRACKED) && h->pid != b->self)
			b->bad_self++;
	} else if (h->type == HFTMON_REC_WAKEUP) {
		b->wakeups++;
		if (wk->waker_pid == b->root)
			b->root_pid++;
		if (wk->waker_pid == 0 && wk->waker_tid == 0)
			b->blanked_wk++;
		if (h->pid != b->self)
			b->bad_self++;
	}
}

static int ping[2], pong[2];
static pid_t root_helper;

/* Ping-pong with the root helper on CPU 0, recorded; checks by who. */
static int blank_session(void *arg)
{
	struct hftmon_config cfg = { .size = sizeof(cfg), .ring_pages = 64 };
	struct blank_scan b = { .self = getpid(), .root = root_helper };
	bool privileged = arg != NULL;
	cpu_set_t one;
	int fd = open_dev(), i;
	char c = 'p';

	if (fd < 0)
		return 2;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0, "affinity");
	REQUIRE(xioctl(fd, HFTMON_IOC_CONFIGURE, &cfg) == 0, "configure");
	REQUIRE(attach(fd, getpid(), 0) == 0, "attach self");
	REQUIRE(xioctl(fd, HFTMON_IOC_START, NULL) == 0, "start");
	for (i = 0; i < 200; i++)
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			break;
	REQUIRE(xioctl(fd, HFTMON_IOC_STOP, NULL) == 0, "stop");
	REQUIRE(i == 200, "ping-pong stopped at %d", i);
	REQUIRE(for_each_record(fd, &cfg, blank_scan, &b) >= 0, "rings");
	close(fd);
	INFO("%s session: %u switches, %u wake-ups; root helper %d named %u times, its pid seen %u times; blanked: %u switches, %u wakers",
	     privileged ? "privileged" : "unprivileged", b.switches, b.wakeups,
	     root_helper, b.named, b.root_pid, b.blanked_sw, b.blanked_wk);
	CHECK(b.bad_self == 0, "%u records name our own task wrongly", b.bad_self);
	if (privileged) {
		/* The same workload shows the root process to the privileged. */
		CHECK(b.named > 0, "privileged: the root helper's name never seen");
		CHECK(b.root_pid > 0, "privileged: the root helper's pid never seen");
	} else {
		CHECK(b.named == 0, "unprivileged: the root helper's name in %u records",
		      b.named);
		CHECK(b.root_pid == 0, "unprivileged: the root helper's pid in %u places",
		      b.root_pid);
		CHECK(b.blanked_sw > 0, "unprivileged: no switch to a blanked task");
		/*
		 * 6.1-rt has been seen to record no wake-up of this
		 * ping-pong at all (the waker's probes, not the rule): the
		 * root helper's pid checked above is all there is then.
		 */
		if (b.wakeups)
			CHECK(b.blanked_wk > 0, "unprivileged: %u wake-ups, none by a blanked waker",
			      b.wakeups);
		else
			INFO("no wake-up of ours recorded on this kernel: the waker's blanking is not exercised here");
	}
	return vmtest_result();
}

static void test_blanking(void)
{
	cpu_set_t one;
	int r, st;
	char c;

	REQUIRE(pipe(ping) == 0 && pipe(pong) == 0, "pipe");
	root_helper = fork();
	REQUIRE(root_helper >= 0, "fork");
	if (root_helper == 0) {
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		sched_setaffinity(0, sizeof(one), &one);
		prctl(PR_SET_NAME, ROOT_COMM);
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1)
			if (write(pong[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	let_members_in(true);
	r = as_user(&member, blank_session, NULL);
	CHECK(r == 0, "unprivileged session: %d", r);
	let_members_in(false);
	/* Root (CAP_PERFMON), the same workload. */
	{
		pid_t p = fork();

		REQUIRE(p >= 0, "fork");
		if (p == 0) {
			vmtest_failed = 0;
			_exit(blank_session((void *)1));
		}
		REQUIRE(waitpid(p, &st, 0) == p, "wait");
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "privileged session: %#x", st);
	}
	close(ping[1]);
	close(pong[0]);
	waitpid(root_helper, &st, 0);
	close(ping[0]);
	close(pong[1]);
}

/* ---- pids in the opener's pid namespace ---------------------------------- */

struct ns_scan {
	pid_t self, outer;
	unsigned int own, other, outer_seen;
};

static void ns_scan(const struct hftmon_rec_hdr *h, void *arg)
{
	struct ns_scan *n = arg;

	if (h->pid == n->outer || h->tid == n->outer)
		n->outer_seen++;
	if (h->type != HFTMON_REC_SWITCH && h->type != HFTMON_REC_WAKEUP)
		return;
	if (h->type == HFTMON_REC_SWITCH &&
	    !(h->flags & HFTMON_SWITCH_PREV_TRACKED))
		return;		/* the subject is the other side */
	if (h->pid == n->self && h->tid == n->self)
		n->own++;
	else
		n->other++;
}

/* Pid 1 of a new pid namespace: its own session, its own numbers. */
static int pidns_init(pid_t outer)
{
	struct hftmon_config cfg = { .size = sizeof(cfg), .ring_pages = 64 };
	struct ns_scan n = { .self = getpid(), .outer = outer };
	int fd = open_dev(), i;

	if (fd < 0)
		return 20;
	if (xioctl(fd, HFTMON_IOC_CONFIGURE, &cfg) ||
	    attach(fd, getpid(), 0) || xioctl(fd, HFTMON_IOC_START, NULL))
		return 21;
	for (i = 0; i < 50; i++)
		usleep(1000);
	if (xioctl(fd, HFTMON_IOC_STOP, NULL) ||
	    for_each_record(fd, &cfg, ns_scan, &n) < 0)
		return 22;
	close(fd);
	printf("# in a new pid namespace: getpid() %d (%d outside): %u records with our numbers, %u with others, the outer pid %u times\n",
	       n.self, outer, n.own, n.other, n.outer_seen);
	if (n.self != 1)
		return 23;
	if (!n.own)
		return 24;
	return n.other || n.outer_seen ? 25 : 0;
}

static int pidns_session(void *arg)
{
	static const struct ns_map own = { "65534 65534 1", "65534 65534 1" };
	int gate[2], st;
	pid_t p, outer = 0;

	(void)arg;
	if (unshare(CLONE_NEWUSER | CLONE_NEWPID))
		return SKIP_PART;
	if (write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", own.uid_map) ||
	    write_file("/proc/self/gid_map", own.gid_map))
		return 101;
	if (pipe(gate))
		return 102;
	p = fork();		/* pid 1 of the new namespace */
	if (p < 0)
		return 103;
	if (p == 0) {
		close(gate[1]);
		if (read(gate[0], &outer, sizeof(outer)) != sizeof(outer))
			_exit(104);
		_exit(pidns_init(outer));
	}
	close(gate[0]);
	if (write(gate[1], &p, sizeof(p)) != sizeof(p))
		return 105;
	if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return 106;
	return WEXITSTATUS(st);
}

static void test_pid_ns(void)
{
	long old_clone = read_long(USERNS_SYSCTL);
	int r;

	if (old_clone == 0)
		write_file(USERNS_SYSCTL, "1");
	let_members_in(true);
	r = as_user(&member, pidns_session, NULL);
	if (r == SKIP_PART)
		INFO("SKIP pid namespace: this kernel cannot create a user namespace");
	else
		CHECK(r == 0, "session in a new pid namespace: %d (23 not pid 1, 24 none of our records, 25 other numbers or the outer pid seen)",
		      r);
	let_members_in(false);
	if (old_clone == 0)
		write_file(USERNS_SYSCTL, "0");
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], EXEC_WORKLOAD))
		return exec_workload();
	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	nr_cpus = possible_cpus();
	REQUIRE(nr_cpus > 0, "/sys/devices/system/cpu/possible");
	CHECK(vm_param_set("user_mlock_kb", "516") == 0, "user_mlock_kb");
	REQUIRE(getuid() == 0, "runs as root (it makes its own unprivileged users)");
	REQUIRE(access(HFTMON_DEVICE, F_OK) == 0, "no %s", HFTMON_DEVICE);
	INFO("%d possible CPUs, pages of %ld bytes", nr_cpus, page_size);
	test_userns();
	test_group_node();
	test_memcg();
	test_limits();
	test_kstack();
	test_pmu_types();
	test_thread_group();
	test_exec();
	test_blanking();
	test_pid_ns();
	node(0600, 0);
	return vmtest_result();
}
