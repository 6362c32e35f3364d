// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fdio.h"

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

ssize_t sf_read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = len ? sf_read_full(fd, buf, len - 1) : -EINVAL;
	close(fd);
	if (n >= 0)
		buf[n] = 0;
	return n;
}

/* The first max + 1 bytes of fd into a new buffer: *n the count, or -errno. */
static char *read_upto(int fd, size_t max, ssize_t *n)
{
	char *buf = malloc(max + 2);

	*n = buf ? sf_read_full(fd, buf, max + 1) : -ENOMEM;
	if (*n >= 0 && (size_t)*n <= max) {
		buf[*n] = 0;
		return buf;
	}
	free(buf);
	return NULL;
}

/* A limit as the error says it: 1 MiB, 64 KiB, 10 bytes. */
static size_t size_count(size_t n)
{
	return !(n % (1 << 20)) ? n >> 20 : !(n % 1024) ? n >> 10 : n;
}

static const char *size_unit(size_t n)
{
	return !(n % (1 << 20)) ? "MiB" : !(n % 1024) ? "KiB" : "bytes";
}

char *sf_read_input(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st))
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		snprintf(err, errlen, "%s: a directory, not a file", path);
	else if (!(buf = read_upto(fd, max, &n)) && n < 0)
		snprintf(err, errlen, "%s: %s", path, strerror((int)-n));
	else if (!buf)
		snprintf(err, errlen, "%s: larger than %zu %s", path, size_count(max),
			 size_unit(max));
	else
		*len = (size_t)n;
	if (fd >= 0)
		close(fd);
	return buf;
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

/* Whether fd is still the inode lstat saw at path: no swap between the two. */
static int check_same(int fd, const char *path, const struct stat *before, struct stat *now,
		      const char *what, char *err, size_t errlen)
{
	if (fstat(fd, now) || now->st_dev != before->st_dev || now->st_ino != before->st_ino) {
		snprintf(err, errlen, "%s %s: the file changed while it was opened; not writing it",
			 what, path);
		return -EAGAIN;
	}
	return 0;
}

/*
 * What lstat saw at path, opened for writing with flags added (O_APPEND)
 * and without blocking on a FIFO swapped in meanwhile: the fd, or -errno.
 */
static int open_seen(const char *path, const struct stat *before, int flags, struct stat *now,
		     const char *what, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | flags), ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	ret = check_same(fd, path, before, now, what, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	fcntl(fd, F_SETFL, flags);
	return fd;
}

/* A FIFO or device that was there: opened without creating or truncating anything. */
static int open_existing(const char *path, const struct stat *before, const char *what, char *err,
			 size_t errlen)
{
	struct stat now;

	return open_seen(path, before, 0, &now, what, err, errlen);
}

/* Whether an existing path may be replaced; -errno with err set if not. */
static int check_existing(const char *path, const struct stat *st, const char *what, char *err,
			  size_t errlen)
{
	if (S_ISLNK(st->st_mode)) {
		snprintf(err, errlen, "%s %s is a symbolic link: refusing to write through it",
			 what, path);
		return -ELOOP;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
		return -EINVAL;
	}
	if (st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s belongs to uid %u: refusing to overwrite it", what,
			 path, (unsigned int)st->st_uid);
		return -EPERM;
	}
	return 0;
}

int sf_create_output(const char *path, mode_t mode, const char *what, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret;

	if (!lstat(path, &st)) {
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
			return open_existing(path, &st, what, err, errlen);
		ret = check_existing(path, &st, what, err, errlen);
		if (ret)
			return ret;
		if (unlink(path) && errno != ENOENT) {
			ret = -errno;
			snprintf(err, errlen, "%s %s: cannot replace it: %s", what, path,
				 strerror(errno));
			return ret;
		}
	}
	/* O_EXCL: whatever appeared at path since (a planted link) makes this fail */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s %s: %s", what, path, strerror(errno));
		return ret;
	}
	return fd;
}

int sf_append_output(const char *path, mode_t mode, const char *what, char *err, size_t errlen)
{
	struct stat st, now;
	int fd, ret;

	if (lstat(path, &st))
		return sf_create_output(path, mode, what, err, errlen);
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
		return open_existing(path, &st, what, err, errlen);
	ret = check_existing(path, &st, what, err, errlen);
	if (ret)
		return ret;
	fd = open_seen(path, &st, O_APPEND, &now, what, err, errlen);
	if (fd < 0)
		return fd;
	/* its owner as opened, not only as seen before */
	ret = check_existing(path, &now, what, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}
