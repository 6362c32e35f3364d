// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Output files synfin creates as root (--record, --junit): no symlink is
 * followed, no file of another user is clobbered, no pre-existing inode is
 * written into; and a recording's header is on disk as soon as it is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "fdio.h"
#include "record.h"

static char dir[] = "/tmp/synfin-fdio.XXXXXX";
static char path[256], victim[256];

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(victim);
	return 0;
}

static void write_victim(void)
{
	FILE *f = fopen(victim, "w");

	assert_non_null(f);
	fputs("keep me\n", f);
	fclose(f);
}

static void assert_victim_intact(void)
{
	char buf[32] = "";
	FILE *f = fopen(victim, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "keep me\n");
}

static void test_symlink_refused(void **state)
{
	char err[256] = "";

	(void)state;
	write_victim();
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(sf_create_output(path, 0600, "--record", err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	assert_victim_intact();
}

/* A hard link to another file is replaced, not written through. */
static void test_hardlink_left_alone(void **state)
{
	char err[256] = "";
	int fd;

	(void)state;
	write_victim();
	assert_int_equal(link(victim, path), 0);
	fd = sf_create_output(path, 0600, "--record", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new\n", 4), 4);
	close(fd);
	assert_victim_intact();
}

static void test_other_owner_refused(void **state)
{
	char err[256] = "";

	(void)state;
	if (geteuid() != 0)
		skip();
	write_victim();
	assert_int_equal(rename(victim, path), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(sf_create_output(path, 0600, "--junit", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "belongs to uid 65534"));
}

static void test_device_opened(void **state)
{
	char err[256] = "";
	int fd = sf_create_output("/dev/null", 0600, "--record", err, sizeof(err));

	(void)state;
	assert_true(fd >= 0);
	close(fd);
}

/* The header is written when the recording opens, not when a buffer fills. */
static void test_header_at_once(void **state)
{
	struct sf_rec_header hdr;
	struct recorder *w = NULL;
	struct sf_event e = { .kind = SF_EV_STATE };
	char err[256] = "";
	struct stat st;

	(void)state;
	sf_rec_header_init(&hdr, 0, 0, "tp_btf");
	assert_int_equal(recorder__open(&w, path, &hdr, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(hdr));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(recorder__write(w, &e), 0);
	assert_int_equal(recorder__flush(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(hdr) + sizeof(e));
	assert_int_equal(recorder__close(w), 0);
}

/* --summary appends to what is there, and refuses what --junit refuses. */
static void test_append(void **state)
{
	char err[256] = "", buf[32] = "";
	FILE *f;
	int fd;

	(void)state;
	for (int i = 0; i < 2; i++) {
		fd = sf_append_output(path, 0644, "--summary", err, sizeof(err));
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "ab", 2), 2);
		close(fd);
	}
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "abab");
	unlink(path);
	write_victim();
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(sf_append_output(path, 0644, "--summary", err, sizeof(err)), -ELOOP);
	assert_victim_intact();
}

static void test_append_other_owner_refused(void **state)
{
	char err[256] = "";

	(void)state;
	if (geteuid() != 0)
		skip();
	write_victim();
	assert_int_equal(chown(victim, 65534, 65534), 0);
	assert_int_equal(link(victim, path), 0);
	assert_int_equal(sf_append_output(path, 0644, "--summary", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "belongs to uid 65534"));
	assert_victim_intact();
}

/* Input files: whole up to the limit, refused past it, a directory, /dev/zero bounded. */
static void test_read_input(void **state)
{
	char err[512] = "";
	size_t len = 0;
	char *buf;
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0123456789", f);
	fclose(f);
	buf = sf_read_input(path, 10, &len, err, sizeof(err));
	assert_non_null(buf);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	assert_null(sf_read_input(path, 9, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "/out: larger than 9 bytes"));
	assert_null(sf_read_input("/dev/zero", 1 << 20, &len, err, sizeof(err)));
	assert_string_equal(err, "/dev/zero: larger than 1 MiB");
	assert_null(sf_read_input(dir, 10, &len, err, sizeof(err)));
	assert_non_null(strstr(err, ": a directory, not a file"));
	assert_null(sf_read_input("/nonexistent/x", 10, &len, err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/x: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_symlink_refused, teardown),
		cmocka_unit_test_teardown(test_hardlink_left_alone, teardown),
		cmocka_unit_test_teardown(test_other_owner_refused, teardown),
		cmocka_unit_test_teardown(test_device_opened, teardown),
		cmocka_unit_test_teardown(test_header_at_once, teardown),
		cmocka_unit_test_teardown(test_append, teardown),
		cmocka_unit_test_teardown(test_append_other_owner_refused, teardown),
		cmocka_unit_test_teardown(test_read_input, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
