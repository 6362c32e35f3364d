/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Real client/server pairs on loopback that play the sequences the seeds
 * describe. The server runs in a child process, so each side has its own pid.
 */
#ifndef SYNFIN_SCENARIO_H
#define SYNFIN_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#define SCENARIO_MAX_EXPECT 3

struct scen_ctx;
struct scenario_out;

struct scenario {
	const char *name;
	const char *what;
	/* what the traced endpoints must show, in synfin check's language */
	const char *expect[SCENARIO_MAX_EXPECT];
	/* a flow of its own; NULL: the shared client/server flow */
	int (*run)(struct scen_ctx *c, struct scenario_out *out);
	/* what a racy scenario needs to come out, when a run may miss it ("the FINs crossed") */
	const char *racy;
};

struct scenario_out {
	int leftover_pid; /* a server still running (close-wait-leak): the caller ends it */
	char notes[512]; /* what the scenario observed besides TCP (re-listen results) */
};

extern const struct scenario sf_scenarios[];
extern const size_t sf_nscenarios;

const struct scenario *scenario_find(const char *name);

/*
 * Runs one scenario on 127.0.0.1 or ::1 (family AF_INET/AF_INET6) and port.
 * Returns 0, or -errno with one line in err.
 */
int scenario_run(const struct scenario *sc, int family, uint16_t port, struct scenario_out *out,
		 char *err, size_t errlen);

#endif
