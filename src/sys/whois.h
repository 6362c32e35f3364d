/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Who a socket or a network namespace belongs to, as the commands ask it of
 * the identity module (src/sys/identity.c): a socket by its owner's cgroup,
 * else by its namespace; a namespace by the pod or container holding it.
 */
#ifndef SYNFIN_WHOIS_H
#define SYNFIN_WHOIS_H

#include <stdbool.h>
#include <stdint.h>
#include "identity.h"
#include "u64map.h"
#include "watch.h"
#include "who.h"

struct whois {
	struct identity *id;
	uint32_t host_netns; /* PID 1's: "host" */
	/* whois_cgroup's answers until the next refresh */
	struct u64map cgroups; /* cgroup id -> struct watch_ident, or &whois_nobody */
	struct watch_ident **idents;
	size_t nidents;
};

/* 0, or -errno with one line in err (a --host-root that cannot be opened). */
int whois_init(struct whois *w, const char *host_root, uint32_t host_netns, char *err,
	       size_t errlen);
/* The owner of a network namespace: "host", or "netns:INODE" when no workload holds it. */
void whois_netns(struct whois *w, uint32_t netns, struct watch_ident *out);
/*
 * The workload of a cgroup when it names a pod, a container or a unit: kept
 * until whois_refresh. NULL when it names none of them.
 */
const struct watch_ident *whois_cgroup(struct whois *w, uint64_t cgroup_id);
/*
 * Who a group of sockets belongs to: the workload of their cgroup when they
 * share one that names someone (a unit on the host's namespace, one container
 * of a pod), else the owner of their namespace.
 */
void whois_group(struct whois *w, uint32_t netns, uint64_t cgroup_id, struct watch_ident *out);
/*
 * A socket's workload (an sf_workload_fn for sf_who_resolver, w the ctx):
 * its cgroup's when that names a pod, a container or a unit, else the owner
 * of its namespace (TIME_WAIT and request sockets have no cgroup). Valid
 * until whois_refresh.
 */
const struct sf_workload *whois_socket(void *w, uint64_t cgroup_id, uint32_t netns, uint64_t ts_ns);
/*
 * Resolves the owners of every namespace there is now, while privileges
 * last: trace and check keep none, and keep these answers. Returns whether
 * one of them is the workload sel asks for (true when sel asks for none).
 */
bool whois_prewarm(struct whois *w, const char *host_root, const struct sf_who_select *sel);
/* Names are looked up again on their next use (see identity__refresh). */
void whois_refresh(struct whois *w);
void whois_fini(struct whois *w);

#endif
