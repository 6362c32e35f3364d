/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Socket inode -> owning process, read from /proc/PID/fd as ss -p does. */
#ifndef SYNFIN_PROCMAP_H
#define SYNFIN_PROCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>
#include "caps.h"
#include "watch.h" /* struct sf_owner */

/*
 * What reading other users' /proc/PID/fd takes: kept by a process that drops
 * its privileges but must still name socket owners (procmap_build raises it).
 */
#define PROCMAP_CAPS (SF_CAP(CAP_SYS_PTRACE) | SF_CAP(CAP_DAC_READ_SEARCH))

struct procmap;

/* Finds the owners of the given socket inodes (one scan of /proc). */
int procmap_build(struct procmap **out, const uint64_t *inodes, size_t n);
bool procmap_get(const struct procmap *m, uint64_t ino, struct sf_owner *owner);
void procmap_free(struct procmap *m);

/* The distinct owners of a set of socket inodes, at most max of them (one scan of /proc). */
size_t procmap_owners(const uint64_t *inodes, size_t n, struct sf_owner *out, size_t max);

#endif
