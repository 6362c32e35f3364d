/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one text buffer every formatter writes into (growing, or bounded in a
 * caller's buffer), and the one JSON writer on top of it. The fast lifecycle
 * writer in view.c writes through sf_json_put_str, so every JSON string synfin
 * prints is escaped by the same code: '"' and '\' with a backslash, every byte
 * below 0x20 or from 0x7f as \u00XX.
 */
#ifndef SYNFIN_JSON_H
#define SYNFIN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sf_sb {
	char *p;
	size_t len;
	size_t cap;
	bool fixed; /* the caller's buffer: what does not fit is cut, never reallocated */
	bool cut; /* something was cut (fixed) or memory ran out (growing) */
};

/* A bounded buffer over buf[size]; it always stays NUL-terminated. */
#define SF_SB_FIXED(buf, size) ((struct sf_sb){ .p = (buf), .cap = (size), .fixed = true })

void sf_sb_printf(struct sf_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The slow side of sf_sb_reserve: grows a growing buffer, or marks it cut. */
bool sf_sb_grow(struct sf_sb *b, size_t n);

/* Room for n more bytes and the NUL; false when there is none. */
static inline bool sf_sb_reserve(struct sf_sb *b, size_t n)
{
	return b->len + n < b->cap || sf_sb_grow(b, n);
}

/* inline: a literal's length is known where it is written, and so is its copy */
static inline void sf_sb_put(struct sf_sb *b, const char *s, size_t n)
{
	if (!sf_sb_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static inline void sf_sb_puts(struct sf_sb *b, const char *s)
{
	sf_sb_put(b, s, strlen(s));
}

void sf_sb_reset(struct sf_sb *b);
/* Frees a growing buffer. */
void sf_sb_free(struct sf_sb *b);

/*
 * Text views print names that other users choose (process names): control
 * bytes and DEL come out as \xNN, so that no name can move the cursor, color
 * the terminal or start a forged line. Returns buf, which holds
 * SF_TEXT_SAFE_LEN(max) bytes for max bytes of s.
 */
#define SF_TEXT_SAFE_LEN(max) (4 * (max) + 1)
const char *sf_text_safe(const char *s, size_t max, char *buf, size_t len);

/* The longest output of sf_json_put_str for max bytes of input. */
#define SF_JSON_STR_MAX(max) (2 + 6 * (max))
/* A quoted JSON string of at most max bytes of s, through a bare pointer. */
char *sf_json_put_str(char *p, const char *s, size_t max);

/* A quoted JSON string of s (all of it when max is SIZE_MAX). */
void sf_json_str(struct sf_sb *b, const char *s, size_t max);
/*
 * "key": with the comma before it unless it is the first member: objects are
 * written as sf_sb_puts(b, "{"), members, sf_sb_puts(b, "}"). Every key is a
 * name of synfin's own: it is written as it is, without escaping.
 */
void sf_json_key(struct sf_sb *b, const char *key);
void sf_json_kstr(struct sf_sb *b, const char *key, const char *s); /* NULL: null */
void sf_json_ku64(struct sf_sb *b, const char *key, uint64_t v);
void sf_json_ki64(struct sf_sb *b, const char *key, int64_t v);
void sf_json_kbool(struct sf_sb *b, const char *key, bool v);
void sf_json_knull(struct sf_sb *b, const char *key);
/* a number printed with fmt ("%.3f", "%g"); NaN and infinities as null */
void sf_json_kdouble(struct sf_sb *b, const char *key, const char *fmt, double v);

#endif
