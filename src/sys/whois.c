// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>
#include "whois.h"

void whois_init(struct whois *w, uint32_t host_netns)
{
	w->host_netns = host_netns;
}

void whois_netns(const struct whois *w, uint32_t netns, struct watch_ident *id)
{
	memset(id, 0, sizeof(*id));
	if (netns && netns == w->host_netns)
		snprintf(id->label, sizeof(id->label), "host");
	else
		snprintf(id->label, sizeof(id->label), "netns:%u", netns);
}
