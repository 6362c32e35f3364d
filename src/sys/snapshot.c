// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "snapshot.h"
#include "snapshot.skel.h"

struct snapshot {
	struct snapshot_bpf *skel;
	struct bpf_link *link;
};

int snapshot__open(struct snapshot **out, bool verb, char *err, size_t errlen)
{
	struct snapshot *s;
	int ret;

	ret = sf_bpf_ready(verb, "reading sockets", err, errlen);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->skel = snapshot_bpf__open_and_load();
	if (!s->skel) {
		ret = -errno;
		snprintf(
			err, errlen,
			"cannot load the socket iterator (iter/tcp): %s; run with -v for libbpf's log",
			strerror(errno));
		goto cleanup;
	}
	s->link = bpf_program__attach_iter(s->skel->progs.dump_tcp, NULL);
	if (!s->link) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach the socket iterator: %s", strerror(errno));
		goto cleanup;
	}
	*out = s;
	return 0;
cleanup:
	snapshot__close(s);
	return ret;
}

int snapshot__read(struct snapshot *s, struct sf_sock_rec **recs, size_t *n, char *err,
		   size_t errlen)
{
	size_t cap = 1024, len = 0;
	char *buf = malloc(cap * sizeof(struct sf_sock_rec));
	/* the iterator walks the network namespace we are in when it is created */
	int fd = bpf_iter_create(bpf_link__fd(s->link)), ret = 0;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot start the socket iterator: %s", strerror(errno));
		free(buf);
		return ret;
	}
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r;

		if (len == cap * sizeof(struct sf_sock_rec)) {
			char *nb = realloc(buf, cap * 2 * sizeof(struct sf_sock_rec));

			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap * sizeof(struct sf_sock_rec) - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "reading the socket iterator: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	*recs = (struct sf_sock_rec *)buf;
	*n = len / sizeof(struct sf_sock_rec);
	return 0;
}

void snapshot__close(struct snapshot *s)
{
	if (!s)
		return;
	bpf_link__destroy(s->link);
	snapshot_bpf__destroy(s->skel);
	free(s);
}
