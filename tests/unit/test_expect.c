// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The expectation language of synfin check: parsing, errors, evaluation. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "expect.h"

static struct sf_lifecycle lc(int role, int close, int closer, bool tw, uint16_t lport,
			      uint16_t rport)
{
	struct sf_lifecycle l;

	memset(&l, 0, sizeof(l));
	l.role = role;
	l.close = close;
	l.closer = closer;
	l.time_wait = tw;
	l.lport = lport;
	l.rport = rport;
	l.family = 2;
	l.handshake_us = -1;
	l.last_state = SF_TCP_FIN_WAIT2;
	return l;
}

static void assert_parse_error(const char *text, const char *want)
{
	struct expect x;
	char err[512] = "";

	assert_int_equal(expect_parse(text, &x, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' lacks '%s'", text, err, want);
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_parse_error("", "empty expectation");
	assert_parse_error("   ", "empty expectation");
	assert_parse_error("rol=client", "unknown key 'rol' (valid keys: role, port, lport");
	assert_parse_error("role=admin", "invalid value 'admin' for role (valid: unknown, client");
	assert_parse_error("close=sideways", "(valid: incomplete, four-way, three-way");
	assert_parse_error("close>=1", "close takes = or !=");
	assert_parse_error("port=70000", "invalid value '70000' for port");
	assert_parse_error("port=-1", "invalid value '-1' for port");
	assert_parse_error("handshake_us<=abc", "invalid value 'abc' for handshake_us");
	assert_parse_error("role", "is not KEY=VALUE");
	assert_parse_error("=client", "has no key");
	assert_parse_error("count>5", "bad operator");
	assert_parse_error("count=1 count=2", "count is given twice");
	assert_parse_error("time_wait=true", "(valid: no, yes)");
}

static void test_parse_ok(void **state)
{
	struct expect x;
	char err[256];

	(void)state;
	assert_int_equal(expect_parse("  role=client   close!=reset\tport>=1024 count<=3 ", &x, err,
				      sizeof(err)),
			 0);
	assert_string_equal(x.text, "role=client close!=reset port>=1024 count<=3");
	assert_int_equal(x.nconds, 3);
	assert_true(x.has_count);
	assert_int_equal(x.count.op, EXPECT_LE);
	assert_int_equal(x.count.value, 3);
	assert_int_equal(expect_parse("close=three-way", &x, err, sizeof(err)), 0);
	assert_false(x.has_count);
	/* the default: at least one endpoint must match */
	assert_int_equal(x.count.op, EXPECT_GE);
	assert_int_equal(x.count.value, 1);
}

static void test_eval(void **state)
{
	struct sf_lifecycle v[3] = {
		lc(SF_ROLE_CLIENT, SF_CLOSE_THREE_WAY, SF_CLOSER_LOCAL, true, 40000, 8080),
		lc(SF_ROLE_SERVER, SF_CLOSE_THREE_WAY, SF_CLOSER_PEER, false, 8080, 40000),
		lc(SF_ROLE_CLIENT, SF_CLOSE_RESET, SF_CLOSER_PEER, false, 40001, 9090),
	};
	struct expect_result r;
	size_t viol[4];
	struct expect x;
	char err[256], what[256];

	(void)state;
	expect_parse("role=client time_wait=yes", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, viol, 4);
	assert_false(r.pass);
	assert_int_equal(r.matched, 2);
	assert_int_equal(r.nviolators, 1);
	assert_int_equal(viol[0], 2);
	expect_describe(&x, &v[2], what, sizeof(what));
	assert_string_equal(what, "time_wait=no (want yes)");

	expect_parse("port=8080 close=three-way count=2", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_true(r.pass);

	/* port!=P means neither end is P */
	expect_parse("port!=8080 close=reset count=1", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_true(r.pass);

	/* nothing matches: count>=1 fails */
	expect_parse("family=ipv6 close=reset", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_false(r.pass);
	assert_false(r.count_ok);
	assert_int_equal(r.matched, 0);

	/* count=0 asserts absence */
	expect_parse("role=server close=reset count=0", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_false(r.pass);
	expect_parse("role=unknown count=0", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_true(r.pass);

	/* an unknown handshake time satisfies no bound */
	expect_parse("role=server handshake_us<=1000000", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_false(r.pass);
	expect_describe(&x, &v[1], what, sizeof(what));
	assert_string_equal(what, "handshake_us=unknown (want <=1000000)");
	v[1].handshake_us = 120;
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_true(r.pass);

	expect_parse("role=server last_state!=CLOSE_WAIT alive=no", &x, err, sizeof(err));
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_true(r.pass);
	v[1].last_state = SF_TCP_CLOSE_WAIT;
	v[1].alive = true;
	expect_eval(&x, v, 3, &r, NULL, 0);
	assert_false(r.pass);
	expect_describe(&x, &v[1], what, sizeof(what));
	assert_string_equal(what, "last_state=CLOSE_WAIT (want !=CLOSE_WAIT), alive=yes (want no)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_eval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
