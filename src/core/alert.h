/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Alert rules for synfin watch: "[port=N] [pod=NAME] [namespace=NS]
 * [container=NAME] [unit=NAME] [reason=R|reason!=R] METRIC OP VALUE
 * [for DURATION]", e.g. "port=8080 close_wait>10 for 30s", "pod=web-1
 * close_wait>10" or "resets_per_s>5 reason!=unread-data" (a reason selects
 * the closes the two close rates count). Evaluated
 * per service port of each network namespace (the workload selectors pick
 * the namespaces of a pod, a container or a unit); an
 * alert fires after the condition has held for DURATION and clears only when
 * the value is back 10% (at least 1) on the safe side, so it does not flap.
 * Pure: time is passed in.
 */
#ifndef SYNFIN_ALERT_H
#define SYNFIN_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "who.h"

enum alert_metric {
	/* 0 .. SF_TCP_MAX_STATES-1: the socket count in that TCP state */
	ALERT_CLOSE_WAIT_AGE = 100, /* seconds, the oldest CLOSE_WAIT */
	ALERT_OPENS_PER_S,
	ALERT_CLOSES_PER_S,
	ALERT_RESETS_PER_S,
};

enum alert_op {
	ALERT_GT,
	ALERT_GE,
	ALERT_LT,
	ALERT_LE,
};

struct alert_rule {
	char text[160];
	bool has_port;
	uint16_t port;
	struct sf_who_select who; /* pod=, namespace=, container=, unit= */
	bool has_reason; /* closes_per_s, resets_per_s: count only closes whose */
	bool reason_ne; /* reason is (reason=) or is not (reason!=) this one */
	uint8_t reason; /* SF_REASON_*; NONE: not known */
	int metric;
	enum alert_op op;
	double threshold;
	uint64_t for_ns;
};

int alert_parse(const char *text, struct alert_rule *r, char *err, size_t errlen);
const char *alert_metric_name(int metric);
/* Whether a close with this reason counts for the rule (always without reason=). */
bool alert_reason_counts(const struct alert_rule *r, unsigned int reason);

/* Where one rule stands for one port. */
struct alert_inst {
	uint16_t port;
	bool firing;
	uint64_t pending_since; /* condition true since; 0: not now */
	double value;
	uint64_t prev_count; /* rules with a reason: the closes counted at the last tick */
};

enum alert_change {
	ALERT_NONE,
	ALERT_FIRED,
	ALERT_CLEARED,
};

/*
 * Feeds one observation of the rule's metric for one port at now_ns; says
 * whether the alert fired or cleared. ignore_for: judge at once (--once).
 */
enum alert_change alert_step(const struct alert_rule *r, struct alert_inst *inst, double value,
			     uint64_t now_ns, bool ignore_for);

#endif
