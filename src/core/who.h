/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Who a socket belongs to, as the views print it and the filters, expectations
 * and alert rules select it: the JSON members, the WORKLOAD column, and the
 * selectors pod=, namespace=, container=, unit=. The names come from
 * src/sys/identity.c through a resolver that a live command sets; without one
 * (replay: a recording holds no names) nothing of this is printed and no
 * selector matches.
 */
#ifndef SYNFIN_WHO_H
#define SYNFIN_WHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "json.h"
#include "workload.h"

/*
 * The workload of a socket from its owner's cgroup v2 id and its network
 * namespace, as of ts_ns (an event's time: a replay asks as its live run did).
 */
typedef const struct sf_workload *(*sf_workload_fn)(void *ctx, uint64_t cgroup_id, uint32_t netns,
						    uint64_t ts_ns);

/* Sets (fn NULL: clears) the resolver of this process's views. */
void sf_who_resolver(sf_workload_fn fn, void *ctx);
/* Whether a resolver is set: the views then print who. */
bool sf_who_resolving(void);
/* The workload of a socket, or NULL when no resolver is set. */
const struct sf_workload *sf_who(uint64_t cgroup_id, uint32_t netns, uint64_t ts_ns);

/*
 * "namespace", "pod", "container", "container_id" (12 hex digits) and "unit"
 * as members of the JSON object being written; each null when unknown, all of
 * them when w is NULL.
 */
void sf_who_json(struct sf_sb *b, const struct sf_workload *w);
/* The longest output of sf_who_json. */
#define SF_WHO_JSON_MAX (80 + SF_JSON_STR_MAX(63 + 255 + 127 + 12 + 255))
/* The WORKLOAD column: sf_workload_label, escaped for a terminal ("-" for NULL). */
const char *sf_who_label(const struct sf_workload *w, char *buf, size_t len);
#define SF_WHO_LABEL_LEN SF_TEXT_SAFE_LEN(400)

enum sf_who_key {
	SF_WHO_NAMESPACE,
	SF_WHO_POD,
	SF_WHO_CONTAINER,
	SF_WHO_UNIT,
	SF_WHO_NKEYS,
};

/* Selectors by workload: every one given must hold. */
struct sf_who_select {
	char v[SF_WHO_NKEYS][256]; /* "" where none is given */
};

/* "pod", "namespace", "container", "unit" */
const char *sf_who_key_name(enum sf_who_key k);
/*
 * One selector: the key's value checked (a name, no blank or control
 * character, no longer than the runtimes allow) and set once. 0, or -EINVAL
 * with one line in err.
 */
int sf_who_select_set(struct sf_who_select *s, enum sf_who_key k, const char *value, char *err,
		      size_t errlen);
/*
 * tok is "KEY=VALUE" with KEY one of the selectors: set as above. -ENOENT
 * when KEY is none of them.
 */
int sf_who_select_parse(struct sf_who_select *s, const char *tok, char *err, size_t errlen);
/* Whether tok is "KEY=..." with KEY one of the selectors. */
bool sf_who_is_selector(const char *tok);
bool sf_who_select_any(const struct sf_who_select *s);
/*
 * Whether w is selected: pod=NAME or pod=NAMESPACE/NAME, namespace=, unit=,
 * and container=NAME or the first 12+ hex digits of its id. An unknown
 * workload (NULL, or the field empty) is never selected.
 */
bool sf_who_match(const struct sf_who_select *s, const struct sf_workload *w);
/* "pod=web-1 namespace=shop": the selectors given, for messages. */
void sf_who_select_text(const struct sf_who_select *s, char *buf, size_t len);

#endif
