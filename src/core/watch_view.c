// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "names.h"
#include "parse.h"
#include "watch_view.h"
#include "who.h"

void watch_view_put(struct sf_sb *b, FILE *f)
{
	if (b->len)
		fwrite(b->p, 1, b->len, f);
	sf_sb_reset(b);
}

void watch_view_time(char *buf, size_t len, uint64_t mono_ns, int64_t realtime_offset_ns)
{
	int64_t ns = (int64_t)mono_ns + realtime_offset_ns;
	time_t secs = ns / (int64_t)SF_NS_PER_S;
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns % (int64_t)SF_NS_PER_S / (int64_t)SF_NS_PER_MS));
}

/* Counts a transition stream got ahead of the last snapshot show as 0, never below. */
static int64_t clamp0(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* [{"pid":1,"comm":"x"},...], or null when the owners were not looked up */
static void json_owners(struct sf_sb *b, const char *key, const struct sf_owner *own, size_t n)
{
	if (!own) {
		sf_json_knull(b, key);
		return;
	}
	sf_json_key(b, key);
	sf_sb_puts(b, "[");
	for (size_t i = 0; i < n; i++) {
		sf_sb_puts(b, i ? ",{" : "{");
		sf_json_ku64(b, "pid", own[i].pid);
		sf_json_kstr(b, "comm", own[i].comm);
		sf_sb_puts(b, "}");
	}
	sf_sb_puts(b, "]");
}

/* PID/COMM,PID/COMM after lead */
static void text_owners(struct sf_sb *b, const char *lead, const struct sf_owner *own, size_t n)
{
	char comm[SF_TEXT_SAFE_LEN(SF_COMM_LEN)];

	for (size_t i = 0; own && i < n; i++)
		sf_sb_printf(b, "%s%" PRIu32 "/%s", i ? "," : lead, own[i].pid,
			     sf_text_safe(own[i].comm, SF_COMM_LEN, comm, sizeof(comm)));
}

/* "reasons":{"reset":{"linger0":2}}: the closes whose reason is known, by kind */
static void json_reasons(struct sf_sb *b, const struct watch_group *g)
{
	sf_json_key(b, "reasons");
	sf_sb_puts(b, "{");
	for (unsigned int k = 0; k < SF_CLOSE_COUNT; k++) {
		bool open = false;

		for (unsigned int r = SF_REASON_NONE + 1; r < SF_REASON_COUNT; r++) {
			if (!g->reasons[k][r])
				continue;
			if (!open) {
				sf_json_key(b, sf_close_name(k));
				sf_sb_puts(b, "{");
				open = true;
			}
			sf_json_ku64(b, sf_reason_name(r), g->reasons[k][r]);
		}
		if (open)
			sf_sb_puts(b, "}");
	}
	sf_sb_puts(b, "}");
}

static void json_group(struct sf_sb *b, const struct watch_group *g, const char *ts)
{
	sf_sb_puts(b, "{");
	sf_json_kstr(b, "type", "group");
	sf_json_kstr(b, "ts", ts);
	sf_json_ku64(b, "port", g->port);
	sf_json_ku64(b, "netns", g->netns);
	sf_who_json(b, &g->ident->wl);
	sf_json_key(b, "counts");
	sf_sb_puts(b, "{");
	for (size_t s = 0; s < sf_nwatched_states; s++)
		sf_json_ki64(b, sf_state_label(sf_watched_states[s]),
			     clamp0(g->counts[sf_watched_states[s]]));
	sf_sb_puts(b, "}");
	sf_json_kdouble(b, "opens_per_s", "%.2f", g->opens_per_s);
	sf_json_kdouble(b, "closes_per_s", "%.2f", g->closes_per_s);
	sf_json_kdouble(b, "resets_per_s", "%.2f", g->resets_per_s);
	sf_json_key(b, "close_kinds");
	sf_sb_puts(b, "{");
	for (unsigned int k = 0; k < SF_CLOSE_COUNT; k++)
		if (g->kinds[k])
			sf_json_ku64(b, sf_close_name(k), g->kinds[k]);
	sf_sb_puts(b, "}");
	json_reasons(b, g);
	if (g->oldest_cw_ms >= 0)
		sf_json_kdouble(b, "oldest_close_wait_s", "%.3f", g->oldest_cw_ms / 1000.0);
	else
		sf_json_knull(b, "oldest_close_wait_s");
	sf_sb_puts(b, "}\n");
}

static void json_frame(struct sf_sb *b, const struct watch_frame *f)
{
	for (size_t i = 0; i < f->ngroups; i++)
		json_group(b, f->groups[i], f->ts);
	sf_sb_puts(b, "{");
	sf_json_kstr(b, "type", "tick");
	sf_json_kstr(b, "ts", f->ts);
	sf_json_ku64(b, "groups", f->ngroups);
	sf_json_ku64(b, "lost", f->lost);
	if (f->rec) {
		sf_json_ku64(b, "netns", f->rec->netns);
		sf_json_ku64(b, "netns_read", f->rec->read);
		sf_json_ku64(b, "sockets_read", f->rec->sockets);
		sf_json_kdouble(b, "read_ms", "%.3f", f->rec->ms);
	}
	sf_sb_puts(b, "}\n");
}

/* The state columns' header: " ESTAB   SYN_S ..." */
static void state_columns(struct sf_sb *b)
{
	for (size_t s = 0; s < sf_nwatched_states; s++)
		sf_sb_printf(b, " %7s", sf_state_short(sf_watched_states[s]));
}

static void table_processes(struct sf_sb *b, const struct watch_frame *f)
{
	char comm[SF_TEXT_SAFE_LEN(SF_COMM_LEN)];

	sf_sb_printf(b, "%-8s %-16s", "PID", "COMM");
	state_columns(b);
	sf_sb_puts(b, "\n");
	for (size_t i = 0; i < f->nprocs && i < f->top; i++) {
		const struct watch_proc_row *p = &f->procs[i];

		sf_sb_printf(b, "%-8" PRIu32 " %-16s", p->owner.pid,
			     sf_text_safe(p->owner.comm, SF_COMM_LEN, comm, sizeof(comm)));
		for (size_t s = 0; s < sf_nwatched_states; s++)
			sf_sb_printf(b, " %7" PRId64, p->counts[sf_watched_states[s]]);
		sf_sb_puts(b, "\n");
	}
}

/* The close-kind mix: "fin:3,rst:1", or "-" */
static void close_mix(struct sf_sb *b, const struct watch_group *g)
{
	bool any = false;

	for (unsigned int k = 0; k < SF_CLOSE_COUNT; k++) {
		if (!g->kinds[k])
			continue;
		sf_sb_printf(b, "%s%s:%" PRIu64, any ? "," : "", sf_close_name(k), g->kinds[k]);
		any = true;
	}
	if (!any)
		sf_sb_puts(b, "-");
}

/* The WORKLOAD column: escaped, cut to its width. */
static void workload_cell(struct sf_sb *b, const struct watch_ident *id)
{
	char label[SF_TEXT_SAFE_LEN(sizeof(id->label))];

	sf_sb_printf(b, " %-22.22s",
		     sf_text_safe(id->label, sizeof(id->label), label, sizeof(label)));
}

/* The CW OWNERS column of the live terminal view: the row's, if looked up. */
static void row_owners(struct sf_sb *b, const struct watch_frame *f, const struct watch_group *g)
{
	for (size_t i = 0; i < f->nowners; i++) {
		if (f->owners[i].group != g)
			continue;
		text_owners(b, "  ", f->owners[i].own, f->owners[i].nown);
		return;
	}
}

static void table_row(struct sf_sb *b, const struct watch_frame *f, const struct watch_group *g)
{
	char age[32] = "-";

	if (g->oldest_cw_ms >= 0)
		snprintf(age, sizeof(age), "%.1fs", g->oldest_cw_ms / 1000.0);
	sf_sb_printf(b, "%-6u", g->port);
	workload_cell(b, g->ident);
	for (size_t s = 0; s < sf_nwatched_states; s++)
		sf_sb_printf(b, " %7" PRId64, clamp0(g->counts[sf_watched_states[s]]));
	sf_sb_printf(b, " %7.1f %7.1f %6.1f %8s  ", g->opens_per_s, g->closes_per_s,
		     g->resets_per_s, age);
	close_mix(b, g);
	row_owners(b, f, g);
	sf_sb_puts(b, "\n");
}

static void table_ports(struct sf_sb *b, const struct watch_frame *f)
{
	sf_sb_printf(b, "%-6s %-22s", "PORT", "WORKLOAD");
	state_columns(b);
	sf_sb_printf(b, " %7s %7s %6s %8s  %s%s\n", "open/s", "close/s", "rst/s", "CW_AGE",
		     "CLOSE MIX", f->tty ? "  CLOSE_WAIT OWNERS" : "");
	for (size_t i = 0; i < f->ngroups && i < f->top; i++)
		table_row(b, f, f->groups[i]);
	if (!f->tty)
		sf_sb_puts(b, "\n");
}

static const char *const by_names[] = { "port", "process", "pod", "container", "unit", "netns" };

const char *watch_by_name(enum watch_by by)
{
	return by_names[by];
}

/* --by pod, container, unit, netns: the groups summed by their owner. */
struct rollup {
	char key[336]; /* namespace/pod */
	const struct watch_ident *id; /* the first group's: --by netns shows its label */
	int64_t counts[SF_TCP_MAX_STATES];
	double opens_per_s, closes_per_s, resets_per_s;
	int64_t oldest_cw_ms;
	size_t ports;
};

static void rollup_key(enum watch_by by, const struct watch_group *g, char *buf, size_t len)
{
	const struct sf_workload *w = &g->ident->wl;

	if (by == WATCH_BY_NETNS)
		snprintf(buf, len, "%u", g->netns);
	else if (by == WATCH_BY_POD && w->pod[0])
		snprintf(buf, len, "%s%s%s", w->ns, w->ns[0] ? "/" : "", w->pod);
	else if (by == WATCH_BY_CONTAINER && (w->container[0] || w->container_id[0]))
		snprintf(buf, len, "%.*s",
			 w->container[0] ? (int)sizeof(w->container) : SF_CONTAINER_ID_SHORT,
			 w->container[0] ? w->container : w->container_id);
	else if (by == WATCH_BY_UNIT && w->unit[0])
		snprintf(buf, len, "%s", w->unit);
	else
		snprintf(buf, len, "-");
}

static void rollup_add(struct rollup *r, const struct watch_group *g)
{
	for (unsigned int st = 0; st < SF_TCP_MAX_STATES; st++)
		r->counts[st] += clamp0(g->counts[st]);
	r->opens_per_s += g->opens_per_s;
	r->closes_per_s += g->closes_per_s;
	r->resets_per_s += g->resets_per_s;
	if (g->oldest_cw_ms > r->oldest_cw_ms)
		r->oldest_cw_ms = g->oldest_cw_ms;
	r->ports++;
}

static int64_t rollup_total(const struct rollup *r)
{
	int64_t t = 0;

	for (unsigned int st = 0; st < SF_TCP_MAX_STATES; st++)
		t += r->counts[st];
	return t;
}

static int cmp_rollup(const void *a, const void *b)
{
	const struct rollup *x = a, *y = b;
	int64_t tx = rollup_total(x), ty = rollup_total(y);

	if (tx != ty)
		return tx > ty ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* The rows, most sockets first: *n of them, malloc'd (NULL when out of memory). */
static struct rollup *make_rollup(const struct watch_frame *f, size_t *n)
{
	struct rollup *r = calloc(f->ngroups ? f->ngroups : 1, sizeof(*r));
	char key[sizeof(r->key)];
	size_t k = 0, i;

	for (size_t g = 0; r && g < f->ngroups; g++) {
		rollup_key(f->by, f->groups[g], key, sizeof(key));
		for (i = 0; i < k && strcmp(r[i].key, key); i++)
			;
		if (i == k) {
			memcpy(r[k].key, key, sizeof(key));
			r[k].id = f->groups[g]->ident;
			r[k++].oldest_cw_ms = -1;
		}
		rollup_add(&r[i], f->groups[g]);
	}
	if (r)
		qsort(r, k, sizeof(*r), cmp_rollup);
	*n = k;
	return r;
}

static void rollup_row(struct sf_sb *b, const struct watch_frame *f, const struct rollup *r)
{
	char key[SF_TEXT_SAFE_LEN(sizeof(r->key))], age[32] = "-";

	if (r->oldest_cw_ms >= 0)
		snprintf(age, sizeof(age), "%.1fs", r->oldest_cw_ms / 1000.0);
	sf_sb_printf(b, "%-29.29s", sf_text_safe(r->key, sizeof(r->key), key, sizeof(key)));
	if (f->by == WATCH_BY_NETNS)
		workload_cell(b, r->id);
	for (size_t s = 0; s < sf_nwatched_states; s++)
		sf_sb_printf(b, " %7" PRId64, r->counts[sf_watched_states[s]]);
	sf_sb_printf(b, " %7.1f %7.1f %6.1f %8s %5zu\n", r->opens_per_s, r->closes_per_s,
		     r->resets_per_s, age, r->ports);
}

static void table_rollup(struct sf_sb *b, const struct watch_frame *f)
{
	size_t n;
	struct rollup *r = make_rollup(f, &n);

	sf_sb_printf(b, "%-29s",
		     f->by == WATCH_BY_POD	 ? "NAMESPACE/POD" :
		     f->by == WATCH_BY_CONTAINER ? "CONTAINER" :
		     f->by == WATCH_BY_UNIT	 ? "UNIT" :
						   "NETNS");
	if (f->by == WATCH_BY_NETNS)
		sf_sb_printf(b, " %-22s", "WORKLOAD");
	state_columns(b);
	sf_sb_printf(b, " %7s %7s %6s %8s %5s\n", "open/s", "close/s", "rst/s", "CW_AGE", "PORTS");
	for (size_t i = 0; r && i < n && i < f->top; i++)
		rollup_row(b, f, &r[i]);
	free(r);
	if (!f->tty)
		sf_sb_puts(b, "\n");
}

/*
 * The live terminal view redraws the screen each refresh, which would wipe an
 * alert line: the alerts firing stay in a panel above the table instead.
 */
static void alert_panel(struct sf_sb *b, const struct watch_frame *f)
{
	char text[SF_TEXT_SAFE_LEN(160)], label[SF_TEXT_SAFE_LEN(192)], where[512];

	if (!f->nalerts) {
		sf_sb_puts(b, "no alert firing\n\n");
		return;
	}
	sf_sb_printf(b, "ALERTS FIRING (%zu)\n  %-32s %-32s %8s  %-24s  %s\n", f->nalerts, "RULE",
		     "WHERE", "VALUE", "SINCE", "OWNERS");
	for (size_t i = 0; i < f->nalerts; i++) {
		const struct watch_firing *a = &f->alerts[i];
		const struct watch_group *g = a->group;

		snprintf(where, sizeof(where), "port %u of %s", g->port,
			 sf_text_safe(g->ident->label, sizeof(g->ident->label), label,
				      sizeof(label)));
		sf_sb_printf(b, "  %-32s %-32s %8g  %-24s",
			     sf_text_safe(a->rule->text, sizeof(a->rule->text), text, sizeof(text)),
			     where, g->alerts[a->rule_index].value, a->since);
		text_owners(b, "  ", a->own, a->nown);
		sf_sb_puts(b, "\n");
	}
	sf_sb_puts(b, "\n");
}

void watch_view_frame(struct sf_sb *b, const struct watch_frame *f, bool json)
{
	if (json) {
		json_frame(b, f);
		return;
	}
	if (f->tty)
		sf_sb_puts(b, "\033[H\033[2J");
	sf_sb_printf(
		b, "synfin watch  %s  %zu ports in %zu network namespaces%s\n", f->ts, f->ngroups,
		f->rec ? f->rec->netns : 1,
		f->lost || f->missed ?
			"  (events lost or missed: counts are reconciled at the next snapshot)" :
			"");
	if (f->tty)
		alert_panel(b, f);
	if (f->by == WATCH_BY_PROCESS)
		table_processes(b, f);
	else if (f->by == WATCH_BY_PORT)
		table_ports(b, f);
	else
		table_rollup(b, f);
}

/*
 * The label sets of the metrics: service port, and the Kubernetes namespace
 * and pod of its network namespace (kube-state-metrics' names), the same for
 * every port of the node that no pod owns.
 */
struct series {
	const struct watch_ident *id; /* NULL: "other" */
	uint16_t port;
	int64_t total;
	int64_t counts[SF_TCP_MAX_STATES];
	uint64_t kinds[SF_CLOSE_COUNT];
	uint64_t reasons[SF_CLOSE_COUNT][SF_REASON_COUNT];
	struct watch_hs hs;
	uint64_t retrans;
};

static int cmp_labels(const struct watch_group *x, const struct watch_group *y)
{
	int c;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	c = strcmp(x->ident->wl.ns, y->ident->wl.ns);
	return c ? c : strcmp(x->ident->wl.pod, y->ident->wl.pod);
}

static int cmp_group_labels(const void *a, const void *b)
{
	return cmp_labels(*(const struct watch_group *const *)a,
			  *(const struct watch_group *const *)b);
}

/* Most sockets first; ties by port. */
static int cmp_series(const void *a, const void *b)
{
	const struct series *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

static void series_add(struct series *s, const struct watch_group *g)
{
	for (unsigned int st = 0; st < SF_TCP_MAX_STATES; st++)
		s->counts[st] += clamp0(g->counts[st]);
	for (unsigned int k = 0; k < SF_CLOSE_COUNT; k++) {
		s->kinds[k] += g->kinds[k];
		for (unsigned int r = 0; r < SF_REASON_COUNT; r++)
			s->reasons[k][r] += g->reasons[k][r];
	}
	for (unsigned int i = 0; i <= WATCH_HS_BUCKETS; i++)
		s->hs.n[i] += g->hs.n[i];
	s->hs.count += g->hs.count;
	s->hs.sum += g->hs.sum;
	s->retrans += g->retrans;
	s->total += watch__total_state(g);
}

/* Adds what from counts to to ("other"). */
static void series_merge(struct series *to, const struct series *from)
{
	for (unsigned int st = 0; st < SF_TCP_MAX_STATES; st++)
		to->counts[st] += from->counts[st];
	for (unsigned int k = 0; k < SF_CLOSE_COUNT; k++) {
		to->kinds[k] += from->kinds[k];
		for (unsigned int r = 0; r < SF_REASON_COUNT; r++)
			to->reasons[k][r] += from->reasons[k][r];
	}
	for (unsigned int i = 0; i <= WATCH_HS_BUCKETS; i++)
		to->hs.n[i] += from->hs.n[i];
	to->hs.count += from->hs.count;
	to->hs.sum += from->hs.sum;
	to->retrans += from->retrans;
}

/*
 * The groups merged by label set, busiest first; those past the first max
 * merged into one more, "other". *n of them, malloc'd; NULL when out of memory.
 */
static struct series *make_series(const struct watch_frame *f, size_t max, size_t *n)
{
	const struct watch_group **g = malloc((f->ngroups + 1) * sizeof(*g));
	struct series *s = calloc(f->ngroups + 1, sizeof(*s));
	size_t k = 0;

	if (!g || !s) {
		free(g);
		free(s);
		return NULL;
	}
	memcpy(g, f->groups, f->ngroups * sizeof(*g));
	qsort(g, f->ngroups, sizeof(*g), cmp_group_labels);
	for (size_t i = 0; i < f->ngroups; i++) {
		if (!i || cmp_labels(g[i - 1], g[i]))
			s[k++] = (struct series){ .id = g[i]->ident, .port = g[i]->port };
		series_add(&s[k - 1], g[i]);
	}
	free(g);
	qsort(s, k, sizeof(*s), cmp_series);
	for (size_t i = max + 1; i < k; i++)
		series_merge(&s[max], &s[i]);
	if (k > max)
		s[max].id = NULL;
	*n = k > max ? max + 1 : k;
	return s;
}

/* A label value in the exposition format: backslash, quote and newline escaped. */
static void prom_value(struct sf_sb *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sf_sb_printf(b, "\\%c", *v);
		else if (*v == '\n')
			sf_sb_puts(b, "\\n");
		else
			sf_sb_put(b, v, 1);
	}
}

/*
 * ,port="8080",namespace="shop",pod="web-1"}: namespace and pod only where
 * known; without the comma when they are the first labels.
 */
static void series_labels(struct sf_sb *b, const struct series *s, bool first)
{
	if (!first)
		sf_sb_puts(b, ",");
	if (!s->id) {
		sf_sb_puts(b, "port=\"other\"}");
		return;
	}
	sf_sb_printf(b, "port=\"%u\"", s->port);
	if (s->id->wl.ns[0]) {
		sf_sb_puts(b, ",namespace=\"");
		prom_value(b, s->id->wl.ns);
		sf_sb_puts(b, "\"");
	}
	if (s->id->wl.pod[0]) {
		sf_sb_puts(b, ",pod=\"");
		prom_value(b, s->id->wl.pod);
		sf_sb_puts(b, "\"");
	}
	sf_sb_puts(b, "}");
}

static void metrics_sockets(struct sf_sb *b, const struct series *s, size_t n)
{
	sf_sb_puts(b,
		   "# HELP synfin_sockets TCP sockets by state, service port, namespace and pod.\n"
		   "# TYPE synfin_sockets gauge\n");
	for (size_t i = 0; i < n; i++) {
		for (size_t w = 0; w < sf_nwatched_states; w++) {
			unsigned int st = sf_watched_states[w];

			sf_sb_printf(b, "synfin_sockets{state=\"%s\"", sf_state_label(st));
			series_labels(b, &s[i], false);
			sf_sb_printf(b, " %" PRId64 "\n", s[i].counts[st]);
		}
	}
}

/* The closes of one kind: those of unknown reason without a reason label, the others by reason. */
static void metrics_close_kind(struct sf_sb *b, const struct series *s, unsigned int k)
{
	for (unsigned int r = 0; r < SF_REASON_COUNT; r++) {
		if (r != SF_REASON_NONE && !s->reasons[k][r])
			continue;
		sf_sb_printf(b, "synfin_connections_closed_total{close=\"%s\"", sf_close_name(k));
		if (r != SF_REASON_NONE)
			sf_sb_printf(b, ",reason=\"%s\"", sf_reason_name(r));
		series_labels(b, s, false);
		sf_sb_printf(b, " %" PRIu64 "\n", s->reasons[k][r]);
	}
}

static void metrics_closes(struct sf_sb *b, const struct series *s, size_t n)
{
	sf_sb_puts(b, "# HELP synfin_connections_closed_total Connections ended, by close kind, "
		      "reason (where known), service port, namespace and pod.\n"
		      "# TYPE synfin_connections_closed_total counter\n");
	for (size_t i = 0; i < n; i++)
		for (unsigned int k = 0; k < SF_CLOSE_COUNT; k++)
			metrics_close_kind(b, &s[i], k);
}

static void metrics_handshakes(struct sf_sb *b, const struct series *s, size_t n)
{
	sf_sb_puts(b, "# HELP synfin_handshake_seconds Handshake time of connections that ended, "
		      "by service port, namespace and pod.\n"
		      "# TYPE synfin_handshake_seconds histogram\n");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;

		for (int k = 0; k < WATCH_HS_BUCKETS; k++) {
			cum += s[i].hs.n[k];
			sf_sb_printf(b, "synfin_handshake_seconds_bucket{le=\"%g\"",
				     watch_hs_bounds[k]);
			series_labels(b, &s[i], false);
			sf_sb_printf(b, " %" PRIu64 "\n", cum);
		}
		sf_sb_puts(b, "synfin_handshake_seconds_bucket{le=\"+Inf\"");
		series_labels(b, &s[i], false);
		sf_sb_printf(b, " %" PRIu64 "\nsynfin_handshake_seconds_sum{", s[i].hs.count);
		series_labels(b, &s[i], true);
		sf_sb_printf(b, " %g\nsynfin_handshake_seconds_count{", s[i].hs.sum);
		series_labels(b, &s[i], true);
		sf_sb_printf(b, " %" PRIu64 "\n", s[i].hs.count);
	}
}

static void metrics_retransmits(struct sf_sb *b, const struct series *s, size_t n)
{
	sf_sb_puts(b,
		   "# HELP synfin_retransmits_total Segments sent again by connections that "
		   "ended (SYNs and FINs only where the kernel gave no health), by service port, "
		   "namespace and pod.\n"
		   "# TYPE synfin_retransmits_total counter\n");
	for (size_t i = 0; i < n; i++) {
		sf_sb_puts(b, "synfin_retransmits_total{");
		series_labels(b, &s[i], true);
		sf_sb_printf(b, " %" PRIu64 "\n", s[i].retrans);
	}
}

void watch_view_metrics(struct sf_sb *b, const struct watch_frame *f, size_t max_series)
{
	size_t n;
	struct series *s = make_series(f, max_series, &n);

	if (!s) {
		b->cut = true;
		return;
	}
	metrics_sockets(b, s, n);
	metrics_closes(b, s, n);
	metrics_handshakes(b, s, n);
	metrics_retransmits(b, s, n);
	free(s);
	sf_sb_printf(b,
		     "# HELP synfin_events_lost_total Tracer events the kernel could not queue.\n"
		     "# TYPE synfin_events_lost_total counter\nsynfin_events_lost_total %" PRIu64
		     "\n",
		     f->lost);
	sf_sb_printf(b,
		     "# HELP synfin_events_missed_total Tracer runs the kernel skipped and no "
		     "twin program recorded: events never seen.\n"
		     "# TYPE synfin_events_missed_total counter\n"
		     "synfin_events_missed_total %" PRIu64 "\n",
		     f->missed);
	sf_sb_printf(b,
		     "# HELP synfin_alerts_firing Alerts firing now.\n"
		     "# TYPE synfin_alerts_firing gauge\nsynfin_alerts_firing %zu\n",
		     f->firing);
}

void watch_view_alert(struct sf_sb *b, const struct watch_alert_event *ev, const char *ts,
		      const struct sf_owner *own, size_t nown, bool json)
{
	bool fired = ev->change == ALERT_FIRED;
	const char *metric = alert_metric_name(ev->rule->metric);

	if (!json) {
		char text[SF_TEXT_SAFE_LEN(sizeof(ev->rule->text))];

		char label[SF_TEXT_SAFE_LEN(sizeof(ev->group->ident->label))];

		sf_sb_printf(b, "%s ALERT %s: %s on port %u of %s: %s=%g", ts,
			     fired ? "FIRING" : "cleared",
			     sf_text_safe(ev->rule->text, SIZE_MAX, text, sizeof(text)),
			     ev->group->port,
			     sf_text_safe(ev->group->ident->label, sizeof(ev->group->ident->label),
					  label, sizeof(label)),
			     metric, ev->value);
		text_owners(b, " held by ", own, nown);
		sf_sb_puts(b, "\n");
		return;
	}
	sf_sb_puts(b, "{");
	sf_json_kstr(b, "type", "alert");
	sf_json_kstr(b, "ts", ts);
	sf_json_kstr(b, "state", fired ? "firing" : "cleared");
	sf_json_kstr(b, "rule", ev->rule->text);
	sf_json_ku64(b, "port", ev->group->port);
	sf_json_ku64(b, "netns", ev->group->netns);
	sf_who_json(b, &ev->group->ident->wl);
	sf_json_kstr(b, "metric", metric);
	sf_json_kdouble(b, "value", "%g", ev->value);
	sf_json_kdouble(b, "threshold", "%g", ev->rule->threshold);
	json_owners(b, "pids", own, nown);
	sf_sb_puts(b, "}\n");
}

void watch_view_snapshot_header(struct sf_sb *b, bool procs)
{
	sf_sb_printf(b, "%-7s %-12s %8s %10s  %-24s %s\n", "PORT", "STATE", "COUNT", "OLDEST_S",
		     "WORKLOAD", procs ? "PROCESSES" : "");
}

void watch_view_snapshot_group(struct sf_sb *b, const struct watch_sock_group *g,
			       const struct watch_ident *id, const struct sf_owner *own,
			       size_t nown, bool json)
{
	char age[32] = "-", label[SF_TEXT_SAFE_LEN(sizeof(id->label))];

	if (!json) {
		if (g->oldest_ms >= 0)
			snprintf(age, sizeof(age), "%.1f", g->oldest_ms / 1000.0);
		sf_sb_printf(b, "%-7u %-12s %8zu %10s  %-24s ", g->port, sf_state_name(g->state),
			     g->n, age,
			     sf_text_safe(id->label, sizeof(id->label), label, sizeof(label)));
		text_owners(b, "", own, nown);
		sf_sb_puts(b, "\n");
		return;
	}
	sf_sb_puts(b, "{");
	sf_json_kstr(b, "type", "group");
	sf_json_ku64(b, "port", g->port);
	sf_json_kstr(b, "state", sf_state_name(g->state));
	sf_json_ku64(b, "count", g->n);
	if (g->oldest_ms >= 0)
		sf_json_kdouble(b, "oldest_s", "%.3f", g->oldest_ms / 1000.0);
	else
		sf_json_knull(b, "oldest_s");
	sf_json_ku64(b, "netns", g->netns);
	sf_who_json(b, &id->wl);
	json_owners(b, "pids", own, nown);
	sf_sb_puts(b, "}\n");
}
