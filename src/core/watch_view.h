/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What synfin watch and synfin snapshot print, from the watch model: the
 * terminal table, the JSON lines (group, tick, alert) and the Prometheus text.
 * Pure: each writes into the text buffer it is handed.
 */
#ifndef SYNFIN_WATCH_VIEW_H
#define SYNFIN_WATCH_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "json.h"
#include "watch.h"

/* Writes out what b holds and empties it, for the next line. */
void watch_view_put(struct sf_sb *b, FILE *f);

/* "2024-05-01T12:00:00.123Z": the UTC time of an instant on the events' clock. */
void watch_view_time(char *buf, size_t len, uint64_t mono_ns, int64_t realtime_offset_ns);

/* What the last reconciliation did: the namespaces covered, those read, and its cost. */
struct watch_reconcile {
	size_t netns;
	size_t read;
	uint64_t sockets; /* in the namespaces read */
	double ms;
};

/* What the table's rows are: service ports (of each namespace), or sums by owner. */
enum watch_by {
	WATCH_BY_PORT,
	WATCH_BY_PROCESS,
	WATCH_BY_POD,
	WATCH_BY_CONTAINER,
	WATCH_BY_UNIT,
	WATCH_BY_NETNS,
};

/* "port", "process", "pod", "container", "unit", "netns" */
const char *watch_by_name(enum watch_by by);

/* An alert firing now, in the live terminal view's panel. */
struct watch_firing {
	const struct alert_rule *rule;
	const struct watch_group *group; /* where */
	size_t rule_index; /* its value now: group->alerts[rule_index].value */
	char since[80]; /* when it fired: "2024-05-01T12:00:00.123Z" */
	struct sf_owner own[4]; /* who holds the CLOSE_WAIT sockets (CLOSE_WAIT rules) */
	size_t nown;
};

/* The live terminal view: who holds the CLOSE_WAIT sockets of a row of the table. */
struct watch_row_owners {
	const struct watch_group *group;
	struct sf_owner own[3];
	size_t nown;
};

/* What one refresh of synfin watch shows. */
struct watch_frame {
	const char *ts;
	const struct watch_group *const *groups; /* most sockets first */
	size_t ngroups;
	const struct watch_proc_row *procs; /* --by process: most sockets first */
	size_t nprocs;
	size_t top; /* rows of the table */
	uint64_t lost; /* events the kernel could not queue */
	uint64_t missed; /* runs the kernel skipped and no twin recorded (recursion_misses) */
	size_t firing; /* alerts firing */
	const struct watch_reconcile *rec;
	/* the live terminal view (tty) only: the alerts firing, and CLOSE_WAIT owners per row */
	const struct watch_firing *alerts;
	size_t nalerts;
	const struct watch_row_owners *owners;
	size_t nowners;
	enum watch_by by; /* the table's rows; JSON always has one line per port and namespace */
	bool tty; /* clear the screen first, and no blank line after */
};

/* The table, or in JSON one group line per port and the tick line. */
void watch_view_frame(struct sf_sb *b, const struct watch_frame *f, bool json);

/*
 * The Prometheus text. Sockets, closes, handshake times and retransmits are
 * labelled by service port and the namespace and pod that own its network
 * namespace (where known); the label sets beyond the busiest max_series share
 * port="other", so there are at most (max_series + 1) x 10 socket series,
 * x 7 close series of unknown reason (plus one per close kind and reason
 * seen), x 13 handshake series and x 1 retransmit series.
 */
void watch_view_metrics(struct sf_sb *b, const struct watch_frame *f, size_t max_series);

/*
 * One line for an alert that fired or cleared; own: who holds the port's
 * CLOSE_WAIT sockets, NULL when they were not looked up.
 */
void watch_view_alert(struct sf_sb *b, const struct watch_alert_event *ev, const char *ts,
		      const struct sf_owner *own, size_t nown, bool json);

/*
 * synfin snapshot: the table's header, then one line per group; id names its
 * namespace; own NULL: no -p.
 */
void watch_view_snapshot_header(struct sf_sb *b, bool procs);
void watch_view_snapshot_group(struct sf_sb *b, const struct watch_sock_group *g,
			       const struct watch_ident *id, const struct sf_owner *own,
			       size_t nown, bool json);

#endif
