/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Who a socket belongs to, read from its cgroup v2 path: the systemd unit, the
 * container id and the Kubernetes pod uid, as systemd, Docker, containerd,
 * CRI-O and the kubelet (both cgroup drivers) name their cgroups. Pure: the
 * names behind the ids come from the runtimes' metadata (src/sys/identity.c).
 */
#ifndef SYNFIN_WORKLOAD_H
#define SYNFIN_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* Every field is "" when unknown: nothing is guessed. */
struct sf_workload {
	char ns[64]; /* Kubernetes namespace */
	char pod[256]; /* pod name */
	char pod_uid[40]; /* with dashes, as the API server shows it */
	char container[128]; /* the runtime's name for the container */
	char container_id[65]; /* full id; JSON shows the first 12 hex digits */
	char unit[256]; /* systemd unit, e.g. nginx.service */
	char cgroup[512]; /* "/system.slice/nginx.service"; "/" is the root */
};

/* How many hex digits of a container id the views show (as docker ps does). */
#define SF_CONTAINER_ID_SHORT 12

/*
 * Clears w, then fills cgroup and the ids found in a cgroup path: unit,
 * container id, pod uid. The innermost workload wins (a pod inside a kind
 * node's container is that pod), and unit is the unit inside it.
 */
void sf_workload_parse_cgroup(const char *path, struct sf_workload *w);
/*
 * The WORKLOAD column: "namespace/pod", else the pod, the container name, the
 * short container id, the pod uid, the unit; "host" for a known cgroup outside
 * any of them, "-" when even the cgroup is unknown. Returns buf.
 */
const char *sf_workload_label(const struct sf_workload *w, char *buf, size_t len);
/*
 * A kubelet log folder's name, NAMESPACE_POD_UID (/var/log/pods): fills ns,
 * pod and pod_uid and returns true, or leaves w alone.
 */
bool sf_workload_parse_pod_dir(const char *name, struct sf_workload *w);
/*
 * Cuts the cgroup path acc (e.g. "/a/b/c") back to the deepest cgroup that
 * also contains path: the common ancestor of the processes of a namespace.
 */
void sf_cgroup_common_ancestor(char *acc, const char *path);

#endif
