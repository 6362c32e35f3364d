// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "watch.h"

#define NPORTS 65536
#define LISTEN_WORDS (NPORTS / 64)

const double watch_hs_bounds[WATCH_HS_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
						   0.005,  0.01,    0.05,   0.25,  1.0 };

struct watch {
	const struct alert_rule *rules;
	size_t nrules;
	struct watch_group *groups[NPORTS];
	uint64_t listening[LISTEN_WORDS];
	struct watch_cw *cw;
	size_t ncw, cap_cw;
	uint64_t last_tick;
	struct watch_totals totals;
	const struct watch_group **sorted;
	struct watch_cw *scratch;
	size_t cap_scratch;
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

static struct watch_group *group(struct watch *w, uint16_t port)
{
	struct watch_group *g = w->groups[port];

	if (g)
		return g;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->alerts = calloc(w->nrules ? w->nrules : 1, sizeof(*g->alerts));
	if (!g->alerts) {
		free(g);
		return NULL;
	}
	g->port = port;
	g->oldest_cw_ms = -1;
	for (size_t i = 0; i < w->nrules; i++)
		g->alerts[i].port = port;
	w->groups[port] = g;
	return g;
}

static void set_listening(uint64_t *listening, uint16_t port, bool on)
{
	if (on)
		listening[port / 64] |= 1ull << (port % 64);
	else
		listening[port / 64] &= ~(1ull << (port % 64));
}

static void listening_of(uint64_t *listening, const struct sf_sock_rec *recs, size_t n)
{
	memset(listening, 0, LISTEN_WORDS * sizeof(*listening));
	for (size_t i = 0; i < n; i++)
		if (recs[i].state == SF_TCP_LISTEN)
			set_listening(listening, recs[i].lport, true);
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

static int cw_add(struct watch *w, uint64_t key, uint64_t ino, uint64_t enter, uint16_t port)
{
	if (w->ncw == w->cap_cw) {
		size_t ncap = w->cap_cw ? w->cap_cw * 2 : 64;
		struct watch_cw *n = realloc(w->cw, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->cw = n;
		w->cap_cw = ncap;
	}
	w->cw[w->ncw++] = (struct watch_cw){ key, ino, enter, port };
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

static const struct watch_cw *cw_find(const struct watch_cw *v, size_t n, uint64_t key,
				      uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].key == key || (ino && v[i].ino == ino))
			return &v[i];
	return NULL;
}

int watch__snapshot(struct watch *w, const struct sf_sock_rec *recs, size_t n, uint64_t now_ns)
{
	struct watch_cw *old = w->cw;
	size_t nold = w->ncw;

	listening_of(w->listening, recs, n);
	for (size_t p = 0; p < NPORTS; p++)
		if (w->groups[p])
			memset(w->groups[p]->counts, 0, sizeof(w->groups[p]->counts));
	w->cw = NULL;
	w->ncw = w->cap_cw = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sf_sock_rec *r = &recs[i];
		uint16_t port = rec_service_port(w->listening, r);
		struct watch_group *g = group(w, port);
		const struct watch_cw *known;
		uint64_t enter;

		if (!g || r->state >= SF_TCP_MAX_STATES)
			continue;
		g->counts[r->state]++;
		if (r->state != SF_TCP_CLOSE_WAIT)
			continue;
		/* a CLOSE_WAIT timed by its event stays exact; else the snapshot's estimate */
		known = cw_find(old, nold, cw_key(r->cookie, r->ino), r->ino);
		if (known)
			enter = known->enter_ns;
		else if (r->age_ms != SF_AGE_UNKNOWN && now_ns >= r->age_ms * 1000000ull)
			enter = now_ns - r->age_ms * 1000000ull;
		else
			enter = now_ns;
		cw_add(w, cw_key(r->cookie, r->ino), r->ino, enter, port);
	}
	free(old);
	return 0;
}

void watch__transition(struct watch *w, const struct sf_transition *tr)
{
	const struct sf_event *e = tr->ev;
	unsigned int old = e->oldstate, new = e->newstate;
	struct watch_group *g;
	uint16_t port;

	if (new == SF_TCP_LISTEN || (old == SF_TCP_LISTEN && new == SF_TCP_CLOSE)) {
		g = group(w, tr->lport);
		if (!g)
			return;
		set_listening(w->listening, tr->lport, new == SF_TCP_LISTEN);
		g->counts[SF_TCP_LISTEN] += new == SF_TCP_LISTEN ? 1 : -1;
		return;
	}
	port = service_port(w->listening, tr->lport, tr->rport);
	g = group(w, port);
	if (!g)
		return;
	if (old == SF_TCP_CLOSE || old == SF_TCP_LISTEN)
		g->opens++;
	else
		g->counts[old]--;
	if (new != SF_TCP_CLOSE)
		g->counts[new]++;
	if (new == SF_TCP_CLOSE_WAIT)
		cw_add(w, cw_key(e->cookie, e->sock_ino), e->sock_ino, e->ts_ns, port);
	else if (old == SF_TCP_CLOSE_WAIT)
		cw_remove(w, e->cookie, e->sock_ino);
}

static void count_handshake(struct watch_totals *t, int64_t handshake_us)
{
	double s = handshake_us / 1e6;
	int b;

	if (handshake_us < 0)
		return;
	for (b = 0; b < WATCH_HS_BUCKETS && s > watch_hs_bounds[b]; b++)
		;
	t->hs[b]++;
	t->hs_count++;
	t->hs_sum += s;
}

void watch__lifecycle(struct watch *w, const struct sf_lifecycle *lc)
{
	struct watch_group *g;

	if (lc->alive)
		return;
	g = group(w, service_port(w->listening, lc->lport, lc->rport));
	if (!g)
		return;
	g->closes++;
	if (lc->close == SF_CLOSE_RESET)
		g->resets++;
	if (lc->close < SF_CLOSE_COUNT) {
		g->kinds[lc->close]++;
		w->totals.kinds[lc->close]++;
	}
	count_handshake(&w->totals, lc->handshake_us);
	/* the full socket is gone; a timewait mini-socket took its place */
	if (lc->fw2_handoff)
		g->counts[SF_TCP_FIN_WAIT2]++;
	else if (lc->time_wait)
		g->counts[SF_TCP_TIME_WAIT]++;
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

void watch__tick(struct watch *w, uint64_t now_ns, bool ignore_for, watch_alert_fn fn, void *ctx)
{
	double dt = w->last_tick && now_ns > w->last_tick ? (now_ns - w->last_tick) / 1e9 : 0;

	w->last_tick = now_ns;
	for (size_t p = 0; p < NPORTS; p++) {
		struct watch_group *g = w->groups[p];

		if (!g)
			continue;
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
	for (size_t i = 0; i < w->ncw; i++) {
		struct watch_group *g = w->groups[w->cw[i].port];
		int64_t age = now_ns > w->cw[i].enter_ns ? (now_ns - w->cw[i].enter_ns) / 1000000 :
							   0;

		if (g && age > g->oldest_cw_ms)
			g->oldest_cw_ms = age;
	}
	for (size_t r = 0; r < w->nrules; r++) {
		const struct alert_rule *rule = &w->rules[r];

		for (size_t p = 0; p < NPORTS; p++) {
			struct watch_group *g = w->groups[p];
			struct watch_alert_event ev;

			if (!g || (rule->has_port && rule->port != p))
				continue;
			ev.value = metric_value(g, rule->metric);
			ev.change = alert_step(rule, &g->alerts[r], ev.value, now_ns, ignore_for);
			if (ev.change == ALERT_NONE || !fn)
				continue;
			ev.rule = rule;
			ev.group = g;
			fn(&ev, ctx);
		}
	}
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
	return x->port < y->port ? -1 : x->port > y->port;
}

const struct watch_group *const *watch__groups(struct watch *w, size_t *n)
{
	size_t k = 0;

	if (!w->sorted) {
		w->sorted = calloc(NPORTS, sizeof(*w->sorted));
		if (!w->sorted) {
			*n = 0;
			return NULL;
		}
	}
	for (size_t p = 0; p < NPORTS; p++) {
		const struct watch_group *g = w->groups[p];

		if (g && (watch__total_state(g) || g->opens_per_s > 0 || g->closes_per_s > 0))
			w->sorted[k++] = g;
	}
	qsort(w->sorted, k, sizeof(*w->sorted), by_total);
	*n = k;
	return w->sorted;
}

const struct watch_cw *watch__close_waits(struct watch *w, uint16_t port, size_t *n)
{
	size_t k = 0;

	if (w->cap_scratch < w->ncw) {
		struct watch_cw *s = realloc(w->scratch, w->ncw * sizeof(*s));

		if (!s) {
			*n = 0;
			return NULL;
		}
		w->scratch = s;
		w->cap_scratch = w->ncw;
	}
	for (size_t i = 0; i < w->ncw; i++)
		if (w->cw[i].port == port)
			w->scratch[k++] = w->cw[i];
	*n = k;
	return w->scratch;
}

void watch__totals(const struct watch *w, struct watch_totals *t)
{
	*t = w->totals;
}

void watch__free(struct watch *w)
{
	if (!w)
		return;
	for (size_t p = 0; p < NPORTS; p++) {
		if (!w->groups[p])
			continue;
		free(w->groups[p]->alerts);
		free(w->groups[p]);
	}
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
	uint16_t port;
	const struct sf_sock_rec *rec;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed_rec *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->rec->state - y->rec->state;
}

static bool same_group(const struct keyed_rec *a, const struct keyed_rec *b)
{
	return a->port == b->port && a->rec->state == b->rec->state;
}

static void group_add(struct watch_sock_group *g, const struct sf_sock_rec *r)
{
	g->n++;
	if (r->age_ms != SF_AGE_UNKNOWN && (int64_t)r->age_ms > g->oldest_ms)
		g->oldest_ms = r->age_ms;
}

int watch_sock_groups(const struct sf_sock_rec *recs, size_t n, struct watch_sock_group **out,
		      size_t *ngroups)
{
	size_t room = n ? n : 1, ng = 0;
	struct keyed_rec *k = malloc(room * sizeof(*k));
	struct watch_sock_group *g = malloc(room * (sizeof(*g) + sizeof(*g->recs)));
	uint64_t listening[LISTEN_WORDS];
	const struct sf_sock_rec **order;

	if (!k || !g) {
		free(k);
		free(g);
		return -ENOMEM;
	}
	/* the records' order after the groups, in the same allocation */
	order = (const struct sf_sock_rec **)(g + room);
	listening_of(listening, recs, n);
	for (size_t i = 0; i < n; i++)
		k[i] = (struct keyed_rec){ rec_service_port(listening, &recs[i]), &recs[i] };
	qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i < n; i++) {
		order[i] = k[i].rec;
		if (!i || !same_group(&k[i - 1], &k[i]))
			g[ng++] = (struct watch_sock_group){ .port = k[i].port,
							     .state = k[i].rec->state,
							     .netns = k[i].rec->netns,
							     .oldest_ms = -1,
							     .recs = &order[i] };
		group_add(&g[ng - 1], k[i].rec);
	}
	free(k);
	*out = g;
	*ngroups = ng;
	return 0;
}
