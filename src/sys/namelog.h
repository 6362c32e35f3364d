/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The names a traced run gave its sockets, kept beside its recording
 * (FILE.names, format in src/core/wholog.h) so that replay names them as the
 * live run did; a recording without one replays without names.
 */
#ifndef SYNFIN_NAMELOG_H
#define SYNFIN_NAMELOG_H

#include <stddef.h>
#include <stdint.h>
#include "wholog.h"
#include "whois.h"

struct namelog;

/*
 * Creates RECORD.names (mode 0600, as the recording) for the answers of who:
 * 0, or -errno with one line in err.
 */
int namelog__create(struct namelog **out, const char *record, struct whois *who, char *err,
		    size_t errlen);
/* An sf_workload_fn (ctx: the namelog): who's answer, written down when it is news. */
const struct sf_workload *namelog_resolve(void *ctx, uint64_t cgroup_id, uint32_t netns,
					  uint64_t ts_ns);
void namelog__close(struct namelog *l);

/* RECORD.names read: 0, -ENOENT when there is none, another -errno with one line in err. */
int namelog_load(struct wholog **out, const char *record, char *err, size_t errlen);
/* An sf_workload_fn (ctx: the wholog) for replay. */
const struct sf_workload *namelog_replay(void *ctx, uint64_t cgroup_id, uint32_t netns,
					 uint64_t ts_ns);

#endif
