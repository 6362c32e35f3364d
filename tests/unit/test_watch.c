// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The watch model over many network namespaces: counts kept apart per
 * namespace, one namespace reconciled without touching the others, namespaces
 * that go, and which namespaces a reconciliation reads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "watch.h"
#include "watch_view.h"

#define S 1000000000ull

static struct sf_sock_rec rec(uint32_t netns, uint16_t lport, uint16_t rport, uint8_t state,
			      uint32_t age_ms)
{
	struct sf_sock_rec r;

	memset(&r, 0, sizeof(r));
	r.netns = netns;
	r.lport = lport;
	r.rport = rport;
	r.state = state;
	r.age_ms = age_ms;
	r.timewait = state == SF_TCP_TIME_WAIT;
	r.family = 2;
	return r;
}

static const struct watch_group *find(struct watch *w, uint32_t netns, uint16_t port)
{
	const struct watch_group *const *gs;
	size_t n;

	gs = watch__groups(w, &n);
	for (size_t i = 0; i < n; i++)
		if (gs[i]->netns == netns && gs[i]->port == port)
			return gs[i];
	return NULL;
}

/* Two pods serving the same port: each counted on its own, reconciled on its own. */
static void test_namespaces_apart(void **state)
{
	struct sf_sock_rec a[] = { rec(10, 8080, 0, SF_TCP_LISTEN, -1u),
				   rec(10, 8080, 5000, SF_TCP_CLOSE_WAIT, 1000),
				   rec(10, 8080, 5001, SF_TCP_CLOSE_WAIT, 1000) };
	struct sf_sock_rec b[] = { rec(20, 8080, 0, SF_TCP_LISTEN, -1u),
				   rec(20, 40000, 8080, SF_TCP_TIME_WAIT, 1000) };
	struct watch *w = NULL;
	struct sf_event e = { .netns = 10,
			      .oldstate = SF_TCP_CLOSE_WAIT,
			      .newstate = SF_TCP_LAST_ACK };
	struct sf_transition tr = { .ev = &e, .lport = 8080, .rport = 5000 };
	size_t n;

	(void)state;
	assert_int_equal(watch__new(&w, NULL, 0), 0);
	assert_int_equal(watch__snapshot_ns(w, 10, a, 3, 100 * S), 0);
	assert_int_equal(watch__snapshot_ns(w, 20, b, 2, 100 * S), 0);
	assert_int_equal(find(w, 10, 8080)->counts[SF_TCP_CLOSE_WAIT], 2);
	/* in pod 20, 8080 listens too: the TIME_WAIT of a client to it counts under 8080 */
	assert_int_equal(find(w, 20, 8080)->counts[SF_TCP_TIME_WAIT], 1);
	watch__group_close_waits(w, find(w, 20, 8080), &n);
	assert_int_equal(n, 0);
	/* events before a namespace's snapshot are in it; later ones count */
	assert_false(watch__counts_event(w, 10, 99 * S));
	assert_true(watch__counts_event(w, 10, 101 * S));
	assert_true(watch__counts_event(w, 30, 1));
	e.ts_ns = 101 * S;
	watch__transition(w, &tr);
	assert_int_equal(find(w, 10, 8080)->counts[SF_TCP_CLOSE_WAIT], 1);
	assert_int_equal(find(w, 10, 8080)->counts[SF_TCP_LAST_ACK], 1);
	/* pod 20 read again, empty now: pod 10 keeps its counts */
	assert_int_equal(watch__snapshot_ns(w, 20, NULL, 0, 110 * S), 0);
	assert_null(find(w, 20, 8080));
	assert_int_equal(find(w, 10, 8080)->counts[SF_TCP_CLOSE_WAIT], 1);
	watch__free(w);
}

static int cleared;

static void on_alert(const struct watch_alert_event *ev, void *ctx)
{
	(void)ctx;
	cleared += ev->change == ALERT_CLEARED && ev->group->netns == 10;
}

/* A namespace deleted: its counts go, its firing alert clears, then its groups go. */
static void test_namespace_gone(void **state)
{
	struct sf_sock_rec a[] = { rec(10, 8080, 0, SF_TCP_LISTEN, -1u),
				   rec(10, 8080, 5000, SF_TCP_CLOSE_WAIT, 1000) };
	struct sf_sock_rec b[] = { rec(20, 9090, 0, SF_TCP_LISTEN, -1u) };
	const uint32_t left[] = { 20 };
	struct alert_rule rule;
	struct watch *w = NULL;
	char err[128];
	size_t n;

	(void)state;
	assert_int_equal(alert_parse("close_wait>0", &rule, err, sizeof(err)), 0);
	assert_int_equal(watch__new(&w, &rule, 1), 0);
	watch__snapshot_ns(w, 10, a, 2, 100 * S);
	watch__snapshot_ns(w, 20, b, 1, 100 * S);
	watch__tick(w, 101 * S, true, on_alert, NULL);
	watch__retain(w, left, 1);
	watch__close_waits(w, 8080, &n);
	assert_int_equal(n, 0);
	watch__tick(w, 102 * S, true, on_alert, NULL);
	assert_int_equal(cleared, 1);
	watch__groups(w, &n);
	assert_int_equal(n, 1);
	assert_non_null(find(w, 20, 9090));
	watch__free(w);
}

/* Only the namespaces whose counts can have drifted are read, and a few of the rest. */
static void test_plan(void **state)
{
	/* 10: a TIME_WAIT 50 s old (ends at 110 s); 20: quiet; 30: a request socket; 40: never read */
	struct sf_sock_rec a[] = { rec(10, 40000, 80, SF_TCP_TIME_WAIT, 50000) };
	struct sf_sock_rec b[] = { rec(20, 9090, 0, SF_TCP_LISTEN, -1u) };
	struct sf_sock_rec c[] = { rec(30, 9090, 4000, SF_TCP_SYN_RECV, -1u) };
	const uint32_t inums[] = { 10, 20, 30, 40 };
	struct watch *w = NULL;
	bool read[4];

	(void)state;
	assert_int_equal(watch__new(&w, NULL, 0), 0);
	watch__snapshot_ns(w, 10, a, 1, 100 * S);
	watch__snapshot_ns(w, 20, b, 1, 100 * S);
	watch__snapshot_ns(w, 30, c, 1, 100 * S);
	assert_int_equal(watch__plan(w, inums, 4, 105 * S, false, 0, read), 2);
	assert_false(read[0]);
	assert_false(read[1]);
	assert_true(read[2]);
	assert_true(read[3]);
	/* the TIME_WAIT may have ended: read it */
	assert_int_equal(watch__plan(w, inums, 4, 111 * S, false, 0, read), 3);
	assert_true(read[0]);
	/* the sweep takes the stalest of the rest; lost events take all */
	watch__snapshot_ns(w, 10, NULL, 0, 111 * S);
	assert_int_equal(watch__plan(w, inums, 4, 112 * S, false, 1, read), 3);
	assert_true(read[1]);
	assert_int_equal(watch__plan(w, inums, 4, 112 * S, true, 0, read), 4);
	watch__free(w);
}

static struct sf_lifecycle ended(uint8_t close, uint8_t reason, int64_t handshake_us)
{
	struct sf_lifecycle lc;

	memset(&lc, 0, sizeof(lc));
	lc.netns = 10;
	lc.lport = 8080;
	lc.rport = 5000;
	lc.close = close;
	lc.reason = reason;
	lc.handshake_us = handshake_us;
	return lc;
}

/* Closes by kind and reason, handshake times and retransmits, per group and in /metrics. */
static void test_reasons(void **state)
{
	struct sf_sock_rec a[] = { rec(10, 8080, 0, SF_TCP_LISTEN, -1u) };
	struct sf_lifecycle lc[] = { ended(SF_CLOSE_RESET, SF_REASON_LINGER0, 40),
				     ended(SF_CLOSE_RESET, SF_REASON_LINGER0, 40),
				     ended(SF_CLOSE_RESET, SF_REASON_NONE, -1),
				     ended(SF_CLOSE_FOUR_WAY, SF_REASON_NONE, 2000000) };
	struct watch_frame f = { .ts = "t" };
	struct sf_sb b = { 0 };
	const struct watch_group *g;
	struct watch *w = NULL;

	(void)state;
	lc[0].retrans_syn = 1; /* no health: the SYNs and FINs sent again */
	lc[0].retrans_fin = 2;
	lc[1].health = true; /* health: every segment sent again */
	lc[1].retrans = 4;
	lc[1].retrans_syn = 1;
	assert_int_equal(watch__new(&w, NULL, 0), 0);
	watch__snapshot_ns(w, 10, a, 1, 100 * S);
	for (size_t i = 0; i < sizeof(lc) / sizeof(lc[0]); i++)
		watch__lifecycle(w, &lc[i]);
	g = find(w, 10, 8080);
	assert_int_equal(g->kinds[SF_CLOSE_RESET], 3);
	assert_int_equal(g->reasons[SF_CLOSE_RESET][SF_REASON_LINGER0], 2);
	assert_int_equal(g->reasons[SF_CLOSE_RESET][SF_REASON_NONE], 1);
	assert_int_equal(g->reasons[SF_CLOSE_FOUR_WAY][SF_REASON_NONE], 1);
	assert_int_equal(g->hs.count, 3);
	assert_int_equal(g->hs.n[0], 2); /* 40 us: at most 0.0001 s */
	assert_int_equal(g->hs.n[WATCH_HS_BUCKETS], 1); /* 2 s: above them all */
	assert_int_equal(g->retrans, 3 + 4);
	f.groups = watch__groups(w, &f.ngroups);
	f.missed = 1; /* the text header says counts may have drifted */
	watch_view_frame(&b, &f, false);
	assert_non_null(strstr(b.p, "(events lost or missed: counts are reconciled"));
	sf_sb_reset(&b);
	watch_view_frame(&b, &f, true);
	assert_non_null(strstr(b.p, "\"close_kinds\":{\"four-way\":1,\"reset\":3},"
				    "\"reasons\":{\"reset\":{\"linger0\":2}}"));
	sf_sb_reset(&b);
	watch_view_metrics(&b, &f, 50);
	/* unknown reasons keep the series without the label; known ones get their own */
	assert_non_null(
		strstr(b.p, "synfin_connections_closed_total{close=\"reset\",port=\"8080\"} 1\n"));
	assert_non_null(strstr(b.p, "synfin_connections_closed_total{close=\"reset\","
				    "reason=\"linger0\",port=\"8080\"} 2\n"));
	assert_null(strstr(b.p, "reason=\"peer-reset\""));
	assert_non_null(
		strstr(b.p, "synfin_handshake_seconds_bucket{le=\"0.0001\",port=\"8080\"} 2\n"));
	assert_non_null(strstr(b.p, "synfin_handshake_seconds_count{port=\"8080\"} 3\n"));
	assert_non_null(strstr(b.p, "synfin_retransmits_total{port=\"8080\"} 7\n"));
	sf_sb_free(&b);
	watch__free(w);
}

static double fired_value;

static void on_fire(const struct watch_alert_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->change == ALERT_FIRED)
		fired_value = ev->value;
}

/* A rule with a reason counts only the closes it selects, at its own rate. */
static void test_reason_rule(void **state)
{
	struct sf_sock_rec a[] = { rec(10, 8080, 0, SF_TCP_LISTEN, -1u) };
	struct sf_lifecycle unread = ended(SF_CLOSE_RESET, SF_REASON_UNREAD_DATA, 40);
	struct sf_lifecycle linger = ended(SF_CLOSE_RESET, SF_REASON_LINGER0, 40);
	struct sf_lifecycle timeout = ended(SF_CLOSE_ABORTED, SF_REASON_USER_TIMEOUT, 40);
	struct alert_rule rule[2];
	struct watch *w = NULL;
	char err[128];

	(void)state;
	assert_int_equal(
		alert_parse("resets_per_s>1 reason!=unread-data", &rule[0], err, sizeof(err)), 0);
	assert_int_equal(
		alert_parse("closes_per_s>=1 reason=user-timeout", &rule[1], err, sizeof(err)), 0);
	assert_int_equal(watch__new(&w, rule, 2), 0);
	watch__snapshot_ns(w, 10, a, 1, 100 * S);
	watch__tick(w, 100 * S, true, on_fire, NULL);
	/* 10 unread-data resets a second: the first rule stays quiet */
	for (int i = 0; i < 10; i++)
		watch__lifecycle(w, &unread);
	watch__tick(w, 101 * S, true, on_fire, NULL);
	assert_false(find(w, 10, 8080)->alerts[0].firing);
	assert_false(find(w, 10, 8080)->alerts[1].firing);
	/* 3 linger0 resets and an aborted close by user timeout in the next second */
	for (int i = 0; i < 3; i++)
		watch__lifecycle(w, &linger);
	watch__lifecycle(w, &timeout);
	watch__tick(w, 102 * S, true, on_fire, NULL);
	assert_true(find(w, 10, 8080)->alerts[0].firing);
	assert_true(find(w, 10, 8080)->alerts[0].value == 3);
	assert_true(find(w, 10, 8080)->alerts[1].firing);
	assert_true(fired_value == 1);
	/* a quiet second: the rates fall to 0 and both clear */
	watch__tick(w, 103 * S, true, on_fire, NULL);
	assert_false(find(w, 10, 8080)->alerts[0].firing);
	assert_false(find(w, 10, 8080)->alerts[1].firing);
	watch__free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespaces_apart),
		cmocka_unit_test(test_namespace_gone),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_reason_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
