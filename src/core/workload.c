// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>
#include "workload.h"

#define CONTAINER_ID_LEN 64

/* What the components seen so far say about the next one. */
struct walk {
	bool kubepods; /* under the cgroupfs driver's "kubepods" folder */
	bool after_docker; /* the previous component is Docker's cgroupfs "docker" */
	bool after_pod; /* the previous component is a cgroupfs pod folder */
};

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && !memcmp(s, prefix, p);
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

/*
 * A pod uid as the kubelet writes it: a UUID (8-4-4-4-12, sep between the
 * groups: '-', or '_' under the systemd driver, which reserves '-'), or the
 * 32 hex digits of a static pod's hash. Copied with dashes into out.
 */
static bool pod_uid(const char *s, size_t n, char sep, char out[40])
{
	char uid[40];

	if (n == 32 && is_hex(s, n)) {
		memcpy(out, s, n);
		out[n] = 0;
		return true;
	}
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != sep : !is_hex(s + i, 1))
			return false;
		uid[i] = dash ? '-' : s[i];
	}
	uid[n] = 0;
	memcpy(out, uid, n + 1);
	return true;
}

/*
 * The kubelet's pod cgroup: "kubepods-besteffort-pod<UID>.slice" (systemd
 * driver, also kind's "kubelet-kubepods-...") or "pod<UID>" below "kubepods"
 * (cgroupfs driver).
 */
static bool match_pod(const struct walk *st, const char *c, size_t n, struct sf_workload *w)
{
	if (st->kubepods && has_prefix(c, n, "pod"))
		return pod_uid(c + 3, n - 3, '-', w->pod_uid);
	if (!has_suffix(c, n, ".slice") || !memmem(c, n, "kubepods", strlen("kubepods")))
		return false;
	n -= strlen(".slice");
	/* "-pod" then a UUID (36) or a static pod's hash (32) */
	for (size_t k = 36; k >= 32; k -= 4)
		if (n >= k + 4 && !memcmp(c + n - k - 4, "-pod", 4) &&
		    pod_uid(c + n - k, k, '_', w->pod_uid))
			return true;
	return false;
}

/*
 * A container's own cgroup: "docker-ID.scope" (Docker, systemd driver),
 * "docker/ID" (cgroupfs driver), "cri-containerd-ID.scope", "crio-ID.scope"
 * or "crio-ID" (CRI-O, either driver), or a bare ID in a cgroupfs pod folder.
 */
static bool match_container(const struct walk *st, const char *c, size_t n, struct sf_workload *w)
{
	static const struct {
		const char *prefix, *suffix;
	} forms[] = {
		{ "docker-", ".scope" },
		{ "cri-containerd-", ".scope" },
		{ "crio-", ".scope" },
		{ "crio-", "" },
	};
	const char *id = NULL;

	if ((st->after_docker || st->after_pod) && n == CONTAINER_ID_LEN)
		id = c;
	for (size_t i = 0; !id && i < sizeof(forms) / sizeof(forms[0]); i++)
		if (n == strlen(forms[i].prefix) + CONTAINER_ID_LEN + strlen(forms[i].suffix) &&
		    has_prefix(c, n, forms[i].prefix) && has_suffix(c, n, forms[i].suffix))
			id = c + strlen(forms[i].prefix);
	if (!id || !is_hex(id, CONTAINER_ID_LEN))
		return false;
	memcpy(w->container_id, id, CONTAINER_ID_LEN);
	w->container_id[CONTAINER_ID_LEN] = 0;
	return true;
}

/* A systemd unit that owns a cgroup (slices only group them). */
static bool match_unit(const char *c, size_t n, struct sf_workload *w)
{
	static const char *const kinds[] = { ".service", ".scope", ".socket", ".mount", ".swap" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (n <= strlen(kinds[i]) || !has_suffix(c, n, kinds[i]) || n >= sizeof(w->unit))
			continue;
		memcpy(w->unit, c, n);
		w->unit[n] = 0;
		return true;
	}
	return false;
}

static void component(struct walk *st, const char *c, size_t n, struct sf_workload *w)
{
	bool pod = false;

	if (match_container(st, c, n, w)) {
		w->unit[0] = 0;
	} else if (match_pod(st, c, n, w)) {
		/* a container outside the pod (a kind node) is not the pod's */
		w->container_id[0] = 0;
		w->unit[0] = 0;
		pod = true;
	} else {
		match_unit(c, n, w);
	}
	if (n == strlen("kubepods") && has_prefix(c, n, "kubepods"))
		st->kubepods = true;
	st->after_docker = n == strlen("docker") && has_prefix(c, n, "docker");
	st->after_pod = pod && !has_suffix(c, n, ".slice");
}

void sf_workload_parse_cgroup(const char *path, struct sf_workload *w)
{
	struct walk st = {};
	const char *p = path;

	memset(w, 0, sizeof(*w));
	if (!path || !*path)
		return;
	snprintf(w->cgroup, sizeof(w->cgroup), "%s%s", *path == '/' ? "" : "/", path);
	/* a truncated path would name another cgroup */
	if (strlen(path) + (*path != '/') >= sizeof(w->cgroup))
		w->cgroup[0] = 0;
	while (*p) {
		const char *end = strchrnul(p, '/');

		if (end > p)
			component(&st, p, (size_t)(end - p), w);
		p = *end ? end + 1 : end;
	}
}

const char *sf_workload_label(const struct sf_workload *w, char *buf, size_t len)
{
	if (w->pod[0] && w->ns[0])
		snprintf(buf, len, "%s/%s", w->ns, w->pod);
	else if (w->pod[0])
		snprintf(buf, len, "%s", w->pod);
	else if (w->container[0])
		snprintf(buf, len, "%s", w->container);
	else if (w->container_id[0])
		snprintf(buf, len, "%.*s", SF_CONTAINER_ID_SHORT, w->container_id);
	else if (w->pod_uid[0])
		snprintf(buf, len, "%s", w->pod_uid);
	else if (w->unit[0])
		snprintf(buf, len, "%s", w->unit);
	else
		snprintf(buf, len, "%s", w->cgroup[0] ? "host" : "-");
	return buf;
}

bool sf_workload_parse_pod_dir(const char *name, struct sf_workload *w)
{
	const char *a = strchr(name, '_'), *b = strrchr(name, '_');
	char uid[40];

	/* namespaces and pod names are DNS names: neither holds a '_' */
	if (!a || a == b || a == name || b == a + 1)
		return false;
	if ((size_t)(a - name) >= sizeof(w->ns) || (size_t)(b - a - 1) >= sizeof(w->pod) ||
	    !pod_uid(b + 1, strlen(b + 1), '-', uid))
		return false;
	snprintf(w->ns, sizeof(w->ns), "%.*s", (int)(a - name), name);
	snprintf(w->pod, sizeof(w->pod), "%.*s", (int)(b - a - 1), a + 1);
	memcpy(w->pod_uid, uid, sizeof(uid));
	return true;
}

void sf_cgroup_common_ancestor(char *acc, const char *path)
{
	size_t i = 0, cut = 0;

	while (acc[i] && acc[i] == path[i]) {
		if (acc[i] == '/')
			cut = i;
		i++;
	}
	/* acc is path, or one of its ancestors */
	if (!acc[i] && (!path[i] || path[i] == '/' || (i && acc[i - 1] == '/')))
		return;
	/* path is an ancestor of acc */
	if (!path[i] && acc[i] == '/') {
		acc[i] = 0;
		return;
	}
	acc[cut ? cut : 1] = 0;
	if (!cut)
		acc[0] = '/';
}
