// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin repro: play a sequence from the seeds on a real client/server pair in
 * a private network namespace, trace it, and check it came out as it must.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "caps.h"
#include "clock.h"
#include "cmd.h"
#include "expect.h"
#include "fdio.h"
#include "netns.h"
#include "report.h"
#include "scenario.h"
#include "session.h"
#include "view.h"

#define PORT 8080
#define SETTLE_MS 2000
#define TRIES_RACY 3

struct repro {
	int family;
	bool json;
	bool keep_going;
	bool verbose;
	const char *pcap;
	const char *record;
	struct lc_vec lcs;
};

static const char repro_usage[] =
	"Usage: synfin repro SCENARIO|all [--ipv6] [--ladder|--json] [--keep-going]\n"
	"       synfin repro --list\n"
	"Play a TCP sequence on a real client and server in a private network namespace,\n"
	"trace it, and check that it came out as it must (exit 0 only then).\n"
	"\n"
	"  --ipv6         use ::1 instead of 127.0.0.1\n"
	"  --ladder       the sequence diagram (default)\n"
	"  --json         JSON Lines: the connections, the expectations, the result\n"
	"  --keep-going   with 'all': run every scenario even after a failure\n"
	"  --pcap FILE    also capture the traffic with tcpdump, in the same namespace\n"
	"  --record FILE  also record the raw events, for synfin replay\n"
	"  -v, --verbose  show libbpf's messages\n";

static void collect(const struct sf_lifecycle *lc, void *ctx)
{
	lc_vec_push(&((struct repro *)ctx)->lcs, lc);
}

static pid_t start_tcpdump(const char *path, char *err, size_t errlen)
{
	char line[256];
	int fds[2];
	pid_t pid;
	FILE *f;

	if (pipe(fds)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp("tcpdump", "tcpdump", "-i", "lo", "--immediate-mode", "-U", "-nn", "-w",
		       path, "tcp", (char *)NULL);
		fprintf(stderr, "cannot run tcpdump: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	/* tcpdump says "listening on" once its capture is in place */
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "listening on")) {
			fclose(f);
			return pid;
		}
	}
	snprintf(err, errlen, "tcpdump did not start%s%s", f ? ": " : "", f ? line : "");
	if (f)
		fclose(f);
	else
		close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return -1;
}

static void print_ladders(const struct lc_vec *lcs)
{
	for (size_t i = 0; i < lcs->n; i++) {
		const struct sf_lifecycle *lc = &lcs->v[i], *p = NULL;
		bool shown = false;

		for (size_t k = 0; k < lcs->n && lc->pair; k++) {
			if (k == i || lcs->v[k].pair != lc->pair)
				continue;
			p = &lcs->v[k];
			shown = k < i;
		}
		if (!shown)
			sf_print_ladder(stdout, lc, p);
	}
}

/* What the workload process tells the tracing one about the scenario it ran. */
struct workload_report {
	int ret;
	char err[512];
	struct scenario_out out;
};

/*
 * The workload: the capture and the scenario, with the privileges they need
 * (nftables, CPU pinning, tcpdump), in a process of its own so the tracing one
 * can drop all of its own. It plays the scenario on "go", reports, then holds
 * the capture and any leaked socket until the pipe closes.
 */
static void workload(struct repro *r, const struct scenario *sc, int go, int report)
{
	struct workload_report rep = { 0 };
	pid_t dump = -1;
	char b;

	if (r->pcap) {
		dump = start_tcpdump(r->pcap, rep.err, sizeof(rep.err));
		if (dump < 0)
			rep.ret = -EIO;
	}
	/* no "go" means the tracing process gave up: end the capture all the same */
	if (!rep.ret && read(go, &b, 1) == 1) {
		rep.ret = scenario_run(sc, r->family, PORT, &rep.out, rep.err, sizeof(rep.err));
		sf_write_full(report, &rep, sizeof(rep));
	} else if (rep.ret) {
		sf_write_full(report, &rep, sizeof(rep));
	}
	while (read(go, &b, 1) > 0)
		;
	/* the capture ends with the trace, before the leaked socket is let go; tcpdump
	 * drops what it has not read yet when interrupted, so let it catch up */
	if (dump > 0) {
		usleep(300000);
		kill(dump, SIGINT);
		waitpid(dump, NULL, 0);
	}
	if (rep.out.leftover_pid > 0) {
		kill(rep.out.leftover_pid, SIGKILL);
		waitpid(rep.out.leftover_pid, NULL, 0);
	}
	_exit(0);
}

/* Traces until the workload has reported, then reads its report. */
static int await_workload(struct session *sess, int report, struct workload_report *rep)
{
	struct pollfd pfd = { .fd = report, .events = POLLIN };

	for (;;) {
		int n;

		if (session__poll(sess, 20) < 0)
			return -EIO;
		n = poll(&pfd, 1, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			break;
	}
	if (sf_read_full(report, rep, sizeof(*rep)) != (ssize_t)sizeof(*rep))
		return -EPIPE;
	rep->err[sizeof(rep->err) - 1] = 0;
	return 0;
}

/* One attempt, in the calling (child) process: returns its exit status. */
static int run_once(struct repro *r, const struct scenario *sc, int attempt)
{
	struct session_opts so = { 0 };
	struct session *sess = NULL;
	struct expect x[SCENARIO_MAX_EXPECT];
	struct expect_result res[SCENARIO_MAX_EXPECT];
	struct workload_report rep = { 0 };
	struct tracker_stats st;
	struct outcome o = { 0 };
	char err[600], title[256], notes[700];
	int go[2] = { -1, -1 }, report[2] = { -1, -1 };
	uint64_t deadline, want_live;
	pid_t work = -1;
	struct stat nst;
	size_t nx = 0;
	int ret;

	for (int i = 0; i < SCENARIO_MAX_EXPECT && sc->expect[i]; i++) {
		if (expect_parse(sc->expect[i], &x[nx++], err, sizeof(err))) {
			fprintf(stderr, "synfin repro: %s: bad built-in expectation: %s\n",
				sc->name, err);
			return 1;
		}
	}
	if (sf_enter_new_netns(err, sizeof(err))) {
		fprintf(stderr, "synfin repro: %s\n", err);
		return 1;
	}
	if (stat("/proc/self/ns/net", &nst)) {
		fprintf(stderr, "synfin repro: /proc/self/ns/net: %s\n", strerror(errno));
		return 1;
	}
	if (pipe2(go, O_CLOEXEC) || pipe2(report, O_CLOEXEC)) {
		fprintf(stderr, "synfin repro: pipe: %s\n", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	fflush(NULL);
	work = fork();
	if (work < 0) {
		fprintf(stderr, "synfin repro: fork: %s\n", strerror(errno));
		ret = 1;
		goto cleanup;
	}
	if (work == 0) {
		close(go[1]);
		close(report[0]);
		workload(r, sc, go[0], report[1]);
	}
	close(go[0]);
	close(report[1]);
	go[0] = report[1] = -1;
	so.tracer.netns = (uint32_t)nst.st_ino;
	so.tracer.verbose = r->verbose;
	so.record = r->record;
	so.ops = (struct tracker_ops){ collect, NULL, r };
	so.realtime_offset_ns =
		(int64_t)(sf_clock_ns(CLOCK_REALTIME) - sf_clock_ns(CLOCK_MONOTONIC));
	ret = session__open(&sess, &so, err, sizeof(err));
	if (!ret)
		ret = sf_drop_privileges(0, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "synfin repro: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	if (sf_write_full(go[1], "g", 1) || await_workload(sess, report[0], &rep)) {
		fprintf(stderr, "synfin repro: %s: the workload process failed\n", sc->name);
		ret = 1;
		goto cleanup;
	}
	if (rep.ret) {
		fprintf(stderr, "synfin repro: %s: %s\n", sc->name, rep.err);
		ret = 1;
		goto cleanup;
	}
	/* let the closes finish; a leaked CLOSE_WAIT stays open on purpose */
	want_live = rep.out.leftover_pid ? 1 : 0;
	deadline = sf_clock_ns(CLOCK_MONOTONIC) + SETTLE_MS * 1000000ull;
	for (;;) {
		if (session__poll(sess, 20) < 0)
			break;
		session__stats(sess, &st);
		if (st.live <= want_live || sf_clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
	}
	if (session__finish(sess, err, sizeof(err)))
		fprintf(stderr, "synfin repro: %s\n", err);
	session__stats(sess, &st);

	snprintf(title, sizeof(title), "%s: %s", sc->name, sc->what);
	if (attempt > 1)
		snprintf(notes, sizeof(notes), "%s%sthe FINs crossed on attempt %d", rep.out.notes,
			 rep.out.notes[0] ? "; " : "", attempt);
	else
		snprintf(notes, sizeof(notes), "%s", rep.out.notes);
	o.name = sc->name;
	o.x = x;
	o.nx = nx;
	o.res = res;
	o.lcs = &r->lcs;
	o.command = NULL;
	o.notes = notes;
	o.lost = st.lost;
	ret = outcome_evaluate(&o) ? 1 : 0;
	if (r->json) {
		report_json(stdout, &o);
	} else {
		printf("== %s\n", title);
		print_ladders(&r->lcs);
		report_text(stdout, &o, false);
		printf("\n");
	}
cleanup:
	fflush(stdout);
	/* closing go lets the workload end its capture and its leaked socket */
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	if (work > 0)
		waitpid(work, NULL, 0);
	session__close(sess);
	return ret;
}

static void copy_out(FILE *from)
{
	char buf[4096];
	size_t n;

	rewind(from);
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		fwrite(buf, 1, n, stdout);
	fflush(stdout);
}

/*
 * Each attempt runs in a child, in a namespace of its own. A racy scenario may
 * take more than one; only the last attempt's output is shown.
 */
static int run_scenario(struct repro *r, const struct scenario *sc)
{
	int tries = strcmp(sc->name, "simultaneous") ? 1 : TRIES_RACY;
	int status = 1;

	for (int attempt = 1; attempt <= tries; attempt++) {
		FILE *tmp = tries > 1 ? tmpfile() : NULL;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "synfin repro: fork: %s\n", strerror(errno));
			if (tmp)
				fclose(tmp);
			return 1;
		}
		if (pid == 0) {
			if (tmp)
				dup2(fileno(tmp), STDOUT_FILENO);
			_exit(run_once(r, sc, attempt));
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
			status = 1;
		else
			status = WEXITSTATUS(status);
		if (tmp && (!status || attempt == tries))
			copy_out(tmp);
		if (tmp)
			fclose(tmp);
		if (!status)
			break;
	}
	return status;
}

int cmd_repro(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ipv6", no_argument, NULL, '6' },
		{ "ladder", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "list", no_argument, NULL, 'L' },
		{ "pcap", required_argument, NULL, 'p' },
		{ "record", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct repro r = { .family = AF_INET };
	bool list = false, ladder = false;
	const char *name;
	int opt, failed = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (opt) {
		case '6':
			r.family = AF_INET6;
			break;
		case 'l':
			ladder = true;
			break;
		case 'j':
			r.json = true;
			break;
		case 'k':
			r.keep_going = true;
			break;
		case 'L':
			list = true;
			break;
		case 'p':
			r.pcap = optarg;
			break;
		case 'r':
			r.record = optarg;
			break;
		case 'v':
			r.verbose = true;
			break;
		case 'h':
			fputs(repro_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "synfin repro: option %s needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr,
				"synfin repro: unknown option '%s' (see synfin repro --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (list) {
		for (size_t i = 0; i < sf_nscenarios; i++)
			printf("%-16s %s\n", sf_scenarios[i].name, sf_scenarios[i].what);
		return 0;
	}
	if (ladder && r.json) {
		fprintf(stderr, "synfin repro: --ladder and --json exclude each other\n");
		return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "synfin repro: name one SCENARIO, or all (synfin repro --list)\n");
		return 2;
	}
	name = argv[optind];
	if (strcmp(name, "all") && !scenario_find(name)) {
		fprintf(stderr, "synfin repro: unknown scenario '%s' (synfin repro --list)\n",
			name);
		return 2;
	}
	if ((r.pcap || r.record) && !strcmp(name, "all")) {
		fprintf(stderr, "synfin repro: --pcap and --record take one scenario, not all\n");
		return 2;
	}
	if (geteuid() != 0 || !sf_have_bpf_privileges()) {
		fprintf(stderr, "synfin repro: needs root (BPF and network namespaces)\n");
		return 1;
	}
	for (size_t i = 0; i < sf_nscenarios; i++) {
		if (strcmp(name, "all") && strcmp(name, sf_scenarios[i].name))
			continue;
		if (run_scenario(&r, &sf_scenarios[i])) {
			failed++;
			if (!r.keep_going)
				break;
		}
	}
	return failed ? 1 : 0;
}
