/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Who a network namespace belongs to, as snapshot and watch name it. */
#ifndef SYNFIN_WHOIS_H
#define SYNFIN_WHOIS_H

#include <stdint.h>
#include "watch.h"

struct whois {
	uint32_t host_netns; /* PID 1's: "host" */
};

void whois_init(struct whois *w, uint32_t host_netns);
void whois_netns(const struct whois *w, uint32_t netns, struct watch_ident *id);

#endif
