// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin snapshot: the TCP sockets now, by network namespace, service port and
 * state; every namespace of the host, or the one --netns names.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "caps.h"
#include "cli.h"
#include "cmd.h"
#include "loader.h"
#include "netns.h"
#include "procmap.h"
#include "scope.h"
#include "watch_view.h"
#include "whois.h"

#define MAX_OWNERS 8

static const char snapshot_usage[] =
	"Usage: synfin snapshot [--netns PATH] [--host-root DIR] [-p] [--json] [-v]\n"
	"The TCP sockets that exist now (TIME_WAIT included), by network namespace, service\n"
	"port and state: counts, the oldest age where known, who the namespace belongs to,\n"
	"and with -p the owning processes. Run in the host's namespaces, every network\n"
	"namespace of the host; --netns PATH only that one.\n"
	"  --host-root DIR   where the host's / is mounted (a container): the host's\n"
	"                    /run/netns, /var/run/docker/netns and runtime files are read there\n";

struct snapshot_opts {
	const char *netns;
	const char *host_root;
	bool procs; /* -p: name the owners */
	bool json;
	bool verbose;
};

static int snapshot_parse(struct snapshot_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "host-root", required_argument, NULL, 'r' },
		{ "processes", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":pvh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->netns = optarg;
			break;
		case 'r':
			o->host_root = optarg;
			break;
		case 'p':
			o->procs = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(snapshot_usage, stdout);
			return -1;
		default:
			return cli_bad_option("snapshot", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage("snapshot", "unexpected argument '%s'", argv[optind]);
	return 0;
}

/*
 * Every namespace read (entering each takes privileges): then only naming
 * owners (-p) still needs one, raised around the /proc scan.
 */
static int read_sockets(const struct snapshot_opts *o, struct snapshot **snap, struct scope *sc,
			struct sf_sock_rec **recs, size_t *n)
{
	char err[512] = "";

	if (snapshot__open(snap, o->verbose, err, sizeof(err)) ||
	    scope_init(sc, o->netns, o->host_root, err, sizeof(err)) ||
	    scope_read_all(sc, *snap, recs, n, err, sizeof(err)) ||
	    sf_drop_privileges(o->procs ? PROCMAP_CAPS : 0, err, sizeof(err)))
		return cli_error("snapshot", "%s", err);
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

static int print_groups(const struct snapshot_opts *o, const struct scope *sc,
			const struct sf_sock_rec *recs, size_t n)
{
	struct watch_sock_group *groups;
	struct sf_owner own[MAX_OWNERS];
	struct sf_sb b = { 0 };
	struct watch_ident id;
	struct whois who;
	size_t ngroups, nown;

	if (watch_sock_groups(recs, n, &groups, &ngroups))
		return cli_error("snapshot", "out of memory");
	whois_init(&who, sc->host);
	if (!o->json)
		watch_view_snapshot_header(&b, o->procs);
	for (size_t i = 0; i < ngroups; i++) {
		nown = o->procs ? group_owners(&groups[i], own) : 0;
		whois_netns(&who, groups[i].netns, &id);
		watch_view_snapshot_group(&b, &groups[i], &id, o->procs ? own : NULL, nown,
					  o->json);
		watch_view_put(&b, stdout);
	}
	watch_view_put(&b, stdout);
	sf_sb_free(&b);
	free(groups);
	return SF_EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
	struct snapshot_opts o = { 0 };
	struct sf_sock_rec *recs = NULL;
	struct snapshot *snap = NULL;
	struct scope sc = { .home_fd = -1 };
	size_t n = 0;
	int ret;

	ret = snapshot_parse(&o, argc, argv);
	if (ret)
		return ret < 0 ? SF_EXIT_OK : ret;
	ret = read_sockets(&o, &snap, &sc, &recs, &n);
	if (!ret)
		ret = print_groups(&o, &sc, recs, n);
	free(recs);
	scope_fini(&sc);
	snapshot__close(snap);
	return ret;
}
