/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Real client/server pairs on loopback that play the sequences the seeds
 * describe. The server runs in a child process, so each side has its own pid.
 */
#ifndef SYNFIN_SCENARIO_H
#define SYNFIN_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

struct scenario {
	const char *name;
	const char *what;
};

extern const struct scenario sf_scenarios[];
extern const size_t sf_nscenarios;

/*
 * Runs one scenario on 127.0.0.1 or ::1 (family AF_INET/AF_INET6) and port.
 * Returns 0, or -errno with one line in err.
 */
int scenario_run(const char *name, int family, uint16_t port, char *err, size_t errlen);

#endif
