/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What every command shares: exit codes, the one error line, usage errors,
 * option values, signals.
 */
#ifndef SYNFIN_CLI_H
#define SYNFIN_CLI_H

#include <signal.h>
#include <stdint.h>

/* The exit status of every command. */
enum sf_exit {
	SF_EXIT_OK = 0,
	SF_EXIT_FAIL = 1, /* a runtime failure; check: an expectation failed */
	SF_EXIT_USAGE = 2, /* bad options or input; the metrics port is taken */
	SF_EXIT_ALERT = 3, /* watch --once: an alert fired */
	SF_EXIT_COMMAND = 4, /* check: COMMAND failed, timed out or could not run */
};

/* "synfin CMD: MESSAGE" on stderr; returns SF_EXIT_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "synfin CMD: MESSAGE (see synfin CMD --help)" on stderr; returns SF_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The error of getopt_long's ':' (missing value) and '?' (unknown option) results. */
int cli_bad_option(const char *cmd, int c, char *const *argv);
/*
 * An option's duration (sf_parse_duration) within [min_ns, max_ns], or a usage
 * error that names the option and its bounds. Returns 0 or SF_EXIT_USAGE.
 */
int cli_duration(const char *cmd, const char *opt, const char *arg, uint64_t min_ns,
		 uint64_t max_ns, uint64_t *ns);

/* Set by SIGINT and SIGTERM once cli_signals() ran. */
extern volatile sig_atomic_t cli_stop;
/*
 * SIGINT and SIGTERM set cli_stop; SIGPIPE is ignored, so that a reader that
 * went away shows as EPIPE and the command ends cleanly.
 */
void cli_signals(void);

#endif
