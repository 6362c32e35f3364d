/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The network namespaces snapshot and watch cover: the one --netns names; with
 * none, every namespace on the host when run in the host's own (PID 1's);
 * else the caller's. The socket iterator lists one namespace at a time, so
 * reading several means entering each in turn.
 */
#ifndef SYNFIN_SCOPE_H
#define SYNFIN_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>
#include "caps.h"
#include "loader.h"
#include "netns.h"

/*
 * What entering other namespaces takes once privileges are dropped: setns,
 * and opening other users' /proc/PID/ns/net and root-only bind mounts.
 */
#define SCOPE_CAPS (SF_CAP(CAP_SYS_ADMIN) | SF_CAP(CAP_SYS_PTRACE) | SF_CAP(CAP_DAC_READ_SEARCH))

struct scope {
	bool hostwide;
	uint32_t self; /* the namespace this process is in (after --netns, that one) */
	uint32_t host; /* PID 1's, the host's; 0 when unreadable */
	const char *host_root; /* "" for none */
	int home_fd; /* hostwide: our own namespace, to come back to */
	struct sf_netns_ent *ns; /* the namespaces covered, by inode */
	size_t nns;
};

/*
 * Decides the scope; --netns (netns not NULL) is entered here, for good.
 * 0, or -errno with one line in err.
 */
int scope_init(struct scope *s, const char *netns, const char *host_root, char *err, size_t errlen);
/* Host-wide, finds the namespaces there are now (s->ns); else the one. */
int scope_discover(struct scope *s, char *err, size_t errlen);
/* The sockets of s->ns[i]: -ENOENT when it has gone since scope_discover. */
int scope_read(struct scope *s, struct snapshot *snap, size_t i, struct sf_sock_rec **recs,
	       size_t *n, char *err, size_t errlen);
/* The sockets of every namespace of the scope, in one array. */
int scope_read_all(struct scope *s, struct snapshot *snap, struct sf_sock_rec **recs, size_t *n,
		   char *err, size_t errlen);
void scope_fini(struct scope *s);

#endif
