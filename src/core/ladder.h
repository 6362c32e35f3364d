/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The ladder view: the segments of an endpoint's handshake and close as
 * arrows between two columns of states, the two local endpoints of one
 * connection side by side, as the seeds draw them.
 */
#ifndef SYNFIN_LADDER_H
#define SYNFIN_LADDER_H

#include <stdio.h>
#include "tracker.h"

/*
 * a on the left; b, the other local endpoint, on the right, or NULL when the
 * peer is remote. ts ("" or a wall time) starts the title line.
 */
void sf_ladder_print(FILE *out, const char *ts, const struct sf_lifecycle *a,
		     const struct sf_lifecycle *b);

/* Room for every row of one ladder. */
#define SF_LADDER_MAX_ROWS (2 * (SF_MAX_OPEN + SF_MAX_WAVES))

/* One row of a ladder, for views that draw it otherwise (summary.c's Mermaid). */
struct sf_ladder_row {
	const struct sf_wave *w;
	bool rightward; /* sent by a, the left endpoint, to b */
	const char *left; /* a's state after the segment, or NULL when a did not see it */
	const char *right; /* b's, likewise */
	char label[64]; /* "SYN,ACK seq=1 ack=2", as on the ladder's arrow */
};

/* The rows sf_ladder_print draws for a and b, in order, into rows; returns how many. */
int sf_ladder_rows(const struct sf_lifecycle *a, const struct sf_lifecycle *b,
		   struct sf_ladder_row rows[SF_LADDER_MAX_ROWS]);

#endif
