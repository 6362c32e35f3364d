// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "record.h"
#include "fdio.h"

/*
 * Events leave in whole-event chunks of at most this many, with one write(2)
 * each: a tracer killed at any instant leaves a recording that ends on an
 * event boundary and replays up to there (without an end marker).
 */
#define REC_CHUNK 256

struct recorder {
	int fd;
	size_t n;
	int err;
	struct sf_event buf[REC_CHUNK];
};

struct reader {
	int fd;
	uint64_t index;
	/*
	 * Events are read in bulk with read(2) and handed out from here: stdio
	 * would copy every byte a second time.
	 */
	struct sf_event *batch;
	size_t pos;
	size_t len;
	size_t tail; /* bytes of a partial record after the last whole one */
	size_t esize; /* a record's size in the file: format 1's are shorter */
};

#define BATCH 4096

_Static_assert(sizeof(struct sf_rec_header) == 64, "recording header is 64 bytes");
_Static_assert(sizeof(struct sf_event) == 192, "event size is part of the recording format");
_Static_assert(SF_EVENT_V1_SIZE == 176, "format 1 events are 176 bytes");

void sf_rec_header_init(struct sf_rec_header *hdr, uint64_t realtime_offset_ns, uint64_t start_ns,
			const char *attach)
{
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr->magic, SF_REC_MAGIC, sizeof(hdr->magic));
	hdr->version = SF_REC_VERSION;
	hdr->event_size = sizeof(struct sf_event);
	hdr->realtime_offset_ns = realtime_offset_ns;
	hdr->start_ns = start_ns;
	if (attach)
		strncpy(hdr->attach, attach, sizeof(hdr->attach) - 1);
}

int recorder__open(struct recorder **out, const char *path, const struct sf_rec_header *hdr,
		   char *err, size_t errlen)
{
	struct recorder *r = malloc(sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->n = 0;
	r->err = 0;
	r->fd = sf_create_output(path, 0600, "recording", err, errlen);
	if (r->fd < 0) {
		ret = r->fd;
		goto cleanup;
	}
	/* the header goes out now: even a recording killed at once is a recording */
	ret = sf_write_full(r->fd, hdr, sizeof(*hdr));
	if (ret) {
		snprintf(err, errlen, "cannot write recording %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	*out = r;
	return 0;
cleanup:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return ret;
}

int recorder__flush(struct recorder *r)
{
	if (!r->err && r->n)
		r->err = sf_write_full(r->fd, r->buf, r->n * sizeof(r->buf[0]));
	r->n = 0;
	return r->err;
}

int recorder__write(struct recorder *r, const struct sf_event *e)
{
	if (r->n == REC_CHUNK && recorder__flush(r))
		return r->err;
	r->buf[r->n++] = *e;
	return r->err;
}

int recorder__close(struct recorder *r)
{
	int ret;

	if (!r)
		return 0;
	ret = recorder__flush(r);
	if (close(r->fd) && !ret)
		ret = -errno;
	free(r);
	return ret;
}

int reader__open(struct reader **out, const char *path, struct sf_rec_header *hdr, char *err,
		 size_t errlen)
{
	struct reader *r = calloc(1, sizeof(*r));
	ssize_t n;
	int ret;

	if (!r)
		return -ENOMEM;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open recording %s: %s", path, strerror(errno));
		goto cleanup;
	}
	posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	n = sf_read_full(r->fd, hdr, sizeof(*hdr));
	if (n < 0) {
		ret = (int)n;
		snprintf(err, errlen, "cannot read recording %s: %s", path, strerror((int)-n));
		goto cleanup;
	}
	ret = -EBADMSG;
	if ((size_t)n < sizeof(hdr->magic) ||
	    memcmp(hdr->magic, SF_REC_MAGIC, sizeof(hdr->magic))) {
		snprintf(err, errlen, "%s is not a synfin recording (bad magic)", path);
		goto cleanup;
	}
	if ((size_t)n != sizeof(*hdr)) {
		snprintf(err, errlen, "%s: truncated header (%zd of %zu bytes)", path, n,
			 sizeof(*hdr));
		goto cleanup;
	}
	if (hdr->version != SF_REC_VERSION && hdr->version != 1) {
		snprintf(err, errlen, "%s: recording format version %u, this synfin reads 1 to %u",
			 path, hdr->version, SF_REC_VERSION);
		goto cleanup;
	}
	r->esize = hdr->version == 1 ? SF_EVENT_V1_SIZE : sizeof(struct sf_event);
	if (hdr->event_size != r->esize) {
		snprintf(err, errlen, "%s: event size %u, expected %zu", path, hdr->event_size,
			 r->esize);
		goto cleanup;
	}
	*out = r;
	return 0;
cleanup:
	reader__close(r);
	return ret;
}

/* Format 1 records, read packed into ev, widened in place: the fields they lack are 0. */
static void widen(struct sf_event *ev, size_t n, size_t esize)
{
	const char *raw = (const char *)ev;

	if (esize == sizeof(*ev))
		return;
	for (size_t i = n; i-- > 0;) {
		memmove(&ev[i], raw + i * esize, esize);
		memset((char *)&ev[i] + esize, 0, sizeof(*ev) - esize);
	}
}

int reader__next(struct reader *r, const struct sf_event **e, char *err, size_t errlen)
{
	ssize_t n;

	if (r->pos == r->len) {
		if (r->tail) {
			snprintf(err, errlen, "truncated record %llu (%zu of %zu bytes)",
				 (unsigned long long)r->index, r->tail, r->esize);
			return -EBADMSG;
		}
		if (!r->batch) {
			r->batch = malloc(BATCH * sizeof(*r->batch));
			if (!r->batch)
				return -ENOMEM;
		}
		n = sf_read_full(r->fd, r->batch, BATCH * r->esize);
		if (n < 0) {
			snprintf(err, errlen, "read error after record %llu: %s",
				 (unsigned long long)r->index, strerror((int)-n));
			return -EIO;
		}
		r->pos = 0;
		r->len = (size_t)n / r->esize;
		r->tail = (size_t)n % r->esize;
		widen(r->batch, r->len, r->esize);
		if (!r->len) {
			if (!r->tail)
				return 0;
			snprintf(err, errlen, "truncated record %llu (%zu of %zu bytes)",
				 (unsigned long long)r->index, r->tail, r->esize);
			return -EBADMSG;
		}
	}
	*e = &r->batch[r->pos++];
	r->index++;
	return 1;
}

void reader__close(struct reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->batch);
	free(r);
}
