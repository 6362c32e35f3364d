// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin watch: socket counts per network namespace, service port and state,
 * started from a snapshot of each namespace, kept live from the tracer,
 * reconciled by later snapshots of the namespaces that can have drifted;
 * alerts, --exec and Prometheus metrics.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "alert.h"
#include "caps.h"
#include "cli.h"
#include "clock.h"
#include "cmd.h"
#include "loader.h"
#include "metrics.h"
#include "netns.h"
#include "parse.h"
#include "procmap.h"
#include "scope.h"
#include "session.h"
#include "watch_view.h"
#include "who.h"
#include "whois.h"

#define MAX_OWNERS 8
#define POLL_MS 50
#define MIN_INTERVAL_NS (50 * SF_NS_PER_MS)
/* every namespace is read at least once in this many reconciliations, drifted or not */
#define SWEEP_ROUNDS 30

static const char watch_usage[] =
	"Usage: synfin watch [OPTIONS]\n"
	"Live TCP socket counts per network namespace, service port and state, with\n"
	"open/close/reset rates, the close-kind mix and the oldest CLOSE_WAIT; alerts and\n"
	"Prometheus metrics. Run in the host's namespaces, every network namespace of the\n"
	"host, those that appear while it runs included.\n"
	"\n"
	"  --netns PATH            watch only this network namespace\n"
	"  --host-root DIR         where the host's / is mounted (a container): the host's\n"
	"                          /run/netns, /var/run/docker/netns and runtime files are\n"
	"                          read there\n"
	"  --interval TIME         refresh (and alert evaluation) period (default 1s)\n"
	"  --snapshot-interval T   how often counts are reconciled with the kernel's\n"
	"                          socket tables, which is how TIME_WAIT exits are seen\n"
	"                          (default 10s); only namespaces whose counts can have\n"
	"                          drifted are read, and each at least every 30 rounds\n"
	"  --pod NAME|NS/NAME, --namespace NS, --container NAME|ID, --unit NAME\n"
	"                          only the network namespaces of that workload\n"
	"  --by port|process|pod|container|unit|netns\n"
	"                          the table's rows: service ports of each namespace\n"
	"                          (default), or sums by owning process, pod, container,\n"
	"                          systemd unit or network namespace\n"
	"  --top N                 rows shown (default 20)\n"
	"  --alert RULE            [port=N] [pod=NAME] [namespace=NS] [container=NAME]\n"
	"                          [unit=NAME] METRIC>VALUE [for 30s], repeatable, judged\n"
	"                          per port of each namespace; METRIC is a state\n"
	"                          (close_wait, time_wait, ...), close_wait_age,\n"
	"                          opens_per_s, closes_per_s or resets_per_s;\n"
	"                          reason=R or reason!=R: the close rates count only\n"
	"                          closes with (without) that reason\n"
	"  --exec CMD              run CMD (sh -c) on each alert change; details in\n"
	"                          SYNFIN_ALERT, SYNFIN_STATE, SYNFIN_PORT, SYNFIN_METRIC,\n"
	"                          SYNFIN_VALUE, SYNFIN_THRESHOLD, SYNFIN_PIDS, SYNFIN_COMMS\n"
	"  --once                  one snapshot, alerts judged at once (no 'for'); exit 3\n"
	"                          when one fires, 0 otherwise\n"
	"  --metrics ADDR:PORT     serve Prometheus metrics at /metrics (a bare PORT binds\n"
	"                          127.0.0.1)\n"
	"  --metrics-ports N       label sets (port, namespace, pod) with series of their\n"
	"                          own, the busiest (default 50); the rest add up under\n"
	"                          port=\"other\"\n"
	"  --web-config FILE       TLS and basic authentication for --metrics, in the\n"
	"                          Prometheus exporter toolkit's format\n"
	"  --json                  JSON Lines\n"
	"  --duration TIME         stop after this long (500ms, 30s, 5m)\n"
	"  -v, --verbose           show libbpf's messages\n";

struct watch_opts {
	const char *netns;
	const char *host_root;
	const char *metrics_addr;
	const char *web_config;
	const char *exec_cmd;
	struct alert_rule *rules;
	size_t nrules;
	uint64_t interval_ns;
	uint64_t snap_interval_ns;
	uint64_t duration_ns; /* 0: until a signal */
	size_t top;
	size_t metrics_ports;
	struct sf_who_select sel;
	enum watch_by by;
	bool once;
	bool json;
	bool verbose;
};

struct wrun {
	struct watch_opts o;
	struct watch *w;
	struct session *sess;
	struct snapshot *snap;
	struct metrics *metrics;
	struct sf_sb out; /* the text being written: a frame, an alert line, the metrics */
	struct scope scope;
	struct whois who;
	bool tty;
	uint64_t lost;
	uint64_t missed;
	uint64_t lost_reconciled; /* r->lost at the last reconciliation */
	struct watch_reconcile rec; /* what the last reconciliation read */
	/* the live terminal view: the alerts firing, and the CLOSE_WAIT owners of its rows */
	struct watch_firing *panel;
	size_t npanel;
	struct watch_row_owners *owners;
	size_t nowners;
	int64_t realtime_offset;
	size_t firing;
	/* --by process: counts per owner, from the last snapshot */
	struct watch_proc_row *prows;
	size_t nprows;
	struct sf_sock_rec *kept; /* the sockets read, for them */
	size_t nkept;
};

static int add_rule(struct watch_opts *o, const char *arg)
{
	struct alert_rule *nr = realloc(o->rules, (o->nrules + 1) * sizeof(*nr));
	char err[512];

	if (!nr)
		return cli_error("watch", "out of memory");
	o->rules = nr;
	if (alert_parse(arg, &o->rules[o->nrules], err, sizeof(err)))
		return cli_usage("watch", "--alert: %s", err);
	o->nrules++;
	return 0;
}

/* --top and --metrics-ports */
static int parse_count(const char *opt, const char *arg, size_t *out)
{
	uint64_t v;

	if (sf_parse_u64(arg, 65536, &v) || !v)
		return cli_usage("watch", "invalid %s '%s' (1 to 65536)", opt, arg);
	*out = v;
	return 0;
}

static int parse_by(struct watch_opts *o, const char *arg)
{
	for (enum watch_by by = WATCH_BY_PORT; by <= WATCH_BY_NETNS; by++) {
		if (!strcmp(arg, watch_by_name(by))) {
			o->by = by;
			return 0;
		}
	}
	return cli_usage("watch", "invalid --by '%s' (port, process, pod, container, unit, netns)",
			 arg);
}

enum { OPT_POD = 256, OPT_NAMESPACE, OPT_CONTAINER, OPT_UNIT };

static int parse_select(struct watch_opts *o, int c, const char *arg)
{
	static const enum sf_who_key keys[] = { SF_WHO_POD, SF_WHO_NAMESPACE, SF_WHO_CONTAINER,
						SF_WHO_UNIT };
	char err[512];

	if (sf_who_select_set(&o->sel, keys[c - OPT_POD], arg, err, sizeof(err)))
		return cli_usage("watch", "%s", err);
	return 0;
}

static int parse_opt(struct watch_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'i':
		return cli_duration("watch", "--interval", arg, MIN_INTERVAL_NS, SF_DURATION_MAX_NS,
				    &o->interval_ns);
	case 's':
		return cli_duration("watch", "--snapshot-interval", arg, MIN_INTERVAL_NS,
				    SF_DURATION_MAX_NS, &o->snap_interval_ns);
	case 'd':
		return cli_duration("watch", "--duration", arg, SF_NS_PER_MS, SF_DURATION_MAX_NS,
				    &o->duration_ns);
	case 'b':
		return parse_by(o, arg);
	case 't':
		return parse_count("--top", arg, &o->top);
	case 'M':
		return parse_count("--metrics-ports", arg, &o->metrics_ports);
	case 'a':
		return add_rule(o, arg);
	case OPT_POD:
	case OPT_NAMESPACE:
	case OPT_CONTAINER:
	case OPT_UNIT:
		return parse_select(o, c, arg);
	case 'n':
		o->netns = arg;
		break;
	case 'r':
		o->host_root = arg;
		break;
	case 'e':
		o->exec_cmd = arg;
		break;
	case 'm':
		o->metrics_addr = arg;
		break;
	case 'W':
		o->web_config = arg;
		break;
	case 'o':
		o->once = true;
		break;
	case 'j':
		o->json = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	}
	return 0;
}

static int watch_parse(struct watch_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "host-root", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "snapshot-interval", required_argument, NULL, 's' },
		{ "by", required_argument, NULL, 'b' },
		{ "pod", required_argument, NULL, OPT_POD },
		{ "namespace", required_argument, NULL, OPT_NAMESPACE },
		{ "container", required_argument, NULL, OPT_CONTAINER },
		{ "unit", required_argument, NULL, OPT_UNIT },
		{ "top", required_argument, NULL, 't' },
		{ "alert", required_argument, NULL, 'a' },
		{ "exec", required_argument, NULL, 'e' },
		{ "once", no_argument, NULL, 'o' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "metrics-ports", required_argument, NULL, 'M' },
		{ "web-config", required_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(watch_usage, stdout);
			return -1;
		}
		ret = c == ':' || c == '?' ? cli_bad_option("watch", c, argv) :
					     parse_opt(o, c, optarg);
		if (ret)
			return ret;
	}
	if (optind != argc)
		return cli_usage("watch", "unexpected argument '%s'", argv[optind]);
	return 0;
}

static void w_transition(const struct sf_transition *tr, void *ctx)
{
	struct wrun *r = ctx;

	if (watch__counts_event(r->w, tr->ev->netns, tr->ev->ts_ns))
		watch__transition(r->w, tr);
}

static void w_lifecycle(const struct sf_lifecycle *lc, void *ctx)
{
	struct wrun *r = ctx;

	if (!lc->alive && watch__counts_event(r->w, lc->netns, lc->end_ns))
		watch__lifecycle(r->w, lc);
}

/* A group's owner when its sockets' cgroup says more than its namespace (watch_name_fn). */
static const struct watch_ident *group_name(void *ctx, const struct watch_group *g)
{
	struct wrun *r = ctx;

	return whois_cgroup(&r->who, g->cgroup_id);
}

static size_t close_wait_owners(struct wrun *r, const struct watch_group *g, struct sf_owner *own)
{
	const struct watch_cw *cw;
	uint64_t *inodes;
	size_t n, k;

	cw = watch__group_close_waits(r->w, g, &n);
	if (!cw || !n)
		return 0;
	inodes = malloc(n * sizeof(*inodes));
	if (!inodes)
		return 0;
	for (size_t i = 0; i < n; i++)
		inodes[i] = cw[i].ino;
	k = procmap_owners(inodes, n, own, MAX_OWNERS);
	free(inodes);
	return k;
}

/* --exec: the details go in the environment, never into the command string. */
static void run_exec(const char *cmd, const struct watch_alert_event *ev,
		     const struct sf_owner *own, size_t nown)
{
	char val[64], thr[64], port[16], pids[MAX_OWNERS * 12] = "", comms[MAX_OWNERS * 17] = "";
	struct sf_sb pb = SF_SB_FIXED(pids, sizeof(pids)), cb = SF_SB_FIXED(comms, sizeof(comms));

	for (size_t i = 0; i < nown; i++) {
		sf_sb_printf(&pb, "%s%" PRIu32, i ? "," : "", own[i].pid);
		sf_sb_printf(&cb, "%s%s", i ? "," : "", own[i].comm);
	}
	snprintf(val, sizeof(val), "%g", ev->value);
	snprintf(thr, sizeof(thr), "%g", ev->rule->threshold);
	snprintf(port, sizeof(port), "%u", ev->group->port);
	if (fork() != 0)
		return;
	setenv("SYNFIN_ALERT", ev->rule->text, 1);
	setenv("SYNFIN_STATE", ev->change == ALERT_FIRED ? "firing" : "cleared", 1);
	setenv("SYNFIN_PORT", port, 1);
	setenv("SYNFIN_METRIC", alert_metric_name(ev->rule->metric), 1);
	setenv("SYNFIN_VALUE", val, 1);
	setenv("SYNFIN_THRESHOLD", thr, 1);
	setenv("SYNFIN_PIDS", pids, 1);
	setenv("SYNFIN_COMMS", comms, 1);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* The panel of the live terminal view: an alert joins it when it fires, leaves when it clears. */
static void panel_update(struct wrun *r, const struct watch_alert_event *ev, const char *ts,
			 const struct sf_owner *own, size_t nown)
{
	struct watch_firing *a = NULL, *np;

	for (size_t i = 0; i < r->npanel && !a; i++)
		if (r->panel[i].rule == ev->rule && r->panel[i].group == ev->group)
			a = &r->panel[i];
	if (ev->change == ALERT_CLEARED) {
		if (a)
			*a = r->panel[--r->npanel];
		return;
	}
	np = realloc(r->panel, (r->npanel + 1) * sizeof(*np));
	if (a || !np)
		return;
	r->panel = np;
	a = &r->panel[r->npanel++];
	*a = (struct watch_firing){ ev->rule, ev->group, (size_t)(ev->rule - r->o.rules) };
	snprintf(a->since, sizeof(a->since), "%s", ts);
	a->nown = nown < 4 ? nown : 4;
	if (own)
		memcpy(a->own, own, a->nown * sizeof(*own));
}

static void on_alert(const struct watch_alert_event *ev, void *ctx)
{
	struct wrun *r = ctx;
	struct sf_owner own[MAX_OWNERS];
	bool fired = ev->change == ALERT_FIRED;
	bool cw = ev->rule->metric == SF_TCP_CLOSE_WAIT || ev->rule->metric == ALERT_CLOSE_WAIT_AGE;
	size_t nown = 0;
	char ts[80];

	/* who holds the CLOSE_WAIT sockets: looked up only now, for this port */
	if (cw && fired)
		nown = close_wait_owners(r, ev->group, own);
	if (fired)
		r->firing++;
	watch_view_time(ts, sizeof(ts), sf_mono_ns(), r->realtime_offset);
	panel_update(r, ev, ts, cw && fired ? own : NULL, nown);
	/* on a terminal the panel shows it; a line would be wiped by the next frame */
	if (!r->tty) {
		watch_view_alert(&r->out, ev, ts, cw && fired ? own : NULL, nown, r->o.json);
		watch_view_put(&r->out, stdout);
		fflush(stdout);
	}
	if (r->o.exec_cmd)
		run_exec(r->o.exec_cmd, ev, own, nown);
}

static void count_by_process(struct wrun *r, const struct sf_sock_rec *recs, size_t n)
{
	uint64_t *inodes = malloc((n ? n : 1) * sizeof(*inodes));
	struct procmap *pm = NULL;
	struct sf_owner o;

	free(r->prows);
	r->nprows = 0;
	r->prows = calloc(n ? n : 1, sizeof(*r->prows));
	if (inodes && r->prows) {
		for (size_t i = 0; i < n; i++)
			inodes[i] = recs[i].ino;
		if (procmap_build(&pm, inodes, n) == 0)
			for (size_t i = 0; i < n; i++)
				if (procmap_get(pm, recs[i].ino, &o))
					watch_proc_count(r->prows, &r->nprows, &o, recs[i].state);
		watch_proc_sort(r->prows, r->nprows);
	}
	procmap_free(pm);
	free(inodes);
}

/* --by process counts every socket read: they are kept until the last namespace is read. */
static int keep_recs(struct wrun *r, const struct sf_sock_rec *recs, size_t n)
{
	struct sf_sock_rec *nv;

	if (r->o.by != WATCH_BY_PROCESS || !n)
		return 0;
	nv = realloc(r->kept, (r->nkept + n) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	memcpy(nv + r->nkept, recs, n * sizeof(*nv));
	r->kept = nv;
	r->nkept += n;
	return 0;
}

/* One namespace's sockets into the model; one gone since it was listed is no error. */
static int read_ns(struct wrun *r, size_t i, char *err, size_t errlen)
{
	uint64_t start = sf_mono_ns();
	struct sf_sock_rec *recs = NULL;
	size_t n = 0;
	int ret = scope_read(&r->scope, r->snap, i, &recs, &n, err, errlen);

	if (ret)
		return ret == -ENOENT ? 0 : ret;
	ret = watch__snapshot_ns(r->w, r->scope.ns[i].inum, recs, n, start);
	if (!ret)
		ret = keep_recs(r, recs, n);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	r->rec.read++;
	r->rec.sockets += n;
	free(recs);
	return ret;
}

/* The namespaces there are now (their inodes in inums), named; the others dropped. */
static int list_namespaces(struct wrun *r, uint32_t *inums)
{
	struct watch_ident id;
	int ret = 0;

	whois_refresh(&r->who);
	for (size_t i = 0; i < r->scope.nns && !ret; i++) {
		inums[i] = r->scope.ns[i].inum;
		whois_netns(&r->who, inums[i], &id);
		ret = watch__ident(r->w, inums[i], &id);
	}
	watch__retain(r->w, inums, r->scope.nns);
	return ret;
}

/* --pod and the like that no socket answers yet: said once, then watched for. */
static void warn_unselected(struct wrun *r)
{
	char sel[1100];
	size_t shown;

	watch__groups(r->w, &shown);
	if (shown)
		return;
	sf_who_select_text(&r->o.sel, sel, sizeof(sel));
	cli_error("watch", "no socket belongs to %s now; watching for it", sel);
}

/*
 * Reads the namespaces whose counts can have drifted (all of them at first,
 * after lost events, and for --by process), and a few of the rest.
 */
static int reconcile(struct wrun *r, bool first, char *err, size_t errlen)
{
	uint64_t start = sf_mono_ns();
	bool all = first || r->o.by == WATCH_BY_PROCESS || r->lost != r->lost_reconciled;
	uint32_t *inums = NULL;
	bool *pick = NULL;
	size_t n;
	int ret = scope_discover(&r->scope, err, errlen);

	if (ret)
		return ret;
	n = r->scope.nns;
	inums = malloc((n ? n : 1) * sizeof(*inums));
	pick = malloc((n ? n : 1) * sizeof(*pick));
	ret = inums && pick ? list_namespaces(r, inums) : -ENOMEM;
	r->rec = (struct watch_reconcile){ .netns = n };
	r->nkept = 0;
	if (!ret)
		watch__plan(r->w, inums, n, start, all, (n + SWEEP_ROUNDS - 1) / SWEEP_ROUNDS,
			    pick);
	for (size_t i = 0; !ret && i < n; i++)
		if (pick[i])
			ret = read_ns(r, i, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (!ret && r->o.by == WATCH_BY_PROCESS)
		count_by_process(r, r->kept, r->nkept);
	watch__name_groups(r->w, group_name, r);
	if (!ret && first && sf_who_select_any(&r->o.sel))
		warn_unselected(r);
	r->rec.ms = (sf_mono_ns() - start) / 1e6;
	r->lost_reconciled = r->lost;
	free(inums);
	free(pick);
	return ret;
}

static void publish_metrics(struct wrun *r, const struct watch_frame *f)
{
	watch_view_metrics(&r->out, f, r->o.metrics_ports);
	if (!r->out.cut)
		metrics__publish(r->metrics, r->out.p, r->out.len);
	sf_sb_reset(&r->out);
}

/* The distinct owners of one row's CLOSE_WAIT sockets, from the scan of /proc. */
static void owners_of_row(struct wrun *r, const struct procmap *pm, const struct watch_group *g)
{
	struct watch_row_owners *row = &r->owners[r->nowners];
	const struct watch_cw *cw;
	struct sf_owner o;
	size_t n;

	cw = watch__group_close_waits(r->w, g, &n);
	*row = (struct watch_row_owners){ .group = g };
	for (size_t k = 0; k < n && row->nown < 3; k++) {
		bool dup = false;

		if (!procmap_get(pm, cw[k].ino, &o))
			continue;
		for (size_t j = 0; j < row->nown && !dup; j++)
			dup = row->own[j].pid == o.pid;
		if (!dup)
			row->own[row->nown++] = o;
	}
	if (row->nown)
		r->nowners++;
}

/* The inodes of the CLOSE_WAIT sockets of the first rows groups: *n of them, malloc'd. */
static uint64_t *close_wait_inodes(struct wrun *r, const struct watch_frame *f, size_t rows,
				   size_t *n)
{
	uint64_t *inodes = NULL, *more;
	const struct watch_cw *cw;
	size_t k;

	*n = 0;
	for (size_t i = 0; i < rows; i++) {
		cw = watch__group_close_waits(r->w, f->groups[i], &k);
		more = k ? realloc(inodes, (*n + k) * sizeof(*inodes)) : inodes;
		if (!more)
			break;
		inodes = more;
		for (size_t j = 0; j < k; j++)
			inodes[(*n)++] = cw[j].ino;
	}
	return inodes;
}

/*
 * The live terminal view names who holds the CLOSE_WAIT sockets of the rows
 * it shows: one scan of /proc for all of them.
 */
static void row_owners(struct wrun *r, const struct watch_frame *f)
{
	size_t rows = f->ngroups < f->top ? f->ngroups : f->top, n;
	struct watch_row_owners *o = realloc(r->owners, (rows ? rows : 1) * sizeof(*o));
	struct procmap *pm = NULL;
	uint64_t *inodes;

	r->nowners = 0;
	if (!o)
		return;
	r->owners = o;
	inodes = close_wait_inodes(r, f, rows, &n);
	if (n && !procmap_build(&pm, inodes, n))
		for (size_t i = 0; i < rows; i++)
			owners_of_row(r, pm, f->groups[i]);
	procmap_free(pm);
	free(inodes);
}

/* Rates and alerts as of now, then the frame on stdout and the metrics. */
static void refresh(struct wrun *r, uint64_t now)
{
	struct watch_frame f = {
		.procs = r->prows,
		.nprocs = r->nprows,
		.top = r->o.top,
		.by = r->o.by,
		.tty = r->tty,
	};
	char ts[80];

	watch__name_groups(r->w, group_name, r);
	watch__tick(r->w, now, r->o.once, on_alert, r);
	watch_view_time(ts, sizeof(ts), now, r->realtime_offset);
	f.ts = ts;
	f.groups = watch__groups(r->w, &f.ngroups);
	f.lost = r->lost;
	f.missed = r->missed;
	f.firing = r->npanel;
	f.rec = &r->rec;
	f.alerts = r->panel;
	f.nalerts = r->npanel;
	if (r->tty && r->o.by == WATCH_BY_PORT)
		row_owners(r, &f);
	f.owners = r->owners;
	f.nowners = r->nowners;
	watch_view_frame(&r->out, &f, r->o.json);
	watch_view_put(&r->out, stdout);
	fflush(stdout);
	if (r->metrics)
		publish_metrics(r, &f);
}

/* A failure the user can fix (a taken port, no such namespace): exit 2. */
static int setup_error(const char *msg)
{
	cli_error("watch", "%s", msg);
	return SF_EXIT_USAGE;
}

/* The metrics socket, then the namespaces watched: the model and the iterator. */
static int watch_setup(struct wrun *r)
{
	char err[512] = "";

	r->tty = isatty(STDOUT_FILENO) && !r->o.json && !r->o.once;
	r->realtime_offset = sf_realtime_offset_ns();
	if (r->o.web_config && !r->o.metrics_addr)
		return setup_error("--web-config needs --metrics");
	if (r->o.metrics_addr &&
	    metrics__start(&r->metrics, r->o.metrics_addr, r->o.web_config, err, sizeof(err)))
		return setup_error(err);
	/* the metrics socket is bound: from here on, live in the namespace watched */
	if (scope_init(&r->scope, r->o.netns, r->o.host_root, err, sizeof(err)))
		return setup_error(err);
	if (whois_init(&r->who, r->o.host_root, r->scope.host, err, sizeof(err)))
		return setup_error(err);
	if (watch__new(&r->w, r->o.rules, r->o.nrules))
		return cli_error("watch", "out of memory");
	watch__select(r->w, &r->o.sel);
	if (snapshot__open(&r->snap, r->o.verbose, err, sizeof(err)))
		return cli_error("watch", "%s", err);
	cli_signals();
	return 0;
}

/*
 * Alerts and --by process name owners from /proc; watching the whole host
 * enters namespaces at each reconciliation; and on kernels that refuse any
 * bpf() without CAP_BPF, each pass of the iterator needs it: only these keep a
 * capability.
 */
static uint64_t kept_caps(const struct wrun *r)
{
	uint64_t caps = r->o.by == WATCH_BY_PROCESS || r->o.nrules || r->tty ? PROCMAP_CAPS : 0;

	caps |= snapshot__caps_needed(r->snap);
	return r->scope.hostwide ? caps | SCOPE_CAPS : caps;
}

/* --once: one snapshot, the alerts judged at once; exit 3 when one fired. */
static int watch_once(struct wrun *r)
{
	char err[512];

	if (sf_drop_privileges(kept_caps(r), err, sizeof(err)) ||
	    reconcile(r, true, err, sizeof(err)))
		return cli_error("watch", "%s", err);
	refresh(r, sf_mono_ns());
	return r->firing ? SF_EXIT_ALERT : SF_EXIT_OK;
}

/* Until a signal, --duration or stdout gone: events as they come, snapshots and refreshes when due. */
static void watch_loop(struct wrun *r, uint64_t now)
{
	uint64_t next_tick = now + r->o.interval_ns, next_snap = now + r->o.snap_interval_ns;
	uint64_t deadline = r->o.duration_ns ? now + r->o.duration_ns : 0;
	struct tracker_stats st;
	char err[512];

	while (!cli_stop) {
		if (session__poll(r->sess, POLL_MS) < 0)
			break;
		/* --exec's children */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		now = sf_mono_ns();
		if (now >= next_snap) {
			if (reconcile(r, false, err, sizeof(err)))
				cli_error("watch", "%s", err);
			next_snap = now + r->o.snap_interval_ns;
		}
		if (now >= next_tick) {
			session__stats(r->sess, &st);
			r->lost = st.lost;
			r->missed = st.missed;
			refresh(r, now);
			next_tick += r->o.interval_ns;
			if (next_tick < now)
				next_tick = now + r->o.interval_ns;
		}
		if (ferror(stdout) || (deadline && now >= deadline))
			break;
	}
}

static int watch_live(struct wrun *r)
{
	struct session_opts so = {
		.tracer = { .netns = r->scope.hostwide ? 0 : r->scope.self,
			    .verbose = r->o.verbose },
		.ops = { w_lifecycle, w_transition, r },
	};
	char err[512];
	uint64_t now;

	/* the tracer first, then the snapshot: nothing falls between the two */
	if (session__open(&r->sess, &so, err, sizeof(err)) ||
	    sf_drop_privileges(kept_caps(r), err, sizeof(err)) ||
	    (r->metrics && metrics__serve(r->metrics, err, sizeof(err))) ||
	    reconcile(r, true, err, sizeof(err)))
		return cli_error("watch", "%s", err);
	now = sf_mono_ns();
	refresh(r, now);
	watch_loop(r, now);
	session__finish(r->sess, err, sizeof(err));
	return SF_EXIT_OK;
}

static void watch_cleanup(struct wrun *r)
{
	session__close(r->sess);
	snapshot__close(r->snap);
	metrics__stop(r->metrics);
	watch__free(r->w);
	free(r->o.rules);
	free(r->prows);
	free(r->kept);
	free(r->panel);
	free(r->owners);
	scope_fini(&r->scope);
	whois_fini(&r->who);
	sf_sb_free(&r->out);
	fflush(stdout);
}

int cmd_watch(int argc, char **argv)
{
	struct wrun r = { .o = {
				  .interval_ns = SF_NS_PER_S,
				  .snap_interval_ns = 10 * SF_NS_PER_S,
				  .top = 20,
				  .metrics_ports = 50,
			  },
			  .scope = { .home_fd = -1 } };
	int ret;

	ret = watch_parse(&r.o, argc, argv);
	if (!ret)
		ret = watch_setup(&r);
	if (!ret)
		ret = r.o.once ? watch_once(&r) : watch_live(&r);
	watch_cleanup(&r);
	return ret < 0 ? SF_EXIT_OK : ret;
}
