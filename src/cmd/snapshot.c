// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin snapshot: the TCP sockets now, by network namespace, service port and
 * state, each namespace named by the pod or container holding it; every
 * namespace of the host, or the one --netns names.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "caps.h"
#include "cli.h"
#include "cmd.h"
#include "loader.h"
#include "netns.h"
#include "procmap.h"
#include "scope.h"
#include "watch_view.h"
#include "who.h"
#include "whois.h"

#define MAX_OWNERS 8
#define CMD "snapshot"

static const char snapshot_usage[] =
	"Usage: synfin snapshot [--netns PATH] [--host-root DIR] [--pod NAME] [--namespace NS]\n"
	"                       [--container NAME] [--unit NAME] [-p] [--json] [-v]\n"
	"The TCP sockets that exist now (TIME_WAIT included), by network namespace, service\n"
	"port and state: counts, the oldest age where known, the pod, container or unit\n"
	"holding the namespace, and with -p the owning processes. Run in the host's\n"
	"namespaces, every network namespace of the host; --netns PATH only that one.\n"
	"  --pod NAME|NS/NAME, --namespace NS, --container NAME|ID, --unit NAME\n"
	"                    only the namespaces of that workload\n"
	"  --host-root DIR   where the host's / is mounted (a container): the host's\n"
	"                    /proc, /run/netns, cgroups and runtime files are read there\n";

struct snapshot_opts {
	const char *netns;
	const char *host_root;
	struct sf_who_select sel;
	bool procs; /* -p: name the owners */
	bool json;
	bool verbose;
};

/* What was read and who holds it. */
struct snap_run {
	struct snapshot_opts o;
	struct snapshot *snap;
	struct scope scope;
	struct whois who;
	struct sf_sock_rec *recs;
	size_t n;
	struct watch_sock_group *groups;
	size_t ngroups;
	struct watch_ident *ids; /* one per group */
};

enum { OPT_POD = 256, OPT_NAMESPACE, OPT_CONTAINER, OPT_UNIT };

static int select_opt(struct snapshot_opts *o, int c, const char *arg)
{
	static const enum sf_who_key keys[] = { SF_WHO_POD, SF_WHO_NAMESPACE, SF_WHO_CONTAINER,
						SF_WHO_UNIT };
	char err[512];

	if (sf_who_select_set(&o->sel, keys[c - OPT_POD], arg, err, sizeof(err)))
		return cli_usage(CMD, "%s", err);
	return 0;
}

static int snapshot_opt(struct snapshot_opts *o, int c, char **argv)
{
	switch (c) {
	case 'n':
		o->netns = optarg;
		return 0;
	case 'r':
		o->host_root = optarg;
		return 0;
	case 'p':
		o->procs = true;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case OPT_POD:
	case OPT_NAMESPACE:
	case OPT_CONTAINER:
	case OPT_UNIT:
		return select_opt(o, c, optarg);
	case 'h':
		fputs(snapshot_usage, stdout);
		return -1;
	default:
		return cli_bad_option(CMD, c, argv);
	}
}

static int snapshot_parse(struct snapshot_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "host-root", required_argument, NULL, 'r' },
		{ "pod", required_argument, NULL, OPT_POD },
		{ "namespace", required_argument, NULL, OPT_NAMESPACE },
		{ "container", required_argument, NULL, OPT_CONTAINER },
		{ "unit", required_argument, NULL, OPT_UNIT },
		{ "processes", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":pvh", opts, NULL)) != -1) {
		ret = snapshot_opt(o, c, argv);
		if (ret)
			return ret;
	}
	if (optind != argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Every namespace read: entering each, and naming who holds it, takes privileges. */
static int read_sockets(struct snap_run *r)
{
	char err[512] = "";

	if (snapshot__open(&r->snap, r->o.verbose, err, sizeof(err)) ||
	    scope_init(&r->scope, r->o.netns, r->o.host_root, err, sizeof(err)) ||
	    whois_init(&r->who, r->o.host_root, r->scope.host, err, sizeof(err)) ||
	    scope_read_all(&r->scope, r->snap, &r->recs, &r->n, err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	return 0;
}

/* The groups and who holds each; those of other workloads than asked for left out. */
static int name_groups(struct snap_run *r)
{
	size_t keep = 0;

	if (watch_sock_groups(r->recs, r->n, &r->groups, &r->ngroups) ||
	    !(r->ids = calloc(r->ngroups ? r->ngroups : 1, sizeof(*r->ids))))
		return cli_error(CMD, "out of memory");
	for (size_t i = 0; i < r->ngroups; i++) {
		whois_group(&r->who, r->groups[i].netns, r->groups[i].cgroup_id, &r->ids[keep]);
		if (!sf_who_match(&r->o.sel, &r->ids[keep].wl))
			continue;
		r->groups[keep++] = r->groups[i];
	}
	r->ngroups = keep;
	return 0;
}

/* Only naming owners (-p) still needs a privilege, raised around the /proc scan. */
static int drop_privileges(const struct snap_run *r)
{
	char err[512];

	if (sf_drop_privileges((r->o.procs ? PROCMAP_CAPS : 0) | snapshot__caps_needed(r->snap),
			       err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	return 0;
}

/* The processes holding a group's sockets (timewait and request sockets have none). */
static size_t group_owners(const struct watch_sock_group *g, struct sf_owner *own)
{
	uint64_t *inodes = malloc(g->n * sizeof(*inodes));
	size_t ni = 0, nown;

	if (!inodes)
		return 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->recs[i]->ino)
			inodes[ni++] = g->recs[i]->ino;
	nown = procmap_owners(inodes, ni, own, MAX_OWNERS);
	free(inodes);
	return nown;
}

/* A workload asked for that holds no socket: said in one line. */
static int none_selected(const struct snap_run *r)
{
	char sel[1100];

	sf_who_select_text(&r->o.sel, sel, sizeof(sel));
	return cli_error(CMD, "no socket belongs to %s", sel);
}

static int print_groups(const struct snap_run *r)
{
	struct sf_owner own[MAX_OWNERS];
	struct sf_sb b = { 0 };
	size_t nown;

	if (!r->ngroups && sf_who_select_any(&r->o.sel))
		return none_selected(r);
	if (!r->o.json)
		watch_view_snapshot_header(&b, r->o.procs);
	for (size_t i = 0; i < r->ngroups; i++) {
		nown = r->o.procs ? group_owners(&r->groups[i], own) : 0;
		watch_view_snapshot_group(&b, &r->groups[i], &r->ids[i], r->o.procs ? own : NULL,
					  nown, r->o.json);
		watch_view_put(&b, stdout);
	}
	watch_view_put(&b, stdout);
	sf_sb_free(&b);
	return SF_EXIT_OK;
}

static void snapshot_cleanup(struct snap_run *r)
{
	free(r->ids);
	free(r->groups);
	free(r->recs);
	whois_fini(&r->who);
	scope_fini(&r->scope);
	snapshot__close(r->snap);
}

int cmd_snapshot(int argc, char **argv)
{
	struct snap_run r = { .scope = { .home_fd = -1 } };
	int ret;

	ret = snapshot_parse(&r.o, argc, argv);
	if (ret)
		return ret < 0 ? SF_EXIT_OK : ret;
	ret = read_sockets(&r);
	if (!ret)
		ret = name_groups(&r);
	if (!ret)
		ret = drop_privileges(&r);
	if (!ret)
		ret = print_groups(&r);
	snapshot_cleanup(&r);
	return ret;
}
