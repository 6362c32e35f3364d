// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* synfin replay: a recording -> engine -> views, as the live run went. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include "cli.h"
#include "cmd.h"
#include "namelog.h"
#include "record.h"
#include "trace_opts.h"
#include "who.h"

static const char replay_usage[] =
	"Usage: synfin replay [OPTIONS] FILE\n"
	"Run the lifecycle engine on a recording made by synfin trace --record.\n"
	"Takes the views and filters of synfin trace (--states --ladder --json -T -p --comm\n"
	"--port --lport --rport --addr --netns INODE -4 -6 --pod --namespace --container\n"
	"--unit). The workloads are named as the live run named them when FILE.names,\n"
	"which synfin trace --record writes beside FILE, is there.\n";

static const struct trace_cmd replay_cmd = { "replay", replay_usage, false };

struct replay {
	const char *path;
	struct reader *rd;
	struct wholog *names; /* FILE.names, or NULL */
	uint64_t last_ts;
	bool ended; /* the end marker was read */
};

/* The names the live run gave, when they were kept beside the recording. */
static int replay_names(struct replay *rp, const struct cmd_opts *o)
{
	char err[512] = "";
	int ret = namelog_load(&rp->names, rp->path, err, sizeof(err));

	if (!ret) {
		sf_who_resolver(namelog_replay, rp->names);
		return 0;
	}
	if (ret != -ENOENT)
		return cli_error("replay", "%s", err);
	if (sf_who_select_any(&o->filter.who))
		cli_error("replay",
			  "%s holds no workload names (no %s.names beside it): "
			  "--pod and the like match nothing",
			  rp->path, rp->path);
	return 0;
}

/* The recording, and the view with the wall clock of the run it recorded. */
static int replay_open(struct replay *rp, struct run *r, struct cmd_opts *o)
{
	struct sf_rec_header hdr;
	struct tracker_ops ops;
	char err[512];

	if (reader__open(&rp->rd, rp->path, &hdr, err, sizeof(err)))
		return cli_error("replay", "%s", err);
	if (replay_names(rp, o))
		return SF_EXIT_FAIL;
	o->view.realtime_offset_ns = (int64_t)hdr.realtime_offset_ns;
	if (run_init(r, o))
		return cli_error("replay", "out of memory");
	ops = run_ops(r, o);
	if (tracker__new(&r->trk, &o->tracker, &ops))
		return cli_error("replay", "out of memory");
	return 0;
}

/* Every record into the engine; stops early only when stdout went away. */
static int replay_feed(struct replay *rp, struct run *r)
{
	const struct sf_event *e;
	unsigned long long n = 0;
	char err[512];
	int ret;

	while ((ret = reader__next(rp->rd, &e, err, sizeof(err))) == 1) {
		if (rp->ended)
			return cli_error("replay", "%s: record %llu follows the end marker",
					 rp->path, n);
		if (tracker__feed(r->trk, e))
			return cli_error("replay", "%s: record %llu is not a valid event", rp->path,
					 n);
		n++;
		if (e->ts_ns > rp->last_ts)
			rp->last_ts = e->ts_ns;
		if (e->kind == SF_EV_END)
			rp->ended = true;
		view__advance(r->view, rp->last_ts);
		/* a closed pipe is noticed within a few lines; not asked at every event */
		if (!(n & 1023) && ferror(stdout))
			return 0;
	}
	return ret < 0 ? cli_error("replay", "%s: %s", rp->path, err) : 0;
}

/* A recording cut short ends at its last event, as the tracer would have ended it. */
static void replay_finish(struct replay *rp, struct run *r)
{
	struct tracker_stats st;

	if (!rp->ended) {
		cli_error("replay",
			  "%s has no end marker (was the tracer killed?); "
			  "closing at its last event",
			  rp->path);
		tracker__flush(r->trk, rp->last_ts);
	}
	tracker__stats(r->trk, &st);
	view__finish(r->view, &st);
}

int cmd_replay(int argc, char **argv)
{
	struct replay rp = { 0 };
	struct run r = { 0 };
	struct cmd_opts o;
	char *obuf;
	int ret;

	ret = trace_opts_parse(&replay_cmd, argc, argv, &o);
	if (ret)
		return ret < 0 ? SF_EXIT_OK : ret;
	if (o.npos != 1)
		return cli_usage("replay", "needs exactly one recording FILE");
	rp.path = o.pos[0];
	obuf = buffer_stdout(o.json, false);
	/* a reader that went away shows as EPIPE, and the replay stops */
	signal(SIGPIPE, SIG_IGN);
	ret = replay_open(&rp, &r, &o);
	if (!ret)
		ret = replay_feed(&rp, &r);
	if (!ret)
		replay_finish(&rp, &r);
	reader__close(rp.rd);
	run_fini(&r);
	sf_who_resolver(NULL, NULL);
	wholog__free(rp.names);
	restore_stdout(obuf);
	return ret;
}
