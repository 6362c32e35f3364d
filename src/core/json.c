// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

#define SB_MIN_GROWTH 16384

bool sf_sb_grow(struct sf_sb *b, size_t n)
{
	size_t ncap;
	char *np;

	if (b->fixed) {
		b->cut = true;
		return false;
	}
	ncap = (b->cap ? b->cap * 2 : SB_MIN_GROWTH) + n;
	np = realloc(b->p, ncap);
	if (!np) {
		b->cut = true;
		return false;
	}
	b->p = np;
	b->cap = ncap;
	return true;
}

void sf_sb_printf(struct sf_sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sf_sb_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sf_sb_reset(struct sf_sb *b)
{
	b->len = 0;
	b->cut = false;
	if (b->p && b->cap)
		b->p[0] = 0;
}

void sf_sb_free(struct sf_sb *b)
{
	if (!b->fixed)
		free(b->p);
	*b = (struct sf_sb){ 0 };
}

const char *sf_text_safe(const char *s, size_t max, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < max && s[i] && o + 5 <= len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != 0x7f) {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 15];
	}
	if (len)
		buf[o < len ? o : len - 1] = 0;
	return buf;
}

/* How a byte goes into a JSON string: as it is, after a backslash, as \u00XX; a NUL ends it. */
enum { ESC_NONE, ESC_BACKSLASH, ESC_HEX, ESC_END };

static const unsigned char json_esc[256] = {
	[0] = ESC_END,		[1 ... 0x1f] = ESC_HEX,	   ['"'] = ESC_BACKSLASH,
	['\\'] = ESC_BACKSLASH, [0x7f ... 0xff] = ESC_HEX,
};

static char *put_escaped(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (json_esc[c] == ESC_BACKSLASH) {
		*p++ = '\\';
		*p++ = (char)c;
		return p;
	}
	memcpy(p, "\\u00", 4);
	p[4] = hex[c >> 4];
	p[5] = hex[c & 15];
	return p + 6;
}

/* One table lookup per byte tells the plain ones, the escaped ones and the end. */
char *sf_json_put_str(char *p, const char *s, size_t max)
{
	*p++ = '"';
	for (size_t i = 0; i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (json_esc[c] == ESC_NONE) {
			*p++ = (char)c;
			continue;
		}
		if (json_esc[c] == ESC_END)
			break;
		p = put_escaped(p, c);
	}
	*p++ = '"';
	return p;
}

void sf_json_str(struct sf_sb *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (!sf_sb_reserve(b, SF_JSON_STR_MAX(n)))
		return;
	b->len = (size_t)(sf_json_put_str(b->p + b->len, s, n) - b->p);
	b->p[b->len] = 0;
}

void sf_json_key(struct sf_sb *b, const char *key)
{
	size_t n = strlen(key);
	char *p;

	/* the comma, the quotes, the colon */
	if (!sf_sb_reserve(b, n + 4))
		return;
	p = b->p + b->len;
	if (b->len && p[-1] != '{' && p[-1] != '[')
		*p++ = ',';
	*p++ = '"';
	memcpy(p, key, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	*p = 0;
	b->len = (size_t)(p - b->p);
}

void sf_json_kstr(struct sf_sb *b, const char *key, const char *s)
{
	sf_json_key(b, key);
	if (s)
		sf_json_str(b, s, SIZE_MAX);
	else
		sf_sb_puts(b, "null");
}

void sf_json_ku64(struct sf_sb *b, const char *key, uint64_t v)
{
	sf_json_key(b, key);
	sf_sb_printf(b, "%" PRIu64, v);
}

void sf_json_ki64(struct sf_sb *b, const char *key, int64_t v)
{
	sf_json_key(b, key);
	sf_sb_printf(b, "%" PRId64, v);
}

void sf_json_kbool(struct sf_sb *b, const char *key, bool v)
{
	sf_json_key(b, key);
	sf_sb_puts(b, v ? "true" : "false");
}

void sf_json_knull(struct sf_sb *b, const char *key)
{
	sf_json_key(b, key);
	sf_sb_puts(b, "null");
}

void sf_json_kdouble(struct sf_sb *b, const char *key, const char *fmt, double v)
{
	sf_json_key(b, key);
	if (!isfinite(v)) {
		sf_sb_puts(b, "null");
		return;
	}
	/* fmt is one of the caller's literals */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	sf_sb_printf(b, fmt, v);
#pragma GCC diagnostic pop
}
