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

/* Wall clock = CLOCK_MONOTONIC (the events' clock) + this. */
static inline int64_t sf_realtime_offset_ns(void)
{
	return (int64_t)(sf_clock_ns(CLOCK_REALTIME) - sf_clock_ns(CLOCK_MONOTONIC));
}

#endif
