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
/* Writes all len bytes, retrying EINTR and short writes: 0 or -errno. */
int sf_write_full(int fd, const void *buf, size_t len);

#endif
