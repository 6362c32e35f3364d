// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "caps.h"
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
	char buf[32];
	uint64_t v;

	if (sf_read_small(KEEPALIVE_SYSCTL, buf, sizeof(buf)) <= 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return sf_parse_u64(buf, UINT32_MAX, &v) ? 0 : (uint32_t)v;
}

/* A new pass of the iterator over the sockets of the namespace we are in now. */
static int iter_start(struct snapshot *s, char *err, size_t errlen)
{
	int fd, ret;

	s->skel->bss->keepalive_s = keepalive_seconds();
	/* 5.10 refuses every bpf() call without CAP_BPF once unprivileged_bpf_disabled is set */
	sf_caps_effective(true);
	fd = bpf_iter_create(bpf_link__fd(s->link));
	ret = fd < 0 ? -errno : fd;
	sf_caps_effective(false);
	if (ret < 0)
		snprintf(err, errlen, "cannot start the socket iterator: %s", strerror(-ret));
	return ret;
}

static int try_iter(void *ctx)
{
	struct snapshot *s = ctx;
	int fd = bpf_iter_create(bpf_link__fd(s->link));

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

uint64_t snapshot__caps_needed(struct snapshot *s)
{
	uint64_t bpf_caps = SF_CAP(CAP_BPF) | SF_CAP(CAP_SYS_ADMIN);

	return sf_caps_probe(bpf_caps, try_iter, s) == -EPERM ? SF_CAP(CAP_BPF) : 0;
}

/* Reads fd to its end into a growing malloc'd buffer: 0 or -errno. */
static int read_records(int fd, char **out, size_t *outlen, char *err, size_t errlen)
{
	size_t cap = 1024 * sizeof(struct sf_sock_rec), len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	while (buf) {
		if (len == cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			snprintf(err, errlen, "reading the socket iterator: %s", strerror(errno));
			free(buf);
			return (int)r;
		}
		if (r == 0) {
			*out = buf;
			*outlen = len;
			return 0;
		}
		len += r;
	}
	free(buf);
	return -ENOMEM;
}

int snapshot__read(struct snapshot *s, struct sf_sock_rec **recs, size_t *n, char *err,
		   size_t errlen)
{
	int fd = iter_start(s, err, errlen), ret;
	size_t len = 0;
	char *buf = NULL;

	if (fd < 0)
		return fd;
	ret = read_records(fd, &buf, &len, err, errlen);
	close(fd);
	if (ret)
		return ret;
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
