/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Parsers of what users type, and the one address formatter. */
#ifndef SYNFIN_PARSE_H
#define SYNFIN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SF_ADDRSTRLEN 46

void sf_format_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr);

/* Parsers: 0 on success, -EINVAL on bad input. */
int sf_parse_u64(const char *s, uint64_t max, uint64_t *out);
int sf_parse_port(const char *s, uint16_t *out);
int sf_parse_addr(const char *s, uint8_t *family, uint8_t addr[16]);

#define SF_NS_PER_MS 1000000ull
#define SF_NS_PER_S 1000000000ull
/* a year: plenty for any option, and nanoseconds stay far within 64 bits */
#define SF_DURATION_MAX_NS (366ull * 86400 * SF_NS_PER_S)

/*
 * A duration, the one syntax of every option and rule that takes a time:
 * "500ms", "30s", "5m", "1h", or plain seconds ("1.5"). Finite and within
 * [min_ns, max_ns]: 0, -EINVAL when s is no duration, -ERANGE when it is out
 * of bounds.
 */
int sf_parse_duration(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *ns);
/* A byte count with an optional K, M or G suffix (powers of 1024), within [min, max]. */
int sf_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/*
 * A CPU list as the kernel writes it ("0-3,8\n"): set[i] for each CPU in it,
 * each below span, *count of them.
 */
int sf_parse_cpu_list(const char *s, bool *set, unsigned int span, unsigned int *count);
/*
 * /proc/PID/timens_offsets ("monotonic <s> <ns>" and "boottime <s> <ns>"
 * lines): how far the time namespace shifts CLOCK_MONOTONIC, in *ns.
 */
int sf_parse_timens_offsets(const char *s, int64_t *ns);

#endif
