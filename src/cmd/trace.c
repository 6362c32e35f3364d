// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* synfin trace: live events -> engine -> views. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "caps.h"
#include "cli.h"
#include "clock.h"
#include "cmd.h"
#include "namelog.h"
#include "netns.h"
#include "session.h"
#include "trace_opts.h"
#include "who.h"
#include "whois.h"

#define POLL_MS 100
#define HOLD_CHECK_NS 100000000ull

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
	"      --pod NAME|NS/NAME, --namespace NS, --container NAME|ID, --unit NAME\n"
	"                          sockets of one workload (named from the runtimes'\n"
	"                          metadata; also printed, as a WORKLOAD column and as\n"
	"                          JSON members)\n"
	"      --host-root DIR     where the host's / is mounted (a container)\n"
	"  -4, --ipv4 / -6, --ipv6 one family\n"
	"Run:\n"
	"      --duration TIME     stop after this long (500ms, 30s, 5m)\n"
	"      --record FILE       also write the raw events, for synfin replay (mode 0600),\n"
	"                          and the names of their workloads to FILE.names\n"
	"      --ringbuf-size SIZE ring buffer bytes over all CPUs, a power of two split\n"
	"                          evenly, a page each at least (K/M suffix; default 16M,\n"
	"                          1M each at least)\n"
	"      --attach MODE       auto (default), tp_btf or tracepoint\n"
	"      --max-conns N       endpoints tracked at once (default 1048576); past it new\n"
	"                          ones are not tracked, and counted as untracked\n"
	"  -v, --verbose           show libbpf's messages\n";

static const struct trace_cmd trace_cmd = { "trace", trace_usage, true };

/*
 * Who sockets belong to: the namespaces that exist now are resolved while
 * privileges last; cgroups are resolved as they come, without any. With
 * --record, the names go beside the recording too, for its replay.
 */
static int name_workloads(struct whois *who, struct namelog **log, const struct cmd_opts *o)
{
	char err[512], sel[1100];

	if (whois_init(who, o->host_root, sf_netns_host(), err, sizeof(err))) {
		cli_error("trace", "%s", err);
		return SF_EXIT_USAGE;
	}
	if (o->record && namelog__create(log, o->record, who, err, sizeof(err)))
		return cli_error("trace", "%s", err);
	if (!whois_prewarm(who, o->host_root, &o->filter.who)) {
		sf_who_select_text(&o->filter.who, sel, sizeof(sel));
		cli_error("trace",
			  "no network namespace belongs to %s now; its sockets show if it "
			  "appears",
			  sel);
	}
	if (*log)
		sf_who_resolver(namelog_resolve, *log);
	else
		sf_who_resolver(whois_socket, who);
	return 0;
}

/* Loaded, attached, privileges dropped, and the line scripts wait for printed. */
static int trace_start(struct session **sess, struct run *r, const struct cmd_opts *o)
{
	struct session_opts so = {
		.tracer = o->tracer,
		.record = o->record,
		.ops = run_ops(r, o),
		.tracker = o->tracker,
		.realtime_offset_ns = o->view.realtime_offset_ns,
	};
	char err[512];

	if (session__open(sess, &so, err, sizeof(err)))
		return cli_error("trace", "%s", err);
	/* loaded, attached, ring buffer and recording open: nothing more needs privilege */
	if (sf_drop_privileges(0, err, sizeof(err)))
		return cli_error("trace", "%s", err);
	/* on stderr in every view: scripts wait for this line before they start traffic */
	fprintf(stderr, "synfin: tracing TCP lifecycles (%s); Ctrl-C to stop\n",
		session__attach_name(*sess));
	return 0;
}

/* Events into the view until a signal, --duration, or the reader of our output went away. */
static int trace_loop(struct session *sess, struct view *view, uint64_t duration_ns)
{
	uint64_t start = sf_mono_ns(), now, last_advance = 0;
	int ret;

	while (!cli_stop) {
		ret = session__poll(sess, POLL_MS);
		if (ret < 0)
			return cli_error("trace", "reading the ring buffer: %s", strerror(-ret));
		now = sf_mono_ns();
		if (now - last_advance >= HOLD_CHECK_NS) {
			last_advance = now;
			view__advance(view, now);
		}
		/* stop once the reader of our output has gone (EPIPE) */
		view__flush(view);
		if (fflush(stdout) || ferror(stdout))
			break;
		if (duration_ns && now - start >= duration_ns)
			break;
	}
	return 0;
}

/* Drains the ring buffer: every open lifecycle ends, then the summary. */
static int trace_finish(struct session *sess, struct view *view)
{
	struct tracker_stats st;
	char err[512];
	int ret = session__finish(sess, err, sizeof(err));

	session__stats(sess, &st);
	view__finish(view, &st);
	fflush(stdout);
	return ret ? cli_error("trace", "%s", err) : 0;
}

int cmd_trace(int argc, char **argv)
{
	struct session *sess = NULL;
	struct whois who = { 0 };
	struct namelog *names = NULL;
	struct cmd_opts o;
	struct run r;
	char *obuf;
	int ret;

	ret = trace_opts_parse(&trace_cmd, argc, argv, &o);
	if (ret)
		return ret < 0 ? SF_EXIT_OK : ret;
	if (o.npos)
		return cli_usage("trace", "unexpected argument '%s'", o.pos[0]);
	obuf = buffer_stdout(o.json, isatty(STDOUT_FILENO));
	o.view.realtime_offset_ns = sf_realtime_offset_ns();
	if (run_init(&r, &o)) {
		ret = cli_error("trace", "out of memory");
		goto cleanup;
	}
	cli_signals();
	ret = name_workloads(&who, &names, &o);
	if (!ret)
		ret = trace_start(&sess, &r, &o);
	if (!ret)
		ret = trace_loop(sess, r.view, o.duration_ns);
	if (!ret)
		ret = trace_finish(sess, r.view);
cleanup:
	session__close(sess);
	run_fini(&r);
	sf_who_resolver(NULL, NULL);
	namelog__close(names);
	whois_fini(&who);
	restore_stdout(obuf);
	return ret;
}
