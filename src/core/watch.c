// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"
#include "u64map.h"
#include "watch.h"

#define NPORTS 65536
#define LISTEN_WORDS (NPORTS / 64)
/* TCP_TIMEWAIT_LEN: a TIME_WAIT ends this long after it began, unless recycled early */
#define TIMEWAIT_NS (60 * SF_NS_PER_S)
/*
 * A namespace gone from the host may still send events for a while (its
 * orphaned sockets time out): they are ignored this long after it went.
 */
#define GONE_NS (5 * 60 * SF_NS_PER_S)

const double watch_hs_bounds[WATCH_HS_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
						   0.005,  0.01,    0.05,   0.25,  1.0 };

/* One network namespace: what makes its ports services, and how fresh its counts are. */
struct watch_ns {
	uint32_t inum;
	bool gone;
	bool drift; /* a count went below 0: the events and the snapshot disagree */
	uint64_t listening[LISTEN_WORDS];
	uint64_t snap_ns; /* its last snapshot began then (0: never); older events are in it */
	uint64_t expiry_ns; /* the first TIME_WAIT counted may have ended from then on; 0: none */
	uint64_t minis; /* FIN_WAIT2 mini-sockets and request sockets counted: they end unseen */
	struct watch_ident ident;
};

struct gone {
	uint32_t inum;
	uint64_t since_ns;
};

struct watch {
	const struct alert_rule *rules;
	size_t nrules;
	struct watch_ns **ns;
	size_t nns, cap_ns;
	struct u64map ns_map; /* inode + 1 -> namespace */
	struct watch_group **groups;
	size_t ngroups, cap_groups;
	struct u64map group_map; /* group_key -> group */
	struct gone *gone; /* namespaces dropped lately, whose late events are ignored */
	size_t ngone, cap_gone;
	struct u64map gone_map; /* inode + 1 -> the same */
	struct watch_cw *cw;
	size_t ncw, cap_cw;
	uint64_t last_tick;
	const struct watch_group **sorted;
	size_t cap_sorted;
	struct watch_cw *scratch;
	size_t cap_scratch;
	const struct sf_who_select *sel; /* --pod and the like */
};

int watch__new(struct watch **out, const struct alert_rule *rules, size_t nrules)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->rules = rules;
	w->nrules = nrules;
	*out = w;
	return 0;
}

/* Appends p to the vector *v (*n of *cap): 0 or -ENOMEM. */
static int vec_push(void ***v, size_t *n, size_t *cap, void *p)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void **nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = p;
	return 0;
}

static struct watch_ns *ns_find(const struct watch *w, uint32_t inum)
{
	return u64map_get(&w->ns_map, (uint64_t)inum + 1);
}

static struct watch_ns *ns_get(struct watch *w, uint32_t inum)
{
	struct watch_ns *ns = ns_find(w, inum);

	if (ns)
		return ns;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->inum = inum;
	snprintf(ns->ident.label, sizeof(ns->ident.label), "netns:%u", inum);
	if (vec_push((void ***)&w->ns, &w->nns, &w->cap_ns, ns) ||
	    u64map_put(&w->ns_map, (uint64_t)inum + 1, ns)) {
		if (w->nns && w->ns[w->nns - 1] == ns)
			w->nns--;
		free(ns);
		return NULL;
	}
	return ns;
}

/* The namespace of an event: NULL when it went lately (its late events are not counted). */
static struct watch_ns *ns_of_event(struct watch *w, uint32_t inum)
{
	struct watch_ns *ns = ns_find(w, inum);

	if (ns)
		return ns->gone ? NULL : ns;
	return u64map_get(&w->gone_map, (uint64_t)inum + 1) ? NULL : ns_get(w, inum);
}

static void gone_rebuild(struct watch *w)
{
	u64map_clear(&w->gone_map);
	for (size_t i = 0; i < w->ngone; i++)
		u64map_put(&w->gone_map, (uint64_t)w->gone[i].inum + 1, &w->gone[i]);
}

/* Remembers that inum went at now_ns, so that its late events are not counted. */
static void gone_add(struct watch *w, uint32_t inum, uint64_t now_ns)
{
	if (w->ngone == w->cap_gone) {
		size_t ncap = w->cap_gone ? w->cap_gone * 2 : 16;
		struct gone *g = realloc(w->gone, ncap * sizeof(*g));

		if (!g)
			return;
		w->gone = g;
		w->cap_gone = ncap;
	}
	w->gone[w->ngone++] = (struct gone){ inum, now_ns };
	gone_rebuild(w);
}

/* Forgets what went before now_ns - GONE_NS, or inum (0: none), listed again (a reused inode). */
static void gone_expire(struct watch *w, uint32_t inum, uint64_t now_ns)
{
	size_t keep = 0;

	for (size_t i = 0; i < w->ngone; i++)
		if (w->gone[i].inum != inum && w->gone[i].since_ns + GONE_NS > now_ns)
			w->gone[keep++] = w->gone[i];
	if (keep == w->ngone)
		return;
	w->ngone = keep;
	gone_rebuild(w);
}

static uint64_t group_key(uint32_t netns, uint16_t port)
{
	return ((uint64_t)netns << 16 | port) + 1;
}

static struct watch_group *group_new(struct watch *w, struct watch_ns *ns, uint16_t port)
{
	struct watch_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->alerts = calloc(w->nrules ? w->nrules : 1, sizeof(*g->alerts));
	if (!g->alerts) {
		free(g);
		return NULL;
	}
	g->netns = ns->inum;
	g->ident = &ns->ident;
	g->port = port;
	g->oldest_cw_ms = -1;
	for (size_t i = 0; i < w->nrules; i++)
		g->alerts[i].port = port;
	return g;
}

static void group_free(struct watch_group *g)
{
	if (!g)
		return;
	free(g->alerts);
	free(g);
}

static struct watch_group *group(struct watch *w, struct watch_ns *ns, uint16_t port)
{
	struct watch_group *g = u64map_get(&w->group_map, group_key(ns->inum, port));

	if (g)
		return g;
	g = group_new(w, ns, port);
	if (!g)
		return NULL;
	if (vec_push((void ***)&w->groups, &w->ngroups, &w->cap_groups, g)) {
		group_free(g);
		return NULL;
	}
	if (u64map_put(&w->group_map, group_key(ns->inum, port), g)) {
		group_free(w->groups[--w->ngroups]);
		return NULL;
	}
	return g;
}

static void set_listening(uint64_t *listening, uint16_t port, bool on)
{
	if (on)
		listening[port / 64] |= 1ull << (port % 64);
	else
		listening[port / 64] &= ~(1ull << (port % 64));
}

/* The listeners among recs (pointers, n of them, all of one namespace). */
static void listening_of(uint64_t *listening, const struct sf_sock_rec *const *recs, size_t n)
{
	memset(listening, 0, LISTEN_WORDS * sizeof(*listening));
	for (size_t i = 0; i < n; i++)
		if (recs[i]->state == SF_TCP_LISTEN)
			set_listening(listening, recs[i]->lport, true);
}

/* A socket belongs to the port of the service: ours if we listen on it, else the peer's. */
static uint16_t service_port(const uint64_t *listening, uint16_t lport, uint16_t rport)
{
	return lport && listening[lport / 64] & (1ull << (lport % 64)) ? lport : rport;
}

static uint16_t rec_service_port(const uint64_t *listening, const struct sf_sock_rec *r)
{
	return r->state == SF_TCP_LISTEN ? r->lport : service_port(listening, r->lport, r->rport);
}

static uint64_t cw_key(uint64_t cookie, uint64_t ino)
{
	return cookie ? cookie : (ino | 1ull << 63);
}

static int cw_add(struct watch *w, const struct watch_cw *cw)
{
	if (w->ncw == w->cap_cw) {
		size_t ncap = w->cap_cw ? w->cap_cw * 2 : 64;
		struct watch_cw *n = realloc(w->cw, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->cw = n;
		w->cap_cw = ncap;
	}
	w->cw[w->ncw++] = *cw;
	return 0;
}

static void cw_remove(struct watch *w, uint64_t cookie, uint64_t ino)
{
	for (size_t i = 0; i < w->ncw; i++) {
		if (w->cw[i].key != cw_key(cookie, 0) && !(ino && w->cw[i].ino == ino))
			continue;
		w->cw[i] = w->cw[--w->ncw];
		return;
	}
}

/* Takes the CLOSE_WAIT sockets of netns out of the list; *n of them, malloc'd (or NULL). */
static struct watch_cw *cw_take(struct watch *w, uint32_t netns, size_t *n)
{
	struct watch_cw *out = malloc((w->ncw ? w->ncw : 1) * sizeof(*out));
	size_t k = 0, keep = 0;

	for (size_t i = 0; i < w->ncw; i++) {
		if (w->cw[i].netns != netns)
			w->cw[keep++] = w->cw[i];
		else if (out)
			out[k++] = w->cw[i];
	}
	w->ncw = keep;
	*n = k;
	return out;
}

static const struct watch_cw *cw_find(const struct watch_cw *v, size_t n, uint64_t key,
				      uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].key == key || (ino && v[i].ino == ino))
			return &v[i];
	return NULL;
}

/* A CLOSE_WAIT timed by its event stays exact; else the snapshot's estimate. */
static uint64_t cw_enter(const struct watch_cw *old, size_t nold, const struct sf_sock_rec *r,
			 uint64_t now_ns)
{
	const struct watch_cw *known = cw_find(old, nold, cw_key(r->cookie, r->ino), r->ino);

	if (known)
		return known->enter_ns;
	if (r->age_ms != SF_AGE_UNKNOWN && now_ns >= r->age_ms * SF_NS_PER_MS)
		return now_ns - r->age_ms * SF_NS_PER_MS;
	return now_ns;
}

/* What a snapshot's socket says about when the namespace must be read again. */
static void note_expiry(struct watch_ns *ns, const struct sf_sock_rec *r, uint64_t now_ns)
{
	uint64_t end = now_ns;

	if (r->state == SF_TCP_SYN_RECV || (r->timewait && r->state != SF_TCP_TIME_WAIT)) {
		ns->minis++;
		return;
	}
	if (r->state != SF_TCP_TIME_WAIT)
		return;
	if (r->age_ms != SF_AGE_UNKNOWN && r->age_ms * SF_NS_PER_MS < TIMEWAIT_NS)
		end = now_ns + TIMEWAIT_NS - r->age_ms * SF_NS_PER_MS;
	if (!ns->expiry_ns || end < ns->expiry_ns)
		ns->expiry_ns = end;
}

/* The cgroup of a group's sockets, one more seen: the same, or mixed. */
static uint64_t merge_cgroup(uint64_t have, uint64_t seen)
{
	if (!seen || have == seen)
		return have;
	return have ? WATCH_CGROUP_MIXED : seen;
}

static void ns_reset(struct watch *w, struct watch_ns *ns)
{
	for (size_t i = 0; i < w->ngroups; i++) {
		if (w->groups[i]->netns != ns->inum)
			continue;
		memset(w->groups[i]->counts, 0, sizeof(w->groups[i]->counts));
		w->groups[i]->cgroup_id = 0;
	}
	ns->drift = false;
	ns->expiry_ns = 0;
	ns->minis = 0;
}

static void count_rec(struct watch *w, struct watch_ns *ns, const struct sf_sock_rec *r,
		      const struct watch_cw *old, size_t nold, uint64_t now_ns)
{
	uint16_t port = rec_service_port(ns->listening, r);
	struct watch_group *g = group(w, ns, port);

	if (!g || r->state >= SF_TCP_MAX_STATES)
		return;
	g->counts[r->state]++;
	g->cgroup_id = merge_cgroup(g->cgroup_id, r->cgroup_id);
	note_expiry(ns, r, now_ns);
	if (r->state == SF_TCP_CLOSE_WAIT)
		cw_add(w, &(struct watch_cw){ cw_key(r->cookie, r->ino), r->ino,
					      cw_enter(old, nold, r, now_ns), ns->inum, port });
}

int watch__snapshot_ns(struct watch *w, uint32_t netns, const struct sf_sock_rec *recs, size_t n,
		       uint64_t now_ns)
{
	const struct sf_sock_rec **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	struct watch_ns *ns = ns_get(w, netns);
	struct watch_cw *old;
	size_t nold;

	if (!ptrs || !ns) {
		free(ptrs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &recs[i];
	gone_expire(w, netns, now_ns);
	listening_of(ns->listening, ptrs, n);
	free(ptrs);
	ns_reset(w, ns);
	ns->gone = false;
	ns->snap_ns = now_ns ? now_ns : 1;
	old = cw_take(w, netns, &nold);
	for (size_t i = 0; i < n; i++)
		count_rec(w, ns, &recs[i], old, nold, now_ns);
	free(old);
	return 0;
}

int watch__snapshot(struct watch *w, const struct sf_sock_rec *recs, size_t n, uint64_t now_ns)
{
	struct sf_sock_rec *one = malloc((n ? n : 1) * sizeof(*one));
	bool *done = calloc(n ? n : 1, sizeof(*done));
	int ret = one && done ? 0 : -ENOMEM;

	for (size_t i = 0; !ret && i < n; i++) {
		size_t k = 0;

		if (done[i])
			continue;
		for (size_t j = i; j < n; j++) {
			if (recs[j].netns != recs[i].netns)
				continue;
			one[k++] = recs[j];
			done[j] = true;
		}
		ret = watch__snapshot_ns(w, recs[i].netns, one, k, now_ns);
	}
	free(one);
	free(done);
	return ret;
}

bool watch__counts_event(const struct watch *w, uint32_t netns, uint64_t ts_ns)
{
	const struct watch_ns *ns = ns_find(w, netns);

	return !ns || ts_ns >= ns->snap_ns;
}

/* A count one below where it was: below 0, the namespace has drifted. */
static void count_down(struct watch_ns *ns, struct watch_group *g, unsigned int state)
{
	if (--g->counts[state] < 0)
		ns->drift = true;
}

static void listen_transition(struct watch *w, struct watch_ns *ns, const struct sf_transition *tr)
{
	bool on = tr->ev->newstate == SF_TCP_LISTEN;
	struct watch_group *g = group(w, ns, tr->lport);

	if (!g)
		return;
	g->cgroup_id = merge_cgroup(g->cgroup_id, tr->ev->cgroup_id);
	set_listening(ns->listening, tr->lport, on);
	if (on)
		g->counts[SF_TCP_LISTEN]++;
	else
		count_down(ns, g, SF_TCP_LISTEN);
}

void watch__transition(struct watch *w, const struct sf_transition *tr)
{
	const struct sf_event *e = tr->ev;
	unsigned int old = e->oldstate, new = e->newstate;
	struct watch_ns *ns = ns_of_event(w, e->netns);
	struct watch_group *g;
	uint16_t port;

	if (!ns)
		return;
	if (new == SF_TCP_LISTEN || (old == SF_TCP_LISTEN && new == SF_TCP_CLOSE)) {
		listen_transition(w, ns, tr);
		return;
	}
	port = service_port(ns->listening, tr->lport, tr->rport);
	g = group(w, ns, port);
	if (!g)
		return;
	g->cgroup_id = merge_cgroup(g->cgroup_id, e->cgroup_id);
	if (old == SF_TCP_CLOSE || old == SF_TCP_LISTEN)
		g->opens++;
	else if (old < SF_TCP_MAX_STATES)
		count_down(ns, g, old);
	if (new != SF_TCP_CLOSE &&new < SF_TCP_MAX_STATES)
		g->counts[new]++;
	if (new == SF_TCP_CLOSE_WAIT)
		cw_add(w, &(struct watch_cw){ cw_key(e->cookie, e->sock_ino), e->sock_ino, e->ts_ns,
					      ns->inum, port });
	else if (old == SF_TCP_CLOSE_WAIT)
		cw_remove(w, e->cookie, e->sock_ino);
}

static void count_handshake(struct watch_hs *hs, int64_t handshake_us)
{
	double s = handshake_us / 1e6;
	int b;

	if (handshake_us < 0)
		return;
	for (b = 0; b < WATCH_HS_BUCKETS && s > watch_hs_bounds[b]; b++)
		;
	hs->n[b]++;
	hs->count++;
	hs->sum += s;
}

/* The full socket is gone; a timewait mini-socket took its place, to end unseen. */
static void count_mini(struct watch_ns *ns, struct watch_group *g, const struct sf_lifecycle *lc)
{
	uint64_t end = lc->end_ns + TIMEWAIT_NS;

	if (lc->fw2_handoff) {
		g->counts[SF_TCP_FIN_WAIT2]++;
		ns->minis++;
	} else if (lc->time_wait) {
		g->counts[SF_TCP_TIME_WAIT]++;
		if (!ns->expiry_ns || end < ns->expiry_ns)
			ns->expiry_ns = end;
	}
}

static void count_close(struct watch_group *g, const struct sf_lifecycle *lc)
{
	g->closes++;
	if (lc->close == SF_CLOSE_RESET)
		g->resets++;
	if (lc->close < SF_CLOSE_COUNT) {
		g->kinds[lc->close]++;
		g->reasons[lc->close][lc->reason < SF_REASON_COUNT ? lc->reason : SF_REASON_NONE]++;
	}
	count_handshake(&g->hs, lc->handshake_us);
	/* without health only the SYNs and FINs sent again are known */
	g->retrans += lc->health ? lc->retrans : (uint64_t)lc->retrans_syn + lc->retrans_fin;
}

void watch__lifecycle(struct watch *w, const struct sf_lifecycle *lc)
{
	struct watch_ns *ns = ns_of_event(w, lc->netns);
	struct watch_group *g;

	if (!ns || lc->alive)
		return;
	g = group(w, ns, service_port(ns->listening, lc->lport, lc->rport));
	if (!g)
		return;
	count_close(g, lc);
	count_mini(ns, g, lc);
}

static double metric_value(const struct watch_group *g, int metric)
{
	switch (metric) {
	case ALERT_CLOSE_WAIT_AGE:
		return g->oldest_cw_ms < 0 ? 0 : g->oldest_cw_ms / 1000.0;
	case ALERT_OPENS_PER_S:
		return g->opens_per_s;
	case ALERT_CLOSES_PER_S:
		return g->closes_per_s;
	case ALERT_RESETS_PER_S:
		return g->resets_per_s;
	default:
		return metric >= 0 && metric < SF_TCP_MAX_STATES && g->counts[metric] > 0 ?
			       (double)g->counts[metric] :
			       0;
	}
}

/* The closes a rule with a reason counts: resets only for resets_per_s. */
static uint64_t reason_count(const struct watch_group *g, const struct alert_rule *r)
{
	uint64_t n = 0;

	for (int k = 0; k < SF_CLOSE_COUNT; k++) {
		if (r->metric == ALERT_RESETS_PER_S && k != SF_CLOSE_RESET)
			continue;
		for (unsigned int reason = 0; reason < SF_REASON_COUNT; reason++)
			if (alert_reason_counts(r, reason))
				n += g->reasons[k][reason];
	}
	return n;
}

/* The rule's metric for the group; a rule with a reason keeps its own rate. */
static double rule_value(const struct watch_group *g, const struct alert_rule *r,
			 struct alert_inst *inst, double dt)
{
	uint64_t n;
	double v;

	if (!r->has_reason)
		return metric_value(g, r->metric);
	n = reason_count(g, r);
	v = dt > 0 ? (n - inst->prev_count) / dt : inst->value;
	inst->prev_count = n;
	return v;
}

static void tick_rates(struct watch_group *g, double dt)
{
	if (dt > 0) {
		g->opens_per_s = (g->opens - g->prev_opens) / dt;
		g->closes_per_s = (g->closes - g->prev_closes) / dt;
		g->resets_per_s = (g->resets - g->prev_resets) / dt;
	}
	g->prev_opens = g->opens;
	g->prev_closes = g->closes;
	g->prev_resets = g->resets;
	g->oldest_cw_ms = -1;
}

static void tick_ages(struct watch *w, uint64_t now_ns)
{
	for (size_t i = 0; i < w->ncw; i++) {
		const struct watch_cw *cw = &w->cw[i];
		struct watch_group *g = u64map_get(&w->group_map, group_key(cw->netns, cw->port));
		int64_t age = now_ns > cw->enter_ns ? (now_ns - cw->enter_ns) / SF_NS_PER_MS : 0;

		if (g && age > g->oldest_cw_ms)
			g->oldest_cw_ms = age;
	}
}

/* The namespace went, and what fired there with it: cleared, whatever the rule. */
static enum alert_change gone_clear(struct alert_inst *inst)
{
	bool was = inst->firing;

	inst->firing = false;
	inst->pending_since = 0;
	return was ? ALERT_CLEARED : ALERT_NONE;
}

static bool selected(const struct watch *w, const struct watch_group *g)
{
	return !w->sel || sf_who_match(w->sel, &g->ident->wl);
}

static void tick_alerts(struct watch *w, uint64_t now_ns, double dt, bool ignore_for,
			watch_alert_fn fn, void *ctx)
{
	for (size_t r = 0; r < w->nrules; r++) {
		const struct alert_rule *rule = &w->rules[r];

		for (size_t i = 0; i < w->ngroups; i++) {
			struct watch_group *g = w->groups[i];
			struct watch_alert_event ev;

			if ((rule->has_port && rule->port != g->port) ||
			    !sf_who_match(&rule->who, &g->ident->wl) || !selected(w, g))
				continue;
			ev.value = rule_value(g, rule, &g->alerts[r], dt);
			ev.change = ns_find(w, g->netns)->gone ?
					    gone_clear(&g->alerts[r]) :
					    alert_step(rule, &g->alerts[r], ev.value, now_ns,
						       ignore_for);
			if (ev.change == ALERT_NONE || !fn)
				continue;
			ev.rule = rule;
			ev.group = g;
			fn(&ev, ctx);
		}
	}
}

static bool any_firing(const struct watch *w, const struct watch_group *g)
{
	for (size_t r = 0; r < w->nrules; r++)
		if (g->alerts[r].firing)
			return true;
	return false;
}

/* Drops the groups of namespaces gone once their alerts have cleared, then those namespaces. */
static void sweep_gone(struct watch *w)
{
	size_t keep = 0;

	for (size_t i = 0; i < w->ngroups; i++) {
		struct watch_group *g = w->groups[i];

		if (ns_find(w, g->netns)->gone && !any_firing(w, g))
			group_free(g);
		else
			w->groups[keep++] = g;
	}
	if (keep == w->ngroups)
		return;
	w->ngroups = keep;
	u64map_clear(&w->group_map);
	for (size_t i = 0; i < w->ngroups; i++)
		u64map_put(&w->group_map, group_key(w->groups[i]->netns, w->groups[i]->port),
			   w->groups[i]);
}

static void drop_gone_ns(struct watch *w, uint64_t now_ns)
{
	size_t keep = 0;
	bool held;

	for (size_t i = 0; i < w->nns; i++) {
		held = false;
		for (size_t j = 0; j < w->ngroups && !held; j++)
			held = w->groups[j]->netns == w->ns[i]->inum;
		if (w->ns[i]->gone && !held) {
			gone_add(w, w->ns[i]->inum, now_ns);
			free(w->ns[i]);
		} else {
			w->ns[keep++] = w->ns[i];
		}
	}
	if (keep == w->nns)
		return;
	w->nns = keep;
	u64map_clear(&w->ns_map);
	for (size_t i = 0; i < w->nns; i++)
		u64map_put(&w->ns_map, (uint64_t)w->ns[i]->inum + 1, w->ns[i]);
}

void watch__tick(struct watch *w, uint64_t now_ns, bool ignore_for, watch_alert_fn fn, void *ctx)
{
	double dt = w->last_tick && now_ns > w->last_tick ? (now_ns - w->last_tick) / 1e9 : 0;

	w->last_tick = now_ns;
	for (size_t i = 0; i < w->ngroups; i++)
		tick_rates(w->groups[i], dt);
	tick_ages(w, now_ns);
	tick_alerts(w, now_ns, dt, ignore_for, fn, ctx);
	sweep_gone(w);
	drop_gone_ns(w, now_ns);
	gone_expire(w, 0, now_ns);
}

void watch__name_groups(struct watch *w, watch_name_fn fn, void *ctx)
{
	for (size_t i = 0; i < w->ngroups; i++) {
		struct watch_group *g = w->groups[i];
		const struct watch_ident *id = fn(ctx, g);

		g->ident = id ? id : &ns_find(w, g->netns)->ident;
	}
}

void watch__select(struct watch *w, const struct sf_who_select *sel)
{
	w->sel = sel && sf_who_select_any(sel) ? sel : NULL;
}

int watch__ident(struct watch *w, uint32_t netns, const struct watch_ident *id)
{
	struct watch_ns *ns = ns_get(w, netns);

	if (!ns)
		return -ENOMEM;
	ns->ident = *id;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void watch__retain(struct watch *w, const uint32_t *inums, size_t n)
{
	for (size_t i = 0; i < w->nns; i++) {
		struct watch_ns *ns = w->ns[i];
		size_t nold;

		if (ns->gone || (n && bsearch(&ns->inum, inums, n, sizeof(*inums), cmp_u32)))
			continue;
		/* its sockets went with it: nothing of it is counted, nothing waits in CLOSE_WAIT */
		ns_reset(w, ns);
		free(cw_take(w, ns->inum, &nold));
		ns->gone = true;
	}
}

static bool ns_due(const struct watch_ns *ns, uint64_t now_ns)
{
	return !ns || !ns->snap_ns || ns->drift || ns->minis ||
	       (ns->expiry_ns && now_ns >= ns->expiry_ns);
}

/* The index among inums of the stalest namespace not picked yet; n when none is left. */
static size_t stalest(const struct watch *w, const uint32_t *inums, size_t n, const bool *read)
{
	size_t best = n;

	for (size_t i = 0; i < n; i++) {
		const struct watch_ns *ns = ns_find(w, inums[i]);

		if (read[i] || !ns)
			continue;
		if (best == n || ns->snap_ns < ns_find(w, inums[best])->snap_ns)
			best = i;
	}
	return best;
}

size_t watch__plan(const struct watch *w, const uint32_t *inums, size_t n, uint64_t now_ns,
		   bool all, size_t sweep, bool *read)
{
	size_t k = 0, i;

	for (i = 0; i < n; i++) {
		read[i] = all || ns_due(ns_find(w, inums[i]), now_ns);
		k += read[i];
	}
	for (; sweep && (i = stalest(w, inums, n, read)) < n; sweep--, k++)
		read[i] = true;
	return k;
}

int64_t watch__total_state(const struct watch_group *g)
{
	int64_t t = 0;

	for (int s = 0; s < SF_TCP_MAX_STATES; s++)
		t += g->counts[s] > 0 ? g->counts[s] : 0;
	return t;
}

static int by_total(const void *a, const void *b)
{
	const struct watch_group *x = *(const struct watch_group *const *)a;
	const struct watch_group *y = *(const struct watch_group *const *)b;
	int64_t tx = watch__total_state(x), ty = watch__total_state(y);

	if (tx != ty)
		return tx > ty ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->netns < y->netns ? -1 : x->netns > y->netns;
}

const struct watch_group *const *watch__groups(struct watch *w, size_t *n)
{
	size_t k = 0;

	*n = 0;
	if (w->cap_sorted < w->ngroups) {
		const struct watch_group **s = realloc(w->sorted, w->ngroups * sizeof(*s));

		if (!s)
			return NULL;
		w->sorted = s;
		w->cap_sorted = w->ngroups;
	}
	for (size_t i = 0; i < w->ngroups; i++) {
		const struct watch_group *g = w->groups[i];

		if ((watch__total_state(g) || g->opens_per_s > 0 || g->closes_per_s > 0) &&
		    selected(w, g))
			w->sorted[k++] = g;
	}
	if (k)
		qsort(w->sorted, k, sizeof(*w->sorted), by_total);
	*n = k;
	return w->sorted;
}

/* The CLOSE_WAIT sockets of port, in netns unless any_netns. */
static const struct watch_cw *close_waits(struct watch *w, bool any_netns, uint32_t netns,
					  uint16_t port, size_t *n)
{
	size_t k = 0;

	*n = 0;
	if (w->cap_scratch < w->ncw) {
		struct watch_cw *s = realloc(w->scratch, w->ncw * sizeof(*s));

		if (!s)
			return NULL;
		w->scratch = s;
		w->cap_scratch = w->ncw;
	}
	for (size_t i = 0; i < w->ncw; i++)
		if (w->cw[i].port == port && (any_netns || w->cw[i].netns == netns))
			w->scratch[k++] = w->cw[i];
	*n = k;
	return w->scratch;
}

const struct watch_cw *watch__close_waits(struct watch *w, uint16_t port, size_t *n)
{
	return close_waits(w, true, 0, port, n);
}

const struct watch_cw *watch__group_close_waits(struct watch *w, const struct watch_group *g,
						size_t *n)
{
	return close_waits(w, false, g->netns, g->port, n);
}

void watch__free(struct watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ngroups; i++)
		group_free(w->groups[i]);
	for (size_t i = 0; i < w->nns; i++)
		free(w->ns[i]);
	free(w->groups);
	free(w->ns);
	u64map_free(&w->group_map);
	u64map_free(&w->ns_map);
	u64map_free(&w->gone_map);
	free(w->gone);
	free(w->cw);
	free(w->sorted);
	free(w->scratch);
	free(w);
}

void watch_proc_count(struct watch_proc_row *rows, size_t *n, const struct sf_owner *owner,
		      unsigned int state)
{
	size_t k;

	if (state >= SF_TCP_MAX_STATES)
		return;
	for (k = 0; k < *n && rows[k].owner.pid != owner->pid; k++)
		;
	if (k == *n) {
		memset(&rows[k], 0, sizeof(rows[k]));
		rows[(*n)++].owner = *owner;
	}
	rows[k].counts[state]++;
}

static int64_t proc_total(const struct watch_proc_row *r)
{
	int64_t t = 0;

	for (int s = 0; s < SF_TCP_MAX_STATES; s++)
		t += r->counts[s];
	return t;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct watch_proc_row *x = a, *y = b;
	int64_t tx = proc_total(x), ty = proc_total(y);

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return (x->owner.pid > y->owner.pid) - (x->owner.pid < y->owner.pid);
}

void watch_proc_sort(struct watch_proc_row *rows, size_t n)
{
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_proc);
}

struct keyed_rec {
	uint32_t netns;
	uint16_t port;
	const struct sf_sock_rec *rec;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed_rec *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->rec->state - y->rec->state;
}

static bool same_group(const struct keyed_rec *a, const struct keyed_rec *b)
{
	return a->netns == b->netns && a->port == b->port && a->rec->state == b->rec->state;
}

static void group_add(struct watch_sock_group *g, const struct sf_sock_rec *r)
{
	g->n++;
	g->cgroup_id = merge_cgroup(g->cgroup_id, r->cgroup_id);
	if (r->age_ms != SF_AGE_UNKNOWN && (int64_t)r->age_ms > g->oldest_ms)
		g->oldest_ms = r->age_ms;
}

static int cmp_rec_netns(const void *a, const void *b)
{
	uint32_t x = (*(const struct sf_sock_rec *const *)a)->netns;
	uint32_t y = (*(const struct sf_sock_rec *const *)b)->netns;

	return x < y ? -1 : x > y;
}

/* Each record with its service port, which the listeners of its own namespace decide. */
static void key_records(const struct sf_sock_rec *recs, size_t n, const struct sf_sock_rec **by_ns,
			struct keyed_rec *k)
{
	uint64_t listening[LISTEN_WORDS];
	size_t i = 0, j;

	for (size_t r = 0; r < n; r++)
		by_ns[r] = &recs[r];
	qsort(by_ns, n, sizeof(*by_ns), cmp_rec_netns);
	for (; i < n; i = j) {
		for (j = i; j < n && by_ns[j]->netns == by_ns[i]->netns; j++)
			;
		listening_of(listening, by_ns + i, j - i);
		for (size_t r = i; r < j; r++)
			k[r] = (struct keyed_rec){ by_ns[r]->netns,
						   rec_service_port(listening, by_ns[r]),
						   by_ns[r] };
	}
}

int watch_sock_groups(const struct sf_sock_rec *recs, size_t n, struct watch_sock_group **out,
		      size_t *ngroups)
{
	size_t room = n ? n : 1, ng = 0;
	struct keyed_rec *k = malloc(room * sizeof(*k));
	struct watch_sock_group *g = malloc(room * (sizeof(*g) + sizeof(*g->recs)));
	const struct sf_sock_rec **order;

	if (!k || !g) {
		free(k);
		free(g);
		return -ENOMEM;
	}
	/* the records' order after the groups, in the same allocation */
	order = (const struct sf_sock_rec **)(g + room);
	key_records(recs, n, order, k);
	qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i < n; i++) {
		order[i] = k[i].rec;
		if (!i || !same_group(&k[i - 1], &k[i]))
			g[ng++] = (struct watch_sock_group){ .netns = k[i].netns,
							     .port = k[i].port,
							     .state = k[i].rec->state,
							     .oldest_ms = -1,
							     .recs = &order[i] };
		group_add(&g[ng - 1], k[i].rec);
	}
	free(k);
	*out = g;
	*ngroups = ng;
	return 0;
}
