/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Network namespaces: naming one, entering one, making one. */
#ifndef SYNFIN_NETNS_H
#define SYNFIN_NETNS_H

#include <stddef.h>
#include <stdint.h>

/* PATH (e.g. /run/netns/x, /proc/PID/ns/net) or a namespace inode number. */
int sf_resolve_netns(const char *s, uint32_t *inum, char *err, size_t errlen);
/* Moves the calling process into the network namespace at path, for good. */
int sf_enter_netns(const char *path, char *err, size_t errlen);
/* Moves the calling process into a new network namespace with loopback up. */
int sf_enter_new_netns(char *err, size_t errlen);

#endif
