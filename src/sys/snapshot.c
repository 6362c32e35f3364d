// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "fdio.h"
#include "loader.h"
#include "parse.h"
#include "snapshot.h"
#include "snapshot.skel.h"

#define KEEPALIVE_SYSCTL "/proc/sys/net/ipv4/tcp_keepalive_time"

struct snapshot {
	struct snapshot_bpf *skel;
	struct bpf_link *link;
};

/* The socket iterator, BPF_TRACE_ITER for tcp (bpf_iter_tcp), came in Linux 5.9. */
static int snapshot_supported(char *err, size_t errlen)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool have = vmlinux && btf__find_by_name_kind(vmlinux, "bpf_iter_tcp", BTF_KIND_FUNC) > 0;

	btf__free(vmlinux);
	if (have)
		return 0;
	snprintf(err, errlen, "kernel has no TCP socket iterator (iter/tcp, Linux 5.9 or later)");
	return -ENOTSUP;
}

int snapshot__open(struct snapshot **out, bool verb, char *err, size_t errlen)
{
	struct snapshot *s;
	int ret;

	ret = sf_bpf_ready(verb, "reading sockets", err, errlen);
	if (!ret)
		ret = snapshot_supported(err, errlen);
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

/*
 * tcp_keepalive_time in seconds in the network namespace we are in, from which
 * the iterator derives HZ (ns_hz() in bpf/snapshot.bpf.c); 0 if unreadable,
 * which leaves ages unknown.
 */
static uint32_t keepalive_seconds(void)
{
	int fd = open(KEEPALIVE_SYSCTL, O_RDONLY | O_CLOEXEC);
	char buf[32];
	uint64_t v;
	ssize_t n;

	if (fd < 0)
		return 0;
	n = sf_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return sf_parse_u64(buf, UINT32_MAX, &v) ? 0 : (uint32_t)v;
}

int snapshot__read(struct snapshot *s, struct sf_sock_rec **recs, size_t *n, char *err,
		   size_t errlen)
{
	size_t cap = 1024, len = 0;
	char *buf = malloc(cap * sizeof(struct sf_sock_rec));
	int fd, ret = 0;

	s->skel->bss->keepalive_s = keepalive_seconds();
	/* the iterator walks the network namespace we are in when it is created */
	fd = bpf_iter_create(bpf_link__fd(s->link));

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
