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

#endif
