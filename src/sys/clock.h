/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The clock, read only outside the core: the engine takes time from events. */
#ifndef SYNFIN_CLOCK_H
#define SYNFIN_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t sf_clock_ns(clockid_t clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The events' clock: CLOCK_MONOTONIC as the kernel keeps it, the one
 * bpf_ktime_get_ns() reads. A time namespace shifts the process's
 * CLOCK_MONOTONIC but not the programs' clock, so every time compared with an
 * event's, or written beside them, is read here (intervals that never meet an
 * event may use CLOCK_MONOTONIC itself).
 */
uint64_t sf_mono_ns(void);

/* Wall clock = the events' clock + this. */
static inline int64_t sf_realtime_offset_ns(void)
{
	return (int64_t)(sf_clock_ns(CLOCK_REALTIME) - sf_mono_ns());
}

#endif
