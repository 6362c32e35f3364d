// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alert.h"
#include "names.h"
#include "parse.h"

/* the metrics of a rule besides the watched states, which go by their labels */
static const struct {
	const char *name;
	int metric;
} metrics[] = {
	{ "close_wait_age", ALERT_CLOSE_WAIT_AGE },
	{ "opens_per_s", ALERT_OPENS_PER_S },
	{ "closes_per_s", ALERT_CLOSES_PER_S },
	{ "resets_per_s", ALERT_RESETS_PER_S },
};

#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

const char *alert_metric_name(int metric)
{
	for (size_t i = 0; i < sf_nwatched_states; i++)
		if (sf_watched_states[i] == metric)
			return sf_state_label(metric);
	for (size_t i = 0; i < NMETRICS; i++)
		if (metrics[i].metric == metric)
			return metrics[i].name;
	return "?";
}

/* The metric named s, or -1. */
static int find_metric(const char *s)
{
	for (size_t i = 0; i < sf_nwatched_states; i++)
		if (!strcmp(sf_state_label(sf_watched_states[i]), s))
			return sf_watched_states[i];
	for (size_t i = 0; i < NMETRICS; i++)
		if (!strcmp(metrics[i].name, s))
			return metrics[i].metric;
	return -1;
}

/* A duration up to a year, the one syntax of every time synfin takes. */
static int parse_duration(const char *s, uint64_t *ns)
{
	return sf_parse_duration(s, 0, SF_DURATION_MAX_NS, ns);
}

static void list_metrics(char *buf, size_t len)
{
	size_t off = 0;

	for (size_t i = 0; i < sf_nwatched_states && off < len; i++)
		off += snprintf(buf + off, len - off, "%s, ", sf_state_label(sf_watched_states[i]));
	for (size_t i = 0; i < NMETRICS && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", metrics[i].name);
}

static int parse_condition(const char *tok, struct alert_rule *r, char *err, size_t errlen)
{
	static const char *const ops[] = { ">=", "<=", ">", "<" };
	static const enum alert_op codes[] = { ALERT_GE, ALERT_LE, ALERT_GT, ALERT_LT };
	char name[64], list[400];
	const char *p = NULL;
	size_t i, op;

	for (i = 0; tok[i] && !p; i++)
		for (op = 0; op < 4 && !p; op++)
			if (!strncmp(tok + i, ops[op], strlen(ops[op])))
				p = tok + i;
	if (!p) {
		snprintf(err, errlen, "'%s' is not METRIC>VALUE (operators: >, >=, <, <=)", tok);
		return -EINVAL;
	}
	for (op = 0; strncmp(p, ops[op], strlen(ops[op])); op++)
		;
	if ((size_t)(p - tok) >= sizeof(name) || p == tok) {
		snprintf(err, errlen, "'%s' has no metric", tok);
		return -EINVAL;
	}
	memcpy(name, tok, p - tok);
	name[p - tok] = 0;
	r->op = codes[op];
	r->metric = find_metric(name);
	if (r->metric < 0) {
		list_metrics(list, sizeof(list));
		snprintf(err, errlen, "unknown metric '%s' (valid: %s)", name, list);
		return -EINVAL;
	}
	p += strlen(ops[op]);
	if (r->metric == ALERT_CLOSE_WAIT_AGE) {
		uint64_t ns;

		if (parse_duration(p, &ns)) {
			snprintf(err, errlen, "invalid age '%s' (e.g. 30s, 5m, 500ms)", p);
			return -EINVAL;
		}
		r->threshold = (double)ns / SF_NS_PER_S;
	} else {
		char *end;

		errno = 0;
		r->threshold = strtod(p, &end);
		if (errno || end == p || *end || r->threshold < 0 || !isfinite(r->threshold)) {
			snprintf(err, errlen, "invalid value '%s' for %s (a number)", p, name);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_port(const char *tok, struct alert_rule *r, char *err, size_t errlen)
{
	if (r->has_port || sf_parse_port(tok + strlen("port="), &r->port)) {
		snprintf(err, errlen, "invalid '%s' (port=1..65535, once)", tok);
		return -EINVAL;
	}
	r->has_port = true;
	return 0;
}

/* tok: "reason=NAME" or "reason!=NAME", NAME a reason or "none" (not known) */
static int parse_reason(const char *tok, struct alert_rule *r, char *err, size_t errlen)
{
	const char *name = tok + strlen("reason");
	char list[300];
	int reason;

	r->reason_ne = name[0] == '!';
	name += r->reason_ne ? 2 : 1;
	reason = sf_names_find(&sf_reason_names, name);
	if (r->has_reason || reason < 0) {
		sf_names_list(&sf_reason_names, list, sizeof(list));
		snprintf(err, errlen, "invalid '%s' (reason=NAME or reason!=NAME, once; NAME: %s)",
			 tok, list);
		return -EINVAL;
	}
	r->has_reason = true;
	r->reason = reason;
	return 0;
}

static bool is_reason(const char *tok)
{
	return !strncmp(tok, "reason=", 7) || !strncmp(tok, "reason!=", 8);
}

/* A reason selects closes: only the close rates count closes. */
static int check_reason(const struct alert_rule *r, char *err, size_t errlen)
{
	if (!r->has_reason || r->metric == ALERT_CLOSES_PER_S || r->metric == ALERT_RESETS_PER_S)
		return 0;
	snprintf(err, errlen, "reason= applies to closes_per_s and resets_per_s, not %s",
		 alert_metric_name(r->metric));
	return -EINVAL;
}

bool alert_reason_counts(const struct alert_rule *r, unsigned int reason)
{
	if (!r->has_reason)
		return true;
	return (reason == r->reason) != r->reason_ne;
}

/* tok: what follows "for" */
static int parse_hold(const char *tok, struct alert_rule *r, char *err, size_t errlen)
{
	if (!tok || r->for_ns || parse_duration(tok, &r->for_ns)) {
		snprintf(err, errlen, "'for' needs one duration up to a year (e.g. for 30s)");
		return -EINVAL;
	}
	return 0;
}

int alert_parse(const char *text, struct alert_rule *r, char *err, size_t errlen)
{
	char buf[160], *save = NULL, *tok;
	bool have_cond = false;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "alert rule too long");
		return -EINVAL;
	}
	strcpy(buf, text);
	for (tok = strtok_r(buf, " \t", &save); tok && !ret; tok = strtok_r(NULL, " \t", &save)) {
		if (!strncmp(tok, "port=", 5)) {
			ret = parse_port(tok, r, err, errlen);
		} else if (is_reason(tok)) {
			ret = parse_reason(tok, r, err, errlen);
		} else if (sf_who_is_selector(tok)) {
			ret = sf_who_select_parse(&r->who, tok, err, errlen);
		} else if (!strcmp(tok, "for")) {
			ret = parse_hold(strtok_r(NULL, " \t", &save), r, err, errlen);
		} else if (!have_cond) {
			ret = parse_condition(tok, r, err, errlen);
			have_cond = true;
		} else {
			snprintf(
				err, errlen,
				"unexpected '%s' (a rule is [port=N] [pod=NAME] [reason=R] METRIC>VALUE [for 30s])",
				tok);
			ret = -EINVAL;
		}
	}
	if (ret)
		return ret;
	if (!have_cond) {
		snprintf(err, errlen, "'%s' has no condition (e.g. close_wait>10)", text);
		return -EINVAL;
	}
	ret = check_reason(r, err, errlen);
	if (ret)
		return ret;
	snprintf(r->text, sizeof(r->text), "%s", text);
	return 0;
}

static bool holds(enum alert_op op, double v, double t)
{
	switch (op) {
	case ALERT_GT:
		return v > t;
	case ALERT_GE:
		return v >= t;
	case ALERT_LT:
		return v < t;
	case ALERT_LE:
		return v <= t;
	}
	return false;
}

/* Back on the safe side of the threshold by 10%, and by at least 1. */
static bool cleared(const struct alert_rule *r, double v)
{
	double margin = fmax(fabs(r->threshold) * 0.1, 1.0);

	if (r->metric == ALERT_CLOSE_WAIT_AGE)
		margin = fabs(r->threshold) * 0.1;
	if (r->op == ALERT_GT || r->op == ALERT_GE)
		return v < r->threshold - margin || (v == 0 && r->threshold <= margin);
	return v > r->threshold + margin;
}

enum alert_change alert_step(const struct alert_rule *r, struct alert_inst *inst, double value,
			     uint64_t now_ns, bool ignore_for)
{
	inst->value = value;
	if (inst->firing) {
		if (!cleared(r, value))
			return ALERT_NONE;
		inst->firing = false;
		inst->pending_since = 0;
		return ALERT_CLEARED;
	}
	if (!holds(r->op, value, r->threshold)) {
		inst->pending_since = 0;
		return ALERT_NONE;
	}
	if (!inst->pending_since)
		inst->pending_since = now_ns ? now_ns : 1;
	if (!ignore_for && now_ns - inst->pending_since < r->for_ns)
		return ALERT_NONE;
	inst->firing = true;
	return ALERT_FIRED;
}
