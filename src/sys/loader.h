/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Loading and running the BPF programs: the tracer (bpf/tracer.bpf.c) and the
 * socket iterator (bpf/snapshot.bpf.c).
 */
#ifndef SYNFIN_LOADER_H
#define SYNFIN_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "snapshot.h"
#include "tracer.h"

enum tracer_attach {
	TRACER_ATTACH_AUTO,
	TRACER_ATTACH_TP_BTF,
	TRACER_ATTACH_TRACEPOINT,
};

struct tracer_opts {
	uint32_t netns;
	uint64_t cgroup_id;
	uint8_t family;
	uint16_t port;
	uint16_t lport;
	uint16_t rport;
	size_t ringbuf_size; /* 0: the default (16 MiB) */
	enum tracer_attach attach;
	bool verbose; /* let libbpf's messages through */
};

/* Called for every event; a negative return stops the poll that delivered it. */
typedef int (*tracer_event_fn)(void *ctx, const struct sf_event *e);

struct tracer;

/*
 * Checks privileges and kernel features, loads and attaches. On failure returns
 * -errno with one line in err saying what is missing.
 */
int tracer__open(struct tracer **out, const struct tracer_opts *opts, tracer_event_fn fn, void *ctx,
		 char *err, size_t errlen);
/* Delivers queued events; returns how many, or -errno. */
int tracer__poll(struct tracer *t, int timeout_ms);
/* Events the kernel side failed to queue so far; needs no privilege. */
int tracer__lost(struct tracer *t, uint64_t *total);
/*
 * Runs of the programs the kernel skipped because one was already running on
 * that CPU (recursion_misses): each is an event never seen. Tracepoint
 * programs' skips are counted since Linux 6.7; older kernels read 0. silent:
 * those of the reset and retransmission programs, whose loss no later event
 * shows (a skipped state change breaks the chain of states). Needs no
 * privilege.
 */
int tracer__missed(struct tracer *t, uint64_t *total, uint64_t *silent);
/*
 * Stops tracing: no event is queued, lost or skipped after it, so the counts
 * read next are final. What is queued can still be polled.
 */
void tracer__detach(struct tracer *t);
const char *tracer__attach_name(const struct tracer *t);
void tracer__close(struct tracer *t);

/* Whether the process may load BPF tracing programs (root, or CAP_BPF + CAP_PERFMON). */
bool sf_have_bpf_privileges(void);
/*
 * Sets libbpf's logging (quiet unless verbose) and checks what every BPF
 * command needs: kernel BTF and the privileges. what names the job in err.
 */
int sf_bpf_ready(bool verbose, const char *what, char *err, size_t errlen);

struct snapshot;

/* Loads the iterator program. On failure -errno and one line in err. */
int snapshot__open(struct snapshot **out, bool verbose, char *err, size_t errlen);
/*
 * Reads every TCP socket of the calling process's network namespace into *recs
 * (malloc'd, *n of them). Needs no privilege once the iterator is attached.
 */
int snapshot__read(struct snapshot *s, struct sf_sock_rec **recs, size_t *n, char *err,
		   size_t errlen);
/*
 * The capabilities each later pass of the iterator needs once privileges are
 * dropped (SF_CAP bits, for sf_drop_privileges to keep): CAP_BPF where the
 * kernel refuses every bpf() command without it while
 * kernel.unprivileged_bpf_disabled is set (5.10), none where it refuses only
 * loads (6.1 and later). Asks the kernel, not its version.
 */
uint64_t snapshot__caps_needed(struct snapshot *s);
void snapshot__close(struct snapshot *s);

#endif
