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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespaces_apart),
		cmocka_unit_test(test_namespace_gone),
		cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
