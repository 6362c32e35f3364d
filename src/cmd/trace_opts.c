// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "cgroup.h"
#include "cli.h"
#include "netns.h"
#include "parse.h"
#include "trace_opts.h"

#define OUT_BUF (1 << 16)

enum opt_ids {
	OPT_COMM = 256,
	OPT_PORT,
	OPT_LPORT,
	OPT_RPORT,
	OPT_ADDR,
	OPT_NETNS,
	OPT_CGROUP,
	OPT_STATES,
	OPT_LADDER,
	OPT_JSON,
	OPT_DURATION,
	OPT_RECORD,
	OPT_RINGBUF,
	OPT_ATTACH,
	OPT_MAX_CONNS,
	OPT_POD,
	OPT_NAMESPACE,
	OPT_CONTAINER,
	OPT_UNIT,
	OPT_HOST_ROOT,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "lport", required_argument, NULL, OPT_LPORT },
	{ "rport", required_argument, NULL, OPT_RPORT },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "states", no_argument, NULL, OPT_STATES },
	{ "ladder", no_argument, NULL, OPT_LADDER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "timestamp", no_argument, NULL, 'T' },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "pod", required_argument, NULL, OPT_POD },
	{ "namespace", required_argument, NULL, OPT_NAMESPACE },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "unit", required_argument, NULL, OPT_UNIT },
	{ "host-root", required_argument, NULL, OPT_HOST_ROOT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

/* what a recording cannot honour: it was traced already */
static const int live_only[] = { OPT_DURATION, OPT_RECORD, OPT_RINGBUF, OPT_ATTACH, OPT_HOST_ROOT };

static const struct {
	const char *name;
	enum tracer_attach mode;
} attach_modes[] = {
	{ "auto", TRACER_ATTACH_AUTO },
	{ "tp_btf", TRACER_ATTACH_TP_BTF },
	{ "tracepoint", TRACER_ATTACH_TRACEPOINT },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *opt_name(int c)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == c)
			return lo->name;
	return "?";
}

static bool is_live_only(int c)
{
	for (size_t i = 0; i < ARRAY_LEN(live_only); i++)
		if (live_only[i] == c)
			return true;
	return false;
}

/* --netns and --cgroup: paths resolved live, the recorded numbers for replay */
static int parse_scope(const struct trace_cmd *cmd, int c, const char *arg, struct cmd_opts *o)
{
	bool netns = c == OPT_NETNS;
	char err[256];
	uint64_t v;

	if (!cmd->live) {
		if (sf_parse_u64(arg, netns ? UINT32_MAX : UINT64_MAX, &v) || !v)
			return cli_usage(cmd->name, "replay takes --%s, not '%s'",
					 netns ? "netns INODE" : "cgroup ID", arg);
		if (netns)
			o->filter.netns = (uint32_t)v;
		else
			o->filter.cgroup_id = v;
		return 0;
	}
	if (netns ? sf_resolve_netns(arg, &o->filter.netns, err, sizeof(err)) :
		    sf_resolve_cgroup(arg, &o->filter.cgroup_id, err, sizeof(err))) {
		cli_error(cmd->name, "%s", err);
		return SF_EXIT_USAGE;
	}
	return 0;
}

/* --pod, --namespace, --container, --unit */
static int parse_who(const struct trace_cmd *cmd, int c, const char *arg, struct cmd_opts *o)
{
	static const enum sf_who_key keys[] = { SF_WHO_POD, SF_WHO_NAMESPACE, SF_WHO_CONTAINER,
						SF_WHO_UNIT };
	char err[512];

	if (sf_who_select_set(&o->filter.who, keys[c - OPT_POD], arg, err, sizeof(err)))
		return cli_usage(cmd->name, "%s", err);
	return 0;
}

static int parse_filter(const struct trace_cmd *cmd, int c, const char *arg, struct cmd_opts *o)
{
	struct sf_filter *f = &o->filter;
	uint64_t v;

	switch (c) {
	case 'p':
		if (sf_parse_u64(arg, UINT32_MAX, &v) || !v)
			return cli_usage(cmd->name, "invalid --pid '%s'", arg);
		f->pid = (uint32_t)v;
		return 0;
	case OPT_COMM:
		if (!*arg || strlen(arg) >= SF_COMM_LEN)
			return cli_usage(cmd->name, "invalid --comm '%s' (1 to 15 characters)",
					 arg);
		f->comm = arg;
		return 0;
	case OPT_PORT:
	case OPT_LPORT:
	case OPT_RPORT:
		if (sf_parse_port(arg, c == OPT_PORT  ? &f->port :
				       c == OPT_LPORT ? &f->lport :
							&f->rport))
			return cli_usage(cmd->name, "invalid port '%s' (1-65535)", arg);
		return 0;
	case OPT_ADDR:
		if (sf_parse_addr(arg, &f->addr_family, f->addr))
			return cli_usage(cmd->name, "invalid --addr '%s'", arg);
		f->has_addr = true;
		return 0;
	case OPT_NETNS:
	case OPT_CGROUP:
		return parse_scope(cmd, c, arg, o);
	case OPT_POD:
	case OPT_NAMESPACE:
	case OPT_CONTAINER:
	case OPT_UNIT:
		return parse_who(cmd, c, arg, o);
	case OPT_HOST_ROOT:
		o->host_root = arg;
		return 0;
	case '4':
	case '6':
		if (f->family)
			return cli_usage(cmd->name, "-4 and -6 exclude each other");
		f->family = c == '4' ? AF_INET : AF_INET6;
		return 0;
	}
	return -ENOENT;
}

static int parse_view(const struct trace_cmd *cmd, int c, const char *arg, struct cmd_opts *o)
{
	(void)cmd;
	(void)arg;
	switch (c) {
	case OPT_STATES:
		o->states = true;
		return 0;
	case OPT_LADDER:
		o->ladder = true;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case 'T':
		o->view.timestamps = true;
		return 0;
	}
	return -ENOENT;
}

static int parse_attach(const struct trace_cmd *cmd, const char *arg, struct cmd_opts *o)
{
	for (size_t i = 0; i < ARRAY_LEN(attach_modes); i++) {
		if (!strcmp(arg, attach_modes[i].name)) {
			o->tracer.attach = attach_modes[i].mode;
			return 0;
		}
	}
	return cli_usage(cmd->name, "invalid --attach '%s' (auto, tp_btf, tracepoint)", arg);
}

static int parse_run(const struct trace_cmd *cmd, int c, const char *arg, struct cmd_opts *o)
{
	uint64_t v;

	switch (c) {
	case 'v':
		o->tracer.verbose = true;
		return 0;
	case OPT_MAX_CONNS:
		if (sf_parse_u64(arg, 1 << 30, &v) || !v)
			return cli_usage(cmd->name, "invalid --max-conns '%s' (1 to 2^30)", arg);
		o->tracker.max_conns = v;
		return 0;
	case OPT_DURATION:
		return cli_duration(cmd->name, "--duration", arg, SF_NS_PER_MS, SF_DURATION_MAX_NS,
				    &o->duration_ns);
	case OPT_RECORD:
		o->record = arg;
		return 0;
	case OPT_RINGBUF:
		/* the kernel wants a power of two, at least a page */
		if (sf_parse_size(arg, 4096, 1ull << 31, &v) || (v & (v - 1)))
			return cli_usage(cmd->name,
					 "invalid --ringbuf-size '%s' (a power of two, 4K to 2G)",
					 arg);
		o->tracer.ringbuf_size = v;
		return 0;
	case OPT_ATTACH:
		return parse_attach(cmd, arg, o);
	}
	return -ENOENT;
}

typedef int (*opt_group_fn)(const struct trace_cmd *cmd, int c, const char *arg,
			    struct cmd_opts *o);

/* Each group takes its options (0 or a usage error) and leaves the others (-ENOENT). */
static const opt_group_fn opt_groups[] = { parse_filter, parse_view, parse_run };

static int parse_one(const struct trace_cmd *cmd, int c, char **argv, struct cmd_opts *o)
{
	int ret = -ENOENT;

	if (c == ':' || c == '?')
		return cli_bad_option(cmd->name, c, argv);
	if (!cmd->live && is_live_only(c))
		return cli_usage(cmd->name, "--%s is for synfin trace", opt_name(c));
	for (size_t i = 0; i < ARRAY_LEN(opt_groups) && ret == -ENOENT; i++)
		ret = opt_groups[i](cmd, c, optarg, o);
	return ret == -ENOENT ? cli_bad_option(cmd->name, '?', argv) : ret;
}

/* The view from the view flags; what can be filtered in the kernel is filtered there too. */
static int finish_opts(const struct trace_cmd *cmd, struct cmd_opts *o)
{
	if (o->ladder && o->json)
		return cli_usage(cmd->name, "--ladder and --json exclude each other");
	if (o->ladder && o->states)
		return cli_usage(cmd->name, "--ladder and --states exclude each other");
	o->view.mode = o->json	 ? SF_VIEW_JSON :
		       o->ladder ? SF_VIEW_LADDER :
		       o->states ? SF_VIEW_STATES :
				   SF_VIEW_LINES;
	o->view.json_states = o->json && o->states;
	o->tracer.netns = o->filter.netns;
	o->tracer.cgroup_id = o->filter.cgroup_id;
	o->tracer.family = o->filter.family;
	o->tracer.port = o->filter.port;
	o->tracer.lport = o->filter.lport;
	o->tracer.rport = o->filter.rport;
	return 0;
}

int trace_opts_parse(const struct trace_cmd *cmd, int argc, char **argv, struct cmd_opts *o)
{
	int c, ret;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:46Tvh", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(cmd->usage, stdout);
			return -1;
		}
		ret = parse_one(cmd, c, argv, o);
		if (ret)
			return ret;
	}
	o->npos = argc - optind;
	o->pos = argv + optind;
	return finish_opts(cmd, o);
}

static void on_lifecycle(const struct sf_lifecycle *lc, void *ctx)
{
	struct run *r = ctx;

	view__lifecycle(r->view, lc, sf_filter_lifecycle(&r->filter, lc));
}

static void on_transition(const struct sf_transition *tr, void *ctx)
{
	struct run *r = ctx;

	view__transition(r->view, tr, sf_filter_transition(&r->filter, tr));
}

int run_init(struct run *r, struct cmd_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->filter = o->filter;
	o->view.out = stdout;
	return view__new(&r->view, &o->view);
}

struct tracker_ops run_ops(struct run *r, const struct cmd_opts *o)
{
	return (struct tracker_ops){ on_lifecycle, o->states ? on_transition : NULL, r };
}

void run_fini(struct run *r)
{
	tracker__free(r->trk);
	view__free(r->view);
}

/*
 * The JSON view batches its lines into large writes of its own: a stdio buffer
 * in between would only copy every byte once more. The other views print
 * through stdio, buffered here.
 */
char *buffer_stdout(bool json, bool line_buffered)
{
	char *buf;

	if (json) {
		setvbuf(stdout, NULL, _IONBF, 0);
		return NULL;
	}
	buf = malloc(OUT_BUF);
	if (buf)
		setvbuf(stdout, buf, line_buffered ? _IOLBF : _IOFBF, OUT_BUF);
	return buf;
}

void restore_stdout(char *buf)
{
	fflush(stdout);
	setvbuf(stdout, NULL, _IONBF, 0);
	free(buf);
}
