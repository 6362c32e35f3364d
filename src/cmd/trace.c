// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* synfin trace / synfin replay: events -> engine -> views, live or from a recording. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "caps.h"
#include "cgroup.h"
#include "clock.h"
#include "cmd.h"
#include "filter.h"
#include "loader.h"
#include "netns.h"
#include "parse.h"
#include "record.h"
#include "session.h"
#include "tracker.h"
#include "view.h"

#define POLL_MS 100
#define HOLD_CHECK_NS 100000000ull
#define OUT_BUF (1 << 16)

struct run {
	struct tracker *trk; /* replay only: live runs have the session's */
	struct view *view;
	struct sf_filter filter;
	FILE *out;
};

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static void on_lifecycle(const struct sf_lifecycle *lc, void *ctx)
{
	struct run *r = ctx;

	view__lifecycle(r->view, lc, sf_filter_lifecycle(&r->filter, lc));
}

static void on_transition(const struct sf_transition *tr, void *ctx)
{
	struct run *r = ctx;

	view__transition(r->view, tr, sf_filter_transition(&r->filter, tr));
}

enum opt_ids {
	OPT_COMM = 256,
	OPT_PORT,
	OPT_LPORT,
	OPT_RPORT,
	OPT_ADDR,
	OPT_NETNS,
	OPT_CGROUP,
	OPT_STATES,
	OPT_LADDER,
	OPT_JSON,
	OPT_DURATION,
	OPT_RECORD,
	OPT_RINGBUF,
	OPT_ATTACH,
	OPT_MAX_CONNS,
};

static const struct option trace_long[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "lport", required_argument, NULL, OPT_LPORT },
	{ "rport", required_argument, NULL, OPT_RPORT },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "states", no_argument, NULL, OPT_STATES },
	{ "ladder", no_argument, NULL, OPT_LADDER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "timestamp", no_argument, NULL, 'T' },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static const char trace_usage[] =
	"Usage: synfin trace [OPTIONS]\n"
	"Trace TCP connection lifecycles: handshake, close kind, closer, TIME_WAIT.\n"
	"\n"
	"Views (default: one line per finished connection):\n"
	"      --states            one line per state transition\n"
	"      --ladder            sequence diagram of handshake and close, with seq/ack\n"
	"      --json              JSON Lines (add --states for transition lines)\n"
	"  -T, --timestamp         print wall-clock times\n"
	"Filters:\n"
	"  -p, --pid PID           owning process (seen in process context)\n"
	"      --comm NAME         owning command name\n"
	"      --port PORT         either port;  --lport PORT, --rport PORT\n"
	"      --addr ADDR         either address (IPv4 or IPv6)\n"
	"      --netns PATH|INODE  one network namespace\n"
	"      --cgroup PATH       sockets owned by one cgroup v2\n"
	"  -4, --ipv4 / -6, --ipv6 one family\n"
	"Run:\n"
	"      --duration SECONDS  stop after this long\n"
	"      --record FILE       also write the raw events, for synfin replay (mode 0600)\n"
	"      --ringbuf-size SIZE ring buffer bytes, a power of two (K/M suffix; default 16M)\n"
	"      --attach MODE       auto (default), tp_btf or tracepoint\n"
	"      --max-conns N       endpoints tracked at once (default 1048576); past it new\n"
	"                          ones are not tracked, and counted as untracked\n"
	"  -v, --verbose           show libbpf's messages\n";

static const char replay_usage[] =
	"Usage: synfin replay [OPTIONS] FILE\n"
	"Run the lifecycle engine on a recording made by synfin trace --record.\n"
	"Takes the views and filters of synfin trace (--states --ladder --json -T -p --comm\n"
	"--port --lport --rport --addr --netns INODE -4 -6).\n";

struct cmd_opts {
	struct sf_filter filter;
	struct view_opts view;
	struct tracer_opts tracer;
	struct tracker_opts tracker;
	const char *record;
	uint64_t duration_s;
	bool states;
	bool ladder;
	bool json;
	int npos;
	char **pos;
};

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "synfin %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see synfin %s --help)\n", cmd);
	return 2;
}

static int parse_size(const char *s, size_t *out)
{
	uint64_t mult = 1, v;
	char buf[32];
	size_t n = strlen(s);

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == 'K' || buf[n - 1] == 'k')
		mult = 1 << 10;
	else if (buf[n - 1] == 'M' || buf[n - 1] == 'm')
		mult = 1 << 20;
	else if (buf[n - 1] == 'G' || buf[n - 1] == 'g')
		mult = 1 << 30;
	if (mult > 1)
		buf[n - 1] = 0;
	if (sf_parse_u64(buf, 1ull << 32, &v) || !v)
		return -EINVAL;
	v *= mult;
	/* the kernel wants a power of two, at least a page */
	if (v < 4096 || v > (1ull << 31) || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

/* Returns 0, or the exit status of a usage error. */
static int parse_opts(const char *cmd, int argc, char **argv, struct cmd_opts *o, bool live)
{
	char err[256];
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:46Tvh", trace_long, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (sf_parse_u64(optarg, UINT32_MAX, &v) || !v)
				return usage_error(cmd, "invalid --pid '%s'", optarg);
			o->filter.pid = (uint32_t)v;
			break;
		case OPT_COMM:
			if (!*optarg || strlen(optarg) >= SF_COMM_LEN)
				return usage_error(cmd, "invalid --comm '%s' (1 to 15 characters)",
						   optarg);
			o->filter.comm = optarg;
			break;
		case OPT_PORT:
		case OPT_LPORT:
		case OPT_RPORT: {
			uint16_t *p = c == OPT_PORT  ? &o->filter.port :
				      c == OPT_LPORT ? &o->filter.lport :
						       &o->filter.rport;

			if (sf_parse_port(optarg, p))
				return usage_error(cmd, "invalid port '%s' (1-65535)", optarg);
			break;
		}
		case OPT_ADDR:
			if (sf_parse_addr(optarg, &o->filter.addr_family, o->filter.addr))
				return usage_error(cmd, "invalid --addr '%s'", optarg);
			o->filter.has_addr = true;
			break;
		case OPT_NETNS:
			if (!live) {
				if (sf_parse_u64(optarg, UINT32_MAX, &v) || !v)
					return usage_error(cmd,
							   "replay takes --netns INODE, not '%s'",
							   optarg);
				o->filter.netns = (uint32_t)v;
			} else if (sf_resolve_netns(optarg, &o->filter.netns, err, sizeof(err))) {
				fprintf(stderr, "synfin %s: %s\n", cmd, err);
				return 2;
			}
			break;
		case OPT_CGROUP:
			if (!live) {
				if (sf_parse_u64(optarg, UINT64_MAX, &v) || !v)
					return usage_error(
						cmd, "replay takes --cgroup ID, not '%s'", optarg);
				o->filter.cgroup_id = v;
			} else if (sf_resolve_cgroup(optarg, &o->filter.cgroup_id, err,
						     sizeof(err))) {
				fprintf(stderr, "synfin %s: %s\n", cmd, err);
				return 2;
			}
			break;
		case '4':
		case '6':
			if (o->filter.family)
				return usage_error(cmd, "%s", "-4 and -6 exclude each other");
			o->filter.family = c == '4' ? 2 : 10;
			break;
		case OPT_STATES:
			o->states = true;
			break;
		case OPT_LADDER:
			o->ladder = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'T':
			o->view.timestamps = true;
			break;
		case 'v':
			o->tracer.verbose = true;
			break;
		case OPT_DURATION:
			if (!live || sf_parse_u64(optarg, 86400 * 365, &v) || !v)
				return usage_error(cmd, "invalid --duration '%s'", optarg);
			o->duration_s = v;
			break;
		case OPT_RECORD:
			if (!live)
				return usage_error(cmd, "%s", "--record is for synfin trace");
			o->record = optarg;
			break;
		case OPT_RINGBUF:
			if (!live || parse_size(optarg, &o->tracer.ringbuf_size))
				return usage_error(cmd,
						   "invalid --ringbuf-size '%s' (a power of two, "
						   "4K to 2G)",
						   optarg);
			break;
		case OPT_MAX_CONNS:
			if (sf_parse_u64(optarg, 1 << 30, &v) || !v)
				return usage_error(cmd, "invalid --max-conns '%s' (1 to 2^30)",
						   optarg);
			o->tracker.max_conns = v;
			break;
		case OPT_ATTACH:
			if (!live)
				return usage_error(cmd, "%s", "--attach is for synfin trace");
			if (!strcmp(optarg, "auto"))
				o->tracer.attach = TRACER_ATTACH_AUTO;
			else if (!strcmp(optarg, "tp_btf"))
				o->tracer.attach = TRACER_ATTACH_TP_BTF;
			else if (!strcmp(optarg, "tracepoint"))
				o->tracer.attach = TRACER_ATTACH_TRACEPOINT;
			else
				return usage_error(
					cmd, "invalid --attach '%s' (auto, tp_btf, tracepoint)",
					optarg);
			break;
		case 'h':
			fputs(live ? trace_usage : replay_usage, stdout);
			return -1;
		case ':':
			return usage_error(cmd, "option %s needs a value", argv[optind - 1]);
		default:
			return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o->ladder + o->json > 1)
		return usage_error(cmd, "%s", "--ladder and --json exclude each other");
	if (o->ladder && o->states)
		return usage_error(cmd, "%s", "--ladder and --states exclude each other");
	o->view.mode = o->json	 ? SF_VIEW_JSON :
		       o->ladder ? SF_VIEW_LADDER :
		       o->states ? SF_VIEW_STATES :
				   SF_VIEW_LINES;
	o->view.json_states = o->json && o->states;
	o->npos = argc - optind;
	o->pos = argv + optind;
	/* what can be filtered in the kernel is filtered there too */
	o->tracer.netns = o->filter.netns;
	o->tracer.cgroup_id = o->filter.cgroup_id;
	o->tracer.family = o->filter.family;
	o->tracer.port = o->filter.port;
	o->tracer.lport = o->filter.lport;
	o->tracer.rport = o->filter.rport;
	return 0;
}

static int run_init(struct run *r, struct cmd_opts *o, FILE *out)
{
	memset(r, 0, sizeof(*r));
	r->filter = o->filter;
	r->out = out;
	o->view.out = out;
	return view__new(&r->view, &o->view);
}

static void run_fini(struct run *r)
{
	tracker__free(r->trk);
	view__free(r->view);
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a closed pipe shows as EPIPE on write, and we stop cleanly */
	signal(SIGPIPE, SIG_IGN);
}

/*
 * The JSON view batches its lines into large writes of its own: a stdio buffer
 * in between would only copy every byte once more. The other views print
 * through stdio, buffered here; the caller frees what this returns.
 */
static char *buffer_stdout(bool json, bool line_buffered)
{
	char *buf;

	if (json) {
		setvbuf(stdout, NULL, _IONBF, 0);
		return NULL;
	}
	buf = malloc(OUT_BUF);
	if (buf)
		setvbuf(stdout, buf, line_buffered ? _IOLBF : _IOFBF, OUT_BUF);
	return buf;
}

int cmd_trace(int argc, char **argv)
{
	struct session_opts so = { 0 };
	struct session *sess = NULL;
	struct tracker_stats st;
	uint64_t deadline = 0, now, last_advance = 0;
	struct cmd_opts o;
	char err[512];
	struct run r;
	char *obuf;
	int ret;

	ret = parse_opts("trace", argc, argv, &o, true);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.npos)
		return usage_error("trace", "unexpected argument '%s'", o.pos[0]);
	obuf = buffer_stdout(o.json, isatty(STDOUT_FILENO));
	o.view.realtime_offset_ns =
		(int64_t)(sf_clock_ns(CLOCK_REALTIME) - sf_clock_ns(CLOCK_MONOTONIC));
	if (run_init(&r, &o, stdout)) {
		fprintf(stderr, "synfin trace: out of memory\n");
		ret = 1;
		goto cleanup;
	}
	setup_signals();
	so.tracer = o.tracer;
	so.tracker = o.tracker;
	so.record = o.record;
	so.ops = (struct tracker_ops){ on_lifecycle, o.states ? on_transition : NULL, &r };
	so.realtime_offset_ns = o.view.realtime_offset_ns;
	ret = session__open(&sess, &so, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "synfin trace: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	/* loaded, attached, ring buffer and recording open: nothing more needs privilege */
	ret = sf_drop_privileges(0, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "synfin trace: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	/* on stderr in every view: scripts wait for this line before they start traffic */
	fprintf(stderr, "synfin: tracing TCP lifecycles (%s); Ctrl-C to stop\n",
		session__attach_name(sess));
	if (o.duration_s)
		deadline = sf_clock_ns(CLOCK_MONOTONIC) + o.duration_s * 1000000000ull;
	while (!exiting) {
		ret = session__poll(sess, POLL_MS);
		if (ret < 0) {
			fprintf(stderr, "synfin trace: reading the ring buffer: %s\n",
				strerror(-ret));
			ret = 1;
			goto cleanup;
		}
		now = sf_clock_ns(CLOCK_MONOTONIC);
		if (now - last_advance >= HOLD_CHECK_NS) {
			last_advance = now;
			view__advance(r.view, now);
		}
		/* stop once the reader of our output has gone (EPIPE) */
		view__flush(r.view);
		if (fflush(stdout) || ferror(stdout))
			break;
		if (deadline && now >= deadline)
			break;
	}
	ret = session__finish(sess, err, sizeof(err));
	session__stats(sess, &st);
	view__finish(r.view, &st);
	fflush(stdout);
	if (ret) {
		fprintf(stderr, "synfin trace: %s\n", err);
		ret = 1;
	}
cleanup:
	session__close(sess);
	run_fini(&r);
	fflush(stdout);
	setvbuf(stdout, NULL, _IONBF, 0);
	free(obuf);
	return ret;
}

int cmd_replay(int argc, char **argv)
{
	struct tracker_stats st;
	struct sf_rec_header hdr;
	struct reader *rd = NULL;
	const struct sf_event *e;
	uint64_t last_ts = 0, n = 0;
	bool ended = false;
	struct cmd_opts o;
	char err[512];
	struct run r;
	char *obuf;
	int ret;

	ret = parse_opts("replay", argc, argv, &o, false);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.npos != 1)
		return usage_error("replay", "%s", "needs exactly one recording FILE");
	obuf = buffer_stdout(o.json, false);
	signal(SIGPIPE, SIG_IGN);
	if (run_init(&r, &o, stdout) ||
	    tracker__new(&r.trk, &o.tracker,
			 &(struct tracker_ops){ on_lifecycle, o.states ? on_transition : NULL,
						&r })) {
		fprintf(stderr, "synfin replay: out of memory\n");
		ret = 1;
		goto cleanup;
	}
	if (reader__open(&rd, o.pos[0], &hdr, err, sizeof(err))) {
		fprintf(stderr, "synfin replay: %s\n", err);
		ret = 1;
		goto cleanup;
	}
	view__free(r.view);
	o.view.realtime_offset_ns = (int64_t)hdr.realtime_offset_ns;
	if (view__new(&r.view, &o.view)) {
		fprintf(stderr, "synfin replay: out of memory\n");
		ret = 1;
		goto cleanup;
	}
	while ((ret = reader__next(rd, &e, err, sizeof(err))) == 1) {
		n++;
		if (ended) {
			fprintf(stderr, "synfin replay: %s: record %llu follows the end marker\n",
				o.pos[0], (unsigned long long)n - 1);
			ret = 1;
			goto cleanup;
		}
		if (tracker__feed(r.trk, e)) {
			fprintf(stderr, "synfin replay: %s: record %llu is not a valid event\n",
				o.pos[0], (unsigned long long)n - 1);
			ret = 1;
			goto cleanup;
		}
		if (e->ts_ns > last_ts)
			last_ts = e->ts_ns;
		if (e->kind == SF_EV_END)
			ended = true;
		view__advance(r.view, last_ts);
		if (ferror(stdout))
			break;
	}
	if (ret < 0) {
		fprintf(stderr, "synfin replay: %s: %s\n", o.pos[0], err);
		ret = 1;
		goto cleanup;
	}
	if (!ended) {
		fprintf(stderr,
			"synfin replay: %s has no end marker (was the tracer killed?); "
			"closing at its last event\n",
			o.pos[0]);
		tracker__flush(r.trk, last_ts);
	}
	tracker__stats(r.trk, &st);
	view__finish(r.view, &st);
	ret = 0;
cleanup:
	reader__close(rd);
	run_fini(&r);
	fflush(stdout);
	setvbuf(stdout, NULL, _IONBF, 0);
	free(obuf);
	return ret;
}
