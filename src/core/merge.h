/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The CPUs' event streams merged into one, in time order. The kernel side
 * queues each CPU's events in a ring of its own (bpf/tracer.bpf.c), so the
 * reader takes a CPU's events out of step with the other CPUs', and within a
 * CPU's ring an event recorded by a run nested in another's (a softirq
 * interrupting a task's run) can come after the interrupted one though
 * stamped before it. Each event waits here as its time and a reference (where
 * it lies in its ring), one queue per CPU kept in time order, until no CPU
 * can still send an older one (the least of the queues' watermarks), then
 * leaves in global time order.
 */
#ifndef SYNFIN_MERGE_H
#define SYNFIN_MERGE_H

#include <stddef.h>
#include <stdint.h>

struct sf_merge;

/* Called for each released event; a negative return stops the release. */
typedef int (*sf_merge_fn)(void *ctx, unsigned int queue, uint64_t ref);

/* nqueues queues (0 makes one): 0 or -ENOMEM. */
int sf_merge__new(struct sf_merge **out, unsigned int nqueues);
/*
 * Queues ref, stamped ts, behind the events of its queue that are not newer:
 * 0, -ENOMEM, or -EINVAL for a queue that does not exist.
 */
int sf_merge__push(struct sf_merge *m, unsigned int queue, uint64_t ts, uint64_t ref);
/*
 * Everything the queue's CPU stamped before ts has been pushed: its watermark
 * moves up to ts, never down.
 */
void sf_merge__advance(struct sf_merge *m, unsigned int queue, uint64_t ts);
/* The least of the watermarks: every event older than it is queued. 0 at first. */
uint64_t sf_merge__watermark(struct sf_merge *m);
/*
 * Hands fn every queued event stamped before below (UINT64_MAX: all), oldest
 * first; equal times go by queue, then in the order queued. Returns how many,
 * or fn's negative return (the events after that one stay queued).
 */
int sf_merge__release(struct sf_merge *m, uint64_t below, sf_merge_fn fn, void *ctx);
/* The least ref still queued in the queue, or none if it holds nothing. */
uint64_t sf_merge__least_ref(const struct sf_merge *m, unsigned int queue, uint64_t none);
/*
 * Gives back what the queues held beyond four times their most since the last
 * call: a burst's memory does not stay once it has passed.
 */
void sf_merge__trim(struct sf_merge *m);
/* Events queued. */
size_t sf_merge__queued(const struct sf_merge *m);
void sf_merge__free(struct sf_merge *m);

#endif
