// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin snapshot: the TCP sockets of a namespace now, by service port and state.
 * synfin watch: the same, kept live, with alerts and Prometheus metrics.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "alert.h"
#include "caps.h"
#include "clock.h"
#include "cmd.h"
#include "metrics.h"
#include "netns.h"
#include "procmap.h"
#include "session.h"
#include "snapshot.h"
#include "watch.h"
#include "names.h"

#define MAX_OWNERS 8
#define EXIT_ALERT 3
#define HS_BUCKETS 10

static const double hs_bounds[HS_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
					      0.005,  0.01,    0.05,   0.25,  1.0 };

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

/* Owners of a set of socket inodes, distinct, at most max. */
static size_t owners_of(const uint64_t *inodes, size_t n, struct sf_owner *out, size_t max)
{
	struct procmap *pm = NULL;
	size_t k = 0;

	if (!n || procmap_build(&pm, inodes, n))
		return 0;
	for (size_t i = 0; i < n && k < max; i++) {
		struct sf_owner o;
		bool dup = false;

		if (!procmap_get(pm, inodes[i], &o))
			continue;
		for (size_t j = 0; j < k && !dup; j++)
			dup = out[j].pid == o.pid;
		if (!dup)
			out[k++] = o;
	}
	procmap_free(pm);
	return k;
}

static void json_owners(FILE *f, const struct sf_owner *o, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{\"pid\":%" PRIu32 ",\"comm\":\"", i ? "," : "", o[i].pid);
		for (const char *c = o[i].comm; *c; c++)
			if (*c == '"' || *c == '\\')
				fprintf(f, "\\%c", *c);
			else if ((unsigned char)*c >= 0x20)
				fputc(*c, f);
		fputs("\"}", f);
	}
	fputc(']', f);
}

/* ---- synfin snapshot ---- */

/* A record's service port: its own if something listens there, else its peer's. */
static uint16_t rec_service_port(const struct sf_sock_rec *r, const uint64_t *listening)
{
	if (r->state == SF_TCP_LISTEN || listening[r->lport / 64] & (1ull << (r->lport % 64)))
		return r->lport;
	return r->rport;
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

static void print_group(const struct keyed_rec *v, size_t n, bool json, bool procs)
{
	const struct sf_sock_rec *r = v[0].rec;
	uint64_t *inodes = malloc(n * sizeof(*inodes));
	struct sf_owner own[MAX_OWNERS];
	size_t ni = 0, nown = 0;
	int64_t oldest = -1;

	for (size_t i = 0; i < n; i++) {
		if (v[i].rec->age_ms != SF_AGE_UNKNOWN && (int64_t)v[i].rec->age_ms > oldest)
			oldest = v[i].rec->age_ms;
		if (inodes && v[i].rec->ino)
			inodes[ni++] = v[i].rec->ino;
	}
	if (procs && inodes)
		nown = owners_of(inodes, ni, own, MAX_OWNERS);
	free(inodes);
	if (json) {
		printf("{\"type\":\"group\",\"port\":%u,\"state\":\"%s\",\"count\":%zu,\"oldest_s\":",
		       v[0].port, sf_state_name(r->state), n);
		if (oldest >= 0)
			printf("%.3f", oldest / 1000.0);
		else
			printf("null");
		printf(",\"netns\":%" PRIu32 ",\"pids\":", r->netns);
		if (procs)
			json_owners(stdout, own, nown);
		else
			printf("null");
		printf("}\n");
		return;
	}
	{
		char age[32] = "-";

		if (oldest >= 0)
			snprintf(age, sizeof(age), "%.1f", oldest / 1000.0);
		printf("%-7u %-12s %8zu %10s  ", v[0].port, sf_state_name(r->state), n, age);
		for (size_t o = 0; o < nown; o++)
			printf("%s%" PRIu32 "/%s", o ? "," : "", own[o].pid, own[o].comm);
		printf("\n");
	}
}

static const char snapshot_usage[] =
	"Usage: synfin snapshot [--netns PATH] [-p] [--json] [-v]\n"
	"The TCP sockets of a network namespace now (TIME_WAIT included), by service port\n"
	"and state: counts, the oldest age where known, and with -p the owning processes.\n";

int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' }, { "processes", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },	   { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	   {},
	};
	const char *netns = NULL;
	bool json = false, procs = false, verbose = false;
	uint64_t listening[1024] = { 0 };
	struct sf_sock_rec *recs = NULL;
	struct keyed_rec *keyed = NULL;
	struct snapshot *snap = NULL;
	char err[512] = "";
	size_t n = 0;
	int opt, ret = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":pvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'p':
			procs = true;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(snapshot_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "synfin snapshot: option %s needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "synfin snapshot: unknown option '%s'\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "synfin snapshot: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	/*
	 * Attached and in the namespace to read: only naming owners (-p) still needs
	 * a privilege, raised around the /proc scan.
	 */
	if (snapshot__open(&snap, verbose, err, sizeof(err)) ||
	    (netns && sf_enter_netns(netns, err, sizeof(err))) ||
	    sf_drop_privileges(procs ? PROCMAP_CAPS : 0, err, sizeof(err)) ||
	    snapshot__read(snap, &recs, &n, err, sizeof(err))) {
		fprintf(stderr, "synfin snapshot: %s\n", err);
		goto cleanup;
	}
	keyed = malloc((n ? n : 1) * sizeof(*keyed));
	if (!keyed) {
		fprintf(stderr, "synfin snapshot: out of memory\n");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		if (recs[i].state == SF_TCP_LISTEN)
			listening[recs[i].lport / 64] |= 1ull << (recs[i].lport % 64);
	for (size_t i = 0; i < n; i++)
		keyed[i] = (struct keyed_rec){ rec_service_port(&recs[i], listening), &recs[i] };
	qsort(keyed, n, sizeof(*keyed), cmp_keyed);
	if (!json)
		printf("%-7s %-12s %8s %10s  %s\n", "PORT", "STATE", "COUNT", "OLDEST_S",
		       procs ? "PROCESSES" : "");
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && keyed[j].port == keyed[i].port &&
		       keyed[j].rec->state == keyed[i].rec->state)
			j++;
		print_group(&keyed[i], j - i, json, procs);
		i = j;
	}
	ret = 0;
cleanup:
	free(keyed);
	free(recs);
	snapshot__close(snap);
	return ret;
}

/* ---- synfin watch ---- */

struct wrun {
	struct watch *w;
	struct alert_rule *rules;
	size_t nrules;
	bool json;
	bool tty;
	bool once;
	bool by_process;
	const char *exec_cmd;
	size_t top;
	size_t metrics_ports;
	struct metrics *metrics;
	uint64_t snap_ns; /* events before the last snapshot are in it already */
	uint64_t hs[HS_BUCKETS + 1];
	uint64_t hs_count;
	double hs_sum;
	uint64_t lost;
	int64_t realtime_offset;
	size_t firing;
	/* --by process: counts per owner, from the last snapshot */
	struct proc_row {
		struct sf_owner owner;
		int64_t counts[SF_TCP_MAX_STATES];
	} * prows;
	size_t nprows;
};

static void wall_clock(const struct wrun *r, uint64_t mono, char *buf, size_t len)
{
	int64_t ns = (int64_t)mono + r->realtime_offset;
	time_t secs = ns / 1000000000;
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns % 1000000000 / 1000000));
}

static void w_transition(const struct sf_transition *tr, void *ctx)
{
	struct wrun *r = ctx;

	if (tr->ev->ts_ns >= r->snap_ns)
		watch__transition(r->w, tr);
}

static void w_lifecycle(const struct sf_lifecycle *lc, void *ctx)
{
	struct wrun *r = ctx;
	double s;
	int b;

	if (lc->alive || lc->end_ns < r->snap_ns)
		return;
	watch__lifecycle(r->w, lc);
	if (lc->handshake_us < 0)
		return;
	s = lc->handshake_us / 1e6;
	for (b = 0; b < HS_BUCKETS && s > hs_bounds[b]; b++)
		;
	r->hs[b]++;
	r->hs_count++;
	r->hs_sum += s;
}

static size_t close_wait_owners(struct wrun *r, uint16_t port, struct sf_owner *own)
{
	const struct watch_cw *cw;
	uint64_t *inodes;
	size_t n, k;

	cw = watch__close_waits(r->w, port, &n);
	if (!cw || !n)
		return 0;
	inodes = malloc(n * sizeof(*inodes));
	if (!inodes)
		return 0;
	for (size_t i = 0; i < n; i++)
		inodes[i] = cw[i].ino;
	k = owners_of(inodes, n, own, MAX_OWNERS);
	free(inodes);
	return k;
}

/* --exec: the details go in the environment, never into the command string. */
static void run_exec(const struct wrun *r, const struct watch_alert_event *ev,
		     const struct sf_owner *own, size_t nown)
{
	char val[64], thr[64], port[16], pids[MAX_OWNERS * 12] = "", comms[MAX_OWNERS * 17] = "";
	size_t po = 0, co = 0;
	pid_t pid;

	for (size_t i = 0; i < nown; i++) {
		po += snprintf(pids + po, sizeof(pids) - po, "%s%" PRIu32, i ? "," : "",
			       own[i].pid);
		co += snprintf(comms + co, sizeof(comms) - co, "%s%s", i ? "," : "", own[i].comm);
	}
	snprintf(val, sizeof(val), "%g", ev->value);
	snprintf(thr, sizeof(thr), "%g", ev->rule->threshold);
	snprintf(port, sizeof(port), "%u", ev->group->port);
	pid = fork();
	if (pid != 0)
		return;
	setenv("SYNFIN_ALERT", ev->rule->text, 1);
	setenv("SYNFIN_STATE", ev->change == ALERT_FIRED ? "firing" : "cleared", 1);
	setenv("SYNFIN_PORT", port, 1);
	setenv("SYNFIN_METRIC", alert_metric_name(ev->rule->metric), 1);
	setenv("SYNFIN_VALUE", val, 1);
	setenv("SYNFIN_THRESHOLD", thr, 1);
	setenv("SYNFIN_PIDS", pids, 1);
	setenv("SYNFIN_COMMS", comms, 1);
	execl("/bin/sh", "sh", "-c", r->exec_cmd, (char *)NULL);
	_exit(127);
}

static void on_alert(const struct watch_alert_event *ev, void *ctx)
{
	struct wrun *r = ctx;
	struct sf_owner own[MAX_OWNERS];
	size_t nown = 0;
	bool cw = ev->rule->metric == SF_TCP_CLOSE_WAIT || ev->rule->metric == ALERT_CLOSE_WAIT_AGE;
	char ts[80];

	/* who holds the CLOSE_WAIT sockets: looked up only now, for this port */
	if (cw && ev->change == ALERT_FIRED)
		nown = close_wait_owners(r, ev->group->port, own);
	if (ev->change == ALERT_FIRED)
		r->firing++;
	wall_clock(r, sf_clock_ns(CLOCK_MONOTONIC), ts, sizeof(ts));
	if (r->json) {
		printf("{\"type\":\"alert\",\"ts\":\"%s\",\"state\":\"%s\",\"rule\":\"%s\",\"port\":%u,"
		       "\"metric\":\"%s\",\"value\":%g,\"threshold\":%g,\"pids\":",
		       ts, ev->change == ALERT_FIRED ? "firing" : "cleared", ev->rule->text,
		       ev->group->port, alert_metric_name(ev->rule->metric), ev->value,
		       ev->rule->threshold);
		if (cw && ev->change == ALERT_FIRED)
			json_owners(stdout, own, nown);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("%s ALERT %s: %s on port %u: %s=%g", ts,
		       ev->change == ALERT_FIRED ? "FIRING" : "cleared", ev->rule->text,
		       ev->group->port, alert_metric_name(ev->rule->metric), ev->value);
		for (size_t i = 0; i < nown; i++)
			printf("%s%" PRIu32 "/%s", i ? "," : " held by ", own[i].pid, own[i].comm);
		printf("\n");
	}
	fflush(stdout);
	if (r->exec_cmd)
		run_exec(r, ev, own, nown);
}

static void mix_text(const struct watch_group *g, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int k = 0; k < SF_CLOSE_COUNT && off < len; k++)
		if (g->kinds[k])
			off += snprintf(buf + off, len - off, "%s%s:%" PRIu64, off ? "," : "",
					sf_close_name(k), g->kinds[k]);
	if (!off)
		snprintf(buf, len, "-");
}

static int64_t clamp0(int64_t v)
{
	return v < 0 ? 0 : v;
}

static void render_by_process(struct wrun *r)
{
	printf("%-8s %-16s", "PID", "COMM");
	for (size_t s = 0; s < sf_nwatched_states; s++)
		printf(" %7s", sf_state_short(sf_watched_states[s]));
	printf("\n");
	for (size_t i = 0; i < r->nprows && i < r->top; i++) {
		printf("%-8" PRIu32 " %-16s", r->prows[i].owner.pid, r->prows[i].owner.comm);
		for (size_t s = 0; s < sf_nwatched_states; s++)
			printf(" %7" PRId64, r->prows[i].counts[sf_watched_states[s]]);
		printf("\n");
	}
}

static void render(struct wrun *r, uint64_t now)
{
	const struct watch_group *const *gs;
	char ts[80], mix[256];
	size_t n;

	gs = watch__groups(r->w, &n);
	wall_clock(r, now, ts, sizeof(ts));
	if (r->json) {
		for (size_t i = 0; i < n; i++) {
			const struct watch_group *g = gs[i];
			bool first = true;

			printf("{\"type\":\"group\",\"ts\":\"%s\",\"port\":%u,\"counts\":{", ts,
			       g->port);
			for (size_t s = 0; s < sf_nwatched_states; s++) {
				printf("%s\"%s\":%" PRId64, first ? "" : ",",
				       sf_state_label(sf_watched_states[s]),
				       clamp0(g->counts[sf_watched_states[s]]));
				first = false;
			}
			printf("},\"opens_per_s\":%.2f,\"closes_per_s\":%.2f,\"resets_per_s\":%.2f,"
			       "\"close_kinds\":{",
			       g->opens_per_s, g->closes_per_s, g->resets_per_s);
			first = true;
			for (int k = 0; k < SF_CLOSE_COUNT; k++) {
				if (!g->kinds[k])
					continue;
				printf("%s\"%s\":%" PRIu64, first ? "" : ",", sf_close_name(k),
				       g->kinds[k]);
				first = false;
			}
			printf("},\"oldest_close_wait_s\":");
			if (g->oldest_cw_ms >= 0)
				printf("%.3f}\n", g->oldest_cw_ms / 1000.0);
			else
				printf("null}\n");
		}
		printf("{\"type\":\"tick\",\"ts\":\"%s\",\"groups\":%zu,\"lost\":%" PRIu64 "}\n",
		       ts, n, r->lost);
		fflush(stdout);
		return;
	}
	if (r->tty)
		printf("\033[H\033[2J");
	printf("synfin watch  %s  %zu ports%s\n", ts, n,
	       r->lost ? "  (events lost: counts are reconciled at the next snapshot)" : "");
	if (r->by_process) {
		render_by_process(r);
		fflush(stdout);
		return;
	}
	printf("%-6s", "PORT");
	for (size_t s = 0; s < sf_nwatched_states; s++)
		printf(" %7s", sf_state_short(sf_watched_states[s]));
	printf(" %7s %7s %6s %8s  %s\n", "open/s", "close/s", "rst/s", "CW_AGE", "CLOSE MIX");
	for (size_t i = 0; i < n && i < r->top; i++) {
		const struct watch_group *g = gs[i];
		char age[32] = "-";

		if (g->oldest_cw_ms >= 0)
			snprintf(age, sizeof(age), "%.1fs", g->oldest_cw_ms / 1000.0);
		mix_text(g, mix, sizeof(mix));
		printf("%-6u", g->port);
		for (size_t s = 0; s < sf_nwatched_states; s++)
			printf(" %7" PRId64, clamp0(g->counts[sf_watched_states[s]]));
		printf(" %7.1f %7.1f %6.1f %8s  %s\n", g->opens_per_s, g->closes_per_s,
		       g->resets_per_s, age, mix);
	}
	if (!r->tty)
		printf("\n");
	fflush(stdout);
}

struct mbuf {
	char *p;
	size_t len, cap;
};

static void mprintf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mprintf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + n < b->cap) {
			b->len += n;
			return;
		}
		{
			size_t ncap = (b->cap ? b->cap * 2 : 16384) + n;
			char *np = realloc(b->p, ncap);

			if (!np)
				return;
			b->p = np;
			b->cap = ncap;
		}
	}
}

/* Ports beyond the busiest metrics_ports share port="other": bounded label cardinality. */
static void publish_metrics(struct wrun *r)
{
	const struct watch_group *const *gs;
	int64_t other[SF_TCP_MAX_STATES] = { 0 };
	uint64_t kinds[SF_CLOSE_COUNT], cum = 0;
	struct mbuf b = { 0 };
	size_t n;

	gs = watch__groups(r->w, &n);
	mprintf(&b, "# HELP synfin_sockets TCP sockets by state and service port.\n"
		    "# TYPE synfin_sockets gauge\n");
	for (size_t i = 0; i < n; i++) {
		for (size_t s = 0; s < sf_nwatched_states; s++) {
			int64_t v = clamp0(gs[i]->counts[sf_watched_states[s]]);

			if (i >= r->metrics_ports) {
				other[sf_watched_states[s]] += v;
				continue;
			}
			mprintf(&b, "synfin_sockets{state=\"%s\",port=\"%u\"} %" PRId64 "\n",
				sf_state_label(sf_watched_states[s]), gs[i]->port, v);
		}
	}
	if (n > r->metrics_ports)
		for (size_t s = 0; s < sf_nwatched_states; s++)
			mprintf(&b, "synfin_sockets{state=\"%s\",port=\"other\"} %" PRId64 "\n",
				sf_state_label(sf_watched_states[s]), other[sf_watched_states[s]]);
	watch__totals(r->w, kinds);
	mprintf(&b, "# HELP synfin_connections_closed_total Connections ended, by close kind.\n"
		    "# TYPE synfin_connections_closed_total counter\n");
	for (int k = 0; k < SF_CLOSE_COUNT; k++)
		mprintf(&b, "synfin_connections_closed_total{close=\"%s\"} %" PRIu64 "\n",
			sf_close_name(k), kinds[k]);
	mprintf(&b, "# HELP synfin_handshake_seconds Handshake time of connections that ended.\n"
		    "# TYPE synfin_handshake_seconds histogram\n");
	for (int i = 0; i < HS_BUCKETS; i++) {
		cum += r->hs[i];
		mprintf(&b, "synfin_handshake_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			hs_bounds[i], cum);
	}
	mprintf(&b, "synfin_handshake_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", r->hs_count);
	mprintf(&b, "synfin_handshake_seconds_sum %g\nsynfin_handshake_seconds_count %" PRIu64 "\n",
		r->hs_sum, r->hs_count);
	mprintf(&b,
		"# HELP synfin_events_lost_total Tracer events the kernel could not queue.\n"
		"# TYPE synfin_events_lost_total counter\nsynfin_events_lost_total %" PRIu64 "\n",
		r->lost);
	mprintf(&b,
		"# HELP synfin_alerts_firing Alerts firing now.\n"
		"# TYPE synfin_alerts_firing gauge\nsynfin_alerts_firing %zu\n",
		r->firing);
	if (b.p)
		metrics__publish(r->metrics, b.p, b.len);
	free(b.p);
}

static int cmp_prow(const void *a, const void *b)
{
	const struct proc_row *x = a, *y = b;
	int64_t tx = 0, ty = 0;

	for (int s = 0; s < SF_TCP_MAX_STATES; s++) {
		tx += x->counts[s];
		ty += y->counts[s];
	}
	return tx != ty ? (tx > ty ? -1 : 1) :
			  (x->owner.pid > y->owner.pid) - (x->owner.pid < y->owner.pid);
}

static void count_by_process(struct wrun *r, const struct sf_sock_rec *recs, size_t n)
{
	struct procmap *pm = NULL;
	uint64_t *inodes = malloc((n ? n : 1) * sizeof(*inodes));

	free(r->prows);
	r->prows = NULL;
	r->nprows = 0;
	if (!inodes)
		return;
	for (size_t i = 0; i < n; i++)
		inodes[i] = recs[i].ino;
	if (procmap_build(&pm, inodes, n) == 0) {
		r->prows = calloc(n ? n : 1, sizeof(*r->prows));
		for (size_t i = 0; r->prows && i < n; i++) {
			struct sf_owner o;
			size_t k;

			if (!procmap_get(pm, recs[i].ino, &o) || recs[i].state >= SF_TCP_MAX_STATES)
				continue;
			for (k = 0; k < r->nprows && r->prows[k].owner.pid != o.pid; k++)
				;
			if (k == r->nprows)
				r->prows[r->nprows++].owner = o;
			r->prows[k].counts[recs[i].state]++;
		}
		if (r->prows)
			qsort(r->prows, r->nprows, sizeof(*r->prows), cmp_prow);
	}
	procmap_free(pm);
	free(inodes);
}

static int take_snapshot(struct wrun *r, struct snapshot *snap, char *err, size_t errlen)
{
	struct sf_sock_rec *recs = NULL;
	uint64_t start = sf_clock_ns(CLOCK_MONOTONIC);
	size_t n = 0;
	int ret = snapshot__read(snap, &recs, &n, err, errlen);

	if (ret)
		return ret;
	r->snap_ns = start;
	ret = watch__snapshot(r->w, recs, n, start);
	if (r->by_process)
		count_by_process(r, recs, n);
	free(recs);
	return ret;
}

static const char watch_usage[] =
	"Usage: synfin watch [OPTIONS]\n"
	"Live TCP socket counts per service port and state, with open/close/reset rates,\n"
	"the close-kind mix and the oldest CLOSE_WAIT; alerts and Prometheus metrics.\n"
	"\n"
	"  --netns PATH            watch another network namespace\n"
	"  --interval SECONDS      refresh (and alert evaluation) period (default 1)\n"
	"  --snapshot-interval S   how often counts are reconciled with the kernel's\n"
	"                          socket tables, which is how TIME_WAIT exits are seen\n"
	"                          (default 10)\n"
	"  --by port|process       group by service port (default) or owning process\n"
	"  --top N                 rows shown (default 20)\n"
	"  --alert RULE            [port=N] METRIC>VALUE [for 30s], repeatable; METRIC is a\n"
	"                          state (close_wait, time_wait, ...), close_wait_age,\n"
	"                          opens_per_s, closes_per_s or resets_per_s\n"
	"  --exec CMD              run CMD (sh -c) on each alert change; details in\n"
	"                          SYNFIN_ALERT, SYNFIN_STATE, SYNFIN_PORT, SYNFIN_METRIC,\n"
	"                          SYNFIN_VALUE, SYNFIN_THRESHOLD, SYNFIN_PIDS, SYNFIN_COMMS\n"
	"  --once                  one snapshot, alerts judged at once (no 'for'); exit 3\n"
	"                          when one fires, 0 otherwise\n"
	"  --metrics ADDR:PORT     serve Prometheus metrics at /metrics (a bare PORT binds\n"
	"                          127.0.0.1)\n"
	"  --metrics-ports N       ports with their own label (default 50), the rest 'other'\n"
	"  --json                  JSON Lines\n"
	"  --duration SECONDS      stop after this long\n"
	"  -v, --verbose           show libbpf's messages\n";

static int parse_secs(const char *s, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > 86400 * 365)
		return -EINVAL;
	*out = v;
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ "snapshot-interval", required_argument, NULL, 's' },
		{ "by", required_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 't' },
		{ "alert", required_argument, NULL, 'a' },
		{ "exec", required_argument, NULL, 'e' },
		{ "once", no_argument, NULL, 'o' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "metrics-ports", required_argument, NULL, 'M' },
		{ "json", no_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct wrun r = { .top = 20, .metrics_ports = 50 };
	double interval = 1, snap_interval = 10, duration = 0, v;
	const char *netns = NULL, *metrics_addr = NULL;
	struct session_opts so = { 0 };
	struct session *sess = NULL;
	struct snapshot *snap = NULL;
	uint64_t now, next_tick, next_snap, deadline = 0, keep;
	bool verbose = false;
	struct stat nst;
	char err[600] = "";
	int opt, ret = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'i':
		case 's':
		case 'd':
			if (parse_secs(optarg, opt == 'd' ? 0.001 : 0.05, &v)) {
				fprintf(stderr, "synfin watch: invalid %s '%s' (seconds)\n",
					argv[optind - 1], optarg);
				ret = 2;
				goto cleanup;
			}
			*(opt == 'i' ? &interval : opt == 's' ? &snap_interval : &duration) = v;
			break;
		case 'b':
			if (strcmp(optarg, "port") && strcmp(optarg, "process")) {
				fprintf(stderr, "synfin watch: invalid --by '%s' (port, process)\n",
					optarg);
				ret = 2;
				goto cleanup;
			}
			r.by_process = !strcmp(optarg, "process");
			break;
		case 't':
		case 'M': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !n || n > 65536 || optarg[0] == '-') {
				fprintf(stderr, "synfin watch: invalid %s '%s'\n", argv[optind - 1],
					optarg);
				ret = 2;
				goto cleanup;
			}
			*(opt == 't' ? &r.top : &r.metrics_ports) = n;
			break;
		}
		case 'a': {
			struct alert_rule *nr = realloc(r.rules, (r.nrules + 1) * sizeof(*nr));

			if (!nr)
				goto cleanup;
			r.rules = nr;
			if (alert_parse(optarg, &r.rules[r.nrules], err, sizeof(err))) {
				fprintf(stderr, "synfin watch: --alert: %s\n", err);
				ret = 2;
				goto cleanup;
			}
			r.nrules++;
			break;
		}
		case 'e':
			r.exec_cmd = optarg;
			break;
		case 'o':
			r.once = true;
			break;
		case 'm':
			metrics_addr = optarg;
			break;
		case 'j':
			r.json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(watch_usage, stdout);
			ret = 0;
			goto cleanup;
		case ':':
			fprintf(stderr, "synfin watch: option %s needs a value\n",
				argv[optind - 1]);
			ret = 2;
			goto cleanup;
		default:
			fprintf(stderr,
				"synfin watch: unknown option '%s' (see synfin watch --help)\n",
				argv[optind - 1]);
			ret = 2;
			goto cleanup;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "synfin watch: unexpected argument '%s'\n", argv[optind]);
		ret = 2;
		goto cleanup;
	}
	r.tty = isatty(STDOUT_FILENO) && !r.json;
	r.realtime_offset = (int64_t)(sf_clock_ns(CLOCK_REALTIME) - sf_clock_ns(CLOCK_MONOTONIC));
	if (metrics_addr && metrics__start(&r.metrics, metrics_addr, err, sizeof(err))) {
		fprintf(stderr, "synfin watch: %s\n", err);
		ret = 2;
		goto cleanup;
	}
	if (stat(netns ? netns : "/proc/self/ns/net", &nst)) {
		fprintf(stderr, "synfin watch: --netns %s: %s\n", netns, strerror(errno));
		ret = 2;
		goto cleanup;
	}
	/* the metrics socket is bound: from here on, live in the namespace watched */
	if (netns && sf_enter_netns(netns, err, sizeof(err))) {
		fprintf(stderr, "synfin watch: %s\n", err);
		ret = 2;
		goto cleanup;
	}
	if (watch__new(&r.w, r.rules, r.nrules) ||
	    snapshot__open(&snap, verbose, err, sizeof(err))) {
		fprintf(stderr, "synfin watch: %s\n", err[0] ? err : "out of memory");
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	/* alerts and --by process name owners from /proc: only they keep a capability */
	keep = r.by_process || r.nrules ? PROCMAP_CAPS : 0;
	if (r.once) {
		if (sf_drop_privileges(keep, err, sizeof(err)) ||
		    take_snapshot(&r, snap, err, sizeof(err))) {
			fprintf(stderr, "synfin watch: %s\n", err);
			goto cleanup;
		}
		now = sf_clock_ns(CLOCK_MONOTONIC);
		r.tty = false;
		watch__tick(r.w, now, true, on_alert, &r);
		render(&r, now);
		ret = r.firing ? EXIT_ALERT : 0;
		goto cleanup;
	}
	/* the tracer first, then the snapshot: nothing falls between the two */
	so.tracer.netns = (uint32_t)nst.st_ino;
	so.tracer.verbose = verbose;
	so.ops = (struct tracker_ops){ w_lifecycle, w_transition, &r };
	if (session__open(&sess, &so, err, sizeof(err)) ||
	    sf_drop_privileges(keep, err, sizeof(err)) ||
	    take_snapshot(&r, snap, err, sizeof(err))) {
		fprintf(stderr, "synfin watch: %s\n", err);
		goto cleanup;
	}
	now = sf_clock_ns(CLOCK_MONOTONIC);
	watch__tick(r.w, now, false, on_alert, &r);
	render(&r, now);
	if (r.metrics)
		publish_metrics(&r);
	next_tick = now + (uint64_t)(interval * 1e9);
	next_snap = now + (uint64_t)(snap_interval * 1e9);
	if (duration > 0)
		deadline = now + (uint64_t)(duration * 1e9);
	while (!exiting) {
		struct tracker_stats st;

		if (session__poll(sess, 50) < 0)
			break;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		now = sf_clock_ns(CLOCK_MONOTONIC);
		if (now >= next_snap) {
			if (take_snapshot(&r, snap, err, sizeof(err)))
				fprintf(stderr, "synfin watch: %s\n", err);
			next_snap = now + (uint64_t)(snap_interval * 1e9);
		}
		if (now >= next_tick) {
			session__stats(sess, &st);
			r.lost = st.lost;
			watch__tick(r.w, now, false, on_alert, &r);
			render(&r, now);
			if (r.metrics)
				publish_metrics(&r);
			next_tick += (uint64_t)(interval * 1e9);
			if (next_tick < now)
				next_tick = now + (uint64_t)(interval * 1e9);
		}
		if (ferror(stdout) || (deadline && now >= deadline))
			break;
	}
	session__finish(sess, err, sizeof(err));
	ret = 0;
cleanup:
	session__close(sess);
	snapshot__close(snap);
	metrics__stop(r.metrics);
	watch__free(r.w);
	free(r.rules);
	free(r.prows);
	fflush(stdout);
	return ret;
}
