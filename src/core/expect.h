/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Expectations on lifecycles: "role=client close=three-way time_wait=yes".
 * Selectors pick endpoints; assertions must hold for each of them; count
 * bounds how many there are (count>=1 unless said). Pure: no I/O; the
 * workload selectors (pod= ...) ask the resolver of src/core/who.h.
 */
#ifndef SYNFIN_EXPECT_H
#define SYNFIN_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include "tracker.h"

#define EXPECT_MAX_CONDS 16

enum expect_op {
	EXPECT_EQ,
	EXPECT_NE,
	EXPECT_GE,
	EXPECT_LE,
};

struct expect_cond {
	int key; /* enum expect_key, in expect.c */
	enum expect_op op;
	uint64_t value;
	char name[256]; /* pod=, namespace=, container=, unit=: the name */
};

struct expect {
	char text[256]; /* as written, whitespace folded */
	int nconds;
	struct expect_cond conds[EXPECT_MAX_CONDS];
	bool has_count;
	struct expect_cond count;
};

/* Parses one expression; on error returns -EINVAL with one line in err. */
int expect_parse(const char *text, struct expect *x, char *err, size_t errlen);
/* "=", "!=", ">=" or "<=" */
const char *expect_op_name(enum expect_op op);

struct expect_result {
	bool pass;
	size_t matched; /* endpoints the selectors picked */
	bool count_ok; /* the count condition held */
	size_t nviolators; /* endpoints that broke an assertion */
};

/*
 * Evaluates x over n lifecycles. violators, if not NULL, receives the indexes
 * of the endpoints that broke an assertion (at most max of them).
 */
void expect_eval(const struct expect *x, const struct sf_lifecycle *lcs, size_t n,
		 struct expect_result *res, size_t *violators, size_t max);
/* "close=four-way (want three-way)": what an endpoint shows for x's assertions. */
size_t expect_describe(const struct expect *x, const struct sf_lifecycle *lc, char *buf,
		       size_t len);

#endif
