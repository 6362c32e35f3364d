/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The views of lifecycles and transitions: lines, --states, --ladder, --json. */
#ifndef SYNFIN_OUTPUT_H
#define SYNFIN_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "tracker.h"

enum sf_view_mode {
	SF_VIEW_LINES,
	SF_VIEW_STATES,
	SF_VIEW_LADDER,
	SF_VIEW_JSON,
};

struct view_opts {
	enum sf_view_mode mode;
	bool json_states; /* --json --states: also {"type":"state"} lines */
	bool timestamps; /* -T */
	int64_t realtime_offset_ns; /* wall clock = monotonic + this */
	FILE *out;
};

struct view;

int view__new(struct view **out, const struct view_opts *opts);
/* match: whether the lifecycle passes the filters (a pair shows if either side does) */
void view__lifecycle(struct view *v, const struct sf_lifecycle *lc, bool match);
void view__transition(struct view *v, const struct sf_transition *tr, bool match);
/* Human views hold one half of a local pair until the other ends; let go after 1 s. */
void view__advance(struct view *v, uint64_t now_ns);
/* Write out buffered JSON lines; before anything else goes to the same stream. */
void view__flush(struct view *v);
/* Print what is held and the summary. */
void view__finish(struct view *v, const struct tracker_stats *st);
void view__free(struct view *v);

/* The ladder of one endpoint, or of a local pair (either order). */
void sf_print_ladder(FILE *out, const struct sf_lifecycle *a, const struct sf_lifecycle *b);

/* The text of the human views (lines, --states, ladder.c). */
/* "10.0.0.1:80" or "[::1]:80" */
void sf_endpoint_str(char *buf, size_t len, uint8_t family, const uint8_t *addr, uint16_t port);
/* "SYN,ACK": the TCP flags of a segment */
void sf_tcp_flags_str(char *buf, size_t len, uint8_t flags);
/* the close kind, or "open" while it lives */
const char *sf_close_label(const struct sf_lifecycle *lc);

/* Room for the longest lifecycle's JSON, NUL included (who it belongs to: src/core/who.h). */
#define SF_JSON_MAX 8192

/*
 * One lifecycle as a JSON object without trailing newline; returns its length.
 * len must be at least SF_JSON_MAX, else nothing is written and 0 returned.
 */
size_t sf_lifecycle_json(char *buf, size_t len, const struct sf_lifecycle *lc);

#endif
