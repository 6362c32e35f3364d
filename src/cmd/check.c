// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin check: run a command in a cgroup of its own, trace the sockets that
 * cgroup owns, and hold what they did against expectations.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "caps.h"
#include "cgroup.h"
#include "clock.h"
#include "cmd.h"
#include "expect.h"
#include "netns.h"
#include "report.h"
#include "session.h"

#define POLL_MS 50
#define EXIT_EXPECT 1
#define EXIT_USAGE 2
#define EXIT_COMMAND 4

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct check {
	struct expect *x;
	size_t nx;
	const char *junit;
	uint64_t settle_ms;
	uint64_t timeout_ms;
	bool netns_new;
	bool json;
	bool verbose;
	char **argv;
	char cgroup[512];
	char cgroot[256];
	char cgname[64];
	bool cgroot_mounted;
	/* the cgroup and its parent, held open so cleanup needs no mount and no privilege */
	int cgfd;
	int cgrootfd;
	pid_t janitor;
	int janitor_fd;
	struct lc_vec lcs;
};

static const char check_usage[] =
	"Usage: synfin check [OPTIONS] -- COMMAND [ARGS...]\n"
	"Run COMMAND in a cgroup of its own, trace the TCP endpoints it owns, and check them.\n"
	"\n"
	"  --expect EXPR        an expectation (repeatable), e.g.\n"
	"                       'role=client close=three-way time_wait=yes'\n"
	"  --expect-file FILE   one expectation per line; # starts a comment\n"
	"  --junit FILE         write JUnit XML: a testcase per expectation\n"
	"  --settle SECONDS     after COMMAND exits, wait up to this long for its\n"
	"                       connections to end (default 1)\n"
	"  --timeout SECONDS    kill COMMAND after this long (exit status 4)\n"
	"  --netns-new          run COMMAND in a new network namespace with loopback up\n"
	"  --json               a JSON Lines report\n"
	"  -v, --verbose        show libbpf's messages\n"
	"\n"
	"EXPR is space-separated conditions KEY=V, KEY!=V, KEY>=N, KEY<=N.\n"
	"Selectors: role (client|server|unknown), port, lport, rport, family (ipv4|ipv6).\n"
	"Assertions: close, closer, time_wait (yes|no), handshake_us, alive (yes|no),\n"
	"half_close (yes|no), last_state, count (default count>=1).\n"
	"Exit status: 0 all hold, 1 one failed, 2 usage error, 4 COMMAND failed or timed out.\n";

static int add_expect(struct check *c, const char *text, const char *where)
{
	struct expect *nx;
	char err[600];

	nx = realloc(c->x, (c->nx + 1) * sizeof(*nx));
	if (!nx) {
		fprintf(stderr, "synfin check: out of memory\n");
		return EXIT_USAGE;
	}
	c->x = nx;
	if (expect_parse(text, &c->x[c->nx], err, sizeof(err))) {
		fprintf(stderr, "synfin check: %s%s%s\n", where ? where : "", where ? ": " : "",
			err);
		return EXIT_USAGE;
	}
	c->nx++;
	return 0;
}

static int read_expect_file(struct check *c, const char *path)
{
	char line[1024], where[600];
	FILE *f = fopen(path, "r");
	int ret = 0, lineno = 0;

	if (!f) {
		fprintf(stderr, "synfin check: --expect-file %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#'), *p = line;

		lineno++;
		if (hash)
			*hash = 0;
		line[strcspn(line, "\r\n")] = 0;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		ret = add_expect(c, p, where);
	}
	fclose(f);
	return ret;
}

static int parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400 * 7)
		return -EINVAL;
	*ms = (uint64_t)(v * 1000);
	return 0;
}

static int parse_args(struct check *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "expect-file", required_argument, NULL, 'f' },
		{ "junit", required_argument, NULL, 'j' },
		{ "settle", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "netns-new", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt, ret;

	c->settle_ms = 1000;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			ret = add_expect(c, optarg, NULL);
			if (ret)
				return ret;
			break;
		case 'f':
			ret = read_expect_file(c, optarg);
			if (ret)
				return ret;
			break;
		case 'j':
			c->junit = optarg;
			break;
		case 's':
		case 't':
			if (parse_seconds(optarg, opt == 's' ? &c->settle_ms : &c->timeout_ms)) {
				fprintf(stderr, "synfin check: invalid --%s '%s' (seconds)\n",
					opt == 's' ? "settle" : "timeout", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			c->netns_new = true;
			break;
		case 'J':
			c->json = true;
			break;
		case 'v':
			c->verbose = true;
			break;
		case 'h':
			fputs(check_usage, stdout);
			return -1;
		case ':':
			fprintf(stderr, "synfin check: option %s needs a value\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr,
				"synfin check: unknown option '%s' (see synfin check --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr,
			"synfin check: no COMMAND given (synfin check [OPTIONS] -- COMMAND)\n");
		return EXIT_USAGE;
	}
	if (!c->nx) {
		fprintf(stderr, "synfin check: no expectation given (--expect or --expect-file)\n");
		return EXIT_USAGE;
	}
	c->argv = argv + optind;
	return 0;
}

static int make_cgroup(struct check *c, char *err, size_t errlen)
{
	int ret = sf_cgroup2_root(c->cgroot, sizeof(c->cgroot), &c->cgroot_mounted);

	if (ret) {
		snprintf(err, errlen, "no cgroup v2 hierarchy, and mounting one failed: %s",
			 strerror(-ret));
		return ret;
	}
	snprintf(c->cgname, sizeof(c->cgname), "synfin-check.%d", (int)getpid());
	snprintf(c->cgroup, sizeof(c->cgroup), "%s/%s", c->cgroot, c->cgname);
	c->cgrootfd = open(c->cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->cgrootfd < 0 || mkdirat(c->cgrootfd, c->cgname, 0755)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create cgroup %s: %s", c->cgroup, strerror(errno));
		return ret;
	}
	c->cgfd = openat(c->cgrootfd, c->cgname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->cgfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open cgroup %s: %s", c->cgroup, strerror(errno));
		return ret;
	}
	return 0;
}

static int write_at(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Ends everything COMMAND left running, whatever user it became. */
static void kill_cgroup(struct check *c)
{
	char line[32];
	FILE *f;
	int fd;

	if (c->cgfd < 0 || !write_at(c->cgfd, "cgroup.kill", "1"))
		return;
	/* before Linux 5.14: kill them one by one */
	fd = openat(c->cgfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	while (f && fgets(line, sizeof(line), f))
		kill(atoi(line), SIGKILL);
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
}

static void remove_cgroup(struct check *c)
{
	kill_cgroup(c);
	if (c->cgfd >= 0) {
		close(c->cgfd);
		c->cgfd = -1;
		for (int i = 0;
		     i < 100 && unlinkat(c->cgrootfd, c->cgname, AT_REMOVEDIR) && errno == EBUSY;
		     i++)
			usleep(10000);
	}
	if (c->cgrootfd >= 0) {
		close(c->cgrootfd);
		c->cgrootfd = -1;
	}
	if (c->cgroot_mounted) {
		umount2(c->cgroot, MNT_DETACH);
		rmdir(c->cgroot);
		c->cgroot_mounted = false;
	}
}

/*
 * Removing the cgroup takes privileges we drop (the hierarchy's root is mode
 * 555): a process forked first keeps them and does it once we close the pipe,
 * or once we are gone however we went.
 */
static int start_janitor(struct check *c, char *err, size_t errlen)
{
	int p[2];
	char b;

	if (pipe2(p, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	c->janitor = fork();
	if (c->janitor < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (c->janitor == 0) {
		/* Ctrl-C reaches the whole process group: this one waits for the pipe */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		close(p[1]);
		while (read(p[0], &b, 1) < 0 && errno == EINTR)
			;
		remove_cgroup(c);
		_exit(0);
	}
	close(p[0]);
	c->janitor_fd = p[1];
	return 0;
}

static void end_cgroup(struct check *c)
{
	if (c->janitor <= 0) {
		remove_cgroup(c);
		return;
	}
	close(c->janitor_fd);
	waitpid(c->janitor, NULL, 0);
	c->janitor = 0;
}

static void collect(const struct sf_lifecycle *lc, void *ctx)
{
	struct check *c = ctx;

	/* memory for the report; a full vector drops the rest, counted as lost below */
	lc_vec_push(&c->lcs, lc);
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with status 0x%x", status);
}

static void command_line(char **argv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; argv[i] && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
}

int cmd_check(int argc, char **argv)
{
	struct check c = { .cgfd = -1, .cgrootfd = -1 };
	struct session_opts so = { 0 };
	struct session *sess = NULL;
	struct tracker_stats st;
	struct outcome o = { 0 };
	int ready[2] = { -1, -1 }, go[2] = { -1, -1 }, execerr[2] = { -1, -1 };
	char err[600], status_text[128], cmdline[512], procs[600], pidbuf[32];
	bool failed_cmd = false;
	FILE *junit = NULL;
	uint64_t start, deadline = 0;
	int ret, status = 0, child_err = 0;
	pid_t pid = -1;
	struct stat nst;
	char b;

	ret = parse_args(&c, argc, argv);
	if (ret)
		goto cleanup;
	command_line(c.argv, cmdline, sizeof(cmdline));
	if (!sf_have_bpf_privileges() || geteuid() != 0) {
		fprintf(stderr, "synfin check: needs root (BPF, cgroups%s)\n",
			c.netns_new ? ", network namespaces" : "");
		ret = 1;
		goto cleanup;
	}
	if (make_cgroup(&c, err, sizeof(err)) || start_janitor(&c, err, sizeof(err))) {
		fprintf(stderr, "synfin check: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC) || pipe2(execerr, O_CLOEXEC)) {
		fprintf(stderr, "synfin check: pipe: %s\n", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "synfin check: fork: %s\n", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	if (pid == 0) {
		int e = 0;

		setpgid(0, 0);
		if (c.netns_new && sf_enter_new_netns(err, sizeof(err)))
			e = errno ? errno : EPERM;
		if (!e && write(ready[1], "r", 1) == 1 && read(go[0], &b, 1) == 1) {
			execvp(c.argv[0], c.argv);
			e = errno;
		}
		if (write(execerr[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(ready[1]);
	close(go[0]);
	close(execerr[1]);
	ready[1] = go[0] = execerr[1] = -1;
	if (read(ready[0], &b, 1) != 1) {
		if (read(execerr[0], &child_err, sizeof(child_err)) != sizeof(child_err))
			child_err = EIO;
		fprintf(stderr, "synfin check: cannot prepare COMMAND: %s\n", strerror(child_err));
		ret = 1;
		goto cleanup;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	if (write_at(c.cgfd, "cgroup.procs", pidbuf)) {
		fprintf(stderr, "synfin check: cannot move COMMAND into %s: %s\n", c.cgroup,
			strerror(errno));
		ret = 1;
		goto cleanup;
	}
	so.tracer.verbose = c.verbose;
	if (sf_resolve_cgroup(c.cgroup, &so.tracer.cgroup_id, err, sizeof(err))) {
		fprintf(stderr, "synfin check: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	if (c.netns_new) {
		snprintf(procs, sizeof(procs), "/proc/%d/ns/net", (int)pid);
		if (stat(procs, &nst)) {
			fprintf(stderr, "synfin check: %s: %s\n", procs, strerror(errno));
			ret = 1;
			goto cleanup;
		}
		so.tracer.netns = (uint32_t)nst.st_ino;
	}
	so.ops = (struct tracker_ops){ collect, NULL, &c };
	ret = session__open(&sess, &so, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "synfin check: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	/*
	 * Everything that needs a privilege is open: the report file too, as the
	 * folder may belong to another user. COMMAND, already forked, keeps its own.
	 */
	if (c.junit) {
		int fd = open(c.junit, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		junit = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!junit) {
			fprintf(stderr, "synfin check: cannot write %s: %s\n", c.junit,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			ret = 1;
			goto cleanup;
		}
	}
	ret = sf_drop_privileges(0, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "synfin check: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	start = sf_clock_ns(CLOCK_MONOTONIC);
	if (c.timeout_ms)
		deadline = start + c.timeout_ms * 1000000ull;
	if (write(go[1], "g", 1) != 1 ||
	    read(execerr[0], &child_err, sizeof(child_err)) == sizeof(child_err)) {
		snprintf(status_text, sizeof(status_text), "could not be run: %s",
			 strerror(child_err ? child_err : EIO));
		failed_cmd = true;
	}
	while (!failed_cmd) {
		pid_t w;

		if (session__poll(sess, POLL_MS) < 0)
			break;
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			pid = -1;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				describe_status(status, status_text, sizeof(status_text));
				failed_cmd = true;
			}
			break;
		}
		if (interrupted || (deadline && sf_clock_ns(CLOCK_MONOTONIC) >= deadline)) {
			kill_cgroup(&c);
			waitpid(pid, &status, 0);
			pid = -1;
			if (interrupted)
				snprintf(status_text, sizeof(status_text), "interrupted");
			else
				snprintf(status_text, sizeof(status_text), "timed out after %.1f s",
					 c.timeout_ms / 1000.0);
			failed_cmd = true;
			break;
		}
	}
	/* let its connections finish closing; what is still open then is reported as open */
	deadline = sf_clock_ns(CLOCK_MONOTONIC) + c.settle_ms * 1000000ull;
	for (;;) {
		session__stats(sess, &st);
		if (!st.live || interrupted || sf_clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (session__poll(sess, POLL_MS) < 0)
			break;
	}
	if (session__finish(sess, err, sizeof(err)))
		fprintf(stderr, "synfin check: %s\n", err);
	session__stats(sess, &st);

	o.name = "synfin check";
	o.x = c.x;
	o.nx = c.nx;
	o.res = calloc(c.nx, sizeof(*o.res));
	o.lcs = &c.lcs;
	o.command = cmdline;
	o.command_status = failed_cmd ? status_text : NULL;
	o.seconds = (sf_clock_ns(CLOCK_MONOTONIC) - start) / 1e9;
	o.lost = st.lost;
	if (!o.res) {
		fprintf(stderr, "synfin check: out of memory\n");
		ret = 1;
		goto cleanup;
	}
	ret = outcome_evaluate(&o) ? EXIT_EXPECT : 0;
	if (c.json)
		report_json(stdout, &o);
	else
		report_text(stdout, &o, isatty(STDOUT_FILENO));
	if (junit) {
		if (report_junit(junit, c.junit, &o, err, sizeof(err))) {
			fprintf(stderr, "synfin check: %s\n", err);
			ret = 1;
		}
		junit = NULL;
	}
	if (failed_cmd)
		ret = EXIT_COMMAND;
cleanup:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		kill_cgroup(&c);
		waitpid(pid, NULL, 0);
	}
	if (junit)
		fclose(junit);
	session__close(sess);
	end_cgroup(&c);
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (go[i] >= 0)
			close(go[i]);
		if (execerr[i] >= 0)
			close(execerr[i]);
	}
	free(o.res);
	free(c.x);
	lc_vec_free(&c.lcs);
	fflush(stdout);
	return ret < 0 ? 0 : ret;
}
