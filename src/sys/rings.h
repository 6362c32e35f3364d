/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The tracer's ring buffers, one per CPU (bpf/tracer.bpf.c), read back into
 * one stream in time order.
 */
#ifndef SYNFIN_RINGS_H
#define SYNFIN_RINGS_H

#include <stdbool.h>
#include <stddef.h>
#include "loader.h"

struct rings;

/*
 * The CPUs online now (/sys/devices/system/cpu/online): *online (malloc'd)
 * says which of the *span CPU numbers are, *count how many. Returns 0 or
 * -errno.
 */
int sf_cpus_online(bool **online, unsigned int *span, unsigned int *count);
/*
 * Creates a ring of size bytes (a power of two, at least a page) for each CPU
 * online[i] of span, at its number in the BPF array of maps outer_fd (a CPU
 * brought online later has none: its events are lost, and counted). fn gets
 * each event in time order. Returns 0 or -errno.
 */
int rings__new(struct rings **out, int outer_fd, const bool *online, unsigned int span, size_t size,
	       tracer_event_fn fn, void *ctx);
/*
 * Waits up to timeout_ms for a ring's wakeup, takes every record queued, and
 * hands fn those no CPU can still send an older event than. Returns how many,
 * or -errno.
 */
int rings__poll(struct rings *r, int timeout_ms);
/* Nothing is queued after this: the next poll hands over every event. */
void rings__seal(struct rings *r);
void rings__free(struct rings *r);

#endif
