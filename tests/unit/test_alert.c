// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Alert rules and the watch model: parsing, holds, hysteresis, counting. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "alert.h"
#include "watch.h"

#define S 1000000000ull

static void assert_bad(const char *text, const char *want)
{
	struct alert_rule r;
	char err[512] = "";

	assert_int_equal(alert_parse(text, &r, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, want);
}

static void test_parse(void **state)
{
	struct alert_rule r;
	char err[256];

	(void)state;
	assert_int_equal(alert_parse("port=8080 close_wait>10 for 30s", &r, err, sizeof(err)), 0);
	assert_true(r.has_port);
	assert_int_equal(r.port, 8080);
	assert_int_equal(r.metric, SF_TCP_CLOSE_WAIT);
	assert_int_equal(r.op, ALERT_GT);
	assert_true(r.threshold == 10);
	assert_int_equal(r.for_ns, 30 * S);
	assert_int_equal(alert_parse("close_wait_age>2m", &r, err, sizeof(err)), 0);
	assert_int_equal(r.metric, ALERT_CLOSE_WAIT_AGE);
	assert_true(r.threshold == 120);
	assert_int_equal(alert_parse("time_wait>=20000", &r, err, sizeof(err)), 0);
	assert_int_equal(r.op, ALERT_GE);
	assert_int_equal(alert_parse("resets_per_s>50", &r, err, sizeof(err)), 0);
	assert_bad("", "has no condition");
	assert_bad("close_wiat>1", "unknown metric 'close_wiat' (valid: established");
	assert_bad("close_wait=1", "is not METRIC>VALUE");
	assert_bad("close_wait>x", "invalid value 'x'");
	assert_bad("close_wait_age>30y", "invalid age '30y'");
	assert_bad("close_wait>1 for", "'for' needs one duration");
	assert_bad("close_wait>1 for soon", "'for' needs one duration");
	/* found by fuzz_alert: a hold too long for 64-bit nanoseconds */
	assert_bad("close_wait>1 for 3888888888880", "'for' needs one duration");
	assert_bad("close_wait>1 for 30s for 1s", "'for' needs one duration");
	assert_bad("port=0 close_wait>1", "invalid 'port=0'");
	assert_bad("port=1 port=2 close_wait>1", "invalid 'port=2'");
	/* the shared parsers take no sign, as every other option */
	assert_bad("port=+80 close_wait>1", "invalid 'port=+80'");
	assert_bad("close_wait_age>+5s", "invalid age '+5s'");
	assert_bad("close_wait_age>8785h", "invalid age '8785h'");
	assert_int_equal(alert_parse("close_wait_age>500ms for 1.5m", &r, err, sizeof(err)), 0);
	assert_true(r.threshold == 0.5);
	assert_int_equal(r.for_ns, 90000000000ull);
	assert_bad("close_wait>1 time_wait>1", "unexpected 'time_wait>1'");
}

/* reason= and reason!= select the closes the close rates count. */
static void test_parse_reason(void **state)
{
	struct alert_rule r;
	char err[512];

	(void)state;
	assert_int_equal(alert_parse("resets_per_s>5 reason!=unread-data", &r, err, sizeof(err)),
			 0);
	assert_true(r.has_reason && r.reason_ne);
	assert_int_equal(r.reason, SF_REASON_UNREAD_DATA);
	assert_false(alert_reason_counts(&r, SF_REASON_UNREAD_DATA));
	assert_true(alert_reason_counts(&r, SF_REASON_LINGER0));
	assert_true(alert_reason_counts(&r, SF_REASON_NONE));
	assert_int_equal(alert_parse("reason=none closes_per_s>1", &r, err, sizeof(err)), 0);
	assert_true(alert_reason_counts(&r, SF_REASON_NONE));
	assert_false(alert_reason_counts(&r, SF_REASON_PEER_RESET));
	assert_int_equal(alert_parse("closes_per_s>1", &r, err, sizeof(err)), 0);
	assert_true(alert_reason_counts(&r, SF_REASON_PEER_RESET));
	assert_bad("resets_per_s>5 reason=unred-data",
		   "invalid 'reason=unred-data' (reason=NAME or reason!=NAME, once; NAME: none, "
		   "linger0, unread-data");
	assert_bad("resets_per_s>5 reason=linger0 reason=peer-reset",
		   "invalid 'reason=peer-reset'");
	assert_bad("resets_per_s>5 reason=", "invalid 'reason='");
	assert_bad("close_wait>5 reason=linger0",
		   "reason= applies to closes_per_s and resets_per_s, not close_wait");
}

static void test_hold_and_hysteresis(void **state)
{
	struct alert_inst in = { 0 };
	struct alert_rule r;
	char err[256];

	(void)state;
	alert_parse("close_wait>10 for 30s", &r, err, sizeof(err));
	assert_int_equal(alert_step(&r, &in, 11, 1 * S, false), ALERT_NONE);
	assert_int_equal(alert_step(&r, &in, 12, 20 * S, false), ALERT_NONE);
	/* a dip resets the hold */
	assert_int_equal(alert_step(&r, &in, 10, 25 * S, false), ALERT_NONE);
	assert_int_equal(alert_step(&r, &in, 11, 26 * S, false), ALERT_NONE);
	assert_int_equal(alert_step(&r, &in, 11, 55 * S, false), ALERT_NONE);
	assert_int_equal(alert_step(&r, &in, 11, 56 * S, false), ALERT_FIRED);
	assert_int_equal(alert_step(&r, &in, 50, 57 * S, false), ALERT_NONE);
	/* 10 and 9 are within the margin (10% of 10, at least 1): still firing */
	assert_int_equal(alert_step(&r, &in, 10, 58 * S, false), ALERT_NONE);
	assert_int_equal(alert_step(&r, &in, 9, 59 * S, false), ALERT_NONE);
	assert_int_equal(alert_step(&r, &in, 8, 60 * S, false), ALERT_CLEARED);
	/* --once ignores the hold */
	memset(&in, 0, sizeof(in));
	assert_int_equal(alert_step(&r, &in, 11, 1 * S, true), ALERT_FIRED);
	/* a >=1 rule clears at 0 */
	alert_parse("close_wait>=1", &r, err, sizeof(err));
	memset(&in, 0, sizeof(in));
	assert_int_equal(alert_step(&r, &in, 1, 1 * S, false), ALERT_FIRED);
	assert_int_equal(alert_step(&r, &in, 0, 2 * S, false), ALERT_CLEARED);
}

static struct sf_sock_rec rec(uint16_t lport, uint16_t rport, uint8_t state, uint64_t ino)
{
	struct sf_sock_rec r;

	memset(&r, 0, sizeof(r));
	r.lport = lport;
	r.rport = rport;
	r.state = state;
	r.ino = ino;
	r.age_ms = state == SF_TCP_CLOSE_WAIT ? 5000 : SF_AGE_UNKNOWN;
	r.family = 2;
	return r;
}

static int fired;

static void count_alert(const struct watch_alert_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->change == ALERT_FIRED && ev->group->port == 8080)
		fired++;
}

static void test_watch_model(void **state)
{
	struct sf_sock_rec recs[] = {
		rec(8080, 0, SF_TCP_LISTEN, 1),		rec(8080, 40000, SF_TCP_CLOSE_WAIT, 2),
		rec(8080, 40001, SF_TCP_CLOSE_WAIT, 3), rec(41000, 443, SF_TCP_TIME_WAIT, 0),
		rec(41001, 443, SF_TCP_ESTABLISHED, 4),
	};
	struct sf_event e;
	struct sf_transition tr = { .ev = &e };
	struct sf_lifecycle lc;
	const struct watch_group *const *gs;
	struct alert_rule rule;
	struct watch *w = NULL;
	char err[256];
	size_t n;

	(void)state;
	alert_parse("close_wait_age>4s", &rule, err, sizeof(err));
	assert_int_equal(watch__new(&w, &rule, 1), 0);
	assert_int_equal(watch__snapshot(w, recs, 5, 100 * S), 0);
	gs = watch__groups(w, &n);
	assert_int_equal(n, 2);
	/* the listening port is the service port; else the peer's */
	assert_int_equal(gs[0]->port, 8080);
	assert_int_equal(gs[0]->counts[SF_TCP_CLOSE_WAIT], 2);
	assert_int_equal(gs[1]->port, 443);
	assert_int_equal(gs[1]->counts[SF_TCP_TIME_WAIT], 1);
	/* CLOSE_WAIT ages come from the snapshot: 5 s old at 100 s */
	watch__tick(w, 101 * S, false, count_alert, NULL);
	assert_int_equal(gs[0]->oldest_cw_ms, 6000);
	assert_int_equal(fired, 1);

	/* a client to 443 closes first: ESTABLISHED -> FIN_WAIT1 -> ... -> TIME_WAIT */
	memset(&e, 0, sizeof(e));
	e.ts_ns = 102 * S;
	tr.lport = 41001;
	tr.rport = 443;
	e.oldstate = SF_TCP_ESTABLISHED;
	e.newstate = SF_TCP_FIN_WAIT1;
	watch__transition(w, &tr);
	e.oldstate = SF_TCP_FIN_WAIT1;
	e.newstate = SF_TCP_FIN_WAIT2;
	watch__transition(w, &tr);
	e.oldstate = SF_TCP_FIN_WAIT2;
	e.newstate = SF_TCP_CLOSE;
	watch__transition(w, &tr);
	memset(&lc, 0, sizeof(lc));
	lc.lport = 41001;
	lc.rport = 443;
	lc.close = SF_CLOSE_THREE_WAY;
	lc.time_wait = true;
	watch__lifecycle(w, &lc);
	gs = watch__groups(w, &n);
	assert_int_equal(gs[1]->counts[SF_TCP_ESTABLISHED], 0);
	assert_int_equal(gs[1]->counts[SF_TCP_FIN_WAIT2], 0);
	assert_int_equal(gs[1]->counts[SF_TCP_TIME_WAIT], 2);
	assert_int_equal(gs[1]->kinds[SF_CLOSE_THREE_WAY], 1);

	/* the server finally closes one CLOSE_WAIT: it leaves the age list */
	e.oldstate = SF_TCP_CLOSE_WAIT;
	e.newstate = SF_TCP_LAST_ACK;
	e.sock_ino = 2;
	tr.lport = 8080;
	tr.rport = 40000;
	watch__transition(w, &tr);
	watch__close_waits(w, 8080, &n);
	assert_int_equal(n, 1);
	watch__free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_reason),
		cmocka_unit_test(test_hold_and_hysteresis),
		cmocka_unit_test(test_watch_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
