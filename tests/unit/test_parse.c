// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The parsers every option goes through (durations, sizes, ports), and the kernel's CPU lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "json.h"
#include "parse.h"

static uint64_t dur(const char *s, uint64_t min_ns, uint64_t max_ns, int want)
{
	uint64_t ns = 12345;

	assert_int_equal(sf_parse_duration(s, min_ns, max_ns, &ns), want);
	return ns;
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(dur("500ms", 0, SF_DURATION_MAX_NS, 0), 500 * SF_NS_PER_MS);
	assert_int_equal(dur("30s", 0, SF_DURATION_MAX_NS, 0), 30 * SF_NS_PER_S);
	assert_int_equal(dur("5m", 0, SF_DURATION_MAX_NS, 0), 300 * SF_NS_PER_S);
	assert_int_equal(dur("1h", 0, SF_DURATION_MAX_NS, 0), 3600 * SF_NS_PER_S);
	assert_int_equal(dur("1.5", 0, SF_DURATION_MAX_NS, 0), 1500 * SF_NS_PER_MS);
	assert_int_equal(dur("0", 0, SF_DURATION_MAX_NS, 0), 0);
	/* not durations at all */
	dur("nan", 0, SF_DURATION_MAX_NS, -EINVAL);
	dur("inf", 0, SF_DURATION_MAX_NS, -EINVAL);
	dur("-1", 0, SF_DURATION_MAX_NS, -EINVAL);
	dur(" 1", 0, SF_DURATION_MAX_NS, -EINVAL);
	dur("1x", 0, SF_DURATION_MAX_NS, -EINVAL);
	dur("", 0, SF_DURATION_MAX_NS, -EINVAL);
	dur("s", 0, SF_DURATION_MAX_NS, -EINVAL);
	/* durations out of the option's bounds */
	dur("0.000001", SF_NS_PER_MS, SF_DURATION_MAX_NS, -ERANGE);
	dur("1e300", 0, SF_DURATION_MAX_NS, -ERANGE);
	dur("367d", 0, SF_DURATION_MAX_NS, -EINVAL);
	dur("8785h", 0, SF_DURATION_MAX_NS, -ERANGE);
}

static void test_sizes(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(sf_parse_size("16M", 4096, 1ull << 31, &v), 0);
	assert_int_equal(v, 16u << 20);
	assert_int_equal(sf_parse_size("4096", 4096, 1ull << 31, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(sf_parse_size("1k", 4096, 1ull << 31, &v), -ERANGE);
	assert_int_equal(sf_parse_size("4G", 4096, 1ull << 31, &v), -ERANGE);
	assert_int_equal(sf_parse_size("12Q", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(sf_parse_size("-1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(sf_parse_size("99999999999999999999999G", 0, UINT64_MAX, &v), -EINVAL);
}

/* CPU lists as /sys/devices/system/cpu/online gives them; anything else is refused. */
static void test_cpu_list(void **state)
{
	static const char *const bad[] = { "",	 "\n", "4", "0-4", "3-1",  "-1",
					   "0,", "0-", "a", "0 1", "0\n1", "1-2,x" };
	bool set[4];
	unsigned int n;

	(void)state;
	memset(set, 0, sizeof(set));
	assert_int_equal(sf_parse_cpu_list("0-1,3\n", set, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_true(set[0] && set[1] && !set[2] && set[3]);
	memset(set, 0, sizeof(set));
	assert_int_equal(sf_parse_cpu_list("2", set, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_true(set[2] && !set[0]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(set, 0, sizeof(set));
		assert_int_equal(sf_parse_cpu_list(bad[i], set, 4, &n), -EINVAL);
	}
}

/* A time namespace's offsets as the kernel writes them; negative ones too. */
static void test_timens_offsets(void **state)
{
	static const char *const bad[] = { "",
					   "boottime 5 0\n",
					   "monotonic 5\n",
					   "monotonic 1 1000000000\n",
					   "monotonic 1 -1\n",
					   "monotonic 99999999999999999999 0\n" };
	int64_t ns = 0;

	(void)state;
	assert_int_equal(sf_parse_timens_offsets("monotonic     100000         0\n"
						 "boottime           0         0\n",
						 &ns),
			 0);
	assert_true(ns == 100000 * (int64_t)SF_NS_PER_S);
	assert_int_equal(sf_parse_timens_offsets("boottime 7 0\nmonotonic -3 250\n", &ns), 0);
	assert_true(ns == -3 * (int64_t)SF_NS_PER_S + 250);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sf_parse_timens_offsets(bad[i], &ns), -EINVAL);
}

/* Every JSON string is escaped alike: controls and bytes from 0x7f as \u00XX. */
static void test_json_escaping(void **state)
{
	char buf[256];
	struct sf_sb b = SF_SB_FIXED(buf, sizeof(buf));

	(void)state;
	sf_sb_puts(&b, "{");
	sf_json_kstr(&b, "comm", "\x1b[31mRED\nFAKE\"\\\xc3\xa9");
	sf_json_ku64(&b, "n", 7);
	sf_json_kstr(&b, "none", NULL);
	sf_json_kdouble(&b, "x", "%.3f", 0.0 / 0.0);
	sf_sb_puts(&b, "}");
	assert_string_equal(buf, "{\"comm\":\"\\u001b[31mRED\\u000aFAKE\\\"\\\\\\u00c3\\u00a9\","
				 "\"n\":7,\"none\":null,\"x\":null}");
	assert_false(b.cut);
}

/* Text views: control bytes and DEL as \xNN, the rest (UTF-8 too) as it is. */
static void test_text_safe(void **state)
{
	char buf[SF_TEXT_SAFE_LEN(16)];

	(void)state;
	assert_string_equal(sf_text_safe("\x1b[31mRED\nFAKE", 16, buf, sizeof(buf)),
			    "\\x1b[31mRED\\x0aFAKE");
	assert_string_equal(sf_text_safe("caf\xc3\xa9\x7f", 16, buf, sizeof(buf)),
			    "caf\xc3\xa9\\x7f");
	assert_string_equal(sf_text_safe("abcdef", 3, buf, sizeof(buf)), "abc");
	assert_string_equal(sf_text_safe("\x01\x02", 16, buf, 6), "\\x01");
}

/* A bounded buffer cuts and says so, and stays a C string. */
static void test_sb_bounded(void **state)
{
	char buf[8];
	struct sf_sb b = SF_SB_FIXED(buf, sizeof(buf));

	(void)state;
	sf_sb_printf(&b, "%s", "1234");
	sf_sb_printf(&b, "%s", "56789");
	assert_true(b.cut);
	assert_string_equal(buf, "1234");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),      cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_json_escaping),  cmocka_unit_test(test_sb_bounded),
		cmocka_unit_test(test_text_safe),      cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_timens_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
