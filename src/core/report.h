/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Expectation results for synfin check and synfin repro: text, JSON Lines, JUnit XML. */
#ifndef SYNFIN_REPORT_H
#define SYNFIN_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "expect.h"
#include "tracker.h"

struct lc_vec {
	struct sf_lifecycle *v;
	size_t n;
	size_t cap;
};

int lc_vec_push(struct lc_vec *vec, const struct sf_lifecycle *lc);
void lc_vec_free(struct lc_vec *vec);
/* The other local endpoint of lc's connection in vec, or NULL. */
const struct sf_lifecycle *lc_vec_partner(const struct lc_vec *vec, const struct sf_lifecycle *lc);
/*
 * What only both ends of a run tell: a FIN_WAIT2 handoff whose mini-socket
 * expired before the peer's FIN (the peer got a RST for it in LAST_ACK) ended
 * aborted by fin-wait2-timeout, without TIME_WAIT. For check and repro, which
 * report once the run is over; trace prints the handoff before its fate.
 */
void lc_vec_settle(struct lc_vec *vec);

struct outcome {
	const char *name; /* the suite: "synfin check" or "synfin repro four-way" */
	const struct expect *x;
	size_t nx;
	struct expect_result *res; /* nx results, filled by outcome_evaluate() */
	const struct lc_vec *lcs;
	const char *command; /* the command line, for the report */
	const char *command_status; /* NULL when it succeeded, else what went wrong */
	const char *notes; /* extra observations, or NULL */
	double seconds;
	uint64_t lost;
	uint64_t missed; /* tracer runs the kernel skipped and no twin recorded */
};

/* Returns the number of failed expectations. */
size_t outcome_evaluate(struct outcome *o);
/* The readable diff of failed expectation i, one line each, into buf; returns its length. */
size_t outcome_failure_text(const struct outcome *o, size_t i, char *buf, size_t len);
/* The first endpoint that expectation i selects and that breaks it, or NULL. */
const struct sf_lifecycle *outcome_first_violator(const struct outcome *o, size_t i);
void report_text(FILE *out, const struct outcome *o, bool ladders);
void report_json(FILE *out, const struct outcome *o);
/* Writes JUnit XML to out, opened on path (named in errors), and closes it. */
int report_junit(FILE *out, const char *path, const struct outcome *o, char *err, size_t errlen);

#endif
