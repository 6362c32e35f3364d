// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wholog.h"

struct answer {
	uint64_t cgroup_id;
	uint32_t netns;
	uint64_t ts_ns;
	struct sf_workload w;
};

struct wholog {
	struct answer *v; /* by owner, then time */
	size_t n;
};

static const struct sf_workload none;

static size_t put_field(char *buf, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;

	buf[k++] = '\t';
	for (; *s && k + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > ' ' && c != 0x7f && c != '\\') {
			buf[k++] = (char)c;
			continue;
		}
		buf[k++] = '\\';
		buf[k++] = 'x';
		buf[k++] = hex[c >> 4];
		buf[k++] = hex[c & 15];
	}
	return k;
}

size_t wholog_line(char *buf, size_t len, uint64_t cgroup_id, uint32_t netns, uint64_t ts_ns,
		   const struct sf_workload *w)
{
	const char *f[] = { w->ns, w->pod, w->container, w->container_id, w->unit };
	size_t k;

	if (len < SF_WHOLOG_LINE_MAX)
		return 0;
	k = (size_t)snprintf(buf, len, "%llu %u %llu", (unsigned long long)cgroup_id, netns,
			     (unsigned long long)ts_ns);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		k += put_field(buf + k, len - k, f[i]);
	buf[k++] = '\n';
	buf[k] = 0;
	return k;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One escaped field of [s, end) into out[len]: false when malformed or too long. */
static bool get_field(const char *s, const char *end, char *out, size_t len)
{
	size_t k = 0;

	for (; s < end; s++) {
		char c = *s;

		if (c == '\\') {
			if (end - s < 4 || s[1] != 'x' || unhex(s[2]) < 0 || unhex(s[3]) < 0)
				return false;
			c = (char)(unhex(s[2]) << 4 | unhex(s[3]));
			s += 3;
		}
		if (k + 1 >= len)
			return false;
		out[k++] = c;
	}
	out[k] = 0;
	return true;
}

/* One line (without its newline) into a: false when malformed. */
static bool parse_line(const char *s, const char *end, struct answer *a)
{
	char *f[] = { a->w.ns, a->w.pod, a->w.container, a->w.container_id, a->w.unit };
	const size_t lens[] = { sizeof(a->w.ns), sizeof(a->w.pod), sizeof(a->w.container),
				sizeof(a->w.container_id), sizeof(a->w.unit) };
	const char *tab = memchr(s, '\t', (size_t)(end - s));
	size_t hlen = (size_t)((tab ? tab : end) - s);
	unsigned long long cg, ts;
	char head[80];
	unsigned int ns;
	int used = 0;

	memset(a, 0, sizeof(*a));
	/* the numbers on their own: the line is not NUL-terminated, sscanf needs it */
	if (hlen >= sizeof(head))
		return false;
	memcpy(head, s, hlen);
	head[hlen] = 0;
	if (sscanf(head, "%llu %u %llu%n", &cg, &ns, &ts, &used) != 3 || (size_t)used != hlen)
		return false;
	a->cgroup_id = cg;
	a->netns = ns;
	a->ts_ns = ts;
	s += used;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *next;

		if (s >= end || *s != '\t')
			return false;
		next = memchr(s + 1, '\t', (size_t)(end - s - 1));
		next = next ? next : end;
		if (!get_field(s + 1, next, f[i], lens[i]))
			return false;
		s = next;
	}
	return s == end;
}

static int cmp_answer(const void *x, const void *y)
{
	const struct answer *a = x, *b = y;

	if (a->cgroup_id != b->cgroup_id)
		return a->cgroup_id < b->cgroup_id ? -1 : 1;
	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	return (a->ts_ns > b->ts_ns) - (a->ts_ns < b->ts_ns);
}

static size_t count_lines(const char *s, const char *end)
{
	size_t n = 0;

	for (; s < end; s++)
		n += *s == '\n';
	return n;
}

int wholog__parse(struct wholog **out, const char *text, size_t len, char *err, size_t errlen)
{
	const char *s = text, *end = text + len, *nl;
	size_t magic = strlen(SF_WHOLOG_MAGIC), line = 1;
	struct wholog *l;

	if (len < magic || memcmp(text, SF_WHOLOG_MAGIC, magic)) {
		snprintf(err, errlen, "not a synfin names file");
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->v = calloc(count_lines(s, end) + 1, sizeof(*l->v)))) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* a run killed while it wrote may leave its last line without its newline */
	for (s += magic; (nl = memchr(s, '\n', (size_t)(end - s))); s = nl + 1) {
		line++;
		if (!parse_line(s, nl, &l->v[l->n++])) {
			snprintf(err, errlen, "line %zu is malformed", line);
			wholog__free(l);
			return -EINVAL;
		}
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_answer);
	*out = l;
	return 0;
}

/* The first answer for (cgroup_id, netns) or after it, in l->v sorted by owner and time. */
static size_t lower_bound(const struct wholog *l, uint64_t cgroup_id, uint32_t netns)
{
	struct answer key = { .cgroup_id = cgroup_id, .netns = netns };
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_answer(&l->v[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct sf_workload *wholog__at(const struct wholog *l, uint64_t cgroup_id, uint32_t netns,
				     uint64_t ts_ns)
{
	const struct sf_workload *w = &none;

	if (!l)
		return w;
	/* the last answer given by ts_ns, or the first one when it came later */
	for (size_t i = lower_bound(l, cgroup_id, netns); i < l->n; i++) {
		const struct answer *a = &l->v[i];

		if (a->cgroup_id != cgroup_id || a->netns != netns)
			break;
		if (w == &none || a->ts_ns <= ts_ns)
			w = &a->w;
	}
	return w;
}

void wholog__free(struct wholog *l)
{
	if (!l)
		return;
	free(l->v);
	free(l);
}
