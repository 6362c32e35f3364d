// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * synfin repro: play a sequence from the seeds on a real client/server pair in
 * a private network namespace, trace it, and check it came out as it must.
 */
#include <errno.h>
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
#include "cli.h"
#include "clock.h"
#include "cmd.h"
#include "expect.h"
#include "fdio.h"
#include "netns.h"
#include "parse.h"
#include "report.h"
#include "scenario.h"
#include "session.h"
#include "spawn.h"
#include "view.h"

#define CMD "repro"
#define PORT 8080
#define SETTLE_NS (2 * SF_NS_PER_S)
/*
 * Attempts at a racy scenario. Under QEMU (6.12, clean CI) all of 3 attempts
 * at crossing FINs once came out with the client's FIN acknowledged before
 * the server's FIN reached it (a plain close on that side): 5 make that rare.
 */
#define TRIES_RACY 5

struct repro {
	int family;
	bool json;
	bool ladder;
	bool keep_going;
	bool list;
	bool verbose;
	const char *pcap;
	const char *record;
	struct lc_vec lcs;
};

/* What the workload process tells the tracing one about the scenario it ran. */
struct workload_report {
	int ret;
	char err[512];
	struct scenario_out out;
};

/* One attempt at a scenario, in a process of its own. */
struct attempt {
	struct repro *r;
	const struct scenario *sc;
	int n; /* 1, 2, ...: a racy scenario may take more than one */
	struct expect x[SCENARIO_MAX_EXPECT];
	size_t nx;
	struct spawn work;
	struct session *sess;
	struct workload_report rep;
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
		const struct sf_lifecycle *lc = &lcs->v[i], *p = lc_vec_partner(lcs, lc);

		/* a connection shows once, at its first endpoint */
		if (!p || p > lc)
			sf_print_ladder(stdout, lc, p);
	}
}

/*
 * tcpdump drops what it has not read yet when interrupted, and writes each
 * packet as it reads it (-U): wait until its file has not grown for 1 s (5 s
 * at most), however slow a loaded machine makes it. With 300 ms, under ASan
 * on two busy CPUs, the last ACK (which synfin saw) was once missing.
 */
static void await_capture(const char *path)
{
	off_t last = -1;
	int quiet = 0;

	for (int waited = 0; quiet < 1000 && waited < 5000; waited += 50) {
		struct stat st;
		off_t size = stat(path, &st) ? -1 : st.st_size;

		quiet = size == last ? quiet + 50 : 0;
		last = size;
		usleep(50000);
	}
}

/*
 * The workload: the capture and the scenario, with the privileges they need
 * (nftables, CPU pinning, tcpdump), in a process of its own so the tracing one
 * can drop all of its own. It plays the scenario on "go", reports, then holds
 * the capture and any leaked socket until "go" closes.
 */
static int workload_main(void *ctx, int go, int report)
{
	struct attempt *a = ctx;
	struct workload_report rep = { 0 };
	pid_t dump = -1;

	if (a->r->pcap) {
		dump = start_tcpdump(a->r->pcap, rep.err, sizeof(rep.err));
		if (dump < 0)
			rep.ret = -EIO;
	}
	/* no "go" means the tracing process gave up: end the capture all the same */
	if (!rep.ret && spawn_await_go(go)) {
		rep.ret =
			scenario_run(a->sc, a->r->family, PORT, &rep.out, rep.err, sizeof(rep.err));
		sf_write_full(report, &rep, sizeof(rep));
	} else if (rep.ret) {
		sf_write_full(report, &rep, sizeof(rep));
	}
	spawn_await_close(go);
	/* the capture ends with the trace, before the leaked socket is let go */
	if (dump > 0) {
		await_capture(a->r->pcap);
		kill(dump, SIGINT);
		waitpid(dump, NULL, 0);
	}
	if (rep.out.leftover_pid > 0) {
		kill(rep.out.leftover_pid, SIGKILL);
		waitpid(rep.out.leftover_pid, NULL, 0);
	}
	return 0;
}

static int parse_expectations(struct attempt *a)
{
	char err[600];

	for (int i = 0; i < SCENARIO_MAX_EXPECT && a->sc->expect[i]; i++) {
		if (expect_parse(a->sc->expect[i], &a->x[a->nx++], err, sizeof(err)))
			return cli_error(CMD, "%s: bad built-in expectation: %s", a->sc->name, err);
	}
	return 0;
}

/*
 * In a new network namespace: the workload forked with its privileges, then
 * the trace of the namespace opened and every privilege of ours dropped.
 */
static int open_trace(struct attempt *a)
{
	struct session_opts so = { .record = a->r->record };
	struct stat nst;
	char err[600];
	int ret;

	if (sf_enter_new_netns(err, sizeof(err)) ||
	    spawn__start(&a->work, workload_main, a, err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	if (stat("/proc/self/ns/net", &nst))
		return cli_error(CMD, "/proc/self/ns/net: %s", strerror(errno));
	so.tracer.netns = (uint32_t)nst.st_ino;
	so.tracer.verbose = a->r->verbose;
	so.ops = (struct tracker_ops){ session_collect, NULL, &a->r->lcs };
	so.realtime_offset_ns = sf_realtime_offset_ns();
	ret = session__open(&a->sess, &so, err, sizeof(err));
	if (!ret)
		ret = sf_drop_privileges(0, err, sizeof(err));
	if (ret)
		return cli_error(CMD, "%s", err);
	return 0;
}

/* Traces the scenario until the workload reports, then while its closes finish. */
static int play(struct attempt *a)
{
	struct workload_report *rep = &a->rep;
	char err[600];

	if (spawn__go(&a->work) ||
	    spawn__read(&a->work, a->sess, rep, sizeof(*rep)) != (ssize_t)sizeof(*rep))
		return cli_error(CMD, "%s: the workload process failed", a->sc->name);
	rep->err[sizeof(rep->err) - 1] = 0;
	if (rep->ret)
		return cli_error(CMD, "%s: %s", a->sc->name, rep->err);
	/* a leaked CLOSE_WAIT stays open on purpose */
	if (session__settle(a->sess, rep->out.leftover_pid ? 1 : 0, sf_mono_ns() + SETTLE_NS, NULL,
			    err, sizeof(err)))
		return cli_error(CMD, "%s", err);
	if (session__finish(a->sess, err, sizeof(err)))
		cli_error(CMD, "%s", err);
	return 0;
}

static int report_attempt(struct attempt *a)
{
	struct expect_result res[SCENARIO_MAX_EXPECT];
	struct outcome o = { .name = a->sc->name, .x = a->x, .nx = a->nx, .res = res };
	const char *seen = a->rep.out.notes;
	struct tracker_stats st;
	char notes[700];
	int ret;

	if (a->n > 1)
		snprintf(notes, sizeof(notes), "%s%s%s on attempt %d", seen, seen[0] ? "; " : "",
			 a->sc->racy, a->n);
	else
		snprintf(notes, sizeof(notes), "%s", seen);
	session__stats(a->sess, &st);
	lc_vec_settle(&a->r->lcs);
	o.lcs = &a->r->lcs;
	o.notes = notes;
	o.lost = st.lost;
	o.missed = st.missed;
	ret = outcome_evaluate(&o) ? SF_EXIT_FAIL : SF_EXIT_OK;
	if (a->r->json) {
		report_json(stdout, &o);
		return ret;
	}
	printf("== %s: %s\n", a->sc->name, a->sc->what);
	print_ladders(&a->r->lcs);
	report_text(stdout, &o, false);
	printf("\n");
	return ret;
}

/* One attempt, in the calling (child) process: returns its exit status. */
static int run_once(struct repro *r, const struct scenario *sc, int n)
{
	struct attempt a = { .r = r, .sc = sc, .n = n };
	int ret = parse_expectations(&a);

	if (!ret)
		ret = open_trace(&a);
	if (!ret)
		ret = play(&a);
	if (!ret)
		ret = report_attempt(&a);
	fflush(stdout);
	/* closing "go" lets the workload end its capture and its leaked socket */
	spawn__wait(&a.work);
	session__close(a.sess);
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
	int tries = sc->racy ? TRIES_RACY : 1;
	int status = 1;

	for (int attempt = 1; attempt <= tries; attempt++) {
		FILE *tmp = tries > 1 ? tmpfile() : NULL;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			cli_error(CMD, "fork: %s", strerror(errno));
			if (tmp)
				fclose(tmp);
			return SF_EXIT_FAIL;
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

/* One option: 0, an exit status, or -1 when the command is done (--help). */
static int repro_option(struct repro *r, int opt)
{
	switch (opt) {
	case '6':
		r->family = AF_INET6;
		break;
	case 'l':
		r->ladder = true;
		break;
	case 'j':
		r->json = true;
		break;
	case 'k':
		r->keep_going = true;
		break;
	case 'L':
		r->list = true;
		break;
	case 'p':
		r->pcap = optarg;
		break;
	case 'r':
		r->record = optarg;
		break;
	case 'v':
		r->verbose = true;
		break;
	default:
		fputs(repro_usage, stdout);
		return -1;
	}
	return 0;
}

/* The options, and the scenario named (or "all") in *name unless --list. */
static int parse_args(struct repro *r, int argc, char **argv, const char **name)
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
	int opt, ret = 0;

	optind = 1;
	opterr = 0;
	while (!ret && (opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1)
		ret = opt == ':' || opt == '?' ? cli_bad_option(CMD, opt, argv) :
						 repro_option(r, opt);
	if (ret || r->list)
		return ret;
	if (r->ladder && r->json)
		return cli_usage(CMD, "--ladder and --json exclude each other");
	if (optind != argc - 1) {
		cli_error(CMD, "name one SCENARIO, or all (synfin repro --list)");
		return SF_EXIT_USAGE;
	}
	*name = argv[optind];
	if (strcmp(*name, "all") && !scenario_find(*name)) {
		cli_error(CMD, "unknown scenario '%s' (synfin repro --list)", *name);
		return SF_EXIT_USAGE;
	}
	if ((r->pcap || r->record) && !strcmp(*name, "all"))
		return cli_usage(CMD, "--pcap and --record take one scenario, not all");
	return 0;
}

int cmd_repro(int argc, char **argv)
{
	struct repro r = { .family = AF_INET };
	const char *name = NULL;
	int ret = parse_args(&r, argc, argv, &name), failed = 0;

	if (ret)
		return ret < 0 ? SF_EXIT_OK : ret;
	if (r.list) {
		for (size_t i = 0; i < sf_nscenarios; i++)
			printf("%-16s %s\n", sf_scenarios[i].name, sf_scenarios[i].what);
		return SF_EXIT_OK;
	}
	if (geteuid() != 0 || !sf_have_bpf_privileges())
		return cli_error(CMD, "needs root (BPF and network namespaces)");
	for (size_t i = 0; i < sf_nscenarios; i++) {
		if (strcmp(name, "all") && strcmp(name, sf_scenarios[i].name))
			continue;
		if (run_scenario(&r, &sf_scenarios[i])) {
			failed++;
			if (!r.keep_going)
				break;
		}
	}
	return failed ? SF_EXIT_FAIL : SF_EXIT_OK;
}
