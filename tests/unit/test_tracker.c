// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The lifecycle engine on recorded event streams (tests/data, made by
 * tests/data/make-recordings.sh from real loopback traffic) and on synthetic
 * streams for the corner cases. No kernel, no root.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "report.h"
#include "testlib.h"

static struct collected *replay(const char *name)
{
	struct collected *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	replay_into(name, c);
	assert_int_equal(c->st.live, 0);
	return c;
}

static const struct sf_lifecycle *find_role(const struct collected *c, int role)
{
	const struct sf_lifecycle *found = NULL;

	for (size_t i = 0; i < c->n; i++) {
		if (c->lc[i].role != role)
			continue;
		assert_null(found);
		found = &c->lc[i];
	}
	assert_non_null(found);
	return found;
}

static const struct sf_wave *find_wave(const struct sf_lifecycle *lc, int dir, int flags)
{
	for (int i = 0; i < lc->nwaves; i++)
		if (lc->waves[i].dir == dir && lc->waves[i].flags == flags)
			return &lc->waves[i];
	return NULL;
}

static void assert_pair(const struct sf_lifecycle *a, const struct sf_lifecycle *b)
{
	assert_true(a->pair != 0);
	assert_int_equal(a->pair, b->pair);
	assert_int_equal(a->lport, b->rport);
	assert_int_equal(a->rport, b->lport);
	assert_int_equal(a->gaps, 0);
	assert_int_equal(b->gaps, 0);
	/* each side's handshake is the other's, mirrored */
	assert_int_equal(a->nopen, 3);
	assert_int_equal(b->nopen, 3);
	assert_int_equal(a->open[0].seq, b->open[0].seq);
	assert_int_equal(a->open[1].seq, b->open[1].seq);
	assert_int_equal(a->open[1].ack, a->open[0].seq + 1);
}

static void test_four_way(void **state)
{
	struct collected *c = replay("four-way.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);
	const struct sf_wave *fin, *ack;

	(void)state;
	assert_int_equal(c->n, 2);
	assert_pair(cl, sv);
	assert_int_equal(cl->close, SF_CLOSE_FOUR_WAY);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	assert_true(cl->time_wait);
	/* the client had closed: its FIN_WAIT2 went to a mini-socket at the bare ACK */
	assert_true(cl->fw2_handoff);
	assert_true(cl->handshake_us > 0);
	assert_int_equal(sv->close, SF_CLOSE_FOUR_WAY);
	assert_int_equal(sv->closer, SF_CLOSER_PEER);
	assert_false(sv->time_wait);
	/* FIN,ACK seq=u ack=v; ACK seq=v ack=u+1; FIN,ACK seq=w ack=u+1; ACK seq=u+1 ack=w+1 */
	fin = find_wave(cl, SF_DIR_OUT, SF_TH_FIN | SF_TH_ACK);
	ack = find_wave(cl, SF_DIR_IN, SF_TH_ACK);
	assert_non_null(fin);
	assert_non_null(ack);
	assert_int_equal(ack->ack, fin->seq + 1);
	assert_int_equal(sv->nwaves, 4);
	assert_int_equal(sv->waves[0].seq, fin->seq);
	assert_int_equal(sv->waves[1].ack, fin->seq + 1);
	assert_int_equal(sv->waves[2].flags, SF_TH_FIN | SF_TH_ACK);
	assert_int_equal(sv->waves[3].seq, fin->seq + 1);
	assert_int_equal(sv->waves[3].ack, sv->waves[2].seq + 1);
	assert_int_equal(sv->hops[2].state, SF_TCP_CLOSE_WAIT);
	/* the server waited 500 ms in CLOSE_WAIT */
	assert_true(sv->hops[2].us >= 500000 && sv->hops[2].us < 600000);
	free(c);
}

static void test_three_way(void **state)
{
	struct collected *c = replay("three-way.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_pair(cl, sv);
	assert_int_equal(cl->close, SF_CLOSE_THREE_WAY);
	assert_int_equal(sv->close, SF_CLOSE_THREE_WAY);
	assert_true(cl->time_wait);
	assert_false(cl->fw2_handoff);
	/* FIN,ACK out; FIN,ACK in (carrying the ACK); ACK out */
	assert_int_equal(cl->nwaves, 3);
	assert_int_equal(cl->waves[1].flags, SF_TH_FIN | SF_TH_ACK);
	assert_int_equal(cl->waves[1].ack, cl->waves[0].seq + 1);
	assert_int_equal(sv->nwaves, 3);
	free(c);
}

static void test_server_first(void **state)
{
	struct collected *c = replay("server-first.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_pair(cl, sv);
	assert_int_equal(sv->closer, SF_CLOSER_LOCAL);
	assert_true(sv->time_wait);
	assert_int_equal(cl->closer, SF_CLOSER_PEER);
	assert_false(cl->time_wait);
	assert_int_equal(cl->close, sv->close);
	free(c);
}

static void test_simultaneous(void **state)
{
	struct collected *c = replay("simultaneous.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_pair(cl, sv);
	for (const struct sf_lifecycle *lc = cl; lc; lc = lc == cl ? sv : NULL) {
		assert_int_equal(lc->close, SF_CLOSE_SIMULTANEOUS);
		assert_int_equal(lc->closer, SF_CLOSER_BOTH);
		assert_true(lc->time_wait);
		assert_int_equal(lc->hops[lc->nhops - 1].state, SF_TCP_CLOSING);
	}
	free(c);
}

static void test_reset(void **state)
{
	struct collected *c = replay("reset.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);
	const struct sf_wave *out, *in;

	(void)state;
	assert_pair(cl, sv);
	assert_int_equal(cl->close, SF_CLOSE_RESET);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	assert_int_equal(sv->close, SF_CLOSE_RESET);
	assert_int_equal(sv->closer, SF_CLOSER_PEER);
	assert_false(cl->time_wait || sv->time_wait);
	out = find_wave(cl, SF_DIR_OUT, SF_TH_RST | SF_TH_ACK);
	in = find_wave(sv, SF_DIR_IN, SF_TH_RST);
	assert_non_null(out);
	assert_non_null(in);
	assert_int_equal(out->seq, in->seq);
	free(c);
}

static void test_refused(void **state)
{
	struct collected *c = replay("refused.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT);
	const struct sf_wave *rst;

	(void)state;
	assert_int_equal(c->n, 1);
	assert_int_equal(cl->close, SF_CLOSE_REFUSED);
	assert_int_equal(cl->closer, SF_CLOSER_PEER);
	assert_int_equal(cl->pair, 0);
	assert_int_equal(cl->handshake_us, -1);
	assert_true(cl->lport != 0);
	assert_int_equal(cl->nopen, 1);
	rst = find_wave(cl, SF_DIR_IN, SF_TH_RST | SF_TH_ACK);
	assert_non_null(rst);
	assert_false(rst->has_seq);
	assert_int_equal(rst->ack, cl->open[0].seq + 1);
	free(c);
}

static void test_aborted(void **state)
{
	struct collected *c = replay("aborted.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT);

	(void)state;
	assert_int_equal(c->n, 1);
	/* SYNs dropped, the client gave up: no RST either way */
	assert_int_equal(cl->close, SF_CLOSE_ABORTED);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	assert_int_equal(cl->last_state, SF_TCP_SYN_SENT);
	assert_int_equal(cl->handshake_us, -1);
	assert_int_equal(cl->nwaves, 0);
	/* the port, released before the CLOSE event, still comes from inet_sport */
	assert_int_equal(cl->rport, 9200);
	assert_true(cl->lport != 0);
	assert_true(cl->hops[0].us >= 300000);
	free(c);
}

static void test_half_close(void **state)
{
	struct collected *c = replay("half-close.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_pair(cl, sv);
	assert_true(cl->half_close);
	assert_true(sv->half_close);
	assert_int_equal(cl->close, SF_CLOSE_FOUR_WAY);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	/* shutdown(SHUT_WR) keeps the socket: FIN_WAIT2 waits for the FIN in full */
	assert_false(cl->fw2_handoff);
	assert_true(cl->time_wait);
	/* 12 bytes came after the client's FIN; the kernel counts the peer's FIN too */
	assert_int_equal(cl->bytes_received, 4 + 12 + 1);
	free(c);
}

static void test_ipv6(void **state)
{
	static const uint8_t loop6[16] = { [15] = 1 };
	struct collected *c = replay("ipv6-four-way.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_pair(cl, sv);
	assert_int_equal(cl->family, 10);
	assert_memory_equal(cl->laddr, loop6, 16);
	assert_memory_equal(cl->raddr, loop6, 16);
	assert_int_equal(cl->close, SF_CLOSE_FOUR_WAY);
	free(c);
}

static void test_syn_retrans(void **state)
{
	struct collected *c = replay("syn-retrans.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_pair(cl, sv);
	/* SYNs dropped for 1.5 s: two retransmissions, one second apart */
	assert_int_equal(cl->retrans_syn, 2);
	assert_true(cl->handshake_us > 1500000);
	assert_int_equal(cl->hops[0].state, SF_TCP_SYN_SENT);
	assert_int_equal(cl->hops[0].us, cl->handshake_us);
	assert_int_equal(sv->retrans_syn, 0);
	free(c);
}

static void test_synack_retrans(void **state)
{
	struct collected *c = replay("synack-retrans.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_pair(cl, sv);
	/* SYN-ACKs dropped for 1.5 s: the request socket sent them again, and the
	 * client its SYN; the count reaches the child that the request became */
	assert_true(sv->retrans_syn >= 1);
	assert_true(cl->retrans_syn >= 1);
	assert_true(cl->handshake_us > 1000000);
	/* no RTT sample after a retransmitted SYN-ACK: the server's time is unknown */
	assert_int_equal(sv->handshake_us, -1);
	free(c);
}

static void test_preexisting(void **state)
{
	struct collected *c = replay("preexisting.sfr");

	(void)state;
	assert_int_equal(c->n, 2);
	for (size_t i = 0; i < c->n; i++) {
		const struct sf_lifecycle *lc = &c->lc[i];

		assert_int_equal(lc->role, SF_ROLE_UNKNOWN);
		assert_int_equal(lc->gaps, SF_GAP_MIDLIFE);
		assert_int_equal(lc->handshake_us, -1);
		assert_int_equal(lc->nopen, 0);
		/* its first state has no known start */
		assert_false(lc->hops[0].known_us);
		/* the close itself was seen whole, so it is classified */
		assert_true(lc->close == SF_CLOSE_THREE_WAY || lc->close == SF_CLOSE_FOUR_WAY);
	}
	free(c);
}

static void test_lost(void **state)
{
	struct collected *c = replay("lost.sfr");
	bool held = false;

	(void)state;
	assert_true(c->st.lost > 0);
	for (size_t i = 0; i < c->n; i++) {
		const struct sf_lifecycle *lc = &c->lc[i];

		/* a lifecycle that may miss events is never classified */
		if (lc->gaps & SF_GAP_LOST) {
			assert_int_equal(lc->close, SF_CLOSE_INCOMPLETE);
			assert_false(lc->time_wait);
		}
		/* the connection that lived across the loss closed cleanly after it */
		if (lc->lport == 9201 || lc->rport == 9201) {
			assert_true(lc->gaps & SF_GAP_LOST);
			held = true;
		}
	}
	assert_true(held);
	free(c);
}

/* ---- synthetic streams ---- */

static struct tracker *new_tracker(struct collected *c, size_t max)
{
	struct tracker_opts o = { .max_conns = max };
	struct tracker_ops ops = { collect, NULL, c };
	struct tracker *t = NULL;

	assert_int_equal(tracker__new(&t, &o, &ops), 0);
	return t;
}

static void test_order_gap(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e;

	(void)state;
	e = ev(1, 0x1000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	tracker__feed(t, &e);
	e = ev(2, 0x1000, SF_TCP_SYN_SENT, SF_TCP_ESTABLISHED);
	tracker__feed(t, &e);
	/* ESTABLISHED -> FIN_WAIT1 never arrived */
	e = ev(3, 0x1000, SF_TCP_FIN_WAIT1, SF_TCP_FIN_WAIT2);
	tracker__feed(t, &e);
	e = ev(4, 0x1000, SF_TCP_FIN_WAIT2, SF_TCP_CLOSE);
	tracker__feed(t, &e);
	assert_int_equal(c->n, 1);
	assert_true(c->lc[0].gaps & SF_GAP_ORDER);
	assert_int_equal(c->lc[0].close, SF_CLOSE_INCOMPLETE);
	assert_false(c->lc[0].time_wait);
	tracker__free(t);
	free(c);
}

static void test_midlife_unseen(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e = ev(5, 0x2000, SF_TCP_FIN_WAIT2, SF_TCP_CLOSE);

	(void)state;
	tracker__feed(t, &e);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->lc[0].close, SF_CLOSE_INCOMPLETE);
	assert_true(c->lc[0].gaps & SF_GAP_UNSEEN);
	assert_int_equal(c->lc[0].role, SF_ROLE_UNKNOWN);
	tracker__free(t);
	free(c);
}

/*
 * Two children of one request (the final ACK and a data segment handled on two
 * CPUs at once, seen under make vmtest on 6.1): the loser closes from SYN_RECV
 * with its port still held and is no connection; without that flag a child
 * closing from SYN_RECV is a real aborted open.
 */
static void run_twins(struct collected *c, uint8_t loser_flags, struct tracker_stats *st)
{
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e;
	const struct {
		uint64_t ts, sk;
		int old, new;
	} seq[] = {
		{ 1, 0x5000, SF_TCP_LISTEN, SF_TCP_SYN_RECV },
		{ 2, 0x6000, SF_TCP_LISTEN, SF_TCP_SYN_RECV },
		{ 3, 0x5000, SF_TCP_SYN_RECV, SF_TCP_CLOSE },
		{ 4, 0x6000, SF_TCP_SYN_RECV, SF_TCP_ESTABLISHED },
		{ 5, 0x6000, SF_TCP_ESTABLISHED, SF_TCP_CLOSE_WAIT },
		{ 6, 0x6000, SF_TCP_CLOSE_WAIT, SF_TCP_LAST_ACK },
		{ 7, 0x6000, SF_TCP_LAST_ACK, SF_TCP_CLOSE },
	};

	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		e = ev(seq[i].ts, seq[i].sk, seq[i].old, seq[i].new);
		e.sport = 80;
		e.dport = 40000;
		e.snd_una = 1001;
		e.rcv_nxt = 5001;
		if (seq[i].sk == 0x5000 && seq[i].new == SF_TCP_CLOSE)
			e.flags = loser_flags;
		tracker__feed(t, &e);
	}
	tracker__stats(t, st);
	tracker__free(t);
}

static void test_twin_children(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker_stats st;

	(void)state;
	run_twins(c, SF_F_PORT_HELD, &st);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->lc[0].role, SF_ROLE_SERVER);
	assert_int_equal(c->lc[0].last_state, SF_TCP_LAST_ACK);
	assert_int_equal(st.discarded, 1);
	assert_int_equal(st.live, 0);
	c->n = 0;
	run_twins(c, 0, &st);
	assert_int_equal(c->n, 2);
	assert_int_equal(c->lc[0].close, SF_CLOSE_ABORTED);
	assert_int_equal(st.discarded, 0);
	free(c);
}

static void test_reuse_and_listeners(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 0);
	struct tracker_stats st;
	struct sf_event e;

	(void)state;
	e = ev(1, 0x3000, SF_TCP_CLOSE, SF_TCP_LISTEN);
	tracker__feed(t, &e);
	e = ev(2, 0x3000, SF_TCP_LISTEN, SF_TCP_CLOSE);
	tracker__feed(t, &e);
	assert_int_equal(c->n, 0);
	/* a birth on an address still tracked: the old socket ended unseen */
	e = ev(3, 0x4000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	tracker__feed(t, &e);
	e = ev(4, 0x4000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	tracker__feed(t, &e);
	assert_int_equal(c->n, 1);
	assert_true(c->lc[0].gaps & SF_GAP_ORDER);
	/* a new cookie once the old was final: reused */
	e = ev(5, 0x4000, SF_TCP_SYN_SENT, SF_TCP_ESTABLISHED);
	tracker__feed(t, &e);
	e = ev(6, 0x4000, SF_TCP_ESTABLISHED, SF_TCP_FIN_WAIT1);
	e.cookie = 99;
	tracker__feed(t, &e);
	assert_int_equal(c->n, 2);
	assert_true(c->lc[1].gaps & SF_GAP_ORDER);
	tracker__stats(t, &st);
	assert_int_equal(st.live, 1);
	assert_int_equal(st.events, 6);
	tracker__free(t);
	free(c);
}

static void test_flush_alive(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e;

	(void)state;
	/* ids follow first sight; flush must keep that order whatever the slots */
	for (uint64_t i = 0; i < 100; i++) {
		e = ev(i + 1, 0x10000 + (i * 7919) % 100 * 64, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
		tracker__feed(t, &e);
	}
	e = ev(1000, 0x10000, SF_TCP_SYN_SENT, SF_TCP_ESTABLISHED);
	tracker__feed(t, &e);
	e = ev(2000, 0x10000, SF_TCP_ESTABLISHED, SF_TCP_CLOSE_WAIT);
	e.flags = SF_F_FIN_IN;
	tracker__feed(t, &e);
	memset(&e, 0, sizeof(e));
	e.kind = SF_EV_END;
	e.ts_ns = 5000;
	assert_int_equal(tracker__feed(t, &e), 0);
	assert_int_equal(c->n, 100);
	for (size_t i = 0; i < c->n; i++) {
		assert_int_equal(c->lc[i].id, i + 1);
		assert_true(c->lc[i].alive);
		assert_int_equal(c->lc[i].close, SF_CLOSE_INCOMPLETE);
		if (c->lc[i].last_state == SF_TCP_CLOSE_WAIT) {
			/* a CLOSE_WAIT left behind: the peer closed, we never did */
			assert_int_equal(c->lc[i].closer, SF_CLOSER_PEER);
			assert_int_equal(c->lc[i].nwaves, 1);
		}
	}
	tracker__free(t);
	free(c);
}

static void test_table_full(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 1024);
	struct tracker_stats st;
	struct sf_event e;

	(void)state;
	for (uint64_t i = 0; i < 1500; i++) {
		e = ev(i + 1, 0x100000 + i * 64, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
		tracker__feed(t, &e);
	}
	tracker__stats(t, &st);
	assert_int_equal(st.live, 1024);
	assert_int_equal(st.untracked, 476);
	tracker__free(t);
	free(c);
}

/* Births and closes interleaved at random: the index must stay exact. */
static void test_index_churn(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker_ops ops = { NULL, NULL, NULL };
	struct tracker *t = NULL;
	struct tracker_stats st;
	static uint8_t live[20000];
	uint64_t n_live = 0, closes = 0, seed = 42;
	struct sf_event e;

	(void)state;
	assert_int_equal(tracker__new(&t, NULL, &ops), 0);
	for (uint64_t i = 0; i < 200000; i++) {
		uint32_t k;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (seed >> 33) % 20000;
		if (live[k]) {
			e = ev(i + 1, 0x800000 + (uint64_t)k * 128, SF_TCP_SYN_SENT, SF_TCP_CLOSE);
			n_live--;
			closes++;
		} else {
			e = ev(i + 1, 0x800000 + (uint64_t)k * 128, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
			n_live++;
		}
		live[k] ^= 1;
		assert_int_equal(tracker__feed(t, &e), 0);
	}
	tracker__stats(t, &st);
	assert_int_equal(st.live, n_live);
	assert_int_equal(st.connections, closes);
	assert_int_equal(st.untracked, 0);
	tracker__free(t);
	free(c);
}

static void test_invalid_events(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e = ev(1, 0x5000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);

	(void)state;
	e.newstate = 200;
	assert_int_equal(tracker__feed(t, &e), -EINVAL);
	e = ev(1, 0x5000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	e.family = 7;
	assert_int_equal(tracker__feed(t, &e), -EINVAL);
	e = ev(1, 0, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	assert_int_equal(tracker__feed(t, &e), -EINVAL);
	e = ev(1, 0x5000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	e.kind = 99;
	assert_int_equal(tracker__feed(t, &e), -EINVAL);
	assert_int_equal(c->n, 0);
	tracker__free(t);
	free(c);
}

/* ---- issue 12: the ends real software plays ---- */

/* Our FIN, if the close lists it. */
static const struct sf_wave *nth_out_fin(const struct sf_lifecycle *lc)
{
	return find_wave(lc, SF_DIR_OUT, SF_TH_FIN | SF_TH_ACK);
}

/*
 * shutdown(SHUT_WR), data in, then close() with the FIN unacknowledged: the
 * kernel sets FIN_WAIT1 again. Our FIN is the one the first transition showed,
 * and the data that came between shutdown() and close() makes a half-close.
 */
static void test_shutdown_then_close(void **state)
{
	struct collected *c = replay("shutdown-close.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);
	const struct sf_wave *fin = nth_out_fin(cl),
			     *in = find_wave(sv, SF_DIR_IN, SF_TH_FIN | SF_TH_ACK);

	(void)state;
	assert_pair(cl, sv);
	assert_int_equal(cl->close, SF_CLOSE_FOUR_WAY);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	assert_true(cl->time_wait);
	assert_true(cl->half_close);
	assert_non_null(fin);
	assert_non_null(in);
	assert_int_equal(fin->seq, in->seq);
	assert_int_equal(sv->close, SF_CLOSE_FOUR_WAY);
	assert_int_equal(cl->retrans_fin, 1);
	/* FIN_WAIT1 once in the states, though the tracepoint fired twice */
	assert_int_equal(cl->hops[2].state, SF_TCP_FIN_WAIT1);
	assert_int_equal(cl->hops[3].state, SF_TCP_FIN_WAIT2);
	free(c);
}

/* Our RST answers the data, after our CLOSE; the receive-reset event is no RST. */
static void assert_abort_on_data(const char *name, bool fin_left)
{
	struct collected *c = replay(name);
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);
	const struct sf_wave *out = find_wave(cl, SF_DIR_OUT, SF_TH_RST),
			     *in = find_wave(sv, SF_DIR_IN, SF_TH_RST);

	assert_pair(cl, sv);
	assert_int_equal(cl->close, SF_CLOSE_RESET);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	assert_int_equal(cl->reason, SF_REASON_ABORT_ON_DATA);
	assert_false(cl->time_wait || cl->fw2_handoff);
	assert_int_equal(sv->close, SF_CLOSE_RESET);
	assert_int_equal(sv->closer, SF_CLOSER_PEER);
	assert_non_null(out);
	assert_non_null(in);
	assert_false(out->has_ack);
	assert_int_equal(out->seq, in->seq);
	assert_true(fin_left == (nth_out_fin(cl) != NULL));
	assert_null(find_wave(cl, SF_DIR_IN, SF_TH_RST));
	free(c);
}

static void test_abort_on_data(void **state)
{
	(void)state;
	/* the data segment acknowledged our FIN in FIN_WAIT1: tcp_done() */
	assert_abort_on_data("abort-on-data.sfr", true);
	/* a full FIN_WAIT2 socket: tcp_reset() fires the receive-reset tracepoint */
	assert_abort_on_data("abort-fw2.sfr", true);
	/* the FIN waited behind unsent data and never left */
	assert_abort_on_data("abort-queued.sfr", false);
}

/* Children in the accept queue of a listener that closes: each sends a RST. */
static void test_listener_closed(void **state)
{
	struct collected *c = replay("listener-closed.sfr");
	int servers = 0;

	(void)state;
	assert_int_equal(c->n, 4);
	for (size_t i = 0; i < c->n; i++) {
		const struct sf_lifecycle *lc = &c->lc[i];
		const struct sf_wave *out = find_wave(lc, SF_DIR_OUT, SF_TH_RST | SF_TH_ACK);

		assert_int_equal(lc->close, SF_CLOSE_RESET);
		assert_true(lc->pair != 0);
		if (lc->role != SF_ROLE_SERVER) {
			assert_int_equal(lc->closer, SF_CLOSER_PEER);
			continue;
		}
		servers++;
		assert_int_equal(lc->closer, SF_CLOSER_LOCAL);
		assert_int_equal(lc->reason, SF_REASON_LISTENER_CLOSED);
		assert_non_null(out);
		assert_int_equal(out->seq, lc->open[1].seq + 1);
	}
	assert_int_equal(servers, 2);
	free(c);
}

/* A Fast Open child, in SYN_RECV with the client's data, reset by its client. */
static void test_fastopen_child_reset(void **state)
{
	struct collected *c = replay("fastopen-reset.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);

	(void)state;
	assert_int_equal(sv->close, SF_CLOSE_RESET);
	assert_int_equal(sv->closer, SF_CLOSER_PEER);
	assert_int_equal(sv->reason, SF_REASON_PEER_RESET);
	assert_int_equal(sv->last_state, SF_TCP_SYN_RECV);
	assert_int_equal(cl->close, SF_CLOSE_RESET);
	assert_int_equal(cl->reason, SF_REASON_LINGER0);
	/* the child's handshake, up to its SYN-ACK: the SYN carried 5 bytes */
	assert_int_equal(sv->nopen, 2);
	assert_int_equal(sv->open[0].seq, cl->open[0].seq);
	assert_int_equal(sv->open[1].seq, cl->open[1].seq);
	assert_int_equal(sv->open[1].ack, cl->open[0].seq + 1 + 5);
	free(c);
}

/* Fast Open: the SYN's data moves every sequence number after it. */
static void test_fastopen(void **state)
{
	struct collected *c = replay("fastopen.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT),
				  *sv = find_role(c, SF_ROLE_SERVER);
	uint32_t isn = cl->open[0].seq;

	(void)state;
	assert_true(cl->pair && cl->pair == sv->pair);
	assert_int_equal(cl->open[1].ack, isn + 1 + 5);
	assert_int_equal(cl->open[2].seq, isn + 1 + 5);
	assert_int_equal(sv->open[0].seq, isn);
	assert_int_equal(sv->open[1].ack, isn + 1 + 5);
	assert_int_equal(sv->open[2].seq, isn + 1 + 5);
	/* the client's FIN follows its 5 bytes */
	assert_int_equal(nth_out_fin(cl)->seq, isn + 1 + 5);
	free(c);
}

/*
 * A refused Fast Open connect: the RST must acknowledge our SYN, anywhere up
 * to the end of its data, so its ACK is known only without data.
 */
static void test_fastopen_refused(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e = ev(1, 0x3000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	const struct sf_wave *rst;

	(void)state;
	tracker__feed(t, &e);
	e = ev(2, 0x3000, SF_TCP_SYN_SENT, SF_TCP_SYN_SENT);
	e.kind = SF_EV_RESET_RX;
	e.snd_una = 1000;
	e.snd_nxt = 1015; /* SYN and 14 bytes */
	tracker__feed(t, &e);
	e.kind = SF_EV_STATE;
	e.newstate = SF_TCP_CLOSE;
	tracker__feed(t, &e);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->lc[0].close, SF_CLOSE_REFUSED);
	assert_int_equal(c->lc[0].open[0].seq, 1000);
	rst = find_wave(&c->lc[0], SF_DIR_IN, SF_TH_RST | SF_TH_ACK);
	assert_non_null(rst);
	assert_false(rst->has_ack);
	tracker__free(t);
	free(c);
}

/* The SYNs crossed: SYN_SENT -> SYN_RECV -> ESTABLISHED on both sides. */
static void test_simultaneous_open(void **state)
{
	struct collected *c = replay("simultaneous-open.sfr");
	const struct sf_lifecycle *a = &c->lc[0], *b = &c->lc[1];

	(void)state;
	assert_int_equal(c->n, 2);
	assert_int_equal(a->role, SF_ROLE_CLIENT);
	assert_int_equal(b->role, SF_ROLE_CLIENT);
	assert_true(a->pair && a->pair == b->pair);
	for (int i = 0; i < 2; i++) {
		const struct sf_lifecycle *x = i ? b : a, *y = i ? a : b;

		assert_int_equal(x->nopen, 4);
		assert_int_equal(x->open[0].flags, SF_TH_SYN);
		assert_int_equal(x->open[1].dir, SF_DIR_IN);
		assert_int_equal(x->open[1].flags, SF_TH_SYN);
		assert_int_equal(x->open[2].flags, SF_TH_SYN | SF_TH_ACK);
		assert_int_equal(x->open[2].dir, SF_DIR_OUT);
		assert_int_equal(x->open[3].flags, SF_TH_SYN | SF_TH_ACK);
		assert_int_equal(x->open[3].dir, SF_DIR_IN);
		assert_int_equal(x->open[1].seq, y->open[0].seq);
		assert_int_equal(x->open[3].ack, x->open[0].seq + 1);
		/* timed from its SYN, as any active open */
		assert_true(x->handshake_us > 100000);
	}
	free(c);
}

/*
 * shutdown() in CLOSE_WAIT sends our FIN, close() sets LAST_ACK again: the
 * FIN is the first one, and the ACK of the peer's FIN still rode on it.
 */
static void test_last_ack_twice(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e;
	const struct {
		int old, new;
		uint32_t segs_out, snd_una, write_seq, snd_nxt;
	} steps[] = {
		{ SF_TCP_LISTEN, SF_TCP_SYN_RECV, 0, 0, 0, 0 },
		{ SF_TCP_SYN_RECV, SF_TCP_ESTABLISHED, 0, 101, 101, 101 },
		{ SF_TCP_ESTABLISHED, SF_TCP_CLOSE_WAIT, 2, 101, 101, 101 },
		{ SF_TCP_CLOSE_WAIT, SF_TCP_LAST_ACK, 2, 101, 101, 101 },
		{ SF_TCP_LAST_ACK, SF_TCP_LAST_ACK, 3, 101, 102, 102 },
		{ SF_TCP_LAST_ACK, SF_TCP_CLOSE, 3, 102, 102, 102 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		e = ev(i + 1, 0x4000, steps[i].old, steps[i].new);
		e.segs_out = steps[i].segs_out;
		e.snd_una = steps[i].snd_una;
		e.write_seq = steps[i].write_seq;
		e.snd_nxt = steps[i].snd_nxt;
		e.rcv_nxt = i >= 2 ? 501 : 500;
		tracker__feed(t, &e);
	}
	assert_int_equal(c->n, 1);
	assert_int_equal(c->lc[0].close, SF_CLOSE_THREE_WAY);
	assert_int_equal(nth_out_fin(&c->lc[0])->seq, 101);
	tracker__free(t);
	free(c);
}

/* ---- why it ended, where the kernel tells (events of format 2) ---- */

/* A timer's end, from the recordings: reason, and the health the kernel counted. */
static void test_timer_ends(void **state)
{
	struct collected *c = replay("user-timeout.sfr");
	const struct sf_lifecycle *cl = find_role(c, SF_ROLE_CLIENT);

	(void)state;
	assert_int_equal(cl->close, SF_CLOSE_ABORTED);
	assert_int_equal(cl->reason, SF_REASON_USER_TIMEOUT);
	assert_true(cl->health);
	/* "more" sent again until the user timeout: 4 + 4 + 3 x 4 bytes */
	assert_int_equal(cl->retrans, 3);
	assert_int_equal(cl->bytes_sent, 20);
	assert_true(cl->min_rtt_us > 0 && cl->min_rtt_us <= cl->srtt_us * 8);
	free(c);
	c = replay("syn-timeout.sfr");
	cl = find_role(c, SF_ROLE_CLIENT);
	assert_int_equal(cl->close, SF_CLOSE_ABORTED);
	assert_int_equal(cl->reason, SF_REASON_SYN_TIMEOUT);
	assert_int_equal(cl->retrans, cl->retrans_syn);
	assert_int_equal(cl->min_rtt_us, 0);
	free(c);
	c = replay("keepalive-timeout.sfr");
	cl = find_role(c, SF_ROLE_CLIENT);
	assert_int_equal(cl->close, SF_CLOSE_RESET);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	assert_int_equal(cl->reason, SF_REASON_KEEPALIVE_TIMEOUT);
	assert_int_equal(find_role(c, SF_ROLE_SERVER)->reason, SF_REASON_PEER_RESET);
	free(c);
}

/*
 * A SYN timeout whose error the application read (SO_ERROR clears it) before
 * the kernel closed the socket: the retransmission timer's handler ended it,
 * with no timer pending. A close() in SYN_SENT, or a socket whose timer is
 * still pending (an ICMP error), keeps no reason.
 */
static void test_syn_timeout_error_read(void **state)
{
	const struct {
		uint8_t flags, xflags, sk_err, reason;
	} cases[] = {
		{ 0, SF_X_FACTS | SF_X_NO_XMIT_TIMER, 0, SF_REASON_SYN_TIMEOUT },
		{ 0, SF_X_FACTS, ETIMEDOUT, SF_REASON_SYN_TIMEOUT },
		{ 0, SF_X_FACTS, 0, SF_REASON_NONE },
		{ SF_F_PROC, SF_X_FACTS | SF_X_NO_XMIT_TIMER, 0, SF_REASON_NONE },
		{ 0, SF_X_FACTS | SF_X_NO_XMIT_TIMER, EHOSTUNREACH, SF_REASON_NONE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct collected *c = calloc(1, sizeof(*c));
		struct tracker *t = new_tracker(c, 0);
		struct sf_event e = ev(1, 0x5000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);

		e.flags = SF_F_PROC;
		e.xflags = SF_X_FACTS;
		tracker__feed(t, &e);
		e = ev(3000000001ull, 0x5000, SF_TCP_SYN_SENT, SF_TCP_CLOSE);
		e.flags = cases[i].flags;
		e.xflags = cases[i].xflags;
		e.sk_err = cases[i].sk_err;
		tracker__feed(t, &e);
		assert_int_equal(c->n, 1);
		assert_int_equal(c->lc[0].close, SF_CLOSE_ABORTED);
		assert_int_equal(c->lc[0].reason, cases[i].reason);
		tracker__free(t);
		free(c);
	}
}

/* The lifecycles of a recording, settled as check and repro settle them. */
static void replay_settled(const char *name, struct lc_vec *v)
{
	struct collected *c = replay(name);

	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(lc_vec_push(v, &c->lc[i]), 0);
	free(c);
	lc_vec_settle(v);
}

/*
 * A FIN_WAIT2 handoff whose mini-socket expired before the peer's late FIN
 * (TCP_LINGER2 1 s, the server closes after 1.5 s): the server got a RST in
 * LAST_ACK, so the client ended aborted by fin-wait2-timeout, no TIME_WAIT.
 * A handoff whose peer's FIN came in time stays four-way with TIME_WAIT.
 */
static void test_fw2_expired(void **state)
{
	const struct sf_lifecycle *cl;
	struct lc_vec v;

	(void)state;
	replay_settled("fin-wait2-timeout.sfr", &v);
	assert_int_equal(v.n, 2);
	cl = v.v[0].role == SF_ROLE_CLIENT ? &v.v[0] : &v.v[1];
	assert_true(cl->fw2_handoff);
	assert_int_equal(cl->close, SF_CLOSE_ABORTED);
	assert_int_equal(cl->closer, SF_CLOSER_LOCAL);
	assert_int_equal(cl->reason, SF_REASON_FIN_WAIT2_TIMEOUT);
	assert_false(cl->time_wait);
	assert_int_equal(lc_vec_partner(&v, cl)->reason, SF_REASON_PEER_RESET);
	lc_vec_free(&v);
	replay_settled("four-way.sfr", &v);
	for (size_t i = 0; i < v.n; i++) {
		assert_int_equal(v.v[i].close, SF_CLOSE_FOUR_WAY);
		assert_true(v.v[i].time_wait || !v.v[i].fw2_handoff);
	}
	lc_vec_free(&v);
}

/* One client endpoint: birth, ESTABLISHED, then the given end; its lifecycle in c. */
static void end_of(struct collected *c, const struct sf_event *last, int extra_kind)
{
	struct tracker *t = new_tracker(c, 0);
	struct sf_event e = ev(1, 0x5000, SF_TCP_CLOSE, SF_TCP_SYN_SENT);

	tracker__feed(t, &e);
	if (last->oldstate != SF_TCP_SYN_SENT) {
		e = ev(2, 0x5000, SF_TCP_SYN_SENT, SF_TCP_ESTABLISHED);
		e.snd_una = e.snd_nxt = e.write_seq = 101;
		e.bytes_acked = 1;
		tracker__feed(t, &e);
	}
	if (last->oldstate == SF_TCP_FIN_WAIT2) {
		e = ev(3, 0x5000, SF_TCP_ESTABLISHED, SF_TCP_FIN_WAIT1);
		e.snd_una = e.snd_nxt = e.write_seq = 101;
		tracker__feed(t, &e);
		e = ev(4, 0x5000, SF_TCP_FIN_WAIT1, SF_TCP_FIN_WAIT2);
		e.snd_una = e.snd_nxt = e.write_seq = 102;
		tracker__feed(t, &e);
	}
	if (extra_kind) {
		e = *last;
		e.kind = extra_kind;
		e.newstate = e.oldstate;
		tracker__feed(t, &e);
	}
	tracker__feed(t, last);
	tracker__free(t);
	assert_int_equal(c->n, 1);
}

static struct sf_event facts_close(int old, uint8_t sk_err, uint8_t xflags, uint8_t flags)
{
	struct sf_event e = ev(10, 0x5000, old, SF_TCP_CLOSE);

	e.sk_err = sk_err;
	e.xflags = SF_X_FACTS | xflags;
	e.flags = flags;
	e.snd_una = e.snd_nxt = e.write_seq = 101;
	e.sock_ino = 7;
	return e;
}

static void test_reasons(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct sf_event e;

	(void)state;
	/* an ICMP port unreachable ends the connect like a RST */
	e = facts_close(SF_TCP_SYN_SENT, ECONNREFUSED, 0, 0);
	end_of(c, &e, 0);
	assert_int_equal(c->lc[0].close, SF_CLOSE_REFUSED);
	assert_int_equal(c->lc[0].reason, SF_REASON_PORT_UNREACHABLE);
	/* another ICMP error, or a timeout after one: not known which */
	c->n = 0;
	e = facts_close(SF_TCP_SYN_SENT, EHOSTUNREACH, 0, 0);
	end_of(c, &e, 0);
	assert_int_equal(c->lc[0].close, SF_CLOSE_ABORTED);
	assert_int_equal(c->lc[0].reason, SF_REASON_NONE);
	/* retransmissions given up on, without TCP_USER_TIMEOUT */
	c->n = 0;
	e = facts_close(SF_TCP_ESTABLISHED, ETIMEDOUT, 0, 0);
	end_of(c, &e, 0);
	assert_int_equal(c->lc[0].reason, SF_REASON_RETRANSMIT_TIMEOUT);
	/* connect(AF_UNSPEC): CLOSE, then a RST */
	c->n = 0;
	e = facts_close(SF_TCP_ESTABLISHED, 0, 0, SF_F_PROC);
	end_of(c, &e, 0);
	assert_int_equal(c->lc[0].close, SF_CLOSE_RESET);
	assert_int_equal(c->lc[0].closer, SF_CLOSER_LOCAL);
	assert_int_equal(c->lc[0].reason, SF_REASON_NONE);
	/* a format 1 event tells none of it: aborted, as before */
	c->n = 0;
	e = facts_close(SF_TCP_ESTABLISHED, 0, 0, SF_F_PROC);
	e.xflags = 0;
	end_of(c, &e, 0);
	assert_int_equal(c->lc[0].close, SF_CLOSE_ABORTED);
	assert_false(c->lc[0].health);
	/* the FIN_WAIT2 timer of an orphan sends a RST, then CLOSE */
	c->n = 0;
	e = facts_close(SF_TCP_FIN_WAIT2, 0, 0, SF_F_ORPHAN);
	e.snd_una = e.snd_nxt = e.write_seq = 102;
	end_of(c, &e, SF_EV_RESET_TX);
	assert_int_equal(c->lc[0].close, SF_CLOSE_RESET);
	assert_int_equal(c->lc[0].reason, SF_REASON_FIN_WAIT2_TIMEOUT);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_way),
		cmocka_unit_test(test_three_way),
		cmocka_unit_test(test_server_first),
		cmocka_unit_test(test_simultaneous),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_aborted),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_syn_retrans),
		cmocka_unit_test(test_synack_retrans),
		cmocka_unit_test(test_preexisting),
		cmocka_unit_test(test_lost),
		cmocka_unit_test(test_order_gap),
		cmocka_unit_test(test_midlife_unseen),
		cmocka_unit_test(test_reuse_and_listeners),
		cmocka_unit_test(test_twin_children),
		cmocka_unit_test(test_flush_alive),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_index_churn),
		cmocka_unit_test(test_invalid_events),
		cmocka_unit_test(test_shutdown_then_close),
		cmocka_unit_test(test_abort_on_data),
		cmocka_unit_test(test_listener_closed),
		cmocka_unit_test(test_fastopen_child_reset),
		cmocka_unit_test(test_fastopen),
		cmocka_unit_test(test_fastopen_refused),
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_last_ack_twice),
		cmocka_unit_test(test_timer_ends),
		cmocka_unit_test(test_syn_timeout_error_read),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_fw2_expired),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
