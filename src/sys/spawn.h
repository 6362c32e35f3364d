/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A child process started in two steps, for check (COMMAND, the cgroup's
 * janitor) and repro (the workload): spawn__start() forks it and runs its
 * function, which waits for "go" while the parent does what must come in
 * between (move it into a cgroup, attach the tracer, drop privileges);
 * spawn__go() lets it on. Two pipes join them: "go" from the parent, whose
 * closing tells the child to finish, and "report" from the child. Each side
 * holds only its own ends, so each sees the other's close, a death included.
 * Every signal is blocked across the fork: the child sets up how it takes
 * them before one can reach it.
 */
#ifndef SYNFIN_SPAWN_H
#define SYNFIN_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "session.h"

/* All zero: no child, and spawn__wait() does nothing. */
struct spawn {
	pid_t pid;
	int go; /* the parent's end: one byte means go, closing it means finish */
	int report; /* the parent's end of what the child reports */
	bool reaped; /* status holds how it ended */
	int status;
};

/* How the child takes signals and its parent's death. */
enum spawn_kind {
	/* signals as the parent had them: it finishes when "go" closes */
	SPAWN_PLAIN,
	/*
	 * Killed (SIGKILL) when the parent dies, in a process group of its own,
	 * the parent's signal handlers back to the default: COMMAND.
	 */
	SPAWN_TIED,
	/*
	 * Outlives the parent to clean up after it: in a process group of its own
	 * and deaf to the signals a terminal or a job runner sends a group (INT,
	 * TERM, HUP, QUIT, the stops) and to SIGPIPE, so only "go" closing ends it.
	 */
	SPAWN_GUARD,
};

/* Runs in the child with its ends of the pipes; returns its exit status. */
typedef int (*spawn_fn)(void *ctx, int go, int report);

/* Forks a SPAWN_PLAIN child into fn. On failure returns -errno with one line in err. */
int spawn__start(struct spawn *sp, spawn_fn fn, void *ctx, char *err, size_t errlen);
/* The same for a child of the given kind. */
int spawn__start_as(struct spawn *sp, enum spawn_kind kind, spawn_fn fn, void *ctx, char *err,
		    size_t errlen);
/* Lets the child on: 0 or -errno. */
int spawn__go(struct spawn *sp);
/*
 * Reads the child's report of len bytes, tracing s meanwhile when s is not
 * NULL: the count read (short when the child ended or exec'd first), or -errno.
 */
ssize_t spawn__read(struct spawn *sp, struct session *s, void *buf, size_t len);
/*
 * Traces s until the child ends (0, with sp->status), *stop is set (-EINTR),
 * deadline_ns on sf_mono_ns() passes (-ETIMEDOUT; 0 means none), or the
 * session fails (its -errno).
 */
int spawn__trace(struct spawn *sp, struct session *s, uint64_t deadline_ns,
		 const volatile sig_atomic_t *stop);
/* Closes "go", waits for the child to end and closes its report. */
void spawn__wait(struct spawn *sp);

/* In the child: true on "go", false when the parent closed its end, or died, first. */
bool spawn_await_go(int go);
/* In the child: returns once the parent closed its end of "go", or died. */
void spawn_await_close(int go);

#endif
