/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A map from nonzero 64-bit keys to pointers (open addressing, linear
 * probing): watch's namespaces by inode and its groups by namespace and port.
 * Entries are never removed one by one: a caller that drops some clears the
 * map and puts back what stays.
 */
#ifndef SYNFIN_U64MAP_H
#define SYNFIN_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys; /* 0: free slot */
	void **vals;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

void *u64map_get(const struct u64map *m, uint64_t key);
/* Sets key (nonzero) to val: 0 or -ENOMEM. */
int u64map_put(struct u64map *m, uint64_t key, void *val);
void u64map_clear(struct u64map *m);
void u64map_free(struct u64map *m);

#endif
