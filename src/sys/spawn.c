// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "fdio.h"
#include "spawn.h"

#define POLL_MS 20

static int fail(const char *what, char *err, size_t errlen)
{
	int ret = -errno;

	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return ret;
}

/* The child's side of its kind, set up while every signal is still blocked. */
static void child_setup(enum spawn_kind kind, pid_t parent, const sigset_t *mask)
{
	/* and SIGPIPE: writing to a parent that died must not end a guard */
	static const int group_signals[] = { SIGINT,  SIGTERM, SIGHUP,	SIGQUIT,
					     SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE };
	struct sigaction sa;

	if (kind != SPAWN_PLAIN)
		setpgid(0, 0);
	if (kind == SPAWN_TIED) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* the parent may have died before that took hold */
		if (getppid() != parent)
			_exit(127);
		for (int sig = 1; sig < NSIG; sig++)
			if (!sigaction(sig, NULL, &sa) && sa.sa_handler != SIG_DFL &&
			    sa.sa_handler != SIG_IGN)
				signal(sig, SIG_DFL);
	}
	if (kind == SPAWN_GUARD)
		for (size_t i = 0; i < sizeof(group_signals) / sizeof(group_signals[0]); i++)
			signal(group_signals[i], SIG_IGN);
	sigprocmask(SIG_SETMASK, mask, NULL);
}

int spawn__start_as(struct spawn *sp, enum spawn_kind kind, spawn_fn fn, void *ctx, char *err,
		    size_t errlen)
{
	int go[2], report[2], ret;
	pid_t parent = getpid();
	sigset_t all, mask;

	memset(sp, 0, sizeof(*sp));
	if (pipe2(go, O_CLOEXEC))
		return fail("pipe", err, errlen);
	if (pipe2(report, O_CLOEXEC)) {
		ret = fail("pipe", err, errlen);
		close(go[0]);
		close(go[1]);
		return ret;
	}
	fflush(NULL);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &mask);
	sp->pid = fork();
	if (sp->pid == 0) {
		child_setup(kind, parent, &mask);
		close(go[1]);
		close(report[0]);
		_exit(fn(ctx, go[0], report[1]));
	}
	ret = sp->pid < 0 ? fail("fork", err, errlen) : 0;
	/* as the child does, so that a signal to its group cannot come first */
	if (sp->pid > 0 && kind != SPAWN_PLAIN)
		setpgid(sp->pid, sp->pid);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	close(go[0]);
	close(report[1]);
	sp->go = go[1];
	sp->report = report[0];
	if (ret)
		spawn__wait(sp);
	return ret;
}

int spawn__start(struct spawn *sp, spawn_fn fn, void *ctx, char *err, size_t errlen)
{
	return spawn__start_as(sp, SPAWN_PLAIN, fn, ctx, err, errlen);
}

int spawn__go(struct spawn *sp)
{
	return sf_write_full(sp->go, "g", 1);
}

bool spawn_await_go(int go)
{
	char b;
	ssize_t n;

	do
		n = read(go, &b, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

void spawn_await_close(int go)
{
	while (spawn_await_go(go))
		;
}

/* Traces s until the report pipe has something to read, its end included. */
static int trace_until_readable(struct spawn *sp, struct session *s)
{
	struct pollfd pfd = { .fd = sp->report, .events = POLLIN };

	for (;;) {
		int ret = session__poll(s, POLL_MS), n;

		if (ret < 0)
			return ret;
		n = poll(&pfd, 1, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return 0;
	}
}

ssize_t spawn__read(struct spawn *sp, struct session *s, void *buf, size_t len)
{
	int ret = s ? trace_until_readable(sp, s) : 0;

	return ret ? ret : sf_read_full(sp->report, buf, len);
}

int spawn__trace(struct spawn *sp, struct session *s, uint64_t deadline_ns,
		 const volatile sig_atomic_t *stop)
{
	for (;;) {
		int ret = session__poll(s, POLL_MS);

		if (ret < 0)
			return ret;
		if (waitpid(sp->pid, &sp->status, WNOHANG) == sp->pid) {
			sp->reaped = true;
			return 0;
		}
		if (stop && *stop)
			return -EINTR;
		if (deadline_ns && sf_mono_ns() >= deadline_ns)
			return -ETIMEDOUT;
	}
}

void spawn__wait(struct spawn *sp)
{
	if (sp->pid == 0)
		return;
	close(sp->go);
	/* the report closes last: a child may still write it on its way out */
	while (sp->pid > 0 && !sp->reaped && waitpid(sp->pid, &sp->status, 0) < 0 && errno == EINTR)
		;
	close(sp->report);
	sp->pid = 0;
}
