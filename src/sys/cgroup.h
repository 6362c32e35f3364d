/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The cgroup v2 hierarchy: where it is, and a directory's id. */
#ifndef SYNFIN_CGROUP_H
#define SYNFIN_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A cgroup v2 directory; its id is its inode number. */
int sf_resolve_cgroup(const char *path, uint64_t *id, char *err, size_t errlen);
/*
 * Where the cgroup v2 hierarchy is mounted. When no mount is visible it mounts
 * one on a temporary folder and sets *mounted: the caller unmounts it.
 */
int sf_cgroup2_root(char *buf, size_t len, bool *mounted);

#endif
