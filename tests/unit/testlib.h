/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the engine's unit tests share: collecting lifecycles, replaying a
 * recording of tests/data, and a synthetic state change. Include after
 * <cmocka.h>; define MAX_LC first for a smaller collection on the stack.
 */
#ifndef SYNFIN_TESTLIB_H
#define SYNFIN_TESTLIB_H

#include <stdio.h>
#include <string.h>
#include "record.h"
#include "tracker.h"

#ifndef MAX_LC
#define MAX_LC 1024
#endif

#define TESTLIB_USED __attribute__((unused))

struct collected {
	struct sf_lifecycle lc[MAX_LC];
	size_t n;
	struct tracker_stats st; /* of the replay, or of the caller's own feed */
};

static TESTLIB_USED void collect(const struct sf_lifecycle *lc, void *ctx)
{
	struct collected *c = ctx;

	assert_true(c->n < MAX_LC);
	c->lc[c->n++] = *lc;
}

/* Every event of tests/data/NAME into a new engine; its lifecycles and stats in c. */
static TESTLIB_USED void replay_into(const char *name, struct collected *c)
{
	struct tracker_ops ops = { collect, NULL, c };
	struct sf_rec_header hdr;
	struct reader *rd = NULL;
	struct tracker *t = NULL;
	const struct sf_event *e;
	char path[256], err[256];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", SF_TEST_DATA, name);
	assert_int_equal(reader__open(&rd, path, &hdr, err, sizeof(err)), 0);
	assert_int_equal(tracker__new(&t, NULL, &ops), 0);
	while ((ret = reader__next(rd, &e, err, sizeof(err))) == 1)
		assert_int_equal(tracker__feed(t, e), 0);
	assert_int_equal(ret, 0);
	tracker__stats(t, &c->st);
	tracker__free(t);
	reader__close(rd);
}

/* A state change of socket sk, 127.0.0.1:(1000 + sk) -> 127.0.0.2:80. */
static TESTLIB_USED struct sf_event ev(uint64_t ts, uint64_t sk, int old, int new)
{
	struct sf_event e;

	memset(&e, 0, sizeof(e));
	e.kind = SF_EV_STATE;
	e.family = 2;
	e.ts_ns = ts;
	e.skaddr = sk;
	e.cookie = sk;
	e.oldstate = old;
	e.newstate = new;
	e.sport = (uint16_t)(1000 + sk % 50000);
	e.dport = 80;
	e.saddr[0] = 127;
	e.saddr[3] = 1;
	e.daddr[0] = 127;
	e.daddr[3] = 2;
	return e;
}

#endif
