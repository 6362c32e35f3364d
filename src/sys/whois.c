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

static const struct watch_ident nobody;

/* A workload's ident: "" where unknown, the label from what is known. */
static void ident_of(const struct sf_workload *wl, struct watch_ident *out)
{
	memset(out, 0, sizeof(*out));
	out->wl = *wl;
	sf_workload_label(wl, out->label, sizeof(out->label));
}

/* Keeps wl's ident (or that nobody is named, wl NULL) for cgroup_id: the kept one. */
static const struct watch_ident *remember(struct whois *w, uint64_t cgroup_id,
					  const struct sf_workload *wl)
{
	struct watch_ident *id = wl ? malloc(sizeof(*id)) : NULL, **nv;

	if (!wl) {
		u64map_put(&w->cgroups, cgroup_id, (void *)&nobody);
		return NULL;
	}
	nv = id ? realloc(w->idents, (w->nidents + 1) * sizeof(*nv)) : NULL;
	if (nv)
		w->idents = nv;
	if (!nv || u64map_put(&w->cgroups, cgroup_id, id)) {
		free(id);
		return NULL;
	}
	w->idents[w->nidents++] = id;
	ident_of(wl, id);
	return id;
}

const struct watch_ident *whois_cgroup(struct whois *w, uint64_t cgroup_id)
{
	const struct watch_ident *hit = u64map_get(&w->cgroups, cgroup_id);
	const struct sf_workload *wl;

	if (hit || !cgroup_id || cgroup_id == WATCH_CGROUP_MIXED)
		return hit == &nobody ? NULL : hit;
	wl = identity__cgroup(w->id, cgroup_id);
	return remember(w, cgroup_id, names_someone(wl) ? wl : NULL);
}

void whois_group(struct whois *w, uint32_t netns, uint64_t cgroup_id, struct watch_ident *out)
{
	const struct watch_ident *id = whois_cgroup(w, cgroup_id);

	if (id)
		*out = *id;
	else
		whois_netns(w, netns, out);
}

void whois_netns(struct whois *w, uint32_t netns, struct watch_ident *out)
{
	const struct sf_workload *wl = identity__netns(w->id, netns);

	ident_of(wl, out);
	/* a namespace of processes in no pod, container or unit is told by its inode */
	if (names_someone(wl))
		return;
	if (netns == w->host_netns)
		snprintf(out->label, sizeof(out->label), "host");
	else
		snprintf(out->label, sizeof(out->label), "netns:%u", netns);
}

const struct sf_workload *whois_socket(void *ctx, uint64_t cgroup_id, uint32_t netns,
				       uint64_t ts_ns)
{
	struct whois *w = ctx;
	const struct sf_workload *c = identity__cgroup(w->id, cgroup_id), *n;
	bool cgroup_known = c->cgroup[0];

	/* live: the names now, whenever the event was */
	(void)ts_ns;
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

static void forget_cgroups(struct whois *w)
{
	for (size_t i = 0; i < w->nidents; i++)
		free(w->idents[i]);
	w->nidents = 0;
	u64map_clear(&w->cgroups);
}

void whois_refresh(struct whois *w)
{
	forget_cgroups(w);
	identity__refresh(w->id);
}

void whois_fini(struct whois *w)
{
	forget_cgroups(w);
	free(w->idents);
	u64map_free(&w->cgroups);
	identity__free(w->id);
	w->id = NULL;
}
