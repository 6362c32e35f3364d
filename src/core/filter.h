/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Which endpoints a view shows: the user-space half of trace's filters. */
#ifndef SYNFIN_FILTER_H
#define SYNFIN_FILTER_H

#include <stdbool.h>
#include <stdint.h>
#include "tracker.h"
#include "who.h"

/* Zero fields match anything. */
struct sf_filter {
	uint32_t pid;
	const char *comm;
	uint16_t port; /* either port */
	uint16_t lport;
	uint16_t rport;
	uint8_t family; /* AF_INET or AF_INET6 */
	bool has_addr;
	uint8_t addr_family;
	uint8_t addr[16]; /* either address */
	uint32_t netns;
	uint64_t cgroup_id;
	struct sf_who_select who; /* --pod, --namespace, --container, --unit */
};

bool sf_filter_lifecycle(const struct sf_filter *f, const struct sf_lifecycle *lc);
bool sf_filter_transition(const struct sf_filter *f, const struct sf_transition *tr);

#endif
