/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One string accessor per enum, each made from the enum's own list
 * (SF_TCP_STATE_LIST in tracer.h, the lifecycle lists in tracker.h), and the
 * parser of each name back to its value.
 */
#ifndef SYNFIN_NAMES_H
#define SYNFIN_NAMES_H

#include <stddef.h>
#include "tracker.h"

/* "ESTABLISHED"...; "UNKNOWN" for 0 and anything out of range */
const char *sf_state_name(unsigned int state);
/* "established"...; NULL for 0 and anything out of range */
const char *sf_state_label(unsigned int state);
/* "ESTAB"...; NULL for 0 and anything out of range */
const char *sf_state_short(unsigned int state);
const char *sf_role_name(unsigned int role);
const char *sf_close_name(unsigned int close);
const char *sf_closer_name(unsigned int closer);
const char *sf_gap_name(unsigned int bit);
/* "linger0"...; NULL for SF_REASON_NONE and anything out of range */
const char *sf_reason_name(unsigned int reason);

/*
 * The states synfin watch counts, in the order it shows them (CLOSE is never
 * held by a socket; NEW_SYN_RECV is counted as SYN_RECV).
 */
extern const unsigned char sf_watched_states[];
extern const size_t sf_nwatched_states;

/* A table of names for parsers: value i is names[i]. */
struct sf_names {
	const char *const *names;
	unsigned int n;
};

extern const struct sf_names sf_state_names; /* upper case, 0 is "UNKNOWN" */
extern const struct sf_names sf_role_names;
extern const struct sf_names sf_close_names;
extern const struct sf_names sf_closer_names;
extern const struct sf_names sf_reason_names; /* 0 is "none" */

/* "a, b, c": the names of t, cut to fit len */
void sf_names_list(const struct sf_names *t, char *buf, size_t len);
/* The value whose name is s (exact match), or -1. */
int sf_names_find(const struct sf_names *t, const char *s);

#endif
