// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Program runs the kernel skipped (recursion_misses) reach the engine as
 * SF_EV_MISSED markers. A skipped state change shows by itself (an order gap);
 * a skipped reset or retransmission does not (SF_F_SILENT): every endpoint
 * alive across such a marker ends incomplete, as across a ring buffer loss.
 * The marker survives a recording. No kernel, no root.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "json.h"
#include "report.h"
#include "summary.h"

#define MAX_LC 16
#include "testlib.h"

static struct sf_event marker(uint8_t kind, uint64_t ts, uint64_t total, uint8_t flags)
{
	struct sf_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.ts_ns = ts;
	e.lost_seq = total;
	e.flags = flags;
	return e;
}

/* An active open and close from start to end, at ts .. ts + 4. */
static size_t client_life(struct sf_event *out, uint64_t ts, uint64_t sk)
{
	out[0] = ev(ts, sk, SF_TCP_CLOSE, SF_TCP_SYN_SENT);
	out[1] = ev(ts + 1, sk, SF_TCP_SYN_SENT, SF_TCP_ESTABLISHED);
	out[2] = ev(ts + 2, sk, SF_TCP_ESTABLISHED, SF_TCP_FIN_WAIT1);
	out[3] = ev(ts + 3, sk, SF_TCP_FIN_WAIT1, SF_TCP_FIN_WAIT2);
	out[4] = ev(ts + 4, sk, SF_TCP_FIN_WAIT2, SF_TCP_CLOSE);
	return 5;
}

/*
 * 0x1000 lives and dies before the marker, 0x2000 opens before it and closes
 * after (without its FIN_WAIT1 -> FIN_WAIT2 when skip is set), 0x3000 is born
 * after it; then markers that do not raise the total, and the end.
 */
static size_t stream(struct sf_event *s, uint8_t flags, bool skip)
{
	struct sf_event tail[5];
	size_t n = client_life(s, 10, 0x1000);

	client_life(tail, 20, 0x2000);
	memcpy(&s[n], tail, 2 * sizeof(*s));
	n += 2;
	s[n++] = marker(SF_EV_MISSED, 30, 3, flags);
	s[n++] = tail[2];
	if (!skip)
		s[n++] = tail[3];
	s[n++] = tail[4];
	n += client_life(&s[n], 40, 0x3000);
	s[n++] = marker(SF_EV_MISSED, 50, 3, 0);
	s[n++] = marker(SF_EV_MISSED, 51, 2, 0);
	s[n++] = marker(SF_EV_END, 60, 0, 0);
	return n;
}

static const struct sf_lifecycle *find(const struct collected *c, uint64_t sk)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->lc[i].lport == (uint16_t)(1000 + sk % 50000))
			return &c->lc[i];
	fail_msg("no lifecycle of socket %#llx", (unsigned long long)sk);
	return NULL;
}

/* Returns the lifecycle of the endpoint alive across the marker. */
static const struct sf_lifecycle *check(const struct collected *c, const struct tracker_stats *st)
{
	const struct sf_lifecycle *before = find(c, 0x1000), *after = find(c, 0x3000);

	assert_int_equal(c->n, 3);
	assert_int_equal(st->missed, 3);
	assert_int_equal(st->lost, 0);
	/* closed before it, or born after it, with no later rise: untouched */
	assert_false(before->gaps & SF_GAP_LOST);
	assert_int_not_equal(before->close, SF_CLOSE_INCOMPLETE);
	assert_false(after->gaps & SF_GAP_LOST);
	assert_int_not_equal(after->close, SF_CLOSE_INCOMPLETE);
	assert_int_equal(after->close, before->close);
	return find(c, 0x2000);
}

/* it may miss an event, so it is not classified */
static void assert_unclassified(const struct sf_lifecycle *lc, uint8_t gap)
{
	assert_true(lc->gaps & gap);
	assert_int_equal(lc->close, SF_CLOSE_INCOMPLETE);
	assert_false(lc->time_wait);
}

static void feed_all(const struct sf_event *s, size_t n, struct collected *c,
		     struct tracker_stats *st)
{
	struct tracker_ops ops = { collect, NULL, c };
	struct tracker *t = NULL;

	assert_int_equal(tracker__new(&t, NULL, &ops), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tracker__feed(t, &s[i]), 0);
	tracker__stats(t, st);
	tracker__free(t);
}

/* A skipped reset or retransmission: whoever was alive may miss it. */
static void test_silent_miss(void **state)
{
	struct sf_event s[32];
	struct collected c = { 0 };
	struct tracker_stats st;

	(void)state;
	feed_all(s, stream(s, SF_F_SILENT, false), &c, &st);
	assert_unclassified(check(&c, &st), SF_GAP_LOST);
}

/* Skipped state changes: counted, and only the endpoint that lost one shows it. */
static void test_state_miss(void **state)
{
	struct sf_event s[32];
	struct collected c = { 0 };
	struct tracker_stats st;
	const struct sf_lifecycle *across;

	(void)state;
	feed_all(s, stream(s, 0, false), &c, &st);
	across = check(&c, &st);
	assert_int_equal(across->gaps, 0);
	assert_int_not_equal(across->close, SF_CLOSE_INCOMPLETE);
	memset(&c, 0, sizeof(c));
	feed_all(s, stream(s, 0, true), &c, &st);
	assert_unclassified(check(&c, &st), SF_GAP_ORDER);
}

/* A recording keeps the marker, in the same record layout: replay sees it. */
static void test_missed_recorded(void **state)
{
	char path[] = "/tmp/synfin-missed-XXXXXX", err[256];
	const struct sf_event *e;
	struct sf_event s[32], back[32];
	struct collected c = { 0 };
	struct sf_rec_header hdr;
	struct recorder *rec = NULL;
	struct reader *rd = NULL;
	struct tracker_stats st;
	size_t n = stream(s, SF_F_SILENT, false), m = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	sf_rec_header_init(&hdr, 0, 0, "tp_btf");
	assert_int_equal(recorder__open(&rec, path, &hdr, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(recorder__write(rec, &s[i]), 0);
	assert_int_equal(recorder__close(rec), 0);
	assert_int_equal(reader__open(&rd, path, &hdr, err, sizeof(err)), 0);
	assert_int_equal(hdr.version, SF_REC_VERSION);
	while (m < 32 && reader__next(rd, &e, err, sizeof(err)) == 1)
		back[m++] = *e;
	reader__close(rd);
	unlink(path);
	assert_int_equal(m, n);
	assert_int_equal(back[7].kind, SF_EV_MISSED);
	assert_int_equal(back[7].flags, SF_F_SILENT);
	feed_all(back, m, &c, &st);
	assert_unclassified(check(&c, &st), SF_GAP_LOST);
}

/* check's and repro's reports say when runs were missed, as they say when events were lost. */
static void test_missed_reported(void **state)
{
	struct lc_vec lcs = { 0 };
	struct outcome o = { .name = "synfin check", .lcs = &lcs, .missed = 3 };
	struct sf_sb b = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	report_json(f, &o);
	report_text(f, &o, false);
	fclose(f);
	assert_non_null(strstr(text, "\"lost\":0,\"missed\":3}"));
	assert_non_null(strstr(text, "0 endpoints traced (events were lost or missed"));
	free(text);
	summary_markdown(&b, &o);
	assert_non_null(strstr(b.p, "(0 events lost, 3 tracer runs missed: some endpoints"));
	sf_sb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silent_miss),
		cmocka_unit_test(test_state_miss),
		cmocka_unit_test(test_missed_recorded),
		cmocka_unit_test(test_missed_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
