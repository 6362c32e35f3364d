// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin check: run a command in a cgroup of its own, trace the sockets that
 * cgroup owns, and hold what they did against expectations.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
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
#include "cli.h"
#include "clock.h"
#include "cmd.h"
#include "expect.h"
#include "fdio.h"
#include "netns.h"
#include "parse.h"
#include "report.h"
#include "session.h"
#include "spawn.h"
#include "summary.h"
#include "who.h"
#include "whois.h"

#define CMD "check"
#define MAX_WAIT_NS (7ull * 86400 * SF_NS_PER_S)
/* an expectation file's bounds */
#define EXPECT_FILE_MAX (1024 * 1024) /* as said in the error */
#define EXPECT_LINE_MAX 1024 /* as said in the error */

struct check {
	/* the options */
	struct expect *x;
	size_t nx, capx;
	const char *junit_path;
	const char *host_root; /* --host-root, for the names of workloads */
	const char *summary_path;
	int summary_fd; /* --summary, opened to append before privileges go */
	uint64_t settle_ns;
	uint64_t timeout_ns; /* 0: none */
	bool netns_new;
	bool json;
	bool verbose;
	char **argv;
	/* the cgroup */
	char cgroup[512];
	char cgroot[256];
	char cgname[64];
	/* the janitor's: the hierarchy it mounted, the cgroup and its parent held open */
	bool cgroot_mounted;
	bool cgmade;
	int cgrootfd;
	int cgfd; /* the cgroup, held open so ending what is in it needs no privilege */
	struct spawn janitor;
	struct sigaction sigpipe; /* as we started with it, for COMMAND */
	/* the run */
	struct spawn cmd;
	struct session *sess;
	FILE *junit;
	struct lc_vec lcs;
	struct whois who; /* who the endpoints belong to, for the report and pod= */
	uint64_t start_ns;
	const char *cmd_status; /* NULL while COMMAND has not failed */
	char status_text[640];
};

static const char check_usage[] =
	"Usage: synfin check [OPTIONS] -- COMMAND [ARGS...]\n"
	"Run COMMAND in a cgroup of its own, trace the TCP endpoints it owns, and check them.\n"
	"\n"
	"  --expect EXPR        an expectation (repeatable), e.g.\n"
	"                       'role=client close=three-way time_wait=yes'\n"
	"  --expect-file FILE   one expectation per line; # starts a comment\n"
	"  --junit FILE         write JUnit XML: a testcase per expectation\n"
	"  --summary FILE       append a Markdown summary (results table, Mermaid ladder\n"
	"                       of each failure), e.g. to $GITHUB_STEP_SUMMARY\n"
	"  --settle SECONDS     after COMMAND exits, wait up to this long for its\n"
	"                       connections to end (default 1)\n"
	"  --timeout SECONDS    kill COMMAND after this long (exit status 4)\n"
	"  --netns-new          run COMMAND in a new network namespace with loopback up\n"
	"  --host-root DIR      where the host's / is mounted, for the names of workloads\n"
	"  --json               a JSON Lines report\n"
	"  -v, --verbose        show libbpf's messages\n"
	"\n"
	"EXPR is space-separated conditions KEY=V, KEY!=V, KEY>=N, KEY<=N.\n"
	"Selectors: role (client|server|unknown), port, lport, rport, family (ipv4|ipv6),\n"
	"pod (NAME or NS/NAME), namespace, container, unit (the workload owning the\n"
	"socket's cgroup, else its network namespace).\n"
	"Assertions: close, closer, time_wait (yes|no), handshake_us, alive (yes|no),\n"
	"half_close (yes|no), last_state, count (default count>=1).\n"
	"Exit status: 0 all hold, 1 one failed, 2 usage error, 4 COMMAND failed or timed out.\n";

static int add_expect(struct check *c, const char *text, const char *where)
{
	char err[600];

	/* doubling: a file of many lines is read in linear time */
	if (c->nx == c->capx) {
		size_t cap = c->capx ? 2 * c->capx : 16;
		struct expect *nx = realloc(c->x, cap * sizeof(*nx));

		if (!nx)
			return cli_error(CMD, "out of memory");
		c->x = nx;
		c->capx = cap;
	}
	if (expect_parse(text, &c->x[c->nx], err, sizeof(err))) {
		cli_error(CMD, "%s%s%s", where ? where : "", where ? ": " : "", err);
		return SF_EXIT_USAGE;
	}
	c->nx++;
	return 0;
}

/* One line of an expectation file, len bytes at p: 0 or an exit status. */
static int add_expect_line(struct check *c, const char *path, int lineno, const char *p, size_t len)
{
	char line[EXPECT_LINE_MAX + 1], where[600], *q = line;

	if (len > EXPECT_LINE_MAX || memchr(p, 0, len)) {
		cli_error(CMD, "%s:%d: %s", path, lineno,
			  len > EXPECT_LINE_MAX ? "longer than 1024 bytes" :
						  "a NUL byte in the line");
		return SF_EXIT_USAGE;
	}
	memcpy(line, p, len);
	line[len] = 0;
	line[strcspn(line, "#\r")] = 0;
	q += strspn(q, " \t");
	if (!*q)
		return 0;
	snprintf(where, sizeof(where), "%s:%d", path, lineno);
	return add_expect(c, q, where);
}

/* An expectation a line; /dev/zero or a huge file is refused, not read forever. */
static int read_expect_file(struct check *c, const char *path)
{
	char err[600];
	size_t n = 0;
	char *buf = sf_read_input(path, EXPECT_FILE_MAX, &n, err, sizeof(err));
	int ret = 0, lineno = 0;

	if (!buf) {
		cli_error(CMD, "--expect-file %s", err);
		ret = SF_EXIT_USAGE;
	}

	for (const char *p = buf, *end = buf + n; !ret && p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			eol = end;
		ret = add_expect_line(c, path, ++lineno, p, (size_t)(eol - p));
		p = eol + 1;
	}
	free(buf);
	return ret;
}

/* One option: 0, an exit status, or -1 when the command is done (--help). */
static int check_option(struct check *c, int opt)
{
	switch (opt) {
	case 'e':
		return add_expect(c, optarg, NULL);
	case 'f':
		return read_expect_file(c, optarg);
	case 'j':
		c->junit_path = optarg;
		return 0;
	case 'S':
		c->summary_path = optarg;
		return 0;
	case 's':
		return cli_duration(CMD, "--settle", optarg, 0, MAX_WAIT_NS, &c->settle_ns);
	case 't':
		/* at least 1ms: a timeout too short to count must not mean none */
		return cli_duration(CMD, "--timeout", optarg, SF_NS_PER_MS, MAX_WAIT_NS,
				    &c->timeout_ns);
	case 'n':
		c->netns_new = true;
		return 0;
	case 'r':
		c->host_root = optarg;
		return 0;
	case 'J':
		c->json = true;
		return 0;
	case 'v':
		c->verbose = true;
		return 0;
	default:
		fputs(check_usage, stdout);
		return -1;
	}
}

static int parse_args(struct check *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "expect-file", required_argument, NULL, 'f' },
		{ "junit", required_argument, NULL, 'j' },
		{ "summary", required_argument, NULL, 'S' },
		{ "settle", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "netns-new", no_argument, NULL, 'n' },
		{ "host-root", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt, ret = 0;

	c->settle_ns = SF_NS_PER_S;
	optind = 1;
	opterr = 0;
	while (!ret && (opt = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1)
		ret = opt == ':' || opt == '?' ? cli_bad_option(CMD, opt, argv) :
						 check_option(c, opt);
	if (ret)
		return ret;
	if (optind >= argc) {
		cli_error(CMD, "no COMMAND given (synfin check [OPTIONS] -- COMMAND)");
		return SF_EXIT_USAGE;
	}
	if (!c->nx) {
		cli_error(CMD, "no expectation given (--expect or --expect-file)");
		return SF_EXIT_USAGE;
	}
	c->argv = argv + optind;
	return 0;
}

static int check_root(const struct check *c)
{
	if (sf_have_bpf_privileges() && geteuid() == 0)
		return 0;
	return cli_error(CMD, "needs root (BPF, cgroups%s)",
			 c->netns_new ? ", network namespaces" : "");
}

/* In the janitor: the cgroup, under a hierarchy it finds or mounts. */
static int make_cgroup(struct check *c, char *err, size_t errlen)
{
	int ret = sf_cgroup2_root(c->cgroot, sizeof(c->cgroot), &c->cgroot_mounted);

	if (ret) {
		snprintf(err, errlen, "no cgroup v2 hierarchy, and mounting one failed: %s",
			 strerror(-ret));
		return ret;
	}
	snprintf(c->cgroup, sizeof(c->cgroup), "%s/%s", c->cgroot, c->cgname);
	c->cgrootfd = open(c->cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->cgrootfd < 0 || mkdirat(c->cgrootfd, c->cgname, 0755)) {
		ret = -errno;
		snprintf(err, errlen, "cannot create cgroup %s: %s", c->cgroup, strerror(errno));
		return ret;
	}
	c->cgmade = true;
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
static void kill_cgroup(int cgfd)
{
	char line[32];
	FILE *f;
	int fd;

	if (cgfd < 0 || !write_at(cgfd, "cgroup.kill", "1"))
		return;
	/* before Linux 5.14: kill them one by one */
	fd = openat(cgfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	while (f && fgets(line, sizeof(line), f))
		kill(atoi(line), SIGKILL);
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
}

/* In the janitor: what is in the cgroup dies, then the cgroup and any mount go. */
static void remove_cgroup(struct check *c)
{
	/* killed processes leave the cgroup as they exit: 10 s for the slowest */
	for (int i = 0; c->cgmade && i < 1000; i++) {
		kill_cgroup(c->cgfd);
		if (!unlinkat(c->cgrootfd, c->cgname, AT_REMOVEDIR) || errno != EBUSY)
			break;
		usleep(10000);
	}
	if (c->cgroot_mounted) {
		umount2(c->cgroot, MNT_DETACH);
		rmdir(c->cgroot);
	}
}

/* What the janitor reports once the cgroup is there: 0 and its path, or -errno and why. */
struct janitor_report {
	int ret;
	char text[600];
};

/*
 * The cgroup is made, and removed, by a process of its own: removing it takes
 * privileges we drop (the hierarchy's root is mode 555), and it must go however
 * we end, killed at any instant included. The janitor keeps its privileges,
 * ignores the signals sent to our process group, and removes the cgroup once
 * "go" closes: when we end or are gone.
 */
static int janitor_main(void *ctx, int go, int report)
{
	struct check *c = ctx;
	struct janitor_report rep = { 0 };

	rep.ret = make_cgroup(c, rep.text, sizeof(rep.text));
	if (!rep.ret)
		snprintf(rep.text, sizeof(rep.text), "%s", c->cgroup);
	sf_write_full(report, &rep, sizeof(rep));
	spawn_await_close(go);
	remove_cgroup(c);
	return 0;
}

static int prepare_cgroup(struct check *c)
{
	struct janitor_report rep = { 0 };
	char err[600];

	snprintf(c->cgname, sizeof(c->cgname), "synfin-check.%d", (int)getpid());
	if (spawn__start_as(&c->janitor, SPAWN_GUARD, janitor_main, c, err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	if (spawn__read(&c->janitor, NULL, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		return cli_error(CMD, "the cgroup's helper ended before making it");
	if (rep.ret)
		return cli_error(CMD, "%s", rep.text);
	snprintf(c->cgroup, sizeof(c->cgroup), "%.*s", (int)sizeof(c->cgroup) - 1, rep.text);
	c->cgfd = open(c->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->cgfd < 0)
		return cli_error(CMD, "cannot open cgroup %s: %s", c->cgroup, strerror(errno));
	return 0;
}

static void end_cgroup(struct check *c)
{
	if (c->cgfd >= 0)
		close(c->cgfd);
	c->cgfd = -1;
	spawn__wait(&c->janitor);
}

/*
 * COMMAND's process until its exec: it reports 0 once ready for "go", and
 * after "go" the errno of a failed exec, or nothing as the exec closes the pipe.
 */
static int command_main(void *ctx, int go, int report)
{
	struct check *c = ctx;
	char err[256];
	int e = 0;

	/* the janitor must see our parent's end of its pipe close, not wait for ours */
	close(c->janitor.go);
	sigaction(SIGPIPE, &c->sigpipe, NULL);
	if (c->netns_new)
		e = -sf_enter_new_netns(err, sizeof(err));
	if (!e) {
		if (sf_write_full(report, &e, sizeof(e)) || !spawn_await_go(go))
			return 127;
		execvp(c->argv[0], c->argv);
		e = errno;
	}
	sf_write_full(report, &e, sizeof(e));
	return 127;
}

/* Forks COMMAND, held before its exec, and moves it into the cgroup. */
static int start_command(struct check *c)
{
	char err[600], pid[32];
	ssize_t n;
	int e = 0, ret;

	if (spawn__start_as(&c->cmd, SPAWN_TIED, command_main, c, err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	n = spawn__read(&c->cmd, NULL, &e, sizeof(e));
	if (n != (ssize_t)sizeof(e) || e)
		return cli_error(CMD, "cannot prepare COMMAND: %s",
				 strerror(n == (ssize_t)sizeof(e) ? e : EIO));
	snprintf(pid, sizeof(pid), "%d", (int)c->cmd.pid);
	ret = write_at(c->cgfd, "cgroup.procs", pid);
	if (ret)
		return cli_error(CMD, "cannot move COMMAND into %s: %s", c->cgroup, strerror(-ret));
	return 0;
}

/* COMMAND and what it left running end before the cgroup goes. */
static void end_command(struct check *c)
{
	if (c->cmd.pid > 0 && !c->cmd.reaped) {
		kill(-c->cmd.pid, SIGKILL);
		kill_cgroup(c->cgfd);
	}
	spawn__wait(&c->cmd);
}

static int command_netns(const struct check *c, uint32_t *netns, char *err, size_t errlen)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)c->cmd.pid);
	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	*netns = (uint32_t)st.st_ino;
	return 0;
}

static int open_junit(struct check *c)
{
	char err[512];
	int fd = sf_create_output(c->junit_path, 0644, "--junit", err, sizeof(err)), ret;

	if (fd < 0)
		return cli_error(CMD, "%s", err);
	c->junit = fdopen(fd, "w");
	if (c->junit)
		return 0;
	ret = cli_error(CMD, "cannot write %s: %s", c->junit_path, strerror(errno));
	close(fd);
	return ret;
}

static int open_summary(struct check *c)
{
	char err[512];

	c->summary_fd = sf_append_output(c->summary_path, 0644, "--summary", err, sizeof(err));
	return c->summary_fd < 0 ? cli_error(CMD, "%s", err) : 0;
}

/* One write, so that what else appends to the file does not interleave with it. */
static int write_summary(struct check *c, const struct outcome *o)
{
	struct sf_sb b = { 0 };
	int ret;

	summary_markdown(&b, o);
	ret = b.cut ? -ENOMEM : sf_write_full(c->summary_fd, b.p, b.len);
	sf_sb_free(&b);
	if (ret)
		return cli_error(CMD, "cannot write %s: %s", c->summary_path, strerror(-ret));
	return 0;
}

/* Attaches to COMMAND's cgroup (and namespace), opens the report file, drops privileges. */
static int open_trace(struct check *c)
{
	struct session_opts so = { .ops = { session_collect, NULL, &c->lcs } };
	char err[600];
	int ret;

	so.tracer.verbose = c->verbose;
	ret = sf_resolve_cgroup(c->cgroup, &so.tracer.cgroup_id, err, sizeof(err));
	if (!ret && c->netns_new)
		ret = command_netns(c, &so.tracer.netns, err, sizeof(err));
	if (!ret)
		ret = session__open(&c->sess, &so, err, sizeof(err));
	if (ret)
		return cli_error(CMD, "%s", err);
	/*
	 * Everything that needs a privilege is open: the report file too, as the
	 * folder may belong to another user. COMMAND, already forked, keeps its own.
	 */
	if (c->junit_path && open_junit(c))
		return SF_EXIT_FAIL;
	/* the namespaces COMMAND may connect in are named while privileges last */
	if (!whois_init(&c->who, c->host_root, sf_netns_host(), err, sizeof(err))) {
		whois_prewarm(&c->who, c->host_root, &(struct sf_who_select){ 0 });
		sf_who_resolver(whois_socket, &c->who);
	}
	if (c->summary_path && open_summary(c))
		return SF_EXIT_FAIL;
	if (sf_drop_privileges(0, err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	return 0;
}

static void set_status(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_status(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->status_text, sizeof(c->status_text), fmt, ap);
	va_end(ap);
	c->cmd_status = c->status_text;
}

static void describe_status(struct check *c, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status))
		set_status(c, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		set_status(c, "killed by signal %d (%s)", WTERMSIG(status),
			   strsignal(WTERMSIG(status)));
	else if (!WIFEXITED(status))
		set_status(c, "ended with status 0x%x", status);
}

/* Traces until COMMAND ends; past --timeout, or when interrupted, ends it. */
static void await_command(struct check *c)
{
	uint64_t deadline = c->timeout_ns ? c->start_ns + c->timeout_ns : 0;
	int ret = spawn__trace(&c->cmd, c->sess, deadline, &cli_stop);

	if (!ret) {
		describe_status(c, c->cmd.status);
		return;
	}
	if (ret != -EINTR && ret != -ETIMEDOUT)
		return;
	kill_cgroup(c->cgfd);
	spawn__wait(&c->cmd);
	if (ret == -EINTR)
		set_status(c, "interrupted");
	else
		set_status(c, "timed out after %.*f s",
			   c->timeout_ns % (100 * SF_NS_PER_MS) ? 3 : 1,
			   (double)c->timeout_ns / SF_NS_PER_S);
}

/*
 * The tracer follows the cgroup by its id: once COMMAND moved out and removed
 * it, nothing it did was traced, and 0 endpoints must not pass unsaid.
 */
static void check_cgroup(struct check *c)
{
	struct stat st;

	if (!c->cmd_status && fstatat(c->cgfd, "cgroup.procs", &st, 0))
		set_status(c, "removed its cgroup %s as it ran: what it did after was not traced",
			   c->cgroup);
}

/* Lets COMMAND run and traces it, then while its connections finish closing. */
static int run_command(struct check *c)
{
	char err[600];
	int e = 0;

	if (cli_stop) {
		cli_error(CMD, "interrupted before COMMAND started");
		return SF_EXIT_COMMAND;
	}
	c->start_ns = sf_mono_ns();
	if (spawn__go(&c->cmd) || spawn__read(&c->cmd, NULL, &e, sizeof(e)) == (ssize_t)sizeof(e))
		set_status(c, "could not be run: %s", strerror(e ? e : EIO));
	else
		await_command(c);
	check_cgroup(c);
	/* what is still open after --settle is reported as open */
	if (session__settle(c->sess, 0, sf_mono_ns() + c->settle_ns, &cli_stop, err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	if (session__finish(c->sess, err, sizeof(err)))
		cli_error(CMD, "%s", err);
	return 0;
}

static void command_line(char **argv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int i = 0; argv[i] && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
}

static int report_check(struct check *c)
{
	struct outcome o = { .name = "synfin check", .x = c->x, .nx = c->nx, .lcs = &c->lcs };
	struct tracker_stats st;
	char cmdline[512], err[600];
	int ret;

	session__stats(c->sess, &st);
	command_line(c->argv, cmdline, sizeof(cmdline));
	o.command = cmdline;
	o.command_status = c->cmd_status;
	o.seconds = (sf_mono_ns() - c->start_ns) / 1e9;
	o.lost = st.lost;
	o.missed = st.missed;
	o.res = calloc(c->nx, sizeof(*o.res));
	if (!o.res)
		return cli_error(CMD, "out of memory");
	lc_vec_settle(&c->lcs);
	ret = outcome_evaluate(&o) ? SF_EXIT_FAIL : SF_EXIT_OK;
	if (c->json)
		report_json(stdout, &o);
	else
		report_text(stdout, &o, isatty(STDOUT_FILENO));
	if (c->junit) {
		if (report_junit(c->junit, c->junit_path, &o, err, sizeof(err)))
			ret = cli_error(CMD, "%s", err);
		c->junit = NULL;
	}
	if (c->summary_fd >= 0 && write_summary(c, &o))
		ret = SF_EXIT_FAIL;
	free(o.res);
	return c->cmd_status ? SF_EXIT_COMMAND : ret;
}

static void check_free(struct check *c)
{
	end_command(c);
	if (c->junit)
		fclose(c->junit);
	if (c->summary_fd >= 0)
		close(c->summary_fd);
	session__close(c->sess);
	end_cgroup(c);
	free(c->x);
	lc_vec_free(&c->lcs);
	sf_who_resolver(NULL, NULL);
	whois_fini(&c->who);
	fflush(stdout);
}

int cmd_check(int argc, char **argv)
{
	struct check c = { .cgfd = -1, .cgrootfd = -1, .summary_fd = -1 };
	int ret;

	/* interrupted at any instant, we end what we started; COMMAND gets SIGPIPE back */
	sigaction(SIGPIPE, NULL, &c.sigpipe);
	cli_signals();
	ret = parse_args(&c, argc, argv);
	if (!ret)
		ret = check_root(&c);
	if (!ret)
		ret = prepare_cgroup(&c);
	if (!ret)
		ret = start_command(&c);
	if (!ret)
		ret = open_trace(&c);
	if (!ret)
		ret = run_command(&c);
	if (!ret)
		ret = report_check(&c);
	check_free(&c);
	return ret < 0 ? SF_EXIT_OK : ret;
}
