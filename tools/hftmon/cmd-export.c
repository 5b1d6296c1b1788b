// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * hftmon export -i FILE --perfetto OUT: a recording (-o FILE) as a trace
 * that Perfetto (ui.perfetto.dev, "Open trace file") and Chrome's
 * about:tracing / DevTools Performance panel open: the JSON trace-event
 * format (Google's "Trace Event Format" document), times in microseconds
 * with nanosecond decimals, CLOCK_MONOTONIC.
 *
 * What it holds:
 * - one process per target process, one thread per tracked thread, with
 *   their names; on each thread track, from the library's completed
 *   switches (hftmon_get_context_switches() over the whole file):
 *   "running" slices (switch-in to the next switch-out), "off-CPU"
 *   slices (switch-out to switch-in; args: voluntary or preempted, who
 *   took the CPU, the CPUs), and inside them "runnable" slices from the
 *   wake-up to the switch-in (the wake-up latency; args: the waker);
 * - one "CPU n" process per CPU whose tracks show the tracked threads'
 *   running slices and every interruption recorded there (device IRQs,
 *   system vectors, softirqs, NMIs: their gross span, net time in args),
 *   nested as they nested.
 * A running slice exists only between two records of the thread: the
 * first stretch before its first switch-out and the last after its last
 * switch-in are not drawn (they have no recorded start or end).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* CPU tracks as processes of their own, above any pid (pid_max <= 2^22). */
#define CPU_PID_BASE 0x40000000

struct export_ctx {
	FILE *f;
	bool first;
	unsigned long long irqs;
	char (*irq_names)[HFTMON_IRQ_NAME_LEN]; /* device IRQ names by number */
};

#define MAX_IRQ_NAMES 4096

static void event_start(struct export_ctx *x)
{
	fputs(x->first ? "\n" : ",\n", x->f);
	x->first = false;
}

/* A JSON string into f: quotes, backslashes and control bytes escaped. */
static void jstr(FILE *f, const char *s, size_t max)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ns as the format's microseconds, to the nanosecond. */
static void us(FILE *f, const char *key, uint64_t ns)
{
	fprintf(f, "\"%s\": %llu.%03llu", key, (unsigned long long)(ns / 1000),
		(unsigned long long)(ns % 1000));
}

/* A metadata event up to its argument's value, which the caller writes. */
static void meta_begin(struct export_ctx *x, const char *what, int pid,
		       int tid, const char *arg)
{
	event_start(x);
	fprintf(x->f, "{\"name\": \"%s\", \"ph\": \"M\", \"pid\": %d, \"tid\": %d, \"args\": {\"%s\": ",
		what, pid, tid, arg);
}

static void meta(struct export_ctx *x, const char *what, int pid, int tid,
		 const char *name, size_t max)
{
	meta_begin(x, what, pid, tid, "name");
	jstr(x->f, name, max);
	fputs("}}", x->f);
}

static void slice(struct export_ctx *x, const char *name, int pid, int tid,
		  uint64_t start, uint64_t end)
{
	event_start(x);
	fprintf(x->f, "{\"name\": \"%s\", \"cat\": \"sched\", \"ph\": \"X\", \"pid\": %d, \"tid\": %d, ",
		name, pid, tid);
	us(x->f, "ts", start);
	fputs(", ", x->f);
	us(x->f, "dur", end - start);
}

static int by_thread(const void *pa, const void *pb)
{
	const struct hftmon_switch_event *a = pa, *b = pb;

	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return a->out_ns < b->out_ns ? -1 : a->out_ns > b->out_ns;
}

static void export_switches(struct export_ctx *x,
			    struct hftmon_switch_event *ev, int n)
{
	int i;

	qsort(ev, (size_t)n, sizeof(*ev), by_thread);
	for (i = 0; i < n; i++) {
		const struct hftmon_switch_event *e = &ev[i];

		if (!i || ev[i - 1].tid != e->tid) {
			meta_begin(x, "process_name", e->pid, e->pid, "name");
			fprintf(x->f, "\"pid %d\"}}", e->pid);
			meta(x, "thread_name", e->pid, e->tid, e->comm,
			     sizeof(e->comm));
		} else {
			/* Running from the last switch-in to this switch-out. */
			const struct hftmon_switch_event *p = &ev[i - 1];

			slice(x, "running", e->pid, e->tid, p->in_ns, e->out_ns);
			fprintf(x->f, ", \"args\": {\"cpu\": %d}}", p->in_cpu);
			slice(x, "running", CPU_PID_BASE + p->in_cpu, p->in_cpu,
			      p->in_ns, e->out_ns);
			fprintf(x->f, ", \"args\": {\"tid\": %d, \"comm\": ", e->tid);
			jstr(x->f, e->comm, sizeof(e->comm));
			fputs("}}", x->f);
		}
		slice(x, "off-CPU", e->pid, e->tid, e->out_ns, e->in_ns);
		fprintf(x->f, ", \"args\": {\"kind\": \"%s\", \"out_cpu\": %d, \"in_cpu\": %d, \"next_tid\": %d, \"next_comm\": ",
			e->voluntary ? "voluntary" : "preempted", e->out_cpu,
			e->in_cpu, e->next_tid);
		jstr(x->f, e->next_comm, sizeof(e->next_comm));
		fprintf(x->f, ", \"next_prio\": %d}}", e->next_prio);
		if (e->wakeup_ns && e->wakeup_ns >= e->out_ns &&
		    e->wakeup_ns <= e->in_ns) {
			slice(x, "runnable", e->pid, e->tid, e->wakeup_ns,
			      e->in_ns);
			fprintf(x->f, ", \"args\": {\"waker_pid\": %d, \"waker_tid\": %d}}",
				e->waker_pid, e->waker_tid);
		}
	}
}

static const char *irq_kind(uint32_t kind)
{
	switch (kind) {
	case HFTMON_IRQ_KIND_DEVICE:
		return "irq";
	case HFTMON_IRQ_KIND_VECTOR:
		return "vector";
	case HFTMON_IRQ_KIND_SOFTIRQ:
		return "softirq";
	default:
		return "nmi";
	}
}

/* Every interruption record, on its CPU's track. */
static int export_irq(void *ctx, const struct hftmon_rec_hdr *rec)
{
	struct export_ctx *x = ctx;
	const struct hftmon_rec_irq *r = (const void *)rec;
	const char *name = "";
	char label[96];

	if (rec->type != HFTMON_REC_IRQ && rec->type != HFTMON_REC_SOFTIRQ)
		return 0;
	if (r->kind == HFTMON_IRQ_KIND_DEVICE && r->nr < MAX_IRQ_NAMES) {
		if ((rec->flags & HFTMON_IRQ_NAMED) &&
		    rec->size >= sizeof(*r) + HFTMON_IRQ_NAME_LEN)
			memcpy(x->irq_names[r->nr], (const char *)(r + 1),
			       HFTMON_IRQ_NAME_LEN);
		x->irq_names[r->nr][HFTMON_IRQ_NAME_LEN - 1] = '\0';
		name = x->irq_names[r->nr];
	}
	if (r->kind == HFTMON_IRQ_KIND_VECTOR)
		snprintf(label, sizeof(label), "vector %#x", r->nr);
	else if (r->kind == HFTMON_IRQ_KIND_NMI)
		snprintf(label, sizeof(label), "nmi");
	else
		snprintf(label, sizeof(label), "%s %u%s%s", irq_kind(r->kind),
			 r->nr, name[0] ? " " : "", name);
	if (rec->time_ns < r->start_ns)
		return 0;
	event_start(x);
	fprintf(x->f, "{\"name\": ");
	jstr(x->f, label, sizeof(label));
	fprintf(x->f, ", \"cat\": \"%s\", \"ph\": \"X\", \"pid\": %d, \"tid\": %d, ",
		irq_kind(r->kind), CPU_PID_BASE + rec->cpu, rec->cpu);
	us(x->f, "ts", r->start_ns);
	fputs(", ", x->f);
	us(x->f, "dur", rec->time_ns - r->start_ns);
	fputs(", \"args\": {", x->f);
	us(x->f, "net_us", r->net_ns);
	fprintf(x->f, ", \"depth\": %u, \"interrupted_tid\": %d}}", r->depth,
		rec->tid);
	x->irqs++;
	return 0;
}

static int run_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "perfetto", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hftmon_switch_query q = { .sz = sizeof(q) };
	struct hftmon_switch_event *ev = NULL;
	struct export_ctx x = { .first = true };
	const char *input = NULL, *output = NULL, *name;
	struct hftmon_info info = { .size = sizeof(info) };
	struct session_args a;
	struct session s;
	int c, n = 0, status = 0, rargc, ret;
	unsigned int cpu;
	char **rargv;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'P':
			output = optarg;
			break;
		case 'h':
			command_usage(&cmd_export, stdout);
			return 0;
		default:
			bad_option("export", c, argv);
		}
	}
	if (optind < argc)
		usage_error("export: unexpected argument '%s'", argv[optind]);
	if (!input || !output)
		usage_error("export: -i FILE (a recording) and --perfetto OUT are needed");

	memset(&a, 0, sizeof(a));
	status = session_load(&s, &a, input, &name, &rargc, &rargv);
	if (status)
		goto out;
	x.irq_names = calloc(MAX_IRQ_NAMES, sizeof(*x.irq_names));
	if (!x.irq_names) {
		status = report_error(-ENOMEM, "export");
		goto out;
	}
	n = hftmon_get_context_switches(s.m, &q, NULL, 0);
	if (n == -EOPNOTSUPP)
		n = 0; /* record's files have no aggregator: records only */
	if (n > 0) {
		ev = calloc((size_t)n, sizeof(*ev));
		if (!ev) {
			status = report_error(-ENOMEM, "export");
			goto out;
		}
		ev[0].sz = sizeof(*ev);
		n = hftmon_get_context_switches(s.m, &q, ev, (size_t)n);
	}
	if (n < 0) {
		status = report_error(n, "switches of %s", input);
		goto out;
	}
	x.f = fopen(output, "w");
	if (!x.f) {
		status = report_error(-errno, "--perfetto %s: cannot create it",
				      output);
		goto out;
	}
	fprintf(x.f, "{\"displayTimeUnit\": \"ns\", \"otherData\": {\"producer\": \"hftmon %s\", \"clock\": \"CLOCK_MONOTONIC\", \"recorded_by\": ",
		HFTMON_VERSION_STRING);
	jstr(x.f, name, 64);
	fputs("},\n\"traceEvents\": [", x.f);
	if (!hftmon_get_info(s.m, &info))
		for (cpu = 0; cpu < info.nr_cpu_ids && cpu < 4096; cpu++) {
			char cname[32];

			snprintf(cname, sizeof(cname), "CPU %u", cpu);
			meta(&x, "process_name", CPU_PID_BASE + (int)cpu,
			     (int)cpu, cname, sizeof(cname));
			meta_begin(&x, "process_sort_index",
				   CPU_PID_BASE + (int)cpu, (int)cpu, "sort_index");
			fprintf(x.f, "%u}}", cpu);
		}
	export_switches(&x, ev, n);
	ret = hftmon_drain(s.m, export_irq, &x);
	if (ret < 0) {
		status = report_error(ret, "records of %s", input);
		fclose(x.f);
		goto out;
	}
	fputs("\n]}\n", x.f);
	if (fclose(x.f)) {
		status = report_error(-errno, "--perfetto %s", output);
		goto out;
	}
	printf("%s: %d switches, %llu interruptions of %s (recorded by hftmon %s), as a trace for Perfetto (ui.perfetto.dev: Open trace file)\n",
	       output, n, x.irqs, input, name);
out:
	free(ev);
	free(x.irq_names);
	session_end(&s);
	return finish_stdout(status);
}

const struct cli_command cmd_export = {
	.name = "export",
	.run = run_export,
	.help = "  export -i FILE --perfetto OUT\n"
		"                           a recording (-o FILE) as a trace Perfetto opens:\n"
		"                           each thread's running, off-CPU and runnable\n"
		"                           slices, and each CPU's interruptions\n",
	.options = "export options:\n"
		   "  -i, --input FILE         the recording\n"
		   "      --perfetto OUT       the trace to write (JSON trace-event format)\n",
};
