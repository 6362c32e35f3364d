// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netns.h"
#include "whois.h"

int whois_init(struct whois *w, const char *host_root, uint32_t host_netns, char *err,
	       size_t errlen)
{
	w->host_netns = host_netns;
	return identity__new(&w->id, host_root, err, errlen);
}

/* Whether w names anyone: a pod, a container, a unit. */
static bool names_someone(const struct sf_workload *w)
{
	return w->pod_uid[0] || w->pod[0] || w->container_id[0] || w->container[0] || w->unit[0];
}

void whois_netns(struct whois *w, uint32_t netns, struct watch_ident *out)
{
	const struct sf_workload *wl = identity__netns(w->id, netns);

	memset(out, 0, sizeof(*out));
	out->wl = *wl;
	/* a namespace of processes in no pod, container or unit is told by its inode */
	if (names_someone(wl))
		sf_workload_label(wl, out->label, sizeof(out->label));
	else if (netns == w->host_netns)
		snprintf(out->label, sizeof(out->label), "host");
	else
		snprintf(out->label, sizeof(out->label), "netns:%u", netns);
}

const struct sf_workload *whois_socket(void *ctx, uint64_t cgroup_id, uint32_t netns)
{
	struct whois *w = ctx;
	const struct sf_workload *c = identity__cgroup(w->id, cgroup_id), *n;
	bool cgroup_known = c->cgroup[0];

	if (names_someone(c))
		return c;
	/* a lookup may move what an earlier one returned: c is not read past this */
	n = identity__netns(w->id, netns);
	if (names_someone(n) || !cgroup_known)
		return n;
	return identity__cgroup(w->id, cgroup_id);
}

bool whois_prewarm(struct whois *w, const char *host_root, const struct sf_who_select *sel)
{
	bool found = !sf_who_select_any(sel);
	struct sf_netns_ent *ns;
	size_t n;

	if (sf_netns_discover(host_root, &ns, &n))
		return true;
	for (size_t i = 0; i < n; i++)
		found |= sf_who_match(sel, identity__netns(w->id, ns[i].inum));
	free(ns);
	return found;
}

void whois_refresh(struct whois *w)
{
	identity__refresh(w->id);
}

void whois_fini(struct whois *w)
{
	identity__free(w->id);
	w->id = NULL;
}
