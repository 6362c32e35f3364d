/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A live tracing session: the BPF tracer feeding the engine, optionally
 * recorded, with the lost-event and end markers that make a recording replay
 * exactly as the live run went.
 */
#ifndef SYNFIN_SESSION_H
#define SYNFIN_SESSION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "loader.h"
#include "tracker.h"

struct session_opts {
	struct tracer_opts tracer;
	const char *record; /* recording path, or NULL */
	struct tracker_ops ops;
	struct tracker_opts tracker;
	int64_t realtime_offset_ns; /* for the recording header */
};

struct session;

/* On failure returns -errno with one line in err. */
int session__open(struct session **out, const struct session_opts *opts, char *err, size_t errlen);
/* Delivers queued events (waiting up to timeout_ms); returns -errno on failure. */
int session__poll(struct session *s, int timeout_ms);
/*
 * Traces until at most max_live endpoints are open, deadline_ns on
 * sf_mono_ns() passes, or *stop (unless NULL) is set: what is closing gets
 * to finish. Returns 0, or -errno with one line in err.
 */
int session__settle(struct session *s, uint64_t max_live, uint64_t deadline_ns,
		    const volatile sig_atomic_t *stop, char *err, size_t errlen);
/*
 * Detaches the programs, drains the ring buffers and ends the trace: every open
 * lifecycle is produced. Returns 0, or -errno with one line in err (the
 * recording could not be written, or the ring could not be drained).
 */
int session__finish(struct session *s, char *err, size_t errlen);
void session__stats(const struct session *s, struct tracker_stats *st);
const char *session__attach_name(const struct session *s);
void session__close(struct session *s);

/* For tracker_ops.on_lifecycle: keeps every lifecycle in the struct lc_vec ctx. */
void session_collect(const struct sf_lifecycle *lc, void *lcs);

#endif
