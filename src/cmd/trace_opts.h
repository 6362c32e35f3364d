/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What synfin trace and synfin replay share: their options (the views and
 * filters of both, the tracer's settings of trace), and the run that feeds the
 * engine's lifecycles and transitions through the filter into a view.
 */
#ifndef SYNFIN_TRACE_OPTS_H
#define SYNFIN_TRACE_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "filter.h"
#include "loader.h"
#include "tracker.h"
#include "view.h"

/* trace and replay: their name, --help text, and whether they trace live */
struct trace_cmd {
	const char *name;
	const char *usage;
	bool live;
};

struct cmd_opts {
	struct sf_filter filter;
	struct view_opts view;
	struct tracer_opts tracer;
	struct tracker_opts tracker;
	const char *record;
	const char *host_root; /* --host-root */
	uint64_t duration_ns;
	bool states;
	bool ladder;
	bool json;
	int npos;
	char **pos;
};

/*
 * Returns 0 to run, -1 once --help was printed (exit 0), or the exit status of
 * a usage error. Options that only a live trace can honour are usage errors
 * for replay; replay takes --netns and --cgroup as the numbers a recording holds.
 */
int trace_opts_parse(const struct trace_cmd *cmd, int argc, char **argv, struct cmd_opts *o);

struct run {
	struct tracker *trk; /* replay only: live runs have the session's */
	struct view *view;
	struct sf_filter filter;
};

/* The view of o (on stdout) and the filter; 0 or -ENOMEM. */
int run_init(struct run *r, struct cmd_opts *o);
/* The engine's callbacks into r; transitions only for --states. */
struct tracker_ops run_ops(struct run *r, const struct cmd_opts *o);
void run_fini(struct run *r);

/*
 * Buffers stdout as the view wants it; the caller hands what this returns to
 * restore_stdout, which flushes and puts stdout back to unbuffered.
 */
char *buffer_stdout(bool json, bool line_buffered);
void restore_stdout(char *buf);

#endif
