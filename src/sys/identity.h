/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Who a socket belongs to, resolved in user space and cached: its cgroup v2
 * id gives the cgroup path (by file handle; without CAP_DAC_READ_SEARCH from
 * a walk of the hierarchy, walked again on a miss at most once a second) and
 * the ids in it (src/core/workload.h); the runtimes' own metadata
 * (containerd, CRI-O, Docker, /var/log/pods) gives the names. A network
 * namespace is named by the processes in it, or by the runtime's bind mount
 * of it (/run/netns, /var/run/docker/netns). Not thread-safe.
 */
#ifndef SYNFIN_IDENTITY_H
#define SYNFIN_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <linux/capability.h>
#include "caps.h"
#include "workload.h"

/*
 * What resolving needs once privileges are dropped (sf_drop_privileges):
 * other users' /proc/PID/ns/net, and the runtimes' root-only metadata
 * (/var/lib/docker). Raised only around a cache miss.
 */
#define IDENTITY_CAPS (SF_CAP(CAP_SYS_PTRACE) | SF_CAP(CAP_DAC_READ_SEARCH))

struct identity;

/*
 * host_root (--host-root; NULL or "" for /) prefixes every host path read:
 * /proc, /sys/fs/cgroup, /run, /var/lib/docker, /var/log/pods. Symbolic links
 * met below /run and /var resolve inside it, as on the host. Fails only when
 * host_root cannot be opened; a host without cgroup v2 resolves no cgroup.
 */
int identity__new(struct identity **out, const char *host_root, char *err, size_t errlen);
/*
 * The workload of a cgroup v2 id (bpf_get_current_cgroup_id, the socket's
 * cgroup): cached; never NULL, all empty when unknown. The pointer stays valid
 * until the next identity__refresh or identity__free: copy what you keep.
 */
const struct sf_workload *identity__cgroup(struct identity *id, uint64_t cgroup_id);
/*
 * The pod or container owning a network namespace, for sockets without an
 * owner cgroup (TIME_WAIT and FIN_WAIT2 mini-sockets, request sockets): the
 * deepest cgroup holding every process in it, else the runtime whose sandbox
 * the bind mount is. Same lifetime as identity__cgroup.
 */
const struct sf_workload *identity__netns(struct identity *id, uint32_t netns_ino);
/*
 * Call on each reconciliation: cached names are checked again on their next
 * use (a file re-read only when it changed), namespaces re-resolved (their
 * inodes are reused), and entries not used since the last refresh dropped.
 */
void identity__refresh(struct identity *id);
void identity__free(struct identity *id);

#endif
