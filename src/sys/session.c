// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "record.h"
#include "report.h"
#include "clock.h"
#include "session.h"

#define LOST_CHECK_NS 100000000ull
#define SETTLE_POLL_MS 20

struct session {
	struct tracer *tracer;
	struct tracker *trk;
	struct recorder *rec;
	const char *record;
	uint64_t lost;
	uint64_t missed;
	uint64_t missed_silent;
	uint64_t last_check;
	int rec_err;
	bool finished;
};

static void feed(struct session *s, const struct sf_event *e)
{
	if (s->rec && !s->rec_err)
		s->rec_err = recorder__write(s->rec, e);
	tracker__feed(s->trk, e);
}

static int on_event(void *ctx, const struct sf_event *e)
{
	feed(ctx, e);
	return 0;
}

static void feed_marker(struct session *s, uint8_t kind, uint64_t ts, uint64_t total, uint8_t flags)
{
	struct sf_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.ts_ns = ts;
	e.lost_seq = total;
	e.flags = flags;
	feed(s, &e);
}

/* Lost and skipped counts reach the engine (and the recording) as markers. */
static void check_lost(struct session *s, uint64_t now)
{
	uint64_t n, silent;

	if (!tracer__lost(s->tracer, &n) && n != s->lost) {
		s->lost = n;
		feed_marker(s, SF_EV_LOST, now, n, 0);
	}
	if (!tracer__missed(s->tracer, &n, &silent) && n > s->missed) {
		feed_marker(s, SF_EV_MISSED, now, n, silent > s->missed_silent ? SF_F_SILENT : 0);
		s->missed = n;
		s->missed_silent = silent;
	}
}

int session__open(struct session **out, const struct session_opts *o, char *err, size_t errlen)
{
	struct session *s = calloc(1, sizeof(*s));
	struct sf_rec_header hdr;
	int ret;

	if (!s)
		return -ENOMEM;
	s->record = o->record;
	ret = tracker__new(&s->trk, &o->tracker, &o->ops);
	if (ret) {
		snprintf(err, errlen, "cannot create the connection table: %s", strerror(-ret));
		goto cleanup;
	}
	ret = tracer__open(&s->tracer, &o->tracer, on_event, s, err, errlen);
	if (ret)
		goto cleanup;
	if (o->record) {
		sf_rec_header_init(&hdr, o->realtime_offset_ns, sf_mono_ns(),
				   tracer__attach_name(s->tracer));
		ret = recorder__open(&s->rec, o->record, &hdr, err, errlen);
		if (ret)
			goto cleanup;
	}
	*out = s;
	return 0;
cleanup:
	session__close(s);
	return ret;
}

int session__poll(struct session *s, int timeout_ms)
{
	int ret = tracer__poll(s->tracer, timeout_ms);
	uint64_t now;

	if (ret < 0)
		return ret;
	now = sf_mono_ns();
	if (now - s->last_check >= LOST_CHECK_NS) {
		s->last_check = now;
		check_lost(s, now);
	}
	/* what the poll delivered reaches the file now: a kill -9 loses none of it */
	if (s->rec && !s->rec_err)
		s->rec_err = recorder__flush(s->rec);
	return 0;
}

/* A ring left undrained means events missing from what is reported. */
static int ring_error(int ret, char *err, size_t errlen)
{
	snprintf(err, errlen, "reading the ring buffer: %s", strerror(-ret));
	return ret;
}

int session__settle(struct session *s, uint64_t max_live, uint64_t deadline_ns,
		    const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct tracker_stats st;

	for (;;) {
		int ret = session__poll(s, SETTLE_POLL_MS);

		if (ret < 0)
			return ring_error(ret, err, errlen);
		tracker__stats(s->trk, &st);
		if (st.live <= max_live || (stop && *stop) || sf_mono_ns() >= deadline_ns)
			return 0;
	}
}

int session__finish(struct session *s, char *err, size_t errlen)
{
	uint64_t now;
	int drained, ret = 0;

	if (s->finished)
		return 0;
	s->finished = true;
	/* nothing arrives after this, so the lost and missed totals below are final */
	tracer__detach(s->tracer);
	drained = tracer__poll(s->tracer, 0);
	now = sf_mono_ns();
	check_lost(s, now);
	feed_marker(s, SF_EV_END, now, s->lost, 0);
	if (s->rec) {
		ret = s->rec_err;
		if (recorder__close(s->rec) && !ret)
			ret = -EIO;
		s->rec = NULL;
		if (ret)
			snprintf(err, errlen, "writing %s: %s", s->record, strerror(-ret));
	}
	if (drained < 0 && !ret)
		ret = ring_error(drained, err, errlen);
	return ret;
}

void session__stats(const struct session *s, struct tracker_stats *st)
{
	tracker__stats(s->trk, st);
}

const char *session__attach_name(const struct session *s)
{
	return tracer__attach_name(s->tracer);
}

void session__close(struct session *s)
{
	if (!s)
		return;
	recorder__close(s->rec);
	tracer__close(s->tracer);
	tracker__free(s->trk);
	free(s);
}

void session_collect(const struct sf_lifecycle *lc, void *lcs)
{
	/* out of memory drops one from the report; tracing goes on */
	lc_vec_push(lcs, lc);
}
