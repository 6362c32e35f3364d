// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Recording files: round trip, and clear errors for anything malformed. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "record.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/synfin-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void write_bytes(const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

static void test_round_trip(void **state)
{
	struct sf_rec_header hdr, back;
	struct recorder *w = NULL;
	struct reader *r = NULL;
	const struct sf_event *got;
	struct sf_event e;
	char err[256];
	struct stat st;

	(void)state;
	sf_rec_header_init(&hdr, 123, 456, "tp_btf");
	assert_int_equal(recorder__open(&w, path, &hdr, err, sizeof(err)), 0);
	for (int i = 0; i < 1000; i++) {
		memset(&e, 0, sizeof(e));
		e.kind = SF_EV_STATE;
		e.ts_ns = i;
		assert_int_equal(recorder__write(w, &e), 0);
	}
	assert_int_equal(recorder__close(w), 0);
	/* recordings hold addresses and process names: owner only */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(reader__open(&r, path, &back, err, sizeof(err)), 0);
	assert_int_equal(back.realtime_offset_ns, 123);
	assert_string_equal(back.attach, "tp_btf");
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(reader__next(r, &got, err, sizeof(err)), 1);
		assert_int_equal(got->ts_ns, i);
	}
	assert_int_equal(reader__next(r, &got, err, sizeof(err)), 0);
	reader__close(r);
}

static void test_bad_magic(void **state)
{
	struct sf_rec_header hdr;
	struct reader *r = NULL;
	char err[256];

	(void)state;
	write_bytes("hello world, this is not a recording at all........................", 64);
	assert_int_equal(reader__open(&r, path, &hdr, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not a synfin recording"));
	write_bytes("", 0);
	assert_int_equal(reader__open(&r, path, &hdr, err, sizeof(err)), -EBADMSG);
}

static void test_bad_header(void **state)
{
	struct sf_rec_header hdr, back;
	struct reader *r = NULL;
	char err[256];

	(void)state;
	sf_rec_header_init(&hdr, 0, 0, NULL);
	write_bytes(&hdr, 20);
	assert_int_equal(reader__open(&r, path, &back, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "truncated header"));
	hdr.version = 99;
	write_bytes(&hdr, sizeof(hdr));
	assert_int_equal(reader__open(&r, path, &back, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "version 99"));
	hdr.version = SF_REC_VERSION;
	hdr.event_size = 100;
	write_bytes(&hdr, sizeof(hdr));
	assert_int_equal(reader__open(&r, path, &back, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "event size"));
}

/*
 * Recordings of format 1 hold shorter events, without the health counters:
 * they are read as they are, the fields they lack zero.
 */
static void test_format_1(void **state)
{
	char buf[sizeof(struct sf_rec_header) + 3 * SF_EVENT_V1_SIZE];
	struct sf_rec_header hdr;
	struct reader *r = NULL;
	const struct sf_event *e;
	struct sf_event ev;
	char err[256];

	(void)state;
	sf_rec_header_init(&hdr, 0, 0, NULL);
	hdr.version = 1;
	hdr.event_size = SF_EVENT_V1_SIZE;
	memcpy(buf, &hdr, sizeof(hdr));
	memset(&ev, 0xab, sizeof(ev));
	for (int i = 0; i < 3; i++) {
		ev.ts_ns = i;
		memcpy(buf + sizeof(hdr) + i * SF_EVENT_V1_SIZE, &ev, SF_EVENT_V1_SIZE);
	}
	write_bytes(buf, sizeof(buf));
	assert_int_equal(reader__open(&r, path, &hdr, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(reader__next(r, &e, err, sizeof(err)), 1);
		assert_int_equal(e->ts_ns, i);
		assert_int_equal(e->skaddr, ev.skaddr);
		assert_memory_equal(e->comm, ev.comm, SF_COMM_LEN);
		assert_int_equal(e->bytes_sent, 0);
		assert_int_equal(e->total_retrans, 0);
		assert_int_equal(e->min_rtt_us, 0);
	}
	assert_int_equal(reader__next(r, &e, err, sizeof(err)), 0);
	reader__close(r);
}

static void test_truncated_record(void **state)
{
	char buf[sizeof(struct sf_rec_header) + sizeof(struct sf_event) + 10];
	struct sf_rec_header hdr;
	struct reader *r = NULL;
	const struct sf_event *e;
	char err[256];

	(void)state;
	memset(buf, 0, sizeof(buf));
	sf_rec_header_init(&hdr, 0, 0, NULL);
	memcpy(buf, &hdr, sizeof(hdr));
	write_bytes(buf, sizeof(buf));
	assert_int_equal(reader__open(&r, path, &hdr, err, sizeof(err)), 0);
	assert_int_equal(reader__next(r, &e, err, sizeof(err)), 1);
	assert_int_equal(reader__next(r, &e, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "truncated record 1"));
	reader__close(r);
}

static void test_unwritable(void **state)
{
	struct sf_rec_header hdr;
	struct recorder *w = NULL;
	char err[256];

	(void)state;
	sf_rec_header_init(&hdr, 0, 0, NULL);
	assert_true(recorder__open(&w, "/nonexistent-dir/x.sfr", &hdr, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot create recording"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_1, setup, teardown),
		cmocka_unit_test(test_unwritable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
