// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "scope.h"

int scope_init(struct scope *s, const char *netns, const char *host_root, char *err, size_t errlen)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->home_fd = -1;
	s->host_root = host_root ? host_root : "";
	if (netns) {
		ret = sf_enter_netns(netns, err, errlen);
		if (ret)
			return ret;
	}
	s->self = sf_netns_self();
	s->host = sf_netns_host();
	/* in the host's namespace with no --netns: the whole host is what is asked about */
	s->hostwide = !netns && s->self && s->self == s->host;
	if (!s->hostwide)
		return 0;
	s->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->home_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open our own network namespace: %s", strerror(errno));
		return ret;
	}
	return 0;
}

int scope_discover(struct scope *s, char *err, size_t errlen)
{
	struct sf_netns_ent *v;
	size_t n;
	int ret;

	if (!s->hostwide) {
		if (!s->ns && !(s->ns = calloc(1, sizeof(*s->ns))))
			return -ENOMEM;
		s->ns[0].inum = s->self;
		s->nns = 1;
		return 0;
	}
	ret = sf_netns_discover(s->host_root, &v, &n);
	if (ret) {
		snprintf(err, errlen, "cannot list the network namespaces: %s", strerror(-ret));
		return ret;
	}
	free(s->ns);
	s->ns = v;
	s->nns = n;
	return 0;
}

int scope_read(struct scope *s, struct snapshot *snap, size_t i, struct sf_sock_rec **recs,
	       size_t *n, char *err, size_t errlen)
{
	if (!s->hostwide)
		return snapshot__read(snap, recs, n, err, errlen);
	return sf_netns_read(snap, s->home_fd, &s->ns[i], recs, n, err, errlen);
}

/* Appends m records to *all (*n of them, room for *cap). */
static int append(struct sf_sock_rec **all, size_t *n, size_t *cap, const struct sf_sock_rec *r,
		  size_t m)
{
	if (*n + m > *cap) {
		size_t ncap = (*n + m) * 2;
		struct sf_sock_rec *nv = realloc(*all, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*all = nv;
		*cap = ncap;
	}
	if (m)
		memcpy(*all + *n, r, m * sizeof(*r));
	*n += m;
	return 0;
}

int scope_read_all(struct scope *s, struct snapshot *snap, struct sf_sock_rec **recs, size_t *n,
		   char *err, size_t errlen)
{
	struct sf_sock_rec *all = NULL, *one;
	size_t nall = 0, cap = 0, m;
	int ret = scope_discover(s, err, errlen);

	for (size_t i = 0; !ret && i < s->nns; i++) {
		ret = scope_read(s, snap, i, &one, &m, err, errlen);
		/* a namespace gone since it was listed has no sockets left to count */
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (!ret) {
			ret = append(&all, &nall, &cap, one, m);
			free(one);
			if (ret)
				snprintf(err, errlen, "out of memory");
		}
	}
	if (ret) {
		free(all);
		return ret;
	}
	*recs = all;
	*n = nall;
	return 0;
}

void scope_fini(struct scope *s)
{
	if (s->home_fd >= 0)
		close(s->home_fd);
	free(s->ns);
	s->ns = NULL;
	s->home_fd = -1;
}
