// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>
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
