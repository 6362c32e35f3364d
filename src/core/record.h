/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Recordings: a versioned header followed by raw struct sf_event records, the
 * tracer's events and the user-space markers (lost counts, end) in the order
 * the engine saw them.
 */
#ifndef SYNFIN_RECORD_H
#define SYNFIN_RECORD_H

#include <stdint.h>
#include <stdio.h>
#include "tracer.h"

#define SF_REC_MAGIC "SYNFINRC"
/* 2: events carry sk_err, xflags and the health counters; format 1 is still read */
#define SF_REC_VERSION 2

struct sf_rec_header {
	char magic[8];
	uint32_t version;
	uint32_t event_size;
	uint64_t realtime_offset_ns; /* CLOCK_REALTIME - the events' clock at the start */
	uint64_t start_ns; /* the events' clock (the kernel's CLOCK_MONOTONIC) at the start */
	char attach[16]; /* how the tracer was attached: "tp_btf" or "tracepoint" */
	uint8_t reserved[16];
};

struct recorder;
struct reader;

/*
 * Creates path with mode 0600 (safely: sf_create_output) and writes the
 * header at once. On error returns -errno and fills err.
 */
int recorder__open(struct recorder **out, const char *path, const struct sf_rec_header *hdr,
		   char *err, size_t errlen);
/* Queues an event; whole chunks are written as they fill. -errno once a write failed. */
int recorder__write(struct recorder *r, const struct sf_event *e);
/* Writes what is queued: called after each batch of events, so little waits in memory. */
int recorder__flush(struct recorder *r);
/* Flushes and closes; returns -errno if anything written failed. */
int recorder__close(struct recorder *r);

int reader__open(struct reader **out, const char *path, struct sf_rec_header *hdr, char *err,
		 size_t errlen);
/*
 * 1: *e points at the next event (valid until the next call); 0: end of file;
 * -EBADMSG: truncated record (err says where).
 */
int reader__next(struct reader *r, const struct sf_event **e, char *err, size_t errlen);
void reader__close(struct reader *r);

void sf_rec_header_init(struct sf_rec_header *hdr, uint64_t realtime_offset_ns, uint64_t start_ns,
			const char *attach);

#endif
