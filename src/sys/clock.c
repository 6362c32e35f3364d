// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <pthread.h>
#include "clock.h"
#include "fdio.h"
#include "parse.h"

static pthread_once_t timens_once = PTHREAD_ONCE_INIT;
static int64_t timens_ns;

/*
 * Read once: a process does not change its time namespace. No file (before
 * Linux 5.6, or without CONFIG_TIME_NS) means no namespace and no shift.
 */
static void timens_read(void)
{
	char buf[256];

	if (sf_read_small("/proc/self/timens_offsets", buf, sizeof(buf)) > 0)
		sf_parse_timens_offsets(buf, &timens_ns);
}

uint64_t sf_mono_ns(void)
{
	pthread_once(&timens_once, timens_read);
	return sf_clock_ns(CLOCK_MONOTONIC) - (uint64_t)timens_ns;
}
