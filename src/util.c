// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "util.h"

void sf_format_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
}

static bool port_ok(const struct sf_filter *f, uint16_t lport, uint16_t rport)
{
	if (f->port && lport != f->port && rport != f->port)
		return false;
	if (f->lport && lport != f->lport)
		return false;
	if (f->rport && rport != f->rport)
		return false;
	return true;
}

static bool addr_ok(const struct sf_filter *f, uint8_t family, const uint8_t *l, const uint8_t *r)
{
	size_t n = family == AF_INET6 ? 16 : 4;

	if (!f->has_addr)
		return true;
	if (family != f->addr_family)
		return false;
	return !memcmp(l, f->addr, n) || !memcmp(r, f->addr, n);
}

static bool owner_ok(const struct sf_filter *f, uint32_t pid, const char *comm)
{
	if (f->pid && pid != f->pid)
		return false;
	if (f->comm && (!comm || strncmp(comm, f->comm, SF_COMM_LEN - 1)))
		return false;
	return true;
}

static bool filter_match(const struct sf_filter *f, uint8_t family, uint32_t netns,
			 uint64_t cgroup_id, uint16_t lport, uint16_t rport, const uint8_t *laddr,
			 const uint8_t *raddr, uint32_t pid, const char *comm)
{
	if (f->family && family != f->family)
		return false;
	if (f->netns && netns != f->netns)
		return false;
	if (f->cgroup_id && cgroup_id != f->cgroup_id)
		return false;
	return port_ok(f, lport, rport) && addr_ok(f, family, laddr, raddr) &&
	       owner_ok(f, pid, comm);
}

bool sf_filter_lifecycle(const struct sf_filter *f, const struct sf_lifecycle *lc)
{
	return filter_match(f, lc->family, lc->netns, lc->cgroup_id, lc->lport, lc->rport,
			    lc->laddr, lc->raddr, lc->pid, lc->comm);
}

bool sf_filter_transition(const struct sf_filter *f, const struct sf_transition *tr)
{
	const struct sf_event *e = tr->ev;

	return filter_match(f, e->family, e->netns, e->cgroup_id, tr->lport, tr->rport, tr->laddr,
			    tr->raddr, tr->pid, tr->comm);
}

int sf_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int sf_parse_port(const char *s, uint16_t *out)
{
	uint64_t v;

	if (sf_parse_u64(s, 65535, &v) || !v)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int sf_parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int sf_resolve_netns(const char *s, uint32_t *inum, char *err, size_t errlen)
{
	struct stat st;
	uint64_t v;

	if (!sf_parse_u64(s, UINT32_MAX, &v) && v) {
		*inum = (uint32_t)v;
		return 0;
	}
	if (stat(s, &st)) {
		snprintf(err, errlen, "--netns %s: %s", s, strerror(errno));
		return -errno;
	}
	*inum = (uint32_t)st.st_ino;
	return 0;
}

int sf_resolve_cgroup(const char *path, uint64_t *id, char *err, size_t errlen)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs) || stat(path, &st)) {
		snprintf(err, errlen, "--cgroup %s: %s", path, strerror(errno));
		return -errno;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--cgroup %s: not a cgroup v2 directory", path);
		return -EINVAL;
	}
	*id = st.st_ino;
	return 0;
}

int sf_cgroup2_root(char *buf, size_t len, bool *mounted)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char dev[256], dir[512], type[64];
	char tmpl[] = "/tmp/synfin-cgroup2.XXXXXX";
	int ret = -ENOENT;

	*mounted = false;
	if (!f)
		return -errno;
	while (fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		snprintf(buf, len, "%s", dir);
		ret = 0;
		break;
	}
	fclose(f);
	if (!ret)
		return 0;
	/* none visible (ip netns exec remounts /sys): mount the one hierarchy ourselves */
	if (!mkdtemp(tmpl))
		return -errno;
	if (mount("none", tmpl, "cgroup2", 0, NULL)) {
		ret = -errno;
		rmdir(tmpl);
		return ret;
	}
	snprintf(buf, len, "%s", tmpl);
	*mounted = true;
	return 0;
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

ssize_t sf_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int sf_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool caps_dropped;

int sf_drop_privileges(uint64_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	/* no capability regained through exec or setuid binaries */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (unsigned long cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL && errno != EPERM)
			break;
	data[0].permitted = (uint32_t)keep;
	data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data)) {
		snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	caps_dropped = true;
	return 0;
}

void sf_caps_effective(bool raise)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	/* before the drop the process still holds what it started with: leave that */
	if (!caps_dropped || syscall(SYS_capget, &hdr, data))
		return;
	for (int i = 0; i < 2; i++)
		data[i].effective = raise ? data[i].permitted : 0;
	syscall(SYS_capset, &hdr, data);
}

int sf_enter_netns(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--netns %s: %s", path, strerror(errno));
		return ret;
	}
	if (setns(fd, CLONE_NEWNET)) {
		ret = -errno;
		snprintf(err, errlen, "--netns %s: cannot enter it: %s", path, strerror(errno));
	}
	close(fd);
	return ret;
}
