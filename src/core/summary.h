/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The Markdown job summary of synfin check (--summary, for CI runners such as
 * GitHub's $GITHUB_STEP_SUMMARY): a results table and, for each failed
 * expectation, the ladder of the connection that broke it as a Mermaid
 * sequenceDiagram, which those summaries draw as a picture. Pure: no I/O.
 */
#ifndef SYNFIN_SUMMARY_H
#define SYNFIN_SUMMARY_H

#include "json.h"
#include "report.h"

/* Appends the summary of o, evaluated by outcome_evaluate(), to b. */
void summary_markdown(struct sf_sb *b, const struct outcome *o);

#endif
