/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef SYNFIN_UTIL_H
#define SYNFIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "tracker.h"

#define SF_ADDRSTRLEN 46

/* Which endpoints a view shows. Zero fields match anything. */
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
};

void sf_format_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr);
bool sf_filter_lifecycle(const struct sf_filter *f, const struct sf_lifecycle *lc);
bool sf_filter_transition(const struct sf_filter *f, const struct sf_transition *tr);

/* Parsers: 0 on success, -EINVAL on bad input. */
int sf_parse_u64(const char *s, uint64_t max, uint64_t *out);
int sf_parse_port(const char *s, uint16_t *out);
int sf_parse_addr(const char *s, uint8_t *family, uint8_t addr[16]);
/* PATH (e.g. /run/netns/x, /proc/PID/ns/net) or a namespace inode number. */
int sf_resolve_netns(const char *s, uint32_t *inum, char *err, size_t errlen);
/* A cgroup v2 directory; its id is its inode number. */
int sf_resolve_cgroup(const char *path, uint64_t *id, char *err, size_t errlen);

/*
 * Where the cgroup v2 hierarchy is mounted. When no mount is visible it mounts
 * one on a temporary folder and sets *mounted: the caller unmounts it.
 */
int sf_cgroup2_root(char *buf, size_t len, bool *mounted);
#define SF_CAP(c) (1ull << (c))

/*
 * For after the BPF objects are loaded and attached: sets no_new_privs and
 * empties the effective, inheritable, ambient and bounding sets. The
 * capabilities in keep (SF_CAP bits) stay in the permitted set only, for
 * sf_caps_effective() to raise around the one step that needs them.
 */
int sf_drop_privileges(uint64_t keep, char *err, size_t errlen);
/* Raises the kept capabilities, or lowers them; does nothing before the drop. */
void sf_caps_effective(bool raise);
/* Moves the calling process into the network namespace at path, for good. */
int sf_enter_netns(const char *path, char *err, size_t errlen);
/*
 * Reads until len bytes or end of file, retrying EINTR: the count read (short
 * only at end of file), or -errno.
 */
ssize_t sf_read_full(int fd, void *buf, size_t len);
/* Writes all len bytes, retrying EINTR and short writes: 0 or -errno. */
int sf_write_full(int fd, const void *buf, size_t len);
/* Moves the calling process into a new network namespace with loopback up. */
int sf_enter_new_netns(char *err, size_t errlen);

#endif
