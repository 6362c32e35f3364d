// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The lifecycle JSON writer: integers at every width, names, addresses, escaping, the size bound. */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "names.h"
#include "view.h"

static char buf[SF_JSON_MAX];

/* The text between "key": and the next ',' or '}' */
static const char *field(const char *json, const char *key, char *out, size_t len)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		fail_msg("no %s in %s", key, json);
	p += strlen(pat);
	n = strcspn(p, ",}");
	if (n >= len)
		fail_msg("%s too long", key);
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

static void check_u64(uint64_t v)
{
	struct sf_lifecycle lc = { .handshake_us = -1 };
	char want[32], got[32];

	lc.id = v;
	lc.start_ns = v;
	sf_lifecycle_json(buf, sizeof(buf), &lc);
	snprintf(want, sizeof(want), "%" PRIu64, v);
	assert_string_equal(field(buf, "id", got, sizeof(got)), want);
	assert_string_equal(field(buf, "start_ns", got, sizeof(got)), want);
}

static void test_integers(void **state)
{
	uint64_t p = 1;

	(void)state;
	check_u64(0);
	check_u64(UINT64_MAX);
	check_u64(UINT32_MAX);
	check_u64((uint64_t)UINT32_MAX + 1);
	/* every power of ten and its neighbours: where the digit count changes */
	for (int i = 0; i < 20; i++, p *= 10) {
		check_u64(p - 1);
		check_u64(p);
		check_u64(p + 1);
		check_u64(p * 5 + 7);
	}
	for (uint64_t v = 1; v; v <<= 1)
		check_u64(v - 1), check_u64(v);
}

/* The fixed-point digits of put_u32 are closest to a wrong digit at the top of the range. */
static void test_integer_sweep(void **state)
{
	(void)state;
	for (uint64_t v = 0; v <= UINT32_MAX; v += 99991)
		check_u64(v);
	for (uint64_t v = UINT32_MAX - 1000; v <= UINT32_MAX; v++)
		check_u64(v);
	for (uint64_t v = 99999000; v <= 100001000; v++)
		check_u64(v), check_u64(v * 100000000 + v);
}

static void test_addresses_and_escapes(void **state)
{
	struct sf_lifecycle lc = { .family = 2, .handshake_us = -1 };
	char got[64];

	(void)state;
	memcpy(lc.laddr, (uint8_t[]){ 0, 9, 10, 255 }, 4);
	memcpy(lc.raddr, (uint8_t[]){ 127, 0, 100, 99 }, 4);
	memcpy(lc.comm, "a\"b\\c\x01\x7f", 8);
	sf_lifecycle_json(buf, sizeof(buf), &lc);
	assert_string_equal(field(buf, "laddr", got, sizeof(got)), "\"0.9.10.255\"");
	assert_string_equal(field(buf, "raddr", got, sizeof(got)), "\"127.0.100.99\"");
	assert_string_equal(field(buf, "comm", got, sizeof(got)), "\"a\\\"b\\\\c\\u0001\\u007f\"");
	assert_non_null(strstr(buf, "\"handshake_us\":null"));
}

/* "key": then want, then the end of the member */
static void check_member(const char *key, const char *want)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(buf, pat);
	if (!p)
		fail_msg("no %s in %s", key, buf);
	p += strlen(pat);
	if (strncmp(p, want, strlen(want)) || !strchr(",}", p[strlen(want)]))
		fail_msg("%s: want %s in %s", key, want, buf);
}

/* quoted, or null */
static void check_name(const char *key, const char *name)
{
	char want[64];

	snprintf(want, sizeof(want), name ? "\"%s\"" : "null", name);
	check_member(key, want);
}

static void check_gaps(unsigned int gaps)
{
	char want[128];
	size_t n = 1;

	strcpy(want, "[");
	for (unsigned int i = 0; i < SF_GAP_COUNT; i++)
		if (gaps & (1u << i))
			n += snprintf(want + n, sizeof(want) - n, "%s\"%s\"", n > 1 ? "," : "",
				      sf_gap_name(i));
	strcat(want, "]");
	check_member("gaps", want);
}

/* Every value of every named field, in range or not, as the accessors of names.h name it. */
static void test_names(void **state)
{
	struct sf_lifecycle lc = { .handshake_us = -1, .nwaves = 1 };
	char fl[24];

	(void)state;
	for (unsigned int v = 0; v < 256; v++) {
		lc.role = lc.close = lc.closer = lc.reason = lc.last_state = (uint8_t)v;
		lc.waves[0].state = lc.waves[0].flags = lc.family = (uint8_t)v;
		lc.gaps = (uint8_t)v;
		sf_lifecycle_json(buf, sizeof(buf), &lc);
		check_name("role", sf_role_name(v));
		check_name("close", sf_close_name(v));
		check_name("closer", sf_closer_name(v));
		check_name("reason", sf_reason_name(v));
		check_name("last_state", sf_state_name(v));
		check_name("state", sf_state_name(v));
		sf_tcp_flags_str(fl, sizeof(fl), (uint8_t)v);
		check_name("flags", fl);
		check_name("family", v == 10 ? "ipv6" : "ipv4");
		check_gaps(v);
	}
}

static void test_every_address_byte(void **state)
{
	struct sf_lifecycle lc = { .family = 2, .handshake_us = -1 };
	char want[64], got[64];

	(void)state;
	for (unsigned int v = 0; v < 256; v++) {
		memcpy(lc.laddr, (uint8_t[]){ v, 0, 255 - v, v }, 4);
		sf_lifecycle_json(buf, sizeof(buf), &lc);
		snprintf(want, sizeof(want), "\"%u.0.%u.%u\"", v, 255 - v, v);
		assert_string_equal(field(buf, "laddr", got, sizeof(got)), want);
	}
}

/* Each byte of a process name: itself, after a backslash, or as \u00XX; the NUL ends it. */
static void test_every_comm_byte(void **state)
{
	struct sf_lifecycle lc = { .handshake_us = -1 };
	char want[16];

	(void)state;
	for (unsigned int c = 1; c < 256; c++) {
		lc.comm[0] = (char)c;
		lc.comm[1] = 0;
		lc.comm[2] = 'x';
		sf_lifecycle_json(buf, sizeof(buf), &lc);
		if (c == '"' || c == '\\')
			snprintf(want, sizeof(want), "\"\\%c\"", c);
		else if (c < 0x20 || c >= 0x7f)
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		else
			snprintf(want, sizeof(want), "\"%c\"", c);
		check_member("comm", want);
	}
}

/* Every field at its longest: the writer has no bounds checks, so this is the bound. */
static void test_longest_fits(void **state)
{
	struct sf_lifecycle lc;
	size_t n;

	(void)state;
	memset(&lc, 0xff, sizeof(lc));
	lc.family = 10;
	lc.alive = false;
	lc.handshake_us = INT64_MAX;
	lc.nhops = SF_MAX_HOPS;
	lc.nopen = SF_MAX_OPEN;
	lc.nwaves = SF_MAX_WAVES;
	lc.close = 0;
	lc.closer = 0;
	lc.reason = SF_REASON_RETRANSMIT_TIMEOUT; /* the longest name */
	lc.time_wait = lc.fw2_handoff = lc.half_close = false;
	lc.health = true;
	for (int i = 0; i < SF_MAX_HOPS; i++)
		lc.hops[i] = (struct sf_hop){ .state = SF_TCP_NEW_SYN_RECV,
					      .known_us = true,
					      .us = UINT64_MAX };
	for (int i = 0; i < SF_MAX_WAVES; i++)
		lc.waves[i] = (struct sf_wave){ .flags = 0xff,
						.has_seq = 1,
						.has_ack = 1,
						.state = SF_TCP_NEW_SYN_RECV,
						.seq = UINT32_MAX,
						.ack = UINT32_MAX };
	memcpy(lc.open, lc.waves, sizeof(lc.open));
	memset(lc.comm, 0x01, sizeof(lc.comm));
	n = sf_lifecycle_json(buf, sizeof(buf), &lc);
	assert_true(n > 0);
	assert_true(n < SF_JSON_MAX);
	assert_int_equal(strlen(buf), n);
	print_message("longest lifecycle JSON: %zu of %d bytes\n", n, SF_JSON_MAX);
	/* a short buffer gets nothing rather than an overrun */
	assert_int_equal(sf_lifecycle_json(buf, SF_JSON_MAX - 1, &lc), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_integer_sweep),
		cmocka_unit_test(test_addresses_and_escapes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_every_address_byte),
		cmocka_unit_test(test_every_comm_byte),
		cmocka_unit_test(test_longest_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
