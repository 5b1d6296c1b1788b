// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The library calls more than one command makes, each in one place, and
 * what their errors mean: opening the device (with libhftmon's messages
 * on stderr under -v), the options every monitoring command shares
 * (targets, the monitor's CPUs, priority and drain interval, --json),
 * configure/attach/start with the monitor placed off the targets' CPUs,
 * the wait that ends when every target has exited, the per-thread
 * scheduling info (sched, and record's thread names), and the lines
 * every report ends with (targets, losses, the monitor and its cost).
 *
 * Each error is one line: what failed, why, and what to do (the limit
 * and its knob, who holds the session, the module to load).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"

#define MODULE_PARAMS "/sys/module/hftmon/parameters/"

static void log_cb(void *ctx, enum hftmon_log_level level, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	(void)ctx;
	if (cli_verbose)
		fprintf(stderr, "hftmon: libhftmon %s: %s\n",
			(unsigned int)level < 4 ? names[level] : "?", msg);
}

static const char *device_path(void)
{
	return cli_device ? cli_device : HFTMON_DEVICE;
}

int open_device(struct hftmon **m)
{
	struct hftmon_open_opts o = { .sz = sizeof(o),
				      .device = cli_device,
				      .log = log_cb };
	int err = hftmon_open(&o, m);

	switch (err) {
	case 0:
		return 0;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return report_line("%s: %s: load hftmon.ko (insmod hftmon.ko, or modprobe hftmon)",
				   device_path(), strerror(-err));
	case -EACCES:
	case -EPERM:
		return report_line("%s: %s: needs root, CAP_PERFMON or CAP_SYS_ADMIN, or the group set in " MODULE_PARAMS "allowed_gid",
				   device_path(), strerror(-err));
	default:
		return report_error(err, "%s", device_path());
	}
}

const char session_options_help[] =
	"  -p, --pid PID            a process (every thread); a thread id is resolved\n"
	"                           to its process; repeatable\n"
	"  -t, --tid TID            one thread only; repeatable\n"
	"  -o, --output FILE        also record everything to FILE, for hftmon\n"
	"                           report -i FILE to print this report again\n"
	"  -- COMMAND [ARGS]        run COMMAND, monitored from its first instruction,\n"
	"                           and stop when it exits\n"
	"      --children           follow the processes the targets fork (and\n"
	"                           theirs), from the fork on; the run lasts while\n"
	"                           one lives\n"
	"      --cpu LIST           run the monitor on these CPUs (\"0\", \"0-1,4\");\n"
	"                           default: CPUs no target may run on, else the\n"
	"                           housekeeping CPUs (outside isolcpus/nohz_full)\n"
	"      --priority N         the monitor's drain at SCHED_FIFO priority N (1..99)\n"
	"      --drain-us N         drain the rings at least every N us (default 10000)\n"
	"      --json               one JSON object instead of the text report\n"
	"  -h, --help               this command's help\n";

bool session_opt(const struct cli_command *cmd, struct session_args *a,
		 int c, const char *arg)
{
	cpu_set_t set;
	int err;

	switch (c) {
	case 'p':
	case 't':
		/* A report takes the targets the recording resolved. */
		if (!cli_replay)
			targets_add(&a->targets, cmd->name, c, arg);
		return true;
	case 'o':
		a->output = arg;
		return true;
	case OPT_CPU:
		err = parse_cpu_list(arg, &set);
		if (err == -ERANGE)
			usage_error("%s: --cpu '%s' is out of range (CPUs 0..%d)",
				    cmd->name, arg, CPU_SETSIZE - 1);
		if (err)
			usage_error("%s: --cpu '%s' is not a CPU list (like 0 or 0-1,4)",
				    cmd->name, arg);
		a->mon.cpu_list = arg;
		return true;
	case OPT_PRIORITY:
		a->mon.priority =
			(int)parse_uint_arg(cmd->name, "--priority", arg, 1, 99);
		return true;
	case OPT_DRAIN_US:
		a->mon.drain_us = (uint32_t)parse_uint_arg(
			cmd->name, "--drain-us", arg, 100, 10000000);
		return true;
	case OPT_JSON:
		a->json = true;
		return true;
	case OPT_CHILDREN:
		a->children = true;
		return true;
	case 'h':
		command_usage(cmd, stdout);
		exit(0);
	default:
		return false;
	}
}

void session_args_finish(const struct cli_command *cmd, struct session_args *a,
			 int argc, char **argv)
{
	a->argc = argc;
	a->argv = argv;
	if (cli_replay)
		return;
	if (optind < argc) {
		if (optind < 2 || strcmp(argv[optind - 1], "--"))
			usage_error("%s: unexpected argument '%s' (a command to run goes after --)",
				    cmd->name, argv[optind]);
		a->targets.command = &argv[optind];
	}
	if (!a->targets.nr && !a->targets.command && !a->watch)
		usage_error("%s: nothing to monitor: give -p PID, -t TID or -- COMMAND",
			    cmd->name);
	if (!a->mon.drain_us)
		a->mon.drain_us = DEFAULT_DRAIN_US;
}

/* Who else has the device open: "pid 123 (hftmon)", or "" if unknown. */
static void session_holder(char *buf, size_t len)
{
	char want[PATH_MAX], path[300], link[PATH_MAX];
	struct dirent *p;
	DIR *proc;

	buf[0] = '\0';
	if (!realpath(device_path(), want))
		return;
	proc = opendir("/proc");
	if (!proc)
		return;
	while ((p = readdir(proc)) && !buf[0]) {
		pid_t pid = (pid_t)atoi(p->d_name);
		struct dirent *f;
		DIR *fds;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
				 f->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (!strcmp(link, want)) {
				char comm[64] = "?";
				FILE *c;

				snprintf(path, sizeof(path), "/proc/%d/comm",
					 (int)pid);
				c = fopen(path, "r");
				if (c) {
					if (fgets(comm, sizeof(comm), c))
						comm[strcspn(comm, "\n")] = '\0';
					fclose(c);
				}
				snprintf(buf, len, "pid %d (%s)", (int)pid,
					 comm);
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

static int start_error(int err, const struct session_args *a)
{
	char holder[128];

	switch (err) {
	case -EBUSY:
		session_holder(holder, sizeof(holder));
		if (holder[0])
			return report_line("start: another monitoring session runs, held by %s: one session at a time; wait for it or stop it",
					   holder);
		return report_line("start: another monitoring session runs: one session at a time; wait for it or stop it (fuser %s names it)",
				   device_path());
	case -EPERM:
		if (a->mon.priority)
			return report_line("start: SCHED_FIFO priority %d for the drain thread refused: needs CAP_SYS_NICE or RLIMIT_RTPRIO >= %d (ulimit -r), or leave out --priority",
					   a->mon.priority, a->mon.priority);
		break;
	case -EINVAL:
		if (a->mon.cpu_list)
			return report_line("start: the drain thread cannot run on CPU %s: not a CPU this process may use (see taskset -p %d)",
					   a->mon.cpu_list, (int)getpid());
		break;
	}
	return report_error(err, "start");
}

static int attach_error(int err, pid_t pid, const struct hftmon_info *info)
{
	switch (err) {
	case -ESRCH:
		return report_line("attach pid %d: no such process (it exited)",
				   (int)pid);
	case -EPERM:
	case -EACCES:
		return report_line("attach pid %d: not allowed to trace it: run as its user or with CAP_SYS_PTRACE",
				   (int)pid);
	case -ENOSPC:
		return report_line("attach pid %d: the session's limit of %u processes is reached: raise " MODULE_PARAMS "max_procs",
				   (int)pid, info->max_procs);
	default:
		return report_error(err, "attach pid %d", (int)pid);
	}
}

static int configure_error(int err, const struct hftmon_monitor_config *cfg,
			   const struct hftmon_info *info)
{
	if (err == -ENOMEM)
		return report_line("configure: no memory for %u pages per CPU ring (%u CPUs): use a smaller --ring-pages",
				   cfg->ring_pages ? cfg->ring_pages :
						     info->default_ring_pages,
				   info->nr_cpu_ids);
	return report_error(err, "configure");
}

/* The placement: --cpu, or chosen from the targets' affinities. */
static int place(struct session *s, const pid_t *pids, unsigned int nr)
{
	struct session_args *a = s->args;
	struct placement *p = &s->place;
	struct placement_in in;
	int err;

	err = placement_read(pids, nr, &in);
	if (err)
		return report_error(err, "the monitor's CPUs");
	if (a->watch)
		CPU_OR(&in.targets, &in.targets, a->watch);
	placement_choose(&in, p);
	if (a->mon.cpu_list) {
		parse_cpu_list(a->mon.cpu_list, &p->cpus); /* checked already */
		p->nr_cpus = CPU_COUNT(&p->cpus);
		p->why = PLACE_USER;
	}
	p->priority = a->mon.priority;
	p->drain_us = a->mon.drain_us;
	p->pid = getpid();
	return 0;
}

/* This thread (and the drain thread it creates) on the chosen CPUs. */
static int place_self(struct session *s, bool drain_here)
{
	struct placement *p = &s->place;
	char cpus[256];

	if (sched_getaffinity(0, sizeof(s->saved_affinity), &s->saved_affinity))
		return report_error(-errno, "the monitor's CPUs");
	if (sched_setaffinity(0, sizeof(p->cpus), &p->cpus)) {
		int err = errno;

		return report_line("the monitor cannot run on CPU %s: %s: give --cpu a CPU this process may use (taskset -p %d)",
				   format_cpu_list(&p->cpus, cpus, sizeof(cpus)),
				   strerror(err), (int)getpid());
	}
	s->placed = true;
	if (drain_here && p->priority) {
		struct sched_param sp = { .sched_priority = p->priority };

		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			return report_line("SCHED_FIFO priority %d refused: %s: needs CAP_SYS_NICE or RLIMIT_RTPRIO >= %d (ulimit -r), or leave out --priority",
					   p->priority, strerror(errno),
					   p->priority);
	}
	return 0;
}

/* ---- -o FILE, and hftmon report -i FILE ------------------------------- */

/* The session note (text, one "key values" line each; version 1). */
#define SESSION_NOTE "hftmon.cli.session"

static int open_output(struct session *s)
{
	const char *path = s->args->output;
	int ret;

	s->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s->out_fd < 0)
		return report_error(-errno, "-o %s: cannot create it", path);
	ret = hftmon_record_to_file(s->m, s->out_fd);
	if (ret)
		return report_error(ret, "-o %s", path);
	return 0;
}

/* An argument as one word: bytes <= ' ', '%' and >= 0x7f as %XX. */
void note_put_word(FILE *f, const char *w)
{
	const unsigned char *c = (const unsigned char *)w;

	if (!*c)
		fputs("%00", f);
	for (; *c; c++)
		if (*c <= ' ' || *c == '%' || *c >= 0x7f)
			fprintf(f, "%%%02X", *c);
		else
			fputc(*c, f);
}

void note_get_word(char *w)
{
	char *o = w;

	for (; *w; w++) {
		unsigned int x;

		if (*w == '%' && sscanf(w + 1, "%2X", &x) == 1) {
			*o++ = (char)x;
			w += 2;
		} else {
			*o++ = *w;
		}
	}
	*o = '\0';
}

static int save_session(struct session *s)
{
	const struct cli_targets *t = &s->args->targets;
	const struct placement *p = &s->place;
	const struct monitor_cost *c = &s->cost;
	char cpus[1024], tcpus[1024];
	char *buf = NULL;
	size_t len = 0;
	unsigned int i;
	FILE *f = open_memstream(&buf, &len);
	int ret;

	if (!f)
		return report_error(-errno, "-o %s", s->args->output);
	fprintf(f, "hftmon-cli-session 1\nargv");
	for (i = 0; i < (unsigned int)s->args->argc; i++) {
		fputc(' ', f);
		note_put_word(f, s->args->argv[i]);
	}
	fprintf(f, "\ntimes %llu %llu\n", (unsigned long long)s->start_ns,
		(unsigned long long)s->stop_ns);
	if (t->child && t->command) {
		fprintf(f, "child %d %d ", (int)t->child, t->child_status);
		note_put_word(f, t->command[0]);
		fputc('\n', f);
	}
	for (i = 0; i < t->nr; i++) {
		fprintf(f, "target %d %d %d %llu\n", (int)t->v[i].pid,
			(int)t->v[i].tid, t->v[i].gone,
			(unsigned long long)t->v[i].gone_ns);
		/* Its own line: an older reader skips it, keeps the target. */
		if (t->v[i].followed)
			fprintf(f, "followed %d\n", (int)t->v[i].pid);
	}
	fprintf(f, "placement %s %d %d %u %s %d\n",
		format_cpu_list(&p->cpus, cpus, sizeof(cpus)), (int)p->why,
		p->priority, p->drain_us,
		format_cpu_list(&p->targets, tcpus, sizeof(tcpus)), (int)p->pid);
	fprintf(f, "cost %u %d %llu %llu %llu %llu %llu\n", c->threads,
		c->have_schedstat, (unsigned long long)c->cpu_ns,
		(unsigned long long)c->timeslices,
		(unsigned long long)c->voluntary,
		(unsigned long long)c->involuntary,
		(unsigned long long)c->at_ns);
	/* The topology the CPU numbers of the records refer to. */
	for (i = 0; i < 4096; i++) {
		char path[96], list[4096];
		FILE *n;

		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%u/cpulist", i);
		n = fopen(path, "r");
		if (!n)
			continue;
		if (fgets(list, sizeof(list), n))
			fprintf(f, "node %u %s", i, list);
		fclose(n);
	}
	if (fclose(f)) {
		free(buf);
		return report_error(-ENOMEM, "-o %s", s->args->output);
	}
	ret = hftmon_file_note(s->m, SESSION_NOTE, buf, len);
	free(buf);
	if (ret)
		return report_error(ret, "-o %s", s->args->output);
	return 0;
}

/* One line of the note: its words split in place. */
static int split(char *line, char **w, int max)
{
	int n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(line, " ", &save); tok && n < max;
	     tok = strtok_r(NULL, " ", &save))
		w[n++] = tok;
	return n;
}

static int load_note(struct session *s, struct session_args *a,
		     const char *path, int *argc, char ***argv)
{
	struct cli_targets *t = &a->targets;
	char *line, *save = NULL, *w[16];
	int n, nargs = 0, cap = 0;
	bool v1 = false;

	for (line = strtok_r(s->saved, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "argv ", 5)) {
			char *p = line + 5, *tok, *sv = NULL;

			for (tok = strtok_r(p, " ", &sv); tok;
			     tok = strtok_r(NULL, " ", &sv)) {
				if (nargs + 2 > cap) {
					char **nv;

					cap = cap ? 2 * cap : 16;
					nv = realloc(s->saved_argv,
						     (size_t)cap * sizeof(*nv));
					if (!nv)
						return report_error(-ENOMEM,
								    "%s", path);
					s->saved_argv = nv;
				}
				note_get_word(tok);
				s->saved_argv[nargs++] = tok;
				s->saved_argv[nargs] = NULL;
			}
			continue;
		}
		n = split(line, w, 16);
		if (n == 2 && !strcmp(w[0], "hftmon-cli-session"))
			v1 = !strcmp(w[1], "1");
		else if (n == 3 && !strcmp(w[0], "times")) {
			s->start_ns = strtoull(w[1], NULL, 10);
			s->stop_ns = strtoull(w[2], NULL, 10);
		} else if (n == 4 && !strcmp(w[0], "child")) {
			t->child = (pid_t)atoi(w[1]);
			t->child_status = atoi(w[2]);
			note_get_word(w[3]);
			s->saved_command0 = w[3];
			t->command = &s->saved_command0;
		} else if (n == 5 && !strcmp(w[0], "target")) {
			struct cli_target *v =
				realloc(t->v, (t->nr + 1) * sizeof(*v));

			if (!v)
				return report_error(-ENOMEM, "%s", path);
			t->v = v;
			v[t->nr].pid = (pid_t)atoi(w[1]);
			v[t->nr].tid = (pid_t)atoi(w[2]);
			v[t->nr].gone = atoi(w[3]) != 0;
			v[t->nr].gone_ns = strtoull(w[4], NULL, 10);
			v[t->nr].followed = false;
			t->nr++;
		} else if (n == 2 && !strcmp(w[0], "followed") && t->nr &&
			   t->v[t->nr - 1].pid == (pid_t)atoi(w[1])) {
			t->v[t->nr - 1].followed = true;
		} else if (n == 7 && !strcmp(w[0], "placement")) {
			CPU_ZERO(&s->place.cpus);
			CPU_ZERO(&s->place.targets);
			if (strcmp(w[1], "-"))
				parse_cpu_list(w[1], &s->place.cpus);
			s->place.nr_cpus = CPU_COUNT(&s->place.cpus);
			s->place.why = (enum placement_why)atoi(w[2]);
			s->place.priority = atoi(w[3]);
			s->place.drain_us = (uint32_t)strtoul(w[4], NULL, 10);
			if (strcmp(w[5], "-"))
				parse_cpu_list(w[5], &s->place.targets);
			s->place.pid = (pid_t)atoi(w[6]);
		} else if (n == 8 && !strcmp(w[0], "cost")) {
			s->cost.threads = (unsigned int)atoi(w[1]);
			s->cost.have_schedstat = atoi(w[2]) != 0;
			s->cost.cpu_ns = strtoull(w[3], NULL, 10);
			s->cost.timeslices = strtoull(w[4], NULL, 10);
			s->cost.voluntary = strtoull(w[5], NULL, 10);
			s->cost.involuntary = strtoull(w[6], NULL, 10);
			s->cost.at_ns = strtoull(w[7], NULL, 10);
		}
	}
	if (!v1 || !nargs)
		return report_line("%s: its session note is not one this hftmon reads (hftmon-cli-session 1)",
				   path);
	*argc = nargs;
	*argv = s->saved_argv;
	return 0;
}

struct session_args *session_replay_args(struct session *s,
					 struct session_args *parsed)
{
	struct session_args *loaded = s->args;

	parsed->targets = loaded->targets; /* shared: session_end() frees them */
	s->args = parsed;
	return loaded;
}

void session_note_file(struct session *s, const char *name, const char *path)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int fd, ret;

	if (s->out_fd < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = realloc(buf, cap ? 2 * cap : 1 << 16);

			if (!nb)
				break;
			buf = nb;
			cap = cap ? 2 * cap : 1 << 16;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	ret = hftmon_file_note(s->m, name, buf, len);
	if (ret)
		report_error(ret, "-o %s: keeping %s", s->args->output, path);
	free(buf);
}

int session_note_path(struct session *s, const char *name, char *buf,
		      size_t len)
{
	const void *data;
	size_t n, i;
	int fd, ret;

	ret = hftmon_file_get_note(s->m, name, &data, &n);
	if (ret)
		return ret;
	for (i = 0; i < 4 && s->note_fds[i] >= 0; i++)
		;
	if (i == 4)
		return -EMFILE;
	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, data, n) != (ssize_t)n) {
		close(fd);
		return -EIO;
	}
	s->note_fds[i] = fd;
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return 0;
}

int session_load(struct session *s, struct session_args *a, const char *path,
		 const char **cmd, int *argc, char ***argv)
{
	struct hftmon_open_opts o = { .sz = sizeof(o), .log = log_cb };
	const void *data;
	size_t len;
	int ret;

	memset(s, 0, sizeof(*s));
	s->args = a;
	s->out_fd = -1;
	memset(s->note_fds, -1, sizeof(s->note_fds));
	a->targets.go_fd = a->targets.err_fd = -1;
	ret = hftmon_open_file(path, &o, &s->m);
	if (ret == -EBADMSG)
		return report_line("%s: not an hftmon recording, or damaged (-v says where): record one with -o FILE",
				   path);
	if (ret == -EPROTONOSUPPORT)
		return report_line("%s: written by a newer hftmon (its format's major version): read it with that hftmon",
				   path);
	if (ret)
		return report_error(ret, "%s", path);
	ret = hftmon_file_get_note(s->m, SESSION_NOTE, &data, &len);
	if (ret) {
		hftmon_close(s->m);
		s->m = NULL;
		return report_line("%s: no hftmon session note: not written by hftmon -o (a libhftmon program's recording)",
				   path);
	}
	s->saved = malloc(len + 1);
	if (!s->saved)
		return report_error(-ENOMEM, "%s", path);
	memcpy(s->saved, data, len);
	s->saved[len] = '\0';
	s->stopped = true;
	ret = load_note(s, a, path, argc, argv);
	if (ret)
		return ret;
	*cmd = (*argv)[0];
	s->command = *cmd;
	return 0;
}

int session_start(struct session *s, struct session_args *a,
		  struct hftmon_monitor_config *cfg,
		  const struct hftmon_attach_opts *ao)
{
	struct hftmon_info info;
	int cpus[CPU_SETSIZE];
	pid_t *pids = NULL;
	unsigned int nr, i;
	int ret, n = 0;

	memset(s, 0, sizeof(*s));
	s->args = a;
	s->out_fd = -1;
	memset(s->note_fds, -1, sizeof(s->note_fds));
	s->command = a->argv ? a->argv[0] : NULL;
	a->targets.go_fd = a->targets.err_fd = -1;
	/* First: the command inherits nothing of the monitor's placement. */
	if (a->targets.command && targets_spawn(&a->targets))
		return EXIT_FAILURE;
	pids = calloc(a->targets.nr + 1, sizeof(*pids));
	if (!pids)
		return report_error(-ENOMEM, "targets");
	nr = targets_processes(&a->targets, pids);

	if (open_device(&s->m))
		goto err;
	info.size = sizeof(info);
	ret = hftmon_get_info(s->m, &info);
	if (ret) {
		report_error(ret, "info");
		goto err_close;
	}
	/* Only a refinement of the TASK parts: a module without it explains too. */
	if (!(info.features & HFTMON_FEAT_RUNQ))
		cfg->events &= ~HFTMON_EV_RUNQ;
	if (cfg->ring_pages > info.max_ring_pages) {
		report_line("--ring-pages %u is out of range: the module allows up to %u (raise " MODULE_PARAMS "max_ring_pages)",
			    cfg->ring_pages, info.max_ring_pages);
		goto err_close;
	}
	if (nr > info.max_procs) {
		report_line("%u processes to attach: the session's limit is %u (raise " MODULE_PARAMS "max_procs)",
			    nr, info.max_procs);
		goto err_close;
	}
	if (place(s, pids, nr))
		goto err_close;
	if (cfg->drain_thread) {
		for (i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &s->place.cpus))
				cpus[n++] = (int)i;
		cfg->cpu_affinity = cpus;
		cfg->nr_cpu_affinity = (size_t)n;
		cfg->realtime_priority = s->place.priority;
		cfg->drain_interval_us = s->place.drain_us;
	}
	ret = hftmon_configure(s->m, cfg);
	cfg->cpu_affinity = NULL; /* cpus[] ends here */
	cfg->nr_cpu_affinity = 0;
	if (ret) {
		configure_error(ret, cfg, &info);
		goto err_close;
	}
	if (a->children) {
		/* --children: every target process passes its tracking on. */
		s->ao = ao ? *ao : (struct hftmon_attach_opts){ .sz = sizeof(s->ao) };
		s->ao.sz = sizeof(s->ao);
		s->ao.follow_children = true;
		ao = &s->ao;
	}
	for (i = 0; i < nr; i++) {
		ret = hftmon_attach_process(s->m, pids[i], ao);
		if (ret) {
			attach_error(ret, pids[i], &info);
			goto err_close;
		}
	}
	if (a->output && open_output(s))
		goto err_close;
	if (place_self(s, !cfg->drain_thread))
		goto err_close;
	install_signals();
	monitor_cost_read(&s->cost_start);
	s->start_ns = now_ns();
	ret = hftmon_start(s->m);
	if (ret) {
		start_error(ret, a);
		goto err_close;
	}
	if (targets_release(&a->targets)) {
		hftmon_stop(s->m);
		goto err_close;
	}
	free(pids);
	return 0;

err_close:
	session_end(s);
	free(pids);
	return EXIT_FAILURE;
err:
	targets_fini(&a->targets);
	free(pids);
	return EXIT_FAILURE;
}

bool session_wait(struct session *s, uint64_t deadline)
{
	return session_wait_trigger(s, deadline, NULL, NULL);
}

/*
 * --children: the processes the library says were followed become
 * targets (the run lasts while one lives, and the reports show them).
 */
static void follow_children(struct session *s)
{
	pid_t pids[256];
	int n, i;

	if (!s->args->children)
		return;
	n = hftmon_get_processes(s->m, pids, 256, NULL);
	for (i = 0; i < n && i < 256; i++)
		if (targets_add_followed(&s->args->targets, pids[i]))
			return;
	if (n > 256 && !s->followed_noted) {
		note("more than 256 processes tracked: the rest are recorded but not shown as targets");
		s->followed_noted = true;
	}
}

/*
 * Every target gone, the children followed included: a child forked just
 * before its parent exited is known once the drain has passed its fork,
 * so the answer is final only after one more drain interval.
 */
bool session_targets_gone(struct session *s)
{
	unsigned int nr;

	follow_children(s);
	if (!targets_all_gone(&s->args->targets))
		return false;
	if (!s->args->children)
		return true;
	nr = s->args->targets.nr;
	sleep_until(now_ns() + 2000ull * (s->place.drain_us ?
						  s->place.drain_us :
						  DEFAULT_DRAIN_US));
	follow_children(s);
	return s->args->targets.nr == nr ||
	       targets_all_gone(&s->args->targets);
}

bool session_wait_trigger(struct session *s, uint64_t deadline,
			  bool (*trigger)(struct session *s, void *arg),
			  void *arg)
{
	for (;;) {
		uint64_t now = now_ns(), next = now + 100000000u;

		if (stopping())
			return false;
		if (session_targets_gone(s))
			return true;
		if (trigger && trigger(s, arg))
			return true;
		if (deadline && now >= deadline)
			return false;
		if (deadline && deadline < next)
			next = deadline;
		sleep_until(next);
	}
}

int session_stop(struct session *s)
{
	struct monitor_cost end;
	int ret;

	/* Before stop: the drain thread ends with it. */
	monitor_cost_read(&end);
	monitor_cost_delta(&s->cost_start, &end, &s->cost);
	s->stop_ns = now_ns();
	ret = hftmon_stop(s->m);
	s->stopped = true;
	follow_children(s); /* everything is drained now */
	targets_all_gone(&s->args->targets);
	if (ret && s->out_fd >= 0)
		return report_error(ret, "stop (or writing %s)",
				    s->args->output);
	if (ret)
		return report_error(ret, "stop");
	if (s->out_fd >= 0)
		return save_session(s);
	return 0;
}

void session_end(struct session *s)
{
	hftmon_close(s->m);
	s->m = NULL;
	if (s->out_fd >= 0 && close(s->out_fd))
		report_error(-errno, "%s", s->args->output);
	s->out_fd = -1;
	free(s->saved);
	free(s->saved_argv);
	s->saved = NULL;
	s->saved_argv = NULL;
	for (int i = 0; i < 4; i++)
		if (s->note_fds[i] >= 0) {
			close(s->note_fds[i]);
			s->note_fds[i] = -1;
		}
	if (s->placed) {
		struct sched_param sp = { .sched_priority = 0 };

		sched_setscheduler(0, SCHED_OTHER, &sp);
		sched_setaffinity(0, sizeof(s->saved_affinity),
				  &s->saved_affinity);
		s->placed = false;
	}
	targets_fini(&s->args->targets);
}

int get_threads(struct hftmon *m, pid_t pid, struct hftmon_thread_info **info,
		size_t *cap)
{
	int n;

	for (;;) {
		n = hftmon_get_thread_scheduling_info(m, pid, *info, *cap);
		if (n < 0 || (size_t)n <= *cap)
			return n;
		free(*info);
		*cap = (size_t)n + 16; /* threads may appear meanwhile */
		*info = calloc(*cap, sizeof(**info));
		if (!*info) {
			*cap = 0;
			return -ENOMEM;
		}
		(*info)[0].sz = sizeof(**info);
	}
}

int get_latencies(struct hftmon *m, const struct hftmon_thread_info *t, int n,
		  uint64_t window_us, struct hftmon_latency *lat)
{
	int i, err;

	for (i = 0; i < n; i++) {
		struct hftmon_latency_query q = { .sz = sizeof(q),
						  .pid = t[i].pid,
						  .tid = t[i].tid,
						  .window_us = window_us };

		lat[i] = (struct hftmon_latency){ .sz = sizeof(lat[i]) };
		err = hftmon_get_wakeup_latency(m, &q, &lat[i]);
		if (err && err != -ENODATA)
			return err;
	}
	return 0;
}

void print_losses(struct hftmon *m)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	int ret = hftmon_get_stats(m, &sum, NULL, 0);

	if (ret) {
		report_error(ret, "statistics");
		return;
	}
	printf("lost: %llu records in the kernel (ring_full %llu, too_big %llu, no_space %llu), %llu seq gaps; history overwritten: %llu switches, %llu wake-ups; aggregator: %llu late, %llu dropped\n",
	       (unsigned long long)sum.lost_total,
	       (unsigned long long)sum.lost[HFTMON_LOST_RING_FULL],
	       (unsigned long long)sum.lost[HFTMON_LOST_TOO_BIG],
	       (unsigned long long)sum.lost[HFTMON_LOST_NO_SPACE],
	       (unsigned long long)sum.seq_gaps,
	       (unsigned long long)sum.switches_overwritten,
	       (unsigned long long)sum.wakeups_overwritten,
	       (unsigned long long)sum.aggregator_late,
	       (unsigned long long)sum.aggregator_dropped);
}

void print_losses_json(struct hftmon *m)
{
	struct hftmon_stats_summary sum = { .sz = sizeof(sum) };
	int ret = hftmon_get_stats(m, &sum, NULL, 0);

	if (ret) {
		report_error(ret, "statistics");
		printf("\"lost\": null");
		return;
	}
	printf("\"records_written\": %llu, \"lost\": {\"total\": %llu, \"ring_full\": %llu, \"too_big\": %llu, \"no_space\": %llu, \"seq_gaps\": %llu, \"bad_records\": %llu, \"switches_overwritten\": %llu, \"wakeups_overwritten\": %llu, \"aggregator_late\": %llu, \"aggregator_dropped\": %llu}",
	       (unsigned long long)sum.records,
	       (unsigned long long)sum.lost_total,
	       (unsigned long long)sum.lost[HFTMON_LOST_RING_FULL],
	       (unsigned long long)sum.lost[HFTMON_LOST_TOO_BIG],
	       (unsigned long long)sum.lost[HFTMON_LOST_NO_SPACE],
	       (unsigned long long)sum.seq_gaps,
	       (unsigned long long)sum.bad_records,
	       (unsigned long long)sum.switches_overwritten,
	       (unsigned long long)sum.wakeups_overwritten,
	       (unsigned long long)sum.aggregator_late,
	       (unsigned long long)sum.aggregator_dropped);
}

void session_print_footer(struct session *s)
{
	targets_print(&s->args->targets, stdout);
	print_losses(s->m);
	monitor_print(&s->place, &s->cost, stdout);
}

void session_print_json_head(struct session *s, const char *command,
			     double interval_s)
{
	uint64_t end = s->stop_ns ? s->stop_ns : now_ns();

	printf("{\"command\": \"%s\", \"hftmon_version\": \"%s\", \"time\": {\"clock\": \"CLOCK_MONOTONIC\", \"start_ns\": %llu, \"end_ns\": %llu, \"duration_s\": %.6f}, \"interval_s\": %.6f,\n ",
	       command, HFTMON_VERSION_STRING,
	       (unsigned long long)s->start_ns, (unsigned long long)end,
	       (double)(end - s->start_ns) / 1e9, interval_s);
	targets_print_json(&s->args->targets);
	printf(",\n ");
	print_losses_json(s->m);
	printf(",\n ");
	monitor_print_json(&s->place, &s->cost);
}
