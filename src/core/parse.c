// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "parse.h"

void sf_format_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
}

int sf_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int sf_parse_port(const char *s, uint16_t *out)
{
	uint64_t v;

	if (sf_parse_u64(s, 65535, &v) || !v)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int sf_parse_addr(const char *s, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* The multiplier a suffix stands for, or 0 when it is none of them. */
static double suffix_scale(const char *end, const char *const *names, const double *scales,
			   size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(end, names[i]))
			return scales[i];
	return 0;
}

int sf_parse_duration(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *ns)
{
	static const char *const units[] = { "", "s", "ms", "m", "h" };
	static const double scale[] = { 1e9, 1e9, 1e6, 60e9, 3600e9 };
	double v, unit;
	char *end;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	unit = suffix_scale(end, units, scale, sizeof(units) / sizeof(units[0]));
	if (!unit)
		return -EINVAL;
	v *= unit;
	if (v < (double)min_ns || v > (double)max_ns)
		return -ERANGE;
	*ns = (uint64_t)llround(v);
	return 0;
}

int sf_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char *const units[] = { "", "K", "k", "M", "m", "G", "g" };
	static const double scale[] = { 1, 1 << 10, 1 << 10, 1 << 20, 1 << 20, 1 << 30, 1 << 30 };
	char digits[24];
	size_t n = strspn(s, "0123456789");
	double mult = suffix_scale(s + n, units, scale, sizeof(units) / sizeof(units[0]));
	uint64_t v;

	if (!n || n >= sizeof(digits) || !mult)
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = 0;
	if (sf_parse_u64(digits, UINT64_MAX / (1 << 30), &v))
		return -EINVAL;
	v *= (uint64_t)mult;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* One number of a CPU list: digits only, below span. */
static const char *cpu_number(const char *s, unsigned int span, unsigned long *n)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return NULL;
	*n = strtoul(s, &end, 10);
	return *n < span ? end : NULL;
}

int sf_parse_cpu_list(const char *s, bool *set, unsigned int span, unsigned int *count)
{
	unsigned long a, b;

	*count = 0;
	for (;;) {
		s = cpu_number(s, span, &a);
		b = a;
		if (s && *s == '-')
			s = cpu_number(s + 1, span, &b);
		if (!s || a > b)
			return -EINVAL;
		for (unsigned long i = a; i <= b; i++) {
			*count += !set[i];
			set[i] = true;
		}
		if (*s != ',')
			break;
		s++;
	}
	return *s == 0 || (*s == '\n' && s[1] == 0) ? 0 : -EINVAL;
}

int sf_parse_timens_offsets(const char *s, int64_t *ns)
{
	const long long max_sec = INT64_MAX / (int64_t)SF_NS_PER_S - 1;
	long long sec, nsec;

	while (s) {
		if (sscanf(s, "monotonic %lld %lld", &sec, &nsec) == 2) {
			if (nsec < 0 || nsec >= (long long)SF_NS_PER_S || sec > max_sec ||
			    sec < -max_sec)
				return -EINVAL;
			*ns = sec * (int64_t)SF_NS_PER_S + nsec;
			return 0;
		}
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	return -EINVAL;
}
