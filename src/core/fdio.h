/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Whole reads and writes on a file descriptor: recordings and pipes. */
#ifndef SYNFIN_FDIO_H
#define SYNFIN_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads until len bytes or end of file, retrying EINTR: the count read (short
 * only at end of file), or -errno.
 */
ssize_t sf_read_full(int fd, void *buf, size_t len);
/*
 * Reads a small file whole (a /proc or /sys entry) into buf, NUL-terminated:
 * at most len - 1 bytes, their count, or -errno.
 */
ssize_t sf_read_small(const char *path, char *buf, size_t len);
/*
 * Reads a file it was told to read (an expectation file, a configuration, a
 * certificate) whole into a new NUL-terminated buffer of at most max bytes;
 * *len gets the count. Anything but a directory is read, a pipe too, and at
 * most max + 1 bytes, so /dev/zero ends. NULL with "PATH: reason" in err.
 */
char *sf_read_input(const char *path, size_t max, size_t *len, char *err, size_t errlen);
/* Writes all len bytes, retrying EINTR and short writes: 0 or -errno. */
int sf_write_full(int fd, const void *buf, size_t len);

/*
 * Opens an output file that synfin, often as root, was told to write
 * (--record, --junit): the fd, or -errno with one line in err. It never
 * follows a final symbolic link, never writes into a regular file that another
 * user owns, and never writes into an inode that existed before: a regular
 * file of ours is unlinked and created anew with O_EXCL, so a hard link to
 * another file is left alone. A FIFO or character device (/dev/null) is
 * opened as it is. what names the option in err ("--record").
 */
int sf_create_output(const char *path, mode_t mode, const char *what, char *err, size_t errlen);
/*
 * Opens an output file to append to (--summary FILE, which CI runners hand
 * over as $GITHUB_STEP_SUMMARY): the fd, or -errno with one line in err. The
 * same refusals as sf_create_output (a final symbolic link, something that is
 * not a regular file, a file another user owns), checked again on the file
 * opened; a missing file is created with O_EXCL. A FIFO or character device
 * is opened as it is.
 */
int sf_append_output(const char *path, mode_t mode, const char *what, char *err, size_t errlen);

#endif
