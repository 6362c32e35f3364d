// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include <sys/socket.h>
#include "filter.h"

static bool port_ok(const struct sf_filter *f, uint16_t lport, uint16_t rport)
{
	if (f->port && lport != f->port && rport != f->port)
		return false;
	if (f->lport && lport != f->lport)
		return false;
	if (f->rport && rport != f->rport)
		return false;
	return true;
}

static bool addr_ok(const struct sf_filter *f, uint8_t family, const uint8_t *l, const uint8_t *r)
{
	size_t n = family == AF_INET6 ? 16 : 4;

	if (!f->has_addr)
		return true;
	if (family != f->addr_family)
		return false;
	return !memcmp(l, f->addr, n) || !memcmp(r, f->addr, n);
}

static bool owner_ok(const struct sf_filter *f, uint32_t pid, const char *comm)
{
	if (f->pid && pid != f->pid)
		return false;
	if (f->comm && (!comm || strncmp(comm, f->comm, SF_COMM_LEN - 1)))
		return false;
	return true;
}

static bool filter_match(const struct sf_filter *f, uint8_t family, uint32_t netns,
			 uint64_t cgroup_id, uint16_t lport, uint16_t rport, const uint8_t *laddr,
			 const uint8_t *raddr, uint32_t pid, const char *comm, uint64_t ts_ns)
{
	if (f->family && family != f->family)
		return false;
	if (f->netns && netns != f->netns)
		return false;
	if (f->cgroup_id && cgroup_id != f->cgroup_id)
		return false;
	if (!port_ok(f, lport, rport) || !addr_ok(f, family, laddr, raddr) ||
	    !owner_ok(f, pid, comm))
		return false;
	/* names are looked up last, for what passed everything else */
	return !sf_who_select_any(&f->who) ||
	       sf_who_match(&f->who, sf_who(cgroup_id, netns, ts_ns));
}

bool sf_filter_lifecycle(const struct sf_filter *f, const struct sf_lifecycle *lc)
{
	return filter_match(f, lc->family, lc->netns, lc->cgroup_id, lc->lport, lc->rport,
			    lc->laddr, lc->raddr, lc->pid, lc->comm, lc->end_ns);
}

bool sf_filter_transition(const struct sf_filter *f, const struct sf_transition *tr)
{
	const struct sf_event *e = tr->ev;

	return filter_match(f, e->family, e->netns, e->cgroup_id, tr->lport, tr->rport, tr->laddr,
			    tr->raddr, tr->pid, tr->comm, e->ts_ns);
}
