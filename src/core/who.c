// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "who.h"

static sf_workload_fn resolver;
static void *resolver_ctx;

void sf_who_resolver(sf_workload_fn fn, void *ctx)
{
	resolver = fn;
	resolver_ctx = ctx;
}

bool sf_who_resolving(void)
{
	return resolver;
}

const struct sf_workload *sf_who(uint64_t cgroup_id, uint32_t netns, uint64_t ts_ns)
{
	return resolver ? resolver(resolver_ctx, cgroup_id, netns, ts_ns) : NULL;
}

static void kstr_or_null(struct sf_sb *b, const char *key, const char *s, size_t max)
{
	sf_json_key(b, key);
	if (s && s[0])
		sf_json_str(b, s, max);
	else
		sf_sb_puts(b, "null");
}

/* Whether w names nothing sf_who_json prints: the common case, written as one literal. */
static bool names_nothing(const struct sf_workload *w)
{
	return !w ||
	       (!w->ns[0] && !w->pod[0] && !w->container[0] && !w->container_id[0] && !w->unit[0]);
}

void sf_who_json(struct sf_sb *b, const struct sf_workload *w)
{
	if (names_nothing(w)) {
		sf_json_knull(b, "namespace");
		sf_sb_puts(b,
			   ",\"pod\":null,\"container\":null,\"container_id\":null,\"unit\":null");
		return;
	}
	kstr_or_null(b, "namespace", w ? w->ns : NULL, SIZE_MAX);
	kstr_or_null(b, "pod", w ? w->pod : NULL, SIZE_MAX);
	kstr_or_null(b, "container", w ? w->container : NULL, SIZE_MAX);
	kstr_or_null(b, "container_id", w ? w->container_id : NULL, SF_CONTAINER_ID_SHORT);
	kstr_or_null(b, "unit", w ? w->unit : NULL, SIZE_MAX);
}

const char *sf_who_label(const struct sf_workload *w, char *buf, size_t len)
{
	char raw[400];

	if (w)
		sf_workload_label(w, raw, sizeof(raw));
	else
		snprintf(raw, sizeof(raw), "-");
	return sf_text_safe(raw, sizeof(raw), buf, len);
}

static const char *const key_names[SF_WHO_NKEYS] = { "namespace", "pod", "container", "unit" };

/* The longest value each field of struct sf_workload can hold. */
static const size_t key_max[SF_WHO_NKEYS] = { 63, 255, 127, 255 };

const char *sf_who_key_name(enum sf_who_key k)
{
	return key_names[k];
}

static bool plain_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int sf_who_select_set(struct sf_who_select *s, enum sf_who_key k, const char *value, char *err,
		      size_t errlen)
{
	if (s->v[k][0]) {
		snprintf(err, errlen, "%s= is given twice", key_names[k]);
		return -EINVAL;
	}
	/* pod=NAMESPACE/NAME holds both */
	if (!plain_name(value) || strlen(value) > key_max[k] + (k == SF_WHO_POD ? 64 : 0)) {
		snprintf(err, errlen, "invalid %s '%s' (a name, at most %zu characters)",
			 key_names[k], value, key_max[k]);
		return -EINVAL;
	}
	snprintf(s->v[k], sizeof(s->v[k]), "%s", value);
	return 0;
}

/* The selector tok ("pod=web-1") names, or SF_WHO_NKEYS. */
static int key_of(const char *tok)
{
	const char *eq = strchr(tok, '=');
	int k;

	for (k = 0; eq && k < SF_WHO_NKEYS; k++)
		if ((size_t)(eq - tok) == strlen(key_names[k]) &&
		    !strncmp(tok, key_names[k], (size_t)(eq - tok)))
			break;
	return eq ? k : SF_WHO_NKEYS;
}

bool sf_who_is_selector(const char *tok)
{
	return key_of(tok) < SF_WHO_NKEYS;
}

int sf_who_select_parse(struct sf_who_select *s, const char *tok, char *err, size_t errlen)
{
	int k = key_of(tok);

	if (k == SF_WHO_NKEYS)
		return -ENOENT;
	return sf_who_select_set(s, k, strchr(tok, '=') + 1, err, errlen);
}

bool sf_who_select_any(const struct sf_who_select *s)
{
	for (int k = 0; k < SF_WHO_NKEYS; k++)
		if (s->v[k][0])
			return true;
	return false;
}

static bool pod_matches(const char *want, const struct sf_workload *w)
{
	const char *slash = strchr(want, '/');

	if (!w->pod[0])
		return false;
	if (!slash)
		return !strcmp(want, w->pod);
	return (size_t)(slash - want) == strlen(w->ns) && !strncmp(want, w->ns, strlen(w->ns)) &&
	       !strcmp(slash + 1, w->pod);
}

static bool container_matches(const char *want, const struct sf_workload *w)
{
	size_t n = strlen(want);

	if (w->container[0] && !strcmp(want, w->container))
		return true;
	return n >= SF_CONTAINER_ID_SHORT && w->container_id[0] &&
	       !strncmp(want, w->container_id, n);
}

bool sf_who_match(const struct sf_who_select *s, const struct sf_workload *w)
{
	if (!sf_who_select_any(s))
		return true;
	if (!w)
		return false;
	if (s->v[SF_WHO_NAMESPACE][0] && (!w->ns[0] || strcmp(s->v[SF_WHO_NAMESPACE], w->ns)))
		return false;
	if (s->v[SF_WHO_POD][0] && !pod_matches(s->v[SF_WHO_POD], w))
		return false;
	if (s->v[SF_WHO_CONTAINER][0] && !container_matches(s->v[SF_WHO_CONTAINER], w))
		return false;
	return !s->v[SF_WHO_UNIT][0] || (w->unit[0] && !strcmp(s->v[SF_WHO_UNIT], w->unit));
}

void sf_who_select_text(const struct sf_who_select *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int k = 0; k < SF_WHO_NKEYS && off < len; k++)
		if (s->v[k][0])
			off += snprintf(buf + off, len - off, "%s%s=%s", off ? " " : "",
					key_names[k], s->v[k]);
}
