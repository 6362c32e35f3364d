/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Parsers of what users type, and the one address formatter. */
#ifndef SYNFIN_PARSE_H
#define SYNFIN_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define SF_ADDRSTRLEN 46

void sf_format_addr(char *buf, size_t len, uint8_t family, const uint8_t *addr);

/* Parsers: 0 on success, -EINVAL on bad input. */
int sf_parse_u64(const char *s, uint64_t max, uint64_t *out);
int sf_parse_port(const char *s, uint16_t *out);
int sf_parse_addr(const char *s, uint8_t *family, uint8_t addr[16]);

#endif
