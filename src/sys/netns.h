/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Network namespaces: naming one, entering one, making one, finding every one. */
#ifndef SYNFIN_NETNS_H
#define SYNFIN_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include "loader.h"

/* PATH (e.g. /run/netns/x, /proc/PID/ns/net) or a namespace inode number. */
int sf_resolve_netns(const char *s, uint32_t *inum, char *err, size_t errlen);
/* Moves the calling process into the network namespace at path, for good. */
int sf_enter_netns(const char *path, char *err, size_t errlen);
/* Moves the calling process into a new network namespace with loopback up. */
int sf_enter_new_netns(char *err, size_t errlen);

/* A network namespace found on the host: its inode and a path that opens it. */
struct sf_netns_ent {
	uint32_t inum;
	char path[256];
};

/*
 * Every network namespace on the host, each once: those of the processes
 * (HOST_ROOT/proc/PID/ns/net, which needs the host's PID namespace) and the
 * bind mounts under HOST_ROOT/run/netns and HOST_ROOT/var/run/docker/netns,
 * which may hold no process at all. Sorted by inode; a bind mount is preferred to a process
 * as the path, since it outlives any one process. *out is malloc'd.
 */
int sf_netns_discover(const char *host_root, struct sf_netns_ent **out, size_t *n);
/* The inode of the calling thread's network namespace; 0 when unreadable. */
uint32_t sf_netns_self(void);
/* The inode of PID 1's network namespace (or kthreadd's), the host's; 0 when unreadable. */
uint32_t sf_netns_host(void);

/*
 * Reads the TCP sockets of one namespace: enters it (if it is still the
 * namespace ns->inum: a PID may have been reused), runs the iterator, and
 * goes back to the namespace home_fd holds. -ENOENT when the namespace has
 * gone; another -errno with one line in err on failure.
 */
int sf_netns_read(struct snapshot *snap, int home_fd, const struct sf_netns_ent *ns,
		  struct sf_sock_rec **recs, size_t *n, char *err, size_t errlen);

#endif
