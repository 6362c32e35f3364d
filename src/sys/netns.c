// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include "caps.h"
#include "netns.h"
#include "parse.h"

/*
 * Opens path if it is a network namespace (a /run/netns bind mount, a
 * /proc/PID/ns/net link): the fd, or -errno with one line in err.
 */
static int open_netns(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--netns %s: %s", path, strerror(errno));
		return ret;
	}
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		snprintf(err, errlen,
			 "--netns %s: not a network namespace (give /run/netns/NAME, "
			 "/proc/PID/ns/net or an inode number)",
			 path);
		return -EINVAL;
	}
	return fd;
}

int sf_resolve_netns(const char *s, uint32_t *inum, char *err, size_t errlen)
{
	struct stat st;
	uint64_t v;
	int fd;

	if (!sf_parse_u64(s, UINT32_MAX, &v) && v) {
		*inum = (uint32_t)v;
		return 0;
	}
	fd = open_netns(s, err, errlen);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		fd = -errno;
		snprintf(err, errlen, "--netns %s: %s", s, strerror(errno));
	} else {
		*inum = (uint32_t)st.st_ino;
	}
	close(fd);
	return fd < 0 ? fd : 0;
}

int sf_enter_netns(const char *path, char *err, size_t errlen)
{
	int fd = open_netns(path, err, errlen), ret = 0;

	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWNET)) {
		ret = -errno;
		snprintf(err, errlen, "--netns %s: cannot enter it: %s", path, strerror(errno));
	}
	close(fd);
	return ret;
}

int sf_enter_new_netns(char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	if (unshare(CLONE_NEWNET)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a network namespace: %s", strerror(errno));
		return ret;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			ret = -errno;
	} else {
		ret = -errno;
	}
	if (ret)
		snprintf(err, errlen, "cannot bring up loopback: %s", strerror(-ret));
	close(fd);
	return ret;
}

/* Where runtimes keep the namespaces they bind-mount, under the host's root. */
static const char *const bind_dirs[] = { "/run/netns", "/var/run/netns", "/run/docker/netns",
					 "/var/run/docker/netns" };

struct ns_list {
	struct sf_netns_ent *v;
	size_t n, cap;
};

static int list_add(struct ns_list *l, uint32_t inum, const char *path)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct sf_netns_ent *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n].inum = inum;
	snprintf(l->v[l->n].path, sizeof(l->v[l->n].path), "%s", path);
	l->n++;
	return 0;
}

/* The network namespace bind-mounted at path: its inode, or 0 (a leftover file, another type). */
static uint32_t bind_inum(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	uint32_t inum = 0;

	if (fd < 0)
		return 0;
	if (ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET && !fstat(fd, &st))
		inum = (uint32_t)st.st_ino;
	close(fd);
	return inum;
}

static int scan_bind_dir(struct ns_list *l, const char *host_root, const char *dir)
{
	char dpath[512], path[512];
	struct dirent *d;
	int ret = 0;
	DIR *dp;

	snprintf(dpath, sizeof(dpath), "%s%s", host_root, dir);
	dp = opendir(dpath);
	if (!dp)
		return 0;
	while (!ret && (d = readdir(dp))) {
		uint32_t inum;

		if (d->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dpath, d->d_name) >=
		    sizeof(((struct sf_netns_ent *)0)->path))
			continue;
		inum = bind_inum(path);
		if (inum)
			ret = list_add(l, inum, path);
	}
	closedir(dp);
	return ret;
}

/* "net:[4026531840]" */
static uint32_t link_inum(const char *path)
{
	char link[64];
	unsigned long long v;
	ssize_t n = readlink(path, link, sizeof(link) - 1);

	if (n <= 0)
		return 0;
	link[n] = 0;
	return sscanf(link, "net:[%llu]", &v) == 1 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

static int scan_procs(struct ns_list *l, const char *host_root)
{
	char path[512];
	uint32_t last = 0;
	struct dirent *d;
	int ret = 0;
	DIR *proc;

	snprintf(path, sizeof(path), "%s/proc", host_root);
	proc = opendir(path);
	if (!proc)
		return -errno;
	while (!ret && (d = readdir(proc))) {
		char *end;
		unsigned long pid = strtoul(d->d_name, &end, 10);
		uint32_t inum;

		if (*end || !pid)
			continue;
		snprintf(path, sizeof(path), "%s/proc/%lu/ns/net", host_root, pid);
		inum = link_inum(path);
		/* most processes share a few namespaces: skip the run of the last one */
		if (inum && inum != last)
			ret = list_add(l, inum, path);
		last = inum ? inum : last;
	}
	closedir(proc);
	return ret;
}

/* By inode, bind mounts (listed first) before processes. */
static int cmp_ent(const void *a, const void *b)
{
	const struct sf_netns_ent *x = a, *y = b;

	if (x->inum != y->inum)
		return x->inum < y->inum ? -1 : 1;
	return (strstr(x->path, "/ns/net") != NULL) - (strstr(y->path, "/ns/net") != NULL);
}

static void dedup(struct ns_list *l)
{
	size_t k = 0;

	qsort(l->v, l->n, sizeof(*l->v), cmp_ent);
	for (size_t i = 0; i < l->n; i++)
		if (!k || l->v[k - 1].inum != l->v[i].inum)
			l->v[k++] = l->v[i];
	l->n = k;
}

int sf_netns_discover(const char *host_root, struct sf_netns_ent **out, size_t *n)
{
	struct ns_list l = { 0 };
	int ret = 0;

	/* other users' /proc/PID/ns links and root-only bind mounts */
	host_root = host_root ? host_root : "";
	sf_caps_effective(true);
	for (size_t i = 0; !ret && i < sizeof(bind_dirs) / sizeof(bind_dirs[0]); i++)
		ret = scan_bind_dir(&l, host_root, bind_dirs[i]);
	if (!ret)
		ret = scan_procs(&l, host_root);
	sf_caps_effective(false);
	if (ret) {
		free(l.v);
		return ret;
	}
	dedup(&l);
	*out = l.v;
	*n = l.n;
	return 0;
}

uint32_t sf_netns_self(void)
{
	return link_inum("/proc/thread-self/ns/net");
}

/* kthreadd, PID 2 of the host's PID namespace, lives in the host's network namespace. */
static bool is_kthreadd(void)
{
	char comm[32] = "";
	FILE *f = fopen("/proc/2/comm", "re");

	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	return !strcmp(comm, "kthreadd\n");
}

uint32_t sf_netns_host(void)
{
	uint32_t inum;

	sf_caps_effective(true);
	inum = link_inum("/proc/1/ns/net");
	/* an init that no one may inspect (an LSM, a sandbox) */
	if (!inum && is_kthreadd())
		inum = link_inum("/proc/2/ns/net");
	sf_caps_effective(false);
	return inum;
}

/* Into ns if it still is ns->inum: 0, -ENOENT when it has gone, else -errno. */
static int enter_ns(const struct sf_netns_ent *ns, char *err, size_t errlen)
{
	int fd, ret = 0;
	struct stat st;

	sf_caps_effective(true);
	fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || (uint32_t)st.st_ino != ns->inum)
		ret = -ENOENT;
	else if (setns(fd, CLONE_NEWNET))
		ret = -errno;
	sf_caps_effective(false);
	if (fd >= 0)
		close(fd);
	if (ret && ret != -ENOENT)
		snprintf(err, errlen, "cannot enter network namespace %u (%s): %s", ns->inum,
			 ns->path, strerror(-ret));
	return ret;
}

int sf_netns_read(struct snapshot *snap, int home_fd, const struct sf_netns_ent *ns,
		  struct sf_sock_rec **recs, size_t *n, char *err, size_t errlen)
{
	int ret = enter_ns(ns, err, errlen), back;

	if (ret)
		return ret;
	/* the iterator lists the namespace it is created in: this thread's, now ns */
	ret = snapshot__read(snap, recs, n, err, errlen);
	sf_caps_effective(true);
	back = setns(home_fd, CLONE_NEWNET) ? -errno : 0;
	sf_caps_effective(false);
	if (back) {
		if (!ret)
			free(*recs);
		snprintf(err, errlen, "cannot return to our own network namespace: %s",
			 strerror(-back));
		return back;
	}
	return ret;
}
