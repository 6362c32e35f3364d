// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expect.h"
#include "names.h"
#include "parse.h"
#include "who.h"

enum expect_key {
	K_ROLE,
	K_PORT,
	K_LPORT,
	K_RPORT,
	K_FAMILY,
	K_CLOSE,
	K_CLOSER,
	K_REASON,
	K_TIME_WAIT,
	K_HANDSHAKE_US,
	K_ALIVE,
	K_HALF_CLOSE,
	K_LAST_STATE,
	K_COUNT,
	K_POD,
	K_NAMESPACE,
	K_CONTAINER,
	K_UNIT,
	K_NKEYS,
};

enum value_kind {
	V_NUMBER,
	V_ENUM,
	V_WHO, /* a workload's name: max is its enum sf_who_key */
};

struct key_def {
	const char *name;
	bool selector;
	enum value_kind kind;
	uint64_t max;
	const struct sf_names *names; /* V_ENUM: value i is names->names[i] */
};

static const char *const family_list[] = { "ipv4", "ipv6" };
static const char *const yesno_list[] = { "no", "yes" };
static const struct sf_names families = { family_list, 2 };
static const struct sf_names yesno = { yesno_list, 2 };

#define ENUM(t) V_ENUM, 0, &t

static const struct key_def keys[K_NKEYS] = {
	[K_ROLE] = { "role", true, ENUM(sf_role_names) },
	[K_PORT] = { "port", true, V_NUMBER, 65535 },
	[K_LPORT] = { "lport", true, V_NUMBER, 65535 },
	[K_RPORT] = { "rport", true, V_NUMBER, 65535 },
	[K_FAMILY] = { "family", true, ENUM(families) },
	[K_CLOSE] = { "close", false, ENUM(sf_close_names) },
	[K_CLOSER] = { "closer", false, ENUM(sf_closer_names) },
	[K_REASON] = { "reason", false, ENUM(sf_reason_names) },
	[K_TIME_WAIT] = { "time_wait", false, ENUM(yesno) },
	[K_HANDSHAKE_US] = { "handshake_us", false, V_NUMBER, UINT64_MAX },
	[K_ALIVE] = { "alive", false, ENUM(yesno) },
	[K_HALF_CLOSE] = { "half_close", false, ENUM(yesno) },
	[K_LAST_STATE] = { "last_state", false, ENUM(sf_state_names) },
	[K_COUNT] = { "count", false, V_NUMBER, UINT64_MAX },
	[K_POD] = { "pod", true, V_WHO, SF_WHO_POD },
	[K_NAMESPACE] = { "namespace", true, V_WHO, SF_WHO_NAMESPACE },
	[K_CONTAINER] = { "container", true, V_WHO, SF_WHO_CONTAINER },
	[K_UNIT] = { "unit", true, V_WHO, SF_WHO_UNIT },
};

static const char *const op_names[] = { "=", "!=", ">=", "<=" };

const char *expect_op_name(enum expect_op op)
{
	return op_names[op];
}

static void list_keys(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; i < K_NKEYS && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", keys[i].name);
}

#define OP_NONE -1
#define OP_BAD -2

/* The operator p starts with: EXPECT_*, OP_NONE, or OP_BAD for a '<', '>' or '!' of none. */
static int op_at(const char *p)
{
	if (p[0] == '!' && p[1] == '=')
		return EXPECT_NE;
	if (p[0] == '>' && p[1] == '=')
		return EXPECT_GE;
	if (p[0] == '<' && p[1] == '=')
		return EXPECT_LE;
	if (p[0] == '=')
		return EXPECT_EQ;
	if (p[0] == '<' || p[0] == '>' || p[0] == '!')
		return OP_BAD;
	return OP_NONE;
}

/*
 * The first operator in tok, which splits key from value: its position, or
 * NULL with err filled.
 */
static const char *find_op(const char *tok, int *op, char *err, size_t errlen)
{
	const char *p = tok;

	while (*p && (*op = op_at(p)) == OP_NONE)
		p++;
	if (!*p) {
		snprintf(err, errlen, "'%s' is not KEY=VALUE (operators: =, !=, >=, <=)", tok);
		return NULL;
	}
	if (*op == OP_BAD) {
		snprintf(err, errlen, "bad operator in '%s' (use =, !=, >= or <=)", tok);
		return NULL;
	}
	return p;
}

/* The key tok starts with, klen bytes long; -EINVAL with err filled when none. */
static int find_key(const char *tok, size_t klen, int *key, char *err, size_t errlen)
{
	char name[32], list[512];

	if (klen == 0 || klen >= sizeof(name)) {
		snprintf(err, errlen, "'%s' has no key", tok);
		return -EINVAL;
	}
	memcpy(name, tok, klen);
	name[klen] = 0;
	for (int i = 0; i < K_NKEYS; i++) {
		if (!strcmp(keys[i].name, name)) {
			*key = i;
			return 0;
		}
	}
	list_keys(list, sizeof(list));
	snprintf(err, errlen, "unknown key '%s' (valid keys: %s)", name, list);
	return -EINVAL;
}

static int parse_enum_value(const struct key_def *k, const char *val, struct expect_cond *c,
			    char *err, size_t errlen)
{
	char list[512];

	if (c->op != EXPECT_EQ && c->op != EXPECT_NE) {
		snprintf(err, errlen, "%s takes = or !=, not %s", k->name, op_names[c->op]);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < k->names->n; i++) {
		if (!strcmp(k->names->names[i], val)) {
			c->value = i;
			return 0;
		}
	}
	sf_names_list(k->names, list, sizeof(list));
	snprintf(err, errlen, "invalid value '%s' for %s (valid: %s)", val, k->name, list);
	return -EINVAL;
}

static int parse_number_value(const struct key_def *k, const char *val, struct expect_cond *c,
			      char *err, size_t errlen)
{
	if (sf_parse_u64(val, k->max, &c->value)) {
		snprintf(err, errlen, "invalid value '%s' for %s (a number up to %llu)", val,
			 k->name, (unsigned long long)k->max);
		return -EINVAL;
	}
	return 0;
}

static int parse_who_value(const struct key_def *k, const char *val, struct expect_cond *c,
			   char *err, size_t errlen)
{
	struct sf_who_select sel = { 0 };

	if (c->op != EXPECT_EQ && c->op != EXPECT_NE) {
		snprintf(err, errlen, "%s takes = or !=, not %s", k->name, op_names[c->op]);
		return -EINVAL;
	}
	if (sf_who_select_set(&sel, (enum sf_who_key)k->max, val, err, errlen))
		return -EINVAL;
	snprintf(c->name, sizeof(c->name), "%s", val);
	return 0;
}

static int parse_cond(const char *tok, struct expect_cond *c, char *err, size_t errlen)
{
	const struct key_def *k;
	const char *opp, *val;
	int op;

	opp = find_op(tok, &op, err, errlen);
	if (!opp)
		return -EINVAL;
	if (find_key(tok, (size_t)(opp - tok), &c->key, err, errlen))
		return -EINVAL;
	k = &keys[c->key];
	c->op = op;
	val = opp + strlen(op_names[op]);
	if (k->kind == V_ENUM)
		return parse_enum_value(k, val, c, err, errlen);
	if (k->kind == V_WHO)
		return parse_who_value(k, val, c, err, errlen);
	return parse_number_value(k, val, c, err, errlen);
}

int expect_parse(const char *text, struct expect *x, char *err, size_t errlen)
{
	const char *p = text;
	size_t off = 0;

	memset(x, 0, sizeof(*x));
	while (*p) {
		char tok[128];
		size_t n = 0;
		int ret;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (p[n] && p[n] != ' ' && p[n] != '\t')
			n++;
		if (n >= sizeof(tok)) {
			snprintf(err, errlen, "condition too long: '%.40s...'", p);
			return -EINVAL;
		}
		memcpy(tok, p, n);
		tok[n] = 0;
		p += n;
		if (x->nconds == EXPECT_MAX_CONDS) {
			snprintf(err, errlen, "more than %d conditions in one expectation",
				 EXPECT_MAX_CONDS);
			return -EINVAL;
		}
		ret = parse_cond(tok, &x->conds[x->nconds], err, errlen);
		if (ret)
			return ret;
		if (x->conds[x->nconds].key == K_COUNT) {
			if (x->has_count) {
				snprintf(err, errlen, "count is given twice");
				return -EINVAL;
			}
			x->has_count = true;
			x->count = x->conds[x->nconds];
		} else {
			x->nconds++;
		}
		if (off < sizeof(x->text))
			off += snprintf(x->text + off, sizeof(x->text) - off, "%s%s",
					off ? " " : "", tok);
	}
	if (!off) {
		snprintf(err, errlen, "empty expectation");
		return -EINVAL;
	}
	if (!x->has_count)
		x->count = (struct expect_cond){ K_COUNT, EXPECT_GE, 1 };
	return 0;
}

static bool cmp(enum expect_op op, uint64_t have, uint64_t want)
{
	switch (op) {
	case EXPECT_EQ:
		return have == want;
	case EXPECT_NE:
		return have != want;
	case EXPECT_GE:
		return have >= want;
	case EXPECT_LE:
		return have <= want;
	}
	return false;
}

/* The value a key has on an endpoint; false when it has none (an unknown handshake). */
static bool key_value(int key, const struct sf_lifecycle *lc, uint64_t *v)
{
	switch (key) {
	case K_ROLE:
		*v = lc->role;
		return true;
	case K_LPORT:
		*v = lc->lport;
		return true;
	case K_RPORT:
		*v = lc->rport;
		return true;
	case K_FAMILY:
		*v = lc->family == 10;
		return true;
	case K_CLOSE:
		*v = lc->close;
		return true;
	case K_CLOSER:
		*v = lc->closer;
		return true;
	case K_REASON:
		*v = lc->reason;
		return true;
	case K_TIME_WAIT:
		*v = lc->time_wait;
		return true;
	case K_HANDSHAKE_US:
		*v = (uint64_t)lc->handshake_us;
		return lc->handshake_us >= 0;
	case K_ALIVE:
		*v = lc->alive;
		return true;
	case K_HALF_CLOSE:
		*v = lc->half_close;
		return true;
	case K_LAST_STATE:
		*v = lc->last_state;
		return true;
	default:
		return false;
	}
}

/* pod=, namespace=, container=, unit=: an endpoint whose workload is unknown is no pod */
static bool who_holds(const struct expect_cond *c, const struct sf_lifecycle *lc)
{
	struct sf_who_select sel = { 0 };
	const struct sf_workload *w = sf_who(lc->cgroup_id, lc->netns, lc->end_ns);
	bool match;

	snprintf(sel.v[keys[c->key].max], sizeof(sel.v[0]), "%s", c->name);
	match = sf_who_match(&sel, w);
	return c->op == EXPECT_EQ ? match : !match;
}

static bool cond_holds(const struct expect_cond *c, const struct sf_lifecycle *lc)
{
	uint64_t v;

	if (keys[c->key].kind == V_WHO)
		return who_holds(c, lc);
	if (c->key == K_PORT) {
		bool l = cmp(c->op, lc->lport, c->value), r = cmp(c->op, lc->rport, c->value);

		/* "port!=80": neither end is 80; otherwise either end will do */
		return c->op == EXPECT_NE ? l && r : l || r;
	}
	return key_value(c->key, lc, &v) && cmp(c->op, v, c->value);
}

void expect_eval(const struct expect *x, const struct sf_lifecycle *lcs, size_t n,
		 struct expect_result *res, size_t *violators, size_t max)
{
	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < n; i++) {
		bool selected = true, ok = true;

		for (int c = 0; c < x->nconds && selected; c++)
			if (keys[x->conds[c].key].selector && !cond_holds(&x->conds[c], &lcs[i]))
				selected = false;
		if (!selected)
			continue;
		res->matched++;
		for (int c = 0; c < x->nconds && ok; c++)
			if (!keys[x->conds[c].key].selector && !cond_holds(&x->conds[c], &lcs[i]))
				ok = false;
		if (ok)
			continue;
		if (violators && res->nviolators < max)
			violators[res->nviolators] = i;
		res->nviolators++;
	}
	res->count_ok = cmp(x->count.op, res->matched, x->count.value);
	res->pass = res->count_ok && !res->nviolators;
}

static size_t describe_value(int key, const struct sf_lifecycle *lc, char *buf, size_t len)
{
	const struct key_def *k = &keys[key];
	uint64_t v;

	if (!key_value(key, lc, &v))
		return snprintf(buf, len, "unknown");
	if (k->kind == V_ENUM && v < (uint64_t)k->names->n)
		return snprintf(buf, len, "%s", k->names->names[v]);
	return snprintf(buf, len, "%llu", (unsigned long long)v);
}

size_t expect_describe(const struct expect *x, const struct sf_lifecycle *lc, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int c = 0; c < x->nconds && off < len; c++) {
		const struct expect_cond *cond = &x->conds[c];
		const struct key_def *k = &keys[cond->key];
		char want[32];

		if (k->selector || cond_holds(cond, lc))
			continue;
		off += snprintf(buf + off, len - off, "%s%s=", off ? ", " : "", k->name);
		if (off < len)
			off += describe_value(cond->key, lc, buf + off, len - off);
		if (k->kind == V_ENUM)
			snprintf(want, sizeof(want), "%s", k->names->names[cond->value]);
		else
			snprintf(want, sizeof(want), "%llu", (unsigned long long)cond->value);
		if (off < len)
			off += snprintf(buf + off, len - off, " (want %s%s)",
					cond->op == EXPECT_EQ ? "" : op_names[cond->op], want);
	}
	return off < len ? off : len - 1;
}
