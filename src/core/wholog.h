/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The names a recording's live run gave its sockets, kept beside it
 * (FILE.names) so that its replay names them the same: one line per answer
 * of the resolver that differs from the last for the same socket owner
 * (cgroup id and network namespace), with the event time from which it holds.
 *
 *   synfin-names 1
 *   CGROUP NETNS TS_NS<TAB>NAMESPACE<TAB>POD<TAB>CONTAINER<TAB>CONTAINER_ID<TAB>UNIT
 *
 * Names are escaped: a byte below '!', DEL and '\' as \xNN. Pure.
 */
#ifndef SYNFIN_WHOLOG_H
#define SYNFIN_WHOLOG_H

#include <stddef.h>
#include <stdint.h>
#include "workload.h"

#define SF_WHOLOG_MAGIC "synfin-names 1\n"
/* The longest line wholog_line writes, NUL included. */
#define SF_WHOLOG_LINE_MAX (64 + 4 * (64 + 256 + 128 + 65 + 256))

/* One line for the answer w to (cgroup_id, netns) from ts_ns on; returns its length. */
size_t wholog_line(char *buf, size_t len, uint64_t cgroup_id, uint32_t netns, uint64_t ts_ns,
		   const struct sf_workload *w);

struct wholog;

/* The answers of a names file read whole (text, len bytes): 0, or -EINVAL with err filled. */
int wholog__parse(struct wholog **out, const char *text, size_t len, char *err, size_t errlen);
/* The answer the live run gave (cgroup_id, netns) at ts_ns: all "" when it gave none. */
const struct sf_workload *wholog__at(const struct wholog *l, uint64_t cgroup_id, uint32_t netns,
				     uint64_t ts_ns);
void wholog__free(struct wholog *l);

#endif
