// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A twin child whose listener closed first, from a real trace: make vmtest's
 * repro four-way --ipv6 on Debian's 6.1 under QEMU (4 emulated CPUs), which
 * failed once in about 400 runs with two server endpoints for one connection.
 *
 * tests/data/ipv6-twin-listener-closed.sfr, in the order the engine sees it:
 *   listener   CLOSE -> LISTEN
 *   client     CLOSE -> SYN_SENT -> ESTABLISHED
 *   child A    LISTEN -> SYN_RECV -> ESTABLISHED   (CPU 2, made by the first
 *              data segment: data_segs_in is 1 at ESTABLISHED)
 *   listener   LISTEN -> CLOSE                      (the server accepted A)
 *   child B    LISTEN -> SYN_RECV -> CLOSE          (CPU 0 in ksoftirqd, made by
 *              the handshake's final ACK, which found the request before A
 *              took it; CLOSE with SF_F_ORPHAN and without SF_F_PORT_HELD)
 *   the four-way close of the client and child A
 * B lost the request at __inet_inherit_port(): the listener's port was gone,
 * so inet_csk_prepare_forced_close() marked B dead and dropped its port before
 * tcp_done(). B sent nothing; the connection is the client and A.
 *
 * Not regenerable by tests/data/make-recordings.sh: it is a race.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#define MAX_LC 8
#include "testlib.h"

static void test_twin_listener_closed(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	size_t servers = 0;

	(void)state;
	assert_non_null(c);
	replay_into("ipv6-twin-listener-closed.sfr", c);
	assert_int_equal(c->st.discarded, 1);
	assert_int_equal(c->st.live, 0);
	assert_int_equal(c->n, 2);
	for (size_t i = 0; i < c->n; i++) {
		const struct sf_lifecycle *lc = &c->lc[i];

		assert_int_equal(lc->close, SF_CLOSE_FOUR_WAY);
		assert_int_equal(lc->gaps, 0);
		assert_true(lc->pair != 0);
		if (lc->role != SF_ROLE_SERVER)
			continue;
		servers++;
		assert_int_equal(lc->closer, SF_CLOSER_PEER);
		assert_int_equal(lc->last_state, SF_TCP_LAST_ACK);
	}
	assert_int_equal(servers, 1);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_twin_listener_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
